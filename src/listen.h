/* listen.h — the listening sockets: where they come from, what each one
 * serves, which worker accepts on it, and how they pass to a new binary.
 * No libuv: the --workers supervisor holds them without an event loop; each
 * worker (or the one process) gives the ones it serves to libuv (server.c).
 *
 * Where they come from (wsd_listen_take, else wsd_listen_bind):
 *   - passed in, as systemd's socket activation passes them (LISTEN_FDS,
 *     LISTEN_PID, LISTEN_FDNAMES; descriptors from 3 up), read through
 *     libsystemd's sd_listen_fds_with_names: by a .socket unit, or by the
 *     wsd being upgraded (takeover.h: it also sets WSD_UPGRADE). Then wsd
 *     binds nothing itself: --port, --address, --unixsocket and --redirport
 *     are not bound (--port still names the port in --redirport's
 *     redirects; --unixsocket's file is never removed unless a wsd bound
 *     it);
 *   - else bound from the flags: each --address (or all interfaces) on
 *     --port and --redirport, and --unixsocket.
 *
 * What a socket serves is its name (LISTEN_FDNAMES, systemd's
 * FileDescriptorName=):
 *   ws        WebSocket and HTTP, TLS with --ssl. Also an unnamed socket:
 *             systemd's default names "unknown" and "<unit>.socket".
 *   http      the same, never TLS (a plain socket beside TLS ones, e.g. for
 *             a proxy on the same host).
 *   redirect  --redirport's role: every request gets a 301 to the canonical
 *             URL (https with --ssl), on --port.
 *   metrics   --metrics' role: /metrics and /health only (monitor.c). When
 *             sockets are passed in without one, wsd binds --metrics itself.
 * Any other name is refused at start-up (exit 3).
 *
 * Which worker accepts where (--workers=N): the process that set them up
 * (the supervisor) keeps every socket open; each worker accepts on its
 * share. Sockets of the same name and local address form a group: wsd binds
 * N of them per address with SO_REUSEPORT (the kernel spreads connections
 * over the group), one per worker. In a group of k sockets, socket j is
 * worker w's when j % N == w (k >= N), or when w % k == j (k < N): one
 * socket alone (systemd's, a Unix socket) is shared by every worker. Since
 * the supervisor holds them, a worker that dies and is restarted finds the
 * connections that arrived meanwhile still waiting in its socket's queue,
 * and an upgrade hands the same sockets (the same accept queues) on, so no
 * connection is refused or reset. */
#ifndef WSD_LISTEN_H
#define WSD_LISTEN_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

enum wsd_listen_kind {
    WSD_LISTEN_WS,               /* "ws" */
    WSD_LISTEN_HTTP,             /* "http": never TLS */
    WSD_LISTEN_REDIRECT,         /* "redirect" */
    WSD_LISTEN_METRICS           /* "metrics": --metrics (monitor.c), never TLS */
};

enum wsd_listen_from {
    WSD_LISTEN_FLAGS,            /* bound by this wsd */
    WSD_LISTEN_SYSTEMD,          /* socket activation */
    WSD_LISTEN_UPGRADE           /* from the wsd this one replaces */
};

typedef struct {
    int fd;                      /* -1 once given away or closed */
    int kind;                    /* enum wsd_listen_kind */
    int is_unix;                 /* AF_UNIX, else TCP */
    int group, index, group_size;   /* see above */
    char where[160];             /* "127.0.0.1:8080", "[::1]:80", "unix:/run/wsd.sock" */
} wsd_listener;

typedef struct wsd_listen_set {
    wsd_listener *v;
    size_t n;
    int from;                    /* enum wsd_listen_from */
    int unix_owned;              /* --unixsocket's file: this wsd removes it at exit */
    char *unix_path;             /* that file's path (owned), when unix_owned */
    int ready_fd;                /* WSD_LISTEN_UPGRADE: the old wsd waits on it (takeover.h); else -1 */
    pid_t predecessor;           /* WSD_LISTEN_UPGRADE: the old wsd, our parent then; else 0 */
    int predecessor_told;        /* it was sent SIGTERM (takeover.h) */
} wsd_listen_set;

/* Takes the sockets passed in (systemd, an upgrade), zeroing *s first.
 * 1: taken, 0: none were passed, -1: unusable (a FATAL line in the log
 * says why: a descriptor that is not a listening stream socket, an
 * unknown name; exit 3). */
int wsd_listen_take(wsd_listen_set *s, const wsd_config *cfg);

/* Binds the flags' sockets for `nworkers` event-loop processes (when
 * wsd_listen_take found none), zeroing *s first. 0, or -1 after a FATAL
 * line in the log:
 * an address in use (Go's words), a port below 1024 without the
 * privilege, an unknown host, a live --unixsocket (exit 3). */
int wsd_listen_bind(wsd_listen_set *s, const wsd_config *cfg, int nworkers);

/* --metrics given and no "metrics" socket among those taken: binds it
 * (a SO_REUSEPORT group for nworkers) as wsd_listen_bind would. 0 or -1
 * after a FATAL line. */
int wsd_listen_bind_metrics(wsd_listen_set *s, const wsd_config *cfg, int nworkers);

/* Whether worker w of nworkers accepts on s->v[i]. */
int wsd_listen_serves(const wsd_listen_set *s, size_t i, int w, int nworkers);

/* A name of wsd_listen_kind, as in LISTEN_FDNAMES. */
const char *wsd_listen_kind_name(int kind);

/* "wss", "ws" or "http" for the start-up line of s->v[i]. */
const char *wsd_listen_scheme(const wsd_listener *l, const wsd_config *cfg);

/* Closes every descriptor still held (this process's copies: the sockets
 * live on in any other process holding them). */
void wsd_listen_close(wsd_listen_set *s);

/* Removes --unixsocket's file if this wsd owns it (once). */
void wsd_listen_unlink(wsd_listen_set *s);

/* Frees the set (closing what is still held). */
void wsd_listen_free(wsd_listen_set *s);

#endif
