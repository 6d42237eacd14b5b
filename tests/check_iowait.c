/*
 * check_iowait.c -- lib/iowait.c and the wait hook as the socket calls use
 * it (<porter/iowait.h>): a fake host waiter that counts its calls and
 * really waits with poll(2), over socketpairs and loopback.  recv waits in
 * it and then succeeds, a timeout expires through it, a send on a full
 * socketpair waits in it for POLLOUT, accept waits in it without leaving
 * the listener non-blocking, makefile streams use it, closing() hears of
 * pt_sock_close, a non-blocking socket never calls it, and NULL restores
 * the library's own poll.  pt_io_wait, the host's own wait, goes through
 * the waiter or poll(2) the same way.  pt_io_fd_hint spares pt_fromfd()
 * its getsockopt()s for exactly the hinted descriptor.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "porter/iowait.h"
#include "porter/socket.h"
#include "check_common.h"
#include "check_sock_util.h"

/* What the fake host saw. */
struct fake {
	int waits, last_fd, last_events, last_ms;
	int closings, closed_fd;
	int fd_open_at_closing;	/* closing() came before close() */
};

/* A host's wait, honestly done: poll for what was asked, as long. */
static int
fake_wait(void *arg, int fd, int events, int timeout_ms)
{
	struct fake *f = arg;
	struct pollfd p;
	int r;

	f->waits++;
	f->last_fd = fd;
	f->last_events = events;
	f->last_ms = timeout_ms;
	p.fd = fd;
	p.events = (short)events;
	r = poll(&p, 1, timeout_ms);
	return r < 0 ? -1 : r > 0;
}

static void
fake_closing(void *arg, int fd)
{
	struct fake *f = arg;

	f->closings++;
	f->closed_fd = fd;
	f->fd_open_at_closing = fcntl(fd, F_GETFD) >= 0;
}

static struct fake fk;
static const pt_io_waiter fake_waiter = { fake_wait, fake_closing, &fk };

static void
install(void)
{
	memset(&fk, 0, sizeof(fk));
	ck_assert_ptr_null(pt_io_set_waiter(&fake_waiter));
}

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

