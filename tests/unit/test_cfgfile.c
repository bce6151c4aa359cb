/* test_cfgfile.c — the configuration file's syntax (src/cfgfile.c): the
 * settings and their line numbers through libinih, the section grammar,
 * the limits inih cannot report, every problem with its line. */
#include "cfgfile.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* What the callback saw, one "LINE [ROUTE@HLINE] key=value" a line. */
typedef struct {
    wsd_str log;
    const char *fail_key;     /* the callback refuses this key */
} seen;

static int record(void *user, const wsd_cfgfile_entry *e, char *err, size_t cap)
{
    seen *s = user;
    if (e->route)
        wsd_str_appendf(&s->log, "%d [%s@%d] %s=%s\n", e->line, e->route, e->route_line, e->key,
                        e->value);
    else
        wsd_str_appendf(&s->log, "%d %s=%s\n", e->line, e->key, e->value);
    if (s->fail_key && strcmp(e->key, s->fail_key) == 0) {
        snprintf(err, cap, "%s: refused here", e->key);
        return -1;
    }
    return 0;
}

typedef struct {
    int rc, line;
    char err[WSD_CFGFILE_ERR_MAX];
    char *log;
} result;

static result parse_n(const char *text, size_t len, const char *fail_key)
{
    result r;
    seen s;

    memset(&s, 0, sizeof s);
    wsd_str_init(&s.log, 1 << 24);
    s.fail_key = fail_key;
    r.rc = wsd_cfgfile_parse(text, len, record, &s, &r.line, r.err, sizeof r.err);
    r.log = s.log.s ? s.log.s : xstrdup("");
    return r;
}

static result parse(const char *text)
{
    return parse_n(text, strlen(text), NULL);
}

static void expect_ok(const char *text, const char *want, const char *name)
{
    result r = parse(text);
    is_int(r.rc, 0, "%s: parses", name);
    if (r.rc)
        printf("#   line %d: %s\n", r.line, r.err);
    is_str(r.log, want, "%s: settings", name);
    free(r.log);
}

static void expect_err(const char *text, int line, const char *err, const char *name)
{
    result r = parse(text);
    is_int(r.rc, -1, "%s: refused", name);
    is_int(r.line, line, "%s: on line %d", name, line);
    is_str(r.err, err, "%s: says why", name);
    free(r.log);
}

static void test_settings(void)
{
    expect_ok("", "", "empty file");
    expect_ok("# only\n; comments\n\n   \n", "", "comments and blanks");
    expect_ok("port = 8080\naddress=127.0.0.1\n  loglevel   =   info  \n",
              "1 port=8080\n2 address=127.0.0.1\n3 loglevel=info\n", "keys trimmed");
    expect_ok("origin: https://a.example\n", "1 origin=https://a.example\n", "key: value");
    expect_ok("header = X-A: b\n", "1 header=X-A: b\n", "'=' before ':' splits");
    expect_ok("arg = a ; b # c\n", "1 arg=a ; b # c\n", "no inline comments");
    expect_ok("port = 1\r\nbinary = true\r\n", "1 port=1\n2 binary=true\n", "CRLF");
    expect_ok("\xef\xbb\xbfport = 1\n", "1 port=1\n", "UTF-8 BOM");
    expect_ok("port = 1", "1 port=1\n", "no final newline");
    expect_ok("empty =\n", "1 empty=\n", "an empty value");
    expect_ok("port = 1\n[route /chat]\ncommand = cat\n  shared = true\n\n[route /]\ndir = /x\n",
              "1 port=1\n3 [/chat@2] command=cat\n4 [/chat@2] shared=true\n"
              "7 [/@6] dir=/x\n", "routes, indented keys");
    expect_ok("[ route   /a/b ]\nx=1\n", "2 [/a/b@1] x=1\n", "blanks in the header");
    expect_ok("[route /a]\nx=1\n# between\n[route /b]\ny=2\n",
              "2 [/a@1] x=1\n5 [/b@4] y=2\n", "header lines");
}

