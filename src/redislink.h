/* redislink.h — shared mode across machines (--redis): one wsd runs the
 * shared program, any number of edges (--sharededge) serve its clients, and
 * Redis pub/sub carries what the cores and fans of hubcore.h say to each
 * other, in linkproto.h's messages inside a versioned envelope.
 *
 * Channels (P: --redischannel, default "wsd"):
 *   P:<endpoint>   the program's wsd → edges: the program's output (FRAMES:
 *                  whole messages only), CLOSE, STARTED, ENDED. <endpoint> is
 *                  "/" for COMMAND, the script's path under --dir ("/chat.py")
 *   P:in           edges → the program's wsd: JOIN, LEAVE, INPUT, and BEAT
 *                  every second, SYNC around a full list of JOINs, BYE
 *   P:ctl          the program's wsd → edges: REJOIN (send your SYNC)
 *   P:ping:<hex>   each process to itself: the link is alive
 *
 * Redis pub/sub delivers at most once: whatever is published while a
 * subscriber is not connected is lost to it. Every payload carries its
 * sender's instance and sequence number, so a subscriber drops anything it
 * would take twice or out of order (none is expected) and logs what it
 * missed; payloads hold whole messages only, so a client never gets half of
 * one. Clients stay connected through any outage; each process reconnects
 * with backoff (100 ms doubling to 1 s), logs the loss once and the return,
 * and after it: edges SYNC their clients again, the program's wsd asks every
 * edge for its SYNC. An edge silent for 5 s is taken for dead by the
 * program's wsd (its clients leave, 1006).
 *
 * hiredis (Debian 0.14.1) with its libuv adapter: one connection publishes,
 * one subscribes. The adapter's poll callback drops libuv's error status
 * (POLLERR: a refused connect, a reset) and hiredis then never learns of
 * it; it is replaced by the one hiredis 1.0 has (commit 9ce15c4, passing the
 * error on as readiness, so hiredis reads the error itself).
 *
 * One process plays one role: the program's wsd (the process that runs the
 * cores: the only one, or the hub process with --workers) or an edge (each
 * worker links itself). Not re-entrant: callbacks come from the top of a
 * libuv callback. */
#ifndef WSD_REDISLINK_H
#define WSD_REDISLINK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cfgsnap.h"
#include "config.h"

/* ---- the program's wsd ---------------------------------------------------
 * Start after wsd_core_start_always (the COMMAND's core is attached to
 * Redis at once; a --dir script's at its first client on an edge). Stop
 * before the cores are shut down (no ENDED goes out: edges keep their
 * clients while this wsd restarts); free after the loop. Shares the
 * server's endpoint (COMMAND or --dir of snap->cfg; --config routes stay
 * local) and holds a reference to snap: a reload cannot change what the
 * link was started with (--redis, --redischannel, --sharededge take a
 * restart). */
void wsd_redis_origin_start(uv_loop_t *loop, wsd_cfgsnap *snap, int worker);
void wsd_redis_origin_stop(void);

/* ---- an edge -------------------------------------------------------------
 * key: shared.c's key of the server's endpoint: "<endpoint key>\n" and
 * then "" for COMMAND or the --dir script's real path. */
typedef struct {
    /* frames of whole messages for the members named (to NULL: all) */
    void (*frames)(const char *key, const uint8_t *p, size_t n, const char *const *to, size_t nto);
    /* the program closes member id */
    void (*close_member)(const char *key, const char *id, unsigned code, const char *reason);
    /* the program of key could not be started */
    void (*ended)(const char *key, int failed);
    /* key's channel is subscribed (or the link is down): its members
     * waiting for that get their 101 */
    void (*subscribed)(const char *key);
    /* call wsd_redis_edge_rejoin for every member, pending ones too */
    void (*resync)(void);
    /* clients' messages wait for Redis (1: hold the members' reads) or
     * have room again (0) */
    void (*backpressure)(int full);
} wsd_redis_edge_handler;

int wsd_redis_edge_start(uv_loop_t *loop, wsd_cfgsnap *snap, int worker,
                         const wsd_redis_edge_handler *h);
void wsd_redis_edge_stop(void);
/* A member joins key: 0 when it may get its 101 now (subscribed, or the
 * link is down: it gets messages once it is back), 1 when h->subscribed
 * follows. joinrec: addressed mode's join record (NULL otherwise). */
int wsd_redis_edge_join(const char *key, const char *id, const char *joinrec, size_t len);
void wsd_redis_edge_rejoin(const char *key, const char *id, const char *joinrec, size_t len);
void wsd_redis_edge_leave(const char *key, const char *id, int code);
/* A whole message of member id (dropped while the link is down). */
void wsd_redis_edge_input(const char *key, const char *id, int opcode, const void *p, size_t n);
int wsd_redis_edge_full(void);

/* After the loop has ended: everything left (either role). */
void wsd_redis_free(void);

#endif
