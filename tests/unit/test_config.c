/* test_config.c — the command line, against what Debian's websocketd 0.4.1
 * was observed to print (its name replaced by "wsd"). */
#include "config.h"
#include "harness.h"
#include "log.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Observed: websocketd's ShortHelp (stderr after most errors). */
static const char SHORT[] =
    "\n"
    "Usage:\n"
    "\n"
    "  Export a single executable program a WebSocket server:\n"
    "    wsd [options] COMMAND [command args]\n"
    "\n"
    "  Or, export an entire directory of executables as WebSocket endpoints:\n"
    "    wsd [options] --dir=SOMEDIR\n"
    "\n"
    "  Or, show extended help message using:\n"
    "    wsd --help\n";

typedef struct {
    int rc;
    char *out, *err;
    wsd_config c;
} result;

static void res_free(result *r)
{
    free(r->out);
    free(r->err);
    wsd_config_free(&r->c);
}

/* Runs wsd_config_parse on {"wsd", args...}. */
static result run_v(const char *const *args)
{
    result r;
    char *argv[64];
    int argc = 0;
    size_t ol, el;
    FILE *o, *e;

    argv[argc++] = (char *)"wsd";
    while (*args && argc < 63)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    memset(&r, 0, sizeof r);
    o = open_memstream(&r.out, &ol);
    e = open_memstream(&r.err, &el);
    r.rc = wsd_config_parse(&r.c, argc, argv, o, e);
    fclose(o);
    fclose(e);
    return r;
}
#define RUN(...) run_v((const char *const[]){__VA_ARGS__, NULL})
#define RUN0() run_v((const char *const[]){NULL})

static int starts_with(const char *s, const char *p)
{
    return s && strncmp(s, p, strlen(p)) == 0;
}

static int ends_with(const char *s, const char *p)
{
    size_t a = s ? strlen(s) : 0, b = strlen(p);
    return s && a >= b && strcmp(s + a - b, p) == 0;
}

/* A Go flag error: the message, the flag list, the short usage; exit 2. */
static void check_flag_error(const char *const *args, const char *msg)
{
    result r = run_v(args);
    char want[512];
    snprintf(want, sizeof want, "%s\nUsage of wsd:\n  -address value\n", msg);
    is_int(r.rc, 2, "exit 2: %s", msg);
    is_str(r.out, "", "  nothing on stdout");
    if (!ok(starts_with(r.err, want), "  stderr starts with the message and flag list"))
        printf("#   got: %.200s\n", r.err);
    ok(ends_with(r.err, SHORT), "  stderr ends with the short usage");
    res_free(&r);
}
#define FLAG_ERROR(msg, ...) check_flag_error((const char *const[]){__VA_ARGS__, NULL}, msg)

/* A websocketd configuration error: message (on `out` or `err`), maybe the
 * short usage; exit 1. */
static void check_cfg_error(const char *const *args, const char *out, const char *err)
{
    result r = run_v(args);
    const char *m = *out ? out : err;
    is_int(r.rc, 1, "exit 1: %.*s", (int)strcspn(m, "\n"), m);
    is_str(r.out, out, "  stdout");
    is_str(r.err, err, "  stderr");
    res_free(&r);
}
#define CFG_ERROR(out, err, ...) check_cfg_error((const char *const[]){__VA_ARGS__, NULL}, out, err)

static char tmpdir[256];
static char *catpath(const char *a, const char *b)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 512, "%s/%s", a, b);
    return p;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static void test_no_args_and_help(void)
{
    result r = RUN0();
    is_int(r.rc, 1, "no arguments: exit 1");
    is_str(r.out, "Command line arguments are missing.\n", "no arguments: stdout");
    is_str(r.err, SHORT, "no arguments: short usage on stderr");
    res_free(&r);

    {
        static const char *const spell[] = {"--help", "-help", "-h", "--h", "--help=false", "-h=x"};
        size_t i;
        for (i = 0; i < sizeof spell / sizeof *spell; i++) {
            r = RUN(spell[i]);
            is_int(r.rc, 0, "%s: exit 0", spell[i]);
            is_str(r.out, "", "%s: nothing on stdout", spell[i]);
            ok(starts_with(r.err, "Usage of wsd:\n  -address value\n    \tInterfaces to bind to"),
               "%s: Go flag list first, on stderr", spell[i]);
            res_free(&r);
        }
    }
    /* help after other flags; flags after it are not looked at */
    r = RUN("--port=1", "--help", "--bogus");
    is_int(r.rc, 0, "--port=1 --help --bogus: exit 0");
    res_free(&r);

    r = RUN("--help");
    {
        static const char *const want[] = {
            "  -address value\n", "  -binary\n", "  -cgidir string\n", "  -closems uint\n",
            "  -devconsole\n", "  -dir string\n", "  -header value\n", "  -header-http value\n",
            "  -header-ws value\n", "  -license\n", "  -loglevel string\n",
            "\tLog level, one of: debug, trace, access, info, error, fatal (default \"access\")\n",
            "  -maxforks int\n", "(default: as many as the open-files limit allows)\n", "  -maxframesize uint\n",
            " (default 1048576)\n", "  -origin string\n", "  -passenv string\n",
            "(default \"PATH,LD_LIBRARY_PATH\")\n", "  -passstderr\n", "  -pingms uint\n",
            "  -port int\n", "  -redirport int\n", "  -reverselookup\n", "  -sameorigin\n",
            "  -ssl\n", "  -sslca string\n", "  -sslcert string\n", "  -sslkey string\n",
            "  -staticdir string\n", "  -unixsocket string\n", "  -version\n",
            "\nwsd " WSD_VERSION "\n\nwsd is a command line tool",
            "--unixsocket=PATH", "--sslca=FILE", "--pingms=", "--maxframesize=",
            "--passstderr", "Default: as many as the open-files limit", "Default: 1048576", "Default: PATH,LD_LIBRARY_PATH",
            "\n  --workers=N ", "\n  --lossless=", "\n  --subprotocols=", "\n  --deflate=",
            "\n  --deflatebits=N ", "\n  --deflatemem=N ", "HTTP port to listen on, 0 to 65535.",
            "wsd --license", "\n  --linebuffered=", "\n  --pty=", "  -linebuffered\n",
            "  -pty\n",
        };
        size_t i;
        for (i = 0; i < sizeof want / sizeof *want; i++)
            {
            const char *w = want[i] + strspn(want[i], "\n\t ");
            ok(r.err && strstr(r.err, want[i]) != NULL, "--help mentions %.*s",
               (int)strcspn(w, "\n"), w);
        }
    }
    /* the flag list is sorted by name, as Go prints it */
    {
        const char *p = r.err;
        char name[64], prev[64] = "";
        int sorted = 1, count = 0;
        while (p && (p = strstr(p, "\n  -")) != NULL) {
            size_t n;
            p += 4;
            n = strcspn(p, " \n");
            if (n >= sizeof name)
                n = sizeof name - 1;
            memcpy(name, p, n);
            name[n] = '\0';
            if (count && strcmp(prev, name) >= 0)
                sorted = 0;
            memcpy(prev, name, n + 1);
            count++;
            if (strcmp(name, "workers") == 0)
                break;
        }
        ok(sorted, "flag list sorted by name");
        is_int(count, 70, "70 flags listed");
    }
    ok(ends_with(r.err, "BSD 2-Clause license: Run 'wsd --license' for details.\n"),
       "--help ends with the licence hint");
    ok(r.err && !strstr(r.err, "not supported"), "--help: no flag is \"not supported\"");
    res_free(&r);
}

static void test_version_license(void)
{
    result r;

    wsd_build_info = NULL;
    r = RUN("--version");
    is_int(r.rc, 0, "--version: exit 0");
    is_str(r.out, "wsd " WSD_VERSION "\n", "--version without build info");
    is_str(r.err, "", "--version: nothing on stderr");
    res_free(&r);

    wsd_build_info = "libuv 1.2.3, OpenSSL x";
    r = RUN("-version");
    is_str(r.out, "wsd " WSD_VERSION " (libuv 1.2.3, OpenSSL x)\n", "-version with build info");
    res_free(&r);
    wsd_build_info = NULL;

    r = RUN("--license");
    is_int(r.rc, 0, "--license: exit 0");
    ok(starts_with(r.out, "wsd " WSD_VERSION "\nCopyright 2026 the wsd authors.\n"),
       "--license: version line then copyright");
    ok(r.out && strstr(r.out, "Redistributions in binary form must reproduce") != NULL,
       "--license: BSD-2-Clause text");
    res_free(&r);

    /* observed: --version wins over later checks, but --loglevel comes first */
    r = RUN("--version", "--ssl", "--dir=/nonexistent");
    is_int(r.rc, 0, "--version --ssl --dir=...: exit 0");
    res_free(&r);
    r = RUN("--version=false", "--license=1");
    is_int(r.rc, 0, "--version=false --license=1: license");
    ok(r.out && strstr(r.out, "Copyright") != NULL, "  licence printed");
    res_free(&r);
    CFG_ERROR("Incorrect loglevel flag 'x'. Use --help to see allowed values.\n", SHORT,
              "--loglevel=x", "--version");
}

