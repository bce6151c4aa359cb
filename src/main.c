/* main.c — wsd's entry point: the command line, then the server. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/opensslv.h>
#include <uv.h>
#include <zlib.h>

#include "access.h"
#include "config.h"
#include "log.h"
#include "privdrop.h"
#include "process.h"
#include "server.h"
#include "takeover.h"

int main(int argc, char **argv)
{
    static char info[160];
    wsd_config cfg;
    int rc;

    wsd_takeover_init(argv);    /* an upgrade (SIGUSR2) runs this path again with argv */
    snprintf(info, sizeof info, "libuv %s, %s, zlib %s", uv_version_string(),
             OPENSSL_VERSION_TEXT, zlibVersion());
    wsd_build_info = info;

    /* Keep 0, 1, 2 open (on /dev/null if they came closed): a pipe or
     * socket opened later must never become one of them, or handing a
     * program its stdio would go wrong (src/process.c). */
    {
        int fd;
        for (fd = 0; fd < 3; fd++) {
            if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
                int nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
                if (nfd >= 0 && nfd != fd) {
                    dup2(nfd, fd);
                    close(nfd);
                }
            }
        }
    }

    /* A client that disappears must not kill the server through SIGPIPE;
     * libuv resets dispositions in children, so they get the default. */
    signal(SIGPIPE, SIG_IGN);

    /* Each connection holds a socket and three pipes: take every file
     * descriptor the hard limit allows (Go's runtime does the same for
     * websocketd), or the 1024 default caps wsd near 250 connections. */
    {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
            wsd_spawn_set_nofile(&rl);  /* programs get the limit wsd was given */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
    }

    rc = wsd_config_parse(&cfg, argc, argv, stdout, stderr);
    if (rc >= 0) {
        fflush(stdout);
        wsd_config_free(&cfg);
        return rc;
    }
    fflush(stdout);
    wsd_log_min = cfg.loglevel;
    wsd_log_format = cfg.logformat;
    wsd_log_priority = cfg.journal;
    if (cfg.journal < 0) {
        /* systemd.exec(5): JOURNAL_STREAM names the journal's stream, which
         * wsd's log (stdout) may be */
        struct stat st;
        wsd_log_priority = fstat(STDOUT_FILENO, &st) == 0 &&
            wsd_log_journal_stream(getenv("JOURNAL_STREAM"), (unsigned long long)st.st_dev,
                                   (unsigned long long)st.st_ino);
    }
    /* access control (#13): whom to run as (root refused for programs),
     * --htpasswd read, the programs' limits and working directory */
    if (wsd_privdrop_prepare(&cfg, stderr) != 0 || wsd_access_init(&cfg, stderr) != 0) {
        wsd_access_free();
        wsd_config_free(&cfg);
        return 1;
    }
    if (cfg.check) {               /* --check: all good (docs/config.md) */
        wsd_config_check_ok(&cfg, stdout);
        wsd_access_free();
        wsd_config_free(&cfg);
        return 0;
    }
    {
        int res[sizeof cfg.rlimits / sizeof cfg.rlimits[0]];
        struct rlimit lim[sizeof cfg.rlimits / sizeof cfg.rlimits[0]];
        size_t i;
        for (i = 0; i < cfg.nrlimits; i++) {
            res[i] = cfg.rlimits[i].resource;
            lim[i] = cfg.rlimits[i].lim;
        }
        wsd_spawn_set_limits(res, lim, cfg.nrlimits);
        wsd_spawn_set_cwd(cfg.chdir);
    }
    rc = wsd_server_run(&cfg);
    wsd_access_free();
    wsd_config_free(&cfg);
    return rc;
}
