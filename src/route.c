/* route.c — URL path → file under --dir, --cgidir, --staticdir, confined to
 * the directory (see route.h). Behaviour re-implemented from websocketd
 * 0.4.1's observed routing and Go's http.FileServer / ServeMux. */
#include "route.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define BIG ((size_t)-1 / 2)

/* Is p (canonical) root itself or below it? root is canonical too. */
static int inside(const char *root, const char *p)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return p[0] == '/';
    return strncmp(p, root, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* Does the part of canonical p below root contain a component starting
 * with '.'? */
static int hidden_below(const char *root, const char *p)
{
    size_t n = strlen(root);
    const char *s = p + ((n == 1 && root[0] == '/') ? 0 : n);
    for (; *s; s++) {
        if (s[0] == '/' && s[1] == '.')
            return 1;
    }
    return 0;
}

enum { WK_OK = 0, WK_MISSING = 1, WK_ACCESS = 2, WK_BAD = 3 };

typedef struct {
    char *root;       /* realpath(dir) */
    char *real;       /* canonical path of the last segment resolved */
    struct stat st;   /* its stat */
    wsd_str logical;  /* dir + "/" + the segments resolved */
    const char *rest; /* the path after the last segment resolved */
    size_t nseg;      /* segments resolved */
} walk_t;

static void walk_free(walk_t *w)
{
    free(w->root);
    free(w->real);
    wsd_str_free(&w->logical);
}

static int is_dot_seg(const char *s, size_t n)
{
    return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

/* Resolves name under the canonical directory `base`: realpath + confinement
 * + stat. Returns WK_OK with *real (malloc'd) and *st, or WK_MISSING/WK_ACCESS. */
static int resolve(const char *root, const char *base, const char *name, size_t n,
                   char **real, struct stat *st)
{
    wsd_str c;
    char *r;
    int e;

    wsd_str_init(&c, BIG);
    wsd_str_appends(&c, base);
    if (c.len == 0 || c.s[c.len - 1] != '/')
        wsd_str_append(&c, "/", 1);
    wsd_str_append(&c, name, n);
    r = realpath(c.s, NULL);
    e = errno;
    wsd_str_free(&c);
    if (!r)
        return e == EACCES ? WK_ACCESS : WK_MISSING;
    if (!inside(root, r) || stat(r, st) < 0) {
        e = errno;
        free(r);
        return e == EACCES ? WK_ACCESS : WK_MISSING;
    }
    *real = r;
    return WK_OK;
}

/* Walks path's segments under dir, descending through directories, and
 * stops after the first segment that is not a directory, or at the end.
 * `nodots`: segments starting with '.' are WK_BAD (else only "." and ".."). */
static int walk(const char *dir, const char *path, int nodots, walk_t *w)
{
    const char *p = path;
    size_t dl = strlen(dir);

    memset(w, 0, sizeof *w);
    wsd_str_init(&w->logical, BIG);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    wsd_str_append(&w->logical, dir, dl);
    w->rest = path;
    if (path[0] != '/')
        return WK_MISSING;
    w->root = realpath(dir, NULL);
    if (!w->root)
        return errno == EACCES ? WK_ACCESS : WK_MISSING;
    w->real = xstrdup(w->root);
    if (stat(w->real, &w->st) < 0)
        return errno == EACCES ? WK_ACCESS : WK_MISSING;
    while (*p) {
        const char *seg, *end;
        size_t n;
        char *r = NULL;
        struct stat st;
        int rc;

        while (*p == '/')
            p++;
        if (!*p)
            break;
        seg = p;
        end = strchr(seg, '/');
        if (!end)
            end = seg + strlen(seg);
        n = (size_t)(end - seg);
        if (is_dot_seg(seg, n) || (nodots && seg[0] == '.'))
            return WK_BAD;
        rc = resolve(w->root, w->real, seg, n, &r, &st);
        if (rc != WK_OK)
            return rc;
        free(w->real);
        w->real = r;
        w->st = st;
        if (!(w->logical.len == 1 && w->logical.s[0] == '/'))
            wsd_str_append(&w->logical, "/", 1);
        wsd_str_append(&w->logical, seg, n);
        w->nseg++;
        w->rest = end;
        p = end;
        if (!S_ISDIR(st.st_mode))
            break;
    }
    return WK_OK;
}

static void set_found(wsd_route *out, walk_t *w, const char *sn, size_t snl, const char *pi)
{
    out->status = WSD_ROUTE_FOUND;
    out->file = w->logical.s;
    w->logical.s = NULL;
    w->logical.len = w->logical.cap = 0;
    out->real = w->real;
    w->real = NULL;
    out->st = w->st;
    out->script_name = xstrndup(sn, snl);
    out->path_info = xstrdup(pi);
}

int wsd_route_script(const char *dir, const char *path, wsd_route *out)
{
    walk_t w;
    int rc = walk(dir, path, 0, &w);

    memset(out, 0, sizeof *out);
    out->status = WSD_ROUTE_NOT_FOUND;
    if (rc == WK_OK && w.nseg > 0 && S_ISREG(w.st.st_mode))
        set_found(out, &w, path, (size_t)(w.rest - path), w.rest);
    walk_free(&w);
    return out->status;
}

static int only_slashes(const char *s)
{
    while (*s == '/')
        s++;
    return *s == '\0';
}

int wsd_route_cgi(const char *dir, const char *path, wsd_route *out)
{
    walk_t w;
    int rc = walk(dir, path, 0, &w);

    memset(out, 0, sizeof *out);
    out->status = WSD_ROUTE_NOT_FOUND;
    if (rc == WK_OK && w.nseg > 0 && S_ISREG(w.st.st_mode) && only_slashes(w.rest))
        set_found(out, &w, "/", 1, path);
    walk_free(&w);
    return out->status;
}

/* The last non-empty segment of path (Go's path.Base), as [*b, *b + *n). */
static void base_name(const char *path, const char **b, size_t *n)
{
    size_t e = strlen(path), s;
    while (e > 0 && path[e - 1] == '/')
        e--;
    s = e;
    while (s > 0 && path[s - 1] != '/')
        s--;
    *b = path + s;
    *n = e - s;
}

static void redirect(wsd_route *out, const char *prefix, const char *path, const char *suffix)
{
    const char *b;
    size_t n;
    char *raw, *esc;
    wsd_str loc;

    base_name(path, &b, &n);
    raw = xstrndup(b, n);
    esc = wsd_route_escape_path(raw);
    wsd_str_init(&loc, BIG);
    wsd_str_appends(&loc, prefix);
    wsd_str_appends(&loc, esc);
    wsd_str_appends(&loc, suffix);
    free(raw);
    free(esc);
    out->status = WSD_ROUTE_REDIRECT;
    out->location = loc.s;
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && memcmp(s + n - m, suf, m) == 0;
}

int wsd_route_static(const char *dir, const char *path, wsd_route *out)
{
    walk_t w;
    int rc;
    size_t pl = strlen(path);

    memset(out, 0, sizeof *out);
    out->status = WSD_ROUTE_NOT_FOUND;
    rc = walk(dir, path, 1, &w);
    if (rc == WK_ACCESS) {
        out->status = WSD_ROUTE_FORBIDDEN;
        goto done;
    }
    if (rc != WK_OK || hidden_below(w.root, w.real))
        goto done;
    if (ends_with(path, "/index.html")) {
        out->status = WSD_ROUTE_REDIRECT;
        out->location = xstrdup("./");
        goto done;
    }
    if (S_ISREG(w.st.st_mode)) {
        if (!only_slashes(w.rest))
            goto done;                    /* "/f.txt/more": ENOTDIR → 404 */
        if (path[pl - 1] == '/')
            redirect(out, "../", path, "");
        else
            set_found(out, &w, path, pl, "");
        goto done;
    }
    if (S_ISDIR(w.st.st_mode)) {
        char *r = NULL;
        struct stat st;
        if (path[pl - 1] != '/') {
            redirect(out, "", path, "/");
            goto done;
        }
        out->status = WSD_ROUTE_FORBIDDEN;    /* no listings */
        if (resolve(w.root, w.real, "index.html", 10, &r, &st) == WK_OK &&
            S_ISREG(st.st_mode) && !hidden_below(w.root, r)) {
            free(w.real);
            w.real = r;
            w.st = st;
            if (!(w.logical.len == 1 && w.logical.s[0] == '/'))
                wsd_str_append(&w.logical, "/", 1);
            wsd_str_appends(&w.logical, "index.html");
            set_found(out, &w, path, pl, "");
        } else {
            free(r);
        }
    }
done:
    walk_free(&w);
    return out->status;
}

int wsd_route_open(const wsd_route *r)
{
    struct stat st;
    int fd;

    if (r->status != WSD_ROUTE_FOUND || !r->real)
        return -EINVAL;
    fd = open(r->real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode) || st.st_dev != r->st.st_dev || st.st_ino != r->st.st_ino) {
        close(fd);
        return -ESTALE;
    }
    return fd;
}

void wsd_route_free(wsd_route *r)
{
    free(r->file);
    free(r->real);
    free(r->script_name);
    free(r->path_info);
    free(r->location);
    memset(r, 0, sizeof *r);
    r->status = WSD_ROUTE_NOT_FOUND;
}

char *wsd_route_clean_path(const char *path)
{
    size_t n = strlen(path), i = 0, o = 0;
    char *out = xmalloc(n + 3);

    out[o++] = '/';
    while (i < n) {
        size_t s, len;
        while (i < n && path[i] == '/')
            i++;
        s = i;
        while (i < n && path[i] != '/')
            i++;
        len = i - s;
        if (len == 0 || (len == 1 && path[s] == '.'))
            continue;
        if (len == 2 && path[s] == '.' && path[s + 1] == '.') {
            while (o > 1 && out[o - 1] != '/')
                o--;
            if (o > 1)
                o--;              /* the '/' before the popped segment */
            continue;
        }
        if (o > 1)
            out[o++] = '/';
        memcpy(out + o, path + s, len);
        o += len;
    }
    if (n > 0 && path[n - 1] == '/' && o > 1)
        out[o++] = '/';
    out[o] = '\0';
    return out;
}

char *wsd_route_escape_path(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path), i, o = 0;
    char *out = xmalloc(3 * n + 1);

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            (c != 0 && strchr("-_.~$&+,/:;=@", c))) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}
