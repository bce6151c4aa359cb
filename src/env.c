/* env.c — the environment of a WebSocket child, as websocketd 0.4.1's
 * libwebsocketd/env.go builds it (§3 of the reference), with one deliberate
 * difference: HTTP_HOST is included (Go drops Host from req.Header).
 *
 * Order: SERVER_SOFTWARE, the --passenv values, the standard variables,
 * then one HTTP_* per header name in order of first arrival (Go: map order,
 * random). Every standard and HTTP_* value is cleaned as websocketd's
 * appendEnv does: CR and LF become spaces, then Go's strings.TrimSpace.
 * Header names with characters other than letters, digits and '-' get no
 * variable (websocketd maps "X_A" and "X-A" both to HTTP_X_A, one of them
 * winning at random): see env_name_ok.
 *
 * Duplicates: os/exec de-duplicates websocketd's list; Debian's build
 * (Go 1.19) keeps the LAST occurrence of a name, at its own position (e.g.
 * --passenv=REMOTE_ADDR,FOO gives FOO=… then REMOTE_ADDR=<client>, observed).
 * wsd does the same: last value, last position. */
#include "env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define BIG ((size_t)-1 / 2)

void wsd_envlist_push(wsd_envlist *e, char *kv)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 64;
        e->v = xrealloc(e->v, e->cap * sizeof *e->v);
    }
    e->v[e->n++] = kv;
}

void wsd_envlist_add(wsd_envlist *e, const char *name, const char *value, size_t vlen)
{
    wsd_str b;
    wsd_str_init(&b, BIG);
    wsd_str_appends(&b, name);
    wsd_str_append(&b, "=", 1);
    wsd_str_append(&b, value ? value : "", value ? vlen : 0);
    wsd_envlist_push(e, b.s);
}

char **wsd_envlist_finish(wsd_envlist *e)
{
    unsigned char *keep = xcalloc(e->n ? e->n : 1, 1);
    size_t total = 0, nkeep = 0, i, j;
    char **out, *dst;

    for (i = e->n; i-- > 0;) {
        size_t klen = strcspn(e->v[i], "=");
        int dup = 0;
        for (j = i + 1; j < e->n && !dup; j++)
            dup = keep[j] && strncmp(e->v[j], e->v[i], klen) == 0 && e->v[j][klen] == '=';
        if (!dup) {
            keep[i] = 1;
            nkeep++;
            total += strlen(e->v[i]) + 1;
        }
    }
    out = xmalloc((nkeep + 1) * sizeof *out + total);
    dst = (char *)(out + nkeep + 1);
    for (i = 0, nkeep = 0; i < e->n; i++) {
        if (keep[i]) {
            size_t len = strlen(e->v[i]) + 1;
            memcpy(dst, e->v[i], len);
            out[nkeep++] = dst;
            dst += len;
        }
        free(e->v[i]);
    }
    out[nkeep] = NULL;
    free(keep);
    free(e->v);
    e->v = NULL;
    e->n = e->cap = 0;
    return out;
}

/* Appends v[0..n) to b, cleaned as websocketd's appendEnv: CR/LF → space,
 * then strings.TrimSpace (CR and LF are trimmed like any space). */
static void append_clean(wsd_str *b, const char *v, size_t n)
{
    size_t i;

    v = wsd_trim_space(v, &n);
    for (i = 0; i < n; i++) {
        char c = v[i];
        if (c == '\r' || c == '\n')
            c = ' ';
        wsd_str_append(b, &c, 1);
    }
}

static void add_var(wsd_envlist *e, const char *name, const char *value, size_t vlen)
{
    wsd_str b;
    wsd_str_init(&b, BIG);
    wsd_str_appends(&b, name);
    wsd_str_append(&b, "=", 1);
    if (value)
        append_clean(&b, value, vlen);
    wsd_envlist_push(e, b.s);
}

static void add_str(wsd_envlist *e, const char *name, const char *value)
{
    add_var(e, name, value, value ? strlen(value) : 0);
}

enum { HP_OK = 0, HP_MISSING_PORT = 1, HP_ERROR = -1 };

static const char *memchr_last(const char *s, size_t n, int c)
{
    while (n > 0) {
        if (s[n - 1] == c)
            return s + n - 1;
        n--;
    }
    return NULL;
}

