/* log.h — wsd's log, one line per event on stdout.
 *
 * Two formats (--logformat):
 *   text (the default): websocketd's,
 *     Fri, 27 Nov 2026 07:34:42 +0000 | ACCESS | session    | url:'…' id:'…' | CONNECT
 *     "%s | %-6s | %-10s | %s | %s\n": RFC 1123 time with numeric zone, level,
 *     category, associations, message.
 *   json: one object per line, keys in a fixed order —
 *     {"time":"2026-11-27T07:34:42.123Z","level":"access","category":"session",
 *      "url":"…","id":"…","remote":"…","command":"…","origin":"…","pid":"…","msg":"CONNECT"}
 *     time is UTC with milliseconds; level is the --loglevel name; then one
 *     key per association (key:'value' pairs, in their order; time, level,
 *     category, msg and a repeated key left out), then msg. In values and
 *     the message wsd_log_escape's \xNN is undone (wsd escapes every
 *     backslash of peer bytes, so a \xNN is always its own), then they are
 *     written as JSON strings:
 *     '"', '\\' and control characters escaped, invalid UTF-8 replaced by
 *     U+FFFD byte by byte; a line over WSD_LOG_LINE_MAX cuts values with "...".
 * Either may be preceded by a syslog priority, "<6>" (--journal, or on its
 * own when stdout is the journal's stream: JOURNAL_STREAM), which journald
 * reads as the line's priority and strips.
 *
 * Levels, least to most severe: debug < trace < access < info < error < fatal;
 * "none" silences everything. Peer-controlled bytes are escaped (control
 * characters and non-ASCII as \xNN) by wsd_log_escape before they reach a line. */
#ifndef WSD_LOG_H
#define WSD_LOG_H

#include <stddef.h>
#include <time.h>

enum wsd_log_level {
    WSD_LOG_DEBUG,
    WSD_LOG_TRACE,
    WSD_LOG_ACCESS,
    WSD_LOG_INFO,
    WSD_LOG_ERROR,
    WSD_LOG_FATAL,
    WSD_LOG_NONE
};

enum wsd_log_format {
    WSD_LOGFMT_TEXT,          /* websocketd's */
    WSD_LOGFMT_JSON
};

/* The longest line wsd_log writes (a JSON line; a text line stays within
 * websocketd's 8 KiB). */
#define WSD_LOG_LINE_MAX 16384

extern int wsd_log_min;       /* lines below this level are skipped */
extern int wsd_log_format;    /* enum wsd_log_format (main sets it from the config) */
extern int wsd_log_priority;  /* 1: each line starts with "<N>" (journald) */

/* "debug" … "fatal", "none" → level; -1 if unknown (exact, lower case, as websocketd). */
int wsd_log_level_parse(const char *s);
/* "text", "json" → enum wsd_log_format; -1 if unknown. */
int wsd_log_format_parse(const char *s);
/* The syslog priority of a level (debug/trace 7, access/info 6, error 3, fatal 2). */
int wsd_log_syslog_priority(int level);

/* 1 when JOURNAL_STREAM's value ("DEVICE:INODE", decimal) names the file
 * with that device and inode number — stdout is the journal's stream (see
 * systemd.exec(5)); 0 otherwise, also for a malformed or NULL value. */
int wsd_log_journal_stream(const char *env, unsigned long long dev, unsigned long long ino);

#define wsd_log_on(level) ((level) >= wsd_log_min)

/* One line. `assoc` may be NULL or "". Writes with one write(2) so lines
 * from wsd never interleave mid-line. */
void wsd_log(int level, const char *category, const char *assoc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The line wsd_log writes, into buf (capacity cap ≥ 64): the priority
 * prefix if `priority`, then the `format` line for `now` (text: local
 * time), ending in '\n'. msg[0..msglen) is the message. Returns the length
 * (< cap; no NUL is added). Pure apart from the time zone. */
size_t wsd_log_render(char *buf, size_t cap, int format, int priority, const struct timespec *now,
                      int level, const char *category, const char *assoc, const char *msg,
                      size_t msglen);

/* Copies src[0..n) into dst (capacity cap ≥ 1), escaping bytes < 0x20,
 * 0x7f..0xff, '\\' and '\'' as \xNN; truncates with "..." to fit. Returns dst. */
char *wsd_log_escape(char *dst, size_t cap, const char *src, size_t n);

/* The inside of a JSON string for src[0..n), into dst[0..cap): '"' and '\\'
 * escaped, control characters (and DEL) as \n, \t, … or \u00XX, each byte
 * of invalid UTF-8 as \ufffd, valid UTF-8 copied. When it does not all
 * fit, it stops at a character boundary and ends with "..." (cap ≥ 3).
 * Returns the bytes written; no NUL. */
size_t wsd_json_escape(char *dst, size_t cap, const char *src, size_t n);

/* Associations "key:'value' key:'value' …" one pair at a time: *pos starts
 * at 0. Returns 1 with the key (key[0..*klen)) and the value as escaped
 * in the string (val[0..*vlen), \xNN escapes still in), 0 at the end, -1
 * when the rest is not such a pair (the rest is then val[0..*vlen), key
 * NULL). */
int wsd_log_assoc_next(const char *assoc, size_t len, size_t *pos, const char **key,
                       size_t *klen, const char **val, size_t *vlen);

#endif
