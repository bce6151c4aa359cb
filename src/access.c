/* access.c — access control for every request (see access.h). */
#include "access.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authout.h"
#include "basicauth.h"
#include "env.h"
#include "handshake.h"
#include "htpasswd.h"
#include "log.h"
#include "metrics.h"
#include "program.h"
#include "route.h"
#include "util.h"

#define HTPASSWD_MAX (16 * 1024 * 1024)    /* the largest file read */
#define HTPASSWD_RECHECK_MS 1000           /* stat the file at most this often */
#define CACHE_SLOTS 256
#define CACHE_TTL_MS (5 * 60 * 1000)

/* --htpasswd: one table per file the configuration names (the server's,
 * and routes' of their own, --config), and the file it came from */
typedef struct htfile {
    struct htfile *next;
    char *path;
    wsd_htpasswd *table;
    struct stat st;
    uint64_t checked;            /* loop time of the last stat */
} htfile;
static htfile *files;

/* Logins that succeeded: SHA-256(secret, user, password, hash) → until.
 * Only the digest is kept; a new table (reload) clears them all. */
static struct {
    unsigned char key[32];
    uint64_t until;
} cache[CACHE_SLOTS];
static unsigned char secret[32];

/* ------------------------------------------------------------ htpasswd */

/* Reads and parses path. The table, or NULL with why in err. */
static wsd_htpasswd *load(const char *path, struct stat *st, char *err, size_t cap)
{
    wsd_htpasswd_parser *p;
    char buf[16384];
    size_t total = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        snprintf(err, cap, "%s", strerror(errno));
        return NULL;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        snprintf(err, cap, "not a regular file");
        close(fd);
        return NULL;
    }
    p = wsd_htpasswd_parser_new();
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (total += (size_t)n) > HTPASSWD_MAX) {
            snprintf(err, cap, "%s", n < 0 ? strerror(errno) : "larger than 16 MiB");
            close(fd);
            explicit_bzero(buf, sizeof buf);
            wsd_htpasswd_free(wsd_htpasswd_finish(p, buf, sizeof buf));
            return NULL;
        }
        wsd_htpasswd_feed(p, buf, (size_t)n);
    }
    close(fd);
    explicit_bzero(buf, sizeof buf);
    return wsd_htpasswd_finish(p, err, cap);
}

static void take_table(htfile *f, wsd_htpasswd *h, const struct stat *st)
{
    wsd_htpasswd_free(f->table);
    f->table = h;
    f->st = *st;
    memset(cache, 0, sizeof cache);
}

static htfile *find_file(htfile *list, const char *path)
{
    for (; list; list = list->next)
        if (strcmp(list->path, path) == 0)
            return list;
    return NULL;
}

static void free_files(htfile *list)
{
    while (list) {
        htfile *f = list;
        list = f->next;
        wsd_htpasswd_free(f->table);
        free(f->path);
        free(f);
    }
}

/* A file the configuration names, read for the first time: the new entry,
 * or NULL with why in err. */
static htfile *open_file(const char *path, char *err, size_t cap)
{
    char why[300];
    struct stat st;
    wsd_htpasswd *h = load(path, &st, why, sizeof why);
    htfile *f;

    if (!h) {
        snprintf(err, cap, "--htpasswd=%s: %s", path, why);
        return NULL;
    }
    f = xcalloc(1, sizeof *f);
    f->path = xstrdup(path);
    take_table(f, h, &st);
    wsd_log(WSD_LOG_INFO, "server", "", "Authentication (Basic)     : %zu user%s from %s",
            wsd_htpasswd_count(h), wsd_htpasswd_count(h) == 1 ? "" : "s", path);
    return f;
}

/* Every --htpasswd of cfg (the server's and its routes'), i from 0. */
static const char *nth_htpasswd(const wsd_config *cfg, size_t i)
{
    if (i == 0)
        return cfg->htpasswd ? cfg->htpasswd : "";
    return i <= cfg->nroutes && cfg->routes[i - 1].cfg->htpasswd
           ? cfg->routes[i - 1].cfg->htpasswd : "";
}

