/* termbench.c — one terminal-mode connection, measured: keystroke round
 * trips or output throughput, against wsd --pty or ttyd (bench/term runs
 * both; docs/performance.md has the results).
 *
 *   termbench rtt PORT PATH PROTO N        N keystrokes, one at a time: send one
 *                                          byte, wait for its echo; prints
 *                                          p50/p90/p99/max in microseconds
 *   termbench out PORT PATH PROTO BYTES    count output bytes until the server
 *                                          closes (or BYTES arrived); prints
 *                                          bytes, seconds, MB/s
 * PROTO: "wsd" (binary messages are the terminal's bytes both ways) or
 * "ttyd" (subprotocol "tty"; a first JSON message with the window size;
 * input '0'+bytes; output messages '0'+bytes, others ignored).
 * The program under test echoes each byte itself (for rtt: a terminal in
 * raw mode without echo running cat), so one round trip crosses the
 * client's socket, the server, the pty, cat, and back.
 *
 * Blocking I/O on one socket, TCP_NODELAY; every wait is bounded (10 s). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fd = -1;
static int ttyd;
static uint8_t rbuf[1 << 20];
static size_t rlen, rpos;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "termbench: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
    exit(1);
}

/* Reads more bytes into rbuf (bounded wait). 0 at EOF. */
static size_t fill(void)
{
    struct pollfd p = {fd, POLLIN, 0};
    ssize_t n;

    if (rpos > 0) {
        memmove(rbuf, rbuf + rpos, rlen - rpos);
        rlen -= rpos;
        rpos = 0;
    }
    if (rlen == sizeof rbuf)
        die("frame too large");
    if (poll(&p, 1, 10000) != 1)
        die("no data for 10 s");
    n = read(fd, rbuf + rlen, sizeof rbuf - rlen);
    if (n < 0)
        die("read");
    rlen += (size_t)n;
    return (size_t)n;
}

static void send_all(const void *b, size_t n)
{
    const uint8_t *p = b;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0)
            die("write");
        p += w;
        n -= (size_t)w;
    }
}

/* One masked frame (mask 0: the payload is sent as is). */
static void send_frame(int opcode, const uint8_t *p, size_t n)
{
    uint8_t f[14 + 256];
    size_t h = 0;

    if (n > 256)
        die("frame too big for this client");
    f[h++] = (uint8_t)(0x80 | opcode);
    if (n < 126) {
        f[h++] = (uint8_t)(0x80 | n);
    } else {
        f[h++] = 0x80 | 126;
        f[h++] = (uint8_t)(n >> 8);
        f[h++] = (uint8_t)n;
    }
    memset(f + h, 0, 4);
    h += 4;
    memcpy(f + h, p, n);
    send_all(f, h + n);
}

static void send_input(const uint8_t *p, size_t n)
{
    if (ttyd) {
        uint8_t b[257];
        b[0] = '0';
        memcpy(b + 1, p, n);
        send_frame(2, b, n + 1);
    } else {
        send_frame(2, p, n);
    }
}

/* The next frame: its opcode, payload in rbuf (valid until the next call).
 * -1 at EOF. */
static int next_frame(const uint8_t **pay, size_t *plen)
{
    for (;;) {
        size_t avail = rlen - rpos, h = 2;
        uint64_t len;
        const uint8_t *b = rbuf + rpos;
        if (avail >= 2) {
            len = b[1] & 0x7f;
            if (len == 126) {
                h = 4;
                if (avail >= 4)
                    len = (uint64_t)b[2] << 8 | b[3];
            } else if (len == 127) {
                h = 10;
                if (avail >= 10) {
                    int i;
                    len = 0;
                    for (i = 0; i < 8; i++)
                        len = len << 8 | b[2 + i];
                }
            }
            if (avail >= h && avail >= h + len) {
                *pay = b + h;
                *plen = (size_t)len;
                rpos += h + (size_t)len;
                return b[0] & 0x0f;
            }
        }
        if (fill() == 0)
            return -1;
    }
}

/* Terminal output of the next frame: for ttyd only OUTPUT ('0') messages
 * count. Returns its length (0 for other frames), -1 at the close or EOF. */
static long next_output(const uint8_t **out)
{
    const uint8_t *p;
    size_t n;
    int op = next_frame(&p, &n);

    if (op < 0 || op == 8)
        return -1;
    if (op == 9) {                    /* ttyd pings every 5 s and drops a silent client */
        uint8_t pong[125];
        memcpy(pong, p, n < sizeof pong ? n : sizeof pong);
        send_frame(10, pong, n < sizeof pong ? n : sizeof pong);
        return 0;
    }
    if (op != 1 && op != 2 && op != 0)
        return 0;
    if (ttyd) {
        if (n == 0 || p[0] != '0')
            return 0;
        p++;
        n--;
    }
    *out = p;
    return (long)n;
}

static void connect_ws(int port, const char *path)
{
    struct sockaddr_in a;
    char req[512];
    int one = 1;
    size_t end;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n%s\r\n",
             path, port, ttyd ? "Sec-WebSocket-Protocol: tty\r\n" : "");
    send_all(req, strlen(req));
    for (;;) {
        uint8_t *e;
        fill();
        e = memmem(rbuf, rlen, "\r\n\r\n", 4);
        if (e) {
            end = (size_t)(e - rbuf) + 4;
            break;
        }
    }
    if (memcmp(rbuf, "HTTP/1.1 101", 12) != 0)
        die("no 101");
    rpos = end;
    if (ttyd) {
        static const char hello[] = "{\"AuthToken\":\"\",\"columns\":80,\"rows\":24}";
        send_frame(2, (const uint8_t *)hello, sizeof hello - 1);
    }
}

/* Reads and drops output until none came for `quiet` seconds. */
static void settle(double quiet)
{
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        const uint8_t *o;
        if (rpos == rlen && poll(&p, 1, (int)(quiet * 1000)) == 0)
            return;
        if (next_output(&o) < 0)
            die("closed while settling");
    }
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 6)
        die("usage: termbench rtt|out PORT PATH wsd|ttyd N|BYTES");
    ttyd = strcmp(argv[4], "ttyd") == 0;
    connect_ws(atoi(argv[2]), argv[3]);
    if (strcmp(argv[1], "rtt") == 0) {
        long n = atol(argv[5]), i;
        double *t = malloc((size_t)n * sizeof *t);
        settle(0.5);                 /* the shell's start-up output */
        for (i = 0; i < n; i++) {
            const uint8_t k = (uint8_t)('a' + i % 26), *o;
            double t0 = now();
            long got = 0;
            send_input(&k, 1);
            while (got == 0) {
                got = next_output(&o);
                if (got < 0)
                    die("closed");
            }
            if (got != 1 || o[0] != k)
                die("unexpected echo");
            t[i] = (now() - t0) * 1e6;
        }
        qsort(t, (size_t)n, sizeof *t, cmp);
        printf("{\"n\": %ld, \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}\n",
               n, t[n / 2], t[n * 9 / 10], t[n * 99 / 100], t[n - 1]);
        free(t);
    } else {
        double want = atof(argv[5]), got = 0, t0 = now(), t1;
        const uint8_t *o;
        long n;
        while (got < want && (n = next_output(&o)) >= 0)
            got += (double)n;
        t1 = now();
        printf("{\"bytes\": %.0f, \"seconds\": %.3f, \"MBps\": %.1f}\n", got, t1 - t0,
               got / (t1 - t0) / 1e6);
    }
    close(fd);
    return 0;
}