static void test_flag_errors(void)
{
    FLAG_ERROR("flag provided but not defined: -bogus", "--bogus");
    FLAG_ERROR("flag provided but not defined: -x", "-x");
    FLAG_ERROR("flag provided but not defined: -addres", "--addres=1");
    FLAG_ERROR("flag provided but not defined: -Port", "--Port=1");
    FLAG_ERROR("flag provided but not defined: -bogus", "--port=1", "-bogus=a=b", "cat");
    FLAG_ERROR("bad flag syntax: ---x", "---x");
    FLAG_ERROR("bad flag syntax: -=x", "-=x");
    FLAG_ERROR("bad flag syntax: --=x", "--=x");
    FLAG_ERROR("flag needs an argument: -port", "--port");
    FLAG_ERROR("flag needs an argument: -address", "--port=1", "--address");
    FLAG_ERROR("invalid value \"x\" for flag -port: parse error", "--port=x");
    FLAG_ERROR("invalid value \"\" for flag -port: parse error", "--port=");
    FLAG_ERROR("invalid value \"abc\" for flag -port: parse error", "-port", "abc");
    FLAG_ERROR("invalid value \"99999999999999999999\" for flag -port: value out of range",
               "--port=99999999999999999999");
    FLAG_ERROR("invalid value \"-1\" for flag -closems: parse error", "--closems=-1");
    FLAG_ERROR("invalid boolean value \"x\" for -ssl: parse error", "--ssl=x");
    FLAG_ERROR("invalid boolean value \"yes\" for -ssl: parse error", "--ssl=yes");
    FLAG_ERROR("invalid boolean value \"\" for -binary: parse error", "--binary=");
    FLAG_ERROR("invalid value \"0x\" for flag -port: parse error", "--port", "0x", "--", "x");
    FLAG_ERROR("invalid value \"0b\" for flag -port: parse error", "-port=0b");
    FLAG_ERROR("invalid value \"1_\" for flag -maxforks: parse error", "--maxforks=1_");
    /* %q quoting of the value, as Go's strconv.Quote (observed) */
    FLAG_ERROR("invalid value \"\\xff\\x01\\n\\\"\\\\\xc3\xa9\\u00a0\" for flag -port: parse error",
               "--port=\xff\x01\n\"\\\xc3\xa9\xc2\xa0");
    /* a flag error wins over a later bad flag and over missing arguments */
    FLAG_ERROR("flag provided but not defined: -a", "--ssl", "-a", "-b");
}

/* Every numeric flag: the bounds accepted, one past each refused with
 * Go's "invalid value" line naming the range, exit 2. */
static void test_ranges(void)
{
    static const struct {
        const char *flag;
        const char *lo, *hi;          /* accepted bounds (NULL: the type's) */
        const char *below, *above;    /* refused (NULL: none) */
        const char *why;
    } t[] = {
        {"port", "0", "65535", "-1", "65536",
         "invalid port, must be 0 to 65535 (0: 80, or 443 with --ssl)"},
        {"redirport", "0", "65535", "-1", "70000", "invalid port, must be 0 to 65535 (0: none)"},
        {"maxforks", "-9223372036854775808", "2147483647", NULL, "2147483648",
         "must be at most 2147483647 (0 or less: unlimited)"},
        {"maxframesize", "0", "9223372036854775807", NULL, "18446744073709551615",
         "must be at most 9223372036854775807, the largest WebSocket length (0: unlimited)"},
        {"closems", "0", "2147483647", NULL, "4294967296", "must be 0 to 2147483647 milliseconds"},
        {"pingms", "0", "2147483647", NULL, "2147483648",
         "must be 0 to 2147483647 milliseconds (0: no pings)"},
        {"workers", "1", "256", "0", "257", "must be 1 to 256"},
        {"deflatebits", "9", "15", "8", "16", "must be 9 to 15"},
        {"deflatemem", "1", "9", "0", "10", "must be 1 to 9"},
        {"authtimeout", "1", "600000", "0", "600001", "must be 1 to 600000 milliseconds"},
        {"maxperip", "0", "1000000", NULL, "1000001", "must be 0 to 1000000 (0: no limit)"},
        {"ratelimit", "0", "1000000", NULL, "1000001", "must be 0 to 1000000 (0: no limit)"},
        {"rateburst", "1", "10000", "0", "10001", "must be 1 to 10000"},
    };
    size_t i;
    char arg[128], msg[512];

    for (i = 0; i < sizeof t / sizeof *t; i++) {
        const char *v[2] = {t[i].lo, t[i].hi}, *bad[2] = {t[i].below, t[i].above};
        int k;
        for (k = 0; k < 2; k++) {
            result r;
            snprintf(arg, sizeof arg, "--%s=%s", t[i].flag, v[k]);
            r = RUN(arg, "/bin/sh");
            is_int(r.rc, -1, "%s accepted", arg);
            res_free(&r);
            if (!bad[k])
                continue;
            snprintf(arg, sizeof arg, "--%s=%s", t[i].flag, bad[k]);
            snprintf(msg, sizeof msg, "invalid value \"%s\" for flag -%s: %s", bad[k], t[i].flag,
                     t[i].why);
            FLAG_ERROR(msg, arg, "/bin/sh");
        }
    }
    /* the values that reach the server */
    {
        result r = RUN("--port=65535", "--redirport=1", "--workers=256", "--deflatebits=9",
                       "--deflatemem=9", "--pingms=2147483647", "/bin/sh");
        is_int(r.c.port, 65535, "--port=65535");
        is_int(r.c.redirport, 1, "--redirport=1");
        is_int(r.c.workers, 256, "--workers=256");
        is_int(r.c.deflatebits, 9, "--deflatebits=9");
        is_int(r.c.deflatemem, 9, "--deflatemem=9");
        is_int(r.c.pingms, 2147483647, "--pingms=2^31-1");
        res_free(&r);
        r = RUN("--port=0", "--ssl", "--sslcert=c", "--sslkey=k", "/bin/sh");
        is_int(r.c.port, 443, "--port=0 with --ssl: 443");
        res_free(&r);
    }
    /* checked as parsed, in argv order, as Go: the first bad value decides */
    FLAG_ERROR("invalid value \"0\" for flag -workers: must be 1 to 256", "--workers=0",
               "--port=x", "/bin/sh");
}

static void test_ints(void)
{
    static const struct { const char *s; long long v; } good[] = {
        {"0", 0}, {"8080", 8080}, {"+5", 5}, {"-5", -5}, {"0x10", 16}, {"0X1f", 31},
        {"0o17", 15}, {"0O17", 15}, {"0b101", 5}, {"0B11", 3}, {"017", 15}, {"00", 0},
        {"1_000", 1000}, {"0x_1f", 31}, {"0_7", 7}, {"0b1_0", 2}, {"-0x10", -16},
        {"2147483647", 2147483647}, {"0x7fffffff", 2147483647},
        {"-9223372036854775808", INT64_MIN},
    };
    static const struct { const char *s; const char *why; } bad[] = {
        {"", "parse error"}, {"+", "parse error"}, {"-", "parse error"}, {"--1", "parse error"},
        {"08", "parse error"}, {"0x", "parse error"}, {"0xg", "parse error"}, {"1__0", "parse error"},
        {"_1", "parse error"}, {"1_", "parse error"}, {"0_", "parse error"}, {"0x1_", "parse error"},
        {" 1", "parse error"}, {"1 ", "parse error"}, {"1e3", "parse error"}, {"0b2", "parse error"},
        {"9223372036854775808", "value out of range"}, {"-9223372036854775809", "value out of range"},
        {"2147483648", "must be at most 2147483647 (0 or less: unlimited)"},
        {"9223372036854775807", "must be at most 2147483647 (0 or less: unlimited)"},
        {"99999999999999999999x", "value out of range"}, {"0x10000000000000000", "value out of range"},
    };
    size_t i;
    char arg[128], msg[256];

    for (i = 0; i < sizeof good / sizeof *good; i++) {
        result r;
        snprintf(arg, sizeof arg, "--maxforks=%s", good[i].s);
        r = RUN(arg, "/bin/sh");
        is_int(r.rc, -1, "%s accepted", arg);
        is_int(r.c.maxforks, good[i].v, "%s value", arg);
        res_free(&r);
    }
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(arg, sizeof arg, "--maxforks=%s", bad[i].s);
        snprintf(msg, sizeof msg, "invalid value \"%s\" for flag -maxforks: %s", bad[i].s, bad[i].why);
        FLAG_ERROR(msg, arg, "/bin/sh");
    }
    /* uint: --closems */
    {
        result r = RUN("--closems=2147483647", "/bin/sh");
        is_int(r.rc, -1, "closems 2^31-1 accepted");
        ok(r.c.closems == 2147483647UL, "closems = 2^31-1");
        res_free(&r);
        r = RUN("--closems", "0x3e8", "/bin/sh");
        is_int(r.c.closems, 1000, "--closems 0x3e8 = 1000");
        res_free(&r);
        r = RUN("--closems=+1", "/bin/sh");
        is_int(r.rc, 2, "--closems=+1 refused (ParseUint has no sign)");
        res_free(&r);
    }
    FLAG_ERROR("invalid value \"18446744073709551616\" for flag -closems: value out of range",
               "--closems=18446744073709551616");
    FLAG_ERROR("invalid value \"18446744073709551615\" for flag -closems: must be 0 to 2147483647 "
               "milliseconds", "--closems=18446744073709551615");
    FLAG_ERROR("invalid value \"2147483648\" for flag -closems: must be 0 to 2147483647 "
               "milliseconds", "--closems=2147483648");
    /* maxframesize: uint64, default 1 MiB, 0 = unlimited */
    {
        result r = RUN("/bin/sh");
        ok(r.c.maxframesize == 1048576, "maxframesize default 1048576");
        res_free(&r);
        r = RUN("--maxframesize=0", "/bin/sh");
        ok(r.rc == -1 && r.c.maxframesize == 0, "--maxframesize=0");
        res_free(&r);
        r = RUN("--maxframesize", "0x10000000", "/bin/sh");
        ok(r.c.maxframesize == 0x10000000, "--maxframesize 0x10000000");
        res_free(&r);
    }
    FLAG_ERROR("invalid value \"-1\" for flag -maxframesize: parse error", "--maxframesize=-1");
    {
        result r = RUN("--maxframesize=9223372036854775807", "/bin/sh");
        ok(r.rc == -1 && r.c.maxframesize == INT64_MAX, "--maxframesize=2^63-1 accepted");
        res_free(&r);
    }
    FLAG_ERROR("invalid value \"9223372036854775808\" for flag -maxframesize: must be at most "
               "9223372036854775807, the largest WebSocket length (0: unlimited)",
               "--maxframesize=9223372036854775808");
    test_ranges();
}

