/*
 * <porter/iowait.h> -- libporter's wait hook, for hosts such as porterd.
 *
 * This header is for the program that runs plugins, not for plugins: a
 * plugin never sets a waiter, it just calls <porter/socket.h> as usual.
 *
 * Every place where libporter would wait for a descriptor (the recv*,
 * send*, sendall, accept and connect calls, and makefile streams, which
 * use them) goes through one internal wait.  By default that wait is
 * poll(2).  A host that runs handlers cooperatively (fibers on an event
 * loop) installs a waiter for the thread instead; the library then calls
 * it wherever it would block, and the waiter can park the calling fiber
 * until its event loop sees the descriptor ready.
 *
 * With a waiter set on the calling thread, a call on a socket in blocking
 * or timeout mode first tries the operation without blocking (MSG_DONTWAIT,
 * or a descriptor that is non-blocking for that one call) and only on
 * EAGAIN calls wait(arg, fd, events, remaining_ms), then tries again --
 * except a read on a stream socket that has waited for data before and
 * whose previous read was short (its queue was empty then), which waits
 * first.  A waiter must therefore
 * report readiness as poll(2) does, including data that arrived before
 * it was called, not only new edges of an edge-triggered epoll.  The
 * socket's timeout bounds the whole call exactly as in blocking mode (the
 * call fails with PT_ERR_TIMEOUT, ETIMEDOUT when it expires; a waiter
 * that returns 0 early is simply called again for the rest).  In
 * non-blocking mode (timeout 0.0, or MSG_DONTWAIT) the waiter is never
 * called.  Without a waiter, behaviour is what <porter/socket.h> describes.
 *
 * Thread migration: the waiter may switch to another fiber and resume the
 * caller later on ANOTHER OS thread.  The library is written for that:
 * each system call attempt is made in a small out-of-line helper that
 * returns the result or -errno, the retry loops work from those values
 * only, and nothing read from errno or thread-local storage before a wait
 * is used after it; the waiter pointer is read afresh for every wait, so
 * after a migration the waiter of the thread the fiber now runs on is
 * used.  The waiter must itself leave errno meaningful when it returns -1
 * (set on the thread it returns on).
 */
#ifndef PORTER_IOWAIT_H
#define PORTER_IOWAIT_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pt_io_waiter {
	/*
	 * Waits until fd is ready for `events` (POLLIN / POLLOUT) or
	 * timeout_ms passes (-1: no limit).  Returns 1 when ready (an error
	 * or hang-up on fd counts as ready: the retried call reports it), 0
	 * on timeout, -1 with errno set (the library call then fails with
	 * that errno; EINTR makes it wait again).
	 */
	int (*wait)(void *arg, int fd, int events, int timeout_ms);
	/*
	 * Called just before the library closes fd (pt_sock_close,
	 * pt_sock_free, and fclose() of a makefile stream), so the host can
	 * forget it (e.g. EPOLL_CTL_DEL).  Not called for descriptors the
	 * library hands over (pt_sock_detach, pt_sock_accept_fd).  May be
	 * NULL.
	 */
	void (*closing)(void *arg, int fd);
	void *arg;		/* passed to both, untouched */
} pt_io_waiter;

/*
 * Sets the calling thread's waiter (NULL: the library polls with poll(2)
 * itself).  Returns the previous one.  The waiter is borrowed and must
 * outlive its use: until it is replaced, and until every call that may be
 * waiting in it has returned.
 */
const pt_io_waiter *pt_io_set_waiter(const pt_io_waiter *w);

/*
 * The library's own wait, for host code that reads or writes descriptors
 * itself but must wait the way the library does (porterd's PROXY header
 * reader, TLS handshake and relay): waits until fd is ready for `events`
 * (POLLIN / POLLOUT) or timeout_ms passes (-1: no limit), through the
 * calling thread's waiter if one is set, else with poll(2).  Returns 1
 * when ready (an error or hang-up counts as ready), 0 when the time is
 * up, -1 with errno set if the wait failed.  EINTR, and a waiter that
 * returns 0 early, wait again for the time that is left.  Like the socket
 * calls, it may return on another OS thread than it was called on.
 */
int pt_io_wait(int fd, int events, int timeout_ms);

/*
 * What the host knows about the descriptor it is about to hand a handler:
 * the kernel's own SO_DOMAIN, SO_TYPE and SO_PROTOCOL values (read from
 * the listening socket it was accepted from: an accepted socket has its
 * listener's) and whether O_NONBLOCK is set (1, 0, or -1: not known).
 * Until the next call on this thread, pt_fromfd() and pt_sock_adopt() of
 * exactly fd on this thread take these instead of asking the kernel,
 * which saves up to four system calls per connection; the checks against
 * the caller's family, type and proto are the same.  The
 * host must state only what the kernel would answer, and must clear the
 * hint (fd -1) before fd can be closed or reach another handler; porterd
 * sets it just before calling handle() and clears it when handle()
 * returns or its fiber first yields.
 */
void pt_io_fd_hint(int fd, int family, int type, int proto, int nonblock);

#ifdef __cplusplus
}
#endif

#endif /* PORTER_IOWAIT_H */
