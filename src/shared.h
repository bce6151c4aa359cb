/* shared.h — one program for many clients (--shared): the hub.
 *
 * A hub is one endpoint's shared program (COMMAND, or one script under
 * --dir) and the clients attached to it, its members. The WebSocket
 * session of each client (session.c) embeds a wsd_member and talks to the
 * hub instead of a program of its own.
 *
 * Output: each read of the program's stdout is framed once (outframe.c,
 * or record.c with --lossless) into one reference-counted buffer, and the
 * same bytes go to every member (wsd_tp_send_buf: no copy per client).
 * With permessage-deflate the hub offers server_no_context_takeover, so a
 * message compresses the same for every client whose window size is the
 * same: it is compressed once per window size in use, not per client. A
 * member that joins while a message is being written starts with the next
 * message.
 *
 * Slow clients never hold anyone back: the program's stdout is always read;
 * what a member's transport does not take waits in that member's queue
 * (shared buffers, so memory is the furthest lag, not one copy per client).
 * Over --sharedqueue bytes the member is closed with 1008 ("client too
 * slow"), or with --shareddrop its oldest whole messages not yet started are
 * dropped and counted.
 *
 * Input: a member's message reaches the program's stdin whole, never
 * interleaved with another's: a message that arrives in one piece is written
 * at once, a fragmented or compressed one is assembled in the member
 * (bounded by --maxframesize, 64 MiB when that is 0) first. While the stdin
 * queue is full every member's reads are held (the session asks
 * wsd_hub_stdin_full); ops->stdin_ready tells each when it drains.
 *
 * Addressed mode (--shared --lossless, docs/lossless.md): stdin records
 * carry the sender (`text LEN from=ID`), the program is told of each member
 * joining (`join ID LEN` + its CGI variables) and leaving (`leave ID CODE`),
 * and its output records may name their recipients (`to=ID,...`) or close a
 * member (`close ID CODE LEN` + reason).
 *
 * Life: on demand (--shared), the program starts with the first member's
 * handshake and is ended (the WebSocket kill schedule) when the last member
 * leaves; when it exits by itself its output is delivered, then every member
 * gets the close frame that reports the exit (1000/1011). With
 * --sharedalways it starts with the server and is restarted when it exits,
 * after 100 ms doubling to 30 s while it keeps exiting within 10 s; members
 * stay connected meanwhile. Its environment has the server-level CGI
 * variables only. */
#ifndef WSD_SHARED_H
#define WSD_SHARED_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "program.h"
#include "route.h"
#include "transport.h"

typedef struct wsd_hub wsd_hub;
typedef struct wsd_member wsd_member;
typedef struct wsd_qitem wsd_qitem;

typedef struct {
    /* Close this client (the hub has already let it go). */
    void (*close)(wsd_member *m, uint16_t code, const char *reason);
    /* The program exited and all its output went out: the close frame that
     * says how (failed: 1, it could not be started; 2, the hub process was
     * lost); the hub has let the member go. */
    void (*program_ended)(wsd_member *m, int64_t exit_status, int term_signal, int failed);
    /* The program's stdin has room again: held input may go on. */
    void (*stdin_ready)(wsd_member *m);
    /* --workers: the hub process took the member (failed: it could not, or
     * the link is down) — the answer to wsd_hub_join returning 1. */
    void (*joined)(wsd_member *m, int pid, int failed);
} wsd_member_ops;

struct wsd_member {
    /* set by the owner before wsd_hub_join */
    wsd_transport *tp;
    const wsd_member_ops *ops;
    void *data;
    const char *id;              /* the connection id (UNIQUE_ID) */
    const wsd_config *cfg;       /* its connection's options (--sharedqueue, --shareddrop,
                                  * --maxframesize: each client keeps its own) */
    int zbits;                   /* permessage-deflate server window (8..15), 0: none */

    /* the hub's */
    wsd_hub *hub;
    wsd_member *prev, *next;
    wsd_qitem *qhead, *qtail;    /* frames waiting for the transport */
    size_t qbytes;
    uint64_t dropped;            /* messages dropped (--shareddrop) */
    unsigned awaiting_start : 1; /* skip to the next message that starts */
    unsigned pending : 1;        /* --workers: joined, waiting for the hub process's answer */
    unsigned assembling : 1;     /* a message for stdin is being assembled */
    char *joinrec;               /* addressed mode: its join record (kept for restarts) */
    size_t joinlen;
    char *msg;                   /* ... here */
    size_t msglen, msgcap;
};

/* The hub of an endpoint (cfgsnap.h: the server's or a route's, of the
 * snapshot snap, which the hub holds): its command when route is NULL,
 * else the --dir script; created when missing. Endpoints whose program
 * would be the same (the same key, across reloads too) share one hub. */
wsd_hub *wsd_hub_get(server *srv, wsd_cfgsnap *snap, const wsd_endpoint *ep,
                     const wsd_route *route);
/* Starts its program unless it runs: 0, or a negative errno (spawn). */
int wsd_hub_start(wsd_hub *h);
/* Its program's pid, or 0 when none runs (as last told, with --workers). */
int wsd_hub_pid(const wsd_hub *h);
/* Whether a member joining now needs no program started (counted in
 * --maxforks): it runs, or (--workers) the hub process runs it. */
int wsd_hub_running(const wsd_hub *h);

/* Attaches m. env: the member's CGI variables (NULL-terminated), for the
 * join record of addressed mode; borrowed. Returns 0 when m is a member
 * now (the 101 may go), 1 when the hub process must answer first
 * (--workers: ops->joined follows). */
int wsd_hub_join(wsd_hub *h, wsd_member *m, char *const *env);
/* Detaches m (idempotent); code: its close code, for the leave record.
 * On demand, the last member leaving ends the program. */
void wsd_hub_leave(wsd_member *m, int code);

/* A piece of one of m's messages, fin at its end. Returns 0, or -1 when
 * the message is over the limit (the caller closes with 1009). */
int wsd_hub_input(wsd_member *m, int opcode, const uint8_t *p, size_t n, int fin);
/* The program's stdin is full (the members' reads are held). */
int wsd_hub_stdin_full(const wsd_hub *h);
size_t wsd_hub_stdin_queued(const wsd_hub *h);
/* m's transport took some bytes: more of its queue may go. */
void wsd_hub_written(wsd_member *m);

/* --workers: this worker's link to the hub process (srv->hub_path). */
void wsd_hub_link_start(server *srv);
/* --sharedalways: starts the programs of the current snapshot's endpoints
 * with the server (and after a reload: those new, while those no longer
 * configured end when their last client leaves). */
void wsd_hub_start_always(server *srv);
/* A graceful shutdown: every program of this process is ended, no restart
 * (with --workers the hub process ends its own). */
void wsd_hub_shutdown_all(server *srv);
/* After the loop: frees what is left. */
void wsd_hub_free_all(server *srv);

#endif
