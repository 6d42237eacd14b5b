/*
 * check_log.c -- porterd's log module (daemon/log.c): level names and
 * filtering, the stderr line format, cutting overlong lines, fatalx().
 *
 * Lines are read back through a pipe put in place of stderr for the
 * duration of one call; Check's fork mode keeps that inside the test.
 * The syslog target is not exercised: it needs a syslog daemon.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "check_common.h"

START_TEST(test_log_levels)
{
	ck_assert_int_eq(log_level_parse("err"), LOG_ERR);
	ck_assert_int_eq(log_level_parse("warning"), LOG_WARNING);
	ck_assert_int_eq(log_level_parse("notice"), LOG_NOTICE);
	ck_assert_int_eq(log_level_parse("info"), LOG_INFO);
	ck_assert_int_eq(log_level_parse("debug"), LOG_DEBUG);
	ck_assert_int_eq(log_level_parse("crit"), -1);
	ck_assert_int_eq(log_level_parse("INFO"), -1);
	ck_assert_int_eq(log_level_parse(""), -1);
	log_setlevel(99);
	ck_assert_int_eq(log_getlevel(), LOG_DEBUG);
	log_setlevel(LOG_NOTICE);
	ck_assert_int_eq(log_getlevel(), LOG_NOTICE);
}
END_TEST

/* Runs fn with stderr on a pipe; returns what it wrote. */
static const char *
capture_stderr(void (*fn)(void))
{
	static char buf[4096];
	int p[2], saved;
	ssize_t n;
	size_t len = 0;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ne(saved = dup(STDERR_FILENO), -1);
	ck_assert_int_ne(dup2(p[1], STDERR_FILENO), -1);
	close(p[1]);
	fn();
	ck_assert_int_ne(dup2(saved, STDERR_FILENO), -1);
	close(saved);
	while ((n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(p[0]);
	buf[len] = '\0';
	return buf;
}

static void
log_some(void)
{
	log_init(LOG_TARGET_STDERR, LOG_INFO, "porterd");
	log_info("hello %d", 1);
	log_debug("not at info");
	errno = ENOENT;
	log_warn("open %s", "x");
	log_warnx("plain");
	log_msg(LOG_ERR, "err");
	log_setlevel(LOG_DEBUG);
	log_debug("now shown");
}

START_TEST(test_log_stderr)
{
	ck_assert_str_eq(capture_stderr(log_some),
	    "porterd: hello 1\n"
	    "porterd: open x: No such file or directory\n"
	    "porterd: plain\n"
	    "porterd: err\n"
	    "porterd: now shown\n");
}
END_TEST

static void
log_long(void)
{
	char big[3000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_init(LOG_TARGET_STDERR, LOG_INFO, "porterd");
	log_info("%s", big);
}

/* An overlong line is cut, marked, and still one line. */
START_TEST(test_log_truncates)
{
	const char *out = capture_stderr(log_long);
	size_t len = strlen(out);

	ck_assert_uint_eq(len, 1023);
	ck_assert_str_eq(out + len - 4, "...\n");
	ck_assert_int_eq(strncmp(out, "porterd: aaa", 12), 0);
}
END_TEST

/* fatalx() exits 1 (its line goes to /dev/null, not the test output). */
START_TEST(test_log_fatalx)
{
	int fd = open("/dev/null", O_WRONLY);

	ck_assert_int_ne(dup2(fd, STDERR_FILENO), -1);
	log_init(LOG_TARGET_STDERR, LOG_INFO, "porterd");
	fatalx("giving up");
}
END_TEST

/* Sets $JOURNAL_STREAM to stderr's own "dev:ino", as systemd does. */
static void
log_as_journal(void)
{
	struct stat st;
	char v[64];

	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	ck_assert_int_eq(setenv("JOURNAL_STREAM", v, 1), 0);
	log_some();
	unsetenv("JOURNAL_STREAM");
}

/* stderr is the journal: every line carries its priority as "<N>". */
START_TEST(test_log_journal)
{
	ck_assert_str_eq(capture_stderr(log_as_journal),
	    "<6>porterd: hello 1\n"
	    "<4>porterd: open x: No such file or directory\n"
	    "<4>porterd: plain\n"
	    "<3>porterd: err\n"
	    "<7>porterd: now shown\n");
}
END_TEST

/* A JOURNAL_STREAM that is not stderr (inherited, then redirected). */
static void
log_not_journal(void)
{
	ck_assert_int_eq(setenv("JOURNAL_STREAM", "1:2", 1), 0);
	log_some();
	ck_assert_int_eq(setenv("JOURNAL_STREAM", "garbage", 1), 0);
	log_init(LOG_TARGET_STDERR, LOG_INFO, "porterd");
	log_warnx("still plain");
	unsetenv("JOURNAL_STREAM");
}

START_TEST(test_log_journal_other_stream)
{
	ck_assert_str_eq(capture_stderr(log_not_journal),
	    "porterd: hello 1\n"
	    "porterd: open x: No such file or directory\n"
	    "porterd: plain\n"
	    "porterd: err\n"
	    "porterd: now shown\n"
	    "porterd: still plain\n");
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("stderr");

	tcase_add_test(tc, test_log_levels);
	tcase_add_test(tc, test_log_stderr);
	tcase_add_test(tc, test_log_truncates);
	tcase_add_test(tc, test_log_journal);
	tcase_add_test(tc, test_log_journal_other_stream);
	tcase_add_exit_test(tc, test_log_fatalx, 1);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(log_suite)
