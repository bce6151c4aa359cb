/* takeover.h — zero-downtime binary upgrade: a new wsd binary takes the
 * listening sockets over (nginx's SIGUSR2, with systemd's conventions for
 * passing sockets). No libuv: the single process (drain.c) and the
 * --workers supervisor (supervisor.c) each watch the pipe in their own way.
 *
 * The old side is the process that owns the sockets: the only process, or
 * the supervisor. On SIGUSR2, wsd_takeover_exec forks and execs the wsd
 * binary at the path this one was started from (argv[0], looked up in PATH
 * at start-up as a shell does — not /proc/self/exe, so a new file installed
 * at that path is what runs), with the same arguments and environment, and:
 *   - the sockets as socket activation passes them: descriptors 3, 4, ...,
 *     LISTEN_FDS, LISTEN_PID (the new pid), LISTEN_FDNAMES (listen.h);
 *   - one more descriptor right after them, the write end of a pipe, and
 *     WSD_UPGRADE=unlink|keep naming it (and whether --unixsocket's file is
 *     the new wsd's to remove at exit);
 *   - WATCHDOG_PID set to the new pid when a systemd watchdog is on.
 * The new wsd writes "R" to the pipe and closes it once it accepts on every
 * socket (with --workers: once every worker does). A failed exec writes
 * "E" and the errno (4 bytes) before the child exits 127; EOF without
 * either means the new wsd exited during start-up (its log lines, on the
 * same stdout, say why). The old side goes on accepting until "R" — for
 * good if it never comes: after WSD_TAKEOVER_READY_MS the new process is
 * sent SIGTERM and given up. Both processes accept on the same sockets
 * meanwhile; whichever accepts a connection serves it to its end.
 *
 * Under systemd, the old side, still the service's main process, sends
 * MAINPID=<new> (sdnotify.h) when the new one is ready, so the unit follows
 * the new process with NotifyAccess=main. */
#ifndef WSD_TAKEOVER_H
#define WSD_TAKEOVER_H

#include <stddef.h>
#include <sys/types.h>

#include "listen.h"

#define WSD_TAKEOVER_READY_MS 30000   /* the new binary's start-up, at most */

typedef struct {
    int fd;                      /* the read end of the readiness pipe (non-blocking), or -1 */
    pid_t pid;                   /* the new wsd, 0: none */
} wsd_takeover;

/* main(), before anything else: the binary's path and the arguments to run
 * it with again (argv is kept: it must live as long as the process). */
void wsd_takeover_init(char **argv);

/* The path the new binary will be executed from. */
const char *wsd_takeover_path(void);

/* Starts the new binary with sockets fds[0..n) of kinds[i] (listen.h).
 * 0 (t->pid, t->fd set), or -1 with the reason in err. */
int wsd_takeover_exec(wsd_takeover *t, const int *fds, const int *kinds, size_t n,
                      int unix_owned, char *err, size_t cap);

/* Reads the pipe (after poll says it is readable, or any time): 1 ready,
 * 0 nothing yet, -1 failed with the reason in err. On 1 and -1 the pipe is
 * closed (t->fd = -1). */
int wsd_takeover_check(wsd_takeover *t, char *err, size_t cap);

/* Gives up on a new wsd that was not ready in time: SIGTERM, pipe closed. */
void wsd_takeover_abort(wsd_takeover *t);

/* The new side: tells the old wsd this one accepts (*ready_fd from
 * listen.h, set to -1; nothing when it is -1). */
void wsd_takeover_ready(int *ready_fd);

/* The new side again, at shutdown. The old wsd (s->predecessor, from
 * WSD_UPGRADE_FROM) is our parent while it drains; under systemd this wsd
 * is the unit's main process, so `systemctl stop` signals only this one,
 * and whatever is left of the unit after it exits gets SIGKILL
 * (KillMode=mixed): a draining wsd's clients would see 1006, not 1001.
 * So a shutdown is passed on to the predecessor (which passes it on to its
 * own), and this wsd exits only after it, within a bound. Each does
 * nothing when there is no predecessor (any more): s NULL, no upgrade, a
 * worker (whose parent is the supervisor), or the old wsd gone.
 *   wsd_takeover_predecessor: its pid while it is still our parent, else 0;
 *   wsd_takeover_stop_predecessor: SIGTERM, once (logged): at the first
 *   shutdown signal, so that both --gracems periods run at once;
 *   wsd_takeover_signal_predecessor: a second shutdown signal, passed on;
 *   wsd_takeover_wait_predecessor: sleeps until it is gone, at most
 *   WSD_PREDECESSOR_WAIT_MS (logged if it is still there). */
#define WSD_PREDECESSOR_WAIT_MS 12000
pid_t wsd_takeover_predecessor(const wsd_listen_set *s);
void wsd_takeover_stop_predecessor(wsd_listen_set *s);
void wsd_takeover_signal_predecessor(const wsd_listen_set *s, int sig);
void wsd_takeover_wait_predecessor(const wsd_listen_set *s);

#endif
