/* record.c — the lossless message mode: records ↔ frames (see record.h).
 *
 * The decoder is a byte-level state machine for the header (nothing is
 * buffered: the kind is matched against "text " / "binary " as it comes, the
 * length is accumulated digit by digit, so a bad header fails at its first
 * bad byte), then a span copy for the payload, then one byte for the "\n".
 *
 * Text payloads are sanitised piece by piece as carry ‖ piece, where the
 * carry is the valid but incomplete UTF-8 sequence (≤ 3 bytes) the previous
 * piece ended with. Sanitising the concatenation carry ‖ piece gives what
 * sanitising the whole payload at once would give (wsd_utf8_sanitize_pair),
 * so the messages do not depend on how the program's output was chunked.
 *
 * Output bound. Let a call get n bytes and emit F frames; frame i sanitises
 * m_i payload bytes of this call plus c_i carried ones (Σ c_i ≤ 3: only a
 * record already under way when the call starts has a carry), M = Σ m_i ≤ n.
 * Only the first frame of a call can belong to a record whose header ended
 * in an earlier call; each later one needs its own header (≥ 7 bytes,
 * "text 0\n") and the previous record's "\n", so 8(F − 1) ≤ n − M. Frame i
 * has at most 3(m_i + c_i) payload bytes (1 per byte for binary) and a
 * header of 2 bytes, plus 8 when the payload may reach 126 bytes, which
 * takes m_i + c_i ≥ 42. Total:
 *   2F + 3(M + 3) + 8·⌊(M + 3)/42⌋ ≤ 2 + (n − M)/4 + 3M + 9 + 8·⌊(M + 3)/42⌋,
 * increasing in M, so at most 3n + 11 + 8·⌊(n + 3)/42⌋. That also covers the
 * scratch room used while a text frame is built (the payload is written
 * after room for the largest header it could need). */
#include "record.h"

#include <stdlib.h>
#include <string.h>

#include "outframe.h"
#include "util.h"
#include "utf8.h"
#include "ws.h"

enum { ST_HEADER = 0, ST_PAYLOAD, ST_TRAILER, ST_ERROR };

#define MAX_DIGITS 20   /* 2^64 - 1 = 18446744073709551615 */

static const char k_text[] = "text ";
static const char k_binary[] = "binary ";

size_t wsd_record_header(char *out, int is_text, uint64_t len)
{
    char digits[24];
    size_t nd = 0, o;
    const char *kind = is_text ? k_text : k_binary;

    do {
        digits[nd++] = (char)('0' + len % 10);
        len /= 10;
    } while (len);
    o = strlen(kind);
    memcpy(out, kind, o);
    while (nd)
        out[o++] = digits[--nd];
    out[o++] = '\n';
    out[o] = '\0';
    return o;
}

void wsd_record_decoder_init(wsd_record_decoder *d, uint64_t max_len)
{
    memset(d, 0, sizeof *d);
    d->max_len = max_len;
    d->_state = ST_HEADER;
}

size_t wsd_record_bound(size_t n)
{
    return 3 * n + 11 + 8 * ((n + 3) / 42);
}

static size_t put_binary(uint8_t *out, int opcode, int fin, const uint8_t *p, size_t n)
{
    size_t h = wsd_ws_header(out, opcode, fin, 0, n);
    if (n)
        memcpy(out + h, p, n);
    return h + n;
}

/* Header bytes: returns NULL to go on, or the error. Sets d->_state to
 * ST_PAYLOAD when the "\n" ends a good header. */
