/* takeover.c — zero-downtime binary upgrade (see takeover.h). */
#include "takeover.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "util.h"

extern char **environ;

static char *exe_path;           /* absolute, or a name exec could not find at start-up */
static char **exe_argv;

/* A regular executable file at path. */
static int executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

void wsd_takeover_init(char **argv)
{
    const char *a0 = argv && argv[0] ? argv[0] : "wsd";
    char cwd[PATH_MAX];

    exe_argv = argv;
    free(exe_path);
    exe_path = NULL;
    if (strchr(a0, '/')) {
        /* relative to the directory wsd started in (nothing changes it
         * later, but an absolute path says what will run) */
        while (a0[0] == '.' && a0[1] == '/')
            a0 += 2;                    /* "./wsd": shown as DIR/wsd */
        if (a0[0] != '/' && getcwd(cwd, sizeof cwd)) {
            size_t n = strlen(cwd) + strlen(a0) + 2;
            exe_path = xmalloc(n);
            snprintf(exe_path, n, "%s/%s", cwd, a0);
        } else {
            exe_path = xstrdup(a0);
        }
        return;
    }
    {
        /* a bare name: the PATH entry a shell ran it from */
        const char *p = getenv("PATH");
        while (p && *p) {
            const char *e = strchr(p, ':');
            size_t dl = e ? (size_t)(e - p) : strlen(p);
            char cand[PATH_MAX];
            if (dl > 0 && (size_t)snprintf(cand, sizeof cand, "%.*s/%s", (int)dl, p, a0) <
                              sizeof cand && executable(cand)) {
                exe_path = xstrdup(cand);
                return;
            }
            if (!e)
                break;
            p = e + 1;
        }
    }
    /* not found (started through execve with an odd argv[0]): the file
     * this process runs from, as it is named now */
    {
        char buf[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
        if (n > 0) {
            buf[n] = '\0';
            exe_path = xstrdup(buf);
        } else {
            exe_path = xstrdup(a0);
        }
    }
}

const char *wsd_takeover_path(void)
{
    return exe_path ? exe_path : "wsd";
}

/* ------------------------------------------------------------ old side */

static int env_is(const char *e, const char *name)
{
    size_t n = strlen(name);
    return strncmp(e, name, n) == 0 && e[n] == '=';
}

/* Writes v in decimal at p (async-signal-safe). */
static void put_pid(char *p, long v)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0)
        *p++ = tmp[--n];
    *p = '\0';
}

int wsd_takeover_exec(wsd_takeover *t, const int *fds, const int *kinds, size_t n,
                      int unix_owned, char *err, size_t cap)
{
    size_t ne = 0, i, k, names_len = 1;
    char **envp, *names, *fdsvar, listen_pid[40], watchdog_pid[40], from_pid[48];
    int pipefd[2], *tmp, top, have_watchdog = getenv("WATCHDOG_USEC") != NULL;
    sigset_t all, old;
    pid_t pid;

    t->fd = -1;
    t->pid = 0;
    if (!exe_argv) {
        snprintf(err, cap, "no command line to run again");
        return -1;
    }
    if (!executable(wsd_takeover_path())) {
        snprintf(err, cap, "%s is not an executable file", wsd_takeover_path());
        return -1;
    }
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        snprintf(err, cap, "pipe: %s", strerror(errno));
        return -1;
    }

    /* everything the child needs is made here: after fork it may only
     * make async-signal-safe calls (libuv's threads) */
    for (i = 0; environ[i]; i++)
        ne++;
    envp = xcalloc(ne + 9, sizeof *envp);
    for (i = 0, k = 0; environ[i]; i++) {
        const char *e = environ[i];
        if (env_is(e, "LISTEN_PID") || env_is(e, "LISTEN_FDS") || env_is(e, "LISTEN_FDNAMES") ||
            env_is(e, "WSD_UPGRADE") || env_is(e, "WSD_UPGRADE_FROM") ||
            env_is(e, "WATCHDOG_PID"))
            continue;
        envp[k++] = environ[i];
    }
    for (i = 0; i < n; i++)
        names_len += strlen(wsd_listen_kind_name(kinds[i])) + 1;
    names = xmalloc(names_len + 16);
    strcpy(names, "LISTEN_FDNAMES=");
    for (i = 0; i < n; i++) {
        if (i)
            strcat(names, ":");
        strcat(names, wsd_listen_kind_name(kinds[i]));
    }
    fdsvar = xmalloc(32);
    snprintf(fdsvar, 32, "LISTEN_FDS=%zu", n);
    strcpy(listen_pid, "LISTEN_PID=");
    strcpy(watchdog_pid, "WATCHDOG_PID=");
    envp[k++] = fdsvar;
    envp[k++] = names;
    envp[k++] = listen_pid;
    if (have_watchdog)
        envp[k++] = watchdog_pid;
    envp[k++] = unix_owned ? "WSD_UPGRADE=unlink" : "WSD_UPGRADE=keep";
    strcpy(from_pid, "WSD_UPGRADE_FROM=");       /* this wsd: the new one's predecessor */
    put_pid(from_pid + strlen(from_pid), (long)getpid());
    envp[k++] = from_pid;
    envp[k] = NULL;

    /* the descriptors go to 3.. through copies above all of them */
    top = 3 + (int)n + 1;
    for (i = 0; i < n; i++)
        if (fds[i] >= top)
            top = fds[i] + 1;
    if (pipefd[1] >= top)
        top = pipefd[1] + 1;
    tmp = xcalloc(n + 1, sizeof *tmp);

    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);   /* no handler of ours runs in the child */
    pid = fork();
    if (pid == 0) {
        struct sigaction sa;
        sigset_t none;
        int e, sig;

        /* no handler of wsd's may run between the unblocking and exec */
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        for (sig = 1; sig < NSIG; sig++)
            if (sig != SIGPIPE && sig != SIGKILL && sig != SIGSTOP)
                sigaction(sig, &sa, NULL);
        put_pid(listen_pid + strlen("LISTEN_PID="), (long)getpid());
        put_pid(watchdog_pid + strlen("WATCHDOG_PID="), (long)getpid());
        for (i = 0; i < n; i++)
            tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, top);
        tmp[n] = fcntl(pipefd[1], F_DUPFD_CLOEXEC, top);
        for (i = 0; i <= n; i++) {
            if (tmp[i] < 0 || dup2(tmp[i], 3 + (int)i) < 0)
                goto failed;
            if (i < n)
                close(tmp[i]);
        }
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(wsd_takeover_path(), exe_argv, envp);
    failed:
        e = errno;
        if (tmp[n] >= 0) {
            /* tmp[n], a copy of the pipe that exec would have closed */
            char msg[1 + sizeof e];
            msg[0] = 'E';
            memcpy(msg + 1, &e, sizeof e);
            if (write(tmp[n], msg, sizeof msg) < 0)
                _exit(126);
        }
        _exit(127);
    }
    {
        int fe = errno;
        sigprocmask(SIG_SETMASK, &old, NULL);
        close(pipefd[1]);
        free(tmp);
        free(envp);
        free(names);
        free(fdsvar);
        if (pid < 0) {
            close(pipefd[0]);
            snprintf(err, cap, "fork: %s", strerror(fe));
            return -1;
        }
    }
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    t->fd = pipefd[0];
    t->pid = pid;
    return 0;
}

