/*
 * sockio.c -- the socket object's calls that may wait for the network:
 * bind, listen, accept, connect (and connect_ex), recv, recv_into,
 * recvfrom, recvfrom_into, send, sendall, sendto, and create_connection on top of them.
 *
 * Every call follows one pattern, Python's three modes made explicit.  The
 * system call is tried first (data or a connection is often already there).
 * If it would block, a blocking socket never gets here, a non-blocking one
 * (timeout 0.0) reports EAGAIN, and a socket in timeout mode poll()s for the
 * remaining time on CLOCK_MONOTONIC, so a wall-clock step can neither cut a
 * wait short nor stretch it, and then tries again.  EINTR is retried
 * everywhere; the caller's signal handlers have already run.  Sends always
 * carry MSG_NOSIGNAL: a closed peer is an EPIPE error, never a SIGPIPE that
 * would kill a daemon that never asked for it.  Error messages name the
 * operation and the address involved, formatted numerically from what the
 * kernel reports, so building a message never touches the resolver.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "porter/iowait.h"
#include "porter/socket.h"
#include "internal.h"

#define NO_DEADLINE	(-1.0)
/* io_again()'s "the timeout expired"; real errno values are positive. */
#define IO_TIMEDOUT	(-1)
/* "<op> <address>" for messages. */
#define LABEL_LEN	(PT_ADDRSTRLEN + 32)

/*
 * One attempt at each system call the waiting calls make: the result, or
 * -errno.  The retry loops below work from these values only.  They are
 * out of line (NOINLINE) because a wait through a host's waiter may resume
 * the caller on another OS thread (<porter/iowait.h>): errno is
 * thread-local, and glibc declares __errno_location() const, so inside one
 * function the compiler may reuse the address it computed before the
 * wait.  Each helper reads errno right after its own call, on the thread
 * it runs on.
 */
#define NOINLINE	__attribute__((noinline))
static NOINLINE ssize_t
try_recvfrom(int fd, void *buf, size_t len, int flags, pt_addr *from)
{
	ssize_t n;

	n = recvfrom(fd, buf, len, flags,
	    from != NULL ? (struct sockaddr *)&from->ss : NULL,
	    from != NULL ? &from->len : NULL);
	return n < 0 ? -(ssize_t)errno : n;
}

static NOINLINE ssize_t
try_sendto(int fd, const void *buf, size_t len, int flags, const pt_addr *to)
{
	ssize_t n;

	n = sendto(fd, buf, len, flags,
	    to != NULL ? (const struct sockaddr *)&to->ss : NULL,
	    to != NULL ? to->len : 0);
	return n < 0 ? -(ssize_t)errno : n;
}

static NOINLINE int
try_accept(int fd, pt_addr *a, int fl)
{
	int cfd = accept4(fd, (struct sockaddr *)&a->ss, &a->len, fl);

	return cfd < 0 ? -errno : cfd;
}

static NOINLINE int
try_connect(int fd, const pt_addr *a)
{
	return connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ?
	    -errno : 0;
}

/* A finished connect's outcome (SO_ERROR, 0 or an errno), or -errno. */
static NOINLINE int
try_sockerror(int fd)
{
	socklen_t len;
	int e;

	len = sizeof(e);
	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0 ? -errno : e;
}

static NOINLINE int
try_getfl(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -errno : fl;
}

