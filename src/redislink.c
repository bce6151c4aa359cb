/* redislink.c — shared mode across machines through Redis (see redislink.h).
 *
 * Three parts: the link (two hiredis connections, their set-up, liveness,
 * loss and reconnection, one per process), the program's wsd (a fan per
 * endpoint on its core, publishing; the edges and their clients as
 * subscribers tell them) and an edge (its subscriptions, the members'
 * messages batched to the program's wsd, SYNC). */
#include "redislink.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libuv.h>

#include "hubcore.h"
#include "linkproto.h"
#include "log.h"
#include "redisurl.h"
#include "utf8.h"
#include "util.h"
#include "ws.h"

#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 1000
#define CONNECT_TIMEOUT_MS 3000        /* resolve, connect, AUTH, SUBSCRIBE */
#define TICK_MS 1000                   /* pings, beats, the edges' clock */
#define LIVENESS_MS 10000              /* our own ping not back: the link is dead */
#define EDGE_TIMEOUT_MS 5000           /* an edge silent this long is gone */
#define STOP_WAIT_MS 1000              /* flushing at shutdown */
#define SUBSCRIBE_WAIT_MS 2000         /* a new client waits this long for its channel */
#define STILL_DOWN_LOG_MS 60000
#define PUB_MAX (8u * 1024 * 1024)     /* published, not yet answered: beyond, dropped */
#define READER_MAX (64u * 1024 * 1024) /* one reply being read: beyond, the link is reset */
#define EDGE_HIGH (256u * 1024)        /* an edge's clients' messages waiting: reads held */
#define EDGE_LOW (64u * 1024)
#define BATCH_SOFT (64u * 1024)        /* an edge's payload to the program's wsd */
#define ORIGIN_STDIN_MAX (4u * 1024 * 1024)  /* the program's stdin: edges' messages dropped */
#define MAX_EDGES 4096
#define MAX_REMOTE 1000000L            /* clients of all edges, as the program's wsd counts */
#define WHOLE_MAX (WSD_LINK_MAX - 16384) /* one message (room for the FRAMES header) */
#define CH_MAX 256

/* ------------------------------------------------------------ log */

/* At most one line a second of each kind (`kind`: a static reason string,
 * or NULL for the format itself); the rest are counted into the next one.
 * A few kinds at a time are tracked. */
#define RATELOG_SLOTS 16

static uv_loop_t *loop_of(void);

static void log_limited(const char *kind, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_limited(const char *kind, int level, const char *fmt, ...)
{
    static struct {
        const char *fmt;
        uint64_t last;
        unsigned long more;
    } slot[RATELOG_SLOTS];
    uint64_t now = loop_of() ? uv_now(loop_of()) : 0;
    char line[512];
    va_list ap;
    int i, use = 0;

    if (!kind)
        kind = fmt;
    for (i = 0; i < RATELOG_SLOTS; i++) {
        if (slot[i].fmt == kind) {
            use = i;
            break;
        }
        if (slot[i].last < slot[use].last)
            use = i;               /* else the oldest one is reused */
    }
    if (slot[use].fmt == kind && slot[use].last && now - slot[use].last < 1000) {
        slot[use].more++;
        return;
    }
    if (slot[use].fmt != kind) {
        slot[use].fmt = kind;
        slot[use].more = 0;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (slot[use].more)
        wsd_log(level, "redis", "", "%s (and %lu more like it)", line, slot[use].more);
    else
        wsd_log(level, "redis", "", "%s", line);
    slot[use].last = now ? now : 1;
    slot[use].more = 0;
}

/* ------------------------------------------------------------ the adapter
 *
 * hiredis 0.14.1's adapters/libuv.h ignores a poll callback's error status
 * (`if (status != 0) return;`). libuv 1.44 reports POLLERR that way
 * (UV_EBADF) and stops the handle, so a refused connect or a reset is never
 * seen and the context hangs. hiredis 1.0 (9ce15c4, "Fix errors not
 * propagating properly with libuv.h") passes the error on as readiness so
 * that hiredis reads the error itself; the same here, by replacing the four
 * event hooks after redisLibuvAttach. Also: a reply being read may not
 * grow past READER_MAX (Redis's own pub/sub limit is 32 MB by default). */

static void link_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void link_read_done(void);

static void poll_cb(uv_poll_t *handle, int status, int events)
{
    redisLibuvEvents *p = handle->data;
    int ev = status ? p->events : events;

    if (p->context && (ev & UV_READABLE)) {
        redisAsyncHandleRead(p->context);
        if (p->context && p->context->c.reader &&
            p->context->c.reader->len - p->context->c.reader->pos > READER_MAX)
            link_fail("a reply of over %u bytes", READER_MAX);
        link_read_done();
    }
    if (p->context && (ev & UV_WRITABLE))
        redisAsyncHandleWrite(p->context);
}

static void ev_update(redisLibuvEvents *p)
{
    if (p->events)
        uv_poll_start(&p->handle, p->events, poll_cb);
    else
        uv_poll_stop(&p->handle);
}

static void ev_add_read(void *d)
{
    ((redisLibuvEvents *)d)->events |= UV_READABLE;
    ev_update(d);
}

static void ev_del_read(void *d)
{
    ((redisLibuvEvents *)d)->events &= ~UV_READABLE;
    ev_update(d);
}

static void ev_add_write(void *d)
{
    ((redisLibuvEvents *)d)->events |= UV_WRITABLE;
    ev_update(d);
}

static void ev_del_write(void *d)
{
    ((redisLibuvEvents *)d)->events &= ~UV_WRITABLE;
    ev_update(d);
}

/* ------------------------------------------------------------ the link */

enum { LS_OFF, LS_DOWN, LS_RESOLVING, LS_CONNECTING, LS_UP, LS_BROKEN, LS_STOPPING };

typedef struct {
    void (*up)(void);                    /* both connections ready */
    void (*down)(void);                  /* it was up or on its way: all is gone */
    void (*subscribe)(void);             /* a new subscriber: the role's channels */
    void (*subscribed)(const char *ch, size_t n);
    void (*message)(const char *ch, size_t chlen, const uint8_t *p, size_t n);
    void (*tick)(void);                  /* every second */
    void (*drained)(void);               /* a publish was answered */
    void (*read_done)(void);             /* the replies of one read are handled */
} link_role;

static struct {
    uv_loop_t *loop;
    const wsd_config *cfg;       /* snap's server configuration */
    wsd_cfgsnap *snap;           /* a reference, released by wsd_redis_free */
    const link_role *role;
    wsd_redis_url url;
    char where[300];
    int state;
    int worker;
    unsigned edge;
    uint64_t instance;
    redisAsyncContext *pub, *sub;
    int pub_ready, sub_ready;
    uv_timer_t retry, tick, stop_timer;
    int stop_timer_on;
    uv_getaddrinfo_t *gai;
    unsigned backoff;
    uint64_t attempt_at;                 /* this attempt began */
    uint64_t down_at;                    /* unreachable since (0: it is not) */
    uint64_t down_logged;
    int ever_up;
    size_t pub_out;                      /* published bytes not yet answered */
    uint64_t last_echo;                  /* our last ping came back */
    uint64_t ping_seq;
    char why[256];                       /* why the link broke */
    char ping_ch[CH_MAX];
} L;

static uv_loop_t *loop_of(void)
{
    return L.loop;
}

static void link_read_done(void)
{
    if (L.role && L.role->read_done)
        L.role->read_done();
}

static int stale(const redisAsyncContext *ac)
{
    return !ac || (ac != L.pub && ac != L.sub);
}

static void set_channel(char *out, const char *name)
{
    snprintf(out, CH_MAX, "%s:%s", L.cfg->redischannel, name);
}

static void on_retry(uv_timer_t *t);

/* The link broke (or an attempt failed): the rest happens from the loop's
 * top (on_retry), never inside a hiredis callback. */
static void link_fail(const char *fmt, ...)
{
    va_list ap;
    uint64_t now;

    if (L.state != LS_RESOLVING && L.state != LS_CONNECTING && L.state != LS_UP)
        return;
    now = uv_now(L.loop);
    va_start(ap, fmt);
    vsnprintf(L.why, sizeof L.why, fmt, ap);
    va_end(ap);
    if (L.state == LS_UP) {
        L.down_at = L.down_logged = now;
        wsd_log(WSD_LOG_ERROR, "redis", "", "Redis link lost (%s): %s; clients stay connected, "
                "reconnecting", L.where, L.why);
    } else if (!L.down_at) {
        L.down_at = L.down_logged = now;
        wsd_log(WSD_LOG_ERROR, "redis", "", "Redis at %s unreachable: %s; retrying (every %u ms "
                "at most)", L.where, L.why, RETRY_MAX_MS);
    } else if (now - L.down_logged >= STILL_DOWN_LOG_MS) {
        L.down_logged = now;
        wsd_log(WSD_LOG_ERROR, "redis", "", "Redis at %s still unreachable after %llu s: %s",
                L.where, (unsigned long long)((now - L.down_at) / 1000), L.why);
    } else {
        wsd_log(WSD_LOG_DEBUG, "redis", "", "Redis at %s: %s", L.where, L.why);
    }
    L.state = LS_BROKEN;
    uv_timer_start(&L.retry, on_retry, 0, 0);
}

/* Frees both connections (their pending callbacks run with NULL replies
 * and find themselves stale). */
static void teardown(void)
{
    redisAsyncContext *a = L.pub, *b = L.sub;

    L.pub = L.sub = NULL;
    L.pub_ready = L.sub_ready = 0;
    L.pub_out = 0;
    if (a)
        redisAsyncFree(a);
    if (b)
        redisAsyncFree(b);
}

static void maybe_up(void)
{
    uint64_t now = uv_now(L.loop);

    if (L.state != LS_CONNECTING || !L.pub_ready || !L.sub_ready)
        return;
    L.state = LS_UP;
    L.backoff = 0;
    L.last_echo = now;
    if (L.down_at && L.ever_up)
        wsd_log(WSD_LOG_INFO, "redis", "", "Redis link back (%s) after %llu ms", L.where,
                (unsigned long long)(now - L.down_at));
    else if (L.down_at)
        wsd_log(WSD_LOG_INFO, "redis", "", "Redis link up (%s), reachable after %llu ms",
                L.where, (unsigned long long)(now - L.down_at));
    else
        wsd_log(WSD_LOG_INFO, "redis", "", "Redis link up (%s)", L.where);
    L.down_at = 0;
    L.ever_up = 1;
    L.role->up();
}

static void on_connected(const redisAsyncContext *ac, int status)
{
    if (status == REDIS_OK || stale(ac))
        return;
    /* hiredis frees it after this call */
    if (ac == L.pub)
        L.pub = NULL;
    else
        L.sub = NULL;
    link_fail("%s", ac->errstr[0] ? ac->errstr : "connection failed");
}

static void stop_done(void);

static void on_disconnected(const redisAsyncContext *ac, int status)
{
    if (stale(ac))
        return;
    if (ac == L.pub)
        L.pub = NULL;
    else
        L.sub = NULL;
    if (L.state == LS_STOPPING) {
        if (!L.pub)
            stop_done();
        return;
    }
    link_fail("%s", status == REDIS_OK || !ac->errstr[0] ? "connection closed" : ac->errstr);
}

/* AUTH, SELECT: an error reply ends the attempt (privdata: the command). */
static void on_setup_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    redisReply *r = reply;

    if (stale(ac) || !r)
        return;
    if (r->type == REDIS_REPLY_ERROR)
        link_fail("%s refused: %s", (const char *)privdata, r->str);
}

static void on_pub_ready(redisAsyncContext *ac, void *reply, void *privdata)
{
    redisReply *r = reply;

    (void)privdata;
    if (stale(ac) || !r)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        link_fail("PING refused: %s", r->str);
        return;
    }
    L.pub_ready = 1;
    maybe_up();
}

