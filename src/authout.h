/* authout.h — what an --authcmd authorizer prints on stdout. Pure: no I/O
 * (the caller feeds the pipe's bytes in pieces of any size).
 *
 * The output is lines (LF or CRLF; the last may lack its LF; empty lines
 * are skipped), each one of:
 *   NAME=value     a variable for the program's environment. NAME is
 *                  [A-Za-z_][A-Za-z0-9_]*, at most 128 bytes; value has no
 *                  control character but tab. REMOTE_USER=name sets the
 *                  user (also logged: user:'name'); AUTH_TYPE=scheme its
 *                  scheme. Names wsd sets itself (REMOTE_ADDR, HTTP_*, the
 *                  other CGI variables, see authout.c) and loader variables
 *                  (LD_*) may not be set.
 *   Status: NNN    with a refusal (non-zero exit): the HTTP status to
 *                  answer, 400 to 599 (default 403). Ignored on success.
 * At most WSD_AUTHOUT_MAX bytes and WSD_AUTHOUT_VARS variables. Anything
 * else — a line of another form, a reserved name, a control byte, too much
 * — makes the output GARBAGE: the request is refused whatever the exit
 * status, and `err` says why (for the log). */
#ifndef WSD_AUTHOUT_H
#define WSD_AUTHOUT_H

#include <stddef.h>

#define WSD_AUTHOUT_MAX (16 * 1024)
#define WSD_AUTHOUT_VARS 64
#define WSD_AUTHOUT_LINE 4096

enum { WSD_AUTHOUT_OK = 0, WSD_AUTHOUT_GARBAGE = -1 };

typedef struct wsd_authout wsd_authout;

wsd_authout *wsd_authout_new(void);
void wsd_authout_free(wsd_authout *a);

/* Feeds the next bytes. OK, or GARBAGE (sticky; further bytes are
 * ignored). */
int wsd_authout_feed(wsd_authout *a, const char *data, size_t n);
/* End of output. OK or GARBAGE. */
int wsd_authout_end(wsd_authout *a);

/* After a successful end: */
int wsd_authout_status(const wsd_authout *a);           /* 0 if no Status line */
const char *wsd_authout_user(const wsd_authout *a);     /* REMOTE_USER or NULL */
const char *wsd_authout_auth_type(const wsd_authout *a);/* AUTH_TYPE or NULL */
/* The other variables: a NULL-terminated array of "NAME=value" strings in
 * one allocation (release with free()), the caller's; NULL when none. */
char **wsd_authout_take_env(wsd_authout *a);
/* After GARBAGE: why, one line (static or inside a). */
const char *wsd_authout_error(const wsd_authout *a);

#endif
