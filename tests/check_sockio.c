/*
 * check_sockio.c -- lib/sockio.c, the socket object's calls that may wait
 * for the network: bind, listen, accept (and accept_fd), connect (and
 * connect_ex), recv, recv_into, recvfrom, send, sendall, sendto, and
 * create_connection; stream, AF_UNIX (paths and abstract names) and UDP
 * round trips, and the timeouts of each in the three blocking modes.  The
 * socket object itself is check_socket.c's.
 *
 * Real sockets only, all on this machine: socketpair(), loopback with port
 * 0, AF_UNIX in a mkdtemp() directory, abstract names with a random suffix.
 * The only name resolved is "localhost".  Every wait is bounded, and every
 * timing assertion has a wide upper bound so a loaded machine cannot fail
 * it, while the lower bound proves that the wait really happened.  Helpers
 * shared with check_socket.c are in check_sock_util.h.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "porter/socket.h"
#include "check_common.h"
#include "check_sock_util.h"

#define BIG		(4u << 20)	/* far beyond any socket buffer */

/* ------------------------------------------------------------ streams */

/* The seed's round trip: listen on "", connect to 127.0.0.1, echo, EOF. */
START_TEST(test_seed_round_trip)
{
	const char msg[] = "Hello, world";
	pt_sock *l, *c, *conn;
	pt_addr peer, local;
	pt_error e;
	char *buf;
	int port;

	l = listener(AF_INET, "", 1, &port);
	c = pt_socket(AF_INET, SOCK_STREAM, 0, &e);
	ck_assert_msg(pt_sock_connect(c, "127.0.0.1", port, &e) == 0, "%s",
	    e.msg);
	conn = pt_sock_accept(l, &peer, &e);
	ck_assert_msg(conn != NULL, "%s", e.msg);
	ck_assert_int_eq(pt_sock_getsockname(c, &local, &e), 0);
	ck_assert(pt_addr_equal(&peer, &local));
	ck_assert_int_eq(pt_sock_getpeername(conn, &peer, &e), 0);
	ck_assert(pt_addr_equal(&peer, &local));

	ck_assert_int_eq(pt_sock_sendall(c, msg, strlen(msg), 0, NULL, &e), 0);
	ck_assert_int_eq(pt_sock_recv(conn, 1024, 0, &buf, &e),
	    (ssize_t)strlen(msg));
	ck_assert_int_eq(pt_sock_send(conn, buf, strlen(buf), 0, &e),
	    (ssize_t)strlen(msg));
	free(buf);
	ck_assert_int_eq(pt_sock_recv(c, 1024, 0, &buf, &e),
	    (ssize_t)strlen(msg));
	ck_assert_str_eq(buf, msg);
	free(buf);
	pt_sock_free(c);
	/* EOF is 0 with a valid, empty buffer: distinct from an error. */
	ck_assert_int_eq(pt_sock_recv(conn, 1024, 0, &buf, &e), 0);
	ck_assert_ptr_nonnull(buf);
	ck_assert_str_eq(buf, "");
	free(buf);
	pt_sock_free(conn);
	pt_sock_free(l);
}
END_TEST

START_TEST(test_recv_into_and_shutdown)
{
	pt_sock *c, *s;
	char b[16], *buf;
	pt_error e;

	tcp_pair(&c, &s);
	ck_assert_int_eq(pt_sock_send(c, "abcdef", 6, 0, &e), 6);
	/* The caller's length bounds the read. */
	ck_assert_int_eq(pt_sock_recv_into(s, b, 4, 0, &e), 4);
	ck_assert_int_eq(memcmp(b, "abcd", 4), 0);
	ck_assert_int_eq(pt_sock_recv_into(s, b, sizeof(b), 0, &e), 2);
	ck_assert_int_eq(memcmp(b, "ef", 2), 0);
	/* SHUT_WR is EOF for the peer, and the other direction still works. */
	ck_assert_int_eq(pt_sock_shutdown(c, SHUT_WR, &e), 0);
	ck_assert_int_eq(pt_sock_recv(s, 16, 0, &buf, &e), 0);
	ck_assert_str_eq(buf, "");
	free(buf);
	ck_assert_int_eq(pt_sock_send(s, "back", 4, 0, &e), 4);
	ck_assert_int_eq(pt_sock_recv_into(c, b, sizeof(b), 0, &e), 4);
	ck_assert_int_eq(pt_sock_send(c, "x", 1, 0, &e), -1);
	assert_err(&e, PT_ERR_OS, EPIPE);
	pt_sock_free(c);
	pt_sock_free(s);
}
END_TEST

