#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "utf8.h"

int wsd_log_min = WSD_LOG_ACCESS;
int wsd_log_format = WSD_LOGFMT_TEXT;
int wsd_log_priority;

static const char *const level_names[] = {
    "debug", "trace", "access", "info", "error", "fatal", "none"
};
static const char *const level_tags[] = {
    "DEBUG", "TRACE", "ACCESS", "INFO", "ERROR", "FATAL", "NONE"
};

int wsd_log_level_parse(const char *s)
{
    int i;
    for (i = 0; i <= WSD_LOG_NONE; i++) {
        if (strcmp(s, level_names[i]) == 0)
            return i;
    }
    return -1;
}

int wsd_log_format_parse(const char *s)
{
    if (strcmp(s, "text") == 0)
        return WSD_LOGFMT_TEXT;
    if (strcmp(s, "json") == 0)
        return WSD_LOGFMT_JSON;
    return -1;
}

int wsd_log_syslog_priority(int level)
{
    /* syslog(3): 2 crit, 3 err, 6 info, 7 debug */
    static const int prio[] = {7, 7, 6, 6, 3, 2, 7};
    return level >= 0 && level <= WSD_LOG_NONE ? prio[level] : 6;
}

/* A decimal number of at most 20 digits ending at *end. */
static int parse_decimal(const char *s, const char **end, unsigned long long *v)
{
    unsigned long long x = 0;
    int digits = 0;

    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (x > (~0ULL - d) / 10)
            return -1;
        x = x * 10 + d;
        s++;
        digits++;
    }
    *end = s;
    *v = x;
    return digits > 0 ? 0 : -1;
}

int wsd_log_journal_stream(const char *env, unsigned long long dev, unsigned long long ino)
{
    unsigned long long d, i;
    const char *p;

    if (!env || parse_decimal(env, &p, &d) != 0 || *p != ':' ||
        parse_decimal(p + 1, &p, &i) != 0 || *p != '\0')
        return 0;
    return d == dev && i == ino;
}

char *wsd_log_escape(char *dst, size_t cap, const char *src, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        int esc = c < 0x20 || c >= 0x7f || c == '\\' || c == '\'';
        size_t need = esc ? 4 : 1;
        if (o + need + 1 > cap || (i + 1 < n && o + need + 4 > cap)) {
            /* no room for this byte and a trailing "...": cut here */
            while (o + 4 > cap && o > 0)
                o--;
            if (o + 4 <= cap) {
                memcpy(dst + o, "...", 3);
                o += 3;
            }
            break;
        }
        if (esc) {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o] = '\0';
    return dst;
}

/* ---- JSON ---------------------------------------------------------------- */

/* The length of the valid UTF-8 character at p[0..n) (1..4), or 0 when the
 * bytes there do not start one (utf8.c decides). */
static size_t utf8_char_len(const unsigned char *p, size_t n)
{
    uint32_t st = WSD_UTF8_ACCEPT;
    size_t k;

    for (k = 0; k < n && k < 4; k++) {
        wsd_utf8_validate(&st, p + k, 1);
        if (st == WSD_UTF8_REJECT)
            return 0;
        if (st == WSD_UTF8_ACCEPT)
            return k + 1;
    }
    return 0;   /* cut short */
}

/* One character of src at i escaped into e (≥ 6 bytes): its length, and
 * the source bytes it stands for in *used. */
static size_t json_char(const unsigned char *s, size_t i, size_t n, char *e, size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = s[i];

    *used = 1;
    if (c >= 0x80) {
        size_t k = utf8_char_len(s + i, n - i);
        if (k == 0) {
            memcpy(e, "\\ufffd", 6);
            return 6;
        }
        memcpy(e, s + i, k);
        *used = k;
        return k;
    }
    if (c == '"' || c == '\\') {
        e[0] = '\\';
        e[1] = (char)c;
        return 2;
    }
    if (c < 0x20 || c == 0x7f) {
        const char *sh = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t"
                         : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
        if (sh) {
            memcpy(e, sh, 2);
            return 2;
        }
        memcpy(e, "\\u00", 4);
        e[4] = hex[c >> 4];
        e[5] = hex[c & 15];
        return 6;
    }
    e[0] = (char)c;
    return 1;
}

