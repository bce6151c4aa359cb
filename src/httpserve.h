/* httpserve.h — plain HTTP on a wsd listener (httpserve.c): what a request
 * that is not a WebSocket upgrade gets — the console page, CGI, static
 * files — using the connection's transport and, for CGI, a program
 * session (program.c). Its state is c->serve. */
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
/* Client bytes / EOF while c->state == ST_SERVE (a request body). */
void wsd_serve_data(conn *c, const char *p, size_t n);
void wsd_serve_eof(conn *c);
/* The client's write queue dropped below OUT_LOW (send more). */
void wsd_serve_drain(conn *c);
/* The transport is closing: a CGI script is ended. */
void wsd_serve_client_gone(conn *c);
/* A graceful shutdown: a CGI script is ended; the caller bounds the rest. */
void wsd_serve_shutdown(conn *c);
/* The connection is being freed: release c->serve. */
void wsd_serve_free(conn *c);
/* Start-up lines: host NULL → "Serving static content from" / "Serving CGI
 * scripts from" (once); else the "Developer console enabled" / "Serving CGI
 * or static files" URL for one address (after its "Starting" line). */
void wsd_serve_startup_log(const wsd_config *cfg, const char *host, int port);

#endif
