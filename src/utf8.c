/* utf8.c — incremental UTF-8 validation and sanitising (see utf8.h).
 *
 * The validator is a small DFA derived directly from the ABNF in RFC 3629 §4:
 *
 *   UTF8-1 = %x00-7F
 *   UTF8-2 = %xC2-DF UTF8-tail
 *   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
 *            %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
 *   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
 *            %xF4 %x80-8F 2( UTF8-tail )
 *   UTF8-tail = %x80-BF
 *
 * Every byte falls into one of twelve classes (the ranges that appear in the
 * grammar), and the states are "where we are inside one of those
 * productions". The restricted second bytes after E0/ED/F0/F4 are what rule
 * out overlongs, surrogates and code points above U+10FFFF, and since they
 * are checked as soon as the byte arrives the validator fails fast. */
#include "utf8.h"

#include <string.h>

/* Byte classes. */
enum {
    C_ASCII,   /* 00-7F */
    C_T8,      /* 80-8F: tail */
    C_T9,      /* 90-9F: tail */
    C_TA,      /* A0-BF: tail */
    C_BAD,     /* C0-C1, F5-FF: never appear */
    C_L2,      /* C2-DF: lead of a 2-byte sequence */
    C_E0,      /* E0: 3-byte, second byte A0-BF */
    C_L3,      /* E1-EC, EE-EF: 3-byte, any tails */
    C_ED,      /* ED: 3-byte, second byte 80-9F (no surrogates) */
    C_F0,      /* F0: 4-byte, second byte 90-BF */
    C_L4,      /* F1-F3: 4-byte, any tails */
    C_F4,      /* F4: 4-byte, second byte 80-8F (≤ U+10FFFF) */
    NCLASS
};

static const uint8_t byte_class[256] = {
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00 */
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 20 */
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 30 */
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 40 */
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 50 */
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 60 */
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 70 */
     1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 80 */
     2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 90 */
     3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* A0 */
     3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* B0 */
     4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* C0 */
     5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* D0 */
     6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 7, /* E0 */
     9,10,10,10,11, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* F0 */
};

/* States. ACCEPT (0) and REJECT (1) are public; the others mean "inside a
 * sequence". */
enum {
    S_ACCEPT = WSD_UTF8_ACCEPT,
    S_REJECT = WSD_UTF8_REJECT,
    S_TAIL1,   /* one more tail byte (80-BF) */
    S_TAIL2,   /* two more tail bytes */
    S_TAIL3,   /* three more tail bytes */
    S_E0,      /* after E0: A0-BF, then one tail */
    S_ED,      /* after ED: 80-9F, then one tail */
    S_F0,      /* after F0: 90-BF, then two tails */
    S_F4,      /* after F4: 80-8F, then two tails */
    NSTATE
};

#define R S_REJECT
static const uint8_t transition[NSTATE][NCLASS] = {
    /*            ASCII     T8       T9       TA      BAD  L2       E0    L3       ED    F0    L4       F4 */
    [S_ACCEPT] = { S_ACCEPT, R,       R,       R,       R, S_TAIL1, S_E0, S_TAIL2, S_ED, S_F0, S_TAIL3, S_F4 },
    [S_REJECT] = { R,        R,       R,       R,       R, R,       R,    R,       R,    R,    R,       R },
    [S_TAIL1]  = { R,        S_ACCEPT, S_ACCEPT, S_ACCEPT, R, R,    R,    R,       R,    R,    R,       R },
    [S_TAIL2]  = { R,        S_TAIL1, S_TAIL1, S_TAIL1, R, R,       R,    R,       R,    R,    R,       R },
    [S_TAIL3]  = { R,        S_TAIL2, S_TAIL2, S_TAIL2, R, R,       R,    R,       R,    R,    R,       R },
    [S_E0]     = { R,        R,       R,       S_TAIL1, R, R,       R,    R,       R,    R,    R,       R },
    [S_ED]     = { R,        S_TAIL1, S_TAIL1, R,       R, R,       R,    R,       R,    R,    R,       R },
    [S_F0]     = { R,        R,       S_TAIL2, S_TAIL2, R, R,       R,    R,       R,    R,    R,       R },
    [S_F4]     = { R,        S_TAIL2, R,       R,       R, R,       R,    R,       R,    R,    R,       R },
};
#undef R

static inline uint32_t step(uint32_t state, uint8_t b)
{
    return transition[state][byte_class[b]];
}

