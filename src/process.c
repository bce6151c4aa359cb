/* process.c — vfork/exec and SIGCHLD reaping (see process.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process.h"

#define BUCKETS 1024            /* pid table: chains, pid % BUCKETS */

static uv_loop_t *watch_loop;
static uv_signal_t sigchld;
static int watching;
static wsd_child *table[BUCKETS];
static size_t running;

static wsd_child **slot(pid_t pid)
{
    return &table[(unsigned)pid % BUCKETS];
}

static wsd_child *take(pid_t pid)
{
    wsd_child **pp;

    for (pp = slot(pid); *pp; pp = &(*pp)->next) {
        if ((*pp)->pid == pid) {
            wsd_child *ch = *pp;
            *pp = ch->next;
            ch->next = NULL;
            running--;
            return ch;
        }
    }
    return NULL;
}

static void on_sigchld(uv_signal_t *h, int signum)
{
    pid_t pid;
    int st;

    (void)h;
    (void)signum;
    /* signals coalesce: collect everything that has exited */
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        wsd_child *ch = take(pid);
        if (!ch)
            continue;           /* forgotten: reaped, nobody to tell */
        ch->pid = 0;
        if (ch->on_exit) {
            if (WIFSIGNALED(st))
                ch->on_exit(ch, 0, WTERMSIG(st));
            else
                ch->on_exit(ch, WIFEXITED(st) ? WEXITSTATUS(st) : 0, 0);
        }
    }
}

int wsd_spawn_init(uv_loop_t *loop)
{
    int rc;

    if (watching)
        return watch_loop == loop ? 0 : UV_EINVAL;
    rc = uv_signal_init(loop, &sigchld);
    if (rc != 0)
        return rc;
    rc = uv_signal_start(&sigchld, on_sigchld, SIGCHLD);
    if (rc != 0) {
        uv_close((uv_handle_t *)&sigchld, NULL);
        return rc;
    }
    uv_unref((uv_handle_t *)&sigchld);
    watch_loop = loop;
    watching = 1;
    /* a child that exited before the watcher existed */
    on_sigchld(&sigchld, SIGCHLD);
    return 0;
}

void wsd_spawn_shutdown(void)
{
    if (!watching)
        return;
    watching = 0;
    uv_close((uv_handle_t *)&sigchld, NULL);
}

int wsd_spawn_pipes(int fds[3][2])
{
    int i;

    for (i = 0; i < 3; i++)
        fds[i][0] = fds[i][1] = -1;
    for (i = 0; i < 3; i++) {
        if (pipe2(fds[i], O_CLOEXEC) != 0) {
            int err = errno;
            while (i-- > 0) {
                close(fds[i][0]);
                close(fds[i][1]);
                fds[i][0] = fds[i][1] = -1;
            }
            return -err;
        }
    }
    return 0;
}

/* The open-files limit wsd had at start-up, restored in children
 * (wsd_spawn_set_nofile). */
static struct rlimit child_nofile;
static int have_child_nofile;

void wsd_spawn_set_nofile(const struct rlimit *rl)
{
    child_nofile = *rl;
    have_child_nofile = 1;
}

/* --rlimit and --chdir (wsd_spawn_set_limits, wsd_spawn_set_cwd). */
#define MAX_LIMITS 8
static int limit_res[MAX_LIMITS];
static struct rlimit limit_val[MAX_LIMITS];
static size_t nlimits;
static const char *default_cwd;

void wsd_spawn_set_limits(const int *resources, const struct rlimit *limits, size_t n)
{
    size_t i;
    for (i = 0; i < n && i < MAX_LIMITS; i++) {
        limit_res[i] = resources[i];
        limit_val[i] = limits[i];
    }
    nlimits = i;
}

void wsd_spawn_set_cwd(const char *dir)
{
    default_cwd = dir;
}

/* The child side of wsd_spawn, between vfork and exec: it shares wsd's
 * memory and runs on this stack, with every signal blocked, so it only
 * makes system calls and stores to *err. Signal handlers are its own
 * (vfork does not share the handler table): every disposition goes back to
 * the default — ignored ones survive exec, and a handler of wsd's must not
 * run here — except glibc's two internal signals (32, 33), whose handlers
 * exec resets anyway. (glibc's posix_spawn leaves those two ignored in the
 * program, which is why wsd does not use it.) */
static void child_exec(const wsd_spawn_options *o, volatile int *err)
{
    struct sigaction dfl;
    sigset_t none;
    int sig, i;

    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL);   /* glibc refuses 32 and 33: fine */
    }
    if (setsid() < 0)
        goto fail;
    for (i = 0; i < 3; i++) {
        /* the pipe ends are close-on-exec and never 0-2 (main() keeps 0-2
         * open), so dup2 always copies, and the copy stays open */
        if (dup2(o->fds[i], i) < 0)
            goto fail;
    }
    if (o->ctty && ioctl(0, TIOCSCTTY, 0) < 0)
        goto fail;
    if (o->cwd ? chdir(o->cwd) < 0 : default_cwd && chdir(default_cwd) < 0)
        goto fail;
    if (have_child_nofile)
        setrlimit(RLIMIT_NOFILE, &child_nofile);
    for (i = 0; i < (int)nlimits; i++) {   /* --rlimit: a limit not set is a failed start */
        if (setrlimit(limit_res[i], &limit_val[i]) != 0)
            goto fail;
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (strchr(o->file, '/'))
        execve(o->file, o->argv, o->env);
    else
        execvpe(o->file, o->argv, o->env);
fail:
    *err = errno ? errno : EINVAL;
    _exit(127);
}

int wsd_spawn_busy(int rc)
{
    return rc == -EMFILE || rc == -ENFILE || rc == -EAGAIN || rc == -ENOMEM;
}

int wsd_spawn(wsd_child *ch, const wsd_spawn_options *o)
{
    volatile int err = 0;
    sigset_t all, old;
    pid_t pid;

    ch->pid = 0;
    ch->next = NULL;
    /* Block everything (glibc's internal signals included: the raw call)
     * so that no handler of wsd's runs in the child on the shared memory. */
    memset(&all, 0xff, sizeof all);
    if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, (size_t)(NSIG / 8)) != 0)
        return -errno;
    pid = vfork();
    if (pid == 0)
        child_exec(o, &err);       /* does not return */
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, (size_t)(NSIG / 8));
    if (pid < 0)
        return -errno;
    if (err != 0) {
        /* exec failed: the child has exited; collect it now */
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        return -err;
    }
    ch->pid = pid;
    ch->next = *slot(pid);
    *slot(pid) = ch;
    running++;
    return 0;
}

void wsd_spawn_forget(wsd_child *ch)
{
    if (ch->pid > 0 && take(ch->pid) == ch)
        ch->pid = 0;            /* on_sigchld reaps it without a callback */
}

size_t wsd_spawn_running(void)
{
    return running;
}

const char *wsd_spawn_strerror(int err)
{
    static char buf[128];
    size_t i;

    /* Go's wording, as websocketd logs it: "exec format error" */
    snprintf(buf, sizeof buf, "%s", strerror(err < 0 ? -err : err));
    for (i = 0; buf[i]; i++)
        buf[i] = (char)tolower((unsigned char)buf[i]);
    return buf;
}
