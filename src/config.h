/* config.h — the command line, parsed exactly as websocketd (Go `flag`) does,
 * into one immutable struct wsd_config. No libuv.
 *
 * With --config=FILE, the file's settings come first and the command line
 * wins over them (docs/config.md): every option flag is a key of the same
 * name (cfgfile.h has the syntax), `command` and `arg` give COMMAND and its
 * arguments, and `[route /PATH]` sections give URL paths programs and
 * options of their own: each route's wsd_config is the server's, overlaid
 * with the route's settings (what serves — command, arg, dir, staticdir,
 * cgidir, devconsole — is not inherited).
 *
 * Go flag rules: `-x` ≡ `--x`; non-boolean flags take `--x=v` or `--x v`;
 * booleans are bare `--x` or `--x=true|false` (also 1/0/t/f/T/F/TRUE/FALSE/
 * True/False, as Go's strconv.ParseBool); parsing stops at the first non-flag
 * argument or after `--`; the rest is COMMAND and its arguments. A repeated
 * flag: the last value wins, except --address and the --header* flags, which
 * accumulate. */
#ifndef WSD_CONFIG_H
#define WSD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

#include "http.h"

#define WSD_VERSION "0.1.0"

struct wsd_config_route;

typedef struct wsd_config {
    int port;                 /* resolved: 80, or 443 with --ssl, when 0 */
    char **addresses;         /* --address values as given (may be "[::1]") */
    size_t naddresses;        /* 0 = all interfaces, dual-stack */

    int ssl;
    char *sslcert, *sslkey, *sslca;
    int redirport;

    char *dir, *staticdir, *cgidir;   /* made absolute (dir) as websocketd */
    int devconsole;
    int binary;
    int reverselookup;

    /* --passenv: names in order, and the "NAME=value" strings captured from
     * wsd's own environment at start-up (websocketd's rules: HTTPS and
     * unset/empty skipped, CR/LF → space, trimmed, empty skipped). */
    char **passenv;
    size_t npassenv;
    char **passenv_values;
    size_t npassenv_values;

    long maxforks;            /* <= 0 = unlimited; see maxforks_auto */
    int maxforks_auto;        /* not given: the server derives it from RLIMIT_NOFILE */
    unsigned long closems;    /* added to each kill-escalation step */
    char *origin;             /* raw --origin list, NULL if none */
    int sameorigin;

    /* --header/--header-ws/--header-http values split as websocketd's
     * splitMimeHeader: name canonicalised (Go CanonicalMIMEHeaderKey),
     * value left-trimmed */
    wsd_header_list headers;       /* every response */
    wsd_header_list headers_ws;    /* the 101 only */
    wsd_header_list headers_http;  /* every non-101 response */

    int loglevel;             /* enum wsd_log_level */
    int logformat;            /* --logformat: enum wsd_log_format (text) */
    int journal;              /* --journal: 1, 0, or -1 when not given (JOURNAL_STREAM decides) */

    /* observability (monitor.h) */
    char *metrics;            /* --metrics as given ("ADDR:PORT"), NULL if none */
    char *metrics_addr;       /* its address ("" = all interfaces; "[::1]" keeps brackets) */
    int metrics_port;
    char *healthpath;         /* --healthpath, NULL if none */
    long gracems;             /* --gracems: 0 = shut down at once */

    char *unixsocket;
    int unix_only;            /* --unixsocket alone: no TCP listener */
    long pingms;              /* 0 = off */
    uint64_t maxframesize;    /* max inbound message bytes; default 1 MiB; 0 = unlimited */
    int passstderr;
    int workers;              /* --workers: event-loop processes (default 1) */
    unsigned long drainms;    /* --drainms: an upgrade's old process serves this long (ms) */
    int inetd;                /* --inetd: one connection on stdin, no listener */
    int lossless;             /* --lossless: records "text|binary LEN\n<payload>\n" */
    int shared;               /* --shared (or --sharedalways): one program per endpoint */
    int sharedalways;         /* --sharedalways: started at start-up, restarted */
    int shareddrop;           /* --shareddrop: a slow client loses its oldest messages */
    uint64_t sharedqueue;     /* --sharedqueue: bytes waiting for one client (default 1 MiB) */
    int linebuffered;         /* --linebuffered: the program's stdout is a raw pty (pty.h) */
    int pty;                  /* --pty: terminal mode (pty.h, terminal.h) */
    char *redis;              /* --redis URL (redisurl.h), NULL if none */
    char *redischannel;       /* --redischannel: channel prefix (default "wsd") */
    int sharededge;           /* --sharededge=N: this wsd is edge N (1..1023), 0: not an edge */
    char **subprotocols;      /* --subprotocols, in server preference order */
    size_t nsubprotocols;
    int deflate;              /* permessage-deflate allowed (default on) */
    int deflatebits;          /* window bits, 9..15 (default 12) */
    int deflatemem;           /* zlib memLevel, 1..9 (default 5) */

    /* Access control (#13, docs/security.md). */
    char *htpasswd;           /* --htpasswd: the file (read by the server) */
    char *authcmd;            /* --authcmd as given, and its absolute path */
    char *authcmd_path;
    unsigned long authtimeout;/* ms; default 5000 */
    char *authrealm;          /* WWW-Authenticate realm; default "wsd" */
    int publicstatic;         /* --staticdir files without authentication */
    char *trustproxy;         /* --trustproxy list (compiled by the server: realip.h) */
    int proxyprotocol;        /* a PROXY header first on every connection */
    char *user, *group;       /* --user/--group: drop privileges to them */
    int allowroot;            /* run programs as root all the same */
    struct wsd_rlimit {
        int resource;         /* RLIMIT_* */
        struct rlimit lim;
    } rlimits[8];             /* --rlimit, applied in each program before exec */
    size_t nrlimits;
    char *chdir;              /* --chdir: programs' working directory (absolute) */
    int unixsocketmode;       /* --unixsocketmode, or -1: as created */
    char *unixsocketuser, *unixsocketgroup;
    unsigned long maxperip;   /* connections at once per client (0: no limit) */
    unsigned long ratelimit;  /* handshakes a minute per client (0: no limit) */
    unsigned long rateburst;  /* ... of which at once; default 10 */

    /* COMMAND: as given, resolved through PATH (Go exec.LookPath: a name
     * with a '/' is used as is), and the child's argv: {path, args..., NULL}. */
    char *command;
    char *command_path;
    char **argv;
    int argc;

    /* --config: the file (absolute, for reloads), its routes in file order
     * (none in a route's own wsd_config), and the command line the whole
     * was parsed from (main's argv, borrowed: re-applied over the file on
     * a reload). */
    char *config_file;
    int check;                /* --check: main checks what only it can, then exits */
    char *check_name;         /* ... naming this (the file as given, or "wsd") */
    struct wsd_config_route *routes;
    size_t nroutes;
    int cmdline_argc;
    char **cmdline_argv;
} wsd_config;

