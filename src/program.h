/* program.h — one running program and its three pipes: the program session.
 *
 * Used by the WebSocket session (one program per connection) and by CGI (one
 * per request). It owns the child (started and reaped by process.c), the
 * pipes to its stdin, stdout and stderr, the stdin queue, the stderr line
 * splitter (every line logged at ERROR with the owner's associations) and
 * the kill schedule; it never touches the client. What happens is reported
 * through the owner's callbacks (wsd_program_ops), always from the top of a
 * libuv callback: no function of this API calls back into the owner, so an
 * owner never meets its own callbacks re-entered.
 *
 * Life of a program:
 *   start     wsd_program_start(): three pipes, vfork/exec (process.c).
 *             Nothing is read until the owner says so (wsd_program_read),
 *             so the WebSocket side can write its 101 first.
 *   running   stdout bytes → on_stdout; stderr lines → the log (and, when
 *             asked, raw to on_stderr); the owner writes stdin with
 *             wsd_program_write and watches wsd_program_stdin_full().
 *   ending    wsd_program_end(): stdin closed (what is queued still goes
 *             first), then the plan's signals to the whole process group,
 *             stopping as soon as the group is empty; after the last
 *             signal, giveup_ms later, the program is given up on (pipes
 *             abandoned, the child reaped silently whenever it dies).
 *             Ending starts by itself when stdout closes while the program
 *             runs on (after eof_grace_ms) and when the leader exits leaving
 *             members of its group behind.
 *   done      the leader is reaped, the group is empty (or given up on) and
 *             stdout/stderr are closed → the --maxforks slot is free
 *             (wsd_program_count), then, once every handle is closed,
 *             on_done: the owner may wsd_program_free() from there on.
 *
 * Output after the leader exits still drains (a background job of the
 * program may hold stdout) while the owner is there to take it; once the
 * owner detaches (wsd_program_detach: its client has gone) output is read
 * and dropped, and the pipes are abandoned as soon as the group is empty.
 * A job that left the group (setsid) and holds a pipe is out of reach of
 * the signals: once the group is empty its output is read for drain_ms
 * (never while the owner holds reading back), then the pipes are
 * abandoned, so the owner is not kept waiting by it.
 *
 * Memory: the struct (~1.2 KiB, three libuv pipes and a timer), the stdin
 * queue (bounded by the owner: it stops feeding at wsd_program_stdin_full,
 * WSD_STDIN_HIGH, plus one client read), one stderr line (WSD_ERR_LINE,
 * only while a line is incomplete). Reads use one loop-wide buffer. */
#ifndef WSD_PROGRAM_H
#define WSD_PROGRAM_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "process.h"

#define WSD_STDIN_HIGH (256 * 1024)    /* stdin queue: the owner stops feeding */
#define WSD_STDIN_LOW (64 * 1024)      /* ... on_stdin_ready below this */
#define WSD_ERR_LINE 4096              /* stderr bytes per log line */

typedef struct wsd_program wsd_program;

typedef struct {
    /* stdout bytes (valid during the call only); eof set once, at the end
     * (n = 0 then). Not called after wsd_program_detach. */
    void (*on_stdout)(wsd_program *p, const char *buf, size_t n, int eof);
    /* stderr bytes, raw (NULL: stderr is only logged). eof as on_stdout. */
    void (*on_stderr)(wsd_program *p, const char *buf, size_t n, int eof);
    /* The leader was reaped: p->exit_status, p->term_signal. */
    void (*on_exit)(wsd_program *p);
    /* A queued stdin write completed and the queue is below WSD_STDIN_LOW,
     * or stdin closed on an error: input the owner held back can go on. */
    void (*on_stdin_ready)(wsd_program *p);
    /* All over and every handle closed. May wsd_program_free(p). */
    void (*on_done)(wsd_program *p);
} wsd_program_ops;

/* How a program is ended: stdin is closed first, then sig[i] is sent to its
 * process group delay_ms[i] after the previous step (0 for the first: at
 * once), then giveup_ms after the last signal it is given up on. */
#define WSD_KILL_STEPS 3
typedef struct {
    unsigned delay_ms[WSD_KILL_STEPS];
    int sig[WSD_KILL_STEPS];
    int nsteps;
    unsigned giveup_ms;
    unsigned eof_grace_ms;       /* stdout closed, still running: end it after this */
    unsigned drain_ms;           /* leader reaped, group empty, pipes still open (held by
                                  * a job that left the group): read on this long, then
                                  * abandon them (not while the owner pauses reading) */
} wsd_kill_plan;

/* websocketd's schedule: SIGINT after 100 ms, SIGTERM 250 ms later, SIGKILL
 * 500 ms later (each + closems), given up one second after that; a program
 * that closes stdout is ended at once; pipes held by an escaped job are
 * read for a second after the program's group is gone. */
void wsd_kill_plan_websocket(wsd_kill_plan *k, unsigned closems);
/* CGI: SIGTERM at once, SIGKILL a second later, given up a second after
 * that; a script that closes stdout gets a second to exit; pipes held by an
 * escaped job are read for a second. */
