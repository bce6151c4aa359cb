/* server.c — listeners, connections and their child processes (libuv).
 *
 * Ownership in one paragraph: a struct conn is allocated at accept and owns
 * every handle it initialises (tcp, timer, kill timer, process, three pipes),
 * the HTTP parser until the handshake ends, the stdin queue and the stderr
 * line buffer. Each handle's close callback drops c->handles; the conn is
 * freed by conn_maybe_free() once the TCP side is closed, the process side is
 * done (child reaped, pipes at EOF, process group empty) and no handle is
 * left. Write requests own their buffer and free it in their callback, even
 * when cancelled.
 *
 * Memory bounds per connection (see docs/design.md): HTTP head ≤ 16 KiB
 * (freed after the handshake); one TCP read buffer (64 KiB, only during a
 * read callback); stdin queue ≤ IN_HIGH + one read; frames waiting for the
 * client ≤ OUT_HIGH + one read's frames; stderr line ≤ ERR_LINE. When a bound
 * is reached the other side is paused (uv_read_stop), never dropped. */
#include "server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "conn.h"
#include "env.h"
#include "handshake.h"
#include "http.h"
#include "log.h"
#include "origin.h"
#include "outframe.h"
#include "route.h"
#include "tls.h"
#include "utf8.h"
#include "util.h"
#include "ws.h"



static void conn_close_tcp(conn *c);
static void tcp_send_full(conn *c, char *buf, size_t off, size_t len, int after);
static void conn_maybe_free(conn *c);
static void proc_terminate(conn *c);
static void ws_close(conn *c, uint16_t code, const char *reason);
static void send_data_frames(conn *c, char *f, size_t flen);
static void send_frames_from(conn *c, const uint8_t *p, size_t n);
static char *exact_copy(const uint8_t *p, size_t n);
static void on_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void resume_input(conn *c);
static void resume_accepting(server *srv);
static void tls_pump(conn *c);

/* ---------------------------------------------------------------- helpers */

static void on_handle_closed(uv_handle_t *h)
{
    conn *c = h->data;
    c->handles--;
    conn_maybe_free(c);
}

static void close_handle(conn *c, uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        h->data = c;
        uv_close(h, on_handle_closed);
    }
}

static void alloc_read(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = xmalloc(READ_SIZE);
    buf->len = READ_SIZE;
}

/* The child's stdout and the client socket are each read into one buffer
 * for the whole loop: their read callbacks consume the bytes (frames out,
 * or copies of what must wait) before they return, and keep no pointer. */
static char tcp_read_buf[READ_SIZE];

static void alloc_tcp_read(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = tcp_read_buf;
    buf->len = sizeof tcp_read_buf;
}


static const char *sig_name(int sig)
{
    const char *n = sigabbrev_np(sig);
    return n ? n : "?";
}

/* ------------------------------------------------------------- TCP writes */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    free(req);
}

static void on_tcp_written(uv_write_t *req, int status)
{
    wreq *w = (wreq *)req;
    conn *c = w->c;

    free(w->buf);
    if (status == 0 && !c->tcp_closing) {
        if (w->after == AFTER_CLOSE) {
            conn_close_tcp(c);
        } else if (w->after == AFTER_LINGER && !c->shut) {
            uv_shutdown_t *sr = xmalloc(sizeof *sr);
            c->shut = 1;
            if (uv_shutdown(sr, &c->sock.stream, on_shutdown) != 0)
                free(sr);
        }
    } else if (status != 0 && status != UV_ECANCELED && !c->tcp_closing) {
        wsd_log(WSD_LOG_DEBUG, "websocket", c->assoc, "write to client failed: %s",
                uv_strerror(status));
        proc_terminate(c);
        conn_close_tcp(c);
    }
    free(w);

    if (c->state == ST_SERVE && !c->tcp_closing && c->sock.stream.write_queue_size < OUT_LOW)
        wsd_serve_drain(c);
    if (c->out_paused && !c->tcp_closing && c->sock.stream.write_queue_size < OUT_LOW &&
        c->prog) {
        c->out_paused = 0;
        wsd_program_read(c->prog, WSD_PROGRAM_STDOUT, 1);
    }
    conn_maybe_free(c);
}

/* Queues buf[0..len) (owned: freed when written) to the client. */
static void tcp_send(conn *c, char *buf, size_t len, int after)
{
    tcp_send_full(c, buf, 0, len, after);
}

/* Queues buf[off..off+len) to the client; buf (owned) is freed when written. */
static void raw_write(conn *c, char *buf, size_t off, size_t len, int after);

static void tcp_send_full(conn *c, char *buf, size_t off, size_t len, int after)
{
    if (c->tls && !c->tcp_closing) {
        /* TLS: encrypt into the record layer, write the ciphertext */
        size_t olen = 0;
        char *out;
        if (!wsd_tls_handshake_done(c->tls)) {
            free(buf);         /* e.g. 408 before the TLS handshake: just close */
            conn_close_tcp(c);
            return;
        }
        if (len > 0 && wsd_tls_write(c->tls, buf + off, len) != WSD_TLS_OK) {
            free(buf);
            conn_close_tcp(c);
            return;
        }
        free(buf);
        if (after != AFTER_NOTHING)
            wsd_tls_shutdown(c->tls);  /* close_notify before our FIN */
        out = wsd_tls_out_take(c->tls, &olen);
        raw_write(c, out, 0, olen, after);
        return;
    }
    raw_write(c, buf, off, len, after);
}

static void raw_write(conn *c, char *buf, size_t off, size_t len, int after)
{
    wreq *w;
    uv_buf_t b;

    if (c->tcp_closing || len == 0) {
        free(buf);
        if (after == AFTER_CLOSE && len == 0 && !c->tcp_closing)
            conn_close_tcp(c);
        return;
    }
    w = xmalloc(sizeof *w);
    w->c = c;
    w->buf = buf;
    w->after = after;
    b = uv_buf_init(buf + off, (unsigned)len);
    if (uv_write(&w->req, &c->sock.stream, &b, 1, on_tcp_written) != 0) {
        free(buf);
        free(w);
        proc_terminate(c);
        conn_close_tcp(c);
    }
}

static void on_timer(uv_timer_t *t);

static void timer_start(conn *c, uint64_t ms)
{
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* Starts the end of a connection after our last bytes: shut down the write
 * side once they are out, then read (and discard) until the peer closes, at
 * most LINGER_MS. Avoids an RST that would destroy our final frame. */
static void tcp_linger(conn *c, char *buf, size_t len)
{
    c->state = ST_CLOSING;
    tcp_send(c, buf, len, AFTER_LINGER);
    if (!c->tcp_closing)
        timer_start(c, LINGER_MS);
}

static void http_respond(conn *c, int status, const char *body, int version_hdr)
{
    const wsd_config *cfg = c->srv->cfg;
    wsd_str out;

    wsd_str_init(&out, RESPONSE_LIMIT);
    if (wsd_response_simple(&out, status, body, version_hdr, &cfg->headers,
                            &cfg->headers_http) != 0) {
        wsd_str_free(&out);
        conn_close_tcp(c);
        return;
    }
    tcp_linger(c, out.s, out.len);
}

/* Data frames (complete, from outframe/record/--passstderr) to the client,
 * compressed per message when permessage-deflate was agreed. Takes f. */
static void send_data_frames(conn *c, char *f, size_t flen)
{
    if (c->pmd_on && flen > 0) {
        size_t cap = wsd_pmd_frames_bound((const uint8_t *)f, flen), zlen = 0;
        char *z = xmalloc(cap);
        int rc = wsd_pmd_encode_frames(&c->pmd, (const uint8_t *)f, flen, (uint8_t *)z, cap, &zlen);
        free(f);
        if (rc != WSD_PMD_OK) {
            free(z);
            wsd_log(WSD_LOG_ERROR, "websocket", c->assoc, "Compression failed");
            conn_close_tcp(c);
            return;
        }
        tcp_send(c, z, zlen, AFTER_NOTHING);
        return;
    }
    tcp_send(c, f, flen, AFTER_NOTHING);
}

/* Data frames from memory wsd keeps (the scratch buffer): written at once
 * when the socket takes them all, as most writes are; copied only for what
 * it does not take, or when they must be compressed or encrypted first. */
static void send_frames_from(conn *c, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    if (!c->pmd_on && !c->tls && !c->tcp_closing) {
        uv_buf_t b = uv_buf_init((char *)(uintptr_t)p, (unsigned)n);
        int w = uv_try_write(&c->sock.stream, &b, 1);   /* EAGAIN while writes are queued */
        if (w == (int)n)
            return;
        if (w < 0 && w != UV_EAGAIN) {
            /* as a failed uv_write (on_tcp_written): the client is gone */
            wsd_log(WSD_LOG_DEBUG, "websocket", c->assoc, "write to client failed: %s",
                    uv_strerror(w));
            proc_terminate(c);
            conn_close_tcp(c);
            return;
        }
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        }
        raw_write(c, exact_copy(p, n), 0, n, AFTER_NOTHING);
        return;
    }
    send_data_frames(c, exact_copy(p, n), n);
}

