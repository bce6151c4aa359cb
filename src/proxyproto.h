/* proxyproto.h — the PROXY protocol header, versions 1 (text) and 2
 * (binary), as HAProxy's send-proxy / send-proxy-v2 and nginx's
 * proxy_protocol send it before anything else on a connection
 * (haproxy.org/download/2.6/doc/proxy-protocol.txt). Pure: no I/O.
 *
 * Fed the first bytes of a connection in pieces of any size, it consumes
 * exactly the header and says DONE (the rest is the caller's: a TLS
 * ClientHello, an HTTP request), or ERROR at the first byte that cannot
 * belong to a valid header — it never waits for bytes a header cannot have:
 *   v1  "PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n" or "PROXY UNKNOWN
 *       ...\r\n", at most 107 bytes; single spaces; addresses of the
 *       family named (TCP4: dotted quad; TCP6: IPv6), ports 0..65535
 *       without leading zeros;
 *   v2  the 12-byte signature, version 2, command LOCAL or PROXY, a family
 *       (AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC) over STREAM or UNSPEC (a
 *       datagram is refused), a length of at most WSD_PROXY_V2_LEN whose
 *       address block fits the family, then TLVs that must tile the rest
 *       exactly (their contents are not used).
 * LOCAL (v2), UNKNOWN (v1), AF_UNIX and AF_UNSPEC carry no client: `local`
 * is set and the connection's own peer stands (a proxy's health check).
 * The parser holds at most WSD_PROXY_MAX bytes (while the header lasts). */
#ifndef WSD_PROXYPROTO_H
#define WSD_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>

#define WSD_PROXY_V1_MAX 107            /* the whole v1 line, CRLF included */
#define WSD_PROXY_V2_LEN 2048           /* v2: the most after the 16-byte head */
#define WSD_PROXY_MAX (16 + WSD_PROXY_V2_LEN)

enum { WSD_PROXY_MORE = 0, WSD_PROXY_DONE = 1, WSD_PROXY_ERROR = -1 };

typedef struct {
    int version;                 /* 1 or 2 */
    int local;                   /* no client address: keep the connection's peer */
    char src[64], dst[64];       /* canonical text (when !local) */
    int src_port, dst_port;
} wsd_proxy_info;

typedef struct {
    uint8_t buf[WSD_PROXY_MAX];
    size_t len;                  /* bytes held */
    int version;                 /* 0 until the first byte decides */
    int rc;                      /* WSD_PROXY_* once decided */
    const char *err;             /* ERROR: why (static) */
    wsd_proxy_info info;         /* DONE: the result */
} wsd_proxy_parser;

void wsd_proxy_init(wsd_proxy_parser *p);

/* Feeds data[0..n). Returns MORE (all consumed), DONE (*used bytes were the
 * header's end; p->info holds the result) or ERROR (p->err). After DONE or
 * ERROR it returns the same again and consumes nothing. */
int wsd_proxy_feed(wsd_proxy_parser *p, const uint8_t *data, size_t n, size_t *used);

#endif
