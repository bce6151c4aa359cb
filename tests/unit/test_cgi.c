/* test_cgi.c — the CGI environment and the CGI output-head parser
 * (src/cgi.c). Every output is fed whole, split at every point, and byte by
 * byte; all three must give the same result. */
#include "cgi.h"
#include "harness.h"

#include <stdlib.h>

#define NOW ((time_t)1795772916)
#define DATE "Date: Fri, 27 Nov 2026 09:48:36 GMT\r\n"

/* ---- environment ---------------------------------------------------------- */

static wsd_request req;
static wsd_config cfg;

static void rq(const char *method, const char *target)
{
    static char path[1024], query[1024];
    const char *q = strchr(target, '?');
    size_t n = q ? (size_t)(q - target) : strlen(target);
    memset(&req, 0, sizeof req);
    memcpy(path, target, n);
    path[n] = '\0';
    snprintf(query, sizeof query, "%s", q ? q + 1 : "");
    req.method = method;
    req.target = target;
    req.target_len = strlen(target);
    req.path = path;
    req.query = query;
    req.http_major = req.http_minor = 1;
}

static void hdr(const char *name, const char *value)
{
    wsd_http_header *h = &req.headers[req.nheaders++];
    h->name = name;
    h->name_len = strlen(name);
    h->value = value;
    h->value_len = strlen(value);
}

static char **env_for(int https, const char *remote_host)
{
    wsd_cgi_env_input in;
    memset(&in, 0, sizeof in);
    in.cfg = &cfg;
    in.req = &req;
    in.remote_ip = "127.0.0.1";
    in.remote_port = 41702;
    in.remote_host = remote_host;
    in.script_name = "/";
    in.path_info = "/sub/e.cgi";
    in.script_filename = "c/sub/e.cgi";
    in.https = https;
    return wsd_cgi_env_build(&in);
}

static const char *get(char **env, const char *name)
{
    size_t n = strlen(name), i;
    for (i = 0; env[i]; i++) {
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
            return env[i] + n + 1;
    }
    return NULL;
}

static int no_dups(char **env)
{
    size_t i, j;
    for (i = 0; env[i]; i++) {
        size_t k = strcspn(env[i], "=");
        for (j = i + 1; env[j]; j++) {
            if (strncmp(env[i], env[j], k) == 0 && env[j][k] == '=')
                return 0;
        }
    }
    return 1;
}