/* A [route /PATH] section: requests whose decoded, clean path is PATH or
 * under PATH/ ("/" : every path) go to it; the longest PATH wins. */
typedef struct wsd_config_route {
    char *path;
    int line;                 /* its header's line in the file */
    wsd_config *cfg;          /* its options: the server's overlaid with its own */
} wsd_config_route;

/* Set by main before parsing: the text after "wsd <version>" in --version
 * (library versions). May stay NULL. */
extern const char *wsd_build_info;

/* Parses argv[1..argc) into *c (zeroed and defaulted first).
 * Returns -1 when the server should run. Otherwise returns the exit status
 * to exit with, having printed exactly what the user should see:
 *   0  --help (usage to `err`, as websocketd), --version / --license (to `out`)
 *   1  a configuration error: a one-line message, websocketd's wording where
 *      it has one, on the stream websocketd uses — `out` for "Command line
 *      arguments are missing." and the bad --loglevel message, `err` for the
 *      others — plus, where websocketd prints it, the short usage hint on
 *      `err`
 *   2  an unknown flag or a bad flag value, a number out of its flag's
 *      range included: Go's "flag provided but not defined: -x" /
 *      "invalid value ..." on `err`, then the flag list
 *   4  --devconsole with --staticdir/--cgidir: websocketd's FATAL log line
 *      on `out` (none with --loglevel=none).
 * A problem in the --config file is a configuration error (1), printed as
 * "FILE:LINE: key: problem" on `err`. --check: everything here is checked
 * and any problem is 1; when it is good, -1 with c->check set: the caller
 * checks what needs the system (users, --htpasswd files), then prints
 * wsd_config_check_ok and exits 0, or 1.
 * Reads the environment for --passenv, PATH for COMMAND and the --config
 * file. */
int wsd_config_parse(wsd_config *c, int argc, char **argv, FILE *out, FILE *err);

/* "ADDR:PORT" (ADDR may be empty for all interfaces, or an IPv6 address in
 * brackets) → *host (allocated, brackets kept) and *port (1..65535).
 * Returns NULL, or the reason it is not one (then *host is NULL). */
const char *wsd_config_hostport(const char *s, char **host, int *port);

/* --check's "FILE: configuration OK; routes: /a, /b" line. */
void wsd_config_check_ok(const wsd_config *c, FILE *out);

/* Reads a configuration file (at most WSD_CFGFILE_MAX bytes): its text
 * (free it; its length in *len), or NULL having printed why to err. */
char *wsd_config_read_file(const char *name, size_t *len, FILE *err);

/* A reload (SIGHUP): the command line c->cmdline_argv again, over the
 * configuration file's new text[0..len) (read by the caller, at most
 * WSD_CFGFILE_MAX bytes), into *n. -1 when it is good; else 1 with the
 * problems on err ("FILE:LINE: key: problem", one a line). */
int wsd_config_reparse(wsd_config *n, const wsd_config *c, const char *text, size_t len,
                       FILE *err);

/* The first setting that differs between a running configuration and a
 * new one and only takes effect on a restart (listeners, TLS, --workers,
 * the hub process): its key, or NULL when there is none. */
const char *wsd_config_restart_needed(const wsd_config *old, const wsd_config *n);

/* Frees everything *c owns; *c may then be parsed into again. */
void wsd_config_free(wsd_config *c);

#endif
