/*
 * mono.h -- CLOCK_MONOTONIC arithmetic shared by the runtime (deadlines,
 * pauses, refusal windows).  Header-only: each is a few instructions.
 */
#ifndef PORTER_MONO_H
#define PORTER_MONO_H

#include <time.h>

/* Seconds from *from to *to (negative when *to is earlier). */
static inline double
mono_diff(const struct timespec *from, const struct timespec *to)
{
	return (double)(to->tv_sec - from->tv_sec) +
	    (double)(to->tv_nsec - from->tv_nsec) / 1e9;
}

/* Milliseconds from now until *t on CLOCK_MONOTONIC; 0 once it passed. */
static inline long
mono_ms_until(const struct timespec *t)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(t->tv_sec - now.tv_sec) * 1000 +
	    (t->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms;
}

#endif
