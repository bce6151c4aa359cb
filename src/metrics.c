/* metrics.c — the counters of every process of the server (see metrics.h).
 *
 * Atomics: GCC's __atomic builtins, relaxed, on plain uint64_t (lock-free
 * and address-free on every 64-bit target Debian builds wsd for, so they
 * work between processes sharing the page). A scrape reads each number
 * once: numbers of different series may be a few events apart, never torn. */
#include "metrics.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* One route name: written once, then read by anyone. */
typedef struct {
    uint32_t state;                  /* 0 free, 1 being written, 2 ready */
    char name[WSD_MET_ROUTE_NAME];
} route_slot;

typedef struct {
    uint32_t nroutes;                /* slots handed out (may pass WSD_MET_ROUTES) */
    uint32_t draining;
    route_slot routes[WSD_MET_ROUTES];
    int nslots;
    wsd_metrics_counts slot[];       /* nslots of them */
} shared_area;

int wsd_metrics_on;
static int64_t started;

static shared_area *area;            /* NULL: counting in `own` */
static wsd_metrics_counts own;
static wsd_metrics_counts *mine = &own;
static struct {
    uint32_t nroutes, draining;
    route_slot routes[WSD_MET_ROUTES];
} local;                             /* the route table without a mapping */

#define ADD(p, d) __atomic_fetch_add((p), (d), __ATOMIC_RELAXED)
#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)

int wsd_metrics_init(int nslots)
{
    size_t size = sizeof(shared_area) + (size_t)nslots * sizeof(wsd_metrics_counts);
    void *p;

    if (area || nslots < 1)
        return 0;
    started = (int64_t)time(NULL);
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    area = p;                        /* zero-filled by the kernel */
    area->nslots = nslots;
    area->nroutes = 1;               /* slot 0: "other" */
    area->routes[0].state = 2;
    mine = &area->slot[0];
    wsd_metrics_on = 1;
    return 0;
}

int64_t wsd_metrics_start_time(void)
{
    return started;
}

void wsd_metrics_use_slot(int slot)
{
    if (!area || slot < 0 || slot >= area->nslots)
        return;
    mine = &area->slot[slot];
    /* what the previous holder of the slot had open died with it */
    __atomic_store_n(&mine->v[WSD_M_CLIENTS_OPEN], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&mine->v[WSD_M_PROGRAMS_RUNNING], 0, __ATOMIC_RELAXED);
    memset(mine->ws_open, 0, sizeof mine->ws_open);
}

void wsd_metrics_add(enum wsd_metric m, int64_t delta)
{
    ADD(&mine->v[m], (uint64_t)delta);
}

static uint32_t *nroutes_p(void)
{
    return area ? &area->nroutes : &local.nroutes;
}

static route_slot *routes_p(void)
{
    return area ? area->routes : local.routes;
}

