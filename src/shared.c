/* shared.c — one program for many clients (see shared.h). */
#include "shared.h"

#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "log.h"
#include "outframe.h"
#include "pmd.h"
#include "record.h"
#include "util.h"
#include "ws.h"

#define RESTART_MIN_MS 100
#define RESTART_MAX_MS 30000
#define RESTART_STABLE_MS 10000        /* ran this long: the next restart is quick again */
#define ASSEMBLE_MAX (64u * 1024 * 1024)  /* a message for stdin when --maxframesize is 0 */

/* A run of frames waiting for one member's transport. */
struct wsd_qitem {
    wsd_qitem *next;
    wsd_buf *b;
    size_t off, len;
    unsigned msgs;               /* messages that end in it */
    unsigned starts : 1;         /* it starts at a message boundary */
    unsigned ends : 1;           /* it ends at one */
};

/* One compressed form of the output: a deflater per server window size in
 * use (no context takeover: a message compresses the same for everyone). */
typedef struct {
    int users;                   /* members with this window size */
    int awaiting_start;          /* (re)started inside a message: from the next one */
    wsd_pmd pmd;
} hub_zform;

struct wsd_hub {
    server *srv;
    wsd_hub *next;               /* srv->hubs */
    wsd_route *route;            /* --dir: the script; NULL: COMMAND */
    char *assoc;                 /* "shared:'<command>' pid:'N'" for the log */
    wsd_program *prog;           /* the running instance, or NULL */
    int out_eof;                 /* its stdout is at EOF */
    wsd_member *members;
    long nmembers;
    wsd_outframer of;            /* its output, framed once */
    wsd_record_decoder rec;      /* --lossless: addressed records */
    char *to[WSD_RECORD_MAX_TO]; /* the recipients of the record under way */
    size_t nto;                  /* 0: everyone */
    int open;                    /* the output so far ends inside a message */
    hub_zform z[16];             /* index: window bits 8..15 */
    uv_timer_t *restart;         /* --sharedalways: the next start */
    unsigned backoff_ms;
    uint64_t started_at;
    int stopping;                /* shutting down: no restart */
};

static void end_program(wsd_hub *h);
static void maybe_free(wsd_hub *h);
static void schedule_restart(wsd_hub *h, uint64_t ran);
static void hub_write(wsd_hub *h, const void *p, size_t n);

static const wsd_config *cfg_of(const wsd_hub *h)
{
    return h->srv->cfg;
}

static const char *sig_name(int sig)
{
    const char *n = sigabbrev_np(sig);
    return n ? n : "?";
}

/* ------------------------------------------------------------ members */

static void q_free(wsd_member *m)
{
    while (m->qhead) {
        wsd_qitem *q = m->qhead;
        m->qhead = q->next;
        wsd_buf_unref(q->b);
        free(q);
    }
    m->qtail = NULL;
    m->qbytes = 0;
}

/* Lets m go: no more output, its queue released. */
static void unlink_member(wsd_member *m)
{
    wsd_hub *h = m->hub;

    if (!h)
        return;
    if (m->prev)
        m->prev->next = m->next;
    else
        h->members = m->next;
    if (m->next)
        m->next->prev = m->prev;
    m->prev = m->next = NULL;
    m->hub = NULL;
    h->nmembers--;
    if (m->zbits && --h->z[m->zbits].users == 0)
        wsd_pmd_free(&h->z[m->zbits].pmd);   /* re-made, fresh, when needed again */
    q_free(m);
    free(m->joinrec);
    m->joinrec = NULL;
    m->joinlen = 0;
    free(m->msg);
    m->msg = NULL;
    m->msglen = m->msgcap = 0;
    m->assembling = 0;
}

/* m leaves: its queue released; in addressed mode the program is told
 * ("leave ID CODE"); on demand the last one ends the program. The hub is
 * not freed here: the callers, at the top of a callback, call maybe_free. */
