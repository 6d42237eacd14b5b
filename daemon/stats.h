/*
 * stats.h -- porterd's counters: per service and per process.
 *
 * A `struct stats_svc` holds one service's counters.  It is keyed by the
 * service's name and shared, like the limiter, by every running svc of
 * that name: a reload that keeps a service keeps counting, and the
 * counters go away with the last svc of that name.  Every counter is a
 * C11 atomic updated with relaxed ordering, so any thread (an event loop,
 * a worker) may count and any thread (the control socket) may read; a
 * reader sees each counter exact, not a snapshot of all of them at once.
 *
 * The runtime calls the stats_*() hooks below at four points: handler
 * start (stats_accepted, from conn_started(): after the PROXY header and
 * TLS handshake, if the service has them), refusal (stats_refused, also
 * for a connection whose PROXY header or handshake failed, or that its
 * pool's crash loop pause turned away: one already handed to the pool
 * is also finished, as not started), finish
 * (stats_finished, only of a started connection) and reload
 * (stats_reloaded).  So accepted == finished + active at any quiet time.
 */
#ifndef PORTERD_STATS_H
#define PORTERD_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Why an accepted (or acceptable) client was turned away. */
enum stats_refusal {
	STATS_REFUSE_ACL,		/* allow/deny, allow-uid/gid */
	STATS_REFUSE_PER_SOURCE,	/* max-per-source */
	STATS_REFUSE_MAX,		/* max-connections with reject-message */
	STATS_REFUSE_EDGE,		/* PROXY header or TLS handshake */
	STATS_REFUSE_EMFILE,		/* shed: out of file descriptors */
	STATS_REFUSE_BACKOFF,		/* the service's pool pauses in a
					 * crash loop (pool.h) */
	STATS_REFUSE_NREASONS
};

/*
 * Upper bounds (inclusive, seconds) of the duration histogram's buckets;
 * a last, implicit bucket is +Inf.  Fixed so that series stay comparable
 * across restarts and versions.
 */
#define STATS_NBUCKETS	12
extern const double stats_bucket_le[STATS_NBUCKETS];

/* Exit statuses kept apart: exit codes 0..255 and signals 1..64. */
#define STATS_NEXIT	256
#define STATS_NSIG	65

/* What the operator asked of a service (porterctl pause/drain/resume). */
enum stats_admin {
	STATS_ADMIN_SERVING,
	STATS_ADMIN_PAUSED,
	STATS_ADMIN_DRAINING
};

struct stats_svc {
	char *name;
	/*
	 * enum stats_admin.  Kept here because it is per service name and
	 * must survive a reload like the counters: a paused service stays
	 * paused until resumed (or porterd restarts).
	 */
	atomic_int admin;
	unsigned refs;			/* under the registry's lock */
	struct stats_svc *next;		/* registry chain */
	atomic_uint_fast64_t accepted;	/* handler runs started */
	atomic_uint_fast64_t refused[STATS_REFUSE_NREASONS];
	atomic_uint_fast64_t active;	/* started, not finished */
	atomic_uint_fast64_t finished;
	atomic_uint_fast64_t failures;	/* non-zero exit, signal, handle()
					 * failed, could not be started */
	atomic_uint_fast64_t not_started;	/* of which: could not start */
	atomic_uint_fast64_t exits[STATS_NEXIT];	/* by exit code */
	atomic_uint_fast64_t signals[STATS_NSIG];	/* by signal */
	atomic_uint_fast64_t bytes_in, bytes_out;
	atomic_uint_fast64_t buckets[STATS_NBUCKETS + 1];	/* not
					 * cumulative; the last is +Inf */
	atomic_uint_fast64_t duration_us;	/* sum of durations */
};

/*
 * The service's counters, with a new reference: the existing ones of that
 * name, or new zeroed ones.  NULL on ENOMEM (every hook accepts NULL and
 * counts nothing).  Thread-safe.
 */
struct stats_svc *stats_svc_get(const char *name);
/* Drops a reference; frees at zero.  NULL is ok.  Thread-safe. */
void stats_svc_put(struct stats_svc *st);

/* Counts one handler run starting. */
void stats_accepted(struct stats_svc *st);
void stats_refused(struct stats_svc *st, enum stats_refusal why);

/*
 * Counts one handler run ending.  status is a waitpid(2) status for a
 * child, 0 or a non-zero exit code (as W_EXITCODE) for a thread handler,
 * or -1 when the handler could not be started at all.
 */
void stats_finished(struct stats_svc *st, uint64_t duration_us,
    uint64_t bytes_in, uint64_t bytes_out, int status);

/* A reload's outcome; err (copied, may be NULL) is its error text. */
void stats_reloaded(bool ok, const char *err);

/* Process-wide counters. */
struct stats_global {
	time_t started;			/* wall clock, set by stats_init() */
	time_t config_loaded;		/* start or last successful reload */
	uint64_t reloads_ok;
	uint64_t reloads_failed;
	time_t last_reload;		/* 0: none yet */
	bool last_reload_ok;
	char last_error[1024];		/* of the last failed reload */
};

/* Records the start time.  Call once, before any hook. */
void stats_init(void);
/* Copies the process-wide counters into *out.  Thread-safe. */
void stats_global_get(struct stats_global *out);

/* Reads one counter (relaxed). */
static inline uint64_t
stats_read(const atomic_uint_fast64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* The name of a refusal reason as it appears in JSON and metrics. */
const char *stats_refusal_name(enum stats_refusal why);

#endif
