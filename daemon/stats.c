/*
 * stats.c -- porterd's counters (see stats.h).
 *
 * The registry of per-service counters is a short list under a mutex: it
 * is touched when a service is built or freed, never per connection.  The
 * per-connection hooks touch only their service's atomics and the
 * process-wide connection id counter.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "stats.h"

const double stats_bucket_le[STATS_NBUCKETS] = {
	0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300, 3600
};

static const char *const stats_refusal_names[STATS_REFUSE_NREASONS] = {
	[STATS_REFUSE_ACL] = "acl",
	[STATS_REFUSE_PER_SOURCE] = "per-source",
	[STATS_REFUSE_MAX] = "max-connections",
	[STATS_REFUSE_EDGE] = "proxy-tls",
	[STATS_REFUSE_EMFILE] = "emfile",
	[STATS_REFUSE_BACKOFF] = "backoff",
};

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stats_svc *stats_head;		/* under stats_lock */
static struct stats_global stats_g;		/* under stats_lock */

const char *
stats_refusal_name(enum stats_refusal why)
{
	return (unsigned)why < STATS_REFUSE_NREASONS ?
	    stats_refusal_names[why] : "unknown";
}

void
stats_init(void)
{
	pthread_mutex_lock(&stats_lock);
	stats_g.started = time(NULL);
	stats_g.config_loaded = stats_g.started;
	pthread_mutex_unlock(&stats_lock);
}

void
stats_global_get(struct stats_global *out)
{
	pthread_mutex_lock(&stats_lock);
	*out = stats_g;
	pthread_mutex_unlock(&stats_lock);
}

struct stats_svc *
stats_svc_get(const char *name)
{
	struct stats_svc *st;

	pthread_mutex_lock(&stats_lock);
	for (st = stats_head; st != NULL; st = st->next)
		if (strcmp(st->name, name) == 0)
			break;
	if (st == NULL && (st = calloc(1, sizeof(*st))) != NULL) {
		if ((st->name = strdup(name)) == NULL) {
			free(st);
			st = NULL;
		} else {
			st->next = stats_head;
			stats_head = st;
		}
	}
	if (st != NULL)
		st->refs++;
	pthread_mutex_unlock(&stats_lock);
	return st;
}

void
stats_svc_put(struct stats_svc *st)
{
	struct stats_svc **pp;

	if (st == NULL)
		return;
	pthread_mutex_lock(&stats_lock);
	if (--st->refs > 0) {
		pthread_mutex_unlock(&stats_lock);
		return;
	}
	for (pp = &stats_head; *pp != NULL; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	pthread_mutex_unlock(&stats_lock);
	free(st->name);
	free(st);
}

static inline void
stats_add(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void
stats_accepted(struct stats_svc *st)
{
	if (st != NULL) {
		stats_add(&st->accepted, 1);
		stats_add(&st->active, 1);
	}
}

void
stats_refused(struct stats_svc *st, enum stats_refusal why)
{
	if (st != NULL && (unsigned)why < STATS_REFUSE_NREASONS)
		stats_add(&st->refused[why], 1);
}

void
stats_finished(struct stats_svc *st, uint64_t duration_us, uint64_t bytes_in,
    uint64_t bytes_out, int status)
{
	double secs = (double)duration_us / 1e6;
	size_t b;

	if (st == NULL)
		return;
	atomic_fetch_sub_explicit(&st->active, 1, memory_order_relaxed);
	stats_add(&st->finished, 1);
	stats_add(&st->bytes_in, bytes_in);
	stats_add(&st->bytes_out, bytes_out);
	stats_add(&st->duration_us, duration_us);
	for (b = 0; b < STATS_NBUCKETS && secs > stats_bucket_le[b]; b++)
		;
	stats_add(&st->buckets[b], 1);
	if (status == -1) {
		stats_add(&st->failures, 1);
		stats_add(&st->not_started, 1);
	} else if (WIFEXITED(status)) {
		stats_add(&st->exits[WEXITSTATUS(status)], 1);
		if (WEXITSTATUS(status) != 0)
			stats_add(&st->failures, 1);
	} else if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) < STATS_NSIG)
			stats_add(&st->signals[WTERMSIG(status)], 1);
		stats_add(&st->failures, 1);
	} else {
		stats_add(&st->failures, 1);
	}
}

void
stats_reloaded(bool ok, const char *err)
{
	pthread_mutex_lock(&stats_lock);
	stats_g.last_reload = time(NULL);
	stats_g.last_reload_ok = ok;
	if (ok) {
		stats_g.reloads_ok++;
		stats_g.config_loaded = stats_g.last_reload;
	} else {
		stats_g.reloads_failed++;
		snprintf(stats_g.last_error, sizeof(stats_g.last_error), "%s",
		    err != NULL ? err : "");
	}
	pthread_mutex_unlock(&stats_lock);
}
