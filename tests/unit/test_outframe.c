/* test_outframe.c — child stdout → server frames.
 *
 * Every output is parsed by a strict frame parser written here (unmasked,
 * no RSV bits, minimal lengths, sane fragmentation, no empty non-final
 * fragments, every text fragment valid UTF-8 on its own) and reassembled
 * into messages. Text-mode messages are compared with a reference model
 * (split at "\n", drop one "\r" before it, wsd_utf8_sanitize each line, an
 * unterminated tail is a message at EOF) for every way of chunking the
 * input: whole, byte by byte, 2 pieces at every point, 3 pieces at every pair
 * of points. Every call's output is checked against wsd_outframer_bound(),
 * with `out` allocated at exactly that size so ASan catches an overrun. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "outframe.h"
#include "utf8.h"
#include "ws.h"

/* ---- byte buffers and message lists ---------------------------------------- */

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

typedef struct {
    int opcode;
    buf data;
} msg;

typedef struct {
    msg *m;
    size_t n, cap;
} msglist;

static void ml_push(msglist *l, int opcode, const void *p, size_t n)
{
    if (l->n == l->cap) {
        l->cap = l->cap * 2 + 8;
        l->m = realloc(l->m, l->cap * sizeof *l->m);
        if (!l->m)
            abort();
    }
    memset(&l->m[l->n], 0, sizeof l->m[l->n]);
    l->m[l->n].opcode = opcode;
    put(&l->m[l->n].data, p, n);
    l->n++;
}

static void ml_free(msglist *l)
{
    size_t i;
    for (i = 0; i < l->n; i++)
        free(l->m[i].data.p);
    free(l->m);
    memset(l, 0, sizeof *l);
}

static int ml_equal(const msglist *a, const msglist *b, char *why, size_t whylen)
{
    size_t i;
    if (a->n != b->n) {
        snprintf(why, whylen, "%zu messages vs %zu", a->n, b->n);
        return 0;
    }
    for (i = 0; i < a->n; i++) {
        const msg *x = &a->m[i], *y = &b->m[i];
        if (x->opcode != y->opcode || x->data.n != y->data.n ||
            (x->data.n && memcmp(x->data.p, y->data.p, x->data.n) != 0)) {
            snprintf(why, whylen, "message %zu differs (opcode %d/%d, %zu/%zu bytes)", i,
                     x->opcode, y->opcode, x->data.n, y->data.n);
            return 0;
        }
    }
    return 1;
}

static void ml_print(const char *label, const msglist *l)
{
    size_t i;
    printf("#   %s: %zu messages\n", label, l->n);
    for (i = 0; i < l->n && i < 8; i++) {
        printf("#     [%zu] opcode %d\n", i, l->m[i].opcode);
        t_hexdump("      ", l->m[i].data.p, l->m[i].data.n);
    }
}

/* ---- the strict frame parser ----------------------------------------------- */

typedef struct {
    msglist msgs;
    int open, open_op;
    buf cur;
    int violations;
    char why[160];
    size_t frames;
} sink;

static void sink_bad(sink *s, const char *why)
{
    if (!s->violations++)
        snprintf(s->why, sizeof s->why, "%s", why);
}

static void sink_free(sink *s)
{
    ml_free(&s->msgs);
    free(s->cur.p);
    memset(s, 0, sizeof *s);
}

