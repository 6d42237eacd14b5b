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
#include <limits.h>
#include <poll.h>
#include <time.h>

#include "porter/iowait.h"
#include "internal.h"

static __thread const pt_io_waiter *cur_waiter;
static __thread struct {
	int fd, family, type, proto, nonblock;
} fd_hint = { -1, 0, 0, 0, -1 };

const pt_io_waiter *
pt_io_set_waiter(const pt_io_waiter *w)
{
	const pt_io_waiter *old = cur_waiter;

	cur_waiter = w;
	return old;
}

void
pt_io_fd_hint(int fd, int family, int type, int proto, int nonblock)
{
	fd_hint.fd = fd;
	fd_hint.family = family;
	fd_hint.type = type;
	fd_hint.proto = proto;
	fd_hint.nonblock = nonblock;
}

/* Called before any wait, so the thread is the caller's own. */
int
ptl_fd_hint(int fd, int *family, int *type, int *proto, int *nonblock)
{
	if (fd < 0 || fd != fd_hint.fd)
		return -1;
	*family = fd_hint.family;
	*type = fd_hint.type;
	*proto = fd_hint.proto;
	*nonblock = fd_hint.nonblock;
	return 0;
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

	if (fd == fd_hint.fd)
		fd_hint.fd = -1;	/* the number may be reused */
	if (w != NULL && w->closing != NULL)
		w->closing(w->arg, fd);
}

/* Milliseconds on CLOCK_MONOTONIC, for pt_io_wait's deadline. */
__attribute__((noinline)) static long long
iowait_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
pt_io_wait(int fd, int events, int timeout_ms)
{
	long long deadline = 0, left;
	const pt_io_waiter *w;
	struct pollfd p;
	int ms, r;

	if (timeout_ms >= 0)
		deadline = iowait_now_ms() + timeout_ms;
	for (;;) {
		ms = -1;
		if (timeout_ms >= 0) {
			left = deadline - iowait_now_ms();
			if (left < 0)
				left = 0;
			ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		/* Read afresh: a waiter may have moved us to another thread. */
		if ((w = ptl_io_waiter()) != NULL) {
			r = ptl_io_waiter_wait(w, fd, events, ms);
		} else {
			p.fd = fd;
			p.events = (short)events;
			p.revents = 0;
			r = poll(&p, 1, ms);
			r = r < 0 ? -ptl_errno() : r > 0;
		}
		if (r > 0)
			return 1;
		if (r < 0 && r != -EINTR) {
			errno = -r;
			return -1;
		}
		if (r == 0 && ms == 0)
			return 0;
	}
}
