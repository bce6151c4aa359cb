/* origin.c — websocketd's --origin / --sameorigin check (see origin.h for the
 * rules and the deliberate differences). Re-implemented from the observed
 * behaviour of websocketd 0.4.1 and of Go's url.ParseRequestURI and
 * net.SplitHostPort (their error texts appear in websocketd's log). */
#include "origin.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct {
    char *scheme;     /* lower-case; NULL = any scheme */
    char *host;       /* lower-case, IPv6 without brackets */
    char *port;       /* normalised digits; NULL = any port */
} origin_entry;

struct wsd_origin_policy {
    origin_entry *e;
    size_t n;
    int has_list;
    int sameorigin;
};

/* ------------------------------------------------------------ small helpers */

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static const char *mem_rchr(const char *s, size_t n, int c)
{
    while (n > 0) {
        if (s[n - 1] == c)
            return s + n - 1;
        n--;
    }
    return NULL;
}

/* Length of a valid UTF-8 sequence at s (1-4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len, i;
    unsigned cp;

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* Go's %q (strconv.Quote) for a byte string; valid UTF-8 is kept as is. */
static void go_quote(wsd_str *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    wsd_str_append(b, "\"", 1);
    while (i < n) {
        unsigned c = u[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            wsd_str_append(b, e, 2);
        } else if (c >= 0x20 && c < 0x7f) {
            wsd_str_append(b, s + i, 1);
        } else if (c == '\a' || c == '\b' || c == '\f' || c == '\n' || c == '\r' ||
                   c == '\t' || c == '\v') {
            static const char map[] = "abtnvfr";   /* \a=7 .. \r=13 */
            char e[2] = {'\\', map[c - 7]};
            wsd_str_append(b, e, 2);
        } else if (c >= 0x80) {
            size_t k = utf8_len(u + i, n - i);
            if (k) {
                wsd_str_append(b, s + i, k);
                i += k;
                continue;
            }
            wsd_str_appendf(b, "\\x%02x", c);
        } else {
            wsd_str_appendf(b, "\\x%02x", c);
        }
        i++;
    }
    wsd_str_append(b, "\"", 1);
}

/* --------------------------------------------- Go's url.ParseRequestURI */

typedef struct {
    wsd_str scheme;      /* lower-case, "" if none */
    wsd_str host;        /* URL.Host: unescaped, brackets kept */
    size_t scheme_len;   /* length of the scheme in the raw string */
} parsed_url;

/* Go's unescape(s, encodeHost) → out, or an error message into err. */
static int unescape_host(const char *s, size_t n, wsd_str *out, wsd_str *err)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || wsd_hexval((unsigned char)s[i + 1]) < 0 ||
                wsd_hexval((unsigned char)s[i + 2]) < 0) {
                wsd_str_appends(err, "invalid URL escape ");
                go_quote(err, s + i, n - i > 3 ? 3 : n - i);
                return -1;
            }
            if (wsd_hexval((unsigned char)s[i + 1]) < 8 && memcmp(s + i, "%25", 3) != 0) {
                wsd_str_appends(err, "invalid URL escape ");
                go_quote(err, s + i, 3);
                return -1;
            }
            c = (unsigned char)(wsd_hexval((unsigned char)s[i + 1]) * 16 +
                                wsd_hexval((unsigned char)s[i + 2]));
            wsd_str_append(out, (const char *)&c, 1);
            i += 3;
            continue;
        }
        if (c < 0x80 && !is_alpha(c) && !is_digit(c) &&
            !strchr("!$&'()*+,;=:[]<>\"-_.~", c)) {
            wsd_str_appends(err, "invalid character ");
            go_quote(err, s + i, 1);
            wsd_str_appends(err, " in host name");
            return -1;
        }
        wsd_str_append(out, s + i, 1);
        i++;
    }
    if (!out->s)
        wsd_str_append(out, "", 0);
    return 0;
}

/* Go's validOptionalPort. */
static int valid_optional_port(const char *p, size_t n)
{
    size_t i;
    if (n == 0)
        return 1;
    if (p[0] != ':')
        return 0;
    for (i = 1; i < n; i++) {
        if (!is_digit((unsigned char)p[i]))
            return 0;
    }
    return 1;
}

