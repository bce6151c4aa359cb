/* test_origin.c — the Origin check (src/origin.c) against §5 and the matrix of
 * §7 item 6 of the reference, cases observed on Debian's websocketd 0.4.1,
 * and wsd's deliberate differences (case-insensitive hosts, IPv6 brackets,
 * numeric ports, short entries, malformed Origin without restrictions). */
#include "origin.h"
#include "harness.h"

#include <stdlib.h>

#define NONE ((const char *)0)

/* Checks one request; want = 1 allowed, 0 denied. `why` (may be NULL): the
 * expected reason, exact. */
static void chk(const char *list, int same, const char *origin, const char *host, int tls,
                int want, const char *why)
{
    char *err = NULL;
    wsd_origin_policy *p = wsd_origin_new(list, same, &err);
    wsd_str reason;
    int got;

    if (!p) {
        ok(0, "policy '%s' compiles (%s)", list ? list : "", err ? err : "");
        free(err);
        return;
    }
    wsd_str_init(&reason, 1 << 20);
    got = wsd_origin_check(p, origin, origin ? strlen(origin) : 0, host,
                           host ? strlen(host) : 0, tls, &reason, NULL);
    ok(got == want, "--origin=%s%s%s | Origin %s%s%s | Host %s%s → %s", list ? list : "(none)",
       same ? " --sameorigin" : "", tls ? " (TLS)" : "", origin ? "'" : "", origin ? origin : "(none)",
       origin ? "'" : "", host ? host : "(none)", "", want ? "allowed" : "denied");
    if (got != want)
        printf("#   reason: %s\n", reason.s ? reason.s : "");
    if (why)
        is_str(reason.s ? reason.s : "", why, "  reason for '%s'", origin ? origin : "(none)");
    wsd_str_free(&reason);
    wsd_origin_free(p);
}

static void bad_list(const char *list, const char *want_err)
{
    char *err = NULL;
    wsd_origin_policy *p = wsd_origin_new(list, 0, &err);
    ok(p == NULL && err != NULL, "--origin='%s' refused", list);
    if (err && want_err)
        is_str(err, want_err, "  message");
    free(err);
    wsd_origin_free(p);
}

static void log_origin(const char *list, const char *origin, const char *want)
{
    char *err = NULL;
    wsd_origin_policy *p = wsd_origin_new(list, 0, &err);
    wsd_str lo;
    wsd_str_init(&lo, 1 << 20);
    wsd_origin_check(p, origin, origin ? strlen(origin) : 0, "h", 1, 0, NULL, &lo);
    is_str(lo.s ? lo.s : "", want, "log origin for %s%s%s (list %s)", origin ? "'" : "",
           origin ? origin : "none", origin ? "'" : "", list ? list : "none");
    wsd_str_free(&lo);
    wsd_origin_free(p);
}

