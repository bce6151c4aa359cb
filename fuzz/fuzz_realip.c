/* fuzz_realip.c — libFuzzer harness for the trusted-proxy headers
 * (src/realip.c): Forwarded, X-Forwarded-For, X-Real-IP, X-Forwarded-Proto,
 * X-Forwarded-Host, and --trustproxy lists.
 *
 * Input: lines separated by '\n'. The first line is compiled as a
 * --trustproxy list (it may fail: then "127.0.0.1,10.0.0.0/8,::1" is used);
 * every further line is one header field whose name is chosen by its first
 * byte (mod 6: Forwarded, X-Forwarded-For, X-Real-IP, X-Forwarded-Proto,
 * X-Forwarded-Host, Forwarded) and whose value is the rest (up to 100
 * fields). Invariants of the result: a named client has a canonical IP
 * address (it parses back to itself) that the trusted set does not hold
 * unless every hop was trusted, a port of -1..65535; proto 0..2; host empty
 * or of host characters only and NUL-terminated; `bad` NUL-terminated and
 * free of control characters. The same request resolved twice gives the
 * same result (no hidden state).
 *
 * Build and run: make fuzz-smoke-fuzz_realip (see fuzz/README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "realip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do {                                                        \
        if (!(c)) {                                                          \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            abort();                                                         \
        }                                                                    \
    } while (0)

static const char *const names[6] = {"Forwarded", "X-Forwarded-For", "X-Real-IP",
                                     "X-Forwarded-Proto", "X-Forwarded-Host", "forwarded"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *p, *nl, *err = NULL;
    wsd_request *r = calloc(1, sizeof *r);
    wsd_trust *t;
    wsd_realip a, b;
    size_t i;

    memcpy(text, data, size);
    text[size] = '\0';
    p = text;
    nl = strchr(p, '\n');
    if (nl)
        *nl = '\0';
    t = wsd_trust_new(p, &err);
    free(err);
    if (!t) {
        err = NULL;
        t = wsd_trust_new("127.0.0.1,10.0.0.0/8,::1", &err);
        CHECK(t && !err);
    }
    while (nl && r->nheaders < 100) {
        char *v = nl + 1;
        nl = strchr(v, '\n');
        if (nl)
            *nl = '\0';
        if (*v == '\0')
            continue;
        r->headers[r->nheaders].name = names[(unsigned char)v[0] % 6];
        r->headers[r->nheaders].name_len = strlen(names[(unsigned char)v[0] % 6]);
        r->headers[r->nheaders].value = v + 1;
        r->headers[r->nheaders].value_len = strlen(v + 1);
        r->nheaders++;
    }
    wsd_realip_resolve(t, r, &a);
    wsd_realip_resolve(t, r, &b);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
    CHECK(a.proto >= 0 && a.proto <= 2);
    CHECK(memchr(a.host, 0, sizeof a.host) && memchr(a.bad, 0, sizeof a.bad));
    for (i = 0; a.bad[i]; i++)
        CHECK((unsigned char)a.bad[i] >= 0x20 && a.bad[i] != 0x7f);
    for (i = 0; a.host[i]; i++)
        CHECK((unsigned char)a.host[i] > 0x20 && a.host[i] != ',' && a.host[i] != '/' &&
              (unsigned char)a.host[i] < 0x7f);
    if (a.from) {
        wsd_ip ip;
        char back[WSD_IP_TEXT];
        CHECK(wsd_ip_parse(a.addr, strlen(a.addr), &ip) == 0);
        wsd_ip_format(&ip, back);
        CHECK(strcmp(back, a.addr) == 0);
        CHECK(a.port >= -1 && a.port <= 65535);
    } else {
        CHECK(a.port == -1);
    }
    wsd_trust_free(t);
    free(r);
    free(text);
    return 0;
}
