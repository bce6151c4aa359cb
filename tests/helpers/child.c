/* child.c — a multi-mode program for wsd's end-to-end tests, where a shell
 * script would be too imprecise (signals, floods, exact writes, fds).
 *
 *   child echo                  copy stdin to stdout with read()/write()
 *   child exit N [LINE...]      print each LINE, then exit with status N
 *   child write-then-exit BYTES STATUS
 *                               write BYTES bytes as 100-byte lines, exit STATUS
 *   child ignore-term FILE      ignore SIGINT/SIGTERM (each one and stdin EOF
 *                               are appended to FILE as "NAME <monotonic ms>");
 *                               prints "ready <pid>" and then waits forever
 *   child flood BYTES FILE      write BYTES bytes as 1000-byte lines as fast
 *                               as possible, then write "done" to FILE
 *   child no-read               never read stdin; print "tick N" every 100 ms
 *   child stderr-long N         write N bytes to stderr with no newline, then
 *                               "done" on stdout, then wait for stdin EOF
 *   child stderr LINE...        write each LINE + "\n" to stderr, then "done"
 *                               on stdout, then wait for stdin EOF
 *   child grandchild [stay]     fork a grandchild (same process group) that
 *                               sleeps 60 s; print "grandchild <pid>"; then
 *                               wait for stdin EOF and exit 0, or with "stay"
 *                               keep running after EOF (default signals)
 *   child env                   print environ, one per line, exit 0
 *   child args                  print argv[0..], one per line, exit 0
 *   child info                  print "pid N", "ppid N", "pgid N", "sid N",
 *                               "cwd PATH", "fd N TARGET" per open fd; then
 *                               wait for stdin EOF
 *   child stdin-to-file FILE    copy stdin to FILE (unbuffered) until EOF
 *   child kill-self SIG         print "bye", then raise signal SIG
 *   child sleep MS              print "sleeping", sleep MS ms, exit 0
 *   child stderr-flood BYTES FILE
 *                               print "start", write BYTES bytes to stderr as
 *                               1000-byte lines as fast as possible, then
 *                               write "done" to FILE and print "done"; then
 *                               wait for stdin EOF
 *   child endless-line          print "start\n", then write 'x' to stdout
 *                               forever, in 64 KiB writes, never a newline
 *   child stream MS N           print "pid <parent pid>", then "line K" for
 *                               K = 1..N (N = 0: forever) every MS ms, then
 *                               exit 0; stdin is never read
 *
 * Build: cc -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE (the Makefile's
 * $(BUILD)/tests/child rule). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *record_path;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void out(const char *s)
{
    if (write_all(1, s, strlen(s)) < 0)
        _exit(100);
}

static void outf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void outf(const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    out(buf);
}

/* Async-signal-safe append of "NAME <ms>\n" to record_path. */
static void record(const char *name)
{
    char buf[128];
    long long ms = now_ms();
    char num[32];
    int i = 0, n = 0;
    int fd;

    if (!record_path)
        return;
    if (ms == 0)
        num[i++] = '0';
    while (ms > 0) {
        num[i++] = (char)('0' + ms % 10);
        ms /= 10;
    }
    while (*name && n < 64)
        buf[n++] = *name++;
    buf[n++] = ' ';
    while (i > 0)
        buf[n++] = num[--i];
    buf[n++] = '\n';
    fd = open(record_path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd >= 0) {
        (void)!write(fd, buf, (size_t)n);
        close(fd);
    }
}

