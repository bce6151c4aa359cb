/* transport.h — the client's byte stream: a TCP or Unix socket, with TLS
 * (--ssl) behind the same functions (the idea of redis's connection.h, at
 * wsd's size). Nothing outside transport.c knows whether a connection is
 * encrypted.
 *
 * Reading: plaintext arrives through ops->on_read while no hold is set. A
 * hold (WSD_HOLD_*) is a reason to stop reading — the program's stdin is
 * full, a reverse lookup runs, the plain-HTTP side waits, the client's own
 * queue is too long — and reading resumes when the last reason is released.
 * Input TLS decrypted but not yet delivered stays inside the TLS layer
 * (bounded by WSD_TLS_IN_MAX) and is delivered from the loop after the
 * release (defer.h), never inside the releasing call. While a hold other
 * than WSD_HOLD_LOOKUP is set, the kernel is asked every WSD_TP_POLL_MS
 * whether the client has gone (TCP_INFO), so a client cannot vanish
 * unnoticed behind a program that does not read its stdin.
 *
 * Writing: wsd_tp_send takes an owned buffer (freed when written, also when
 * the write is cancelled); wsd_tp_send_copy writes what the socket takes
 * at once and copies only the rest (plain sockets), or encrypts straight
 * from the caller's memory (TLS). wsd_tp_queued() is what waits for the
 * client: the owner's backpressure.
 *
 * Ending: wsd_tp_linger sends the last bytes, shuts the write side down
 * once they are out (after TLS close_notify) and reads on (delivering to
 * the owner) until the client closes or WSD_TP_LINGER_MS pass, so an RST
 * cannot destroy the last bytes; wsd_tp_close_after closes once they are
 * out (bounded by the same time); wsd_tp_close closes now. Every path
 * calls ops->on_close once; ops->on_closed follows when the handles are
 * closed.
 *
 * One timer per connection serves the owner's timeout (wsd_tp_timeout),
 * the linger and the liveness poll. */
#ifndef WSD_TRANSPORT_H
#define WSD_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "defer.h"
#include "proxyproto.h"
#include "tls.h"

#define WSD_TP_LINGER_MS 2000      /* waiting for the peer's close / FIN */
#define WSD_TP_POLL_MS 200         /* client liveness while reads are held */
#define WSD_TP_READ_SIZE (64 * 1024)  /* the most one on_read delivers */

enum {
    WSD_HOLD_STDIN = 1,          /* the program's stdin is full */
    WSD_HOLD_LOOKUP = 2,         /* --reverselookup runs */
    WSD_HOLD_SERVE = 4,          /* plain HTTP: a request body or pipelined requests wait */
    WSD_HOLD_OUTPUT = 8,         /* the client's own queue is over its limit */
    WSD_HOLD_AUTH = 16           /* a password check or an --authcmd runs (access.c) */
};

typedef struct wsd_transport wsd_transport;

/* A reference-counted buffer: the same bytes queued to many clients (shared
 * mode's fan-out) without a copy per client. */
typedef struct wsd_buf {
    unsigned refs;
    size_t len;
    uint8_t data[];
} wsd_buf;

/* A buffer holding a copy of p[0..n), one reference. */
wsd_buf *wsd_buf_new(const void *p, size_t n);
wsd_buf *wsd_buf_ref(wsd_buf *b);
void wsd_buf_unref(wsd_buf *b);

typedef struct {
    /* Plaintext from the client; p is valid during the call only. */
    void (*on_read)(wsd_transport *t, char *p, size_t n);
    /* The client closed its side (UV_EOF: FIN or TLS close_notify) or
     * failed (a libuv error; UV_ECONNRESET when the liveness poll found it
     * gone). Not called while lingering: the transport closes then. */
    void (*on_eof)(wsd_transport *t, int status);
    /* A write completed (wsd_tp_queued tells what still waits). */
    void (*on_written)(wsd_transport *t);
    /* The owner's timeout expired (wsd_tp_timeout). */
    void (*on_timeout)(wsd_transport *t);
    /* Closing has begun, from whatever started it: no more reads; writes
     * are dropped. Called once. */
    void (*on_close)(wsd_transport *t);
    /* Every handle is closed: the owner may wsd_tp_free and free. */
    void (*on_closed)(wsd_transport *t);
    /* --proxyprotocol: the PROXY header named the client; wsd_tp_peer now
     * gives its address. May be NULL. */
    void (*on_peer)(wsd_transport *t);
} wsd_transport_ops;

