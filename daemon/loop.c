/*
 * loop.c -- porterd's event loop: accept, dispatch, reap, reload, stop.
 *
 * One thread owns all state.  It waits in epoll on the listening sockets,
 * a signalfd (SIGCHLD, SIGHUP, SIGTERM, SIGINT), the worker pool's eventfd
 * and the watchdog timerfd.  Readable listeners are accepted until EAGAIN
 * (bounded per wakeup so one busy service cannot starve the rest), and each
 * connection is dispatched to a worker thread, an isolated child or an
 * exec'd program.  Finished handlers come back here (worker queue or
 * SIGCHLD) and are logged and released by conn_finish().
 *
 * Reload (SIGHUP) builds the complete new service table first -- config,
 * plugins, inits, new sockets -- and only then swaps it in, handing over
 * every listening socket whose address and options did not change, so an
 * unchanged service never stops accepting and live connections are never
 * cut.  If anything fails the new table is dropped and the old one keeps
 * running.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "listen.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "spawn.h"
#include "access.h"
#include "limiter.h"
#include "svc.h"
#include "timeouts.h"
#include "worker.h"

#define ACCEPT_BATCH	64	/* accepts per listener per wakeup */
#define PID_BUCKETS	256
#define EMFILE_PAUSE_MS	100	/* listener pause when out of descriptors */
#define EMFILE_QUIET_SECS 2	/* an episode ends after this long without */
#define FD_HEADROOM	8	/* descriptors a handler needs besides its own */

/* Markers for the non-listener descriptors in epoll. */
static char tag_signal, tag_worker, tag_watchdog, tag_tick;

struct table {
	struct svc **svcs;
	size_t n;
};

static struct {
	const struct loop_options *opts;
	int epfd;
	int sigfd;
	int wdfd;
	struct config_ref *cref;	/* the running config */
	struct table tab;
	struct listener **passed;	/* sockets systemd passed us */
	size_t npassed;
	struct plugin_registry plugins;
	struct conn *pids[PID_BUCKETS];
	unsigned nchildren;
	unsigned live;			/* running handlers, all services */
	int stopping;
	struct timespec stop_deadline;
	int paused;			/* listeners paused for EMFILE */
	int emfile_episode;		/* logged; over after EMFILE_QUIET_SECS */
	struct timespec emfile_last;	/* the last EMFILE or ENFILE */
	int spare_fd;			/* reserve descriptor for shedding */
	long fd_soft;			/* RLIMIT_NOFILE soft limit, per tick */
	char last_status[128];		/* the last STATUS= sent */
	int tickfd;			/* 1 s timer: timeouts, summaries */
	struct conn *live_head;		/* every running handler */
	struct timespec pause_until;
} L;

static void loop_errpipe_read(struct svc *svc);
static void loop_fd_limit(void);
static bool loop_fd_spare(int fd);

/* ------------------------------------------------------------ helpers */

static const char *
loop_plugin_dir(const struct config *cfg)
{
	return L.opts != NULL && L.opts->plugin_dir != NULL ?
	    L.opts->plugin_dir : cfg->plugin_dir;
}

static const char *
socktype_name(int type)
{
	switch (type) {
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_SEQPACKET:
		return "seqpacket";
	}
	return "socket";
}

static void
loop_arm(struct listener *l)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };

	if (l->armed)
		return;
	if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, l->fd, &ev) == -1)
		log_warn("service %s: epoll %s", l->svc->conf->name, l->text);
	else
		l->armed = true;
}

static void
loop_disarm(struct listener *l)
{
	if (!l->armed)
		return;
	epoll_ctl(L.epfd, EPOLL_CTL_DEL, l->fd, NULL);
	l->armed = false;
}

/* Arms every listener of svc that may accept now, disarms the others. */
static void
loop_svc_arm(struct svc *svc)
{
	size_t i;

	for (i = 0; i < svc->nls; i++) {
		struct listener *l = svc->ls[i];

		if (l->busy || svc->pause != 0 || L.paused || L.stopping)
			loop_disarm(l);
		else
			loop_arm(l);
	}
}

/* Stops using l: now, or when the wait handler holding it finishes. */
static void
loop_drop_listener(struct listener *l)
{
	loop_disarm(l);
	if (l->busy)
		l->doomed = true;
	else
		listen_close(l);
}

static void
pid_add(struct conn *c)
{
	struct conn **b = &L.pids[(unsigned)c->pid % PID_BUCKETS];

	c->next = *b;
	*b = c;
	L.nchildren++;
}