static int parse_host(const char *h, size_t n, wsd_str *host, wsd_str *err)
{
    const char *cp = NULL;
    size_t cpn = 0;

    if (n > 0 && h[0] == '[') {
        const char *rb = mem_rchr(h, n, ']');
        if (!rb) {
            wsd_str_appends(err, "missing ']' in host");
            return -1;
        }
        cp = rb + 1;
        cpn = n - (size_t)(cp - h);
    } else {
        const char *colon = mem_rchr(h, n, ':');
        if (colon) {
            cp = colon;
            cpn = n - (size_t)(cp - h);
        }
    }
    if (cp && !valid_optional_port(cp, cpn)) {
        wsd_str_appends(err, "invalid port ");
        go_quote(err, cp, cpn);
        wsd_str_appends(err, " after host");
        return -1;
    }
    return unescape_host(h, n, host, err);
}

static int valid_userinfo(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alpha(c) && !is_digit(c) && !strchr("-._:~!$&'()*+,;=%@", c))
            return 0;
        if (c == 0)
            return 0;
    }
    return 1;
}

/* Checks the %-escapes of s (Go's unescape for paths and userinfo). */
static int check_escapes(const char *s, size_t n, wsd_str *err)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (s[i] != '%')
            continue;
        if (i + 2 >= n || wsd_hexval((unsigned char)s[i + 1]) < 0 ||
            wsd_hexval((unsigned char)s[i + 2]) < 0) {
            wsd_str_appends(err, "invalid URL escape ");
            go_quote(err, s + i, n - i > 3 ? 3 : n - i);
            return -1;
        }
        i += 2;
    }
    return 0;
}

static int parse_authority(const char *a, size_t n, wsd_str *host, wsd_str *err)
{
    const char *at = mem_rchr(a, n, '@');
    const char *h = at ? at + 1 : a;
    size_t hn = n - (size_t)(h - a);

    if (parse_host(h, hn, host, err) < 0)
        return -1;
    if (at) {
        size_t un = (size_t)(at - a);
        if (!valid_userinfo(a, un)) {
            wsd_str_appends(err, "net/url: invalid userinfo");
            return -1;
        }
        if (check_escapes(a, un, err) < 0)
            return -1;
    }
    return 0;
}

/* url.ParseRequestURI(s): 0, or -1 with Go's message ("parse \"s\": why")
 * appended to err. */
static int parse_request_uri(const char *s, size_t n, parsed_url *u, wsd_str *err)
{
    wsd_str why;
    const char *rest = s;
    size_t rn = n, i, nq = 0;
    int rc = -1;

    wsd_str_init(&u->scheme, (size_t)-1 / 2);
    wsd_str_init(&u->host, (size_t)-1 / 2);
    wsd_str_append(&u->scheme, "", 0);
    wsd_str_append(&u->host, "", 0);
    u->scheme_len = 0;
    wsd_str_init(&why, (size_t)-1 / 2);

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            wsd_str_appends(&why, "net/url: invalid control character in URL");
            goto out;
        }
    }
    if (n == 0) {
        wsd_str_appends(&why, "empty url");
        goto out;
    }
    if (n == 1 && s[0] == '*') {
        rc = 0;
        goto out;
    }
    /* getScheme */
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_alpha(c))
            continue;
        if (is_digit(c) || c == '+' || c == '-' || c == '.') {
            if (i == 0)
                break;
            continue;
        }
        if (c == ':') {
            size_t k;
            if (i == 0) {
                wsd_str_appends(&why, "missing protocol scheme");
                goto out;
            }
            for (k = 0; k < i; k++) {
                char l = (char)wsd_lower((unsigned char)s[k]);
                wsd_str_append(&u->scheme, &l, 1);
            }
            u->scheme_len = i;
            rest = s + i + 1;
            rn = n - i - 1;
        }
        break;
    }
    /* query: a lone trailing '?' is ForceQuery, else cut at the first '?' */
    for (i = 0; i < rn; i++)
        nq += rest[i] == '?';
    if (rn > 0 && rest[rn - 1] == '?' && nq == 1) {
        rn--;
    } else {
        const char *q = memchr(rest, '?', rn);
        if (q)
            rn = (size_t)(q - rest);
    }
    if (rn == 0 || rest[0] != '/') {
        if (u->scheme.len > 0) {   /* opaque */
            rc = 0;
            goto out;
        }
        wsd_str_appends(&why, "invalid URI for request");
        goto out;
    }
    if (u->scheme.len > 0 && rn >= 2 && rest[1] == '/') {
        const char *auth = rest + 2;
        const char *slash = memchr(auth, '/', rn - 2);
        size_t an = slash ? (size_t)(slash - auth) : rn - 2;
        wsd_str_free(&u->host);
        wsd_str_init(&u->host, (size_t)-1 / 2);
        if (parse_authority(auth, an, &u->host, &why) < 0)
            goto out;
        rn -= 2 + an;
        rest = auth + an;
    }
    if (check_escapes(rest, rn, &why) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0) {
        wsd_str_appends(err, "parse ");
        go_quote(err, s, n);
        wsd_str_appends(err, ": ");
        wsd_str_append(err, why.s ? why.s : "", why.len);
    }
    wsd_str_free(&why);
    return rc;
}

