/* cgi.c — CGI/1.1 environment and output-head parser (see cgi.h).
 * Behaviour re-implemented from RFC 3875 and the observed behaviour of
 * websocketd 0.4.1's --cgidir (Go's net/http/cgi). */
#include "cgi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "httpfile.h"

/* ------------------------------------------------------------ environment */

static void add(wsd_envlist *e, const char *name, const char *value)
{
    wsd_envlist_add(e, name, value, value ? strlen(value) : 0);
}

char **wsd_cgi_env_build(const wsd_cgi_env_input *in)
{
    const wsd_request *r = in->req;
    const wsd_config *cfg = in->cfg;
    const wsd_http_header *hosth = wsd_http_get(r, "Host");
    const wsd_http_header *cth = wsd_http_get(r, "Content-Type");
    const char *host = in->access.host ? in->access.host : hosth ? hosth->value : "";
    size_t hn = in->access.host ? strlen(host) : hosth ? hosth->value_len : 0, namelen = hn, i;
    int https = in->access.proto ? in->access.proto == 2 : in->https;
    const char *port = https ? "443" : "80";
    size_t portlen = strlen(port);
    wsd_envlist e = {0};
    char buf[64];

    add(&e, "PATH", "/bin:/usr/bin:/usr/ucb:/usr/bsd:/usr/local/bin");
    for (i = 0; cfg && i < cfg->npassenv_values; i++)
        wsd_envlist_push(&e, xstrdup(cfg->passenv_values[i]));

    /* Host → SERVER_NAME (without the port) and SERVER_PORT (":digits" at
     * the end, as Go's trailingPort) */
    for (i = hn; i > 0 && host[i - 1] >= '0' && host[i - 1] <= '9'; i--)
        ;
    if (i > 0 && i < hn && host[i - 1] == ':') {
        namelen = i - 1;
        port = host + i;
        portlen = hn - i;
    }
    add(&e, "SERVER_SOFTWARE", "wsd/" WSD_VERSION);
    wsd_envlist_add(&e, "SERVER_NAME", host, namelen);
    wsd_envlist_add(&e, "SERVER_PORT", port, portlen);
    snprintf(buf, sizeof buf, "HTTP/%d.%d", r->http_major ? r->http_major : 1,
             r->http_major ? r->http_minor : 1);
    add(&e, "SERVER_PROTOCOL", buf);
    add(&e, "GATEWAY_INTERFACE", "CGI/1.1");
    add(&e, "REQUEST_METHOD", r->method ? r->method : "GET");
    if (r->target)
        wsd_envlist_add(&e, "REQUEST_URI", r->target, r->target_len);
    else
        add(&e, "REQUEST_URI", r->path);
    add(&e, "QUERY_STRING", r->query ? r->query : "");
    add(&e, "SCRIPT_NAME", in->script_name);
    add(&e, "SCRIPT_FILENAME", in->script_filename);
    add(&e, "PATH_INFO", in->path_info);
    add(&e, "REMOTE_ADDR", in->remote_ip);
    add(&e, "REMOTE_HOST", in->remote_host ? in->remote_host : in->remote_ip);
    if (in->remote_port >= 0)
        snprintf(buf, sizeof buf, "%d", in->remote_port);
    else
        buf[0] = '\0';
    add(&e, "REMOTE_PORT", buf);
    if (https)
        add(&e, "HTTPS", "on");
    if (r->content_length > 0) {
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)r->content_length);
        add(&e, "CONTENT_LENGTH", buf);
    }
    if (cth)
        wsd_envlist_add(&e, "CONTENT_TYPE", cth->value, cth->value_len);

    wsd_env_add_http_access(&e, r, WSD_ENV_CGI, in->access.hide_authorization);
    wsd_env_add_access(&e, &in->access);

    return wsd_envlist_finish(&e);
}

/* ------------------------------------------------------------ head parser */

typedef struct {
    size_t name, name_len, value, value_len;   /* offsets into buf */
} cgi_header;

struct wsd_cgi_parser {
    wsd_str buf;            /* the head as received */
    size_t limit;
    size_t line_len;        /* bytes of the current line so far */
    char last;              /* its last byte */
    int state;              /* MORE, DONE, ERROR */
    int status;
    char *reason;           /* the script's reason phrase, or NULL */
    const char *error;
    cgi_header *h;
    size_t nh;
};

wsd_cgi_parser *wsd_cgi_parser_new(size_t limit)
{
    wsd_cgi_parser *p = xcalloc(1, sizeof *p);
    p->limit = limit ? limit : WSD_CGI_MAX_HEAD;
    wsd_str_init(&p->buf, p->limit);
    p->state = WSD_CGI_MORE;
    return p;
}

void wsd_cgi_parser_free(wsd_cgi_parser *p)
{
    if (!p)
        return;
    wsd_str_free(&p->buf);
    free(p->reason);
    free(p->h);
    free(p);
}

static int fail(wsd_cgi_parser *p, const char *why)
{
    p->state = WSD_CGI_ERROR;
    p->error = why;
    return WSD_CGI_ERROR;
}

static int is_sp(int c)
{
    return c == ' ' || c == '\t';
}

