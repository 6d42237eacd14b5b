/*
 * check_addr.c -- address values: pt_addr_inet's seed rules, AF_UNIX paths
 * and abstract names, the config parser and its messages, formatting, the
 * accessors, and the byte-order functions.
 *
 * Names resolved here are only "localhost" (from /etc/hosts) and
 * "nosuch..invalid", whose empty label makes glibc refuse it before any
 * DNS query is built (see check_resolve.c); nothing leaves the machine.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "porter/socket.h"
#include "check_common.h"

#define SUN_OFF		offsetof(struct sockaddr_un, sun_path)
#define SUN_MAX		sizeof(((struct sockaddr_un *)0)->sun_path)
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- inet */

/* pt_addr_inet successes: (family, host, port) -> formatted address. */
static const struct {
	int family;
	const char *host;
	int port;
	const char *want;
} inet_ok[] = {
	/* "" is the wildcard: 0.0.0.0 for IPv4 and for AF_UNSPEC... */
	{ AF_INET, "", 7, "0.0.0.0:7" },
	{ AF_UNSPEC, "", 7, "0.0.0.0:7" },
	/* ...and :: for IPv6. */
	{ AF_INET6, "", 7, "[::]:7" },
	/* NULL is taken as "". */
	{ AF_INET, NULL, 7, "0.0.0.0:7" },
	/* "<broadcast>" and its dotted form are INADDR_BROADCAST. */
	{ AF_INET, "<broadcast>", 9, "255.255.255.255:9" },
	{ AF_UNSPEC, "<broadcast>", 9, "255.255.255.255:9" },
	{ AF_UNSPEC, "255.255.255.255", 9, "255.255.255.255:9" },
	/* The seed's example address, numeric: no resolver. */
	{ AF_INET, "100.50.200.5", 80, "100.50.200.5:80" },
	/* AF_UNSPEC takes numeric text of either family. */
	{ AF_UNSPEC, "127.0.0.1", 0, "127.0.0.1:0" },
	{ AF_UNSPEC, "::1", 65535, "[::1]:65535" },
	{ AF_INET6, "::1", 7, "[::1]:7" },
	/* A v4-mapped address stays IPv6. */
	{ AF_INET6, "::ffff:1.2.3.4", 7, "[::ffff:1.2.3.4]:7" },
	/* The short inet_aton form goes through getaddrinfo, locally. */
	{ AF_INET, "127.1", 7, "127.0.0.1:7" },
	/* A numeric scope (1 is the loopback interface) is kept. */
	{ AF_INET6, "fe80::1%1", 7, "[fe80::1%1]:7" },
	/* A name, from /etc/hosts. */
	{ AF_INET, "localhost", 7, "127.0.0.1:7" },
};

