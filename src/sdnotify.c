/* sdnotify.c — systemd notifications (see sdnotify.h). */
#include "sdnotify.h"

#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>

static int handed_over;

static int enabled(void)
{
    const char *s = getenv("NOTIFY_SOCKET");
    return s && *s && !handed_over;
}

void wsd_sd_ready(const char *status)
{
    if (enabled())
        sd_notifyf(0, "READY=1\nSTATUS=%s", status ? status : "");
}

void wsd_sd_reloading(void)
{
    struct timespec ts;

    if (!enabled())
        return;
    /* MONOTONIC_USEC: what systemd 253's Type=notify-reload asks for too */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
               (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
}

void wsd_sd_stopping(const char *status)
{
    if (enabled())
        sd_notifyf(0, "STOPPING=1\nSTATUS=%s", status ? status : "");
}

void wsd_sd_mainpid(pid_t pid, const char *status)
{
    if (enabled())
        sd_notifyf(0, "MAINPID=%ld\nREADY=1\nSTATUS=%s", (long)pid, status ? status : "");
    handed_over = 1;             /* systemd would refuse the rest: not the main pid */
}

uint64_t wsd_sd_watchdog_usec(void)
{
    uint64_t usec = 0;
    return !handed_over && sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}

void wsd_sd_watchdog(void)
{
    if (enabled())
        sd_notify(0, "WATCHDOG=1");
}