static void test_bools(void)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    char arg[64];
    size_t i;
    result r;

    for (i = 0; i < 6; i++) {
        snprintf(arg, sizeof arg, "--binary=%s", t[i]);
        r = RUN(arg, "/bin/sh");
        ok(r.rc == -1 && r.c.binary == 1, "%s → true", arg);
        res_free(&r);
        snprintf(arg, sizeof arg, "-binary=%s", f[i]);
        r = RUN("--binary", arg, "/bin/sh");
        ok(r.rc == -1 && r.c.binary == 0, "--binary %s → false", arg);
        res_free(&r);
    }
    r = RUN("-binary", "/bin/sh");
    ok(r.rc == -1 && r.c.binary == 1, "-binary bare → true");
    res_free(&r);
    /* a bool never takes the next argument: "true" is the COMMAND */
    r = RUN("--binary", "true", "x");
    is_int(r.rc, -1, "--binary true x: runs");
    ok(r.c.binary == 1, "  binary on");
    is_str(r.c.command, "true", "  COMMAND is true");
    ok(r.c.command_path && r.c.command_path[0] == '/' && ends_with(r.c.command_path, "/true"),
       "  resolved through PATH (%s)", r.c.command_path ? r.c.command_path : "null");
    is_int(r.c.argc, 2, "  argc 2");
    is_str(r.c.argv[1], "x", "  argv[1]");
    ok(r.c.argv[2] == NULL, "  argv NULL-terminated");
    res_free(&r);
}

static void test_spellings_and_stop(void)
{
    result r;

    r = RUN("-port=1", "--address=127.0.0.1", "-address", "[::1]", "--loglevel", "debug",
            "--closems=5", "--passenv", "FOO", "/bin/sh", "-c", "--port=9");
    is_int(r.rc, -1, "mixed spellings run");
    is_int(r.c.port, 1, "-port=1");
    is_int((long)r.c.naddresses, 2, "--address accumulates");
    is_str(r.c.addresses[0], "127.0.0.1", "address 0");
    is_str(r.c.addresses[1], "[::1]", "address 1 as given");
    is_int(r.c.loglevel, WSD_LOG_DEBUG, "--loglevel debug");
    is_int(r.c.closems, 5, "--closems=5");
    is_int((long)r.c.npassenv, 1, "--passenv replaces the default list");
    is_str(r.c.passenv[0], "FOO", "passenv name");
    is_str(r.c.command, "/bin/sh", "COMMAND");
    is_str(r.c.command_path, "/bin/sh", "name with '/' used as is");
    is_int(r.c.argc, 3, "argc counts COMMAND and its args");
    is_str(r.c.argv[0], "/bin/sh", "argv[0] = resolved path");
    is_str(r.c.argv[1], "-c", "flags after COMMAND go to it");
    is_str(r.c.argv[2], "--port=9", "  all of them");
    res_free(&r);

    r = RUN("--port=1", "--port", "2", "-port=3", "/bin/sh");
    is_int(r.c.port, 3, "last --port wins");
    res_free(&r);

    r = RUN("--port=1", "--", "--version");
    is_int(r.rc, 1, "-- ends the flags: --version is a COMMAND");
    is_str(r.err, "Unable to locate specified COMMAND '--version' in OS path.\n" "\n" "Usage:\n"
           "\n" "  Export a single executable program a WebSocket server:\n"
           "    wsd [options] COMMAND [command args]\n" "\n"
           "  Or, export an entire directory of executables as WebSocket endpoints:\n"
           "    wsd [options] --dir=SOMEDIR\n" "\n" "  Or, show extended help message using:\n"
           "    wsd --help\n", "  observed message");
    res_free(&r);

    CFG_ERROR("", "Unable to locate specified COMMAND '-' in OS path.\n" "\n" "Usage:\n" "\n"
              "  Export a single executable program a WebSocket server:\n"
              "    wsd [options] COMMAND [command args]\n" "\n"
              "  Or, export an entire directory of executables as WebSocket endpoints:\n"
              "    wsd [options] --dir=SOMEDIR\n" "\n" "  Or, show extended help message using:\n"
              "    wsd --help\n", "--port=1", "-");

    r = RUN("--", "/bin/sh", "--", "x");
    is_int(r.rc, -1, "-- then COMMAND");
    is_int(r.c.argc, 3, "  a second -- goes to COMMAND");
    is_str(r.c.argv[1], "--", "  argv[1] = --");
    res_free(&r);

    r = RUN("--header", "X-A: 1", "--header-ws=X-B: 2", "-header-http", "X-C: 3",
            "--header=X-D: 4", "/bin/sh");
    is_int((long)r.c.headers.n, 2, "--header accumulates");
    is_int((long)r.c.headers_ws.n, 1, "--header-ws");
    is_int((long)r.c.headers_http.n, 1, "--header-http");
    is_str(r.c.headers.v[1].name, "X-D", "  order kept");
    res_free(&r);

    /* the next argument is a value even when it looks like a flag */
    r = RUN("--loglevel", "--port=1", "/bin/sh");
    is_int(r.rc, 1, "--loglevel --port=1: value taken");
    is_str(r.out, "Incorrect loglevel flag '--port=1'. Use --help to see allowed values.\n",
           "  observed wording");
    is_str(r.err, SHORT, "  short usage on stderr");
    res_free(&r);

    /* an '=' in the value */
    r = RUN("--origin=a=b", "--port=1", "/bin/sh");
    is_int(r.rc, -1, "--origin=a=b parses");
    is_str(r.c.origin, "a=b", "  value after the first '='");
    res_free(&r);
}

static void test_defaults(void)
{
    result r = RUN("/bin/sh");
    is_int(r.rc, -1, "COMMAND only: runs");
    is_int(r.c.port, 80, "port default 80");
    is_int((long)r.c.naddresses, 0, "no addresses");
    is_int(r.c.maxforks_auto, 1, "maxforks not given: derived from the open-files limit");
    is_int(r.c.loglevel, WSD_LOG_ACCESS, "loglevel default access");
    is_int(r.c.closems, 0, "closems 0");
    is_int(r.c.pingms, 0, "pingms 0");
    is_int(r.c.binary, 0, "binary off");
    is_int((long)r.c.npassenv, 2, "passenv default 2 names");
    is_str(r.c.passenv[0], "PATH", "  PATH");
    is_str(r.c.passenv[1], "LD_LIBRARY_PATH", "  LD_LIBRARY_PATH");
    ok(r.c.sslcert == NULL && r.c.dir == NULL && r.c.staticdir == NULL && r.c.origin == NULL &&
       r.c.unixsocket == NULL, "unset strings are NULL");
    res_free(&r);

    r = RUN("--maxforks=0", "--loglevel=none", "/bin/sh");
    is_int(r.c.maxforks, 0, "--maxforks=0 kept (unlimited)");
    is_int(r.c.maxforks_auto, 0, "--maxforks given: not derived");
    is_int(r.c.loglevel, WSD_LOG_NONE, "--loglevel=none");
    res_free(&r);
    r = RUN("--maxforks=-3", "/bin/sh");
    is_int(r.c.maxforks, -3, "--maxforks=-3 kept (unlimited)");
    res_free(&r);

    /* parse into the same struct again after free */
    {
        wsd_config c;
        char *argv[] = {(char *)"wsd", (char *)"--port=5", (char *)"/bin/sh", NULL};
        FILE *devnull = fopen("/dev/null", "w");
        int i, good = 1;
        for (i = 0; i < 3; i++) {
            if (wsd_config_parse(&c, 3, argv, devnull, devnull) != -1 || c.port != 5)
                good = 0;
            wsd_config_free(&c);
        }
        wsd_config_free(&c);    /* harmless on a freed struct */
        ok(good, "parse/free/parse again");
        fclose(devnull);
    }
}

static void test_loglevels(void)
{
    static const char *const names[] = {"debug", "trace", "access", "info", "error", "fatal", "none"};
    size_t i;
    char arg[64];
    for (i = 0; i < 7; i++) {
        result r;
        snprintf(arg, sizeof arg, "--loglevel=%s", names[i]);
        r = RUN(arg, "/bin/sh");
        is_int(r.c.loglevel, (long)i, "%s", arg);
        res_free(&r);
    }
    CFG_ERROR("Incorrect loglevel flag 'INFO'. Use --help to see allowed values.\n", SHORT,
              "--loglevel=INFO", "/bin/sh");
    CFG_ERROR("Incorrect loglevel flag ''. Use --help to see allowed values.\n", SHORT,
              "--loglevel=", "/bin/sh");
}

