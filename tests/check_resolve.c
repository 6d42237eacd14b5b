/*
 * check_resolve.c -- the resolver functions: the seed's gethostby*,
 * gethostname, getprotobyname, getservbyname, and the getaddrinfo,
 * getnameinfo, inet_pton and inet_ntop wrappers.
 *
 * No test may send a query off the machine.  Names resolved here are
 * numeric, "localhost" (and "LOCALHOST") for AF_INET only, which
 * /etc/hosts answers, and the unknown host "nosuch..invalid".  A name
 * under .invalid is not enough: glibc sends it to the DNS server like any
 * other (checked with strace -f -e trace=network).  Its empty label is
 * what makes it safe: glibc's DNS backend refuses a name that is not a
 * valid host name (res_hnok) before building a query, so the lookup fails
 * with EAI_NONAME locally; the .invalid TLD (RFC 6761) is a second guard
 * should some resolver pass it on anyway.  Reverse lookups are made only
 * for 127.0.0.1, also answered by /etc/hosts; that is why the "address
 * has no name" path of pt_gethostbyaddr has no test here.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "porter/socket.h"
#include "check_common.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define NOSUCH		"nosuch..invalid"

static size_t
strv_len(char **v)
{
	size_t n = 0;

	while (v[n] != NULL)
		n++;
	return n;
}

/* ------------------------------------------------------- gethostbyname */

static const struct {
	const char *name;
	const char *want;
} byname_ok[] = {
	/* The seed's example: a dotted quad comes back unchanged. */
	{ "100.50.200.5", "100.50.200.5" },
	/* "" is INADDR_ANY. */
	{ "", "0.0.0.0" },
	/* "<broadcast>" is INADDR_BROADCAST. */
	{ "<broadcast>", "255.255.255.255" },
	/* A name from /etc/hosts. */
	{ "localhost", "127.0.0.1" },
	/* The short inet_aton form is normalised. */
	{ "127.1", "127.0.0.1" },
};

START_TEST(test_byname_ok)
{
	pt_error e;
	char *r;

	r = pt_gethostbyname(byname_ok[_i].name, &e);
	ck_assert_msg(r != NULL, "%s", e.msg);
	ck_assert_str_eq(r, byname_ok[_i].want);
	free(r);
}
END_TEST

START_TEST(test_byname_bad)
{
	pt_error e;

	errno = 0;
	ck_assert_ptr_null(pt_gethostbyname(NOSUCH, &e));
	ck_assert_int_eq(e.kind, PT_ERR_RESOLVER);
	ck_assert_int_eq(e.code, EAI_NONAME);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_str_eq(e.msg, "gethostbyname " NOSUCH
	    ": Name or service not known");
	/* gethostbyname is IPv4 only. */
	ck_assert_ptr_null(pt_gethostbyname("::1", &e));
	ck_assert_int_eq(e.kind, PT_ERR_ARG);
	ck_assert_int_eq(e.code, EAFNOSUPPORT);
	ck_assert_str_eq(e.msg, "gethostbyname ::1: not an IPv4 address");
	ck_assert_ptr_null(pt_gethostbyname(NOSUCH, NULL));
}
END_TEST

/* ---------------------------------------------------- gethostbyname_ex */

static const struct {
	const char *name;
	const char *canon;
	const char *alias;	/* the only alias, or NULL for none */
	const char *addr;	/* the only address */
} byname_ex[] = {
	/* A name that is its own canonical name: no alias. */
	{ "localhost", "localhost", NULL, "127.0.0.1" },
	/* Another spelling: the query becomes the alias. */
	{ "LOCALHOST", "localhost", "LOCALHOST", "127.0.0.1" },
	/* Numeric text is its own name. */
	{ "100.50.200.5", "100.50.200.5", NULL, "100.50.200.5" },
	/* The special hosts. */
	{ "", "0.0.0.0", NULL, "0.0.0.0" },
	{ "<broadcast>", "255.255.255.255", NULL, "255.255.255.255" },
};

