/* server.c — listeners, workers and signals: the process around the event
 * loop (see server.h for the map of the glue files).
 *
 * One process (or, with --workers=N, N worker processes under a
 * supervisor) runs one libuv loop; each worker opens its own listeners
 * (SO_REUSEPORT with several), and conn.c takes every connection from
 * there. SIGINT/SIGTERM start a graceful shutdown (conn_shutdown_all); the
 * loop ends when the last connection is freed. */
#include "server.h"

#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "access.h"
#include "cfgsnap.h"
#include "conn.h"
#include "ctlchan.h"
#include "defer.h"
#include "httpserve.h"
#include "log.h"
#include "privdrop.h"
#include "process.h"
#include "hublink.h"
#include "program.h"
#include "reload.h"
#include "shared.h"
#include "terminal.h"
#include "upgrade.h"
#include "util.h"

static const char *sig_name(int sig)
{
    const char *n = sigabbrev_np(sig);
    return n ? n : "?";
}

/* Counts the descriptors open now (before any client: the base). */
static long open_fds(void)
{
    long n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    if (!d)
        return 32;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;   /* the directory's own */
}

/* ------------------------------------------------------------- signals */

/* What each signal means (README, wsd.1):
 *   SIGINT, SIGTERM, SIGQUIT  graceful shutdown; a second one: exit now
 *   SIGHUP   reload: the --config file is read again (reload.c), and the
 *            --htpasswd files (access.c); else logged
 *   SIGUSR1  one status line in the log (connections, programs, descriptors)
 *   SIGUSR2  ignored, logged (reserved for a binary upgrade)
 * Any other signal keeps its default disposition. */
static const int handled_signals[6] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2};

static void log_status(server *srv)
{
    long ws = 0, http = 0;
    conn *c;

    for (c = srv->conns; c; c = c->next) {
        if (c->is_ws)
            ws++;
        else
            http++;
    }
    wsd_log(WSD_LOG_INFO, "server", "",
            "Status: %ld connections (%ld WebSocket, %ld other), %ld programs running, "
            "descriptors %ld of %ld%s", srv->nconns, ws, http, wsd_program_count(),
            srv->fd_base + srv->nconns + 3 * wsd_program_count(), srv->fd_limit,
            srv->shutting_down ? ", shutting down" : "");
    if (srv->clients)             /* --maxperip/--ratelimit: the table's use */
        wsd_log(WSD_LOG_INFO, "server", "", "Status: %u client addresses tracked (at most %u), "
                "%llu connections counted", wsd_clients_used(srv->clients), WSD_CLIENTS_CAPACITY,
                (unsigned long long)wsd_clients_conns(srv->clients));
}

static void on_signal(uv_signal_t *h, int signum)
{
    server *srv = h->data;
    size_t i;

    switch (signum) {
    case SIGHUP:
        wsd_reload_signal(srv);
        return;
    case SIGUSR1:
        log_status(srv);
        return;
    case SIGUSR2:
        wsd_log(WSD_LOG_INFO, "server", "", "Received SIGUSR2: ignored");
        return;
    default:
        break;
    }
    if (srv->shutting_down) {
        /* second signal: don't wait for anyone */
        wsd_program_kill_all();
        wsd_log(WSD_LOG_INFO, "server", "", "Second SIG%s: exiting now", sig_name(signum));
        exit(srv->exit_status);
    }
    srv->shutting_down = 1;
    wsd_reload_stop();
    wsd_log(WSD_LOG_INFO, "server", "", "Received SIG%s, shutting down", sig_name(signum));
    for (i = 0; i < srv->nlisteners; i++)
        uv_close((uv_handle_t *)&srv->listeners[i], NULL);
    if (srv->have_unixl) {
        uv_close((uv_handle_t *)&srv->unixl, NULL);
        unlink(srv->cfg->unixsocket);  /* websocketd main leaves it behind */
        srv->have_unixl = 0;
    }
    conn_shutdown_all(srv);
    wsd_hub_shutdown_all(srv);
    /* the loop ends when the last connection has: the signal watchers no
     * longer keep it alive (a second signal still arrives meanwhile) */
    for (i = 0; i < sizeof srv->signals / sizeof srv->signals[0]; i++)
        uv_unref((uv_handle_t *)&srv->signals[i]);
}

