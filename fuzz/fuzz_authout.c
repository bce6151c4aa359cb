/* fuzz_authout.c — libFuzzer harness for an --authcmd authorizer's output
 * (src/authout.c).
 *
 * Input: [cut] output bytes, fed whole and in two pieces split where `cut`
 * says (and byte by byte up to 2 KiB): the same result every way. On OK:
 * a status of 0 or 400..599; at most 64 variables, each "NAME=value" with
 * a valid, non-reserved name and no control byte but tab; REMOTE_USER and
 * AUTH_TYPE never among them. On GARBAGE: a reason.
 *
 * Build and run: make fuzz-smoke-fuzz_authout (see fuzz/README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do {                                                        \
        if (!(c)) {                                                          \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            abort();                                                         \
        }                                                                    \
    } while (0)

typedef struct {
    int rc, status;
    char *summary;               /* user, type and variables, joined */
} res;

static res run(const char *d, size_t n, const size_t *cuts, size_t ncuts)
{
    wsd_authout *a = wsd_authout_new();
    res r;
    size_t pos = 0, i, len = 0;
    char **env;

    r.rc = WSD_AUTHOUT_OK;
    for (i = 0; i <= ncuts && r.rc == WSD_AUTHOUT_OK; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        r.rc = wsd_authout_feed(a, d + pos, end - pos);
        pos = end;
    }
    if (r.rc == WSD_AUTHOUT_OK)
        r.rc = wsd_authout_end(a);
    CHECK(r.rc == WSD_AUTHOUT_OK || r.rc == WSD_AUTHOUT_GARBAGE);
    r.status = 0;
    r.summary = calloc(1, 1);
    if (r.rc == WSD_AUTHOUT_GARBAGE) {
        CHECK(wsd_authout_error(a)[0]);
        wsd_authout_free(a);
        return r;
    }
    r.status = wsd_authout_status(a);
    CHECK(r.status == 0 || (r.status >= 400 && r.status <= 599));
    env = wsd_authout_take_env(a);
    for (i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '='), *c;
        CHECK(i < WSD_AUTHOUT_VARS && eq && eq > env[i]);
        CHECK(strncmp(env[i], "REMOTE_USER=", 12) != 0 && strncmp(env[i], "AUTH_TYPE=", 10) != 0);
        CHECK(strncmp(env[i], "HTTP_", 5) != 0 && strncmp(env[i], "LD_", 3) != 0);
        for (c = env[i]; *c; c++)
            CHECK((unsigned char)*c >= 0x20 || *c == '\t');
        r.summary = realloc(r.summary, len + strlen(env[i]) + 2);
        strcpy(r.summary + len, env[i]);
        len += strlen(env[i]);
        r.summary[len++] = '|';
        r.summary[len] = '\0';
    }
    free(env);
    {
        const char *u = wsd_authout_user(a), *t = wsd_authout_auth_type(a);
        size_t extra = (u ? strlen(u) : 0) + (t ? strlen(t) : 0) + 8;
        r.summary = realloc(r.summary, len + extra);
        snprintf(r.summary + len, extra, "U%s|T%s", u ? u : "-", t ? t : "-");
    }
    wsd_authout_free(a);
    return r;
}

static void same(res *a, res *b)
{
    CHECK(a->rc == b->rc && a->status == b->status && strcmp(a->summary, b->summary) == 0);
    free(b->summary);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *d;
    size_t n, cut;
    res whole, two;

    if (size < 1)
        return 0;
    d = (const char *)data + 1;
    n = size - 1;
    cut = (size_t)data[0] * (n + 1) / 256;
    whole = run(d, n, NULL, 0);
    two = run(d, n, &cut, 1);
    same(&whole, &two);
    if (n <= 2048) {
        size_t *cuts = malloc((n + 1) * sizeof *cuts), i;
        res bytes;
        for (i = 0; i + 1 < n; i++)
            cuts[i] = i + 1;
        bytes = run(d, n, cuts, n ? n - 1 : 0);
        same(&whole, &bytes);
        free(cuts);
    }
    free(whole.summary);
    return 0;
}
