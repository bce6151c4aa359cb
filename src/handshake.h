/* handshake.h — RFC 6455 §4.2 server handshake: is this request a valid
 * WebSocket upgrade, the Sec-WebSocket-Accept key, and the bytes of the 101
 * and of error responses. Pure: no I/O. */
#ifndef WSD_HANDSHAKE_H
#define WSD_HANDSHAKE_H

#include <stddef.h>

#include "config.h"
#include "http.h"
#include "util.h"

enum {
    WSD_HS_OK = 0,            /* a valid upgrade; accept key computed */
    WSD_HS_NOT_WEBSOCKET = 1, /* no "Upgrade: websocket": plain HTTP */
    WSD_HS_BAD = 2            /* a broken upgrade: answer status + text */
};

typedef struct {
    int status;               /* BAD: 400, 405, 426 */
    const char *text;         /* BAD: short reason for the body, e.g. "missing Sec-WebSocket-Key" */
    char accept[29];          /* OK: base64(SHA-1(key + GUID)), NUL-terminated */
} wsd_handshake;

/* Classifies r. A request is a WebSocket attempt when its Upgrade header
 * contains the token "websocket" (any case). Such a request must then be
 * GET (else 405), HTTP/1.1 or later (400), have Host (400), a Connection
 * header containing the token "Upgrade" (400), exactly one Sec-WebSocket-Key
 * field (RFC 6455 §11.3.1: a second one, equal or not, is 400) that is
 * base64 of exactly 16 bytes (400), and exactly one Sec-WebSocket-Version
 * field (§11.3.5: a second one is 400) that is 13 (missing: 400; another:
 * 426). The first failing rule, in this order, decides. Both 400 and 426
 * for the version carry "Sec-WebSocket-Version: 13" (see
 * wsd_response_simple's `version_hdr`). */
int wsd_handshake_check(const wsd_request *r, wsd_handshake *hs);

/* accept = base64(SHA-1(key || "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")). */
void wsd_handshake_accept(const char *key, size_t len, char accept[29]);

/* RFC 6455 §4.2.2: the first subprotocol the client offers (its
 * Sec-WebSocket-Protocol headers in order, each a comma-separated list) that
 * is one of supported[0..n); compared case-sensitively. Returns a pointer to
 * that entry of `supported`, or NULL (then no Sec-WebSocket-Protocol is sent). */
const char *wsd_handshake_subprotocol(const wsd_request *r, char *const *supported, size_t n);

/* Appends the 101 response: Upgrade, Connection, Sec-WebSocket-Accept, then
 * Sec-WebSocket-Protocol and Sec-WebSocket-Extensions when not NULL, then
 * the `extra` header lists in order (each may be NULL), then the blank line.
 * Returns 0, or -1 if out's limit was hit. */
int wsd_response_101(wsd_str *out, const char *accept, const char *protocol,
                     const char *extensions,
                     const wsd_header_list *extra1, const wsd_header_list *extra2);

/* Appends a complete error/plain response with a text/plain body
 * ("<body>" exactly as given), Content-Length, Date, "Connection: close",
 * X-Content-Type-Options: nosniff, "Sec-WebSocket-Version: 13" when
 * version_hdr, and the extra lists. Returns 0 or -1. */
int wsd_response_simple(wsd_str *out, int status, const char *body, int version_hdr,
                        const wsd_header_list *extra1, const wsd_header_list *extra2);

#endif
