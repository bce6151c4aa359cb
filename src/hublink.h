/* hublink.h — --shared with --workers: the link between each worker and the
 * hub process, which runs the shared programs (hubcore.c) for the whole
 * server.
 *
 * Every worker connects to the hub over a Unix socket in a directory of
 * the supervisor's (mode 0700), and speaks linkproto.h's messages: the
 * worker says which of its clients join and leave an endpoint and passes
 * their messages on; the hub sends each endpoint's frames once per worker
 * (each worker fans them out to its own clients), close commands, the end
 * of an instance, stdin backpressure and program starts. When the link
 * breaks (the hub restarted), a worker closes the members of on-demand
 * endpoints with 1011 and reconnects with backoff; with --sharedalways its
 * members stay and rejoin.
 *
 * Worker side: wsd_link_* below. Hub side: wsd_hub_process_run. */
#ifndef WSD_HUBLINK_H
#define WSD_HUBLINK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"

/* What the hub tells a worker, per endpoint key (a shared program's:
 * cfgsnap.h's endpoint key, "\n", a --dir script's real path or nothing). */
typedef struct {
    void (*frames)(const char *key, const uint8_t *p, size_t n, const char *const *to, size_t nto);
    void (*close_member)(const char *key, const char *id, unsigned code, const char *reason);
    void (*ended)(const char *key, int64_t exit_status, int term_signal, int failed);
    void (*stdin_state)(const char *key, int full);
    void (*started)(const char *key, int pid, int restarted);
    /* the answer to a join: the member may get its 101 (or, failed, 500) */
    void (*joined)(const char *key, const char *id, int pid, int failed);
    /* the link broke: every endpoint is affected */
    void (*lost)(void);
    /* the link is up (at start, or again after a loss) */
    void (*restored)(void);
} wsd_link_handler;

/* Worker side: connects to the hub's socket (reconnecting with backoff). */
int wsd_link_start(uv_loop_t *loop, const char *path, const wsd_link_handler *h);
void wsd_link_stop(void);
int wsd_link_up(void);
/* key: the endpoint ("" or the --dir script's real path); file and
 * script_name: the script as requested (argv[0], SCRIPT_NAME), "" for COMMAND. */
void wsd_link_join(const char *key, const char *file, const char *script_name, const char *id,
                   const char *joinrec, size_t len);
void wsd_link_leave(const char *key, const char *id, int code);
void wsd_link_input(const char *key, const char *id, int opcode, const void *p, size_t n);

/* Hub side: the hub process's main (forked by the supervisor before any
 * libuv call): listens on `path`, runs the shared programs, exits 0 after
 * SIGTERM once they have ended. It takes over *cfg (a snapshot of it,
 * cfgsnap.h); the supervisor's reloads come on ctlfd (ctlchan.h; -1:
 * none), are applied before the workers get theirs, and a worker may
 * name an endpoint of the configuration before the last reload. */
int wsd_hub_process_run(wsd_config *cfg, const char *path, int ctlfd);

#endif
