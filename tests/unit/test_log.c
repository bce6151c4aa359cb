/* test_log.c — log lines: websocketd's text format byte for byte, the JSON
 * format (keys, order, escaping, bounds), syslog priority prefixes, the
 * JSON string escaper, the associations parser and JOURNAL_STREAM. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "log.h"

/* A JSON object line as render_json writes it: {"k":"v",...}\n with every
 * string valid (escapes, no raw control characters, valid UTF-8).
 * Returns the number of members, or -1. Keys are collected in keys. */
static int json_string(const char **pp, const char *end, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)*pp;
    size_t o = 0;

    if (p >= (const unsigned char *)end || *p != '"')
        return -1;
    p++;
    while (p < (const unsigned char *)end && *p != '"') {
        unsigned char c = *p;
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            p++;
            if (p >= (const unsigned char *)end)
                return -1;
            if (*p == 'u') {
                int i;
                for (i = 1; i <= 4; i++)
                    if (p + i >= (const unsigned char *)end || !strchr("0123456789abcdef", p[i]))
                        return -1;
                p += 5;
            } else if (strchr("\"\\/bfnrt", *p) && *p) {
                p++;
            } else {
                return -1;
            }
            if (o + 1 < cap)
                out[o++] = '?';
            continue;
        }
        if (c >= 0x80) {
            int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0, i;
            if (len == 0 || c > 0xf4)
                return -1;
            for (i = 1; i < len; i++)
                if (p + i >= (const unsigned char *)end || (p[i] & 0xc0) != 0x80)
                    return -1;
            p += len;
            if (o + 1 < cap)
                out[o++] = '?';
            continue;
        }
        if (o + 1 < cap)
            out[o++] = (char)c;
        p++;
    }
    if (p >= (const unsigned char *)end)
        return -1;
    out[o] = '\0';
    *pp = (const char *)p + 1;
    return 0;
}

static int json_line(const char *s, size_t n, char keys[][32], int maxkeys)
{
    const char *p = s, *end = s + n;
    int k = 0;
    char val[16384];

    if (n < 3 || s[0] != '{' || s[n - 1] != '\n' || s[n - 2] != '}')
        return -1;
    p++;
    end = s + n - 2;
    while (p < end) {
        if (k > 0) {
            if (*p != ',')
                return -1;
            p++;
        }
        if (json_string(&p, end, k < maxkeys ? keys[k] : val, k < maxkeys ? 32 : sizeof val) != 0)
            return -1;
        if (p >= end || *p != ':')
            return -1;
        p++;
        if (json_string(&p, end, val, sizeof val) != 0)
            return -1;
        k++;
    }
    return k;
}

static struct timespec t0 = {1796646070, 123456789};   /* Mon, 07 Dec 2026 12:21:10 UTC */

static void test_text_format(void)
{
    char buf[WSD_LOG_LINE_MAX], big[9000];
    const char *want;
    size_t n;

    n = wsd_log_render(buf, sizeof buf, WSD_LOGFMT_TEXT, 0, &t0, WSD_LOG_ACCESS, "session",
                       "url:'http://h/' id:'1'", "CONNECT", 7);
    want = "Mon, 07 Dec 2026 12:21:10 +0000 | ACCESS | session    | url:'http://h/' id:'1' "
           "| CONNECT\n";
    is_mem(buf, n, want, strlen(want), "text: websocketd's line");
    n = wsd_log_render(buf, sizeof buf, WSD_LOGFMT_TEXT, 0, &t0, WSD_LOG_INFO, "server", NULL,
                       "x", 1);
    want = "Mon, 07 Dec 2026 12:21:10 +0000 | INFO   | server     |  | x\n";
    is_mem(buf, n, want, strlen(want), "text: no associations");
    n = wsd_log_render(buf, sizeof buf, WSD_LOGFMT_TEXT, 1, &t0, WSD_LOG_ERROR, "server", "",
                       "bad", 3);
    want = "<3>Mon, 07 Dec 2026 12:21:10 +0000 | ERROR  | server     |  | bad\n";
    is_mem(buf, n, want, strlen(want), "text: with a priority prefix");
    memset(big, 'a', sizeof big);
    n = wsd_log_render(buf, sizeof buf, WSD_LOGFMT_TEXT, 0, &t0, WSD_LOG_INFO, "server", "",
                       big, sizeof big);
    is_int(n, 8191, "text: a long line is cut to 8191 bytes (websocketd's 8 KiB buffer)");
    is_mem(buf + n - 4, 4, "...\n", 4, "... and ends with ...");
    n = wsd_log_render(buf, sizeof buf, WSD_LOGFMT_TEXT, 0, &t0, WSD_LOG_INFO, "server", "",
                       big, 8191 - 60);
    is_int(n, 8191, "text: the longest line that is not cut");
    ok(buf[n - 2] == 'a', "... is not cut");
}

static void test_priorities(void)
{
    static const int want[] = {7, 7, 6, 6, 3, 2};
    int l;
    for (l = WSD_LOG_DEBUG; l <= WSD_LOG_FATAL; l++)
        is_int(wsd_log_syslog_priority(l), want[l], "priority of level %d", l);
}