static void parsed_free(parsed_url *u)
{
    wsd_str_free(&u->scheme);
    wsd_str_free(&u->host);
}

/* ------------------------------------------------- host:port (tellHostPort) */

typedef struct {
    const char *host;   /* brackets removed when the whole value is "[...]" */
    size_t host_len;
    char port[8];       /* normalised: no leading zeros; "" never */
    int port_big;       /* more than 5 significant digits: kept in port_long */
    const char *port_long;
    size_t port_long_len;
} host_port;

/* Normalises a port: "" → default, leading zeros dropped. */
static void set_port(host_port *hp, const char *p, size_t n, const char *def)
{
    while (n > 1 && p[0] == '0') {
        p++;
        n--;
    }
    hp->port_big = 0;
    if (n == 0) {
        snprintf(hp->port, sizeof hp->port, "%s", def);
    } else if (n < sizeof hp->port) {
        memcpy(hp->port, p, n);
        hp->port[n] = '\0';
    } else {
        hp->port[0] = '\0';
        hp->port_big = 1;
        hp->port_long = p;
        hp->port_long_len = n;
    }
}

static int port_eq(const host_port *a, const host_port *b)
{
    if (a->port_big || b->port_big)
        return a->port_big && b->port_big && a->port_long_len == b->port_long_len &&
               memcmp(a->port_long, b->port_long, a->port_long_len) == 0;
    return strcmp(a->port, b->port) == 0;
}

/* Go's net.SplitHostPort as websocketd's tellHostPort uses it: a missing
 * port means the default port. On another error, appends Go's AddrError
 * text to err and returns -1. */
static int tell_host_port(const char *hp, size_t n, int tls, host_port *out, wsd_str *err)
{
    const char *colon = mem_rchr(hp, n, ':');
    const char *def = tls ? "443" : "80";
    const char *why = NULL;
    size_t i, j = 0, k = 0;

    if (!colon)
        goto missing;
    i = (size_t)(colon - hp);
    if (hp[0] == '[') {
        const char *rb = memchr(hp, ']', n);
        size_t end;
        if (!rb) {
            why = "missing ']' in address";
            goto fail;
        }
        end = (size_t)(rb - hp);
        if (end + 1 == n)
            goto missing;
        if (end + 1 != i) {
            if (hp[end + 1] == ':') {
                why = "too many colons in address";
                goto fail;
            }
            goto missing;
        }
        out->host = hp + 1;
        out->host_len = end - 1;
        j = 1;
        k = end + 1;
    } else {
        out->host = hp;
        out->host_len = i;
        if (memchr(hp, ':', i)) {
            why = "too many colons in address";
            goto fail;
        }
    }
    if (memchr(hp + j, '[', n - j)) {
        why = "unexpected '[' in address";
        goto fail;
    }
    if (memchr(hp + k, ']', n - k)) {
        why = "unexpected ']' in address";
        goto fail;
    }
    set_port(out, hp + i + 1, n - i - 1, def);
    return 0;

missing:
    out->host = hp;
    out->host_len = n;
    if (n >= 2 && hp[0] == '[' && hp[n - 1] == ']') {   /* wsd: brackets off */
        out->host = hp + 1;
        out->host_len = n - 2;
    }
    set_port(out, "", 0, def);
    return 0;

fail:
    if (n > 0) {
        wsd_str_appends(err, "address ");
        wsd_str_append(err, hp, n);
        wsd_str_appends(err, ": ");
    }
    wsd_str_appends(err, why);
    return -1;
}

/* Case-insensitive host equality; IPv6 literals also by address. */
static int host_eq(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i;
    if (an == bn) {
        for (i = 0; i < an && wsd_lower((unsigned char)a[i]) == wsd_lower((unsigned char)b[i]); i++)
            ;
        if (i == an)
            return 1;
    }
    if (an < 64 && bn < 64 && memchr(a, ':', an) && memchr(b, ':', bn)) {
        char sa[64], sb[64];
        unsigned char xa[16], xb[16];
        memcpy(sa, a, an);
        sa[an] = '\0';
        memcpy(sb, b, bn);
        sb[bn] = '\0';
        if (inet_pton(AF_INET6, sa, xa) == 1 && inet_pton(AF_INET6, sb, xb) == 1)
            return memcmp(xa, xb, 16) == 0;
    }
    return 0;
}

