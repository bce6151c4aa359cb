/* http.c — one HTTP/1.1 request head, parsed with llhttp (see http.h).
 *
 * llhttp delivers the request line and headers through span callbacks that
 * may fire several times per element when the input arrives in pieces; every
 * span is appended to a fixed arena, and each element is NUL-terminated when
 * llhttp reports it complete. on_headers_complete pauses the parser, so the
 * position llhttp reports is exactly the first byte after the blank line,
 * whatever follows (a body, a pipelined WebSocket frame) and whether or not
 * llhttp considers the request an upgrade.
 *
 * Status choices (websocketd/Go answers differ in places; see the notes):
 *   - head > WSD_HTTP_MAX_HEAD bytes or > WSD_HTTP_MAX_HEADERS fields → 431;
 *   - a method llhttp does not know → 400 "unknown method" (llhttp only knows
 *     a fixed list, and garbage such as a TLS ClientHello fails the same way,
 *     so 501 would often be wrong; Go would accept any token);
 *   - HTTP versions other than 1.0/1.1 (0.9, 1.2, 2.0, ...) → 505; the
 *     HTTP/2 prior-knowledge preface "PRI * HTTP/2.0" → 505 (Go: 400);
 *   - obs-fold (a header line starting with SP/HTAB) → 400 (Go accepts);
 *   - a bare CR anywhere in the head → 400 (see find_bad_byte);
 *   - whitespace before the colon, empty field names → 400;
 *   - HTTP/1.1 without Host, several Host fields, or a Host value with a
 *     byte no uri-host[:port] has → 400, as Go;
 *   - Transfer-Encoding / Content-Length are llhttp's business up to the
 *     head; the body itself is never parsed.
 *
 * path: for an absolute-form target ("http://host/p?q", RFC 9112 §3.2.2) the
 * path is the path component ("/p", "/" when empty), as Go's URL.Path;
 * otherwise the target up to '?'. */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "util.h"

/* Worst case, the arena holds the target, a copy of its path part and every
 * header name and value with a NUL each: less than twice the head. It starts
 * small and doubles up to that (a browser's handshake fits in 1 KiB): a
 * fixed 32 KiB per connection in its handshake cost RSS through heap
 * fragmentation (docs/performance.md). */
#define ARENA_CAP (2 * WSD_HTTP_MAX_HEAD + 64)
#define ARENA_FIRST 1024

enum { ST_RUNNING, ST_DONE, ST_ERROR };
enum { EL_NONE, EL_URL, EL_FIELD, EL_AFTER_FIELD, EL_VALUE };

struct wsd_http_parser {
    llhttp_t ll;
    llhttp_settings_t settings;
    wsd_request req;
    char *arena;
    size_t alen, acap;

    int state;
    int status;
    const char *text;

    size_t total;          /* head bytes consumed by earlier feeds */
    char prev;             /* the last of them */

    int el;                /* element being built */
    size_t el_start;       /* its arena offset */
    int url_done;
    int version_seen;
};

static int fail(wsd_http_parser *p, int status, const char *text)
{
    if (p->status == 0) {
        p->status = status;
        p->text = text;
    }
    llhttp_set_error_reason(&p->ll, text);
    return HPE_USER;
}

/* Moves a pointer into the old arena to the same offset in the new one. */
static void rebase(const char **ptr, uintptr_t old, size_t oldcap, char *arena)
{
    uintptr_t v = (uintptr_t)*ptr;
    if (*ptr && v - old < oldcap)
        *ptr = arena + (v - old);
}

/* Makes room for k more bytes (up to ARENA_CAP), keeping every pointer the
 * request holds into the arena valid. */
