/*
 * check_sandbox.c -- the sandbox options: daemon/conf_sandbox.c (parsing,
 * refusals with file:line) and daemon/sandbox.c (what a child applies).
 *
 * Configs are written to a directory of the test's own and loaded with
 * config_load(), as porterd does.  The "applies" cases fork: the child
 * applies the prepared sandbox exactly as spawn.c does and reports what
 * it sees from its own side (limits, umask, /proc/self/status, a write
 * outside its Landlock paths) through its exit status.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "sandbox.h"
#include "check_common.h"

static char dir[256];
static char err[512];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/check_sandbox.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chdir(dir), 0);
}

static void
teardown(void)
{
	ck_assert_int_eq(chdir("/"), 0);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static struct config *
load(const char *text)
{
	FILE *f;
	struct config *cfg;

	ck_assert_ptr_nonnull(f = fopen("porterd.conf", "w"));
	fputs(text, f);
	/* Running as root, exec and process services need a user. */
	fputs("\nuser = \"root\"\n", f);
	ck_assert_int_eq(fclose(f), 0);
	cfg = config_load("porterd.conf", err, sizeof(err));
	if (cfg == NULL)
		fprintf(stderr, "config_load: %s\n", err);
	return cfg;
}

static void
load_fails(const char *text, const char *msg)
{
	ck_assert_ptr_null(load(text));
	ck_assert_str_eq(err, msg);
}

/* ------------------------------------------------------------------ parse */

START_TEST(parse_values)
{
	struct config *cfg = load(
	    "service s {\n"
	    "  listen = \"127.0.0.1:0\"\n"
	    "  exec = \"/bin/cat\"\n"
	    "  rlimit-nofile = 64\n"
	    "  rlimit-as = 512M\n"
	    "  rlimit-core = 0\n"
	    "  rlimit-cpu = infinity\n"
	    "  umask = \"0027\"\n"
	    "  nice = 5\n"
	    "  no-new-privileges = yes\n"
	    "  working-directory = \"/tmp\"\n"
	    "}\n");
	const struct sandbox *sb;

	ck_assert_ptr_nonnull(cfg);
	ck_assert_ptr_nonnull(sb = cfg->services[0]->sandbox);
	ck_assert(sb->rlimit_set[SB_RLIMIT_NOFILE]);
	ck_assert_uint_eq(sb->rlimit[SB_RLIMIT_NOFILE], 64);
	ck_assert_uint_eq(sb->rlimit[SB_RLIMIT_AS], 512UL << 20);
	ck_assert_uint_eq(sb->rlimit[SB_RLIMIT_CORE], 0);
	ck_assert(sb->rlimit[SB_RLIMIT_CPU] == RLIM_INFINITY);
	ck_assert(!sb->rlimit_set[SB_RLIMIT_NPROC]);
	ck_assert_uint_eq(sb->umask, 027);
	ck_assert_int_eq(sb->nice, 5);
	ck_assert(sb->no_new_privs);
	ck_assert_str_eq(sb->workdir, "/tmp");
	config_free(cfg);
}
END_TEST

START_TEST(parse_none)
{
	struct config *cfg = load("service s {\n listen = \"127.0.0.1:0\"\n"
	    " exec = \"/bin/cat\"\n}\n");

	ck_assert_ptr_nonnull(cfg);
	ck_assert_ptr_null(cfg->services[0]->sandbox);
	config_free(cfg);
}
END_TEST