static void test_config_errors(void)
{
    static const char *const E_SPECIFY =
        "Please specify COMMAND or provide --dir, --staticdir or --cgidir argument.\n";
    char buf[1024], dirarg[512], filearg[512];

    snprintf(buf, sizeof buf, "%s%s", E_SPECIFY, SHORT);
    CFG_ERROR("", buf, "--port=8080");
    CFG_ERROR("", buf, "--");
    CFG_ERROR("", buf, "--binary", "--");

    CFG_ERROR("", "Please specify both --sslcert and --sslkey when requesting --ssl.\n",
              "--ssl", "--port=1", "cat");
    CFG_ERROR("", "Please specify both --sslcert and --sslkey when requesting --ssl.\n",
              "--sslcert=x", "--ssl");
    CFG_ERROR("", "Please specify both --sslcert and --sslkey when requesting --ssl.\n",
              "--sslcert=x", "--sslkey=", "--ssl", "/bin/sh");
    CFG_ERROR("", "You should not be using --ssl* flags when there is no --ssl option.\n",
              "--sslkey=x", "--port=1", "cat");
    CFG_ERROR("", "You should not be using --ssl* flags when there is no --ssl option.\n",
              "--ssl=false", "--sslcert=x", "--sslkey=y", "cat");
    CFG_ERROR("", "You should not be using --ssl* flags when there is no --ssl option.\n",
              "--sslca=ca.pem", "/bin/sh");
    /* ssl checks come before COMMAND checks (observed) */
    CFG_ERROR("", "Please specify both --sslcert and --sslkey when requesting --ssl.\n",
              "--ssl", "/nonexistent/x");
    CFG_ERROR("", "Please only specify one of --binary and --passstderr.\n",
              "--binary", "--passstderr", "/bin/sh");

    snprintf(buf, sizeof buf, "Ambiguous. Provided COMMAND and --dir argument. Please only specify just one.\n%s", SHORT);
    snprintf(dirarg, sizeof dirarg, "--dir=%s", tmpdir);
    CFG_ERROR("", buf, dirarg, "cat");
    snprintf(buf, sizeof buf, "Ambiguous. Provided COMMAND and --dir argument. Please only specify just one.\n%s", SHORT);
    CFG_ERROR("", buf, "--dir=/nonexistent", "/nonexistent");   /* before LookPath */

    snprintf(buf, sizeof buf, "Could not find your script dir 'nonexist'.\n%s", SHORT);
    CFG_ERROR("", buf, "--dir=nonexist");
    snprintf(buf, sizeof buf, "Did you mean to specify COMMAND instead of --dir '%s'?\n%s",
             catpath(tmpdir, "run.sh"), SHORT);
    snprintf(filearg, sizeof filearg, "--dir=%s", catpath(tmpdir, "run.sh"));
    CFG_ERROR("", buf, filearg);
    snprintf(buf, sizeof buf, "Your static dir 'nope' is not pointing to an accessible directory.\n%s", SHORT);
    CFG_ERROR("", buf, dirarg, "--staticdir=nope");
    snprintf(buf, sizeof buf, "Your CGI dir 'nope2' is not pointing to an accessible directory.\n%s", SHORT);
    CFG_ERROR("", buf, "--staticdir=nope", "--cgidir=nope2");
    snprintf(buf, sizeof buf, "Your CGI dir '%s' is not pointing to an accessible directory.\n%s",
             catpath(tmpdir, "run.sh"), SHORT);
    snprintf(filearg, sizeof filearg, "--cgidir=%s", catpath(tmpdir, "run.sh"));
    CFG_ERROR("", buf, filearg);
    /* --dir is checked before the static dir; COMMAND before --dir */
    snprintf(buf, sizeof buf, "Could not find your script dir 'nonexist'.\n%s", SHORT);
    CFG_ERROR("", buf, "--dir=nonexist", "--staticdir=nope");

    /* --devconsole with --staticdir/--cgidir: websocketd's FATAL log line, exit 4 */
    {
        char sarg[512];
        result r;
        snprintf(sarg, sizeof sarg, "--staticdir=%s", tmpdir);
        r = RUN("--devconsole", sarg);
        is_int(r.rc, 4, "--devconsole --staticdir: exit 4");
        ok(r.out && strstr(r.out, " | FATAL  | server     |  | Invalid parameters: --devconsole "
                                  "cannot be used with --staticdir. Pick one.\n") != NULL,
           "  FATAL line on stdout");
        is_str(r.err, "", "  nothing on stderr");
        res_free(&r);
        snprintf(sarg, sizeof sarg, "--cgidir=%s", tmpdir);
        r = RUN("--devconsole", sarg, "--loglevel=error");
        is_int(r.rc, 4, "--devconsole --cgidir: exit 4");
        ok(r.out && strstr(r.out, "Invalid parameters: --devconsole cannot be used with --cgidir. Pick one.\n"),
           "  FATAL line names --cgidir");
        res_free(&r);
        r = RUN("--devconsole", sarg, "--loglevel=none");
        is_int(r.rc, 4, "--loglevel=none: exit 4");
        is_str(r.out, "", "  but silent");
        res_free(&r);
    }
}

static void test_lookpath(void)
{
    char *oldpath = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    char path[1024], here[512];
    result r;

    /* tmpdir has run.sh (0755), data.txt (0644), sub/ (dir), sub/x.sh */
    setenv("PATH", tmpdir, 1);
    r = RUN("run.sh", "a");
    is_int(r.rc, -1, "executable found in PATH");
    is_str(r.c.command, "run.sh", "  command as given");
    is_str(r.c.command_path, catpath(tmpdir, "run.sh"), "  command_path = dir/name");
    is_str(r.c.argv[0], catpath(tmpdir, "run.sh"), "  argv[0] = command_path");
    res_free(&r);

    {
        /* found, but without an execute bit: said so (websocketd: "Unable
         * to locate") */
        char want[1024];
        snprintf(want, sizeof want, "COMMAND 'data.txt' found in OS path as '%s', but it is not "
                 "executable (permission denied).\n%s", catpath(tmpdir, "data.txt"), SHORT);
        CFG_ERROR("", want, "data.txt");
    }
    r = RUN("sub");
    is_int(r.rc, 1, "a directory is not a COMMAND");
    ok(starts_with(r.err, "Unable to locate specified COMMAND 'sub' in OS path.\n"),
       "  a directory in PATH: not found, as Go");
    res_free(&r);
    {
        /* a later executable of the same name wins over an earlier
         * non-executable one, as Go */
        char dir2[512];
        snprintf(path, sizeof path, "%s:%s", tmpdir, catpath(tmpdir, "sub"));
        snprintf(dir2, sizeof dir2, "%s", catpath(tmpdir, "sub/data.txt"));
        write_file(dir2, "#!/bin/sh\n", 0755);
        setenv("PATH", path, 1);
        r = RUN("data.txt");
        is_int(r.rc, -1, "a non-executable then an executable data.txt: found");
        is_str(r.c.command_path, dir2, "  the executable one");
        res_free(&r);
        unlink(dir2);
        setenv("PATH", tmpdir, 1);
    }
    r = RUN("");
    is_int(r.rc, 1, "empty COMMAND not found");
    ok(starts_with(r.err, "Unable to locate specified COMMAND '' in OS path.\n"), "  message");
    res_free(&r);

    /* PATH elements are cleaned (filepath.Join) and searched in order */
    snprintf(path, sizeof path, "/nonexistent:%s//sub/..//", tmpdir);
    setenv("PATH", path, 1);
    r = RUN("run.sh");
    is_str(r.c.command_path, catpath(tmpdir, "run.sh"), "PATH element cleaned");
    res_free(&r);

    /* names with '/' bypass PATH: used as is if executable */
    setenv("PATH", "/nonexistent", 1);
    r = RUN(catpath(tmpdir, "sub//x.sh"));
    is_int(r.rc, -1, "absolute name with '/' used as is");
    is_str(r.c.command_path, catpath(tmpdir, "sub//x.sh"), "  not cleaned");
    res_free(&r);
    r = RUN(catpath(tmpdir, "data.txt"));
    is_int(r.rc, 1, "non-executable name with '/' refused");
    {
        char want[1024];
        snprintf(want, sizeof want, "COMMAND '%s' is not executable (permission denied).\n%s",
                 catpath(tmpdir, "data.txt"), SHORT);
        is_str(r.err, want, "  said so, with the short usage");
    }
    res_free(&r);
    r = RUN(catpath(tmpdir, "sub"));
    is_int(r.rc, 1, "a directory named with '/' refused");
    {
        char want[1024];
        snprintf(want, sizeof want, "COMMAND '%s' is a directory, not a program (--dir serves the "
                 "programs in a directory).\n%s", catpath(tmpdir, "sub"), SHORT);
        is_str(r.err, want, "  said so");
    }
    res_free(&r);
    r = RUN(catpath(tmpdir, "nonexistent"));
    ok(r.rc == 1 && starts_with(r.err, "Unable to locate specified COMMAND '"),
       "a missing name with '/': unable to locate");
    res_free(&r);
    r = RUN("sub/x.sh");
    is_int(r.rc, 1, "relative name with '/' is relative to cwd, not PATH");
    res_free(&r);

    if (getcwd(here, sizeof here) && chdir(tmpdir) == 0) {
        r = RUN("./run.sh", "x");
        is_int(r.rc, -1, "./run.sh in cwd");
        is_str(r.c.command_path, "./run.sh", "  command_path ./run.sh");
        res_free(&r);
        r = RUN("sub/x.sh");
        is_str(r.c.command_path, "sub/x.sh", "sub/x.sh relative to cwd");
        res_free(&r);
        r = RUN("./data.txt");
        is_int(r.rc, 1, "./data.txt: no execute bit");
        ok(starts_with(r.err, "COMMAND './data.txt' is not executable (permission denied).\n"),
           "  message");
        res_free(&r);
        r = RUN("./sub");
        is_int(r.rc, 1, "./sub: a directory");
        ok(starts_with(r.err, "COMMAND './sub' is a directory"), "  message");
        res_free(&r);

        /* empty PATH element = current directory (Go 1.15 LookPath) */
        setenv("PATH", "/nonexistent::/bin", 1);
        r = RUN("run.sh");
        is_int(r.rc, -1, "empty PATH element searches cwd");
        is_str(r.c.command_path, "./run.sh", "  result gets ./ so it is not searched again");
        res_free(&r);
        setenv("PATH", ".", 1);
        r = RUN("run.sh");
        is_str(r.c.command_path, "./run.sh", "PATH=. → ./run.sh");
        res_free(&r);
        setenv("PATH", "sub", 1);
        r = RUN("x.sh");
        is_str(r.c.command_path, "sub/x.sh", "relative PATH element kept relative");
        res_free(&r);
        if (chdir(here) != 0)
            ok(0, "chdir back");
    } else {
        ok(0, "chdir to tmpdir");
    }

    setenv("PATH", "", 1);
    r = RUN("sh");
    is_int(r.rc, 1, "PATH empty: nothing found");
    res_free(&r);
    unsetenv("PATH");
    r = RUN("sh");
    is_int(r.rc, 1, "PATH unset: nothing found");
    ok(starts_with(r.err, "Unable to locate specified COMMAND 'sh' in OS path.\n"), "  message");
    res_free(&r);

    if (oldpath) {
        setenv("PATH", oldpath, 1);
        free(oldpath);
    }
}

