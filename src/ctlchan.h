/* ctlchan.h — the supervisor's channel to each process it forks (--workers:
 * the workers and the hub process), for reloads (reload.c, hublink.c).
 *
 * A socketpair made before each fork: the supervisor keeps one end
 * (blocking, plain system calls: it runs no event loop), the child the
 * other (read from its libuv loop). What goes down it is a configuration
 * file's text, checked by the supervisor first: a 4-byte big-endian
 * length, then the text (at most WSD_CTL_MAX bytes). The child answers
 * each with one byte once it has applied it (1) or refused it (0), so the
 * supervisor can have the hub process reload before the workers name its
 * new endpoints. Every wait of the supervisor is bounded
 * (WSD_CTL_TIMEOUT_MS); a child that does not read is skipped and logged. */
#ifndef WSD_CTLCHAN_H
#define WSD_CTLCHAN_H

#include <stddef.h>
#include <uv.h>

#define WSD_CTL_MAX (1024 * 1024 + 4096)
#define WSD_CTL_TIMEOUT_MS 2000

/* ---- Supervisor side (no libuv) ---- */

/* A pair: fds[0] the supervisor's, fds[1] the child's (both close-on-exec).
 * 0 or -errno. */
int wsd_ctl_pair(int fds[2]);
/* Sends text[0..len) to the child at fd. 0, or -1 (it could not be sent
 * within the timeout: the child is stuck or gone). */
int wsd_ctl_send(int fd, const char *text, size_t len);
/* Waits (bounded) for the child's answer to what was sent: 1 applied, 0
 * refused, -1 no answer. */
int wsd_ctl_wait_ack(int fd);

/* ---- Child side: on its loop ---- */

typedef struct wsd_ctl wsd_ctl;
/* A text arrived: returns 1 if applied, 0 if refused (the answer sent). */
typedef int (*wsd_ctl_cb)(void *data, const char *text, size_t len);

/* Reads fd (the child's end) on loop; each whole text goes to cb. The
 * handle does not keep the loop alive. NULL on failure. */
wsd_ctl *wsd_ctl_open(uv_loop_t *loop, int fd, wsd_ctl_cb cb, void *data);
/* Closes it (at shutdown); NULL is fine. */
void wsd_ctl_close(wsd_ctl *c);

#endif
