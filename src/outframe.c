/* outframe.c — the child's stdout bytes → WebSocket frames (see outframe.h).
 *
 * Text mode looks at the stream as carry ‖ input, where the carry is what the
 * previous call held back: at most 3 bytes, either a valid but incomplete
 * UTF-8 sequence or a lone "\r". Each "\n" finishes a message; whatever
 * follows the last "\n" goes out as a non-final fragment, minus a new carry.
 *
 * Sanitising the concatenation carry ‖ segment gives exactly what sanitising
 * the whole line at once would give (wsd_utf8_sanitize_pair), so the
 * messages do not depend on how the child's output was chunked.
 *
 * Output bound: a call emits at most L + 1 frames for L newlines in its
 * input. Frame i sanitises m_i input bytes into at most 3·m_i payload bytes,
 * with Σ m_i ≤ n + 3 − L (newlines are not payload; the carry adds ≤ 3).
 * Its header is 2 bytes, plus at most 8 when its payload may reach 126 bytes,
 * which takes m_i ≥ 42. So the total is at most
 *   2(L + 1) + 3(n + 3 − L) + 8·⌊(n + 3)/42⌋ ≤ 3n + 11 + 8·⌊(n + 3)/42⌋,
 * and that also covers the scratch space used while a frame is built (the
 * payload is written after room for the largest header it could need).
 * Binary mode writes n + 10 at most. */
#include "outframe.h"

#include <string.h>

#include "utf8.h"
#include "ws.h"

void wsd_outframer_init(wsd_outframer *f, int binary)
{
    memset(f, 0, sizeof *f);
    f->binary = binary;
}

size_t wsd_outframer_bound(size_t n)
{
    return 3 * n + 11 + 8 * ((n + 3) / 42);
}

size_t wsd_outframe_text(uint8_t *out, int opcode, int fin, const uint8_t *a, size_t na,
                         const uint8_t *b, size_t nb)
{
    uint8_t hdr[WSD_WS_MAX_HEADER];
    size_t hmax, h, p;

    /* the payload is at most 3 bytes per input byte: leave room for that
     * header, then close the gap once the real length is known */
    hmax = wsd_ws_header(hdr, opcode, fin, 0, 3 * (uint64_t)(na + nb));
    p = wsd_utf8_sanitize_pair(a, na, b, nb, out + hmax);
    h = wsd_ws_header(hdr, opcode, fin, 0, p);
    if (h != hmax)
        memmove(out + h, out + hmax, p);
    memcpy(out, hdr, h);
    return h + p;
}

size_t wsd_outframer_encode(wsd_outframer *f, const uint8_t *in, size_t n, int eof, uint8_t *out)
{
    static const uint8_t nothing[1];
    size_t o = 0, pos = 0, rest, nc, total, hold, emit, i, k, ascii;
    uint8_t tail[4];

    if (n == 0 || !in) {
        in = nothing;
        n = 0;
    }

    if (f->binary) {
        if (n) {
            o = wsd_ws_header(out, WSD_WS_BINARY, 1, 0, n);
            memcpy(out + o, in, n);
            o += n;
        }
        return o;
    }

    /* every complete line; ascii: in[0..ascii) has no byte ≥ 0x80 */
    ascii = wsd_utf8_ascii_prefix(in, n);
    for (;;) {
        const uint8_t *nl = memchr(in + pos, '\n', n - pos);
        size_t j, seg;

        if (!nl)
            break;
        j = (size_t)(nl - in);
        seg = j - pos;
        nc = f->_ncarry;
        if (seg > 0 && in[j - 1] == '\r')
            seg--;
        else if (seg == 0 && nc == 1 && f->_carry[0] == '\r')
            nc = 0;                 /* the "\r" held back was half of "\r\n" */
        if (nc == 0 && j <= ascii) {
            /* the common case, an ASCII line with nothing carried: nothing
             * to sanitise, the header is known before the payload */
            uint8_t op = f->_open ? WSD_WS_CONT : WSD_WS_TEXT;
            if (seg < 126) {
                out[o] = (uint8_t)(0x80 | op);
                out[o + 1] = (uint8_t)seg;
                o += 2;
            } else {
                o += wsd_ws_header(out + o, op, 1, 0, seg);
            }
            memcpy(out + o, in + pos, seg);
            o += seg;
        } else {
            o += wsd_outframe_text(out + o, f->_open ? WSD_WS_CONT : WSD_WS_TEXT, 1,
                                   f->_carry, nc, in + pos, seg);
        }
        f->_ncarry = 0;
        f->_open = 0;
        pos = j + 1;
        if (pos > ascii && ascii < n)
            ascii = pos + wsd_utf8_ascii_prefix(in + pos, n - pos);
    }

    rest = n - pos;
    nc = f->_ncarry;
    if (eof) {
        if (f->_open || nc || rest)
            o += wsd_outframe_text(out + o, f->_open ? WSD_WS_CONT : WSD_WS_TEXT, 1,
                                   f->_carry, nc, in + pos, rest);
        f->_open = 0;
        f->_ncarry = 0;
        return o;
    }
    if (rest == 0)
        return o;                   /* the carry stays as it is */

    /* The unterminated rest: carry ‖ in[pos..n). Hold back a trailing "\r"
     * or an incomplete sequence (found among the last 3 bytes), send the
     * part before it as a non-final fragment. */
    total = nc + rest;
    if (in[n - 1] == '\r') {
        hold = 1;
    } else {
        k = 0;
        for (i = total > 3 ? total - 3 : 0; i < total; i++)
            tail[k++] = i < nc ? f->_carry[i] : in[pos + i - nc];
        hold = wsd_utf8_incomplete_tail(tail, k);
    }
    emit = total - hold;
    if (emit) {
        size_t ea = emit < nc ? emit : nc;
        o += wsd_outframe_text(out + o, f->_open ? WSD_WS_CONT : WSD_WS_TEXT, 0,
                               f->_carry, ea, in + pos, emit - ea);
        f->_open = 1;
    }
    k = 0;
    for (i = emit; i < total; i++)
        tail[k++] = i < nc ? f->_carry[i] : in[pos + i - nc];
    memcpy(f->_carry, tail, k);
    f->_ncarry = k;
    return o;
}
