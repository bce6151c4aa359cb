/* cfgfile.c — a configuration file through libinih (see cfgfile.h).
 *
 * inih reads the text line by line through our reader, which is where the
 * line numbers come from (Debian's libinih is built without
 * INI_HANDLER_LINENO): every chunk the reader hands out belongs to the
 * line it counts, inih calls the handler after the whole line is read, so
 * at that moment the count is the setting's line. The reader also catches
 * what inih would pass over silently: a NUL byte (inih stops the line
 * there) and a line longer than its buffer (inih hands the handler the
 * first part; we refuse it). */
#include "cfgfile.h"

#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_ROUTES 1024

void wsd_cfgfile_ini_setup(void)
{
    ini_allow_multiline = 0;          /* an indented line is an ordinary line */
    ini_allow_inline_comments = 0;    /* `;` in a command or a header stays */
    ini_allow_no_value = 0;           /* `binary` alone is an error: binary = true */
    ini_stop_on_first_error = 0;
    ini_use_stack = 0;
    ini_allow_realloc = 0;
    /* the buffer holds a line of WSD_CFGFILE_LINE_MAX, "\r\n" and the NUL */
    ini_max_line = WSD_CFGFILE_LINE_MAX + 3;
    ini_initial_alloc = WSD_CFGFILE_LINE_MAX + 3;
}

/* ---- The reader ------------------------------------------------------------ */

typedef struct {
    const char *p;
    size_t left;
    int line;               /* the line being read (1-based) */
    int at_start;           /* the next byte starts a line */
    size_t linelen;         /* bytes of this line so far */
    int section_line;       /* the last line that opened with '[' */
    int *brackets;          /* every such line, in order */
    size_t nbrackets;
    int bad_line;           /* NUL or over-long: the line, and why */
    const char *bad_why;
    int stop;               /* the callback failed: hand out nothing more */
} reader;

static char *read_line(char *str, int num, void *stream)
{
    reader *r = stream;
    int n = 0, start = r->at_start;

    if (r->stop || r->left == 0 || num < 2)
        return NULL;
    if (r->at_start) {
        r->line++;
        r->at_start = 0;
        r->linelen = 0;
    }
    while (n < num - 1 && r->left > 0) {
        char c = *r->p++;
        r->left--;
        if (c == '\0' && !r->bad_line) {
            r->bad_line = r->line;
            r->bad_why = "NUL byte (not a text file?)";
        }
        str[n++] = c;
        if (c == '\n') {
            r->at_start = 1;
            break;
        }
        r->linelen++;
    }
    str[n] = '\0';
    if (!r->bad_line) {
        /* the line's own bytes: without its newline and a CR before it */
        size_t own = r->linelen;
        if (r->at_start && own > 0 && n >= 2 && str[n - 2] == '\r')
            own--;
        if (own > WSD_CFGFILE_LINE_MAX) {
            r->bad_line = r->line;
            r->bad_why = "line longer than 8192 bytes";
        }
    }
    if (start) {
        const char *s = str;
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' || *s == '\f')
            s++;
        if (*s == '[') {
            r->section_line = r->line;
            if (r->nbrackets < MAX_ROUTES + 1) {
                r->brackets = xrealloc(r->brackets, (r->nbrackets + 1) * sizeof *r->brackets);
                r->brackets[r->nbrackets++] = r->line;
            }
        }
    }
    /* after a NUL the line looks shorter to inih: hand it nothing more */
    if (r->bad_line && r->bad_line < r->line)
        return NULL;
    return str;
}

/* ---- wsd_cfgfile_ini: the bare pass ---------------------------------------- */

typedef struct {
    reader rd;
    wsd_cfgfile_raw_cb h;
    void *user;
} raw_ctx;

static int raw_handler(void *user, const char *section, const char *name, const char *value)
{
    raw_ctx *x = user;
    return x->h(x->user, section, name, value, x->rd.line);
}

int wsd_cfgfile_ini(const char *text, size_t len, wsd_cfgfile_raw_cb h, void *user, int *line)
{
    raw_ctx x;
    int rc;

    memset(&x, 0, sizeof x);
    x.rd.p = text;
    x.rd.left = len;
    x.rd.at_start = 1;
    x.h = h;
    x.user = user;
    wsd_cfgfile_ini_setup();
    rc = ini_parse_stream(read_line, &x.rd, raw_handler, &x);
    free(x.rd.brackets);
    *line = rc > 0 ? rc : 0;
    if (x.rd.bad_line && (rc <= 0 || x.rd.bad_line <= rc)) {
        *line = x.rd.bad_line;
        return -1;
    }
    return rc;
}

/* ---- Route paths ----------------------------------------------------------- */

const char *wsd_cfgfile_route_path(const char *p)
{
    const char *seg;

    if (p[0] != '/')
        return "a route's path starts with '/'";
    if (strcmp(p, "/") == 0)
        return NULL;
    for (seg = p; *seg; seg++) {
        unsigned char c = (unsigned char)*seg;
        if (c <= 0x20 || c >= 0x7f)
            return "a route's path holds printable ASCII only (no blanks)";
        if (strchr("?#%\\\"'", c))
            return "a route's path holds no '?', '#', '%', '\\' or quotes (give it decoded)";
    }
    if (p[strlen(p) - 1] == '/')
        return "a route's path has no trailing '/' (/x matches /x and everything under /x/)";
    for (seg = p; *seg; ) {
        const char *end;
        size_t n;
        seg++;                        /* past the '/' */
        end = strchr(seg, '/');
        n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0)
            return "a route's path has no empty segment ('//')";
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return "a route's path has no '.' or '..' segment";
        seg += n;
    }
    return NULL;
}

