/*
 * socket.c -- the socket object (Python's SocketType) and the calls on it
 * that never wait: creation (pt_socket, pt_fromfd, pt_socketpair, dup),
 * ownership (close, free, detach), the family/type/proto record, socket
 * options, the blocking/timeout mode, shutdown and the local and peer
 * addresses (makefile is sockfile.c's).  Calls that may wait for the network live in sockio.c and
 * reach the object through ptl_sock_new() and ptl_sock_fd().
 *
 * The mode lives in the object.  On a socket that owns its file
 * description (pt_socket, pt_socketpair, accept, pt_sock_adopt) it is also
 * mirrored in O_NONBLOCK: set in non-blocking and timeout mode, clear in
 * blocking mode, so a caller using the bare descriptor sees Python's
 * behaviour.  A socket that shares its description with a descriptor it
 * does not own (pt_fromfd, pt_sock_dup and its original, makefile) never
 * changes O_NONBLOCK, since that would change the mode of every other
 * holder: sockio.c makes each call non-blocking by itself instead.  Every descriptor made here is
 * close-on-exec from the moment it exists (SOCK_CLOEXEC, F_DUPFD_CLOEXEC),
 * so a fork+exec in another thread can never inherit it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "porter/socket.h"
#include "internal.h"

struct pt_sock {
	int fd;			/* -1 once closed or detached */
	int family;		/* AF_* */
	int type;		/* SOCK_*, without SOCK_NONBLOCK/SOCK_CLOEXEC */
	int proto;		/* as given or detected; 0 = the default */
	double timeout;		/* PT_TIMEOUT_NONE, 0.0, or seconds */
	int shared;		/* the description has other holders */
	int rflags;		/* stream: PTL_READ_* (sockio.c) */
};

/* Creation flags a caller may OR into a type; never part of the type. */
#define SOCK_FLAGS (SOCK_NONBLOCK | SOCK_CLOEXEC)

/* A constant's name for messages, or its number if the table lacks it. */
static const char *
const_label(const char *prefix, long value, char *buf, size_t len)
{
	const pt_const *c = pt_const_name(prefix, value);

	if (c != NULL)
		return c->name;
	snprintf(buf, len, "%ld", value);
	return buf;
}

/*
 * A socket option's name for messages.  Option numbers repeat across
 * levels (1 is SO_DEBUG and TCP_NODELAY), so the row must match the level.
 */
static const char *
sockopt_label(int level, int opt, char *buf, size_t len)
{
	const pt_const *t;
	size_t i, n;

	t = pt_const_table(&n);
	for (i = 0; t != NULL && i < n; i++)
		if (t[i].level == level && t[i].value == opt)
			return t[i].name;
	snprintf(buf, len, "%d/%d", level, opt);
	return buf;
}

pt_sock *
ptl_sock_new(int fd, int family, int type, int proto, double timeout,
    pt_error *err)
{
	pt_sock *s;

	if ((s = malloc(sizeof(*s))) == NULL) {
		close(fd);
		pt_error_os(err, ENOMEM, "socket");
		return NULL;
	}
	s->fd = fd;
	s->family = family;
	s->type = type & ~SOCK_FLAGS;
	s->proto = proto;
	s->timeout = timeout;
	s->shared = 0;
	s->rflags = 0;
	return s;
}

int
ptl_sock_shared(const pt_sock *s)
{
	return s->shared;
}

int
ptl_sock_rflags(const pt_sock *s)
{
	return s->rflags;
}

void
ptl_sock_set_rflags(pt_sock *s, int rflags)
{
	s->rflags = rflags;
}

int
ptl_sock_fd(const pt_sock *s, const char *op, pt_error *err)
{
	if (s == NULL)
		return pt_error_set(err, PT_ERR_ARG, EINVAL, "%s: no socket",
		    op);
	if (s->fd < 0)
		return pt_error_os(err, EBADF, "%s: socket is closed", op);
	return s->fd;
}

pt_sock *
pt_socket(int family, int type, int proto, pt_error *err)
{
	char b1[16], b2[16];
	int fd;

	if ((fd = socket(family, type | SOCK_CLOEXEC, proto)) < 0) {
		pt_error_os(err, errno, "socket %s/%s",
		    const_label("AF_", family, b1, sizeof(b1)),
		    const_label("SOCK_", type & ~SOCK_FLAGS, b2, sizeof(b2)));
		return NULL;
	}
	return ptl_sock_new(fd, family, type, proto,
	    (type & SOCK_NONBLOCK) ? 0.0 : PT_TIMEOUT_NONE, err);
}

