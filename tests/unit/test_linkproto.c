/* test_linkproto.c — the worker ↔ hub messages of --shared --workers
 * (src/linkproto.c): every message type round-trips; a stream of them read
 * back in every split; malformed bodies and over-long lengths refused.
 * And what --redis adds: the Redis-only messages, the channel envelope
 * (every malformation refused), what an edge accepts from a channel
 * (frames, ids, join records), and whole messages out of frame runs cut
 * at every frame boundary and pair of boundaries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "linkproto.h"
#include "ws.h"

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

/* ---- --redis ------------------------------------------------------------ */

static void test_redis_messages(void)
{
    wsd_str out;
    wsd_link_reader r;
    const uint8_t *body;
    size_t bn;
    int types[6] = {WSD_LINK_BEAT, WSD_LINK_BYE, WSD_LINK_PING, WSD_LINK_SYNC, WSD_LINK_SYNC,
                    WSD_LINK_REJOIN}, k = 0;

    wsd_str_init(&out, 1 << 16);
    ok(wsd_link_put_empty(&out, WSD_LINK_BEAT) == 0, "put beat");
    ok(wsd_link_put_empty(&out, WSD_LINK_BYE) == 0, "put bye");
    ok(wsd_link_put_empty(&out, WSD_LINK_PING) == 0, "put ping");
    ok(wsd_link_put_sync(&out, 0) == 0, "put sync begin");
    ok(wsd_link_put_sync(&out, 1) == 0, "put sync end");
    ok(wsd_link_put_rejoin(&out, 0x0123456789abcdefull) == 0, "put rejoin");
    wsd_link_reader_init(&r);
    wsd_link_reader_feed(&r, out.s, out.len);
    while (wsd_link_reader_next(&r, &body, &bn) == 1 && k < 6) {
        is_int(wsd_link_parse(body, bn, &m), 0, "redis message %d parses", k);
        is_int(m.type, types[k], "redis message %d type", k);
        if (k == 3 || k == 4)
            is_int(m.end, k == 4, "sync end flag");
        if (k == 5)
            ok(m.instance == 0x0123456789abcdefull, "rejoin instance");
        k++;
    }
    is_int(k, 6, "six redis messages read back");
    wsd_link_reader_free(&r);
    {
        static const uint8_t badsync[] = {WSD_LINK_SYNC, 0, 0, 2};
        is_int(wsd_link_parse(badsync, sizeof badsync, &m), -1, "sync flag 2 refused");
    }
    wsd_str_free(&out);
}

/* An envelope around the given messages (already encoded). */
static void envelope(wsd_str *p, uint64_t instance, uint64_t seq, const wsd_str *msgs)
{
    wsd_chan_hdr h = {instance, seq, 3, 1};
    wsd_str_init(p, WSD_CHAN_MAX);
    wsd_chan_put_header(p, &h);
    if (msgs->len)
        wsd_str_append(p, msgs->s, msgs->len);
}

/* Why p is refused ("" when it is not). */
static const char *refused(const wsd_str *p)
{
    wsd_chan_hdr h;
    const char *why = "";
    return wsd_chan_check((const uint8_t *)p->s, p->len, &h, &why) == 0 ? "" : why;
}