/* ------------------------------------------------ for httpserve.c (conn.h) */

void wsd__send(conn *c, char *buf, size_t len, int after)
{
    tcp_send(c, buf, len, after);
}

void wsd__respond(conn *c, int status, const char *body, int version_hdr)
{
    http_respond(c, status, body, version_hdr);
}

void wsd__linger(conn *c, char *buf, size_t len)
{
    tcp_linger(c, buf, len);
}

void wsd__close(conn *c)
{
    conn_close_tcp(c);
}

void wsd__handle_opened(conn *c)
{
    c->handles++;
}

void wsd__handle_close(conn *c, uv_handle_t *h)
{
    close_handle(c, h);
}

void wsd__alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    alloc_read(h, suggested, buf);
}

void wsd__maybe_free(conn *c)
{
    conn_maybe_free(c);
}

uint64_t wsd__write_queue(conn *c)
{
    return c->tcp_closing ? 0 : c->sock.stream.write_queue_size;
}

/* ------------------------------------------------------- connection close */

static void conn_close_tcp(conn *c)
{
    if (c->tcp_closing)
        return;
    c->tcp_closing = 1;
    c->state = ST_CLOSED;
    uv_timer_stop(&c->timer);
    close_handle(c, &c->sock.handle);
    close_handle(c, (uv_handle_t *)&c->timer);
    if (c->ptimer_on) {
        c->ptimer_on = 0;
        close_handle(c, (uv_handle_t *)c->ptimer);
    }
    if (c->http) {
        wsd_http_parser_free(c->http);
        c->http = NULL;
    }
    if (c->prog) {
        /* nobody to deliver to: the program ends, its output is drained */
        wsd_program_end(c->prog);
        wsd_program_detach(c->prog);
    }
}

static void conn_maybe_free(conn *c)
{
    server *srv = c->srv;

    if (!c->tcp_closing || c->prog || c->handles > 0 ||
        c->lookup_pending)
        return;
    if (c->is_ws)
        wsd_log(WSD_LOG_ACCESS, "session", c->assoc, "DISCONNECT");
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->serve)
        wsd_serve_free(c);
    free(c->assoc);
    free(c->tagline[0]);
    free(c->tagline[1]);
    free(c->remote_host);
    free(c->held);
    free(c->msg);
    free(c->rest);
    free(c->zin);
    free(c->pmd_ext);
    wsd_pmd_free(&c->pmd);
    if (c->tls)
        wsd_tls_free(c->tls);
    if (c->route) {
        wsd_route_free(c->route);
        free(c->route);
    }
    free(c->ptimer);
    free(c);
    srv->nconns--;
    resume_accepting(srv);
    if (srv->shutting_down && !srv->conns) {
        uv_close((uv_handle_t *)&srv->sigint, NULL);
        uv_close((uv_handle_t *)&srv->sigterm, NULL);
    }
}

/* Sends a close frame (once) and lingers for the client's reply. */
static void ws_close(conn *c, uint16_t code, const char *reason)
{
    char *f;
    size_t n;

    if (c->close_sent || c->tcp_closing)
        return;
    c->close_sent = 1;
    if (c->is_ws && c->state == ST_OPEN) {
        /* finish a line the child left open: its bytes are delivered and
         * the close frame does not cut a message */
        char *t = xmalloc(wsd_outframer_bound(0));
        size_t tn = c->srv->cfg->lossless || c->srv->cfg->passstderr
                    ? 0 : wsd_outframer_encode(&c->of, NULL, 0, 1, (uint8_t *)t);
        send_data_frames(c, t, tn);
    }
    f = xmalloc(2 + 125);
    n = wsd_ws_close_frame((uint8_t *)f, code, reason);
    if (c->close_received) {
        /* our echo completes the handshake: the server closes TCP first */
        c->state = ST_CLOSING;
        tcp_send(c, f, n, AFTER_CLOSE);
    } else {
        tcp_linger(c, f, n);
    }
}

/* Sends the close frame that reports how the child ended, once its output is
 * all out (called when both the exit status and stdout EOF are known). */
static void ws_close_after_child(conn *c, const wsd_program *p)
{
    char reason[96];

    if (c->state != ST_OPEN)
        return;
    if (p->term_signal) {
        snprintf(reason, sizeof reason, "killed by signal %d (SIG%s)", p->term_signal,
                 sig_name(p->term_signal));
        ws_close(c, WSD_WS_CLOSE_INTERNAL, reason);
    } else if (p->exit_status != 0) {
        snprintf(reason, sizeof reason, "exited with status %lld", (long long)p->exit_status);
        ws_close(c, WSD_WS_CLOSE_INTERNAL, reason);
    } else {
        ws_close(c, WSD_WS_CLOSE_NORMAL, "");
    }
}

/* ------------------------------------------------------------- the child */

/* Frames are built in one process-wide scratch buffer sized for the worst
 * case (3× the input: every byte U+FFFD) and copied out at their real size:
 * allocating the worst case per read cost ~500 brk calls and ~9500 page
 * faults a second at full output speed (docs/performance.md). */
static uint8_t *scratch(size_t need)
{
    static uint8_t *buf;
    static size_t cap;
    if (need > cap) {
        free(buf);
        buf = xmalloc(need);
        cap = need;
    }
    return buf;
}

static char *exact_copy(const uint8_t *p, size_t n)
{
    char *f = xmalloc(n ? n : 1);
    if (n)
        memcpy(f, p, n);
    return f;
}

/* Everything the child will ever send has been read: stdout at EOF, and
 * stderr too when it goes to the client (--passstderr). */
static int output_done(conn *c)
{
    return c->out_eof && (!c->srv->cfg->passstderr || c->err_eof);
}

/* --passstderr (websocketd main): every line of stdout and stderr becomes a
 * text message {"stream":"stdout"|"stderr","data":"<line>"}; invalid UTF-8
 * is replaced with U+FFFD. A line longer than TAG_LINE goes out in pieces. */
static void tagged_emit(conn *c, int idx, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t *clean = xmalloc(3 * n + 1);
    size_t cn, i, plen, h;
    char *f, *j, *o;

    if (n > 0 && p[n - 1] == '\r')
        n--;  /* CRLF line ending */
    cn = wsd_utf8_sanitize((const uint8_t *)p, n, clean);
    f = xmalloc(WSD_WS_MAX_HEADER + 40 + 6 * cn);
    j = f + WSD_WS_MAX_HEADER;
    o = j + sprintf(j, "{\"stream\":\"%s\",\"data\":\"", idx ? "stderr" : "stdout");
    for (i = 0; i < cn; i++) {
        uint8_t b = clean[i];
        if (b == '"' || b == '\\') {
            *o++ = '\\';
            *o++ = (char)b;
        } else if (b < 0x20 || b == 0x7f) {
            *o++ = '\\';
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[b >> 4];
            *o++ = hex[b & 15];
        } else {
            *o++ = (char)b;
        }
    }
    *o++ = '"';
    *o++ = '}';
    free(clean);
    /* the header goes right before the payload */
    plen = (size_t)(o - j);
    h = wsd_ws_header((uint8_t *)j - WSD_WS_MAX_HEADER, WSD_WS_TEXT, 1, 0, plen);
    memmove(f + WSD_WS_MAX_HEADER - h, f, h);       /* header right before the payload */
    memmove(f, f + WSD_WS_MAX_HEADER - h, h + plen); /* the frame at the start */
    send_data_frames(c, f, h + plen);
}