/* ------------------------------------------------------- compiling the list */

static int host_char_ok(unsigned char c)
{
    return c >= 0x80 || is_alpha(c) || is_digit(c) || strchr("-._~!$&'()*+,;=", c);
}

static char *lower_dup(const char *s, size_t n)
{
    char *d = xstrndup(s, n);
    size_t i;
    for (i = 0; i < n; i++)
        d[i] = (char)wsd_lower((unsigned char)d[i]);
    return d;
}

/* Compiles entry e[0..n) (trimmed, non-empty). Returns NULL or a static
 * explanation. */
static const char *compile_entry(const char *e, size_t n, origin_entry *out)
{
    const char *rest = e, *host, *port = NULL;
    size_t rn = n, hn, pn = 0, i;
    const char *sep = NULL;

    memset(out, 0, sizeof *out);
    for (i = 0; i + 3 <= n; i++) {
        if (memcmp(e + i, "://", 3) == 0) {
            sep = e + i;
            break;
        }
    }
    if (sep) {
        size_t sn = (size_t)(sep - e);
        if (sn == 0)
            return "missing scheme before \"://\"";
        if (!is_alpha((unsigned char)e[0]))
            return "bad scheme";
        for (i = 1; i < sn; i++) {
            unsigned char c = (unsigned char)e[i];
            if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
                return "bad scheme";
        }
        rest = sep + 3;
        rn = n - sn - 3;
        if (rn > 0 && rest[rn - 1] == '/')
            rn--;                       /* "https://example.com/" */
        out->scheme = lower_dup(e, sn);
    }
    for (i = 0; i < rn; i++) {
        unsigned char c = (unsigned char)rest[i];
        if (c == '/' || c == '?' || c == '#')
            return "only scheme://host[:port] or host[:port] is allowed (no path)";
        if (c == '@')
            return "user information is not allowed";
        if (c < 0x20 || c == 0x7f || c == ' ')
            return "bad character";
    }
    if (rn > 0 && rest[0] == '[') {
        const char *rb = memchr(rest, ']', rn);
        char buf[64];
        unsigned char bin[16];
        if (!rb)
            return "missing ']'";
        host = rest + 1;
        hn = (size_t)(rb - host);
        if (hn == 0 || hn >= sizeof buf)
            return "bad IPv6 address";
        memcpy(buf, host, hn);
        buf[hn] = '\0';
        if (inet_pton(AF_INET6, buf, bin) != 1)
            return "bad IPv6 address";
        if ((size_t)(rb + 1 - rest) < rn) {
            if (rb[1] != ':')
                return "junk after ']'";
            port = rb + 2;
            pn = rn - (size_t)(port - rest);
            if (pn == 0)
                return "empty port";
        }
    } else {
        const char *colon = memchr(rest, ':', rn);
        host = rest;
        hn = rn;
        if (colon) {
            if (memchr(colon + 1, ':', rn - (size_t)(colon + 1 - rest)))
                return "an IPv6 address needs brackets, as in [::1]:8080";
            hn = (size_t)(colon - rest);
            port = colon + 1;
            pn = rn - hn - 1;
            if (pn == 0)
                return "empty port";
        }
        if (hn == 0)
            return "empty host";
        for (i = 0; i < hn; i++) {
            if (!host_char_ok((unsigned char)host[i]))
                return "bad character in host";
        }
    }
    if (port) {
        unsigned long v = 0;
        for (i = 0; i < pn; i++) {
            if (!is_digit((unsigned char)port[i]))
                return "port is not a number";
            v = v * 10 + (unsigned long)(port[i] - '0');
            if (v > 65535)
                return "port out of range";
        }
        if (v == 0)
            return "port out of range";
        out->port = xmalloc(8);
        snprintf(out->port, 8, "%lu", v);
    }
    out->host = lower_dup(host, hn);
    return NULL;
}

static void entry_free(origin_entry *e)
{
    free(e->scheme);
    free(e->host);
    free(e->port);
}

