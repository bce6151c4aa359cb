/* session.c — the WebSocket session of one connection (see session.h).
 *
 * Endings converge on two idempotent functions:
 *   ws_close   sends one close frame. If the client started the close, our
 *              echo completes the handshake and the transport closes once
 *              it is written (bounded); otherwise it lingers for the
 *              client's close or FIN (transport.c).
 *   end_program  program.c's kill schedule: stdin closed, then SIGINT,
 *              SIGTERM, SIGKILL to the process group.
 * The program exits first: its output drains, and when stdout is at EOF
 * and the exit status is known the close frame reports it (1000, or 1011
 * with the status or signal). The client leaves first (close frame, EOF,
 * error, protocol error): close frame echoed or sent, program ended. */
#include "session.h"

#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "log.h"
#include "metrics.h"
#include "pty.h"
#include "terminal.h"
#include "utf8.h"
#include "util.h"

static void ws_feed(ws_session *s, uint8_t *p, size_t n);
static int inflate_data(ws_session *s, const uint8_t *in, size_t inlen, int fin, int opcode);
static void resume_input(ws_session *s);

static char *dup_bytes(const void *p, size_t n)
{
    char *d = xmalloc(n ? n : 1);
    memcpy(d, p, n);
    return d;
}

static const char *sig_name(int sig)
{
    const char *n = sigabbrev_np(sig);
    return n ? n : "?";
}

/* ------------------------------------------------------------ to the client */

/* Frames are built in one process-wide scratch buffer sized for the worst
 * case (3× the input: every byte U+FFFD) and written from there, copied
 * only for what the socket does not take at once: allocating the worst case
 * per read cost ~500 brk calls and ~9500 page faults a second at full
 * output speed (docs/performance.md). */
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

/* Complete data frames (outframe, record, --passstderr) to the client,
 * compressed per message when permessage-deflate was agreed. p[0..n) stays
 * the caller's. */
static void send_frames(ws_session *s, const uint8_t *p, size_t n)
{
    conn *c = s->c;

    if (n == 0)
        return;
    if (wsd_metrics_on) {
        wsd_ws_frames_info fi;
        if (wsd_ws_scan_frames(p, n, &fi) == 0)
            wsd_metrics_add(WSD_M_MESSAGES_OUT, fi.completes);
    }
    if (s->pmd_on) {
        size_t cap = wsd_pmd_frames_bound(p, n), zlen = 0;
        char *z = xmalloc(cap);
        if (wsd_pmd_encode_frames(s->pmd, p, n, (uint8_t *)z, cap, &zlen) != WSD_PMD_OK) {
            free(z);
            conn_abort(c, WSD_LOG_ERROR, "Compression failed");
            return;
        }
        wsd_tp_send(&c->tp, z, zlen);
        return;
    }
    wsd_tp_send_copy(&c->tp, p, n);
}

/* A client whose queue is over OUT_HIGH is not read until it drains: what
 * it sends (pings above all) cannot grow its queue further. */
static void hold_if_client_full(ws_session *s)
{
    conn *c = s->c;

    if (!s->out_held && !c->tp.closing && wsd_tp_queued(&c->tp) > OUT_HIGH) {
        s->out_held = 1;
        wsd_tp_hold(&c->tp, WSD_HOLD_OUTPUT);
    }
}

static void send_control(ws_session *s, int opcode, const uint8_t *p, size_t n)
{
    uint8_t f[WSD_WS_MAX_HEADER + 125];
    size_t h = wsd_ws_header(f, opcode, 1, 0, n);

    assert(n <= 125);
    if (n)
        memcpy(f + h, p, n);
    wsd_tp_send_copy(&s->c->tp, f, h + n);
}

/* Sends a close frame (once): an echo completes the handshake (close once
 * written), else linger for the client's reply. */
static void ws_close(ws_session *s, uint16_t code, const char *reason)
{
    conn *c = s->c;
    uint8_t f[2 + 125];
    size_t n;

    if (s->close_sent || c->tp.closing)
        return;
    s->close_sent = 1;
    if (!s->first_code)
        s->first_code = code ? code : WSD_WS_CLOSE_NO_STATUS;
    if (c->state == ST_OPEN && !c->cfg->lossless && !c->cfg->passstderr && !s->hub) {
        /* finish a line the program left open: its bytes are delivered and
         * the close frame does not cut a message */
        uint8_t *t = scratch(wsd_outframer_bound(0));
        send_frames(s, t, wsd_outframer_encode(&s->of, NULL, 0, 1, t));
    }
    n = wsd_ws_close_frame(f, code, reason);
    if (s->close_received) {
        c->state = ST_CLOSING;
        wsd_tp_close_after(&c->tp, dup_bytes(f, n), n);
    } else {
        conn_linger(c, dup_bytes(f, n), n);
    }
}