static struct conn *
pid_take(pid_t pid)
{
	struct conn **pp;
	struct conn *c;

	for (pp = &L.pids[(unsigned)pid % PID_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->next) {
		if ((*pp)->pid == pid) {
			c = *pp;
			*pp = c->next;
			L.nchildren--;
			return c;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------ handlers */

/* Every handler run ends here, on the main thread. */
static void
loop_done(struct conn *c)
{
	struct listener *l = c->wait_l;
	struct svc *svc = c->svc;
	unsigned max = svc->conf->limits.max_conns;
	bool resume = false;

	if (l == NULL && c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	limiter_release_source(&svc->lim, &c->src);
	if (svc->err_rd >= 0)
		loop_errpipe_read(svc);	/* the child's last words */
	if (c->lprev != NULL)
		c->lprev->lnext = c->lnext;
	else
		L.live_head = c->lnext;
	if (c->lnext != NULL)
		c->lnext->lprev = c->lprev;
	L.live--;
	if ((svc->pause & SVC_PAUSE_MAX) && svc->live - 1 < max) {
		svc->pause &= ~SVC_PAUSE_MAX;
		log_info("service %s: accepting again", svc->conf->name);
		resume = true;
	}
	/*
	 * Log (the line names the wait listener) before the listener can be
	 * closed; keep the svc alive across conn_finish() for re-arming.
	 */
	svc->refs++;
	conn_finish(c);
	if (l != NULL) {
		l->busy = false;
		if (l->doomed)
			listen_close(l);
		else if (l->svc != NULL)	/* NULL: released systemd socket */
			loop_svc_arm(l->svc);
	}
	if (resume)
		loop_svc_arm(svc);
	svc_unref(svc);
}

static void
loop_dispatch(struct listener *l, int fd, const pt_addr *peer,
    const struct source_key *src)
{
	struct svc *svc = l->svc;
	const struct service *conf = svc->conf;
	socklen_t len = sizeof(struct sockaddr_storage);
	struct conn *c;
	pid_t pid;

	if ((c = conn_new(svc, fd)) == NULL) {
		log_warnx("service %s: out of memory, dropping connection",
		    conf->name);
		if (!conf->wait)
			close(fd);
		return;
	}
	L.live++;
	c->lnext = L.live_head;
	if (L.live_head != NULL)
		L.live_head->lprev = c;
	L.live_head = c;
	if (src != NULL)
		c->src = *src;
	if (peer != NULL)
		c->peer = *peer;
	if (conf->wait) {
		c->wait_l = l;
		c->local = l->addr;
		l->busy = true;
		loop_disarm(l);
	} else if (l->specific) {
		c->local = l->addr;	/* saves a getsockname() per accept */
	} else if (getsockname(fd, (struct sockaddr *)&c->local.ss,
	    &len) == 0) {
		c->local.len = len;
	}

	if (conf->kind == HANDLER_PLUGIN && conf->isolation == ISOLATION_THREAD) {
		if (worker_submit(c) == 0)
			return;
		log_warn("service %s: cannot start a worker thread",
		    conf->name);
		c->rc = -1;
		loop_done(c);
		return;
	}
	if (conf->kind == HANDLER_EXEC)
		pid = spawn_exec(c, svc->err_wr >= 0 ? svc->err_wr :
		    L.opts->stderr_fd);
	else
		pid = spawn_plugin(c);
	/*
	 * The child has the connection now.  Keep our copy only when an
	 * idle timeout must watch it: holding it would delay the peer's EOF
	 * when the program closes its end early.
	 */
	if (!conf->wait && conf->limits.idle_timeout == 0) {
		close(fd);
		c->fd = -1;
	}
	if (pid == -1) {
		log_warn("service %s: %s %s", conf->name,
		    conf->kind == HANDLER_EXEC ? "exec" : "fork",
		    conf->kind == HANDLER_EXEC ? conf->handler : "handler");
		c->status = 127 << 8;
		c->pid = 0;
		c->rc = -1;
		loop_done(c);
		return;
	}
	c->pid = pid;
	pid_add(c);
}

/*
 * Out of descriptors: the pending connection cannot be accepted, and a
 * level-triggered listener would wake us again at once.  Pause it for
 * EMFILE_PAUSE_MS instead of spinning; log once per episode.
 */
static void
loop_emfile(struct listener *l)
{
	int fd;

	/*
	 * The reserve descriptor lets us take the pending connection off the
	 * queue and close it, so that client learns at once instead of
	 * waiting in the backlog for descriptors that may never come.
	 */
	if (L.spare_fd >= 0) {
		close(L.spare_fd);
		if ((fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			close(fd);
		L.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	loop_fd_limit();	/* it may have changed under us */
	if (!L.emfile_episode)
		log_warnx("service %s: accept %s: out of file descriptors, "
		    "pausing accepts", l->svc->conf->name, l->text);
	L.emfile_episode = 1;
	clock_gettime(CLOCK_MONOTONIC, &L.emfile_last);
	L.paused = 1;
	clock_gettime(CLOCK_MONOTONIC, &L.pause_until);
	L.pause_until.tv_nsec += EMFILE_PAUSE_MS * 1000000L;
	if (L.pause_until.tv_nsec >= 1000000000L) {
		L.pause_until.tv_sec++;
		L.pause_until.tv_nsec -= 1000000000L;
	}
	loop_disarm(l);
}

/* Tells a refused client why (if the service has a message) and logs. */
static void
loop_refuse(struct svc *svc, int fd, const pt_addr *peer, enum refusal why,
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
	if (limiter_refused(&svc->lim, why))
		log_warnx("service %s: refused %s: %s", svc->conf->name,
		    pt_addr_format(peer, text, sizeof(text)), reason);
}

/*
 * Checks the limits that apply before accept: max-connections (without a
 * reject message, clients wait in the backlog) and the rate.  Returns 0
 * to accept, -1 after pausing the service.
 */
static int
loop_may_accept(struct svc *svc)
{
	const struct limits_spec *spec = &svc->conf->limits;
	long wait_ms;

	if (spec->max_conns > 0 && svc->live >= spec->max_conns &&
	    spec->reject_message == NULL) {
		if (!(svc->pause & SVC_PAUSE_MAX))
			log_warnx("service %s: max-connections (%u) reached, "
			    "pausing accepts", svc->conf->name,
			    spec->max_conns);
		svc->pause |= SVC_PAUSE_MAX;
		loop_svc_arm(svc);
		return -1;
	}
	if (limiter_take_token(&svc->lim, &wait_ms) == -1) {
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
	if (svc->rate_episode && limiter_bucket_full(&svc->lim))
		svc->rate_episode = false;
	return 0;
}

/* Access lists and per-source limits, decided right after accept. */
static int
loop_admit(struct svc *svc, int fd, const pt_addr *peer,
    struct source_key *src)
{
	const struct limits_spec *spec = &svc->conf->limits;
	char why[128];

	if (access_check(svc->conf, fd, peer, why, sizeof(why)) == -1) {
		loop_refuse(svc, fd, peer, REFUSE_ACL, why);
		return -1;
	}
	if (spec->max_conns > 0 && svc->live >= spec->max_conns) {
		/* Only reached with a reject message (see loop_may_accept). */
		snprintf(why, sizeof(why), "max-connections (%u) reached",
		    spec->max_conns);
		loop_refuse(svc, fd, peer, REFUSE_MAX, why);
		return -1;
	}
	if (limiter_admit_source(&svc->lim, peer, src) == -1) {
		snprintf(why, sizeof(why), "per-source limit (%u) reached",
		    spec->max_per_source);
		loop_refuse(svc, fd, peer, REFUSE_PER_SOURCE, why);
		return -1;
	}
	return 0;
}

static void
loop_accept(struct listener *l)
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
		if (loop_may_accept(svc) == -1)
			return;
		len = sizeof(ss);
		/*
		 * accept4 directly rather than pt_sock_accept_fd: EAGAIN ends
		 * every batch and must not cost an error message.
		 */
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_CLOEXEC);
		if (fd == -1) {
			limiter_untake_token(&svc->lim);
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				loop_emfile(l);
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
		if (L.fd_soft > 0 && (fd >= L.fd_soft - FD_HEADROOM ||
		    (fd >= L.fd_soft / 2 && !loop_fd_spare(fd)))) {
			close(fd);
			loop_emfile(l);
			return;
		}
		memcpy(&peer.ss, &ss, sizeof(ss));
		peer.len = len;
		if (loop_admit(svc, fd, &peer, &src) == -1)
			continue;
		loop_dispatch(l, fd, &peer, &src);
	}
}

static void
loop_reap(void)
{
	struct conn *c;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((c = pid_take(pid)) == NULL)
			continue;
		c->status = status;
		loop_done(c);
	}
}

static void
loop_collect(void)
{
	struct conn *c, *next;

	for (c = worker_collect(); c != NULL; c = next) {
		next = c->next;
		loop_done(c);
	}
}

/* ------------------------------------------------------------ tables */

static void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		svc_unref(t->svcs[i]);
	free(t->svcs);
	t->svcs = NULL;
	t->n = 0;
}

/*
 * An open listener of the running table that can serve spec, or NULL.
 * The service of the same name is asked first.  Another service's socket
 * is only taken over for a concrete address (a fixed port or a path): two
 * "127.0.0.1:0" entries are equal as text but stand for different ports.
 */
static struct listener *
loop_find_listener(const struct service *conf, const struct listen_spec *spec)
{
	bool concrete = pt_addr_family(&spec->addr) == AF_UNIX ||
	    pt_addr_port(&spec->addr) != 0;
	size_t i, j;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < L.tab.n; i++) {
			struct svc *old = L.tab.svcs[i];
			bool same = strcmp(old->conf->name, conf->name) == 0;

			if (pass == 0 ? !same : (same || !concrete))
				continue;
			for (j = 0; j < old->nls; j++) {
				struct listener *l = old->ls[j];

				if (!l->matched && !l->doomed &&
				    listen_matches(l, old->conf, conf, spec))
					return l;
			}
		}
	}
	return NULL;
}

/*
 * Claims for svc the sockets systemd passed: the one named by each
 * "fd:NAME" entry, and every socket named like the service itself (used
 * instead of binding its other entries).  Returns 0, or -1 with errbuf.
 */
static int
loop_claim_passed(struct svc *svc, bool *ret_by_name, char *errbuf,
    size_t errlen)
{
	const struct service *conf = svc->conf;
	size_t i, j;

	*ret_by_name = false;
	for (i = 0; i < L.npassed; i++) {
		struct listener *l = L.passed[i];
		bool want = strcmp(l->name, conf->name) == 0;

		for (j = 0; j < conf->nlistens && !want; j++)
			want = conf->listens[j].fd_name != NULL &&
			    strcmp(conf->listens[j].fd_name, l->name) == 0;
		if (!want || l->matched)
			continue;
		if (l->socktype != conf->socktype) {
			snprintf(errbuf, errlen, "%s:%d: service %s: socket "
			    "'%s' (%s) from systemd is %s, the service is %s",
			    conf->file, conf->line, conf->name, l->name,
			    l->text, socktype_name(l->socktype),
			    socktype_name(conf->socktype));
			return -1;
		}
		if (pt_sock_setblocking(l->sock, conf->wait, NULL) == -1) {
			snprintf(errbuf, errlen, "%s:%d: service %s: socket "
			    "'%s': %s", conf->file, conf->line, conf->name,
			    l->name, strerror(errno));
			return -1;
		}
		if (strcmp(l->name, conf->name) == 0)
			*ret_by_name = true;
		l->matched = true;
		svc->ls[svc->nls++] = l;
	}
	for (j = 0; j < conf->nlistens; j++) {
		const char *want = conf->listens[j].fd_name;

		for (i = 0; want != NULL && i < svc->nls; i++)
			if (strcmp(svc->ls[i]->name, want) == 0)
				want = NULL;
		if (want != NULL) {
			snprintf(errbuf, errlen, "%s:%d: service %s: no socket "
			    "named '%s' was passed by systemd", conf->file,
			    conf->line, conf->name, want);
			return -1;
		}
	}
	return 0;
}

/*
 * Builds the new table for cfg: every svc, and for each listen entry
 * either a listener handed over from the running table (marked, not yet
 * moved) or a freshly opened one.  Returns 0, or -1 with errbuf set and
 * nothing changed.
 */
static int
loop_build(struct config_ref *cref, struct table *nt, char *errbuf,
    size_t errlen)
{
	struct config *cfg = cref->cfg;
	bool by_name;
	size_t i, j;

	if ((nt->svcs = calloc(cfg->nservices + 1, sizeof(*nt->svcs))) == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < cfg->nservices; i++) {
		const struct service *conf = cfg->services[i];
		struct svc *svc;

		svc = svc_new(conf, cref, loop_plugin_dir(cfg), errbuf, errlen);
		if (svc == NULL)
			goto fail;
		nt->svcs[nt->n++] = svc;
		if ((svc->ls = calloc(conf->nlistens + L.npassed + 1,
		    sizeof(*svc->ls))) == NULL) {
			snprintf(errbuf, errlen, "out of memory");
			goto fail;
		}
		if (loop_claim_passed(svc, &by_name, errbuf, errlen) == -1)
			goto fail;
		for (j = 0; j < conf->nlistens && !by_name; j++) {
			const struct listen_spec *spec = &conf->listens[j];
			struct listener *l;

			if (spec->fd_name != NULL)
				continue;
			if ((l = loop_find_listener(conf, spec)) != NULL)
				l->matched = true;
			else if ((l = listen_open(svc, spec, errbuf,
			    errlen)) == NULL)
				goto fail;
			svc->ls[svc->nls++] = l;
		}
	}
	return 0;
fail:
	/* Undo: close what we opened, unmark what we borrowed. */
	for (i = 0; i < nt->n; i++) {
		struct svc *svc = nt->svcs[i];

		for (j = 0; j < svc->nls; j++) {
			if (svc->ls[j]->svc == svc && !svc->ls[j]->adopted)
				listen_close(svc->ls[j]);
			else
				svc->ls[j]->matched = false;
		}
		svc->nls = 0;
	}
	table_free(nt);
	return -1;
}

/* The listen entry of conf that l (handed over) now serves. */
static const struct listen_spec *
loop_spec_of(const struct service *conf, const struct listener *l)
{
	size_t i;

	for (i = 0; i < conf->nlistens; i++)
		if (pt_addr_equal(&conf->listens[i].addr, &l->spec->addr))
			return &conf->listens[i];
	return NULL;
}

/*
 * When porterd logs to syslog, an exec service's stderr = log goes
 * through a pipe per service, read by the loop and logged line by line
 * with the service's name.  The epoll tag is the svc pointer with its low
 * bit set (svcs are aligned, listeners are never odd).
 */
static void
loop_errpipe_open(struct svc *svc)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int p[2];

	if (svc->conf->kind != HANDLER_EXEC ||
	    svc->conf->stderr_mode != STDERR_LOG || L.opts->stderr_fd >= 0 ||
	    svc->err_rd >= 0)
		return;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("service %s: stderr pipe", svc->conf->name);
		return;
	}
	svc->err_rd = p[0];
	svc->err_wr = p[1];
	ev.data.u64 = (uint64_t)(uintptr_t)svc | 1;
	if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, svc->err_rd, &ev) == -1)
		log_warn("service %s: epoll stderr pipe", svc->conf->name);
}

