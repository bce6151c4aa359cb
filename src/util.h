/* util.h — allocation policy and small string helpers shared by every module.
 *
 * OOM policy: wsd never tries to limp on after malloc fails. Every allocation
 * goes through xmalloc/xcalloc/xrealloc/xstrdup, which print the size and
 * abort(). No libuv here. */
#ifndef WSD_UTIL_H
#define WSD_UTIL_H

#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Character classes, ASCII only and locale-independent. */
int wsd_lower(int c);          /* 'A'..'Z' → 'a'..'z'; any other c as is */
int wsd_is_tchar(int c);       /* a character of an HTTP token (RFC 9110 §5.6.2) */
int wsd_hexval(int c);         /* '0'..'9', 'a'..'f', 'A'..'F' → 0..15; else -1 */

/* Case-insensitive ASCII compare of s[0..n) with the NUL-terminated lit. */
int wsd_strncaseeq(const char *s, size_t n, const char *lit);

/* Go's strings.TrimSpace of s[0..*n): white space as unicode.IsSpace (ASCII
 * \t \n \v \f \r and space, U+0085, U+00A0, U+1680, U+2000..U+200A,
 * U+2028, U+2029, U+202F, U+205F, U+3000) is cut from both ends. Returns
 * the new start inside s and sets *n to the new length. */
const char *wsd_trim_space(const char *s, size_t *n);

/* Does the comma-separated header value v[0..n) contain token tok
 * (case-insensitive, surrounding spaces/tabs ignored)? */
int wsd_header_has_token(const char *v, size_t n, const char *tok);

/* A growable string with a hard limit. Appends past `limit` fail (return -1)
 * and leave the string unchanged; the caller turns that into a protocol
 * answer. `s` is always NUL-terminated once anything was appended. */
typedef struct {
    char *s;
    size_t len, cap, limit;
} wsd_str;

void wsd_str_init(wsd_str *b, size_t limit);
int wsd_str_append(wsd_str *b, const char *p, size_t n);
int wsd_str_appends(wsd_str *b, const char *s);
int wsd_str_appendf(wsd_str *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Cuts b back to its first len bytes (len <= b->len), NUL-terminated:
 * undoes the appends made since b->len was len. */
void wsd_str_truncate(wsd_str *b, size_t len);
void wsd_str_free(wsd_str *b);

#endif
