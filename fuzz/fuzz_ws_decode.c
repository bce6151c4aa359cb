/* fuzz_ws_decode.c — libFuzzer harness for the RFC 6455 decoder (src/ws.c).
 *
 * Input: [cfg] [chunk] frames...
 *   cfg bits 0-1: max_message 0 / 1 / 16 / 200; bit 2: RSV1 allowed;
 *   bit 3: UTF-8 checks off; bits 4-7 and chunk: how the bytes are cut.
 *
 * The frames are decoded twice, whole and cut into pieces (including empty
 * ones), each piece in an exact-size heap copy. Invariants checked on every
 * call: consumed ≤ given; MORE means everything was consumed; DATA chunks
 * lie within the consumed bytes, have a TEXT/BINARY opcode, consistent first
 * flags, never an empty non-final chunk; a checked text message's chunks are
 * never invalid UTF-8 and end at a character boundary at fin; messages never
 * exceed max_message; control payloads ≤ 125 bytes and inside the decoder;
 * CLOSE codes are valid (or 1005 with no payload) with a UTF-8 reason;
 * ERROR codes are 1002/1007/1009 and ERROR is sticky. Finally both runs must
 * tell the same story (DATA of a message cut short by an ERROR excepted). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    int type, opcode, fin, first, compressed;
    uint16_t code;
    size_t off, len;          /* payload in the transcript's arena */
} rec;

typedef struct {
    rec *r;
    size_t n, cap;
    uint8_t *arena;
    size_t alen, acap;
} transcript;

typedef struct {
    uint64_t max_message;
    unsigned rsv_allowed;
    int validate;
} config;

static void arena_put(transcript *t, const uint8_t *p, size_t n)
{
    if (t->alen + n > t->acap) {
        t->acap = (t->alen + n) * 2 + 64;
        t->arena = realloc(t->arena, t->acap);
        CHECK(t->arena);
    }
    if (n)
        memcpy(t->arena + t->alen, p, n);
    t->alen += n;
}

static rec *tr_add(transcript *t)
{
    if (t->n == t->cap) {
        t->cap = t->cap * 2 + 16;
        t->r = realloc(t->r, t->cap * sizeof *t->r);
        CHECK(t->r);
    }
    memset(&t->r[t->n], 0, sizeof t->r[t->n]);
    return &t->r[t->n++];
}

static void tr_free(transcript *t)
{
    free(t->r);
    free(t->arena);
    memset(t, 0, sizeof *t);
}

