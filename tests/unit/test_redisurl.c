/* test_redisurl.c — the --redis URL (src/redisurl.c): every part, the
 * defaults, percent-decoded credentials, and each refusal with its reason;
 * every prefix of a valid URL is either valid or refused (never a crash). */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "redisurl.h"

static wsd_redis_url u;

static const char *parse(const char *s)
{
    const char *why = NULL;
    return wsd_redis_url_parse(s, &u, &why) == 0 ? NULL : why;
}

#define GOOD(s, h_, p_, us_, pw_, haspw_, db_) do {                            \
        const char *rw_ = parse(s);                                             \
        ok(rw_ == NULL, "accepted: %s%s%s", s, rw_ ? " -- " : "", rw_ ? rw_ : ""); \
        is_str(u.host, h_, "  host");                                           \
        is_int(u.port, p_, "  port");                                           \
        is_str(u.user, us_, "  user");                                          \
        is_str(u.password, pw_, "  password");                                  \
        is_int(u.has_password, haspw_, "  has password");                       \
        is_int(u.db, db_, "  db");                                              \
    } while (0)

#define BAD(s, reason) do {                                                     \
        const char *rw_ = parse(s);                                              \
        ok(rw_ != NULL && strstr(rw_, reason) != NULL, "refused: %s (%s)", s,     \
           rw_ ? rw_ : "accepted");                                               \
    } while (0)

int main(void)
{
    char where[300];

    GOOD("redis://localhost", "localhost", 6379, "", "", 0, 0);
    GOOD("redis://127.0.0.1:6380", "127.0.0.1", 6380, "", "", 0, 0);
    GOOD("redis://127.0.0.1:6380/", "127.0.0.1", 6380, "", "", 0, 0);
    GOOD("redis://redis.example.com:6379/3", "redis.example.com", 6379, "", "", 0, 3);
    GOOD("redis://:s3cret@10.0.0.5:7000/0", "10.0.0.5", 7000, "", "s3cret", 1, 0);
    GOOD("redis://app:s3cret@10.0.0.5", "10.0.0.5", 6379, "app", "s3cret", 1, 0);
    GOOD("redis://:p%40ss%3Aw%2Fd@h", "h", 6379, "", "p@ss:w/d", 1, 0);
    GOOD("redis://:@h", "h", 6379, "", "", 1, 0);
    GOOD("redis://[::1]:6390/15", "::1", 6390, "", "", 0, 15);
    GOOD("redis://[2001:db8::7]", "2001:db8::7", 6379, "", "", 0, 0);
    GOOD("redis://h:65535/2147483647", "h", 65535, "", "", 0, 2147483647);
    GOOD("redis://a_b-c.d", "a_b-c.d", 6379, "", "", 0, 0);

    BAD("http://h", "must start with redis://");
    BAD("redis:/h", "must start with redis://");
    BAD("", "must start with redis://");
    BAD("rediss://h", "TLS");
    BAD("redis://", "no host");
    BAD("redis://:6379", "no host");
    BAD("redis://h:0", "port");
    BAD("redis://h:65536", "port");
    BAD("redis://h:", "port");
    BAD("redis://h:12x", "unexpected character");
    BAD("redis://h/x", "database");
    BAD("redis://h/-1", "database");
    BAD("redis://h/2147483648", "database");
    BAD("redis://h/1/2", "database");
    BAD("redis://h?db=1", "query");
    BAD("redis://h#x", "query or fragment");
    BAD("redis://pw@h", "credentials must be");
    BAD("redis://:a%4@h", "two hex digits");
    BAD("redis://:a%zz@h", "two hex digits");
    BAD("redis://:a%00b@h", "control character");
    BAD("redis://:a%0ab@h", "control character");
    BAD("redis://[::1", "closing ']'");
    BAD("redis://[]", "IPv6");
    BAD("redis://[::g]", "IPv6");
    BAD("redis://h h", "unexpected character");
    {
        char longhost[400];
        memset(longhost, 'a', sizeof longhost);
        memcpy(longhost, "redis://", 8);
        longhost[sizeof longhost - 1] = '\0';
        BAD(longhost, "too long");
    }
    {
        char longpw[700] = "redis://:";
        memset(longpw + 9, 'p', 600);
        strcpy(longpw + 609, "@h");
        BAD(longpw, "credentials too long");
    }

    /* every prefix of a full URL: accepted or refused, never a crash */
    {
        const char *full = "redis://us%20er:p%40ss@[::1]:6390/15";
        char buf[64];
        size_t i, n = strlen(full);
        int answered = 1;
        for (i = 0; i <= n; i++) {
            const char *why = NULL;
            int rc;
            memcpy(buf, full, i);
            buf[i] = '\0';
            rc = wsd_redis_url_parse(buf, &u, &why);
            answered &= rc == 0 || (rc == -1 && why && *why);
        }
        ok(answered, "every prefix is accepted or refused with a reason");
        ok(parse(full) == NULL && strcmp(u.user, "us er") == 0, "the user is decoded");
    }

    parse("redis://:secret@[::1]:6390");
    wsd_redis_url_where(&u, where, sizeof where);
    is_str(where, "[::1]:6390", "where: bracketed IPv6, no credentials");
    parse("redis://:secret@cache:7000/2");
    wsd_redis_url_where(&u, where, sizeof where);
    is_str(where, "cache:7000", "where: host:port");
    return done_testing();
}
