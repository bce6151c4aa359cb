/* config.c — the command line, parsed as websocketd 0.4.1 (Go `flag`) does.
 *
 * Order of the checks, and the stream of each message, follow websocketd's
 * config.go and main.go (observed with Debian's websocketd 0.4.1):
 *   1. flag syntax and values (Go `flag`): message + flag list + short usage
 *      on stderr, exit 2; -h/-help/--help: flag list + long help, exit 0
 *   2. --loglevel (message on stdout, short usage on stderr, exit 1)
 *   3. no arguments at all (stdout + short usage, exit 1)
 *   4. --version, --license (stdout, exit 0)
 *   5. --ssl/--sslcert/--sslkey consistency (stderr, no usage, exit 1)
 *   6. --binary with --passstderr (websocketd main's check)
 *   7. --passenv captured from the environment
 *   8. COMMAND / --dir / --staticdir / --cgidir (stderr + short usage, exit 1)
 *   9. --devconsole with --staticdir/--cgidir: a FATAL log line on stdout,
 *      exit 4 (websocketd's main.go)
 *  10. wsd's own checks: --header* values (CR/LF, header-name token)
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

const char *wsd_build_info;

/* ---- The flag table ------------------------------------------------------ */

enum ftype { FT_BOOL, FT_INT, FT_UINT, FT_STRING, FT_LIST };

/* Sorted by name: Go's flag list (PrintDefaults) is printed in this order. */
enum fid {
    F_ADDRESS, F_BINARY, F_CGIDIR, F_CLOSEMS, F_DEFLATE, F_DEFLATEBITS,
    F_DEFLATEMEM, F_DEVCONSOLE, F_DIR, F_HEADER,
    F_HEADER_HTTP, F_HEADER_WS, F_LICENSE, F_LOGLEVEL, F_LOSSLESS, F_MAXFORKS,
    F_MAXFRAMESIZE, F_ORIGIN, F_PASSENV, F_PASSSTDERR, F_PINGMS, F_PORT,
    F_REDIRPORT, F_REVERSELOOKUP, F_SAMEORIGIN, F_SSL, F_SSLCA, F_SSLCERT,
    F_SSLKEY, F_STATICDIR, F_SUBPROTOCOLS, F_UNIXSOCKET, F_VERSION, F_WORKERS, F_COUNT
};

struct flagdef {
    const char *name;
    enum ftype type;
    const char *defval;   /* Go's DefValue when not the zero value, else NULL */
    uint64_t umax;        /* FT_UINT: largest value this build stores */
    const char *usage;
};

#define U64 UINT64_MAX
static const struct flagdef flags[F_COUNT] = {
    [F_ADDRESS]       = {"address", FT_LIST, NULL, 0,
        "Interfaces to bind to (e.g. 127.0.0.1 or [::1])."},
    [F_BINARY]        = {"binary", FT_BOOL, NULL, 0,
        "Set wsd to experimental binary mode (default is line by line)"},
    [F_CGIDIR]        = {"cgidir", FT_STRING, NULL, 0,
        "Serve CGI scripts from this directory over HTTP"},
    [F_CLOSEMS]       = {"closems", FT_UINT, NULL, ULONG_MAX,
        "Milliseconds added to each wait before SIGINT, SIGTERM and SIGKILL"},
    [F_DEFLATE]       = {"deflate", FT_BOOL, "true", 0,
        "Compress messages with permessage-deflate when the client offers it"},
    [F_DEFLATEBITS]   = {"deflatebits", FT_UINT, "12", 15,
        "Compression window bits for permessage-deflate, 9..15"},
    [F_DEFLATEMEM]    = {"deflatemem", FT_UINT, "5", 9,
        "zlib memory level for permessage-deflate, 1..9"},
    [F_DEVCONSOLE]    = {"devconsole", FT_BOOL, NULL, 0,
        "Enable development console (cannot be used in conjunction with --staticdir)"},
    [F_DIR]           = {"dir", FT_STRING, NULL, 0,
        "Base directory for WebSocket scripts"},
    [F_HEADER]        = {"header", FT_LIST, NULL, 0,
        "Custom headers for any response."},
    [F_HEADER_HTTP]   = {"header-http", FT_LIST, NULL, 0,
        "Custom headers for all but WebSocket upgrade HTTP responses."},
    [F_HEADER_WS]     = {"header-ws", FT_LIST, NULL, 0,
        "Custom headers for successful WebSocket upgrade responses."},
    [F_LICENSE]       = {"license", FT_BOOL, NULL, 0,
        "Print license and exit"},
    [F_LOGLEVEL]      = {"loglevel", FT_STRING, "access", 0,
        "Log level, one of: debug, trace, access, info, error, fatal"},
    [F_LOSSLESS]      = {"lossless", FT_BOOL, NULL, 0,
        "Lossless message mode: each message is a record \"text|binary LEN\\n<payload>\\n\" on stdin/stdout"},
    [F_MAXFORKS]      = {"maxforks", FT_INT, NULL, 0,
        "Max forks, zero or negative means unlimited (default: as many as the open-files limit allows)"},
    [F_MAXFRAMESIZE]  = {"maxframesize", FT_UINT, "1048576", U64,
        "Max inbound WebSocket message size in bytes (0 = unlimited)"},
    [F_ORIGIN]        = {"origin", FT_STRING, NULL, 0,
        "Restrict upgrades if origin does not match the list"},
    [F_PASSENV]       = {"passenv", FT_STRING, "PATH,LD_LIBRARY_PATH", 0,
        "List of envvars to pass to subprocesses (others will be cleaned out)"},
    [F_PASSSTDERR]    = {"passstderr", FT_BOOL, NULL, 0,
        "Forward STDERR to WebSocket clients as tagged JSON messages, alongside tagged STDOUT"},
    [F_PINGMS]        = {"pingms", FT_UINT, NULL, LONG_MAX,
        "WebSocket ping interval in milliseconds (0 disables)"},
    [F_PORT]          = {"port", FT_INT, NULL, 0,
        "HTTP port to listen on"},
    [F_REDIRPORT]     = {"redirport", FT_INT, NULL, 0,
        "HTTP port to redirect to canonical --port address"},
    [F_REVERSELOOKUP] = {"reverselookup", FT_BOOL, NULL, 0,
        "Perform reverse DNS lookups on remote clients"},
    [F_SAMEORIGIN]    = {"sameorigin", FT_BOOL, NULL, 0,
        "Restrict upgrades if origin and host headers differ"},
    [F_SSL]           = {"ssl", FT_BOOL, NULL, 0,
        "Use TLS on listening socket (see also --sslcert and --sslkey)"},
    [F_SSLCA]         = {"sslca", FT_STRING, NULL, 0,
        "CA certificate file for client certificate verification (mutual TLS)"},
    [F_SSLCERT]       = {"sslcert", FT_STRING, NULL, 0,
        "Should point to certificate PEM file when --ssl is used"},
    [F_SSLKEY]        = {"sslkey", FT_STRING, NULL, 0,
        "Should point to certificate private key file when --ssl is used"},
    [F_STATICDIR]     = {"staticdir", FT_STRING, NULL, 0,
        "Serve static content from this directory over HTTP"},
    [F_SUBPROTOCOLS]  = {"subprotocols", FT_STRING, NULL, 0,
        "Comma-separated WebSocket subprotocols the program speaks; the client's first supported offer is chosen"},
    [F_UNIXSOCKET]    = {"unixsocket", FT_STRING, NULL, 0,
        "Path of a Unix domain socket to listen on, in addition to (or instead of) --address/--port"},
    [F_VERSION]       = {"version", FT_BOOL, NULL, 0,
        "Print version and exit"},
    [F_WORKERS]       = {"workers", FT_UINT, "1", 256,
        "Event-loop processes sharing the listeners (SO_REUSEPORT)"},
};
#undef U64