static void
loop_errpipe_read(struct svc *svc)
{
	char *nl, *start;
	ssize_t n;

	n = read(svc->err_rd, svc->errbuf + svc->errlen,
	    sizeof(svc->errbuf) - 1 - svc->errlen);
	if (n <= 0)
		return;
	svc->errlen += (size_t)n;
	svc->errbuf[svc->errlen] = '\0';
	start = svc->errbuf;
	while ((nl = strchr(start, '\n')) != NULL) {
		*nl = '\0';
		log_msg(LOG_NOTICE, "service %s: stderr: %s", svc->conf->name,
		    start);
		start = nl + 1;
	}
	svc->errlen -= (size_t)(start - svc->errbuf);
	memmove(svc->errbuf, start, svc->errlen);
	/* A line longer than the buffer is logged in pieces. */
	if (svc->errlen == sizeof(svc->errbuf) - 1) {
		log_msg(LOG_NOTICE, "service %s: stderr: %s", svc->conf->name,
		    svc->errbuf);
		svc->errlen = 0;
	}
}

/* Swaps nt in: moves handed-over listeners, closes the rest, logs. */
static void
loop_commit(struct table *nt)
{
	size_t i, j;

	for (i = 0; i < nt->n; i++) {
		struct svc *svc = nt->svcs[i];

		loop_errpipe_open(svc);
		for (j = 0; j < svc->nls; j++) {
			struct listener *l = svc->ls[j];

			if (l->adopted) {
				if (l->svc == NULL)
					log_info("service %s: using %s (%s) "
					    "from systemd, socket '%s'",
					    svc->conf->name, l->text,
					    socktype_name(l->socktype),
					    l->name);
				else
					log_info("service %s: keeping %s",
					    svc->conf->name, l->text);
				l->svc = svc;
				l->matched = false;
			} else if (l->svc != svc) {
				log_info("service %s: keeping %s",
				    svc->conf->name, l->text);
				l->svc = svc;
				l->spec = loop_spec_of(svc->conf, l);
				l->matched = false;
			} else {
				log_info("service %s: listening on %s (%s)",
				    svc->conf->name, l->text,
				    socktype_name(l->socktype));
			}
			if (!l->busy)
				loop_arm(l);
		}
	}
	for (i = 0; i < L.tab.n; i++) {
		struct svc *old = L.tab.svcs[i];

		for (j = 0; j < old->nls; j++) {
			struct listener *l = old->ls[j];

			if (l->svc != old)
				continue;	/* handed over */
			if (l->adopted) {
				/* systemd's socket: keep it for a later reload. */
				log_info("service %s: releasing %s (socket '%s' "
				    "from systemd stays open, unused)",
				    old->conf->name, l->text, l->name);
				loop_disarm(l);
				l->svc = NULL;
				continue;
			}
			log_info("service %s: closing %s", old->conf->name,
			    l->text);
			loop_drop_listener(l);
		}
		old->nls = 0;
	}
	table_free(&L.tab);
	L.tab = *nt;
}

