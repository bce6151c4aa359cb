/* monitor.c — the health endpoint, the --metrics listener's answers and
 * the --gracems wait (see monitor.h). */
#include "monitor.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "log.h"
#include "metrics.h"
#include "promtext.h"
#include "util.h"

static int is_head(const wsd_request *r)
{
    return strcmp(r->method, "HEAD") == 0;
}

/* A complete response, then the connection ends (conn_linger). */
static void answer(conn *c, const wsd_request *r, int status, const char *ctype,
                   const char *extra, const char *body, size_t blen)
{
    const wsd_config *cfg = c->srv->cfg;
    char date[WSD_HTTP_DATE_SIZE];
    wsd_str out;

    wsd_http_date(time(NULL), date);
    wsd_str_init(&out, WSD_PROM_MAX + RESPONSE_LIMIT);
    if (wsd_str_appendf(&out,
                        "HTTP/1.1 %d %s\r\n"
                        "Content-Type: %s\r\n"
                        "Content-Length: %zu\r\n"
                        "Cache-Control: no-store\r\n"
                        "Date: %s\r\n"
                        "X-Content-Type-Options: nosniff\r\n"
                        "Connection: close\r\n%s",
                        status, wsd_http_reason(status), ctype, blen, date, extra) < 0 ||
        wsd_append_header_list(&out, &cfg->headers) < 0 ||
        wsd_append_header_list(&out, &cfg->headers_http) < 0 ||
        wsd_str_appends(&out, "\r\n") < 0 ||
        (!is_head(r) && wsd_str_append(&out, body, blen) < 0)) {
        wsd_str_free(&out);
        wsd_tp_close(&c->tp);
        return;
    }
    conn_linger(c, out.s, out.len);
}

static void health(conn *c, const wsd_request *r)
{
    int draining = c->srv->shutting_down || wsd_metrics_draining();

    wsd_log(WSD_LOG_DEBUG, "http", c->assoc, "HEALTH %d", draining ? 503 : 200);
    if (draining)
        answer(c, r, 503, "text/plain; charset=utf-8", "", "draining\n", 9);
    else
        answer(c, r, 200, "text/plain; charset=utf-8", "", "ok\n", 3);
}

static void metrics(conn *c, const wsd_request *r)
{
    static wsd_metrics_counts sum;     /* 3 KiB, off the stack */
    wsd_prom_info info;
    wsd_str body;
    char uvv[32];
    const char *openssl = OpenSSL_version(OPENSSL_VERSION_STRING);

    wsd_metrics_snapshot(&sum, &info.routes, &info.nroutes);
    snprintf(uvv, sizeof uvv, "%s", uv_version_string());
    info.version = WSD_VERSION;
    info.libuv = uvv;
    info.openssl = openssl ? openssl : "";
    info.zlib = zlibVersion();
    info.start_time = wsd_metrics_start_time();
    info.workers = c->srv->nworkers;
    info.draining = c->srv->shutting_down || wsd_metrics_draining();
    wsd_str_init(&body, WSD_PROM_MAX);
    if (wsd_prom_render(&body, &sum, &info) != 0) {
        /* cannot happen within the bounds promtext.h proves */
        wsd_log(WSD_LOG_ERROR, "http", c->assoc, "Metrics over %d bytes", WSD_PROM_MAX);
        wsd_str_free(&body);
        answer(c, r, 500, "text/plain; charset=utf-8", "", "500 Internal Server Error\n", 26);
        return;
    }
    wsd_log(WSD_LOG_DEBUG, "http", c->assoc, "METRICS %zu bytes", body.len);
    answer(c, r, 200, "text/plain; version=0.0.4; charset=utf-8", "", body.s ? body.s : "",
           body.len);
    wsd_str_free(&body);
}

int wsd_monitor_request(conn *c, const wsd_request *r)
{
    const wsd_config *cfg = c->srv->cfg;

    if (!c->monitor) {
        if (!cfg->healthpath || strcmp(r->path, cfg->healthpath) != 0)
            return 0;
        health(c, r);
        return 1;
    }
    wsd_tp_timeout(&c->tp, 0);
    if (strcmp(r->path, "/metrics") == 0 || strcmp(r->path, "/health") == 0) {
        if (strcmp(r->method, "GET") != 0 && !is_head(r)) {
            answer(c, r, 405, "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n",
                   "405 Method Not Allowed\n", 23);
            return 1;
        }
        if (r->path[1] == 'm')
            metrics(c, r);
        else
            health(c, r);
        return 1;
    }
    wsd_log(WSD_LOG_DEBUG, "http", c->assoc, "NOT FOUND (metrics listener)");
    answer(c, r, 404, "text/plain; charset=utf-8", "", "404 page not found\n", 19);
    return 1;
}

/* ---- --gracems ------------------------------------------------------------- */

static struct {
    uv_timer_t timer;
    int running;
    int signum;
    void (*then)(server *srv, int signum);
} grace;

static void on_grace_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_grace_over(uv_timer_t *t)
{
    server *srv = t->data;

    grace.running = 0;
    uv_close((uv_handle_t *)&grace.timer, on_grace_closed);
    grace.then(srv, grace.signum);
}

int wsd_monitor_grace(server *srv, int signum, void (*then)(server *srv, int signum))
{
    const char *name = sigabbrev_np(signum) ? sigabbrev_np(signum) : "?";

    if (grace.running) {
        /* a second signal: no more waiting */
        grace.running = 0;
        uv_close((uv_handle_t *)&grace.timer, on_grace_closed);
        wsd_log(WSD_LOG_INFO, "server", "", "Second SIG%s during --gracems: shutting down now",
                name);
        return 0;
    }
    if (srv->cfg->gracems <= 0)
        return 0;
    wsd_metrics_set_draining(1);
    grace.running = 1;
    grace.signum = signum;
    grace.then = then;
    uv_timer_init(srv->loop, &grace.timer);
    grace.timer.data = srv;
    uv_timer_start(&grace.timer, on_grace_over, (uint64_t)srv->cfg->gracems, 0);
    wsd_log(WSD_LOG_INFO, "server", "",
            "Received SIG%s: health checks get 503 for %ld ms (--gracems), then shutting down",
            name, srv->cfg->gracems);
    return 1;
}

void wsd_monitor_startup_log(const wsd_config *cfg)
{
    if (cfg->metrics)
        wsd_log(WSD_LOG_INFO, "server", "", "Starting metrics server     : http://%s/metrics",
                cfg->metrics);
    if (cfg->healthpath)
        wsd_log(WSD_LOG_INFO, "server", "", "Health checks answered at   : %s", cfg->healthpath);
}