START_TEST(test_recv_nonblocking)
{
	pt_sock *p[2];
	pt_error e;
	char *buf = (char *)1;

	unix_pair(p);
	ck_assert_int_eq(pt_sock_setblocking(p[0], 0, &e), 0);
	ck_assert_int_eq(pt_sock_recv(p[0], 10, 0, &buf, &e), -1);
	ck_assert_ptr_null(buf);
	assert_err(&e, PT_ERR_OS, EAGAIN);
	/* MSG_DONTWAIT makes a single call non-blocking too. */
	ck_assert_int_eq(pt_sock_recv(p[1], 10, MSG_DONTWAIT, &buf, &e), -1);
	assert_err(&e, PT_ERR_OS, EAGAIN);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
}
END_TEST

START_TEST(test_recv_timeout)
{
	char want[PT_ERROR_MSGLEN];
	pt_sock *c, *s;
	pt_error e;
	pt_addr a;
	double t0, dt;
	char *buf;

	tcp_pair(&c, &s);
	ck_assert_int_eq(pt_sock_settimeout(s, 0.2, &e), 0);
	t0 = mono();
	ck_assert_int_eq(pt_sock_recv(s, 10, 0, &buf, &e), -1);
	dt = mono() - t0;
	ck_assert_ptr_null(buf);
	assert_err(&e, PT_ERR_TIMEOUT, ETIMEDOUT);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_msg(dt >= 0.19 && dt < 3.0, "waited %.3f s", dt);
	ck_assert_int_eq(pt_sock_getpeername(s, &a, &e), 0);
	snprintf(want, sizeof(want), "recv 127.0.0.1:%d: timed out",
	    pt_addr_port(&a));
	pt_sock_recv(s, 10, 0, &buf, &e);
	ck_assert_str_eq(e.msg, want);
	pt_sock_free(c);
	pt_sock_free(s);
}
END_TEST

/* In timeout mode a recv waits for data that comes later. */
START_TEST(test_recv_timeout_data_arrives)
{
	struct timespec d = { 0, 100 * 1000 * 1000 };
	pt_sock *p[2];
	pt_error e;
	char *buf;
	pid_t pid;
	int st;

	unix_pair(p);
	ck_assert_int_eq(pt_sock_settimeout(p[0], 5.0, &e), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		nanosleep(&d, NULL);
		_exit(pt_sock_send(p[1], "late", 4, 0, NULL) == 4 ? 0 : 1);
	}
	ck_assert_msg(pt_sock_recv(p[0], 10, 0, &buf, &e) == 4, "%s", e.msg);
	ck_assert_str_eq(buf, "late");
	free(buf);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
}
END_TEST

/*
 * A closed peer is EPIPE, never SIGPIPE.  The default disposition is set
 * on purpose: if a send forgot MSG_NOSIGNAL this test dies of the signal.
 */
START_TEST(test_send_closed_peer)
{
	pt_sock *p[2];
	pt_error e;
	size_t sent;

	signal(SIGPIPE, SIG_DFL);
	unix_pair(p);
	pt_sock_free(p[1]);
	ck_assert_int_eq(pt_sock_send(p[0], "x", 1, 0, &e), -1);
	assert_err(&e, PT_ERR_OS, EPIPE);
	ck_assert_str_eq(e.msg, "send: Broken pipe");
	ck_assert_int_eq(pt_sock_sendall(p[0], "xy", 2, 0, &sent, &e), -1);
	assert_err(&e, PT_ERR_OS, EPIPE);
	ck_assert_uint_eq(sent, 0);
	pt_sock_free(p[0]);
}
END_TEST

static unsigned char
pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 4093);
}

/*
 * Reads fd's peer until EOF in a child; returns the byte count, with bit
 * 63 set if any byte differed from pattern().
 */
static pid_t
reader_child(pt_sock *p[2], int result_fd)
{
	unsigned char b[65536];
	unsigned long long n = 0, bad = 0;
	pid_t pid = fork();
	ssize_t r, i;

	ck_assert_int_ge(pid, 0);
	if (pid != 0)
		return pid;
	pt_sock_free(p[0]);
	while ((r = pt_sock_recv_into(p[1], b, sizeof(b), 0, NULL)) > 0)
		for (i = 0; i < r; i++, n++)
			if (b[i] != pattern(n))
				bad = 1ULL << 63;
	n |= bad;
	_exit(r == 0 && write(result_fd, &n, sizeof(n)) == sizeof(n) ? 0 : 1);
}

