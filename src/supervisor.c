/* supervisor.c — --workers=N: N processes, each its own event loop
 * (server.c), accepting on the sockets this process set up and holds for
 * them (listen.h: a SO_REUSEPORT group per address, one socket per worker,
 * so the kernel spreads connections over them). This process only
 * supervises, from a poll() loop (signals through a signalfd):
 *   - it forwards SIGINT/SIGTERM/SIGQUIT (shutdown), SIGHUP and SIGUSR1 to
 *     the workers (not a signal the terminal sent to the whole process
 *     group: the workers have it already); on a shutdown it closes its own
 *     copies of the sockets first, so the port is free once the workers
 *     have closed theirs;
 *   - SIGUSR2 is a binary upgrade (takeover.h): it starts the new binary
 *     with every socket; once the new wsd (all its workers) accepts, it
 *     tells systemd MAINPID=<new>, closes its copies and sends its workers
 *     WSD_SIGDRAIN: each drains (drain.h), for at most --drainms; when they have
 *     all exited, so does it (and its hub process);
 *   - it tells systemd READY=1 once every worker accepts (each writes its
 *     index to a pipe), STOPPING=1, RELOADING=1, and WATCHDOG=1 every half
 *     WATCHDOG_USEC (sdnotify.h); under an upgrade, it tells the old wsd
 *     instead of systemd;
 *   - it restarts a worker that dies unexpectedly (at most 10 a minute):
 *     the new one finds the connections that came meanwhile waiting in its
 *     socket's queue;
 *   - it is the child subreaper of everything below it: when a worker dies
 *     abnormally, the programs it ran come to the supervisor, which ends
 *     their process groups (SIGTERM, then SIGKILL a second later) — they
 *     have lost their client and their pipes anyway;
 *   - it exits when all workers have exited after a shutdown.
 * A worker ends itself gracefully when the supervisor dies, even by
 * SIGKILL (PR_SET_PDEATHSIG): its listeners close, its clients get 1001,
 * its programs are ended, so the port is free for a new wsd. */
#include "supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hublink.h"
#include "ctlchan.h"
#include "log.h"
#include "metrics.h"
#include "reload.h"
#include "sdnotify.h"
#include "server.h"
#include "takeover.h"
#include "util.h"

#define ORPHAN_KILL_MS 1000
#define MAX_ORPHAN_GROUPS 4096

typedef struct {
    pid_t pgid[MAX_ORPHAN_GROUPS];
    int n;
    struct timespec deadline;    /* SIGKILL to all of them then */
} orphan_groups;

typedef struct {
    wsd_config *cfg;             /* reloaded here on SIGHUP with --config */
    wsd_listen_set *ls;
    int n;                       /* workers */
    pid_t *pids;                 /* per worker index, 0: not running */
    unsigned char *ready;        /* per worker index: has said it accepts */
    int nready, announced;
    int alive, stopping, draining, rc, restarts;
    time_t window;
    orphan_groups *og;
    pid_t hub;
    int sfd;                     /* the signalfd */
    int rd[2];                   /* the workers' readiness pipe */
    wsd_takeover tk;             /* an upgrade's new binary while it starts */
    uint64_t tk_deadline;
    uint64_t wd_ms, wd_next;     /* the systemd watchdog's half interval, next ping */
    sigset_t run_mask;           /* the mask the hub process runs with */
    int *ctl;                    /* --config: each worker's reload channel (ctlchan.h), -1: none */
    int hub_ctl;                 /* ... and the hub process's */
} sup;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --shared --workers: the hub process runs every shared program for the
 * whole server; workers link to it over a Unix socket in a directory only
 * this user can enter (hublink.h). */
static char hub_dir[64];
static char *hub_path;

/* --config: a new child's reload channel (fds[0] the supervisor's end). */
static void ctl_new(const sup *s, int fds[2])
{
    fds[0] = fds[1] = -1;
    if (s->cfg->config_file && wsd_ctl_pair(fds) != 0)
        fds[0] = fds[1] = -1;
}

