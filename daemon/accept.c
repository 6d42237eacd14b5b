/*
 * accept.c -- the accept path: admission before any handler runs.
 *
 * Every event loop accepts for itself: a listener is in every loop's
 * epoll set (EPOLLEXCLUSIVE), and the loop woken accepts until EAGAIN, at
 * most ACCEPT_BATCH at a time so one busy service cannot starve the rest.
 * Before each accept a slot is reserved in the service's limiter
 * (max-connections and rate, exact across loops: two loops cannot both
 * take the last slot); a full service pauses (gate.c) and leaves clients
 * in the kernel's backlog.  After the accept come the access lists and
 * max-per-source (a refused client is closed at once, and refusals are
 * logged without flooding).  Out of descriptors, the pending client is
 * shed with a reserve descriptor and accepting pauses briefly, so no loop
 * spins on EMFILE.  A blocking plugin's connection is run by the
 * accepting thread itself (evloop_run_blocking), one per batch: the loop
 * stops accepting for such a service until another thread leads it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "accept.h"
#include "access.h"
#include "banner.h"
#include "conn.h"
#include "dispatch.h"
#include "edge.h"
#include "evloop.h"
#include "gate.h"
#include "limiter.h"
#include "log.h"
#include "logpeer.h"
#include "stats.h"

#define ACCEPT_BATCH	64	/* accepts per listener per wakeup */
#define EMFILE_PAUSE_MS	100	/* accepting pauses when out of descriptors */
#define EMFILE_QUIET_SECS 2	/* an episode ends after this long without */
#define FD_HEADROOM	8	/* descriptors a handler needs besides its own */

/* Out-of-descriptor state, shared by the loops. */
static pthread_mutex_t emfile_mtx = PTHREAD_MUTEX_INITIALIZER;
static int spare_fd = -1;		/* reserve descriptor for shedding */
static bool emfile_episode;		/* logged; over after a quiet spell */
static struct timespec emfile_last;	/* the last EMFILE or ENFILE */
static long fd_soft;			/* RLIMIT_NOFILE soft limit (atomic) */
/*
 * Near the limit (the last descriptor accepted was in the upper half),
 * the loops accept one at a time, from accept4() through dispatch(): a
 * cooperative handler makes its pt_fromfd() duplicate before dispatch()
 * returns, so the descriptor probed free for it cannot go to another
 * loop's accept meanwhile.
 */
static pthread_mutex_t near_mtx = PTHREAD_MUTEX_INITIALIZER;
static int last_fd;				/* atomic */

/*
 * The soft RLIMIT_NOFILE, from /proc/self/limits when it can be read:
 * getrlimit() may answer a virtualised number (valgrind reports its own
 * and does not see a prlimit(1) from outside), and shedding near the
 * limit is only as good as the number it compares with.
 */
