/* conn.c — one client connection, accept to teardown (see conn.h).
 *
 * Accept and the descriptor budget; the transport's events dispatched by
 * the connection's state; the request-head timeout and keep-alive; short
 * HTTP answers; the one place that aborts a connection; teardown. */
#include "conn.h"

#include <assert.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "handshake.h"
#include "log.h"
#include "metrics.h"
#include "program.h"
#include "util.h"

static void resume_accepting(server *srv);

/* Inside a close path (the transport's on_close and what it calls): nothing
 * may be freed there, only from callbacks (asserted in conn_free). */
static int in_close_path;

/* ------------------------------------------------------------- teardown */

void conn_ref(conn *c)
{
    c->refs++;
}

static void conn_free(conn *c)
{
    server *srv = c->srv;

    assert(!in_close_path && c->tp.closed && c->refs == 0);
    if (c->is_ws)
        wsd_log(WSD_LOG_ACCESS, "session", c->assoc, "DISCONNECT");
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->h && c->h->free)
        c->h->free(c);
    assert(!c->http && !c->up && !c->ws && !c->serve && !c->auth);
    wsd_clients_release(srv->clients, c->client_slot);   /* --maxperip */
    wsd_env_access_clear(&c->access);
    wsd_cfgsnap_unref(c->snap);
    free(c->subpath);
    free(c->assoc);
    free(c->remote_host);
    wsd_tp_free(&c->tp);
    free(c);
    srv->nconns--;
    wsd_metrics_add(WSD_M_CLIENTS_OPEN, -1);
    resume_accepting(srv);
    if (srv->nconns == 0 && srv->on_empty)
        srv->on_empty(srv);
}

void conn_unref(conn *c)
{
    assert(c->refs > 0);
    if (--c->refs == 0)
        conn_free(c);
}

void conn_abort(conn *c, int level, const char *fmt, ...)
{
    char why[512];
    va_list ap;

    if (c->tp.closing)
        return;
    if (wsd_log_on(level)) {
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        wsd_log(level, c->is_ws ? "websocket" : "http", c->assoc ? c->assoc : "", "%s", why);
    }
    wsd_tp_close(&c->tp);
}

/* -------------------------------------------------------------- answers */

void conn_linger(conn *c, char *buf, size_t len)
{
    c->state = ST_CLOSING;
    wsd_tp_linger(&c->tp, buf, len);
}

void conn_respond(conn *c, int status, const char *body, int version_hdr)
{
    const wsd_config *cfg = c->cfg;
    wsd_str out;

    if (c->upgrading)
        wsd_metrics_refused(status);
    wsd_str_init(&out, RESPONSE_LIMIT);
    if (wsd_response_simple(&out, status, body, version_hdr, &cfg->headers,
                            &cfg->headers_http) != 0) {
        wsd_str_free(&out);
        wsd_tp_close(&c->tp);
        return;
    }
    conn_linger(c, out.s, out.len);
}

/* ------------------------------------------------- the transport's events */

/* Plaintext from the client, whatever the transport. */
static void on_read(wsd_transport *t, char *p, size_t n)
{
    conn *c = t->data;

    switch (c->state) {
    case ST_HTTP: {
        size_t used = 0;
        int rc;
        c->keepalive = 0;          /* the next request has begun */
        rc = wsd_http_feed(c->http, p, n, &used);
        if (rc == WSD_HTTP_DONE) {
            c->srv->on_request(c, p + used, n - used);
        } else if (rc == WSD_HTTP_ERROR) {
            int st = wsd_http_error_status(c->http);
            char body[256];
            snprintf(body, sizeof body, "%d %s: %s\n", st, wsd_http_reason(st),
                     wsd_http_error_text(c->http));
            wsd_log(WSD_LOG_ACCESS, "http", c->assoc ? c->assoc : "", "Bad request from %s: %s",
                    c->remote_ip, wsd_http_error_text(c->http));
            conn_respond(c, st, body, 0);
        }
        break;
    }
    case ST_CLOSED:
        break;
    default:
        if (c->h && c->h->read)
            c->h->read(c, p, n);
        break;
    }
}

static void on_eof(wsd_transport *t, int status)
{
    conn *c = t->data;

    if (c->h && c->h->eof && c->h->eof(c, status))
        return;
    conn_abort(c, WSD_LOG_DEBUG, "Client went away: %s", uv_strerror(status));
}

