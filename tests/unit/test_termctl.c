/* test_termctl.c — terminal mode's control messages (src/termctl.c): every
 * vector whole, byte by byte, split at every point and at every pair of
 * points, all with the same outcome; then several messages through one
 * parser. */
#include <stdlib.h>

#include "harness.h"
#include "termctl.h"

typedef struct {
    const char *in;
    int code;                  /* 0, 1008 or 1009 */
    unsigned rows, cols;       /* when code is 0 */
    const char *why;           /* when code is not 0 (NULL: any) */
} vec;

static const vec vecs[] = {
    {"{\"type\":\"resize\",\"rows\":24,\"cols\":80}", 0, 24, 80, NULL},
    {" {\n\t\"cols\" : 132 ,\r\n \"rows\":43, \"type\" : \"resize\" } \n", 0, 43, 132, NULL},
    {"{\"type\":\"resize\",\"rows\":1,\"cols\":1}", 0, 1, 1, NULL},
    {"{\"type\":\"resize\",\"rows\":1000,\"cols\":1000}", 0, 1000, 1000, NULL},
    {"{\"type\":\"resize\",\"rows\":24,\"cols\":80,\"x\":\"y\",\"n\":-1.5e+3,\"b\":true,"
     "\"f\":false,\"z\":null,\"s\":\"\\u00e9\\ud83d\\ude00\\n\\\"\"}", 0, 24, 80, NULL},
    {"{\"t\\u0079pe\":\"re\\u0073ize\",\"rows\":2,\"cols\":3}", 0, 2, 3, NULL},
    {"{\"type\":\"resize\",\"rows\":2,\"cols\":3,\"a-very-long-member-name\":\"a very long value\"}",
     0, 2, 3, NULL},
    {"{\"\xc3\xa9\":0,\"type\":\"resize\",\"rows\":2,\"cols\":3}", 0, 2, 3, NULL},

    {"", 1008, 0, 0, "incomplete JSON object"},
    {"   ", 1008, 0, 0, "incomplete JSON object"},
    {"resize 24 80", 1008, 0, 0, "not a JSON object"},
    {"[24,80]", 1008, 0, 0, "not a JSON object"},
    {"\"resize\"", 1008, 0, 0, "not a JSON object"},
    {"{}", 1008, 0, 0, "missing \"type\""},
    {"{\"type\":\"resize\"}", 1008, 0, 0, "resize needs rows and cols"},
    {"{\"type\":\"resize\",\"rows\":24}", 1008, 0, 0, "resize needs rows and cols"},
    {"{\"type\":\"resize\",\"rows\":24,\"cols\":80", 1008, 0, 0, "incomplete JSON object"},
    {"{\"type\":\"resize\",\"rows\":24,\"cols\":80,}", 1008, 0, 0, "expected a member name"},
    {"{\"type\":\"resize\",\"rows\":24,\"cols\":80}x", 1008, 0, 0, "data after the object"},
    {"{\"type\":\"resize\",\"rows\":24,\"cols\":80}{}", 1008, 0, 0, "data after the object"},
    {"{\"type\":\"paste\",\"rows\":24,\"cols\":80}", 1008, 0, 0, "unknown control message type"},
    {"{\"type\":\"resizeX\",\"rows\":24,\"cols\":80}", 1008, 0, 0, "unknown control message type"},
    {"{\"type\":\"resize and more\",\"rows\":24,\"cols\":80}", 1008, 0, 0,
     "unknown control message type"},
    {"{\"type\":1,\"rows\":24,\"cols\":80}", 1008, 0, 0, "type must be a string"},
    {"{\"type\":null,\"rows\":24,\"cols\":80}", 1008, 0, 0, "type must be a string"},
    {"{\"type\":\"resize\",\"rows\":0,\"cols\":80}", 1008, 0, 0, "rows must be 1 to 1000"},
    {"{\"type\":\"resize\",\"rows\":1001,\"cols\":80}", 1008, 0, 0, "rows must be 1 to 1000"},
    {"{\"type\":\"resize\",\"rows\":24,\"cols\":65536}", 1008, 0, 0, "cols must be 1 to 1000"},
    {"{\"type\":\"resize\",\"rows\":24,\"cols\":99999999999999999999999}", 1008, 0, 0,
     "cols must be 1 to 1000"},
    {"{\"type\":\"resize\",\"rows\":-24,\"cols\":80}", 1008, 0, 0, "rows must be 1 to 1000"},
    {"{\"type\":\"resize\",\"rows\":24.0,\"cols\":80}", 1008, 0, 0,
     "rows and cols must be integers"},
    {"{\"type\":\"resize\",\"rows\":2e1,\"cols\":80}", 1008, 0, 0, "rows and cols must be integers"},
    {"{\"type\":\"resize\",\"rows\":\"24\",\"cols\":80}", 1008, 0, 0,
     "rows and cols must be integers"},
    {"{\"type\":\"resize\",\"rows\":true,\"cols\":80}", 1008, 0, 0,
     "rows and cols must be integers"},
    {"{\"type\":\"resize\",\"rows\":024,\"cols\":80}", 1008, 0, 0, "invalid number"},
    {"{\"type\":\"resize\",\"rows\":-,\"cols\":80}", 1008, 0, 0, "invalid number"},
    {"{\"type\":\"resize\",\"rows\":24,\"x\":1.,\"cols\":80}", 1008, 0, 0, "invalid number"},
    {"{\"type\":\"resize\",\"rows\":24,\"x\":1e,\"cols\":80}", 1008, 0, 0, "invalid number"},
    {"{\"type\":\"resize\",\"rows\":24,\"rows\":24,\"cols\":80}", 1008, 0, 0, "duplicate member"},
    {"{\"type\":\"resize\",\"type\":\"resize\",\"rows\":24,\"cols\":80}", 1008, 0, 0,
     "duplicate member"},
    {"{\"type\":\"resize\",\"rows\":24,\"cols\":80,\"x\":{}}", 1008, 0, 0,
     "nested objects and arrays are not supported"},
    {"{\"type\":\"resize\",\"rows\":24,\"cols\":80,\"x\":[1]}", 1008, 0, 0,
     "nested objects and arrays are not supported"},
    {"{\"type\":\"resize\",\"rows\":24,\"cols\":80,\"x\":tru}", 1008, 0, 0, "expected a value"},
    {"{\"type\":\"resize\",\"rows\":24,\"cols\":80,\"x\":nul", 1008, 0, 0,
     "incomplete JSON object"},
    {"{\"type\":\"resize\",\"rows\":24,\"cols\":80,\"x\":}", 1008, 0, 0, "expected a value"},
    {"{\"type\" \"resize\"}", 1008, 0, 0, "expected ':'"},
    {"{\"type\":\"resize\" \"rows\":24}", 1008, 0, 0, "expected ',' or '}'"},
    {"{type:\"resize\"}", 1008, 0, 0, "expected a member name"},
    {"{'type':'resize'}", 1008, 0, 0, "expected a member name"},
    {"{\"type\":\"res\nize\",\"rows\":24,\"cols\":80}", 1008, 0, 0,
     "control character in a string"},
    {"{\"type\":\"resize\\q\",\"rows\":24,\"cols\":80}", 1008, 0, 0, "invalid escape in a string"},
    {"{\"type\":\"\\u00zz\",\"rows\":24,\"cols\":80}", 1008, 0, 0, "invalid \\u escape"},
    {"{\"type\":\"\\ud83d\",\"rows\":24,\"cols\":80}", 1008, 0, 0,
     "invalid \\u escape (lone surrogate)"},
    {"{\"type\":\"\\ud83d\\u0041\",\"rows\":24,\"cols\":80}", 1008, 0, 0,
     "invalid \\u escape (lone surrogate)"},
    {"{\"type\":\"\\ude00\",\"rows\":24,\"cols\":80}", 1008, 0, 0,
     "invalid \\u escape (lone surrogate)"},
    {"{\"x\":\"\\ud83d\\n\"}", 1008, 0, 0, "invalid \\u escape (lone surrogate)"},
};

