/* promtext.h — wsd's metrics as numbers, and their Prometheus text
 * exposition (format 0.0.4). Pure: no I/O, no libuv; metrics.c keeps the
 * numbers (one wsd_metrics_counts per process, summed for a scrape),
 * monitor.c serves what wsd_prom_render writes.
 *
 * Every label has a bounded set of values, so a scrape is bounded too:
 *   route   at most WSD_MET_ROUTES - 1 names (the rest fold into "other")
 *   code    1000..1015, "3xxx", "4xxx", "other" (close codes)
 *   status  400..599, "other" (refused handshakes)
 *   cause   the WSD_SPAWNFAIL_* names
 * The whole text stays under WSD_PROM_MAX bytes (asserted by the unit test
 * on a snapshot with every series present). */
#ifndef WSD_PROMTEXT_H
#define WSD_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Plain counters and gauges, one number per process. */
enum wsd_metric {
    WSD_M_CLIENTS_OPEN,          /* gauge: client connections (any kind) */
    WSD_M_CLIENTS_ACCEPTED,      /* client connections accepted */
    WSD_M_PROGRAMS_RUNNING,      /* gauge: programs not yet done (WebSocket, CGI, shared) */
    WSD_M_PROGRAMS_STARTED,      /* programs started */
    WSD_M_BYTES_IN,              /* bytes read from clients (TLS: ciphertext) */
    WSD_M_BYTES_OUT,             /* bytes written to clients */
    WSD_M_MESSAGES_IN,           /* WebSocket data messages from clients */
    WSD_M_MESSAGES_OUT,          /* WebSocket data messages to clients */
    WSD_M_QUEUE_CLOSES,          /* clients closed for a full send queue (--shared: 1008) */
    WSD_M_QUEUE_DROPS,           /* messages dropped for a full queue (--shareddrop) */
    WSD_M_COUNT
};

/* Why a program was not started. */
enum wsd_spawnfail {
    WSD_SPAWNFAIL_MAXFORKS,      /* --maxforks reached (429) */
    WSD_SPAWNFAIL_DESCRIPTORS,   /* the descriptor budget, EMFILE, ENFILE (503) */
    WSD_SPAWNFAIL_PROCESSES,     /* EAGAIN: RLIMIT_NPROC, pid_max (503) */
    WSD_SPAWNFAIL_MEMORY,        /* ENOMEM */
    WSD_SPAWNFAIL_EXEC,          /* the program could not be executed (ENOENT, EACCES, ...) */
    WSD_SPAWNFAIL_OTHER,
    WSD_SPAWNFAIL_COUNT
};

enum wsd_hist {
    WSD_H_HANDSHAKE,             /* accept → 101 written, seconds */
    WSD_H_PROGRAM_LIFE,          /* program started → done, seconds */
    WSD_H_COUNT
};

#define WSD_MET_ROUTES 64          /* route slots; slot 0 is "other" */
#define WSD_MET_ROUTE_NAME 128     /* bytes of a route name with its NUL */
#define WSD_MET_CODES 19           /* 1000..1015, 3xxx, 4xxx, other */
#define WSD_MET_STATUSES 201       /* 400..599, other */
#define WSD_MET_BUCKETS 14         /* the largest bucket list, +Inf included */
#define WSD_PROM_MAX (256 * 1024)  /* the whole exposition */

/* The numbers of one process (or their sum). Gauges are kept as deltas in
 * uint64_t (two's complement): their sum is the value. Histogram buckets
 * are not cumulative here (each observation counts in one); sums are in
 * microseconds. */
typedef struct {
    uint64_t v[WSD_M_COUNT];
    uint64_t ws_open[WSD_MET_ROUTES];       /* gauge: WebSocket connections open */
    uint64_t ws_total[WSD_MET_ROUTES];      /* WebSocket connections upgraded (101) */
    uint64_t closes[WSD_MET_CODES];
    uint64_t refused[WSD_MET_STATUSES];
    uint64_t spawnfail[WSD_SPAWNFAIL_COUNT];
    uint64_t hist[WSD_H_COUNT][WSD_MET_BUCKETS];
    uint64_t hist_sum_us[WSD_H_COUNT];
} wsd_metrics_counts;

/* What a scrape shows besides the numbers. */
typedef struct {
    const char (*routes)[WSD_MET_ROUTE_NAME];  /* route names by slot ("" = unused) */
    size_t nroutes;                            /* slots in use, slot 0 included */
    const char *version, *libuv, *openssl, *zlib;
    int64_t start_time;          /* seconds since the epoch */
    int workers;
    int draining;                /* the health endpoint answers 503 */
} wsd_prom_info;

/* The slot of a close code, of a refused status (index, and the label). */
int wsd_prom_code_slot(int code);
int wsd_prom_status_slot(int status);
/* The slot's label value into buf (≥ 8 bytes); returns buf. */
const char *wsd_prom_code_label(int slot, char *buf);

/* The bucket an observation of `us` microseconds falls in; the buckets'
 * upper bounds in microseconds, and their number (+Inf included). */
int wsd_prom_bucket(int hist, uint64_t us);
const uint64_t *wsd_prom_bounds(int hist, int *n);

/* Appends the exposition of `c` to out: # HELP and # TYPE for every
 * metric, every series in a fixed order (route series merged by name, so
 * two slots that got the same name count as one; unused slots left out).
 * Label values escaped (\\, \", \n) with invalid UTF-8 and other control
 * characters replaced by U+FFFD. Returns 0, or -1 when out's limit was hit. */
int wsd_prom_render(wsd_str *out, const wsd_metrics_counts *c, const wsd_prom_info *info);

/* A label value's escaped form into out (a helper of render, tested alone). */
int wsd_prom_label(wsd_str *out, const char *s, size_t n);

#endif