static void test_passenv(void)
{
    result r;
    size_t i;

    setenv("WSD_T_A", "  a value \r\nwith\nnewlines  ", 1);
    setenv("WSD_T_EMPTY", "", 1);
    setenv("WSD_T_BLANK", " \r\n\t ", 1);
    setenv("WSD_T_NBSP", "\xc2\xa0x\xe3\x80\x80", 1);      /* Go's TrimSpace is Unicode */
    setenv("WSD_T_LAST", "last", 1);
    setenv("HTTPS", "on", 1);
    unsetenv("WSD_T_UNSET");

    r = RUN("--passenv=WSD_T_A,WSD_T_EMPTY,,WSD_T_UNSET,HTTPS,WSD_T_BLANK,WSD_T_NBSP,WSD_T_LAST,wsd_t_last",
            "/bin/sh");
    is_int(r.rc, -1, "passenv: runs");
    is_int((long)r.c.npassenv, 8, "names kept in order (empty element dropped)");
    is_str(r.c.passenv[0], "WSD_T_A", "  first name");
    is_str(r.c.passenv[4], "WSD_T_BLANK", "  fifth name");
    is_int((long)r.c.npassenv_values, 3, "3 values captured");
    is_str(r.c.passenv_values[0], "WSD_T_A=a value   with newlines", "CR/LF → space, trimmed");
    is_str(r.c.passenv_values[1], "WSD_T_NBSP=x", "Unicode spaces trimmed");
    is_str(r.c.passenv_values[2], "WSD_T_LAST=last", "names are case-sensitive");
    ok(r.c.passenv_values[3] == NULL, "values NULL-terminated");
    res_free(&r);

    /* default: PATH and LD_LIBRARY_PATH */
    setenv("LD_LIBRARY_PATH", "/opt/lib", 1);
    r = RUN("/bin/sh");
    is_int((long)r.c.npassenv_values, 2, "default list captures PATH and LD_LIBRARY_PATH");
    ok(starts_with(r.c.passenv_values[0], "PATH=/"), "  PATH first");
    is_str(r.c.passenv_values[1], "LD_LIBRARY_PATH=/opt/lib", "  then LD_LIBRARY_PATH");
    res_free(&r);
    unsetenv("LD_LIBRARY_PATH");

    /* a given list replaces the default; "=" in a name never matches */
    r = RUN("--passenv=WSD_T_LAST=last,WSD_T_LAST", "/bin/sh");
    is_int((long)r.c.npassenv_values, 1, "given list replaces the default");
    is_str(r.c.passenv_values[0], "WSD_T_LAST=last", "  only the listed one");
    res_free(&r);
    r = RUN("--passenv=", "/bin/sh");
    is_int((long)r.c.npassenv_values, 0, "--passenv= passes nothing");
    is_int((long)r.c.npassenv, 0, "  no names");
    res_free(&r);
    /* captured at parse time */
    r = RUN("--passenv=WSD_T_LAST", "/bin/sh");
    setenv("WSD_T_LAST", "changed", 1);
    is_str(r.c.passenv_values[0], "WSD_T_LAST=last", "value captured at parse time");
    res_free(&r);
    for (i = 0; i < 1; i++)
        unsetenv("HTTPS");
}

static void test_headers(void)
{
    result r;

    r = RUN("--header=x-foo-bar:  value: with colon ", "--header=content-TYPE:\ttab",
            "--header=X-No-Colon", "--header=WWW-authenticate:", "--header=x_under_score: u",
            "--header-ws=Sec-WebSocket-Protocol: chat", "--header-http=server:wsd", "/bin/sh");
    is_int(r.rc, -1, "headers: runs");
    is_int((long)r.c.headers.n, 5, "5 --header");
    is_str(r.c.headers.v[0].name, "X-Foo-Bar", "canonical key");
    is_str(r.c.headers.v[0].value, "value: with colon ", "split at first ':', spaces left-trimmed only");
    is_str(r.c.headers.v[1].name, "Content-Type", "mixed case canonicalised");
    is_str(r.c.headers.v[1].value, "\ttab", "only spaces trimmed (not tabs)");
    is_str(r.c.headers.v[2].name, "X-No-Colon", "no ':' → name only");
    is_str(r.c.headers.v[2].value, "", "  empty value");
    is_str(r.c.headers.v[3].name, "Www-Authenticate", "Go canonical form");
    is_str(r.c.headers.v[3].value, "", "empty after ':'");
    is_str(r.c.headers.v[4].name, "X_under_score", "'_' does not start a word");
    is_str(r.c.headers_ws.v[0].name, "Sec-Websocket-Protocol", "header-ws canonical");
    is_str(r.c.headers_ws.v[0].value, "chat", "header-ws value");
    is_str(r.c.headers_http.v[0].name, "Server", "header-http name");
    is_str(r.c.headers_http.v[0].value, "wsd", "header-http value");
    res_free(&r);

    CFG_ERROR("", "wsd: --header=\"X-A: a\\r\\nInjected: 1\" refused: CR or LF in the header value\n",
              "--header=X-A: a\r\nInjected: 1", "/bin/sh");
    CFG_ERROR("", "wsd: --header-ws=\"X-A: a\\n\" refused: CR or LF in the header value\n",
              "--header-ws=X-A: a\n", "/bin/sh");
    CFG_ERROR("", "wsd: --header-http=\"X\\rA: a\" refused: CR or LF in the header name\n",
              "--header-http=X\rA: a", "/bin/sh");
    CFG_ERROR("", "wsd: --header=\"X A: a\" refused: the header name is not an HTTP token\n",
              "--header=X A: a", "/bin/sh");
    CFG_ERROR("", "wsd: --header=\"X-A : a\" refused: the header name is not an HTTP token\n",
              "--header=X-A : a", "/bin/sh");
    CFG_ERROR("", "wsd: --header=\": a\" refused: empty header name\n", "--header=: a", "/bin/sh");
    CFG_ERROR("", "wsd: --header=\"\" refused: empty header name\n", "--header=", "/bin/sh");
    CFG_ERROR("", "wsd: --header=\"X\\xffA: a\" refused: the header name is not an HTTP token\n",
              "--header=X\xff" "A: a", "/bin/sh");
    /* websocketd's own checks come first */
    CFG_ERROR("", "Please specify COMMAND or provide --dir, --staticdir or --cgidir argument.\n"
              "\nUsage:\n\n  Export a single executable program a WebSocket server:\n"
              "    wsd [options] COMMAND [command args]\n\n"
              "  Or, export an entire directory of executables as WebSocket endpoints:\n"
              "    wsd [options] --dir=SOMEDIR\n\n  Or, show extended help message using:\n"
              "    wsd --help\n", "--header=X\r: a");
}

/* The access-control flags (#13): values, defaults, and every refusal. */
static void access_error(const char *const *args, const char *msg)
{
    result r = run_v(args);
    is_int(r.rc, 1, "%s %s: exit 1", args[0], args[1] ? args[1] : "");
    ok(r.err && strstr(r.err, msg), "  says '%s' (%s)", msg, r.err ? r.err : "");
    res_free(&r);
}
#define ACCESS_ERROR(msg, ...) access_error((const char *const[]){__VA_ARGS__, NULL}, msg)