/* ------------------------------------------------------------- listen */

static const char *url_host(const char *addr, char *buf, size_t cap)
{
    if (addr && *addr)
        return addr;
    if (gethostname(buf, cap) != 0)
        snprintf(buf, cap, "localhost");
    buf[cap - 1] = '\0';
    return buf;
}

/* A listening TCP socket, non-blocking and close-on-exec; with `reuseport`
 * (--workers) several processes bind the same address and the kernel
 * spreads connections over them. Returns the fd or -errno. */
static int bind_socket(const struct sockaddr *sa, socklen_t len, int reuseport)
{
    int one = 1, zero = 0, fd;

    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);  /* dual-stack "::" */
    if (bind(fd, sa, len) != 0 || listen(fd, 511) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* Resolves an --address ("" = all interfaces, "[::1]", a name) and binds it. */
static int open_listener(const char *addr, int port, int reuseport, char *shown, size_t cap)
{
    struct addrinfo hints, *res = NULL;
    char host[256], portstr[16];
    size_t n = strlen(addr);
    int fd;

    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']')
        snprintf(host, sizeof host, "%.*s", (int)(n - 2), addr + 1);
    else
        snprintf(host, sizeof host, "%s", addr);
    snprintf(shown, cap, "%s:%d", addr, port);
    if (*host == '\0') {
        /* all interfaces: one dual-stack IPv6 socket, IPv4 if no IPv6 */
        struct sockaddr_in6 a6;
        struct sockaddr_in a4;
        uv_ip6_addr("::", port, &a6);
        uv_ip4_addr("0.0.0.0", port, &a4);
        fd = bind_socket((struct sockaddr *)&a6, sizeof a6, reuseport);
        if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL)
            fd = bind_socket((struct sockaddr *)&a4, sizeof a4, reuseport);
        return fd;
    }
    snprintf(portstr, sizeof portstr, "%d", port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, portstr, &hints, &res) != 0 || !res)
        return -ENOENT;
    fd = bind_socket(res->ai_addr, res->ai_addrlen, reuseport);
    freeaddrinfo(res);
    return fd;
}

/* Go's words, and for a privileged port what to do about it. */
static void bind_failed(const char *shown, int port, int err)
{
    wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: listen tcp %s: bind: %s%s", shown,
            strerror(err),
            err == EACCES && port < 1024
                ? " (ports below 1024 need root: use --port above 1023, or give wsd the "
                  "capability: setcap cap_net_bind_service=+ep wsd)"
                : "");
}

static int listen_on(server *srv, const char *addr, int port)
{
    char shown[300];
    uv_tcp_t *l;
    int fd = open_listener(addr, port, srv->nworkers > 1, shown, sizeof shown);

    if (fd == -ENOENT) {
        wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: listen tcp: lookup %s: no such host",
                addr);
        return -1;
    }
    if (fd < 0) {
        bind_failed(shown, port, -fd);
        return -1;
    }
    l = &srv->listeners[srv->nlisteners];
    uv_tcp_init(srv->loop, l);
    l->data = srv;
    if (uv_tcp_open(l, fd) != 0 || uv_listen((uv_stream_t *)l, 511, conn_on_connection) != 0) {
        wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: listen tcp %s failed", shown);
        uv_close((uv_handle_t *)l, NULL);
        return -1;
    }
    srv->nlisteners++;
    return 0;
}

/* --unixsocket: refuses a path that is not a socket, or a socket another
 * server answers on; removes a stale socket file first (websocketd main). */