static void arena_reserve(wsd_http_parser *p, size_t k)
{
    size_t cap = p->acap, i;
    uintptr_t old = (uintptr_t)p->arena;
    wsd_request *r = &p->req;

    if (k <= cap - p->alen || cap == ARENA_CAP)
        return;
    while (cap - p->alen < k && cap < ARENA_CAP)
        cap = cap * 2 > ARENA_CAP ? ARENA_CAP : cap * 2;
    p->arena = xrealloc(p->arena, cap);
    if ((uintptr_t)p->arena != old) {
        rebase(&r->target, old, p->acap, p->arena);
        rebase(&r->path, old, p->acap, p->arena);
        rebase(&r->query, old, p->acap, p->arena);
        for (i = 0; i < r->nheaders; i++) {
            rebase(&r->headers[i].name, old, p->acap, p->arena);
            rebase(&r->headers[i].value, old, p->acap, p->arena);
        }
        if (r->nheaders < WSD_HTTP_MAX_HEADERS)
            rebase(&r->headers[r->nheaders].name, old, p->acap, p->arena);  /* being built */
    }
    p->acap = cap;
}

static int arena_put(wsd_http_parser *p, const char *s, size_t n)
{
    if (n > ARENA_CAP - p->alen)
        return -1;
    arena_reserve(p, n);
    memcpy(p->arena + p->alen, s, n);
    p->alen += n;
    return 0;
}

static int arena_nul(wsd_http_parser *p)
{
    return arena_put(p, "", 1);
}

static wsd_http_parser *P(llhttp_t *ll)
{
    return ll->data;
}

/* ---- request line ------------------------------------------------------ */

static int on_url(llhttp_t *ll, const char *at, size_t n)
{
    wsd_http_parser *p = P(ll);
    if (p->el != EL_URL) {
        p->el = EL_URL;
        p->el_start = p->alen;
    }
    if (arena_put(p, at, n) < 0)
        return fail(p, 431, "request header fields too large");
    return 0;
}