/* ---- wsd_cfgfile_parse ----------------------------------------------------- */

typedef struct {
    reader rd;
    wsd_cfgfile_cb cb;
    void *user;
    char cur_section[64];      /* inih's section name as last seen */
    char *route;               /* the current route's path (NULL: server settings) */
    int route_line;
    struct seen { char *path; int line; } *seen;
    size_t nseen;
    int err_line;              /* the first problem found here */
    char *err;
    size_t cap;
} parse_ctx;

static int fail(parse_ctx *x, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parse_ctx *x, int line, const char *fmt, ...)
{
    va_list ap;

    if (x->err_line)
        return 0;
    x->err_line = line;
    va_start(ap, fmt);
    vsnprintf(x->err, x->cap, fmt, ap);
    va_end(ap);
    x->rd.stop = 1;
    return 0;
}

/* inih gives the section's name with each setting: a new name is a new
 * section (its header is the reader's last '[' line). */
static int enter_section(parse_ctx *x, const char *section)
{
    size_t n = strlen(section), k;
    const char *s = section, *why;
    int hline = x->rd.section_line ? x->rd.section_line : x->rd.line;

    snprintf(x->cur_section, sizeof x->cur_section, "%s", section);
    if (n > WSD_CFGFILE_SECTION_MAX)
        return fail(x, hline, "section header longer than %d bytes", WSD_CFGFILE_SECTION_MAX);
    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n < 6 || strncmp(s, "route", 5) != 0 || (s[5] != ' ' && s[5] != '\t'))
        return fail(x, hline, "unknown section [%.*s] (a section is [route /PATH])", (int)n, s);
    s += 5;
    n -= 5;
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    free(x->route);
    x->route = xstrndup(s, n);
    x->route_line = hline;
    why = wsd_cfgfile_route_path(x->route);
    if (why)
        return fail(x, hline, "[route %s]: %s", x->route, why);
    for (k = 0; k < x->nseen; k++) {
        if (strcmp(x->seen[k].path, x->route) == 0)
            return fail(x, hline, "[route %s] appears twice (first on line %d)", x->route,
                        x->seen[k].line);
    }
    if (x->nseen >= MAX_ROUTES)
        return fail(x, hline, "more than %d routes", MAX_ROUTES);
    x->seen = xrealloc(x->seen, (x->nseen + 1) * sizeof *x->seen);
    x->seen[x->nseen].path = xstrdup(x->route);
    x->seen[x->nseen].line = hline;
    x->nseen++;
    return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx *x = user;
    wsd_cfgfile_entry e;
    char why[WSD_CFGFILE_ERR_MAX];

    if (x->err_line)
        return 1;                   /* the first problem is the one reported */
    if (x->rd.bad_line == x->rd.line)
        return 1;                   /* reported at the end */
    if (strcmp(section, x->cur_section) != 0 && !enter_section(x, section))
        return 0;
    if (!*name)
        return fail(x, x->rd.line, "a setting without a key");
    e.route = x->route;
    e.route_line = x->route ? x->route_line : 0;
    e.key = name;
    e.value = value;
    e.line = x->rd.line;
    why[0] = '\0';
    if (x->cb(x->user, &e, why, sizeof why) != 0)
        return fail(x, x->rd.line, "%s", why[0] ? why : "refused");
    return 1;
}

int wsd_cfgfile_parse(const char *text, size_t len, wsd_cfgfile_cb cb, void *user, int *line,
                      char *err, size_t cap)
{
    parse_ctx x;
    size_t k;
    int rc;

    memset(&x, 0, sizeof x);
    x.rd.p = text;
    x.rd.left = len;
    x.rd.at_start = 1;
    x.cb = cb;
    x.user = user;
    x.err = err;
    x.cap = cap;
    if (cap)
        err[0] = '\0';
    *line = 0;
    wsd_cfgfile_ini_setup();
    rc = ini_parse_stream(read_line, &x.rd, handler, &x);
    if (!x.err_line && rc == 0 && !x.rd.bad_line) {
        /* inih says nothing of a section without settings: a header line
         * no setting came under is one (or a route given twice in a row) */
        size_t b;
        for (b = 0; b < x.rd.nbrackets; b++) {
            for (k = 0; k < x.nseen && x.seen[k].line != x.rd.brackets[b]; k++)
                ;
            if (k == x.nseen) {
                fail(&x, x.rd.brackets[b], "a section without settings (or a [route] given "
                     "twice in a row)");
                break;
            }
        }
    }
    free(x.rd.brackets);
    for (k = 0; k < x.nseen; k++)
        free(x.seen[k].path);
    free(x.seen);
    free(x.route);
    /* the earliest problem: the reader's, inih's syntax error, or ours */
    if (x.rd.bad_line && (!x.err_line || x.rd.bad_line <= x.err_line) &&
        (rc <= 0 || x.rd.bad_line <= rc)) {
        *line = x.rd.bad_line;
        snprintf(err, cap, "%s", x.rd.bad_why);
        return -1;
    }
    if (rc > 0 && (!x.err_line || rc < x.err_line)) {
        *line = rc;
        snprintf(err, cap, "not a `key = value`, `[route /PATH]` or comment line");
        return -1;
    }
    if (x.err_line) {
        *line = x.err_line;
        return -1;
    }
    if (rc < 0) {
        snprintf(err, cap, "out of memory reading the file");
        return -1;
    }
    return 0;
}
