/* transport.c — the client's byte stream, plain or TLS (see transport.h).
 *
 * With TLS every accepted connection has a wsd_tls (memory BIOs, tls.c):
 * reads feed ciphertext in and pump plaintext out in 64 KiB chunks, one
 * on_read per chunk, checking the holds between chunks (the owner's state
 * may change between them: head, then frames). Every write is encrypted at
 * once and its ciphertext written, so the socket's write queue — the
 * owner's backpressure — counts ciphertext. Plain HTTP sent to a TLS port
 * gets Go's answer (WSD_TLS_PLAIN_HTTP_RESPONSE), unencrypted. */
#include "transport.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <sys/socket.h>

#include "log.h"
#include "util.h"

#define READ_SIZE WSD_TP_READ_SIZE

typedef struct {
    uv_write_t req;
    wsd_transport *t;
    char *buf;                   /* owned: freed when written */
    wsd_buf *ref;                /* or shared: one reference released */
} wreq;

/* Client reads land in one buffer for the whole process, and so does TLS
 * plaintext: on_read consumes the bytes (or copies what must wait) before
 * it returns. */
static char read_buf[READ_SIZE];
static char plain_buf[READ_SIZE];

static void schedule(wsd_transport *t);
static void pump(wsd_transport *t);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* ---------------------------------------------------------------- handles */

static void on_handle_closed(uv_handle_t *h)
{
    wsd_transport *t = h->data;

    assert(t->handles > 0);
    if (--t->handles == 0) {
        t->closed = 1;
        if (t->ops->on_closed)
            t->ops->on_closed(t);
    }
}

void wsd_tp_close(wsd_transport *t)
{
    if (t->closing)
        return;
    t->closing = 1;
    t->lingering = t->close_after = 0;
    t->reading = 0;
    uv_timer_stop(&t->timer);
    wsd_defer_cancel(&t->pump);
    uv_close(&t->sock.handle, on_handle_closed);
    uv_close((uv_handle_t *)&t->timer, on_handle_closed);
    if (t->ops->on_close)
        t->ops->on_close(t);
}

void wsd_tp_free(wsd_transport *t)
{
    assert(t->handles == 0 && !t->pump.queued);
    if (t->tls)
        wsd_tls_free(t->tls);
    t->tls = NULL;
    free(t->proxy);
    free(t->proxied);
    t->proxy = NULL;
    t->proxied = NULL;
}

/* ----------------------------------------------------------- PROXY header */

void wsd_tp_expect_proxy(wsd_transport *t)
{
    if (t->proxy || t->closing)
        return;
    t->proxy = xmalloc(sizeof *t->proxy);
    wsd_proxy_init(t->proxy);
}

/* Raw bytes while the PROXY header is read: how many belonged to it (the
 * rest is the client's), or -1 when the connection was closed. */
static long proxy_read(wsd_transport *t, const char *p, size_t n)
{
    size_t used = 0;
    int rc = wsd_proxy_feed(t->proxy, (const uint8_t *)p, n, &used);
    char ip[64];
    int port;

    if (rc == WSD_PROXY_MORE)
        return (long)n;
    if (rc == WSD_PROXY_ERROR) {
        wsd_tp_peer(t, ip, sizeof ip, &port);
        wsd_log(WSD_LOG_ACCESS, "server", "", "PROXY header from %s refused (%s): closed", ip,
                t->proxy->err);
        wsd_tp_close(t);
        return -1;
    }
    if (!t->proxy->info.local) {
        t->proxied = xcalloc(1, sizeof *t->proxied);
        snprintf(t->proxied->ip, sizeof t->proxied->ip, "%s", t->proxy->info.src);
        t->proxied->port = t->proxy->info.src_port;
    }
    free(t->proxy);
    t->proxy = NULL;
    if (t->ops->on_peer)
        t->ops->on_peer(t);
    return t->closing ? -1 : (long)used;
}

/* ---------------------------------------------------------------- reading */

static void alloc_read(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = read_buf;
    buf->len = sizeof read_buf;
}

