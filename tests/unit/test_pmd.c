/* test_pmd.c — permessage-deflate (RFC 7692): negotiation, inflate, deflate,
 * frame rewriting, memory.
 *
 * The RFC 7692 §7.2.3 examples are checked byte for byte in both directions.
 * Round trips run at every window size (8..15), with and without context
 * takeover, at several memLevels; the deflater's output is also inflated by
 * zlib directly with exactly the negotiated window and one output byte per
 * call, so every back-reference goes through the window: a stream that
 * needed a larger window than announced would fail there (this is how the
 * 8-bit window's Z_RLE stream is proven). Compressed input is fed split at
 * every point (and every pair of points for short messages) with several
 * output capacities, each output buffer allocated at exactly its capacity
 * so ASan catches an overrun. */
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include "harness.h"
#include "pmd.h"
#include "utf8.h"
#include "ws.h"

/* ---- helpers ---------------------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void buf_free(buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static wsd_pmd_params mkparams(int snct, int cnct, int sw, int cw)
{
    wsd_pmd_params pp;
    pp.server_no_context_takeover = snct;
    pp.client_no_context_takeover = cnct;
    pp.server_max_window_bits = sw;
    pp.client_max_window_bits = cw;
    return pp;
}

static void mkpmd(wsd_pmd *p, int snct, int cnct, int sw, int cw, int mem_level, uint64_t max)
{
    wsd_pmd_config cfg;
    wsd_pmd_params pp = mkparams(snct, cnct, sw, cw);
    wsd_pmd_config_default(&cfg);
    cfg.mem_level = mem_level;
    wsd_pmd_init(p, &cfg, &pp, max);
}

/* Compresses one message in chunks of `chunk` bytes (0 = whole); appends the
 * message's payload to out. Returns the last status. */
static int deflate_msg(wsd_pmd *p, const uint8_t *m, size_t n, size_t chunk, buf *out)
{
    size_t pos = 0;
    if (chunk == 0)
        chunk = n ? n : 1;
    do {
        size_t k = n - pos < chunk ? n - pos : chunk;
        int fin = pos + k == n;
        size_t cap = wsd_pmd_deflate_bound(k), got;
        uint8_t *o = malloc(cap);
        int r = wsd_pmd_deflate(p, m + pos, k, fin, o, cap, &got);
        if (r != WSD_PMD_OK) {
            free(o);
            return r;
        }
        put(out, o, got);
        free(o);
        pos += k;
    } while (pos < n);
    return WSD_PMD_OK;
}

/* Inflates a compressed message given as pieces c[cuts[i]..cuts[i+1]) (cuts
 * has ncuts+2 entries from 0 to n), with output buffers of exactly cap bytes.
 * Appends the plaintext to out; *peak gets the highest wsd_pmd_memory seen.
 * Returns END or the error. */
static int inflate_pieces(wsd_pmd *p, const uint8_t *c, const size_t *cuts, size_t npieces,
                          size_t cap, buf *out, size_t *peak)
{
    size_t k, calls = 0;
    uint8_t *o = malloc(cap);
    for (k = 0; k < npieces; k++) {
        const uint8_t *in = c + cuts[k];
        size_t inlen = cuts[k + 1] - cuts[k];
        int fin = k + 1 == npieces;
        for (;;) {
            size_t got = 12345;
            int r = wsd_pmd_inflate(p, &in, &inlen, fin, o, cap, &got);
            if (peak && wsd_pmd_memory(p) > *peak)
                *peak = wsd_pmd_memory(p);
            if (got > cap || ++calls > 100000000) {
                free(o);
                return -100;
            }
            if (r < 0) {
                free(o);
                return got == 0 ? r : -101;
            }
            put(out, o, got);
            if (r == WSD_PMD_OUTPUT)
                continue;
            if (r == WSD_PMD_NEED_INPUT) {
                if (fin || inlen != 0) {
                    free(o);
                    return -102;
                }
                break;
            }
            if (r == WSD_PMD_END) {
                free(o);
                return fin && inlen == 0 ? WSD_PMD_END : -103;
            }
            free(o);
            return -104;
        }
    }
    free(o);
    return -105;
}

static int inflate_whole(wsd_pmd *p, const uint8_t *c, size_t n, size_t cap, buf *out)
{
    size_t cuts[2] = {0, n};
    return inflate_pieces(p, c, cuts, 1, cap, out, NULL);
}

/* zlib itself, raw, with exactly wbits of window and one output byte per
 * call, over the messages' payloads, each followed by 00 00 ff ff; a fresh
 * stream per message when nct. Returns 0 and appends all plaintext, or -1. */
static int zlib_check(const buf *msgs, size_t nmsgs, int wbits, int nct, buf *out)
{
    static const uint8_t tail[4] = {0, 0, 0xff, 0xff};
    z_stream z;
    size_t m;
    int inited = 0, ret = 0;

    for (m = 0; m < nmsgs && ret == 0; m++) {
        int part;
        if (!inited || nct) {
            if (inited)
                inflateEnd(&z);
            memset(&z, 0, sizeof z);
            if (inflateInit2(&z, -wbits) != Z_OK)
                return -1;
            inited = 1;
        }
        for (part = 0; part < 2 && ret == 0; part++) {
            z.next_in = part ? (Bytef *)tail : msgs[m].p;
            z.avail_in = part ? 4 : (uInt)msgs[m].n;
            while (z.avail_in > 0) {
                uint8_t c;
                int r;
                z.next_out = &c;
                z.avail_out = 1;
                r = inflate(&z, Z_SYNC_FLUSH);
                if (z.avail_out == 0)
                    put(out, &c, 1);
                if (r != Z_OK && r != Z_BUF_ERROR) {
                    ret = -1;
                    break;
                }
                if (r == Z_BUF_ERROR && z.avail_out)
                    break;
            }
        }
    }
    if (inited)
        inflateEnd(&z);
    return ret;
}

static uint32_t rng = 2463534242u;
static uint32_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void fill_random(uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)xorshift();
}

static void fill_text(uint8_t *p, size_t n)
{
    static const char *words[] = {"lorem ", "ipsum ", "dolor ", "sit ", "amet, ", "wsd ",
                                  "websocket ", "deflate ", "\xce\xba\xe1\xbd\xb9\xcf\x83 ", "0123 "};
    size_t i = 0;
    while (i < n) {
        const char *w = words[xorshift() % 10];
        size_t k = strlen(w);
        if (k > n - i)
            k = n - i;
        memcpy(p + i, w, k);
        i += k;
    }
}

#define HX(s) (const uint8_t *)(s), sizeof(s) - 1

/* ---- negotiation -------------------------------------------------------------- */

typedef struct {
    const char *name;
    int cfg_s, cfg_c, cfg_snct, cfg_cnct, enabled;
    const char *h[3];          /* header values, NULL-terminated */
    const char *want;          /* NULL: declined */
    int snct, cnct, sw, cw;    /* params, when accepted */
} neg_case;

