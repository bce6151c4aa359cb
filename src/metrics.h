/* metrics.h — wsd's counters: a tiny API the glue calls, one line per hook.
 *
 * Each process counts into its own slot (a wsd_metrics_counts, promtext.h)
 * with relaxed atomic adds: nothing is locked, nothing is allocated. With
 * --metrics the slots live in one MAP_SHARED anonymous mapping made by the
 * first process before it forks (wsd_metrics_init): worker i counts in slot
 * i, the --shared hub process in the last one, and a scrape in any worker
 * sums them all, so the numbers are the whole server's. A worker that dies
 * and is restarted takes its slot back: its counters go on from where they
 * were (they never go down), its gauges start again from zero (what it held
 * died with it). Without wsd_metrics_init every call counts in a slot of
 * this process's own (unit tests, and wsd without --metrics).
 *
 * Routes: a route's name (the --dir script "/sub/x.sh", "*" for COMMAND,
 * later the config file's route paths) gets a slot in a table shared the
 * same way, so every process gives a name the same slot. At most
 * WSD_MET_ROUTES - 1 names; later ones, and names of WSD_MET_ROUTE_NAME
 * bytes or more, count as "other" (slot 0). */
#ifndef WSD_METRICS_H
#define WSD_METRICS_H

#include <stdint.h>

#include "promtext.h"

/* 1 once wsd_metrics_init has run (--metrics): counts that cost more than
 * an add (messages out: a walk over the frames) are made only then. */
extern int wsd_metrics_on;

/* Makes the shared mapping for `nslots` processes (call once, before any
 * fork) and counts this process in slot 0. Returns 0, or -1 (errno) when
 * the mapping cannot be made (counting then stays per process). */
int wsd_metrics_init(int nslots);
/* In a child after fork: count in slot `slot` (< nslots) from now on; its
 * gauges start from zero. */
void wsd_metrics_use_slot(int slot);

void wsd_metrics_add(enum wsd_metric m, int64_t delta);
#define wsd_metrics_inc(m) wsd_metrics_add((m), 1)

/* The route slot of a name (0: "other"). */
int wsd_metrics_route(const char *name);
/* A WebSocket connection of route slot r was upgraded (101 written after
 * `handshake_us` microseconds), or has ended (with close code `code`,
 * 1006 when no close frame went either way). */
void wsd_metrics_ws_open(int r, uint64_t handshake_us);
void wsd_metrics_ws_end(int r, int code);
/* A WebSocket upgrade refused with this HTTP status. */
void wsd_metrics_refused(int status);
/* A program not started: `cause` a WSD_SPAWNFAIL_*, or from the negative
 * errno of a failed spawn with wsd_metrics_spawn_errno. */
void wsd_metrics_spawn_failed(int cause);
void wsd_metrics_spawn_errno(int err);
/* A program started, or done after `life_us` microseconds. */
void wsd_metrics_program_started(void);
void wsd_metrics_program_done(uint64_t life_us);

/* When wsd_metrics_init ran (the server started), seconds since the epoch. */
int64_t wsd_metrics_start_time(void);

/* Microseconds on the monotonic clock (for the durations above). */
uint64_t wsd_metrics_now_us(void);

/* The sum over every slot into *out, and the route names (slots in use
 * into *nroutes). */
void wsd_metrics_snapshot(wsd_metrics_counts *out, const char (**routes)[WSD_MET_ROUTE_NAME],
                          size_t *nroutes);

/* A flag every process of the server sees (in the shared mapping): the
 * health endpoint answers 503 while it is set (monitor.h). */
void wsd_metrics_set_draining(int on);
int wsd_metrics_draining(void);

#endif
