/* redisurl.h — the --redis URL. Pure: no I/O.
 *
 *   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]
 *
 * HOST is a name, an IPv4 address or a bracketed IPv6 address ([::1]);
 * PORT 1..65535 (default 6379); DB 0..2147483647 (default 0; Redis pub/sub
 * ignores it: channels are global to a server). USER and PASSWORD may hold
 * %XX escapes (an '@', ':' or '/' in a password must be written %40, %3A,
 * %2F), decoded here; neither may decode to a NUL or a control character.
 * Nothing else is accepted: no query, no fragment, no other scheme
 * (rediss://, TLS, is refused by name: hiredis 0.14 has no TLS). */
#ifndef WSD_REDISURL_H
#define WSD_REDISURL_H

#define WSD_REDIS_HOST_MAX 256
#define WSD_REDIS_CRED_MAX 512

typedef struct {
    char host[WSD_REDIS_HOST_MAX];        /* without brackets */
    unsigned port;
    char user[WSD_REDIS_CRED_MAX];        /* "" when none (AUTH with the password alone) */
    char password[WSD_REDIS_CRED_MAX];
    int has_password;                     /* AUTH is sent */
    long db;                              /* SELECT is sent when > 0 */
} wsd_redis_url;

/* Parses the NUL-terminated s into *u. Returns 0, or -1 with *why set to
 * a static sentence saying what is wrong. */
int wsd_redis_url_parse(const char *s, wsd_redis_url *u, const char **why);

/* "HOST:PORT" (IPv6 bracketed) for log lines: never the credentials. */
void wsd_redis_url_where(const wsd_redis_url *u, char *out, unsigned cap);

#endif
