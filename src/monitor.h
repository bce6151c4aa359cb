/* monitor.h — what a load balancer and Prometheus ask wsd (monitor.c).
 *
 * The health endpoint: GET (any method; HEAD without a body) of
 * --healthpath on wsd's own listeners, or of /health on the --metrics
 * listener, answers "200 OK" ("ok\n") while wsd takes new connections and
 * "503 Service Unavailable" ("draining\n") while it drains: during the
 * --gracems period after the first SIGTERM/SIGQUIT/SIGINT (listeners still
 * open and accepting, so a load balancer sees the 503 and moves new clients
 * elsewhere before they close: HAProxy's "grace", Traefik's
 * requestAcceptGraceTimeout), during the graceful shutdown itself, and
 * whenever another module sets the draining flag (wsd_metrics_set_draining:
 * a binary upgrade's old generation). The flag lives in the metrics
 * mapping, so every worker answers the same.
 *
 * The --metrics listener (plain HTTP, its own address and port, bound as
 * the other listeners by server.c, never TLS): /metrics is the Prometheus
 * text exposition of the whole server (every worker and the hub process
 * summed: metrics.h), /health the health answer, anything else 404 — no
 * WebSocket, no files, no programs there. Each answer closes its
 * connection (Connection: close). Logged at DEBUG only (a scrape every 15 s
 * and a check every 2 s would flood an access log). */
#ifndef WSD_MONITOR_H
#define WSD_MONITOR_H

#include "conn.h"
#include "http.h"

/* A complete request head on a --metrics connection (c->monitor), or one
 * whose path is --healthpath: answered, returns 1. Otherwise 0 (not ours). */
int wsd_monitor_request(conn *c, const wsd_request *r);

/* --gracems on the first shutdown signal: the health endpoint turns 503
 * and `then(srv, signum)` (the graceful shutdown) runs gracems later.
 * Returns 1 when the grace period started (the caller waits), 0 when there
 * is nothing to wait for: no --gracems, or a grace period already running —
 * cut short now (a second signal), the caller shuts down at once. */
int wsd_monitor_grace(server *srv, int signum, void (*then)(server *srv, int signum));

/* The "Starting metrics server" line (server.c, at start-up). */
void wsd_monitor_startup_log(const wsd_config *cfg);

#endif