START_TEST(test_inet_ok)
{
	char buf[PT_ADDRSTRLEN];
	pt_addr a;
	pt_error e;

	pt_error_clear(&e);
	ck_assert_msg(pt_addr_inet(&a, inet_ok[_i].family, inet_ok[_i].host,
	    inet_ok[_i].port, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(pt_addr_format(&a, buf, sizeof(buf)),
	    inet_ok[_i].want);
	ck_assert_int_eq(pt_addr_port(&a), inet_ok[_i].port);
	ck_assert_int_eq(e.kind, PT_ERR_NONE);
	ck_assert_uint_eq(a.len, pt_addr_family(&a) == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
}
END_TEST

/* pt_addr_inet failures: kind, code and the exact message. */
static const struct {
	int family;
	const char *host;
	int port;
	pt_error_kind kind;
	int code;
	const char *msg;
} inet_bad[] = {
	/* Broadcast has no IPv6 form, under either spelling. */
	{ AF_INET6, "<broadcast>", 7, PT_ERR_ARG, EAFNOSUPPORT,
	  "host '<broadcast>': broadcast is IPv4 only" },
	{ AF_INET6, "255.255.255.255", 7, PT_ERR_ARG, EAFNOSUPPORT,
	  "host '255.255.255.255': broadcast is IPv4 only" },
	/* Numeric text of the other family. */
	{ AF_INET, "::1", 7, PT_ERR_ARG, EAFNOSUPPORT,
	  "host '::1': not an IPv4 address" },
	{ AF_INET6, "1.2.3.4", 7, PT_ERR_ARG, EAFNOSUPPORT,
	  "host '1.2.3.4': not an IPv6 address" },
	/* Ports outside 0..65535. */
	{ AF_INET, "1.2.3.4", 65536, PT_ERR_ARG, ERANGE,
	  "host '1.2.3.4': port 65536 out of range" },
	{ AF_INET, "1.2.3.4", -1, PT_ERR_ARG, ERANGE,
	  "host '1.2.3.4': port -1 out of range" },
	/* Only internet families. */
	{ AF_UNIX, "1.2.3.4", 7, PT_ERR_ARG, EAFNOSUPPORT,
	  "host '1.2.3.4': address family 1 not supported" },
	/* An unknown host is a resolver error (no DNS query: empty label). */
	{ AF_INET, "nosuch..invalid", 7, PT_ERR_RESOLVER, EAI_NONAME,
	  "host 'nosuch..invalid': Name or service not known" },
};

START_TEST(test_inet_bad)
{
	pt_addr a;
	pt_error e;

	errno = 0;
	ck_assert_int_eq(pt_addr_inet(&a, inet_bad[_i].family,
	    inet_bad[_i].host, inet_bad[_i].port, &e), -1);
	ck_assert_int_eq(e.kind, inet_bad[_i].kind);
	ck_assert_int_eq(e.code, inet_bad[_i].code);
	ck_assert_str_eq(e.msg, inet_bad[_i].msg);
	/* errno is the code, or EINVAL for resolver (EAI_*) codes. */
	ck_assert_int_eq(errno, inet_bad[_i].kind == PT_ERR_RESOLVER ?
	    EINVAL : inet_bad[_i].code);
	/* A NULL error is allowed. */
	ck_assert_int_eq(pt_addr_inet(&a, inet_bad[_i].family,
	    inet_bad[_i].host, inet_bad[_i].port, NULL), -1);
}
END_TEST

/* ---------------------------------------------------------------- unix */

/* pt_addr_unix successes: the exact length the kernel expects. */
static const struct {
	const char *path;
	size_t len;
} unix_ok[] = {
	/* A path: its bytes plus the NUL. */
	{ "/run/x.sock", SUN_OFF + 11 + 1 },
	/* An abstract name: '@' becomes the leading NUL, no terminator. */
	{ "@porter", SUN_OFF + 1 + 6 },
	/* "@" alone is the empty abstract name. */
	{ "@", SUN_OFF + 1 },
};

START_TEST(test_unix_ok)
{
	const char *path = unix_ok[_i].path;
	const struct sockaddr_un *sun;
	char buf[PT_ADDRSTRLEN];
	pt_addr a;

	ck_assert_int_eq(pt_addr_unix(&a, path, NULL), 0);
	sun = (const struct sockaddr_un *)&a.ss;
	ck_assert_uint_eq(a.len, unix_ok[_i].len);
	ck_assert_int_eq(pt_addr_family(&a), AF_UNIX);
	ck_assert_int_eq(pt_addr_port(&a), -1);
	if (path[0] == '@') {
		ck_assert_int_eq(sun->sun_path[0], '\0');
		ck_assert_int_eq(memcmp(sun->sun_path + 1, path + 1,
		    strlen(path) - 1), 0);
	} else {
		ck_assert_str_eq(sun->sun_path, path);
	}
	ck_assert_str_eq(pt_addr_format(&a, buf, sizeof(buf)), path);
}
END_TEST

/* Path lengths at and past the limit, for both kinds of name. */
START_TEST(test_unix_lengths)
{
	char path[SUN_MAX + 2];
	char buf[PT_ADDRSTRLEN];
	pt_addr a;
	pt_error e;

	/* A path may use sun_path up to its NUL: 107 bytes. */
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[SUN_MAX - 1] = '\0';
	ck_assert_int_eq(pt_addr_unix(&a, path, &e), 0);
	ck_assert_str_eq(pt_addr_format(&a, buf, sizeof(buf)), path);
	/* 108 bytes do not fit. */
	path[SUN_MAX - 1] = 'p';
	path[SUN_MAX] = '\0';
	errno = 0;
	ck_assert_int_eq(pt_addr_unix(&a, path, &e), -1);
	ck_assert_int_eq(e.kind, PT_ERR_ARG);
	ck_assert_int_eq(e.code, ENAMETOOLONG);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	ck_assert_str_eq(e.msg, "AF_UNIX path too long");

	/* An abstract name has no NUL: "@" + 107 bytes fill sun_path. */
	path[0] = '@';
	path[SUN_MAX] = '\0';
	ck_assert_int_eq(pt_addr_unix(&a, path, &e), 0);
	ck_assert_uint_eq(a.len, SUN_OFF + SUN_MAX);
	ck_assert_str_eq(pt_addr_format(&a, buf, sizeof(buf)), path);
	path[SUN_MAX] = 'p';
	path[SUN_MAX + 1] = '\0';
	ck_assert_int_eq(pt_addr_unix(&a, path, &e), -1);
	ck_assert_int_eq(e.code, ENAMETOOLONG);
}
END_TEST

START_TEST(test_unix_empty)
{
	pt_addr a;
	pt_error e;

	/* Empty and NULL paths. */
	ck_assert_int_eq(pt_addr_unix(&a, "", &e), -1);
	ck_assert_int_eq(e.kind, PT_ERR_ARG);
	ck_assert_int_eq(e.code, EINVAL);
	ck_assert_str_eq(e.msg, "AF_UNIX path is empty");
	ck_assert_int_eq(pt_addr_unix(&a, NULL, &e), -1);
	ck_assert_int_eq(e.code, EINVAL);
}
END_TEST

/* The kernel agrees with the lengths: bind, then compare getsockname. */
START_TEST(test_unix_kernel_agrees)
{
	char dir[] = "/tmp/check_addr.XXXXXX", path[64], name[64];
	pt_addr a, got;
	int i, fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	snprintf(name, sizeof(name), "@check_addr.%ld", (long)getpid());
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(pt_addr_unix(&a, i == 0 ? path : name, NULL),
		    0);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&a.ss, a.len), 0);
		memset(&got, 0, sizeof(got));
		got.len = sizeof(got.ss);
		ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&got.ss,
		    &got.len), 0);
		ck_assert_msg(pt_addr_equal(&a, &got), "%s: len %u vs %u",
		    i == 0 ? path : name, (unsigned)a.len, (unsigned)got.len);
		close(fd);
	}
	unlink(path);
	rmdir(dir);
}
END_TEST