static int is_scheme_char(int c, int first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return !first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

/* Finishes the target: NUL-terminates it and splits path and query. */
static int url_finish(wsd_http_parser *p)
{
    wsd_request *r = &p->req;
    const char *t, *q, *ps, *pe;
    size_t n, i;

    if (p->url_done)
        return 0;
    p->url_done = 1;
    if (p->el != EL_URL) {        /* llhttp never sent a byte of it */
        p->el = EL_URL;
        p->el_start = p->alen;
    }
    n = p->alen - p->el_start;
    /* room for the NUL and a copy of the path now: the pointers below
     * must not move */
    arena_reserve(p, n + 2 <= ARENA_CAP - p->alen ? n + 2 : ARENA_CAP - p->alen);
    if (arena_nul(p) < 0)
        return fail(p, 431, "request header fields too large");
    p->el = EL_NONE;
    t = p->arena + p->el_start;
    r->target = t;
    r->target_len = n;

    q = memchr(t, '?', n);
    pe = q ? q : t + n;
    r->query = q ? q + 1 : t + n;   /* both NUL-terminated by the target's NUL */
    ps = t;

    /* absolute-form: scheme "://" authority [path] */
    for (i = 0; i < n && is_scheme_char((unsigned char)t[i], i == 0); i++)
        ;
    if (i > 0 && i + 3 <= (size_t)(pe - t) && memcmp(t + i, "://", 3) == 0) {
        ps = t + i + 3;
        while (ps < pe && *ps != '/')
            ps++;
        if (ps == pe) {
            r->path = "/";
            return 0;
        }
    }
    if (!q && ps == t) {
        r->path = t;
        return 0;
    }
    r->path = p->arena + p->alen;
    if (arena_put(p, ps, (size_t)(pe - ps)) < 0 || arena_nul(p) < 0)
        return fail(p, 431, "request header fields too large");
    return 0;
}

static int on_url_complete(llhttp_t *ll)
{
    return url_finish(P(ll));
}

static int version_ok(const llhttp_t *ll)
{
    return ll->http_major == 1 && (ll->http_minor == 0 || ll->http_minor == 1);
}

static int on_version_complete(llhttp_t *ll)
{
    wsd_http_parser *p = P(ll);
    p->version_seen = 1;
    if (!version_ok(ll))
        return fail(p, 505, "unsupported HTTP version");
    return 0;
}

/* ---- headers ----------------------------------------------------------- */

/* The header count is checked in on_header_field_complete, not here: span
 * callbacks fire wherever the input happens to be cut, so a check here made
 * the verdict on a 101st line without a colon depend on the chunking (431
 * when the cut fell inside the name, llhttp's 400 otherwise). */
static int begin_header(wsd_http_parser *p)
{
    p->el = EL_FIELD;
    p->el_start = p->alen;
    return 0;
}

static int on_header_field(llhttp_t *ll, const char *at, size_t n)
{
    wsd_http_parser *p = P(ll);
    int rc;
    if (p->el != EL_FIELD && (rc = begin_header(p)) != 0)
        return rc;
    if (arena_put(p, at, n) < 0)
        return fail(p, 431, "request header fields too large");
    return 0;
}

static int on_header_field_complete(llhttp_t *ll)
{
    wsd_http_parser *p = P(ll);
    wsd_http_header *h = &p->req.headers[p->req.nheaders];
    size_t i, n;
    int rc;

    if (p->el != EL_FIELD && (rc = begin_header(p)) != 0)
        return rc;
    if (p->req.nheaders >= WSD_HTTP_MAX_HEADERS)
        return fail(p, 431, "too many header fields");
    n = p->alen - p->el_start;
    if (n == 0)
        return fail(p, 400, "invalid header name");
    for (i = 0; i < n; i++)
        if (!wsd_is_tchar((unsigned char)p->arena[p->el_start + i]))
            return fail(p, 400, "invalid header name");
    if (arena_nul(p) < 0)
        return fail(p, 431, "request header fields too large");
    h->name = p->arena + p->el_start;
    h->name_len = n;
    p->el = EL_AFTER_FIELD;
    return 0;
}

static void begin_value(wsd_http_parser *p)
{
    p->el = EL_VALUE;
    p->el_start = p->alen;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t n)
{
    wsd_http_parser *p = P(ll);

    if (n == 0)
        return 0;
    if (p->el == EL_AFTER_FIELD)
        begin_value(p);
    else if (p->el != EL_VALUE)
        return fail(p, 400, "invalid header");
    if (arena_put(p, at, n) < 0)
        return fail(p, 431, "request header fields too large");
    return 0;
}

static int on_header_value_complete(llhttp_t *ll)
{
    wsd_http_parser *p = P(ll);
    wsd_http_header *h = &p->req.headers[p->req.nheaders];
    char *v;
    size_t n;

    if (p->el == EL_AFTER_FIELD)
        begin_value(p);
    else if (p->el != EL_VALUE)
        return fail(p, 400, "invalid header");
    v = p->arena + p->el_start;
    n = p->alen - p->el_start;
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    {
        size_t lead = 0;
        while (lead < n && (v[lead] == ' ' || v[lead] == '\t'))
            lead++;
        if (lead) {
            memmove(v, v + lead, n - lead);
            n -= lead;
        }
    }
    p->alen = p->el_start + n;
    if (arena_nul(p) < 0)
        return fail(p, 431, "request header fields too large");
    v = p->arena + p->el_start;     /* the NUL may have moved the arena */
    h->value = v;
    h->value_len = n;
    p->req.nheaders++;
    p->el = EL_NONE;
    return 0;
}

/* Go's httpguts.ValidHostHeader: a Host value holds only the bytes a
 * uri-host[:port] can (RFC 3986: unreserved, sub-delims, pct-encoded, ':'
 * and the brackets of an IPv6 literal). "a b", "a/b", "a@b" → 400. */
static int host_ok(const char *v, size_t n)
{
    static const char extra[] = "!$%&'()*+,-.:;=[]_~";
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c && strchr(extra, c))))
            return 0;
    }
    return 1;
}

