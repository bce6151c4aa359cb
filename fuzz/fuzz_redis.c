/* fuzz_redis.c — libFuzzer harness for what --redis reads from outside:
 * the --redis URL (src/redisurl.c) and what arrives on a Redis channel,
 * which anyone who can publish there may send (src/linkproto.c: the
 * envelope, frames an edge accepts, join records), and the whole-message
 * cutter the program's wsd runs on its output.
 *
 * Input: byte 0 picks the mode (mod 3), the rest is its input.
 *   0  a URL (up to the first NUL): accepted URLs have a host, a port
 *      1..65535, a db ≥ 0; `where` fits and never holds the password
 *   1  a channel payload: wsd_chan_check; when accepted, every message lies
 *      inside it and parses or not; FRAMES blobs and join records go
 *      through wsd_chan_frames_ok / wsd_chan_joinrec_ok
 *   2  a frame stream built from the input (a consistent one: CONT only
 *      inside a message; it may begin inside one), fed to wsd_wholemsg cut
 *      at frame boundaries the input picks: every output is whole messages
 *      and all of them together are the stream from its first message
 *      start to its last message end, once, in order. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkproto.h"
#include "redisurl.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do {                                                        \
        if (!(c)) {                                                          \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            abort();                                                         \
        }                                                                    \
    } while (0)

static wsd_linkmsg m;

static void url(const uint8_t *p, size_t n)
{
    char s[1200], where[300];
    wsd_redis_url u;
    const char *why = NULL;

    if (n >= sizeof s)
        n = sizeof s - 1;
    memcpy(s, p, n);
    s[n] = '\0';
    if (wsd_redis_url_parse(s, &u, &why) != 0) {
        CHECK(why && *why);
        return;
    }
    CHECK(u.host[0] && strlen(u.host) < sizeof u.host);
    CHECK(u.port >= 1 && u.port <= 65535);
    CHECK(u.db >= 0);
    CHECK(strlen(u.password) < sizeof u.password && strlen(u.user) < sizeof u.user);
    wsd_redis_url_where(&u, where, sizeof where);
    CHECK(strlen(where) < sizeof where);
    CHECK(!u.password[0] || strlen(u.password) < 4 || !strstr(where, u.password) ||
          strstr(u.host, u.password));
}

static void payload(const uint8_t *p, size_t n)
{
    wsd_chan_hdr h;
    const char *why = NULL;
    const uint8_t *body;
    size_t off = WSD_CHAN_HEADER, len, count = 0;

    if (wsd_chan_check(p, n, &h, &why) != 0) {
        CHECK(why && *why);
        return;
    }
    CHECK(h.instance && h.seq);
    while (wsd_chan_next(p, n, &off, &body, &len)) {
        CHECK(body > p && body + len <= p + n && off <= n);
        count++;
        if (wsd_link_parse(body, len, &m) != 0)
            continue;
        if (m.type == WSD_LINK_FRAMES && wsd_chan_frames_ok(m.blob, m.bloblen) == 0) {
            wsd_ws_frames_info fi;
            CHECK(wsd_ws_scan_frames(m.blob, m.bloblen, &fi) == 0);
            CHECK(!fi.begins_inside && !fi.ends_inside);
        }
        if (m.type == WSD_LINK_JOIN && m.bloblen)
            (void)wsd_chan_joinrec_ok(m.blob, m.bloblen, m.id);
        (void)wsd_chan_id_ok(m.id);
    }
    CHECK(off == n && count > 0);
}

static void whole(const uint8_t *p, size_t n)
{
    static uint8_t s[1 << 16];
    size_t sn = 0, cuts[512], nc = 0, i, first = (size_t)-1, last_end = 0, at;
    int open = 0;
    wsd_wholemsg w;
    wsd_str all;

    unsigned seed;

    if (n < 1)
        return;
    open = p[0] & 1;               /* begins inside a message */
    seed = p[0] >> 1;              /* where to cut: after frame i when bit i % 7 is set */
    p++;
    n--;
    while (n >= 2 && nc < 512) {
        size_t len = p[1] % 40;
        int fin = p[0] & 1, op;
        if (len > n - 2)
            len = n - 2;
        op = open ? WSD_WS_CONT : (p[0] & 2) ? WSD_WS_BINARY : WSD_WS_TEXT;
        if (sn + 12 + len > sizeof s)
            break;
        if (op != WSD_WS_CONT && first == (size_t)-1)
            first = sn;
        sn += wsd_ws_header(s + sn, op, fin, 0, len);
        memset(s + sn, 'a', len);   /* ASCII: the cutter does not care */
        sn += len;
        cuts[nc++] = sn;
        if (fin && first != (size_t)-1)
            last_end = sn;
        open = !fin;
        p += 2 + len;
        n -= 2 + len;
    }
    wsd_wholemsg_init(&w, 1 << 20);
    wsd_str_init(&all, 1 << 20);
    for (i = 0, at = 0; i < nc; i++) {
        /* cut after frame i when its bit says so, and at the end */
        if (i + 1 < nc && !(seed >> (i % 7) & 1))
            continue;
        {
            wsd_str o;
            wsd_ws_frames_info fi;
            wsd_str_init(&o, 1 << 20);
            CHECK(wsd_wholemsg_feed(&w, s + at, cuts[i] - at, &o) == 0);
            if (o.len) {
                CHECK(wsd_ws_scan_frames((const uint8_t *)o.s, o.len, &fi) == 0);
                CHECK(!fi.begins_inside && !fi.ends_inside);
                wsd_str_append(&all, o.s, o.len);
            }
            wsd_str_free(&o);
            at = cuts[i];
        }
    }
    if (first == (size_t)-1 || last_end <= first)
        CHECK(all.len == 0);
    else
        CHECK(all.len == last_end - first && memcmp(all.s, s + first, all.len) == 0);
    wsd_str_free(&all);
    wsd_wholemsg_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0: url(data + 1, size - 1); break;
    case 1: payload(data + 1, size - 1); break;
    default: whole(data + 1, size - 1); break;
    }
    return 0;
}
