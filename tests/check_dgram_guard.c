/*
 * check_dgram_guard.c -- the datagram reply guard (daemon/dgram_guard.c):
 * which sources are refused and why, porterd's own ports and their
 * replacement, the per-source reply rate and its bounded table, episodes
 * (logged once, summarised when over), exact counting under threads, and
 * a forked child's refusals counting in its parent.
 *
 * Time is passed in (dgram_guard_decide's now_ns), so rates and quiet
 * spells are tested without sleeping.  Check's fork mode gives every test
 * a fresh guard: the shared mapping is made on first use, in the test's
 * own process.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "dgram_guard.h"
#include "log.h"
#include "check_common.h"

#define SEC	1000000000ULL
#define T0	SEC	/* early on the monotonic clock: see the reload test */

static pt_addr
addr(const char *text)
{
	pt_error err;
	pt_addr a;

	ck_assert_msg(pt_addr_parse(&a, text, 0, SOCK_DGRAM, &err) == 0,
	    "%s: %s", text, err.msg);
	return a;
}

static enum dgram_reason
decide_at(const char *to, uint64_t now, struct dgram_verdict *v)
{
	pt_addr a = addr(to);

	return dgram_guard_decide("svc", &a, now, v);
}

static enum dgram_reason
decide(const char *to, uint64_t now)
{
	struct dgram_verdict v;

	return decide_at(to, now, &v);
}

static void
set_own(const char *const *texts, size_t n)
{
	struct dgram_own own;
	size_t i;

	dgram_own_clear(&own);
	for (i = 0; i < n; i++) {
		pt_addr a = addr(texts[i]);

		dgram_own_add(&own, &a);
	}
	dgram_guard_set_own(&own);
}

/* ------------------------------------------------------------ the rules */

static const struct {
	const char *to;
	enum dgram_reason want;
} rule_rows[] = {
	/* An ordinary client on an ephemeral port. */
	{ "127.0.0.1:40000", DGRAM_ANSWER },
	{ "[::1]:40000", DGRAM_ANSWER },
	/* The reflectors of CERT CA-1996-01 and every privileged port. */
	{ "127.0.0.1:7", DGRAM_LOW_PORT },		/* echo */
	{ "127.0.0.1:13", DGRAM_LOW_PORT },		/* daytime */
	{ "127.0.0.1:19", DGRAM_LOW_PORT },		/* chargen */
	{ "127.0.0.1:37", DGRAM_LOW_PORT },		/* time */
	{ "127.0.0.1:0", DGRAM_LOW_PORT },		/* no port at all */
	{ "[::1]:1023", DGRAM_LOW_PORT },
	{ "127.0.0.1:1024", DGRAM_ANSWER },		/* the first one allowed */
	/* Not unicast: multicast, broadcast, reserved, "this network". */
	{ "224.0.0.1:40000", DGRAM_NOT_UNICAST },
	{ "239.255.255.250:40000", DGRAM_NOT_UNICAST },
	{ "255.255.255.255:40000", DGRAM_NOT_UNICAST },
	{ "240.0.0.1:40000", DGRAM_NOT_UNICAST },
	{ "0.0.0.0:40000", DGRAM_NOT_UNICAST },
	{ "0.1.2.3:40000", DGRAM_NOT_UNICAST },
	{ "[ff02::1]:40000", DGRAM_NOT_UNICAST },
	{ "[::]:40000", DGRAM_NOT_UNICAST },
	/* An IPv4-mapped address is judged as the IPv4 address it holds. */
	{ "[::ffff:224.0.0.1]:40000", DGRAM_NOT_UNICAST },
	{ "[::ffff:127.0.0.1]:7", DGRAM_LOW_PORT },
	{ "[::ffff:127.0.0.1]:40000", DGRAM_ANSWER },
	/* Not unicast comes before the port: one reason, the first. */
	{ "255.255.255.255:7", DGRAM_NOT_UNICAST },
	/* AF_UNIX sources cannot be forged: always answered. */
	{ "/run/porter-test.sock", DGRAM_ANSWER },
	{ "@porter-test", DGRAM_ANSWER },
};

