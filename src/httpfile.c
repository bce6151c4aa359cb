/* httpfile.c — MIME types, HTTP dates, conditional and range requests and
 * the response head for static files (see httpfile.h). */
#include "httpfile.h"

#include <stdio.h>
#include <string.h>

static const char day_names[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const long_days[7] = {"Sunday", "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

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

const char *wsd_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "I'm a teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

/* ----------------------------------------------------------------- dates */

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1-12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

void wsd_http_date(time_t t, char out[WSD_HTTP_DATE_SIZE])
{
    int64_t s = (int64_t)t, days = s / 86400, rem = s % 86400, y;
    int m, d, wd;

    if (rem < 0) {
        rem += 86400;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    wd = (int)((days % 7 + 11) % 7);       /* 1970-01-01 was a Thursday */
    if (y < 0 || y > 9999) {               /* not representable: clamp */
        snprintf(out, WSD_HTTP_DATE_SIZE, "%s", y < 0 ? "Thu, 01 Jan 1970 00:00:00 GMT"
                                                     : "Fri, 31 Dec 9999 23:59:59 GMT");
        return;
    }
    snprintf(out, WSD_HTTP_DATE_SIZE, "%s, %02d %s %04d %02d:%02d:%02d GMT", day_names[wd], d,
             months[m - 1], (int)y, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}

/* Reads exactly `w` digits (w > 0); -1 if not digits. */
static int digits(const char *s, size_t w)
{
    int v = 0;
    size_t i;
    for (i = 0; i < w; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int month_of(const char *s)
{
    int i;
    for (i = 0; i < 12; i++) {
        if (memcmp(s, months[i], 3) == 0)
            return i + 1;
    }
    return 0;
}

/* "HH:MM:SS" at s → seconds, or -1. */
static long hms(const char *s)
{
    int h = digits(s, 2), m = digits(s + 3, 2), sec = digits(s + 6, 2);
    if (h < 0 || m < 0 || sec < 0 || s[2] != ':' || s[5] != ':' || h > 23 || m > 59 || sec > 59)
        return -1;
    return h * 3600L + m * 60L + sec;
}

static int valid_day(int y, int m, int d)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1] + (m == 2 && leap);
}

static int finish(int y, int m, int d, long secs, time_t *out)
{
    if (!valid_day(y, m, d) || secs < 0)
        return -1;
    *out = (time_t)(days_from_civil(y, m, d) * 86400 + secs);
    return 0;
}

int wsd_http_date_parse(const char *s, size_t n, time_t *out)
{
    int i, y, m, d;
    long t;

    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    if (n == 29 && s[3] == ',') {
        for (i = 0; i < 7 && memcmp(s, day_names[i], 3) != 0; i++)
            ;
        if (i == 7 || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
            memcmp(s + 25, " GMT", 4) != 0)
            return -1;
        d = digits(s + 5, 2);
        m = month_of(s + 8);
        y = digits(s + 12, 4);
        t = hms(s + 17);
        if (d < 0 || !m || y < 0)
            return -1;
        return finish(y, m, d, t, out);
    }
    /* asctime: "Sun Nov  6 08:49:37 1994" */
    if (n == 24 && s[3] == ' ') {
        for (i = 0; i < 7 && memcmp(s, day_names[i], 3) != 0; i++)
            ;
        if (i == 7 || s[7] != ' ' || s[10] != ' ' || s[19] != ' ')
            return -1;
        m = month_of(s + 4);
        d = s[8] == ' ' ? digits(s + 9, 1) : digits(s + 8, 2);
        t = hms(s + 11);
        y = digits(s + 20, 4);
        if (!m || d < 0 || y < 0)
            return -1;
        return finish(y, m, d, t, out);
    }
    /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
    for (i = 0; i < 7; i++) {
        size_t dl = strlen(long_days[i]);
        const char *p;
        if (n != dl + 24 || memcmp(s, long_days[i], dl) != 0)
            continue;
        p = s + dl;
        if (p[0] != ',' || p[1] != ' ' || p[4] != '-' || p[8] != '-' || p[11] != ' ' ||
            memcmp(p + 20, " GMT", 4) != 0)
            return -1;
        d = digits(p + 2, 2);
        m = month_of(p + 5);
        y = digits(p + 9, 2);
        t = hms(p + 12);
        if (d < 0 || !m || y < 0)
            return -1;
        y += y >= 69 ? 1900 : 2000;
        return finish(y, m, d, t, out);
    }
    return -1;
}

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

int wsd_append_header_list(wsd_str *out, const wsd_header_list *l)
{
    size_t i;
    for (i = 0; l && i < l->n; i++) {
        if (wsd_str_appendf(out, "%s: %s\r\n", l->v[i].name, l->v[i].value ? l->v[i].value : "") < 0)
            return -1;
    }
    return 0;
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
    rc |= wsd_str_appendf(out, "HTTP/1.1 %d %s\r\n", p->status, wsd_status_text(p->status));
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
