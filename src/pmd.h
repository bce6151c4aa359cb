/* pmd.h — RFC 7692 permessage-deflate: negotiation, the inflater for the
 * client's messages and the deflater for ours. Pure: no I/O; zlib only.
 *
 * NEGOTIATION. wsd_pmd_negotiate() reads the client's Sec-WebSocket-Extensions
 * values (several headers, each a comma-separated list of offers; parameter
 * values may be quoted; extension and parameter names are case-insensitive),
 * accepts the first permessage-deflate offer that is well formed, and writes
 * the value of the 101's Sec-WebSocket-Extensions header. An offer with an
 * unknown parameter, a repeated one, or a bad value ("08", "16", a value on
 * a *_no_context_takeover) is skipped; a syntax error skips the list element
 * it is in. Other extensions are never accepted. No acceptable offer: decline
 * (no header, no compression) — the handshake itself never fails here.
 *
 *   server_max_window_bits=N (offered) → answered with min(N, ours).
 *   Answering 9 to an offer of 8 would break the RFC (the answer must not
 *   exceed the offer) and strict clients (python-websockets) fail the
 *   connection on it. zlib cannot deflate raw with an 8-bit window, so with 8
 *   wsd answers 8 honestly and deflates with zlib's Z_RLE strategy, whose
 *   back-references all have distance 1: a stream that fits any window.
 *   client_max_window_bits (offered, with or without a value) → answered with
 *   min(value or 15, ours) when that is below 15; never answered unless
 *   offered (RFC 7692 §7.1.2.2). The inflater uses the agreed size, but at
 *   least 9: a client whose zlib quietly turned 8 into 9 still works.
 *   *_no_context_takeover: echoed when offered; also sent when configured
 *   (the RFC lets a server add either).
 *
 * MEMORY. Nothing is allocated until the first compressed message. The zlib
 * streams are then allocated lazily and released as soon as they are not
 * needed: with client_no_context_takeover the inflater is freed at the end of
 * each message, with server_no_context_takeover the deflater is; otherwise
 * they are kept for the connection (that is the shared window).
 * wsd_pmd_memory() reports the bytes held (zlib's allocations, counted
 * through our zalloc/zfree, plus the z_stream structs). Typical figures
 * (zlib 1.2.13, 64-bit): inflater with a 15-bit window ≈ 40 KiB; deflater
 * with window 15 and memLevel 8 ≈ 262 KiB (window 9, memLevel 1 ≈ 9 KiB).
 * The inflater's output goes to the caller's buffer, so a decompression bomb
 * costs the inflater's fixed state and nothing more. Every allocation uses
 * the util.h OOM policy (abort).
 *
 * INFLATE (client → server). wsd_pmd_inflate() takes a compressed message in
 * the chunks the frame decoder hands out and returns plaintext in bounded
 * pieces (at most `cap` bytes a call: the caller drains them). At the final
 * chunk it appends 00 00 ff ff (§7.2.2) unless the data already ends on a
 * byte-aligned block boundary (a sender that did not strip the marker, or
 * sent an empty final fragment after a flushed one, or an empty payload: the
 * empty message). A message must end on a block boundary; DEFLATE blocks
 * with BFINAL set are accepted anywhere (§7.2.3.3): the stream restarts with
 * the window kept. Errors:
 *   WSD_PMD_E_DATA    → close 1007: RFC 7692 only says "fail the connection";
 *                       the payload is data inconsistent with the message's
 *                       type (as Node's ws does; Autobahn 12/13 send only
 *                       valid data and accept either). The reason is
 *                       "invalid compressed data".
 *   WSD_PMD_E_TOO_BIG → close 1009: the inflated message exceeded max_message.
 * Text messages are NOT checked for UTF-8 here (the decoder skips compressed
 * messages): validate the inflated bytes with wsd_utf8_validate.
 *
 * DEFLATE (server → client). Compression is streaming, per message: each
 * chunk of a message (e.g. each fragment wsd's outframe sends for a partial
 * line) is compressed with Z_SYNC_FLUSH, so the client can inflate every
 * fragment as it arrives; the final chunk's trailing 00 00 ff ff is removed
 * (§7.2.1 strips it from the end of the whole message; an empty DEFLATE
 * block inside a message is valid data). The message's first frame carries
 * RSV1, its continuations do not (RFC 7692 §6.1). Compressing only complete
 * messages would have to send long lines — those worth compressing —
 * uncompressed, since a message's first fragment decides. Messages sent
 * uncompressed are not fed to the deflater (the client's window never sees
 * them).
 * wsd_pmd_encode_frames() applies all of this to the frames outframe
 * produces; wsd_pmd_deflate() is the underlying per-chunk call. */
