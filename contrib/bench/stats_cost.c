/*
 * stats_cost.c -- what porterd's exact counters (daemon/stats.c, issue 13)
 * cost per connection, for run-bench's "counting" row.
 *
 * stats_cost [THREADS [CONNECTIONS]]
 *
 * THREADS threads (default 2, one per event loop of the 2-loop row) each
 * count CONNECTIONS connections (default 2,000,000) on ONE shared service,
 * exactly as porterd counts a short connection: stats_accepted() when the
 * handler starts, stats_finished() when it ends.  Sharing one service is
 * the worst case: every loop's atomics hit the same cache lines.  Prints
 * "ns_per_conn=N" (process CPU time over all connections counted) and
 * checks the counters came out exact (exit 1 if not).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "stats.h"

static struct stats_svc *st;
static unsigned long per_thread = 2000000;

static void *
counter(void *arg)
{
	unsigned long i;

	(void)arg;
	for (i = 0; i < per_thread; i++) {
		stats_accepted(st);
		stats_finished(st, 100 + i % 5000, 64, 64, 0);
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	pthread_t tids[64];
	struct timespec a, b;
	unsigned long n, i;
	double ns;

	n = argc > 1 ? strtoul(argv[1], NULL, 10) : 2;
	if (argc > 2)
		per_thread = strtoul(argv[2], NULL, 10);
	if (n < 1 || n > 64 || per_thread < 1) {
		fprintf(stderr, "usage: stats_cost [THREADS(1..64) "
		    "[CONNECTIONS]]\n");
		return 2;
	}
	stats_init();
	if ((st = stats_svc_get("bench")) == NULL)
		return 1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	for (i = 0; i < n; i++)
		if (pthread_create(&tids[i], NULL, counter, NULL) != 0)
			return 1;
	for (i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 +
	    (double)(b.tv_nsec - a.tv_nsec)) / (double)(n * per_thread);
	if (stats_read(&st->accepted) != n * per_thread ||
	    stats_read(&st->finished) != n * per_thread ||
	    stats_read(&st->active) != 0) {
		fprintf(stderr, "stats_cost: counters are not exact\n");
		return 1;
	}
	printf("threads=%lu conns=%lu ns_per_conn=%.1f\n", n, n * per_thread,
	    ns);
	stats_svc_put(st);
	return 0;
}