static int listen_unix(server *srv, const char *path)
{
    struct stat st;
    int rc;

    if (lstat(path, &st) == 0) {
        struct sockaddr_un a;
        int fd, live;
        if (!S_ISSOCK(st.st_mode)) {
            wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: %s exists and is not a socket",
                    path);
            return -1;
        }
        memset(&a, 0, sizeof a);
        a.sun_family = AF_UNIX;
        snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        live = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        if (fd >= 0)
            close(fd);
        if (live) {
            wsd_log(WSD_LOG_FATAL, "server", "",
                    "Can't start server: socket %s is already in use by a running server", path);
            return -1;
        }
        unlink(path);
    }
    uv_pipe_init(srv->loop, &srv->unixl, 0);
    srv->unixl.data = srv;
    {   /* --unixsocketmode: never more open than asked, not even at bind */
        int um = wsd_privdrop_socket_umask();
        mode_t old = um >= 0 ? umask((mode_t)um) : 0;
        rc = uv_pipe_bind(&srv->unixl, path);
        if (um >= 0)
            umask(old);
    }
    if (rc == 0) {
        char err[512];
        if (wsd_privdrop_socket(path, err, sizeof err) != 0) {
            wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: unix socket %s", err);
            srv->have_unixl = 1;   /* closed and removed by the caller's cleanup */
            return -1;
        }
        rc = uv_listen((uv_stream_t *)&srv->unixl, 511, conn_on_connection);
    }
    if (rc != 0) {
        wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: listen unix %s: %s", path,
                uv_strerror(rc));
        return -1;
    }
    srv->have_unixl = 1;
    return 0;
}

/* --maxforks, or when not given, as many programs as the open-files limit
 * can hold (a socket and three pipes each, 64 descriptors kept for wsd),
 * so that the connection past the limit gets a clean 429 rather than a 500
 * or a reset when a descriptor cannot be had (redis sizes maxclients from
 * the same limit). */
static long server_maxforks(const wsd_config *cfg)
{
    struct rlimit rl;

    if (!cfg->maxforks_auto)
        return cfg->maxforks;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    return rl.rlim_cur > 64 + 4 ? (long)((rl.rlim_cur - 64) / 4) : 1;
}

/* --shared --workers: the hub process's socket (set by the supervisor
 * before it forks the workers). */
static char *hub_path;

/* The server's start-up lines for the routes of --config. */
static void log_routes(const wsd_cfgsnap *snap)
{
    size_t i, k;

    for (i = 0; i < snap->cfg.nroutes; i++) {
        const wsd_config_route *r = &snap->cfg.routes[i];
        const wsd_config *c = r->cfg;
        wsd_str what;
        wsd_str_init(&what, 65536);
        if (c->argv) {
            wsd_str_appends(&what, "program");
            for (k = 0; c->argv[k]; k++) {
                wsd_str_appends(&what, " ");
                wsd_str_appends(&what, c->argv[k]);
            }
        }
        if (c->dir)
            wsd_str_appendf(&what, "%sscripts in %s", what.len ? ", " : "", c->dir);
        if (c->staticdir)
            wsd_str_appendf(&what, "%sstatic files in %s", what.len ? ", " : "", c->staticdir);
        if (c->cgidir)
            wsd_str_appendf(&what, "%sCGI scripts in %s", what.len ? ", " : "", c->cgidir);
        if (c->devconsole)
            wsd_str_appendf(&what, "%sthe console", what.len ? ", " : "");
        wsd_log(WSD_LOG_INFO, "server", "", "Route %-22s: %s%s", r->path, what.s ? what.s : "",
                c->shared ? " (shared)" : "");
        wsd_str_free(&what);
    }
}