static NOINLINE int
try_setfl(int fd, int fl)
{
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

static NOINLINE int
try_poll(int fd, short events, int ms)
{
	struct pollfd p;
	int r;

	p.fd = fd;
	p.events = events;
	p.revents = 0;
	r = poll(&p, 1, ms);
	return r < 0 ? -errno : r;
}

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The effective timeout of one call: MSG_DONTWAIT asks for this call not to
 * wait, whatever the socket's mode.
 */
static double
call_timeout(const pt_sock *s, int flags)
{
	return (flags & MSG_DONTWAIT) ? 0.0 : pt_sock_gettimeout(s);
}

static double
deadline_after(double timeout)
{
	return timeout > 0 ? now_mono() + timeout : NO_DEADLINE;
}

/*
 * The library's one wait for a descriptor: until fd is ready for `events`
 * or the deadline (NO_DEADLINE: none) passes, through the calling thread's
 * waiter if the host set one (<porter/iowait.h>), else poll(2).  Returns 1
 * when ready (errors and hang-ups count: the retried call reports them),
 * 0 when the deadline passed, -errno if the wait failed.  The waiter is
 * read afresh for every wait: the caller may come back on another thread.
 */
static int
io_wait(int fd, short events, double deadline)
{
	const pt_io_waiter *w;
	double left;
	int ms, r;

	for (;;) {
		ms = -1;
		if (deadline >= 0) {
			if ((left = deadline - now_mono()) <= 0)
				return 0;
			/* Rounded up: waking a little early would only spin. */
			ms = left >= INT_MAX / 1000 ? INT_MAX :
			    (int)(left * 1000) + 1;
		}
		if ((w = ptl_io_waiter()) != NULL)
			r = ptl_io_waiter_wait(w, fd, events, ms);
		else
			r = try_poll(fd, events, ms);
		if (r > 0)
			return 1;
		/*
		 * r == 0 loops to re-check the deadline: long timeouts are
		 * capped above, and a waiter that wakes early waits again.
		 */
		if (r < 0 && r != -EINTR)
			return r;
	}
}

/*
 * One waiting call in progress: its descriptor, its timeout and deadline,
 * and whether each attempt is made non-blocking (MSG_DONTWAIT, or a
 * descriptor known to be O_NONBLOCK), so that EAGAIN means "not ready":
 * in timeout and non-blocking mode, and whenever the thread has a waiter.
 * Per-call non-blocking I/O is what lets a socket that shares its file
 * description (pt_fromfd, pt_sock_dup) keep a mode of its own.
 */
struct io {
	int fd;
	double timeout;
	double deadline;
	int nb;
};

static void
io_begin(struct io *io, const pt_sock *s, int fd, int flags)
{
	io->fd = fd;
	io->timeout = call_timeout(s, flags);
	io->deadline = deadline_after(io->timeout);
	/* With a waiter, even a blocking socket must not block the thread. */
	io->nb = io->timeout >= 0 || ptl_io_waiter() != NULL;
}

/*
 * Decides what follows an attempt that failed with errno e.  Returns 0 to
 * try again (after EINTR, or once the descriptor became ready), else the
 * error to report: e itself, IO_TIMEDOUT, or the wait's errno.
 */
static int
io_again(const struct io *io, int e, short events)
{
	int fl, r;

	if (e == EINTR)
		return 0;
	if ((e != EAGAIN && e != EWOULDBLOCK) || io->timeout == 0)
		return e;
	if (!io->nb) {
		/*
		 * A blocking attempt said EAGAIN: either SO_RCVTIMEO or
		 * SO_SNDTIMEO expired, which is reported as the kernel meant
		 * it, or whoever shares the file description made it
		 * non-blocking, and this socket's blocking mode is kept by
		 * waiting here.
		 */
		if ((fl = try_getfl(io->fd)) < 0)
			return -fl;
		if (!(fl & O_NONBLOCK))
			return e;
	}
	r = io_wait(io->fd, events, io->deadline);
	return r > 0 ? 0 : r == 0 ? IO_TIMEDOUT : -r;
}

/* Reports e from io_again()/conn_wait() under `label`.  Returns -1. */
static int
io_fail(pt_error *err, int e, const char *label)
{
	if (e == IO_TIMEDOUT)
		return pt_error_set(err, PT_ERR_TIMEOUT, ETIMEDOUT,
		    "%s: timed out", label);
	return pt_error_os(err, e, "%s", label);
}

static const char *
label_addr(char *buf, size_t len, const char *op, const pt_addr *addr)
{
	char as[PT_ADDRSTRLEN];

	snprintf(buf, len, "%s %s", op, pt_addr_format(addr, as, sizeof(as)));
	return buf;
}

/*
 * "<op> <address>" with the socket's peer (or local) address, or just
 * "<op>" when there is none worth printing: not connected, or an unnamed
 * AF_UNIX end such as either half of a socketpair.
 */
static const char *
label_fd(char *buf, size_t len, const char *op, int fd, int peer)
{
	pt_addr a;
	int r;

	memset(&a, 0, sizeof(a));
	a.len = sizeof(a.ss);
	r = peer ? getpeername(fd, (struct sockaddr *)&a.ss, &a.len) :
	    getsockname(fd, (struct sockaddr *)&a.ss, &a.len);
	if (r < 0 || (a.ss.ss_family == AF_UNIX &&
	    a.len <= offsetof(struct sockaddr_un, sun_path))) {
		snprintf(buf, len, "%s", op);
		return buf;
	}
	return label_addr(buf, len, op, &a);
}

/*
 * Builds the address bind/connect/sendto take: the path for AF_UNIX (port
 * ignored), else the (host, port) pair in the socket's family.  Messages
 * read "connect nosuch.invalid:80: Name or service not known".
 */
static int
sock_addr(const pt_sock *s, const char *op, const char *host, int port,
    pt_addr *out, pt_error *err)
{
	char what[PT_ERROR_MSGLEN];
	pt_error e;

	if (pt_sock_family(s) == AF_UNIX) {
		if (pt_addr_unix(out, host, &e) < 0)
			return pt_error_set(err, e.kind, e.code, "%s: %s", op,
			    e.msg);
		return 0;
	}
	if (host == NULL)
		host = "";
	snprintf(what, sizeof(what), strchr(host, ':') != NULL ?
	    "%s [%s]:%d" : "%s %s:%d", op, host, port);
	return ptl_addr_inet(out, pt_sock_family(s), host, port, what, err);
}

int
pt_sock_bind_addr(pt_sock *s, const pt_addr *addr, pt_error *err)
{
	char label[LABEL_LEN];
	int fd;

	if ((fd = ptl_sock_fd(s, "bind", err)) < 0)
		return -1;
	if (addr == NULL)
		return pt_error_set(err, PT_ERR_ARG, EINVAL, "bind: no address");
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0)
		return pt_error_os(err, errno, "%s",
		    label_addr(label, sizeof(label), "bind", addr));
	return 0;
}

