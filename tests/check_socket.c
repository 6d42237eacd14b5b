/*
 * check_socket.c -- lib/socket.c, the socket object and the calls on it
 * that never wait: creation (pt_socket, pt_socketpair, dup) and the
 * close-on-exec guarantee, fromfd's detection and checks, ownership (close,
 * free, detach) and every call on a closed object, the family/type/proto
 * record, get/setsockopt, the three blocking modes (setblocking,
 * settimeout, gettimeout), and makefile.  shutdown, getsockname and
 * getpeername are exercised along the way.  The calls that may wait
 * (bind, connect, recv, send, ...) are check_sockio.c's.
 *
 * Real sockets only, all on this machine: socketpair() and loopback with
 * port 0.  Helpers shared with check_sockio.c are in check_sock_util.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "porter/socket.h"
#include "check_common.h"
#include "check_sock_util.h"

/* ------------------------------------------------------------ creation */

/* pt_socket rows: what is asked and the proto stored (as given). */
static const struct {
	int family, type;
} create_rows[] = {
	{ AF_INET, SOCK_STREAM },	/* the seed's TCP socket */
	{ AF_INET, SOCK_DGRAM },	/* UDP */
	{ AF_INET6, SOCK_STREAM },	/* beyond the seed */
	{ AF_UNIX, SOCK_STREAM },
	{ AF_UNIX, SOCK_DGRAM },
	{ AF_UNIX, SOCK_SEQPACKET },
};

START_TEST(test_socket_create)
{
	pt_error e;
	pt_sock *s;

	s = pt_socket(create_rows[_i].family, create_rows[_i].type, 0, &e);
	ck_assert_msg(s != NULL, "%s", e.msg);
	ck_assert_int_eq(pt_sock_family(s), create_rows[_i].family);
	ck_assert_int_eq(pt_sock_type(s), create_rows[_i].type);
	ck_assert_int_eq(pt_sock_proto(s), 0);
	/* Sockets start blocking, as in the seed. */
	ck_assert(pt_sock_gettimeout(s) == PT_TIMEOUT_NONE);
	ck_assert(!is_nonblocking(pt_sock_fileno(s)));
	assert_cloexec(pt_sock_fileno(s));
	pt_sock_free(s);
}
END_TEST

START_TEST(test_socket_flags_and_errors)
{
	pt_sock *s, *p[2] = { NULL, NULL };
	pt_error e;

	/* SOCK_NONBLOCK is a mode, not part of the type. */
	s = pt_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0, &e);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(pt_sock_type(s), SOCK_STREAM);
	ck_assert(pt_sock_gettimeout(s) == 0.0);
	ck_assert(is_nonblocking(pt_sock_fileno(s)));
	pt_sock_free(s);

	errno = 0;
	ck_assert_ptr_null(pt_socket(12345, SOCK_STREAM, 0, &e));
	assert_err(&e, PT_ERR_OS, EAFNOSUPPORT);
	ck_assert_int_eq(errno, EAFNOSUPPORT);
	ck_assert_ptr_eq(strstr(e.msg, "socket 12345/SOCK_STREAM: "), e.msg);

	/* A failed socketpair leaves ret alone. */
	ck_assert_int_eq(pt_socketpair(AF_INET, SOCK_STREAM, 0, p, &e), -1);
	ck_assert_int_eq(e.kind, PT_ERR_OS);
	ck_assert_ptr_null(p[0]);
	ck_assert_ptr_null(p[1]);
	pt_sock_free(NULL);
}
END_TEST

START_TEST(test_socketpair)
{
	pt_sock *p[2];
	pt_error e;
	char *buf;

	/* Family 0 and type 0 are AF_UNIX and SOCK_STREAM. */
	unix_pair(p);
	ck_assert_int_eq(pt_sock_family(p[0]), AF_UNIX);
	ck_assert_int_eq(pt_sock_type(p[1]), SOCK_STREAM);
	assert_cloexec(pt_sock_fileno(p[0]));
	assert_cloexec(pt_sock_fileno(p[1]));
	ck_assert_int_eq(pt_sock_send(p[1], "hi", 2, 0, &e), 2);
	ck_assert_int_eq(pt_sock_recv(p[0], 10, 0, &buf, &e), 2);
	ck_assert_str_eq(buf, "hi");
	free(buf);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);

	/* Datagrams keep their boundaries. */
	ck_assert_int_eq(pt_socketpair(AF_UNIX, SOCK_DGRAM, 0, p, &e), 0);
	ck_assert_int_eq(pt_sock_send(p[0], "one", 3, 0, &e), 3);
	ck_assert_int_eq(pt_sock_send(p[0], "two", 3, 0, &e), 3);
	ck_assert_int_eq(pt_sock_recv(p[1], 10, 0, &buf, &e), 3);
	ck_assert_str_eq(buf, "one");
	free(buf);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
}
END_TEST

START_TEST(test_dup_and_detach)
{
	pt_sock *p[2], *d;
	pt_error e;
	char *buf;
	int fd;

	unix_pair(p);
	ck_assert_int_eq(pt_sock_settimeout(p[0], 1.5, &e), 0);
	d = pt_sock_dup(p[0], &e);
	ck_assert_msg(d != NULL, "%s", e.msg);
	ck_assert_int_ne(pt_sock_fileno(d), pt_sock_fileno(p[0]));
	assert_cloexec(pt_sock_fileno(d));
	ck_assert_int_eq(pt_sock_family(d), AF_UNIX);
	ck_assert_int_eq(pt_sock_type(d), SOCK_STREAM);
	ck_assert(pt_sock_gettimeout(d) == 1.5);
	/* Closing the duplicate leaves the original working. */
	pt_sock_free(d);
	ck_assert_int_eq(pt_sock_send(p[0], "x", 1, 0, &e), 1);
	ck_assert_int_eq(pt_sock_recv(p[1], 4, 0, &buf, &e), 1);
	free(buf);

	/* detach hands the fd over and leaves the object closed. */
	fd = pt_sock_detach(p[0]);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pt_sock_fileno(p[0]), -1);
	ck_assert_int_eq(pt_sock_detach(p[0]), -1);
	pt_sock_free(p[0]);
	ck_assert_int_ge(fcntl(fd, F_GETFD), 0);
	ck_assert_int_eq(write(fd, "y", 1), 1);
	ck_assert_int_eq(pt_sock_recv(p[1], 4, 0, &buf, &e), 1);
	ck_assert_str_eq(buf, "y");
	free(buf);
	close(fd);
	pt_sock_free(p[1]);
}
END_TEST