static void test_envelope(void)
{
    wsd_str msgs, p;
    wsd_chan_hdr h;
    const char *why;
    const uint8_t *body;
    size_t off = WSD_CHAN_HEADER, n;
    int count = 0;

    wsd_str_init(&msgs, 1 << 16);
    wsd_link_put_leave(&msgs, "/", "17", 1000);
    wsd_link_put_input(&msgs, "/", "17", 1, "hi", 2);
    wsd_link_put_empty(&msgs, WSD_LINK_BEAT);
    envelope(&p, 77, 5, &msgs);
    is_int(p.len, WSD_CHAN_HEADER + msgs.len, "the envelope is 24 bytes");
    is_int(wsd_chan_check((const uint8_t *)p.s, p.len, &h, &why), 0, "a payload checks");
    ok(h.instance == 77 && h.seq == 5 && h.edge == 3 && h.worker == 1, "its header");
    while (wsd_chan_next((const uint8_t *)p.s, p.len, &off, &body, &n)) {
        is_int(wsd_link_parse(body, n, &m), 0, "message %d of the payload parses", count);
        count++;
    }
    is_int(count, 3, "three messages in it");
    is_int(m.type, WSD_LINK_BEAT, "the last one a beat");

    /* every way to be wrong */
    p.s[0] = 'X';
    is_str(refused(&p), "not a wsd payload", "bad magic");
    p.s[0] = 'W';
    p.s[3] = 2;
    is_str(refused(&p), "unknown payload version", "version 2");
    p.s[3] = 1;
    wsd_str_free(&p);
    envelope(&p, 0, 5, &msgs);
    is_str(refused(&p), "instance or sequence number 0", "instance 0 refused");
    wsd_str_free(&p);
    envelope(&p, 7, 0, &msgs);
    is_str(refused(&p), "instance or sequence number 0", "sequence 0 refused");
    wsd_str_free(&p);
    {
        wsd_str none;
        wsd_str_init(&none, 16);
        envelope(&p, 7, 1, &none);
        is_str(refused(&p), "no message", "no message");
        wsd_str_free(&p);
    }
    envelope(&p, 7, 1, &msgs);
    {
        /* cut between messages: fewer messages, accepted; anywhere else refused */
        size_t ends[8], ne = 0, o = WSD_CHAN_HEADER, e;
        int wrong = 0;
        while (wsd_chan_next((const uint8_t *)p.s, p.len, &o, &body, &n))
            ends[ne++] = o;
        for (n = 0; n < p.len; n++) {
            wsd_chan_hdr hh;
            int at_end = 0;
            for (e = 0; e < ne; e++)
                at_end |= ends[e] == n;
            if (wsd_chan_check((const uint8_t *)p.s, n, &hh, &why) != (at_end ? 0 : -1))
                wrong++;
        }
        is_int(wrong, 0, "a payload cut between messages is whole, cut anywhere else refused");
    }
    wsd_str_append(&p, "\0\0\0\0", 4);
    is_str(refused(&p), "bad message length", "a zero-length message refused");
    wsd_str_truncate(&p, p.len - 4);
    wsd_str_append(&p, "\0\0\0\x09" "abc", 7);
    is_str(refused(&p), "bad message length", "a length past the end refused");
    wsd_str_truncate(&p, p.len - 7);
    wsd_str_append(&p, "\x7f\0\0\0", 4);
    is_str(refused(&p), "bad message length", "a length over WSD_LINK_MAX refused");
    {
        wsd_chan_hdr hh;
        ok(wsd_chan_check((const uint8_t *)p.s, WSD_CHAN_MAX + 1, &hh, &why) == -1 &&
           strcmp(why, "payload too large") == 0, "over WSD_CHAN_MAX refused at once");
    }
    wsd_str_free(&p);
    wsd_str_free(&msgs);
}

static size_t frame(uint8_t *out, int opcode, int fin, const char *payload, size_t n)
{
    size_t h = wsd_ws_header(out, opcode, fin, 0, n);
    memcpy(out + h, payload, n);
    return h + n;
}

