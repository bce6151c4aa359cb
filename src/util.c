#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "wsd: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

int wsd_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

int wsd_is_tchar(int c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int wsd_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int wsd_strncaseeq(const char *s, size_t n, const char *lit)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (lit[i] == '\0' || wsd_lower((unsigned char)s[i]) != wsd_lower((unsigned char)lit[i]))
            return 0;
    }
    return lit[n] == '\0';
}

/* Length of the Unicode white space (Go's unicode.IsSpace) that starts
 * s[0..n), or 0. */
static size_t space_at(const unsigned char *s, size_t n)
{
    if (n >= 1 && (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')))
        return 1;
    if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
        return 2;
    if (n >= 3 && ((s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) ||
                   (s[0] == 0xe2 && s[1] == 0x80 && (s[2] <= 0x8a || s[2] == 0xa8 ||
                                                     s[2] == 0xa9 || s[2] == 0xaf)) ||
                   (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) ||
                   (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)))
        return 3;
    return 0;
}

const char *wsd_trim_space(const char *str, size_t *n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t len = *n, k;

    while (len > 0 && (k = space_at(s, len)) > 0) {
        s += k;
        len -= k;
    }
    for (;;) {
        if (len >= 1 && space_at(s + len - 1, 1) == 1)
            len -= 1;
        else if (len >= 2 && space_at(s + len - 2, 2) == 2)
            len -= 2;
        else if (len >= 3 && space_at(s + len - 3, 3) == 3)
            len -= 3;
        else
            break;
    }
    *n = len;
    return (const char *)s;
}

int wsd_header_has_token(const char *v, size_t n, const char *tok)
{
    size_t i = 0;
    while (i < n) {
        size_t start, end;
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        start = i;
        while (i < n && v[i] != ',')
            i++;
        end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end > start && wsd_strncaseeq(v + start, end - start, tok))
            return 1;
    }
    return 0;
}

void wsd_str_init(wsd_str *b, size_t limit)
{
    b->s = NULL;
    b->len = b->cap = 0;
    b->limit = limit;
}

int wsd_str_append(wsd_str *b, const char *p, size_t n)
{
    if (n > b->limit - b->len)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > b->limit + 1)
            cap = b->limit + 1;
        b->s = xrealloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

int wsd_str_appends(wsd_str *b, const char *s)
{
    return wsd_str_append(b, s, strlen(s));
}

int wsd_str_appendf(wsd_str *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof small)
        return wsd_str_append(b, small, (size_t)n);
    {
        char *big = xmalloc((size_t)n + 1);
        int rc;
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        rc = wsd_str_append(b, big, (size_t)n);
        free(big);
        return rc;
    }
}

void wsd_str_truncate(wsd_str *b, size_t len)
{
    b->len = len;
    if (b->s)
        b->s[len] = '\0';
}

void wsd_str_free(wsd_str *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}