/* Every descriptor the library creates is close-on-exec, in one place. */
START_TEST(test_cloexec_everywhere)
{
	pt_sock *l, *c, *a, *p[2], *f;
	pt_error e;
	FILE *fp;
	int port, fd, raw;

	l = listener(AF_INET, "127.0.0.1", 4, &port);
	assert_cloexec(pt_sock_fileno(l));
	c = pt_create_connection("127.0.0.1", port, 2.0, NULL, &e);
	ck_assert_msg(c != NULL, "%s", e.msg);
	assert_cloexec(pt_sock_fileno(c));
	a = pt_sock_accept(l, NULL, &e);
	ck_assert_ptr_nonnull(a);
	assert_cloexec(pt_sock_fileno(a));
	pt_sock_free(c);
	c = pt_create_connection("127.0.0.1", port, 2.0, NULL, &e);
	ck_assert_ptr_nonnull(c);
	fd = pt_sock_accept_fd(l, NULL, 0, &e);
	ck_assert_int_ge(fd, 0);
	assert_cloexec(fd);
	close(fd);
	unix_pair(p);
	assert_cloexec(pt_sock_fileno(p[0]));
	assert_cloexec(pt_sock_fileno(p[1]));
	pt_sock_free(p[1]);
	p[1] = pt_sock_dup(p[0], &e);
	assert_cloexec(pt_sock_fileno(p[1]));
	/* A makefile stream has no fileno(); its duplicate takes the lowest
	 * free number. */
	fd = closed_fd();
	fp = pt_sock_makefile(p[0], "r", -1, &e);
	ck_assert_ptr_nonnull(fp);
	assert_cloexec(fd);
	fclose(fp);
	ck_assert_int_eq(closed_fd(), fd);
	/* fromfd's duplicate even when the original is inheritable. */
	raw = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(raw, 0);
	f = pt_fromfd(raw, 0, 0, 0, &e);
	ck_assert_ptr_nonnull(f);
	assert_cloexec(pt_sock_fileno(f));
	close(raw);
	pt_sock_free(f);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
	pt_sock_free(a);
	pt_sock_free(c);
	pt_sock_free(l);
}
END_TEST

/* -------------------------------------------------------------- fromfd */

/* Detection from the descriptor: what is created -> the stored triple. */
static const struct {
	int family, type;
	const char *bind;	/* bound and listening if not NULL */
	int want_proto;
} detect_rows[] = {
	/* The reference case: a TCPv6 listener is 10/1/6. */
	{ AF_INET6, SOCK_STREAM, "::1", IPPROTO_TCP },
	{ AF_INET, SOCK_DGRAM, NULL, IPPROTO_UDP },
	/* AF_UNIX has no protocol numbers: 0. */
	{ AF_UNIX, SOCK_STREAM, NULL, 0 },
};

START_TEST(test_fromfd_detect)
{
	pt_sock *s, *f;
	pt_error e;

	s = pt_socket(detect_rows[_i].family, detect_rows[_i].type, 0, &e);
	ck_assert_ptr_nonnull(s);
	if (detect_rows[_i].bind != NULL) {
		ck_assert_msg(pt_sock_bind(s, detect_rows[_i].bind, 0, &e) == 0,
		    "%s", e.msg);
		ck_assert_int_eq(pt_sock_listen(s, 5, &e), 0);
	}
	f = pt_fromfd(pt_sock_fileno(s), 0, 0, 0, &e);
	ck_assert_msg(f != NULL, "%s", e.msg);
	ck_assert_int_eq(pt_sock_family(f), detect_rows[_i].family);
	ck_assert_int_eq(pt_sock_type(f), detect_rows[_i].type);
	ck_assert_int_eq(pt_sock_proto(f), detect_rows[_i].want_proto);
	pt_sock_free(f);

	/* Values that agree with the descriptor are accepted too. */
	f = pt_fromfd(pt_sock_fileno(s), detect_rows[_i].family,
	    detect_rows[_i].type, detect_rows[_i].want_proto, &e);
	ck_assert_msg(f != NULL, "%s", e.msg);
	pt_sock_free(f);
	pt_sock_free(s);
}
END_TEST

/* Claims that contradict an AF_INET6 TCP socket, and the message tail. */
static const struct {
	int family, type, proto;
	const char *want;
} mismatch_rows[] = {
	{ AF_INET, 0, 0, "family AF_INET given, descriptor is AF_INET6" },
	{ 0, SOCK_DGRAM, 0, "type SOCK_DGRAM given, descriptor is SOCK_STREAM" },
	{ 0, 0, IPPROTO_UDP,
	    "proto IPPROTO_UDP given, descriptor is IPPROTO_TCP" },
};