static void on_signal(int sig)
{
    record(sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGNAL");
}

/* Reads stdin until EOF (or error); returns when stdin is closed. */
static void drain_stdin(void)
{
    char buf[65536];
    for (;;) {
        ssize_t r = read(0, buf, sizeof buf);
        if (r == 0)
            return;
        if (r < 0 && errno != EINTR)
            return;
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int mode_echo(void)
{
    char buf[65536];
    for (;;) {
        ssize_t r = read(0, buf, sizeof buf);
        if (r == 0)
            return 0;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (write_all(1, buf, (size_t)r) < 0)
            return 1;
    }
}

static int mode_write_then_exit(long long bytes, int status)
{
    char line[100];
    memset(line, 'x', sizeof line);
    line[sizeof line - 1] = '\n';
    while (bytes > 0) {
        size_t n = bytes < (long long)sizeof line ? (size_t)bytes : sizeof line;
        if (write_all(1, line + sizeof line - n, n) < 0)
            return 101;
        bytes -= (long long)n;
    }
    return status;
}

static int mode_ignore_term(const char *file)
{
    struct sigaction sa;
    record_path = file;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    outf("ready %d\n", (int)getpid());
    drain_stdin();
    record("EOF");
    for (;;)
        pause();
    return 0;
}

static int mode_flood(long long bytes, const char *file)
{
    static char buf[1000 * 64];
    size_t i;
    int fd;
    for (i = 0; i < sizeof buf; i++)
        buf[i] = (i % 1000 == 999) ? '\n' : (char)('a' + i % 26);
    while (bytes > 0) {
        size_t n = bytes < (long long)sizeof buf ? (size_t)bytes : sizeof buf;
        if (write_all(1, buf, n) < 0)
            return 1;
        bytes -= (long long)n;
    }
    fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        (void)!write(fd, "done\n", 5);
        close(fd);
    }
    return 0;
}

static int mode_no_read(long ms)
{
    int i;
    for (i = 0;; i++) {
        outf("tick %d\n", i);
        sleep_ms(ms);
    }
    return 0;
}

static int mode_stream(long ms, long n)
{
    long k;
    outf("pid %ld\n", (long)getppid());
    for (k = 1; n == 0 || k <= n; k++) {
        sleep_ms(ms);
        outf("line %ld\n", k);
    }
    return 0;
}

static int mode_stderr_long(long n)
{
    char buf[4096];
    memset(buf, 'e', sizeof buf);
    while (n > 0) {
        size_t k = n < (long)sizeof buf ? (size_t)n : sizeof buf;
        if (write_all(2, buf, k) < 0)
            return 1;
        n -= (long)k;
    }
    out("done\n");
    drain_stdin();
    return 0;
}

static int mode_stderr_lines(int argc, char **argv)
{
    int i;
    for (i = 0; i < argc; i++) {
        if (write_all(2, argv[i], strlen(argv[i])) < 0 || write_all(2, "\n", 1) < 0)
            return 1;
    }
    out("done\n");
    drain_stdin();
    return 0;
}

static int mode_grandchild(int stay)
{
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        /* Grandchild: no stdio of wsd's, so pipes don't keep anything open. */
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            if (fd > 2)
                close(fd);
        }
        sleep_ms(60000);
        _exit(0);
    }
    outf("grandchild %d\n", (int)pid);
    drain_stdin();
    if (stay)
        for (;;)
            pause();
    return 0;
}

static int mode_env(void)
{
    char **e;
    for (e = environ; *e; e++)
        outf("%s\n", *e);
    return 0;
}

static int mode_args(int argc, char **argv)
{
    int i;
    for (i = 0; i < argc; i++)
        outf("%s\n", argv[i]);
    return 0;
}

static int mode_info(void)
{
    char cwd[PATH_MAX];
    DIR *d;
    struct dirent *de;
    /* Collect first (outf writes to fd 1), then print. */
    char lines[64][PATH_MAX + 32];
    int n = 0, i;

    d = opendir("/proc/self/fd");
    if (!d)
        return 1;
    while ((de = readdir(d)) != NULL && n < 64) {
        char path[64], target[PATH_MAX];
        ssize_t len;
        int fd;
        if (de->d_name[0] == '.')
            continue;
        fd = atoi(de->d_name);
        if (fd == dirfd(d))
            continue;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        len = readlink(path, target, sizeof target - 1);
        if (len < 0)
            len = 0;
        target[len] = '\0';
        snprintf(lines[n++], sizeof lines[0], "fd %d %s\n", fd, target);
    }
    closedir(d);
    outf("pid %d\nppid %d\npgid %d\nsid %d\n", (int)getpid(), (int)getppid(),
         (int)getpgid(0), (int)getsid(0));
    if (getcwd(cwd, sizeof cwd))
        outf("cwd %s\n", cwd);
    {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
            outf("nofile %llu %llu\n", (unsigned long long)rl.rlim_cur,
                 (unsigned long long)rl.rlim_max);
    }
    {   /* signal dispositions and mask as the program got them */
        FILE *f = fopen("/proc/self/status", "r");
        char ln[256];
        while (f && fgets(ln, sizeof ln, f)) {
            if (!strncmp(ln, "SigIgn:", 7) || !strncmp(ln, "SigBlk:", 7)) {
                char *v = ln + 7;
                while (*v == ' ' || *v == '\t')
                    v++;
                v[strcspn(v, "\n")] = '\0';
                outf("%.6s %s\n", ln, v);
            }
        }
        if (f)
            fclose(f);
    }
    for (i = 0; i < n; i++)
        out(lines[i]);
    out("end\n");
    drain_stdin();
    return 0;
}