void wsd_kill_plan_cgi(wsd_kill_plan *k);

enum { WSD_PROGRAM_STDOUT = 1, WSD_PROGRAM_STDERR = 2 };

typedef struct {
    const wsd_spawn_options *spawn;  /* fds are filled in here */
    const wsd_program_ops *ops;
    const wsd_kill_plan *kill;       /* copied */
    const char *log_category;        /* "process" / "cgi": debug lines */
    const char *stderr_category;     /* "stderr" / "cgi": stderr lines */
    char *const *assoc;              /* the owner's associations string, read at each log line */
    void *data;
    int pty;                         /* WSD_PTY_* (pty.h): 0 = three pipes; WSD_PTY_STDOUT:
                                      * stdout a raw terminal (--linebuffered);
                                      * WSD_PTY_TERMINAL: 0-2 one terminal (--pty) */
} wsd_program_options;

struct wsd_program {
    /* public, read-only */
    void *data;                  /* the owner's */
    int pid;                     /* the leader, and its process group */
    int reaped;
    int64_t exit_status;         /* valid once reaped: as uv_exit_cb */
    int term_signal;

    /* private */
    uv_loop_t *loop;
    wsd_child child;
    uv_pipe_t in, out, err;
    uv_timer_t timer;            /* the kill schedule, and the stdout-EOF grace */
    wsd_program_ops ops;
    wsd_kill_plan kill;
    const char *log_cat, *err_cat;
    char *const *assoc;
    unsigned handles;            /* initialised, not yet closed */
    unsigned in_open : 1, in_closing : 1, in_writing : 1, gathering : 1, inq_lent : 1;
    unsigned out_reading : 1, err_reading : 1, draining : 1;
    unsigned out_open : 1, err_open : 1, out_eof : 1, err_eof : 1;
    unsigned group_gone : 1, detached : 1, grace : 1, ending : 1, over : 1, gave_up : 1;
    unsigned done : 1;
    int step;                    /* the next kill step */
    char *inq;                   /* stdin bytes the pipe did not take */
    size_t inq_len, inq_cap;
    char *infl;                  /* the buffer of the one uv_write in flight */
    size_t infl_len;
    char *errline;               /* stderr bytes of the current line */
    size_t errlen;
    wsd_program *prev, *next;    /* every program not yet done (wsd_program_kill_all) */
    char *own_assoc;             /* an orphan's associations (wsd_program_orphan) */
    uint64_t started_us;         /* wsd_metrics_now_us() at start: its lifetime (metrics.h) */
    int pty;                     /* WSD_PTY_*: `out` reads a pty master (EIO is its EOF);
                                  * WSD_PTY_TERMINAL: no stderr pipe */
};

/* Starts the program. 0 and *out set, or a negative errno (what wsd_spawn
 * and wsd_spawn_pipes return; wsd_spawn_strerror words it) with nothing
 * left open and no callback to come. */
int wsd_program_start(uv_loop_t *loop, const wsd_program_options *o, wsd_program **out);

/* Starts (on) or stops reading stdout and/or stderr (WSD_PROGRAM_* mask):
 * the owner's backpressure. Reading stops for good at EOF. */
void wsd_program_read(wsd_program *p, unsigned which, int on);

/* Stdin. write copies what the pipe does not take at once; it drops bytes
 * once stdin is closed. Between gather(p, 1) and gather(p, 0) writes are
 * collected (in a loop-wide buffer while it is free) and written with one
 * write(2) at the end: one pipe write per client read. */
void wsd_program_write(wsd_program *p, const void *buf, size_t n);
void wsd_program_gather(wsd_program *p, int on);
size_t wsd_program_stdin_queued(const wsd_program *p);
/* Stdin open and WSD_STDIN_HIGH or more queued: stop feeding. */
int wsd_program_stdin_full(const wsd_program *p);
int wsd_program_stdin_open(const wsd_program *p);
/* No more input: the queue is written, then the pipe closes (EOF). */
void wsd_program_close_stdin(wsd_program *p);

/* Starts the kill schedule (idempotent). */
void wsd_program_end(wsd_program *p);
/* The owner takes no more output: no more on_stdout/on_stderr; the pipes
 * are read and dropped so the program never blocks on them, and abandoned
 * once the leader is reaped and its group is empty. */
void wsd_program_detach(wsd_program *p);
/* The pty master of a program started with a pty (its window size is set
 * there, pty.h), or -1 once its output is closed or without one. */
int wsd_program_pty_fd(const wsd_program *p);
/* Frees a program after on_done. */
void wsd_program_free(wsd_program *p);
/* The owner goes away before the program is done: no callback reaches it
 * any more; the program goes on to its end (ended, detached, or by
 * itself) and frees itself when done. Its log lines keep `assoc` (copied). */
void wsd_program_orphan(wsd_program *p, const char *assoc);

/* Programs started and not yet done, in this process (--maxforks). */
long wsd_program_count(void);
/* SIGKILL to the process group of every program not yet done (a second
 * shutdown signal: nobody waits). */
void wsd_program_kill_all(void);

#endif