static int worker_run(wsd_config *cfg0, int worker, int nworkers, int ctlfd)
{
    server srv;
    int startup_log_min = -1;
    char hostbuf[256];
    const wsd_config *cfg;
    size_t i, naddr = cfg0->naddresses ? cfg0->naddresses : 1;
    wsd_str app;

    memset(&srv, 0, sizeof srv);
    srv.loop = uv_default_loop();
    {
        char err[512];
        srv.snap = wsd_cfgsnap_new(cfg0, 1, err, sizeof err);   /* takes cfg0 over */
        if (!srv.snap) {
            fprintf(stderr, "wsd: %s\n", err);
            return 1;
        }
    }
    srv.cfg = cfg = &srv.snap->cfg;
    srv.worker = worker;
    srv.nworkers = nworkers;
    srv.on_request = wsd_upgrade;
    /* A --maxforks given is the whole server's: each worker takes its share.
     * The default comes from the open-files limit, which is per process:
     * each worker has all of it. */
    srv.maxforks = server_maxforks(cfg);
    if (!cfg->maxforks_auto)
        srv.maxforks = srv.maxforks > 0 ? (srv.maxforks + nworkers - 1) / nworkers : 0;
    if (worker > 0 && wsd_log_min < WSD_LOG_ERROR) {
        /* worker 0 alone announces the start-up; errors still show */
        startup_log_min = wsd_log_min;
        wsd_log_min = WSD_LOG_ERROR;
    }
    srv.listeners = xcalloc(2 * naddr, sizeof *srv.listeners);
    srv.redirect = xcalloc(2 * naddr, sizeof *srv.redirect);

    if (cfg->dir) {
        wsd_log(WSD_LOG_INFO, "server", "", "Serving from directory      : %s", cfg->dir);
    } else if (cfg->argv) {
        wsd_str_init(&app, 65536);
        for (i = 0; cfg->argv[i]; i++) {
            wsd_str_appends(&app, cfg->argv[i]);
            wsd_str_appends(&app, " ");
        }
        wsd_log(WSD_LOG_INFO, "server", "", "Serving using application   : %s", app.s ? app.s : "");
        wsd_str_free(&app);
    }
    wsd_serve_startup_log(cfg, NULL, 0);
    log_routes(srv.snap);

    /* Signal handlers before the first listener: a signal sent as soon as
     * the port accepts must get its meaning, not the default action (which
     * would leave a --unixsocket file behind). */
    for (i = 0; i < sizeof srv.signals / sizeof srv.signals[0]; i++) {
        uv_signal_init(srv.loop, &srv.signals[i]);
        srv.signals[i].data = &srv;
        uv_signal_start(&srv.signals[i], on_signal, handled_signals[i]);
    }
    if (wsd_spawn_init(srv.loop) != 0 || wsd_defer_init(srv.loop) != 0) {
        wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: no SIGCHLD watcher");
        goto fail;
    }

    if (cfg->unix_only)
        naddr = 0;
    for (i = 0; i < naddr; i++) {
        const char *a = cfg->naddresses ? cfg->addresses[i] : "";
        wsd_log(WSD_LOG_INFO, "server", "", "Starting WebSocket server   : %s://%s:%d/",
                cfg->ssl ? "wss" : "ws", url_host(a, hostbuf, sizeof hostbuf), cfg->port);
        wsd_serve_startup_log(cfg, url_host(a, hostbuf, sizeof hostbuf), cfg->port);
        {
            size_t e;
            for (e = 0; e < wsd_cfgsnap_count(srv.snap); e++)
                wsd_term_startup_warning(wsd_cfgsnap_at(srv.snap, e)->cfg, a);
        }
        if (cfg->ssl && !srv.tls) {
            char err[512];
            srv.tls = wsd_tls_ctx_new(cfg->sslcert, cfg->sslkey, cfg->sslca, err, sizeof err);
            if (!srv.tls) {
                wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: %s", err);
                goto fail;
            }
        }
        if (listen_on(&srv, a, cfg->port) != 0)
            goto fail;
        if (cfg->redirport) {
            wsd_log(WSD_LOG_INFO, "server", "", "Starting redirect server   : http://%s:%d/",
                    url_host(a, hostbuf, sizeof hostbuf), cfg->redirport);
            srv.redirect[srv.nlisteners] = 1;
            if (listen_on(&srv, a, cfg->redirport) != 0)
                goto fail;
        }
    }

    if (cfg->unixsocket && worker == 0) {
        wsd_log(WSD_LOG_INFO, "server", "", "Starting WebSocket server   : unix socket at %s",
                cfg->unixsocket);
        if (listen_unix(&srv, cfg->unixsocket) != 0)
            goto fail;
    }

    /* Everything that needs root is done (ports bound, TLS files read):
     * --user/--group from here on, for good (privdrop.c). */
    {
        char err[512];
        if (wsd_privdrop_apply(err, sizeof err) != 0) {
            wsd_log(WSD_LOG_FATAL, "server", "", "Can't drop privileges: %s", err);
            goto fail;
        }
    }
    if (cfg->trustproxy) {
        char *err = NULL;
        srv.trust = wsd_trust_new(cfg->trustproxy, &err);   /* checked by config.c */
        free(err);
    }
    if (cfg->maxperip || cfg->ratelimit)
        srv.clients = wsd_clients_new(WSD_CLIENTS_CAPACITY, (uint32_t)cfg->maxperip,
                                      (uint32_t)cfg->ratelimit, (uint32_t)cfg->rateburst);

    if (startup_log_min >= 0)
        wsd_log_min = startup_log_min;

    {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
            srv.fd_limit = (long)rl.rlim_cur;
        srv.fd_base = open_fds();
    }
    srv.hub_path = hub_path;
    wsd_reload_listen(&srv, ctlfd);   /* --workers: the supervisor's reloads */
    wsd_hub_link_start(&srv);     /* --shared --workers: the link to the hub process */
    wsd_hub_start_always(&srv);   /* --sharedalways: the program starts with the server */
    uv_run(srv.loop, UV_RUN_DEFAULT);
    for (i = 0; i < sizeof srv.signals / sizeof srv.signals[0]; i++)
        uv_close((uv_handle_t *)&srv.signals[i], NULL);
    wsd_reload_stop();
    /* hubs left without members (a handshake refused after it found its
     * hub): freed while posting is still allowed (their cores' sweeps are
     * cancelled as the cores are freed) */
    wsd_hub_free_all(&srv);
    wsd_spawn_shutdown();
    wsd_defer_shutdown();
    uv_run(srv.loop, UV_RUN_NOWAIT);   /* their close callbacks */
    if (uv_loop_close(srv.loop) != 0) {
        /* a handle left open is a bug: say so (the tests fail on it) */
        wsd_log(WSD_LOG_ERROR, "server", "", "Event loop not empty at exit (a handle was leaked)");
        uv_print_all_handles(srv.loop, stderr);
        srv.exit_status = srv.exit_status ? srv.exit_status : 1;
    }
    wsd_tls_ctx_free(srv.tls);
    wsd_trust_free(srv.trust);
    wsd_clients_free(srv.clients);
    free(srv.listeners);
    free(srv.redirect);
    wsd_cfgsnap_unref(srv.snap);
    return srv.exit_status;

fail:
    if (srv.have_unixl)
        unlink(cfg->unixsocket);
    wsd_tls_ctx_free(srv.tls);
    free(srv.listeners);
    free(srv.redirect);
    wsd_cfgsnap_unref(srv.snap);
    return 3;
}

