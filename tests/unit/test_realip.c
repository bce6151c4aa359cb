/* test_realip.c — trusted sets, and the client behind trusted proxies from
 * Forwarded (RFC 7239 §4, §5, §6 and §7.x examples), X-Forwarded-For,
 * X-Real-IP, X-Forwarded-Proto and X-Forwarded-Host (src/realip.c). */
#include "realip.h"
#include "harness.h"

#include <stdlib.h>

/* A request with the given "Name", "value" pairs (NULL-terminated). */
static void req(wsd_request *r, const char *const *hv)
{
    size_t i;
    memset(r, 0, sizeof *r);
    for (i = 0; hv[2 * i]; i++) {
        r->headers[i].name = hv[2 * i];
        r->headers[i].name_len = strlen(hv[2 * i]);
        r->headers[i].value = hv[2 * i + 1];
        r->headers[i].value_len = strlen(hv[2 * i + 1]);
    }
    r->nheaders = i;
}

static wsd_trust *trust(const char *list)
{
    char *err = NULL;
    wsd_trust *t = wsd_trust_new(list, &err);
    if (!t) {
        ok(0, "trust list '%s' compiles: %s", list, err);
        free(err);
    }
    return t;
}

/* Resolves; want_addr NULL: no header named a client. */
static void chk(const char *list, const char *const *hv, const char *want_addr, int want_port,
                int want_proto, const char *want_host, int want_bad, const char *name)
{
    wsd_trust *t = trust(list);
    wsd_request r;
    wsd_realip out;

    req(&r, hv);
    wsd_realip_resolve(t, &r, &out);
    if (want_addr) {
        ok(out.from != NULL, "%s: a client is named", name);
        is_str(out.addr, want_addr, "%s: address", name);
    } else {
        ok(out.from == NULL, "%s: no client named (got %s)", name, out.from ? out.addr : "-");
    }
    is_int(out.port, want_port, "%s: port", name);
    is_int(out.proto, want_proto, "%s: proto", name);
    is_str(out.host, want_host, "%s: host", name);
    ok(!!out.bad[0] == want_bad, "%s: malformed reported: %d ('%s')", name, want_bad, out.bad);
    wsd_trust_free(t);
}

#define H(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_ip(void)
{
    wsd_ip ip;
    char t[WSD_IP_TEXT];

    ok(wsd_ip_parse("192.0.2.1", 9, &ip) == 0 && ip.family == 4, "IPv4");
    ok(wsd_ip_parse("2001:db8::1", 11, &ip) == 0 && ip.family == 6, "IPv6");
    ok(wsd_ip_parse("::ffff:192.0.2.1", 16, &ip) == 0 && ip.family == 4, "v4-mapped is IPv4");
    wsd_ip_format(&ip, t);
    is_str(t, "192.0.2.1", "v4-mapped formats as IPv4");
    ok(wsd_ip_parse("192.0.2.01", 10, &ip) != 0, "leading zero refused");
    ok(wsd_ip_parse("192.0.2", 7, &ip) != 0, "three parts refused");
    ok(wsd_ip_parse("1.2.3.4 ", 8, &ip) != 0, "trailing space refused");
    ok(wsd_ip_parse("fe80::1%eth0", 12, &ip) != 0, "zone refused");
    ok(wsd_ip_parse("", 0, &ip) != 0, "empty refused");
    ok(wsd_ip_parse("[::1]", 5, &ip) != 0, "brackets refused");
    ok(wsd_ip_parse("2001:DB8:0:0:0:0:0:1", 20, &ip) == 0, "long IPv6");
    wsd_ip_format(&ip, t);
    is_str(t, "2001:db8::1", "canonical IPv6 text");
}

static void test_trust(void)
{
    char *err = NULL;
    wsd_trust *t = trust(" 127.0.0.1 , 10.0.0.0/8,::1, fd00::/8 ,unix,192.168.1.77/24");

    ok(wsd_trust_has(t, "127.0.0.1"), "listed address");
    ok(!wsd_trust_has(t, "127.0.0.2"), "neighbour not listed");
    ok(wsd_trust_has(t, "10.255.1.2"), "inside /8");
    ok(!wsd_trust_has(t, "11.0.0.1"), "outside /8");
    ok(wsd_trust_has(t, "::1"), "IPv6 loopback");
    ok(wsd_trust_has(t, "fdab::9"), "inside fd00::/8");
    ok(!wsd_trust_has(t, "fe00::1"), "outside fd00::/8");
    ok(wsd_trust_has(t, "::ffff:10.1.1.1"), "v4-mapped matches the IPv4 network");
    ok(wsd_trust_has(t, "unix-socket"), "unix listed");
    ok(wsd_trust_has(t, "192.168.1.200"), "host bits of a network are masked");
    ok(!wsd_trust_has(t, "garbage"), "garbage is not trusted");
    wsd_trust_free(t);
    t = trust("0.0.0.0/0");
    ok(wsd_trust_has(t, "203.0.113.9") && !wsd_trust_has(t, "::1"), "0.0.0.0/0: all IPv4 only");
    ok(!wsd_trust_has(t, "unix-socket"), "unix not listed");
    wsd_trust_free(t);

    ok(!wsd_trust_new("10.0.0.0/33", &err) && err, "prefix > 32 refused: %s", err);
    free(err);
    ok(!wsd_trust_new("::/129", &err) && err, "prefix > 128 refused");
    free(err);
    ok(!wsd_trust_new("10.0.0.0/", &err) && err, "empty prefix refused");
    free(err);
    ok(!wsd_trust_new("10.0.0.0/08", &err) && err, "prefix with a leading zero refused");
    free(err);
    ok(!wsd_trust_new("example.com", &err) && err, "a name refused");
    free(err);
    ok(!wsd_trust_new(" , ", &err) && err, "an empty list refused");
    free(err);
    ok(!wsd_trust_new("1.2.3.4/8x", &err) && err, "junk after the prefix refused");
    free(err);
}

