/* config.c — the command line, parsed as websocketd 0.4.1 (Go `flag`,
 * emulated in goflag.c) does.
 *
 * Order of the checks, and the stream of each message, follow websocketd's
 * config.go and main.go (observed with Debian's websocketd 0.4.1):
 *   1. flag syntax and values (Go `flag`): message + flag list + short usage
 *      on stderr, exit 2; -h/-help/--help: flag list + long help, exit 0.
 *      wsd also range-checks numbers here (port_range ...), as Go flag.Values
 *      would: websocketd takes --port=70000 and fails when it listens
 *   2. --loglevel (message on stdout, short usage on stderr, exit 1)
 *   3. no arguments at all (stdout + short usage, exit 1)
 *   4. --version, --license (stdout, exit 0)
 *   5. --ssl/--sslcert/--sslkey consistency (stderr, no usage, exit 1)
 *   6. --binary with --passstderr (websocketd main's check)
 *   7. --passenv captured from the environment
 *   8. COMMAND / --dir / --staticdir / --cgidir (stderr + short usage, exit 1)
 *   9. --devconsole with --staticdir/--cgidir: a FATAL log line on stdout,
 *      exit 4 (websocketd's main.go)
 *  10. wsd's own checks: --header* values (CR/LF, header-name token),
 *      --lossless with --binary/--passstderr, --pty with --lossless/
 *      --passstderr/--linebuffered, --shared's, the --origin list
 * With --config the file's settings are read first (cfgfile.c) and merged
 * under the command line's; the same checks then run for the server and,
 * with the route's settings over the server's, for each route.
 * Steps 2-10 are the functions of checks[], in this order.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfgfile.h"
#include "goflag.h"
#include "log.h"
#include "origin.h"
#include "realip.h"
#include "redisurl.h"
#include "util.h"

const char *wsd_build_info;

/* ---- The flag table ------------------------------------------------------ */

/* Sorted by name: Go's flag list (PrintDefaults) is printed in this order. */
enum fid {
    F_ADDRESS, F_ALLOWROOT, F_AUTHCMD, F_AUTHREALM, F_AUTHTIMEOUT, F_BINARY, F_CGIDIR,
    F_CHDIR, F_CHECK, F_CLOSEMS, F_CONFIG, F_DEFLATE, F_DEFLATEBITS,
    F_DEFLATEMEM, F_DEVCONSOLE, F_DIR, F_DRAINMS, F_GRACEMS, F_GROUP, F_HEADER,
    F_HEADER_HTTP, F_HEADER_WS, F_HEALTHPATH, F_HTPASSWD, F_INETD, F_JOURNAL, F_LICENSE, F_LINEBUFFERED,
    F_LOGFORMAT, F_LOGLEVEL, F_LOSSLESS,
    F_MAXFORKS, F_MAXFRAMESIZE, F_MAXPERIP, F_METRICS, F_ORIGIN, F_PASSENV, F_PASSSTDERR,
    F_PINGMS, F_PORT, F_PROXYPROTOCOL, F_PTY, F_PUBLICSTATIC, F_RATEBURST, F_RATELIMIT,
    F_REDIRPORT, F_REDIS, F_REDISCHANNEL, F_REVERSELOOKUP, F_RLIMIT, F_SAMEORIGIN, F_SHARED,
    F_SHAREDALWAYS, F_SHAREDDROP, F_SHAREDEDGE, F_SHAREDQUEUE, F_SSL, F_SSLCA, F_SSLCERT,
    F_SSLKEY, F_STATICDIR, F_SUBPROTOCOLS, F_TRUSTPROXY, F_UNIXSOCKET, F_UNIXSOCKETGROUP,
    F_UNIXSOCKETMODE, F_UNIXSOCKETUSER, F_USER, F_VERSION, F_WORKERS, F_COUNT
};

/* Ranges, as the Set of a Go flag.Value would check them: NULL, or the
 * reason in "invalid value \"V\" for flag -NAME: <reason>" (exit 2). The
 * bounds keep every value meaningful where the server uses it: a port fits
 * 16 bits; millisecond waits stay below 2^31 (about 24.8 days), far from
 * overflowing the timer sums; --maxframesize stays within a WebSocket
 * length (2^63 - 1); --maxforks fits an int, so sharing it out between
 * --workers cannot overflow. */
#define MS_MAX 2147483647

static const char *port_range(const wsd_goflag_value *v)
{
    return v->i >= 0 && v->i <= 65535 ? NULL
           : "invalid port, must be 0 to 65535 (0: 80, or 443 with --ssl)";
}

static const char *redirport_range(const wsd_goflag_value *v)
{
    return v->i >= 0 && v->i <= 65535 ? NULL : "invalid port, must be 0 to 65535 (0: none)";
}

static const char *maxforks_range(const wsd_goflag_value *v)
{
    return v->i <= INT_MAX ? NULL : "must be at most 2147483647 (0 or less: unlimited)";
}

static const char *maxframesize_range(const wsd_goflag_value *v)
{
    return v->u <= INT64_MAX ? NULL
           : "must be at most 9223372036854775807, the largest WebSocket length (0: unlimited)";
}

static const char *closems_range(const wsd_goflag_value *v)
{
    return v->u <= MS_MAX ? NULL : "must be 0 to 2147483647 milliseconds";
}

static const char *pingms_range(const wsd_goflag_value *v)
{
    return v->u <= MS_MAX ? NULL : "must be 0 to 2147483647 milliseconds (0: no pings)";
}

static const char *drainms_range(const wsd_goflag_value *v)
{
    return v->u <= MS_MAX ? NULL : "must be 0 to 2147483647 milliseconds (0: close 1001 at once)";
}

static const char *workers_range(const wsd_goflag_value *v)
{
    return v->u >= 1 && v->u <= 256 ? NULL : "must be 1 to 256";
}

static const char *deflatebits_range(const wsd_goflag_value *v)
{
    return v->u >= 9 && v->u <= 15 ? NULL : "must be 9 to 15";
}

static const char *sharedqueue_range(const wsd_goflag_value *v)
{
    return v->u >= 1024 && v->u <= ((uint64_t)1 << 40) ? NULL
           : "must be 1024 to 1099511627776 bytes";
}

static const char *sharededge_range(const wsd_goflag_value *v)
{
    return v->u >= 1 && v->u <= 1023 ? NULL : "must be 1 to 1023 (each edge its own number)";
}

static const char *deflatemem_range(const wsd_goflag_value *v)
{
    return v->u >= 1 && v->u <= 9 ? NULL : "must be 1 to 9";
}

const char *wsd_config_hostport(const char *s, char **host, int *port)
{
    const char *colon = strrchr(s, ':'), *p;
    size_t hl;
    long v = 0;

    *host = NULL;
    if (!colon)
        return "must be ADDR:PORT (e.g. 127.0.0.1:9100, [::1]:9100, :9100 for all interfaces)";
    hl = (size_t)(colon - s);
    if (memchr(s, ':', hl) && !(hl >= 2 && s[0] == '[' && s[hl - 1] == ']'))
        return "an IPv6 address needs brackets: [::1]:9100";
    if (hl >= 1 && (s[0] == '[') != (s[hl - 1] == ']'))
        return "unbalanced brackets in the address";
    for (p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9' || v > 65535)
            return "the port must be a number, 1 to 65535";
        v = v * 10 + (*p - '0');
    }
    if (p == colon + 1 || v < 1 || v > 65535)
        return "the port must be a number, 1 to 65535";
    *host = xstrndup(s, hl);
    *port = (int)v;
    return NULL;
}

/* --logformat, --metrics, --healthpath (observability: log.h, monitor.h). */
static const char *logformat_check(const wsd_goflag_value *v)
{
    return wsd_log_format_parse(v->s) >= 0 ? NULL : "must be text or json";
}

static const char *metrics_check(const wsd_goflag_value *v)
{
    char *host = NULL;
    int port;
    const char *why = wsd_config_hostport(v->s, &host, &port);
    free(host);
    return why;
}

static const char *healthpath_check(const wsd_goflag_value *v)
{
    size_t i, n = strlen(v->s);

    if (n == 0 || v->s[0] != '/' || n > 1024)
        return "must be a URL path starting with / (at most 1024 bytes)";
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v->s[i];
        if (ch <= ' ' || ch >= 0x7f || ch == '?' || ch == '#')
            return "must be a URL path: printable ASCII without spaces, ? or #";
    }
    return NULL;
}

static const char *authtimeout_range(const wsd_goflag_value *v)
{
    return v->u >= 1 && v->u <= 600000 ? NULL : "must be 1 to 600000 milliseconds";
}

static const char *perclient_range(const wsd_goflag_value *v)
{
    return v->u <= 1000000 ? NULL : "must be 0 to 1000000 (0: no limit)";
}

static const char *rateburst_range(const wsd_goflag_value *v)
{
    return v->u >= 1 && v->u <= 10000 ? NULL : "must be 1 to 10000";
}

