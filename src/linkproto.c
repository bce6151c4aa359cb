/* linkproto.c — worker ↔ hub messages (see linkproto.h). */
#include "linkproto.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "ws.h"

/* ---- encoding ---------------------------------------------------------- */

static int put_u8(wsd_str *o, unsigned v)
{
    char b = (char)(v & 0xff);
    return wsd_str_append(o, &b, 1);
}

static int put_u16(wsd_str *o, unsigned v)
{
    char b[2] = {(char)(v >> 8 & 0xff), (char)(v & 0xff)};
    return wsd_str_append(o, b, 2);
}

static int put_u32(wsd_str *o, uint32_t v)
{
    char b[4] = {(char)(v >> 24), (char)(v >> 16 & 0xff), (char)(v >> 8 & 0xff), (char)(v & 0xff)};
    return wsd_str_append(o, b, 4);
}

static int put_u64(wsd_str *o, uint64_t v)
{
    return put_u32(o, (uint32_t)(v >> 32)) | put_u32(o, (uint32_t)v);
}

static int put_str(wsd_str *o, const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= max)
        return -1;
    return put_u16(o, (unsigned)n) | wsd_str_append(o, s ? s : "", n);
}

static int put_blob(wsd_str *o, const void *p, size_t n)
{
    if (n > WSD_LINK_MAX)
        return -1;
    return put_u32(o, (uint32_t)n) | wsd_str_append(o, p ? p : "", n);
}

/* Starts a message (length filled in by finish). */
static size_t begin(wsd_str *o, int type, const char *key, int *rc)
{
    size_t at = o->len;
    *rc = put_u32(o, 0) | put_u8(o, (unsigned)type) | put_str(o, key, WSD_LINK_KEY_MAX);
    return at;
}

static int finish(wsd_str *o, size_t at, int rc)
{
    size_t n;
    if (rc || !o->s || o->len - at - 4 > WSD_LINK_MAX) {
        if (o->s)
            wsd_str_truncate(o, at);
        return -1;
    }
    n = o->len - at - 4;
    o->s[at] = (char)(n >> 24);
    o->s[at + 1] = (char)(n >> 16 & 0xff);
    o->s[at + 2] = (char)(n >> 8 & 0xff);
    o->s[at + 3] = (char)(n & 0xff);
    return 0;
}

int wsd_link_put_join(wsd_str *out, const char *key, const char *file, const char *script_name,
                      const char *id, const void *joinrec, size_t len)
{
    int rc;
    size_t at = begin(out, WSD_LINK_JOIN, key, &rc);
    rc |= put_str(out, file, WSD_LINK_KEY_MAX) | put_str(out, script_name, WSD_LINK_KEY_MAX) |
          put_str(out, id, WSD_LINK_ID_MAX) | put_blob(out, joinrec, len);
    return finish(out, at, rc);
}

int wsd_link_put_leave(wsd_str *out, const char *key, const char *id, unsigned code)
{
    int rc;
    size_t at = begin(out, WSD_LINK_LEAVE, key, &rc);
    rc |= put_str(out, id, WSD_LINK_ID_MAX) | put_u16(out, code);
    return finish(out, at, rc);
}

int wsd_link_put_input(wsd_str *out, const char *key, const char *id, int opcode, const void *p,
                       size_t n)
{
    int rc;
    size_t at = begin(out, WSD_LINK_INPUT, key, &rc);
    rc |= put_str(out, id, WSD_LINK_ID_MAX) | put_u8(out, (unsigned)opcode) | put_blob(out, p, n);
    return finish(out, at, rc);
}

int wsd_link_put_frames(wsd_str *out, const char *key, const char *const *to, size_t nto,
                        const void *frames, size_t n)
{
    int rc;
    size_t at = begin(out, WSD_LINK_FRAMES, key, &rc), i;
    if (nto > WSD_LINK_MAX_TO)
        rc = -1;
    rc |= put_u16(out, (unsigned)nto);
    for (i = 0; i < nto && !rc; i++)
        rc |= put_str(out, to[i], WSD_LINK_ID_MAX);
    rc |= put_blob(out, frames, n);
    return finish(out, at, rc);
}

