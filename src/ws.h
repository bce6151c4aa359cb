/* ws.h — the RFC 6455 frame codec. Pure: no I/O; the decoder never allocates.
 *
 * Decoding is streaming: a data frame's payload is unmasked in place and handed
 * out in chunks as it arrives, so wsd never needs to hold a whole message.
 * Control frames (≤ 125 bytes) are collected inside the decoder, so they may
 * arrive split across reads and interleaved between fragments of a message.
 *
 * Everything a client can get wrong becomes a WSD_WS_EV_ERROR carrying the
 * close code to send (1002 protocol error, 1007 invalid UTF-8, 1009 too big)
 * and a short static reason; the decoder then stays in the error state. */
#ifndef WSD_WS_H
#define WSD_WS_H

#include <stddef.h>
#include <stdint.h>

enum wsd_ws_opcode {
    WSD_WS_CONT = 0x0,
    WSD_WS_TEXT = 0x1,
    WSD_WS_BINARY = 0x2,
    WSD_WS_CLOSE = 0x8,
    WSD_WS_PING = 0x9,
    WSD_WS_PONG = 0xA
};

enum wsd_ws_close_code {
    WSD_WS_CLOSE_NORMAL = 1000,
    WSD_WS_CLOSE_GOING_AWAY = 1001,
    WSD_WS_CLOSE_PROTOCOL = 1002,
    WSD_WS_CLOSE_UNSUPPORTED = 1003,
    WSD_WS_CLOSE_NO_STATUS = 1005,     /* never sent; "close frame had no code" */
    WSD_WS_CLOSE_ABNORMAL = 1006,      /* never sent */
    WSD_WS_CLOSE_INVALID_DATA = 1007,
    WSD_WS_CLOSE_POLICY = 1008,
    WSD_WS_CLOSE_TOO_BIG = 1009,
    WSD_WS_CLOSE_MANDATORY_EXT = 1010,
    WSD_WS_CLOSE_INTERNAL = 1011
};

typedef enum {
    WSD_WS_EV_MORE = 0, /* everything given was consumed; feed more bytes */
    WSD_WS_EV_DATA,     /* a chunk of the current data message: opcode, data, len, fin */
    WSD_WS_EV_PING,     /* data/len: the payload (0..125 bytes) */
    WSD_WS_EV_PONG,     /* data/len: the payload */
    WSD_WS_EV_CLOSE,    /* close_code (1005 if the frame had none); data/len: reason (valid UTF-8) */
    WSD_WS_EV_ERROR     /* close_code and reason: what to send before closing */
} wsd_ws_event_type;

typedef struct {
    wsd_ws_event_type type;
    int opcode;          /* DATA: WSD_WS_TEXT or WSD_WS_BINARY, the message's type */
    int fin;             /* DATA: 1 if this chunk ends the message (len may be 0) */
    int first;           /* DATA: 1 if this is the message's first chunk */
    int compressed;      /* DATA: the message's first frame had RSV1 (permessage-deflate) */
    int frame_fin;       /* DATA: the frame this chunk belongs to has FIN set */
    uint64_t frame_left; /* DATA: payload bytes of that frame still to come after this
                          * chunk; with first && frame_fin, the whole message is
                          * len + frame_left bytes, known before it arrives */
    const uint8_t *data; /* DATA: points into the caller's buffer; control: into the decoder */
    size_t len;
    uint16_t close_code; /* CLOSE, ERROR */
    const char *reason;  /* ERROR: static text, e.g. "bad opcode 3" */
} wsd_ws_event;