START_TEST(parse_filters_prepared)
{
	struct config *cfg = load(
	    "service s {\n"
	    "  listen = \"127.0.0.1:0\"\n"
	    "  exec = \"/bin/cat\"\n"
	    "  landlock {\n"
	    "    read = { \"/usr\", \"/etc/hostname\" }\n"
	    "    exec = { \"/usr/bin\" }\n"
	    "  }\n"
	    "  seccomp = basic-exec\n"
	    "  syscall-deny = { \"uname\" }\n"
	    "}\n");
	const struct sandbox *sb;

	ck_assert_ptr_nonnull(cfg);
	sb = cfg->services[0]->sandbox;
	ck_assert(sb->landlock);
	ck_assert_uint_eq(sb->ll_npaths[SB_LL_READ], 2);
	ck_assert_uint_eq(sb->ll_npaths[SB_LL_EXEC], 1);
	/* Prepared at load: a ruleset (where the kernel has Landlock). */
	if (sandbox_landlock_abi() > 0)
		ck_assert_int_ge(sb->ll_fd, 0);
	ck_assert(sb->seccomp);
	ck_assert_ptr_nonnull(sb->bpf);
	ck_assert_uint_gt(sb->bpf_len, 10);
	ck_assert(sb->no_new_privs);	/* implied */
	config_free(cfg);
}
END_TEST

/* Each row: a service body (after listen), and whether a launcher runs it. */
static const struct {
	const char *body;
	bool launcher;
} launchers[] = {
	{ "  exec = \"/bin/cat\"\n  seccomp = basic-exec\n", true },
	{ "  exec = \"/bin/cat\"\n  syscall-deny = { \"uname\" }\n", true },
	{ "  exec = \"/bin/cat\"\n  landlock {\n    read = { \"/\" }\n"
	  "  }\n", true },
	/* Cheap per child: no launcher. */
	{ "  exec = \"/bin/cat\"\n  rlimit-nofile = 64\n", false },
	/* A namespace per connection. */
	{ "  exec = \"/bin/cat\"\n  seccomp = basic-exec\n"
	  "  private-tmp = yes\n", false },
	/* A call the launcher makes under the filter. */
	{ "  exec = \"/bin/cat\"\n  syscall-deny = { \"clone\" }\n", false },
	{ "  exec = \"/bin/cat\"\n  syscall-deny = { \"wait4\" }\n", false },
	/* A pooled plugin has its pool. */
	{ "  plugin = \"echo\"\n  isolation = process\n"
	  "  seccomp = io-only\n", false },
};

START_TEST(parse_launcher)
{
	char text[1024];
	struct config *cfg;

	snprintf(text, sizeof(text), "service s {\n  listen = "
	    "\"127.0.0.1:0\"\n%s}\n", launchers[_i].body);
	ck_assert_ptr_nonnull(cfg = load(text));
	ck_assert_int_eq(cfg->services[0]->sandbox->launcher,
	    launchers[_i].launcher);
	config_free(cfg);
}
END_TEST

/* Each row: a service body (after listen) and the message. */
static const struct {
	const char *body;
	const char *msg;
} refusals[] = {
	/* An in-process plugin shares porterd's process. */
	{ "  plugin = \"echo\"\n  rlimit-nofile = 8\n",
	  "porterd.conf:4: service 's': rlimit-nofile applies to exec services "
	  "and isolation = process plugins only (an in-process plugin shares "
	  "porterd's process)" },
	{ "  plugin = \"echo\"\n  isolation = thread\n  seccomp = io-only\n",
	  "porterd.conf:5: service 's': seccomp applies to exec services and "
	  "isolation = process plugins only (an in-process plugin shares "
	  "porterd's process)" },
	{ "  exec = \"/bin/cat\"\n  rlimit-as = 12Q\n",
	  "porterd.conf:4: service 's': rlimit-as: bad value '12Q' (a number, "
	  "optionally with K, M, G or T, or infinity)" },
	{ "  exec = \"/bin/cat\"\n  umask = \"0999\"\n",
	  "porterd.conf:4: service 's': umask '0999' is not an octal mode "
	  "(\"0027\")" },
	{ "  exec = \"/bin/cat\"\n  nice = 40\n",
	  "porterd.conf:4: service 's': nice 40 out of range (-20 to 19)" },
	{ "  exec = \"/bin/cat\"\n  chroot = \"jail\"\n",
	  "porterd.conf:4: service 's': chroot 'jail' is not absolute" },
	{ "  exec = \"/bin/cat\"\n  working-directory = \"/nonexistent-x\"\n",
	  "porterd.conf:4: service 's': working-directory '/nonexistent-x': "
	  "No such file or directory" },
	{ "  exec = \"/bin/cat\"\n  seccomp = strict\n",
	  "porterd.conf:4: service 's': unknown seccomp profile 'strict' "
	  "(io-only or basic-exec)" },
	{ "  exec = \"/bin/cat\"\n  seccomp = io-only\n",
	  "porterd.conf:4: service 's': seccomp profile io-only cannot run a "
	  "program (use basic-exec)" },
	{ "  exec = \"/bin/cat\"\n  syscall-deny = { \"nosuchcall\" }\n",
	  "porterd.conf:4: service 's': syscall-deny: unknown system call "
	  "'nosuchcall'" },
	{ "  exec = \"/bin/cat\"\n  syscall-deny = { \"execve\" }\n",
	  "porterd.conf:4: service 's': syscall-deny: porterd needs 'execve' "
	  "to start the handler" },
	{ "  exec = \"/bin/cat\"\n  seccomp-action = errno\n",
	  "porterd.conf:4: service 's': seccomp-action without seccomp or "
	  "syscall-deny" },
	{ "  exec = \"/bin/cat\"\n  landlock-required = yes\n",
	  "porterd.conf:4: service 's': landlock-required without a landlock "
	  "section" },
	{ "  exec = \"/bin/cat\"\n  landlock {\n    read = { \"usr\" }\n  }\n",
	  "porterd.conf:6: service 's': landlock read path 'usr' is not "
	  "absolute" },
	{ "  exec = \"/bin/cat\"\n  network = private\n",
	  "porterd.conf:4: service 's': unknown network 'private' (none or "
	  "host)" },
};