static void test_accepted(void)
{
    uint8_t f[512];
    size_t n = 0;

    n += frame(f + n, WSD_WS_TEXT, 1, "hello", 5);
    n += frame(f + n, WSD_WS_BINARY, 1, "\xff\x00", 2);
    n += frame(f + n, WSD_WS_TEXT, 0, "\xce", 1);      /* κ split across fragments */
    n += frame(f + n, WSD_WS_CONT, 1, "\xba!", 2);
    is_int(wsd_chan_frames_ok(f, n), 0, "whole messages, UTF-8 split across fragments");
    is_int(wsd_chan_frames_ok(f, 0), 0, "no frames at all");
    is_int(wsd_chan_frames_ok(f, n - 1), -1, "a truncated frame");
    is_int(wsd_chan_frames_ok(f, n - 4), -1, "a message left open");
    {
        uint8_t g[64];
        size_t k = frame(g, WSD_WS_TEXT, 1, "ok", 2);
        g[0] |= 0x40;
        is_int(wsd_chan_frames_ok(g, k), -1, "RSV1 (compressed) refused");
        k = frame(g, WSD_WS_PING, 1, "", 0);
        is_int(wsd_chan_frames_ok(g, k), -1, "a control frame refused");
        k = frame(g, WSD_WS_CONT, 1, "x", 1);
        is_int(wsd_chan_frames_ok(g, k), -1, "a continuation without a start refused");
        k = frame(g, WSD_WS_TEXT, 1, "\xc3\x28", 2);
        is_int(wsd_chan_frames_ok(g, k), -1, "invalid UTF-8 refused");
        k = frame(g, WSD_WS_TEXT, 1, "\xce", 1);
        is_int(wsd_chan_frames_ok(g, k), -1, "UTF-8 cut at the end of the message refused");
        k = frame(g, WSD_WS_TEXT, 0, "a", 1);
        k += frame(g + k, WSD_WS_BINARY, 1, "b", 1);
        is_int(wsd_chan_frames_ok(g, k), -1, "a new message inside an open one refused");
        k = frame(g, WSD_WS_TEXT, 1, "ab", 2);
        g[1] |= 0x80;
        is_int(wsd_chan_frames_ok(g, k), -1, "a masked frame refused");
    }
    ok(wsd_chan_id_ok("1") && wsd_chan_id_ok("1796643733550050730") &&
       wsd_chan_id_ok("18446744073709551615"), "ids accepted");
    ok(!wsd_chan_id_ok("") && !wsd_chan_id_ok("01") && !wsd_chan_id_ok("12a") &&
       !wsd_chan_id_ok("18446744073709551616") && !wsd_chan_id_ok("123456789012345678901"),
       "bad ids refused");
    ok(wsd_chan_joinrec_ok((const uint8_t *)"join 17 4\nA=1\n\n", 15, "17"), "a join record");
    ok(wsd_chan_joinrec_ok((const uint8_t *)"join 17 0\n\n", 11, "17"), "an empty one");
    ok(!wsd_chan_joinrec_ok((const uint8_t *)"join 18 4\nA=1\n\n", 15, "17"), "another id");
    ok(!wsd_chan_joinrec_ok((const uint8_t *)"join 17 5\nA=1\n\n", 15, "17"), "a bad length");
    ok(!wsd_chan_joinrec_ok((const uint8_t *)"join 17 4\nA=1\nX", 15, "17"), "no final newline");
    ok(!wsd_chan_joinrec_ok((const uint8_t *)"join 17 04\nA=1\n\n", 16, "17"), "a leading 0");
    ok(!wsd_chan_joinrec_ok((const uint8_t *)"text 17 4\nA=1\n\n", 15, "17"), "not a join");
    ok(!wsd_chan_joinrec_ok((const uint8_t *)"join 17 4\nA=1\n\ntext 1\nx\n", 23, "17"),
       "a record smuggled behind it");
}

/* The frames of a stream: messages, some fragmented. Offsets of every
 * frame boundary into cuts[]. */
static size_t stream(uint8_t *out, size_t *cuts, size_t *ncuts)
{
    size_t n = 0;
    *ncuts = 0;
#define F(op, fin, s) (n += frame(out + n, op, fin, s, sizeof s - 1), cuts[(*ncuts)++] = n)
    F(WSD_WS_TEXT, 1, "one");
    F(WSD_WS_TEXT, 0, "tw");
    F(WSD_WS_CONT, 0, "o-");
    F(WSD_WS_CONT, 1, "two");
    F(WSD_WS_BINARY, 1, "3");
    F(WSD_WS_TEXT, 0, "fo");
    F(WSD_WS_CONT, 1, "ur");
    F(WSD_WS_TEXT, 1, "five");
#undef F
    return n;
}

/* Feeds p cut at a and b (frame offsets, 0 < a <= b < n or none); checks
 * each output is whole messages; appends them all to all. */