START_TEST(test_fromfd_mismatch)
{
	char want[PT_ERROR_MSGLEN];
	pt_error e;
	pt_sock *s;
	int fd;

	s = pt_socket(AF_INET6, SOCK_STREAM, 0, &e);
	ck_assert_ptr_nonnull(s);
	fd = pt_sock_fileno(s);
	ck_assert_ptr_null(pt_fromfd(fd, mismatch_rows[_i].family,
	    mismatch_rows[_i].type, mismatch_rows[_i].proto, &e));
	assert_err(&e, PT_ERR_ARG, EPROTOTYPE);
	snprintf(want, sizeof(want), "fromfd %d: %s", fd, mismatch_rows[_i].want);
	ck_assert_str_eq(e.msg, want);
	pt_sock_free(s);
}
END_TEST

START_TEST(test_fromfd_not_a_socket)
{
	pt_error e;
	int pfd[2], probe;

	ck_assert_int_eq(pipe(pfd), 0);
	probe = closed_fd();
	ck_assert_ptr_null(pt_fromfd(pfd[0], 0, 0, 0, &e));
	assert_err(&e, PT_ERR_ARG, ENOTSOCK);
	ck_assert_int_eq(errno, ENOTSOCK);
	/* Nothing was duplicated and leaked on the way. */
	ck_assert_int_eq(closed_fd(), probe);
	close(pfd[0]);
	close(pfd[1]);

	ck_assert_ptr_null(pt_fromfd(probe, 0, 0, 0, &e));
	assert_err(&e, PT_ERR_OS, EBADF);
	ck_assert_ptr_null(pt_fromfd(-1, AF_INET, SOCK_STREAM, 0, &e));
	assert_err(&e, PT_ERR_OS, EBADF);
}
END_TEST

START_TEST(test_fromfd_independent)
{
	pt_sock *f;
	pt_error e;
	pt_addr a;
	int fd;

	/* Closing the wrapper leaves the caller's fd open... */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	f = pt_fromfd(fd, AF_INET, SOCK_STREAM, 0, &e);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ne(pt_sock_fileno(f), fd);
	pt_sock_free(f);
	ck_assert_int_ge(fcntl(fd, F_GETFD), 0);

	/* ...and closing the caller's fd leaves the wrapper working. */
	f = pt_fromfd(fd, 0, 0, 0, &e);
	ck_assert_ptr_nonnull(f);
	close(fd);
	ck_assert_int_eq(pt_sock_bind(f, "127.0.0.1", 0, &e), 0);
	ck_assert_int_eq(pt_sock_getsockname(f, &a, &e), 0);
	ck_assert_int_gt(pt_addr_port(&a), 0);
	pt_sock_free(f);
}
END_TEST

START_TEST(test_fromfd_blocking_mode)
{
	pt_sock *f;
	pt_error e;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	f = pt_fromfd(fd, 0, 0, 0, &e);
	ck_assert_ptr_nonnull(f);
	ck_assert(pt_sock_gettimeout(f) == 0.0);
	pt_sock_free(f);
	ck_assert_int_eq(fcntl(fd, F_SETFL, 0), 0);
	f = pt_fromfd(fd, 0, 0, 0, &e);
	ck_assert(pt_sock_gettimeout(f) == PT_TIMEOUT_NONE);
	pt_sock_free(f);
	close(fd);
}
END_TEST

/* Writes `text` to fd after `ms` milliseconds, from a child process. */
static pid_t
late_writer(int fd, int ms, const char *text)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid != 0)
		return pid;
	poll(NULL, 0, ms);
	_exit(write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : 1);
}

/* A wrapper's mode is its own: the caller's descriptor never changes. */
START_TEST(test_fromfd_mode_private)
{
	int raw[2], st;
	pt_error e;
	pt_sock *f;
	char *buf;
	double t0;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, raw), 0);
	f = pt_fromfd(raw[0], 0, 0, 0, &e);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(pt_sock_settimeout(f, 0.2, &e), 0);
	ck_assert(!is_nonblocking(raw[0]));
	t0 = mono();
	ck_assert_int_eq(pt_sock_recv(f, 8, 0, &buf, &e), -1);
	assert_err(&e, PT_ERR_TIMEOUT, ETIMEDOUT);
	ck_assert(mono() - t0 >= 0.19);
	ck_assert_int_eq(pt_sock_setblocking(f, 0, &e), 0);
	ck_assert(!is_nonblocking(raw[0]));
	ck_assert_int_eq(pt_sock_recv(f, 8, 0, &buf, &e), -1);
	assert_err(&e, PT_ERR_OS, EAGAIN);
	/* Non-blocking still sends what there is room for. */
	ck_assert_int_eq(pt_sock_send(f, "x", 1, 0, &e), 1);
	pt_sock_free(f);

	/*
	 * The other way round: the caller's descriptor is non-blocking and
	 * the wrapper blocking; it waits for the data instead of EAGAIN.
	 */
	ck_assert_int_eq(fcntl(raw[0], F_SETFL, O_NONBLOCK), 0);
	f = pt_fromfd(raw[0], 0, 0, 0, &e);
	ck_assert(pt_sock_gettimeout(f) == 0.0);
	ck_assert_int_eq(pt_sock_setblocking(f, 1, &e), 0);
	ck_assert(is_nonblocking(raw[0]));
	pid = late_writer(raw[1], 200, "late");
	t0 = mono();
	ck_assert_msg(pt_sock_recv(f, 8, 0, &buf, &e) == 4, "%s", e.msg);
	ck_assert_str_eq(buf, "late");
	free(buf);
	ck_assert(mono() - t0 >= 0.15);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert(is_nonblocking(raw[0]));
	pt_sock_free(f);
	close(raw[0]);
	close(raw[1]);
}
END_TEST