int wsd_metrics_route(const char *name)
{
    route_slot *rt = routes_p();
    uint32_t *nr = nroutes_p();
    size_t len = strlen(name);
    uint32_t i, n;

    if (len == 0 || len >= WSD_MET_ROUTE_NAME)
        return 0;
    if (LOAD(nr) == 0) {             /* no mapping: slot 0 is "other" here too */
        uint32_t zero = 0;
        __atomic_compare_exchange_n(nr, &zero, 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    }
    n = LOAD(nr);
    for (i = 1; i < n && i < WSD_MET_ROUTES; i++) {
        if (__atomic_load_n(&rt[i].state, __ATOMIC_ACQUIRE) == 2 && strcmp(rt[i].name, name) == 0)
            return (int)i;
    }
    /* a new name: take the next slot. Two processes adding the same name at
     * once may get two slots; a scrape counts them as one route. */
    i = ADD(nr, 1);
    if (i >= WSD_MET_ROUTES)
        return 0;
    __atomic_store_n(&rt[i].state, 1, __ATOMIC_RELAXED);
    memcpy(rt[i].name, name, len + 1);
    __atomic_store_n(&rt[i].state, 2, __ATOMIC_RELEASE);
    return (int)i;
}

void wsd_metrics_ws_open(int r, uint64_t handshake_us)
{
    if (r < 0 || r >= WSD_MET_ROUTES)
        r = 0;
    ADD(&mine->ws_open[r], 1);
    ADD(&mine->ws_total[r], 1);
    ADD(&mine->hist[WSD_H_HANDSHAKE][wsd_prom_bucket(WSD_H_HANDSHAKE, handshake_us)], 1);
    ADD(&mine->hist_sum_us[WSD_H_HANDSHAKE], handshake_us);
}

void wsd_metrics_ws_end(int r, int code)
{
    if (r < 0 || r >= WSD_MET_ROUTES)
        r = 0;
    ADD(&mine->ws_open[r], (uint64_t)-1);
    ADD(&mine->closes[wsd_prom_code_slot(code)], 1);
}

void wsd_metrics_refused(int status)
{
    ADD(&mine->refused[wsd_prom_status_slot(status)], 1);
}

void wsd_metrics_spawn_failed(int cause)
{
    if (cause < 0 || cause >= WSD_SPAWNFAIL_COUNT)
        cause = WSD_SPAWNFAIL_OTHER;
    ADD(&mine->spawnfail[cause], 1);
}

void wsd_metrics_spawn_errno(int err)
{
    switch (err < 0 ? -err : err) {
    case EMFILE:
    case ENFILE:
        wsd_metrics_spawn_failed(WSD_SPAWNFAIL_DESCRIPTORS);
        break;
    case EAGAIN:
        wsd_metrics_spawn_failed(WSD_SPAWNFAIL_PROCESSES);
        break;
    case ENOMEM:
        wsd_metrics_spawn_failed(WSD_SPAWNFAIL_MEMORY);
        break;
    case ENOENT:
    case EACCES:
    case EPERM:
    case ENOEXEC:
    case ENOTDIR:
    case ELOOP:
    case EISDIR:
    case ETXTBSY:
    case ENAMETOOLONG:
    case E2BIG:
        wsd_metrics_spawn_failed(WSD_SPAWNFAIL_EXEC);
        break;
    default:
        wsd_metrics_spawn_failed(WSD_SPAWNFAIL_OTHER);
        break;
    }
}

void wsd_metrics_program_started(void)
{
    ADD(&mine->v[WSD_M_PROGRAMS_RUNNING], 1);
    ADD(&mine->v[WSD_M_PROGRAMS_STARTED], 1);
}

void wsd_metrics_program_done(uint64_t life_us)
{
    ADD(&mine->v[WSD_M_PROGRAMS_RUNNING], (uint64_t)-1);
    ADD(&mine->hist[WSD_H_PROGRAM_LIFE][wsd_prom_bucket(WSD_H_PROGRAM_LIFE, life_us)], 1);
    ADD(&mine->hist_sum_us[WSD_H_PROGRAM_LIFE], life_us);
}

uint64_t wsd_metrics_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sum_into(wsd_metrics_counts *out, const wsd_metrics_counts *c)
{
    const uint64_t *src = (const uint64_t *)c;
    uint64_t *dst = (uint64_t *)out;
    size_t i, n = sizeof *c / sizeof(uint64_t);

    for (i = 0; i < n; i++)
        dst[i] += LOAD(&src[i]);
}

void wsd_metrics_snapshot(wsd_metrics_counts *out, const char (**routes)[WSD_MET_ROUTE_NAME],
                          size_t *nroutes)
{
    static char names[WSD_MET_ROUTES][WSD_MET_ROUTE_NAME];
    route_slot *rt = routes_p();
    uint32_t n = LOAD(nroutes_p()), i;
    int s;

    memset(out, 0, sizeof *out);
    if (area) {
        for (s = 0; s < area->nslots; s++)
            sum_into(out, &area->slot[s]);
    } else {
        sum_into(out, &own);
    }
    if (n > WSD_MET_ROUTES)
        n = WSD_MET_ROUTES;
    if (n == 0)
        n = 1;
    for (i = 0; i < n; i++) {
        if (i == 0)
            strcpy(names[0], "other");
        else if (__atomic_load_n(&rt[i].state, __ATOMIC_ACQUIRE) == 2)
            memcpy(names[i], rt[i].name, WSD_MET_ROUTE_NAME);
        else
            names[i][0] = '\0';     /* being written: shown next time */
    }
    *routes = (const char (*)[WSD_MET_ROUTE_NAME])names;
    *nroutes = n;
}

void wsd_metrics_set_draining(int on)
{
    __atomic_store_n(area ? &area->draining : &local.draining, on ? 1u : 0u, __ATOMIC_RELAXED);
}

int wsd_metrics_draining(void)
{
    return (int)LOAD(area ? &area->draining : &local.draining);
}
