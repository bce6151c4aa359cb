/* pmd.c — RFC 7692 permessage-deflate (see pmd.h). */
#include "pmd.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util.h"
#include "ws.h"

#if ZLIB_VERNUM < 0x1280
#error "zlib 1.2.8 or later is needed (inflateResetKeep, raw windows of 9..15 bits)"
#endif

void wsd_pmd_config_default(wsd_pmd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->enabled = 1;
    cfg->server_max_window_bits = 15;
    cfg->client_max_window_bits = 15;
    cfg->level = 6;
    cfg->mem_level = 8;
    cfg->threshold = 64;
}

/* ------------------------------------------------------------ negotiation */

static void skip_ows(const char *v, size_t n, size_t *i)
{
    while (*i < n && (v[*i] == ' ' || v[*i] == '\t'))
        (*i)++;
}

static size_t token_len(const char *v, size_t n, size_t i)
{
    size_t s = i;
    while (i < n && wsd_is_tchar((unsigned char)v[i]))
        i++;
    return i - s;
}

/* A window-bits value: "8".."15", no leading zeros. Returns it, or -1. */
static int window_bits(const char *s, size_t n)
{
    if (n == 1 && (s[0] == '8' || s[0] == '9'))
        return s[0] - '0';
    if (n == 2 && s[0] == '1' && s[1] >= '0' && s[1] <= '5')
        return 10 + (s[1] - '0');
    return -1;
}

enum { P_ABSENT = -1, P_NOVALUE = 0 };

typedef struct {
    int ok;         /* no unknown, repeated or invalid parameter */
    int snct, cnct; /* *_no_context_takeover present */
    int smwb;       /* P_ABSENT or 8..15 */
    int cmwb;       /* P_ABSENT, P_NOVALUE or 8..15 */
} offer;

/* Applies one parameter (value NULL when it has none) to o. */
static void offer_param(offer *o, const char *name, size_t nlen, const char *val, size_t vlen)
{
    int bits = val ? window_bits(val, vlen) : P_NOVALUE;

    if (wsd_strncaseeq(name, nlen, "server_no_context_takeover")) {
        if (o->snct || val)
            o->ok = 0;
        o->snct = 1;
    } else if (wsd_strncaseeq(name, nlen, "client_no_context_takeover")) {
        if (o->cnct || val)
            o->ok = 0;
        o->cnct = 1;
    } else if (wsd_strncaseeq(name, nlen, "server_max_window_bits")) {
        if (o->smwb != P_ABSENT || bits <= 0)
            o->ok = 0;
        o->smwb = bits > 0 ? bits : 15;
    } else if (wsd_strncaseeq(name, nlen, "client_max_window_bits")) {
        if (o->cmwb != P_ABSENT || bits < 0)
            o->ok = 0;
        o->cmwb = bits >= 0 ? bits : P_NOVALUE;
    } else {
        o->ok = 0;
    }
}

/* Parses one list element at v[*i..n): extension-token *( ";" param ),
 * param = token [ "=" ( token / quoted-string ) ], OWS around separators.
 * Stops before the ',' that ends it. *is_pmd tells whether the extension is
 * permessage-deflate, *o what its parameters say. Returns 0, or -1 on a
 * syntax error (*i is then where it was found). */
