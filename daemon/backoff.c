/*
 * backoff.c -- a crash loop's failures, pauses and episodes (backoff.h).
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "backoff.h"

int64_t
backoff_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
backoff_fail(struct backoff *b, int64_t now, bool *first)
{
	*first = false;
	/* Quiet since its last pause ended, and a window more: over. */
	if (b->delay > 0 && now - b->fails[0] >= b->delay + BACKOFF_WINDOW_MS)
		memset(b, 0, sizeof(*b));
	memmove(&b->fails[1], &b->fails[0],
	    (BACKOFF_FAILS - 1) * sizeof(b->fails[0]));
	b->fails[0] = now;
	b->count++;
	/* A sibling of the retry that failed: its pause is not over. */
	if (b->until > now)
		return 0;
	if (b->delay > 0) {
		b->delay = b->delay < BACKOFF_MAX_MS / 2 ? b->delay * 2 :
		    BACKOFF_MAX_MS;
	} else {
		/* fails[] holds the last BACKOFF_FAILS, this one first. */
		if (b->count < BACKOFF_FAILS ||
		    now - b->fails[BACKOFF_FAILS - 1] >= BACKOFF_WINDOW_MS)
			return 0;
		b->delay = BACKOFF_FIRST_MS;
		*first = true;
	}
	b->until = now + b->delay;
	return b->delay;
}

bool
backoff_paused(struct backoff *b, int64_t now)
{
	if (b->until == 0)
		return false;
	if (b->until > now)
		return true;
	b->until = 0;
	return false;
}

bool
backoff_paused_now(struct backoff *b)
{
	return b->until != 0 && backoff_paused(b, backoff_now());
}

int64_t
backoff_left(const struct backoff *b, int64_t now)
{
	return b->until > now ? b->until - now : 0;
}

unsigned
backoff_ok(struct backoff *b)
{
	unsigned n = b->delay > 0 ? b->count : 0;

	memset(b, 0, sizeof(*b));
	return n;
}
