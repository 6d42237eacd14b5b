/*
 * notify.c -- sd_notify(3) messages for Type=notify units.
 *
 * RELOADING=1 carries MONOTONIC_USEC so that systemd >= 253's
 * Type=notify-reload accepts it; older managers ignore the extra field.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "notify.h"

#ifdef HAVE_SYSTEMD
void
notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void
notify_status(const char *status)
{
	sd_notifyf(0, "STATUS=%s", status);
}

void
notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

uint64_t
notify_watchdog_usec(void)
{
	uint64_t usec = 0;

	return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}
#else
void notify_ready(const char *status) { (void)status; }
void notify_reloading(void) { }
void notify_stopping(void) { }
void notify_status(const char *status) { (void)status; }
void notify_watchdog(void) { }
uint64_t notify_watchdog_usec(void) { return 0; }
#endif