int wsd_link_put_close(wsd_str *out, const char *key, const char *id, unsigned code,
                       const char *reason)
{
    int rc;
    size_t at = begin(out, WSD_LINK_CLOSE, key, &rc);
    rc |= put_str(out, id, WSD_LINK_ID_MAX) | put_u16(out, code) | put_str(out, reason, 124);
    return finish(out, at, rc);
}

int wsd_link_put_ended(wsd_str *out, const char *key, int64_t status, int sig, int failed)
{
    int rc;
    size_t at = begin(out, WSD_LINK_ENDED, key, &rc);
    rc |= put_u64(out, (uint64_t)status) | put_u32(out, (uint32_t)sig) |
          put_u8(out, failed ? 1 : 0);
    return finish(out, at, rc);
}

int wsd_link_put_stdin(wsd_str *out, const char *key, int full)
{
    int rc;
    size_t at = begin(out, WSD_LINK_STDIN, key, &rc);
    rc |= put_u8(out, full ? 1 : 0);
    return finish(out, at, rc);
}

int wsd_link_put_started(wsd_str *out, const char *key, unsigned pid, int restarted)
{
    int rc;
    size_t at = begin(out, WSD_LINK_STARTED, key, &rc);
    rc |= put_u32(out, pid) | put_u8(out, restarted ? 1 : 0);
    return finish(out, at, rc);
}

int wsd_link_put_joined(wsd_str *out, const char *key, const char *id, unsigned pid, int failed)
{
    int rc;
    size_t at = begin(out, WSD_LINK_JOINED, key, &rc);
    rc |= put_str(out, id, WSD_LINK_ID_MAX) | put_u32(out, pid) | put_u8(out, failed ? 1 : 0);
    return finish(out, at, rc);
}

int wsd_link_put_empty(wsd_str *out, int type)
{
    int rc;
    size_t at = begin(out, type, "", &rc);
    return finish(out, at, rc);
}

int wsd_link_put_sync(wsd_str *out, int end)
{
    int rc;
    size_t at = begin(out, WSD_LINK_SYNC, "", &rc);
    rc |= put_u8(out, end ? 1 : 0);
    return finish(out, at, rc);
}

int wsd_link_put_rejoin(wsd_str *out, uint64_t instance)
{
    int rc;
    size_t at = begin(out, WSD_LINK_REJOIN, "", &rc);
    rc |= put_u64(out, instance);
    return finish(out, at, rc);
}

/* ---- parsing ----------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t n, at;
    int bad;
} cursor;

static uint64_t get(cursor *c, size_t bytes)
{
    uint64_t v = 0;
    size_t i;
    if (c->bad || c->n - c->at < bytes) {
        c->bad = 1;
        return 0;
    }
    for (i = 0; i < bytes; i++)
        v = v << 8 | c->p[c->at + i];
    c->at += bytes;
    return v;
}

/* A string into out[cap]: NUL-terminated, no NUL inside. */
static void get_str(cursor *c, char *out, size_t cap)
{
    size_t n = (size_t)get(c, 2);
    if (c->bad || n >= cap || c->n - c->at < n || memchr(c->p + c->at, '\0', n)) {
        c->bad = 1;
        out[0] = '\0';
        return;
    }
    memcpy(out, c->p + c->at, n);
    out[n] = '\0';
    c->at += n;
}

static void get_blob(cursor *c, const uint8_t **p, size_t *n)
{
    size_t len = (size_t)get(c, 4);
    if (c->bad || c->n - c->at < len) {
        c->bad = 1;
        *p = NULL;
        *n = 0;
        return;
    }
    *p = c->p + c->at;
    *n = len;
    c->at += len;
}

