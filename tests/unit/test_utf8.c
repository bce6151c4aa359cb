/* test_utf8.c — the UTF-8 validator, incomplete-tail finder and sanitiser.
 *
 * Three independent references written from the specs are used to check the
 * DFA: a code-point decoder (RFC 3629 §3: lengths, overlongs, surrogates,
 * U+10FFFF), a "can this still become valid?" prefix check built on it, and
 * the WHATWG Encoding Standard's UTF-8 decoder (for U+FFFD substitution).
 * Named vectors follow Markus Kuhn's UTF-8 stress test / Autobahn case 6. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "utf8.h"

/* ---- references ---------------------------------------------------------- */

/* Whole-string validity by decoding code points. */
static int ref_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        size_t len, k;
        uint32_t cp, min;
        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            len = 2, cp = b & 0x1F, min = 0x80;
        } else if ((b & 0xF0) == 0xE0) {
            len = 3, cp = b & 0x0F, min = 0x800;
        } else if ((b & 0xF8) == 0xF0) {
            len = 4, cp = b & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* Is p[0..n) the beginning of some valid string? Tries every way to finish
 * it with up to 3 bytes from a set of tail bytes that covers every range the
 * grammar distinguishes. */
static int ref_prefix_ok(const uint8_t *p, size_t n)
{
    static const uint8_t tails[] = { 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF };
    uint8_t buf[64];
    size_t a, b, c, nt = sizeof tails;
    if (ref_valid(p, n))
        return 1;
    if (n > 60)
        abort();
    memcpy(buf, p, n);
    for (a = 0; a < nt; a++) {
        buf[n] = tails[a];
        if (ref_valid(buf, n + 1))
            return 1;
        for (b = 0; b < nt; b++) {
            buf[n + 1] = tails[b];
            if (ref_valid(buf, n + 2))
                return 1;
            for (c = 0; c < nt; c++) {
                buf[n + 2] = tails[c];
                if (ref_valid(buf, n + 3))
                    return 1;
            }
        }
    }
    return 0;
}

/* Index of the byte at which a fail-fast validator must reject, or -1. */
static long ref_reject_at(const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!ref_prefix_ok(p, i + 1))
            return (long)i;
    return -1;
}

