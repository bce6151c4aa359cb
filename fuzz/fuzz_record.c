/* fuzz_record.c — libFuzzer harness for the lossless mode's records → frames
 * decoder (src/record.c).
 *
 * Input: [cfg] [chunk] bytes...
 *   cfg bits 0-1: max_len 0 (unlimited), 1, 16 or 300;
 *   cfg bit 2:    EOF in a call of its own (else with the last chunk);
 *   cfg bit 3:    build mode: the bytes are not the stream but a recipe for
 *                 a well-formed one (each record: one byte, bit 0 = binary,
 *                 bits 1-7 = length, then that many payload bytes, cut short
 *                 at the end of the input), so the payload paths are reached
 *                 with arbitrary (often invalid UTF-8) text payloads;
 *   cfg bits 4-7 and chunk: how the stream is cut (empty pieces too).
 *
 * The stream is decoded whole and in pieces, each call writing into a heap
 * buffer of exactly wsd_record_bound(n) bytes and reading an exact-size heap
 * copy of its input (ASan catches overruns). On every call the output must
 * parse as complete, unmasked server frames: no RSV bits, minimal lengths,
 * TEXT/BINARY only with no message open and CONT only with one, no empty
 * non-final frame, every text frame valid UTF-8 on its own; the return value
 * agrees with *outlen and *err; after an error nothing more comes out and the
 * error stays the same. After a clean EOF no message is open and a second
 * EOF adds nothing.
 *
 * Both runs must give the complete messages and the error of a reference:
 * a one-pass parser of the whole stream written here (text payloads
 * sanitised as a whole with wsd_utf8_sanitize). In build mode there must be
 * no error and the messages must be exactly the records built. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "utf8.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do {                                                        \
        if (!(c)) {                                                          \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* ---- growable bytes and message lists --------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} bytes;

static void bput(bytes *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        CHECK(b->p);
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

/* Messages: payloads back to back, with their lengths and opcodes. */
typedef struct {
    bytes arena;
    size_t *lens;
    int *ops;
    size_t n, cap;
} msgs;

static void msg_add(msgs *m, int op, const uint8_t *p, size_t len)
{
    if (m->n == m->cap) {
        m->cap = m->cap * 2 + 16;
        m->lens = realloc(m->lens, m->cap * sizeof *m->lens);
        m->ops = realloc(m->ops, m->cap * sizeof *m->ops);
        CHECK(m->lens && m->ops);
    }
    bput(&m->arena, p, len);
    m->lens[m->n] = len;
    m->ops[m->n] = op;
    m->n++;
}

static void msgs_free(msgs *m)
{
    free(m->arena.p);
    free(m->lens);
    free(m->ops);
    memset(m, 0, sizeof *m);
}

static void msgs_same(const msgs *a, const msgs *b)
{
    CHECK(a->n == b->n);
    CHECK(a->arena.n == b->arena.n);
    CHECK(a->arena.n == 0 || memcmp(a->arena.p, b->arena.p, a->arena.n) == 0);
    CHECK(a->n == 0 || memcmp(a->lens, b->lens, a->n * sizeof *a->lens) == 0);
    CHECK(a->n == 0 || memcmp(a->ops, b->ops, a->n * sizeof *a->ops) == 0);
}

static void add_text(msgs *m, const uint8_t *p, size_t n)
{
    uint8_t *tmp = malloc(3 * n + 1);
    size_t o;
    CHECK(tmp);
    o = wsd_utf8_sanitize(p, n, tmp);
    msg_add(m, WSD_WS_TEXT, tmp, o);
    free(tmp);
}

/* ---- the frame parser --------------------------------------------------------- */

