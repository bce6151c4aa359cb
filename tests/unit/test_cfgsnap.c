/* test_cfgsnap.c — configuration snapshots (src/cfgsnap.c): which endpoint
 * a path goes to, the part under the route, endpoint keys across reloads,
 * references. */
#include "cfgsnap.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256], file[300];

/* A snapshot of `text` as the --config file (over no other flag). */
static wsd_cfgsnap *snap_of(const char *text)
{
    static char arg[320];
    char *argv[3] = {(char *)"wsd", arg, NULL};
    wsd_config c;
    char err[512];
    FILE *f = fopen(file, "w"), *null = fopen("/dev/null", "w");
    wsd_cfgsnap *s;
    int rc;

    fputs(text, f);
    fclose(f);
    snprintf(arg, sizeof arg, "--config=%s", file);
    rc = wsd_config_parse(&c, 2, argv, null, null);
    fclose(null);
    if (rc >= 0)
        return NULL;
    s = wsd_cfgsnap_new(&c, 1, err, sizeof err);
    return s;
}

/* The endpoint path (or "server") and the rest, as "path|rest". */
static const char *where(const wsd_cfgsnap *s, const char *path)
{
    static char out[600];
    const char *rest;
    const wsd_endpoint *e = wsd_cfgsnap_match(s, path, &rest);
    snprintf(out, sizeof out, "%s|%s", e->is_route ? e->path : "server", rest);
    return out;
}

static void test_match(void)
{
    wsd_cfgsnap *s = snap_of("command = cat\n"
                             "[route /chat]\ncommand = cat\n"
                             "[route /chat/admin]\ncommand = cat\n"
                             "[route /a/b/c]\ncommand = cat\n"
                             "[route /time]\ncommand = date\n");
    ok(s != NULL, "snapshot made");
    if (!s)
        return;
    is_int(s->nroutes, 4, "four routes");
    is_str(where(s, "/chat"), "/chat|", "/chat: the route, nothing under it");
    is_str(where(s, "/chat/"), "/chat|/", "/chat/: under it");
    is_str(where(s, "/chat/room/1"), "/chat|/room/1", "/chat/room/1");
    is_str(where(s, "/chatroom"), "server|/chatroom", "/chatroom: not at a segment boundary");
    is_str(where(s, "/chat/admin"), "/chat/admin|", "the longest route wins");
    is_str(where(s, "/chat/admin/x"), "/chat/admin|/x", "... under it too");
    is_str(where(s, "/chat/administrator"), "/chat|/administrator", "... at a boundary");
    is_str(where(s, "/a/b"), "server|/a/b", "/a/b: above /a/b/c");
    is_str(where(s, "/a/b/c/d"), "/a/b/c|/d", "/a/b/c/d");
    is_str(where(s, "/"), "server|/", "/: the server's");
    is_str(where(s, "/Time"), "server|/Time", "case counts");
    ok(strcmp(s->server.key, s->routes[0].key) != 0, "endpoints have keys of their own");
    ok(wsd_cfgsnap_by_key(s, s->routes[2].key) == &s->routes[2], "by_key finds a route");
    ok(wsd_cfgsnap_by_key(s, s->server.key) == &s->server, "by_key finds the server");
    ok(wsd_cfgsnap_by_key(s, "nope") == NULL, "by_key: unknown");
    is_int(wsd_cfgsnap_count(s), 5, "count: the server and four routes");
    ok(wsd_cfgsnap_at(s, 0) == &s->server, "at(0): the server");
    wsd_cfgsnap_unref(s);

    s = snap_of("[route /]\ncommand = cat\n[route /x]\ncommand = date\n");
    ok(s != NULL, "a / route");
    if (!s)
        return;
    is_str(where(s, "/anything/at/all"), "/|/anything/at/all", "/ takes every path, whole");
    is_str(where(s, "/x/y"), "/x|/y", "a longer route still wins");
    wsd_cfgsnap_unref(s);

    s = snap_of("command = cat\n");
    ok(s && s->nroutes == 0, "no routes");
    if (s) {
        is_str(where(s, "/chat"), "server|/chat", "everything to the server");
        wsd_cfgsnap_unref(s);
    }
}