/* Go's net.SplitHostPort. */
static int split_host_port(const char *hp, size_t n, const char **host, size_t *hlen,
                           const char **port, size_t *plen)
{
    const char *colon = memchr_last(hp, n, ':');
    size_t i, j = 0, k = 0;

    if (!colon)
        return HP_MISSING_PORT;
    i = (size_t)(colon - hp);
    if (hp[0] == '[') {
        const char *rb = memchr(hp, ']', n);
        size_t end;
        if (!rb)
            return HP_ERROR;                  /* missing ']' */
        end = (size_t)(rb - hp);
        if (end + 1 == n)
            return HP_MISSING_PORT;
        if (end + 1 != i)
            return hp[end + 1] == ':' ? HP_ERROR : HP_MISSING_PORT;
        *host = hp + 1;
        *hlen = end - 1;
        j = 1;
        k = end + 1;
    } else {
        *host = hp;
        *hlen = i;
        if (memchr(hp, ':', i))
            return HP_ERROR;                  /* too many colons */
    }
    if (memchr(hp + j, '[', n - j) || memchr(hp + k, ']', n - k))
        return HP_ERROR;
    *port = hp + i + 1;
    *plen = n - i - 1;
    return HP_OK;
}

static int name_eq(const wsd_http_header *a, const wsd_http_header *b)
{
    size_t i;
    if (a->name_len != b->name_len)
        return 0;
    for (i = 0; i < a->name_len; i++) {
        if (wsd_lower((unsigned char)a->name[i]) != wsd_lower((unsigned char)b->name[i]))
            return 0;
    }
    return 1;
}

/* Letters, digits and '-' only. Every other token character ('_', '.',
 * '!', ...) is refused: with '-' → '_' (or, in Go's net/http/cgi, any of
 * them → '_') "X_Real_Ip" or "X.Real.Ip" would become HTTP_X_REAL_IP, the
 * variable of the "X-Real-Ip" a proxy sets and a program trusts. Apache
 * 2.4 leaves such headers out of a CGI environment in the same way. */
static int env_name_ok(const wsd_http_header *h)
{
    size_t i;
    for (i = 0; i < h->name_len; i++) {
        int c = (unsigned char)h->name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return 0;
    }
    return h->name_len > 0;
}

static int env_header(const wsd_http_header *h, int style)
{
    return env_name_ok(h) &&
           !(style == WSD_ENV_CGI && wsd_strncaseeq(h->name, h->name_len, "Proxy"));
}

void wsd_env_access_clear(wsd_env_access *a)
{
    free(a->user);
    free(a->auth_type);
    free(a->extra);
    free(a->host);
    memset(a, 0, sizeof *a);
}

void wsd_env_add_access(wsd_envlist *e, const wsd_env_access *a)
{
    size_t i;

    if (!a || (!a->user && !a->auth_type && !a->extra))
        return;                /* AUTH_TYPE and REMOTE_USER stay as set: "" */
    add_str(e, "AUTH_TYPE", a->auth_type ? a->auth_type : "");
    add_str(e, "REMOTE_USER", a->user ? a->user : "");
    for (i = 0; a->extra && a->extra[i]; i++)
        wsd_envlist_push(e, xstrdup(a->extra[i]));
}

void wsd_env_add_http(wsd_envlist *e, const wsd_request *r, int style)
{
    wsd_env_add_http_access(e, r, style, 0);
}

void wsd_env_add_http_access(wsd_envlist *e, const wsd_request *r, int style,
                             int hide_authorization)
{
    size_t i, j, k;

    for (i = 0; i < r->nheaders; i++) {
        const wsd_http_header *h = &r->headers[i];
        const char *sep = ", ";
        wsd_str b;
        int seen = 0;

        if (!env_header(h, style) ||
            (hide_authorization && wsd_strncaseeq(h->name, h->name_len, "Authorization")))
            continue;
        for (j = 0; j < i && !seen; j++)
            seen = env_header(&r->headers[j], style) && name_eq(&r->headers[j], h);
        if (seen)
            continue;
        if (style == WSD_ENV_CGI && wsd_strncaseeq(h->name, h->name_len, "Cookie"))
            sep = "; ";
        wsd_str_init(&b, BIG);
        wsd_str_append(&b, "HTTP_", 5);
        for (k = 0; k < h->name_len; k++) {
            int c = (unsigned char)h->name[k];
            char u = (char)(c == '-' ? '_' : c >= 'a' && c <= 'z' ? c - 32 : c);
            wsd_str_append(&b, &u, 1);
        }
        wsd_str_append(&b, "=", 1);
        for (j = i, k = 0; j < r->nheaders; j++) {
            const wsd_http_header *v = &r->headers[j];
            if (!name_eq(v, h))
                continue;
            if (k++)
                wsd_str_appends(&b, sep);
            if (style == WSD_ENV_CGI)
                wsd_str_append(&b, v->value, v->value_len);
            else
                append_clean(&b, v->value, v->value_len);
        }
        wsd_envlist_push(e, b.s);
    }
}