static void parse(sink *s, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b0, b1;
        int fin, op;
        uint64_t len;
        size_t h = 2, k;
        const uint8_t *pl;

        if (n - i < 2) {
            sink_bad(s, "truncated frame header");
            return;
        }
        b0 = p[i];
        b1 = p[i + 1];
        fin = b0 >> 7;
        op = b0 & 0x0F;
        if (b0 & 0x70)
            sink_bad(s, "RSV bit set");
        if (b1 & 0x80)
            sink_bad(s, "server frame masked");
        len = b1 & 0x7F;
        if (len == 126) {
            h = 4;
            if (n - i < h) {
                sink_bad(s, "truncated 16-bit length");
                return;
            }
            len = (uint64_t)p[i + 2] << 8 | p[i + 3];
            if (len < 126)
                sink_bad(s, "non-minimal 16-bit length");
        } else if (len == 127) {
            h = 10;
            if (n - i < h) {
                sink_bad(s, "truncated 64-bit length");
                return;
            }
            len = 0;
            for (k = 0; k < 8; k++)
                len = len << 8 | p[i + 2 + k];
            if (len <= 0xFFFF)
                sink_bad(s, "non-minimal 64-bit length");
            if (len >> 63)
                sink_bad(s, "64-bit length MSB set");
        }
        if (len > n - i - h) {
            sink_bad(s, "truncated payload");
            return;
        }
        pl = p + i + h;
        s->frames++;
        if (op == WSD_WS_TEXT || op == WSD_WS_BINARY) {
            if (s->open)
                sink_bad(s, "new message while one is open");
            s->open_op = op;
            s->cur.n = 0;
        } else if (op == WSD_WS_CONT) {
            if (!s->open)
                sink_bad(s, "continuation without an open message");
        } else {
            sink_bad(s, "unexpected opcode");
        }
        if (!fin && len == 0)
            sink_bad(s, "empty non-final fragment");
        if (s->open_op == WSD_WS_TEXT && !wsd_utf8_valid(pl, (size_t)len))
            sink_bad(s, "text fragment not valid UTF-8 on its own");
        put(&s->cur, pl, (size_t)len);
        if (fin) {
            if (s->open_op == WSD_WS_TEXT && !wsd_utf8_valid(s->cur.p, s->cur.n))
                sink_bad(s, "text message not valid UTF-8");
            ml_push(&s->msgs, s->open_op, s->cur.p, s->cur.n);
            s->open = 0;
        } else {
            s->open = 1;
        }
        i += h + (size_t)len;
    }
}

/* ---- running the encoder ---------------------------------------------------- */

/* One encode call into an exact-size malloc'd buffer, parsed into s. */
static void call(wsd_outframer *f, sink *s, const uint8_t *in, size_t n, int eof)
{
    size_t cap = wsd_outframer_bound(n), o;
    uint8_t *out = malloc(cap);
    uint8_t *copy = malloc(n ? n : 1);
    if (!out || !copy)
        abort();
    if (n)
        memcpy(copy, in, n);      /* exact-size input too */
    o = wsd_outframer_encode(f, n ? copy : NULL, n, eof, out);
    if (o > cap)
        sink_bad(s, "output exceeds wsd_outframer_bound");
    if (f->_ncarry > 3)
        sink_bad(s, "carry over 3 bytes");
    if (f->binary && f->_ncarry)
        sink_bad(s, "carry in binary mode");
    parse(s, out, o);
    free(out);
    free(copy);
}

enum { EOF_WITH_LAST = 0, EOF_SEPARATE = 1, EOF_NONE = 2 };

static void run(int binary, const uint8_t *in, size_t n, const size_t *cuts, size_t ncuts,
                int eofmode, sink *s)
{
    wsd_outframer f;
    size_t k, start = 0;

    memset(s, 0, sizeof *s);
    wsd_outframer_init(&f, binary);
    for (k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        call(&f, s, in + start, end - start, k == ncuts && eofmode == EOF_WITH_LAST);
        start = end;
    }
    if (eofmode == EOF_SEPARATE)
        call(&f, s, NULL, 0, 1);
    if (eofmode != EOF_NONE) {
        if (s->open)
            sink_bad(s, "message still open after EOF");
        if (f._ncarry || f._open)
            sink_bad(s, "state left after EOF");
        /* a second EOF emits nothing */
        {
            size_t before = s->frames;
            call(&f, s, NULL, 0, 1);
            if (s->frames != before)
                sink_bad(s, "second EOF emitted frames");
        }
    }
}

