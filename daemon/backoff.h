/*
 * backoff.h -- when to stop restarting something that keeps failing
 * before it serves: a crash loop, and its episodes.
 *
 * BACKOFF_FAILS failures without a success in between, within
 * BACKOFF_WINDOW_MS, start an episode: no restart for BACKOFF_FIRST_MS.
 * Each failure of a retry within the episode doubles the pause, up to
 * BACKOFF_MAX_MS; a failure while a pause runs (siblings started at the
 * same time) does not add to it.  A success ends the episode and forgets
 * the failures; so does a failure that comes longer than the last pause
 * plus BACKOFF_WINDOW_MS after the one before it (the episode faded
 * without a success seen: its end is not logged, and the new failure
 * counts as the first of a new history).  The caller logs an episode's
 * start and end once each
 * (backoff_fail()'s *first, backoff_ok()'s return) and keeps the failures
 * in between quiet.
 *
 * Used by porterd for a service's pool process (pool.c) and by a pool's
 * process for its workers (poolworker.c).  Not thread-safe: the caller
 * locks.  Times are milliseconds on CLOCK_MONOTONIC (backoff_now()).
 */
#ifndef PORTERD_BACKOFF_H
#define PORTERD_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

#define BACKOFF_FAILS		3	/* failures that start an episode */
#define BACKOFF_WINDOW_MS	10000	/* ... when within this much time */
#define BACKOFF_FIRST_MS	1000	/* the first pause */
#define BACKOFF_MAX_MS		30000	/* the pause stops doubling here */

struct backoff {
	int64_t fails[BACKOFF_FAILS];	/* when, newest first; 0: none */
	int64_t until;			/* paused until then; 0: not */
	int64_t delay;			/* the last pause; 0: no episode */
	unsigned count;			/* failures since the last success */
};

/* Now, in milliseconds on CLOCK_MONOTONIC. */
int64_t backoff_now(void);

/*
 * Records a failure at now.  Returns the pause it starts (ms), or 0 (it
 * starts none: retry at once, or a pause is running already).  *first is
 * set true when the pause starts an episode, false otherwise.
 */
int64_t backoff_fail(struct backoff *b, int64_t now, bool *first);

/* True while a pause runs at now; an expired one is cleared. */
bool backoff_paused(struct backoff *b, int64_t now);

/*
 * backoff_paused() at this moment, reading the clock only when a pause
 * is set: cheap enough for every connection.
 */
bool backoff_paused_now(struct backoff *b);

/* Milliseconds until the pause ends; 0 when none runs. */
int64_t backoff_left(const struct backoff *b, int64_t now);

/*
 * A success: ends the episode, forgets the failures.  Returns the
 * failures the episode counted, or 0 if no episode was on.
 */
unsigned backoff_ok(struct backoff *b);

#endif