START_TEST(test_rules)
{
	enum dgram_reason got = decide(rule_rows[_i].to, T0);

	ck_assert_msg(got == rule_rows[_i].want, "%s: %s, want %s",
	    rule_rows[_i].to, dgram_guard_reason_text(got),
	    dgram_guard_reason_text(rule_rows[_i].want));
}
END_TEST

/* The reason texts that go into log lines exist for every reason. */
START_TEST(test_reason_texts)
{
	int r;

	for (r = 0; r < DGRAM_NREASONS; r++)
		ck_assert_str_ne(dgram_guard_reason_text(
		    (enum dgram_reason)r), "?");
	ck_assert_str_eq(dgram_guard_reason_text(DGRAM_NREASONS), "?");
}
END_TEST

/* ------------------------------------------------------------ own ports */

START_TEST(test_own_ports)
{
	static const char *const own1[] = {
		"127.0.0.1:40001",	/* a specific address */
		"[::]:40002",		/* the wildcard */
		"/run/porter-own.sock",	/* not internet: ignored */
	};
	static const char *const own2[] = { "127.0.0.1:40003" };

	set_own(own1, 3);
	ck_assert_int_eq(decide("127.0.0.1:40001", T0), DGRAM_OWN_PORT);
	/* Any address with that port: porterd, or a twin elsewhere. */
	ck_assert_int_eq(decide("127.0.0.9:40001", T0), DGRAM_OWN_PORT);
	ck_assert_int_eq(decide("[::1]:40001", T0), DGRAM_OWN_PORT);
	ck_assert_int_eq(decide("127.0.0.1:40002", T0), DGRAM_OWN_PORT);
	ck_assert_int_eq(decide("127.0.0.1:40003", T0), DGRAM_ANSWER);
	ck_assert_int_eq(decide("/run/porter-own.sock", T0), DGRAM_ANSWER);
	/* A reload replaces the whole set. */
	set_own(own2, 1);
	ck_assert_int_eq(decide("127.0.0.1:40001", T0), DGRAM_ANSWER);
	ck_assert_int_eq(decide("127.0.0.1:40002", T0), DGRAM_ANSWER);
	ck_assert_int_eq(decide("127.0.0.1:40003", T0), DGRAM_OWN_PORT);
	set_own(NULL, 0);
	ck_assert_int_eq(decide("127.0.0.1:40003", T0), DGRAM_ANSWER);
}
END_TEST

/* The table code's walk: datagram listeners count, stream ones do not. */
START_TEST(test_set_services)
{
	struct listener dg, st, dg6;
	struct listener *ls1[] = { &dg, &st }, *ls2[] = { &dg6 };
	struct svc s1, s2;
	struct svc *svcs[] = { &s1, &s2 };

	memset(&dg, 0, sizeof(dg));
	memset(&st, 0, sizeof(st));
	memset(&dg6, 0, sizeof(dg6));
	memset(&s1, 0, sizeof(s1));
	memset(&s2, 0, sizeof(s2));
	dg.socktype = SOCK_DGRAM;
	dg.addr = addr("127.0.0.1:40011");
	st.socktype = SOCK_STREAM;
	st.addr = addr("127.0.0.1:40012");
	dg6.socktype = SOCK_DGRAM;
	dg6.addr = addr("[::1]:40013");
	s1.ls = ls1;
	s1.nls = 2;
	s2.ls = ls2;
	s2.nls = 1;
	dgram_guard_set_services(svcs, 2);
	ck_assert_int_eq(decide("127.0.0.1:40011", T0), DGRAM_OWN_PORT);
	ck_assert_int_eq(decide("127.0.0.1:40012", T0), DGRAM_ANSWER);
	ck_assert_int_eq(decide("127.0.0.1:40013", T0), DGRAM_OWN_PORT);
	dgram_guard_set_services(svcs, 1);
	ck_assert_int_eq(decide("127.0.0.1:40013", T0), DGRAM_ANSWER);
}
END_TEST

