/* loadgen.c — WebSocket (and raw TCP) load generator for wsd's benchmarks.
 *
 * One process, one epoll loop, many non-blocking connections to 127.0.0.1.
 * It speaks the client side of RFC 6455: the upgrade request (the
 * Sec-WebSocket-Accept answer is checked), masked frames out, and a
 * streaming parser for the server's frames (text, binary, continuation,
 * close, ping) that never buffers a payload. With --raw there is no
 * handshake and no framing: a "message" is a line ending in '\n', which is
 * what bench/spawnfloor and bench/relayfloor speak.
 *
 * Modes (see usage()):
 *   connect    C slots: connect, upgrade, wait for the first message, close;
 *              again until the duration or the count is reached.
 *   echo       C connections, each keeping W messages of S bytes in flight.
 *   output     one connection; count messages and bytes until the close.
 *   idle       open N connections, read the server's RSS and fds before and
 *              after, then check that every connection still echoes.
 *   slowreader one connection that is never read for T seconds while the
 *              server's RSS is sampled.
 *   subscribe  N connections that only read (a shared program's clients):
 *              every message starts "<ns> <seq> " (bench/producer), so each
 *              delivery gives a latency from the program's write (the
 *              CLOCK_REALTIME stamp) and a sequence number (gaps counted).
 *
 * Every loop has a deadline. The result is one JSON object on stdout.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

enum mode { M_CONNECT, M_ECHO, M_OUTPUT, M_IDLE, M_SLOW, M_SUB };

static struct {
    enum mode mode;
    int port;
    int raw;
    int conns;          /* C (connect, echo) or N (idle) */
    int window;         /* W */
    size_t size;        /* S */
    double duration;    /* measured seconds (connect, echo, slowreader) */
    double warmup;      /* seconds before measuring (connect, echo) */
    long count;         /* connect: stop after this many (0: duration only) */
    int pid;            /* server pid, for /proc readings */
    int pids[16];       /* --pid=P1,P2,...: a server of several processes */
    int npids;          /* (wsd --workers): readings are their sums */
    double timeout;     /* hard deadline for setup phases and output mode */
    double settle;      /* idle: seconds between opening and measuring */
    double sample;      /* slowreader: seconds between RSS samples */
    int open_limit;     /* handshakes in flight while opening many */
    int binary;         /* send binary frames instead of text */
    double hold;        /* idle: keep the connections this long after measuring */
    const char *path;
    struct in_addr src[16]; /* --source=IP,...: local addresses, round robin */
    int nsrc;
    double start_at;    /* subscribe: CLOCK_REALTIME second to start measuring */
    const char *samples_out; /* subscribe: latency samples (float32 s) to here */
    int tree;           /* subscribe: also read the --pid processes' descendants */
    int deflate;        /* offer permessage-deflate (no context takeover either way) */
} O = {
    .mode = M_ECHO, .port = 0, .conns = 1, .window = 1, .size = 64, .duration = 2,
    .warmup = 0.3, .timeout = 60, .settle = 1.0, .sample = 0.1, .open_limit = 128,
    .path = "/",
};

/* ------------------------------------------------------------------ utils */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "loadgen: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