static const char *header_byte(wsd_record_decoder *d, uint8_t c)
{
    if (c == '\r')
        return "carriage return in record header";
    if (d->_hlen == 0) {
        if (c == 't')
            d->_text = 1;
        else if (c == 'b')
            d->_text = 0;
        else
            return "unknown record kind";
        d->_hlen = 1;
        return NULL;
    }
    {
        const char *kind = d->_text ? k_text : k_binary;
        size_t klen = d->_text ? sizeof k_text - 1 : sizeof k_binary - 1;

        if (d->_hlen < klen) {
            if (c != (uint8_t)kind[d->_hlen])
                return d->_hlen == klen - 1 ? "missing space after record kind"
                                            : "unknown record kind";
            d->_hlen++;
            return NULL;
        }
    }
    /* the length */
    if (c == '\n') {
        if (d->_ndigits == 0)
            return "missing record length";
        d->_remaining = d->_len;
        d->_state = ST_PAYLOAD;
        return NULL;
    }
    if (c < '0' || c > '9')
        return "bad record length";
    if (d->_ndigits == 1 && d->_len == 0)
        return "leading zero in record length";
    if (d->_ndigits == MAX_DIGITS)
        return "record header too long";
    if (d->_len > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
        return "record length too large";
    d->_len = d->_len * 10 + (uint64_t)(c - '0');
    d->_ndigits++;
    d->_hlen++;
    if (d->max_len && d->_len > d->max_len)
        return "record length over limit";
    return NULL;
}

static void start_header(wsd_record_decoder *d)
{
    d->_state = ST_HEADER;
    d->_hlen = 0;
    d->_ndigits = 0;
    d->_len = 0;
    d->_remaining = 0;
    d->_open = 0;
    d->_ncarry = 0;
}

/* Frames for the next payload bytes in[0..avail): as many as the record
 * still has; returns how many were taken. At the record's last byte the
 * message gets its FIN and the state moves to the trailer. */
static size_t payload_piece(wsd_record_decoder *d, const uint8_t *in, size_t avail, uint8_t *out,
                            size_t *op)
{
    size_t o = *op, k;
    int fin, opcode = d->_open ? WSD_WS_CONT : d->_text ? WSD_WS_TEXT : WSD_WS_BINARY;

    k = d->_remaining < avail ? (size_t)d->_remaining : avail;
    fin = k == d->_remaining;
    if (!d->_text) {
        o += put_binary(out + o, opcode, fin, in, k);
        d->_open = !fin;
    } else if (fin) {
        o += wsd_outframe_text(out + o, opcode, 1, d->_carry, d->_ncarry, in, k);
        d->_ncarry = 0;
    } else {
        /* hold back an incomplete sequence at the end of carry ‖ piece */
        size_t total = d->_ncarry + k, hold, emit, i, j = 0;
        uint8_t tail[4];

        for (i = total > 3 ? total - 3 : 0; i < total; i++)
            tail[j++] = i < d->_ncarry ? d->_carry[i] : in[i - d->_ncarry];
        hold = wsd_utf8_incomplete_tail(tail, j);
        emit = total - hold;
        if (emit) {
            size_t ea = emit < d->_ncarry ? emit : d->_ncarry;
            o += wsd_outframe_text(out + o, opcode, 0, d->_carry, ea, in, emit - ea);
            d->_open = 1;
        }
        memcpy(d->_carry, tail + (j - hold), hold);
        d->_ncarry = hold;
    }
    d->_remaining -= k;
    if (fin) {
        d->_open = 0;
        d->_state = ST_TRAILER;
    }
    *op = o;
    return k;
}

static long fail(wsd_record_decoder *d, const char *why, size_t o, size_t *outlen,
                 const char **err)
{
    d->_state = ST_ERROR;
    d->_err = why;
    if (outlen)
        *outlen = o;
    if (err)
        *err = why;
    return -1;
}

long wsd_record_encode(wsd_record_decoder *d, const uint8_t *in, size_t n, int eof,
                       uint8_t *out, size_t *outlen, const char **err)
{
    size_t pos = 0, o = 0;

    if (d->_state == ST_ERROR)
        return fail(d, d->_err, 0, outlen, err);
    if (!in)
        n = 0;

    while (pos < n) {
        switch (d->_state) {
        case ST_HEADER: {
            const char *why = header_byte(d, in[pos]);
            if (why)
                return fail(d, why, o, outlen, err);
            pos++;
            if (d->_state == ST_PAYLOAD && d->_remaining == 0) {
                /* an empty record: one empty FIN frame */
                o += wsd_ws_header(out + o, d->_text ? WSD_WS_TEXT : WSD_WS_BINARY, 1, 0, 0);
                d->_state = ST_TRAILER;
            }
            break;
        }
        case ST_PAYLOAD:
            pos += payload_piece(d, in + pos, n - pos, out, &o);
            break;
        case ST_TRAILER:
            if (in[pos] != '\n')
                return fail(d, "missing newline after record", o, outlen, err);
            pos++;
            start_header(d);
            break;
        default:
            return fail(d, "internal error", o, outlen, err);
        }
    }

    if (eof && !(d->_state == ST_HEADER && d->_hlen == 0))
        return fail(d, "truncated record", o, outlen, err);
    if (outlen)
        *outlen = o;
    if (err)
        *err = NULL;
    return (long)o;
}

/* ---- Addressed mode ------------------------------------------------------ */

enum { ST_SKIP = ST_ERROR + 1 };   /* resynchronising: through the next "\n" */

void wsd_record_decoder_init_addressed(wsd_record_decoder *d)
{
    wsd_record_decoder_init(d, 0);
    d->_line = xmalloc(WSD_RECORD_LINE_MAX);
}

void wsd_record_decoder_free(wsd_record_decoder *d)
{
    free(d->_line);
    d->_line = NULL;
}

/* A decimal number of 1..20 digits, no leading zero, within 2^64 - 1. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > MAX_DIGITS || (n > 1 && s[0] == '0'))
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* The next space-separated field of line[*pos..n): its start and length. */
static const char *field(char *line, size_t n, size_t *pos, size_t *len)
{
    size_t a = *pos, b;

    if (a >= n)
        return NULL;
    for (b = a; b < n && line[b] != ' '; b++)
        ;
    *len = b - a;
    *pos = b < n ? b + 1 : b;
    line[b] = '\0';                /* the line has room for its NUL */
    return line + a;
}

/* Parses a complete header line (without its "\n"). Returns NULL and fills
 * ev (START or, for close, what is known so far) and the decoder's
 * payload state, or the reason it is malformed. */
static const char *parse_line(wsd_record_decoder *d, wsd_record_event *ev)
{
    char *line = d->_line;
    size_t n = d->_linelen, pos = 0, fl, nl;
    const char *f, *num;
    uint64_t v;

    if (memchr(line, '\r', n))
        return "carriage return in record header";
    if (n > 0 && line[n - 1] == ' ')
        return "trailing space in record header";
    f = field(line, n, &pos, &fl);
    if (!f)
        return "empty record header";
    if ((fl == 4 && memcmp(f, "text", 4) == 0) || (fl == 6 && memcmp(f, "binary", 6) == 0)) {
        d->_text = fl == 4;
        num = field(line, n, &pos, &nl);
        if (!num || parse_u64(num, nl, &v) != 0)
            return "bad record length";
        ev->nto = 0;
        if (pos < n) {
            const char *to = field(line, n, &pos, &fl);
            char *p, *end;
            if (pos < n || fl < 4 || memcmp(to, "to=", 3) != 0)
                return "unknown field in record header (only to=ID,...)";
            p = (char *)to + 3;
            end = (char *)to + fl;
            for (;;) {
                char *comma = memchr(p, ',', (size_t)(end - p));
                size_t il = comma ? (size_t)(comma - p) : (size_t)(end - p);
                uint64_t id;
                if (parse_u64(p, il, &id) != 0)
                    return "bad connection id in to=";
                if (ev->nto == WSD_RECORD_MAX_TO)
                    return "too many recipients in to=";
                ev->to[ev->nto++] = p;
                if (!comma)
                    break;
                *comma = '\0';
                p = comma + 1;
            }
        }
        d->_close = 0;
        d->_len = d->_remaining = v;
        ev->type = WSD_REC_START;
        return NULL;
    }
    if (fl == 5 && memcmp(f, "close", 5) == 0) {
        const char *id = field(line, n, &pos, &fl), *code;
        size_t cl;
        if (!id || parse_u64(id, fl, &v) != 0)
            return "bad connection id in close record";
        code = field(line, n, &pos, &cl);
        if (!code || parse_u64(code, cl, &v) != 0 || v > 4999 ||
            !wsd_ws_close_code_valid((unsigned)v))
            return "bad close code in close record";
        ev->id = id;
        ev->code = (unsigned)v;
        num = field(line, n, &pos, &nl);
        if (!num || parse_u64(num, nl, &v) != 0 || v > 123 || pos < n)
            return "bad reason length in close record (at most 123)";
        d->_close = 1;
        d->_len = d->_remaining = v;
        return NULL;
    }
    return "unknown record kind";
}

size_t wsd_record_step(wsd_record_decoder *d, const uint8_t *in, size_t n, int eof,
                       uint8_t *out, size_t *outlen, wsd_record_event *ev)
{
    size_t pos = 0, o = 0;

    ev->type = WSD_REC_MORE;
    ev->err = NULL;
    *outlen = 0;
    if (!in)
        n = 0;
    while (pos < n) {
        switch (d->_state) {
        case ST_SKIP:
            while (pos < n && in[pos] != '\n')
                pos++;
            if (pos < n) {
                pos++;
                start_header(d);
                d->_linelen = 0;
            }
            break;
        case ST_HEADER:
            if (in[pos] != '\n') {
                if (d->_linelen == WSD_RECORD_LINE_MAX - 1) {
                    d->_state = ST_SKIP;
                    ev->type = WSD_REC_BAD;
                    ev->err = "record header too long";
                    *outlen = o;
                    return pos;
                }
                d->_line[d->_linelen++] = (char)in[pos++];
                break;
            }
            pos++;
            d->_line[d->_linelen] = '\0';
            {
                const char *why = parse_line(d, ev);
                d->_linelen = 0;
                if (why) {
                    start_header(d);
                    ev->type = WSD_REC_BAD;
                    ev->err = why;
                    *outlen = o;
                    return pos;
                }
            }
            d->_state = ST_PAYLOAD;
            d->_open = 0;
            d->_ncarry = 0;
            if (!d->_close) {
                *outlen = o;       /* START: what follows is the new record's */
                return pos;
            }
            ev->reason[0] = '\0';
            break;
        case ST_PAYLOAD:
            if (d->_close) {
                size_t k = d->_remaining < n - pos ? (size_t)d->_remaining : n - pos;
                size_t have = (size_t)(d->_len - d->_remaining);
                memcpy(ev->reason + have, in + pos, k);
                ev->reason[have + k] = '\0';
                d->_remaining -= k;
                pos += k;
                if (d->_remaining == 0)
                    d->_state = ST_TRAILER;
                break;
            }
            if (d->_remaining == 0) {
                /* an empty record: one empty FIN frame */
                o += wsd_ws_header(out + o, d->_text ? WSD_WS_TEXT : WSD_WS_BINARY, 1, 0, 0);
                d->_state = ST_TRAILER;
                break;
            }
            pos += payload_piece(d, in + pos, n - pos, out, &o);
            break;
        case ST_TRAILER:
            if (in[pos] != '\n') {
                d->_state = ST_SKIP;
                ev->type = WSD_REC_BAD;
                ev->err = "missing newline after record";
                *outlen = o;
                return pos;
            }
            pos++;
            {
                int was_close = d->_close;
                start_header(d);
                d->_close = 0;
                if (was_close) {
                    ev->type = WSD_REC_CLOSE;
                    *outlen = o;
                    return pos;
                }
            }
            break;
        default:
            start_header(d);
            break;
        }
    }
    /* an empty record whose header ended the input */
    if (d->_state == ST_PAYLOAD && !d->_close && d->_remaining == 0) {
        o += wsd_ws_header(out + o, d->_text ? WSD_WS_TEXT : WSD_WS_BINARY, 1, 0, 0);
        d->_state = ST_TRAILER;
    }
    if (eof && !(d->_state == ST_HEADER && d->_linelen == 0) && d->_state != ST_SKIP) {
        if (d->_state == ST_PAYLOAD && !d->_close && d->_open) {
            /* the message under way is closed, so the next one can start
             * (held UTF-8 bytes judged as they are) */
            o += wsd_outframe_text(out + o, WSD_WS_CONT, 1, d->_carry, d->_text ? d->_ncarry : 0,
                                   (const uint8_t *)"", 0);
        }
        start_header(d);
        d->_linelen = 0;
        ev->type = WSD_REC_BAD;
        ev->err = "truncated record";
    }
    *outlen = o;
    return pos;
}
