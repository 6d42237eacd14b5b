/*
 * loop.c -- porterd's event loop: dispatch, reap, signals, ticks, stop.
 *
 * One thread owns all state (loop_priv.h).  It waits in epoll on the
 * listening sockets, a signalfd (SIGCHLD, SIGHUP, SIGTERM, SIGINT), the
 * worker pool's eventfd, a 1 s tick (timeouts, refusal summaries, status)
 * and the watchdog timerfd.  A readable listener goes to accept.c, which
 * admits connections and hands each to loop_dispatch(): a worker thread,
 * an isolated child or an exec'd program.  Finished handlers come back
 * here (worker queue or SIGCHLD) and are logged and released by
 * conn_finish().  SIGHUP rebuilds the service table (table.c); SIGTERM
 * stops accepting and lets live connections finish.
 *
 * What can free a listener or a service -- collecting finished handlers,
 * signals -- runs after each epoll batch, never in the middle of one.
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
#include "privs.h"
#include "loop_priv.h"
#include "notify.h"
#include "spawn.h"
#include "limiter.h"
#include "svc.h"
#include "timeouts.h"
#include "worker.h"

/* Markers for the non-listener descriptors in epoll. */
static char tag_signal, tag_worker, tag_watchdog, tag_tick;

struct loop_state loop;

/* ------------------------------------------------------------ helpers */

const char *
loop_plugin_dir(const struct config *cfg)
{
	return loop.opts != NULL && loop.opts->plugin_dir != NULL ?
	    loop.opts->plugin_dir : cfg->plugin_dir;
}

const char *
loop_socktype_name(int type)
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

void
loop_arm(struct listener *l)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };

	if (l->armed)
		return;
	if (epoll_ctl(loop.epfd, EPOLL_CTL_ADD, l->fd, &ev) == -1)
		log_warn("service %s: epoll %s", l->svc->conf->name, l->text);
	else
		l->armed = true;
}

void
loop_disarm(struct listener *l)
{
	if (!l->armed)
		return;
	epoll_ctl(loop.epfd, EPOLL_CTL_DEL, l->fd, NULL);
	l->armed = false;
}

/* Arms every listener of svc that may accept now, disarms the others. */
void
loop_svc_arm(struct svc *svc)
{
	size_t i;

	for (i = 0; i < svc->nls; i++) {
		struct listener *l = svc->ls[i];

		if (l->busy || svc->pause != 0 || loop.paused || loop.stopping)
			loop_disarm(l);
		else
			loop_arm(l);
	}
}

/* Stops using l: now, or when the wait handler holding it finishes. */
void
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
	struct conn **b = &loop.pids[(unsigned)c->pid % PID_BUCKETS];

	c->next = *b;
	*b = c;
	loop.nchildren++;
}

static struct conn *
pid_take(pid_t pid)
{
	struct conn **pp;
	struct conn *c;

	for (pp = &loop.pids[(unsigned)pid % PID_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->next) {
		if ((*pp)->pid == pid) {
			c = *pp;
			*pp = c->next;
			loop.nchildren--;
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
	struct limiter *lim = svc->lim;
	unsigned max = lim->spec.max_conns;
	size_t i;

	if (l == NULL && c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	limiter_release_source(lim, &c->src);
	lim->live--;
	if (svc->err_rd >= 0)
		loop_errpipe_read(svc);	/* the child's last words */
	if (c->lprev != NULL)
		c->lprev->lnext = c->lnext;
	else
		loop.live_head = c->lnext;
	if (c->lnext != NULL)
		c->lnext->lprev = c->lprev;
	loop.live--;
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
	/*
	 * The limiter may be shared with the svc that replaced this one on a
	 * reload: resume whichever running svc uses it.
	 */
	if (lim->max_paused && lim->live < max) {
		lim->max_paused = false;
		log_info("service %s: accepting again", svc->conf->name);
		for (i = 0; i < loop.tab.n; i++) {
			if (loop.tab.svcs[i]->lim != lim)
				continue;
			loop.tab.svcs[i]->pause &= ~SVC_PAUSE_MAX;
			loop_svc_arm(loop.tab.svcs[i]);
		}
	}
	svc_unref(svc);
}

void
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
		if (src != NULL)
			limiter_release_source(svc->lim, src);
		if (!conf->wait)
			close(fd);
		return;
	}
	loop.live++;
	svc->lim->live++;
	c->lnext = loop.live_head;
	if (loop.live_head != NULL)
		loop.live_head->lprev = c;
	loop.live_head = c;
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
		    loop.opts->stderr_fd);
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
		c->pid = -1;
		loop_done(c);
		return;
	}
	c->pid = pid;
	pid_add(c);
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

/*
 * When porterd logs to syslog, an exec service's stderr = log goes
 * through a pipe per service, read by the loop and logged line by line
 * with the service's name.  The epoll tag is the svc pointer with its low
 * bit set (svcs are aligned, listeners are never odd).
 */
void
loop_errpipe_open(struct svc *svc)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int p[2];

	if (svc->conf->kind != HANDLER_EXEC ||
	    svc->conf->stderr_mode != STDERR_LOG || loop.opts->stderr_fd >= 0 ||
	    svc->err_rd >= 0)
		return;
	/* The children's end stays blocking: a program's stderr must not
	 * fail with EAGAIN when we fall behind. */
	if (pipe2(p, O_CLOEXEC) == -1 ||
	    fcntl(p[0], F_SETFL, O_NONBLOCK) == -1) {
		log_warn("service %s: stderr pipe", svc->conf->name);
		return;
	}
	svc->err_rd = p[0];
	svc->err_wr = p[1];
	ev.data.u64 = (uint64_t)(uintptr_t)svc | 1;
	if (epoll_ctl(loop.epfd, EPOLL_CTL_ADD, svc->err_rd, &ev) == -1)
		log_warn("service %s: epoll stderr pipe", svc->conf->name);
}