START_TEST(parse_refusals)
{
	char text[1024];

	snprintf(text, sizeof(text), "service s {\n  listen = "
	    "\"127.0.0.1:0\"\n%s}\n", refusals[_i].body);
	load_fails(text, refusals[_i].msg);
}
END_TEST

/* ------------------------------------------------------------------ apply */

/*
 * Forks; the child applies svc's sandbox as spawn.c does (without a user
 * switch) and runs check(), whose result is its exit status.
 */
static int
run_child(const struct sandbox *sb, int (*check)(void))
{
	const char *why = "";
	int status;
	pid_t pid;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		if (sandbox_apply_root(sb, &why) == -1 ||
		    sandbox_apply_user(sb, &why) == -1 ||
		    sandbox_apply_seccomp(sb, "s", &why) == -1) {
			fprintf(stderr, "apply: %s: %s\n", why,
			    strerror(errno));
			_exit(100);
		}
		_exit(check());
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* "Name:\tvalue" from /proc/self/status, as a number (-1: absent). */
static long
proc_status(const char *name)
{
	char line[256];
	size_t n = strlen(name);
	long v = -1;
	FILE *f;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	}
	fclose(f);
	return v;
}

static int
check_limits(void)
{
	struct rlimit rl;
	mode_t old = umask(0);
	char cwd[PATH_MAX];

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur != 64 ||
	    rl.rlim_max != 64)
		return 1;
	if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur != 1 << 20)
		return 2;
	if (old != 027)
		return 3;
	if (proc_status("NoNewPrivs") != 1)
		return 4;
	if (getcwd(cwd, sizeof(cwd)) == NULL || strcmp(cwd, "/tmp") != 0)
		return 5;
	return 0;
}

START_TEST(apply_limits_umask_nnp_workdir)
{
	struct config *cfg = load(
	    "service s {\n listen = \"127.0.0.1:0\"\n exec = \"/bin/cat\"\n"
	    " rlimit-nofile = 64\n rlimit-fsize = 1M\n umask = \"027\"\n"
	    " no-new-privileges = yes\n working-directory = \"/tmp\"\n}\n");

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(run_child(cfg->services[0]->sandbox, check_limits),
	    0);
	config_free(cfg);
}
END_TEST

static int
check_errno_uname(void)
{
	struct utsname u;

	if (proc_status("Seccomp") != 2)
		return 1;
	if (uname(&u) != -1 || errno != EPERM)
		return 2;
	return 0;
}