int wsd_access_init(const wsd_config *cfg, FILE *err)
{
    char why[600];
    size_t i;

    if (getrandom(secret, sizeof secret, 0) != (ssize_t)sizeof secret) {
        fprintf(err, "wsd: no random bytes for the login cache: %s\n", strerror(errno));
        return -1;
    }
    for (i = 0; i <= cfg->nroutes; i++) {
        const char *path = nth_htpasswd(cfg, i);
        htfile *f;
        if (!*path || find_file(files, path))
            continue;
        if (!(f = open_file(path, why, sizeof why))) {
            fprintf(err, "wsd: %s\n", why);
            return -1;
        }
        f->next = files;
        files = f;
    }
    return 0;
}

void wsd_access_free(void)
{
    free_files(files);
    files = NULL;
}

static void reload(htfile *f, const char *why)
{
    char err[300];
    struct stat st;
    wsd_htpasswd *h = load(f->path, &st, err, sizeof err);

    if (!h) {
        wsd_log(WSD_LOG_ERROR, "server", "", "%s: %s not reloaded (%s): keeping the %zu user%s "
                "read before", why, f->path, err, wsd_htpasswd_count(f->table),
                wsd_htpasswd_count(f->table) == 1 ? "" : "s");
        if (stat(f->path, &st) == 0)
            f->st = st;            /* not again until it changes again */
        return;
    }
    take_table(f, h, &st);
    wsd_log(WSD_LOG_INFO, "server", "", "%s: reloaded %s (%zu user%s)", why, f->path,
            wsd_htpasswd_count(h), wsd_htpasswd_count(h) == 1 ? "" : "s");
}

void wsd_access_reload(void)
{
    htfile *f;

    if (!files) {
        wsd_log(WSD_LOG_INFO, "server", "", "Received SIGHUP: nothing to reload");
        return;
    }
    for (f = files; f; f = f->next)
        reload(f, "Received SIGHUP");
}

int wsd_access_reload_config(const wsd_config *n, char *err, size_t cap)
{
    htfile *fresh = NULL, *f;
    size_t i;

    /* the new ones first: one that does not load refuses the reload */
    for (i = 0; i <= n->nroutes; i++) {
        const char *path = nth_htpasswd(n, i);
        if (!*path || find_file(files, path) || find_file(fresh, path))
            continue;
        if (!(f = open_file(path, err, cap))) {
            free_files(fresh);
            return -1;
        }
        f->next = fresh;
        fresh = f;
    }
    /* those read before: again (a bad one keeps its table), or dropped */
    while (files) {
        f = files;
        files = f->next;
        for (i = 0; i <= n->nroutes && strcmp(nth_htpasswd(n, i), f->path) != 0; i++)
            ;
        if (i > n->nroutes) {
            f->next = NULL;
            free_files(f);
            continue;
        }
        reload(f, "Configuration reloaded");
        f->next = fresh;
        fresh = f;
    }
    files = fresh;
    return 0;
}

/* The file changed since it was read (checked at most once a second)? */
static void reload_if_changed(htfile *f, uint64_t now)
{
    struct stat st;

    if (f->checked && now - f->checked < HTPASSWD_RECHECK_MS)
        return;
    f->checked = now;
    if (stat(f->path, &st) != 0)
        return;                    /* gone for a moment (an editor's rename): keep it */
    if (st.st_ino != f->st.st_ino || st.st_dev != f->st.st_dev ||
        st.st_size != f->st.st_size || st.st_mtim.tv_sec != f->st.st_mtim.tv_sec ||
        st.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec)
        reload(f, "The file changed");
}

static void cache_key(const char *user, size_t ulen, const char *pass, size_t plen,
                      const char *hash, unsigned char out[32])
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    unsigned len = 32;

    EVP_DigestInit_ex(m, EVP_sha256(), NULL);
    EVP_DigestUpdate(m, secret, sizeof secret);
    EVP_DigestUpdate(m, user, ulen);
    EVP_DigestUpdate(m, "", 1);
    EVP_DigestUpdate(m, pass, plen);
    EVP_DigestUpdate(m, "", 1);
    EVP_DigestUpdate(m, hash, strlen(hash));
    EVP_DigestFinal_ex(m, out, &len);
    EVP_MD_CTX_free(m);
}

static int cache_has(const unsigned char key[32], uint64_t now)
{
    unsigned i = key[0] % CACHE_SLOTS;
    return cache[i].until > now && CRYPTO_memcmp(cache[i].key, key, 32) == 0;
}