static int find_flag(const char *name, size_t n)
{
    int i;
    for (i = 0; i < F_COUNT; i++) {
        if (strlen(flags[i].name) == n && memcmp(flags[i].name, name, n) == 0)
            return i;
    }
    return -1;
}

/* ---- Go's strconv, as the flag package uses it --------------------------- */

enum { NUM_OK = 0, NUM_SYNTAX = -1, NUM_RANGE = -2 };

/* strconv's underscoreOK: '_' only between digits or after a base prefix. */
static int underscore_ok(const char *s)
{
    char saw = '^';
    size_t i = 0, n;
    int hex = 0;

    if (*s == '-' || *s == '+')
        s++;
    n = strlen(s);
    if (n >= 2 && s[0] == '0' && (wsd_lower(s[1]) == 'b' || wsd_lower(s[1]) == 'o' || wsd_lower(s[1]) == 'x')) {
        i = 2;
        saw = '0';
        hex = wsd_lower(s[1]) == 'x';
    }
    for (; i < n; i++) {
        int c = (unsigned char)s[i];
        if ((c >= '0' && c <= '9') || (hex && wsd_lower(c) >= 'a' && wsd_lower(c) <= 'f')) {
            saw = '0';
            continue;
        }
        if (c == '_') {
            if (saw != '0')
                return 0;
            saw = '_';
            continue;
        }
        if (saw == '_')
            return 0;
        saw = '!';
    }
    return saw != '_';
}

/* strconv.ParseUint(s, 0, 64). */
static int go_parse_uint(const char *s0, uint64_t *out)
{
    const char *s = s0;
    unsigned base = 10;
    uint64_t n = 0, cutoff;
    int underscores = 0;

    *out = 0;
    if (*s == '\0')
        return NUM_SYNTAX;
    if (s[0] == '0') {
        size_t len = strlen(s);
        if (len >= 3 && wsd_lower(s[1]) == 'b') {
            base = 2;
            s += 2;
        } else if (len >= 3 && wsd_lower(s[1]) == 'o') {
            base = 8;
            s += 2;
        } else if (len >= 3 && wsd_lower(s[1]) == 'x') {
            base = 16;
            s += 2;
        } else {
            base = 8;
            s += 1;
        }
    }
    cutoff = UINT64_MAX / base + 1;
    for (; *s; s++) {
        int c = (unsigned char)*s;
        unsigned d;
        if (c == '_') {
            underscores = 1;
            continue;
        } else if (c >= '0' && c <= '9') {
            d = (unsigned)(c - '0');
        } else if (wsd_lower(c) >= 'a' && wsd_lower(c) <= 'z') {
            d = (unsigned)(wsd_lower(c) - 'a' + 10);
        } else {
            return NUM_SYNTAX;
        }
        if (d >= base)
            return NUM_SYNTAX;
        if (n >= cutoff) {
            *out = UINT64_MAX;
            return NUM_RANGE;
        }
        n *= base;
        if (n + d < n) {
            *out = UINT64_MAX;
            return NUM_RANGE;
        }
        n += d;
    }
    if (underscores && !underscore_ok(s0))
        return NUM_SYNTAX;
    *out = n;
    return NUM_OK;
}

