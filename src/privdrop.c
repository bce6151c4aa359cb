/* privdrop.c — whom wsd runs as, and the Unix socket's owner (see
 * privdrop.h). */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static struct {
    int drop;                    /* change ids in wsd_privdrop_apply */
    uid_t uid;
    gid_t gid;
    char *user;                  /* initgroups() for its groups; NULL: only gid */
    int sock;                    /* a --unixsocket owner or mode to set */
    uid_t sock_uid;              /* (uid_t)-1: unchanged */
    gid_t sock_gid;
    int sock_mode;               /* -1: unchanged */
} pd;

static int runs_programs(const wsd_config *cfg)
{
    size_t i;

    /* an edge (--sharededge) names COMMAND or --dir but runs neither */
    if ((!cfg->sharededge && (cfg->command_path || cfg->dir)) || cfg->cgidir ||
        cfg->authcmd_path)
        return 1;
    for (i = 0; i < cfg->nroutes; i++)    /* --config's routes */
        if (runs_programs(cfg->routes[i].cfg))
            return 1;
    return 0;
}

int wsd_privdrop_check_programs(const wsd_config *cfg, char *err, size_t cap)
{
    if (pd.uid == 0 && runs_programs(cfg) && !cfg->allowroot) {
        snprintf(err, cap, "refusing to run programs as root (no --user, no --allowroot)");
        return -1;
    }
    return 0;
}

int wsd_privdrop_prepare(const wsd_config *cfg, FILE *err)
{
    uid_t euid = geteuid(), target;
    size_t i;

    memset(&pd, 0, sizeof pd);
    pd.uid = euid;
    pd.gid = getegid();
    pd.sock_uid = (uid_t)-1;
    pd.sock_gid = (gid_t)-1;
    pd.sock_mode = cfg->unixsocketmode;
    if (cfg->user) {
        struct passwd *pw = getpwnam(cfg->user);
        if (!pw) {
            fprintf(err, "wsd: --user: no user '%s'\n", cfg->user);
            return -1;
        }
        pd.uid = pw->pw_uid;
        pd.gid = pw->pw_gid;
        pd.user = cfg->group ? NULL : xstrdup(cfg->user);
    }
    if (cfg->group) {
        struct group *gr = getgrnam(cfg->group);
        if (!gr) {
            fprintf(err, "wsd: --group: no group '%s'\n", cfg->group);
            return -1;
        }
        pd.gid = gr->gr_gid;
    }
    if (cfg->user || cfg->group) {
        if (euid != 0 && (pd.uid != euid || pd.gid != getegid())) {
            fprintf(err, "wsd: --user/--group: only root can change to another user or group "
                    "(wsd runs as uid %u)\n", (unsigned)euid);
            return -1;
        }
        pd.drop = euid == 0;
    }
    target = pd.uid;
    if (target == 0 && runs_programs(cfg) && !cfg->allowroot && cfg->check) {
        /* --check is run by an administrator (as root, by sudo) for a wsd
         * that may run as another user: wsd.service's dynamic user */
        fputs("wsd: note: run as root, this configuration would refuse to run its programs "
              "(no user, no allowroot); fine where wsd runs as another user, as wsd.service "
              "does (DynamicUser=yes)\n", err);
    } else if (target == 0 && runs_programs(cfg) && !cfg->allowroot) {
        fputs("wsd: refusing to run programs as root: give --user=NAME (wsd binds its ports "
              "and reads its TLS files as root, then runs itself and its programs as NAME), "
              "or --allowroot to run them as root anyway\n", err);
        return -1;
    }
    if (cfg->unixsocketuser) {
        struct passwd *pw = getpwnam(cfg->unixsocketuser);
        if (!pw) {
            fprintf(err, "wsd: --unixsocketuser: no user '%s'\n", cfg->unixsocketuser);
            return -1;
        }
        pd.sock_uid = pw->pw_uid;
    }
    if (cfg->unixsocketgroup) {
        struct group *gr = getgrnam(cfg->unixsocketgroup);
        if (!gr) {
            fprintf(err, "wsd: --unixsocketgroup: no group '%s'\n", cfg->unixsocketgroup);
            return -1;
        }
        pd.sock_gid = gr->gr_gid;
    }
    pd.sock = pd.sock_mode >= 0 || pd.sock_uid != (uid_t)-1 || pd.sock_gid != (gid_t)-1;
    /* a program's limit above what wsd may grant would fail every start */
    for (i = 0; i < cfg->nrlimits; i++) {
        struct rlimit cur;
        if (euid != 0 && getrlimit(cfg->rlimits[i].resource, &cur) == 0 &&
            cur.rlim_max != RLIM_INFINITY &&
            (cfg->rlimits[i].lim.rlim_max == RLIM_INFINITY ||
             cfg->rlimits[i].lim.rlim_max > cur.rlim_max)) {
            fprintf(err, "wsd: --rlimit: a limit above wsd's own hard limit (%llu) needs root\n",
                    (unsigned long long)cur.rlim_max);
            return -1;
        }
    }
    return 0;
}