START_TEST(apply_seccomp_errno)
{
	struct config *cfg = load(
	    "service s {\n listen = \"127.0.0.1:0\"\n exec = \"/bin/cat\"\n"
	    " syscall-deny = { \"uname\" }\n seccomp-action = errno\n}\n");

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(run_child(cfg->services[0]->sandbox,
	    check_errno_uname), 0);
	config_free(cfg);
}
END_TEST

/*
 * A launcher's share leaves its own CPU limit alone but makes room for
 * the program's; sandbox_apply_limits() then sets soft = hard.
 */
START_TEST(apply_shared_then_limits)
{
	struct config *cfg = load(
	    "service s {\n listen = \"127.0.0.1:0\"\n exec = \"/bin/cat\"\n"
	    " rlimit-cpu = 7\n rlimit-nofile = 50\n umask = \"077\"\n}\n");
	const struct sandbox *sb;
	struct rlimit before, rl;
	const char *why = "";
	int status;
	pid_t pid;

	ck_assert_ptr_nonnull(cfg);
	sb = cfg->services[0]->sandbox;
	ck_assert_int_eq(getrlimit(RLIMIT_CPU, &before), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		if (sandbox_apply_shared(sb, &why) == -1)
			_exit(10);
		if (getrlimit(RLIMIT_CPU, &rl) != 0 ||
		    rl.rlim_cur != before.rlim_cur || rl.rlim_max < 7)
			_exit(11);
		if (umask(0) != 077)
			_exit(12);
		if (sandbox_apply_limits(sb, &why) == -1)
			_exit(13);
		if (getrlimit(RLIMIT_CPU, &rl) != 0 || rl.rlim_cur != 7 ||
		    rl.rlim_max != 7)
			_exit(14);
		if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur != 50)
			_exit(15);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(status, 0);
	config_free(cfg);
}
END_TEST

static char ll_allowed[512], ll_outside[512];

static int
check_landlock(void)
{
	int fd;

	if ((fd = open(ll_allowed, O_WRONLY | O_CREAT, 0644)) == -1)
		return 1;
	close(fd);
	if (open(ll_outside, O_WRONLY | O_CREAT, 0644) != -1)
		return 2;
	return errno == EACCES ? 0 : 3;
}

START_TEST(apply_landlock_write_outside_fails)
{
	char text[2048];
	struct config *cfg;

	if (sandbox_landlock_abi() == 0)
		return;	/* nothing to enforce with: parse_* cover the rest */
	ck_assert_int_eq(mkdir("w", 0755), 0);
	ck_assert_int_eq(mkdir("o", 0755), 0);
	snprintf(ll_allowed, sizeof(ll_allowed), "%s/w/file", dir);
	snprintf(ll_outside, sizeof(ll_outside), "%s/o/file", dir);
	snprintf(text, sizeof(text), "service s {\n listen = \"127.0.0.1:0\"\n"
	    " exec = \"/bin/cat\"\n landlock {\n  read = { \"/\" }\n"
	    "  write = { \"%s/w\" }\n }\n landlock-required = yes\n}\n", dir);
	ck_assert_ptr_nonnull(cfg = load(text));
	ck_assert_int_eq(run_child(cfg->services[0]->sandbox,
	    check_landlock), 0);
	ck_assert_int_eq(access(ll_outside, F_OK), -1);
	config_free(cfg);
}
END_TEST

static Suite *
sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, parse_values);
	tcase_add_test(tc, parse_none);
	tcase_add_test(tc, parse_filters_prepared);
	tcase_add_loop_test(tc, parse_refusals, 0,
	    (int)(sizeof(refusals) / sizeof(refusals[0])));
	tcase_add_loop_test(tc, parse_launcher, 0,
	    (int)(sizeof(launchers) / sizeof(launchers[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("apply");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, apply_limits_umask_nnp_workdir);
	tcase_add_test(tc, apply_seccomp_errno);
	tcase_add_test(tc, apply_shared_then_limits);
	tcase_add_test(tc, apply_landlock_write_outside_fails);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(sandbox_suite)