static void on_written(wsd_transport *t)
{
    conn *c = t->data;

    if (c->h && c->h->written)
        c->h->written(c);
}

static void on_timeout(wsd_transport *t)
{
    conn *c = t->data;

    switch (c->state) {
    case ST_HTTP:
        if (c->keepalive) {
            /* keep-alive, not one byte of the next request: closed without
             * an answer, as Go closes idle connections */
            wsd_tp_close(t);
            return;
        }
        wsd_log(WSD_LOG_ACCESS, "http", "", "Request head from %s not complete after %d ms",
                c->remote_ip, HANDSHAKE_TIMEOUT_MS);
        conn_respond(c, 408, "408 Request Timeout\n", 0);
        break;
    case ST_SERVE:
        if (c->srv->shutting_down)
            conn_abort(c, WSD_LOG_INFO, "Shutting down: response not complete after %d ms, closing",
                       SHUTDOWN_GRACE_MS);
        break;
    default:
        break;
    }
}

static void on_close(wsd_transport *t)
{
    conn *c = t->data;

    in_close_path++;
    c->state = ST_CLOSED;
    if (c->http) {
        wsd_http_parser_free(c->http);
        c->http = NULL;
    }
    if (c->h && c->h->client_gone)
        c->h->client_gone(c);
    in_close_path--;
}

static void on_closed(wsd_transport *t)
{
    conn_unref(t->data);
}

/* --proxyprotocol: the header named the client. */
static void on_peer(wsd_transport *t)
{
    conn *c = t->data;
    wsd_tp_peer(t, c->remote_ip, sizeof c->remote_ip, &c->remote_port);
}

static const wsd_transport_ops conn_tp_ops = {
    on_read, on_eof, on_written, on_timeout, on_close, on_closed, on_peer,
};

/* ------------------------------------------------------------ keep-alive */

/* A kept-alive response is complete: back to ST_HTTP with a fresh parser;
 * `rest` (bytes that arrived after the previous request) is parsed first.
 * Idle for HANDSHAKE_TIMEOUT_MS (not one byte) → closed without an answer;
 * a head begun but unfinished by then → 408. */
void conn_http_next(conn *c, const char *rest, size_t n)
{
    if (c->tp.closing)
        return;
    if (c->http)
        wsd_http_parser_free(c->http);
    c->http = wsd_http_parser_new();
    free(c->assoc);
    c->assoc = NULL;
    c->state = ST_HTTP;
    c->keepalive = 1;
    wsd_tp_timeout(&c->tp, HANDSHAKE_TIMEOUT_MS);
    wsd_tp_release(&c->tp, WSD_HOLD_SERVE);   /* if httpserve.c held the reads */
    if (n > 0) {
        char *copy = xmalloc(n);
        memcpy(copy, rest, n);
        on_read(&c->tp, copy, n);
        free(copy);
    }
}

/* ---------------------------------------------------------------- accept */

static void next_id(server *srv, char *out, size_t cap)
{
    struct timespec ts;
    uint64_t id;
    clock_gettime(CLOCK_REALTIME, &ts);
    id = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (id <= srv->last_id)
        id = srv->last_id + 1;   /* unique, unlike websocketd's UnixNano */
    if (srv->nworkers > 1 || srv->cfg->redis) {
        /* unique across workers too: id ≡ worker (mod workers); with
         * --redis across edges as well: id ≡ edge + 1024 × worker (mod
         * 1024 × workers), the program's wsd being edge 0 */
        uint64_t e = srv->cfg->redis ? 1024 : 1;
        uint64_t w = (uint64_t)(srv->nworkers > 1 ? srv->nworkers : 1) * e;
        id = id - id % w + (uint64_t)srv->worker * e + (uint64_t)srv->cfg->sharededge;
        if (id <= srv->last_id)
            id += w;
    }
    srv->last_id = id;
    snprintf(out, cap, "%llu", (unsigned long long)id);
}