static int on_headers_complete(llhttp_t *ll)
{
    wsd_http_parser *p = P(ll);
    wsd_request *r = &p->req;
    size_t i, nhost = 0;
    int rc;

    if ((rc = url_finish(p)) != 0)
        return rc;
    if (!version_ok(ll))
        return fail(p, 505, "unsupported HTTP version");
    for (i = 0; i < r->nheaders; i++) {
        if (wsd_strncaseeq(r->headers[i].name, r->headers[i].name_len, "Host")) {
            nhost++;
            if (!host_ok(r->headers[i].value, r->headers[i].value_len))
                return fail(p, 400, "malformed Host header");
        }
    }
    if (nhost > 1)
        return fail(p, 400, "too many Host headers");
    if (nhost == 0 && ll->http_minor == 1 && ll->method != HTTP_CONNECT)
        return fail(p, 400, "missing required Host header");

    r->method = llhttp_method_name((llhttp_method_t)ll->method);
    r->http_major = ll->http_major;
    r->http_minor = ll->http_minor;
    r->upgrade = ll->upgrade != 0;
    r->keep_alive = llhttp_should_keep_alive(ll) != 0;
    r->content_length = (ll->flags & F_CONTENT_LENGTH) ? ll->content_length : 0;
    return HPE_PAUSED;
}

/* ---- API --------------------------------------------------------------- */

wsd_http_parser *wsd_http_parser_new(void)
{
    wsd_http_parser *p = xcalloc(1, sizeof *p);
    p->arena = xmalloc(ARENA_FIRST);
    p->acap = ARENA_FIRST;
    llhttp_settings_init(&p->settings);
    p->settings.on_url = on_url;
    p->settings.on_url_complete = on_url_complete;
    p->settings.on_version_complete = on_version_complete;
    p->settings.on_header_field = on_header_field;
    p->settings.on_header_field_complete = on_header_field_complete;
    p->settings.on_header_value = on_header_value;
    p->settings.on_header_value_complete = on_header_value_complete;
    p->settings.on_headers_complete = on_headers_complete;
    llhttp_init(&p->ll, HTTP_REQUEST, &p->settings);
    p->ll.data = p;
    p->req.query = "";
    p->state = ST_RUNNING;
    return p;
}

void wsd_http_parser_free(wsd_http_parser *p)
{
    if (!p)
        return;
    free(p->arena);
    free(p);
}

static int map_error(wsd_http_parser *p, llhttp_errno_t err)
{
    const llhttp_t *ll = &p->ll;

    switch (err) {
    case HPE_INVALID_METHOD:
        return fail(p, 400, "unknown method");
    case HPE_INVALID_URL:
        return fail(p, 400, "malformed request target");
    case HPE_INVALID_VERSION:
        /* "HTTP/d.d" well-formed but unsupported → 505; malformed → 400. */
        if (!p->version_seen &&
            !(ll->http_major == 0 && ll->http_minor == 0) && !version_ok(ll))
            return fail(p, 505, "unsupported HTTP version");
        return fail(p, 400, "malformed request line");
    case HPE_PAUSED_H2_UPGRADE:
        return fail(p, 505, "HTTP/2 is not supported");
    case HPE_INVALID_HEADER_TOKEN:
        return fail(p, 400, "invalid header");
    case HPE_INVALID_CONTENT_LENGTH:
    case HPE_UNEXPECTED_CONTENT_LENGTH:
        return fail(p, 400, "invalid Content-Length");
    case HPE_INVALID_TRANSFER_ENCODING:
        return fail(p, 400, "invalid Transfer-Encoding");
    case HPE_INVALID_CONSTANT:
    case HPE_STRICT:
    case HPE_CR_EXPECTED:
    case HPE_LF_EXPECTED:
    case HPE_UNEXPECTED_SPACE:
        if (!p->version_seen)
            return fail(p, 400, "malformed request line");
        return fail(p, 400, "malformed header");
    default:
        return fail(p, 400, "bad request");
    }
}

/* llhttp (non-strict build) is lenient where wsd must not be; two byte-level
 * rules are checked here before llhttp sees the bytes:
 *   - obs-fold: a line starting with SP or HTAB (llhttp silently joins it to
 *     the previous value, or to nothing after an empty one);
 *   - a bare CR: llhttp takes any byte after the CR of the blank line (and of
 *     an empty header value) as its LF, swallowing e.g. the first byte of a
 *     pipelined frame (RFC 9112 §2.2 lets a recipient reject bare CRs).
 * Returns the offset in data[0..n) of the first offending byte, or n, and
 * the problem in *why. */