static void ctl_set(int *slot, int fd)
{
    if (*slot >= 0)
        close(*slot);
    *slot = fd;
}

/* After a fork: the child's end kept open in the child only. */
static void ctl_parent(int *slot, int fds[2], pid_t pid)
{
    if (fds[1] >= 0)
        close(fds[1]);
    if (pid < 0 && fds[0] >= 0) {
        close(fds[0]);
        fds[0] = -1;
    }
    ctl_set(slot, fds[0]);
}

/* In a child: what is the supervisor's alone. */
static void child_closes(sup *s)
{
    int i;

    for (i = 0; i < s->n; i++)
        if (s->ctl[i] >= 0)
            close(s->ctl[i]);
    if (s->hub_ctl >= 0)
        close(s->hub_ctl);
    close(s->sfd);
    close(s->rd[0]);
    if (s->tk.fd >= 0)
        close(s->tk.fd);
    if (s->ls->ready_fd >= 0)
        close(s->ls->ready_fd);     /* the old wsd's: only the supervisor answers it */
    s->ls->ready_fd = -1;
}

static pid_t start_worker(sup *s, int i)
{
    pid_t supervisor = getpid();
    pid_t pid;
    int fds[2];

    ctl_new(s, fds);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int rd = s->rd[1];
        if (fds[0] >= 0)
            close(fds[0]);
        child_closes(s);
        free(s->pids);          /* the supervisor's: not the worker's to keep */
        free(s->ready);
        free(s->og);
        prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
        /* the supervisor gone (even by SIGKILL): a graceful shutdown */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 || getppid() != supervisor)
            _exit(0);
        wsd_metrics_use_slot(i);
        /* signals stay blocked until the worker's handlers are in place */
        _exit(wsd_server_worker(s->cfg, i, s->n, s->ls, rd, hub_path, fds[1]));
    }
    ctl_parent(&s->ctl[i], fds, pid);
    return pid;
}

static pid_t start_hub(sup *s)
{
    pid_t supervisor = getpid();
    pid_t pid;
    int fds[2];

    ctl_new(s, fds);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        if (fds[0] >= 0)
            close(fds[0]);
        child_closes(s);
        close(s->rd[1]);
        wsd_listen_close(s->ls);    /* the workers' business */
        prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
        if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 || getppid() != supervisor)
            _exit(0);
        sigprocmask(SIG_SETMASK, &s->run_mask, NULL);
        wsd_metrics_use_slot(s->cfg->workers);   /* the slot after the workers' */
        _exit(wsd_hub_process_run(s->cfg, hub_path, fds[1]));
    }
    ctl_parent(&s->hub_ctl, fds, pid);
    return pid;
}

/* Whether any endpoint is shared (the hub process is needed), or may
 * become so on a reload (--config). An edge's program is elsewhere. */
static int needs_hub(const wsd_config *cfg)
{
    size_t i;

    if (cfg->sharededge)
        return 0;
    if (cfg->shared || cfg->config_file)
        return 1;
    for (i = 0; i < cfg->nroutes; i++)
        if (cfg->routes[i].cfg->shared)
            return 1;
    return 0;
}

static int is_worker(const pid_t *pids, int n, pid_t pid)
{
    int i;
    for (i = 0; i < n; i++)
        if (pids[i] == pid)
            return 1;
    return 0;
}

/* ppid, process group and session of pid from /proc; 0 or -1. */
static int proc_ids(pid_t pid, pid_t *ppid, pid_t *pgrp, pid_t *sid)
{
    char path[64], buf[1024], *p;
    FILE *f;
    size_t n;
    int ok;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');      /* the command name may hold anything */
    if (!p)
        return -1;
    ok = sscanf(p + 1, " %*c %d %d %d", ppid, pgrp, sid) == 3;
    return ok ? 0 : -1;
}

