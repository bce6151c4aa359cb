/* fuzz_logjson.c — libFuzzer harness for the JSON log lines (src/log.c):
 * wsd_json_escape, the associations parser and wsd_log_render.
 *
 * Input: [cap] [level] assoc NUL msg — the associations and the message
 * are arbitrary bytes (wsd builds the associations with wsd_log_escape,
 * but a parser is checked on anything). Each is an exact-size heap copy
 * (ASan sees a read past it). Invariants:
 *   - wsd_json_escape of the message into every capacity 3..cap stays
 *     within it, is a valid JSON string body (escapes complete, no raw
 *     control character, valid UTF-8), is the whole escape when that fits
 *     and otherwise ends in "...";
 *   - the associations parser consumes everything and never loops;
 *   - the rendered JSON line (with and without the priority prefix) fits
 *     the line buffer, is one object of string members ending "}\n" with
 *     time, level, category first and msg last, no key twice;
 *   - the text line is at most 8191 bytes and ends in "\n". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do {                                                        \
        if (!(c)) {                                                          \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* A JSON string at *pp (opening quote included); its body's bytes go to
 * out (raw, escapes as written) for key comparison. */
static int json_string(const char **pp, const char *end, char *out, size_t cap, size_t *olen)
{
    const unsigned char *p = (const unsigned char *)*pp, *e = (const unsigned char *)end;
    size_t o = 0;

    if (p >= e || *p != '"')
        return -1;
    p++;
    while (p < e && *p != '"') {
        size_t len = 1, i;
        if (*p < 0x20)
            return -1;
        if (*p == '\\') {
            if (p + 1 >= e)
                return -1;
            if (p[1] == 'u') {
                for (i = 2; i < 6; i++)
                    if (p + i >= e || !memchr("0123456789abcdef", p[i], 16))
                        return -1;
                len = 6;
            } else if (memchr("\"\\bfnrt", p[1], 7)) {
                len = 2;
            } else {
                return -1;
            }
        } else if (*p >= 0x80) {
            /* strict UTF-8: the escaper only copies what utf8.c accepts */
            unsigned c = *p, cp;
            len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
            if (len == 0 || c > 0xf4 || p + len > e)
                return -1;
            cp = c & (0xff >> (len + 1));
            for (i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80)
                    return -1;
                cp = cp << 6 | (p[i] & 0x3f);
            }
            if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
                (cp >= 0xd800 && cp <= 0xdfff))
                return -1;
        }
        for (i = 0; i < len; i++)
            if (o < cap)
                out[o++] = (char)p[i];
        p += len;
    }
    if (p >= e)
        return -1;
    *olen = o;
    *pp = (const char *)p + 1;
    return 0;
}

static void check_line(const char *s, size_t n)
{
    static char keys[64][64];
    static size_t klen[64];
    char val[64];
    const char *p, *end;
    size_t vlen;
    int k = 0, i, j;

    CHECK(n >= 3 && s[0] == '{' && s[n - 1] == '\n' && s[n - 2] == '}');
    p = s + 1;
    end = s + n - 2;
    while (p < end) {
        if (k > 0) {
            CHECK(*p == ',');
            p++;
        }
        CHECK(k < 64);
        CHECK(json_string(&p, end, keys[k], sizeof keys[k], &klen[k]) == 0);
        CHECK(p < end && *p == ':');
        p++;
        CHECK(json_string(&p, end, val, sizeof val, &vlen) == 0);
        k++;
    }
    CHECK(k >= 4);
    CHECK(klen[0] == 4 && memcmp(keys[0], "time", 4) == 0);
    CHECK(klen[1] == 5 && memcmp(keys[1], "level", 5) == 0);
    CHECK(klen[2] == 8 && memcmp(keys[2], "category", 8) == 0);
    CHECK(klen[k - 1] == 3 && memcmp(keys[k - 1], "msg", 3) == 0);
    for (i = 0; i < k; i++)
        for (j = i + 1; j < k; j++)
            CHECK(!(klen[i] == klen[j] && memcmp(keys[i], keys[j], klen[i]) == 0 &&
                    klen[i] < sizeof keys[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char line[WSD_LOG_LINE_MAX];
    static char esc[WSD_LOG_LINE_MAX];
    const struct timespec now = {1796646070, 999999999};
    const uint8_t *nul;
    char *assoc, *msg;
    size_t alen, mlen, cap, full, n, c, pos;
    int level;

    if (size < 2)
        return 0;
    cap = (size_t)data[0] * 4 + 3;
    level = data[1] % (WSD_LOG_NONE + 2) - 1;     /* -1 .. NONE: out of range too */
    data += 2;
    size -= 2;
    nul = memchr(data, 0, size);
    alen = nul ? (size_t)(nul - data) : size;
    mlen = nul ? size - alen - 1 : 0;
    assoc = malloc(alen + 1);
    msg = malloc(mlen ? mlen : 1);
    CHECK(assoc && msg);
    memcpy(assoc, data, alen);
    assoc[alen] = '\0';
    if (mlen)
        memcpy(msg, nul + 1, mlen);

    /* the escaper at every capacity up to cap */
    full = wsd_json_escape(esc, sizeof esc, msg, mlen);
    for (c = 3; c <= cap && c < sizeof esc; c++) {
        char wrapped[1200];
        const char *p = wrapped;
        size_t m = wsd_json_escape(esc, c, msg, mlen), vl;
        char v[8];
        CHECK(m <= c);
        if (c >= full && full <= sizeof esc - 3) {
            CHECK(m == full);
        } else {
            CHECK(m >= 3 && memcmp(esc + m - 3, "...", 3) == 0);
        }
        if (m + 2 <= sizeof wrapped) {
            wrapped[0] = '"';
            memcpy(wrapped + 1, esc, m);
            wrapped[m + 1] = '"';
            CHECK(json_string(&p, wrapped + m + 2, v, sizeof v, &vl) == 0);
            CHECK(p == wrapped + m + 2);
        }
    }

    /* the associations parser: always ends */
    pos = 0;
    for (c = 0; c <= alen + 1; c++) {
        const char *k, *v;
        size_t kl, vl;
        int rc = wsd_log_assoc_next(assoc, alen, &pos, &k, &kl, &v, &vl);
        CHECK(pos <= alen);
        if (rc <= 0)
            break;
        CHECK(kl > 0 && k >= assoc && v + vl <= assoc + alen);
    }
    CHECK(c <= alen + 1);

    n = wsd_log_render(line, sizeof line, WSD_LOGFMT_JSON, 0, &now, level, "cat", assoc, msg,
                       mlen);
    CHECK(n <= sizeof line);
    check_line(line, n);
    n = wsd_log_render(line, sizeof line, WSD_LOGFMT_JSON, 1, &now, level, "cat", assoc, msg,
                       mlen);
    CHECK(n <= sizeof line && line[0] == '<' && line[2] == '>');
    check_line(line + 3, n - 3);
    n = wsd_log_render(line, sizeof line, WSD_LOGFMT_TEXT, 0, &now, level, "cat", assoc, msg,
                       mlen);
    CHECK(n <= 8191 && line[n - 1] == '\n');

    free(assoc);
    free(msg);
    return 0;
}
