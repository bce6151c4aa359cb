/* server.h — the server: listeners, workers, signals (server.c).
 *
 * One connection crosses these glue files (docs/design.md draws it):
 *   conn.c       accept (descriptor budget) → the HTTP head → dispatch by
 *                state; timeouts; teardown
 *   transport.c  the socket and TLS: reads, writes, holds, lingering close
 *   upgrade.c    the handshake: checks, routes, origin, reverse lookup → 101
 *   session.c    the WebSocket session: frames ↔ the program, pings, close
 *   program.c    the program: pipes, stdin queue, stderr, kill schedule
 *   httpserve.c  plain HTTP: static files, CGI, the console
 * Pure modules (http, handshake, ws, outframe, record, pmd, env, origin,
 * route, tls, cgi, httpfile, utf8, util, log, config) do no I/O. */
#ifndef WSD_SERVER_H
#define WSD_SERVER_H

#include <signal.h>

#include "config.h"
#include "conn.h"
#include "listen.h"

/* What a --workers supervisor sends its workers once an upgrade's new
 * binary accepts: drain (drain.h). Not SIGUSR2, which `killall -USR2 wsd`
 * would deliver to every worker too (a worker ignores SIGUSR2). */
#define WSD_SIGDRAIN (SIGRTMIN + 1)

/* Runs the server until SIGINT/SIGTERM and every connection has ended.
 * Returns the process exit status: 0 after a graceful shutdown, 3 when a
 * listener cannot be opened (websocketd's code). *cfg is taken over (its
 * snapshot, cfgsnap.h) or, with --workers, kept current by the
 * supervisor's reloads; the caller frees what is left of it. */
int wsd_server_run(wsd_config *cfg);

/* One event-loop process: worker `worker` of `nworkers` (1: the only
 * process), accepting on its share of *ls. ready_fd (workers): where it
 * writes its index once it accepts (supervisor.c), then closes; hub_path:
 * --shared --workers' hub process; ctlfd: the supervisor's reloads
 * (reload.h, -1: none). *cfg is taken over (the first snapshot, cfgsnap.h).
 * Returns the exit status. */
int wsd_server_worker(wsd_config *cfg, int worker, int nworkers, wsd_listen_set *ls,
                      int ready_fd, const char *hub_path, int ctlfd);

/* The graceful shutdown (SIGINT/SIGTERM/SIGQUIT, or a drain's time is up):
 * `why` begins the log line. */
void wsd_server_shutdown(server *srv, const char *why);

/* Closes this process's listener handles (their sockets live on wherever
 * else they are held). */
void wsd_server_close_listeners(server *srv);

/* The signals wsd handles (SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1,
 * SIGUSR2, WSD_SIGDRAIN) and SIGCHLD. */
void wsd_server_signal_set(sigset_t *set);

#endif
