/* main.c — wsd's entry point: the command line, then the server. */
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/opensslv.h>
#include <uv.h>
#include <zlib.h>

#include "config.h"
#include "log.h"
#include "server.h"

int main(int argc, char **argv)
{
    static char info[160];
    wsd_config cfg;
    int rc;

    snprintf(info, sizeof info, "libuv %s, %s, zlib %s", uv_version_string(),
             OPENSSL_VERSION_TEXT, zlibVersion());
    wsd_build_info = info;

    /* A client that disappears must not kill the server through SIGPIPE;
     * libuv resets dispositions in children, so they get the default. */
    signal(SIGPIPE, SIG_IGN);

    /* Each connection holds a socket and three pipes: take every file
     * descriptor the hard limit allows (Go's runtime does the same for
     * websocketd), or the 1024 default caps wsd near 250 connections. */
    {
        struct rlimit rl;
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
    rc = wsd_server_run(&cfg);
    wsd_config_free(&cfg);
    return rc;
}
