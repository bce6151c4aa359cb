/* test_record.c — the lossless mode: records on the program's stdout → frames,
 * and the record header written to its stdin.
 *
 * Every output is parsed by a strict frame parser written here (unmasked, no
 * RSV bits, minimal lengths, TEXT/BINARY only with no message open and CONT
 * only with one, no empty non-final fragment, every text fragment valid
 * UTF-8 on its own) and reassembled into messages, which are compared with
 * the expected ones (type + payload; text payloads as wsd_utf8_sanitize
 * gives them for the whole payload). Streams are fed whole, byte by byte, in
 * 2 pieces at every point and in 3 pieces at every pair of points (small
 * streams), and in pseudo-random pieces (large ones). Each call's output
 * buffer is malloc'd at exactly wsd_record_bound(n) bytes and its input is an
 * exact-size copy, so ASan catches an overrun either way. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "record.h"
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

/* A stream of records and the messages it should give. */
typedef struct {
    buf in;
    msglist want;
} stream;

static void add_record(stream *s, int text, const void *p, size_t n)
{
    char hdr[WSD_RECORD_HEADER_MAX];
    size_t h = wsd_record_header(hdr, text, n);
    put(&s->in, hdr, h);
    put(&s->in, p, n);
    put(&s->in, "\n", 1);
    if (text) {
        uint8_t *tmp = malloc(3 * n + 1);
        size_t o;
        if (!tmp)
            abort();
        o = wsd_utf8_sanitize(p, n, tmp);
        ml_push(&s->want, WSD_WS_TEXT, tmp, o);
        free(tmp);
    } else {
        ml_push(&s->want, WSD_WS_BINARY, p, n);
    }
}

static void stream_free(stream *s)
{
    free(s->in.p);
    ml_free(&s->want);
    memset(s, 0, sizeof *s);
}

/* ---- the strict frame parser ----------------------------------------------- */

typedef struct {
    msglist msgs;
    int open, open_op;
    buf cur;
    int violations;
    char why[160];
    size_t frames;
    const char *err;       /* the decoder's error, if any */
    int calls_after_error; /* calls that wrote something after the error */
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
            ml_push(&s->msgs, s->open_op, s->cur.p, s->cur.n);
            s->open = 0;
        } else {
            s->open = 1;
        }
        i += h + (size_t)len;
    }
}

/* ---- running the decoder --------------------------------------------------- */

static size_t max_out_ratio_num, max_out_ratio_den = 1;   /* worst o/bound seen */

/* One call into an exact-size malloc'd buffer, parsed into s. */
static void call(wsd_record_decoder *d, sink *s, const uint8_t *in, size_t n, int eof)
{
    size_t cap = wsd_record_bound(n), outlen = (size_t)-1;
    uint8_t *out = malloc(cap);
    uint8_t *copy = malloc(n ? n : 1);
    const char *err = "unset";
    long r;

    if (!out || !copy)
        abort();
    if (n)
        memcpy(copy, in, n);
    r = wsd_record_encode(d, n ? copy : NULL, n, eof, out, &outlen, &err);
    if (outlen > cap)
        sink_bad(s, "output exceeds wsd_record_bound");
    if (outlen * max_out_ratio_den > max_out_ratio_num * cap) {
        max_out_ratio_num = outlen;
        max_out_ratio_den = cap;
    }
    if (r >= 0) {
        if ((size_t)r != outlen)
            sink_bad(s, "return value and *outlen disagree");
        if (err)
            sink_bad(s, "success with *err set");
    } else {
        if (r != -1)
            sink_bad(s, "negative return other than -1");
        if (!err)
            sink_bad(s, "error without *err");
        else if (s->err && strcmp(s->err, err) != 0)
            sink_bad(s, "error not sticky");
        if (s->err && outlen)
            s->calls_after_error++;
        if (!s->err)
            s->err = err;
    }
    if (d->_ncarry > 3)
        sink_bad(s, "carry over 3 bytes");
    if (outlen <= cap)
        parse(s, out, outlen);
    free(out);
    free(copy);
}

enum { EOF_WITH_LAST = 0, EOF_SEPARATE = 1, EOF_NONE = 2 };

static void run(const uint8_t *in, size_t n, const size_t *cuts, size_t ncuts, int eofmode,
                uint64_t max, sink *s)
{
    wsd_record_decoder d;
    size_t k, start = 0;

    memset(s, 0, sizeof *s);
    wsd_record_decoder_init(&d, max);
    for (k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        call(&d, s, in + start, end - start, k == ncuts && eofmode == EOF_WITH_LAST);
        start = end;
    }
    if (eofmode == EOF_SEPARATE)
        call(&d, s, NULL, 0, 1);
    if (eofmode != EOF_NONE) {
        size_t before = s->frames;
        if (!s->err && s->open)
            sink_bad(s, "message still open after a clean EOF");
        call(&d, s, NULL, 0, 1);   /* a second EOF emits nothing */
        if (s->frames != before)
            sink_bad(s, "second EOF emitted frames");
    }
    if (s->calls_after_error)
        sink_bad(s, "output after the error");
}