/* Reads one SOL_SOCKET integer of a descriptor fromfd was given. */
static int
fd_sockopt(int fd, int opt, int *ret, pt_error *err)
{
	socklen_t len = sizeof(*ret);

	if (getsockopt(fd, SOL_SOCKET, opt, ret, &len) == 0)
		return 0;
	/* Not a socket is a wrong argument, not a failing system. */
	if (errno == ENOTSOCK)
		return pt_error_set(err, PT_ERR_ARG, ENOTSOCK,
		    "fromfd %d: not a socket", fd);
	return pt_error_os(err, errno, "fromfd %d", fd);
}

/*
 * The kernel's record of fd (SO_DOMAIN, SO_TYPE, SO_PROTOCOL), or the
 * host's copy of it (pt_io_fd_hint).
 */
static int
fd_kind(int fd, int *family, int *type, int *proto, int *nonblock,
    pt_error *err)
{
	*nonblock = -1;
	if (ptl_fd_hint(fd, family, type, proto, nonblock) == 0)
		return 0;
	if (fd_sockopt(fd, SO_TYPE, type, err) < 0 ||
	    fd_sockopt(fd, SO_DOMAIN, family, err) < 0 ||
	    fd_sockopt(fd, SO_PROTOCOL, proto, err) < 0)
		return -1;
	return 0;
}

/* Checks a caller's non-zero claim about the descriptor against the kernel. */
static int
fromfd_match(int fd, const char *what, const char *prefix, int given,
    int actual, pt_error *err)
{
	char b1[16], b2[16];

	if (given == 0 || given == actual)
		return 0;
	return pt_error_set(err, PT_ERR_ARG, EPROTOTYPE,
	    "fromfd %d: %s %s given, descriptor is %s", fd, what,
	    const_label(prefix, given, b1, sizeof(b1)),
	    const_label(prefix, actual, b2, sizeof(b2)));
}

pt_sock *
pt_fromfd(int fd, int family, int type, int proto, pt_error *err)
{
	int dfamily, dtype, dproto, fl, nfd, nb;
	pt_sock *s;

	/*
	 * The kernel's own record (SO_DOMAIN, SO_TYPE, SO_PROTOCOL) is
	 * trusted over the caller: Python's fromfd stored whatever it was
	 * told and later formatted addresses for the wrong family.
	 */
	if (fd_kind(fd, &dfamily, &dtype, &dproto, &nb, err) < 0)
		return NULL;
	if (fromfd_match(fd, "family", "AF_", family, dfamily, err) < 0 ||
	    fromfd_match(fd, "type", "SOCK_", type & ~SOCK_FLAGS, dtype,
	    err) < 0 ||
	    fromfd_match(fd, "proto", "IPPROTO_", proto, dproto, err) < 0)
		return NULL;
	if (nb >= 0)
		fl = nb ? O_NONBLOCK : 0;	/* the host said */
	else if ((fl = fcntl(fd, F_GETFL)) < 0) {
		pt_error_os(err, errno, "fromfd %d", fd);
		return NULL;
	}
	if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		pt_error_os(err, errno, "fromfd %d", fd);
		return NULL;
	}
	if ((s = ptl_sock_new(nfd, dfamily, dtype, dproto,
	    (fl & O_NONBLOCK) ? 0.0 : PT_TIMEOUT_NONE, err)) != NULL)
		s->shared = 1;
	return s;
}

pt_sock *
pt_sock_adopt(int fd, int family, int type, int proto, pt_error *err)
{
	int dfamily, dtype, dproto, fl, nb;
	pt_sock *s;

	if (fd_kind(fd, &dfamily, &dtype, &dproto, &nb, err) < 0)
		return NULL;
	if (fromfd_match(fd, "family", "AF_", family, dfamily, err) < 0 ||
	    fromfd_match(fd, "type", "SOCK_", type & ~SOCK_FLAGS, dtype,
	    err) < 0 ||
	    fromfd_match(fd, "proto", "IPPROTO_", proto, dproto, err) < 0)
		return NULL;
	/* The object owns it now, so it follows the library's rule. */
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		pt_error_os(err, errno, "adopt %d", fd);
		return NULL;
	}
	/* Not ptl_sock_new(): a failed adoption leaves fd to the caller. */
	if ((s = malloc(sizeof(*s))) == NULL) {
		pt_error_os(err, ENOMEM, "adopt %d", fd);
		return NULL;
	}
	s->fd = fd;
	s->family = dfamily;
	s->type = dtype;
	s->proto = dproto;
	s->timeout = (fl & O_NONBLOCK) ? 0.0 : PT_TIMEOUT_NONE;
	s->shared = 0;
	s->rflags = 0;
	return s;
}