/* A worker died abnormally: the programs it ran (and their jobs) are now
 * the supervisor's children. Their process groups get SIGTERM now and
 * SIGKILL at og->deadline. Processes of a living worker's program (whose
 * session leader is that worker's child) are left alone. */
static void end_orphans(const pid_t *pids, int nworkers, orphan_groups *og)
{
    pid_t self = getpid(), mine = getpgrp();
    DIR *d = opendir("/proc");
    struct dirent *e;
    int found = 0;

    if (!d)
        return;
    while ((e = readdir(d))) {
        pid_t pid = (pid_t)atoi(e->d_name), ppid, pgrp, sid, lppid, lpgrp, lsid;
        int k;
        if (pid <= 0 || is_worker(pids, nworkers, pid) || proc_ids(pid, &ppid, &pgrp, &sid) != 0 ||
            ppid != self || pgrp <= 1 || pgrp == mine)
            continue;
        if (sid != pid && proc_ids(sid, &lppid, &lpgrp, &lsid) == 0 &&
            is_worker(pids, nworkers, lppid))
            continue;           /* a job of a living worker's program */
        for (k = 0; k < og->n && og->pgid[k] != pgrp; k++)
            ;
        if (k < og->n)
            continue;
        kill(-pgrp, SIGTERM);
        if (og->n < MAX_ORPHAN_GROUPS)
            og->pgid[og->n++] = pgrp;
        else
            kill(-pgrp, SIGKILL);
        found++;
    }
    closedir(d);
    if (found) {
        wsd_log(WSD_LOG_ERROR, "server", "", "Ending %d program group%s of the dead worker", found,
                found == 1 ? "" : "s");
        clock_gettime(CLOCK_MONOTONIC, &og->deadline);
        og->deadline.tv_sec += ORPHAN_KILL_MS / 1000;
    }
}

static void kill_orphans(orphan_groups *og)
{
    int k;
    for (k = 0; k < og->n; k++)
        kill(-og->pgid[k], SIGKILL);
    og->n = 0;
}

/* ------------------------------------------------------------- readiness */

/* Every worker accepts (the first time): whoever waits is told — the old
 * wsd of an upgrade (which tells systemd), or systemd. */
static void worker_ready(sup *s, int w)
{
    if (w < 0 || w >= s->n || s->ready[w])
        return;
    s->ready[w] = 1;
    if (++s->nready < s->n || s->announced)
        return;
    s->announced = 1;
    if (s->ls->from == WSD_LISTEN_UPGRADE && s->ls->ready_fd >= 0) {
        wsd_takeover_ready(&s->ls->ready_fd);
    } else {
        char st[64];
        snprintf(st, sizeof st, "accepting connections (%d workers)", s->n);
        wsd_sd_ready(st);
    }
}

static void read_ready(sup *s)
{
    unsigned char b[64];
    ssize_t r, i;

    while ((r = read(s->rd[0], b, sizeof b)) > 0)
        for (i = 0; i < r; i++)
            worker_ready(s, b[i]);
}

/* ------------------------------------------------------------- upgrade */

static void upgrade_start(sup *s)
{
    int *fds, *kinds;
    size_t i, n = 0;
    char err[512];

    if (s->stopping || s->draining) {
        wsd_log(WSD_LOG_INFO, "server", "", "Received SIGUSR2: ignored (%s)",
                s->stopping ? "shutting down" : "draining: the sockets were handed over");
        return;
    }
    if (s->tk.pid > 0) {
        wsd_log(WSD_LOG_INFO, "server", "", "Received SIGUSR2: ignored (the new wsd, pid %d, is "
                "starting)", (int)s->tk.pid);
        return;
    }
    fds = xcalloc(s->ls->n + 1, sizeof *fds);
    kinds = xcalloc(s->ls->n + 1, sizeof *kinds);
    for (i = 0; i < s->ls->n; i++) {
        if (s->ls->v[i].fd < 0)
            continue;
        fds[n] = s->ls->v[i].fd;
        kinds[n++] = s->ls->v[i].kind;
    }
    if (wsd_takeover_exec(&s->tk, fds, kinds, n, s->ls->unix_owned, err, sizeof err) != 0) {
        wsd_log(WSD_LOG_ERROR, "server", "", "Upgrade failed: %s; this wsd goes on serving", err);
    } else {
        wsd_log(WSD_LOG_INFO, "server", "", "Received SIGUSR2: upgrading: started %s (pid %d) "
                "with the %zu socket%s", wsd_takeover_path(), (int)s->tk.pid, n,
                n == 1 ? "" : "s");
        s->tk_deadline = now_ms() + WSD_TAKEOVER_READY_MS;
    }
    free(fds);
    free(kinds);
}