static void cache_put(const unsigned char key[32], uint64_t now)
{
    unsigned i = key[0] % CACHE_SLOTS;
    memcpy(cache[i].key, key, 32);
    cache[i].until = now + CACHE_TTL_MS;
}

/* ------------------------------------------------------------ answers */

/* A refusal: status, an optional header, a text body (not for HEAD), then
 * a lingering close. */
static void answer(conn *c, const wsd_request *r, int status, const char *hname,
                   const char *hvalue, const char *body)
{
    const wsd_config *cfg = c->cfg;
    size_t n = cfg->headers_http.n, i;
    wsd_header_kv *kv = xcalloc(n + 1, sizeof *kv);
    wsd_header_list extra = {kv, 0};
    wsd_str out;

    if (hname) {
        kv[extra.n].name = (char *)hname;     /* the list is read only */
        kv[extra.n++].value = (char *)hvalue;
    }
    for (i = 0; i < n; i++)
        kv[extra.n++] = cfg->headers_http.v[i];
    if (c->upgrading)
        wsd_metrics_refused(status);   /* a refused WebSocket handshake (metrics.h) */
    wsd_str_init(&out, RESPONSE_LIMIT);
    if (wsd_response_simple(&out, status, body, 0, &cfg->headers, &extra) != 0) {
        wsd_str_free(&out);
        wsd_tp_close(&c->tp);
    } else {
        if (r && r->method && strcmp(r->method, "HEAD") == 0)
            wsd_str_truncate(&out, out.len - strlen(body));   /* the head only */
        conn_linger(c, out.s, out.len);
    }
    free(kv);
}

static void challenge(conn *c, const wsd_request *r)
{
    char v[300];
    snprintf(v, sizeof v, "Basic realm=\"%s\", charset=\"UTF-8\"", c->cfg->authrealm);
    answer(c, r, 401, "WWW-Authenticate", v, "401 Unauthorized\n");
}

static const char *cat(const conn *c)
{
    return c->is_ws ? "session" : "http";
}

static uint64_t now_ms(const conn *c)
{
    return uv_now(c->srv->loop);
}

/* A failed login costs a token of the client's bucket (--ratelimit): a
 * password cannot be guessed faster than handshakes are allowed. */
static void failed_login(conn *c)
{
    wsd_client_key k;
    uint32_t retry;

    if (!c->srv->clients)
        return;
    wsd_clients_key(c->remote_ip, &k);
    wsd_clients_rate(c->srv->clients, &k, now_ms(c), 1, &retry);
}

/* ------------------------------------------------------------ the client */

void wsd_access_client(conn *c, const wsd_request *r)
{
    server *srv = c->srv;
    wsd_realip ri;
    char peer[64];
    int port;

    wsd_env_access_clear(&c->access);
    if (!srv->trust)
        return;
    /* each request starts from the connection's own peer (a kept-alive
     * connection from a proxy may carry another client's next request) */
    wsd_tp_peer(&c->tp, peer, sizeof peer, &port);
    snprintf(c->remote_ip, sizeof c->remote_ip, "%s", peer);
    c->remote_port = port;
    if (!wsd_trust_has(srv->trust, peer))
        return;
    wsd_realip_resolve(srv->trust, r, &ri);
    if (ri.bad[0])
        wsd_log(WSD_LOG_DEBUG, "http", "", "From proxy %s: %s ignored", peer, ri.bad);
    if (ri.from) {
        snprintf(c->remote_ip, sizeof c->remote_ip, "%s", ri.addr);
        c->remote_port = ri.port;
        wsd_log(WSD_LOG_DEBUG, "http", "", "Client %s (port %d) behind proxy %s (%s)", ri.addr,
                ri.port, peer, ri.from);
    }
    c->access.proto = ri.proto;
    if (ri.host[0])
        c->access.host = xstrdup(ri.host);
}

/* ------------------------------------------------------------ the checks */