static void test_json_format(void)
{
    char buf[WSD_LOG_LINE_MAX], keys[16][32];
    size_t n;
    const char *want =
        "{\"time\":\"2026-12-07T12:21:10.123Z\",\"level\":\"access\",\"category\":\"session\","
        "\"url\":\"http://h/a'b c\\\\\",\"id\":\"17\",\"remote\":\"127.0.0.1\","
        "\"command\":\"/bin/cat\",\"origin\":\"file:\",\"pid\":\"42\",\"msg\":\"DISCONNECT\"}\n";

    n = wsd_log_render(buf, sizeof buf, WSD_LOGFMT_JSON, 0, &t0, WSD_LOG_ACCESS, "session",
                       "url:'http://h/a\\x27b c\\x5c' id:'17' remote:'127.0.0.1' "
                       "command:'/bin/cat' origin:'file:' pid:'42'", "DISCONNECT", 10);
    is_mem(buf, n, want, strlen(want), "json: keys in order, \\xNN undone, escaped");
    is_int(json_line(buf, n, keys, 16), 10, "json: a valid object of 10 members");

    n = wsd_log_render(buf, sizeof buf, WSD_LOGFMT_JSON, 1, &t0, WSD_LOG_FATAL, "server", "",
                       "Can't", 5);
    want = "<2>{\"time\":\"2026-12-07T12:21:10.123Z\",\"level\":\"fatal\",\"category\":\"server\","
           "\"msg\":\"Can't\"}\n";
    is_mem(buf, n, want, strlen(want), "json: priority prefix, no associations");

    /* peer bytes: control characters, invalid UTF-8 (escaped by
     * wsd_log_escape in the associations, raw in a message) */
    n = wsd_log_render(buf, sizeof buf, WSD_LOGFMT_JSON, 0, &t0, WSD_LOG_ERROR, "stderr",
                       "url:'/\\x00\\x1b[31m\\xff\\xc3\\xa9\"' msg:'m' time:'t' url:'again'", "a\tb\"\x01\xfe", 6);
    want = "{\"time\":\"2026-12-07T12:21:10.123Z\",\"level\":\"error\",\"category\":\"stderr\","
           "\"url\":\"/\\u0000\\u001b[31m\\ufffd\xc3\xa9\\\"\",\"msg\":\"a\\tb\\\"\\u0001\\ufffd\"}\n";
    is_mem(buf, n, want, strlen(want), "json: control, invalid UTF-8; reserved and repeated keys left out");
    is_int(json_line(buf, n, keys, 16), 5, "json: still valid");

    /* a message with wsd_log_escape's escapes (a program's stderr line) */
    n = wsd_log_render(buf, sizeof buf, WSD_LOGFMT_JSON, 0, &t0, WSD_LOG_ERROR, "stderr", "",
                       "e\\xc3\\xa9 \\x01\\xff \\x5cx41 \\x", 29);
    want = "{\"time\":\"2026-12-07T12:21:10.123Z\",\"level\":\"error\",\"category\":\"stderr\","
           "\"msg\":\"e\xc3\xa9 \\u0001\\ufffd \\\\x41 \\\\x\"}\n";
    is_mem(buf, n, want, strlen(want), "json: the message's \\xNN undone, then escaped");

    /* an association string that is not key:'value' pairs */
    n = wsd_log_render(buf, sizeof buf, WSD_LOGFMT_JSON, 0, &t0, WSD_LOG_INFO, "x",
                       "id:'1' oops no quotes", "m", 1);
    want = "{\"time\":\"2026-12-07T12:21:10.123Z\",\"level\":\"info\",\"category\":\"x\","
           "\"id\":\"1\",\"assoc\":\"oops no quotes\",\"msg\":\"m\"}\n";
    is_mem(buf, n, want, strlen(want), "json: a malformed rest goes whole into \"assoc\"");
}

static void test_json_bounds(void)
{
    static char assoc[20000], msg[8191];
    char buf[WSD_LOG_LINE_MAX], keys[16][32];
    size_t n, i;

    /* every byte a control character: 6 bytes each once escaped */
    strcpy(assoc, "url:'");
    for (i = 5; i < 5 + 4 * 3000; i += 4)
        memcpy(assoc + i, "\\x01", 4);
    strcpy(assoc + i, "' id:'2'");
    memset(msg, 1, sizeof msg);
    n = wsd_log_render(buf, sizeof buf, WSD_LOGFMT_JSON, 0, &t0, WSD_LOG_INFO, "c", assoc, msg,
                       sizeof msg);
    ok(n <= sizeof buf, "json: within the line (%zu)", n);
    ok(json_line(buf, n, keys, 16) >= 5, "json: a cut line is still valid");
    ok(strstr(buf, "...\",\"") != NULL, "json: the long value ends in ...");
    ok(n > 1000 && memcmp(buf + n - 6, "...\"}\n", 6) == 0, "json: msg cut with ... too");
}