static void test_access(void)
{
    result r = RUN("/bin/sh");
    is_int(r.c.authtimeout, 5000, "--authtimeout default 5000");
    is_str(r.c.authrealm, "wsd", "--authrealm default wsd");
    is_int(r.c.rateburst, 10, "--rateburst default 10");
    is_int(r.c.unixsocketmode, -1, "--unixsocketmode default: as created");
    ok(!r.c.htpasswd && !r.c.authcmd && !r.c.trustproxy && !r.c.user && !r.c.group &&
       !r.c.chdir && r.c.nrlimits == 0 && !r.c.allowroot && !r.c.proxyprotocol &&
       !r.c.publicstatic && r.c.maxperip == 0 && r.c.ratelimit == 0, "all off by default");
    res_free(&r);

    r = RUN("--htpasswd=/etc/x", "--authcmd=/bin/true", "--authtimeout=250", "--authrealm=My app",
            "--publicstatic", "--trustproxy=127.0.0.1, 10.0.0.0/8,unix", "--proxyprotocol",
            "--user=nobody", "--group=nogroup", "--allowroot", "--chdir=/tmp",
            "--rlimit=as=512M,cpu=10, nproc=64,nofile=1024,fsize=1G,core=0,stack=unlimited,data=4K",
            "--unixsocket=/tmp/s", "--unixsocketmode=0660", "--unixsocketuser=root",
            "--unixsocketgroup=www-data", "--maxperip=20", "--ratelimit=60", "--rateburst=5",
            "/bin/sh");
    is_int(r.rc, -1, "every access flag at once");
    is_str(r.c.htpasswd, "/etc/x", "--htpasswd");
    is_str(r.c.authcmd_path, "/bin/true", "--authcmd found");
    is_int(r.c.authtimeout, 250, "--authtimeout");
    is_str(r.c.authrealm, "My app", "--authrealm");
    ok(r.c.publicstatic && r.c.proxyprotocol && r.c.allowroot, "booleans");
    is_str(r.c.trustproxy, "127.0.0.1, 10.0.0.0/8,unix", "--trustproxy kept as given");
    is_str(r.c.user, "nobody", "--user");
    is_str(r.c.group, "nogroup", "--group");
    is_str(r.c.chdir, "/tmp", "--chdir");
    is_int(r.c.unixsocketmode, 0660, "--unixsocketmode octal");
    is_str(r.c.unixsocketuser, "root", "--unixsocketuser");
    is_str(r.c.unixsocketgroup, "www-data", "--unixsocketgroup");
    is_int(r.c.maxperip, 20, "--maxperip");
    is_int(r.c.ratelimit, 60, "--ratelimit");
    is_int(r.c.rateburst, 5, "--rateburst");
    is_int(r.c.nrlimits, 8, "eight limits");
    if (r.c.nrlimits == 8) {
        is_int(r.c.rlimits[0].resource, RLIMIT_AS, "as");
        ok(r.c.rlimits[0].lim.rlim_cur == 512ull << 20 && r.c.rlimits[0].lim.rlim_max == 512ull << 20,
           "  512M");
        is_int(r.c.rlimits[1].resource, RLIMIT_CPU, "cpu");
        ok(r.c.rlimits[1].lim.rlim_cur == 10 && r.c.rlimits[1].lim.rlim_max == 11,
           "  10 s soft (SIGXCPU), 11 s hard (SIGKILL)");
        ok(r.c.rlimits[2].resource == RLIMIT_NPROC && r.c.rlimits[2].lim.rlim_cur == 64, "nproc 64");
        ok(r.c.rlimits[4].resource == RLIMIT_FSIZE && r.c.rlimits[4].lim.rlim_cur == 1ull << 30, "fsize 1G");
        ok(r.c.rlimits[5].resource == RLIMIT_CORE && r.c.rlimits[5].lim.rlim_max == 0, "core 0");
        ok(r.c.rlimits[6].lim.rlim_cur == RLIM_INFINITY, "stack unlimited");
        ok(r.c.rlimits[7].lim.rlim_cur == 4096, "data 4K");
    }
    res_free(&r);

    r = RUN("--chdir=/tmp", "sh");
    ok(r.rc == -1 && r.c.command_path[0] == '/' && strcmp(r.c.argv[0], r.c.command_path) == 0,
       "with --chdir COMMAND's path is absolute (%s)", r.c.command_path ? r.c.command_path : "");
    res_free(&r);
    r = RUN("--authcmd=true", "/bin/sh");
    ok(r.rc == -1 && r.c.authcmd_path && r.c.authcmd_path[0] == '/', "--authcmd found in PATH: %s",
       r.c.authcmd_path ? r.c.authcmd_path : "");
    res_free(&r);

    ACCESS_ERROR("--trustproxy: not an IP address, a network or \"unix\": 'example.com'",
                 "--trustproxy=example.com", "/bin/sh");
    ACCESS_ERROR("--trustproxy: bad prefix length", "--trustproxy=10.0.0.0/40", "/bin/sh");
    ACCESS_ERROR("--trustproxy: the list is empty", "--trustproxy=", "/bin/sh");
    ACCESS_ERROR("--authrealm: printable ASCII", "--authrealm=a\"b", "/bin/sh");
    ACCESS_ERROR("--htpasswd: no file given", "--htpasswd=", "/bin/sh");
    ACCESS_ERROR("--authcmd: 'no-such-authorizer-here' was not found",
                 "--authcmd=no-such-authorizer-here", "/bin/sh");
    ACCESS_ERROR("--authcmd: '/tmp' is a directory", "--authcmd=/tmp", "/bin/sh");
    ACCESS_ERROR("--chdir: '/no/such/dir' is not a directory", "--chdir=/no/such/dir", "/bin/sh");
    ACCESS_ERROR("--unixsocketmode: '0888' is not an octal mode", "--unixsocket=/tmp/s",
                 "--unixsocketmode=0888", "/bin/sh");
    ACCESS_ERROR("--unixsocketmode: '01777' is not an octal mode", "--unixsocket=/tmp/s",
                 "--unixsocketmode=01777", "/bin/sh");
    ACCESS_ERROR("need --unixsocket", "--unixsocketmode=0660", "/bin/sh");
    ACCESS_ERROR("need --unixsocket", "--unixsocketgroup=www-data", "/bin/sh");
    ACCESS_ERROR("--rlimit: 'mem=1' is not NAME=VALUE", "--rlimit=mem=1", "/bin/sh");
    ACCESS_ERROR("--rlimit: 'cpu' is not NAME=VALUE", "--rlimit=cpu", "/bin/sh");
    ACCESS_ERROR("--rlimit: bad value for cpu: '10K'", "--rlimit=cpu=10K", "/bin/sh");
    ACCESS_ERROR("--rlimit: bad value for as: '-1'", "--rlimit=as=-1", "/bin/sh");
    ACCESS_ERROR("--rlimit: bad value for as: ''", "--rlimit=as=", "/bin/sh");
    ACCESS_ERROR("--rlimit: bad value for as: '99999999999999999999'",
                 "--rlimit=as=99999999999999999999", "/bin/sh");
    ACCESS_ERROR("--rlimit: bad value for fsize: '20000000T'", "--rlimit=fsize=20000000T", "/bin/sh");
    ACCESS_ERROR("--rlimit: cpu given twice", "--rlimit=cpu=1,cpu=2", "/bin/sh");
}

static void test_modes_run(void)
{
    /* every flag's feature is built: none is refused at start-up */
    result r;
    char sarg[512];

    snprintf(sarg, sizeof sarg, "--staticdir=%s", tmpdir);
    r = RUN(sarg);
    is_int(r.rc, -1, "--staticdir alone: the server runs");
    is_str(r.err, "", "  nothing on stderr");
    res_free(&r);
    snprintf(sarg, sizeof sarg, "--cgidir=%s", tmpdir);
    r = RUN(sarg, "--header=A: b");
    is_int(r.rc, -1, "--cgidir alone: the server runs");
    is_str(r.err, "", "  nothing on stderr");
    res_free(&r);
    r = RUN("--devconsole", "/bin/sh");
    is_int(r.rc, -1, "--devconsole with COMMAND: the server runs");
    is_str(r.err, "", "  nothing on stderr");
    res_free(&r);
    snprintf(sarg, sizeof sarg, "--dir=%s", tmpdir);
    r = RUN(sarg);
    is_int(r.rc, -1, "--dir accepted");
    res_free(&r);

    /* zero values */
    r = RUN("--ssl=false", "--sameorigin=0", "--pingms=0", "--redirport=0", "--origin=",
            "--staticdir=", "--unixsocket=", "--passstderr=f", "/bin/sh");
    is_int(r.rc, -1, "flags at their zero value are accepted");
    res_free(&r);
    /* --linebuffered and --pty (#15) */
    r = RUN("--linebuffered", "--lossless", "/bin/sh");
    is_int(r.rc, -1, "--linebuffered with --lossless runs");
    ok(r.c.linebuffered && !r.c.pty, "  linebuffered set, pty not");
    res_free(&r);
    r = RUN("--pty", "--binary", "--devconsole", "/bin/sh");
    is_int(r.rc, -1, "--pty with --binary and --devconsole runs");
    ok(r.c.pty && !r.c.linebuffered, "  pty set");
    res_free(&r);
    r = RUN("/bin/sh");
    ok(r.rc == -1 && !r.c.pty && !r.c.linebuffered, "neither by default");
    res_free(&r);
    CFG_ERROR("", "wsd: --pty cannot be combined with --lossless\n", "--pty", "--lossless", "/bin/sh");
    CFG_ERROR("", "wsd: --pty cannot be combined with --passstderr\n", "--pty", "--passstderr",
              "/bin/sh");
    CFG_ERROR("", "wsd: --pty cannot be combined with --linebuffered\n", "--linebuffered",
              "--pty=true", "/bin/sh");
    /* websocketd's own errors */
    r = RUN("--origin=x", "--loglevel=bad", "/bin/sh");
    is_int(r.rc, 1, "loglevel error");
    ok(starts_with(r.out, "Incorrect loglevel flag 'bad'"), "  its message");
    res_free(&r);
}

/* --redis, --redischannel, --sharededge (#12): roles, implied modes, refusals. */
static void test_redis(void)
{
    result r = RUN("--shared", "--redis=redis://:pw@10.0.0.5:7000/2", "/bin/sh");
    is_int(r.rc, -1, "--shared --redis: the program's wsd");
    is_str(r.c.redis, "redis://:pw@10.0.0.5:7000/2", "--redis kept as given");
    is_str(r.c.redischannel, "wsd", "--redischannel default wsd");
    ok(r.c.shared && r.c.sharedalways && r.c.sharededge == 0,
       "the program always runs (as --sharedalways)");
    res_free(&r);

    r = RUN("--sharededge=7", "--redis=redis://h", "--redischannel=chat:prod", "--lossless",
            "no-such-program-here");
    is_int(r.rc, -1, "an edge: COMMAND is not looked up");
    is_str(r.c.command_path, "no-such-program-here", "  kept as given");
    ok(r.c.shared && !r.c.sharedalways && r.c.sharededge == 7, "  shared, edge 7");
    is_str(r.c.redischannel, "chat:prod", "  --redischannel");
    res_free(&r);

    r = RUN("--sharededge=1", "--redis=redis://h", "--dir=/tmp");
    is_int(r.rc, -1, "an edge with --dir");
    res_free(&r);

    r = RUN("--redis=redis://h:bad", "--shared", "/bin/sh");
    is_int(r.rc, 1, "a URL that does not parse: exit 1");
    is_str(r.err, "wsd: --redis: the port must be 1 to 65535 "
           "(redis://[[user]:password@]host[:port][/db])\n", "  one line saying why");
    res_free(&r);
    ACCESS_ERROR("wsd: --redis: it must start with redis://", "--redis=localhost:6379",
                 "--shared", "/bin/sh");
    ACCESS_ERROR("--redis needs --shared", "--redis=redis://h", "/bin/sh");
    ACCESS_ERROR("--sharededge needs --redis", "--sharededge=1", "/bin/sh");
    ACCESS_ERROR("--redischannel needs --redis", "--redischannel=x", "--shared", "/bin/sh");
    ACCESS_ERROR("--redischannel: letters", "--redischannel=a b", "--redis=redis://h",
                 "--shared", "/bin/sh");
    ACCESS_ERROR("--redischannel: empty", "--redischannel=", "--redis=redis://h", "--shared",
                 "/bin/sh");
    ACCESS_ERROR("--sharedalways has no meaning", "--sharededge=1", "--sharedalways",
                 "--redis=redis://h", "/bin/sh");
    ACCESS_ERROR("--redis needs COMMAND or --dir", "--redis=redis://h", "--shared",
                 "--staticdir=/tmp");
    r = RUN("--sharededge=0", "--redis=redis://h", "/bin/sh");
    is_int(r.rc, 2, "--sharededge=0 refused as a bad value");
    ok(r.err && strstr(r.err, "must be 1 to 1023"), "  1 to 1023");
    res_free(&r);
    r = RUN("--sharededge=1024", "--redis=redis://h", "/bin/sh");
    is_int(r.rc, 2, "--sharededge=1024 refused");
    res_free(&r);
}