/* The close frame that reports how the program ended, once its output is
 * all out (both the exit status and stdout EOF are known). */
static void ws_close_after_status(ws_session *s, int64_t exit_status, int term_signal)
{
    char reason[96];

    if (s->c->state != ST_OPEN)
        return;
    if (term_signal) {
        snprintf(reason, sizeof reason, "killed by signal %d (SIG%s)", term_signal,
                 sig_name(term_signal));
        ws_close(s, WSD_WS_CLOSE_INTERNAL, reason);
    } else if (exit_status != 0) {
        snprintf(reason, sizeof reason, "exited with status %lld", (long long)exit_status);
        ws_close(s, WSD_WS_CLOSE_INTERNAL, reason);
    } else {
        ws_close(s, WSD_WS_CLOSE_NORMAL, s->term ? "exited with status 0" : "");
    }
}

static void ws_close_after_program(ws_session *s, const wsd_program *p)
{
    ws_close_after_status(s, p->exit_status, p->term_signal);
}

/* --passstderr (websocketd main): every line of stdout and stderr becomes a
 * text message {"stream":"stdout"|"stderr","data":"<line>"}; invalid UTF-8
 * is replaced with U+FFFD. A line longer than TAG_LINE goes out in pieces. */
static void tagged_emit(ws_session *s, int idx, const char *p, size_t n)
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
    plen = (size_t)(o - j);
    h = wsd_ws_header((uint8_t *)f, WSD_WS_TEXT, 1, 0, plen);
    memmove(f + h, j, plen);       /* the payload right after its header */
    send_frames(s, (uint8_t *)f, h + plen);
    free(f);
}

static void tagged_feed(ws_session *s, int idx, const char *p, size_t n, int eof)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (!s->tagline[idx])
            s->tagline[idx] = xmalloc(TAG_LINE);
        while (take > 0) {
            size_t room = TAG_LINE - s->taglen[idx];
            size_t k = take < room ? take : room;
            memcpy(s->tagline[idx] + s->taglen[idx], p, k);
            s->taglen[idx] += k;
            p += k;
            n -= k;
            take -= k;
            if (s->taglen[idx] == TAG_LINE) {
                tagged_emit(s, idx, s->tagline[idx], s->taglen[idx]);
                s->taglen[idx] = 0;
            }
        }
        if (nl) {
            tagged_emit(s, idx, s->tagline[idx], s->taglen[idx]);
            s->taglen[idx] = 0;
            p++;
            n--;
        }
    }
    if (eof && s->taglen[idx] > 0) {
        tagged_emit(s, idx, s->tagline[idx], s->taglen[idx]);  /* final line without \n */
        s->taglen[idx] = 0;
    }
    if (s->taglen[idx] == 0) {
        free(s->tagline[idx]);
        s->tagline[idx] = NULL;
    }
}

/* ------------------------------------------------------------- the program */

/* Everything the program will ever send has been read: stdout at EOF, and
 * stderr too when it goes to the client (--passstderr). */
static int output_done(const ws_session *s)
{
    return s->out_eof && (!s->c->cfg->passstderr || s->err_eof);
}

/* Ends the program (program.c: stdin closed, then the signals). Input held
 * back may still hold control frames: it is decoded on later, its data
 * dropped. */
static void end_program(ws_session *s)
{
    if (s->hub) {
        wsd_hub_leave(&s->member, s->close_code);   /* a shared program runs on */
        return;
    }
    if (!s->prog)
        return;
    wsd_program_end(s->prog);
    if (s->held)
        wsd_defer(&s->resume);
}

/* Stops reading the program's stdout (or stderr) while the client's queue
 * is full. */
static void out_pause_if_full(ws_session *s, int which)
{
    if (!s->prog || wsd_tp_queued(&s->c->tp) <= OUT_HIGH)
        return;
    if (which == WSD_PROGRAM_STDOUT && !s->out_paused) {
        s->out_paused = 1;
        wsd_program_read(s->prog, WSD_PROGRAM_STDOUT, 0);
    } else if (which == WSD_PROGRAM_STDERR && !s->err_paused) {
        s->err_paused = 1;
        wsd_program_read(s->prog, WSD_PROGRAM_STDERR, 0);
    }
}