/* ------------------------------------------------------------ --workers */

/* --workers=N: N processes, each its own event loop, binding the listeners
 * with SO_REUSEPORT so the kernel spreads connections over them. This
 * process only supervises:
 *   - it forwards SIGINT/SIGTERM/SIGQUIT (shutdown) and SIGHUP/SIGUSR1/
 *     SIGUSR2 to the workers (not a signal the terminal sent to the whole
 *     process group: the workers have it already);
 *   - it restarts a worker that dies unexpectedly (at most 10 a minute);
 *   - it is the child subreaper of everything below it: when a worker dies
 *     abnormally, the programs it ran come to the supervisor, which ends
 *     their process groups (SIGTERM, then SIGKILL a second later) — they
 *     have lost their client and their pipes anyway;
 *   - it exits when all workers have exited after a shutdown.
 * A worker ends itself gracefully when the supervisor dies, even by
 * SIGKILL (PR_SET_PDEATHSIG): its listeners close, its clients get 1001,
 * its programs are ended, so the port is free for a new wsd. */
#define ORPHAN_KILL_MS 1000
#define MAX_ORPHAN_GROUPS 4096

typedef struct {
    pid_t pgid[MAX_ORPHAN_GROUPS];
    int n;
    struct timespec deadline;    /* SIGKILL to all of them then */
} orphan_groups;

/* --config: the supervisor's end of each child's reload channel (ctlchan.h),
 * per worker and for the hub process; -1 for none. */
static int *ctl_fds;
static int hub_ctl = -1;

/* A new child: the channel's pair (with --config), and in the child the
 * supervisor's ends of the others closed. */