/* --logformat, --journal, --metrics, --healthpath, --gracems (#14.4). */
static void test_observability(void)
{
    static const struct {
        const char *in, *host;
        int port;
    } good[] = {
        {"127.0.0.1:9100", "127.0.0.1", 9100}, {":9100", "", 9100},
        {"[::1]:1", "[::1]", 1}, {"localhost:65535", "localhost", 65535},
    };
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"9100", "must be ADDR:PORT (e.g. 127.0.0.1:9100, [::1]:9100, :9100 for all interfaces)"},
        {"127.0.0.1:", "the port must be a number, 1 to 65535"},
        {"127.0.0.1:0", "the port must be a number, 1 to 65535"},
        {"127.0.0.1:65536", "the port must be a number, 1 to 65535"},
        {"127.0.0.1:99999999999999999999", "the port must be a number, 1 to 65535"},
        {"127.0.0.1:9x", "the port must be a number, 1 to 65535"},
        {"::1:9100", "an IPv6 address needs brackets: [::1]:9100"},
        {"[::1:9100", "an IPv6 address needs brackets: [::1]:9100"},
        {"[x:9100", "unbalanced brackets in the address"},
    };
    size_t i;
    result r = RUN("/bin/sh");

    is_int(r.c.logformat, WSD_LOGFMT_TEXT, "--logformat default text");
    is_int(r.c.journal, -1, "--journal not given: -1 (JOURNAL_STREAM decides)");
    ok(!r.c.metrics && !r.c.healthpath && r.c.gracems == 0, "no metrics, health path, drain");
    res_free(&r);
    r = RUN("--logformat=json", "--journal=false", "--healthpath=/health", "--gracems=2500",
            "--metrics=127.0.0.1:9100", "/bin/sh");
    is_int(r.rc, -1, "all of them: runs");
    is_int(r.c.logformat, WSD_LOGFMT_JSON, "--logformat=json");
    is_int(r.c.journal, 0, "--journal=false: 0");
    is_str(r.c.healthpath, "/health", "--healthpath");
    is_int(r.c.gracems, 2500, "--gracems");
    is_str(r.c.metrics, "127.0.0.1:9100", "--metrics as given");
    is_str(r.c.metrics_addr, "127.0.0.1", "  its address");
    is_int(r.c.metrics_port, 9100, "  its port");
    res_free(&r);
    r = RUN("--journal", "/bin/sh");
    is_int(r.c.journal, 1, "--journal: 1");
    res_free(&r);

    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        char *host = NULL;
        int port = 0;
        const char *why = wsd_config_hostport(good[i].in, &host, &port);
        ok(why == NULL, "hostport %s", good[i].in);
        is_str(host, good[i].host, "  host");
        is_int(port, good[i].port, "  port");
        free(host);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char msg[300], arg[100];
        snprintf(arg, sizeof arg, "--metrics=%s", bad[i].in);
        snprintf(msg, sizeof msg, "invalid value \"%s\" for flag -metrics: %s", bad[i].in,
                 bad[i].why);
        FLAG_ERROR(msg, arg, "/bin/sh");
    }
    FLAG_ERROR("invalid value \"xml\" for flag -logformat: must be text or json",
               "--logformat=xml", "/bin/sh");
    FLAG_ERROR("invalid value \"\" for flag -logformat: must be text or json", "--logformat=",
               "/bin/sh");
    FLAG_ERROR("invalid value \"health\" for flag -healthpath: must be a URL path starting "
               "with / (at most 1024 bytes)", "--healthpath=health", "/bin/sh");
    FLAG_ERROR("invalid value \"/a b\" for flag -healthpath: must be a URL path: printable "
               "ASCII without spaces, ? or #", "--healthpath=/a b", "/bin/sh");
    FLAG_ERROR("invalid value \"/h?x=1\" for flag -healthpath: must be a URL path: printable "
               "ASCII without spaces, ? or #", "--healthpath=/h?x=1", "/bin/sh");
    FLAG_ERROR("invalid value \"2147483648\" for flag -gracems: must be 0 to 2147483647 "
               "milliseconds", "--gracems=2147483648", "/bin/sh");
}

/* ---- --config: the file's keys, the command line over them, routes ---- */

/* Writes text to a file in tmpdir; returns "--config=PATH" (static). */
static const char *conf(const char *name, const char *text)
{
    static char arg[4][600];
    static int k;
    char *a = arg[k++ & 3];
    write_file(catpath(tmpdir, name), text, 0644);
    snprintf(a, 600, "--config=%s", catpath(tmpdir, name));
    return a;
}

/* A configuration error from the file: exit 1, "FILE:LINE: ..." on stderr. */
static void check_file_error(const char *text, const char *want_suffix, const char *name)
{
    result r = RUN(conf("bad.conf", text), "--check");
    char want[1024];
    snprintf(want, sizeof want, "%s/bad.conf:%s\n", tmpdir, want_suffix);
    is_int(r.rc, 1, "%s: exit 1", name);
    is_str(r.err, want, "%s: FILE:LINE: key: problem", name);
    is_str(r.out, "", "%s: nothing on stdout", name);
    res_free(&r);
}

