/* conn.h — the connection and server structs, shared by the libuv glue
 * (server.c: listeners, WebSocket relay, children) and httpserve.c (plain
 * HTTP: static files, CGI, the console). Internal: nothing else includes it.
 *
 * Rules for code outside server.c:
 *  - write to the client only with wsd__send() (owned buffers, freed when
 *    written) and finish with wsd__respond()/wsd__linger()/wsd__close();
 *  - every uv handle the module initialises on behalf of a conn is counted
 *    with wsd__handle_opened() and closed with wsd__handle_close(), so the conn
 *    is not freed before its handles (see conn_maybe_free in server.c);
 *  - c->serve is the module's state; server.c calls wsd_serve_free(c) when
 *    the connection is freed. */
#ifndef WSD_CONN_H
#define WSD_CONN_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "config.h"
#include "http.h"
#include "origin.h"
#include "record.h"
#include "outframe.h"
#include "pmd.h"
#include "route.h"
#include "process.h"
#include "program.h"
#include "tls.h"
#include "ws.h"

#define READ_SIZE (64 * 1024)          /* one read from the client or the child */
#define OUT_HIGH (256 * 1024)          /* frames queued to the client: stop reading stdout */
#define OUT_LOW (64 * 1024)
#define HANDSHAKE_TIMEOUT_MS 10000     /* whole request head (slowloris) */
#define LINGER_MS 2000                 /* waiting for the peer's close / FIN */
#define HANGUP_POLL_MS 200             /* client liveness while its reads are paused */
#define RESPONSE_LIMIT (64 * 1024)
#define LOSSLESS_MAX (64u * 1024 * 1024)  /* --lossless reassembly when --maxframesize=0 */
#define TAG_LINE (64 * 1024)            /* --passstderr: bytes per tagged message */

enum conn_state {
    ST_HTTP,        /* reading the request head */
    ST_SERVE,       /* plain HTTP: a response is being produced (httpserve.c) */
    ST_OPEN,        /* WebSocket open */
    ST_CLOSING,     /* our close frame / error response is out; draining until EOF */
    ST_CLOSED       /* TCP handle closed or closing */
};

struct server;

typedef struct conn {
    union {                      /* the client: TCP, or a Unix socket (--unixsocket) */
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_stream_t stream;
        uv_handle_t handle;
    } sock;
    int is_unix;
    wsd_tls *tls;                /* --ssl: the TLS layer between socket and HTTP/WebSocket */
    int redirect;                /* accepted on a --redirport listener */
    struct server *srv;
    struct conn *prev, *next;
    enum conn_state state;
    unsigned handles;            /* initialised handles not yet closed */
    int is_ws;                   /* got past the handshake (DISCONNECT is logged) */
    int tcp_closing;
    int tcp_paused;
    int serve_hold;              /* httpserve.c paused the client's input (wsd__read) */              /* client reads stopped: stdin queue full */
    int shut;                    /* uv_shutdown sent */
    int close_sent, close_received;

    wsd_http_parser *http;
    uv_timer_t timer;            /* handshake timeout, linger, hang-up poll */

    /* identity, for the log and the child's environment */
    char id[24];
    char remote_ip[64];
    int remote_port;             /* -1 for a Unix socket peer */
    char *remote_host;           /* --reverselookup's answer, else NULL */
    char *assoc;                 /* "url:'…' id:'…' remote:'…' command:'…' origin:'…'" */

    /* WebSocket */
    wsd_ws_decoder dec;
    wsd_outframer of;
    wsd_record_decoder rec;      /* --lossless: the child's stdout records */

    /* permessage-deflate (pmd.c), when negotiated */
    int pmd_on;
    wsd_pmd pmd;
    char *pmd_ext;               /* the 101's Sec-WebSocket-Extensions, until it is sent */
    uint32_t zutf8;              /* UTF-8 state of the text message being inflated */
    int zfirst;                  /* no plaintext of this message delivered yet */

    /* input held back while the child's stdin is full: the rest of a read
     * (not yet decoded) and the rest of a compressed chunk (decoded) */
    uint8_t *rest;
    size_t nrest;
    uint8_t *zin;
    size_t zinlen;
    int zfin, zop;

    /* the program (program.c) */
    wsd_program *prog;           /* NULL before the spawn and once it is done */
    int spawned;                 /* a program was started for this connection */
    int out_paused;              /* its stdout is not read: the client's queue is full */
    int out_eof, err_eof;        /* its stdout / stderr reached EOF */

    /* --passstderr: the current line of stdout [0] and stderr [1] */
    char *tagline[2];
    size_t taglen[2];

    uv_timer_t *ptimer;          /* --pingms (allocated only then) */
    int ptimer_on;
    uint64_t last_seen;          /* loop time of the last bytes from the client */

    void *serve;                 /* plain-HTTP state, owned by httpserve.c (NULL if none) */
    wsd_route *route;            /* --dir: the script of this connection, else NULL */

    uv_getnameinfo_t *ni;        /* --reverselookup, only while it runs (1.3 KiB) */
    int lookup_pending;
    char accept[29];             /* Sec-WebSocket-Accept, kept across the lookup */
    const char *subprotocol;     /* negotiated; points into the config */
    int msg_streaming;           /* --lossless: an unfragmented message is passing */
    char *msg;                   /* --lossless: a fragmented message being reassembled */
    size_t msglen, msgcap;
    char *held;                  /* bytes behind the head, held during the lookup */
    size_t nheld;
} conn;