static void tagged_feed(conn *c, int idx, const char *p, size_t n, int eof)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (!c->tagline[idx])
            c->tagline[idx] = xmalloc(TAG_LINE);
        while (take > 0) {
            size_t room = TAG_LINE - c->taglen[idx];
            size_t k = take < room ? take : room;
            memcpy(c->tagline[idx] + c->taglen[idx], p, k);
            c->taglen[idx] += k;
            p += k;
            n -= k;
            take -= k;
            if (c->taglen[idx] == TAG_LINE) {
                tagged_emit(c, idx, c->tagline[idx], c->taglen[idx]);
                c->taglen[idx] = 0;
            }
        }
        if (nl) {
            tagged_emit(c, idx, c->tagline[idx], c->taglen[idx]);
            c->taglen[idx] = 0;
            p++;
            n--;
        }
    }
    if (eof && c->taglen[idx] > 0) {
        tagged_emit(c, idx, c->tagline[idx], c->taglen[idx]);  /* final line without \n */
        c->taglen[idx] = 0;
    }
    if (c->taglen[idx] == 0) {
        free(c->tagline[idx]);
        c->tagline[idx] = NULL;
    }
}

/* Ends the child (program.c: stdin closed, then the signals). Held input
 * may still hold control frames: it is decoded on (its data dropped). */
static void proc_terminate(conn *c)
{
    if (!c->prog)
        return;
    wsd_program_end(c->prog);
    resume_input(c);
}

/* Stops reading the child's stdout while the client's queue is full. */
static void out_pause_if_full(conn *c)
{
    if (c->prog && !c->out_paused && !c->tcp_closing &&
        c->sock.stream.write_queue_size > OUT_HIGH) {
        c->out_paused = 1;
        wsd_program_read(c->prog, WSD_PROGRAM_STDOUT, 0);
    }
}

static void on_prog_stdout(wsd_program *p, const char *buf, size_t n, int eof)
{
    conn *c = p->data;

    if (c->state == ST_OPEN && c->srv->cfg->passstderr) {
        tagged_feed(c, 0, buf, n, eof);
    } else if (c->state == ST_OPEN && c->srv->cfg->lossless) {
        const char *err = NULL;
        size_t flen = 0;
        uint8_t *sc = scratch(wsd_record_bound(n));
        long rc = wsd_record_encode(&c->rec, (const uint8_t *)buf, n, eof, sc, &flen, &err);
        send_frames_from(c, sc, flen);   /* all valid before an error */
        if (rc < 0) {
            wsd_log(WSD_LOG_ERROR, "process", c->assoc, "Malformed record from program: %s",
                    err ? err : "?");
            ws_close(c, WSD_WS_CLOSE_INTERNAL, "malformed record from program");
            proc_terminate(c);
            return;
        }
    } else if (c->state == ST_OPEN) {
        uint8_t *sc = scratch(wsd_outframer_bound(n));
        size_t flen = wsd_outframer_encode(&c->of, (const uint8_t *)buf, n, eof, sc);
        send_frames_from(c, sc, flen);
    }
    if (!eof) {
        out_pause_if_full(c);
        return;
    }
    c->out_eof = 1;
    if (p->reaped && output_done(c))
        ws_close_after_child(c, p);
}

static void on_prog_stderr(wsd_program *p, const char *buf, size_t n, int eof)
{
    conn *c = p->data;

    if (c->state == ST_OPEN)
        tagged_feed(c, 1, buf, n, eof);   /* --passstderr */
    if (eof) {
        c->err_eof = 1;
        if (p->reaped && output_done(c))
            ws_close_after_child(c, p);
    }
}

static void on_prog_exit(wsd_program *p)
{
    conn *c = p->data;

    if (output_done(c))
        ws_close_after_child(c, p);
    resume_input(c);   /* its stdin is closed: held input is decoded on */
}

static void on_prog_stdin_ready(wsd_program *p)
{
    resume_input(p->data);
}

static void on_prog_done(wsd_program *p)
{
    conn *c = p->data;

    wsd_program_free(p);
    c->prog = NULL;
    conn_maybe_free(c);
}

/* ------------------------------------------------------------- stdin queue */

static void stdin_write(conn *c, const uint8_t *p, size_t n)
{
    if (c->prog)
        wsd_program_write(c->prog, p, n);
}

static size_t stdin_queued(conn *c)
{
    return c->prog ? wsd_program_stdin_queued(c->prog) : 0;
}

static void ws_feed(conn *c, uint8_t *p, size_t n);
static int inflate_data(conn *c, const uint8_t *in, size_t inlen, int fin, int opcode);

/* The child's stdin has room again (or closed): finish the input held back,
 * then let the client send more. */
static void resume_input(conn *c)
{
    if (c->zin) {
        uint8_t *z = c->zin;
        size_t zl = c->zinlen;
        c->zin = NULL;
        c->zinlen = 0;
        if (c->state == ST_OPEN) {
            int rc = inflate_data(c, z, zl, c->zfin, c->zop);
            free(z);
            if (rc != 0)
                return;        /* held again, or closed */
        } else {
            free(z);
        }
    }
    if (c->rest) {
        uint8_t *r = c->rest;
        size_t rn = c->nrest;
        c->rest = NULL;
        c->nrest = 0;
        if (!c->tcp_closing)
            ws_feed(c, r, rn);
        free(r);
        if (c->rest || c->zin)
            return;
    }
    if (c->tls && !c->tcp_closing) {
        tls_pump(c);       /* decrypted input that waited behind the held bytes */
        if (c->rest || c->zin)
            return;
    }
    if (c->tcp_paused && !c->tcp_closing && stdin_queued(c) < WSD_STDIN_LOW) {
        c->tcp_paused = 0;
        uv_timer_stop(&c->timer);
        uv_read_start(&c->sock.stream, alloc_tcp_read, on_tcp_read);
    }
}

static void stdin_pause_client_if_full(conn *c)
{
    if (!c->tcp_paused && !c->tcp_closing && stdin_queued(c) >= WSD_STDIN_HIGH) {
        c->tcp_paused = 1;
        uv_read_stop(&c->sock.stream);
        timer_start(c, HANGUP_POLL_MS);  /* still notice the client leaving */
    }
}

/* ------------------------------------------------------------- WebSocket */

static void ws_send_control(conn *c, int opcode, const uint8_t *p, size_t n)
{
    char *f = xmalloc(WSD_WS_MAX_HEADER + n);
    size_t h = wsd_ws_header((uint8_t *)f, opcode, 1, 0, n);
    if (n)
        memcpy(f + h, p, n);
    tcp_send(c, f, h + n, AFTER_NOTHING);
}

/* --lossless: each message reaches stdin as "text|binary LEN\n<payload>\n".
 * An unfragmented message's length is known from its frame header, so it
 * streams through; a fragmented one is reassembled (bounded by
 * --maxframesize, or LOSSLESS_MAX when that is 0) to learn its length. */
static int lossless_data(conn *c, const wsd_ws_event *ev)
{
    static const uint8_t nl = '\n';
    char hdr[48];
    int hl;

    if (ev->first && ev->frame_fin && !ev->compressed) {
        hl = snprintf(hdr, sizeof hdr, "%s %llu\n", ev->opcode == WSD_WS_TEXT ? "text" : "binary",
                      (unsigned long long)(ev->len + ev->frame_left));
        stdin_write(c, (const uint8_t *)hdr, (size_t)hl);
        c->msg_streaming = 1;
    }
    if (c->msg_streaming) {
        stdin_write(c, ev->data, ev->len);
        if (ev->fin) {
            stdin_write(c, &nl, 1);
            c->msg_streaming = 0;
        }
        return 0;
    }
    if (ev->len > LOSSLESS_MAX - c->msglen) {
        ws_close(c, WSD_WS_CLOSE_TOO_BIG, "message too big");
        proc_terminate(c);
        return -1;
    }
    if (c->msglen + ev->len > c->msgcap) {
        size_t cap = c->msgcap ? c->msgcap : 4096;
        while (cap < c->msglen + ev->len)
            cap *= 2;
        c->msg = xrealloc(c->msg, cap);
        c->msgcap = cap;
    }
    if (ev->len)
        memcpy(c->msg + c->msglen, ev->data, ev->len);
    c->msglen += ev->len;
    if (ev->fin) {
        hl = snprintf(hdr, sizeof hdr, "%s %zu\n", ev->opcode == WSD_WS_TEXT ? "text" : "binary",
                      c->msglen);
        stdin_write(c, (const uint8_t *)hdr, (size_t)hl);
        stdin_write(c, (const uint8_t *)c->msg, c->msglen);
        stdin_write(c, &nl, 1);
        free(c->msg);
        c->msg = NULL;
        c->msglen = c->msgcap = 0;
    }
    return 0;
}

/* Plaintext of one message for the child: text mode adds the newline at the
 * end of a text message; --lossless frames it as a record. */
