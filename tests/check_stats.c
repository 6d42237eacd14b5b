/*
 * check_stats.c -- porterd's counters (daemon/stats.c): the registry
 * shared by name, the hooks' arithmetic, the histogram's bucket edges,
 * exit statuses, exactness under concurrent threads, reload records.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "stats.h"
#include "check_common.h"

START_TEST(test_registry_shares_by_name)
{
	struct stats_svc *a = stats_svc_get("echo");
	struct stats_svc *b = stats_svc_get("echo");
	struct stats_svc *c = stats_svc_get("daytime");

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_eq(a, b);		/* a reload's new svc keeps counting */
	ck_assert_ptr_ne(a, c);
	stats_accepted(a);
	stats_svc_put(b);
	ck_assert_uint_eq(stats_read(&a->accepted), 1);
	stats_svc_put(a);		/* last reference: gone */
	a = stats_svc_get("echo");
	ck_assert_uint_eq(stats_read(&a->accepted), 0);
	stats_svc_put(a);
	stats_svc_put(c);
	stats_svc_put(NULL);
}
END_TEST

START_TEST(test_null_counters_count_nothing)
{
	struct stats_svc *st = stats_svc_get("x");

	stats_accepted(st);
	stats_accepted(NULL);		/* ENOMEM at svc_new: no counters */
	stats_refused(NULL, STATS_REFUSE_ACL);
	stats_finished(NULL, 1, 1, 1, 0);
	stats_accepted(st);
	ck_assert_uint_eq(stats_read(&st->accepted), 2);
	ck_assert_uint_eq(stats_read(&st->active), 2);
	stats_svc_put(st);
}
END_TEST

START_TEST(test_refusals_by_reason)
{
	struct stats_svc *st = stats_svc_get("r");

	stats_refused(st, STATS_REFUSE_ACL);
	stats_refused(st, STATS_REFUSE_ACL);
	stats_refused(st, STATS_REFUSE_EMFILE);
	stats_refused(st, STATS_REFUSE_NREASONS);	/* ignored */
	stats_refused(NULL, STATS_REFUSE_ACL);
	ck_assert_uint_eq(stats_read(&st->refused[STATS_REFUSE_ACL]), 2);
	ck_assert_uint_eq(stats_read(&st->refused[STATS_REFUSE_PER_SOURCE]), 0);
	ck_assert_uint_eq(stats_read(&st->refused[STATS_REFUSE_EMFILE]), 1);
	ck_assert_str_eq(stats_refusal_name(STATS_REFUSE_PER_SOURCE),
	    "per-source");
	ck_assert_str_eq(stats_refusal_name(STATS_REFUSE_MAX),
	    "max-connections");
	ck_assert_str_eq(stats_refusal_name(STATS_REFUSE_BACKOFF), "backoff");
	ck_assert_str_eq(stats_refusal_name(99), "unknown");
	stats_svc_put(st);
}
END_TEST

/* Durations (µs) and the bucket each lands in (le is inclusive). */
static const struct {
	uint64_t us;
	int bucket;
} durations[] = {
	{ 0, 0 },			/* instant */
	{ 1000, 0 },			/* exactly 1 ms: le="0.001" */
	{ 1001, 1 },			/* just over */
	{ 250000, 5 },			/* 0.25 s: le="0.5" */
	{ 1000000, 6 },			/* 1 s */
	{ 3600000000ull, 11 },		/* one hour, the last finite */
	{ 3600000001ull, 12 },		/* +Inf */
};

START_TEST(test_histogram_edges)
{
	struct stats_svc *st = stats_svc_get("h");
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		uint64_t before = stats_read(&st->buckets[durations[i].bucket]);

		stats_accepted(st);
		stats_finished(st, durations[i].us, 0, 0, 0);
		sum += durations[i].us;
		ck_assert_msg(stats_read(&st->buckets[durations[i].bucket]) ==
		    before + 1, "%llu us not in bucket %d",
		    (unsigned long long)durations[i].us, durations[i].bucket);
	}
	ck_assert_uint_eq(stats_read(&st->duration_us), sum);
	ck_assert_uint_eq(stats_read(&st->active), 0);
	ck_assert_uint_eq(stats_read(&st->finished),
	    sizeof(durations) / sizeof(durations[0]));
	stats_svc_put(st);
}
END_TEST