size_t wsd_json_escape(char *dst, size_t cap, const char *src, size_t n)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0, i, total = 0, used;
    char e[8];

    for (i = 0; i < n; i += used)
        total += json_char(s, i, n, e, &used);
    for (i = 0; i < n; i += used) {
        size_t elen = json_char(s, i, n, e, &used);
        /* all of it fits, or this character and a trailing "..." */
        if (total > cap && o + elen + 3 > cap)
            break;
        memcpy(dst + o, e, elen);
        o += elen;
    }
    if (i < n && o + 3 <= cap) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    return o;
}

static int is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

int wsd_log_assoc_next(const char *a, size_t len, size_t *pos, const char **key, size_t *klen,
                       const char **val, size_t *vlen)
{
    size_t p = *pos, k0, v0;

    while (p < len && a[p] == ' ')
        p++;
    if (p >= len) {
        *pos = p;
        return 0;
    }
    k0 = p;
    while (p < len && is_key_char(a[p]))
        p++;
    if (p == k0 || p + 1 >= len || a[p] != ':' || a[p + 1] != '\'')
        goto rest;
    v0 = p + 2;
    p = v0;
    while (p < len && a[p] != '\'')
        p++;
    if (p >= len)
        goto rest;
    *key = a + k0;
    *klen = v0 - 2 - k0;
    *val = a + v0;
    *vlen = p - v0;
    *pos = p + 1;
    return 1;
rest:
    *key = NULL;
    *klen = 0;
    *val = a + k0;
    *vlen = len - k0;
    *pos = len;
    return -1;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* wsd_log_escape undone: \xNN → the byte (anything else as is). out holds n. */
static size_t unescape(char *out, const char *s, size_t n)
{
    size_t i = 0, o = 0;

    while (i < n) {
        if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 &&
            hexval(s[i + 3]) >= 0) {
            out[o++] = (char)(hexval(s[i + 2]) << 4 | hexval(s[i + 3]));
            i += 4;
        } else {
            out[o++] = s[i++];
        }
    }
    return o;
}

/* A bounded line being built: appends that do not fit are dropped whole. */
typedef struct {
    char *p;
    size_t n, cap;
} line_buf;

static int put(line_buf *b, const char *s, size_t n)
{
    if (b->n + n > b->cap)
        return -1;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

static void put_json(line_buf *b, const char *s, size_t n, size_t room)
{
    size_t left = b->cap - b->n;
    b->n += wsd_json_escape(b->p + b->n, room < left ? room : left, s, n);
}

static const char *const reserved_keys[] = {"time", "level", "category", "msg"};

static void render_json(line_buf *b, const struct timespec *now, int level, const char *category,
                        const char *assoc, const char *msg, size_t msglen)
{
    /* the msg key keeps this much of the line for itself */
    enum { MSG_ROOM = 1024, TAIL = 3 /* "}\n */ };
    char ts[64];
    struct tm tm;
    size_t alen = assoc ? strlen(assoc) : 0, pos = 0;
    char tmp[WSD_LOG_LINE_MAX];     /* one value, unescaped */
    struct { const char *k; size_t n; } seen[16];   /* keys written: never one twice */
    size_t nseen = 0;

    gmtime_r(&now->tv_sec, &tm);
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long)(now->tv_nsec / 1000000));
    put(b, "{\"time\":\"", 9);
    put(b, ts, strlen(ts));
    put(b, "\",\"level\":\"", 11);
    put(b, level_names[level], strlen(level_names[level]));
    put(b, "\",\"category\":\"", 14);
    put_json(b, category, strlen(category), 256);
    put(b, "\"", 1);
    for (;;) {
        const char *k, *v;
        size_t kl, vl, i, need;
        int rc = wsd_log_assoc_next(assoc, alen, &pos, &k, &kl, &v, &vl);
        int reserved = 0;

        if (rc == 0)
            break;
        if (vl > sizeof tmp)
            vl = sizeof tmp;       /* longer than any line: cut anyway */
        if (rc < 0) {
            k = "assoc";
            kl = 5;
        } else {
            for (i = 0; i < sizeof reserved_keys / sizeof reserved_keys[0]; i++)
                reserved |= strlen(reserved_keys[i]) == kl && memcmp(reserved_keys[i], k, kl) == 0;
        }
        for (i = 0; i < nseen && !(seen[i].n == kl && memcmp(seen[i].k, k, kl) == 0); i++)
            ;
        if (reserved || i < nseen || nseen == sizeof seen / sizeof seen[0])
            continue;              /* a key again, or too many: the first ones tell */
        seen[nseen].k = k;
        seen[nseen++].n = kl;
        need = 2 + kl + 3 + 3 + 1;     /* ,"key":"..." */
        if (b->n + need + MSG_ROOM + TAIL > b->cap)
            break;
        put(b, ",\"", 2);
        put_json(b, k, kl, kl + 16);
        put(b, "\":\"", 3);
        put_json(b, tmp, rc < 0 ? (memcpy(tmp, v, vl), vl) : unescape(tmp, v, vl),
                 b->cap - b->n - MSG_ROOM - TAIL - 1);
        put(b, "\"", 1);
        if (rc < 0)
            break;
    }
    put(b, ",\"msg\":\"", 8);
    if (msglen > sizeof tmp)
        msglen = sizeof tmp;
    put_json(b, tmp, unescape(tmp, msg, msglen), b->cap - b->n - TAIL);
    put(b, "\"}\n", 3);
}

