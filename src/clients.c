/* clients.c — per-client limits in a table of fixed size (see clients.h).
 *
 * Entries are numbered from 1 (0: none). Each is in one hash chain while in
 * use; an entry without connections is also in the LRU list (oldest at
 * `lru_head`), the only ones that may be evicted. Token buckets count in
 * 1/60000 of a token, so a rate per minute refills `rate` units a
 * millisecond, exactly. */
#include "clients.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define UNIT 60000u              /* one token */

typedef struct {
    wsd_client_key key;
    uint32_t hnext;              /* the hash chain */
    uint32_t prev, next;         /* the LRU list, while conns == 0 */
    uint32_t conns;
    uint32_t tokens;             /* in 1/UNIT tokens, at most burst * UNIT */
    uint64_t last;               /* when tokens were last refilled (ms) */
} entry;

struct wsd_clients {
    entry *e;                    /* e[0] unused */
    uint32_t cap, used;
    uint32_t *bucket;
    uint32_t nbuckets;           /* a power of two */
    uint32_t lru_head, lru_tail;
    uint32_t maxconn, rate, burst;
    uint64_t conns;
    uint64_t seed;
};

wsd_clients *wsd_clients_new(uint32_t capacity, uint32_t maxconn, uint32_t rate_per_min,
                             uint32_t burst)
{
    wsd_clients *t = xcalloc(1, sizeof *t);
    uint32_t nb = 1;

    if (capacity == 0)
        capacity = 1;
    while (nb < capacity && nb < (1u << 30))
        nb <<= 1;
    t->cap = capacity;
    t->e = xcalloc((size_t)capacity + 1, sizeof *t->e);
    t->bucket = xcalloc(nb, sizeof *t->bucket);
    t->nbuckets = nb;
    t->maxconn = maxconn;
    t->rate = rate_per_min;
    t->burst = burst == 0 ? 1 : burst > 10000 ? 10000 : burst;
    /* the chains' hash is keyed by where the table happens to live and a
     * constant: an attacker cannot aim addresses at one chain without
     * knowing it (nothing stronger is needed: chains are short) */
    t->seed = (uint64_t)(uintptr_t)t->e * 0x9E3779B97F4A7C15ull ^ 0x6a09e667f3bcc909ull;
    return t;
}

void wsd_clients_free(wsd_clients *t)
{
    if (!t)
        return;
    free(t->e);
    free(t->bucket);
    free(t);
}

void wsd_clients_key(const char *addr, wsd_client_key *k)
{
    uint8_t b[16];

    memset(k, 0, sizeof *k);
    if (inet_pton(AF_INET, addr, b) == 1) {
        k->a[10] = k->a[11] = 0xff;
        memcpy(k->a + 12, b, 4);
    } else if (inet_pton(AF_INET6, addr, b) == 1) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, mapped, 12) == 0)
            memcpy(k->a, b, 16);         /* IPv4 written as IPv6 */
        else
            memcpy(k->a, b, 8);          /* the /64 */
    }                                     /* else: all zero, one key */
}

static uint32_t hash(const wsd_clients *t, const wsd_client_key *k)
{
    uint64_t a, b, h;
    memcpy(&a, k->a, 8);
    memcpy(&b, k->a + 8, 8);
    h = (a ^ t->seed) * 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h = (h ^ b) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return (uint32_t)h & (t->nbuckets - 1);
}

static void lru_unlink(wsd_clients *t, uint32_t i)
{
    entry *x = &t->e[i];
    if (x->prev)
        t->e[x->prev].next = x->next;
    else
        t->lru_head = x->next;
    if (x->next)
        t->e[x->next].prev = x->prev;
    else
        t->lru_tail = x->prev;
    x->prev = x->next = 0;
}

static void lru_append(wsd_clients *t, uint32_t i)
{
    entry *x = &t->e[i];
    x->prev = t->lru_tail;
    x->next = 0;
    if (t->lru_tail)
        t->e[t->lru_tail].next = i;
    else
        t->lru_head = i;
    t->lru_tail = i;
}