static void member_gone(wsd_member *m, int code)
{
    wsd_hub *h = m->hub;

    if (!h)
        return;
    unlink_member(m);
    if (cfg_of(h)->lossless && h->prog) {
        char rec[96];
        int n = snprintf(rec, sizeof rec, "leave %s %d\n", m->id, code ? code : 1006);
        hub_write(h, rec, (size_t)n);
    }
    if (!h->members && !cfg_of(h)->sharedalways)
        end_program(h);            /* the last one has gone */
}

/* Hands queued frames to m's transport while it has room. */
static void q_pump(wsd_member *m)
{
    while (m->qhead && wsd_tp_queued(m->tp) < OUT_LOW) {
        wsd_qitem *q = m->qhead;
        m->qhead = q->next;
        if (!m->qhead)
            m->qtail = NULL;
        m->qbytes -= q->len;
        wsd_tp_send_buf(m->tp, q->b, q->off, q->len);
        wsd_buf_unref(q->b);
        free(q);
    }
}

/* --shareddrop: the oldest whole messages not yet started go. Items that
 * continue a message the client has begun are kept; a run that reaches the
 * end of the queue inside a message is dropped and the rest of that message
 * skipped. Returns 0, or -1 when nothing could be dropped. */
static int drop_oldest(wsd_member *m, size_t limit)
{
    wsd_qitem **pp = &m->qhead, *q;
    int dropped_any = 0;

    while (*pp && !(*pp)->starts)
        pp = &(*pp)->next;         /* continuations of a begun message */
    while (*pp && m->qbytes + wsd_tp_queued(m->tp) > limit) {
        /* one run: from a message start to the end of a message */
        do {
            q = *pp;
            *pp = q->next;
            m->qbytes -= q->len;
            m->dropped += q->msgs;
            dropped_any = 1;
            if (!q->ends && !*pp)
                m->awaiting_start = 1; /* its message goes on: skip the rest */
            wsd_buf_unref(q->b);
            free(q);
        } while (*pp && !(*pp)->starts);
    }
    m->qtail = NULL;
    for (q = m->qhead; q; q = q->next)
        m->qtail = q;
    return dropped_any ? 0 : -1;
}

/* One variant of a chunk of output for m. */
static void deliver(wsd_member *m, wsd_buf *b, const wsd_ws_frames_info *fi)
{
    const wsd_config *cfg = cfg_of(m->hub);
    size_t off = 0, len;
    unsigned msgs = fi->completes;
    int starts = !fi->begins_inside;

    if (m->awaiting_start) {
        if (fi->first_start >= b->len)
            return;                /* no message starts here */
        off = fi->first_start;
        msgs -= fi->begins_inside ? 1 : 0;
        starts = 1;
        m->awaiting_start = 0;
    }
    len = b->len - off;
    if (len == 0)
        return;
    if (!m->qhead && wsd_tp_queued(m->tp) < OUT_LOW) {
        wsd_tp_send_buf(m->tp, b, off, len);
    } else {
        wsd_qitem *q = xmalloc(sizeof *q);
        q->next = NULL;
        q->b = wsd_buf_ref(b);
        q->off = off;
        q->len = len;
        q->msgs = msgs;
        q->starts = starts;
        q->ends = !fi->ends_inside;
        if (m->qtail)
            m->qtail->next = q;
        else
            m->qhead = q;
        m->qtail = q;
        m->qbytes += len;
    }
    if (m->qbytes + wsd_tp_queued(m->tp) <= cfg->sharedqueue)
        return;
    if (cfg->shareddrop && drop_oldest(m, cfg->sharedqueue) == 0) {
        wsd_log(WSD_LOG_DEBUG, "shared", m->hub->assoc, "Client %s too slow: %llu messages dropped",
                m->id, (unsigned long long)m->dropped);
        return;
    }
    wsd_log(WSD_LOG_ACCESS, "shared", m->hub->assoc,
            "Client %s too slow (%zu bytes waiting): closing with 1008", m->id,
            m->qbytes + wsd_tp_queued(m->tp));
    {
        const wsd_member_ops *ops = m->ops;
        member_gone(m, WSD_WS_CLOSE_POLICY);
        ops->close(m, WSD_WS_CLOSE_POLICY, "client too slow");
    }
}

