/* realip.h — the client behind trusted proxies (--trustproxy): IP
 * addresses and networks, and what a trusted peer's Forwarded (RFC 7239),
 * X-Forwarded-For, X-Real-IP, X-Forwarded-Proto and X-Forwarded-Host say.
 * Pure: no I/O.
 *
 * Only a peer in the trusted set is believed; the caller checks that first
 * (wsd_trust_has) and asks wsd_realip_resolve only then. The address comes
 * from, in this order:
 *   1. Forwarded: the elements of every Forwarded field, joined in order,
 *      walked from the right (the one our peer added) to the left; each
 *      for= address that is itself a trusted proxy is passed, the first one
 *      that is not is the client. A node that is no address (unknown, an
 *      obfuscated _name) stops the walk: the hop to its right (trusted) is
 *      the best known, as nginx's real_ip_recursive. The element that names
 *      the client also gives proto= and host=. A syntax error anywhere in
 *      the field: the whole field is ignored (and reported in `bad`);
 *   2. X-Forwarded-For: the same walk over its comma-separated entries (an
 *      entry may carry a port: 192.0.2.1:5000, [2001:db8::1]:5000);
 *   3. X-Real-IP: one address, as the peer says;
 * whichever is present first, then X-Forwarded-Proto (http/https) and
 * X-Forwarded-Host where Forwarded did not say. Of a list in those two,
 * the right-most value counts (our peer's). A malformed value is never
 * used: it is ignored, reported in `bad` for a debug log line, and the
 * next source is tried.
 *
 * Trusted sets: "127.0.0.1,10.0.0.0/8,::1,fd00::/8,unix" — addresses or
 * networks (address/prefix; host bits are masked off), IPv4 or IPv6, and
 * the word "unix" for peers on the --unixsocket listener. IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d) are IPv4. */
#ifndef WSD_REALIP_H
#define WSD_REALIP_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define WSD_IP_TEXT 64                 /* an address as text, with room */

typedef struct {
    int family;                        /* 4 or 6 */
    uint8_t a[16];                     /* 4 bytes for IPv4 */
} wsd_ip;

/* Parses an IPv4 (dotted quad) or IPv6 address s[0..n) (no brackets, no
 * zone); an IPv4-mapped IPv6 address becomes IPv4. 0 or -1. */
int wsd_ip_parse(const char *s, size_t n, wsd_ip *out);
/* The canonical text (inet_ntop's), NUL-terminated in out[WSD_IP_TEXT]. */
void wsd_ip_format(const wsd_ip *ip, char out[WSD_IP_TEXT]);

typedef struct wsd_trust wsd_trust;

/* Compiles a --trustproxy list. NULL with *err (malloc'd, one line, to be
 * freed) when an entry is not an address, a network or "unix"; an empty
 * list is an error too. */
wsd_trust *wsd_trust_new(const char *list, char **err);
void wsd_trust_free(wsd_trust *t);
/* Is the peer trusted? peer: an address as wsd_tp_peer gives it, or
 * "unix-socket" for a Unix socket peer (trusted when "unix" is listed). */
int wsd_trust_has(const wsd_trust *t, const char *peer);
int wsd_trust_has_ip(const wsd_trust *t, const wsd_ip *ip);

enum { WSD_PROTO_NONE = 0, WSD_PROTO_HTTP = 1, WSD_PROTO_HTTPS = 2 };

typedef struct {
    const char *from;        /* the field that named the client: "Forwarded",
                              * "X-Forwarded-For", "X-Real-IP"; NULL: none did */
    char addr[WSD_IP_TEXT];  /* when `from`: the client's address, canonical */
    int port;                /* when `from`: its port, or -1 when not said */
    int proto;               /* WSD_PROTO_*: the scheme the client used, if said */
    char host[256];          /* the Host the client sent, if said ("" if not) */
    char bad[192];           /* "" or what was malformed and ignored (peer bytes
                              * escaped), for a debug log line */
} wsd_realip;

/* What the headers of r, sent by a trusted peer, say about the client. */
void wsd_realip_resolve(const wsd_trust *t, const wsd_request *r, wsd_realip *out);

#endif
