/* linkproto.h — the messages between a worker and the hub process of
 * --shared --workers (hublink.c). Pure: no I/O.
 *
 * A message is a 4-byte big-endian length, then that many bytes: a type
 * byte and its fields. Strings are a 2-byte length and the bytes, blobs a
 * 4-byte length and the bytes, integers big-endian.
 *
 *   worker → hub
 *     JOIN     key, file, script_name, id, blob joinrec
 *     LEAVE    key, id, u16 code
 *     INPUT    key, id, u8 opcode, blob payload
 *   hub → worker
 *     FRAMES   key, u16 nto, nto × id, blob frames
 *     CLOSE    key, id, u16 code, reason
 *     ENDED    key, i64 exit status, i32 signal, u8 failed
 *     STDIN    key, u8 full
 *     STARTED  key, u32 pid, u8 restarted
 *     JOINED   key, id, u32 pid, u8 failed    (the answer to a JOIN)
 *
 * key: the endpoint ("" for COMMAND, a --dir script's real path, ≤ 4095
 * bytes); ids: connection ids (≤ 23 bytes); reasons ≤ 123 bytes; a message
 * is at most WSD_LINK_MAX bytes. The reader (wsd_link_reader) takes the
 * stream in any pieces and hands out whole, checked messages. */
#ifndef WSD_LINKPROTO_H
#define WSD_LINKPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define WSD_LINK_MAX (16u * 1024 * 1024)
#define WSD_LINK_KEY_MAX 4096
#define WSD_LINK_ID_MAX 24
#define WSD_LINK_MAX_TO 256

enum {
    WSD_LINK_JOIN = 1, WSD_LINK_LEAVE, WSD_LINK_INPUT,
    WSD_LINK_FRAMES = 10, WSD_LINK_CLOSE, WSD_LINK_ENDED, WSD_LINK_STDIN, WSD_LINK_STARTED,
    WSD_LINK_JOINED
};

typedef struct {
    int type;
    char key[WSD_LINK_KEY_MAX];
    char file[WSD_LINK_KEY_MAX];          /* JOIN */
    char script_name[WSD_LINK_KEY_MAX];   /* JOIN */
    char id[WSD_LINK_ID_MAX];             /* JOIN LEAVE INPUT CLOSE JOINED */
    const uint8_t *blob;                  /* JOIN joinrec, INPUT payload, FRAMES frames */
    size_t bloblen;
    char to[WSD_LINK_MAX_TO][WSD_LINK_ID_MAX];   /* FRAMES */
    size_t nto;
    unsigned code;                        /* LEAVE CLOSE */
    char reason[124];                     /* CLOSE */
    int opcode;                           /* INPUT */
    int64_t status;                       /* ENDED */
    int sig, failed;                      /* ENDED */
    int full;                             /* STDIN */
    unsigned pid;                         /* STARTED JOINED */
    int restarted;                        /* STARTED */
} wsd_linkmsg;

/* Encoders: append one message to out (0, or -1 if it would not fit). */
int wsd_link_put_join(wsd_str *out, const char *key, const char *file, const char *script_name,
                      const char *id, const void *joinrec, size_t len);
int wsd_link_put_leave(wsd_str *out, const char *key, const char *id, unsigned code);
int wsd_link_put_input(wsd_str *out, const char *key, const char *id, int opcode, const void *p,
                       size_t n);
int wsd_link_put_frames(wsd_str *out, const char *key, const char *const *to, size_t nto,
                        const void *frames, size_t n);
int wsd_link_put_close(wsd_str *out, const char *key, const char *id, unsigned code,
                       const char *reason);
int wsd_link_put_ended(wsd_str *out, const char *key, int64_t status, int sig, int failed);
int wsd_link_put_stdin(wsd_str *out, const char *key, int full);
int wsd_link_put_started(wsd_str *out, const char *key, unsigned pid, int restarted);
int wsd_link_put_joined(wsd_str *out, const char *key, const char *id, unsigned pid, int failed);

/* Parses one message body (after its length) into m (m->blob points into
 * body). 0, or -1 when malformed. */
int wsd_link_parse(const uint8_t *body, size_t n, wsd_linkmsg *m);

/* The stream reader: feed bytes, take whole message bodies. */
typedef struct {
    uint8_t *buf;
    size_t len, cap;
    size_t taken;                         /* bytes of buf already handed out */
    int broken;                           /* a length over WSD_LINK_MAX */
} wsd_link_reader;

void wsd_link_reader_init(wsd_link_reader *r);
void wsd_link_reader_free(wsd_link_reader *r);
/* Appends p[0..n) (0, or -1 once broken). */
int wsd_link_reader_feed(wsd_link_reader *r, const void *p, size_t n);
/* The next whole message body: 1 with body and n set (valid until the next
 * feed), 0 when none is complete, -1 when the stream is broken. */
int wsd_link_reader_next(wsd_link_reader *r, const uint8_t **body, size_t *n);

#endif