static void test_config_file(void)
{
    result r;
    const wsd_config *rc;
    char buf[1200];

    /* every kind of flag as a key */
    snprintf(buf, sizeof buf,
             "# every kind\n"
             "port = 8081\n"                       /* int */
             "maxframesize = 0x10000\n"            /* uint, Go syntax */
             "binary = true\n"                     /* bool */
             "deflate = false\n"
             "origin = https://a.example\n"        /* string */
             "address = 127.0.0.1\naddress = [::1]\n"   /* list */
             "header = X-A: 1\nheader = X-B: 2\n"
             "staticdir = %s\n"
             "command = %s/run.sh\narg = one\narg = two words\n", tmpdir, tmpdir);
    r = RUN(conf("kinds.conf", buf));
    is_int(r.rc, -1, "--config: runs");
    is_str(r.err, "", "--config: no message");
    is_int(r.c.port, 8081, "port from the file");
    is_int((long long)r.c.maxframesize, 65536, "maxframesize from the file (0x)");
    ok(r.c.binary && !r.c.deflate, "booleans from the file");
    is_str(r.c.origin, "https://a.example", "a string from the file");
    ok(r.c.naddresses == 2 && strcmp(r.c.addresses[1], "[::1]") == 0, "a list from the file");
    ok(r.c.headers.n == 2 && strcmp(r.c.headers.v[1].name, "X-B") == 0, "headers from the file");
    ok(r.c.argc == 3 && strcmp(r.c.argv[2], "two words") == 0, "command and arg lines");
    ok(r.c.config_file && r.c.config_file[0] == '/', "the file's absolute path kept");
    res_free(&r);

    /* the command line wins */
    r = RUN(conf("kinds.conf", buf), "--port=9000", "--binary=false", "--address=10.0.0.1",
            "cat");
    is_int(r.rc, -1, "--config + flags: runs");
    is_int(r.c.port, 9000, "--port over port =");
    ok(!r.c.binary, "--binary=false over binary = true");
    ok(r.c.naddresses == 1 && strcmp(r.c.addresses[0], "10.0.0.1") == 0,
       "--address replaces the file's list");
    ok(r.c.argc == 1 && strstr(r.c.argv[0], "cat"), "COMMAND over command/arg");
    ok(r.c.headers.n == 2 && !r.c.deflate, "what the command line does not give: the file's");
    res_free(&r);
    r = RUN("--port=9000", conf("kinds.conf", buf));
    is_int(r.c.port, 9000, "--port before --config wins too");
    res_free(&r);

    /* --check: good here, then main checks users and --htpasswd files */
    r = RUN(conf("kinds.conf", buf), "--check");
    is_int(r.rc, -1, "--check: good (main goes on)");
    ok(r.c.check, "  c->check set");
    is_str(r.out, "", "  nothing printed yet");
    {
        char *o = NULL;
        size_t ol = 0;
        FILE *m = open_memstream(&o, &ol);
        wsd_config_check_ok(&r.c, m);
        fclose(m);
        snprintf(buf, sizeof buf, "%s/kinds.conf: configuration OK\n", tmpdir);
        is_str(o, buf, "  wsd_config_check_ok says so");
        free(o);
    }
    res_free(&r);
    r = RUN("--check", "cat");
    is_int(r.rc, -1, "--check without --config");
    ok(r.c.check && strcmp(r.c.check_name, "wsd") == 0, "  named wsd");
    res_free(&r);
    r = RUN("--check", "--dir=/nonexistent/dir");
    is_int(r.rc, 1, "--check with a bad command line: 1");
    res_free(&r);

    /* problems, each with FILE:LINE: key: */
    check_file_error("port = abc\n", "1: port: invalid value \"abc\": parse error", "bad int");
    check_file_error("\nport = 70000\n", "2: port: invalid value \"70000\": invalid port, must "
                     "be 0 to 65535 (0: 80, or 443 with --ssl)", "port range");
    check_file_error("binary = yes\n", "1: binary: invalid boolean value \"yes\": true or false",
                     "bad bool");
    check_file_error("porty = 1\n", "1: porty: unknown key (the keys are the flags of wsd --help, "
                     "and command, arg)", "unknown key");
    check_file_error("--port = 1\n", "1: --port: a key is written without dashes (port = ...)",
                     "dashes");
    check_file_error("version = true\n", "1: version: not a setting (a command-line action)",
                     "an action");
    check_file_error("config = x\n", "1: config: not a setting (a command-line action)",
                     "config in config");
    check_file_error("port = 1\nport = 2\n", "2: port: given twice (first on line 1)", "twice");
    check_file_error("origin = \"x\"\n", "1: origin: values are not quoted (write origin = x)",
                     "quoted");
    check_file_error("command = cat\ncommand = date\n", "2: command: given twice (first on line "
                     "1; its arguments are `arg = ...` lines, one each)", "command twice");
    check_file_error("arg = x\n", "1: arg: arguments without a command", "arg alone");
    check_file_error("command = nonexistent-program-xyz\n", "1: command: Unable to locate "
                     "specified COMMAND 'nonexistent-program-xyz' in OS path.", "no program");
    check_file_error("command = date +%T\n", "1: command: Unable to locate specified COMMAND "
                     "'date +%T' in OS path (its arguments are `arg = ...` lines, one each).",
                     "arguments in command");
    check_file_error("command = cat\nbinary = true\npassstderr = true\n", "3: passstderr: Please "
                     "only specify one of --binary and --passstderr.", "two keys: the later");
    check_file_error("command = cat\nssl = true\n", "2: ssl: Please specify both --sslcert and "
                     "--sslkey when requesting --ssl.", "ssl");
    check_file_error("command = cat\nheader = X Y: z\n", "2: header: wsd: --header=\"X Y: z\" "
                     "refused: the header name is not an HTTP token", "header");
    check_file_error("command = cat\norigin = http://a/b\n", "2: origin: wsd: --origin: "
                     "cannot use 'http://a/b': only scheme://host[:port] or host[:port] is "
                     "allowed (no path)", "origin");
    check_file_error("command = cat\nloglevel = loud\n", "2: loglevel: Incorrect loglevel "
                     "flag 'loud'. Use --help to see allowed values.", "loglevel");
    check_file_error("dir = /nonexistent\n", "1: dir: Could not find your script dir "
                     "'/nonexistent'.", "dir");
    check_file_error("command = cat\n[route /x]\nport = 1\n", "3: port: a setting of the whole "
                     "server, not of a route (put it before the first [route])", "server key");
    check_file_error("command = cat\n[route /x]\nredis = redis://h\n", "3: redis: a setting of "
                     "the whole server, not of a route (put it before the first [route])",
                     "redis in a route");
    check_file_error("command = cat\n[route /x]\nbinary = true\n", "2: [route /x]: nothing to "
                     "serve: give command, dir, staticdir, cgidir or devconsole", "nothing");
    check_file_error("binary = true\n[route /x]\ncommand = cat\nlossless = true\n",
                     "4: lossless: wsd: --lossless cannot be combined with --binary",
                     "inherited and own");
    check_file_error("[route /x]\ncommand = cat\ndir = /tmp\n", "3: dir: Ambiguous. Provided "
                     "COMMAND and --dir argument. Please only specify just one.", "route ambiguous");
    check_file_error("[route /x]\ncommand = cat\nstaticdir = /nonexistent\n", "3: staticdir: "
                     "Your static dir '/nonexistent' is not pointing to an accessible directory.",
                     "route staticdir");
    check_file_error("[route /x]\ndevconsole = true\nstaticdir = /tmp\n", "3: staticdir: "
                     "devconsole cannot be used with staticdir. Pick one.", "route devconsole");
    check_file_error("[server]\nport = 1\n", "1: unknown section [server] (a section is "
                     "[route /PATH])", "section");
    r = RUN("--config=/nonexistent/wsd.conf");
    is_int(r.rc, 1, "a missing file: exit 1");
    is_str(r.err, "/nonexistent/wsd.conf: cannot read the configuration file: No such file or "
           "directory\n", "  says so");
    res_free(&r);

    /* routes: the server's options, the route's own over them */
    snprintf(buf, sizeof buf,
             "binary = true\nmaxframesize = 1000\nstaticdir = %s\nheader = X-S: s\n"
             "[route /time]\ncommand = date\narg = +%%s\nmaxframesize = 2000\n"
             "[route /chat]\ncommand = cat\nbinary = false\nshared = true\n"
             "[route /logs]\nstaticdir = %s/sub\nheader = X-L: l\n", tmpdir, tmpdir);
    r = RUN(conf("routes.conf", buf), "--closems=7");
    is_int(r.rc, -1, "routes: runs");
    is_str(r.err, "", "routes: no message");
    is_int(r.c.nroutes, 3, "three routes");
    ok(r.c.command == NULL && r.c.staticdir != NULL, "the server: its staticdir, no command");
    rc = r.c.nroutes == 3 ? r.c.routes[0].cfg : &r.c;
    is_str(r.c.nroutes == 3 ? r.c.routes[0].path : "", "/time", "route 1: /time");
    ok(rc->argc == 2 && strcmp(rc->argv[1], "+%s") == 0, "  its program");
    ok(rc->binary, "  binary inherited");
    is_int((long long)rc->maxframesize, 2000, "  its own maxframesize");
    is_int((long long)rc->closems, 7, "  the command line's --closems");
    ok(rc->staticdir == NULL, "  the server's staticdir not inherited");
    ok(rc->headers.n == 1, "  the server's header");
    rc = r.c.nroutes == 3 ? r.c.routes[1].cfg : &r.c;
    ok(!rc->binary && rc->shared, "route 2: its own binary = false, shared");
    is_int((long long)rc->maxframesize, 1000, "  the server's maxframesize");
    rc = r.c.nroutes == 3 ? r.c.routes[2].cfg : &r.c;
    ok(rc->staticdir && strstr(rc->staticdir, "/sub") && !rc->command, "route 3: static only");
    ok(rc->headers.n == 1 && strcmp(rc->headers.v[0].name, "X-L") == 0,
       "  its header list replaces the server's");
    res_free(&r);

    /* reloads: the same command line over a new text */
    {
        wsd_config n;
        const char *text = "port = 8081\nbinary = true\ncommand = cat\n";
        char *msg = NULL;
        size_t ml = 0;
        FILE *e;
        static char *argv[3];
        argv[0] = (char *)"wsd";
        argv[1] = (char *)conf("reload.conf", text);
        r = run_v((const char *const *)argv + 1);
        is_int(r.rc, -1, "reload: first");
        /* the command line is borrowed: main's argv lives on, RUN's does not */
        r.c.cmdline_argc = 2;
        r.c.cmdline_argv = argv;
        e = open_memstream(&msg, &ml);
        is_int(wsd_config_reparse(&n, &r.c, "port = 8081\ncommand = date\n", 27, e), -1,
               "reparse: good");
        fclose(e);
        free(msg);
        msg = NULL;
        ok(n.command && strcmp(n.command, "date") == 0 && !n.binary, "reparse: the new text");
        ok(wsd_config_restart_needed(&r.c, &n) == NULL, "same port: no restart needed");
        wsd_config_free(&n);
        e = open_memstream(&msg, &ml);
        is_int(wsd_config_reparse(&n, &r.c, "port = 8082\ncommand = date\n", 27, e), -1,
               "reparse: another port");
        fclose(e);
        free(msg);
        msg = NULL;
        is_str(wsd_config_restart_needed(&r.c, &n), "port", "  takes a restart");
        wsd_config_free(&n);
        e = open_memstream(&msg, &ml);
        is_int(wsd_config_reparse(&n, &r.c, "port = 8081\ncommand = date\nmetrics = :9101\n", 43,
                                  e), -1, "reparse: metrics added");
        fclose(e);
        free(msg);
        msg = NULL;
        is_str(wsd_config_restart_needed(&r.c, &n), "metrics", "  takes a restart");
        wsd_config_free(&n);
        e = open_memstream(&msg, &ml);
        is_int(wsd_config_reparse(&n, &r.c, "port = 8081\ncommand = date\ngracems = 500\n", 41,
                                  e), -1, "reparse: gracems added");
        fclose(e);
        free(msg);
        msg = NULL;
        ok(wsd_config_restart_needed(&r.c, &n) == NULL, "  applied by a reload");
        wsd_config_free(&n);
        e = open_memstream(&msg, &ml);
        is_int(wsd_config_reparse(&n, &r.c, "port = x\n", 9, e), 1, "reparse: bad");
        fclose(e);
        snprintf(buf, sizeof buf, "%s/reload.conf:1: port: invalid value \"x\": parse error\n",
                 tmpdir);
        is_str(msg, buf, "  FILE:LINE: key: problem");
        free(msg);
        res_free(&r);
    }
    unlink(catpath(tmpdir, "bad.conf"));
    unlink(catpath(tmpdir, "kinds.conf"));
    unlink(catpath(tmpdir, "routes.conf"));
    unlink(catpath(tmpdir, "reload.conf"));
}

int main(void)
{
    char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/wsd-test-config-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    write_file(catpath(tmpdir, "run.sh"), "#!/bin/sh\necho hi\n", 0755);
    write_file(catpath(tmpdir, "data.txt"), "data\n", 0644);
    mkdir(catpath(tmpdir, "sub"), 0755);
    write_file(catpath(tmpdir, "sub/x.sh"), "#!/bin/sh\n", 0700);

    test_no_args_and_help();
    test_version_license();
    test_flag_errors();
    test_ints();
    test_bools();
    test_spellings_and_stop();
    test_defaults();
    test_loglevels();
    test_config_errors();
    test_lookpath();
    test_passenv();
    test_headers();
    test_access();
    test_redis();
    test_modes_run();
    test_observability();
    test_config_file();

    unlink(catpath(tmpdir, "sub/x.sh"));
    rmdir(catpath(tmpdir, "sub"));
    unlink(catpath(tmpdir, "run.sh"));
    unlink(catpath(tmpdir, "data.txt"));
    rmdir(tmpdir);
    return done_testing();
}
