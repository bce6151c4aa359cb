/* fanfloor.c — the floor for wsd's shared mode: one program, its output
 * copied to every connected TCP client as it is, with no WebSocket framing.
 *
 *   fanfloor [--address=127.0.0.1] --port=P COMMAND [ARGS...]
 *
 * COMMAND is spawned once, at start (floor.h), and its stdout is read 64 KiB
 * at a time into one static buffer; each read is written to every client
 * (write(2) per client, the least the kernel lets a server do). What a
 * client's socket does not take is kept for it; while any client has more
 * than 1 MiB waiting, the program's output is not read (backpressure: the
 * program waits for the slowest client, the least work per delivery), and
 * past 8 MiB a client is closed. Nothing is read from the clients.
 * A client is a line reader (bench/loadgen --raw --mode=subscribe). When
 * COMMAND's output ends, the floor exits. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <sys/epoll.h>

#include "floor.h"

#define PENDING_MAX (8u << 20)
#define PENDING_HIGH (1u << 20)

struct client {
    int fd;
    int idx;             /* in clients[] */
    int high;            /* counted in nhigh: over PENDING_HIGH */
    char *pend;          /* bytes the socket did not take */
    size_t plen, poff, pcap;
};

static int ep;
static char buf[65536];
static struct client **clients;
static int nclients, capclients;
static int lfd_tag, out_tag;     /* epoll data for the listener and stdout */
static int nhigh, out_fd, out_on = 1;   /* clients over the mark; stdout watched */
static struct client *dead;      /* dropped in this batch of events: freed
                                    after it (an event may still name them) */

static void watch_stdout(void)
{
    struct epoll_event e;
    int want = nhigh == 0;
    if (want == out_on)
        return;
    e.events = want ? EPOLLIN : 0;
    e.data.ptr = &out_tag;
    epoll_ctl(ep, EPOLL_CTL_MOD, out_fd, &e);
    out_on = want;
}

static void mark(struct client *c)
{
    int high = c->plen - c->poff > PENDING_HIGH;
    if (high != c->high) {
        c->high = high;
        nhigh += high ? 1 : -1;
        watch_stdout();
    }
}

static void client_drop(struct client *c)
{
    int last = nclients - 1;
    if (c->high) {
        c->high = 0;
        nhigh--;
        watch_stdout();
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    clients[c->idx] = clients[last];
    clients[c->idx]->idx = c->idx;
    nclients--;
    free(c->pend);
    c->pend = (char *)dead;
    dead = c;
}

/* Appends to the pending bytes; 0, or -1 past the bound. */
static int pend_add(struct client *c, const char *p, size_t n)
{
    if (c->poff > 0 && c->poff == c->plen)
        c->poff = c->plen = 0;
    if (c->plen - c->poff + n > PENDING_MAX)
        return -1;
    if (c->plen + n > c->pcap) {
        size_t cap = c->pcap ? c->pcap : 65536;
        if (c->poff > 0) {
            memmove(c->pend, c->pend + c->poff, c->plen - c->poff);
            c->plen -= c->poff;
            c->poff = 0;
        }
        while (cap < c->plen + n)
            cap *= 2;
        if (cap != c->pcap) {
            char *q = realloc(c->pend, cap);
            if (!q)
                return -1;
            c->pend = q;
            c->pcap = cap;
        }
    }
    memcpy(c->pend + c->plen, p, n);
    c->plen += n;
    return 0;
}

static void watch_out(struct client *c, int on)
{
    struct epoll_event e;
    e.events = on ? EPOLLOUT : 0;
    e.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* Writes n bytes to c, or keeps them; returns -1 if c was dropped. */
static int client_send(struct client *c, const char *p, size_t n)
{
    ssize_t w = 0;
    if (c->plen == c->poff) {
        do
            w = write(c->fd, p, n);
        while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EAGAIN) {
            client_drop(c);
            return -1;
        }
        if (w < 0)
            w = 0;
        if ((size_t)w == n)
            return 0;
        watch_out(c, 1);
    }
    if (pend_add(c, p + w, n - (size_t)w) != 0) {
        client_drop(c);
        return -1;
    }
    mark(c);
    return 0;
}

static void client_flush(struct client *c)
{
    while (c->poff < c->plen) {
        ssize_t w = write(c->fd, c->pend + c->poff, c->plen - c->poff);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return;
        if (w <= 0) {
            client_drop(c);
            return;
        }
        c->poff += (size_t)w;
        mark(c);
    }
    c->poff = c->plen = 0;
    mark(c);
    watch_out(c, 0);
}

int main(int argc, char **argv)
{
    struct floor_opts o;
    struct epoll_event e, evs[256];
    int lfd, in, out, err;

    floor_parse(argc, argv, &o);
    lfd = floor_listen(&o);
    if (floor_spawn(&o, &in, &out, &err) < 0)
        floor_die("spawn");
    close(in);
    close(err);
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        floor_die("epoll_create1");
    e.events = EPOLLIN;
    e.data.ptr = &lfd_tag;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
    e.data.ptr = &out_tag;
    epoll_ctl(ep, EPOLL_CTL_ADD, out, &e);
    out_fd = out;
    for (;;) {
        int n = epoll_wait(ep, evs, 256, 1000);
        if (n < 0 && errno != EINTR)
            floor_die("epoll_wait");
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            if (tag == &lfd_tag) {
                int fd;
                while ((fd = floor_accept(lfd)) >= 0) {
                    struct client *c = calloc(1, sizeof *c);
                    if (!c)
                        floor_die("calloc");
                    if (nclients == capclients) {
                        capclients = capclients ? capclients * 2 : 1024;
                        clients = realloc(clients, (size_t)capclients * sizeof *clients);
                        if (!clients)
                            floor_die("realloc");
                    }
                    c->fd = fd;
                    c->idx = nclients;
                    clients[nclients++] = c;
                    e.events = 0;
                    e.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
            } else if (tag == &out_tag) {
                ssize_t r = read(out, buf, sizeof buf);
                if (r == 0)
                    return 0;
                if (r < 0) {
                    if (errno == EAGAIN || errno == EINTR)
                        continue;
                    floor_die("read");
                }
                for (int k = nclients - 1; k >= 0; k--)
                    client_send(clients[k], buf, (size_t)r);
            } else {
                struct client *c = tag;
                if (c->fd < 0)
                    continue;
                if (evs[i].events & (EPOLLERR | EPOLLHUP))
                    client_drop(c);
                else
                    client_flush(c);
            }
        }
        while (dead) {
            struct client *next = (struct client *)dead->pend;
            free(dead);
            dead = next;
        }
        floor_reap();
    }
}
