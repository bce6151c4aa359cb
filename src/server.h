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

#include "config.h"

/* Runs the server until SIGINT/SIGTERM and every connection has ended.
 * Returns the process exit status: 0 after a graceful shutdown, 3 when a
 * listener cannot be opened (websocketd's code). *cfg is taken over (its
 * snapshot, cfgsnap.h) or, with --workers, kept current by the
 * supervisor's reloads; the caller frees what is left of it. */
int wsd_server_run(wsd_config *cfg);

#endif
