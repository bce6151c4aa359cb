/* hublink.c — --shared with --workers: worker ↔ hub process (see hublink.h). */
#include "hublink.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfgfile.h"
#include "cfgsnap.h"
#include "ctlchan.h"
#include "defer.h"
#include "hubcore.h"
#include "linkproto.h"
#include "log.h"
#include "process.h"
#include "program.h"
#include "redislink.h"
#include "util.h"

#define READ_SIZE (64 * 1024)
#define RETRY_MIN_MS 50
#define RETRY_MAX_MS 2000
#define LINK_HIGH (4u * 1024 * 1024)         /* hub → worker: its fans busy above this */
#define LINK_LOW (1u * 1024 * 1024)          /* ... and free again below this */
#define LINK_QUEUE_MAX (64u * 1024 * 1024)   /* hub → a worker: past this, the link is dropped */
#define LINK_STALL_MS 5000                   /* busy with no write done for this long: dropped */

static char read_buf[READ_SIZE];

typedef struct {
    uv_write_t req;
    char *buf;
} lwreq;

static void alloc_read(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = read_buf;
    buf->len = sizeof read_buf;
}

static void on_lw(uv_write_t *req, int status)
{
    lwreq *w = (lwreq *)req;
    (void)status;
    free(w->buf);
    free(w);
}

/* Writes what `out` holds to the stream (the buffer changes hands). */
static int send_out(uv_stream_t *s, wsd_str *out, uv_write_cb cb)
{
    lwreq *w;
    uv_buf_t b;

    if (!out->s || out->len == 0)
        return 0;
    w = xmalloc(sizeof *w);
    w->buf = out->s;
    b = uv_buf_init(out->s, (unsigned)out->len);
    out->s = NULL;
    out->len = out->cap = 0;
    if (uv_write(&w->req, s, &b, 1, cb) != 0) {
        free(w->buf);
        free(w);
        return -1;
    }
    return 0;
}

/* ======================================================= worker side */

static struct {
    uv_loop_t *loop;
    char *path;
    const wsd_link_handler *h;
    uv_pipe_t *pipe;             /* NULL while not connected */
    int up;
    int lost;                    /* the link broke at least once */
    uv_timer_t retry;
    unsigned backoff;
    int stopping;
    wsd_link_reader rd;
} W;

static void w_connect(void);

static void on_w_closed(uv_handle_t *h)
{
    free(h);
}

static void w_broken(void)
{
    int was_up = W.up;

    if (W.pipe) {
        uv_close((uv_handle_t *)W.pipe, on_w_closed);
        W.pipe = NULL;
    }
    W.up = 0;
    wsd_link_reader_free(&W.rd);
    if (W.stopping)
        return;
    if (was_up) {
        W.lost = 1;
        wsd_log(WSD_LOG_ERROR, "shared", "", "Link to the hub process lost; reconnecting");
        W.h->lost();
    }
    W.backoff = W.backoff ? (W.backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : W.backoff * 2)
                          : RETRY_MIN_MS;
    uv_timer_start(&W.retry, (uv_timer_cb)w_connect, W.backoff, 0);
}

static void w_dispatch(const wsd_linkmsg *m)
{
    const char *to[WSD_LINK_MAX_TO];
    size_t i;

    switch (m->type) {
    case WSD_LINK_FRAMES:
        for (i = 0; i < m->nto; i++)
            to[i] = m->to[i];
        W.h->frames(m->key, m->blob, m->bloblen, m->nto ? to : NULL, m->nto);
        break;
    case WSD_LINK_CLOSE:
        W.h->close_member(m->key, m->id, m->code, m->reason);
        break;
    case WSD_LINK_ENDED:
        W.h->ended(m->key, m->status, m->sig, m->failed);
        break;
    case WSD_LINK_STDIN:
        W.h->stdin_state(m->key, m->full);
        break;
    case WSD_LINK_STARTED:
        W.h->started(m->key, (int)m->pid, m->restarted);
        break;
    case WSD_LINK_JOINED:
        W.h->joined(m->key, m->id, (int)m->pid, m->failed);
        break;
    default:
        break;
    }
}