START_TEST(test_byname_ex)
{
	pt_hostent *h;
	pt_error e;

	h = pt_gethostbyname_ex(byname_ex[_i].name, &e);
	ck_assert_msg(h != NULL, "%s", e.msg);
	ck_assert_str_eq(h->name, byname_ex[_i].canon);
	if (byname_ex[_i].alias == NULL) {
		ck_assert_uint_eq(strv_len(h->aliases), 0);
	} else {
		ck_assert_uint_eq(strv_len(h->aliases), 1);
		ck_assert_str_eq(h->aliases[0], byname_ex[_i].alias);
	}
	/* One address, listed once although getaddrinfo may repeat it. */
	ck_assert_uint_eq(strv_len(h->addrs), 1);
	ck_assert_str_eq(h->addrs[0], byname_ex[_i].addr);
	pt_hostent_free(h);
}
END_TEST

START_TEST(test_byname_ex_bad)
{
	pt_error e;

	ck_assert_ptr_null(pt_gethostbyname_ex(NOSUCH, &e));
	ck_assert_int_eq(e.kind, PT_ERR_RESOLVER);
	ck_assert_int_eq(e.code, EAI_NONAME);
	ck_assert_str_eq(e.msg, "gethostbyname_ex " NOSUCH
	    ": Name or service not known");
	pt_hostent_free(NULL);
}
END_TEST

/* ------------------------------------------------------- gethostbyaddr */

START_TEST(test_byaddr)
{
	pt_hostent *h;
	pt_error e;

	/* A numeric address is looked up in reverse as it is. */
	h = pt_gethostbyaddr("127.0.0.1", &e);
	ck_assert_msg(h != NULL, "%s", e.msg);
	ck_assert_str_eq(h->name, "localhost");
	ck_assert_uint_eq(strv_len(h->aliases), 0);
	/* The address asked about is always listed, first. */
	ck_assert_uint_ge(strv_len(h->addrs), 1);
	ck_assert_str_eq(h->addrs[0], "127.0.0.1");
	pt_hostent_free(h);

	/*
	 * A name is resolved first (either family: /etc/hosts may list
	 * ::1 for localhost, and then has a name for it too).
	 */
	h = pt_gethostbyaddr("localhost", &e);
	ck_assert_msg(h != NULL, "%s", e.msg);
	ck_assert_ptr_nonnull(strstr(h->name, "localhost"));
	ck_assert_msg(strcmp(h->addrs[0], "127.0.0.1") == 0 ||
	    strcmp(h->addrs[0], "::1") == 0, "%s", h->addrs[0]);
	pt_hostent_free(h);
}
END_TEST

START_TEST(test_byaddr_bad)
{
	pt_error e;

	ck_assert_ptr_null(pt_gethostbyaddr(NOSUCH, &e));
	ck_assert_int_eq(e.kind, PT_ERR_RESOLVER);
	ck_assert_str_eq(e.msg, "gethostbyaddr " NOSUCH
	    ": Name or service not known");
}
END_TEST

/* ---------------------------------------------------------- gethostname */

START_TEST(test_gethostname)
{
	char want[HOST_NAME_MAX + 1];
	pt_error e;
	char *r;

	ck_assert_int_eq(gethostname(want, sizeof(want)), 0);
	r = pt_gethostname(&e);
	ck_assert_msg(r != NULL, "%s", e.msg);
	ck_assert_str_eq(r, want);
	free(r);
}
END_TEST

/* ------------------------------------------- getprotobyname/servbyname */

/* Protocols and services from /etc/protocols and /etc/services. */
static const struct {
	const char *name;
	const char *proto;	/* getservbyname's protocol; "-" for proto */
	int want;
	const char *msg;	/* when want is -1 */
} db_cases[] = {
	/* The seed's examples. */
	{ "tcp", "-", 6, NULL },
	{ "echo", "tcp", 7, NULL },
	/* Other protocols. */
	{ "udp", "-", 17, NULL },
	{ "icmp", "-", 1, NULL },
	/* An unknown protocol. */
	{ "bogus", "-", -1, "getprotobyname 'bogus': protocol not found" },
	/* NULL is an unknown name, not a crash. */
	{ NULL, "-", -1, "getprotobyname '': protocol not found" },
	/* Any protocol (NULL). */
	{ "echo", NULL, 7, NULL },
	/* The result is in host byte order. */
	{ "ssh", "tcp", 22, NULL },
	/* A service alias: "sink" is discard. */
	{ "sink", "tcp", 9, NULL },
	/* ntp is listed for udp only. */
	{ "ntp", "udp", 123, NULL },
	{ "ntp", "tcp", -1, "getservbyname ntp/tcp: service not found" },
	/* An unknown service, for one protocol and for any. */
	{ "nosuchsvc", "tcp", -1,
	  "getservbyname nosuchsvc/tcp: service not found" },
	{ "nosuchsvc", NULL, -1, "getservbyname nosuchsvc: service not found" },
	{ NULL, "tcp", -1, "getservbyname /tcp: service not found" },
};

