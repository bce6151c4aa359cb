/* ws.c — the RFC 6455 frame codec, server side (see ws.h).
 *
 * The decoder is a three-state machine: collect a header (2 bytes, then the
 * extended length and the masking key), then either hand out a data frame's
 * payload chunk by chunk (unmasked in place) or collect a control frame's
 * payload into the decoder. Everything is checked as early as the bytes
 * allow: a bad first two bytes fail before the rest of the header arrives, a
 * too-big message fails at its frame's header, invalid UTF-8 fails at the
 * chunk that contains it (that chunk is never handed out). */
#include "ws.h"

#include <string.h>

#include "utf8.h"

enum { ST_HDR = 0, ST_PAYLOAD, ST_CTL, ST_ERROR };

void wsd_ws_decoder_init(wsd_ws_decoder *d, uint64_t max_message)
{
    memset(d, 0, sizeof *d);
    d->max_message = max_message;
    d->rsv_allowed = 0;
    d->validate_utf8 = 1;
    d->_state = ST_HDR;
    d->_hdr_need = 2;
    d->_utf8 = WSD_UTF8_ACCEPT;
}

static size_t fail(wsd_ws_decoder *d, wsd_ws_event *ev, uint16_t code,
                   const char *reason, size_t consumed)
{
    d->_state = ST_ERROR;
    d->_err_code = code;
    d->_err_reason = reason;
    ev->type = WSD_WS_EV_ERROR;
    ev->close_code = code;
    ev->reason = reason;
    return consumed;
}

static const char *const bad_opcode_reason[16] = {
    [0x3] = "bad opcode 3",  [0x4] = "bad opcode 4",  [0x5] = "bad opcode 5",
    [0x6] = "bad opcode 6",  [0x7] = "bad opcode 7",  [0xB] = "bad opcode 11",
    [0xC] = "bad opcode 12", [0xD] = "bad opcode 13", [0xE] = "bad opcode 14",
    [0xF] = "bad opcode 15",
};

/* Is the current message's payload subject to UTF-8 checking? */
static int text_checked(const wsd_ws_decoder *d)
{
    return d->validate_utf8 && d->_msg_opcode == WSD_WS_TEXT && !d->_msg_compressed;
}

/* XORs p[0..n) with the masking key, starting at key position *mpos. */
static void unmask(uint8_t *p, size_t n, const uint8_t key[4], size_t *mpos)
{
    uint8_t rot[8];
    uint64_t k64;
    size_t i;

    for (i = 0; i < 8; i++)
        rot[i] = key[(*mpos + i) & 3];
    memcpy(&k64, rot, 8);
    for (i = 0; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= k64;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++)
        p[i] ^= rot[i & 7];
    *mpos = (*mpos + n) & 3;
}

/* The first two header bytes are in: check everything they tell, and work out
 * how long the whole header is. Returns NULL or the reason for a 1002. */
static const char *check_first_two(wsd_ws_decoder *d)
{
    uint8_t b0 = d->_hdr[0], b1 = d->_hdr[1];
    int opcode = b0 & 0x0F, rsv = (b0 >> 4) & 0x7, len7 = b1 & 0x7F;
    int control = (opcode & 0x8) != 0;

    d->_fin = (b0 & 0x80) != 0;
    d->_rsv = rsv;
    d->_opcode = opcode;

    if (!(b1 & 0x80))
        return "frame not masked";
    if (bad_opcode_reason[opcode])
        return bad_opcode_reason[opcode];
    if (rsv & ~d->rsv_allowed & 0x7)
        return "reserved bit set";
    if (rsv && (control || opcode == WSD_WS_CONT))
        return "extension bit on a control or continuation frame";
    if (control) {
        if (!d->_fin)
            return "fragmented control frame";
        /* the length (> 125, or a close frame's 1) is checked once known:
         * non-minimal encodings are allowed */
    } else if (opcode == WSD_WS_CONT) {
        if (!d->_msg_opcode)
            return "continuation frame without a message";
    } else if (d->_msg_opcode) {
        return "new message inside a fragmented message";
    }
    d->_hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
    return NULL;
}

/* The control frame in d->_ctl is complete: report it. */
static size_t control_event(wsd_ws_decoder *d, wsd_ws_event *ev, size_t pos)
{
    ev->data = d->_ctl;
    ev->len = d->_ctl_len;
    switch (d->_opcode) {
    case WSD_WS_PING:
        ev->type = WSD_WS_EV_PING;
        break;
    case WSD_WS_PONG:
        ev->type = WSD_WS_EV_PONG;
        break;
    default: /* WSD_WS_CLOSE; a 1-byte payload was refused at the header */
        ev->type = WSD_WS_EV_CLOSE;
        if (d->_ctl_len == 0) {
            ev->close_code = WSD_WS_CLOSE_NO_STATUS;
            break;
        }
        ev->close_code = (uint16_t)(d->_ctl[0] << 8 | d->_ctl[1]);
        if (!wsd_ws_close_code_valid(ev->close_code))
            return fail(d, ev, WSD_WS_CLOSE_PROTOCOL, "invalid close code", pos);
        ev->data = d->_ctl + 2;
        ev->len = d->_ctl_len - 2;
        if (!wsd_utf8_valid(ev->data, ev->len))
            return fail(d, ev, WSD_WS_CLOSE_INVALID_DATA, "invalid UTF-8 in close reason", pos);
        break;
    }
    return pos;
}