/* strconv.ParseInt(s, 0, 64). */
static int go_parse_int(const char *s, int64_t *out)
{
    int neg = 0, rc;
    uint64_t un;

    *out = 0;
    if (*s == '\0')
        return NUM_SYNTAX;
    if (*s == '+') {
        s++;
    } else if (*s == '-') {
        neg = 1;
        s++;
    }
    rc = go_parse_uint(s, &un);
    if (rc == NUM_SYNTAX)
        return rc;
    if (!neg && un >= (uint64_t)1 << 63) {
        *out = INT64_MAX;
        return NUM_RANGE;
    }
    if (neg && un > (uint64_t)1 << 63) {
        *out = INT64_MIN;
        return NUM_RANGE;
    }
    if (neg)
        *out = un == (uint64_t)1 << 63 ? INT64_MIN : -(int64_t)un;
    else
        *out = (int64_t)un;
    return NUM_OK;
}

/* strconv.ParseBool. */
static int go_parse_bool(const char *s, int *out)
{
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    size_t i;
    for (i = 0; i < 6; i++) {
        if (strcmp(s, t[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(s, f[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* Decodes one UTF-8 sequence as Go's utf8.DecodeRune: returns the rune and
 * sets *w to its length, or returns -1 with *w = 1 for an invalid byte. */
static long utf8_decode(const unsigned char *s, size_t n, size_t *w)
{
    unsigned char c = s[0];
    long r;
    size_t len, i;
    unsigned char lo = 0x80, hi = 0xbf;

    *w = 1;
    if (c < 0x80)
        return c;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        r = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        r = c & 0x0f;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        r = c & 0x07;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return -1;
    }
    if (n < len)
        return -1;
    for (i = 1; i < len; i++) {
        unsigned char b = s[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf))
            return -1;
        r = (r << 6) | (b & 0x3f);
    }
    *w = len;
    return r;
}

/* An approximation of Go's unicode.IsPrint for r >= 0x80: format, space
 * separator, private-use and noncharacter code points are not printable;
 * unassigned code points are (Go would escape those too). */
static int rune_printable(long r)
{
    if (r < 0xa0 || r == 0xa0 || r == 0xad || r == 0x1680)
        return 0;
    if ((r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
        (r >= 0x205f && r <= 0x206f) || r == 0x3000 || r == 0xfeff ||
        (r >= 0xfff9 && r <= 0xfffb) || (r >= 0xe000 && r <= 0xf8ff) ||
        r >= 0xf0000 || (r & 0xfffe) == 0xfffe || (r >= 0xfdd0 && r <= 0xfdef) ||
        (r >= 0xe0000 && r <= 0xe007f))
        return 0;
    return 1;
}

/* fmt's %q of a string (strconv.Quote). */
static void fput_quoted(FILE *f, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str), i = 0;

    fputc('"', f);
    while (i < n) {
        size_t w;
        long r = utf8_decode(s + i, n - i, &w);
        if (r < 0) {
            fprintf(f, "\\x%c%c", hex[s[i] >> 4], hex[s[i] & 15]);
            i++;
            continue;
        }
        if (r == '"' || r == '\\') {
            fputc('\\', f);
            fputc((int)r, f);
        } else if (r >= 0x20 && r < 0x7f) {
            fputc((int)r, f);
        } else if (r >= 0x80 && rune_printable(r)) {
            fwrite(s + i, 1, w, f);
        } else {
            switch (r) {
            case '\a': fputs("\\a", f); break;
            case '\b': fputs("\\b", f); break;
            case '\f': fputs("\\f", f); break;
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            case '\v': fputs("\\v", f); break;
            default:
                if (r < 0x20 || r == 0x7f)
                    fprintf(f, "\\x%c%c", hex[r >> 4], hex[r & 15]);
                else if (r < 0x10000)
                    fprintf(f, "\\u%04lx", (unsigned long)r);
                else
                    fprintf(f, "\\U%08lx", (unsigned long)r);
            }
        }
        i += w;
    }
    fputc('"', f);
}

/* ---- Paths (Go's path/filepath on Unix) ---------------------------------- */

/* filepath.Clean. */
static char *path_clean(const char *path)
{
    size_t n = strlen(path), r = 0, w = 0, dotdot = 0;
    int rooted;
    char *out;

    if (n == 0)
        return xstrdup(".");
    out = xmalloc(n + 2);
    rooted = path[0] == '/';
    if (rooted) {
        out[w++] = '/';
        r = dotdot = 1;
    }
    while (r < n) {
        if (path[r] == '/') {
            r++;
        } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
            r++;
        } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                w--;
                while (w > dotdot && out[w] != '/')
                    w--;
            } else if (!rooted) {
                if (w > 0)
                    out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0))
                out[w++] = '/';
            for (; r < n && path[r] != '/'; r++)
                out[w++] = path[r];
        }
    }
    if (w == 0)
        out[w++] = '.';
    out[w] = '\0';
    return out;
}

/* filepath.Join(a, b). */
static char *path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *tmp, *res;

    if (la == 0)
        return lb ? path_clean(b) : xstrdup("");
    if (lb == 0)
        return path_clean(a);
    tmp = xmalloc(la + lb + 2);
    memcpy(tmp, a, la);
    tmp[la] = '/';
    memcpy(tmp + la + 1, b, lb + 1);
    res = path_clean(tmp);
    free(tmp);
    return res;
}

/* os.Getwd: $PWD when it names the current directory, else getcwd(). */
static char *go_getwd(void)
{
    const char *pwd = getenv("PWD");
    struct stat dot, d;
    size_t cap = 256;

    if (pwd && pwd[0] == '/' && stat(".", &dot) == 0 && stat(pwd, &d) == 0 &&
        dot.st_dev == d.st_dev && dot.st_ino == d.st_ino)
        return xstrdup(pwd);
    for (;;) {
        char *buf = xmalloc(cap);
        if (getcwd(buf, cap))
            return buf;
        free(buf);
        if (cap > (1u << 20))
            return NULL;
        cap *= 2;
    }
}

