/* fuzz_linkproto.c — libFuzzer harness for the worker ↔ hub messages of
 * --shared --workers and --redis (src/linkproto.c; the channel envelope
 * and whole messages: fuzz_redis.c).
 *
 * Input: [cut] bytes... — a stream, fed to the reader whole and in pieces
 * of `cut` (1..255) bytes. Every message handed out must lie within what
 * was fed; both feedings must hand out the same message bodies; every
 * parsed message must have NUL-terminated strings within their bounds, a
 * blob inside the body and at most WSD_LINK_MAX_TO recipients; and a
 * parsed message re-encoded and parsed again must give the same fields. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do {                                                        \
        if (!(c)) {                                                          \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            abort();                                                         \
        }                                                                    \
    } while (0)

static wsd_linkmsg m, m2;

static void check_msg(const uint8_t *body, size_t n)
{
    wsd_str out;
    const uint8_t *b2;
    size_t n2;
    wsd_link_reader r;
    const char *to[WSD_LINK_MAX_TO];
    size_t i;
    int rc;

    if (wsd_link_parse(body, n, &m) != 0)
        return;
    CHECK(strlen(m.key) < sizeof m.key);
    CHECK(m.nto <= WSD_LINK_MAX_TO);
    CHECK(!m.blob || (m.blob >= body && m.blob + m.bloblen <= body + n));
    for (i = 0; i < m.nto; i++)
        to[i] = m.to[i];
    wsd_str_init(&out, WSD_LINK_MAX + 64);
    switch (m.type) {
    case WSD_LINK_JOIN:
        rc = wsd_link_put_join(&out, m.key, m.file, m.script_name, m.id, m.blob, m.bloblen);
        break;
    case WSD_LINK_LEAVE: rc = wsd_link_put_leave(&out, m.key, m.id, m.code); break;
    case WSD_LINK_INPUT:
        rc = wsd_link_put_input(&out, m.key, m.id, m.opcode, m.blob, m.bloblen);
        break;
    case WSD_LINK_FRAMES:
        rc = wsd_link_put_frames(&out, m.key, to, m.nto, m.blob, m.bloblen);
        break;
    case WSD_LINK_CLOSE: rc = wsd_link_put_close(&out, m.key, m.id, m.code, m.reason); break;
    case WSD_LINK_ENDED: rc = wsd_link_put_ended(&out, m.key, m.status, m.sig, m.failed); break;
    case WSD_LINK_STDIN: rc = wsd_link_put_stdin(&out, m.key, m.full); break;
    case WSD_LINK_STARTED: rc = wsd_link_put_started(&out, m.key, m.pid, m.restarted); break;
    case WSD_LINK_JOINED: rc = wsd_link_put_joined(&out, m.key, m.id, m.pid, m.failed); break;
    case WSD_LINK_BEAT:
    case WSD_LINK_BYE:
    case WSD_LINK_PING:
    case WSD_LINK_SYNC:
    case WSD_LINK_REJOIN:
        if (m.key[0]) {            /* parsed with any key, made with none */
            wsd_str_free(&out);
            return;
        }
        rc = m.type == WSD_LINK_SYNC     ? wsd_link_put_sync(&out, m.end)
             : m.type == WSD_LINK_REJOIN ? wsd_link_put_rejoin(&out, m.instance)
                                         : wsd_link_put_empty(&out, m.type);
        break;
    default: rc = -1; CHECK(0);
    }
    CHECK(rc == 0);
    wsd_link_reader_init(&r);
    wsd_link_reader_feed(&r, out.s, out.len);
    CHECK(wsd_link_reader_next(&r, &b2, &n2) == 1);
    CHECK(wsd_link_parse(b2, n2, &m2) == 0);
    CHECK(m2.type == m.type && strcmp(m2.key, m.key) == 0 && m2.bloblen == m.bloblen);
    CHECK(m.bloblen == 0 || memcmp(m2.blob, m.blob, m.bloblen) == 0);
    wsd_link_reader_free(&r);
    wsd_str_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wsd_link_reader a, b;
    const uint8_t *ba, *bb;
    size_t na, nb, cut, fed = 0;
    int ra, rb;

    if (size < 1)
        return 0;
    cut = data[0] ? data[0] : 1;
    data++;
    size--;
    wsd_link_reader_init(&a);
    wsd_link_reader_init(&b);
    wsd_link_reader_feed(&a, data, size);
    /* b gets the same bytes in pieces; its messages must match a's */
    for (;;) {
        ra = wsd_link_reader_next(&a, &ba, &na);
        if (ra == 1)
            check_msg(ba, na);
        for (;;) {
            rb = wsd_link_reader_next(&b, &bb, &nb);
            if (rb != 0 || fed == size)
                break;
            {
                size_t k = cut < size - fed ? cut : size - fed;
                wsd_link_reader_feed(&b, data + fed, k);
                fed += k;
            }
        }
        CHECK(ra == rb);
        if (ra != 1)
            break;
        CHECK(na == nb && memcmp(ba, bb, na) == 0);
    }
    wsd_link_reader_free(&a);
    wsd_link_reader_free(&b);
    return 0;
}
