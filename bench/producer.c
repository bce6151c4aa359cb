/* producer.c — the program of the shared-mode benchmark (bench/shared):
 * prints lines "<ns> <seq> <padding>\n", <ns> the CLOCK_REALTIME time the
 * line was written, so a client can tell the latency from the program's
 * write to its receipt.
 *
 *   producer RATE SIZE [FILE|-] [COUNT] [START]
 *     RATE  lines a second (0: as fast as it can);
 *     SIZE  bytes per line, padding included (at least 32);
 *     FILE  append to FILE instead of writing stdout (for `tail -F`);
 *     COUNT stop after this many lines (0, the default: no end);
 *     START a CLOCK_REALTIME second: print nothing before it (so that a
 *           flat-out run begins once every client is connected).
 *
 * Lines are written in one write(2) per millisecond tick (RATE/1000 of
 * them, the fractions carried), each stamped just before the write. Stops
 * at EOF or error on its output (the server went away) or on SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    double rate = argc > 1 ? atof(argv[1]) : 100;
    size_t size = argc > 2 ? (size_t)atol(argv[2]) : 64, cap, len;
    int fd = 1;
    char *buf;
    uint64_t seq = 0, tick = 0, count = argc > 4 ? strtoull(argv[4], NULL, 10) : 0;
    double owed = 0;
    struct timespec next;

    if (size < 32)
        size = 32;
    if (argc > 3 && strcmp(argv[3], "-") != 0 && (fd = open(argv[3], O_WRONLY | O_APPEND | O_CREAT, 0644)) < 0) {
        perror(argv[3]);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (argc > 5) {
        double start = atof(argv[5]);
        struct timespec at;
        at.tv_sec = (time_t)start;
        at.tv_nsec = (long)((start - (double)at.tv_sec) * 1e9);
        while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL) == EINTR)
            ;
    }
    cap = size * (rate > 0 ? (size_t)(rate / 1000) + 2 : 256);
    buf = malloc(cap);
    if (!buf)
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        size_t n, i;
        uint64_t stamp;
        if (rate > 0) {
            owed += rate / 1000.0;
            n = (size_t)owed;
            owed -= (double)n;
            next.tv_nsec += 1000000;
            if (next.tv_nsec >= 1000000000) {
                next.tv_nsec -= 1000000000;
                next.tv_sec++;
            }
        } else {
            n = cap / size;
        }
        if (count > 0 && n > count - seq)
            n = (size_t)(count - seq);
        if (count > 0 && n == 0 && seq >= count)
            return 0;
        len = 0;
        stamp = now_ns(CLOCK_REALTIME);
        for (i = 0; i < n; i++) {
            int h = snprintf(buf + len, cap - len, "%llu %llu ", (unsigned long long)stamp,
                             (unsigned long long)seq++);
            memset(buf + len + h, 'x', size - (size_t)h - 1);
            buf[len + size - 1] = '\n';
            len += size;
        }
        for (i = 0; i < len;) {
            ssize_t w = write(fd, buf + i, len - i);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return 0;
            i += (size_t)w;
        }
        if (rate > 0)
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        tick++;
    }
}