typedef struct auth_run {
    conn *c;
    const wsd_request *r;        /* c->http's; valid while c is not closing */
    wsd_access_next next;
    const conn_handler *prev_h;  /* the conn's handler, put back at the end */
    char *held;                  /* bytes behind the head */
    size_t nheld;
    int upgrade;
    /* --htpasswd in the thread pool */
    uv_work_t work;
    char *hash;                  /* a copy: a reload cannot pull it away */
    char user[WSD_BASIC_MAX + 1];
    size_t ulen;
    char *pass;
    size_t plen;
    int known, ok;
    unsigned char key[32];
    /* --authcmd */
    wsd_program *prog;
    wsd_authout *out;
    uv_timer_t timer;
    int timer_open, decided, ended;
} auth_run;

static void start_authcmd(auth_run *a);
static void run_free(auth_run *a);
static void resume(auth_run *a);

/* A static file under --publicstatic: not an upgrade, --staticdir given,
 * and no --cgidir script at the path (wsd_serve_request's routing; under
 * a route, the path under it). */
static int public_static(const conn *c, const wsd_request *r, int upgrade)
{
    const wsd_config *cfg = c->cfg;
    size_t n = strlen(r->path);
    char *decoded;
    int pub = 1;

    if (!cfg->publicstatic || upgrade || !cfg->staticdir)
        return 0;
    if (!cfg->cgidir)
        return 1;
    decoded = xmalloc(n + 1);
    if (wsd_http_url_decode(r->path, n, decoded) >= 0) {
        char *clean = wsd_route_clean_path(decoded);
        wsd_route rt;
        memset(&rt, 0, sizeof rt);
        if (wsd_route_cgi(cfg->cgidir, c->ep->is_route ? c->subpath : clean, &rt) ==
            WSD_ROUTE_FOUND)
            pub = 0;
        wsd_route_free(&rt);
        free(clean);
    }
    free(decoded);
    return pub;
}

/* 2. --ratelimit and --maxperip. 0, or answered. */
static int limits(conn *c, const wsd_request *r, int upgrade)
{
    wsd_clients *t = c->srv->clients;
    wsd_client_key k;
    uint32_t retry;
    char ra[16];
    int rc;

    if (!t)
        return 0;
    wsd_clients_key(c->remote_ip, &k);
    rc = wsd_clients_rate(t, &k, now_ms(c), upgrade, &retry);
    if (rc == WSD_CLIENT_RATE) {
        wsd_log(WSD_LOG_ACCESS, cat(c), c->assoc, "Rate limit: %s made more than %lu handshakes "
                "a minute (burst %lu): 429, retry after %u s", c->remote_ip,
                c->snap->cfg.ratelimit, c->snap->cfg.rateburst, retry);
        snprintf(ra, sizeof ra, "%u", retry);
        answer(c, r, 429, "Retry-After", ra, "429 Too Many Requests: slow down\n");
        return -1;
    }
    if (rc == WSD_CLIENT_OK && c->snap->cfg.maxperip &&
        !wsd_clients_slot_is(t, c->client_slot, &k)) {
        wsd_clients_release(t, c->client_slot);   /* a kept-alive connection, a new client */
        c->client_slot = 0;
        rc = wsd_clients_acquire(t, &k, now_ms(c), &c->client_slot);
        if (rc == WSD_CLIENT_BUSY) {
            wsd_log(WSD_LOG_ACCESS, cat(c), c->assoc, "%s has %lu connections already "
                    "(--maxperip): 429", c->remote_ip, c->snap->cfg.maxperip);
            answer(c, r, 429, NULL, NULL,
                   "429 Too Many Requests: too many connections from your address\n");
            return -1;
        }
    }
    if (rc == WSD_CLIENT_FULL) {
        wsd_log(WSD_LOG_ERROR, cat(c), c->assoc, "The per-client table is full of connected "
                "clients (%u): 503", wsd_clients_used(t));
        answer(c, r, 503, NULL, NULL, "503 Service Unavailable: too many clients\n");
        return -1;
    }
    return 0;
}

/* The request is allowed: the user into the environment and the log. */
static void allowed_user(conn *c, const char *user, size_t ulen, const char *type)
{
    free(c->access.user);
    free(c->access.auth_type);
    c->access.user = xstrndup(user, ulen);
    c->access.auth_type = type ? xstrdup(type) : NULL;
}

