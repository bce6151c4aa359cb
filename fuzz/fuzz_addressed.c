/* fuzz_addressed.c — libFuzzer harness for the addressed records of
 * --shared --lossless (wsd_record_step, src/record.c).
 *
 * Input: [cut] bytes... — the bytes are the program's output; `cut` picks
 * how the stream is fed in pieces (its value seeds the piece sizes, 0..63
 * bytes, empty pieces too), with EOF on the last piece.
 *
 * The stream is decoded whole and in pieces, each call writing into a heap
 * buffer of exactly wsd_record_bound(n) bytes and reading an exact-size
 * copy of its input (ASan catches overruns). Every call's output must parse
 * as complete, unmasked server frames with message discipline (TEXT/BINARY
 * only with no message open, CONT only with one; every text frame valid
 * UTF-8 on its own); the consumed count never exceeds the input and is the
 * whole input when the event is MORE; event fields are sane (recipients are
 * non-empty digit strings, close codes valid, reasons ≤ 123 bytes). Both
 * runs must give the same transcript (events and messages, in order): the
 * decoder cannot depend on how the output was cut. */
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

typedef struct {
    bytes t;          /* the transcript */
    bytes msg;        /* the message being reassembled */
    int open, op;
} run;

static void frames(run *r, const uint8_t *out, size_t n)
{
    size_t f = 0;

    while (f < n) {
        int fin, op;
        uint64_t len;
        size_t h = 2;
        CHECK(n - f >= 2);
        CHECK((out[f] & 0x70) == 0);        /* no RSV bits */
        CHECK((out[f + 1] & 0x80) == 0);    /* unmasked */
        fin = out[f] & 0x80;
        op = out[f] & 0x0f;
        len = out[f + 1] & 0x7f;
        if (len == 126) {
            CHECK(n - f >= 4);
            len = (uint64_t)out[f + 2] << 8 | out[f + 3];
            CHECK(len >= 126);
            h = 4;
        } else if (len == 127) {
            int i;
            CHECK(n - f >= 10);
            len = 0;
            for (i = 0; i < 8; i++)
                len = len << 8 | out[f + 2 + i];
            CHECK(len > 65535);
            h = 10;
        }
        CHECK(len <= n - f - h);
        if (op == WSD_WS_CONT) {
            CHECK(r->open);
        } else {
            CHECK(op == WSD_WS_TEXT || op == WSD_WS_BINARY);
            CHECK(!r->open);
            r->op = op;
        }
        if (r->op == WSD_WS_TEXT) {
            uint32_t st = WSD_UTF8_ACCEPT;
            CHECK(wsd_utf8_validate(&st, out + f + h, (size_t)len) != WSD_UTF8_REJECT);
            CHECK(st == WSD_UTF8_ACCEPT);
        }
        bput(&r->msg, out + f + h, (size_t)len);
        r->open = !fin;
        if (fin) {
            bput(&r->t, r->op == WSD_WS_TEXT ? "M t " : "M b ", 4);
            bput(&r->t, r->msg.p, r->msg.n);
            bput(&r->t, "\n", 1);
            r->msg.n = 0;
        }
        f += h + (size_t)len;
    }
}

static void event(run *r, const wsd_record_event *ev)
{
    char line[256];
    size_t i, k;

    switch (ev->type) {
    case WSD_REC_START:
        CHECK(!r->open);                    /* the previous message ended */
        CHECK(ev->nto <= WSD_RECORD_MAX_TO);
        bput(&r->t, "S", 1);
        for (i = 0; i < ev->nto; i++) {
            size_t l = strlen(ev->to[i]);
            CHECK(l > 0 && l <= 20);
            for (k = 0; k < l; k++)
                CHECK(ev->to[i][k] >= '0' && ev->to[i][k] <= '9');
            bput(&r->t, " ", 1);
            bput(&r->t, ev->to[i], l);
        }
        bput(&r->t, "\n", 1);
        break;
    case WSD_REC_CLOSE:
        CHECK(wsd_ws_close_code_valid(ev->code));
        CHECK(strlen(ev->reason) <= 123);
        snprintf(line, sizeof line, "C %s %u ", ev->id, ev->code);
        bput(&r->t, line, strlen(line));
        bput(&r->t, ev->reason, strlen(ev->reason));   /* may hold any byte but NUL */
        bput(&r->t, "\n", 1);
        break;
    case WSD_REC_BAD:
        CHECK(ev->err && *ev->err);
        bput(&r->t, "B ", 2);
        bput(&r->t, ev->err, strlen(ev->err));
        bput(&r->t, "\n", 1);
        break;
    default:
        break;
    }
}

/* Feeds in[0..n) in pieces (sizes from seed; 0 = whole). */
static void decode(const uint8_t *in, size_t n, uint32_t seed, run *r)
{
    wsd_record_decoder d;
    size_t pos = 0;

    memset(r, 0, sizeof *r);
    wsd_record_decoder_init_addressed(&d);
    for (;;) {
        size_t piece = n - pos;
        int last;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            piece = (seed >> 16) % 64;
            if (piece > n - pos)
                piece = n - pos;
        }
        last = pos + piece == n;
        {
            size_t left = piece, at = pos;
            do {
                wsd_record_event ev;
                uint8_t *copy = malloc(left ? left : 1), *out = malloc(wsd_record_bound(left));
                size_t olen = 0, used;
                CHECK(copy && out);
                memcpy(copy, in + at, left);
                used = wsd_record_step(&d, copy, left, last, out, &olen, &ev);
                CHECK(used <= left);
                CHECK(olen <= wsd_record_bound(left));
                CHECK(ev.type != WSD_REC_MORE || used == left);
                frames(r, out, olen);
                event(r, &ev);
                free(copy);
                free(out);
                at += used;
                left -= used;
                if (ev.type == WSD_REC_MORE)
                    break;
            } while (1);
        }
        pos += piece;
        if (last)
            break;
    }
    CHECK(!r->open);                        /* at EOF every message is closed */
    wsd_record_decoder_free(&d);
    free(r->msg.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run whole, pieces;

    if (size < 1)
        return 0;
    decode(data + 1, size - 1, 0, &whole);
    decode(data + 1, size - 1, (uint32_t)data[0] * 2654435761u + 1, &pieces);
    CHECK(whole.t.n == pieces.t.n);
    CHECK(whole.t.n == 0 || memcmp(whole.t.p, pieces.t.p, whole.t.n) == 0);
    free(whole.t.p);
    free(pieces.t.p);
    return 0;
}