static const neg_case neg_cases[] = {
    {"Firefox", 15, 15, 0, 0, 1, {"permessage-deflate"}, "permessage-deflate", 0, 0, 15, 15},
    {"Chromium", 15, 15, 0, 0, 1, {"permessage-deflate; client_max_window_bits"},
     "permessage-deflate", 0, 0, 15, 15},
    {"python-websockets", 15, 15, 0, 0, 1, {"permessage-deflate; client_max_window_bits"},
     "permessage-deflate", 0, 0, 15, 15},
    {"Chromium, server asks client window 10", 15, 10, 0, 0, 1,
     {"permessage-deflate; client_max_window_bits"},
     "permessage-deflate; client_max_window_bits=10", 0, 0, 15, 10},
    {"Firefox, server asks client window 10: cannot", 15, 10, 0, 0, 1, {"permessage-deflate"},
     "permessage-deflate", 0, 0, 15, 15},
    {"server asks client window 8: 9", 15, 8, 0, 0, 1, {"permessage-deflate; client_max_window_bits"},
     "permessage-deflate; client_max_window_bits=9", 0, 0, 15, 9},
    {"client window 12 offered", 15, 15, 0, 0, 1, {"permessage-deflate; client_max_window_bits=12"},
     "permessage-deflate; client_max_window_bits=12", 0, 0, 15, 12},
    {"client window 12 offered, server 10", 15, 10, 0, 0, 1,
     {"permessage-deflate; client_max_window_bits=12"},
     "permessage-deflate; client_max_window_bits=10", 0, 0, 15, 10},
    {"client window 15 offered", 15, 15, 0, 0, 1, {"permessage-deflate; client_max_window_bits=15"},
     "permessage-deflate", 0, 0, 15, 15},
    {"client window 8 offered", 15, 15, 0, 0, 1, {"permessage-deflate; client_max_window_bits=8"},
     "permessage-deflate; client_max_window_bits=8", 0, 0, 15, 8},
    {"server window 10 offered", 15, 15, 0, 0, 1, {"permessage-deflate; server_max_window_bits=10"},
     "permessage-deflate; server_max_window_bits=10", 0, 0, 10, 15},
    {"server window 15 offered: answered", 15, 15, 0, 0, 1,
     {"permessage-deflate; server_max_window_bits=15"},
     "permessage-deflate; server_max_window_bits=15", 0, 0, 15, 15},
    {"server window 8 offered: 8 (Z_RLE)", 15, 15, 0, 0, 1,
     {"permessage-deflate; server_max_window_bits=8"},
     "permessage-deflate; server_max_window_bits=8", 0, 0, 8, 15},
    {"server configured 12, not offered", 12, 15, 0, 0, 1, {"permessage-deflate"},
     "permessage-deflate; server_max_window_bits=12", 0, 0, 12, 15},
    {"server configured 12, 14 offered", 12, 15, 0, 0, 1,
     {"permessage-deflate; server_max_window_bits=14"},
     "permessage-deflate; server_max_window_bits=12", 0, 0, 12, 15},
    {"server configured 12, 10 offered", 12, 15, 0, 0, 1,
     {"permessage-deflate; server_max_window_bits=10"},
     "permessage-deflate; server_max_window_bits=10", 0, 0, 10, 15},
    {"no_context_takeover offered: echoed", 15, 15, 0, 0, 1,
     {"permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover", 1, 1, 15, 15},
    {"no_context_takeover configured", 15, 15, 1, 1, 1, {"permessage-deflate"},
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover", 1, 1, 15, 15},
    {"everything", 9, 9, 1, 1, 1,
     {"permessage-deflate; client_max_window_bits; server_max_window_bits=10; "
      "client_no_context_takeover; server_no_context_takeover"},
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "server_max_window_bits=9; client_max_window_bits=9", 1, 1, 9, 9},
    {"case-insensitive names, quoted value", 15, 15, 0, 0, 1,
     {"PerMessage-Deflate; Client_Max_Window_Bits=\"12\"; SERVER_NO_CONTEXT_TAKEOVER"},
     "permessage-deflate; server_no_context_takeover; client_max_window_bits=12", 1, 0, 15, 12},
    {"quoted-pair in value", 15, 15, 0, 0, 1, {"permessage-deflate; server_max_window_bits=\"1\\1\""},
     "permessage-deflate; server_max_window_bits=11", 0, 0, 11, 15},
    {"no spaces", 15, 15, 0, 0, 1, {"permessage-deflate;server_max_window_bits=9;client_max_window_bits"},
     "permessage-deflate; server_max_window_bits=9", 0, 0, 9, 15},
    {"spaces around = and ;", 15, 15, 0, 0, 1,
     {"permessage-deflate ;\tserver_max_window_bits = 10 ; client_no_context_takeover "},
     "permessage-deflate; client_no_context_takeover; server_max_window_bits=10", 0, 1, 10, 15},
    {"several offers: the first", 15, 15, 0, 0, 1,
     {"permessage-deflate; server_max_window_bits=10; client_max_window_bits=10, "
      "permessage-deflate; client_max_window_bits, permessage-deflate"},
     "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10", 0, 0, 10, 10},
    {"unknown parameter: next offer", 15, 15, 0, 0, 1,
     {"permessage-deflate; foo, permessage-deflate; client_max_window_bits=9"},
     "permessage-deflate; client_max_window_bits=9", 0, 0, 15, 9},
    {"other extensions skipped", 15, 15, 0, 0, 1,
     {"x-webkit-deflate-frame, foo; bar=1; baz=\"a,b;c\", permessage-deflate; server_max_window_bits=13"},
     "permessage-deflate; server_max_window_bits=13", 0, 0, 13, 15},
    {"empty list elements", 15, 15, 0, 0, 1, {" , ,permessage-deflate , "}, "permessage-deflate", 0, 0,
     15, 15},
    {"second header", 15, 15, 0, 0, 1, {"foo", "permessage-deflate; client_max_window_bits=11"},
     "permessage-deflate; client_max_window_bits=11", 0, 0, 15, 11},
    {"bad offer in first header, good in second", 15, 15, 0, 0, 1,
     {"permessage-deflate; server_max_window_bits=16", "bar, permessage-deflate"},
     "permessage-deflate", 0, 0, 15, 15},
    {"syntax error then a good offer", 15, 15, 0, 0, 1,
     {"permessage-deflate; =10, permessage-deflate; client_max_window_bits=11"},
     "permessage-deflate; client_max_window_bits=11", 0, 0, 15, 11},
    {"bad quoted string then a good offer", 15, 15, 0, 0, 1,
     {"permessage-deflate; x=\"a\x01,b\", permessage-deflate; server_max_window_bits=12"},
     "permessage-deflate; server_max_window_bits=12", 0, 0, 12, 15},
    {"disabled", 15, 15, 0, 0, 0, {"permessage-deflate"}, NULL, 0, 0, 0, 0},
    {"no header", 15, 15, 0, 0, 1, {NULL}, NULL, 0, 0, 0, 0},
    {"empty value", 15, 15, 0, 0, 1, {""}, NULL, 0, 0, 0, 0},
    {"only other extensions", 15, 15, 0, 0, 1, {"x-webkit-deflate-frame, permessage-deflatex"}, NULL,
     0, 0, 0, 0},
    {"repeated server_no_context_takeover", 15, 15, 0, 0, 1,
     {"permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, NULL, 0, 0, 0, 0},
    {"repeated client_max_window_bits", 15, 15, 0, 0, 1,
     {"permessage-deflate; client_max_window_bits; client_max_window_bits=10"}, NULL, 0, 0, 0, 0},
    {"repeated server_max_window_bits", 15, 15, 0, 0, 1,
     {"permessage-deflate; server_max_window_bits=10; server_max_window_bits=10"}, NULL, 0, 0, 0, 0},
    {"server_max_window_bits=7", 15, 15, 0, 0, 1, {"permessage-deflate; server_max_window_bits=7"},
     NULL, 0, 0, 0, 0},
    {"server_max_window_bits=16", 15, 15, 0, 0, 1, {"permessage-deflate; server_max_window_bits=16"},
     NULL, 0, 0, 0, 0},
    {"server_max_window_bits=08", 15, 15, 0, 0, 1, {"permessage-deflate; server_max_window_bits=08"},
     NULL, 0, 0, 0, 0},
    {"server_max_window_bits=010", 15, 15, 0, 0, 1, {"permessage-deflate; server_max_window_bits=010"},
     NULL, 0, 0, 0, 0},
    {"server_max_window_bits without value", 15, 15, 0, 0, 1,
     {"permessage-deflate; server_max_window_bits"}, NULL, 0, 0, 0, 0},
    {"server_max_window_bits=\"\"", 15, 15, 0, 0, 1, {"permessage-deflate; server_max_window_bits=\"\""},
     NULL, 0, 0, 0, 0},
    {"server_max_window_bits=abc", 15, 15, 0, 0, 1, {"permessage-deflate; server_max_window_bits=abc"},
     NULL, 0, 0, 0, 0},
    {"server_max_window_bits=\"1 0\"", 15, 15, 0, 0, 1,
     {"permessage-deflate; server_max_window_bits=\"1 0\""}, NULL, 0, 0, 0, 0},
    {"client_max_window_bits=7", 15, 15, 0, 0, 1, {"permessage-deflate; client_max_window_bits=7"},
     NULL, 0, 0, 0, 0},
    {"client_max_window_bits=-9", 15, 15, 0, 0, 1, {"permessage-deflate; client_max_window_bits=-9"},
     NULL, 0, 0, 0, 0},
    {"value on client_no_context_takeover", 15, 15, 0, 0, 1,
     {"permessage-deflate; client_no_context_takeover=1"}, NULL, 0, 0, 0, 0},
    {"empty quoted value on server_no_context_takeover", 15, 15, 0, 0, 1,
     {"permessage-deflate; server_no_context_takeover=\"\""}, NULL, 0, 0, 0, 0},
    {"unknown parameter", 15, 15, 0, 0, 1, {"permessage-deflate; mux"}, NULL, 0, 0, 0, 0},
    {"trailing semicolon", 15, 15, 0, 0, 1, {"permessage-deflate;"}, NULL, 0, 0, 0, 0},
    {"missing semicolon", 15, 15, 0, 0, 1, {"permessage-deflate client_max_window_bits"}, NULL, 0, 0,
     0, 0},
    {"unterminated quote", 15, 15, 0, 0, 1, {"permessage-deflate; server_max_window_bits=\"10"}, NULL,
     0, 0, 0, 0},
    {"value missing after =", 15, 15, 0, 0, 1, {"permessage-deflate; server_max_window_bits="}, NULL,
     0, 0, 0, 0},
    {"quoted extension name", 15, 15, 0, 0, 1, {"\"permessage-deflate\""}, NULL, 0, 0, 0, 0},
};

static void test_negotiation(void)
{
    size_t i;
    for (i = 0; i < sizeof neg_cases / sizeof neg_cases[0]; i++) {
        const neg_case *t = &neg_cases[i];
        wsd_pmd_config cfg;
        wsd_pmd_params pp;
        char resp[WSD_PMD_RESPONSE_MAX];
        size_t lens[3], n = 0;
        int r;

        wsd_pmd_config_default(&cfg);
        cfg.server_max_window_bits = t->cfg_s;
        cfg.client_max_window_bits = t->cfg_c;
        cfg.server_no_context_takeover = t->cfg_snct;
        cfg.client_no_context_takeover = t->cfg_cnct;
        cfg.enabled = t->enabled;
        while (n < 3 && t->h[n]) {
            lens[n] = strlen(t->h[n]);
            n++;
        }
        memset(&pp, 0x55, sizeof pp);
        strcpy(resp, "untouched");
        r = wsd_pmd_negotiate(&cfg, t->h, lens, n, &pp, resp);
        if (!t->want) {
            is_int(r, 0, "negotiate: %s: declined", t->name);
            is_str(resp, "untouched", "negotiate: %s: no response", t->name);
            continue;
        }
        is_int(r, 1, "negotiate: %s: accepted", t->name);
        is_str(resp, t->want, "negotiate: %s: response", t->name);
        ok(pp.server_no_context_takeover == t->snct && pp.client_no_context_takeover == t->cnct &&
               pp.server_max_window_bits == t->sw && pp.client_max_window_bits == t->cw,
           "negotiate: %s: params (%d %d %d %d)", t->name, pp.server_no_context_takeover,
           pp.client_no_context_takeover, pp.server_max_window_bits, pp.client_max_window_bits);
    }
}

static void test_negotiation_request(void)
{
    wsd_request r;
    wsd_pmd_config cfg;
    wsd_pmd_params pp;
    char resp[WSD_PMD_RESPONSE_MAX];
    static const char *names[] = {"Host", "sec-websocket-extensions", "Upgrade",
                                  "Sec-WebSocket-Extensions"};
    static const char *values[] = {"example.com", "permessage-deflate; mux",
                                   "websocket", "permessage-deflate; server_max_window_bits=11"};
    size_t i;

    memset(&r, 0, sizeof r);
    for (i = 0; i < 4; i++) {
        r.headers[i].name = names[i];
        r.headers[i].name_len = strlen(names[i]);
        r.headers[i].value = values[i];
        r.headers[i].value_len = strlen(values[i]);
    }
    r.nheaders = 4;
    wsd_pmd_config_default(&cfg);
    is_int(wsd_pmd_negotiate_request(&cfg, &r, &pp, resp), 1,
           "request: second Sec-WebSocket-Extensions header accepted");
    is_str(resp, "permessage-deflate; server_max_window_bits=11", "request: response");
    is_int(pp.server_max_window_bits, 11, "request: server window");
    r.nheaders = 2;
    is_int(wsd_pmd_negotiate_request(&cfg, &r, &pp, resp), 0, "request: bad only offer declined");
    cfg.enabled = 0;
    r.nheaders = 4;
    is_int(wsd_pmd_negotiate_request(&cfg, &r, &pp, resp), 0, "request: disabled");
}

static void test_config_default(void)
{
    wsd_pmd_config cfg;
    wsd_pmd_config_default(&cfg);
    ok(cfg.enabled == 1 && cfg.server_max_window_bits == 15 && cfg.client_max_window_bits == 15 &&
           cfg.server_no_context_takeover == 0 && cfg.client_no_context_takeover == 0 &&
           cfg.level == 6 && cfg.mem_level == 8 && cfg.threshold == 64,
       "config defaults");
}

/* ---- RFC 7692 §7.2.3 examples ------------------------------------------------- */

static void test_rfc_examples(void)
{
    static const uint8_t hello_c[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    static const uint8_t hello_again[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    static const uint8_t stored[] = {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00};
    static const uint8_t bfinal[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00};
    wsd_pmd p;
    buf out = {0};
    size_t i, j;

    /* §7.2.3.1, deflate side */
    mkpmd(&p, 0, 0, 15, 15, 8, 0);
    is_int(deflate_msg(&p, HX("Hello"), 0, &out), WSD_PMD_OK, "rfc: deflate Hello");
    is_mem(out.p, out.n, hello_c, sizeof hello_c, "rfc 7.2.3.1: Hello → f2 48 cd c9 c9 07 00");
    /* §7.2.3.2: the second message with the window shared */
    out.n = 0;
    deflate_msg(&p, HX("Hello"), 0, &out);
    is_mem(out.p, out.n, hello_again, sizeof hello_again, "rfc 7.2.3.2: second Hello → f2 00 11 00 00");
    ok(wsd_pmd_memory(&p) > 0, "rfc: context takeover keeps the deflater (%zu bytes)",
       wsd_pmd_memory(&p));
    wsd_pmd_free(&p);
    is_int(wsd_pmd_memory(&p), 0, "rfc: free releases everything");

    /* with server_no_context_takeover the second is like the first */
    mkpmd(&p, 1, 0, 15, 15, 8, 0);
    out.n = 0;
    deflate_msg(&p, HX("Hello"), 0, &out);
    is_int(wsd_pmd_memory(&p), 0, "rfc: no_context_takeover: deflater released after the message");
    out.n = 0;
    deflate_msg(&p, HX("Hello"), 0, &out);
    is_mem(out.p, out.n, hello_c, sizeof hello_c, "rfc: no_context_takeover: second Hello = first");
    wsd_pmd_free(&p);

    /* inflate side */
    mkpmd(&p, 0, 0, 15, 15, 8, 0);
    out.n = 0;
    is_int(inflate_whole(&p, hello_c, sizeof hello_c, 16384, &out), WSD_PMD_END, "rfc: inflate Hello");
    is_mem(out.p, out.n, "Hello", 5, "rfc 7.2.3.1: f2 48 cd c9 c9 07 00 → Hello");
    out.n = 0;
    is_int(inflate_whole(&p, hello_again, sizeof hello_again, 16384, &out), WSD_PMD_END,
           "rfc: inflate the shared-window message");
    is_mem(out.p, out.n, "Hello", 5, "rfc 7.2.3.2: f2 00 11 00 00 → Hello (window kept)");
    out.n = 0;
    is_int(inflate_whole(&p, stored, sizeof stored, 16384, &out), WSD_PMD_END,
           "rfc: inflate the no-compression block");
    is_mem(out.p, out.n, "Hello", 5, "rfc 7.2.3.4: 00 05 00 fa ff Hello 00 → Hello");
    out.n = 0;
    is_int(inflate_whole(&p, bfinal, sizeof bfinal, 16384, &out), WSD_PMD_END,
           "rfc: inflate the BFINAL example");
    is_mem(out.p, out.n, "Hello", 5, "rfc 7.2.3.5: f3 48 cd c9 c9 07 00 00 → Hello");
    /* after a BFINAL block the window is kept: the next message refers to it */
    out.n = 0;
    is_int(inflate_whole(&p, hello_again, sizeof hello_again, 16384, &out), WSD_PMD_END,
           "rfc: inflate after BFINAL");
    is_mem(out.p, out.n, "Hello", 5, "rfc: window kept across a BFINAL block");
    wsd_pmd_free(&p);

    /* BFINAL without the trailing 00 (the stream just ends) */
    mkpmd(&p, 0, 0, 15, 15, 8, 0);
    out.n = 0;
    is_int(inflate_whole(&p, bfinal, sizeof bfinal - 1, 16384, &out), WSD_PMD_END,
           "rfc: BFINAL block ending the payload exactly");
    is_mem(out.p, out.n, "Hello", 5, "rfc: f3 48 cd c9 c9 07 00 → Hello");
    wsd_pmd_free(&p);

    /* §7.2.3.1 fragmented: f2 48 cd | c9 c9 07 00, and every other split,
     * with output capacities 1, 2 and 16384 */
    {
        const uint8_t *vec[4] = {hello_c, stored, bfinal, hello_c};
        size_t vlen[4] = {sizeof hello_c, sizeof stored, sizeof bfinal, sizeof hello_c};
        size_t caps[3] = {1, 2, 16384};
        int bad = 0, tried = 0;
        size_t v, c;
        for (v = 0; v < 4; v++)
            for (c = 0; c < 3; c++)
                for (i = 0; i <= vlen[v]; i++)
                    for (j = i; j <= vlen[v]; j++) {
                        size_t cuts[4] = {0, i, j, vlen[v]};
                        int r;
                        mkpmd(&p, 0, v == 3, 15, 15, 8, 0);
                        out.n = 0;
                        r = inflate_pieces(&p, vec[v], cuts, 3, caps[c], &out, NULL);
                        if (r != WSD_PMD_END || out.n != 5 || memcmp(out.p, "Hello", 5) != 0) {
                            if (!bad)
                                printf("# vector %zu cap %zu split %zu/%zu: r=%d n=%zu\n", v,
                                       caps[c], i, j, r, out.n);
                            bad++;
                        }
                        if (v == 3 && wsd_pmd_memory(&p) != 0)
                            bad++;
                        tried++;
                        wsd_pmd_free(&p);
                    }
        ok(bad == 0, "rfc vectors inflated in 3 pieces at every pair of split points, caps 1/2/16384 "
           "(%d runs)", tried);
    }
    buf_free(&out);
}

/* ---- round trips ------------------------------------------------------------ */

static void test_round_trips(void)
{
    enum { NMSG = 7 };
    static const size_t sizes[NMSG] = {0, 1, 5, 300, 5000, 70000, 200000};
    uint8_t *msg[NMSG];
    int sw, nct, ml, bad_rt = 0, bad_z = 0, runs = 0;
    size_t k;

    for (k = 0; k < NMSG; k++) {
        msg[k] = malloc(sizes[k] ? sizes[k] : 1);
        if (k == 5)
            fill_random(msg[k], sizes[k]);
        else if (k == 6)
            memset(msg[k], 'z', sizes[k]);
        else
            fill_text(msg[k], sizes[k]);
    }
    for (sw = 8; sw <= 15; sw++)
        for (nct = 0; nct <= 1; nct++)
            for (ml = 1; ml <= 9; ml += 4) {
                wsd_pmd tx, rx;
                buf payload[NMSG * 2], all = {0}, z = {0};
                size_t m;
                memset(payload, 0, sizeof payload);
                /* server deflates with window sw; the client side inflates
                 * with client window = sw */
                mkpmd(&tx, nct, 0, sw, 15, ml, 0);
                mkpmd(&rx, 0, nct, 15, sw, 8, 0);
                for (m = 0; m < NMSG * 2; m++) {
                    size_t idx = m % NMSG, chunk = m < NMSG ? 0 : 1000;
                    buf got = {0};
                    int r = deflate_msg(&tx, msg[idx], sizes[idx], chunk, &payload[m]);
                    if (r == WSD_PMD_OK)
                        r = inflate_whole(&rx, payload[m].p, payload[m].n, m & 1 ? 7 : 16384, &got);
                    if (r != WSD_PMD_END || got.n != sizes[idx] ||
                        (got.n && memcmp(got.p, msg[idx], got.n) != 0)) {
                        if (!bad_rt)
                            printf("# round trip sw=%d nct=%d ml=%d msg %zu: r=%d got %zu of %zu\n",
                                   sw, nct, ml, m, r, got.n, sizes[idx]);
                        bad_rt++;
                    }
                    if (nct && (wsd_pmd_memory(&tx) != 0 || wsd_pmd_memory(&rx) != 0))
                        bad_rt++;
                    if (!nct && m > 0 && (wsd_pmd_memory(&tx) == 0 || wsd_pmd_memory(&rx) == 0))
                        bad_rt++;
                    put(&all, msg[idx], sizes[idx]);
                    buf_free(&got);
                    runs++;
                }
                /* zlib with exactly sw bits of window accepts the stream */
                if (zlib_check(payload, NMSG * 2, sw, nct, &z) != 0 || z.n != all.n ||
                    memcmp(z.p, all.p, all.n) != 0) {
                    if (!bad_z)
                        printf("# zlib -%d check failed (nct=%d ml=%d): %zu of %zu bytes\n", sw, nct,
                               ml, z.n, all.n);
                    bad_z++;
                }
                for (m = 0; m < NMSG * 2; m++)
                    buf_free(&payload[m]);
                buf_free(&all);
                buf_free(&z);
                wsd_pmd_free(&tx);
                wsd_pmd_free(&rx);
            }
    ok(bad_rt == 0, "round trips: windows 8..15 x context takeover or not x memLevel 1/5/9, "
       "whole and 1000-byte chunks, output caps 7/16384 (%d messages)", runs);
    ok(bad_z == 0, "round trips: zlib with exactly the announced window (one output byte a call) "
       "decodes every stream");
    for (k = 0; k < NMSG; k++)
        free(msg[k]);
}

static void test_context_takeover(void)
{
    uint8_t m[2000];
    buf a = {0}, b = {0};
    wsd_pmd p;

    fill_text(m, sizeof m);
    mkpmd(&p, 0, 0, 15, 15, 8, 0);
    deflate_msg(&p, m, sizeof m, 0, &a);
    deflate_msg(&p, m, sizeof m, 0, &b);
    ok(b.n < a.n / 10, "takeover: a repeated 2000-byte message costs %zu bytes the second "
       "time (first %zu)", b.n, a.n);
    wsd_pmd_free(&p);
    a.n = b.n = 0;
    mkpmd(&p, 1, 0, 15, 15, 8, 0);
    deflate_msg(&p, m, sizeof m, 0, &a);
    deflate_msg(&p, m, sizeof m, 0, &b);
    is_mem(b.p, b.n, a.p, a.n, "no takeover: the repeat compresses exactly like the first");
    wsd_pmd_free(&p);

    /* an inflater without takeover cannot decode a message that relies on it */
    {
        wsd_pmd tx, rx;
        buf c1 = {0}, c2 = {0}, o = {0};
        mkpmd(&tx, 0, 0, 15, 15, 8, 0);
        deflate_msg(&tx, m, sizeof m, 0, &c1);
        deflate_msg(&tx, m, sizeof m, 0, &c2);
        mkpmd(&rx, 0, 1, 15, 15, 8, 0);
        is_int(inflate_whole(&rx, c1.p, c1.n, 16384, &o), WSD_PMD_END, "no takeover rx: first ok");
        is_int(wsd_pmd_memory(&rx), 0, "no takeover rx: inflater released between messages");
        o.n = 0;
        is_int(inflate_whole(&rx, c2.p, c2.n, 16384, &o), WSD_PMD_E_DATA,
               "no takeover rx: a reference to the previous message is invalid data");
        wsd_pmd_free(&rx);
        mkpmd(&rx, 0, 0, 15, 15, 8, 0);
        o.n = 0;
        inflate_whole(&rx, c1.p, c1.n, 16384, &o);
        ok(wsd_pmd_memory(&rx) > 0, "takeover rx: inflater kept between messages (%zu bytes)",
           wsd_pmd_memory(&rx));
        o.n = 0;
        is_int(inflate_whole(&rx, c2.p, c2.n, 16384, &o), WSD_PMD_END, "takeover rx: second ok");
        is_mem(o.p, o.n, m, sizeof m, "takeover rx: second message content");
        wsd_pmd_free(&tx);
        wsd_pmd_free(&rx);
        buf_free(&c1);
        buf_free(&c2);
        buf_free(&o);
    }
    buf_free(&a);
    buf_free(&b);
}

/* The negotiated client window is enforced where zlib can see it: a
 * reference further back than the window, across output chunks. */
static void test_client_window(void)
{
    uint8_t m[3000];
    buf c = {0}, o = {0};
    wsd_pmd tx, rx;

    fill_random(m, 1000);
    memcpy(m + 1000, m, 1000);
    memcpy(m + 2000, m, 1000);
    mkpmd(&tx, 0, 0, 15, 15, 8, 0);
    deflate_msg(&tx, m, sizeof m, 0, &c);
    mkpmd(&rx, 0, 0, 15, 9, 8, 0);
    is_int(inflate_whole(&rx, c.p, c.n, 100, &o), WSD_PMD_E_DATA,
           "client window 9: a 1000-byte distance is invalid data");
    is_int(wsd_pmd_memory(&rx), 0, "client window 9: inflater released on error");
    wsd_pmd_free(&rx);
    mkpmd(&rx, 0, 0, 15, 10, 8, 0);
    o.n = 0;
    is_int(inflate_whole(&rx, c.p, c.n, 100, &o), WSD_PMD_END, "client window 10: accepted");
    is_mem(o.p, o.n, m, sizeof m, "client window 10: content");
    wsd_pmd_free(&rx);
    wsd_pmd_free(&tx);
    buf_free(&c);
    buf_free(&o);
}

/* A longer compressed message (several blocks, with matches) fed split at
 * every point, and short ones at every pair of points. */
static void test_every_split(void)
{
    uint8_t m[3000];
    buf c = {0}, o = {0};
    wsd_pmd p;
    size_t i, j;
    int bad = 0, runs = 0;

    fill_text(m, sizeof m);
    mkpmd(&p, 0, 0, 15, 15, 8, 0);
    deflate_msg(&p, m, sizeof m, 700, &c);        /* with sync flushes inside */
    wsd_pmd_free(&p);
    for (i = 0; i <= c.n; i++) {
        size_t cuts[3] = {0, i, c.n};
        size_t caps[2] = {1, 16384};
        int k;
        for (k = 0; k < 2; k++) {
            int r;
            mkpmd(&p, 0, 0, 15, 15, 8, 0);
            o.n = 0;
            r = inflate_pieces(&p, c.p, cuts, 2, caps[k], &o, NULL);
            if (r != WSD_PMD_END || o.n != sizeof m || memcmp(o.p, m, sizeof m) != 0)
                bad++;
            runs++;
            wsd_pmd_free(&p);
        }
    }
    ok(bad == 0, "split: a %zu-byte compressed message in 2 pieces at every point (%d runs)", c.n,
       runs);

    /* 300 bytes at every pair of points, and byte by byte */
    c.n = 0;
    mkpmd(&p, 0, 0, 15, 15, 8, 0);
    deflate_msg(&p, m, 300, 0, &c);
    wsd_pmd_free(&p);
    bad = runs = 0;
    for (i = 0; i <= c.n; i++)
        for (j = i; j <= c.n; j++) {
            size_t cuts[4] = {0, i, j, c.n};
            int r;
            mkpmd(&p, 0, 0, 15, 15, 8, 0);
            o.n = 0;
            r = inflate_pieces(&p, c.p, cuts, 3, 64, &o, NULL);
            if (r != WSD_PMD_END || o.n != 300 || memcmp(o.p, m, 300) != 0)
                bad++;
            runs++;
            wsd_pmd_free(&p);
        }
    ok(bad == 0, "split: %zu bytes in 3 pieces at every pair of points (%d runs)", c.n, runs);
    {
        size_t *cuts = malloc((c.n + 1) * sizeof *cuts);
        int r;
        for (i = 0; i <= c.n; i++)
            cuts[i] = i;
        mkpmd(&p, 0, 0, 15, 15, 8, 0);
        o.n = 0;
        r = inflate_pieces(&p, c.p, cuts, c.n, 1, &o, NULL);
        ok(r == WSD_PMD_END && o.n == 300 && memcmp(o.p, m, 300) == 0,
           "split: byte by byte, one output byte at a time");
        wsd_pmd_free(&p);
        free(cuts);
    }
    buf_free(&c);
    buf_free(&o);
}

/* ---- what other senders do ------------------------------------------------- */

static void test_sender_variants(void)
{
    static const uint8_t hello_c[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    static const uint8_t hello_unstripped[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff};
    static const uint8_t hello_again[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    static const uint8_t empty_block[] = {0x00};
    wsd_pmd p;
    buf o = {0};
    size_t cuts[3];

    mkpmd(&p, 0, 1, 15, 15, 8, 0);
    is_int(inflate_whole(&p, NULL, 0, 16384, &o), WSD_PMD_END, "empty payload: the empty message");
    is_int(o.n, 0, "empty payload: no bytes");
    is_int(wsd_pmd_memory(&p), 0, "empty payload: nothing allocated");
    is_int(inflate_whole(&p, empty_block, 1, 16384, &o), WSD_PMD_END, "payload 00: the empty message");
    is_int(o.n, 0, "payload 00: no bytes");
    wsd_pmd_free(&p);

    /* python-websockets with a fragmented message: every fragment is sync
     * flushed, the tail stripped only if the final fragment ends with it, so
     * an empty final fragment leaves the previous one's 00 00 ff ff */
    mkpmd(&p, 0, 0, 15, 15, 8, 0);
    cuts[0] = 0;
    cuts[1] = sizeof hello_unstripped;
    cuts[2] = sizeof hello_unstripped;
    is_int(inflate_pieces(&p, hello_unstripped, cuts, 2, 16384, &o, NULL), WSD_PMD_END,
           "unstripped marker + empty final fragment");
    is_mem(o.p, o.n, "Hello", 5, "unstripped marker: Hello");
    o.n = 0;
    is_int(inflate_whole(&p, hello_again, sizeof hello_again, 16384, &o), WSD_PMD_END,
           "unstripped marker: the next message still shares the window");
    is_mem(o.p, o.n, "Hello", 5, "unstripped marker: next Hello");
    o.n = 0;
    is_int(inflate_whole(&p, hello_unstripped, sizeof hello_unstripped, 16384, &o), WSD_PMD_END,
           "a sender that never strips the marker");
    is_mem(o.p, o.n, "Hello", 5, "never stripped: Hello");
    o.n = 0;
    is_int(inflate_whole(&p, hello_c, sizeof hello_c, 16384, &o), WSD_PMD_END, "then a normal one");
    is_mem(o.p, o.n, "Hello", 5, "then a normal one: Hello");
    wsd_pmd_free(&p);

    /* our own deflater with an empty final chunk after a flushed one */
    {
        wsd_pmd tx;
        buf c = {0};
        size_t got;
        uint8_t out[64];
        mkpmd(&tx, 0, 0, 15, 15, 8, 0);
        wsd_pmd_deflate(&tx, (const uint8_t *)"Hello", 5, 0, out, sizeof out, &got);
        ok(got >= 4 && memcmp(out + got - 4, "\x00\x00\xff\xff", 4) == 0,
           "deflate: a non-final chunk ends with its sync flush");
        put(&c, out, got);
        wsd_pmd_deflate(&tx, NULL, 0, 1, out, sizeof out, &got);
        is_mem(out, got, "\x00", 1, "deflate: empty final chunk after a flush → 00");
        put(&c, out, got);
        mkpmd(&p, 0, 0, 15, 15, 8, 0);
        o.n = 0;
        is_int(inflate_whole(&p, c.p, c.n, 16384, &o), WSD_PMD_END, "deflate: that message inflates");
        is_mem(o.p, o.n, "Hello", 5, "deflate: Hello");
        c.n = 0;
        deflate_msg(&tx, (const uint8_t *)"Hello", 5, 0, &c);
        is_mem(c.p, c.n, hello_again, sizeof hello_again, "deflate: the window carries on after it");
        o.n = 0;
        is_int(inflate_whole(&p, c.p, c.n, 16384, &o), WSD_PMD_END, "and inflates");
        c.n = 0;
        wsd_pmd_deflate(&tx, NULL, 0, 1, out, sizeof out, &got);
        is_mem(out, got, "\x00", 1, "deflate: the empty message → 00");
        wsd_pmd_free(&tx);
        wsd_pmd_free(&p);
        buf_free(&c);
    }

    /* a payload of empty final blocks: every one restarts the stream */
    {
        buf c = {0};
        int k;
        for (k = 0; k < 20000; k++)
            put(&c, "\x03\x00", 2);
        mkpmd(&p, 0, 0, 15, 15, 8, 0);
        o.n = 0;
        is_int(inflate_whole(&p, c.p, c.n, 16384, &o), WSD_PMD_END, "20000 empty BFINAL blocks");
        is_int(o.n, 0, "20000 empty BFINAL blocks: no bytes");
        wsd_pmd_free(&p);
        buf_free(&c);
    }
    buf_free(&o);
}

/* ---- invalid data ------------------------------------------------------------ */

static void test_invalid(void)
{
    static const struct {
        const char *name;
        const char *data;
        size_t len;
    } bad[] = {
        {"block type 3", "\xff", 1},
        {"stored lengths that do not match", "\x00\x05\x00\x00\x00Hello\x00", 11},
        {"ends inside a stored block", "\x00\x05\x00\xfa\xff\x48\x65", 7},
        {"Hello without its last byte", "\xf2\x48\xcd\xc9\xc9\x07", 6},
        {"a match before the start", "\x02\x02\x00\x00", 4},   /* fixed block: len 3, dist 1 */
        {"invalid code lengths", "\x04\x00\xff\xff\xff\xff\xff\xff", 8},
    };
    size_t i;
    wsd_pmd p;
    buf o = {0};

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r;
        mkpmd(&p, 0, 0, 15, 15, 8, 0);
        o.n = 0;
        r = inflate_whole(&p, (const uint8_t *)bad[i].data, bad[i].len, 16384, &o);
        is_int(r, WSD_PMD_E_DATA, "invalid: %s → E_DATA", bad[i].name);
        is_int(wsd_pmd_memory(&p), 0, "invalid: %s: inflater released", bad[i].name);
        wsd_pmd_free(&p);
    }

    /* a reference into a dictionary the receiver never had */
    {
        z_stream z;
        uint8_t c[64];
        size_t clen;
        memset(&z, 0, sizeof z);
        deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
        deflateSetDictionary(&z, (const Bytef *)"Hello, world", 12);
        z.next_in = (Bytef *)"Hello, world";
        z.avail_in = 12;
        z.next_out = c;
        z.avail_out = sizeof c;
        deflate(&z, Z_SYNC_FLUSH);
        clen = sizeof c - z.avail_out - 4;
        deflateEnd(&z);
        mkpmd(&p, 0, 0, 15, 15, 8, 0);
        o.n = 0;
        is_int(inflate_whole(&p, c, clen, 16384, &o), WSD_PMD_E_DATA,
               "invalid: distance too far back → E_DATA");
        wsd_pmd_free(&p);
    }

    /* sticky */
    {
        const uint8_t *in = (const uint8_t *)"\xff";
        size_t inlen = 1, got = 99;
        uint8_t out[16];
        mkpmd(&p, 0, 0, 15, 15, 8, 0);
        is_int(wsd_pmd_inflate(&p, &in, &inlen, 1, out, sizeof out, &got), WSD_PMD_E_DATA,
               "sticky: first error");
        in = (const uint8_t *)"\xf2\x48\xcd\xc9\xc9\x07\x00";
        inlen = 7;
        is_int(wsd_pmd_inflate(&p, &in, &inlen, 1, out, sizeof out, &got), WSD_PMD_E_DATA,
               "sticky: later calls return it");
        ok(got == 0 && inlen == 7, "sticky: nothing consumed or produced");
        wsd_pmd_free(&p);
        inlen = 7;
        is_int(wsd_pmd_inflate(&p, &in, &inlen, 1, out, sizeof out, &got), WSD_PMD_END,
               "free: usable again");
        is_mem(out, got, "Hello", 5, "free: Hello");
        wsd_pmd_free(&p);
    }

    is_int(wsd_pmd_close_code(WSD_PMD_E_DATA), 1007, "close code: invalid data → 1007");
    is_int(wsd_pmd_close_code(WSD_PMD_E_TOO_BIG), 1009, "close code: too big → 1009");
    is_int(wsd_pmd_close_code(WSD_PMD_E_INTERNAL), 1011, "close code: internal → 1011");
    is_str(wsd_pmd_strerror(WSD_PMD_E_DATA), "invalid compressed data", "reason for 1007");
    ok(strlen(wsd_pmd_strerror(WSD_PMD_E_TOO_BIG)) > 0 &&
           strlen(wsd_pmd_strerror(WSD_PMD_E_INTERNAL)) > 0, "reasons for 1009 and 1011");
    buf_free(&o);
}

/* ---- decompression bomb ------------------------------------------------------- */

static void test_bomb(void)
{
    const size_t big = 10u * 1000 * 1000;
    uint8_t *zeros = calloc(1, big);
    buf c = {0}, o = {0};
    wsd_pmd p;
    size_t peak = 0, cuts[2];
    int r;

    mkpmd(&p, 0, 0, 15, 15, 8, 0);
    deflate_msg(&p, zeros, big, 0, &c);
    wsd_pmd_free(&p);
    ok(c.n < 20000, "bomb: 10 MB of zeros compress to %zu bytes", c.n);

    /* limit 1 MiB */
    mkpmd(&p, 0, 0, 15, 15, 8, 1 << 20);
    cuts[0] = 0;
    cuts[1] = c.n;
    r = inflate_pieces(&p, c.p, cuts, 1, WSD_PMD_CHUNK, &o, &peak);
    is_int(r, WSD_PMD_E_TOO_BIG, "bomb: stops with E_TOO_BIG (→ 1009)");
    ok(o.n <= (1 << 20), "bomb: at most the limit delivered (%zu bytes)", o.n);
    ok(peak <= 48 * 1024, "bomb: inflater memory peak %zu bytes (≤ 48 KiB)", peak);
    is_int(wsd_pmd_memory(&p), 0, "bomb: memory released after the error");
    wsd_pmd_free(&p);

    /* limit exactly the size: fine; one less: too big */
    mkpmd(&p, 0, 0, 15, 15, 8, big);
    o.n = 0;
    is_int(inflate_pieces(&p, c.p, cuts, 1, WSD_PMD_CHUNK, &o, NULL), WSD_PMD_END,
           "bomb: a limit of exactly 10 MB is enough");
    is_int(o.n, big, "bomb: all of it");
    wsd_pmd_free(&p);
    mkpmd(&p, 0, 0, 15, 15, 8, big - 1);
    o.n = 0;
    is_int(inflate_pieces(&p, c.p, cuts, 1, WSD_PMD_CHUNK, &o, NULL), WSD_PMD_E_TOO_BIG,
           "bomb: a limit one byte short fails");
    wsd_pmd_free(&p);

    /* the largest limits are as good as none (max - total + 1 must not wrap) */
    {
        static const uint64_t huge[] = {UINT64_MAX, UINT64_MAX - 1, INT64_MAX};
        size_t h;
        for (h = 0; h < sizeof huge / sizeof *huge; h++) {
            mkpmd(&p, 0, 0, 15, 15, 8, huge[h]);
            o.n = 0;
            is_int(inflate_pieces(&p, c.p, cuts, 1, WSD_PMD_CHUNK, &o, NULL), WSD_PMD_END,
                   "bomb: a limit of %llu is no limit", (unsigned long long)huge[h]);
            is_int(o.n, big, "  all of it");
            wsd_pmd_free(&p);
        }
    }

    /* unlimited: drained in ≤ 16 KiB pieces with the same fixed memory */
    {
        const uint8_t *in = c.p;
        size_t inlen = c.n, total = 0, maxgot = 0, calls = 0, nonzero = 0;
        uint8_t *out = malloc(WSD_PMD_CHUNK);
        peak = 0;
        mkpmd(&p, 0, 0, 15, 15, 8, 0);
        for (;;) {
            size_t got;
            r = wsd_pmd_inflate(&p, &in, &inlen, 1, out, WSD_PMD_CHUNK, &got);
            total += got;
            if (got > maxgot)
                maxgot = got;
            while (got)
                nonzero += out[--got] != 0;
            if (wsd_pmd_memory(&p) > peak)
                peak = wsd_pmd_memory(&p);
            calls++;
            if (r != WSD_PMD_OUTPUT)
                break;
        }
        is_int(r, WSD_PMD_END, "bomb unlimited: ends");
        ok(total == big && nonzero == 0, "bomb unlimited: 10 MB of zeros out");
        ok(maxgot <= WSD_PMD_CHUNK && calls >= big / WSD_PMD_CHUNK,
           "bomb unlimited: in %zu calls of ≤ %d bytes", calls, WSD_PMD_CHUNK);
        ok(peak <= 48 * 1024, "bomb unlimited: memory peak %zu bytes", peak);
        wsd_pmd_free(&p);
        free(out);
    }
    free(zeros);
    buf_free(&c);
    buf_free(&o);
}

/* ---- deflate bound ------------------------------------------------------------- */

static void test_deflate_bound(void)
{
    static const size_t sizes[] = {0, 1, 2, 100, 1000, 16383, 70000};
    uint8_t *rnd = malloc(70000);
    int ml, sw, lv, bad = 0, runs = 0;
    size_t k;

    fill_random(rnd, 70000);
    for (ml = 1; ml <= 9; ml++)
        for (sw = 8; sw <= 15; sw++)
            for (lv = 1; lv <= 9; lv += 8) {
                wsd_pmd p;
                wsd_pmd_config cfg;
                wsd_pmd_params pp = mkparams(0, 0, sw, 15);
                wsd_pmd_config_default(&cfg);
                cfg.mem_level = ml;
                cfg.level = lv;
                wsd_pmd_init(&p, &cfg, &pp, 0);
                for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
                    int fin;
                    for (fin = 0; fin <= 1; fin++) {
                        size_t cap = wsd_pmd_deflate_bound(sizes[k]), got;
                        uint8_t *o = malloc(cap);
                        if (wsd_pmd_deflate(&p, rnd, sizes[k], fin, o, cap, &got) != WSD_PMD_OK ||
                            got > cap)
                            bad++;
                        free(o);
                        runs++;
                    }
                }
                wsd_pmd_free(&p);
            }
    ok(bad == 0, "deflate bound holds for random data, memLevel 1..9, windows 8..15, "
       "levels 1/9 (%d calls)", runs);
    {
        wsd_pmd p;
        uint8_t o[8];
        size_t got;
        mkpmd(&p, 0, 0, 15, 15, 8, 0);
        is_int(wsd_pmd_deflate(&p, rnd, 1000, 1, o, sizeof o, &got), WSD_PMD_E_INTERNAL,
               "deflate: too small a buffer is an error, not an overrun");
        is_int(wsd_pmd_memory(&p), 0, "deflate: and the deflater is released");
        wsd_pmd_free(&p);
    }
    free(rnd);
}

/* ---- frame rewriting ---------------------------------------------------------- */

typedef struct {
    int fin, rsv, opcode;
    buf payload;
} sframe;

/* Parses unmasked server frames with minimal lengths. Returns the count, or
 * -1 if malformed. */
static int parse_frames(const uint8_t *f, size_t n, sframe *out, int max)
{
    size_t pos = 0;
    int cnt = 0;
    while (pos < n) {
        uint64_t len;
        size_t hl = 2, k;
        if (n - pos < 2 || cnt == max || (f[pos + 1] & 0x80))
            return -1;
        len = f[pos + 1] & 0x7f;
        if (len >= 126) {
            size_t ext = len == 126 ? 2 : 8;
            if (n - pos < 2 + ext)
                return -1;
            len = 0;
            for (k = 0; k < ext; k++)
                len = len << 8 | f[pos + 2 + k];
            if ((ext == 2 && len < 126) || (ext == 8 && len < 65536))
                return -1;
            hl += ext;
        }
        if (len > n - pos - hl)
            return -1;
        memset(&out[cnt], 0, sizeof out[cnt]);
        out[cnt].fin = f[pos] >> 7;
        out[cnt].rsv = (f[pos] >> 4) & 7;
        out[cnt].opcode = f[pos] & 15;
        put(&out[cnt].payload, f + pos + hl, (size_t)len);
        cnt++;
        pos += hl + (size_t)len;
    }
    return cnt;
}

static void add_frame(buf *b, int opcode, int fin, const void *p, size_t n)
{
    uint8_t h[WSD_WS_MAX_HEADER];
    size_t hl = wsd_ws_header(h, opcode, fin, 0, n);
    put(b, h, hl);
    put(b, p, n);
}

/* Runs encode_frames with out allocated at exactly the bound. */
static int encode(wsd_pmd *p, const buf *in, buf *out)
{
    size_t cap = wsd_pmd_frames_bound(in->p, in->n), got;
    uint8_t *o = malloc(cap ? cap : 1);
    int r = wsd_pmd_encode_frames(p, in->p, in->n, o, cap, &got);
    if (r == WSD_PMD_OK)
        put(out, o, got);
    free(o);
    return r;
}

static void test_encode_frames(void)
{
    uint8_t text[1000], rnd[1000];
    buf in = {0}, out = {0}, msgpay = {0}, o = {0};
    sframe fr[8];
    wsd_pmd tx, rx;
    int n, i;

    fill_text(text, sizeof text);
    fill_random(rnd, sizeof rnd);
    mkpmd(&tx, 0, 0, 15, 15, 8, 0);
    mkpmd(&rx, 0, 0, 15, 15, 8, 0);

    /* below the threshold: untouched */
    add_frame(&in, WSD_WS_TEXT, 1, "hi", 2);
    add_frame(&in, WSD_WS_TEXT, 1, "", 0);
    is_int(encode(&tx, &in, &out), WSD_PMD_OK, "frames: short messages");
    is_mem(out.p, out.n, in.p, in.n, "frames: short messages go out as they are");
    is_int(wsd_pmd_memory(&tx), 0, "frames: and allocate nothing");

    /* one big text frame, a ping, then a message fragmented over two calls */
    in.n = out.n = 0;
    add_frame(&in, WSD_WS_TEXT, 1, text, sizeof text);
    add_frame(&in, WSD_WS_PING, 1, "p", 1);
    add_frame(&in, WSD_WS_BINARY, 0, text, 10);
    add_frame(&in, WSD_WS_CONT, 0, text + 10, 490);
    is_int(encode(&tx, &in, &out), WSD_PMD_OK, "frames: mixed, first call");
    in.n = 0;
    add_frame(&in, WSD_WS_PONG, 1, "", 0);
    add_frame(&in, WSD_WS_CONT, 1, text + 500, 500);
    add_frame(&in, WSD_WS_TEXT, 0, text, 100);
    add_frame(&in, WSD_WS_CONT, 1, "", 0);
    is_int(encode(&tx, &in, &out), WSD_PMD_OK, "frames: mixed, second call");
    n = parse_frames(out.p, out.n, fr, 8);
    is_int(n, 8, "frames: 8 frames out");
    if (n == 8) {
        ok(fr[0].opcode == WSD_WS_TEXT && fr[0].fin && fr[0].rsv == 4 && fr[0].payload.n < 1000,
           "frames: big text compressed, RSV1 (%zu bytes)", fr[0].payload.n);
        ok(fr[1].opcode == WSD_WS_PING && fr[1].rsv == 0 && fr[1].payload.n == 1,
           "frames: ping passed through");
        ok(fr[2].opcode == WSD_WS_BINARY && !fr[2].fin && fr[2].rsv == 4,
           "frames: first fragment RSV1");
        ok(fr[3].opcode == WSD_WS_CONT && !fr[3].fin && fr[3].rsv == 0,
           "frames: continuation without RSV1");
        ok(fr[4].opcode == WSD_WS_PONG && fr[4].rsv == 0, "frames: pong passed through");
        ok(fr[5].opcode == WSD_WS_CONT && fr[5].fin && fr[5].rsv == 0, "frames: final continuation");
        ok(fr[6].opcode == WSD_WS_TEXT && !fr[6].fin && fr[6].rsv == 4,
           "frames: a partial line is compressed from its first fragment");
        ok(fr[7].opcode == WSD_WS_CONT && fr[7].fin && fr[7].rsv == 0 && fr[7].payload.n == 1,
           "frames: its empty end is one byte (00)");
        o.n = 0;
        is_int(inflate_whole(&rx, fr[0].payload.p, fr[0].payload.n, 16384, &o), WSD_PMD_END,
               "frames: big text inflates");
        is_mem(o.p, o.n, text, sizeof text, "frames: big text content");
        put(&msgpay, fr[2].payload.p, fr[2].payload.n);
        put(&msgpay, fr[3].payload.p, fr[3].payload.n);
        put(&msgpay, fr[5].payload.p, fr[5].payload.n);
        o.n = 0;
        is_int(inflate_whole(&rx, msgpay.p, msgpay.n, 16384, &o), WSD_PMD_END,
               "frames: fragmented message inflates");
        is_mem(o.p, o.n, text, sizeof text, "frames: fragmented message content");
        msgpay.n = 0;
        put(&msgpay, fr[6].payload.p, fr[6].payload.n);
        put(&msgpay, fr[7].payload.p, fr[7].payload.n);
        o.n = 0;
        is_int(inflate_whole(&rx, msgpay.p, msgpay.n, 16384, &o), WSD_PMD_END,
               "frames: partial line inflates");
        is_mem(o.p, o.n, text, 100, "frames: partial line content");
    }
    for (i = 0; i < (n > 0 ? n : 0); i++)
        buf_free(&fr[i].payload);
    wsd_pmd_free(&tx);
    wsd_pmd_free(&rx);

    /* no takeover: an incompressible one-frame message goes out plain */
    mkpmd(&tx, 1, 0, 15, 15, 8, 0);
    in.n = out.n = 0;
    add_frame(&in, WSD_WS_BINARY, 1, rnd, sizeof rnd);
    is_int(encode(&tx, &in, &out), WSD_PMD_OK, "frames: incompressible, no takeover");
    is_mem(out.p, out.n, in.p, in.n, "frames: incompressible goes out uncompressed");
    is_int(wsd_pmd_memory(&tx), 0, "frames: no takeover: nothing held");
    wsd_pmd_free(&tx);
    /* with takeover it must stay compressed (the window has seen it) */
    mkpmd(&tx, 0, 0, 15, 15, 8, 0);
    out.n = 0;
    is_int(encode(&tx, &in, &out), WSD_PMD_OK, "frames: incompressible, takeover");
    ok(out.n > 2 && (out.p[0] & 0x40), "frames: takeover: stays compressed (RSV1)");
    wsd_pmd_free(&tx);

    /* threshold */
    {
        wsd_pmd_config cfg;
        wsd_pmd_params pp = mkparams(0, 0, 15, 15);
        wsd_pmd_config_default(&cfg);
        cfg.threshold = 0;
        wsd_pmd_init(&tx, &cfg, &pp, 0);
        in.n = out.n = 0;
        add_frame(&in, WSD_WS_TEXT, 1, "", 0);
        is_int(encode(&tx, &in, &out), WSD_PMD_OK, "frames: threshold 0");
        is_mem(out.p, out.n, "\xc1\x01\x00", 3, "frames: threshold 0 compresses the empty message");
        wsd_pmd_free(&tx);
    }

    /* malformed input */
    mkpmd(&tx, 0, 0, 15, 15, 8, 0);
    in.n = out.n = 0;
    add_frame(&in, WSD_WS_CONT, 1, "x", 1);
    is_int(encode(&tx, &in, &out), WSD_PMD_E_INTERNAL, "frames: CONT with no message open");
    in.n = 0;
    put(&in, "\x81\x05hi", 4);
    is_int(encode(&tx, &in, &out), WSD_PMD_E_INTERNAL, "frames: truncated frame");
    in.n = 0;
    put(&in, "\xc1\x02hi", 4);
    is_int(encode(&tx, &in, &out), WSD_PMD_E_INTERNAL, "frames: RSV already set");
    in.n = 0;
    put(&in, "\x81\x82\x00\x00\x00\x00hi", 8);
    is_int(encode(&tx, &in, &out), WSD_PMD_E_INTERNAL, "frames: masked frame");
    wsd_pmd_free(&tx);

    buf_free(&in);
    buf_free(&out);
    buf_free(&msgpay);
    buf_free(&o);
}

/* ---- memory per connection ------------------------------------------------ */

static void test_memory_report(void)
{
    static const struct {
        int sw, ml;
    } dcfg[] = {{15, 8}, {15, 9}, {12, 8}, {10, 4}, {9, 1}, {8, 1}};
    uint8_t text[4000];
    size_t k;
    wsd_pmd p;
    buf c = {0}, o = {0};
    int cw;

    fill_text(text, sizeof text);
    mkpmd(&p, 0, 0, 15, 15, 8, 0);
    is_int(wsd_pmd_memory(&p), 0, "memory: nothing before the first message");
    ok(sizeof(wsd_pmd) <= 128, "memory: the per-connection struct is %zu bytes", sizeof(wsd_pmd));
    wsd_pmd_free(&p);
    for (k = 0; k < sizeof dcfg / sizeof dcfg[0]; k++) {
        mkpmd(&p, 0, 0, dcfg[k].sw, 15, dcfg[k].ml, 0);
        c.n = 0;
        deflate_msg(&p, text, sizeof text, 0, &c);
        printf("# memory: deflater window %2d memLevel %d: %7zu bytes held (4000 text bytes → %zu)\n",
               dcfg[k].sw, dcfg[k].ml, wsd_pmd_memory(&p), c.n);
        wsd_pmd_free(&p);
    }
    for (cw = 9; cw <= 15; cw += 3) {
        mkpmd(&p, 0, 0, 15, 15, 8, 0);
        c.n = 0;
        deflate_msg(&p, text, sizeof text, 0, &c);
        wsd_pmd_free(&p);
        mkpmd(&p, 0, 0, 15, cw, 8, 0);
        o.n = 0;
        inflate_whole(&p, c.p, c.n, 16384, &o);
        printf("# memory: inflater window %2d: %7zu bytes held\n", cw, wsd_pmd_memory(&p));
        if (cw == 15)
            ok(wsd_pmd_memory(&p) > 32768 && wsd_pmd_memory(&p) <= 48 * 1024,
               "memory: inflater with a 15-bit window holds %zu bytes", wsd_pmd_memory(&p));
        wsd_pmd_free(&p);
    }
    buf_free(&c);
    buf_free(&o);
}

int main(void)
{
    test_config_default();
    test_negotiation();
    test_negotiation_request();
    test_rfc_examples();
    test_round_trips();
    test_context_takeover();
    test_client_window();
    test_every_split();
    test_sender_variants();
    test_invalid();
    test_bomb();
    test_deflate_bound();
    test_encode_frames();
    test_memory_report();
    return done_testing();
}
