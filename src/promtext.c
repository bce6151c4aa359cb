/* promtext.c — the Prometheus text exposition of wsd's metrics (see
 * promtext.h). */
#include "promtext.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

int wsd_prom_code_slot(int code)
{
    if (code >= 1000 && code <= 1015)
        return code - 1000;
    if (code >= 3000 && code <= 3999)
        return 16;
    if (code >= 4000 && code <= 4999)
        return 17;
    return 18;
}

const char *wsd_prom_code_label(int slot, char *buf)
{
    if (slot >= 0 && slot < 16)
        snprintf(buf, 8, "%d", 1000 + slot);
    else
        snprintf(buf, 8, "%s", slot == 16 ? "3xxx" : slot == 17 ? "4xxx" : "other");
    return buf;
}

int wsd_prom_status_slot(int status)
{
    return status >= 400 && status <= 599 ? status - 400 : WSD_MET_STATUSES - 1;
}

/* Upper bounds in microseconds; the last is +Inf. */
static const uint64_t handshake_bounds[] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    5000000, 10000000, UINT64_MAX
};
static const uint64_t life_bounds[] = {
    100000, 1000000, 10000000, 60000000, 300000000, 900000000, 3600000000ull,
    14400000000ull, 86400000000ull, UINT64_MAX
};

const uint64_t *wsd_prom_bounds(int hist, int *n)
{
    if (hist == WSD_H_HANDSHAKE) {
        *n = (int)(sizeof handshake_bounds / sizeof handshake_bounds[0]);
        return handshake_bounds;
    }
    *n = (int)(sizeof life_bounds / sizeof life_bounds[0]);
    return life_bounds;
}

int wsd_prom_bucket(int hist, uint64_t us)
{
    int n, i;
    const uint64_t *b = wsd_prom_bounds(hist, &n);

    for (i = 0; i < n - 1 && us > b[i]; i++)
        ;
    return i;
}