static auth_run *run_new(conn *c, const wsd_request *r, const char *rest, size_t nrest,
                         wsd_access_next next, int upgrade)
{
    auth_run *a = xcalloc(1, sizeof *a);
    conn_ref(c);                   /* until run_free */
    a->c = c;
    a->r = r;
    a->next = next;
    a->upgrade = upgrade;
    if (nrest > 0) {
        a->held = xmalloc(nrest);
        memcpy(a->held, rest, nrest);
        a->nheld = nrest;
    }
    return a;
}

static void auth_gone(conn *c);
static void auth_shutdown(conn *c);

/* The conn's events while a check runs: its client leaving ends an
 * authorizer (reads are held: the transport's poll notices). */
static const conn_handler auth_handler = {
    NULL, NULL, NULL, auth_gone, auth_shutdown, NULL,
};

/* The check goes off the loop: hold the client, take over its events. */
static void run_park(auth_run *a)
{
    conn *c = a->c;
    c->auth = a;
    a->prev_h = c->h;
    c->h = &auth_handler;
    wsd_tp_hold(&c->tp, WSD_HOLD_AUTH);
}

/* Is the request still waiting for us (no answer, no close since)? */
static int still_waiting(const auth_run *a)
{
    return !a->c->tp.closing && a->c->state == ST_HTTP;
}

/* --- --htpasswd --- */

static void verify_work(uv_work_t *w)
{
    auth_run *a = w->data;
    a->ok = wsd_htpasswd_verify(a->hash, a->pass, a->plen) && a->known;
}

static void after_verify(uv_work_t *w, int status)
{
    auth_run *a = w->data;
    conn *c = a->c;

    explicit_bzero(a->pass, a->plen);
    free(a->pass);
    a->pass = NULL;
    if (!still_waiting(a) || status != 0) {
        run_free(a);
        return;
    }
    if (!a->ok) {
        char esc[300];
        wsd_log(WSD_LOG_ACCESS, cat(c), c->assoc, "Authentication failed for user '%s': 401",
                wsd_log_escape(esc, sizeof esc, a->user, a->ulen));
        failed_login(c);
        challenge(c, a->r);
        run_free(a);
        return;
    }
    cache_put(a->key, now_ms(c));
    allowed_user(c, a->user, a->ulen, "Basic");
    c->access.hide_authorization = 1;
    if (c->cfg->authcmd_path) {
        start_authcmd(a);          /* answers, or runs the authorizer */
        return;
    }
    resume(a);
    run_free(a);
}

/* Basic credentials. 0: allowed now; 1: answered or checking (a set). */
static int check_basic(conn *c, const wsd_request *r, int upgrade, htfile *file,
                       auth_run **out)
{
    const wsd_htpasswd *table;
    wsd_basic_cred *cred;
    const wsd_http_header *h = NULL;
    const char *hash;
    unsigned char key[32];
    size_t i, count = 0;
    int rc;

    *out = NULL;
    reload_if_changed(file, now_ms(c));
    table = file->table;
    for (i = 0; i < r->nheaders; i++) {
        if (wsd_strncaseeq(r->headers[i].name, r->headers[i].name_len, "Authorization")) {
            h = h ? h : &r->headers[i];
            count++;
        }
    }
    if (!h) {
        wsd_log(WSD_LOG_ACCESS, cat(c), c->assoc, "Authentication required: 401");
        challenge(c, r);
        return 1;
    }
    cred = xmalloc(sizeof *cred);
    rc = count > 1 ? WSD_AUTHZ_MALFORMED : wsd_authz_parse(h->value, h->value_len, cred);
    if (rc == WSD_AUTHZ_MALFORMED) {
        wsd_log(WSD_LOG_ACCESS, cat(c), c->assoc, "Malformed Authorization header: 400");
        failed_login(c);
        answer(c, r, 400, NULL, NULL, "400 Bad Request: malformed Authorization header\n");
        free(cred);
        return 1;
    }
    if (rc == WSD_AUTHZ_OTHER) {
        char esc[64];
        wsd_log(WSD_LOG_ACCESS, cat(c), c->assoc, "Authorization scheme '%s' is not Basic: 401",
                wsd_log_escape(esc, sizeof esc, cred->scheme, strlen(cred->scheme)));
        challenge(c, r);
        free(cred);
        return 1;
    }
    hash = wsd_htpasswd_lookup(table, cred->user, cred->ulen);
    cache_key(cred->user, cred->ulen, cred->pass, cred->plen,
              hash ? hash : wsd_htpasswd_dummy(table), key);
    if (hash && cache_has(key, now_ms(c))) {
        allowed_user(c, cred->user, cred->ulen, "Basic");
        c->access.hide_authorization = 1;
        explicit_bzero(cred, sizeof *cred);
        free(cred);
        return 0;
    }
    /* crypt(3) off the loop; an unknown user costs the same (a dummy hash) */
    {
        auth_run *a = run_new(c, r, NULL, 0, NULL, upgrade);
        a->known = hash != NULL;
        a->hash = xstrdup(hash ? hash : wsd_htpasswd_dummy(table));
        memcpy(a->user, cred->user, cred->ulen + 1);
        a->ulen = cred->ulen;
        a->pass = xmalloc(cred->plen + 1);
        memcpy(a->pass, cred->pass, cred->plen);
        a->plen = cred->plen;
        memcpy(a->key, key, sizeof key);
        explicit_bzero(cred, sizeof *cred);
        free(cred);
        a->work.data = a;
        if (uv_queue_work(c->srv->loop, &a->work, verify_work, after_verify) != 0) {
            wsd_log(WSD_LOG_ERROR, cat(c), c->assoc, "Cannot queue the password check: 503");
            answer(c, r, 503, NULL, NULL, "503 Service Unavailable\n");
            run_free(a);
            return 1;
        }
        run_park(a);
        *out = a;
        return 1;
    }
}