/* The reference for text mode. */
static void model_text(const uint8_t *in, size_t n, msglist *l)
{
    size_t i, start = 0;
    uint8_t *tmp = malloc(3 * n + 1);
    if (!tmp)
        abort();
    for (i = 0; i < n; i++) {
        if (in[i] == '\n') {
            size_t end = i, o;
            if (end > start && in[end - 1] == '\r')
                end--;
            o = wsd_utf8_sanitize(in + start, end - start, tmp);
            ml_push(l, WSD_WS_TEXT, tmp, o);
            start = i + 1;
        }
    }
    if (start < n) {
        size_t o = wsd_utf8_sanitize(in + start, n - start, tmp);
        ml_push(l, WSD_WS_TEXT, tmp, o);
    }
    free(tmp);
}

static int run_cmp(int binary, const uint8_t *in, size_t n, const size_t *cuts, size_t ncuts,
                   int eofmode, const msglist *want, const char *label)
{
    sink s;
    char why[200];
    int good;

    run(binary, in, n, cuts, ncuts, eofmode, &s);
    good = !s.violations && ml_equal(&s.msgs, want, why, sizeof why);
    if (!good) {
        size_t k;
        printf("#   %s: %s; cuts:", label, s.violations ? s.why : why);
        for (k = 0; k < ncuts; k++)
            printf(" %zu", cuts[k]);
        printf("\n");
        ml_print("got", &s.msgs);
        ml_print("want", want);
    }
    sink_free(&s);
    return good;
}

/* Text mode: every chunking gives the model's messages. */
static void check_text(const char *name, const void *pv, size_t n)
{
    const uint8_t *p = pv;
    msglist want = { 0 };
    size_t *cuts, i, j, runs;
    int good;

    model_text(p, n, &want);
    ok(run_cmp(0, p, n, NULL, 0, EOF_WITH_LAST, &want, "whole"), "%s: whole, eof in the same call", name);
    ok(run_cmp(0, p, n, NULL, 0, EOF_SEPARATE, &want, "whole+eof"), "%s: whole, then eof", name);

    cuts = malloc((n + 1) * sizeof *cuts);
    for (i = 0; i + 1 < n; i++)
        cuts[i] = i + 1;
    ok(run_cmp(0, p, n, cuts, n > 0 ? n - 1 : 0, EOF_SEPARATE, &want, "byte by byte"),
       "%s: byte by byte", name);
    free(cuts);

    good = 1;
    runs = 0;
    for (i = 0; i <= n && good; i++) {
        size_t c[1] = { i };
        good = run_cmp(0, p, n, c, 1, (int)(i % 2), &want, "2 pieces");
        runs++;
    }
    ok(good, "%s: 2 pieces, %zu splits", name, runs);

    if (n <= 120) {
        good = 1;
        runs = 0;
        for (i = 0; i <= n && good; i++)
            for (j = i; j <= n && good; j++) {
                size_t c[2] = { i, j };
                good = run_cmp(0, p, n, c, 2, (int)((i + j) % 2), &want, "3 pieces");
                runs++;
            }
        ok(good, "%s: 3 pieces, %zu splits", name, runs);
    }
    ml_free(&want);
}

/* Expected messages given as NUL-separated strings. */
static void check_msgs(const char *name, const char *in, size_t n, const char *const *want, size_t nwant)
{
    msglist l = { 0 }, m = { 0 };
    char why[200];
    size_t i;
    for (i = 0; i < nwant; i++)
        ml_push(&l, WSD_WS_TEXT, want[i], strlen(want[i]));
    model_text((const uint8_t *)in, n, &m);
    if (!ok(ml_equal(&m, &l, why, sizeof why), "%s: the model gives the expected messages", name)) {
        printf("#   %s\n", why);
        ml_print("model", &m);
    }
    ok(run_cmp(0, (const uint8_t *)in, n, NULL, 0, EOF_WITH_LAST, &l, name), "%s: messages", name);
    ml_free(&l);
    ml_free(&m);
    check_text(name, in, n);
}

/* ---- exact frames ----------------------------------------------------------- */

