/*
 * iowait.c -- the per-thread wait hook of <porter/iowait.h>: who waits
 * when a socket call must wait (poll(2), or the host's waiter), and who is
 * told when the library closes a descriptor.
 *
 * The accessors are out of line on purpose (noinline): a caller that may
 * have moved to another OS thread during a wait must reach this thread's
 * variable afresh, never through an address the compiler computed before.
 */
#include "config.h"

#include <errno.h>

#include "porter/iowait.h"
#include "internal.h"

static __thread const pt_io_waiter *cur_waiter;

const pt_io_waiter *
pt_io_set_waiter(const pt_io_waiter *w)
{
	const pt_io_waiter *old = cur_waiter;

	cur_waiter = w;
	return old;
}

__attribute__((noinline)) const pt_io_waiter *
ptl_io_waiter(void)
{
	return cur_waiter;
}

__attribute__((noinline)) int
ptl_io_waiter_wait(const pt_io_waiter *w, int fd, int events, int ms)
{
	int r = w->wait(w->arg, fd, events, ms);

	/* errno as the waiter left it on the thread it returned on. */
	return r < 0 ? -ptl_errno() : r;
}

__attribute__((noinline)) int
ptl_errno(void)
{
	return errno;
}

void
ptl_io_closing(int fd)
{
	const pt_io_waiter *w = ptl_io_waiter();

	if (w != NULL && w->closing != NULL)
		w->closing(w->arg, fd);
}