static void on_w_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    static wsd_linkmsg m;
    const uint8_t *body;
    size_t n;
    int rc;

    (void)s;
    if (nread == 0)
        return;
    if (nread < 0 || wsd_link_reader_feed(&W.rd, buf->base, (size_t)nread) != 0) {
        w_broken();
        return;
    }
    while ((rc = wsd_link_reader_next(&W.rd, &body, &n)) == 1) {
        if (wsd_link_parse(body, n, &m) != 0) {
            wsd_log(WSD_LOG_ERROR, "shared", "", "Malformed message from the hub process");
            w_broken();
            return;
        }
        w_dispatch(&m);
        if (!W.pipe)
            return;
    }
    if (rc < 0)
        w_broken();
}

static void on_w_connect(uv_connect_t *req, int status)
{
    free(req);
    if (status != 0) {
        w_broken();
        return;
    }
    W.up = 1;
    W.backoff = 0;
    wsd_link_reader_init(&W.rd);
    uv_read_start((uv_stream_t *)W.pipe, alloc_read, on_w_read);
    W.h->restored();              /* joins that waited for the link */
}

static void w_connect(void)
{
    uv_connect_t *req;

    if (W.stopping || W.pipe)
        return;
    W.pipe = xmalloc(sizeof *W.pipe);
    uv_pipe_init(W.loop, W.pipe, 0);
    req = xmalloc(sizeof *req);
    uv_pipe_connect(req, W.pipe, W.path, on_w_connect);
}

int wsd_link_start(uv_loop_t *loop, const char *path, const wsd_link_handler *h)
{
    W.loop = loop;
    W.path = xstrdup(path);
    W.h = h;
    uv_timer_init(loop, &W.retry);
    uv_unref((uv_handle_t *)&W.retry);
    w_connect();
    return 0;
}

void wsd_link_stop(void)
{
    if (!W.loop)
        return;
    W.stopping = 1;
    if (W.pipe)
        w_broken();
    uv_timer_stop(&W.retry);
    uv_close((uv_handle_t *)&W.retry, NULL);
    free(W.path);
    W.path = NULL;
    W.loop = NULL;
}

int wsd_link_up(void)
{
    return W.up;
}

static void w_send(wsd_str *out)
{
    if (W.up && send_out((uv_stream_t *)W.pipe, out, on_lw) != 0)
        w_broken();
    wsd_str_free(out);
}

void wsd_link_join(const char *key, const char *file, const char *script_name, const char *id,
                   const char *joinrec, size_t len)
{
    wsd_str out;
    wsd_str_init(&out, WSD_LINK_MAX + 64);
    wsd_link_put_join(&out, key, file, script_name, id, joinrec, len);
    w_send(&out);
}

void wsd_link_leave(const char *key, const char *id, int code)
{
    wsd_str out;
    wsd_str_init(&out, 4096 + 64);
    wsd_link_put_leave(&out, key, id, (unsigned)code);
    w_send(&out);
}

void wsd_link_input(const char *key, const char *id, int opcode, const void *p, size_t n)
{
    wsd_str out;
    wsd_str_init(&out, WSD_LINK_MAX + 64);
    if (wsd_link_put_input(&out, key, id, opcode, p, n) != 0)
        wsd_log(WSD_LOG_ERROR, "shared", "", "Message of %zu bytes too large for the hub link", n);
    w_send(&out);
}

/* ======================================================= hub side */

typedef struct lfan lfan;
typedef struct hlink hlink;

/* One worker's fan for one endpoint, as the core sees it. */
struct lfan {
    wsd_fan fan;
    hlink *l;
    char *key;
    wsd_core *core;              /* its endpoint's core (a reference) */
    lfan *next;
};