/* ------------------------------------------------------------ the rate */

/* A burst, then one reply per 1/RATE s; other sources are not affected. */
START_TEST(test_rate_bucket)
{
	uint64_t step = SEC / DGRAM_GUARD_RATE;
	int i;

	for (i = 0; i < DGRAM_GUARD_BURST; i++)
		ck_assert_int_eq(decide("127.0.0.1:40000", T0), DGRAM_ANSWER);
	ck_assert_int_eq(decide("127.0.0.1:40000", T0), DGRAM_RATE);
	/* The port is not part of the key: the address is the victim. */
	ck_assert_int_eq(decide("127.0.0.1:40001", T0), DGRAM_RATE);
	ck_assert_int_eq(decide("127.0.0.2:40000", T0), DGRAM_ANSWER);
	/* One interval later, exactly one more. */
	ck_assert_int_eq(decide("127.0.0.1:40000", T0 + step + 1),
	    DGRAM_ANSWER);
	ck_assert_int_eq(decide("127.0.0.1:40000", T0 + step + 1),
	    DGRAM_RATE);
	/* A long quiet spell refills to the burst, not beyond. */
	for (i = 0; i < DGRAM_GUARD_BURST; i++)
		ck_assert_int_eq(decide("127.0.0.1:40000", T0 + 3600 * SEC),
		    DGRAM_ANSWER);
	ck_assert_int_eq(decide("127.0.0.1:40000", T0 + 3600 * SEC),
	    DGRAM_RATE);
}
END_TEST

/* IPv6 sources share a budget per /64; IPv4-mapped ones are IPv4. */
START_TEST(test_rate_keys)
{
	int i;

	for (i = 0; i < DGRAM_GUARD_BURST; i++)
		ck_assert_int_eq(decide(i % 2 ? "[2001:db8::1]:40000" :
		    "[2001:db8::ffff:2]:40000", T0), DGRAM_ANSWER);
	ck_assert_int_eq(decide("[2001:db8::3]:40000", T0), DGRAM_RATE);
	ck_assert_int_eq(decide("[2001:db8:0:1::1]:40000", T0),
	    DGRAM_ANSWER);
	for (i = 0; i < DGRAM_GUARD_BURST; i++)
		ck_assert_int_eq(decide("127.0.0.3:40000", T0), DGRAM_ANSWER);
	ck_assert_int_eq(decide("[::ffff:127.0.0.3]:40000", T0), DGRAM_RATE);
}
END_TEST

/*
 * The table is bounded: a source that exhausted its budget and was then
 * crowded out by many newer ones starts afresh (it would still be refused
 * if it had been kept, as almost no time has passed).
 */
START_TEST(test_rate_table_bounded)
{
	char text[64];
	int i;

	for (i = 0; i < DGRAM_GUARD_BURST; i++)
		decide("127.0.0.1:40000", T0);
	ck_assert_int_eq(decide("127.0.0.1:40000", T0), DGRAM_RATE);
	for (i = 0; i < 16 * DGRAM_GUARD_SLOTS; i++) {
		snprintf(text, sizeof(text), "127.%d.%d.%d:40000",
		    1 + (i >> 16) % 254, (i >> 8) & 0xff, i & 0xff);
		ck_assert_int_eq(decide(text, T0 + 1 + (uint64_t)i),
		    DGRAM_ANSWER);
	}
	ck_assert_int_eq(decide("127.0.0.1:40000",
	    T0 + 1 + 16 * DGRAM_GUARD_SLOTS), DGRAM_ANSWER);
}
END_TEST

/* ------------------------------------------------------------ episodes */