int main(void)
{
    const char *H = "127.0.0.1:18404";

    /* ---- §7 item 6, row by row -------------------------------------- */
    /* none | foo → websocketd 403; wsd: allowed (deliberate, no restriction) */
    chk(NULL, 0, "foo", H, 0, 1, NULL);
    chk(NULL, 0, "null", H, 0, 1, NULL);
    chk(NULL, 0, "", H, 0, 1, NULL);
    chk(NULL, 0, NONE, H, 0, 1, NULL);
    chk(NULL, 0, "http://x", H, 0, 1, NULL);
    chk(NULL, 0, ":foo", H, 0, 1, NULL);
    chk(NULL, 0, "http://a b", H, 0, 1, NULL);

    chk("example.com", 0, "http://example.com", H, 0, 1, NULL);
    chk("example.com", 0, "http://example.com:8080", H, 0, 1, NULL);
    chk("example.com", 0, "https://example.com", H, 0, 1, NULL);
    chk("example.com", 0, "null", H, 0, 0,
        "Origin parsing error: parse \"null\": invalid URI for request");
    chk("example.com", 0, NONE, H, 0, 0, "Origin is not listed in allowed list");
    chk("example.com", 0, "", H, 0, 0, "Origin is not listed in allowed list");
    /* http://Example.com: websocketd 403 (case-sensitive); wsd allows */
    chk("example.com", 0, "http://Example.com", H, 0, 1, NULL);
    chk("Example.COM", 0, "http://example.com", H, 0, 1, NULL);
    chk("example.com", 0, "http://EXAMPLE.COM:9", H, 0, 1, NULL);
    /* observed: scheme-less entries accept any scheme, explicit :80 too */
    chk("example.com", 0, "ws://example.com", H, 0, 1, NULL);
    chk("example.com", 0, "http://example.com:80", H, 0, 1, NULL);
    chk("example.com", 0, "http://example.org", H, 0, 0, "Origin is not listed in allowed list");
    chk("example.com", 0, "http://sub.example.com", H, 0, 0, NULL);
    chk("example.com", 0, "http://example.com.evil", H, 0, 0, NULL);
    chk("example.com", 0, "http://u:p@example.com", H, 0, 1, NULL);
    chk("example.com", 0, "http://example.com/path?q#f", H, 0, 1, NULL);
    chk("example.com", 0, "example.com:8080", H, 0, 0, NULL);   /* scheme "example.com" */

    chk("https://example.com,example.com:8080", 0, "http://example.com", H, 0, 0,
        "Origin is not listed in allowed list");
    chk("https://example.com,example.com:8080", 0, "https://example.com", H, 0, 1, NULL);
    chk("https://example.com,example.com:8080", 0, "https://example.com:443", H, 0, 1, NULL);
    chk("https://example.com,example.com:8080", 0, "https://example.com:8443", H, 0, 1, NULL);
    chk("https://example.com,example.com:8080", 0, "https://example.com:8080", H, 0, 1, NULL);
    chk("https://example.com,example.com:8080", 0, "http://example.com:8080", H, 0, 1, NULL);
    chk("https://example.com,example.com:8080", 0, "http://example.com:8081", H, 0, 0, NULL);
    chk("HTTPS://example.com", 0, "https://example.com", H, 0, 1, NULL);
    chk("https://example.com", 0, "HTTPS://example.com", H, 0, 1, NULL);

    chk(NULL, 1, "http://127.0.0.1:18404", H, 0, 1, NULL);
    chk(NULL, 1, "https://127.0.0.1:18404", H, 0, 1, NULL);
    chk(NULL, 1, "http://127.0.0.1", H, 0, 0, "Same origin policy mismatch");
    chk(NULL, 1, NONE, H, 0, 0, "Same origin policy mismatch");
    chk(NULL, 1, "null", H, 0, 0, "Same origin policy mismatch");   /* null = file: */

    /* ---- explicit ports, default ports ------------------------------- */
    chk("http://example.com:80", 0, "http://example.com", H, 0, 1, NULL);
    chk("http://example.com:80", 0, "http://example.com:80", H, 0, 1, NULL);
    chk("http://example.com:80", 0, "https://example.com:80", H, 0, 0, NULL);
    chk("http://example.com:80", 0, "http://example.com:8080", H, 0, 0, NULL);
    chk("example.com:80", 0, "ws://example.com", H, 0, 1, NULL);
    chk("example.com:80", 0, "https://example.com", H, 0, 0, NULL);   /* 443 */
    chk("example.com:443", 0, "https://example.com", H, 0, 1, NULL);
    chk("example.com:443", 0, "http://example.com", H, 0, 0, NULL);
    chk("example.com:8080", 0, "http://example.com:08080", H, 0, 1, NULL);   /* numeric */
    chk("example.com:8080", 0, "http://example.com:", H, 0, 0, NULL);

    chk(NULL, 1, "http://127.0.0.1", "127.0.0.1", 0, 1, NULL);
    chk(NULL, 1, "http://127.0.0.1", "127.0.0.1:80", 0, 1, NULL);
    chk(NULL, 1, "https://x", "x:443", 0, 1, NULL);
    chk(NULL, 1, "https://x", "x", 0, 0, "Same origin policy mismatch");
    chk(NULL, 1, "https://x", "x", 1, 1, NULL);           /* Host defaults to 443 on TLS */
    chk(NULL, 1, "http://x", "x", 1, 0, NULL);
    chk(NULL, 1, "https://x:80", "x", 0, 1, NULL);
    chk(NULL, 1, "http://x:", "x:", 0, 1, NULL);
    chk(NULL, 1, "http://x:", "x", 0, 1, NULL);           /* empty port = default */
    chk(NULL, 1, "http://x:80", "x:080", 0, 1, NULL);     /* websocketd: 403 */
    chk(NULL, 1, "http://x", "X", 0, 1, NULL);            /* websocketd: 403 */
    chk(NULL, 1, "http://u@x", "x", 0, 1, NULL);
    chk(NULL, 1, "http://x/p?q#f", "x", 0, 1, NULL);
    chk(NULL, 1, "x:80", "x", 0, 0, NULL);                /* opaque: no host */
    chk(NULL, 1, "http://a", "a:b:c", 0, 0,
        "Request hostname parsing error: address a:b:c: too many colons in address");
    chk(NULL, 1, "http://a", NONE, 0, 0, "Same origin policy mismatch");
    chk(NULL, 1, "http://99999999999999999999", "99999999999999999999", 0, 1, NULL);
    chk(NULL, 1, "http://x:99999999999999999999", "x:99999999999999999999", 0, 1, NULL);
    chk(NULL, 1, "http://x:99999999999999999999", "x:99999999999999999998", 0, 0, NULL);

    /* ---- IPv6 --------------------------------------------------------- */
    chk(NULL, 1, "http://[::1]:8080", "[::1]:8080", 0, 1, NULL);
    chk(NULL, 1, "http://[::1]", "[::1]", 0, 1, NULL);
    chk(NULL, 1, "http://[::1]", "[::1]:80", 0, 1, NULL);       /* websocketd: 403 */
    chk(NULL, 1, "http://[0:0::1]:80", "[::1]", 0, 1, NULL);
    chk(NULL, 1, "http://[::1]:8080", "[::2]:8080", 0, 0, NULL);
    chk(NULL, 1, "http://[FE80::1]", "[fe80::1]", 0, 1, NULL);
    chk("[::1]", 0, "http://[::1]", H, 0, 1, NULL);
    chk("[::1]", 0, "http://[::1]:8080", H, 0, 1, NULL);         /* websocketd: 403 */
    chk("[::1]:8080", 0, "http://[::1]:8080", H, 0, 1, NULL);
    chk("[::1]:8080", 0, "http://[::1]:8081", H, 0, 0, NULL);
    chk("http://[::1]", 0, "http://[0::1]:1", H, 0, 1, NULL);
    chk("http://[::1]", 0, "https://[::1]", H, 0, 0, NULL);

    /* ---- both flags: both must pass ----------------------------------- */
    chk("example.com", 1, "http://example.com", "example.com", 0, 1, NULL);
    chk("example.com", 1, "http://example.com", "other.com", 0, 0, "Same origin policy mismatch");
    chk("example.com", 1, "http://other.com", "other.com", 0, 0,
        "Origin is not listed in allowed list");

    /* ---- short entries (websocketd panics), spaces, empties ----------- */
    chk("ab", 0, "http://ab", H, 0, 1, NULL);
    chk("ab", 0, "http://ab:9", H, 0, 1, NULL);
    chk("ab", 0, "http://abc", H, 0, 0, NULL);
    chk("ab,x", 0, "http://x", H, 0, 1, NULL);
    chk("a", 0, "http://a", H, 0, 1, NULL);
    chk("_x", 0, "http://_x", H, 0, 1, NULL);
    chk(" a.com , b.com ", 0, "http://b.com", H, 0, 1, NULL);
    chk("a.com,,b.com,", 0, "http://b.com", H, 0, 1, NULL);
    chk("a.com,", 0, NONE, H, 0, 0, NULL);      /* an empty entry never matches file: */
    chk("https://example.com/", 0, "https://example.com", H, 0, 1, NULL);

    /* ---- malformed Origins, Go's messages ----------------------------- */
    chk("x", 0, "foo", H, 0, 0, "Origin parsing error: parse \"foo\": invalid URI for request");
    chk(NULL, 1, "foo", H, 0, 0, "Origin parsing error: parse \"foo\": invalid URI for request");
    chk("x", 0, ":foo", H, 0, 0, "Origin parsing error: parse \":foo\": missing protocol scheme");
    chk("x", 0, "http://a b", H, 0, 0,
        "Origin parsing error: parse \"http://a b\": invalid character \" \" in host name");
    chk("x", 0, "http://[::1", H, 0, 0,
        "Origin parsing error: parse \"http://[::1\": missing ']' in host");
    chk("x", 0, "http://x:abc", H, 0, 0,
        "Origin parsing error: parse \"http://x:abc\": invalid port \":abc\" after host");
    chk("x", 0, "http://x/%zz", H, 0, 0,
        "Origin parsing error: parse \"http://x/%zz\": invalid URL escape \"%zz\"");
    chk("x", 0, "http://x/%4", H, 0, 0,
        "Origin parsing error: parse \"http://x/%4\": invalid URL escape \"%4\"");
    chk("x", 0, "http://%41x", H, 0, 0,
        "Origin parsing error: parse \"http://%41x\": invalid URL escape \"%41\"");
    chk("x", 0, "a/b", H, 0, 0, "Origin parsing error: parse \"a/b\": invalid URI for request");
    chk("x", 0, "http://x\t", H, 0, 0,
        "Origin parsing error: parse \"http://x\\t\": net/url: invalid control character in URL");
    chk("x", 0, "http://a\"b@x", H, 0, 0,
        "Origin parsing error: parse \"http://a\\\"b@x\": net/url: invalid userinfo");
    chk("x", 0, "http://x#f", H, 0, 0,
        "Origin parsing error: parse \"http://x#f\": invalid character \"#\" in host name");
    chk("x", 0, "http://x]:80", H, 0, 0,
        "Origin hostname parsing error: address x]:80: unexpected ']' in address");
    chk("x", 0, "/abs", H, 0, 0, "Origin is not listed in allowed list");
    chk("x", 0, "*", H, 0, 0, "Origin is not listed in allowed list");
    chk(NULL, 0, "/abs", H, 0, 1, NULL);
    chk(NULL, 0, "*", H, 0, 1, NULL);
    chk("é.com", 0, "http://%C3%A9.com", H, 0, 1, NULL);   /* non-ASCII escapes decode */
    chk("é.com", 0, "http://é.com", H, 0, 1, NULL);
    chk("x", 0, "http://x?q", H, 0, 1, NULL);
    chk("x", 0, "http://x?", H, 0, 1, NULL);

    /* ---- unusable lists ------------------------------------------------ */
    bad_list(",", "--origin: no host in ','");
    bad_list(" , ", NULL);
    bad_list("example.com:abc", "--origin: cannot use 'example.com:abc': port is not a number");
    bad_list("example.com:0", NULL);
    bad_list("example.com:65536", NULL);
    bad_list("example.com:", NULL);
    bad_list("http://a b", NULL);
    bad_list("://x", NULL);
    bad_list("1http://x", NULL);
    bad_list("http://", NULL);
    bad_list("::1", NULL);
    bad_list("[::1", NULL);
    bad_list("[zz]", NULL);
    bad_list("[::1]x", NULL);
    bad_list("example.com/path", NULL);
    bad_list("https://example.com/path", NULL);
    bad_list("a.com,u@b.com", NULL);
    {
        char *err = NULL;
        wsd_origin_policy *p = wsd_origin_new(NULL, 0, &err);
        ok(p && !err && !wsd_origin_restricted(p), "no flags: unrestricted policy");
        wsd_origin_free(p);
        p = wsd_origin_new("", 1, &err);
        ok(p && !err && wsd_origin_restricted(p), "--origin='' --sameorigin: restricted");
        wsd_origin_free(p);
    }

    /* ---- the origin log association ------------------------------------ */
    log_origin(NULL, NONE, "file:");
    log_origin(NULL, "", "file:");
    log_origin(NULL, "null", "file:");
    log_origin("x", "null", "null");
    log_origin(NULL, "HTTP://Example.com", "http://Example.com");
    log_origin(NULL, "foo", "foo");
    log_origin(NULL, "/abs", "/abs");

    return done_testing();
}