static void
accept_fd_limit(void)
{
	char line[256];
	struct rlimit rl;
	long soft = -1;
	FILE *f;

	if ((f = fopen("/proc/self/limits", "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			char word[32];

			if (strncmp(line, "Max open files", 14) != 0)
				continue;
			if (sscanf(line + 14, "%31s", word) == 1)
				soft = strcmp(word, "unlimited") == 0 ? 0 :
				    strtol(word, NULL, 10);
			break;
		}
		fclose(f);
	}
	if (soft < 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		soft = rl.rlim_cur == RLIM_INFINITY ? 0 : (long)rl.rlim_cur;
	if (soft >= 0)
		__atomic_store_n(&fd_soft, soft, __ATOMIC_RELAXED);
}

/*
 * Out of descriptors: the pending connection cannot be accepted, and a
 * level-triggered listener would wake us again at once.  Pause accepting
 * for EMFILE_PAUSE_MS instead of spinning; log once per episode.
 */
static void
accept_emfile(struct listener *l, bool shed_pending)
{
	bool first;
	int fd;

	pthread_mutex_lock(&emfile_mtx);
	/*
	 * The reserve descriptor lets us take the pending connection off the
	 * queue and close it, so that client learns at once instead of
	 * waiting in the backlog for descriptors that may never come.
	 */
	if (shed_pending && spare_fd >= 0) {
		close(spare_fd);
		if ((fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
			close(fd);
			stats_refused(l->svc->stats, STATS_REFUSE_EMFILE);
		}
		spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	first = !emfile_episode;
	emfile_episode = true;
	clock_gettime(CLOCK_MONOTONIC, &emfile_last);
	pthread_mutex_unlock(&emfile_mtx);
	accept_fd_limit();	/* it may have changed under us */
	if (first)
		log_warnx("service %s: accept %s: out of file descriptors, "
		    "pausing accepts", l->svc->conf->name, l->text);
	gate_pause_emfile(l, EMFILE_PAUSE_MS);
}

void
accept_tick(void)
{
	struct timespec now;
	bool over = false;

	accept_fd_limit();
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&emfile_mtx);
	/* A handler may have taken the reserve's slot while it was shed. */
	if (spare_fd < 0)
		spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/*
	 * An episode ends after a quiet spell, not at the first accept that
	 * succeeds: under a flood those alternate, and the log would get a
	 * line for each.
	 */
	if (emfile_episode && now.tv_sec - emfile_last.tv_sec >=
	    EMFILE_QUIET_SECS) {
		emfile_episode = false;
		over = true;
	}
	pthread_mutex_unlock(&emfile_mtx);
	if (over)
		log_info("descriptors available again, accepting");
}

void
accept_fini(void)
{
	pthread_mutex_lock(&emfile_mtx);
	if (spare_fd >= 0)
		close(spare_fd);
	spare_fd = -1;
	pthread_mutex_unlock(&emfile_mtx);
}

/* Tells a refused client why (if the service has a message) and logs. */
static void
accept_refuse(struct svc *svc, int fd, const pt_addr *peer, enum refusal why,
    const char *reason)
{
	const struct limits_spec *spec = &svc->conf->limits;
	char text[PT_ADDRSTRLEN];
	ssize_t n;

	banner_refused(svc->conf, fd);
	if (why != REFUSE_ACL && spec->reject_message != NULL) {
		/* Best effort: the socket buffer of a new connection has room. */
		n = send(fd, spec->reject_message, spec->reject_len,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)n;
	}
	close(fd);
	stats_refused(svc->stats, (enum stats_refusal)why);
	if (limiter_refused(svc->lim, why))
		log_warnx("service %s: refused %s: %s", svc->conf->name,
		    logpeer_format(peer, text, sizeof(text)), reason);
}

/* True if one more descriptor can be had now (the handler's duplicate). */
static bool
accept_fd_spare(int fd)
{
	int probe = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (probe == -1)
		return false;
	close(probe);
	return true;
}

/* A blocking plugin's handler runs on the accepting thread. */
static bool
accept_blocking(const struct svc *svc)
{
	return svc->conf->kind == HANDLER_PLUGIN &&
	    svc->conf->isolation == ISOLATION_THREAD && !svc->cooperative;
}

/* A wait service's socket is readable: its handler gets the socket. */
static void
accept_wait(struct evloop *L, struct listener *l, struct svc *svc)
{
	long wait_ms = 0;

	if (accept_blocking(svc) && !evloop_can_block(L))
		return;
	switch (limiter_reserve(svc->lim, &wait_ms)) {
	case LIM_OK:
		break;
	case LIM_RATE:
		gate_pause_rate(svc, wait_ms);
		return;
	case LIM_FULL:
	case LIM_BUSY:
		return;		/* wait services have no max-connections */
	}
	if (!gate_claim_wait(l)) {
		limiter_unreserve(svc->lim);	/* another loop took it */
		return;
	}
	limiter_accepted(svc->lim);
	dispatch(L, l, l->fd, NULL, NULL);
}

/*
 * One accept for svc on l.  Returns true to go on with the batch, false
 * when the listener is drained or accepting must stop for now.
 */
static bool
accept_one_locked(struct evloop *L, struct listener *l, struct svc *svc)
{
	const struct limits_spec *spec = &svc->conf->limits;
	struct sockaddr_storage ss;
	struct source_key src;
	bool reserved = true;
	char why[128];
	socklen_t len;
	long wait_ms = 0, soft;
	pt_addr peer;
	int fd;

	if (gate_emfile_paused()) {
		/*
		 * Out of descriptors: take this service's listeners out of the
		 * loops too (gate_resume_due() re-arms them all), or a client
		 * pending on them wakes every loop until the pause ends.
		 */
		gate_svc_arm(svc);
		return false;
	}
	switch (limiter_reserve(svc->lim, &wait_ms)) {
	case LIM_OK:
		break;
	case LIM_RATE:
		gate_pause_rate(svc, wait_ms);
		return false;
	case LIM_BUSY:
		/*
		 * The last slot is another loop's accept in progress: if it
		 * finds nothing it gives the slot back.  Leave the client in
		 * the backlog rather than refuse it for a slot that may be
		 * free; the listener stays readable, so this loop (or that
		 * one) comes back to it.
		 */
		return false;
	case LIM_FULL:
		if (spec->reject_message == NULL) {
			/* Clients wait in the backlog until a slot frees. */
			gate_pause_max(svc);
			return false;
		}
		reserved = false;	/* accepted only to be refused */
		break;
	}
	len = sizeof(ss);
	/*
	 * accept4 directly rather than pt_sock_accept_fd: EAGAIN ends every
	 * batch and must not cost an error message.
	 */
	fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (fd == -1) {
		int e = errno;

		if (reserved)
			limiter_unreserve(svc->lim);
		if (e == EAGAIN || e == EWOULDBLOCK)
			return false;
		if (e == EINTR || e == ECONNABORTED)
			return true;
		if (e == EMFILE || e == ENFILE) {
			accept_emfile(l, true);
			return false;
		}
		errno = e;
		log_warn("service %s: accept %s", svc->conf->name, l->text);
		return false;
	}
	/*
	 * Descriptors are allocated lowest first: a number this close to the
	 * limit means the handler (its pt_fromfd() duplicate, an exec's
	 * pipes) would fail.  Shed the client now, as for EMFILE, instead of
	 * letting every handler fail and log.  In the upper half, holes below
	 * may hide a full table: probe.
	 */
	soft = __atomic_load_n(&fd_soft, __ATOMIC_RELAXED);
	if (soft > 0 && (fd >= soft - FD_HEADROOM ||
	    (fd >= soft / 2 && !accept_fd_spare(fd)))) {
		close(fd);	/* that client is the one shed */
		stats_refused(svc->stats, STATS_REFUSE_EMFILE);
		if (reserved)
			limiter_unreserve(svc->lim);
		accept_emfile(l, false);
		return false;
	}
	if (reserved)
		limiter_accepted(svc->lim);
	__atomic_store_n(&last_fd, fd, __ATOMIC_RELAXED);
	memcpy(&peer.ss, &ss, sizeof(ss));
	peer.len = len;
	pt_addr_unmap(&peer);	/* hook (hard): a dual-stack IPv4 peer is IPv4 */
	if (!reserved) {
		snprintf(why, sizeof(why), "max-connections (%u) reached",
		    spec->max_conns);
		accept_refuse(svc, fd, &peer, REFUSE_MAX, why);
		return true;
	}
	if ((edge_proxied(svc->conf) ?	/* edge.h: the balancer's turn */
	    edge_admit_balancer(svc->conf, &peer, &src, why, sizeof(why)) :
	    access_check(svc->conf, fd, &peer, why, sizeof(why))) == -1) {
		accept_refuse(svc, fd, &peer, REFUSE_ACL, why);
		if (limiter_release(svc->lim, NULL))
			gate_resume_max(svc->lim);
		return true;
	}
	if (!edge_proxied(svc->conf) &&
	    limiter_admit_source(svc->lim, &peer, &src) == -1) {
		snprintf(why, sizeof(why), "per-source limit (%u) reached",
		    spec->max_per_source);
		accept_refuse(svc, fd, &peer, REFUSE_PER_SOURCE, why);
		if (limiter_release(svc->lim, NULL))
			gate_resume_max(svc->lim);
		return true;
	}
	banner_admitted(svc->conf, fd);
	dispatch(L, l, fd, &peer, &src);
	return true;
}

static bool
accept_one(struct evloop *L, struct listener *l, struct svc *svc)
{
	long soft = __atomic_load_n(&fd_soft, __ATOMIC_RELAXED);
	bool near = soft > 0 &&
	    __atomic_load_n(&last_fd, __ATOMIC_RELAXED) >= soft / 2;
	bool r;

	if (!near)
		return accept_one_locked(L, l, svc);
	pthread_mutex_lock(&near_mtx);
	r = accept_one_locked(L, l, svc);
	pthread_mutex_unlock(&near_mtx);
	return r;
}

void
accept_ev(struct ev *ev, uint32_t events, struct evloop *L)
{
	struct listener *l = (struct listener *)ev;
	struct svc *svc = l->svc;
	int i;

	(void)events;
	if (svc == NULL || !l->armed)
		return;		/* disarmed after epoll reported it */
	if (svc->conf->wait) {
		accept_wait(L, l, svc);
		return;
	}
	for (i = 0; i < ACCEPT_BATCH; i++) {
		if (accept_blocking(svc) && !evloop_can_block(L))
			return;
		if (!accept_one(L, l, svc))
			return;
	}
}
