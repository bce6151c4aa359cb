/* defer.c — calls posted to run later from the event loop (see defer.h). */
#include "defer.h"

#include <assert.h>
#include <stddef.h>

static uv_idle_t idle;
static int ready;
static wsd_deferred *head, **tail = &head;
static size_t count;             /* queued */

static void on_idle(uv_idle_t *h)
{
    /* run what is queued now, one at a time from the queue (a callback may
     * cancel a later one); what the callbacks post runs next turn */
    size_t n = count;

    while (n-- > 0 && head) {
        wsd_deferred *d = head;
        head = d->next;
        if (!head)
            tail = &head;
        count--;
        d->next = NULL;
        d->queued = 0;
        d->cb(d);
    }
    if (!head)
        uv_idle_stop(h);
}

int wsd_defer_init(uv_loop_t *loop)
{
    int rc;

    if (ready)
        return 0;
    rc = uv_idle_init(loop, &idle);
    if (rc == 0)
        ready = 1;
    return rc;
}

void wsd_defer_shutdown(void)
{
    if (!ready)
        return;
    assert(!head);
    ready = 0;
    uv_close((uv_handle_t *)&idle, NULL);
}

void wsd_defer(wsd_deferred *d)
{
    assert(ready && d->cb);
    if (d->queued)
        return;
    d->queued = 1;
    d->next = NULL;
    *tail = d;
    tail = &d->next;
    count++;
    uv_idle_start(&idle, on_idle);
}

void wsd_defer_cancel(wsd_deferred *d)
{
    wsd_deferred **pp;

    if (!d->queued)
        return;
    for (pp = &head; *pp; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            if (tail == &d->next)
                tail = pp;
            count--;
            break;
        }
    }
    d->next = NULL;
    d->queued = 0;
}