static int deliver(conn *c, int opcode, const uint8_t *data, size_t len, int fin)
{
    static const uint8_t nl = '\n';
    if (c->srv->cfg->lossless) {
        wsd_ws_event e;
        memset(&e, 0, sizeof e);
        e.opcode = opcode;
        e.data = data;
        e.len = len;
        e.fin = fin;
        e.compressed = 1;  /* length unknown: reassemble */
        return lossless_data(c, &e);
    }
    stdin_write(c, data, len);
    if (fin && opcode == WSD_WS_TEXT)
        stdin_write(c, &nl, 1);
    return 0;
}

static int stdin_full(conn *c)
{
    return c->prog && c->state == ST_OPEN && wsd_program_stdin_full(c->prog);
}

/* Inflates (part of) a compressed message into the child's stdin, checking
 * text for UTF-8. Returns 0 when the chunk is consumed, 1 when it stopped
 * because stdin is full (the rest is kept in c->zin), -1 when it closed the
 * connection. A decompression bomb costs one 16 KiB buffer, then 1009. */
static int inflate_data(conn *c, const uint8_t *in, size_t inlen, int fin, int opcode)
{
    uint8_t out[WSD_PMD_CHUNK];

    for (;;) {
        size_t got = 0;
        int rc;
        if (stdin_full(c)) {
            uint8_t *keep = inlen ? xmalloc(inlen) : NULL;
            if (inlen)
                memcpy(keep, in, inlen);
            c->zin = keep;
            c->zinlen = inlen;
            c->zfin = fin;
            c->zop = opcode;
            if (!keep)
                c->zin = (uint8_t *)xmalloc(1);  /* marks "held" even when empty */
            return 1;
        }
        rc = wsd_pmd_inflate(&c->pmd, &in, &inlen, fin, out, sizeof out, &got);
        if (rc < 0) {
            wsd_log(WSD_LOG_ACCESS, "websocket", c->assoc, "Closing with %u: %s",
                    wsd_pmd_close_code(rc), wsd_pmd_strerror(rc));
            ws_close(c, wsd_pmd_close_code(rc), wsd_pmd_strerror(rc));
            proc_terminate(c);
            return -1;
        }
        if (opcode == WSD_WS_TEXT && got > 0 &&
            wsd_utf8_validate(&c->zutf8, out, got) == WSD_UTF8_REJECT) {
            ws_close(c, WSD_WS_CLOSE_INVALID_DATA, "invalid UTF-8");
            proc_terminate(c);
            return -1;
        }
        if (rc == WSD_PMD_END && opcode == WSD_WS_TEXT && c->zutf8 != WSD_UTF8_ACCEPT) {
            ws_close(c, WSD_WS_CLOSE_INVALID_DATA, "truncated UTF-8 sequence");
            proc_terminate(c);
            return -1;
        }
        if (got > 0 || rc == WSD_PMD_END) {
            if (deliver(c, opcode, out, got, rc == WSD_PMD_END) != 0)
                return -1;
        }
        if (rc != WSD_PMD_OUTPUT)
            return 0;
    }
}

static void ws_feed_all(conn *c, uint8_t *p, size_t n);

/* Decodes one read. What it decodes for the child's stdin is gathered and
 * written at the end with one write(2) — payloads and their newlines — not
 * one write per chunk (measured: 1.9 pipe writes per echoed message before). */
static void ws_feed(conn *c, uint8_t *p, size_t n)
{
    wsd_program *prog = c->prog;      /* freed only from a close callback */
    int outer = prog && !prog->gathering;

    if (outer)
        wsd_program_gather(prog, 1);
    ws_feed_all(c, p, n);
    if (outer)
        wsd_program_gather(prog, 0);
}

static void ws_feed_all(conn *c, uint8_t *p, size_t n)
{
    static const uint8_t nl = '\n';
    wsd_ws_event ev;

    for (;;) {
        size_t used;
        if (n > 0 && stdin_full(c)) {
            /* hold the rest of this read until the child catches up */
            c->rest = xmalloc(n);
            memcpy(c->rest, p, n);
            c->nrest = n;
            stdin_pause_client_if_full(c);
            return;
        }
        used = wsd_ws_decode(&c->dec, p, n, &ev);
        p += used;
        n -= used;
        switch (ev.type) {
        case WSD_WS_EV_MORE:
            stdin_pause_client_if_full(c);
            return;
        case WSD_WS_EV_DATA:
            if (c->state != ST_OPEN)
                break;  /* after our close frame: discard */
            if (ev.compressed) {
                int rc;
                if (ev.first)
                    c->zutf8 = WSD_UTF8_ACCEPT;
                rc = inflate_data(c, ev.data, ev.len, ev.fin, ev.opcode);
                if (rc < 0)
                    return;
                if (rc > 0) {
                    if (n > 0) {
                        c->rest = xmalloc(n);
                        memcpy(c->rest, p, n);
                        c->nrest = n;
                    }
                    stdin_pause_client_if_full(c);
                    return;
                }
                break;
            }
            if (c->srv->cfg->lossless) {
                if (lossless_data(c, &ev) != 0)
                    return;
                break;
            }
            stdin_write(c, ev.data, ev.len);
            if (ev.fin && ev.opcode == WSD_WS_TEXT)
                stdin_write(c, &nl, 1);
            break;
        case WSD_WS_EV_PING:
            if (c->state == ST_OPEN)
                ws_send_control(c, WSD_WS_PONG, ev.data, ev.len);
            break;
        case WSD_WS_EV_PONG:
            break;
        case WSD_WS_EV_CLOSE:
            c->close_received = 1;
            if (c->close_sent) {
                conn_close_tcp(c);    /* the reply to ours: done */
            } else {
                wsd_log(WSD_LOG_DEBUG, "websocket", c->assoc, "Client closed with %u",
                        ev.close_code);
                ws_close(c, ev.close_code == WSD_WS_CLOSE_NO_STATUS ? 0 : ev.close_code, "");
                proc_terminate(c);
            }
            return;
        case WSD_WS_EV_ERROR:
            wsd_log(WSD_LOG_ACCESS, "websocket", c->assoc, "Protocol error, closing with %u: %s",
                    ev.close_code, ev.reason);
            if (c->state == ST_OPEN)
                ws_close(c, ev.close_code, ev.reason);
            else
                conn_close_tcp(c);
            proc_terminate(c);
            return;
        }
    }
}

/* ------------------------------------------------------------- handshake */

static char *make_assoc(conn *c, const wsd_request *r)
{
    const wsd_config *cfg = c->srv->cfg;
    const wsd_http_header *host = wsd_http_get(r, "Host");
    const wsd_http_header *origin = wsd_http_get(r, "Origin");
    char url[1024], org[512], hostbuf[300], cmd[1024];
    wsd_str a, lo;
    const char *command = c->route ? c->route->real : cfg->command ? cfg->command : "";

    wsd_log_escape(hostbuf, sizeof hostbuf, host ? host->value : "", host ? host->value_len : 0);
    wsd_log_escape(url, sizeof url, r->target, r->target_len);
    wsd_log_escape(cmd, sizeof cmd, command, strlen(command));
    /* the origin as websocketd logs it ("file:" when absent or null) */
    wsd_str_init(&lo, 4096);
    wsd_origin_check(c->srv->origin, origin ? origin->value : NULL, origin ? origin->value_len : 0,
                     host ? host->value : NULL, host ? host->value_len : 0, 0, NULL, &lo);
    wsd_log_escape(org, sizeof org, lo.s ? lo.s : "file:", lo.s ? lo.len : 5);
    wsd_str_free(&lo);
    wsd_str_init(&a, 8192);
    wsd_str_appendf(&a, "url:'%s://%s%s' id:'%s' remote:'%s' command:'%s' origin:'%s'", c->tls ? "https" : "http",
                    hostbuf, url, c->id, c->remote_host ? c->remote_host : c->remote_ip,
                    cmd, org);
    return a.s;
}

/* stderr reaches the session only with --passstderr (else it is only logged) */
static const wsd_program_ops ws_program_ops = {
    on_prog_stdout, NULL, on_prog_exit, on_prog_stdin_ready, on_prog_done,
};
static const wsd_program_ops ws_program_ops_stderr = {
    on_prog_stdout, on_prog_stderr, on_prog_exit, on_prog_stdin_ready, on_prog_done,
};

