/* httpserve.c — plain HTTP on a wsd listener: what a request that is not a
 * WebSocket upgrade gets. See conn.h for the contract with server.c.
 *
 * This build serves no files: --staticdir, --cgidir and --devconsole are
 * refused at start-up (config.c), so every plain request is declined and
 * server.c answers 404 as websocketd does for a COMMAND server. */
#include "conn.h"

int wsd_serve_request(conn *c, const wsd_request *r, const char *rest, size_t nrest)
{
    (void)c;
    (void)r;
    (void)rest;
    (void)nrest;
    return 0;
}

void wsd_serve_data(conn *c, const char *p, size_t n)
{
    (void)p;
    (void)n;
    wsd__close(c);
}

void wsd_serve_eof(conn *c)
{
    wsd__close(c);
}

void wsd_serve_drain(conn *c)
{
    (void)c;
}

void wsd_serve_free(conn *c)
{
    c->serve = NULL;
}
