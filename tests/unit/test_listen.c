/* test_listen.c — listen.c: which worker accepts on which socket; the
 * sockets passed in (LISTEN_FDS as systemd and an upgrade pass them: the
 * names and kinds, the upgrade's pipe, the refusals); the sockets bound
 * from the flags (a SO_REUSEPORT group per address with workers, the Unix
 * socket and its file). Real sockets on 127.0.0.1. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "listen.h"
#include "log.h"
#include "privdrop.h"

/* ------------------------------------------------------------- serves */

static void test_serves(void)
{
    int k, n, j, w, bad_socket = 0, bad_worker = 0, bad_one = 0;
    wsd_listener v[16];
    wsd_listen_set s;

    memset(&s, 0, sizeof s);
    s.v = v;
    for (k = 1; k <= 8; k++) {
        s.n = (size_t)k;
        for (j = 0; j < k; j++) {
            memset(&v[j], 0, sizeof v[j]);
            v[j].group = 0;
            v[j].index = j;
            v[j].group_size = k;
        }
        for (n = 1; n <= 9; n++) {
            for (j = 0; j < k; j++) {
                int c = 0;
                for (w = 0; w < n; w++)
                    c += wsd_listen_serves(&s, (size_t)j, w, n);
                bad_socket += c == 0;                 /* nobody accepts on it */
                if (k == n)
                    bad_one += !(c == 1 && wsd_listen_serves(&s, (size_t)j, j, n));
            }
            for (w = 0; w < n; w++) {
                int c = 0;
                for (j = 0; j < k; j++)
                    c += wsd_listen_serves(&s, (size_t)j, w, n);
                bad_worker += c == 0;                 /* a worker with nothing */
            }
        }
    }
    is_int(bad_socket, 0, "every socket of a group has a worker (groups 1..8, workers 1..9)");
    is_int(bad_worker, 0, "every worker has a socket of each group");
    is_int(bad_one, 0, "k == N: socket j is worker j's alone");
}

/* ---------------------------------------------------- passed sockets */

static int listener(int *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0)
        return -1;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Puts fds[i] at 3 + i, as systemd does, and sets the variables. */
static void pass(const int *fds, int n, const char *names, const char *upgrade)
{
    char buf[32];
    int i, tmp[8];

    for (i = 0; i < n; i++)
        tmp[i] = fcntl(fds[i], F_DUPFD, 20);
    for (i = 0; i < n; i++) {
        dup2(tmp[i], 3 + i);
        close(tmp[i]);
        if (fds[i] != 3 + i && fds[i] >= 3 + n)
            close(fds[i]);
    }
    snprintf(buf, sizeof buf, "%d", (int)getpid());
    setenv("LISTEN_PID", buf, 1);
    snprintf(buf, sizeof buf, "%d", n);
    setenv("LISTEN_FDS", buf, 1);
    if (names)
        setenv("LISTEN_FDNAMES", names, 1);
    else
        unsetenv("LISTEN_FDNAMES");
    if (upgrade)
        setenv("WSD_UPGRADE", upgrade, 1);
    else
        unsetenv("WSD_UPGRADE");
}

static int is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