START_TEST(test_db)
{
	const char *proto = db_cases[_i].proto;
	pt_error e;
	int r;

	if (proto != NULL && strcmp(proto, "-") == 0)
		r = pt_getprotobyname(db_cases[_i].name, &e);
	else
		r = pt_getservbyname(db_cases[_i].name, proto, &e);
	ck_assert_int_eq(r, db_cases[_i].want);
	if (r < 0) {
		ck_assert_int_eq(e.kind, PT_ERR_ARG);
		ck_assert_int_eq(e.code, ENOENT);
		ck_assert_int_eq(errno, ENOENT);
		ck_assert_str_eq(e.msg, db_cases[_i].msg);
	}
}
END_TEST

/* --------------------------------------------------------- getaddrinfo */

/* getaddrinfo successes: the first result, and that it is the only. */
static const struct {
	const char *host;
	const char *port;
	int family;
	int type;
	int flags;
	const char *want;
	int proto;
} gai_ok[] = {
	/* Numeric both ways: nothing is looked up. */
	{ "127.0.0.1", "7", AF_UNSPEC, SOCK_STREAM,
	  AI_NUMERICHOST | AI_NUMERICSERV, "127.0.0.1:7", IPPROTO_TCP },
	/* No host, passive: the wildcard, here IPv6. */
	{ NULL, "7", AF_INET6, SOCK_DGRAM, AI_PASSIVE, "[::]:7", IPPROTO_UDP },
	/* No host, not passive: the loopback. */
	{ NULL, "7", AF_INET, SOCK_STREAM, 0, "127.0.0.1:7", IPPROTO_TCP },
};

START_TEST(test_gai_ok)
{
	char buf[PT_ADDRSTRLEN];
	pt_addrinfo *ai;
	pt_error e;

	ai = pt_getaddrinfo(gai_ok[_i].host, gai_ok[_i].port,
	    gai_ok[_i].family, gai_ok[_i].type, 0, gai_ok[_i].flags, &e);
	ck_assert_msg(ai != NULL, "%s", e.msg);
	ck_assert_int_eq(ai->family, pt_addr_family(&ai->addr));
	ck_assert_int_eq(ai->type, gai_ok[_i].type);
	ck_assert_int_eq(ai->proto, gai_ok[_i].proto);
	ck_assert_ptr_null(ai->canonname);
	ck_assert_str_eq(pt_addr_format(&ai->addr, buf, sizeof(buf)),
	    gai_ok[_i].want);
	ck_assert_ptr_null(ai->next);
	pt_addrinfo_free(ai);
	pt_addrinfo_free(NULL);
}
END_TEST

START_TEST(test_gai_canonname)
{
	char buf[PT_ADDRSTRLEN];
	pt_addrinfo *ai, *p;
	size_t n = 0;

	/* Without a socket type there is one row per type; only the first
	 * carries the canonical name.  The service is looked up by name. */
	ai = pt_getaddrinfo("localhost", "echo", AF_INET, 0, 0, AI_CANONNAME,
	    NULL);
	ck_assert_ptr_nonnull(ai);
	ck_assert_ptr_nonnull(ai->canonname);
	ck_assert_str_eq(ai->canonname, "localhost");
	for (p = ai; p != NULL; p = p->next, n++) {
		if (p != ai)
			ck_assert_ptr_null(p->canonname);
		ck_assert_str_eq(pt_addr_format(&p->addr, buf, sizeof(buf)),
		    "127.0.0.1:7");
	}
	ck_assert_uint_ge(n, 2);
	pt_addrinfo_free(ai);
}
END_TEST

