/*
 * check_wrap.c -- hosts.allow and hosts.deny (daemon/wrap.c): the forms
 * read, the decisions libwrap would make for them, and the forms refused
 * with file:line.  No test resolves a name: the refused forms are the
 * ones that would.
 */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wrap.h"
#include "check_common.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

static char allow_path[PATH_MAX + 16], deny_path[PATH_MAX + 16], err[512];

static void
put(const char *path, const char *text)
{
	FILE *f;

	if (text == NULL) {
		unlink(path);
		return;
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX - 64];

	snprintf(dir, sizeof(dir), "%s/check_wrap.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(allow_path, sizeof(allow_path), "%s/hosts.allow", dir);
	snprintf(deny_path, sizeof(deny_path), "%s/hosts.deny", dir);
}

static void
teardown(void)
{
	char *slash;

	unlink(allow_path);
	unlink(deny_path);
	slash = strrchr(allow_path, '/');
	*slash = '\0';
	rmdir(allow_path);
}

/* The decision for daemon `name` and peer `addr` ("1.2.3.4", "::1"). */
static bool
permit(const char *allow, const char *deny, const char *name,
    const char *addr, char *why, size_t len)
{
	struct wrap_db *db;
	struct wrap_rules *r;
	uint8_t a[16] = { 0 };
	int fam = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	bool ok;

	put(allow_path, allow);
	put(deny_path, deny);
	db = wrap_db_load(allow_path, deny_path, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	r = wrap_select(db, name, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	wrap_db_free(db);
	ck_assert_int_eq(inet_pton(fam, addr, a), 1);
	ok = wrap_permit(r, fam, a, why, len);
	wrap_rules_free(r);
	return ok;
}

static const struct {
	const char *allow, *deny, *daemon, *peer;
	bool want;
	const char *why;	/* "allow:N", "deny:N" or "no rule" */
} decisions[] = {
	/* no files: granted */
	{ NULL, NULL, "in.fingerd", "10.1.2.3", true, "no rule" },
	/* the classic: allow a network, deny the rest */
	{ "in.fingerd: 10.0.0.0/255.0.0.0\n", "ALL: ALL\n", "in.fingerd",
	  "10.9.9.9", true, "allow:1" },
	{ "in.fingerd: 10.0.0.0/255.0.0.0\n", "ALL: ALL\n", "in.fingerd",
	  "192.168.1.1", false, "deny:1" },
	/* another daemon's rule does not apply */
	{ "in.telnetd: ALL\n", "ALL: ALL\n", "in.fingerd", "10.0.0.1", false,
	  "deny:1" },
	/* daemon lists with commas and blanks; /len */
	{ "# comment\nin.telnetd,  in.fingerd : 192.168.0.0/16\n", "ALL:ALL\n",
	  "in.fingerd", "192.168.200.1", true, "allow:2" },
	/* a.b.c. prefix, and EXCEPT in the client list */
	{ "ALL: 10.1. EXCEPT 10.1.2.3\n", "ALL: ALL\n", "x", "10.1.7.7", true,
	  "allow:1" },
	{ "ALL: 10.1. EXCEPT 10.1.2.3\n", "ALL: ALL\n", "x", "10.1.2.3",
	  false, "deny:1" },
	{ "ALL: 10.1. EXCEPT 10.1.2.3\n", "ALL: ALL\n", "x", "10.10.0.1",
	  false, "deny:1" },
	/* EXCEPT in the daemon list */
	{ "ALL EXCEPT in.fingerd: ALL\n", "ALL: ALL\n", "in.fingerd",
	  "127.0.0.1", false, "deny:1" },
	{ "ALL EXCEPT in.fingerd: ALL\n", "ALL: ALL\n", "in.talkd",
	  "127.0.0.1", true, "allow:1" },
	/* IPv6 in brackets, with and without a length */
	{ "ALL: [2001:db8::]/32 [::1]\n", "ALL: ALL\n", "x", "2001:db8::5",
	  true, "allow:1" },
	{ "ALL: [2001:db8::]/32 [::1]\n", "ALL: ALL\n", "x", "::1", true,
	  "allow:1" },
	{ "ALL: [2001:db8::]/32\n", "ALL: ALL\n", "x", "2001:db9::1", false,
	  "deny:1" },
	/* an IPv4 rule never matches an IPv6 peer */
	{ "ALL: 0.0.0.0/0\n", "ALL: ALL\n", "x", "::2", false, "deny:1" },
	/* ": deny" in hosts.allow, ": allow" in hosts.deny (one-file style) */
	{ "ALL: 10.0.0.1 : deny\nALL: ALL : allow\n", NULL, "x", "10.0.0.1",
	  false, "allow:1" },
	{ NULL, "ALL: 127.0.0.1 : allow\nALL: ALL\n", "x", "127.0.0.1", true,
	  "deny:1" },
	/* continuation lines; the rule counts from its first line */
	{ "\nin.fingerd: \\\n  127.0.0.1\n", "ALL: ALL\n", "in.fingerd",
	  "127.0.0.1", true, "allow:2" },
	/* rules for other daemons may use any form: they are skipped */
	{ "sshd: .example.com LOCAL\nALL: 127.\n", "ALL: ALL\n", "in.fingerd",
	  "127.0.0.9", true, "allow:2" },
};

START_TEST(test_decisions)
{
	char why[PATH_MAX + 64], want[PATH_MAX + 64];
	bool got;
	const char *w = decisions[_i].why;

	got = permit(decisions[_i].allow, decisions[_i].deny,
	    decisions[_i].daemon, decisions[_i].peer, why, sizeof(why));
	ck_assert_int_eq(got, decisions[_i].want);
	if (strcmp(w, "no rule") == 0)
		snprintf(want, sizeof(want), "no rule");
	else
		snprintf(want, sizeof(want), "%s by %s:%s",
		    (strncmp(w, "allow", 5) == 0) == decisions[_i].want ?
		    (decisions[_i].want ? "allowed" : "denied") :
		    (decisions[_i].want ? "allowed" : "denied"),
		    strncmp(w, "allow", 5) == 0 ? allow_path : deny_path,
		    strchr(w, ':') + 1);
	ck_assert_str_eq(why, want);
}
END_TEST

/* Forms refused where they apply, with file:line and the reason. */
static const struct {
	const char *allow;
	const char *want;	/* after "<hosts.allow path>:" */
} refusals[] = {
	{ "in.fingerd: host.example.com\n", "1: client 'host.example.com': "
	  "a host name needs name lookups (write the address)" },
	{ "\nALL: .example.com\n", "2: client '.example.com': a domain "
	  "pattern needs host name lookups" },
	{ "ALL: LOCAL\n", "1: client 'LOCAL': needs host name lookups" },
	{ "ALL: PARANOID\n", "1: client 'PARANOID': needs host name lookups" },
	{ "ALL: KNOWN\n", "1: client 'KNOWN': needs host name lookups" },
	{ "ALL: @trusted\n", "1: client '@trusted': NIS netgroups are not "
	  "supported" },
	{ "ALL: user@10.0.0.1\n", "1: client 'user@10.0.0.1': user@host "
	  "needs ident (RFC 931) lookups" },
	{ "ALL: /etc/trusted\n", "1: client '/etc/trusted': patterns read "
	  "from a file are not supported" },
	{ "ALL: 10.0.0.*\n", "1: client '10.0.0.*': wildcards are not "
	  "supported" },
	{ "ALL: 10.0.0.0/255.0.255.0\n", "1: client '10.0.0.0/255.0.255.0': "
	  "not an address, a.b.c., a network (a.b.c.d/m.m.m.m, a.b.c.d/len, "
	  "[v6]/len) or ALL" },
	{ "ALL: 10.0.0.0/33\n", "1: client '10.0.0.0/33': not an address, "
	  "a.b.c., a network (a.b.c.d/m.m.m.m, a.b.c.d/len, [v6]/len) or "
	  "ALL" },
	{ "ALL: ALL : spawn (/bin/echo %h) &\n", "1: option 'spawn "
	  "(/bin/echo %h) &' is not supported (only ': allow' and ': deny'; "
	  "porterd runs no shell commands from hosts.allow)" },
	{ "in.fingerd@10.0.0.1: ALL\n", "1: daemon 'in.fingerd@10.0.0.1' is "
	  "not supported (plain names, ALL and EXCEPT only)" },
	{ "in.finger*: ALL\n", "1: daemon 'in.finger*' is not supported "
	  "(plain names, ALL and EXCEPT only)" },
	{ "in.fingerd\n", "1: expected 'daemons : clients'" },
};

START_TEST(test_refusals)
{
	struct wrap_db *db;
	struct wrap_rules *r = NULL;
	char want[PATH_MAX + 256];

	put(allow_path, refusals[_i].allow);
	put(deny_path, NULL);
	db = wrap_db_load(allow_path, deny_path, err, sizeof(err));
	if (db != NULL) {
		r = wrap_select(db, "in.fingerd", err, sizeof(err));
		wrap_db_free(db);
	}
	ck_assert_ptr_null(r);
	snprintf(want, sizeof(want), "%s:%s", allow_path, refusals[_i].want);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_unreadable)
{
	/* A directory where a file should be: the reason, not silence. */
	ck_assert_int_eq(mkdir(allow_path, 0755), 0);
	ck_assert_ptr_null(wrap_db_load(allow_path, deny_path, err,
	    sizeof(err)));
	ck_assert_msg(strstr(err, allow_path) == err, "%s", err);
	rmdir(allow_path);
}
END_TEST

static Suite *
wrap_suite(void)
{
	Suite *s = suite_create("wrap");
	TCase *tc = tcase_create("hosts.allow and hosts.deny");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_decisions, 0, nitems(decisions));
	tcase_add_loop_test(tc, test_refusals, 0, nitems(refusals));
	tcase_add_test(tc, test_unreadable);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(wrap_suite)
