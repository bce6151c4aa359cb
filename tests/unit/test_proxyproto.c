/* test_proxyproto.c — the PROXY protocol v1 and v2 header parser
 * (src/proxyproto.c): the specification's examples and every refusal, each
 * input fed whole, split at every point, and byte by byte, with bytes
 * after the header left to the caller. */
#include "proxyproto.h"
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct {
    int rc;
    size_t used;                 /* bytes consumed in all */
    wsd_proxy_info info;
    const char *err;
} result;

/* Feeds in[0..n) in pieces ending at the cut points. */
static result run(const uint8_t *in, size_t n, const size_t *cuts, size_t ncuts)
{
    wsd_proxy_parser *p = malloc(sizeof *p);
    result r;
    size_t pos = 0, i;

    wsd_proxy_init(p);
    r.rc = WSD_PROXY_MORE;
    r.used = 0;
    for (i = 0; i <= ncuts && r.rc == WSD_PROXY_MORE; i++) {
        size_t end = i < ncuts ? cuts[i] : n, used = 0;
        r.rc = wsd_proxy_feed(p, in + pos, end - pos, &used);
        r.used += used;
        pos = end;
    }
    r.info = p->info;
    r.err = p->err;
    free(p);
    return r;
}

/* Whole, at every single split, and byte by byte: the same answer. */
static result all_ways(const uint8_t *in, size_t n, const char *name)
{
    result whole = run(in, n, NULL, 0), r;
    size_t k, *cuts = malloc((n + 1) * sizeof *cuts);
    int same = 1;

    for (k = 0; k <= n; k++) {
        cuts[0] = k;
        r = run(in, n, cuts, 1);
        if (r.rc != whole.rc || r.used != whole.used ||
            (r.rc == WSD_PROXY_DONE && memcmp(&r.info, &whole.info, sizeof r.info) != 0))
            same = 0;
    }
    for (k = 0; k + 1 < n; k++)
        cuts[k] = k + 1;
    r = run(in, n, cuts, n > 0 ? n - 1 : 0);
    if (r.rc != whole.rc || r.used != whole.used)
        same = 0;
    ok(same, "%s: same answer at every split and byte by byte", name);
    free(cuts);
    return whole;
}

static void v1_ok(const char *line, const char *rest, const char *src, int sport,
                  const char *dst, int dport, int local)
{
    char buf[512];
    result r;
    snprintf(buf, sizeof buf, "%s%s", line, rest);
    r = all_ways((const uint8_t *)buf, strlen(buf), line);
    is_int(r.rc, WSD_PROXY_DONE, "v1 '%.40s' accepted", line);
    is_int(r.used, strlen(line), "  consumed exactly the header");
    is_int(r.info.version, 1, "  version");
    is_int(r.info.local, local, "  local");
    if (!local) {
        is_str(r.info.src, src, "  source");
        is_int(r.info.src_port, sport, "  source port");
        is_str(r.info.dst, dst, "  destination");
        is_int(r.info.dst_port, dport, "  destination port");
    }
}

static void bad(const uint8_t *in, size_t n, const char *name)
{
    result r = all_ways(in, n, name);
    ok(r.rc == WSD_PROXY_ERROR && r.err && *r.err, "%s: refused (%s)", name, r.err ? r.err : "");
}

static void bad1(const char *s, const char *name)
{
    bad((const uint8_t *)s, strlen(s), name);
}

static void more1(const char *s, const char *name)
{
    result r = all_ways((const uint8_t *)s, strlen(s), name);
    is_int(r.rc, WSD_PROXY_MORE, "%s: waits for more", name);
}