/* --------------------------------------------------------------- parse */

/* pt_addr_parse successes: (text, default port, socktype) -> format. */
static const struct {
	const char *text;
	int dflt;
	int socktype;
	const char *want;
} parse_ok[] = {
	/* host:port, numeric. */
	{ "1.2.3.4:7", -1, SOCK_STREAM, "1.2.3.4:7" },
	/* A name, resolved as IPv4. */
	{ "localhost:7", -1, SOCK_STREAM, "127.0.0.1:7" },
	/* Bracketed IPv6. */
	{ "[::1]:7", -1, SOCK_STREAM, "[::1]:7" },
	{ "[::]:7", -1, SOCK_STREAM, "[::]:7" },
	{ "[::ffff:1.2.3.4]:7", -1, SOCK_STREAM, "[::ffff:1.2.3.4]:7" },
	/* A scoped IPv6 address. */
	{ "[fe80::1%1]:7", -1, SOCK_STREAM, "[fe80::1%1]:7" },
	/* The two IPv4 wildcard spellings. */
	{ "*:7", -1, SOCK_STREAM, "0.0.0.0:7" },
	{ ":7", -1, SOCK_STREAM, "0.0.0.0:7" },
	/* The seed's special host works in the text form too. */
	{ "<broadcast>:9", -1, SOCK_DGRAM, "255.255.255.255:9" },
	/* AF_UNIX path and abstract name (the default port is unused). */
	{ "/run/porter.sock", 7, SOCK_STREAM, "/run/porter.sock" },
	{ "@porter", -1, SOCK_STREAM, "@porter" },
	/* No port: the default. */
	{ "127.0.0.1", 9, SOCK_STREAM, "127.0.0.1:9" },
	{ "[::1]", 9, SOCK_STREAM, "[::1]:9" },
	{ "*", 9, SOCK_STREAM, "0.0.0.0:9" },
	/* A bare IPv6 address is accepted when all of it is the address. */
	{ "::1", 9, SOCK_STREAM, "[::1]:9" },
	{ "fe80::1:7", 0, SOCK_STREAM, "[fe80::1:7]:0" },
	/* Service names, per socket type: ntp exists only for udp. */
	{ "1.2.3.4:echo", -1, SOCK_STREAM, "1.2.3.4:7" },
	{ "1.2.3.4:ntp", -1, SOCK_DGRAM, "1.2.3.4:123" },
	{ "[::1]:daytime", -1, SOCK_STREAM, "[::1]:13" },
	/* Port edge values and leading zeros. */
	{ "1.2.3.4:0", -1, SOCK_STREAM, "1.2.3.4:0" },
	{ "1.2.3.4:65535", -1, SOCK_STREAM, "1.2.3.4:65535" },
	{ "1.2.3.4:00007", -1, SOCK_STREAM, "1.2.3.4:7" },
};

