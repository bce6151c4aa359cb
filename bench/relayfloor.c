/* relayfloor.c — the floor for wsd's relay: an epoll TCP <-> pipe relay with
 * no WebSocket framing.
 *
 *   relayfloor [--address=127.0.0.1] --port=P COMMAND [ARGS...]
 *
 * Per connection: spawn COMMAND with three pipes (floor.h), then copy socket
 * bytes to the child's stdin and the child's stdout bytes to the socket, as
 * they are (64 KiB reads into one static buffer). Backpressure as wsd: what
 * a destination does not take is kept (one buffer per direction, allocated
 * only while something waits) and the source is not read until it drains.
 * stderr is read and discarded. When the client leaves, everything is
 * closed; when the child's stdout ends, the socket is closed once the
 * pending bytes are out. Children are reaped after every batch of events. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <sys/epoll.h>

#include "floor.h"

enum { E_SOCK, E_IN, E_OUT, E_ERR };

struct rconn;
struct end {
    struct rconn *c;
    int kind;
    int fd;
    int reg;             /* in the epoll set */
    uint32_t ev;
};

struct rconn {
    struct end e[4];
    char *s2c;           /* stdout bytes the socket did not take */
    size_t s2c_len, s2c_off;
    char *c2s;           /* socket bytes the pipe did not take */
    size_t c2s_len, c2s_off;
    int out_eof;
    int dead;
};

static int ep;
static char buf[65536];
static struct rconn *graveyard[4096];
static int ngrave;

static void end_set(struct end *e, uint32_t ev)
{
    struct epoll_event x;
    if (e->fd < 0)
        return;
    if (e->reg && e->ev == ev)
        return;
    x.events = ev;
    x.data.ptr = e;
    if (!e->reg) {
        if (epoll_ctl(ep, EPOLL_CTL_ADD, e->fd, &x) == 0)
            e->reg = 1;
    } else {
        epoll_ctl(ep, EPOLL_CTL_MOD, e->fd, &x);
    }
    e->ev = ev;
}

static void end_unreg(struct end *e)
{
    if (e->reg && e->fd >= 0)
        epoll_ctl(ep, EPOLL_CTL_DEL, e->fd, NULL);
    e->reg = 0;
    e->ev = 0;
}

static void end_close(struct end *e)
{
    if (e->fd >= 0) {
        if (e->reg)      /* close() alone would not if another process holds it */
            epoll_ctl(ep, EPOLL_CTL_DEL, e->fd, NULL);
        close(e->fd);
        e->fd = -1;
    }
    e->reg = 0;
    e->ev = 0;
}

static void teardown(struct rconn *c)
{
    if (c->dead)
        return;
    c->dead = 1;
    for (int i = 0; i < 4; i++)
        end_close(&c->e[i]);
    free(c->s2c);
    free(c->c2s);
    c->s2c = c->c2s = NULL;
    /* freed after the batch: later events of this batch may point at it */
    if (ngrave < (int)(sizeof graveyard / sizeof *graveyard))
        graveyard[ngrave++] = c;
}

static void keep(char **b, size_t *len, size_t *off, const char *p, size_t n)
{
    *b = malloc(n);
    if (!*b) {
        fprintf(stderr, "relayfloor: out of memory\n");
        exit(1);
    }
    memcpy(*b, p, n);
    *len = n;
    *off = 0;
}

static void on_sock(struct rconn *c, uint32_t ev)
{
    if (ev & EPOLLOUT) {
        while (c->s2c) {
            ssize_t w = write(c->e[E_SOCK].fd, c->s2c + c->s2c_off, c->s2c_len - c->s2c_off);
            if (w < 0) {
                if (errno == EAGAIN)
                    break;
                teardown(c);
                return;
            }
            c->s2c_off += (size_t)w;
            if (c->s2c_off == c->s2c_len) {
                free(c->s2c);
                c->s2c = NULL;
                if (c->out_eof) {
                    teardown(c);
                    return;
                }
                end_set(&c->e[E_SOCK], c->c2s ? 0 : EPOLLIN);
                end_set(&c->e[E_OUT], EPOLLIN);
            }
        }
    }
    if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->c2s) {
        ssize_t r = read(c->e[E_SOCK].fd, buf, sizeof buf);
        if (r < 0 && errno == EAGAIN)
            return;
        if (r <= 0) {            /* the client left */
            teardown(c);
            return;
        }
        if (c->e[E_IN].fd < 0)
            return;              /* the child closed its stdin: drop */
        ssize_t w = write(c->e[E_IN].fd, buf, (size_t)r);
        if (w < 0 && errno != EAGAIN) {
            end_close(&c->e[E_IN]);
            return;
        }
        if (w < 0)
            w = 0;
        if (w < r) {
            keep(&c->c2s, &c->c2s_len, &c->c2s_off, buf + w, (size_t)(r - w));
            end_set(&c->e[E_SOCK], c->s2c ? EPOLLOUT : 0);
            end_set(&c->e[E_IN], EPOLLOUT);
        }
    }
}

