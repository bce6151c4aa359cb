/* fuzz_inflate.c — libFuzzer harness for src/pmd.c: the inflater and the
 * Sec-WebSocket-Extensions negotiation.
 *
 * Input layout:
 *   byte 0  bit 0: client_no_context_takeover; bits 1-3: client window 8 + v;
 *           bits 4-5: max_message 0 (unlimited), 1, 300, 70000;
 *           bits 6-7: output capacity 1, 7, 300, 16384
 *   byte 1  seed for the chunking
 *   rest    messages, each a 2-byte little-endian length and that many bytes
 *           of compressed payload (the last one takes what is left)
 *
 * Each message is inflated twice: by an inflater fed in random pieces
 * (empty ones included, each in an exact-size heap copy) with output buffers
 * of exactly the chosen capacity, and by one fed the whole payload with
 * 16 KiB buffers. Checked on every call: the output fits the buffer, input
 * only moves forward, NEED_INPUT comes only for a non-final chunk that is
 * used up, END only for a final one, errors are sticky and produce nothing,
 * the inflated size stays within max_message, the memory held stays under
 * 48 KiB (and is 0 between messages with no context takeover and after an
 * error). Both inflaters must agree on every message's status and bytes,
 * except for a stream that refers beyond its window (see below).
 * A message that inflates completely is deflated again and must round-trip.
 * Work per message is bounded by the harness (MAX_CALLS output-full calls,
 * MAX_OUTPUT bytes): past that, the runs are compared on their common prefix.
 *
 * The same bytes (after the first two) are also a Sec-WebSocket-Extensions
 * value for wsd_pmd_negotiate: an accepted offer gives parameters in range
 * and a NUL-terminated response that, offered back, is accepted with the
 * same parameters. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmd.h"

#define MEM_LIMIT (48 * 1024)

/* Work bound per message, the harness's own (not pmd.c's): a bomb under an
 * unlimited max_message inflated through 1-byte buffers is tens of millions
 * of calls, 14 s for one input. A run that reaches either bound stops with
 * STOP, and the two runs are then only compared as far as both got. */
#define STOP        100
#define MAX_CALLS   (128 * 1024)
#define MAX_OUTPUT  (2u << 20)

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_inflate: %s\n", what);
        abort();
    }
}

typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const uint8_t *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        check(b->p != NULL, "realloc");
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

static uint32_t rng;
static uint32_t next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

/* Inflates one message given in pieces; returns END or the error, appends
 * the plaintext to out. */
static int inflate_msg(wsd_pmd *p, const uint8_t *m, size_t n, size_t cap, int random_pieces,
                       buf *out)
{
    size_t pos = 0, calls = 0;
    uint8_t *o = malloc(cap);
    check(o != NULL, "malloc");
    for (;;) {
        size_t k = n - pos;
        uint8_t *copy;
        const uint8_t *in;
        size_t inlen;
        int fin;

        if (random_pieces && k > 0) {
            uint32_t r = next_rand();
            k = (r & 3) == 0 ? 0 : r % (k + 1);
        }
        fin = pos + k == n && (!random_pieces || (next_rand() & 1) || k > 0);
        copy = malloc(k ? k : 1);
        check(copy != NULL, "malloc");
        memcpy(copy, m + pos, k);
        in = copy;
        inlen = k;
        for (;;) {
            size_t got = (size_t)-1, before = inlen;
            int r = wsd_pmd_inflate(p, &in, &inlen, fin, o, cap, &got);
            check(got <= cap, "output over capacity");
            check(inlen <= before && in == copy + (k - inlen), "input moved backwards");
            check(wsd_pmd_memory(p) <= MEM_LIMIT, "inflater memory over 48 KiB");
            if (r < 0) {
                check(got == 0, "output with an error");
                check(r == WSD_PMD_E_DATA || r == WSD_PMD_E_TOO_BIG, "unexpected error");
                check(wsd_pmd_memory(p) == 0, "memory kept after an error");
                got = 1;
                check(wsd_pmd_inflate(p, &in, &inlen, fin, o, cap, &got) == r && got == 0,
                      "error not sticky");
                free(copy);
                free(o);
                return r;
            }
            put(out, o, got);
            if (p->max_message)
                check(out->n <= p->max_message, "message over max_message");
            if (r == WSD_PMD_OUTPUT) {
                check(got == cap, "OUTPUT without a full buffer");
                if (++calls >= MAX_CALLS || out->n >= MAX_OUTPUT) {
                    free(copy);
                    free(o);
                    return STOP;
                }
                continue;
            }
            if (r == WSD_PMD_NEED_INPUT) {
                check(!fin && inlen == 0, "NEED_INPUT with input left or at fin");
                break;
            }
            check(r == WSD_PMD_END, "unknown status");
            check(fin && inlen == 0, "END before the end");
            free(copy);
            free(o);
            return r;
        }
        free(copy);
        pos += k;
    }
}

static void round_trip(const buf *plain, int wbits)
{
    wsd_pmd tx, rx;
    wsd_pmd_config cfg;
    wsd_pmd_params pp = {0, 0, wbits, wbits};
    size_t cap = wsd_pmd_deflate_bound(plain->n), clen;
    uint8_t *c = malloc(cap);
    buf back = {0};

    check(c != NULL, "malloc");
    wsd_pmd_config_default(&cfg);
    wsd_pmd_init(&tx, &cfg, &pp, 0);
    wsd_pmd_init(&rx, &cfg, &pp, 0);
    check(wsd_pmd_deflate(&tx, plain->p, plain->n, 1, c, cap, &clen) == WSD_PMD_OK, "deflate");
    check(inflate_msg(&rx, c, clen, 16384, 0, &back) == WSD_PMD_END, "round trip status");
    check(back.n == plain->n && (back.n == 0 || memcmp(back.p, plain->p, back.n) == 0),
          "round trip bytes");
    wsd_pmd_free(&tx);
    wsd_pmd_free(&rx);
    free(c);
    free(back.p);
}