/* The client a PROXY header named (wsd_tp_peer gives it). */
typedef struct {
    char ip[64];
    int port;
} wsd_tp_proxied;

struct wsd_transport {
    union {                      /* the client: TCP, or a Unix socket (--unixsocket) */
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_stream_t stream;
        uv_handle_t handle;
    } sock;
    uv_timer_t timer;
    wsd_deferred pump;           /* TLS plaintext waiting after a release */
    const wsd_transport_ops *ops;
    void *data;                  /* the owner's */
    wsd_tls *tls;                /* --ssl, else NULL */
    wsd_proxy_parser *proxy;     /* --proxyprotocol: the header still being read, else NULL */
    wsd_tp_proxied *proxied;     /* the client it named, else NULL */
    uint64_t deadline;           /* loop time of the owner's timeout (0: none) */
    uint64_t linger_end;         /* loop time a linger / close_after ends */
    uint64_t last_read;          /* loop time of the last bytes from the client */
    unsigned hold;               /* WSD_HOLD_* */
    unsigned handles;            /* initialised, not yet closed */
    unsigned nwrites;            /* write requests in flight */
    unsigned is_unix : 1, reading : 1, lingering : 1, close_after : 1, shut : 1;
    unsigned peer_closed : 1, closing : 1, closed : 1;
};

/* Accepts a connection from listener l into t (uv_accept). tls_ctx: the
 * server's TLS context (NULL: plain). Returns 0 or a libuv error; either
 * way t must be closed with wsd_tp_close and freed after on_closed. Reading
 * starts at once. */
int wsd_tp_accept(wsd_transport *t, uv_loop_t *loop, uv_stream_t *l, wsd_tls_ctx *tls_ctx,
                  const wsd_transport_ops *ops, void *data);
void wsd_tp_free(wsd_transport *t);
/* --proxyprotocol (right after wsd_tp_accept): the connection must begin
 * with a PROXY v1/v2 header (proxyproto.h), read before anything else —
 * before TLS too. Once it is complete, ops->on_peer; a connection that
 * sends anything else (a truncated, oversized or lying header, or none)
 * is logged and closed. A slow header is the owner's timeout's to end. */
void wsd_tp_expect_proxy(wsd_transport *t);

/* Writes. buf is owned: freed when written (or dropped). */
void wsd_tp_send(wsd_transport *t, char *buf, size_t len);
/* p[0..n) stays the caller's: written now as far as the socket takes it,
 * the rest copied (encrypted first with TLS). */
void wsd_tp_send_copy(wsd_transport *t, const void *p, size_t n);
/* b->data[off..off+n): written now as far as the socket takes it; the rest
 * is queued holding a reference on b (no copy). TLS encrypts from b. */
void wsd_tp_send_buf(wsd_transport *t, wsd_buf *b, size_t off, size_t n);
/* Bytes waiting for the client (ciphertext with TLS). */
size_t wsd_tp_queued(const wsd_transport *t);

/* The last bytes (buf owned, may be NULL/0), then a lingering close. */
void wsd_tp_linger(wsd_transport *t, char *buf, size_t len);
/* The last bytes, then close (at most WSD_TP_LINGER_MS later). */
void wsd_tp_close_after(wsd_transport *t, char *buf, size_t len);
/* Close now (idempotent). */
void wsd_tp_close(wsd_transport *t);

/* Read holds. */
void wsd_tp_hold(wsd_transport *t, unsigned why);
void wsd_tp_release(wsd_transport *t, unsigned why);

/* The owner's timeout: on_timeout after ms (0: none). */
void wsd_tp_timeout(wsd_transport *t, uint64_t ms);

/* "https"/"http": the scheme the client used. */
int wsd_tp_is_tls(const wsd_transport *t);
/* The peer's address ("unix-socket", port -1 for a Unix socket peer); with
 * --proxyprotocol, the client the PROXY header named (a LOCAL or UNKNOWN
 * header: the socket's own peer). */
void wsd_tp_peer(const wsd_transport *t, char *ip, size_t cap, int *port);
/* The socket's fd (for sendfile), or -1 (TLS or not available). */
int wsd_tp_plain_fd(const wsd_transport *t);

#endif