typedef struct {
    int code;
    const char *why;
    wsd_termctl_msg m;
} outcome;

/* Feeds in[0..n) cut at the given points (ascending, within 0..n). */
static outcome run_cuts(wsd_termctl *p, const char *in, size_t n, const size_t *cuts,
                        size_t ncuts)
{
    outcome o;
    size_t at = 0, i;

    for (i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        wsd_termctl_feed(p, (const uint8_t *)in + at, end - at);
        at = end;
    }
    o.code = wsd_termctl_end(p, &o.m, &o.why);
    return o;
}

static int same(const outcome *a, const outcome *b)
{
    return a->code == b->code && a->m.type == b->m.type && a->m.rows == b->m.rows &&
           a->m.cols == b->m.cols &&
           (a->why == b->why || (a->why && b->why && strcmp(a->why, b->why) == 0));
}

static void test_vectors(void)
{
    size_t v;

    for (v = 0; v < sizeof vecs / sizeof vecs[0]; v++) {
        const vec *t = &vecs[v];
        size_t n = strlen(t->in), i, j;
        wsd_termctl p;
        outcome whole, o;
        int all_same = 1;
        size_t *bytes = malloc((n + 1) * sizeof *bytes);

        wsd_termctl_init(&p);
        whole = run_cuts(&p, t->in, n, NULL, 0);
        is_int(whole.code, t->code, "vector %zu: code (%.40s)", v, t->in);
        if (t->code == 0) {
            ok(whole.m.type == WSD_TERMCTL_RESIZE && whole.m.rows == t->rows &&
               whole.m.cols == t->cols, "  resize %u x %u (got %u x %u)", t->rows, t->cols,
               whole.m.rows, whole.m.cols);
            ok(whole.why == NULL, "  no reason");
        } else if (t->why) {
            is_str(whole.why, t->why, "  reason");
        }
        for (i = 0; i < n; i++)
            bytes[i] = i + 1;
        o = run_cuts(&p, t->in, n, bytes, n ? n - 1 : 0);
        all_same &= same(&o, &whole);
        for (i = 0; i <= n; i++) {
            size_t c1[1] = {i};
            o = run_cuts(&p, t->in, n, c1, 1);
            all_same &= same(&o, &whole);
            for (j = i; j <= n && n <= 80; j++) {
                size_t c2[2] = {i, j};
                o = run_cuts(&p, t->in, n, c2, 2);
                all_same &= same(&o, &whole);
            }
        }
        ok(all_same, "  byte by byte, every split and every pair of splits: the same");
        free(bytes);
    }
}

