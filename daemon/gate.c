/*
 * gate.c -- the one owner of "is this service accepting".
 *
 * A listener is registered in every event loop's epoll set with
 * EPOLLEXCLUSIVE, so a new connection wakes one loop, not all of them.
 * Whether it is registered ("armed") follows from its state: it is not
 * while a wait handler holds the socket, while its service is paused
 * (GATE_MAX: max-connections reached; GATE_RATE: the token bucket is
 * empty), while porterd is out of descriptors, or once porterd stops.
 * Every such change, and the control thread's table swap, happens under
 * gate_mtx, so pausing and resuming from several loops at once cannot
 * lose a wakeup: gate_pause_max() re-checks the limiter under the lock
 * that gate_resume_max() also takes.
 *
 * Timed pauses (rate, EMFILE) end on the control loop, which asks
 * gate_timeout_ms() how long it may sleep and calls gate_resume_due().
 *
 * Why one shared socket and not a SO_REUSEPORT socket per loop: reuseport
 * splits a port's accept queue into one per socket, chosen by a hash of
 * the client's address, so a connection can wait behind a loop that is
 * busy while another loop idles; closing one loop's socket (a reload, a
 * change of threads) resets the connections queued on it; and sockets
 * passed by systemd or bound to a UNIX path cannot be multiplied anyway.
 * One queue woken with EPOLLEXCLUSIVE is work-conserving, has one
 * definition of the socket for reload, and in make bench reaches the
 * reference server's rate with 1 and 2 loops alike.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <time.h>

#include "control_rt.h"
#include "gate.h"
#include "limiter.h"
#include "listen.h"
#include "log.h"
#include "mono.h"

static pthread_mutex_t gate_mtx = PTHREAD_MUTEX_INITIALIZER;
static const int *gate_epfds;
static size_t gate_nepfds;
static void (*gate_wake)(void);
static bool gate_emfile;		/* atomic reads on the accept path */
static struct timespec gate_emfile_until;
static bool gate_stop_flag;

void
gate_init(const int *epfds, size_t n, void (*wake_control)(void))
{
	gate_epfds = epfds;
	gate_nepfds = n;
	gate_wake = wake_control;
}

void
gate_lock(void)
{
	pthread_mutex_lock(&gate_mtx);
}

void
gate_unlock(void)
{
	pthread_mutex_unlock(&gate_mtx);
}

static void
gate_arm_locked(struct listener *l)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
	    .data.ptr = &l->ev };
	size_t i;

	if (l->armed)
		return;
	for (i = 0; i < gate_nepfds; i++) {
		if (epoll_ctl(gate_epfds[i], EPOLL_CTL_ADD, l->fd, &ev) == -1 &&
		    errno != EEXIST) {
			log_warn("service %s: epoll %s",
			    l->svc != NULL ? l->svc->conf->name : "-", l->text);
			while (i-- > 0)
				epoll_ctl(gate_epfds[i], EPOLL_CTL_DEL, l->fd,
				    NULL);
			return;
		}
	}
	l->armed = true;
}

void
gate_disarm_locked(struct listener *l)
{
	size_t i;

	if (!l->armed)
		return;
	for (i = 0; i < gate_nepfds; i++)
		epoll_ctl(gate_epfds[i], EPOLL_CTL_DEL, l->fd, NULL);
	l->armed = false;
}

void
gate_svc_arm_locked(struct svc *svc)
{
	bool emfile = __atomic_load_n(&gate_emfile, __ATOMIC_RELAXED);
	size_t i;

	for (i = 0; i < svc->nls; i++) {
		struct listener *l = svc->ls[i];

		if (l->svc != svc)
			continue;	/* not (or no longer) ours */
		if (l->busy || svc->pause != 0 || emfile || gate_stop_flag ||
		    control_rt_held(svc->stats))
			gate_disarm_locked(l);
		else
			gate_arm_locked(l);
	}
}

void
gate_svc_arm(struct svc *svc)
{
	gate_lock();
	gate_svc_arm_locked(svc);
	gate_unlock();
}

void
gate_drop_listener_locked(struct listener *l)
{
	gate_disarm_locked(l);
	if (l->busy)
		l->doomed = true;
	else
		listen_close(l);
}

void
gate_pause_max(struct svc *svc)
{
	struct limiter *lim = svc->lim;

	gate_lock();
	pthread_mutex_lock(&lim->lock);
	if (lim->spec.max_conns > 0 && lim->live >= lim->spec.max_conns) {
		/* Logged once per episode, not once per connection. */
		if (!lim->max_paused)
			log_warnx("service %s: max-connections (%u) reached, "
			    "pausing accepts", svc->conf->name,
			    lim->spec.max_conns);
		lim->max_paused = true;
		svc->pause |= GATE_MAX;
	}
	pthread_mutex_unlock(&lim->lock);
	gate_svc_arm_locked(svc);
	gate_unlock();
}