START_TEST(test_episodes)
{
	uint64_t quiet = DGRAM_GUARD_QUIET_SECS * SEC;
	struct dgram_verdict v;
	int i;

	/* The first refusal opens the episode and is to be logged ... */
	ck_assert_int_eq(decide_at("127.0.0.1:7", T0, &v), DGRAM_LOW_PORT);
	ck_assert(v.log);
	/* ... the next ones, from any service or source, are only counted. */
	for (i = 1; i < 50; i++) {
		ck_assert_int_eq(decide_at(i % 2 ? "127.0.0.1:19" :
		    "127.0.0.9:13", T0 + (uint64_t)i * SEC / 10, &v),
		    DGRAM_LOW_PORT);
		ck_assert(!v.log);
		ck_assert_uint_eq(v.nended, 0);
	}
	/* Another reason is another episode. */
	ck_assert_int_eq(decide_at("224.0.0.1:40000", T0, &v),
	    DGRAM_NOT_UNICAST);
	ck_assert(v.log);
	/* Quiet for less than the spell: still the same episode. */
	ck_assert_int_eq(decide_at("127.0.0.1:7", T0 + 49 * SEC / 10 +
	    quiet - 1, &v), DGRAM_LOW_PORT);
	ck_assert(!v.log);
	ck_assert_uint_eq(v.nended, 0);
	/*
	 * A quiet spell later, any decision ends the episodes: the one of
	 * 51 refusals is summarised, the single multicast one is not (its
	 * one line said it all).
	 */
	ck_assert_int_eq(decide_at("127.0.0.1:40000", T0 + 49 * SEC / 10 +
	    2 * quiet, &v), DGRAM_ANSWER);
	ck_assert(!v.log);
	ck_assert_uint_eq(v.nended, 1);
	ck_assert_int_eq(v.ended[0].reason, DGRAM_LOW_PORT);
	ck_assert_uint_eq(v.ended[0].count, 51);
	ck_assert_str_eq(v.ended[0].service, "svc");
	ck_assert_str_eq(v.ended[0].source, "127.0.0.1:7");
	ck_assert(v.ended[0].secs > 14.8 && v.ended[0].secs < 14.9);
	/* The next refusal opens a new episode, logged again. */
	ck_assert_int_eq(decide_at("127.0.0.1:7", T0 + 49 * SEC / 10 +
	    2 * quiet, &v), DGRAM_LOW_PORT);
	ck_assert(v.log);
}
END_TEST

/* A reload (set_own) also ends the episodes that are over. */
START_TEST(test_episode_end_on_reload)
{
	uint64_t totals[DGRAM_NREASONS];
	struct dgram_verdict v;

	ck_assert_int_eq(decide_at("127.0.0.1:7", T0, &v), DGRAM_LOW_PORT);
	ck_assert_int_eq(decide_at("127.0.0.1:7", T0, &v), DGRAM_LOW_PORT);
	/* set_own uses the real clock, far past T0 + the quiet spell. */
	set_own(NULL, 0);
	ck_assert_int_eq(decide_at("127.0.0.1:7", T0 + 1, &v),
	    DGRAM_LOW_PORT);
	ck_assert(v.log);
	dgram_guard_totals(totals);
	ck_assert_uint_eq(totals[DGRAM_LOW_PORT], 3);
}
END_TEST

/* ------------------------------------------------------------ logging */

static void
log_refusals(void)
{
	pt_plugin_ctx ctx;
	pt_addr to = addr("127.0.0.1:19");
	int i;

	memset(&ctx, 0, sizeof(ctx));
	ctx.service = "echo-udp";
	log_init(LOG_TARGET_STDERR, LOG_INFO, "porterd");
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(dgram_guard_may_reply(&ctx, &to), 0);
	to = addr("127.0.0.1:40000");
	ck_assert_int_eq(dgram_guard_may_reply(&ctx, &to), 1);
}

