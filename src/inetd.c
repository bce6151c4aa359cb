/* inetd.c — one connection on stdin (see inetd.h). */
#include "inetd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"

static int same_file(int a, int b)
{
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static void to_devnull(int fd)
{
    int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (n >= 0 && n != fd) {
        dup2(n, fd);
        close(n);
    }
}

int wsd_inetd_prepare(int *is_unix)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int n = sd_listen_fds(1), fd;

    if (n > 1 || (n == 1 && sd_is_socket(SD_LISTEN_FDS_START, AF_UNSPEC, SOCK_STREAM, 0) <= 0)) {
        fprintf(stderr, "wsd: --inetd: systemd passed %d descriptor%s (LISTEN_FDS) but not one "
                "connected stream socket: use Accept=yes in the .socket unit, or no --inetd "
                "for Accept=no\n", n, n == 1 ? "" : "s");
        return -1;
    }
    if (n == 1) {
        fd = SD_LISTEN_FDS_START;       /* close-on-exec already (sd_listen_fds) */
    } else {
        if (sd_is_socket(STDIN_FILENO, AF_UNSPEC, SOCK_STREAM, 0) <= 0) {
            fprintf(stderr, "wsd: --inetd: stdin is not a connected stream socket (inetd, "
                    "xinetd, socat EXEC: or systemd's StandardInput=socket give one)\n");
            return -1;
        }
        fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) {
            fprintf(stderr, "wsd: --inetd: dup: %s\n", strerror(errno));
            return -1;
        }
    }
    /* nothing but wsd's transport may write into the connection: the log
     * goes to stderr when that is something else */
    if (same_file(STDOUT_FILENO, fd)) {
        if (!same_file(STDERR_FILENO, fd))
            dup2(STDERR_FILENO, STDOUT_FILENO);
        else
            to_devnull(STDOUT_FILENO);
    }
    if (same_file(STDERR_FILENO, fd))
        to_devnull(STDERR_FILENO);
    if (same_file(STDIN_FILENO, fd))
        to_devnull(STDIN_FILENO);
    memset(&ss, 0, sizeof ss);
    *is_unix = getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_UNIX;
    return fd;
}

int wsd_inetd_start(server *srv, int fd, int is_unix)
{
    size_t i;

    if (conn_adopt(srv, fd, is_unix) != 0)
        return -1;
    /* the loop ends with the connection (and its program) */
    for (i = 0; i < sizeof srv->signals / sizeof srv->signals[0]; i++)
        uv_unref((uv_handle_t *)&srv->signals[i]);
    return 0;
}
