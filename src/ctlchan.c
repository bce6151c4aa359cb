/* ctlchan.c — the supervisor's channel to its children (see ctlchan.h). */
#include "ctlchan.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

int wsd_ctl_pair(int fds[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        return -errno;
    return 0;
}

static long ms_left(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(deadline->tv_sec - now.tv_sec) * 1000 +
           (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static void deadline_in(struct timespec *d, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, d);
    d->tv_sec += ms / 1000;
    d->tv_nsec += (ms % 1000) * 1000000;
    if (d->tv_nsec >= 1000000000L) {
        d->tv_sec++;
        d->tv_nsec -= 1000000000L;
    }
}

/* Everything of p[0..n) within the deadline (poll, then a non-blocking
 * send). 0 or -1. */
static int send_all(int fd, const char *p, size_t n, const struct timespec *deadline)
{
    while (n > 0) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        long left = ms_left(deadline);
        ssize_t w;
        if (left <= 0)
            return -1;
        if (poll(&pfd, 1, (int)left) <= 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        w = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int wsd_ctl_send(int fd, const char *text, size_t len)
{
    unsigned char hdr[4];
    struct timespec deadline;

    if (len > WSD_CTL_MAX)
        return -1;
    {   /* the answers to earlier sends nobody waited for */
        char drain[64];
        while (recv(fd, drain, sizeof drain, MSG_DONTWAIT) > 0)
            ;
    }
    hdr[0] = (unsigned char)(len >> 24);
    hdr[1] = (unsigned char)(len >> 16);
    hdr[2] = (unsigned char)(len >> 8);
    hdr[3] = (unsigned char)len;
    deadline_in(&deadline, WSD_CTL_TIMEOUT_MS);
    if (send_all(fd, (const char *)hdr, 4, &deadline) != 0)
        return -1;
    return send_all(fd, text, len, &deadline);
}

int wsd_ctl_wait_ack(int fd)
{
    struct timespec deadline;
    unsigned char b;

    deadline_in(&deadline, WSD_CTL_TIMEOUT_MS);
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        long left = ms_left(&deadline);
        ssize_t r;
        if (left <= 0)
            return -1;
        if (poll(&pfd, 1, (int)left) <= 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        r = recv(fd, &b, 1, MSG_DONTWAIT);
        if (r == 1)
            return b ? 1 : 0;
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        return -1;
    }
}

/* ---- Child side ------------------------------------------------------------- */

struct wsd_ctl {
    uv_pipe_t pipe;
    wsd_ctl_cb cb;
    void *data;
    unsigned char hdr[4];
    size_t nhdr;
    char *text;                  /* the text being received */
    size_t len, got;
};

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char rbuf[65536];
    (void)h;
    (void)suggested;
    buf->base = rbuf;
    buf->len = sizeof rbuf;
}

static void on_closed(uv_handle_t *h)
{
    wsd_ctl *c = h->data;
    free(c->text);
    free(c);
}

static void answer(wsd_ctl *c, int applied)
{
    unsigned char b = applied ? 1 : 0;
    uv_buf_t buf = uv_buf_init((char *)&b, 1);
    /* one byte: the socket takes it at once */
    uv_try_write((uv_stream_t *)&c->pipe, &buf, 1);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    wsd_ctl *c = s->data;
    const char *p = buf->base;
    size_t n;

    if (nread < 0) {
        /* the supervisor is gone: PR_SET_PDEATHSIG ends this process */
        uv_read_stop(s);
        return;
    }
    n = (size_t)nread;
    while (n > 0) {
        if (c->nhdr < 4) {
            c->hdr[c->nhdr++] = (unsigned char)*p++;
            n--;
            if (c->nhdr == 4) {
                c->len = (size_t)c->hdr[0] << 24 | (size_t)c->hdr[1] << 16 |
                         (size_t)c->hdr[2] << 8 | c->hdr[3];
                if (c->len > WSD_CTL_MAX) {
                    wsd_log(WSD_LOG_ERROR, "server", "", "Malformed message from the supervisor");
                    uv_read_stop(s);
                    return;
                }
                c->text = xmalloc(c->len + 1);
                c->got = 0;
            }
            if (c->nhdr < 4 || c->len > 0)
                continue;
        } else {
            size_t take = c->len - c->got < n ? c->len - c->got : n;
            memcpy(c->text + c->got, p, take);
            c->got += take;
            p += take;
            n -= take;
            if (c->got < c->len)
                continue;
        }
        c->text[c->len] = '\0';
        answer(c, c->cb(c->data, c->text, c->len));
        free(c->text);
        c->text = NULL;
        c->nhdr = 0;
    }
}

wsd_ctl *wsd_ctl_open(uv_loop_t *loop, int fd, wsd_ctl_cb cb, void *data)
{
    wsd_ctl *c = xcalloc(1, sizeof *c);

    c->cb = cb;
    c->data = data;
    if (uv_pipe_init(loop, &c->pipe, 0) != 0) {
        free(c);
        return NULL;
    }
    c->pipe.data = c;
    if (uv_pipe_open(&c->pipe, fd) != 0 ||
        uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) != 0) {
        uv_close((uv_handle_t *)&c->pipe, on_closed);
        return NULL;
    }
    uv_unref((uv_handle_t *)&c->pipe);
    return c;
}

void wsd_ctl_close(wsd_ctl *c)
{
    if (c && !uv_is_closing((uv_handle_t *)&c->pipe))
        uv_close((uv_handle_t *)&c->pipe, on_closed);
}