/* --- --authcmd --- */

static void authcmd_fail(auth_run *a, int status, const char *why)
{
    conn *c = a->c;
    a->decided = 1;
    wsd_log(WSD_LOG_ERROR, "authcmd", c->assoc, "Authorizer %s: %d", why, status);
    if (still_waiting(a))
        answer(c, a->r, status, NULL, NULL, status == 503
               ? "503 Service Unavailable: the authorizer failed\n" : "403 Forbidden\n");
    if (a->prog && !a->ended) {
        a->ended = 1;
        wsd_program_end(a->prog);
    }
}

static void on_auth_out(wsd_program *p, const char *buf, size_t n, int eof)
{
    auth_run *a = p->data;
    if (a->decided || n == 0)
        return;
    if (wsd_authout_feed(a->out, buf, n) != WSD_AUTHOUT_OK) {
        char why[200];
        snprintf(why, sizeof why, "output refused (%s)", wsd_authout_error(a->out));
        authcmd_fail(a, 503, why);
    }
    (void)eof;
}

static void on_auth_timer(uv_timer_t *t)
{
    auth_run *a = t->data;
    char why[80];
    if (a->decided)
        return;
    snprintf(why, sizeof why, "did not answer within %lu ms", a->c->cfg->authtimeout);
    authcmd_fail(a, 503, why);
}

static void on_timer_closed(uv_handle_t *h)
{
    auth_run *a = h->data;
    a->timer_open = 0;
    if (!a->prog)
        run_free(a);
}

