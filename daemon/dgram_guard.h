/*
 * dgram_guard.h -- whom a datagram service may answer: the host's policy
 * against reflection loops and reflected floods, behind the plugin
 * context's may_reply() (ABI 1.1).
 *
 * A UDP request's source address is whatever the sender wrote, so one
 * forged datagram can make two reflectors answer each other for ever
 * (CERT CA-1996-01): porterd's echo and its own daytime, or porterd and
 * another host's echo.  Before a datagram plugin answers, it asks
 * may_reply(); the answer is "no" when the destination (the request's
 * source), in this order:
 *
 *   1. is not a unicast address: IPv4 multicast (224/4), reserved and
 *      limited broadcast (240/4, 255/8), "this network" (0/8), the
 *      directed broadcast address of a local interface; IPv6 multicast
 *      (ff00::/8) or unspecified (::); an IPv4-mapped IPv6 address is
 *      judged as the IPv4 address it holds (as OpenBSD inetd's
 *      dg_badinput() does);
 *   2. has a port below 1024 (0, echo 7, daytime 13, chargen 19, time 37
 *      and every other privileged service: a real client sends from an
 *      ephemeral port);
 *   3. has the port of one of porterd's own datagram listeners, on any
 *      address: that is porterd itself, or another host running the same
 *      configuration, and either is a reflector;
 *   4. has used up its reply budget: DGRAM_GUARD_RATE replies a second
 *      with bursts of DGRAM_GUARD_BURST, per source address (IPv6 per
 *      /64, so one host cannot dodge it by rotating addresses), kept in a
 *      bounded table of DGRAM_GUARD_SLOTS sources (the least recently
 *      seen is forgotten first).  A loop through a reflector this rule
 *      does not know ends after one burst, since a loop is one datagram
 *      in flight and one drop ends it.
 *
 * Only internet addresses are judged; AF_UNIX sources are always answered
 * (the kernel fills them in, so they cannot be forged).
 *
 * Logging: a refusal is counted always and logged once per episode.  An
 * episode is a run of refusals for one reason with no gap of
 * DGRAM_GUARD_QUIET_SECS; its first refusal is logged at once (service
 * and source), and when it is over (seen at the next datagram any service
 * gets, or at the next reload) one summary line gives how many were
 * refused, if more than one.
 *
 * Threads and processes: handlers run on many threads, and under
 * isolation = process in forked children, so the rate table, the episodes
 * and the counters live in one shared anonymous mapping under a
 * process-shared, robust mutex: a child's refusals count in the parent,
 * and a child killed while holding the lock does not wedge the others.
 */
#ifndef PORTERD_DGRAM_GUARD_H
#define PORTERD_DGRAM_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <porter/plugin.h>

#define DGRAM_GUARD_RATE	100	/* replies per second per source */
#define DGRAM_GUARD_BURST	200	/* replies at once per source */
#define DGRAM_GUARD_SLOTS	1024	/* sources the rate table holds */
#define DGRAM_GUARD_QUIET_SECS	10	/* an episode ends after this long
					 * without a refusal of its kind */

enum dgram_reason {
	DGRAM_ANSWER = 0,	/* not refused */
	DGRAM_NOT_UNICAST,	/* rule 1 */
	DGRAM_LOW_PORT,		/* rule 2 */
	DGRAM_OWN_PORT,		/* rule 3 */
	DGRAM_RATE,		/* rule 4 */
	DGRAM_NREASONS
};

/* Why, in words, for log lines ("source port below 1024", ...). */
const char *dgram_guard_reason_text(enum dgram_reason r);

/* porterd's own datagram ports, as a bitmap; build one with these. */
struct dgram_own {
	uint8_t ports[65536 / 8];
};
void dgram_own_clear(struct dgram_own *own);
/* Adds addr's port if addr is an internet address; others are ignored. */
void dgram_own_add(struct dgram_own *own, const pt_addr *addr);

/*
 * Replaces the set of porterd's own datagram ports with *own and re-reads
 * the local interfaces' broadcast addresses.  Call from the control thread,
 * at start and after every reload; handlers running at that moment see
 * the old or the new set, never a mix.  Also ends (and summarises)
 * episodes that are over.
 */
void dgram_guard_set_own(const struct dgram_own *own);

struct svc;
/*
 * dgram_guard_set_own() for a service table: every SOCK_DGRAM listener of
 * the n services in svcs, whatever its handler.  The table code calls it
 * after each (re)load.
 */
void dgram_guard_set_services(struct svc *const *svcs, size_t n);

/* An episode found over, for its summary line. */
struct dgram_episode_end {
	enum dgram_reason reason;
	uint64_t count;			/* refusals in the episode */
	double secs;			/* from its first to its last */
	char service[64];		/* its first refusal's service */
	char source[PT_ADDRSTRLEN];	/* and source */
};

struct dgram_verdict {
	enum dgram_reason reason;	/* DGRAM_ANSWER: answer */
	bool log;			/* refused, and the first refusal of
					 * an episode: log it */
	size_t nended;			/* episodes found over, to summarise */
	struct dgram_episode_end ended[DGRAM_NREASONS];
};

/*
 * The decision for a reply of `service` to `to` at time now_ns
 * (CLOCK_MONOTONIC, in ns), counted and, when refused, entered in its
 * episode; nothing is logged (dgram_guard_may_reply() logs).  Fills *v
 * and returns v->reason.  Thread- and fork-safe.
 */
enum dgram_reason dgram_guard_decide(const char *service, const pt_addr *to,
    uint64_t now_ns, struct dgram_verdict *v);

/*
 * pt_plugin_ctx's may_reply(): dgram_guard_decide() now, then logs the
 * refusal if it opens an episode and the summaries of episodes found
 * over.  Returns 1 to answer, 0 to drop the reply.
 */
int dgram_guard_may_reply(const pt_plugin_ctx *ctx, const pt_addr *to);

/* Decisions since start, by reason (out[DGRAM_ANSWER]: replies allowed). */
void dgram_guard_totals(uint64_t out[DGRAM_NREASONS]);

#endif
