/* hubcore.c — the program side of --shared (see hubcore.h). */
#include "hubcore.h"

#include <assert.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defer.h"
#include "env.h"
#include "log.h"
#include "outframe.h"
#include "program.h"
#include "pty.h"
#include "record.h"
#include "util.h"
#include "ws.h"

#define RESTART_MIN_MS 100
#define RESTART_MAX_MS 30000
#define RESTART_STABLE_MS 10000        /* ran this long: the next restart is quick again */

struct wsd_core {
    wsd_core *next;              /* every core of this process */
    uv_loop_t *loop;
    wsd_cfgsnap *snap;           /* held: cfg is its memory */
    const wsd_config *cfg;
    unsigned refs;               /* wsd_core_get's callers */
    int always;                  /* --sharedalways of the current configuration */
    wsd_deferred sweep;          /* freed from the loop once unused */
    char *key, *file, *script_name, *script_file;
    char **argv;
    char *command;               /* for the log */
    char *assoc;                 /* "shared:'<command>' pid:'N'" */
    wsd_program *prog;           /* the running instance, or NULL */
    int out_eof;                 /* its stdout is at EOF */
    wsd_fan *fans;               /* fans with members */
    long members;
    wsd_outframer of;            /* its output, framed once */
    wsd_record_decoder rec;      /* --lossless: addressed records */
    char *to[WSD_RECORD_MAX_TO]; /* the recipients of the record under way */
    size_t nto;                  /* 0: everyone */
    uv_timer_t *restart;         /* --sharedalways: the next start */
    unsigned backoff_ms;
    uint64_t started_at;
    int instances;               /* started so far */
    int told_full;               /* the fans were told its stdin is full */
    int out_held;                /* stdout not read: a fan is busy (wsd_fan_busy) */
    int stopping;                /* shutting down: no restart */
};

static wsd_core *cores;

static void end_program(wsd_core *c);
static void schedule_restart(wsd_core *c, uint64_t ran);
static void maybe_release(wsd_core *c);

static const char *sig_name(int sig)
{
    const char *n = sigabbrev_np(sig);
    return n ? n : "?";
}

static void set_assoc(wsd_core *c)
{
    char cmd[1024];
    wsd_str a;

    wsd_log_escape(cmd, sizeof cmd, c->command, strlen(c->command));
    wsd_str_init(&a, 2048);
    if (c->prog)
        wsd_str_appendf(&a, "shared:'%s' pid:'%d'", cmd, c->prog->pid);
    else
        wsd_str_appendf(&a, "shared:'%s'", cmd);
    free(c->assoc);
    c->assoc = a.s;
}

/* ------------------------------------------------------------- fans */

/* Backpressure from the fans (wsd_fan_busy): stdout is read while no fan
 * is busy. */
static void output_hold(wsd_core *c)
{
    wsd_fan *f;

    if (c->out_held || !c->prog || c->out_eof)
        return;
    for (f = c->fans; f; f = f->next)
        if (f->busy)
            break;
    if (!f)
        return;
    c->out_held = 1;
    wsd_program_read(c->prog, WSD_PROGRAM_STDOUT, 0);
    wsd_log(WSD_LOG_DEBUG, "shared", c->assoc, "Output held: a worker is busy");
}

static void output_resume(wsd_core *c)
{
    wsd_fan *f;

    if (!c->out_held)
        return;
    for (f = c->fans; f; f = f->next)
        if (f->busy)
            return;
    c->out_held = 0;
    if (c->prog && !c->out_eof)
        wsd_program_read(c->prog, WSD_PROGRAM_STDOUT, 1);
    wsd_log(WSD_LOG_DEBUG, "shared", c->assoc, "Output flows again");
}

void wsd_fan_busy(wsd_fan *f, int busy)
{
    f->busy = busy;
    if (!f->core)
        return;
    if (busy)
        output_hold(f->core);
    else
        output_resume(f->core);
}

static void fan_attach(wsd_core *c, wsd_fan *f)
{
    f->core = c;
    f->prev = NULL;
    f->next = c->fans;
    if (c->fans)
        c->fans->prev = f;
    c->fans = f;
}

static void fan_detach(wsd_fan *f)
{
    wsd_core *c = f->core;

    if (!c)
        return;
    if (f->prev)
        f->prev->next = f->next;
    else
        c->fans = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->prev = f->next = NULL;
    f->core = NULL;
    c->members -= f->members;
    f->members = 0;
    if (f->busy)
        output_resume(c);        /* c's output may flow again */
}