static size_t enc(wsd_outframer *f, const char *s, size_t n, int eof, uint8_t *out)
{
    return wsd_outframer_encode(f, (const uint8_t *)s, n, eof, out);
}

#define ENC(f, lit, eof, out) enc(f, lit, sizeof(lit) - 1, eof, out)

static void test_exact(void)
{
    wsd_outframer f;
    uint8_t out[4096];
    size_t o;

    wsd_outframer_init(&f, 0);
    ok(f.binary == 0 && f._open == 0 && f._ncarry == 0, "init text");
    o = ENC(&f, "a\nb\n", 0, out);
    is_mem(out, o, "\x81\x01" "a" "\x81\x01" "b", 6, "\"a\\nb\\n\" → two FIN text frames");
    o = ENC(&f, "", 1, out);
    is_int(o, 0, "EOF with nothing pending: nothing");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "abc", 0, out);
    is_mem(out, o, "\x01\x03" "abc", 5, "\"abc\": TEXT non-FIN at once");
    o = ENC(&f, "def\n", 0, out);
    is_mem(out, o, "\x80\x03" "def", 5, "\"def\\n\": CONT FIN");
    o = ENC(&f, "", 1, out);
    is_int(o, 0, "then EOF: nothing");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "abc", 0, out);
    o = ENC(&f, "", 1, out);
    is_mem(out, o, "\x80\x00", 2, "\"abc\" then EOF: empty CONT FIN");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "abc", 1, out);
    is_mem(out, o, "\x81\x03" "abc", 5, "\"abc\" + EOF in one call: one TEXT FIN");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "abc\n", 0, out);
    is_mem(out, o, "\x81\x03" "abc", 5, "\"abc\\n\"");
    o = ENC(&f, "de", 0, out);
    is_mem(out, o, "\x01\x02" "de", 4, "\"de\"");
    o = ENC(&f, "", 0, out);
    is_int(o, 0, "empty chunk, no EOF: nothing (no empty fragment)");
    o = ENC(&f, "f\ng", 0, out);
    is_mem(out, o, "\x80\x01" "f" "\x01\x01" "g", 6, "\"f\\ng\": CONT FIN f, TEXT non-FIN g");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "\n\n\n", 0, out);
    is_mem(out, o, "\x81\x00\x81\x00\x81\x00", 6, "\"\\n\\n\\n\": three empty messages");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "x\r", 0, out);
    is_mem(out, o, "\x01\x01" "x", 3, "\"x\\r\": the \\r is held");
    is_int(f._ncarry, 1, "one byte carried");
    o = ENC(&f, "\n", 0, out);
    is_mem(out, o, "\x80\x00", 2, "\"\\n\": it was \\r\\n, message ends");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "x\r", 0, out);
    o = ENC(&f, "y\n", 0, out);
    is_mem(out, o, "\x80\x02\ry", 4, "\"x\\r\" \"y\\n\": the \\r was data");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "\r", 0, out);
    is_int(o, 0, "lone \"\\r\": nothing yet");
    o = ENC(&f, "", 1, out);
    is_mem(out, o, "\x81\x01\r", 3, "then EOF: message \"\\r\"");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "a\r\r\n", 0, out);
    is_mem(out, o, "\x81\x02" "a\r", 4, "\"a\\r\\r\\n\": only one \\r is stripped");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "\xe2\x82", 0, out);
    is_int(o, 0, "\"\\xe2\\x82\": held back");
    is_int(f._ncarry, 2, "two bytes carried");
    o = ENC(&f, "\xac\n", 0, out);
    is_mem(out, o, "\x81\x03\xe2\x82\xac", 5, "\"\\xac\\n\": € completed");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "a\xf0\x9f", 0, out);
    is_mem(out, o, "\x01\x01" "a", 3, "\"a\\xf0\\x9f\": a out, 2 held");
    o = ENC(&f, "\x98", 0, out);
    is_int(o, 0, "\"\\x98\": still incomplete, nothing");
    is_int(f._ncarry, 3, "three bytes carried");
    o = ENC(&f, "\x80!", 0, out);
    is_mem(out, o, "\x00\x05\xf0\x9f\x98\x80!", 7, "\"\\x80!\": 😀! as CONT");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "\xff\n", 0, out);
    is_mem(out, o, "\x81\x03\xef\xbf\xbd", 5, "\"\\xff\\n\" → U+FFFD");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "\xe2\x82", 0, out);
    o = ENC(&f, "", 1, out);
    is_mem(out, o, "\x81\x03\xef\xbf\xbd", 5, "incomplete sequence at EOF → one U+FFFD");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "\xe2\x82", 0, out);
    o = ENC(&f, "\n", 0, out);
    is_mem(out, o, "\x81\x03\xef\xbf\xbd", 5, "incomplete sequence cut by \\n → one U+FFFD");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "\xe2\x82", 0, out);
    o = ENC(&f, "A", 0, out);
    is_mem(out, o, "\x01\x04\xef\xbf\xbd" "A", 6, "incomplete sequence then A → U+FFFD A");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "\xe2\r", 0, out);
    is_mem(out, o, "\x01\x03\xef\xbf\xbd", 5, "\"\\xe2\\r\": E2 is invalid now, \\r held");
    o = ENC(&f, "\n", 0, out);
    is_mem(out, o, "\x80\x00", 2, "\\n ends it");

    wsd_outframer_init(&f, 0);
    o = ENC(&f, "\xed\xa0\x80\n", 0, out);
    is_mem(out, o, "\x81\x09\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 11, "surrogate → 3 x U+FFFD");

    {   /* long lines: 16- and 64-bit lengths */
        static char line[70001];
        memset(line, 'x', 70000);
        line[70000] = '\n';
        wsd_outframer_init(&f, 0);
        {
            uint8_t *big = malloc(wsd_outframer_bound(70001));
            o = enc(&f, line, 70001, 0, big);
            ok(o == 10 + 70000 && memcmp(big, "\x81\x7f\x00\x00\x00\x00\x00\x01\x11\x70", 10) == 0,
               "70000-byte line: 64-bit length");
            o = enc(&f, line, 200, 0, big);
            ok(o == 4 + 200 && memcmp(big, "\x01\x7e\x00\xc8", 4) == 0,
               "200 bytes without newline: TEXT non-FIN, 16-bit length");
            free(big);
        }
    }

    /* binary mode */
    wsd_outframer_init(&f, 1);
    ok(f.binary == 1, "init binary");
    o = ENC(&f, "ab\ncd\r\n\xff", 0, out);
    is_mem(out, o, "\x82\x08" "ab\ncd\r\n\xff", 10, "binary: one BINARY FIN frame, bytes as they are");
    o = ENC(&f, "", 0, out);
    is_int(o, 0, "binary: empty chunk → nothing");
    o = ENC(&f, "", 1, out);
    is_int(o, 0, "binary: EOF → nothing");
    o = ENC(&f, "z", 1, out);
    is_mem(out, o, "\x82\x01z", 3, "binary: data with EOF → its frame");
    {
        static uint8_t blob[300];
        memset(blob, 0xAB, sizeof blob);
        o = wsd_outframer_encode(&f, blob, sizeof blob, 0, out);
        ok(o == 4 + 300 && memcmp(out, "\x82\x7e\x01\x2c", 4) == 0 && memcmp(out + 4, blob, 300) == 0,
           "binary: 300 bytes, 16-bit length");
    }
}

