/*
 * notify.h -- telling the service manager what porterd is doing
 * (sd_notify: READY, RELOADING, STOPPING, STATUS, WATCHDOG).  Every call
 * is a no-op when NOTIFY_SOCKET is unset or porterd was built without
 * libsystemd.
 */
#ifndef PORTERD_NOTIFY_H
#define PORTERD_NOTIFY_H

#include <stdint.h>

void notify_ready(const char *status);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *status);
void notify_watchdog(void);
/* The watchdog interval in microseconds, or 0 when none was asked for. */
uint64_t notify_watchdog_usec(void);

#endif
