/* fuzz_http.c — libFuzzer harness for the request-head parser and the
 * WebSocket handshake checks.
 *
 * The input is a byte stream as a client would send it. It is fed whole, in
 * two pieces split at a point chosen from the first byte, in three pieces,
 * and (when short) byte by byte; every way must give the same answer, and on
 * DONE the request is classified by wsd_handshake_check and the responses
 * are built. Any broken invariant aborts.
 *
 * Build and run (see fuzz/README.md):
 *   clang -g -O1 -std=c11 -D_GNU_SOURCE -Isrc -I/usr/share/include/llhttp \
 *     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *     -o build/fuzz/fuzz_http fuzz/fuzz_http.c src/http.c src/handshake.c \
 *     src/util.c /usr/share/llhttp/{api,http,llhttp}.c -lcrypto
 *   build/fuzz/fuzz_http -dict=fuzz/http.dict -max_total_time=60 -max_len=20000 \
 *     build/fuzz/corpus-http fuzz/corpus/http
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handshake.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond,       \
                    __FILE__, __LINE__);                                   \
            abort();                                                       \
        }                                                                  \
    } while (0)

typedef struct {
    wsd_http_parser *p;
    int rc;
    size_t consumed;
} run;

/* Feeds data in pieces ending at cuts[] (then at size). */
static void feed(run *r, const char *data, size_t size, const size_t *cuts, size_t ncuts)
{
    size_t pos = 0, i;

    r->p = wsd_http_parser_new();
    r->rc = WSD_HTTP_MORE;
    r->consumed = 0;
    for (i = 0; i <= ncuts && r->rc == WSD_HTTP_MORE; i++) {
        size_t end = i < ncuts ? cuts[i] : size, used = (size_t)-1;
        CHECK(end >= pos && end <= size);
        r->rc = wsd_http_feed(r->p, data + pos, end - pos, &used);
        CHECK(r->rc == WSD_HTTP_MORE || r->rc == WSD_HTTP_DONE || r->rc == WSD_HTTP_ERROR);
        CHECK(used <= end - pos);
        if (r->rc == WSD_HTTP_MORE)
            CHECK(used == end - pos);
        r->consumed += used;
        pos = end;
    }
    if (r->rc != WSD_HTTP_MORE) {
        size_t used = 0;
        /* further feeding is an error and changes nothing */
        CHECK(wsd_http_feed(r->p, "x", 1, &used) == WSD_HTTP_ERROR);
    }
}

static int is_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The arena is private; what is visible: every string NUL-terminated where
 * its length says, in arena order, within twice the head size. */
static void check_request(const wsd_request *q, const char *data, size_t consumed)
{
    const char *lo, *hi;
    size_t i, j;

    CHECK(consumed > 0 && consumed <= WSD_HTTP_MAX_HEAD);
    CHECK(data[consumed - 1] == '\n');
    CHECK(q->method && q->method[0]);
    CHECK(q->target && q->target[q->target_len] == '\0');
    CHECK(strlen(q->target) == q->target_len);
    CHECK(q->target_len > 0 && q->target_len < consumed);
    CHECK(q->path && q->query);
    CHECK(strlen(q->path) <= q->target_len && strlen(q->query) < q->target_len);
    CHECK(!strchr(q->path, '?'));
    CHECK(q->http_major == 1 && (q->http_minor == 0 || q->http_minor == 1));
    CHECK(q->upgrade == 0 || q->upgrade == 1);
    CHECK(q->keep_alive == 0 || q->keep_alive == 1);
    CHECK(q->nheaders <= WSD_HTTP_MAX_HEADERS);
    lo = q->target;
    hi = q->target + q->target_len + 1;
    for (i = 0; i < q->nheaders; i++) {
        const wsd_http_header *h = &q->headers[i];
        CHECK(h->name && h->value);
        CHECK(h->name_len > 0 && strlen(h->name) == h->name_len);
        CHECK(strlen(h->value) == h->value_len);
        for (j = 0; j < h->name_len; j++)
            CHECK(is_tchar((unsigned char)h->name[j]));
        for (j = 0; j < h->value_len; j++)
            CHECK(h->value[j] != '\r' && h->value[j] != '\n');
        if (h->value_len) {
            CHECK(h->value[0] != ' ' && h->value[0] != '\t');
            CHECK(h->value[h->value_len - 1] != ' ' && h->value[h->value_len - 1] != '\t');
        }
        CHECK(h->name >= hi);
        CHECK(h->value > h->name + h->name_len);
        hi = h->value + h->value_len + 1;
        CHECK(wsd_http_get(q, h->name) != NULL);
    }
    CHECK((size_t)(hi - lo) <= 2 * WSD_HTTP_MAX_HEAD + 64);
    /* the bytes of the head are in the input */
    CHECK(memchr(data, q->target[0], consumed) != NULL);
}