#ifndef WSD_PMD_H
#define WSD_PMD_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct z_stream_s;

/* The server's knobs (immutable, shared by all connections). */
typedef struct wsd_pmd_config {
    int enabled;                    /* 0: decline every offer. Default 1. */
    int server_max_window_bits;     /* 8..15, default 15: our LZ77 window; < 15 is
                                     * announced even when not offered */
    int client_max_window_bits;     /* 9..15, default 15: asked of clients that offer
                                     * client_max_window_bits (saves inflater memory);
                                     * 8 counts as 9: zlib-based clients (python-websockets)
                                     * fail to deflate raw with 8 */
    int server_no_context_takeover; /* 1: always announce it (no deflater kept between
                                     * messages; worse ratio). Default 0. */
    int client_no_context_takeover; /* 1: always ask for it (no inflater kept between
                                     * messages). Default 0. */
    int level;                      /* zlib level 1..9, default 6 */
    int mem_level;                  /* zlib memLevel 1..9, default 8 */
    size_t threshold;               /* a message complete in one frame and shorter than
                                     * this goes out uncompressed. Default 64. */
} wsd_pmd_config;

/* What was agreed for one connection. */
typedef struct wsd_pmd_params {
    int server_no_context_takeover;
    int client_no_context_takeover;
    int server_max_window_bits;     /* 8..15: the largest window our deflater may use */
    int client_max_window_bits;     /* 8..15: the largest window the client may use */
} wsd_pmd_params;

void wsd_pmd_config_default(wsd_pmd_config *cfg);

/* Room for any response value, NUL included. */
#define WSD_PMD_RESPONSE_MAX 160

/* Negotiates over the header values v[i][0..len[i]), i < n, in order. On
 * acceptance returns 1, fills *params and writes the NUL-terminated value of
 * the 101's Sec-WebSocket-Extensions header to response (≥
 * WSD_PMD_RESPONSE_MAX bytes), e.g. "permessage-deflate; client_max_window_bits=12".
 * Returns 0 to decline (cfg->enabled is 0 or no acceptable offer): then
 * *params and response are untouched and no header is sent. */
int wsd_pmd_negotiate(const wsd_pmd_config *cfg, const char *const *v, const size_t *len,
                      size_t n, wsd_pmd_params *params, char *response);

/* The same over every Sec-WebSocket-Extensions header of r. */
int wsd_pmd_negotiate_request(const wsd_pmd_config *cfg, const wsd_request *r,
                              wsd_pmd_params *params, char *response);

/* Per-connection state: about 100 bytes, no allocation until used. */
typedef struct wsd_pmd {
    wsd_pmd_params params;
    int level, mem_level;
    size_t threshold;
    uint64_t max_message;           /* inflated bytes per message; 0 = unlimited */

    /* private */
    struct z_stream_s *_inf, *_def;
    size_t _held;                   /* bytes allocated for the streams */
    int _ierr;                      /* sticky inflate error */
    int _imsg;                      /* a message is being inflated */
    int _itail;                     /* 0: payload phase; 1 + n: n tail bytes fed */
    int _iboundary;                 /* inflater at a byte-aligned block boundary */
    int _ipending;                  /* the last call filled the output: more may wait */
    uint64_t _itotal;               /* bytes inflated in this message */
    int _dmsg;                      /* a compressed outgoing message is open */
    int _fmsg;                      /* encode_frames: 0 none, 1 compressed, 2 plain open */
} wsd_pmd;

/* Sets up p for one connection; cfg supplies level, mem_level and threshold,
 * params what was negotiated. max_message bounds each inflated message
 * (0 = unlimited). Allocates nothing. */
void wsd_pmd_init(wsd_pmd *p, const wsd_pmd_config *cfg, const wsd_pmd_params *params,
                  uint64_t max_message);