static void upgrade_check(sup *s)
{
    char err[512], st[64];
    int rc = wsd_takeover_check(&s->tk, err, sizeof err), i;

    if (rc == 0)
        return;
    if (rc < 0) {
        wsd_log(WSD_LOG_ERROR, "server", "", "Upgrade failed: %s; this wsd goes on serving", err);
        s->tk.pid = 0;
        return;
    }
    wsd_log(WSD_LOG_INFO, "server", "", "Upgrade: the new wsd (pid %d) accepts on the sockets; "
            "this wsd (pid %d) stops accepting: its workers drain", (int)s->tk.pid, (int)getpid());
    snprintf(st, sizeof st, "upgraded to pid %d", (int)s->tk.pid);
    wsd_sd_mainpid(s->tk.pid, st);
    s->tk.pid = 0;
    s->draining = 1;
    s->ls->unix_owned = 0;              /* the new wsd's file now */
    wsd_listen_close(s->ls);
    for (i = 0; i < s->n; i++)
        if (s->pids[i] > 0)
            kill(s->pids[i], WSD_SIGDRAIN);
}

/* ------------------------------------------------------------- signals */

static void on_signal(sup *s, const struct signalfd_siginfo *si)
{
    int sig = (int)si->ssi_signo, i;

    if (sig == WSD_SIGDRAIN)
        return;                         /* the workers' (from here), not forwarded */
    switch (sig) {
    case SIGUSR2:
        upgrade_start(s);
        return;
    case SIGINT:
    case SIGTERM:
    case SIGQUIT:
        if (s->stopping++ == 0) {
            wsd_sd_stopping("shutting down");
            wsd_takeover_stop_predecessor(s->ls);   /* a wsd still draining stops too */
            if (s->tk.pid > 0) {
                wsd_log(WSD_LOG_INFO, "server", "", "Stopping the new wsd (pid %d) that was "
                        "starting", (int)s->tk.pid);
                wsd_takeover_abort(&s->tk);
                s->tk.pid = 0;
            }
            wsd_listen_unlink(s->ls);
            wsd_listen_close(s->ls);    /* the port is free once the workers let go */
        }
        break;
    case SIGHUP:
        if (s->cfg->config_file) {
            /* --config: read and checked once here, the same text to all
             * (reload.h); a worker ignores a SIGHUP of its own */
            if (s->stopping || s->draining)
                return;
            wsd_sd_reloading();
            wsd_reload_supervise(s->cfg, s->hub > 0 ? s->hub_ctl : -1, s->ctl, s->n);
            wsd_sd_ready("reloaded");
            return;
        }
        wsd_sd_reloading();
        break;
    default:
        break;
    }
    if (si->ssi_code != SI_KERNEL) {    /* else from the terminal, to the whole group: workers have it */
        for (i = 0; i < s->n; i++)
            if (s->pids[i] > 0)
                kill(s->pids[i], sig);  /* a second shutdown signal: workers exit at once */
        if (s->hub > 0)
            kill(s->hub, sig);
        if (s->stopping > 1)
            wsd_takeover_signal_predecessor(s->ls, sig);
    }
    if (sig == SIGHUP)
        wsd_sd_ready("reloaded");
}