/* Runs one chunking; compares the complete messages and the error. */
static int run_cmp(const uint8_t *in, size_t n, const size_t *cuts, size_t ncuts, int eofmode,
                   uint64_t max, const msglist *want, const char *want_err, const char *label)
{
    sink s;
    char why[200] = "";
    int good;

    run(in, n, cuts, ncuts, eofmode, max, &s);
    good = !s.violations && ml_equal(&s.msgs, want, why, sizeof why);
    if (good && (want_err ? !s.err || strcmp(s.err, want_err) != 0 : s.err != NULL)) {
        snprintf(why, sizeof why, "error \"%s\", want \"%s\"", s.err ? s.err : "(none)",
                 want_err ? want_err : "(none)");
        good = 0;
    }
    if (!good) {
        size_t k;
        printf("#   %s: %s; cuts:", label, s.violations ? s.why : why);
        for (k = 0; k < ncuts && k < 16; k++)
            printf(" %zu", cuts[k]);
        printf("%s\n", ncuts > 16 ? " ..." : "");
        ml_print("got", &s.msgs);
        ml_print("want", want);
    }
    sink_free(&s);
    return good;
}

/* Whole (EOF with it / after it), byte by byte, 2 pieces at every point, 3
 * pieces at every pair of points when n ≤ max3. */
static void check_all(const char *name, const uint8_t *p, size_t n, uint64_t max,
                      const msglist *want, const char *want_err, size_t max3)
{
    size_t *cuts, i, j, runs;
    int good;

    ok(run_cmp(p, n, NULL, 0, EOF_WITH_LAST, max, want, want_err, "whole"),
       "%s: whole, EOF in the same call", name);
    ok(run_cmp(p, n, NULL, 0, EOF_SEPARATE, max, want, want_err, "whole+eof"),
       "%s: whole, then EOF", name);

    cuts = calloc(n + 1, sizeof *cuts);
    if (!cuts)
        abort();
    for (i = 0; i + 1 < n; i++)
        cuts[i] = i + 1;
    ok(run_cmp(p, n, cuts, n > 0 ? n - 1 : 0, EOF_SEPARATE, max, want, want_err, "byte by byte"),
       "%s: byte by byte", name);
    free(cuts);
    if (n <= 5000) {   /* byte by byte with an empty call between every two bytes */
        cuts = calloc(2 * (n + 1), sizeof *cuts);
        if (!cuts)
            abort();
        for (i = 0; i + 1 < n; i++)
            cuts[2 * i] = cuts[2 * i + 1] = i + 1;
        ok(run_cmp(p, n, cuts, n > 0 ? 2 * (n - 1) : 0, EOF_WITH_LAST, max, want, want_err,
                   "byte by byte, empty calls"),
           "%s: byte by byte with empty calls between", name);
        free(cuts);
    }

    if (n > 2000)
        return;
    good = 1;
    runs = 0;
    for (i = 0; i <= n && good; i++) {
        size_t c[1] = { i };
        good = run_cmp(p, n, c, 1, (int)(i % 2), max, want, want_err, "2 pieces");
        runs++;
    }
    ok(good, "%s: 2 pieces, %zu splits", name, runs);

    if (n > max3)
        return;
    good = 1;
    runs = 0;
    for (i = 0; i <= n && good; i++)
        for (j = i; j <= n && good; j++) {
            size_t c[2] = { i, j };
            good = run_cmp(p, n, c, 2, (int)((i + j) % 2), max, want, want_err, "3 pieces");
            runs++;
        }
    ok(good, "%s: 3 pieces, %zu splits", name, runs);
}

static void check_stream(const char *name, const stream *s, size_t max3)
{
    check_all(name, s->in.p, s->in.n, 0, &s->want, NULL, max3);
}

/* ---- the header helper ------------------------------------------------------ */

static void test_header(void)
{
    char out[WSD_RECORD_HEADER_MAX];
    size_t h;

    h = wsd_record_header(out, 1, 5);
    is_mem(out, h, "text 5\n", 7, "text 5");
    is_int(out[h], 0, "NUL-terminated");
    h = wsd_record_header(out, 0, 3);
    is_mem(out, h, "binary 3\n", 9, "binary 3");
    h = wsd_record_header(out, 1, 0);
    is_mem(out, h, "text 0\n", 7, "text 0");
    h = wsd_record_header(out, 0, 0);
    is_mem(out, h, "binary 0\n", 9, "binary 0");
    h = wsd_record_header(out, 1, 65536);
    is_str(out, "text 65536\n", "text 65536");
    h = wsd_record_header(out, 0, UINT64_MAX);
    is_str(out, "binary 18446744073709551615\n", "binary 2^64 - 1");
    ok(h + 1 <= WSD_RECORD_HEADER_MAX, "the longest header fits (%zu + NUL ≤ %d)", h,
       WSD_RECORD_HEADER_MAX);
    h = wsd_record_header(out, 0, 1000000000000ULL);
    is_str(out, "binary 1000000000000\n", "binary 10^12");
}

/* ---- exact frames ----------------------------------------------------------- */

static long enc(wsd_record_decoder *d, const char *s, size_t n, int eof, uint8_t *out,
                size_t *outlen, const char **err)
{
    return wsd_record_encode(d, (const uint8_t *)s, n, eof, out, outlen, err);
}

#define ENC(d, lit, eof) enc(d, lit, sizeof(lit) - 1, eof, out, &o, &err)

