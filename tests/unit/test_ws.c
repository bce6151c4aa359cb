/* test_ws.c — the RFC 6455 decoder (server side) and the encoder helpers.
 *
 * In the style of wslay's tests/wslay_frame_test.c: RFC 6455 §5.7 examples as
 * vectors, and every input fed whole, byte by byte, split in two at every
 * point and (for short inputs) in three at every pair of points. The events
 * of each run are folded into a transcript (consecutive DATA chunks of one
 * message between other events are joined) that must not depend on the
 * split. Every run also checks the decoder's invariants as it goes. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "utf8.h"
#include "ws.h"

/* ---- byte buffers and client frames --------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put1(buf *b, uint8_t c)
{
    put(b, &c, 1);
}

static void buf_free(buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

static const uint8_t rfc_key[4] = { 0x37, 0xfa, 0x21, 0x3d };

#define FIN 0x80
#define RSV1 0x40
#define RSV2 0x20
#define RSV3 0x10

enum { LEN_MIN = 0, LEN_16 = 2, LEN_64 = 8 };

/* Appends a client frame: b0 = FIN|RSV|opcode; masked with rfc_key unless
 * unmasked; the length encoded minimally or forced to 16/64 bits. */
static void frame_ex(buf *b, int b0, const void *payload, size_t len, int masked, int lenmode)
{
    const uint8_t *p = payload;
    size_t i;
    uint8_t m = masked ? 0x80 : 0;

    put1(b, (uint8_t)b0);
    if (lenmode == LEN_MIN && len < 126) {
        put1(b, (uint8_t)(m | len));
    } else if (lenmode != LEN_64 && len <= 0xFFFF) {
        put1(b, m | 126);
        put1(b, (uint8_t)(len >> 8));
        put1(b, (uint8_t)len);
    } else {
        put1(b, m | 127);
        for (i = 0; i < 8; i++)
            put1(b, (uint8_t)((uint64_t)len >> (56 - 8 * i)));
    }
    if (masked)
        put(b, rfc_key, 4);
    for (i = 0; i < len; i++)
        put1(b, masked ? (uint8_t)(p[i] ^ rfc_key[i & 3]) : p[i]);
}

static void frame(buf *b, int b0, const char *s)
{
    frame_ex(b, b0, s, strlen(s), 1, LEN_MIN);
}

static void framen(buf *b, int b0, const void *p, size_t n)
{
    frame_ex(b, b0, p, n, 1, LEN_MIN);
}

/* ---- transcripts ----------------------------------------------------------- */

typedef struct {
    int type, opcode, fin, first, compressed;
    uint16_t code;
    const char *reason;
    buf data;
} rec;

typedef struct {
    rec r[64];
    int n;
    int violations;
    char why[160];
    size_t calls;
} transcript;

typedef struct {
    uint64_t max_message;
    unsigned rsv_allowed;
    int no_utf8;
} config;

static void violation(transcript *t, const char *why)
{
    if (!t->violations++)
        snprintf(t->why, sizeof t->why, "%s", why);
}

static void tr_free(transcript *t)
{
    int i;
    for (i = 0; i < t->n; i++)
        buf_free(&t->r[i].data);
    t->n = 0;
}

static rec *tr_add(transcript *t, int type)
{
    rec *r;
    if (t->n == 64) {           /* far more than any vector needs */
        violation(t, "too many events");
        buf_free(&t->r[--t->n].data);
    }
    r = &t->r[t->n++];
    memset(r, 0, sizeof *r);
    r->type = type;
    return r;
}

/* Per-run checker state. */
typedef struct {
    int msg_open, msg_opcode, msg_compressed;
    uint32_t utf8;
    uint64_t msg_len;
} checker;

static void record(transcript *t, checker *c, const config *cfg, const wsd_ws_event *ev)
{
    rec *r;

    switch (ev->type) {
    case WSD_WS_EV_DATA:
        if (ev->opcode != WSD_WS_TEXT && ev->opcode != WSD_WS_BINARY)
            violation(t, "DATA opcode is not TEXT/BINARY");
        if (ev->first == c->msg_open)
            violation(t, "DATA first flag does not match message state");
        if (ev->len == 0 && !ev->fin)
            violation(t, "empty non-final DATA event");
        if (ev->first) {
            c->msg_open = 1;
            c->msg_opcode = ev->opcode;
            c->msg_compressed = ev->compressed;
            c->utf8 = WSD_UTF8_ACCEPT;
            c->msg_len = 0;
        } else if (ev->opcode != c->msg_opcode || ev->compressed != c->msg_compressed) {
            violation(t, "DATA opcode/compressed changed within a message");
        }
        if (ev->compressed && !(cfg->rsv_allowed & 4))
            violation(t, "compressed without RSV1 allowed");
        c->msg_len += ev->len;
        if (cfg->max_message && c->msg_len > cfg->max_message)
            violation(t, "message longer than max_message delivered");
        if (ev->opcode == WSD_WS_TEXT && !ev->compressed && !cfg->no_utf8) {
            if (wsd_utf8_validate(&c->utf8, ev->data, ev->len) == WSD_UTF8_REJECT)
                violation(t, "invalid UTF-8 handed out");
            if (ev->fin && c->utf8 != WSD_UTF8_ACCEPT)
                violation(t, "text message ended inside a character");
        }
        if (ev->fin)
            c->msg_open = 0;
        if (t->n && t->r[t->n - 1].type == WSD_WS_EV_DATA && !t->r[t->n - 1].fin && !ev->first) {
            r = &t->r[t->n - 1];
        } else {
            r = tr_add(t, WSD_WS_EV_DATA);
            r->opcode = ev->opcode;
            r->first = ev->first;
            r->compressed = ev->compressed;
        }
        put(&r->data, ev->data, ev->len);
        r->fin = ev->fin;
        break;
    case WSD_WS_EV_PING:
    case WSD_WS_EV_PONG:
    case WSD_WS_EV_CLOSE:
        if (ev->len > 125)
            violation(t, "control payload > 125");
        if (ev->type == WSD_WS_EV_CLOSE) {
            if (ev->close_code == 1005 ? ev->len != 0 : !wsd_ws_close_code_valid(ev->close_code))
                violation(t, "bad close code in CLOSE event");
            if (!wsd_utf8_valid(ev->data, ev->len))
                violation(t, "close reason not UTF-8");
        }
        r = tr_add(t, ev->type);
        r->code = ev->close_code;
        put(&r->data, ev->data, ev->len);
        break;
    case WSD_WS_EV_ERROR:
        if (ev->close_code != 1002 && ev->close_code != 1007 && ev->close_code != 1009)
            violation(t, "ERROR code not 1002/1007/1009");
        if (!ev->reason || !*ev->reason)
            violation(t, "ERROR without a reason");
        r = tr_add(t, WSD_WS_EV_ERROR);
        r->code = ev->close_code;
        r->reason = ev->reason;
        break;
    default:
        violation(t, "unknown event type");
    }
}

