/*
 * check_pool_proto.c -- the worker pool's wire format (daemon/pool_proto.c):
 * SETUP records round-trip and malformed ones are refused; messages keep
 * their boundaries on a SOCK_SEQPACKET pair; a descriptor travels with
 * its message and is the same socket at the other end; a short message,
 * a wrong magic, a truncated message and a second descriptor are refused
 * without leaking a descriptor; the peer's close reads as 0.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool_proto.h"
#include "check_common.h"

static void
pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
}

/* The number of open descriptors of this process. */
static int
nfds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

START_TEST(test_tlv_roundtrip)
{
	struct pool_tlv_buf b = { NULL, 0, 0, 0 };
	struct pool_hdr h = { POOL_MAGIC, POOL_SETUP };
	const unsigned char *v;
	uint32_t u[2] = { 7, 9 }, got;
	char big[3000];
	size_t off = sizeof(h), vlen;
	uint16_t type;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pool_tlv_start(&b, &h, sizeof(h));
	pool_tlv_put_str(&b, POOL_T_NAME, "echo");
	pool_tlv_put(&b, POOL_T_LOG, u, sizeof(u));
	pool_tlv_put(&b, POOL_T_BPF, NULL, 0);		/* empty value */
	pool_tlv_put_str(&b, POOL_T_ARG, big);		/* grows the buffer */
	ck_assert(!b.failed);
	ck_assert_int_eq(memcmp(b.data, &h, sizeof(h)), 0);

	ck_assert_int_eq(pool_tlv_next(b.data, b.len, &off, &type, &v, &vlen),
	    1);
	ck_assert_uint_eq(type, POOL_T_NAME);
	ck_assert_uint_eq(vlen, 5);
	ck_assert_str_eq((const char *)v, "echo");
	ck_assert_int_eq(pool_tlv_next(b.data, b.len, &off, &type, &v, &vlen),
	    1);
	ck_assert_uint_eq(type, POOL_T_LOG);
	memcpy(&got, v + 4, 4);
	ck_assert_uint_eq(got, 9);
	ck_assert_int_eq(pool_tlv_next(b.data, b.len, &off, &type, &v, &vlen),
	    1);
	ck_assert_uint_eq(type, POOL_T_BPF);
	ck_assert_uint_eq(vlen, 0);
	ck_assert_int_eq(pool_tlv_next(b.data, b.len, &off, &type, &v, &vlen),
	    1);
	ck_assert_uint_eq(vlen, sizeof(big));
	ck_assert_str_eq((const char *)v, big);
	/* The end. */
	ck_assert_int_eq(pool_tlv_next(b.data, b.len, &off, &type, &v, &vlen),
	    0);
	free(b.data);
}
END_TEST

START_TEST(test_tlv_malformed)
{
	struct pool_tlv_buf b = { NULL, 0, 0, 0 };
	const unsigned char *v;
	size_t off, vlen;
	uint16_t type;

	pool_tlv_put_str(&b, POOL_T_NAME, "echo");
	/* Every cut short of the whole record is refused, not read past. */
	for (size_t cut = 1; cut < b.len; cut++) {
		off = 0;
		ck_assert_int_eq(pool_tlv_next(b.data, cut, &off, &type, &v,
		    &vlen), -1);
	}
	/* An offset past the end. */
	off = b.len + 1;
	ck_assert_int_eq(pool_tlv_next(b.data, b.len, &off, &type, &v, &vlen),
	    -1);
	free(b.data);
}
END_TEST

