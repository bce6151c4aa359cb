/* cfgsnap.c — configuration snapshots and their endpoints (see cfgsnap.h). */
#include "cfgsnap.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- Program keys: FNV-1a 64 over the fields, each length-prefixed ------ */

typedef struct {
    uint64_t h;
} fnv;

static void fnv_bytes(fnv *f, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;
    for (i = 0; i < n; i++) {
        f->h ^= b[i];
        f->h *= 1099511628211ULL;
    }
}

static void fnv_str(fnv *f, const char *s)
{
    uint64_t n = s ? strlen(s) + 1 : 0;     /* NULL and "" differ */
    fnv_bytes(f, &n, sizeof n);
    if (s)
        fnv_bytes(f, s, (size_t)n - 1);
}

static void fnv_num(fnv *f, uint64_t v)
{
    fnv_bytes(f, &v, sizeof v);
}

void wsd_cfgsnap_program_key(const wsd_config *c, char out[17])
{
    fnv f = {14695981039346656037ULL};
    size_t i;

    fnv_str(&f, c->command_path);
    fnv_num(&f, (uint64_t)c->argc);
    for (i = 0; c->argv && c->argv[i]; i++)
        fnv_str(&f, c->argv[i]);
    fnv_str(&f, c->dir);
    fnv_num(&f, (uint64_t)c->binary);
    fnv_num(&f, (uint64_t)c->lossless);
    fnv_num(&f, (uint64_t)c->linebuffered);
    fnv_num(&f, (uint64_t)c->pty);
    fnv_num(&f, (uint64_t)c->passstderr);
    fnv_num(&f, (uint64_t)c->shared);
    fnv_num(&f, (uint64_t)c->sharedalways);
    fnv_num(&f, (uint64_t)c->closems);
    fnv_num(&f, (uint64_t)c->npassenv_values);
    for (i = 0; i < c->npassenv_values; i++)
        fnv_str(&f, c->passenv_values[i]);
    fnv_num(&f, (uint64_t)c->port);
    fnv_num(&f, (uint64_t)c->ssl);
    snprintf(out, 17, "%016llx", (unsigned long long)f.h);
}

/* ---- Snapshots ------------------------------------------------------------- */

static int endpoint_init(wsd_endpoint *e, const char *path, int is_route, const wsd_config *cfg,
                         char *err, size_t cap)
{
    char *why = NULL;
    char fp[17];

    memset(e, 0, sizeof *e);
    e->path = path;
    e->is_route = is_route;
    e->plen = is_route && strcmp(path, "/") != 0 ? strlen(path) : 0;
    e->cfg = cfg;
    e->origin = wsd_origin_new(cfg->origin, cfg->sameorigin, &why);
    if (!e->origin) {
        snprintf(err, cap, "%s%s%s", is_route ? path : "", is_route ? ": " : "",
                 why ? why : "--origin: unusable list");
        free(why);
        return -1;
    }
    wsd_pmd_config_default(&e->pmd);
    e->pmd.enabled = cfg->deflate;
    e->pmd.server_max_window_bits = cfg->deflatebits;
    e->pmd.client_max_window_bits = cfg->deflatebits;
    e->pmd.mem_level = cfg->deflatemem;
    wsd_cfgsnap_program_key(cfg, fp);
    snprintf(e->key, sizeof e->key, "%s:%s", fp, path);
    return 0;
}

static int by_length_desc(const void *a, const void *b)
{
    const wsd_endpoint *x = a, *y = b;
    size_t lx = strlen(x->path), ly = strlen(y->path);
    return lx > ly ? -1 : lx < ly ? 1 : strcmp(x->path, y->path);
}

static void snap_free(wsd_cfgsnap *s)
{
    size_t i;

    wsd_origin_free(s->server.origin);
    for (i = 0; i < s->nroutes; i++)
        wsd_origin_free(s->routes[i].origin);
    free(s->routes);
    wsd_config_free(&s->cfg);
    free(s);
}

wsd_cfgsnap *wsd_cfgsnap_new(wsd_config *cfg, unsigned long generation, char *err, size_t cap)
{
    wsd_cfgsnap *s = xcalloc(1, sizeof *s);
    size_t i;

    s->refs = 1;
    s->generation = generation;
    s->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    if (endpoint_init(&s->server, "", 0, &s->cfg, err, cap) != 0) {
        snap_free(s);
        return NULL;
    }
    if (s->cfg.nroutes)
        s->routes = xcalloc(s->cfg.nroutes, sizeof *s->routes);
    for (i = 0; i < s->cfg.nroutes; i++) {
        const wsd_config_route *r = &s->cfg.routes[i];
        if (endpoint_init(&s->routes[i], r->path, 1, r->cfg, err, cap) != 0) {
            snap_free(s);
            return NULL;
        }
        s->nroutes++;
    }
    if (s->nroutes > 1)
        qsort(s->routes, s->nroutes, sizeof *s->routes, by_length_desc);
    return s;
}

wsd_cfgsnap *wsd_cfgsnap_ref(wsd_cfgsnap *s)
{
    if (s)
        s->refs++;
    return s;
}

void wsd_cfgsnap_unref(wsd_cfgsnap *s)
{
    if (!s)
        return;
    assert(s->refs > 0);
    if (--s->refs == 0)
        snap_free(s);
}

const wsd_endpoint *wsd_cfgsnap_match(const wsd_cfgsnap *s, const char *path, const char **rest)
{
    size_t i;

    for (i = 0; i < s->nroutes; i++) {
        const wsd_endpoint *e = &s->routes[i];
        if (e->plen == 0 ||
            (strncmp(path, e->path, e->plen) == 0 &&
             (path[e->plen] == '\0' || path[e->plen] == '/'))) {
            *rest = path + e->plen;
            return e;
        }
    }
    *rest = path;
    return &s->server;
}

const wsd_endpoint *wsd_cfgsnap_by_key(const wsd_cfgsnap *s, const char *key)
{
    size_t i;

    if (strcmp(s->server.key, key) == 0)
        return &s->server;
    for (i = 0; i < s->nroutes; i++)
        if (strcmp(s->routes[i].key, key) == 0)
            return &s->routes[i];
    return NULL;
}

char *wsd_cfgsnap_core_key(const char *epkey, const char *script)
{
    size_t el = strlen(epkey), sl = strlen(script);
    char *k = xmalloc(el + 1 + sl + 1);

    memcpy(k, epkey, el);
    k[el] = '\n';
    memcpy(k + el + 1, script, sl + 1);
    return k;
}

const char *wsd_cfgsnap_core_key_split(const char *key, char *epkey, size_t cap)
{
    const char *nl = strchr(key, '\n');

    if (!nl || (size_t)(nl - key) >= WSD_CFGSNAP_KEY_MAX)
        return NULL;
    if (epkey) {
        if ((size_t)(nl - key) >= cap)
            return NULL;
        memcpy(epkey, key, (size_t)(nl - key));
        epkey[nl - key] = '\0';
    }
    return nl + 1;
}

size_t wsd_cfgsnap_count(const wsd_cfgsnap *s)
{
    return 1 + s->nroutes;
}

const wsd_endpoint *wsd_cfgsnap_at(const wsd_cfgsnap *s, size_t i)
{
    return i == 0 ? &s->server : &s->routes[i - 1];
}
