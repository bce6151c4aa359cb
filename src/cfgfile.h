/* cfgfile.h — a configuration file's text → its settings, one by one, with
 * their line numbers (--config; docs/config.md). The INI syntax itself is
 * libinih's (Debian libinih-dev): this module sets it up, counts lines,
 * enforces the limits inih cannot report, and checks the section grammar.
 * What each key means is config.c's (it gets every setting through a
 * callback). Pure: no I/O of its own, no libuv.
 *
 * The grammar:
 *   - `key = value` lines (inih also takes `key: value`); the key and the
 *     value are trimmed; the value is taken literally (no quotes, no
 *     escapes, no inline comments: a `;` or `#` inside a value is kept);
 *   - comment lines start with `#` or `;` (after blanks); blank lines;
 *   - sections: only `[route /PATH]`, where PATH is a clean absolute URL
 *     path (see wsd_cfgfile_route_path). The settings before the first
 *     section are the server's; those after a route's header are that
 *     route's. A route may not appear twice.
 * Limits: a line of at most WSD_CFGFILE_LINE_MAX bytes, no NUL byte, a
 * section header of at most WSD_CFGFILE_SECTION_MAX bytes between its
 * brackets (inih keeps no more), indented lines are ordinary lines (no
 * continuation lines). The first problem ends the parse. */
#ifndef WSD_CFGFILE_H
#define WSD_CFGFILE_H

#include <stddef.h>

#define WSD_CFGFILE_MAX (1024 * 1024)      /* a whole file */
#define WSD_CFGFILE_LINE_MAX 8192          /* one line, without its newline */
#define WSD_CFGFILE_SECTION_MAX 48         /* between the brackets: inih keeps 49 */
#define WSD_CFGFILE_ERR_MAX 512

/* One setting, as the callback sees it (valid during the call). */
typedef struct {
    const char *route;     /* NULL: a server setting; else the route's path ("/chat") */
    int route_line;        /* the line of the route's header (0 for server settings) */
    const char *key;
    const char *value;
    int line;
} wsd_cfgfile_entry;

/* Called for every setting in file order. Returns 0 to go on, or -1 having
 * written the problem (without the line number) into err[0..cap). */
typedef int (*wsd_cfgfile_cb)(void *user, const wsd_cfgfile_entry *e, char *err, size_t cap);

/* Parses text[0..len) (it need not be NUL-terminated). Returns 0, or -1
 * with the first problem's line in *line (0 when it is the file as a
 * whole) and the problem in err[0..cap): the callback's, or the grammar's
 * ("not a `key = value`, `[route /PATH]` or comment line", "line longer
 * than 8192 bytes", "NUL byte", "unknown section [x] ...", a bad route
 * path, "route /x appears twice (first on line N)"). */
int wsd_cfgfile_parse(const char *text, size_t len, wsd_cfgfile_cb cb, void *user, int *line,
                      char *err, size_t cap);

/* A route's path: NULL when `path` is one, else why not. It must start
 * with '/', hold printable ASCII other than '?', '#', '%', '\\', quotes and
 * blanks, have no empty, "." or ".." segment and no trailing '/' (except
 * "/" itself, which matches every path). */
const char *wsd_cfgfile_route_path(const char *path);

/* The low-level pass, for the fuzz harness: text through inih exactly as
 * wsd_cfgfile_parse sets it up, every call of inih's handler passed to h
 * with the current line. Returns inih's result (0, or the first line it
 * found wrong), or -1 for a NUL byte or an over-long line (at *line). */
typedef int (*wsd_cfgfile_raw_cb)(void *user, const char *section, const char *name,
                                  const char *value, int line);
int wsd_cfgfile_ini(const char *text, size_t len, wsd_cfgfile_raw_cb h, void *user, int *line);

/* Sets inih's run-time options as wsd_cfgfile_parse uses them (Debian's
 * libinih has them as globals): no multi-line values, no inline comments,
 * heap line buffer of WSD_CFGFILE_LINE_MAX + 3 bytes. For a harness that
 * calls ini_parse_string to compare. */
void wsd_cfgfile_ini_setup(void);

#endif
