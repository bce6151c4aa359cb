/* upgrade.h — a complete request head: the WebSocket handshake (upgrade.c).
 *
 * In order: --redirport's 301; not an upgrade (or no program to run) →
 * plain HTTP (httpserve.c, else 404); a broken upgrade → 400/405/426
 * (handshake.c); shutting down → 503; --dir's script (route.c: 301 to the
 * clean path, 404); the origin policy (403); subprotocol and
 * permessage-deflate negotiation; --reverselookup (libuv's thread pool,
 * the client's reads held meanwhile); --maxforks (429) and the descriptor
 * budget (503); the program started (500/503 when it cannot be); the 101;
 * the WebSocket session opens with the bytes that came behind the head. */
#ifndef WSD_UPGRADE_H
#define WSD_UPGRADE_H

#include <stddef.h>

#include "conn.h"

/* c->http holds a complete request; rest[0..nrest) came after its head. */
void wsd_upgrade(conn *c, const char *rest, size_t nrest);

#endif