/* The same frames to every member (to_ids NULL) or to the members named
 * (addressed mode). Framed once; compressed once per window size. */
static void broadcast(wsd_hub *h, const uint8_t *frames, size_t n, const char *const *to_ids,
                      size_t nto)
{
    wsd_buf *plain = NULL, *zbuf[16] = {0};
    wsd_ws_frames_info pfi, zfi[16];
    wsd_member *m, *next;
    int bits;

    if (n == 0)
        return;
    if (wsd_ws_scan_frames(frames, n, &pfi) != 0) {
        wsd_log(WSD_LOG_ERROR, "shared", h->assoc, "Internal error: malformed frames");
        return;
    }
    /* every deflater in use sees every message from its start: compress
     * now, whoever this chunk is for */
    for (bits = 8; bits <= 15; bits++) {
        hub_zform *z = &h->z[bits];
        const uint8_t *in = frames;
        size_t inlen = n, cap, zlen = 0;
        uint8_t *out;
        if (!z->users)
            continue;
        if (z->awaiting_start) {
            if (pfi.first_start >= n)
                continue;
            in += pfi.first_start;
            inlen -= pfi.first_start;
            z->awaiting_start = 0;
        }
        cap = wsd_pmd_frames_bound(in, inlen);
        out = xmalloc(cap);
        if (wsd_pmd_encode_frames(&z->pmd, in, inlen, out, cap, &zlen) != WSD_PMD_OK) {
            wsd_log(WSD_LOG_ERROR, "shared", h->assoc, "Compression failed");
            free(out);
            continue;
        }
        zbuf[bits] = wsd_buf_new(out, zlen);
        free(out);
        wsd_ws_scan_frames(zbuf[bits]->data, zlen, &zfi[bits]);
    }
    for (m = h->members; m; m = next) {
        next = m->next;
        if (to_ids) {
            size_t k;
            for (k = 0; k < nto && strcmp(to_ids[k], m->id) != 0; k++)
                ;
            if (k == nto)
                continue;
        }
        if (m->zbits) {
            if (zbuf[m->zbits])
                deliver(m, zbuf[m->zbits], &zfi[m->zbits]);
            continue;
        }
        if (!plain)
            plain = wsd_buf_new(frames, n);
        deliver(m, plain, &pfi);
    }
    if (plain)
        wsd_buf_unref(plain);
    for (bits = 8; bits <= 15; bits++)
        if (zbuf[bits])
            wsd_buf_unref(zbuf[bits]);
    h->open = pfi.ends_inside || (pfi.first_start >= n && h->open);
}

/* ------------------------------------------------------------- output */

/* Frames are built in one buffer for the whole process, sized for the
 * worst case (as session.c's). */
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

static void program_finished(wsd_hub *h, wsd_program *p);

static void set_recipients(wsd_hub *h, const wsd_record_event *ev)
{
    size_t i;

    for (i = 0; i < h->nto; i++)
        free(h->to[i]);
    for (i = 0; i < ev->nto; i++)
        h->to[i] = xstrdup(ev->to[i]);
    h->nto = ev->nto;
}

/* close ID CODE LEN: the program asks to close one client. */
static void close_member(wsd_hub *h, const wsd_record_event *ev)
{
    wsd_member *m;

    for (m = h->members; m && strcmp(m->id, ev->id) != 0; m = m->next)
        ;
    if (!m) {
        wsd_log(WSD_LOG_DEBUG, "shared", h->assoc, "close record for %s: no such client", ev->id);
        return;
    }
    {
        const wsd_member_ops *ops = m->ops;
        wsd_log(WSD_LOG_DEBUG, "shared", h->assoc, "Program closes client %s with %u", m->id,
                ev->code);
        member_gone(m, (int)ev->code);
        ops->close(m, (uint16_t)ev->code, ev->reason);
    }
}