/* websocketd's line, exactly: at most `max` bytes with its newline, a
 * longer one cut to end in "...". */
static void render_text(line_buf *b, size_t max, const struct timespec *now, int level,
                        const char *category, const char *assoc, const char *msg, size_t msglen)
{
    char ts[64];
    struct tm tm;
    char *line = b->p + b->n;
    int n;

    localtime_r(&now->tv_sec, &tm);
    strftime(ts, sizeof ts, "%a, %d %b %Y %H:%M:%S %z", &tm);
    n = snprintf(line, max, "%s | %-6s | %-10s | %s | ", ts, level_tags[level], category,
                 assoc ? assoc : "");
    if (n < 0 || (size_t)n >= max)
        n = (int)max - 1;
    if ((size_t)n + msglen >= max - 1) {
        size_t fit = max - 5 > (size_t)n ? max - 5 - (size_t)n : 0;
        memcpy(line + n, msg, fit);
        n = (int)max - 5;
        memcpy(line + n, "...", 3);
        n += 3;
    } else {
        memcpy(line + n, msg, msglen);
        n += (int)msglen;
    }
    line[n++] = '\n';
    b->n += (size_t)n;
}

size_t wsd_log_render(char *buf, size_t cap, int format, int priority, const struct timespec *now,
                      int level, const char *category, const char *assoc, const char *msg,
                      size_t msglen)
{
    line_buf b = {buf, 0, cap};

    if (level < 0 || level >= WSD_LOG_NONE)
        level = WSD_LOG_ERROR;
    if (priority) {
        char pre[8];
        int n = snprintf(pre, sizeof pre, "<%d>", wsd_log_syslog_priority(level));
        put(&b, pre, (size_t)n);
    }
    if (format == WSD_LOGFMT_JSON) {
        render_json(&b, now, level, category ? category : "", assoc, msg, msglen);
    } else {
        size_t max = cap - b.n < 8192 ? cap - b.n : 8192;   /* websocketd's line */
        render_text(&b, max, now, level, category ? category : "", assoc, msg, msglen);
    }
    return b.n;
}

void wsd_log(int level, const char *category, const char *assoc, const char *fmt, ...)
{
    static char line[WSD_LOG_LINE_MAX];
    char msg[8192];
    struct timespec now;
    va_list ap;
    int m;
    size_t n;
    const char *p;

    if (!wsd_log_on(level) || level >= WSD_LOG_NONE)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    va_start(ap, fmt);
    m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    if ((size_t)m >= sizeof msg)
        m = (int)sizeof msg - 1;   /* cut: the text line ends in "..." anyway */
    n = wsd_log_render(line, sizeof line, wsd_log_format, wsd_log_priority, &now, level,
                       category, assoc, msg, (size_t)m);
    p = line;
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* stdout gone: nothing sensible to do */
        }
        p += w;
        n -= (size_t)w;
    }
}
