/*
 * check_backoff.c -- a crash loop's episodes (daemon/backoff.c): failures
 * spread wider than the window never pause; BACKOFF_FAILS within it pause
 * for BACKOFF_FIRST_MS and start an episode once; each retry that fails
 * doubles the pause up to BACKOFF_MAX_MS; siblings failing during a pause
 * add nothing; a success ends the episode (reporting its failures) and
 * forgets the history, as does a failure after the last pause and a
 * window more of quiet.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>

#include "backoff.h"
#include "check_common.h"

/* One failure at `at` ms and what it must give. */
static const struct {
	int64_t at;
	int64_t pause;		/* backoff_fail()'s return */
	bool first;		/* starts the episode */
} fails[] = {
	{ 1000, 0, false },	/* 1st */
	{ 5000, 0, false },	/* 2nd */
	{ 11000, 0, false },	/* 3rd, but the 1st is 10 s old: no pause */
	{ 12000, 1000, true },	/* 3 within 10 s (5000..12000): 1 s */
	{ 12500, 0, false },	/* a sibling during the pause */
	{ 13100, 2000, false },	/* the retry fails: doubled, not logged */
	{ 15200, 4000, false },
	{ 19300, 8000, false },
	{ 27400, 16000, false },
	{ 43500, 30000, false },	/* capped */
	{ 73600, 30000, false },	/* stays capped */
};

START_TEST(test_fail_sequence)
{
	struct backoff b = { { 0 }, 0, 0, 0 };
	bool first;
	size_t i;

	for (i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
		ck_assert_int_eq(backoff_fail(&b, fails[i].at, &first),
		    fails[i].pause);
		ck_assert_msg(first == fails[i].first, "row %zu: first", i);
		if (fails[i].pause > 0) {
			ck_assert(backoff_paused(&b, fails[i].at));
			ck_assert_int_eq(backoff_left(&b, fails[i].at),
			    fails[i].pause);
			ck_assert(backoff_paused(&b,
			    fails[i].at + fails[i].pause - 1));
			/* Not backoff_paused(): it would clear the pause. */
			ck_assert_int_eq(backoff_left(&b,
			    fails[i].at + fails[i].pause), 0);
		}
	}
	ck_assert_uint_eq(backoff_ok(&b), sizeof(fails) / sizeof(fails[0]));
	/* Forgotten: three more failures are needed for a pause. */
	ck_assert_int_eq(backoff_fail(&b, 100000, &first), 0);
	ck_assert_int_eq(backoff_fail(&b, 100001, &first), 0);
	ck_assert_int_eq(backoff_fail(&b, 100002, &first), BACKOFF_FIRST_MS);
	ck_assert(first);
}
END_TEST

/* An episode quiet for its pause and a window more is over. */
START_TEST(test_episode_fades)
{
	struct backoff b = { { 0 }, 0, 0, 0 };
	bool first;

	ck_assert_int_eq(backoff_fail(&b, 1000, &first), 0);
	ck_assert_int_eq(backoff_fail(&b, 1100, &first), 0);
	ck_assert_int_eq(backoff_fail(&b, 1200, &first), 1000);
	ck_assert(first);
	/* Just inside: a retry's failure doubles the pause. */
	ck_assert_int_eq(backoff_fail(&b, 1200 + 1000 + 9999, &first), 2000);
	/* 2 s pause + 10 s since that failure: a fresh history. */
	ck_assert_int_eq(backoff_fail(&b, 12199 + 12000, &first), 0);
	ck_assert(!first);
	ck_assert_uint_eq(b.count, 1);
	ck_assert_int_eq(b.delay, 0);
	ck_assert(!backoff_paused_now(&b));	/* no pause set */
	ck_assert_uint_eq(backoff_ok(&b), 0);
}
END_TEST

START_TEST(test_ok_without_episode)
{
	struct backoff b = { { 0 }, 0, 0, 0 };
	bool first;

	ck_assert_int_eq(backoff_fail(&b, 1000, &first), 0);
	ck_assert_int_eq(backoff_fail(&b, 1001, &first), 0);
	/* Not an episode: nothing to log as recovered. */
	ck_assert_uint_eq(backoff_ok(&b), 0);
	ck_assert(!backoff_paused(&b, 1002));
	/* The two before the success do not count any more. */
	ck_assert_int_eq(backoff_fail(&b, 1003, &first), 0);
	ck_assert(!backoff_paused(&b, 1003));
}
END_TEST


static Suite *
backoff_suite(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc = tcase_create("episodes");

	tcase_add_test(tc, test_fail_sequence);
	tcase_add_test(tc, test_episode_fades);
	tcase_add_test(tc, test_ok_without_episode);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(backoff_suite)