int
pt_sock_bind(pt_sock *s, const char *host, int port, pt_error *err)
{
	pt_addr a;

	if (ptl_sock_fd(s, "bind", err) < 0)
		return -1;
	/*
	 * Python's bind("") on AF_UNIX: an address that is only the family
	 * asks Linux to autobind a unique abstract name ("@" and 5 hex
	 * digits), which getsockname() then reports.
	 */
	if (pt_sock_family(s) == AF_UNIX && (host == NULL || host[0] == '\0')) {
		memset(&a, 0, sizeof(a));
		a.ss.ss_family = AF_UNIX;
		a.len = sizeof(sa_family_t);
		return pt_sock_bind_addr(s, &a, err);
	}
	if (sock_addr(s, "bind", host, port, &a, err) < 0)
		return -1;
	return pt_sock_bind_addr(s, &a, err);
}

int
pt_sock_listen(pt_sock *s, int backlog, pt_error *err)
{
	char label[LABEL_LEN];
	int fd;

	if ((fd = ptl_sock_fd(s, "listen", err)) < 0)
		return -1;
	/* Python 1.5.2 did the same; the kernel caps the top at somaxconn. */
	if (backlog < 1)
		backlog = 1;
	if (listen(fd, backlog) < 0)
		return pt_error_os(err, errno, "%s",
		    label_fd(label, sizeof(label), "listen", fd, 0));
	return 0;
}

/*
 * accept4() has no per-call non-blocking flag.  A socket that owns its
 * file description has O_NONBLOCK exactly when it is in timeout or
 * non-blocking mode, so the attempt is as non-blocking as the mode asks.
 * A shared one (pt_fromfd, pt_sock_dup) must not change the description
 * its other holders see, so when that is blocking the wait comes first and
 * accept4() only follows a pending connection; it can then block only if
 * another holder of the listener takes that connection first.
 */
