/* cfgsnap.h — one configuration as the server runs it: an immutable,
 * reference-counted snapshot of a wsd_config (config.h) with what the
 * server derives from it once — its endpoints (the server's own, and one
 * per [route /PATH]), each with its compiled origin policy, its
 * permessage-deflate settings and the key of its shared program. Pure: no
 * I/O, no libuv (the glue that swaps snapshots is reload.c).
 *
 * Every request takes a reference to the current snapshot when its head is
 * complete (conn.c/upgrade.c) and keeps it for as long as it is served —
 * a WebSocket connection for its whole life — so a reload, which makes a
 * new snapshot current, never changes a connection that has started: it
 * keeps the routes, the program and the options it started with. A shared
 * program (hubcore.c) holds the snapshot its options came from. The last
 * reference frees it (all on one loop thread: no locking).
 *
 * Endpoints: a request goes to the route whose path is the longest prefix
 * of its decoded, clean path at a segment boundary ("/chat" takes "/chat"
 * and "/chat/x", not "/chatroom"; "/" takes everything), or, when none
 * does, to the server's own endpoint (COMMAND, --dir, --staticdir, ...). */
#ifndef WSD_CFGSNAP_H
#define WSD_CFGSNAP_H

#include <stddef.h>

#include "config.h"
#include "origin.h"
#include "pmd.h"

/* The key of an endpoint's shared program: a fingerprint of everything the
 * program depends on (wsd_cfgsnap_program_key) and the route's path, so a
 * reload that leaves a route's program as it was finds the same shared
 * program running, and one that changes it starts a new one beside the
 * old (whose clients stay with it). */
#define WSD_CFGSNAP_KEY_MAX 128

typedef struct wsd_endpoint {
    const char *path;              /* "" for the server's own endpoint, else the route's */
    size_t plen;                   /* the prefix it takes off ("/" : 0) */
    int is_route;
    const wsd_config *cfg;         /* its options (the snapshot's memory) */
    wsd_origin_policy *origin;     /* --origin/--sameorigin, compiled */
    wsd_pmd_config pmd;            /* --deflate* */
    char key[WSD_CFGSNAP_KEY_MAX]; /* "<16 hex>:<path>" */
} wsd_endpoint;

typedef struct wsd_cfgsnap {
    unsigned refs;
    unsigned long generation;      /* 1 at start-up, +1 per reload */
    wsd_config cfg;                /* the server's, with its routes */
    wsd_endpoint server;
    wsd_endpoint *routes;          /* longest path first */
    size_t nroutes;
} wsd_cfgsnap;

/* A snapshot of *cfg, which it takes over (*cfg is zeroed), with one
 * reference. NULL with the problem in err[0..cap) (an --origin list that
 * does not compile; config.c has already checked it). */
wsd_cfgsnap *wsd_cfgsnap_new(wsd_config *cfg, unsigned long generation, char *err, size_t cap);
wsd_cfgsnap *wsd_cfgsnap_ref(wsd_cfgsnap *s);
/* Drops a reference (NULL: nothing); the last one frees the snapshot. */
void wsd_cfgsnap_unref(wsd_cfgsnap *s);

/* The endpoint of a decoded, clean URL path (wsd_route_clean_path), and in
 * *rest the part of it under the route ("" for the route's own path; the
 * whole path for the server's endpoint and for "/"). Never NULL. */
const wsd_endpoint *wsd_cfgsnap_match(const wsd_cfgsnap *s, const char *path, const char **rest);

/* The endpoint whose key is `key` (a shared program's, as a worker names
 * it to the hub process), or NULL. */
const wsd_endpoint *wsd_cfgsnap_by_key(const wsd_cfgsnap *s, const char *key);

/* A shared program's core key: "<endpoint key>\n<script>", the script
 * being a --dir script's real path, or "" for the endpoint's COMMAND. It is
 * how a worker names the program to the hub process (shared.c, hublink.c)
 * and how the program's wsd and its Redis edges name it (redislink.c).
 *   wsd_cfgsnap_core_key: the key, in new memory (free it);
 *   wsd_cfgsnap_core_key_split: its script part, with the endpoint key
 *   copied into epkey[0..cap) when epkey is not NULL; NULL when key has no
 *   '\n' or its endpoint key does not fit. */
char *wsd_cfgsnap_core_key(const char *epkey, const char *script);
const char *wsd_cfgsnap_core_key_split(const char *key, char *epkey, size_t cap);

/* Every endpoint, the server's first: for i in 0..count. */
size_t wsd_cfgsnap_count(const wsd_cfgsnap *s);
const wsd_endpoint *wsd_cfgsnap_at(const wsd_cfgsnap *s, size_t i);

/* The fingerprint of what a shared program of cfg depends on (COMMAND and
 * its arguments, --dir, the program's streams and modes, its ending, the
 * environment it gets): 16 hex digits and a NUL into out[17]. */
void wsd_cfgsnap_program_key(const wsd_config *cfg, char out[17]);

#endif