void
gate_resume_max(struct limiter *lim)
{
	struct svc *svc;
	bool resume;

	gate_lock();
	pthread_mutex_lock(&lim->lock);
	resume = lim->max_paused && (lim->spec.max_conns == 0 ||
	    lim->live < lim->spec.max_conns);
	if (resume)
		lim->max_paused = false;
	pthread_mutex_unlock(&lim->lock);
	/* The limiter may have passed to the svc that replaced ours. */
	if (resume && (svc = lim->owner) != NULL) {
		log_info("service %s: accepting again", svc->conf->name);
		svc->pause &= ~GATE_MAX;
		gate_svc_arm_locked(svc);
	}
	gate_unlock();
}

static void
ts_add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

void
gate_pause_rate(struct svc *svc, long ms)
{
	gate_lock();
	if (!svc->rate_episode)
		log_warnx("service %s: rate limit (%g/s, burst %u) reached, "
		    "pausing accepts", svc->conf->name, svc->conf->limits.rate,
		    svc->conf->limits.burst);
	svc->rate_episode = true;
	svc->pause |= GATE_RATE;
	clock_gettime(CLOCK_MONOTONIC, &svc->rate_until);
	ts_add_ms(&svc->rate_until, ms);
	gate_svc_arm_locked(svc);
	gate_unlock();
	if (gate_wake != NULL)
		gate_wake();
}

void
gate_pause_emfile(struct listener *l, long ms)
{
	gate_lock();
	__atomic_store_n(&gate_emfile, true, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_MONOTONIC, &gate_emfile_until);
	ts_add_ms(&gate_emfile_until, ms);
	gate_disarm_locked(l);
	gate_unlock();
	if (gate_wake != NULL)
		gate_wake();
}

bool
gate_emfile_paused(void)
{
	return __atomic_load_n(&gate_emfile, __ATOMIC_RELAXED);
}

void
gate_stop(void)
{
	gate_lock();
	gate_stop_flag = true;
	gate_unlock();
}

bool
gate_claim_wait(struct listener *l)
{
	bool mine = false;

	gate_lock();
	if (!l->busy && l->svc != NULL && !gate_stop_flag) {
		l->busy = true;
		gate_disarm_locked(l);
		mine = true;
	}
	gate_unlock();
	return mine;
}

void
gate_release_wait(struct listener *l)
{
	gate_lock();
	l->busy = false;
	if (l->doomed)
		listen_close(l);
	else if (l->svc != NULL)	/* NULL: a released systemd socket */
		gate_svc_arm_locked(l->svc);
	gate_unlock();
}

int
gate_timeout_ms(struct svc *const *svcs, size_t n)
{
	long ms = -1, t;
	size_t i;

	gate_lock();
	if (gate_emfile)
		ms = mono_ms_until(&gate_emfile_until);
	for (i = 0; i < n; i++) {
		if (!(svcs[i]->pause & GATE_RATE))
			continue;
		t = mono_ms_until(&svcs[i]->rate_until);
		if (ms < 0 || t < ms)
			ms = t;
	}
	gate_unlock();
	return (int)ms;
}

void
gate_resume_due(struct svc *const *svcs, size_t n)
{
	bool all = false;
	size_t i;

	gate_lock();
	if (gate_emfile && mono_ms_until(&gate_emfile_until) == 0) {
		__atomic_store_n(&gate_emfile, false, __ATOMIC_RELAXED);
		all = true;
	}
	for (i = 0; i < n; i++) {
		struct svc *svc = svcs[i];

		if ((svc->pause & GATE_RATE) &&
		    mono_ms_until(&svc->rate_until) == 0) {
			svc->pause &= ~GATE_RATE;
			gate_svc_arm_locked(svc);
		} else if (all) {
			gate_svc_arm_locked(svc);
		}
		/* The episode ends once the bucket has refilled. */
		if (svc->rate_episode && !(svc->pause & GATE_RATE) &&
		    limiter_bucket_full(svc->lim))
			svc->rate_episode = false;
	}
	gate_unlock();
}

void
gate_adopt_locked(struct svc *svc)
{
	struct limiter *lim = svc->lim;
	bool full, resumed = false;

	pthread_mutex_lock(&lim->lock);
	lim->owner = svc;
	full = lim->spec.max_conns > 0 && lim->live >= lim->spec.max_conns;
	if (lim->max_paused && !full) {
		lim->max_paused = false;
		resumed = true;
	} else if (full && svc->conf->limits.reject_message == NULL) {
		lim->max_paused = true;
	}
	pthread_mutex_unlock(&lim->lock);
	svc->pause = (svc->pause & ~GATE_MAX) | (lim->max_paused ? GATE_MAX : 0);
	if (resumed)
		log_info("service %s: accepting again", svc->conf->name);
}

void
gate_forget_svc(struct svc *svc)
{
	if (svc->lim == NULL)
		return;
	gate_lock();
	pthread_mutex_lock(&svc->lim->lock);
	if (svc->lim->owner == svc)
		svc->lim->owner = NULL;
	pthread_mutex_unlock(&svc->lim->lock);
	gate_unlock();
}

const char *
gate_state_text(const struct svc *svc)
{
	if (gate_stop_flag)
		return "stopping";
	if (svc->pause & GATE_MAX)
		return "paused: max-connections";
	if (svc->pause & GATE_RATE)
		return "paused: rate";
	if (gate_emfile)
		return "paused: out of descriptors";
	return "serving";
}