/* getaddrinfo failures: code and message. */
static const struct {
	const char *host;
	const char *port;
	int family;
	int flags;
	int code;
	const char *subject;	/* the message, before ": <gai_strerror>" */
} gai_bad[] = {
	/* An unknown host (no DNS query: empty label). */
	{ NOSUCH, "7", AF_UNSPEC, 0, EAI_NONAME,
	  "getaddrinfo " NOSUCH ":7" },
	/* Neither host nor port. */
	{ NULL, NULL, AF_UNSPEC, 0, EAI_NONAME, "getaddrinfo *:*" },
	/* A service name where only numbers are allowed; v6 in brackets. */
	{ "::1", "echo", AF_INET6, AI_NUMERICHOST | AI_NUMERICSERV,
	  EAI_NONAME, "getaddrinfo [::1]:echo" },
	/* A name where only numbers are allowed: refused locally. */
	{ "localhost", NULL, AF_INET, AI_NUMERICHOST, EAI_NONAME,
	  "getaddrinfo localhost:*" },
	/* A family getaddrinfo does not know. */
	{ "127.0.0.1", "7", AF_UNIX, 0, EAI_FAMILY,
	  "getaddrinfo 127.0.0.1:7" },
};

START_TEST(test_gai_bad)
{
	char want[PT_ERROR_MSGLEN];
	pt_error e;

	errno = 0;
	ck_assert_ptr_null(pt_getaddrinfo(gai_bad[_i].host, gai_bad[_i].port,
	    gai_bad[_i].family, SOCK_STREAM, 0, gai_bad[_i].flags, &e));
	ck_assert_int_eq(e.kind, PT_ERR_RESOLVER);
	ck_assert_int_eq(e.code, gai_bad[_i].code);
	ck_assert_int_eq(errno, EINVAL);
	snprintf(want, sizeof(want), "%s: %s", gai_bad[_i].subject,
	    gai_strerror(gai_bad[_i].code));
	ck_assert_str_eq(e.msg, want);
}
END_TEST

/* --------------------------------------------------------- getnameinfo */

/* (address, flags) -> (host, service); all answered from /etc files. */
static const struct {
	const char *addr;
	int flags;
	const char *host;
	const char *serv;
} gni_ok[] = {
	/* Numeric both ways. */
	{ "127.0.0.1:7", NI_NUMERICHOST | NI_NUMERICSERV, "127.0.0.1", "7" },
	/* Names from /etc/hosts and /etc/services. */
	{ "127.0.0.1:7", 0, "localhost", "echo" },
	{ "127.0.0.1:7", NI_NAMEREQD, "localhost", "echo" },
	/* The udp name of a udp-only service. */
	{ "127.0.0.1:123", NI_NUMERICHOST | NI_DGRAM, "127.0.0.1", "ntp" },
	/* IPv6, numeric host (a reverse lookup of ::1 would go to DNS). */
	{ "[::1]:13", NI_NUMERICHOST, "::1", "daytime" },
};

START_TEST(test_gni)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	pt_addr a;
	pt_error e;

	ck_assert_int_eq(pt_addr_parse(&a, gni_ok[_i].addr, -1, SOCK_STREAM,
	    NULL), 0);
	ck_assert_msg(pt_getnameinfo(&a, gni_ok[_i].flags, host, sizeof(host),
	    serv, sizeof(serv), &e) == 0, "%s", e.msg);
	ck_assert_str_eq(host, gni_ok[_i].host);
	ck_assert_str_eq(serv, gni_ok[_i].serv);
	/* Either half alone. */
	ck_assert_int_eq(pt_getnameinfo(&a, gni_ok[_i].flags, NULL, 0,
	    serv, sizeof(serv), &e), 0);
	ck_assert_str_eq(serv, gni_ok[_i].serv);
	ck_assert_int_eq(pt_getnameinfo(&a, gni_ok[_i].flags, host,
	    sizeof(host), NULL, 0, &e), 0);
	ck_assert_str_eq(host, gni_ok[_i].host);
}
END_TEST