/* Feeds in[0..n) cut at cuts[0..ncuts) (ascending) into a fresh decoder. */
static void run(const config *cfg, const uint8_t *in, size_t n, const size_t *cuts,
                size_t ncuts, transcript *t)
{
    wsd_ws_decoder d;
    checker c;
    size_t k, start = 0;
    int done = 0;

    memset(t, 0, sizeof *t);
    memset(&c, 0, sizeof c);
    wsd_ws_decoder_init(&d, cfg->max_message);
    d.rsv_allowed = cfg->rsv_allowed;
    d.validate_utf8 = !cfg->no_utf8;

    for (k = 0; k <= ncuts && !done; k++) {
        size_t end = k < ncuts ? cuts[k] : n, len = end - start, off = 0;
        /* an exact-size private copy: ASan sees any overrun, and the decoder
         * may (must) write to it */
        uint8_t *piece = malloc(len ? len : 1);
        if (!piece)
            abort();
        if (len)
            memcpy(piece, in + start, len);
        /* the decoder always gets the unconsumed rest */
        for (;;) {
            wsd_ws_event ev;
            size_t used;
            t->calls++;
            used = wsd_ws_decode(&d, piece + off, len - off, &ev);
            if (used > len - off) {
                violation(t, "consumed more than given");
                done = 1;
                break;
            }
            if (ev.type == WSD_WS_EV_MORE) {
                if (used != len - off)
                    violation(t, "MORE without consuming everything");
                break;
            }
            if (ev.type == WSD_WS_EV_DATA &&
                (ev.len > used || ev.data < piece + off || ev.data + ev.len > piece + off + used))
                violation(t, "DATA chunk not within the consumed bytes");
            if ((ev.type == WSD_WS_EV_PING || ev.type == WSD_WS_EV_PONG ||
                 ev.type == WSD_WS_EV_CLOSE) &&
                ((const uint8_t *)ev.data < (const uint8_t *)&d ||
                 (const uint8_t *)ev.data + ev.len > (const uint8_t *)(&d + 1)))
                violation(t, "control payload not inside the decoder");
            record(t, &c, cfg, &ev);
            off += used;
            if (ev.type == WSD_WS_EV_ERROR) {
                /* sticky: same error, nothing consumed, whatever we give */
                wsd_ws_event ev2;
                uint8_t junk[3] = { 0x81, 0x80, 0 };
                size_t u2 = wsd_ws_decode(&d, junk, sizeof junk, &ev2);
                if (u2 != 0 || ev2.type != WSD_WS_EV_ERROR || ev2.close_code != ev.close_code)
                    violation(t, "ERROR is not sticky");
                done = 1;
                break;
            }
            if (t->calls > 4 * n + 100) {
                violation(t, "no progress");
                done = 1;
                break;
            }
        }
        free(piece);
        start = end;
    }
}

/* Drops the DATA of a message that an ERROR interrupted: how much of it was
 * handed out before the error legitimately depends on the split. */
static void normalise(transcript *t)
{
    int i, j, open_from = -1;

    if (!t->n || t->r[t->n - 1].type != WSD_WS_EV_ERROR)
        return;
    for (i = 0; i < t->n - 1; i++) {
        if (t->r[i].type != WSD_WS_EV_DATA)
            continue;
        if (t->r[i].first)
            open_from = i;
        if (t->r[i].fin)
            open_from = -1;
    }
    if (open_from < 0)
        return;
    for (i = j = 0; i < t->n; i++) {
        if (i >= open_from && t->r[i].type == WSD_WS_EV_DATA)
            buf_free(&t->r[i].data);
        else
            t->r[j++] = t->r[i];
    }
    t->n = j;
}

static int tr_equal(const transcript *a, const transcript *b, char *why, size_t whylen)
{
    int i;
    if (a->n != b->n) {
        snprintf(why, whylen, "%d events vs %d", a->n, b->n);
        return 0;
    }
    for (i = 0; i < a->n; i++) {
        const rec *x = &a->r[i], *y = &b->r[i];
        if (x->type != y->type || x->code != y->code ||
            (x->type == WSD_WS_EV_DATA &&
             (x->opcode != y->opcode || x->fin != y->fin || x->first != y->first ||
              x->compressed != y->compressed)) ||
            x->data.n != y->data.n ||
            (x->data.n && memcmp(x->data.p, y->data.p, x->data.n) != 0)) {
            snprintf(why, whylen, "event %d differs (type %d/%d, code %u/%u, len %zu/%zu)",
                     i, x->type, y->type, x->code, y->code, x->data.n, y->data.n);
            return 0;
        }
    }
    return 1;
}

static void tr_print(const char *label, const transcript *t)
{
    int i;
    printf("#   %s:\n", label);
    for (i = 0; i < t->n; i++) {
        const rec *r = &t->r[i];
        printf("#     type %d op %d fin %d first %d comp %d code %u reason %s len %zu\n",
               r->type, r->opcode, r->fin, r->first, r->compressed, r->code,
               r->reason ? r->reason : "-", r->data.n);
        if (r->data.n)
            t_hexdump("      data", r->data.p, r->data.n);
    }
}

/* ---- expected events ------------------------------------------------------- */

typedef struct {
    int type, opcode, fin, compressed;
    uint16_t code;
    const char *data;
    size_t len;
    int first; /* DATA: the record starts the message */
} xev;

#define X_TEXT(s) { WSD_WS_EV_DATA, WSD_WS_TEXT, 1, 0, 0, s, sizeof(s) - 1, 1 }
#define X_BIN(s) { WSD_WS_EV_DATA, WSD_WS_BINARY, 1, 0, 0, s, sizeof(s) - 1, 1 }
#define X_TEXT_PART(s, first, fin) { WSD_WS_EV_DATA, WSD_WS_TEXT, fin, 0, 0, s, sizeof(s) - 1, first }
#define X_CTEXT(s) { WSD_WS_EV_DATA, WSD_WS_TEXT, 1, 1, 0, s, sizeof(s) - 1, 1 }
#define X_PING(s) { WSD_WS_EV_PING, 0, 0, 0, 0, s, sizeof(s) - 1, 0 }
#define X_PONG(s) { WSD_WS_EV_PONG, 0, 0, 0, 0, s, sizeof(s) - 1, 0 }
#define X_CLOSE(code, s) { WSD_WS_EV_CLOSE, 0, 0, 0, code, s, sizeof(s) - 1, 0 }
#define X_ERR(code) { WSD_WS_EV_ERROR, 0, 0, 0, code, "", 0, 0 }
#define X_END { -1, 0, 0, 0, 0, NULL, 0, 0 }

static void expect_to_tr(const xev *x, transcript *t)
{
    memset(t, 0, sizeof *t);
    for (; x->type != -1; x++) {
        rec *r = tr_add(t, x->type);
        r->opcode = x->opcode;
        r->fin = x->fin;
        r->first = x->first;
        r->compressed = x->compressed;
        r->code = x->code;
        put(&r->data, x->data, x->len);
    }
}

/* Runs in[0..n) with every split strategy and compares each (normalised)
 * transcript with the expected one. */
static void check_splits(const char *name, const config *cfg, const uint8_t *in, size_t n,
                         const transcript *want_in)
{
    transcript got;
    size_t cuts[2], *all = NULL, i, j, runs;
    char why[200];
    int good;

    /* whole */
    run(cfg, in, n, NULL, 0, &got);
    normalise(&got);
    good = !got.violations && tr_equal(&got, want_in, why, sizeof why);
    if (!ok(good, "%s: whole (%zu bytes)", name, n)) {
        printf("#   %s\n", got.violations ? got.why : why);
        tr_print("got", &got);
        tr_print("want", want_in);
    }
    tr_free(&got);

    /* byte by byte */
    if (n > 1) {
        all = malloc(n * sizeof *all);
        for (i = 0; i + 1 < n; i++)
            all[i] = i + 1;
        run(cfg, in, n, all, n - 1, &got);
        normalise(&got);
        good = !got.violations && tr_equal(&got, want_in, why, sizeof why);
        if (!ok(good, "%s: byte by byte", name)) {
            printf("#   %s\n", got.violations ? got.why : why);
            tr_print("got", &got);
        }
        tr_free(&got);
        free(all);
    }

    /* two pieces, at every point (big inputs: near the ends, and a stride) */
    good = 1;
    runs = 0;
    for (i = 1; i < n && good; i++) {
        if (n > 4096 && i > 80 && i < n - 80 && i % 509)
            continue;
        cuts[0] = i;
        run(cfg, in, n, cuts, 1, &got);
        normalise(&got);
        if (got.violations || !tr_equal(&got, want_in, why, sizeof why)) {
            good = 0;
            printf("#   split at %zu: %s\n", i, got.violations ? got.why : why);
            tr_print("got", &got);
        }
        runs++;
        tr_free(&got);
    }
    if (n > 1)
        ok(good, "%s: 2 pieces, %zu splits", name, runs);

    /* three pieces at all pairs of points (also empty middle pieces) */
    if (n > 2 && n <= 160) {
        good = 1;
        runs = 0;
        for (i = 1; i < n && good; i++)
            for (j = i; j < n && good; j++) {
                cuts[0] = i;
                cuts[1] = j;
                run(cfg, in, n, cuts, 2, &got);
                normalise(&got);
                if (got.violations || !tr_equal(&got, want_in, why, sizeof why)) {
                    good = 0;
                    printf("#   split at %zu,%zu: %s\n", i, j, got.violations ? got.why : why);
                    tr_print("got", &got);
                }
                runs++;
                tr_free(&got);
            }
        ok(good, "%s: 3 pieces, %zu splits", name, runs);
    }
}