static int parse_element(const char *v, size_t n, size_t *i, int *is_pmd, offer *o)
{
    size_t tl = token_len(v, n, *i);
    char qbuf[8];

    if (tl == 0)
        return -1;
    *is_pmd = wsd_strncaseeq(v + *i, tl, "permessage-deflate");
    *i += tl;
    o->ok = 1;
    o->snct = o->cnct = 0;
    o->smwb = o->cmwb = P_ABSENT;
    for (;;) {
        const char *name, *val = NULL;
        size_t nlen, vlen = 0;

        skip_ows(v, n, i);
        if (*i == n || v[*i] == ',')
            return 0;
        if (v[*i] != ';')
            return -1;
        (*i)++;
        skip_ows(v, n, i);
        name = v + *i;
        nlen = token_len(v, n, *i);
        if (nlen == 0)
            return -1;
        *i += nlen;
        skip_ows(v, n, i);
        if (*i < n && v[*i] == '=') {
            (*i)++;
            skip_ows(v, n, i);
            if (*i < n && v[*i] == '"') {
                /* quoted-string; after unescaping it must be a token
                 * (RFC 6455 §9.1). Only short values can be valid here:
                 * longer ones are read to the end and marked too long. */
                int closed = 0, bad = 0;
                (*i)++;
                while (*i < n) {
                    unsigned char c = (unsigned char)v[*i];
                    if (c == '"') {
                        (*i)++;
                        closed = 1;
                        break;
                    }
                    if (c == '\\') {
                        if (++*i == n)
                            break;
                        c = (unsigned char)v[*i];
                        if (c != '\t' && (c < 0x20 || c == 0x7f))
                            return -1;
                    } else if (c != '\t' && (c < 0x20 || c == 0x7f)) {
                        return -1;
                    }
                    if (!wsd_is_tchar(c))
                        bad = 1;
                    if (vlen < sizeof qbuf)
                        qbuf[vlen] = (char)c;
                    vlen++;
                    (*i)++;
                }
                if (!closed)
                    return -1;
                if (bad || vlen == 0 || vlen > sizeof qbuf) {
                    vlen = sizeof qbuf;          /* never a valid value */
                    memset(qbuf, 'x', sizeof qbuf);
                }
                val = qbuf;
            } else {
                vlen = token_len(v, n, *i);
                if (vlen == 0)
                    return -1;
                val = v + *i;
                *i += vlen;
            }
        }
        if (*is_pmd)
            offer_param(o, name, nlen, val, vlen);
    }
}

/* After a syntax error: skips to the ',' that ends the element (outside a
 * quoted string), or to the end. */