static void same(const run *a, const run *b, const char *data)
{
    CHECK(a->rc == b->rc);
    if (a->rc == WSD_HTTP_ERROR) {
        CHECK(wsd_http_error_status(a->p) == wsd_http_error_status(b->p));
        CHECK(strcmp(wsd_http_error_text(a->p), wsd_http_error_text(b->p)) == 0);
    } else if (a->rc == WSD_HTTP_DONE) {
        const wsd_request *x = wsd_http_request(a->p), *y = wsd_http_request(b->p);
        size_t i;
        CHECK(a->consumed == b->consumed);
        CHECK(strcmp(x->method, y->method) == 0);
        CHECK(x->target_len == y->target_len && memcmp(x->target, y->target, x->target_len) == 0);
        CHECK(strcmp(x->path, y->path) == 0 && strcmp(x->query, y->query) == 0);
        CHECK(x->http_major == y->http_major && x->http_minor == y->http_minor);
        CHECK(x->upgrade == y->upgrade && x->keep_alive == y->keep_alive);
        CHECK(x->content_length == y->content_length);
        CHECK(x->nheaders == y->nheaders);
        for (i = 0; i < x->nheaders; i++) {
            CHECK(x->headers[i].name_len == y->headers[i].name_len);
            CHECK(memcmp(x->headers[i].name, y->headers[i].name, x->headers[i].name_len) == 0);
            CHECK(x->headers[i].value_len == y->headers[i].value_len);
            CHECK(memcmp(x->headers[i].value, y->headers[i].value, x->headers[i].value_len) == 0);
        }
    }
    (void)data;
}

static void check_handshake(const wsd_request *q)
{
    static wsd_header_kv kv[] = {{"X-Extra", "1"}};
    static const wsd_header_list extra = {kv, 1};
    wsd_handshake hs;
    wsd_str out;
    int rc = wsd_handshake_check(q, &hs);
    char *buf;
    long n;

    CHECK(rc == WSD_HS_OK || rc == WSD_HS_NOT_WEBSOCKET || rc == WSD_HS_BAD);
    if (rc == WSD_HS_BAD) {
        CHECK(hs.status == 400 || hs.status == 405 || hs.status == 426);
        CHECK(hs.text && hs.text[0]);
        wsd_str_init(&out, 1024);
        CHECK(wsd_response_simple(&out, hs.status, hs.text, 1, &extra, NULL) == 0);
        CHECK(out.len > 4 && strstr(out.s, "\r\n\r\n") != NULL);
        wsd_str_free(&out);
    } else if (rc == WSD_HS_OK) {
        static const char *const protos[3] = {"chat", "superchat", "v2.wsd"};
        const wsd_http_header *k = wsd_http_get(q, "Sec-WebSocket-Key");
        const char *proto;
        char acc[29];
        CHECK(k && k->value_len == 24);
        CHECK(strlen(hs.accept) == 28);
        wsd_handshake_accept(k->value, k->value_len, acc);
        CHECK(strcmp(acc, hs.accept) == 0);
        CHECK(strcmp(q->method, "GET") == 0);
        /* the subprotocol chosen is one of ours, or none */
        proto = wsd_handshake_subprotocol(q, (char *const *)protos, 3);
        CHECK(proto == NULL || proto == protos[0] || proto == protos[1] || proto == protos[2]);
        CHECK(wsd_handshake_subprotocol(q, (char *const *)protos, 0) == NULL);
        wsd_str_init(&out, 512);
        CHECK(wsd_response_101(&out, hs.accept, proto, "permessage-deflate", &extra, &extra) == 0);
        CHECK(out.len > 4 && strcmp(out.s + out.len - 4, "\r\n\r\n") == 0);
        CHECK(!proto || strstr(out.s, "Sec-WebSocket-Protocol: ") != NULL);
        wsd_str_free(&out);
        wsd_str_init(&out, 64);
        CHECK(wsd_response_101(&out, hs.accept, NULL, NULL, NULL, NULL) == -1);
        CHECK(out.len == 0);
        wsd_str_free(&out);
    }
    buf = malloc(strlen(q->path) + 1);
    n = wsd_http_url_decode(q->path, strlen(q->path), buf);
    CHECK(n >= -1 && (n < 0 || (size_t)n <= strlen(q->path)));
    if (n >= 0)
        CHECK(strlen(buf) == (size_t)n);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *d = (const char *)data;
    run whole, split, three, bytes;
    size_t cut, cuts3[2];

    if (size == 0)
        return 0;
    cut = (size_t)data[0] * (size + 1) / 256;
    cuts3[0] = cut / 2;
    cuts3[1] = size > 1 ? cut + (size - cut) * data[1] / 256 : cut;

    feed(&whole, d, size, NULL, 0);
    feed(&split, d, size, &cut, 1);
    feed(&three, d, size, cuts3, 2);
    same(&whole, &split, d);
    same(&whole, &three, d);
    if (size <= 2048) {
        size_t *cuts = malloc(size * sizeof *cuts), i;
        for (i = 0; i + 1 < size; i++)
            cuts[i] = i + 1;
        feed(&bytes, d, size, cuts, size - 1);
        same(&whole, &bytes, d);
        wsd_http_parser_free(bytes.p);
        free(cuts);
    }

    if (whole.rc == WSD_HTTP_ERROR) {
        int st = wsd_http_error_status(whole.p);
        CHECK(st == 400 || st == 431 || st == 501 || st == 505);
        CHECK(wsd_http_error_text(whole.p)[0] != '\0');
    } else if (whole.rc == WSD_HTTP_DONE) {
        check_request(wsd_http_request(whole.p), d, whole.consumed);
        check_handshake(wsd_http_request(whole.p));
    } else {
        CHECK(whole.consumed == size && size < WSD_HTTP_MAX_HEAD);
    }

    wsd_http_parser_free(whole.p);
    wsd_http_parser_free(split.p);
    wsd_http_parser_free(three.p);
    return 0;
}