/* Addressed mode: records → frames for their recipients, close commands;
 * a malformed record is logged and skipped (never reaches a client). */
static void addressed_output(wsd_hub *h, const uint8_t *in, size_t n, int eof)
{
    size_t pos = 0;

    for (;;) {
        wsd_record_event ev;
        size_t flen = 0;
        uint8_t *sc = scratch(wsd_record_bound(n - pos));
        size_t used = wsd_record_step(&h->rec, in + pos, n - pos, eof, sc, &flen, &ev);
        broadcast(h, sc, flen, h->nto ? (const char *const *)h->to : NULL, h->nto);
        pos += used;
        switch (ev.type) {
        case WSD_REC_START:
            set_recipients(h, &ev);
            break;
        case WSD_REC_CLOSE:
            close_member(h, &ev);
            break;
        case WSD_REC_BAD:
            wsd_log(WSD_LOG_ERROR, "shared", h->assoc, "Malformed record from program skipped: %s",
                    ev.err);
            break;
        default:
            return;                /* the input is consumed */
        }
    }
}

static void on_prog_stdout(wsd_program *p, const char *buf, size_t n, int eof)
{
    wsd_hub *h = p->data;
    uint8_t *sc;
    size_t flen;

    if (!h)
        return;                    /* an instance being ended: nobody listens */
    if (cfg_of(h)->lossless) {
        addressed_output(h, (const uint8_t *)buf, n, eof);
    } else {
        sc = scratch(wsd_outframer_bound(n));
        flen = wsd_outframer_encode(&h->of, (const uint8_t *)buf, n, eof, sc);
        broadcast(h, sc, flen, NULL, 0);
    }
    if (eof)
        h->out_eof = 1;
    if (eof && p->reaped && h->prog == p)
        program_finished(h, p);    /* (which may free the hub) */
    else
        maybe_free(h);             /* a slow or closed member may have been the last */
}

static void on_prog_exit(wsd_program *p)
{
    wsd_hub *h = p->data;

    if (!h)
        return;
    if (p->term_signal)
        wsd_log(WSD_LOG_INFO, "shared", h->assoc, "Shared program killed by signal %d (SIG%s)",
                p->term_signal, sig_name(p->term_signal));
    else
        wsd_log(WSD_LOG_INFO, "shared", h->assoc, "Shared program exited with status %lld",
                (long long)p->exit_status);
    if (h->out_eof)
        program_finished(h, p);
}

static void on_prog_stdin_ready(wsd_program *p)
{
    wsd_hub *h = p->data;
    wsd_member *m, *next;

    if (!h)
        return;
    for (m = h->members; m; m = next) {
        next = m->next;
        m->ops->stdin_ready(m);
    }
}

static void on_prog_done(wsd_program *p)
{
    wsd_hub *h = p->data;

    if (h->prog == p)
        h->prog = NULL;
    wsd_program_free(p);
    maybe_free(h);
}

static const wsd_program_ops hub_program_ops = {
    on_prog_stdout, NULL, on_prog_exit, on_prog_stdin_ready, on_prog_done,
};

/* ------------------------------------------------------------- life */

/* Ends the running instance (the WebSocket kill schedule); it finishes on
 * its own, unheard. */
static void end_program(wsd_hub *h)
{
    wsd_program *p = h->prog;

    if (!p)
        return;
    h->prog = NULL;
    wsd_program_end(p);
    wsd_program_detach(p);
    wsd_program_orphan(p, h->assoc);   /* its callbacks no longer reach the hub */
}

static void on_restart_closed(uv_handle_t *t)
{
    free(t);
}

