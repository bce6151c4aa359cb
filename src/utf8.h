/* utf8.h — incremental UTF-8 validation (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF) and sanitising. Pure; no allocation. */
#ifndef WSD_UTF8_H
#define WSD_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define WSD_UTF8_ACCEPT 0u     /* at a character boundary, all valid so far */
#define WSD_UTF8_REJECT 1u     /* invalid; sticky */

/* Validates p[0..n) continuing from *state (start with WSD_UTF8_ACCEPT).
 * Returns the new state: ACCEPT, REJECT, or another value meaning "inside a
 * multi-byte sequence, valid so far". Fails fast: the state becomes REJECT at
 * the first byte that cannot start or continue a valid sequence, so
 * "\xce\xba\xe1" is not rejected yet but "\xed\xa0" (a surrogate) is. */
uint32_t wsd_utf8_validate(uint32_t *state, const uint8_t *p, size_t n);

/* Length of the longest suffix of p[0..n) that is a valid but incomplete
 * multi-byte sequence (0..3). A sanitiser holds these bytes back until more
 * input arrives. */
size_t wsd_utf8_incomplete_tail(const uint8_t *p, size_t n);

/* Copies p[0..n) to out, replacing each maximal invalid subpart (Unicode
 * "substitution of maximal subparts", W3C/WHATWG decoder behaviour) with
 * U+FFFD (EF BF BD). An incomplete sequence at the end is replaced too, so
 * call it on complete input only (see wsd_utf8_incomplete_tail). out must
 * hold 3*n bytes. Returns the bytes written. */
size_t wsd_utf8_sanitize(const uint8_t *p, size_t n, uint8_t *out);

/* Sanitises the concatenation a[0..na) ‖ b[0..nb) into out exactly as
 * wsd_utf8_sanitize would, without copying b: a is what a streaming
 * sanitiser held back from the previous chunk (see
 * wsd_utf8_incomplete_tail), at most 3 bytes. out must hold 3(na + nb)
 * bytes. Returns the bytes written. */
size_t wsd_utf8_sanitize_pair(const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
                              uint8_t *out);

/* The length of the longest prefix of p[0..n) that is ASCII (no byte
 * ≥ 0x80): n when all of it is. Word at a time. */
size_t wsd_utf8_ascii_prefix(const uint8_t *p, size_t n);

/* 1 if p[0..n) is entirely valid UTF-8. */
int wsd_utf8_valid(const uint8_t *p, size_t n);

#endif
