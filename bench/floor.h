/* floor.h — what bench/spawnfloor.c and bench/relayfloor.c share: the
 * command line, the listening socket, PATH lookup and the spawn of one
 * handler with three pipes. Header-only (static functions): each floor is one
 * translation unit.
 *
 * The spawn is the least a websocketd-compatible server must do per
 * connection: three pipes (close-on-exec in the server), posix_spawn (vfork
 * semantics in glibc) with the pipes dup2'd to 0-2, the child in a new session
 * (wsd does setsid so the whole group can be signalled) and SIGPIPE back to
 * SIG_DFL (the floor itself ignores it). The environment is the floor's own:
 * no CGI variables are built. */
#ifndef BENCH_FLOOR_H
#define BENCH_FLOOR_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct floor_opts {
    const char *address;
    int port;
    char *path;        /* resolved COMMAND */
    char **argv;       /* COMMAND args... */
};

static void floor_die(const char *what)
{
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

static char *floor_lookup(const char *cmd)
{
    const char *path = getenv("PATH");
    char buf[4096];
    struct stat st;

    if (strchr(cmd, '/'))
        return strdup(cmd);
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *e = strchr(path, ':');
        size_t n = e ? (size_t)(e - path) : strlen(path);
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, n ? path : ".", cmd);
        if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
            return strdup(buf);
        path += n;
        if (*path == ':')
            path++;
    }
    fprintf(stderr, "floor: %s: not found in PATH\n", cmd);
    exit(1);
}

/* floor [--address=A] --port=P [--loglevel=X] COMMAND [ARGS...] */
static void floor_parse(int argc, char **argv, struct floor_opts *o)
{
    int i;
    o->address = "127.0.0.1";
    o->port = 0;
    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strncmp(argv[i], "--port=", 7) == 0)
            o->port = atoi(argv[i] + 7);
        else if (strncmp(argv[i], "--address=", 10) == 0)
            o->address = argv[i] + 10;
        else if (strncmp(argv[i], "--loglevel=", 11) == 0)
            ;  /* accepted for symmetry with wsd: a floor logs nothing */
        else {
            fprintf(stderr, "usage: %s [--address=A] --port=P COMMAND [ARGS...]\n", argv[0]);
            exit(2);
        }
    }
    if (i >= argc || o->port <= 0) {
        fprintf(stderr, "usage: %s [--address=A] --port=P COMMAND [ARGS...]\n", argv[0]);
        exit(2);
    }
    o->path = floor_lookup(argv[i]);
    o->argv = argv + i;
}

/* Children are reaped when SIGCHLD said one ended (not with a wait4 per
 * loop: that would cost a syscall per batch of events). */
static volatile sig_atomic_t floor_child_ended;

static void floor_on_sigchld(int sig)
{
    (void)sig;
    floor_child_ended = 1;
}

static int floor_listen(const struct floor_opts *o)
{
    struct sockaddr_in a;
    int one = 1, fd;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = floor_on_sigchld;
        sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGCHLD, &sa, NULL);
    }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)o->port);
    if (inet_pton(AF_INET, o->address, &a.sin_addr) != 1) {
        fprintf(stderr, "floor: --address must be an IPv4 address\n");
        exit(2);
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        floor_die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
        floor_die("bind");
    if (listen(fd, 511) != 0)   /* wsd's backlog */
        floor_die("listen");
    return fd;
}

/* Accepts one connection (non-blocking, TCP_NODELAY like wsd); -1 if none. */
static int floor_accept(int lfd)
{
    int one = 1;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Spawns the handler; fills the server's ends: in (write), out, err (read),
 * all non-blocking and close-on-exec. Returns the pid or -1. */
static pid_t floor_spawn(const struct floor_opts *o, int *in, int *out, int *err)
{
    int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, def;
    pid_t pid = -1;
    int i, rc;

    for (i = 0; i < 3; i++)
        if (pipe2(p[i], O_CLOEXEC) != 0)
            goto fail;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0][0], 0);
    posix_spawn_file_actions_adddup2(&fa, p[1][1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[2][1], 2);
    posix_spawnattr_init(&at);
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawn(&pid, o->path, &fa, &at, o->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        errno = rc;
        pid = -1;
        goto fail;
    }
    close(p[0][0]);
    close(p[1][1]);
    close(p[2][1]);
    *in = p[0][1];
    *out = p[1][0];
    *err = p[2][0];
    fcntl(*in, F_SETFL, O_NONBLOCK);
    fcntl(*out, F_SETFL, O_NONBLOCK);
    fcntl(*err, F_SETFL, O_NONBLOCK);
    return pid;
fail:
    for (i = 0; i < 3; i++) {
        if (p[i][0] >= 0)
            close(p[i][0]);
        if (p[i][1] >= 0)
            close(p[i][1]);
    }
    return -1;
}

static void floor_reap(void)
{
    int st;
    if (!floor_child_ended)
        return;
    floor_child_ended = 0;
    while (waitpid(-1, &st, WNOHANG) > 0)
        ;
}

#endif
