/* shared.c — one program for many clients: the fan-out side (see shared.h).
 *
 * A hub is one endpoint's fan in this process: its members (the WebSocket
 * sessions of its clients), the compressed forms of the output, each
 * member's queue. The program side is a core (hubcore.c): in this process
 * without --workers, or in the hub process (hublink.c) with them, reached
 * over the worker's link; on an edge (--sharededge), the core is in the
 * wsd that runs the program, reached through Redis (redislink.c). */
#include "shared.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hubcore.h"
#include "hublink.h"
#include "log.h"
#include "metrics.h"
#include "pmd.h"
#include "redislink.h"
#include "util.h"
#include "ws.h"

#define ASSEMBLE_MAX (64u * 1024 * 1024)  /* a message for stdin when --maxframesize is 0 */

/* A run of frames waiting for one member's transport. */
struct wsd_qitem {
    wsd_qitem *next;
    wsd_buf *b;
    size_t off, len;
    unsigned msgs;               /* messages that end in it */
    size_t first;                /* where its first message starts (off + len: none) */
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
    wsd_cfgsnap *snap;           /* the configuration it was made with (held) */
    const wsd_endpoint *ep;      /* ... its endpoint: options, deflate, key */
    char *key;                   /* the endpoint's key, "\n", the --dir script's real path */
    char *file, *script_name;    /* the --dir script as requested */
    char *assoc;                 /* for the log */
    wsd_fan fan;                 /* as the core sees this hub (in this process) */
    wsd_core *core;              /* the program side in this process, or NULL */
    int remote;                  /* --workers: the program side is the hub process */
    int edge;                    /* --sharededge: ... the program's wsd, through Redis */
    int pid;                     /* remote: the program's pid as last told */
    int remote_full;             /* remote: its stdin is full */
    wsd_member *members;
    long nmembers;
    wsd_member *pending;         /* --workers: waiting for the hub process's answer */
    int open;                    /* the output so far ends inside a message */
    int busy;                    /* inside broadcast: not freed (maybe_free) */
    hub_zform z[16];             /* index: window bits 8..15 */
};

static void maybe_free(wsd_hub *h);

