/*
 * dgram_guard.c -- the host's answer to "may this datagram service reply
 * to that source?" (see dgram_guard.h for the rules and their reasons).
 *
 * All mutable state is one struct guard in a MAP_SHARED anonymous
 * mapping, made on first use (at start, before any handler runs or any
 * child is forked), so isolated children share it with porterd.  One
 * process-shared robust mutex guards it; each decision holds it for a
 * few hundred instructions.  If the mapping cannot be made, a private
 * copy is used and a fork handler resets its lock in the child, so the
 * only loss is that children's decisions stay in the child.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#include "conn.h"
#include "dgram_guard.h"
#include "log.h"
#include "logpeer.h"

#define GUARD_WAYS	4		/* sources per hash set */
#define GUARD_SETS	(DGRAM_GUARD_SLOTS / GUARD_WAYS)
#define GUARD_BCAST_MAX	32		/* interface broadcast addresses */
#define NS_PER_SEC	1000000000ULL

/* One source's reply budget (a token bucket). */
struct guard_source {
	uint8_t key[16];		/* IPv6, or IPv4-mapped; /64 for v6 */
	bool used;
	double tokens;
	uint64_t last_ns;		/* last refill; LRU order too */
};

struct guard_episode {
	bool open;
	uint64_t count;
	uint64_t first_ns, last_ns;
	char service[64];
	char source[PT_ADDRSTRLEN];
};

struct guard {
	pthread_mutex_t lock;
	uint64_t seed;			/* keys the hash against chosen sources */
	uint8_t own[65536 / 8];		/* porterd's own datagram ports */
	size_t nbcast;
	uint32_t bcast[GUARD_BCAST_MAX];	/* network byte order */
	struct guard_episode ep[DGRAM_NREASONS];
	uint64_t total[DGRAM_NREASONS];
	struct guard_source src[GUARD_SETS][GUARD_WAYS];
};

static struct guard *guard;
static struct guard guard_private;	/* if the mapping cannot be made */
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;

static const char *const dgram_reason_texts[DGRAM_NREASONS] = {
	[DGRAM_ANSWER] = "answered",
	[DGRAM_NOT_UNICAST] = "not a unicast address (broadcast or multicast)",
	[DGRAM_LOW_PORT] = "source port below 1024",
	[DGRAM_OWN_PORT] = "source port is one of porterd's own datagram "
	    "services",
	[DGRAM_RATE] = "reply rate to this source exceeded",
};

const char *
dgram_guard_reason_text(enum dgram_reason r)
{
	return (unsigned)r < DGRAM_NREASONS ? dgram_reason_texts[r] : "?";
}

static void
guard_lock_init(struct guard *g, bool shared)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	if (shared)
		pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&g->lock, &attr);
	pthread_mutexattr_destroy(&attr);
}

/*
 * The private copy's lock may have been held by another thread at fork();
 * that thread does not exist in the child.  (The shared lock needs no
 * such care: its holder lives on in the parent and releases it.)
 */
static void
guard_atfork_child(void)
{
	if (guard == &guard_private)
		guard_lock_init(guard, false);
}

