/* test_basicauth.c — the Authorization header and Basic credentials
 * (src/basicauth.c): RFC 7617's example, base64 edge cases, and every
 * malformed form (each must be MALFORMED, never a guess). */
#include "basicauth.h"
#include "harness.h"

static wsd_basic_cred cred;

static int parse(const char *v)
{
    return wsd_authz_parse(v, strlen(v), &cred);
}

static void basic(const char *v, const char *user, const char *pass)
{
    int rc = parse(v);
    is_int(rc, WSD_AUTHZ_BASIC, "'%s' is Basic", v);
    is_mem(cred.user, cred.ulen, user, strlen(user), "  user");
    is_mem(cred.pass, cred.plen, pass, strlen(pass), "  password");
}

static void malformed(const char *v, const char *name)
{
    is_int(parse(v), WSD_AUTHZ_MALFORMED, "%s: '%s' malformed", name, v);
}

static void roundtrip(const char *s)
{
    char enc[64], dec[64];
    long n;
    wsd_base64_encode((const unsigned char *)s, strlen(s), enc);
    n = wsd_base64_decode(enc, strlen(enc), (unsigned char *)dec);
    is_mem(dec, n < 0 ? 0 : (size_t)n, s, strlen(s), "base64 round trip of '%s' via '%s'", s, enc);
}

int main(void)
{
    /* RFC 7617 §2: Aladdin / open sesame */
    basic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Aladdin", "open sesame");
    basic("basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Aladdin", "open sesame");
    basic("BASIC   QWxhZGRpbjpvcGVuIHNlc2FtZQ==  ", "Aladdin", "open sesame");
    basic("Basic OnBhc3M=", "", "pass");                 /* ":pass": empty user */
    basic("Basic dTo=", "u", "");                        /* "u:" */
    basic("Basic dTpwOnE6cg==", "u", "p:q:r");           /* colons in the password */
    basic("Basic w6l0w6k6Y2Fmw6k=", "\xc3\xa9t\xc3\xa9", "caf\xc3\xa9");  /* UTF-8 */
    is_str(cred.scheme, "Basic", "scheme kept as sent");

    is_int(parse("Bearer abc.def.ghi"), WSD_AUTHZ_OTHER, "Bearer is another scheme");
    is_str(cred.scheme, "Bearer", "  its scheme");
    is_int(parse("Digest username=\"x\", realm=\"y\""), WSD_AUTHZ_OTHER, "Digest");
    is_int(parse("Negotiate"), WSD_AUTHZ_OTHER, "a bare scheme");

    malformed("", "empty");
    malformed(" Basic dTpw", "leading space");
    malformed("Basic", "Basic without credentials");
    malformed("Basic ", "Basic with spaces only");
    malformed("Basic dTpw dTpw", "two tokens");
    malformed("Basic dXNlcg==", "no colon (\"user\")");
    malformed("Basic dTpw=", "bad padding length");
    malformed("Basic dTp", "length not a multiple of 4");
    malformed("Basic dT=w", "'=' inside");
    malformed("Basic ====", "only padding");
    malformed("Basic dTpwZQ=x", "junk after '='");
    malformed("Basic dTpw$$==", "characters outside the alphabet");
    malformed("Basic dTpx-_==", "base64url alphabet");
    malformed("Basic dTpxZR==", "non-canonical trailing bits");
    malformed("Basic dQo6cA==", "a control character in the user (u\\n:p)");
    malformed("Basic dTpwAA==", "a NUL in the password");
    malformed("Basic dTp/", "a DEL in the password");
    malformed("Basic\tdTpw", "a tab after the scheme");
    malformed("Ba\"sic dTpw", "a non-token scheme");
    malformed("AVeryLongSchemeNameThatGoesOnAndOnX token", "a scheme over 32 characters");
    {
        char big[2000] = "Basic ";
        memset(big + 6, 'Q', 1372);
        big[1378] = '\0';
        malformed(big, "credentials over 1368 characters");
    }
    {
        /* exactly 1024 decoded bytes: accepted */
        unsigned char raw[1024];
        char v[1500] = "Basic ";
        memset(raw, 'a', sizeof raw);
        raw[3] = ':';
        wsd_base64_encode(raw, sizeof raw, v + 6);
        is_int(parse(v), WSD_AUTHZ_BASIC, "1024 decoded bytes accepted");
        is_int(cred.plen, 1020, "  password length");
    }
    roundtrip("");
    roundtrip("f");
    roundtrip("fo");
    roundtrip("foo");
    roundtrip("foob");
    roundtrip("fooba");
    roundtrip("foobar");
    return done_testing();
}