/* Every subscription's replies: its confirmation, then its messages. */
static void on_sub_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    redisReply *r = reply, *k, *ch;

    (void)privdata;
    if (stale(ac) || !r || L.state == LS_BROKEN)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        link_fail("SUBSCRIBE refused: %s", r->str);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3)
        return;
    k = r->element[0];
    ch = r->element[1];
    if (k->type != REDIS_REPLY_STRING || ch->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(k->str, "message") == 0) {
        redisReply *m = r->element[2];
        if (m->type != REDIS_REPLY_STRING)
            return;
        if ((size_t)ch->len == strlen(L.ping_ch) && memcmp(ch->str, L.ping_ch, ch->len) == 0) {
            L.last_echo = uv_now(L.loop);
            return;
        }
        L.role->message(ch->str, (size_t)ch->len, (const uint8_t *)m->str, (size_t)m->len);
    } else if (strcmp(k->str, "subscribe") == 0) {
        if ((size_t)ch->len == strlen(L.ping_ch) && memcmp(ch->str, L.ping_ch, ch->len) == 0) {
            L.sub_ready = 1;
            maybe_up();
            return;
        }
        L.role->subscribed(ch->str, (size_t)ch->len);
    }
}

/* SUBSCRIBE on the subscribing connection (the link being set up or up). */
static void link_subscribe(const char *ch)
{
    if (L.sub && redisAsyncCommand(L.sub, on_sub_reply, NULL, "SUBSCRIBE %s", ch) != REDIS_OK)
        link_fail("SUBSCRIBE could not be sent");
}

static int link_has_sub(void)
{
    return L.sub && (L.state == LS_CONNECTING || L.state == LS_UP);
}

static void on_published(redisAsyncContext *ac, void *reply, void *privdata)
{
    redisReply *r = reply;
    size_t n = (size_t)(uintptr_t)privdata;

    if (ac != L.pub || !L.pub)
        return;
    L.pub_out -= n < L.pub_out ? n : L.pub_out;
    if (r && r->type == REDIS_REPLY_ERROR)
        log_limited(NULL, WSD_LOG_ERROR, "Redis refused a PUBLISH: %s", r->str);
    if (L.role->drained)
        L.role->drained();
}

/* PUBLISH: 0, or -1 when it is not sent (the link is not up, or Redis does
 * not keep up: PUB_MAX bytes are waiting for its answers; one payload is
 * always taken when none waits, and the small ones that keep the link
 * itself going, `control`, always). */