/* Loads cfg as the running config.  Takes ownership of cfg either way. */
static int
loop_apply(struct config *cfg, char *errbuf, size_t errlen)
{
	struct config_ref *cref;
	struct table nt = { NULL, 0 };

	if ((cref = config_ref_new(cfg)) == NULL) {
		config_free(cfg);
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	if (loop_build(cref, &nt, errbuf, errlen) == -1) {
		config_ref_put(cref);
		return -1;
	}
	loop_commit(&nt);
	config_ref_put(L.cref);
	L.cref = cref;
	if (!L.opts->debug)
		log_setlevel(cfg->log_level);
	return 0;
}

static void
loop_status(char *buf, size_t len)
{
	snprintf(buf, len, "%zu services, %u connections", L.tab.n, L.live);
}

static void
loop_reload(void)
{
	char errbuf[1024], status[128];
	struct config *cfg;
	size_t i;

	notify_reloading();
	log_info("reloading %s", L.opts->config_path);
	cfg = config_load(L.opts->config_path, errbuf, sizeof(errbuf));
	if (cfg == NULL || loop_apply(cfg, errbuf, sizeof(errbuf)) == -1) {
		log_warnx("reload failed: %s; keeping the running config",
		    errbuf);
		loop_status(status, sizeof(status));
		notify_ready(status);
		return;
	}
	for (i = 0; cfg->skipped != NULL && cfg->skipped[i] != NULL; i++)
		log_info("%s: not included (does not match an include "
		    "pattern)", cfg->skipped[i]);
	log_info("reloaded: %zu services", L.tab.n);
	loop_status(status, sizeof(status));
	notify_ready(status);
}

/* Closes passed sockets: every one, or only those no service claimed. */
static void
loop_drop_passed(bool unclaimed_only)
{
	size_t i, n = 0;

	for (i = 0; i < L.npassed; i++) {
		struct listener *l = L.passed[i];

		if (unclaimed_only && l->svc != NULL) {
			L.passed[n++] = l;
			continue;
		}
		if (unclaimed_only)
			log_warnx("socket '%s' (%s) passed by systemd: no "
			    "service claims it, closing", l->name, l->text);
		loop_drop_listener(l);
	}
	L.npassed = n;
}

static void
loop_stop(void)
{
	size_t i, j;

	if (L.stopping)
		return;
	L.stopping = 1;
	notify_stopping();
	log_info("shutting down");
	for (i = 0; i < L.tab.n; i++) {
		struct svc *svc = L.tab.svcs[i];

		for (j = 0; j < svc->nls; j++)
			if (!svc->ls[j]->adopted)
				loop_drop_listener(svc->ls[j]);
		svc->nls = 0;
	}
	loop_drop_passed(false);
	clock_gettime(CLOCK_MONOTONIC, &L.stop_deadline);
	L.stop_deadline.tv_sec += L.cref->cfg->shutdown_timeout;
}

/* ------------------------------------------------------------ setup */

static int
loop_setup(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t set;
	uint64_t wd;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Block before any thread starts, so only the signalfd sees them. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (L.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) == -1 ||
	    (L.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    worker_init() == -1) {
		log_warn("event loop setup");
		return -1;
	}
	ev.data.ptr = &tag_signal;
	epoll_ctl(L.epfd, EPOLL_CTL_ADD, L.sigfd, &ev);
	ev.data.ptr = &tag_worker;
	epoll_ctl(L.epfd, EPOLL_CTL_ADD, worker_fd(), &ev);
	L.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	loop_fd_limit();
	spawn_init();
	/* Once a second: timeouts, refusal summaries, status. */
	{
		struct itimerspec its = { { 1, 0 }, { 1, 0 } };

		if ((L.tickfd = timerfd_create(CLOCK_MONOTONIC,
		    TFD_CLOEXEC | TFD_NONBLOCK)) == -1 ||
		    timerfd_settime(L.tickfd, 0, &its, NULL) == -1) {
			log_warn("timerfd");
			return -1;
		}
		ev.data.ptr = &tag_tick;
		epoll_ctl(L.epfd, EPOLL_CTL_ADD, L.tickfd, &ev);
	}
	L.wdfd = -1;
	if ((wd = notify_watchdog_usec()) > 0) {
		struct itimerspec its;

		/* Ping at half the interval, as sd_watchdog_enabled(3) asks. */
		wd /= 2;
		its.it_interval.tv_sec = (time_t)(wd / 1000000);
		its.it_interval.tv_nsec = (long)(wd % 1000000) * 1000;
		its.it_value = its.it_interval;
		if ((L.wdfd = timerfd_create(CLOCK_MONOTONIC,
		    TFD_CLOEXEC | TFD_NONBLOCK)) != -1 &&
		    timerfd_settime(L.wdfd, 0, &its, NULL) == 0) {
			ev.data.ptr = &tag_watchdog;
			epoll_ctl(L.epfd, EPOLL_CTL_ADD, L.wdfd, &ev);
		}
	}
	return 0;
}

/*
 * A signalfd reports the signals of the process that created it, and epoll
 * keeps watching that process's queue: after on_bound() may have forked
 * (detaching), make a new one in this process.
 */
static int
loop_renew_signalfd(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &tag_signal };
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if ((fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) == -1) {
		log_warn("signalfd");
		return -1;
	}
	epoll_ctl(L.epfd, EPOLL_CTL_DEL, L.sigfd, NULL);
	close(L.sigfd);
	L.sigfd = fd;
	if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, L.sigfd, &ev) == -1) {
		log_warn("epoll signalfd");
		return -1;
	}
	return 0;
}