typedef struct wsd_ws_decoder {
    /* configuration: set by init, may be changed before the first byte */
    uint64_t max_message;  /* 0 = unlimited; a longer message → ERROR 1009 */
    unsigned rsv_allowed;  /* RSV bits an extension allows on data frames' first
                            * fragment: 0x4 = RSV1 (permessage-deflate); 0 = none */
    int validate_utf8;     /* check TEXT payloads incrementally (1 by default);
                            * compressed messages are never checked here */

    /* private */
    int _state;
    uint8_t _hdr[14];
    size_t _hdr_len, _hdr_need;
    uint8_t _mask[4];
    size_t _mask_pos;
    int _opcode, _fin, _rsv;
    uint64_t _remaining;       /* payload bytes left in the current frame */
    int _msg_opcode;           /* TEXT/BINARY while a fragmented message is open, else 0 */
    int _msg_compressed;
    int _msg_first_pending;    /* next DATA event is the message's first chunk */
    uint64_t _msg_len;         /* bytes of the current message so far */
    uint32_t _utf8;
    uint8_t _ctl[125];
    size_t _ctl_len;
    uint16_t _err_code;        /* the sticky ERROR */
    const char *_err_reason;
} wsd_ws_decoder;

void wsd_ws_decoder_init(wsd_ws_decoder *d, uint64_t max_message);

/* Decodes from buf[0..len) and reports the next event in *ev. Returns the
 * number of bytes consumed (possibly 0 with an event, e.g. an empty final
 * frame's DATA). Call again with the unconsumed rest until it returns with
 * ev->type == WSD_WS_EV_MORE, which means all of buf was consumed.
 * buf must be writable: masked payload is unmasked in place, and DATA events
 * point into it. Control payloads live in the decoder until the next call.
 * After an ERROR every call returns the same ERROR and consumes nothing. */
size_t wsd_ws_decode(wsd_ws_decoder *d, uint8_t *buf, size_t len, wsd_ws_event *ev);

#define WSD_WS_MAX_HEADER 10   /* server frames are unmasked: 2 + 8 */

/* Writes the header of a server-to-client (unmasked) frame with the given
 * opcode, FIN bit, RSV1 bit and payload length into out (≥ WSD_WS_MAX_HEADER
 * bytes), using the shortest length encoding. Returns the header length. */
size_t wsd_ws_header(uint8_t *out, int opcode, int fin, int rsv1, uint64_t len);

/* What a run of complete, unmasked frames (a server's) holds, for sending
 * the same frames to many clients (shared mode): where the first message
 * that starts inside it starts, how many messages it completes, whether it
 * begins and ends inside a message. Control frames are counted as neither. */
typedef struct {
    size_t first_start;        /* offset of the first frame opening a message; n if none */
    size_t last_start;         /* ... of the last one; n if none */
    unsigned completes;        /* data frames with FIN (messages that end here) */
    int begins_inside;         /* the first data frame is a continuation */
    int ends_inside;           /* the last data frame is not final */
} wsd_ws_frames_info;

/* Scans p[0..n). Returns 0, or -1 if p is not a run of whole unmasked frames. */
int wsd_ws_scan_frames(const uint8_t *p, size_t n, wsd_ws_frames_info *out);

/* The header of the unmasked frame at p[0..n) whose payload lies whole
 * within it (server frames, already built: wsd_ws_scan_frames, linkproto's
 * checks): FIN, opcode, payload length and header length. 0, or -1 when the
 * header or payload is cut short, or the frame is masked. RSV bits are
 * neither checked nor reported but in p[0]. */
int wsd_ws_frame_head(const uint8_t *p, size_t n, int *fin, int *opcode, uint64_t *len,
                      size_t *hlen);

/* Builds a complete close frame into out (≥ 2 + 125 bytes): code (omitted when
 * code is 0) and reason, the reason cut to 123 bytes at a UTF-8 character
 * boundary. Returns the frame length. */
size_t wsd_ws_close_frame(uint8_t *out, uint16_t code, const char *reason);

/* May a peer send this code in a close frame? (1000-1003, 1007-1014,
 * 3000-4999; not 1004-1006, 1015, or anything else.) */
int wsd_ws_close_code_valid(unsigned code);

#endif