static void
reap(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Blocking recv: tried, waits in the waiter with no limit, then reads. */
START_TEST(test_recv_waits)
{
	pt_sock *p[2];
	pt_error e;
	char *buf;
	pid_t pid;

	unix_pair(p);
	install();
	/* Short reads on a socket that never waited: each read tries first. */
	ck_assert_int_eq(pt_sock_send(p[1], "hi", 2, 0, &e), 2);
	ck_assert_int_eq(pt_sock_recv(p[0], 8, 0, &buf, &e), 2);
	free(buf);
	ck_assert_int_eq(pt_sock_send(p[1], "yo", 2, 0, &e), 2);
	ck_assert_int_eq(pt_sock_recv(p[0], 8, 0, &buf, &e), 2);
	free(buf);
	ck_assert_int_eq(fk.waits, 0);
	pid = late_writer(pt_sock_fileno(p[1]), 100, "late");
	ck_assert_msg(pt_sock_recv(p[0], 8, 0, &buf, &e) == 4, "%s", e.msg);
	ck_assert_str_eq(buf, "late");
	free(buf);
	reap(pid);
	ck_assert_int_ge(fk.waits, 1);
	ck_assert_int_eq(fk.last_fd, pt_sock_fileno(p[0]));
	ck_assert_int_eq(fk.last_events, POLLIN);
	ck_assert_int_eq(fk.last_ms, -1);
	/*
	 * The read had to wait and was short (4 of 8), so the next one waits
	 * first: data that came meanwhile is reported at once (the waiter
	 * polls).
	 */
	fk.waits = 0;
	ck_assert_int_eq(pt_sock_send(p[1], "now", 3, 0, &e), 3);
	ck_assert_int_eq(pt_sock_recv(p[0], 8, 0, &buf, &e), 3);
	free(buf);
	ck_assert_int_eq(fk.waits, 1);
	/* After a full read: tried first, and data already there means no
	 * wait at all. */
	ck_assert_int_eq(pt_sock_send(p[1], "abcde", 5, 0, &e), 5);
	ck_assert_int_eq(pt_sock_recv(p[0], 3, 0, &buf, &e), 3);
	free(buf);
	fk.waits = 0;
	ck_assert_int_eq(pt_sock_recv(p[0], 8, 0, &buf, &e), 2);
	ck_assert_str_eq(buf, "de");
	free(buf);
	ck_assert_int_eq(fk.waits, 0);
	/* MSG_PEEK never waits first either. */
	ck_assert_int_eq(pt_sock_send(p[1], "x", 1, 0, &e), 1);
	ck_assert_int_eq(pt_sock_recv(p[0], 8, MSG_PEEK, &buf, &e), 1);
	free(buf);
	ck_assert_int_eq(fk.waits, 0);
	ck_assert_int_eq(pt_sock_recv(p[0], 8, 0, &buf, &e), 1);
	free(buf);
	/* The socket's descriptor was never made non-blocking. */
	ck_assert(!is_nonblocking(pt_sock_fileno(p[0])));
	pt_io_set_waiter(NULL);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
}
END_TEST

/* Timeout mode: the waiter gets the remaining time; expiry is a timeout. */
START_TEST(test_timeout_through_waiter)
{
	pt_sock *p[2];
	char b[8];
	pt_error e;
	double t0;

	unix_pair(p);
	ck_assert_int_eq(pt_sock_settimeout(p[0], 0.2, &e), 0);
	install();
	t0 = mono();
	ck_assert_int_eq(pt_sock_recv_into(p[0], b, sizeof(b), 0, &e), -1);
	assert_err(&e, PT_ERR_TIMEOUT, ETIMEDOUT);
	ck_assert(mono() - t0 >= 0.19);
	ck_assert(mono() - t0 < 5.0);
	ck_assert_int_ge(fk.waits, 1);
	ck_assert_int_gt(fk.last_ms, 0);
	ck_assert_int_le(fk.last_ms, 201);
	pt_io_set_waiter(NULL);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
}
END_TEST

/* A full socketpair: send waits in the waiter for POLLOUT. */
START_TEST(test_send_waits_pollout)
{
	static char big[1 << 16];
	pt_sock *p[2];
	pt_error e;
	double t0;

	unix_pair(p);
	ck_assert_int_eq(pt_sock_setblocking(p[0], 0, &e), 0);
	while (pt_sock_send(p[0], big, sizeof(big), 0, &e) > 0)
		;
	assert_err(&e, PT_ERR_OS, EAGAIN);
	ck_assert_int_eq(pt_sock_settimeout(p[0], 0.2, &e), 0);
	install();
	t0 = mono();
	ck_assert_int_eq(pt_sock_sendall(p[0], big, sizeof(big), 0, NULL, &e),
	    -1);
	assert_err(&e, PT_ERR_TIMEOUT, ETIMEDOUT);
	ck_assert(mono() - t0 >= 0.19);
	ck_assert_int_ge(fk.waits, 1);
	ck_assert_int_eq(fk.last_events, POLLOUT);
	ck_assert_int_eq(fk.last_fd, pt_sock_fileno(p[0]));
	pt_io_set_waiter(NULL);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
}
END_TEST

/* Blocking accept waits in the waiter; the listener stays blocking. */
START_TEST(test_accept_waits)
{
	pt_sock *l, *c, *a;
	pt_error e;
	pid_t pid;
	int port;

	l = listener(AF_INET, "127.0.0.1", 4, &port);
	install();
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pt_io_set_waiter(NULL);
		poll(NULL, 0, 100);
		c = pt_create_connection("127.0.0.1", port, 5.0, NULL, &e);
		_exit(c != NULL && pt_sock_send(c, "x", 1, 0, &e) == 1 ? 0 : 1);
	}
	a = pt_sock_accept(l, NULL, &e);
	ck_assert_msg(a != NULL, "%s", e.msg);
	reap(pid);
	ck_assert_int_ge(fk.waits, 1);
	ck_assert_int_eq(fk.last_fd, pt_sock_fileno(l));
	ck_assert_int_eq(fk.last_events, POLLIN);
	ck_assert(!is_nonblocking(pt_sock_fileno(l)));
	ck_assert(pt_sock_gettimeout(a) == PT_TIMEOUT_NONE);
	ck_assert(!is_nonblocking(pt_sock_fileno(a)));
	pt_io_set_waiter(NULL);
	pt_sock_free(a);
	pt_sock_free(l);
}
END_TEST

