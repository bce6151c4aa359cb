/* listen.c — the listening sockets (see listen.h). */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"
#include "util.h"

#define BACKLOG 511

const char *wsd_listen_kind_name(int kind)
{
    switch (kind) {
    case WSD_LISTEN_HTTP:
        return "http";
    case WSD_LISTEN_REDIRECT:
        return "redirect";
    case WSD_LISTEN_METRICS:
        return "metrics";
    default:
        return "ws";
    }
}

const char *wsd_listen_scheme(const wsd_listener *l, const wsd_config *cfg)
{
    if (l->kind == WSD_LISTEN_WS)
        return cfg->ssl ? "wss" : "ws";
    return "http";
}

/* ------------------------------------------------------------- the set */

static wsd_listener *add(wsd_listen_set *s, int fd, int kind)
{
    wsd_listener *l;

    s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
    l = &s->v[s->n++];
    memset(l, 0, sizeof *l);
    l->fd = fd;
    l->kind = kind;
    return l;
}

/* The local address of fd, for the log and for grouping: 1 if it is a
 * Unix socket; where gets "host:port" or "unix:path". */
static int local_address(int fd, struct sockaddr_storage *ss, socklen_t *len, char *where,
                         size_t cap)
{
    char host[INET6_ADDRSTRLEN];

    *len = sizeof *ss;
    memset(ss, 0, sizeof *ss);
    if (getsockname(fd, (struct sockaddr *)ss, len) != 0) {
        snprintf(where, cap, "fd %d", fd);
        return 0;
    }
    switch (ss->ss_family) {
    case AF_INET: {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        snprintf(where, cap, "%s:%d", host, ntohs(a->sin_port));
        return 0;
    }
    case AF_INET6: {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        snprintf(where, cap, "[%s]:%d", host, ntohs(a->sin6_port));
        return 0;
    }
    case AF_UNIX: {
        struct sockaddr_un *a = (struct sockaddr_un *)ss;
        size_t n = *len > offsetof(struct sockaddr_un, sun_path)
                       ? *len - offsetof(struct sockaddr_un, sun_path) : 0;
        if (n > 0 && a->sun_path[0] == '\0')      /* abstract: shown as systemd does */
            snprintf(where, cap, "unix:@%.*s", (int)(n - 1), a->sun_path + 1);
        else
            snprintf(where, cap, "unix:%.*s", (int)strnlen(a->sun_path, n), a->sun_path);
        return 1;
    }
    default:
        snprintf(where, cap, "fd %d (family %d)", fd, ss->ss_family);
        return 0;
    }
}

/* Groups: the same kind and local address. Each socket's place in its
 * group and the group's size (listen.h: which worker takes which). */
static void make_groups(wsd_listen_set *s)
{
    size_t i, j;
    int ng = 0;

    for (i = 0; i < s->n; i++)
        s->v[i].group = -1;
    for (i = 0; i < s->n; i++) {
        int idx = 0;
        if (s->v[i].group >= 0)
            continue;
        for (j = i; j < s->n; j++) {
            if (s->v[j].group < 0 && s->v[j].kind == s->v[i].kind &&
                strcmp(s->v[j].where, s->v[i].where) == 0) {
                s->v[j].group = ng;
                s->v[j].index = idx++;
            }
        }
        for (j = i; j < s->n; j++)
            if (s->v[j].group == ng)
                s->v[j].group_size = idx;
        ng++;
    }
}

int wsd_listen_serves(const wsd_listen_set *s, size_t i, int w, int nworkers)
{
    const wsd_listener *l = &s->v[i];
    int k = l->group_size > 0 ? l->group_size : 1;

    if (nworkers <= 1)
        return 1;
    if (k >= nworkers)
        return l->index % nworkers == w;
    return w % k == l->index;
}

void wsd_listen_close(wsd_listen_set *s)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        if (s->v[i].fd >= 0)
            close(s->v[i].fd);
        s->v[i].fd = -1;
    }
    if (s->ready_fd >= 0)
        close(s->ready_fd);
    s->ready_fd = -1;
}

