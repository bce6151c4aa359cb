/* drain.c — the old side of a binary upgrade in the event loop (drain.h). */
#include "drain.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"
#include "server.h"
#include "shared.h"
#include "takeover.h"
#include "util.h"

typedef struct wsd_drain {
    server *srv;
    wsd_takeover tk;             /* the new binary while it starts (tk.pid > 0) */
    uv_poll_t poll;              /* its readiness pipe */
    uv_timer_t timer;            /* the start-up bound, then --drainms */
    int polling;                 /* poll initialised and not closed */
    int closing;                 /* handles being closed: freed in on_closed */
    int open_handles;
} wsd_drain;

static void on_closed(uv_handle_t *h)
{
    wsd_drain *d = h->data;

    if (--d->open_handles == 0)
        free(d);
}

static wsd_drain *get(server *srv)
{
    wsd_drain *d = srv->drain;

    if (d)
        return d;
    d = xcalloc(1, sizeof *d);
    d->srv = srv;
    d->tk.fd = -1;
    uv_timer_init(srv->loop, &d->timer);
    d->timer.data = d;
    d->open_handles = 1;
    srv->drain = d;
    return d;
}

static void stop_poll(wsd_drain *d)
{
    if (!d->polling)
        return;
    d->polling = 0;
    uv_close((uv_handle_t *)&d->poll, on_closed);   /* before the fd is closed */
}

/* ------------------------------------------------------------- draining */

/* Nothing is left to serve: the shared programs end (and the link to the
 * hub process closes), so the loop can end. */
static void on_empty(server *srv)
{
    srv->on_empty = NULL;
    if (srv->drain)
        uv_timer_stop(&srv->drain->timer);
    wsd_log(WSD_LOG_INFO, "server", "", "Drained: every connection has ended, exiting");
    wsd_hub_shutdown_all(srv);
}

static void on_drain_timeout(uv_timer_t *t)
{
    wsd_drain *d = t->data;
    char why[96];

    snprintf(why, sizeof why, "Drain time is up (--drainms=%lu)", d->srv->cfg->drainms);
    wsd_server_shutdown(d->srv, why);
}

void wsd_drain_start(server *srv)
{
    wsd_drain *d;
    size_t i;

    if (srv->draining || srv->shutting_down)
        return;
    d = get(srv);
    srv->draining = 1;
    if (srv->lset)
        srv->lset->unix_owned = 0;      /* the new wsd's file now */
    conn_drain_all(srv);                /* before the listeners close */
    wsd_server_close_listeners(srv);
    wsd_log(WSD_LOG_INFO, "server", "", "Draining: not accepting; %ld connection%s and %ld "
            "program%s go on, at most %lu ms (--drainms), then close 1001", srv->nconns,
            srv->nconns == 1 ? "" : "s", wsd_program_count(), wsd_program_count() == 1 ? "" : "s",
            srv->cfg->drainms);
    /* the loop ends when the last connection has */
    for (i = 0; i < sizeof srv->signals / sizeof srv->signals[0]; i++)
        uv_unref((uv_handle_t *)&srv->signals[i]);
    uv_timer_start(&d->timer, on_drain_timeout, srv->cfg->drainms, 0);
    uv_unref((uv_handle_t *)&d->timer);
    srv->on_empty = on_empty;
    if (srv->nconns == 0)
        on_empty(srv);
}

/* ------------------------------------------------------------- upgrading */

static void on_start_timeout(uv_timer_t *t)
{
    wsd_drain *d = t->data;

    wsd_log(WSD_LOG_ERROR, "server", "", "Upgrade failed: the new wsd (pid %d) was not ready "
            "after %d ms: sent SIGTERM; this wsd goes on serving", (int)d->tk.pid,
            WSD_TAKEOVER_READY_MS);
    stop_poll(d);
    wsd_takeover_abort(&d->tk);
    d->tk.pid = 0;
}

