/* test_goflag.c — Go's flag package as src/goflag.c emulates it: strconv's
 * syntax, %q, FlagSet.Parse and PrintDefaults, on a small table of its own
 * (test_config.c covers wsd's table and websocketd's observed texts). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "goflag.h"
#include "harness.h"

static const char *upto300(const wsd_goflag_value *v)
{
    return v->u <= 300 ? NULL : "must be at most 300";
}

static const char *small(const wsd_goflag_value *v)
{
    return v->i >= -5 && v->i <= 5 ? NULL : "must be -5 to 5";
}

enum { B, I, L, S, U, N };
static const wsd_goflag defs[N] = {
    [B] = {"bool", WSD_GOFLAG_BOOL, NULL, NULL, "a bool"},
    [I] = {"int", WSD_GOFLAG_INT, NULL, small, "an int"},
    [L] = {"list", WSD_GOFLAG_LIST, NULL, NULL, "a list"},
    [S] = {"str", WSD_GOFLAG_STRING, "x y", NULL, "a string"},
    [U] = {"uint", WSD_GOFLAG_UINT, "7", upto300, "a uint"},
};

typedef struct {
    int rc, first;
    char *err;
    wsd_goflag_value v[N];
} parsed;

static parsed parse_v(const char *const *args)
{
    parsed p;
    char *argv[32];
    int argc = 0;
    size_t n;
    FILE *e;

    memset(&p, 0, sizeof p);
    argv[argc++] = (char *)"prog";
    while (*args && argc < 31)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    p.first = -7;
    e = open_memstream(&p.err, &n);
    p.rc = wsd_goflag_parse(defs, N, p.v, argc, argv, &p.first, e);
    fclose(e);
    return p;
}
#define PARSE(...) parse_v((const char *const[]){__VA_ARGS__, NULL})

static void done(parsed *p)
{
    free(p->err);
    wsd_goflag_values_free(p->v, N);
    ok(p->v[L].l == NULL && p->v[S].s == NULL && p->v[I].pos == 0, "  values_free zeroes");
}

static void test_numbers(void)
{
    static const struct { const char *s; int rc; int64_t v; } ints[] = {
        {"0", 0, 0}, {"-5", 0, -5}, {"+5", 0, 5}, {"0x1F", 0, 31}, {"0o17", 0, 15},
        {"017", 0, 15}, {"0b101", 0, 5}, {"1_000", 0, 1000}, {"0x_1f", 0, 31},
        {"9223372036854775807", 0, INT64_MAX}, {"-9223372036854775808", 0, INT64_MIN},
        {"9223372036854775808", WSD_GOFLAG_RANGE, INT64_MAX},
        {"-9223372036854775809", WSD_GOFLAG_RANGE, INT64_MIN},
        {"99999999999999999999", WSD_GOFLAG_RANGE, INT64_MAX},
        {"", WSD_GOFLAG_SYNTAX, 0}, {"-", WSD_GOFLAG_SYNTAX, 0}, {"08", WSD_GOFLAG_SYNTAX, 0},
        {"1__0", WSD_GOFLAG_SYNTAX, 0}, {"_1", WSD_GOFLAG_SYNTAX, 0}, {"1_", WSD_GOFLAG_SYNTAX, 0},
        {" 1", WSD_GOFLAG_SYNTAX, 0}, {"1e3", WSD_GOFLAG_SYNTAX, 0}, {"--1", WSD_GOFLAG_SYNTAX, 0},
    };
    static const struct { const char *s; int rc; uint64_t v; } uints[] = {
        {"18446744073709551615", 0, UINT64_MAX}, {"0xffffffffffffffff", 0, UINT64_MAX},
        {"18446744073709551616", WSD_GOFLAG_RANGE, UINT64_MAX},
        {"+1", WSD_GOFLAG_SYNTAX, 0}, {"-1", WSD_GOFLAG_SYNTAX, 0}, {"0", 0, 0},
    };
    static const char *const trues[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const falses[] = {"0", "f", "F", "FALSE", "false", "False"};
    static const char *const notbool[] = {"", "yes", "tRUE", "2", " true", "on"};
    size_t i;

    for (i = 0; i < sizeof ints / sizeof *ints; i++) {
        int64_t v = 12345;
        int rc = wsd_goflag_parse_int(ints[i].s, &v);
        is_int(rc, ints[i].rc, "ParseInt(\"%s\"): rc", ints[i].s);
        is_int(v, ints[i].v, "ParseInt(\"%s\"): value", ints[i].s);
    }
    for (i = 0; i < sizeof uints / sizeof *uints; i++) {
        uint64_t v = 12345;
        int rc = wsd_goflag_parse_uint(uints[i].s, &v);
        is_int(rc, uints[i].rc, "ParseUint(\"%s\"): rc", uints[i].s);
        ok(v == uints[i].v, "ParseUint(\"%s\"): value", uints[i].s);
    }
    for (i = 0; i < 6; i++) {
        int b = -1;
        ok(wsd_goflag_parse_bool(trues[i], &b) == 0 && b == 1, "ParseBool(\"%s\") = true", trues[i]);
        ok(wsd_goflag_parse_bool(falses[i], &b) == 0 && b == 0, "ParseBool(\"%s\") = false",
           falses[i]);
        b = 5;
        ok(wsd_goflag_parse_bool(notbool[i], &b) == WSD_GOFLAG_SYNTAX && b == 5,
           "ParseBool(\"%s\"): syntax error, *out untouched", notbool[i]);
    }
}

static void test_quote(void)
{
    static const struct { const char *in, *out; } t[] = {
        {"", "\"\""},
        {"abc", "\"abc\""},
        {"a\"b\\c", "\"a\\\"b\\\\c\""},
        {"\a\b\f\n\r\t\v", "\"\\a\\b\\f\\n\\r\\t\\v\""},
        {"\x01\x7f", "\"\\x01\\x7f\""},
        {"\xff" "a\xc3", "\"\\xffa\\xc3\""},
        {"\xc3\xa9\xe2\x82\xac", "\"\xc3\xa9\xe2\x82\xac\""},   /* é € printable */
        {"\xc2\xa0", "\"\\u00a0\""},                             /* NBSP */
        {"\xef\xbb\xbf", "\"\\ufeff\""},                         /* BOM */
        {"\xf3\xb0\x80\x80", "\"\\U000f0000\""},                 /* private use */
        {"\xed\xa0\x80", "\"\\xed\\xa0\\x80\""},                 /* a surrogate */
    };
    size_t i;
    for (i = 0; i < sizeof t / sizeof *t; i++) {
        char *buf = NULL;
        size_t n;
        FILE *f = open_memstream(&buf, &n);
        wsd_goflag_quote(f, t[i].in);
        fclose(f);
        is_str(buf, t[i].out, "%%q vector %zu", i);
        free(buf);
    }
}

