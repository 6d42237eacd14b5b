/*
 * control_rt.h -- the control socket over the runtime (control_rt.c).
 *
 * Glue only: it opens the control socket named by the config in the
 * control loop's epoll and answers control.c's ops table from the control
 * thread's state (loop_priv.h) and what the event loops share (evloop.h,
 * gate.h, stats.h).  Everything but control_rt_held() is for the control
 * thread.
 */
#ifndef PORTERD_CONTROL_RT_H
#define PORTERD_CONTROL_RT_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"

/*
 * Opens cfg's control socket on epfd.  Returns 0, or -1 when the config
 * names a socket explicitly and it cannot be opened (logged).  The
 * default socket is best effort: a missing directory or a socket another
 * porterd serves is logged and porterd runs without one.
 */
int control_rt_open(const struct config *cfg, int epfd);
void control_rt_tick(void);
/* After each epoll batch: runs reloads asked for in it. */
void control_rt_pending(void);
void control_rt_close(void);

/* True if the operator paused or drained this service (by name).  Any
 * thread (gate.c, under the gate lock). */
struct stats_svc;
bool control_rt_held(const struct stats_svc *st);

#endif
