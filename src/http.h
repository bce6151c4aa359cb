/* http.h — one HTTP/1.1 request head, parsed with llhttp into a struct
 * wsd_request with hard limits; and what every response shares: reason
 * phrases, configured header lists, HTTP dates. Pure: no I/O.
 *
 * All strings of a request live in one arena of WSD_HTTP_MAX_HEAD bytes,
 * allocated by init and freed by wsd_http_free; header pointers point into it
 * and are NUL-terminated. */
#ifndef WSD_HTTP_H
#define WSD_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util.h"

#define WSD_HTTP_MAX_HEAD 16384      /* request line + headers, bytes → 431 */
#define WSD_HTTP_MAX_HEADERS 100     /* header fields → 431 */

typedef struct {
    const char *name;   /* as sent */
    size_t name_len;
    const char *value;  /* leading/trailing whitespace removed */
    size_t value_len;
} wsd_http_header;

typedef struct wsd_request {
    const char *method;        /* "GET", ... */
    const char *target;        /* request-target as sent: "/path?query" */
    size_t target_len;
    const char *path;          /* target up to '?' (raw, not decoded), NUL-terminated */
    const char *query;         /* after '?', "" if none, NUL-terminated */
    int http_major, http_minor;
    int upgrade;               /* llhttp saw Connection: upgrade + Upgrade */
    int keep_alive;            /* per HTTP version and Connection header */
    uint64_t content_length;   /* 0 if none */
    wsd_http_header headers[WSD_HTTP_MAX_HEADERS];
    size_t nheaders;
} wsd_request;

enum {
    WSD_HTTP_MORE = 0,     /* head not complete; feed more */
    WSD_HTTP_DONE = 1,     /* head complete: *consumed bytes belong to it */
    WSD_HTTP_ERROR = -1    /* bad request: see status and error */
};

typedef struct wsd_http_parser wsd_http_parser;

wsd_http_parser *wsd_http_parser_new(void);
void wsd_http_parser_free(wsd_http_parser *p);

/* Feeds data[0..len). Returns WSD_HTTP_MORE (all consumed), WSD_HTTP_DONE
 * when the request head is complete — *consumed is then the number of bytes
 * of data that belong to the head; the rest (a pipelined WebSocket frame, a
 * body) is the caller's — or WSD_HTTP_ERROR. After DONE or ERROR further
 * feeding is an error. */
int wsd_http_feed(wsd_http_parser *p, const char *data, size_t len, size_t *consumed);

/* After DONE: the request, owned by the parser. */
const wsd_request *wsd_http_request(const wsd_http_parser *p);

/* After ERROR: the HTTP status to answer (400, 431, 501, 505) and a short
 * static explanation for the body. */
int wsd_http_error_status(const wsd_http_parser *p);
const char *wsd_http_error_text(const wsd_http_parser *p);

/* The first header with this name (case-insensitive), or NULL. */
const wsd_http_header *wsd_http_get(const wsd_request *r, const char *name);

/* ---- Responses: shared by the handshake, static files, CGI and the server. */

/* Standard reason phrase ("Not Found") for any status RFC 9110 defines (plus
 * 418, 429, 431, 451); "" if unknown. */
const char *wsd_http_reason(int status);

/* A response header configured by the user (--header, --header-ws,
 * --header-http): "Name: value". */
typedef struct {
    char *name;
    char *value;
} wsd_header_kv;

typedef struct {
    wsd_header_kv *v;
    size_t n;
} wsd_header_list;

/* Appends "Name: value\r\n" for each entry of l (NULL = none; a NULL value
 * is empty). Returns 0, or -1 if out's limit was hit (out may then hold
 * part of the list: callers undo with wsd_str_truncate). */
int wsd_append_header_list(wsd_str *out, const wsd_header_list *l);

/* IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters + NUL),
 * locale-independent; years outside 0..9999 are clamped to the first or
 * last representable second. */
#define WSD_HTTP_DATE_SIZE 30
void wsd_http_date(time_t t, char out[WSD_HTTP_DATE_SIZE]);

/* Parses an HTTP-date: IMF-fixdate, RFC 850 ("Sunday, 06-Nov-94 08:49:37
 * GMT"; two-digit years 69-99 → 19xx, 00-68 → 20xx, as Go) or asctime
 * ("Sun Nov  6 08:49:37 1994"). Returns 0 and *out, or -1. */
int wsd_http_date_parse(const char *s, size_t n, time_t *out);

/* ---- URLs */

/* Percent-decodes s[0..n) into out (capacity ≥ n + 1, NUL-terminated).
 * Returns the decoded length, or -1 on a malformed escape or a decoded NUL. */
long wsd_http_url_decode(const char *s, size_t n, char *out);

#endif
