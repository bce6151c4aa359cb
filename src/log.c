#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int wsd_log_min = WSD_LOG_ACCESS;

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

void wsd_log(int level, const char *category, const char *assoc, const char *fmt, ...)
{
    char line[8192];
    char ts[64];
    time_t now;
    struct tm tm;
    va_list ap;
    int n, m;

    if (!wsd_log_on(level) || level >= WSD_LOG_NONE)
        return;
    now = time(NULL);
    localtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%a, %d %b %Y %H:%M:%S %z", &tm);
    n = snprintf(line, sizeof line, "%s | %-6s | %-10s | %s | ", ts, level_tags[level],
                 category, assoc ? assoc : "");
    if (n < 0 || (size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    if ((size_t)(n + m) >= sizeof line - 1) {
        /* truncated: keep the line a line */
        n = (int)sizeof line - 5;
        memcpy(line + n, "...", 3);
        n += 3;
    } else {
        n += m;
    }
    line[n++] = '\n';
    {
        const char *p = line;
        size_t left = (size_t)n;
        while (left > 0) {
            ssize_t w = write(STDOUT_FILENO, p, left);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return; /* stdout gone: nothing sensible to do */
            }
            p += w;
            left -= (size_t)w;
        }
    }
}
