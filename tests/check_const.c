/*
 * check_const.c -- the constants table: lookup by name, levels, reverse
 * lookup, the config's aliases, and the table's own consistency.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "porter/socket.h"
#include "check_common.h"

/* Name -> value and level; one row per kind of entry. */
static const struct {
	const char *name;
	long value;
	int level;
} find_cases[] = {
	/* A socket-level option carries SOL_SOCKET. */
	{ "SO_KEEPALIVE", SO_KEEPALIVE, SOL_SOCKET },
	{ "SO_REUSEADDR", SO_REUSEADDR, SOL_SOCKET },
	/* Linux-only options are there too. */
	{ "SO_REUSEPORT", SO_REUSEPORT, SOL_SOCKET },
	{ "SO_PEERCRED", SO_PEERCRED, SOL_SOCKET },
	/* TCP options carry IPPROTO_TCP. */
	{ "TCP_NODELAY", TCP_NODELAY, IPPROTO_TCP },
	{ "TCP_KEEPIDLE", TCP_KEEPIDLE, IPPROTO_TCP },
	/* IPv6 options carry IPPROTO_IPV6. */
	{ "IPV6_V6ONLY", IPV6_V6ONLY, IPPROTO_IPV6 },
	/* IPv4 options carry IPPROTO_IP. */
	{ "IP_TOS", IP_TOS, IPPROTO_IP },
	{ "IP_FREEBIND", IP_FREEBIND, IPPROTO_IP },
	/* An IP_ name that is a value, not an option, has no level. */
	{ "IP_DEFAULT_MULTICAST_TTL", IP_DEFAULT_MULTICAST_TTL, -1 },
	/* Families, types, flags, levels, protocols: plain values. */
	{ "AF_INET6", AF_INET6, -1 },
	{ "AF_LOCAL", AF_LOCAL, -1 },
	{ "SOCK_STREAM", SOCK_STREAM, -1 },
	{ "SOCK_CLOEXEC", SOCK_CLOEXEC, -1 },
	{ "SOMAXCONN", SOMAXCONN, -1 },
	{ "MSG_NOSIGNAL", MSG_NOSIGNAL, -1 },
	{ "MSG_PEEK", MSG_PEEK, -1 },
	{ "SOL_SOCKET", SOL_SOCKET, -1 },
	{ "SOL_TCP", SOL_TCP, -1 },
	{ "IPPROTO_TCP", IPPROTO_TCP, -1 },
	{ "IPPROTO_ICMPV6", IPPROTO_ICMPV6, -1 },
	{ "SHUT_RDWR", SHUT_RDWR, -1 },
	/* INADDR_* in host byte order, as Python exports them. */
	{ "INADDR_LOOPBACK", 0x7f000001L, -1 },
	{ "INADDR_BROADCAST", 0xffffffffL, -1 },
	{ "INADDR_ALLHOSTS_GROUP", 0xe0000001L, -1 },
	/* IPPORT_*: glibc has them only as enum values; Python's defaults. */
	{ "IPPORT_RESERVED", 1024, -1 },
	{ "IPPORT_USERRESERVED", 5000, -1 },
	/* The config's lower-case aliases. */
	{ "stream", SOCK_STREAM, -1 },
	{ "dgram", SOCK_DGRAM, -1 },
	{ "seqpacket", SOCK_SEQPACKET, -1 },
	{ "raw", SOCK_RAW, -1 },
	{ "rdm", SOCK_RDM, -1 },
	{ "inet", AF_INET, -1 },
	{ "inet6", AF_INET6, -1 },
	{ "unix", AF_UNIX, -1 },
};

START_TEST(test_find)
{
	const pt_const *c;
	pt_error e;

	pt_error_clear(&e);
	c = pt_const_find(find_cases[_i].name, &e);
	ck_assert_msg(c != NULL, "%s: %s", find_cases[_i].name, e.msg);
	ck_assert_str_eq(c->name, find_cases[_i].name);
	ck_assert_int_eq(c->value, find_cases[_i].value);
	ck_assert_int_eq(c->level, find_cases[_i].level);
	/* Success leaves the error untouched. */
	ck_assert_int_eq(e.kind, PT_ERR_NONE);
}
END_TEST