/* filepath.Abs. */
static char *path_abs(const char *p)
{
    char *wd, *res;
    if (p[0] == '/')
        return path_clean(p);
    wd = go_getwd();
    if (!wd)
        return NULL;
    res = path_join(wd, p);
    free(wd);
    return res;
}

/* exec's findExecutable: not a directory, some execute bit. */
static int is_executable(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && !S_ISDIR(st.st_mode) && (st.st_mode & 0111);
}

/* exec.LookPath. An empty PATH element means the current directory (the
 * Go 1.15 behaviour of websocketd 0.4.1's release builds); a result without
 * a '/' gets "./" so that no later PATH search can pick another file. */
static char *look_path(const char *file)
{
    const char *path, *p;

    if (strchr(file, '/'))
        return is_executable(file) ? xstrdup(file) : NULL;
    path = getenv("PATH");
    if (!path || !*path)
        return NULL;
    p = path;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *dir = len ? xstrndup(p, len) : xstrdup(".");
        char *cand = path_join(dir, file);
        free(dir);
        if (is_executable(cand)) {
            if (!strchr(cand, '/')) {
                char *dotted = xmalloc(strlen(cand) + 3);
                memcpy(dotted, "./", 2);
                strcpy(dotted + 2, cand);
                free(cand);
                cand = dotted;
            }
            return cand;
        }
        free(cand);
        if (!end)
            return NULL;
        p = end + 1;
    }
}

/* ---- Help texts ---------------------------------------------------------- */

static const char short_help[] =
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

static const char long_help[] =
    "\n"
    "wsd is a command line tool that will allow any executable program\n"
    "that accepts input on stdin and produces output on stdout to be turned into\n"
    "a WebSocket server. It takes the same options as websocketd 0.4.1 and\n"
    "gives the program the same environment.\n"
    "\n"
    "Usage:\n"
    "\n"
    "  Export a single executable program a WebSocket server:\n"
    "    wsd [options] COMMAND [command args]\n"
    "\n"
    "  Or, export an entire directory of executables as WebSocket endpoints:\n"
    "    wsd [options] --dir=SOMEDIR\n"
    "\n"
    "Options:\n"
    "\n"
    "  --port=PORT                    HTTP port to listen on.\n"
    "                                 Default: 80, or 443 with --ssl.\n"
    "\n"
    "  --address=ADDRESS              Address to bind to (multiple options allowed)\n"
    "                                 Use square brackets to specify IPv6 address.\n"
    "                                 Default: \"\" (all)\n"
    "\n"
    "  --unixsocket=PATH              Also listen on this Unix domain socket; alone\n"
    "                                 (no --port, --address or --redirport), listen\n"
    "                                 only there. Default: none.\n"
    "\n"
    "  --sameorigin={true,false}      Restrict (HTTP 403) protocol upgrades if the\n"
    "                                 Origin header does not match to requested HTTP\n"
    "                                 Host. Default: false.\n"
    "\n"
    "  --origin=host[:port][,host[:port]...]\n"
    "                                 Restrict (HTTP 403) protocol upgrades if the\n"
    "                                 Origin header does not match to one of the host\n"
    "                                 and port combinations listed. If the port is not\n"
    "                                 specified, any port number will match.\n"
    "                                 Default: \"\" (allow any origin)\n"
    "\n"
    "  --ssl                          Listen for HTTPS socket instead of HTTP.\n"
    "  --sslcert=FILE                 Both --sslcert and --sslkey must be given\n"
    "  --sslkey=FILE                  with --ssl, and neither without it.\n"
    "  --sslca=FILE                   With --ssl: require client certificates signed\n"
    "                                 by a CA in FILE (mutual TLS). Default: none.\n"
    "\n"
    "  --redirport=PORT               Open alternative port and redirect HTTP traffic\n"
    "                                 from it to canonical address (mostly useful\n"
    "                                 for HTTPS-only configurations to redirect HTTP\n"
    "                                 traffic)\n"
    "\n"
    "  --passenv VAR[,VAR...]         Lists environment variables allowed to be\n"
    "                                 passed to executed scripts.\n"
    "                                 Default: PATH,LD_LIBRARY_PATH\n"
    "\n"
    "  --binary={true,false}          Switches communication to binary, process reads\n"
    "                                 send to browser as blobs and all reads from the\n"
    "                                 browser are immediately flushed to the process.\n"
    "                                 Default: false\n"
    "\n"
    "  --passstderr={true,false}      Send the process's stderr to clients too: every\n"
    "                                 stdout and stderr line becomes a JSON message\n"
    "                                 {\"stream\":\"stdout\"|\"stderr\",\"data\":...}.\n"
    "                                 Cannot be used with --binary. Default: false\n"
    "\n"
    "  --reverselookup={true,false}   Perform DNS reverse lookups on remote clients.\n"
    "                                 Default: false\n"
    "\n"
    "  --dir=DIR                      Allow all scripts in the local directory\n"
    "                                 to be accessed as WebSockets. If using this,\n"
    "                                 option, then the standard program and args\n"
    "                                 options should not be specified.\n"
    "\n"
    "  --staticdir=DIR                Serve static files in this directory over HTTP.\n"
    "\n"
    "  --cgidir=DIR                   Serve CGI scripts in this directory over HTTP.\n"
    "\n"
    "  --maxforks=N                   Limit number of processes that wsd is\n"
    "                                 able to execute with WS and CGI handlers.\n"
    "                                 When maxforks reached the server will be\n"
    "                                 rejecting requests that require executing\n"
    "                                 another process (unlimited when 0 or negative).\n"
    "                                 Default: as many as the open-files limit\n"
    "                                 allows (4 descriptors each)\n"
    "\n"
    "  --closems=milliseconds         Specifies additional time process needs to gracefully\n"
    "                                 finish before wsd will send termination signals\n"
    "                                 to it. Default: 0 (signals sent after 100ms, 250ms,\n"
    "                                 and 500ms of waiting)\n"
    "\n"
    "  --pingms=milliseconds          Send a WebSocket ping this often, and drop a\n"
    "                                 client that has not answered for twice as long.\n"
    "                                 Default: 0 (no pings)\n"
    "\n"
    "  --maxframesize=BYTES           Largest inbound WebSocket message accepted;\n"
    "                                 a bigger one closes the connection (1009).\n"
    "                                 Default: 1048576 (1 MiB); 0 means unlimited.\n"
    "\n"
    "  --header=\"...\"                 Set custom HTTP header to each answer. For\n"
    "                                 example: --header=\"Server: someserver/0.0.1\"\n"
    "\n"
    "  --header-ws=\"....\"             Same as --header, just applies to only those\n"
    "                                 responses that indicate upgrade of TCP connection\n"
    "                                 to a WebSockets protocol.\n"
    "\n"
    "  --header-http=\"....\"           Same as --header, just applies to only to plain\n"
    "                                 HTTP responses that do not indicate WebSockets\n"
    "                                 upgrade\n"
    "\n"
    "  --help                         Print help and exit.\n"
    "\n"
    "  --version                      Print version and exit.\n"
    "\n"
    "  --license                      Print license and exit.\n"
    "\n"
    "  --devconsole                   Enable interactive development console.\n"
    "                                 This enables you to access the wsd\n"
    "                                 server with a web-browser and use a\n"
    "                                 user interface to quickly test WebSocket\n"
    "                                 endpoints. For example, to test an\n"
    "                                 endpoint at ws://[host]/foo, you can\n"
    "                                 visit http://[host]/foo in your browser.\n"
    "                                 This flag cannot be used in conjunction\n"
    "                                 with --staticdir or --cgidir.\n"
    "\n"
    "  --loglevel=LEVEL               Log level to use (default access).\n"
    "                                 From most to least verbose:\n"
    "                                 debug, trace, access, info, error, fatal\n"
    "                                 (none: no log at all)\n"
    "\n"
    "Copyright 2026 the wsd authors.\n"
    "BSD 2-Clause license: Run 'wsd --license' for details.\n";