static const wsd_goflag flags[F_COUNT] = {
    [F_ADDRESS]       = {"address", WSD_GOFLAG_LIST, NULL, NULL,
        "Interfaces to bind to (e.g. 127.0.0.1 or [::1])."},
    [F_ALLOWROOT]     = {"allowroot", WSD_GOFLAG_BOOL, NULL, NULL,
        "Run programs as root when wsd runs as root without --user"},
    [F_AUTHCMD]       = {"authcmd", WSD_GOFLAG_STRING, NULL, NULL,
        "Program run per request to authorize it (exit 0: allowed; NAME=value lines join the environment)"},
    [F_AUTHREALM]     = {"authrealm", WSD_GOFLAG_STRING, "wsd", NULL,
        "Realm of the Basic authentication challenge"},
    [F_AUTHTIMEOUT]   = {"authtimeout", WSD_GOFLAG_UINT, "5000", authtimeout_range,
        "Milliseconds --authcmd may take; then 503"},
    [F_BINARY]        = {"binary", WSD_GOFLAG_BOOL, NULL, NULL,
        "Set wsd to experimental binary mode (default is line by line)"},
    [F_CGIDIR]        = {"cgidir", WSD_GOFLAG_STRING, NULL, NULL,
        "Serve CGI scripts from this directory over HTTP"},
    [F_CHDIR]         = {"chdir", WSD_GOFLAG_STRING, NULL, NULL,
        "Working directory of the programs"},
    [F_CHECK]         = {"check", WSD_GOFLAG_BOOL, NULL, NULL,
        "Check the configuration (command line and --config file), say so and exit: 0 if good, 1 if not"},
    [F_CLOSEMS]       = {"closems", WSD_GOFLAG_UINT, NULL, closems_range,
        "Milliseconds added to each wait before SIGINT, SIGTERM and SIGKILL"},
    [F_CONFIG]        = {"config", WSD_GOFLAG_STRING, NULL, NULL,
        "Configuration file: settings named as these flags, [route /PATH] sections; the command line wins; SIGHUP reloads it"},
    [F_DEFLATE]       = {"deflate", WSD_GOFLAG_BOOL, "true", NULL,
        "Compress messages with permessage-deflate when the client offers it"},
    [F_DEFLATEBITS]   = {"deflatebits", WSD_GOFLAG_UINT, "12", deflatebits_range,
        "Compression window bits for permessage-deflate, 9..15"},
    [F_DEFLATEMEM]    = {"deflatemem", WSD_GOFLAG_UINT, "5", deflatemem_range,
        "zlib memory level for permessage-deflate, 1..9"},
    [F_DEVCONSOLE]    = {"devconsole", WSD_GOFLAG_BOOL, NULL, NULL,
        "Enable development console (cannot be used in conjunction with --staticdir)"},
    [F_DIR]           = {"dir", WSD_GOFLAG_STRING, NULL, NULL,
        "Base directory for WebSocket scripts"},
    [F_DRAINMS]       = {"drainms", WSD_GOFLAG_UINT, "300000", drainms_range,
        "After an upgrade (SIGUSR2), how long the old process serves its open connections before closing them with 1001"},
    [F_GRACEMS]       = {"gracems", WSD_GOFLAG_UINT, NULL, closems_range,
        "On SIGTERM/SIGQUIT/SIGINT, keep serving this many milliseconds with the health endpoint answering 503 before shutting down"},
    [F_GROUP]         = {"group", WSD_GOFLAG_STRING, NULL, NULL,
        "Group to run as after binding the ports (default: --user's)"},
    [F_HEADER]        = {"header", WSD_GOFLAG_LIST, NULL, NULL,
        "Custom headers for any response."},
    [F_HEADER_HTTP]   = {"header-http", WSD_GOFLAG_LIST, NULL, NULL,
        "Custom headers for all but WebSocket upgrade HTTP responses."},
    [F_HEADER_WS]     = {"header-ws", WSD_GOFLAG_LIST, NULL, NULL,
        "Custom headers for successful WebSocket upgrade responses."},
    [F_HEALTHPATH]    = {"healthpath", WSD_GOFLAG_STRING, NULL, healthpath_check,
        "URL path answering 200 while wsd accepts connections and 503 while it drains (load balancer health checks)"},
    [F_JOURNAL]       = {"journal", WSD_GOFLAG_BOOL, NULL, NULL,
        "Start each log line with its syslog priority (<6>) for journald (default: when stdout is the journal's stream)"},
    [F_INETD]         = {"inetd", WSD_GOFLAG_BOOL, NULL, NULL,
        "Serve one connection on stdin/stdout (inetd, xinetd, socat, systemd Accept=yes) instead of listening"},
    [F_HTPASSWD]      = {"htpasswd", WSD_GOFLAG_STRING, NULL, NULL,
        "Require HTTP Basic authentication against this htpasswd file (bcrypt, SHA-512 or SHA-256 crypt)"},
    [F_LICENSE]       = {"license", WSD_GOFLAG_BOOL, NULL, NULL,
        "Print license and exit"},
    [F_LINEBUFFERED]  = {"linebuffered", WSD_GOFLAG_BOOL, NULL, NULL,
        "The program's stdout is a raw pseudo-terminal, so it line-buffers: each line reaches the client as it is printed"},
    [F_LOGFORMAT]     = {"logformat", WSD_GOFLAG_STRING, "text", logformat_check,
        "Log format: text (websocketd's) or json (one object per line)"},
    [F_LOGLEVEL]      = {"loglevel", WSD_GOFLAG_STRING, "access", NULL,
        "Log level, one of: debug, trace, access, info, error, fatal"},
    [F_LOSSLESS]      = {"lossless", WSD_GOFLAG_BOOL, NULL, NULL,
        "Lossless message mode: each message is a record \"text|binary LEN\\n<payload>\\n\" on stdin/stdout"},
    [F_MAXFORKS]      = {"maxforks", WSD_GOFLAG_INT, NULL, maxforks_range,
        "Max forks, zero or negative means unlimited (default: as many as the open-files limit allows)"},
    [F_MAXFRAMESIZE]  = {"maxframesize", WSD_GOFLAG_UINT, "1048576", maxframesize_range,
        "Max inbound WebSocket message size in bytes (0 = unlimited)"},
    [F_METRICS]       = {"metrics", WSD_GOFLAG_STRING, NULL, metrics_check,
        "ADDR:PORT of a plain-HTTP listener serving Prometheus metrics (/metrics) and health (/health)"},
    [F_MAXPERIP]      = {"maxperip", WSD_GOFLAG_UINT, NULL, perclient_range,
        "Most connections at once per client address (0: no limit); more get 429"},
    [F_ORIGIN]        = {"origin", WSD_GOFLAG_STRING, NULL, NULL,
        "Restrict upgrades if origin does not match the list"},
    [F_PASSENV]       = {"passenv", WSD_GOFLAG_STRING, "PATH,LD_LIBRARY_PATH", NULL,
        "List of envvars to pass to subprocesses (others will be cleaned out)"},
    [F_PASSSTDERR]    = {"passstderr", WSD_GOFLAG_BOOL, NULL, NULL,
        "Forward STDERR to WebSocket clients as tagged JSON messages, alongside tagged STDOUT"},
    [F_PINGMS]        = {"pingms", WSD_GOFLAG_UINT, NULL, pingms_range,
        "WebSocket ping interval in milliseconds (0 disables)"},
    [F_PORT]          = {"port", WSD_GOFLAG_INT, NULL, port_range,
        "HTTP port to listen on"},
    [F_PTY]           = {"pty", WSD_GOFLAG_BOOL, NULL, NULL,
        "Terminal mode: the program runs on a pseudo-terminal; raw bytes both ways in binary messages, window size from text messages"},
    [F_PROXYPROTOCOL] = {"proxyprotocol", WSD_GOFLAG_BOOL, NULL, NULL,
        "Every connection starts with a PROXY protocol v1/v2 header (HAProxy send-proxy, nginx proxy_protocol)"},
    [F_PUBLICSTATIC]  = {"publicstatic", WSD_GOFLAG_BOOL, NULL, NULL,
        "Serve --staticdir files without authentication"},
    [F_RATEBURST]     = {"rateburst", WSD_GOFLAG_UINT, "10", rateburst_range,
        "Handshakes a client may make at once under --ratelimit"},
    [F_RATELIMIT]     = {"ratelimit", WSD_GOFLAG_UINT, NULL, perclient_range,
        "Handshakes a minute per client address (0: no limit); more get 429 with Retry-After"},
    [F_REDIRPORT]     = {"redirport", WSD_GOFLAG_INT, NULL, redirport_range,
        "HTTP port to redirect to canonical --port address"},
    [F_REDIS]         = {"redis", WSD_GOFLAG_STRING, NULL, NULL,
        "With --shared or --sharededge: Redis server (redis://[[user]:password@]host[:port][/db]) linking the program's wsd and its edges"},
    [F_REDISCHANNEL]  = {"redischannel", WSD_GOFLAG_STRING, "wsd", NULL,
        "With --redis: prefix of the Redis channels (one per deployment sharing a Redis)"},
    [F_REVERSELOOKUP] = {"reverselookup", WSD_GOFLAG_BOOL, NULL, NULL,
        "Perform reverse DNS lookups on remote clients"},
    [F_RLIMIT]        = {"rlimit", WSD_GOFLAG_STRING, NULL, NULL,
        "Resource limits of each program: as=,core=,cpu=,data=,fsize=,nofile=,nproc=,stack= (K/M/G suffixes)"},
    [F_SAMEORIGIN]    = {"sameorigin", WSD_GOFLAG_BOOL, NULL, NULL,
        "Restrict upgrades if origin and host headers differ"},
    [F_SHARED]        = {"shared", WSD_GOFLAG_BOOL, NULL, NULL,
        "One running program serves every client of its endpoint (broadcast; with --lossless, addressed)"},
    [F_SHAREDALWAYS]  = {"sharedalways", WSD_GOFLAG_BOOL, NULL, NULL,
        "With --shared: start the program at start-up, keep it running, restart it when it exits"},
    [F_SHAREDDROP]    = {"shareddrop", WSD_GOFLAG_BOOL, NULL, NULL,
        "With --shared: a client over --sharedqueue loses its oldest messages instead of being closed"},
    [F_SHAREDEDGE]    = {"sharededge", WSD_GOFLAG_UINT, NULL, sharededge_range,
        "Run no program: serve the shared program of the --redis program's wsd as edge number N (1..1023)"},
    [F_SHAREDQUEUE]   = {"sharedqueue", WSD_GOFLAG_UINT, "1048576", sharedqueue_range,
        "With --shared: bytes that may wait for one client before it is closed (1008) or dropped"},
    [F_SSL]           = {"ssl", WSD_GOFLAG_BOOL, NULL, NULL,
        "Use TLS on listening socket (see also --sslcert and --sslkey)"},
    [F_SSLCA]         = {"sslca", WSD_GOFLAG_STRING, NULL, NULL,
        "CA certificate file for client certificate verification (mutual TLS)"},
    [F_SSLCERT]       = {"sslcert", WSD_GOFLAG_STRING, NULL, NULL,
        "Should point to certificate PEM file when --ssl is used"},
    [F_SSLKEY]        = {"sslkey", WSD_GOFLAG_STRING, NULL, NULL,
        "Should point to certificate private key file when --ssl is used"},
    [F_STATICDIR]     = {"staticdir", WSD_GOFLAG_STRING, NULL, NULL,
        "Serve static content from this directory over HTTP"},
    [F_SUBPROTOCOLS]  = {"subprotocols", WSD_GOFLAG_STRING, NULL, NULL,
        "Comma-separated WebSocket subprotocols the program speaks; the client's first supported offer is chosen"},
    [F_TRUSTPROXY]    = {"trustproxy", WSD_GOFLAG_STRING, NULL, NULL,
        "Proxies (addresses, networks, \"unix\") whose Forwarded/X-Forwarded-* headers name the client"},
    [F_UNIXSOCKET]    = {"unixsocket", WSD_GOFLAG_STRING, NULL, NULL,
        "Path of a Unix domain socket to listen on, in addition to (or instead of) --address/--port"},
    [F_UNIXSOCKETGROUP] = {"unixsocketgroup", WSD_GOFLAG_STRING, NULL, NULL,
        "Group of the --unixsocket file"},
    [F_UNIXSOCKETMODE] = {"unixsocketmode", WSD_GOFLAG_STRING, NULL, NULL,
        "Permissions of the --unixsocket file, octal (e.g. 0660)"},
    [F_UNIXSOCKETUSER] = {"unixsocketuser", WSD_GOFLAG_STRING, NULL, NULL,
        "Owner of the --unixsocket file"},
    [F_USER]          = {"user", WSD_GOFLAG_STRING, NULL, NULL,
        "User to run as (wsd and its programs) after binding the ports and reading the TLS files"},
    [F_VERSION]       = {"version", WSD_GOFLAG_BOOL, NULL, NULL,
        "Print version and exit"},
    [F_WORKERS]       = {"workers", WSD_GOFLAG_UINT, "1", workers_range,
        "Event-loop processes sharing the listeners (SO_REUSEPORT)"},
};

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