/* Names that must not be found; the message quotes them. */
static const char *const unknown_cases[] = {
	"SO_BOGUS",		/* no such option */
	"so_keepalive",		/* exact match: case matters */
	"SO_KEEPALIVE ",	/* no trimming */
	"SO_",			/* a prefix is not a name */
	"",			/* empty */
	"STREAM",		/* aliases are lower case only */
};

START_TEST(test_find_unknown)
{
	char want[PT_ERROR_MSGLEN];
	pt_error e;

	errno = 0;
	ck_assert_ptr_null(pt_const_find(unknown_cases[_i], &e));
	ck_assert_int_eq(e.kind, PT_ERR_ARG);
	ck_assert_int_eq(e.code, ENOENT);
	ck_assert_int_eq(errno, ENOENT);
	snprintf(want, sizeof(want), "unknown constant '%s'",
	    unknown_cases[_i]);
	ck_assert_str_eq(e.msg, want);
}
END_TEST

START_TEST(test_find_null)
{
	pt_error e;

	/* A NULL error is "don't care"; a NULL name is just unknown. */
	ck_assert_ptr_null(pt_const_find("SO_BOGUS", NULL));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_null(pt_const_find(NULL, &e));
	ck_assert_str_eq(e.msg, "unknown constant ''");
}
END_TEST

/* Reverse lookups: (prefix, value) -> the canonical name. */
static const struct {
	const char *prefix;
	long value;
	const char *name;	/* NULL: no such row */
} name_cases[] = {
	/* AF_UNIX, not its alias AF_LOCAL, nor "unix". */
	{ "AF_", AF_UNIX, "AF_UNIX" },
	{ "AF_", AF_INET6, "AF_INET6" },
	/* SOCK_STREAM, not "stream". */
	{ "SOCK_", SOCK_STREAM, "SOCK_STREAM" },
	{ "SO_", SO_KEEPALIVE, "SO_KEEPALIVE" },
	/* SOL_SOCKET before the levels that share a prefix. */
	{ "SOL_", SOL_SOCKET, "SOL_SOCKET" },
	/* IPPROTO_IP, not IPPROTO_HOPOPTS (both 0). */
	{ "IPPROTO_", 0, "IPPROTO_IP" },
	{ "IPPROTO_", IPPROTO_UDP, "IPPROTO_UDP" },
	/* MSG_DONTROUTE, not its old alias MSG_TRYHARD. */
	{ "MSG_", MSG_DONTROUTE, "MSG_DONTROUTE" },
	/* IPV6_JOIN_GROUP, not IPV6_ADD_MEMBERSHIP. */
	{ "IPV6_", IPV6_JOIN_GROUP, "IPV6_JOIN_GROUP" },
	{ "TCP_", TCP_NODELAY, "TCP_NODELAY" },
	{ "SHUT_", SHUT_WR, "SHUT_WR" },
	/* The prefix narrows: value 1 under "SO_" is not SOCK_STREAM. */
	{ "SO_", 1, "SO_DEBUG" },
	/* Lower-case aliases are reachable by their own prefix. */
	{ "inet", AF_INET6, "inet6" },
	/* Nothing with that value. */
	{ "AF_", 12345, NULL },
	/* Nothing with that prefix. */
	{ "XX_", 1, NULL },
};

START_TEST(test_name)
{
	const pt_const *c = pt_const_name(name_cases[_i].prefix,
	    name_cases[_i].value);

	if (name_cases[_i].name == NULL) {
		ck_assert_ptr_null(c);
		return;
	}
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->name, name_cases[_i].name);
	ck_assert_int_eq(c->value, name_cases[_i].value);
}
END_TEST

