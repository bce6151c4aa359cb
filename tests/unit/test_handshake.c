/* test_handshake.c — RFC 6455 §4.2 checks and response bytes (src/handshake.c). */
#include <stdlib.h>
#include <string.h>

#include "handshake.h"
#include "harness.h"

#define S(lit) lit, sizeof(lit) - 1

/* Parses a complete head; classifies it. Returns the wsd_handshake_check
 * result, or -100 if the parser did not accept the head. */
static int check(const char *req, size_t len, wsd_handshake *hs)
{
    wsd_http_parser *p = wsd_http_parser_new();
    size_t used = 0;
    int rc = wsd_http_feed(p, req, len, &used);
    if (rc != WSD_HTTP_DONE) {
        printf("#   parser: rc %d, status %d (%s)\n", rc, wsd_http_error_status(p),
               wsd_http_error_text(p));
        wsd_http_parser_free(p);
        return -100;
    }
    rc = wsd_handshake_check(wsd_http_request(p), hs);
    wsd_http_parser_free(p);
    return rc;
}

/* A valid upgrade with one line replaced, added or removed. */
#define UPG_LINE "GET /ws HTTP/1.1\r\n"
#define UPG_HOST "Host: example.com\r\n"
#define UPG_UP   "Upgrade: websocket\r\n"
#define UPG_CONN "Connection: Upgrade\r\n"
#define UPG_KEY  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define UPG_VER  "Sec-WebSocket-Version: 13\r\n"
#define UPG_END  "\r\n"

static void expect_ok(const char *name, const char *req, size_t len, const char *accept)
{
    wsd_handshake hs;
    int rc = check(req, len, &hs);
    is_int(rc, WSD_HS_OK, "%s: OK", name);
    if (rc == WSD_HS_BAD)
        printf("#   %d %s\n", hs.status, hs.text);
    if (accept)
        is_str(hs.accept, accept, "%s: accept", name);
}

static void expect_bad(const char *name, const char *req, size_t len, int status)
{
    wsd_handshake hs;
    int rc = check(req, len, &hs);
    is_int(rc, WSD_HS_BAD, "%s: BAD", name);
    is_int(hs.status, status, "%s: status %d", name, status);
    ok(hs.text && hs.text[0], "%s: has a reason (%s)", name, hs.text ? hs.text : "(null)");
}

/* Feeds req to the parser cut in two at `cut`, then classifies it. */
static int check_cut(const char *req, size_t len, size_t cut, wsd_handshake *hs)
{
    wsd_http_parser *p = wsd_http_parser_new();
    size_t used = 0;
    int rc = wsd_http_feed(p, req, cut, &used);
    if (rc == WSD_HTTP_MORE)
        rc = wsd_http_feed(p, req + cut, len - cut, &used);
    rc = rc == WSD_HTTP_DONE ? wsd_handshake_check(wsd_http_request(p), hs) : -100;
    wsd_http_parser_free(p);
    return rc;
}

/* expect_bad with the exact reason, whole and cut at every point. */
static void expect_bad_split(const char *name, const char *req, size_t len, int status,
                             const char *text)
{
    wsd_handshake hs;
    size_t cut, bad = 0;

    expect_bad(name, req, len, status);
    check(req, len, &hs);
    is_str(hs.text, text, "%s: reason", name);
    for (cut = 0; cut <= len; cut++) {
        int rc = check_cut(req, len, cut, &hs);
        if ((rc != WSD_HS_BAD || hs.status != status || !hs.text || strcmp(hs.text, text) != 0) &&
            bad++ < 3)
            printf("#   cut at %zu: rc %d, %d %s\n", cut, rc, hs.status, hs.text ? hs.text : "");
    }
    ok(bad == 0, "%s: the same at every cut", name);
}

static void expect_not_ws(const char *name, const char *req, size_t len)
{
    wsd_handshake hs;
    is_int(check(req, len, &hs), WSD_HS_NOT_WEBSOCKET, "%s: not WebSocket", name);
}

