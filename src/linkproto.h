/* linkproto.h — the messages of shared mode between processes: between a
 * worker and the hub process of --shared --workers (hublink.c), and on the
 * Redis channels of --redis (redislink.c). Pure: no I/O.
 *
 * A message is a 4-byte big-endian length, then that many bytes: a type
 * byte and its fields. Strings are a 2-byte length and the bytes, blobs a
 * 4-byte length and the bytes, integers big-endian.
 *
 *   worker → hub (and edge → the program's wsd, on Redis)
 *     JOIN     key, file, script_name, id, blob joinrec
 *     LEAVE    key, id, u16 code
 *     INPUT    key, id, u8 opcode, blob payload
 *   hub → worker (and the program's wsd → edges, on Redis)
 *     FRAMES   key, u16 nto, nto × id, blob frames
 *     CLOSE    key, id, u16 code, reason
 *     ENDED    key, i64 exit status, i32 signal, u8 failed
 *     STDIN    key, u8 full
 *     STARTED  key, u32 pid, u8 restarted
 *     JOINED   key, id, u32 pid, u8 failed    (the answer to a JOIN)
 *   Redis only (key "")
 *     BEAT     edge → the program's wsd: alive (every second)
 *     SYNC     edge → the program's wsd: u8 end — 0 before the JOINs of
 *              every client it has, 1 after them (clients not named
 *              between the two have left)
 *     BYE      edge → the program's wsd: shutting down
 *     REJOIN   the program's wsd → edges: u64 instance — that edge (0:
 *              every edge) should SYNC
 *     PING     a process → itself, through Redis: the link is alive
 *
 * key: the endpoint ("" for COMMAND, a --dir script's real path, ≤ 4095
 * bytes; on Redis "/" for COMMAND and the script's path under --dir);
 * ids: connection ids (≤ 23 bytes); reasons ≤ 123 bytes; a message is at
 * most WSD_LINK_MAX bytes. The reader (wsd_link_reader) takes the stream in
 * any pieces and hands out whole, checked messages.
 *
 * On a Redis channel a published payload is an envelope (below) followed
 * by one or more messages, to its last byte. */
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
    WSD_LINK_JOIN = 1, WSD_LINK_LEAVE, WSD_LINK_INPUT, WSD_LINK_BEAT, WSD_LINK_SYNC, WSD_LINK_BYE,
    WSD_LINK_FRAMES = 10, WSD_LINK_CLOSE, WSD_LINK_ENDED, WSD_LINK_STDIN, WSD_LINK_STARTED,
    WSD_LINK_JOINED,
    WSD_LINK_REJOIN = 16, WSD_LINK_PING
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
    int end;                              /* SYNC */
    uint64_t instance;                    /* REJOIN */
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
/* BEAT, BYE, PING (no fields); SYNC; REJOIN. */
int wsd_link_put_empty(wsd_str *out, int type);
int wsd_link_put_sync(wsd_str *out, int end);
int wsd_link_put_rejoin(wsd_str *out, uint64_t instance);

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

/* ---- Redis channel payloads (--redis) ------------------------------------
 *
 *   "WSD" + version (1), u64 instance, u64 seq, u16 edge, u16 worker,
 *   then messages as above, each with its 4-byte length, to the end.
 *
 * instance: the sender's random id, new at each start (never 0); seq: the
 * sender's count of payloads on that channel, from 1, so a subscriber sees
 * what it missed and never takes one twice or out of order; edge: the
 * sender's --sharededge number (0: the program's wsd), worker: its
 * --workers index. A payload is at most WSD_CHAN_MAX bytes. */
#define WSD_CHAN_VERSION 1
#define WSD_CHAN_HEADER 24
#define WSD_CHAN_MAX (WSD_LINK_MAX + 64 * 1024)

typedef struct {
    uint64_t instance, seq;
    unsigned edge, worker;
} wsd_chan_hdr;

/* Appends the envelope (0, or -1 if it would not fit). */
int wsd_chan_put_header(wsd_str *out, const wsd_chan_hdr *h);
/* Checks a whole payload: its envelope and that it splits exactly into
 * messages of acceptable lengths (their bodies are parsed one by one with
 * wsd_link_parse). 0, or -1 with *why set. */
int wsd_chan_check(const uint8_t *p, size_t n, wsd_chan_hdr *h, const char **why);
/* The next message body of a checked payload, from *off (start at
 * WSD_CHAN_HEADER): 1 with body and len set, 0 at the end. */
int wsd_chan_next(const uint8_t *p, size_t n, size_t *off, const uint8_t **body, size_t *len);

/* What an edge or the program's wsd accepts from a channel (anyone who can
 * publish to the Redis server can publish there): */
/* frames: whole text/binary messages, unmasked, no RSV bit, no control
 * frame, text valid UTF-8 — what the core's framing makes. 0 or -1. */
int wsd_chan_frames_ok(const uint8_t *p, size_t n);
/* a connection id: 1..20 decimal digits, no leading zero. 1 or 0. */
int wsd_chan_id_ok(const char *id);
/* a join record for id: "join ID LEN\n", LEN bytes, "\n". 1 or 0. */
int wsd_chan_joinrec_ok(const uint8_t *rec, size_t n, const char *id);

/* ---- Whole messages for a channel ----------------------------------------
 *
 * The program's output reaches the core as runs of frames cut where its
 * reads ended, often inside a message. A channel payload carries whole
 * messages only — a subscriber that misses a payload then misses whole
 * messages, never half of one, and no client is left inside a fragmented
 * message — so the frames of a message are held until it ends (a browser
 * sees a message only at its end anyway). A message longer than `max` is
 * dropped whole, as is one whose start was not seen. */
typedef struct {
    uint8_t *held;                        /* the frames of the message under way */
    size_t len, cap;
    size_t max;
    int open;                             /* the stream is inside a message */
    int skip;                             /* ... which is not kept */
} wsd_wholemsg;

void wsd_wholemsg_init(wsd_wholemsg *w, size_t max);
void wsd_wholemsg_free(wsd_wholemsg *w);
/* The start of the stream is unknown again (a new program, a lost
 * stretch): a run that begins inside a message skips to the next one. */
void wsd_wholemsg_reset(wsd_wholemsg *w);
/* Feeds a run of whole server frames p[0..n). Appends to out the frames of
 * the messages it completes, whole (nothing when none); out must be able to
 * take them. Returns 0, 1 when a message over max was dropped, or -1 when p
 * is not a run of whole frames (nothing kept). */
int wsd_wholemsg_feed(wsd_wholemsg *w, const uint8_t *p, size_t n, wsd_str *out);

#endif
