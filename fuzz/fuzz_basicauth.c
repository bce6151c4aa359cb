/* fuzz_basicauth.c — libFuzzer harness for the Authorization header and
 * Basic credentials (src/basicauth.c).
 *
 * Input: an Authorization value. Invariants: the result is MALFORMED, BASIC
 * or OTHER; BASIC has a user without ':' and neither part with a control
 * byte, each at most 1024 bytes, and encoding "user:password" again and
 * parsing "Basic <that>" gives the same credentials; OTHER has a scheme
 * that is not "basic" in any case. The input also goes through the base64
 * decoder on its own: a success re-encodes to the same text.
 *
 * Build and run: make fuzz-smoke-fuzz_basicauth (see fuzz/README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "basicauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do {                                                        \
        if (!(c)) {                                                          \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            abort();                                                         \
        }                                                                    \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wsd_basic_cred c, c2;
    char *v = malloc(size ? size : 1);
    unsigned char *dec = malloc(size / 4 * 3 + 1);
    size_t i;
    int rc;
    long dn;

    memcpy(v, data, size);
    rc = wsd_authz_parse(v, size, &c);
    CHECK(rc == WSD_AUTHZ_MALFORMED || rc == WSD_AUTHZ_BASIC || rc == WSD_AUTHZ_OTHER);
    if (rc == WSD_AUTHZ_OTHER)
        CHECK(strcasecmp(c.scheme, "basic") != 0 && c.scheme[0]);
    if (rc == WSD_AUTHZ_BASIC) {
        unsigned char raw[2 * WSD_BASIC_MAX + 2];
        char again[8 + 4 * (sizeof raw / 3 + 1)];
        CHECK(c.ulen <= WSD_BASIC_MAX && c.plen <= WSD_BASIC_MAX && c.ulen + c.plen < WSD_BASIC_MAX);
        CHECK(!memchr(c.user, ':', c.ulen));
        for (i = 0; i < c.ulen; i++)
            CHECK((unsigned char)c.user[i] >= 0x20 && c.user[i] != 0x7f);
        for (i = 0; i < c.plen; i++)
            CHECK((unsigned char)c.pass[i] >= 0x20 && c.pass[i] != 0x7f);
        memcpy(raw, c.user, c.ulen);
        raw[c.ulen] = ':';
        memcpy(raw + c.ulen + 1, c.pass, c.plen);
        memcpy(again, "Basic ", 6);
        wsd_base64_encode(raw, c.ulen + 1 + c.plen, again + 6);
        CHECK(wsd_authz_parse(again, strlen(again), &c2) == WSD_AUTHZ_BASIC);
        CHECK(c2.ulen == c.ulen && memcmp(c2.user, c.user, c.ulen) == 0);
        CHECK(c2.plen == c.plen && memcmp(c2.pass, c.pass, c.plen) == 0);
    }
    dn = wsd_base64_decode(v, size, dec);
    if (dn >= 0) {
        char *enc = malloc(size + 5);
        CHECK((size_t)dn <= size / 4 * 3);
        wsd_base64_encode(dec, (size_t)dn, enc);
        CHECK(strlen(enc) == size && memcmp(enc, v, size) == 0);
        free(enc);
    }
    free(dec);
    free(v);
    return 0;
}