static void run(const config *cfg, const uint8_t *in, size_t n, uint32_t seed, size_t maxchunk,
                int whole, transcript *t)
{
    wsd_ws_decoder d;
    size_t start = 0, calls = 0;
    int msg_open = 0, msg_opcode = 0, msg_compressed = 0, done = 0;
    uint32_t utf8 = WSD_UTF8_ACCEPT;
    uint64_t msg_len = 0;

    memset(t, 0, sizeof *t);
    wsd_ws_decoder_init(&d, cfg->max_message);
    d.rsv_allowed = cfg->rsv_allowed;
    d.validate_utf8 = cfg->validate;

    while (!done) {
        size_t len, off = 0;
        uint8_t *piece;

        if (whole) {
            len = n - start;
        } else {
            seed = seed * 1103515245u + 12345u;
            len = (seed >> 16) % (maxchunk + 1);
            if (len > n - start)
                len = n - start;
        }
        piece = malloc(len ? len : 1);
        CHECK(piece);
        if (len)
            memcpy(piece, in + start, len);

        for (;;) {
            wsd_ws_event ev;
            size_t used;
            rec *r;

            CHECK(++calls < 8 * n + 1000);     /* progress */
            used = wsd_ws_decode(&d, piece + off, len - off, &ev);
            CHECK(used <= len - off);
            if (ev.type == WSD_WS_EV_MORE) {
                CHECK(used == len - off);
                break;
            }
            switch (ev.type) {
            case WSD_WS_EV_DATA:
                CHECK(ev.len <= used);
                CHECK(ev.len == 0 || (ev.data >= piece + off && ev.data + ev.len <= piece + off + used));
                CHECK(ev.opcode == WSD_WS_TEXT || ev.opcode == WSD_WS_BINARY);
                CHECK(ev.len > 0 || ev.fin);
                CHECK(ev.first == !msg_open);
                if (ev.first) {
                    msg_open = 1;
                    msg_opcode = ev.opcode;
                    msg_compressed = ev.compressed;
                    utf8 = WSD_UTF8_ACCEPT;
                    msg_len = 0;
                } else {
                    CHECK(ev.opcode == msg_opcode && ev.compressed == msg_compressed);
                }
                CHECK(!ev.compressed || (cfg->rsv_allowed & 4));
                msg_len += ev.len;
                CHECK(!cfg->max_message || msg_len <= cfg->max_message);
                if (ev.opcode == WSD_WS_TEXT && !ev.compressed && cfg->validate) {
                    CHECK(wsd_utf8_validate(&utf8, ev.data, ev.len) != WSD_UTF8_REJECT);
                    CHECK(!ev.fin || utf8 == WSD_UTF8_ACCEPT);
                }
                if (ev.fin)
                    msg_open = 0;
                if (t->n && t->r[t->n - 1].type == WSD_WS_EV_DATA && !t->r[t->n - 1].fin && !ev.first) {
                    r = &t->r[t->n - 1];
                    CHECK(r->off + r->len == t->alen);
                } else {
                    r = tr_add(t);
                    r->type = WSD_WS_EV_DATA;
                    r->opcode = ev.opcode;
                    r->first = ev.first;
                    r->compressed = ev.compressed;
                    r->off = t->alen;
                }
                arena_put(t, ev.data, ev.len);
                r->len += ev.len;
                r->fin = ev.fin;
                break;
            case WSD_WS_EV_PING:
            case WSD_WS_EV_PONG:
            case WSD_WS_EV_CLOSE:
                CHECK(ev.len <= 125);
                CHECK(ev.len == 0 || ((const uint8_t *)ev.data >= (const uint8_t *)&d &&
                                      (const uint8_t *)ev.data + ev.len <= (const uint8_t *)(&d + 1)));
                if (ev.type == WSD_WS_EV_CLOSE) {
                    if (ev.close_code == WSD_WS_CLOSE_NO_STATUS)
                        CHECK(ev.len == 0);
                    else
                        CHECK(wsd_ws_close_code_valid(ev.close_code));
                    CHECK(wsd_utf8_valid(ev.data, ev.len));
                }
                r = tr_add(t);
                r->type = ev.type;
                r->code = ev.close_code;
                r->off = t->alen;
                r->len = ev.len;
                arena_put(t, ev.data, ev.len);
                break;
            case WSD_WS_EV_ERROR: {
                wsd_ws_event ev2;
                uint8_t junk[4] = { 0x81, 0x80, 1, 2 };
                CHECK(ev.close_code == 1002 || ev.close_code == 1007 || ev.close_code == 1009);
                CHECK(ev.reason && *ev.reason);
                CHECK(wsd_ws_decode(&d, junk, sizeof junk, &ev2) == 0);
                CHECK(ev2.type == WSD_WS_EV_ERROR && ev2.close_code == ev.close_code);
                r = tr_add(t);
                r->type = WSD_WS_EV_ERROR;
                r->code = ev.close_code;
                done = 1;
                break;
            }
            default:
                CHECK(!"unknown event type");
            }
            off += used;
            if (done)
                break;
        }
        free(piece);
        start += len;
        if (start == n)
            break;
    }
}

/* Drop the DATA records of a message an ERROR cut short. */
static void normalise(transcript *t)
{
    size_t i, j;
    long open_from = -1;

    if (!t->n || t->r[t->n - 1].type != WSD_WS_EV_ERROR)
        return;
    for (i = 0; i + 1 < t->n; i++) {
        if (t->r[i].type != WSD_WS_EV_DATA)
            continue;
        if (t->r[i].first)
            open_from = (long)i;
        if (t->r[i].fin)
            open_from = -1;
    }
    if (open_from < 0)
        return;
    for (i = j = 0; i < t->n; i++)
        if (!((long)i >= open_from && t->r[i].type == WSD_WS_EV_DATA))
            t->r[j++] = t->r[i];
    t->n = j;
}

static void compare(const transcript *a, const transcript *b)
{
    size_t i;
    CHECK(a->n == b->n);
    for (i = 0; i < a->n; i++) {
        const rec *x = &a->r[i], *y = &b->r[i];
        CHECK(x->type == y->type && x->code == y->code && x->len == y->len);
        if (x->type == WSD_WS_EV_DATA)
            CHECK(x->opcode == y->opcode && x->fin == y->fin && x->first == y->first &&
                  x->compressed == y->compressed);
        CHECK(x->len == 0 || memcmp(a->arena + x->off, b->arena + y->off, x->len) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t maxes[4] = { 0, 1, 16, 200 };
    config cfg;
    transcript whole, cut;

    if (size < 2)
        return 0;
    cfg.max_message = maxes[data[0] & 3];
    cfg.rsv_allowed = (data[0] & 4) ? 4 : 0;
    cfg.validate = !(data[0] & 8);

    run(&cfg, data + 2, size - 2, 0, 0, 1, &whole);
    run(&cfg, data + 2, size - 2, (uint32_t)data[0] >> 4 | (uint32_t)data[1] << 4,
        (size_t)(data[1] & 0x3F) + 1, 0, &cut);
    normalise(&whole);
    normalise(&cut);
    compare(&whole, &cut);
    tr_free(&whole);
    tr_free(&cut);
    return 0;
}