static int spawn_child(conn *c, const wsd_request *r)
{
    const wsd_config *cfg = c->srv->cfg;
    wsd_spawn_options opt;
    wsd_program_options po;
    wsd_kill_plan kill;
    char path_info[WSD_HTTP_MAX_HEAD];
    char *dir_argv[2];
    wsd_env_input ei;
    char **env;
    int rc;

    if (wsd_http_url_decode(r->path, strlen(r->path), path_info) < 0)
        snprintf(path_info, sizeof path_info, "%s", r->path);
    memset(&ei, 0, sizeof ei);
    ei.cfg = cfg;
    ei.req = r;
    ei.remote_ip = c->remote_ip;
    ei.remote_port = c->remote_port;
    ei.remote_host = c->remote_host ? c->remote_host : c->remote_ip;
    ei.unique_id = c->id;
    ei.script_name = c->route ? c->route->script_name : "/";
    ei.path_info = c->route ? c->route->path_info : path_info;
    ei.https = c->tls != NULL;
    ei.subprotocol = c->subprotocol;
    env = wsd_env_build(&ei);

    memset(&opt, 0, sizeof opt);
    if (c->route) {
        /* --dir: argv = the script's path under DIR, no arguments (websocketd) */
        /* the path as requested (symlinks kept, checked to resolve inside
         * DIR): a script's $0 is the path it was executed by, as websocketd */
        dir_argv[0] = c->route->file;
        dir_argv[1] = NULL;
        opt.file = c->route->file;
        opt.argv = dir_argv;
    } else {
        opt.file = cfg->command_path;
        opt.argv = cfg->argv;
    }
    opt.env = env;               /* its own session and process group: process.h */

    wsd_kill_plan_websocket(&kill, (unsigned)cfg->closems);
    memset(&po, 0, sizeof po);
    po.spawn = &opt;
    po.ops = cfg->passstderr ? &ws_program_ops_stderr : &ws_program_ops;
    po.kill = &kill;
    po.log_category = "process";
    po.stderr_category = "stderr";
    po.assoc = &c->assoc;
    po.data = c;
    rc = wsd_program_start(c->srv->loop, &po, &c->prog);
    free(env);
    if (rc == 0)
        c->spawned = 1;
    return rc;
}

static void handshake_finish(conn *c, const char *rest, size_t nrest);

/* --redirport: 301 to the canonical URL, keeping path and query (websocketd
 * drops them, and panics on a Host without a port). */
static void redirect_https(conn *c, const wsd_request *r)
{
    const wsd_config *cfg = c->srv->cfg;
    const wsd_http_header *h = wsd_http_get(r, "Host");
    char host[300];
    size_t n;
    wsd_header_kv kv;
    wsd_header_list l = {&kv, 1};
    wsd_str loc, out;

    if (!h || h->value_len == 0 || h->value_len >= sizeof host) {
        http_respond(c, 400, "400 Bad Request: missing Host\n", 0);
        return;
    }
    memcpy(host, h->value, h->value_len);
    host[h->value_len] = '\0';
    n = h->value_len;
    if (host[0] == '[') {
        char *e = strchr(host, ']');
        if (e)
            e[1] = '\0';
    } else if (strchr(host, ':')) {
        *strchr(host, ':') = '\0';
    }
    (void)n;
    wsd_str_init(&loc, 20000);
    wsd_str_appendf(&loc, "%s://%s:%d%s", cfg->ssl ? "https" : "http", host, cfg->port, r->target);
    kv.name = "Location";
    kv.value = loc.s;
    wsd_str_init(&out, RESPONSE_LIMIT);
    wsd_log(WSD_LOG_ACCESS, "http", c->assoc, "REDIRECT");
    if (wsd_response_simple(&out, 301, "301 Moved Permanently\n", 0, &l, &cfg->headers) == 0)
        tcp_linger(c, out.s, out.len);
    else
        conn_close_tcp(c);
    wsd_str_free(&loc);
}

/* --dir: the URL path names the script (route.c: confined to DIR). A path
 * that is not clean gets Go ServeMux's 301, as websocketd. Returns 0 when
 * c->route holds the script, else has answered and returns -1. */
static int route_script(conn *c, const wsd_request *r)
{
    const wsd_config *cfg = c->srv->cfg;
    size_t n = strlen(r->path);
    char *decoded = xmalloc(n + 1), *clean;
    int rc = -1;

    if (wsd_http_url_decode(r->path, n, decoded) < 0) {
        free(decoded);
        http_respond(c, 404, "404 Not Found\n", 0);
        return -1;
    }
    clean = wsd_route_clean_path(decoded);
    if (strcmp(clean, decoded) != 0) {
        char *loc = wsd_route_escape_path(clean);
        wsd_header_kv kv;
        wsd_header_list l = {&kv, 1};
        wsd_str out, v;
        wsd_str_init(&v, 16384);
        wsd_str_appendf(&v, "%s%s%s", loc, *r->query ? "?" : "", r->query);
        kv.name = "Location";
        kv.value = v.s;
        wsd_str_init(&out, RESPONSE_LIMIT);
        if (wsd_response_simple(&out, 301, "301 Moved Permanently\n", 0, &l, &cfg->headers) == 0)
            tcp_linger(c, out.s, out.len);
        else
            conn_close_tcp(c);
        wsd_str_free(&v);
        free(loc);
    } else if (c->route = xcalloc(1, sizeof *c->route),
               wsd_route_script(cfg->dir, decoded, c->route) != WSD_ROUTE_FOUND) {
        wsd_route_free(c->route);
        free(c->route);
        c->route = NULL;
        wsd_log(WSD_LOG_ACCESS, "session", c->assoc, "NOT FOUND: script not found");
        http_respond(c, 404, "404 Not Found\n", 0);
    } else {
        free(c->assoc);
        c->assoc = make_assoc(c, r);   /* command:'<script>' */
        rc = 0;
    }
    free(clean);
    free(decoded);
    return rc;
}
static void on_lookup(uv_getnameinfo_t *req, int status, const char *hostname,
                      const char *service);

static void handshake(conn *c, const char *rest, size_t nrest)
{
    server *srv = c->srv;
    const wsd_config *cfg = srv->cfg;
    const wsd_request *r = wsd_http_request(c->http);
    wsd_handshake hs;
    int rc;

    c->assoc = make_assoc(c, r);
    if (c->redirect) {
        redirect_https(c, r);
        return;
    }
    rc = wsd_handshake_check(r, &hs);
    if (rc == WSD_HS_NOT_WEBSOCKET || (!cfg->command_path && !cfg->dir)) {
        if (wsd_serve_request(c, r, rest, nrest))
            return;
        wsd_log(WSD_LOG_ACCESS, "http", c->assoc, "NOT FOUND");
        http_respond(c, 404, "404 page not found\n", 0);
        return;
    }
    if (rc == WSD_HS_BAD) {
        char body[256];
        wsd_log(WSD_LOG_ACCESS, "http", c->assoc, "Bad upgrade request: %s", hs.text);
        snprintf(body, sizeof body, "%d %s: %s\n", hs.status, wsd_http_reason(hs.status),
                 hs.text);
        http_respond(c, hs.status, body, 1);
        return;
    }
    if (srv->shutting_down) {
        http_respond(c, 503, "503 Service Unavailable: server shutting down\n", 0);
        return;
    }
    if (cfg->dir && route_script(c, r) != 0)
        return;
    {
        const wsd_http_header *o = wsd_http_get(r, "Origin"), *h = wsd_http_get(r, "Host");
        wsd_str why;
        wsd_str_init(&why, 1024);
        if (!wsd_origin_check(srv->origin, o ? o->value : NULL, o ? o->value_len : 0,
                              h ? h->value : NULL, h ? h->value_len : 0, c->tls != NULL, &why,
                              NULL)) {
            char esc[1200];
            wsd_log(WSD_LOG_ACCESS, "session", c->assoc, "%s",
                    wsd_log_escape(esc, sizeof esc, why.s ? why.s : "", why.len));
            wsd_log(WSD_LOG_ACCESS, "session", c->assoc,
                    "Unable to Upgrade: websocket: request origin not allowed");
            wsd_str_free(&why);
            http_respond(c, 403, "403 Forbidden: origin not allowed\n", 0);
            return;
        }
        wsd_str_free(&why);
    }
    memcpy(c->accept, hs.accept, sizeof c->accept);
    c->subprotocol = wsd_handshake_subprotocol(r, cfg->subprotocols, cfg->nsubprotocols);
    {
        wsd_pmd_params pp;
        char ext[WSD_PMD_RESPONSE_MAX];
        c->pmd_on = wsd_pmd_negotiate_request(&srv->pmdcfg, r, &pp, ext);
        if (c->pmd_on)
            c->pmd_ext = xstrdup(ext);
        if (c->pmd_on)
            wsd_pmd_init(&c->pmd, &srv->pmdcfg, &pp, cfg->maxframesize);
    }
    if (cfg->reverselookup && !c->is_unix) {
        /* getnameinfo in libuv's thread pool: the loop never blocks on DNS.
         * The client's reads pause meanwhile; the handshake timer bounds it. */
        struct sockaddr_storage peer;
        int plen = sizeof peer;
        c->ni = xmalloc(sizeof *c->ni);
        c->ni->data = c;
        memset(&peer, 0, sizeof peer);
        if (uv_tcp_getpeername(&c->sock.tcp, (struct sockaddr *)&peer, &plen) == 0 &&
            uv_getnameinfo(srv->loop, c->ni, on_lookup, (struct sockaddr *)&peer,   /* copied */
                           NI_NAMEREQD) == 0) {
            c->lookup_pending = 1;
            uv_read_stop(&c->sock.stream);
            if (nrest > 0) {
                c->held = xmalloc(nrest);
                memcpy(c->held, rest, nrest);
                c->nheld = nrest;
            }
            return;
        }
        free(c->ni);
        c->ni = NULL;
    }
    handshake_finish(c, rest, nrest);
}

