/* test_httpfile.c — MIME types, HTTP dates, If-Modified-Since, byte ranges
 * and static-file response heads (src/httpfile.c). */
#include "httpfile.h"
#include "harness.h"

#include <stdlib.h>

/* ---- requests by hand ---------------------------------------------------- */

static wsd_request req;

static void rq(const char *method)
{
    memset(&req, 0, sizeof req);
    req.method = method;
    req.target = req.path = "/f";
    req.target_len = 2;
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

static void mimet(const char *path, const char *want)
{
    is_str(wsd_mime_type(path), want, "mime %s", path);
}

static void datef(time_t t, const char *want)
{
    char b[WSD_HTTP_DATE_SIZE];
    wsd_http_date(t, b);
    is_str(b, want, "date %lld", (long long)t);
}

static void parse(const char *s, long long want)   /* want -1: invalid */
{
    time_t t = 0;
    int rc = wsd_http_date_parse(s, strlen(s), &t);
    if (want < 0)
        is_int(rc, -1, "parse '%s' fails", s);
    else
        ok(rc == 0 && (long long)t == want, "parse '%s' = %lld (got rc %d, %lld)", s, want, rc,
           (long long)t);
}

#define P WSD_RANGE_PARTIAL
#define N WSD_RANGE_NONE
#define U WSD_RANGE_UNSATISFIABLE

static void range(const char *v, uint64_t size, int want, uint64_t ws, uint64_t wl)
{
    uint64_t s = 12345, l = 12345;
    int rc = wsd_http_range(v, strlen(v), size, &s, &l);
    if (want == P)
        ok(rc == P && s == ws && l == wl, "Range '%s' of %llu → 206 %llu+%llu (got %d %llu+%llu)",
           v, (unsigned long long)size, (unsigned long long)ws, (unsigned long long)wl, rc,
           (unsigned long long)s, (unsigned long long)l);
    else
        ok(rc == want, "Range '%s' of %llu → %s (got %d)", v, (unsigned long long)size,
           want == N ? "ignored" : "416", rc);
}

static wsd_file_plan plan(uint64_t size, time_t mtime, time_t now)
{
    wsd_file_plan p;
    wsd_file_plan_make(&req, "/x/f.txt", size, mtime, now, &p);
    return p;
}

int main(void)
{
    const time_t T = 784111777;     /* Sun, 06 Nov 1994 08:49:37 GMT */
    const time_t NOW = 1795772916;
    wsd_file_plan p;
    int i;

    /* ---- MIME ---------------------------------------------------------- */
    mimet("/a/index.html", "text/html; charset=utf-8");
    mimet("x.HTM", "text/html; charset=utf-8");
    mimet("s.css", "text/css; charset=utf-8");
    mimet("a.js", "text/javascript; charset=utf-8");
    mimet("m.mjs", "text/javascript; charset=utf-8");
    mimet("d.json", "application/json");
    mimet("r.txt", "text/plain; charset=utf-8");
    mimet("f.xml", "text/xml; charset=utf-8");
    mimet("i.svg", "image/svg+xml");
    mimet("i.png", "image/png");
    mimet("i.jpg", "image/jpeg");
    mimet("i.JPEG", "image/jpeg");
    mimet("i.gif", "image/gif");
    mimet("i.webp", "image/webp");
    mimet("favicon.ico", "image/x-icon");
    mimet("m.wasm", "application/wasm");
    mimet("d.pdf", "application/pdf");
    mimet("a.zip", "application/zip");
    mimet("a.tar.gz", "application/gzip");
    mimet("s.mp3", "audio/mpeg");
    mimet("v.mp4", "video/mp4");
    mimet("v.webm", "video/webm");
    mimet("s.ogg", "audio/ogg");
    mimet("f.woff", "font/woff");
    mimet("f.woff2", "font/woff2");
    mimet("f.ttf", "font/ttf");
    mimet("f.otf", "font/otf");
    mimet("t.csv", "text/csv; charset=utf-8");
    mimet("README.md", "text/markdown; charset=utf-8");
    mimet("run.sh", "text/plain; charset=utf-8");
    mimet("noext", "application/octet-stream");
    mimet("/a.b/noext", "application/octet-stream");
    mimet(".profile", "application/octet-stream");
    mimet("/d/.profile", "application/octet-stream");
    mimet("x.unknownext", "application/octet-stream");
    mimet("x.", "application/octet-stream");
    mimet("x.html.bak", "application/octet-stream");

    /* ---- status texts ----------------------------------------------------- */
    is_str(wsd_http_reason(416), "Range Not Satisfiable", "416 text");
    is_str(wsd_http_reason(418), "I'm a teapot", "418 text");
    is_str(wsd_http_reason(299), "", "unknown status");

    /* ---- dates ------------------------------------------------------------ */
    datef(0, "Thu, 01 Jan 1970 00:00:00 GMT");
    datef(T, "Sun, 06 Nov 1994 08:49:37 GMT");
    datef(951782400, "Tue, 29 Feb 2000 00:00:00 GMT");
    datef(-1, "Wed, 31 Dec 1969 23:59:59 GMT");
    datef(253402300799LL, "Fri, 31 Dec 9999 23:59:59 GMT");
    datef(4102444800LL, "Fri, 01 Jan 2100 00:00:00 GMT");
    {
        /* sweep against gmtime_r (+ our own names: locale-independent) */
        static const char *dn[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char *mn[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        int bad = 0, badp = 0;
        unsigned long long x = 88172645463325252ULL;
        for (i = 0; i < 20000; i++) {
            time_t t, back;
            struct tm tm;
            char a[WSD_HTTP_DATE_SIZE], b[64];
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t = (time_t)(x % 253402300800ULL);
            gmtime_r(&t, &tm);
            snprintf(b, sizeof b, "%s, %02d %s %04d %02d:%02d:%02d GMT", dn[tm.tm_wday],
                     tm.tm_mday, mn[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
            wsd_http_date(t, a);
            if (strcmp(a, b) != 0 && bad++ < 3)
                printf("#   %lld: %s vs %s\n", (long long)t, a, b);
            if ((wsd_http_date_parse(a, strlen(a), &back) < 0 || back != t) && badp++ < 3)
                printf("#   parse back %s failed\n", a);
        }
        is_int(bad, 0, "format = gmtime for 20000 random times");
        is_int(badp, 0, "parse(format(t)) = t for 20000 random times");
    }
    parse("Sun, 06 Nov 1994 08:49:37 GMT", T);
    parse("Sunday, 06-Nov-94 08:49:37 GMT", T);
    parse("Sun Nov  6 08:49:37 1994", T);
    parse("Sun Nov 16 08:49:37 1994", T + 10 * 86400);
    parse("Thursday, 01-Jan-70 00:00:00 GMT", 0);
    parse("Sunday, 01-Jan-68 00:00:00 GMT", 3092601600LL);   /* 2068 */
    {
        time_t t;
        ok(wsd_http_date_parse("Wednesday, 01-Jan-69 00:00:00 GMT", 33, &t) == 0 && t == -31536000,
           "parse RFC 850 '69' = 1969");
    }
    parse("Tue, 29 Feb 2000 00:00:00 GMT", 951782400);
    parse("Mon, 06 Nov 1994 08:49:37 GMT", T);    /* wrong weekday: accepted, as Go */
    parse("Sun, 06 Nov 1994 08:49:37 UTC", -1);
    parse("Sun, 06 Nov 1994 08:49:37", -1);
    parse("Sun, 06 Nov 1994 08:49:37 GMT ", -1);
    parse("Xyz, 06 Nov 1994 08:49:37 GMT", -1);
    parse("Sun, 06 Foo 1994 08:49:37 GMT", -1);
    parse("Sun, 30 Feb 1994 08:49:37 GMT", -1);
    parse("Sun, 29 Feb 1900 08:49:37 GMT", -1);
    parse("Sun, 06 Nov 1994 24:00:00 GMT", -1);
    parse("Sun, 06 Nov 1994 08:60:00 GMT", -1);
    parse("Sun, 06 Nov 1994 08:49:60 GMT", -1);
    parse("Sun, 6 Nov 1994 08:49:37 GMT", -1);
    parse("Sun, 06 Nov 94 08:49:37 GMT", -1);
    parse("Sun, 0x Nov 1994 08:49:37 GMT", -1);
    parse("Sun Nov 6 08:49:37 1994", -1);
    parse("Sunday, 06-Nov-1994 08:49:37 GMT", -1);
    parse("Sunday 06-Nov-94 08:49:37 GMT", -1);
    parse("", -1);
    parse("1994-11-06T08:49:37Z", -1);

    /* ---- If-Modified-Since ------------------------------------------------ */
    is_int(wsd_http_not_modified("Sun, 06 Nov 1994 08:49:37 GMT", 29, T), 1, "IMS = mtime → 304");
    is_int(wsd_http_not_modified("Sun, 06 Nov 1994 08:49:37 GMT", 29, T - 100), 1, "IMS > mtime → 304");
    is_int(wsd_http_not_modified("Sun, 06 Nov 1994 08:49:37 GMT", 29, T + 1), 0, "IMS < mtime → 200");
    is_int(wsd_http_not_modified("garbage", 7, T), 0, "bad IMS → 200");
    is_int(wsd_http_not_modified("Thu, 01 Jan 1970 00:00:00 GMT", 29, 0), 0, "mtime 0 → 200");

    /* ---- ranges ------------------------------------------------------------ */
    range("bytes=1-2", 6, P, 1, 2);
    range("bytes=0-0", 6, P, 0, 1);
    range("bytes=-2", 6, P, 4, 2);
    range("bytes=4-", 6, P, 4, 2);
    range("bytes=0-100", 6, P, 0, 6);
    range("bytes=5-5", 6, P, 5, 1);
    range("bytes=-100", 6, P, 0, 6);
    range("bytes=0-", 6, P, 0, 6);
    range("Bytes = 1-2", 6, P, 1, 2);
    range("bytes= 1-2 ", 6, P, 1, 2);
    range("bytes=1-2,", 6, P, 1, 2);
    range("bytes=,1-2", 6, P, 1, 2);
    range("bytes=0-18446744073709551615", 6, P, 0, 6);
    range("bytes=0-99999999999999999999999", 6, P, 0, 6);
    range("bytes=-99999999999999999999999", 6, P, 0, 6);
    range("bytes=10-", 6, U, 0, 0);
    range("bytes=6-", 6, U, 0, 0);
    range("bytes=6-7", 6, U, 0, 0);
    range("bytes=3-1", 6, U, 0, 0);
    range("bytes=-0", 6, U, 0, 0);
    range("bytes=a-b", 6, U, 0, 0);
    range("bytes=1", 6, U, 0, 0);
    range("bytes=-", 6, U, 0, 0);
    range("bytes=", 6, U, 0, 0);
    range("bytes=1-2-3", 6, U, 0, 0);
    range("bytes=+1-2", 6, U, 0, 0);
    range("bytes=0-0", 0, U, 0, 0);
    range("bytes=-1", 0, U, 0, 0);
    range("bytes=0-0,2-3", 6, N, 0, 0);
    range("bytes=1-1,1-1", 6, N, 0, 0);
    range("bytes=0-0, x", 6, N, 0, 0);
    range("items=0-1", 6, N, 0, 0);
    range("bytes", 6, N, 0, 0);
    range("", 6, N, 0, 0);
    range("bytes=99999999999999999999999-", 6, U, 0, 0);

    /* ---- plans --------------------------------------------------------------- */
    rq("GET");
    p = plan(6, T, NOW);
    ok(p.status == 200 && p.offset == 0 && p.length == 6 && p.size == 6, "GET → 200, all");
    is_str(p.content_type, "text/plain; charset=utf-8", "  content type from the path");
    is_int(p.last_modified, T, "  last modified = mtime");
    p = plan(6, NOW + 100, NOW);
    is_int(p.last_modified, NOW, "future mtime → Last-Modified = now");

    rq("GET");
    hdr("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT");
    p = plan(6, T, NOW);
    ok(p.status == 304 && p.length == 0, "GET + IMS = mtime → 304");
    p = plan(6, T + 1, NOW);
    is_int(p.status, 200, "GET + IMS < mtime → 200");
    rq("HEAD");
    hdr("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT");
    p = plan(6, T, NOW);
    is_int(p.status, 304, "HEAD + IMS → 304");
    rq("POST");
    hdr("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT");
    p = plan(6, T, NOW);
    is_int(p.status, 200, "POST + IMS → 200 (IMS only for GET/HEAD)");
    rq("GET");
    hdr("If-None-Match", "\"abc\"");
    hdr("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT");
    p = plan(6, T, NOW);
    is_int(p.status, 200, "If-None-Match (no match) disables IMS → 200");
    rq("GET");
    hdr("If-None-Match", "*");
    p = plan(6, T, NOW);
    is_int(p.status, 304, "If-None-Match: * → 304");
    rq("GET");
    hdr("If-None-Match", "W/\"a*b\"");
    p = plan(6, T, NOW);
    is_int(p.status, 200, "If-None-Match with a '*' inside a tag → 200");

    rq("GET");
    hdr("Range", "bytes=1-2");
    p = plan(6, T, NOW);
    ok(p.status == 206 && p.offset == 1 && p.length == 2, "GET + Range → 206 1+2");
    rq("HEAD");
    hdr("Range", "bytes=1-2");
    p = plan(6, T, NOW);
    ok(p.status == 200 && p.length == 6, "HEAD + Range → 200 (Range is for GET)");
    rq("GET");
    hdr("Range", "bytes=9-");
    p = plan(6, T, NOW);
    ok(p.status == 416 && p.length == 0, "GET + unsatisfiable Range → 416");
    rq("GET");
    hdr("Range", "bytes=1-2");
    hdr("If-Range", "Sun, 06 Nov 1994 08:49:37 GMT");
    p = plan(6, T, NOW);
    is_int(p.status, 206, "If-Range = Last-Modified → 206");
    p = plan(6, T + 1, NOW);
    ok(p.status == 200 && p.length == 6, "If-Range older → 200, all");
    rq("GET");
    hdr("Range", "bytes=1-2");
    hdr("If-Range", "\"etag\"");
    p = plan(6, T, NOW);
    is_int(p.status, 200, "If-Range with an ETag → 200");
    rq("GET");
    hdr("Range", "bytes=1-2");
    hdr("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT");
    p = plan(6, T, NOW);
    is_int(p.status, 304, "304 takes precedence over Range");

    /* ---- response heads ------------------------------------------------------ */
    {
        wsd_str out;
        wsd_header_kv kv1[] = {{"X-A", "1"}, {"Server", "wsd"}}, kv2[] = {{"X-B", ""}};
        wsd_header_list l1 = {kv1, 2}, l2 = {kv2, 1};
        const char *want200 =
            "HTTP/1.1 200 OK\r\n"
            "Accept-Ranges: bytes\r\n"
            "Content-Length: 6\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Date: Fri, 27 Nov 2026 09:48:36 GMT\r\n"
            "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Connection: close\r\n"
            "X-A: 1\r\n"
            "Server: wsd\r\n"
            "X-B: \r\n"
            "\r\n";

        rq("GET");
        p = plan(6, T, NOW);
        wsd_str_init(&out, 4096);
        is_int(wsd_file_response_head(&out, &p, NOW, 0, &l1, &l2), 0, "200 head");
        is_str(out.s, want200, "  bytes");
        wsd_str_free(&out);

        rq("GET");
        hdr("Range", "bytes=-2");
        p = plan(6, T, NOW);
        wsd_str_init(&out, 4096);
        wsd_file_response_head(&out, &p, NOW, 1, NULL, NULL);
        is_str(out.s,
               "HTTP/1.1 206 Partial Content\r\n"
               "Accept-Ranges: bytes\r\n"
               "Content-Length: 2\r\n"
               "Content-Range: bytes 4-5/6\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n"
               "Date: Fri, 27 Nov 2026 09:48:36 GMT\r\n"
               "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
               "\r\n", "206 head (keep-alive: no Connection)");
        wsd_str_free(&out);

        rq("GET");
        hdr("Range", "bytes=7-");
        p = plan(6, T, NOW);
        wsd_str_init(&out, 4096);
        wsd_file_response_head(&out, &p, NOW, 0, NULL, NULL);
        is_str(out.s,
               "HTTP/1.1 416 Range Not Satisfiable\r\n"
               "Content-Length: 0\r\n"
               "Content-Range: bytes */6\r\n"
               "Date: Fri, 27 Nov 2026 09:48:36 GMT\r\n"
               "Connection: close\r\n"
               "\r\n", "416 head");
        wsd_str_free(&out);

        rq("GET");
        hdr("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT");
        p = plan(6, T, NOW);
        wsd_str_init(&out, 4096);
        wsd_file_response_head(&out, &p, NOW, 0, NULL, &l2);
        is_str(out.s,
               "HTTP/1.1 304 Not Modified\r\n"
               "Date: Fri, 27 Nov 2026 09:48:36 GMT\r\n"
               "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
               "Connection: close\r\n"
               "X-B: \r\n"
               "\r\n", "304 head");
        wsd_str_free(&out);

        /* big sizes */
        rq("GET");
        hdr("Range", "bytes=5000000000-");
        p = plan(6000000000ULL, T, NOW);
        wsd_str_init(&out, 4096);
        wsd_file_response_head(&out, &p, NOW, 0, NULL, NULL);
        ok(strstr(out.s, "Content-Range: bytes 5000000000-5999999999/6000000000\r\n") &&
           strstr(out.s, "Content-Length: 1000000000\r\n"), "64-bit sizes");
        wsd_str_free(&out);

        /* the limit: nothing appended */
        rq("GET");
        p = plan(6, T, NOW);
        wsd_str_init(&out, 100);
        wsd_str_appends(&out, "prefix");
        is_int(wsd_file_response_head(&out, &p, NOW, 0, &l1, &l2), -1, "over the limit → -1");
        is_str(out.s, "prefix", "  out unchanged");
        wsd_str_free(&out);
    }

    return done_testing();
}
