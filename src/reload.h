/* reload.h — SIGHUP: the --config file read again (docs/config.md).
 *
 * A reload makes a new configuration snapshot (cfgsnap.h) from the file's
 * text under the same command line (config.h: wsd_config_reparse) and
 * makes it current: requests whose head arrives from then on get the new
 * routes and options; connections already open keep the snapshot they
 * started with, so their program and options never change. A file with a
 * problem — or one that changes a setting that only a restart can change
 * (listeners, TLS, --workers) — is logged ("Configuration not reloaded:
 * FILE:LINE: key: problem") and the running configuration stays.
 * --sharedalways programs of new endpoints start; those no longer
 * configured are not restarted and end with their last client.
 *
 * With --workers the supervisor reads and checks the file once and sends
 * its text to the hub process (which applies it and answers before
 * anyone names its new endpoints) and then to each worker, over the
 * channel of ctlchan.h: every process runs the same text, and a worker
 * that drops privileges (--user) need not be able to read the file. A
 * worker restarted later starts with the supervisor's current one.
 * Without --config, SIGHUP reads the --htpasswd files again (access.h),
 * or changes nothing (logged). A reload also reads every --htpasswd file
 * its configuration names. */
#ifndef WSD_RELOAD_H
#define WSD_RELOAD_H

#include <stddef.h>

#include "config.h"
#include "conn.h"

/* SIGHUP in a server process (alone, or a worker signalled directly):
 * the file is read again and applied. */
void wsd_reload_signal(server *srv);

/* A worker: reloads sent by the supervisor arrive on fd (ctlchan.h). */
void wsd_reload_listen(server *srv, int fd);
/* ... and stop (the server is shutting down or exiting). */
void wsd_reload_stop(void);

/* The supervisor (no event loop), on SIGHUP with --config: reads and
 * checks the file against *cfg; if it is good, *cfg becomes the new
 * configuration (for workers started from now on) and its text goes to
 * the hub process at hubfd (-1: none; its answer awaited) and then to
 * each worker's fd in fds[0..n) (-1: none). 0 if reloaded, -1 if not
 * (logged). */
int wsd_reload_supervise(wsd_config *cfg, int hubfd, const int *fds, int n);

#endif