/* The authorizer is over (reaped, pipes closed): its answer. */
static void decide(auth_run *a, const wsd_program *p)
{
    conn *c = a->c;
    const char *type;
    char why[200];
    int status;

    a->decided = 1;
    if (!still_waiting(a))
        return;
    if (p->term_signal) {
        snprintf(why, sizeof why, "killed by signal %d (SIG%s)", p->term_signal,
                 sigabbrev_np(p->term_signal) ? sigabbrev_np(p->term_signal) : "?");
        authcmd_fail(a, 503, why);
        return;
    }
    if (wsd_authout_end(a->out) != WSD_AUTHOUT_OK) {
        snprintf(why, sizeof why, "output refused (%s)", wsd_authout_error(a->out));
        authcmd_fail(a, 503, why);
        return;
    }
    if (p->exit_status != 0) {
        status = wsd_authout_status(a->out) ? wsd_authout_status(a->out) : 403;
        wsd_log(WSD_LOG_ACCESS, cat(c), c->assoc, "Authorizer refused (exit %lld): %d",
                (long long)p->exit_status, status);
        failed_login(c);
        if (status == 401) {
            challenge(c, a->r);
        } else {
            char body[64];
            snprintf(body, sizeof body, "%d %s\n", status, wsd_http_reason(status));
            answer(c, a->r, status, NULL, NULL, body);
        }
        return;
    }
    if (wsd_authout_user(a->out) && *wsd_authout_user(a->out)) {
        type = wsd_authout_auth_type(a->out);
        if (!type) {               /* RFC 3875 §4.1.1: the Authorization's scheme */
            const wsd_http_header *h = wsd_http_get(a->r, "Authorization");
            wsd_basic_cred *cred = xmalloc(sizeof *cred);
            int rc = h ? wsd_authz_parse(h->value, h->value_len, cred) : WSD_AUTHZ_MALFORMED;
            allowed_user(c, wsd_authout_user(a->out), strlen(wsd_authout_user(a->out)),
                         rc != WSD_AUTHZ_MALFORMED ? cred->scheme : NULL);
            explicit_bzero(cred, sizeof *cred);
            free(cred);
        } else {
            allowed_user(c, wsd_authout_user(a->out), strlen(wsd_authout_user(a->out)), type);
        }
    } else if (wsd_authout_auth_type(a->out)) {
        free(c->access.auth_type);
        c->access.auth_type = xstrdup(wsd_authout_auth_type(a->out));
    }
    free(c->access.extra);
    c->access.extra = wsd_authout_take_env(a->out);
    resume(a);
}

static void on_auth_done(wsd_program *p)
{
    auth_run *a = p->data;

    if (!a->decided)
        decide(a, p);
    wsd_program_free(p);
    a->prog = NULL;
    if (a->timer_open) {
        uv_timer_stop(&a->timer);
        uv_close((uv_handle_t *)&a->timer, on_timer_closed);   /* frees the run */
    } else {
        run_free(a);
    }
}

static const wsd_program_ops authcmd_ops = {
    on_auth_out, NULL, NULL, NULL, on_auth_done,
};

/* Starts --authcmd for a (parked or not): the run goes on from its
 * callbacks; or answers and frees a. */
static void start_authcmd(auth_run *a)
{
    conn *c = a->c;
    server *srv = c->srv;
    const wsd_request *r = a->r;
    wsd_spawn_options opt;
    wsd_program_options po;
    wsd_kill_plan kill;
    wsd_env_input ei;
    char *argv[2], **env, *path_info;
    int rc;

    if (srv->maxforks > 0 && wsd_program_count() >= srv->maxforks) {
        wsd_log(WSD_LOG_ERROR, "authcmd", c->assoc,
                "Max of possible forks already active, the authorizer was not run: 429");
        answer(c, r, 429, NULL, NULL, "429 Too Many Requests\n");
        run_free(a);
        return;
    }
    if (!conn_fds_for_program(srv)) {
        wsd_log(WSD_LOG_ERROR, "authcmd", c->assoc, "Out of file descriptors for the authorizer: 503");
        answer(c, r, 503, NULL, NULL, WSD_BODY_NO_RESOURCES);
        run_free(a);
        return;
    }
    path_info = xmalloc(strlen(r->path) + 1);
    if (wsd_http_url_decode(r->path, strlen(r->path), path_info) < 0)
        strcpy(path_info, r->path);
    memset(&ei, 0, sizeof ei);
    ei.cfg = c->cfg;
    ei.req = r;
    ei.remote_ip = c->remote_ip;
    ei.remote_port = c->remote_port;
    ei.remote_host = c->remote_ip;
    ei.unique_id = c->id;
    ei.script_name = "/";
    ei.path_info = path_info;
    ei.https = wsd_tp_is_tls(&c->tp);
    ei.access = c->access;         /* a user --htpasswd found; a proxy's scheme and host */
    ei.access.hide_authorization = 0;   /* the authorizer's to read */
    ei.access.extra = NULL;
    env = wsd_env_build(&ei);
    free(path_info);

    argv[0] = c->cfg->authcmd_path;
    argv[1] = NULL;
    memset(&opt, 0, sizeof opt);
    opt.file = c->cfg->authcmd_path;
    opt.argv = argv;
    opt.env = env;
    wsd_kill_plan_cgi(&kill);      /* SIGTERM, then SIGKILL a second later */
    memset(&po, 0, sizeof po);
    po.spawn = &opt;
    po.ops = &authcmd_ops;
    po.kill = &kill;
    po.log_category = "authcmd";
    po.stderr_category = "authcmd";
    po.assoc = &c->assoc;
    po.data = a;
    rc = wsd_program_start(srv->loop, &po, &a->prog);
    free(env);
    if (rc != 0) {
        wsd_log(WSD_LOG_ERROR, "authcmd", c->assoc, "Could not launch the authorizer %s (%s): 503",
                c->cfg->authcmd_path, wsd_spawn_strerror(rc));
        answer(c, r, 503, NULL, NULL, "503 Service Unavailable: the authorizer failed\n");
        run_free(a);
        return;
    }
    a->out = wsd_authout_new();
    if (!c->auth)
        run_park(a);
    wsd_tp_timeout(&c->tp, 0);     /* --authtimeout bounds it instead */
    uv_timer_init(srv->loop, &a->timer);
    a->timer.data = a;
    a->timer_open = 1;
    uv_timer_start(&a->timer, on_auth_timer, c->cfg->authtimeout, 0);
    wsd_program_close_stdin(a->prog);   /* no stdin: EOF at once */
    wsd_program_read(a->prog, WSD_PROGRAM_STDOUT | WSD_PROGRAM_STDERR, 1);
}