START_TEST(test_name_empty_prefix)
{
	const pt_const *c;

	/* An empty (or NULL) prefix matches the first row with the value. */
	c = pt_const_name("", AF_INET6);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->value, AF_INET6);
	ck_assert_ptr_eq(pt_const_name(NULL, AF_INET6), c);
}
END_TEST

START_TEST(test_table_unique_names)
{
	const pt_const *t;
	size_t i, j, n = 0;

	t = pt_const_table(&n);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_gt(n, 100);
	for (i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(t[i].name);
		ck_assert_uint_gt(strlen(t[i].name), 0);
		for (j = i + 1; j < n; j++)
			ck_assert_msg(strcmp(t[i].name, t[j].name) != 0,
			    "'%s' appears twice (rows %zu and %zu)",
			    t[i].name, i, j);
	}
	/* ret_n may be NULL. */
	ck_assert_ptr_eq(pt_const_table(NULL), t);
}
END_TEST

START_TEST(test_table_consistent)
{
	const pt_const *t;
	size_t i, n;

	t = pt_const_table(&n);
	for (i = 0; i < n; i++) {
		/* Every row is found by its name, as itself. */
		ck_assert_ptr_eq(pt_const_find(t[i].name, NULL), &t[i]);
		/* Rows with a level are options of the matching family. */
		if (t[i].level == SOL_SOCKET)
			ck_assert_msg(strncmp(t[i].name, "SO_", 3) == 0, "%s",
			    t[i].name);
		else if (t[i].level == IPPROTO_TCP)
			ck_assert_msg(strncmp(t[i].name, "TCP_", 4) == 0, "%s",
			    t[i].name);
		else if (t[i].level == IPPROTO_IPV6)
			ck_assert_msg(strncmp(t[i].name, "IPV6_", 5) == 0, "%s",
			    t[i].name);
		else if (t[i].level == IPPROTO_IP)
			ck_assert_msg(strncmp(t[i].name, "IP_", 3) == 0, "%s",
			    t[i].name);
		else
			ck_assert_msg(t[i].level == -1, "%s: level %d",
			    t[i].name, t[i].level);
		/* Every SO_ and TCP_ name is an option. */
		if (strncmp(t[i].name, "SO_", 3) == 0 ||
		    strncmp(t[i].name, "TCP_", 4) == 0)
			ck_assert_msg(t[i].level != -1, "%s", t[i].name);
	}
}
END_TEST

START_TEST(test_options_work)
{
	const pt_const *c;
	int fd, v = 1;
	socklen_t len = sizeof(v);

	/* The (level, value) pair of a row is usable as is. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	c = pt_const_find("TCP_NODELAY", NULL);
	ck_assert_int_eq(setsockopt(fd, c->level, (int)c->value, &v,
	    sizeof(v)), 0);
	v = 0;
	ck_assert_int_eq(getsockopt(fd, c->level, (int)c->value, &v, &len), 0);
	ck_assert_int_ne(v, 0);
	c = pt_const_find("SO_TYPE", NULL);
	ck_assert_int_eq(getsockopt(fd, c->level, (int)c->value, &v, &len), 0);
	ck_assert_int_eq(v, SOCK_STREAM);
	close(fd);
}
END_TEST

static Suite *
const_suite(void)
{
	Suite *s = suite_create("const");
	TCase *tc;

	tc = tcase_create("find");
	tcase_add_loop_test(tc, test_find, 0,
	    sizeof(find_cases) / sizeof(find_cases[0]));
	tcase_add_loop_test(tc, test_find_unknown, 0,
	    sizeof(unknown_cases) / sizeof(unknown_cases[0]));
	tcase_add_test(tc, test_find_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("reverse");
	tcase_add_loop_test(tc, test_name, 0,
	    sizeof(name_cases) / sizeof(name_cases[0]));
	tcase_add_test(tc, test_name_empty_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_add_test(tc, test_table_unique_names);
	tcase_add_test(tc, test_table_consistent);
	tcase_add_test(tc, test_options_work);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(const_suite)
