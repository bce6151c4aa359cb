/* httpfile.c — MIME types, conditional and range requests and the response
 * head for static files (see httpfile.h). */
#include "httpfile.h"

#include <string.h>

/* ------------------------------------------------------------------ MIME */

#define TXT "; charset=utf-8"

static const struct {
    const char *ext;
    const char *type;
} mime[] = {
    {"html", "text/html" TXT},        {"htm", "text/html" TXT},
    {"xhtml", "application/xhtml+xml"},
    {"css", "text/css" TXT},          {"js", "text/javascript" TXT},
    {"mjs", "text/javascript" TXT},   {"json", "application/json"},
    {"map", "application/json"},      {"jsonld", "application/ld+json"},
    {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain" TXT},        {"text", "text/plain" TXT},
    {"log", "text/plain" TXT},        {"sh", "text/plain" TXT},
    {"md", "text/markdown" TXT},      {"markdown", "text/markdown" TXT},
    {"csv", "text/csv" TXT},          {"tsv", "text/tab-separated-values" TXT},
    {"xml", "text/xml" TXT},          {"xsl", "text/xml" TXT},
    {"rss", "application/rss+xml"},   {"atom", "application/atom+xml"},
    {"ics", "text/calendar" TXT},     {"vtt", "text/vtt" TXT},
    {"yaml", "text/yaml" TXT},        {"yml", "text/yaml" TXT},
    {"svg", "image/svg+xml"},         {"png", "image/png"},
    {"jpg", "image/jpeg"},            {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},             {"webp", "image/webp"},
    {"avif", "image/avif"},           {"bmp", "image/bmp"},
    {"ico", "image/x-icon"},          {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"wasm", "application/wasm"},     {"pdf", "application/pdf"},
    {"zip", "application/zip"},       {"gz", "application/gzip"},
    {"tgz", "application/gzip"},      {"tar", "application/x-tar"},
    {"bz2", "application/x-bzip2"},   {"xz", "application/x-xz"},
    {"zst", "application/zstd"},      {"7z", "application/x-7z-compressed"},
    {"mp3", "audio/mpeg"},            {"wav", "audio/wav"},
    {"flac", "audio/flac"},           {"m4a", "audio/mp4"},
    {"oga", "audio/ogg"},             {"ogg", "audio/ogg"},
    {"opus", "audio/ogg"},            {"mp4", "video/mp4"},
    {"m4v", "video/mp4"},             {"webm", "video/webm"},
    {"ogv", "video/ogg"},             {"mov", "video/quicktime"},
    {"woff", "font/woff"},            {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},              {"otf", "font/otf"},
};

const char *wsd_mime_type(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n, i, k;

    if (!dot || dot == base)         /* none, or a dotfile such as ".profile" */
        return "application/octet-stream";
    dot++;
    n = strlen(dot);
    for (i = 0; i < sizeof mime / sizeof mime[0]; i++) {
        if (strlen(mime[i].ext) != n)
            continue;
        for (k = 0; k < n && wsd_lower((unsigned char)dot[k]) == mime[i].ext[k]; k++)
            ;
        if (k == n)
            return mime[i].type;
    }
    return "application/octet-stream";
}

/* ----------------------------------------------------------- conditions */

int wsd_http_not_modified(const char *ims, size_t n, time_t mtime)
{
    time_t t;
    if (mtime <= 0 || wsd_http_date_parse(ims, n, &t) < 0)
        return 0;
    return mtime <= t;
}

/* ---------------------------------------------------------------- ranges */

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Decimal digits → value saturated at UINT64_MAX; -1 if none or junk. */
static int parse_u64(const char *s, size_t n, uint64_t *v)
{
    size_t i;
    *v = 0;
    if (n == 0)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned dgt;
        if (s[i] < '0' || s[i] > '9')
            return -1;
        dgt = (unsigned)(s[i] - '0');
        *v = *v > (UINT64_MAX - dgt) / 10 ? UINT64_MAX : *v * 10 + dgt;
    }
    return 0;
}

int wsd_http_range(const char *v, size_t n, uint64_t size, uint64_t *start, uint64_t *len)
{
    const char *eq = memchr(v, '=', n), *spec = NULL, *p, *end = v + n, *dash;
    size_t ul, sl = 0, count = 0;
    uint64_t a, b;

    if (!eq)
        return WSD_RANGE_NONE;
    ul = (size_t)(eq - v);
    while (ul > 0 && is_ows(v[ul - 1]))
        ul--;
    if (!wsd_strncaseeq(v, ul, "bytes"))
        return WSD_RANGE_NONE;              /* another unit: ignore (RFC 9110) */
    /* the comma-separated range set; empty elements are allowed */
    for (p = eq + 1; p <= end;) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        const char *e = c ? c : end, *s = p;
        while (s < e && is_ows(*s))
            s++;
        while (e > s && is_ows(e[-1]))
            e--;
        if (e > s) {
            count++;
            spec = s;
            sl = (size_t)(e - s);
        }
        if (!c)
            break;
        p = c + 1;
    }
    if (count > 1)
        return WSD_RANGE_NONE;              /* several ranges: send it all */
    if (count == 0)
        return WSD_RANGE_UNSATISFIABLE;
    dash = memchr(spec, '-', sl);
    if (!dash)
        return WSD_RANGE_UNSATISFIABLE;
    if (dash == spec) {                     /* suffix: the last n bytes */
        if (parse_u64(spec + 1, sl - 1, &b) < 0 || b == 0 || size == 0)
            return WSD_RANGE_UNSATISFIABLE;
        if (b > size)
            b = size;
        *start = size - b;
        *len = b;
        return WSD_RANGE_PARTIAL;
    }
    if (parse_u64(spec, (size_t)(dash - spec), &a) < 0)
        return WSD_RANGE_UNSATISFIABLE;
    if (dash + 1 == spec + sl) {
        b = UINT64_MAX;
    } else if (parse_u64(dash + 1, (size_t)(spec + sl - dash - 1), &b) < 0 || b < a) {
        return WSD_RANGE_UNSATISFIABLE;
    }
    if (a >= size)
        return WSD_RANGE_UNSATISFIABLE;
    if (b > size - 1)
        b = size - 1;
    *start = a;
    *len = b - a + 1;
    return WSD_RANGE_PARTIAL;
}