/* dup: neither object's mode reaches the other. */
START_TEST(test_dup_mode_private)
{
	pt_sock *p[2], *d;
	pt_error e;
	char *buf;

	unix_pair(p);
	d = pt_sock_dup(p[0], &e);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(pt_sock_setblocking(d, 0, &e), 0);
	ck_assert(pt_sock_gettimeout(p[0]) == PT_TIMEOUT_NONE);
	ck_assert(!is_nonblocking(pt_sock_fileno(p[0])));
	ck_assert_int_eq(pt_sock_recv(d, 8, 0, &buf, &e), -1);
	assert_err(&e, PT_ERR_OS, EAGAIN);
	/* The original still blocks until data comes. */
	ck_assert_int_eq(pt_sock_send(p[1], "ok", 2, 0, &e), 2);
	ck_assert_int_eq(pt_sock_recv(p[0], 8, 0, &buf, &e), 2);
	free(buf);
	/* Once shared, the original's changes stay its own as well. */
	ck_assert_int_eq(pt_sock_settimeout(p[0], 0.1, &e), 0);
	ck_assert(!is_nonblocking(pt_sock_fileno(d)));
	ck_assert(pt_sock_gettimeout(d) == 0.0);
	ck_assert_int_eq(pt_sock_recv(p[0], 8, 0, &buf, &e), -1);
	assert_err(&e, PT_ERR_TIMEOUT, ETIMEDOUT);
	pt_sock_free(d);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
}
END_TEST

/* accept and connect on wrappers of blocking descriptors keep the mode. */
START_TEST(test_fromfd_accept_connect)
{
	pt_sock *l, *f, *c, *a;
	pt_error e;
	double t0;
	int port, raw;

	l = listener(AF_INET, "127.0.0.1", 4, &port);
	f = pt_fromfd(pt_sock_fileno(l), 0, 0, 0, &e);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(pt_sock_settimeout(f, 0.2, &e), 0);
	t0 = mono();
	ck_assert_ptr_null(pt_sock_accept(f, NULL, &e));
	assert_err(&e, PT_ERR_TIMEOUT, ETIMEDOUT);
	ck_assert(mono() - t0 >= 0.19);
	ck_assert_int_eq(pt_sock_setblocking(f, 0, &e), 0);
	ck_assert_ptr_null(pt_sock_accept(f, NULL, &e));
	assert_err(&e, PT_ERR_OS, EAGAIN);
	ck_assert(!is_nonblocking(pt_sock_fileno(l)));

	/* A wrapped client connects with its timeout; the fd stays blocking. */
	raw = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(raw, 0);
	c = pt_fromfd(raw, 0, 0, 0, &e);
	ck_assert_int_eq(pt_sock_settimeout(c, 2.0, &e), 0);
	ck_assert_msg(pt_sock_connect(c, "127.0.0.1", port, &e) == 0, "%s",
	    e.msg);
	ck_assert(!is_nonblocking(raw));
	ck_assert_int_eq(pt_sock_settimeout(f, 2.0, &e), 0);
	a = pt_sock_accept(f, NULL, &e);
	ck_assert_msg(a != NULL, "%s", e.msg);
	/* The accepted socket is the wrapper's own: its mode is in the fd. */
	ck_assert(is_nonblocking(pt_sock_fileno(a)));
	ck_assert(!is_nonblocking(pt_sock_fileno(l)));
	pt_sock_free(a);
	pt_sock_free(c);
	close(raw);
	pt_sock_free(f);
	pt_sock_free(l);
}
END_TEST

/* adopt: the object owns the descriptor itself and mirrors its mode. */
START_TEST(test_adopt)
{
	pt_error e;
	pt_sock *s;
	int fd, pfd[2];

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	s = pt_sock_adopt(fd, 0, 0, 0, &e);
	ck_assert_msg(s != NULL, "%s", e.msg);
	ck_assert_int_eq(pt_sock_fileno(s), fd);
	ck_assert_int_eq(pt_sock_proto(s), IPPROTO_TCP);
	assert_cloexec(fd);
	ck_assert_int_eq(pt_sock_setblocking(s, 0, &e), 0);
	ck_assert(is_nonblocking(fd));
	pt_sock_free(s);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);

	/* A refused descriptor stays the caller's, open. */
	ck_assert_int_eq(pipe(pfd), 0);
	ck_assert_ptr_null(pt_sock_adopt(pfd[0], 0, 0, 0, &e));
	assert_err(&e, PT_ERR_ARG, ENOTSOCK);
	ck_assert_int_ge(fcntl(pfd[0], F_GETFD), 0);
	close(pfd[0]);
	close(pfd[1]);
}
END_TEST

/* -------------------------------------------------------------- closed */

START_TEST(test_close_twice)
{
	pt_sock *p[2];
	pt_error e;
	char *buf = (char *)1;

	unix_pair(p);
	ck_assert_int_eq(pt_sock_close(p[0], &e), 0);
	ck_assert_int_eq(pt_sock_fileno(p[0]), -1);
	ck_assert_int_eq(pt_sock_close(p[0], &e), 0);
	/* Still closed: the second close did not reopen anything. */
	ck_assert_int_eq(pt_sock_recv(p[0], 10, 0, &buf, &e), -1);
	ck_assert_ptr_null(buf);
	assert_err(&e, PT_ERR_OS, EBADF);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_str_eq(e.msg, "recv: socket is closed: Bad file descriptor");
	/* The record survives the close. */
	ck_assert_int_eq(pt_sock_family(p[0]), AF_UNIX);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
}
END_TEST

/* Every call on a closed object: the op its message must start with. */
static const char *const closed_ops[] = {
	"bind", "bind", "listen", "accept", "accept", "connect", "connect",
	"connect", "connect", "getpeername", "getsockname", "getsockopt",
	"getsockopt", "setsockopt", "setsockopt", "recv", "recv_into",
	"recvfrom", "send", "sendall", "sendto", "sendto", "setblocking",
	"settimeout", "shutdown", "makefile", "dup",
};