/* exec's findExecutable: 0 for a file with some execute bit, else ENOENT
 * (or another stat error), EISDIR or EACCES (no execute bit). */
static int find_executable(const char *p)
{
    struct stat st;
    if (stat(p, &st) != 0)
        return ENOENT;
    if (S_ISDIR(st.st_mode))
        return EISDIR;
    return st.st_mode & 0111 ? 0 : EACCES;
}

/* exec.LookPath. An empty PATH element means the current directory (the
 * Go 1.15 behaviour of websocketd 0.4.1's release builds); a result without
 * a '/' gets "./" so that no later PATH search can pick another file.
 * Returns the path, or NULL with *why (findExecutable's error for a name
 * with a '/'; else EACCES when a file of that name but without an execute
 * bit was found on the way, ENOENT when none was) and *seen (that file, for
 * EACCES; the caller frees it). */
static char *look_path(const char *file, int *why, char **seen)
{
    const char *path, *p;

    *seen = NULL;
    if (strchr(file, '/')) {
        *why = find_executable(file);
        return *why ? NULL : xstrdup(file);
    }
    *why = ENOENT;
    path = getenv("PATH");
    if (!path || !*path)
        return NULL;
    p = path;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *dir = len ? xstrndup(p, len) : xstrdup(".");
        char *cand = path_join(dir, file);
        int rc = find_executable(cand);
        free(dir);
        if (rc == 0) {
            if (!strchr(cand, '/')) {
                char *dotted = xmalloc(strlen(cand) + 3);
                memcpy(dotted, "./", 2);
                strcpy(dotted + 2, cand);
                free(cand);
                cand = dotted;
            }
            free(*seen);
            *seen = NULL;
            return cand;
        }
        if (rc == EACCES && !*seen) {
            *why = EACCES;
            *seen = cand;
        } else {
            free(cand);
        }
        if (!end)
            return NULL;
        p = end + 1;
    }
}

/* ---- Help texts ---------------------------------------------------------- */

/* The two ways to run wsd, in both helps (as websocketd's). */
#define USAGE \
    "Usage:\n" \
    "\n" \
    "  Export a single executable program a WebSocket server:\n" \
    "    wsd [options] COMMAND [command args]\n" \
    "\n" \
    "  Or, export an entire directory of executables as WebSocket endpoints:\n" \
    "    wsd [options] --dir=SOMEDIR\n" \
    "\n"

static const char short_help[] =
    "\n"
    USAGE
    "  Or, show extended help message using:\n"
    "    wsd --help\n";

static const char long_help[] =
    "\n"
    "wsd is a command line tool that will allow any executable program\n"
    "that accepts input on stdin and produces output on stdout to be turned into\n"
    "a WebSocket server. It takes the same options as websocketd 0.4.1 and\n"
    "gives the program the same environment.\n"
    "\n"
    USAGE
    "Options:\n"
    "\n"
    "  --port=PORT                    HTTP port to listen on, 0 to 65535.\n"
    "                                 Default (or 0): 80, or 443 with --ssl.\n"
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
    "  --lossless={true,false}        Lossless message mode: every message crosses\n"
    "                                 stdin and stdout as one record, \"text LEN\\n\"\n"
    "                                 or \"binary LEN\\n\", the payload, then \"\\n\",\n"
    "                                 keeping boundaries and types both ways.\n"
    "                                 Cannot be used with --binary or --passstderr.\n"
    "                                 Default: false\n"
    "\n"
    "  --linebuffered={true,false}    The program's stdout is a pseudo-terminal in\n"
    "                                 raw mode (stdin and stderr stay pipes), so C\n"
    "                                 stdio, Python, awk, grep and sed flush every\n"
    "                                 line: output reaches clients as it is printed.\n"
    "                                 Bytes, messages, EOF and exit status are as\n"
    "                                 with a pipe, but programs that check isatty(1)\n"
    "                                 change (ls prints columns). Default: false\n"
    "\n"
    "  --pty={true,false}             Terminal mode: stdin, stdout and stderr are one\n"
    "                                 pseudo-terminal, the program's controlling\n"
    "                                 terminal (TERM=xterm-256color). Its output goes\n"
    "                                 out as binary messages; binary messages are\n"
    "                                 typed into it; a text message is a control\n"
    "                                 message: {\"type\":\"resize\",\"rows\":R,\"cols\":C}\n"
    "                                 (1 to 1000). On disconnect its process group\n"
    "                                 gets SIGHUP, then SIGTERM and SIGKILL. With\n"
    "                                 --devconsole the console page is a terminal.\n"
    "                                 A shell on a public address is a remote shell:\n"
    "                                 put it behind a reverse proxy with\n"
    "                                 authentication. Cannot be used with\n"
    "                                 --lossless, --passstderr or --linebuffered.\n"
    "                                 Default: false\n"
    "\n"
    "  --shared={true,false}          One running program serves every client of its\n"
    "                                 endpoint: each message it writes goes to every\n"
    "                                 client, each client's message reaches its stdin\n"
    "                                 whole. With --lossless: addressed records (join,\n"
    "                                 leave, from=, to=, close). Default: false\n"
    "\n"
    "  --sharedalways={true,false}    With --shared: start the program at start-up and\n"
    "                                 restart it (with backoff) when it exits, instead\n"
    "                                 of running it while clients are connected.\n"
    "\n"
    "  --redis=URL                    With --shared: publish the program's output\n"
    "                                 through this Redis server to every edge (and\n"
    "                                 take their clients' messages); with\n"
    "                                 --sharededge: subscribe to it. URL:\n"
    "                                 redis://[[user]:password@]host[:port][/db].\n"
    "                                 The program then always runs (as with\n"
    "                                 --sharedalways). Default: none\n"
    "\n"
    "  --redischannel=NAME            With --redis: prefix of the channels, the\n"
    "                                 same on the program's wsd and its edges;\n"
    "                                 one per deployment sharing a Redis server.\n"
    "                                 Default: wsd\n"
    "\n"
    "  --sharededge=N                 This wsd is edge number N (1 to 1023, unique\n"
    "                                 per edge): it runs no program, its clients\n"
    "                                 get the output of the wsd that runs it,\n"
    "                                 through --redis. COMMAND or --dir name the\n"
    "                                 endpoints (COMMAND is not looked up).\n"
    "\n"
    "  --sharedqueue=BYTES            With --shared: bytes that may wait for one slow\n"
    "                                 client; beyond, it is closed (1008). Default:\n"
    "                                 1048576\n"
    "\n"
    "  --shareddrop={true,false}      With --shared: a client over --sharedqueue loses\n"
    "                                 its oldest messages (counted) instead of being\n"
    "                                 closed (for latest-value feeds). Default: false\n"
    "\n"
    "  --subprotocols=NAME[,NAME...]  WebSocket subprotocols the program speaks; the\n"
    "                                 first the client offers is chosen and given to\n"
    "                                 the program as WEBSOCKET_PROTOCOL. Default: none\n"
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
    "  --workers=N                    Run N event-loop processes (1 to 256) sharing\n"
    "                                 the listening sockets; a given --maxforks is\n"
    "                                 shared out between them. Default: 1\n"
    "\n"
    "  --drainms=milliseconds         After a binary upgrade (SIGUSR2: the new wsd\n"
    "                                 takes the listening sockets over), the old one\n"
    "                                 serves its open connections this long, then\n"
    "                                 closes them with 1001. Default: 300000 (5 min)\n"
    "\n"
    "  --inetd={true,false}           Serve one connection, on stdin and stdout (a\n"
    "                                 socket: inetd, xinetd, socat EXEC:) or passed\n"
    "                                 by systemd (Accept=yes), then exit; no\n"
    "                                 listening. Log lines go to stderr. Default: false\n"
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
    "  --deflate={true,false}         Compress messages with permessage-deflate\n"
    "                                 (RFC 7692) when the client offers it.\n"
    "                                 Default: true\n"
    "\n"
    "  --deflatebits=N                Compression window bits, 9 to 15. Default: 12\n"
    "\n"
    "  --deflatemem=N                 zlib memory level, 1 to 9. Default: 5\n"
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
    "  --config=FILE                  Read settings from FILE first: one `key = value`\n"
    "                                 a line, keys named as these flags (`command`\n"
    "                                 and `arg` for COMMAND), and [route /PATH]\n"
    "                                 sections giving URL paths programs and options\n"
    "                                 of their own. The command line wins over the\n"
    "                                 file. SIGHUP reads it again: new connections\n"
    "                                 get the new settings, open ones keep theirs.\n"
    "\n"
    "  --check                        Check the configuration (the command line and\n"
    "                                 the --config file), say what is wrong or that\n"
    "                                 it is good, and exit: 0 if good, 1 if not.\n"
    "\n"
    "Access control (docs/security.md):\n"
    "\n"
    "  --htpasswd=FILE                Require HTTP Basic authentication (every request;\n"
    "                                 see --publicstatic) against an htpasswd file of\n"
    "                                 bcrypt, SHA-512 or SHA-256 crypt hashes (htpasswd\n"
    "                                 -B, -5, -2); re-read on SIGHUP or when it changes.\n"
    "  --authrealm=REALM              Realm of the Basic challenge. Default: wsd\n"
    "  --authcmd=PROGRAM              Run PROGRAM for every request with its CGI\n"
    "                                 environment: exit 0 allows it and each NAME=value\n"
    "                                 line it prints joins the program's environment\n"
    "                                 (REMOTE_USER=name sets the user); another exit\n"
    "                                 refuses it (403, or a \"Status: NNN\" line).\n"
    "  --authtimeout=MS               Longest --authcmd run, 1 to 600000; then 503.\n"
    "                                 Default: 5000\n"
    "  --publicstatic                 Serve --staticdir files without authentication.\n"
    "\n"
    "  --trustproxy=ADDR[/BITS][,...] Proxies (addresses, networks, \"unix\" for the\n"
    "                                 Unix socket) whose Forwarded, X-Forwarded-For,\n"
    "                                 X-Real-IP, X-Forwarded-Proto and X-Forwarded-Host\n"
    "                                 headers name the client. Default: none\n"
    "  --proxyprotocol                Every connection begins with a PROXY protocol v1\n"
    "                                 or v2 header (HAProxy send-proxy, nginx\n"
    "                                 proxy_protocol); without one it is closed.\n"
    "\n"
    "  --user=NAME                    After binding the ports and reading the TLS\n"
    "                                 files, run as this user: wsd and its programs.\n"
    "                                 As root without --user, wsd refuses to run\n"
    "                                 programs.\n"
    "  --group=NAME                   ... and as this group (default: the user's).\n"
    "  --allowroot                    Run programs as root all the same.\n"
    "  --chdir=DIR                    Working directory of the programs.\n"
    "  --rlimit=NAME=N[,...]          Limits of each program: as, core, cpu, data,\n"
    "                                 fsize, nofile, nproc, stack (bytes with K, M, G\n"
    "                                 or T; cpu in seconds; or unlimited).\n"
    "  --unixsocketmode=MODE          Permissions of the --unixsocket file (octal).\n"
    "  --unixsocketuser=NAME          Owner of the --unixsocket file.\n"
    "  --unixsocketgroup=NAME         Group of the --unixsocket file.\n"
    "\n"
    "  --maxperip=N                   Most connections at once per client address\n"
    "                                 (IPv6: per /64), 0 to 1000000; more get 429.\n"
    "                                 Default: 0 (no limit)\n"
    "  --ratelimit=N                  WebSocket handshakes (and failed logins) a\n"
    "                                 minute per client address; more get 429 with\n"
    "                                 Retry-After. Default: 0 (no limit)\n"
    "  --rateburst=N                  ... of which at once, 1 to 10000. Default: 10\n"
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
    "  --logformat=FORMAT             text (websocketd's lines) or json (one object\n"
    "                                 per line: time, level, category, url, id,\n"
    "                                 remote, command, origin, pid, msg).\n"
    "                                 Default: text\n"
    "\n"
    "  --journal={true,false}         Start each log line with its syslog priority\n"
    "                                 (<6>, <3>, ...) as journald reads it. Default:\n"
    "                                 true when stdout is the journal's stream\n"
    "                                 (JOURNAL_STREAM), else false.\n"
    "\n"
    "  --metrics=ADDR:PORT            Serve Prometheus metrics at\n"
    "                                 http://ADDR:PORT/metrics (and the health\n"
    "                                 answer at /health) on a plain-HTTP listener\n"
    "                                 of its own; :PORT for all interfaces.\n"
    "                                 Default: none\n"
    "\n"
    "  --healthpath=PATH              Answer PATH on the WebSocket listeners with\n"
    "                                 200 while wsd accepts connections and 503\n"
    "                                 while it drains or shuts down (for load\n"
    "                                 balancers). Default: none\n"
    "\n"
    "  --gracems=milliseconds         On SIGTERM, SIGQUIT or SIGINT keep serving\n"
    "                                 (and accepting) this long while health\n"
    "                                 checks get 503, then shut down gracefully;\n"
    "                                 a second signal cuts it short. Default: 0\n"
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