static void test_json_escape(void)
{
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } v[] = {
        {"plain", 5, "plain"},
        {"q\"b\\s/", 6, "q\\\"b\\\\s/"},
        {"\n\r\t\b\f\x7f", 6, "\\n\\r\\t\\b\\f\\u007f"},
        {"\0\x1f", 2, "\\u0000\\u001f"},
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
        {"\xff", 1, "\\ufffd"},
        {"\xc0\xaf", 2, "\\ufffd\\ufffd"},                  /* overlong */
        {"\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd"},        /* a surrogate */
        {"\xe2\x82", 2, "\\ufffd\\ufffd"},                  /* cut short */
        {"a\xf4\x90\x80\x80z", 6, "a\\ufffd\\ufffd\\ufffd\\ufffdz"},   /* > U+10FFFF */
    };
    char out[256];
    size_t i, n;

    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        n = wsd_json_escape(out, sizeof out, v[i].in, v[i].n);
        is_mem(out, n, v[i].out, strlen(v[i].out), "json escape vector %zu", i);
    }
    /* every capacity: within it, never a split escape or character, "..." */
    {
        const char *in = "ab\"\xc3\xa9\x01z\xff\xf0\x9f\x98\x80!";
        size_t len = strlen(in), cap, full = wsd_json_escape(out, sizeof out, in, len);
        int bad = 0;
        for (cap = 3; cap <= full + 2; cap++) {
            char o[64], wrapped[80];
            const char *p = wrapped;
            size_t m = wsd_json_escape(o, cap, in, len);
            wrapped[0] = '"';
            memcpy(wrapped + 1, o, m);
            wrapped[m + 1] = '"';
            if (m > cap || json_string(&p, wrapped + m + 2, out, sizeof out) != 0 ||
                (cap < full && (m < 3 || memcmp(o + m - 3, "...", 3) != 0)) ||
                (cap >= full && m != full))
                bad++;
        }
        is_int(bad, 0, "json escape: every capacity gives a valid, bounded string");
    }
}

static void test_assoc_parser(void)
{
    const char *a = "url:'x y' id:'' pid:'9'";
    const char *k, *v;
    size_t kl, vl, pos = 0;

    is_int(wsd_log_assoc_next(a, strlen(a), &pos, &k, &kl, &v, &vl), 1, "pair 1");
    is_mem(k, kl, "url", 3, "key 1");
    is_mem(v, vl, "x y", 3, "value 1");
    is_int(wsd_log_assoc_next(a, strlen(a), &pos, &k, &kl, &v, &vl), 1, "pair 2");
    is_int((int)vl, 0, "empty value");
    is_int(wsd_log_assoc_next(a, strlen(a), &pos, &k, &kl, &v, &vl), 1, "pair 3");
    is_int(wsd_log_assoc_next(a, strlen(a), &pos, &k, &kl, &v, &vl), 0, "end");
    pos = 0;
    is_int(wsd_log_assoc_next("x:'unterminated", 15, &pos, &k, &kl, &v, &vl), -1, "unterminated");
    ok(k == NULL && vl == 15, "the rest whole");
    pos = 0;
    is_int(wsd_log_assoc_next(":'v'", 4, &pos, &k, &kl, &v, &vl), -1, "no key");
    pos = 0;
    is_int(wsd_log_assoc_next("   ", 3, &pos, &k, &kl, &v, &vl), 0, "blank");
}

static void test_journal_stream(void)
{
    ok(wsd_log_journal_stream("8:1234", 8, 1234), "matches");
    ok(!wsd_log_journal_stream("8:1234", 8, 1235), "another inode");
    ok(!wsd_log_journal_stream("9:1234", 8, 1234), "another device");
    ok(!wsd_log_journal_stream(NULL, 8, 1234), "unset");
    ok(!wsd_log_journal_stream("", 0, 0), "empty");
    ok(!wsd_log_journal_stream("8:", 8, 0), "no inode");
    ok(!wsd_log_journal_stream(":1", 0, 1), "no device");
    ok(!wsd_log_journal_stream("8:12x", 8, 12), "trailing garbage");
    ok(!wsd_log_journal_stream("-8:1", 8, 1), "a sign");
    ok(!wsd_log_journal_stream("99999999999999999999999:1", 0, 1), "overflow");
    ok(wsd_log_journal_stream("18446744073709551615:1", 18446744073709551615ull, 1), "the largest");
}

static void test_formats(void)
{
    is_int(wsd_log_format_parse("text"), WSD_LOGFMT_TEXT, "text");
    is_int(wsd_log_format_parse("json"), WSD_LOGFMT_JSON, "json");
    is_int(wsd_log_format_parse("JSON"), -1, "case matters (as --loglevel)");
    is_int(wsd_log_format_parse(""), -1, "empty");
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    test_text_format();
    test_priorities();
    test_json_format();
    test_json_bounds();
    test_json_escape();
    test_assoc_parser();
    test_journal_stream();
    test_formats();
    return done_testing();
}
