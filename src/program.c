/* program.c — one running program and its three pipes (see program.h). */
#include "program.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "pty.h"
#include "util.h"

#define READ_SIZE (64 * 1024)

static wsd_program *programs;    /* not yet done */
static long nprograms;

/* stdout and stderr are read into one buffer for the whole process: the
 * read callbacks hand the bytes on (frames, log lines, copies of what must
 * wait) before they return and keep no pointer into it. */
static char read_buf[READ_SIZE];

static void check_done(wsd_program *p);
static void stdin_flush(wsd_program *p);
static void on_timer(uv_timer_t *t);

static const char *assoc_of(const wsd_program *p)
{
    return p->assoc && *p->assoc ? *p->assoc : "";
}

static const char *sig_name(int sig)
{
    const char *n = sigabbrev_np(sig);
    return n ? n : "?";
}

void wsd_kill_plan_websocket(wsd_kill_plan *k, unsigned closems)
{
    memset(k, 0, sizeof *k);
    k->delay_ms[0] = 100 + closems;
    k->delay_ms[1] = 250 + closems;
    k->delay_ms[2] = 500 + closems;
    k->sig[0] = SIGINT;
    k->sig[1] = SIGTERM;
    k->sig[2] = SIGKILL;
    k->nsteps = 3;
    k->giveup_ms = 1000;
    k->eof_grace_ms = 0;
    k->drain_ms = 1000;
}

void wsd_kill_plan_cgi(wsd_kill_plan *k)
{
    memset(k, 0, sizeof *k);
    k->delay_ms[0] = 0;
    k->delay_ms[1] = 1000;
    k->sig[0] = SIGTERM;
    k->sig[1] = SIGKILL;
    k->nsteps = 2;
    k->giveup_ms = 1000;
    k->eof_grace_ms = 1000;
    k->drain_ms = 1000;
}

/* ------------------------------------------------------------- handles */

static void on_closed(uv_handle_t *h)
{
    wsd_program *p = h->data;

    assert(p->handles > 0);
    if (--p->handles == 0 && p->done && p->ops.on_done)
        p->ops.on_done(p);
}

static void close_handle(wsd_program *p, uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        h->data = p;
        uv_close(h, on_closed);
    }
}

/* A pty master hands out at most PTY_READ bytes per read (the line
 * discipline's buffer, pty.h): asking for exactly that much makes libuv
 * read on while reads come back full, instead of one read per wakeup. */
#define PTY_READ 4096

static void alloc_read(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    const wsd_program *p = h->data;

    (void)suggested;
    buf->base = read_buf;
    buf->len = p->pty && h == (const uv_handle_t *)&p->out ? PTY_READ : sizeof read_buf;
}

/* ------------------------------------------------------------------ stdin */

/* The gather buffer: what one client read decodes for a program's stdin is
 * collected here (lent to the program as its queue while it gathers) and
 * written with one write(2); only what the pipe does not take is copied
 * into memory of the program's own. Growing a per-connection queue by
 * doubling for every read cost 11% of wsd's time at 4 KiB messages
 * (docs/performance.md, finding 1b). */
#define GATHER_SIZE (2 * READ_SIZE)
static char *gather_buf;
static int gather_lent;

static void inq_lend(wsd_program *p)
{
    if (gather_lent || p->inq || p->in_writing || !p->in_open)
        return;
    if (!gather_buf)
        gather_buf = xmalloc(GATHER_SIZE);
    p->inq = gather_buf;
    p->inq_len = 0;
    p->inq_cap = GATHER_SIZE;
    p->inq_lent = 1;
    gather_lent = 1;
}

static void inq_drop(wsd_program *p)
{
    if (p->inq_lent) {
        p->inq_lent = 0;
        gather_lent = 0;
    } else {
        free(p->inq);
    }
    p->inq = NULL;
    p->inq_len = p->inq_cap = 0;
}

/* Closes the stdin pipe for good (the queue is written or abandoned). */
static void stdin_finish(wsd_program *p)
{
    p->in_open = 0;
    if (p->in_closing) {
        p->in_closing = 0;
        close_handle(p, (uv_handle_t *)&p->in);
    }
    inq_drop(p);
}

