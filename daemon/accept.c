/*
 * accept.c -- the accept path: admission before any handler runs.
 *
 * A readable listener is accepted until EAGAIN, at most ACCEPT_BATCH at a
 * time so one busy service cannot starve the rest.  Before each accept
 * the service's max-connections and rate are checked (a full service
 * pauses and leaves clients in the kernel's backlog); after it, the
 * access lists and max-per-source (a refused client is closed at once,
 * and refusals are logged without flooding).  Out of descriptors, the
 * pending client is shed with a reserve descriptor and the listener
 * pauses briefly, so the loop never spins on EMFILE.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "access.h"
#include "conn.h"
#include "limiter.h"
#include "log.h"
#include "loop_priv.h"

#define ACCEPT_BATCH	64	/* accepts per listener per wakeup */
#define EMFILE_PAUSE_MS	100	/* listener pause when out of descriptors */
#define FD_HEADROOM	8	/* descriptors a handler needs besides its own */

static bool accept_fd_spare(int fd);

/*
 * Out of descriptors: the pending connection cannot be accepted, and a
 * level-triggered listener would wake us again at once.  Pause it for
 * EMFILE_PAUSE_MS instead of spinning; log once per episode.
 */
static void
accept_emfile(struct listener *l, bool shed_pending)
{
	int fd;

	/*
	 * The reserve descriptor lets us take the pending connection off the
	 * queue and close it, so that client learns at once instead of
	 * waiting in the backlog for descriptors that may never come.
	 */
	if (shed_pending && loop.spare_fd >= 0) {
		close(loop.spare_fd);
		if ((fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			close(fd);
		loop.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	accept_fd_limit();	/* it may have changed under us */
	if (!loop.emfile_episode)
		log_warnx("service %s: accept %s: out of file descriptors, "
		    "pausing accepts", l->svc->conf->name, l->text);
	loop.emfile_episode = 1;
	clock_gettime(CLOCK_MONOTONIC, &loop.emfile_last);
	loop.paused = 1;
	clock_gettime(CLOCK_MONOTONIC, &loop.pause_until);
	loop.pause_until.tv_nsec += EMFILE_PAUSE_MS * 1000000L;
	if (loop.pause_until.tv_nsec >= 1000000000L) {
		loop.pause_until.tv_sec++;
		loop.pause_until.tv_nsec -= 1000000000L;
	}
	loop_disarm(l);
}

/* Tells a refused client why (if the service has a message) and logs. */
static void
accept_refuse(struct svc *svc, int fd, const pt_addr *peer, enum refusal why,
    const char *reason)
{
	const struct limits_spec *spec = &svc->conf->limits;
	char text[PT_ADDRSTRLEN];
	ssize_t n;

	if (why != REFUSE_ACL && spec->reject_message != NULL) {
		/* Best effort: the socket buffer of a new connection has room. */
		n = send(fd, spec->reject_message, spec->reject_len,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)n;
	}
	close(fd);
	if (limiter_refused(svc->lim, why))
		log_warnx("service %s: refused %s: %s", svc->conf->name,
		    pt_addr_format(peer, text, sizeof(text)), reason);
}

/*
 * Checks the limits that apply before accept: max-connections (without a
 * reject message, clients wait in the backlog) and the rate.  Returns 0
 * to accept, -1 after pausing the service.
 */
static int
accept_may(struct svc *svc)
{
	const struct limits_spec *spec = &svc->conf->limits;
	long wait_ms;

	if (spec->max_conns > 0 && svc->lim->live >= spec->max_conns &&
	    spec->reject_message == NULL) {
		if (!svc->lim->max_paused)
			log_warnx("service %s: max-connections (%u) reached, "
			    "pausing accepts", svc->conf->name,
			    spec->max_conns);
		svc->lim->max_paused = true;
		svc->pause |= SVC_PAUSE_MAX;
		loop_svc_arm(svc);
		return -1;
	}
	if (limiter_take_token(svc->lim, &wait_ms) == -1) {
		if (!svc->rate_episode)
			log_warnx("service %s: rate limit (%g/s, burst %u) "
			    "reached, pausing accepts", svc->conf->name,
			    spec->rate, spec->burst);
		svc->rate_episode = true;
		svc->pause |= SVC_PAUSE_RATE;
		clock_gettime(CLOCK_MONOTONIC, &svc->rate_until);
		svc->rate_until.tv_sec += wait_ms / 1000;
		svc->rate_until.tv_nsec += (wait_ms % 1000) * 1000000L;
		if (svc->rate_until.tv_nsec >= 1000000000L) {
			svc->rate_until.tv_sec++;
			svc->rate_until.tv_nsec -= 1000000000L;
		}
		loop_svc_arm(svc);
		return -1;
	}
	if (svc->rate_episode && limiter_bucket_full(svc->lim))
		svc->rate_episode = false;
	return 0;
}

/* Access lists and per-source limits, decided right after accept. */
static int
accept_admit(struct svc *svc, int fd, const pt_addr *peer,
    struct source_key *src)
{
	const struct limits_spec *spec = &svc->conf->limits;
	char why[128];

	if (access_check(svc->conf, fd, peer, why, sizeof(why)) == -1) {
		accept_refuse(svc, fd, peer, REFUSE_ACL, why);
		return -1;
	}
	if (spec->max_conns > 0 && svc->lim->live >= spec->max_conns) {
		/* Only reached with a reject message (see accept_may). */
		snprintf(why, sizeof(why), "max-connections (%u) reached",
		    spec->max_conns);
		accept_refuse(svc, fd, peer, REFUSE_MAX, why);
		return -1;
	}
	if (limiter_admit_source(svc->lim, peer, src) == -1) {
		snprintf(why, sizeof(why), "per-source limit (%u) reached",
		    spec->max_per_source);
		accept_refuse(svc, fd, peer, REFUSE_PER_SOURCE, why);
		return -1;
	}
	return 0;
}

void
accept_listener(struct listener *l)
{
	struct svc *svc = l->svc;
	struct sockaddr_storage ss;
	struct source_key src;
	socklen_t len;
	pt_addr peer;
	int i, fd;

	if (svc->conf->wait) {
		loop_dispatch(l, l->fd, NULL, NULL);
		return;
	}
	for (i = 0; i < ACCEPT_BATCH; i++) {
		if (accept_may(svc) == -1)
			return;
		len = sizeof(ss);
		/*
		 * accept4 directly rather than pt_sock_accept_fd: EAGAIN ends
		 * every batch and must not cost an error message.
		 */
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_CLOEXEC);
		if (fd == -1) {
			limiter_untake_token(svc->lim);
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				accept_emfile(l, true);
				return;
			}
			log_warn("service %s: accept %s", svc->conf->name,
			    l->text);
			return;
		}
		/*
		 * Descriptors are allocated lowest first: a number this close
		 * to the limit means the handler (its pt_fromfd() duplicate,
		 * an exec's pipes) would fail.  Shed the client now, as for
		 * EMFILE, instead of letting every handler fail and log.  In
		 * the upper half, holes below may hide a full table: probe.
		 */
		if (loop.fd_soft > 0 && (fd >= loop.fd_soft - FD_HEADROOM ||
		    (fd >= loop.fd_soft / 2 && !accept_fd_spare(fd)))) {
			close(fd);	/* that client is the one shed */
			accept_emfile(l, false);
			return;
		}
		memcpy(&peer.ss, &ss, sizeof(ss));
		peer.len = len;
		if (accept_admit(svc, fd, &peer, &src) == -1)
			continue;
		loop_dispatch(l, fd, &peer, &src);
	}
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

/* The descriptor limit; re-read every tick, as prlimit(1) may change it. */
void
accept_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		loop.fd_soft = rl.rlim_cur == RLIM_INFINITY ? 0 : (long)rl.rlim_cur;
}
