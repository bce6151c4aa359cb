/* access.h — access control for every request (access.c; the threat model
 * and what each option does: docs/security.md). upgrade.c calls it between
 * the request head and whatever serves the request (WebSocket, console,
 * CGI, static files), in this order:
 *
 *   1. the client (wsd_access_client): from a peer in --trustproxy, the
 *      address, port, scheme and host its headers give (realip.h) become
 *      c->remote_ip, c->remote_port and c->access (REMOTE_ADDR, HTTPS, the
 *      log, the origin check, the limits below); from anyone else those
 *      headers change nothing. Malformed values are ignored, logged at
 *      debug.
 *   2. limits per client address (wsd_access_check; clients.h): a
 *      WebSocket handshake takes a token of --ratelimit's bucket, any
 *      request is refused while the bucket is empty (429 + Retry-After);
 *      the connection is counted under --maxperip (429 beyond it; the slot
 *      is freed when the connection ends, conn.c).
 *   3. authentication with the options of the request's route (--config:
 *      each route may have its own htpasswd, authcmd, authrealm,
 *      authtimeout, publicstatic; c->cfg), unless --publicstatic covers
 *      the request (a static
 *      file): --htpasswd (Basic: no or another scheme's credentials → 401
 *      with WWW-Authenticate, malformed → 400, wrong → 401 and a token of
 *      the rate bucket; the password is checked by crypt(3) in libuv's
 *      thread pool, never on the loop; a success is remembered for 5
 *      minutes as a keyed SHA-256, not the password), then --authcmd (a
 *      program run with the request's CGI environment and no stdin,
 *      counted in --maxforks, bounded by --authtimeout: exit 0 allows,
 *      its NAME=value lines join the program's environment; another exit
 *      refuses, 403 or its Status line; killed, too slow, too much or
 *      malformed output: 503 and an ERROR line). The user goes to
 *      REMOTE_USER/AUTH_TYPE and to the log as user:'name'.
 * While a check runs off the loop the client's reads are held
 * (WSD_HOLD_AUTH; the transport still notices the client leaving) and the
 * conn is referenced; the request goes on from the callback, with the
 * bytes that came behind its head. */
#ifndef WSD_ACCESS_H
#define WSD_ACCESS_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "conn.h"
#include "http.h"

/* Start-up, before the server (and its workers): loads --htpasswd. 0, or
 * -1 having printed why to err (exit 1: a bad file is a configuration
 * error, never a server open to all). */
int wsd_access_init(const wsd_config *cfg, FILE *err);
void wsd_access_free(void);

/* SIGHUP without --config: re-reads every --htpasswd file; a bad new file
 * is logged and the old table kept. Logs "nothing to reload" without
 * --htpasswd. */
void wsd_access_reload(void);

/* A --config reload (reload.c), before the new configuration n is made
 * current: the --htpasswd files it names (the server's and its routes')
 * are read — those read before again (a bad one keeps its table, logged),
 * new ones must load (else -1 with why in err: the reload is refused) —
 * and those it no longer names are dropped. 0 or -1. */
int wsd_access_reload_config(const wsd_config *n, char *err, size_t cap);

/* A new request head on c: resets c->access, then (--trustproxy) the
 * client behind a trusted peer. */
void wsd_access_client(conn *c, const wsd_request *r);

/* How the request goes on once allowed. */
typedef void (*wsd_access_next)(conn *c, const char *rest, size_t nrest);

/* Limits and authentication for r (rest[0..nrest) came after its head).
 * 0: allowed now, the caller goes on. 1: answered (refused), or a check
 * runs: `next` is called later if it allows the request. */
int wsd_access_check(conn *c, const wsd_request *r, const char *rest, size_t nrest,
                     wsd_access_next next);

#endif