static void
loop_signal(void)
{
	struct signalfd_siginfo si;

	while (read(L.sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			loop_reap();
			break;
		case SIGHUP:
			if (!L.stopping)
				loop_reload();
			break;
		case SIGTERM:
		case SIGINT:
			loop_stop();
			break;
		}
	}
}

static long
ms_until(const struct timespec *t)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (t->tv_sec - now.tv_sec) * 1000 +
	    (t->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms;
}

/* Milliseconds epoll may wait: until the next deadline, or forever. */
static int
loop_timeout(void)
{
	long ms = -1, t;
	size_t i;

	if (L.paused)
		ms = ms_until(&L.pause_until);
	for (i = 0; i < L.tab.n; i++) {
		if (!(L.tab.svcs[i]->pause & SVC_PAUSE_RATE))
			continue;
		t = ms_until(&L.tab.svcs[i]->rate_until);
		if (ms < 0 || t < ms)
			ms = t;
	}
	if (L.stopping) {
		t = ms_until(&L.stop_deadline);
		if (ms < 0 || t < ms)
			ms = t;
	}
	return (int)ms;
}

/* Re-arms listeners whose EMFILE or rate pause is over. */
static void
loop_resume_paused(void)
{
	size_t i;
	bool all = false;

	if (L.paused && ms_until(&L.pause_until) == 0) {
		L.paused = 0;
		all = true;
	}
	for (i = 0; i < L.tab.n; i++) {
		struct svc *svc = L.tab.svcs[i];

		if ((svc->pause & SVC_PAUSE_RATE) &&
		    ms_until(&svc->rate_until) == 0) {
			svc->pause &= ~SVC_PAUSE_RATE;
			loop_svc_arm(svc);
		} else if (all) {
			loop_svc_arm(svc);
		}
	}
}