/* Releases both streams. p may be freed, or used again (its state is then as
 * after init, with no message open). Idempotent. */
void wsd_pmd_free(wsd_pmd *p);

/* Bytes currently held by p's zlib streams (0 when none is allocated). */
size_t wsd_pmd_memory(const wsd_pmd *p);

enum {
    WSD_PMD_NEED_INPUT = 0,   /* inflate: all of *in consumed; give the next chunk */
    WSD_PMD_OUTPUT = 1,       /* inflate: out is full; call again with the same *in */
    WSD_PMD_END = 2,          /* inflate: the message is complete */
    WSD_PMD_OK = 3,           /* deflate/encode_frames: done */
    WSD_PMD_E_DATA = -1,      /* invalid compressed data → 1007 */
    WSD_PMD_E_TOO_BIG = -2,   /* inflated message over max_message → 1009 */
    WSD_PMD_E_INTERNAL = -3   /* misuse or a zlib failure (too small a buffer) → 1011 */
};

/* Recommended output chunk for wsd_pmd_inflate. */
#define WSD_PMD_CHUNK 16384

/* Inflates the current compressed message (the caller calls this only for
 * messages whose DATA events have `compressed` set). *in, *inlen: the chunk
 * from the decoder, advanced past what was consumed; fin: this chunk is the
 * message's last (it may be empty). Writes ≤ cap bytes of plaintext to out
 * and their number to *outlen (it may be > 0 with any non-error return).
 * Returns:
 *   WSD_PMD_OUTPUT      out was filled: deliver it and call again (with the
 *                       same, advanced, *in and fin);
 *   WSD_PMD_NEED_INPUT  (fin = 0 only) *inlen is 0: wait for the next chunk;
 *   WSD_PMD_END         (fin = 1 only) the message is complete; the next call
 *                       starts a new message;
 *   WSD_PMD_E_*         an error; sticky, *outlen is 0, the inflater is
 *                       released. Map with wsd_pmd_close_code/strerror.
 * The caller may stop between calls (e.g. while the child's stdin is full)
 * and resume later with the unconsumed rest, which it keeps. */
int wsd_pmd_inflate(wsd_pmd *p, const uint8_t **in, size_t *inlen, int fin,
                    uint8_t *out, size_t cap, size_t *outlen);

/* Close code for an error return (1007, 1009, 1011) and its short static reason. */
uint16_t wsd_pmd_close_code(int err);
const char *wsd_pmd_strerror(int err);

/* Worst-case wsd_pmd_deflate output for an n-byte chunk. */
size_t wsd_pmd_deflate_bound(size_t n);

/* Compresses in[0..n), the next chunk of the current outgoing compressed
 * message (the first call starts one), into out (cap ≥
 * wsd_pmd_deflate_bound(n)); *outlen is the payload of one frame. fin: the
 * message ends with this chunk (its 00 00 ff ff is stripped; with
 * server_no_context_takeover the deflater is released). Returns WSD_PMD_OK or
 * WSD_PMD_E_INTERNAL (cap too small; the message is then unusable). */
int wsd_pmd_deflate(wsd_pmd *p, const uint8_t *in, size_t n, int fin,
                    uint8_t *out, size_t cap, size_t *outlen);

/* Capacity `out` needs for wsd_pmd_encode_frames(frames[0..n)). */
size_t wsd_pmd_frames_bound(const uint8_t *frames, size_t n);

/* Rewrites complete, unmasked server frames (outframe's output; control
 * frames are passed through) with compression: a message whose first frame
 * is final and shorter than the threshold goes out as it is, every other
 * message is compressed frame by frame (RSV1 on its first frame). Messages
 * may span calls. With server_no_context_takeover a one-frame message that
 * does not shrink goes out uncompressed. Writes to out (cap ≥
 * wsd_pmd_frames_bound) and sets *outlen. Returns WSD_PMD_OK, or
 * WSD_PMD_E_INTERNAL for malformed frames or too small a buffer. */
int wsd_pmd_encode_frames(wsd_pmd *p, const uint8_t *frames, size_t n,
                          uint8_t *out, size_t cap, size_t *outlen);

#endif