/* Calls closed_ops[i]; returns its result folded to 0 (ok) or -1. */
static int
call_closed(int i, pt_sock *s, pt_error *e)
{
	pt_addr a;
	size_t n = 4, sent;
	char b[4], *buf;
	int v;

	ck_assert_int_eq(pt_addr_inet(&a, AF_INET, "127.0.0.1", 9, e), 0);
	switch (i) {
	case 0: return pt_sock_bind(s, "127.0.0.1", 0, e);
	case 1: return pt_sock_bind_addr(s, &a, e);
	case 2: return pt_sock_listen(s, 1, e);
	case 3: return pt_sock_accept(s, NULL, e) == NULL ? -1 : 0;
	case 4: return pt_sock_accept_fd(s, NULL, 0, e);
	case 5: return pt_sock_connect(s, "127.0.0.1", 9, e);
	case 6: return pt_sock_connect_addr(s, &a, e);
	case 7: return pt_sock_connect_ex(s, "127.0.0.1", 9, e);
	case 8: return pt_sock_connect_ex_addr(s, &a, e);
	case 9: return pt_sock_getpeername(s, &a, e);
	case 10: return pt_sock_getsockname(s, &a, e);
	case 11: return pt_sock_getsockopt(s, SOL_SOCKET, SO_TYPE, &v, e);
	case 12: return pt_sock_getsockopt_buf(s, SOL_SOCKET, SO_TYPE, b, &n,
	    e);
	case 13: return pt_sock_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, 1, e);
	case 14: return pt_sock_setsockopt_buf(s, SOL_SOCKET, SO_REUSEADDR,
	    b, 4, e);
	case 15: return (int)pt_sock_recv(s, 4, 0, &buf, e);
	case 16: return (int)pt_sock_recv_into(s, b, 4, 0, e);
	case 17: return (int)pt_sock_recvfrom(s, 4, 0, &buf, &a, e);
	case 18: return (int)pt_sock_send(s, "x", 1, 0, e);
	case 19: return pt_sock_sendall(s, "x", 1, 0, &sent, e);
	case 20: return (int)pt_sock_sendto(s, "x", 1, 0, "127.0.0.1", 9, e);
	case 21: return (int)pt_sock_sendto_addr(s, "x", 1, 0, &a, e);
	case 22: return pt_sock_setblocking(s, 0, e);
	case 23: return pt_sock_settimeout(s, 1.0, e);
	case 24: return pt_sock_shutdown(s, SHUT_RDWR, e);
	case 25: return pt_sock_makefile(s, "r", -1, e) == NULL ? -1 : 0;
	case 26: return pt_sock_dup(s, e) == NULL ? -1 : 0;
	}
	return 0;
}

START_TEST(test_every_call_after_close)
{
	char want[64];
	pt_error e;
	pt_sock *s;

	s = pt_socket(AF_INET, SOCK_STREAM, 0, &e);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(pt_sock_close(s, &e), 0);
	ck_assert_int_eq(call_closed(_i, s, &e), -1);
	assert_err(&e, PT_ERR_OS, EBADF);
	snprintf(want, sizeof(want), "%s: socket is closed: Bad file "
	    "descriptor", closed_ops[_i]);
	ck_assert_str_eq(e.msg, want);
	pt_sock_free(s);
}
END_TEST

/* ---------------------------------------------------------------- NULL */