/* ---- the message-level vectors, every chunking ------------------------------ */

static void test_messages(void)
{
    {
        /* the ASCII fast path and the general one alternating in one chunk:
         * ASCII lines, a non-ASCII one, ASCII again, an invalid byte, a
         * 200-byte ASCII line (16-bit header), ASCII after an open fragment */
        char in[600];
        const char *w[8];
        char long_line[201];
        size_t n = 0;
        memset(long_line, 'L', 200);
        long_line[200] = '\0';
        n += (size_t)sprintf(in + n, "one\r\ntwo\ncaf\xc3\xa9\nthree\nbad\xff\n%s\nfour\n", long_line);
        n += (size_t)sprintf(in + n, "tail");
        w[0] = "one"; w[1] = "two"; w[2] = "caf\xc3\xa9"; w[3] = "three";
        w[4] = "bad\xef\xbf\xbd"; w[5] = long_line; w[6] = "four"; w[7] = "tail";
        check_msgs("ASCII and non-ASCII lines alternating (fast path)", in, n, w, 8);
    }
    {
        /* a 70000-byte ASCII line: the 64-bit header on the fast path */
        size_t n = 70001, i;
        char *in = malloc(n);
        wsd_outframer f;
        uint8_t *out = malloc(wsd_outframer_bound(n));
        size_t o;
        for (i = 0; i < n - 1; i++)
            in[i] = (char)('a' + i % 26);
        in[n - 1] = '\n';
        wsd_outframer_init(&f, 0);
        o = wsd_outframer_encode(&f, (const uint8_t *)in, n, 0, out);
        ok(o == 10 + n - 1 && out[0] == 0x81 && out[1] == 127 && out[8] == (uint8_t)((n - 1) >> 8) &&
               out[9] == (uint8_t)(n - 1) && memcmp(out + 10, in, n - 1) == 0,
           "70000-byte ASCII line: one frame with a 64-bit length");
        free(in);
        free(out);
    }
    {
        static const char *const w[] = { "a", "b" };
        check_msgs("\"a\\nb\\n\"", "a\nb\n", 4, w, 2);
    }
    {
        static const char in[] = "line1\r\n\nline3\nno-newline-tail";
        static const char *const w[] = { "line1", "", "line3", "no-newline-tail" };
        check_msgs("\"line1\\r\\n\\nline3\\nno-newline-tail\"", in, sizeof in - 1, w, 4);
    }
    {
        static const char in[] = "caf\xc3\xa9\r\n\xe2\x82\xac 5\n\xf0\x9f\x98\x80\r\r\n\xf0\x9f\x98\x81";
        static const char *const w[] = { "caf\xc3\xa9", "\xe2\x82\xac 5", "\xf0\x9f\x98\x80\r",
                                         "\xf0\x9f\x98\x81" };
        check_msgs("multi-byte characters, \\r\\n, \\r\\r\\n", in, sizeof in - 1, w, 4);
    }
    {
        static const char in[] = "a\xffz\n\xe2\x82\n\xc0\xaf\n\xed\xa0\x80x\n\xf4\x90\x80\x80\nend\xe2\x82";
        static const char *const w[] = {
            "a\xef\xbf\xbdz", "\xef\xbf\xbd", "\xef\xbf\xbd\xef\xbf\xbd",
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx",
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "end\xef\xbf\xbd"
        };
        check_msgs("invalid bytes replaced per maximal subpart", in, sizeof in - 1, w, 6);
    }
    {
        static const char in[] = "\xe2\x82\r\n\xe2\r\xe2\x82\xac\r";
        static const char *const w[] = { "\xef\xbf\xbd", "\xef\xbf\xbd\r\xe2\x82\xac\r" };
        check_msgs("incomplete sequences before \\r and \\r\\n", in, sizeof in - 1, w, 2);
    }
    {
        static const char *const w[] = { "" };
        check_msgs("a lone \"\\n\"", "\n", 1, w, 1);
    }
    {
        static const char *const w[] = { "\r" };
        check_msgs("a lone \"\\r\" at EOF", "\r", 1, w, 1);
    }
    {
        static const char *const w[] = { "", "", "" };
        check_msgs("\"\\r\\n\\r\\n\\n\"", "\r\n\r\n\n", 5, w, 3);
    }
    check_msgs("empty input", "", 0, NULL, 0);
    {
        static const char in[] = "\x00\x01\n\x7f";
        msglist l = { 0 };
        ml_push(&l, WSD_WS_TEXT, "\x00\x01", 2);
        ml_push(&l, WSD_WS_TEXT, "\x7f", 1);
        ok(run_cmp(0, (const uint8_t *)in, sizeof in - 1, NULL, 0, EOF_WITH_LAST, &l, "nul"),
           "NUL and control bytes pass through");
        ml_free(&l);
        check_text("NUL and control bytes", in, sizeof in - 1);
    }
    {
        static const char in[] = "\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x82\xac\xe2\x82\xac\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
                                 "\xf0\x9f\x98\x80\xf0\x9f\x98\x80";
        check_text("no newline, only multi-byte characters", in, sizeof in - 1);
    }
    {
        static const char in[] = "\xf0\x9f\x98\xf0\x9f\x98\x80\x80\xe2\x82\xe2\x82\xac\xac\xc3\xc3\xa9\xa9\r\r\n";
        check_text("truncated sequences chained", in, sizeof in - 1);
    }
    {
        /* a long line with characters at every offset mod 3/4, to reach the
         * 16-bit length encoding in some splits */
        buf b = { 0 };
        int i;
        for (i = 0; i < 60; i++)
            put(&b, i % 3 ? "\xe2\x82\xac" : "\xf0\x9f\x98\x80x", i % 3 ? 3 : 5);
        put(&b, "\r\n", 2);
        for (i = 0; i < 50; i++)
            put(&b, "\xff", 1);
        check_text("long lines (16-bit lengths)", b.p, b.n);
        free(b.p);
    }
}