static void ctl_new(const wsd_config *cfg, int fds[2])
{
    fds[0] = fds[1] = -1;
    if (cfg->config_file && wsd_ctl_pair(fds) != 0)
        fds[0] = fds[1] = -1;
}

static void ctl_child(int nworkers, int mine)
{
    int i;
    for (i = 0; ctl_fds && i < nworkers; i++)
        if (ctl_fds[i] >= 0)
            close(ctl_fds[i]);
    if (hub_ctl >= 0)
        close(hub_ctl);
    if (mine >= 0)
        close(mine);
}

static void ctl_set(int *slot, int fd)
{
    if (*slot >= 0)
        close(*slot);
    *slot = fd;
}

static pid_t start_worker(wsd_config *cfg, int i, int n, const sigset_t *oldmask, pid_t *pids)
{
    pid_t supervisor = getpid();
    int fds[2];
    pid_t pid;

    ctl_new(cfg, fds);
    pid = fork();
    if (pid == 0) {
        free(pids);     /* the supervisor's: not the worker's to keep */
        ctl_child(n, fds[0]);
        prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
        /* the supervisor gone (even by SIGKILL): a graceful shutdown */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 || getppid() != supervisor)
            _exit(0);
        sigprocmask(SIG_SETMASK, oldmask, NULL);
        fflush(stdout);
        _exit(worker_run(cfg, i, n, fds[1]));
    }
    if (fds[1] >= 0)
        close(fds[1]);
    if (pid < 0 && fds[0] >= 0) {
        close(fds[0]);
        fds[0] = -1;
    }
    ctl_set(&ctl_fds[i], fds[0]);
    return pid;
}

/* --shared --workers: the hub process runs every shared program for the
 * whole server; workers link to it over a Unix socket in a directory only
 * this user can enter (hublink.h). */
static char hub_dir[64];

static pid_t start_hub(wsd_config *cfg, int nworkers, const sigset_t *oldmask)
{
    pid_t supervisor = getpid();
    int fds[2];
    pid_t pid;

    ctl_new(cfg, fds);
    pid = fork();
    if (pid == 0) {
        ctl_child(nworkers, fds[0]);
        prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
        if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 || getppid() != supervisor)
            _exit(0);
        sigprocmask(SIG_SETMASK, oldmask, NULL);
        fflush(stdout);
        _exit(wsd_hub_process_run(cfg, hub_path, fds[1]));
    }
    if (fds[1] >= 0)
        close(fds[1]);
    if (pid < 0 && fds[0] >= 0) {
        close(fds[0]);
        fds[0] = -1;
    }
    ctl_set(&hub_ctl, fds[0]);
    return pid;
}

/* Whether any endpoint is shared (the hub process is needed), or may
 * become so on a reload (--config). */
static int needs_hub(const wsd_config *cfg)
{
    size_t i;

    if (cfg->shared || cfg->config_file)
        return 1;
    for (i = 0; i < cfg->nroutes; i++)
        if (cfg->routes[i].cfg->shared)
            return 1;
    return 0;
}

static int is_worker(const pid_t *pids, int n, pid_t pid)
{
    int i;
    for (i = 0; i < n; i++)
        if (pids[i] == pid)
            return 1;
    return 0;
}

/* ppid, process group and session of pid from /proc; 0 or -1. */
static int proc_ids(pid_t pid, pid_t *ppid, pid_t *pgrp, pid_t *sid)
{
    char path[64], buf[1024], *p;
    FILE *f;
    size_t n;
    int ok;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');      /* the command name may hold anything */
    if (!p)
        return -1;
    ok = sscanf(p + 1, " %*c %d %d %d", ppid, pgrp, sid) == 3;
    return ok ? 0 : -1;
}

/* A worker died abnormally: the programs it ran (and their jobs) are now
 * the supervisor's children. Their process groups get SIGTERM now and
 * SIGKILL at og->deadline. Processes of a living worker's program (whose
 * session leader is that worker's child) are left alone. */
