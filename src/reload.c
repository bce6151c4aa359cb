/* reload.c — SIGHUP: the configuration file again (see reload.h). */
#include "reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "cfgfile.h"
#include "cfgsnap.h"
#include "ctlchan.h"
#include "log.h"
#include "privdrop.h"
#include "shared.h"
#include "util.h"

/* Each line of msg[0..n) as an ERROR line of the log. */
static void log_lines(const char *prefix, const char *msg, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(msg, '\n', n);
        size_t len = nl ? (size_t)(nl - msg) : n;
        char esc[2048];
        if (len > 0)
            wsd_log(WSD_LOG_ERROR, "server", "", "%s%s", prefix,
                    wsd_log_escape(esc, sizeof esc, msg, len));
        if (!nl)
            break;
        n -= len + 1;
        msg = nl + 1;
    }
}

/* text[0..len) parsed over the command line of cur: the new configuration
 * in *n (0), or -1 having logged why. */
static int parse(const wsd_config *cur, const char *text, size_t len, wsd_config *n)
{
    char *msg = NULL;
    size_t ml = 0;
    FILE *m = open_memstream(&msg, &ml);
    const char *key;
    int rc;

    if (!m)
        return -1;
    rc = wsd_config_reparse(n, cur, text, len, m);
    fclose(m);
    if (rc >= 0) {
        log_lines("Configuration not reloaded: ", msg ? msg : "", ml);
        free(msg);
        return -1;
    }
    free(msg);
    key = wsd_config_restart_needed(cur, n);
    if (key) {
        wsd_log(WSD_LOG_ERROR, "server", "", "Configuration not reloaded: %s: %s: a change "
                "that takes a restart (the running configuration stays)", cur->config_file, key);
        wsd_config_free(n);
        return -1;
    }
    {
        char why[WSD_CFGFILE_ERR_MAX + 64];
        /* as at start-up: no program as root; every --htpasswd file loads
         * (those read before are read again) */
        if (wsd_privdrop_check_programs(n, why, sizeof why) != 0 ||
            wsd_access_reload_config(n, why, sizeof why) != 0) {
            wsd_log(WSD_LOG_ERROR, "server", "", "Configuration not reloaded: %s", why);
            wsd_config_free(n);
            return -1;
        }
    }
    return 0;
}

/* Makes the new configuration current in this server process. */
static int apply(server *srv, const char *text, size_t len)
{
    wsd_config n;
    wsd_cfgsnap *snap, *old = srv->snap;
    char err[WSD_CFGFILE_ERR_MAX];
    const wsd_config *cfg;

    if (srv->shutting_down)
        return 0;
    if (parse(srv->cfg, text, len, &n) != 0)
        return 0;
    snap = wsd_cfgsnap_new(&n, old->generation + 1, err, sizeof err);
    if (!snap) {
        wsd_config_free(&n);
        wsd_log(WSD_LOG_ERROR, "server", "", "Configuration not reloaded: %s", err);
        return 0;
    }
    srv->snap = snap;
    srv->cfg = cfg = &snap->cfg;
    wsd_log_min = cfg->loglevel;
    if (!cfg->maxforks_auto)      /* a --maxforks given is the whole server's */
        srv->maxforks = cfg->maxforks > 0
                        ? (cfg->maxforks + srv->nworkers - 1) / srv->nworkers : 0;
    wsd_hub_start_always(srv);    /* new --sharedalways programs; old ones retire */
    wsd_cfgsnap_unref(old);       /* freed with its last connection */
    if (srv->nworkers > 1)
        wsd_log(WSD_LOG_INFO, "server", "", "Configuration reloaded from %s (%zu route%s, "
                "generation %lu, worker %d)", cfg->config_file, cfg->nroutes,
                cfg->nroutes == 1 ? "" : "s", snap->generation, srv->worker);
    else
        wsd_log(WSD_LOG_INFO, "server", "", "Configuration reloaded from %s (%zu route%s, "
                "generation %lu)", cfg->config_file, cfg->nroutes, cfg->nroutes == 1 ? "" : "s",
                snap->generation);
    return 1;
}

static wsd_ctl *ctl;

void wsd_reload_signal(server *srv)
{
    char *text, *msg = NULL;
    size_t len = 0, ml = 0;
    FILE *m;

    if (ctl) {
        /* --workers: the supervisor reads the file and sends it to all */
        wsd_log(WSD_LOG_DEBUG, "server", "", "Received SIGHUP: the supervisor reloads");
        return;
    }
    if (!srv->cfg->config_file) {
        wsd_access_reload();      /* --htpasswd, or "nothing to reload" */
        return;
    }
    wsd_log(WSD_LOG_INFO, "server", "", "Received SIGHUP: reloading %s", srv->cfg->config_file);
    m = open_memstream(&msg, &ml);
    if (!m)
        return;
    text = wsd_config_read_file(srv->cfg->config_file, &len, m);
    fclose(m);
    if (!text) {
        log_lines("Configuration not reloaded: ", msg ? msg : "", ml);
        free(msg);
        return;
    }
    free(msg);
    apply(srv, text, len);
    free(text);
}

/* ---- The supervisor's reloads, in a worker ------------------------------- */

static int on_relayed(void *data, const char *text, size_t len)
{
    return apply(data, text, len);
}

void wsd_reload_listen(server *srv, int fd)
{
    if (fd >= 0)
        ctl = wsd_ctl_open(srv->loop, fd, on_relayed, srv);
}

void wsd_reload_stop(void)
{
    wsd_ctl_close(ctl);
    ctl = NULL;
}

/* ---- The supervisor --------------------------------------------------------- */

int wsd_reload_supervise(wsd_config *cfg, int hubfd, const int *fds, int n)
{
    wsd_config nc;
    char *text, *msg = NULL;
    size_t len = 0, ml = 0;
    FILE *m;
    int i, sent = 0;

    wsd_log(WSD_LOG_INFO, "server", "", "Received SIGHUP: reloading %s", cfg->config_file);
    m = open_memstream(&msg, &ml);
    if (!m)
        return -1;
    text = wsd_config_read_file(cfg->config_file, &len, m);
    fclose(m);
    if (!text) {
        log_lines("Configuration not reloaded: ", msg ? msg : "", ml);
        free(msg);
        return -1;
    }
    free(msg);
    if (parse(cfg, text, len, &nc) != 0) {
        free(text);
        return -1;
    }
    wsd_config_free(cfg);          /* workers started from now on get the new one */
    *cfg = nc;
    /* the hub process first: once it has answered, a worker may name its
     * new endpoints */
    if (hubfd >= 0 && (wsd_ctl_send(hubfd, text, len) != 0 || wsd_ctl_wait_ack(hubfd) != 1))
        wsd_log(WSD_LOG_ERROR, "server", "", "The hub process did not take the new "
                "configuration");
    for (i = 0; i < n; i++) {
        if (fds[i] < 0)
            continue;
        if (wsd_ctl_send(fds[i], text, len) == 0)
            sent++;
        else
            wsd_log(WSD_LOG_ERROR, "server", "", "Worker %d did not take the new configuration",
                    i);
    }
    free(text);
    return sent > 0 || n == 0 ? 0 : -1;
}