/* Frames to every fan with members (a fan's own members are filtered by
 * it, for addressed records). */
static void to_fans(wsd_core *c, const uint8_t *p, size_t n)
{
    wsd_fan *f, *next;

    if (n == 0)
        return;
    for (f = c->fans; f; f = next) {
        next = f->next;
        f->ops->frames(f, p, n, c->nto ? (const char *const *)c->to : NULL, c->nto);
    }
}

/* ------------------------------------------------------------- output */

/* Frames are built in one buffer for the whole process, sized for the
 * worst case. */
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

static void set_recipients(wsd_core *c, const char *const *to, size_t nto)
{
    size_t i;

    for (i = 0; i < c->nto; i++)
        free(c->to[i]);
    for (i = 0; i < nto; i++)
        c->to[i] = xstrdup(to[i]);
    c->nto = nto;
}

/* Addressed mode: records → frames for their recipients, close commands;
 * a malformed record is logged and skipped (never reaches a client). */
static void addressed_output(wsd_core *c, const uint8_t *in, size_t n, int eof)
{
    size_t pos = 0;

    for (;;) {
        wsd_record_event ev;
        size_t flen = 0;
        uint8_t *sc = scratch(wsd_record_bound(n - pos));
        size_t used = wsd_record_step(&c->rec, in + pos, n - pos, eof, sc, &flen, &ev);
        to_fans(c, sc, flen);
        pos += used;
        switch (ev.type) {
        case WSD_REC_START:
            set_recipients(c, ev.to, ev.nto);
            break;
        case WSD_REC_CLOSE: {
            wsd_fan *f, *next;
            wsd_log(WSD_LOG_DEBUG, "shared", c->assoc, "Program closes client %s with %u", ev.id,
                    ev.code);
            for (f = c->fans; f; f = next) {
                next = f->next;
                f->ops->close_member(f, ev.id, ev.code, ev.reason);
            }
            break;
        }
        case WSD_REC_BAD:
            wsd_log(WSD_LOG_ERROR, "shared", c->assoc, "Malformed record from program skipped: %s",
                    ev.err);
            break;
        default:
            return;                /* the input is consumed */
        }
    }
}

static void program_finished(wsd_core *c, wsd_program *p);

static void on_prog_stdout(wsd_program *p, const char *buf, size_t n, int eof)
{
    wsd_core *c = p->data;

    if (c->cfg->lossless) {
        addressed_output(c, (const uint8_t *)buf, n, eof);
    } else {
        uint8_t *sc = scratch(wsd_outframer_bound(n));
        to_fans(c, sc, wsd_outframer_encode(&c->of, (const uint8_t *)buf, n, eof, sc));
    }
    if (eof)
        c->out_eof = 1;
    else
        output_hold(c);
    if (eof && p->reaped && c->prog == p)
        program_finished(c, p);
}

static void on_prog_exit(wsd_program *p)
{
    wsd_core *c = p->data;

    if (p->term_signal)
        wsd_log(WSD_LOG_INFO, "shared", c->assoc, "Shared program killed by signal %d (SIG%s)",
                p->term_signal, sig_name(p->term_signal));
    else
        wsd_log(WSD_LOG_INFO, "shared", c->assoc, "Shared program exited with status %lld",
                (long long)p->exit_status);
    if (c->out_eof && c->prog == p)
        program_finished(c, p);
}

static void tell_stdin(wsd_core *c, int full)
{
    wsd_fan *f, *next;

    c->told_full = full;
    for (f = c->fans; f; f = next) {
        next = f->next;
        f->ops->stdin_state(f, full);
    }
}

static void on_prog_stdin_ready(wsd_program *p)
{
    wsd_core *c = p->data;

    tell_stdin(c, 0);
}

static void on_prog_done(wsd_program *p)
{
    wsd_core *c = p->data;

    if (c->prog == p)
        c->prog = NULL;
    wsd_program_free(p);
}

static const wsd_program_ops core_program_ops = {
    on_prog_stdout, NULL, on_prog_exit, on_prog_stdin_ready, on_prog_done,
};

/* ------------------------------------------------------------- life */

/* Ends the running instance (the WebSocket kill schedule); it finishes on
 * its own, unheard. */
