/* htpasswd.c — an htpasswd file and crypt(3) checks (see htpasswd.h). */
#include "htpasswd.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct {
    char *user;
    char *hash;
} entry;

struct wsd_htpasswd {
    entry *v;                    /* sorted by user */
    size_t n;
};

struct wsd_htpasswd_parser {
    char line[WSD_HTPASSWD_LINE + 1];
    size_t len;
    unsigned long lineno;
    int failed;
    int overlong;                /* the current line is longer than WSD_HTPASSWD_LINE */
    char err[256];
    entry *v;
    size_t n, cap;
};

wsd_htpasswd_parser *wsd_htpasswd_parser_new(void)
{
    wsd_htpasswd_parser *p = xcalloc(1, sizeof *p);
    p->lineno = 1;
    return p;
}

static int b64c(int c)
{
    return c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
           (c >= 'a' && c <= 'z');
}

static int all_b64c(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!b64c((unsigned char)s[i]))
            return 0;
    return 1;
}

/* $5$ / $6$: [rounds=N$]salt$hash with `hlen` hash characters. */
static int sha_crypt_ok(const char *h, size_t n, size_t hlen)
{
    const char *p = h + 3, *end = h + n, *d;

    if (n > 3 + 7 && memcmp(p, "rounds=", 7) == 0) {
        const char *q = p + 7;
        if (q >= end || *q < '1' || *q > '9')
            return 0;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
        if (q >= end || *q != '$' || q - (p + 7) > 9)
            return 0;
        p = q + 1;
    }
    d = memchr(p, '$', (size_t)(end - p));
    if (!d || d - p > 16 || !all_b64c(p, (size_t)(d - p)))
        return 0;
    return (size_t)(end - d - 1) == hlen && all_b64c(d + 1, hlen);
}

/* NULL if hash[0..n) is acceptable, else why not. */
static const char *classify(const char *h, size_t n)
{
    char buf[WSD_HTPASSWD_LINE + 1];
    int cs;

    if (n == 0)
        return "no hash";
    if (n >= 6 && memcmp(h, "$apr1$", 6) == 0)
        return "an MD5 hash ($apr1$, htpasswd's default) is refused";
    if (n >= 3 && memcmp(h, "$1$", 3) == 0)
        return "an MD5-crypt hash ($1$) is refused";
    if (n >= 5 && memcmp(h, "{SHA}", 5) == 0)
        return "a SHA-1 hash ({SHA}, htpasswd -s) is refused";
    if (n >= 4 && h[0] == '$' && h[1] == '2' && h[3] == '$') {
        if ((h[2] != 'y' && h[2] != 'b' && h[2] != 'a') || n != 60 || h[6] != '$' ||
            h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9' ||
            (h[4] - '0') * 10 + (h[5] - '0') < 4 || (h[4] - '0') * 10 + (h[5] - '0') > 31 ||
            !all_b64c(h + 7, 53))
            return "a malformed bcrypt hash";
    } else if (n >= 3 && memcmp(h, "$6$", 3) == 0) {
        if (!sha_crypt_ok(h, n, 86))
            return "a malformed SHA-512 crypt hash";
    } else if (n >= 3 && memcmp(h, "$5$", 3) == 0) {
        if (!sha_crypt_ok(h, n, 43))
            return "a malformed SHA-256 crypt hash";
    } else if (n == 13 && all_b64c(h, n)) {
        return "a DES crypt hash (htpasswd -d) is refused";
    } else {
        return "not a bcrypt, SHA-512 or SHA-256 crypt hash (plain text, htpasswd -p, is refused)";
    }
    memcpy(buf, h, n);
    buf[n] = '\0';
    cs = crypt_checksalt(buf);
    if (cs != CRYPT_SALT_OK && cs != CRYPT_SALT_METHOD_LEGACY && cs != CRYPT_SALT_TOO_CHEAP)
        return "this system's crypt(3) does not support the hash";
    return NULL;
}

static void perr(wsd_htpasswd_parser *p, const char *why)
{
    if (p->failed)
        return;
    p->failed = 1;
    snprintf(p->err, sizeof p->err, "line %lu: %s", p->lineno, why);
}

