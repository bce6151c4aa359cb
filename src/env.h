/* env.h — the environment of a WebSocket child, as websocketd builds it
 * (CGI-style variables, HTTP_* per header, the --passenv whitelist and
 * nothing else). Pure: no I/O. */
#ifndef WSD_ENV_H
#define WSD_ENV_H

#include "config.h"
#include "http.h"

/* What access control (access.c) found out about one request: who the
 * user is and what a trusted proxy said (docs/security.md). All zero: none
 * of it. The strings are malloc'd by access.c and freed with
 * wsd_env_access_clear. */
typedef struct {
    char *user;                /* authenticated: REMOTE_USER (and user:'…' in the log) */
    char *auth_type;           /* AUTH_TYPE ("Basic", or what --authcmd said) */
    char **extra;              /* --authcmd's NAME=value lines, NULL-terminated, one
                                * allocation (authout.h), or NULL */
    char *host;                /* a trusted X-Forwarded-Host / Forwarded host= */
    int proto;                 /* a trusted X-Forwarded-Proto: 0 not said, 1 http, 2 https */
    int hide_authorization;    /* wsd checked the password: no HTTP_AUTHORIZATION */
} wsd_env_access;

/* Frees what a holds and zeroes it. */
void wsd_env_access_clear(wsd_env_access *a);

typedef struct {
    const wsd_config *cfg;
    const wsd_request *req;
    const char *remote_ip;     /* "127.0.0.1", "::1" */
    int remote_port;           /* -1: none (Unix socket peer) → REMOTE_PORT empty */
    const char *remote_host;   /* = remote_ip unless --reverselookup found a name */
    const char *unique_id;     /* connection id, also in the log */
    const char *script_name;   /* "/" in COMMAND mode */
    const char *path_info;     /* decoded path in COMMAND mode */
    int https;
    const char *subprotocol;   /* negotiated Sec-WebSocket-Protocol → WEBSOCKET_PROTOCOL, or NULL */
    wsd_env_access access;     /* REMOTE_USER, AUTH_TYPE, extra variables; a trusted
                                * proxy's host and scheme override Host and `https` */
} wsd_env_input;

/* A list of "NAME=value" strings being built (here and by cgi.c). */
typedef struct {
    char **v;
    size_t n, cap;
} wsd_envlist;

/* Appends kv, a malloc'd "NAME=value" the list then owns. */
void wsd_envlist_push(wsd_envlist *e, char *kv);

/* Appends "name=" followed by value[0..vlen) as is (value NULL: empty). */
void wsd_envlist_add(wsd_envlist *e, const char *name, const char *value, size_t vlen);

/* Removes duplicates, keeping the last occurrence of each name at its own
 * position (as os/exec does), and returns the NULL-terminated array; the
 * array and its strings are one allocation: release with free(). e is
 * emptied. */
char **wsd_envlist_finish(wsd_envlist *e);

enum { WSD_ENV_WEBSOCKETD = 0, WSD_ENV_CGI = 1 };

/* Appends one HTTP_<NAME> variable per header name of r, in order of first
 * arrival; names compare case-insensitively, NAME is the name upper-cased
 * with '-' → '_', and the values of repeats are joined with ", " in arrival
 * order. A header whose name holds anything other than letters, digits and
 * '-' is left out, so that no header can pose as another ("X_Real_Ip" is not
 * HTTP_X_REAL_IP). Style WSD_ENV_WEBSOCKETD cleans values as websocketd's
 * appendEnv (CR/LF → space, Go's strings.TrimSpace); WSD_ENV_CGI (Go's
 * net/http/cgi) keeps them as sent, joins Cookie repeats with "; " and
 * leaves out Proxy (httpoxy). */
void wsd_env_add_http(wsd_envlist *e, const wsd_request *r, int style);
/* The same, without HTTP_AUTHORIZATION when hide_authorization (a password
 * wsd checked is not the program's to see, as Apache hides it from CGI). */
void wsd_env_add_http_access(wsd_envlist *e, const wsd_request *r, int style,
                             int hide_authorization);
/* REMOTE_USER, AUTH_TYPE (both "" when a is NULL or says nothing) and the
 * extra variables, at the end of the list so they win. */
void wsd_env_add_access(wsd_envlist *e, const wsd_env_access *a);

/* Builds "NAME=value" strings in websocketd's order — SERVER_SOFTWARE, the
 * --passenv values, the standard variables (REMOTE_ADDR … HTTPS), one HTTP_*
 * per header name (wsd_env_add_http, WSD_ENV_WEBSOCKETD), then
 * in->access's user and variables (wsd_env_add_access) — with
 * duplicates removed so that the last value of a name wins. Returns a
 * NULL-terminated array; the array and its strings are one allocation:
 * release with free(). */
char **wsd_env_build(const wsd_env_input *in);

/* The environment of a --shared program, which serves many clients: the
 * server-level variables only — SERVER_SOFTWARE, the --passenv values,
 * SERVER_PORT, SERVER_PROTOCOL, GATEWAY_INTERFACE, SCRIPT_NAME,
 * PATH_TRANSLATED (--dir: the script, else empty), HTTPS (with --ssl) and
 * WSD_SHARED=1; no REMOTE_*, no HTTP_* (addressed mode sends each client's
 * in its join record). Released with free(). */
char **wsd_env_build_shared(const wsd_config *cfg, const char *script_name,
                            const char *script_file);

#endif