static const char license_text[] =
    "Copyright 2026 the wsd authors.\n"
    "All rights reserved.\n"
    "\n"
    "Redistribution and use in source and binary forms, with or without\n"
    "modification, are permitted provided that the following conditions are met:\n"
    "\n"
    "1. Redistributions of source code must retain the above copyright notice,\n"
    "   this list of conditions and the following disclaimer.\n"
    "\n"
    "2. Redistributions in binary form must reproduce the above copyright notice,\n"
    "   this list of conditions and the following disclaimer in the documentation\n"
    "   and/or other materials provided with the distribution.\n"
    "\n"
    "THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS \"AS IS\"\n"
    "AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE\n"
    "IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE\n"
    "ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE\n"
    "LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR\n"
    "CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF\n"
    "SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS\n"
    "INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN\n"
    "CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)\n"
    "ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE\n"
    "POSSIBILITY OF SUCH DAMAGE.\n";

static void print_version(FILE *f)
{
    fputs("wsd " WSD_VERSION, f);
    if (wsd_build_info && *wsd_build_info)
        fprintf(f, " (%s)", wsd_build_info);
    fputc('\n', f);
}

/* Go's FlagSet.defaultUsage: "Usage of NAME:" and PrintDefaults. */
static void print_flag_list(FILE *f)
{
    static const char *const tname[] = {
        [FT_BOOL] = "", [FT_INT] = " int", [FT_UINT] = " uint",
        [FT_STRING] = " string", [FT_LIST] = " value"
    };
    int i;

    fputs("Usage of wsd:\n", f);
    for (i = 0; i < F_COUNT; i++) {
        const struct flagdef *d = &flags[i];
        fprintf(f, "  -%s%s\n    \t%s", d->name, tname[d->type], d->usage);
        if (d->defval) {
            if (d->type == FT_STRING) {
                fputs(" (default ", f);
                fput_quoted(f, d->defval);
                fputc(')', f);
            } else {
                fprintf(f, " (default %s)", d->defval);
            }
        }
        fputc('\n', f);
    }
}

/* ---- Parsing ------------------------------------------------------------- */

typedef struct {
    char **v;
    size_t n;
} strvec;

static void strvec_push(strvec *sv, char *s)
{
    sv->v = xrealloc(sv->v, (sv->n + 2) * sizeof *sv->v);
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
}