/* sendall of 4 MiB through a slow-draining pair, blocking and timed. */
static const double sendall_timeouts[] = { PT_TIMEOUT_NONE, 5.0 };

START_TEST(test_sendall_large)
{
	unsigned long long got;
	unsigned char *data;
	pt_sock *p[2];
	pt_error e;
	size_t i, sent;
	int rp[2], st;
	pid_t pid;

	data = malloc(BIG);
	for (i = 0; i < BIG; i++)
		data[i] = pattern(i);
	unix_pair(p);
	ck_assert_int_eq(pipe(rp), 0);
	pid = reader_child(p, rp[1]);
	pt_sock_free(p[1]);
	close(rp[1]);
	ck_assert_int_eq(pt_sock_settimeout(p[0], sendall_timeouts[_i], &e), 0);
	ck_assert_msg(pt_sock_sendall(p[0], data, BIG, 0, &sent, &e) == 0,
	    "%s", e.msg);
	ck_assert_uint_eq(sent, BIG);
	pt_sock_free(p[0]);
	ck_assert_int_eq(read(rp[0], &got, sizeof(got)), sizeof(got));
	ck_assert_uint_eq(got, BIG);	/* also false if bit 63 is set */
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(rp[0]);
	free(data);
}
END_TEST

/* sendall with nobody reading: 0.0 stops at EAGAIN, 0.2 times out. */
START_TEST(test_sendall_stalled)
{
	char *data = calloc(1, BIG);
	pt_sock *p[2];
	pt_error e;
	double t0, dt;
	size_t sent;

	unix_pair(p);
	ck_assert_int_eq(pt_sock_setblocking(p[0], 0, &e), 0);
	ck_assert_int_eq(pt_sock_sendall(p[0], data, BIG, 0, &sent, &e), -1);
	assert_err(&e, PT_ERR_OS, EAGAIN);
	/* Python could not say how much went out; we can. */
	ck_assert(sent > 0 && sent < BIG);

	ck_assert_int_eq(pt_sock_settimeout(p[0], 0.2, &e), 0);
	t0 = mono();
	ck_assert_int_eq(pt_sock_sendall(p[0], data, BIG, 0, &sent, &e), -1);
	dt = mono() - t0;
	assert_err(&e, PT_ERR_TIMEOUT, ETIMEDOUT);
	ck_assert_str_eq(e.msg, "sendall: timed out");
	ck_assert_msg(dt >= 0.19 && dt < 3.0, "waited %.3f s", dt);
	ck_assert(sent < BIG);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
	free(data);
}
END_TEST

/* ----------------------------------------------------- accept, connect */

START_TEST(test_listen_and_accept)
{
	pt_sock *l, *c, *a;
	pt_addr peer, local;
	pt_error e;
	int port, fd;

	/* backlog 0 is raised to 1, and a connection gets through. */
	l = listener(AF_INET, "127.0.0.1", 0, &port);
	ck_assert_int_eq(pt_sock_settimeout(l, 2.0, &e), 0);
	c = pt_create_connection("127.0.0.1", port, 2.0, NULL, &e);
	ck_assert_msg(c != NULL, "%s", e.msg);
	a = pt_sock_accept(l, &peer, &e);
	ck_assert_msg(a != NULL, "%s", e.msg);
	/* The child inherits the listener's record and mode. */
	ck_assert_int_eq(pt_sock_family(a), AF_INET);
	ck_assert_int_eq(pt_sock_type(a), SOCK_STREAM);
	ck_assert_int_eq(pt_sock_proto(a), pt_sock_proto(l));
	ck_assert(pt_sock_gettimeout(a) == 2.0);
	ck_assert(is_nonblocking(pt_sock_fileno(a)));
	ck_assert_int_eq(pt_sock_getsockname(c, &local, &e), 0);
	ck_assert(pt_addr_equal(&peer, &local));
	pt_sock_free(a);
	pt_sock_free(c);

	/* accept_fd: the caller picks O_NONBLOCK, whatever the listener's. */
	for (int nb = 0; nb <= 1; nb++) {
		c = pt_create_connection("127.0.0.1", port, 2.0, NULL, &e);
		ck_assert_ptr_nonnull(c);
		fd = pt_sock_accept_fd(l, &peer, nb, &e);
		ck_assert_msg(fd >= 0, "%s", e.msg);
		ck_assert_int_eq(is_nonblocking(fd), nb);
		ck_assert_int_eq(pt_sock_getsockname(c, &local, &e), 0);
		ck_assert(pt_addr_equal(&peer, &local));
		close(fd);
		pt_sock_free(c);
	}
	pt_sock_free(l);
}
END_TEST

