/* ptyfloor.c — the floor of terminal output throughput: a program on a
 * pseudo-terminal (a fresh line discipline, as wsd --pty and ttyd give
 * it) and a reader that does nothing but read the master until EIO. No
 * WebSocket, no event loop: what any terminal server can at best forward.
 *
 *   ptyfloor 'yes | head -c 100M'     prints bytes, seconds, MB/s, reads */
#include <errno.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static char buf[65536];
    struct winsize ws = {24, 80, 0, 0};
    double t0, t1, total = 0;
    long reads = 0;
    int fd, st;
    pid_t pid;

    if (argc != 2) {
        fprintf(stderr, "usage: ptyfloor 'COMMAND'\n");
        return 2;
    }
    t0 = now();
    pid = forkpty(&fd, NULL, NULL, &ws);
    if (pid < 0) {
        perror("forkpty");
        return 1;
    }
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", argv[1], (char *)NULL);
        _exit(127);
    }
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;                 /* EIO: every slave descriptor is closed */
        total += (double)n;
        reads++;
    }
    t1 = now();
    waitpid(pid, &st, 0);
    printf("{\"bytes\": %.0f, \"seconds\": %.3f, \"MBps\": %.1f, \"reads\": %ld}\n", total,
           t1 - t0, total / (t1 - t0) / 1e6, reads);
    return 0;
}