static void strvec_free(strvec *sv)
{
    size_t i;
    for (i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

/* The values as Go's flag package would hold them. */
typedef struct {
    int b[F_COUNT];
    int64_t i[F_COUNT];
    uint64_t u[F_COUNT];
    char *s[F_COUNT];        /* NULL: the default */
    strvec l[F_COUNT];
    int pos[F_COUNT];        /* argv index of the first use, 0 if never */
} rawflags;

static void rawflags_free(rawflags *rf)
{
    int i;
    for (i = 0; i < F_COUNT; i++) {
        free(rf->s[i]);
        strvec_free(&rf->l[i]);
    }
}

static const char *sval(const rawflags *rf, int id)
{
    if (rf->s[id])
        return rf->s[id];
    return flags[id].defval ? flags[id].defval : "";
}

/* Go: "flag provided but not defined: -x" etc., then the flag list. */
static int flag_fail(FILE *err)
{
    print_flag_list(err);
    fputs(short_help, err);
    return 2;
}

static int set_value(rawflags *rf, int id, const char *value, FILE *err)
{
    int rc;

    switch (flags[id].type) {
    case FT_INT: {
        int64_t v;
        rc = go_parse_int(value, &v);
        if (rc == NUM_OK) {
            rf->i[id] = v;
            return 0;
        }
        break;
    }
    case FT_UINT: {
        uint64_t v;
        rc = go_parse_uint(value, &v);
        if (rc == NUM_OK && v > flags[id].umax)
            rc = NUM_RANGE;
        if (rc == NUM_OK) {
            rf->u[id] = v;
            return 0;
        }
        break;
    }
    case FT_STRING:
        free(rf->s[id]);
        rf->s[id] = xstrdup(value);
        return 0;
    case FT_LIST:
        strvec_push(&rf->l[id], xstrdup(value));
        return 0;
    default:
        return 0;
    }
    fputs("invalid value ", err);
    fput_quoted(err, value);
    fprintf(err, " for flag -%s: %s\n", flags[id].name,
            rc == NUM_RANGE ? "value out of range" : "parse error");
    return -1;
}

/* Go's FlagSet.Parse. Returns -1 to go on (*first = first non-flag index),
 * or the exit status. */
static int parse_flags(rawflags *rf, int argc, char **argv, int *first, FILE *err)
{
    int i = 1;

    while (i < argc) {
        const char *s = argv[i], *name, *eq, *value = NULL;
        size_t nlen;
        int id, minus = 1;

        if (s[0] != '-' || s[1] == '\0')
            break;
        if (s[1] == '-') {
            minus = 2;
            if (s[2] == '\0') {
                i++;
                break;
            }
        }
        name = s + minus;
        if (name[0] == '\0' || name[0] == '-' || name[0] == '=') {
            fprintf(err, "bad flag syntax: %s\n", s);
            return flag_fail(err);
        }
        i++;
        eq = strchr(name + 1, '=');
        nlen = eq ? (size_t)(eq - name) : strlen(name);
        if (eq)
            value = eq + 1;
        id = find_flag(name, nlen);
        if (id < 0) {
            if ((nlen == 4 && memcmp(name, "help", 4) == 0) || (nlen == 1 && name[0] == 'h')) {
                print_flag_list(err);
                print_version(err);
                fputs(long_help, err);
                return 0;
            }
            fprintf(err, "flag provided but not defined: -%.*s\n", (int)nlen, name);
            return flag_fail(err);
        }
        if (flags[id].type == FT_BOOL) {
            int b = 1;
            if (value && go_parse_bool(value, &b) != 0) {
                fputs("invalid boolean value ", err);
                fput_quoted(err, value);
                fprintf(err, " for -%s: parse error\n", flags[id].name);
                return flag_fail(err);
            }
            rf->b[id] = b;
        } else {
            if (!value && i < argc)
                value = argv[i++];
            if (!value) {
                fprintf(err, "flag needs an argument: -%s\n", flags[id].name);
                return flag_fail(err);
            }
            if (set_value(rf, id, value, err) != 0)
                return flag_fail(err);
        }
        if (!rf->pos[id])
            rf->pos[id] = i - 1;
    }
    *first = i;
    return -1;
}

/* websocketd's splitMimeHeader, then wsd's checks. Returns 0 or prints a
 * line and returns -1. */
static int split_headers(wsd_header_list *hl, const strvec *raw, const char *flag, FILE *err)
{
    size_t k;

    hl->v = raw->n ? xcalloc(raw->n, sizeof *hl->v) : NULL;
    hl->n = 0;
    for (k = 0; k < raw->n; k++) {
        const char *s = raw->v[k], *colon = strchr(s, ':'), *val;
        size_t nlen = colon ? (size_t)(colon - s) : strlen(s), j;
        const char *why = NULL;
        char *name;
        int upper = 1;

        val = colon ? colon + 1 : s + nlen;
        while (*val == ' ')
            val++;
        if (nlen == 0)
            why = "empty header name";
        for (j = 0; j < nlen && !why; j++) {
            if (!wsd_is_tchar((unsigned char)s[j]))
                why = strchr("\r\n", s[j]) ? "CR or LF in the header name"
                                           : "the header name is not an HTTP token";
        }
        if (!why && strpbrk(val, "\r\n"))
            why = "CR or LF in the header value";
        if (why) {
            fprintf(err, "wsd: --%s=", flag);
            fput_quoted(err, s);
            fprintf(err, " refused: %s\n", why);
            return -1;
        }
        /* textproto.CanonicalMIMEHeaderKey */
        name = xstrndup(s, nlen);
        for (j = 0; j < nlen; j++) {
            char c = name[j];
            if (upper && c >= 'a' && c <= 'z')
                c = (char)(c - 32);
            else if (!upper && c >= 'A' && c <= 'Z')
                c = (char)(c + 32);
            name[j] = c;
            upper = c == '-';
        }
        hl->v[hl->n].name = name;
        hl->v[hl->n].value = xstrdup(val);
        hl->n++;
    }
    return 0;
}

/* websocketd's --passenv capture (config.go): skip HTTPS and unset/empty
 * variables, CR/LF → space, strings.TrimSpace, skip if then empty. */
static void capture_passenv(wsd_config *c, const char *list)
{
    strvec names = {0}, values = {0};
    const char *p = list;

    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0) {
            char *key = xstrndup(p, len);
            const char *v = strchr(key, '=') ? NULL : getenv(key);
            strvec_push(&names, key);
            if (strcmp(key, "HTTPS") != 0 && v && *v) {
                char *clean = xstrdup(v), *q;
                const char *t;
                size_t n = strlen(clean);
                for (q = clean; *q; q++) {
                    if (*q == '\r' || *q == '\n')
                        *q = ' ';
                }
                t = wsd_trim_space(clean, &n);
                if (n > 0) {
                    char *kv = xmalloc(len + 1 + n + 1);
                    memcpy(kv, key, len);
                    kv[len] = '=';
                    memcpy(kv + len + 1, t, n);
                    kv[len + 1 + n] = '\0';
                    strvec_push(&values, kv);
                }
                free(clean);
            }
        }
        if (!end)
            break;
        p = end + 1;
    }
    c->passenv = names.v;
    c->npassenv = names.n;
    c->passenv_values = values.v;
    c->npassenv_values = values.n;
}