static uint32_t find(const wsd_clients *t, const wsd_client_key *k)
{
    uint32_t i;
    for (i = t->bucket[hash(t, k)]; i; i = t->e[i].hnext)
        if (memcmp(t->e[i].key.a, k->a, 16) == 0)
            return i;
    return 0;
}

static void chain_remove(wsd_clients *t, uint32_t i)
{
    uint32_t *pp = &t->bucket[hash(t, &t->e[i].key)];
    while (*pp && *pp != i)
        pp = &t->e[*pp].hnext;
    if (*pp)
        *pp = t->e[i].hnext;
}

/* The entry of k, made (or taken over from the least recently seen idle
 * client) if needed; 0 when the table is full of connected clients. */
static uint32_t get(wsd_clients *t, const wsd_client_key *k, uint64_t now)
{
    uint32_t i = find(t, k), b;

    if (i) {
        if (t->e[i].conns == 0) {    /* seen now: the most recent */
            lru_unlink(t, i);
            lru_append(t, i);
        }
        return i;
    }
    if (t->used < t->cap) {
        i = ++t->used;
    } else if (t->lru_head) {
        i = t->lru_head;
        lru_unlink(t, i);
        chain_remove(t, i);
    } else {
        return 0;
    }
    memset(&t->e[i], 0, sizeof t->e[i]);
    t->e[i].key = *k;
    t->e[i].tokens = t->burst * UNIT;
    t->e[i].last = now;
    b = hash(t, k);
    t->e[i].hnext = t->bucket[b];
    t->bucket[b] = i;
    lru_append(t, i);
    return i;
}

int wsd_clients_rate(wsd_clients *t, const wsd_client_key *k, uint64_t now_ms, int take,
                     uint32_t *retry_s)
{
    uint32_t i;
    entry *x;
    uint64_t tok;

    *retry_s = 0;
    if (t->rate == 0)
        return WSD_CLIENT_OK;
    i = get(t, k, now_ms);
    if (!i)
        return WSD_CLIENT_FULL;
    x = &t->e[i];
    tok = x->tokens;
    if (now_ms > x->last)
        tok += (now_ms - x->last) * (uint64_t)t->rate;
    if (tok > (uint64_t)t->burst * UNIT)
        tok = (uint64_t)t->burst * UNIT;
    x->last = now_ms > x->last ? now_ms : x->last;
    if (tok < UNIT) {
        uint64_t ms = (UNIT - tok + t->rate - 1) / t->rate;
        x->tokens = (uint32_t)tok;
        *retry_s = (uint32_t)((ms + 999) / 1000);
        if (*retry_s == 0)
            *retry_s = 1;
        return WSD_CLIENT_RATE;
    }
    if (take)
        tok -= UNIT;
    x->tokens = (uint32_t)tok;
    return WSD_CLIENT_OK;
}

int wsd_clients_acquire(wsd_clients *t, const wsd_client_key *k, uint64_t now_ms,
                        uint32_t *slot)
{
    uint32_t i = get(t, k, now_ms);

    *slot = 0;
    if (!i)
        return WSD_CLIENT_FULL;
    if (t->maxconn && t->e[i].conns >= t->maxconn)
        return WSD_CLIENT_BUSY;
    if (t->e[i].conns++ == 0)
        lru_unlink(t, i);            /* connected: not evictable */
    t->conns++;
    *slot = i;
    return WSD_CLIENT_OK;
}

void wsd_clients_release(wsd_clients *t, uint32_t slot)
{
    entry *x;

    if (!t || slot == 0 || slot > t->used)
        return;
    x = &t->e[slot];
    if (x->conns == 0)
        return;
    t->conns--;
    if (--x->conns == 0)
        lru_append(t, slot);
}

int wsd_clients_slot_is(const wsd_clients *t, uint32_t slot, const wsd_client_key *k)
{
    return t && slot > 0 && slot <= t->used && t->e[slot].conns > 0 &&
           memcmp(t->e[slot].key.a, k->a, 16) == 0;
}

uint32_t wsd_clients_used(const wsd_clients *t)
{
    return t ? t->used : 0;
}

uint64_t wsd_clients_conns(const wsd_clients *t)
{
    return t ? t->conns : 0;
}