/* Reads run while nothing holds them — and always while lingering: the
 * linger exists to read until the client's FIN. */
static int wants_read(const wsd_transport *t)
{
    return !t->closing && !t->peer_closed && (t->hold == 0 || t->lingering || t->close_after);
}

static void update_reading(wsd_transport *t)
{
    if (wants_read(t) && !t->reading) {
        t->reading = 1;
        uv_read_start(&t->sock.stream, alloc_read, on_read);
        if (t->tls)
            wsd_defer(&t->pump);   /* plaintext that waited inside the TLS layer */
    } else if (!wants_read(t) && t->reading) {
        t->reading = 0;
        uv_read_stop(&t->sock.stream);
    }
}

void wsd_tp_hold(wsd_transport *t, unsigned why)
{
    if (t->closing || (t->hold & why) == why)
        return;
    t->hold |= why;
    update_reading(t);
    schedule(t);
}

void wsd_tp_release(wsd_transport *t, unsigned why)
{
    if (t->closing || !(t->hold & why))
        return;
    t->hold &= ~why;
    update_reading(t);
    schedule(t);
}

static void on_pump(wsd_deferred *d)
{
    wsd_transport *t = (wsd_transport *)((char *)d - offsetof(wsd_transport, pump));
    pump(t);
}

/* The client closed or failed: while lingering that is the end we waited
 * for; otherwise the owner decides. */
static void peer_ended(wsd_transport *t, int status)
{
    t->reading = 0;                /* libuv stops reading at EOF */
    t->peer_closed = 1;
    if (t->lingering || t->close_after) {
        wsd_tp_close(t);
        return;
    }
    t->ops->on_eof(t, status);
}

static void raw_write(wsd_transport *t, char *buf, size_t len);

/* Ciphertext TLS produced (handshake, alerts, records) to the socket. */
static void tls_flush(wsd_transport *t)
{
    size_t olen = 0;
    char *out;

    if (t->closing)
        return;
    out = wsd_tls_out_take(t->tls, &olen);
    raw_write(t, out, olen);
}

/* Decrypts what the TLS layer holds and hands it on, chunk by chunk,
 * while nothing holds the reads. */
static void pump(wsd_transport *t)
{
    while (wants_read(t)) {
        size_t got = 0;
        int rc = wsd_tls_read(t->tls, plain_buf, sizeof plain_buf, &got);
        char why[256], ip[64];
        int port;

        if (rc == WSD_TLS_OK) {
            t->ops->on_read(t, plain_buf, got);
            continue;
        }
        if (rc == WSD_TLS_AGAIN)
            break;
        if (rc == WSD_TLS_EOF) {
            tls_flush(t);
            peer_ended(t, UV_EOF);
            return;
        }
        wsd_tp_peer(t, ip, sizeof ip, &port);
        wsd_log(WSD_LOG_DEBUG, "server", "", "TLS handshake error from %s:%d: %s", ip, port,
                wsd_tls_error(t->tls, why, sizeof why));
        t->close_after = 1;
        t->linger_end = uv_now(t->timer.loop) + WSD_TP_LINGER_MS;
        if (wsd_tls_plain_http(t->tls)) {
            /* plain HTTP to the TLS port: Go's answer, unencrypted */
            raw_write(t, xstrdup(WSD_TLS_PLAIN_HTTP_RESPONSE), strlen(WSD_TLS_PLAIN_HTTP_RESPONSE));
        } else {
            tls_flush(t);          /* the alert */
        }
        if (t->nwrites == 0)
            wsd_tp_close(t);
        schedule(t);
        return;
    }
    if (!t->closing)
        tls_flush(t);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    wsd_transport *t = s->data;
    char *p;
    size_t n;

    if (nread == 0)
        return;
    if (nread < 0) {
        peer_ended(t, (int)nread);
        return;
    }
    t->last_read = uv_now(t->timer.loop);
    p = buf->base;
    n = (size_t)nread;
    if (t->proxy) {
        long used = proxy_read(t, p, n);
        if (used < 0 || (size_t)used == n)
            return;
        p += used;
        n -= (size_t)used;
    }
    if (t->tls) {
        if (wsd_tls_feed(t->tls, p, n) != WSD_TLS_OK) {
            wsd_tp_close(t);
            return;
        }
        pump(t);
        return;
    }
    t->ops->on_read(t, p, n);
}

