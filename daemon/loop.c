/*
 * loop.c -- porterd's control loop: signals, reload, ticks, stop.
 *
 * The control thread (porterd's main thread) owns the service table
 * (loop_priv.h, table.c) and everything that is not a connection: it
 * waits in its own epoll on a signalfd (SIGCHLD, SIGHUP, SIGTERM, SIGINT),
 * a 1 s tick (timeouts, refusal summaries, status, children whose group
 * lingers), systemd's watchdog timer, the fiber watchdog's timer (a
 * cooperative handler that does not yield, fiber-stall), the exec
 * services' stderr pipes and an eventfd that wakes it when a timed pause
 * (rate limit, out of descriptors) begins.  Connections are accepted and
 * run by the event loops (evloop.c), one per thread; children are reaped
 * here (children.c).  SIGHUP rebuilds the service table while the loops
 * serve and swaps it with them parked; SIGTERM stops accepting and lets
 * live connections finish.
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
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accept.h"
#include "bindretry.h"
#include "children.h"
#include "conn.h"
#include "control_rt.h"
#include "dispatch.h"
#include "edge.h"
#include "evloop.h"
#include "gate.h"
#include "listen.h"
#include "log.h"
#include "loop.h"
#include "mono.h"
#include "loop_priv.h"
#include "notify.h"
#include "pool.h"
#include "privs.h"
#include "spawn.h"
#include "stats.h"
#include "svc.h"
#include "timeouts.h"

/* While stopping, how often the control loop looks at the live count. */
#define STOP_POLL_MS	50

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

static void
loop_watch(struct ev *ev)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = ev };

	if (epoll_ctl(loop.epfd, EPOLL_CTL_ADD, ev->fd, &e) == -1)
		log_warn("control loop: epoll");
}