static void end_orphans(const pid_t *pids, int nworkers, orphan_groups *og)
{
    pid_t self = getpid(), mine = getpgrp();
    DIR *d = opendir("/proc");
    struct dirent *e;
    int found = 0;

    if (!d)
        return;
    while ((e = readdir(d))) {
        pid_t pid = (pid_t)atoi(e->d_name), ppid, pgrp, sid, lppid, lpgrp, lsid;
        int k;
        if (pid <= 0 || is_worker(pids, nworkers, pid) || proc_ids(pid, &ppid, &pgrp, &sid) != 0 ||
            ppid != self || pgrp <= 1 || pgrp == mine)
            continue;
        if (sid != pid && proc_ids(sid, &lppid, &lpgrp, &lsid) == 0 &&
            is_worker(pids, nworkers, lppid))
            continue;           /* a job of a living worker's program */
        for (k = 0; k < og->n && og->pgid[k] != pgrp; k++)
            ;
        if (k < og->n)
            continue;
        kill(-pgrp, SIGTERM);
        if (og->n < MAX_ORPHAN_GROUPS)
            og->pgid[og->n++] = pgrp;
        else
            kill(-pgrp, SIGKILL);
        found++;
    }
    closedir(d);
    if (found) {
        wsd_log(WSD_LOG_ERROR, "server", "", "Ending %d program group%s of the dead worker", found,
                found == 1 ? "" : "s");
        clock_gettime(CLOCK_MONOTONIC, &og->deadline);
        og->deadline.tv_sec += ORPHAN_KILL_MS / 1000;
    }
}

static void kill_orphans(orphan_groups *og)
{
    int k;
    for (k = 0; k < og->n; k++)
        kill(-og->pgid[k], SIGKILL);
    og->n = 0;
}