START_TEST(test_msg_with_fd)
{
	struct pool_conn_msg m, got;
	struct stat a, b;
	int sv[2], fd, carried[2];
	ssize_t n;

	pair(sv);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    carried), 0);
	memset(&m, 0, sizeof(m));
	m.h.magic = POOL_MAGIC;
	m.h.type = POOL_CONN;
	m.id = 42;
	ck_assert_int_eq(pool_send(sv[0], &m, sizeof(m), carried[0]), 0);
	/* A second message without one: boundaries are kept. */
	m.id = 43;
	ck_assert_int_eq(pool_send(sv[0], &m, sizeof(m), -1), 0);

	n = pool_recv(sv[1], &got, sizeof(got), &fd, 0);
	ck_assert_int_eq(n, (ssize_t)sizeof(got));
	ck_assert_uint_eq(got.id, 42);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fd, carried[0]);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(fstat(fd, &a), 0);
	ck_assert_int_eq(fstat(carried[0], &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);	/* the same socket */
	/* It works: a byte written on it arrives at the other end. */
	ck_assert_int_eq(write(fd, "x", 1), 1);
	{
		char c;

		ck_assert_int_eq(read(carried[1], &c, 1), 1);
		ck_assert_int_eq(c, 'x');
	}
	close(fd);

	n = pool_recv(sv[1], &got, sizeof(got), &fd, 0);
	ck_assert_int_eq(n, (ssize_t)sizeof(got));
	ck_assert_uint_eq(got.id, 43);
	ck_assert_int_eq(fd, -1);
	/* Nothing left: MSG_DONTWAIT does not wait for the next one. */
	n = pool_recv(sv[1], &got, sizeof(got), &fd, MSG_DONTWAIT);
	ck_assert_int_eq(n, -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(fd, -1);

	close(sv[0]);
	n = pool_recv(sv[1], &got, sizeof(got), &fd, 0);
	ck_assert_int_eq(n, 0);	/* the peer closed */
	close(sv[1]);
	close(carried[0]);
	close(carried[1]);
}
END_TEST

START_TEST(test_msg_refused)
{
	struct pool_conn_msg m, got;
	struct pool_hdr bad = { 0x12345678, POOL_CONN };
	char tiny[3] = "ab";
	int sv[2], fd, carried[2], before;

	pair(sv);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    carried), 0);
	before = nfds();

	/* Shorter than a header, with a descriptor: refused, fd closed. */
	ck_assert_int_eq(pool_send(sv[0], tiny, sizeof(tiny), carried[0]), 0);
	ck_assert_int_eq(pool_recv(sv[1], &got, sizeof(got), &fd, 0), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(nfds(), before);

	/* The wrong magic. */
	ck_assert_int_eq(pool_send(sv[0], &bad, sizeof(bad), carried[0]), 0);
	ck_assert_int_eq(pool_recv(sv[1], &got, sizeof(got), &fd, 0), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(nfds(), before);

	/* Longer than the receiver's buffer: truncated, refused. */
	memset(&m, 0, sizeof(m));
	m.h.magic = POOL_MAGIC;
	m.h.type = POOL_CONN;
	ck_assert_int_eq(pool_send(sv[0], &m, sizeof(m), carried[0]), 0);
	ck_assert_int_eq(pool_recv(sv[1], &got, sizeof(struct pool_hdr) + 4,
	    &fd, 0), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(nfds(), before);

	close(sv[0]);
	close(sv[1]);
	close(carried[0]);
	close(carried[1]);
}
END_TEST

START_TEST(test_send_to_closed)
{
	struct pool_hdr h = { POOL_MAGIC, POOL_READY };
	int sv[2];

	pair(sv);
	close(sv[1]);
	/* EPIPE, and no SIGPIPE (which would kill this test). */
	ck_assert_int_eq(pool_send(sv[0], &h, sizeof(h), -1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(sv[0]);
}
END_TEST

static Suite *
pool_proto_suite(void)
{
	Suite *s = suite_create("pool_proto");
	TCase *tlv = tcase_create("setup records");
	TCase *msg = tcase_create("messages");

	tcase_add_test(tlv, test_tlv_roundtrip);
	tcase_add_test(tlv, test_tlv_malformed);
	tcase_add_test(msg, test_msg_with_fd);
	tcase_add_test(msg, test_msg_refused);
	tcase_add_test(msg, test_send_to_closed);
	suite_add_tcase(s, tlv);
	suite_add_tcase(s, msg);
	return s;
}

PT_CHECK_MAIN(pool_proto_suite)
