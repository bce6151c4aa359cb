/* clients.h — per-client limits (--maxperip, --ratelimit/--rateburst) in a
 * table of fixed size. Pure: no I/O; the caller passes the time.
 *
 * A client is an address: IPv4 as is, IPv6 by its /64 (one subscriber's
 * usual allocation: an attacker with a /64 has 2^64 addresses), anything
 * else (a Unix socket peer) one shared key. Per client the table keeps
 *   - the connections counted now (acquire/release), at most `maxconn`;
 *   - a token bucket: `burst` tokens, refilled at `rate` per minute; a
 *     request that finds it empty is refused, told when the next token
 *     comes (Retry-After).
 * The table holds at most `capacity` clients: a new one takes the place of
 * the least recently seen client that holds no connection (its bucket is
 * forgotten: it starts full again). When every entry holds a connection the
 * new client is refused (FULL) — so an attacker with a million addresses
 * cannot grow the table, and can only push out idle clients' buckets.
 * Memory: 48 bytes per entry plus 8 per hash bucket, allocated once. */
#ifndef WSD_CLIENTS_H
#define WSD_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#define WSD_CLIENTS_CAPACITY 65536

typedef struct {
    uint8_t a[16];               /* IPv4-mapped, or the IPv6 /64 */
} wsd_client_key;

typedef struct wsd_clients wsd_clients;

enum {
    WSD_CLIENT_OK = 0,
    WSD_CLIENT_RATE = 1,         /* no token: retry later */
    WSD_CLIENT_BUSY = 2,         /* maxconn connections already */
    WSD_CLIENT_FULL = 3          /* the table is full of connected clients */
};

/* maxconn 0: no connection limit; rate 0: no rate limit (burst unused). */
wsd_clients *wsd_clients_new(uint32_t capacity, uint32_t maxconn, uint32_t rate_per_min,
                             uint32_t burst);
void wsd_clients_free(wsd_clients *t);

/* The key of an address as text ("192.0.2.1", "2001:db8::1", "unix-socket"). */
void wsd_clients_key(const char *addr, wsd_client_key *k);

/* A request from k at now_ms (a monotonic clock). take: it costs a token
 * (a handshake, a failed login), else it only needs one to be left.
 * RATE with *retry_s (seconds until a token, >= 1), or OK. */
int wsd_clients_rate(wsd_clients *t, const wsd_client_key *k, uint64_t now_ms, int take,
                     uint32_t *retry_s);
/* A connection from k: counted, *slot set (> 0), or BUSY / FULL. */
int wsd_clients_acquire(wsd_clients *t, const wsd_client_key *k, uint64_t now_ms,
                        uint32_t *slot);
/* That connection has ended (slot 0: nothing). */
void wsd_clients_release(wsd_clients *t, uint32_t slot);
/* Does the slot count k? */
int wsd_clients_slot_is(const wsd_clients *t, uint32_t slot, const wsd_client_key *k);

/* Entries in use, and connections counted (tests, the status line). */
uint32_t wsd_clients_used(const wsd_clients *t);
uint64_t wsd_clients_conns(const wsd_clients *t);

#endif
