/* drain.h — the old side of a binary upgrade in the event loop: a process
 * that stops accepting and lets its connections end (takeover.h has the
 * mechanism, supervisor.c the --workers side).
 *
 * The only process, on SIGUSR2 (wsd_drain_upgrade): starts the new binary
 * with its sockets and watches its readiness pipe, at most
 * WSD_TAKEOVER_READY_MS; meanwhile it goes on accepting. A failed start is
 * logged and changes nothing. Once the new wsd accepts, this one tells
 * systemd MAINPID=<new> and drains. A --workers worker drains on
 * WSD_SIGDRAIN from its supervisor, which did the upgrade (wsd_drain_start).
 *
 * Draining: a connection libuv already took from the kernel but had not
 * handed over (descriptor budget) is accepted, then the listeners are
 * closed — the sockets and their queues live on in the new wsd; idle
 * kept-alive HTTP connections are closed, a response in progress ends its
 * connection; WebSocket sessions and their programs go on untouched;
 * --shared programs keep their members (the new wsd starts its own for new
 * clients) and end once this process has no connection left (so with a
 * chat room the old and the new clients are in two rooms until the old ones
 * reconnect: --drainms=0 moves them at once). When the last connection has
 * ended the loop ends and the process exits 0. After --drainms the rest gets
 * the graceful shutdown: close 1001 ("server shutting down"), programs
 * ended as on SIGTERM. SIGUSR2 while starting or draining is ignored
 * (logged); SIGTERM/SIGINT/SIGQUIT still shut down at once (a new binary
 * still starting is then sent SIGTERM). */
#ifndef WSD_DRAIN_H
#define WSD_DRAIN_H

#include "conn.h"

/* SIGUSR2 in the only process. */
void wsd_drain_upgrade(server *srv);
/* Stop accepting and drain now (a worker told by its supervisor). */
void wsd_drain_start(server *srv);
/* A graceful shutdown begins: timers stopped, a new binary still starting
 * is sent SIGTERM. */
void wsd_drain_stop(server *srv);
/* After the loop: closes what is left (before uv_loop_close). */
void wsd_drain_free(server *srv);

#endif