static void env_tests(void)
{
    char **env;
    char *pv[] = {"FOO=bar", "PATH=/usr/bin", "REMOTE_ADDR=spoofed", "SERVER_SOFTWARE=x"};

    memset(&cfg, 0, sizeof cfg);
    rq("POST", "/sub/e.cgi?q=1&r=%20");
    hdr("Host", "127.0.0.1:18423");
    hdr("Connection", "close");
    hdr("Cookie", "a=1");
    hdr("Cookie", "b=2");
    hdr("Proxy", "evil");
    hdr("X-Multi", "1");
    hdr("x-multi", "2");
    hdr("x_under", "u");
    hdr("X-Under", "v");
    hdr("Content-Type", "application/x-www-form-urlencoded");
    hdr("Content-Length", "5");
    hdr("User-Agent", "t");
    hdr("X.Dot", "d");
    req.content_length = 5;

    env = env_for(0, NULL);
    is_str(get(env, "GATEWAY_INTERFACE"), "CGI/1.1", "GATEWAY_INTERFACE");
    is_str(get(env, "SERVER_SOFTWARE"), "wsd/" WSD_VERSION, "SERVER_SOFTWARE");
    is_str(get(env, "SERVER_NAME"), "127.0.0.1", "SERVER_NAME: Host without the port");
    is_str(get(env, "SERVER_PORT"), "18423", "SERVER_PORT from Host");
    is_str(get(env, "SERVER_PROTOCOL"), "HTTP/1.1", "SERVER_PROTOCOL");
    is_str(get(env, "REQUEST_METHOD"), "POST", "REQUEST_METHOD");
    is_str(get(env, "REQUEST_URI"), "/sub/e.cgi?q=1&r=%20", "REQUEST_URI as sent");
    is_str(get(env, "QUERY_STRING"), "q=1&r=%20", "QUERY_STRING raw");
    is_str(get(env, "SCRIPT_NAME"), "/", "SCRIPT_NAME");
    is_str(get(env, "SCRIPT_FILENAME"), "c/sub/e.cgi", "SCRIPT_FILENAME");
    is_str(get(env, "PATH_INFO"), "/sub/e.cgi", "PATH_INFO");
    is_str(get(env, "REMOTE_ADDR"), "127.0.0.1", "REMOTE_ADDR");
    is_str(get(env, "REMOTE_HOST"), "127.0.0.1", "REMOTE_HOST defaults to the IP");
    is_str(get(env, "REMOTE_PORT"), "41702", "REMOTE_PORT");
    is_str(get(env, "CONTENT_LENGTH"), "5", "CONTENT_LENGTH");
    is_str(get(env, "CONTENT_TYPE"), "application/x-www-form-urlencoded", "CONTENT_TYPE");
    is_str(get(env, "HTTPS"), NULL, "no HTTPS without TLS");
    is_str(get(env, "PATH"), "/bin:/usr/bin:/usr/ucb:/usr/bsd:/usr/local/bin", "PATH: Go's default");
    is_str(get(env, "HTTP_HOST"), "127.0.0.1:18423", "HTTP_HOST");
    is_str(get(env, "HTTP_COOKIE"), "a=1; b=2", "cookies joined with '; '");
    is_str(get(env, "HTTP_X_MULTI"), "1, 2", "repeats joined with ', ' (any case)");
    is_str(get(env, "HTTP_X_UNDER"), "v", "x_under left out: X-Under's value alone");
    is_str(get(env, "HTTP_USER_AGENT"), "t", "HTTP_USER_AGENT");
    is_str(get(env, "HTTP_CONTENT_LENGTH"), "5", "HTTP_CONTENT_LENGTH (as Go)");
    is_str(get(env, "HTTP_CONTENT_TYPE"), "application/x-www-form-urlencoded", "HTTP_CONTENT_TYPE");
    is_str(get(env, "HTTP_CONNECTION"), "close", "HTTP_CONNECTION");
    is_str(get(env, "HTTP_X_DOT"), NULL, "X.Dot left out (not HTTP_X_DOT)");
    is_str(get(env, "HTTP_X.DOT"), NULL, "  nor HTTP_X.DOT");
    is_str(get(env, "HTTP_PROXY"), NULL, "no HTTP_PROXY (httpoxy)");
    is_str(get(env, "FOO"), NULL, "nothing else inherited");
    ok(no_dups(env), "no duplicate names");
    free(env);

    /* --passenv: applied (websocketd ignores it for CGI), standard vars win */
    cfg.passenv_values = pv;
    cfg.npassenv_values = 4;
    env = env_for(1, "localhost");
    is_str(get(env, "FOO"), "bar", "--passenv FOO");
    is_str(get(env, "PATH"), "/usr/bin", "--passenv PATH replaces the default");
    is_str(get(env, "REMOTE_ADDR"), "127.0.0.1", "--passenv cannot override REMOTE_ADDR");
    is_str(get(env, "SERVER_SOFTWARE"), "wsd/" WSD_VERSION, "nor SERVER_SOFTWARE");
    is_str(get(env, "HTTPS"), "on", "HTTPS=on with TLS");
    is_str(get(env, "REMOTE_HOST"), "localhost", "REMOTE_HOST as given");
    is_str(get(env, "SERVER_PORT"), "18423", "SERVER_PORT from Host, TLS too");
    ok(no_dups(env), "no duplicate names");
    free(env);
    memset(&cfg, 0, sizeof cfg);

    rq("GET", "/x.cgi");
    hdr("Host", "example.com");
    env = env_for(1, NULL);
    is_str(get(env, "SERVER_NAME"), "example.com", "port-less Host: SERVER_NAME");
    is_str(get(env, "SERVER_PORT"), "443", "  SERVER_PORT 443 on TLS");
    is_str(get(env, "CONTENT_LENGTH"), NULL, "  no CONTENT_LENGTH without a body");
    is_str(get(env, "CONTENT_TYPE"), NULL, "  no CONTENT_TYPE without the header");
    is_str(get(env, "QUERY_STRING"), "", "  empty QUERY_STRING");
    free(env);
    env = env_for(0, NULL);
    is_str(get(env, "SERVER_PORT"), "80", "  SERVER_PORT 80 without TLS");
    free(env);

    rq("GET", "/x.cgi");
    hdr("Host", "[::1]:8080");
    env = env_for(0, NULL);
    is_str(get(env, "SERVER_NAME"), "[::1]", "IPv6 Host: SERVER_NAME keeps the brackets");
    is_str(get(env, "SERVER_PORT"), "8080", "  SERVER_PORT");
    free(env);
    rq("GET", "/x.cgi");
    hdr("Host", "[::1]");
    env = env_for(0, NULL);
    is_str(get(env, "SERVER_NAME"), "[::1]", "IPv6 Host without port");
    is_str(get(env, "SERVER_PORT"), "80", "  SERVER_PORT 80");
    free(env);
    rq("GET", "/x.cgi");
    env = env_for(0, NULL);
    is_str(get(env, "SERVER_NAME"), "", "no Host: empty SERVER_NAME");
    is_str(get(env, "HTTP_HOST"), NULL, "  no HTTP_HOST");
    free(env);
    rq("HEAD", "/x.cgi");
    req.http_minor = 0;
    env = env_for(0, NULL);
    is_str(get(env, "SERVER_PROTOCOL"), "HTTP/1.0", "HTTP/1.0");
    is_str(get(env, "REQUEST_METHOD"), "HEAD", "HEAD");
    free(env);
}

