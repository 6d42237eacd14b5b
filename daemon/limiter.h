/*
 * limiter.h -- per-service admission: concurrent connections, connections
 * per source, the accept rate, and refusal accounting.
 *
 * All state lives in a `struct limiter` owned by the running service,
 * shared by every event loop accepting for it: each function takes the
 * limiter's mutex, so the numbers are exact across threads (a slot is
 * reserved before accept, so two loops cannot both take the last one).
 * Nothing here disables a service: the rate limit and max-connections
 * pause accepting (gate.c; the kernel's backlog holds the clients) and
 * accepting resumes by itself.
 */
#ifndef PORTERD_LIMITER_H
#define PORTERD_LIMITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <porter/socket.h>

#include "conf.h"

enum refusal {
	REFUSE_ACL,
	REFUSE_PER_SOURCE,
	REFUSE_MAX,
	REFUSE_EDGE,		/* edge.c: bad or slow PROXY header, TLS */
	REFUSE_NREASONS
};

struct source_entry;

struct svc;

struct limiter {
	pthread_mutex_t lock;		/* everything below */
	struct limits_spec spec;	/* a copy (reject_message not kept) */
	unsigned refs;			/* svcs sharing it (see table.c) */
	unsigned live;			/* slots taken: running handlers and
					 * accepts in progress */
	unsigned trying;		/* of which: reserved by a loop whose
					 * accept4() has not answered yet */
	bool max_paused;		/* accepts paused at max-connections */
	struct svc *owner;		/* the running svc using it (gate.c) */
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
 * service (same name) shares its limiter with the new svc and gives it the
 * new numbers (limiter_respec), so connections still running, per-source
 * counts and the token bucket keep counting whatever the limits became.
 * NULL on ENOMEM.
 */
struct limiter *limiter_new(const struct limits_spec *spec);
struct limiter *limiter_ref(struct limiter *lim);
void limiter_unref(struct limiter *lim);	/* accepts NULL */
/* New numbers for a shared limiter (a reload); the counts stay. */
void limiter_respec(struct limiter *lim, const struct limits_spec *spec);

enum lim_verdict {
	LIM_OK,		/* a slot and a token are reserved */
	LIM_FULL,	/* max-connections reached */
	LIM_BUSY,	/* reached, but only counting another loop's accept
			 * in progress, which may find nothing: try later */
	LIM_RATE	/* the token bucket is empty: *ret_wait_ms */
};

/*
 * Before an accept: reserves a slot (max-connections) and takes a token
 * (rate).  On LIM_RATE, *ret_wait_ms is the time until the next token.
 */
enum lim_verdict limiter_reserve(struct limiter *lim, long *ret_wait_ms);
/* The accept found nothing: gives the slot and the token back. */
void limiter_unreserve(struct limiter *lim);
/* The accept got a connection: the reserved slot is a real one now. */
void limiter_accepted(struct limiter *lim);
/* True when the bucket is full again (a rate episode is over). */
bool limiter_bucket_full(struct limiter *lim);
/*
 * A handler (or a refused accept) gives its slot back and what
 * limiter_admit_source() counted (key may be NULL).  Returns true if the
 * service was paused at max-connections and may now resume.
 */
bool limiter_release(struct limiter *lim, const struct source_key *key);

/*
 * Counts a new connection from `peer` against max-per-source, filling
 * *key (kept in the conn for limiter_release_source()).  Returns 0, or -1 if the
 * source already has max-per-source connections (nothing counted).
 * Non-internet peers are not grouped (always 0).
 */
int limiter_admit_source(struct limiter *lim, const pt_addr *peer,
    struct source_key *key);


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