/* True if one more descriptor can be had now (the handler's duplicate). */
static bool
loop_fd_spare(int fd)
{
	int probe = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (probe == -1)
		return false;
	close(probe);
	return true;
}

/* The descriptor limit; re-read every tick, as prlimit(1) may change it. */
static void
loop_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		L.fd_soft = rl.rlim_cur == RLIM_INFINITY ? 0 : (long)rl.rlim_cur;
}

/* The once-a-second chores. */
static void
loop_tick(void)
{
	char status[128];
	uint64_t ticks;
	size_t i;

	if (read(L.tickfd, &ticks, sizeof(ticks)) <= 0)
		return;
	loop_fd_limit();
	/*
	 * An EMFILE episode ends after a quiet spell, not at the first
	 * accept that succeeds: under a flood those alternate, and the log
	 * would get a line for each.
	 */
	if (L.emfile_episode && conn_elapsed(&L.emfile_last) >=
	    EMFILE_QUIET_SECS) {
		L.emfile_episode = 0;
		log_info("descriptors available again, accepting");
	}
	timeouts_check(L.live_head);
	for (i = 0; i < L.tab.n; i++)
		limiter_summary(&L.tab.svcs[i]->lim, L.tab.svcs[i]->conf->name);
	/*
	 * Only when it changed: sd_notify() blocks when the manager stops
	 * reading, and the loop must never wait on it once a second.
	 */
	loop_status(status, sizeof(status));
	if (strcmp(status, L.last_status) != 0) {
		snprintf(L.last_status, sizeof(L.last_status), "%s", status);
		notify_status(status);
	}
}