static void maybe_free(wsd_hub *h)
{
    wsd_hub **pp;
    int bits;

    if (h->prog || h->members || (cfg_of(h)->sharedalways && !h->stopping))
        return;
    for (pp = &h->srv->hubs; *pp != h; pp = &(*pp)->next)
        ;
    *pp = h->next;
    if (h->restart)
        uv_close((uv_handle_t *)h->restart, on_restart_closed);
    for (bits = 8; bits <= 15; bits++)
        wsd_pmd_free(&h->z[bits].pmd);
    {
        wsd_record_event none;
        none.nto = 0;
        set_recipients(h, &none);
    }
    wsd_record_decoder_free(&h->rec);
    if (h->route) {
        wsd_route_free(h->route);
        free(h->route);
    }
    free(h->assoc);
    free(h);
}

static void on_restart(uv_timer_t *t)
{
    wsd_hub *h = t->data;

    if (h->stopping || h->prog)
        return;
    if (wsd_hub_start(h) != 0)
        schedule_restart(h, 0);
}

/* --sharedalways: the next start, 100 ms after an instance that ran at
 * least RESTART_STABLE_MS, else twice the last wait (at most 30 s). */
static void schedule_restart(wsd_hub *h, uint64_t ran)
{
    if (ran >= RESTART_STABLE_MS || h->backoff_ms == 0)
        h->backoff_ms = RESTART_MIN_MS;
    else
        h->backoff_ms = h->backoff_ms * 2 > RESTART_MAX_MS ? RESTART_MAX_MS : h->backoff_ms * 2;
    wsd_log(WSD_LOG_ERROR, "shared", h->assoc, "Restarting the shared program in %u ms",
            h->backoff_ms);
    if (!h->restart) {
        h->restart = xmalloc(sizeof *h->restart);
        uv_timer_init(h->srv->loop, h->restart);
        h->restart->data = h;
    }
    uv_timer_start(h->restart, on_restart, h->backoff_ms, 0);
}

/* The instance exited and its output is out. On demand: every member gets
 * the close frame that reports it, and the hub is done with them (a new
 * client starts a new instance). --sharedalways: members stay; the program
 * is started again after the backoff. */
static void program_finished(wsd_hub *h, wsd_program *p)
{
    wsd_member *m, *next;

    if (h->prog != p)
        return;
    h->prog = NULL;
    if (!cfg_of(h)->sharedalways || h->stopping) {
        for (m = h->members; m; m = next) {
            const wsd_member_ops *ops = m->ops;
            next = m->next;
            unlink_member(m);
            ops->program_ended(m, p);
        }
        wsd_program_orphan(p, h->assoc);
        maybe_free(h);
        return;
    }
    wsd_program_orphan(p, h->assoc);
    schedule_restart(h, uv_now(h->srv->loop) - h->started_at);
}

static void set_assoc(wsd_hub *h)
{
    const wsd_config *cfg = cfg_of(h);
    const char *command = h->route ? h->route->real : cfg->command ? cfg->command : "";
    char cmd[1024];
    wsd_str a;

    wsd_log_escape(cmd, sizeof cmd, command, strlen(command));
    wsd_str_init(&a, 2048);
    if (h->prog)
        wsd_str_appendf(&a, "shared:'%s' pid:'%d'", cmd, h->prog->pid);
    else
        wsd_str_appendf(&a, "shared:'%s'", cmd);
    free(h->assoc);
    h->assoc = a.s;
}

wsd_hub *wsd_hub_get(server *srv, const wsd_route *route)
{
    wsd_hub *h;

    for (h = srv->hubs; h; h = h->next) {
        if ((!route && !h->route) || (route && h->route && strcmp(route->real, h->route->real) == 0))
            return h;
    }
    h = xcalloc(1, sizeof *h);
    h->srv = srv;
    if (route) {
        h->route = xcalloc(1, sizeof *h->route);
        h->route->file = xstrdup(route->file);
        h->route->real = xstrdup(route->real);
        h->route->script_name = xstrdup(route->script_name);
        h->route->path_info = xstrdup("");
    }
    set_assoc(h);
    h->next = srv->hubs;
    srv->hubs = h;
    return h;
}