START_TEST(test_accept_timeout_and_nonblocking)
{
	char want[PT_ERROR_MSGLEN];
	pt_error e;
	pt_sock *l;
	double t0, dt;
	int port;

	l = listener(AF_INET, "127.0.0.1", 1, &port);
	ck_assert_int_eq(pt_sock_settimeout(l, 0.2, &e), 0);
	t0 = mono();
	ck_assert_ptr_null(pt_sock_accept(l, NULL, &e));
	dt = mono() - t0;
	assert_err(&e, PT_ERR_TIMEOUT, ETIMEDOUT);
	snprintf(want, sizeof(want), "accept 127.0.0.1:%d: timed out", port);
	ck_assert_str_eq(e.msg, want);
	ck_assert_msg(dt >= 0.19 && dt < 3.0, "waited %.3f s", dt);

	ck_assert_int_eq(pt_sock_setblocking(l, 0, &e), 0);
	ck_assert_int_eq(pt_sock_accept_fd(l, NULL, 0, &e), -1);
	assert_err(&e, PT_ERR_OS, EAGAIN);
	pt_sock_free(l);
}
END_TEST

START_TEST(test_connect_refused)
{
	char want[PT_ERROR_MSGLEN];
	pt_error e;
	pt_sock *s;
	int port = dead_port();

	snprintf(want, sizeof(want), "connect 127.0.0.1:%d: Connection refused",
	    port);
	s = pt_socket(AF_INET, SOCK_STREAM, 0, &e);
	ck_assert_int_eq(pt_sock_connect_ex(s, "127.0.0.1", port, &e),
	    ECONNREFUSED);
	assert_err(&e, PT_ERR_OS, ECONNREFUSED);
	ck_assert_str_eq(e.msg, want);
	pt_sock_free(s);

	/* The same in timeout mode, where the refusal comes via SO_ERROR. */
	s = pt_socket(AF_INET, SOCK_STREAM, 0, &e);
	ck_assert_int_eq(pt_sock_settimeout(s, 2.0, &e), 0);
	ck_assert_int_eq(pt_sock_connect(s, "127.0.0.1", port, &e), -1);
	assert_err(&e, PT_ERR_OS, ECONNREFUSED);
	ck_assert_str_eq(e.msg, want);
	pt_sock_free(s);

	ck_assert_ptr_null(pt_create_connection("127.0.0.1", port, 2.0, NULL,
	    &e));
	assert_err(&e, PT_ERR_OS, ECONNREFUSED);
}
END_TEST

START_TEST(test_connect_ex_results)
{
	struct pollfd pfd;
	pt_sock *l, *s;
	pt_error e;
	pt_addr a;
	int port;

	l = listener(AF_INET, "127.0.0.1", 4, &port);
	s = pt_socket(AF_INET, SOCK_STREAM, 0, &e);
	ck_assert_int_eq(pt_sock_connect_ex(s, "127.0.0.1", port, &e), 0);
	pt_sock_free(s);

	/* Non-blocking TCP connects report EINPROGRESS, then complete. */
	s = pt_socket(AF_INET, SOCK_STREAM, 0, &e);
	ck_assert_int_eq(pt_sock_setblocking(s, 0, &e), 0);
	ck_assert_int_eq(pt_sock_connect_ex(s, "127.0.0.1", port, &e),
	    EINPROGRESS);
	pfd.fd = pt_sock_fileno(s);
	pfd.events = POLLOUT;
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	ck_assert_int_eq(pt_sock_getpeername(s, &a, &e), 0);
	ck_assert_int_eq(pt_addr_port(&a), port);
	pt_sock_free(s);

	/* Address problems are failures, not connect results. */
	s = pt_socket(AF_INET, SOCK_STREAM, 0, &e);
	ck_assert_int_eq(pt_sock_connect_ex(s, "127.0.0.1", 70000, &e), -1);
	ck_assert_int_eq(e.kind, PT_ERR_ARG);
	ck_assert_ptr_eq(strstr(e.msg, "connect 127.0.0.1:70000: "), e.msg);
	pt_sock_free(s);
	pt_sock_free(l);
}
END_TEST