static void on_lookup(uv_getnameinfo_t *req, int status, const char *hostname,
                      const char *service)
{
    conn *c = req->data;

    (void)service;
    c->lookup_pending = 0;
    if (status == 0 && hostname && *hostname && !c->tcp_closing)
        c->remote_host = xstrdup(hostname);
    free(c->ni);      /* hostname pointed into it */
    c->ni = NULL;
    if (c->tcp_closing || c->state != ST_HTTP) {
        conn_maybe_free(c);
        return;
    }
    if (c->remote_host) {
        free(c->assoc);
        c->assoc = make_assoc(c, wsd_http_request(c->http));
    }
    handshake_finish(c, c->held, c->nheld);
    free(c->held);
    c->held = NULL;
    c->nheld = 0;
    if (c->tls)
        tls_pump(c);   /* plaintext that waited inside the TLS layer */
}

static void on_ping_timer(uv_timer_t *t)
{
    conn *c = t->data;
    uint64_t ms = (uint64_t)c->srv->cfg->pingms;

    if (c->state != ST_OPEN)
        return;
    if (uv_now(c->srv->loop) - c->last_seen >= 2 * ms) {
        wsd_log(WSD_LOG_ACCESS, "websocket", c->assoc, "No pong for %llu ms, dropping the client",
                (unsigned long long)(2 * ms));
        proc_terminate(c);
        conn_close_tcp(c);
        return;
    }
    ws_send_control(c, WSD_WS_PING, NULL, 0);
}

/* After the checks (and the reverse lookup): fork slot, spawn, 101. */
static void handshake_finish(conn *c, const char *rest, size_t nrest)
{
    server *srv = c->srv;
    const wsd_config *cfg = srv->cfg;
    const wsd_request *r = wsd_http_request(c->http);
    wsd_str out;
    int rc;

    if (srv->maxforks > 0 && wsd_program_count() >= srv->maxforks) {
        wsd_log(WSD_LOG_ERROR, "http", c->assoc, "Max of possible forks already active, upgrade rejected");
        http_respond(c, 429, "429 Too Many Requests\n", 0);
        return;
    }
    if (!wsd__fds_for_program(srv)) {
        wsd_log(WSD_LOG_ERROR, "http", c->assoc,
                "Out of file descriptors for another program (%ld running, limit %ld), upgrade rejected",
                wsd_program_count(), srv->fd_limit);
        http_respond(c, 503, WSD_BODY_NO_RESOURCES, 0);
        return;
    }
    wsd_log(WSD_LOG_ACCESS, "session", c->assoc, "CONNECT");
    rc = spawn_child(c, r);
    if (rc != 0) {
        wsd_log(WSD_LOG_ERROR, "process", c->assoc, "Could not launch process %s (%s)",
                c->route ? c->route->real : cfg->command_path, wsd_spawn_strerror(rc));
        if (wsd_spawn_busy(rc))   /* a burst of connections still in their handshake can
                                   * use the descriptors --maxforks left over */
            http_respond(c, 503, WSD_BODY_NO_RESOURCES, 0);
        else
            http_respond(c, 500, "500 Internal Server Error: could not launch the program\n", 0);
        return;
    }
    {   /* associations gain the pid, as websocketd's */
        wsd_str a;
        wsd_str_init(&a, 8192);
        wsd_str_appendf(&a, "%s pid:'%d'", c->assoc, c->prog->pid);
        free(c->assoc);
        c->assoc = a.s;
    }
    wsd_str_init(&out, RESPONSE_LIMIT);
    rc = wsd_response_101(&out, c->accept, c->subprotocol, c->pmd_on ? c->pmd_ext : NULL,
                          &cfg->headers, &cfg->headers_ws);
    free(c->pmd_ext);
    c->pmd_ext = NULL;
    if (rc != 0) {
        wsd_str_free(&out);
        proc_terminate(c);
        conn_close_tcp(c);
        return;
    }
    c->is_ws = 1;
    c->state = ST_OPEN;
    uv_timer_stop(&c->timer);
    wsd_http_parser_free(c->http);
    c->http = NULL;
    tcp_send(c, out.s, out.len, AFTER_NOTHING);
    wsd_ws_decoder_init(&c->dec, cfg->maxframesize);
    if (c->pmd_on)
        c->dec.rsv_allowed = 0x4;   /* RSV1: a compressed message */
    wsd_outframer_init(&c->of, cfg->binary);
    wsd_record_decoder_init(&c->rec, 0);
    wsd_program_read(c->prog, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    if (c->lookup_pending == 0)
        uv_read_start(&c->sock.stream, alloc_tcp_read, on_tcp_read);  /* idempotent */
    /* the loop's cached time predates this iteration's spawn (which can be
     * slow): refresh it, or the first ping tick may find the client silent */
    uv_update_time(srv->loop);
    c->last_seen = uv_now(srv->loop);
    if (cfg->pingms > 0) {
        c->ptimer = xmalloc(sizeof *c->ptimer);
        uv_timer_init(srv->loop, c->ptimer);
        c->ptimer->data = c;
        c->handles++;
        c->ptimer_on = 1;
        uv_timer_start(c->ptimer, on_ping_timer, (uint64_t)cfg->pingms, (uint64_t)cfg->pingms);
    }
    if (nrest > 0) {
        /* frames pipelined behind the handshake: not lost */
        uint8_t *copy = xmalloc(nrest);
        memcpy(copy, rest, nrest);
        ws_feed(c, copy, nrest);
        free(copy);
    }
}

/* ------------------------------------------------------------- TCP reads */

static void client_gone(conn *c, ssize_t nread)
{
    {
        if (c->state == ST_SERVE && nread == UV_EOF) {
            wsd_serve_eof(c);   /* end of a request body; the response goes on */
            return;
        }
        if (c->state == ST_OPEN)
            wsd_log(WSD_LOG_DEBUG, "websocket", c->assoc, "Client went away: %s",
                    uv_strerror((int)nread));
        proc_terminate(c);
        conn_close_tcp(c);
        return;
    }
}

/* Plaintext from the client, whatever the transport. */
static void dispatch(conn *c, char *p, ssize_t nread)
{
    switch (c->state) {
    case ST_HTTP: {
        size_t used = 0;
        int rc = wsd_http_feed(c->http, p, (size_t)nread, &used);
        if (rc == WSD_HTTP_DONE) {
            handshake(c, p + used, (size_t)nread - used);
        } else if (rc == WSD_HTTP_ERROR) {
            int st = wsd_http_error_status(c->http);
            char body[256];
            snprintf(body, sizeof body, "%d %s: %s\n", st, wsd_http_reason(st),
                     wsd_http_error_text(c->http));
            wsd_log(WSD_LOG_ACCESS, "http", c->assoc ? c->assoc : "", "Bad request from %s: %s",
                    c->remote_ip, wsd_http_error_text(c->http));
            http_respond(c, st, body, 0);
        }
        break;
    }
    case ST_SERVE:
        wsd_serve_data(c, p, (size_t)nread);
        break;
    case ST_OPEN:
        ws_feed(c, (uint8_t *)p, (size_t)nread);
        break;
    case ST_CLOSING:
        if (c->close_sent && !c->close_received)
            ws_feed(c, (uint8_t *)p, (size_t)nread);  /* look for the reply */
        break;
    case ST_CLOSED:
        break;
    }
}

static void tls_flush(conn *c)
{
    size_t olen = 0;
    char *out;
    if (!c->tls || c->tcp_closing || wsd_tls_out_pending(c->tls) == 0)
        return;
    out = wsd_tls_out_take(c->tls, &olen);
    raw_write(c, out, 0, olen, AFTER_NOTHING);
}

/* Decrypts what the TLS layer holds and dispatches it, chunk by chunk (the
 * state may change between chunks: head, then frames). Stops while a reverse
 * lookup holds the handshake; on_lookup pumps again. */
static void tls_pump(conn *c)
{
    char *pt = xmalloc(READ_SIZE);

    /* Stop while input is held back (the child's stdin is full, or the plain
     * HTTP side paused the client): the rest stays inside the TLS layer,
     * bounded by WSD_TLS_IN_MAX, and the next pump resumes it. */
    while (!c->tcp_closing && !c->lookup_pending && !c->rest && !c->zin && !c->serve_hold) {
        size_t got = 0;
        int rc = wsd_tls_read(c->tls, pt, READ_SIZE, &got);
        if (rc == WSD_TLS_OK) {
            dispatch(c, pt, (ssize_t)got);
            continue;
        }
        if (rc == WSD_TLS_AGAIN)
            break;
        if (rc == WSD_TLS_EOF) {
            tls_flush(c);
            client_gone(c, UV_EOF);
            break;
        }
        {
            char why[256];
            wsd_log(WSD_LOG_DEBUG, "server", "", "TLS handshake error from %s:%d: %s",
                    c->remote_ip, c->remote_port, wsd_tls_error(c->tls, why, sizeof why));
        }
        if (wsd_tls_plain_http(c->tls)) {
            /* plain HTTP to the TLS port: Go's answer, unencrypted */
            raw_write(c, xstrdup(WSD_TLS_PLAIN_HTTP_RESPONSE), 0,
                      strlen(WSD_TLS_PLAIN_HTTP_RESPONSE), AFTER_CLOSE);
        } else {
            tls_flush(c);      /* the alert */
            if (!c->tcp_closing)
                raw_write(c, NULL, 0, 0, AFTER_CLOSE);
        }
        break;
    }
    free(pt);
    tls_flush(c);
}

static void on_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = s->data;

    if (nread == 0)
        return;
    if (nread < 0) {
        client_gone(c, nread);
        return;
    }
    c->last_seen = uv_now(c->srv->loop);
    if (c->tls) {
        if (wsd_tls_feed(c->tls, buf->base, (size_t)nread) != WSD_TLS_OK) {
            conn_close_tcp(c);
            return;
        }
        tls_pump(c);
        return;
    }
    dispatch(c, buf->base, nread);
}

