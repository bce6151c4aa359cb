/* htpasswd.h — an Apache htpasswd file (--htpasswd) and the check of a
 * password against it with crypt(3) from libxcrypt. Pure: no I/O (the
 * caller reads the file and feeds its bytes in pieces of any size).
 *
 * The file: one "user:hash" per line (LF or CRLF; the last line may lack
 * its LF); blank lines and lines starting with '#' are skipped. A user name
 * is 1 to 255 bytes without ':' or control characters; a user may appear
 * once. Accepted hashes, as `htpasswd -B`, `-5` and `-2` write them:
 *   bcrypt      $2y$ (also $2b$, $2a$), cost 04..31, 53 characters
 *   SHA-512     $6$[rounds=N$]salt$ + 86 characters
 *   SHA-256     $5$[rounds=N$]salt$ + 43 characters
 * and crypt_checksalt(3) must know the method. Everything else refuses
 * the whole file with the line and why: MD5 ($apr1$, htpasswd's default,
 * and $1$), SHA-1 ({SHA}), DES crypt (-d), plain text (-p) — cheap to
 * brute-force, or (plain text) the password itself.
 *
 * Checking costs what the hash's method and cost say (bcrypt cost 5:
 * ~2 ms, cost 12: ~250 ms): callers run wsd_htpasswd_verify off the event
 * loop. It is thread-safe and keeps no state. */
#ifndef WSD_HTPASSWD_H
#define WSD_HTPASSWD_H

#include <stddef.h>

#define WSD_HTPASSWD_LINE 1024          /* the longest line */
#define WSD_HTPASSWD_USER 255

typedef struct wsd_htpasswd wsd_htpasswd;
typedef struct wsd_htpasswd_parser wsd_htpasswd_parser;

wsd_htpasswd_parser *wsd_htpasswd_parser_new(void);
/* Feeds the next bytes of the file. 0, or -1 once an error was found (the
 * rest is ignored; finish reports it). */
int wsd_htpasswd_feed(wsd_htpasswd_parser *p, const char *data, size_t n);
/* The end of the file: the table, or NULL with a one-line reason in
 * err[0..cap) ("line 3: ..."). Frees the parser either way. */
wsd_htpasswd *wsd_htpasswd_finish(wsd_htpasswd_parser *p, char *err, size_t cap);
void wsd_htpasswd_free(wsd_htpasswd *h);

size_t wsd_htpasswd_count(const wsd_htpasswd *h);
/* The hash of user[0..n), or NULL if no such user. */
const char *wsd_htpasswd_lookup(const wsd_htpasswd *h, const char *user, size_t n);
/* A hash of the table to check against when the user does not exist, so
 * that an unknown user costs the same time as a wrong password. */
const char *wsd_htpasswd_dummy(const wsd_htpasswd *h);

/* Does pass[0..n) match hash? crypt_rn(3), then a comparison whose time
 * does not depend on where the results differ. 1 or 0. */
int wsd_htpasswd_verify(const char *hash, const char *pass, size_t n);

#endif