/* ---- binary mode: every non-empty chunk is one message ----------------------- */

static void test_binary(void)
{
    static const char in[] = "ab\n\r\n\xff\xe2\x82\x00z";
    size_t n = sizeof in - 1, i, j;
    int good = 1;

    for (i = 0; i <= n && good; i++)
        for (j = i; j <= n && good; j++) {
            msglist want = { 0 };
            size_t c[2] = { i, j };
            if (i)
                ml_push(&want, WSD_WS_BINARY, in, i);
            if (j > i)
                ml_push(&want, WSD_WS_BINARY, in + i, j - i);
            if (n > j)
                ml_push(&want, WSD_WS_BINARY, in + j, n - j);
            good = run_cmp(1, (const uint8_t *)in, n, c, 2, (int)((i + j) % 3), &want, "binary");
            ml_free(&want);
        }
    ok(good, "binary: every 3-way chunking gives one message per non-empty chunk");
}

/* ---- the output bound -------------------------------------------------------- */

/* Primes the encoder's carry with `prime`, then encodes `in` into a buffer of
 * exactly wsd_outframer_bound(n) bytes. */
static void bound_case(const char *name, const uint8_t *prime, size_t nprime, const uint8_t *in,
                       size_t n, int eof)
{
    wsd_outframer f;
    size_t cap = wsd_outframer_bound(n), o, pcap = wsd_outframer_bound(nprime);
    uint8_t *out;

    wsd_outframer_init(&f, 0);
    if (nprime) {
        out = malloc(pcap);
        o = wsd_outframer_encode(&f, prime, nprime, 0, out);
        free(out);
    }
    out = malloc(cap);
    o = wsd_outframer_encode(&f, in, n, eof, out);
    if (!ok(o <= cap, "bound: %s (%zu bytes in%s): %zu ≤ %zu", name, n, eof ? ", eof" : "", o, cap))
        printf("#   over by %zu\n", o - cap);
    free(out);
}