struct hlink {
    uv_pipe_t pipe;
    wsd_link_reader rd;
    lfan *fans;
    hlink *next;
    int closing;
    int busy;                    /* over LINK_HIGH: its fans are busy (wsd_fan_busy) */
    uint64_t progress;           /* loop time of the last write done */
};

static struct {
    uv_loop_t *loop;
    wsd_cfgsnap *snap;           /* the configuration now */
    wsd_cfgsnap *prev;           /* ... and the one before the last reload: a worker
                                  * that has not reloaded yet may still name it */
    wsd_ctl *ctl;                /* the supervisor's reloads */
    uv_pipe_t listener;
    hlink *links;
    uv_timer_t stall;            /* drops links busy with no progress */
    uv_signal_t sigs[6];
    int stopping;
    char *path;
} H;

static void h_link_close(hlink *l);

/* A worker is part of the server: while its link has more than LINK_HIGH
 * waiting, its fans are busy and the programs' output is not read (the
 * program waits, as it would for one process that frames no faster). A
 * worker that takes nothing for LINK_STALL_MS (stopped, wedged), or falls
 * LINK_QUEUE_MAX behind, loses its link instead. */
static void h_set_busy(hlink *l, int busy)
{
    lfan *f;

    if (l->busy == busy)
        return;
    l->busy = busy;
    if (busy)
        l->progress = uv_now(H.loop);
    for (f = l->fans; f; f = f->next)
        wsd_fan_busy(&f->fan, busy);
}

static void on_hl_w(uv_write_t *req, int status)
{
    hlink *l = req->handle->data;

    on_lw(req, status);
    if (l->closing)
        return;
    l->progress = uv_now(H.loop);
    if (l->busy && l->pipe.write_queue_size < LINK_LOW)
        h_set_busy(l, 0);
}

static void on_stall_check(uv_timer_t *t)
{
    hlink *l, *next;
    uint64_t now = uv_now(t->loop);

    for (l = H.links; l; l = next) {
        next = l->next;
        if (l->busy && now - l->progress >= LINK_STALL_MS) {
            wsd_log(WSD_LOG_ERROR, "shared", "", "A worker took nothing from its link for %u ms "
                    "(%zu bytes waiting): dropping its link", LINK_STALL_MS,
                    (size_t)l->pipe.write_queue_size);
            h_link_close(l);
        }
    }
}

static void h_send(hlink *l, wsd_str *out)
{
    if (l->closing) {
        wsd_str_free(out);
        return;
    }
    if (l->pipe.write_queue_size > LINK_QUEUE_MAX) {
        wsd_log(WSD_LOG_ERROR, "shared", "", "A worker does not keep up with the shared output "
                "(%zu bytes waiting): dropping its link", (size_t)l->pipe.write_queue_size);
        wsd_str_free(out);
        h_link_close(l);
        return;
    }
    if (send_out((uv_stream_t *)&l->pipe, out, on_hl_w) != 0) {
        h_link_close(l);
    } else if (!l->busy && l->pipe.write_queue_size > LINK_HIGH) {
        h_set_busy(l, 1);
    }
    wsd_str_free(out);
}

static void lf_frames(wsd_fan *f, const uint8_t *p, size_t n, const char *const *to, size_t nto)
{
    lfan *lf = (lfan *)f;
    wsd_str out;
    wsd_str_init(&out, WSD_LINK_MAX + 64);
    if (wsd_link_put_frames(&out, lf->key, to, nto, p, n) == 0)
        h_send(lf->l, &out);
    else
        wsd_str_free(&out);
}

static void lf_close_member(wsd_fan *f, const char *id, unsigned code, const char *reason)
{
    lfan *lf = (lfan *)f;
    wsd_str out;
    wsd_str_init(&out, 8192);
    wsd_link_put_close(&out, lf->key, id, code, reason);
    h_send(lf->l, &out);
}

static void lf_ended(wsd_fan *f, int64_t status, int sig, int failed)
{
    lfan *lf = (lfan *)f;
    wsd_str out;
    wsd_str_init(&out, 8192);
    wsd_link_put_ended(&out, lf->key, status, sig, failed);
    h_send(lf->l, &out);
}

