/* hubcore.h — the program side of --shared: one program per endpoint.
 *
 * A core owns the endpoint's program (program.c), frames its output once
 * (outframe.c, or record.c's addressed records with --lossless), writes its
 * stdin (whole messages, join and leave records), and runs its life: on
 * demand (started by the first member, ended when the last leaves) or
 * --sharedalways (started with the server, restarted with backoff when it
 * exits). It knows its members only by id and by the fan they are at: a
 * fan is one process's fan-out to its clients — shared.c in the same
 * process, or one --workers process through hublink.c — and gets the frames
 * once for all its members.
 *
 * Without --workers the core and its one fan live in the same process;
 * with --workers the cores live in the hub process (hubproc.c) and every
 * worker is a fan. */
#ifndef WSD_HUBCORE_H
#define WSD_HUBCORE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cfgsnap.h"
#include "config.h"

typedef struct wsd_core wsd_core;
typedef struct wsd_fan wsd_fan;

typedef struct {
    /* Frames of the program's output for the fan's members: those named in
     * to[0..nto), or all when to is NULL. p is valid during the call. */
    void (*frames)(wsd_fan *f, const uint8_t *p, size_t n, const char *const *to, size_t nto);
    /* The program asks to close member `id` (it has already left the core). */
    void (*close_member)(wsd_fan *f, const char *id, unsigned code, const char *reason);
    /* The instance ended and all its output was sent (or, failed: it could
     * not be started): the fan's members are no longer the core's; each
     * gets the close frame that says how. */
    void (*ended)(wsd_fan *f, int64_t exit_status, int term_signal, int failed);
    /* The program's stdin is full (1: members' reads hold) or has room again (0). */
    void (*stdin_state)(wsd_fan *f, int full);
    /* An instance started; restarted: a --sharedalways restart, the fan
     * gives its members' join records again (wsd_core_rejoin). */
    void (*started)(wsd_fan *f, int pid, int restarted);
} wsd_fan_ops;

struct wsd_fan {
    const wsd_fan_ops *ops;      /* set by the fan's owner */
    int busy;                    /* the owner's, through wsd_fan_busy */
    /* the core's */
    wsd_core *core;
    wsd_fan *prev, *next;
    long members;
};

/* The fan cannot take more output now (1) or can again (0). A busy fan is
 * a --workers process whose link has too much waiting: the program's
 * output is not read while any fan is busy (the server's own backpressure,
 * as one process reads no faster than it frames). Slow *clients* never
 * make a fan busy: each fan bounds its members' queues itself (shared.c). */
void wsd_fan_busy(wsd_fan *f, int busy);

typedef struct {
    const char *key;             /* the endpoint's key (cfgsnap.h), "\n", the --dir script's
                                  * real path (or nothing) */
    const char *name;            /* for the log: COMMAND, or the script */
    const char *file;            /* what to execute */
    char *const *argv;
    const char *script_name;     /* SCRIPT_NAME */
    const char *script_file;     /* PATH_TRANSLATED (--dir), or NULL */
} wsd_core_spec;

/* The core of an endpoint, made on first use with the options cfg of the
 * snapshot snap (which it holds while it lives), with a reference for the
 * caller: wsd_core_put lets it go. A core nobody refers to is freed once
 * its program is gone (not while --sharedalways keeps it running). */
wsd_core *wsd_core_get(uv_loop_t *loop, wsd_cfgsnap *snap, const wsd_config *cfg,
                       const wsd_core_spec *spec);
void wsd_core_put(wsd_core *c);
/* The core of `key` if one exists (with a reference for the caller), else NULL. */
wsd_core *wsd_core_find(const char *key);
/* Starts the program unless it runs: 0 or a negative errno. */
int wsd_core_start(wsd_core *c);
int wsd_core_pid(const wsd_core *c);
const char *wsd_core_assoc(const wsd_core *c);

/* A member joins at fan f (the program is started if it does not run: on
 * failure f->ops->ended(..., failed) follows). joinrec: its join record
 * (addressed mode), or NULL. */
void wsd_core_join(wsd_core *c, wsd_fan *f, const char *id, const char *joinrec, size_t len);
/* ... again after a restart (the record only). */
void wsd_core_rejoin(wsd_core *c, const char *joinrec, size_t len);
/* A member leaves with `code` (the leave record); on demand the last one
 * ends the program. */
void wsd_core_leave(wsd_core *c, wsd_fan *f, const char *id, int code);
/* Fan f is gone (its process died): its members leave (1006). */
void wsd_core_fan_gone(wsd_fan *f);

/* A whole message of member `id` for the program's stdin. */
void wsd_core_input(wsd_core *c, const char *id, int opcode, const void *p, size_t n);
int wsd_core_stdin_full(const wsd_core *c);
size_t wsd_core_stdin_queued(const wsd_core *c);

/* --sharedalways: the programs of snap's endpoints (COMMAND, a route's
 * command) run from now on; those of an earlier snapshot that snap does
 * not have any more are no longer restarted, and end when their last
 * member leaves (or at once without members). */
void wsd_core_start_always(uv_loop_t *loop, wsd_cfgsnap *snap);
/* A graceful shutdown: every program is ended, no restart. */
void wsd_core_shutdown_all(void);
/* After the loop has ended: frees every core. */
void wsd_core_free_all(void);

#endif