static void on_prog_stdout(wsd_program *p, const char *buf, size_t n, int eof)
{
    ws_session *s = p->data;
    conn *c = s->c;
    const wsd_config *cfg = c->cfg;

    if (c->state == ST_OPEN && cfg->passstderr) {
        tagged_feed(s, 0, buf, n, eof);
    } else if (c->state == ST_OPEN && cfg->lossless) {
        const char *err = NULL;
        size_t flen = 0;
        uint8_t *sc = scratch(wsd_record_bound(n));
        long rc = wsd_record_encode(s->rec, (const uint8_t *)buf, n, eof, sc, &flen, &err);
        send_frames(s, sc, flen);  /* all valid before an error */
        if (rc < 0) {
            wsd_log(WSD_LOG_ERROR, "process", c->assoc, "Malformed record from program: %s",
                    err ? err : "?");
            ws_close(s, WSD_WS_CLOSE_INTERNAL, "malformed record from program");
            end_program(s);
            return;
        }
    } else if (c->state == ST_OPEN) {
        uint8_t *sc = scratch(wsd_outframer_bound(n));
        send_frames(s, sc, wsd_outframer_encode(&s->of, (const uint8_t *)buf, n, eof, sc));
    }
    if (!eof) {
        out_pause_if_full(s, WSD_PROGRAM_STDOUT);
        return;
    }
    s->out_eof = 1;
    if (p->reaped && output_done(s))
        ws_close_after_program(s, p);
}

static void on_prog_stderr(wsd_program *p, const char *buf, size_t n, int eof)
{
    ws_session *s = p->data;

    if (s->c->state == ST_OPEN)
        tagged_feed(s, 1, buf, n, eof);   /* --passstderr */
    if (!eof)
        out_pause_if_full(s, WSD_PROGRAM_STDERR);
    if (eof) {
        s->err_eof = 1;
        if (p->reaped && output_done(s))
            ws_close_after_program(s, p);
    }
}

static void on_prog_exit(wsd_program *p)
{
    ws_session *s = p->data;

    if (output_done(s))
        ws_close_after_program(s, p);
    resume_input(s);               /* its stdin is closed: held input is decoded on */
}

static void on_prog_stdin_ready(wsd_program *p)
{
    resume_input(p->data);
}

static void on_prog_done(wsd_program *p)
{
    ws_session *s = p->data;

    wsd_program_free(p);
    s->prog = NULL;
    conn_unref(s->c);
}

/* stderr reaches the session only with --passstderr (else it is only logged) */
static const wsd_program_ops program_ops = {
    on_prog_stdout, NULL, on_prog_exit, on_prog_stdin_ready, on_prog_done,
};
static const wsd_program_ops program_ops_stderr = {
    on_prog_stdout, on_prog_stderr, on_prog_exit, on_prog_stdin_ready, on_prog_done,
};

int ws_session_forks(conn *c)
{
    ws_session *s = c->ws;

    if (!c->cfg->shared)
        return 1;
    if (!s->hub)
        s->hub = wsd_hub_get(c->srv, c->snap, c->ep, s->route);
    return !wsd_hub_running(s->hub);
}

int ws_session_pid(conn *c)
{
    ws_session *s = c->ws;

    if (s->hub)
        return wsd_hub_pid(s->hub);
    return s->prog ? s->prog->pid : 0;
}