int wsd_hub_start(wsd_hub *h)
{
    const wsd_config *cfg = cfg_of(h);
    wsd_spawn_options opt;
    wsd_program_options po;
    wsd_kill_plan kill;
    char *dir_argv[2];
    char **env;
    int rc;

    if (h->prog)
        return 0;
    env = wsd_env_build_shared(cfg, h->route ? h->route->script_name : "/",
                               h->route ? h->route->file : NULL);
    memset(&opt, 0, sizeof opt);
    if (h->route) {
        dir_argv[0] = h->route->file;
        dir_argv[1] = NULL;
        opt.file = h->route->file;
        opt.argv = dir_argv;
    } else {
        opt.file = cfg->command_path;
        opt.argv = cfg->argv;
    }
    opt.env = env;
    wsd_kill_plan_websocket(&kill, (unsigned)cfg->closems);
    memset(&po, 0, sizeof po);
    po.spawn = &opt;
    po.ops = &hub_program_ops;
    po.kill = &kill;
    po.log_category = "shared";
    po.stderr_category = "stderr";
    po.assoc = &h->assoc;
    po.data = h;
    rc = wsd_program_start(h->srv->loop, &po, &h->prog);
    free(env);
    if (rc != 0) {
        wsd_log(WSD_LOG_ERROR, "shared", h->assoc, "Could not launch process %s (%s)",
                opt.file ? opt.file : "", wsd_spawn_strerror(rc));
        return rc;
    }
    h->out_eof = 0;
    h->open = 0;
    h->started_at = uv_now(h->srv->loop);
    wsd_outframer_init(&h->of, cfg->binary);
    wsd_record_decoder_free(&h->rec);
    wsd_record_decoder_init_addressed(&h->rec);
    {
        wsd_record_event none;
        none.nto = 0;
        set_recipients(h, &none);
    }
    set_assoc(h);
    wsd_log(WSD_LOG_INFO, "shared", h->assoc, "Shared program started");
    wsd_program_read(h->prog, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    {   /* members kept across a restart: the new instance learns of them */
        wsd_member *m;
        for (m = h->members; m; m = m->next)
            if (m->joinrec)
                hub_write(h, m->joinrec, m->joinlen);
    }
    return 0;
}

int wsd_hub_pid(const wsd_hub *h)
{
    return h->prog ? h->prog->pid : 0;
}

/* ------------------------------------------------------------- members */

/* Writes bytes for the program's stdin (dropped when none runs). */
static void hub_write(wsd_hub *h, const void *p, size_t n)
{
    if (h->prog)
        wsd_program_write(h->prog, p, n);
}

void wsd_hub_join(wsd_hub *h, wsd_member *m, char *const *env)
{
    m->hub = h;
    m->prev = NULL;
    m->next = h->members;
    if (h->members)
        h->members->prev = m;
    h->members = m;
    h->nmembers++;
    m->awaiting_start = h->open;   /* a message is under way: from the next one */
    if (m->zbits) {
        hub_zform *z = &h->z[m->zbits];
        if (z->users++ == 0) {
            wsd_pmd_params pp;
            memset(&pp, 0, sizeof pp);
            pp.server_no_context_takeover = 1;
            pp.server_max_window_bits = m->zbits;
            pp.client_max_window_bits = 15;
            wsd_pmd_init(&z->pmd, &h->srv->pmdcfg, &pp, 0);
            z->awaiting_start = h->open;
        }
    }
    if (cfg_of(h)->lossless) {
        /* addressed mode: the program learns who joined (again after a
         * --sharedalways restart: the record is kept) */
        wsd_str body, rec;
        size_t i;
        wsd_str_init(&body, (size_t)-1 / 2);
        for (i = 0; env && env[i]; i++) {
            wsd_str_appends(&body, env[i]);
            wsd_str_append(&body, "\n", 1);
        }
        wsd_str_init(&rec, (size_t)-1 / 2);
        wsd_str_appendf(&rec, "join %s %zu\n", m->id, body.len);
        wsd_str_append(&rec, body.s ? body.s : "", body.len);
        wsd_str_append(&rec, "\n", 1);
        wsd_str_free(&body);
        m->joinrec = rec.s;
        m->joinlen = rec.len;
        hub_write(h, m->joinrec, m->joinlen);
    }
}

void wsd_hub_leave(wsd_member *m, int code)
{
    wsd_hub *h = m->hub;

    if (!h)
        return;
    member_gone(m, code);
    maybe_free(h);
}

/* One whole message of m's to stdin: text + "\n", raw binary, or (with
 * --lossless) a record naming its sender. */
static void write_message(wsd_member *m, int opcode, const uint8_t *p, size_t n)
{
    wsd_hub *h = m->hub;
    const wsd_config *cfg = cfg_of(h);

    if (!h->prog || !wsd_program_stdin_open(h->prog)) {
        wsd_log(WSD_LOG_DEBUG, "shared", h->assoc, "No program running: message from %s dropped",
                m->id);
        return;
    }
    if (cfg->lossless) {
        /* "text LEN from=ID\n": the plain header with the sender added */
        char hdr[WSD_RECORD_HEADER_MAX + 48];
        size_t hl = wsd_record_header(hdr, opcode == WSD_WS_TEXT, n) - 1;   /* without "\n" */
        hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, " from=%s\n", m->id);
        hub_write(h, hdr, hl);
        hub_write(h, p, n);
        hub_write(h, "\n", 1);
        return;
    }
    hub_write(h, p, n);
    if (opcode == WSD_WS_TEXT)
        hub_write(h, "\n", 1);
}

