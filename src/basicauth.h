/* basicauth.h — the Authorization request header (RFC 9110 §11.6.2) and
 * its Basic scheme (RFC 7617). Pure: no I/O.
 *
 * A value is `scheme [1*SP token68]`. The scheme is a token compared
 * case-insensitively. For Basic the credentials must be one token68 of
 * standard base64 (RFC 4648 §4, padded, no other bytes, canonical), at most
 * WSD_BASIC_B64_MAX characters, decoding to "user-id:password": user-id up
 * to the first colon; neither part may hold a control character (CTL:
 * 0x00-0x1F, 0x7F). Anything else is MALFORMED (→ 400, never a guess). */
#ifndef WSD_BASICAUTH_H
#define WSD_BASICAUTH_H

#include <stddef.h>

#define WSD_BASIC_B64_MAX 1368          /* base64 of 1024 bytes */
#define WSD_BASIC_MAX 1024              /* decoded user-id:password */
#define WSD_AUTH_SCHEME_MAX 32

enum {
    WSD_AUTHZ_MALFORMED = -1,
    WSD_AUTHZ_BASIC = 1,         /* user and password decoded */
    WSD_AUTHZ_OTHER = 2          /* another scheme (Bearer, Digest, ...): scheme set */
};

typedef struct {
    char scheme[WSD_AUTH_SCHEME_MAX + 1];   /* as sent */
    char user[WSD_BASIC_MAX + 1];           /* NUL-terminated (no NUL inside: CTL) */
    size_t ulen;
    char pass[WSD_BASIC_MAX + 1];
    size_t plen;
} wsd_basic_cred;

/* Parses one Authorization value v[0..n). */
int wsd_authz_parse(const char *v, size_t n, wsd_basic_cred *out);

/* Standard padded base64 of in[0..n) into out (room for 4 * ((n + 2) / 3)
 * + 1), NUL-terminated; returns the length. (For tests and clients.) */
size_t wsd_base64_encode(const unsigned char *in, size_t n, char *out);

/* Strict decode (see above) of s[0..n) into out (room for n / 4 * 3).
 * Returns the decoded length, or -1. */
long wsd_base64_decode(const char *s, size_t n, unsigned char *out);

#endif
