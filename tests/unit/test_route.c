/* test_route.c — --dir, --cgidir and --staticdir routing (src/route.c) on a
 * temporary tree with files, subdirectories, dotfiles, a FIFO and symlinks
 * pointing inside and outside the served directory. */
#include "route.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static char top[256], root[PATH_MAX], realroot[PATH_MAX];

static void mk(const char *rel, const char *content)
{
    char p[PATH_MAX * 2];
    FILE *f;
    snprintf(p, sizeof p, "%s/%s", top, rel);
    f = fopen(p, "w");
    if (!f) {
        perror(p);
        exit(2);
    }
    fputs(content, f);
    fclose(f);
    chmod(p, 0755);
}

static void mkd(const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", top, rel);
    if (mkdir(p, 0755) < 0) {
        perror(p);
        exit(2);
    }
}

static void sym(const char *target, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", top, rel);
    if (symlink(target, p) < 0) {
        perror(p);
        exit(2);
    }
}

static const char *st_name(int s)
{
    switch (s) {
    case WSD_ROUTE_FOUND: return "FOUND";
    case WSD_ROUTE_NOT_FOUND: return "NOT_FOUND";
    case WSD_ROUTE_REDIRECT: return "REDIRECT";
    case WSD_ROUTE_FORBIDDEN: return "FORBIDDEN";
    }
    return "?";
}

/* A test name without CR/LF (TAP is line-based). */
static const char *vis(const char *s)
{
    static char buf[2][1024];
    static int k;
    char *b = buf[k ^= 1];
    size_t o = 0;
    for (; *s && o + 3 < sizeof buf[0]; s++) {
        if (*s == '\r' || *s == '\n') {
            b[o++] = '\\';
            b[o++] = *s == '\r' ? 'r' : 'n';
        } else {
            b[o++] = *s;
        }
    }
    b[o] = '\0';
    return b;
}

typedef int (*route_fn)(const char *, const char *, wsd_route *);

/* want_file / want_real: relative to root / realroot, NULL = don't check. */
static void rt(route_fn fn, const char *fname, const char *dir, const char *path, int want,
               const char *sn, const char *pi, const char *want_file, const char *want_real)
{
    wsd_route r;
    int got = fn(dir, path, &r);
    char buf[PATH_MAX * 2];

    ok(got == want && r.status == got, "%s('%s'): %s", fname, vis(path), st_name(want));
    if (got != want)
        printf("#   got %s (location %s)\n", st_name(got), r.location ? r.location : "-");
    if (got == WSD_ROUTE_FOUND && want == WSD_ROUTE_FOUND) {
        if (sn)
            is_str(r.script_name, sn, "  script_name");
        if (pi)
            is_str(r.path_info, pi, "  path_info");
        if (want_file) {
            snprintf(buf, sizeof buf, "%s/%s", dir, want_file);
            is_str(r.file, buf, "  file");
        }
        if (want_real) {
            snprintf(buf, sizeof buf, "%s/%s", realroot, want_real);
            is_str(r.real, buf, "  real");
        }
        ok(S_ISREG(r.st.st_mode), "  st is a regular file");
    }
    if (got == WSD_ROUTE_REDIRECT && want == WSD_ROUTE_REDIRECT && sn)
        is_str(r.location, sn, "  location");
    wsd_route_free(&r);
}

#define SCRIPT(path, want, sn, pi, file, real) \
    rt(wsd_route_script, "script", root, path, want, sn, pi, file, real)
#define CGI(path, want, pi, file) \
    rt(wsd_route_cgi, "cgi", root, path, want, "/", pi, file, NULL)
#define STATIC(path, want, loc_or_sn, file) \
    rt(wsd_route_static, "static", root, path, want, loc_or_sn, "", file, NULL)

static void clean(const char *in, const char *want)
{
    char *c = wsd_route_clean_path(in);
    is_str(c, want, "clean_path('%s')", in);
    free(c);
}

static void esc(const char *in, const char *want)
{
    char *c = wsd_route_escape_path(in);
    is_str(c, want, "escape_path('%s')", vis(in));
    free(c);
}

/* As an unprivileged user: unsearchable directories. Runs in a child when
 * the tests run as root; returns the number of failures. */
static int access_checks(void)
{
    wsd_route r;
    int bad = 0;

    if (wsd_route_static(root, "/locked/f.txt", &r) != WSD_ROUTE_FORBIDDEN)
        bad++;
    wsd_route_free(&r);
    if (wsd_route_static(root, "/locked/", &r) == WSD_ROUTE_FOUND)
        bad++;
    wsd_route_free(&r);
    if (wsd_route_script(root, "/locked/x.sh", &r) != WSD_ROUTE_NOT_FOUND)
        bad++;
    wsd_route_free(&r);
    if (wsd_route_cgi(root, "/locked/x.sh", &r) != WSD_ROUTE_NOT_FOUND)
        bad++;
    wsd_route_free(&r);
    return bad;
}

