/* fuzz_htpasswd.c — libFuzzer harness for the htpasswd file parser
 * (src/htpasswd.c).
 *
 * Input: [cut] file bytes. The file is parsed whole and in two pieces split
 * where `cut` says: both give a table or both refuse with the same message.
 * A table has at least one user, every user of the file is found by
 * wsd_htpasswd_lookup with its own hash, which is one of the accepted
 * kinds ($2y$/$2b$/$2a$, $5$, $6$). crypt(3) itself is not called (a bcrypt
 * at a fuzzed cost would take seconds): the unit tests and e2e tests check
 * passwords.
 *
 * Build and run: make fuzz-smoke-fuzz_htpasswd (see fuzz/README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htpasswd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do {                                                        \
        if (!(c)) {                                                          \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            abort();                                                         \
        }                                                                    \
    } while (0)

static wsd_htpasswd *parse(const char *d, size_t n, size_t cut, char *err, size_t cap)
{
    wsd_htpasswd_parser *p = wsd_htpasswd_parser_new();
    char *a = malloc(cut + 1), *b = malloc(n - cut + 1);
    memcpy(a, d, cut);
    memcpy(b, d + cut, n - cut);
    wsd_htpasswd_feed(p, a, cut);
    wsd_htpasswd_feed(p, b, n - cut);
    free(a);
    free(b);
    return wsd_htpasswd_finish(p, err, cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char e1[256] = "", e2[256] = "";
    const char *d;
    size_t n, cut;
    wsd_htpasswd *h1, *h2;

    if (size < 1)
        return 0;
    d = (const char *)data + 1;
    n = size - 1;
    cut = (size_t)data[0] * (n + 1) / 256;
    h1 = parse(d, n, n, e1, sizeof e1);
    h2 = parse(d, n, cut, e2, sizeof e2);
    CHECK(!h1 == !h2);
    if (!h1) {
        CHECK(e1[0] && strcmp(e1, e2) == 0);
    } else {
        /* every "user:" line start of the file is found */
        size_t i = 0;
        CHECK(wsd_htpasswd_count(h1) > 0 && wsd_htpasswd_count(h1) == wsd_htpasswd_count(h2));
        while (i < n) {
            const char *eol = memchr(d + i, '\n', n - i), *colon;
            size_t len = eol ? (size_t)(eol - (d + i)) : n - i;
            colon = memchr(d + i, ':', len);
            if (len > 0 && d[i] != '#' && colon && !(len == 1 && d[i] == '\r')) {
                const char *hash = wsd_htpasswd_lookup(h1, d + i, (size_t)(colon - (d + i)));
                CHECK(hash != NULL);
                CHECK(strncmp(hash, "$2", 2) == 0 || strncmp(hash, "$5$", 3) == 0 ||
                      strncmp(hash, "$6$", 3) == 0);
                CHECK(wsd_htpasswd_lookup(h2, d + i, (size_t)(colon - (d + i))) != NULL);
            }
            i += len + 1;
        }
        CHECK(wsd_htpasswd_dummy(h1) != NULL);
    }
    wsd_htpasswd_free(h1);
    wsd_htpasswd_free(h2);
    return 0;
}