static size_t find_bad_byte(const wsd_http_parser *p, const char *data, size_t n,
                            const char **why)
{
    size_t i;
    char prev = p->prev;
    for (i = 0; i < n; i++) {
        if (prev == '\r' && data[i] != '\n') {
            *why = "bare CR in request head";
            return i;
        }
        if (prev == '\n' && (data[i] == ' ' || data[i] == '\t')) {
            *why = "obsolete line folding in header";
            return i;
        }
        prev = data[i];
    }
    return n;
}

int wsd_http_feed(wsd_http_parser *p, const char *data, size_t len, size_t *consumed)
{
    size_t room, n, good, used;
    const char *why = NULL;
    llhttp_errno_t err;

    if (consumed)
        *consumed = 0;
    if (p->state != ST_RUNNING)     /* misuse: the state is left as is */
        return WSD_HTTP_ERROR;
    if (len == 0)
        return WSD_HTTP_MORE;

    room = WSD_HTTP_MAX_HEAD - p->total;
    n = len < room ? len : room;
    good = find_bad_byte(p, data, n, &why);
    err = good ? llhttp_execute(&p->ll, data, good) : HPE_OK;

    if (err == HPE_OK) {
        p->total += good;
        if (good > 0)
            p->prev = data[good - 1];
        p->state = ST_ERROR;
        if (good < n) {
            fail(p, 400, why);
            if (consumed)
                *consumed = good;
            return WSD_HTTP_ERROR;
        }
        if (p->total >= WSD_HTTP_MAX_HEAD) {
            /* the head needs at least one more byte: too large */
            fail(p, 431, "request header fields too large");
            if (consumed)
                *consumed = good;
            return WSD_HTTP_ERROR;
        }
        p->state = ST_RUNNING;
        if (consumed)
            *consumed = len;
        return WSD_HTTP_MORE;
    }

    used = llhttp_get_error_pos(&p->ll) ? (size_t)(llhttp_get_error_pos(&p->ll) - data) : 0;
    if (used > good)
        used = good;
    if (err == HPE_PAUSED && p->status == 0) {
        p->total += used;
        p->state = ST_DONE;
        if (consumed)
            *consumed = used;
        return WSD_HTTP_DONE;
    }
    if (err != HPE_USER || p->status == 0)
        map_error(p, err);
    p->state = ST_ERROR;
    if (consumed)
        *consumed = used;
    return WSD_HTTP_ERROR;
}

const wsd_request *wsd_http_request(const wsd_http_parser *p)
{
    return &p->req;
}

int wsd_http_error_status(const wsd_http_parser *p)
{
    return p->state == ST_ERROR ? p->status : 0;
}

const char *wsd_http_error_text(const wsd_http_parser *p)
{
    return p->state == ST_ERROR && p->text ? p->text : "";
}

const wsd_http_header *wsd_http_get(const wsd_request *r, const char *name)
{
    size_t i;
    for (i = 0; i < r->nheaders; i++)
        if (wsd_strncaseeq(r->headers[i].name, r->headers[i].name_len, name))
            return &r->headers[i];
    return NULL;
}

/* ---- responses ----------------------------------------------------------- */

const char *wsd_http_reason(int status)
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

int wsd_append_header_list(wsd_str *out, const wsd_header_list *l)
{
    size_t i;
    for (i = 0; l && i < l->n; i++) {
        const char *v = l->v[i].value ? l->v[i].value : "";
        if (wsd_str_appendf(out, "%s: %s\r\n", l->v[i].name, v) < 0)
            return -1;
    }
    return 0;
}

/* ---- dates --------------------------------------------------------------- */

static const char day_names[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const long_days[7] = {"Sunday", "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

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

/* ---- URLs ---------------------------------------------------------------- */

long wsd_http_url_decode(const char *s, size_t n, char *out)
{
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (n - i < 3)
                return -1;
            hi = wsd_hexval((unsigned char)s[i + 1]);
            lo = wsd_hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (long)o;
}
