/* conn.h — one client connection, accept to teardown (conn.c).
 *
 * A struct conn is allocated at accept and freed when nothing refers to it
 * any more: its transport is closed (every handle), and whatever else took
 * a reference — a program still running (session.c, httpserve.c), a
 * reverse lookup in libuv's thread pool (upgrade.c), a --pingms timer — has
 * let it go (conn_unref). Its parts, each owned by one module:
 *   tp      the transport (transport.c): socket, TLS, reads, writes
 *   http    the request head (http.c), until the handshake ends
 *   ws      the WebSocket session (session.c), from the handshake on
 *   serve   plain HTTP (httpserve.c), while a response is produced
 * conn.c reads the request head itself (ST_HTTP) and hands a complete one
 * to srv->on_request (upgrade.c). Past the head, the transport's events go
 * to the handler of the connection's phase (c->h): the WebSocket session
 * (session.c) or plain HTTP (httpserve.c). conn.c knows neither: the
 * layers above install themselves. */
#ifndef WSD_CONN_H
#define WSD_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cfgsnap.h"
#include "clients.h"
#include "config.h"
#include "env.h"
#include "http.h"
#include "listen.h"
#include "origin.h"
#include "pmd.h"
#include "realip.h"
#include "tls.h"
#include "transport.h"

#define HANDSHAKE_TIMEOUT_MS 10000     /* the whole request head (slowloris) */
#define OUT_HIGH (256 * 1024)          /* waiting for the client: stop producing */
#define OUT_LOW (64 * 1024)            /* ... resume below this */
#define RESPONSE_LIMIT (64 * 1024)     /* an HTTP response head */
#define SHUTDOWN_GRACE_MS 5000         /* a plain-HTTP response during a shutdown */

/* The body of the 503 for a program that cannot be started for lack of
 * descriptors or processes. */
#define WSD_BODY_NO_RESOURCES "503 Service Unavailable: out of resources to start the program\n"

enum conn_state {
    ST_HTTP,        /* reading the request head */
    ST_SERVE,       /* plain HTTP: a response is being produced (httpserve.c) */
    ST_OPEN,        /* WebSocket open (session.c) */
    ST_CLOSING,     /* our last bytes are out (close frame, response): until the client closes */
    ST_CLOSED       /* the transport is closing or closed */
};

struct ws_session;
struct upgrade;
struct auth_run;
struct conn;
struct wsd_drain;

/* One listening socket's handle in this process (server.c opens them;
 * conn_on_connection gets &u.stream). */
typedef struct server_listener {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } u;                         /* first: a uv_stream_t * is a server_listener * */
    int kind;                    /* WSD_LISTEN_WS, _HTTP (never TLS), _REDIRECT (listen.h) */
    int is_unix;
} server_listener;

/* What every connection of one event loop shares: made by server.c. */
typedef struct server {
    uv_loop_t *loop;
    wsd_cfgsnap *snap;           /* the configuration now (cfgsnap.h; reload.c swaps it) */
    const wsd_config *cfg;       /* ... its server level: &snap->cfg */
    wsd_tls_ctx *tls;            /* --ssl */
    wsd_trust *trust;            /* --trustproxy, compiled once (NULL: none) */
    wsd_clients *clients;        /* --maxperip/--ratelimit: this worker's table (NULL: none) */
    int worker, nworkers;        /* --workers: this process's index, and how many */
    long maxforks;               /* this worker's share of --maxforks (<= 0: none) */
    int shutting_down;
    int draining;                /* an upgrade handed the sockets on: not accepting (drain.c) */
    int inetd;                   /* --inetd: one connection on stdin, no listener (inetd.c) */
    int exit_status;
    struct wsd_hub *hubs;        /* --shared: one per endpoint (shared.c) */
    const char *hub_path;        /* --shared --workers: the hub process's socket */
    /* a complete request head (upgrade.c's wsd_upgrade) */
    void (*on_request)(struct conn *c, const char *rest, size_t nrest);
    /* the last connection has been freed (drain.c sets it while draining) */
    void (*on_empty)(struct server *srv);

    /* listeners (server.c) */
    server_listener *listeners;  /* this process's share of *lset */
    size_t nlisteners;
    struct wsd_listen_set *lset; /* where the sockets came from (listen.h) */
    uv_signal_t signals[7];      /* INT TERM QUIT HUP USR1 USR2, WSD_SIGDRAIN (server.c) */
    struct wsd_drain *drain;     /* an upgrade or a drain under way (drain.c), or NULL */

    /* connections (conn.c) */
    struct conn *conns;
    uint64_t last_id;
    /* the descriptor budget (conn.c, "accept"): */
    long nconns;                 /* client connections (each a socket) */
    long fd_limit;               /* RLIMIT_NOFILE (0: unlimited) */
    long fd_base;                /* descriptors open before the first client */
    uv_stream_t *paused[8];      /* listeners whose next connection waits */
    int npaused;
    uint64_t fds_logged;         /* loop time of the last "out of descriptors" line */
} server;