/* ------------------------------------------------------------------ plan */

static int method_is(const wsd_request *r, const char *m)
{
    return r->method && strcmp(r->method, m) == 0;
}

void wsd_file_plan_make(const wsd_request *r, const char *path, uint64_t size, time_t mtime,
                        time_t now, wsd_file_plan *plan)
{
    int get = method_is(r, "GET"), head = method_is(r, "HEAD");
    const wsd_http_header *inm = wsd_http_get(r, "If-None-Match");
    const wsd_http_header *ims = wsd_http_get(r, "If-Modified-Since");
    const wsd_http_header *range = wsd_http_get(r, "Range");
    const wsd_http_header *ifr = wsd_http_get(r, "If-Range");

    memset(plan, 0, sizeof *plan);
    plan->size = size;
    plan->last_modified = mtime > now ? now : mtime;
    plan->content_type = wsd_mime_type(path);
    plan->status = 200;
    plan->length = size;

    if (get || head) {
        int not_modified = 0;
        if (inm) {
            /* no ETags here: only "*" (any current representation) matches */
            not_modified = inm->value_len == 1 && inm->value[0] == '*';
        } else if (ims) {
            not_modified = wsd_http_not_modified(ims->value, ims->value_len, plan->last_modified);
        }
        if (not_modified) {
            plan->status = 304;
            plan->length = 0;
            return;
        }
    }
    if (get && range) {
        uint64_t start = 0, len = 0;
        int use = 1, rc;
        if (ifr) {
            time_t t;
            use = wsd_http_date_parse(ifr->value, ifr->value_len, &t) == 0 &&
                  t == plan->last_modified;
        }
        rc = use ? wsd_http_range(range->value, range->value_len, size, &start, &len)
                 : WSD_RANGE_NONE;
        if (rc == WSD_RANGE_PARTIAL) {
            plan->status = 206;
            plan->offset = start;
            plan->length = len;
        } else if (rc == WSD_RANGE_UNSATISFIABLE) {
            plan->status = 416;
            plan->length = 0;
        }
    }
}

int wsd_file_response_head(wsd_str *out, const wsd_file_plan *p, time_t now, int keep_alive,
                           const wsd_header_list *extra1, const wsd_header_list *extra2)
{
    size_t len0 = out->len;
    char date[WSD_HTTP_DATE_SIZE], lm[WSD_HTTP_DATE_SIZE];
    int body = p->status == 200 || p->status == 206;
    int rc = 0;

    wsd_http_date(now, date);
    wsd_http_date(p->last_modified, lm);
    rc |= wsd_str_appendf(out, "HTTP/1.1 %d %s\r\n", p->status, wsd_http_reason(p->status));
    if (body)
        rc |= wsd_str_appends(out, "Accept-Ranges: bytes\r\n");
    if (p->status != 304)
        rc |= wsd_str_appendf(out, "Content-Length: %llu\r\n", (unsigned long long)p->length);
    if (p->status == 206)
        rc |= wsd_str_appendf(out, "Content-Range: bytes %llu-%llu/%llu\r\n",
                              (unsigned long long)p->offset,
                              (unsigned long long)(p->offset + p->length - 1),
                              (unsigned long long)p->size);
    if (p->status == 416)
        rc |= wsd_str_appendf(out, "Content-Range: bytes */%llu\r\n", (unsigned long long)p->size);
    if (body)
        rc |= wsd_str_appendf(out, "Content-Type: %s\r\n", p->content_type);
    rc |= wsd_str_appendf(out, "Date: %s\r\n", date);
    if (body || p->status == 304)
        rc |= wsd_str_appendf(out, "Last-Modified: %s\r\n", lm);
    if (!keep_alive)
        rc |= wsd_str_appends(out, "Connection: close\r\n");
    rc |= wsd_append_header_list(out, extra1);
    rc |= wsd_append_header_list(out, extra2);
    rc |= wsd_str_appends(out, "\r\n");
    if (rc) {
        wsd_str_truncate(out, len0);
        return -1;
    }
    return 0;
}
