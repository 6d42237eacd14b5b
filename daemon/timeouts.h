/*
 * timeouts.h -- cutting connections whose idle time or lifetime is up.
 */
#ifndef PORTERD_TIMEOUTS_H
#define PORTERD_TIMEOUTS_H

#include "conn.h"

/*
 * Walks every event loop's live conns once; called every second by the
 * control loop.  A conn past its service's max-lifetime, or idle longer
 * than its idle-timeout, is cut: logged, its socket shut down (the handler
 * sees EOF and its sends fail), and a child handler's process group gets
 * SIGTERM, then SIGKILL two seconds later if it is still there.
 */
void timeouts_check(void);

/*
 * c's child handler (c->pid > 0) is to go: its process group gets
 * SIGTERM now, and timeouts_check() sends SIGKILL after the grace.  For
 * whoever cut c (c->cut set), on the control thread, including when the
 * child's pid becomes known only after the cut (a pool's STARTED).
 */
void timeouts_kill(struct conn *c);

#endif
