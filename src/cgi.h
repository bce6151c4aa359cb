/* cgi.h — pure CGI/1.1 (RFC 3875) helpers for --cgidir: the script's
 * environment, and an incremental parser of the script's output head that
 * produces the HTTP response head. No I/O: the server spawns the script
 * (cwd = the script's directory, argv[0] = its base name, as websocketd),
 * writes the request body to its stdin, and feeds its stdout here.
 *
 * Environment: as Go's net/http/cgi builds it for websocketd, with these
 * deliberate differences:
 *   - the --passenv values are applied (websocketd forgets them for CGI);
 *     PATH defaults to Go's "/bin:/usr/bin:/usr/ucb:/usr/bsd:/usr/local/bin"
 *     when --passenv gives none; standard variables win over --passenv ones;
 *   - SERVER_NAME is the Host header without its port (RFC 3875 §4.1.14;
 *     Go 1.19 gives "host:port");
 *   - SERVER_SOFTWARE is "wsd/<version>";
 *   - REQUEST_URI is the request-target as sent (Go re-encodes it);
 *   - a header whose name holds anything but letters, digits and '-' gets
 *     no HTTP_* variable (Go gives "X_A" and "X-A" the one HTTP_X_A, their
 *     values joined); the others make one variable per name (compared
 *     case-insensitively), repeats joined with ", " (Cookie: "; ") in
 *     arrival order: wsd_env_add_http (env.h).
 *
 * Output head: header lines up to a blank line, LF or CRLF. "Status: 418
 * I'm a teapot" sets the status (the script's reason phrase is kept; none →
 * the standard one); Location without Status → 302 with the Location as given,
 * also for a local path (Go's cgi handler without PathLocationHandler does
 * the same; no internal redirect); without Status and Location a
 * Content-Type is required. Errors → 500 with an empty body, and Go's log
 * text for stderr: "cgi: no headers" (EOF before the blank line, or a blank
 * first line), "cgi: missing required Content-Type in headers",
 * "cgi: bogus status ..." (websocketd: 200 with an empty body),
 * "cgi: header too large" (over the limit, default 64 KiB).
 * Lines without ':' or with an invalid name are skipped ("bogus header
 * line", as Go); lines with control characters in the value are skipped
 * too (response splitting). "Status" matches case-insensitively (Go:
 * exact case).
 *
 * Body framing: the script's Connection, Transfer-Encoding and Keep-Alive
 * headers are dropped, "Connection: close" is always sent and the body is
 * streamed as the script writes it until EOF, then the connection closes
 * (Go uses chunked encoding when the script gives no Content-Length).
 * A Content-Length given by the script is passed on. For HEAD requests the
 * server sends the head only. */
#ifndef WSD_CGI_H
#define WSD_CGI_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "env.h"
#include "http.h"
#include "util.h"

typedef struct {
    const wsd_config *cfg;        /* --passenv values; may be NULL */
    const wsd_request *req;
    const char *remote_ip;        /* "127.0.0.1", "::1" */
    int remote_port;
    const char *remote_host;      /* NULL → remote_ip */
    const char *script_name;      /* wsd_route_cgi: "/" */
    const char *path_info;        /* wsd_route_cgi: the decoded path */
    const char *script_filename;  /* wsd_route_cgi: file */
    int https;
    wsd_env_access access;        /* access control (env.h): REMOTE_USER, AUTH_TYPE, extra
                                   * variables; a trusted proxy's host and scheme */
} wsd_cgi_env_input;

/* Builds the "NAME=value" array (NULL-terminated; the array and its
 * strings are one allocation: release with free()). Order: PATH default,
 * --passenv values, SERVER_SOFTWARE, SERVER_NAME, SERVER_PORT,
 * SERVER_PROTOCOL, GATEWAY_INTERFACE=CGI/1.1, REQUEST_METHOD, REQUEST_URI,
 * QUERY_STRING, SCRIPT_NAME, SCRIPT_FILENAME, PATH_INFO, REMOTE_ADDR,
 * REMOTE_HOST, REMOTE_PORT, HTTPS=on (TLS only), CONTENT_LENGTH (when > 0),
 * CONTENT_TYPE (when sent), then HTTP_* per header (Host included, Proxy
 * excluded: httpoxy; see above; Authorization too when wsd checked the
 * password), then REMOTE_USER, AUTH_TYPE and the authorizer's variables
 * (access); for a repeated name the last value wins, in its place.
 * REMOTE_PORT is empty when not known (a Unix socket peer, a proxied
 * client whose port the proxy did not say). */
char **wsd_cgi_env_build(const wsd_cgi_env_input *in);

enum {
    WSD_CGI_MORE = 0,    /* head not complete: feed more */
    WSD_CGI_DONE = 1,    /* head complete: build the response head */
    WSD_CGI_ERROR = -1   /* answer 500 (empty body); see wsd_cgi_error */
};

#define WSD_CGI_MAX_HEAD 65536

typedef struct wsd_cgi_parser wsd_cgi_parser;

/* limit: the most head bytes accepted (0 → WSD_CGI_MAX_HEAD). */
wsd_cgi_parser *wsd_cgi_parser_new(size_t limit);
void wsd_cgi_parser_free(wsd_cgi_parser *p);

/* Feeds stdout bytes. MORE: all consumed. DONE: the first *consumed bytes
 * of data ended the head; the rest of data is body, to be sent after the
 * response head. ERROR: stop (kill the script), answer 500. Feeding after
 * DONE or ERROR returns the same result and consumes nothing. */
int wsd_cgi_feed(wsd_cgi_parser *p, const char *data, size_t len, size_t *consumed);

/* stdout reached EOF: DONE if the head was complete, else ERROR
 * ("cgi: no headers"). */
int wsd_cgi_eof(wsd_cgi_parser *p);

/* After ERROR: Go-style log text ("cgi: no headers", ...). */
const char *wsd_cgi_error(const wsd_cgi_parser *p);

/* After DONE: the HTTP status (200, 302, or the script's Status). */
int wsd_cgi_status(const wsd_cgi_parser *p);

/* After DONE: appends "HTTP/1.1 <status> <reason>", the script's headers in
 * order (without Status, Connection, Transfer-Encoding, Keep-Alive), Date
 * (unless the script sent one), "Connection: close", extra1, extra2 (e.g.
 * --header, --header-http; may be NULL), and the blank line.
 * Returns 0, or -1 (out unchanged) if out's limit was hit or not DONE. */
int wsd_cgi_response_head(const wsd_cgi_parser *p, wsd_str *out, time_t now,
                          const wsd_header_list *extra1, const wsd_header_list *extra2);

#endif
