/* fuzz_configfile.c — libFuzzer harness for the --config file: the input
 * is a whole configuration file.
 *
 *  1. libinih: the text through wsd_cfgfile_ini (cfgfile.c's reader, which
 *     counts lines) and through libinih's own ini_parse_string, set up the
 *     same way, must give the same settings in the same order and the same
 *     result (for text without a NUL byte, which ini_parse_string cannot
 *     see past).
 *  2. The mapping: the text as the --config file of a command line that
 *     names only it (wsd_config_reparse: keys → flags, routes, every
 *     check). Refused: the first line of the message names the file (or is
 *     the one problem no setting causes: nothing to serve). Accepted: every
 *     route's path is a good one, and in the snapshot each route's own path
 *     goes to it.
 * It reads the file system only (stat, realpath, PATH look-ups). */
#include <ini.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"
#include "cfgsnap.h"
#include "config.h"
#include "util.h"

#define MAX_CALLS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    wsd_str log;
    int calls;
} trace;

static void note(trace *t, const char *section, const char *name, const char *value)
{
    t->calls++;
    wsd_str_appendf(&t->log, "[%s]%s=%s\n", section, name, value);
}

static int raw_cb(void *user, const char *section, const char *name, const char *value,
                  int line)
{
    (void)line;
    note(user, section, name, value);
    return 1;
}

static int str_cb(void *user, const char *section, const char *name, const char *value)
{
    note(user, section, name, value);
    return 1;
}

static void check_inih(const char *text, size_t size)
{
    trace a, b;
    int line = 0, ra, rb;

    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    wsd_str_init(&a.log, (size_t)-1 / 2);
    wsd_str_init(&b.log, (size_t)-1 / 2);
    ra = wsd_cfgfile_ini(text, size, raw_cb, &a, &line);
    if (memchr(text, '\0', size) == NULL && ra != -1) {
        wsd_cfgfile_ini_setup();
        rb = ini_parse_string(text, str_cb, &b);
        if (ra != rb || a.calls != b.calls || a.log.len != b.log.len ||
            (a.log.len && memcmp(a.log.s, b.log.s, a.log.len) != 0)) {
            fprintf(stderr, "reader %d (%d calls) vs ini_parse_string %d (%d calls)\n", ra,
                    a.calls, rb, b.calls);
            abort();
        }
    }
    if (ra > 0 && ((size_t)ra > size + 1 || line != ra))
        abort();
    wsd_str_free(&a.log);
    wsd_str_free(&b.log);
}

static void check_mapping(const char *text, size_t size)
{
    static char *argv[] = {(char *)"wsd", (char *)"--config=fuzz.conf", NULL};
    wsd_config cur, n;
    char *msg = NULL;
    size_t ml = 0, i;
    FILE *err = open_memstream(&msg, &ml);
    int rc;

    if (!err)
        return;
    memset(&cur, 0, sizeof cur);
    cur.cmdline_argc = 2;
    cur.cmdline_argv = argv;
    rc = wsd_config_reparse(&n, &cur, text, size, err);
    fclose(err);
    if (rc != -1) {
        static const char nothing[] = "Please specify COMMAND or provide --dir";
        if (rc != 1 || !msg || (strncmp(msg, "fuzz.conf", 9) != 0 &&
                                strncmp(msg, nothing, sizeof nothing - 1) != 0)) {
            fprintf(stderr, "refused without naming the file: %s\n", msg ? msg : "(nothing)");
            abort();
        }
        free(msg);
        return;
    }
    free(msg);
    for (i = 0; i < n.nroutes; i++)
        if (wsd_cfgfile_route_path(n.routes[i].path) != NULL || !n.routes[i].cfg)
            abort();
    {
        char why[512];
        wsd_cfgsnap *s = wsd_cfgsnap_new(&n, 1, why, sizeof why);
        if (!s)
            abort();               /* config.c checked what the snapshot compiles */
        for (i = 0; i < s->nroutes; i++) {
            const char *rest;
            const wsd_endpoint *e = wsd_cfgsnap_match(s, s->routes[i].path, &rest);
            if (e != &s->routes[i] || (e->plen && *rest))
                abort();
        }
        wsd_cfgsnap_unref(s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    check_inih(text, size);
    check_mapping(text, size);
    free(text);
    return 0;
}
