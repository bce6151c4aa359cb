/* fuzz_proxyproto.c — libFuzzer harness for the PROXY protocol v1/v2 header
 * parser (src/proxyproto.c).
 *
 * Input: [cut] bytes... — the first bytes of a connection. They are fed
 * whole, in two pieces split where `cut` says, and byte by byte (up to 4 KiB);
 * every way must give the same result (status, bytes consumed, the parsed
 * addresses). Invariants: consumed <= given; MORE consumes everything and
 * holds at most WSD_PROXY_MAX bytes; DONE ends on the header's last byte
 * (LF for v1), within 107 bytes for v1 and 16 + 2048 for v2; ports 0..65535;
 * a non-local result has NUL-terminated addresses that parse as IP
 * addresses; ERROR has a reason; DONE and ERROR are sticky.
 *
 * Build and run: make fuzz-smoke-fuzz_proxyproto (see fuzz/README.md). */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do {                                                        \
        if (!(c)) {                                                          \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            abort();                                                         \
        }                                                                    \
    } while (0)

typedef struct {
    int rc;
    size_t used;
    wsd_proxy_info info;
} result;

static result feed(const uint8_t *d, size_t n, const size_t *cuts, size_t ncuts)
{
    wsd_proxy_parser *p = malloc(sizeof *p);
    result r;
    size_t pos = 0, i;

    wsd_proxy_init(p);
    memset(&r, 0, sizeof r);
    r.rc = WSD_PROXY_MORE;
    for (i = 0; i <= ncuts && r.rc == WSD_PROXY_MORE; i++) {
        size_t end = i < ncuts ? cuts[i] : n, used = (size_t)-1;
        uint8_t *copy = malloc(end - pos + 1);       /* exact size: ASan sees overreads */
        memcpy(copy, d + pos, end - pos);
        r.rc = wsd_proxy_feed(p, copy, end - pos, &used);
        free(copy);
        CHECK(used <= end - pos);
        CHECK(r.rc == WSD_PROXY_MORE || r.rc == WSD_PROXY_DONE || r.rc == WSD_PROXY_ERROR);
        if (r.rc == WSD_PROXY_MORE) {
            CHECK(used == end - pos);
            CHECK(p->len <= WSD_PROXY_MAX);
        }
        r.used += used;
        pos = end;
    }
    if (r.rc != WSD_PROXY_MORE) {
        size_t used = 1;
        CHECK(wsd_proxy_feed(p, (const uint8_t *)"x", 1, &used) == r.rc && used == 0);
    }
    if (r.rc == WSD_PROXY_ERROR)
        CHECK(p->err && p->err[0]);
    r.info = p->info;
    free(p);
    return r;
}

static void check_done(const result *r, const uint8_t *d)
{
    uint8_t bin[16];
    if (r->rc != WSD_PROXY_DONE)
        return;
    CHECK(r->info.version == 1 || r->info.version == 2);
    if (r->info.version == 1) {
        CHECK(r->used <= WSD_PROXY_V1_MAX && d[r->used - 1] == '\n');
    } else {
        CHECK(r->used >= 16 && r->used <= WSD_PROXY_MAX);
    }
    if (!r->info.local) {
        CHECK(memchr(r->info.src, 0, sizeof r->info.src) && memchr(r->info.dst, 0, sizeof r->info.dst));
        CHECK(inet_pton(AF_INET, r->info.src, bin) == 1 || inet_pton(AF_INET6, r->info.src, bin) == 1);
        CHECK(inet_pton(AF_INET, r->info.dst, bin) == 1 || inet_pton(AF_INET6, r->info.dst, bin) == 1);
        CHECK(r->info.src_port >= 0 && r->info.src_port <= 65535);
        CHECK(r->info.dst_port >= 0 && r->info.dst_port <= 65535);
    }
}

static void same(const result *a, const result *b)
{
    CHECK(a->rc == b->rc && a->used == b->used);
    if (a->rc == WSD_PROXY_DONE)
        CHECK(memcmp(&a->info, &b->info, sizeof a->info) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *d;
    size_t n, cut;
    result whole, two;

    if (size < 1)
        return 0;
    d = data + 1;
    n = size - 1;
    cut = n ? (size_t)data[0] * (n + 1) / 256 : 0;
    whole = feed(d, n, NULL, 0);
    check_done(&whole, d);
    two = feed(d, n, &cut, 1);
    same(&whole, &two);
    if (n <= 4096) {
        size_t *cuts = malloc((n + 1) * sizeof *cuts), i;
        result bytes;
        for (i = 0; i + 1 < n; i++)
            cuts[i] = i + 1;
        bytes = feed(d, n, cuts, n ? n - 1 : 0);
        same(&whole, &bytes);
        free(cuts);
    }
    return 0;
}