int
pt_sock_accept_fd(pt_sock *s, pt_addr *ret_peer, int nonblock,
    pt_error *err)
{
	char label[LABEL_LEN];
	struct io io;
	pt_addr a;
	int fd, cfd, e, fl, wait_first = 0, restore = -1;

	if ((fd = ptl_sock_fd(s, "accept", err)) < 0)
		return -1;
	io_begin(&io, s, fd, 0);
	/*
	 * An owning socket in timeout or non-blocking mode has O_NONBLOCK.
	 * One in blocking mode on a thread with a waiter sets it for the one
	 * accept4() call: nobody else holds the description to notice.
	 */
	if (io.nb && (ptl_sock_shared(s) || io.timeout < 0)) {
		if ((fl = try_getfl(fd)) < 0)
			return io_fail(err, -fl, "accept");
		if (!(fl & O_NONBLOCK)) {
			if (ptl_sock_shared(s))
				wait_first = 1;
			else
				restore = fl;
		}
	}
	for (;;) {
		if (wait_first) {
			e = io.timeout == 0 ? try_poll(fd, POLLIN, 0) :
			    io_wait(fd, POLLIN, io.deadline);
			if (e <= 0) {
				e = e < 0 ? -e : io.timeout == 0 ? EAGAIN :
				    IO_TIMEDOUT;
				goto fail;
			}
		}
		memset(&a, 0, sizeof(a));
		a.len = sizeof(a.ss);
		if (restore >= 0 &&
		    (e = try_setfl(fd, restore | O_NONBLOCK)) < 0) {
			e = -e;
			goto fail;
		}
		cfd = try_accept(fd, &a, SOCK_CLOEXEC |
		    (nonblock ? SOCK_NONBLOCK : 0));
		if (restore >= 0 && (e = try_setfl(fd, restore)) < 0) {
			if (cfd >= 0)
				close(cfd);
			e = -e;
			goto fail;
		}
		if (cfd >= 0)
			break;
		e = -cfd;
		if (wait_first && (e == EAGAIN || e == EWOULDBLOCK ||
		    e == EINTR))
			continue;
		if ((e = io_again(&io, e, POLLIN)) != 0)
			goto fail;
	}
	if (ret_peer != NULL)
		*ret_peer = a;
	return cfd;
fail:
	return io_fail(err, e, label_fd(label, sizeof(label), "accept", fd, 0));
}

pt_sock *
pt_sock_accept(pt_sock *s, pt_addr *ret_peer, pt_error *err)
{
	double timeout;
	int cfd;

	if (ptl_sock_fd(s, "accept", err) < 0)
		return NULL;
	/* The child inherits the mode, so its O_NONBLOCK must match too. */
	timeout = pt_sock_gettimeout(s);
	if ((cfd = pt_sock_accept_fd(s, ret_peer, timeout >= 0, err)) < 0)
		return NULL;
	return ptl_sock_new(cfd, pt_sock_family(s), pt_sock_type(s),
	    pt_sock_proto(s), timeout, err);
}

/* Types whose connect() may wait (a datagram connect only sets a peer). */
static int
connect_may_wait(int type)
{
	return type == SOCK_STREAM || type == SOCK_SEQPACKET;
}

/*
 * connect() with the socket's timeout.  Returns 0, or what failed: an
 * errno value, or IO_TIMEDOUT.  The non-blocking EINPROGRESS is left to
 * the caller in non-blocking mode (connect_ex's documented result).
 *
 * connect() has no per-call non-blocking flag either.  On a shared socket
 * whose description is blocking, a timeout or non-blocking mode is kept by
 * setting O_NONBLOCK for the one connect() call and restoring it at once:
 * the connection then completes in the kernel while the wait below polls.
 * Only a stream socket that is not yet connected gets there, and such a
 * socket has no other I/O a holder could be doing meanwhile.
 */