static void test_exact(void)
{
    wsd_record_decoder d;
    uint8_t out[4096];
    size_t o;
    long r;
    const char *err;

    wsd_record_decoder_init(&d, 0);
    ok(d.max_len == 0 && d._open == 0 && d._ncarry == 0 && d._err == NULL, "init");
    r = ENC(&d, "text 5\nhello\n", 0);
    is_int(r, 7, "text 5\\nhello\\n: 7 bytes");
    is_mem(out, o, "\x81\x05" "hello", 7, "→ one TEXT FIN frame \"hello\"");
    ok(err == NULL, "no error");
    r = ENC(&d, "binary 3\n\x00\x01\x02\n", 0);
    is_mem(out, o, "\x82\x03\x00\x01\x02", 5, "binary 3\\n\\0\\1\\2\\n → one BINARY FIN frame");
    is_int(r, 5, "return value = bytes written");
    r = ENC(&d, "text 0\n\n", 0);
    is_mem(out, o, "\x81\x00", 2, "text 0\\n\\n → one empty TEXT FIN frame");
    r = ENC(&d, "binary 0\n\n", 1);
    is_mem(out, o, "\x82\x00", 2, "binary 0\\n\\n → one empty BINARY FIN frame; EOF at a boundary");
    is_int(r, 2, "clean EOF: success");
    r = ENC(&d, "", 1);
    ok(r == 0 && o == 0 && err == NULL, "second EOF: nothing");

    /* several records in one chunk */
    wsd_record_decoder_init(&d, 0);
    r = ENC(&d, "text 2\nhi\nbinary 1\n\n\ntext 0\n\n", 1);
    is_mem(out, o, "\x81\x02hi\x82\x01\n\x81\x00", 9, "three records, one chunk (binary payload \"\\n\")");

    /* pieces of a record: TEXT/BINARY first, then CONT, FIN on the last */
    wsd_record_decoder_init(&d, 0);
    r = ENC(&d, "text 5\nhel", 0);
    is_mem(out, o, "\x01\x03hel", 5, "\"text 5\\nhel\": TEXT non-FIN at once");
    r = ENC(&d, "l", 0);
    is_mem(out, o, "\x00\x01l", 3, "\"l\": CONT non-FIN");
    r = ENC(&d, "o", 0);
    is_mem(out, o, "\x80\x01o", 3, "\"o\": CONT FIN (before the \\n arrives)");
    r = ENC(&d, "\n", 0);
    ok(r == 0 && o == 0 && err == NULL, "\"\\n\": nothing");

    wsd_record_decoder_init(&d, 0);
    r = ENC(&d, "binary 4\n\xff\x00", 0);
    is_mem(out, o, "\x02\x02\xff\x00", 4, "binary piece: BINARY non-FIN");
    r = ENC(&d, "\r\n\nbin", 0);
    is_mem(out, o, "\x80\x02\r\n", 4, "rest: CONT FIN; the next header is partial");
    r = ENC(&d, "ary 0\n", 0);
    is_mem(out, o, "\x82\x00", 2, "an empty record: empty FIN frame as soon as its header ends");
    r = ENC(&d, "\n", 1);
    ok(r == 0 && o == 0 && err == NULL, "its \\n and EOF: nothing, no error");

    wsd_record_decoder_init(&d, 0);
    r = ENC(&d, "text 5\n", 0);
    ok(r == 0 && o == 0, "header only: nothing yet (no empty non-final frame)");
    r = ENC(&d, "", 0);
    ok(r == 0 && o == 0, "empty chunk: nothing");

    /* UTF-8 held across chunks */
    wsd_record_decoder_init(&d, 0);
    r = ENC(&d, "text 7\na\xf0\x9f", 0);
    is_mem(out, o, "\x01\x01" "a", 3, "a + 2 bytes of 😀: a out, 2 held");
    is_int(d._ncarry, 2, "2 bytes carried");
    r = ENC(&d, "\x98", 0);
    ok(r == 0 && o == 0, "third byte: still incomplete, nothing");
    is_int(d._ncarry, 3, "3 bytes carried");
    r = ENC(&d, "\x80!", 0);
    is_mem(out, o, "\x00\x05\xf0\x9f\x98\x80!", 7, "last byte + !: CONT non-FIN 😀!");
    r = ENC(&d, "?\n", 1);
    is_mem(out, o, "\x80\x01?", 3, "?: CONT FIN");
    ok(err == NULL, "clean end");

    wsd_record_decoder_init(&d, 0);
    r = ENC(&d, "text 2\n\xe2\x82", 0);
    is_mem(out, o, "\x81\x03\xef\xbf\xbd", 5,
           "payload ends inside a sequence: judged at once, one U+FFFD, FIN");
    r = ENC(&d, "\n", 1);
    ok(r == 0 && o == 0 && err == NULL, "then \\n and EOF: nothing");
    wsd_record_decoder_init(&d, 0);
    r = ENC(&d, "text 2\n\xe2", 0);
    ok(r == 0 && o == 0, "text 2 + \\xe2: held");
    r = ENC(&d, "\x82\n", 0);
    is_mem(out, o, "\x81\x03\xef\xbf\xbd", 5, "+ \\x82 ends the payload: one U+FFFD, FIN");

    wsd_record_decoder_init(&d, 0);
    r = ENC(&d, "text 3\n\xff" "a\xc3\n", 0);
    is_mem(out, o, "\x81\x07\xef\xbf\xbd" "a\xef\xbf\xbd", 9, "\\xff a \\xc3 → U+FFFD a U+FFFD");
    r = ENC(&d, "text 3\n\xed\xa0\x80\n", 0);
    is_mem(out, o, "\x81\x09\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 11, "surrogate → 3 × U+FFFD");
    r = ENC(&d, "binary 3\n\xed\xa0\x80\n", 0);
    is_mem(out, o, "\x82\x03\xed\xa0\x80", 5, "binary: bytes as they are");

    wsd_record_decoder_init(&d, 0);
    r = ENC(&d, "text 4\n\xe2\x82", 0);
    ok(r == 0 && o == 0, "€ started, nothing");
    r = ENC(&d, "A", 0);
    is_mem(out, o, "\x01\x04\xef\xbf\xbd" "A", 6, "A breaks it: U+FFFD A, non-FIN");
    r = ENC(&d, "B\n", 1);
    is_mem(out, o, "\x80\x01" "B", 3, "B: CONT FIN");

    /* lengths: 16- and 64-bit frame headers */
    {
        static uint8_t in[70100];
        size_t h = (size_t)sprintf((char *)in, "binary 70000\n"), cap = wsd_record_bound(h + 70001);
        uint8_t *big = malloc(cap);
        memset(in + h, 'x', 70000);
        in[h + 70000] = '\n';
        wsd_record_decoder_init(&d, 0);
        r = wsd_record_encode(&d, in, h + 70001, 1, big, &o, &err);
        ok(r == 10 + 70000 && memcmp(big, "\x82\x7f\x00\x00\x00\x00\x00\x01\x11\x70", 10) == 0,
           "70000-byte binary record: 64-bit length");
        h = (size_t)sprintf((char *)in, "text 200\n");
        memset(in + h, 'y', 200);
        in[h + 200] = '\n';
        wsd_record_decoder_init(&d, 0);
        r = wsd_record_encode(&d, in, h + 201, 1, big, &o, &err);
        ok(r == 4 + 200 && memcmp(big, "\x81\x7e\x00\xc8", 4) == 0, "200-byte text record: 16-bit length");
        free(big);
    }

    /* max_len */
    wsd_record_decoder_init(&d, 5);
    r = ENC(&d, "text 5\nhello\n", 0);
    is_mem(out, o, "\x81\x05hello", 7, "max 5: 5 bytes accepted");
    r = ENC(&d, "text 6\n", 0);
    ok(r == -1 && o == 0 && err && strcmp(err, "record length over limit") == 0,
       "max 5: text 6 → \"record length over limit\"");
    wsd_record_decoder_init(&d, 0);
    r = ENC(&d, "binary 18446744073709551615\n", 0);
    ok(r == 0 && err == NULL, "max 0 (unlimited): 2^64 - 1 is a valid length");
    r = ENC(&d, "ab", 0);
    is_mem(out, o, "\x02\x02" "ab", 4, "... its first bytes go out");
    r = ENC(&d, "", 1);
    ok(r == -1 && err && strcmp(err, "truncated record") == 0, "... EOF: truncated record");

    /* frames before the error in the same call are delivered */
    wsd_record_decoder_init(&d, 0);
    r = ENC(&d, "text 2\nok\nbinary 1\nZ\ntext 5\nhe", 0);
    is_int(r, 11, "valid prefix: 4 + 3 + 4 bytes");
    r = ENC(&d, "llo\ntext 1\nab\n", 0);
    is_int(r, -1, "missing newline → -1");
    is_str(err, "missing newline after record", "... reason");
    is_mem(out, o, "\x80\x03llo\x81\x01" "a", 8, "... *outlen covers the frames before the bad byte");
    r = ENC(&d, "text 1\nx\n", 0);
    ok(r == -1 && o == 0 && err && strcmp(err, "missing newline after record") == 0,
       "sticky: the next call writes nothing and reports the same error");
    r = ENC(&d, "", 1);
    ok(r == -1 && o == 0 && err && strcmp(err, "missing newline after record") == 0, "sticky at EOF too");

    /* NULL outlen / err are allowed */
    wsd_record_decoder_init(&d, 0);
    r = wsd_record_encode(&d, (const uint8_t *)"text 1\na\n", 9, 1, out, NULL, NULL);
    ok(r == 3 && memcmp(out, "\x81\x01" "a", 3) == 0, "outlen and err may be NULL");
    wsd_record_decoder_init(&d, 0);
    r = wsd_record_encode(&d, (const uint8_t *)"nope", 4, 1, out, NULL, NULL);
    is_int(r, -1, "... also on error");
}

/* ---- streams of records, every chunking ------------------------------------ */

/* A text payload of exactly n bytes of valid UTF-8 mixing 1-4 byte
 * characters, cut so that it stays valid. */
static void make_text(uint8_t *p, size_t n, unsigned seed)
{
    static const char *const chars[] = { "a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                         "\n", " ", "\xd0\x96", "\xef\xbf\xbd", "\r", "Z" };
    size_t i = 0;
    unsigned x = seed * 2654435761u + 1;
    while (i < n) {
        const char *c;
        size_t l;
        x = x * 1103515245u + 12345u;
        c = chars[(x >> 16) % 10];
        l = strlen(c);
        if (l > n - i)
            c = "x", l = 1;
        memcpy(p + i, c, l);
        i += l;
    }
}

static void make_binary(uint8_t *p, size_t n, unsigned seed)
{
    size_t i;
    unsigned x = seed * 2246822519u + 7;
    for (i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
}

static void test_streams(void)
{
    static const size_t sizes[] = { 0, 1, 125, 126, 65535, 65536, 100000 };
    stream s = { 0 };
    uint8_t *p = malloc(100000);
    size_t i;
    unsigned seed = 1;

    if (!p)
        abort();

    /* small records only: every split */
    for (i = 0; i < 4; i++) {
        make_text(p, sizes[i], seed++);
        add_record(&s, 1, p, sizes[i]);
        make_binary(p, sizes[i], seed++);
        add_record(&s, 0, p, sizes[i]);
    }
    ok(wsd_utf8_valid(s.want.m[4].data.p, s.want.m[4].data.n), "generated text is valid UTF-8");
    check_stream("sizes 0, 1, 125, 126, text and binary", &s, 0);
    stream_free(&s);

    {   /* a short stream: 3 pieces at every pair of points */
        add_record(&s, 1, "h\xc3\xa9llo", 6);
        add_record(&s, 0, "", 0);
        add_record(&s, 1, "", 0);
        add_record(&s, 0, "\n\n\x00\xff", 4);
        add_record(&s, 1, "\xf0\x9f\x98\x80\xe2\x82\xac", 7);
        add_record(&s, 0, "x", 1);
        check_stream("short mixed stream", &s, 200);
        stream_free(&s);
    }

    /* every size, both kinds, alternating: whole, byte by byte, some cuts */
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        make_text(p, sizes[i], seed++);
        add_record(&s, 1, p, sizes[i]);
        make_binary(p, sizes[i], seed++);
        add_record(&s, 0, p, sizes[i]);
    }
    for (i = sizeof sizes / sizeof sizes[0]; i-- > 0;) {
        make_binary(p, sizes[i], seed++);
        add_record(&s, 0, p, sizes[i]);
        make_text(p, sizes[i], seed++);
        add_record(&s, 1, p, sizes[i]);
    }
    is_int(s.want.n, 28, "28 records of sizes 0..100000");
    check_stream("every size, both kinds", &s, 0);
    {
        /* pseudo-random chunkings, including chunks of 64 KiB and 1-3 bytes */
        size_t *cuts = malloc(s.in.n * sizeof *cuts), nc, pos, run_i;
        unsigned x = 99;
        int good = 1;
        for (run_i = 0; run_i < 40 && good; run_i++) {
            nc = 0;
            pos = 0;
            for (;;) {
                size_t step;
                x = x * 1103515245u + 12345u;
                switch ((x >> 16) % 4) {
                case 0: step = 1 + (x >> 8) % 3; break;
                case 1: step = 1 + (x >> 4) % 200; break;
                case 2: step = 65536; break;
                default: step = 1 + (x >> 3) % 70000; break;
                }
                if (run_i % 2 && (x >> 20) % 5 == 0)
                    step = 0;   /* empty chunks too */
                pos += step;
                if (pos >= s.in.n)
                    break;
                cuts[nc++] = pos;
            }
            good = run_cmp(s.in.p, s.in.n, cuts, nc, (int)(run_i % 2), 0, &s.want, NULL,
                           "random chunks");
        }
        ok(good, "every size, both kinds: %zu pseudo-random chunkings", run_i);
        free(cuts);
    }
    stream_free(&s);

    /* text payloads with invalid UTF-8: sanitised as a whole, however cut */
    {
        static const struct { const char *p; size_t n; } bad[] = {
            { "\xff", 1 }, { "a\xc3", 2 }, { "\xe2\x82", 2 }, { "\xf0\x9f\x98", 3 },
            { "\xed\xa0\x80", 3 }, { "\xc0\xaf", 2 }, { "\xf4\x90\x80\x80", 4 },
            { "x\xe2\x82y\xe2\x82\xac\xf0\x9f", 10 }, { "\x80\x80\x80\x80", 4 },
            { "\xf0\x9f\x98\xf0\x9f\x98\x80", 7 }, { "\xe1\xf0\x9f\x98\x80", 5 },
            { "\xc3\xa9\xe0\x80\xaf", 5 }, { "\xfe\xff\xc3", 3 },
        };
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
            add_record(&s, 1, bad[i].p, bad[i].n);
        add_record(&s, 0, "\xff\xe2\x82", 3);
        {
            /* the model: the same bytes sanitised as one payload */
            uint8_t tmp[16];
            size_t o = wsd_utf8_sanitize((const uint8_t *)"\xe2\x82", 2, tmp);
            is_mem(s.want.m[2].data.p, s.want.m[2].data.n, tmp, o, "model: \\xe2\\x82 → U+FFFD");
            is_mem(tmp, o, "\xef\xbf\xbd", 3, "one U+FFFD for an incomplete sequence");
        }
        check_stream("invalid UTF-8 in text records", &s, 0);
        stream_free(&s);

        /* one at a time: 3 pieces */
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char name[64];
            add_record(&s, 1, bad[i].p, bad[i].n);
            add_record(&s, 1, bad[i].p, bad[i].n);
            snprintf(name, sizeof name, "invalid UTF-8 vector %zu twice", i);
            check_stream(name, &s, 200);
            stream_free(&s);
        }
    }

    /* valid multi-byte characters split across chunks */
    {
        static const char t[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xd0\x96\xf4\x8f\xbf\xbf"
                                "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80";
        add_record(&s, 1, t, sizeof t - 1);
        add_record(&s, 1, t, sizeof t - 1);
        ok(wsd_utf8_valid((const uint8_t *)t, sizeof t - 1), "vector is valid UTF-8");
        is_mem(s.want.m[0].data.p, s.want.m[0].data.n, t, sizeof t - 1, "model keeps it unchanged");
        check_stream("valid multi-byte characters, every split", &s, 200);
        stream_free(&s);
    }

    /* the max_len limit lets exactly max through */
    {
        make_binary(p, 126, 5);
        add_record(&s, 0, p, 126);
        add_record(&s, 1, "abc", 3);
        check_all("max_len 126: a 126-byte record", s.in.p, s.in.n, 126, &s.want, NULL, 0);
        stream_free(&s);
    }
    free(p);
}

/* ---- errors ---------------------------------------------------------------- */

/* in = prefix records (valid) + the bad tail; want = the complete messages
 * before the error. */
static void check_error(const char *name, const char *tail, size_t tailn, uint64_t max,
                        const char *want_err, int with_prefix)
{
    stream s = { 0 };
    char label[160];

    if (with_prefix) {
        add_record(&s, 1, "ok \xe2\x82\xac", 6);
        add_record(&s, 0, "\x00\n", 2);
    }
    put(&s.in, tail, tailn);
    snprintf(label, sizeof label, "%s%s", name, with_prefix ? " (after 2 records)" : "");
    check_all(label, s.in.p, s.in.n, max, &s.want, want_err, 200);
    stream_free(&s);
}

/* Errors that come after a record delivered in full (its FIN frame sent). */
static void check_error_after(const char *name, const char *in, size_t n, const int *ops,
                              const char *const *payloads, size_t nmsg, const char *want_err)
{
    msglist want = { 0 };
    size_t i;
    for (i = 0; i < nmsg; i++)
        ml_push(&want, ops[i], payloads[i], strlen(payloads[i]));
    check_all(name, (const uint8_t *)in, n, 0, &want, want_err, 200);
    ml_free(&want);
}

#define AFTER(name, lit, ...) check_error_after(name, lit, sizeof(lit) - 1, __VA_ARGS__)

#define ERR(name, lit, max, want) do {                                      \
        check_error(name, lit, sizeof(lit) - 1, max, want, 0);               \
        check_error(name, lit, sizeof(lit) - 1, max, want, 1);               \
    } while (0)

static void test_errors(void)
{
    ERR("bad kind txt", "txt 1\na\n", 0, "unknown record kind");
    ERR("bad kind TEXT", "TEXT 1\na\n", 0, "unknown record kind");
    ERR("bad kind binar", "binar 1\na\n", 0, "unknown record kind");
    ERR("bad kind ping", "ping 1\na\n", 0, "unknown record kind");
    ERR("bad kind: empty line", "\n", 0, "unknown record kind");
    ERR("bad kind: leading space", " text 1\na\n", 0, "unknown record kind");
    ERR("bad kind: plain line", "hello\n", 0, "unknown record kind");
    ERR("missing space: text5", "text5\nhello\n", 0, "missing space after record kind");
    ERR("missing space: text\\n", "text\n", 0, "missing space after record kind");
    ERR("missing space: binary\\t", "binary\t1\na\n", 0, "missing space after record kind");
    ERR("missing length", "text \n\n", 0, "missing record length");
    ERR("bad length -1", "text -1\na\n", 0, "bad record length");
    ERR("bad length +1", "text +1\na\n", 0, "bad record length");
    ERR("bad length 1a", "text 1a\na\n", 0, "bad record length");
    ERR("bad length: two spaces", "text  1\na\n", 0, "bad record length");
    ERR("bad length: trailing space", "text 1 \na\n", 0, "bad record length");
    ERR("bad length x", "binary x\n", 0, "bad record length");
    ERR("bad length 0x10", "binary 0x10\n", 0, "bad record length");
    ERR("leading zero 01", "text 01\na\n", 0, "leading zero in record length");
    ERR("leading zero 00", "text 00\n\n", 0, "leading zero in record length");
    ERR("CR before LF", "text 1\r\na\n", 0, "carriage return in record header");
    ERR("CR in kind", "te\rxt 1\na\n", 0, "carriage return in record header");
    ERR("header too long (21 digits)", "text 123456789012345678901\n", 0, "record header too long");
    ERR("header too long (21 digits below 2^64 at 20)", "binary 118446744073709551615\n",
        0, "record header too long");
    ERR("length 2^64", "binary 18446744073709551616\n", 0, "record length too large");
    ERR("length 10^20 - 1", "binary 99999999999999999999\n", 0, "record length too large");
    ERR("over max (101 > 100)", "text 101\n", 100, "record length over limit");
    ERR("over max (1000000 > 100)", "binary 1000000\n", 100, "record length over limit");
    ERR("over max by digits", "binary 100000000000000000000000000000000\n", 100,
        "record length over limit");
    ERR("truncated in header: t", "t", 0, "truncated record");
    ERR("truncated in header: text 1", "text 1", 0, "truncated record");
    ERR("truncated in header: binary ", "binary ", 0, "truncated record");
    ERR("truncated in payload", "text 5\nhel", 0, "truncated record");
    ERR("truncated in payload (binary)", "binary 5\n\x01\x02", 0, "truncated record");
    ERR("truncated in payload (text, held bytes)", "text 5\n\xe2\x82", 0, "truncated record");
    ERR("truncated right after the header", "binary 5\n", 0, "truncated record");

    {
        static const int ops1[] = { WSD_WS_TEXT };
        static const char *const p1[] = { "hello" };
        static const char *const p0[] = { "" };
        static const int ops2[] = { WSD_WS_TEXT, WSD_WS_BINARY };
        static const char *const p2[] = { "hi", "a" };
        AFTER("truncated in trailer", "text 5\nhello", ops1, p1, 1,
              "truncated record");
        AFTER("missing newline: extra byte", "text 5\nhello!\n", ops1, p1, 1,
              "missing newline after record");
        AFTER("missing newline: CR LF", "text 5\nhello\r\n", ops1, p1, 1,
              "missing newline after record");
        AFTER("missing newline: next header at once", "text 5\nhellotext 1\na\n",
              ops1, p1, 1, "missing newline after record");
        AFTER("missing newline after an empty record", "text 0\nx", ops1, p0, 1,
              "missing newline after record");
        AFTER("length too short for the data", "text 2\nhi\nbinary 1\nab\n",
              ops2, p2, 2, "missing newline after record");
    }

    /* the limit is the configured maximum, not a fixed one */
    {
        msglist want = { 0 };
        static const char in[] = "text 101\n";
        check_all("over max: 101 with max 0 (then truncated)", (const uint8_t *)in,
                  sizeof in - 1, 0, &want, "truncated record", 200);
    }
}

/* ---- the bound --------------------------------------------------------------- */

static void test_bound(void)
{
    stream s = { 0 };
    size_t i, k;
    static const size_t ns[] = { 0, 1, 2, 3, 41, 42, 43, 125, 126, 65535, 65536, 1 << 20 };

    for (i = 0; i < sizeof ns / sizeof ns[0]; i++)
        ok(wsd_record_bound(ns[i]) >= 3 * ns[i] + 11, "bound(%zu) = %zu", ns[i],
           wsd_record_bound(ns[i]));

    /* many empty records: 8 input bytes → 2 output bytes, and a lone "\n"
     * that ends a header → an empty frame */
    for (k = 0; k < 300; k++)
        add_record(&s, k % 2, "", 0);
    check_stream("300 empty records", &s, 0);
    stream_free(&s);

    /* all-invalid text (each byte → 3): the worst expansion, with carries */
    {
        uint8_t p[300];
        for (k = 0; k < sizeof p; k++)
            p[k] = k % 3 == 0 ? 0xF0 : k % 3 == 1 ? 0x9F : 0xFF;
        add_record(&s, 1, p, sizeof p);
        memset(p, 0xFF, sizeof p);
        add_record(&s, 1, p, sizeof p);
        for (k = 0; k < 40; k++)
            add_record(&s, 1, "\xff", 1);
        add_record(&s, 1, p, 41);
        add_record(&s, 1, p, 42);
        add_record(&s, 1, "\xf0\x9f\x98", 3);
        check_stream("expanding text records", &s, 0);
        stream_free(&s);
    }

    /* a random soup: records of every kind with random invalid bytes, random
     * cuts; the bound is checked in every call */
    {
        unsigned x = 12345;
        int good = 1;
        size_t run_i;
        for (run_i = 0; run_i < 300 && good; run_i++) {
            size_t nrec = 1 + run_i % 20, r, nc = 0, pos = 0;
            size_t cuts[600];
            for (r = 0; r < nrec; r++) {
                uint8_t p[200];
                size_t n, j;
                x = x * 1103515245u + 12345u;
                n = (x >> 16) % (r % 3 == 0 ? 3 : 200);
                for (j = 0; j < n; j++) {
                    x = x * 1103515245u + 12345u;
                    p[j] = (x >> 8) % 4 == 0 ? (uint8_t)(0x80 + (x >> 16) % 0x80)
                                              : (uint8_t)(0x20 + (x >> 16) % 0x5f);
                }
                add_record(&s, (int)((x >> 24) & 1), p, n);
            }
            for (;;) {
                x = x * 1103515245u + 12345u;
                pos += (x >> 16) % 50;
                if (pos >= s.in.n || nc == sizeof cuts / sizeof cuts[0])
                    break;
                cuts[nc++] = pos;
            }
            good = run_cmp(s.in.p, s.in.n, cuts, nc, (int)(run_i % 3), 0, &s.want, NULL,
                           "random soup");
            stream_free(&s);
        }
        ok(good, "random record soup, %zu runs", run_i);
    }
    printf("# worst output/bound seen: %zu/%zu\n", max_out_ratio_num, max_out_ratio_den);
    ok(max_out_ratio_num <= max_out_ratio_den, "bound never exceeded");
}


/* ---- addressed mode -------------------------------------------------------- */

/* Runs the addressed decoder over in[0..n) cut at the given points and
 * writes a transcript: one line per event and per completed message,
 * "START to=a,b" / "START all", "MSG text <payload>", "CLOSE id code reason",
 * "BAD reason". Frames are reassembled here (unmasked, as the decoder
 * writes them). */
static void transcript(const uint8_t *in, size_t n, const size_t *cuts, size_t ncuts, buf *t)
{
    wsd_record_decoder d;
    buf m = {0};
    int mop = 0;
    size_t k, start = 0;

    wsd_record_decoder_init_addressed(&d);
    for (k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n, pos = start;
        int last = k == ncuts;
        do {
            wsd_record_event ev;
            size_t chunk = end - pos, olen = 0, used, f = 0;
            uint8_t *copy = malloc(chunk ? chunk : 1);
            uint8_t *out = malloc(wsd_record_bound(chunk));
            char line[512];
            if (!copy || !out)
                abort();
            memcpy(copy, in + pos, chunk);
            used = wsd_record_step(&d, copy, chunk, last, out, &olen, &ev);
            while (f < olen) {
                int fin = out[f] & 0x80, op = out[f] & 0x0f;
                size_t len = out[f + 1] & 0x7f, h = 2;
                if (len == 126) {
                    len = (size_t)out[f + 2] << 8 | out[f + 3];
                    h = 4;
                } else if (len == 127) {
                    len = 0;
                    for (int i = 0; i < 8; i++)
                        len = len << 8 | out[f + 2 + i];
                    h = 10;
                }
                if (op != WSD_WS_CONT)
                    mop = op;
                put(&m, out + f + h, len);
                if (fin) {
                    snprintf(line, sizeof line, "MSG %s ", mop == WSD_WS_TEXT ? "text" : "binary");
                    put(t, line, strlen(line));
                    put(t, m.p, m.n);
                    put(t, "\n", 1);
                    m.n = 0;
                }
                f += h + len;
            }
            if (ev.type == WSD_REC_START) {
                put(t, "START ", 6);
                if (!ev.nto)
                    put(t, "all", 3);
                for (size_t i = 0; i < ev.nto; i++) {
                    if (i)
                        put(t, ",", 1);
                    put(t, ev.to[i], strlen(ev.to[i]));
                }
                put(t, "\n", 1);
            } else if (ev.type == WSD_REC_CLOSE) {
                snprintf(line, sizeof line, "CLOSE %s %u %s\n", ev.id, ev.code, ev.reason);
                put(t, line, strlen(line));
            } else if (ev.type == WSD_REC_BAD) {
                snprintf(line, sizeof line, "BAD %s\n", ev.err);
                put(t, line, strlen(line));
            }
            free(copy);
            free(out);
            pos += used;
            if (ev.type == WSD_REC_MORE)
                break;
        } while (1);
        start = end;
    }
    wsd_record_decoder_free(&d);
    free(m.p);
}

static void check_addressed(const char *name, const char *in, const char *want)
{
    size_t n = strlen(in), i, j, fails = 0;
    buf t = {0};

    transcript((const uint8_t *)in, n, NULL, 0, &t);
    put(&t, "", 1);
    is_str((char *)t.p, want, "addressed %s: whole", name);
    for (i = 1; i < n && fails < 3; i++) {
        t.n = 0;
        transcript((const uint8_t *)in, n, &i, 1, &t);
        put(&t, "", 1);
        if (strcmp((char *)t.p, want) != 0) {
            ok(0, "addressed %s: cut at %zu", name, i);
            printf("#   got:\n%s", (char *)t.p);
            fails++;
        }
    }
    for (i = 1; i < n && fails < 3 && n < 200; i++) {
        for (j = i + 1; j < n; j++) {
            size_t cuts[2] = {i, j};
            t.n = 0;
            transcript((const uint8_t *)in, n, cuts, 2, &t);
            put(&t, "", 1);
            if (strcmp((char *)t.p, want) != 0) {
                ok(0, "addressed %s: cut at %zu and %zu", name, i, j);
                fails++;
                break;
            }
        }
    }
    {
        size_t *cuts = malloc(n * sizeof *cuts);
        for (i = 1; i < n; i++)
            cuts[i - 1] = i;
        t.n = 0;
        transcript((const uint8_t *)in, n, cuts, n > 0 ? n - 1 : 0, &t);
        put(&t, "", 1);
        is_str((char *)t.p, want, "addressed %s: byte by byte", name);
        free(cuts);
    }
    ok(fails == 0, "addressed %s: every split gives the same transcript", name);
    free(t.p);
}

static void test_addressed(void)
{
    check_addressed("to all", "text 5\nhello\n", "START all\nMSG text hello\n");
    check_addressed("to one and to two",
                    "text 2 to=17\nhi\nbinary 3 to=17,42\nabc\n",
                    "START 17\nMSG text hi\nSTART 17,42\nMSG binary abc\n");
    check_addressed("empty record", "text 0 to=5\n\ntext 1\nx\n",
                    "START 5\nMSG text \nSTART all\nMSG text x\n");
    check_addressed("close", "close 17 4000 7\ngo away\ntext 1\nx\n",
                    "CLOSE 17 4000 go away\nSTART all\nMSG text x\n");
    check_addressed("close without reason", "close 9 1000 0\n\n", "CLOSE 9 1000 \n");
    check_addressed("unknown kind skipped", "bogus line\ntext 1\nx\n",
                    "BAD unknown record kind\nSTART all\nMSG text x\n");
    check_addressed("bad to skipped", "text 1 to=\nx\ntext 1\ny\n",
                    "BAD unknown field in record header (only to=ID,...)\nBAD unknown record kind\nSTART all\nMSG text y\n");
    check_addressed("bad id", "text 1 to=1a\nx\n", "BAD bad connection id in to=\nBAD unknown record kind\n");
    check_addressed("bad close code", "close 1 1005 0\n\ntext 1\nz\n",
                    "BAD bad close code in close record\nBAD empty record header\nSTART all\nMSG text z\n");
    check_addressed("long reason", "close 1 1000 124\n", "BAD bad reason length in close record (at most 123)\n");
    /* the rest of that line is skipped: the next record starts after it */
    check_addressed("missing newline", "text 1\nxY junk\ntext 1\nz\n",
                    "START all\nMSG text x\nBAD missing newline after record\nSTART all\nMSG text z\n");
    check_addressed("truncated payload", "text 5\nhel",
                    "START all\nMSG text hel\nBAD truncated record\n");
    check_addressed("CR", "text 1\r\nx\n", "BAD carriage return in record header\nBAD unknown record kind\n");
    check_addressed("invalid UTF-8 replaced", "text 2 to=3\n\xff\x41\n",
                    "START 3\nMSG text \xef\xbf\xbd" "A\n");
}

int main(void)
{
    test_header();
    test_exact();
    test_streams();
    test_errors();
    test_bound();
    test_addressed();
    return done_testing();
}