int wsd_link_parse(const uint8_t *body, size_t n, wsd_linkmsg *m)
{
    cursor c = {body, n, 0, 0};
    size_t i;

    m->type = (int)get(&c, 1);
    get_str(&c, m->key, sizeof m->key);
    m->blob = NULL;
    m->bloblen = 0;
    m->nto = 0;
    switch (m->type) {
    case WSD_LINK_JOIN:
        get_str(&c, m->file, sizeof m->file);
        get_str(&c, m->script_name, sizeof m->script_name);
        get_str(&c, m->id, sizeof m->id);
        get_blob(&c, &m->blob, &m->bloblen);
        break;
    case WSD_LINK_LEAVE:
        get_str(&c, m->id, sizeof m->id);
        m->code = (unsigned)get(&c, 2);
        break;
    case WSD_LINK_INPUT:
        get_str(&c, m->id, sizeof m->id);
        m->opcode = (int)get(&c, 1);
        get_blob(&c, &m->blob, &m->bloblen);
        break;
    case WSD_LINK_FRAMES:
        m->nto = (size_t)get(&c, 2);
        if (m->nto > WSD_LINK_MAX_TO)
            return -1;
        for (i = 0; i < m->nto; i++)
            get_str(&c, m->to[i], sizeof m->to[i]);
        get_blob(&c, &m->blob, &m->bloblen);
        break;
    case WSD_LINK_CLOSE:
        get_str(&c, m->id, sizeof m->id);
        m->code = (unsigned)get(&c, 2);
        get_str(&c, m->reason, sizeof m->reason);
        break;
    case WSD_LINK_ENDED:
        m->status = (int64_t)get(&c, 8);
        m->sig = (int)(int32_t)get(&c, 4);
        m->failed = (int)get(&c, 1);
        break;
    case WSD_LINK_STDIN:
        m->full = (int)get(&c, 1);
        break;
    case WSD_LINK_STARTED:
        m->pid = (unsigned)get(&c, 4);
        m->restarted = (int)get(&c, 1);
        break;
    case WSD_LINK_JOINED:
        get_str(&c, m->id, sizeof m->id);
        m->pid = (unsigned)get(&c, 4);
        m->failed = (int)get(&c, 1);
        break;
    case WSD_LINK_BEAT:
    case WSD_LINK_BYE:
    case WSD_LINK_PING:
        break;
    case WSD_LINK_SYNC:
        m->end = (int)get(&c, 1);
        if (m->end > 1)
            return -1;
        break;
    case WSD_LINK_REJOIN:
        m->instance = get(&c, 8);
        break;
    default:
        return -1;
    }
    return c.bad || c.at != n ? -1 : 0;
}

/* ---- the stream reader --------------------------------------------------- */

void wsd_link_reader_init(wsd_link_reader *r)
{
    memset(r, 0, sizeof *r);
}

void wsd_link_reader_free(wsd_link_reader *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}

int wsd_link_reader_feed(wsd_link_reader *r, const void *p, size_t n)
{
    if (r->broken)
        return -1;
    if (r->taken) {                       /* drop what was handed out */
        memmove(r->buf, r->buf + r->taken, r->len - r->taken);
        r->len -= r->taken;
        r->taken = 0;
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 65536;
        while (cap < r->len + n)
            cap *= 2;
        r->buf = xrealloc(r->buf, cap);
        r->cap = cap;
    }
    if (n)
        memcpy(r->buf + r->len, p, n);
    r->len += n;
    return 0;
}