static void on_in(struct rconn *c, uint32_t ev)
{
    (void)ev;
    while (c->c2s) {
        ssize_t w = write(c->e[E_IN].fd, c->c2s + c->c2s_off, c->c2s_len - c->c2s_off);
        if (w < 0) {
            if (errno == EAGAIN)
                return;
            end_close(&c->e[E_IN]);   /* child closed stdin: drop the rest */
            free(c->c2s);
            c->c2s = NULL;
            break;
        }
        c->c2s_off += (size_t)w;
        if (c->c2s_off == c->c2s_len) {
            free(c->c2s);
            c->c2s = NULL;
        }
    }
    end_unreg(&c->e[E_IN]);
    end_set(&c->e[E_SOCK], (c->s2c ? EPOLLOUT : 0) | EPOLLIN);
}

static void on_out(struct rconn *c, uint32_t ev)
{
    ssize_t r, w;
    (void)ev;
    if (c->s2c)
        return;
    r = read(c->e[E_OUT].fd, buf, sizeof buf);
    if (r < 0 && errno == EAGAIN)
        return;
    if (r <= 0) {                /* stdout ended */
        c->out_eof = 1;
        end_close(&c->e[E_OUT]);
        teardown(c);
        return;
    }
    w = write(c->e[E_SOCK].fd, buf, (size_t)r);
    if (w < 0 && errno != EAGAIN) {
        teardown(c);
        return;
    }
    if (w < 0)
        w = 0;
    if (w < r) {
        keep(&c->s2c, &c->s2c_len, &c->s2c_off, buf + w, (size_t)(r - w));
        end_unreg(&c->e[E_OUT]);
        end_set(&c->e[E_SOCK], (c->c2s ? 0 : EPOLLIN) | EPOLLOUT);
    }
}

static void on_err(struct rconn *c, uint32_t ev)
{
    ssize_t r;
    (void)ev;
    r = read(c->e[E_ERR].fd, buf, sizeof buf);
    if (r == 0 || (r < 0 && errno != EAGAIN))
        end_close(&c->e[E_ERR]);
}

int main(int argc, char **argv)
{
    struct floor_opts o;
    struct epoll_event x, evs[256];
    int lfd;

    floor_parse(argc, argv, &o);
    lfd = floor_listen(&o);
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        floor_die("epoll_create1");
    x.events = EPOLLIN;
    x.data.ptr = NULL;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &x) != 0)
        floor_die("epoll_ctl");

    for (;;) {
        int n = epoll_wait(ep, evs, 256, 1000);
        if (n < 0 && errno != EINTR)
            floor_die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct end *e = evs[i].data.ptr;
            if (!e) {
                int fd;
                while ((fd = floor_accept(lfd)) >= 0) {
                    struct rconn *c = calloc(1, sizeof *c);
                    int in, out, err;
                    if (!c || floor_spawn(&o, &in, &out, &err) < 0) {
                        close(fd);
                        free(c);
                        continue;
                    }
                    c->e[E_SOCK].fd = fd;
                    c->e[E_IN].fd = in;
                    c->e[E_OUT].fd = out;
                    c->e[E_ERR].fd = err;
                    for (int k = 0; k < 4; k++) {
                        c->e[k].c = c;
                        c->e[k].kind = k;
                    }
                    end_set(&c->e[E_SOCK], EPOLLIN);
                    end_set(&c->e[E_OUT], EPOLLIN);
                    end_set(&c->e[E_ERR], EPOLLIN);
                }
                continue;
            }
            if (e->c->dead || e->fd < 0)
                continue;
            switch (e->kind) {
            case E_SOCK: on_sock(e->c, evs[i].events); break;
            case E_IN: on_in(e->c, evs[i].events); break;
            case E_OUT: on_out(e->c, evs[i].events); break;
            case E_ERR: on_err(e->c, evs[i].events); break;
            }
        }
        for (int i = 0; i < ngrave; i++)
            free(graveyard[i]);
        ngrave = 0;
        floor_reap();
    }
}
