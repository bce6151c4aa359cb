/* authout.c — an --authcmd authorizer's output (see authout.h). */
#include "authout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct wsd_authout {
    char line[WSD_AUTHOUT_LINE + 1];
    size_t len;
    size_t total;
    int garbage;
    int overlong;
    int status;
    char *user, *auth_type;
    char *vars[WSD_AUTHOUT_VARS];
    size_t nvars;
    char err[160];
};

/* Names wsd sets itself (env.c, cgi.c), and variables that make a loader
 * or an interpreter run something at start-up: not the authorizer's to set.
 * (REMOTE_USER and AUTH_TYPE are set through it on purpose.) */
static const char *const reserved[] = {
    "SERVER_SOFTWARE", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "GATEWAY_INTERFACE",
    "REQUEST_METHOD", "REQUEST_URI", "SCRIPT_NAME", "SCRIPT_FILENAME", "PATH_INFO",
    "PATH_TRANSLATED", "QUERY_STRING", "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_PORT",
    "REMOTE_IDENT", "CONTENT_LENGTH", "CONTENT_TYPE", "UNIQUE_ID", "HTTPS", "WEBSOCKET_PROTOCOL",
    "DOCUMENT_ROOT", "REDIRECT_STATUS", "PATH", "IFS", "ENV", "BASH_ENV", "SHELLOPTS",
    "BASHOPTS", "PERL5OPT", "PERL5LIB", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME",
    "NODE_OPTIONS", "GCONV_PATH", "HOSTALIASES", "TMPDIR",
};
static const char *const reserved_prefix[] = {"HTTP_", "LD_", "MALLOC_", "BASH_FUNC_"};

wsd_authout *wsd_authout_new(void)
{
    return xcalloc(1, sizeof(wsd_authout));
}

void wsd_authout_free(wsd_authout *a)
{
    size_t i;
    if (!a)
        return;
    for (i = 0; i < a->nvars; i++)
        free(a->vars[i]);
    free(a->user);
    free(a->auth_type);
    free(a);
}

static int garbage(wsd_authout *a, const char *fmt, const char *what, size_t n)
{
    if (!a->garbage) {
        char sample[48];
        size_t i, k = n < 40 ? n : 40;
        for (i = 0; i < k; i++) {
            unsigned char c = (unsigned char)what[i];
            sample[i] = c >= 0x20 && c < 0x7f && c != '\'' && c != '\\' ? (char)c : '?';
        }
        sample[k] = '\0';
        snprintf(a->err, sizeof a->err, fmt, sample);
        a->garbage = 1;
    }
    return WSD_AUTHOUT_GARBAGE;
}

static int name_ok(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || n > 128 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

static int is_reserved(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strlen(reserved[i]) == n && memcmp(reserved[i], s, n) == 0)
            return 1;
    for (i = 0; i < sizeof reserved_prefix / sizeof reserved_prefix[0]; i++) {
        size_t k = strlen(reserved_prefix[i]);
        if (n >= k && memcmp(reserved_prefix[i], s, k) == 0)
            return 1;
    }
    return 0;
}

static int take_line(wsd_authout *a)
{
    const char *l = a->line, *eq;
    size_t n = a->len, i;

    if (a->overlong)
        return garbage(a, "a line longer than 4096 bytes ('%s...')", l, 40);
    if (n > 0 && l[n - 1] == '\r')
        n--;
    if (n == 0)
        return WSD_AUTHOUT_OK;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)l[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return garbage(a, "a control character in '%s'", l, n);
    }
    if (n >= 7 && wsd_strncaseeq(l, 7, "status:")) {
        const char *d = l + 7;
        size_t dn = n - 7;
        d = wsd_trim_space(d, &dn);
        if (dn < 3 || d[0] < '4' || d[0] > '5' || d[1] < '0' || d[1] > '9' || d[2] < '0' ||
            d[2] > '9' || (dn > 3 && d[3] != ' '))
            return garbage(a, "a Status line that is not 400..599: '%s'", l, n);
        a->status = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
        return WSD_AUTHOUT_OK;
    }
    eq = memchr(l, '=', n);
    if (!eq || !name_ok(l, (size_t)(eq - l)))
        return garbage(a, "neither NAME=value nor Status: '%s'", l, n);
    if (is_reserved(l, (size_t)(eq - l)))
        return garbage(a, "sets a variable that is not the authorizer's: '%s'", l,
                       (size_t)(eq - l));
    if ((size_t)(eq - l) == 11 && memcmp(l, "REMOTE_USER", 11) == 0) {
        free(a->user);
        a->user = xstrndup(eq + 1, n - 12);
        return WSD_AUTHOUT_OK;
    }
    if ((size_t)(eq - l) == 9 && memcmp(l, "AUTH_TYPE", 9) == 0) {
        free(a->auth_type);
        a->auth_type = xstrndup(eq + 1, n - 10);
        return WSD_AUTHOUT_OK;
    }
    if (a->nvars == WSD_AUTHOUT_VARS)
        return garbage(a, "more than 64 variables (at '%s')", l, n);
    a->vars[a->nvars++] = xstrndup(l, n);
    return WSD_AUTHOUT_OK;
}

int wsd_authout_feed(wsd_authout *a, const char *data, size_t n)
{
    size_t i;

    if (a->garbage)
        return WSD_AUTHOUT_GARBAGE;
    for (i = 0; i < n; i++) {
        if (++a->total > WSD_AUTHOUT_MAX)    /* counted per byte: the first fault wins */
            return garbage(a, "more than 16384 bytes of output%s", "", 0);
        if (data[i] == '\n') {
            if (take_line(a) != WSD_AUTHOUT_OK)
                return WSD_AUTHOUT_GARBAGE;
            a->len = 0;
            a->overlong = 0;
        } else if (a->len < WSD_AUTHOUT_LINE) {
            a->line[a->len++] = data[i];
        } else {
            a->overlong = 1;
        }
    }
    return WSD_AUTHOUT_OK;
}

int wsd_authout_end(wsd_authout *a)
{
    if (a->garbage)
        return WSD_AUTHOUT_GARBAGE;
    if ((a->len > 0 || a->overlong) && take_line(a) != WSD_AUTHOUT_OK)
        return WSD_AUTHOUT_GARBAGE;
    a->len = 0;
    return WSD_AUTHOUT_OK;
}

int wsd_authout_status(const wsd_authout *a)
{
    return a->status;
}

const char *wsd_authout_user(const wsd_authout *a)
{
    return a->user;
}

const char *wsd_authout_auth_type(const wsd_authout *a)
{
    return a->auth_type;
}

char **wsd_authout_take_env(wsd_authout *a)
{
    size_t total = 0, i;
    char **out, *dst;

    if (a->nvars == 0)
        return NULL;
    for (i = 0; i < a->nvars; i++)
        total += strlen(a->vars[i]) + 1;
    out = xmalloc((a->nvars + 1) * sizeof *out + total);
    dst = (char *)(out + a->nvars + 1);
    for (i = 0; i < a->nvars; i++) {
        size_t k = strlen(a->vars[i]) + 1;
        memcpy(dst, a->vars[i], k);
        out[i] = dst;
        dst += k;
        free(a->vars[i]);
    }
    out[a->nvars] = NULL;
    a->nvars = 0;
    return out;
}

const char *wsd_authout_error(const wsd_authout *a)
{
    return a->err;
}