int ws_session_spawn(conn *c, const wsd_request *r)
{
    ws_session *s = c->ws;
    const wsd_config *cfg = c->cfg;
    wsd_spawn_options opt;
    wsd_program_options po;
    wsd_kill_plan kill;
    char path_info[WSD_HTTP_MAX_HEAD];
    char *dir_argv[2];
    wsd_env_input ei;
    char **env, **tenv = NULL;
    int rc;

    if (cfg->shared && !s->hub)
        s->hub = wsd_hub_get(c->srv, c->snap, c->ep, s->route);
    if (s->hub) {
        rc = wsd_hub_start(s->hub);
        if (rc != 0)
            return rc;
        s->spawned = 1;
        if (!cfg->lossless)
            return 0;
        /* addressed mode: its variables go to the program in its join record */
    }
    if (wsd_http_url_decode(r->path, strlen(r->path), path_info) < 0)
        snprintf(path_info, sizeof path_info, "%s", r->path);
    memset(&ei, 0, sizeof ei);
    ei.cfg = cfg;
    ei.req = r;
    ei.remote_ip = c->remote_ip;
    ei.remote_port = c->remote_port;
    ei.remote_host = c->remote_host ? c->remote_host : c->remote_ip;
    ei.unique_id = c->id;
    /* COMMAND: SCRIPT_NAME "/" and the whole path; a route's command: the
     * route and the path under it */
    ei.script_name = s->route ? s->route->script_name : c->ep->is_route ? c->ep->path : "/";
    ei.path_info = s->route ? s->route->path_info : c->ep->is_route ? c->subpath : path_info;
    ei.https = wsd_tp_is_tls(&c->tp);
    ei.subprotocol = s->subprotocol;
    ei.access = c->access;         /* the user, a trusted proxy's scheme and host (access.c) */
    env = wsd_env_build(&ei);
    if (s->hub) {
        s->joinenv = env;
        return 0;
    }

    memset(&opt, 0, sizeof opt);
    if (s->route) {
        /* --dir: argv = the script's path under DIR, no arguments (websocketd);
         * the path as requested (symlinks kept, checked to resolve inside
         * DIR): a script's $0 is the path it was executed by */
        dir_argv[0] = s->route->file;
        dir_argv[1] = NULL;
        opt.file = s->route->file;
        opt.argv = dir_argv;
    } else {
        opt.file = cfg->command_path;
        opt.argv = cfg->argv;
    }
    opt.env = env;                 /* its own session and process group: process.h */

    wsd_kill_plan_websocket(&kill, (unsigned)cfg->closems);
    if (cfg->pty) {                /* terminal mode: terminal.h */
        tenv = wsd_term_env(env);  /* env's strings plus TERM */
        opt.env = tenv;
        wsd_term_kill_plan(&kill, (unsigned)cfg->closems);
        s->term = wsd_term_new();
    }
    memset(&po, 0, sizeof po);
    po.spawn = &opt;
    po.ops = cfg->passstderr ? &program_ops_stderr : &program_ops;
    po.kill = &kill;
    po.log_category = "process";
    po.stderr_category = "stderr";
    po.assoc = &c->assoc;
    po.data = s;
    po.pty = cfg->pty ? WSD_PTY_TERMINAL : cfg->linebuffered ? WSD_PTY_STDOUT : WSD_PTY_NONE;
    rc = wsd_program_start(c->srv->loop, &po, &s->prog);
    free(tenv);
    free(env);
    if (rc == 0) {
        s->spawned = 1;
        conn_ref(c);               /* until the program is done */
    }
    return rc;
}

/* ------------------------------------------------------------ from the client */

static void stdin_write(ws_session *s, const uint8_t *p, size_t n)
{
    if (s->prog)
        wsd_program_write(s->prog, p, n);
}

static int stdin_full(const ws_session *s)
{
    if (s->c->state != ST_OPEN)
        return 0;
    if (s->hub)
        return s->member.hub && wsd_hub_stdin_full(s->member.hub);
    return s->prog && wsd_program_stdin_full(s->prog);
}

/* Held input may go on: the program's stdin has room (below
 * WSD_STDIN_LOW) or takes nothing any more. */
static int stdin_has_room(const ws_session *s)
{
    if (s->hub)
        return !s->member.hub || wsd_hub_stdin_queued(s->member.hub) < WSD_STDIN_LOW;
    return !s->prog || !wsd_program_stdin_open(s->prog) ||
           wsd_program_stdin_queued(s->prog) < WSD_STDIN_LOW;
}

/* The client's reads stop while input is held back or the stdin queue is
 * full, and resume when neither is true any more (resume_input). */
static void hold_input_if_full(ws_session *s)
{
    if (!s->held && (s->rest || s->zin || stdin_full(s))) {
        s->held = 1;
        wsd_tp_hold(&s->c->tp, WSD_HOLD_STDIN);
    }
}

/* Keeps the unread rest of a client read until the program catches up. */
static void hold_rest(ws_session *s, const uint8_t *p, size_t n)
{
    if (n > 0) {
        assert(!s->rest);
        s->rest = xmalloc(n);
        memcpy(s->rest, p, n);
        s->nrest = n;
    }
    hold_input_if_full(s);
}

/* The program's stdin has room again (or closed): finish the input held
 * back, then let the client send more. */
static void resume_input(ws_session *s)
{
    conn *c = s->c;

    wsd_defer_cancel(&s->resume);
    if (s->zin) {
        uint8_t *z = s->zin;
        size_t zl = s->zinlen;
        s->zin = NULL;
        s->zinlen = 0;
        if (c->state == ST_OPEN) {
            int rc = inflate_data(s, z, zl, s->zfin, s->zop);
            free(z);
            if (rc != 0)
                return;            /* held again, or closed */
        } else {
            free(z);
        }
    }
    if (s->rest) {
        uint8_t *r = s->rest;
        size_t rn = s->nrest;
        s->rest = NULL;
        s->nrest = 0;
        if (!c->tp.closing)
            ws_feed(s, r, rn);
        free(r);
        if (s->rest || s->zin)
            return;
    }
    if (s->held && stdin_has_room(s)) {
        s->held = 0;
        wsd_tp_release(&c->tp, WSD_HOLD_STDIN);
    }
}