int wsd_link_reader_next(wsd_link_reader *r, const uint8_t **body, size_t *n)
{
    size_t have = r->len - r->taken, len;
    const uint8_t *b;

    if (r->broken)
        return -1;
    if (have < 4)
        return 0;
    b = r->buf + r->taken;
    len = (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
    if (len > WSD_LINK_MAX || len == 0) {
        r->broken = 1;
        return -1;
    }
    if (have - 4 < len)
        return 0;
    *body = b + 4;
    *n = len;
    r->taken += 4 + len;
    return 1;
}

/* ---- Redis channel payloads ------------------------------------------------ */

int wsd_chan_put_header(wsd_str *out, const wsd_chan_hdr *h)
{
    return wsd_str_append(out, "WSD", 3) | put_u8(out, WSD_CHAN_VERSION) |
           put_u64(out, h->instance) | put_u64(out, h->seq) | put_u16(out, h->edge) |
           put_u16(out, h->worker);
}

int wsd_chan_check(const uint8_t *p, size_t n, wsd_chan_hdr *h, const char **why)
{
    cursor c = {p, n, 0, 0};
    size_t off, count = 0;

    if (n > WSD_CHAN_MAX) {
        *why = "payload too large";
        return -1;
    }
    if (n < WSD_CHAN_HEADER || memcmp(p, "WSD", 3) != 0) {
        *why = "not a wsd payload";
        return -1;
    }
    if (p[3] != WSD_CHAN_VERSION) {
        *why = "unknown payload version";
        return -1;
    }
    c.at = 4;
    h->instance = get(&c, 8);
    h->seq = get(&c, 8);
    h->edge = (unsigned)get(&c, 2);
    h->worker = (unsigned)get(&c, 2);
    if (h->instance == 0 || h->seq == 0) {
        *why = "instance or sequence number 0";
        return -1;
    }
    for (off = WSD_CHAN_HEADER; off < n; count++) {
        size_t len;
        if (n - off < 4) {
            *why = "truncated message length";
            return -1;
        }
        len = (size_t)p[off] << 24 | (size_t)p[off + 1] << 16 | (size_t)p[off + 2] << 8 |
              p[off + 3];
        if (len == 0 || len > WSD_LINK_MAX || len > n - off - 4) {
            *why = "bad message length";
            return -1;
        }
        off += 4 + len;
    }
    if (count == 0) {
        *why = "no message";
        return -1;
    }
    return 0;
}

int wsd_chan_next(const uint8_t *p, size_t n, size_t *off, const uint8_t **body, size_t *len)
{
    size_t o = *off, l;

    if (o + 4 > n)
        return 0;
    l = (size_t)p[o] << 24 | (size_t)p[o + 1] << 16 | (size_t)p[o + 2] << 8 | p[o + 3];
    if (l > n - o - 4)
        return 0;                          /* (checked by wsd_chan_check) */
    *body = p + o + 4;
    *len = l;
    *off = o + 4 + l;
    return 1;
}

int wsd_chan_frames_ok(const uint8_t *p, size_t n)
{
    size_t off = 0;
    int open = 0, text = 0;
    uint32_t st = WSD_UTF8_ACCEPT;

    while (off < n) {
        uint64_t len;
        size_t h;
        int opcode, fin;
        if (wsd_ws_frame_head(p + off, n - off, &fin, &opcode, &len, &h) != 0 ||
            (p[off] & 0x70))
            return -1;                     /* truncated, masked, or an RSV bit */
        if (opcode == WSD_WS_CONT) {
            if (!open)
                return -1;
        } else if (opcode == WSD_WS_TEXT || opcode == WSD_WS_BINARY) {
            if (open)
                return -1;
            text = opcode == WSD_WS_TEXT;
            st = WSD_UTF8_ACCEPT;
        } else {
            return -1;                     /* control frames are never shared */
        }
        if (text && wsd_utf8_validate(&st, p + off + h, (size_t)len) == WSD_UTF8_REJECT)
            return -1;
        open = !fin;
        if (fin && text && st != WSD_UTF8_ACCEPT)
            return -1;
        off += h + (size_t)len;
    }
    return open ? -1 : 0;
}

int wsd_chan_id_ok(const char *id)
{
    size_t i, n = strlen(id);

    if (n == 0 || n > 20 || (n > 1 && id[0] == '0'))
        return 0;
    for (i = 0; i < n; i++)
        if (id[i] < '0' || id[i] > '9')
            return 0;
    return n < 20 || strcmp(id, "18446744073709551615") <= 0;
}

int wsd_chan_joinrec_ok(const uint8_t *rec, size_t n, const char *id)
{
    size_t idl = strlen(id), i = 5 + idl + 1, len = 0, digits = 0;

    if (n < i || memcmp(rec, "join ", 5) != 0 || memcmp(rec + 5, id, idl) != 0 ||
        rec[5 + idl] != ' ')
        return 0;
    for (; i < n && rec[i] >= '0' && rec[i] <= '9'; i++, digits++) {
        if (digits == 10 || (digits == 1 && len == 0))
            return 0;                      /* too long, or a leading zero */
        len = len * 10 + (size_t)(rec[i] - '0');
    }
    if (digits == 0 || i >= n || rec[i] != '\n')
        return 0;
    i++;
    return n - i == len + 1 && rec[n - 1] == '\n';
}

/* ---- whole messages ----------------------------------------------------- */

void wsd_wholemsg_init(wsd_wholemsg *w, size_t max)
{
    memset(w, 0, sizeof *w);
    w->max = max;
}

void wsd_wholemsg_free(wsd_wholemsg *w)
{
    free(w->held);
    w->held = NULL;
    w->len = w->cap = 0;
}

void wsd_wholemsg_reset(wsd_wholemsg *w)
{
    w->len = 0;
    w->open = 0;
    w->skip = 0;
}

/* Keeps p[0..n) after what is held; over max: the message is dropped (1). */
static int hold(wsd_wholemsg *w, const uint8_t *p, size_t n)
{
    if (w->skip)
        return 0;
    if (n > w->max - w->len || w->len + n < w->len) {
        w->len = 0;
        w->skip = 1;
        return 1;
    }
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n)
            cap *= 2;
        w->held = xrealloc(w->held, cap);
        w->cap = cap;
    }
    if (n)
        memcpy(w->held + w->len, p, n);
    w->len += n;
    return 0;
}

