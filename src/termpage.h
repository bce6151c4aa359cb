/* termpage.h — the web terminal over plain HTTP (--pty --devconsole): the
 * page and the files it loads, as complete responses. Pure: builds bytes,
 * no I/O (httpserve.c sends them).
 *
 * Routing (any method, as the console page; HEAD sends the head only):
 *   a path ending in "/.wsd/NAME"  the file NAME of termassets.h
 *                                  (xterm.mjs, xterm.css, addon-fit.mjs;
 *                                  another NAME: 404). The page loads them
 *                                  relative to its own path, so it works
 *                                  under --dir paths and behind a proxy
 *                                  that adds a path prefix.
 *   any other path                 the page, which opens a WebSocket to the
 *                                  same path (--dir: that path's program).
 * Every answer has Last-Modified (the server's start) and Cache-Control:
 * no-cache; If-Modified-Since → 304. The files are stored gzipped: sent
 * as they are with Content-Encoding: gzip when Accept-Encoding allows it
 * (every browser), else inflated here (curl without --compressed). */
#ifndef WSD_TERMPAGE_H
#define WSD_TERMPAGE_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "http.h"
#include "util.h"

/* The response to r into *out (initialised here; the caller frees it).
 * keep_alive: no "Connection: close". mtime: Last-Modified. Returns 0, or
 * -1 (out freed) when it could not be built. */
int wsd_termpage_response(wsd_str *out, const wsd_request *r, const wsd_config *cfg,
                          int keep_alive, time_t mtime, time_t now);

/* Does an Accept-Encoding value allow gzip? (gzip or x-gzip, else "*",
 * with a q-value other than 0; RFC 9110 §12.5.3.) */
int wsd_accepts_gzip(const char *v, size_t n);

#endif