START_TEST(test_gni_bad)
{
	char host[4], want[PT_ERROR_MSGLEN];
	pt_addr a;
	pt_error e;

	/* An address family getnameinfo does not handle (glibc does know
	 * AF_UNIX), named as pt_addr_format() names it. */
	memset(&a, 0, sizeof(a));
	a.ss.ss_family = AF_PACKET;
	a.len = 20;
	ck_assert_int_eq(pt_getnameinfo(&a, 0, host, sizeof(host), NULL, 0,
	    &e), -1);
	ck_assert_int_eq(e.kind, PT_ERR_RESOLVER);
	ck_assert_int_eq(e.code, EAI_FAMILY);
	snprintf(want, sizeof(want), "getnameinfo family:%d: %s", AF_PACKET,
	    gai_strerror(EAI_FAMILY));
	ck_assert_str_eq(e.msg, want);
	/* A host buffer too small for the answer. */
	ck_assert_int_eq(pt_addr_inet(&a, AF_INET, "127.0.0.1", 7, NULL), 0);
	ck_assert_int_eq(pt_getnameinfo(&a, NI_NUMERICHOST, host,
	    sizeof(host), NULL, 0, &e), -1);
	ck_assert_int_eq(e.code, EAI_OVERFLOW);
	ck_assert_ptr_nonnull(strstr(e.msg, "getnameinfo 127.0.0.1:7: "));
	/* An empty address is refused before getnameinfo. */
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(pt_getnameinfo(&a, 0, host, sizeof(host), NULL, 0,
	    &e), -1);
	ck_assert_int_eq(e.kind, PT_ERR_ARG);
	ck_assert_int_eq(e.code, EINVAL);
	ck_assert_int_eq(pt_getnameinfo(NULL, 0, host, sizeof(host), NULL, 0,
	    NULL), -1);
}
END_TEST

/* -------------------------------------------------- inet_pton/inet_ntop */

/* Text -> packed -> text, unchanged. */
static const struct {
	int family;
	const char *text;
} pton_ok[] = {
	{ AF_INET, "100.50.200.5" },		/* the seed's address */
	{ AF_INET, "0.0.0.0" },			/* INADDR_ANY */
	{ AF_INET6, "::1" },			/* loopback */
	{ AF_INET6, "2001:db8::1:2" },		/* documentation prefix */
	{ AF_INET6, "::ffff:1.2.3.4" },		/* v4-mapped */
};

START_TEST(test_pton_ntop)
{
	unsigned char packed[16];
	char text[INET6_ADDRSTRLEN];
	pt_error e;

	ck_assert_int_eq(pt_inet_pton(pton_ok[_i].family, pton_ok[_i].text,
	    packed, &e), 0);
	ck_assert_ptr_eq(pt_inet_ntop(pton_ok[_i].family, packed, text,
	    sizeof(text), &e), text);
	ck_assert_str_eq(text, pton_ok[_i].text);
}
END_TEST

/* inet_pton failures. */
static const struct {
	int family;
	const char *text;
	int code;
	const char *msg;
} pton_bad[] = {
	/* The short inet_aton form is not inet_pton text. */
	{ AF_INET, "1.2.3", EINVAL,
	  "inet_pton '1.2.3': not a valid IPv4 address" },
	/* IPv6 text for AF_INET, and the other way round. */
	{ AF_INET, "::1", EINVAL, "inet_pton '::1': not a valid IPv4 address" },
	{ AF_INET6, "1.2.3.4", EINVAL,
	  "inet_pton '1.2.3.4': not a valid IPv6 address" },
	/* A name. */
	{ AF_INET6, "localhost", EINVAL,
	  "inet_pton 'localhost': not a valid IPv6 address" },
	/* NULL text. */
	{ AF_INET, NULL, EINVAL, "inet_pton '': not a valid IPv4 address" },
	/* A family without a text form. */
	{ AF_UNIX, "/x", EAFNOSUPPORT,
	  "inet_pton: address family 1 not supported" },
};

START_TEST(test_pton_bad)
{
	unsigned char packed[16];
	pt_error e;

	errno = 0;
	ck_assert_int_eq(pt_inet_pton(pton_bad[_i].family, pton_bad[_i].text,
	    packed, &e), -1);
	ck_assert_int_eq(e.kind, PT_ERR_ARG);
	ck_assert_int_eq(e.code, pton_bad[_i].code);
	ck_assert_int_eq(errno, pton_bad[_i].code);
	ck_assert_str_eq(e.msg, pton_bad[_i].msg);
}
END_TEST

