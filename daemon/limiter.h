/*
 * limiter.h -- per-service admission: concurrent connections, connections
 * per source, the accept rate, and refusal accounting.
 *
 * All state lives in a `struct limiter` owned by the running service and is
 * touched by the main thread only.  Nothing here disables a service: the
 * rate limit and max-connections pause accepting (the kernel's backlog
 * holds the clients) and the loop resumes by itself.
 */
#ifndef PORTERD_LIMITER_H
#define PORTERD_LIMITER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <porter/socket.h>

#include "conf.h"

enum refusal {
	REFUSE_ACL,
	REFUSE_PER_SOURCE,
	REFUSE_MAX,
	REFUSE_NREASONS
};

struct source_entry;

struct limiter {
	struct limits_spec spec;	/* a copy (reject_message not kept) */
	unsigned refs;			/* svcs sharing it (see table.c) */
	unsigned live;			/* running handlers it admitted */
	bool max_paused;		/* accepts paused at max-connections */
	struct source_entry **sources;	/* hash of live counts per source */
	unsigned nbuckets;
	double tokens;			/* token bucket, when spec->rate > 0 */
	struct timespec refilled;
	uint64_t refused[REFUSE_NREASONS];	/* since start */
	uint64_t pending[REFUSE_NREASONS];	/* not yet summarised */
	struct timespec window;		/* start of the current log interval */
	bool window_open;		/* a refusal was logged in it */
};

/* A source key: canonical family and address masked to its group. */
struct source_key {
	int family;
	uint8_t addr[16];
};

/*
 * A limiter for spec (copied), with one reference.  A reload that keeps a
 * service with the same limits shares its limiter with the new svc, so
 * connections still running and the token bucket keep counting.  NULL on
 * ENOMEM.
 */
struct limiter *limiter_new(const struct limits_spec *spec);
struct limiter *limiter_ref(struct limiter *lim);
void limiter_unref(struct limiter *lim);	/* accepts NULL */
/* True if a and b enforce the same numbers. */
bool limiter_same(const struct limiter *lim, const struct limits_spec *spec);

/*
 * Takes a token for one accept.  Returns 0, or -1 when the bucket is
 * empty, with the milliseconds until the next token in *ret_wait_ms.
 */
int limiter_take_token(struct limiter *lim, long *ret_wait_ms);

/* Gives back a token taken for an accept that found nothing. */
void limiter_untake_token(struct limiter *lim);

/* True when the bucket is full again (a rate episode is over). */
bool limiter_bucket_full(const struct limiter *lim);

/*
 * Counts a new connection from `peer` against max-per-source, filling
 * *key (kept in the conn for limiter_release_source()).  Returns 0, or -1 if the
 * source already has max-per-source connections (nothing counted).
 * Non-internet peers are not grouped (always 0).
 */
int limiter_admit_source(struct limiter *lim, const pt_addr *peer,
    struct source_key *key);

/* Releases what limiter_admit_source() counted. */
void limiter_release_source(struct limiter *lim, const struct source_key *key);

/*
 * Records a refusal.  Returns true if it should be logged now (the first
 * in its interval); otherwise it is counted for limiter_summary().
 */
bool limiter_refused(struct limiter *lim, enum refusal why);

/*
 * If the log interval is over and refusals were counted in it, writes the
 * summary line for service `name` and starts a new interval.
 */
void limiter_summary(struct limiter *lim, const char *name);

/* The interval, in seconds, between refusal summaries. */
#define LIMITER_LOG_INTERVAL 10

#endif
