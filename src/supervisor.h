/* supervisor.h — --workers=N: the process above the event-loop workers
 * (supervisor.c has the whole story). */
#ifndef WSD_SUPERVISOR_H
#define WSD_SUPERVISOR_H

#include "config.h"
#include "listen.h"

/* Runs n workers on the sockets of *ls (held here for them) until they
 * have all exited after a shutdown, or after an upgrade's drain. Returns
 * the exit status. The signals of wsd_server_signal_set are blocked. With
 * --config, SIGHUP reloads *cfg here (reload.h) and sends the text on. */
int wsd_supervise(wsd_config *cfg, wsd_listen_set *ls, int n);

#endif