static void take_line(wsd_htpasswd_parser *p)
{
    char *l = p->line, *colon, msg[200];
    size_t n = p->len, i;

    if (p->overlong) {
        perr(p, "longer than 1024 bytes");
        return;
    }
    if (n > 0 && l[n - 1] == '\r')
        n--;
    if (n == 0 || l[0] == '#')
        return;
    colon = memchr(l, ':', n);
    if (!colon) {
        perr(p, "not user:hash");
        return;
    }
    if (colon == l || colon - l > WSD_HTPASSWD_USER) {
        perr(p, "the user name is empty or longer than 255 bytes");
        return;
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char)l[i] < 0x20 || l[i] == 0x7f) {
            perr(p, "a control character");
            return;
        }
    }
    {
        const char *why = classify(colon + 1, n - (size_t)(colon - l) - 1);
        if (why) {
            snprintf(msg, sizeof msg, "user '%.*s': %s", (int)(colon - l < 64 ? colon - l : 64),
                     l, why);
            perr(p, msg);
            return;
        }
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->v = xrealloc(p->v, p->cap * sizeof *p->v);
    }
    p->v[p->n].user = xstrndup(l, (size_t)(colon - l));
    p->v[p->n].hash = xstrndup(colon + 1, n - (size_t)(colon - l) - 1);
    p->n++;
}

int wsd_htpasswd_feed(wsd_htpasswd_parser *p, const char *data, size_t n)
{
    size_t i;

    for (i = 0; i < n && !p->failed; i++) {
        if (data[i] == '\n') {
            take_line(p);
            p->len = 0;
            p->overlong = 0;
            p->lineno++;
        } else if (p->len < WSD_HTPASSWD_LINE) {
            p->line[p->len++] = data[i];
        } else {
            p->overlong = 1;
        }
    }
    return p->failed ? -1 : 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->user, ((const entry *)b)->user);
}

static void free_entries(entry *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        free(v[i].user);
        free(v[i].hash);
    }
    free(v);
}

wsd_htpasswd *wsd_htpasswd_finish(wsd_htpasswd_parser *p, char *err, size_t cap)
{
    wsd_htpasswd *h = NULL;
    size_t i;

    if (!p->failed && (p->len > 0 || p->overlong))
        take_line(p);            /* the last line, without its LF */
    if (!p->failed && p->n == 0)
        snprintf(p->err, sizeof p->err, "no user in the file"), p->failed = 1;
    if (!p->failed) {
        qsort(p->v, p->n, sizeof *p->v, cmp_entry);
        for (i = 1; i < p->n; i++) {
            if (strcmp(p->v[i - 1].user, p->v[i].user) == 0) {
                snprintf(p->err, sizeof p->err, "user '%.64s' appears twice", p->v[i].user);
                p->failed = 1;
                break;
            }
        }
    }
    if (p->failed) {
        snprintf(err, cap, "%s", p->err);
        free_entries(p->v, p->n);
    } else {
        h = xcalloc(1, sizeof *h);
        h->v = p->v;
        h->n = p->n;
    }
    explicit_bzero(p->line, sizeof p->line);
    free(p);
    return h;
}

void wsd_htpasswd_free(wsd_htpasswd *h)
{
    if (!h)
        return;
    free_entries(h->v, h->n);
    free(h);
}

size_t wsd_htpasswd_count(const wsd_htpasswd *h)
{
    return h ? h->n : 0;
}

const char *wsd_htpasswd_lookup(const wsd_htpasswd *h, const char *user, size_t n)
{
    size_t lo = 0, hi = h ? h->n : 0;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *u = h->v[mid].user;
        size_t ul = strlen(u);
        int c = memcmp(u, user, ul < n ? ul : n);
        if (c == 0)
            c = ul < n ? -1 : ul > n ? 1 : 0;
        if (c == 0)
            return h->v[mid].hash;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *wsd_htpasswd_dummy(const wsd_htpasswd *h)
{
    return h && h->n ? h->v[0].hash : NULL;
}

int wsd_htpasswd_verify(const char *hash, const char *pass, size_t n)
{
    struct crypt_data *cd;
    char pw[1025];
    const char *out;
    size_t hl, ol, i;
    unsigned diff;

    if (!hash || n >= sizeof pw || memchr(pass, '\0', n))
        return 0;
    memcpy(pw, pass, n);
    pw[n] = '\0';
    cd = xcalloc(1, sizeof *cd);
    out = crypt_rn(pw, hash, cd, (int)sizeof *cd);
    explicit_bzero(pw, sizeof pw);
    if (!out || out[0] == '*') {     /* failure tokens start with '*' */
        free(cd);
        return 0;
    }
    hl = strlen(hash);
    ol = strlen(out);
    diff = (unsigned)(hl ^ ol);
    for (i = 0; i < hl; i++)         /* time depends on the stored length only */
        diff |= (unsigned char)hash[i] ^ (unsigned char)(i < ol ? out[i] : 0);
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    return diff == 0;
}
