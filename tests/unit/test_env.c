/* test_env.c — the child's environment (src/env.c) against §3 of the
 * reference and what Debian's websocketd 0.4.1 was observed to give. */
#include "env.h"
#include "harness.h"

#include <malloc.h>
#include <stdlib.h>

/* ---- building requests by hand ------------------------------------------ */

typedef struct {
    wsd_request r;
    wsd_config cfg;
    wsd_env_input in;
} fixture;

static void set_target(fixture *f, const char *target)
{
    static char path[1024], query[1024];
    const char *q = strchr(target, '?');
    size_t n = q ? (size_t)(q - target) : strlen(target);
    memcpy(path, target, n);
    path[n] = '\0';
    snprintf(query, sizeof query, "%s", q ? q + 1 : "");
    f->r.target = target;
    f->r.target_len = strlen(target);
    f->r.path = path;
    f->r.query = query;
}

static void add_header(fixture *f, const char *name, const char *value)
{
    wsd_http_header *h = &f->r.headers[f->r.nheaders++];
    h->name = name;
    h->name_len = strlen(name);
    h->value = value;
    h->value_len = strlen(value);
}

static void init(fixture *f, const char *target)
{
    memset(f, 0, sizeof *f);
    f->r.method = "GET";
    f->r.http_major = 1;
    f->r.http_minor = 1;
    f->r.upgrade = 1;
    set_target(f, target);
    f->in.cfg = &f->cfg;
    f->in.req = &f->r;
    f->in.remote_ip = "127.0.0.1";
    f->in.remote_port = 37050;
    f->in.remote_host = "127.0.0.1";
    f->in.unique_id = "1795771973071901965";
    f->in.script_name = "/";
    f->in.path_info = "/a b/c";
    f->in.https = 0;
}