/* 1000 refusals in a burst: one line; an answer: none. */
START_TEST(test_may_reply_logs_once)
{
	static char buf[8192];
	int p[2], saved;
	ssize_t n;
	size_t len = 0;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ne(saved = dup(STDERR_FILENO), -1);
	ck_assert_int_ne(dup2(p[1], STDERR_FILENO), -1);
	close(p[1]);
	log_refusals();
	ck_assert_int_ne(dup2(saved, STDERR_FILENO), -1);
	close(saved);
	while ((n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(p[0]);
	buf[len] = '\0';
	ck_assert_str_eq(buf, "porterd: service echo-udp: not answering "
	    "127.0.0.1:19: source port below 1024 (a forged source?); "
	    "dropping such replies quietly until 10 s pass without one\n");
}
END_TEST

/* ------------------------------------------------------------ concurrency */

#define HAMMER_THREADS	4
#define HAMMER_ROUNDS	20000

static int hammer_logged;
static pthread_mutex_t hammer_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
hammer(void *arg)
{
	struct dgram_verdict v;
	pt_addr low = addr("127.0.0.1:7"), ok;
	char text[64];
	int i;

	snprintf(text, sizeof(text), "127.0.1.%d:40000", (int)(intptr_t)arg);
	ok = addr(text);
	for (i = 0; i < HAMMER_ROUNDS; i++) {
		dgram_guard_decide("svc", i % 2 ? &low : &ok, T0, &v);
		if (v.log) {
			pthread_mutex_lock(&hammer_lock);
			hammer_logged++;
			pthread_mutex_unlock(&hammer_lock);
		}
	}
	return NULL;
}

/* Threads at once: every decision counted, the episode logged once. */
START_TEST(test_threads_exact)
{
	uint64_t totals[DGRAM_NREASONS];
	pthread_t th[HAMMER_THREADS];
	intptr_t i;

	for (i = 0; i < HAMMER_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer,
		    (void *)i), 0);
	for (i = 0; i < HAMMER_THREADS; i++)
		pthread_join(th[i], NULL);
	dgram_guard_totals(totals);
	ck_assert_uint_eq(totals[DGRAM_LOW_PORT],
	    HAMMER_THREADS * HAMMER_ROUNDS / 2);
	/* Each thread's own source: a burst answered, the rest over rate. */
	ck_assert_uint_eq(totals[DGRAM_ANSWER],
	    HAMMER_THREADS * DGRAM_GUARD_BURST);
	ck_assert_uint_eq(totals[DGRAM_RATE],
	    HAMMER_THREADS * (HAMMER_ROUNDS / 2 - DGRAM_GUARD_BURST));
	ck_assert_int_eq(hammer_logged, 2);	/* low port, rate */
}
END_TEST

/* An isolated child's decisions count in porterd (the shared mapping). */
START_TEST(test_fork_shared)
{
	uint64_t totals[DGRAM_NREASONS];
	struct dgram_verdict v;
	pid_t pid;
	int i, status;

	ck_assert_int_eq(decide_at("127.0.0.1:7", T0, &v), DGRAM_LOW_PORT);
	ck_assert(v.log);
	if ((pid = fork()) == 0) {
		/* The child continues the parent's episode. */
		for (i = 0; i < 5; i++) {
			decide_at("127.0.0.1:7", T0, &v);
			if (v.log)
				_exit(2);
		}
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	dgram_guard_totals(totals);
	ck_assert_uint_eq(totals[DGRAM_LOW_PORT], 6);
}
END_TEST

static Suite *
dgram_guard_suite(void)
{
	Suite *s = suite_create("dgram_guard");
	TCase *tc;

	tc = tcase_create("rules");
	tcase_add_loop_test(tc, test_rules, 0,
	    (int)(sizeof(rule_rows) / sizeof(rule_rows[0])));
	tcase_add_test(tc, test_reason_texts);
	suite_add_tcase(s, tc);

	tc = tcase_create("own ports");
	tcase_add_test(tc, test_own_ports);
	tcase_add_test(tc, test_set_services);
	suite_add_tcase(s, tc);

	tc = tcase_create("rate");
	tcase_add_test(tc, test_rate_bucket);
	tcase_add_test(tc, test_rate_keys);
	tcase_add_test(tc, test_rate_table_bounded);
	suite_add_tcase(s, tc);

	tc = tcase_create("episodes");
	tcase_add_test(tc, test_episodes);
	tcase_add_test(tc, test_episode_end_on_reload);
	tcase_add_test(tc, test_may_reply_logs_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_add_test(tc, test_threads_exact);
	tcase_add_test(tc, test_fork_shared);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(dgram_guard_suite)