START_TEST(test_ntop_bad)
{
	unsigned char packed[16] = { 0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4,
	    5, 6, 7, 8, 9, 10, 11, 12 };
	char text[8];
	pt_error e;

	ck_assert_ptr_null(pt_inet_ntop(AF_INET6, packed, text, sizeof(text),
	    &e));
	ck_assert_int_eq(e.kind, PT_ERR_ARG);
	ck_assert_int_eq(e.code, ENOSPC);
	ck_assert_ptr_null(pt_inet_ntop(AF_UNIX, packed, text, sizeof(text),
	    &e));
	ck_assert_int_eq(e.code, EAFNOSUPPORT);
	ck_assert_str_eq(e.msg, "inet_ntop: address family 1 not supported");
	/* "1.2.3.4" fits 8 bytes exactly. */
	memcpy(packed, "\x01\x02\x03\x04", 4);
	ck_assert_str_eq(pt_inet_ntop(AF_INET, packed, text, sizeof(text),
	    NULL), "1.2.3.4");
}
END_TEST

/* ---------------------------------------------------------- re-entrancy */

/*
 * The database and resolver calls share no state: threads running them
 * at once all see the right answers (glibc's non-_r calls would share one
 * static result and, under this load, hand threads each other's).
 */
static void *
resolve_worker(void *arg)
{
	long fails = 0;
	pt_hostent *h;
	char *r;
	int i;

	(void)arg;
	for (i = 0; i < 200; i++) {
		fails += pt_getservbyname("echo", "tcp", NULL) != 7;
		fails += pt_getservbyname("daytime", "udp", NULL) != 13;
		fails += pt_getprotobyname("udp", NULL) != 17;
		r = pt_gethostbyname("100.50.200.5", NULL);
		fails += r == NULL || strcmp(r, "100.50.200.5") != 0;
		free(r);
		h = pt_gethostbyname_ex("localhost", NULL);
		fails += h == NULL || strcmp(h->addrs[0], "127.0.0.1") != 0;
		pt_hostent_free(h);
	}
	return (void *)fails;
}

START_TEST(test_threads)
{
	pthread_t t[4];
	void *ret;
	size_t i;

	for (i = 0; i < NELEM(t); i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, resolve_worker,
		    NULL), 0);
	for (i = 0; i < NELEM(t); i++) {
		ck_assert_int_eq(pthread_join(t[i], &ret), 0);
		ck_assert_int_eq((long)ret, 0);
	}
}
END_TEST

static Suite *
resolve_suite(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc;

	tc = tcase_create("gethostby");
	tcase_add_loop_test(tc, test_byname_ok, 0, NELEM(byname_ok));
	tcase_add_test(tc, test_byname_bad);
	tcase_add_loop_test(tc, test_byname_ex, 0, NELEM(byname_ex));
	tcase_add_test(tc, test_byname_ex_bad);
	tcase_add_test(tc, test_byaddr);
	tcase_add_test(tc, test_byaddr_bad);
	tcase_add_test(tc, test_gethostname);
	suite_add_tcase(s, tc);

	tc = tcase_create("databases");
	tcase_add_loop_test(tc, test_db, 0, NELEM(db_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("getaddrinfo");
	tcase_add_loop_test(tc, test_gai_ok, 0, NELEM(gai_ok));
	tcase_add_test(tc, test_gai_canonname);
	tcase_add_loop_test(tc, test_gai_bad, 0, NELEM(gai_bad));
	suite_add_tcase(s, tc);

	tc = tcase_create("getnameinfo");
	tcase_add_loop_test(tc, test_gni, 0, NELEM(gni_ok));
	tcase_add_test(tc, test_gni_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("inet_pton");
	tcase_add_loop_test(tc, test_pton_ntop, 0, NELEM(pton_ok));
	tcase_add_loop_test(tc, test_pton_bad, 0, NELEM(pton_bad));
	tcase_add_test(tc, test_ntop_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(resolve_suite)
