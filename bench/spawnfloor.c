/* spawnfloor.c — the floor for wsd's connect path: what accepting a TCP
 * connection and running the handler costs without WebSocket.
 *
 *   spawnfloor [--address=127.0.0.1] --port=P COMMAND [ARGS...]
 *
 * Per connection: accept, spawn COMMAND with three pipes (floor.h), wait
 * for the child's first output, write it to the client as raw bytes, close
 * the socket and the pipes. stderr is watched too (a real server must read
 * it) and discarded. Children are reaped after every batch of events. No
 * HTTP, no handshake, no framing, no logging, no environment building. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/epoll.h>

#include "floor.h"

struct sconn {
    int sock, in, out, err;
};

/* epoll data: NULL for the listener, the conn for stdout, the conn with the
 * low bit set for stderr, 2 for "skip" */
static void sconn_close(int ep, struct sconn *c)
{
    /* explicit DEL: close() alone leaves the registration while another
     * process still holds the pipe end */
    epoll_ctl(ep, EPOLL_CTL_DEL, c->out, NULL);
    epoll_ctl(ep, EPOLL_CTL_DEL, c->err, NULL);
    close(c->sock);
    close(c->in);
    close(c->out);
    close(c->err);
    free(c);
}

int main(int argc, char **argv)
{
    struct floor_opts o;
    struct epoll_event e, evs[256];
    int lfd, ep;
    static char buf[65536];

    floor_parse(argc, argv, &o);
    lfd = floor_listen(&o);
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        floor_die("epoll_create1");
    e.events = EPOLLIN;
    e.data.ptr = NULL;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e) != 0)
        floor_die("epoll_ctl");

    for (;;) {
        int n = epoll_wait(ep, evs, 256, 1000);
        if (n < 0 && errno != EINTR)
            floor_die("epoll_wait");
        for (int i = 0; i < n; i++) {
            uintptr_t v = (uintptr_t)evs[i].data.ptr;
            if (v == 2)
                continue;  /* its connection was closed earlier in this batch */
            if (v == 0) {
                int fd;
                while ((fd = floor_accept(lfd)) >= 0) {
                    struct sconn *c = malloc(sizeof *c);
                    if (!c || floor_spawn(&o, &c->in, &c->out, &c->err) < 0) {
                        close(fd);
                        free(c);
                        continue;
                    }
                    c->sock = fd;
                    e.events = EPOLLIN;
                    e.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, c->out, &e);
                    e.data.ptr = (void *)((uintptr_t)c | 1);
                    epoll_ctl(ep, EPOLL_CTL_ADD, c->err, &e);
                }
            } else if (v & 1) {
                struct sconn *c = (struct sconn *)(v & ~(uintptr_t)1);
                ssize_t r = read(c->err, buf, sizeof buf);
                if (r == 0 || (r < 0 && errno != EAGAIN))
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->err, NULL);
            } else {
                struct sconn *c = (struct sconn *)v;
                ssize_t r = read(c->out, buf, sizeof buf);
                if (r < 0 && errno == EAGAIN)
                    continue;
                if (r > 0 && write(c->sock, buf, (size_t)r) < 0) {
                    /* the client left: nothing to do but close */
                }
                /* first output relayed (or EOF/error): done. If stderr's
                 * event is still pending in this batch it must not touch c:
                 * mark the remaining events of this batch. */
                for (int j = i + 1; j < n; j++) {
                    uintptr_t w = (uintptr_t)evs[j].data.ptr;
                    if ((w & ~(uintptr_t)1) == (uintptr_t)c)
                        evs[j].data.ptr = (void *)(uintptr_t)2;  /* skip marker */
                }
                sconn_close(ep, c);
            }
        }
        floor_reap();
    }
}