static void
guard_setup(void)
{
	struct guard *g;
	bool shared = true;

	g = mmap(NULL, sizeof(*g), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g == MAP_FAILED) {
		log_warn("datagram guard: shared memory for the reply rate "
		    "table, using a private one (isolated children's replies "
		    "are not counted)");
		g = &guard_private;
		shared = false;
		pthread_atfork(NULL, NULL, guard_atfork_child);
	}
	/* A mapping starts zeroed: no own ports, no sources, no episodes. */
	guard_lock_init(g, shared);
	if (getrandom(&g->seed, sizeof(g->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(g->seed))
		g->seed = (uint64_t)(uintptr_t)g ^ (uint64_t)time(NULL);
	guard = g;
}

static struct guard *
guard_get(void)
{
	pthread_once(&guard_once, guard_setup);
	return guard;
}

static void
guard_lock(struct guard *g)
{
	/* A child died holding it: the counters may be one off, no more. */
	if (pthread_mutex_lock(&g->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&g->lock);
}

static uint64_t
guard_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ the rules */

/*
 * The IPv4 address `to` stands for (network byte order), also inside an
 * IPv4-mapped IPv6 address; false for anything else.
 */
static bool
guard_v4(const pt_addr *to, uint32_t *ret)
{
	const struct sockaddr_in6 *s6;

	if (to->ss.ss_family == AF_INET) {
		*ret = ((const struct sockaddr_in *)&to->ss)->sin_addr.s_addr;
		return true;
	}
	s6 = (const struct sockaddr_in6 *)&to->ss;
	if (to->ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(ret, &s6->sin6_addr.s6_addr[12], 4);
		return true;
	}
	return false;
}

/* Rule 1.  g->lock held (for the broadcast list). */
static bool
guard_not_unicast(const struct guard *g, const pt_addr *to)
{
	const struct in6_addr *a6;
	uint32_t a, h;
	size_t i;

	if (guard_v4(to, &a)) {
		h = ntohl(a);
		/* 0/8 "this network", 224/4 multicast, 240/4 and 255/8. */
		if ((h >> 24) == 0 || (h >> 28) >= 0xe)
			return true;
		for (i = 0; i < g->nbcast; i++)
			if (g->bcast[i] == a)
				return true;
		return false;
	}
	a6 = &((const struct sockaddr_in6 *)&to->ss)->sin6_addr;
	return IN6_IS_ADDR_MULTICAST(a6) || IN6_IS_ADDR_UNSPECIFIED(a6);
}

/* The rate table's key: the IPv4 address mapped, or an IPv6 /64. */
static void
guard_key(const pt_addr *to, uint8_t key[16])
{
	const struct in6_addr *a6;
	uint32_t a;

	memset(key, 0, 16);
	if (guard_v4(to, &a)) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &a, 4);
		return;
	}
	a6 = &((const struct sockaddr_in6 *)&to->ss)->sin6_addr;
	memcpy(key, a6->s6_addr, 8);
}

/* splitmix64's finaliser: every input bit moves every output bit. */
static uint64_t
guard_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static size_t
guard_set_of(const struct guard *g, const uint8_t key[16])
{
	uint64_t hi, lo;

	memcpy(&hi, key, 8);
	memcpy(&lo, key + 8, 8);
	return (size_t)(guard_mix(guard_mix(hi ^ g->seed) ^ lo) % GUARD_SETS);
}

/* Rule 4: takes one reply from the source's budget.  g->lock held. */
static bool
guard_take(struct guard *g, const pt_addr *to, uint64_t now_ns)
{
	struct guard_source *set, *s = NULL;
	uint8_t key[16];
	double add;
	size_t i;

	guard_key(to, key);
	set = g->src[guard_set_of(g, key)];
	for (i = 0; i < GUARD_WAYS && s == NULL; i++)
		if (set[i].used && memcmp(set[i].key, key, 16) == 0)
			s = &set[i];
	if (s == NULL) {
		/* A new source takes a free way, or the stalest one. */
		s = &set[0];
		for (i = 0; i < GUARD_WAYS; i++) {
			if (!set[i].used) {
				s = &set[i];
				break;
			}
			if (set[i].last_ns < s->last_ns)
				s = &set[i];
		}
		memcpy(s->key, key, 16);
		s->used = true;
		s->tokens = DGRAM_GUARD_BURST;
		s->last_ns = now_ns;
	}
	if (now_ns > s->last_ns) {
		add = (double)(now_ns - s->last_ns) / NS_PER_SEC *
		    DGRAM_GUARD_RATE;
		s->tokens = s->tokens + add > DGRAM_GUARD_BURST ?
		    DGRAM_GUARD_BURST : s->tokens + add;
		s->last_ns = now_ns;
	}
	if (s->tokens < 1.0)
		return false;
	s->tokens -= 1.0;
	return true;
}

static enum dgram_reason
guard_rules(struct guard *g, const pt_addr *to, uint64_t now_ns)
{
	int port;

	if (to->ss.ss_family != AF_INET && to->ss.ss_family != AF_INET6)
		return DGRAM_ANSWER;
	if (guard_not_unicast(g, to))
		return DGRAM_NOT_UNICAST;
	port = pt_addr_port(to);
	if (port < 1024)
		return DGRAM_LOW_PORT;
	if (g->own[port / 8] & (1u << (port % 8)))
		return DGRAM_OWN_PORT;
	if (!guard_take(g, to, now_ns))
		return DGRAM_RATE;
	return DGRAM_ANSWER;
}

/* ------------------------------------------------------------ episodes */

/* Closes the episodes over at now_ns, listing those worth a summary. */
static void
guard_end_episodes(struct guard *g, uint64_t now_ns, struct dgram_verdict *v)
{
	struct guard_episode *ep;
	struct dgram_episode_end *end;
	int r;

	for (r = 1; r < DGRAM_NREASONS; r++) {
		ep = &g->ep[r];
		/* last_ns may be a moment past now_ns: another thread's. */
		if (!ep->open || now_ns < ep->last_ns ||
		    now_ns - ep->last_ns < DGRAM_GUARD_QUIET_SECS * NS_PER_SEC)
			continue;
		ep->open = false;
		if (ep->count < 2)
			continue;	/* its one line said it all */
		end = &v->ended[v->nended++];
		end->reason = (enum dgram_reason)r;
		end->count = ep->count;
		end->secs = (double)(ep->last_ns - ep->first_ns) / NS_PER_SEC;
		memcpy(end->service, ep->service, sizeof(end->service));
		memcpy(end->source, ep->source, sizeof(end->source));
	}
}

/* Enters a refusal in its episode; true if it opens one. */
static bool
guard_episode_add(struct guard *g, enum dgram_reason r, const char *service,
    const pt_addr *to, uint64_t now_ns)
{
	struct guard_episode *ep = &g->ep[r];

	if (now_ns > ep->last_ns || !ep->open)
		ep->last_ns = now_ns;
	if (ep->open) {
		ep->count++;
		return false;
	}
	ep->open = true;
	ep->count = 1;
	ep->first_ns = now_ns;
	snprintf(ep->service, sizeof(ep->service), "%s", service);
	logpeer_format(to, ep->source, sizeof(ep->source));
	return true;
}

static void
guard_log_ended(const struct dgram_verdict *v)
{
	const struct dgram_episode_end *e;
	size_t i;

	for (i = 0; i < v->nended; i++) {
		e = &v->ended[i];
		log_msg(LOG_WARNING, "service %s: not answering: %llu datagrams "
		    "refused in %.1f s (%s), the first from %s; episode over",
		    e->service, (unsigned long long)e->count, e->secs,
		    dgram_guard_reason_text(e->reason), e->source);
	}
}

/* ------------------------------------------------------------ interface */

enum dgram_reason
dgram_guard_decide(const char *service, const pt_addr *to, uint64_t now_ns,
    struct dgram_verdict *v)
{
	struct guard *g = guard_get();

	memset(v, 0, sizeof(*v));
	guard_lock(g);
	guard_end_episodes(g, now_ns, v);
	v->reason = guard_rules(g, to, now_ns);
	g->total[v->reason]++;
	if (v->reason != DGRAM_ANSWER)
		v->log = guard_episode_add(g, v->reason, service, to, now_ns);
	pthread_mutex_unlock(&g->lock);
	return v->reason;
}

int
dgram_guard_may_reply(const pt_plugin_ctx *ctx, const pt_addr *to)
{
	char text[PT_ADDRSTRLEN];
	struct dgram_verdict v;

	if (to == NULL)
		return 0;
	dgram_guard_decide(ctx->service, to, guard_now_ns(), &v);
	guard_log_ended(&v);
	if (v.log) {
		if (v.reason == DGRAM_RATE)
			log_msg(LOG_WARNING, "service %s: not answering %s: %s "
			    "(%d/s, burst %d); dropping such replies quietly "
			    "until %d s pass without one", ctx->service,
			    logpeer_format(to, text, sizeof(text)),
			    dgram_guard_reason_text(v.reason),
			    DGRAM_GUARD_RATE, DGRAM_GUARD_BURST,
			    DGRAM_GUARD_QUIET_SECS);
		else
			log_msg(LOG_WARNING, "service %s: not answering %s: %s "
			    "(a forged source?); dropping such replies quietly "
			    "until %d s pass without one", ctx->service,
			    logpeer_format(to, text, sizeof(text)),
			    dgram_guard_reason_text(v.reason),
			    DGRAM_GUARD_QUIET_SECS);
	}
	return v.reason == DGRAM_ANSWER;
}

void
dgram_own_clear(struct dgram_own *own)
{
	memset(own->ports, 0, sizeof(own->ports));
}

void
dgram_own_add(struct dgram_own *own, const pt_addr *addr)
{
	int port;

	if (addr->ss.ss_family != AF_INET && addr->ss.ss_family != AF_INET6)
		return;
	if ((port = pt_addr_port(addr)) >= 0 && port < 65536)
		own->ports[port / 8] |= (uint8_t)(1u << (port % 8));
}

/* The IPv4 broadcast addresses of the local interfaces, up to max. */
static size_t
guard_read_bcast(uint32_t *out, size_t max)
{
	struct ifaddrs *ifs, *ifa;
	size_t n = 0;

	if (getifaddrs(&ifs) == -1) {
		log_warn("datagram guard: getifaddrs (directed broadcast "
		    "sources are not recognised)");
		return 0;
	}
	for (ifa = ifs; ifa != NULL && n < max; ifa = ifa->ifa_next) {
		if (!(ifa->ifa_flags & IFF_BROADCAST) ||
		    ifa->ifa_broadaddr == NULL ||
		    ifa->ifa_broadaddr->sa_family != AF_INET)
			continue;
		out[n++] = ((const struct sockaddr_in *)
		    (const void *)ifa->ifa_broadaddr)->sin_addr.s_addr;
	}
	freeifaddrs(ifs);
	return n;
}

void
dgram_guard_set_own(const struct dgram_own *own)
{
	struct guard *g = guard_get();
	uint32_t bcast[GUARD_BCAST_MAX];
	struct dgram_verdict v;
	size_t nbcast;

	nbcast = guard_read_bcast(bcast, GUARD_BCAST_MAX);
	memset(&v, 0, sizeof(v));
	guard_lock(g);
	memcpy(g->own, own->ports, sizeof(g->own));
	memcpy(g->bcast, bcast, nbcast * sizeof(bcast[0]));
	g->nbcast = nbcast;
	guard_end_episodes(g, guard_now_ns(), &v);
	pthread_mutex_unlock(&g->lock);
	guard_log_ended(&v);
}

void
dgram_guard_set_services(struct svc *const *svcs, size_t n)
{
	static struct dgram_own own;	/* 8 KiB; control thread only */
	size_t i, j;

	dgram_own_clear(&own);
	for (i = 0; i < n; i++)
		for (j = 0; j < svcs[i]->nls; j++)
			if (svcs[i]->ls[j]->socktype == SOCK_DGRAM)
				dgram_own_add(&own, &svcs[i]->ls[j]->addr);
	dgram_guard_set_own(&own);
}

void
dgram_guard_totals(uint64_t out[DGRAM_NREASONS])
{
	struct guard *g = guard_get();

	guard_lock(g);
	memcpy(out, g->total, sizeof(g->total));
	pthread_mutex_unlock(&g->lock);
}