static void on_resume(wsd_deferred *d)
{
    resume_input((ws_session *)((char *)d - offsetof(ws_session, resume)));
}

/* --pty: binary messages are typed into the terminal, text messages are
 * control messages (terminal.h); an invalid one closes the session. */
static int term_input(ws_session *s, int opcode, const uint8_t *data, size_t len, int fin)
{
    const char *why = NULL;
    int code = wsd_term_input(s->term, s->prog, opcode, data, len, fin, s->c->assoc, &why);

    if (code == 0)
        return 0;
    wsd_log(WSD_LOG_ACCESS, "websocket", s->c->assoc, "Closing with %d: %s", code, why);
    ws_close(s, (uint16_t)code, why);
    end_program(s);
    return -1;
}

/* --lossless: each message reaches stdin as "text|binary LEN\n<payload>\n".
 * An unfragmented message's length is known from its frame header, so it
 * streams through; a fragmented one is reassembled (bounded by
 * --maxframesize, or LOSSLESS_MAX when that is 0) to learn its length. */
static int lossless_data(ws_session *s, const wsd_ws_event *ev)
{
    static const uint8_t nl = '\n';
    char hdr[WSD_RECORD_HEADER_MAX];
    size_t hl;

    if (ev->first && ev->frame_fin && !ev->compressed) {
        hl = wsd_record_header(hdr, ev->opcode == WSD_WS_TEXT, ev->len + ev->frame_left);
        stdin_write(s, (const uint8_t *)hdr, hl);
        s->msg_streaming = 1;
    }
    if (s->msg_streaming) {
        stdin_write(s, ev->data, ev->len);
        if (ev->fin) {
            stdin_write(s, &nl, 1);
            s->msg_streaming = 0;
        }
        return 0;
    }
    if (ev->len > LOSSLESS_MAX - s->msglen) {
        ws_close(s, WSD_WS_CLOSE_TOO_BIG, "message too big");
        end_program(s);
        return -1;
    }
    if (s->msglen + ev->len > s->msgcap) {
        size_t cap = s->msgcap ? s->msgcap : 4096;
        while (cap < s->msglen + ev->len)
            cap *= 2;
        s->msg = xrealloc(s->msg, cap);
        s->msgcap = cap;
    }
    if (ev->len)
        memcpy(s->msg + s->msglen, ev->data, ev->len);
    s->msglen += ev->len;
    if (ev->fin) {
        hl = wsd_record_header(hdr, ev->opcode == WSD_WS_TEXT, s->msglen);
        stdin_write(s, (const uint8_t *)hdr, hl);
        stdin_write(s, (const uint8_t *)s->msg, s->msglen);
        stdin_write(s, &nl, 1);
        free(s->msg);
        s->msg = NULL;
        s->msglen = s->msgcap = 0;
    }
    return 0;
}

/* --shared: a piece of a message to the hub, which writes whole messages. */
static int shared_input(ws_session *s, int opcode, const uint8_t *data, size_t len, int fin)
{
    if (wsd_hub_input(&s->member, opcode, data, len, fin) == 0)
        return 0;
    s->close_code = WSD_WS_CLOSE_TOO_BIG;
    ws_close(s, WSD_WS_CLOSE_TOO_BIG, "message too big");
    end_program(s);
    return -1;
}

/* Plaintext of one message for the program: text mode adds the newline at
 * the end of a text message; --lossless frames it as a record. */
static int deliver(ws_session *s, int opcode, const uint8_t *data, size_t len, int fin)
{
    static const uint8_t nl = '\n';

    if (s->hub)
        return shared_input(s, opcode, data, len, fin);
    if (s->term)
        return term_input(s, opcode, data, len, fin);
    if (s->c->cfg->lossless) {
        wsd_ws_event e;
        memset(&e, 0, sizeof e);
        e.opcode = opcode;
        e.data = data;
        e.len = len;
        e.fin = fin;
        e.compressed = 1;          /* length unknown: reassemble */
        return lossless_data(s, &e);
    }
    stdin_write(s, data, len);
    if (fin && opcode == WSD_WS_TEXT)
        stdin_write(s, &nl, 1);
    return 0;
}