void wsd_program_close_stdin(wsd_program *p)
{
    if (!p->in_open)
        return;
    p->in_open = 0;
    p->in_closing = 1;
    if (p->inq_len > 0 && !p->in_writing)
        stdin_flush(p);
    if (!p->in_writing)
        stdin_finish(p);
}

/* Writes what the pipe takes now, without waiting. Returns the bytes taken
 * (0 when the pipe is full), or -1 when the write failed: then stdin is
 * closed (or, already closing, finished) and the bytes dropped. */
static long stdin_try_write(wsd_program *p, const char *b, size_t n)
{
    uv_buf_t ub = uv_buf_init((char *)b, (unsigned)n);
    int w = uv_try_write((uv_stream_t *)&p->in, &ub, 1);

    if (w >= 0)
        return w;
    if (w == UV_EAGAIN)
        return 0;
    wsd_log(WSD_LOG_DEBUG, p->log_cat, assoc_of(p), "Write to stdin failed: %s", uv_strerror(w));
    if (p->in_open)
        wsd_program_close_stdin(p);
    else
        stdin_finish(p);
    return -1;
}

/* Gives the gather buffer back: writes what the pipe takes now and keeps a
 * copy of the rest as the program's queue. */
static void inq_return(wsd_program *p)
{
    char *g = p->inq;
    size_t len = p->inq_len;

    p->inq = NULL;
    p->inq_len = p->inq_cap = 0;
    p->inq_lent = 0;
    gather_lent = 0;
    if (len == 0 || (!p->in_open && !p->in_closing))
        return;
    if (!p->in_writing) {
        long w = stdin_try_write(p, g, len);
        if (w < 0 || (size_t)w == len)
            return;
        g += w;
        len -= (size_t)w;
    }
    p->inq = xmalloc(len);
    memcpy(p->inq, g, len);
    p->inq_len = p->inq_cap = len;
}

static void on_stdin_written(uv_write_t *req, int status)
{
    wsd_program *p = req->data;

    free(req);
    free(p->infl);
    p->infl = NULL;
    p->infl_len = 0;
    p->in_writing = 0;
    if (status != 0) {
        if (status != UV_ECANCELED)
            wsd_log(WSD_LOG_DEBUG, p->log_cat, assoc_of(p), "Write to stdin failed: %s",
                    uv_strerror(status));
        p->in_open = 0;
        p->in_closing = 1;
        stdin_finish(p);
        if (status != UV_ECANCELED && p->ops.on_stdin_ready)
            p->ops.on_stdin_ready(p);
        return;
    }
    stdin_flush(p);
    if (p->in_closing && !p->in_writing) {
        stdin_finish(p);
        return;
    }
    if (p->inq_len + p->infl_len < WSD_STDIN_LOW && p->ops.on_stdin_ready)
        p->ops.on_stdin_ready(p);
}

/* Hands the queued bytes to one uv_write (one at a time). */
static void stdin_flush(wsd_program *p)
{
    uv_write_t *req;
    uv_buf_t b;

    if (p->inq_lent)
        inq_return(p);
    if ((!p->in_open && !p->in_closing) || p->in_writing || p->inq_len == 0)
        return;
    req = xmalloc(sizeof *req);
    b = uv_buf_init(p->inq, (unsigned)p->inq_len);
    req->data = p;
    p->infl = p->inq;
    p->infl_len = p->inq_len;
    p->inq = NULL;
    p->inq_len = p->inq_cap = 0;
    p->in_writing = 1;
    if (uv_write(req, (uv_stream_t *)&p->in, &b, 1, on_stdin_written) != 0) {
        free(req);
        free(p->infl);
        p->infl = NULL;
        p->infl_len = 0;
        p->in_writing = 0;
        if (p->in_open)
            wsd_program_close_stdin(p);
        else
            stdin_finish(p);
    }
}

void wsd_program_write(wsd_program *p, const void *buf, size_t n)
{
    const char *b = buf;

    if (!p->in_open || n == 0)
        return;
    if (!p->in_writing && p->inq_len == 0 && !p->gathering) {
        long w = stdin_try_write(p, b, n);
        if (w < 0 || (size_t)w == n)
            return;
        b += w;
        n -= (size_t)w;
    }
    if (p->inq_len + n > p->inq_cap) {
        size_t cap = p->inq_cap ? p->inq_cap : 4096;
        while (cap < p->inq_len + n)
            cap *= 2;
        if (p->inq_lent) {         /* outgrew the gather buffer: own memory */
            char *q = xmalloc(cap);
            memcpy(q, p->inq, p->inq_len);
            p->inq = q;
            p->inq_lent = 0;
            gather_lent = 0;
        } else {
            p->inq = xrealloc(p->inq, cap);
        }
        p->inq_cap = cap;
    }
    assert(p->inq && p->inq_len + n <= p->inq_cap);
    memcpy(p->inq + p->inq_len, b, n);
    p->inq_len += n;
    if (!p->gathering)
        stdin_flush(p);
}