typedef struct {
    msgs m;
    int open, op;
    bytes cur;
    size_t frames;
    const char *err;
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
            ps->cur.n = 0;
        } else {
            CHECK(op == WSD_WS_CONT && ps->open);
        }
        CHECK(fin || len > 0);
        if (ps->op == WSD_WS_TEXT)
            CHECK(wsd_utf8_valid(p + i + h, (size_t)len));
        bput(&ps->cur, p + i + h, (size_t)len);
        ps->frames++;
        if (fin) {
            msg_add(&ps->m, ps->op, ps->cur.p, ps->cur.n);
            ps->open = 0;
        } else {
            ps->open = 1;
        }
        i += h + (size_t)len;
    }
}

static void parser_free(parser *ps)
{
    msgs_free(&ps->m);
    free(ps->cur.p);
    memset(ps, 0, sizeof *ps);
}

static void call(wsd_record_decoder *d, parser *ps, const uint8_t *in, size_t n, int eof)
{
    size_t cap = wsd_record_bound(n), outlen = (size_t)-1;
    uint8_t *out = malloc(cap);
    uint8_t *copy = malloc(n ? n : 1);
    const char *err = "unset";
    long r;

    CHECK(out && copy);
    if (n)
        memcpy(copy, in, n);
    r = wsd_record_encode(d, n ? copy : NULL, n, eof, out, &outlen, &err);
    CHECK(outlen <= cap);
    CHECK(d->_ncarry <= 3);
    if (r >= 0) {
        CHECK((size_t)r == outlen && err == NULL && ps->err == NULL);
    } else {
        CHECK(r == -1 && err != NULL);
        if (ps->err) {
            CHECK(strcmp(ps->err, err) == 0);   /* sticky */
            CHECK(outlen == 0);                 /* nothing after the error */
        }
        ps->err = err;
    }
    parse(ps, out, outlen);
    free(out);
    free(copy);
}

/* ---- the reference: one pass over the whole stream ---------------------------- */

/* The kind and its space; *text says which. */
static const char *ref_kind(const uint8_t *in, size_t n, size_t pos, int *text)
{
    const char *kind;
    size_t klen, j;

    if (in[pos] == '\r')
        return "carriage return in record header";
    if (in[pos] != 't' && in[pos] != 'b')
        return "unknown record kind";
    *text = in[pos] == 't';
    kind = *text ? "text" : "binary";
    klen = strlen(kind);
    for (j = 1; j <= klen; j++) {
        if (pos + j >= n)
            return "truncated record";
        if (in[pos + j] == '\r')
            return "carriage return in record header";
        if (j == klen)
            return in[pos + j] == ' ' ? NULL : "missing space after record kind";
        if (in[pos + j] != (uint8_t)kind[j])
            return "unknown record kind";
    }
    return NULL;
}

static const char *ref_length(const uint8_t *in, size_t n, size_t *pos, uint64_t max,
                              uint64_t *len)
{
    size_t i = *pos, nd = 0;
    uint64_t v = 0;

    for (;; i++) {
        uint8_t c;
        if (i >= n)
            return "truncated record";
        c = in[i];
        if (c == '\r')
            return "carriage return in record header";
        if (c == '\n')
            break;
        if (c < '0' || c > '9')
            return "bad record length";
        if (nd == 1 && v == 0)
            return "leading zero in record length";
        if (nd == 20)
            return "record header too long";
        if (v > 1844674407370955161u || (v == 1844674407370955161u && c > '5'))
            return "record length too large";
        v = v * 10 + (uint64_t)(c - '0');
        nd++;
        if (max && v > max)
            return "record length over limit";
    }
    if (nd == 0)
        return "missing record length";
    *pos = i + 1;
    *len = v;
    return NULL;
}

static const char *reference(const uint8_t *in, size_t n, uint64_t max, msgs *m)
{
    size_t pos = 0;

    while (pos < n) {
        int text = 0;
        uint64_t len = 0;
        size_t klen;
        const char *e = ref_kind(in, n, pos, &text);

        if (e)
            return e;
        klen = text ? 4 : 6;
        pos += klen + 1;
        e = ref_length(in, n, &pos, max, &len);
        if (e)
            return e;
        if (len > n - pos)
            return "truncated record";
        if (text)
            add_text(m, in + pos, (size_t)len);
        else
            msg_add(m, WSD_WS_BINARY, in + pos, (size_t)len);
        pos += (size_t)len;
        if (pos == n)
            return "truncated record";
        if (in[pos] != '\n')
            return "missing newline after record";
        pos++;
    }
    return NULL;
}