typedef struct server {
    uv_loop_t *loop;
    const wsd_config *cfg;
    uv_tcp_t *listeners;
    size_t nlisteners;
    uv_signal_t sigint, sigterm;
    wsd_origin_policy *origin;   /* --origin/--sameorigin, compiled once */
    wsd_tls_ctx *tls;            /* --ssl */
    wsd_pmd_config pmdcfg;       /* permessage-deflate knobs */
    int *redirect;               /* per listener: a --redirport listener */
    uv_pipe_t unixl;             /* --unixsocket listener */
    int have_unixl;
    conn *conns;
    int shutting_down;
    uint64_t last_id;
    int exit_status;
    int worker, nworkers;        /* --workers: this process's index, and how many */
    long maxforks;               /* this worker's share of --maxforks (<= 0: none) */
    /* Descriptor budget (accept pausing, server.c "accept"): */
    long nconns;                 /* client connections (each a socket) */
    long fd_limit;               /* RLIMIT_NOFILE (0: unlimited) */
    long fd_base;                /* descriptors open before the first client */
    uv_stream_t *paused[8];      /* listeners whose next connection waits */
    int npaused;
    uint64_t fds_logged;         /* loop time of the last "out of descriptors" line */
} server;

typedef struct {
    uv_write_t req;
    conn *c;
    char *buf;
    int after;                   /* what to do when written: AFTER_* */
} wreq;

enum { AFTER_NOTHING, AFTER_LINGER, AFTER_CLOSE };

/* server.c, for httpserve.c */
void wsd__send(conn *c, char *buf, size_t len, int after);    /* buf owned, freed when written */
void wsd__respond(conn *c, int status, const char *body, int version_hdr);
void wsd__linger(conn *c, char *buf, size_t len);  /* last bytes, then FIN, then close */
void wsd__close(conn *c);                          /* close the client now */
void wsd__handle_opened(conn *c);                  /* a handle of c's was initialised */
void wsd__handle_close(conn *c, uv_handle_t *h);   /* close it (idempotent) */
void wsd__alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf); /* 64 KiB, caller frees */
void wsd__maybe_free(conn *c);
int wsd__fds_for_program(const server *srv);         /* 0: answer 503, descriptors short */
/* The body of that 503, and of one for a spawn failing with wsd_spawn_busy. */
#define WSD_BODY_NO_RESOURCES "503 Service Unavailable: out of resources to start the program\n"
uint64_t wsd__write_queue(conn *c);                /* bytes waiting to reach the client */
void wsd__http_next(conn *c, const char *rest, size_t n); /* keep-alive: next request, `rest` first */
void wsd__read(conn *c, int on);                   /* start/stop reading the client */

/* httpserve.c, for server.c */
/* A complete plain-HTTP request head arrived (not a WebSocket upgrade, or a
 * server without COMMAND/--dir). `rest` are the bytes after the head (a body
 * or a pipelined request). Returns 1 if it took the request (c->state is
 * then ST_SERVE or closing), 0 if it serves nothing for it (server.c then
 * answers 404). */
int wsd_serve_request(conn *c, const wsd_request *r, const char *rest, size_t nrest);
/* Client bytes / EOF while c->state == ST_SERVE (a request body). */
void wsd_serve_data(conn *c, const char *p, size_t n);
void wsd_serve_eof(conn *c);
/* The client's write queue dropped below OUT_LOW (send more). */
void wsd_serve_drain(conn *c);
/* The connection is being freed: release c->serve. */
void wsd_serve_free(conn *c);
/* Start-up lines: host NULL → "Serving static content from" / "Serving CGI
 * scripts from" (once); else the "Developer console enabled" / "Serving CGI
 * or static files" URL for one address (after its "Starting" line). */
void wsd_serve_startup_log(const wsd_config *cfg, const char *host, int port);

#endif