static void on_children(sup *s)
{
    pid_t pid;
    int st;

    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        int abnormal, i;
        if (pid == s->hub) {
            /* the hub process: its programs' groups are ours now; restart it
             * (the workers reconnect) unless shutting down */
            s->hub = 0;
            ctl_set(&s->hub_ctl, -1);
            if (WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0))
                end_orphans(s->pids, s->n, s->og);
            if (!s->stopping && !s->draining) {
                wsd_log(WSD_LOG_ERROR, "server", "", "Hub process (pid %d) ended; restarting it",
                        (int)pid);
                s->hub = start_hub(s);
            }
            continue;
        }
        for (i = 0; i < s->n && s->pids[i] != pid; i++)
            ;
        if (i == s->n)
            continue;       /* an orphan the supervisor reaped, or a failed new binary */
        s->pids[i] = 0;
        ctl_set(&s->ctl[i], -1);
        s->alive--;
        abnormal = WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
            s->rc = WEXITSTATUS(st);
        if (abnormal)
            end_orphans(s->pids, s->n, s->og);
        if (s->stopping || s->draining || (WIFEXITED(st) && WEXITSTATUS(st) == 3))
            continue;       /* shutting down, drained, or it could not listen */
        wsd_log(WSD_LOG_ERROR, "server", "", "Worker %d (pid %d) %s %d; restarting it", i,
                (int)pid, WIFSIGNALED(st) ? "killed by signal" : "exited with status",
                WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        if (time(NULL) - s->window > 60) {
            s->window = time(NULL);
            s->restarts = 0;
        }
        if (++s->restarts > 10) {
            wsd_log(WSD_LOG_FATAL, "server", "", "Workers keep dying; stopping");
            s->stopping = 1;
            s->rc = 1;
            wsd_listen_close(s->ls);
            for (i = 0; i < s->n; i++)
                if (s->pids[i] > 0)
                    kill(s->pids[i], SIGTERM);
            continue;
        }
        s->pids[i] = start_worker(s, i);
        if (s->pids[i] > 0)
            s->alive++;
    }
}

/* ------------------------------------------------------------- the loop */

static int timeout_ms(sup *s, uint64_t now)
{
    uint64_t next = UINT64_MAX;

    if (s->og->n > 0) {
        uint64_t d = (uint64_t)s->og->deadline.tv_sec * 1000 +
                     (uint64_t)s->og->deadline.tv_nsec / 1000000;
        if (d < next)
            next = d;
    }
    if (s->tk.pid > 0 && s->tk_deadline < next)
        next = s->tk_deadline;
    if (s->wd_ms && s->wd_next < next)
        next = s->wd_next;
    if (next == UINT64_MAX)
        return -1;
    return next <= now ? 0 : (int)(next - now);
}

static void timers(sup *s, uint64_t now)
{
    if (s->og->n > 0 && now >= (uint64_t)s->og->deadline.tv_sec * 1000 +
                                    (uint64_t)s->og->deadline.tv_nsec / 1000000)
        kill_orphans(s->og);
    if (s->tk.pid > 0 && now >= s->tk_deadline) {
        wsd_log(WSD_LOG_ERROR, "server", "", "Upgrade failed: the new wsd (pid %d) was not ready "
                "after %d ms: sent SIGTERM; this wsd goes on serving", (int)s->tk.pid,
                WSD_TAKEOVER_READY_MS);
        wsd_takeover_abort(&s->tk);
        s->tk.pid = 0;
    }
    if (s->wd_ms && now >= s->wd_next) {
        wsd_sd_watchdog();
        s->wd_next = now + s->wd_ms;
    }
}

