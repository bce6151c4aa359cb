/* server.h — the server: listeners, workers, signals (server.c), and the
 * state every connection of one event loop shares.
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

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "origin.h"
#include "pmd.h"
#include "tls.h"

struct conn;

typedef struct server {
    uv_loop_t *loop;
    const wsd_config *cfg;
    wsd_origin_policy *origin;   /* --origin/--sameorigin, compiled once */
    wsd_tls_ctx *tls;            /* --ssl */
    wsd_pmd_config pmdcfg;       /* permessage-deflate knobs */
    int worker, nworkers;        /* --workers: this process's index, and how many */
    long maxforks;               /* this worker's share of --maxforks (<= 0: none) */
    int shutting_down;
    int exit_status;
    /* a complete request head (upgrade.c's wsd_upgrade) */
    void (*on_request)(struct conn *c, const char *rest, size_t nrest);

    /* listeners (server.c) */
    uv_tcp_t *listeners;
    int *redirect;               /* per listener: a --redirport listener */
    size_t nlisteners;
    uv_pipe_t unixl;             /* --unixsocket listener */
    int have_unixl;
    uv_signal_t sigint, sigterm;

    /* connections (conn.c) */
    struct conn *conns;
    uint64_t last_id;
    /* the descriptor budget (conn.c, "accept"): */
    long nconns;                 /* client connections (each a socket) */
    long fd_limit;               /* RLIMIT_NOFILE (0: unlimited) */
    long fd_base;                /* descriptors open before the first client */
    uv_stream_t *paused[8];      /* listeners whose next connection waits */
    int npaused;
    uint64_t fds_logged;         /* loop time of the last "out of descriptors" line */
} server;

/* Runs the server until SIGINT/SIGTERM and every connection has ended.
 * Returns the process exit status: 0 after a graceful shutdown, 3 when a
 * listener cannot be opened (websocketd's code). */
int wsd_server_run(const wsd_config *cfg);

#endif
