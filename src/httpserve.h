/* httpserve.h — plain HTTP on a wsd listener (httpserve.c): what a request
 * that is not a WebSocket upgrade gets — the console page, CGI, static
 * files — using the connection's transport and, for CGI, a program
 * session (program.c). Its state is c->serve; it installs itself as the
 * connection's handler (conn.h) when it takes a request. */
#ifndef WSD_HTTPSERVE_H
#define WSD_HTTPSERVE_H

#include <stddef.h>

#include "config.h"
#include "conn.h"
#include "http.h"

/* A complete plain-HTTP request head arrived (not a WebSocket upgrade, or a
 * server without COMMAND/--dir). `rest` are the bytes after the head (a
 * body or a pipelined request). Returns 1 if it took the request (c->state
 * is then ST_SERVE or closing), 0 if it serves nothing for it (the caller
 * then answers 404). */
int wsd_serve_request(conn *c, const wsd_request *r, const char *rest, size_t nrest);
/* Start-up lines: host NULL → "Serving static content from" / "Serving CGI
 * scripts from" (once); else the "Developer console enabled" / "Serving CGI
 * or static files" URL for one address (after its "Starting" line). */
void wsd_serve_startup_log(const wsd_config *cfg, const char *host, int port);

#endif