/* The accessors with no object: the error value and errno EINVAL. */
START_TEST(test_accessors_null)
{
	errno = 0;
	ck_assert_int_eq(pt_sock_fileno(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(pt_sock_family(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(pt_sock_type(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(pt_sock_proto(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(pt_sock_detach(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Not -1.0: that would read as PT_TIMEOUT_NONE. */
	errno = 0;
	ck_assert(isnan(pt_sock_gettimeout(NULL)));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* Required out-pointers and addresses given as NULL: PT_ERR_ARG EINVAL. */
START_TEST(test_null_arguments)
{
	pt_sock *p[2];
	pt_error e;
	size_t n = 4;
	char b[4];

	unix_pair(p);
	ck_assert_int_eq(pt_sock_getsockname(p[0], NULL, &e), -1);
	assert_err(&e, PT_ERR_ARG, EINVAL);
	ck_assert_int_eq(pt_sock_getpeername(p[0], NULL, &e), -1);
	assert_err(&e, PT_ERR_ARG, EINVAL);
	ck_assert_int_eq(pt_sock_getsockopt(p[0], SOL_SOCKET, SO_TYPE, NULL,
	    &e), -1);
	assert_err(&e, PT_ERR_ARG, EINVAL);
	ck_assert_int_eq(pt_sock_getsockopt_buf(p[0], SOL_SOCKET, SO_TYPE, b,
	    NULL, &e), -1);
	assert_err(&e, PT_ERR_ARG, EINVAL);
	ck_assert_int_eq(pt_sock_getsockopt_buf(p[0], SOL_SOCKET, SO_TYPE,
	    NULL, &n, &e), -1);
	assert_err(&e, PT_ERR_ARG, EINVAL);
	ck_assert_int_eq(pt_sock_recv(p[0], 4, 0, NULL, &e), -1);
	assert_err(&e, PT_ERR_ARG, EINVAL);
	ck_assert_int_eq(pt_sock_recvfrom(p[0], 4, 0, NULL, NULL, &e), -1);
	assert_err(&e, PT_ERR_ARG, EINVAL);
	ck_assert_int_eq(pt_sock_bind_addr(p[0], NULL, &e), -1);
	assert_err(&e, PT_ERR_ARG, EINVAL);
	ck_assert_int_eq(pt_sock_connect_addr(p[0], NULL, &e), -1);
	assert_err(&e, PT_ERR_ARG, EINVAL);
	ck_assert_int_eq(pt_sock_connect_ex_addr(p[0], NULL, &e), -1);
	assert_err(&e, PT_ERR_ARG, EINVAL);
	ck_assert_int_eq(pt_sock_sendto_addr(p[0], "x", 1, 0, NULL, &e), -1);
	assert_err(&e, PT_ERR_ARG, EINVAL);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);

	/* And with no object at all, the I/O calls' own answer. */
	ck_assert_int_eq(pt_sock_recv_into(NULL, b, 4, 0, &e), -1);
	assert_err(&e, PT_ERR_ARG, EINVAL);
	ck_assert_int_eq(pt_sock_settimeout(NULL, 1.0, &e), -1);
	assert_err(&e, PT_ERR_ARG, EINVAL);
	ck_assert_int_eq(pt_sock_close(NULL, &e), 0);
}
END_TEST

/* ------------------------------------------------------------- options */

START_TEST(test_sockopt_int)
{
	pt_error e;
	pt_sock *s;
	int v;

	s = pt_socket(AF_INET, SOCK_STREAM, 0, &e);
	ck_assert_int_eq(pt_sock_getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &e), 0);
	ck_assert_int_eq(v, SOCK_STREAM);
	ck_assert_int_eq(pt_sock_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, 1,
	    &e), 0);
	ck_assert_int_eq(pt_sock_getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v,
	    &e), 0);
	ck_assert_int_ne(v, 0);
	/* Option numbers are per level: 1 here is TCP_NODELAY. */
	ck_assert_int_eq(pt_sock_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, 1,
	    &e), 0);
	ck_assert_int_eq(pt_sock_getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v,
	    &e), 0);
	ck_assert_int_ne(v, 0);
	ck_assert_int_eq(pt_sock_getsockopt(s, SOL_SOCKET, 9999, &v, &e), -1);
	assert_err(&e, PT_ERR_OS, ENOPROTOOPT);
	ck_assert_ptr_eq(strstr(e.msg, "getsockopt "), e.msg);
	pt_sock_free(s);
}
END_TEST

START_TEST(test_sockopt_buf)
{
	struct linger lg = { 1, 5 }, got;
	char big[1024];
	pt_error e;
	pt_sock *s;
	size_t n;

	s = pt_socket(AF_INET, SOCK_STREAM, 0, &e);
	ck_assert_int_eq(pt_sock_setsockopt_buf(s, SOL_SOCKET, SO_LINGER, &lg,
	    sizeof(lg), &e), 0);
	/* The seed's example: SO_LINGER read with buflen 8. */
	memset(&got, 0, sizeof(got));
	n = 8;
	ck_assert_int_eq(pt_sock_getsockopt_buf(s, SOL_SOCKET, SO_LINGER, &got,
	    &n, &e), 0);
	ck_assert_uint_eq(n, sizeof(struct linger));
	ck_assert_int_eq(got.l_onoff, 1);
	ck_assert_int_eq(got.l_linger, 5);
	/* 1024 is the top of the range; the kernel returns what it has. */
	n = sizeof(big);
	ck_assert_int_eq(pt_sock_getsockopt_buf(s, SOL_SOCKET, SO_LINGER, big,
	    &n, &e), 0);
	ck_assert_uint_eq(n, sizeof(struct linger));
	/* 0 and 1025 are out of range. */
	n = 0;
	ck_assert_int_eq(pt_sock_getsockopt_buf(s, SOL_SOCKET, SO_LINGER, big,
	    &n, &e), -1);
	assert_err(&e, PT_ERR_ARG, EINVAL);
	ck_assert_str_eq(e.msg, "getsockopt buflen out of range");
	n = 1025;
	ck_assert_int_eq(pt_sock_getsockopt_buf(s, SOL_SOCKET, SO_LINGER, big,
	    &n, &e), -1);
	ck_assert_str_eq(e.msg, "getsockopt buflen out of range");
	pt_sock_free(s);
}
END_TEST

/* ---------------------------------------------------------------- mode */

/* A mode change -> (gettimeout, O_NONBLOCK). */
static const struct {
	int blocking;		/* -1: use settimeout(t) instead */
	double t;
	double want;
	int nonblock;
} mode_rows[] = {
	{ -1, PT_TIMEOUT_NONE, PT_TIMEOUT_NONE, 0 },	/* None: blocking */
	{ -1, -5.0, PT_TIMEOUT_NONE, 0 },	/* any negative is None */
	{ -1, 0.0, 0.0, 1 },			/* 0.0: non-blocking */
	{ -1, 1.5, 1.5, 1 },			/* timeout mode */
	{ 0, 0, 0.0, 1 },			/* setblocking(0) = 0.0 */
	{ 1, 0, PT_TIMEOUT_NONE, 0 },		/* setblocking(1) = None */
};

START_TEST(test_modes)
{
	pt_error e;
	pt_sock *s;

	s = pt_socket(AF_INET, SOCK_STREAM, 0, &e);
	/* Start from the opposite state so the change is visible. */
	ck_assert_int_eq(pt_sock_settimeout(s, mode_rows[_i].nonblock ?
	    PT_TIMEOUT_NONE : 0.0, &e), 0);
	if (mode_rows[_i].blocking < 0)
		ck_assert_int_eq(pt_sock_settimeout(s, mode_rows[_i].t, &e), 0);
	else
		ck_assert_int_eq(pt_sock_setblocking(s, mode_rows[_i].blocking,
		    &e), 0);
	ck_assert(pt_sock_gettimeout(s) == mode_rows[_i].want);
	ck_assert_int_eq(is_nonblocking(pt_sock_fileno(s)),
	    mode_rows[_i].nonblock);
	pt_sock_free(s);
}
END_TEST

START_TEST(test_settimeout_nan)
{
	pt_error e;
	pt_sock *s;

	s = pt_socket(AF_INET, SOCK_STREAM, 0, &e);
	ck_assert_int_eq(pt_sock_settimeout(s, NAN, &e), -1);
	assert_err(&e, PT_ERR_ARG, EINVAL);
	ck_assert(pt_sock_gettimeout(s) == PT_TIMEOUT_NONE);
	pt_sock_free(s);
}
END_TEST

/* ------------------------------------------------------------ makefile */

START_TEST(test_makefile_read)
{
	const char text[] = "line one\nline two\n";
	pt_sock *p[2];
	char line[64];
	pt_error e;
	FILE *fp;

	unix_pair(p);
	ck_assert_int_eq(pt_sock_sendall(p[1], text, strlen(text), 0, NULL,
	    &e), 0);
	ck_assert_int_eq(pt_sock_shutdown(p[1], SHUT_WR, &e), 0);
	fp = pt_sock_makefile(p[0], NULL, -1, &e);
	ck_assert_msg(fp != NULL, "%s", e.msg);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	ck_assert_str_eq(line, "line one\n");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	ck_assert_str_eq(line, "line two\n");
	ck_assert_ptr_null(fgets(line, sizeof(line), fp));
	ck_assert(feof(fp));
	fclose(fp);
	/* The stream had its own descriptor: the socket is still open. */
	ck_assert_int_eq(pt_sock_send(p[0], "ok", 2, 0, &e), 2);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
}
END_TEST

/* makefile's bufsize: default, unbuffered, line buffered, sized. */
static const int makefile_bufsizes[] = { -1, 0, 1, 4096 };

START_TEST(test_makefile_write)
{
	pt_sock *p[2];
	pt_error e;
	char *buf;
	FILE *fp;

	unix_pair(p);
	fp = pt_sock_makefile(p[0], "w", makefile_bufsizes[_i], &e);
	ck_assert_msg(fp != NULL, "%s", e.msg);
	ck_assert_int_ge(fputs("hello\n", fp), 0);
	ck_assert_int_eq(fflush(fp), 0);
	ck_assert_int_eq(pt_sock_recv(p[1], 64, 0, &buf, &e), 6);
	ck_assert_str_eq(buf, "hello\n");
	free(buf);
	ck_assert_int_eq(fclose(fp), 0);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
}
END_TEST

/* A write to a closed peer is an EPIPE stream error, never SIGPIPE. */
START_TEST(test_makefile_no_sigpipe)
{
	pt_sock *p[2];
	pt_error e;
	FILE *fp;

	/* The default action kills: the test dies if SIGPIPE is raised. */
	signal(SIGPIPE, SIG_DFL);
	unix_pair(p);
	fp = pt_sock_makefile(p[0], "w", 0, &e);
	ck_assert_msg(fp != NULL, "%s", e.msg);
	pt_sock_free(p[1]);
	errno = 0;
	ck_assert_int_eq(fputs("into the void\n", fp), EOF);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert(ferror(fp));
	fclose(fp);
	pt_sock_free(p[0]);
}
END_TEST

/* The stream's reads and writes obey the socket's timeout. */
START_TEST(test_makefile_timeout)
{
	static char big[1 << 20];
	pt_sock *p[2];
	char line[16];
	pt_error e;
	double t0;
	FILE *fp;

	unix_pair(p);
	ck_assert_int_eq(pt_sock_settimeout(p[0], 0.2, &e), 0);
	fp = pt_sock_makefile(p[0], "r+", -1, &e);
	ck_assert_msg(fp != NULL, "%s", e.msg);
	t0 = mono();
	errno = 0;
	ck_assert_ptr_null(fgets(line, sizeof(line), fp));
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert(ferror(fp));
	ck_assert(mono() - t0 >= 0.19);
	ck_assert(mono() - t0 < 5.0);
	/* Data that arrives within the timeout is read. */
	clearerr(fp);
	ck_assert_int_eq(pt_sock_send(p[1], "late\n", 5, 0, &e), 5);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	ck_assert_str_eq(line, "late\n");
	/* A peer that never reads: the write gives up after the timeout. */
	memset(big, 'x', sizeof(big));
	t0 = mono();
	errno = 0;
	ck_assert(fwrite(big, 1, sizeof(big), fp) < sizeof(big) ||
	    fflush(fp) == EOF);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert(mono() - t0 >= 0.19);
	fclose(fp);

	/* Non-blocking mode: no data is EAGAIN at once. */
	ck_assert_int_eq(pt_sock_setblocking(p[1], 0, &e), 0);
	fp = pt_sock_makefile(p[1], "r", -1, &e);
	ck_assert_ptr_nonnull(fp);
	while (fgets(line, sizeof(line), fp) != NULL)
		;	/* drain what the writer got out */
	ck_assert_int_eq(errno, EAGAIN);
	fclose(fp);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
}
END_TEST

/* bufsize > 1 is the buffer's size: data goes out when it fills. */
static const struct {
	int bufsize;
	size_t write;	/* bytes written before any flush */
	int sent;	/* 1: some must reach the peer unflushed */
} makefile_sizes[] = {
	{ 100, 150, 1 },	/* stdio's default (8 KiB) would hold it */
	{ 20000, 10000, 0 },	/* the default would have sent some */
};

START_TEST(test_makefile_bufsize)
{
	static char data[10000];
	pt_sock *p[2];
	char buf[20000];
	pt_error e;
	ssize_t n;
	FILE *fp;

	unix_pair(p);
	fp = pt_sock_makefile(p[0], "w", makefile_sizes[_i].bufsize, &e);
	ck_assert_msg(fp != NULL, "%s", e.msg);
	memset(data, 'd', sizeof(data));
	ck_assert_uint_eq(fwrite(data, 1, makefile_sizes[_i].write, fp),
	    makefile_sizes[_i].write);
	n = pt_sock_recv_into(p[1], buf, sizeof(buf), MSG_DONTWAIT, &e);
	if (makefile_sizes[_i].sent)
		ck_assert_int_ge(n, 100);
	else {
		ck_assert_int_eq(n, -1);
		assert_err(&e, PT_ERR_OS, EAGAIN);
	}
	ck_assert_int_eq(fclose(fp), 0);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
}
END_TEST

/* makefile modes -> what the stream can do; NULL want: refused. */
static const struct {
	const char *mode;
	int valid, can_read, can_write;
} makefile_modes[] = {
	{ "r", 1, 1, 0 },
	{ "rb", 1, 1, 0 },
	{ "w", 1, 0, 1 },
	{ "wb", 1, 0, 1 },
	{ "rw", 1, 1, 1 },	/* fdopen("rw") was silently read-only */
	{ "rwb", 1, 1, 1 },
	{ "r+", 1, 1, 1 },
	{ "r+b", 1, 1, 1 },
	{ "rb+", 1, 1, 1 },
	{ "w+", 1, 1, 1 },
	{ "wb+", 1, 1, 1 },
	{ "x", 0, 0, 0 },	/* not a mode at all */
	{ "", 0, 0, 0 },
	{ "a", 0, 0, 0 },	/* append means nothing on a socket */
	{ "wr", 0, 0, 0 },
	{ "rw+", 0, 0, 0 },
	{ "rr", 0, 0, 0 },
	{ "rbb", 0, 0, 0 },
	{ "re", 0, 0, 0 },	/* glibc's extensions are not passed on */
	{ "rm", 0, 0, 0 },
};

START_TEST(test_makefile_modes)
{
	pt_sock *p[2];
	char line[16], *buf;
	pt_error e;
	FILE *fp;
	int probe;

	unix_pair(p);
	probe = closed_fd();
	fp = pt_sock_makefile(p[0], makefile_modes[_i].mode, -1, &e);
	if (!makefile_modes[_i].valid) {
		ck_assert_ptr_null(fp);
		assert_err(&e, PT_ERR_ARG, EINVAL);
		ck_assert_ptr_nonnull(strstr(e.msg, "makefile: bad mode"));
		/* Nothing was duplicated and leaked on the way. */
		ck_assert_int_eq(closed_fd(), probe);
		goto done;
	}
	ck_assert_msg(fp != NULL, "%s: %s", makefile_modes[_i].mode, e.msg);
	/* Writing works exactly when the mode says so. */
	clearerr(fp);
	if (fputs("out\n", fp) >= 0 && fflush(fp) == 0) {
		ck_assert_msg(makefile_modes[_i].can_write, "%s wrote",
		    makefile_modes[_i].mode);
		ck_assert_int_eq(pt_sock_recv(p[1], 16, 0, &buf, &e), 4);
		ck_assert_str_eq(buf, "out\n");
		free(buf);
	} else
		ck_assert_msg(!makefile_modes[_i].can_write, "%s cannot write",
		    makefile_modes[_i].mode);
	/* And so does reading. */
	ck_assert_int_eq(pt_sock_sendall(p[1], "in\n", 3, 0, NULL, &e), 0);
	clearerr(fp);
	if (fgets(line, sizeof(line), fp) != NULL) {
		ck_assert_msg(makefile_modes[_i].can_read, "%s read",
		    makefile_modes[_i].mode);
		ck_assert_str_eq(line, "in\n");
	} else
		ck_assert_msg(!makefile_modes[_i].can_read, "%s cannot read",
		    makefile_modes[_i].mode);
	fclose(fp);
done:
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
}
END_TEST

/* -------------------------------------------------------------- suite */

static Suite *
socket_suite(void)
{
	Suite *s = suite_create("socket");
	TCase *tc;

	tc = tcase_create("create");
	tcase_add_loop_test(tc, test_socket_create, 0, NELEM(create_rows));
	tcase_add_test(tc, test_socket_flags_and_errors);
	tcase_add_test(tc, test_socketpair);
	tcase_add_test(tc, test_dup_and_detach);
	tcase_add_test(tc, test_cloexec_everywhere);
	suite_add_tcase(s, tc);

	tc = tcase_create("fromfd");
	tcase_add_loop_test(tc, test_fromfd_detect, 0, NELEM(detect_rows));
	tcase_add_loop_test(tc, test_fromfd_mismatch, 0, NELEM(mismatch_rows));
	tcase_add_test(tc, test_fromfd_not_a_socket);
	tcase_add_test(tc, test_fromfd_independent);
	tcase_add_test(tc, test_fromfd_blocking_mode);
	tcase_add_test(tc, test_fromfd_mode_private);
	tcase_add_test(tc, test_dup_mode_private);
	tcase_add_test(tc, test_fromfd_accept_connect);
	tcase_add_test(tc, test_adopt);
	suite_add_tcase(s, tc);

	tc = tcase_create("closed");
	tcase_add_test(tc, test_close_twice);
	tcase_add_loop_test(tc, test_every_call_after_close, 0,
	    NELEM(closed_ops));
	suite_add_tcase(s, tc);

	tc = tcase_create("null");
	tcase_add_test(tc, test_accessors_null);
	tcase_add_test(tc, test_null_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_add_test(tc, test_sockopt_int);
	tcase_add_test(tc, test_sockopt_buf);
	suite_add_tcase(s, tc);

	tc = tcase_create("mode");
	tcase_add_loop_test(tc, test_modes, 0, NELEM(mode_rows));
	tcase_add_test(tc, test_settimeout_nan);
	suite_add_tcase(s, tc);

	tc = tcase_create("makefile");
	tcase_add_test(tc, test_makefile_read);
	tcase_add_loop_test(tc, test_makefile_write, 0,
	    NELEM(makefile_bufsizes));
	tcase_add_loop_test(tc, test_makefile_bufsize, 0,
	    NELEM(makefile_sizes));
	tcase_add_test(tc, test_makefile_no_sigpipe);
	tcase_add_test(tc, test_makefile_timeout);
	tcase_add_loop_test(tc, test_makefile_modes, 0,
	    NELEM(makefile_modes));
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(socket_suite)
