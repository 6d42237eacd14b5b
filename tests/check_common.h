/*
 * check_common.h -- shared scaffolding for Porter's Check suites.
 *
 * Each tests/check_<module>.c defines `Suite *<module>_suite(void)` and ends
 * with PT_CHECK_MAIN(<module>_suite), which runs it in fork mode (crashes
 * become errors, descriptors do not leak between tests) and exits non-zero
 * on any failure, as automake's harness expects.
 */
#ifndef PORTER_CHECK_COMMON_H
#define PORTER_CHECK_COMMON_H

#include <check.h>
#include <stdlib.h>

#define PT_CHECK_MAIN(suite_fn)						\
	int main(void)							\
	{								\
		SRunner *sr = srunner_create(suite_fn());		\
		int failed;						\
		srunner_run_all(sr, CK_NORMAL);				\
		failed = srunner_ntests_failed(sr);			\
		srunner_free(sr);					\
		return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;	\
	}

#endif