static void lf_stdin_state(wsd_fan *f, int full)
{
    lfan *lf = (lfan *)f;
    wsd_str out;
    wsd_str_init(&out, 8192);
    wsd_link_put_stdin(&out, lf->key, full);
    h_send(lf->l, &out);
}

static void lf_started(wsd_fan *f, int pid, int restarted)
{
    lfan *lf = (lfan *)f;
    wsd_str out;
    wsd_str_init(&out, 8192);
    wsd_link_put_started(&out, lf->key, (unsigned)pid, restarted);
    h_send(lf->l, &out);
}

static const wsd_fan_ops lfan_ops = {
    lf_frames, lf_close_member, lf_ended, lf_stdin_state, lf_started,
};

static lfan *fan_find(hlink *l, const char *key)
{
    lfan *f;

    for (f = l->fans; f; f = f->next)
        if (strcmp(f->key, key) == 0)
            return f;
    return NULL;
}

static void fan_free(hlink *l, lfan *f)
{
    lfan **pp;

    for (pp = &l->fans; *pp != f; pp = &(*pp)->next)
        ;
    *pp = f->next;
    wsd_core_put(f->core);
    free(f->key);
    free(f);
}

/* The core of a new endpoint key: "<endpoint key>\n<script>" (cfgsnap.h,
 * shared.c), looked up in this process's configuration (or the one before
 * the last reload). A script must be inside the endpoint's --dir (checked
 * here too, as the worker did); argv[0] is the path as the client asked
 * for it. A reference, or NULL. */
static wsd_core *core_for(const wsd_linkmsg *m)
{
    const char *script;
    char epkey[WSD_CFGSNAP_KEY_MAX], *dir;
    const wsd_endpoint *ep;
    const wsd_config *cfg;
    wsd_cfgsnap *snap = H.snap;
    wsd_core_spec spec;
    wsd_core *c;
    char *argv[2];
    size_t dl;

    if ((c = wsd_core_find(m->key)))
        return c;
    if (!(script = wsd_cfgsnap_core_key_split(m->key, epkey, sizeof epkey)))
        return NULL;
    ep = wsd_cfgsnap_by_key(snap, epkey);
    if (!ep && H.prev && (ep = wsd_cfgsnap_by_key(H.prev, epkey)))
        snap = H.prev;
    if (!ep)
        return NULL;
    cfg = ep->cfg;
    memset(&spec, 0, sizeof spec);
    spec.key = m->key;
    if (!*script) {
        if (!cfg->command_path)
            return NULL;
        spec.name = cfg->command;
        spec.file = cfg->command_path;
        spec.argv = cfg->argv;
        spec.script_name = ep->is_route ? ep->path : "/";
        return wsd_core_get(H.loop, snap, cfg, &spec);
    }
    if (!cfg->dir || !(dir = realpath(cfg->dir, NULL)))
        return NULL;
    dl = strlen(dir);
    if (strncmp(script, dir, dl) != 0 || script[dl] != '/') {
        free(dir);
        return NULL;
    }
    free(dir);
    argv[0] = (char *)(m->type == WSD_LINK_JOIN && *m->file ? m->file : script);
    argv[1] = NULL;
    spec.name = script;
    spec.file = script;
    spec.argv = argv;
    spec.script_name = m->type == WSD_LINK_JOIN && *m->script_name ? m->script_name
                                                                    : script + dl;
    spec.script_file = script;
    return wsd_core_get(H.loop, snap, cfg, &spec);
}