/* What a phase past the request head does with the connection's events
 * (session.c, httpserve.c). Every member may be NULL. */
typedef struct conn_handler {
    void (*read)(struct conn *c, char *p, size_t n);   /* the client's bytes */
    int (*eof)(struct conn *c, int status);    /* 1: handled, 0: abort the connection */
    void (*written)(struct conn *c);           /* a write completed */
    void (*client_gone)(struct conn *c);       /* the transport is closing */
    void (*shutdown)(struct conn *c);          /* a graceful shutdown began */
    void (*free)(struct conn *c);              /* the conn is being freed */
} conn_handler;

typedef struct conn {
    wsd_transport tp;
    server *srv;
    struct conn *prev, *next;    /* srv->conns */
    enum conn_state state;
    unsigned refs;               /* the transport, and whatever conn_ref'd */
    unsigned redirect : 1;       /* accepted on a --redirport listener */
    unsigned is_ws : 1;          /* got past the handshake: DISCONNECT is logged */
    unsigned keepalive : 1;      /* waiting for a kept-alive request: idle → closed */
    unsigned monitor : 1;        /* accepted on the --metrics listener (monitor.c) */
    unsigned upgrading : 1;      /* a WebSocket upgrade: an error answer is a refusal (metrics) */
    uint64_t t_accept;           /* accepted at (wsd_metrics_now_us): the handshake's time */

    /* identity, for the log and the program's environment */
    char id[24];
    char remote_ip[64];
    int remote_port;             /* -1 for a Unix socket peer */
    char *remote_host;           /* --reverselookup's answer, else NULL */
    char *assoc;                 /* "url:'…' id:'…' remote:'…' command:'…' origin:'…'" */

    wsd_http_parser *http;       /* the request head, until the handshake ends */
    struct upgrade *up;          /* upgrade.c: while a reverse lookup runs */
    const conn_handler *h;       /* the phase past the head, or NULL */
    struct ws_session *ws;       /* session.c */
    void *serve;                 /* httpserve.c (NULL if none) */

    /* The configuration of this request (cfgsnap.h): a reference to the
     * snapshot current when its head arrived (a WebSocket keeps it for its
     * life: a reload changes nothing of it), the endpoint (route) its path
     * chose, that endpoint's options, and the decoded clean path under the
     * route. Before the first head: the server's endpoint at accept. */
    wsd_cfgsnap *snap;
    const wsd_endpoint *ep;
    const wsd_config *cfg;
    char *subpath;               /* a route's (NULL for the server's endpoint) */

    /* access control (access.c, docs/security.md), per request */
    wsd_env_access access;       /* the user, and what a trusted proxy said */
    uint32_t client_slot;        /* --maxperip: the srv->clients entry counting us (0: none) */
    struct auth_run *auth;       /* a password check or --authcmd under way, else NULL */
} conn;

/* The scheme the client used: TLS to wsd, or what a trusted proxy says. */
static inline int conn_https(const conn *c)
{
    return c->access.proto ? c->access.proto == WSD_PROTO_HTTPS : wsd_tp_is_tls(&c->tp);
}

/* The listen callback of every listener (server.c registers it). */
void conn_on_connection(uv_stream_t *l, int status);
/* A graceful shutdown: WebSockets get close 1001, requests in progress a
 * bounded grace, idle connections are closed. */
void conn_shutdown_all(server *srv);
/* Draining (an upgrade handed the sockets on): connections already taken
 * by libuv but waiting for descriptors are accepted, idle kept-alive
 * connections are closed; the rest goes on (srv->draining ends keep-alive). */
void conn_drain_all(server *srv);
/* --inetd: fd (a connected socket) is the one connection. 0 or -1. */
int conn_adopt(server *srv, int fd, int is_unix);

/* A short HTTP error (or redirect) response, then a lingering close. */
void conn_respond(conn *c, int status, const char *body, int version_hdr);
/* Our last bytes (buf owned), then a lingering close. */
void conn_linger(conn *c, char *buf, size_t len);
/* Ends the connection now, saying why in the log (at `level`, category
 * "websocket" once upgraded, else "http"). Its program, if any, is ended. */
void conn_abort(conn *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Keeps the conn alive past its transport (a program, a lookup, a timer). */
void conn_ref(conn *c);
void conn_unref(conn *c);

/* Keep-alive: a response is complete; the next request, `rest` first. */
void conn_http_next(conn *c, const char *rest, size_t n);

/* The request's configuration: the current snapshot, and the endpoint of
 * its decoded, clean path (NULL: the server's own, as at accept). */
void conn_configure(conn *c, const char *path);

/* 0 when starting a program now would eat the descriptors kept for
 * handshakes: answer 503. */
int conn_fds_for_program(const server *srv);

#endif