/* A log line as wsd_log writes it, but to `out` (websocketd's FATAL for
 * --devconsole with --staticdir/--cgidir). */
static void log_fatal(FILE *out, int loglevel, const char *msg)
{
    char ts[64];
    time_t now = time(NULL);
    struct tm tm;

    if (loglevel > WSD_LOG_FATAL)
        return;
    localtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%a, %d %b %Y %H:%M:%S %z", &tm);
    fprintf(out, "%s | %-6s | %-10s | %s | %s\n", ts, "FATAL", "server", "", msg);
}

static char *dup_nonempty(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

static int clamp_int(int64_t v)
{
    return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

static long clamp_long(int64_t v)
{
    return v > LONG_MAX ? LONG_MAX : v < LONG_MIN ? LONG_MIN : (long)v;
}

/* Everything after flag parsing. Returns -1 or an exit status. */
static int configure(wsd_config *c, rawflags *rf, int argc, char **argv, int first,
                     FILE *out, FILE *err)
{
    const char *dir = sval(rf, F_DIR), *staticdir = sval(rf, F_STATICDIR);
    const char *cgidir = sval(rf, F_CGIDIR);
    int nargs = argc - first, loglevel, i;
    struct stat st;

    loglevel = wsd_log_level_parse(sval(rf, F_LOGLEVEL));
    if (loglevel < 0) {
        fprintf(out, "Incorrect loglevel flag '%s'. Use --help to see allowed values.\n",
                sval(rf, F_LOGLEVEL));
        fputs(short_help, err);
        return 1;
    }
    c->loglevel = loglevel;

    if (argc <= 1) {
        fputs("Command line arguments are missing.\n", out);
        fputs(short_help, err);
        return 1;
    }
    if (rf->b[F_VERSION]) {
        print_version(out);
        return 0;
    }
    if (rf->b[F_LICENSE]) {
        print_version(out);
        fputs(license_text, out);
        return 0;
    }

    if (rf->b[F_SSL]) {
        if (!*sval(rf, F_SSLCERT) || !*sval(rf, F_SSLKEY)) {
            fputs("Please specify both --sslcert and --sslkey when requesting --ssl.\n", err);
            return 1;
        }
    } else if (*sval(rf, F_SSLCERT) || *sval(rf, F_SSLKEY) || *sval(rf, F_SSLCA)) {
        fputs("You should not be using --ssl* flags when there is no --ssl option.\n", err);
        return 1;
    }
    if (rf->b[F_BINARY] && rf->b[F_PASSSTDERR]) {
        fputs("Please only specify one of --binary and --passstderr.\n", err);
        return 1;
    }

    capture_passenv(c, sval(rf, F_PASSENV));

    if (nargs < 1 && !*dir && !*staticdir && !*cgidir) {
        fputs("Please specify COMMAND or provide --dir, --staticdir or --cgidir argument.\n", err);
        fputs(short_help, err);
        return 1;
    }
    if (nargs > 0) {
        if (*dir) {
            fputs("Ambiguous. Provided COMMAND and --dir argument. Please only specify just one.\n",
                  err);
            fputs(short_help, err);
            return 1;
        }
        c->command_path = look_path(argv[first]);
        if (!c->command_path) {
            fprintf(err, "Unable to locate specified COMMAND '%s' in OS path.\n", argv[first]);
            fputs(short_help, err);
            return 1;
        }
        c->command = xstrdup(argv[first]);
        c->argc = nargs;
        c->argv = xcalloc((size_t)nargs + 1, sizeof *c->argv);
        c->argv[0] = xstrdup(c->command_path);
        for (i = 1; i < nargs; i++)
            c->argv[i] = xstrdup(argv[first + i]);
    }
    if (*dir) {
        char *abs = path_abs(dir);
        if (!abs) {
            fprintf(err, "Could not resolve absolute path to dir '%s'.\n", dir);
            fputs(short_help, err);
            return 1;
        }
        c->dir = abs;
        if (stat(abs, &st) != 0) {
            fprintf(err, "Could not find your script dir '%s'.\n", dir);
            fputs(short_help, err);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            fprintf(err, "Did you mean to specify COMMAND instead of --dir '%s'?\n", dir);
            fputs(short_help, err);
            return 1;
        }
    }
    if (*cgidir && (stat(cgidir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        fprintf(err, "Your CGI dir '%s' is not pointing to an accessible directory.\n", cgidir);
        fputs(short_help, err);
        return 1;
    }
    if (*staticdir && (stat(staticdir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        fprintf(err, "Your static dir '%s' is not pointing to an accessible directory.\n",
                staticdir);
        fputs(short_help, err);
        return 1;
    }
    if (rf->b[F_DEVCONSOLE] && (*staticdir || *cgidir)) {
        log_fatal(out, loglevel, *staticdir
                  ? "Invalid parameters: --devconsole cannot be used with --staticdir. Pick one."
                  : "Invalid parameters: --devconsole cannot be used with --cgidir. Pick one.");
        return 4;
    }

    /* wsd's own checks */
    if (split_headers(&c->headers, &rf->l[F_HEADER], "header", err) != 0 ||
        split_headers(&c->headers_ws, &rf->l[F_HEADER_WS], "header-ws", err) != 0 ||
        split_headers(&c->headers_http, &rf->l[F_HEADER_HTTP], "header-http", err) != 0)
        return 1;

    if (rf->pos[F_DEFLATEBITS] && rf->u[F_DEFLATEBITS] < 9) {
        fprintf(err, "wsd: --deflatebits must be between 9 and 15\n");
        return 1;
    }
    if (rf->pos[F_DEFLATEMEM] && rf->u[F_DEFLATEMEM] < 1) {
        fprintf(err, "wsd: --deflatemem must be between 1 and 9\n");
        return 1;
    }
    if (rf->b[F_LOSSLESS] && (rf->b[F_BINARY] || rf->b[F_PASSSTDERR])) {
        fprintf(err, "wsd: --lossless cannot be combined with --%s\n",
                rf->b[F_BINARY] ? "binary" : "passstderr");
        return 1;
    }

    c->ssl = rf->b[F_SSL];
    c->port = clamp_int(rf->i[F_PORT]);
    if (c->port == 0)
        c->port = c->ssl ? 443 : 80;
    c->addresses = rf->l[F_ADDRESS].v;
    c->naddresses = rf->l[F_ADDRESS].n;
    rf->l[F_ADDRESS].v = NULL;
    rf->l[F_ADDRESS].n = 0;
    c->sslcert = dup_nonempty(sval(rf, F_SSLCERT));
    c->sslkey = dup_nonempty(sval(rf, F_SSLKEY));
    c->sslca = dup_nonempty(sval(rf, F_SSLCA));
    c->redirport = clamp_int(rf->i[F_REDIRPORT]);
    c->staticdir = dup_nonempty(staticdir);
    c->cgidir = dup_nonempty(cgidir);
    c->devconsole = rf->b[F_DEVCONSOLE];
    c->binary = rf->b[F_BINARY];
    c->reverselookup = rf->b[F_REVERSELOOKUP];
    c->maxforks = rf->pos[F_MAXFORKS] ? clamp_long(rf->i[F_MAXFORKS]) : 1024;
    c->maxforks_auto = !rf->pos[F_MAXFORKS];
    c->closems = (unsigned long)rf->u[F_CLOSEMS];
    c->origin = dup_nonempty(sval(rf, F_ORIGIN));
    c->sameorigin = rf->b[F_SAMEORIGIN];
    c->unixsocket = dup_nonempty(sval(rf, F_UNIXSOCKET));
    /* websocketd main: a bare --unixsocket (no --port, --address or
     * --redirport) serves on the socket only */
    c->unix_only = c->unixsocket && rf->i[F_PORT] == 0 && c->naddresses == 0 &&
                   c->redirport == 0;
    c->pingms = (long)rf->u[F_PINGMS];
    c->maxframesize = rf->pos[F_MAXFRAMESIZE] ? rf->u[F_MAXFRAMESIZE] : 1048576;
    c->passstderr = rf->b[F_PASSSTDERR];
    c->lossless = rf->b[F_LOSSLESS];
    c->workers = rf->pos[F_WORKERS] && rf->u[F_WORKERS] > 0 ? (int)rf->u[F_WORKERS] : 1;
    c->deflate = rf->pos[F_DEFLATE] ? rf->b[F_DEFLATE] : 1;
    /* 12 and 5 (as python-websockets): ~60 KiB per compressing connection
     * instead of ~300 KiB with zlib's 15 and 8 */
    c->deflatebits = rf->pos[F_DEFLATEBITS] ? (int)rf->u[F_DEFLATEBITS] : 12;
    c->deflatemem = rf->pos[F_DEFLATEMEM] ? (int)rf->u[F_DEFLATEMEM] : 5;
    {
        strvec protos = {0};
        const char *p = sval(rf, F_SUBPROTOCOLS);
        while (p && *p) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            size_t n = len;
            const char *t = wsd_trim_space(p, &n);
            if (n > 0)
                strvec_push(&protos, xstrndup(t, n));
            if (!end)
                break;
            p = end + 1;
        }
        c->subprotocols = protos.v;
        c->nsubprotocols = protos.n;
    }
    return -1;
}

int wsd_config_parse(wsd_config *c, int argc, char **argv, FILE *out, FILE *err)
{
    rawflags rf;
    int first = argc, rc;

    memset(c, 0, sizeof *c);
    c->port = 80;
    c->maxforks = 1024;
    c->maxforks_auto = 1;
    c->loglevel = WSD_LOG_ACCESS;
    c->maxframesize = 1048576;

    memset(&rf, 0, sizeof rf);
    rc = parse_flags(&rf, argc, argv, &first, err);
    if (rc < 0)
        rc = configure(c, &rf, argc, argv, first, out, err);
    rawflags_free(&rf);
    if (rc >= 0) {
        int level = c->loglevel;
        wsd_config_free(c);
        c->loglevel = level;
    }
    return rc;
}

static void free_headers(wsd_header_list *hl)
{
    size_t i;
    for (i = 0; i < hl->n; i++) {
        free(hl->v[i].name);
        free(hl->v[i].value);
    }
    free(hl->v);
}

static void free_strv(char **v, size_t n)
{
    size_t i;
    if (!v)
        return;
    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void wsd_config_free(wsd_config *c)
{
    free_strv(c->addresses, c->naddresses);
    free(c->sslcert);
    free(c->sslkey);
    free(c->sslca);
    free(c->dir);
    free(c->staticdir);
    free(c->cgidir);
    free_strv(c->subprotocols, c->nsubprotocols);
    free_strv(c->passenv, c->npassenv);
    free_strv(c->passenv_values, c->npassenv_values);
    free(c->origin);
    free_headers(&c->headers);
    free_headers(&c->headers_ws);
    free_headers(&c->headers_http);
    free(c->unixsocket);
    free(c->command);
    free(c->command_path);
    free_strv(c->argv, (size_t)c->argc);
    memset(c, 0, sizeof *c);
}