static int link_publish_(const char *ch, const char *p, size_t n, int control)
{
    const char *argv[3] = {"PUBLISH", ch, p};
    size_t lens[3] = {7, strlen(ch), n};

    if (L.state != LS_UP)
        return -1;
    if (!control && L.pub_out && L.pub_out + n > PUB_MAX) {
        log_limited(NULL, WSD_LOG_ERROR, "Redis does not keep up (%zu bytes waiting for "
                    "it): a payload of %zu bytes for %s dropped", L.pub_out, n, ch);
        return -1;
    }
    if (redisAsyncCommandArgv(L.pub, on_published, (void *)(uintptr_t)n, 3, argv, lens) !=
        REDIS_OK) {
        link_fail("PUBLISH could not be sent");
        return -1;
    }
    L.pub_out += n;
    return 0;
}

static int link_publish(const char *ch, const char *p, size_t n)
{
    return link_publish_(ch, p, n, 0);
}

static redisAsyncContext *open_ctx(const char *ip)
{
    redisAsyncContext *ac = redisAsyncConnect(ip, (int)L.url.port);

    if (!ac) {
        link_fail("out of memory");
        return NULL;
    }
    if (ac->err) {
        link_fail("%s", ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }
    if (redisLibuvAttach(ac, L.loop) != REDIS_OK) {
        link_fail("cannot watch the connection");
        redisAsyncFree(ac);
        return NULL;
    }
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    redisAsyncSetConnectCallback(ac, on_connected);
    redisAsyncSetDisconnectCallback(ac, on_disconnected);
    /* AUTH and SELECT go first; hiredis sends them once connected */
    if (L.url.has_password) {
        if (L.url.user[0])
            redisAsyncCommand(ac, on_setup_reply, "AUTH", "AUTH %s %s", L.url.user,
                              L.url.password);
        else
            redisAsyncCommand(ac, on_setup_reply, "AUTH", "AUTH %s", L.url.password);
    }
    if (L.url.db > 0)
        redisAsyncCommand(ac, on_setup_reply, "SELECT", "SELECT %ld", L.url.db);
    return ac;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    char ip[INET6_ADDRSTRLEN] = "";

    free(req);
    if (L.gai == req)
        L.gai = NULL;
    if (L.state != LS_RESOLVING) {        /* given up on, or stopped */
        if (status == 0)
            uv_freeaddrinfo(res);
        if (L.state == LS_STOPPING && !L.pub)
            stop_done();
        return;
    }
    if (status != 0) {
        link_fail("cannot resolve %s: %s", L.url.host, uv_strerror(status));
        return;
    }
    if (res->ai_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, ip, sizeof ip);
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip, sizeof ip);
    uv_freeaddrinfo(res);
    L.state = LS_CONNECTING;
    L.pub = open_ctx(ip);
    if (!L.pub)
        return;
    L.sub = open_ctx(ip);
    if (!L.sub)
        return;
    if (redisAsyncCommand(L.pub, on_pub_ready, NULL, "PING") != REDIS_OK) {
        link_fail("PING could not be sent");
        return;
    }
    link_subscribe(L.ping_ch);
    L.role->subscribe();
}

static void link_connect(void)
{
    struct addrinfo hints;
    int rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    L.state = LS_RESOLVING;
    L.attempt_at = uv_now(L.loop);
    L.gai = xmalloc(sizeof *L.gai);
    rc = uv_getaddrinfo(L.loop, L.gai, on_resolved, L.url.host, NULL, &hints);
    if (rc != 0) {
        free(L.gai);
        L.gai = NULL;
        link_fail("cannot resolve %s: %s", L.url.host, uv_strerror(rc));
    }
}

static void on_retry(uv_timer_t *t)
{
    (void)t;
    if (L.state == LS_BROKEN) {
        teardown();
        L.state = LS_DOWN;
        L.role->down();
        L.backoff = L.backoff ? (L.backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : L.backoff * 2)
                              : RETRY_MIN_MS;
        uv_timer_start(&L.retry, on_retry, L.backoff, 0);
        return;
    }
    if (L.state == LS_DOWN)
        link_connect();
}

static void link_ping(void)
{
    wsd_str out;
    wsd_chan_hdr h = {L.instance, ++L.ping_seq, L.edge, (unsigned)L.worker};

    wsd_str_init(&out, 256);
    if (wsd_chan_put_header(&out, &h) == 0 && wsd_link_put_empty(&out, WSD_LINK_PING) == 0)
        link_publish_(L.ping_ch, out.s, out.len, 1);
    wsd_str_free(&out);
}

static void on_tick(uv_timer_t *t)
{
    uint64_t now = uv_now(L.loop);

    (void)t;
    if ((L.state == LS_RESOLVING || L.state == LS_CONNECTING) &&
        now - L.attempt_at >= CONNECT_TIMEOUT_MS)
        link_fail("no answer within %u ms", CONNECT_TIMEOUT_MS);
    if (L.state == LS_UP) {
        if (now - L.last_echo >= LIVENESS_MS)
            link_fail("no answer for %llu ms", (unsigned long long)(now - L.last_echo));
        else
            link_ping();
    }
    L.role->tick();
}

static uint64_t random_instance(void)
{
    uint64_t v = 0;

    while (v == 0) {
        if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            v = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20 ^ (uint64_t)getpid() << 40;
        }
    }
    return v;
}

static void link_start(uv_loop_t *loop, wsd_cfgsnap *snap, int worker, const link_role *role)
{
    const wsd_config *cfg = &snap->cfg;
    const char *why;

    memset(&L, 0, sizeof L);
    L.loop = loop;
    L.snap = wsd_cfgsnap_ref(snap);
    L.cfg = cfg;
    L.role = role;
    L.worker = worker;
    L.edge = (unsigned)cfg->sharededge;
    L.instance = random_instance();
    if (wsd_redis_url_parse(cfg->redis, &L.url, &why) != 0) {
        /* (config.c checked it) */
        wsd_log(WSD_LOG_ERROR, "redis", "", "--redis: %s", why);
        return;
    }
    wsd_redis_url_where(&L.url, L.where, sizeof L.where);
    {
        char name[64];
        snprintf(name, sizeof name, "ping:%016llx", (unsigned long long)L.instance);
        set_channel(L.ping_ch, name);
    }
    uv_timer_init(loop, &L.retry);
    uv_timer_init(loop, &L.tick);
    uv_timer_init(loop, &L.stop_timer);
    uv_unref((uv_handle_t *)&L.retry);
    uv_unref((uv_handle_t *)&L.tick);
    uv_timer_start(&L.tick, on_tick, TICK_MS, TICK_MS);
    L.state = LS_DOWN;
    link_connect();
}

static void on_stop_timer(uv_timer_t *t)
{
    redisAsyncContext *a = L.pub;

    (void)t;
    L.pub = NULL;
    if (a)
        redisAsyncFree(a);        /* not flushed in time */
    stop_done();
}

static void stop_done(void)
{
    if (L.state != LS_STOPPING || L.gai)
        return;
    if (L.stop_timer_on) {
        uv_timer_stop(&L.stop_timer);
    }
    uv_close((uv_handle_t *)&L.stop_timer, NULL);
    L.stop_timer_on = 0;
    L.state = LS_OFF;
}