static int feed_cut(wsd_wholemsg *w, const uint8_t *p, size_t n, size_t a, size_t b, wsd_str *all)
{
    size_t at[4] = {0, a, b, n}, i;
    int bad = 0;

    for (i = 0; i < 3; i++) {
        wsd_str o;
        wsd_ws_frames_info fi;
        if (at[i + 1] <= at[i])
            continue;
        wsd_str_init(&o, 1 << 20);
        if (wsd_wholemsg_feed(w, p + at[i], at[i + 1] - at[i], &o) != 0)
            bad = 1;
        if (o.len && (wsd_ws_scan_frames((const uint8_t *)o.s, o.len, &fi) != 0 ||
                      fi.begins_inside || fi.ends_inside))
            bad = 1;
        if (o.len)
            wsd_str_append(all, o.s, o.len);
        wsd_str_free(&o);
    }
    return bad;
}

static void test_wholemsg(void)
{
    uint8_t s[512];
    size_t cuts[16], ncuts, n = stream(s, cuts, &ncuts), i, j, k;
    wsd_wholemsg w;
    int bad = 0, diff = 0;

    /* from the start, cut at every pair of frame boundaries: the same
     * whole stream comes out, in whole messages */
    for (i = 0; i < ncuts; i++) {
        for (j = i; j < ncuts; j++) {
            wsd_str all;
            wsd_wholemsg_init(&w, 1 << 20);
            wsd_str_init(&all, 1 << 20);
            bad |= feed_cut(&w, s, n, cuts[i], cuts[j], &all);
            if (all.len != n || memcmp(all.s, s, n) != 0)
                diff = 1;
            wsd_str_free(&all);
            wsd_wholemsg_free(&w);
        }
    }
    ok(!bad, "every output holds whole messages");
    ok(!diff, "cut at every pair of frame boundaries: the whole stream, once, in order");

    /* starting at every frame boundary, cut at every pair after it: the
     * message under way is skipped, the rest comes out whole */
    diff = 0;
    for (k = 0; k + 1 < ncuts; k++) {
        size_t first = k;
        /* the first frame at or after cuts[k] that starts a message */
        while (first + 1 < ncuts && (s[cuts[first]] & 0x0f) == WSD_WS_CONT)
            first++;
        for (i = k; i < ncuts; i++) {
            for (j = i; j < ncuts; j++) {
                wsd_str all;
                wsd_wholemsg_init(&w, 1 << 20);
                wsd_str_init(&all, 1 << 20);
                bad |= feed_cut(&w, s + cuts[k], n - cuts[k], cuts[i] - cuts[k],
                                cuts[j] - cuts[k], &all);
                if (all.len != n - cuts[first] || memcmp(all.s, s + cuts[first], all.len) != 0)
                    diff = 1;
                wsd_str_free(&all);
                wsd_wholemsg_free(&w);
            }
        }
    }
    ok(!diff, "joining mid-stream: the message under way is skipped, the rest whole");

    /* a message over max is dropped whole; the next one comes out */
    {
        uint8_t big[300];
        size_t bn = 0;
        wsd_str o;
        bn += frame(big + bn, WSD_WS_TEXT, 0, "aaaaaaaaaa", 10);
        bn += frame(big + bn, WSD_WS_CONT, 0, "bbbbbbbbbb", 10);
        bn += frame(big + bn, WSD_WS_CONT, 1, "cc", 2);
        bn += frame(big + bn, WSD_WS_TEXT, 1, "next", 4);
        wsd_wholemsg_init(&w, 20);
        wsd_str_init(&o, 1 << 20);
        is_int(wsd_wholemsg_feed(&w, big, 12, &o), 0, "the big message begins");
        is_int(wsd_wholemsg_feed(&w, big + 12, 12, &o), 1, "... grows past max: dropped");
        is_int(wsd_wholemsg_feed(&w, big + 24, bn - 24, &o), 0, "... its end skipped");
        is_mem(o.s, o.len, big + 28, 6, "the next message whole");
        is_int(wsd_wholemsg_feed(&w, (const uint8_t *)"\x81", 1, &o), -1, "not frames: -1");
        wsd_str_free(&o);
        wsd_wholemsg_free(&w);
    }
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
    test_redis_messages();
    test_envelope();
    test_accepted();
    test_wholemsg();
    return done_testing();
}
