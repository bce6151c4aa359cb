/* server.c — the event-loop process: its listeners, signals and start-up
 * lines (see server.h for the map of the glue files).
 *
 * One process (or, with --workers=N, N worker processes under a
 * supervisor: supervisor.c) runs one libuv loop. The listening sockets are
 * set up first (listen.c: bound from the flags, or passed in by systemd or
 * by the wsd this one upgrades), each worker gives libuv its share, and
 * conn.c takes every connection from there. SIGINT/SIGTERM/SIGQUIT start a
 * graceful shutdown (conn_shutdown_all); SIGUSR2 a binary upgrade (drain.c);
 * the loop ends when the last connection is freed. --inetd serves one
 * connection on stdin instead of listening (inetd.c). */
#include "server.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "access.h"
#include "cfgsnap.h"
#include "conn.h"
#include "ctlchan.h"
#include "defer.h"
#include "drain.h"
#include "httpserve.h"
#include "hublink.h"
#include "inetd.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "privdrop.h"
#include "process.h"
#include "program.h"
#include "sdnotify.h"
#include "reload.h"
#include "shared.h"
#include "supervisor.h"
#include "takeover.h"
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
 *   SIGUSR2  binary upgrade (drain.c); ignored by a --workers worker (the
 *            supervisor upgrades; `killall -USR2 wsd` reaches workers too)
 *   WSD_SIGDRAIN (SIGRTMIN+1), a worker's, from its supervisor once the new
 *            binary accepts: stop accepting and drain
 * Any other signal keeps its default disposition. They are blocked from
 * the start of wsd_server_run until their handlers are in place, so a
 * signal sent as soon as a socket accepts gets its meaning, never the
 * default action. */
static const int handled_signals[6] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2};

/* The i-th signal of srv->signals: handled_signals, then WSD_SIGDRAIN
 * (SIGRTMIN is not a constant). */
static int handled_signal(size_t i)
{
    return i < sizeof handled_signals / sizeof handled_signals[0] ? handled_signals[i]
                                                                  : WSD_SIGDRAIN;
}

void wsd_server_signal_set(sigset_t *set)
{
    size_t i;

    sigemptyset(set);
    for (i = 0; i < sizeof handled_signals / sizeof handled_signals[0]; i++)
        sigaddset(set, handled_signals[i]);
    sigaddset(set, WSD_SIGDRAIN);
    sigaddset(set, SIGCHLD);
}

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
            srv->shutting_down ? ", shutting down" : srv->draining ? ", draining" : "");
    if (srv->clients)             /* --maxperip/--ratelimit: the table's use */
        wsd_log(WSD_LOG_INFO, "server", "", "Status: %u client addresses tracked (at most %u), "
                "%llu connections counted", wsd_clients_used(srv->clients), WSD_CLIENTS_CAPACITY,
                (unsigned long long)wsd_clients_conns(srv->clients));
}

/* The process that talks to systemd: the only one (a worker's supervisor
 * does it for the workers). */
static int is_main(const server *srv)
{
    return srv->nworkers <= 1 && !srv->inetd;
}

void wsd_server_close_listeners(server *srv)
{
    size_t i;

    for (i = 0; i < srv->nlisteners; i++)
        uv_close(&srv->listeners[i].u.handle, NULL);
    srv->nlisteners = 0;
}

void wsd_server_shutdown(server *srv, const char *why)
{
    size_t i;

    srv->shutting_down = 1;
    wsd_log(WSD_LOG_INFO, "server", "", "%s, shutting down", why);
    if (is_main(srv))
        wsd_sd_stopping("shutting down");
    wsd_takeover_stop_predecessor(srv->lset);   /* a wsd still draining stops too */
    wsd_drain_stop(srv);
    wsd_server_close_listeners(srv);
    if (srv->nworkers <= 1 && srv->lset)
        wsd_listen_unlink(srv->lset);   /* --unixsocket's file (the supervisor's otherwise) */
    conn_shutdown_all(srv);
    wsd_hub_shutdown_all(srv);
    /* the loop ends when the last connection has: the signal watchers no
     * longer keep it alive (a second signal still arrives meanwhile) */
    for (i = 0; i < sizeof srv->signals / sizeof srv->signals[0]; i++)
        uv_unref((uv_handle_t *)&srv->signals[i]);
}

/* The graceful shutdown of a signal (the first one, or --gracems later). */
static void shutdown_begin(server *srv, int signum)
{
    char why[64];

    snprintf(why, sizeof why, "Received SIG%s", sig_name(signum));
    wsd_server_shutdown(srv, why);
}