/* Descriptor budget. libuv answers EMFILE at accept by accepting and
 * closing everything in the backlog (its "EMFILE trick": every waiting
 * client gets a reset), so wsd never lets accept run out: it counts what it
 * holds (a socket per connection, three pipes per program, what was open
 * before the first client) and, FD_SLACK short of the limit, leaves the
 * next connection unaccepted. libuv then stops watching that listener until
 * uv_accept is called, and the kernel's backlog keeps the clients waiting
 * (nginx disables accept events the same way). Each connection that ends
 * lets one waiting connection in. FD_SLACK covers what is open for a moment
 * (a static file, libuv's accepted_fd).
 *
 * Programs live long, handshakes do not: a new program must leave
 * FD_HANDSHAKES descriptors (an eighth of a small limit) for connections
 * still in their handshake, or the request gets 503 at once
 * (conn_fds_for_program). So a server full of programs still answers
 * newcomers quickly instead of making them wait. Under the default
 * --maxforks ((limit - 64) / 4) this rarely decides. With no connection at
 * all wsd always accepts (a limit too small for anything gets 503s, not
 * silence). */
#define FD_SLACK      8
#define FD_HANDSHAKES 32

static long fds_used(const server *srv)
{
    return srv->fd_base + srv->nconns + 3 * wsd_program_count();
}

static int fds_short(const server *srv)
{
    return srv->fd_limit > 0 && srv->nconns > 0 && fds_used(srv) + FD_SLACK >= srv->fd_limit;
}

int conn_fds_for_program(const server *srv)
{
    long reserve = srv->fd_limit / 8 < FD_HANDSHAKES ? srv->fd_limit / 8 : FD_HANDSHAKES;
    /* its three pipes, their other ends while it starts, and the reserve */
    return srv->fd_limit <= 0 || fds_used(srv) + 6 + reserve <= srv->fd_limit;
}

void conn_configure(conn *c, const char *path)
{
    const char *rest = "";

    if (c->snap != c->srv->snap) {
        wsd_cfgsnap_unref(c->snap);
        c->snap = wsd_cfgsnap_ref(c->srv->snap);
    }
    c->ep = path ? wsd_cfgsnap_match(c->snap, path, &rest) : &c->snap->server;
    c->cfg = c->ep->cfg;
    free(c->subpath);
    c->subpath = c->ep->is_route ? xstrdup(rest) : NULL;   /* (read only for a route) */
}

/* A new connection on srv (kind: its listener's, listen.h), in the list. */
static conn *conn_new(server *srv, int kind)
{
    conn *c = xcalloc(1, sizeof *c);

    srv->nconns++;
    c->srv = srv;
    c->refs = 1;                   /* the transport's, until on_closed */
    c->redirect = kind == WSD_LISTEN_REDIRECT;
    c->monitor = kind == WSD_LISTEN_METRICS;
    c->t_accept = wsd_metrics_now_us();
    wsd_metrics_inc(WSD_M_CLIENTS_ACCEPTED);
    wsd_metrics_inc(WSD_M_CLIENTS_OPEN);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    c->state = ST_HTTP;
    c->http = wsd_http_parser_new();
    conn_configure(c, NULL);
    return c;
}

/* The transport is up: the id, the peer, a PROXY header if expected, the
 * head's deadline. */
static void conn_begin(conn *c)
{
    server *srv = c->srv;

    next_id(srv, c->id, sizeof c->id);
    wsd_tp_peer(&c->tp, c->remote_ip, sizeof c->remote_ip, &c->remote_port);
    if (srv->cfg->proxyprotocol && !c->redirect) {
        /* with --trustproxy, only those proxies may say who the client is */
        if (srv->trust && !wsd_trust_has(srv->trust, c->remote_ip)) {
            wsd_log(WSD_LOG_ACCESS, "server", "",
                    "PROXY header expected from %s, which --trustproxy does not list: closed",
                    c->remote_ip);
            wsd_tp_close(&c->tp);
            return;
        }
        wsd_tp_expect_proxy(&c->tp);
    }
    wsd_tp_timeout(&c->tp, HANDSHAKE_TIMEOUT_MS);
}

static void accept_one(server *srv, uv_stream_t *l)
{
    const server_listener *sl = (const server_listener *)l;
    conn *c = conn_new(srv, sl->kind);
    wsd_tls_ctx *tls = sl->kind == WSD_LISTEN_WS ? srv->tls : NULL;
    int rc;

    rc = wsd_tp_accept(&c->tp, srv->loop, l, tls, &conn_tp_ops, c);
    if (rc != 0) {
        wsd_tp_close(&c->tp);
        return;
    }
    conn_begin(c);
}