static const config cfg_default = { 0, 0, 0 };

static void vec_check(const char *name, const config *cfg, const buf *in, const xev *x)
{
    transcript want;
    expect_to_tr(x, &want);
    check_splits(name, cfg ? cfg : &cfg_default, in->p, in->n, &want);
    tr_free(&want);
}

static void vec_bytes(const char *name, const config *cfg, const void *p, size_t n, const xev *x)
{
    buf b = { 0 };
    put(&b, p, n);
    vec_check(name, cfg, &b, x);
    buf_free(&b);
}

/* ---- RFC 6455 §5.7 examples ------------------------------------------------ */

static void test_rfc_examples(void)
{
    buf b = { 0 };

    {   /* A single-frame masked text message */
        static const uint8_t m[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
        const xev x[] = { X_TEXT("Hello"), X_END };
        vec_bytes("RFC 5.7 masked \"Hello\"", NULL, m, sizeof m, x);
    }
    {   /* A single-frame unmasked text message: a server must refuse it */
        static const uint8_t m[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
        const xev x[] = { X_ERR(1002), X_END };
        vec_bytes("RFC 5.7 unmasked \"Hello\" → 1002", NULL, m, sizeof m, x);
    }
    {   /* A fragmented unmasked text message, as sent: refused */
        static const uint8_t m[] = { 0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f };
        const xev x[] = { X_ERR(1002), X_END };
        vec_bytes("RFC 5.7 unmasked fragments → 1002", NULL, m, sizeof m, x);
    }
    {   /* ... and masked, as a client sends it */
        const xev x[] = { X_TEXT("Hello"), X_END };
        b.n = 0;
        frame(&b, 0x01, "Hel");
        frame(&b, 0x80, "lo");
        vec_check("RFC 5.7 fragmented \"Hel\"+\"lo\"", NULL, &b, x);
    }
    {   /* Unmasked Ping: refused; masked Ping: fine */
        static const uint8_t m[] = { 0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
        const xev x[] = { X_ERR(1002), X_END };
        const xev y[] = { X_PING("Hello"), X_END };
        vec_bytes("RFC 5.7 unmasked Ping → 1002", NULL, m, sizeof m, x);
        b.n = 0;
        frame(&b, 0x89, "Hello");
        vec_check("RFC 5.7 Ping \"Hello\" (masked)", NULL, &b, y);
    }
    {   /* Masked Pong */
        static const uint8_t m[] = { 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
        const xev x[] = { X_PONG("Hello"), X_END };
        vec_bytes("RFC 5.7 masked Pong \"Hello\"", NULL, m, sizeof m, x);
    }
    {   /* 256 bytes binary message in a single unmasked frame (16-bit length) */
        static uint8_t payload[256];
        xev x[] = { X_BIN(""), X_END };
        size_t i;
        for (i = 0; i < sizeof payload; i++)
            payload[i] = (uint8_t)(i * 7 + 1);
        b.n = 0;
        framen(&b, 0x82, payload, sizeof payload);
        ok(b.n == 4 + 4 + 256 && b.p[0] == 0x82 && b.p[1] == (0x80 | 0x7E) && b.p[2] == 1 && b.p[3] == 0,
           "RFC 5.7 256-byte header (masked): 0x82 0xFE 0x01 0x00");
        x[0].data = (const char *)payload;
        x[0].len = sizeof payload;
        vec_check("RFC 5.7 256-byte binary (16-bit length)", NULL, &b, x);
    }
    {   /* 64KiB binary message (64-bit length) */
        size_t n = 65536, i;
        uint8_t *payload = malloc(n);
        xev x[] = { X_BIN(""), X_END };
        for (i = 0; i < n; i++)
            payload[i] = (uint8_t)(i ^ (i >> 8));
        b.n = 0;
        framen(&b, 0x82, payload, n);
        ok(b.n == 2 + 8 + 4 + n && b.p[1] == (0x80 | 0x7F) && b.p[2] == 0 && b.p[7] == 1 &&
           b.p[8] == 0 && b.p[9] == 0, "RFC 5.7 64KiB header: 0x82 0xFF 00 00 00 00 00 01 00 00");
        x[0].data = (const char *)payload;
        x[0].len = n;
        vec_check("RFC 5.7 64KiB binary (64-bit length)", NULL, &b, x);
        free(payload);
    }
    buf_free(&b);
}

/* ---- valid traffic --------------------------------------------------------- */

static void test_valid_sequences(void)
{
    buf b = { 0 };
    config c;

    {
        const xev x[] = { X_TEXT_PART("Hel", 1, 0), X_PING("x"), X_TEXT_PART("lo", 0, 1), X_END };
        b.n = 0;
        frame(&b, 0x01, "Hel");
        frame(&b, 0x89, "x");
        frame(&b, 0x80, "lo");
        vec_check("ping between fragments", NULL, &b, x);
    }
    {
        const xev x[] = { X_TEXT_PART("a", 1, 0), X_PING(""), X_PONG("pong"),
                          X_TEXT_PART("bc", 0, 0), X_CLOSE(1000, "bye"), X_TEXT_PART("d", 0, 1), X_END };
        b.n = 0;
        frame(&b, 0x01, "a");
        frame(&b, 0x89, "");
        frame(&b, 0x8A, "pong");
        frame(&b, 0x00, "b");
        frame(&b, 0x00, "");
        frame(&b, 0x00, "c");
        framen(&b, 0x88, "\x03\xe8" "bye", 5);
        frame(&b, 0x80, "d");
        vec_check("controls between fragments, empty middle fragment", NULL, &b, x);
    }
    {
        const xev x[] = { X_TEXT(""), X_END };
        b.n = 0;
        frame(&b, 0x81, "");
        vec_check("empty text message", NULL, &b, x);
    }
    {
        const xev x[] = { X_BIN(""), X_TEXT(""), X_END };
        b.n = 0;
        frame(&b, 0x02, "");
        frame(&b, 0x00, "");
        frame(&b, 0x80, "");
        frame(&b, 0x81, "");
        vec_check("empty fragments only", NULL, &b, x);
    }
    {
        const xev x[] = { X_TEXT("abc"), X_END };
        b.n = 0;
        frame(&b, 0x01, "");
        frame(&b, 0x80, "abc");
        vec_check("empty first fragment", NULL, &b, x);
    }
    {
        const xev x[] = { X_TEXT("a"), X_BIN("b"), X_TEXT("\xc3\xa9t\xc3\xa9"), X_PING("p"),
                          X_CLOSE(1001, ""), X_END };
        b.n = 0;
        frame(&b, 0x81, "a");
        frame(&b, 0x82, "b");
        frame(&b, 0x81, "\xc3\xa9t\xc3\xa9");
        frame(&b, 0x89, "p");
        framen(&b, 0x88, "\x03\xe9", 2);
        vec_check("several messages in one buffer", NULL, &b, x);
    }
    {
        const xev x[] = { X_TEXT("Hi"), X_TEXT("Hi"), X_BIN("Hi"), X_END };
        b.n = 0;
        frame_ex(&b, 0x81, "Hi", 2, 1, LEN_16);
        frame_ex(&b, 0x81, "Hi", 2, 1, LEN_64);
        frame_ex(&b, 0x02, "H", 1, 1, LEN_64);
        frame_ex(&b, 0x80, "i", 1, 1, LEN_16);
        vec_check("non-minimal length encodings are accepted", NULL, &b, x);
    }
    {
        char p125[125], c125[125];
        xev x[] = { X_PING(""), X_PONG(""), X_CLOSE(1000, ""), X_END };
        memset(p125, 'p', 125);
        memcpy(c125, "\x03\xe8", 2);
        memset(c125 + 2, 'p', 123);
        b.n = 0;
        framen(&b, 0x89, p125, 125);
        framen(&b, 0x8A, p125, 125);
        framen(&b, 0x88, c125, 125);
        x[0].data = x[1].data = x[2].data = p125;
        x[0].len = x[1].len = 125;
        x[2].len = 123;
        vec_check("125-byte control payloads", NULL, &b, x);
    }
    {
        const xev x[] = { X_PING("abc"), X_END };
        b.n = 0;
        frame_ex(&b, 0x89, "abc", 3, 1, LEN_16);
        vec_check("control frame with a 16-bit length ≤ 125", NULL, &b, x);
    }

    /* close frames */
    {
        const xev x[] = { X_CLOSE(1005, ""), X_END };
        b.n = 0;
        frame(&b, 0x88, "");
        vec_check("close without payload → 1005", NULL, &b, x);
    }
    {
        static const unsigned okcodes[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                            1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999 };
        size_t i;
        for (i = 0; i < sizeof okcodes / sizeof okcodes[0]; i++) {
            uint8_t p[6] = { (uint8_t)(okcodes[i] >> 8), (uint8_t)okcodes[i], 'o', 'k', 0xc3, 0xa9 };
            xev x[] = { X_CLOSE(0, "ok\xc3\xa9"), X_END };
            char name[64];
            x[0].code = (uint16_t)okcodes[i];
            b.n = 0;
            framen(&b, 0x88, p, sizeof p);
            snprintf(name, sizeof name, "close %u with reason", okcodes[i]);
            vec_check(name, NULL, &b, x);
        }
    }

    /* UTF-8 checks off, and compressed messages */
    {
        const xev x[] = { X_TEXT("\xff\xed\xa0\x80"), X_END };
        c = cfg_default;
        c.no_utf8 = 1;
        b.n = 0;
        frame(&b, 0x81, "\xff\xed\xa0\x80");
        vec_check("validate_utf8 = 0: invalid text passes", &c, &b, x);
    }
    {
        const xev x[] = { X_CTEXT("\xff\xfe"), X_CTEXT("ab\xc3"), X_TEXT("plain"), X_END };
        c = cfg_default;
        c.rsv_allowed = 4;
        b.n = 0;
        frame(&b, 0x81 | RSV1, "\xff\xfe");
        frame(&b, 0x01 | RSV1, "ab");
        frame(&b, 0x80, "\xc3");
        frame(&b, 0x81, "plain");
        vec_check("RSV1 allowed: compressed text is not checked, flag on every chunk", &c, &b, x);
    }
    {
        const xev x[] = { { WSD_WS_EV_DATA, WSD_WS_BINARY, 1, 1, 0, "zz", 2, 1 }, X_END };
        c = cfg_default;
        c.rsv_allowed = 4;
        b.n = 0;
        frame(&b, 0x02 | RSV1, "z");
        frame(&b, 0x80, "z");
        vec_check("RSV1 allowed: compressed binary", &c, &b, x);
    }

    /* max_message */
    {
        const xev x[] = { X_TEXT("Hello"), X_TEXT("Hel" "lo"), X_END };
        c = cfg_default;
        c.max_message = 5;
        b.n = 0;
        frame(&b, 0x81, "Hello");
        frame(&b, 0x01, "Hel");
        frame(&b, 0x80, "lo");
        vec_check("max_message 5: messages of exactly 5 bytes pass", &c, &b, x);
    }
    {
        char big[100];
        xev x[] = { X_TEXT_PART("Hel", 1, 0), X_PING(""), X_TEXT_PART("lo", 0, 1), X_END };
        memset(big, 'x', 100);
        x[1].data = big;
        x[1].len = 100;
        c = cfg_default;
        c.max_message = 5;
        b.n = 0;
        frame(&b, 0x01, "Hel");
        framen(&b, 0x89, big, 100);
        frame(&b, 0x80, "lo");
        vec_check("max_message does not count control frames", &c, &b, x);
    }
    buf_free(&b);
}

/* ---- errors ---------------------------------------------------------------- */

static void err_vec(const char *name, const config *cfg, const buf *b, uint16_t code)
{
    const xev x[] = { X_ERR(0), X_END };
    xev y[2];
    memcpy(y, x, sizeof y);
    y[0].code = code;
    vec_check(name, cfg, b, y);
}

static void test_errors(void)
{
    buf b = { 0 };
    config c;
    char name[80];
    int op;

    b.n = 0;
    frame_ex(&b, 0x81, "Hello", 5, 0, LEN_MIN);
    err_vec("unmasked text → 1002", NULL, &b, 1002);
    b.n = 0;
    frame(&b, 0x81, "ok");
    frame_ex(&b, 0x89, "", 0, 0, LEN_MIN);
    {
        const xev x[] = { X_TEXT("ok"), X_ERR(1002), X_END };
        vec_check("unmasked empty ping after a message → 1002", NULL, &b, x);
    }

    for (op = 3; op <= 0xF; op++) {
        if (op >= 8 && op <= 0xA)
            continue;
        b.n = 0;
        frame(&b, 0x80 | op, "x");
        snprintf(name, sizeof name, "opcode %d → 1002", op);
        err_vec(name, NULL, &b, 1002);
    }

    b.n = 0;
    frame(&b, 0x81 | RSV1, "x");
    err_vec("RSV1 without an extension → 1002", NULL, &b, 1002);
    b.n = 0;
    frame(&b, 0x81 | RSV2, "x");
    err_vec("RSV2 → 1002", NULL, &b, 1002);
    b.n = 0;
    frame(&b, 0x81 | RSV3, "x");
    err_vec("RSV3 → 1002", NULL, &b, 1002);
    c = cfg_default;
    c.rsv_allowed = 4;
    b.n = 0;
    frame(&b, 0x81 | RSV2, "x");
    err_vec("RSV2 with RSV1 allowed → 1002", &c, &b, 1002);
    b.n = 0;
    frame(&b, 0x89 | RSV1, "x");
    err_vec("RSV1 on a ping (RSV1 allowed) → 1002", &c, &b, 1002);
    b.n = 0;
    frame(&b, 0x88 | RSV1, "");
    err_vec("RSV1 on a close (RSV1 allowed) → 1002", &c, &b, 1002);
    b.n = 0;
    frame(&b, 0x01 | RSV1, "a");
    frame(&b, 0x80 | RSV1, "b");
    err_vec("RSV1 on a continuation (RSV1 allowed) → 1002", &c, &b, 1002);
    b.n = 0;
    frame(&b, 0x01, "a");
    frame(&b, 0x80 | RSV1, "b");
    err_vec("RSV1 on a continuation of an uncompressed message → 1002", &c, &b, 1002);

    b.n = 0;
    frame(&b, 0x09, "x");
    err_vec("ping with FIN=0 → 1002", NULL, &b, 1002);
    b.n = 0;
    frame(&b, 0x08, "");
    err_vec("close with FIN=0 → 1002", NULL, &b, 1002);
    {
        char p126[127];
        memset(p126, 'p', 126);
        p126[126] = 0;
        b.n = 0;
        frame(&b, 0x89, p126);
        err_vec("ping with 126-byte payload → 1002", NULL, &b, 1002);
        b.n = 0;
        frame_ex(&b, 0x8A, p126, 126, 1, LEN_64);
        err_vec("pong with 126-byte payload (64-bit length) → 1002", NULL, &b, 1002);
        b.n = 0;
        frame_ex(&b, 0x89, "ab", 2, 1, LEN_64);
        {
            const xev x[] = { X_PING("ab"), X_END };
            vec_check("ping with 64-bit length ≤ 125 is fine", NULL, &b, x);
        }
    }

    b.n = 0;
    frame(&b, 0x80, "x");
    err_vec("continuation without a message → 1002", NULL, &b, 1002);
    b.n = 0;
    frame(&b, 0x81, "a");
    frame(&b, 0x80, "x");
    {
        const xev x[] = { X_TEXT("a"), X_ERR(1002), X_END };
        vec_check("continuation after a finished message → 1002", NULL, &b, x);
    }
    b.n = 0;
    frame(&b, 0x01, "a");
    frame(&b, 0x81, "b");
    err_vec("text while a fragmented message is open → 1002", NULL, &b, 1002);
    b.n = 0;
    frame(&b, 0x02, "a");
    frame(&b, 0x82, "b");
    err_vec("binary while a fragmented message is open → 1002", NULL, &b, 1002);
    b.n = 0;
    frame(&b, 0x01, "a");
    frame(&b, 0x89, "");
    frame(&b, 0x02, "b");
    {
        const xev x[] = { X_PING(""), X_ERR(1002), X_END };
        vec_check("binary after ping inside an open text message → 1002", NULL, &b, x);
    }

    {   /* 64-bit length with the top bit set */
        static const uint8_t m[] = { 0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 'x' };
        static const uint8_t m2[] = { 0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4, 'x' };
        const xev x[] = { X_ERR(1002), X_END };
        vec_bytes("64-bit length with the MSB set → 1002", NULL, m, sizeof m, x);
        /* 2^63-1 is legal; we only see one byte of it: a non-final chunk */
        {
            transcript t;
            run(&cfg_default, m2, sizeof m2, NULL, 0, &t);
            ok(!t.violations && t.n == 1 && t.r[0].type == WSD_WS_EV_DATA && !t.r[0].fin &&
               t.r[0].data.n == 1 && t.r[0].data.p[0] == ('x' ^ 1),
               "64-bit length 2^63-1 is accepted, chunk handed out");
            tr_free(&t);
        }
    }

    /* max_message */
    c = cfg_default;
    c.max_message = 5;
    b.n = 0;
    frame(&b, 0x81, "Hello!");
    err_vec("max_message 5, 6-byte frame → 1009", &c, &b, 1009);
    b.n = 0;
    frame(&b, 0x01, "Hel");
    frame(&b, 0x80, "lo!");
    err_vec("max_message 5, fragments 3+3 → 1009", &c, &b, 1009);
    b.n = 0;
    frame(&b, 0x01, "Hello");
    frame(&b, 0x00, "");
    frame(&b, 0x80, "!");
    err_vec("max_message 5, fragments 5+0+1 → 1009", &c, &b, 1009);
    c.max_message = 100;
    b.n = 0;
    frame_ex(&b, 0x82, "x", 1, 1, LEN_64);
    b.p[9] = 101;   /* declare 101 bytes, send 1 */
    err_vec("max_message 100, declared 101 → 1009 before any payload", &c, &b, 1009);

    /* close frames */
    b.n = 0;
    framen(&b, 0x88, "\x03", 1);
    err_vec("close with 1-byte payload → 1002", NULL, &b, 1002);
    b.n = 0;
    frame_ex(&b, 0x88, "\x03", 1, 1, LEN_16);
    err_vec("close with 1-byte payload, 16-bit length → 1002", NULL, &b, 1002);
    {
        static const unsigned bad[] = { 0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000,
                                        2999, 5000, 65535 };
        size_t i;
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            uint8_t p[2] = { (uint8_t)(bad[i] >> 8), (uint8_t)bad[i] };
            b.n = 0;
            framen(&b, 0x88, p, 2);
            snprintf(name, sizeof name, "close code %u → 1002", bad[i]);
            err_vec(name, NULL, &b, 1002);
        }
    }
    b.n = 0;
    framen(&b, 0x88, "\x03\xe8\xff", 3);
    err_vec("close reason FF → 1007", NULL, &b, 1007);
    b.n = 0;
    framen(&b, 0x88, "\x03\xe8" "ab\xe2\x82", 6);
    err_vec("close reason truncated sequence → 1007", NULL, &b, 1007);
    b.n = 0;
    framen(&b, 0x88, "\x03\xe8" "\xed\xa0\x80", 5);
    err_vec("close reason surrogate → 1007", NULL, &b, 1007);

    buf_free(&b);
}

/* ---- UTF-8 in text messages (Kuhn / Autobahn case 6) ----------------------- */

typedef struct {
    const char *name;
    const char *s;
    size_t n;
    int valid;
} u8vec;

#define U(name, s, valid) { name, s, sizeof(s) - 1, valid }

static const u8vec u8vectors[] = {
    U("kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 1),
    U("ascii", "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!", 1),
    U("U+0000", "\x00", 1),
    U("U+0080", "\xc2\x80", 1),
    U("U+0800", "\xe0\xa0\x80", 1),
    U("U+10000", "\xf0\x90\x80\x80", 1),
    U("U+007F", "\x7f", 1),
    U("U+07FF", "\xdf\xbf", 1),
    U("U+FFFF", "\xef\xbf\xbf", 1),
    U("U+10FFFF", "\xf4\x8f\xbf\xbf", 1),
    U("U+D7FF", "\xed\x9f\xbf", 1),
    U("U+E000", "\xee\x80\x80", 1),
    U("U+FFFE", "\xef\xbf\xbe", 1),
    U("emoji", "\xf0\x9f\x98\x80\xf0\x9f\x98\x81", 1),
    U("U+110000", "\xf4\x90\x80\x80", 0),
    U("U+1FFFFF", "\xf7\xbf\xbf\xbf", 0),
    U("5-byte", "\xf8\x88\x80\x80\x80", 0),
    U("6-byte", "\xfc\x84\x80\x80\x80\x80", 0),
    U("lone 80", "\x80", 0),
    U("lone BF", "\xbf", 0),
    U("80 BF 80 BF", "\x80\xbf\x80\xbf", 0),
    U("C0 space", "\xc0 ", 0),
    U("E0 space", "\xe0 ", 0),
    U("F0 space", "\xf0 ", 0),
    U("missing last of 2", "\xc2", 0),
    U("missing last of 3", "\xe0\xa0", 0),
    U("missing last of 4", "\xf0\x90\x80", 0),
    U("missing last: DF", "\xdf", 0),
    U("missing last: EF BF", "\xef\xbf", 0),
    U("missing last: F4 8F BF", "\xf4\x8f\xbf", 0),
    U("FE", "\xfe", 0),
    U("FF", "\xff", 0),
    U("FE FE FF FF", "\xfe\xfe\xff\xff", 0),
    U("overlong / 2", "\xc0\xaf", 0),
    U("overlong / 3", "\xe0\x80\xaf", 0),
    U("overlong / 4", "\xf0\x80\x80\xaf", 0),
    U("max overlong 2", "\xc1\xbf", 0),
    U("max overlong 3", "\xe0\x9f\xbf", 0),
    U("max overlong 4", "\xf0\x8f\xbf\xbf", 0),
    U("overlong NUL 2", "\xc0\x80", 0),
    U("overlong NUL 3", "\xe0\x80\x80", 0),
    U("U+D800", "\xed\xa0\x80", 0),
    U("U+DB7F", "\xed\xad\xbf", 0),
    U("U+DC00", "\xed\xb0\x80", 0),
    U("U+DFFF", "\xed\xbf\xbf", 0),
    U("U+D800 U+DC00", "\xed\xa0\x80\xed\xb0\x80", 0),
    U("kosme + surrogate + edited",
      "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64", 0),
    U("valid then FF then valid", "Hello\xffWorld", 0),
};

static void test_utf8_messages(void)
{
    size_t v, i;
    buf b = { 0 };
    char name[160];

    for (v = 0; v < sizeof u8vectors / sizeof u8vectors[0]; v++) {
        const u8vec *u = &u8vectors[v];
        xev x[] = { X_TEXT(""), X_END };
        transcript want, got;
        char why[200];
        int all = 1;

        if (u->valid) {
            x[0].data = u->s;
            x[0].len = u->n;
        } else {
            x[0] = (xev)X_ERR(1007);
        }
        b.n = 0;
        framen(&b, 0x81, u->s, u->n);
        snprintf(name, sizeof name, "text \"%s\" %s", u->name, u->valid ? "passes" : "→ 1007");
        vec_check(name, NULL, &b, x);

        /* the same payload as two fragments split at every byte, and as
         * three with an empty middle one and a ping in between */
        expect_to_tr(x, &want);
        for (i = 0; i <= u->n; i++) {
            b.n = 0;
            framen(&b, 0x01, u->s, i);
            framen(&b, 0x80, u->s + i, u->n - i);
            run(&cfg_default, b.p, b.n, NULL, 0, &got);
            normalise(&got);
            if (got.violations || !tr_equal(&got, &want, why, sizeof why)) {
                all = 0;
                printf("#   fragments %zu+%zu: %s\n", i, u->n - i, got.violations ? got.why : why);
            }
            tr_free(&got);

            b.n = 0;
            framen(&b, 0x01, u->s, i);
            framen(&b, 0x00, "", 0);
            framen(&b, 0x8A, "", 0);
            framen(&b, 0x80, u->s + i, u->n - i);
            run(&cfg_default, b.p, b.n, NULL, 0, &got);
            normalise(&got);
            /* the pong comes out unless the error came first */
            if (got.violations || got.n < 1 ||
                got.r[got.n - 1].type != want.r[0].type ||
                got.r[got.n - 1].code != want.r[0].code) {
                all = 0;
                printf("#   fragments %zu+0+%zu with pong: wrong result\n", i, u->n - i);
            }
            tr_free(&got);
        }
        ok(all, "text \"%s\": split into fragments at every byte", u->name);
        tr_free(&want);
    }
    buf_free(&b);
}

/* ---- event-level details --------------------------------------------------- */

static size_t feed1(wsd_ws_decoder *d, uint8_t *p, size_t n, wsd_ws_event *ev)
{
    return wsd_ws_decode(d, p, n, ev);
}

static void test_events(void)
{
    wsd_ws_decoder d;
    wsd_ws_event ev;
    buf b = { 0 };
    size_t used, off;

    /* fragment flags, raw */
    frame(&b, 0x01, "Hel");
    frame(&b, 0x80, "lo");
    wsd_ws_decoder_init(&d, 0);
    used = feed1(&d, b.p, b.n, &ev);
    ok(ev.type == WSD_WS_EV_DATA && ev.opcode == WSD_WS_TEXT && ev.first && !ev.fin &&
       ev.len == 3 && memcmp(ev.data, "Hel", 3) == 0 && used == 9,
       "first fragment: DATA TEXT first !fin \"Hel\", consumed 2+4+3");
    off = used;
    used = feed1(&d, b.p + off, b.n - off, &ev);
    ok(ev.type == WSD_WS_EV_DATA && ev.opcode == WSD_WS_TEXT && !ev.first && ev.fin &&
       ev.len == 2 && memcmp(ev.data, "lo", 2) == 0 && used == 8,
       "continuation: DATA opcode TEXT !first fin \"lo\"");
    off += used;
    used = feed1(&d, b.p + off, b.n - off, &ev);
    ok(ev.type == WSD_WS_EV_MORE && used == 0 && off == b.n, "then MORE");

    /* empty final frame: the event consumes just the header */
    b.n = 0;
    frame(&b, 0x81, "");
    frame(&b, 0x81, "x");
    wsd_ws_decoder_init(&d, 0);
    used = feed1(&d, b.p, b.n, &ev);
    ok(ev.type == WSD_WS_EV_DATA && ev.len == 0 && ev.fin && ev.first && used == 6,
       "empty final frame: DATA len 0, consumed = 6 header bytes");
    used = feed1(&d, b.p + 6, b.n - 6, &ev);
    ok(ev.type == WSD_WS_EV_DATA && ev.len == 1 && ev.data[0] == 'x' && used == 7,
       "next frame decoded after it");

    /* partial payload comes out as it arrives, unmasked in place */
    b.n = 0;
    frame(&b, 0x82, "0123456789");
    wsd_ws_decoder_init(&d, 0);
    used = feed1(&d, b.p, 6 + 3, &ev);
    ok(ev.type == WSD_WS_EV_DATA && ev.len == 3 && !ev.fin && ev.first &&
       memcmp(ev.data, "012", 3) == 0 && ev.data == b.p + 6 && used == 9,
       "header + 3 of 10 payload bytes: DATA \"012\" in place, not fin");
    used = feed1(&d, b.p + 9, 4, &ev);
    ok(ev.type == WSD_WS_EV_DATA && ev.len == 4 && !ev.fin && !ev.first &&
       memcmp(ev.data, "3456", 4) == 0 && used == 4, "next 4: \"3456\"");
    used = feed1(&d, b.p + 13, 3, &ev);
    ok(ev.type == WSD_WS_EV_DATA && ev.len == 3 && ev.fin && memcmp(ev.data, "789", 3) == 0,
       "last 3: \"789\" fin");
    used = feed1(&d, b.p + 16, 0, &ev);
    ok(ev.type == WSD_WS_EV_MORE && used == 0, "nothing more: MORE");

    /* a chunk ends where the frame ends, the next frame's bytes follow */
    b.n = 0;
    frame(&b, 0x81, "ab");
    frame(&b, 0x89, "pi");
    wsd_ws_decoder_init(&d, 0);
    used = feed1(&d, b.p, b.n, &ev);
    ok(ev.type == WSD_WS_EV_DATA && ev.len == 2 && used == 8, "DATA stops at the frame's end");
    used = feed1(&d, b.p + 8, 3, &ev);
    ok(ev.type == WSD_WS_EV_MORE && used == 3, "part of a ping header: MORE");
    used = feed1(&d, b.p + 11, 4, &ev);
    ok(ev.type == WSD_WS_EV_MORE && used == 4, "rest of the header + 1 payload byte: MORE");
    {
        uint8_t last = b.p[15];
        used = feed1(&d, &last, 1, &ev);
        ok(ev.type == WSD_WS_EV_PING && ev.len == 2 && memcmp(ev.data, "pi", 2) == 0 && used == 1,
           "last ping byte: PING \"pi\", collected in the decoder");
    }

    /* errors: detected after two bytes, reason strings, stickiness */
    {
        uint8_t h[2] = { 0x81, 0x05 };
        wsd_ws_decoder_init(&d, 0);
        used = feed1(&d, h, 2, &ev);
        ok(ev.type == WSD_WS_EV_ERROR && ev.close_code == 1002, "unmasked: error after 2 bytes");
        is_str(ev.reason, "frame not masked", "reason \"frame not masked\"");
        used = feed1(&d, b.p, b.n, &ev);
        ok(ev.type == WSD_WS_EV_ERROR && ev.close_code == 1002 && used == 0,
           "sticky: same error, nothing consumed");
        is_str(ev.reason, "frame not masked", "sticky reason");
        used = feed1(&d, NULL, 0, &ev);
        ok(ev.type == WSD_WS_EV_ERROR && used == 0, "sticky with no input too");
    }
    {
        int op;
        for (op = 3; op <= 15; op++) {
            uint8_t h[2] = { (uint8_t)(0x80 | op), 0x80 };
            char want[32];
            if (op >= 8 && op <= 10)
                continue;
            snprintf(want, sizeof want, "bad opcode %d", op);
            wsd_ws_decoder_init(&d, 0);
            feed1(&d, h, 2, &ev);
            ok(ev.type == WSD_WS_EV_ERROR && ev.close_code == 1002, "opcode %d: 1002", op);
            is_str(ev.reason, want, "opcode %d: reason", op);
        }
    }

    /* 1009 at the header, before the payload is there */
    {
        uint8_t h[8] = { 0x82, 0x80 | 11, 1, 2, 3, 4 };
        wsd_ws_decoder_init(&d, 10);
        used = feed1(&d, h, 6, &ev);
        ok(ev.type == WSD_WS_EV_ERROR && ev.close_code == 1009,
           "max 10, header announcing 11: 1009 before any payload");
        h[1] = 0x80 | 10;
        wsd_ws_decoder_init(&d, 10);
        used = feed1(&d, h, 8, &ev);
        ok(ev.type == WSD_WS_EV_DATA && ev.len == 2 && used == 8, "max 10, 10 announced: DATA");
    }
    {   /* a fragmented message crosses the limit at its second header */
        wsd_ws_decoder_init(&d, 5);
        b.n = 0;
        frame(&b, 0x01, "abc");
        frame(&b, 0x80, "def");
        used = feed1(&d, b.p, b.n, &ev);
        ok(ev.type == WSD_WS_EV_DATA && ev.len == 3 && !ev.fin, "max 5: first fragment (3) delivered");
        off = used;
        used = feed1(&d, b.p + off, 6, &ev);
        ok(ev.type == WSD_WS_EV_ERROR && ev.close_code == 1009,
           "max 5: second fragment's header (3 more) → 1009");
    }

    /* fail-fast UTF-8 */
    {
        uint8_t p[1000];
        memset(p, 'a', sizeof p);
        b.n = 0;
        framen(&b, 0x81, p, sizeof p);   /* header 2+2+4 = 8 */
        /* corrupt payload byte 2 (masked in the buffer: XOR the plain value) */
        b.p[8 + 2] = (uint8_t)(0xFF ^ rfc_key[2]);
        wsd_ws_decoder_init(&d, 0);
        used = feed1(&d, b.p, 8 + 3, &ev);
        ok(ev.type == WSD_WS_EV_ERROR && ev.close_code == 1007,
           "1000-byte text frame, \"aa\\xff\" of it arrived: 1007 at once, no DATA");

        b.n = 0;
        framen(&b, 0x81, p, sizeof p);
        b.p[8 + 2] = (uint8_t)(0xFF ^ rfc_key[2]);
        wsd_ws_decoder_init(&d, 0);
        used = feed1(&d, b.p, 8 + 2, &ev);
        ok(ev.type == WSD_WS_EV_DATA && ev.len == 2 && memcmp(ev.data, "aa", 2) == 0,
           "... fed up to before the bad byte: DATA \"aa\"");
        used = feed1(&d, b.p + 10, 1, &ev);
        ok(ev.type == WSD_WS_EV_ERROR && ev.close_code == 1007, "... then the bad byte alone: 1007");
    }
    {
        b.n = 0;
        frame(&b, 0x81, "\xed\xa0\x80");
        wsd_ws_decoder_init(&d, 0);
        used = feed1(&d, b.p, 7, &ev);
        ok(ev.type == WSD_WS_EV_DATA && ev.len == 1 && ev.data[0] == 0xED,
           "surrogate: the ED alone may be handed out");
        used = feed1(&d, b.p + 7, 1, &ev);
        ok(ev.type == WSD_WS_EV_ERROR && ev.close_code == 1007, "surrogate: A0 → 1007 at once");
    }
    {
        b.n = 0;
        frame(&b, 0x01, "\xf0\x9f");
        frame(&b, 0x80, "\x98\x80");
        wsd_ws_decoder_init(&d, 0);
        used = feed1(&d, b.p, b.n, &ev);
        ok(ev.type == WSD_WS_EV_DATA && ev.len == 2 && !ev.fin, "U+1F600 across fragments: first half");
        used = feed1(&d, b.p + used, b.n - used, &ev);
        ok(ev.type == WSD_WS_EV_DATA && ev.len == 2 && ev.fin, "... second half, fin");
    }
    {
        b.n = 0;
        frame(&b, 0x01, "\xf0\x9f\x98");
        frame(&b, 0x80, "");
        wsd_ws_decoder_init(&d, 0);
        used = feed1(&d, b.p, b.n, &ev);
        ok(ev.type == WSD_WS_EV_DATA && ev.len == 3 && !ev.fin, "truncated at fin: first fragment ok");
        used = feed1(&d, b.p + used, b.n - used, &ev);
        ok(ev.type == WSD_WS_EV_ERROR && ev.close_code == 1007, "... empty final fragment → 1007");
    }

    /* control payload lives in the decoder across a split */
    {
        b.n = 0;
        frame(&b, 0x89, "abcdef");
        wsd_ws_decoder_init(&d, 0);
        used = feed1(&d, b.p, 8, &ev);
        ok(ev.type == WSD_WS_EV_MORE && used == 8, "ping: header + 2 bytes: MORE");
        memset(b.p, 0, 8);     /* the caller may reuse its buffer */
        used = feed1(&d, b.p + 8, 4, &ev);
        ok(ev.type == WSD_WS_EV_PING && ev.len == 6 && memcmp(ev.data, "abcdef", 6) == 0,
           "ping payload survives the caller reusing its buffer");
    }

    /* init defaults */
    wsd_ws_decoder_init(&d, 123);
    ok(d.max_message == 123 && d.rsv_allowed == 0 && d.validate_utf8 == 1,
       "init: max_message set, rsv_allowed 0, validate_utf8 1");
    used = feed1(&d, NULL, 0, &ev);
    ok(ev.type == WSD_WS_EV_MORE && used == 0, "empty input: MORE");

    buf_free(&b);
}

/* ---- encoder helpers -------------------------------------------------------- */

static void test_encoder(void)
{
    uint8_t out[200];
    size_t n;

    n = wsd_ws_header(out, WSD_WS_TEXT, 1, 0, 5);
    is_mem(out, n, "\x81\x05", 2, "header: text fin 5 (RFC \"Hello\")");
    n = wsd_ws_header(out, WSD_WS_TEXT, 0, 0, 3);
    is_mem(out, n, "\x01\x03", 2, "header: text !fin 3 (RFC \"Hel\")");
    n = wsd_ws_header(out, WSD_WS_CONT, 1, 0, 2);
    is_mem(out, n, "\x80\x02", 2, "header: cont fin 2 (RFC \"lo\")");
    n = wsd_ws_header(out, WSD_WS_PING, 1, 0, 0);
    is_mem(out, n, "\x89\x00", 2, "header: ping 0");
    n = wsd_ws_header(out, WSD_WS_TEXT, 1, 1, 7);
    is_mem(out, n, "\xc1\x07", 2, "header: rsv1");
    n = wsd_ws_header(out, WSD_WS_BINARY, 1, 0, 125);
    is_mem(out, n, "\x82\x7d", 2, "header: 125 → 7-bit");
    n = wsd_ws_header(out, WSD_WS_BINARY, 1, 0, 126);
    is_mem(out, n, "\x82\x7e\x00\x7e", 4, "header: 126 → 16-bit");
    n = wsd_ws_header(out, WSD_WS_BINARY, 1, 0, 256);
    is_mem(out, n, "\x82\x7e\x01\x00", 4, "header: 256 (RFC 5.7)");
    n = wsd_ws_header(out, WSD_WS_BINARY, 1, 0, 65535);
    is_mem(out, n, "\x82\x7e\xff\xff", 4, "header: 65535 → 16-bit");
    n = wsd_ws_header(out, WSD_WS_BINARY, 1, 0, 65536);
    is_mem(out, n, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10, "header: 65536 (RFC 5.7)");
    n = wsd_ws_header(out, WSD_WS_BINARY, 1, 0, UINT64_C(0x0102030405060708));
    is_mem(out, n, "\x82\x7f\x01\x02\x03\x04\x05\x06\x07\x08", 10, "header: 64-bit byte order");

    n = wsd_ws_close_frame(out, 1000, "");
    is_mem(out, n, "\x88\x02\x03\xe8", 4, "close 1000, no reason");
    n = wsd_ws_close_frame(out, 1000, NULL);
    is_mem(out, n, "\x88\x02\x03\xe8", 4, "close 1000, NULL reason");
    n = wsd_ws_close_frame(out, 1001, "bye");
    is_mem(out, n, "\x88\x05\x03\xe9" "bye", 7, "close 1001 \"bye\"");
    n = wsd_ws_close_frame(out, 0, "ignored");
    is_mem(out, n, "\x88\x00", 2, "close code 0 → empty payload");
    n = wsd_ws_close_frame(out, 1002, "bad opcode 3");
    is_mem(out, n, "\x88\x0e\x03\xea" "bad opcode 3", 16, "close 1002 with reason");
    {
        char r[300];
        struct { size_t pad; const char *ch; size_t want; } cut[] = {
            { 200, "", 123 },            /* ASCII: plain cut */
            { 123, "", 123 },            /* exactly 123 */
            { 121, "\xc3\xa9", 123 },    /* é ends at 123: kept */
            { 122, "\xc3\xa9", 122 },    /* é straddles the cut: dropped */
            { 120, "\xe2\x82\xac", 123 },/* € ends at 123 */
            { 121, "\xe2\x82\xac", 121 },
            { 122, "\xe2\x82\xac", 122 },
            { 119, "\xf0\x9f\x98\x80", 123 },
            { 120, "\xf0\x9f\x98\x80", 120 },
            { 121, "\xf0\x9f\x98\x80", 121 },
            { 122, "\xf0\x9f\x98\x80", 122 },
        };
        size_t i;
        for (i = 0; i < sizeof cut / sizeof cut[0]; i++) {
            wsd_ws_decoder d;
            wsd_ws_event ev;
            uint8_t masked[200];
            size_t k, used;
            memset(r, 'r', cut[i].pad);
            strcpy(r + cut[i].pad, cut[i].ch);
            strcat(r, "tail-that-is-cut-away");
            n = wsd_ws_close_frame(out, 3000, r);
            ok(n == 2 + 2 + cut[i].want && out[0] == 0x88 && out[1] == 2 + cut[i].want &&
               out[2] == 0x0b && out[3] == 0xb8 && memcmp(out + 4, r, cut[i].want) == 0,
               "close reason: %zu + %zu-byte char → %zu bytes", cut[i].pad, strlen(cut[i].ch),
               cut[i].want);
            ok(n <= 2 + 125, "... frame fits a control frame");
            /* round trip through the decoder (masked like a client would) */
            masked[0] = out[0];
            masked[1] = (uint8_t)(0x80 | out[1]);
            memcpy(masked + 2, rfc_key, 4);
            for (k = 2; k < n; k++)
                masked[4 + k] = (uint8_t)(out[k] ^ rfc_key[(k - 2) & 3]);
            wsd_ws_decoder_init(&d, 0);
            used = wsd_ws_decode(&d, masked, n + 4, &ev);
            ok(ev.type == WSD_WS_EV_CLOSE && ev.close_code == 3000 && ev.len == cut[i].want &&
               used == n + 4, "... decodes as CLOSE 3000 with a valid reason");
        }
    }

    {
        static const struct { unsigned code; int valid; } cc[] = {
            { 0, 0 }, { 999, 0 }, { 1000, 1 }, { 1001, 1 }, { 1002, 1 }, { 1003, 1 },
            { 1004, 0 }, { 1005, 0 }, { 1006, 0 }, { 1007, 1 }, { 1008, 1 }, { 1009, 1 },
            { 1010, 1 }, { 1011, 1 }, { 1012, 1 }, { 1013, 1 }, { 1014, 1 }, { 1015, 0 },
            { 1016, 0 }, { 2000, 0 }, { 2999, 0 }, { 3000, 1 }, { 3500, 1 }, { 4000, 1 },
            { 4999, 1 }, { 5000, 0 }, { 65535, 0 }, { 70000, 0 },
        };
        size_t i;
        unsigned code, nvalid = 0;
        for (i = 0; i < sizeof cc / sizeof cc[0]; i++)
            is_int(wsd_ws_close_code_valid(cc[i].code), cc[i].valid, "close code %u", cc[i].code);
        for (code = 0; code < 70000; code++)
            nvalid += wsd_ws_close_code_valid(code) != 0;
        is_int(nvalid, 4 + 8 + 2000, "exactly 2012 codes are valid");
    }
}

/* ---- randomised: split invariance on generated traffic ---------------------- */

static uint32_t rng = 0x9e3779b9u;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void test_random_traffic(void)
{
    int iter, bad = 0;
    buf b = { 0 };
    for (iter = 0; iter < 3000; iter++) {
        int nf = 1 + (int)(rnd() % 6), f, open = 0;
        config c = cfg_default;
        transcript whole, split;
        size_t cuts[8], nc, k;
        char why[200];
        b.n = 0;
        c.rsv_allowed = rnd() % 2 ? 4 : 0;
        c.max_message = rnd() % 3 ? 0 : 1 + rnd() % 40;
        for (f = 0; f < nf; f++) {
            uint8_t p[200];
            size_t n = rnd() % 3 ? rnd() % 12 : rnd() % 200, i;
            int kind = (int)(rnd() % 10), b0;
            for (i = 0; i < n; i++) {
                static const uint8_t alpha[] = { 'a', 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xff };
                p[i] = rnd() % 4 ? 'a' + rnd() % 26 : alpha[rnd() % sizeof alpha];
            }
            if (kind < 2) {
                b0 = 0x89 + (int)(rnd() % 2);
                if (n > 125)
                    n = 125;
            } else if (kind < 3) {
                b0 = 0x88;
                if (n == 1)
                    n = 0;
                if (n >= 2) {
                    p[0] = 0x03;
                    p[1] = 0xe8;
                }
            } else if (open) {
                b0 = (rnd() % 2 ? 0x80 : 0x00);
            } else {
                b0 = (rnd() % 2 ? 0x01 : 0x02) | (rnd() % 2 ? 0x80 : 0);
                if (c.rsv_allowed && rnd() % 2)
                    b0 |= RSV1;
            }
            if ((b0 & 0x0F) < 8)
                open = !(b0 & 0x80);
            if (rnd() % 50 == 0)
                b0 ^= 1 << (rnd() % 8);        /* occasionally broken */
            frame_ex(&b, b0, p, n, rnd() % 100 != 0, rnd() % 10 ? LEN_MIN : rnd() % 2 ? LEN_16 : LEN_64);
        }
        run(&c, b.p, b.n, NULL, 0, &whole);
        normalise(&whole);
        nc = rnd() % 8;
        for (k = 0; k < nc; k++)
            cuts[k] = b.n ? rnd() % (b.n + 1) : 0;
        /* sort cuts */
        for (k = 1; k < nc; k++) {
            size_t j = k, v = cuts[k];
            while (j > 0 && cuts[j - 1] > v) {
                cuts[j] = cuts[j - 1];
                j--;
            }
            cuts[j] = v;
        }
        run(&c, b.p, b.n, cuts, nc, &split);
        normalise(&split);
        if (whole.violations || split.violations || !tr_equal(&whole, &split, why, sizeof why)) {
            if (bad++ < 3) {
                printf("#   iteration %d: %s\n", iter,
                       whole.violations ? whole.why : split.violations ? split.why : why);
                tr_print("whole", &whole);
                tr_print("split", &split);
            }
        }
        tr_free(&whole);
        tr_free(&split);
    }
    ok(bad == 0, "3000 random frame sequences: invariants hold, random splits agree with whole");
    buf_free(&b);
}

/* wsd_ws_scan_frames: message boundaries in a run of server frames. */
static void test_scan_frames(void)
{
    uint8_t fb[400];
    size_t n = 0, second;
    wsd_ws_frames_info fi;

    /* CONT (not final), CONT final, a ping, TEXT final, TEXT not final */
    n += wsd_ws_header(fb + n, WSD_WS_CONT, 0, 0, 3);
    memcpy(fb + n, "abc", 3), n += 3;
    n += wsd_ws_header(fb + n, WSD_WS_CONT, 1, 0, 1);
    fb[n++] = 'd';
    n += wsd_ws_header(fb + n, WSD_WS_PING, 1, 0, 0);
    second = n;
    n += wsd_ws_header(fb + n, WSD_WS_TEXT, 1, 0, 300);
    memset(fb + n, 'x', 300), n += 300;
    n += wsd_ws_header(fb + n, WSD_WS_TEXT, 0, 0, 2);
    memcpy(fb + n, "yz", 2), n += 2;
    is_int(wsd_ws_scan_frames(fb, n, &fi), 0, "scan: whole frames");
    is_int(fi.first_start, second, "scan: the first message that starts here");
    is_int(fi.last_start, second + 4 + 300, "scan: the last message that starts here");
    is_int(fi.completes, 2, "scan: two messages end here");
    is_int(fi.begins_inside, 1, "scan: begins inside a message");
    is_int(fi.ends_inside, 1, "scan: ends inside one");
    is_int(wsd_ws_scan_frames(fb + second, n - second, &fi), 0, "scan: from the TEXT frame");
    is_int(fi.first_start, 0, "scan: starts a message at 0");
    is_int(fi.begins_inside, 0, "scan: does not begin inside");
    is_int(wsd_ws_scan_frames(fb, 0, &fi), 0, "scan: empty");
    is_int(fi.first_start, 0, "scan: empty: no start (n)");
    is_int(fi.last_start, 0, "scan: empty: no last start (n)");
    is_int(fi.completes, 0, "scan: empty: nothing ends");
    for (size_t cut = 1; cut < n; cut++) {
        int rc = wsd_ws_scan_frames(fb, cut, &fi);
        int whole = cut == 5 || cut == 8 || cut == 10 || cut == second + 4 + 300;
        if (rc != (whole ? 0 : -1)) {
            ok(0, "scan: cut at %zu: %s", cut, whole ? "whole" : "truncated");
            break;
        }
    }
    ok(1, "scan: every cut between frames is whole, every other is refused");
    fb[1] |= 0x80;
    is_int(wsd_ws_scan_frames(fb, n, &fi), -1, "scan: masked frames refused");
}

int main(void)
{
    test_scan_frames();
    test_encoder();
    test_events();
    test_rfc_examples();
    test_valid_sequences();
    test_errors();
    test_utf8_messages();
    test_random_traffic();
    return done_testing();
}
