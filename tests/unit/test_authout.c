/* test_authout.c — an --authcmd authorizer's output (src/authout.c):
 * variables, REMOTE_USER / AUTH_TYPE, Status, and every kind of garbage;
 * each output fed whole and split at every point. */
#include "authout.h"
#include "harness.h"

#include <stdlib.h>

typedef struct {
    int rc, status;
    char user[64], type[64];
    char env[512];               /* the variables joined with '|' */
    char err[160];
} res;

static res run(const char *s, size_t n, size_t cut)
{
    wsd_authout *a = wsd_authout_new();
    res r;
    char **env;
    size_t i;

    memset(&r, 0, sizeof r);
    r.rc = wsd_authout_feed(a, s, cut);
    if (r.rc == WSD_AUTHOUT_OK)
        r.rc = wsd_authout_feed(a, s + cut, n - cut);
    if (r.rc == WSD_AUTHOUT_OK)
        r.rc = wsd_authout_end(a);
    if (r.rc == WSD_AUTHOUT_OK) {
        r.status = wsd_authout_status(a);
        snprintf(r.user, sizeof r.user, "%s", wsd_authout_user(a) ? wsd_authout_user(a) : "-");
        snprintf(r.type, sizeof r.type, "%s",
                 wsd_authout_auth_type(a) ? wsd_authout_auth_type(a) : "-");
        env = wsd_authout_take_env(a);
        for (i = 0; env && env[i]; i++) {
            strncat(r.env, env[i], sizeof r.env - strlen(r.env) - 2);
            strcat(r.env, "|");
        }
        free(env);
    } else {
        snprintf(r.err, sizeof r.err, "%s", wsd_authout_error(a));
    }
    wsd_authout_free(a);
    return r;
}

static res all(const char *s, const char *name)
{
    size_t n = strlen(s), k;
    res whole = run(s, n, n);
    int same = 1;
    for (k = 0; k <= n; k++) {
        res r = run(s, n, k);
        if (memcmp(&r, &whole, sizeof r) != 0)
            same = 0;
    }
    ok(same, "%s: the same at every split", name);
    return whole;
}

static void good(const char *s, const char *user, const char *type, const char *env, int status)
{
    res r = all(s, s);
    is_int(r.rc, WSD_AUTHOUT_OK, "'%s' accepted", s);
    is_str(r.user, user, "  REMOTE_USER");
    is_str(r.type, type, "  AUTH_TYPE");
    is_str(r.env, env, "  variables");
    is_int(r.status, status, "  status");
}

static void garbage(const char *s, const char *why)
{
    res r = all(s, why);
    ok(r.rc == WSD_AUTHOUT_GARBAGE && strstr(r.err, why), "garbage: %s (%s)", why, r.err);
}

int main(void)
{
    good("", "-", "-", "", 0);
    good("REMOTE_USER=alice\n", "alice", "-", "", 0);
    good("REMOTE_USER=alice\nUSER_ID=42\nAUTH_TYPE=Bearer\nROLE=admin", "alice", "Bearer",
         "USER_ID=42|ROLE=admin|", 0);
    good("USER_ID=42\r\n\r\n\nTEAM=a=b c\t d\n", "-", "-", "USER_ID=42|TEAM=a=b c\t d|", 0);
    good("Status: 401\n", "-", "-", "", 401);
    good("status:429 Too Many\nX=1\n", "-", "-", "X=1|", 429);
    good("_X9=\n", "-", "-", "_X9=|", 0);
    good("REMOTE_USER=a\nREMOTE_USER=b\n", "b", "-", "", 0);

    garbage("hello\n", "neither NAME=value nor Status");
    garbage("=x\n", "neither NAME=value");
    garbage("9X=1\n", "neither NAME=value");
    garbage("A-B=1\n", "neither NAME=value");
    garbage("REMOTE_ADDR=1.2.3.4\n", "not the authorizer's");
    garbage("HTTP_HOST=evil\n", "not the authorizer's");
    garbage("LD_PRELOAD=/tmp/x.so\n", "not the authorizer's");
    garbage("PATH=/tmp\n", "not the authorizer's");
    garbage("BASH_ENV=/tmp/x\n", "not the authorizer's");
    garbage("X=a\001b\n", "control character");
    garbage("X=a\033[31m\n", "control character");
    garbage("Status: 200\n", "not 400..599");
    garbage("Status: 600\n", "not 400..599");
    garbage("Status: 40x\n", "not 400..599");
    garbage("Status: 4011\n", "not 400..599");
    garbage("Status:\n", "not 400..599");
    {
        char big[5000];
        memset(big, 'A', sizeof big);
        memcpy(big, "X=", 2);
        big[sizeof big - 1] = '\0';
        garbage(big, "longer than 4096");
    }
    {
        static char big[20000];
        size_t i;
        for (i = 0; i + 12 < sizeof big; i += 12)
            memcpy(big + i, "Status: 401\n", 12);   /* each line is fine */
        big[i] = '\0';
        garbage(big, "more than 16384 bytes");
    }
    {
        char many[2000] = "";
        int i;
        for (i = 0; i < 65; i++)
            sprintf(many + strlen(many), "V%d=1\n", i);
        garbage(many, "more than 64 variables");
    }
    return done_testing();
}
