/* upgrade.c — a complete request head: the WebSocket handshake (see
 * upgrade.h). The program is started before the 101 is written, so a
 * program that cannot start is a clean HTTP error, not a 101 followed by a
 * dropped connection (websocketd). */
#include "upgrade.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "handshake.h"
#include "httpserve.h"
#include "log.h"
#include "metrics.h"
#include "monitor.h"
#include "origin.h"
#include "pmd.h"
#include "program.h"
#include "route.h"
#include "session.h"
#include "util.h"

/* What the 101 needs, kept while --reverselookup runs (1.3 KiB). */
struct upgrade {
    uv_getnameinfo_t ni;
    char accept[29];             /* Sec-WebSocket-Accept */
    char *pmd_ext;               /* the 101's Sec-WebSocket-Extensions, or NULL */
    char *held;                  /* bytes behind the head */
    size_t nheld;
};

/* The associations of the connection's log lines, as websocketd's. */
static char *make_assoc(conn *c, const wsd_request *r)
{
    const wsd_config *cfg = c->cfg;
    const wsd_http_header *host = wsd_http_get(r, "Host");
    const wsd_http_header *origin = wsd_http_get(r, "Origin");
    char url[1024], org[512], hostbuf[300], cmd[1024];
    wsd_str a, lo;
    const char *command = c->ws && c->ws->route ? c->ws->route->real
                          : cfg->command ? cfg->command : "";

    wsd_log_escape(hostbuf, sizeof hostbuf, host ? host->value : "", host ? host->value_len : 0);
    wsd_log_escape(url, sizeof url, r->target, r->target_len);
    wsd_log_escape(cmd, sizeof cmd, command, strlen(command));
    /* the origin as websocketd logs it ("file:" when absent or null) */
    wsd_str_init(&lo, 4096);
    wsd_origin_check(c->ep->origin, origin ? origin->value : NULL, origin ? origin->value_len : 0,
                     host ? host->value : NULL, host ? host->value_len : 0, 0, NULL, &lo);
    wsd_log_escape(org, sizeof org, lo.s ? lo.s : "file:", lo.s ? lo.len : 5);
    wsd_str_free(&lo);
    wsd_str_init(&a, 8192);
    wsd_str_appendf(&a, "url:'%s://%s%s' id:'%s' remote:'%s' command:'%s' origin:'%s'",
                    wsd_tp_is_tls(&c->tp) ? "https" : "http", hostbuf, url, c->id,
                    c->remote_host ? c->remote_host : c->remote_ip, cmd, org);
    if (c->access.user) {          /* authenticated (access.c) */
        char user[300];
        wsd_str_appendf(&a, " user:'%s'", wsd_log_escape(user, sizeof user, c->access.user,
                                                          strlen(c->access.user)));
    }
    return a.s;
}

/* A 301 with a Location (Go's redirects: no body). */
static void redirect(conn *c, const char *location, const wsd_header_list *headers)
{
    wsd_header_kv kv;
    wsd_header_list l = {&kv, 1};
    wsd_str out;

    kv.name = "Location";
    kv.value = (char *)location;   /* the header list is read only */
    wsd_str_init(&out, RESPONSE_LIMIT);
    if (wsd_response_simple(&out, 301, "301 Moved Permanently\n", 0, &l, headers) == 0) {
        conn_linger(c, out.s, out.len);
    } else {
        wsd_str_free(&out);
        wsd_tp_close(&c->tp);
    }
}

/* --redirport: 301 to the canonical URL, keeping path and query (websocketd
 * drops them, and panics on a Host without a port). */