static void resync(const char *v, size_t n, size_t *i)
{
    int inq = 0;
    while (*i < n) {
        char c = v[*i];
        if (inq && c == '\\' && *i + 1 < n) {
            *i += 2;
            continue;
        }
        if (c == '"')
            inq = !inq;
        else if (c == ',' && !inq)
            return;
        (*i)++;
    }
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

/* Turns an acceptable offer into the agreed parameters and the response. */
static void accept_offer(const wsd_pmd_config *cfg, const offer *o, wsd_pmd_params *pp,
                         char *response)
{
    int cfg_s = cfg->server_max_window_bits, cfg_c = cfg->client_max_window_bits;
    int sw, cw;
    size_t len;

    if (cfg_s < 8 || cfg_s > 15)
        cfg_s = 15;
    if (cfg_c < 8 || cfg_c > 15)
        cfg_c = 15;
    if (cfg_c == 8)
        cfg_c = 9;      /* zlib-based clients cannot deflate raw with 8 */
    pp->server_no_context_takeover = o->snct || cfg->server_no_context_takeover;
    pp->client_no_context_takeover = o->cnct || cfg->client_no_context_takeover;
    sw = min_int(cfg_s, o->smwb == P_ABSENT ? 15 : o->smwb);
    cw = o->cmwb == P_ABSENT ? 15 : min_int(cfg_c, o->cmwb == P_NOVALUE ? 15 : o->cmwb);
    pp->server_max_window_bits = sw;
    pp->client_max_window_bits = cw;

    len = (size_t)snprintf(response, WSD_PMD_RESPONSE_MAX, "permessage-deflate");
    if (pp->server_no_context_takeover)
        len += (size_t)snprintf(response + len, WSD_PMD_RESPONSE_MAX - len,
                                "; server_no_context_takeover");
    if (pp->client_no_context_takeover)
        len += (size_t)snprintf(response + len, WSD_PMD_RESPONSE_MAX - len,
                                "; client_no_context_takeover");
    if (o->smwb != P_ABSENT || sw < 15)
        len += (size_t)snprintf(response + len, WSD_PMD_RESPONSE_MAX - len,
                                "; server_max_window_bits=%d", sw);
    if (o->cmwb != P_ABSENT && cw < 15)
        snprintf(response + len, WSD_PMD_RESPONSE_MAX - len, "; client_max_window_bits=%d", cw);
}

/* Looks for an acceptable offer in one header value. */
static int negotiate_value(const wsd_pmd_config *cfg, const char *v, size_t n,
                           wsd_pmd_params *pp, char *response)
{
    size_t i = 0;
    while (i < n) {
        int is_pmd = 0;
        size_t start;
        offer o;
        while (i < n && (v[i] == ',' || v[i] == ' ' || v[i] == '\t'))
            i++;                       /* empty list elements are allowed */
        if (i == n)
            break;
        start = i;
        if (parse_element(v, n, &i, &is_pmd, &o) < 0) {
            i = start;
            resync(v, n, &i);
            continue;
        }
        if (is_pmd && o.ok) {
            accept_offer(cfg, &o, pp, response);
            return 1;
        }
    }
    return 0;
}

int wsd_pmd_negotiate(const wsd_pmd_config *cfg, const char *const *v, const size_t *len,
                      size_t n, wsd_pmd_params *params, char *response)
{
    size_t k;
    if (!cfg->enabled)
        return 0;
    for (k = 0; k < n; k++)
        if (v[k] && negotiate_value(cfg, v[k], len[k], params, response))
            return 1;
    return 0;
}

int wsd_pmd_negotiate_request(const wsd_pmd_config *cfg, const wsd_request *r,
                              wsd_pmd_params *params, char *response)
{
    size_t k;
    if (!cfg->enabled)
        return 0;
    for (k = 0; k < r->nheaders; k++) {
        const wsd_http_header *h = &r->headers[k];
        if (wsd_strncaseeq(h->name, h->name_len, "Sec-WebSocket-Extensions") &&
            negotiate_value(cfg, h->value, h->value_len, params, response))
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------- counted streams */

/* zlib's allocations carry a header with their size, so that wsd_pmd_memory
 * can count what each connection holds. */
typedef union {
    size_t size;
    max_align_t align;
} alloc_hdr;

static voidpf counted_alloc(voidpf opaque, uInt items, uInt size)
{
    wsd_pmd *p = opaque;
    size_t n;
    alloc_hdr *h;

    if (size != 0 && items > (SIZE_MAX - sizeof(alloc_hdr)) / size)
        return Z_NULL;
    n = (size_t)items * size;
    h = xmalloc(sizeof *h + n);
    h->size = n;
    p->_held += sizeof *h + n;
    return h + 1;
}

static void counted_free(voidpf opaque, voidpf ptr)
{
    wsd_pmd *p = opaque;
    alloc_hdr *h;

    if (!ptr)
        return;
    h = (alloc_hdr *)ptr - 1;
    p->_held -= sizeof *h + h->size;
    free(h);
}

static z_stream *stream_new(wsd_pmd *p)
{
    z_stream *z = xcalloc(1, sizeof *z);
    p->_held += sizeof *z;
    z->zalloc = counted_alloc;
    z->zfree = counted_free;
    z->opaque = p;
    return z;
}

static void stream_free(wsd_pmd *p, z_stream *z)
{
    free(z);
    p->_held -= sizeof *z;
}

static void inflater_release(wsd_pmd *p)
{
    if (p->_inf) {
        inflateEnd(p->_inf);
        stream_free(p, p->_inf);
        p->_inf = NULL;
    }
}

static void deflater_release(wsd_pmd *p)
{
    if (p->_def) {
        deflateEnd(p->_def);
        stream_free(p, p->_def);
        p->_def = NULL;
    }
}

void wsd_pmd_init(wsd_pmd *p, const wsd_pmd_config *cfg, const wsd_pmd_params *params,
                  uint64_t max_message)
{
    memset(p, 0, sizeof *p);
    p->params = *params;
    if (p->params.server_max_window_bits < 8 || p->params.server_max_window_bits > 15)
        p->params.server_max_window_bits = 15;
    if (p->params.client_max_window_bits < 8 || p->params.client_max_window_bits > 15)
        p->params.client_max_window_bits = 15;
    p->level = cfg->level >= 1 && cfg->level <= 9 ? cfg->level : 6;
    p->mem_level = cfg->mem_level >= 1 && cfg->mem_level <= 9 ? cfg->mem_level : 8;
    p->threshold = cfg->threshold;
    p->max_message = max_message;
    p->_iboundary = 1;
}

void wsd_pmd_free(wsd_pmd *p)
{
    inflater_release(p);
    deflater_release(p);
    p->_ierr = 0;
    p->_imsg = p->_itail = p->_ipending = 0;
    p->_iboundary = 1;
    p->_itotal = 0;
    p->_dmsg = p->_fmsg = 0;
}

size_t wsd_pmd_memory(const wsd_pmd *p)
{
    return p->_held;
}

uint16_t wsd_pmd_close_code(int err)
{
    switch (err) {
    case WSD_PMD_E_DATA:
        return WSD_WS_CLOSE_INVALID_DATA;
    case WSD_PMD_E_TOO_BIG:
        return WSD_WS_CLOSE_TOO_BIG;
    default:
        return WSD_WS_CLOSE_INTERNAL;
    }
}

const char *wsd_pmd_strerror(int err)
{
    switch (err) {
    case WSD_PMD_E_DATA:
        return "invalid compressed data";
    case WSD_PMD_E_TOO_BIG:
        return "message too big";
    case WSD_PMD_E_INTERNAL:
        return "compression failed";
    default:
        return "";
    }
}

/* ---------------------------------------------------------------- inflate */

static const uint8_t sync_tail[4] = {0x00, 0x00, 0xff, 0xff};

static int inflate_fail(wsd_pmd *p, int err, size_t *outlen)
{
    p->_ierr = err;
    *outlen = 0;
    inflater_release(p);
    return err;
}

/* The message is complete: get ready for the next one. */
static int inflate_end_message(wsd_pmd *p)
{
    p->_imsg = 0;
    p->_itail = 0;
    p->_ipending = 0;
    if (p->params.client_no_context_takeover) {
        inflater_release(p);
        p->_iboundary = 1;
    }
    return WSD_PMD_END;
}

int wsd_pmd_inflate(wsd_pmd *p, const uint8_t **in, size_t *inlen, int fin,
                    uint8_t *out, size_t cap, size_t *outlen)
{
    size_t produced = 0;
    z_stream *z;

    *outlen = 0;
    if (p->_ierr)
        return p->_ierr;
    if (!p->_inf && !p->_imsg && fin && *inlen == 0)
        return WSD_PMD_END;             /* an empty message: nothing to inflate */
    if (!p->_inf) {
        int wbits = p->params.client_max_window_bits < 9 ? 9 : p->params.client_max_window_bits;
        p->_inf = stream_new(p);
        if (inflateInit2(p->_inf, -wbits) != Z_OK)
            return inflate_fail(p, WSD_PMD_E_INTERNAL, outlen);
        p->_iboundary = 1;
        p->_ipending = 0;
    }
    z = p->_inf;
    if (!p->_imsg) {
        p->_imsg = 1;
        p->_itail = 0;
        p->_itotal = 0;
    }

    for (;;) {
        const uint8_t *src;
        size_t srclen, room, used, made;
        int r, dt;

        if (p->_itail == 0) {
            src = *in;
            srclen = *inlen;
        } else {
            src = sync_tail + (p->_itail - 1);
            srclen = 4 - (size_t)(p->_itail - 1);
        }
        if (srclen == 0 && !p->_ipending) {
            /* everything given is inflated */
            *outlen = produced;
            if (p->_itail == 0 && !fin)
                return WSD_PMD_NEED_INPUT;
            if (p->_iboundary)
                return inflate_end_message(p);  /* no tail needed (any more) */
            if (p->_itail == 0) {
                p->_itail = 1;                  /* append 00 00 ff ff */
                continue;
            }
            return inflate_fail(p, WSD_PMD_E_DATA, outlen);  /* ends inside a block */
        }
        if (produced == cap) {
            *outlen = produced;
            return WSD_PMD_OUTPUT;
        }
        room = cap - produced;          /* >= 1 */
        /* at most one byte past the limit (to tell "too big" from "just
         * fits"), computed so that max_message near 2^64 cannot wrap */
        if (p->max_message && p->max_message - p->_itotal < room - 1)
            room = (size_t)(p->max_message - p->_itotal) + 1;
        if (room > UINT_MAX)
            room = UINT_MAX;
        z->next_in = (Bytef *)(uintptr_t)src;
        z->avail_in = srclen > UINT_MAX ? UINT_MAX : (uInt)srclen;
        z->next_out = out + produced;
        z->avail_out = (uInt)room;
        r = inflate(z, Z_BLOCK);
        used = (size_t)(z->next_in - src);
        made = (size_t)(z->next_out - (out + produced));
        if (p->_itail == 0) {
            *in += used;
            *inlen -= used;
        } else {
            p->_itail += (int)used;
        }
        produced += made;
        p->_itotal += made;
        if (p->max_message && p->_itotal > p->max_message)
            return inflate_fail(p, WSD_PMD_E_TOO_BIG, outlen);
        if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
            return inflate_fail(p, WSD_PMD_E_DATA, outlen);
        if (r == Z_BUF_ERROR && used == 0 && made == 0 && srclen > 0 && z->avail_out > 0)
            return inflate_fail(p, WSD_PMD_E_DATA, outlen);  /* no progress: cannot happen */
        dt = z->data_type;
        if (r == Z_STREAM_END || (dt & 192) == 192) {
            /* a block with BFINAL set has ended: the stream restarts, with
             * the window kept (the sender may go on referring to it) */
            if (inflateResetKeep(z) != Z_OK)
                return inflate_fail(p, WSD_PMD_E_INTERNAL, outlen);
            p->_iboundary = 1;
            p->_ipending = 0;
            if (p->_itail > 0) {
                *outlen = produced;             /* the final block swallowed the tail */
                return inflate_end_message(p);
            }
            continue;
        }
        p->_iboundary = (dt & 128) && (dt & 63) == 0;
        /* at a block boundary nothing is pending; elsewhere a full output
         * buffer may have stopped a copy */
        p->_ipending = z->avail_out == 0 && !(dt & 128);
        if (r == Z_BUF_ERROR && srclen == 0)
            p->_ipending = 0;
    }
}

/* ---------------------------------------------------------------- deflate */

size_t wsd_pmd_deflate_bound(size_t n)
{
    /* zlib's conservative deflateBound() for any window and memLevel,
     * plus the sync flush (an empty stored block: ≤ 1 + 4 bytes) and the
     * bits a block may leave pending, with room to spare. */
    return n + ((n + 7) >> 3) + ((n + 63) >> 6) + 5 + 16;
}

static int deflater_get(wsd_pmd *p)
{
    int sw = p->params.server_max_window_bits;
    int strategy = Z_DEFAULT_STRATEGY;

    if (p->_def)
        return 0;
    if (sw < 9) {
        /* zlib has no raw 8-bit window: a 9-bit one, but every match at
         * distance 1 (run-length), which any window holds */
        sw = 9;
        strategy = Z_RLE;
    }
    p->_def = stream_new(p);
    if (deflateInit2(p->_def, p->level, Z_DEFLATED, -sw, p->mem_level, strategy) != Z_OK) {
        deflater_release(p);
        return -1;
    }
    return 0;
}

int wsd_pmd_deflate(wsd_pmd *p, const uint8_t *in, size_t n, int fin,
                    uint8_t *out, size_t cap, size_t *outlen)
{
    z_stream *z;
    size_t len;
    int r;

    *outlen = 0;
    if (deflater_get(p) < 0)
        return WSD_PMD_E_INTERNAL;
    z = p->_def;
    p->_dmsg = 1;
    z->next_in = (Bytef *)(uintptr_t)in;
    z->next_out = out;
    len = 0;
    for (;;) {
        size_t chunk_in = n > UINT_MAX ? UINT_MAX : n;
        size_t room = cap - len > UINT_MAX ? UINT_MAX : cap - len;
        z->avail_in = (uInt)chunk_in;
        z->avail_out = (uInt)room;
        r = deflate(z, Z_SYNC_FLUSH);
        n -= chunk_in - z->avail_in;
        len += room - z->avail_out;
        if (r == Z_BUF_ERROR && chunk_in == 0) {
            /* nothing new since the last flush: the previous chunk already
             * ended with 00 00 ff ff */
            break;
        }
        if (r != Z_OK)
            goto broken;
        if (z->avail_out == 0)
            goto broken;                       /* cap too small */
        if (n == 0)
            break;
    }
    if (fin) {
        if (len >= 4 && memcmp(out + len - 4, sync_tail, 4) == 0) {
            len -= 4;
        } else {
            /* the previous chunk's flush ended the data: what the receiver
             * appends must complete an empty stored block, so send its
             * header (BFINAL 0, BTYPE 00, padding) */
            if (len + 1 > cap)
                goto broken;
            out[len++] = 0x00;
        }
        p->_dmsg = 0;
        if (p->params.server_no_context_takeover)
            deflater_release(p);
    }
    *outlen = len;
    return WSD_PMD_OK;

broken:
    deflater_release(p);
    p->_dmsg = 0;
    return WSD_PMD_E_INTERNAL;
}

/* ---------------------------------------------------------- frame rewrite */

typedef struct {
    int fin, rsv, opcode;
    size_t hlen;
    uint64_t len;
} frame_hdr;

/* Parses a server frame header at f[0..n). Returns 0, or -1 if it is masked,
 * truncated, or its payload does not fit in n. */
static int parse_frame(const uint8_t *f, size_t n, frame_hdr *h)
{
    uint64_t len;
    size_t hl = 2, k;

    if (n < 2 || (f[1] & 0x80))
        return -1;
    h->fin = f[0] >> 7;
    h->rsv = (f[0] >> 4) & 7;
    h->opcode = f[0] & 0x0f;
    len = f[1] & 0x7f;
    if (len == 126 || len == 127) {
        size_t ext = len == 126 ? 2 : 8;
        if (n < 2 + ext)
            return -1;
        len = 0;
        for (k = 0; k < ext; k++)
            len = (len << 8) | f[2 + k];
        hl += ext;
    }
    if (len > n - hl)
        return -1;
    h->hlen = hl;
    h->len = len;
    return 0;
}

size_t wsd_pmd_frames_bound(const uint8_t *frames, size_t n)
{
    size_t pos = 0, total = 0;
    frame_hdr h;

    while (pos < n && parse_frame(frames + pos, n - pos, &h) == 0) {
        if (h.opcode & 8)
            total += h.hlen + (size_t)h.len;
        else
            total += WSD_WS_MAX_HEADER + wsd_pmd_deflate_bound((size_t)h.len);
        pos += h.hlen + (size_t)h.len;
    }
    return total + (n - pos);
}

int wsd_pmd_encode_frames(wsd_pmd *p, const uint8_t *frames, size_t n,
                          uint8_t *out, size_t cap, size_t *outlen)
{
    size_t pos = 0, o = 0;
    frame_hdr h;

    *outlen = 0;
    while (pos < n) {
        const uint8_t *pl;
        size_t plen, clen, hl;
        int first, r;

        if (parse_frame(frames + pos, n - pos, &h) < 0 || h.rsv)
            return WSD_PMD_E_INTERNAL;
        pl = frames + pos + h.hlen;
        plen = (size_t)h.len;
        if (h.opcode & 8) {                            /* control: as it is */
            if (cap - o < h.hlen + plen)
                return WSD_PMD_E_INTERNAL;
            memcpy(out + o, frames + pos, h.hlen + plen);
            o += h.hlen + plen;
            pos += h.hlen + plen;
            continue;
        }
        first = h.opcode != WSD_WS_CONT;
        if (first != (p->_fmsg == 0))
            return WSD_PMD_E_INTERNAL;                 /* bad fragment sequence */
        if (first)
            p->_fmsg = h.fin && plen < p->threshold ? 2 : 1;
        if (p->_fmsg == 2) {                           /* plain message */
            if (cap - o < h.hlen + plen)
                return WSD_PMD_E_INTERNAL;
            memcpy(out + o, frames + pos, h.hlen + plen);
            o += h.hlen + plen;
        } else {
            /* compress behind room for the longest header, then move the
             * payload next to the real header */
            if (cap - o < WSD_WS_MAX_HEADER)
                return WSD_PMD_E_INTERNAL;
            r = wsd_pmd_deflate(p, pl, plen, h.fin, out + o + WSD_WS_MAX_HEADER,
                                cap - o - WSD_WS_MAX_HEADER, &clen);
            if (r != WSD_PMD_OK)
                return r;
            if (first && h.fin && p->params.server_no_context_takeover && clen >= plen) {
                /* did not shrink, and no window to keep in step: send it plain */
                memcpy(out + o, frames + pos, h.hlen + plen);
                o += h.hlen + plen;
            } else {
                hl = wsd_ws_header(out + o, first ? h.opcode : WSD_WS_CONT, h.fin, first, clen);
                memmove(out + o + hl, out + o + WSD_WS_MAX_HEADER, clen);
                o += hl + clen;
            }
        }
        if (h.fin)
            p->_fmsg = 0;
        pos += h.hlen + plen;
    }
    *outlen = o;
    return WSD_PMD_OK;
}