int
pt_socketpair(int family, int type, int proto, pt_sock *ret[2],
    pt_error *err)
{
	pt_sock *a = NULL, *b;
	int fds[2];

	if (family == 0)
		family = AF_UNIX;
	if ((type & ~SOCK_FLAGS) == 0)
		type |= SOCK_STREAM;
	if (socketpair(family, type | SOCK_CLOEXEC, proto, fds) < 0)
		return pt_error_os(err, errno, "socketpair");
	/* ptl_sock_new closes fds[0] if it fails; fds[1] is still ours. */
	if ((a = ptl_sock_new(fds[0], family, type, proto,
	    (type & SOCK_NONBLOCK) ? 0.0 : PT_TIMEOUT_NONE, err)) == NULL) {
		close(fds[1]);
		goto fail;
	}
	if ((b = ptl_sock_new(fds[1], family, type, proto, a->timeout,
	    err)) == NULL)
		goto fail;
	ret[0] = a;
	ret[1] = b;
	return 0;
fail:
	pt_sock_free(a);
	return -1;
}

int
pt_sock_close(pt_sock *s, pt_error *err)
{
	int fd;

	if (s == NULL || s->fd < 0)
		return 0;
	fd = s->fd;
	s->fd = -1;
	/* A host with a waiter forgets fd before its number can be reused. */
	ptl_io_closing(fd);
	/*
	 * Linux releases the descriptor even when close() fails, so it is
	 * never retried; EINTR in particular means "closed, data may be lost
	 * for a lingering socket", which is not worth failing the caller for.
	 */
	if (close(fd) < 0 && errno != EINTR)
		return pt_error_os(err, errno, "close");
	return 0;
}

void
pt_sock_free(pt_sock *s)
{
	if (s == NULL)
		return;
	pt_sock_close(s, NULL);
	free(s);
}

/*
 * The accessors have no pt_error to fill, so a NULL object is reported the
 * way a system call reports a bad argument: the error value, errno EINVAL.
 */
int
pt_sock_detach(pt_sock *s)
{
	int fd;

	if (s == NULL) {
		errno = EINVAL;
		return -1;
	}
	fd = s->fd;
	s->fd = -1;
	return fd;
}

int
pt_sock_fileno(const pt_sock *s)
{
	if (s == NULL) {
		errno = EINVAL;
		return -1;
	}
	return s->fd;
}

int
pt_sock_family(const pt_sock *s)
{
	if (s == NULL) {
		errno = EINVAL;
		return -1;
	}
	return s->family;
}

int
pt_sock_type(const pt_sock *s)
{
	if (s == NULL) {
		errno = EINVAL;
		return -1;
	}
	return s->type;
}

int
pt_sock_proto(const pt_sock *s)
{
	if (s == NULL) {
		errno = EINVAL;
		return -1;
	}
	return s->proto;
}

pt_sock *
ptl_sock_dup(pt_sock *s, const char *op, pt_error *err)
{
	pt_sock *d;
	int fd, nfd;

	if ((fd = ptl_sock_fd(s, op, err)) < 0)
		return NULL;
	if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		pt_error_os(err, errno, "%s", op);
		return NULL;
	}
	/*
	 * The two now share one description: from here on neither may
	 * change O_NONBLOCK, which the duplicate inherits with the timeout.
	 */
	if ((d = ptl_sock_new(nfd, s->family, s->type, s->proto, s->timeout,
	    err)) == NULL)
		return NULL;
	s->shared = 1;
	d->shared = 1;
	return d;
}

pt_sock *
pt_sock_dup(pt_sock *s, pt_error *err)
{
	return ptl_sock_dup(s, "dup", err);
}

int
pt_sock_getsockopt(pt_sock *s, int level, int opt, int *ret_value,
    pt_error *err)
{
	socklen_t len = sizeof(*ret_value);
	char b[32];
	int fd;

	if ((fd = ptl_sock_fd(s, "getsockopt", err)) < 0)
		return -1;
	if (ret_value == NULL)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "getsockopt: no result pointer");
	if (getsockopt(fd, level, opt, ret_value, &len) < 0)
		return pt_error_os(err, errno, "getsockopt %s",
		    sockopt_label(level, opt, b, sizeof(b)));
	return 0;
}