/* Shutdown: what is queued for Redis is flushed (1 s at most). */
static void link_stop(void)
{
    redisAsyncContext *b = L.sub;
    int flush = L.state == LS_UP && L.pub;

    if (L.state == LS_OFF || L.state == LS_STOPPING || !L.loop)
        return;
    L.state = LS_STOPPING;
    uv_close((uv_handle_t *)&L.retry, NULL);
    uv_close((uv_handle_t *)&L.tick, NULL);
    L.sub = NULL;
    if (b)
        redisAsyncFree(b);
    if (flush) {
        L.stop_timer_on = 1;
        uv_timer_start(&L.stop_timer, on_stop_timer, STOP_WAIT_MS, 0);
        redisAsyncDisconnect(L.pub);   /* may call on_disconnected at once */
        return;
    }
    if (L.pub) {
        redisAsyncContext *a = L.pub;
        L.pub = NULL;
        redisAsyncFree(a);
    }
    stop_done();
}

/* ============================================================ the program's wsd */

typedef struct omember omember;
typedef struct oedge oedge;
typedef struct ofan ofan;

/* One endpoint's fan on its core: what it frames goes to the endpoint's
 * channel. A member of its own ("") keeps it attached for good. */
struct ofan {
    wsd_fan fan;
    wsd_core *core;
    char *name;                  /* "/" or "/script" */
    char channel[CH_MAX];
    uint64_t seq;
    wsd_wholemsg whole;
    int attached;                /* its own member is in */
    ofan *next;
};

/* A client of an edge, as this wsd knows it. */
struct omember {
    char id[WSD_LINK_ID_MAX];
    oedge *edge;
    ofan *fan;
    unsigned seen : 1;           /* the running instance got its join record */
    unsigned confirmed : 1;      /* named since the edge's last SYNC began */
    omember *hnext;              /* the id table */
    omember *eprev, *enext;      /* its edge's list */
};

/* One edge process (an instance: a restarted edge is a new one). */
struct oedge {
    uint64_t instance, seq, last_seen;
    unsigned edge, worker;
    long n;
    int syncing;
    omember *members;
    oedge *next;
};

static struct {
    int on;
    char *dir;                   /* realpath(--dir) */
    char in_ch[CH_MAX], ctl_ch[CH_MAX];
    uint64_t ctl_seq;
    ofan *fans;
    oedge *edges;
    long nedges, nmembers;
    omember **table;
    size_t nbuckets;
    int stopping;
    unsigned long dropped_input;
} O;

static wsd_linkmsg M;             /* one message at a time (18 KB) */

static size_t id_hash(const char *id)
{
    size_t h = 1469598103934665603u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211u;
    return h;
}

static omember *member_find(const char *id)
{
    omember *m;

    if (!O.table)
        return NULL;
    for (m = O.table[id_hash(id) & (O.nbuckets - 1)]; m; m = m->hnext)
        if (strcmp(m->id, id) == 0)
            return m;
    return NULL;
}

static void table_grow(void)
{
    size_t nb = O.nbuckets ? O.nbuckets * 2 : 1024, i;
    omember **t = xcalloc(nb, sizeof *t);

    for (i = 0; i < O.nbuckets; i++) {
        omember *m, *next;
        for (m = O.table[i]; m; m = next) {
            size_t b = id_hash(m->id) & (nb - 1);
            next = m->hnext;
            m->hnext = t[b];
            t[b] = m;
        }
    }
    free(O.table);
    O.table = t;
    O.nbuckets = nb;
}

static omember *member_add(oedge *e, ofan *f, const char *id)
{
    omember *m = xcalloc(1, sizeof *m);
    size_t b;

    if ((size_t)O.nmembers >= O.nbuckets * 2)
        table_grow();
    snprintf(m->id, sizeof m->id, "%s", id);
    m->edge = e;
    m->fan = f;
    b = id_hash(id) & (O.nbuckets - 1);
    m->hnext = O.table[b];
    O.table[b] = m;
    m->enext = e->members;
    if (e->members)
        e->members->eprev = m;
    e->members = m;
    e->n++;
    O.nmembers++;
    return m;
}

static void member_remove(omember *m)
{
    omember **pp;

    for (pp = &O.table[id_hash(m->id) & (O.nbuckets - 1)]; *pp != m; pp = &(*pp)->hnext)
        ;
    *pp = m->hnext;
    if (m->eprev)
        m->eprev->enext = m->enext;
    else
        m->edge->members = m->enext;
    if (m->enext)
        m->enext->eprev = m->eprev;
    m->edge->n--;
    O.nmembers--;
    free(m);
}

/* m leaves the program (its leave record), code its close code. */
static void member_leave(omember *m, int code)
{
    ofan *f = m->fan;
    char id[WSD_LINK_ID_MAX];

    snprintf(id, sizeof id, "%s", m->id);
    member_remove(m);
    if (f->fan.core)
        wsd_core_leave(f->core, &f->fan, id, code);
}

static void origin_publish(const char *ch, uint64_t seq, wsd_str *msgs, int control)
{
    wsd_str out;
    wsd_chan_hdr h = {L.instance, seq, 0, (unsigned)L.worker};

    if (L.state != LS_UP)
        return;
    wsd_str_init(&out, WSD_CHAN_MAX);
    if (wsd_chan_put_header(&out, &h) == 0 && wsd_str_append(&out, msgs->s, msgs->len) == 0)
        link_publish_(ch, out.s, out.len, control);
    wsd_str_free(&out);
}

/* One message on f's channel (built by put into a scratch string). */
#define OF_SEND(f, call)                                                   \
    do {                                                                   \
        wsd_str m_;                                                        \
        wsd_str_init(&m_, WSD_LINK_MAX + 64);                              \
        if ((call) == 0)                                                   \
            origin_publish((f)->channel, ++(f)->seq, &m_, 0);              \
        wsd_str_free(&m_);                                                 \
    } while (0)

static ofan *fan_of(wsd_fan *f)
{
    return (ofan *)f;
}

static void of_frames(wsd_fan *wf, const uint8_t *p, size_t n, const char *const *to, size_t nto)
{
    ofan *f = fan_of(wf);
    wsd_str msgs;
    int rc;

    wsd_str_init(&msgs, WHOLE_MAX);
    rc = wsd_wholemsg_feed(&f->whole, p, n, &msgs);
    if (rc != 0)
        log_limited(NULL, WSD_LOG_ERROR, "A message of %s over %u bytes was not published "
                    "to Redis", f->name, WHOLE_MAX);
    if (msgs.len) {
        if (L.state == LS_UP) {
            OF_SEND(f, wsd_link_put_frames(&m_, f->name, to, nto, msgs.s, msgs.len));
        } else {
            f->seq++;              /* the edges will count it missed */
        }
    }
    wsd_str_free(&msgs);
}

static void of_close_member(wsd_fan *wf, const char *id, unsigned code, const char *reason)
{
    ofan *f = fan_of(wf);
    omember *m = member_find(id);

    if (!m || m->fan != f)
        return;
    OF_SEND(f, wsd_link_put_close(&m_, f->name, id, code, reason));
    member_leave(m, (int)code);
}

/* The core let its fans go: the program could not start (failed), or it
 * ended at shutdown. Remote members are no longer the program's. */
static void of_ended(wsd_fan *wf, int64_t status, int sig, int failed)
{
    ofan *f = fan_of(wf);
    oedge *e;

    f->attached = 0;
    for (e = O.edges; e; e = e->next) {
        omember *m, *next;
        for (m = e->members; m; m = next) {
            next = m->enext;
            if (m->fan == f)
                member_remove(m);
        }
    }
    if (failed && !O.stopping)
        OF_SEND(f, wsd_link_put_ended(&m_, f->name, status, sig, failed));
}

