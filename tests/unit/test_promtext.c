/* test_promtext.c — the Prometheus exposition (promtext.c) and the
 * counters behind it (metrics.c): label slots, buckets, escaping, route
 * merging, the size bound, and counting from several processes into one
 * shared mapping. (promtool checks the real server's text: test_metrics.py.) */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "metrics.h"
#include "promtext.h"

static const wsd_prom_info base_info = {
    NULL, 0, "0.1.0", "1.44.2", "3.0.19", "1.2.13", 1796646070, 2, 0
};

static int has_line(const char *text, const char *line)
{
    const char *p = text;
    size_t n = strlen(line);
    while ((p = strstr(p, line)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
        p += n;
    }
    return 0;
}

static void test_slots(void)
{
    char b[8];
    is_int(wsd_prom_code_slot(1000), 0, "1000");
    is_int(wsd_prom_code_slot(1015), 15, "1015");
    is_int(wsd_prom_code_slot(3000), 16, "3000 → 3xxx");
    is_int(wsd_prom_code_slot(4999), 17, "4999 → 4xxx");
    is_int(wsd_prom_code_slot(999), 18, "999 → other");
    is_int(wsd_prom_code_slot(2000), 18, "2000 → other");
    is_int(wsd_prom_code_slot(5000), 18, "5000 → other");
    is_str(wsd_prom_code_label(6, b), "1006", "label 1006");
    is_str(wsd_prom_code_label(16, b), "3xxx", "label 3xxx");
    is_str(wsd_prom_code_label(18, b), "other", "label other");
    is_int(wsd_prom_status_slot(400), 0, "400");
    is_int(wsd_prom_status_slot(599), 199, "599");
    is_int(wsd_prom_status_slot(301), WSD_MET_STATUSES - 1, "301 → other");
    is_int(wsd_prom_status_slot(600), WSD_MET_STATUSES - 1, "600 → other");
}

static void test_buckets(void)
{
    int n, i, bad = 0;
    const uint64_t *b = wsd_prom_bounds(WSD_H_HANDSHAKE, &n);

    ok(n <= WSD_MET_BUCKETS, "handshake buckets fit (%d)", n);
    for (i = 0; i < n - 1; i++) {
        if (wsd_prom_bucket(WSD_H_HANDSHAKE, b[i]) != i ||        /* le: inclusive */
            wsd_prom_bucket(WSD_H_HANDSHAKE, b[i] + 1) != i + 1)
            bad++;
    }
    is_int(bad, 0, "handshake: each bound is in its own bucket, one more in the next");
    is_int(wsd_prom_bucket(WSD_H_HANDSHAKE, 0), 0, "0 in the first");
    is_int(wsd_prom_bucket(WSD_H_HANDSHAKE, UINT64_MAX), n - 1, "huge in +Inf");
    b = wsd_prom_bounds(WSD_H_PROGRAM_LIFE, &n);
    ok(n <= WSD_MET_BUCKETS, "lifetime buckets fit (%d)", n);
    is_int(wsd_prom_bucket(WSD_H_PROGRAM_LIFE, 86400000000ull), n - 2, "a day: the last finite");
    is_int(wsd_prom_bucket(WSD_H_PROGRAM_LIFE, 86400000001ull), n - 1, "a day and more: +Inf");
}

static void test_labels(void)
{
    wsd_str o;
    wsd_str_init(&o, 1024);
    ok(wsd_prom_label(&o, "a\\b\"c\nd\te\xc3\xa9\xff\x01", 13) == 0, "label escaped");
    is_str(o.s, "a\\\\b\\\"c\\nd\xef\xbf\xbd" "e\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd",
           "\\ \" \\n escaped; tab, invalid UTF-8, control → U+FFFD");
    wsd_str_free(&o);
}

static void test_render(void)
{
    static wsd_metrics_counts c;
    static char routes[4][WSD_MET_ROUTE_NAME] = {"other", "/chat", "*", "/chat"};
    wsd_prom_info in = base_info;
    wsd_str o;

    memset(&c, 0, sizeof c);
    c.v[WSD_M_CLIENTS_OPEN] = 3;
    c.v[WSD_M_CLIENTS_ACCEPTED] = 10;
    c.v[WSD_M_PROGRAMS_RUNNING] = (uint64_t)-1;          /* a negative sum shows as 0 */
    c.ws_open[1] = 2;
    c.ws_open[3] = 1;
    c.ws_total[1] = 5;
    c.ws_total[2] = 7;
    c.ws_total[3] = 4;
    c.closes[wsd_prom_code_slot(1000)] = 4;
    c.closes[wsd_prom_code_slot(4001)] = 1;
    c.refused[wsd_prom_status_slot(429)] = 2;
    c.spawnfail[WSD_SPAWNFAIL_EXEC] = 1;
    c.hist[WSD_H_HANDSHAKE][0] = 2;
    c.hist[WSD_H_HANDSHAKE][3] = 1;
    c.hist_sum_us[WSD_H_HANDSHAKE] = 12345;
    in.routes = (const char (*)[WSD_MET_ROUTE_NAME])routes;
    in.nroutes = 4;
    wsd_str_init(&o, WSD_PROM_MAX);
    ok(wsd_prom_render(&o, &c, &in) == 0, "renders");
    ok(has_line(o.s, "# TYPE wsd_websocket_connections_total counter"), "TYPE line");
    ok(has_line(o.s, "wsd_build_info{version=\"0.1.0\",libuv=\"1.44.2\",openssl=\"3.0.19\","
                     "zlib=\"1.2.13\"} 1"), "build info");
    ok(has_line(o.s, "wsd_client_connections 3"), "open connections");
    ok(has_line(o.s, "wsd_client_connections_accepted_total 10"), "accepted");
    ok(has_line(o.s, "wsd_programs_running 0"), "a negative gauge sum is 0");
    ok(has_line(o.s, "wsd_websocket_connections{route=\"/chat\"} 3"), "two /chat slots summed");
    ok(has_line(o.s, "wsd_websocket_connections_total{route=\"/chat\"} 9"), "... counters too");
    ok(has_line(o.s, "wsd_websocket_connections_total{route=\"*\"} 7"), "the * route");
    ok(has_line(o.s, "wsd_websocket_connections_total{route=\"other\"} 0"), "other, even at 0");
    ok(strstr(o.s, "route=\"/chat\"} 5\n") == NULL, "no second /chat series");
    ok(has_line(o.s, "wsd_websocket_closes_total{code=\"1000\"} 4"), "close 1000");
    ok(has_line(o.s, "wsd_websocket_closes_total{code=\"4xxx\"} 1"), "close 4xxx");
    ok(strstr(o.s, "code=\"1001\"") == NULL, "codes never seen are left out");
    ok(has_line(o.s, "wsd_handshakes_refused_total{status=\"429\"} 2"), "refused 429");
    ok(has_line(o.s, "wsd_program_start_failures_total{cause=\"exec\"} 1"), "cause exec");
    ok(has_line(o.s, "wsd_program_start_failures_total{cause=\"maxforks\"} 0"),
       "every cause present");
    ok(has_line(o.s, "wsd_handshake_duration_seconds_bucket{le=\"0.001\"} 2"), "first bucket");
    ok(has_line(o.s, "wsd_handshake_duration_seconds_bucket{le=\"0.0025\"} 2"), "cumulative");
    ok(has_line(o.s, "wsd_handshake_duration_seconds_bucket{le=\"0.01\"} 3"), "cumulative 3");
    ok(has_line(o.s, "wsd_handshake_duration_seconds_bucket{le=\"+Inf\"} 3"), "+Inf");
    ok(has_line(o.s, "wsd_handshake_duration_seconds_sum 0.012345"), "sum in seconds");
    ok(has_line(o.s, "wsd_handshake_duration_seconds_count 3"), "count");
    ok(has_line(o.s, "wsd_program_lifetime_seconds_bucket{le=\"86400\"} 0"), "whole seconds");
    ok(has_line(o.s, "wsd_workers 2"), "workers");
    ok(o.s[o.len - 1] == '\n', "ends with a newline");
    wsd_str_free(&o);

    /* too small a limit: -1, never a partial success */
    wsd_str_init(&o, 100);
    is_int(wsd_prom_render(&o, &c, &in), -1, "-1 over the limit");
    wsd_str_free(&o);
}

/* Everything at once: every route slot with the longest name of the worst
 * bytes, every code and status, huge numbers: under WSD_PROM_MAX. */
static void test_worst_case_size(void)
{
    static wsd_metrics_counts c;
    static char routes[WSD_MET_ROUTES][WSD_MET_ROUTE_NAME];
    wsd_prom_info in = base_info;
    wsd_str o;
    size_t i, j;

    memset(&c, 0xff, sizeof c);
    for (i = 0; i < WSD_MET_ROUTES; i++) {
        for (j = 0; j + 1 < WSD_MET_ROUTE_NAME; j++)
            routes[i][j] = (char)(j % 2 ? 0xff : '"');
        routes[i][0] = (char)('A' + i);      /* distinct names */
        routes[i][WSD_MET_ROUTE_NAME - 1] = '\0';
    }
    in.routes = (const char (*)[WSD_MET_ROUTE_NAME])routes;
    in.nroutes = WSD_MET_ROUTES;
    in.version = in.libuv = in.openssl = in.zlib = routes[1];
    wsd_str_init(&o, WSD_PROM_MAX);
    ok(wsd_prom_render(&o, &c, &in) == 0, "the worst case renders within WSD_PROM_MAX (%zu)",
       o.len);
    wsd_str_free(&o);
}

static void test_counting_local(void)
{
    static wsd_metrics_counts s;
    const char (*names)[WSD_MET_ROUTE_NAME];
    size_t n;
    int r1, r2, i, other = 0;
    char name[200];

    r1 = wsd_metrics_route("/a");
    r2 = wsd_metrics_route("/b");
    ok(r1 > 0 && r2 > 0 && r1 != r2, "two routes, two slots");
    is_int(wsd_metrics_route("/a"), r1, "the same name, the same slot");
    is_int(wsd_metrics_route(""), 0, "an empty name is other");
    memset(name, 'x', sizeof name);
    name[WSD_MET_ROUTE_NAME] = '\0';
    is_int(wsd_metrics_route(name), 0, "a name of WSD_MET_ROUTE_NAME bytes is other");
    for (i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "/r%d", i);
        other += wsd_metrics_route(name) == 0;
    }
    is_int(other, 100 - (WSD_MET_ROUTES - 3), "past the table, names fold into other");
    wsd_metrics_ws_open(r1, 500);
    wsd_metrics_ws_open(r1, 3000);
    wsd_metrics_ws_end(r1, 1000);
    wsd_metrics_ws_open(99, 1);                      /* out of range: other */
    wsd_metrics_refused(403);
    wsd_metrics_spawn_errno(-2);                     /* ENOENT */
    wsd_metrics_spawn_errno(-24);                    /* EMFILE */
    wsd_metrics_spawn_errno(-11);                    /* EAGAIN */
    wsd_metrics_spawn_errno(-5);                     /* EIO */
    wsd_metrics_program_started();
    wsd_metrics_program_done(2000000);
    wsd_metrics_inc(WSD_M_BYTES_IN);
    wsd_metrics_add(WSD_M_BYTES_IN, 41);
    wsd_metrics_snapshot(&s, &names, &n);
    is_int(n, WSD_MET_ROUTES, "every slot in use");
    is_str(names[0], "other", "slot 0 is other");
    is_str(names[r1], "/a", "names by slot");
    is_int(s.ws_open[r1], 1, "open: 2 - 1");
    is_int(s.ws_total[r1], 2, "total 2");
    is_int(s.ws_open[0], 1, "out-of-range slot counted as other");
    is_int(s.closes[0], 1, "close 1000");
    is_int(s.refused[3], 1, "refused 403");
    is_int(s.spawnfail[WSD_SPAWNFAIL_EXEC], 1, "ENOENT: exec");
    is_int(s.spawnfail[WSD_SPAWNFAIL_DESCRIPTORS], 1, "EMFILE: descriptors");
    is_int(s.spawnfail[WSD_SPAWNFAIL_PROCESSES], 1, "EAGAIN: processes");
    is_int(s.spawnfail[WSD_SPAWNFAIL_OTHER], 1, "EIO: other");
    is_int(s.v[WSD_M_PROGRAMS_RUNNING], 0, "running: 1 - 1");
    is_int(s.v[WSD_M_PROGRAMS_STARTED], 1, "started");
    is_int(s.hist[WSD_H_PROGRAM_LIFE][2], 1, "2 s lifetime in the le=10 bucket");
    is_int(s.hist_sum_us[WSD_H_HANDSHAKE], 3501, "handshake sum");
    is_int(s.v[WSD_M_BYTES_IN], 42, "bytes");
}