void wsd_listen_unlink(wsd_listen_set *s)
{
    if (s->unix_owned && s->unix_path)
        unlink(s->unix_path);      /* websocketd main leaves it behind */
    s->unix_owned = 0;
}

void wsd_listen_free(wsd_listen_set *s)
{
    wsd_listen_close(s);
    free(s->v);
    s->v = NULL;
    s->n = 0;
    free(s->unix_path);
    s->unix_path = NULL;
}

/* ------------------------------------------------------ from the flags */

/* A listening TCP socket, non-blocking and close-on-exec; with `reuseport`
 * (--workers) several sockets bind the same address and the kernel spreads
 * connections over them. Returns the fd or -errno. */
static int bind_socket(const struct sockaddr *sa, socklen_t len, int reuseport)
{
    int one = 1, zero = 0, fd;

    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);  /* dual-stack "::" */
    if (bind(fd, sa, len) != 0 || listen(fd, BACKLOG) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* Resolves an --address ("" = all interfaces, "[::1]", a name) and binds it. */
static int open_listener(const char *addr, int port, int reuseport, char *shown, size_t cap)
{
    struct addrinfo hints, *res = NULL;
    char host[256], portstr[16];
    size_t n = strlen(addr);
    int fd;

    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']')
        snprintf(host, sizeof host, "%.*s", (int)(n - 2), addr + 1);
    else
        snprintf(host, sizeof host, "%s", addr);
    snprintf(shown, cap, "%s:%d", addr, port);
    if (*host == '\0') {
        /* all interfaces: one dual-stack IPv6 socket, IPv4 if no IPv6 */
        struct sockaddr_in6 a6;
        struct sockaddr_in a4;
        memset(&a6, 0, sizeof a6);
        a6.sin6_family = AF_INET6;
        a6.sin6_addr = in6addr_any;
        a6.sin6_port = htons((uint16_t)port);
        memset(&a4, 0, sizeof a4);
        a4.sin_family = AF_INET;
        a4.sin_addr.s_addr = htonl(INADDR_ANY);
        a4.sin_port = htons((uint16_t)port);
        fd = bind_socket((struct sockaddr *)&a6, sizeof a6, reuseport);
        if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL)
            fd = bind_socket((struct sockaddr *)&a4, sizeof a4, reuseport);
        return fd;
    }
    snprintf(portstr, sizeof portstr, "%d", port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, portstr, &hints, &res) != 0 || !res)
        return -ENOENT;
    fd = bind_socket(res->ai_addr, res->ai_addrlen, reuseport);
    freeaddrinfo(res);
    return fd;
}

/* Go's words, and for a privileged port what to do about it. */
static void bind_failed(const char *addr, const char *shown, int port, int err)
{
    if (err == ENOENT) {
        wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: listen tcp: lookup %s: no such host",
                addr);
        return;
    }
    wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: listen tcp %s: bind: %s%s", shown,
            strerror(err),
            err == EACCES && port < 1024
                ? " (ports below 1024 need root: use --port above 1023, give wsd the "
                  "capability: setcap cap_net_bind_service=+ep wsd, or let systemd open "
                  "the socket: docs/operations.md)"
                : "");
}

/* One address and port: one socket, or with several workers a probe (a
 * plain bind refuses an address something else holds, as one process
 * would) and then `nworkers` sockets in a SO_REUSEPORT group. */
static int open_group(wsd_listen_set *s, const char *addr, int port, int kind, int nworkers)
{
    char shown[300];
    int fd, i, k = nworkers > 1 ? nworkers : 1;

    if (nworkers > 1) {
        fd = open_listener(addr, port, 0, shown, sizeof shown);
        if (fd < 0) {
            bind_failed(addr, shown, port, -fd);
            return -1;
        }
        close(fd);
    }
    for (i = 0; i < k; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        wsd_listener *l;
        fd = open_listener(addr, port, nworkers > 1, shown, sizeof shown);
        if (fd < 0) {
            bind_failed(addr, shown, port, -fd);
            return -1;
        }
        l = add(s, fd, kind);
        local_address(fd, &ss, &len, l->where, sizeof l->where);
    }
    return 0;
}