static void redirect_https(conn *c, const wsd_request *r)
{
    const wsd_config *cfg = c->cfg;
    const wsd_http_header *h = wsd_http_get(r, "Host");
    char host[300];
    wsd_str loc;

    if (!h || h->value_len == 0 || h->value_len >= sizeof host) {
        conn_respond(c, 400, "400 Bad Request: missing Host\n", 0);
        return;
    }
    memcpy(host, h->value, h->value_len);
    host[h->value_len] = '\0';
    if (host[0] == '[') {
        char *e = strchr(host, ']');
        if (e)
            e[1] = '\0';
    } else if (strchr(host, ':')) {
        *strchr(host, ':') = '\0';
    }
    wsd_str_init(&loc, 20000);
    wsd_str_appendf(&loc, "%s://%s:%d%s", cfg->ssl ? "https" : "http", host, cfg->port, r->target);
    wsd_log(WSD_LOG_ACCESS, "http", c->assoc, "REDIRECT");
    redirect(c, loc.s, &cfg->headers);
    wsd_str_free(&loc);
}

/* --dir: the URL path names the script (route.c: confined to DIR). A path
 * that is not clean gets Go ServeMux's 301, as websocketd. Under a route
 * (--config) the path under it names the script, and SCRIPT_NAME starts
 * with the route. Returns 0 when the session holds the script, else has
 * answered and returns -1. */
static int route_script(conn *c, const wsd_request *r)
{
    const wsd_config *cfg = c->cfg;
    size_t n = strlen(r->path);
    char *decoded = xmalloc(n + 1), *clean;
    wsd_route *rt;
    int rc = -1;

    if (wsd_http_url_decode(r->path, n, decoded) < 0) {
        free(decoded);
        conn_respond(c, 404, "404 Not Found\n", 0);
        return -1;
    }
    clean = wsd_route_clean_path(decoded);
    if (strcmp(clean, decoded) != 0) {
        char *loc = wsd_route_escape_path(clean);
        wsd_str v;
        wsd_str_init(&v, 16384);
        wsd_str_appendf(&v, "%s%s%s", loc, *r->query ? "?" : "", r->query);
        redirect(c, v.s, &cfg->headers);
        wsd_str_free(&v);
        free(loc);
        free(clean);
        free(decoded);
        return -1;
    }
    rt = xcalloc(1, sizeof *rt);
    if (wsd_route_script(cfg->dir, c->ep->is_route ? c->subpath : decoded, rt) !=
        WSD_ROUTE_FOUND) {
        wsd_route_free(rt);
        free(rt);
        wsd_log(WSD_LOG_ACCESS, "session", c->assoc, "NOT FOUND: script not found");
        conn_respond(c, 404, "404 Not Found\n", 0);
    } else {
        if (c->ep->plen) {
            wsd_str sn;
            wsd_str_init(&sn, (size_t)-1 / 2);
            wsd_str_appendf(&sn, "%s%s", c->ep->path, rt->script_name);
            free(rt->script_name);
            rt->script_name = sn.s;
        }
        c->ws->route = rt;
        free(c->assoc);
        c->assoc = make_assoc(c, r);   /* command:'<script>' */
        rc = 0;
    }
    free(clean);
    free(decoded);
    return rc;
}

/* --origin/--sameorigin: 1 when allowed, else answered 403. */
static int origin_allowed(conn *c, const wsd_request *r)
{
    const wsd_http_header *o = wsd_http_get(r, "Origin"), *h = wsd_http_get(r, "Host");
    wsd_str why;
    int ok;

    wsd_str_init(&why, 1024);
    /* a trusted proxy's X-Forwarded-Host and -Proto stand for the client's
     * (access.c): a TLS-terminating proxy must not make --sameorigin fail */
    ok = wsd_origin_check(c->ep->origin, o ? o->value : NULL, o ? o->value_len : 0,
                          c->access.host ? c->access.host : h ? h->value : NULL,
                          c->access.host ? strlen(c->access.host) : h ? h->value_len : 0,
                          conn_https(c), &why, NULL);
    if (!ok) {
        char esc[1200];
        wsd_log(WSD_LOG_ACCESS, "session", c->assoc, "%s",
                wsd_log_escape(esc, sizeof esc, why.s ? why.s : "", why.len));
        wsd_log(WSD_LOG_ACCESS, "session", c->assoc,
                "Unable to Upgrade: websocket: request origin not allowed");
        conn_respond(c, 403, "403 Forbidden: origin not allowed\n", 0);
    }
    wsd_str_free(&why);
    return ok;
}