static void fuzz_negotiate(uint8_t cfgbyte, const uint8_t *d, size_t n)
{
    wsd_pmd_config cfg;
    wsd_pmd_params pp, pp2;
    char resp[WSD_PMD_RESPONSE_MAX], resp2[WSD_PMD_RESPONSE_MAX];
    char *v = malloc(n ? n : 1);
    const char *vals[1];
    size_t lens[1], rl;

    check(v != NULL, "malloc");
    memcpy(v, d, n);
    wsd_pmd_config_default(&cfg);
    cfg.server_max_window_bits = 8 + (cfgbyte & 7);
    cfg.client_max_window_bits = 8 + ((cfgbyte >> 3) & 7);
    cfg.server_no_context_takeover = (cfgbyte >> 6) & 1;
    cfg.client_no_context_takeover = cfgbyte >> 7;
    vals[0] = v;
    lens[0] = n;
    if (wsd_pmd_negotiate(&cfg, vals, lens, 1, &pp, resp)) {
        rl = strnlen(resp, sizeof resp);
        check(rl < sizeof resp && strncmp(resp, "permessage-deflate", 18) == 0, "response");
        check(pp.server_max_window_bits >= 8 && pp.server_max_window_bits <= cfg.server_max_window_bits &&
                  pp.client_max_window_bits >= 8 && pp.client_max_window_bits <= 15,
              "window bits out of range");
        check(pp.server_no_context_takeover >= cfg.server_no_context_takeover &&
                  pp.client_no_context_takeover >= cfg.client_no_context_takeover,
              "configured no_context_takeover not kept");
        vals[0] = resp;
        lens[0] = rl;
        check(wsd_pmd_negotiate(&cfg, vals, lens, 1, &pp2, resp2) == 1, "response not acceptable");
        check(memcmp(&pp, &pp2, sizeof pp) == 0 && strcmp(resp, resp2) == 0,
              "response re-negotiates differently");
    }
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t maxes[4] = {0, 1, 300, 70000};
    static const size_t caps[4] = {1, 7, 300, 16384};
    wsd_pmd_config cfg;
    wsd_pmd_params pp;
    wsd_pmd a, b;
    size_t pos = 2;
    int nct, cw, dead = 0;

    if (size < 2)
        return 0;
    fuzz_negotiate(data[0], data + 2, size - 2 > 1024 ? 1024 : size - 2);

    nct = data[0] & 1;
    cw = 8 + ((data[0] >> 1) & 7);
    rng = data[1];
    wsd_pmd_config_default(&cfg);
    pp.server_no_context_takeover = 0;
    pp.client_no_context_takeover = nct;
    pp.server_max_window_bits = 15;
    pp.client_max_window_bits = cw;
    wsd_pmd_init(&a, &cfg, &pp, maxes[(data[0] >> 4) & 3]);
    wsd_pmd_init(&b, &cfg, &pp, maxes[(data[0] >> 4) & 3]);

    while (pos < size && !dead) {
        size_t len = size - pos >= 2 ? (size_t)data[pos] | (size_t)data[pos + 1] << 8 : 0;
        buf oa = {0}, ob = {0};
        int ra, rb;

        pos += size - pos >= 2 ? 2 : size - pos;
        if (len > size - pos)
            len = size - pos;
        ra = inflate_msg(&a, data + pos, len, caps[data[0] >> 6], 1, &oa);
        rb = inflate_msg(&b, data + pos, len, 16384, 0, &ob);
        if (ra == STOP || rb == STOP) {
            /* One run hit the harness's work bound: what both produced
             * must agree as far as the shorter goes. */
            const buf *s = oa.n <= ob.n ? &oa : &ob, *l = s == &oa ? &ob : &oa;
            check(s->n == 0 || memcmp(s->p, l->p, s->n) == 0,
                  "pieces and whole disagree before the work bound");
            dead = 1;
        } else if (ra != rb) {
            /* Only one case may differ: a stream that refers farther back
             * than its window (invalid: RFC 7692 §7.1.2.2). zlib checks a
             * distance against the window plus what this inflate() call has
             * written, so such a stream fails when the referenced bytes are
             * no longer in the output buffer and passes when they still are:
             * it depends on where calls end. Either way nothing outside the
             * real history comes out: the failing side's bytes are a prefix
             * of the other side's. docs/fuzzing.md. */
            const buf *bad = ra == WSD_PMD_E_DATA ? &oa : &ob, *good = bad == &oa ? &ob : &oa;
            check((ra == WSD_PMD_E_DATA && rb == WSD_PMD_END) ||
                      (rb == WSD_PMD_E_DATA && ra == WSD_PMD_END),
                  "pieces and whole disagree on the status");
            check(bad->n <= good->n && (bad->n == 0 || memcmp(bad->p, good->p, bad->n) == 0),
                  "the failing side's bytes are not a prefix of the other's");
            dead = 1;
        } else if (ra == WSD_PMD_END) {
            check(oa.n == ob.n && (oa.n == 0 || memcmp(oa.p, ob.p, oa.n) == 0),
                  "pieces and whole disagree on the bytes");
            if (nct)
                check(wsd_pmd_memory(&a) == 0, "memory kept without context takeover");
            if (oa.n <= 65536)
                round_trip(&oa, cw < 9 ? 9 : cw);
        } else {
            dead = 1;
        }
        free(oa.p);
        free(ob.p);
        pos += len;
    }
    wsd_pmd_free(&a);
    wsd_pmd_free(&b);
    return 0;
}
