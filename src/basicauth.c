/* basicauth.c — the Authorization header and Basic credentials (see
 * basicauth.h). */
#include "basicauth.h"

#include <string.h>

#include "util.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t wsd_base64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t i, w = 0;

    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[w++] = b64[v >> 18];
        out[w++] = b64[(v >> 12) & 63];
        out[w++] = b64[(v >> 6) & 63];
        out[w++] = b64[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);
        out[w++] = b64[v >> 18];
        out[w++] = b64[(v >> 12) & 63];
        out[w++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        out[w++] = '=';
    }
    out[w] = '\0';
    return w;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long wsd_base64_decode(const char *s, size_t n, unsigned char *out)
{
    size_t i, w = 0, pad = 0;

    if (n == 0 || n % 4 != 0)
        return -1;
    if (s[n - 1] == '=')
        pad = s[n - 2] == '=' ? 2 : 1;
    for (i = 0; i < n; i += 4) {
        int v[4], k;
        unsigned bits;
        size_t real = i + 4 == n ? 4 - pad : 4;
        for (k = 0; k < 4; k++)
            v[k] = (size_t)k < real ? b64val((unsigned char)s[i + (size_t)k]) : 0;
        for (k = 0; k < (int)real; k++)
            if (v[k] < 0)
                return -1;
        bits = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        out[w++] = (unsigned char)(bits >> 16);
        if (real > 2)
            out[w++] = (unsigned char)(bits >> 8);
        if (real > 3)
            out[w++] = (unsigned char)bits;
        /* canonical: the bits a short group leaves over are zero */
        if ((real == 2 && (bits & 0xffff)) || (real == 3 && (bits & 0xff)))
            return -1;
    }
    return (long)w;
}

static int is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

int wsd_authz_parse(const char *v, size_t n, wsd_basic_cred *out)
{
    unsigned char dec[WSD_BASIC_B64_MAX / 4 * 3];
    size_t i = 0, s, t, k;
    const unsigned char *colon;
    long dn;

    memset(out, 0, sizeof *out);
    while (i < n && wsd_is_tchar((unsigned char)v[i]))
        i++;
    if (i == 0 || i > WSD_AUTH_SCHEME_MAX)
        return WSD_AUTHZ_MALFORMED;
    memcpy(out->scheme, v, i);
    if (i < n && v[i] != ' ')
        return WSD_AUTHZ_MALFORMED;
    if (!wsd_strncaseeq(v, i, "Basic")) {
        /* another scheme: its parameters are not ours to judge, but no
         * control characters (the parser took them already) */
        return WSD_AUTHZ_OTHER;
    }
    while (i < n && v[i] == ' ')
        i++;
    s = i;
    while (i < n && v[i] != ' ')
        i++;
    t = i;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    if (i != n || t == s || t - s > WSD_BASIC_B64_MAX)
        return WSD_AUTHZ_MALFORMED;
    dn = wsd_base64_decode(v + s, t - s, dec);
    colon = dn > 0 && dn <= WSD_BASIC_MAX ? memchr(dec, ':', (size_t)dn) : NULL;
    for (k = 0; colon && k < (size_t)dn; k++)
        if (is_ctl(dec[k]))
            colon = NULL;
    if (colon) {
        out->ulen = (size_t)(colon - dec);
        memcpy(out->user, dec, out->ulen);
        out->plen = (size_t)dn - out->ulen - 1;
        memcpy(out->pass, colon + 1, out->plen);
    }
    explicit_bzero(dec, sizeof dec);   /* the password: not left on the stack */
    return colon ? WSD_AUTHZ_BASIC : WSD_AUTHZ_MALFORMED;
}