static void on_joined(conn *c, int failed);
static void send_101(conn *c, const char *accept, const char *pmd_ext, const char *rest,
                     size_t nrest);

/* After the checks (and the reverse lookup): fork slot, spawn, 101. */
static void finish(conn *c, const char *accept, const char *pmd_ext, const char *rest,
                   size_t nrest)
{
    server *srv = c->srv;
    const wsd_config *cfg = c->cfg;
    ws_session *s = c->ws;
    int rc;

    if (ws_session_forks(c) && srv->maxforks > 0 && wsd_program_count() >= srv->maxforks) {
        wsd_log(WSD_LOG_ERROR, "http", c->assoc, "Max of possible forks already active, upgrade rejected");
        wsd_metrics_spawn_failed(WSD_SPAWNFAIL_MAXFORKS);
        conn_respond(c, 429, "429 Too Many Requests\n", 0);
        return;
    }
    if (ws_session_forks(c) && !conn_fds_for_program(srv)) {
        wsd_log(WSD_LOG_ERROR, "http", c->assoc,
                "Out of file descriptors for another program (%ld running, limit %ld), upgrade rejected",
                wsd_program_count(), srv->fd_limit);
        wsd_metrics_spawn_failed(WSD_SPAWNFAIL_DESCRIPTORS);
        conn_respond(c, 503, WSD_BODY_NO_RESOURCES, 0);
        return;
    }
    wsd_log(WSD_LOG_ACCESS, "session", c->assoc, "CONNECT");
    rc = ws_session_spawn(c, wsd_http_request(c->http));
    if (rc != 0) {
        wsd_log(WSD_LOG_ERROR, "process", c->assoc, "Could not launch process %s (%s)",
                s->route ? s->route->real : cfg->command_path, wsd_spawn_strerror(rc));
        if (wsd_spawn_busy(rc))   /* a burst of connections still in their handshake can
                                   * use the descriptors --maxforks left over */
            conn_respond(c, 503, WSD_BODY_NO_RESOURCES, 0);
        else
            conn_respond(c, 500, "500 Internal Server Error: could not launch the program\n", 0);
        return;
    }
    if (s->hub) {
        /* --shared: a member before the 101, so it misses nothing after it */
        rc = ws_session_join(c, on_joined);
        if (rc < 0) {
            wsd_log(WSD_LOG_ERROR, "shared", c->assoc, "The hub process cannot be reached");
            conn_respond(c, 503, "503 Service Unavailable: shared program unavailable\n", 0);
            return;
        }
        if (rc == 1) {
            /* --workers: the hub process answers first; reads held meanwhile */
            struct upgrade *up = xcalloc(1, sizeof *up);
            memcpy(up->accept, accept, sizeof up->accept);
            up->pmd_ext = pmd_ext ? xstrdup(pmd_ext) : NULL;
            if (nrest > 0) {
                up->held = xmalloc(nrest);
                memcpy(up->held, rest, nrest);
                up->nheld = nrest;
            }
            c->up = up;
            conn_ref(c);
            wsd_tp_hold(&c->tp, WSD_HOLD_LOOKUP);
            return;
        }
    }
    send_101(c, accept, pmd_ext, rest, nrest);
}

/* The hub process took the member (or could not): the 101, or 500. */
static void on_joined(conn *c, int failed)
{
    struct upgrade *up = c->up;

    c->up = NULL;
    if (!c->tp.closing && c->state == ST_HTTP) {
        wsd_tp_release(&c->tp, WSD_HOLD_LOOKUP);
        if (failed) {
            wsd_log(WSD_LOG_ERROR, "shared", c->assoc, "The shared program could not be started");
            conn_respond(c, 500, "500 Internal Server Error: could not launch the program\n", 0);
        } else {
            send_101(c, up->accept, up->pmd_ext, up->held, up->nheld);
        }
    }
    free(up->pmd_ext);
    free(up->held);
    free(up);
    conn_unref(c);
}