START_TEST(test_exit_statuses)
{
	struct stats_svc *st = stats_svc_get("e");
	int i;

	for (i = 0; i < 6; i++)
		stats_accepted(st);
	stats_finished(st, 10, 5, 7, 0);			/* ok */
	stats_finished(st, 10, 1, 2, W_EXITCODE(3, 0));	/* exit 3 */
	stats_finished(st, 10, 0, 0, W_EXITCODE(0, SIGSEGV));
	stats_finished(st, 10, 0, 0, -1);			/* not started */
	stats_finished(st, 10, 0, 0, W_EXITCODE(0, 0));
	stats_finished(st, 10, 0, 0, W_EXITCODE(255, 0));
	ck_assert_uint_eq(stats_read(&st->exits[0]), 2);
	ck_assert_uint_eq(stats_read(&st->exits[3]), 1);
	ck_assert_uint_eq(stats_read(&st->exits[255]), 1);
	ck_assert_uint_eq(stats_read(&st->signals[SIGSEGV]), 1);
	ck_assert_uint_eq(stats_read(&st->not_started), 1);
	ck_assert_uint_eq(stats_read(&st->failures), 4);
	ck_assert_uint_eq(stats_read(&st->bytes_in), 6);
	ck_assert_uint_eq(stats_read(&st->bytes_out), 9);
	stats_svc_put(st);
}
END_TEST

#define HAMMER_THREADS	4
#define HAMMER_ROUNDS	100000

static void *
hammer(void *arg)
{
	struct stats_svc *st = arg;
	int i;

	for (i = 0; i < HAMMER_ROUNDS; i++) {
		stats_accepted(st);
		stats_refused(st, STATS_REFUSE_ACL);
		stats_finished(st, 5, 1, 1, 0);
	}
	return NULL;
}

START_TEST(test_exact_under_threads)
{
	struct stats_svc *st = stats_svc_get("threads");
	pthread_t t[HAMMER_THREADS];
	int i;

	for (i = 0; i < HAMMER_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, st), 0);
	for (i = 0; i < HAMMER_THREADS; i++)
		pthread_join(t[i], NULL);
	ck_assert_uint_eq(stats_read(&st->accepted),
	    HAMMER_THREADS * HAMMER_ROUNDS);
	ck_assert_uint_eq(stats_read(&st->exits[0]),
	    HAMMER_THREADS * HAMMER_ROUNDS);
	ck_assert_uint_eq(stats_read(&st->bytes_in),
	    HAMMER_THREADS * HAMMER_ROUNDS);
	ck_assert_uint_eq(stats_read(&st->refused[STATS_REFUSE_ACL]),
	    HAMMER_THREADS * HAMMER_ROUNDS);
	ck_assert_uint_eq(stats_read(&st->active), 0);
	stats_svc_put(st);
}
END_TEST

START_TEST(test_reload_records)
{
	struct stats_global g;

	stats_init();
	stats_global_get(&g);
	ck_assert_int_ne(g.started, 0);
	ck_assert_int_eq(g.last_reload, 0);
	stats_reloaded(false, "porterd.conf:3: no such option 'x'");
	stats_global_get(&g);
	ck_assert_uint_eq(g.reloads_failed, 1);
	ck_assert(!g.last_reload_ok);
	ck_assert_str_eq(g.last_error, "porterd.conf:3: no such option 'x'");
	stats_reloaded(true, NULL);
	stats_global_get(&g);
	ck_assert_uint_eq(g.reloads_ok, 1);
	ck_assert(g.last_reload_ok);
	ck_assert_int_eq(g.config_loaded, g.last_reload);
}
END_TEST

static Suite *
stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("counters");

	tcase_add_test(tc, test_registry_shares_by_name);
	tcase_add_test(tc, test_null_counters_count_nothing);
	tcase_add_test(tc, test_refusals_by_reason);
	tcase_add_test(tc, test_histogram_edges);
	tcase_add_test(tc, test_exit_statuses);
	tcase_add_test(tc, test_exact_under_threads);
	tcase_add_test(tc, test_reload_records);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(stats_suite)