static int
conn_wait(const pt_sock *s, int fd, const pt_addr *addr)
{
	double timeout = pt_sock_gettimeout(s);
	double deadline = deadline_after(timeout);
	int e, r, fl, restore = -1;

	/*
	 * Likewise an owning socket in blocking mode on a thread with a
	 * waiter: its connect must not block the thread either.
	 */
	if (connect_may_wait(pt_sock_type(s)) &&
	    ((timeout >= 0 && ptl_sock_shared(s)) ||
	    (timeout < 0 && ptl_io_waiter() != NULL))) {
		if ((fl = try_getfl(fd)) < 0)
			return -fl;
		if (!(fl & O_NONBLOCK)) {
			if ((r = try_setfl(fd, fl | O_NONBLOCK)) < 0)
				return -r;
			restore = fl;
		}
	}
	r = try_connect(fd, addr);
	if (restore >= 0 && (e = try_setfl(fd, restore)) < 0 && r >= 0)
		r = e;
	if (r == 0)
		return 0;
	e = -r;
	/*
	 * An interrupted connect() goes on in the kernel, and calling it again
	 * would only say EALREADY; so it is finished the way a non-blocking
	 * one is: wait until writable, then read the outcome from SO_ERROR.
	 * EINPROGRESS in blocking mode means someone sharing the description
	 * made it non-blocking: this socket still waits, without a deadline.
	 */
	if (e != EINTR && !(e == EINPROGRESS && timeout != 0))
		return e;
	r = io_wait(fd, POLLOUT, deadline);
	if (r == 0)
		return IO_TIMEDOUT;
	if (r < 0)
		return -r;
	r = try_sockerror(fd);
	return r < 0 ? -r : r;
}

int
pt_sock_connect_addr(pt_sock *s, const pt_addr *addr, pt_error *err)
{
	char label[LABEL_LEN];
	int fd, e;

	if ((fd = ptl_sock_fd(s, "connect", err)) < 0)
		return -1;
	if (addr == NULL)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "connect: no address");
	if ((e = conn_wait(s, fd, addr)) != 0)
		return io_fail(err, e,
		    label_addr(label, sizeof(label), "connect", addr));
	return 0;
}

int
pt_sock_connect(pt_sock *s, const char *host, int port, pt_error *err)
{
	pt_addr a;

	if (ptl_sock_fd(s, "connect", err) < 0 ||
	    sock_addr(s, "connect", host, port, &a, err) < 0)
		return -1;
	return pt_sock_connect_addr(s, &a, err);
}

int
pt_sock_connect_ex_addr(pt_sock *s, const pt_addr *addr, pt_error *err)
{
	char label[LABEL_LEN];
	int fd, e;

	/* A closed socket is misuse, not a connect outcome: it fails. */
	if ((fd = ptl_sock_fd(s, "connect", err)) < 0)
		return -1;
	if (addr == NULL)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "connect: no address");
	if ((e = conn_wait(s, fd, addr)) == 0)
		return 0;
	io_fail(err, e, label_addr(label, sizeof(label), "connect", addr));
	return e == IO_TIMEDOUT ? ETIMEDOUT : e;
}

int
pt_sock_connect_ex(pt_sock *s, const char *host, int port, pt_error *err)
{
	pt_addr a;

	if (ptl_sock_fd(s, "connect", err) < 0 ||
	    sock_addr(s, "connect", host, port, &a, err) < 0)
		return -1;
	return pt_sock_connect_ex_addr(s, &a, err);
}

/* The receive calls' common core; *ret_from gets the sender if asked. */
static ssize_t
sock_recv(pt_sock *s, const char *op, void *buf, size_t len, int flags,
    pt_addr *ret_from, pt_error *err)
{
	char label[LABEL_LEN];
	struct io io;
	pt_addr a;
	ssize_t n;
	int fd, e, stream, rf;

	if ((fd = ptl_sock_fd(s, op, err)) < 0)
		return -1;
	io_begin(&io, s, fd, flags);
	stream = pt_sock_type(s) == SOCK_STREAM && !(flags & MSG_PEEK);
	/*
	 * The last read was short: the queue was empty then, and a try now
	 * would most likely fail.  Wait first (only where a try would be
	 * followed by a wait anyway; the wait reports data that came since,
	 * as poll(2) does and as iowait.h asks of a waiter) -- once this
	 * socket has had to wait for data before: a short exchange, whose
	 * peer's EOF often follows its data at once, keeps trying first.
	 */
	rf = stream ? ptl_sock_rflags(s) : 0;
	if (rf == (PTL_READ_SHORT | PTL_READ_WAITED) && io.nb &&
	    io.timeout != 0 && !(flags & MSG_DONTWAIT)) {
		e = io_wait(fd, POLLIN, io.deadline);
		if (e <= 0)
			return io_fail(err, e == 0 ? IO_TIMEDOUT : -e,
			    label_fd(label, sizeof(label), op, fd, 1));
	}
	for (;;) {
		/* Connected stream sockets report no sender: len 0, AF_UNSPEC. */
		memset(&a, 0, sizeof(a));
		a.len = sizeof(a.ss);
		n = try_recvfrom(fd, buf, len,
		    flags | (io.nb ? MSG_DONTWAIT : 0),
		    ret_from != NULL ? &a : NULL);
		if (n >= 0)
			break;
		if ((e = io_again(&io, (int)-n, POLLIN)) != 0)
			return io_fail(err, e,
			    label_fd(label, sizeof(label), op, fd, 1));
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			rf |= PTL_READ_WAITED;
	}
	if (stream)
		ptl_sock_set_rflags(s, (rf & PTL_READ_WAITED) |
		    (n > 0 && (size_t)n < len ? PTL_READ_SHORT : 0));
	if (ret_from != NULL)
		*ret_from = a;
	return n;
}