int wsd_supervise(wsd_config *cfg, wsd_listen_set *ls, int n)
{
    sup S, *s = &S;
    sigset_t set;
    int i;

    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    s->ls = ls;
    s->n = n;
    s->tk.fd = -1;
    s->window = time(NULL);
    wsd_server_signal_set(&set);
    sigprocmask(SIG_BLOCK, NULL, &s->run_mask);
    for (i = 1; i < NSIG; i++)
        if (sigismember(&set, i))
            sigdelset(&s->run_mask, i);
    s->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s->sfd < 0 || pipe2(s->rd, O_CLOEXEC | O_NONBLOCK) != 0) {
        wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: %s", strerror(errno));
        if (s->sfd >= 0)
            close(s->sfd);
        return 1;
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    s->pids = xcalloc((size_t)n, sizeof *s->pids);
    s->ready = xcalloc((size_t)n, 1);
    s->og = xcalloc(1, sizeof *s->og);
    s->ctl = xmalloc((size_t)n * sizeof *s->ctl);
    for (i = 0; i < n; i++)
        s->ctl[i] = -1;
    s->hub_ctl = -1;
    if (needs_hub(cfg)) {
        /* /tmp, not $TMPDIR: a socket path must fit in 108 bytes */
        snprintf(hub_dir, sizeof hub_dir, "/tmp/wsd-hub-XXXXXX");
        if (!mkdtemp(hub_dir)) {
            wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: no directory for the hub "
                    "process: %s", strerror(errno));
            s->rc = 1;
            goto out;
        }
        {
            size_t len = strlen(hub_dir) + 16;
            hub_path = xmalloc(len);
            snprintf(hub_path, len, "%s/hub.sock", hub_dir);
        }
        s->hub = start_hub(s);
    }
    for (i = 0; i < n; i++) {
        s->pids[i] = start_worker(s, i);
        if (s->pids[i] > 0)
            s->alive++;
    }
    {
        uint64_t usec = wsd_sd_watchdog_usec();
        s->wd_ms = usec / 2000 > 0 ? usec / 2000 : (usec ? 1 : 0);
        /* after an upgrade, systemd hears this wsd only once the old one
         * has sent MAINPID: the first ping waits a period */
        s->wd_next = now_ms() + (ls->from == WSD_LISTEN_UPGRADE ? s->wd_ms : 0);
    }
    while (s->alive > 0) {
        struct pollfd pf[3];
        int np = 2, r;
        uint64_t now = now_ms();

        pf[0].fd = s->sfd;
        pf[1].fd = s->rd[0];
        pf[0].events = pf[1].events = POLLIN;
        pf[0].revents = pf[1].revents = pf[2].revents = 0;
        if (s->tk.fd >= 0) {
            pf[2].fd = s->tk.fd;
            pf[2].events = POLLIN;
            np = 3;
        }
        r = poll(pf, (nfds_t)np, timeout_ms(s, now));
        if (r < 0 && errno != EINTR)
            break;
        timers(s, now_ms());
        if (np == 3 && pf[2].revents)
            upgrade_check(s);
        if (pf[1].revents)
            read_ready(s);
        if (pf[0].revents) {
            struct signalfd_siginfo si;
            while (read(s->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGCHLD)
                    on_children(s);
                else
                    on_signal(s, &si);
            }
        }
    }
out:
    if (s->tk.pid > 0)
        wsd_takeover_abort(&s->tk);
    if (s->hub > 0) {
        kill(s->hub, SIGTERM);       /* the workers are gone: their members too */
        while (waitpid(s->hub, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    kill_orphans(s->og);
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    if (hub_path) {
        unlink(hub_path);
        rmdir(hub_dir);
        free(hub_path);
        hub_path = NULL;
    }
    wsd_listen_unlink(ls);
    if (s->stopping)
        wsd_takeover_wait_predecessor(ls);   /* this wsd exits after it */
    for (i = 0; i < n; i++)
        ctl_set(&s->ctl[i], -1);
    ctl_set(&s->hub_ctl, -1);
    free(s->ctl);
    close(s->sfd);
    close(s->rd[0]);
    close(s->rd[1]);
    free(s->og);
    free(s->ready);
    free(s->pids);
    return (s->stopping || s->draining) && s->rc == 0 ? 0 : s->rc;
}