static int mode_stdin_to_file(const char *file)
{
    char buf[65536];
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return 1;
    out("ready\n");
    for (;;) {
        ssize_t r = read(0, buf, sizeof buf);
        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (write_all(fd, buf, (size_t)r) < 0)
            return 1;
    }
    close(fd);
    return 0;
}

static int mode_stderr_flood(long long bytes, const char *file)
{
    static char buf[1000 * 64];
    size_t i;
    int fd;
    for (i = 0; i < sizeof buf; i++)
        buf[i] = (i % 1000 == 999) ? '\n' : (char)('a' + i % 26);
    out("start\n");
    while (bytes > 0) {
        size_t n = bytes < (long long)sizeof buf ? (size_t)bytes : sizeof buf;
        if (write_all(2, buf, n) < 0)
            return 1;
        bytes -= (long long)n;
    }
    fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        (void)!write(fd, "done\n", 5);
        close(fd);
    }
    out("done\n");
    drain_stdin();
    return 0;
}

static int mode_endless_line(void)
{
    static char buf[65536];
    memset(buf, 'x', sizeof buf);
    out("start\n");
    for (;;)
        if (write_all(1, buf, sizeof buf) < 0)
            return 1;
}

static int usage(void)
{
    fprintf(stderr, "child: unknown or incomplete mode (see tests/helpers/child.c)\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *m;
    if (argc < 2)
        return usage();
    m = argv[1];
    if (!strcmp(m, "echo"))
        return mode_echo();
    if (!strcmp(m, "exit") && argc >= 3) {
        int i;
        for (i = 3; i < argc; i++)
            outf("%s\n", argv[i]);
        return atoi(argv[2]);
    }
    if (!strcmp(m, "write-then-exit") && argc >= 4)
        return mode_write_then_exit(atoll(argv[2]), atoi(argv[3]));
    if (!strcmp(m, "ignore-term") && argc >= 3)
        return mode_ignore_term(argv[2]);
    if (!strcmp(m, "flood") && argc >= 4)
        return mode_flood(atoll(argv[2]), argv[3]);
    if (!strcmp(m, "no-read"))
        return mode_no_read(argc >= 3 ? atol(argv[2]) : 100);
    if (!strcmp(m, "stderr-long") && argc >= 3)
        return mode_stderr_long(atol(argv[2]));
    if (!strcmp(m, "stderr"))
        return mode_stderr_lines(argc - 2, argv + 2);
    if (!strcmp(m, "grandchild"))
        return mode_grandchild(argc >= 3 && !strcmp(argv[2], "stay"));
    if (!strcmp(m, "env"))
        return mode_env();
    if (!strcmp(m, "args"))
        return mode_args(argc, argv);
    if (!strcmp(m, "info"))
        return mode_info();
    if (!strcmp(m, "stdin-to-file") && argc >= 3)
        return mode_stdin_to_file(argv[2]);
    if (!strcmp(m, "kill-self") && argc >= 3) {
        out("bye\n");
        raise(atoi(argv[2]));
        sleep_ms(5000);
        return 1;
    }
    if (!strcmp(m, "sleep") && argc >= 3) {
        out("sleeping\n");
        sleep_ms(atol(argv[2]));
        return 0;
    }
    if (!strcmp(m, "stderr-flood") && argc >= 4)
        return mode_stderr_flood(atoll(argv[2]), argv[3]);
    if (!strcmp(m, "stream") && argc >= 4)
        return mode_stream(atol(argv[2]), atol(argv[3]));
    if (!strcmp(m, "endless-line"))
        return mode_endless_line();
    return usage();
}