/* --unixsocket: refuses a path that is not a socket, or a socket another
 * server answers on; removes a stale socket file first (websocketd main). */
static int open_unix(wsd_listen_set *s, const char *path)
{
    struct sockaddr_un a;
    struct stat st;
    wsd_listener *l;
    int fd;

    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a.sun_path) {
        wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: listen unix %s: path longer "
                "than %zu bytes", path, sizeof a.sun_path - 1);
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path));
    if (lstat(path, &st) == 0) {
        int live;
        if (!S_ISSOCK(st.st_mode)) {
            wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: %s exists and is not a socket",
                    path);
            return -1;
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        live = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        if (fd >= 0)
            close(fd);
        if (live) {
            wsd_log(WSD_LOG_FATAL, "server", "",
                    "Can't start server: socket %s is already in use by a running server", path);
            return -1;
        }
        unlink(path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        /* --unixsocketmode: never more open than asked, not even at bind */
        int um = wsd_privdrop_socket_umask(), rc;
        mode_t old = um >= 0 ? umask((mode_t)um) : 0;
        rc = bind(fd, (struct sockaddr *)&a, sizeof a);
        if (um >= 0)
            umask(old);
        if (rc != 0) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0 || listen(fd, BACKLOG) != 0) {
        int e = errno;
        wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: listen unix %s: %s", path,
                strerror(e));
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        return -1;
    }
    s->unix_owned = 1;
    free(s->unix_path);
    s->unix_path = xstrdup(path);
    {
        char err[512];
        if (wsd_privdrop_socket(path, err, sizeof err) != 0) {
            wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: unix socket %s", err);
            close(fd);
            unlink(path);
            s->unix_owned = 0;
            return -1;
        }
    }
    l = add(s, fd, WSD_LISTEN_WS);
    l->is_unix = 1;
    snprintf(l->where, sizeof l->where, "unix:%s", path);
    return 0;
}

static int open_from_flags(wsd_listen_set *s, const wsd_config *cfg, int nworkers)
{
    size_t i, naddr = cfg->naddresses ? cfg->naddresses : 1;

    if (cfg->unix_only)
        naddr = 0;
    for (i = 0; i < naddr; i++) {
        const char *a = cfg->naddresses ? cfg->addresses[i] : "";
        if (open_group(s, a, cfg->port, WSD_LISTEN_WS, nworkers) != 0)
            return -1;
        if (cfg->redirport && open_group(s, a, cfg->redirport, WSD_LISTEN_REDIRECT, nworkers) != 0)
            return -1;
    }
    if (cfg->unixsocket && open_unix(s, cfg->unixsocket) != 0)
        return -1;
    if (cfg->metrics &&
        open_group(s, cfg->metrics_addr, cfg->metrics_port, WSD_LISTEN_METRICS, nworkers) != 0)
        return -1;
    return 0;
}

/* ---------------------------------------------------------- passed in */

static int kind_of_name(const char *name)
{
    size_t n = strlen(name);

    if (strcmp(name, "ws") == 0 || strcmp(name, "unknown") == 0 || n == 0 ||
        (n > 7 && strcmp(name + n - 7, ".socket") == 0))
        return WSD_LISTEN_WS;
    if (strcmp(name, "http") == 0)
        return WSD_LISTEN_HTTP;
    if (strcmp(name, "redirect") == 0)
        return WSD_LISTEN_REDIRECT;
    if (strcmp(name, "metrics") == 0)
        return WSD_LISTEN_METRICS;
    return -1;
}

/* The readiness pipe of an upgrade (takeover.h): the descriptor after the
 * sockets, when WSD_UPGRADE says there is one. */