static const wsd_config *cfg_of(const wsd_hub *h)
{
    return h->ep->cfg;
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

/* m leaves: the program side is told (the leave record of addressed
 * mode; on demand the last one ends the program). The hub is not freed
 * here: the callers, at the top of a callback, call maybe_free. */
static void member_gone(wsd_member *m, int code)
{
    wsd_hub *h = m->hub;

    if (!h)
        return;
    if (h->core)
        wsd_core_leave(h->core, &h->fan, m->id, code ? code : 1006);
    else if (h->remote)
        wsd_link_leave(h->key, m->id, code ? code : 1006);
    else if (h->edge)
        wsd_redis_edge_leave(h->key, m->id, code ? code : 1006);
    unlink_member(m);
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

/* Splits q at its first message start: q keeps [off, first) (the end of
 * a message begun before it), a new item after it holds the rest. */
static void split_at_first(wsd_qitem *q)
{
    wsd_qitem *r = xmalloc(sizeof *r);

    *r = *q;
    r->b = wsd_buf_ref(q->b);
    r->off = q->first;
    r->len = q->off + q->len - q->first;
    r->starts = 1;
    r->msgs = q->msgs - 1;
    q->len = q->first - q->off;
    q->first = q->off + q->len;    /* none */
    q->msgs = 1;
    q->ends = 1;
    q->next = r;
}

/* --shareddrop: the oldest whole messages not yet started go. What
 * continues a message the client has begun is kept (an item is split where
 * the next message starts: a message larger than a read of the program's
 * output spans items, and few items begin at a message start); a dropped
 * message's continuation in the next item goes with it, and a run that
 * reaches the end of the queue inside a message has the rest of that
 * message skipped. Returns 0, or -1 when nothing could be dropped. */
static int drop_oldest(wsd_member *m, size_t limit)
{
    wsd_qitem **pp = &m->qhead, *q;
    int dropped_any = 0;

    while (*pp && !(*pp)->starts) {          /* a begun message: kept to its end */
        q = *pp;
        if (q->first < q->off + q->len) {
            split_at_first(q);
            pp = &q->next;
            break;
        }
        pp = &q->next;
    }
    while (*pp && m->qbytes + wsd_tp_queued(m->tp) > limit) {
        int ended;
        q = *pp;                                /* a message starts here: it goes */
        *pp = q->next;
        m->qbytes -= q->len;
        m->dropped += q->msgs;
        wsd_metrics_add(WSD_M_QUEUE_DROPS, q->msgs);
        dropped_any = 1;
        ended = q->ends;
        wsd_buf_unref(q->b);
        free(q);
        /* what continues the last dropped message goes too */
        while (!ended && *pp) {
            q = *pp;
            if (q->first < q->off + q->len) {
                size_t cut = q->first - q->off;
                q->off = q->first;
                q->len -= cut;
                m->qbytes -= cut;
                q->starts = 1;
                q->msgs -= 1;
                m->dropped += 1;
                wsd_metrics_add(WSD_M_QUEUE_DROPS, 1);
                ended = 1;
                break;
            }
            *pp = q->next;
            m->qbytes -= q->len;
            m->dropped += q->msgs;       /* (1 if the dropped message ends here) */
            wsd_metrics_add(WSD_M_QUEUE_DROPS, q->msgs);
            ended = q->ends;
            wsd_buf_unref(q->b);
            free(q);
        }
        if (!ended)
            m->awaiting_start = 1;        /* its message goes on: skip the rest */
    }
    m->qtail = NULL;
    for (q = m->qhead; q; q = q->next)
        m->qtail = q;
    return dropped_any ? 0 : -1;
}

/* One variant of a chunk of output for m. */
static void deliver(wsd_member *m, wsd_buf *b, const wsd_ws_frames_info *fi)
{
    const wsd_config *cfg = m->cfg;     /* the member's own limits */
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
    wsd_metrics_add(WSD_M_MESSAGES_OUT, msgs);
    if (!m->qhead && wsd_tp_queued(m->tp) < OUT_LOW) {
        wsd_tp_send_buf(m->tp, b, off, len);
    } else {
        wsd_qitem *q = xmalloc(sizeof *q);
        q->next = NULL;
        q->b = wsd_buf_ref(b);
        q->off = off;
        q->len = len;
        q->msgs = msgs;
        q->first = starts ? off : fi->first_start < b->len ? fi->first_start : b->len;
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
    wsd_metrics_inc(WSD_M_QUEUE_CLOSES);
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
    if (pfi.begins_inside && !h->open) {
        /* this fan missed the start of that message (it was not receiving
         * yet): every member, and every deflater, starts with the next one */
        for (m = h->members; m; m = m->next)
            m->awaiting_start = 1;
        for (bits = 8; bits <= 15; bits++)
            h->z[bits].awaiting_start = 1;
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
    /* a member whose write fails leaves inside deliver (its transport
     * closes, the session leaves the hub): the last one must not free the
     * hub under this loop */
    h->busy++;
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
    if (--h->busy == 0)
        maybe_free(h);
}

/* ------------------------------------------------------------- the program side */

/* What the core (here or in the hub process) tells this hub. */
static void on_frames(wsd_hub *h, const uint8_t *p, size_t n, const char *const *to, size_t nto)
{
    broadcast(h, p, n, to, nto);
}

static void on_close_member(wsd_hub *h, const char *id, unsigned code, const char *reason)
{
    wsd_member *m;

    for (m = h->members; m && strcmp(m->id, id) != 0; m = m->next)
        ;
    if (!m)
        return;
    {
        const wsd_member_ops *ops = m->ops;
        member_gone(m, (int)code);
        ops->close(m, (uint16_t)code, reason);
    }
}

static void on_ended(wsd_hub *h, int64_t status, int sig, int failed)
{
    wsd_member *m, *next;

    for (m = h->members; m; m = next) {
        const wsd_member_ops *ops = m->ops;
        next = m->next;
        unlink_member(m);          /* no leave record: the program is gone */
        ops->program_ended(m, status, sig, failed);
    }
}

static void on_stdin_state(wsd_hub *h, int full)
{
    wsd_member *m, *next;

    h->remote_full = full;
    if (full)
        return;
    for (m = h->members; m; m = next) {
        next = m->next;
        m->ops->stdin_ready(m);
    }
}

static void on_started(wsd_hub *h, int pid, int restarted)
{
    wsd_member *m;

    h->pid = pid;
    if (!restarted)
        return;
    /* a --sharedalways restart: the new instance learns who is here */
    for (m = h->members; m; m = m->next) {
        if (!m->joinrec)
            continue;
        if (h->core)
            wsd_core_rejoin(h->core, m->joinrec, m->joinlen);
        else if (h->remote)
            wsd_link_join(h->key, h->file, h->script_name, m->id, m->joinrec, m->joinlen);
    }
}

/* The local core's calls (the fan embedded in the hub). */
static wsd_hub *hub_of(wsd_fan *f)
{
    return (wsd_hub *)((char *)f - offsetof(wsd_hub, fan));
}

static void fan_frames(wsd_fan *f, const uint8_t *p, size_t n, const char *const *to, size_t nto)
{
    on_frames(hub_of(f), p, n, to, nto);
}

/* (The core calls these while walking its fans; it touches f no more
 * after the call, so the hub may be freed in them.) */
static void fan_close_member(wsd_fan *f, const char *id, unsigned code, const char *reason)
{
    wsd_hub *h = hub_of(f);
    on_close_member(h, id, code, reason);
    maybe_free(h);
}

static void fan_ended(wsd_fan *f, int64_t status, int sig, int failed)
{
    wsd_hub *h = hub_of(f);
    on_ended(h, status, sig, failed);
    maybe_free(h);
}

static void fan_stdin_state(wsd_fan *f, int full)
{
    on_stdin_state(hub_of(f), full);
}

static void fan_started(wsd_fan *f, int pid, int restarted)
{
    on_started(hub_of(f), pid, restarted);
}

static const wsd_fan_ops hub_fan_ops = {
    fan_frames, fan_close_member, fan_ended, fan_stdin_state, fan_started,
};

/* ------------------------------------------------------------- life */

static void maybe_free(wsd_hub *h)
{
    wsd_hub **pp;
    int bits;

    if (h->busy || h->members || h->pending || h->fan.core)
        return;
    for (pp = &h->srv->hubs; *pp != h; pp = &(*pp)->next)
        ;
    *pp = h->next;
    for (bits = 8; bits <= 15; bits++)
        wsd_pmd_free(&h->z[bits].pmd);
    if (h->core)
        wsd_core_put(h->core);
    wsd_cfgsnap_unref(h->snap);
    free(h->key);
    free(h->file);
    free(h->script_name);
    free(h->assoc);
    free(h);
}

wsd_hub *wsd_hub_get(server *srv, wsd_cfgsnap *snap, const wsd_endpoint *ep,
                     const wsd_route *route)
{
    const wsd_config *cfg = ep->cfg;
    const char *name = route ? route->real : cfg->command ? cfg->command : "";
    wsd_hub *h;
    char cmd[1024];
    wsd_str a;
    char *key = wsd_cfgsnap_core_key(ep->key, route ? route->real : "");

    for (h = srv->hubs; h; h = h->next) {
        if (strcmp(h->key, key) == 0) {
            free(key);
            return h;
        }
    }
    h = xcalloc(1, sizeof *h);
    h->srv = srv;
    h->snap = wsd_cfgsnap_ref(snap);
    h->ep = ep;
    h->key = key;
    h->file = xstrdup(route ? route->file : "");
    h->script_name = xstrdup(route ? route->script_name : "");
    h->fan.ops = &hub_fan_ops;
    wsd_log_escape(cmd, sizeof cmd, name, strlen(name));
    wsd_str_init(&a, 2048);
    wsd_str_appendf(&a, "shared:'%s'", cmd);
    h->assoc = a.s;
    if (srv->hub_path) {
        h->remote = 1;
    } else if (cfg->sharededge && !ep->is_route) {
        h->edge = 1;                /* (a --config route's program is local) */
    } else {
        wsd_core_spec spec;
        char *argv[2];
        memset(&spec, 0, sizeof spec);
        spec.key = h->key;
        spec.name = name;
        if (route) {
            argv[0] = route->file;
            argv[1] = NULL;
            spec.file = route->file;
            spec.argv = argv;
            spec.script_name = route->script_name;
            spec.script_file = route->file;
        } else {
            spec.file = cfg->command_path;
            spec.argv = cfg->argv;
            spec.script_name = ep->is_route ? ep->path : "/";
        }
        h->core = wsd_core_get(srv->loop, snap, cfg, &spec);
    }
    h->next = srv->hubs;
    srv->hubs = h;
    return h;
}

int wsd_hub_start(wsd_hub *h)
{
    if (h->core)
        return wsd_core_start(h->core);
    return 0;                      /* the hub process starts it at the first join */
}

int wsd_hub_pid(const wsd_hub *h)
{
    return h->core ? wsd_core_pid(h->core) : h->pid;
}

int wsd_hub_running(const wsd_hub *h)
{
    return h->core ? wsd_core_pid(h->core) != 0 : 1;   /* elsewhere: not counted here */
}

/* m becomes a member: it gets the output from the next message on. */
static void add_member(wsd_hub *h, wsd_member *m)
{
    m->hub = h;
    m->pending = 0;
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
            wsd_pmd_init(&z->pmd, &h->ep->pmd, &pp, 0);
            z->awaiting_start = h->open;
        }
    }
}

static void unlink_pending(wsd_member *m)
{
    wsd_hub *h = m->hub;
    wsd_member **pp;

    for (pp = &h->pending; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    m->next = NULL;
    m->pending = 0;
}

int wsd_hub_join(wsd_hub *h, wsd_member *m, char *const *env)
{
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
    }
    if (h->edge && wsd_redis_edge_join(h->key, m->id, m->joinrec, m->joinlen) == 1) {
        /* its channel is being subscribed: the 101 once it is (so it gets
         * everything published after it) */
        m->hub = h;
        m->pending = 1;
        m->next = h->pending;
        h->pending = m;
        return 1;
    }
    if (h->remote) {
        /* the hub process counts it and answers (JOINED) before the 101 */
        m->hub = h;
        m->pending = 1;
        m->next = h->pending;
        h->pending = m;
        if (wsd_link_up())        /* else sent when the link is up (the handshake's
                                   * 10 s bound the wait) */
            wsd_link_join(h->key, h->file, h->script_name, m->id, m->joinrec, m->joinlen);
        return 1;
    }
    add_member(h, m);
    if (h->core)
        wsd_core_join(h->core, &h->fan, m->id, m->joinrec, m->joinlen);
    return 0;
}

void wsd_hub_leave(wsd_member *m, int code)
{
    wsd_hub *h = m->hub;

    if (!h)
        return;
    if (m->pending) {
        unlink_pending(m);         /* the hub process counted it: it leaves */
        if (h->edge)
            wsd_redis_edge_leave(h->key, m->id, code ? code : 1006);
        else
            wsd_link_leave(h->key, m->id, code ? code : 1006);
        m->hub = NULL;
        free(m->joinrec);
        m->joinrec = NULL;
        m->joinlen = 0;
        m->ops->joined(m, 0, 1);   /* the handshake that waited for it ends */
    } else {
        member_gone(m, code);
    }
    maybe_free(h);
}

int wsd_hub_input(wsd_member *m, int opcode, const uint8_t *p, size_t n, int fin)
{
    wsd_hub *h = m->hub;
    uint64_t max;

    if (!h)
        return 0;
    if (!fin || m->assembling) {
        max = m->cfg->maxframesize ? m->cfg->maxframesize : ASSEMBLE_MAX;
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
        if (!fin)
            return 0;
        p = (const uint8_t *)m->msg;
        n = m->msglen;
    }
    /* a whole message (one that came in one piece is not copied) */
    if (h->core)
        wsd_core_input(h->core, m->id, opcode, p, n);
    else if (h->remote)
        wsd_link_input(h->key, m->id, opcode, p, n);
    else if (h->edge)
        wsd_redis_edge_input(h->key, m->id, opcode, p, n);
    if (m->assembling) {
        free(m->msg);
        m->msg = NULL;
        m->msglen = m->msgcap = 0;
        m->assembling = 0;
    }
    return 0;
}

int wsd_hub_stdin_full(const wsd_hub *h)
{
    if (!h)
        return 0;
    return h->core ? wsd_core_stdin_full(h->core) : h->remote_full;
}

size_t wsd_hub_stdin_queued(const wsd_hub *h)
{
    if (!h)
        return 0;
    return h->core ? wsd_core_stdin_queued(h->core) : h->remote_full ? WSD_STDIN_HIGH : 0;
}

void wsd_hub_written(wsd_member *m)
{
    if (m->hub)
        q_pump(m);
}

/* ------------------------------------------------------------- --workers */

static wsd_hub *hub_by_key(server *srv, const char *key)
{
    wsd_hub *h;
    for (h = srv->hubs; h; h = h->next)
        if (strcmp(h->key, key) == 0)
            return h;
    return NULL;
}

static server *link_srv;          /* the worker's server (one per process) */

static void l_frames(const char *key, const uint8_t *p, size_t n, const char *const *to, size_t nto)
{
    wsd_hub *h = hub_by_key(link_srv, key);
    if (h)
        on_frames(h, p, n, to, nto);
}

static void l_close_member(const char *key, const char *id, unsigned code, const char *reason)
{
    wsd_hub *h = hub_by_key(link_srv, key);
    if (h) {
        on_close_member(h, id, code, reason);
        maybe_free(h);
    }
}

static void l_ended(const char *key, int64_t status, int sig, int failed)
{
    wsd_hub *h = hub_by_key(link_srv, key);
    if (h) {
        on_ended(h, status, sig, failed);
        maybe_free(h);
    }
}

static void l_stdin_state(const char *key, int full)
{
    wsd_hub *h = hub_by_key(link_srv, key);
    if (h)
        on_stdin_state(h, full);
}

static void l_joined(const char *key, const char *id, int pid, int failed)
{
    wsd_hub *h = hub_by_key(link_srv, key);
    wsd_member *m;

    if (!h)
        return;
    for (m = h->pending; m && strcmp(m->id, id) != 0; m = m->next)
        ;
    if (!m)
        return;                    /* it left meanwhile (its LEAVE is on its way) */
    unlink_pending(m);
    if (!failed) {
        h->pid = pid;
        add_member(h, m);
        m->ops->joined(m, pid, 0);
        return;
    }
    m->hub = NULL;
    free(m->joinrec);
    m->joinrec = NULL;
    m->joinlen = 0;
    m->ops->joined(m, 0, 1);
    maybe_free(h);
}

static void l_started(const char *key, int pid, int restarted)
{
    wsd_hub *h = hub_by_key(link_srv, key);
    if (h)
        on_started(h, pid, restarted);
}

/* The hub process went away: on demand, its instances are gone (the
 * members get 1011); --sharedalways members stay and rejoin when the link
 * is back. */
static void l_lost(void)
{
    wsd_hub *h, *next;

    for (h = link_srv->hubs; h; h = next) {
        next = h->next;
        h->remote_full = 0;
        h->open = 0;                /* pending joins are sent again when it is back */
        if (!cfg_of(h)->sharedalways) {
            on_ended(h, 0, SIGKILL, 2);     /* "shared program lost" */
            maybe_free(h);
        }
    }
}

/* The link is up (first, or again): joins waiting for it are sent, and
 * after a loss the members kept (--sharedalways) join again. */
static void l_restored(void)
{
    wsd_hub *h;
    wsd_member *m;

    for (h = link_srv->hubs; h; h = h->next) {
        for (m = h->pending; m; m = m->next)
            wsd_link_join(h->key, h->file, h->script_name, m->id, m->joinrec, m->joinlen);
        for (m = h->members; m; m = m->next) {
            m->awaiting_start = 1;
            wsd_link_join(h->key, h->file, h->script_name, m->id, m->joinrec, m->joinlen);
        }
    }
}

static const wsd_link_handler link_handler = {
    l_frames, l_close_member, l_ended, l_stdin_state, l_started, l_joined, l_lost, l_restored,
};

/* ------------------------------------------------------------- --sharededge */

static void e_ended(const char *key, int failed)
{
    l_ended(key, 0, 0, failed);
}

/* key's channel is subscribed (or Redis is down): its waiting members in */
static void e_subscribed(const char *key)
{
    wsd_hub *h = hub_by_key(link_srv, key);

    while (h && h->pending) {
        wsd_member *m = h->pending;
        unlink_pending(m);
        add_member(h, m);
        m->ops->joined(m, 0, 0);
    }
}

/* The program's wsd hears of every member again (its SYNC). */
static void e_resync(void)
{
    wsd_hub *h;
    wsd_member *m;

    for (h = link_srv->hubs; h; h = h->next) {
        for (m = h->members; m; m = m->next)
            wsd_redis_edge_rejoin(h->key, m->id, m->joinrec, m->joinlen);
        for (m = h->pending; m; m = m->next)
            wsd_redis_edge_rejoin(h->key, m->id, m->joinrec, m->joinlen);
    }
}

static void e_backpressure(int full)
{
    wsd_hub *h;

    for (h = link_srv->hubs; h; h = h->next)
        on_stdin_state(h, full);
}

static const wsd_redis_edge_handler edge_handler = {
    l_frames, l_close_member, e_ended, e_subscribed, e_resync, e_backpressure,
};

void wsd_hub_link_start(server *srv)
{
    if (srv->cfg->sharededge) {
        link_srv = srv;
        wsd_redis_edge_start(srv->loop, srv->snap, srv->worker, &edge_handler);
        return;
    }
    if (!srv->hub_path)
        return;
    link_srv = srv;
    wsd_link_start(srv->loop, srv->hub_path, &link_handler);
}

/* ------------------------------------------------------------- server */

void wsd_hub_start_always(server *srv)
{
    if (srv->hub_path || srv->cfg->sharededge)
        return;
    wsd_core_start_always(srv->loop, srv->snap);
    wsd_redis_origin_start(srv->loop, srv->snap, 0);   /* --redis: the program's wsd */
}

void wsd_hub_shutdown_all(server *srv)
{
    wsd_hub *h, *next;

    if (!srv->hub_path && !srv->cfg->sharededge) {
        wsd_redis_origin_stop();  /* first: no end of the program reaches the edges */
        wsd_core_shutdown_all();
        return;
    }
    if (srv->cfg->sharededge)
        wsd_redis_edge_stop();
    else
        wsd_link_stop();
    for (h = srv->hubs; h; h = next) {
        next = h->next;
        while (h->pending) {       /* no answer will come: those handshakes end */
            wsd_member *m = h->pending;
            unlink_pending(m);
            m->hub = NULL;
            free(m->joinrec);
            m->joinrec = NULL;
            m->ops->joined(m, 0, 1);
        }
        maybe_free(h);
    }
}

void wsd_hub_free_all(server *srv)
{
    while (srv->hubs) {
        wsd_hub *h = srv->hubs;
        assert(!h->members && !h->pending);
        if (h->fan.core)
            wsd_core_fan_gone(&h->fan);
        maybe_free(h);
        if (srv->hubs == h)
            break;                 /* cannot happen: nothing holds it any more */
    }
    wsd_redis_free();
    wsd_core_free_all();
}