static void on_timer(uv_timer_t *t)
{
    conn *c = t->data;

    switch (c->state) {
    case ST_HTTP:
        wsd_log(WSD_LOG_ACCESS, "http", "", "Request head from %s not complete after %d ms",
                c->remote_ip, HANDSHAKE_TIMEOUT_MS);
        http_respond(c, 408, "408 Request Timeout\n", 0);
        break;
    case ST_OPEN:
        if (c->tcp_paused) {
            /* Reads are paused because the child is not taking its stdin;
             * the kernel still tells us whether the client has gone. */
            struct tcp_info ti;
            socklen_t len = sizeof ti;
            uv_os_fd_t fd;
            if (!c->is_unix && uv_fileno(&c->sock.handle, &fd) == 0 &&
                getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
                ti.tcpi_state != TCP_ESTABLISHED) {
                wsd_log(WSD_LOG_DEBUG, "websocket", c->assoc,
                        "Client went away while its input was paused");
                proc_terminate(c);
                conn_close_tcp(c);
                return;
            }
            timer_start(c, HANGUP_POLL_MS);
        }
        break;
    case ST_SERVE:
        break;
    case ST_CLOSING:
        conn_close_tcp(c);  /* the peer never closed: stop waiting */
        break;
    case ST_CLOSED:
        break;
    }
}

/* ---------------------------------------- plain HTTP: for httpserve.c */

/* Keep-alive, waiting for the next request: idle for HANDSHAKE_TIMEOUT_MS
 * (not one byte of it) → closed without an answer, as Go closes idle
 * connections; a head begun but unfinished by then → 408 (on_timer). */
static void on_keepalive_timer(uv_timer_t *t)
{
    conn *c = t->data;

    if (c->state == ST_HTTP && uv_now(c->srv->loop) - c->last_seen >= HANDSHAKE_TIMEOUT_MS)
        conn_close_tcp(c);
    else
        on_timer(t);
}

/* A kept-alive response is complete: back to ST_HTTP with a fresh parser;
 * `rest` (bytes that arrived after the previous request) is parsed first. */
void wsd__http_next(conn *c, const char *rest, size_t n)
{
    if (c->tcp_closing)
        return;
    if (c->http)
        wsd_http_parser_free(c->http);
    c->http = wsd_http_parser_new();
    free(c->assoc);
    c->assoc = NULL;
    c->state = ST_HTTP;
    c->last_seen = uv_now(c->srv->loop);
    if (n > 0)
        timer_start(c, HANDSHAKE_TIMEOUT_MS);
    else
        uv_timer_start(&c->timer, on_keepalive_timer, HANDSHAKE_TIMEOUT_MS, 0);
    uv_read_start(&c->sock.stream, alloc_tcp_read, on_tcp_read);  /* if httpserve.c paused it */
    if (n > 0) {
        char *copy = xmalloc(n);
        memcpy(copy, rest, n);
        dispatch(c, copy, (ssize_t)n);
        free(copy);
    }
}

/* Request-body backpressure: stop / resume reading the client. */
void wsd__read(conn *c, int on)
{
    if (c->tcp_closing)
        return;
    c->serve_hold = !on;
    if (on) {
        uv_read_start(&c->sock.stream, alloc_tcp_read, on_tcp_read);
        if (c->tls)
            tls_pump(c);   /* plaintext already decrypted and waiting */
    } else {
        uv_read_stop(&c->sock.stream);
    }
}

/* ------------------------------------------------------------- accept */

static void next_id(server *srv, char *out, size_t cap)
{
    struct timespec ts;
    uint64_t id;
    clock_gettime(CLOCK_REALTIME, &ts);
    id = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (id <= srv->last_id)
        id = srv->last_id + 1;   /* unique, unlike websocketd's UnixNano */
    if (srv->nworkers > 1) {
        /* unique across workers too: id ≡ worker (mod workers) */
        uint64_t w = (uint64_t)srv->nworkers;
        id = id - id % w + (uint64_t)srv->worker;
        if (id <= srv->last_id)
            id += w;
    }
    srv->last_id = id;
    snprintf(out, cap, "%llu", (unsigned long long)id);
}

