/*
 * check_logpeer.c -- log-peer (daemon/logpeer.c): what each mode leaves
 * of a client address in a log line.
 */
#include "config.h"

#include <string.h>

#include <porter/socket.h>

#include "logpeer.h"
#include "check_common.h"

static const struct {
	const char *addr;		/* pt_addr_parse() form */
	enum logpeer_mode mode;
	const char *want;
} cases[] = {
	{ "192.0.2.77:5000", LOGPEER_FULL, "192.0.2.77:5000" },
	{ "192.0.2.77:5000", LOGPEER_TRUNCATE, "192.0.2.0/24" },
	{ "192.0.2.77:5000", LOGPEER_NONE, "-" },
	{ "10.1.2.255:1", LOGPEER_TRUNCATE, "10.1.2.0/24" },
	/* IPv6 keeps a /48 */
	{ "[2001:db8:aaaa:bbbb::1]:80", LOGPEER_TRUNCATE, "2001:db8:aaaa::/48" },
	{ "[2001:db8:aaaa:bbbb::1]:80", LOGPEER_FULL,
	    "[2001:db8:aaaa:bbbb::1]:80" },
	{ "[::1]:7", LOGPEER_TRUNCATE, "::/48" },
	/* v4-mapped counts as IPv4 */
	{ "[::ffff:198.51.100.9]:7", LOGPEER_TRUNCATE, "198.51.100.0/24" },
	/* AF_UNIX peers name no client: unchanged */
	{ "/run/x.sock", LOGPEER_NONE, "/run/x.sock" },
};

START_TEST(test_logpeer)
{
	char buf[PT_ADDRSTRLEN];
	pt_error err;
	pt_addr a;

	ck_assert_msg(pt_addr_parse(&a, cases[_i].addr, 0, SOCK_STREAM, &err) == 0,
	    "%s: %s", cases[_i].addr, err.msg);
	logpeer_set(cases[_i].mode);
	ck_assert_str_eq(logpeer_format(&a, buf, sizeof(buf)), cases[_i].want);
}
END_TEST

START_TEST(test_unknown_peer)
{
	char buf[PT_ADDRSTRLEN];
	pt_addr a;

	memset(&a, 0, sizeof(a));
	logpeer_set(LOGPEER_TRUNCATE);
	/* An empty address formats as pt_addr_format() does. */
	ck_assert_ptr_nonnull(logpeer_format(&a, buf, sizeof(buf)));
}
END_TEST

static Suite *
logpeer_suite(void)
{
	Suite *s = suite_create("logpeer");
	TCase *tc = tcase_create("modes");

	tcase_add_loop_test(tc, test_logpeer, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_unknown_peer);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(logpeer_suite)