/* Index of the first byte ≥ 0x80 in p[i..n), or n. */
static size_t skip_ascii(const uint8_t *p, size_t i, size_t n)
{
    while (i + 16 <= n) {
        uint64_t w, v;
        memcpy(&w, p + i, 8);
        memcpy(&v, p + i + 8, 8);
        if ((w | v) & UINT64_C(0x8080808080808080))
            break;
        i += 16;
    }
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & UINT64_C(0x8080808080808080))
            break;
        i += 8;
    }
    while (i < n && p[i] < 0x80)
        i++;
    return i;
}

size_t wsd_utf8_ascii_prefix(const uint8_t *p, size_t n)
{
    return skip_ascii(p, 0, n);
}

uint32_t wsd_utf8_validate(uint32_t *state, const uint8_t *p, size_t n)
{
    uint32_t s = *state;
    size_t i = 0;

    if (s >= NSTATE)          /* not a state we handed out: treat as invalid */
        s = S_REJECT;
    while (i < n && s != S_REJECT) {
        if (s == S_ACCEPT) {
            i = skip_ascii(p, i, n);
            if (i == n)
                break;
        }
        s = step(s, p[i++]);
    }
    *state = s;
    return s;
}

size_t wsd_utf8_incomplete_tail(const uint8_t *p, size_t n)
{
    size_t k;

    /* A candidate suffix starts with a lead byte and every byte keeps the
     * DFA strictly inside the sequence. At most one suffix can qualify: the
     * bytes after a lead are all tails. */
    for (k = n < 3 ? n : 3; k > 0; k--) {
        const uint8_t *q = p + (n - k);
        uint32_t s = S_ACCEPT;
        size_t i;
        for (i = 0; i < k; i++) {
            s = step(s, q[i]);
            if (s == S_ACCEPT || s == S_REJECT)
                break;
        }
        if (i == k)
            return k;
    }
    return 0;
}

static const uint8_t replacement[3] = { 0xEF, 0xBF, 0xBD };

size_t wsd_utf8_sanitize(const uint8_t *p, size_t n, uint8_t *out)
{
    size_t i = 0, o = 0, start = 0;
    uint32_t s = S_ACCEPT;

    /* The WHATWG decoder: a byte that cannot continue the current sequence
     * ends it with one U+FFFD (the maximal subpart) and is then looked at
     * again as the possible start of a new one; a byte that cannot start a
     * sequence is one U+FFFD by itself. */
    while (i < n) {
        if (s == S_ACCEPT) {
            size_t j = skip_ascii(p, i, n);
            memcpy(out + o, p + i, j - i);
            o += j - i;
            i = j;
            if (i == n)
                break;
            start = i;
        }
        s = step(s, p[i]);
        if (s == S_REJECT) {
            memcpy(out + o, replacement, 3);
            o += 3;
            if (i == start)     /* could not even start: consume it */
                i++;
            s = S_ACCEPT;       /* otherwise re-examine p[i] */
            continue;
        }
        i++;
        if (s == S_ACCEPT) {    /* sequence p[start..i) complete */
            memcpy(out + o, p + start, i - start);
            o += i - start;
        }
    }
    if (s != S_ACCEPT) {        /* truncated sequence at the end */
        memcpy(out + o, replacement, 3);
        o += 3;
    }
    return o;
}

/* The sequence begun in a ends within a few bytes of b: run the validator
 * from a until it completes or a byte of b cannot continue it. Up to there
 * the whole-input sanitiser's view involves a; after that it is back at a
 * character boundary, and the rest of b can be sanitised on its own. */
size_t wsd_utf8_sanitize_pair(const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
                              uint8_t *out)
{
    uint8_t tmp[8];
    uint32_t st = WSD_UTF8_ACCEPT;
    size_t k = 0, o;

    if (na == 0 || na > 4) {    /* na > 4: misuse, a is not a held sequence */
        o = wsd_utf8_sanitize(a, na, out);
        return o + wsd_utf8_sanitize(b, nb, out + o);
    }
    wsd_utf8_validate(&st, a, na);
    while (st != WSD_UTF8_ACCEPT && st != WSD_UTF8_REJECT && k < nb && k < 4) {
        uint32_t s2 = st;
        if (wsd_utf8_validate(&s2, b + k, 1) == WSD_UTF8_REJECT)
            break;
        st = s2;
        k++;
    }
    memcpy(tmp, a, na);
    memcpy(tmp + na, b, k);
    o = wsd_utf8_sanitize(tmp, na + k, out);
    return o + wsd_utf8_sanitize(b + k, nb - k, out + o);
}

int wsd_utf8_valid(const uint8_t *p, size_t n)
{
    uint32_t s = S_ACCEPT;
    return wsd_utf8_validate(&s, p, n) == S_ACCEPT;
}