static void test_forwarded(void)
{
    const char *L = "127.0.0.1,10.0.0.0/8";

    /* RFC 7239 §4 examples */
    chk(L, H("Forwarded", "for=\"_gazonk\""), NULL, -1, 0, "", 1, "obfuscated only");
    chk(L, H("Forwarded", "For=\"[2001:db8:cafe::17]:4711\""), "2001:db8:cafe::17", 4711, 0, "", 0,
        "IPv6 with port, name in any case");
    chk(L, H("Forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43"), "192.0.2.60", -1, 1, "",
        0, "for proto by");
    chk(L, H("Forwarded", "for=192.0.2.43, for=198.51.100.17"), "198.51.100.17", -1, 0, "", 0,
        "the right-most untrusted");
    chk(L, H("Forwarded", "for=192.0.2.43, for=10.1.1.1"), "192.0.2.43", -1, 0, "", 0,
        "a trusted proxy is passed");
    chk(L, H("Forwarded", "for=192.0.2.43", "Forwarded", "for=10.1.1.1;proto=https"),
        "192.0.2.43", -1, 0, "", 0, "two fields joined; proto of another element not taken");
    chk(L, H("Forwarded", "for=192.0.2.43;proto=https;host=\"example.com:8443\", for=10.1.1.1"),
        "192.0.2.43", -1, 2, "example.com:8443", 0, "proto and host of the client's element");
    chk(L, H("Forwarded", "for=10.0.0.5, for=10.1.1.1"), "10.0.0.5", -1, 0, "", 0,
        "all trusted: the left-most");
    chk(L, H("Forwarded", "for=unknown, for=10.1.1.1"), "10.1.1.1", -1, 0, "", 0,
        "unknown stops the walk: the last trusted hop");
    chk(L, H("Forwarded", "for=192.0.2.43, for=unknown"), NULL, -1, 0, "", 1,
        "nearest unknown: the peer");
    chk(L, H("Forwarded", "proto=https"), NULL, -1, 0, "", 1, "no for=: the peer");
    chk(L, H("Forwarded", "for=\"192.0.2.43:4711\""), "192.0.2.43", 4711, 0, "", 0,
        "IPv4 with port (quoted)");
    chk(L, H("Forwarded", "for=\"[2001:db8::1]:_p\""), "2001:db8::1", -1, 0, "", 0,
        "obfuscated port");
    chk(L, H("Forwarded", "for=192.0.2.43 ; proto=https , ,for=198.51.100.1"), "198.51.100.1", -1,
        0, "", 0, "spaces around ; and empty elements");
    chk(L, H("Forwarded", "for=\"\\1\\9\\2.0.2.43\""), "192.0.2.43", -1, 0, "", 0,
        "quoted-pair escapes");
    /* malformed: the whole field ignored, X-Forwarded-For used */
    chk(L, H("Forwarded", "for=2001:db8::1", "X-Forwarded-For", "203.0.113.7"), "203.0.113.7", -1,
        0, "", 1, "unquoted IPv6 is malformed");
    chk(L, H("Forwarded", "for=\"192.0.2.1", "X-Forwarded-For", "203.0.113.7"), "203.0.113.7",
        -1, 0, "", 1, "unterminated quote");
    chk(L, H("Forwarded", "for=192.0.2.1;for=192.0.2.2"), NULL, -1, 0, "", 1, "two for= in one element");
    chk(L, H("Forwarded", "for"), NULL, -1, 0, "", 1, "no value");
    chk(L, H("Forwarded", "for="), NULL, -1, 0, "", 1, "empty value");
    chk(L, H("Forwarded", "for=192.0.2.1 x"), NULL, -1, 0, "", 1, "junk after a pair");
    chk(L, H("Forwarded", "for=\"[192.0.2.1]\""), NULL, -1, 0, "", 1, "IPv4 in brackets");
    chk(L, H("Forwarded", "for=\"192.0.2.1:99999\""), NULL, -1, 0, "", 1, "port out of range");
    chk(L, H("Forwarded", "for=999.0.2.1"), NULL, -1, 0, "", 1, "not an address");
    chk(L, H("Forwarded", "for=\"_a b\""), NULL, -1, 0, "", 1, "bad obfuscated identifier");
    chk(L, H("Forwarded", "for=192.0.2.1;proto=gopher"), "192.0.2.1", -1, 0, "", 1,
        "bad proto ignored, address kept");
    chk(L, H("Forwarded", "for=192.0.2.1;host=\"a b\""), "192.0.2.1", -1, 0, "", 1,
        "bad host ignored");
    chk(L, H("Forwarded", "for=192.0.2.1;proto=http;proto=https"), NULL, -1, 0, "", 1,
        "two proto= in one element");
    chk(L, H("Forwarded", "for=192.0.2.1", "X-Forwarded-Proto", "https"), "192.0.2.1", -1, 2, "",
        0, "no proto=: X-Forwarded-Proto");
}