static void test_parse(void)
{
    parsed p;

    p = PARSE("-bool", "--int=-3", "-uint", "0x10", "--str", "a", "--str=b", "-list=1",
              "--list", "2", "CMD", "--int=9");
    is_int(p.rc, WSD_GOFLAG_OK, "parse: ok");
    is_int(p.first, 11, "parse: COMMAND at argv[11]");
    is_int(p.v[B].b, 1, "bare bool is true");
    is_int(p.v[I].i, -3, "--int=-3");
    ok(p.v[U].u == 16, "-uint 0x10");
    is_str(p.v[S].s, "b", "a repeated string: the last wins");
    ok(p.v[L].nl == 2 && strcmp(p.v[L].l[0], "1") == 0 && strcmp(p.v[L].l[1], "2") == 0 &&
       p.v[L].l[2] == NULL, "a list collects, NULL-terminated");
    is_int(p.v[B].pos, 1, "pos: argv index of the first use");
    is_int(p.v[S].pos, 5, "pos of --str: its first use");
    is_str(p.err, "", "nothing printed");
    done(&p);

    p = PARSE("--bool=false", "--", "-int=1");
    is_int(p.rc, WSD_GOFLAG_OK, "--: ok");
    is_int(p.first, 3, "-- ends the flags");
    ok(p.v[B].b == 0 && p.v[B].pos == 1, "--bool=false: given, false");
    is_int(p.v[I].pos, 0, "-int after --: not a flag");
    done(&p);

    p = PARSE("-", "-bool");
    ok(p.rc == WSD_GOFLAG_OK && p.first == 1, "a lone '-' is an argument");
    done(&p);
    p = PARSE("-bool");
    ok(p.rc == WSD_GOFLAG_OK && p.first == 2, "no arguments: *first = argc");
    done(&p);

    p = PARSE("-int=1", "--help", "--bogus");
    is_int(p.rc, WSD_GOFLAG_HELP, "--help");
    is_str(p.err, "", "  prints nothing itself");
    done(&p);
    p = PARSE("-h=x");
    is_int(p.rc, WSD_GOFLAG_HELP, "-h=x is help too");
    done(&p);

    {
        static const struct { const char *arg, *msg; } bad[] = {
            {"---int=1", "bad flag syntax: ---int=1\n"},
            {"-=1", "bad flag syntax: -=1\n"},
            {"--bogus=1", "flag provided but not defined: -bogus\n"},
            {"--bool=yes", "invalid boolean value \"yes\" for -bool: parse error\n"},
            {"--int=x", "invalid value \"x\" for flag -int: parse error\n"},
            {"--uint=301", "invalid value \"301\" for flag -uint: must be at most 300\n"},
            {"--uint=18446744073709551616",
             "invalid value \"18446744073709551616\" for flag -uint: value out of range\n"},
            {"--int=6", "invalid value \"6\" for flag -int: must be -5 to 5\n"},
            {"-int=-6", "invalid value \"-6\" for flag -int: must be -5 to 5\n"},
            {"--int=9223372036854775808",
             "invalid value \"9223372036854775808\" for flag -int: value out of range\n"},
            {"--uint=-1", "invalid value \"-1\" for flag -uint: parse error\n"},
            {"--int", "flag needs an argument: -int\n"},
        };
        size_t i;
        for (i = 0; i < sizeof bad / sizeof *bad; i++) {
            p = PARSE(bad[i].arg);
            is_int(p.rc, WSD_GOFLAG_ERROR, "%s: error", bad[i].arg);
            is_str(p.err, bad[i].msg, "%s: Go's message", bad[i].arg);
            done(&p);
        }
    }
}

static void test_print_defaults(void)
{
    char *buf = NULL;
    size_t n;
    FILE *f = open_memstream(&buf, &n);

    wsd_goflag_print_defaults(defs, N, "prog", f);
    fclose(f);
    is_str(buf, "Usage of prog:\n"
                "  -bool\n    \ta bool\n"
                "  -int int\n    \tan int\n"
                "  -list value\n    \ta list\n"
                "  -str string\n    \ta string (default \"x y\")\n"
                "  -uint uint\n    \ta uint (default 7)\n",
           "PrintDefaults");
    free(buf);
}

int main(void)
{
    test_numbers();
    test_quote();
    test_parse();
    test_print_defaults();
    return done_testing();
}
