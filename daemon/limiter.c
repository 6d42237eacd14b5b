/*
 * limiter.c -- per-service admission control and refusal accounting.
 *
 * Per-source counts live in a small chained hash keyed by the peer's
 * canonical address masked to its group (IPv4 /32, IPv6 /ipv6-prefix,
 * IPv4-mapped IPv6 counted as IPv4).  The rate limit is a token bucket
 * refilled from CLOCK_MONOTONIC on demand, so there is no timer while
 * tokens remain.  Refusals are logged without flooding: the first in each
 * LIMITER_LOG_INTERVAL is logged by the caller, the rest are counted and
 * summarised in one line when the interval ends.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "limiter.h"
#include "log.h"
#include "mono.h"

#define SOURCE_BUCKETS 256

struct source_entry {
	struct source_key key;
	unsigned count;
	struct source_entry *next;
};

struct limiter *
limiter_new(const struct limits_spec *spec)
{
	struct limiter *lim;

	if ((lim = calloc(1, sizeof(*lim))) == NULL)
		return NULL;
	pthread_mutex_init(&lim->lock, NULL);
	lim->spec = *spec;
	lim->spec.reject_message = NULL;	/* owned by the config */
	lim->refs = 1;
	lim->tokens = spec->burst > 0 ? spec->burst : 1;
	clock_gettime(CLOCK_MONOTONIC, &lim->refilled);
	lim->window = lim->refilled;
	return lim;
}

struct limiter *
limiter_ref(struct limiter *lim)
{
	__atomic_add_fetch(&lim->refs, 1, __ATOMIC_RELAXED);
	return lim;
}

void
limiter_respec(struct limiter *lim, const struct limits_spec *spec)
{
	double burst = spec->burst > 0 ? spec->burst : 1;

	pthread_mutex_lock(&lim->lock);
	lim->spec = *spec;
	lim->spec.reject_message = NULL;
	if (lim->tokens > burst)
		lim->tokens = burst;
	pthread_mutex_unlock(&lim->lock);
}

