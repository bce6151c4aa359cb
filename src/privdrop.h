/* privdrop.h — whom wsd runs as (--user, --group, --allowroot) and the
 * --unixsocket file's owner and mode (privdrop.c). No libuv.
 *
 * At start-up (main.c, before anything is bound) wsd_privdrop_prepare
 * resolves the names and refuses what cannot be right: an unknown user or
 * group, --user without root (unless it is wsd's own user), and programs
 * (COMMAND, --dir, --cgidir, --authcmd) that would run as root — unless
 * --allowroot. Each worker, once its listeners are bound and the TLS key
 * and certificate read (server.c), calls wsd_privdrop_apply: supplementary
 * groups (the user's, or only --group), then setresgid and setresuid to
 * the same ids real, effective and saved, then checks that they hold and
 * that root cannot be regained (setuid(0) and setgid(0) must fail); any
 * doubt is fatal. Programs inherit the ids. With --workers the supervisor
 * keeps its ids: it binds nothing and serves nobody, it only restarts
 * workers (which must bind privileged ports again). */
#ifndef WSD_PRIVDROP_H
#define WSD_PRIVDROP_H

#include <stdio.h>

#include "config.h"

/* 0, or -1 having printed why to err (exit 1). */
int wsd_privdrop_prepare(const wsd_config *cfg, FILE *err);

/* A reload (reload.c): programs the new configuration would run as root,
 * refused as at start-up. 0, or -1 with why in err. */
int wsd_privdrop_check_programs(const wsd_config *cfg, char *err, size_t cap);

/* --unixsocketmode/--unixsocketuser/--unixsocketgroup on the socket file,
 * right after bind. 0, or -1 with why in err. */
int wsd_privdrop_socket(const char *path, char *err, size_t cap);
/* The umask to bind the socket under, so it is never more open than its
 * mode even for a moment (-1: leave the umask). */
int wsd_privdrop_socket_umask(void);

/* Drops to --user/--group for good, and checks it (a no-op without them).
 * 0, or -1 with why in err: the worker must not serve. */
int wsd_privdrop_apply(char *err, size_t cap);

#endif