static size_t put_cp(uint8_t *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* The WHATWG Encoding Standard's UTF-8 decoder, step by step. */
static size_t ref_sanitize(const uint8_t *p, size_t n, uint8_t *out)
{
    uint32_t cp = 0;
    int needed = 0, seen = 0;
    uint8_t lower = 0x80, upper = 0xBF;
    size_t i = 0, o = 0;

    while (i < n) {
        uint8_t b = p[i];
        if (needed == 0) {
            i++;
            if (b <= 0x7F) {
                out[o++] = b;
            } else if (b >= 0xC2 && b <= 0xDF) {
                needed = 1;
                cp = b & 0x1F;
            } else if (b >= 0xE0 && b <= 0xEF) {
                if (b == 0xE0)
                    lower = 0xA0;
                if (b == 0xED)
                    upper = 0x9F;
                needed = 2;
                cp = b & 0xF;
            } else if (b >= 0xF0 && b <= 0xF4) {
                if (b == 0xF0)
                    lower = 0x90;
                if (b == 0xF4)
                    upper = 0x8F;
                needed = 3;
                cp = b & 0x7;
            } else {
                o += put_cp(out + o, 0xFFFD);
            }
            continue;
        }
        if (b < lower || b > upper) {
            cp = 0;
            needed = seen = 0;
            lower = 0x80;
            upper = 0xBF;
            o += put_cp(out + o, 0xFFFD);
            continue;               /* "prepend byte to stream": not consumed */
        }
        i++;
        lower = 0x80;
        upper = 0xBF;
        cp = cp << 6 | (b & 0x3F);
        if (++seen == needed) {
            o += put_cp(out + o, cp);
            cp = 0;
            needed = seen = 0;
        }
    }
    if (needed)
        o += put_cp(out + o, 0xFFFD);
    return o;
}

/* Where does wsd_utf8_validate, fed one byte at a time, first say REJECT? */
static long dfa_reject_at(const uint8_t *p, size_t n)
{
    uint32_t s = WSD_UTF8_ACCEPT;
    size_t i;
    for (i = 0; i < n; i++)
        if (wsd_utf8_validate(&s, p + i, 1) == WSD_UTF8_REJECT)
            return (long)i;
    return -1;
}

/* ---- named vectors -------------------------------------------------------- */

#define FFFD "\xef\xbf\xbd"

typedef struct {
    const char *name;
    const char *s;          /* bytes */
    size_t n;
    int valid;
    long reject_at;         /* -1: never rejected (valid or merely truncated) */
    const char *sanitized;  /* wsd_utf8_sanitize's output */
    size_t sanitized_n;
} vec;

#define V(name, s, valid, at, san) { name, s, sizeof(s) - 1, valid, at, san, sizeof(san) - 1 }

static const vec vectors[] = {
    V("empty", "", 1, -1, ""),
    V("ascii", "Hello, world", 1, -1, "Hello, world"),
    V("kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 1, -1,
      "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),
    /* Kuhn 2.1: first possible sequence of each length */
    V("U+0000", "\x00", 1, -1, "\x00"),
    V("U+0080", "\xc2\x80", 1, -1, "\xc2\x80"),
    V("U+0800", "\xe0\xa0\x80", 1, -1, "\xe0\xa0\x80"),
    V("U+10000", "\xf0\x90\x80\x80", 1, -1, "\xf0\x90\x80\x80"),
    /* Kuhn 2.2: last possible sequence of each length */
    V("U+007F", "\x7f", 1, -1, "\x7f"),
    V("U+07FF", "\xdf\xbf", 1, -1, "\xdf\xbf"),
    V("U+FFFF", "\xef\xbf\xbf", 1, -1, "\xef\xbf\xbf"),
    V("U+10FFFF", "\xf4\x8f\xbf\xbf", 1, -1, "\xf4\x8f\xbf\xbf"),
    V("U+1FFFFF (5.2.3)", "\xf7\xbf\xbf\xbf", 0, 0, FFFD FFFD FFFD FFFD),
    /* Kuhn 2.3: other boundary conditions */
    V("U+D7FF", "\xed\x9f\xbf", 1, -1, "\xed\x9f\xbf"),
    V("U+E000", "\xee\x80\x80", 1, -1, "\xee\x80\x80"),
    V("U+FFFD", "\xef\xbf\xbd", 1, -1, FFFD),
    V("U+110000", "\xf4\x90\x80\x80", 0, 1, FFFD FFFD FFFD FFFD),
    V("U+FFFE noncharacter", "\xef\xbf\xbe", 1, -1, "\xef\xbf\xbe"),
    V("U+FDD0 noncharacter", "\xef\xb7\x90", 1, -1, "\xef\xb7\x90"),
    /* Kuhn 3.1: unexpected continuation bytes */
    V("lone 0x80", "\x80", 0, 0, FFFD),
    V("lone 0xbf", "\xbf", 0, 0, FFFD),
    V("0x80 0xbf", "\x80\xbf", 0, 0, FFFD FFFD),
    V("0x80 0xbf 0x80", "\x80\xbf\x80", 0, 0, FFFD FFFD FFFD),
    V("continuation after ascii", "ab\x80" "cd", 0, 2, "ab" FFFD "cd"),
    V("continuation after a complete 2-byte", "\xc3\xa9\xa9", 0, 2, "\xc3\xa9" FFFD),
    /* Kuhn 3.2: lonely start characters */
    V("lonely C2 + space", "\xc2 ", 0, 1, FFFD " "),
    V("lonely E1 + space", "\xe1 ", 0, 1, FFFD " "),
    V("lonely F1 + space", "\xf1 ", 0, 1, FFFD " "),
    V("lonely C0 + space", "\xc0 ", 0, 0, FFFD " "),
    V("lonely F8 + space", "\xf8 ", 0, 0, FFFD " "),
    V("lonely FC + space", "\xfc ", 0, 0, FFFD " "),
    /* Kuhn 3.3: sequences with the last byte missing */
    V("C2 alone", "\xc2", 0, -1, FFFD),
    V("E0 A0", "\xe0\xa0", 0, -1, FFFD),
    V("F0 90 80", "\xf0\x90\x80", 0, -1, FFFD),
    V("DF", "\xdf", 0, -1, FFFD),
    V("EF BF", "\xef\xbf", 0, -1, FFFD),
    V("F4 8F BF", "\xf4\x8f\xbf", 0, -1, FFFD),
    /* Kuhn 3.4: concatenation of incomplete sequences */
    V("truncated 2/3/4 concatenated", "\xc2\xe0\xa0\xf0\x90\x80\xdf\xef\xbf\xf4\x8f\xbf",
      0, 1, FFFD FFFD FFFD FFFD FFFD FFFD),
    V("truncated sequence then ascii", "\xe2\x82" "A", 0, 2, FFFD "A"),
    /* Kuhn 3.5: impossible bytes */
    V("FE", "\xfe", 0, 0, FFFD),
    V("FF", "\xff", 0, 0, FFFD),
    V("FE FE FF FF", "\xfe\xfe\xff\xff", 0, 0, FFFD FFFD FFFD FFFD),
    V("F5 (would be > U+10FFFF)", "\xf5\x80\x80\x80", 0, 0, FFFD FFFD FFFD FFFD),
    /* Kuhn 4.1/4.2: overlong forms */
    V("overlong '/' 2", "\xc0\xaf", 0, 0, FFFD FFFD),
    V("overlong '/' 3", "\xe0\x80\xaf", 0, 1, FFFD FFFD FFFD),
    V("overlong '/' 4", "\xf0\x80\x80\xaf", 0, 1, FFFD FFFD FFFD FFFD),
    V("overlong '/' 5", "\xf8\x80\x80\x80\xaf", 0, 0, FFFD FFFD FFFD FFFD FFFD),
    V("max overlong 2 (C1 BF)", "\xc1\xbf", 0, 0, FFFD FFFD),
    V("max overlong 3 (E0 9F BF)", "\xe0\x9f\xbf", 0, 1, FFFD FFFD FFFD),
    V("max overlong 4 (F0 8F BF BF)", "\xf0\x8f\xbf\xbf", 0, 1, FFFD FFFD FFFD FFFD),
    /* Kuhn 4.3: overlong NUL */
    V("overlong NUL 2", "\xc0\x80", 0, 0, FFFD FFFD),
    V("overlong NUL 3", "\xe0\x80\x80", 0, 1, FFFD FFFD FFFD),
    V("overlong NUL 4", "\xf0\x80\x80\x80", 0, 1, FFFD FFFD FFFD FFFD),
    /* Kuhn 5.1: single UTF-16 surrogates */
    V("U+D800", "\xed\xa0\x80", 0, 1, FFFD FFFD FFFD),
    V("U+DB7F", "\xed\xad\xbf", 0, 1, FFFD FFFD FFFD),
    V("U+DB80", "\xed\xae\x80", 0, 1, FFFD FFFD FFFD),
    V("U+DBFF", "\xed\xaf\xbf", 0, 1, FFFD FFFD FFFD),
    V("U+DC00", "\xed\xb0\x80", 0, 1, FFFD FFFD FFFD),
    V("U+DF80", "\xed\xbe\x80", 0, 1, FFFD FFFD FFFD),
    V("U+DFFF", "\xed\xbf\xbf", 0, 1, FFFD FFFD FFFD),
    /* Kuhn 5.2: paired surrogates */
    V("U+D800 U+DC00", "\xed\xa0\x80\xed\xb0\x80", 0, 1, FFFD FFFD FFFD FFFD FFFD FFFD),
    V("U+DBFF U+DFFF", "\xed\xaf\xbf\xed\xbf\xbf", 0, 1, FFFD FFFD FFFD FFFD FFFD FFFD),
    /* Autobahn 6.3.1: valid text then a surrogate */
    V("kosme + surrogate + edited",
      "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
      0, 12, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5" FFFD FFFD FFFD "edited"),
    /* the example in utf8.h: not yet rejected */
    V("kappa + lone E1", "\xce\xba\xe1", 0, -1, "\xce\xba" FFFD),
    /* Unicode 15 §3.9, Table 3-8 (U+FFFD for maximal subparts) */
    V("Unicode table 3-8", "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
      0, 4, "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d"),
    V("emoji", "\xf0\x9f\x98\x80", 1, -1, "\xf0\x9f\x98\x80"),
    V("long ascii run then bad", "0123456789abcdef0123456789abcdef\xff", 0, 32,
      "0123456789abcdef0123456789abcdef" FFFD),
    V("bad inside an ascii word", "0123456\xff" "89abcdef", 0, 7, "0123456" FFFD "89abcdef"),
};

static void test_vectors(void)
{
    size_t v;
    for (v = 0; v < sizeof vectors / sizeof vectors[0]; v++) {
        const vec *t = &vectors[v];
        const uint8_t *p = (const uint8_t *)t->s;
        size_t n = t->n, i, j, o;
        uint8_t out[512];
        uint32_t s;
        int splits_ok = 1;
        long at;

        is_int(wsd_utf8_valid(p, n), t->valid, "%s: valid", t->name);
        is_int(ref_valid(p, n), t->valid, "%s: reference agrees", t->name);
        at = dfa_reject_at(p, n);
        is_int(at, t->reject_at, "%s: rejected at byte %ld", t->name, t->reject_at);
        is_int(ref_reject_at(p, n), t->reject_at, "%s: reference reject position", t->name);

        /* whole vs every 2- and 3-way split */
        s = WSD_UTF8_ACCEPT;
        {
            uint32_t whole = wsd_utf8_validate(&s, p, n);
            is_int(whole == WSD_UTF8_ACCEPT, t->valid, "%s: validate() whole", t->name);
            for (i = 0; i <= n; i++)
                for (j = i; j <= n; j++) {
                    uint32_t s2 = WSD_UTF8_ACCEPT;
                    wsd_utf8_validate(&s2, p, i);
                    wsd_utf8_validate(&s2, p + i, j - i);
                    wsd_utf8_validate(&s2, p + j, n - j);
                    if (s2 != whole)
                        splits_ok = 0;
                }
            ok(splits_ok, "%s: every 3-way split gives the same state", t->name);
        }

        o = wsd_utf8_sanitize(p, n, out);
        is_mem(out, o, t->sanitized, t->sanitized_n, "%s: sanitized", t->name);
        ok(wsd_utf8_valid(out, o), "%s: sanitized output is valid", t->name);
        ok(o <= 3 * n, "%s: sanitized output within 3n", t->name);
    }
}

/* ---- exhaustive and sampled comparisons with the references --------------- */

static const uint8_t reps[] = {
    0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
    0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8,
    0xFE, 0xFF,
};
#define NREPS (sizeof reps / sizeof reps[0])

static int check_one(const uint8_t *p, size_t n, int full, long *bad)
{
    uint8_t a[3 * 64], b[3 * 64];
    size_t la, lb;
    int good = 1;

    if (wsd_utf8_valid(p, n) != ref_valid(p, n))
        good = 0;
    la = wsd_utf8_sanitize(p, n, a);
    lb = ref_sanitize(p, n, b);
    if (la != lb || memcmp(a, b, la) != 0)
        good = 0;
    if (full && dfa_reject_at(p, n) != ref_reject_at(p, n))
        good = 0;
    if (!good && (*bad)++ < 5)
        t_hexdump("mismatch on", p, n);
    return good;
}

static void test_exhaustive(void)
{
    uint8_t p[8];
    long bad = 0, count = 0;
    unsigned a, b, c, d;

    for (a = 0; a < 256; a++) {
        p[0] = (uint8_t)a;
        check_one(p, 1, 1, &bad);
        count++;
    }
    ok(bad == 0, "all %ld 1-byte strings match the references", count);

    bad = count = 0;
    for (a = 0; a < 256; a++)
        for (b = 0; b < 256; b++) {
            p[0] = (uint8_t)a;
            p[1] = (uint8_t)b;
            check_one(p, 2, 1, &bad);
            count++;
        }
    ok(bad == 0, "all %ld 2-byte strings match (validity, sanitize, reject position)", count);

    /* every 3-byte string: validity against the code-point decoder */
    bad = count = 0;
    for (a = 0; a < 256; a++)
        for (b = 0; b < 256; b++)
            for (c = 0; c < 256; c++) {
                uint32_t s = WSD_UTF8_ACCEPT;
                int want;
                p[0] = (uint8_t)a;
                p[1] = (uint8_t)b;
                p[2] = (uint8_t)c;
                want = ref_valid(p, 3);
                if ((wsd_utf8_validate(&s, p, 3) == WSD_UTF8_ACCEPT) != want ||
                    (want && s != WSD_UTF8_ACCEPT)) {
                    if (bad++ < 5)
                        t_hexdump("mismatch on", p, 3);
                }
                count++;
            }
    ok(bad == 0, "all %ld 3-byte strings: validity matches", count);

    /* every 4-byte string whose first byte is F0..F4 and whose other bytes are
     * tails (all 5 * 64^3 of them): exactly the 4-byte sequences */
    bad = count = 0;
    for (a = 0xF0; a <= 0xF4; a++)
        for (b = 0x80; b < 0xC0; b++)
            for (c = 0x80; c < 0xC0; c++)
                for (d = 0x80; d < 0xC0; d++) {
                    p[0] = (uint8_t)a;
                    p[1] = (uint8_t)b;
                    p[2] = (uint8_t)c;
                    p[3] = (uint8_t)d;
                    if (wsd_utf8_valid(p, 4) != ref_valid(p, 4) && bad++ < 5)
                        t_hexdump("mismatch on", p, 4);
                    count++;
                }
    ok(bad == 0, "all %ld F0-F4 + 3 tails strings: validity matches", count);

    /* sampled (boundary bytes of every class): 3- and 4-byte strings, every
     * property including the fail-fast position */
    bad = count = 0;
    for (a = 0; a < NREPS; a++)
        for (b = 0; b < NREPS; b++)
            for (c = 0; c < NREPS; c++) {
                p[0] = reps[a];
                p[1] = reps[b];
                p[2] = reps[c];
                check_one(p, 3, 1, &bad);
                count++;
            }
    ok(bad == 0, "%ld sampled 3-byte strings match every reference", count);

    bad = count = 0;
    for (a = 0; a < NREPS; a++)
        for (b = 0; b < NREPS; b++)
            for (c = 0; c < NREPS; c++)
                for (d = 0; d < NREPS; d++) {
                    p[0] = reps[a];
                    p[1] = reps[b];
                    p[2] = reps[c];
                    p[3] = reps[d];
                    check_one(p, 4, 0, &bad);
                    count++;
                }
    ok(bad == 0, "%ld sampled 4-byte strings match (validity, sanitize)", count);
}

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void test_random(void)
{
    long bad = 0, i, splitbad = 0;
    uint8_t p[40];

    for (i = 0; i < 100000; i++) {
        size_t n = rnd() % 40, k, cut;
        uint32_t s1 = WSD_UTF8_ACCEPT, s2 = WSD_UTF8_ACCEPT;
        for (k = 0; k < n; k++)
            p[k] = (rnd() & 3) ? reps[rnd() % NREPS] : (uint8_t)rnd();
        check_one(p, n, i < 20000, &bad);
        cut = n ? rnd() % (n + 1) : 0;
        wsd_utf8_validate(&s1, p, n);
        wsd_utf8_validate(&s2, p, cut);
        wsd_utf8_validate(&s2, p + cut, n - cut);
        if (s1 != s2)
            splitbad++;
    }
    ok(bad == 0, "100000 random strings match the references");
    ok(splitbad == 0, "100000 random strings: split validation equals whole");
}

/* ---- sanitize_pair(): streaming with a held tail ------------------------- */

/* Sanitising p[0..n) in two chunks cut at k, the way outframe.c and
 * record.c stream it (the first chunk minus its incomplete tail, then
 * tail ‖ the second chunk through sanitize_pair), gives the whole-input
 * result. Returns 1 if it does for every k. */
static int pair_splits_ok(const uint8_t *p, size_t n)
{
    uint8_t whole[3 * 64], two[3 * 64];
    size_t lw, k;

    lw = wsd_utf8_sanitize(p, n, whole);
    for (k = 0; k <= n; k++) {
        size_t t = wsd_utf8_incomplete_tail(p, k), o;
        o = wsd_utf8_sanitize(p, k - t, two);
        o += wsd_utf8_sanitize_pair(p + k - t, t, p + k, n - k, two + o);
        if (o != lw || memcmp(two, whole, lw) != 0)
            return 0;
    }
    return 1;
}

static void test_sanitize_pair(void)
{
    size_t v;
    long i, bad = 0;
    uint8_t p[40], out[32];

    for (v = 0; v < sizeof vectors / sizeof vectors[0]; v++)
        ok(pair_splits_ok((const uint8_t *)vectors[v].s, vectors[v].n),
           "%s: sanitize_pair at every cut = whole", vectors[v].name);
    for (i = 0; i < 20000; i++) {
        size_t n = rnd() % 40, k;
        for (k = 0; k < n; k++)
            p[k] = (rnd() & 3) ? reps[rnd() % NREPS] : (uint8_t)rnd();
        if (!pair_splits_ok(p, n) && bad++ < 3)
            t_hexdump("sanitize_pair mismatch on", p, n);
    }
    ok(bad == 0, "20000 random strings: sanitize_pair at every cut = whole");
    /* a held tail that the next chunk does not continue */
    is_mem(out, wsd_utf8_sanitize_pair((const uint8_t *)"\xe2\x82", 2, (const uint8_t *)"A", 1, out),
           FFFD "A", 4, "held E2 82, then 'A': U+FFFD A");
    is_mem(out, wsd_utf8_sanitize_pair((const uint8_t *)"\xe2\x82", 2, (const uint8_t *)"", 0, out),
           FFFD, 3, "held E2 82 and nothing more: U+FFFD");
    is_mem(out, wsd_utf8_sanitize_pair((const uint8_t *)"\xf0\x9f", 2,
                                       (const uint8_t *)"\x98\x80!", 3, out),
           "\xf0\x9f\x98\x80!", 5, "held F0 9F completed by 98 80");
}

/* ---- validate(): state protocol ------------------------------------------- */

static void test_validate_api(void)
{
    uint32_t s = WSD_UTF8_ACCEPT;
    const uint8_t *e = (const uint8_t *)"\xe2\x82\xac";

    is_int(wsd_utf8_validate(&s, e, 1), s, "return value equals stored state");
    ok(s != WSD_UTF8_ACCEPT && s != WSD_UTF8_REJECT, "after E2: inside a sequence");
    wsd_utf8_validate(&s, e + 1, 1);
    ok(s != WSD_UTF8_ACCEPT && s != WSD_UTF8_REJECT, "after E2 82: inside a sequence");
    wsd_utf8_validate(&s, e + 2, 1);
    is_int(s, WSD_UTF8_ACCEPT, "after E2 82 AC: accept");
    wsd_utf8_validate(&s, (const uint8_t *)"", 0);
    is_int(s, WSD_UTF8_ACCEPT, "empty input keeps the state");

    s = WSD_UTF8_ACCEPT;
    wsd_utf8_validate(&s, (const uint8_t *)"\xff", 1);
    is_int(s, WSD_UTF8_REJECT, "FF: reject");
    wsd_utf8_validate(&s, (const uint8_t *)"abc", 3);
    is_int(s, WSD_UTF8_REJECT, "reject is sticky");

    s = WSD_UTF8_ACCEPT;
    wsd_utf8_validate(&s, (const uint8_t *)"\xce\xba\xe1", 3);
    ok(s != WSD_UTF8_REJECT && s != WSD_UTF8_ACCEPT, "CE BA E1: not rejected yet (utf8.h)");
    s = WSD_UTF8_ACCEPT;
    wsd_utf8_validate(&s, (const uint8_t *)"\xed\xa0", 2);
    is_int(s, WSD_UTF8_REJECT, "ED A0: rejected at once (utf8.h)");

    /* a valid 4-byte character fed in every split */
    {
        const uint8_t *g = (const uint8_t *)"\xf0\x9f\x98\x80";
        size_t i, j;
        int all = 1;
        for (i = 0; i <= 4; i++)
            for (j = i; j <= 4; j++) {
                uint32_t t = WSD_UTF8_ACCEPT;
                wsd_utf8_validate(&t, g, i);
                if (i > 0 && i < 4 && t == WSD_UTF8_ACCEPT)
                    all = 0;
                wsd_utf8_validate(&t, g + i, j - i);
                wsd_utf8_validate(&t, g + j, 4 - j);
                if (t != WSD_UTF8_ACCEPT)
                    all = 0;
            }
        ok(all, "U+1F600 validates across every split");
    }
}

/* ---- incomplete_tail ------------------------------------------------------ */

static size_t ref_tail(const uint8_t *p, size_t n)
{
    size_t k;
    for (k = n < 3 ? n : 3; k > 0; k--) {
        const uint8_t *q = p + n - k;
        size_t need = q[0] >= 0xF0 ? 4 : q[0] >= 0xE0 ? 3 : 2;
        if (q[0] < 0xC2 || q[0] > 0xF4)
            continue;
        if (k < need && ref_prefix_ok(q, k))
            return k;
    }
    return 0;
}

static void test_tail(void)
{
    static const struct { const char *s; size_t want; } t[] = {
        { "", 0 }, { "a", 0 }, { "\xc3", 1 }, { "a\xc3", 1 }, { "\xc3\xa9", 0 },
        { "\xe2\x82", 2 }, { "\xe2", 1 }, { "\xe2\x82\xac", 0 }, { "x\xe2\x82", 2 },
        { "\xf0\x9f\x98", 3 }, { "\xf0\x9f", 2 }, { "\xf0", 1 }, { "\xf0\x9f\x98\x80", 0 },
        { "a\xf0\x9f\x98", 3 }, { "\xe0\x80", 0 }, { "\xe0\xa0", 2 }, { "\xed\xa0", 0 },
        { "\xed\x9f", 2 }, { "\xf4\x90", 0 }, { "\xf4\x8f", 2 }, { "\xf0\x8f", 0 },
        { "\xf5", 0 }, { "\xc0", 0 }, { "\xc1", 0 }, { "\x80", 0 }, { "\xbf\xbf", 0 },
        { "\xc3\xa9\xc3", 1 }, { "\xff\xc3", 1 }, { "\xe2\x82\xac\xe2", 1 },
        { "\xc3\xa9\xa9", 0 }, { "\xe2\x82\x82", 0 }, { "abc\r", 0 },
    };
    size_t i, bad = 0, count = 0;
    unsigned a, b, c;
    uint8_t p[3];

    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t n = strlen(t[i].s);
        is_int(wsd_utf8_incomplete_tail((const uint8_t *)t[i].s, n), t[i].want,
               "incomplete_tail vector %zu", i);
    }
    for (a = 0; a < NREPS; a++)
        for (b = 0; b < NREPS; b++)
            for (c = 0; c < NREPS; c++) {
                size_t n;
                p[0] = reps[a];
                p[1] = reps[b];
                p[2] = reps[c];
                for (n = 0; n <= 3; n++) {
                    const uint8_t *q = p + (3 - n);
                    if (wsd_utf8_incomplete_tail(q, n) != ref_tail(q, n) && bad++ < 5)
                        t_hexdump("tail mismatch on", q, n);
                    count++;
                }
            }
    ok(bad == 0, "incomplete_tail matches the reference on %zu sampled strings", count);

    /* the defining property: for any string, the part before the tail
     * sanitises the same way whether or not it is followed by the tail's
     * completion */
    bad = 0;
    for (i = 0; i < 20000; i++) {
        uint8_t s[16];
        size_t n = 1 + rnd() % 12, k, tl;
        for (k = 0; k < n; k++)
            s[k] = reps[rnd() % NREPS];
        tl = wsd_utf8_incomplete_tail(s, n);
        if (tl > 3 || tl > n)
            bad++;
        else if (tl) {
            uint32_t st = WSD_UTF8_ACCEPT;
            /* the tail on its own is a valid prefix, not complete */
            if (wsd_utf8_validate(&st, s + n - tl, tl) == WSD_UTF8_REJECT || st == WSD_UTF8_ACCEPT)
                bad++;
        }
    }
    ok(bad == 0, "incomplete_tail of random strings is a proper incomplete sequence");
}

/* ---- sanitize: misc ------------------------------------------------------- */

static void test_sanitize_misc(void)
{
    uint8_t out[3 * 300], in[300];
    size_t o, i;

    o = wsd_utf8_sanitize((const uint8_t *)"", 0, out);
    is_int(o, 0, "sanitize of nothing is nothing");

    memset(in, 0xFF, sizeof in);
    o = wsd_utf8_sanitize(in, sizeof in, out);
    is_int(o, 3 * sizeof in, "300 x FF → exactly 3n bytes (the worst case)");
    for (i = 0; i < sizeof in; i++)
        if (memcmp(out + 3 * i, FFFD, 3) != 0)
            break;
    is_int(i, sizeof in, "... all U+FFFD");

    memset(in, 0x80, sizeof in);
    o = wsd_utf8_sanitize(in, sizeof in, out);
    is_int(o, 3 * sizeof in, "300 x 80 → 300 U+FFFD");

    /* valid input is copied unchanged, including long mixed runs */
    for (i = 0; i + 4 <= sizeof in; i += 4)
        memcpy(in + i, i % 8 ? "\xf0\x9f\x98\x80" : "abcd", 4);
    o = wsd_utf8_sanitize(in, sizeof in, out);
    is_mem(out, o, in, sizeof in, "valid mixed text is copied unchanged");
    ok(wsd_utf8_valid(in, sizeof in), "... and is valid");
}

int main(void)
{
    test_validate_api();
    test_vectors();
    test_tail();
    test_sanitize_misc();
    test_exhaustive();
    test_random();
    test_sanitize_pair();
    return done_testing();
}