int main(void)
{
    char tmpl[] = "/tmp/wsd-route-XXXXXX", p[PATH_MAX * 2];
    char *rr;
    int i;

    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        return 2;
    }
    chmod(tmpl, 0755);
    snprintf(top, sizeof top, "%s", tmpl);
    snprintf(root, sizeof root, "%s/root", top);
    mkd("root");
    mkd("outside");
    mk("outside/o.sh", "#!/bin/sh\necho outside\n");
    mk("outside/index.html", "outside\n");
    mk("root/x.sh", "#!/bin/sh\necho x\n");
    mk("root/f.txt", "hello\n");
    mk("root/.env", "secret\n");
    mk("root/a b.sh", "#!/bin/sh\n");
    mkd("root/sub");
    mk("root/sub/y.sh", "#!/bin/sh\n");
    mkd("root/sub/deeper");
    mk("root/sub/deeper/z.sh", "#!/bin/sh\n");
    mkd("root/.hid");
    mk("root/.hid/h.sh", "#!/bin/sh\n");
    mkd("root/noidx");
    mkd("root/sidx");
    mk("root/sidx/index.html", "<h1>i</h1>\n");
    mkd("root/badidx");
    mkd("root/badidx/index.html");
    mkd("root/outidx");
    sym("../../outside/index.html", "root/outidx/index.html");
    mkd("root/hididx");
    sym("../.hid/h.sh", "root/hididx/index.html");
    mkd("root/a b");
    mkd("root/c\rd");
    mkd("root/locked");
    mk("root/locked/f.txt", "locked\n");
    mk("root/locked/x.sh", "#!/bin/sh\n");
    sym("x.sh", "root/link.sh");
    sym("../outside/o.sh", "root/escape.sh");
    sym(tmpl, "root/abs-escape");          /* absolute, outside */
    sym("../outside", "root/outdir");
    sym("sub", "root/indir");
    sym(".hid", "root/hidlink");
    sym(".env", "root/envlink");
    sym("nope", "root/dangling");
    sym("loop", "root/loop");
    sym("../root/f.txt", "root/roundtrip.txt");  /* leaves and re-enters: fine */
    sym("root", "rootlink");
    snprintf(p, sizeof p, "%s/root/fifo", top);
    if (mkfifo(p, 0644) < 0) {
        perror("mkfifo");
        return 2;
    }
    rr = realpath(root, NULL);
    snprintf(realroot, sizeof realroot, "%s", rr);
    free(rr);

    /* ---- --dir -------------------------------------------------------- */
    SCRIPT("/x.sh", WSD_ROUTE_FOUND, "/x.sh", "", "x.sh", "x.sh");
    SCRIPT("/x.sh/", WSD_ROUTE_FOUND, "/x.sh", "/", "x.sh", "x.sh");
    SCRIPT("/x.sh/a/b/", WSD_ROUTE_FOUND, "/x.sh", "/a/b/", "x.sh", NULL);
    SCRIPT("/x.sh/extra", WSD_ROUTE_FOUND, "/x.sh", "/extra", NULL, NULL);  /* %2F decoded */
    SCRIPT("/sub/y.sh/p", WSD_ROUTE_FOUND, "/sub/y.sh", "/p", "sub/y.sh", "sub/y.sh");
    SCRIPT("/sub/y.sh", WSD_ROUTE_FOUND, "/sub/y.sh", "", NULL, NULL);
    SCRIPT("/sub/deeper/z.sh/q", WSD_ROUTE_FOUND, "/sub/deeper/z.sh", "/q", "sub/deeper/z.sh",
           NULL);
    SCRIPT("/a b.sh", WSD_ROUTE_FOUND, "/a b.sh", "", "a b.sh", NULL);
    SCRIPT("/sub", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/sub/", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("x.sh", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/nope", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/nope/x.sh", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/.hid/h.sh", WSD_ROUTE_FOUND, "/.hid/h.sh", "", NULL, NULL);   /* as websocketd */
    SCRIPT("/link.sh/z", WSD_ROUTE_FOUND, "/link.sh", "/z", "link.sh", "x.sh");
    SCRIPT("/indir/y.sh", WSD_ROUTE_FOUND, "/indir/y.sh", "", "indir/y.sh", "sub/y.sh");
    SCRIPT("/roundtrip.txt", WSD_ROUTE_FOUND, "/roundtrip.txt", "", NULL, "f.txt");
    SCRIPT("/escape.sh", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/outdir/o.sh", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/abs-escape/outside/o.sh", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/../outside/o.sh", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/sub/../x.sh", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/sub/../../outside/o.sh", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/./x.sh", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/..", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/x.sh/../../etc/passwd", WSD_ROUTE_FOUND, "/x.sh", "/../../etc/passwd", NULL, NULL);
    SCRIPT("//x.sh", WSD_ROUTE_FOUND, "//x.sh", "", "x.sh", NULL);
    SCRIPT("/sub//y.sh", WSD_ROUTE_FOUND, "/sub//y.sh", "", "sub/y.sh", NULL);
    SCRIPT("/fifo", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/dangling", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/loop", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    SCRIPT("/x.sh\r\n", WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    {
        char longp[600];
        memset(longp, 'a', sizeof longp - 1);
        longp[0] = '/';
        longp[sizeof longp - 1] = '\0';
        SCRIPT(longp, WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
        for (i = 1; i + 2 < (int)sizeof longp; i += 2)
            memcpy(longp + i, "/.", 2) ;
        SCRIPT(longp, WSD_ROUTE_NOT_FOUND, 0, 0, 0, 0);
    }
    /* the directory given through a symlink, with a trailing slash, missing */
    {
        char d[PATH_MAX * 2];
        wsd_route r;
        snprintf(d, sizeof d, "%s/rootlink/", top);
        is_int(wsd_route_script(d, "/sub/y.sh/p", &r), WSD_ROUTE_FOUND, "dir via symlink + '/'");
        snprintf(p, sizeof p, "%s/rootlink/sub/y.sh", top);
        is_str(r.file, p, "  file: no doubled '/'");
        snprintf(p, sizeof p, "%s/sub/y.sh", realroot);
        is_str(r.real, p, "  real");
        wsd_route_free(&r);
        snprintf(d, sizeof d, "%s/rootlink", top);
        is_int(wsd_route_script(d, "/escape.sh", &r), WSD_ROUTE_NOT_FOUND, "  escape still refused");
        wsd_route_free(&r);
        snprintf(d, sizeof d, "%s/missing", top);
        is_int(wsd_route_script(d, "/x.sh", &r), WSD_ROUTE_NOT_FOUND, "missing dir");
        wsd_route_free(&r);
        is_int(wsd_route_script("/", "/bin/sh", &r), WSD_ROUTE_FOUND, "dir '/'");
        is_str(r.script_name, "/bin/sh", "  script_name");
        wsd_route_free(&r);
    }

    /* ---- --cgidir ------------------------------------------------------ */
    CGI("/x.sh", WSD_ROUTE_FOUND, "/x.sh", "x.sh");
    CGI("/sub/y.sh", WSD_ROUTE_FOUND, "/sub/y.sh", "sub/y.sh");
    CGI("/x.sh/", WSD_ROUTE_FOUND, "/x.sh/", "x.sh");      /* Go's path.Join drops the '/' */
    CGI("/x.sh/extra", WSD_ROUTE_NOT_FOUND, 0, 0);
    CGI("/sub", WSD_ROUTE_NOT_FOUND, 0, 0);
    CGI("/sub/", WSD_ROUTE_NOT_FOUND, 0, 0);
    CGI("/", WSD_ROUTE_NOT_FOUND, 0, 0);
    CGI("/nope", WSD_ROUTE_NOT_FOUND, 0, 0);
    CGI("/link.sh", WSD_ROUTE_FOUND, "/link.sh", "link.sh");
    CGI("/escape.sh", WSD_ROUTE_NOT_FOUND, 0, 0);
    CGI("/outdir/o.sh", WSD_ROUTE_NOT_FOUND, 0, 0);
    CGI("/../outside/o.sh", WSD_ROUTE_NOT_FOUND, 0, 0);
    CGI("/sub/../x.sh", WSD_ROUTE_NOT_FOUND, 0, 0);
    CGI("/fifo", WSD_ROUTE_NOT_FOUND, 0, 0);
    CGI("/.hid/h.sh", WSD_ROUTE_FOUND, "/.hid/h.sh", ".hid/h.sh");   /* as websocketd */

    /* ---- --staticdir ---------------------------------------------------- */
    STATIC("/f.txt", WSD_ROUTE_FOUND, "/f.txt", "f.txt");
    STATIC("/f.txt/", WSD_ROUTE_REDIRECT, "../f.txt", NULL);
    STATIC("/f.txt/x", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/", WSD_ROUTE_FORBIDDEN, NULL, NULL);               /* no index, no listing */
    STATIC("/noidx/", WSD_ROUTE_FORBIDDEN, NULL, NULL);
    STATIC("/noidx", WSD_ROUTE_REDIRECT, "noidx/", NULL);
    STATIC("/sidx", WSD_ROUTE_REDIRECT, "sidx/", NULL);
    STATIC("/sidx/", WSD_ROUTE_FOUND, "/sidx/", "sidx/index.html");
    STATIC("/sidx/index.html", WSD_ROUTE_REDIRECT, "./", NULL);
    STATIC("/badidx/", WSD_ROUTE_FORBIDDEN, NULL, NULL);
    STATIC("/outidx/", WSD_ROUTE_FORBIDDEN, NULL, NULL);
    STATIC("/hididx/", WSD_ROUTE_FORBIDDEN, NULL, NULL);
    STATIC("/a b", WSD_ROUTE_REDIRECT, "a%20b/", NULL);
    STATIC("/c\rd", WSD_ROUTE_REDIRECT, "c%0Dd/", NULL);
    STATIC("/sub", WSD_ROUTE_REDIRECT, "sub/", NULL);
    STATIC("/sub/y.sh", WSD_ROUTE_FOUND, "/sub/y.sh", "sub/y.sh");
    STATIC("/.env", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/.hid/h.sh", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/.hid/", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/hidlink/h.sh", WSD_ROUTE_NOT_FOUND, NULL, NULL);   /* symlink into a dot dir */
    STATIC("/envlink", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/sub/.x", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/.", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/..", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/../outside/index.html", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/escape.sh", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/outdir/o.sh", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/outdir/", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/abs-escape/outside/o.sh", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/link.sh", WSD_ROUTE_FOUND, "/link.sh", "link.sh");
    STATIC("/indir/", WSD_ROUTE_FORBIDDEN, NULL, NULL);
    STATIC("/indir/y.sh", WSD_ROUTE_FOUND, "/indir/y.sh", "indir/y.sh");
    STATIC("/fifo", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/dangling", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/nope", WSD_ROUTE_NOT_FOUND, NULL, NULL);
    STATIC("/nope/index.html", WSD_ROUTE_NOT_FOUND, NULL, NULL);

    /* ---- wsd_route_open: the routed file, and only it ------------------ */
    {
        wsd_route r;
        char buf[32];
        int fd;
        ssize_t n;

        wsd_route_static(root, "/f.txt", &r);
        fd = wsd_route_open(&r);
        ok(fd >= 0, "open a FOUND file");
        n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
        is_mem(buf, n > 0 ? (size_t)n : 0, "hello\n", 6, "  its contents");
        if (fd >= 0)
            close(fd);
        /* swap the file between routing and opening */
        mk("root/f2.txt", "other\n");
        snprintf(p, sizeof p, "%s/root/f2.txt", top);
        {
            char q[PATH_MAX * 2];
            snprintf(q, sizeof q, "%s/root/f.txt", top);
            rename(p, q);
        }
        is_int(wsd_route_open(&r), -ESTALE, "  swapped file refused");
        wsd_route_free(&r);
        is_int(wsd_route_open(&r), -EINVAL, "  not FOUND → -EINVAL");
    }

    /* ---- permissions (as an unprivileged user) ------------------------- */
    snprintf(p, sizeof p, "%s/root/locked", top);
    chmod(p, 0);
    if (geteuid() != 0) {
        is_int(access_checks(), 0, "unsearchable directory: 403 static, 404 --dir/--cgidir");
    } else {
        pid_t pid = fork();
        int status = 0;
        if (pid == 0) {
            if (setgid(65534) < 0 || setuid(65534) < 0)
                _exit(100);
            _exit(access_checks());
        }
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 100)
            ok(1, "# SKIP cannot drop privileges");
        else
            is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
                   "unsearchable directory (as uid 65534): 403 static, 404 --dir/--cgidir");
    }
    chmod(p, 0755);

    /* ---- Go ServeMux's cleanPath, EscapedPath -------------------------- */
    clean("", "/");
    clean("/", "/");
    clean("//x", "/x");
    clean("/a/../b", "/b");
    clean("/a/./", "/a/");
    clean("/a/b/..", "/a");
    clean("/a/b/../", "/a/");
    clean("/..", "/");
    clean("/../../x/", "/x/");
    clean("/x/..", "/");
    clean("/x/../", "/");
    clean("a", "/a");
    clean("/a//b/", "/a/b/");
    clean("/a/b", "/a/b");
    clean("/.", "/");
    clean("/./", "/");
    clean("/...", "/...");
    clean("/a/%2e%2e", "/a/%2e%2e");
    esc("/a b/?#%", "/a%20b/%3F%23%25");
    esc("/é", "/%C3%A9");
    esc("/a!b*'()", "/a%21b%2A%27%28%29");
    esc("/$&+,:;=@-_.~", "/$&+,:;=@-_.~");
    esc("/x\r\nSet-Cookie: y", "/x%0D%0ASet-Cookie:%20y");

    snprintf(p, sizeof p, "rm -rf '%s'", top);
    if (system(p) != 0)
        printf("# could not remove %s\n", top);
    return done_testing();
}