static void test_errors(void)
{
    char *big;
    result r;

    expect_err("port = 1\nbinary\n", 2,
               "not a `key = value`, `[route /PATH]` or comment line", "a key alone");
    expect_err("[route /x\nport=1\n", 1,
               "not a `key = value`, `[route /PATH]` or comment line", "no ]");
    expect_err("= 1\n", 1, "a setting without a key", "no key");
    expect_err("a=1\n[server]\nport=1\n", 2,
               "unknown section [server] (a section is [route /PATH])", "unknown section");
    expect_err("[route]\nport=1\n", 1, "unknown section [route] (a section is [route /PATH])",
               "route without a path");
    expect_err("[routes /x]\nport=1\n", 1,
               "unknown section [routes /x] (a section is [route /PATH])", "routes");
    expect_err("[route x]\na=1\n", 1, "[route x]: a route's path starts with '/'",
               "relative path");
    expect_err("[route /x/]\na=1\n", 1, "[route /x/]: a route's path has no trailing '/' "
               "(/x matches /x and everything under /x/)", "trailing slash");
    expect_err("[route /a//b]\na=1\n", 1, "[route /a//b]: a route's path has no empty segment "
               "('//')", "empty segment");
    expect_err("[route /a/../b]\na=1\n", 1, "[route /a/../b]: a route's path has no '.' or "
               "'..' segment", "dot-dot");
    expect_err("[route /a?b]\na=1\n", 1, "[route /a?b]: a route's path holds no '?', '#', '%', "
               "'\\' or quotes (give it decoded)", "query");
    expect_err("[route /a b]\na=1\n", 1,
               "[route /a b]: a route's path holds printable ASCII only (no blanks)", "blank");
    expect_err("[route /x]\na=1\n[route /y]\nb=1\n[route /x]\nc=1\n", 5,
               "[route /x] appears twice (first on line 1)", "a route twice");
    expect_err("a=1\n[route /x]\n\n[route /y]\nb=2\n", 2,
               "a section without settings (or a [route] given twice in a row)", "empty section");
    expect_err("[route /x]\n[route /x]\nb=2\n", 1,
               "a section without settings (or a [route] given twice in a row)",
               "the same route twice in a row");
    expect_err("[route /012345678901234567890123456789012345678901]\na=1\n", 1,
               "section header longer than 48 bytes", "header of 49 bytes");
    expect_ok("[route /01234567890123456789012345678901234567890]\na=1\n",
              "2 [/01234567890123456789012345678901234567890@1] a=1\n", "header of 48 bytes");
    r = parse_n("a=1\nb=2\x00x\nc=3\n", 14, NULL);
    is_int(r.rc, -1, "NUL byte: refused");
    is_int(r.line, 2, "NUL byte: its line");
    is_str(r.err, "NUL byte (not a text file?)", "NUL byte: says so");
    free(r.log);

    big = xmalloc(WSD_CFGFILE_LINE_MAX + 64);
    memcpy(big, "a=1\nk = ", 8);
    memset(big + 8, 'v', WSD_CFGFILE_LINE_MAX - 4);       /* the line: 8192 bytes */
    strcpy(big + 8 + WSD_CFGFILE_LINE_MAX - 4, "\nb=2\n");
    r = parse(big);
    is_int(r.rc, 0, "a line of 8192 bytes: fine");
    ok(strstr(r.log, "3 b=2\n") != NULL, "  the next line is line 3");
    free(r.log);
    strcpy(big + 8 + WSD_CFGFILE_LINE_MAX - 4, "\r\nb=2\n");
    r = parse(big);
    is_int(r.rc, 0, "... with CRLF: fine");
    free(r.log);
    strcpy(big + 8 + WSD_CFGFILE_LINE_MAX - 4, "v\nb=2\n");
    r = parse(big);
    is_int(r.rc, -1, "a line of 8193 bytes: refused");
    is_int(r.line, 2, "  its line");
    is_str(r.err, "line longer than 8192 bytes", "  says why");
    ok(strstr(r.log, "k=") == NULL, "  its cut value never reached the callback");
    free(r.log);
    free(big);

    r = parse_n("a=1\nb=2\nc=3\n", 12, "b");
    is_int(r.rc, -1, "the callback refuses: refused");
    is_int(r.line, 2, "  on its line");
    is_str(r.err, "b: refused here", "  with its words");
    is_str(r.log, "1 a=1\n2 b=2\n", "  and nothing after it reaches the callback");
    free(r.log);
    r = parse_n("x\na=1\nb=2\n", 10, "b");
    is_int(r.line, 1, "a syntax error before the callback's: the first one");
    free(r.log);
}

/* Every prefix of a file parses or is refused with a line inside it. */
static void test_prefixes(void)
{
    static const char text[] =
        "# wsd\nport = 8080\naddress = 127.0.0.1\n\n[route /chat]\ncommand = chat.py\n"
        "shared = true\n[route /time]\ncommand = date\narg = +%T\n";
    size_t n, bad = 0;

    for (n = 0; n <= sizeof text - 1; n++) {
        result r = parse_n(text, n, NULL);
        size_t lines = 1, i;
        for (i = 0; i < n; i++)
            lines += text[i] == '\n';
        if ((r.rc != 0 && r.rc != -1) || (r.rc == -1 && (r.line < 1 || (size_t)r.line > lines)))
            bad++;
        free(r.log);
    }
    is_int(bad, 0, "every prefix: parsed, or refused on one of its lines");
}

static void test_route_paths(void)
{
    static const char *const good[] = {"/", "/a", "/chat", "/a/b/c", "/a-b_c.d~e", "/x.sh",
                                       "/.well-known", "/a..b", "/a/...", NULL};
    static const char *const bad[] = {"", "a", "/a/", "//", "/a//b", "/.", "/..", "/a/./b",
                                      "/a/..", "/a?x", "/a#x", "/a%20b", "/a b", "/a\tb",
                                      "/a\"b", "/a'b", "/a\\b", "/\xc3\xa9", NULL};
    size_t i;

    for (i = 0; good[i]; i++)
        ok(wsd_cfgfile_route_path(good[i]) == NULL, "route path \"%s\" is good", good[i]);
    for (i = 0; bad[i]; i++)
        ok(wsd_cfgfile_route_path(bad[i]) != NULL, "route path \"%s\" is refused", bad[i]);
}

/* The raw pass sees what ini_parse_string would (the fuzz harness checks
 * this on arbitrary input; here on a few). */
static int count_cb(void *user, const char *section, const char *name, const char *value,
                    int line)
{
    (void)section;
    (void)name;
    (void)value;
    (void)line;
    ++*(int *)user;
    return 1;
}

static void test_raw(void)
{
    int n = 0, line = 0, rc;

    rc = wsd_cfgfile_ini("a=1\n[s]\nb=2\nbad\nc=3\n", 20, count_cb, &n, &line);
    is_int(rc, 4, "raw: inih's first bad line");
    is_int(n, 3, "raw: every setting seen, also after it");
    n = 0;
    rc = wsd_cfgfile_ini("a=1\0\n", 5, count_cb, &n, &line);
    is_int(rc, -1, "raw: a NUL byte");
    is_int(line, 1, "raw: on its line");
}

int main(void)
{
    test_settings();
    test_errors();
    test_prefixes();
    test_route_paths();
    test_raw();
    return done_testing();
}