/* ---- output head ------------------------------------------------------------ */

typedef struct {
    int state;
    int status;
    char head[4096];
    char body[4096];
    size_t body_len;
    const char *error;
} result;

/* Feeds out[0..n) in pieces at the split points (cuts[] ascending, ending
 * with n), then EOF when eof. */
static void run(const char *out, size_t n, const size_t *cuts, size_t ncuts, int eof, size_t limit,
                result *r)
{
    wsd_cgi_parser *p = wsd_cgi_parser_new(limit);
    size_t pos = 0, k, used;
    wsd_header_kv kv[] = {{"X-Extra", "e"}};
    wsd_header_list extra = {kv, 1};

    memset(r, 0, sizeof *r);
    r->state = WSD_CGI_MORE;
    for (k = 0; k < ncuts && r->state == WSD_CGI_MORE; k++) {
        size_t end = cuts[k];
        r->state = wsd_cgi_feed(p, out + pos, end - pos, &used);
        if (r->state == WSD_CGI_DONE) {
            memcpy(r->body, out + pos + used, n - pos - used);
            r->body_len = n - pos - used;
        }
        pos = end;
    }
    if (eof && r->state == WSD_CGI_MORE)
        r->state = wsd_cgi_eof(p);
    r->status = wsd_cgi_status(p);
    r->error = wsd_cgi_error(p);
    if (r->state == WSD_CGI_DONE) {
        wsd_str h;
        wsd_str_init(&h, sizeof r->head - 1);
        if (wsd_cgi_response_head(p, &h, NOW, NULL, &extra) == 0)
            snprintf(r->head, sizeof r->head, "%s", h.s);
        wsd_str_free(&h);
    }
    wsd_cgi_parser_free(p);
}

static int same(const result *a, const result *b)
{
    return a->state == b->state && a->status == b->status && strcmp(a->head, b->head) == 0 &&
           a->body_len == b->body_len && memcmp(a->body, b->body, a->body_len) == 0 &&
           strcmp(a->error, b->error) == 0;
}

/* want_state DONE: want_head (with DATE where the Date goes) and body;
 * ERROR: want_err. Checked whole, at every split point and byte by byte. */
static void cgi_case(const char *name, const char *out, size_t n, int want_state, int want_status,
                     const char *want_head, const char *want_body, size_t want_body_len,
                     const char *want_err)
{
    result whole, piece;
    size_t cuts[2], k, bad = 0, *all;

    cuts[0] = n;
    run(out, n, cuts, 1, 1, 0, &whole);
    ok(whole.state == want_state, "%s: %s", name,
       want_state == WSD_CGI_DONE ? "DONE" : want_state == WSD_CGI_ERROR ? "ERROR" : "MORE");
    if (whole.state != want_state)
        printf("#   got state %d, error '%s'\n", whole.state, whole.error);
    if (want_state == WSD_CGI_DONE) {
        is_int(whole.status, want_status, "  status");
        is_str(whole.head, want_head, "  response head");
        is_mem(whole.body, whole.body_len, want_body, want_body_len, "  body bytes after the head");
    } else if (want_err) {
        is_str(whole.error, want_err, "  error");
        is_int(whole.status, 500, "  status 500");
    }
    for (k = 0; k <= n; k++) {
        cuts[0] = k;
        cuts[1] = n;
        run(out, n, cuts, 2, 1, 0, &piece);
        if (!same(&whole, &piece) && bad++ < 3)
            printf("#   split at %zu differs (state %d, head '%s')\n", k, piece.state, piece.head);
    }
    ok(bad == 0, "  same at every split point (%zu)", n + 1);
    all = xmalloc((n + 1) * sizeof *all);
    for (k = 0; k < n; k++)
        all[k] = k + 1;
    run(out, n, all, n, 1, 0, &piece);
    ok(same(&whole, &piece), "  same byte by byte");
    free(all);
}

