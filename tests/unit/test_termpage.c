/* test_termpage.c — the web terminal over plain HTTP (src/termpage.c):
 * Accept-Encoding, routing of the page and its files, gzip or inflated
 * bodies, 304, HEAD, 404, and that the embedded files are what the build
 * put there (the page, an ES module exporting Terminal / FitAddon, CSS). */
#include <stdlib.h>
#include <zlib.h>

#include "harness.h"
#include "termassets.h"
#include "termpage.h"

static wsd_request req;

static void rq(const char *method, const char *path)
{
    memset(&req, 0, sizeof req);
    req.method = method;
    req.target = req.path = path;
    req.target_len = strlen(path);
    req.query = "";
    req.http_major = req.http_minor = 1;
}

static void hdr(const char *name, const char *value)
{
    wsd_http_header *h = &req.headers[req.nheaders++];
    h->name = name;
    h->name_len = strlen(name);
    h->value = value;
    h->value_len = strlen(value);
}

static void gz(const char *v, int want)
{
    is_int(wsd_accepts_gzip(v, strlen(v)), want, "Accept-Encoding: %s", v);
}

static void test_accept_encoding(void)
{
    gz("gzip", 1);
    gz("gzip, deflate, br", 1);
    gz("br;q=1.0, GZIP;q=0.5", 1);
    gz(" x-gzip ", 1);
    gz("*", 1);
    gz("deflate, *;q=0.1", 1);
    gz("", 0);
    gz("identity", 0);
    gz("deflate, br", 0);
    gz("gzip;q=0", 0);
    gz("gzip; q=0.000", 0);
    gz("gzip;q=0.001", 1);
    gz("*;q=0", 0);
    gz("gzip;q=0, *", 0);              /* the explicit entry wins */
    gz("gzip, *;q=0", 1);
    gz("gzipx, gzi", 0);
    gz(",,,gzip;;level=9", 1);
}

typedef struct {
    int status;
    const char *head_end;
    const char *body;
    size_t blen;
    wsd_str out;
} resp;

static resp get(const char *method, const char *path, const char *ae, const char *ims)
{
    static wsd_config cfg;
    resp r;

    rq(method, path);
    if (ae)
        hdr("Accept-Encoding", ae);
    if (ims)
        hdr("If-Modified-Since", ims);
    memset(&r, 0, sizeof r);
    if (wsd_termpage_response(&r.out, &req, &cfg, 1, 1700000000, 1700000100) != 0) {
        r.status = -1;
        return r;
    }
    r.status = atoi(r.out.s + 9);
    r.head_end = strstr(r.out.s, "\r\n\r\n");
    r.body = r.head_end ? r.head_end + 4 : NULL;
    r.blen = r.body ? r.out.len - (size_t)(r.body - r.out.s) : 0;
    return r;
}

static int has(const resp *r, const char *line)
{
    const char *p = strstr(r->out.s, line);
    return p && (!r->head_end || p < r->head_end);
}

static char *gunzip(const char *p, size_t n, size_t *outlen)
{
    size_t cap = 4 * 1024 * 1024;
    char *o = malloc(cap);
    z_stream z;
    memset(&z, 0, sizeof z);
    inflateInit2(&z, 16 + MAX_WBITS);
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)o;
    z.avail_out = (uInt)cap;
    ok(inflate(&z, Z_FINISH) == Z_STREAM_END, "  the gzip body inflates");
    *outlen = z.total_out;
    inflateEnd(&z);
    return o;
}

static int contains(const char *p, size_t n, const char *s)
{
    return memmem(p, n, s, strlen(s)) != NULL;
}