static void on_signal(uv_signal_t *h, int signum)
{
    server *srv = h->data;

    if (signum == WSD_SIGDRAIN) {
        if (srv->nworkers > 1 && !srv->shutting_down)
            wsd_drain_start(srv);     /* the supervisor upgraded: this worker drains */
        return;
    }
    switch (signum) {
    case SIGHUP:
        if (is_main(srv))
            wsd_sd_reloading();
        wsd_reload_signal(srv);    /* --config, or the --htpasswd files */
        if (is_main(srv))
            wsd_sd_ready("reloaded");
        return;
    case SIGUSR1:
        log_status(srv);
        return;
    case SIGUSR2:
        if (srv->shutting_down)
            return;
        if (srv->nworkers > 1)
            wsd_log(WSD_LOG_INFO, "server", "", "Received SIGUSR2 in worker %d: ignored (the "
                    "supervisor, pid %d, upgrades)", srv->worker, (int)getppid());
        else
            wsd_drain_upgrade(srv);
        return;
    default:
        break;
    }
    if (srv->shutting_down) {
        /* second signal: don't wait for anyone */
        wsd_program_kill_all();
        wsd_takeover_signal_predecessor(srv->lset, signum);
        wsd_log(WSD_LOG_INFO, "server", "", "Second SIG%s: exiting now", sig_name(signum));
        exit(srv->exit_status);
    }
    wsd_takeover_stop_predecessor(srv->lset);   /* now: its --gracems runs beside ours */
    if (wsd_monitor_grace(srv, signum, shutdown_begin))
        return;                    /* --gracems: health checks get 503 first */
    shutdown_begin(srv, signum);
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

/* This worker's share of the sockets, given to libuv (the handle owns its
 * descriptor from then on); the others' are closed in this process. */
static int open_listeners(server *srv, wsd_listen_set *ls)
{
    size_t i;

    srv->listeners = xcalloc(ls->n ? ls->n : 1, sizeof *srv->listeners);
    for (i = 0; i < ls->n; i++) {
        wsd_listener *l = &ls->v[i];
        server_listener *sl;
        int rc;

        if (!wsd_listen_serves(ls, i, srv->worker, srv->nworkers)) {
            close(l->fd);
            l->fd = -1;
            continue;
        }
        sl = &srv->listeners[srv->nlisteners];
        sl->kind = l->kind;
        sl->is_unix = l->is_unix;
        if (l->is_unix) {
            uv_pipe_init(srv->loop, &sl->u.pipe, 0);
            rc = uv_pipe_open(&sl->u.pipe, l->fd);
        } else {
            uv_tcp_init(srv->loop, &sl->u.tcp);
            rc = uv_tcp_open(&sl->u.tcp, l->fd);
        }
        sl->u.handle.data = srv;
        if (rc == 0)
            rc = uv_listen(&sl->u.stream, 511, conn_on_connection);
        srv->nlisteners++;
        if (rc != 0) {
            wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: listen %s: %s", l->where,
                    uv_strerror(rc));
            l->fd = -1;
            return -1;
        }
        l->fd = -1;             /* libuv's now */
    }
    return 0;
}

