/*
 * children.h -- the child processes running handlers, and their end.
 *
 * The spawner thread starts children (children_start, spawner.h) and the
 * control thread reaps them (children_reap, on SIGCHLD).  One lock guards
 * the pid table; it is held across the fork (or clone), so a child that
 * exits at once is never reaped before it is in the table.
 *
 * Every child leads a process group of its own (setsid), and a
 * connection's slot is held until the whole group is gone: when the
 * child porterd started exits while something it started in its group
 * still runs, the connection lingers (its line is logged, with the first
 * child's status, once the group is empty).  porterd is the child
 * subreaper, so those processes are reaped here too.
 */
#ifndef PORTERD_CHILDREN_H
#define PORTERD_CHILDREN_H

#include <stdbool.h>
#include <sys/types.h>

#include "runtime.h"

/*
 * Starts c's child: the service's program (exec; its stderr goes to
 * stderr_fd in "log" mode, -1: /dev/null) or an isolated plugin run.
 * Returns the pid (also in c->pid), or -1 with errno.
 */
pid_t children_start(struct conn *c, int stderr_fd);

/*
 * Control thread: reaps every child that has exited and ends the
 * connections whose process group is gone (dispatch_done).
 */
void children_reap(void);

/*
 * Control thread: c's handler, started by an exec service's launcher
 * (pool.h), has exited (c->status, c->ru set).  If its process group
 * still has members, c lingers here as a child of porterd's own would
 * (they are re-parented to porterd, the subreaper) and true is
 * returned; false: the group is gone, the caller ends c.
 */
bool children_linger(struct conn *c);

/*
 * Control thread: c's launcher died while c's handler (c->pid) ran.  The
 * handler is re-parented to porterd: put it in the pid table, so the
 * reaper ends c with its real status; if porterd reaped it already (the
 * last exits of unknown pids are kept a few seconds), c takes that
 * status and lingers on its group.  False: nothing of it is left, the
 * caller ends c.
 *
 * Lock order: children.c's lock is taken before pool.c's
 * (children_reap() calls pool_reaped()), never under it.
 */
bool children_adopt(struct conn *c);

/*
 * Control thread: sends sig to every child's process group, and to the
 * pool worker of every connection a pool runs (pool_signal_all()).
 */
void children_signal_all(int sig);

#endif