static size_t count(char **env)
{
    size_t n = 0;
    while (env[n])
        n++;
    return n;
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

static long index_of(char **env, const char *name)
{
    size_t n = strlen(name), i;
    for (i = 0; env[i]; i++) {
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
            return (long)i;
    }
    return -1;
}

/* Compares the whole environment with want (NULL-terminated). */
static void is_env(char **env, const char *const *want, const char *what)
{
    size_t i, n = count(env), m = 0;
    int same;
    while (want[m])
        m++;
    same = n == m;
    for (i = 0; same && i < n; i++)
        same = strcmp(env[i], want[i]) == 0;
    ok(same, "%s: the whole environment, in order", what);
    if (!same) {
        for (i = 0; i < n || i < m; i++)
            printf("#   %2zu got %-45s want %s\n", i, i < n ? env[i] : "-", i < m ? want[i] : "-");
    }
}

/* The array and its strings are one block: strings right after the array,
 * inside the allocation. */
static void check_one_block(char **env, const char *what)
{
    size_t n = count(env), i, size = malloc_usable_size(env);
    const char *lo = (const char *)(env + n + 1), *hi = (const char *)env + size, *prev = lo;
    int good = 1;
    for (i = 0; i < n; i++) {
        if (env[i] != prev || env[i] + strlen(env[i]) + 1 > hi)
            good = 0;
        prev = env[i] + strlen(env[i]) + 1;
    }
    ok(good, "%s: array and strings in one allocation", what);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_observed(void)
{
    /* The request of the observation in the reference session: websocketd
     * gave exactly these (HTTP_* order aside, and without HTTP_HOST). */
    static char *passenv[] = {(char *)"SERVER_SOFTWARE=mine", (char *)"PATH=/usr/bin:/bin",
                              (char *)"FOO=bar", NULL};
    static const char *const want[] = {
        "SERVER_SOFTWARE=mine",
        "PATH=/usr/bin:/bin",
        "FOO=bar",
        "REMOTE_ADDR=127.0.0.1",
        "REMOTE_HOST=127.0.0.1",
        "SERVER_NAME=::1",
        "SERVER_PORT=99",
        "SERVER_PROTOCOL=HTTP/1.1",
        "GATEWAY_INTERFACE=websocketd-CGI/0.1",
        "REQUEST_METHOD=GET",
        "SCRIPT_NAME=/",
        "PATH_INFO=/a b/c",
        "PATH_TRANSLATED=/a b/c",
        "QUERY_STRING=x=1&y=%20",
        "AUTH_TYPE=",
        "CONTENT_LENGTH=",
        "CONTENT_TYPE=",
        "REMOTE_IDENT=",
        "REMOTE_USER=",
        "UNIQUE_ID=1795771973071901965",
        "REMOTE_PORT=37050",
        "REQUEST_URI=/a%20b/c?x=1&y=%20",
        "HTTP_HOST=[::1]:99",
        "HTTP_UPGRADE=websocket",
        "HTTP_CONNECTION=Upgrade",
        "HTTP_SEC_WEBSOCKET_KEY=dGhlIHNhbXBsZSBub25jZQ==",
        "HTTP_SEC_WEBSOCKET_VERSION=13",
        "HTTP_X_FOO=a, b",
        "HTTP_X_UNDER=v",
        "HTTP_X_EMPTY=",
        NULL
    };
    fixture f;
    char **env;

    init(&f, "/a%20b/c?x=1&y=%20");
    f.cfg.passenv_values = passenv;
    f.cfg.npassenv_values = 3;
    add_header(&f, "Host", "[::1]:99");
    add_header(&f, "Upgrade", "websocket");
    add_header(&f, "Connection", "Upgrade");
    add_header(&f, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
    add_header(&f, "Sec-WebSocket-Version", "13");
    add_header(&f, "X-Foo", "a");
    add_header(&f, "x-foo", "b");
    add_header(&f, "X_Under", "u");
    add_header(&f, "X-Under", "v");
    add_header(&f, "X-Empty", "");
    env = wsd_env_build(&f.in);
    is_env(env, want, "observed request");
    check_one_block(env, "observed request");
    free(env);
}

static void test_dedup(void)
{
    /* observed: --passenv=REMOTE_ADDR,FOO with REMOTE_ADDR=zzz → FOO=bar,
     * then REMOTE_ADDR=<client>: the last occurrence stays, in its place */
    static char *passenv[] = {(char *)"REMOTE_ADDR=zzz", (char *)"FOO=bar",
                              (char *)"HTTP_X_A=from-passenv", (char *)"UNIQUE_ID=p", NULL};
    fixture f;
    char **env;

    init(&f, "/");
    f.in.path_info = "/";
    f.cfg.passenv_values = passenv;
    f.cfg.npassenv_values = 4;
    add_header(&f, "Host", "example.com");
    add_header(&f, "X-A", "from-header");
    env = wsd_env_build(&f.in);
    is_str(env[0], "SERVER_SOFTWARE=wsd/" WSD_VERSION, "SERVER_SOFTWARE first");
    is_str(env[1], "FOO=bar", "passenv REMOTE_ADDR dropped: FOO next (observed)");
    is_str(env[2], "REMOTE_ADDR=127.0.0.1", "then the client's REMOTE_ADDR");
    is_str(get(env, "UNIQUE_ID"), "1795771973071901965", "standard UNIQUE_ID wins over passenv");
    is_str(get(env, "HTTP_X_A"), "from-header", "header wins over a passenv HTTP_*");
    is_int(index_of(env, "HTTP_X_A"), (long)count(env) - 1, "  at the header's position");
    is_str(get(env, "SERVER_NAME"), "example.com", "Host without port: SERVER_NAME");
    is_str(get(env, "SERVER_PORT"), "80", "  SERVER_PORT 80");
    {
        size_t i, j;
        int dups = 0;
        for (i = 0; env[i]; i++) {
            size_t k = strcspn(env[i], "=");
            for (j = i + 1; env[j]; j++)
                dups += strncmp(env[i], env[j], k + 1) == 0;
        }
        is_int(dups, 0, "no name twice");
    }
    check_one_block(env, "dedup");
    free(env);

    /* a passenv SERVER_SOFTWARE replaces wsd's */
    {
        static char *pe2[] = {(char *)"SERVER_SOFTWARE=mine", NULL};
        init(&f, "/");
        f.cfg.passenv_values = pe2;
        f.cfg.npassenv_values = 1;
        env = wsd_env_build(&f.in);
        is_str(env[0], "SERVER_SOFTWARE=mine", "passenv SERVER_SOFTWARE wins, first");
        is_str(env[1], "REMOTE_ADDR=127.0.0.1", "  once");
        free(env);
    }
}

static void test_standard(void)
{
    fixture f;
    char **env;

    init(&f, "/p%2Fq/%E2%82%AC?a=%41&b");
    f.in.path_info = "/p/q/\xe2\x82\xac";
    f.in.remote_ip = "::1";
    f.in.remote_host = "localhost";
    f.in.remote_port = 65535;
    f.in.unique_id = "42";
    f.in.https = 1;
    add_header(&f, "host", "Example.COM");
    env = wsd_env_build(&f.in);
    is_str(env[0], "SERVER_SOFTWARE=wsd/" WSD_VERSION, "no passenv: SERVER_SOFTWARE");
    is_str(env[1], "REMOTE_ADDR=::1", "then REMOTE_ADDR");
    is_str(get(env, "REMOTE_HOST"), "localhost", "REMOTE_HOST from input");
    is_str(get(env, "SERVER_NAME"), "Example.COM", "SERVER_NAME case kept");
    is_str(get(env, "SERVER_PORT"), "443", "https: default port 443");
    is_str(get(env, "PATH_INFO"), "/p/q/\xe2\x82\xac", "PATH_INFO as given");
    is_str(get(env, "PATH_TRANSLATED"), "/p/q/\xe2\x82\xac", "PATH_TRANSLATED decoded path");
    is_str(get(env, "QUERY_STRING"), "a=%41&b", "QUERY_STRING raw");
    is_str(get(env, "REQUEST_URI"), "/p%2Fq/%E2%82%AC?a=%41&b", "REQUEST_URI raw target");
    is_str(get(env, "REMOTE_PORT"), "65535", "REMOTE_PORT");
    is_str(get(env, "UNIQUE_ID"), "42", "UNIQUE_ID");
    is_str(get(env, "HTTPS"), "on", "HTTPS=on with https");
    is_int(index_of(env, "HTTPS"), index_of(env, "REQUEST_URI") + 1, "HTTPS right after REQUEST_URI");
    is_str(get(env, "HTTP_HOST"), "Example.COM", "HTTP_HOST included (deliberate)");
    {
        static const char *const order[] = {
            "SERVER_SOFTWARE", "REMOTE_ADDR", "REMOTE_HOST", "SERVER_NAME", "SERVER_PORT",
            "SERVER_PROTOCOL", "GATEWAY_INTERFACE", "REQUEST_METHOD", "SCRIPT_NAME",
            "PATH_INFO", "PATH_TRANSLATED", "QUERY_STRING", "AUTH_TYPE", "CONTENT_LENGTH",
            "CONTENT_TYPE", "REMOTE_IDENT", "REMOTE_USER", "UNIQUE_ID", "REMOTE_PORT",
            "REQUEST_URI", "HTTPS", "HTTP_HOST", NULL
        };
        size_t i;
        int good = count(env) == 22;
        for (i = 0; order[i]; i++)
            good = good && index_of(env, order[i]) == (long)i;
        ok(good, "standard variables in websocketd's order");
    }
    free(env);

    /* no https: no HTTPS variable at all */
    init(&f, "/x?");
    add_header(&f, "Host", "h");
    env = wsd_env_build(&f.in);
    ok(get(env, "HTTPS") == NULL, "no HTTPS without https");
    is_str(get(env, "QUERY_STRING"), "", "'?' alone: empty QUERY_STRING");
    is_str(get(env, "REQUEST_URI"), "/x?", "REQUEST_URI keeps the '?'");
    is_str(get(env, "PATH_TRANSLATED"), "/x", "PATH_TRANSLATED without query");
    is_str(get(env, "SERVER_PROTOCOL"), "HTTP/1.1", "SERVER_PROTOCOL");
    is_str(get(env, "REQUEST_METHOD"), "GET", "REQUEST_METHOD");
    is_str(get(env, "GATEWAY_INTERFACE"), "websocketd-CGI/0.1", "GATEWAY_INTERFACE");
    is_str(get(env, "AUTH_TYPE"), "", "AUTH_TYPE empty");
    is_str(get(env, "REMOTE_USER"), "", "REMOTE_USER empty");
    free(env);

    /* values cleaned as appendEnv: decoded CR/LF and spaces */
    init(&f, "/%20a%0Ab%0D%20");
    f.in.path_info = " /a\nb\r ";
    env = wsd_env_build(&f.in);
    is_str(get(env, "PATH_INFO"), "/a b", "PATH_INFO: CR/LF → space, trimmed");
    is_str(get(env, "PATH_TRANSLATED"), "/ a b", "PATH_TRANSLATED cleaned too");
    is_str(get(env, "SERVER_NAME"), "", "no Host header: SERVER_NAME empty");
    is_str(get(env, "SERVER_PORT"), "80", "  SERVER_PORT 80 (Go: missing port)");
    free(env);

    /* HTTP/1.0 and a request without method/target fields */
    init(&f, "/");
    f.r.http_minor = 0;
    env = wsd_env_build(&f.in);
    is_str(get(env, "SERVER_PROTOCOL"), "HTTP/1.0", "SERVER_PROTOCOL follows the request");
    free(env);
}

static void test_hosts(void)
{
    /* Go's net.SplitHostPort as tellHostPort uses it; every row was
     * observed with websocketd (without --ssl) */
    static const struct { const char *host, *name, *port, *port_tls; } cases[] = {
        {"[::1]:99", "::1", "99", "99"},
        {"[::1]", "[::1]", "80", "443"},
        {"::1", "", "", ""},
        {"host:", "host", "", ""},
        {"a:b:c", "", "", ""},
        {"[::1]x", "[::1]x", "80", "443"},
        {"Example.COM:08", "Example.COM", "08", "08"},
        {"[fe80::1%25eth0]:5", "fe80::1%25eth0", "5", "5"},
        {"example.com", "example.com", "80", "443"},
        {"127.0.0.1:8080", "127.0.0.1", "8080", "8080"},
        {"[::1", "", "", ""},                 /* missing ']' */
        {"x]:80", "", "", ""},                /* unexpected ']' */
        {"[a]:1:2", "", "", ""},              /* too many colons */
        {"[a]b:1", "[a]b:1", "80", "443"},   /* Go: "missing port" → the whole Host */
        {"a[b:1", "", "", ""},                /* unexpected '[' */
        {":80", "", "80", "80"},
        {"", "", "80", "443"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        int tls;
        for (tls = 0; tls < 2; tls++) {
            fixture f;
            char **env;
            init(&f, "/");
            f.in.https = tls;
            add_header(&f, "Host", cases[i].host);
            env = wsd_env_build(&f.in);
            is_str(get(env, "SERVER_NAME"), cases[i].name, "Host \"%s\"%s: SERVER_NAME",
                   cases[i].host, tls ? " (https)" : "");
            is_str(get(env, "SERVER_PORT"), tls ? cases[i].port_tls : cases[i].port,
                   "Host \"%s\"%s: SERVER_PORT", cases[i].host, tls ? " (https)" : "");
            is_str(get(env, "HTTP_HOST"), cases[i].host, "  HTTP_HOST");
            free(env);
        }
    }
}

static void test_headers(void)
{
    fixture f;
    char **env;
    long base;

    init(&f, "/");
    add_header(&f, "Cookie", "a=1");
    add_header(&f, "x-multi", "one");
    add_header(&f, "Host", "h:1");
    add_header(&f, "X-MULTI", "two ");
    add_header(&f, "cookie", "b=2");
    add_header(&f, "X-CRLF", "a\r\nb\nc\rd");
    add_header(&f, "X-Nbsp", "\xc2\xa0 v \xe3\x80\x80");
    add_header(&f, "sec-websocket-protocol", "chat, superchat");
    add_header(&f, "X-Multi", "");
    add_header(&f, "X-Space", "   ");
    add_header(&f, "X_Under", "u");
    add_header(&f, "X-Under", "v");
    add_header(&f, "x_under", "w");
    env = wsd_env_build(&f.in);
    base = index_of(env, "REQUEST_URI") + 1;
    is_str(env[base + 0], "HTTP_COOKIE=a=1, b=2", "repeats joined with \", \" (Cookie too)");
    is_str(env[base + 1], "HTTP_X_MULTI=one, two, ", "case-insensitive names, arrival order");
    is_str(env[base + 2], "HTTP_HOST=h:1", "HTTP_HOST in arrival order");
    is_str(env[base + 3], "HTTP_X_CRLF=a  b c d", "CR/LF → space");
    is_str(env[base + 4], "HTTP_X_NBSP=v", "Go TrimSpace: Unicode spaces trimmed");
    is_str(env[base + 5], "HTTP_SEC_WEBSOCKET_PROTOCOL=chat, superchat", "'-' → '_', upper case");
    is_str(env[base + 6], "HTTP_X_SPACE=", "blank value → empty");
    /* X_Under (u, w) and X-Under (v) are two Go header keys with one env
     * name: the later key's variable stays, at its place */
    is_str(env[base + 7], "HTTP_X_UNDER=v", "X_Under/X-Under collide: the last one wins");
    ok(env[base + 8] == NULL, "nothing after the headers");
    check_one_block(env, "headers");
    free(env);

    /* no headers at all */
    init(&f, "/");
    env = wsd_env_build(&f.in);
    is_int((long)count(env), 20, "no headers, no passenv, no https: 20 variables");
    check_one_block(env, "minimal");
    free(env);
}

/* Header names beyond letters, digits and '-' get no variable: they cannot
 * pose as (or merge with) the header whose variable they would map to. */
static void test_name_posing(void)
{
    static const char *const posers[] = {
        "X_Real_Ip", "X.Real.Ip", "x_real_ip", "X_Real-Ip", "X!Real!Ip", "X~Real~Ip",
        "X'Real'Ip", "X`Real`Ip", "X|Real|Ip", "X^Real^Ip", "X*Real*Ip", "X+Real+Ip",
        "X#Real#Ip", "X$Real$Ip", "X%Real%Ip", "X&Real&Ip",
    };
    int style;

    for (style = WSD_ENV_WEBSOCKETD; style <= WSD_ENV_CGI; style++) {
        const char *sn = style == WSD_ENV_CGI ? "cgi" : "websocketd";
        size_t p;
        for (p = 0; p < sizeof posers / sizeof *posers; p++) {
            fixture f;
            wsd_envlist e = {0};
            char **env;
            int before;
            for (before = 0; before <= 1; before++) {
                init(&f, "/");
                if (before)
                    add_header(&f, posers[p], "evil");
                add_header(&f, "X-Real-Ip", "10.0.0.1");
                if (!before)
                    add_header(&f, posers[p], "evil");
                wsd_env_add_http(&e, &f.r, style);
                env = wsd_envlist_finish(&e);
                is_int((long)count(env), 1, "%s: %s %s X-Real-Ip: one variable", sn, posers[p],
                       before ? "before" : "after");
                is_str(get(env, "HTTP_X_REAL_IP"), "10.0.0.1", "  HTTP_X_REAL_IP is X-Real-Ip's");
                free(env);
            }
            /* alone: no variable at all */
            init(&f, "/");
            add_header(&f, posers[p], "evil");
            wsd_env_add_http(&e, &f.r, style);
            env = wsd_envlist_finish(&e);
            is_int((long)count(env), 0, "%s: %s alone: no variable", sn, posers[p]);
            free(env);
        }
    }
    {
        /* letters, digits and '-' in any case are fine */
        fixture f;
        wsd_envlist e = {0};
        char **env;
        init(&f, "/");
        add_header(&f, "X-Forwarded-For", "a");
        add_header(&f, "x-forwarded-for", "b");
        add_header(&f, "Sec-WebSocket-Key2", "k");
        add_header(&f, "DNT", "1");
        add_header(&f, "X-", "dash");
        wsd_env_add_http(&e, &f.r, WSD_ENV_WEBSOCKETD);
        env = wsd_envlist_finish(&e);
        is_str(get(env, "HTTP_X_FORWARDED_FOR"), "a, b", "X-Forwarded-For repeats joined");
        is_str(get(env, "HTTP_SEC_WEBSOCKET_KEY2"), "k", "digits kept");
        is_str(get(env, "HTTP_DNT"), "1", "HTTP_DNT");
        is_str(get(env, "HTTP_X_"), "dash", "trailing '-'");
        is_int((long)count(env), 4, "four variables");
        free(env);
    }
}

/* wsd_envlist_finish: the last occurrence of a name stays, in its place. */
static void test_envlist(void)
{
    wsd_envlist e = {0};
    char **env;

    wsd_envlist_add(&e, "A", "1", 1);
    wsd_envlist_add(&e, "B", "2", 1);
    wsd_envlist_add(&e, "AB", "x", 1);
    wsd_envlist_add(&e, "A", "3", 1);
    wsd_envlist_add(&e, "C", NULL, 0);
    wsd_envlist_push(&e, xstrdup("B=4=5"));
    env = wsd_envlist_finish(&e);
    ok(e.v == NULL && e.n == 0, "finish empties the list");
    is_int((long)count(env), 4, "four names");
    is_str(env[0], "AB=x", "AB is not A");
    is_str(env[1], "A=3", "A: the last value, at its place");
    is_str(env[2], "C=", "NULL value: empty");
    is_str(env[3], "B=4=5", "B: the last value, '=' in the value");
    check_one_block(env, "envlist");
    free(env);
    env = wsd_envlist_finish(&e);
    ok(env[0] == NULL, "an empty list: just the NULL");
    free(env);
}

static void test_with_parser(void)
{
    /* The same through src/http.c, as the server builds it. */
    static const char req[] =
        "GET /chat%3F/x?room=1 HTTP/1.1\r\n"
        "Host: localhost:8080\r\n"
        "Upgrade: websocket\r\n"
        "Connection: keep-alive, Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "X-Forwarded-For:   10.0.0.1  \r\n"
        "x-forwarded-for: 10.0.0.2\r\n"
        "X-Real-Ip: 10.0.0.1\r\n"
        "X_Real_Ip: 6.6.6.6\r\n"
        "X.Real.Ip: 6.6.6.7\r\n"
        "\r\n";
    wsd_http_parser *p = wsd_http_parser_new();
    size_t consumed = 0;
    int rc = wsd_http_feed(p, req, sizeof req - 1, &consumed);
    is_int(rc, WSD_HTTP_DONE, "parser: request complete");
    if (rc == WSD_HTTP_DONE) {
        wsd_env_input in;
        wsd_config cfg;
        char **env;
        memset(&in, 0, sizeof in);
        memset(&cfg, 0, sizeof cfg);
        in.cfg = &cfg;
        in.req = wsd_http_request(p);
        in.remote_ip = "127.0.0.1";
        in.remote_host = "127.0.0.1";
        in.remote_port = 5000;
        in.unique_id = "7";
        in.script_name = "/";
        in.path_info = "/chat?/x";
        env = wsd_env_build(&in);
        is_str(get(env, "SERVER_NAME"), "localhost", "parser: SERVER_NAME");
        is_str(get(env, "SERVER_PORT"), "8080", "parser: SERVER_PORT");
        is_str(get(env, "PATH_TRANSLATED"), "/chat?/x", "parser: PATH_TRANSLATED decoded");
        is_str(get(env, "QUERY_STRING"), "room=1", "parser: QUERY_STRING");
        is_str(get(env, "REQUEST_URI"), "/chat%3F/x?room=1", "parser: REQUEST_URI");
        is_str(get(env, "HTTP_CONNECTION"), "keep-alive, Upgrade", "parser: HTTP_CONNECTION");
        is_str(get(env, "HTTP_X_FORWARDED_FOR"), "10.0.0.1, 10.0.0.2", "parser: repeats joined");
        is_str(get(env, "HTTP_HOST"), "localhost:8080", "parser: HTTP_HOST");
        is_str(get(env, "HTTP_X_REAL_IP"), "10.0.0.1", "parser: X_Real_Ip, X.Real.Ip left out");
        is_str(get(env, "HTTP_X.REAL.IP"), NULL, "parser: no HTTP_X.REAL.IP");
        free(env);
    }
    wsd_http_parser_free(p);
}

/* Access control (#13): the user, the authorizer's variables, a trusted
 * proxy's host and scheme, HTTP_AUTHORIZATION hidden when wsd checked it. */
static void test_access(void)
{
    fixture f;
    char **env;
    char *extra[] = {"USER_ID=42", "ROLE=admin", NULL};

    init(&f, "/x");
    add_header(&f, "Host", "internal:8080");
    add_header(&f, "Authorization", "Basic YWxpY2U6c2VjcmV0");
    env = wsd_env_build(&f.in);
    is_str(get(env, "REMOTE_USER"), "", "no user: REMOTE_USER empty");
    is_str(get(env, "AUTH_TYPE"), "", "no user: AUTH_TYPE empty");
    is_str(get(env, "HTTP_AUTHORIZATION"), "Basic YWxpY2U6c2VjcmV0", "not hidden by default");
    ok(get(env, "HTTPS") == NULL, "no HTTPS");
    is_str(get(env, "SERVER_NAME"), "internal", "SERVER_NAME from Host");
    free(env);

    f.in.access.user = "alice";
    f.in.access.auth_type = "Basic";
    f.in.access.hide_authorization = 1;
    f.in.access.extra = extra;
    f.in.access.host = "ws.example.com";
    f.in.access.proto = 2;
    env = wsd_env_build(&f.in);
    is_str(get(env, "REMOTE_USER"), "alice", "REMOTE_USER");
    is_str(get(env, "AUTH_TYPE"), "Basic", "AUTH_TYPE");
    ok(get(env, "HTTP_AUTHORIZATION") == NULL, "HTTP_AUTHORIZATION hidden");
    is_str(get(env, "USER_ID"), "42", "an authorizer's variable");
    is_str(get(env, "ROLE"), "admin", "another");
    is_str(get(env, "HTTPS"), "on", "HTTPS from the proxy's scheme");
    is_str(get(env, "SERVER_NAME"), "ws.example.com", "SERVER_NAME from X-Forwarded-Host");
    is_str(get(env, "SERVER_PORT"), "443", "SERVER_PORT: https's default");
    is_str(get(env, "HTTP_HOST"), "internal:8080", "HTTP_HOST stays what was sent");
    check_one_block(env, "with access");
    free(env);

    f.in.access.proto = 1;
    f.in.https = 1;                 /* TLS to wsd, but the proxy says http */
    f.in.access.host = NULL;
    env = wsd_env_build(&f.in);
    ok(get(env, "HTTPS") == NULL, "the proxy's http wins over the transport");
    free(env);
}

int main(void)
{
    test_observed();
    test_dedup();
    test_standard();
    test_hosts();
    test_headers();
    test_with_parser();
    test_access();
    test_name_posing();
    test_envlist();
    return done_testing();
}