int wsd_server_run(wsd_config *cfg)
{
    static const int forwarded[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2};
    int n = cfg->workers > 1 ? (int)cfg->workers : 1;
    size_t naddr = cfg->naddresses ? cfg->naddresses : 1, i;
    sigset_t set, old;
    pid_t *pids;
    int stopping = 0, alive = 0, rc = 0, restarts = 0;
    time_t window = time(NULL);
    orphan_groups *og;
    pid_t hub = 0;

    if (n == 1)
        return worker_run(cfg, 0, 1, -1);

    /* Refuse an address something else holds, as a single process would:
     * a plain bind (no SO_REUSEPORT) fails there. */
    for (i = 0; i < naddr && !cfg->unix_only; i++) {
        const char *a = cfg->naddresses ? cfg->addresses[i] : "";
        int ports[2] = {cfg->port, cfg->redirport}, k;
        for (k = 0; k < 2; k++) {
            char shown[300];
            int fd;
            if (!ports[k])
                continue;
            fd = open_listener(a, ports[k], 0, shown, sizeof shown);
            if (fd < 0) {
                bind_failed(shown, ports[k], -fd);
                return 3;
            }
            close(fd);
        }
    }

    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    sigemptyset(&set);
    for (i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaddset(&set, forwarded[i]);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    pids = xcalloc((size_t)n, sizeof *pids);
    ctl_fds = xmalloc((size_t)n * sizeof *ctl_fds);
    for (i = 0; i < (size_t)n; i++)
        ctl_fds[i] = -1;
    og = xcalloc(1, sizeof *og);
    fflush(stdout);
    if (needs_hub(cfg)) {
        /* /tmp, not $TMPDIR: a socket path must fit in 108 bytes */
        snprintf(hub_dir, sizeof hub_dir, "/tmp/wsd-hub-XXXXXX");
        if (!mkdtemp(hub_dir)) {
            wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: no directory for the hub "
                    "process: %s", strerror(errno));
            free(og);
            free(pids);
            free(ctl_fds);
            ctl_fds = NULL;
            sigprocmask(SIG_SETMASK, &old, NULL);
            return 1;
        }
        {
            size_t len = strlen(hub_dir) + 16;
            hub_path = xmalloc(len);
            snprintf(hub_path, len, "%s/hub.sock", hub_dir);
        }
        hub = start_hub(cfg, n, &old);
    }
    for (i = 0; i < (size_t)n; i++) {
        pids[i] = start_worker(cfg, (int)i, n, &old, pids);
        if (pids[i] > 0)
            alive++;
    }
    while (alive > 0) {
        siginfo_t si;
        int sig, st;
        pid_t pid;

        if (og->n > 0) {
            struct timespec now, left;
            clock_gettime(CLOCK_MONOTONIC, &now);
            left.tv_sec = og->deadline.tv_sec - now.tv_sec;
            left.tv_nsec = og->deadline.tv_nsec - now.tv_nsec;
            if (left.tv_nsec < 0) {
                left.tv_nsec += 1000000000L;
                left.tv_sec--;
            }
            if (left.tv_sec < 0) {
                kill_orphans(og);
                continue;
            }
            sig = sigtimedwait(&set, &si, &left);
            if (sig < 0) {
                if (errno == EAGAIN)
                    kill_orphans(og);
                continue;
            }
        } else {
            sig = sigwaitinfo(&set, &si);
            if (sig < 0)
                continue;
        }
        if (sig == SIGHUP && cfg->config_file) {
            /* --config: read and checked once here, the same text to all
             * (reload.h); a worker ignores a SIGHUP of its own */
            if (!stopping)
                wsd_reload_supervise(cfg, hub > 0 ? hub_ctl : -1, ctl_fds, n);
            continue;
        }
        if (sig != SIGCHLD) {
            if (sig == SIGINT || sig == SIGTERM || sig == SIGQUIT)
                stopping++;
            if (si.si_code == SI_KERNEL)
                continue;       /* from the terminal, to the whole group: workers have it */
            for (i = 0; i < (size_t)n; i++) {
                if (pids[i] > 0)
                    kill(pids[i], sig);   /* a second shutdown signal: workers exit at once */
            }
            if (hub > 0)
                kill(hub, sig);
            continue;
        }
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
            int abnormal;
            if (pid == hub) {
                /* the hub process: its programs' groups are ours now; restart it
                 * (the workers reconnect) unless shutting down */
                hub = 0;
                ctl_set(&hub_ctl, -1);
                if (WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0))
                    end_orphans(pids, n, og);
                if (!stopping) {
                    wsd_log(WSD_LOG_ERROR, "server", "", "Hub process (pid %d) ended; restarting it",
                            (int)pid);
                    hub = start_hub(cfg, n, &old);
                }
                continue;
            }
            for (i = 0; i < (size_t)n && pids[i] != pid; i++)
                ;
            if (i == (size_t)n)
                continue;       /* an orphan the supervisor reaped */
            pids[i] = 0;
            ctl_set(&ctl_fds[i], -1);
            alive--;
            abnormal = WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0);
            if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
                rc = WEXITSTATUS(st);
            if (abnormal)
                end_orphans(pids, n, og);
            if (stopping || (WIFEXITED(st) && WEXITSTATUS(st) == 3))
                continue;       /* shutting down, or it could not listen */
            wsd_log(WSD_LOG_ERROR, "server", "", "Worker %zu (pid %d) %s %d; restarting it", i,
                    (int)pid, WIFSIGNALED(st) ? "killed by signal" : "exited with status",
                    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            if (time(NULL) - window > 60) {
                window = time(NULL);
                restarts = 0;
            }
            if (++restarts > 10) {
                wsd_log(WSD_LOG_FATAL, "server", "", "Workers keep dying; stopping");
                stopping = 1;
                rc = 1;
                for (i = 0; i < (size_t)n; i++) {
                    if (pids[i] > 0)
                        kill(pids[i], SIGTERM);
                }
                continue;
            }
            pids[i] = start_worker(cfg, (int)i, n, &old, pids);
            if (pids[i] > 0)
                alive++;
        }
    }
    if (hub > 0) {
        kill(hub, SIGTERM);       /* the workers are gone: their members too */
        while (waitpid(hub, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    kill_orphans(og);
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    if (hub_path) {
        unlink(hub_path);
        rmdir(hub_dir);
        free(hub_path);
        hub_path = NULL;
    }
    for (i = 0; i < (size_t)n; i++)
        ctl_set(&ctl_fds[i], -1);
    ctl_set(&hub_ctl, -1);
    free(ctl_fds);
    ctl_fds = NULL;
    free(og);
    free(pids);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return stopping && rc == 0 ? 0 : rc;
}
