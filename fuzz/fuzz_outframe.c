/* fuzz_outframe.c — libFuzzer harness for child stdout → frames (src/outframe.c).
 *
 * Input: [mode] [chunk] bytes...
 *   mode bit 0: binary; bit 1: EOF in a call of its own (else with the last
 *   chunk); bits 2-7 and chunk: how the bytes are cut (empty chunks too).
 *
 * Each call writes into a heap buffer of exactly wsd_outframer_bound(n)
 * bytes (ASan catches an overrun) and its output must parse as a sequence of
 * complete, unmasked server frames: no RSV bits, minimal length encoding,
 * TEXT/BINARY only when no message is open and CONT only when one is, no
 * empty non-final fragment, every text fragment valid UTF-8 on its own.
 * Messages must equal a reference model:
 *   text:   the input split at "\n", one "\r" before it dropped, each line
 *           sanitised as a whole with wsd_utf8_sanitize, an unterminated
 *           tail a message of its own (so for valid UTF-8 input without
 *           "\r", the messages joined with "\n" give back the input);
 *   binary: one message per non-empty chunk, equal to it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outframe.h"
#include "utf8.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do {                                                        \
        if (!(c)) {                                                          \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* Messages: payloads back to back in one arena, with their lengths. */
typedef struct {
    uint8_t *arena;
    size_t alen, acap;
    size_t *lens;
    int *ops;
    size_t n, cap;
} msgs;

static void arena_put(msgs *m, const uint8_t *p, size_t n)
{
    if (m->alen + n > m->acap) {
        m->acap = (m->alen + n) * 2 + 64;
        m->arena = realloc(m->arena, m->acap);
        CHECK(m->arena);
    }
    if (n)
        memcpy(m->arena + m->alen, p, n);
    m->alen += n;
}

static void msg_end(msgs *m, int op, size_t len)
{
    if (m->n == m->cap) {
        m->cap = m->cap * 2 + 16;
        m->lens = realloc(m->lens, m->cap * sizeof *m->lens);
        m->ops = realloc(m->ops, m->cap * sizeof *m->ops);
        CHECK(m->lens && m->ops);
    }
    m->lens[m->n] = len;
    m->ops[m->n] = op;
    m->n++;
}

static void msgs_free(msgs *m)
{
    free(m->arena);
    free(m->lens);
    free(m->ops);
    memset(m, 0, sizeof *m);
}

typedef struct {
    msgs m;
    int open, op;
    size_t cur;     /* bytes of the open message so far */
} parser;

static void parse(parser *ps, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t h = 2, k;
        uint64_t len;
        int fin, op;

        CHECK(n - i >= 2);
        fin = p[i] >> 7;
        op = p[i] & 0x0F;
        CHECK((p[i] & 0x70) == 0);
        CHECK((p[i + 1] & 0x80) == 0);
        len = p[i + 1] & 0x7F;
        if (len == 126) {
            h = 4;
            CHECK(n - i >= h);
            len = (uint64_t)p[i + 2] << 8 | p[i + 3];
            CHECK(len >= 126);
        } else if (len == 127) {
            h = 10;
            CHECK(n - i >= h);
            len = 0;
            for (k = 0; k < 8; k++)
                len = len << 8 | p[i + 2 + k];
            CHECK(len > 0xFFFF && !(len >> 63));
        }
        CHECK(len <= n - i - h);
        if (op == WSD_WS_TEXT || op == WSD_WS_BINARY) {
            CHECK(!ps->open);
            ps->op = op;
            ps->cur = 0;
        } else {
            CHECK(op == WSD_WS_CONT && ps->open);
        }
        CHECK(fin || len > 0);
        if (ps->op == WSD_WS_TEXT)
            CHECK(wsd_utf8_valid(p + i + h, (size_t)len));
        arena_put(&ps->m, p + i + h, (size_t)len);
        ps->cur += (size_t)len;
        if (fin) {
            msg_end(&ps->m, ps->op, ps->cur);
            ps->open = 0;
        } else {
            ps->open = 1;
        }
        i += h + (size_t)len;
    }
}