static void *xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        die("out of memory");
    return p;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* ------------------------------------------------------------ SHA-1, b64
 * Only for checking Sec-WebSocket-Accept (FIPS 180-4, written from the
 * specification). */

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1(const uint8_t *msg, size_t len, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    uint8_t block[64];
    uint64_t bits = (uint64_t)len * 8;
    size_t total = ((len + 8) / 64 + 1) * 64, off;

    for (off = 0; off < total; off += 64) {
        uint32_t w[80], a, b, c, d, e;
        int i;
        for (i = 0; i < 64; i++) {
            size_t k = off + (size_t)i;
            if (k < len)
                block[i] = msg[k];
            else if (k == len)
                block[i] = 0x80;
            else if (k >= total - 8)
                block[i] = (uint8_t)(bits >> (8 * (total - 1 - k)));
            else
                block[i] = 0;
        }
        for (i = 0; i < 16; i++)
            w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
                   (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
        for (i = 16; i < 80; i++)
            w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4];
        for (i = 0; i < 80; i++) {
            uint32_t f, k, t;
            if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
            else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
            else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
            else { f = b ^ c ^ d; k = 0xCA62C1D6; }
            t = rol(a, 5) + f + e + k + w[i];
            e = d; d = c; c = rol(b, 30); b = a; a = t;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
    }
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

static void b64(const uint8_t *in, size_t n, char *out)
{
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = T[v >> 18];
        out[o++] = T[(v >> 12) & 63];
        out[o++] = T[(v >> 6) & 63];
        out[o++] = T[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = T[v >> 18];
        out[o++] = T[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = T[v >> 18];
        out[o++] = T[(v >> 12) & 63];
        out[o++] = T[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
}

/* ------------------------------------------------------------- /proc */

static long proc_rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;
    if (pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

static long proc_fds(int pid)
{
    char path[64];
    struct dirent *d;
    long n = 0;
    DIR *dir;
    if (pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    if (!(dir = opendir(path)))
        return -1;
    while ((d = readdir(dir)))
        if (d->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

/* utime+stime (self) and cutime+cstime (reaped children), milliseconds */
static int proc_cpu_ms(int pid, double *self, double *children)
{
    char path[64], buf[2048];
    unsigned long long v[4];
    char *p;
    ssize_t n;
    int fd, i;
    double tck = (double)sysconf(_SC_CLK_TCK);

    if (pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if ((fd = open(path, O_RDONLY)) < 0)
        return -1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    if (!(p = strrchr(buf, ')')))
        return -1;
    p++;
    /* fields after the command: 3 state ... 14 utime 15 stime 16 cutime 17 cstime */
    for (i = 3; i < 14; i++) {
        p = strchr(p + 1, ' ');
        if (!p)
            return -1;
    }
    if (sscanf(p, " %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3]) != 4)
        return -1;
    *self = (double)(v[0] + v[1]) * 1000.0 / tck;
    *children = (double)(v[2] + v[3]) * 1000.0 / tck;
    return 0;
}

/* The server's readings: the sum over every process given with --pid. */
static long srv_sum(long (*reading)(int pid))
{
    long sum = 0, v;
    if (O.npids == 0)
        return -1;
    for (int i = 0; i < O.npids; i++) {
        if ((v = reading(O.pids[i])) < 0)
            return -1;
        sum += v;
    }
    return sum;
}

static long srv_rss_kb(void) { return srv_sum(proc_rss_kb); }
static long srv_fds(void) { return srv_sum(proc_fds); }

static int srv_cpu_ms(double *self, double *children)
{
    double s = 0, c = 0, a, b;
    if (O.npids == 0)
        return -1;
    for (int i = 0; i < O.npids; i++) {
        if (proc_cpu_ms(O.pids[i], &a, &b) != 0)
            return -1;
        s += a;
        c += b;
    }
    *self = s;
    *children = c;
    return 0;
}

/* --tree: the given processes and all their descendants, as they are now
 * (a server's programs, e.g. websocketd's one tail per client) */
static int tree_pids(int *out, int cap)
{
    int n = 0;
    for (int i = 0; i < O.npids && n < cap; i++)
        out[n++] = O.pids[i];
    for (int k = 0; k < n; k++) {
        char path[96];
        DIR *d;
        struct dirent *t;
        snprintf(path, sizeof path, "/proc/%d/task", out[k]);
        if (!(d = opendir(path)))
            continue;
        while ((t = readdir(d))) {
            char cp[320];
            FILE *f;
            int kid;
            if (t->d_name[0] == '.')
                continue;
            snprintf(cp, sizeof cp, "/proc/%d/task/%s/children", out[k], t->d_name);
            if (!(f = fopen(cp, "r")))
                continue;
            while (n < cap && fscanf(f, "%d", &kid) == 1)
                out[n++] = kid;
            fclose(f);
        }
        closedir(d);
    }
    return n;
}

/* the tree's RSS (KB) and CPU (ms, its live members' own); -1 if none */
static int tree_reading(long *rss_kb, double *cpu_ms)
{
    static int pids[65536];
    int n = tree_pids(pids, (int)(sizeof pids / sizeof pids[0]));
    double a, b;
    long r;
    *rss_kb = 0;
    *cpu_ms = 0;
    if (n == 0)
        return -1;
    for (int i = 0; i < n; i++) {
        if ((r = proc_rss_kb(pids[i])) > 0)
            *rss_kb += r;
        if (proc_cpu_ms(pids[i], &a, &b) == 0)
            *cpu_ms += a + (i < O.npids ? b : 0);
    }
    return n;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* ------------------------------------------------------------- samples */

static double *samples;
static size_t nsamples, samples_cap, samples_seen;

static void sample_add(double v)
{
    samples_seen++;
    if (nsamples < samples_cap) {
        samples[nsamples++] = v;
    } else {
        /* reservoir: keep a uniform sample once the array is full */
        uint64_t j = rng() % samples_seen;
        if (j < samples_cap)
            samples[j] = v;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p)
{
    size_t i;
    if (nsamples == 0)
        return -1;
    i = (size_t)(p * (double)(nsamples - 1) + 0.5);
    return samples[i];
}

/* ------------------------------------------------------------- JSON out */

static char json[8192];
static size_t jlen;

static void jput(const char *fmt, ...)
{
    va_list ap;
    if (jlen >= sizeof json - 1)
        return;
    if (jlen > 0 && jlen < sizeof json - 2) {
        json[jlen++] = ',';
        json[jlen++] = ' ';
    }
    va_start(ap, fmt);
    int n = vsnprintf(json + jlen, sizeof json - jlen, fmt, ap);
    va_end(ap);
    if (n > 0)
        jlen += (size_t)n;
    if (jlen > sizeof json - 1)
        jlen = sizeof json - 1;
}

static void jnum(const char *k, double v)
{
    if (v == (double)(long long)v && v < 1e15 && v > -1e15)
        jput("\"%s\": %lld", k, (long long)v);
    else
        jput("\"%s\": %.6g", k, v);
}

static void jstr(const char *k, const char *v)
{
    char esc[512];
    size_t o = 0;
    for (; *v && o < sizeof esc - 8; v++) {
        unsigned char ch = (unsigned char)*v;
        if (ch == '"' || ch == '\\') {
            esc[o++] = '\\';
            esc[o++] = (char)ch;
        } else if (ch < 0x20 || ch >= 0x7f) {
            o += (size_t)snprintf(esc + o, sizeof esc - o, "\\u%04x", ch);
        } else {
            esc[o++] = (char)ch;
        }
    }
    esc[o] = '\0';
    jput("\"%s\": \"%s\"", k, esc);
}

/* ------------------------------------------------------------- connections */

enum cstate { CS_IDLE, CS_CONNECTING, CS_HANDSHAKE, CS_OPEN, CS_DONE };

typedef struct conn {
    int fd;
    enum cstate state;
    uint32_t ev;                 /* registered epoll events */
    int reading;                 /* EPOLLIN wanted */
    double t0;                   /* connect() time */
    /* handshake */
    char *hs;
    size_t hslen;
    char accept[32];
    /* frame parser (streaming; payloads are counted, not kept) */
    uint8_t hdr[14];
    unsigned hhave, hneed;
    int in_payload;
    int fop, ffin, fmasked;
    uint8_t fkey[4];
    uint64_t left, fpos;
    int in_msg, mop;
    uint64_t mlen;
    uint8_t ctl[125];
    size_t ctllen;
    /* pending output */
    char *w;
    size_t wlen, woff, wcap;
    int close_sent;
    /* echo: send times of the messages in flight (ring of W) */
    double *ts;
    unsigned tsh, tsn;
    long rx;
    uint64_t rxbytes;
    int answered;
    /* subscribe: the start of the current message, and the last sequence */
    char head[40];
    unsigned headlen;
    int seqset;
    uint64_t lastseq;
    int warm;                    /* subscribe: the warm-up client, not counted */
    int pmd;                     /* permessage-deflate was accepted */
    int mcomp;                   /* the current message is compressed (RSV1) */
    uint8_t zhead[512];          /* its first compressed bytes (for the stamp) */
    unsigned zheadlen;
} conn;

static int ep = -1;
static struct sockaddr_in srv_addr;
static uint8_t rbuf[256 * 1024];
static char *payload;            /* S bytes of newline-free text */

/* counters */
static long n_errors, n_conn_fail, n_hs_fail, n_peer_closed, n_bad_len, n_opened;
static char first_error[256];
static int n_inflight;           /* connecting or handshaking */

/* the current phase, for the mode hooks */
static double t_measure = 1e300, t_end = 1e300;
static int stopping;

static void note_error(const char *fmt, ...)
{
    n_errors++;
    if (!first_error[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(first_error, sizeof first_error, fmt, ap);
        va_end(ap);
    }
}

static void set_events(conn *c, uint32_t ev)
{
    struct epoll_event e;
    if (c->fd < 0 || ev == c->ev)
        return;
    e.events = ev;
    e.data.ptr = c;
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) != 0)
        die("epoll_ctl MOD: %s", strerror(errno));
    c->ev = ev;
}

static void wreserve(conn *c, size_t n)
{
    if (c->woff > 0 && c->woff == c->wlen)
        c->woff = c->wlen = 0;
    if (c->wlen + n > c->wcap) {
        size_t cap = c->wcap ? c->wcap : 256;
        while (cap < c->wlen + n)
            cap *= 2;
        c->w = realloc(c->w, cap);
        if (!c->w)
            die("out of memory");
        c->wcap = cap;
    }
}

static void mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4])
{
    uint32_t k4;
    uint64_t k8, v;
    size_t i = 0;
    memcpy(&k4, key, 4);
    k8 = (uint64_t)k4 | (uint64_t)k4 << 32;
    for (; i + 8 <= n; i += 8) {
        memcpy(&v, src + i, 8);
        v ^= k8;
        memcpy(dst + i, &v, 8);
    }
    for (; i < n; i++)
        dst[i] = src[i] ^ key[i & 3];
}

/* Appends one masked frame. */
static void put_frame(conn *c, int opcode, const void *data, size_t len)
{
    uint8_t *p, key[4];
    uint64_t r = rng();
    size_t h = 2;

    wreserve(c, 14 + len);
    p = (uint8_t *)c->w + c->wlen;
    p[0] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        p[1] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        p[1] = 0x80 | 126;
        p[2] = (uint8_t)(len >> 8);
        p[3] = (uint8_t)len;
        h = 4;
    } else {
        p[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            p[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        h = 10;
    }
    memcpy(key, &r, 4);
    memcpy(p + h, key, 4);
    mask_copy(p + h + 4, data, len, key);
    c->wlen += h + 4 + len;
}

/* Appends one message: a frame, or in raw mode a line. */
static void put_msg(conn *c, const char *data, size_t len)
{
    if (O.raw) {
        wreserve(c, len + 1);
        memcpy(c->w + c->wlen, data, len);
        c->w[c->wlen + len] = '\n';
        c->wlen += len + 1;
    } else {
        put_frame(c, O.binary ? 2 : 1, data, len);
    }
}

static void conn_finish(conn *c, int polite);

/* Writes what is pending; waits for EPOLLOUT if the socket is full. */
static void flush(conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t n = write(c->fd, c->w + c->woff, c->wlen - c->woff);
        if (n > 0) {
            c->woff += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            set_events(c, (c->reading ? EPOLLIN : 0) | EPOLLOUT);
            return;
        }
        note_error("write: %s", strerror(errno));
        n_peer_closed++;
        conn_finish(c, 0);
        return;
    }
    c->woff = c->wlen = 0;
    set_events(c, c->reading ? EPOLLIN : 0);
}

static int opened_or_failed;     /* open_many bookkeeping */

static void conn_finish(conn *c, int polite)
{
    if (c->state == CS_DONE || c->state == CS_IDLE)
        return;
    if (c->state == CS_CONNECTING || c->state == CS_HANDSHAKE) {
        n_inflight--;
        opened_or_failed++;
    }
    if (polite && !O.raw && c->state == CS_OPEN && !c->close_sent) {
        /* a close frame (1000), written once without waiting */
        uint8_t code[2] = {0x03, 0xe8};
        c->woff = c->wlen = 0;
        put_frame(c, 8, code, 2);
        c->close_sent = 1;
        if (write(c->fd, c->w, c->wlen) < 0) {
            /* the peer may be gone already: nothing to do */
        }
    }
    close(c->fd);
    c->fd = -1;
    c->ev = 0;
    c->state = CS_DONE;
    free(c->hs);
    c->hs = NULL;
    c->hslen = 0;
    c->woff = c->wlen = 0;
}

static void conn_reset(conn *c)
{
    char *w = c->w;
    size_t wcap = c->wcap;
    double *ts = c->ts;
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->w = w;
    c->wcap = wcap;
    c->ts = ts;
    c->hneed = 2;
}

static void conn_open(conn *c)
{
    struct epoll_event e;
    int one = 1, fd;

    conn_reset(c);
    c->t0 = now();
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
        note_error("socket: %s", strerror(errno));
        n_conn_fail++;
        c->state = CS_DONE;
        opened_or_failed++;
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (O.nsrc > 0) {
        /* a local address of our choosing, its port picked at connect() so
         * that every source address has the whole ephemeral range */
        static unsigned next_src;
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr = O.src[next_src++ % (unsigned)O.nsrc];
#ifdef IP_BIND_ADDRESS_NO_PORT
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
            die("bind %s: %s", inet_ntoa(a.sin_addr), strerror(errno));
    }
    c->fd = fd;
    c->state = CS_CONNECTING;
    n_inflight++;
    e.events = EPOLLOUT;
    e.data.ptr = c;
    c->ev = EPOLLOUT;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0)
        die("epoll_ctl ADD: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&srv_addr, sizeof srv_addr) != 0 &&
        errno != EINPROGRESS) {
        note_error("connect: %s", strerror(errno));
        n_conn_fail++;
        conn_finish(c, 0);
    }
}

/* ------------------------------------------------------------- mode hooks */

static long completed;           /* connect: connections measured */
static long rx_msgs;             /* echo/output: messages in the window */
static uint64_t rx_bytes;
static long answered;            /* idle: echo checks answered */
static int idle_checking;

static void on_open(conn *c)
{
    n_inflight--;
    n_opened++;
    opened_or_failed++;
    c->state = CS_OPEN;
    c->reading = 1;
}

static double t_real;            /* CLOCK_REALTIME of the current read */
static long sub_gaps, sub_lost, sub_reordered, sub_unstamped, sub_compressed;

static double realtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* subscribe: one delivery; its head is "<ns> <seq> ..." */
static void sub_message(conn *c, uint64_t len, double t)
{
    unsigned long long ns, seq;
    if (c->mcomp) {
        sub_compressed++;
        /* the stamp is in the first bytes of the inflated message: inflate
         * what was kept of its start (no context takeover: it stands alone) */
        static z_stream z;
        static int zinit;
        if (!zinit) {
            if (inflateInit2(&z, -15) != Z_OK)
                die("inflateInit2");
            zinit = 1;
        }
        inflateReset(&z);
        z.next_in = c->zhead;
        z.avail_in = c->zheadlen;
        z.next_out = (Bytef *)c->head;
        z.avail_out = sizeof c->head - 1;
        inflate(&z, Z_SYNC_FLUSH);
        c->headlen = (unsigned)(sizeof c->head - 1 - z.avail_out);
        c->zheadlen = 0;
        c->mcomp = 0;
    }
    c->head[c->headlen] = '\0';
    c->headlen = 0;
    if (c->warm)
        return;
    if (sscanf(c->head, "%llu %llu", &ns, &seq) != 2) {
        sub_unstamped++;
        return;
    }
    if (c->seqset && seq != c->lastseq + 1) {
        if (seq > c->lastseq) {
            sub_gaps++;
            if (t >= t_measure && t <= t_end)
                sub_lost += (long)(seq - c->lastseq - 1);
        } else {
            sub_reordered++;
        }
    }
    c->seqset = 1;
    c->lastseq = seq;
    if (t >= t_measure && t <= t_end) {
        rx_msgs++;
        rx_bytes += len;
        sample_add(t_real - (double)ns * 1e-9);
    }
}

static void on_message(conn *c, int opcode, uint64_t len, double t)
{
    (void)opcode;
    c->rx++;
    c->rxbytes += len;
    switch (O.mode) {
    case M_CONNECT:
        if (t >= t_measure && t <= t_end && !stopping) {
            completed++;
            sample_add(t - c->t0);
        }
        conn_finish(c, 1);
        break;
    case M_ECHO:
        if (c->tsn == 0) {
            note_error("unexpected message");
            break;
        }
        if (len != O.size)
            n_bad_len++;
        if (t >= t_measure && t <= t_end) {
            rx_msgs++;
            rx_bytes += len;
            sample_add(t - c->ts[c->tsh]);
        }
        c->tsh = (c->tsh + 1) % (unsigned)O.window;
        c->tsn--;
        if (!stopping && t < t_end) {
            c->ts[(c->tsh + c->tsn) % (unsigned)O.window] = t;
            c->tsn++;
            put_msg(c, payload, O.size);
        }
        break;
    case M_OUTPUT:
        rx_msgs++;
        rx_bytes += len;
        break;
    case M_IDLE:
        if (idle_checking && !c->answered) {
            c->answered = 1;
            answered++;
        }
        break;
    case M_SLOW:
        break;
    case M_SUB:
        sub_message(c, len, t);
        break;
    }
}

/* ------------------------------------------------------------- parsing */

static void on_close_frame(conn *c)
{
    if (O.mode != M_OUTPUT) {
        if (!(O.mode == M_CONNECT && c->rx > 0)) {
            n_peer_closed++;
            note_error("server sent close %u before expected",
                       c->ctllen >= 2 ? (unsigned)(c->ctl[0] << 8 | c->ctl[1]) : 1005);
        }
    }
    conn_finish(c, 1);
}

static void frame_end(conn *c, double t)
{
    c->in_payload = 0;
    if (c->fop & 8) {
        if (c->fop == 8) {
            on_close_frame(c);
        } else if (c->fop == 9) {
            put_frame(c, 10, c->ctl, c->ctllen);
        }
        return;
    }
    if (c->ffin) {
        c->in_msg = 0;
        on_message(c, c->mop, c->mlen, t);
    }
}

static void protocol_error(conn *c, const char *what)
{
    note_error("protocol error: %s", what);
    n_peer_closed++;
    conn_finish(c, 0);
}

static void ws_parse(conn *c, const uint8_t *p, size_t n, double t)
{
    while (n > 0 && c->state == CS_OPEN) {
        if (!c->in_payload) {
            while (n > 0 && c->hhave < c->hneed) {
                c->hdr[c->hhave++] = *p++;
                n--;
                if (c->hhave == 2) {
                    unsigned l7 = c->hdr[1] & 0x7f;
                    c->hneed = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((c->hdr[1] & 0x80) ? 4 : 0);
                }
            }
            if (c->hhave < c->hneed)
                return;
            {
                unsigned l7 = c->hdr[1] & 0x7f, h = 2;
                uint64_t len = l7;
                if ((c->hdr[0] & 0x30) || ((c->hdr[0] & 0x40) && !c->pmd))
                    return protocol_error(c, "RSV bits");
                if (l7 == 126) {
                    len = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
                    h = 4;
                } else if (l7 == 127) {
                    len = 0;
                    for (int i = 0; i < 8; i++)
                        len = len << 8 | c->hdr[2 + i];
                    h = 10;
                }
                c->fmasked = (c->hdr[1] & 0x80) != 0;
                if (c->fmasked)
                    memcpy(c->fkey, c->hdr + h, 4);
                c->ffin = (c->hdr[0] & 0x80) != 0;
                c->fop = c->hdr[0] & 0x0f;
                c->left = len;
                c->fpos = 0;
                c->hhave = 0;
                c->hneed = 2;
                if (c->fop & 8) {
                    if (!c->ffin || len > 125)
                        return protocol_error(c, "bad control frame");
                    c->ctllen = 0;
                } else if (c->fop == 0) {
                    if (!c->in_msg)
                        return protocol_error(c, "continuation without a message");
                } else if (c->fop == 1 || c->fop == 2) {
                    if (c->in_msg)
                        return protocol_error(c, "new message inside a fragmented one");
                    c->in_msg = 1;
                    c->mop = c->fop;
                    c->mlen = 0;
                    c->mcomp = (c->hdr[0] & 0x40) != 0;
                    c->zheadlen = 0;
                } else {
                    return protocol_error(c, "unknown opcode");
                }
                c->in_payload = 1;
                if (c->left == 0)
                    frame_end(c, t);
            }
        } else {
            size_t take = n < c->left ? n : (size_t)c->left;
            if (c->fop & 8) {
                for (size_t i = 0; i < take; i++)
                    c->ctl[c->ctllen++] = c->fmasked ? p[i] ^ c->fkey[(c->fpos + i) & 3] : p[i];
            } else {
                if (O.mode == M_SUB && c->mcomp) {
                    size_t k = sizeof c->zhead - c->zheadlen;
                    if (k > take)
                        k = take;
                    memcpy(c->zhead + c->zheadlen, p, k);
                    c->zheadlen += (unsigned)k;
                } else if (O.mode == M_SUB && c->headlen < sizeof c->head - 1) {
                    size_t k = sizeof c->head - 1 - c->headlen;
                    if (k > take)
                        k = take;
                    memcpy(c->head + c->headlen, p, k);
                    c->headlen += (unsigned)k;
                }
                c->mlen += take;
            }
            c->fpos += take;
            c->left -= take;
            p += take;
            n -= take;
            if (c->left == 0)
                frame_end(c, t);
        }
    }
}

static void raw_parse(conn *c, const uint8_t *p, size_t n, double t)
{
    while (n > 0 && c->state == CS_OPEN) {
        const uint8_t *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) : n;
        if (O.mode == M_SUB && c->headlen < sizeof c->head - 1) {
            size_t h = sizeof c->head - 1 - c->headlen;
            memcpy(c->head + c->headlen, p, h < k ? h : k);
            c->headlen += (unsigned)(h < k ? h : k);
        }
        if (!nl) {
            c->mlen += n;
            return;
        }
        c->mlen += (size_t)(nl - p);
        n -= (size_t)(nl - p) + 1;
        p = nl + 1;
        {
            uint64_t len = c->mlen;
            c->mlen = 0;
            on_message(c, 1, len, t);
        }
    }
}

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static void send_handshake(conn *c)
{
    uint8_t keyraw[16], dig[20];
    char key[32], cat[96];
    uint64_t a = rng(), b = rng();
    int n;

    memcpy(keyraw, &a, 8);
    memcpy(keyraw + 8, &b, 8);
    b64(keyraw, 16, key);
    snprintf(cat, sizeof cat, "%s%s", key, GUID);
    sha1((const uint8_t *)cat, strlen(cat), dig);
    b64(dig, 20, c->accept);
    wreserve(c, 512);
    n = snprintf(c->w + c->wlen, c->wcap - c->wlen,
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\n%s\r\n",
                 O.path, O.port, key,
                 O.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; "
                             "server_no_context_takeover; client_no_context_takeover\r\n" : "");
    c->wlen += (size_t)n;
    c->state = CS_HANDSHAKE;
    c->reading = 1;
    flush(c);
}

/* Checks the response head; returns 0 if it is a valid 101. */
static int check_101(conn *c, const char *head)
{
    const char *h;
    char val[64];
    size_t i = 0;

    if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
        const char *e = strchr(head, '\r');
        note_error("handshake: %.*s", e ? (int)(e - head) : 40, head);
        return -1;
    }
    h = strcasestr(head, "\r\nSec-WebSocket-Accept:");
    if (!h) {
        note_error("handshake: no Sec-WebSocket-Accept");
        return -1;
    }
    h += strlen("\r\nSec-WebSocket-Accept:");
    while (*h == ' ' || *h == '\t')
        h++;
    while (*h && *h != '\r' && *h != ' ' && i < sizeof val - 1)
        val[i++] = *h++;
    val[i] = '\0';
    if (strcmp(val, c->accept) != 0) {
        note_error("handshake: wrong Sec-WebSocket-Accept");
        return -1;
    }
    c->pmd = O.deflate && strcasestr(head, "permessage-deflate") != NULL;
    return 0;
}

static void feed(conn *c, const uint8_t *p, size_t n, double t)
{
    if (c->state == CS_HANDSHAKE) {
        char *end;
        size_t old = c->hslen, headlen;
        if (!c->hs)
            c->hs = xmalloc(8192 + 1);
        size_t take = n < 8192 - c->hslen ? n : 8192 - c->hslen;
        memcpy(c->hs + c->hslen, p, take);   /* frames may follow the head */
        c->hslen += take;
        c->hs[c->hslen] = '\0';
        end = strstr(c->hs, "\r\n\r\n");
        if (!end) {
            if (c->hslen == 8192) {
                n_hs_fail++;
                note_error("handshake: response head too long");
                conn_finish(c, 0);
            }
            return;
        }
        headlen = (size_t)(end + 4 - c->hs);
        if (check_101(c, c->hs) != 0) {
            n_hs_fail++;
            conn_finish(c, 0);
            return;
        }
        free(c->hs);
        c->hs = NULL;
        c->hslen = 0;
        on_open(c);
        p += headlen - old;
        n -= headlen - old;
    }
    if (c->state != CS_OPEN || n == 0)
        return;
    if (O.raw)
        raw_parse(c, p, n, t);
    else
        ws_parse(c, p, n, t);
}

static void on_eof(conn *c)
{
    if (c->state == CS_HANDSHAKE) {
        n_hs_fail++;
        note_error("handshake: connection closed");
    } else if (O.mode == M_OUTPUT && O.raw) {
        /* the raw relay's end of output */
    } else if (!(O.mode == M_CONNECT && c->rx > 0) && O.mode != M_OUTPUT) {
        n_peer_closed++;
        note_error("connection closed by the server");
    }
    conn_finish(c, 0);
}

static void on_event(conn *c, uint32_t events)
{
    if (c->state == CS_DONE || c->state == CS_IDLE || c->fd < 0)
        return;
    if (c->state == CS_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            note_error("connect: %s", strerror(err));
            n_conn_fail++;
            conn_finish(c, 0);
            return;
        }
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        if (O.raw) {
            on_open(c);
            set_events(c, EPOLLIN);
        } else {
            send_handshake(c);
        }
        return;
    }
    if ((events & EPOLLOUT) && c->woff < c->wlen) {
        flush(c);
        if (c->state == CS_DONE)
            return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t n;
        double t;
        if (!c->reading)
            return;
        n = read(c->fd, rbuf, sizeof rbuf);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            if (O.mode == M_CONNECT && c->rx > 0) {
                conn_finish(c, 0);
                return;
            }
            note_error("read: %s", strerror(errno));
            n_peer_closed++;
            conn_finish(c, 0);
            return;
        }
        if (n == 0) {
            on_eof(c);
            return;
        }
        t = now();
        if (O.mode == M_SUB)
            t_real = realtime();
        feed(c, rbuf, (size_t)n, t);
        if (c->state != CS_DONE && c->wlen > c->woff)
            flush(c);
    }
}

/* One round of the event loop: waits at most until `until` (and ≤ 50 ms). */
static void loop_once(double until)
{
    struct epoll_event evs[512];
    double t = now();
    int ms = until > t ? (int)((until - t) * 1000.0) + 1 : 0, n;
    if (ms > 50)
        ms = 50;
    n = epoll_wait(ep, evs, 512, ms);
    if (n < 0 && errno != EINTR)
        die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++)
        on_event(evs[i].data.ptr, evs[i].events);
}

/* Opens n connections, at most O.open_limit handshakes at a time, until all
 * are open or failed or the deadline passes. Returns the number open. */
static long open_many(conn *cs, int n, double deadline)
{
    int next = 0;
    opened_or_failed = 0;
    while (opened_or_failed < n && now() < deadline) {
        while (next < n && n_inflight < O.open_limit)
            conn_open(&cs[next++]);
        loop_once(deadline);
    }
    for (int i = 0; i < n; i++)
        if (cs[i].state == CS_CONNECTING || cs[i].state == CS_HANDSHAKE) {
            note_error("open: timed out");
            n_hs_fail++;
            conn_finish(&cs[i], 0);
        }
    long open = 0;
    for (int i = 0; i < n; i++)
        open += cs[i].state == CS_OPEN;
    return open;
}

static void close_all(conn *cs, int n)
{
    for (int i = 0; i < n; i++)
        conn_finish(&cs[i], 1);
}

static void free_all(conn *cs, int n)
{
    close_all(cs, n);
    for (int i = 0; i < n; i++) {
        free(cs[i].w);
        free(cs[i].ts);
    }
    free(cs);
}

static void put_errors(void)
{
    jnum("errors", (double)n_errors);
    jnum("connect_failures", (double)n_conn_fail);
    jnum("handshake_failures", (double)n_hs_fail);
    jnum("closed_by_server", (double)n_peer_closed);
    if (first_error[0])
        jstr("first_error", first_error);
}

/* ------------------------------------------------------------- modes */

static int mode_connect(void)
{
    conn *cs = xcalloc((size_t)O.conns, sizeof *cs);
    double t0 = now(), cpu0 = 0, ccpu0 = 0, cpu1 = 0, ccpu1 = 0, lg0 = 0, lg1;
    double hard = t0 + O.warmup + O.duration + O.timeout, t_stop;
    int measuring = 0, have_cpu = 0;

    t_measure = t0 + O.warmup;
    t_end = t_measure + O.duration;
    for (int i = 0; i < O.conns; i++)
        conn_open(&cs[i]);
    for (;;) {
        double t = now();
        if (!measuring && t >= t_measure) {
            measuring = 1;
            have_cpu = srv_cpu_ms(&cpu0, &ccpu0) == 0;
            lg0 = self_cpu_s();
        }
        if (t >= t_end || (O.count > 0 && completed >= O.count) || t >= hard)
            break;
        loop_once(t_end);
        t = now();
        for (int i = 0; i < O.conns; i++) {
            conn *c = &cs[i];
            if (c->state != CS_DONE && c->state != CS_IDLE && t - c->t0 > 10.0) {
                note_error("connection made no progress in 10 s");
                conn_finish(c, 0);
            }
            if (c->state == CS_DONE || c->state == CS_IDLE)
                conn_open(c);
        }
        if (n_errors > 1000 && completed == 0)
            break;
    }
    t_stop = now();
    if (t_stop > t_end)
        t_stop = t_end;
    stopping = 1;
    if (have_cpu)
        have_cpu = srv_cpu_ms(&cpu1, &ccpu1) == 0;
    lg1 = self_cpu_s();
    free_all(cs, O.conns);
    {
        double el = t_stop - t_measure;
        qsort(samples, nsamples, sizeof *samples, cmp_double);
        jstr("mode", "connect");
        jnum("concurrency", O.conns);
        jnum("connections", (double)completed);
        jnum("seconds", el);
        jnum("conn_per_s", el > 0 ? (double)completed / el : 0);
        jnum("ttfm_p50_us", pct(0.5) * 1e6);
        jnum("ttfm_p99_us", pct(0.99) * 1e6);
        if (have_cpu && completed > 0) {
            jnum("server_cpu_ms", cpu1 - cpu0);
            jnum("server_cpu_ms_per_conn", (cpu1 - cpu0) / (double)completed);
            jnum("server_children_cpu_ms_per_conn", (ccpu1 - ccpu0) / (double)completed);
        }
        jnum("loadgen_cpu_pct", el > 0 ? 100.0 * (lg1 - lg0) / el : 0);
    }
    put_errors();
    return completed > 0 ? 0 : 1;
}

static int mode_echo(void)
{
    conn *cs = xcalloc((size_t)O.conns, sizeof *cs);
    double t0 = now(), lg0, lg1, t_stop;
    long open;

    for (int i = 0; i < O.conns; i++)
        cs[i].ts = xcalloc((size_t)O.window, sizeof(double));
    open = open_many(cs, O.conns, t0 + O.timeout);
    if (open < O.conns) {
        jstr("mode", "echo");
        jnum("opened", (double)open);
        put_errors();
        free_all(cs, O.conns);
        return 1;
    }
    /* one round trip on every connection before the clock starts: a raw
     * connection is "open" before the floor has spawned its child */
    {
        double deadline = now() + O.timeout;
        O.mode = M_IDLE;
        idle_checking = 1;
        for (int i = 0; i < O.conns; i++) {
            put_msg(&cs[i], payload, O.size);
            flush(&cs[i]);
        }
        while (answered < O.conns && n_peer_closed == 0 && now() < deadline)
            loop_once(deadline);
        idle_checking = 0;
        O.mode = M_ECHO;
        if (answered < O.conns) {
            jstr("mode", "echo");
            jnum("primed", (double)answered);
            put_errors();
            free_all(cs, O.conns);
            return 1;
        }
        for (int i = 0; i < O.conns; i++)
            cs[i].rx = 0;
    }
    t0 = now();
    t_measure = t0 + O.warmup;
    t_end = t_measure + O.duration;
    for (int i = 0; i < O.conns; i++) {
        conn *c = &cs[i];
        for (int k = 0; k < O.window; k++) {
            c->ts[k] = t0;
            put_msg(c, payload, O.size);
        }
        c->tsh = 0;
        c->tsn = (unsigned)O.window;
        flush(c);
    }
    while (now() < t_measure)
        loop_once(t_measure);
    lg0 = self_cpu_s();
    while (now() < t_end)
        loop_once(t_end);
    t_stop = now();
    lg1 = self_cpu_s();
    stopping = 1;
    free_all(cs, O.conns);
    {
        double el = t_stop - t_measure;
        qsort(samples, nsamples, sizeof *samples, cmp_double);
        jstr("mode", "echo");
        jnum("conns", O.conns);
        jnum("window", O.window);
        jnum("size", (double)O.size);
        jnum("messages", (double)rx_msgs);
        jnum("seconds", el);
        jnum("msg_per_s", (double)rx_msgs / el);
        jnum("mb_per_s", (double)rx_msgs * (double)O.size / el / 1e6);
        jnum("rtt_p50_us", pct(0.5) * 1e6);
        jnum("rtt_p99_us", pct(0.99) * 1e6);
        jnum("bad_length", (double)n_bad_len);
        jnum("loadgen_cpu_pct", 100.0 * (lg1 - lg0) / el);
    }
    put_errors();
    return rx_msgs > 0 && n_peer_closed == 0 ? 0 : 1;
}

/* Runs the output connection again until at least D seconds have passed
 * (one run at least, --count runs at most if given): a single run of a fast
 * handler is too short to time alone. */
static int mode_output(void)
{
    conn c;
    double t0 = now(), busy = 0, deadline = t0 + O.timeout;
    long runs = 0, max_runs = O.count > 0 ? O.count : 1000000;
    long expect = -1, uneven = 0;

    t_measure = 0;
    t_end = 1e300;
    memset(&c, 0, sizeof c);
    while (runs < max_runs && (runs == 0 || now() - t0 < O.duration) && now() < deadline) {
        long before = rx_msgs;
        double r0 = now();
        conn_open(&c);          /* keeps c.w */
        while (c.state != CS_DONE && now() < deadline)
            loop_once(deadline);
        if (c.state != CS_DONE) {
            note_error("output: not finished after %.0f s", O.timeout);
            conn_finish(&c, 1);
            break;
        }
        busy += now() - r0;
        runs++;
        if (expect < 0)
            expect = rx_msgs - before;
        else if (rx_msgs - before != expect)
            uneven++;
    }
    free(c.w);
    jstr("mode", "output");
    jnum("runs", (double)runs);
    jnum("messages", (double)rx_msgs);
    jnum("messages_per_run", (double)expect);
    jnum("runs_with_other_count", (double)uneven);
    jnum("bytes", (double)rx_bytes);
    jnum("seconds", busy);
    jnum("msg_per_s", busy > 0 ? (double)rx_msgs / busy : 0);
    jnum("mb_per_s", busy > 0 ? (double)rx_bytes / busy / 1e6 : 0);
    put_errors();
    return rx_msgs > 0 && uneven == 0 ? 0 : 1;
}

static int mode_idle(void)
{
    conn *cs = xcalloc((size_t)O.conns, sizeof *cs);
    long rss00 = srv_rss_kb(), rss0, fd0, rss1, fd1, rss2, fd2, open, still = 0;
    double t0, t_open, settle_end, deadline;

    /* One connection first (opened, echoed, closed), so that what the server
     * initialises once is not counted per connection. */
    {
        conn w;
        char m[16];
        memset(&w, 0, sizeof w);
        memset(m, 'w', sizeof m);
        open_many(&w, 1, now() + O.timeout);
        if (w.state == CS_OPEN) {
            idle_checking = 1;
            put_msg(&w, m, sizeof m);
            flush(&w);
            deadline = now() + O.timeout;
            while (answered < 1 && w.state == CS_OPEN && now() < deadline)
                loop_once(deadline);
            idle_checking = 0;
            answered = 0;
            conn_finish(&w, 1);
        }
        free(w.w);
        settle_end = now() + (O.settle < 0.5 ? O.settle : 0.5);
        while (now() < settle_end)
            loop_once(settle_end);
        n_opened = 0;
    }
    rss0 = srv_rss_kb();
    fd0 = srv_fds();
    t0 = now();
    open = open_many(cs, O.conns, t0 + O.timeout);
    t_open = now() - t0;
    settle_end = now() + O.settle;
    while (now() < settle_end)
        loop_once(settle_end);
    rss1 = srv_rss_kb();
    fd1 = srv_fds();
    for (int i = 0; i < O.conns; i++)
        still += cs[i].state == CS_OPEN;
    /* every connection must still answer */
    idle_checking = 1;
    {
        char msg[64];
        size_t len = O.size < sizeof msg ? O.size : sizeof msg - 1;
        memset(msg, 'p', len);
        for (int i = 0; i < O.conns; i++)
            if (cs[i].state == CS_OPEN) {
                put_msg(&cs[i], msg, len);
                flush(&cs[i]);
            }
    }
    deadline = now() + O.timeout;
    while (answered < still && now() < deadline)
        loop_once(deadline);
    settle_end = now() + (O.settle < 0.3 ? O.settle : 0.3);
    while (now() < settle_end)
        loop_once(settle_end);
    rss2 = srv_rss_kb();
    fd2 = srv_fds();
    if (O.raw) {
        /* a raw connection is "open" once connect() returns, before the
         * floor may have accepted it and spawned its child: only the
         * reading after every connection has answered means anything */
        rss1 = rss2;
        fd1 = fd2;
    }
    jstr("mode", "idle");
    jnum("requested", O.conns);
    jnum("opened", (double)open);
    jnum("open_seconds", t_open);
    jnum("still_open", (double)still);
    jnum("answered", (double)answered);
    jnum("rss_fresh_kb", (double)rss00);
    jnum("rss_before_kb", (double)rss0);
    jnum("rss_after_kb", (double)rss1);
    jnum("rss_after_echo_kb", (double)rss2);
    jnum("fds_before", (double)fd0);
    jnum("fds_after", (double)fd1);
    jnum("fds_after_echo", (double)fd2);
    if (open > 0) {
        jnum("rss_kb_per_conn", (double)(rss1 - rss0) / (double)open);
        jnum("rss_kb_per_conn_after_echo", (double)(rss2 - rss0) / (double)open);
        jnum("fds_per_conn", (double)(fd1 - fd0) / (double)open);
    }
    put_errors();
    if (O.hold > 0) {
        /* for inspecting the server by hand: print now, keep them open */
        printf("{%.*s}\n", (int)jlen, json);
        fflush(stdout);
        jlen = 0;
        settle_end = now() + O.hold;
        while (now() < settle_end)
            loop_once(settle_end);
        jnum("held_seconds", O.hold);
    }
    free_all(cs, O.conns);
    return open == O.conns && answered == O.conns ? 0 : 1;
}

static int mode_slow(void)
{
    conn c;
    long rss00 = srv_rss_kb(), rss0, first = -1, max = -1, last = -1, at1 = -1;
    double t0, t, next, deadline;
    int ns = 0;

    /* a warm-up connection (read 0.2 s, closed) so that what the server
     * initialises once (e.g. libcrypto pages for the first handshake) is
     * not counted as growth */
    memset(&c, 0, sizeof c);
    c.state = CS_IDLE;
    deadline = now() + O.timeout;
    conn_open(&c);
    while ((c.state == CS_CONNECTING || c.state == CS_HANDSHAKE) && now() < deadline)
        loop_once(deadline);
    deadline = now() + (O.duration < 0.4 ? O.duration / 2 : 0.2);
    while (c.state == CS_OPEN && now() < deadline)
        loop_once(deadline);
    conn_finish(&c, 1);
    deadline = now() + (O.duration < 1.0 ? O.duration / 2 : 0.5);
    while (now() < deadline)
        loop_once(deadline);
    n_opened = 0;
    rss0 = srv_rss_kb();
    free(c.w);
    memset(&c, 0, sizeof c);
    c.state = CS_IDLE;
    deadline = now() + O.timeout;
    conn_open(&c);
    while ((c.state == CS_CONNECTING || c.state == CS_HANDSHAKE) && now() < deadline)
        loop_once(deadline);
    if (c.state != CS_OPEN) {
        jstr("mode", "slowreader");
        put_errors();
        return 1;
    }
    c.reading = 0;               /* never read again */
    set_events(&c, 0);
    t0 = now();
    next = t0;
    while ((t = now()) < t0 + O.duration) {
        if (t >= next) {
            long r = srv_rss_kb();
            if (first < 0)
                first = r;
            if (r > max)
                max = r;
            if (at1 < 0 && t - t0 >= 1.0)
                at1 = r;
            last = r;
            ns++;
            next += O.sample;
        }
        loop_once(next < t0 + O.duration ? next : t0 + O.duration);
    }
    jstr("mode", "slowreader");
    jnum("seconds", O.duration);
    jnum("samples", ns);
    jnum("rss_fresh_kb", (double)rss00);
    jnum("rss_before_kb", (double)rss0);
    jnum("rss_first_kb", (double)first);
    jnum("rss_max_kb", (double)max);
    jnum("rss_last_kb", (double)last);
    jnum("rss_growth_kb", (double)(max - rss0));
    if (at1 >= 0)
        jnum("rss_drift_after_1s_kb", (double)(last - at1));
    put_errors();
    conn_finish(&c, 0);
    free(c.w);
    return 0;
}

/* N reading connections; the measurement window starts after they are all
 * open and --settle has passed, or at --start-at (a CLOCK_REALTIME second,
 * so that several loadgen processes measure the same window). */
static int mode_subscribe(void)
{
    conn *cs = xcalloc((size_t)O.conns, sizeof *cs), warm;
    long rss0, fd0, rss1, fd1, open, still = 0;
    double t0, t_open, cpu0 = 0, ccpu0 = 0, cpu1 = 0, ccpu1 = 0, lg0, lg1;
    double start, tcpu0 = 0, tcpu1 = 0;
    long trss = -1, trss1 = -1;
    int have_cpu, ntree = 0;

    /* A warm-up client first, kept open (not counted): what the server
     * sets up once (its program, the shared buffers, libcrypto for the
     * first handshake) is then in the "before" reading, not per client. */
    memset(&warm, 0, sizeof warm);
    {
        double settle;
        open_many(&warm, 1, now() + O.timeout);
        warm.warm = 1;
        settle = now() + (O.settle < 0.5 ? O.settle : 0.5);
        while (now() < settle)
            loop_once(settle);
        n_opened = 0;
    }
    rss0 = srv_rss_kb();
    fd0 = srv_fds();
    t0 = now();
    open = open_many(cs, O.conns, t0 + O.timeout);
    t_open = now() - t0;
    if (O.start_at > 0) {
        double wait = O.start_at - realtime();
        if (wait < 0)
            note_error("opened %.1f s after --start-at", -wait);
        start = now() + (wait > 0 ? wait : 0);
    } else {
        start = now() + O.settle;
    }
    while (now() < start)
        loop_once(start);
    rss1 = srv_rss_kb();
    fd1 = srv_fds();
    t_measure = now();
    t_end = t_measure + O.duration;
    have_cpu = srv_cpu_ms(&cpu0, &ccpu0) == 0;
    if (O.tree)
        ntree = tree_reading(&trss, &tcpu0);
    lg0 = self_cpu_s();
    while (now() < t_end)
        loop_once(t_end);
    if (have_cpu)
        have_cpu = srv_cpu_ms(&cpu1, &ccpu1) == 0;
    if (O.tree && ntree > 0)
        tree_reading(&trss1, &tcpu1);
    lg1 = self_cpu_s();
    for (int i = 0; i < O.conns; i++)
        still += cs[i].state == CS_OPEN;
    stopping = 1;
    if (O.samples_out) {
        FILE *f = fopen(O.samples_out, "wb");
        if (!f)
            die("%s: %s", O.samples_out, strerror(errno));
        for (size_t i = 0; i < nsamples; i++) {
            float v = (float)samples[i];
            fwrite(&v, sizeof v, 1, f);
        }
        fclose(f);
    }
    free_all(cs, O.conns);
    conn_finish(&warm, 1);
    free(warm.w);
    qsort(samples, nsamples, sizeof *samples, cmp_double);
    jstr("mode", "subscribe");
    jnum("requested", O.conns);
    jnum("opened", (double)open);
    jnum("open_seconds", t_open);
    jnum("still_open", (double)still);
    jnum("seconds", O.duration);
    jnum("deliveries", (double)rx_msgs);
    jnum("deliveries_per_s", (double)rx_msgs / O.duration);
    jnum("mb_per_s", (double)rx_bytes / O.duration / 1e6);
    jnum("latency_p50_ms", pct(0.5) * 1e3);
    jnum("latency_p90_ms", pct(0.9) * 1e3);
    jnum("latency_p99_ms", pct(0.99) * 1e3);
    jnum("latency_max_ms", nsamples ? samples[nsamples - 1] * 1e3 : -1);
    jnum("gaps", (double)sub_gaps);
    jnum("lost", (double)sub_lost);
    jnum("reordered", (double)sub_reordered);
    jnum("unstamped", (double)sub_unstamped);
    jnum("compressed", (double)sub_compressed);
    jnum("rss_before_kb", (double)rss0);
    jnum("rss_open_kb", (double)rss1);
    jnum("fds_before", (double)fd0);
    jnum("fds_open", (double)fd1);
    if (open > 0 && rss0 >= 0)
        jnum("rss_kb_per_conn", (double)(rss1 - rss0) / (double)open);
    if (have_cpu) {
        jnum("server_cpu_pct", (cpu1 - cpu0) / 10.0 / O.duration);
        jnum("server_children_cpu_pct", (ccpu1 - ccpu0) / 10.0 / O.duration);
    }
    if (ntree > 0) {
        jnum("tree_processes", ntree);
        jnum("tree_rss_kb", (double)trss);
        jnum("tree_cpu_pct", (tcpu1 - tcpu0) / 10.0 / O.duration);
    }
    jnum("loadgen_cpu_pct", 100.0 * (lg1 - lg0) / O.duration);
    put_errors();
    return open == O.conns && still == O.conns ? 0 : 1;
}

/* ------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: loadgen --mode=MODE --port=P [options]\n"
        "  MODE: connect | echo | output | idle | slowreader | subscribe\n"
        "  --raw            no handshake, no framing: messages are lines (floors)\n"
        "  -c, --conns=N    concurrency (connect, echo) or connections (idle) [1]\n"
        "  -w, --window=W   echo: messages in flight per connection [1]\n"
        "  -s, --size=S     echo/idle: message payload bytes [64]\n"
        "  -d, --duration=D measured seconds (connect, echo, slowreader; output:\n"
        "                   repeat runs until D seconds have passed) [2]\n"
        "      --warmup=S   seconds before measuring (connect, echo) [0.3]\n"
        "  -n, --count=N    connect: stop after N connections; output: at most N runs\n"
        "      --pid=PID[,PID...] server pid(s) (RSS, fds, CPU from /proc, summed)\n"
        "      --timeout=S  deadline for setup phases and output mode [60]\n"
        "      --settle=S   idle: wait before measuring [1]\n"
        "      --sample=S   slowreader: RSS sampling period [0.1]\n"
        "      --open-limit=N  handshakes in flight while opening [128]\n"
        "      --binary     send binary frames instead of text\n"
        "      --path=P     request path [/]\n"
        "      --hold=S     idle: keep the connections open S more seconds (≤ 3600)\n"
        "      --source=IP[,IP...] local 127.x addresses, round robin (> 28k connections)\n"
        "      --start-at=T subscribe: start measuring at this CLOCK_REALTIME second\n"
        "      --samples-out=F subscribe: write the latency samples (float32 seconds)\n"
        "      --deflate    offer permessage-deflate (no context takeover); subscribe\n"
        "                   counts compressed messages (jnum compressed)\n"
        "      --tree       subscribe: also the RSS and CPU of the --pid processes and\n"
        "                   all their descendants (a server's programs)\n"
        "Prints one JSON object. Connects to 127.0.0.1 only.\n");
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"mode", 1, 0, 'm'}, {"port", 1, 0, 'p'}, {"raw", 0, 0, 'r'},
        {"conns", 1, 0, 'c'}, {"window", 1, 0, 'w'}, {"size", 1, 0, 's'},
        {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'W'}, {"count", 1, 0, 'n'},
        {"pid", 1, 0, 'P'}, {"timeout", 1, 0, 'T'}, {"settle", 1, 0, 'S'},
        {"sample", 1, 0, 'A'}, {"open-limit", 1, 0, 'L'}, {"binary", 0, 0, 'b'},
        {"path", 1, 0, 'u'}, {"hold", 1, 0, 'H'}, {"help", 0, 0, 'h'},
        {"source", 1, 0, 'I'}, {"tree", 0, 0, 'X'}, {"deflate", 0, 0, 'D'}, {"start-at", 1, 0, 'Z'}, {"samples-out", 1, 0, 'O'},
        {0, 0, 0, 0},
    };
    struct rlimit rl;
    int o, rc = 1;

    while ((o = getopt_long(argc, argv, "m:p:c:w:s:d:n:h", lo, NULL)) != -1) {
        switch (o) {
        case 'm':
            if (!strcmp(optarg, "connect")) O.mode = M_CONNECT;
            else if (!strcmp(optarg, "echo")) O.mode = M_ECHO;
            else if (!strcmp(optarg, "output")) O.mode = M_OUTPUT;
            else if (!strcmp(optarg, "idle")) O.mode = M_IDLE;
            else if (!strcmp(optarg, "slowreader")) O.mode = M_SLOW;
            else if (!strcmp(optarg, "subscribe")) O.mode = M_SUB;
            else die("unknown mode %s", optarg);
            break;
        case 'p': O.port = atoi(optarg); break;
        case 'r': O.raw = 1; break;
        case 'c': O.conns = atoi(optarg); break;
        case 'w': O.window = atoi(optarg); break;
        case 's': O.size = (size_t)strtoul(optarg, NULL, 10); break;
        case 'd': O.duration = atof(optarg); break;
        case 'W': O.warmup = atof(optarg); break;
        case 'n': O.count = atol(optarg); break;
        case 'P': {
            char *e = optarg;
            O.npids = 0;
            while (*e && O.npids < (int)(sizeof O.pids / sizeof O.pids[0])) {
                O.pids[O.npids++] = (int)strtol(e, &e, 10);
                if (*e == ',')
                    e++;
                else if (*e)
                    die("--pid: a list of numbers separated by commas");
            }
            O.pid = O.npids ? O.pids[0] : 0;
            break;
        }
        case 'T': O.timeout = atof(optarg); break;
        case 'S': O.settle = atof(optarg); break;
        case 'A': O.sample = atof(optarg); break;
        case 'L': O.open_limit = atoi(optarg); break;
        case 'b': O.binary = 1; break;
        case 'u': O.path = optarg; break;
        case 'H': O.hold = atof(optarg); if (O.hold > 3600) O.hold = 3600; break;
        case 'I': {
            char *list = strdup(optarg), *save = NULL;
            for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (O.nsrc == (int)(sizeof O.src / sizeof O.src[0]))
                    die("--source: at most 16 addresses");
                if (inet_pton(AF_INET, t, &O.src[O.nsrc]) != 1 ||
                    (ntohl(O.src[O.nsrc].s_addr) >> 24) != 127)
                    die("--source: %s is not a 127.x.y.z address", t);
                O.nsrc++;
            }
            free(list);
            break;
        }
        case 'X': O.tree = 1; break;
        case 'D': O.deflate = 1; break;
        case 'Z': O.start_at = atof(optarg); break;
        case 'O': O.samples_out = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (O.port <= 0 || O.port > 65535)
        die("--port is required");
    if (O.conns < 1 || O.conns > 100000 || O.window < 1 || O.window > 4096)
        die("bad --conns or --window");
    if (O.size > (64u << 20))
        die("--size too large");
    if (O.duration <= 0 || O.duration > 3600 || O.timeout <= 0 || O.timeout > 3600)
        die("--duration and --timeout must be in (0, 3600]");
    if (O.sample < 0.001)
        O.sample = 0.001;
    if (O.open_limit < 1)
        O.open_limit = 1;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    rng_state ^= (uint64_t)getpid() << 20 ^ (uint64_t)(now() * 1e9);

    memset(&srv_addr, 0, sizeof srv_addr);
    srv_addr.sin_family = AF_INET;
    srv_addr.sin_port = htons((uint16_t)O.port);
    srv_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);   /* 127.0.0.1 only */

    payload = xmalloc(O.size + 1);
    for (size_t i = 0; i < O.size; i++)
        payload[i] = (char)('a' + i % 26);
    samples_cap = 1u << 21;
    samples = xmalloc(samples_cap * sizeof *samples);
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll_create1: %s", strerror(errno));

    switch (O.mode) {
    case M_CONNECT: rc = mode_connect(); break;
    case M_ECHO: rc = mode_echo(); break;
    case M_OUTPUT: rc = mode_output(); break;
    case M_IDLE: rc = mode_idle(); break;
    case M_SLOW: rc = mode_slow(); break;
    case M_SUB: rc = mode_subscribe(); break;
    }
    jstr("transport", O.raw ? "raw" : "websocket");
    printf("{%.*s}\n", (int)jlen, json);
    fflush(stdout);
    free(payload);
    free(samples);
    close(ep);
    return rc;
}