int wsd_wholemsg_feed(wsd_wholemsg *w, const uint8_t *p, size_t n, wsd_str *out)
{
    wsd_ws_frames_info fi;
    int dropped = 0;

    if (n == 0)
        return 0;
    if (wsd_ws_scan_frames(p, n, &fi) != 0)
        return -1;
    if (fi.first_start == n && !fi.begins_inside && fi.completes == 0) {
        /* no data frame: control frames go with what surrounds them */
        if (w->open)
            return hold(w, p, n);
        return wsd_str_append(out, (const char *)p, n) == 0 ? 0 : 1;
    }
    if (fi.begins_inside && !w->open) {
        w->skip = 1;                       /* we never saw this message start */
        w->len = 0;
        w->open = 1;
    } else if (!fi.begins_inside && w->open) {
        /* a message starts while one was open: the stream is not whole
         * (cannot happen with the core's framing); the open one is lost */
        dropped = w->len > 0 || !w->skip;
        w->len = 0;
        w->skip = 0;
        w->open = 0;
    }
    /* the end of the open message: p[0..first_start) */
    if (fi.begins_inside) {
        int ends = fi.first_start < n || !fi.ends_inside;
        dropped |= hold(w, p, fi.first_start);
        if (ends) {
            if (!w->skip && w->len && wsd_str_append(out, (const char *)w->held, w->len) != 0)
                dropped = 1;
            w->len = 0;
            w->skip = 0;
            w->open = 0;
        }
        if (fi.first_start == n)
            return dropped;
    }
    /* whole messages, and perhaps the start of one that goes on */
    if (!fi.ends_inside) {
        if (wsd_str_append(out, (const char *)p + fi.first_start, n - fi.first_start) != 0)
            dropped = 1;
        w->open = 0;
        return dropped;
    }
    if (fi.last_start > fi.first_start &&
        wsd_str_append(out, (const char *)p + fi.first_start, fi.last_start - fi.first_start) != 0)
        dropped = 1;
    w->open = 1;
    w->skip = 0;
    w->len = 0;
    dropped |= hold(w, p + fi.last_start, n - fi.last_start);
    return dropped;
}