static void
loop_wait_children(void)
{
	struct conn *c;
	unsigned i;

	/* Past the deadline: our own children get SIGTERM, by pid. */
	for (i = 0; i < PID_BUCKETS; i++)
		for (c = L.pids[i]; c != NULL; c = c->next)
			kill(c->pid, SIGTERM);
}

int
loop_check(struct config *cfg, const char *plugin_dir, char *errbuf,
    size_t errlen)
{
	struct plugin_registry reg = { NULL };
	struct config_ref *cref;
	struct svc **svcs;
	size_t i, n = 0;
	int r = -1;

	svc_set_registry(&reg);
	if ((cref = config_ref_new(cfg)) == NULL ||
	    (svcs = calloc(cfg->nservices + 1, sizeof(*svcs))) == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		free(cref);
		return -1;
	}
	for (i = 0; i < cfg->nservices; i++) {
		svcs[n] = svc_new(cfg->services[i], cref,
		    plugin_dir != NULL ? plugin_dir : cfg->plugin_dir, errbuf,
		    errlen);
		if (svcs[n] == NULL)
			goto out;
		n++;
	}
	r = 0;
out:
	for (i = 0; i < n; i++)
		svc_unref(svcs[i]);
	free(svcs);
	/* The caller still owns cfg: drop our holder without freeing it. */
	free(cref);
	return r;
}