int
pt_sock_getsockopt_buf(pt_sock *s, int level, int opt, void *buf,
    size_t *inout_len, pt_error *err)
{
	socklen_t len;
	char b[32];
	int fd;

	if (buf == NULL || inout_len == NULL)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "getsockopt: no buffer");
	/* Python's bound, kept so a wild length cannot reach the kernel. */
	if (*inout_len < 1 || *inout_len > 1024)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "getsockopt buflen out of range");
	if ((fd = ptl_sock_fd(s, "getsockopt", err)) < 0)
		return -1;
	len = (socklen_t)*inout_len;
	if (getsockopt(fd, level, opt, buf, &len) < 0)
		return pt_error_os(err, errno, "getsockopt %s",
		    sockopt_label(level, opt, b, sizeof(b)));
	*inout_len = len;
	return 0;
}

int
pt_sock_setsockopt(pt_sock *s, int level, int opt, int value,
    pt_error *err)
{
	return pt_sock_setsockopt_buf(s, level, opt, &value, sizeof(value),
	    err);
}

int
pt_sock_setsockopt_buf(pt_sock *s, int level, int opt, const void *buf,
    size_t len, pt_error *err)
{
	char b[32];
	int fd;

	if (len > INT_MAX)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "setsockopt %s: value too long",
		    sockopt_label(level, opt, b, sizeof(b)));
	if ((fd = ptl_sock_fd(s, "setsockopt", err)) < 0)
		return -1;
	if (setsockopt(fd, level, opt, buf, (socklen_t)len) < 0)
		return pt_error_os(err, errno, "setsockopt %s",
		    sockopt_label(level, opt, b, sizeof(b)));
	return 0;
}

/*
 * The one place the blocking mode changes, so the timeout and O_NONBLOCK
 * of an owning socket can never disagree: the timeout is stored only once
 * fcntl succeeded.  A shared socket keeps its mode to itself.
 */
static int
set_mode(pt_sock *s, double timeout, const char *op, pt_error *err)
{
	int fd, fl, nfl;

	if (isnan(timeout))
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "%s: timeout is not a number", op);
	if ((fd = ptl_sock_fd(s, op, err)) < 0)
		return -1;
	if (timeout < 0)
		timeout = PT_TIMEOUT_NONE;
	if (s->shared) {
		s->timeout = timeout;
		return 0;
	}
	if ((fl = fcntl(fd, F_GETFL)) < 0)
		return pt_error_os(err, errno, "%s", op);
	nfl = timeout < 0 ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
	if (nfl != fl && fcntl(fd, F_SETFL, nfl) < 0)
		return pt_error_os(err, errno, "%s", op);
	s->timeout = timeout;
	return 0;
}

int
pt_sock_setblocking(pt_sock *s, int flag, pt_error *err)
{
	return set_mode(s, flag ? PT_TIMEOUT_NONE : 0.0, "setblocking", err);
}

int
pt_sock_settimeout(pt_sock *s, double seconds, pt_error *err)
{
	return set_mode(s, seconds, "settimeout", err);
}

double
pt_sock_gettimeout(const pt_sock *s)
{
	/* NAN, not -1.0: that is PT_TIMEOUT_NONE, a valid answer. */
	if (s == NULL) {
		errno = EINVAL;
		return NAN;
	}
	return s->timeout;
}

int
pt_sock_shutdown(pt_sock *s, int how, pt_error *err)
{
	static const char *const names[] = { "SHUT_RD", "SHUT_WR",
	    "SHUT_RDWR" };
	int fd;

	if ((fd = ptl_sock_fd(s, "shutdown", err)) < 0)
		return -1;
	if (shutdown(fd, how) < 0) {
		if (how >= 0 && how <= 2)
			return pt_error_os(err, errno, "shutdown %s",
			    names[how]);
		return pt_error_os(err, errno, "shutdown %d", how);
	}
	return 0;
}

/* getsockname/getpeername share everything but the call. */
static int
sock_name(pt_sock *s, int peer, pt_addr *ret, pt_error *err)
{
	const char *op = peer ? "getpeername" : "getsockname";
	pt_addr a;
	int fd, r;

	if ((fd = ptl_sock_fd(s, op, err)) < 0)
		return -1;
	if (ret == NULL)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "%s: no result pointer", op);
	memset(&a, 0, sizeof(a));
	a.len = sizeof(a.ss);
	r = peer ? getpeername(fd, (struct sockaddr *)&a.ss, &a.len) :
	    getsockname(fd, (struct sockaddr *)&a.ss, &a.len);
	if (r < 0)
		return pt_error_os(err, errno, "%s", op);
	*ret = a;
	return 0;
}

int
pt_sock_getsockname(pt_sock *s, pt_addr *ret, pt_error *err)
{
	return sock_name(s, 0, ret, err);
}

int
pt_sock_getpeername(pt_sock *s, pt_addr *ret, pt_error *err)
{
	return sock_name(s, 1, ret, err);
}