static void encode_call(wsd_outframer *f, parser *ps, const uint8_t *in, size_t n, int eof)
{
    size_t cap = wsd_outframer_bound(n), o;
    uint8_t *out = malloc(cap);
    uint8_t *copy = malloc(n ? n : 1);

    CHECK(out && copy);
    if (n)
        memcpy(copy, in, n);
    o = wsd_outframer_encode(f, n ? copy : NULL, n, eof, out);
    CHECK(o <= cap);
    CHECK(f->_ncarry <= 3);
    parse(ps, out, o);
    free(out);
    free(copy);
}

static void model_text(const uint8_t *in, size_t n, msgs *m)
{
    size_t i, start = 0, o;
    uint8_t *tmp = malloc(3 * n + 1);

    CHECK(tmp);
    for (i = 0; i <= n; i++) {
        size_t end = i;
        if (i < n && in[i] != '\n')
            continue;
        if (i == n && start == n)
            break;                  /* nothing unterminated */
        if (i < n && end > start && in[end - 1] == '\r')
            end--;
        o = wsd_utf8_sanitize(in + start, end - start, tmp);
        arena_put(m, tmp, o);
        msg_end(m, WSD_WS_TEXT, o);
        start = i + 1;
    }
    free(tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wsd_outframer f;
    parser ps;
    msgs want;
    const uint8_t *in;
    size_t n, start = 0, maxchunk;
    uint32_t seed;
    int binary, eof_apart;

    if (size < 2)
        return 0;
    binary = data[0] & 1;
    eof_apart = (data[0] >> 1) & 1;
    seed = (uint32_t)data[0] >> 2 | (uint32_t)data[1] << 6;
    maxchunk = (size_t)(data[1] & 0x7F) + 1;
    in = data + 2;
    n = size - 2;

    memset(&ps, 0, sizeof ps);
    memset(&want, 0, sizeof want);
    wsd_outframer_init(&f, binary);
    for (;;) {
        size_t len;
        int last;
        seed = seed * 1103515245u + 12345u;
        len = (seed >> 16) % (maxchunk + 1);
        if (len > n - start)
            len = n - start;
        last = start + len == n;
        encode_call(&f, &ps, in + start, len, last && !eof_apart);
        if (binary && len) {
            arena_put(&want, in + start, len);
            msg_end(&want, WSD_WS_BINARY, len);
        }
        start += len;
        if (last)
            break;
    }
    if (eof_apart)
        encode_call(&f, &ps, NULL, 0, 1);
    CHECK(!ps.open);
    CHECK(f._ncarry == 0 && f._open == 0);
    {   /* a second EOF adds nothing */
        size_t before = ps.m.n, bytes = ps.m.alen;
        encode_call(&f, &ps, NULL, 0, 1);
        CHECK(ps.m.n == before && ps.m.alen == bytes && !ps.open);
    }

    if (!binary)
        model_text(in, n, &want);
    CHECK(ps.m.n == want.n);
    CHECK(ps.m.alen == want.alen);
    CHECK(want.alen == 0 || memcmp(ps.m.arena, want.arena, want.alen) == 0);
    CHECK(want.n == 0 || memcmp(ps.m.lens, want.lens, want.n * sizeof *want.lens) == 0);
    CHECK(want.n == 0 || memcmp(ps.m.ops, want.ops, want.n * sizeof *want.ops) == 0);

    /* the plain statement of it, for valid UTF-8 without "\r" */
    if (!binary && n && wsd_utf8_valid(in, n) && !memchr(in, '\r', n)) {
        size_t i, pos = 0, off = 0;
        for (i = 0; i < ps.m.n; i++) {
            CHECK(ps.m.lens[i] <= n - pos);
            CHECK(ps.m.lens[i] == 0 || memcmp(in + pos, ps.m.arena + off, ps.m.lens[i]) == 0);
            pos += ps.m.lens[i];
            off += ps.m.lens[i];
            if (pos < n) {
                CHECK(in[pos] == '\n');
                pos++;
            }
        }
        CHECK(pos == n);
    }

    msgs_free(&ps.m);
    msgs_free(&want);
    return 0;
}