/* recv and recvfrom: Python's automatically allocated receive buffer. */
static ssize_t
recv_alloc(pt_sock *s, const char *op, size_t bufsize, int flags,
    char **ret_buf, pt_addr *ret_from, pt_error *err)
{
	char *buf, *p;
	ssize_t n;

	if (ret_buf == NULL)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "%s: no result pointer", op);
	*ret_buf = NULL;
	if (ptl_sock_fd(s, op, err) < 0)
		return -1;
	if (bufsize > SSIZE_MAX - 1)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "%s: bufsize %zu too large", op, bufsize);
	if ((buf = malloc(bufsize + 1)) == NULL)
		return pt_error_os(err, ENOMEM, "%s", op);
	if ((n = sock_recv(s, op, buf, bufsize, flags, ret_from, err)) < 0) {
		free(buf);
		return -1;
	}
	/* MSG_TRUNC reports a datagram's full length, beyond our buffer. */
	if ((size_t)n > bufsize)
		n = (ssize_t)bufsize;
	/* A failed shrink only keeps the larger block, which is harmless. */
	if ((size_t)n < bufsize && (p = realloc(buf, (size_t)n + 1)) != NULL)
		buf = p;
	buf[n] = '\0';
	*ret_buf = buf;
	return n;
}

ssize_t
pt_sock_recv(pt_sock *s, size_t bufsize, int flags, char **ret_buf,
    pt_error *err)
{
	return recv_alloc(s, "recv", bufsize, flags, ret_buf, NULL, err);
}

ssize_t
pt_sock_recvfrom(pt_sock *s, size_t bufsize, int flags, char **ret_buf,
    pt_addr *ret_from, pt_error *err)
{
	return recv_alloc(s, "recvfrom", bufsize, flags, ret_buf, ret_from,
	    err);
}

ssize_t
pt_sock_recv_into(pt_sock *s, void *buf, size_t len, int flags,
    pt_error *err)
{
	return sock_recv(s, "recv_into", buf, len, flags, NULL, err);
}

ssize_t
pt_sock_recvfrom_into(pt_sock *s, void *buf, size_t len, int flags,
    pt_addr *ret_from, pt_error *err)
{
	return sock_recv(s, "recvfrom_into", buf, len, flags, ret_from, err);
}

/*
 * The send calls' common core: one send (or sendto when `to` is given)
 * with the socket's timeout.  Returns the count, or -1 with *ret_e set for
 * io_fail(); labelling is left to the caller, which knows the subject.
 */
static ssize_t
sock_send(const pt_sock *s, int fd, const void *buf, size_t len, int flags,
    const pt_addr *to, int *ret_e)
{
	struct io io;
	ssize_t n;

	io_begin(&io, s, fd, flags);
	for (;;) {
		n = try_sendto(fd, buf, len, flags | MSG_NOSIGNAL |
		    (io.nb ? MSG_DONTWAIT : 0), to);
		if (n >= 0)
			return n;
		if ((*ret_e = io_again(&io, (int)-n, POLLOUT)) != 0)
			return -1;
	}
}