/* A makefile stream's reads wait in the waiter too. */
START_TEST(test_makefile_waits)
{
	pt_sock *p[2];
	char line[16];
	pt_error e;
	FILE *fp;
	pid_t pid;

	unix_pair(p);
	install();
	fp = pt_sock_makefile(p[0], "r", -1, &e);
	ck_assert_ptr_nonnull(fp);
	pid = late_writer(pt_sock_fileno(p[1]), 100, "line\n");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	ck_assert_str_eq(line, "line\n");
	reap(pid);
	ck_assert_int_ge(fk.waits, 1);
	ck_assert_int_eq(fk.last_events, POLLIN);
	/* fclose closes the stream's own descriptor: the host hears of it. */
	fk.closings = 0;
	fclose(fp);
	ck_assert_int_eq(fk.closings, 1);
	ck_assert_int_ne(fk.closed_fd, pt_sock_fileno(p[0]));
	pt_io_set_waiter(NULL);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
}
END_TEST

/* closing() comes once, before the descriptor is closed. */
START_TEST(test_closing)
{
	pt_sock *p[2];
	pt_error e;
	int fd;

	unix_pair(p);
	install();
	fd = pt_sock_fileno(p[0]);
	ck_assert_int_eq(pt_sock_close(p[0], &e), 0);
	ck_assert_int_eq(fk.closings, 1);
	ck_assert_int_eq(fk.closed_fd, fd);
	ck_assert(fk.fd_open_at_closing);
	ck_assert_int_eq(pt_sock_close(p[0], &e), 0);
	ck_assert_int_eq(fk.closings, 1);
	pt_sock_free(p[0]);
	ck_assert_int_eq(fk.closings, 1);
	/* pt_sock_free of an open socket closes it: told as well. */
	fd = pt_sock_fileno(p[1]);
	pt_sock_free(p[1]);
	ck_assert_int_eq(fk.closings, 2);
	ck_assert_int_eq(fk.closed_fd, fd);
	pt_io_set_waiter(NULL);
}
END_TEST

/* Non-blocking mode (or MSG_DONTWAIT) never calls the waiter. */
START_TEST(test_nonblocking_never_waits)
{
	pt_sock *p[2];
	char b[8];
	pt_error e;

	unix_pair(p);
	install();
	ck_assert_int_eq(pt_sock_recv_into(p[0], b, sizeof(b), MSG_DONTWAIT,
	    &e), -1);
	assert_err(&e, PT_ERR_OS, EAGAIN);
	ck_assert_int_eq(pt_sock_setblocking(p[0], 0, &e), 0);
	ck_assert_int_eq(pt_sock_recv_into(p[0], b, sizeof(b), 0, &e), -1);
	assert_err(&e, PT_ERR_OS, EAGAIN);
	ck_assert_int_eq(fk.waits, 0);
	pt_io_set_waiter(NULL);
	pt_sock_free(p[0]);
	pt_sock_free(p[1]);
}
END_TEST

/* NULL gives the library's poll back; the previous waiter is returned. */
START_TEST(test_null_restores_poll)
{
	pt_sock *p[2];
	char b[8];
	pt_error e;
	double t0;

	unix_pair(p);
	install();
	ck_assert_ptr_eq(pt_io_set_waiter(NULL), &fake_waiter);
	ck_assert_ptr_null(pt_io_set_waiter(NULL));
	ck_assert_int_eq(pt_sock_settimeout(p[0], 0.1, &e), 0);
	t0 = mono();
	ck_assert_int_eq(pt_sock_recv_into(p[0], b, sizeof(b), 0, &e), -1);
	assert_err(&e, PT_ERR_TIMEOUT, ETIMEDOUT);
	ck_assert(mono() - t0 >= 0.09);
	pt_sock_free(p[0]);
	ck_assert_int_eq(fk.waits, 0);
	ck_assert_int_eq(fk.closings, 0);
	pt_sock_free(p[1]);
}
END_TEST