void wsd_program_gather(wsd_program *p, int on)
{
    if (on) {
        if (!p->gathering) {
            p->gathering = 1;
            inq_lend(p);
        }
    } else if (p->gathering) {
        p->gathering = 0;
        stdin_flush(p);
    }
}

size_t wsd_program_stdin_queued(const wsd_program *p)
{
    return p->inq_len + p->infl_len;
}

int wsd_program_stdin_full(const wsd_program *p)
{
    return p->in_open && p->inq_len + p->infl_len >= WSD_STDIN_HIGH;
}

int wsd_program_stdin_open(const wsd_program *p)
{
    return p->in_open;
}

/* ------------------------------------------------------- stdout, stderr */

static void on_out_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void on_err_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void read_pipe(wsd_program *p, int which, int on)
{
    uv_stream_t *s = which == WSD_PROGRAM_STDOUT ? (uv_stream_t *)&p->out : (uv_stream_t *)&p->err;
    int open = which == WSD_PROGRAM_STDOUT ? p->out_open : p->err_open;

    if (!open)
        return;
    if (on)
        uv_read_start(s, alloc_read, which == WSD_PROGRAM_STDOUT ? on_out_read : on_err_read);
    else
        uv_read_stop(s);
    if (which == WSD_PROGRAM_STDOUT)
        p->out_reading = on != 0;
    else
        p->err_reading = on != 0;
}

void wsd_program_read(wsd_program *p, unsigned which, int on)
{
    if (p->detached)
        return;                    /* read (and dropped) until the end */
    if (which & WSD_PROGRAM_STDOUT)
        read_pipe(p, WSD_PROGRAM_STDOUT, on);
    if (which & WSD_PROGRAM_STDERR)
        read_pipe(p, WSD_PROGRAM_STDERR, on);
}

/* A pipe is abandoned (given up on, or nobody takes the output and the
 * group is gone): closed as if at EOF. */
static void abandon_pipes(wsd_program *p)
{
    if (p->out_open) {
        p->out_open = 0;
        p->out_eof = 1;
        close_handle(p, (uv_handle_t *)&p->out);
        if (!p->detached && p->ops.on_stdout)
            p->ops.on_stdout(p, NULL, 0, 1);
    }
    if (p->err_open) {
        p->err_open = 0;
        p->err_eof = 1;
        close_handle(p, (uv_handle_t *)&p->err);
        if (!p->detached && p->ops.on_stderr)
            p->ops.on_stderr(p, NULL, 0, 1);
    }
}

static void start_grace(wsd_program *p);

/* A pty master's end (pty.h). libuv 1.44 ends a stream that polls POLLHUP
 * right after a short read (uv__stream_io): right for a pipe, but a pty
 * master hangs up while the kernel still holds the program's last output
 * (up to ~68 KiB, handed to the reader 4 KiB per read): 5-13 KB of 10 MB
 * went missing. After the hangup a read returns data or EIO and never
 * blocks, so the rest is read here, to EIO, before the EOF is reported. */
static void pty_drain(wsd_program *p)
{
    uv_os_fd_t fd;
    size_t total = 0;
    ssize_t n;

    if (uv_fileno((const uv_handle_t *)&p->out, &fd) != 0)
        return;
    while (total < 16 * READ_SIZE && (n = read(fd, read_buf, sizeof read_buf)) > 0) {
        total += (size_t)n;
        if (!p->detached && p->ops.on_stdout)
            p->ops.on_stdout(p, read_buf, (size_t)n, 0);
    }
}

