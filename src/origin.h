/* origin.h — websocketd's Origin check for --origin and --sameorigin
 * (reference §5 "Origin", §7 item 6). Pure: no I/O.
 *
 * The Origin header is read as websocketd reads it:
 *   - missing or empty → "file:"; "null" → "file:" only without --origin;
 *   - then parsed as Go's url.ParseRequestURI would (same error texts).
 *     A malformed Origin is rejected only when --origin or --sameorigin is
 *     configured (deliberate: websocketd rejects `Origin: foo` even on an
 *     unrestricted server).
 * --sameorigin: the Origin's host and port equal the Host header's. Origin
 *   ports default to 443 for https origins, else 80; Host's to 80, or 443 on
 *   TLS.
 * --origin=a,b,...: any entry may match. `scheme://host[:port]` requires the
 *   scheme; `host[:port]` accepts any scheme (as websocketd: `ws://`, `file:`
 *   … too, not only http and https). No port → any port; an explicit port,
 *   :80 included → exactly that port.
 * Both flags → both must pass (--sameorigin is checked first, as websocketd).
 *
 * Deliberate differences from websocketd 0.4.1:
 *   - host names compare case-insensitively (websocketd: case-sensitive);
 *   - IPv6 literals compare without their brackets and by address, so
 *     `[::1]` (port-less) equals `[::1]:80` and `[0::1]`;
 *   - ports compare as numbers ("080" = "80"); an empty port ("host:") is
 *     the default port;
 *   - --origin entries are trimmed of spaces; empty entries are skipped;
 *     entries shorter than 3 characters are plain hosts (websocketd panics);
 *     a trailing "/" after `scheme://host[:port]` is ignored; an entry that
 *     can never match (bad port, bad characters, a path, bare IPv6) makes
 *     wsd_origin_new fail (websocketd skips it silently);
 *   - the origin association for the log keeps the Origin as sent, only the
 *     scheme lower-cased (websocketd logs Go's URL.String(), which may
 *     re-escape a path). */
#ifndef WSD_ORIGIN_H
#define WSD_ORIGIN_H

#include <stddef.h>

#include "util.h"

typedef struct wsd_origin_policy wsd_origin_policy;

/* Compiles the --origin list (NULL or "" = no list) and --sameorigin once at
 * start-up. Returns the policy, or NULL with *err set to a malloc'd one-line
 * message ("--origin: ...") for an unusable list; the caller frees *err. */
wsd_origin_policy *wsd_origin_new(const char *list, int sameorigin, char **err);
void wsd_origin_free(wsd_origin_policy *p);

/* Is any restriction configured (--origin or --sameorigin)? */
int wsd_origin_restricted(const wsd_origin_policy *p);

/* Checks one upgrade. origin/origin_len: the Origin header value (origin ==
 * NULL: no header); host/host_len: the Host header value (NULL: none);
 * is_tls: the connection is TLS. Returns 1 if allowed, 0 if not (→ 403).
 * When not allowed, websocketd's ACCESS log text is appended to `reason`
 * (may be NULL): "Origin is not listed in allowed list", "Same origin policy
 * mismatch", "Origin parsing error: parse \"foo\": invalid URI for request",
 * "Origin hostname parsing error: ...", "Request hostname parsing error: ...".
 * `log_origin` (may be NULL) receives the value for the `origin:'…'` log
 * association: "file:" for a missing, empty, or (without --origin) "null"
 * Origin, else the Origin with its scheme lower-cased. Both are raw bytes:
 * escape them for the log. */
int wsd_origin_check(const wsd_origin_policy *p, const char *origin, size_t origin_len,
                     const char *host, size_t host_len, int is_tls,
                     wsd_str *reason, wsd_str *log_origin);

#endif