static void test_bound(void)
{
    static const uint8_t primes[][3] = { { 0 }, { 0xf0, 0x9f, 0x98 }, { '\r' }, { 0xe2 } };
    static const size_t nprimes[] = { 0, 3, 1, 1 };
    static const size_t sizes[] = { 0, 1, 2, 3, 40, 41, 42, 43, 83, 84, 125, 126, 127, 1000,
                                    21844, 21845, 21846, 21847, 65535, 65536, 100000 };
    size_t si, pi, i;
    uint8_t *in = malloc(100001);
    char name[80];

    for (pi = 0; pi < 4; pi++)
        for (si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            size_t n = sizes[si];
            /* every byte invalid */
            memset(in, 0xFF, n);
            snprintf(name, sizeof name, "all FF, carry %zu", nprimes[pi]);
            bound_case(name, primes[pi], nprimes[pi], in, n, si % 2);
            /* every byte a newline */
            memset(in, '\n', n);
            snprintf(name, sizeof name, "all \\n, carry %zu", nprimes[pi]);
            bound_case(name, primes[pi], nprimes[pi], in, n, si % 2);
            /* invalid byte + newline */
            for (i = 0; i < n; i++)
                in[i] = i % 2 ? '\n' : 0x80;
            snprintf(name, sizeof name, "80 \\n ..., carry %zu", nprimes[pi]);
            bound_case(name, primes[pi], nprimes[pi], in, n, 1);
            /* lines of exactly 42 invalid bytes: 126-byte payloads, 16-bit headers */
            for (i = 0; i < n; i++)
                in[i] = i % 43 == 42 ? '\n' : 0xC0;
            snprintf(name, sizeof name, "42 x C0 \\n ..., carry %zu", nprimes[pi]);
            bound_case(name, primes[pi], nprimes[pi], in, n, 1);
            /* \r everywhere */
            memset(in, '\r', n);
            snprintf(name, sizeof name, "all \\r, carry %zu", nprimes[pi]);
            bound_case(name, primes[pi], nprimes[pi], in, n, 1);
        }
    free(in);

    /* the bound is not absurdly loose either */
    is_int(wsd_outframer_bound(0), 11, "bound(0) = 11");
    ok(wsd_outframer_bound(1000) < 3 * 1000 + 300, "bound(1000) < 3.3 KB");
    ok(wsd_outframer_bound(1 << 20) < 3.2 * (1 << 20) + 16, "bound(1 MiB) < 3.2 MiB");
}

