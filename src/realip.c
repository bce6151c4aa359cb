/* realip.c — the client behind trusted proxies (see realip.h). */
#include "realip.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

/* ------------------------------------------------------------- addresses */

int wsd_ip_parse(const char *s, size_t n, wsd_ip *out)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char buf[48];

    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    memset(out, 0, sizeof *out);
    if (memchr(buf, ':', n)) {
        if (inet_pton(AF_INET6, buf, out->a) != 1)
            return -1;
        out->family = 6;
        if (memcmp(out->a, mapped, 12) == 0) {
            memmove(out->a, out->a + 12, 4);
            memset(out->a + 4, 0, 12);
            out->family = 4;
        }
        return 0;
    }
    if (inet_pton(AF_INET, buf, out->a) != 1)   /* dotted quad, no leading zeros */
        return -1;
    out->family = 4;
    return 0;
}

void wsd_ip_format(const wsd_ip *ip, char out[WSD_IP_TEXT])
{
    if (!inet_ntop(ip->family == 4 ? AF_INET : AF_INET6, ip->a, out, WSD_IP_TEXT))
        snprintf(out, WSD_IP_TEXT, "?");
}

/* ---------------------------------------------------------- trusted sets */

typedef struct {
    wsd_ip net;
    int bits;
} network;

struct wsd_trust {
    network *v;
    size_t n;
    int unix_peers;
};

static void mask(wsd_ip *ip, int bits)
{
    int len = ip->family == 4 ? 4 : 16, i;
    for (i = 0; i < len; i++) {
        int keep = bits - 8 * i;
        if (keep <= 0)
            ip->a[i] = 0;
        else if (keep < 8)
            ip->a[i] &= (uint8_t)(0xff << (8 - keep));
    }
}

static char *errf(const char *what, const char *p, size_t n)
{
    wsd_str e;
    char esc[256];
    wsd_str_init(&e, 1024);
    wsd_str_appendf(&e, "--trustproxy: %s: '%s'", what, wsd_log_escape(esc, sizeof esc, p, n));
    return e.s;
}