/*
 * connect's timeout, deterministic on loopback: once a listener's accept
 * queue is full, Linux drops further SYNs (the client would retransmit
 * only after a second), so a connect with a 0.2 s timeout must expire.
 * The queue holds backlog + 1 (here 2) connections; the loop fills it.
 */
START_TEST(test_connect_timeout)
{
	char want[PT_ERROR_MSGLEN];
	pt_sock *l, *c[16];
	pt_error e;
	double t0, dt = 0;
	int port, i, n, r = 0;

	l = listener(AF_INET, "127.0.0.1", 0, &port);
	for (n = 0; n < (int)NELEM(c); n++) {
		c[n] = pt_socket(AF_INET, SOCK_STREAM, 0, &e);
		ck_assert_int_eq(pt_sock_settimeout(c[n], 0.2, &e), 0);
		t0 = mono();
		r = pt_sock_connect(c[n], "127.0.0.1", port, &e);
		dt = mono() - t0;
		if (r < 0)
			break;
	}
	ck_assert_msg(r == -1, "%d connects and none timed out", n);
	assert_err(&e, PT_ERR_TIMEOUT, ETIMEDOUT);
	snprintf(want, sizeof(want), "connect 127.0.0.1:%d: timed out", port);
	ck_assert_str_eq(e.msg, want);
	ck_assert_msg(dt >= 0.19 && dt < 3.0, "waited %.3f s", dt);
	/* connect_ex reports the same expiry as its result. */
	pt_sock_free(c[n]);
	c[n] = pt_socket(AF_INET, SOCK_STREAM, 0, &e);
	ck_assert_int_eq(pt_sock_settimeout(c[n], 0.2, &e), 0);
	ck_assert_int_eq(pt_sock_connect_ex(c[n], "127.0.0.1", port, &e),
	    ETIMEDOUT);
	ck_assert_int_eq(e.kind, PT_ERR_TIMEOUT);
	for (i = 0; i <= n; i++)
		pt_sock_free(c[i]);
	pt_sock_free(l);
}
END_TEST

START_TEST(test_bind_errors)
{
	char want[PT_ERROR_MSGLEN];
	pt_sock *l, *s;
	pt_error e;
	pt_addr a;
	int port;

	l = listener(AF_INET, "127.0.0.1", 1, &port);
	s = pt_socket(AF_INET, SOCK_STREAM, 0, &e);
	ck_assert_int_eq(pt_sock_bind(s, "127.0.0.1", port, &e), -1);
	assert_err(&e, PT_ERR_OS, EADDRINUSE);
	snprintf(want, sizeof(want),
	    "bind 127.0.0.1:%d: Address already in use", port);
	ck_assert_str_eq(e.msg, want);
	ck_assert_int_eq(pt_sock_bind(s, "127.0.0.1", 70000, &e), -1);
	ck_assert_int_eq(e.kind, PT_ERR_ARG);
	/* Not connected yet. */
	ck_assert_int_eq(pt_sock_getpeername(s, &a, &e), -1);
	assert_err(&e, PT_ERR_OS, ENOTCONN);
	pt_sock_free(s);
	pt_sock_free(l);
}
END_TEST

/* ---------------------------------------------------------------- unix */