static void on_out_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    wsd_program *p = s->data;
    int eof = nread < 0;

    if (nread == 0)
        return;
    if (eof && p->pty)
        pty_drain(p);
    if (eof && nread != UV_EOF && !(p->pty && nread == UV_EIO))   /* pty.h: EIO = EOF */
        wsd_log(WSD_LOG_DEBUG, p->log_cat, assoc_of(p), "Error reading stdout: %s",
                uv_strerror((int)nread));
    if (eof) {
        p->out_eof = 1;
        p->out_open = 0;
        close_handle(p, (uv_handle_t *)&p->out);
    }
    if (!p->detached && p->ops.on_stdout)
        p->ops.on_stdout(p, buf->base, eof ? 0 : (size_t)nread, eof);
    if (eof) {
        if (!p->reaped)
            start_grace(p);        /* stdout closed, the program runs on */
        check_done(p);
    }
}

static void log_stderr(wsd_program *p, const char *b, size_t n)
{
    char esc[WSD_ERR_LINE * 4 + 8];
    if (n > 0 && b[n - 1] == '\r')
        n--;
    wsd_log(WSD_LOG_ERROR, p->err_cat, assoc_of(p), "%s", wsd_log_escape(esc, sizeof esc, b, n));
}

/* stderr → the log, a line at a time (≤ WSD_ERR_LINE bytes: longer lines
 * are logged in pieces). */
static void split_stderr(wsd_program *p, const char *b, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(b, '\n', n);
        size_t take = nl ? (size_t)(nl - b) : n;
        if (!p->errline)
            p->errline = xmalloc(WSD_ERR_LINE);
        while (take > 0) {
            size_t room = WSD_ERR_LINE - p->errlen;
            size_t k = take < room ? take : room;
            memcpy(p->errline + p->errlen, b, k);
            p->errlen += k;
            b += k;
            n -= k;
            take -= k;
            if (p->errlen == WSD_ERR_LINE) {
                log_stderr(p, p->errline, p->errlen);
                p->errlen = 0;
            }
        }
        if (nl) {
            log_stderr(p, p->errline, p->errlen);
            p->errlen = 0;
            b++;
            n--;
        }
    }
}

static void on_err_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    wsd_program *p = s->data;
    int eof = nread < 0;

    if (nread == 0)
        return;
    if (!eof)
        split_stderr(p, buf->base, (size_t)nread);
    if (eof) {
        if (p->errlen > 0)
            log_stderr(p, p->errline, p->errlen);
        p->errlen = 0;
        p->err_open = 0;
        p->err_eof = 1;
        close_handle(p, (uv_handle_t *)&p->err);
    }
    if (p->errlen == 0 && p->errline) {
        free(p->errline);          /* idle programs keep no stderr buffer */
        p->errline = NULL;
    }
    if (!p->detached && p->ops.on_stderr)
        p->ops.on_stderr(p, buf->base, eof ? 0 : (size_t)nread, eof);
    if (eof)
        check_done(p);
}

/* ------------------------------------------------------ ending, reaping */

/* Does the process group still have members? Once it is seen empty after
 * the leader was reaped, its ID is free for reuse (pid_max may be 32768 and
 * wrap within seconds), so it is never probed or signalled again. */
static int group_alive(wsd_program *p)
{
    if (p->pid <= 0 || p->group_gone)
        return 0;
    if (kill(-p->pid, 0) == 0 || errno == EPERM)
        return 1;
    if (p->reaped)
        p->group_gone = 1;
    return 0;
}

static void signal_group(wsd_program *p, int sig)
{
    if (group_alive(p)) {
        wsd_log(WSD_LOG_DEBUG, p->log_cat, assoc_of(p), "Sending SIG%s to process group %d",
                sig_name(sig), p->pid);
        if (kill(-p->pid, sig) == 0 || errno != ESRCH || p->reaped)
            return;
    }
    if (!p->reaped)
        kill(p->child.pid, sig);   /* the leader left its group (setsid/setpgid) */
}

static void timer_start(wsd_program *p, uint64_t ms)
{
    uv_timer_start(&p->timer, on_timer, ms, 0);
}

/* Sends the next signal of the plan and schedules the one after it (or the
 * end of waiting). */