static void test_routes(void)
{
    resp r, g;
    size_t n;
    char *plain;

    r = get("GET", "/", NULL, NULL);
    is_int(r.status, 200, "/: the page");
    ok(has(&r, "Content-Type: text/html; charset=utf-8\r\n"), "  html");
    ok(!has(&r, "Content-Encoding"), "  inflated without Accept-Encoding");
    ok(has(&r, "Last-Modified: Tue, 14 Nov 2023 22:13:20 GMT\r\n"), "  Last-Modified");
    ok(has(&r, "Cache-Control: no-cache\r\nVary: Accept-Encoding\r\n"), "  revalidated, varies");
    ok(!has(&r, "Connection: close"), "  kept alive");
    ok(contains(r.body, r.blen, "<!doctype html>") &&
       contains(r.body, r.blen, "import { Terminal } from \"./.wsd/xterm.mjs\""),
       "  the terminal page, loading xterm.js relative to itself");
    g = get("GET", "/some/dir/script.sh", "gzip, deflate", NULL);
    is_int(g.status, 200, "any other path: the page, gzipped");
    ok(has(&g, "Content-Encoding: gzip\r\n"), "  Content-Encoding: gzip");
    plain = gunzip(g.body, g.blen, &n);
    is_mem(plain, n, r.body, r.blen, "  the same page");
    free(plain);
    wsd_str_free(&g.out);
    wsd_str_free(&r.out);

    r = get("GET", "/.wsd/xterm.mjs", "gzip", NULL);
    is_int(r.status, 200, "/.wsd/xterm.mjs");
    ok(has(&r, "Content-Type: text/javascript; charset=utf-8\r\n"), "  javascript");
    plain = gunzip(r.body, r.blen, &n);
    ok(n > 100000 && contains(plain, n, "export{") && contains(plain, n, " as Terminal}"),
       "  xterm.js as an ES module exporting Terminal (%zu bytes)", n);
    ok(!contains(plain, n, "sourceMappingURL"), "  without its source-map comment");
    free(plain);
    g = get("GET", "/deep/er/.wsd/xterm.mjs", NULL, NULL);
    is_int(g.status, 200, "  also under any path, inflated");
    ok(g.blen == n && has(&g, "Content-Length: "), "  the same bytes");
    wsd_str_free(&g.out);
    wsd_str_free(&r.out);

    r = get("GET", "/.wsd/addon-fit.mjs", "gzip", NULL);
    plain = gunzip(r.body, r.blen, &n);
    ok(r.status == 200 && contains(plain, n, " as FitAddon}"), "/.wsd/addon-fit.mjs: FitAddon");
    free(plain);
    wsd_str_free(&r.out);
    r = get("GET", "/.wsd/xterm.css", NULL, NULL);
    ok(r.status == 200 && has(&r, "Content-Type: text/css; charset=utf-8\r\n") &&
       contains(r.body, r.blen, ".xterm"), "/.wsd/xterm.css");
    wsd_str_free(&r.out);

    r = get("GET", "/.wsd/passwd", "gzip", NULL);
    is_int(r.status, 404, "/.wsd/<unknown>: 404");
    ok(r.blen == 19 && memcmp(r.body, "404 page not found\n", 19) == 0, "  Go's body");
    wsd_str_free(&r.out);
    r = get("GET", "/.wsd/../.wsd/x/y", NULL, NULL);
    is_int(r.status, 200, "a path going on after /.wsd/x/: the page");
    wsd_str_free(&r.out);

    r = get("HEAD", "/.wsd/xterm.css", "gzip", NULL);
    ok(r.status == 200 && r.blen == 0 && has(&r, "Content-Length: "), "HEAD: the head only");
    wsd_str_free(&r.out);
    r = get("GET", "/", "gzip", "Tue, 14 Nov 2023 22:13:20 GMT");
    ok(r.status == 304 && r.blen == 0, "If-Modified-Since the start: 304, no body");
    wsd_str_free(&r.out);
    r = get("GET", "/", "gzip", "Tue, 14 Nov 2023 22:13:19 GMT");
    is_int(r.status, 200, "an older If-Modified-Since: 200");
    wsd_str_free(&r.out);
}

static void test_table(void)
{
    const wsd_asset *a = wsd_assets_table();
    int n = 0;

    for (; a->name; a++, n++)
        ok(a->gzlen > 18 && a->gz[0] == 0x1f && a->gz[1] == 0x8b, "%s: gzip data", a->name);
    is_int(n, 4, "four files");
}

int main(void)
{
    test_accept_encoding();
    test_routes();
    test_table();
    return done_testing();
}