ssize_t
pt_sock_send(pt_sock *s, const void *buf, size_t len, int flags,
    pt_error *err)
{
	char label[LABEL_LEN];
	ssize_t n;
	int fd, e;

	if ((fd = ptl_sock_fd(s, "send", err)) < 0)
		return -1;
	if ((n = sock_send(s, fd, buf, len, flags, NULL, &e)) < 0)
		return io_fail(err, e,
		    label_fd(label, sizeof(label), "send", fd, 1));
	return n;
}

int
pt_sock_sendall(pt_sock *s, const void *buf, size_t len, int flags,
    size_t *ret_sent, pt_error *err)
{
	const char *p = buf;
	char label[LABEL_LEN];
	size_t sent = 0;
	ssize_t n;
	int fd, e = 0;

	if (ret_sent != NULL)
		*ret_sent = 0;
	if ((fd = ptl_sock_fd(s, "sendall", err)) < 0)
		return -1;
	/*
	 * Each send gets the whole timeout afresh: it bounds how long the
	 * peer may leave us without room, not the transfer, so a slow but
	 * live reader is not cut off in the middle of a large reply.
	 */
	while (sent < len) {
		if ((n = sock_send(s, fd, p + sent, len - sent, flags, NULL,
		    &e)) < 0)
			break;
		sent += (size_t)n;
	}
	if (ret_sent != NULL)
		*ret_sent = sent;
	if (sent < len)
		return io_fail(err, e,
		    label_fd(label, sizeof(label), "sendall", fd, 1));
	return 0;
}

ssize_t
pt_sock_sendto_addr(pt_sock *s, const void *buf, size_t len, int flags,
    const pt_addr *addr, pt_error *err)
{
	char label[LABEL_LEN];
	ssize_t n;
	int fd, e;

	if ((fd = ptl_sock_fd(s, "sendto", err)) < 0)
		return -1;
	if (addr == NULL)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "sendto: no address");
	if ((n = sock_send(s, fd, buf, len, flags, addr, &e)) < 0)
		return io_fail(err, e,
		    label_addr(label, sizeof(label), "sendto", addr));
	return n;
}

ssize_t
pt_sock_sendto(pt_sock *s, const void *buf, size_t len, int flags,
    const char *host, int port, pt_error *err)
{
	pt_addr a;

	if (ptl_sock_fd(s, "sendto", err) < 0 ||
	    sock_addr(s, "sendto", host, port, &a, err) < 0)
		return -1;
	return pt_sock_sendto_addr(s, buf, len, flags, &a, err);
}

pt_sock *
pt_create_connection(const char *host, int port, double timeout,
    const pt_addr *source, pt_error *err)
{
	pt_addrinfo *res, *ai;
	pt_sock *s = NULL;
	pt_error last;
	char serv[16];

	if (port < 0 || port > 65535) {
		pt_error_set(err, PT_ERR_ARG, ERANGE,
		    "create_connection: port %d out of range", port);
		return NULL;
	}
	snprintf(serv, sizeof(serv), "%d", port);
	if ((res = pt_getaddrinfo(host, serv, AF_UNSPEC, SOCK_STREAM, 0, 0,
	    err)) == NULL)
		return NULL;
	/*
	 * Every address is tried in the resolver's order ("localhost" may
	 * give ::1 before 127.0.0.1); only the last failure is reported, as
	 * Python does.  A private error keeps the caller's intact until then;
	 * its first value only shows if the resolver returned no row at all.
	 */
	pt_error_set(&last, PT_ERR_OS, EADDRNOTAVAIL,
	    "create_connection %s: no address", host != NULL ? host : "");
	for (ai = res; ai != NULL; ai = ai->next) {
		if ((s = pt_socket(ai->family, ai->type, ai->proto,
		    &last)) != NULL &&
		    pt_sock_settimeout(s, timeout, &last) == 0 &&
		    (source == NULL ||
		    pt_sock_bind_addr(s, source, &last) == 0) &&
		    pt_sock_connect_addr(s, &ai->addr, &last) == 0)
			break;
		pt_sock_free(s);
		s = NULL;
	}
	pt_addrinfo_free(res);
	if (s == NULL)
		pt_error_set(err, last.kind, last.code, "%s", last.msg);
	return s;
}