/* The 101 and the session's start. */
static void send_101(conn *c, const char *accept, const char *pmd_ext, const char *rest,
                     size_t nrest)
{
    const wsd_config *cfg = c->cfg;
    ws_session *s = c->ws;
    wsd_str out;
    int rc;

    {   /* associations gain the pid, as websocketd's */
        wsd_str a;
        wsd_str_init(&a, 8192);
        wsd_str_appendf(&a, "%s pid:'%d'", c->assoc, ws_session_pid(c));
        free(c->assoc);
        c->assoc = a.s;
    }
    wsd_str_init(&out, RESPONSE_LIMIT);
    rc = wsd_response_101(&out, accept, s->subprotocol, pmd_ext, &cfg->headers, &cfg->headers_ws);
    if (rc != 0) {
        wsd_str_free(&out);
        wsd_tp_close(&c->tp);      /* the program ends with the connection */
        return;
    }
    c->is_ws = 1;
    c->state = ST_OPEN;
    s->mroute = wsd_metrics_route(s->route ? s->route->script_name : "*");
    wsd_metrics_ws_open(s->mroute, wsd_metrics_now_us() - c->t_accept);
    wsd_tp_timeout(&c->tp, 0);
    wsd_http_parser_free(c->http);
    c->http = NULL;
    wsd_tp_send(&c->tp, out.s, out.len);
    ws_session_open(c, rest, nrest);
}

static void on_lookup(uv_getnameinfo_t *req, int status, const char *hostname,
                      const char *service)
{
    struct upgrade *up = (struct upgrade *)req;
    conn *c = req->data;

    (void)service;
    c->up = NULL;
    if (status == 0 && hostname && *hostname && !c->tp.closing)
        c->remote_host = xstrdup(hostname);
    if (!c->tp.closing && c->state == ST_HTTP) {
        if (c->remote_host) {
            free(c->assoc);
            c->assoc = make_assoc(c, wsd_http_request(c->http));
        }
        wsd_tp_release(&c->tp, WSD_HOLD_LOOKUP);
        finish(c, up->accept, up->pmd_ext, up->held, up->nheld);
    }
    free(up->pmd_ext);
    free(up->held);
    free(up);
    conn_unref(c);
}

/* --reverselookup: getnameinfo in libuv's thread pool, so the loop never
 * blocks on DNS. The client's reads are held meanwhile; the handshake
 * timeout bounds it. 1 when it runs (finish follows), 0 when it could not
 * start. */
static int start_lookup(conn *c, const char *accept, const char *pmd_ext, const char *rest,
                        size_t nrest)
{
    struct sockaddr_storage peer;
    int plen = sizeof peer;
    struct upgrade *up = xcalloc(1, sizeof *up);

    up->ni.data = c;
    memset(&peer, 0, sizeof peer);
    if (uv_tcp_getpeername(&c->tp.sock.tcp, (struct sockaddr *)&peer, &plen) != 0 ||
        uv_getnameinfo(c->srv->loop, &up->ni, on_lookup, (struct sockaddr *)&peer,   /* copied */
                       NI_NAMEREQD) != 0) {
        free(up);
        return 0;
    }
    memcpy(up->accept, accept, sizeof up->accept);
    up->pmd_ext = pmd_ext ? xstrdup(pmd_ext) : NULL;
    if (nrest > 0) {
        up->held = xmalloc(nrest);
        memcpy(up->held, rest, nrest);
        up->nheld = nrest;
    }
    c->up = up;
    conn_ref(c);                   /* until on_lookup */
    wsd_tp_hold(&c->tp, WSD_HOLD_LOOKUP);
    return 1;
}

/* The request's configuration (conn_configure): the current snapshot, and
 * the route of its decoded, clean path. */