static void peer_name(conn *c)
{
    struct sockaddr_storage ss;
    int sslen = sizeof ss;

    if (c->is_unix) {
        snprintf(c->remote_ip, sizeof c->remote_ip, "unix-socket");  /* as websocketd main */
        c->remote_port = -1;
        return;
    }
    if (uv_tcp_getpeername(&c->sock.tcp, (struct sockaddr *)&ss, &sslen) != 0)
        return;
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        uv_ip6_name(a, c->remote_ip, sizeof c->remote_ip);
        c->remote_port = ntohs(a->sin6_port);
        if (strncmp(c->remote_ip, "::ffff:", 7) == 0 && strchr(c->remote_ip, '.'))
            memmove(c->remote_ip, c->remote_ip + 7, strlen(c->remote_ip + 7) + 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        uv_ip4_name(a, c->remote_ip, sizeof c->remote_ip);
        c->remote_port = ntohs(a->sin_port);
    }
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
 * (wsd__fds_for_program). So a server full of programs still answers
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

int wsd__fds_for_program(const server *srv)
{
    long reserve = srv->fd_limit / 8 < FD_HANDSHAKES ? srv->fd_limit / 8 : FD_HANDSHAKES;
    /* its three pipes, their other ends while it starts, and the reserve */
    return srv->fd_limit <= 0 || fds_used(srv) + 6 + reserve <= srv->fd_limit;
}

static void accept_one(server *srv, uv_stream_t *l);

static void on_connection(uv_stream_t *l, int status)
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

/* A connection has ended: let waiting ones in while the budget allows. */
static void resume_accepting(server *srv)
{
    while (srv->npaused > 0 && !srv->shutting_down && !fds_short(srv)) {
        uv_stream_t *l = srv->paused[0];
        srv->npaused--;
        memmove(srv->paused, srv->paused + 1, (size_t)srv->npaused * sizeof srv->paused[0]);
        accept_one(srv, l);     /* uv_accept re-arms the listener */
    }
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

static void accept_one(server *srv, uv_stream_t *l)
{
    conn *c;

    c = xcalloc(1, sizeof *c);
    srv->nconns++;
    c->srv = srv;
    c->is_unix = l->type == UV_NAMED_PIPE;
    if (l->type == UV_TCP) {
        size_t li = (size_t)((uv_tcp_t *)l - srv->listeners);
        c->redirect = li < srv->nlisteners && srv->redirect[li];
    }
    if (srv->tls && !c->redirect)
        c->tls = wsd_tls_new(srv->tls);
    if (c->is_unix)
        uv_pipe_init(srv->loop, &c->sock.pipe, 0);
    else
        uv_tcp_init(srv->loop, &c->sock.tcp);
    c->sock.handle.data = c;
    c->handles++;
    uv_timer_init(srv->loop, &c->timer);
    c->timer.data = c;
    c->handles++;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    if (uv_accept(l, &c->sock.stream) != 0) {
        conn_close_tcp(c);
        return;
    }
    if (!c->is_unix)
        uv_tcp_nodelay(&c->sock.tcp, 1);
    next_id(srv, c->id, sizeof c->id);
    peer_name(c);
    c->http = wsd_http_parser_new();
    c->state = ST_HTTP;
    timer_start(c, HANDSHAKE_TIMEOUT_MS);
    uv_read_start(&c->sock.stream, alloc_tcp_read, on_tcp_read);
}

/* ------------------------------------------------------------- shutdown */

static void on_signal(uv_signal_t *h, int signum)
{
    server *srv = h->data;
    conn *c, *next;
    size_t i;

    if (srv->shutting_down) {
        /* second signal: don't wait for anyone */
        wsd_program_kill_all();
        wsd_log(WSD_LOG_INFO, "server", "", "Second SIG%s: exiting now", sig_name(signum));
        exit(srv->exit_status);
    }
    srv->shutting_down = 1;
    wsd_log(WSD_LOG_INFO, "server", "", "Received SIG%s, shutting down", sig_name(signum));
    for (i = 0; i < srv->nlisteners; i++)
        uv_close((uv_handle_t *)&srv->listeners[i], NULL);
    if (srv->have_unixl) {
        uv_close((uv_handle_t *)&srv->unixl, NULL);
        unlink(srv->cfg->unixsocket);  /* websocketd main leaves it behind */
        srv->have_unixl = 0;
    }
    for (c = srv->conns; c; c = next) {
        next = c->next;
        if (c->state == ST_OPEN)
            ws_close(c, WSD_WS_CLOSE_GOING_AWAY, "server shutting down");
        else if (c->state == ST_HTTP)
            conn_close_tcp(c);
        proc_terminate(c);
    }
    if (!srv->conns) {
        uv_close((uv_handle_t *)&srv->sigint, NULL);
        uv_close((uv_handle_t *)&srv->sigterm, NULL);
    }
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
        wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: listen tcp %s: bind: %s",
                *addr ? shown : shown, strerror(-fd));
        return -1;
    }
    l = &srv->listeners[srv->nlisteners];
    uv_tcp_init(srv->loop, l);
    l->data = srv;
    if (uv_tcp_open(l, fd) != 0 || uv_listen((uv_stream_t *)l, 511, on_connection) != 0) {
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
    rc = uv_pipe_bind(&srv->unixl, path);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->unixl, 511, on_connection);
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

static int worker_run(const wsd_config *cfg, int worker, int nworkers)
{
    server srv;
    int startup_log_min = -1;
    char hostbuf[256];
    size_t i, naddr = cfg->naddresses ? cfg->naddresses : 1;
    wsd_str app;

    memset(&srv, 0, sizeof srv);
    srv.loop = uv_default_loop();
    srv.cfg = cfg;
    srv.worker = worker;
    srv.nworkers = nworkers;
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

    {
        char *err = NULL;
        srv.origin = wsd_origin_new(cfg->origin, cfg->sameorigin, &err);
        if (!srv.origin) {
            fprintf(stderr, "wsd: %s\n", err ? err : "--origin: unusable list");
            free(err);
            free(srv.listeners);
            free(srv.redirect);
            return 1;
        }
    }
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

    /* SIGINT/SIGTERM handlers before the first listener: a signal sent as
     * soon as the port accepts must get the graceful shutdown, not the
     * default action (which would leave a --unixsocket file behind). */
    uv_signal_init(srv.loop, &srv.sigint);
    uv_signal_init(srv.loop, &srv.sigterm);
    srv.sigint.data = srv.sigterm.data = &srv;
    uv_signal_start(&srv.sigint, on_signal, SIGINT);
    uv_signal_start(&srv.sigterm, on_signal, SIGTERM);
    if (wsd_spawn_init(srv.loop) != 0) {
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

    wsd_pmd_config_default(&srv.pmdcfg);
    srv.pmdcfg.enabled = cfg->deflate;
    srv.pmdcfg.server_max_window_bits = cfg->deflatebits;
    srv.pmdcfg.client_max_window_bits = cfg->deflatebits;
    srv.pmdcfg.mem_level = cfg->deflatemem;

    if (startup_log_min >= 0)
        wsd_log_min = startup_log_min;

    {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
            srv.fd_limit = (long)rl.rlim_cur;
        srv.fd_base = open_fds();
    }
    uv_run(srv.loop, UV_RUN_DEFAULT);
    wsd_spawn_shutdown();
    uv_run(srv.loop, UV_RUN_NOWAIT);   /* the watcher's close callback */
    uv_loop_close(srv.loop);
    wsd_origin_free(srv.origin);
    wsd_tls_ctx_free(srv.tls);
    free(srv.listeners);
    free(srv.redirect);
    return srv.exit_status;

fail:
    wsd_origin_free(srv.origin);
    wsd_tls_ctx_free(srv.tls);
    free(srv.listeners);
    free(srv.redirect);
    return 3;
}

/* --workers=N: N processes, each its own event loop, binding the listeners
 * with SO_REUSEPORT so the kernel spreads connections over them. This
 * process only supervises: it forwards SIGINT/SIGTERM, restarts a worker
 * that dies unexpectedly (at most 10 times a minute), and exits when all
 * workers have exited after a shutdown. */
static pid_t start_worker(const wsd_config *cfg, int i, int n, const sigset_t *oldmask,
                          pid_t *pids)
{
    pid_t pid = fork();
    if (pid == 0) {
        free(pids);     /* the supervisor's: not the worker's to keep */
        sigprocmask(SIG_SETMASK, oldmask, NULL);
        fflush(stdout);
        _exit(worker_run(cfg, i, n));
    }
    return pid;
}

int wsd_server_run(const wsd_config *cfg)
{
    int n = cfg->workers > 1 ? (int)cfg->workers : 1;
    size_t naddr = cfg->naddresses ? cfg->naddresses : 1, i;
    sigset_t set, old;
    pid_t *pids;
    int stopping = 0, alive = 0, rc = 0, restarts = 0;
    time_t window = time(NULL);

    if (n == 1)
        return worker_run(cfg, 0, 1);

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
                wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: listen tcp %s: bind: %s",
                        shown, strerror(-fd));
                return 3;
            }
            close(fd);
        }
    }

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    pids = xcalloc((size_t)n, sizeof *pids);
    fflush(stdout);
    for (i = 0; i < (size_t)n; i++) {
        pids[i] = start_worker(cfg, (int)i, n, &old, pids);
        if (pids[i] > 0)
            alive++;
    }
    while (alive > 0) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si), st;
        pid_t pid;
        if (sig == SIGINT || sig == SIGTERM) {
            stopping++;
            for (i = 0; i < (size_t)n; i++) {
                if (pids[i] > 0)
                    kill(pids[i], sig);   /* a second signal: workers exit at once */
            }
            continue;
        }
        if (sig != SIGCHLD)
            continue;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
            for (i = 0; i < (size_t)n && pids[i] != pid; i++)
                ;
            if (i == (size_t)n)
                continue;
            pids[i] = 0;
            alive--;
            if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
                rc = WEXITSTATUS(st);
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
    free(pids);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return stopping && rc == 0 ? 0 : rc;
}