static void take_upgrade(wsd_listen_set *s, int n)
{
    const char *u = getenv("WSD_UPGRADE");
    struct stat st;
    int fd = SD_LISTEN_FDS_START + n;

    if (!u)
        return;
    s->from = WSD_LISTEN_UPGRADE;
    s->unix_owned = strcmp(u, "unlink") == 0;
    {
        /* the old wsd, which forked us: only while it is still our parent
         * (if it died already, getppid() is a reaper, not to be signalled) */
        const char *f = getenv("WSD_UPGRADE_FROM");
        long pid = f ? strtol(f, NULL, 10) : 0;
        if (pid > 1 && (pid_t)pid == getppid())
            s->predecessor = (pid_t)pid;
        unsetenv("WSD_UPGRADE_FROM");
    }
    if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        s->ready_fd = fd;
    }
    unsetenv("WSD_UPGRADE");
}

/* 1: sockets were passed and taken, 0: none, -1: unusable (logged). */
static int take_passed(wsd_listen_set *s, const wsd_config *cfg)
{
    char **names = NULL;
    int n, i, rc = 1;

    n = sd_listen_fds_with_names(1, &names);
    if (n < 0) {
        wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: the sockets passed in "
                "(LISTEN_FDS) are unusable: %s", strerror(-n));
        return -1;
    }
    if (n == 0) {
        unsetenv("WSD_UPGRADE");
        return 0;
    }
    s->from = WSD_LISTEN_SYSTEMD;
    take_upgrade(s, n);
    if (s->unix_owned && cfg->unixsocket)
        s->unix_path = xstrdup(cfg->unixsocket);   /* the old wsd's file, ours to remove */
    for (i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i, kind;
        const char *name = names && names[i] ? names[i] : "unknown";
        struct sockaddr_storage ss;
        socklen_t len;
        wsd_listener *l;

        if (rc < 0) {
            close(fd);
            continue;
        }
        kind = kind_of_name(name);
        if (kind < 0) {
            wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: socket %d passed in is named "
                    "\"%s\": wsd knows ws, http, redirect and metrics (FileDescriptorName=)", fd, name);
            close(fd);
            rc = -1;
            continue;
        }
        if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
            wsd_log(WSD_LOG_FATAL, "server", "", "Can't start server: descriptor %d passed in "
                    "(\"%s\") is not a listening stream socket (ListenStream= in the .socket "
                    "unit, Accept=no; or --inetd for Accept=yes)", fd, name);
            close(fd);
            rc = -1;
            continue;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        l = add(s, fd, kind);
        l->is_unix = local_address(fd, &ss, &len, l->where, sizeof l->where);
    }
    if (names) {
        for (i = 0; i < n; i++)
            free(names[i]);
        free(names);
    }
    return rc;
}

int wsd_listen_take(wsd_listen_set *s, const wsd_config *cfg)
{
    int rc;

    memset(s, 0, sizeof *s);
    s->ready_fd = -1;
    rc = take_passed(s, cfg);
    if (rc < 0) {
        wsd_listen_free(s);
        return -1;
    }
    make_groups(s);
    return rc;
}

int wsd_listen_bind(wsd_listen_set *s, const wsd_config *cfg, int nworkers)
{
    memset(s, 0, sizeof *s);
    s->ready_fd = -1;
    s->from = WSD_LISTEN_FLAGS;
    if (open_from_flags(s, cfg, nworkers) != 0) {
        wsd_listen_unlink(s);
        wsd_listen_free(s);
        return -1;
    }
    make_groups(s);
    return 0;
}

int wsd_listen_bind_metrics(wsd_listen_set *s, const wsd_config *cfg, int nworkers)
{
    size_t i;

    if (!cfg->metrics)
        return 0;
    for (i = 0; i < s->n; i++)
        if (s->v[i].kind == WSD_LISTEN_METRICS)
            return 0;
    if (open_group(s, cfg->metrics_addr, cfg->metrics_port, WSD_LISTEN_METRICS, nworkers) != 0)
        return -1;
    make_groups(s);
    return 0;
}
