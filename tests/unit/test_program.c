/* test_program.c — the program session (src/program.c) on a real libuv loop
 * with real children (tests/helpers/child, /bin/sh), as libuv tests its
 * spawn: output and EOF, exit status, stdin queue and gathering, the kill
 * schedules of WebSocket and CGI, stdout closed early, a grandchild left
 * behind, detaching, stderr lines in the log, spawn failures, and no
 * descriptor or process left behind. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <time.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <uv.h>

#include "harness.h"
#include "log.h"
#include "program.h"

static uv_loop_t *loop;
static char child_path[PATH_MAX];

typedef struct {
    char out[1 << 20];
    size_t nout;
    char err[4096];
    size_t nerr;
    int out_eof, err_eof, exited, done, stdin_ready;
    int64_t status;
    int sig;
    long long t_start, t_exit;
    wsd_program *p;
    int end_on_out;              /* call wsd_program_end at the first output */
    int close_on_ready;          /* close stdin at on_stdin_ready */
} run;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_out(wsd_program *p, const char *buf, size_t n, int eof)
{
    run *r = p->data;
    if (n > 0 && r->nout + n <= sizeof r->out) {
        memcpy(r->out + r->nout, buf, n);
        r->nout += n;
    }
    if (eof)
        r->out_eof++;
    if (n > 0 && r->end_on_out)
        wsd_program_end(p);
}

static void on_err(wsd_program *p, const char *buf, size_t n, int eof)
{
    run *r = p->data;
    if (n > 0 && r->nerr + n <= sizeof r->err) {
        memcpy(r->err + r->nerr, buf, n);
        r->nerr += n;
    }
    if (eof)
        r->err_eof++;
}

static void on_exit_cb(wsd_program *p)
{
    run *r = p->data;
    r->exited++;
    r->status = p->exit_status;
    r->sig = p->term_signal;
    r->t_exit = now_ms();
}

static void on_ready(wsd_program *p)
{
    run *r = p->data;
    r->stdin_ready++;
    if (r->close_on_ready)
        wsd_program_close_stdin(p);
}

static void on_done(wsd_program *p)
{
    run *r = p->data;
    r->done++;
    wsd_program_free(p);
    r->p = NULL;
}

static const wsd_program_ops ops = {on_out, on_err, on_exit_cb, on_ready, on_done};

static char *log_assoc = "test:'program'";

static int start(run *r, const wsd_kill_plan *k, char *const *argv)
{
    wsd_spawn_options so;
    wsd_program_options po;
    static char *env[] = {"PATH=/usr/bin:/bin", NULL};

    memset(&so, 0, sizeof so);
    so.file = argv[0];
    so.argv = argv;
    so.env = env;
    memset(&po, 0, sizeof po);
    po.spawn = &so;
    po.ops = &ops;
    po.kill = k;
    po.log_category = "process";
    po.stderr_category = "stderr";
    po.assoc = &log_assoc;
    po.data = r;
    r->t_start = now_ms();
    return wsd_program_start(loop, &po, &r->p);
}

static void on_guard(uv_timer_t *t)
{
    (void)t;
    ok(0, "the loop finished within 10 s");
    uv_stop(loop);
}

/* Runs the loop until every handle is closed (or 10 s). */
static void run_loop(void)
{
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    uv_timer_start(&guard, on_guard, 10000, 0);
    uv_unref((uv_handle_t *)&guard);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;
}

static void wsplan(wsd_kill_plan *k)
{
    wsd_kill_plan_websocket(k, 0);
}

