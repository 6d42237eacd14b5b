/*
 * check_backoff.c -- a crash loop's episodes (daemon/backoff.c): failures
 * spread wider than the window never pause; BACKOFF_FAILS within it pause
 * for BACKOFF_FIRST_MS and start an episode once; each retry that fails
 * doubles the pause up to BACKOFF_MAX_MS; siblings failing during a pause
 * add nothing; a success ends the episode (reporting its failures) and
 * forgets the history; a mirrored pause (backoff_hold()) starts an
 * episode once and never shortens a longer pause.
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

START_TEST(test_hold_mirrors)
{
	struct backoff b = { { 0 }, 0, 0, 0 };
	bool first;

	ck_assert(!backoff_hold(&b, 1000, 0, 3));	/* no pause: ignored */
	ck_assert(backoff_hold(&b, 1000, 1000, 3));	/* starts it */
	ck_assert(backoff_paused(&b, 1999));
	ck_assert(!backoff_hold(&b, 1100, 500, 4));	/* shorter: kept */
	ck_assert_int_eq(backoff_left(&b, 1100), 900);
	ck_assert(!backoff_hold(&b, 2500, 2000, 5));	/* the next one */
	ck_assert(backoff_paused(&b, 4499));
	ck_assert(!backoff_paused(&b, 4500));
	/* A failure of its own in the episode doubles the last pause. */
	ck_assert_int_eq(backoff_fail(&b, 5000, &first), 4000);
	ck_assert(!first);
	ck_assert_uint_eq(backoff_ok(&b), 6);
}
END_TEST

static Suite *
backoff_suite(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc = tcase_create("episodes");

	tcase_add_test(tc, test_fail_sequence);
	tcase_add_test(tc, test_ok_without_episode);
	tcase_add_test(tc, test_hold_mirrors);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(backoff_suite)
