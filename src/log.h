/* log.h — websocketd's log format and levels, on stdout.
 *
 *   Fri, 27 Nov 2026 07:34:42 +0000 | ACCESS | session    | url:'…' id:'…' | CONNECT
 *   "%s | %-6s | %-10s | %s | %s\n": RFC 1123 time with numeric zone, level,
 *   category, associations, message.
 *
 * Levels, least to most severe: debug < trace < access < info < error < fatal;
 * "none" silences everything. Peer-controlled bytes are escaped (control
 * characters and non-ASCII as \xNN) by wsd_log_escape before they reach a line. */
#ifndef WSD_LOG_H
#define WSD_LOG_H

#include <stddef.h>

enum wsd_log_level {
    WSD_LOG_DEBUG,
    WSD_LOG_TRACE,
    WSD_LOG_ACCESS,
    WSD_LOG_INFO,
    WSD_LOG_ERROR,
    WSD_LOG_FATAL,
    WSD_LOG_NONE
};

extern int wsd_log_min;       /* lines below this level are skipped */

/* "debug" … "fatal", "none" → level; -1 if unknown (exact, lower case, as websocketd). */
int wsd_log_level_parse(const char *s);

#define wsd_log_on(level) ((level) >= wsd_log_min)

/* One line. `assoc` may be NULL or "". Writes with one write(2) so lines
 * from wsd never interleave mid-line. */
void wsd_log(int level, const char *category, const char *assoc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Copies src[0..n) into dst (capacity cap ≥ 1), escaping bytes < 0x20,
 * 0x7f..0xff, '\\' and '\'' as \xNN; truncates with "..." to fit. Returns dst. */
char *wsd_log_escape(char *dst, size_t cap, const char *src, size_t n);

#endif