int wsd_privdrop_socket_umask(void)
{
    return pd.sock_mode >= 0 ? (~pd.sock_mode & 0777) : -1;
}

int wsd_privdrop_socket(const char *path, char *err, size_t cap)
{
    if (!pd.sock)
        return 0;
    if ((pd.sock_uid != (uid_t)-1 || pd.sock_gid != (gid_t)-1) &&
        chown(path, pd.sock_uid, pd.sock_gid) != 0) {
        snprintf(err, cap, "chown %s: %s", path, strerror(errno));
        return -1;
    }
    if (pd.sock_mode >= 0 && chmod(path, (mode_t)pd.sock_mode) != 0) {
        snprintf(err, cap, "chmod %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int wsd_privdrop_apply(char *err, size_t cap)
{
    uid_t r, e, s;
    gid_t rg, eg, sg, groups[64];
    int n, i;

    if (!pd.drop)
        return 0;
    if (pd.user ? initgroups(pd.user, pd.gid) != 0 : setgroups(1, &pd.gid) != 0) {
        snprintf(err, cap, "setting the supplementary groups: %s", strerror(errno));
        return -1;
    }
    if (setresgid(pd.gid, pd.gid, pd.gid) != 0 || setresuid(pd.uid, pd.uid, pd.uid) != 0) {
        snprintf(err, cap, "changing to uid %u gid %u: %s", (unsigned)pd.uid, (unsigned)pd.gid,
                 strerror(errno));
        return -1;
    }
    /* trust, but verify: every id changed, and root is out of reach */
    if (getresuid(&r, &e, &s) != 0 || r != pd.uid || e != pd.uid || s != pd.uid ||
        getresgid(&rg, &eg, &sg) != 0 || rg != pd.gid || eg != pd.gid || sg != pd.gid) {
        snprintf(err, cap, "the ids did not change as asked");
        return -1;
    }
    if (pd.uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        snprintf(err, cap, "root could be regained after dropping privileges");
        return -1;
    }
    if (pd.gid != 0 && pd.uid != 0 && (setgid(0) == 0 || setegid(0) == 0)) {
        snprintf(err, cap, "group root could be regained after dropping privileges");
        return -1;
    }
    n = getgroups((int)(sizeof groups / sizeof groups[0]), groups);
    for (i = 0; i < n && pd.uid != 0; i++) {
        if (groups[i] == 0 && pd.gid != 0 && !pd.user) {
            snprintf(err, cap, "still in group root");
            return -1;
        }
    }
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WSD_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(WSD_ASAN)
    /* LeakSanitizer inspects the process with ptrace at exit, which a
     * process that changed ids may not allow (not dumpable): test builds
     * only; a release build stays undumpable (no core with the TLS key). */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
    wsd_log(WSD_LOG_INFO, "server", "", "Running as                 : uid %u, gid %u%s%s%s",
            (unsigned)pd.uid, (unsigned)pd.gid, pd.user ? " (" : "", pd.user ? pd.user : "",
            pd.user ? ")" : "");
    return 0;
}
