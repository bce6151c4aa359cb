/* record.h — the lossless message mode (--lossless). Pure: no I/O.
 *
 * Each WebSocket message crosses the program's stdin/stdout as one record:
 *
 *     <kind> <length>\n<payload>\n
 *
 * <kind> is "text" or "binary"; <length> is the payload's byte count in
 * decimal (digits only: no sign, no leading zero except for "0" itself, at
 * most 20 digits, within 2^64 - 1 and within the configured maximum); then
 * exactly <length> payload bytes and one "\n". Examples: "text 5\nhello\n",
 * "binary 3\n\x00\x01\x02\n", "text 0\n\n". See docs/lossless.md.
 *
 * Two directions:
 *
 * - Program stdout → frames (wsd_record_encode): a streaming decoder of
 *   records that writes server frames. It holds no payload: the bytes of a
 *   record that have arrived go out at once, each piece as one frame (the
 *   first TEXT or BINARY, later ones CONT), and the piece that completes the
 *   payload carries FIN; an empty record is one empty FIN frame. A non-final
 *   frame is never empty. Text payloads are never sent as invalid UTF-8: an
 *   incomplete sequence at the end of a piece (≤ 3 bytes) is held back until
 *   more payload arrives, invalid sequences become U+FFFD (as
 *   wsd_utf8_sanitize on the whole payload, however the stream was cut), and
 *   held bytes left at the record's end are judged as they are (→ U+FFFD).
 *   The FIN frame goes out when the payload is complete; the "\n" after it
 *   is checked when it arrives.
 *
 * - Client message → stdin (wsd_record_header): the caller writes the header,
 *   the payload as it arrives, then "\n". */
#ifndef WSD_RECORD_H
#define WSD_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* Room for the longest header, "binary " + 20 digits + "\n", and a NUL. */
#define WSD_RECORD_HEADER_MAX 32

/* Writes "text <len>\n" (is_text != 0) or "binary <len>\n" into out (at
 * least WSD_RECORD_HEADER_MAX bytes), NUL-terminated. Returns its length
 * without the NUL. */
size_t wsd_record_header(char *out, int is_text, uint64_t len);

typedef struct wsd_record_decoder {
    uint64_t max_len;      /* longest payload accepted; 0 = unlimited. Set by
                            * init, may be changed before the first byte */
    /* private */
    int _state;            /* header, payload, trailer or error */
    int _text;             /* the record (or the kind being read) is text */
    size_t _hlen;          /* header bytes read so far */
    unsigned _ndigits;     /* length digits read so far */
    uint64_t _len;         /* the length being read */
    uint64_t _remaining;   /* payload bytes still to come */
    int _open;             /* a non-final frame of this record has been sent */
    uint8_t _carry[4];     /* text: a held incomplete UTF-8 sequence */
    size_t _ncarry;
    const char *_err;      /* the sticky error */
    char *_line;           /* addressed mode: the header line being read */
    size_t _linelen;
    int _close;            /* addressed mode: the record is a close command */
} wsd_record_decoder;

void wsd_record_decoder_init(wsd_record_decoder *d, uint64_t max_len);

/* Worst-case bytes wsd_record_encode writes for an input chunk of n bytes,
 * whatever the decoder holds and however many records the chunk contains:
 * 3n + 11 + 8·⌊(n + 3)/42⌋, as wsd_outframer_bound. */
size_t wsd_record_bound(size_t n);

/* Decodes in[0..n) and writes complete frames into out (capacity ≥
 * wsd_record_bound(n)). eof = 1: no more input will come (n may be 0); the
 * stream must then end at a record boundary.
 *
 * Returns the number of bytes written, or -1 when the stream is malformed:
 * then *err (if err is not NULL) is a short static reason, e.g. "missing
 * newline after record" or "truncated record". *outlen (if not NULL) is
 * always set to the bytes written, also on error: the frames for everything
 * valid before the bad byte, which the caller should still send (a message
 * may be left open; the caller then closes the connection, e.g. with 1011).
 * The error is sticky: later calls write nothing and return -1 again. */
long wsd_record_encode(wsd_record_decoder *d, const uint8_t *in, size_t n, int eof,
                       uint8_t *out, size_t *outlen, const char **err);

/* ---- Addressed mode (--shared --lossless; docs/lossless.md) ------------
 *
 * The program's output records may name their recipients and close a
 * client:
 *
 *     text LEN[ to=ID[,ID...]]\n<payload>\n      (binary alike; no to=: all)
 *     close ID CODE LEN\n<reason>\n               (CODE a valid close code,
 *                                                 LEN ≤ 123)
 *
 * ID is a connection id (decimal digits, ≤ 20). A malformed header line is
 * skipped through its "\n" and reported; a missing "\n" after a payload
 * skips through the next "\n"; nothing malformed ever becomes a message,
 * and decoding goes on. */

#define WSD_RECORD_LINE_MAX 4096   /* an addressed header line */
#define WSD_RECORD_MAX_TO 256      /* recipients one record may name */

enum {
    WSD_REC_MORE,      /* the input is consumed */
    WSD_REC_START,     /* a data record's header was read: ev->to, ev->nto (0: everyone) */
    WSD_REC_CLOSE,     /* a close record is complete: ev->id, ev->code, ev->reason */
    WSD_REC_BAD        /* something malformed was skipped: ev->err */
};

typedef struct {
    int type;
    const char *to[WSD_RECORD_MAX_TO];   /* NUL-terminated, valid until the next call */
    size_t nto;
    const char *id;
    unsigned code;
    char reason[124];
    const char *err;
} wsd_record_event;

/* An addressed-mode decoder (its line buffer is allocated here; release
 * with wsd_record_decoder_free). */
void wsd_record_decoder_init_addressed(wsd_record_decoder *d);
void wsd_record_decoder_free(wsd_record_decoder *d);

/* Decodes in[0..n) up to the next event and writes the frames of the
 * payload bytes it passed to out (capacity ≥ wsd_record_bound(n)), *outlen
 * their size: they belong to the record under way when the call started
 * (the previous START's recipients). Returns the bytes consumed (less than
 * n only when ev->type is not WSD_REC_MORE); call again with the rest. eof:
 * no more input after in[0..n): at its end, a record cut short is reported
 * as BAD ("truncated record"). */
size_t wsd_record_step(wsd_record_decoder *d, const uint8_t *in, size_t n, int eof,
                       uint8_t *out, size_t *outlen, wsd_record_event *ev);

#endif
