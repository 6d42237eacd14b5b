/*
 * check_sock_util.h -- helpers shared by the socket object's two suites,
 * check_socket.c (lib/socket.c) and check_sockio.c (lib/sockio.c): a
 * monotonic clock for timing assertions, descriptor flag checks, a fd
 * number that is certainly not open, pt_error matching, and ready-made
 * loopback TCP listeners and connected pairs (TCP and AF_UNIX).
 *
 * Everything here is `static inline`: each test program gets its own copy,
 * and one that uses only some of the helpers stays clean under
 * -Wunused-function.  Include it after config.h; it brings in
 * porter/socket.h and check_common.h itself.
 */
#ifndef PORTER_CHECK_SOCK_UTIL_H
#define PORTER_CHECK_SOCK_UTIL_H

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "porter/socket.h"
#include "check_common.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static inline double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void
assert_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	ck_assert_int_ge(fl, 0);
	ck_assert_msg(fl & FD_CLOEXEC, "fd %d is not close-on-exec", fd);
}

static inline int
is_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	ck_assert_int_ge(fl, 0);
	return (fl & O_NONBLOCK) != 0;
}

/* A fd number that is certainly not open. */
static inline int
closed_fd(void)
{
	int fd = dup(0);

	ck_assert_int_ge(fd, 0);
	close(fd);
	return fd;
}

static inline void
assert_err(const pt_error *e, pt_error_kind kind, int code)
{
	ck_assert_msg(e->kind == kind && e->code == code,
	    "want %s/%d, got %s/%d: %s", pt_error_kind_name(kind), code,
	    pt_error_kind_name(e->kind), e->code, e->msg);
}

/* A TCP listener on host port 0; *ret_port gets the kernel's choice. */
static inline pt_sock *
listener(int family, const char *host, int backlog, int *ret_port)
{
	pt_error e;
	pt_addr a;
	pt_sock *l = pt_socket(family, SOCK_STREAM, 0, &e);

	ck_assert_msg(l != NULL, "%s", e.msg);
	ck_assert_msg(pt_sock_bind(l, host, 0, &e) == 0, "%s", e.msg);
	ck_assert_msg(pt_sock_listen(l, backlog, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(pt_sock_getsockname(l, &a, &e), 0);
	*ret_port = pt_addr_port(&a);
	return l;
}

/* A connected loopback TCP pair. */
static inline void
tcp_pair(pt_sock **ret_client, pt_sock **ret_server)
{
	pt_error e;
	pt_sock *l;
	int port;

	l = listener(AF_INET, "127.0.0.1", 1, &port);
	*ret_client = pt_socket(AF_INET, SOCK_STREAM, 0, &e);
	ck_assert_ptr_nonnull(*ret_client);
	ck_assert_msg(pt_sock_connect(*ret_client, "127.0.0.1", port, &e) == 0,
	    "%s", e.msg);
	*ret_server = pt_sock_accept(l, NULL, &e);
	ck_assert_msg(*ret_server != NULL, "%s", e.msg);
	pt_sock_free(l);
}

static inline void
unix_pair(pt_sock *p[2])
{
	pt_error e;

	ck_assert_msg(pt_socketpair(0, 0, 0, p, &e) == 0, "%s", e.msg);
}

/* A loopback port nobody listens on: bound, read, then released. */
static inline int
dead_port(void)
{
	pt_sock *s;
	int port;

	s = listener(AF_INET, "127.0.0.1", 1, &port);
	pt_sock_free(s);
	return port;
}

#endif