char **wsd_env_build(const wsd_env_input *in)
{
    const wsd_request *r = in->req;
    const wsd_config *cfg = in->cfg;
    wsd_envlist e = {0};
    const wsd_http_header *hosth = wsd_http_get(r, "Host");
    const char *hostv = in->access.host ? in->access.host : hosth ? hosth->value : "";
    size_t hostn = in->access.host ? strlen(in->access.host) : hosth ? hosth->value_len : 0;
    const char *sname = "", *sport = "", *path = r->path ? r->path : "/";
    size_t snlen = 0, splen = 0, plen = strlen(path), i;
    char portbuf[32], proto[32], *decoded;
    int rc, https = in->access.proto ? in->access.proto == 2 : in->https;

    /* 1. SERVER_SOFTWARE, 2. --passenv values */
    add_str(&e, "SERVER_SOFTWARE", "wsd/" WSD_VERSION);
    for (i = 0; cfg && i < cfg->npassenv_values; i++)
        wsd_envlist_push(&e, xstrdup(cfg->passenv_values[i]));

    /* 3. standard variables */
    rc = split_host_port(hostv, hostn, &sname, &snlen, &sport, &splen);
    if (rc == HP_MISSING_PORT) {
        sname = hostv;
        snlen = hostn;
        sport = https ? "443" : "80";
        splen = strlen(sport);
    } else if (rc == HP_ERROR) {
        sname = sport = "";
        snlen = splen = 0;
    }
    decoded = xmalloc(plen + 1);
    if (wsd_http_url_decode(path, plen, decoded) < 0)
        memcpy(decoded, path, plen + 1);    /* as the server does for PATH_INFO */
    if (r->http_major > 0)
        snprintf(proto, sizeof proto, "HTTP/%d.%d", r->http_major, r->http_minor);
    else
        snprintf(proto, sizeof proto, "HTTP/1.1");

    add_str(&e, "REMOTE_ADDR", in->remote_ip);
    add_str(&e, "REMOTE_HOST", in->remote_host ? in->remote_host : in->remote_ip);
    add_var(&e, "SERVER_NAME", sname, snlen);
    add_var(&e, "SERVER_PORT", sport, splen);
    add_str(&e, "SERVER_PROTOCOL", proto);
    add_str(&e, "GATEWAY_INTERFACE", "websocketd-CGI/0.1");
    add_str(&e, "REQUEST_METHOD", r->method ? r->method : "GET");
    add_str(&e, "SCRIPT_NAME", in->script_name);
    add_str(&e, "PATH_INFO", in->path_info);
    add_str(&e, "PATH_TRANSLATED", decoded);
    add_str(&e, "QUERY_STRING", r->query);
    add_str(&e, "AUTH_TYPE", "");
    add_str(&e, "CONTENT_LENGTH", "");
    add_str(&e, "CONTENT_TYPE", "");
    add_str(&e, "REMOTE_IDENT", "");
    add_str(&e, "REMOTE_USER", "");
    add_str(&e, "UNIQUE_ID", in->unique_id);
    if (in->remote_port >= 0)
        snprintf(portbuf, sizeof portbuf, "%d", in->remote_port);
    else
        portbuf[0] = '\0';  /* a Unix socket peer has no port */
    add_str(&e, "REMOTE_PORT", portbuf);
    if (r->target)
        add_var(&e, "REQUEST_URI", r->target, r->target_len);
    else
        add_str(&e, "REQUEST_URI", path);
    if (https)
        add_str(&e, "HTTPS", "on");
    if (in->subprotocol)
        add_str(&e, "WEBSOCKET_PROTOCOL", in->subprotocol);  /* wsd: the negotiated one */
    free(decoded);

    /* 4. HTTP_* per header name, 5. the user and the authorizer's variables */
    wsd_env_add_http_access(&e, r, WSD_ENV_WEBSOCKETD, in->access.hide_authorization);
    wsd_env_add_access(&e, &in->access);

    return wsd_envlist_finish(&e);
}

char **wsd_env_build_shared(const wsd_config *cfg, const char *script_name,
                            const char *script_file)
{
    wsd_envlist e = {0};
    char port[16];
    size_t i;

    add_str(&e, "SERVER_SOFTWARE", "wsd/" WSD_VERSION);
    for (i = 0; cfg && i < cfg->npassenv_values; i++)
        wsd_envlist_push(&e, xstrdup(cfg->passenv_values[i]));
    snprintf(port, sizeof port, "%d", cfg ? cfg->port : 0);
    add_str(&e, "SERVER_PORT", port);
    add_str(&e, "SERVER_PROTOCOL", "HTTP/1.1");
    add_str(&e, "GATEWAY_INTERFACE", "websocketd-CGI/0.1");
    add_str(&e, "SCRIPT_NAME", script_name ? script_name : "/");
    add_str(&e, "PATH_TRANSLATED", script_file ? script_file : "");
    if (cfg && cfg->ssl)
        add_str(&e, "HTTPS", "on");
    add_str(&e, "WSD_SHARED", "1");
    return wsd_envlist_finish(&e);
}
