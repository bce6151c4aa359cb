/* test_linkproto.c — the worker ↔ hub messages of --shared --workers
 * (src/linkproto.c): every message type round-trips; a stream of them read
 * back in every split; malformed bodies and over-long lengths refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "linkproto.h"

static wsd_linkmsg m;

/* Reads every message of s[0..n), fed in pieces cut at `cut` (0: whole),
 * into a transcript. */
static void transcript(const char *s, size_t n, size_t cut, wsd_str *t)
{
    wsd_link_reader r;
    size_t fed = 0;
    const uint8_t *body;
    size_t bn;

    wsd_link_reader_init(&r);
    while (fed < n) {
        size_t k = cut && cut < n - fed ? cut : n - fed;
        int rc;
        wsd_link_reader_feed(&r, s + fed, k);
        fed += k;
        while ((rc = wsd_link_reader_next(&r, &body, &bn)) == 1) {
            if (wsd_link_parse(body, bn, &m) != 0) {
                wsd_str_appends(t, "BAD\n");
                continue;
            }
            wsd_str_appendf(t, "%d key=%s id=%s n=%zu nto=%zu code=%u pid=%u\n", m.type, m.key,
                            m.id, m.bloblen, m.nto, m.code, m.pid);
        }
    }
    wsd_link_reader_free(&r);
}

int main(void)
{
    wsd_str out, t0, t;
    const char *to[3] = {"17", "42", "1796643733550050730"};
    size_t cut;
    int bad = 0;

    wsd_str_init(&out, 1 << 20);
    ok(wsd_link_put_join(&out, "/d/a.sh", "/d/a.sh", "/a.sh", "17", "join 17 4\nA=1\n\n", 15) == 0,
       "put join");
    ok(wsd_link_put_leave(&out, "", "17", 1000) == 0, "put leave");
    ok(wsd_link_put_input(&out, "", "17", 1, "hello", 5) == 0, "put input");
    ok(wsd_link_put_frames(&out, "", to, 3, "\x81\x02hi", 4) == 0, "put frames");
    ok(wsd_link_put_frames(&out, "", NULL, 0, "\x81\x00", 2) == 0, "put frames to all");
    ok(wsd_link_put_close(&out, "", "42", 4000, "bye") == 0, "put close");
    ok(wsd_link_put_ended(&out, "", -1, 9, 1) == 0, "put ended");
    ok(wsd_link_put_stdin(&out, "", 1) == 0, "put stdin");
    ok(wsd_link_put_started(&out, "", 1234, 1) == 0, "put started");
    ok(wsd_link_put_joined(&out, "", "17", 1234, 0) == 0, "put joined");
    ok(wsd_link_put_leave(&out, "", "0123456789012345678901234", 1000) != 0,
       "an id over 23 bytes is refused");

    /* each round-trips */
    {
        wsd_link_reader r;
        const uint8_t *body;
        size_t bn;
        int k = 0;
        wsd_link_reader_init(&r);
        wsd_link_reader_feed(&r, out.s, out.len);
        while (wsd_link_reader_next(&r, &body, &bn) == 1) {
            is_int(wsd_link_parse(body, bn, &m), 0, "message %d parses", k);
            switch (k++) {
            case 0:
                is_str(m.key, "/d/a.sh", "join key");
                is_str(m.script_name, "/a.sh", "join script name");
                is_mem(m.blob, m.bloblen, "join 17 4\nA=1\n\n", 15, "join record");
                break;
            case 3:
                is_int(m.nto, 3, "frames: three recipients");
                is_str(m.to[2], "1796643733550050730", "frames: a long id");
                is_mem(m.blob, m.bloblen, "\x81\x02hi", 4, "frames: the frames");
                break;
            case 5:
                is_int(m.code, 4000, "close code");
                is_str(m.reason, "bye", "close reason");
                break;
            case 6:
                is_int(m.status, -1, "ended status");
                is_int(m.sig, 9, "ended signal");
                is_int(m.failed, 1, "ended failed");
                break;
            case 9:
                is_int(m.type, WSD_LINK_JOINED, "joined");
                is_str(m.id, "17", "joined id");
                is_int(m.pid, 1234, "joined pid");
                break;
            default:
                break;
            }
        }
        is_int(k, 10, "ten messages read back");
        wsd_link_reader_free(&r);
    }

    /* the same transcript however the stream is cut */
    wsd_str_init(&t0, 1 << 20);
    transcript(out.s, out.len, 0, &t0);
    for (cut = 1; cut < out.len; cut++) {
        wsd_str_init(&t, 1 << 20);
        transcript(out.s, out.len, cut, &t);
        if (t.len != t0.len || memcmp(t.s, t0.s, t.len) != 0)
            bad++;
        wsd_str_free(&t);
    }
    is_int(bad, 0, "every piece size gives the same messages");

    /* malformed */
    {
        static const uint8_t trailing[] = {WSD_LINK_STDIN, 0, 0, 1, 7};
        static const uint8_t unknown[] = {99, 0, 0};
        static const uint8_t shortstr[] = {WSD_LINK_LEAVE, 0, 5, 'a'};
        static const uint8_t nul[] = {WSD_LINK_STDIN, 0, 1, 0, 1};
        wsd_link_reader r;
        const uint8_t *body;
        size_t bn;
        static const char huge[4] = {0x7f, 0, 0, 0};
        is_int(wsd_link_parse(trailing, sizeof trailing, &m), -1, "trailing bytes refused");
        is_int(wsd_link_parse(unknown, sizeof unknown, &m), -1, "unknown type refused");
        is_int(wsd_link_parse(shortstr, sizeof shortstr, &m), -1, "a short string refused");
        is_int(wsd_link_parse(nul, sizeof nul, &m), -1, "a NUL in a string refused");
        wsd_link_reader_init(&r);
        wsd_link_reader_feed(&r, huge, 4);
        is_int(wsd_link_reader_next(&r, &body, &bn), -1, "a length over WSD_LINK_MAX breaks the stream");
        is_int(wsd_link_reader_feed(&r, "x", 1), -1, "... for good");
        wsd_link_reader_free(&r);
    }
    wsd_str_free(&t0);
    wsd_str_free(&out);
    return done_testing();
}