static void h_dispatch(hlink *l, const wsd_linkmsg *m)
{
    lfan *f = fan_find(l, m->key);

    if (!f) {
        wsd_core *c = m->type == WSD_LINK_JOIN ? core_for(m) : NULL;
        if (!c) {
            if (m->type == WSD_LINK_JOIN) {
                wsd_str out;
                wsd_log(WSD_LOG_ERROR, "shared", "", "Hub link: unknown endpoint");
                wsd_str_init(&out, 8192);
                wsd_link_put_joined(&out, m->key, m->id, 0, 1);
                h_send(l, &out);
            }
            return;                /* a member that has gone: nothing to do */
        }
        f = xcalloc(1, sizeof *f);
        f->fan.ops = &lfan_ops;
        f->fan.busy = l->busy;
        f->l = l;
        f->key = xstrdup(m->key);
        f->core = c;
        f->next = l->fans;
        l->fans = f;
    }
    switch (m->type) {
    case WSD_LINK_JOIN: {
        wsd_str out;
        wsd_core_join(f->core, &f->fan, m->id, (const char *)m->blob, m->bloblen);
        /* the answer: the worker writes the 101 (or a 500) on it */
        wsd_str_init(&out, 8192);
        wsd_link_put_joined(&out, m->key, m->id, (unsigned)wsd_core_pid(f->core),
                            f->fan.core == NULL);   /* let go: it could not start */
        h_send(l, &out);
        break;
    }
    case WSD_LINK_LEAVE:
        wsd_core_leave(f->core, &f->fan, m->id, (int)m->code);
        break;
    case WSD_LINK_INPUT:
        wsd_core_input(f->core, m->id, m->opcode, m->blob, m->bloblen);
        break;
    default:
        break;
    }
    if (!f->fan.core && !l->closing)
        fan_free(l, f);            /* no member left at this worker */
}

static void on_h_closed(uv_handle_t *h)
{
    hlink *l = h->data;

    while (l->fans)
        fan_free(l, l->fans);
    wsd_link_reader_free(&l->rd);
    free(l);
}

static void h_link_close(hlink *l)
{
    hlink **pp;
    lfan *f;

    if (l->closing)
        return;
    l->closing = 1;
    for (pp = &H.links; *pp; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    }
    for (f = l->fans; f; f = f->next)
        wsd_core_fan_gone(&f->fan);
    uv_close((uv_handle_t *)&l->pipe, on_h_closed);
}

static void on_h_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    static wsd_linkmsg m;
    hlink *l = s->data;
    const uint8_t *body;
    size_t n;
    int rc;

    if (nread == 0)
        return;
    if (nread < 0 || wsd_link_reader_feed(&l->rd, buf->base, (size_t)nread) != 0) {
        h_link_close(l);
        return;
    }
    while ((rc = wsd_link_reader_next(&l->rd, &body, &n)) == 1) {
        if (wsd_link_parse(body, n, &m) != 0) {
            wsd_log(WSD_LOG_ERROR, "shared", "", "Malformed message from a worker");
            h_link_close(l);
            return;
        }
        h_dispatch(l, &m);
        if (l->closing)
            return;
    }
    if (rc < 0)
        h_link_close(l);
}

static void on_h_connection(uv_stream_t *server, int status)
{
    hlink *l;

    if (status != 0)
        return;
    l = xcalloc(1, sizeof *l);
    uv_pipe_init(H.loop, &l->pipe, 0);
    l->pipe.data = l;
    if (uv_accept(server, (uv_stream_t *)&l->pipe) != 0) {
        uv_close((uv_handle_t *)&l->pipe, on_h_closed);
        return;
    }
    wsd_link_reader_init(&l->rd);
    l->next = H.links;
    H.links = l;
    uv_read_start((uv_stream_t *)&l->pipe, alloc_read, on_h_read);
}

static void on_h_signal(uv_signal_t *s, int signum)
{
    size_t i;

    (void)s;
    if (signum != SIGTERM && signum != SIGINT && signum != SIGQUIT)
        return;                    /* SIGHUP, SIGUSR1, SIGUSR2: nothing to do here */
    if (H.stopping) {
        wsd_program_kill_all();
        exit(0);
    }
    H.stopping = 1;
    uv_close((uv_handle_t *)&H.listener, NULL);
    wsd_redis_origin_stop();      /* --redis: edges keep their clients */
    wsd_core_shutdown_all();
    /* the links close as the workers, shutting down too, go */
    for (i = 0; i < sizeof H.sigs / sizeof H.sigs[0]; i++)
        uv_unref((uv_handle_t *)&H.sigs[i]);
}