static void test_echo(void)
{
    static run r;
    wsd_kill_plan k;
    char *argv[] = {child_path, "echo", NULL};

    memset(&r, 0, sizeof r);
    wsplan(&k);
    is_int(start(&r, &k, argv), 0, "echo: started");
    is_int(wsd_program_count(), 1, "echo: counted");
    wsd_program_read(r.p, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    wsd_program_write(r.p, "hello ", 6);
    wsd_program_write(r.p, "world\n", 6);
    wsd_program_close_stdin(r.p);
    run_loop();
    is_mem(r.out, r.nout, "hello world\n", 12, "echo: stdin copied to stdout");
    is_int(r.out_eof, 1, "echo: one stdout EOF");
    is_int(r.err_eof, 1, "echo: one stderr EOF");
    is_int(r.exited, 1, "echo: reaped once");
    is_int(r.status, 0, "echo: status 0");
    is_int(r.done, 1, "echo: done once");
    is_int(wsd_program_count(), 0, "echo: slot released");
}

static void test_exit_status(void)
{
    static run r;
    wsd_kill_plan k;
    char *argv[] = {child_path, "exit", "3", "a", "b", NULL};

    memset(&r, 0, sizeof r);
    wsplan(&k);
    is_int(start(&r, &k, argv), 0, "exit: started");
    wsd_program_read(r.p, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    run_loop();
    is_mem(r.out, r.nout, "a\nb\n", 4, "exit: output");
    is_int(r.status, 3, "exit: status 3");
    is_int(r.sig, 0, "exit: no signal");
    is_int(r.done, 1, "exit: done");
}

/* Gathered writes reach the program as one write; nothing is lost when the
 * pipe fills (a program that reads nothing until its stdin closes). */
static void test_gather_and_queue(void)
{
    static run r;
    wsd_kill_plan k;
    char *argv[] = {"/bin/sh", "-c", "sleep 0.3; wc -c", NULL};
    static char big[600 * 1024];
    char want[32];

    memset(&r, 0, sizeof r);
    memset(big, 'x', sizeof big);
    wsplan(&k);
    is_int(start(&r, &k, argv), 0, "gather: started");
    wsd_program_read(r.p, WSD_PROGRAM_STDOUT, 1);
    wsd_program_gather(r.p, 1);
    wsd_program_write(r.p, big, 1000);
    wsd_program_write(r.p, big, 2000);
    is_int(wsd_program_stdin_queued(r.p), 3000, "gather: held until the end of the batch");
    wsd_program_gather(r.p, 0);
    wsd_program_write(r.p, big, sizeof big);
    ok(wsd_program_stdin_full(r.p), "gather: stdin full above WSD_STDIN_HIGH (%zu queued)",
       wsd_program_stdin_queued(r.p));
    r.close_on_ready = 1;          /* below WSD_STDIN_LOW: no more input */
    run_loop();
    snprintf(want, sizeof want, "%zu\n", 3000 + sizeof big);
    is_mem(r.out, r.nout, want, strlen(want), "gather: every byte reached the program once");
    is_int(r.stdin_ready, 1, "gather: on_stdin_ready once the queue drained");
    is_int(r.done, 1, "gather: done");
}

static int count_lines(const char *file, const char *word)
{
    char buf[4096];
    FILE *f = fopen(file, "r");
    int n = 0;
    if (!f)
        return -1;
    while (fgets(buf, sizeof buf, f))
        n += strncmp(buf, word, strlen(word)) == 0;
    fclose(f);
    return n;
}

/* websocketd's schedule against a program that ignores SIGINT/SIGTERM:
 * stdin closed, SIGINT at 100 ms, SIGTERM at 350, SIGKILL at 850. */
static void test_kill_websocket(void)
{
    static run r;
    wsd_kill_plan k;
    char file[] = "/tmp/wsd-test-program-XXXXXX";
    int fd = mkstemp(file);
    char *argv[] = {child_path, "ignore-term", file, NULL};
    long long took;

    close(fd);
    memset(&r, 0, sizeof r);
    r.end_on_out = 1;              /* end at its "ready" line */
    wsplan(&k);
    is_int(start(&r, &k, argv), 0, "kill ws: started");
    wsd_program_read(r.p, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    run_loop();
    took = r.t_exit - r.t_start;
    is_int(r.sig, SIGKILL, "kill ws: killed by SIGKILL");
    ok(took >= 800 && took < 3000, "kill ws: SIGKILL after INT (100) + TERM (250) + 500 ms: %lld ms",
       took);
    is_int(count_lines(file, "SIGINT"), 1, "kill ws: SIGINT once");
    is_int(count_lines(file, "SIGTERM"), 1, "kill ws: SIGTERM once");
    is_int(count_lines(file, "EOF"), 1, "kill ws: stdin closed first");
    is_int(r.done, 1, "kill ws: done");
    unlink(file);
}

/* CGI's: SIGTERM at once, SIGKILL a second later. */
static void test_kill_cgi(void)
{
    static run r;
    wsd_kill_plan k;
    char file[] = "/tmp/wsd-test-program-XXXXXX";
    int fd = mkstemp(file);
    char *argv[] = {child_path, "ignore-term", file, NULL};
    long long took;

    close(fd);
    memset(&r, 0, sizeof r);
    r.end_on_out = 1;
    wsd_kill_plan_cgi(&k);
    is_int(start(&r, &k, argv), 0, "kill cgi: started");
    wsd_program_read(r.p, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    run_loop();
    took = r.t_exit - r.t_start;
    is_int(r.sig, SIGKILL, "kill cgi: killed by SIGKILL");
    ok(took >= 950 && took < 3000, "kill cgi: SIGKILL one second after SIGTERM: %lld ms", took);
    is_int(count_lines(file, "SIGINT"), 0, "kill cgi: no SIGINT");
    is_int(count_lines(file, "SIGTERM"), 1, "kill cgi: SIGTERM once");
    is_int(r.done, 1, "kill cgi: done");
    unlink(file);
}

/* A program that closes stdout and runs on is ended: at once under the
 * WebSocket plan (SIGINT 100 ms later), after a second's grace under CGI's. */
static void test_stdout_closed_early(void)
{
    static run r;
    wsd_kill_plan k;
    char *argv[] = {"/bin/sh", "-c", "exec >&-; sleep 30", NULL};
    long long took;

    memset(&r, 0, sizeof r);
    wsplan(&k);
    is_int(start(&r, &k, argv), 0, "stdout closed: started");
    wsd_program_read(r.p, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    run_loop();
    took = r.t_exit - r.t_start;
    is_int(r.sig, SIGINT, "stdout closed (ws): ended with SIGINT");
    ok(took < 1000, "stdout closed (ws): within the first step (%lld ms)", took);
    is_int(r.out_eof, 1, "stdout closed (ws): EOF reported");

    memset(&r, 0, sizeof r);
    wsd_kill_plan_cgi(&k);
    is_int(start(&r, &k, argv), 0, "stdout closed (cgi): started");
    wsd_program_read(r.p, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    run_loop();
    took = r.t_exit - r.t_start;
    is_int(r.sig, SIGTERM, "stdout closed (cgi): ended with SIGTERM");
    ok(took >= 950 && took < 3000, "stdout closed (cgi): after the 1 s grace (%lld ms)", took);
}

/* The leader exits, a grandchild in its group holds stdout: the group is
 * ended, then the program is done. */
static void test_grandchild(void)
{
    static run r;
    wsd_kill_plan k;
    char *argv[] = {child_path, "grandchild", NULL};
    int gpid = 0;

    memset(&r, 0, sizeof r);
    wsplan(&k);
    is_int(start(&r, &k, argv), 0, "grandchild: started");
    wsd_program_read(r.p, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    wsd_program_close_stdin(r.p);  /* the leader exits at stdin EOF */
    run_loop();
    sscanf(r.out, "grandchild %d", &gpid);
    ok(gpid > 0, "grandchild: reported its pid");
    is_int(r.status, 0, "grandchild: leader exited 0");
    ok(gpid > 0 && kill(gpid, 0) != 0, "grandchild: ended with the group");
    is_int(r.done, 1, "grandchild: done");
}

/* A job that left the group (setsid) holds stdout after the leader exits:
 * out of the signals' reach, it is read for drain_ms, then abandoned: the
 * owner gets EOF and the program is done without waiting for the job. */
static void test_escaped_job(void)
{
    static run r;
    wsd_kill_plan k;
    char *argv[] = {"/bin/sh", "-c", "setsid sleep 5 & echo $!; sleep 0.2; exit 0", NULL};
    long long took;
    int job = 0;

    memset(&r, 0, sizeof r);
    wsplan(&k);
    is_int(start(&r, &k, argv), 0, "escaped job: started");
    wsd_program_read(r.p, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    run_loop();
    took = now_ms() - r.t_start;
    sscanf(r.out, "%d", &job);
    ok(job > 0 && kill(job, 0) == 0, "escaped job: still running (out of reach)");
    is_int(r.status, 0, "escaped job: leader exited 0");
    is_int(r.out_eof, 1, "escaped job: stdout EOF reported");
    is_int(r.done, 1, "escaped job: done");
    ok(took >= 1100 && took < 3000, "escaped job: after the 1 s drain (%lld ms)", took);
    if (job > 0)
        kill(job, SIGKILL);
}

/* The owner leaves: output is read and dropped, the program ends. */
static void test_detach(void)
{
    static run r;
    wsd_kill_plan k;
    char *argv[] = {child_path, "no-read", "10", NULL};

    memset(&r, 0, sizeof r);
    wsplan(&k);
    is_int(start(&r, &k, argv), 0, "detach: started");
    /* never read by the owner: it would block on a full pipe */
    wsd_program_end(r.p);
    wsd_program_detach(r.p);
    run_loop();
    is_int(r.nout, 0, "detach: no output reaches the owner");
    is_int(r.out_eof, 0, "detach: no EOF callback after detaching");
    is_int(r.sig, SIGINT, "detach: ended by the schedule");
    is_int(r.done, 1, "detach: done");
}

/* stderr: raw to the owner, and a line at a time to the log. */
static void test_stderr(void)
{
    static run r;
    wsd_kill_plan k;
    char *argv[] = {child_path, "stderr", "one", "two\r", NULL};
    char logfile[] = "/tmp/wsd-test-program-log-XXXXXX";
    int lfd = mkstemp(logfile), saved, n;
    char buf[8192];

    memset(&r, 0, sizeof r);
    wsplan(&k);
    fflush(stdout);
    saved = dup(1);
    dup2(lfd, 1);
    is_int(start(&r, &k, argv), 0, "stderr: started");
    wsd_program_read(r.p, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    wsd_program_close_stdin(r.p);
    run_loop();
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    n = (int)pread(lfd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(lfd);
    unlink(logfile);
    is_mem(r.err, r.nerr, "one\ntwo\r\n", 9, "stderr: raw bytes to on_stderr");
    ok(strstr(buf, "| ERROR  | stderr     | test:'program' | one\n") != NULL,
       "stderr: line logged with the owner's associations");
    ok(strstr(buf, "| two\n") != NULL, "stderr: CR of a CRLF line dropped in the log");
}

static void test_spawn_failure(void)
{
    static run r;
    wsd_kill_plan k;
    char *argv[] = {"/nonexistent/program", NULL};
    int fds = count_fds();

    memset(&r, 0, sizeof r);
    wsplan(&k);
    is_int(start(&r, &k, argv), -ENOENT, "spawn failure: -ENOENT");
    ok(r.p == NULL, "spawn failure: no program");
    is_int(wsd_program_count(), 0, "spawn failure: not counted");
    is_int(count_fds(), fds, "spawn failure: no descriptor left open");
    run_loop();
    is_int(r.done, 0, "spawn failure: no callback");
}

static void test_kill_all(void)
{
    static run r1, r2;
    wsd_kill_plan k;
    char *argv[] = {child_path, "echo", NULL};

    memset(&r1, 0, sizeof r1);
    memset(&r2, 0, sizeof r2);
    wsplan(&k);
    is_int(start(&r1, &k, argv), 0, "kill all: first");
    is_int(start(&r2, &k, argv), 0, "kill all: second");
    is_int(wsd_program_count(), 2, "kill all: two running");
    wsd_program_read(r1.p, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    wsd_program_read(r2.p, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
    wsd_program_kill_all();
    run_loop();
    is_int(r1.sig, SIGKILL, "kill all: first killed");
    is_int(r2.sig, SIGKILL, "kill all: second killed");
    is_int(wsd_program_count(), 0, "kill all: none left");
}

int main(void)
{
    char self[PATH_MAX - 16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    int fds;

    if (n > 0) {
        self[n] = '\0';
        *strrchr(self, '/') = '\0';
        snprintf(child_path, sizeof child_path, "%s/child", self);
    }
    if (access(child_path, X_OK) != 0)
        snprintf(child_path, sizeof child_path, "build/tests/child");
    signal(SIGPIPE, SIG_IGN);
    wsd_log_min = WSD_LOG_ERROR;
    loop = uv_default_loop();
    if (wsd_spawn_init(loop) != 0) {
        printf("Bail out! no SIGCHLD watcher\n");
        return 1;
    }
    /* Orphaned grandchildren come to us, as they go to init under wsd, and
     * are reaped by the SIGCHLD watcher (init would reap them). */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    test_echo();
    fds = count_fds();             /* libuv opens what it needs at first use */
    test_exit_status();
    test_gather_and_queue();
    test_kill_websocket();
    test_kill_cgi();
    test_stdout_closed_early();
    test_grandchild();
    test_detach();
    test_escaped_job();
    test_stderr();
    test_spawn_failure();
    test_kill_all();
    is_int(count_fds(), fds, "no descriptor left open");
    is_int((long long)wsd_spawn_running(), 0, "no child left unreaped");
    wsd_spawn_shutdown();
    uv_run(loop, UV_RUN_NOWAIT);
    is_int(uv_loop_close(loop), 0, "every handle closed");
    return done_testing();
}
