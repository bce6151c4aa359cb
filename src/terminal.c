/* terminal.c — terminal mode (see terminal.h). */
#include "terminal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "pty.h"
#include "util.h"
#include "ws.h"

wsd_term *wsd_term_new(void)
{
    wsd_term *t = xcalloc(1, sizeof *t);

    wsd_termctl_init(&t->ctl);
    return t;
}

void wsd_term_free(wsd_term *t)
{
    free(t);
}

char **wsd_term_env(char *const *env)
{
    size_t n = 0, i, k = 0;
    char **out;

    while (env && env[n])
        n++;
    out = xcalloc(n + 2, sizeof *out);
    for (i = 0; i < n; i++) {
        if (strncmp(env[i], "TERM=", 5) != 0)
            out[k++] = env[i];
    }
    out[k++] = (char *)WSD_TERM_TERM;   /* never written through */
    out[k] = NULL;
    return out;
}

void wsd_term_kill_plan(wsd_kill_plan *k, unsigned closems)
{
    memset(k, 0, sizeof *k);
    k->delay_ms[0] = 0;            /* the hangup: at once, there is no stdin EOF to wait for */
    k->delay_ms[1] = 250 + closems;
    k->delay_ms[2] = 500 + closems;
    k->sig[0] = SIGHUP;
    k->sig[1] = SIGTERM;
    k->sig[2] = SIGKILL;
    k->nsteps = 3;
    k->giveup_ms = 1000;
    k->eof_grace_ms = 0;
    k->drain_ms = 1000;
}

int wsd_term_input(wsd_term *t, wsd_program *p, int opcode, const uint8_t *data, size_t len,
                   int fin, const char *assoc, const char **why)
{
    wsd_termctl_msg m;
    int code, fd;

    if (opcode == WSD_WS_BINARY) {
        if (p && len > 0)
            wsd_program_write(p, data, len);
        return 0;
    }
    wsd_termctl_feed(&t->ctl, data, len);
    if (!fin)
        return 0;
    code = wsd_termctl_end(&t->ctl, &m, why);
    if (code != 0)
        return code;
    fd = p ? wsd_program_pty_fd(p) : -1;
    if (fd >= 0) {
        int rc = wsd_pty_resize(fd, m.rows, m.cols);
        wsd_log(WSD_LOG_DEBUG, "session", assoc, "Window size %u x %u%s", m.rows, m.cols,
                rc == 0 ? "" : " not set");
    }
    return 0;
}

int wsd_term_is_loopback(const char *address)
{
    char a[64];
    size_t n = strlen(address);
    struct in_addr v4;
    struct in6_addr v6;

    if (strcasecmp(address, "localhost") == 0)
        return 1;
    if (n >= 2 && address[0] == '[' && address[n - 1] == ']') {
        address++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof a)
        return 0;
    memcpy(a, address, n);
    a[n] = '\0';
    if (inet_pton(AF_INET, a, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, a, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&v6) ||
               (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
    return 0;
}

void wsd_term_startup_warning(const wsd_config *cfg, const char *address)
{
    if (!cfg->pty || cfg->sslca || cfg->htpasswd || cfg->authcmd ||
        wsd_term_is_loopback(address))
        return;
    wsd_log(WSD_LOG_ERROR, "server", "",
            "WARNING: terminal mode (--pty) on %s:%d%s: whoever can connect gets %s as user "
            "%ld with no password. Listen on 127.0.0.1, require a login (--htpasswd, "
            "--authcmd), or put wsd behind a reverse proxy with authentication "
            "(docs/terminal.md)",
            *address ? address : "every interface", cfg->port,
            cfg->ssl ? " with TLS but no client certificates (--sslca)" : " without TLS",
            cfg->command ? cfg->command : "the programs of --dir", (long)geteuid());
}