#define CASE(name, lit, st, code, head, body, err) \
    cgi_case(name, lit, sizeof lit - 1, st, code, head, body, sizeof body - 1, err)
#define D WSD_CGI_DONE
#define E WSD_CGI_ERROR
#define END DATE "Connection: close\r\nX-Extra: e\r\n\r\n"

static void head_tests(void)
{
    CASE("plain CRLF", "Content-Type: text/plain\r\n\r\nbody", D, 200,
         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" END, "body", NULL);
    CASE("plain LF", "Content-Type: text/plain\n\nline1\nline2\n", D, 200,
         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" END, "line1\nline2\n", NULL);
    CASE("no body", "Content-Type: text/plain\n\n", D, 200,
         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" END, "", NULL);
    CASE("teapot", "Status: 418 I'm a teapot\nX-A: 1\nContent-Type: text/x\n\nbody\n", D, 418,
         "HTTP/1.1 418 I'm a teapot\r\nX-A: 1\r\nContent-Type: text/x\r\n" END, "body\n", NULL);
    CASE("status, own reason", "Status: 418 Short and stout\nContent-Type: t\n\n", D, 418,
         "HTTP/1.1 418 Short and stout\r\nContent-Type: t\r\n" END, "", NULL);
    CASE("status without reason", "Status: 404\nContent-Type: t\n\nnf", D, 404,
         "HTTP/1.1 404 Not Found\r\nContent-Type: t\r\n" END, "nf", NULL);
    CASE("status, no Content-Type needed", "Status: 204\n\n", D, 204,
         "HTTP/1.1 204 No Content\r\n" END, "", NULL);
    CASE("unknown status code", "Status: 299 Custom\n\n", D, 299, "HTTP/1.1 299 Custom\r\n" END,
         "", NULL);
    CASE("status lower-case (Go: exact case only)", "status: 201\nContent-Type: t\n\n", D, 201,
         "HTTP/1.1 201 Created\r\nContent-Type: t\r\n" END, "", NULL);
    CASE("Location absolute → 302", "Location: http://example.com/x\n\n", D, 302,
         "HTTP/1.1 302 Found\r\nLocation: http://example.com/x\r\n" END, "", NULL);
    CASE("Location local → 302 as given", "Location: /env.cgi?z=1\r\n\r\n", D, 302,
         "HTTP/1.1 302 Found\r\nLocation: /env.cgi?z=1\r\n" END, "", NULL);
    CASE("Location + Status", "Location: /x\nStatus: 301 Moved Permanently\n\n", D, 301,
         "HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\n" END, "", NULL);
    CASE("multiple Set-Cookie, Content-Length kept",
         "Content-Type: text/plain\nSet-Cookie: a=1\nSet-Cookie: b=2\nContent-Length: 3\n\nabc", D,
         200,
         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
         "Content-Length: 3\r\n" END, "abc", NULL);
    CASE("hop-by-hop dropped",
         "Content-Type: t\nConnection: keep-alive\nTransfer-Encoding: chunked\nKeep-Alive: 5\n\nx",
         D, 200, "HTTP/1.1 200 OK\r\nContent-Type: t\r\n" END, "x", NULL);
    CASE("script's Date kept", "Content-Type: t\nDate: Sun, 06 Nov 1994 08:49:37 GMT\n\n", D, 200,
         "HTTP/1.1 200 OK\r\nContent-Type: t\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
         "Connection: close\r\nX-Extra: e\r\n\r\n", "", NULL);
    CASE("spaces trimmed", "Content-Type:text/plain\r\nX-Sp:    v  \r\n\r\nx", D, 200,
         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Sp: v\r\n" END, "x", NULL);
    CASE("bogus lines skipped", "Content-Type: text/plain\nnocolon\nX-B: 2\n\nx", D, 200,
         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-B: 2\r\n" END, "x", NULL);
    CASE("bad names skipped", "Content-Type: t\nBad Name: v\n: novalue\n folded: x\nX(y): z\n\n",
         D, 200, "HTTP/1.1 200 OK\r\nContent-Type: t\r\n" END, "", NULL);
    CASE("CR inside a value: line skipped", "Content-Type: t\nX-Evil: a\rSet-Cookie: b\n\n", D,
         200, "HTTP/1.1 200 OK\r\nContent-Type: t\r\n" END, "", NULL);
    CASE("NUL inside a value: line skipped", "Content-Type: t\nX-Nul: a\0b\n\nz\0z", D, 200,
         "HTTP/1.1 200 OK\r\nContent-Type: t\r\n" END, "z\0z", NULL);
    CASE("empty value kept", "Content-Type: t\nX-Empty:\n\n", D, 200,
         "HTTP/1.1 200 OK\r\nContent-Type: t\r\nX-Empty: \r\n" END, "", NULL);
    CASE("CRLF line then LF blank", "Content-Type: t\r\n\nB", D, 200,
         "HTTP/1.1 200 OK\r\nContent-Type: t\r\n" END, "B", NULL);
    CASE("LF line then CRLF blank", "Content-Type: t\n\r\nB", D, 200,
         "HTTP/1.1 200 OK\r\nContent-Type: t\r\n" END, "B", NULL);
    CASE("a lone CR line is not blank", "Content-Type: t\n\r\r\n\nB", D, 200,
         "HTTP/1.1 200 OK\r\nContent-Type: t\r\n" END, "B", NULL);
    CASE("body looks like headers", "Content-Type: t\n\nStatus: 500\n\nX: y\n", D, 200,
         "HTTP/1.1 200 OK\r\nContent-Type: t\r\n" END, "Status: 500\n\nX: y\n", NULL);

    CASE("no headers, EOF", "hello\n", E, 0, NULL, "", "cgi: no headers");
    CASE("nothing at all", "", E, 0, NULL, "", "cgi: no headers");
    CASE("head never ends", "Content-Type: t\nX: y", E, 0, NULL, "", "cgi: no headers");
    CASE("blank first line", "\nbody", E, 0, NULL, "", "cgi: no headers");
    CASE("blank first line CRLF", "\r\nbody", E, 0, NULL, "", "cgi: no headers");
    CASE("no Content-Type", "X-Foo: 1\n\nbody\n", E, 0, NULL, "",
         "cgi: missing required Content-Type in headers");
    CASE("no valid header", "hello\n\nbody", E, 0, NULL, "",
         "cgi: missing required Content-Type in headers");
    CASE("empty Content-Type", "Content-Type:\n\n", E, 0, NULL, "",
         "cgi: missing required Content-Type in headers");
    CASE("empty Location", "Location: \n\n", E, 0, NULL, "",
         "cgi: missing required Content-Type in headers");
    CASE("bogus status", "Status: abc\nContent-Type: text/plain\n\nx", E, 0, NULL, "",
         "cgi: bogus status");
    CASE("short status", "Status: 20\nContent-Type: t\n\n", E, 0, NULL, "",
         "cgi: bogus status (short)");
    CASE("4-digit status", "Status: 2000\nContent-Type: t\n\n", E, 0, NULL, "", "cgi: bogus status");
    CASE("1xx status", "Status: 101 Switching\n\n", E, 0, NULL, "", "cgi: bogus status");
    CASE("status 600", "Status: 600\n\n", E, 0, NULL, "", "cgi: bogus status");
}

static void limit_tests(void)
{
    char big[300];
    size_t cuts[1], n;
    result r;

    /* a head of exactly the limit is fine, one byte more is not */
    n = (size_t)snprintf(big, sizeof big, "Content-Type: t\nX: %.*s\n\n", 40,
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    cuts[0] = n;
    run(big, n, cuts, 1, 1, n, &r);
    is_int(r.state, WSD_CGI_DONE, "head of exactly the limit (%zu)", n);
    run(big, n, cuts, 1, 1, n - 1, &r);
    is_int(r.state, WSD_CGI_ERROR, "one byte over the limit");
    is_str(r.error, "cgi: header too large", "  error");
    {
        size_t all[300], k;
        for (k = 0; k < n; k++)
            all[k] = k + 1;
        run(big, n, all, n, 1, n - 1, &r);
        is_int(r.state, WSD_CGI_ERROR, "  byte by byte too");
    }
    /* the default limit: 64 KiB */
    {
        size_t len = WSD_CGI_MAX_HEAD + 100, used;
        char *huge = xmalloc(len);
        wsd_cgi_parser *p = wsd_cgi_parser_new(0);
        memset(huge, 'a', len);
        memcpy(huge, "Content-Type: t\nX: ", 19);
        is_int(wsd_cgi_feed(p, huge, 40000, &used), WSD_CGI_MORE, "40000 bytes: MORE");
        is_int(wsd_cgi_feed(p, huge + 40000, len - 40000, &used), WSD_CGI_ERROR,
               "past 64 KiB without the end of the head: ERROR");
        is_int(wsd_cgi_feed(p, "\n\n", 2, &used), WSD_CGI_ERROR, "  stays ERROR");
        is_int(used, 0, "  consumes nothing");
        wsd_cgi_parser_free(p);
        free(huge);
    }
    /* after DONE */
    {
        wsd_cgi_parser *p = wsd_cgi_parser_new(0);
        size_t used;
        wsd_str out;
        is_int(wsd_cgi_feed(p, "Content-Type: t\n\nabc", 20, &used), WSD_CGI_DONE, "DONE");
        is_int(used, 17, "  consumed the head only");
        is_int(wsd_cgi_feed(p, "more", 4, &used), WSD_CGI_DONE, "  feeding after DONE: DONE");
        is_int(used, 0, "  consumes nothing");
        is_int(wsd_cgi_eof(p), WSD_CGI_DONE, "  EOF after DONE: DONE");
        wsd_str_init(&out, 20);
        wsd_str_appends(&out, "keep");
        is_int(wsd_cgi_response_head(p, &out, NOW, NULL, NULL), -1, "  head over the limit: -1");
        is_str(out.s, "keep", "  out unchanged");
        wsd_str_free(&out);
        wsd_cgi_parser_free(p);
        p = wsd_cgi_parser_new(0);
        wsd_str_init(&out, 4096);
        is_int(wsd_cgi_response_head(p, &out, NOW, NULL, NULL), -1, "response head before DONE: -1");
        is_int(wsd_cgi_status(p), 500, "status before DONE: 500");
        wsd_str_free(&out);
        wsd_cgi_parser_free(p);
    }
}

/* Access control (#13) in a CGI environment. */
static void access_env_tests(void)
{
    wsd_cgi_env_input in;
    char *extra[] = {"USER_ID=7", NULL};
    char **env;

    memset(&cfg, 0, sizeof cfg);
    rq("GET", "/sub/e.cgi");
    hdr("Host", "backend:9000");
    hdr("Authorization", "Basic dTpw");
    memset(&in, 0, sizeof in);
    in.cfg = &cfg;
    in.req = &req;
    in.remote_ip = "203.0.113.5";
    in.remote_port = -1;
    in.script_name = "/";
    in.path_info = "/sub/e.cgi";
    in.script_filename = "c/sub/e.cgi";
    in.access.user = "u";
    in.access.auth_type = "Basic";
    in.access.hide_authorization = 1;
    in.access.extra = extra;
    in.access.host = "example.com:8443";
    in.access.proto = 2;
    env = wsd_cgi_env_build(&in);
    is_str(get(env, "REMOTE_USER"), "u", "CGI REMOTE_USER");
    is_str(get(env, "AUTH_TYPE"), "Basic", "CGI AUTH_TYPE");
    is_str(get(env, "USER_ID"), "7", "CGI: the authorizer's variable");
    is_str(get(env, "HTTP_AUTHORIZATION"), NULL, "CGI: the checked password is not passed");
    is_str(get(env, "HTTPS"), "on", "CGI HTTPS from the proxy");
    is_str(get(env, "SERVER_NAME"), "example.com", "CGI SERVER_NAME from X-Forwarded-Host");
    is_str(get(env, "SERVER_PORT"), "8443", "CGI SERVER_PORT from X-Forwarded-Host");
    is_str(get(env, "REMOTE_PORT"), "", "CGI REMOTE_PORT empty when not known");
    ok(no_dups(env), "CGI: no duplicates");
    free(env);
}

int main(void)
{
    env_tests();
    access_env_tests();
    head_tests();
    limit_tests();
    return done_testing();
}