/* ---------------------------------------------------------------- writing */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    free(req);
}

static void on_written(uv_write_t *req, int status)
{
    wreq *w = (wreq *)req;
    wsd_transport *t = w->t;

    free(w->buf);
    if (w->ref)
        wsd_buf_unref(w->ref);
    free(w);
    assert(t->nwrites > 0);
    t->nwrites--;
    if (t->closing)
        return;
    if (status != 0) {
        wsd_log(WSD_LOG_DEBUG, "server", "", "write to client failed: %s", uv_strerror(status));
        wsd_tp_close(t);
        return;
    }
    if (t->close_after && t->nwrites == 0) {
        wsd_tp_close(t);           /* the last bytes are out */
        return;
    }
    if (t->ops->on_written)
        t->ops->on_written(t);
}

/* Queues buf[0..len) (owned) to the socket. */
static void raw_write(wsd_transport *t, char *buf, size_t len)
{
    wreq *w;
    uv_buf_t b;

    if (t->closing || len == 0) {
        free(buf);
        return;
    }
    w = xmalloc(sizeof *w);
    w->t = t;
    w->buf = buf;
    w->ref = NULL;
    b = uv_buf_init(buf, (unsigned)len);
    if (uv_write(&w->req, &t->sock.stream, &b, 1, on_written) != 0) {
        free(buf);
        free(w);
        wsd_tp_close(t);
        return;
    }
    t->nwrites++;
}

/* Encrypts p[0..n): 0, or -1 after closing (before the TLS handshake is
 * complete there is nothing to encrypt with: e.g. a 408 to a client that
 * never finished it). */
static int tls_encrypt(wsd_transport *t, const void *p, size_t n)
{
    if (!wsd_tls_handshake_done(t->tls) || (n > 0 && wsd_tls_write(t->tls, p, n) != WSD_TLS_OK)) {
        wsd_tp_close(t);
        return -1;
    }
    return 0;
}

void wsd_tp_send(wsd_transport *t, char *buf, size_t len)
{
    if (t->closing || len == 0) {
        free(buf);
        return;
    }
    if (t->tls) {
        int rc = tls_encrypt(t, buf, len);
        free(buf);
        if (rc == 0)
            tls_flush(t);
        return;
    }
    raw_write(t, buf, len);
}

void wsd_tp_send_copy(wsd_transport *t, const void *p, size_t n)
{
    const char *b = p;
    char *copy;

    if (t->closing || n == 0)
        return;
    if (t->tls) {
        if (tls_encrypt(t, p, n) == 0)
            tls_flush(t);
        return;
    }
    {
        uv_buf_t ub = uv_buf_init((char *)b, (unsigned)n);
        int w = uv_try_write(&t->sock.stream, &ub, 1);   /* EAGAIN while writes are queued */
        if (w == (int)n)
            return;
        if (w < 0 && w != UV_EAGAIN) {
            /* as a failed uv_write: the client is gone */
            wsd_log(WSD_LOG_DEBUG, "server", "", "write to client failed: %s", uv_strerror(w));
            wsd_tp_close(t);
            return;
        }
        if (w > 0) {
            b += w;
            n -= (size_t)w;
        }
    }
    copy = xmalloc(n);
    memcpy(copy, b, n);
    raw_write(t, copy, n);
}

/* ---------------------------------------------------------------- shared */

wsd_buf *wsd_buf_new(const void *p, size_t n)
{
    wsd_buf *b = xmalloc(sizeof *b + (n ? n : 1));
    b->refs = 1;
    b->len = n;
    if (n)
        memcpy(b->data, p, n);
    return b;
}

wsd_buf *wsd_buf_ref(wsd_buf *b)
{
    b->refs++;
    return b;
}

