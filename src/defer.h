/* defer.h — calls posted to run later from the event loop (nginx's posted
 * events, at wsd's size).
 *
 * A module that must not act inside its caller's call chain — resuming a
 * client's held input when a program's stdin is closed from a close path,
 * pumping decrypted TLS input when a hold is released — posts a
 * wsd_deferred instead, and its callback runs from the loop (a uv_idle
 * handle that is active only while something is posted), after the
 * current callback has returned. Each wsd_deferred is embedded in its
 * owner, posted at most once at a time, and must be cancelled before the
 * owner is freed. One queue per process (wsd runs one loop per process). */
#ifndef WSD_DEFER_H
#define WSD_DEFER_H

#include <uv.h>

typedef struct wsd_deferred wsd_deferred;
struct wsd_deferred {
    void (*cb)(wsd_deferred *d);
    wsd_deferred *next;          /* private */
    int queued;                  /* private */
};

/* Once per loop, before the first post; 0 or a libuv error. */
int wsd_defer_init(uv_loop_t *loop);
/* Closes the idle handle (before uv_loop_close); nothing may be posted. */
void wsd_defer_shutdown(void);

/* Queues d (a no-op if it is queued already): d->cb(d) runs from the loop. */
void wsd_defer(wsd_deferred *d);
/* Takes d off the queue if it is there. */
void wsd_defer_cancel(wsd_deferred *d);

#endif
