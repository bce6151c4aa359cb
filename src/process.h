/* process.h — starting programs and reaping them, without uv_spawn.
 *
 * libuv 1.44's uv_spawn forks: the kernel copies wsd's page tables and the
 * parent then takes copy-on-write faults, several milliseconds per
 * connection and growing with the number of connections (docs/performance.md,
 * finding 2). wsd_spawn uses vfork, as glibc's posix_spawn does
 * (clone(CLONE_VM | CLONE_VFORK)): nothing is copied. Not posix_spawn
 * itself: glibc 2.36's leaves signals 32 and 33 ignored in the program.
 *
 * libuv reaps only the children it started, so every program wsd starts
 * (WebSocket handlers and CGI scripts) goes through here, and exits are
 * collected by one SIGCHLD watcher per event loop that calls waitpid(-1)
 * and finds the child by pid. A child nobody waits for any more (forgotten)
 * is still reaped, silently: no zombies.
 *
 * What the program gets is what uv_spawn gave it: its own session and
 * process group (setsid), every signal at its default disposition, an
 * empty signal mask, the three given fds as 0, 1, 2 and nothing else open
 * (wsd opens everything close-on-exec) — and the open-files limit wsd
 * started with, not the one it raised for itself. */
#ifndef WSD_PROCESS_H
#define WSD_PROCESS_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <uv.h>

typedef struct wsd_child wsd_child;

/* exit_status is the status for a normal exit, 0 when killed; term_signal
 * the signal that killed it, or 0 — as uv_exit_cb. */
typedef void (*wsd_child_exit_cb)(wsd_child *ch, int64_t exit_status, int term_signal);

struct wsd_child {
    pid_t pid;                  /* > 0 while it runs and is not yet reaped */
    wsd_child_exit_cb on_exit;
    void *data;
    wsd_child *next;            /* private: the pid table's chain */
};

typedef struct {
    const char *file;           /* a path (with a '/'), or a name looked up in PATH */
    char *const *argv;
    char *const *env;
    const char *cwd;            /* NULL: wsd's own */
    int fds[3];                 /* become the program's 0, 1, 2 */
    int ctty;                   /* fds[0] is a terminal (pty.h): made the program's
                                 * controlling terminal after setsid (--pty) */
} wsd_spawn_options;

/* Starts the SIGCHLD watcher on loop (once per loop; unreferenced, so it
 * does not keep the loop alive). 0 or a libuv error code. */
int wsd_spawn_init(uv_loop_t *loop);

/* Closes the watcher (before uv_loop_close). */
void wsd_spawn_shutdown(void);

/* Starts the program; on success ch->pid is set and ch->on_exit will be
 * called once, from the loop, when it is reaped. Returns 0 or a negative
 * errno-style libuv error (UV_ENOENT, UV_EACCES, -ENOEXEC...: exec
 * failures are reported here, since vfork waits for the exec). */
int wsd_spawn(wsd_child *ch, const wsd_spawn_options *o);

/* 1 when a wsd_spawn/wsd_spawn_pipes error means the system is out of a
 * resource for now (descriptors, processes, memory): answered 503, not 500. */
int wsd_spawn_busy(int rc);

/* The open-files limit children get (wsd's own at start-up, before main()
 * raised it). */
void wsd_spawn_set_nofile(const struct rlimit *rl);

/* --rlimit: limits every program gets (after the NOFILE one above), and
 * --chdir: the working directory of programs whose options name none (the
 * WebSocket programs and --authcmd; CGI scripts run in their directory).
 * Set once at start-up; the strings and arrays must outlive the server. */
void wsd_spawn_set_limits(const int *resources, const struct rlimit *limits, size_t n);
void wsd_spawn_set_cwd(const char *dir);

/* Three pipes for a program: fds[i][0] is the read end, fds[i][1] the
 * write end, all close-on-exec. 0 or a libuv error (nothing left open). */
int wsd_spawn_pipes(int fds[3][2]);

/* No callback for this child any more (its owner is going away); it will
 * be reaped silently when it exits. */
void wsd_spawn_forget(wsd_child *ch);

/* A wsd_spawn error in words, lower case as Go (and websocketd) say it. */
const char *wsd_spawn_strerror(int err);

/* Children started and not yet reaped (for tests and the debug log). */
size_t wsd_spawn_running(void);

#endif
