/* inetd.h — --inetd: one connection per wsd process, given rather than
 * accepted, as inetd, xinetd, `socat ... EXEC:` and systemd's Accept=yes
 * sockets give it: on stdin (and stdout), or with systemd's Accept=yes as
 * descriptor 3 (LISTEN_FDS=1, a connected socket). It must be a stream
 * socket (TCP or Unix; not a pipe or a terminal). The connection is served
 * as any other (HTTP, WebSocket, TLS with --ssl, a program of its own), and
 * wsd exits when it has ended, program included.
 *
 * Since stdout is the connection, log lines go to stderr — unless stderr
 * is the connection too (plain inetd), then nowhere. stdin and stdout are
 * put on /dev/null so nothing else can write into the connection. */
#ifndef WSD_INETD_H
#define WSD_INETD_H

#include "conn.h"

/* Before anything is logged: finds the connection and moves it off stdin
 * and stdout. Returns its descriptor (close-on-exec, above 2), or -1 after
 * a one-line error on stderr ("wsd: --inetd: ..."). *is_unix: AF_UNIX. */
int wsd_inetd_prepare(int *is_unix);

/* Serves it in srv's loop; the loop ends with it. 0 or -1 (logged). */
int wsd_inetd_start(server *srv, int fd, int is_unix);

#endif