static void test_v1(void)
{
    v1_ok("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n", "GET / HTTP/1.1\r\n", "192.0.2.1",
          56324, "198.51.100.2", 443, 0);
    v1_ok("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", "", "2001:db8::1", 1, "2001:db8::2",
          65535, 0);
    v1_ok("PROXY TCP4 0.0.0.0 255.255.255.255 0 0\r\n", "\x16\x03\x01", "0.0.0.0", 0,
          "255.255.255.255", 0, 0);
    v1_ok("PROXY UNKNOWN\r\n", "GET", "", 0, "", 0, 1);
    v1_ok("PROXY UNKNOWN ffff:f...f:ffff 1.2.3.4 65535 65535\r\n", "", "", 0, "", 0, 1);
    {   /* the longest: 107 bytes */
        const char *l = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        is_int(strlen(l), 104, "a full-length TCP6 line");
        v1_ok(l, "", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
              "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 0);
    }
    bad1("GET / HTTP/1.1\r\n\r\n", "plain HTTP");
    more1("PROXY", "'PROXY' alone");
    more1("PROXY TCP4 192.0.2.1 198.51.100.2 56324 44", "truncated v1");
    more1("PROX", "a prefix");
    bad1("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n", "LF without CR");
    bad1("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\rX\n", "CR inside");
    bad1("PROXY TCP5 192.0.2.1 198.51.100.2 1 2\r\n", "unknown protocol");
    bad1("PROXY TCP4 2001:db8::1 198.51.100.2 1 2\r\n", "TCP4 with an IPv6 source (lying)");
    bad1("PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n", "TCP6 with an IPv4 source (lying)");
    bad1("PROXY TCP4 192.0.2.1 198.51.100.2 65536 2\r\n", "port out of range");
    bad1("PROXY TCP4 192.0.2.1 198.51.100.2 01 2\r\n", "port with a leading zero");
    bad1("PROXY TCP4 192.0.2.1 198.51.100.2 1 2 3\r\n", "trailing field");
    bad1("PROXY TCP4 192.0.2.1 198.51.100.2 1 2 \r\n", "trailing space");
    bad1("PROXY TCP4  192.0.2.1 198.51.100.2 1 2\r\n", "double space");
    bad1("PROXY TCP4 192.0.2.1 198.51.100.2 1\r\n", "missing port");
    bad1("PROXY TCP4 192.0.2.999 198.51.100.2 1 2\r\n", "bad address");
    bad1("PROXY \r\n", "no protocol");
    bad1("PROXY TCP4 192.0.2.1\t198.51.100.2 1 2\r\n", "a tab");
    bad1("proxy TCP4 192.0.2.1 198.51.100.2 1 2\r\n", "lower-case signature");
    {
        char big[200];
        memset(big, 'A', sizeof big);
        memcpy(big, "PROXY UNKNOWN ", 14);
        bad((const uint8_t *)big, sizeof big, "over 107 bytes without CRLF (oversized)");
    }
}

/* A v2 header: command, family byte, address block + TLVs of length len. */
static size_t v2(uint8_t *out, int cmd, uint8_t fam, const uint8_t *body, size_t len)
{
    static const uint8_t sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                    0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    memcpy(out, sig, 12);
    out[12] = (uint8_t)(0x20 | cmd);
    out[13] = fam;
    out[14] = (uint8_t)(len >> 8);
    out[15] = (uint8_t)len;
    if (len)
        memcpy(out + 16, body, len);
    return 16 + len;
}

static void test_v2(void)
{
    uint8_t b[4096], body[2100];
    size_t n;
    result r;
    static const uint8_t in4[12] = {192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb};

    n = v2(b, 1, 0x11, in4, 12);
    memcpy(b + n, "GET /", 5);
    r = all_ways(b, n + 5, "v2 TCP4");
    is_int(r.rc, WSD_PROXY_DONE, "v2 TCP4 accepted");
    is_int(r.used, 28, "  consumed exactly the header");
    is_str(r.info.src, "192.0.2.1", "  source");
    is_int(r.info.src_port, 56324, "  source port");
    is_str(r.info.dst, "198.51.100.2", "  destination");
    is_int(r.info.dst_port, 443, "  destination port");
    is_int(r.info.local, 0, "  not local");

    memset(body, 0, sizeof body);
    body[0] = 0x20; body[1] = 0x01; body[2] = 0x0d; body[3] = 0xb8; body[15] = 1;
    body[16] = 0x20; body[17] = 0x01; body[18] = 0x0d; body[19] = 0xb8; body[31] = 2;
    body[32] = 0x12; body[33] = 0x34; body[34] = 0; body[35] = 80;
    /* TLVs: ALPN "h2" and a NOOP of 0 bytes */
    body[36] = 0x01; body[37] = 0; body[38] = 2; body[39] = 'h'; body[40] = '2';
    body[41] = 0x04; body[42] = 0; body[43] = 0;
    n = v2(b, 1, 0x21, body, 44);
    r = all_ways(b, n, "v2 TCP6 with TLVs");
    is_int(r.rc, WSD_PROXY_DONE, "v2 TCP6 with TLVs accepted");
    is_str(r.info.src, "2001:db8::1", "  source");
    is_int(r.info.src_port, 0x1234, "  source port");
    is_str(r.info.dst, "2001:db8::2", "  destination");

    n = v2(b, 0, 0x00, NULL, 0);
    r = all_ways(b, n, "v2 LOCAL");
    ok(r.rc == WSD_PROXY_DONE && r.info.local && r.used == 16, "v2 LOCAL (health check): local");
    n = v2(b, 0, 0x11, body, 7);
    r = all_ways(b, n, "v2 LOCAL with a short block");
    ok(r.rc == WSD_PROXY_DONE && r.info.local, "v2 LOCAL: its block is skipped, whatever it is");
    n = v2(b, 1, 0x00, NULL, 0);
    r = all_ways(b, n, "v2 PROXY UNSPEC");
    ok(r.rc == WSD_PROXY_DONE && r.info.local, "v2 PROXY AF_UNSPEC: local");
    memset(body, 'x', 216);
    n = v2(b, 1, 0x31, body, 216);
    r = all_ways(b, n, "v2 PROXY UNIX");
    ok(r.rc == WSD_PROXY_DONE && r.info.local, "v2 PROXY AF_UNIX: local");

    n = v2(b, 1, 0x11, in4, 11);
    bad(b, n, "v2 TCP4 with an 11-byte block (lying)");
    memset(body, 0, sizeof body);
    n = v2(b, 1, 0x21, body, 35);
    bad(b, n, "v2 TCP6 with a 35-byte block (lying)");
    n = v2(b, 1, 0x12, in4, 12);
    bad(b, n, "v2 UDP4 (a datagram)");
    n = v2(b, 1, 0x41, in4, 12);
    bad(b, n, "v2 unknown family");
    n = v2(b, 2, 0x11, in4, 12);
    bad(b, n, "v2 unknown command");
    n = v2(b, 1, 0x11, in4, 12);
    b[12] = 0x11;
    bad(b, n, "v2 version 1 in the binary header");
    n = v2(b, 1, 0x11, body, 2049);
    bad(b, 16, "v2 length 2049 (oversized), refused from its head");
    memcpy(body, in4, 12);
    body[12] = 0x01; body[13] = 0; body[14] = 9;  /* a TLV longer than the rest */
    n = v2(b, 1, 0x11, body, 16);
    bad(b, n, "v2 TLV longer than the header");
    body[12] = 0x01; body[13] = 0;
    n = v2(b, 1, 0x11, body, 14);
    bad(b, n, "v2 TLV cut short");
    n = v2(b, 1, 0x11, in4, 12);
    b[5] = 0x0C;
    bad(b, n, "v2 bad signature");
    n = v2(b, 1, 0x11, in4, 12);
    r = all_ways(b, n - 1, "v2 truncated");
    is_int(r.rc, WSD_PROXY_MORE, "v2 truncated: waits (the handshake timeout ends it)");
    memset(body, 0, sizeof body);
    memcpy(body, in4, 12);
    n = v2(b, 1, 0x11, body, 2048);
    r = all_ways(b, n, "v2 of the largest length (TLV padding)");
    ok(r.rc == WSD_PROXY_ERROR || r.rc == WSD_PROXY_DONE, "v2 of 2048 bytes is parsed to the end");
    body[12] = 0x04;   /* one NOOP TLV filling the rest */
    body[13] = (uint8_t)((2048 - 15) >> 8);
    body[14] = (uint8_t)(2048 - 15);
    n = v2(b, 1, 0x11, body, 2048);
    r = all_ways(b, n, "v2 2048 bytes, one NOOP TLV");
    is_int(r.rc, WSD_PROXY_DONE, "v2 2048 bytes accepted");
}

static void test_sticky(void)
{
    wsd_proxy_parser *p = malloc(sizeof *p);
    size_t used;
    wsd_proxy_init(p);
    is_int(wsd_proxy_feed(p, (const uint8_t *)"X", 1, &used), WSD_PROXY_ERROR, "first byte X");
    is_int(wsd_proxy_feed(p, (const uint8_t *)"PROXY", 5, &used), WSD_PROXY_ERROR, "sticky");
    is_int(used, 0, "  nothing consumed after");
    free(p);
}

int main(void)
{
    test_v1();
    test_v2();
    test_sticky();
    return done_testing();
}
