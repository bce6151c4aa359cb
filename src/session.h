/* session.h — the WebSocket session of one connection (session.c): frames
 * from the client → the program's stdin; the program's stdout (and, with
 * --passstderr, stderr) → frames to the client; pings, permessage-deflate,
 * --lossless records, the close handshake.
 *
 * Created by upgrade.c once the handshake is valid (ws_session_new), its
 * program started before the 101 (ws_session_spawn, so a program that
 * cannot start is an HTTP error, not a dropped connection), opened after
 * the 101 is queued (ws_session_open). It installs itself as the
 * connection's handler (conn.h): conn.c hands it the client's bytes and the
 * transport's events.
 *
 * Backpressure, both ways and independent:
 *   client → program: decoded payloads go to the program's stdin
 *     (program.c gathers one client read into one write); while the stdin
 *     queue is full (WSD_STDIN_HIGH) the rest of the read is held here
 *     (`rest`, and `zin` for compressed input already decoded) and the
 *     transport's reads are held (WSD_HOLD_STDIN), until the queue drains
 *     (below WSD_STDIN_LOW). Control frames are answered in between.
 *   program → client: while more than OUT_HIGH bytes wait for the client,
 *     the program's stdout (and, with --passstderr, stderr) is not read
 *     (its pipe fills and it blocks in write); reading resumes below
 *     OUT_LOW.
 *   a client that does not read: over OUT_HIGH queued, its own reads are
 *     held too (WSD_HOLD_OUTPUT) until the queue is below OUT_LOW; pongs are
 *     written while less than OUT_LOW waits, else only the most recent ping
 *     is answered once the queue drains (RFC 6455 §5.5.3): a ping flood
 *     costs one pending pong. */
#ifndef WSD_SESSION_H
#define WSD_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "conn.h"
#include "defer.h"
#include "outframe.h"
#include "pmd.h"
#include "program.h"
#include "record.h"
#include "route.h"
#include "shared.h"
#include "ws.h"

#define LOSSLESS_MAX (64u * 1024 * 1024)  /* --lossless reassembly when --maxframesize=0 */
#define TAG_LINE (64 * 1024)              /* --passstderr: bytes per tagged message */

typedef struct ws_session {
    conn *c;
    wsd_program *prog;           /* NULL before the spawn and once it is done */
    wsd_hub *hub;                /* --shared: the endpoint's hub (instead of prog) */
    wsd_member member;           /* --shared: this client in the hub, once open */
    char **joinenv;              /* --shared --lossless: its variables, until it joins */
    int close_code;              /* the client's close code (or ours on an error): leave records */
    void (*join_done)(conn *c, int failed);   /* --workers: the hub process's answer */
    wsd_route *route;            /* --dir: the script of this connection, else NULL */
    const char *subprotocol;     /* negotiated; points into the config */
    int mroute;                  /* its route's metrics slot (metrics.h), once open */
    int first_code;              /* the first close frame's code, either way (1005: none
                                  * in it); 0 before: the metrics' close code */

    /* frames */
    wsd_ws_decoder dec;          /* the client's frames */
    wsd_outframer of;            /* the program's stdout → frames */
    wsd_record_decoder *rec;     /* --lossless without --shared: the program's records
                                  * (allocated at the 101, else NULL: an idle shared
                                  * client carries no decoder it does not use) */
    unsigned spawned : 1;        /* a program was started */
    unsigned opened : 1;         /* the 101 is out */
    unsigned close_sent : 1, close_received : 1;
    unsigned out_paused : 1;     /* stdout not read: the client's queue is full */
    unsigned err_paused : 1;     /* --passstderr: stderr not read, the same */
    unsigned out_held : 1;       /* the client's reads held: its queue is full (WSD_HOLD_OUTPUT) */
    unsigned failed : 1;         /* a protocol error closed the session: input is discarded */
    unsigned pong_pending : 1;   /* a pong waits for the client's queue to drain */
    unsigned out_eof : 1, err_eof : 1;
    unsigned msg_streaming : 1;  /* --lossless: an unfragmented message is passing */
    unsigned held : 1;           /* input held back: WSD_HOLD_STDIN is set */

    /* permessage-deflate (pmd.c), when negotiated */
    unsigned pmd_on : 1;
    wsd_pmd *pmd;                /* allocated once negotiated (pmd_on), else NULL */
    uint32_t zutf8;              /* UTF-8 state of the text message being inflated */

    /* input held back while the program's stdin is full: the rest of a read
     * (not yet decoded) and the rest of a compressed chunk (decoded) */
    uint8_t *rest;
    size_t nrest;
    uint8_t *zin;
    size_t zinlen;
    int zfin, zop;
    wsd_deferred resume;         /* decode the held input later (defer.h) */

    char *msg;                   /* --lossless: a fragmented message being reassembled */
    size_t msglen, msgcap;

    /* --passstderr: the current line of stdout [0] and stderr [1] */
    char *tagline[2];
    size_t taglen[2];

    uint8_t *pong;               /* the most recent ping's payload (125 bytes, allocated
                                  * the first time a pong must wait), when pong_pending */
    uint8_t npong;

    uv_timer_t *ptimer;          /* --pingms (allocated only then) */

    struct wsd_term *term;       /* --pty: terminal mode (terminal.h), else NULL */
} ws_session;

/* The session, for a valid upgrade request (c->ws). */
ws_session *ws_session_new(conn *c);
/* Whether the session needs a program of its own started (counted in
 * --maxforks): not when it joins a shared program that runs. */
int ws_session_forks(conn *c);
/* Starts the program (or, --shared, makes sure the hub's runs): 0, or a
 * negative errno (wsd_spawn_strerror). */
int ws_session_spawn(conn *c, const wsd_request *r);
/* The pid of its program (shared or not), for the log. */
int ws_session_pid(conn *c);
/* --shared: joins the hub before the 101. 0: joined; 1: the hub process
 * answers later (--workers), through done(c, failed); -1: it cannot be
 * reached now (503). */
int ws_session_join(conn *c, void (*done)(conn *c, int failed));
/* The 101 is queued: frames flow; `rest` are bytes that came behind it. */
void ws_session_open(conn *c, const char *rest, size_t nrest);

#endif