void wsd_buf_unref(wsd_buf *b)
{
    assert(b->refs > 0);
    if (--b->refs == 0)
        free(b);
}

void wsd_tp_send_buf(wsd_transport *t, wsd_buf *b, size_t off, size_t n)
{
    const uint8_t *p = b->data + off;
    wreq *w;
    uv_buf_t ub;

    assert(off + n <= b->len);
    if (t->closing || n == 0)
        return;
    if (t->tls) {
        wsd_tp_send_copy(t, p, n);     /* encrypted per client anyway */
        return;
    }
    {
        uv_buf_t tb = uv_buf_init((char *)(uintptr_t)p, (unsigned)n);
        int r = uv_try_write(&t->sock.stream, &tb, 1);
        if (r == (int)n)
            return;
        if (r < 0 && r != UV_EAGAIN) {
            wsd_log(WSD_LOG_DEBUG, "server", "", "write to client failed: %s", uv_strerror(r));
            wsd_tp_close(t);
            return;
        }
        if (r > 0) {
            p += r;
            n -= (size_t)r;
        }
    }
    w = xmalloc(sizeof *w);
    w->t = t;
    w->buf = NULL;
    w->ref = wsd_buf_ref(b);
    ub = uv_buf_init((char *)(uintptr_t)p, (unsigned)n);
    if (uv_write(&w->req, &t->sock.stream, &ub, 1, on_written) != 0) {
        wsd_buf_unref(b);
        free(w);
        wsd_tp_close(t);
        return;
    }
    t->nwrites++;
}

size_t wsd_tp_queued(const wsd_transport *t)
{
    return t->closing ? 0 : t->sock.stream.write_queue_size;
}

/* The last bytes, and (TLS) close_notify after them. 0, or -1 if closed. */
static int last_bytes(wsd_transport *t, char *buf, size_t len)
{
    if (t->tls) {
        int rc = tls_encrypt(t, buf, len);
        free(buf);
        if (rc != 0)
            return -1;
        wsd_tls_shutdown(t->tls);
        tls_flush(t);
        return t->closing ? -1 : 0;
    }
    raw_write(t, buf, len);
    return t->closing ? -1 : 0;
}

void wsd_tp_linger(wsd_transport *t, char *buf, size_t len)
{
    uv_shutdown_t *sr;

    if (t->closing || t->lingering || t->close_after) {
        free(buf);
        return;
    }
    if (last_bytes(t, buf, len) != 0)
        return;
    t->lingering = 1;
    t->linger_end = uv_now(t->timer.loop) + WSD_TP_LINGER_MS;
    if (!t->shut) {
        /* FIN once the queued writes are out (libuv orders it after them) */
        sr = xmalloc(sizeof *sr);
        t->shut = 1;
        if (uv_shutdown(sr, &t->sock.stream, on_shutdown) != 0)
            free(sr);
    }
    update_reading(t);
    schedule(t);
}

void wsd_tp_close_after(wsd_transport *t, char *buf, size_t len)
{
    if (t->closing || t->close_after) {
        free(buf);
        return;
    }
    t->lingering = 0;
    t->close_after = 1;
    t->linger_end = uv_now(t->timer.loop) + WSD_TP_LINGER_MS;
    if (last_bytes(t, buf, len) != 0)
        return;
    if (t->nwrites == 0) {
        wsd_tp_close(t);           /* nothing left to write */
        return;
    }
    update_reading(t);
    schedule(t);
}

/* ---------------------------------------------------------------- timer */

static int peer_gone(const wsd_transport *t, int *status)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    uv_os_fd_t fd;

    if (t->is_unix || uv_fileno(&t->sock.handle, &fd) != 0 ||
        getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
        ti.tcpi_state == TCP_ESTABLISHED)
        return 0;
    *status = ti.tcpi_state == TCP_CLOSE_WAIT ? UV_EOF : UV_ECONNRESET;
    return 1;
}