void
limiter_unref(struct limiter *lim)
{
	struct source_entry *e, *next;
	unsigned i;

	if (lim == NULL || __atomic_sub_fetch(&lim->refs, 1,
	    __ATOMIC_ACQ_REL) > 0)
		return;
	for (i = 0; lim->sources != NULL && i < lim->nbuckets; i++) {
		for (e = lim->sources[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(lim->sources);
	pthread_mutex_destroy(&lim->lock);
	free(lim);
}

/* Refills the bucket and takes a token (lock held); see limiter_reserve. */
static int
take_token(struct limiter *lim, long *ret_wait_ms)
{
	const struct limits_spec *spec = &lim->spec;
	double burst = spec->burst > 0 ? spec->burst : 1, wait;
	struct timespec now;

	if (spec->rate <= 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	lim->tokens += mono_diff(&lim->refilled, &now) * spec->rate;
	if (lim->tokens > burst)
		lim->tokens = burst;
	lim->refilled = now;
	if (lim->tokens >= 1.0) {
		lim->tokens -= 1.0;
		return 0;
	}
	wait = (1.0 - lim->tokens) / spec->rate * 1000.0;
	/* A tiny rate would overflow the conversion; a minute is plenty,
	 * the next wakeup simply asks again. */
	*ret_wait_ms = wait < 60000.0 ? (long)wait + 1 : 60000;
	return -1;
}

enum lim_verdict
limiter_reserve(struct limiter *lim, long *ret_wait_ms)
{
	enum lim_verdict v = LIM_OK;

	pthread_mutex_lock(&lim->lock);
	if (lim->spec.max_conns > 0 && lim->live >= lim->spec.max_conns)
		v = lim->trying > 0 ? LIM_BUSY : LIM_FULL;
	else if (take_token(lim, ret_wait_ms) == -1)
		v = LIM_RATE;
	else {
		lim->live++;
		lim->trying++;
	}
	pthread_mutex_unlock(&lim->lock);
	return v;
}

void
limiter_unreserve(struct limiter *lim)
{
	pthread_mutex_lock(&lim->lock);
	lim->live--;
	lim->trying--;
	if (lim->spec.rate > 0)
		lim->tokens += 1.0;
	pthread_mutex_unlock(&lim->lock);
}

void
limiter_accepted(struct limiter *lim)
{
	pthread_mutex_lock(&lim->lock);
	lim->trying--;
	pthread_mutex_unlock(&lim->lock);
}

bool
limiter_bucket_full(struct limiter *lim)
{
	double burst;
	bool full;

	pthread_mutex_lock(&lim->lock);
	burst = lim->spec.burst > 0 ? lim->spec.burst : 1;
	full = lim->spec.rate <= 0 || lim->tokens >= burst - 1.0;
	pthread_mutex_unlock(&lim->lock);
	return full;
}

static void
source_key_make(const struct limits_spec *spec, const pt_addr *peer,
    struct source_key *key)
{
	unsigned prefix, bytes, bits;

	memset(key, 0, sizeof(*key));
	if (access_canon(peer, &key->family, key->addr) == -1)
		return;
	if (key->family != AF_INET6)
		return;
	prefix = spec->ipv6_prefix <= 128 ? spec->ipv6_prefix : 128;
	bytes = prefix / 8;
	bits = prefix % 8;
	if (bytes < 16) {
		if (bits != 0)
			key->addr[bytes++] &= (uint8_t)(0xff << (8 - bits));
		memset(key->addr + bytes, 0, 16 - bytes);
	}
}

static unsigned
source_hash(const struct source_key *key)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	unsigned i;

	for (i = 0; i < sizeof(key->addr); i++)
		h = (h ^ key->addr[i]) * 16777619u;
	return (h ^ (uint32_t)key->family) % SOURCE_BUCKETS;
}

static struct source_entry **
source_find(struct limiter *lim, const struct source_key *key)
{
	struct source_entry **pp;

	for (pp = &lim->sources[source_hash(key)]; *pp != NULL;
	    pp = &(*pp)->next)
		if (memcmp(&(*pp)->key, key, sizeof(*key)) == 0)
			break;
	return pp;
}

static int
admit_source(struct limiter *lim, const pt_addr *peer, struct source_key *key)
{
	struct source_entry **pp, *e;

	source_key_make(&lim->spec, peer, key);
	/*
	 * Admitted without being counted: the key goes empty, so that its
	 * release cannot take back another connection's count (a reload may
	 * set max-per-source meanwhile).
	 */
	if (lim->spec.max_per_source == 0 || key->family == 0)
		goto uncounted;
	if (lim->sources == NULL) {
		lim->sources = calloc(SOURCE_BUCKETS, sizeof(*lim->sources));
		if (lim->sources == NULL)
			goto uncounted;	/* fail open: a limit, not a gate */
		lim->nbuckets = SOURCE_BUCKETS;
	}
	pp = source_find(lim, key);
	if ((e = *pp) == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			goto uncounted;
		e->key = *key;
		*pp = e;
	}
	if (e->count >= lim->spec.max_per_source) {
		if (e->count == 0) {
			*pp = e->next;
			free(e);
		}
		memset(key, 0, sizeof(*key));	/* not counted either */
		return -1;
	}
	e->count++;
	return 0;
uncounted:
	memset(key, 0, sizeof(*key));
	return 0;
}

int
limiter_admit_source(struct limiter *lim, const pt_addr *peer,
    struct source_key *key)
{
	int r;

	pthread_mutex_lock(&lim->lock);
	r = admit_source(lim, peer, key);
	pthread_mutex_unlock(&lim->lock);
	return r;
}

static void
release_source(struct limiter *lim, const struct source_key *key)
{
	struct source_entry **pp, *e;

	if (key == NULL || lim->sources == NULL || key->family == 0)
		return;
	pp = source_find(lim, key);
	if ((e = *pp) == NULL)
		return;
	if (--e->count == 0) {
		*pp = e->next;
		free(e);
	}
}

bool
limiter_release(struct limiter *lim, const struct source_key *key)
{
	bool resume;

	pthread_mutex_lock(&lim->lock);
	release_source(lim, key);
	lim->live--;
	resume = lim->max_paused && (lim->spec.max_conns == 0 ||
	    lim->live < lim->spec.max_conns);
	pthread_mutex_unlock(&lim->lock);
	return resume;
}

bool
limiter_refused(struct limiter *lim, enum refusal why)
{
	struct timespec now;
	bool first = false;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&lim->lock);
	lim->refused[why]++;
	if (!lim->window_open) {
		lim->window_open = true;
		lim->window = now;
		first = true;
	} else {
		lim->pending[why]++;
	}
	pthread_mutex_unlock(&lim->lock);
	return first;
}

void
limiter_summary(struct limiter *lim, const char *name)
{
	uint64_t pending[REFUSE_NREASONS], n;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&lim->lock);
	if (!lim->window_open ||
	    mono_diff(&lim->window, &now) < LIMITER_LOG_INTERVAL) {
		pthread_mutex_unlock(&lim->lock);
		return;
	}
	memcpy(pending, lim->pending, sizeof(pending));
	memset(lim->pending, 0, sizeof(lim->pending));
	/* The next refusal opens a new interval and is logged at once. */
	lim->window_open = false;
	pthread_mutex_unlock(&lim->lock);
	n = pending[REFUSE_ACL] + pending[REFUSE_PER_SOURCE] +
	    pending[REFUSE_MAX] + pending[REFUSE_EDGE];
	if (n > 0)
		log_warnx("service %s: refused %llu more connections in the "
		    "last %ds (acl %llu, per-source %llu, max-connections "
		    "%llu, proxy/tls %llu)", name, (unsigned long long)n,
		    LIMITER_LOG_INTERVAL,
		    (unsigned long long)pending[REFUSE_ACL],
		    (unsigned long long)pending[REFUSE_PER_SOURCE],
		    (unsigned long long)pending[REFUSE_MAX],
		    (unsigned long long)pending[REFUSE_EDGE]);
}