/* Fills a DATA event for the current message; ends the message if fin. */
static size_t data_event(wsd_ws_decoder *d, wsd_ws_event *ev, uint8_t *p,
                         size_t n, int fin, size_t pos)
{
    if (fin && text_checked(d) && d->_utf8 != WSD_UTF8_ACCEPT)
        return fail(d, ev, WSD_WS_CLOSE_INVALID_DATA, "truncated UTF-8 sequence", pos);
    ev->type = WSD_WS_EV_DATA;
    ev->opcode = d->_msg_opcode;
    ev->fin = fin;
    ev->first = d->_msg_first_pending;
    ev->compressed = d->_msg_compressed;
    ev->data = p;
    ev->len = n;
    ev->frame_fin = d->_fin;
    ev->frame_left = d->_remaining;
    d->_msg_first_pending = 0;
    if (fin) {
        d->_msg_opcode = 0;
        d->_msg_compressed = 0;
    }
    return pos + n;
}

/* The header in d->_hdr is complete. Returns 1 and fills *ev (with the
 * return value in *ret) if that already makes an event, else 0. */
static int header_done(wsd_ws_decoder *d, uint8_t *buf, size_t pos,
                       wsd_ws_event *ev, size_t *ret)
{
    const uint8_t *h = d->_hdr;
    int len7 = h[1] & 0x7F;
    uint64_t plen;
    size_t i, off = 2;

    if (len7 == 126) {
        plen = (uint64_t)h[2] << 8 | h[3];
        off = 4;
    } else if (len7 == 127) {
        plen = 0;
        for (i = 0; i < 8; i++)
            plen = plen << 8 | h[2 + i];
        off = 10;
        if (plen >> 63) {
            *ret = fail(d, ev, WSD_WS_CLOSE_PROTOCOL, "64-bit length with the top bit set", pos);
            return 1;
        }
    } else {
        plen = (uint64_t)len7;
    }
    memcpy(d->_mask, h + off, 4);
    d->_mask_pos = 0;
    d->_remaining = plen;
    d->_hdr_len = 0;
    d->_hdr_need = 2;

    if (d->_opcode & 0x8) {
        const char *why = NULL;
        if (plen > 125)
            why = "control frame payload too long";
        else if (d->_opcode == WSD_WS_CLOSE && plen == 1)
            why = "close frame with a 1-byte payload";
        if (why) {
            *ret = fail(d, ev, WSD_WS_CLOSE_PROTOCOL, why, pos);
            return 1;
        }
        d->_ctl_len = 0;
        if (plen == 0) {
            *ret = control_event(d, ev, pos);
            return 1;
        }
        d->_state = ST_CTL;
        return 0;
    }

    if (d->_opcode != WSD_WS_CONT) {       /* a new message */
        d->_msg_opcode = d->_opcode;
        d->_msg_compressed = (d->_rsv & 0x4) != 0;
        d->_msg_first_pending = 1;
        d->_msg_len = 0;
        d->_utf8 = WSD_UTF8_ACCEPT;
    }
    if (d->max_message && plen > d->max_message - d->_msg_len) {
        *ret = fail(d, ev, WSD_WS_CLOSE_TOO_BIG, "message too big", pos);
        return 1;
    }
    /* without a limit, saturate rather than wrap */
    d->_msg_len = plen > UINT64_MAX - d->_msg_len ? UINT64_MAX : d->_msg_len + plen;

    if (plen == 0) {
        if (!d->_fin)
            return 0;              /* empty non-final fragment: no event */
        *ret = data_event(d, ev, buf ? buf + pos : NULL, 0, 1, pos);
        return 1;
    }
    d->_state = ST_PAYLOAD;
    return 0;
}