/* Held reads cannot see the client leave: the kernel is asked instead. */
static int polling(const wsd_transport *t)
{
    return (t->hold & ~(unsigned)WSD_HOLD_LOOKUP) && !t->lingering && !t->close_after &&
           !t->is_unix && !t->peer_closed;
}

static void on_timer(uv_timer_t *h)
{
    wsd_transport *t = h->data;
    uint64_t now = uv_now(h->loop);
    int status;

    if (t->lingering || t->close_after) {
        if (now >= t->linger_end) {
            wsd_tp_close(t);       /* the client never closed: stop waiting */
            return;
        }
    } else if (t->deadline && now >= t->deadline) {
        t->deadline = 0;
        t->ops->on_timeout(t);
    } else if (polling(t) && peer_gone(t, &status)) {
        peer_ended(t, status);
    }
    schedule(t);
}

static void schedule(wsd_transport *t)
{
    uint64_t now, at = 0;

    if (t->closing)
        return;
    now = uv_now(t->timer.loop);
    if (t->lingering || t->close_after) {
        at = t->linger_end;
    } else {
        at = t->deadline;
        if (polling(t) && (!at || now + WSD_TP_POLL_MS < at))
            at = now + WSD_TP_POLL_MS;
    }
    if (at)
        uv_timer_start(&t->timer, on_timer, at > now ? at - now : 0, 0);
    else
        uv_timer_stop(&t->timer);
}

void wsd_tp_timeout(wsd_transport *t, uint64_t ms)
{
    t->deadline = ms ? uv_now(t->timer.loop) + ms : 0;
    schedule(t);
}

/* ---------------------------------------------------------------- accept */

int wsd_tp_accept(wsd_transport *t, uv_loop_t *loop, uv_stream_t *l, wsd_tls_ctx *tls_ctx,
                  const wsd_transport_ops *ops, void *data)
{
    int rc;

    memset(t, 0, sizeof *t);
    t->ops = ops;
    t->data = data;
    t->is_unix = l->type == UV_NAMED_PIPE;
    if (t->is_unix)
        uv_pipe_init(loop, &t->sock.pipe, 0);
    else
        uv_tcp_init(loop, &t->sock.tcp);
    uv_timer_init(loop, &t->timer);
    t->sock.handle.data = t->timer.data = t;
    t->handles = 2;
    t->pump.cb = on_pump;
    rc = uv_accept(l, &t->sock.stream);
    if (rc != 0)
        return rc;
    if (!t->is_unix)
        uv_tcp_nodelay(&t->sock.tcp, 1);
    if (tls_ctx)
        t->tls = wsd_tls_new(tls_ctx);
    t->last_read = uv_now(loop);
    update_reading(t);
    return 0;
}

/* ---------------------------------------------------------------- queries */

int wsd_tp_is_tls(const wsd_transport *t)
{
    return t->tls != NULL;
}

int wsd_tp_plain_fd(const wsd_transport *t)
{
    uv_os_fd_t fd;

    if (t->tls || t->closing || uv_fileno(&t->sock.handle, &fd) != 0)
        return -1;
    return fd;
}

void wsd_tp_peer(const wsd_transport *t, char *ip, size_t cap, int *port)
{
    struct sockaddr_storage ss;
    int sslen = sizeof ss;

    *port = -1;
    if (t->proxied) {
        snprintf(ip, cap, "%s", t->proxied->ip);
        *port = t->proxied->port;
        return;
    }
    if (t->is_unix) {
        snprintf(ip, cap, "unix-socket");   /* as websocketd main */
        return;
    }
    snprintf(ip, cap, "%s", "");
    if (uv_tcp_getpeername(&t->sock.tcp, (struct sockaddr *)&ss, &sslen) != 0)
        return;
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        uv_ip6_name(a, ip, cap);
        *port = ntohs(a->sin6_port);
        if (strncmp(ip, "::ffff:", 7) == 0 && strchr(ip, '.'))
            memmove(ip, ip + 7, strlen(ip + 7) + 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        uv_ip4_name(a, ip, cap);
        *port = ntohs(a->sin_port);
    }
}