/* ---- one run ------------------------------------------------------------------ */

static void run(const uint8_t *in, size_t n, uint64_t max, uint32_t seed, size_t maxchunk,
                int eof_apart, parser *ps)
{
    wsd_record_decoder d;
    size_t start = 0;

    memset(ps, 0, sizeof *ps);
    wsd_record_decoder_init(&d, max);
    for (;;) {
        size_t len;
        int last;
        seed = seed * 1103515245u + 12345u;
        len = maxchunk ? (seed >> 16) % (maxchunk + 1) : n;
        if (len > n - start)
            len = n - start;
        last = start + len == n;
        call(&d, ps, in + start, len, last && !eof_apart);
        start += len;
        if (last)
            break;
    }
    if (eof_apart)
        call(&d, ps, NULL, 0, 1);
    if (!ps->err)
        CHECK(!ps->open && d._ncarry == 0);
    {   /* a second EOF adds nothing */
        size_t before = ps->frames;
        call(&d, ps, NULL, 0, 1);
        CHECK(ps->frames == before);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t maxes[4] = { 0, 1, 16, 300 };
    parser whole, pieces;
    msgs want, built;
    bytes stream;
    const uint8_t *in;
    size_t n, maxchunk;
    uint32_t seed;
    uint64_t max;
    int eof_apart, build;
    const char *want_err;

    if (size < 2)
        return 0;
    max = maxes[data[0] & 3];
    eof_apart = (data[0] >> 2) & 1;
    build = (data[0] >> 3) & 1;
    seed = (uint32_t)data[0] >> 4 | (uint32_t)data[1] << 4;
    maxchunk = data[1] & 0x80 ? (size_t)(data[1] & 0x7F) * 64 + 1 : (size_t)(data[1] & 0x1F) + 1;
    memset(&stream, 0, sizeof stream);
    memset(&want, 0, sizeof want);
    memset(&built, 0, sizeof built);

    if (build) {
        size_t i = 2;
        while (i < size) {
            char hdr[WSD_RECORD_HEADER_MAX];
            int text = !(data[i] & 1);
            size_t len = data[i] >> 1, h;
            i++;
            if (len > size - i)
                len = size - i;
            if (max && len > max)
                len = (size_t)max;
            h = wsd_record_header(hdr, text, len);
            CHECK(h < WSD_RECORD_HEADER_MAX && hdr[h] == '\0' && hdr[h - 1] == '\n');
            bput(&stream, hdr, h);
            bput(&stream, data + i, len);
            bput(&stream, "\n", 1);
            if (text)
                add_text(&built, data + i, len);
            else
                msg_add(&built, WSD_WS_BINARY, data + i, len);
            i += len;
        }
        bput(&stream, "", 0);
        in = stream.p ? stream.p : data;   /* no records: an empty stream */
        n = stream.n;
    } else {
        in = data + 2;
        n = size - 2;
    }

    run(in, n, max, seed, 0, eof_apart, &whole);
    run(in, n, max, seed, maxchunk, eof_apart, &pieces);
    want_err = reference(in, n, max, &want);

    msgs_same(&whole.m, &want);
    msgs_same(&pieces.m, &want);
    CHECK((whole.err == NULL) == (want_err == NULL));
    CHECK((pieces.err == NULL) == (want_err == NULL));
    if (want_err) {
        CHECK(strcmp(whole.err, want_err) == 0);
        CHECK(strcmp(pieces.err, want_err) == 0);
    }
    if (build) {
        CHECK(want_err == NULL);
        msgs_same(&want, &built);
    }

    parser_free(&whole);
    parser_free(&pieces);
    msgs_free(&want);
    msgs_free(&built);
    free(stream.p);
    return 0;
}
