/* fuzz_termctl.c — libFuzzer harness for terminal mode's control messages
 * (src/termctl.c).
 *
 * Input: [cut] bytes... — the bytes are one control message. It is parsed
 * whole, in pieces of (cut % 7) + 1 bytes, and in two pieces split at a
 * point chosen from cut; each piece is an exact-size heap copy (ASan sees
 * any read past it). All three must agree: close code, reason, rows and
 * cols. Invariants: the code is 0, 1008 or 1009; 0 comes with a resize of
 * 1..WSD_TERM_MAX_ROWS x 1..WSD_TERM_MAX_COLS and no reason, anything else
 * with a reason; 1009 exactly when the message is over WSD_TERMCTL_MAX
 * bytes; the parser is reusable after every outcome (a valid message
 * parses afterwards). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "termctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do {                                                        \
        if (!(c)) {                                                          \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            abort();                                                         \
        }                                                                    \
    } while (0)

typedef struct {
    int code;
    const char *why;
    wsd_termctl_msg m;
} outcome;

static void feed_copy(wsd_termctl *p, const uint8_t *b, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    CHECK(c);
    if (n)
        memcpy(c, b, n);
    wsd_termctl_feed(p, c, n);
    free(c);
}

static outcome finish(wsd_termctl *p)
{
    outcome o;
    o.code = wsd_termctl_end(p, &o.m, &o.why);
    return o;
}

static void same(const outcome *a, const outcome *b)
{
    CHECK(a->code == b->code);
    CHECK(a->m.type == b->m.type && a->m.rows == b->m.rows && a->m.cols == b->m.cols);
    CHECK((a->why == NULL) == (b->why == NULL));
    CHECK(!a->why || strcmp(a->why, b->why) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char valid[] = "{\"type\":\"resize\",\"rows\":12,\"cols\":34}";
    wsd_termctl p;
    outcome whole, o;
    size_t step, i, cut;

    if (size < 1)
        return 0;
    step = (size_t)(data[0] % 7) + 1;
    data++;
    size--;
    cut = size ? (size_t)data[-1] * 31 % (size + 1) : 0;

    wsd_termctl_init(&p);
    feed_copy(&p, data, size);
    whole = finish(&p);
    CHECK(whole.code == 0 || whole.code == WSD_TERMCTL_CLOSE ||
          whole.code == WSD_TERMCTL_CLOSE_TOO_BIG);
    CHECK((whole.code == WSD_TERMCTL_CLOSE_TOO_BIG) == (size > WSD_TERMCTL_MAX));
    if (whole.code == 0) {
        CHECK(whole.why == NULL && whole.m.type == WSD_TERMCTL_RESIZE);
        CHECK(whole.m.rows >= 1 && whole.m.rows <= WSD_TERM_MAX_ROWS);
        CHECK(whole.m.cols >= 1 && whole.m.cols <= WSD_TERM_MAX_COLS);
    } else {
        CHECK(whole.why != NULL && whole.why[0] != '\0');
    }

    for (i = 0; i < size; i += step)
        feed_copy(&p, data + i, size - i < step ? size - i : step);
    o = finish(&p);
    same(&o, &whole);

    feed_copy(&p, data, cut);
    feed_copy(&p, data + cut, size - cut);
    o = finish(&p);
    same(&o, &whole);

    /* reusable after anything */
    feed_copy(&p, (const uint8_t *)valid, sizeof valid - 1);
    o = finish(&p);
    CHECK(o.code == 0 && o.m.rows == 12 && o.m.cols == 34);
    return 0;
}