static void test_take(void)
{
    wsd_config cfg;
    wsd_listen_set s;
    int fds[3], pa, pb, p[2], rc;
    char want[64];

    memset(&cfg, 0, sizeof cfg);

    /* nothing passed */
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    is_int(wsd_listen_take(&s, &cfg), 0, "no LISTEN_FDS: nothing taken");

    /* an upgrade: ws and redirect, then the pipe */
    fds[0] = listener(&pa);
    fds[1] = listener(&pb);
    if (pipe(p) != 0)
        return;
    fds[2] = p[1];
    pass(fds, 3, "ws:redirect", "unlink");
    setenv("LISTEN_FDS", "2", 1);       /* the pipe is not a socket to serve */
    rc = wsd_listen_take(&s, &cfg);
    is_int(rc, 1, "two sockets taken");
    is_int(s.n, 2, "two listeners");
    is_int(s.from, WSD_LISTEN_UPGRADE, "from an upgrade (WSD_UPGRADE)");
    is_int(s.unix_owned, 1, "WSD_UPGRADE=unlink: the socket file is ours");
    is_int(s.ready_fd, 5, "the readiness pipe after the sockets");
    ok(s.n == 2 && s.v[0].kind == WSD_LISTEN_WS && s.v[1].kind == WSD_LISTEN_REDIRECT,
       "names ws and redirect");
    snprintf(want, sizeof want, "127.0.0.1:%d", pa);
    ok(s.n == 2 && strcmp(s.v[0].where, want) == 0, "where: %s", s.n ? s.v[0].where : "");
    ok(s.n == 2 && s.v[0].group != s.v[1].group && s.v[0].group_size == 1, "each its own group");
    ok((fcntl(3, F_GETFD) & FD_CLOEXEC) && (fcntl(5, F_GETFD) & FD_CLOEXEC),
       "close-on-exec: programs never see them");
    ok(!getenv("LISTEN_FDS") && !getenv("LISTEN_PID") && !getenv("WSD_UPGRADE"),
       "the variables are unset (programs and later upgrades do not inherit them)");
    wsd_listen_free(&s);
    ok(!is_open(3) && !is_open(4) && !is_open(5), "wsd_listen_free closes them and the pipe");
    if (p[0] > 5)
        close(p[0]);

    /* systemd's default names, and http */
    fds[0] = listener(&pa);
    fds[1] = listener(&pb);
    fds[2] = listener(&pb);
    pass(fds, 3, "wsd.socket:unknown:http", NULL);
    rc = wsd_listen_take(&s, &cfg);
    ok(rc == 1 && s.n == 3 && s.v[0].kind == WSD_LISTEN_WS && s.v[1].kind == WSD_LISTEN_WS &&
       s.v[2].kind == WSD_LISTEN_HTTP && s.from == WSD_LISTEN_SYSTEMD && s.ready_fd < 0 &&
       !s.unix_owned, "wsd.socket and unknown are ws, http is http; from systemd");
    wsd_listen_free(&s);

    /* no names at all */
    fds[0] = listener(&pa);
    pass(fds, 1, NULL, NULL);
    rc = wsd_listen_take(&s, &cfg);
    ok(rc == 1 && s.n == 1 && s.v[0].kind == WSD_LISTEN_WS, "no LISTEN_FDNAMES: ws");
    wsd_listen_free(&s);

    /* an unknown name */
    fds[0] = listener(&pa);
    fds[1] = listener(&pb);
    pass(fds, 2, "ws:wss", NULL);
    is_int(wsd_listen_take(&s, &cfg), -1, "an unknown name is refused");
    ok(!is_open(3) && !is_open(4), "... and every passed socket closed");

    /* a connected socket (Accept=yes without --inetd) */
    {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            return;
        fds[0] = sv[0];
        pass(fds, 1, NULL, NULL);
        close(sv[1]);
        is_int(wsd_listen_take(&s, &cfg), -1, "a connected socket is refused");
    }
}

/* ------------------------------------------------------------- binding */

static int free_port(void)
{
    int port = 0, fd = listener(&port);
    close(fd);
    return port;
}

static int reuseport(int fd)
{
    int v = 0;
    socklen_t len = sizeof v;
    getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &v, &len);
    return v;
}

static void test_bind(void)
{
    wsd_config cfg;
    wsd_listen_set s;
    char *addr[] = {"127.0.0.1"};
    char path[64];
    int i, busy, port, ok_groups = 1;
    struct stat st;

    memset(&cfg, 0, sizeof cfg);
    cfg.unixsocketmode = -1;
    wsd_privdrop_prepare(&cfg, stderr);
    cfg.addresses = addr;
    cfg.naddresses = 1;
    cfg.port = free_port();
    cfg.redirport = free_port();

    is_int(wsd_listen_bind(&s, &cfg, 3), 0, "--workers=3: bound");
    is_int(s.n, 6, "three sockets per port");
    for (i = 0; i < (int)s.n; i++)
        ok_groups &= s.v[i].group_size == 3 && s.v[i].index == i % 3 && reuseport(s.v[i].fd) &&
                     s.v[i].kind == (i < 3 ? WSD_LISTEN_WS : WSD_LISTEN_REDIRECT);
    ok(ok_groups, "two SO_REUSEPORT groups of three, one socket per worker");
    is_int(s.from, WSD_LISTEN_FLAGS, "from the flags");
    wsd_listen_free(&s);

    is_int(wsd_listen_bind(&s, &cfg, 1), 0, "one process: bound");
    ok(s.n == 2 && !reuseport(s.v[0].fd) && s.v[0].group_size == 1, "one socket, no SO_REUSEPORT");
    wsd_listen_free(&s);

    busy = listener(&port);
    cfg.port = port;
    cfg.redirport = 0;
    is_int(wsd_listen_bind(&s, &cfg, 1), -1, "an address in use: refused");
    is_int(wsd_listen_bind(&s, &cfg, 2), -1, "... also with workers (the plain probe)");
    close(busy);

    snprintf(path, sizeof path, "/tmp/wsd-test-listen-%d.sock", (int)getpid());
    cfg.port = free_port();
    cfg.unixsocket = path;
    is_int(wsd_listen_bind(&s, &cfg, 2), 0, "a Unix socket beside TCP");
    ok(s.n == 3 && s.v[2].is_unix && s.v[2].group_size == 1 && s.unix_owned,
       "the Unix socket: one, shared by the workers, its file ours");
    ok(wsd_listen_serves(&s, 2, 0, 2) && wsd_listen_serves(&s, 2, 1, 2),
       "every worker accepts on it");
    ok(stat(path, &st) == 0 && S_ISSOCK(st.st_mode), "the file exists");
    wsd_listen_unlink(&s);
    ok(stat(path, &st) != 0 && !s.unix_owned, "wsd_listen_unlink removes it, once");
    wsd_listen_free(&s);
}

int main(void)
{
    wsd_log_min = WSD_LOG_NONE;
    test_serves();
    test_take();
    test_bind();
    return done_testing();
}