/*
 * run-as: every listener is open, so give up root for good.  Handlers
 * then run as this user too (the config insists on it).
 */
static int
loop_run_as(const struct config *cfg)
{
	if (cfg->run_as == NULL)
		return 0;
	if (setgroups(1, &cfg->run_gid) == -1 || setgid(cfg->run_gid) == -1 ||
	    setuid(cfg->run_uid) == -1) {
		log_warn("run-as %s", cfg->run_as);
		return -1;
	}
	log_info("running as %s (uid %u, gid %u)", cfg->run_as,
	    (unsigned)cfg->run_uid, (unsigned)cfg->run_gid);
	return 0;
}

int
loop_run(struct config *cfg, const struct loop_options *opts)
{
	struct epoll_event evs[64];
	char errbuf[1024], status[128];
	bool got_signal, got_worker;
	int i, n;

	memset(&L, 0, sizeof(L));
	L.opts = opts;
	svc_set_registry(&L.plugins);
	if (loop_setup() == -1) {
		config_free(cfg);
		return 1;
	}
	n = listen_adopt(&L.passed, errbuf, sizeof(errbuf));
	if (n == -1) {
		log_warnx("%s", errbuf);
		config_free(cfg);
		return 1;
	}
	L.npassed = (size_t)n;
	if (loop_apply(cfg, errbuf, sizeof(errbuf)) == -1) {
		log_warnx("%s", errbuf);
		loop_drop_passed(false);
		free(L.passed);
		return 1;
	}
	loop_drop_passed(true);
	if (opts->on_bound != NULL) {
		if (opts->on_bound(opts->on_bound_arg) == -1 ||
		    loop_renew_signalfd() == -1)
			return 1;
	}
	if (loop_run_as(L.cref->cfg) == -1)
		return 1;
	for (i = 0; L.cref->cfg->skipped != NULL &&
	    L.cref->cfg->skipped[i] != NULL; i++)
		log_info("%s: not included (does not match an include "
		    "pattern)", L.cref->cfg->skipped[i]);
	log_info("ready: %zu services", L.tab.n);
	loop_status(status, sizeof(status));
	notify_ready(status);

	while (!L.stopping || L.live > 0) {
		n = epoll_wait(L.epfd, evs, 64, loop_timeout());
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			break;
		}
		loop_resume_paused();
		got_signal = got_worker = false;
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &tag_signal) {
				got_signal = true;
			} else if (p == &tag_tick) {
				loop_tick();
			} else if (p == &tag_worker) {
				got_worker = true;
			} else if (p == &tag_watchdog) {
				uint64_t ticks;

				if (read(L.wdfd, &ticks, sizeof(ticks)) > 0)
					notify_watchdog();
			} else if (evs[i].data.u64 & 1) {
				loop_errpipe_read((struct svc *)(uintptr_t)
				    (evs[i].data.u64 & ~(uint64_t)1));
			} else if (!L.stopping) {
				loop_accept(p);
			}
		}
		/*
		 * What can free listeners or services comes after the batch:
		 * finished handlers (the last one frees a retired service)
		 * and signals (a reload closes listeners).
		 */
		if (got_worker)
			loop_collect();
		if (got_signal)
			loop_signal();
		if (L.stopping && L.live > 0 &&
		    ms_until(&L.stop_deadline) == 0) {
			log_warnx("shutdown timeout: %u connections still "
			    "running", L.live);
			loop_wait_children();
			break;
		}
	}
	log_info("exiting");
	if (L.live == 0)
		table_free(&L.tab);
	config_ref_put(L.cref);
	free(L.passed);
	return 0;
}
