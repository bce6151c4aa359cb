/* route.h — URL path → file, for --dir (WebSocket scripts), --cgidir and
 * --staticdir, on one confinement core. No sockets, no libuv; uses the file
 * system (realpath, stat, open).
 *
 * Input: the directory as configured (absolute or relative) and the
 * DECODED URL path (wsd_http_url_decode of wsd_request.path; a path that
 * does not decode, e.g. one with %00, is the caller's 404/400).
 *
 * Confinement: every candidate is resolved with realpath() and must lie
 * inside realpath(dir); a symlink whose target is inside the directory is
 * followed, one that leads outside is "not found". "." and ".." segments,
 * literal or decoded from %2e%2e, are "not found" (the server should first
 * answer Go ServeMux's 301 to wsd_route_clean_path(), as websocketd does, so
 * they rarely get here). A decoded "/" (from %2F) separates segments like a
 * literal "/" — websocketd (Go's URL.Path) does the same: `/sub%2Fy.sh` runs
 * sub/y.sh — and every segment is checked, so it cannot escape either.
 * Empty segments ("//") are skipped. Non-regular files (FIFOs, devices,
 * sockets) are never served or run. wsd_route_open() re-checks identity
 * after open(), so a file swapped between the check and the open is refused.
 *
 * Results are absolute or relative as `dir` is; `real` is always canonical. */
#ifndef WSD_ROUTE_H
#define WSD_ROUTE_H

#include <sys/stat.h>

enum {
    WSD_ROUTE_FOUND = 0,
    WSD_ROUTE_NOT_FOUND = 1,   /* 404 (or: fall through to the next handler) */
    WSD_ROUTE_REDIRECT = 2,    /* 301 to `location` */
    WSD_ROUTE_FORBIDDEN = 3    /* 403 */
};

typedef struct {
    int status;
    char *file;         /* FOUND: dir + "/" + the path's segments through the file
                         * (symlinks not resolved): argv[0], SCRIPT_FILENAME */
    char *real;         /* FOUND: realpath of file, inside realpath(dir) */
    char *script_name;  /* FOUND: see each function */
    char *path_info;    /* FOUND: see each function */
    char *location;     /* REDIRECT: relative Location, percent-encoded, WITHOUT
                         * the query: append "?" + raw query when there is one */
    struct stat st;     /* FOUND: stat of real (size, mtime for static files) */
} wsd_route;

/* --dir (reference §2.1.b). Walks the path segment by segment under dir;
 * the first regular file is the script. SCRIPT_NAME = the URL prefix through
 * it ("/sub/x.sh"); PATH_INFO = the rest ("/a/b/", trailing "/" kept; "" when
 * nothing follows, "/" for "/x.sh/"). A missing segment, or a directory as
 * the last one ("/", "/sub", "/sub/"), → NOT_FOUND. Dotfiles are allowed (as
 * websocketd). No execute-permission check (spawning reports that). */
int wsd_route_script(const char *dir, const char *path, wsd_route *out);

/* --cgidir (reference §2.4): FOUND only if a regular file exists exactly at
 * the path ("/x.cgi/extra" → NOT_FOUND: fall through to static, then 404).
 * As websocketd (Go cgi.Handler without Root): SCRIPT_NAME = "/" and
 * PATH_INFO = the decoded path ("/sub/e.cgi"). The CGI's working directory
 * is the script's directory (observed), argv[0] its base name. */
int wsd_route_cgi(const char *dir, const char *path, wsd_route *out);

/* --staticdir, as Go's http.FileServer, with websocketd main's hardening:
 *   - any segment starting with '.' (dotfiles, "."/"..") → NOT_FOUND; also
 *     when a symlink leads into a dot-directory inside dir;
 *   - a path ending in "/index.html" → REDIRECT "./";
 *   - a directory without a trailing "/" → REDIRECT "<base>/"; a file with
 *     one → REDIRECT "../<base>";
 *   - a directory → its index.html (a regular file) or, without one,
 *     FORBIDDEN: no directory listings (websocketd lists them);
 *   - a permission error → FORBIDDEN (Go: 403); other failures NOT_FOUND.
 * script_name = the path, path_info = "". Locations are percent-encoded
 * (Go sends e.g. "a b/" raw). */
int wsd_route_static(const char *dir, const char *path, wsd_route *out);

/* Opens a FOUND route's file for reading (O_RDONLY|O_CLOEXEC|O_NOFOLLOW)
 * and checks that it is still the file that was routed (same device and
 * inode, regular). Returns the fd, or -errno (-ESTALE if it changed). */
int wsd_route_open(const wsd_route *r);

void wsd_route_free(wsd_route *r);

/* Go ServeMux's cleanPath: "/" + path.Clean(path), keeping one trailing "/".
 * ("" → "/", "//x" → "/x", "/a/../b" → "/b", "/a/./" → "/a/"). When it
 * differs from the decoded path the server answers 301 to
 * wsd_route_escape_path(clean) + ("?" + raw query). Returns a malloc'd string. */
char *wsd_route_clean_path(const char *path);

/* Percent-encodes a decoded path for a Location header as Go's
 * url.URL.EscapedPath does: letters, digits, "-_.~$&+,/:;=@" are kept, every
 * other byte becomes %XX. Returns a malloc'd string. */
char *wsd_route_escape_path(const char *path);

#endif