static void of_stdin_state(wsd_fan *wf, int full)
{
    (void)wf;
    (void)full;                   /* edges' messages are bounded here (ORIGIN_STDIN_MAX) */
}

static void of_started(wsd_fan *wf, int pid, int restarted)
{
    ofan *f = fan_of(wf);
    oedge *e;

    wsd_wholemsg_reset(&f->whole);
    if (!restarted)
        return;
    /* a new instance: it learns who is there from the edges' SYNC */
    for (e = O.edges; e; e = e->next) {
        omember *m;
        for (m = e->members; m; m = m->enext)
            if (m->fan == f)
                m->seen = 0;
    }
    OF_SEND(f, wsd_link_put_started(&m_, f->name, (unsigned)pid, 1));
}

static const wsd_fan_ops ofan_ops = {
    of_frames, of_close_member, of_ended, of_stdin_state, of_started,
};

/* Attaches f to its core for good (which starts the program if it can). */
static void ofan_attach(ofan *f)
{
    if (f->attached)
        return;
    f->attached = 1;
    wsd_core_join(f->core, &f->fan, "", NULL, 0);
    if (!f->fan.core)
        f->attached = 0;          /* it could not start (of_ended said so) */
}

/* The endpoint named `name` on the channels: "/" for COMMAND, or a script's
 * path under --dir (canonical: its realpath must be itself). NULL when no
 * such endpoint. */