/* Listens on `path`, connects to it both ways, and checks the names. */
static void
unix_round_trip(const char *path)
{
	char fmt[PT_ADDRSTRLEN], *buf;
	pt_sock *l, *c, *a;
	pt_addr addr, got;
	pt_error e;

	l = pt_socket(AF_UNIX, SOCK_STREAM, 0, &e);
	ck_assert_msg(pt_sock_bind(l, path, 0, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(pt_sock_listen(l, 2, &e), 0);
	ck_assert_int_eq(pt_sock_getsockname(l, &got, &e), 0);
	ck_assert_str_eq(pt_addr_format(&got, fmt, sizeof(fmt)), path);

	c = pt_socket(AF_UNIX, SOCK_STREAM, 0, &e);
	ck_assert_msg(pt_sock_connect(c, path, 0, &e) == 0, "%s", e.msg);
	a = pt_sock_accept(l, NULL, &e);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(pt_sock_send(c, "u", 1, 0, &e), 1);
	ck_assert_int_eq(pt_sock_recv(a, 4, 0, &buf, &e), 1);
	free(buf);
	pt_sock_free(c);
	pt_sock_free(a);

	/* The pt_addr forms reach the same place. */
	ck_assert_int_eq(pt_addr_unix(&addr, path, &e), 0);
	c = pt_socket(AF_UNIX, SOCK_STREAM, 0, &e);
	ck_assert_int_eq(pt_sock_connect_addr(c, &addr, &e), 0);
	ck_assert_int_eq(pt_sock_getpeername(c, &got, &e), 0);
	ck_assert(pt_addr_equal(&got, &addr));
	pt_sock_free(c);
	pt_sock_free(l);
}

START_TEST(test_unix_path)
{
	char dir[] = "/tmp/check_sockio.XXXXXX", path[64];
	pt_error e;
	pt_addr a;
	pt_sock *s;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	unix_round_trip(path);
	unlink(path);

	/* bind_addr with a pre-built address; a second bind is refused. */
	ck_assert_int_eq(pt_addr_unix(&a, path, &e), 0);
	s = pt_socket(AF_UNIX, SOCK_DGRAM, 0, &e);
	ck_assert_int_eq(pt_sock_bind_addr(s, &a, &e), 0);
	pt_sock_free(s);
	s = pt_socket(AF_UNIX, SOCK_DGRAM, 0, &e);
	ck_assert_int_eq(pt_sock_bind(s, path, 0, &e), -1);
	assert_err(&e, PT_ERR_OS, EADDRINUSE);
	pt_sock_free(s);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_unix_abstract)
{
	char name[64], big[200];
	struct timespec ts;
	pt_error e;
	pt_sock *s;

	/* A random suffix: parallel runs must not meet in the namespace. */
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(name, sizeof(name), "@porter-check-%ld-%ld", (long)getpid(),
	    (long)ts.tv_nsec);
	unix_round_trip(name);

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = pt_socket(AF_UNIX, SOCK_STREAM, 0, &e);
	ck_assert_int_eq(pt_sock_connect(s, big, 0, &e), -1);
	assert_err(&e, PT_ERR_ARG, ENAMETOOLONG);
	ck_assert_str_eq(e.msg, "connect: AF_UNIX path too long");
	pt_sock_free(s);
}
END_TEST

/* bind("") on AF_UNIX autobinds a unique abstract name, as in Python. */
static const int autobind_types[] = { SOCK_STREAM, SOCK_DGRAM };

START_TEST(test_unix_autobind)
{
	char text[PT_ADDRSTRLEN];
	pt_sock *l, *c, *a;
	pt_addr name, peer;
	pt_error e;
	char *buf;

	l = pt_socket(AF_UNIX, autobind_types[_i], 0, &e);
	ck_assert_ptr_nonnull(l);
	ck_assert_msg(pt_sock_bind(l, "", 0, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(pt_sock_getsockname(l, &name, &e), 0);
	ck_assert_int_eq(pt_addr_family(&name), AF_UNIX);
	/* Linux names it "\0" and five hex digits: "@xxxxx" here. */
	pt_addr_format(&name, text, sizeof(text));
	ck_assert_int_eq(text[0], '@');
	ck_assert_uint_eq(strlen(text), 6);
	/* The name is real: a client reaches the socket through it. */
	c = pt_socket(AF_UNIX, autobind_types[_i], 0, &e);
	if (autobind_types[_i] == SOCK_STREAM) {
		ck_assert_int_eq(pt_sock_listen(l, 1, &e), 0);
		ck_assert_msg(pt_sock_connect_addr(c, &name, &e) == 0, "%s",
		    e.msg);
		a = pt_sock_accept(l, NULL, &e);
		ck_assert_ptr_nonnull(a);
		ck_assert_int_eq(pt_sock_send(c, "hi", 2, 0, &e), 2);
		ck_assert_int_eq(pt_sock_recv(a, 8, 0, &buf, &e), 2);
		pt_sock_free(a);
	} else {
		/* NULL is the same request; the reply finds the sender. */
		ck_assert_msg(pt_sock_bind(c, NULL, 0, &e) == 0, "%s", e.msg);
		ck_assert_int_eq(pt_sock_sendto_addr(c, "hi", 2, 0, &name, &e),
		    2);
		ck_assert_int_eq(pt_sock_recvfrom(l, 8, 0, &buf, &peer, &e), 2);
		free(buf);
		ck_assert_int_eq(pt_sock_sendto_addr(l, "ok", 2, 0, &peer, &e),
		    2);
		ck_assert_int_eq(pt_sock_recv(c, 8, 0, &buf, &e), 2);
	}
	ck_assert_str_eq(buf, autobind_types[_i] == SOCK_STREAM ? "hi" : "ok");
	free(buf);
	pt_sock_free(c);
	pt_sock_free(l);
}
END_TEST

/* ----------------------------------------------------------------- udp */

START_TEST(test_udp_sendto_recvfrom)
{
	pt_addr aname, from;
	pt_sock *a, *b;
	pt_error e;
	char *buf;
	int bport;

	a = pt_socket(AF_INET, SOCK_DGRAM, 0, &e);
	b = pt_socket(AF_INET, SOCK_DGRAM, 0, &e);
	ck_assert_int_eq(pt_sock_bind(a, "127.0.0.1", 0, &e), 0);
	ck_assert_int_eq(pt_sock_bind(b, "127.0.0.1", 0, &e), 0);
	ck_assert_int_eq(pt_sock_getsockname(a, &aname, &e), 0);
	ck_assert_int_eq(pt_sock_getsockname(b, &from, &e), 0);
	bport = pt_addr_port(&from);
	ck_assert_int_eq(pt_sock_settimeout(a, 2.0, &e), 0);
	ck_assert_int_eq(pt_sock_settimeout(b, 2.0, &e), 0);

	ck_assert_int_eq(pt_sock_sendto(a, "ping", 4, 0, "127.0.0.1", bport,
	    &e), 4);
	ck_assert_int_eq(pt_sock_recvfrom(b, 64, 0, &buf, &from, &e), 4);
	ck_assert_str_eq(buf, "ping");
	ck_assert(pt_addr_equal(&from, &aname));
	free(buf);
	ck_assert_int_eq(pt_sock_sendto_addr(b, "pong", 4, 0, &from, &e), 4);
	/* The sender is optional. */
	ck_assert_int_eq(pt_sock_recvfrom(a, 64, 0, &buf, NULL, &e), 4);
	ck_assert_str_eq(buf, "pong");
	free(buf);

	/* A datagram longer than bufsize is cut to it, still terminated. */
	ck_assert_int_eq(pt_sock_sendto_addr(b, "abcdef", 6, 0, &aname, &e), 6);
	ck_assert_int_eq(pt_sock_recv(a, 3, 0, &buf, &e), 3);
	ck_assert_str_eq(buf, "abc");
	free(buf);
	pt_sock_free(a);
	pt_sock_free(b);
}
END_TEST

/* --------------------------------------------------- create_connection */

/* Hosts to reach a 127.0.0.1 listener by; "localhost" may try ::1 first. */
/* recvfrom_into: the caller's buffer, reused, and the sender with it. */
START_TEST(test_udp_recvfrom_into)
{
	pt_addr aname, from;
	char buf[8];
	pt_sock *a, *b;
	pt_error e;
	double t0;

	a = pt_socket(AF_INET, SOCK_DGRAM, 0, &e);
	b = pt_socket(AF_INET, SOCK_DGRAM, 0, &e);
	ck_assert_int_eq(pt_sock_bind(a, "127.0.0.1", 0, &e), 0);
	ck_assert_int_eq(pt_sock_bind(b, "127.0.0.1", 0, &e), 0);
	ck_assert_int_eq(pt_sock_getsockname(a, &aname, &e), 0);
	ck_assert_int_eq(pt_sock_getsockname(b, &from, &e), 0);
	ck_assert_int_eq(pt_sock_settimeout(b, 2.0, &e), 0);

	ck_assert_int_eq(pt_sock_sendto_addr(a, "ping", 4, 0, &from, &e), 4);
	memset(&from, 0, sizeof(from));
	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(pt_sock_recvfrom_into(b, buf, sizeof(buf), 0, &from,
	    &e), 4);
	ck_assert_int_eq(memcmp(buf, "pingxxxx", 8), 0);
	ck_assert(pt_addr_equal(&from, &aname));
	/* Longer than the buffer: cut to it; MSG_TRUNC tells the length. */
	ck_assert_int_eq(pt_sock_getsockname(b, &from, &e), 0);
	ck_assert_int_eq(pt_sock_sendto_addr(a, "0123456789", 10, 0, &from,
	    &e), 10);
	ck_assert_int_eq(pt_sock_sendto_addr(a, "0123456789", 10, 0, &from,
	    &e), 10);
	ck_assert_int_eq(pt_sock_recvfrom_into(b, buf, sizeof(buf), 0, NULL,
	    &e), 8);
	ck_assert_int_eq(memcmp(buf, "01234567", 8), 0);
	ck_assert_int_eq(pt_sock_recvfrom_into(b, buf, 4, MSG_TRUNC, NULL,
	    &e), 10);
	/* It obeys the timeout like every receive call. */
	t0 = mono();
	ck_assert_int_eq(pt_sock_settimeout(b, 0.2, &e), 0);
	ck_assert_int_eq(pt_sock_recvfrom_into(b, buf, sizeof(buf), 0, &from,
	    &e), -1);
	assert_err(&e, PT_ERR_TIMEOUT, ETIMEDOUT);
	ck_assert_ptr_eq(strstr(e.msg, "recvfrom_into"), e.msg);
	ck_assert(mono() - t0 >= 0.19);
	pt_sock_free(a);
	pt_sock_free(b);
}
END_TEST

static const char *const cc_hosts[] = { "127.0.0.1", "localhost" };

START_TEST(test_create_connection)
{
	char fmt[PT_ADDRSTRLEN], want[PT_ADDRSTRLEN];
	pt_sock *l, *c, *a;
	pt_addr src, peer;
	pt_error e;
	char *buf;
	int port;

	l = listener(AF_INET, "127.0.0.1", 4, &port);
	c = pt_create_connection(cc_hosts[_i], port, 2.0, NULL, &e);
	ck_assert_msg(c != NULL, "%s", e.msg);
	ck_assert(pt_sock_gettimeout(c) == 2.0);
	ck_assert(is_nonblocking(pt_sock_fileno(c)));
	ck_assert_int_eq(pt_sock_getpeername(c, &peer, &e), 0);
	snprintf(want, sizeof(want), "127.0.0.1:%d", port);
	ck_assert_str_eq(pt_addr_format(&peer, fmt, sizeof(fmt)), want);
	a = pt_sock_accept(l, NULL, &e);
	ck_assert_int_eq(pt_sock_send(a, "hi", 2, 0, &e), 2);
	ck_assert_int_eq(pt_sock_recv(c, 4, 0, &buf, &e), 2);
	free(buf);
	pt_sock_free(a);
	pt_sock_free(c);

	/* Blocking, and bound to a source address first. */
	ck_assert_int_eq(pt_addr_inet(&src, AF_INET, "127.0.0.1", 0, &e), 0);
	c = pt_create_connection("127.0.0.1", port, PT_TIMEOUT_NONE, &src, &e);
	ck_assert_msg(c != NULL, "%s", e.msg);
	ck_assert(pt_sock_gettimeout(c) == PT_TIMEOUT_NONE);
	ck_assert(!is_nonblocking(pt_sock_fileno(c)));
	ck_assert_int_eq(pt_sock_getsockname(c, &peer, &e), 0);
	ck_assert_int_eq(pt_addr_family(&peer), AF_INET);
	pt_sock_free(c);
	pt_sock_free(l);
}
END_TEST

/* -------------------------------------------------------------- suite */

static Suite *
sockio_suite(void)
{
	Suite *s = suite_create("sockio");
	TCase *tc;

	tc = tcase_create("stream");
	tcase_add_test(tc, test_seed_round_trip);
	tcase_add_test(tc, test_recv_into_and_shutdown);
	tcase_add_test(tc, test_recv_nonblocking);
	tcase_add_test(tc, test_recv_timeout);
	tcase_add_test(tc, test_recv_timeout_data_arrives);
	tcase_add_test(tc, test_send_closed_peer);
	tcase_add_loop_test(tc, test_sendall_large, 0,
	    NELEM(sendall_timeouts));
	tcase_add_test(tc, test_sendall_stalled);
	suite_add_tcase(s, tc);

	tc = tcase_create("connect");
	tcase_add_test(tc, test_listen_and_accept);
	tcase_add_test(tc, test_accept_timeout_and_nonblocking);
	tcase_add_test(tc, test_connect_refused);
	tcase_add_test(tc, test_connect_ex_results);
	tcase_add_test(tc, test_connect_timeout);
	tcase_add_test(tc, test_bind_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("unix");
	tcase_add_test(tc, test_unix_path);
	tcase_add_test(tc, test_unix_abstract);
	tcase_add_loop_test(tc, test_unix_autobind, 0, NELEM(autobind_types));
	suite_add_tcase(s, tc);

	tc = tcase_create("udp");
	tcase_add_test(tc, test_udp_sendto_recvfrom);
	tcase_add_test(tc, test_udp_recvfrom_into);
	suite_add_tcase(s, tc);

	tc = tcase_create("create_connection");
	tcase_add_loop_test(tc, test_create_connection, 0, NELEM(cc_hosts));
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(sockio_suite)