wsd_trust *wsd_trust_new(const char *list, char **err)
{
    wsd_trust *t = xcalloc(1, sizeof *t);
    const char *p = list ? list : "";

    *err = NULL;
    for (;;) {
        const char *end = strchr(p, ','), *slash;
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *s = wsd_trim_space(p, &n);
        network nw;

        if (n > 0) {
            slash = memchr(s, '/', n);
            memset(&nw, 0, sizeof nw);
            if (n == 4 && memcmp(s, "unix", 4) == 0) {
                t->unix_peers = 1;
            } else if (wsd_ip_parse(s, slash ? (size_t)(slash - s) : n, &nw.net) != 0) {
                *err = errf("not an IP address, a network or \"unix\"", s, n);
            } else {
                int max = nw.net.family == 4 ? 32 : 128;
                nw.bits = max;
                if (slash) {
                    const char *d = slash + 1;
                    size_t dn = n - (size_t)(d - s), i;
                    int bits = 0;
                    for (i = 0; i < dn && i < 3 && d[i] >= '0' && d[i] <= '9'; i++)
                        bits = bits * 10 + (d[i] - '0');
                    if (dn == 0 || i != dn || bits > max || (dn > 1 && d[0] == '0'))
                        *err = errf("bad prefix length", s, n);
                    nw.bits = bits;
                }
                mask(&nw.net, nw.bits);
                t->v = xrealloc(t->v, (t->n + 1) * sizeof *t->v);
                t->v[t->n++] = nw;
            }
            if (*err) {
                wsd_trust_free(t);
                return NULL;
            }
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (t->n == 0 && !t->unix_peers) {
        *err = xstrdup("--trustproxy: the list is empty");
        wsd_trust_free(t);
        return NULL;
    }
    return t;
}

void wsd_trust_free(wsd_trust *t)
{
    if (!t)
        return;
    free(t->v);
    free(t);
}

int wsd_trust_has_ip(const wsd_trust *t, const wsd_ip *ip)
{
    size_t i;

    for (i = 0; t && i < t->n; i++) {
        wsd_ip m = *ip;
        if (t->v[i].net.family != ip->family)
            continue;
        mask(&m, t->v[i].bits);
        if (memcmp(m.a, t->v[i].net.a, ip->family == 4 ? 4 : 16) == 0)
            return 1;
    }
    return 0;
}

int wsd_trust_has(const wsd_trust *t, const char *peer)
{
    wsd_ip ip;

    if (!t || !peer)
        return 0;
    if (strcmp(peer, "unix-socket") == 0)
        return t->unix_peers;
    return wsd_ip_parse(peer, strlen(peer), &ip) == 0 && wsd_trust_has_ip(t, &ip);
}

/* ------------------------------------------------------------ the walk */

/* Hops of a chain, left (the client's side) to right (our peer's). Only the
 * right-most MAX_HOPS are kept: the walk starts at the right. */
#define MAX_HOPS 64

enum { HOP_ADDR, HOP_UNKNOWN };

typedef struct {
    int kind;
    wsd_ip ip;
    int port;
    /* Forwarded only: the element's proto= and host= (raw, in the field) */
    const char *proto, *host;
    size_t proto_len, host_len;
    int proto_q, host_q;         /* quoted-string: to be unescaped */
} hop;

typedef struct {
    hop h[MAX_HOPS];
    size_t first, n;             /* a ring: the oldest at first */
} chain;

static hop *chain_add(chain *c)
{
    hop *h;
    if (c->n == MAX_HOPS) {      /* drop the left-most */
        c->first = (c->first + 1) % MAX_HOPS;
        c->n--;
    }
    h = &c->h[(c->first + c->n) % MAX_HOPS];
    c->n++;
    memset(h, 0, sizeof *h);
    h->port = -1;
    return h;
}

static hop *chain_at(chain *c, size_t i)
{
    return &c->h[(c->first + i) % MAX_HOPS];
}

/* From the right: the first hop that is not a trusted proxy. Returns the
 * hop, or NULL when the peer itself is the best known (the right-most hop
 * is no address). A chain of trusted proxies only: its left-most. */
static hop *walk(const wsd_trust *t, chain *c)
{
    size_t i = c->n;
    hop *right = NULL;

    while (i-- > 0) {
        hop *h = chain_at(c, i);
        if (h->kind != HOP_ADDR)
            return right;        /* unknown beyond here: the last trusted hop */
        if (!wsd_trust_has_ip(t, &h->ip))
            return h;
        right = h;
    }
    return right;
}

static void set_bad(wsd_realip *out, const char *field, const char *why, const char *v, size_t n)
{
    char esc[96];
    if (out->bad[0])
        return;                  /* the first problem is enough */
    snprintf(out->bad, sizeof out->bad, "%s: %s: '%s'", field, why,
             wsd_log_escape(esc, sizeof esc, v, n));
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* A port: 1 to 5 digits, at most 65535. -1 if not. */
static int parse_port(const char *s, size_t n)
{
    int v = 0;
    size_t i;
    if (n == 0 || n > 5)
        return -1;
    for (i = 0; i < n; i++) {
        if (!is_digit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= 65535 ? v : -1;
}

/* An address with an optional port: a.b.c.d, a.b.c.d:port, [v6], [v6]:port
 * and (X-Forwarded-For only: bare_v6) an unbracketed IPv6. 0 or -1. */
static int parse_node_addr(const char *s, size_t n, int bare_v6, wsd_ip *ip, int *port)
{
    const char *colon;

    *port = -1;
    if (n > 0 && s[0] == '[') {
        const char *rb = memchr(s, ']', n);
        size_t in;
        if (!rb)
            return -1;
        in = (size_t)(rb - s) - 1;
        if (wsd_ip_parse(s + 1, in, ip) != 0 || !memchr(s + 1, ':', in))
            return -1;           /* brackets hold IPv6 only */
        if ((size_t)(rb - s) + 1 == n)
            return 0;
        if (rb[1] != ':')
            return -1;
        if ((size_t)(rb - s) + 2 < n && rb[2] == '_')
            return 0;            /* an obfuscated port (RFC 7239 §6.3) */
        *port = parse_port(rb + 2, n - (size_t)(rb - s) - 2);
        return *port < 0 ? -1 : 0;
    }
    colon = memchr(s, ':', n);
    if (colon && memchr(colon + 1, ':', n - (size_t)(colon - s) - 1))
        return bare_v6 && wsd_ip_parse(s, n, ip) == 0 ? 0 : -1;
    if (colon) {
        size_t pl = n - (size_t)(colon - s) - 1;
        if (wsd_ip_parse(s, (size_t)(colon - s), ip) != 0 || ip->family != 4)
            return -1;
        if (pl > 0 && colon[1] == '_')
            return 0;
        *port = parse_port(colon + 1, pl);
        return *port < 0 ? -1 : 0;
    }
    return wsd_ip_parse(s, n, ip) == 0 && ip->family == 4 ? 0 : -1;
}

/* ----------------------------------------------------------- Forwarded */

static int is_ows(int c)
{
    return c == ' ' || c == '\t';
}

/* The value of a quoted-string without its quotes and escapes, into out
 * (cap bytes, NUL-terminated). -1 if it does not fit. */
static long unquote(const char *s, size_t n, int quoted, char *out, size_t cap)
{
    size_t i, w = 0;

    if (!quoted) {
        if (n >= cap)
            return -1;
        memcpy(out, s, n);
        out[n] = '\0';
        return (long)n;
    }
    for (i = 1; i + 1 < n; i++) {
        char c = s[i];
        if (c == '\\')
            c = s[++i];
        if (w + 1 >= cap)
            return -1;
        out[w++] = c;
    }
    out[w] = '\0';
    return (long)w;
}

/* Scans a token or a quoted-string at s[*i..n). Returns its length (the
 * quotes included), 0 if there is none, -1 on a broken quoted-string. */
static long scan_value(const char *s, size_t n, size_t i, int *quoted)
{
    size_t j = i;

    *quoted = 0;
    if (i < n && s[i] == '"') {
        *quoted = 1;
        for (j = i + 1; j < n; j++) {
            unsigned char c = (unsigned char)s[j];
            if (c == '"')
                return (long)(j + 1 - i);
            if (c == '\\') {
                if (++j >= n)
                    return -1;
                c = (unsigned char)s[j];
                if (c != '\t' && (c < 0x20 || c == 0x7f))
                    return -1;
                continue;
            }
            if (c != '\t' && (c < 0x20 || c == 0x7f))
                return -1;
        }
        return -1;               /* unterminated */
    }
    while (j < n && wsd_is_tchar((unsigned char)s[j]))
        j++;
    return (long)(j - i);
}

/* A for= node into a hop (kind, address, port). 0, or -1 if malformed. */
static int parse_for(hop *h, const char *v, size_t n, int quoted)
{
    char buf[80];
    long len = unquote(v, n, quoted, buf, sizeof buf);
    size_t i;

    if (len <= 0)
        return -1;
    if (wsd_strncaseeq(buf, (size_t)len, "unknown") || buf[0] == '_') {
        for (i = 1; buf[0] == '_' && i < (size_t)len; i++) {
            int c = (unsigned char)buf[i];
            if (!(c == '.' || c == '_' || c == '-' || is_digit(c) || (c >= 'a' && c <= 'z') ||
                  (c >= 'A' && c <= 'Z')))
                return -1;
        }
        h->kind = HOP_UNKNOWN;
        return 0;
    }
    if (parse_node_addr(buf, (size_t)len, 0, &h->ip, &h->port) != 0)
        return -1;
    h->kind = HOP_ADDR;
    return 0;
}

/* One Forwarded field value into the chain. 0, or -1 (and *why). */
static int parse_forwarded(chain *c, const char *s, size_t n, const char **why)
{
    size_t i = 0;

    while (i < n) {
        hop *h = NULL;
        int seen_for = 0;
        while (i < n && (is_ows((unsigned char)s[i]) || s[i] == ','))
            i++;                 /* empty list elements are allowed */
        if (i >= n)
            break;
        h = chain_add(c);
        h->kind = HOP_UNKNOWN;   /* an element without for= */
        for (;;) {               /* pairs of one element */
            size_t name = i, nlen;
            long vlen;
            int q;
            while (i < n && wsd_is_tchar((unsigned char)s[i]))
                i++;
            nlen = i - name;
            if (nlen > 0) {
                if (i >= n || s[i] != '=') {
                    *why = "expected name=value";
                    return -1;
                }
                i++;
                vlen = scan_value(s, n, i, &q);
                if (vlen <= 0) {
                    *why = vlen < 0 ? "broken quoted-string" : "empty value";
                    return -1;
                }
                if (wsd_strncaseeq(s + name, nlen, "for")) {
                    if (seen_for++ || parse_for(h, s + i, (size_t)vlen, q) != 0) {
                        *why = seen_for > 1 ? "two for= in one element" : "bad for= node";
                        return -1;
                    }
                } else if (wsd_strncaseeq(s + name, nlen, "proto")) {
                    if (h->proto) {
                        *why = "two proto= in one element";
                        return -1;
                    }
                    h->proto = s + i;
                    h->proto_len = (size_t)vlen;
                    h->proto_q = q;
                } else if (wsd_strncaseeq(s + name, nlen, "host")) {
                    if (h->host) {
                        *why = "two host= in one element";
                        return -1;
                    }
                    h->host = s + i;
                    h->host_len = (size_t)vlen;
                    h->host_q = q;
                }                /* by= and extensions: not needed */
                i += (size_t)vlen;
            }
            while (i < n && is_ows((unsigned char)s[i]))
                i++;
            if (i >= n || s[i] == ',')
                break;
            if (s[i] != ';') {
                *why = "unexpected character";
                return -1;
            }
            i++;
            while (i < n && is_ows((unsigned char)s[i]))
                i++;
        }
    }
    return 0;
}

/* ---------------------------------------------------- X-Forwarded-For */

/* The entries of one X-Forwarded-For field into the chain; an entry that is
 * no address is a HOP_UNKNOWN (the walk stops there). */
static void parse_xff(chain *c, const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t start, len;
        const char *e;
        hop *h;
        while (i < n && (is_ows((unsigned char)s[i]) || s[i] == ','))
            i++;
        if (i >= n)
            break;
        start = i;
        while (i < n && s[i] != ',')
            i++;
        len = i - start;
        e = s + start;
        while (len > 0 && is_ows((unsigned char)e[len - 1]))
            len--;
        h = chain_add(c);
        h->kind = parse_node_addr(e, len, 1, &h->ip, &h->port) == 0 ? HOP_ADDR : HOP_UNKNOWN;
    }
}

/* ------------------------------------------------------ proto and host */

static int host_ok(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || n > 255)
        return 0;
    for (i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
              strchr("-._~!$&'()*+;=%:[]", c)))
            return 0;
    }
    return 1;
}

static int proto_of(const char *s, size_t n)
{
    if (wsd_strncaseeq(s, n, "https"))
        return WSD_PROTO_HTTPS;
    if (wsd_strncaseeq(s, n, "http"))
        return WSD_PROTO_HTTP;
    return WSD_PROTO_NONE;
}

/* The right-most non-empty entry of every field `name` (a comma list). */
static int last_entry(const wsd_request *r, const char *name, const char **v, size_t *vn)
{
    size_t k;
    int found = 0;

    for (k = 0; k < r->nheaders; k++) {
        const wsd_http_header *h = &r->headers[k];
        size_t i = h->value_len;
        if (!wsd_strncaseeq(h->name, h->name_len, name))
            continue;
        while (i > 0) {
            size_t end = i, start;
            while (end > 0 && is_ows((unsigned char)h->value[end - 1]))
                end--;
            start = end;
            while (start > 0 && h->value[start - 1] != ',')
                start--;
            i = start > 0 ? start - 1 : 0;
            while (start < end && is_ows((unsigned char)h->value[start]))
                start++;
            if (end > start) {
                *v = h->value + start;
                *vn = end - start;
                found = 1;
                break;
            }
        }
    }
    return found;
}

/* ------------------------------------------------------------- resolve */

/* The first field `name` (realip does not link the HTTP parser). */
static const wsd_http_header *get(const wsd_request *r, const char *name)
{
    size_t k;
    for (k = 0; k < r->nheaders; k++)
        if (wsd_strncaseeq(r->headers[k].name, r->headers[k].name_len, name))
            return &r->headers[k];
    return NULL;
}

static int has(const wsd_request *r, const char *name)
{
    return get(r, name) != NULL;
}

static void take_hop(wsd_realip *out, const char *from, const hop *h)
{
    out->from = from;
    wsd_ip_format(&h->ip, out->addr);
    out->port = h->port;
}

static void forwarded_extras(wsd_realip *out, const hop *h)
{
    char buf[256];
    long n;

    if (h->proto) {
        n = unquote(h->proto, h->proto_len, h->proto_q, buf, sizeof buf);
        if (n > 0 && proto_of(buf, (size_t)n))
            out->proto = proto_of(buf, (size_t)n);
        else
            set_bad(out, "Forwarded", "bad proto=", h->proto, h->proto_len);
    }
    if (h->host) {
        n = unquote(h->host, h->host_len, h->host_q, buf, sizeof buf);
        if (n > 0 && host_ok(buf, (size_t)n))
            memcpy(out->host, buf, (size_t)n + 1);
        else
            set_bad(out, "Forwarded", "bad host=", h->host, h->host_len);
    }
}

void wsd_realip_resolve(const wsd_trust *t, const wsd_request *r, wsd_realip *out)
{
    chain c;
    const char *v;
    size_t vn, k;
    int done = 0;

    memset(out, 0, sizeof *out);
    out->port = -1;

    if (has(r, "Forwarded")) {
        const char *why = NULL;
        memset(&c, 0, sizeof c);
        for (k = 0; k < r->nheaders && !why; k++) {
            const wsd_http_header *h = &r->headers[k];
            if (wsd_strncaseeq(h->name, h->name_len, "Forwarded") &&
                parse_forwarded(&c, h->value, h->value_len, &why) != 0)
                set_bad(out, "Forwarded", why, h->value, h->value_len);
        }
        if (!why && c.n > 0) {
            hop *h = walk(t, &c);
            done = 1;
            if (h) {
                take_hop(out, "Forwarded", h);
                forwarded_extras(out, h);
            } else {
                set_bad(out, "Forwarded", "the nearest for= is no address", "", 0);
            }
        }
    }
    if (!done && has(r, "X-Forwarded-For")) {
        memset(&c, 0, sizeof c);
        for (k = 0; k < r->nheaders; k++) {
            const wsd_http_header *h = &r->headers[k];
            if (wsd_strncaseeq(h->name, h->name_len, "X-Forwarded-For"))
                parse_xff(&c, h->value, h->value_len);
        }
        if (c.n > 0) {
            hop *h = walk(t, &c);
            done = 1;
            if (h) {
                take_hop(out, "X-Forwarded-For", h);
            } else {
                const wsd_http_header *x = get(r, "X-Forwarded-For");
                set_bad(out, "X-Forwarded-For", "the nearest entry is no address", x->value,
                        x->value_len);
            }
        }
    }
    if (!done && has(r, "X-Real-IP")) {
        const wsd_http_header *x = get(r, "X-Real-IP");
        hop h;
        memset(&h, 0, sizeof h);
        if (parse_node_addr(x->value, x->value_len, 1, &h.ip, &h.port) == 0)
            take_hop(out, "X-Real-IP", &h);
        else
            set_bad(out, "X-Real-IP", "not an address", x->value, x->value_len);
    }
    if (!out->proto && last_entry(r, "X-Forwarded-Proto", &v, &vn)) {
        out->proto = proto_of(v, vn);
        if (!out->proto)
            set_bad(out, "X-Forwarded-Proto", "neither http nor https", v, vn);
    }
    if (!out->host[0] && last_entry(r, "X-Forwarded-Host", &v, &vn)) {
        if (host_ok(v, vn)) {
            memcpy(out->host, v, vn);
            out->host[vn] = '\0';
        } else {
            set_bad(out, "X-Forwarded-Host", "not a host[:port]", v, vn);
        }
    }
}