static void test_accept(void)
{
    char acc[29];
    const char *k = "dGhlIHNhbXBsZSBub25jZQ==";

    memset(acc, 'x', sizeof acc);
    wsd_handshake_accept(k, strlen(k), acc);
    is_str(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "RFC 6455 §1.3 accept key");
    wsd_handshake_accept("x3JJHMbDL1EzLkh9GBhXDw==", 24, acc);
    is_str(acc, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=", "second known accept key");
    /* only len bytes of the key are used */
    wsd_handshake_accept("dGhlIHNhbXBsZSBub25jZQ==garbage", 24, acc);
    is_str(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "accept uses exactly len bytes");
}

static void test_check(void)
{
    wsd_handshake hs;

    expect_ok("RFC 6455 example",
              S("GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"),
              "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    expect_ok("Chromium",
              S("GET /ws?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: Upgrade\r\n"
                "Pragma: no-cache\r\nCache-Control: no-cache\r\n"
                "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0 Safari/537.36\r\n"
                "Upgrade: websocket\r\nOrigin: http://127.0.0.1:8080\r\n"
                "Sec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate, br\r\n"
                "Accept-Language: en-US,en;q=0.9\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"),
              "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    expect_ok("Firefox: Connection: keep-alive, Upgrade",
              S(UPG_LINE UPG_HOST UPG_UP "Connection: keep-alive, Upgrade\r\n" UPG_KEY UPG_VER UPG_END),
              "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    expect_ok("Upgrade: WebSocket",
              S(UPG_LINE UPG_HOST "Upgrade: WebSocket\r\n" UPG_CONN UPG_KEY UPG_VER UPG_END), NULL);
    expect_ok("connection: upgrade (lower case)",
              S(UPG_LINE UPG_HOST "upgrade: WEBSOCKET\r\n" "connection: upgrade\r\n" UPG_KEY UPG_VER UPG_END), NULL);
    expect_ok("Upgrade token list",
              S(UPG_LINE UPG_HOST "Upgrade: foo/1, websocket\r\n" UPG_CONN UPG_KEY UPG_VER UPG_END), NULL);
    expect_ok("second Connection header",
              S(UPG_LINE UPG_HOST UPG_UP "Connection: keep-alive\r\nConnection: Upgrade\r\n" UPG_KEY UPG_VER UPG_END), NULL);
    expect_ok("key with whitespace around",
              S(UPG_LINE UPG_HOST UPG_UP UPG_CONN "Sec-WebSocket-Key:   dGhlIHNhbXBsZSBub25jZQ==  \r\n" UPG_VER UPG_END),
              "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

    expect_not_ws("plain GET", S("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    expect_not_ws("Upgrade: h2c", S("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n"));
    expect_not_ws("Upgrade: websocketx", S(UPG_LINE UPG_HOST "Upgrade: websocketx\r\n" UPG_CONN UPG_KEY UPG_VER UPG_END));
    expect_not_ws("only Sec-WebSocket-Key", S(UPG_LINE UPG_HOST UPG_CONN UPG_KEY UPG_VER UPG_END));

    expect_bad("POST upgrade", S("POST /ws HTTP/1.1\r\n" UPG_HOST UPG_UP UPG_CONN UPG_KEY UPG_VER UPG_END), 405);
    expect_bad("HEAD upgrade", S("HEAD /ws HTTP/1.1\r\n" UPG_HOST UPG_UP UPG_CONN UPG_KEY UPG_VER UPG_END), 405);
    expect_bad("HTTP/1.0 upgrade", S("GET /ws HTTP/1.0\r\n" UPG_HOST UPG_UP UPG_CONN UPG_KEY UPG_VER UPG_END), 400);
    expect_bad("no Connection", S(UPG_LINE UPG_HOST UPG_UP UPG_KEY UPG_VER UPG_END), 400);
    expect_bad("Connection: keep-alive", S(UPG_LINE UPG_HOST UPG_UP "Connection: keep-alive\r\n" UPG_KEY UPG_VER UPG_END), 400);
    expect_bad("Connection: upgrades", S(UPG_LINE UPG_HOST UPG_UP "Connection: upgrades\r\n" UPG_KEY UPG_VER UPG_END), 400);
    expect_bad("no key", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_VER UPG_END), 400);
    expect_bad("empty key", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN "Sec-WebSocket-Key:\r\n" UPG_VER UPG_END), 400);
    expect_bad("key of 10 bytes", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n" UPG_VER UPG_END), 400);
    expect_bad("key of 17 bytes", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ8=\r\n" UPG_VER UPG_END), 400);
    expect_bad("key of 18 bytes", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ88\r\n" UPG_VER UPG_END), 400);
    expect_bad("key unpadded", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n" UPG_VER UPG_END), 400);
    expect_bad("key with bad char", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ!==\r\n" UPG_VER UPG_END), 400);
    expect_bad("key with inner space", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN "Sec-WebSocket-Key: dGhlIHNhbX BsZSBub25jZ==\r\n" UPG_VER UPG_END), 400);
    expect_bad("key url-safe alphabet", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j-_==\r\n" UPG_VER UPG_END), 400);
    expect_bad("key '=' inside", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25=ZQ==\r\n" UPG_VER UPG_END), 400);
    expect_bad("no version", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_KEY UPG_END), 400);
    expect_bad("empty version", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_KEY "Sec-WebSocket-Version:\r\n" UPG_END), 400);
    expect_bad("version 8", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_KEY "Sec-WebSocket-Version: 8\r\n" UPG_END), 426);
    expect_bad("version 13, 8", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_KEY "Sec-WebSocket-Version: 13, 8\r\n" UPG_END), 426);
    expect_bad("version 130", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_KEY "Sec-WebSocket-Version: 130\r\n" UPG_END), 426);
    /* RFC 6455 §11.3.1 / §11.3.5: each at most once */
    /* a body would be read as frames after the 101 */
    expect_bad_split("upgrade with Content-Length",
                     S(UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_KEY UPG_VER "Content-Length: 6\r\n" UPG_END),
                     400, "WebSocket upgrade request with a body");
    expect_bad_split("upgrade with Transfer-Encoding",
                     S(UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_KEY UPG_VER "Transfer-Encoding: chunked\r\n" UPG_END),
                     400, "WebSocket upgrade request with a body");
    expect_bad_split("two equal keys", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_KEY UPG_KEY UPG_VER UPG_END),
                     400, "more than one Sec-WebSocket-Key header");
    expect_bad_split("two different keys",
                     S(UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_KEY
                       "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n" UPG_VER UPG_END),
                     400, "more than one Sec-WebSocket-Key header");
    expect_bad_split("second key in lower case, apart",
                     S(UPG_LINE UPG_HOST UPG_UP UPG_KEY UPG_CONN UPG_VER
                       "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n" UPG_END),
                     400, "more than one Sec-WebSocket-Key header");
    expect_bad_split("a valid key after an empty one",
                     S(UPG_LINE UPG_HOST UPG_UP UPG_CONN "Sec-WebSocket-Key:\r\n" UPG_KEY UPG_VER UPG_END),
                     400, "more than one Sec-WebSocket-Key header");
    expect_bad_split("two equal versions", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_KEY UPG_VER UPG_VER UPG_END),
                     400, "more than one Sec-WebSocket-Version header");
    expect_bad_split("versions 13 and 8",
                     S(UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_KEY UPG_VER "Sec-WebSocket-Version: 8\r\n" UPG_END),
                     400, "more than one Sec-WebSocket-Version header");
    expect_bad_split("versions 8 and 13",
                     S(UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_KEY "Sec-WebSocket-Version: 8\r\n" UPG_VER UPG_END),
                     400, "more than one Sec-WebSocket-Version header");
    expect_bad_split("two keys and two versions: the key first",
                     S(UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_VER UPG_KEY UPG_VER UPG_KEY UPG_END),
                     400, "more than one Sec-WebSocket-Key header");
    expect_bad_split("two versions, a bad key: the key first",
                     S(UPG_LINE UPG_HOST UPG_UP UPG_CONN "Sec-WebSocket-Key: x\r\n" UPG_VER UPG_VER UPG_END),
                     400, "invalid Sec-WebSocket-Key");
    expect_ok("one key, one version, other Sec-WebSocket-* repeated",
              S(UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_KEY UPG_VER
                "Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b\r\n"
                "Sec-WebSocket-Extensions: x\r\nSec-WebSocket-Extensions: y\r\n" UPG_END),
              "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

    /* the first failing rule wins, in the order of handshake.h */
    expect_bad("POST, no key, version 8", S("POST / HTTP/1.1\r\n" UPG_HOST UPG_UP UPG_CONN "Sec-WebSocket-Version: 8\r\n" UPG_END), 405);
    expect_bad("bad key and version 8", S(UPG_LINE UPG_HOST UPG_UP UPG_CONN "Sec-WebSocket-Key: x\r\nSec-WebSocket-Version: 8\r\n" UPG_END), 400);

    /* Missing Host: the parser already rejects it on HTTP/1.1 (400, as Go);
     * the check itself is tested on a hand-made request. */
    {
        wsd_request r;
        memset(&r, 0, sizeof r);
        r.method = "GET";
        r.target = r.path = "/";
        r.target_len = 1;
        r.query = "";
        r.http_major = 1;
        r.http_minor = 1;
        r.headers[0] = (wsd_http_header){"Upgrade", 7, "websocket", 9};
        r.headers[1] = (wsd_http_header){"Connection", 10, "Upgrade", 7};
        r.headers[2] = (wsd_http_header){"Sec-WebSocket-Key", 17, "dGhlIHNhbXBsZSBub25jZQ==", 24};
        r.headers[3] = (wsd_http_header){"Sec-WebSocket-Version", 21, "13", 2};
        r.nheaders = 4;
        is_int(wsd_handshake_check(&r, &hs), WSD_HS_BAD, "missing Host: BAD");
        is_int(hs.status, 400, "missing Host: 400");
        r.headers[4] = (wsd_http_header){"host", 4, "h", 1};
        r.nheaders = 5;
        is_int(wsd_handshake_check(&r, &hs), WSD_HS_OK, "with host: OK");
        is_str(hs.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "hand-made: accept");
        r.http_major = 2;
        r.http_minor = 0;
        is_int(wsd_handshake_check(&r, &hs), WSD_HS_OK, "HTTP/2.0 counts as 1.1 or later");
        r.http_major = 0;
        r.http_minor = 9;
        is_int(wsd_handshake_check(&r, &hs), WSD_HS_BAD, "HTTP/0.9: BAD");
        is_int(hs.status, 400, "HTTP/0.9: 400");
    }
    {
        wsd_http_parser *p = wsd_http_parser_new();
        size_t used;
        is_int(wsd_http_feed(p, S(UPG_LINE UPG_UP UPG_CONN UPG_KEY UPG_VER UPG_END), &used),
               WSD_HTTP_ERROR, "HTTP/1.1 upgrade without Host: parser error");
        is_int(wsd_http_error_status(p), 400, "HTTP/1.1 upgrade without Host: 400");
        wsd_http_parser_free(p);
    }
}

static wsd_header_kv kv1[] = {{"Server", "wsd"}, {"X-A", "1"}};
static wsd_header_kv kv2[] = {{"X-Ws", "only 101"}};
static const wsd_header_list list1 = {kv1, 2}, list2 = {kv2, 1}, empty = {NULL, 0};

static void test_101(void)
{
    wsd_str out;
    const char *want;

    wsd_str_init(&out, 4096);
    is_int(wsd_response_101(&out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", NULL, NULL, NULL, NULL), 0, "101: ok");
    want = "HTTP/1.1 101 Switching Protocols\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
           "\r\n";
    is_mem(out.s, out.len, want, strlen(want), "101: exact bytes");
    wsd_str_free(&out);

    wsd_str_init(&out, 4096);
    is_int(wsd_response_101(&out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", NULL, NULL, &list1, &list2), 0, "101 + extras: ok");
    want = "HTTP/1.1 101 Switching Protocols\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
           "Server: wsd\r\n"
           "X-A: 1\r\n"
           "X-Ws: only 101\r\n"
           "\r\n";
    is_mem(out.s, out.len, want, strlen(want), "101 + extras: exact bytes, in order");
    wsd_str_free(&out);

    wsd_str_init(&out, 4096);
    wsd_str_appends(&out, "prefix");
    is_int(wsd_response_101(&out, "abc", NULL, NULL, &empty, &list2), 0, "101 appends");
    want = "prefixHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Accept: abc\r\nX-Ws: only 101\r\n\r\n";
    is_mem(out.s, out.len, want, strlen(want), "101 appends after existing content");
    wsd_str_free(&out);

    /* too small: -1 and unchanged */
    wsd_str_init(&out, 140);
    wsd_str_appends(&out, "keep");
    is_int(wsd_response_101(&out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", NULL, NULL, &list1, &list2), -1, "101 over the limit: -1");
    is_mem(out.s, out.len, "keep", 4, "101 over the limit: out unchanged");
    ok(out.s[out.len] == '\0', "101 over the limit: still NUL-terminated");
    wsd_str_free(&out);
}

/* Splits a response into status line, headers and body; returns 0 if the
 * shape is right. */
static int find_header(const char *resp, size_t head_len, const char *name, char *val, size_t vlen)
{
    size_t nl = strlen(name);
    const char *p = strstr(resp, "\r\n");
    while (p && (size_t)(p - resp) < head_len) {
        const char *line = p + 2, *end = strstr(line, "\r\n");
        if (!end || end == line)
            break;
        if ((size_t)(end - line) > nl + 2 && strncmp(line, name, nl) == 0 && line[nl] == ':' && line[nl + 1] == ' ') {
            size_t n = (size_t)(end - line) - nl - 2;
            if (n >= vlen)
                n = vlen - 1;
            memcpy(val, line + nl + 2, n);
            val[n] = '\0';
            return 1;
        }
        p = end;
    }
    return 0;
}

static int count_header(const char *resp, const char *name)
{
    int n = 0;
    char pat[128];
    const char *p = resp;
    snprintf(pat, sizeof pat, "\r\n%s: ", name);
    while ((p = strstr(p, pat)) != NULL) {
        n++;
        p += strlen(pat);
    }
    return n;
}

static int imf_fixdate(const char *d)
{
    static const char *days = "Mon,Tue,Wed,Thu,Fri,Sat,Sun,";
    static const char *months = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char day[5], mon[4];
    int i;
    if (strlen(d) != 29)
        return 0;
    memcpy(day, d, 4);
    day[4] = '\0';
    memcpy(mon, d + 8, 3);
    mon[3] = '\0';
    if (!strstr(days, day) || !strstr(months, mon) || d[4] != ' ' || d[7] != ' ' || d[11] != ' ')
        return 0;
    for (i = 5; i < 7; i++)
        if (d[i] < '0' || d[i] > '9')
            return 0;
    for (i = 12; i < 16; i++)
        if (d[i] < '0' || d[i] > '9')
            return 0;
    return d[16] == ' ' && d[19] == ':' && d[22] == ':' && strcmp(d + 25, " GMT") == 0;
}

static void test_simple(void)
{
    wsd_str out;
    char v[128];
    const char *body = "404 page not found\n", *end;
    size_t head_len;

    wsd_str_init(&out, 4096);
    is_int(wsd_response_simple(&out, 404, body, 0, NULL, NULL), 0, "simple: ok");
    ok(strncmp(out.s, "HTTP/1.1 404 Not Found\r\n", 24) == 0, "simple: status line");
    end = strstr(out.s, "\r\n\r\n");
    ok(end != NULL, "simple: has a blank line");
    head_len = end ? (size_t)(end - out.s) + 4 : out.len;
    is_str(out.s + head_len, body, "simple: body exactly as given, last");
    ok(find_header(out.s, head_len, "Content-Type", v, sizeof v) && strcmp(v, "text/plain; charset=utf-8") == 0,
       "simple: Content-Type");
    ok(find_header(out.s, head_len, "Content-Length", v, sizeof v) && strcmp(v, "19") == 0, "simple: Content-Length");
    ok(find_header(out.s, head_len, "Date", v, sizeof v) && imf_fixdate(v), "simple: Date is an IMF-fixdate (%s)", v);
    ok(find_header(out.s, head_len, "X-Content-Type-Options", v, sizeof v) && strcmp(v, "nosniff") == 0, "simple: nosniff");
    ok(find_header(out.s, head_len, "Connection", v, sizeof v) && strcmp(v, "close") == 0, "simple: Connection: close");
    is_int(count_header(out.s, "Sec-WebSocket-Version"), 0, "simple: no version header unless asked");
    wsd_str_free(&out);

    wsd_str_init(&out, 4096);
    is_int(wsd_response_simple(&out, 426, "426 Upgrade Required\n", 1, &list1, &list2), 0, "simple 426: ok");
    ok(strncmp(out.s, "HTTP/1.1 426 Upgrade Required\r\n", 31) == 0, "simple 426: status line");
    ok(find_header(out.s, out.len, "Sec-WebSocket-Version", v, sizeof v) && strcmp(v, "13") == 0,
       "simple 426: Sec-WebSocket-Version: 13");
    ok(find_header(out.s, out.len, "Server", v, sizeof v) && strcmp(v, "wsd") == 0, "simple: extra 1");
    ok(find_header(out.s, out.len, "X-Ws", v, sizeof v) && strcmp(v, "only 101") == 0, "simple: extra 2");
    ok(strstr(out.s, "Server: wsd\r\nX-A: 1\r\nX-Ws: only 101\r\n") != NULL, "simple: extras in order");
    ok(out.len > 4 && strcmp(out.s + out.len - strlen("\r\n\r\n426 Upgrade Required\n"),
                              "\r\n\r\n426 Upgrade Required\n") == 0, "simple: blank line then body");
    ok(strstr(out.s, "\r\n\r\n") == out.s + out.len - strlen("\r\n\r\n426 Upgrade Required\n"),
       "simple: exactly one blank line");
    wsd_str_free(&out);

    wsd_str_init(&out, 4096);
    is_int(wsd_response_simple(&out, 400, "", 1, NULL, NULL), 0, "simple empty body: ok");
    ok(find_header(out.s, out.len, "Content-Length", v, sizeof v) && strcmp(v, "0") == 0, "simple empty body: Content-Length 0");
    ok(out.len >= 4 && strcmp(out.s + out.len - 4, "\r\n\r\n") == 0, "simple empty body: ends with the blank line");
    wsd_str_free(&out);

    wsd_str_init(&out, 4096);
    is_int(wsd_response_simple(&out, 299, "x", 0, NULL, NULL), 0, "simple unknown status: ok");
    ok(strncmp(out.s, "HTTP/1.1 299 \r\n", 15) == 0, "simple unknown status: empty reason");
    wsd_str_free(&out);

    wsd_str_init(&out, 200);
    wsd_str_appends(&out, "keep");
    is_int(wsd_response_simple(&out, 404, body, 1, &list1, &list2), -1, "simple over the limit: -1");
    is_mem(out.s, out.len, "keep", 4, "simple over the limit: out unchanged");
    wsd_str_free(&out);
}

static const char *negotiate(const char *extra, char *const *sup, size_t n)
{
    static char chosen[64];
    char req[1024];
    wsd_http_parser *p = wsd_http_parser_new();
    size_t used = 0;
    const char *r;
    int len = snprintf(req, sizeof req, UPG_LINE UPG_HOST UPG_UP UPG_CONN UPG_KEY UPG_VER "%s"
                       UPG_END, extra);
    if (wsd_http_feed(p, req, (size_t)len, &used) != WSD_HTTP_DONE) {
        wsd_http_parser_free(p);
        return "(parse error)";
    }
    r = wsd_handshake_subprotocol(wsd_http_request(p), sup, n);
    snprintf(chosen, sizeof chosen, "%s", r ? r : "(none)");
    wsd_http_parser_free(p);
    return chosen;
}

static void test_subprotocol(void)
{
    char *sup[] = {"chat", "superchat", "v2.json"};
    char *one[] = {"Chat"};
    wsd_str out;

    is_str(negotiate("", sup, 3), "(none)", "no offer: none");
    is_str(negotiate("Sec-WebSocket-Protocol: chat\r\n", sup, 3), "chat", "single offer");
    is_str(negotiate("Sec-WebSocket-Protocol: superchat, chat\r\n", sup, 3), "superchat",
           "client preference wins");
    is_str(negotiate("Sec-WebSocket-Protocol: x, v2.json\r\n", sup, 3), "v2.json",
           "first supported of the list");
    is_str(negotiate("Sec-WebSocket-Protocol: x\r\nSec-WebSocket-Protocol:  chat \r\n", sup, 3),
           "chat", "several headers, spaces");
    is_str(negotiate("Sec-WebSocket-Protocol: nope, other\r\n", sup, 3), "(none)",
           "none matches: none");
    is_str(negotiate("Sec-WebSocket-Protocol: chat\r\n", one, 1), "(none)", "case-sensitive");
    is_str(negotiate("Sec-WebSocket-Protocol: chat\r\n", sup, 0), "(none)", "server speaks none");
    is_str(negotiate("Sec-WebSocket-Protocol: ,,chat,\r\n", sup, 3), "chat", "empty elements skipped");

    wsd_str_init(&out, 4096);
    is_int(wsd_response_101(&out, "abc", "chat", "permessage-deflate", NULL, NULL), 0, "101 with protocol");
    is_str(out.s, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Accept: abc\r\nSec-WebSocket-Protocol: chat\r\n"
           "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", "  exact bytes");
    wsd_str_free(&out);
}

int main(void)
{
    test_accept();
    test_subprotocol();
    test_check();
    test_101();
    test_simple();
    return done_testing();
}