int wsd_hub_input(wsd_member *m, int opcode, const uint8_t *p, size_t n, int fin)
{
    wsd_hub *h = m->hub;
    uint64_t max;

    if (!h)
        return 0;
    if (fin && !m->assembling) {
        write_message(m, opcode, p, n);   /* it came whole: no copy */
        return 0;
    }
    max = cfg_of(h)->maxframesize ? cfg_of(h)->maxframesize : ASSEMBLE_MAX;
    if (n > max - m->msglen)
        return -1;
    if (m->msglen + n > m->msgcap) {
        size_t cap = m->msgcap ? m->msgcap : 4096;
        while (cap < m->msglen + n)
            cap *= 2;
        m->msg = xrealloc(m->msg, cap);
        m->msgcap = cap;
    }
    if (n)
        memcpy(m->msg + m->msglen, p, n);
    m->msglen += n;
    m->assembling = 1;
    if (fin) {
        write_message(m, opcode, (const uint8_t *)m->msg, m->msglen);
        free(m->msg);
        m->msg = NULL;
        m->msglen = m->msgcap = 0;
        m->assembling = 0;
    }
    return 0;
}

int wsd_hub_stdin_full(const wsd_hub *h)
{
    return h && h->prog && wsd_program_stdin_full(h->prog);
}

size_t wsd_hub_stdin_queued(const wsd_hub *h)
{
    return h && h->prog ? wsd_program_stdin_queued(h->prog) : 0;
}

void wsd_hub_written(wsd_member *m)
{
    if (m->hub)
        q_pump(m);
}

/* ------------------------------------------------------------- server */

void wsd_hub_start_always(server *srv)
{
    wsd_hub *h;

    if (!srv->cfg->sharedalways || !srv->cfg->command_path)
        return;
    h = wsd_hub_get(srv, NULL);
    if (wsd_hub_start(h) != 0)
        schedule_restart(h, 0);
}

void wsd_hub_shutdown_all(server *srv)
{
    wsd_hub *h, *next;

    for (h = srv->hubs; h; h = next) {
        next = h->next;
        h->stopping = 1;
        if (h->restart)
            uv_timer_stop(h->restart);
        end_program(h);
        maybe_free(h);
    }
}