static void auth_gone(conn *c)
{
    auth_run *a = c->auth;
    if (a && a->prog && !a->ended) {
        a->ended = 1;
        wsd_program_end(a->prog);
    }
}

static void auth_shutdown(conn *c)
{
    auth_gone(c);
}

/* Allowed: the request goes on from here, with its held bytes (the
 * caller frees a afterwards). */
static void resume(auth_run *a)
{
    conn *c = a->c;

    c->auth = NULL;
    c->h = a->prev_h;
    wsd_tp_release(&c->tp, WSD_HOLD_AUTH);
    wsd_tp_timeout(&c->tp, HANDSHAKE_TIMEOUT_MS);   /* for what follows (a reverse lookup) */
    a->next(c, a->held, a->nheld);
}

static void run_free(auth_run *a)
{
    conn *c = a->c;

    if (c->auth == a) {            /* not resumed: put the conn back as it was */
        c->auth = NULL;
        c->h = a->prev_h;
        if (!c->tp.closing)
            wsd_tp_release(&c->tp, WSD_HOLD_AUTH);
    }
    wsd_authout_free(a->out);
    free(a->hash);
    if (a->pass) {
        explicit_bzero(a->pass, a->plen);
        free(a->pass);
    }
    free(a->held);
    explicit_bzero(a, sizeof *a);
    free(a);
    conn_unref(c);                 /* run_park's */
}

int wsd_access_check(conn *c, const wsd_request *r, const char *rest, size_t nrest,
                     wsd_access_next next)
{
    /* the request's route's options (--config): its own --htpasswd,
     * --authcmd, --authrealm, --publicstatic */
    const wsd_config *cfg = c->cfg;
    const wsd_http_header *u = wsd_http_get(r, "Upgrade");
    int upgrade = u && wsd_header_has_token(u->value, u->value_len, "websocket");
    htfile *file = cfg->htpasswd ? find_file(files, cfg->htpasswd) : NULL;
    auth_run *a = NULL;

    if (limits(c, r, upgrade) != 0)
        return 1;
    if (cfg->htpasswd && !file) {
        /* cannot happen: every file a configuration names is loaded
         * before it is used (wsd_access_init, wsd_access_reload_config) */
        wsd_log(WSD_LOG_ERROR, cat(c), c->assoc, "No table for %s: 503", cfg->htpasswd);
        answer(c, r, 503, NULL, NULL, "503 Service Unavailable\n");
        return 1;
    }
    if ((!file && !cfg->authcmd_path) || public_static(c, r, upgrade))
        return 0;
    if (file && check_basic(c, r, upgrade, file, &a) != 0) {
        if (a) {                   /* checking: keep what the rest needs */
            a->next = next;
            if (nrest > 0) {
                a->held = xmalloc(nrest);
                memcpy(a->held, rest, nrest);
                a->nheld = nrest;
            }
        }
        return 1;
    }
    if (!cfg->authcmd_path)
        return 0;
    start_authcmd(run_new(c, r, rest, nrest, next, upgrade));
    return 1;
}
