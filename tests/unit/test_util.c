/* test_util.c — the small shared helpers of src/util.c: character classes,
 * Go's strings.TrimSpace, case-insensitive compares, the bounded string. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "util.h"

static void test_classes(void)
{
    static const char tchar_punct[] = "!#$%&'*+-.^_`|~";
    int c, bad_lower = 0, bad_tchar = 0, bad_hex = 0;

    for (c = 0; c < 256; c++) {
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        int digit = c >= '0' && c <= '9';
        int want_lower = c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
        int want_tchar = alpha || digit || (c != 0 && strchr(tchar_punct, c) != NULL);
        int want_hex = digit ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (wsd_lower(c) != want_lower && bad_lower++ < 3)
            printf("#   wsd_lower(%d) = %d\n", c, wsd_lower(c));
        if (wsd_is_tchar(c) != want_tchar && bad_tchar++ < 3)
            printf("#   wsd_is_tchar(%d) = %d\n", c, wsd_is_tchar(c));
        if (wsd_hexval(c) != want_hex && bad_hex++ < 3)
            printf("#   wsd_hexval(%d) = %d\n", c, wsd_hexval(c));
    }
    ok(!bad_lower, "wsd_lower: A-Z only, all 256 bytes");
    ok(!bad_tchar, "wsd_is_tchar: RFC 9110 tchar, all 256 bytes");
    ok(!bad_hex, "wsd_hexval: 0-9 a-f A-F, -1 otherwise, all 256 bytes");
    is_int(wsd_is_tchar(':'), 0, "':' is not a tchar");
    is_int(wsd_is_tchar('_'), 1, "'_' is a tchar");
    is_int(wsd_lower(0xc4), 0xc4, "no locale: 0xc4 unchanged");
}

static void test_trim_space(void)
{
    static const struct {
        const char *in, *out;
    } t[] = {
        {"", ""},
        {"a", "a"},
        {"  a b  ", "a b"},
        {"\t\n\v\f\r a \r\n", "a"},
        {" \r\n ", ""},
        {"\xc2\x85" "a" "\xc2\xa0", "a"},                     /* U+0085, U+00A0 */
        {"\xe1\x9a\x80" "a" "\xe2\x80\x8a", "a"},             /* U+1680, U+200A */
        {"\xe2\x80\xa8\xe2\x80\xa9" "a" "\xe2\x80\xaf", "a"}, /* U+2028, U+2029, U+202F */
        {"\xe2\x81\x9f" "a" "\xe3\x80\x80", "a"},             /* U+205F, U+3000 */
        {"\xe2\x80\x8b" "a" "\xe2\x80\x8b", "\xe2\x80\x8b" "a" "\xe2\x80\x8b"}, /* U+200B: no */
        {"\xc2\xa1" "a", "\xc2\xa1" "a"},                     /* U+00A1: not a space */
        {"a\xc2", "a\xc2"},                                   /* a cut sequence stays */
        {"\xa0" "a" "\x85", "\xa0" "a" "\x85"},               /* lone continuation bytes */
        {"a \xc2\xa0\xc2\xa0 ", "a"},
    };
    size_t i;

    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t n = strlen(t[i].in);
        const char *s = wsd_trim_space(t[i].in, &n);
        is_mem(s, n, t[i].out, strlen(t[i].out), "trim_space vector %zu", i);
        ok(s >= t[i].in && s + n <= t[i].in + strlen(t[i].in), "  result inside the input");
    }
    {
        /* only the first *n bytes count */
        size_t n = 3;
        const char *s = wsd_trim_space(" a  b", &n);
        is_mem(s, n, "a", 1, "trim_space reads s[0..n) only");
    }
}

static void test_strings(void)
{
    wsd_str b;

    is_int(wsd_strncaseeq("UpGrade", 7, "upgrade"), 1, "strncaseeq: case-insensitive");
    is_int(wsd_strncaseeq("Upgrade", 6, "upgrade"), 0, "strncaseeq: shorter");
    is_int(wsd_strncaseeq("Upgrades", 8, "upgrade"), 0, "strncaseeq: longer");
    is_int(wsd_header_has_token("keep-alive, Upgrade", 19, "upgrade"), 1, "token in a list");
    is_int(wsd_header_has_token("upgrades", 8, "upgrade"), 0, "no partial token");

    wsd_str_init(&b, 8);
    is_int(wsd_str_appends(&b, "abcdef"), 0, "append within the limit");
    is_int(wsd_str_appends(&b, "ghi"), -1, "append past the limit fails");
    is_str(b.s, "abcdef", "  and leaves the string unchanged");
    wsd_str_truncate(&b, 2);
    is_int((long)b.len, 2, "truncate: length");
    is_str(b.s, "ab", "truncate: NUL-terminated");
    is_int(wsd_str_appendf(&b, "%d", 123456), 0, "appendf after truncate");
    is_str(b.s, "ab123456", "  content");
    wsd_str_free(&b);
    wsd_str_init(&b, 8);
    wsd_str_truncate(&b, 0);
    ok(b.s == NULL && b.len == 0, "truncate of an empty string");
    wsd_str_free(&b);
}

int main(void)
{
    test_classes();
    test_trim_space();
    test_strings();
    return done_testing();
}