/* Go's FlagSet.defaultUsage: "Usage of wsd:" and PrintDefaults. */
static void print_flag_list(FILE *f)
{
    wsd_goflag_print_defaults(flags, F_COUNT, "wsd", f);
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

static const char *sval(const wsd_goflag_value *rf, int id)
{
    if (rf[id].s)
        return rf[id].s;
    return flags[id].defval ? flags[id].defval : "";
}

/* Go: "flag provided but not defined: -x" etc., then the flag list. */
static int flag_fail(FILE *err)
{
    print_flag_list(err);
    fputs(short_help, err);
    return 2;
}

/* Go's FlagSet.Parse with websocketd's Usage. Returns -1 to go on (*first
 * = first non-flag index), or the exit status. */
static int parse_flags(wsd_goflag_value *rf, int argc, char **argv, int *first, FILE *err)
{
    switch (wsd_goflag_parse(flags, F_COUNT, rf, argc, argv, first, err)) {
    case WSD_GOFLAG_OK:
        return -1;
    case WSD_GOFLAG_HELP:
        print_flag_list(err);
        print_version(err);
        fputs(long_help, err);
        return 0;
    default:
        return flag_fail(err);
    }
}

/* websocketd's splitMimeHeader, then wsd's checks. Returns NULL, or the
 * problem (a static buffer: "wsd: --header=\"...\" refused: why"). */
static const char *split_headers(wsd_header_list *hl, const wsd_goflag_value *raw,
                                 const char *flag)
{
    static char msg[600];
    size_t k;

    hl->v = raw->nl ? xcalloc(raw->nl, sizeof *hl->v) : NULL;
    hl->n = 0;
    for (k = 0; k < raw->nl; k++) {
        const char *s = raw->l[k], *colon = strchr(s, ':'), *val;
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
            char *q = NULL;
            size_t ql = 0;
            FILE *m = open_memstream(&q, &ql);
            if (m) {
                wsd_goflag_quote(m, s);
                fclose(m);
            }
            snprintf(msg, sizeof msg, "wsd: --%s=%s refused: %s", flag, q ? q : "", why);
            free(q);
            return msg;
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
    return NULL;
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

static long clamp_long(int64_t v)
{
    return v > LONG_MAX ? LONG_MAX : v < LONG_MIN ? LONG_MIN : (long)v;
}

/* ---- The configuration file (--config) ------------------------------------- */

/* Flags that act rather than set (no key in a file). */
static int is_action(int id)
{
    return id == F_LICENSE || id == F_VERSION || id == F_CONFIG || id == F_CHECK;
}

/* What serves a route's requests: its own, never the server's. */
static int is_handler(int id)
{
    return id == F_DIR || id == F_STATICDIR || id == F_CGIDIR || id == F_DEVCONSOLE;
}

/* Settings a route may give: the program and its clients. The others are
 * the server's as a whole (listeners, TLS, processes, the log). */
static int route_ok(int id)
{
    switch (id) {
    case F_ADDRESS: case F_LOGLEVEL: case F_MAXFORKS: case F_PORT: case F_REDIRPORT:
    case F_SSL: case F_SSLCA: case F_SSLCERT: case F_SSLKEY: case F_UNIXSOCKET:
    case F_WORKERS:
    /* access control before a request has a route, and what every program
     * of the process shares (process.c): the server's */
    case F_ALLOWROOT: case F_CHDIR: case F_GROUP: case F_MAXPERIP: case F_PROXYPROTOCOL:
    case F_RATEBURST: case F_RATELIMIT: case F_RLIMIT: case F_TRUSTPROXY:
    case F_UNIXSOCKETGROUP: case F_UNIXSOCKETMODE: case F_UNIXSOCKETUSER: case F_USER:
    /* the process as a whole: its log, its other listeners and links, its
     * shutdown and upgrade */
    case F_DRAINMS: case F_GRACEMS: case F_HEALTHPATH: case F_INETD: case F_JOURNAL:
    case F_LOGFORMAT: case F_METRICS: case F_REDIS: case F_REDISCHANNEL: case F_SHAREDEDGE:
        return 0;
    default:
        return !is_action(id);
    }
}

/* Settings that only take effect on a restart (wsd_config_restart_needed):
 * what the listeners, TLS and the processes are made of. */
static int is_restart_key(int id)
{
    return (!route_ok(id) && !is_action(id) && id != F_LOGLEVEL && id != F_MAXFORKS &&
            id != F_DRAINMS && id != F_GRACEMS && id != F_HEALTHPATH) ||
           id == F_ALLOWROOT;
}

/* The settings of one part of the file: the server's, or a route's. */
typedef struct {
    char *path;                  /* NULL: the server's */
    int line;                    /* a route's header line */
    wsd_goflag_value v[F_COUNT]; /* pos -1 and their line when set */
    char *command;               /* `command`, and `arg` values */
    int command_line;
    strvec args;
    int args_line;               /* the first `arg` */
} fsection;

typedef struct {
    const char *file;            /* as the user named it, for messages */
    fsection top;
    fsection *routes;
    size_t nroutes;
} fconf;

static void fsection_free(fsection *fs)
{
    size_t i;

    free(fs->path);
    wsd_goflag_values_free(fs->v, F_COUNT);
    free(fs->command);
    for (i = 0; i < fs->args.n; i++)
        free(fs->args.v[i]);
    free(fs->args.v);
    memset(fs, 0, sizeof *fs);
}

static void fconf_free(fconf *f)
{
    size_t i;

    fsection_free(&f->top);
    for (i = 0; i < f->nroutes; i++)
        fsection_free(&f->routes[i]);
    free(f->routes);
    f->routes = NULL;
    f->nroutes = 0;
}

static int find_flag(const char *name)
{
    int i;
    for (i = 0; i < F_COUNT; i++)
        if (strcmp(flags[i].name, name) == 0)
            return i;
    return -1;
}

/* One `key = value` of the file (cfgfile.h's callback): the key mapped to
 * its flag (or command/arg) and the value parsed as the flag's. */
static int file_setting(void *user, const wsd_cfgfile_entry *e, char *err, size_t cap)
{
    fconf *f = user;
    fsection *fs = &f->top;
    size_t vl = strlen(e->value);
    const char *why;
    int id;

    if (e->route) {
        if (f->nroutes == 0 || strcmp(f->routes[f->nroutes - 1].path, e->route) != 0) {
            f->routes = xrealloc(f->routes, (f->nroutes + 1) * sizeof *f->routes);
            fs = &f->routes[f->nroutes++];
            memset(fs, 0, sizeof *fs);
            fs->path = xstrdup(e->route);
            fs->line = e->route_line;
        }
        fs = &f->routes[f->nroutes - 1];
    }
    if (vl >= 2 && ((e->value[0] == '"' && e->value[vl - 1] == '"') ||
                    (e->value[0] == '\'' && e->value[vl - 1] == '\''))) {
        snprintf(err, cap, "%s: values are not quoted (write %s = %.*s)", e->key, e->key,
                 (int)(vl - 2), e->value + 1);
        return -1;
    }
    if (strcmp(e->key, "command") == 0) {
        if (fs->command) {
            snprintf(err, cap, "command: given twice (first on line %d; its arguments are "
                     "`arg = ...` lines, one each)", fs->command_line);
            return -1;
        }
        if (!*e->value) {
            snprintf(err, cap, "command: empty");
            return -1;
        }
        fs->command = xstrdup(e->value);
        fs->command_line = e->line;
        return 0;
    }
    if (strcmp(e->key, "arg") == 0) {
        if (!fs->args_line)
            fs->args_line = e->line;
        strvec_push(&fs->args, xstrdup(e->value));
        return 0;
    }
    id = find_flag(e->key[0] == '-' ? e->key + strspn(e->key, "-") : e->key);
    if (id >= 0 && e->key[0] == '-') {
        snprintf(err, cap, "%s: a key is written without dashes (%s = ...)", e->key,
                 flags[id].name);
        return -1;
    }
    if (id < 0) {
        snprintf(err, cap, "%s: unknown key (the keys are the flags of wsd --help, and "
                 "command, arg)", e->key);
        return -1;
    }
    if (is_action(id)) {
        snprintf(err, cap, "%s: not a setting (a command-line action)", e->key);
        return -1;
    }
    if (e->route && !route_ok(id)) {
        snprintf(err, cap, "%s: a setting of the whole server, not of a route (put it before "
                 "the first [route])", e->key);
        return -1;
    }
    if (fs->v[id].pos && flags[id].type != WSD_GOFLAG_LIST) {
        snprintf(err, cap, "%s: given twice (first on line %d)", e->key, fs->v[id].line);
        return -1;
    }
    why = wsd_goflag_set(&flags[id], &fs->v[id], e->value);
    if (why) {
        snprintf(err, cap, "%s: invalid %svalue \"%s\": %s", e->key,
                 flags[id].type == WSD_GOFLAG_BOOL ? "boolean " : "", e->value,
                 flags[id].type == WSD_GOFLAG_BOOL ? "true or false" : why);
        return -1;
    }
    if (!fs->v[id].pos) {
        fs->v[id].pos = -1;
        fs->v[id].line = e->line;
    }
    return 0;
}

/* The file's text into *f. 0, or 1 having printed the problem. */
static int read_fconf(fconf *f, const char *text, size_t len, FILE *err)
{
    char why[WSD_CFGFILE_ERR_MAX];
    int line;

    if (wsd_cfgfile_parse(text, len, file_setting, f, &line, why, sizeof why) == 0)
        return 0;
    if (line > 0)
        fprintf(err, "%s:%d: %s\n", f->file, line, why);
    else
        fprintf(err, "%s: %s\n", f->file, why);
    return 1;
}

char *wsd_config_read_file(const char *name, size_t *len, FILE *err)
{
    FILE *fp = fopen(name, "r");
    char *buf;
    size_t n;

    if (!fp) {
        fprintf(err, "%s: cannot read the configuration file: %s\n", name, strerror(errno));
        return NULL;
    }
    buf = xmalloc(WSD_CFGFILE_MAX + 1);
    n = fread(buf, 1, WSD_CFGFILE_MAX + 1, fp);
    if (ferror(fp)) {
        fprintf(err, "%s: cannot read the configuration file: %s\n", name, strerror(errno));
        fclose(fp);
        free(buf);
        return NULL;
    }
    fclose(fp);
    if (n > WSD_CFGFILE_MAX) {
        fprintf(err, "%s: larger than %d bytes: not a configuration file?\n", name,
                WSD_CFGFILE_MAX);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* ---- The checks after flag parsing, in websocketd's order ------------------ */

/* What every check sees. */
typedef struct cfgctx {
    wsd_config *c;                /* filled as the checks go */
    wsd_goflag_value *rf;         /* the parsed flags (and the file's settings) */
    char **cmdv;                  /* COMMAND and its arguments (cmdc of them) */
    int cmdc;
    int cmd_line;                 /* COMMAND from the file: its `command` line */
    int argc;                     /* all the command line's arguments */
    FILE *out, *err;
    const char *file;             /* the --config file, for messages */
    const fsection *route;        /* checking a route (NULL: the server) */
} cfgctx;

/* Where a problem comes from, before its message, when the file is in it:
 * "FILE:LINE: key: " for the latest of the settings ids[0..n) the file
 * gave, else "FILE:LINE: [route /x]: " in a route; nothing for the command
 * line alone. */
static void where_v(cfgctx *x, FILE *f, const int *ids, size_t n)
{
    int best = -1;
    size_t i;

    for (i = 0; i < n; i++) {
        if (ids[i] >= 0 && x->rf[ids[i]].line > 0 &&
            (best < 0 || x->rf[ids[i]].line > x->rf[best].line))
            best = ids[i];
    }
    if (best >= 0)
        fprintf(f, "%s:%d: %s: ", x->file, x->rf[best].line, flags[best].name);
    else if (x->route)
        fprintf(f, "%s:%d: [route %s]: ", x->file, x->route->line, x->route->path);
}
#define where(x, f, ...) \
    where_v(x, f, (const int[]){__VA_ARGS__}, sizeof((const int[]){__VA_ARGS__}) / sizeof(int))

/* Each check returns -1 to go on, or the exit status, having printed what
 * the user should see. */
typedef int (*cfgcheck)(cfgctx *x);

static int check_loglevel(cfgctx *x)
{
    const char *name = sval(x->rf, F_LOGLEVEL);
    int level = wsd_log_level_parse(name);

    if (level < 0) {
        /* websocketd's stream for the flag; a file's problem as the others */
        FILE *f = x->rf[F_LOGLEVEL].line ? x->err : x->out;
        where(x, f, F_LOGLEVEL);
        fprintf(f, "Incorrect loglevel flag '%s'. Use --help to see allowed values.\n", name);
        if (!x->rf[F_LOGLEVEL].line)
            fputs(short_help, x->err);
        return 1;
    }
    x->c->loglevel = level;
    return -1;
}

static int check_any_args(cfgctx *x)
{
    if (x->argc > 1)
        return -1;
    fputs("Command line arguments are missing.\n", x->out);
    fputs(short_help, x->err);
    return 1;
}

static int check_version_license(cfgctx *x)
{
    if (!x->rf[F_VERSION].b && !x->rf[F_LICENSE].b)
        return -1;
    print_version(x->out);
    if (!x->rf[F_VERSION].b)
        fputs(license_text, x->out);
    return 0;
}

static int check_ssl(cfgctx *x)
{
    const wsd_goflag_value *rf = x->rf;

    if (rf[F_SSL].b && (!*sval(rf, F_SSLCERT) || !*sval(rf, F_SSLKEY))) {
        where(x, x->err, F_SSL, F_SSLCERT, F_SSLKEY);
        fputs("Please specify both --sslcert and --sslkey when requesting --ssl.\n", x->err);
        return 1;
    }
    if (!rf[F_SSL].b && (*sval(rf, F_SSLCERT) || *sval(rf, F_SSLKEY) || *sval(rf, F_SSLCA))) {
        where(x, x->err, F_SSL, F_SSLCERT, F_SSLKEY, F_SSLCA);
        fputs("You should not be using --ssl* flags when there is no --ssl option.\n", x->err);
        return 1;
    }
    return -1;
}

static int check_binary_passstderr(cfgctx *x)
{
    if (!x->rf[F_BINARY].b || !x->rf[F_PASSSTDERR].b)
        return -1;
    where(x, x->err, F_BINARY, F_PASSSTDERR);
    fputs("Please only specify one of --binary and --passstderr.\n", x->err);
    return 1;
}

static int take_passenv(cfgctx *x)
{
    capture_passenv(x->c, sval(x->rf, F_PASSENV));
    return -1;
}

/* Where COMMAND's problem comes from: its `command` line, or the route. */
static void where_command(cfgctx *x)
{
    if (x->cmd_line)
        fprintf(x->err, "%s:%d: command: ", x->file, x->cmd_line);
    else
        where(x, x->err, -1);
}

/* COMMAND, or --dir, --staticdir or --cgidir; COMMAND found in PATH. */
static int check_command(cfgctx *x)
{
    wsd_config *c = x->c;
    int nargs = x->cmdc, i, why = 0;
    const char *name = nargs > 0 ? x->cmdv[0] : NULL;
    char *seen = NULL;

    if (!name && !*sval(x->rf, F_DIR) && !*sval(x->rf, F_STATICDIR) && !*sval(x->rf, F_CGIDIR) &&
        !(x->route && x->rf[F_DEVCONSOLE].b)) {
        if (x->route) {
            where(x, x->err, -1);
            fputs("nothing to serve: give command, dir, staticdir, cgidir or devconsole\n",
                  x->err);
            return 1;
        }
        if (x->c->nroutes > 0)
            return -1;            /* the routes serve */
        fputs("Please specify COMMAND or provide --dir, --staticdir or --cgidir argument.\n",
              x->err);
        fputs(short_help, x->err);
        return 1;
    }
    if (!name)
        return -1;
    if (*sval(x->rf, F_DIR)) {
        if (x->cmd_line || x->route)
            where(x, x->err, F_DIR);
        fputs("Ambiguous. Provided COMMAND and --dir argument. Please only specify just one.\n",
              x->err);
        if (!x->route && !x->cmd_line)
            fputs(short_help, x->err);
        return 1;
    }
    /* an edge (--sharededge) runs no program: COMMAND only names the endpoint */
    c->command_path = x->rf[F_SHAREDEDGE].pos ? xstrdup(name) : look_path(name, &why, &seen);
    if (!c->command_path) {
        where_command(x);
        /* websocketd says "Unable to locate" for all three */
        if (why == EACCES && seen)
            fprintf(x->err, "COMMAND '%s' found in OS path as '%s', but it is not executable "
                    "(permission denied).\n", name, seen);
        else if (why == EACCES)
            fprintf(x->err, "COMMAND '%s' is not executable (permission denied).\n", name);
        else if (why == EISDIR)
            fprintf(x->err, "COMMAND '%s' is a directory, not a program (--dir serves the "
                    "programs in a directory).\n", name);
        else if (x->cmd_line && strpbrk(name, " \t"))
            fprintf(x->err, "Unable to locate specified COMMAND '%s' in OS path (its arguments "
                    "are `arg = ...` lines, one each).\n", name);
        else
            fprintf(x->err, "Unable to locate specified COMMAND '%s' in OS path.\n", name);
        free(seen);
        if (!x->route && !x->cmd_line)
            fputs(short_help, x->err);
        return 1;
    }
    c->command = xstrdup(name);
    c->argc = nargs;
    c->argv = xcalloc((size_t)nargs + 1, sizeof *c->argv);
    c->argv[0] = xstrdup(c->command_path);
    for (i = 1; i < nargs; i++)
        c->argv[i] = xstrdup(x->cmdv[i]);
    return -1;
}

/* --dir: made absolute, must be a directory. */
static int check_dir(cfgctx *x)
{
    const char *dir = sval(x->rf, F_DIR);
    const char *why = NULL;
    struct stat st;

    if (!*dir)
        return -1;
    x->c->dir = path_abs(dir);
    if (!x->c->dir)
        why = "Could not resolve absolute path to dir '%s'.\n";
    else if (stat(x->c->dir, &st) != 0)
        why = "Could not find your script dir '%s'.\n";
    else if (!S_ISDIR(st.st_mode))
        why = "Did you mean to specify COMMAND instead of --dir '%s'?\n";
    if (!why)
        return -1;
    where(x, x->err, F_DIR);
    fprintf(x->err, why, dir);
    if (!x->rf[F_DIR].line)
        fputs(short_help, x->err);
    return 1;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int check_http_dirs(cfgctx *x)
{
    const char *cgidir = sval(x->rf, F_CGIDIR), *staticdir = sval(x->rf, F_STATICDIR);

    if (*cgidir && !is_dir(cgidir)) {
        where(x, x->err, F_CGIDIR);
        fprintf(x->err, "Your CGI dir '%s' is not pointing to an accessible directory.\n", cgidir);
        if (!x->rf[F_CGIDIR].line)
            fputs(short_help, x->err);
        return 1;
    }
    if (*staticdir && !is_dir(staticdir)) {
        where(x, x->err, F_STATICDIR);
        fprintf(x->err, "Your static dir '%s' is not pointing to an accessible directory.\n",
                staticdir);
        if (!x->rf[F_STATICDIR].line)
            fputs(short_help, x->err);
        return 1;
    }
    return -1;
}

static int check_devconsole(cfgctx *x)
{
    const char *staticdir = sval(x->rf, F_STATICDIR);

    if (!x->rf[F_DEVCONSOLE].b || (!*staticdir && !*sval(x->rf, F_CGIDIR)))
        return -1;
    if (x->route || x->rf[F_DEVCONSOLE].line || x->rf[F_STATICDIR].line ||
        x->rf[F_CGIDIR].line) {
        /* the file's: a configuration error as any other */
        where(x, x->err, F_DEVCONSOLE, F_STATICDIR, F_CGIDIR);
        fprintf(x->err, "devconsole cannot be used with %s. Pick one.\n",
                *staticdir ? "staticdir" : "cgidir");
        return 1;
    }
    log_fatal(x->out, x->c->loglevel, *staticdir
              ? "Invalid parameters: --devconsole cannot be used with --staticdir. Pick one."
              : "Invalid parameters: --devconsole cannot be used with --cgidir. Pick one.");
    return 4;
}

/* wsd's own checks from here on. */
static int check_headers(cfgctx *x)
{
    static const int ids[3] = {F_HEADER, F_HEADER_WS, F_HEADER_HTTP};
    wsd_header_list *hl[3] = {&x->c->headers, &x->c->headers_ws, &x->c->headers_http};
    size_t i;

    for (i = 0; i < 3; i++) {
        const char *bad = split_headers(hl[i], &x->rf[ids[i]], flags[ids[i]].name);
        if (bad) {
            where(x, x->err, ids[i]);
            fprintf(x->err, "%s\n", bad);
            return 1;
        }
    }
    return -1;
}

/* --pty takes all three of the program's streams: no --passstderr (stderr
 * is the terminal), no --lossless records, no --linebuffered (it already
 * is a terminal). --binary is what it does anyway: allowed. */
static int check_pty(cfgctx *x)
{
    const wsd_goflag_value *rf = x->rf;
    int other = rf[F_LOSSLESS].b ? F_LOSSLESS : rf[F_PASSSTDERR].b ? F_PASSSTDERR
                : rf[F_LINEBUFFERED].b ? F_LINEBUFFERED : -1;

    if (!rf[F_PTY].b || other < 0)
        return -1;
    where(x, x->err, F_PTY, other);
    fprintf(x->err, "wsd: --pty cannot be combined with --%s\n", flags[other].name);
    return 1;
}

static int check_lossless(cfgctx *x)
{
    const wsd_goflag_value *rf = x->rf;

    if (!rf[F_LOSSLESS].b || (!rf[F_BINARY].b && !rf[F_PASSSTDERR].b))
        return -1;
    where(x, x->err, F_LOSSLESS, rf[F_BINARY].b ? F_BINARY : F_PASSSTDERR);
    fprintf(x->err, "wsd: --lossless cannot be combined with --%s\n",
            rf[F_BINARY].b ? "binary" : "passstderr");
    return 1;
}

static int check_shared(cfgctx *x)
{
    const wsd_goflag_value *rf = x->rf;

    if (!(rf[F_SHARED].b || rf[F_SHAREDALWAYS].b))
        return -1;
    if (rf[F_PASSSTDERR].b) {
        where(x, x->err, F_SHARED, F_SHAREDALWAYS, F_PASSSTDERR);
        fputs("wsd: --passstderr cannot be combined with --shared (a shared program's stderr "
              "goes to the log)\n", x->err);
        return 1;
    }
    if (rf[F_PTY].b) {
        where(x, x->err, F_SHARED, F_SHAREDALWAYS, F_PTY);
        fputs("wsd: --pty cannot be combined with --shared (one terminal has one window "
              "size; shared terminals are not built yet)\n", x->err);
        return 1;
    }
    return -1;
}

/* --inetd: the connection is given; nothing is listened on. */
static int check_inetd(cfgctx *x)
{
    const wsd_goflag_value *rf = x->rf;
    const char *other = rf[F_PORT].pos ? "port" : rf[F_ADDRESS].pos ? "address"
                        : rf[F_UNIXSOCKET].pos ? "unixsocket" : rf[F_REDIRPORT].pos ? "redirport"
                        : rf[F_WORKERS].pos && rf[F_WORKERS].u > 1 ? "workers"
                        : rf[F_SHARED].b ? "shared" : rf[F_SHAREDALWAYS].b ? "sharedalways" : NULL;

    if (!rf[F_INETD].b || !other)
        return -1;
    fprintf(x->err, "wsd: --inetd cannot be combined with --%s (the one connection comes on "
            "stdin; nothing is listened on)\n", other);
    return 1;
}

/* --origin: the list compiles (origin.h), so that --check and a reload
 * catch what the server would refuse. */
static int check_origin(cfgctx *x)
{
    char *why = NULL;
    wsd_origin_policy *p = wsd_origin_new(sval(x->rf, F_ORIGIN), x->rf[F_SAMEORIGIN].b, &why);

    if (p) {
        wsd_origin_free(p);
        return -1;
    }
    where(x, x->err, F_ORIGIN);
    fprintf(x->err, "wsd: %s\n", why ? why : "--origin: unusable list");
    free(why);
    return 1;
}

/* --rlimit=NAME=VALUE,...: NAME one of rlimit_names, VALUE a number (with
 * K, M, G or T, powers of 1024, for the limits in bytes) or "unlimited".
 * CPU seconds get a hard limit one second above the soft one: the program
 * gets SIGXCPU at the limit (its default action ends it) and SIGKILL a
 * second later if it catches that. */
static const struct {
    const char *name;
    int resource;
    int bytes;
} rlimit_names[] = {
    {"as", RLIMIT_AS, 1}, {"core", RLIMIT_CORE, 1}, {"cpu", RLIMIT_CPU, 0},
    {"data", RLIMIT_DATA, 1}, {"fsize", RLIMIT_FSIZE, 1}, {"nofile", RLIMIT_NOFILE, 0},
    {"nproc", RLIMIT_NPROC, 0}, {"stack", RLIMIT_STACK, 1},
};

static int parse_rlimits(cfgctx *x, wsd_config *c, const char *list)
{
    FILE *err = x->err;
    const char *p = list;
    size_t k;

    while (*p) {
        const char *end = strchr(p, ','), *eq;
        size_t n = end ? (size_t)(end - p) : strlen(p), vn, i;
        const char *item = wsd_trim_space(p, &n), *v;
        unsigned long long val = 0;
        int found = -1;

        eq = memchr(item, '=', n);
        for (k = 0; eq && k < sizeof rlimit_names / sizeof rlimit_names[0]; k++)
            if (strlen(rlimit_names[k].name) == (size_t)(eq - item) &&
                memcmp(rlimit_names[k].name, item, (size_t)(eq - item)) == 0)
                found = (int)k;
        if (n == 0) {
            /* an empty item */
        } else if (found < 0) {
            where(x, err, F_RLIMIT);
            fprintf(err, "wsd: --rlimit: '%.*s' is not NAME=VALUE with NAME one of as, core, "
                    "cpu, data, fsize, nofile, nproc, stack\n", (int)n, item);
            return 1;
        } else {
            v = eq + 1;
            vn = n - (size_t)(v - item);
            if (vn == 9 && memcmp(v, "unlimited", 9) == 0) {
                val = RLIM_INFINITY;
            } else {
                unsigned long long mul = 1;
                for (i = 0; i < vn && v[i] >= '0' && v[i] <= '9'; i++) {
                    if (val > (ULLONG_MAX - 9) / 10)
                        break;
                    val = val * 10 + (unsigned long long)(v[i] - '0');
                }
                if (i + 1 == vn && rlimit_names[found].bytes && strchr("KMGT", v[i])) {
                    mul = v[i] == 'K' ? 1ull << 10 : v[i] == 'M' ? 1ull << 20
                          : v[i] == 'G' ? 1ull << 30 : 1ull << 40;
                    i++;
                }
                if (i == 0 || i != vn || val > (unsigned long long)RLIM_INFINITY / mul - 1) {
                    where(x, err, F_RLIMIT);
                    fprintf(err, "wsd: --rlimit: bad value for %s: '%.*s' (a number%s, or "
                            "unlimited)\n", rlimit_names[found].name, (int)vn, v,
                            rlimit_names[found].bytes ? " with K, M, G or T" : "");
                    return 1;
                }
                val *= mul;
            }
            for (k = 0; k < c->nrlimits; k++)
                if (c->rlimits[k].resource == rlimit_names[found].resource)
                    break;
            if (k < c->nrlimits) {
                where(x, err, F_RLIMIT);
                fprintf(err, "wsd: --rlimit: %s given twice\n", rlimit_names[found].name);
                return 1;
            }
            c->rlimits[k].resource = rlimit_names[found].resource;
            c->rlimits[k].lim.rlim_cur = (rlim_t)val;
            c->rlimits[k].lim.rlim_max =
                rlimit_names[found].resource == RLIMIT_CPU && val != RLIM_INFINITY
                ? (rlim_t)val + 1 : (rlim_t)val;
            c->nrlimits++;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/* The access-control flags (#13): each checked at start-up, so that a typo
 * is an error and not a server open to everybody. */
static int check_access(cfgctx *x)
{
    wsd_config *c = x->c;
    const wsd_goflag_value *rf = x->rf;
    const char *tp = sval(rf, F_TRUSTPROXY), *realm = sval(rf, F_AUTHREALM);
    const char *cmd = sval(rf, F_AUTHCMD), *cd = sval(rf, F_CHDIR), *mode = sval(rf, F_UNIXSOCKETMODE);
    size_t i;

    if (*tp || rf[F_TRUSTPROXY].s) {
        char *err = NULL;
        wsd_trust *t = wsd_trust_new(tp, &err);
        if (!t) {
            where(x, x->err, F_TRUSTPROXY);
            fprintf(x->err, "wsd: %s\n", err);
            free(err);
            return 1;
        }
        wsd_trust_free(t);
    }
    for (i = 0; realm[i]; i++) {
        unsigned char ch = (unsigned char)realm[i];
        if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
            where(x, x->err, F_AUTHREALM);
            fputs("wsd: --authrealm: printable ASCII without '\"' or '\\' only\n", x->err);
            return 1;
        }
    }
    if (rf[F_HTPASSWD].s && !*rf[F_HTPASSWD].s && !rf[F_HTPASSWD].line) {
        /* (in the file, `htpasswd =` turns it off for a route) */
        fputs("wsd: --htpasswd: no file given\n", x->err);
        return 1;
    }
    if (*cmd) {
        int why;
        char *seen = NULL, *found = look_path(cmd, &why, &seen);
        free(seen);
        if (!found) {
            where(x, x->err, F_AUTHCMD);
            fprintf(x->err, "wsd: --authcmd: '%s' %s\n", cmd,
                    why == EACCES ? "is not executable (permission denied)"
                    : why == EISDIR ? "is a directory, not a program" : "was not found");
            return 1;
        }
        c->authcmd_path = path_abs(found);
        free(found);
        if (!c->authcmd_path) {
            where(x, x->err, F_AUTHCMD);
            fprintf(x->err, "wsd: --authcmd: cannot resolve '%s'\n", cmd);
            return 1;
        }
    }
    if (*cd) {
        c->chdir = path_abs(cd);
        if (!c->chdir || !is_dir(c->chdir)) {
            where(x, x->err, F_CHDIR);
            fprintf(x->err, "wsd: --chdir: '%s' is not a directory\n", cd);
            return 1;
        }
    }
    c->unixsocketmode = -1;
    if (*mode) {
        long m = 0;
        for (i = 0; mode[i] >= '0' && mode[i] <= '7' && i < 5; i++)
            m = m * 8 + (mode[i] - '0');
        if (mode[i] || i == 0 || m > 0777) {
            where(x, x->err, F_UNIXSOCKETMODE);
            fprintf(x->err, "wsd: --unixsocketmode: '%s' is not an octal mode 0 to 0777\n", mode);
            return 1;
        }
        c->unixsocketmode = (int)m;
    }
    if ((*mode || *sval(rf, F_UNIXSOCKETUSER) || *sval(rf, F_UNIXSOCKETGROUP)) &&
        !*sval(rf, F_UNIXSOCKET)) {
        where(x, x->err, F_UNIXSOCKETMODE, F_UNIXSOCKETUSER, F_UNIXSOCKETGROUP);
        fputs("wsd: --unixsocketmode, --unixsocketuser and --unixsocketgroup need --unixsocket\n",
              x->err);
        return 1;
    }
    if (*sval(rf, F_RLIMIT) && parse_rlimits(x, c, sval(rf, F_RLIMIT)) != 0)
        return 1;
    return -1;
}

/* --redis (redisurl.h) and its roles: the program's wsd (--shared) or an
 * edge (--sharededge); both serve COMMAND or --dir. */
static int check_redis(cfgctx *x)
{
    const wsd_goflag_value *rf = x->rf;
    const char *url = sval(rf, F_REDIS), *why = NULL, *ch;
    wsd_redis_url u;

    if (!*url) {
        if (rf[F_SHAREDEDGE].pos)
            why = "--sharededge needs --redis (an edge gets its program's output through Redis)";
        else if (rf[F_REDISCHANNEL].pos)
            why = "--redischannel needs --redis";
    } else if (wsd_redis_url_parse(url, &u, &why) != 0) {
        fprintf(x->err, "wsd: --redis: %s (redis://[[user]:password@]host[:port][/db])\n", why);
        return 1;
    } else if (!rf[F_SHARED].b && !rf[F_SHAREDALWAYS].b && !rf[F_SHAREDEDGE].pos) {
        why = "--redis needs --shared (the wsd that runs the program) or --sharededge=N (an edge)";
    } else if (!x->c->command && !*sval(rf, F_DIR)) {
        why = "--redis needs COMMAND or --dir (the endpoints it shares)";
    } else if (rf[F_SHAREDEDGE].pos && rf[F_SHAREDALWAYS].b) {
        why = "--sharededge runs no program: --sharedalways has no meaning there";
    }
    for (ch = sval(rf, F_REDISCHANNEL); !why && *ch; ch++)
        if (!wsd_is_tchar((unsigned char)*ch) && *ch != ':' && *ch != '/')
            why = "--redischannel: letters, digits and !#$%&'*+-.^_`|~:/ only";
    if (!why && strlen(sval(rf, F_REDISCHANNEL)) > 200)
        why = "--redischannel: at most 200 characters";
    if (!why && rf[F_REDISCHANNEL].pos && !*sval(rf, F_REDISCHANNEL))
        why = "--redischannel: empty";
    if (!why)
        return -1;
    fprintf(x->err, "wsd: %s\n", why);
    return 1;
}

/* The order of the list at the top of this file. */
static const cfgcheck checks[] = {
    check_loglevel, check_any_args, check_version_license, check_ssl,
    check_binary_passstderr, take_passenv, check_command, check_dir, check_http_dirs,
    check_devconsole, check_headers, check_lossless, check_pty, check_shared, check_access,
    check_redis,
    check_inetd,
    check_origin,
};

/* A route's: what its program and clients get. */
static const cfgcheck route_checks[] = {
    check_binary_passstderr, take_passenv, check_command, check_dir, check_http_dirs,
    check_devconsole, check_headers, check_lossless, check_pty, check_shared, check_access,
    check_origin,
};

/* --subprotocols: comma-separated, each trimmed, empty ones dropped. */
static void split_subprotocols(wsd_config *c, const char *p)
{
    strvec protos = {0};

    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
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

/* After the checks: the values into *c, defaults resolved. */
static void fill(wsd_config *c, wsd_goflag_value *rf)
{
    c->ssl = rf[F_SSL].b;
    c->port = (int)rf[F_PORT].i;
    if (c->port == 0)
        c->port = c->ssl ? 443 : 80;
    c->addresses = rf[F_ADDRESS].l;
    c->naddresses = rf[F_ADDRESS].nl;
    rf[F_ADDRESS].l = NULL;
    rf[F_ADDRESS].nl = 0;
    c->sslcert = dup_nonempty(sval(rf, F_SSLCERT));
    c->sslkey = dup_nonempty(sval(rf, F_SSLKEY));
    c->sslca = dup_nonempty(sval(rf, F_SSLCA));
    c->redirport = (int)rf[F_REDIRPORT].i;
    c->staticdir = dup_nonempty(sval(rf, F_STATICDIR));
    c->cgidir = dup_nonempty(sval(rf, F_CGIDIR));
    c->devconsole = rf[F_DEVCONSOLE].b;
    c->binary = rf[F_BINARY].b;
    c->reverselookup = rf[F_REVERSELOOKUP].b;
    c->maxforks = rf[F_MAXFORKS].pos ? clamp_long(rf[F_MAXFORKS].i) : 1024;
    c->maxforks_auto = !rf[F_MAXFORKS].pos;
    c->closems = (unsigned long)rf[F_CLOSEMS].u;
    c->origin = dup_nonempty(sval(rf, F_ORIGIN));
    c->sameorigin = rf[F_SAMEORIGIN].b;
    c->unixsocket = dup_nonempty(sval(rf, F_UNIXSOCKET));
    /* websocketd main: a bare --unixsocket (no --port, --address or
     * --redirport) serves on the socket only */
    c->unix_only = c->unixsocket && rf[F_PORT].i == 0 && c->naddresses == 0 &&
                   c->redirport == 0;
    c->pingms = (long)rf[F_PINGMS].u;
    c->maxframesize = rf[F_MAXFRAMESIZE].pos ? rf[F_MAXFRAMESIZE].u : 1048576;
    c->passstderr = rf[F_PASSSTDERR].b;
    c->lossless = rf[F_LOSSLESS].b;
    c->shared = rf[F_SHARED].b || rf[F_SHAREDALWAYS].b;
    c->sharedalways = rf[F_SHAREDALWAYS].b;
    c->shareddrop = rf[F_SHAREDDROP].b;
    c->sharedqueue = rf[F_SHAREDQUEUE].pos ? rf[F_SHAREDQUEUE].u : 1048576;
    c->linebuffered = rf[F_LINEBUFFERED].b;
    c->pty = rf[F_PTY].b;
    c->redis = dup_nonempty(sval(rf, F_REDIS));
    c->redischannel = xstrdup(rf[F_REDISCHANNEL].pos ? sval(rf, F_REDISCHANNEL) : "wsd");
    c->sharededge = rf[F_SHAREDEDGE].pos ? (int)rf[F_SHAREDEDGE].u : 0;
    if (c->sharededge)
        c->shared = 1;             /* an edge is a shared endpoint without its program */
    else if (c->redis)
        c->sharedalways = 1;       /* across machines the last client cannot be known */
    c->workers = rf[F_WORKERS].pos ? (int)rf[F_WORKERS].u : 1;
    c->drainms = rf[F_DRAINMS].pos ? (unsigned long)rf[F_DRAINMS].u : 300000;
    c->inetd = rf[F_INETD].b;
    c->deflate = rf[F_DEFLATE].pos ? rf[F_DEFLATE].b : 1;
    /* 12 and 5 (as python-websockets): ~60 KiB per compressing connection
     * instead of ~300 KiB with zlib's 15 and 8 */
    c->deflatebits = rf[F_DEFLATEBITS].pos ? (int)rf[F_DEFLATEBITS].u : 12;
    c->deflatemem = rf[F_DEFLATEMEM].pos ? (int)rf[F_DEFLATEMEM].u : 5;
    split_subprotocols(c, sval(rf, F_SUBPROTOCOLS));
    c->logformat = wsd_log_format_parse(sval(rf, F_LOGFORMAT));
    c->journal = rf[F_JOURNAL].pos ? rf[F_JOURNAL].b : -1;
    c->healthpath = dup_nonempty(sval(rf, F_HEALTHPATH));
    c->gracems = (long)rf[F_GRACEMS].u;
    if (*sval(rf, F_METRICS)) {
        c->metrics = xstrdup(sval(rf, F_METRICS));
        wsd_config_hostport(c->metrics, &c->metrics_addr, &c->metrics_port);
    }

    c->htpasswd = dup_nonempty(sval(rf, F_HTPASSWD));
    c->authcmd = dup_nonempty(sval(rf, F_AUTHCMD));
    c->authtimeout = rf[F_AUTHTIMEOUT].pos ? (unsigned long)rf[F_AUTHTIMEOUT].u : 5000;
    c->authrealm = xstrdup(sval(rf, F_AUTHREALM));
    c->publicstatic = rf[F_PUBLICSTATIC].b;
    c->trustproxy = rf[F_TRUSTPROXY].s ? xstrdup(rf[F_TRUSTPROXY].s) : NULL;
    c->proxyprotocol = rf[F_PROXYPROTOCOL].b;
    c->user = dup_nonempty(sval(rf, F_USER));
    c->group = dup_nonempty(sval(rf, F_GROUP));
    c->allowroot = rf[F_ALLOWROOT].b;
    c->unixsocketuser = dup_nonempty(sval(rf, F_UNIXSOCKETUSER));
    c->unixsocketgroup = dup_nonempty(sval(rf, F_UNIXSOCKETGROUP));
    c->maxperip = (unsigned long)rf[F_MAXPERIP].u;
    c->ratelimit = (unsigned long)rf[F_RATELIMIT].u;
    c->rateburst = rf[F_RATEBURST].pos ? (unsigned long)rf[F_RATEBURST].u : 10;
    if (c->chdir && c->command_path && c->command_path[0] != '/') {
        /* the program starts in --chdir: its path must not depend on the cwd */
        char *abs = path_abs(c->command_path);
        if (abs) {
            free(c->command_path);
            c->command_path = abs;
            free(c->argv[0]);
            c->argv[0] = xstrdup(abs);
        }
    }
}

static void config_defaults(wsd_config *c)
{
    memset(c, 0, sizeof *c);
    c->port = 80;
    c->maxforks = 1024;
    c->maxforks_auto = 1;
    c->loglevel = WSD_LOG_ACCESS;
    c->maxframesize = 1048576;
    c->sharedqueue = 1048576;
    c->journal = -1;
    c->drainms = 300000;
    c->authtimeout = 5000;
    c->rateburst = 10;
    c->unixsocketmode = -1;
}

/* One route: the server's settings rf (merged from the command line and
 * the file) overlaid with the route's own; what serves is the route's
 * alone. -1 with r->cfg made, or the exit status. */
static int configure_route(cfgctx *server, const fsection *fs, wsd_config_route *r)
{
    wsd_goflag_value view[F_COUNT];   /* borrowed values: never freed here */
    strvec cmd = {0};
    cfgctx x = *server;
    size_t i;
    int rc = -1;

    memcpy(view, server->rf, sizeof view);
    for (i = 0; i < F_COUNT; i++) {
        if (is_handler((int)i) || !route_ok((int)i))
            memset(&view[i], 0, sizeof view[i]);
        if (fs->v[i].pos)
            view[i] = fs->v[i];
    }
    r->path = xstrdup(fs->path);
    r->line = fs->line;
    r->cfg = xmalloc(sizeof *r->cfg);
    config_defaults(r->cfg);
    r->cfg->loglevel = server->c->loglevel;
    if (fs->command) {
        strvec_push(&cmd, fs->command);
        for (i = 0; i < fs->args.n; i++)
            strvec_push(&cmd, fs->args.v[i]);
    } else if (fs->args.n) {
        fprintf(x.err, "%s:%d: arg: arguments without a command\n", x.file, fs->args_line);
        return 1;
    }
    if (server->c->chdir)           /* every program starts there: fill() makes the path absolute */
        r->cfg->chdir = xstrdup(server->c->chdir);
    x.c = r->cfg;
    x.rf = view;
    x.cmdv = cmd.v;
    x.cmdc = (int)cmd.n;
    x.cmd_line = fs->command_line;
    x.route = fs;
    for (i = 0; i < sizeof route_checks / sizeof route_checks[0] && rc < 0; i++)
        rc = route_checks[i](&x);
    if (rc < 0) {
        view[F_ADDRESS].l = NULL;     /* fill takes the list: a route has none */
        view[F_ADDRESS].nl = 0;
        fill(r->cfg, view);
        r->cfg->port = server->c->port;
        r->cfg->ssl = server->c->ssl;
        r->cfg->workers = server->c->workers;
    }
    free(cmd.v);                      /* the strings are the section's */
    return rc >= 0 ? 1 : -1;
}

/* The file's server settings under the command line's: a flag given on
 * the command line wins (a list flag's values replace the file's). */
static void merge_file(wsd_goflag_value *rf, fsection *top)
{
    int i;

    for (i = 0; i < F_COUNT; i++) {
        if (rf[i].pos || !top->v[i].pos)
            continue;
        rf[i] = top->v[i];
        memset(&top->v[i], 0, sizeof top->v[i]);
    }
}

/* Everything after flag parsing. Returns -1 or an exit status. */
static int configure(wsd_config *c, wsd_goflag_value *rf, int argc, char **argv, int first,
                     fconf *f, FILE *out, FILE *err)
{
    cfgctx x;
    strvec cmd = {0};
    size_t i;
    int rc = -1;

    memset(&x, 0, sizeof x);
    x.c = c;
    x.rf = rf;
    x.argc = argc;
    x.out = out;
    x.err = err;
    x.file = f->file;
    if (first < argc) {
        x.cmdv = argv + first;         /* COMMAND on the command line wins */
        x.cmdc = argc - first;
    } else if (f->top.command) {
        strvec_push(&cmd, f->top.command);
        for (i = 0; i < f->top.args.n; i++)
            strvec_push(&cmd, f->top.args.v[i]);
        x.cmdv = cmd.v;
        x.cmdc = (int)cmd.n;
        x.cmd_line = f->top.command_line;
    } else if (f->top.args.n) {
        fprintf(err, "%s:%d: arg: arguments without a command\n", f->file, f->top.args_line);
        return 1;
    }
    c->nroutes = f->nroutes;          /* check_command: routes may be all there is */
    for (i = 0; i < sizeof checks / sizeof checks[0] && rc < 0; i++)
        rc = checks[i](&x);
    c->nroutes = 0;
    if (rc < 0) {
        fill(c, rf);
        if (f->nroutes)
            c->routes = xcalloc(f->nroutes, sizeof *c->routes);
        for (i = 0; i < f->nroutes && rc < 0; i++) {
            rc = configure_route(&x, &f->routes[i], &c->routes[i]);
            c->nroutes = i + 1;
        }
    }
    free(cmd.v);
    return rc;
}

/* The whole: argv, then (with --config) the file — its text given, or read
 * — under it, then the checks. -1 to run, or the exit status. */
static int parse_all(wsd_config *c, int argc, char **argv, const char *text, size_t len,
                     FILE *out, FILE *err)
{
    wsd_goflag_value rf[F_COUNT];    /* as Go's flag package holds them */
    fconf f;
    char *own = NULL;
    int first = argc, rc;

    config_defaults(c);
    memset(&f, 0, sizeof f);
    memset(rf, 0, sizeof rf);
    rc = parse_flags(rf, argc, argv, &first, err);
    if (rc < 0 && rf[F_CONFIG].s) {
        f.file = rf[F_CONFIG].s;
        if (!text && !(text = own = wsd_config_read_file(f.file, &len, err)))
            rc = 1;
        else
            rc = read_fconf(&f, text, len, err) ? 1 : -1;
        if (rc < 0) {
            merge_file(rf, &f.top);
            c->config_file = path_abs(f.file);
        }
    }
    if (rc < 0)
        rc = configure(c, rf, argc, argv, first, &f, out, err);
    if (rc < 0 && rf[F_CHECK].b) {
        c->check = 1;              /* main checks the rest, then says so */
        c->check_name = xstrdup(f.file ? f.file : "wsd");
    } else if (rc > 0 && rf[F_CHECK].b) {
        rc = 1;
    }
    c->cmdline_argc = argc;
    c->cmdline_argv = argv;
    fconf_free(&f);
    free(own);
    wsd_goflag_values_free(rf, F_COUNT);
    if (rc >= 0) {
        int level = c->loglevel;
        wsd_config_free(c);
        c->loglevel = level;
    }
    return rc;
}

void wsd_config_check_ok(const wsd_config *c, FILE *out)
{
    size_t i;

    fprintf(out, "%s: configuration OK", c->check_name ? c->check_name : "wsd");
    for (i = 0; i < c->nroutes; i++)
        fprintf(out, "%s%s", i ? ", " : "; routes: ", c->routes[i].path);
    fputc('\n', out);
}

int wsd_config_parse(wsd_config *c, int argc, char **argv, FILE *out, FILE *err)
{
    return parse_all(c, argc, argv, NULL, 0, out, err);
}

int wsd_config_reparse(wsd_config *n, const wsd_config *c, const char *text, size_t len,
                       FILE *err)
{
    int rc = parse_all(n, c->cmdline_argc, c->cmdline_argv, text, len, err, err);
    return rc < 0 ? -1 : 1;
}

static int strv_eq(char **a, size_t na, char **b, size_t nb)
{
    size_t i;
    if (na != nb)
        return 0;
    for (i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

const char *wsd_config_restart_needed(const wsd_config *o, const wsd_config *n)
{
    int id;

    for (id = 0; id < F_COUNT; id++) {
        int same = 1;
        if (!is_restart_key(id))
            continue;
        switch (id) {
        case F_ADDRESS:
            same = strv_eq(o->addresses, o->naddresses, n->addresses, n->naddresses);
            break;
        case F_PORT:
            same = o->port == n->port && o->unix_only == n->unix_only;
            break;
        case F_REDIRPORT:
            same = o->redirport == n->redirport;
            break;
        case F_SSL:
            same = o->ssl == n->ssl;
            break;
        case F_SSLCA:
            same = str_eq(o->sslca, n->sslca);
            break;
        case F_SSLCERT:
            same = str_eq(o->sslcert, n->sslcert);
            break;
        case F_SSLKEY:
            same = str_eq(o->sslkey, n->sslkey);
            break;
        case F_UNIXSOCKET:
            same = str_eq(o->unixsocket, n->unixsocket);
            break;
        case F_WORKERS:
            same = o->workers == n->workers;
            break;
        case F_ALLOWROOT:
            same = o->allowroot == n->allowroot;
            break;
        case F_CHDIR:
            same = str_eq(o->chdir, n->chdir);
            break;
        case F_GROUP:
            same = str_eq(o->group, n->group);
            break;
        case F_USER:
            same = str_eq(o->user, n->user);
            break;
        case F_MAXPERIP:
            same = o->maxperip == n->maxperip;
            break;
        case F_PROXYPROTOCOL:
            same = o->proxyprotocol == n->proxyprotocol;
            break;
        case F_RATEBURST:
            same = o->rateburst == n->rateburst;
            break;
        case F_RATELIMIT:
            same = o->ratelimit == n->ratelimit;
            break;
        case F_RLIMIT:
            same = o->nrlimits == n->nrlimits &&
                   memcmp(o->rlimits, n->rlimits, o->nrlimits * sizeof o->rlimits[0]) == 0;
            break;
        case F_TRUSTPROXY:
            same = str_eq(o->trustproxy, n->trustproxy);
            break;
        case F_UNIXSOCKETGROUP:
            same = str_eq(o->unixsocketgroup, n->unixsocketgroup);
            break;
        case F_UNIXSOCKETMODE:
            same = o->unixsocketmode == n->unixsocketmode;
            break;
        case F_UNIXSOCKETUSER:
            same = str_eq(o->unixsocketuser, n->unixsocketuser);
            break;
        case F_INETD:
            same = o->inetd == n->inetd;
            break;
        case F_JOURNAL:
            same = o->journal == n->journal;
            break;
        case F_LOGFORMAT:
            same = o->logformat == n->logformat;
            break;
        case F_METRICS:
            same = str_eq(o->metrics, n->metrics);
            break;
        case F_REDIS:
            same = str_eq(o->redis, n->redis);
            break;
        case F_REDISCHANNEL:
            same = str_eq(o->redischannel, n->redischannel);
            break;
        case F_SHAREDEDGE:
            same = o->sharededge == n->sharededge;
            break;
        default:
            break;
        }
        if (!same)
            return flags[id].name;
    }
    return NULL;
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
    size_t i;

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
    free(c->redis);
    free(c->redischannel);
    free(c->metrics);
    free(c->metrics_addr);
    free(c->healthpath);
    free(c->command);
    free(c->command_path);
    free_strv(c->argv, (size_t)c->argc);
    free(c->htpasswd);
    free(c->authcmd);
    free(c->authcmd_path);
    free(c->authrealm);
    free(c->trustproxy);
    free(c->user);
    free(c->group);
    free(c->chdir);
    free(c->unixsocketuser);
    free(c->unixsocketgroup);
    for (i = 0; i < c->nroutes; i++) {
        free(c->routes[i].path);
        if (c->routes[i].cfg) {
            wsd_config_free(c->routes[i].cfg);
            free(c->routes[i].cfg);
        }
    }
    free(c->routes);
    free(c->config_file);
    free(c->check_name);
    memset(c, 0, sizeof *c);
}