int wsd_takeover_check(wsd_takeover *t, char *err, size_t cap)
{
    char b[1 + sizeof(int)];
    ssize_t r;
    int rc;

    if (t->fd < 0)
        return -1;
    r = read(t->fd, b, sizeof b);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (r >= 1 && b[0] == 'R') {
        rc = 1;
    } else if (r == (ssize_t)sizeof b && b[0] == 'E') {
        int e;
        memcpy(&e, b + 1, sizeof e);
        snprintf(err, cap, "exec %s: %s", wsd_takeover_path(), strerror(e));
        rc = -1;
    } else {
        snprintf(err, cap, "the new wsd (pid %d) exited before it was ready (its log lines say "
                 "why)", (int)t->pid);
        rc = -1;
    }
    close(t->fd);
    t->fd = -1;
    return rc;
}

void wsd_takeover_abort(wsd_takeover *t)
{
    if (t->pid > 0)
        kill(t->pid, SIGTERM);
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

/* ------------------------------------------------------------ new side */

pid_t wsd_takeover_predecessor(const wsd_listen_set *s)
{
    /* our parent while it drains; once it exits we are re-parented and the
     * pid is no longer ours to signal */
    return s && s->predecessor > 1 && getppid() == s->predecessor ? s->predecessor : 0;
}

void wsd_takeover_stop_predecessor(wsd_listen_set *s)
{
    pid_t p = wsd_takeover_predecessor(s);

    if (p <= 0 || s->predecessor_told)
        return;
    s->predecessor_told = 1;
    wsd_log(WSD_LOG_INFO, "server", "", "Stopping the wsd this one was upgraded from (pid %d), "
            "which is draining", (int)p);
    kill(p, SIGTERM);
}

void wsd_takeover_signal_predecessor(const wsd_listen_set *s, int sig)
{
    pid_t p = wsd_takeover_predecessor(s);

    if (p > 0)
        kill(p, sig);
}

void wsd_takeover_wait_predecessor(const wsd_listen_set *s)
{
    struct timespec tick = {0, 20 * 1000 * 1000};
    unsigned waited = 0;

    while (wsd_takeover_predecessor(s) > 0) {
        if (waited >= WSD_PREDECESSOR_WAIT_MS) {
            wsd_log(WSD_LOG_ERROR, "server", "", "The wsd this one was upgraded from (pid %d) is "
                    "still running after %d ms: exiting anyway", (int)wsd_takeover_predecessor(s),
                    WSD_PREDECESSOR_WAIT_MS);
            return;
        }
        nanosleep(&tick, NULL);
        waited += 20;
    }
}

void wsd_takeover_ready(int *ready_fd)
{
    if (*ready_fd < 0)
        return;
    if (write(*ready_fd, "R", 1) < 0) {
        /* the old wsd is gone: nobody to tell */
    }
    close(*ready_fd);
    *ready_fd = -1;
}
