/* sdnotify.h — telling systemd how the service is doing (Type=notify),
 * through libsystemd's sd_notify. Every call is a no-op when wsd was not
 * started by systemd (NOTIFY_SOCKET unset), and only the service's main
 * process calls them: the only process, or the --workers supervisor.
 *
 *   READY=1       once every socket is accepted on (every worker listens)
 *   RELOADING=1   on SIGHUP, then READY=1 when the reload is done
 *   STOPPING=1    when a graceful shutdown begins
 *   MAINPID=N     an upgrade's new process is ready (takeover.h): systemd
 *                 follows it from then on (NotifyAccess=main is enough),
 *                 and this process says nothing more (a draining wsd's
 *                 STOPPING or WATCHDOG would be refused: not the main pid)
 *   WATCHDOG=1    every half of WATCHDOG_USEC (WatchdogSec=), from the event
 *                 loop (or the supervisor's), so a loop that hangs is killed
 *                 and restarted by systemd
 *   STATUS=...    a line for `systemctl status`
 * NOTIFY_SOCKET and WATCHDOG_USEC stay in wsd's environment (an upgrade's
 * new binary needs them); programs never see them unless --passenv names
 * them. */
#ifndef WSD_SDNOTIFY_H
#define WSD_SDNOTIFY_H

#include <stdint.h>
#include <sys/types.h>

void wsd_sd_ready(const char *status);
void wsd_sd_reloading(void);
void wsd_sd_stopping(const char *status);
void wsd_sd_mainpid(pid_t pid, const char *status);

/* The watchdog interval asked for (WATCHDOG_USEC, when WATCHDOG_PID is
 * unset or this process), in microseconds; 0: none. */
uint64_t wsd_sd_watchdog_usec(void);
void wsd_sd_watchdog(void);

#endif