/* Inflates (part of) a compressed message into the program's stdin,
 * checking text for UTF-8. Returns 0 when the chunk is consumed, 1 when it
 * stopped because stdin is full (the rest is kept in s->zin), -1 when it
 * closed the connection. A decompression bomb costs one 16 KiB buffer,
 * then 1009. */
static int inflate_data(ws_session *s, const uint8_t *in, size_t inlen, int fin, int opcode)
{
    uint8_t out[WSD_PMD_CHUNK];

    for (;;) {
        size_t got = 0;
        int rc;
        if (stdin_full(s)) {
            s->zin = xmalloc(inlen ? inlen : 1);   /* non-NULL marks "held", even empty */
            if (inlen)
                memcpy(s->zin, in, inlen);
            s->zinlen = inlen;
            s->zfin = fin;
            s->zop = opcode;
            return 1;
        }
        rc = wsd_pmd_inflate(s->pmd, &in, &inlen, fin, out, sizeof out, &got);
        if (rc < 0) {
            wsd_log(WSD_LOG_ACCESS, "websocket", s->c->assoc, "Closing with %u: %s",
                    wsd_pmd_close_code(rc), wsd_pmd_strerror(rc));
            ws_close(s, wsd_pmd_close_code(rc), wsd_pmd_strerror(rc));
            end_program(s);
            return -1;
        }
        if (opcode == WSD_WS_TEXT && got > 0 &&
            wsd_utf8_validate(&s->zutf8, out, got) == WSD_UTF8_REJECT) {
            ws_close(s, WSD_WS_CLOSE_INVALID_DATA, "invalid UTF-8");
            end_program(s);
            return -1;
        }
        if (rc == WSD_PMD_END && opcode == WSD_WS_TEXT && s->zutf8 != WSD_UTF8_ACCEPT) {
            ws_close(s, WSD_WS_CLOSE_INVALID_DATA, "truncated UTF-8 sequence");
            end_program(s);
            return -1;
        }
        if (got > 0 || rc == WSD_PMD_END) {
            if (deliver(s, opcode, out, got, rc == WSD_PMD_END) != 0)
                return -1;
        }
        if (rc != WSD_PMD_OUTPUT)
            return 0;
    }
}

static void ws_feed_all(ws_session *s, uint8_t *p, size_t n)
{
    static const uint8_t nl = '\n';
    conn *c = s->c;
    wsd_ws_event ev;

    for (;;) {
        size_t used;
        if (n > 0 && stdin_full(s)) {
            hold_rest(s, p, n);    /* until the program catches up */
            return;
        }
        used = wsd_ws_decode(&s->dec, p, n, &ev);
        p += used;
        n -= used;
        switch (ev.type) {
        case WSD_WS_EV_MORE:
            hold_input_if_full(s);
            return;
        case WSD_WS_EV_DATA:
            if (c->state != ST_OPEN)
                break;             /* after our close frame: discard */
            if (ev.fin)
                wsd_metrics_inc(WSD_M_MESSAGES_IN);
            if (ev.compressed) {
                int rc;
                if (ev.first)
                    s->zutf8 = WSD_UTF8_ACCEPT;
                rc = inflate_data(s, ev.data, ev.len, ev.fin, ev.opcode);
                if (rc < 0)
                    return;
                if (rc > 0) {
                    hold_rest(s, p, n);
                    return;
                }
                break;
            }
            if (s->hub) {
                if (shared_input(s, ev.opcode, ev.data, ev.len, ev.fin) != 0)
                    return;
                break;
            }
            if (s->term) {
                if (term_input(s, ev.opcode, ev.data, ev.len, ev.fin) != 0)
                    return;
                break;
            }
            if (c->cfg->lossless) {
                if (lossless_data(s, &ev) != 0)
                    return;
                break;
            }
            stdin_write(s, ev.data, ev.len);
            if (ev.fin && ev.opcode == WSD_WS_TEXT)
                stdin_write(s, &nl, 1);
            break;
        case WSD_WS_EV_PING:
            if (c->state != ST_OPEN)
                break;
            if (wsd_tp_queued(&c->tp) < OUT_LOW) {
                send_control(s, WSD_WS_PONG, ev.data, ev.len);
            } else {
                /* the client is not reading: keep only the latest */
                if (!s->pong)
                    s->pong = xmalloc(125);
                if (ev.len)
                    memcpy(s->pong, ev.data, ev.len);
                s->npong = (uint8_t)ev.len;
                s->pong_pending = 1;
            }
            break;
        case WSD_WS_EV_PONG:
            break;
        case WSD_WS_EV_CLOSE:
            s->close_received = 1;
            s->close_code = ev.close_code;
            if (!s->first_code)
                s->first_code = ev.close_code;
            if (s->close_sent) {
                wsd_tp_close(&c->tp);   /* the reply to ours: done */
            } else {
                wsd_log(WSD_LOG_DEBUG, "websocket", c->assoc, "Client closed with %u",
                        ev.close_code);
                ws_close(s, ev.close_code == WSD_WS_CLOSE_NO_STATUS ? 0 : ev.close_code, "");
                end_program(s);
            }
            return;
        case WSD_WS_EV_ERROR:
            s->failed = 1;         /* the rest of the input is discarded */
            s->close_code = ev.close_code;
            wsd_log(WSD_LOG_ACCESS, "websocket", c->assoc, "Protocol error, closing with %u: %s",
                    ev.close_code, ev.reason);
            if (c->state == ST_OPEN)
                ws_close(s, ev.close_code, ev.reason);
            else
                wsd_tp_close(&c->tp);
            end_program(s);
            return;
        }
    }
}