/* The server's start-up lines for the routes of --config. */
static void log_routes(const wsd_config *cfg)
{
    size_t i, k;

    for (i = 0; i < cfg->nroutes; i++) {
        const wsd_config_route *r = &cfg->routes[i];
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

/* The --pty warning of every endpoint (the server's, the routes'). */
static void term_warnings(const wsd_config *cfg, const char *host)
{
    size_t i;

    wsd_term_startup_warning(cfg, host);
    for (i = 0; i < cfg->nroutes; i++)
        wsd_term_startup_warning(cfg->routes[i].cfg, host);
}

/* The start-up lines, from the process that sets the sockets up (before a
 * bind can fail, as websocketd prints them): what is served, then per
 * address, or per socket passed in. */
static void banner(const wsd_config *cfg)
{
    wsd_str app;
    size_t i;

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
    log_routes(cfg);
}

static void startup_lines(const wsd_config *cfg, const wsd_listen_set *ls)
{
    char hostbuf[256];
    size_t i, naddr = cfg->naddresses ? cfg->naddresses : 1;

    if (ls->from != WSD_LISTEN_FLAGS) {
        const char *src = ls->from == WSD_LISTEN_UPGRADE ? "from the previous wsd" : "from systemd";
        for (i = 0; i < ls->n; i++) {
            const wsd_listener *l = &ls->v[i];
            if (l->index > 0)
                continue;           /* one line per group */
            if (l->kind == WSD_LISTEN_REDIRECT)
                wsd_log(WSD_LOG_INFO, "server", "", "Starting redirect server   : http://%s/ "
                        "(socket %s)", l->where, src);
            else
                wsd_log(WSD_LOG_INFO, "server", "", "Starting WebSocket server   : %s://%s/ "
                        "(socket %s%s)", wsd_listen_scheme(l, cfg), l->where, src,
                        l->group_size > 1 ? ", SO_REUSEPORT group" : "");
            if (!l->is_unix && l->kind != WSD_LISTEN_REDIRECT) {
                char host[160];
                const char *colon = strrchr(l->where, ':');
                snprintf(host, sizeof host, "%.*s",
                         (int)(colon ? (size_t)(colon - l->where) : strlen(l->where)), l->where);
                term_warnings(cfg, host);
            }
        }
        return;
    }
    if (cfg->unix_only)
        naddr = 0;
    for (i = 0; i < naddr; i++) {
        const char *a = cfg->naddresses ? cfg->addresses[i] : "";
        wsd_log(WSD_LOG_INFO, "server", "", "Starting WebSocket server   : %s://%s:%d/",
                cfg->ssl ? "wss" : "ws", url_host(a, hostbuf, sizeof hostbuf), cfg->port);
        wsd_serve_startup_log(cfg, url_host(a, hostbuf, sizeof hostbuf), cfg->port);
        term_warnings(cfg, a);
        if (cfg->redirport)
            wsd_log(WSD_LOG_INFO, "server", "", "Starting redirect server   : http://%s:%d/",
                    url_host(a, hostbuf, sizeof hostbuf), cfg->redirport);
    }
    if (cfg->unixsocket)
        wsd_log(WSD_LOG_INFO, "server", "", "Starting WebSocket server   : unix socket at %s",
                cfg->unixsocket);
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

/* --inetd: the connection (wsd_inetd_prepare, before the first log line). */
static int inetd_fd = -1, inetd_unix;


/* The systemd watchdog: WATCHDOG=1 every half interval, from the loop. */
static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    wsd_sd_watchdog();
}

int wsd_server_worker(wsd_config *cfg0, int worker, int nworkers, wsd_listen_set *ls,
                      int ready_fd, const char *hub_path, int ctlfd)
{
    server srv;
    int startup_log_min = -1;
    size_t i;
    sigset_t handled;
    uv_timer_t watchdog;
    uint64_t wd_usec = 0;
    const wsd_config *cfg;

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
    srv.lset = ls;
    srv.inetd = cfg->inetd;
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

    for (i = 0; i < sizeof srv.signals / sizeof srv.signals[0]; i++) {
        uv_signal_init(srv.loop, &srv.signals[i]);
        srv.signals[i].data = &srv;
        uv_signal_start(&srv.signals[i], on_signal, handled_signal(i));
    }
    if (wsd_spawn_init(srv.loop) != 0 || wsd_defer_init(srv.loop) != 0) {
        wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: no SIGCHLD watcher");
        goto fail;
    }
    /* the handlers are in place: what arrived meanwhile is delivered now */
    wsd_server_signal_set(&handled);
    sigprocmask(SIG_UNBLOCK, &handled, NULL);

    if (cfg->ssl) {
        char err[512];
        srv.tls = wsd_tls_ctx_new(cfg->sslcert, cfg->sslkey, cfg->sslca, err, sizeof err);
        if (!srv.tls) {
            wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: %s", err);
            goto fail;
        }
    }
    if (cfg->inetd) {
        if (wsd_inetd_start(&srv, inetd_fd, inetd_unix) != 0)
            goto fail;
    } else if (open_listeners(&srv, ls) != 0) {
        goto fail;
    }
    wsd_monitor_startup_log(cfg);

    /* Everything that needs root is done (ports bound, TLS files read):
     * --user/--group from here on, for good (privdrop.c). */
    {
        char err[512];
        if (wsd_privdrop_apply(err, sizeof err) != 0) {
            wsd_log(WSD_LOG_FATAL, "server", "", "Can't drop privileges: %s", err);
            goto fail;
        }
        /* changing ids cleared a worker's parent-death signal: again */
        if (nworkers > 1)
            prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
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

    /* Accepting: say so to whoever waits (systemd, the wsd being upgraded,
     * or the supervisor, which tells them once every worker is here). */
    if (is_main(&srv)) {
        if (ls && ls->from == WSD_LISTEN_UPGRADE && ls->ready_fd >= 0)
            wsd_takeover_ready(&ls->ready_fd);   /* the old wsd tells systemd (MAINPID) */
        else
            wsd_sd_ready("accepting connections");
        wd_usec = wsd_sd_watchdog_usec();
    } else if (ready_fd >= 0) {
        unsigned char b = (unsigned char)worker;
        if (write(ready_fd, &b, 1) < 0)
            wsd_log(WSD_LOG_ERROR, "server", "", "Can't tell the supervisor: %s", strerror(errno));
        close(ready_fd);
    }
    if (wd_usec > 0) {
        uv_timer_init(srv.loop, &watchdog);
        uint64_t every = wd_usec / 2000 > 0 ? wd_usec / 2000 : 1;
        /* after an upgrade, systemd hears this wsd only once the old one
         * has sent MAINPID: the first ping waits a period */
        uv_timer_start(&watchdog, on_watchdog, ls && ls->from == WSD_LISTEN_UPGRADE ? every : 0,
                       every);
        uv_unref((uv_handle_t *)&watchdog);
    }

    uv_run(srv.loop, UV_RUN_DEFAULT);
    if (srv.shutting_down)
        wsd_takeover_wait_predecessor(ls);   /* this wsd exits after it */
    if (wd_usec > 0)
        uv_close((uv_handle_t *)&watchdog, NULL);
    for (i = 0; i < sizeof srv.signals / sizeof srv.signals[0]; i++)
        uv_close((uv_handle_t *)&srv.signals[i], NULL);
    wsd_drain_free(&srv);
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
    wsd_cfgsnap_unref(srv.snap);
    return srv.exit_status;

fail:
    wsd_reload_stop();
    wsd_tls_ctx_free(srv.tls);
    free(srv.listeners);
    wsd_cfgsnap_unref(srv.snap);
    return 3;
}

int wsd_server_run(wsd_config *cfg)
{
    int n = cfg->workers > 1 ? (int)cfg->workers : 1, rc;
    wsd_listen_set ls;
    sigset_t set, old;

    /* --metrics: one slot of counters per worker and one for the hub
     * process, shared (metrics.h) */
    if (cfg->metrics && wsd_metrics_init(n + 1) != 0)
        wsd_log(WSD_LOG_ERROR, "server", "", "No shared memory for the metrics (%s): each "
                "process counts only its own", strerror(errno));
    /* blocked until a handler is in place (the workers' loops, or the
     * supervisor's signalfd) */
    wsd_server_signal_set(&set);
    sigprocmask(SIG_BLOCK, &set, &old);
    if (cfg->inetd) {
        memset(&ls, 0, sizeof ls);
        ls.ready_fd = -1;
        inetd_fd = wsd_inetd_prepare(&inetd_unix);   /* before the first log line */
        if (inetd_fd >= 0)
            banner(cfg);
        rc = inetd_fd < 0 ? 1 : wsd_server_worker(cfg, 0, 1, &ls, -1, NULL, -1);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return rc;
    }
    banner(cfg);
    if (cfg->ssl) {
        /* the certificate and key first: a missing or bad file is named
         * even when the port is taken (each worker loads its own later) */
        char err[512];
        wsd_tls_ctx *t = wsd_tls_ctx_new(cfg->sslcert, cfg->sslkey, cfg->sslca, err, sizeof err);
        if (!t) {
            wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: %s", err);
            sigprocmask(SIG_SETMASK, &old, NULL);
            return 3;
        }
        wsd_tls_ctx_free(t);
    }
    rc = wsd_listen_take(&ls, cfg);
    if (rc == 0) {
        startup_lines(cfg, &ls);
        rc = wsd_listen_bind(&ls, cfg, n) == 0 ? 1 : -1;
    } else if (rc > 0) {
        startup_lines(cfg, &ls);
        if (wsd_listen_bind_metrics(&ls, cfg, n) != 0)
            rc = -1;
    }
    if (rc < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        return 3;
    }
    if (n == 1) {
        /* the worker takes *cfg over (its snapshot); the set knows the
         * socket file's path */
        rc = wsd_server_worker(cfg, 0, 1, &ls, -1, NULL, -1);
        wsd_listen_unlink(&ls);          /* if it failed before its shutdown did */
    } else {
        rc = wsd_supervise(cfg, &ls, n);
    }
    wsd_listen_free(&ls);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}