static void
loop_unwatch(int fd)
{
	epoll_ctl(loop.epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* Any thread: a timed pause began, the control loop must recompute its
 * timeout. */
static void
loop_wake(void)
{
	uint64_t one = 1;
	ssize_t r = write(loop.wake_ev.fd, &one, sizeof(one));

	(void)r;
}

static void
loop_wake_ev(struct ev *ev, uint32_t events, struct evloop *L)
{
	uint64_t n;
	ssize_t r = read(ev->fd, &n, sizeof(n));

	(void)events;
	(void)L;
	(void)r;
}

/* The event loops for cfg: `threads`, or one per CPU. */
static unsigned
loop_threads(const struct config *cfg)
{
	long n;

	if (cfg->threads > 0)
		return cfg->threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > CONF_THREADS_MAX ? CONF_THREADS_MAX : (unsigned)n;
}

/* ------------------------------------------------------------ stderr pipes */

static void
loop_errpipe_read(struct svc *svc)
{
	char *nl, *start;
	ssize_t n;

	n = read(svc->err_ev.fd, svc->errbuf + svc->errlen,
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
loop_errpipe_ev(struct ev *ev, uint32_t events, struct evloop *L)
{
	struct svc *svc = (struct svc *)((char *)ev -
	    offsetof(struct svc, err_ev));

	(void)events;
	(void)L;
	loop_errpipe_read(svc);
}

/*
 * When porterd logs to syslog, an exec service's stderr = log goes
 * through a pipe per service, read by the control loop and logged line
 * by line with the service's name.
 */
void
loop_errpipe_open(struct svc *svc)
{
	int p[2];

	if (svc->conf->kind != HANDLER_EXEC ||
	    svc->conf->stderr_mode != STDERR_LOG || loop.opts->stderr_fd >= 0 ||
	    svc->err_ev.fd >= 0)
		return;
	/* The children's end stays blocking: a program's stderr must not
	 * fail with EAGAIN when we fall behind. */
	if (pipe2(p, O_CLOEXEC) == -1 ||
	    fcntl(p[0], F_SETFL, O_NONBLOCK) == -1) {
		log_warn("service %s: stderr pipe", svc->conf->name);
		return;
	}
	svc->err_ev.fd = p[0];
	svc->err_ev.fn = loop_errpipe_ev;
	svc->err_wr = p[1];
	loop_watch(&svc->err_ev);
}

/* Before reaping: the children's last words come first in the log. */
static void
loop_errpipes_drain(void)
{
	size_t i;

	for (i = 0; i < loop.tab.n; i++)
		if (loop.tab.svcs[i]->err_ev.fd >= 0)
			loop_errpipe_read(loop.tab.svcs[i]);
}

static void
loop_status(char *buf, size_t len)
{
	size_t unbound = bindretry_pending();	/* hook (hard) */

	snprintf(buf, len, "%zu services, %u connections%s", loop.tab.n,
	    evloop_live(), unbound > 0 ? ", listeners waiting to bind: " : "");
	if (unbound > 0)
		snprintf(buf + strlen(buf), len - strlen(buf), "%zu", unbound);
}

void
loop_reload(void)
{
	char errbuf[1024], status[128];
	struct config *cfg;
	size_t i;

	notify_reloading();
	log_info("reloading %s", loop.opts->config_path);
	cfg = config_load(loop.opts->config_path, errbuf, sizeof(errbuf));
	if (cfg != NULL && loop_threads(cfg) != loop.threads) {
		snprintf(errbuf, sizeof(errbuf), "%s: threads: porterd runs "
		    "%u event loops and a reload cannot change that (%u "
		    "asked); restart porterd", cfg->path, loop.threads,
		    loop_threads(cfg));
		config_free(cfg);
		cfg = NULL;
	}
	if (cfg == NULL || table_apply(cfg, errbuf, sizeof(errbuf)) == -1) {
		log_warnx("reload failed: %s; keeping the running config",
		    errbuf);
		stats_reloaded(false, errbuf);
		loop_status(status, sizeof(status));
		notify_ready(status);
		return;
	}
	stats_reloaded(true, NULL);
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
	if (loop.stopping)
		return;
	loop.stopping = true;
	notify_stopping();
	table_stop_listening(PARK_STOP_MS);
	/* After the listeners are closed: from this line on, none accepts. */
	log_info("shutting down");
	bindretry_clear();	/* hook (hard) */
	clock_gettime(CLOCK_MONOTONIC, &loop.stop_deadline);
	loop.stop_deadline.tv_sec += loop.cref->cfg->shutdown_timeout;
}

/* ------------------------------------------------------------ events */

static void
loop_signal_ev(struct ev *ev, uint32_t events, struct evloop *L)
{
	struct signalfd_siginfo si;
	bool reap = false, reload = false, stop = false;

	(void)events;
	(void)L;
	while (read(ev->fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap = true;
			break;
		case SIGHUP:
			reload = true;
			break;
		case SIGTERM:
		case SIGINT:
			stop = true;
			break;
		}
	}
	if (reap) {
		loop_errpipes_drain();
		children_reap();
	}
	if (reload && !loop.stopping && !stop)
		loop_reload();
	if (stop)
		loop_stop();
}

/* The once-a-second chores. */
static void
loop_tick_ev(struct ev *ev, uint32_t events, struct evloop *L)
{
	char status[128];
	uint64_t ticks;
	size_t i;

	(void)events;
	(void)L;
	if (read(ev->fd, &ticks, sizeof(ticks)) <= 0)
		return;
	accept_tick();
	timeouts_check();
	/* A lingering process group may have emptied without a SIGCHLD. */
	children_reap();
	if (!loop.stopping)	/* hook (hard): binds whose retry is due */
		bindretry_tick(loop.tab.svcs, loop.tab.n);
	control_rt_tick();
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

/* Reads a timerfd's expiry count: true when it did expire. */
static bool
loop_timer_fired(int fd)
{
	uint64_t ticks;

	return read(fd, &ticks, sizeof(ticks)) > 0;
}

static void
loop_watchdog_ev(struct ev *ev, uint32_t events, struct evloop *L)
{
	(void)events;
	(void)L;
	if (loop_timer_fired(ev->fd))
		notify_watchdog();
}

static void
loop_stall_ev(struct ev *ev, uint32_t events, struct evloop *L)
{
	(void)events;
	(void)L;
	if (loop_timer_fired(ev->fd))
		evloop_check_stalls();
}

/*
 * fiber-stall, at start and on every reload: the time a fiber may run
 * without yielding.  The check runs every half of it, so a stall is
 * reported between 1 and 1.5 times that long after it began; a stall
 * shorter than the time is never reported.
 */
void
loop_set_stall(unsigned ms)
{
	struct itimerspec its;
	unsigned half = ms / 2 > 0 ? ms / 2 : 1;

	if (ms == loop.stall_ms)
		return;
	its.it_interval.tv_sec = (time_t)(half / 1000);
	its.it_interval.tv_nsec = (long)(half % 1000) * 1000000;
	its.it_value = its.it_interval;
	/* Both or neither: the threshold and how often it is checked. */
	if (timerfd_settime(loop.stall_ev.fd, 0, &its, NULL) == -1) {
		log_warn("fiber-stall timer");
		return;
	}
	evloop_set_stall(ms);
	loop.stall_ms = ms;
}

/* ------------------------------------------------------------ setup */

static int
loop_signalfd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Blocked before any thread starts, so only the signalfd sees them. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int
loop_setup(void)
{
	struct itimerspec its = { { 1, 0 }, { 1, 0 } };
	struct ev *pev;
	uint64_t wd;

	if ((loop.sig_ev.fd = loop_signalfd()) == -1 ||
	    (loop.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (loop.wake_ev.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    (loop.tick_ev.fd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_CLOEXEC | TFD_NONBLOCK)) == -1 ||
	    timerfd_settime(loop.tick_ev.fd, 0, &its, NULL) == -1 ||
	    (loop.stall_ev.fd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_CLOEXEC | TFD_NONBLOCK)) == -1) {
		log_warn("control loop setup");
		return -1;
	}
	loop.sig_ev.fn = loop_signal_ev;
	loop.wake_ev.fn = loop_wake_ev;
	loop.tick_ev.fn = loop_tick_ev;
	loop.stall_ev.fn = loop_stall_ev;	/* armed by loop_set_stall() */
	loop_watch(&loop.sig_ev);
	loop_watch(&loop.wake_ev);
	loop_watch(&loop.tick_ev);
	loop_watch(&loop.stall_ev);
	if ((pev = pool_init()) == NULL) {	/* pool.h: the pools' sockets */
		log_warn("worker pools");
		return -1;
	}
	loop_watch(pev);
	accept_tick();
	spawn_init();
	dispatch_set_stderr(loop.opts->stderr_fd);
	loop.wd_ev.fd = -1;
	if ((wd = notify_watchdog_usec()) > 0) {
		/* Ping at half the interval, as sd_watchdog_enabled(3) asks. */
		wd /= 2;
		its.it_interval.tv_sec = (time_t)(wd / 1000000);
		its.it_interval.tv_nsec = (long)(wd % 1000000) * 1000;
		its.it_value = its.it_interval;
		if ((loop.wd_ev.fd = timerfd_create(CLOCK_MONOTONIC,
		    TFD_CLOEXEC | TFD_NONBLOCK)) != -1 &&
		    timerfd_settime(loop.wd_ev.fd, 0, &its, NULL) == 0) {
			loop.wd_ev.fn = loop_watchdog_ev;
			loop_watch(&loop.wd_ev);
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
	int fd;

	if ((fd = loop_signalfd()) == -1) {
		log_warn("signalfd");
		return -1;
	}
	loop_unwatch(loop.sig_ev.fd);
	close(loop.sig_ev.fd);
	loop.sig_ev.fd = fd;
	loop_watch(&loop.sig_ev);
	return 0;
}

/* Milliseconds epoll may wait: until the next timed pause ends, or
 * forever (the tick wakes us anyway). */
static int
loop_timeout(void)
{
	int ms = gate_timeout_ms(loop.tab.svcs, loop.tab.n);

	if (loop.stopping && (ms < 0 || ms > STOP_POLL_MS))
		ms = STOP_POLL_MS;
	return ms;
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

/* Starts everything up to serving.  Returns 0, or -1 (logged). */
static int
loop_start(struct config *cfg)
{
	char errbuf[1024];
	int n;

	if (loop_setup() == -1) {
		config_free(cfg);
		return -1;
	}
	n = listen_adopt(&loop.passed, errbuf, sizeof(errbuf));
	if (n == -1) {
		log_warnx("%s", errbuf);
		config_free(cfg);
		return -1;
	}
	loop.npassed = (size_t)n;
	loop.threads = loop_threads(cfg);
	if (evloop_init(loop.threads) == -1) {
		log_warn("event loops");
		config_free(cfg);
		return -1;
	}
	gate_init(evloop_epfds(), evloop_count(), loop_wake);
	if (table_apply(cfg, errbuf, sizeof(errbuf)) == -1) {
		log_warnx("%s", errbuf);
		table_drop_passed(false);
		return -1;
	}
	table_drop_passed(true);
	if (control_rt_open(loop.cref->cfg, loop.epfd) == -1)
		return -1;
	if (loop.opts->on_bound != NULL) {
		if (loop.opts->on_bound(loop.opts->on_bound_arg) == -1 ||
		    loop_renew_signalfd() == -1)
			return -1;
	}
	/*
	 * run-as: every listener is open, so give up root (privs.c) -- before
	 * the event loops' threads exist, as capabilities are per thread.
	 */
	if (privs_drop(loop.cref->cfg) == -1)
		return -1;
	if (evloop_start() == -1) {
		log_warn("event loop threads");
		return -1;
	}
	return 0;
}

int
loop_run(struct config *cfg, const struct loop_options *opts)
{
	struct epoll_event evs[32];
	char status[128];
	int i, n;

	memset(&loop, 0, sizeof(loop));
	loop.opts = opts;
	stats_init();
	loop.epfd = loop.sig_ev.fd = loop.wake_ev.fd = loop.tick_ev.fd = -1;
	loop.stall_ev.fd = -1;
	svc_set_registry(&loop.plugins);
	svc_set_unwatch(loop_unwatch);
	if (loop_start(cfg) == -1) {
		free(loop.passed);
		return 1;
	}
	for (i = 0; loop.cref->cfg->skipped != NULL &&
	    loop.cref->cfg->skipped[i] != NULL; i++)
		log_info("%s: not included (does not match an include "
		    "pattern)", loop.cref->cfg->skipped[i]);
	log_info("ready: %zu services, %u event loops", loop.tab.n,
	    loop.threads);
	loop_status(status, sizeof(status));
	notify_ready(status);

	for (;;) {
		n = epoll_wait(loop.epfd, evs, 32, loop_timeout());
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			break;
		}
		for (i = 0; i < n; i++) {
			struct ev *ev = evs[i].data.ptr;

			ev->fn(ev, evs[i].events, NULL);
		}
		control_rt_pending();
		gate_resume_due(loop.tab.svcs, loop.tab.n);
		if (!loop.stopping)
			continue;
		if (evloop_live() == 0)
			break;
		if (mono_ms_until(&loop.stop_deadline) == 0) {
			log_warnx("shutdown timeout: %u connections still "
			    "running", evloop_live());
			/* Our own children's groups get SIGTERM. */
			children_signal_all(SIGTERM);
			break;
		}
	}
	edge_drain(&loop.stop_deadline);	/* edge.h: TLS relays */
	log_info("exiting");
	bindretry_clear();	/* hook (hard) */
	control_rt_close();
	if (evloop_live() == 0) {
		if (evloop_quit() == 0)
			table_close_at_exit();
		edge_relays_free();		/* edge.h: what is left */
		table_free(&loop.tab);
	}
	accept_fini();
	config_ref_put(loop.cref);
	free(loop.passed);
	return 0;
}