static void on_ready(uv_poll_t *p, int status, int events)
{
    wsd_drain *d = p->data;
    server *srv = d->srv;
    char err[512], st[64];
    int rc;

    (void)events;
    uv_poll_stop(p);                    /* before the pipe may be closed */
    rc = status < 0 ? -1 : wsd_takeover_check(&d->tk, err, sizeof err);
    if (status < 0)
        snprintf(err, sizeof err, "poll: %s", uv_strerror(status));
    if (rc == 0) {
        uv_poll_start(p, UV_READABLE, on_ready);
        return;
    }
    stop_poll(d);
    uv_timer_stop(&d->timer);
    if (d->tk.fd >= 0)
        wsd_takeover_abort(&d->tk);
    if (rc < 0) {
        wsd_log(WSD_LOG_ERROR, "server", "", "Upgrade failed: %s; this wsd goes on serving", err);
        d->tk.pid = 0;
        return;
    }
    wsd_log(WSD_LOG_INFO, "server", "", "Upgrade: the new wsd (pid %d) accepts on the sockets; "
            "this wsd (pid %d) stops accepting", (int)d->tk.pid, (int)getpid());
    snprintf(st, sizeof st, "upgraded to pid %d", (int)d->tk.pid);
    wsd_sd_mainpid(d->tk.pid, st);      /* systemd follows the new process */
    d->tk.pid = 0;
    wsd_drain_start(srv);
}

void wsd_drain_upgrade(server *srv)
{
    wsd_drain *d = srv->drain;
    int *fds, *kinds;
    char err[512];
    size_t i, n = 0;
    int rc;

    if (srv->inetd) {
        wsd_log(WSD_LOG_INFO, "server", "", "Received SIGUSR2: ignored (--inetd has no socket to "
                "hand over)");
        return;
    }
    if (srv->draining) {
        wsd_log(WSD_LOG_INFO, "server", "", "Received SIGUSR2: ignored (draining: the sockets "
                "were handed over)");
        return;
    }
    if (d && d->tk.pid > 0) {
        wsd_log(WSD_LOG_INFO, "server", "", "Received SIGUSR2: ignored (the new wsd, pid %d, is "
                "starting)", (int)d->tk.pid);
        return;
    }
    fds = xcalloc(srv->nlisteners + 1, sizeof *fds);
    kinds = xcalloc(srv->nlisteners + 1, sizeof *kinds);
    for (i = 0; i < srv->nlisteners; i++) {
        uv_os_fd_t fd;
        if (uv_fileno(&srv->listeners[i].u.handle, &fd) != 0)
            continue;
        fds[n] = fd;
        kinds[n++] = srv->listeners[i].kind;
    }
    d = get(srv);
    rc = wsd_takeover_exec(&d->tk, fds, kinds, n, srv->lset && srv->lset->unix_owned, err,
                           sizeof err);
    free(fds);
    free(kinds);
    if (rc != 0) {
        wsd_log(WSD_LOG_ERROR, "server", "", "Upgrade failed: %s; this wsd goes on serving", err);
        return;
    }
    wsd_log(WSD_LOG_INFO, "server", "", "Received SIGUSR2: upgrading: started %s (pid %d) with "
            "the %zu socket%s", wsd_takeover_path(), (int)d->tk.pid, n, n == 1 ? "" : "s");
    uv_poll_init(srv->loop, &d->poll, d->tk.fd);
    d->poll.data = d;
    d->polling = 1;
    d->open_handles++;
    uv_poll_start(&d->poll, UV_READABLE, on_ready);
    uv_timer_start(&d->timer, on_start_timeout, WSD_TAKEOVER_READY_MS, 0);
}

/* ------------------------------------------------------------- ending */

void wsd_drain_stop(server *srv)
{
    wsd_drain *d = srv->drain;

    srv->on_empty = NULL;
    if (!d)
        return;
    uv_timer_stop(&d->timer);
    if (d->tk.pid > 0) {
        wsd_log(WSD_LOG_INFO, "server", "", "Stopping the new wsd (pid %d) that was starting",
                (int)d->tk.pid);
        stop_poll(d);
        wsd_takeover_abort(&d->tk);
        d->tk.pid = 0;
    }
}

void wsd_drain_free(server *srv)
{
    wsd_drain *d = srv->drain;

    if (!d)
        return;
    srv->drain = NULL;
    stop_poll(d);
    if (d->tk.fd >= 0)
        wsd_takeover_abort(&d->tk);
    uv_close((uv_handle_t *)&d->timer, on_closed);
}
