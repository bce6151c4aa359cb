/* termctl.h — the control messages of terminal mode (--pty). Pure: no I/O.
 *
 * In terminal mode a binary message from the client is terminal input,
 * written raw; a text message is a control message, one JSON object:
 *
 *   {"type":"resize","rows":24,"cols":80}
 *
 * rows and cols are integers, 1 to WSD_TERM_MAX_ROWS / WSD_TERM_MAX_COLS
 * (a browser sends this whenever its terminal's size changes). Members may
 * come in any order with any JSON whitespace; other members are ignored
 * when their values are strings, numbers, true, false or null (objects
 * and arrays are refused: nothing here needs them). Anything else — not
 * JSON, not an object, an unknown "type", a missing, duplicated or
 * non-integer size, a size out of range, more than WSD_TERMCTL_MAX bytes —
 * is an error with a short static reason: the session closes with
 * WSD_TERMCTL_CLOSE (1008, policy violation) and the reason, or
 * 1009 for a message too long.
 *
 * Streaming: a message may arrive in any number of pieces (fragments,
 * reads); the parser keeps ~100 bytes of state and never the message:
 *   wsd_termctl_init(&p);
 *   wsd_termctl_feed(&p, piece, n)   ... for every piece of the message
 *   wsd_termctl_end(&p, &msg, &why)  at its last piece; resets p for the
 *                                    next message. */
#ifndef WSD_TERMCTL_H
#define WSD_TERMCTL_H

#include <stddef.h>
#include <stdint.h>

#define WSD_TERMCTL_MAX 1024          /* bytes in one control message */
#define WSD_TERM_MAX_ROWS 1000
#define WSD_TERM_MAX_COLS 1000
#define WSD_TERMCTL_CLOSE 1008        /* close code of an invalid control message */
#define WSD_TERMCTL_CLOSE_TOO_BIG 1009

enum { WSD_TERMCTL_RESIZE = 1 };

typedef struct {
    int type;                         /* WSD_TERMCTL_RESIZE */
    unsigned rows, cols;
} wsd_termctl_msg;

typedef struct {
    /* private */
    int st, ret;                      /* parser state; state to return to after a string */
    size_t len;                       /* bytes of this message so far */
    const char *err;                  /* the first error, sticky until end */
    char key[8], str[8];              /* the member name; a string value's start */
    uint8_t klen, slen, kover, sover; /* lengths; 1 = longer than the buffer */
    uint8_t esc, hex, lit;            /* escape: 1 after '\', hex digits left; literal index */
    uint32_t cp, hi;                  /* \uXXXX being read; a pending high surrogate */
    const char *litword;              /* "true", "false", "null" */
    int member;                       /* which member the value belongs to */
    uint8_t num_int, num_digits, num_lead0;  /* number: an integer so far; digits; a leading 0 */
    uint64_t num;                     /* its value, saturated */
    uint8_t have_type, have_rows, have_cols, type_ok;
    unsigned rows, cols;
    int type;
} wsd_termctl;

void wsd_termctl_init(wsd_termctl *p);

/* Feeds the next bytes of the current message. Returns 0, or -1 once the
 * message is known to be invalid (further bytes are ignored until
 * wsd_termctl_end). */
int wsd_termctl_feed(wsd_termctl *p, const uint8_t *b, size_t n);

/* The message is complete. Returns 0 with *m set, or the close code
 * (WSD_TERMCTL_CLOSE, WSD_TERMCTL_CLOSE_TOO_BIG) with *why a static
 * reason. Either way p is ready for the next message. */
int wsd_termctl_end(wsd_termctl *p, wsd_termctl_msg *m, const char **why);

#endif
