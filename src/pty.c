/* pty.c — pseudo-terminals for programs (see pty.h). */
#include "pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

/* A new master and its slave, both close-on-exec, neither becoming wsd's
 * controlling terminal. */
static int open_pair(int *master, int *slave)
{
    int m, s;

    m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return -errno;
    if (unlockpt(m) != 0) {
        int err = errno;
        close(m);
        return -err;
    }
#ifdef TIOCGPTPEER
    /* Linux 4.13+: the slave without a path lookup (no race with a
     * /dev/pts that is not ours) */
    s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0 && errno != EINVAL && errno != ENOTTY) {
        int err = errno;
        close(m);
        return -err;
    }
    if (s < 0)
#endif
    {
        char name[64];
        if (ptsname_r(m, name, sizeof name) != 0 ||
            (s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
            int err = errno;
            close(m);
            return -err;
        }
    }
    *master = m;
    *slave = s;
    return 0;
}

/* The line discipline of each mode, set on the slave before the program
 * gets it (so its first byte already sees it). */
static int set_mode(int slave, int mode)
{
    struct termios t;
    struct winsize ws = {0, 0, 0, 0};

    if (tcgetattr(slave, &t) != 0)
        return -errno;
    if (mode == WSD_PTY_STDOUT) {
        /* every byte through unchanged; nothing echoed or interpreted */
        cfmakeraw(&t);
    } else {
        /* a fresh terminal (the kernel's defaults), plus IUTF8 so that the
         * erase key removes a whole UTF-8 character in canonical mode */
        t.c_iflag = ICRNL | IXON | IUTF8;
        t.c_oflag = OPOST | ONLCR;
        t.c_cflag = CS8 | CREAD | HUPCL;
        t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
        cfsetispeed(&t, B38400);
        cfsetospeed(&t, B38400);
        ws.ws_row = WSD_PTY_ROWS;
        ws.ws_col = WSD_PTY_COLS;
    }
    if (tcsetattr(slave, TCSANOW, &t) != 0 || ioctl(slave, TIOCSWINSZ, &ws) != 0)
        return -errno;
    return 0;
}

int wsd_pty_fds(int mode, int fds[3][2])
{
    int i, rc, m = -1, s = -1;

    for (i = 0; i < 3; i++)
        fds[i][0] = fds[i][1] = -1;
    rc = open_pair(&m, &s);
    if (rc != 0)
        return rc;
    rc = set_mode(s, mode);
    if (rc != 0)
        goto fail;
    if (mode == WSD_PTY_STDOUT) {
        if (pipe2(fds[0], O_CLOEXEC) != 0 || pipe2(fds[2], O_CLOEXEC) != 0) {
            rc = -errno;
            goto fail;
        }
        fds[1][0] = m;
        fds[1][1] = s;
        return 0;
    }
    /* WSD_PTY_TERMINAL: three program-side descriptors, one wsd writes to
     * (a duplicate of the master: program.c closes stdin and stdout
     * separately) and the master it reads */
    fds[0][0] = s;
    fds[1][0] = m;
    s = m = -1;
    if ((fds[1][1] = fcntl(fds[0][0], F_DUPFD_CLOEXEC, 3)) < 0 ||
        (fds[2][1] = fcntl(fds[0][0], F_DUPFD_CLOEXEC, 3)) < 0 ||
        (fds[0][1] = fcntl(fds[1][0], F_DUPFD_CLOEXEC, 3)) < 0) {
        rc = -errno;
        goto fail;
    }
    return 0;
fail:
    if (m >= 0)
        close(m);
    if (s >= 0)
        close(s);
    for (i = 0; i < 3; i++) {
        if (fds[i][0] >= 0)
            close(fds[i][0]);
        if (fds[i][1] >= 0)
            close(fds[i][1]);
        fds[i][0] = fds[i][1] = -1;
    }
    return rc;
}

int wsd_pty_resize(int master, unsigned rows, unsigned cols)
{
    struct winsize ws = {0, 0, 0, 0};

    if (rows < 1 || rows > 65535 || cols < 1 || cols > 65535)
        return -EINVAL;
    ws.ws_row = (unsigned short)rows;
    ws.ws_col = (unsigned short)cols;
    return ioctl(master, TIOCSWINSZ, &ws) == 0 ? 0 : -errno;
}