static void test_xff(void)
{
    const char *L = "127.0.0.1,10.0.0.0/8,::1";

    chk(L, H("X-Forwarded-For", "203.0.113.7"), "203.0.113.7", -1, 0, "", 0, "one entry");
    chk(L, H("X-Forwarded-For", "198.51.100.1, 203.0.113.7"), "203.0.113.7", -1, 0, "", 0,
        "spoofed left entry ignored");
    chk(L, H("X-Forwarded-For", "198.51.100.1, 203.0.113.7, 10.0.0.9"), "203.0.113.7", -1, 0, "",
        0, "trusted right entry passed");
    chk(L, H("X-Forwarded-For", "198.51.100.1", "X-Forwarded-For", "10.0.0.9"), "198.51.100.1",
        -1, 0, "", 0, "two fields joined");
    chk(L, H("X-Forwarded-For", "garbage, 203.0.113.7"), "203.0.113.7", -1, 0, "", 0,
        "garbage not reached");
    chk(L, H("X-Forwarded-For", "garbage, 10.0.0.9"), "10.0.0.9", -1, 0, "", 0,
        "garbage reached: the last trusted hop");
    chk(L, H("X-Forwarded-For", "203.0.113.7, garbage"), NULL, -1, 0, "", 1,
        "nearest garbage: the peer");
    chk(L, H("X-Forwarded-For", "2001:db8::5"), "2001:db8::5", -1, 0, "", 0, "bare IPv6");
    chk(L, H("X-Forwarded-For", "[2001:db8::5]:443"), "2001:db8::5", 443, 0, "", 0,
        "bracketed IPv6 with port");
    chk(L, H("X-Forwarded-For", "203.0.113.7:5000"), "203.0.113.7", 5000, 0, "", 0,
        "IPv4 with port");
    chk(L, H("X-Forwarded-For", ",, 203.0.113.7 ,"), "203.0.113.7", -1, 0, "", 0,
        "empty entries");
    chk(L, H("X-Forwarded-For", "::ffff:203.0.113.7"), "203.0.113.7", -1, 0, "", 0,
        "v4-mapped becomes IPv4");
    chk(L, H("X-Forwarded-For", "", "X-Real-IP", "203.0.113.8"), "203.0.113.8", -1, 0, "", 0,
        "empty X-Forwarded-For: X-Real-IP");
    chk(L, H("X-Real-IP", "203.0.113.8"), "203.0.113.8", -1, 0, "", 0, "X-Real-IP");
    chk(L, H("X-Real-IP", "nope"), NULL, -1, 0, "", 1, "bad X-Real-IP");
    chk(L, H("X-Real-IP", "203.0.113.8", "X-Forwarded-For", "198.51.100.2"), "198.51.100.2", -1,
        0, "", 0, "X-Forwarded-For before X-Real-IP");
    chk(L, H("X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "https"), "203.0.113.7", -1,
        2, "", 0, "proto https");
    chk(L, H("X-Forwarded-Proto", "HTTP"), NULL, -1, 1, "", 0, "proto alone, any case");
    chk(L, H("X-Forwarded-Proto", "http, https"), NULL, -1, 2, "", 0, "proto: the right-most");
    chk(L, H("X-Forwarded-Proto", "ftp"), NULL, -1, 0, "", 1, "bad proto ignored");
    chk(L, H("X-Forwarded-Host", "example.com:8443"), NULL, -1, 0, "example.com:8443", 0, "host");
    chk(L, H("X-Forwarded-Host", "evil.com, example.com"), NULL, -1, 0, "example.com", 0,
        "host: the right-most");
    chk(L, H("X-Forwarded-Host", "a/b"), NULL, -1, 0, "", 1, "bad host ignored");
    chk(L, H("X-Forwarded-Host", "[::1]:80"), NULL, -1, 0, "[::1]:80", 0, "IPv6 host");
    chk(L, H("Host", "x"), NULL, -1, 0, "", 0, "no forwarding headers");
    {
        /* a long chain: only the right-most 64 hops are kept */
        char buf[4096] = "";
        int i;
        for (i = 0; i < 100; i++)
            strcat(buf, i == 0 ? "203.0.113.1" : ", 10.0.0.1");
        chk(L, H("X-Forwarded-For", buf), "10.0.0.1", -1, 0, "", 0, "100 hops, all trusted but one");
    }
}

int main(void)
{
    test_ip();
    test_trust();
    test_forwarded();
    test_xff();
    return done_testing();
}