/* ---- random inputs and chunkings against the model ---------------------------- */

static uint32_t rng = 2463534242u;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void test_random(void)
{
    static const uint8_t alpha[] = { 'a', 'b', '\n', '\r', 0xff, 0x80, 0xbf, 0xc3, 0xa9, 0xe2,
                                     0x82, 0xac, 0xf0, 0x9f, 0x98, 0xed, 0xa0, 0xc0, 0xf4, 0x90 };
    uint8_t in[300];
    int iter, bad = 0;

    for (iter = 0; iter < 20000; iter++) {
        size_t n = rnd() % (iter % 10 ? 40 : 300), i, nc = rnd() % 10, cuts[10];
        msglist want = { 0 };
        int binary = rnd() % 8 == 0;
        for (i = 0; i < n; i++)
            in[i] = rnd() % 3 ? alpha[rnd() % sizeof alpha] : (uint8_t)rnd();
        for (i = 0; i < nc; i++)
            cuts[i] = n ? rnd() % (n + 1) : 0;
        for (i = 1; i < nc; i++) {
            size_t j = i, v = cuts[i];
            while (j > 0 && cuts[j - 1] > v) {
                cuts[j] = cuts[j - 1];
                j--;
            }
            cuts[j] = v;
        }
        if (binary) {
            size_t start = 0;
            for (i = 0; i <= nc; i++) {
                size_t end = i < nc ? cuts[i] : n;
                if (end > start)
                    ml_push(&want, WSD_WS_BINARY, in + start, end - start);
                start = end;
            }
        } else {
            model_text(in, n, &want);
        }
        if (!run_cmp(binary, in, n, cuts, nc, (int)(rnd() % 2), &want, "random"))
            if (++bad > 3)
                iter = 1 << 30;
        ml_free(&want);
    }
    ok(bad == 0, "20000 random inputs and chunkings match the model, within the bound");
}

int main(void)
{
    test_exact();
    test_messages();
    test_binary();
    test_bound();
    test_random();
    return done_testing();
}