void conn_on_connection(uv_stream_t *l, int status)
{
    server *srv = l->data;
    int i;

    if (status != 0) {
        wsd_log(WSD_LOG_ERROR, "server", "", "accept: %s", uv_strerror(status));
        return;
    }
    if (fds_short(srv)) {
        for (i = 0; i < srv->npaused; i++)
            if (srv->paused[i] == l)
                return;
        if (srv->npaused < (int)(sizeof srv->paused / sizeof srv->paused[0])) {
            if (srv->npaused == 0 &&
                (srv->fds_logged == 0 || uv_now(srv->loop) - srv->fds_logged >= 10000)) {
                srv->fds_logged = uv_now(srv->loop);   /* at most one line in 10 s */
                wsd_log(WSD_LOG_ERROR, "server", "",
                        "Out of file descriptors (%ld connections, %ld programs, limit %ld): "
                        "new connections wait", srv->nconns, wsd_program_count(), srv->fd_limit);
            }
            srv->paused[srv->npaused++] = l;   /* not accepted: libuv stops polling l */
            return;
        }
    }
    accept_one(srv, l);
}

int conn_adopt(server *srv, int fd, int is_unix)
{
    conn *c = conn_new(srv, WSD_LISTEN_WS);
    int rc = wsd_tp_open(&c->tp, srv->loop, fd, is_unix, srv->tls, &conn_tp_ops, c);

    if (rc != 0) {
        wsd_log(WSD_LOG_FATAL, "server", "", "Can't serve the connection on descriptor %d: %s",
                fd, uv_strerror(rc));
        wsd_tp_close(&c->tp);
        return -1;
    }
    conn_begin(c);
    return 0;
}

/* A connection has ended: let waiting ones in while the budget allows. */
static void resume_accepting(server *srv)
{
    while (srv->npaused > 0 && !srv->shutting_down && !srv->draining && !fds_short(srv)) {
        uv_stream_t *l = srv->paused[0];
        srv->npaused--;
        memmove(srv->paused, srv->paused + 1, (size_t)srv->npaused * sizeof srv->paused[0]);
        accept_one(srv, l);     /* uv_accept re-arms the listener */
    }
}

/* -------------------------------------------------------------- shutdown */

void conn_shutdown_all(server *srv)
{
    conn *c, *next;
    long ws = 0, serving = 0, other = 0;

    for (c = srv->conns; c; c = c->next) {
        if (c->state == ST_OPEN)
            ws++;
        else if (c->state == ST_SERVE)
            serving++;
        else if (c->state != ST_HTTP)
            other++;
    }
    wsd_log(WSD_LOG_INFO, "server", "",
            "Waiting for %ld WebSocket connection%s (close 1001, programs ended), %ld HTTP "
            "response%s (at most %d ms), %ld closing, %ld program%s", ws, ws == 1 ? "" : "s",
            serving, serving == 1 ? "" : "s", SHUTDOWN_GRACE_MS, other, wsd_program_count(),
            wsd_program_count() == 1 ? "" : "s");

    for (c = srv->conns; c; c = next) {
        conn_ref(c);
        switch (c->state) {
        case ST_HTTP:
            wsd_tp_close(&c->tp);
            break;
        case ST_SERVE:
            if (!c->tp.closing)
                wsd_tp_timeout(&c->tp, SHUTDOWN_GRACE_MS);
            break;
        default:
            break;
        }
        if (c->h && c->h->shutdown && !c->tp.closing)
            c->h->shutdown(c);
        next = c->next;
        conn_unref(c);
    }
}

void conn_drain_all(server *srv)
{
    conn *c, *next;

    /* libuv took these from the kernel already: they are this process's */
    while (srv->npaused > 0) {
        uv_stream_t *l = srv->paused[--srv->npaused];
        accept_one(srv, l);
    }
    for (c = srv->conns; c; c = next) {
        next = c->next;
        if (c->state == ST_HTTP && c->keepalive && !c->tp.closing)
            wsd_tp_close(&c->tp);   /* idle between requests: as Go closes idle connections */
    }
}