START_TEST(test_parse_ok)
{
	char buf[PT_ADDRSTRLEN];
	pt_addr a;
	pt_error e;

	pt_error_clear(&e);
	ck_assert_msg(pt_addr_parse(&a, parse_ok[_i].text, parse_ok[_i].dflt,
	    parse_ok[_i].socktype, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(pt_addr_format(&a, buf, sizeof(buf)),
	    parse_ok[_i].want);
}
END_TEST

/* pt_addr_parse failures: every message quotes the whole text. */
static const struct {
	const char *text;
	int dflt;
	int socktype;
	pt_error_kind kind;
	const char *msg;
} parse_bad[] = {
	/* A word that is no service. */
	{ "1.2.3.4:x", -1, SOCK_STREAM, PT_ERR_ARG,
	  "address '1.2.3.4:x': unknown service 'x'" },
	/* ntp is a udp service only. */
	{ "1.2.3.4:ntp", -1, SOCK_STREAM, PT_ERR_ARG,
	  "address '1.2.3.4:ntp': unknown service 'ntp'" },
	/* Something starting like a number is a bad port, not a service. */
	{ "1.2.3.4:7x", -1, SOCK_STREAM, PT_ERR_ARG,
	  "address '1.2.3.4:7x': bad port '7x'" },
	{ "1.2.3.4:-1", -1, SOCK_STREAM, PT_ERR_ARG,
	  "address '1.2.3.4:-1': bad port '-1'" },
	/* Out of range, also when the digits would overflow an int. */
	{ "1.2.3.4:70000", -1, SOCK_STREAM, PT_ERR_ARG,
	  "address '1.2.3.4:70000': port out of range" },
	{ "1.2.3.4:99999999999999999999", -1, SOCK_STREAM, PT_ERR_ARG,
	  "address '1.2.3.4:99999999999999999999': port out of range" },
	/* A colon with nothing after it. */
	{ "1.2.3.4:", 7, SOCK_STREAM, PT_ERR_ARG,
	  "address '1.2.3.4:': missing port" },
	/* No port and no default. */
	{ "1.2.3.4", -1, SOCK_STREAM, PT_ERR_ARG,
	  "address '1.2.3.4': missing port" },
	{ "::1", -1, SOCK_STREAM, PT_ERR_ARG, "address '::1': missing port" },
	/* A default that is no port. */
	{ "1.2.3.4", 70000, SOCK_STREAM, PT_ERR_ARG,
	  "address '1.2.3.4': port out of range" },
	/* Empty text. */
	{ "", 7, SOCK_STREAM, PT_ERR_ARG, "address '': empty" },
	/* Bracket errors. */
	{ "[::1", 7, SOCK_STREAM, PT_ERR_ARG, "address '[::1': missing ']'" },
	{ "[::1]7", -1, SOCK_STREAM, PT_ERR_ARG,
	  "address '[::1]7': expected ':' after ']'" },
	{ "[]:7", -1, SOCK_STREAM, PT_ERR_ARG,
	  "address '[]:7': empty IPv6 address" },
	/* Brackets hold an IPv6 address: not IPv4, not a name. */
	{ "[1.2.3.4]:7", -1, SOCK_STREAM, PT_ERR_ARG,
	  "address '[1.2.3.4]:7': not an IPv6 address" },
	{ "[localhost]:7", -1, SOCK_STREAM, PT_ERR_RESOLVER,
	  "address '[localhost]:7': Name or service not known" },
	/* Colons without brackets that are no IPv6 address. */
	{ "1:2:3", 7, SOCK_STREAM, PT_ERR_ARG, "address '1:2:3': bad address "
	  "(an IPv6 address with a port needs [brackets])" },
	/* An unknown host (no DNS query: empty label). */
	{ "nosuch..invalid:7", -1, SOCK_STREAM, PT_ERR_RESOLVER,
	  "address 'nosuch..invalid:7': Name or service not known" },
};

START_TEST(test_parse_bad)
{
	pt_addr a;
	pt_error e;

	ck_assert_int_eq(pt_addr_parse(&a, parse_bad[_i].text,
	    parse_bad[_i].dflt, parse_bad[_i].socktype, &e), -1);
	ck_assert_int_eq(e.kind, parse_bad[_i].kind);
	ck_assert_str_eq(e.msg, parse_bad[_i].msg);
	ck_assert_int_eq(pt_addr_parse(&a, parse_bad[_i].text,
	    parse_bad[_i].dflt, parse_bad[_i].socktype, NULL), -1);
}
END_TEST

START_TEST(test_parse_long)
{
	char text[220], want[PT_ERROR_MSGLEN + 220], big[NI_MAXHOST + 3];
	pt_addr a;
	pt_error e;

	/* A path too long for sun_path, named in the message. */
	memset(text, 'p', SUN_MAX + 1);
	text[0] = '/';
	text[SUN_MAX + 1] = '\0';
	ck_assert_int_eq(pt_addr_parse(&a, text, -1, SOCK_STREAM, &e), -1);
	ck_assert_int_eq(e.code, ENAMETOOLONG);
	snprintf(want, sizeof(want), "address '%s': AF_UNIX path too long",
	    text);
	ck_assert_str_eq(e.msg, want);

	/* A host part longer than any host name (the message, quoting all
	 * of the text, is cut at PT_ERROR_MSGLEN). */
	memset(big, 'h', NI_MAXHOST);
	strcpy(big + NI_MAXHOST, ":7");
	ck_assert_int_eq(pt_addr_parse(&a, big, -1, SOCK_STREAM, &e), -1);
	ck_assert_int_eq(e.kind, PT_ERR_ARG);
	ck_assert_int_eq(e.code, ENAMETOOLONG);
	ck_assert_uint_eq(strlen(e.msg), PT_ERROR_MSGLEN - 1);

	/* NULL text is the empty text. */
	ck_assert_int_eq(pt_addr_parse(&a, NULL, 7, SOCK_STREAM, &e), -1);
	ck_assert_str_eq(e.msg, "address '': empty");
}
END_TEST

/*
 * Every textual form survives parse -> format -> parse unchanged, and its
 * host part (pt_addr_host, the Python pair's first element) rebuilds it.
 */
static const struct {
	const char *text;
	const char *host;
} round_trip[] = {
	{ "1.2.3.4:7", "1.2.3.4" },			/* IPv4 */
	{ "0.0.0.0:0", "0.0.0.0" },			/* the wildcard */
	{ "255.255.255.255:9", "255.255.255.255" },	/* broadcast */
	{ "[::1]:7", "::1" },				/* IPv6 */
	{ "[::]:65535", "::" },				/* IPv6 wildcard */
	{ "[::ffff:1.2.3.4]:7", "::ffff:1.2.3.4" },	/* v4-mapped stays */
	{ "[fe80::1%1]:7", "fe80::1%1" },		/* scope kept */
	{ "/run/porter.sock", "/run/porter.sock" },	/* path */
	{ "@porter", "@porter" },			/* abstract */
};

START_TEST(test_round_trip)
{
	char buf[PT_ADDRSTRLEN], host[INET6_ADDRSTRLEN];
	pt_addr a, b;
	pt_error e;

	ck_assert_msg(pt_addr_parse(&a, round_trip[_i].text, -1, SOCK_STREAM,
	    &e) == 0, "%s", e.msg);
	ck_assert_str_eq(pt_addr_format(&a, buf, sizeof(buf)),
	    round_trip[_i].text);
	ck_assert_int_eq(pt_addr_parse(&b, buf, -1, SOCK_STREAM, &e), 0);
	ck_assert(pt_addr_equal(&a, &b));

	ck_assert_str_eq(pt_addr_host(&a, host, sizeof(host), &e),
	    round_trip[_i].host);
	if (pt_addr_family(&a) == AF_UNIX)
		ck_assert_int_eq(pt_addr_unix(&b, host, &e), 0);
	else
		ck_assert_int_eq(pt_addr_inet(&b, pt_addr_family(&a), host,
		    pt_addr_port(&a), &e), 0);
	ck_assert(pt_addr_equal(&a, &b));
}
END_TEST

/* -------------------------------------------------------------- format */

/* Addresses built by hand, as the kernel or a caller may hand them over. */
START_TEST(test_format_raw)
{
	struct sockaddr_un *sun;
	char buf[PT_ADDRSTRLEN], want[SUN_MAX + 1];
	pt_addr a;

	/* An unbound AF_UNIX socket's address is just the family. */
	memset(&a, 0, sizeof(a));
	sun = (struct sockaddr_un *)&a.ss;
	sun->sun_family = AF_UNIX;
	a.len = sizeof(sa_family_t);
	ck_assert_str_eq(pt_addr_format(&a, buf, sizeof(buf)), "unix:unnamed");
	/* A path filling sun_path has no NUL at all. */
	memset(sun->sun_path, 'q', SUN_MAX);
	a.len = (socklen_t)(SUN_OFF + SUN_MAX);
	memset(want, 'q', SUN_MAX);
	want[SUN_MAX] = '\0';
	ck_assert_str_eq(pt_addr_format(&a, buf, sizeof(buf)), want);
	/* A NUL inside an abstract name shows as '@', as ss(8) does. */
	memcpy(sun->sun_path, "\0a\0b", 4);
	a.len = (socklen_t)(SUN_OFF + 4);
	ck_assert_str_eq(pt_addr_format(&a, buf, sizeof(buf)), "@a@b");
	/* An unknown family. */
	a.ss.ss_family = AF_PACKET;
	a.len = 20;
	ck_assert_str_eq(pt_addr_format(&a, buf, sizeof(buf)), "family:17");
	/* An empty address. */
	memset(&a, 0, sizeof(a));
	ck_assert_str_eq(pt_addr_format(&a, buf, sizeof(buf)), "family:0");
	ck_assert_str_eq(pt_addr_format(NULL, buf, sizeof(buf)), "family:0");
}
END_TEST

START_TEST(test_format_small_buffer)
{
	char buf[8];
	pt_addr a;

	/* Truncated but terminated; a zero-size buffer is not written. */
	ck_assert_int_eq(pt_addr_inet(&a, AF_INET, "127.0.0.1", 7, NULL), 0);
	ck_assert_str_eq(pt_addr_format(&a, buf, 5), "127.");
	memcpy(buf, "keep", 5);
	ck_assert_ptr_eq(pt_addr_format(&a, buf, 0), buf);
	ck_assert_str_eq(buf, "keep");
	/* A path is never cut in the middle: all or nothing. */
	ck_assert_int_eq(pt_addr_unix(&a, "/run/porter.sock", NULL), 0);
	ck_assert_str_eq(pt_addr_format(&a, buf, sizeof(buf)), "");
}
END_TEST

/* ----------------------------------------------------------- accessors */

START_TEST(test_host_errors)
{
	char buf[INET6_ADDRSTRLEN];
	pt_addr a;
	pt_error e;

	/* Too small a buffer. */
	ck_assert_int_eq(pt_addr_inet(&a, AF_INET, "127.0.0.1", 7, NULL), 0);
	ck_assert_ptr_null(pt_addr_host(&a, buf, 9, &e));
	ck_assert_int_eq(e.kind, PT_ERR_ARG);
	ck_assert_int_eq(e.code, ENOSPC);
	ck_assert_ptr_eq(pt_addr_host(&a, buf, 10, &e), buf);
	ck_assert_int_eq(pt_addr_unix(&a, "/run/porter.sock", NULL), 0);
	ck_assert_ptr_null(pt_addr_host(&a, buf, 4, &e));
	ck_assert_int_eq(e.code, ENOSPC);
	/* Unnamed AF_UNIX is "", which still needs one byte. */
	a.len = sizeof(sa_family_t);
	ck_assert_str_eq(pt_addr_host(&a, buf, 1, &e), "");
	ck_assert_ptr_null(pt_addr_host(&a, buf, 0, &e));
	ck_assert_int_eq(e.code, ENOSPC);
	/* An unknown family. */
	a.ss.ss_family = AF_PACKET;
	a.len = 20;
	ck_assert_ptr_null(pt_addr_host(&a, buf, sizeof(buf), &e));
	ck_assert_int_eq(e.code, EAFNOSUPPORT);
	ck_assert_ptr_null(pt_addr_host(NULL, buf, sizeof(buf), NULL));
}
END_TEST

START_TEST(test_family_port)
{
	pt_addr a;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(pt_addr_family(&a), AF_UNSPEC);
	ck_assert_int_eq(pt_addr_family(NULL), AF_UNSPEC);
	ck_assert_int_eq(pt_addr_port(NULL), -1);
	ck_assert_int_eq(pt_addr_port(&a), -1);
	ck_assert_int_eq(pt_addr_inet(&a, AF_INET6, "::1", 4242, NULL), 0);
	ck_assert_int_eq(pt_addr_family(&a), AF_INET6);
	ck_assert_int_eq(pt_addr_port(&a), 4242);
	/* The port is stored in network byte order. */
	ck_assert_int_eq(((struct sockaddr_in6 *)&a.ss)->sin6_port,
	    htons(4242));
}
END_TEST

START_TEST(test_equal)
{
	pt_addr a, b;

	ck_assert_int_eq(pt_addr_parse(&a, "1.2.3.4:7", -1, 0, NULL), 0);
	ck_assert_int_eq(pt_addr_inet(&b, AF_INET, "1.2.3.4", 7, NULL), 0);
	ck_assert(pt_addr_equal(&a, &b));
	/* Another port. */
	ck_assert_int_eq(pt_addr_inet(&b, AF_INET, "1.2.3.4", 8, NULL), 0);
	ck_assert(!pt_addr_equal(&a, &b));
	/* Another family for "the same" address. */
	ck_assert_int_eq(pt_addr_inet(&b, AF_INET6, "::ffff:1.2.3.4", 7,
	    NULL), 0);
	ck_assert(!pt_addr_equal(&a, &b));
	/* Same bytes, another length: "@a" vs "@a" plus a NUL. */
	ck_assert_int_eq(pt_addr_unix(&a, "@a", NULL), 0);
	b = a;
	b.len++;
	ck_assert(!pt_addr_equal(&a, &b));
	/* NULL equals only NULL. */
	ck_assert(!pt_addr_equal(&a, NULL));
	ck_assert(!pt_addr_equal(NULL, &a));
	ck_assert(pt_addr_equal(NULL, NULL));
}
END_TEST

/* One row of test_unmap: what goes in, what must come out. */
static const struct {
	const char *in;		/* pt_addr_parse() text */
	const char *out;	/* pt_addr_format() afterwards */
	int rewritten;		/* pt_addr_unmap()'s result */
} unmap_rows[] = {
	/* A dual-stack socket's IPv4 peer: plain IPv4, same port. */
	{ "[::ffff:127.0.0.1]:5000", "127.0.0.1:5000", 1 },
	{ "[::ffff:10.1.2.3]:0", "10.1.2.3:0", 1 },
	/* Real IPv6, including the deprecated v4-compatible form: kept. */
	{ "[::1]:7", "[::1]:7", 0 },
	{ "[::127.0.0.1]:7", "[::127.0.0.1]:7", 0 },
	{ "[2001:db8::ffff:1.2.3.4]:7", "[2001:db8::ffff:102:304]:7", 0 },
	/* Already IPv4, or not internet at all: kept. */
	{ "127.0.0.1:7", "127.0.0.1:7", 0 },
	{ "/run/x.sock", "/run/x.sock", 0 },
	{ "@abstract", "@abstract", 0 },
};

START_TEST(test_unmap)
{
	char text[PT_ADDRSTRLEN];
	pt_addr a, want;

	ck_assert_int_eq(pt_addr_parse(&a, unmap_rows[_i].in, -1, 0, NULL), 0);
	ck_assert_int_eq(pt_addr_unmap(&a), unmap_rows[_i].rewritten);
	ck_assert_str_eq(pt_addr_format(&a, text, sizeof(text)),
	    unmap_rows[_i].out);
	/* Byte for byte what parsing the plain form gives. */
	ck_assert_int_eq(pt_addr_parse(&want, unmap_rows[_i].out, -1, 0,
	    NULL), 0);
	ck_assert(pt_addr_equal(&a, &want));
}
END_TEST

START_TEST(test_unmap_null)
{
	errno = 0;
	ck_assert_int_eq(pt_addr_unmap(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ---------------------------------------------------------- byte order */

START_TEST(test_byte_order)
{
	uint32_t l = pt_htonl(0x01020304);
	uint16_t s = pt_htons(0x0102);
	const unsigned char *p;

	/* Network order is big-endian whatever the host is. */
	p = (const unsigned char *)&l;
	ck_assert(p[0] == 1 && p[1] == 2 && p[2] == 3 && p[3] == 4);
	p = (const unsigned char *)&s;
	ck_assert(p[0] == 1 && p[1] == 2);
	ck_assert_uint_eq(pt_ntohl(l), 0x01020304);
	ck_assert_uint_eq(pt_ntohs(s), 0x0102);
	/* They agree with the system macros. */
	ck_assert_uint_eq(pt_htonl(0xdeadbeef), htonl(0xdeadbeef));
	ck_assert_uint_eq(pt_ntohs(0xbeef), ntohs(0xbeef));
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc;

	tc = tcase_create("inet");
	tcase_add_loop_test(tc, test_inet_ok, 0, NELEM(inet_ok));
	tcase_add_loop_test(tc, test_inet_bad, 0, NELEM(inet_bad));
	suite_add_tcase(s, tc);

	tc = tcase_create("unix");
	tcase_add_loop_test(tc, test_unix_ok, 0, NELEM(unix_ok));
	tcase_add_test(tc, test_unix_lengths);
	tcase_add_test(tc, test_unix_empty);
	tcase_add_test(tc, test_unix_kernel_agrees);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_ok, 0, NELEM(parse_ok));
	tcase_add_loop_test(tc, test_parse_bad, 0, NELEM(parse_bad));
	tcase_add_test(tc, test_parse_long);
	tcase_add_loop_test(tc, test_round_trip, 0, NELEM(round_trip));
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_test(tc, test_format_raw);
	tcase_add_test(tc, test_format_small_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("accessors");
	tcase_add_test(tc, test_host_errors);
	tcase_add_test(tc, test_family_port);
	tcase_add_test(tc, test_equal);
	tcase_add_loop_test(tc, test_unmap, 0, NELEM(unmap_rows));
	tcase_add_test(tc, test_unmap_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("byteorder");
	tcase_add_test(tc, test_byte_order);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(addr_suite)