/* Reloads keep a key while what the program depends on stays. */
static void test_keys(void)
{
    const char *base = "origin = a.example\n[route /chat]\ncommand = cat\nshared = true\n";
    wsd_cfgsnap *a = snap_of(base), *b, *c, *d, *e;

    b = snap_of("origin = b.example\nheader = X-A: 1\nmaxframesize = 5\n"
                "[route /chat]\ncommand = cat\nshared = true\nsharedqueue = 4096\n");
    c = snap_of("origin = a.example\n[route /chat]\ncommand = cat\narg = -u\nshared = true\n");
    d = snap_of("origin = a.example\nbinary = true\n[route /chat]\ncommand = cat\n"
                "shared = true\n");
    e = snap_of("[route /talk]\ncommand = cat\nshared = true\n");
    ok(a && b && c && d && e, "five snapshots");
    if (!a || !b || !c || !d || !e)
        return;
    is_str(a->routes[0].key, b->routes[0].key,
           "origin, headers, limits changed: the same key (the same shared program)");
    ok(strcmp(a->routes[0].key, c->routes[0].key) != 0, "an argument more: another key");
    ok(strcmp(a->routes[0].key, d->routes[0].key) != 0, "binary inherited: another key");
    ok(strcmp(a->routes[0].key, e->routes[0].key) != 0, "another path: another key");
    ok(wsd_cfgsnap_by_key(b, a->routes[0].key) != NULL, "the old key found in the new snapshot");
    /* references: a connection keeps its snapshot past a reload */
    wsd_cfgsnap_ref(a);
    wsd_cfgsnap_unref(a);
    is_int(a->refs, 1, "ref + unref: one reference left");
    wsd_cfgsnap_unref(a);
    wsd_cfgsnap_unref(b);
    wsd_cfgsnap_unref(c);
    wsd_cfgsnap_unref(d);
    wsd_cfgsnap_unref(e);
    wsd_cfgsnap_unref(NULL);
    ok(1, "unref(NULL) is fine");
}

static void test_endpoint_options(void)
{
    wsd_cfgsnap *s = snap_of("command = cat\ndeflatebits = 10\n"
                             "[route /a]\ncommand = cat\ndeflate = false\n"
                             "[route /b]\ncommand = cat\ndeflatebits = 15\nsameorigin = true\n");
    ok(s != NULL, "options snapshot");
    if (!s)
        return;
    is_int(s->server.pmd.server_max_window_bits, 10, "server: deflatebits 10");
    ok(s->server.pmd.enabled, "server: deflate on");
    ok(!wsd_origin_restricted(s->server.origin), "server: any origin");
    /* routes sorted by length: both length 2, then by name */
    is_str(s->routes[0].path, "/a", "route /a");
    ok(!s->routes[0].pmd.enabled, "  deflate off");
    is_int(s->routes[0].pmd.server_max_window_bits, 10, "  inherited deflatebits");
    is_int(s->routes[1].pmd.server_max_window_bits, 15, "route /b: its own deflatebits");
    ok(wsd_origin_restricted(s->routes[1].origin), "  its own sameorigin");
    wsd_cfgsnap_unref(s);
}

/* The shared program's core key: built and split the same way by every
 * module that names a program (shared.c, hublink.c, redislink.c). */
static void test_core_key(void)
{
    char ep[WSD_CFGSNAP_KEY_MAX], big[WSD_CFGSNAP_KEY_MAX + 8];
    char *k = wsd_cfgsnap_core_key("0123456789abcdef:/chat", "/srv/ws/room.sh");
    const char *script;

    is_str(k, "0123456789abcdef:/chat\n/srv/ws/room.sh", "endpoint key, newline, script");
    script = wsd_cfgsnap_core_key_split(k, ep, sizeof ep);
    is_str(script, "/srv/ws/room.sh", "split: the script");
    is_str(ep, "0123456789abcdef:/chat", "split: the endpoint key");
    is_str(wsd_cfgsnap_core_key_split(k, NULL, 0), "/srv/ws/room.sh", "split: the script alone");
    ok(wsd_cfgsnap_core_key_split(k, ep, 5) == NULL, "an endpoint key that does not fit: NULL");
    free(k);
    k = wsd_cfgsnap_core_key("0123456789abcdef:", "");
    is_str(wsd_cfgsnap_core_key_split(k, ep, sizeof ep), "", "COMMAND: an empty script");
    is_str(ep, "0123456789abcdef:", "  and its endpoint key");
    free(k);
    ok(wsd_cfgsnap_core_key_split("no newline", ep, sizeof ep) == NULL, "no newline: NULL");
    memset(big, 'a', sizeof big - 2);
    big[sizeof big - 2] = '\n';
    big[sizeof big - 1] = '\0';
    ok(wsd_cfgsnap_core_key_split(big, NULL, 0) == NULL, "an endpoint key longer than any: NULL");
}

int main(void)
{
    const char *t = getenv("TMPDIR");

    snprintf(dir, sizeof dir, "%s/wsd-test-cfgsnap-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    snprintf(file, sizeof file, "%s/wsd.conf", dir);
    test_match();
    test_keys();
    test_endpoint_options();
    test_core_key();
    unlink(file);
    rmdir(dir);
    return done_testing();
}