/* Decodes one read. What it decodes for the program's stdin is gathered
 * and written at the end with one write(2) — payloads and their newlines —
 * not one write per chunk (measured: 1.9 pipe writes per echoed message
 * before). */
static void ws_feed(ws_session *s, uint8_t *p, size_t n)
{
    wsd_program *prog = s->prog;   /* freed only from a close callback */
    int outer = prog && !prog->gathering;

    if (outer)
        wsd_program_gather(prog, 1);
    ws_feed_all(s, p, n);
    if (outer)
        wsd_program_gather(prog, 0);
}

static void session_read(conn *c, char *p, size_t n)
{
    ws_session *s = c->ws;

    if (!s->opened || s->failed)
        return;                    /* after a protocol error: read and dropped until
                                    * the linger ends (nginx's lingering close) */
    if (c->state == ST_CLOSING && !(s->close_sent && !s->close_received))
        return;                    /* the close handshake is over: discard */
    ws_feed(s, (uint8_t *)p, n);
    hold_if_client_full(s);
}

/* --------------------------------------------------------------- pings */

static void on_ptimer_closed(uv_handle_t *h)
{
    conn *c = h->data;

    free(h);
    conn_unref(c);
}

static void on_ping_timer(uv_timer_t *t)
{
    conn *c = t->data;
    uint64_t ms = (uint64_t)c->cfg->pingms;

    if (c->state != ST_OPEN)
        return;
    if (uv_now(c->srv->loop) - c->tp.last_read >= 2 * ms) {
        conn_abort(c, WSD_LOG_ACCESS, "No pong for %llu ms, dropping the client",
                   (unsigned long long)(2 * ms));
        return;
    }
    send_control(c->ws, WSD_WS_PING, NULL, 0);
}

/* ---------------------------------------------------------------- life */

static void session_written(conn *c);
static void session_client_gone(conn *c);
static void session_shutdown(conn *c);
static void session_free(conn *c);

static const conn_handler session_handler = {
    session_read, NULL, session_written, session_client_gone, session_shutdown, session_free,
};

ws_session *ws_session_new(conn *c)
{
    ws_session *s = xcalloc(1, sizeof *s);

    s->c = c;
    s->resume.cb = on_resume;
    c->ws = s;
    c->h = &session_handler;
    return s;
}

/* --shared: what the hub asks of its member, this session. */
static void member_close(wsd_member *m, uint16_t code, const char *reason)
{
    ws_session *s = m->data;

    ws_close(s, code, reason);
}

static void member_program_ended(wsd_member *m, int64_t status, int sig, int failed)
{
    ws_session *s = m->data;

    if (failed == 2)
        ws_close(s, WSD_WS_CLOSE_INTERNAL, "shared program lost");
    else if (failed)
        ws_close(s, WSD_WS_CLOSE_INTERNAL, "could not launch the program");
    else
        ws_close_after_status(s, status, sig);
}

static void member_stdin_ready(wsd_member *m)
{
    ws_session *s = m->data;

    if (s->held)
        wsd_defer(&s->resume);
}

static void member_joined(wsd_member *m, int pid, int failed)
{
    ws_session *s = m->data;
    void (*done)(conn *, int) = s->join_done;

    (void)pid;
    s->join_done = NULL;
    if (done)
        done(s->c, failed);
}

static const wsd_member_ops member_ops = {
    member_close, member_program_ended, member_stdin_ready, member_joined,
};