/* The mapping: processes forked after wsd_metrics_init count into their
 * slots; any of them sees the sum. */
static void test_counting_shared(void)
{
    static wsd_metrics_counts s;
    const char (*names)[WSD_MET_ROUTE_NAME];
    size_t n;
    int k, st, all = 1, r;
    pid_t pid[3];

    ok(wsd_metrics_init(4) == 0, "the shared mapping");
    ok(wsd_metrics_on, "metrics on");
    for (k = 0; k < 3; k++) {
        pid[k] = fork();
        if (pid[k] == 0) {
            int i;
            wsd_metrics_use_slot(k + 1);
            for (i = 0; i < 1000; i++)
                wsd_metrics_inc(WSD_M_MESSAGES_IN);
            wsd_metrics_inc(WSD_M_CLIENTS_OPEN);
            wsd_metrics_ws_open(wsd_metrics_route(k == 2 ? "/y" : "/x"), 10);
            _exit(0);
        }
    }
    for (k = 0; k < 3; k++)
        all &= waitpid(pid[k], &st, 0) == pid[k] && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    ok(all, "three children counted");
    wsd_metrics_inc(WSD_M_MESSAGES_IN);
    wsd_metrics_snapshot(&s, &names, &n);
    is_int(s.v[WSD_M_MESSAGES_IN], 3001, "the sum over four slots");
    is_int(s.v[WSD_M_CLIENTS_OPEN], 3, "gauges summed");
    r = wsd_metrics_route("/x");
    ok(r > 0 && strcmp(names[r], "/x") == 0, "a route named in a child has its slot here");
    is_int(s.ws_total[r], 2, "two children on /x");
    is_int(s.ws_total[wsd_metrics_route("/y")], 1, "one on /y");
    ok(n < WSD_MET_ROUTES, "the shared table is fresh (%zu slots)", n);

    /* a restarted worker takes slot 1 back: gauges restart, counters go on */
    pid[0] = fork();
    if (pid[0] == 0) {
        wsd_metrics_use_slot(1);
        _exit(0);
    }
    waitpid(pid[0], &st, 0);
    wsd_metrics_snapshot(&s, &names, &n);
    is_int(s.v[WSD_M_CLIENTS_OPEN], 2, "slot 1's open connections died with it");
    is_int(s.ws_open[r], 1, "... and its WebSocket connections");
    is_int(s.v[WSD_M_MESSAGES_IN], 3001, "its counters stay");
    wsd_metrics_set_draining(1);
    pid[0] = fork();
    if (pid[0] == 0)
        _exit(wsd_metrics_draining() ? 0 : 1);
    waitpid(pid[0], &st, 0);
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the draining flag is seen by the others");
}

int main(void)
{
    test_slots();
    test_buckets();
    test_labels();
    test_render();
    test_worst_case_size();
    test_counting_local();
    test_counting_shared();
    return done_testing();
}