/* Parses the complete head in p->buf (ending with the blank line). */
static int parse_head(wsd_cgi_parser *p)
{
    const char *s = p->buf.s;
    size_t n = p->buf.len, i = 0, lines = 0;
    const cgi_header *loc = NULL, *ct = NULL;

    p->h = xcalloc(n / 2 + 1, sizeof *p->h);   /* a line has at least 2 bytes */
    while (i < n) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t e = (size_t)(nl - s), ln = e - i, ns, ne, vs, ve, k;
        const char *colon;
        int bad = 0;

        if (ln > 0 && s[e - 1] == '\r')
            ln--;
        if (ln == 0)
            break;                                  /* the blank line */
        lines++;
        colon = memchr(s + i, ':', ln);
        if (colon) {
            ns = i;
            ne = (size_t)(colon - s);
            vs = ne + 1;
            ve = i + ln;
            while (ns < ne && is_sp(s[ns]))
                ns++;
            while (ne > ns && is_sp(s[ne - 1]))
                ne--;
            while (vs < ve && is_sp(s[vs]))
                vs++;
            while (ve > vs && is_sp(s[ve - 1]))
                ve--;
            bad = ne == ns || is_sp(s[i]);          /* no name, or a folded line */
            for (k = ns; k < ne && !bad; k++)
                bad = !wsd_is_tchar((unsigned char)s[k]);
            for (k = vs; k < ve && !bad; k++) {
                unsigned char c = (unsigned char)s[k];
                bad = (c < 0x20 && c != '\t') || c == 0x7f;
            }
            if (!bad) {
                cgi_header *h = &p->h[p->nh];
                h->name = ns;
                h->name_len = ne - ns;
                h->value = vs;
                h->value_len = ve - vs;
                if (wsd_strncaseeq(s + ns, ne - ns, "Status")) {
                    size_t d;
                    int code = 0;
                    if (ve - vs < 3)
                        return fail(p, "cgi: bogus status (short)");
                    for (d = 0; d < 3; d++) {
                        if (s[vs + d] < '0' || s[vs + d] > '9')
                            return fail(p, "cgi: bogus status");
                        code = code * 10 + (s[vs + d] - '0');
                    }
                    if (code < 200 || code > 599 || (ve - vs > 3 && !is_sp(s[vs + 3])))
                        return fail(p, "cgi: bogus status");
                    p->status = code;
                    free(p->reason);
                    p->reason = NULL;
                    for (d = vs + 3; d < ve && is_sp(s[d]); d++)
                        ;
                    if (d < ve)
                        p->reason = xstrndup(s + d, ve - d);
                } else {
                    if (wsd_strncaseeq(s + ns, ne - ns, "Location") && !loc && ve > vs)
                        loc = h;
                    if (wsd_strncaseeq(s + ns, ne - ns, "Content-Type") && !ct && ve > vs)
                        ct = h;
                    p->nh++;
                }
            }
        }
        i = e + 1;
    }
    if (lines == 0)
        return fail(p, "cgi: no headers");
    if (loc && !p->status)
        p->status = 302;
    if (!p->status && !ct)
        return fail(p, "cgi: missing required Content-Type in headers");
    if (!p->status)
        p->status = 200;
    p->state = WSD_CGI_DONE;
    return WSD_CGI_DONE;
}

int wsd_cgi_feed(wsd_cgi_parser *p, const char *data, size_t len, size_t *consumed)
{
    size_t i, n = len;
    int done = 0;

    *consumed = 0;
    if (p->state != WSD_CGI_MORE)
        return p->state;
    for (i = 0; i < len; i++) {
        char c = data[i];
        if (c == '\n') {
            if (p->line_len == 0 || (p->line_len == 1 && p->last == '\r')) {
                n = i + 1;          /* the blank line ends the head */
                done = 1;
                break;
            }
            p->line_len = 0;
            continue;
        }
        p->line_len++;
        p->last = c;
    }
    if (wsd_str_append(&p->buf, data, n) < 0)
        return fail(p, "cgi: header too large");
    *consumed = n;
    return done ? parse_head(p) : WSD_CGI_MORE;
}

int wsd_cgi_eof(wsd_cgi_parser *p)
{
    if (p->state == WSD_CGI_MORE)
        return fail(p, "cgi: no headers");
    return p->state;
}

const char *wsd_cgi_error(const wsd_cgi_parser *p)
{
    return p->error ? p->error : "";
}

int wsd_cgi_status(const wsd_cgi_parser *p)
{
    return p->state == WSD_CGI_DONE ? p->status : 500;
}

static int dropped(const char *name, size_t n)
{
    return wsd_strncaseeq(name, n, "Connection") || wsd_strncaseeq(name, n, "Transfer-Encoding") ||
           wsd_strncaseeq(name, n, "Keep-Alive");
}

int wsd_cgi_response_head(const wsd_cgi_parser *p, wsd_str *out, time_t now,
                          const wsd_header_list *extra1, const wsd_header_list *extra2)
{
    size_t len0 = out->len, i;
    int rc = 0, has_date = 0;
    const char *reason;

    if (p->state != WSD_CGI_DONE)
        return -1;
    reason = p->reason ? p->reason : wsd_http_reason(p->status);
    rc |= wsd_str_appendf(out, "HTTP/1.1 %d %s\r\n", p->status, reason);
    for (i = 0; i < p->nh; i++) {
        const cgi_header *h = &p->h[i];
        const char *name = p->buf.s + h->name;
        if (dropped(name, h->name_len))
            continue;
        has_date |= wsd_strncaseeq(name, h->name_len, "Date");
        rc |= wsd_str_append(out, name, h->name_len);
        rc |= wsd_str_append(out, ": ", 2);
        rc |= wsd_str_append(out, p->buf.s + h->value, h->value_len);
        rc |= wsd_str_append(out, "\r\n", 2);
    }
    if (!has_date) {
        char date[WSD_HTTP_DATE_SIZE];
        wsd_http_date(now, date);
        rc |= wsd_str_appendf(out, "Date: %s\r\n", date);
    }
    rc |= wsd_str_appends(out, "Connection: close\r\n");
    rc |= wsd_append_header_list(out, extra1);
    rc |= wsd_append_header_list(out, extra2);
    rc |= wsd_str_appends(out, "\r\n");
    if (rc) {
        wsd_str_truncate(out, len0);
        return -1;
    }
    return 0;
}