static void kill_step(wsd_program *p)
{
    if (p->step < p->kill.nsteps) {
        int i = p->step++;
        signal_group(p, p->kill.sig[i]);
        timer_start(p, p->step < p->kill.nsteps ? p->kill.delay_ms[p->step] : p->kill.giveup_ms);
        return;
    }
    /* after the last signal something still lives: give up on it */
    wsd_log(WSD_LOG_ERROR, p->log_cat, assoc_of(p), "SIGKILL did not terminate %d!", p->pid);
    p->gave_up = 1;
    if (!p->reaped) {
        p->reaped = 1;             /* stop waiting for an unkillable child */
        p->term_signal = SIGKILL;
    }
    check_done(p);
}

static void on_timer(uv_timer_t *t)
{
    wsd_program *p = t->data;

    if (p->grace) {
        p->grace = 0;
        wsd_program_end(p);
        return;
    }
    if (p->draining) {
        if ((p->out_open && !p->out_reading) || (p->err_open && !p->err_reading)) {
            timer_start(p, p->kill.drain_ms);   /* the owner holds reading back: wait */
            return;
        }
        p->draining = 0;
        p->over = 1;               /* read long enough: abandon what escaped */
        check_done(p);
        return;
    }
    if (p->reaped && !group_alive(p)) {
        p->over = 1;               /* nobody left to signal */
        check_done(p);
        return;
    }
    kill_step(p);
}

void wsd_program_end(wsd_program *p)
{
    if (p->done || p->ending)
        return;
    p->ending = 1;
    p->grace = 0;
    p->draining = 0;
    uv_timer_stop(&p->timer);
    wsd_program_close_stdin(p);
    if (p->kill.nsteps > 0 && p->kill.delay_ms[0] == 0) {
        p->step = 1;
        signal_group(p, p->kill.sig[0]);
        timer_start(p, p->kill.nsteps > 1 ? p->kill.delay_ms[1] : p->kill.giveup_ms);
    } else {
        timer_start(p, p->kill.nsteps > 0 ? p->kill.delay_ms[0] : p->kill.giveup_ms);
    }
}

/* stdout closed while the program runs: it is ended, at once or after the
 * plan's grace. */
static void start_grace(wsd_program *p)
{
    if (p->ending || p->done)
        return;
    if (p->kill.eof_grace_ms == 0) {
        wsd_program_end(p);
        return;
    }
    p->grace = 1;
    timer_start(p, p->kill.eof_grace_ms);
}

/* The process side is done when the leader is reaped, its group is empty
 * (or given up on) and stdout/stderr are closed. Output a dead leader left
 * behind still drains while the owner takes it; pipes held by escaped
 * processes are abandoned once the owner has detached or the kill schedule
 * is over. */
static void check_done(wsd_program *p)
{
    if (p->done || !p->reaped)
        return;
    if (!p->gave_up && group_alive(p)) {
        wsd_program_end(p);        /* the leader left members behind: end them */
        return;                    /* the schedule's timer comes back here */
    }
    if (p->out_open || p->err_open) {
        if (!p->gave_up && !p->over && !p->detached) {
            /* still draining to the owner; what holds the pipes now is
             * out of the group's reach: bounded by drain_ms */
            if (!p->draining && !p->ending) {
                p->draining = 1;
                timer_start(p, p->kill.drain_ms);
            }
            return;
        }
        abandon_pipes(p);
    }
    p->done = 1;
    p->grace = 0;
    p->draining = 0;
    uv_timer_stop(&p->timer);
    close_handle(p, (uv_handle_t *)&p->timer);
    wsd_program_close_stdin(p);
    wsd_spawn_forget(&p->child);   /* given up on an unkillable one: reaped silently */
    nprograms--;
    wsd_metrics_program_done(wsd_metrics_now_us() - p->started_us);
    if (p->prev)
        p->prev->next = p->next;
    else
        programs = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
    wsd_log(WSD_LOG_DEBUG, p->log_cat, assoc_of(p), "Process %d ended", p->pid);
}

static void on_child_exit(wsd_child *ch, int64_t exit_status, int term_signal)
{
    wsd_program *p = ch->data;

    p->reaped = 1;
    p->exit_status = exit_status;
    p->term_signal = term_signal;
    if (term_signal)
        wsd_log(WSD_LOG_DEBUG, p->log_cat, assoc_of(p), "Process %d killed by SIG%s", p->pid,
                sig_name(term_signal));
    else
        wsd_log(WSD_LOG_DEBUG, p->log_cat, assoc_of(p), "Process %d exited with status %lld",
                p->pid, (long long)exit_status);
    if (p->grace) {
        p->grace = 0;              /* it exited within its grace */
        uv_timer_stop(&p->timer);
    }
    wsd_program_close_stdin(p);
    if (p->ops.on_exit)
        p->ops.on_exit(p);
    check_done(p);
}

