/* harness.h — a tiny TAP harness for unit tests (in the spirit of redis's
 * testhelp.h and libuv's task.h). Assertions print both operands, never
 * abort, and done_testing() returns the process exit status.
 *
 *   ok(cond, "name %d", i);  is_int(got, want, "name");
 *   is_mem(got, gotlen, want, wantlen, "name");  is_str(got, want, "name");
 *   return done_testing();
 */
#ifndef WSD_HARNESS_H
#define WSD_HARNESS_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int t_run, t_failed;

__attribute__((format(printf, 2, 3), unused))
static int ok(int cond, const char *fmt, ...)
{
    va_list ap;
    t_run++;
    if (!cond)
        t_failed++;
    printf("%sok %d - ", cond ? "" : "not ", t_run);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    return cond;
}

#define is_int(got, want, ...) do {                                         \
        long long g_ = (long long)(got), w_ = (long long)(want);             \
        if (!ok(g_ == w_, __VA_ARGS__))                                      \
            printf("#   got %lld, want %lld (%s:%d)\n", g_, w_, __FILE__, __LINE__); \
    } while (0)

#define is_str(got, want, ...) do {                                         \
        const char *g_ = (got), *w_ = (want);                                \
        if (!ok(g_ && w_ ? strcmp(g_, w_) == 0 : g_ == w_, __VA_ARGS__))     \
            printf("#   got \"%s\", want \"%s\" (%s:%d)\n", g_ ? g_ : "(null)", \
                   w_ ? w_ : "(null)", __FILE__, __LINE__);                  \
    } while (0)

__attribute__((unused))
static void t_hexdump(const char *label, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;
    printf("#   %s (%zu):", label, n);
    for (i = 0; i < n && i < 64; i++)
        printf(" %02x", b[i]);
    printf("%s\n", n > 64 ? " ..." : "");
}

#define is_mem(got, gotlen, want, wantlen, ...) do {                        \
        const void *g_ = (got), *w_ = (want);                                \
        size_t gl_ = (gotlen), wl_ = (wantlen);                              \
        if (!ok(gl_ == wl_ && (wl_ == 0 || memcmp(g_, w_, wl_) == 0), __VA_ARGS__)) { \
            t_hexdump("got ", g_, gl_);                                      \
            t_hexdump("want", w_, wl_);                                      \
        }                                                                    \
    } while (0)

__attribute__((unused))
static int done_testing(void)
{
    printf("1..%d\n", t_run);
    printf("# %d passed, %d failed\n", t_run - t_failed, t_failed);
    return t_failed ? 1 : 0;
}

#endif