static void configure(conn *c, const wsd_request *r)
{
    size_t n = strlen(r->path);
    char *decoded = xmalloc(n + 1), *clean = NULL;

    if (c->srv->snap->nroutes > 0 && wsd_http_url_decode(r->path, n, decoded) >= 0)
        clean = wsd_route_clean_path(decoded);
    conn_configure(c, clean);
    free(clean);
    free(decoded);
}

/* The request passed access control (access.c): the handshake, or plain
 * HTTP. */
static void upgrade_checked(conn *c, const char *rest, size_t nrest)
{
    server *srv = c->srv;
    const wsd_request *r = wsd_http_request(c->http);
    const wsd_config *cfg;
    wsd_handshake hs;
    ws_session *s;
    char ext[WSD_PMD_RESPONSE_MAX];
    wsd_pmd_params pp;
    int rc;

    cfg = c->cfg;
    if (c->access.user) {          /* the log names the user from here on */
        free(c->assoc);
        c->assoc = make_assoc(c, r);
    }
    rc = wsd_handshake_check(r, &hs);
    if (rc == WSD_HS_NOT_WEBSOCKET || (!cfg->command_path && !cfg->dir)) {
        c->upgrading = 0;
        wsd_tp_timeout(&c->tp, 0);
        if (wsd_serve_request(c, r, rest, nrest))
            return;
        wsd_log(WSD_LOG_ACCESS, "http", c->assoc, "NOT FOUND");
        conn_respond(c, 404, "404 page not found\n", 0);
        return;
    }
    c->upgrading = 1;
    if (rc == WSD_HS_BAD) {
        char body[256];
        wsd_log(WSD_LOG_ACCESS, "http", c->assoc, "Bad upgrade request: %s", hs.text);
        snprintf(body, sizeof body, "%d %s: %s\n", hs.status, wsd_http_reason(hs.status),
                 hs.text);
        conn_respond(c, hs.status, body, 1);
        return;
    }
    if (srv->shutting_down) {
        conn_respond(c, 503, "503 Service Unavailable: server shutting down\n", 0);
        return;
    }
    s = ws_session_new(c);
    if (cfg->dir && route_script(c, r) != 0)
        return;
    if (!origin_allowed(c, r))
        return;
    s->subprotocol = wsd_handshake_subprotocol(r, cfg->subprotocols, cfg->nsubprotocols);
    {
        /* --shared: a message compresses the same for every client of a
         * window size only without context takeover (shared.h) */
        wsd_pmd_config pc = c->ep->pmd;
        if (cfg->shared)
            pc.server_no_context_takeover = 1;
        s->pmd_on = wsd_pmd_negotiate_request(&pc, r, &pp, ext);
    }
    if (s->pmd_on) {
        s->pmd = xcalloc(1, sizeof *s->pmd);
        wsd_pmd_init(s->pmd, &c->ep->pmd, &pp, cfg->maxframesize);
    }
    if (cfg->reverselookup && !c->tp.is_unix &&
        start_lookup(c, hs.accept, s->pmd_on ? ext : NULL, rest, nrest))
        return;
    finish(c, hs.accept, s->pmd_on ? ext : NULL, rest, nrest);
}

void wsd_upgrade(conn *c, const char *rest, size_t nrest)
{
    const wsd_request *r = wsd_http_request(c->http);

    configure(c, r);               /* this request's snapshot and route (cfgsnap.h) */
    wsd_access_client(c, r);       /* behind --trustproxy: the client's address (access.c) */
    c->assoc = make_assoc(c, r);
    if (wsd_monitor_request(c, r))     /* --metrics listener, --healthpath: before access */
        return;                        /* control (a load balancer has no credentials) */
    if (c->redirect) {
        redirect_https(c, r);
        return;
    }
    c->upgrading = r->upgrade;     /* an access refusal of an upgrade is a refusal too */
    if (wsd_access_check(c, r, rest, nrest, upgrade_checked) != 0)
        return;                    /* refused, or upgrade_checked follows (access.c) */
    upgrade_checked(c, rest, nrest);
}