/* pt_io_wait: the host's own waits go through the waiter, or poll. */
START_TEST(test_io_wait)
{
	int sv[2];
	double t0;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	install();
	pid = late_writer(sv[1], 100, "x");
	ck_assert_int_eq(pt_io_wait(sv[0], POLLIN, 5000), 1);
	reap(pid);
	ck_assert_int_ge(fk.waits, 1);
	ck_assert_int_eq(fk.last_fd, sv[0]);
	ck_assert_int_eq(fk.last_events, POLLIN);
	ck_assert_int_gt(fk.last_ms, 0);
	ck_assert_int_le(fk.last_ms, 5000);
	ck_assert_int_eq(pt_io_wait(sv[1], POLLOUT, -1), 1);
	ck_assert_int_eq(fk.last_ms, -1);
	/* Nothing more to read: a timeout, through the waiter. */
	ck_assert_int_eq(read(sv[0], (char[1]){ 0 }, 1), 1);
	fk.waits = 0;
	t0 = mono();
	ck_assert_int_eq(pt_io_wait(sv[0], POLLIN, 100), 0);
	ck_assert(mono() - t0 >= 0.09);
	ck_assert_int_ge(fk.waits, 1);
	/* Without a waiter: poll(2), same results. */
	pt_io_set_waiter(NULL);
	fk.waits = 0;
	t0 = mono();
	ck_assert_int_eq(pt_io_wait(sv[0], POLLIN, 100), 0);
	ck_assert(mono() - t0 >= 0.09);
	ck_assert_int_eq(write(sv[1], "y", 1), 1);
	ck_assert_int_eq(pt_io_wait(sv[0], POLLIN, -1), 1);
	ck_assert_int_eq(fk.waits, 0);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * pt_io_fd_hint: pt_fromfd() of exactly the hinted descriptor takes the
 * host's record (a deliberately different one shows it is used), still
 * checks the caller's claims against it, and asks the kernel for any other
 * descriptor and once the hint is cleared.
 */
START_TEST(test_fd_hint)
{
	pt_sock *s;
	pt_error e;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pt_io_fd_hint(sv[0], AF_INET6, SOCK_STREAM, IPPROTO_TCP, 1);
	s = pt_fromfd(sv[0], 0, 0, 0, &e);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(pt_sock_family(s), AF_INET6);
	ck_assert_int_eq(pt_sock_proto(s), IPPROTO_TCP);
	ck_assert(pt_sock_gettimeout(s) == 0.0);	/* "non-blocking" */
	pt_sock_free(s);
	pt_io_fd_hint(sv[0], AF_UNIX, SOCK_STREAM, 0, -1);	/* ask */
	s = pt_fromfd(sv[0], 0, 0, 0, &e);
	ck_assert_ptr_nonnull(s);
	ck_assert(pt_sock_gettimeout(s) < 0);
	pt_sock_free(s);
	ck_assert_ptr_null(pt_fromfd(sv[0], AF_INET, 0, 0, &e));
	assert_err(&e, PT_ERR_ARG, EPROTOTYPE);
	/* Another descriptor: the kernel's record. */
	s = pt_fromfd(sv[1], 0, 0, 0, &e);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(pt_sock_family(s), AF_UNIX);
	pt_sock_free(s);
	pt_io_fd_hint(-1, 0, 0, 0, -1);
	s = pt_fromfd(sv[0], 0, 0, 0, &e);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(pt_sock_family(s), AF_UNIX);
	ck_assert_int_eq(pt_sock_type(s), SOCK_STREAM);
	pt_sock_free(s);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *
iowait_suite(void)
{
	Suite *s = suite_create("iowait");
	TCase *tc;

	tc = tcase_create("wait");
	tcase_add_test(tc, test_recv_waits);
	tcase_add_test(tc, test_timeout_through_waiter);
	tcase_add_test(tc, test_send_waits_pollout);
	tcase_add_test(tc, test_accept_waits);
	tcase_add_test(tc, test_makefile_waits);
	tcase_add_test(tc, test_nonblocking_never_waits);
	tcase_add_test(tc, test_null_restores_poll);
	tcase_add_test(tc, test_io_wait);
	tcase_add_test(tc, test_fd_hint);
	suite_add_tcase(s, tc);

	tc = tcase_create("closing");
	tcase_add_test(tc, test_closing);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(iowait_suite)