void wsd_program_detach(wsd_program *p)
{
    if (p->detached)
        return;
    p->detached = 1;
    /* nobody to deliver to: keep draining so the program is not stuck */
    read_pipe(p, WSD_PROGRAM_STDOUT, 1);
    read_pipe(p, WSD_PROGRAM_STDERR, 1);
    check_done(p);
}

/* ------------------------------------------------------------ start, end */

int wsd_program_start(uv_loop_t *loop, const wsd_program_options *o, wsd_program **out)
{
    int fds[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    wsd_spawn_options so = *o->spawn;
    wsd_program *p;
    int i, rc;

    rc = o->pty ? wsd_pty_fds(o->pty, fds) : wsd_spawn_pipes(fds);
    if (rc != 0) {
        wsd_metrics_spawn_errno(rc);
        return rc;
    }
    so.fds[0] = fds[0][0];
    so.fds[1] = fds[1][1];
    so.fds[2] = fds[2][1];
    so.ctty = o->pty == WSD_PTY_TERMINAL;
    p = xcalloc(1, sizeof *p);
    p->child.data = p;
    p->child.on_exit = on_child_exit;
    rc = wsd_spawn(&p->child, &so);
    if (rc != 0) {
        for (i = 0; i < 3; i++) {
            close(fds[i][0]);
            close(fds[i][1]);
        }
        free(p);
        wsd_metrics_spawn_errno(rc);
        return rc;
    }
    wsd_metrics_program_started();
    p->started_us = wsd_metrics_now_us();
    close(fds[0][0]);
    close(fds[1][1]);
    close(fds[2][1]);
    p->data = o->data;
    p->pid = p->child.pid;
    p->loop = loop;
    p->ops = *o->ops;
    p->kill = *o->kill;
    p->log_cat = o->log_category;
    p->err_cat = o->stderr_category;
    p->assoc = o->assoc;
    p->pty = o->pty;
    uv_pipe_init(loop, &p->in, 0);
    uv_pipe_init(loop, &p->out, 0);
    uv_timer_init(loop, &p->timer);
    p->in.data = p->out.data = p->err.data = p->timer.data = p;
    p->handles = 3;
    uv_pipe_open(&p->in, fds[0][1]);
    uv_pipe_open(&p->out, fds[1][0]);
    p->in_open = p->out_open = 1;
    if (fds[2][0] >= 0) {
        uv_pipe_init(loop, &p->err, 0);
        uv_pipe_open(&p->err, fds[2][0]);
        p->handles++;
        p->err_open = 1;
    } else {
        p->err_eof = 1;            /* --pty: stderr is the terminal */
    }
    p->next = programs;
    if (programs)
        programs->prev = p;
    programs = p;
    nprograms++;
    *out = p;
    return 0;
}

int wsd_program_pty_fd(const wsd_program *p)
{
    uv_os_fd_t fd;

    if (!p->pty || !p->out_open || uv_fileno((const uv_handle_t *)&p->out, &fd) != 0)
        return -1;
    return fd;
}

void wsd_program_free(wsd_program *p)
{
    if (!p)
        return;
    assert(p->done && p->handles == 0);
    inq_drop(p);
    free(p->infl);
    free(p->errline);
    free(p->own_assoc);
    free(p);
}

static void orphan_done(wsd_program *p)
{
    wsd_program_free(p);
}

void wsd_program_orphan(wsd_program *p, const char *assoc)
{
    free(p->own_assoc);
    p->own_assoc = xstrdup(assoc ? assoc : "");
    p->assoc = &p->own_assoc;
    p->data = NULL;
    memset(&p->ops, 0, sizeof p->ops);
    p->ops.on_done = orphan_done;
    p->detached = 1;               /* no more output callbacks either */
    if (p->done && p->handles == 0)
        orphan_done(p);
}

long wsd_program_count(void)
{
    return nprograms;
}

void wsd_program_kill_all(void)
{
    wsd_program *p;

    for (p = programs; p; p = p->next) {
        if (!p->group_gone && p->pid > 0)
            kill(-p->pid, SIGKILL);
    }
}