int wsd_prom_label(wsd_str *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        unsigned char c = p[i];
        int rc;
        if (c >= 0x80) {
            /* the length of a valid character here (utf8.c decides) */
            uint32_t st = WSD_UTF8_ACCEPT;
            size_t k;
            for (k = 0; k < 4 && i + k < n; k++) {
                wsd_utf8_validate(&st, p + i + k, 1);
                if (st == WSD_UTF8_REJECT || st == WSD_UTF8_ACCEPT)
                    break;
            }
            if (st == WSD_UTF8_ACCEPT) {
                rc = wsd_str_append(out, s + i, k + 1);
                i += k + 1;
            } else {
                rc = wsd_str_appends(out, "\xef\xbf\xbd");
                i++;
            }
        } else {
            rc = c == '\\' ? wsd_str_appends(out, "\\\\")
                 : c == '"' ? wsd_str_appends(out, "\\\"")
                 : c == '\n' ? wsd_str_appends(out, "\\n")
                 : c < 0x20 || c == 0x7f ? wsd_str_appends(out, "\xef\xbf\xbd")
                 : wsd_str_append(out, s + i, 1);
            i++;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ---- the families ----------------------------------------------------------- */

static int family(wsd_str *o, const char *name, const char *type, const char *help)
{
    return wsd_str_appendf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int sample(wsd_str *o, const char *name, uint64_t v)
{
    return wsd_str_appendf(o, "%s %llu\n", name, (unsigned long long)v);
}

static int gauge_value(wsd_str *o, const char *name, uint64_t delta_sum)
{
    int64_t v = (int64_t)delta_sum;
    return wsd_str_appendf(o, "%s %lld\n", name, (long long)(v < 0 ? 0 : v));
}

static int labelled(wsd_str *o, const char *name, const char *label, const char *value,
                    size_t vlen, uint64_t v, int gauge)
{
    int64_t g = (int64_t)v;
    if (wsd_str_appendf(o, "%s{%s=\"", name, label) < 0 || wsd_prom_label(o, value, vlen) < 0)
        return -1;
    if (gauge)
        return wsd_str_appendf(o, "\"} %lld\n", (long long)(g < 0 ? 0 : g));
    return wsd_str_appendf(o, "\"} %llu\n", (unsigned long long)v);
}

static const char *route_name(const wsd_prom_info *in, size_t i)
{
    return i == 0 ? "other" : in->routes[i];
}

/* Route series: slots with the same name counted as one, in slot order. */
static int routes(wsd_str *o, const char *name, const uint64_t *vals, const wsd_prom_info *in,
                  int gauge)
{
    size_t i, j, n = in->nroutes < WSD_MET_ROUTES ? in->nroutes : WSD_MET_ROUTES;

    for (i = 0; i < n; i++) {
        const char *r = route_name(in, i);
        uint64_t sum = vals[i];
        int seen = 0;
        if (!*r)
            continue;
        for (j = 0; j < i; j++)
            seen |= strcmp(route_name(in, j), r) == 0;
        if (seen)
            continue;
        for (j = i + 1; j < n; j++)
            if (strcmp(route_name(in, j), r) == 0)
                sum += vals[j];
        if (labelled(o, name, "route", r, strlen(r), sum, gauge) < 0)
            return -1;
    }
    return 0;
}

static int seconds(wsd_str *o, const char *name, const char *suffix, uint64_t us)
{
    return wsd_str_appendf(o, "%s%s %llu.%06llu\n", name, suffix,
                           (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000));
}

static int histogram(wsd_str *o, const char *name, const char *help, int h,
                     const wsd_metrics_counts *c)
{
    int n, i;
    const uint64_t *b = wsd_prom_bounds(h, &n);
    uint64_t cum = 0;

    if (family(o, name, "histogram", help) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        char le[32];
        cum += c->hist[h][i];
        if (b[i] == UINT64_MAX)
            snprintf(le, sizeof le, "+Inf");
        else if (b[i] % 1000000 == 0)
            snprintf(le, sizeof le, "%llu", (unsigned long long)(b[i] / 1000000));
        else {
            /* shortest decimal: 2500 µs → 0.0025 */
            char *e;
            snprintf(le, sizeof le, "%llu.%06llu", (unsigned long long)(b[i] / 1000000),
                     (unsigned long long)(b[i] % 1000000));
            for (e = le + strlen(le) - 1; *e == '0'; e--)
                *e = '\0';
        }
        if (wsd_str_appendf(o, "%s_bucket{le=\"%s\"} %llu\n", name, le,
                            (unsigned long long)cum) < 0)
            return -1;
    }
    if (seconds(o, name, "_sum", c->hist_sum_us[h]) < 0)
        return -1;
    return wsd_str_appendf(o, "%s_count %llu\n", name, (unsigned long long)cum);
}

static const char *const cause_names[WSD_SPAWNFAIL_COUNT] = {
    "maxforks", "descriptors", "processes", "memory", "exec", "other"
};

int wsd_prom_render(wsd_str *o, const wsd_metrics_counts *c, const wsd_prom_info *in)
{
    int i;
    char lbl[8];

#define TRY(x) do { if ((x) < 0) return -1; } while (0)
    TRY(family(o, "wsd_build_info", "gauge", "wsd's version and libraries (always 1)"));
    TRY(wsd_str_appends(o, "wsd_build_info{version=\""));
    TRY(wsd_prom_label(o, in->version, strlen(in->version)));
    TRY(wsd_str_appends(o, "\",libuv=\""));
    TRY(wsd_prom_label(o, in->libuv, strlen(in->libuv)));
    TRY(wsd_str_appends(o, "\",openssl=\""));
    TRY(wsd_prom_label(o, in->openssl, strlen(in->openssl)));
    TRY(wsd_str_appends(o, "\",zlib=\""));
    TRY(wsd_prom_label(o, in->zlib, strlen(in->zlib)));
    TRY(wsd_str_appends(o, "\"} 1\n"));
    TRY(family(o, "wsd_start_time_seconds", "gauge", "When wsd started, seconds since the epoch"));
    TRY(wsd_str_appendf(o, "wsd_start_time_seconds %lld\n", (long long)in->start_time));
    TRY(family(o, "wsd_workers", "gauge", "Event-loop processes (--workers)"));
    TRY(wsd_str_appendf(o, "wsd_workers %d\n", in->workers));
    TRY(family(o, "wsd_draining", "gauge",
               "1 while wsd drains (the health endpoint answers 503), else 0"));
    TRY(wsd_str_appendf(o, "wsd_draining %d\n", in->draining ? 1 : 0));

    TRY(family(o, "wsd_client_connections", "gauge", "Client connections open (any kind)"));
    TRY(gauge_value(o, "wsd_client_connections", c->v[WSD_M_CLIENTS_OPEN]));
    TRY(family(o, "wsd_client_connections_accepted_total", "counter",
               "Client connections accepted"));
    TRY(sample(o, "wsd_client_connections_accepted_total", c->v[WSD_M_CLIENTS_ACCEPTED]));

    TRY(family(o, "wsd_websocket_connections", "gauge", "WebSocket connections open, by route"));
    TRY(routes(o, "wsd_websocket_connections", c->ws_open, in, 1));
    TRY(family(o, "wsd_websocket_connections_total", "counter",
               "WebSocket connections upgraded (101), by route"));
    TRY(routes(o, "wsd_websocket_connections_total", c->ws_total, in, 0));
    TRY(family(o, "wsd_websocket_closes_total", "counter",
               "WebSocket connections ended, by the code of the first close frame (1006: none)"));
    for (i = 0; i < WSD_MET_CODES; i++) {
        if (c->closes[i]) {
            wsd_prom_code_label(i, lbl);
            TRY(labelled(o, "wsd_websocket_closes_total", "code", lbl, strlen(lbl),
                         c->closes[i], 0));
        }
    }
    TRY(family(o, "wsd_handshakes_refused_total", "counter",
               "WebSocket upgrade requests answered with an HTTP error, by status"));
    for (i = 0; i < WSD_MET_STATUSES; i++) {
        if (c->refused[i]) {
            char st[16];
            snprintf(st, sizeof st, "%s", "other");
            if (i < WSD_MET_STATUSES - 1)
                snprintf(st, sizeof st, "%d", 400 + i);
            TRY(labelled(o, "wsd_handshakes_refused_total", "status", st, strlen(st),
                         c->refused[i], 0));
        }
    }

    TRY(family(o, "wsd_programs_running", "gauge", "Programs running (WebSocket, CGI, shared)"));
    TRY(gauge_value(o, "wsd_programs_running", c->v[WSD_M_PROGRAMS_RUNNING]));
    TRY(family(o, "wsd_programs_started_total", "counter", "Programs started"));
    TRY(sample(o, "wsd_programs_started_total", c->v[WSD_M_PROGRAMS_STARTED]));
    TRY(family(o, "wsd_program_start_failures_total", "counter",
               "Programs not started, by cause"));
    for (i = 0; i < WSD_SPAWNFAIL_COUNT; i++)
        TRY(labelled(o, "wsd_program_start_failures_total", "cause", cause_names[i],
                     strlen(cause_names[i]), c->spawnfail[i], 0));

    TRY(family(o, "wsd_received_bytes_total", "counter", "Bytes read from clients"));
    TRY(sample(o, "wsd_received_bytes_total", c->v[WSD_M_BYTES_IN]));
    TRY(family(o, "wsd_sent_bytes_total", "counter", "Bytes written to clients"));
    TRY(sample(o, "wsd_sent_bytes_total", c->v[WSD_M_BYTES_OUT]));
    TRY(family(o, "wsd_received_messages_total", "counter",
               "WebSocket data messages received from clients"));
    TRY(sample(o, "wsd_received_messages_total", c->v[WSD_M_MESSAGES_IN]));
    TRY(family(o, "wsd_sent_messages_total", "counter", "WebSocket data messages sent to clients"));
    TRY(sample(o, "wsd_sent_messages_total", c->v[WSD_M_MESSAGES_OUT]));
    TRY(family(o, "wsd_send_queue_overflow_closes_total", "counter",
               "Clients closed because their send queue was full (--shared: 1008)"));
    TRY(sample(o, "wsd_send_queue_overflow_closes_total", c->v[WSD_M_QUEUE_CLOSES]));
    TRY(family(o, "wsd_send_queue_dropped_messages_total", "counter",
               "Messages dropped for a full send queue (--shareddrop)"));
    TRY(sample(o, "wsd_send_queue_dropped_messages_total", c->v[WSD_M_QUEUE_DROPS]));

    TRY(histogram(o, "wsd_handshake_duration_seconds",
                  "From accepting a connection to writing its 101", WSD_H_HANDSHAKE, c));
    TRY(histogram(o, "wsd_program_lifetime_seconds",
                  "From starting a program to its end (reaped, pipes closed)",
                  WSD_H_PROGRAM_LIFE, c));
#undef TRY
    return 0;
}
