/*
 * check_error.c -- the pt_error model: kinds, codes, messages, errno.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "porter/socket.h"
#include "check_common.h"

START_TEST(test_clear_and_null)
{
	pt_error e;

	memset(&e, 0x55, sizeof(e));
	pt_error_clear(&e);
	ck_assert_int_eq(e.kind, PT_ERR_NONE);
	ck_assert_int_eq(e.code, 0);
	ck_assert_str_eq(e.msg, "");
	pt_error_clear(NULL);
	/* A NULL error still reports through the return value and errno. */
	errno = 0;
	ck_assert_int_eq(pt_error_set(NULL, PT_ERR_ARG, EINVAL, "x"), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_set_formats)
{
	pt_error e;

	ck_assert_int_eq(pt_error_set(&e, PT_ERR_TIMEOUT, ETIMEDOUT,
	    "recv %s", "127.0.0.1:7: timed out"), -1);
	ck_assert_int_eq(e.kind, PT_ERR_TIMEOUT);
	ck_assert_int_eq(e.code, ETIMEDOUT);
	ck_assert_str_eq(e.msg, "recv 127.0.0.1:7: timed out");
	ck_assert_int_eq(errno, ETIMEDOUT);
}
END_TEST

START_TEST(test_os_appends_strerror)
{
	pt_error e;

	pt_error_os(&e, ECONNREFUSED, "connect %s", "127.0.0.1:9");
	ck_assert_int_eq(e.kind, PT_ERR_OS);
	ck_assert_int_eq(e.code, ECONNREFUSED);
	ck_assert_str_eq(e.msg, "connect 127.0.0.1:9: Connection refused");
	ck_assert_int_eq(errno, ECONNREFUSED);
}
END_TEST

START_TEST(test_resolver_errno)
{
	pt_error e;

	pt_error_set(&e, PT_ERR_RESOLVER, EAI_NONAME, "gethostbyname x");
	ck_assert_int_eq(e.code, EAI_NONAME);
	/* EAI codes are negative on glibc: errno must stay a real errno. */
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_truncation)
{
	pt_error e;
	char big[1000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pt_error_os(&e, EBADF, "%s", big);
	ck_assert_uint_eq(strlen(e.msg), PT_ERROR_MSGLEN - 1);
}
END_TEST

START_TEST(test_kind_names)
{
	ck_assert_str_eq(pt_error_kind_name(PT_ERR_NONE), "none");
	ck_assert_str_eq(pt_error_kind_name(PT_ERR_OS), "os");
	ck_assert_str_eq(pt_error_kind_name(PT_ERR_RESOLVER), "resolver");
	ck_assert_str_eq(pt_error_kind_name(PT_ERR_TIMEOUT), "timeout");
	ck_assert_str_eq(pt_error_kind_name(PT_ERR_ARG), "argument");
}
END_TEST

static Suite *
error_suite(void)
{
	Suite *s = suite_create("error");
	TCase *tc = tcase_create("model");

	tcase_add_test(tc, test_clear_and_null);
	tcase_add_test(tc, test_set_formats);
	tcase_add_test(tc, test_os_appends_strerror);
	tcase_add_test(tc, test_resolver_errno);
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_kind_names);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(error_suite)