static void end_program(wsd_core *c)
{
    wsd_program *p = c->prog;

    if (!p)
        return;
    c->prog = NULL;
    wsd_program_end(p);
    wsd_program_detach(p);
    wsd_program_orphan(p, c->assoc);
    set_assoc(c);
}

static void on_restart(uv_timer_t *t)
{
    wsd_core *c = t->data;

    if (c->stopping || c->prog)
        return;
    if (wsd_core_start(c) != 0)
        schedule_restart(c, 0);
}

/* --sharedalways: the next start, 100 ms after an instance that ran at
 * least RESTART_STABLE_MS, else twice the last wait (at most 30 s). */
static void schedule_restart(wsd_core *c, uint64_t ran)
{
    if (ran >= RESTART_STABLE_MS || c->backoff_ms == 0)
        c->backoff_ms = RESTART_MIN_MS;
    else
        c->backoff_ms = c->backoff_ms * 2 > RESTART_MAX_MS ? RESTART_MAX_MS : c->backoff_ms * 2;
    wsd_log(WSD_LOG_ERROR, "shared", c->assoc, "Restarting the shared program in %u ms",
            c->backoff_ms);
    if (!c->restart) {
        c->restart = xmalloc(sizeof *c->restart);
        uv_timer_init(c->loop, c->restart);
        c->restart->data = c;
        uv_unref((uv_handle_t *)c->restart);
    }
    uv_timer_start(c->restart, on_restart, c->backoff_ms, 0);
}

/* Every fan is told the instance ended (failed: it could not start) and
 * loses its members. */
static void all_ended(wsd_core *c, int64_t status, int sig, int failed)
{
    wsd_fan *f, *next;

    for (f = c->fans; f; f = next) {
        next = f->next;
        fan_detach(f);
        f->ops->ended(f, status, sig, failed);
    }
    c->members = 0;
}

/* The instance exited and its output is out. On demand: the fans' members
 * get the close frame that reports it and are no longer the core's (a new
 * member starts a new instance). --sharedalways: members stay; the program
 * is started again after the backoff. */