static void
loop_unwatch(int fd)
{
	epoll_ctl(loop.epfd, EPOLL_CTL_DEL, fd, NULL);
}

void
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

static void
loop_status(char *buf, size_t len)
{
	snprintf(buf, len, "%zu services, %u connections", loop.tab.n, loop.live);
}

static void
loop_reload(void)
{
	char errbuf[1024], status[128];
	struct config *cfg;
	size_t i;

	notify_reloading();
	log_info("reloading %s", loop.opts->config_path);
	cfg = config_load(loop.opts->config_path, errbuf, sizeof(errbuf));
	if (cfg == NULL || table_apply(cfg, errbuf, sizeof(errbuf)) == -1) {
		log_warnx("reload failed: %s; keeping the running config",
		    errbuf);
		loop_status(status, sizeof(status));
		notify_ready(status);
		return;
	}
	for (i = 0; cfg->skipped != NULL && cfg->skipped[i] != NULL; i++)
		log_info("%s: not included (does not match an include "
		    "pattern)", cfg->skipped[i]);
	log_info("reloaded: %zu services", loop.tab.n);
	loop_status(status, sizeof(status));
	notify_ready(status);
}

static void
loop_stop(void)
{
	size_t i, j;

	if (loop.stopping)
		return;
	loop.stopping = 1;
	notify_stopping();
	log_info("shutting down");
	for (i = 0; i < loop.tab.n; i++) {
		struct svc *svc = loop.tab.svcs[i];

		for (j = 0; j < svc->nls; j++)
			if (!svc->ls[j]->adopted)
				loop_drop_listener(svc->ls[j]);
		svc->nls = 0;
	}
	table_drop_passed(false);
	clock_gettime(CLOCK_MONOTONIC, &loop.stop_deadline);
	loop.stop_deadline.tv_sec += loop.cref->cfg->shutdown_timeout;
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
	    (loop.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) == -1 ||
	    (loop.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    worker_init() == -1) {
		log_warn("event loop setup");
		return -1;
	}
	ev.data.ptr = &tag_signal;
	epoll_ctl(loop.epfd, EPOLL_CTL_ADD, loop.sigfd, &ev);
	ev.data.ptr = &tag_worker;
	epoll_ctl(loop.epfd, EPOLL_CTL_ADD, worker_fd(), &ev);
	loop.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	accept_fd_limit();
	spawn_init();
	/* Once a second: timeouts, refusal summaries, status. */
	{
		struct itimerspec its = { { 1, 0 }, { 1, 0 } };

		if ((loop.tickfd = timerfd_create(CLOCK_MONOTONIC,
		    TFD_CLOEXEC | TFD_NONBLOCK)) == -1 ||
		    timerfd_settime(loop.tickfd, 0, &its, NULL) == -1) {
			log_warn("timerfd");
			return -1;
		}
		ev.data.ptr = &tag_tick;
		epoll_ctl(loop.epfd, EPOLL_CTL_ADD, loop.tickfd, &ev);
	}
	loop.wdfd = -1;
	if ((wd = notify_watchdog_usec()) > 0) {
		struct itimerspec its;

		/* Ping at half the interval, as sd_watchdog_enabled(3) asks. */
		wd /= 2;
		its.it_interval.tv_sec = (time_t)(wd / 1000000);
		its.it_interval.tv_nsec = (long)(wd % 1000000) * 1000;
		its.it_value = its.it_interval;
		if ((loop.wdfd = timerfd_create(CLOCK_MONOTONIC,
		    TFD_CLOEXEC | TFD_NONBLOCK)) != -1 &&
		    timerfd_settime(loop.wdfd, 0, &its, NULL) == 0) {
			ev.data.ptr = &tag_watchdog;
			epoll_ctl(loop.epfd, EPOLL_CTL_ADD, loop.wdfd, &ev);
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
	epoll_ctl(loop.epfd, EPOLL_CTL_DEL, loop.sigfd, NULL);
	close(loop.sigfd);
	loop.sigfd = fd;
	if (epoll_ctl(loop.epfd, EPOLL_CTL_ADD, loop.sigfd, &ev) == -1) {
		log_warn("epoll signalfd");
		return -1;
	}
	return 0;
}

static void
loop_signal(void)
{
	struct signalfd_siginfo si;

	while (read(loop.sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			loop_reap();
			break;
		case SIGHUP:
			if (!loop.stopping)
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

	if (loop.paused)
		ms = ms_until(&loop.pause_until);
	for (i = 0; i < loop.tab.n; i++) {
		if (!(loop.tab.svcs[i]->pause & SVC_PAUSE_RATE))
			continue;
		t = ms_until(&loop.tab.svcs[i]->rate_until);
		if (ms < 0 || t < ms)
			ms = t;
	}
	if (loop.stopping) {
		t = ms_until(&loop.stop_deadline);
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

	if (loop.paused && ms_until(&loop.pause_until) == 0) {
		loop.paused = 0;
		all = true;
	}
	for (i = 0; i < loop.tab.n; i++) {
		struct svc *svc = loop.tab.svcs[i];

		if ((svc->pause & SVC_PAUSE_RATE) &&
		    ms_until(&svc->rate_until) == 0) {
			svc->pause &= ~SVC_PAUSE_RATE;
			loop_svc_arm(svc);
		} else if (all) {
			loop_svc_arm(svc);
		}
	}
}

/* The once-a-second chores. */
static void
loop_tick(void)
{
	char status[128];
	uint64_t ticks;
	size_t i;

	if (read(loop.tickfd, &ticks, sizeof(ticks)) <= 0)
		return;
	accept_fd_limit();
	/* A worker may have taken the reserve's slot while it was shed. */
	if (loop.spare_fd < 0)
		loop.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/*
	 * An EMFILE episode ends after a quiet spell, not at the first
	 * accept that succeeds: under a flood those alternate, and the log
	 * would get a line for each.
	 */
	if (loop.emfile_episode && conn_elapsed(&loop.emfile_last) >=
	    EMFILE_QUIET_SECS) {
		loop.emfile_episode = 0;
		log_info("descriptors available again, accepting");
	}
	timeouts_check(loop.live_head);
	for (i = 0; i < loop.tab.n; i++)
		limiter_summary(loop.tab.svcs[i]->lim,
		    loop.tab.svcs[i]->conf->name);
	/*
	 * Only when it changed: sd_notify() blocks when the manager stops
	 * reading, and the loop must never wait on it once a second.
	 */
	loop_status(status, sizeof(status));
	if (strcmp(status, loop.last_status) != 0) {
		snprintf(loop.last_status, sizeof(loop.last_status), "%s", status);
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
		for (c = loop.pids[i]; c != NULL; c = c->next)
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

/* run-as: every listener is open, so give up root (privs.c). */
static int
loop_run_as(const struct config *cfg)
{
	return privs_drop(cfg);
}

int
loop_run(struct config *cfg, const struct loop_options *opts)
{
	struct epoll_event evs[64];
	char errbuf[1024], status[128];
	bool got_signal, got_worker;
	int i, n;

	memset(&loop, 0, sizeof(loop));
	loop.opts = opts;
	svc_set_registry(&loop.plugins);
	svc_set_unwatch(loop_unwatch);
	if (loop_setup() == -1) {
		config_free(cfg);
		return 1;
	}
	n = listen_adopt(&loop.passed, errbuf, sizeof(errbuf));
	if (n == -1) {
		log_warnx("%s", errbuf);
		config_free(cfg);
		return 1;
	}
	loop.npassed = (size_t)n;
	if (table_apply(cfg, errbuf, sizeof(errbuf)) == -1) {
		log_warnx("%s", errbuf);
		table_drop_passed(false);
		free(loop.passed);
		return 1;
	}
	table_drop_passed(true);
	if (opts->on_bound != NULL) {
		if (opts->on_bound(opts->on_bound_arg) == -1 ||
		    loop_renew_signalfd() == -1)
			return 1;
	}
	if (loop_run_as(loop.cref->cfg) == -1)
		return 1;
	for (i = 0; loop.cref->cfg->skipped != NULL &&
	    loop.cref->cfg->skipped[i] != NULL; i++)
		log_info("%s: not included (does not match an include "
		    "pattern)", loop.cref->cfg->skipped[i]);
	log_info("ready: %zu services", loop.tab.n);
	loop_status(status, sizeof(status));
	notify_ready(status);

	while (!loop.stopping || loop.live > 0) {
		n = epoll_wait(loop.epfd, evs, 64, loop_timeout());
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

				if (read(loop.wdfd, &ticks, sizeof(ticks)) > 0)
					notify_watchdog();
			} else if (evs[i].data.u64 & 1) {
				loop_errpipe_read((struct svc *)(uintptr_t)
				    (evs[i].data.u64 & ~(uint64_t)1));
			} else if (!loop.stopping) {
				accept_listener(p);
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
		if (loop.stopping && loop.live > 0 &&
		    ms_until(&loop.stop_deadline) == 0) {
			log_warnx("shutdown timeout: %u connections still "
			    "running", loop.live);
			loop_wait_children();
			break;
		}
	}
	log_info("exiting");
	if (loop.live == 0)
		table_free(&loop.tab);
	config_ref_put(loop.cref);
	free(loop.passed);
	return 0;
}
