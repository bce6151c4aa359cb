/* httpfile.h — pure helpers for serving a static file: MIME types,
 * If-Modified-Since, single byte ranges and the response head (HTTP dates
 * and reason phrases: http.h).
 * No I/O (the caller stats, opens and sends the file).
 *
 * Differences from Go's http.ServeContent (what websocketd uses), on purpose:
 *   - unknown extensions are application/octet-stream (Go sniffs the
 *     content); .sh is text/plain (Go: application/x-shellscript);
 *   - several ranges ("bytes=0-1,4-5") are ignored and the whole file is sent
 *     with 200 (Go: multipart/byteranges);
 *   - "bytes=-0" and any range of an empty file are 416 (Go 1.19 answers
 *     "206 bytes 6-5/6");
 *   - a Range with another unit ("items=0-1") is ignored → 200, as RFC 9110
 *     requires (Go: 416); a malformed byte range is 416 with
 *     "Content-Range: bytes *\/size" (Go: 416 without it);
 *   - Range applies to GET only (RFC 9110 §14.2; Go also to HEAD);
 *   - 416 has an empty body (Go: "invalid range: ...").
 * No ETags are generated: If-None-Match "*" gives 304, any other
 * If-None-Match disables If-Modified-Since (RFC 9110 §13.1.3); If-Range
 * must equal Last-Modified exactly, else the whole file is sent. */
#ifndef WSD_HTTPFILE_H
#define WSD_HTTPFILE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "http.h"
#include "util.h"

/* Content-Type for a file name, by its extension (case-insensitive), e.g.
 * "text/html; charset=utf-8"; "application/octet-stream" if unknown. Text
 * types carry "; charset=utf-8". Static strings. */
const char *wsd_mime_type(const char *path);

/* If-Modified-Since value ims[0..n) against a file's mtime: 1 = not
 * modified (answer 304), 0 = send it (also when the date is invalid or
 * mtime <= 0). */
int wsd_http_not_modified(const char *ims, size_t n, time_t mtime);

enum {
    WSD_RANGE_NONE = 0,            /* no usable Range: send all, 200 */
    WSD_RANGE_PARTIAL = 1,         /* 206: *start, *len */
    WSD_RANGE_UNSATISFIABLE = 2    /* 416, "Content-Range: bytes *\/size" */
};

/* A Range header value against a file of `size` bytes: "bytes=a-b" (b
 * clamped to size-1), "bytes=a-", "bytes=-n" (the last n bytes). */
int wsd_http_range(const char *v, size_t n, uint64_t size, uint64_t *start, uint64_t *len);

/* What to answer for a request of a file. */
typedef struct {
    int status;               /* 200, 206, 304 or 416 */
    uint64_t offset, length;  /* the body: `length` bytes from `offset` (0 for
                               * 304/416); for HEAD send the head only */
    uint64_t size;            /* the file's size */
    time_t last_modified;     /* min(mtime, now) */
    const char *content_type;
} wsd_file_plan;

/* Decides the answer for request r (its method, If-None-Match,
 * If-Modified-Since (GET, HEAD), Range and If-Range (GET)) for the file
 * `path` (for the MIME type) of `size` bytes modified at mtime. */
void wsd_file_plan_make(const wsd_request *r, const char *path, uint64_t size, time_t mtime,
                        time_t now, wsd_file_plan *plan);

/* Appends the response head for a plan: status line, Accept-Ranges
 * (200/206), Content-Length (not 304), Content-Range (206, 416),
 * Content-Type (200/206), Date, Last-Modified (200/206/304),
 * "Connection: close" unless keep_alive, then extra1 and extra2 (each may
 * be NULL; e.g. --header and --header-http), then the blank line.
 * Returns 0, or -1 (out unchanged) if out's limit was hit. */
int wsd_file_response_head(wsd_str *out, const wsd_file_plan *p, time_t now, int keep_alive,
                           const wsd_header_list *extra1, const wsd_header_list *extra2);

#endif
