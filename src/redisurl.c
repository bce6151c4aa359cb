/* redisurl.c — the --redis URL (see redisurl.h). */
#include "redisurl.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

/* Percent-decodes s[0..n) into out[cap]. -1 when malformed or too long. */
static int decode(const char *s, size_t n, char *out, size_t cap, const char **why)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            hi = i + 1 < n ? wsd_hexval(s[i + 1]) : -1;
            lo = i + 2 < n ? wsd_hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                *why = "a '%' not followed by two hex digits in the credentials";
                return -1;
            }
            c = hi << 4 | lo;
            i += 2;
        } else if (c == '@' || c == '/' || c == '?' || c == '#' || c == '[' || c == ']') {
            *why = "a reserved character in the credentials (write it as %XX)";
            return -1;
        }
        if (c < 0x20 || c == 0x7f) {
            *why = "a control character in the credentials";
            return -1;
        }
        if (o + 1 >= cap) {
            *why = "credentials too long";
            return -1;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* A decimal number of 1..10 digits in [lo, hi]; -1 otherwise. */
static long number(const char *s, size_t n, long lo, long hi)
{
    long v = 0;
    size_t i;

    if (n == 0 || n > 10)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= lo && v <= hi ? v : -1;
}

static int host_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
}

int wsd_redis_url_parse(const char *s, wsd_redis_url *u, const char **why)
{
    const char *p, *end, *at, *hostend, *portp = NULL;
    size_t i;

    memset(u, 0, sizeof *u);
    u->port = 6379;
    if (strncmp(s, "rediss://", 9) == 0) {
        *why = "TLS (rediss://) is not supported";
        return -1;
    }
    if (strncmp(s, "redis://", 8) != 0) {
        *why = "it must start with redis://";
        return -1;
    }
    p = s + 8;
    end = p + strlen(p);
    if (strpbrk(p, "?#")) {
        *why = "a query or fragment is not supported";
        return -1;
    }
    /* userinfo: up to the last '@' before the path */
    {
        const char *slash = strchr(p, '/');
        const char *lim = slash ? slash : end;
        at = NULL;
        for (i = 0; p + i < lim; i++)
            if (p[i] == '@')
                at = p + i;
    }
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon) {
            *why = "credentials must be :PASSWORD@ or USER:PASSWORD@";
            return -1;
        }
        if (decode(p, (size_t)(colon - p), u->user, sizeof u->user, why) != 0 ||
            decode(colon + 1, (size_t)(at - colon - 1), u->password, sizeof u->password,
                   why) != 0)
            return -1;
        u->has_password = 1;
        p = at + 1;
    }
    /* host */
    if (*p == '[') {
        const char *close = strchr(p, ']');
        size_t n;
        if (!close) {
            *why = "an IPv6 address without its closing ']'";
            return -1;
        }
        n = (size_t)(close - p - 1);
        if (n == 0 || n >= sizeof u->host) {
            *why = "a bad IPv6 address";
            return -1;
        }
        for (i = 0; i < n; i++) {
            int c = (unsigned char)p[1 + i];
            if (!(wsd_hexval(c) >= 0 || c == ':' || c == '.')) {
                *why = "a bad IPv6 address";
                return -1;
            }
        }
        memcpy(u->host, p + 1, n);
        u->host[n] = '\0';
        hostend = close + 1;
    } else {
        for (hostend = p; *hostend && host_char((unsigned char)*hostend); hostend++)
            ;
        if (hostend == p) {
            *why = "no host";
            return -1;
        }
        if ((size_t)(hostend - p) >= sizeof u->host) {
            *why = "host name too long";
            return -1;
        }
        memcpy(u->host, p, (size_t)(hostend - p));
        u->host[hostend - p] = '\0';
    }
    p = hostend;
    if (*p == ':') {
        long port;
        portp = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        port = number(portp, (size_t)(p - portp), 1, 65535);
        if (port < 0) {
            *why = "the port must be 1 to 65535";
            return -1;
        }
        u->port = (unsigned)port;
    }
    if (*p == '\0')
        return 0;
    if (*p != '/') {
        *why = "an unexpected character after the host";
        return -1;
    }
    p++;
    if (*p == '\0')
        return 0;                  /* "redis://host/" */
    u->db = number(p, strlen(p), 0, 2147483647);
    if (u->db < 0) {
        *why = "the database must be a number, 0 to 2147483647";
        u->db = 0;
        return -1;
    }
    return 0;
}

void wsd_redis_url_where(const wsd_redis_url *u, char *out, unsigned cap)
{
    if (strchr(u->host, ':'))
        snprintf(out, cap, "[%s]:%u", u->host, u->port);
    else
        snprintf(out, cap, "%s:%u", u->host, u->port);
}