static ofan *ofan_for(const char *name)
{
    const wsd_config *cfg = L.cfg;
    wsd_core_spec spec;
    char *argv[2], key[PATH_MAX + 1], *ckey;
    ofan *f;

    for (f = O.fans; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    memset(&spec, 0, sizeof spec);
    if (strcmp(name, "/") == 0 && !cfg->dir) {
        if (!cfg->command_path)
            return NULL;
        ckey = wsd_cfgsnap_core_key(L.snap->server.key, "");   /* shared.c's */
        spec.key = ckey;
        spec.file = cfg->command_path;
        spec.argv = cfg->argv;
        spec.script_name = "/";
    } else {
        char *real;
        struct stat st;
        int ok;
        size_t dl = O.dir ? strlen(O.dir) : 0, nl = strlen(name);
        if (!O.dir || name[0] != '/' || dl + nl >= sizeof key)
            return NULL;
        memcpy(key, O.dir, dl);
        memcpy(key + dl, name, nl + 1);
        real = realpath(key, NULL);
        ok = real && strcmp(real, key) == 0 && stat(real, &st) == 0 && S_ISREG(st.st_mode);
        free(real);
        if (!ok)
            return NULL;
        argv[0] = key;
        argv[1] = NULL;
        ckey = wsd_cfgsnap_core_key(L.snap->server.key, key);
        spec.key = ckey;
        spec.file = key;
        spec.argv = argv;
        spec.script_name = name;
        spec.script_file = key;
    }
    f = xcalloc(1, sizeof *f);
    f->fan.ops = &ofan_ops;
    f->core = wsd_core_get(L.loop, L.snap, cfg, &spec);
    free(ckey);
    f->name = xstrdup(name);
    set_channel(f->channel, name);
    wsd_wholemsg_init(&f->whole, WHOLE_MAX);
    f->next = O.fans;
    O.fans = f;
    return f;
}

static void edge_gone(oedge *e, const char *why)
{
    oedge **pp;

    if (e->n)
        wsd_log(WSD_LOG_INFO, "redis", "", "Edge %u (worker %u) %s: its %ld clients left", e->edge,
                e->worker, why, e->n);
    else
        wsd_log(WSD_LOG_DEBUG, "redis", "", "Edge %u (worker %u) %s", e->edge, e->worker, why);
    while (e->members)
        member_leave(e->members, 1006);
    for (pp = &O.edges; *pp != e; pp = &(*pp)->next)
        ;
    *pp = e->next;
    O.nedges--;
    free(e);
}

static void origin_rejoin(uint64_t instance)
{
    wsd_str m_;

    wsd_str_init(&m_, 256);
    if (wsd_link_put_rejoin(&m_, instance) == 0)
        origin_publish(O.ctl_ch, ++O.ctl_seq, &m_, 1);
    wsd_str_free(&m_);
}

static oedge *edge_for(const wsd_chan_hdr *h)
{
    oedge *e, *twin = NULL;
    uint64_t now = uv_now(L.loop);

    for (e = O.edges; e; e = e->next) {
        if (e->instance == h->instance)
            return e;
        if (e->edge == h->edge && e->worker == h->worker)
            twin = e;
    }
    if (h->edge == 0 || h->edge > 1023) {
        log_limited(NULL, WSD_LOG_ERROR, "A payload on %s from edge number %u dropped "
                    "(edges are 1 to 1023)", O.in_ch, h->edge);
        return NULL;
    }
    if (twin) {
        if (now - twin->last_seen < 3000)
            log_limited(NULL, WSD_LOG_ERROR, "Two live edges use --sharededge=%u "
                        "(worker %u): connection ids can collide; give each edge its own "
                        "number", h->edge, h->worker);
        edge_gone(twin, "was restarted");
    }
    if (O.nedges >= MAX_EDGES) {
        log_limited(NULL, WSD_LOG_ERROR, "Over %d edges: a payload on %s dropped", MAX_EDGES,
                    O.in_ch);
        return NULL;
    }
    e = xcalloc(1, sizeof *e);
    e->instance = h->instance;
    e->edge = h->edge;
    e->worker = h->worker;
    e->seq = h->seq - 1;
    e->next = O.edges;
    O.edges = e;
    O.nedges++;
    wsd_log(WSD_LOG_INFO, "redis", "", "Edge %u (worker %u) is here", e->edge, e->worker);
    origin_rejoin(e->instance);   /* its clients, whatever it said before */
    return e;
}

static void origin_join(oedge *e, const wsd_linkmsg *m)
{
    ofan *f;
    omember *om;
    const char *rec = (const char *)m->blob;
    size_t len = m->bloblen;

    if (!wsd_chan_id_ok(m->id) ||
        (len && (!L.cfg->lossless || !wsd_chan_joinrec_ok(m->blob, len, m->id)))) {
        log_limited(NULL, WSD_LOG_ERROR, "A malformed join from edge %u dropped", e->edge);
        return;
    }
    om = member_find(m->id);
    if (om) {
        if (om->edge != e) {
            log_limited(NULL, WSD_LOG_ERROR, "Connection id %s on edges %u and %u "
                        "(the same --sharededge number?): the second dropped", m->id,
                        om->edge->edge, e->edge);
            return;
        }
        om->confirmed = 1;
        if (!om->seen && om->fan->fan.core) {
            om->seen = 1;
            wsd_core_rejoin(om->fan->core, rec, len);
        }
        return;
    }
    f = ofan_for(m->key);
    if (!f) {
        log_limited(NULL, WSD_LOG_ERROR, "A join from edge %u for an unknown endpoint "
                    "dropped", e->edge);
        return;
    }
    if (O.nmembers >= MAX_REMOTE) {
        log_limited(NULL, WSD_LOG_ERROR, "Over %ld clients on edges: a join dropped",
                    MAX_REMOTE);
        return;
    }
    ofan_attach(f);
    if (!f->fan.core)
        return;                   /* the program cannot start: the edges were told */
    om = member_add(e, f, m->id);
    om->seen = om->confirmed = 1;
    wsd_core_join(f->core, &f->fan, m->id, len ? rec : NULL, len);
}

static void origin_dispatch(oedge *e, const wsd_linkmsg *m)
{
    omember *om;

    switch (m->type) {
    case WSD_LINK_JOIN:
        origin_join(e, m);
        break;
    case WSD_LINK_LEAVE:
        om = member_find(m->id);
        if (om && om->edge == e)
            member_leave(om, m->code >= 1000 && m->code <= 4999 ? (int)m->code : 1006);
        break;
    case WSD_LINK_INPUT:
        om = member_find(m->id);
        if (!om || om->edge != e || !om->fan->fan.core ||
            (m->opcode != WSD_WS_TEXT && m->opcode != WSD_WS_BINARY))
            break;
        if (wsd_core_stdin_queued(om->fan->core) > ORIGIN_STDIN_MAX) {
            O.dropped_input++;
            log_limited(NULL, WSD_LOG_ERROR, "The program does not read its stdin: "
                        "messages from edges dropped (%lu so far)", O.dropped_input);
            break;
        }
        wsd_core_input(om->fan->core, om->id, m->opcode, m->blob, m->bloblen);
        break;
    case WSD_LINK_SYNC:
        if (!m->end) {
            for (om = e->members; om; om = om->enext)
                om->confirmed = 0;
            e->syncing = 1;
        } else if (e->syncing) {
            omember *next;
            e->syncing = 0;
            for (om = e->members; om; om = next) {
                next = om->enext;
                if (!om->confirmed)
                    member_leave(om, 1006);
            }
        }
        break;
    case WSD_LINK_BYE:
        edge_gone(e, "shut down");
        break;
    default:
        break;                    /* BEAT: alive, noted by the caller */
    }
}

static void origin_message(const char *ch, size_t chlen, const uint8_t *p, size_t n)
{
    wsd_chan_hdr h;
    const char *why;
    const uint8_t *body;
    size_t off = WSD_CHAN_HEADER, len;
    oedge *e;

    if (chlen != strlen(O.in_ch) || memcmp(ch, O.in_ch, chlen) != 0)
        return;
    if (wsd_chan_check(p, n, &h, &why) != 0) {
        log_limited(why, WSD_LOG_ERROR, "A payload on %s dropped: %s (%zu bytes)", O.in_ch,
                    why, n);
        return;
    }
    while (wsd_chan_next(p, n, &off, &body, &len)) {
        if (wsd_link_parse(body, len, &M) != 0 || M.type > WSD_LINK_BYE) {
            log_limited(NULL, WSD_LOG_ERROR, "A payload on %s dropped: %s", O.in_ch,
                        "a malformed message, or one only the program's wsd sends");
            return;
        }
    }
    off = WSD_CHAN_HEADER;
    e = edge_for(&h);
    if (!e)
        return;
    if (h.seq <= e->seq) {
        log_limited(NULL, WSD_LOG_ERROR, "A payload from edge %u dropped: sequence %llu "
                    "after %llu", e->edge, (unsigned long long)h.seq,
                    (unsigned long long)e->seq);
        return;
    }
    if (h.seq > e->seq + 1)
        wsd_log(WSD_LOG_DEBUG, "redis", "", "%llu payloads from edge %u missed",
                (unsigned long long)(h.seq - e->seq - 1), e->edge);
    e->seq = h.seq;
    e->last_seen = uv_now(L.loop);
    while (wsd_chan_next(p, n, &off, &body, &len)) {
        if (wsd_link_parse(body, len, &M) != 0)
            continue;             /* (checked above) */
        origin_dispatch(e, &M);
        if (M.type == WSD_LINK_BYE)
            return;               /* e is gone */
    }
}

static void origin_up(void)
{
    oedge *e;
    uint64_t now = uv_now(L.loop);

    for (e = O.edges; e; e = e->next)
        e->last_seen = now;       /* they may have spoken while we were away */
    origin_rejoin(0);             /* every edge: SYNC */
}

static void origin_down(void)
{
}

static void origin_subscribe(void)
{
    link_subscribe(O.in_ch);
}

static void origin_subscribed(const char *ch, size_t n)
{
    (void)ch;
    (void)n;
}

static void origin_tick(void)
{
    uint64_t now = uv_now(L.loop);
    oedge *e, *next;

    if (L.state != LS_UP)
        return;
    for (e = O.edges; e; e = next) {
        next = e->next;
        if (now - e->last_seen >= EDGE_TIMEOUT_MS)
            edge_gone(e, "silent for 5 s");
    }
}

static const link_role origin_role = {
    origin_up, origin_down, origin_subscribe, origin_subscribed, origin_message, origin_tick,
    NULL, NULL,
};

void wsd_redis_origin_start(uv_loop_t *loop, wsd_cfgsnap *snap, int worker)
{
    const wsd_config *cfg = &snap->cfg;

    if (!cfg->redis || cfg->sharededge)
        return;
    memset(&O, 0, sizeof O);
    O.on = 1;
    if (cfg->dir)
        O.dir = realpath(cfg->dir, NULL);
    link_start(loop, snap, worker, &origin_role);
    set_channel(O.in_ch, "in");
    set_channel(O.ctl_ch, "ctl");
    if (!cfg->dir && cfg->command_path) {
        ofan *f = ofan_for("/");
        if (f)
            ofan_attach(f);
    }
}

void wsd_redis_origin_stop(void)
{
    if (!O.on)
        return;
    O.stopping = 1;
    link_stop();
}

static void origin_free(void)
{
    ofan *f;

    while (O.edges) {
        oedge *e = O.edges;
        O.edges = e->next;
        while (e->members)
            member_leave(e->members, 1001);
        free(e);
    }
    while ((f = O.fans)) {
        O.fans = f->next;
        if (f->fan.core)
            wsd_core_leave(f->core, &f->fan, "", 1001);   /* its own member */
        wsd_wholemsg_free(&f->whole);
        free(f->name);
        free(f);
    }
    free(O.table);
    free(O.dir);
    memset(&O, 0, sizeof O);
}

/* ============================================================ an edge */

typedef struct esub esub;

/* One endpoint this edge has had clients for (subscribed for good). */
struct esub {
    char *key;                   /* shared.c's */
    char *name;                  /* on the channels */
    char channel[CH_MAX];
    int state;                   /* 0 not subscribed, 1 subscribing, 2 subscribed */
    uint64_t sub_at;             /* when SUBSCRIBE was sent */
    uint64_t instance, seq;      /* the last payload taken */
    wsd_str pend;                /* frames for all members taken in this read (flushed
                                  * after it: one write per member, not per payload) */
    esub *next;
};

static struct {
    int on;
    const wsd_redis_edge_handler *h;
    char *dir;
    char in_ch[CH_MAX], ctl_ch[CH_MAX];
    esub *subs;
    wsd_str batch;               /* the payload for P:in being built */
    int batch_state;             /* it holds a JOIN, LEAVE or SYNC */
    uint64_t seq;
    uv_timer_t flush;
    int full;                    /* the members' reads are held */
    int need_sync;               /* a JOIN or LEAVE was lost: SYNC when possible */
    unsigned long dropped_input;
} E;

static esub *esub_find_key(const char *key)
{
    esub *s;
    for (s = E.subs; s; s = s->next)
        if (strcmp(s->key, key) == 0)
            return s;
    return NULL;
}

static esub *esub_for(const char *key)
{
    esub *s = esub_find_key(key);
    const char *name, *script;
    size_t dl;

    if (s)
        return s;
    if (!(script = wsd_cfgsnap_core_key_split(key, NULL, 0)))
        return NULL;
    if (!*script) {
        name = "/";
    } else {
        dl = E.dir ? strlen(E.dir) : 0;
        if (!E.dir || strncmp(script, E.dir, dl) != 0 || script[dl] != '/')
            return NULL;
        name = script + dl;
    }
    if (strlen(name) + strlen(L.cfg->redischannel) + 2 > CH_MAX)
        return NULL;
    s = xcalloc(1, sizeof *s);
    s->key = xstrdup(key);
    s->name = xstrdup(name);
    set_channel(s->channel, name);
    s->next = E.subs;
    E.subs = s;
    return s;
}

static void edge_flush(void)
{
    if (!E.batch.len)
        return;
    if (link_publish(E.in_ch, E.batch.s, E.batch.len) != 0 && E.batch_state)
        E.need_sync = 1;
    wsd_str_free(&E.batch);
    E.batch_state = 0;
}

static void on_flush(uv_timer_t *t)
{
    (void)t;
    edge_flush();
}

/* The payload being built, with room for `need` more bytes (flushed first
 * when it would grow past BATCH_SOFT). NULL while the link is not up. */
static wsd_str *edge_batch(size_t need)
{
    wsd_chan_hdr h;

    if (L.state != LS_UP)
        return NULL;
    if (E.batch.len && E.batch.len + need > BATCH_SOFT)
        edge_flush();
    if (!E.batch.len) {
        h.instance = L.instance;
        h.seq = ++E.seq;
        h.edge = L.edge;
        h.worker = (unsigned)L.worker;
        wsd_str_init(&E.batch, WSD_CHAN_MAX);
        wsd_chan_put_header(&E.batch, &h);
        uv_timer_start(&E.flush, on_flush, 0, 0);   /* at the next loop turn */
    }
    return &E.batch;
}

static void edge_check_full(void)
{
    size_t waiting = L.pub_out + E.batch.len;

    if (!E.full && waiting >= EDGE_HIGH) {
        E.full = 1;
        E.h->backpressure(1);
    } else if (E.full && waiting < EDGE_LOW) {
        E.full = 0;
        E.h->backpressure(0);
    }
}

static void edge_sync(void)
{
    wsd_str *b;

    if (L.state != LS_UP)
        return;
    E.need_sync = 0;
    b = edge_batch(64);
    if (b)
        wsd_link_put_sync(b, 0);
    E.batch_state = 1;
    E.h->resync();
    b = edge_batch(64);
    if (b)
        wsd_link_put_sync(b, 1);
    E.batch_state = 1;
}

static void edge_send_join(const esub *s, const char *id, const char *joinrec, size_t len)
{
    size_t need = 64 + strlen(s->name) + len;
    wsd_str *b = edge_batch(need);

    if (!b) {
        E.need_sync = 1;
        return;
    }
    if (wsd_link_put_join(b, s->name, "", "", id, joinrec, len) != 0) {
        log_limited(NULL, WSD_LOG_ERROR, "A join record of %zu bytes is too large for Redis",
                    len);
        return;
    }
    E.batch_state = 1;
}

int wsd_redis_edge_join(const char *key, const char *id, const char *joinrec, size_t len)
{
    esub *s = esub_for(key);

    if (!s)
        return 0;
    edge_send_join(s, id, joinrec, len);
    if (s->state == 2)
        return 0;
    if (link_has_sub()) {
        if (s->state == 0) {
            s->state = 1;
            s->sub_at = uv_now(L.loop);
            link_subscribe(s->channel);
        }
        return 1;
    }
    return 0;                     /* no Redis: it waits for it as every client does */
}

void wsd_redis_edge_rejoin(const char *key, const char *id, const char *joinrec, size_t len)
{
    esub *s = esub_for(key);

    if (s)
        edge_send_join(s, id, joinrec, len);
}

void wsd_redis_edge_leave(const char *key, const char *id, int code)
{
    esub *s = esub_find_key(key);
    wsd_str *b;

    if (!s)
        return;
    b = edge_batch(64 + strlen(s->name));
    if (!b) {
        E.need_sync = 1;
        return;
    }
    wsd_link_put_leave(b, s->name, id, (unsigned)code);
    E.batch_state = 1;
}

void wsd_redis_edge_input(const char *key, const char *id, int opcode, const void *p, size_t n)
{
    esub *s = esub_find_key(key);
    wsd_str *b;

    if (!s)
        return;
    b = edge_batch(64 + strlen(s->name) + n);
    if (!b || wsd_link_put_input(b, s->name, id, opcode, p, n) != 0) {
        E.dropped_input++;
        log_limited(NULL, WSD_LOG_ERROR, "A client's message of %zu bytes dropped (%s)", n,
                    b ? "too large for Redis" : "Redis unreachable");
        return;
    }
    edge_check_full();
}

int wsd_redis_edge_full(void)
{
    return E.full;
}

/* Whether message m (parsed) may be taken from s's channel: the frames an
 * edge sends its clients, the ids, codes and reasons, all checked first. */
static const char *edge_refuses(const esub *s, const wsd_linkmsg *m)
{
    size_t i;

    if (strcmp(m->key, s->name) != 0)
        return "a message for another endpoint";
    switch (m->type) {
    case WSD_LINK_FRAMES:
        for (i = 0; i < m->nto; i++)
            if (!wsd_chan_id_ok(m->to[i]))
                return "frames with a bad recipient";
        if (wsd_chan_frames_ok(m->blob, m->bloblen) != 0)
            return "malformed frames";
        break;
    case WSD_LINK_CLOSE:
        if (!wsd_chan_id_ok(m->id) || !wsd_ws_close_code_valid(m->code) ||
            !wsd_utf8_valid((const uint8_t *)m->reason, strlen(m->reason)))
            return "a malformed close";
        break;
    case WSD_LINK_ENDED:
    case WSD_LINK_STARTED:
        break;
    default:
        return "a message of a kind the program's wsd does not send";
    }
    return NULL;
}

/* The frames for all members held for s since the read began go out. */
static void edge_flush_frames(esub *s)
{
    if (!s->pend.len)
        return;
    E.h->frames(s->key, (const uint8_t *)s->pend.s, s->pend.len, NULL, 0);
    if (s->pend.cap > 256 * 1024)
        wsd_str_free(&s->pend);   /* a big one: not kept */
    else
        wsd_str_truncate(&s->pend, 0);
}

static void edge_read_done(void)
{
    esub *s;

    for (s = E.subs; s; s = s->next)
        edge_flush_frames(s);
}

static void edge_dispatch(esub *s, const wsd_linkmsg *m)
{
    const char *to[WSD_LINK_MAX_TO];
    size_t i;

    if (m->type != WSD_LINK_FRAMES || m->nto)
        edge_flush_frames(s);     /* what came before goes first */
    switch (m->type) {
    case WSD_LINK_FRAMES:
        if (!m->nto) {
            /* to everyone: with the others of this read, for one write per
             * member (a wsd reading a busy program's pipe batches alike) */
            if (!s->pend.s)
                wsd_str_init(&s->pend, (size_t)-1 / 2);
            wsd_str_append(&s->pend, (const char *)m->blob, m->bloblen);
            break;
        }
        for (i = 0; i < m->nto; i++)
            to[i] = m->to[i];
        E.h->frames(s->key, m->blob, m->bloblen, to, m->nto);
        break;
    case WSD_LINK_CLOSE:
        E.h->close_member(s->key, m->id, m->code, m->reason);
        break;
    case WSD_LINK_ENDED:
        if (m->failed)
            E.h->ended(s->key, 1);
        break;
    case WSD_LINK_STARTED:
        if (m->restarted)
            edge_sync();          /* the new instance learns who is here */
        break;
    default:
        break;
    }
}

static void edge_message(const char *ch, size_t chlen, const uint8_t *p, size_t n)
{
    wsd_chan_hdr h;
    const char *why;
    const uint8_t *body;
    size_t off = WSD_CHAN_HEADER, len;
    esub *s;

    if (chlen == strlen(E.ctl_ch) && memcmp(ch, E.ctl_ch, chlen) == 0) {
        if (wsd_chan_check(p, n, &h, &why) != 0) {
            log_limited(why, WSD_LOG_ERROR, "A payload on %s dropped: %s", E.ctl_ch, why);
            return;
        }
        while (wsd_chan_next(p, n, &off, &body, &len))
            if (wsd_link_parse(body, len, &M) == 0 && M.type == WSD_LINK_REJOIN &&
                (M.instance == 0 || M.instance == L.instance))
                edge_sync();
        return;
    }
    for (s = E.subs; s; s = s->next)
        if (chlen == strlen(s->channel) && memcmp(ch, s->channel, chlen) == 0)
            break;
    if (!s)
        return;
    if (wsd_chan_check(p, n, &h, &why) != 0) {
        log_limited(why, WSD_LOG_ERROR, "A payload on %s dropped: %s (%zu bytes)", s->channel, why,
                    n);
        return;
    }
    if (h.edge != 0) {
        log_limited(NULL, WSD_LOG_ERROR, "A payload on %s from edge %u dropped (only the program's "
                    "wsd publishes there)", s->channel, h.edge);
        return;
    }
    /* all of it is checked before any of it is taken */
    while (wsd_chan_next(p, n, &off, &body, &len)) {
        if (wsd_link_parse(body, len, &M) != 0)
            why = "a malformed message";
        else
            why = edge_refuses(s, &M);
        if (why) {
            log_limited(why, WSD_LOG_ERROR, "A payload on %s dropped: %s", s->channel, why);
            return;
        }
    }
    if (h.instance != s->instance) {
        if (s->instance)
            wsd_log(WSD_LOG_INFO, "redis", "", "%s: the program's wsd is a new instance",
                    s->channel);
        s->instance = h.instance;
    } else if (h.seq <= s->seq) {
        log_limited(NULL, WSD_LOG_ERROR, "A payload on %s dropped: sequence %llu after %llu (twice or "
                    "out of order)", s->channel, (unsigned long long)h.seq,
                    (unsigned long long)s->seq);
        return;
    } else if (h.seq > s->seq + 1) {
        log_limited(NULL, WSD_LOG_INFO, "%llu payloads on %s missed (published while this edge or the "
                    "program's wsd was away from Redis)",
                    (unsigned long long)(h.seq - s->seq - 1), s->channel);
    }
    s->seq = h.seq;
    off = WSD_CHAN_HEADER;
    while (wsd_chan_next(p, n, &off, &body, &len))
        if (wsd_link_parse(body, len, &M) == 0)
            edge_dispatch(s, &M);
}

static void edge_up(void)
{
    if (E.dropped_input)
        wsd_log(WSD_LOG_INFO, "redis", "", "%lu clients' messages were dropped while Redis was "
                "unreachable", E.dropped_input);
    E.dropped_input = 0;
    edge_sync();
}

static void edge_down(void)
{
    esub *s;

    wsd_str_free(&E.batch);
    E.batch_state = 0;
    E.need_sync = 1;
    for (s = E.subs; s; s = s->next) {
        int was = s->state;
        s->state = 0;
        if (was == 1)
            E.h->subscribed(s->key);   /* its waiting clients get their 101 */
    }
    if (E.full) {
        E.full = 0;
        E.h->backpressure(0);
    }
}

static void edge_subscribe(void)
{
    esub *s;

    link_subscribe(E.ctl_ch);
    for (s = E.subs; s; s = s->next) {
        s->state = 1;
        s->sub_at = uv_now(L.loop);
        link_subscribe(s->channel);
    }
}

static void edge_subscribed(const char *ch, size_t n)
{
    esub *s;

    for (s = E.subs; s; s = s->next) {
        if (n == strlen(s->channel) && memcmp(ch, s->channel, n) == 0) {
            if (s->state != 2) {
                s->state = 2;
                E.h->subscribed(s->key);
            }
            return;
        }
    }
}

static void edge_tick(void)
{
    wsd_str *b;
    esub *s;

    /* a subscription Redis is slow to confirm: its waiting clients get
     * their 101 anyway (the handshake's 10 s must not run out), and their
     * messages once it is confirmed */
    for (s = E.subs; s; s = s->next)
        if (s->state == 1 && uv_now(L.loop) - s->sub_at >= SUBSCRIBE_WAIT_MS)
            E.h->subscribed(s->key);
    if (L.state != LS_UP)
        return;
    if (E.need_sync && L.pub_out < EDGE_LOW)
        edge_sync();
    b = edge_batch(16);
    if (b)
        wsd_link_put_empty(b, WSD_LINK_BEAT);
}

static void edge_drained(void)
{
    if (E.full)
        edge_check_full();
}

static const link_role edge_role = {
    edge_up, edge_down, edge_subscribe, edge_subscribed, edge_message, edge_tick, edge_drained,
    edge_read_done,
};

int wsd_redis_edge_start(uv_loop_t *loop, wsd_cfgsnap *snap, int worker,
                         const wsd_redis_edge_handler *h)
{
    const wsd_config *cfg = &snap->cfg;

    if (!cfg->redis || !cfg->sharededge)
        return -1;
    memset(&E, 0, sizeof E);
    E.on = 1;
    E.h = h;
    if (cfg->dir)
        E.dir = realpath(cfg->dir, NULL);
    uv_timer_init(loop, &E.flush);
    link_start(loop, snap, worker, &edge_role);
    set_channel(E.in_ch, "in");
    set_channel(E.ctl_ch, "ctl");
    return 0;
}

void wsd_redis_edge_stop(void)
{
    wsd_str *b;

    if (!E.on || L.state == LS_STOPPING || L.state == LS_OFF)
        return;
    b = edge_batch(16);
    if (b)
        wsd_link_put_empty(b, WSD_LINK_BYE);
    edge_flush();
    uv_close((uv_handle_t *)&E.flush, NULL);
    link_stop();
}

static void edge_free(void)
{
    while (E.subs) {
        esub *s = E.subs;
        E.subs = s->next;
        free(s->key);
        free(s->name);
        wsd_str_free(&s->pend);
        free(s);
    }
    wsd_str_free(&E.batch);
    free(E.dir);
    memset(&E, 0, sizeof E);
}

void wsd_redis_free(void)
{
    if (O.on)
        origin_free();
    if (E.on)
        edge_free();
    wsd_cfgsnap_unref(L.snap);
    L.snap = NULL;
}