int ws_session_join(conn *c, void (*done)(conn *c, int failed))
{
    ws_session *s = c->ws;
    int rc;

    s->member.tp = &c->tp;
    s->member.ops = &member_ops;
    s->member.data = s;
    s->member.id = c->id;
    s->member.cfg = c->cfg;
    s->member.zbits = s->pmd_on ? s->pmd->params.server_max_window_bits : 0;
    s->join_done = done;
    rc = wsd_hub_join(s->hub, &s->member, s->joinenv);
    free(s->joinenv);
    s->joinenv = NULL;
    if (rc != 1)
        s->join_done = NULL;
    return rc;
}

void ws_session_open(conn *c, const char *rest, size_t nrest)
{
    ws_session *s = c->ws;
    const wsd_config *cfg = c->cfg;

    s->opened = 1;
    wsd_ws_decoder_init(&s->dec, cfg->maxframesize);
    if (s->pmd_on)
        s->dec.rsv_allowed = 0x4;  /* RSV1: a compressed message */
    wsd_outframer_init(&s->of, cfg->binary || cfg->pty);
    if (cfg->lossless && !s->hub) {
        s->rec = xmalloc(sizeof *s->rec);
        wsd_record_decoder_init(s->rec, 0);
    }
    if (!s->hub)
        wsd_program_read(s->prog, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    /* the loop's cached time predates this iteration's spawn (which can be
     * slow): refresh it, or the first ping tick may find the client silent */
    uv_update_time(c->srv->loop);
    c->tp.last_read = uv_now(c->srv->loop);
    if (cfg->pingms > 0) {
        s->ptimer = xmalloc(sizeof *s->ptimer);
        uv_timer_init(c->srv->loop, s->ptimer);
        s->ptimer->data = c;
        conn_ref(c);               /* until the timer is closed */
        uv_timer_start(s->ptimer, on_ping_timer, (uint64_t)cfg->pingms, (uint64_t)cfg->pingms);
    }
    if (nrest > 0) {
        /* frames pipelined behind the handshake: not lost */
        uint8_t *copy = xmalloc(nrest);
        memcpy(copy, rest, nrest);
        ws_feed(s, copy, nrest);
        free(copy);
    }
}

static void session_written(conn *c)
{
    ws_session *s = c->ws;

    if (wsd_tp_queued(&c->tp) >= OUT_LOW)
        return;
    if (s->pong_pending && c->state == ST_OPEN) {
        s->pong_pending = 0;
        send_control(s, WSD_WS_PONG, s->pong, s->npong);
    }
    if (s->out_held) {
        s->out_held = 0;
        wsd_tp_release(&c->tp, WSD_HOLD_OUTPUT);
    }
    if (s->out_paused && s->prog) {
        s->out_paused = 0;
        wsd_program_read(s->prog, WSD_PROGRAM_STDOUT, 1);
    }
    if (s->err_paused && s->prog) {
        s->err_paused = 0;
        wsd_program_read(s->prog, WSD_PROGRAM_STDERR, 1);
    }
    if (s->hub)
        wsd_hub_written(&s->member);
}

static void session_client_gone(conn *c)
{
    ws_session *s = c->ws;

    if (s->ptimer) {
        uv_close((uv_handle_t *)s->ptimer, on_ptimer_closed);
        s->ptimer = NULL;
    }
    wsd_defer_cancel(&s->resume);
    if (s->hub)
        wsd_hub_leave(&s->member, s->close_code);
    if (s->prog) {
        /* nobody to deliver to: the program ends, its output is drained */
        wsd_program_end(s->prog);
        wsd_program_detach(s->prog);
    }
}

static void session_shutdown(conn *c)
{
    ws_session *s = c->ws;

    if (c->state == ST_OPEN)
        ws_close(s, WSD_WS_CLOSE_GOING_AWAY, "server shutting down");
    end_program(s);
}

static void session_free(conn *c)
{
    ws_session *s = c->ws;

    assert(!s->prog && !s->ptimer && !s->resume.queued && !s->member.hub);
    if (c->is_ws)
        wsd_metrics_ws_end(s->mroute, s->first_code ? s->first_code : 1006);
    free(s->joinenv);
    free(s->rest);
    free(s->zin);
    free(s->msg);
    free(s->pong);
    free(s->tagline[0]);
    free(s->tagline[1]);
    if (s->pmd) {
        wsd_pmd_free(s->pmd);
        free(s->pmd);
    }
    free(s->rec);                  /* (not addressed: nothing inside to free) */
    wsd_term_free(s->term);
    if (s->route) {
        wsd_route_free(s->route);
        free(s->route);
    }
    free(s);
    c->ws = NULL;
}