static void program_finished(wsd_core *c, wsd_program *p)
{
    int64_t status = p->exit_status;
    int sig = p->term_signal;

    c->prog = NULL;
    wsd_program_orphan(p, c->assoc);
    set_assoc(c);
    if (!c->always || c->stopping) {
        all_ended(c, status, sig, 0);
        maybe_release(c);
        return;
    }
    schedule_restart(c, uv_now(c->loop) - c->started_at);
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void core_free(wsd_core *c)
{
    size_t i;

    assert(!c->prog && !c->fans);
    wsd_defer_cancel(&c->sweep);
    set_recipients(c, NULL, 0);
    wsd_record_decoder_free(&c->rec);
    for (i = 0; c->argv[i]; i++)
        free(c->argv[i]);
    free(c->argv);
    free(c->key);
    free(c->file);
    free(c->script_name);
    free(c->script_file);
    free(c->command);
    free(c->assoc);
    wsd_cfgsnap_unref(c->snap);
    free(c);
}

static int unused(const wsd_core *c)
{
    return c->refs == 0 && !c->always && !c->prog && !c->fans &&
           !(c->restart && uv_is_active((uv_handle_t *)c->restart));
}

static void on_restart_closed(uv_handle_t *t)
{
    free(t);
}

/* From the loop: a core nobody uses any more goes (its snapshot with it). */
static void on_sweep(wsd_deferred *d)
{
    wsd_core *c = (wsd_core *)((char *)d - offsetof(wsd_core, sweep));
    wsd_core **pp;

    if (!unused(c))
        return;
    for (pp = &cores; *pp != c; pp = &(*pp)->next)
        ;
    *pp = c->next;
    if (c->restart) {
        uv_close((uv_handle_t *)c->restart, on_restart_closed);
        c->restart = NULL;
    }
    core_free(c);
}

/* Never inside the core's own call chain: the sweep runs from the loop. */
static void maybe_release(wsd_core *c)
{
    if (unused(c))
        wsd_defer(&c->sweep);
}

wsd_core *wsd_core_get(uv_loop_t *loop, wsd_cfgsnap *snap, const wsd_config *cfg,
                       const wsd_core_spec *spec)
{
    wsd_core *c;
    size_t n, i;

    for (c = cores; c; c = c->next) {
        if (strcmp(c->key, spec->key) == 0) {
            c->refs++;
            return c;
        }
    }
    c = xcalloc(1, sizeof *c);
    c->loop = loop;
    c->snap = wsd_cfgsnap_ref(snap);
    c->cfg = cfg;
    c->refs = 1;
    c->sweep.cb = on_sweep;
    c->key = xstrdup(spec->key);
    c->file = xstrdup(spec->file);
    c->script_name = xstrdup(spec->script_name ? spec->script_name : "/");
    c->script_file = dup_or_null(spec->script_file);
    for (n = 0; spec->argv && spec->argv[n]; n++)
        ;
    c->argv = xcalloc(n + 1, sizeof *c->argv);
    for (i = 0; i < n; i++)
        c->argv[i] = xstrdup(spec->argv[i]);
    c->command = xstrdup(spec->name && *spec->name ? spec->name : spec->file);
    set_assoc(c);
    c->next = cores;
    cores = c;
    return c;
}

wsd_core *wsd_core_find(const char *key)
{
    wsd_core *c;

    for (c = cores; c; c = c->next) {
        if (strcmp(c->key, key) == 0) {
            c->refs++;
            return c;
        }
    }
    return NULL;
}

void wsd_core_put(wsd_core *c)
{
    assert(c->refs > 0);
    c->refs--;
    maybe_release(c);
}

int wsd_core_start(wsd_core *c)
{
    const wsd_config *cfg = c->cfg;
    wsd_spawn_options opt;
    wsd_program_options po;
    wsd_kill_plan kill;
    wsd_fan *f;
    char **env;
    int rc;

    if (c->prog)
        return 0;
    env = wsd_env_build_shared(cfg, c->script_name, c->script_file);
    memset(&opt, 0, sizeof opt);
    opt.file = c->file;
    opt.argv = c->argv;
    opt.env = env;
    wsd_kill_plan_websocket(&kill, (unsigned)cfg->closems);
    memset(&po, 0, sizeof po);
    po.spawn = &opt;
    po.ops = &core_program_ops;
    po.kill = &kill;
    po.log_category = "shared";
    po.stderr_category = "stderr";
    po.assoc = &c->assoc;
    po.data = c;
    po.pty = cfg->linebuffered ? WSD_PTY_STDOUT : WSD_PTY_NONE;
    rc = wsd_program_start(c->loop, &po, &c->prog);
    free(env);
    if (rc != 0) {
        wsd_log(WSD_LOG_ERROR, "shared", c->assoc, "Could not launch process %s (%s)", c->file,
                wsd_spawn_strerror(rc));
        return rc;
    }
    c->out_eof = 0;
    c->out_held = 0;
    c->started_at = uv_now(c->loop);
    wsd_outframer_init(&c->of, cfg->binary);
    wsd_record_decoder_free(&c->rec);
    wsd_record_decoder_init_addressed(&c->rec);
    set_recipients(c, NULL, 0);
    set_assoc(c);
    wsd_log(WSD_LOG_INFO, "shared", c->assoc, "Shared program started");
    wsd_program_read(c->prog, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    for (f = c->fans; f; f = f->next)
        f->ops->started(f, c->prog->pid, c->instances > 0);
    c->instances++;
    return 0;
}

int wsd_core_pid(const wsd_core *c)
{
    return c->prog ? c->prog->pid : 0;
}

const char *wsd_core_assoc(const wsd_core *c)
{
    return c->assoc;
}

/* ------------------------------------------------------------- stdin */

static void core_write(wsd_core *c, const void *p, size_t n)
{
    if (c->prog)
        wsd_program_write(c->prog, p, n);
}

void wsd_core_join(wsd_core *c, wsd_fan *f, const char *id, const char *joinrec, size_t len)
{
    if (!f->core)
        fan_attach(c, f);
    f->members++;
    c->members++;
    if (!c->prog && !c->stopping &&
        !(c->restart && uv_is_active((uv_handle_t *)c->restart)) &&   /* not in a backoff */
        wsd_core_start(c) != 0) {
        all_ended(c, 0, 0, 1);     /* it cannot start: the members are told */
        return;
    }
    if (joinrec && len)
        core_write(c, joinrec, len);
    (void)id;
}

void wsd_core_rejoin(wsd_core *c, const char *joinrec, size_t len)
{
    if (joinrec && len)
        core_write(c, joinrec, len);
}

void wsd_core_leave(wsd_core *c, wsd_fan *f, const char *id, int code)
{
    if (f->core != c)
        return;                    /* already let go (the instance ended) */
    f->members--;
    c->members--;
    if (c->cfg->lossless && c->prog) {
        char rec[96];
        int n = snprintf(rec, sizeof rec, "leave %s %d\n", id, code ? code : 1006);
        core_write(c, rec, (size_t)n);
    }
    if (f->members == 0)
        fan_detach(f);
    if (c->members == 0 && !c->always)
        end_program(c);            /* the last one has gone */
    maybe_release(c);
}

void wsd_core_fan_gone(wsd_fan *f)
{
    wsd_core *c = f->core;

    if (!c)
        return;
    fan_detach(f);
    wsd_log(WSD_LOG_INFO, "shared", c->assoc, "A worker with members went away");
    if (c->members == 0 && !c->always)
        end_program(c);
    maybe_release(c);
}

static void check_full(wsd_core *c);

void wsd_core_input(wsd_core *c, const char *id, int opcode, const void *p, size_t n)
{
    if (!c->prog || !wsd_program_stdin_open(c->prog)) {
        wsd_log(WSD_LOG_DEBUG, "shared", c->assoc, "No program running: message from %s dropped",
                id);
        return;
    }
    if (c->cfg->lossless) {
        /* "text LEN from=ID\n": the plain header with the sender added */
        char hdr[WSD_RECORD_HEADER_MAX + 48];
        size_t hl = wsd_record_header(hdr, opcode == WSD_WS_TEXT, n) - 1;   /* without "\n" */
        hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, " from=%s\n", id);
        core_write(c, hdr, hl);
        core_write(c, p, n);
        core_write(c, "\n", 1);
    } else {
        core_write(c, p, n);
        if (opcode == WSD_WS_TEXT)
            core_write(c, "\n", 1);
    }
    check_full(c);
}

/* After an input: a full stdin holds every fan's members. */
static void check_full(wsd_core *c)
{
    if (!c->told_full && wsd_core_stdin_full(c))
        tell_stdin(c, 1);
}

int wsd_core_stdin_full(const wsd_core *c)
{
    return c->prog && wsd_program_stdin_full(c->prog);
}

size_t wsd_core_stdin_queued(const wsd_core *c)
{
    return c->prog ? wsd_program_stdin_queued(c->prog) : 0;
}

/* ------------------------------------------------------------- server */

void wsd_core_start_always(uv_loop_t *loop, wsd_cfgsnap *snap)
{
    wsd_core *c;
    size_t i;

    for (c = cores; c; c = c->next)
        c->always = -c->always;    /* -1: was; kept if snap still has it */
    for (i = 0; i < wsd_cfgsnap_count(snap); i++) {
        const wsd_endpoint *ep = wsd_cfgsnap_at(snap, i);
        const wsd_config *cfg = ep->cfg;
        wsd_core_spec spec;
        char *key;
        if (!cfg->sharedalways || !cfg->command_path)
            continue;
        key = wsd_cfgsnap_core_key(ep->key, "");   /* COMMAND's (shared.c's) */
        memset(&spec, 0, sizeof spec);
        spec.key = key;
        spec.name = cfg->command;
        spec.file = cfg->command_path;
        spec.argv = cfg->argv;
        spec.script_name = ep->is_route ? ep->path : "/";
        c = wsd_core_get(loop, snap, cfg, &spec);
        free(key);
        c->always = 1;
        c->stopping = 0;
        if (!c->prog && !(c->restart && uv_is_active((uv_handle_t *)c->restart)) &&
            wsd_core_start(c) != 0)
            schedule_restart(c, 0);
        wsd_core_put(c);
    }
    for (c = cores; c; c = c->next) {
        if (c->always >= 0)
            continue;
        /* configured no more: on demand from now on, no restart */
        c->always = 0;
        if (c->restart) {
            uv_close((uv_handle_t *)c->restart, on_restart_closed);
            c->restart = NULL;
        }
        if (c->members == 0)
            end_program(c);
        maybe_release(c);
    }
}

void wsd_core_shutdown_all(void)
{
    wsd_core *c;

    for (c = cores; c; c = c->next) {
        c->stopping = 1;
        if (c->restart) {
            uv_close((uv_handle_t *)c->restart, on_restart_closed);
            c->restart = NULL;
        }
        end_program(c);
    }
}

/* At exit, after the loop: every core's memory. */
void wsd_core_free_all(void)
{
    while (cores) {
        wsd_core *c = cores;
        cores = c->next;
        core_free(c);
    }
}