/* The supervisor's reload: the configuration file's text, checked by it;
 * parsed again here over the same command line. */
static int on_h_reload(void *data, const char *text, size_t len)
{
    wsd_config n;
    wsd_cfgsnap *snap;
    char *msg = NULL, err[WSD_CFGFILE_ERR_MAX];
    size_t ml = 0;
    FILE *m = open_memstream(&msg, &ml);
    int rc;

    (void)data;
    rc = wsd_config_reparse(&n, &H.snap->cfg, text, len, m ? m : stderr);
    if (m)
        fclose(m);
    if (rc >= 0) {
        wsd_log(WSD_LOG_ERROR, "shared", "", "Hub process: configuration not reloaded: %s",
                msg ? msg : "");
        free(msg);
        return 0;
    }
    free(msg);
    snap = wsd_cfgsnap_new(&n, H.snap->generation + 1, err, sizeof err);
    if (!snap) {
        wsd_config_free(&n);
        wsd_log(WSD_LOG_ERROR, "shared", "", "Hub process: configuration not reloaded: %s", err);
        return 0;
    }
    wsd_cfgsnap_unref(H.prev);
    H.prev = H.snap;
    H.snap = snap;
    if (!H.stopping)
        wsd_core_start_always(H.loop, H.snap);
    return 1;
}

int wsd_hub_process_run(wsd_config *cfg, const char *path, int ctlfd)
{
    static const int sigs[6] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2};
    char err[WSD_CFGFILE_ERR_MAX];
    size_t i;
    int rc;

    H.loop = uv_default_loop();
    H.snap = wsd_cfgsnap_new(cfg, 1, err, sizeof err);
    if (!H.snap) {
        wsd_log(WSD_LOG_FATAL, "shared", "", "Hub process: %s", err);
        return 1;
    }
    for (i = 0; i < 6; i++) {
        uv_signal_init(H.loop, &H.sigs[i]);
        uv_signal_start(&H.sigs[i], on_h_signal, sigs[i]);
    }
    if (wsd_spawn_init(H.loop) != 0 || wsd_defer_init(H.loop) != 0)
        return 1;
    if (ctlfd >= 0)
        H.ctl = wsd_ctl_open(H.loop, ctlfd, on_h_reload, NULL);
    uv_pipe_init(H.loop, &H.listener, 0);
    unlink(path);
    rc = uv_pipe_bind(&H.listener, path);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&H.listener, 511, on_h_connection);
    if (rc != 0) {
        wsd_log(WSD_LOG_FATAL, "shared", "", "Hub process cannot listen on %s: %s", path,
                uv_strerror(rc));
        return 1;
    }
    chmod(path, 0600);
    uv_timer_init(H.loop, &H.stall);
    uv_timer_start(&H.stall, on_stall_check, 1000, 1000);
    uv_unref((uv_handle_t *)&H.stall);
    wsd_core_start_always(H.loop, H.snap);
    wsd_redis_origin_start(H.loop, H.snap, 0);   /* --redis: the program's wsd is here */
    uv_run(H.loop, UV_RUN_DEFAULT);
    for (i = 0; i < 6; i++)
        uv_close((uv_handle_t *)&H.sigs[i], NULL);
    uv_close((uv_handle_t *)&H.stall, NULL);
    wsd_ctl_close(H.ctl);
    wsd_spawn_shutdown();
    wsd_defer_shutdown();
    uv_run(H.loop, UV_RUN_NOWAIT);
    wsd_redis_free();
    wsd_core_free_all();
    wsd_cfgsnap_unref(H.prev);
    wsd_cfgsnap_unref(H.snap);
    rc = uv_loop_close(H.loop);
    return rc == 0 ? 0 : 1;
}