wsd_origin_policy *wsd_origin_new(const char *list, int sameorigin, char **err)
{
    wsd_origin_policy *p = xcalloc(1, sizeof *p);
    const char *s = list;

    *err = NULL;
    p->sameorigin = sameorigin != 0;
    if (!list || !*list)
        return p;
    p->has_list = 1;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        const char *e = s;
        while (n > 0 && (e[0] == ' ' || e[0] == '\t')) {
            e++;
            n--;
        }
        while (n > 0 && (e[n - 1] == ' ' || e[n - 1] == '\t'))
            n--;
        if (n > 0) {
            origin_entry oe;
            const char *why = compile_entry(e, n, &oe);
            if (why) {
                wsd_str m;
                entry_free(&oe);
                wsd_str_init(&m, 4096);
                wsd_str_appends(&m, "--origin: cannot use '");
                if (wsd_str_append(&m, e, n) < 0)
                    wsd_str_appends(&m, "...");
                wsd_str_appendf(&m, "': %s", why);
                *err = m.s;
                wsd_origin_free(p);
                return NULL;
            }
            p->e = xrealloc(p->e, (p->n + 1) * sizeof *p->e);
            p->e[p->n++] = oe;
        }
        if (!comma)
            break;
        s = comma + 1;
    }
    if (p->n == 0) {
        wsd_str m;
        wsd_str_init(&m, 4096);
        wsd_str_appends(&m, "--origin: no host in '");
        if (wsd_str_appends(&m, list) < 0)
            wsd_str_appends(&m, "...");
        wsd_str_appends(&m, "'");
        *err = m.s;
        wsd_origin_free(p);
        return NULL;
    }
    return p;
}

void wsd_origin_free(wsd_origin_policy *p)
{
    size_t i;
    if (!p)
        return;
    for (i = 0; i < p->n; i++)
        entry_free(&p->e[i]);
    free(p->e);
    free(p);
}

int wsd_origin_restricted(const wsd_origin_policy *p)
{
    return p->has_list || p->sameorigin;
}

/* --------------------------------------------------------------- checking */

static int entry_match(const origin_entry *e, const parsed_url *u, const host_port *o)
{
    if (e->scheme && strcmp(e->scheme, u->scheme.s) != 0)
        return 0;
    if (!host_eq(e->host, strlen(e->host), o->host, o->host_len))
        return 0;
    return !e->port || (!o->port_big && strcmp(e->port, o->port) == 0);
}

int wsd_origin_check(const wsd_origin_policy *p, const char *origin, size_t origin_len,
                     const char *host, size_t host_len, int is_tls,
                     wsd_str *reason, wsd_str *log_origin)
{
    const char *o = origin;
    size_t on = origin_len;
    parsed_url u;
    host_port oh, hh;
    wsd_str err;
    int restricted = wsd_origin_restricted(p), ok = 0;
    size_t i;

    if (!o || on == 0 || (on == 4 && memcmp(o, "null", 4) == 0 && !p->has_list)) {
        o = "file:";
        on = 5;
    }
    wsd_str_init(&err, (size_t)-1 / 2);
    if (parse_request_uri(o, on, &u, &err) < 0) {
        if (log_origin)
            wsd_str_append(log_origin, o, on);
        if (!restricted) {
            ok = 1;
        } else if (reason) {
            wsd_str_appends(reason, "Origin parsing error: ");
            wsd_str_append(reason, err.s, err.len);
        }
        parsed_free(&u);
        wsd_str_free(&err);
        return ok;
    }
    if (log_origin) {
        wsd_str_append(log_origin, u.scheme.s, u.scheme.len);
        wsd_str_append(log_origin, o + u.scheme_len, on - u.scheme_len);
    }
    if (!restricted) {
        ok = 1;
        goto out;
    }
    if (tell_host_port(u.host.s, u.host.len, strcmp(u.scheme.s, "https") == 0, &oh, &err) < 0) {
        if (reason) {
            wsd_str_appends(reason, "Origin hostname parsing error: ");
            wsd_str_append(reason, err.s, err.len);
        }
        goto out;
    }
    if (p->sameorigin) {
        if (!host)
            host = "";
        if (tell_host_port(host, host_len, is_tls, &hh, &err) < 0) {
            if (reason) {
                wsd_str_appends(reason, "Request hostname parsing error: ");
                wsd_str_append(reason, err.s, err.len);
            }
            goto out;
        }
        if (!host_eq(oh.host, oh.host_len, hh.host, hh.host_len) || !port_eq(&oh, &hh)) {
            if (reason)
                wsd_str_appends(reason, "Same origin policy mismatch");
            goto out;
        }
    }
    if (p->has_list) {
        for (i = 0; i < p->n && !entry_match(&p->e[i], &u, &oh); i++)
            ;
        if (i == p->n) {
            if (reason)
                wsd_str_appends(reason, "Origin is not listed in allowed list");
            goto out;
        }
    }
    ok = 1;
out:
    parsed_free(&u);
    wsd_str_free(&err);
    return ok;
}
