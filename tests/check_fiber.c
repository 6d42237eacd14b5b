/*
 * check_fiber.c -- the fiber module (daemon/fiber.c): resume and yield
 * order, many fibers interleaved, stack reuse, floating-point state kept
 * per fiber, the guard page, and the cost of one switch (printed, never
 * asserted: speed is measured in make bench, not in a test).
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fiber.h"
#include "check_common.h"

struct trace {
	struct fiber *self;
	char log[64];
	size_t n;
	int id;
};

static void
tracer(void *arg)
{
	struct trace *t = arg;
	int i;

	for (i = 0; i < 3; i++) {
		t->log[t->n++] = (char)('a' + t->id);
		fiber_yield(t->self);
	}
}

START_TEST(test_fiber_order)
{
	struct fiber_pool *p = fiber_pool_new(64 * 1024, 4);
	struct trace a = { .id = 0 }, b = { .id = 1 };
	char shared[64] = "";
	int i;

	ck_assert_ptr_nonnull(p);
	a.self = fiber_new(p, tracer, &a);
	b.self = fiber_new(p, tracer, &b);
	ck_assert_ptr_nonnull(a.self);
	ck_assert_ptr_nonnull(b.self);
	for (i = 0; i < 4; i++) {
		/* each resume runs exactly one step of each fiber */
		fiber_resume(a.self);
		fiber_resume(b.self);
		snprintf(shared + strlen(shared), sizeof(shared) -
		    strlen(shared), "%zu%zu", a.n, b.n);
	}
	ck_assert_str_eq(shared, "11223333");
	ck_assert(fiber_done(a.self));
	ck_assert(fiber_done(b.self));
	fiber_free(a.self);
	fiber_free(b.self);
	fiber_pool_free(p);
}
END_TEST

struct counter {
	struct fiber *self;
	long count;
	double acc;
};

/* Keeps float state in registers across yields: a switch must not lose it. */
static void
counter_fn(void *arg)
{
	struct counter *c = arg;
	double x = 0.5;
	int i;

	for (i = 0; i < 100; i++) {
		x = x * 1.5 + 0.25;
		c->count++;
		fiber_yield(c->self);
	}
	c->acc = x;
}

START_TEST(test_fiber_many)
{
	enum { N = 500 };
	static struct counter cs[N];
	struct fiber_pool *p = fiber_pool_new(16 * 1024, 8);
	double want = 0.5;
	int i, round;

	for (i = 0; i < 100; i++)
		want = want * 1.5 + 0.25;
	for (i = 0; i < N; i++) {
		memset(&cs[i], 0, sizeof(cs[i]));
		cs[i].self = fiber_new(p, counter_fn, &cs[i]);
		ck_assert_ptr_nonnull(cs[i].self);
	}
	for (round = 0; round <= 100; round++)
		for (i = 0; i < N; i++)
			if (!fiber_done(cs[i].self))
				fiber_resume(cs[i].self);
	for (i = 0; i < N; i++) {
		ck_assert(fiber_done(cs[i].self));
		ck_assert_int_eq(cs[i].count, 100);
		ck_assert(cs[i].acc == want);
		fiber_free(cs[i].self);
	}
	fiber_pool_free(p);
}
END_TEST

static void
noop(void *arg)
{
	(void)arg;
}

START_TEST(test_fiber_reuse)
{
	struct fiber_pool *p = fiber_pool_new(16 * 1024, 2);
	int i;

	/* More fibers than the cache keeps, made and freed in a loop. */
	for (i = 0; i < 1000; i++) {
		struct fiber *f = fiber_new(p, noop, NULL);

		ck_assert_ptr_nonnull(f);
		fiber_resume(f);
		ck_assert(fiber_done(f));
		fiber_free(f);
	}
	fiber_pool_free(p);
}
END_TEST

static int
recurse(int depth)
{
	volatile char pad[512];

	pad[0] = (char)depth;
	return depth > 0 ? recurse(depth - 1) + pad[0] : pad[0];
}

static void
overflow(void *arg)
{
	(void)arg;
	recurse(1000);	/* 500 KiB on a 16 KiB stack */
}

/* An overflow hits the guard page: a fault, not silent corruption. */
START_TEST(test_fiber_guard)
{
	struct fiber_pool *p = fiber_pool_new(16 * 1024, 0);
	struct fiber *f = fiber_new(p, overflow, NULL);

	fiber_resume(f);
}
END_TEST

struct pingpong {
	struct fiber *self;
	long n;
};

static void
pingpong_fn(void *arg)
{
	struct pingpong *pp = arg;

	while (pp->n-- > 0)
		fiber_yield(pp->self);
}

START_TEST(test_fiber_switch_cost)
{
	struct fiber_pool *p = fiber_pool_new(16 * 1024, 1);
	struct pingpong pp = { .n = 200000 };
	struct timespec t0, t1;
	double ns;

	pp.self = fiber_new(p, pingpong_fn, &pp);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!fiber_done(pp.self))
		fiber_resume(pp.self);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	    (double)(t1.tv_nsec - t0.tv_nsec)) / 4e5;
	printf("# fiber switch (%s): %.1f ns\n", fiber_switch_name(), ns);
	fiber_free(pp.self);
	fiber_pool_free(p);
}
END_TEST

static Suite *
fiber_suite(void)
{
	Suite *s = suite_create("fiber");
	TCase *tc = tcase_create("switch");

	tcase_add_test(tc, test_fiber_order);
	tcase_add_test(tc, test_fiber_many);
	tcase_add_test(tc, test_fiber_reuse);
#if defined(__SANITIZE_ADDRESS__)
	/* ASan catches the fault on the guard page, reports the stack
	 * overflow and exits with its status 1. */
	tcase_add_exit_test(tc, test_fiber_guard, 1);
#else
	tcase_add_test_raise_signal(tc, test_fiber_guard, SIGSEGV);
#endif
	tcase_add_test(tc, test_fiber_switch_cost);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(fiber_suite)
