/* server.h — the libuv glue: listeners, connections, child processes.
 *
 * This is the only module that knows every other one. One connection:
 *   accept → HTTP head (http.c) → handshake (handshake.c) → spawn the child
 *   (env.c) → 101 → relay: frames (ws.c) → child's stdin; child's stdout →
 *   frames (outframe.c) → client; stderr → log → close handshake → teardown.
 * See docs/design.md for the state machine and the memory bounds. */
#ifndef WSD_SERVER_H
#define WSD_SERVER_H

#include "config.h"

/* Runs the server until SIGINT/SIGTERM and every connection has ended.
 * Returns the process exit status: 0 after a graceful shutdown, 3 when a
 * listener cannot be opened (websocketd's code). */
int wsd_server_run(const wsd_config *cfg);

#endif