size_t wsd_ws_decode(wsd_ws_decoder *d, uint8_t *buf, size_t len, wsd_ws_event *ev)
{
    size_t pos = 0, n;

    memset(ev, 0, sizeof *ev);
    if (len == 0 && d->_state != ST_ERROR) {
        /* nothing can be pending: events are always reported by the call
         * that consumed their last byte */
        ev->type = WSD_WS_EV_MORE;
        return 0;
    }
    for (;;) {
        switch (d->_state) {
        case ST_ERROR:
            ev->type = WSD_WS_EV_ERROR;
            ev->close_code = d->_err_code;
            ev->reason = d->_err_reason;
            return 0;

        case ST_HDR: {
            const char *why;
            size_t ret;

            n = d->_hdr_need - d->_hdr_len;
            if (n > len - pos)
                n = len - pos;
            memcpy(d->_hdr + d->_hdr_len, buf + pos, n);
            d->_hdr_len += n;
            pos += n;
            if (d->_hdr_len < d->_hdr_need) {
                ev->type = WSD_WS_EV_MORE;
                return pos;
            }
            if (d->_hdr_need == 2) {
                if ((why = check_first_two(d)) != NULL)
                    return fail(d, ev, WSD_WS_CLOSE_PROTOCOL, why, pos);
                continue;          /* now collect the rest of the header */
            }
            if (header_done(d, buf, pos, ev, &ret))
                return ret;
            continue;
        }

        case ST_PAYLOAD: {
            uint8_t *p = buf + pos;
            int fin;

            if (pos == len) {
                ev->type = WSD_WS_EV_MORE;
                return pos;
            }
            n = len - pos;
            if (n > d->_remaining)
                n = (size_t)d->_remaining;
            unmask(p, n, d->_mask, &d->_mask_pos);
            if (text_checked(d) &&
                wsd_utf8_validate(&d->_utf8, p, n) == WSD_UTF8_REJECT)
                return fail(d, ev, WSD_WS_CLOSE_INVALID_DATA, "invalid UTF-8", pos);
            d->_remaining -= n;
            fin = 0;
            if (d->_remaining == 0) {
                d->_state = ST_HDR;
                fin = d->_fin;
            }
            return data_event(d, ev, p, n, fin, pos);
        }

        case ST_CTL:
            n = len - pos;
            if (n > d->_remaining)
                n = (size_t)d->_remaining;
            memcpy(d->_ctl + d->_ctl_len, buf + pos, n);
            unmask(d->_ctl + d->_ctl_len, n, d->_mask, &d->_mask_pos);
            d->_ctl_len += n;
            d->_remaining -= n;
            pos += n;
            if (d->_remaining) {
                ev->type = WSD_WS_EV_MORE;
                return pos;
            }
            d->_state = ST_HDR;
            return control_event(d, ev, pos);

        default:
            return fail(d, ev, WSD_WS_CLOSE_INTERNAL, "decoder state corrupt", 0);
        }
    }
}

size_t wsd_ws_header(uint8_t *out, int opcode, int fin, int rsv1, uint64_t len)
{
    int i;

    out[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

size_t wsd_ws_close_frame(uint8_t *out, uint16_t code, const char *reason)
{
    size_t rlen = 0, h;

    if (code == 0)
        return wsd_ws_header(out, WSD_WS_CLOSE, 1, 0, 0);
    if (reason) {
        rlen = strnlen(reason, 124);
        if (rlen > 123) {
            /* cut at 123 and drop a character the cut went through */
            rlen = 123;
            rlen -= wsd_utf8_incomplete_tail((const uint8_t *)reason, rlen);
        }
    }
    h = wsd_ws_header(out, WSD_WS_CLOSE, 1, 0, 2 + rlen);
    out[h] = (uint8_t)(code >> 8);
    out[h + 1] = (uint8_t)code;
    if (rlen)
        memcpy(out + h + 2, reason, rlen);
    return h + 2 + rlen;
}

int wsd_ws_close_code_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003) ||
           (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

int wsd_ws_frame_head(const uint8_t *p, size_t n, int *fin, int *opcode, uint64_t *len,
                      size_t *hlen)
{
    uint64_t l;
    size_t h = 2;

    if (n < 2 || (p[1] & 0x80))
        return -1;                     /* truncated header, or masked */
    l = p[1] & 0x7f;
    if (l == 126) {
        if (n < 4)
            return -1;
        l = (uint64_t)p[2] << 8 | p[3];
        h = 4;
    } else if (l == 127) {
        int i;
        if (n < 10)
            return -1;
        l = 0;
        for (i = 0; i < 8; i++)
            l = l << 8 | p[2 + i];
        h = 10;
    }
    if (l > n - h)
        return -1;                     /* the payload is cut short */
    *fin = (p[0] & 0x80) != 0;
    *opcode = p[0] & 0x0f;
    *len = l;
    *hlen = h;
    return 0;
}

int wsd_ws_scan_frames(const uint8_t *p, size_t n, wsd_ws_frames_info *out)
{
    size_t off = 0;
    int seen_data = 0;

    out->first_start = n;
    out->last_start = n;
    out->completes = 0;
    out->begins_inside = 0;
    out->ends_inside = 0;
    while (off < n) {
        uint64_t len;
        size_t h;
        int opcode, fin;
        if (wsd_ws_frame_head(p + off, n - off, &fin, &opcode, &len, &h) != 0)
            return -1;
        if (opcode < 0x8) {            /* data */
            if (opcode == WSD_WS_CONT) {
                if (!seen_data)
                    out->begins_inside = 1;
            } else {
                if (out->first_start == n)
                    out->first_start = off;
                out->last_start = off;
            }
            seen_data = 1;
            out->ends_inside = !fin;
            out->completes += fin;
        }
        off += h + (size_t)len;
    }
    return 0;
}