static void test_sequence_and_limits(void)
{
    wsd_termctl p;
    wsd_termctl_msg m;
    const char *why = "x";
    char big[WSD_TERMCTL_MAX + 2];
    size_t i;

    /* one parser, many messages: each end resets it */
    wsd_termctl_init(&p);
    wsd_termctl_feed(&p, (const uint8_t *)"{\"type\":\"resize\",", 17);
    wsd_termctl_feed(&p, (const uint8_t *)"\"rows\":5,\"cols\":7}", 18);
    is_int(wsd_termctl_end(&p, &m, &why), 0, "first message");
    ok(m.rows == 5 && m.cols == 7, "  5 x 7");
    is_int(wsd_termctl_feed(&p, (const uint8_t *)"nope", 4), -1, "garbage: feed says -1");
    is_int(wsd_termctl_feed(&p, (const uint8_t *)"{}", 2), -1, "  and stays -1");
    is_int(wsd_termctl_end(&p, &m, &why), 1008, "  1008 at its end");
    is_str(why, "not a JSON object", "  its reason");
    wsd_termctl_feed(&p, (const uint8_t *)"{\"type\":\"resize\",\"rows\":9,\"cols\":8}", 35);
    is_int(wsd_termctl_end(&p, &m, &why), 0, "the next message is fine again");
    ok(m.rows == 9 && m.cols == 8 && why == NULL, "  9 x 8");

    /* WSD_TERMCTL_MAX bytes: fine; one more: 1009, in any pieces */
    memset(big, ' ', sizeof big);
    memcpy(big, "{\"type\":\"resize\",\"rows\":3,\"cols\":4}", 35);
    is_int(wsd_termctl_feed(&p, (const uint8_t *)big, WSD_TERMCTL_MAX), 0,
           "WSD_TERMCTL_MAX bytes (whitespace padded)");
    is_int(wsd_termctl_end(&p, &m, &why), 0, "  accepted");
    for (i = 0; i < WSD_TERMCTL_MAX + 1; i++)
        wsd_termctl_feed(&p, (const uint8_t *)big + i, 1);
    is_int(wsd_termctl_end(&p, &m, &why), WSD_TERMCTL_CLOSE_TOO_BIG, "one byte more: 1009");
    is_str(why, "control message too long", "  its reason");
    wsd_termctl_feed(&p, (const uint8_t *)"x", 1);
    wsd_termctl_feed(&p, (const uint8_t *)big, sizeof big);
    is_int(wsd_termctl_end(&p, &m, &why), WSD_TERMCTL_CLOSE_TOO_BIG,
           "too long wins over an earlier syntax error");
    wsd_termctl_feed(&p, (const uint8_t *)big, 35);
    is_int(wsd_termctl_end(&p, &m, &why), 0, "and the parser is fine after it");
}

int main(void)
{
    test_vectors();
    test_sequence_and_limits();
    return done_testing();
}
