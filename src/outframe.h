/* outframe.h — the child's stdout bytes → WebSocket frames. Pure.
 *
 * Text mode (websocketd's default): each line is one text message, without
 * its "\n" or "\r\n"; a bare "\r" does not end a line; an empty line is an
 * empty message. Invalid UTF-8 is replaced, sequence by sequence, with U+FFFD
 * so a text frame is never invalid. The encoder keeps no line buffer: the
 * part of a line that has arrived goes out at once as a non-final fragment
 * (opcode TEXT, then CONT), and the line's end closes the message with a FIN
 * frame. It holds back at most 3 bytes between calls: an incomplete UTF-8
 * sequence, or a trailing "\r" that may be the start of "\r\n". At EOF the
 * held bytes and an unterminated final line are delivered (websocketd drops
 * them).
 *
 * Binary mode (--binary): each chunk read is one binary message, as websocketd. */
#ifndef WSD_OUTFRAME_H
#define WSD_OUTFRAME_H

#include <stddef.h>
#include <stdint.h>

typedef struct wsd_outframer {
    int binary;            /* set before use */
    /* private */
    int _open;             /* a text message has been started with a non-FIN frame */
    uint8_t _carry[4];
    size_t _ncarry;
} wsd_outframer;

void wsd_outframer_init(wsd_outframer *f, int binary);

/* Worst-case output bytes for an input chunk of n bytes (plus what the
 * encoder may hold), for sizing `out`. */
size_t wsd_outframer_bound(size_t n);

/* Encodes in[0..n) into out (capacity ≥ wsd_outframer_bound(n)) as complete
 * frames, ready to write. eof = 1 means no more input will come: flush the
 * held bytes and finish an open message (n may be 0). Returns the number of
 * bytes written to out. */
size_t wsd_outframer_encode(wsd_outframer *f, const uint8_t *in, size_t n, int eof, uint8_t *out);

/* Writes one unmasked text-mode frame (opcode WSD_WS_TEXT or WSD_WS_CONT,
 * FIN as given) whose payload is a[0..na) ‖ b[0..nb) sanitised as by
 * wsd_utf8_sanitize_pair (a: a held incomplete sequence, ≤ 3 bytes). out
 * must hold WSD_WS_MAX_HEADER + 3(na + nb) bytes. Returns the bytes written.
 * Shared with the lossless records (record.c). */
size_t wsd_outframe_text(uint8_t *out, int opcode, int fin, const uint8_t *a, size_t na,
                         const uint8_t *b, size_t nb);

#endif
