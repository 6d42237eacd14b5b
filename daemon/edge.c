/*
 * edge.c -- the edge stage of one accepted connection (edge.h): the PROXY
 * header, the access list for the real client, the TLS handshake, and the
 * relay that carries TLS when the kernel does not.
 *
 * The stage runs as a fiber of the connection's event loop, whatever the
 * handler's kind: edge_prepare() is written in blocking style with
 * deadlines, and waits only through pt_io_wait(), which on a fiber is the
 * loop's waiter: a slow header or handshake parks the fiber, never a
 * thread or a loop.  When the fiber ends, edge_back() (on the loop, in
 * dispatch_done()) hands the connection to its handler as dispatch()
 * would have.
 *
 * The relay is a set of epoll callbacks on the same loop: its own small
 * epoll set (the TCP socket, its socketpair end, a linger timer) sits in
 * the loop's set, and each readiness runs tls_relay() once, which moves
 * what it can without blocking and says what it waits for.  It lives on
 * after the conn (the handler's end of the socketpair is the conn's fd)
 * until both directions are closed; edge_drain() lets relays finish at
 * exit and edge_relays_free() frees what is left once the loops stopped.
 *
 * Threads: the stage and the relay run on the conn's loop only (its
 * leader, one thread at a time); the relay list is under edge_mtx.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <porter/iowait.h>

#include "access.h"
#include "conf_edge.h"
#include "conn.h"
#include "dispatch.h"
#include "edge.h"
#include "evloop.h"
#include "limiter.h"
#include "log.h"
#include "proxy.h"
#include "runtime.h"
#include "stats.h"
#include "tls.h"

/* After the handler closed its side: how long the client may take. */
#define EDGE_LINGER_MS		30000
/* A prepared blocking plugin's connection waits this long for a slot. */
#define EDGE_BLOCK_RETRY_MS	1

enum edge_phase {
	EDGE_QUEUED,		/* its fiber runs edge_prepare() */
	EDGE_PREPARED,		/* done; edge_back() starts the handler */
	EDGE_FAILED,		/* refused: why, kind */
	EDGE_RUNNING		/* the handler has the connection */
};

struct edge {
	enum edge_phase phase;
	bool have_peer;		/* peer/local come from a PROXY header */
	pt_addr peer, local;
	int hfd;		/* the handler's socketpair end (relay), or -1 */
	struct tls_conn *tc;	/* the relay's session until it starts */
	char name[160];		/* "service x: 192.0.2.1:4000", for logs */
	char **vars;		/* "NAME=value", NULL-terminated */
	size_t nvars;
	enum refusal kind;
	char why[256];
};

/* A relay: the TLS session and the TCP socket, until both close. */
struct edge_relay {
	struct ev ev;		/* first: ev.fd is its own epoll set */
	struct evloop *loop;
	struct tls_conn *tc;
	int fd;			/* the TCP socket, owned */
	int tfd;		/* linger timer, or -1 */
	short net_ev, app_ev;	/* interests registered in ev.fd */
	char name[160];
	struct edge_relay *prev, *next;	/* edge_relay_list */
};

static pthread_mutex_t edge_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct edge_relay *edge_relay_list;
static unsigned edge_nrelays;

/* ------------------------------------------------------------ service */

/* Maps "tls key '/x': ..." to the line of the option it names. */
static int
edge_err_line(const struct edge_tls_spec *ts, const char *msg)
{
	static const struct {
		const char *word;
		int opt;
	} words[] = {
		{ "certificate", TLS_OPT_CERTIFICATE },
		{ "key", TLS_OPT_KEY },
		{ "ca", TLS_OPT_CA },
		{ "ciphers", TLS_OPT_CIPHERS },
		{ "alpn", TLS_OPT_ALPN },
		{ "min-version", TLS_OPT_MIN_VERSION },
		{ "verify-client", TLS_OPT_VERIFY },
	};
	size_t i, n;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		n = strlen(words[i].word);
		if (strncmp(msg, words[i].word, n) == 0 && msg[n] == ' ')
			return ts->lines[words[i].opt];
	}
	return ts->line;
}

int
edge_svc_new(struct svc *svc, char *errbuf, size_t errlen)
{
	const struct service *conf = svc->conf;
	const struct edge_tls_spec *ts;
	struct tls_spec spec;
	char msg[768];
	const char *p;

	svc->tls = NULL;
	if (conf->edge == NULL || !conf->edge->tls)
		return 0;
	ts = &conf->edge->t;
	memset(&spec, 0, sizeof(spec));
	spec.file = "";
	spec.certificate = ts->certificate;
	spec.key = ts->key;
	spec.ca = ts->ca;
	spec.verify = (enum tls_verify)ts->verify;
	spec.min_version = ts->min_version;
	spec.ciphers = ts->ciphers;
	spec.alpn = (const char *const *)ts->alpn;
	spec.nalpn = ts->nalpn;
	if ((svc->tls = tls_ctx_new(&spec, msg, sizeof(msg))) != NULL)
		return 0;
	/* tls.c wrote ":0: tls <what>": put the option's own line on it. */
	p = strstr(msg, "tls ");
	p = p != NULL ? p + 4 : msg;
	snprintf(errbuf, errlen, "%s:%d: service %s: tls %s", conf->file,
	    edge_err_line(ts, p), conf->name, p);
	return -1;
}

void
edge_svc_free(struct svc *svc)
{
	tls_ctx_free(svc->tls);
	svc->tls = NULL;
}

/* ------------------------------------------------------------ accept */

bool
edge_proxied(const struct service *conf)
{
	return conf->edge != NULL && conf->edge->proxy != 0;
}

int
edge_admit_balancer(const struct service *conf, const pt_addr *peer,
    struct source_key *src, char *why, size_t len)
{
	uint8_t addr[16];
	int family;

	memset(src, 0, sizeof(*src));
	if (access_canon(peer, &family, addr) == 0 &&
	    conf_edge_from(conf->edge, family, addr))
		return 0;
	snprintf(why, len, "not in proxy-from (may not send a PROXY header)");
	return -1;
}

/* ------------------------------------------------------------ the stage */

/* Milliseconds left until *deadline (CLOCK_MONOTONIC), at least 0. */
static int
edge_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

static void
edge_deadline(struct timespec *t, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static int
edge_fail(struct edge *e, enum refusal kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
edge_fail(struct edge *e, enum refusal kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->why, sizeof(e->why), fmt, ap);
	va_end(ap);
	e->kind = kind;
	return -1;
}

/* Appends copies of n "NAME=value" strings to e->vars. */
static int
edge_add_vars(struct edge *e, const char *const *v, size_t n)
{
	char **nv;
	size_t i;

	if (n == 0)
		return 0;
	if ((nv = realloc(e->vars, (e->nvars + n + 1) * sizeof(*nv))) == NULL)
		return -1;
	e->vars = nv;
	for (i = 0; i < n; i++) {
		if ((nv[e->nvars] = strdup(v[i])) == NULL)
			break;
		e->nvars++;
	}
	nv[e->nvars] = NULL;
	return i == n ? 0 : -1;
}

/* Reads the PROXY header; fills e->peer/local unless LOCAL/UNKNOWN. */
static int
edge_proxy(struct edge *e, const struct edge_spec *spec, int fd)
{
	struct proxy_state *st;
	struct timespec deadline;
	const char *const *env;
	size_t n;
	int r = -1, w;

	if ((st = proxy_new((enum proxy_mode)spec->proxy)) == NULL)
		return edge_fail(e, REFUSE_EDGE, "out of memory");
	edge_deadline(&deadline, spec->proxy_ms);
	for (;;) {
		switch (proxy_feed(st, fd)) {
		case PROXY_DONE:
			goto done;
		case PROXY_ERROR:
			edge_fail(e, REFUSE_EDGE, "PROXY header: %s",
			    proxy_reason(st));
			goto out;
		case PROXY_NEED_MORE:
			break;
		}
		w = pt_io_wait(fd, POLLIN, edge_ms_left(&deadline));
		if (w == 0) {
			edge_fail(e, REFUSE_EDGE, "PROXY header: not complete "
			    "within %u s (%zu bytes)", spec->proxy_ms / 1000,
			    proxy_consumed(st));
			goto out;
		}
		if (w < 0) {
			edge_fail(e, REFUSE_EDGE, "PROXY header: wait: %s",
			    strerror(errno));
			goto out;
		}
	}
done:
	if (!proxy_local(st)) {
		e->peer = *proxy_source(st);
		e->local = *proxy_dest(st);
		e->have_peer = true;
	}
	env = proxy_env(st, &n);
	if (edge_add_vars(e, env, n) == -1) {
		edge_fail(e, REFUSE_EDGE, "out of memory");
		goto out;
	}
	r = 0;
out:
	proxy_free(st);
	return r;
}

/* ------------------------------------------------------------ the relay */

/*
 * Registers what tls_relay() waits for in the relay's own epoll set: only
 * that, because a socket left registered would report its hang-up over
 * and over.  Returns 0, or -1 (logged).
 */
static int
edge_relay_interest(struct edge_relay *r, const struct tls_wait *w)
{
	const int fds[2] = { r->fd, tls_relay_fd(r->tc) };
	short *have[2] = { &r->net_ev, &r->app_ev };
	const short want[2] = { w->net, w->app };
	struct epoll_event ev;
	int i, op;

	for (i = 0; i < 2; i++) {
		if (want[i] == *have[i])
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.events = ((want[i] & POLLIN) ? EPOLLIN : 0) |
		    ((want[i] & POLLOUT) ? EPOLLOUT : 0);
		ev.data.fd = fds[i];
		op = want[i] == 0 ? EPOLL_CTL_DEL : *have[i] == 0 ?
		    EPOLL_CTL_ADD : EPOLL_CTL_MOD;
		if (epoll_ctl(r->ev.fd, op, fds[i], &ev) == -1) {
			log_warn("%s: TLS relay: epoll", r->name);
			return -1;
		}
		*have[i] = want[i];
	}
	return 0;
}

/*
 * Once the handler's side is finished, the client has EDGE_LINGER_MS to
 * close its own: a timerfd in the relay's epoll set.  Returns 0 or -1.
 */
static int
edge_relay_linger(struct edge_relay *r)
{
	struct itimerspec its = { .it_value = {
		.tv_sec = EDGE_LINGER_MS / 1000,
		.tv_nsec = (long)(EDGE_LINGER_MS % 1000) * 1000000L } };
	struct epoll_event ev = { .events = EPOLLIN };

	if (r->tfd >= 0)
		return 0;
	if ((r->tfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) == -1 ||
	    timerfd_settime(r->tfd, 0, &its, NULL) == -1) {
		log_warn("%s: TLS relay: timerfd", r->name);
		return -1;
	}
	ev.data.fd = r->tfd;
	if (epoll_ctl(r->ev.fd, EPOLL_CTL_ADD, r->tfd, &ev) == -1) {
		log_warn("%s: TLS relay: epoll", r->name);
		return -1;
	}
	return 0;
}

/* Ends a relay: closes both sockets, frees the session.  Any thread. */
static void
edge_relay_free(struct edge_relay *r)
{
	pthread_mutex_lock(&edge_mtx);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		edge_relay_list = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	edge_nrelays--;
	pthread_mutex_unlock(&edge_mtx);
	if (r->tfd >= 0)
		close(r->tfd);
	close(r->ev.fd);
	tls_conn_free(r->tc);
	close(r->fd);
	free(r);
}

/* On r's loop: the relay's end, out of the loop's epoll set first. */
static void
edge_relay_end(struct edge_relay *r)
{
	/* Explicitly: a forked child may share the epoll descriptor. */
	epoll_ctl(evloop_epfd(r->loop), EPOLL_CTL_DEL, r->ev.fd, NULL);
	edge_relay_free(r);
}

/*
 * On r's loop: moves what can move both ways (tls_relay() never blocks
 * and buffers at most 64 KiB per direction) and registers what it waits
 * for; ends the relay when both directions are done, on an error, or
 * when the client outstays the linger after the handler finished.
 */
static void
edge_relay_step(struct edge_relay *r)
{
	struct epoll_event evs[3];
	struct tls_wait w;
	int i, n;

	/* Harvest the inner set (level-triggered: nothing is lost). */
	n = epoll_wait(r->ev.fd, evs, 3, 0);
	for (i = 0; i < n; i++) {
		if (evs[i].data.fd == r->tfd && r->tfd >= 0) {
			log_debug("%s: TLS relay: the client did not close "
			    "within %d s of the handler, closing", r->name,
			    EDGE_LINGER_MS / 1000);
			goto end;
		}
	}
	switch (tls_relay(r->tc, &w)) {
	case TLS_DONE:
		if (tls_relay_truncated(r->tc))
			log_debug("%s: TLS relay: the client closed without "
			    "close_notify", r->name);
		goto end;
	case TLS_ERROR:
		log_debug("%s: TLS relay: %s", r->name, tls_conn_error(r->tc));
		goto end;
	default:
		break;
	}
	if (w.net == 0 && w.app == 0)
		goto end;	/* nothing could move again */
	if (edge_relay_interest(r, &w) == -1)
		goto end;
	if (tls_relay_app_done(r->tc) && edge_relay_linger(r) == -1)
		goto end;
	return;
end:
	edge_relay_end(r);
}

static void
edge_relay_ev(struct ev *ev, uint32_t events, struct evloop *L)
{
	(void)events;
	(void)L;
	edge_relay_step((struct edge_relay *)ev);
}

/*
 * On L (the conn's loop, outside any fiber): starts the relay, which owns
 * tc and fd from here, even on failure.  Its one descriptor in L's epoll
 * set is its own epoll set (of the TCP socket, the relay's socketpair end
 * and the linger timer), so one batch of events names it at most once.
 */
static int
edge_relay_start(struct evloop *L, struct tls_conn *tc, int fd,
    const char *name)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct edge_relay *r;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->ev.fd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("%s: TLS relay", name);
		free(r);
		tls_conn_free(tc);
		close(fd);
		return -1;
	}
	r->ev.fn = edge_relay_ev;
	r->loop = L;
	r->tc = tc;
	r->fd = fd;
	r->tfd = -1;
	snprintf(r->name, sizeof(r->name), "%s", name);
	pthread_mutex_lock(&edge_mtx);
	r->next = edge_relay_list;
	if (r->next != NULL)
		r->next->prev = r;
	edge_relay_list = r;
	edge_nrelays++;
	pthread_mutex_unlock(&edge_mtx);
	ev.data.ptr = &r->ev;
	if (epoll_ctl(evloop_epfd(L), EPOLL_CTL_ADD, r->ev.fd, &ev) == -1) {
		log_warn("%s: TLS relay: epoll", name);
		edge_relay_free(r);
		return -1;
	}
	/* The handshake may have left application data in OpenSSL. */
	edge_relay_step(r);
	return 0;
}

/*
 * The TLS handshake, then kernel TLS (the handler gets fd) or a relay (e->hfd
 * = the handler's socketpair end; the task owns fd from then on).
 */
static int
edge_tls(struct edge *e, struct svc *svc, int fd, const char *name)
{
	const struct edge_tls_spec *ts = &svc->conf->edge->t;
	struct timespec deadline;
	const char *const *env;
	struct tls_conn *tc;
	char err[256];
	int hfd, w = 1;
	size_t n;

	if ((tc = tls_conn_new(svc->tls, fd, err, sizeof(err))) == NULL)
		return edge_fail(e, REFUSE_EDGE, "%s", err);
	edge_deadline(&deadline, ts->handshake_ms);
	for (;;) {
		switch (tls_handshake(tc)) {
		case TLS_DONE:
			goto done;
		case TLS_ERROR:
			edge_fail(e, REFUSE_EDGE, "TLS %s", tls_conn_error(tc));
			goto fail;
		case TLS_WANT_READ:
			w = pt_io_wait(fd, POLLIN, edge_ms_left(&deadline));
			break;
		case TLS_WANT_WRITE:
			w = pt_io_wait(fd, POLLOUT, edge_ms_left(&deadline));
			break;
		}
		if (w == 0) {
			edge_fail(e, REFUSE_EDGE, "TLS handshake not done "
			    "within %u s", ts->handshake_ms / 1000);
			goto fail;
		}
		if (w < 0) {
			edge_fail(e, REFUSE_EDGE, "TLS handshake: wait: %s",
			    strerror(errno));
			goto fail;
		}
	}
done:
	env = tls_conn_env(tc, &n);
	if (edge_add_vars(e, env, n) == -1) {
		edge_fail(e, REFUSE_EDGE, "out of memory");
		goto fail;
	}
	switch (tls_start(tc, &hfd)) {
	case TLS_DONE:
		/* Kernel TLS both ways: the handler gets the socket. */
		log_debug("%s: %s %s, kernel TLS", name,
		    strchr(env[0], '=') + 1, strchr(env[1], '=') + 1);
		tls_conn_free(tc);
		return 0;
	case TLS_WANT_READ:
		/* edge_back() starts the relay, once this fiber is over. */
		log_debug("%s: %s %s, relay", name,
		    strchr(env[0], '=') + 1, strchr(env[1], '=') + 1);
		e->hfd = hfd;
		e->tc = tc;
		return 0;
	default:
		edge_fail(e, REFUSE_EDGE, "TLS %s", tls_conn_error(tc));
		break;
	}
fail:
	tls_conn_free(tc);
	return -1;
}

/*
 * The whole stage for c, on its fiber.  On success the handler gets the
 * TCP socket (back in its accept-time mode), or with a relay e->hfd (and
 * e->tc waits for edge_back()).  c's own fields are left alone.
 */
static int
edge_prepare(struct conn *c)
{
	struct edge *e = c->edge;
	struct svc *svc = c->svc;
	const struct service *conf = svc->conf;
	char peer[PT_ADDRSTRLEN], why[128];
	const pt_addr *who = &c->peer;
	int fl;

	if ((fl = fcntl(c->fd, F_GETFL)) == -1 ||
	    fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return edge_fail(e, REFUSE_EDGE, "fcntl: %s", strerror(errno));
	if (conf->edge->proxy != 0) {
		if (edge_proxy(e, conf->edge, c->fd) == -1)
			return -1;
		if (e->have_peer)
			who = &e->peer;
		/* The access lists now judge the real client. */
		if (who->len > 0 && access_check(conf, c->fd, who, why,
		    sizeof(why)) == -1)
			return edge_fail(e, REFUSE_ACL, "%s", why);
	}
	snprintf(e->name, sizeof(e->name), "service %s: %s", conf->name,
	    who->len > 0 ? pt_addr_format(who, peer, sizeof(peer)) : "-");
	if (svc->tls != NULL && edge_tls(e, svc, c->fd, e->name) == -1)
		return -1;
	/* A handler that gets the socket itself gets it as accept gave it. */
	if (e->tc == NULL && fcntl(c->fd, F_SETFL, fl) == -1)
		return edge_fail(e, REFUSE_EDGE, "fcntl: %s", strerror(errno));
	return 0;
}

/* A blocking plugin's handler runs on the loop's thread (dispatch.h). */
static bool
edge_blocking(const struct svc *svc)
{
	return svc->conf->kind == HANDLER_PLUGIN &&
	    svc->conf->isolation == ISOLATION_THREAD && !svc->cooperative;
}

/* ------------------------------------------------------------ the runtime */

bool
edge_hold(struct evloop *L, struct conn *c)
{
	if (c->svc->conf->edge == NULL || c->edge != NULL || c->wait_l != NULL)
		return false;
	if ((c->edge = calloc(1, sizeof(*c->edge))) == NULL) {
		log_warnx("service %s: out of memory, dropping connection",
		    c->svc->conf->name);
		conn_started(c);	/* counted as one that could not start */
		c->pid = -1;
		dispatch_done(c);
		return true;
	}
	c->edge->hfd = -1;
	c->edge->phase = EDGE_QUEUED;
	/* The fiber runs dispatch_run_plugin(), which calls edge_run(). */
	if (evloop_run_fiber(L, c) == -1) {
		edge_fail(c->edge, REFUSE_EDGE, "cannot start a fiber: %s",
		    strerror(errno));
		c->edge->phase = EDGE_FAILED;
		dispatch_done(c);
	}
	return true;	/* c may be gone already */
}

bool
edge_run(struct conn *c)
{
	struct edge *e = c->edge;

	if (e == NULL || e->phase != EDGE_QUEUED)
		return false;
	if (edge_prepare(c) == -1) {
		e->phase = EDGE_FAILED;
		return true;
	}
	/*
	 * A blocking handler takes the loop's one slot per batch, and
	 * edge_back() runs right after this fiber ends: wait for the slot
	 * here, where waiting costs the loop nothing.
	 */
	while (edge_blocking(c->svc) && !evloop_can_block(c->loop))
		pt_io_wait(c->fd, 0, EDGE_BLOCK_RETRY_MS);
	e->phase = EDGE_PREPARED;
	return true;
}

bool
edge_busy(const struct conn *c)
{
	return c->edge != NULL && c->edge->phase == EDGE_QUEUED;
}

bool
edge_back(struct conn *c)
{
	struct edge *e = c->edge;
	struct svc *svc = c->svc;

	if (e == NULL || e->phase == EDGE_RUNNING || e->phase == EDGE_QUEUED)
		return false;
	/* The refusal's log line names the real client too. */
	if (e->have_peer) {
		c->peer = e->peer;
		c->local = e->local;
	}
	/* TLS_*, PROXY_*: for every kind of handler (runtime.h). */
	c->vars = (const char *const *)e->vars;
	if (e->phase == EDGE_FAILED)
		return false;	/* dispatch_done() finishes it */
	/* The real client is counted now; at accept it was the balancer. */
	if (edge_proxied(svc->conf) &&
	    limiter_admit_source(svc->lim, &c->peer, &c->src) == -1) {
		/* Not counted: dispatch_done() must release nothing. */
		memset(&c->src, 0, sizeof(c->src));
		edge_fail(e, REFUSE_PER_SOURCE, "per-source limit (%u) reached",
		    svc->conf->limits.max_per_source);
		e->phase = EDGE_FAILED;
		return false;
	}
	e->phase = EDGE_RUNNING;
	if (e->tc != NULL) {
		/* The relay takes the TCP socket; the handler gets its end. */
		struct tls_conn *tc = e->tc;
		int tcp = c->fd;

		e->tc = NULL;
		c->fd = e->hfd;
		e->hfd = -1;
		c->kfamily = AF_UNIX;	/* the socketpair's end */
		c->ktype = SOCK_STREAM;
		c->kproto = 0;
		if (edge_relay_start(c->loop, tc, tcp, e->name) == -1) {
			edge_fail(e, REFUSE_EDGE, "TLS relay: cannot start");
			e->phase = EDGE_FAILED;
			return false;
		}
	}
	dispatch_start(c->loop, c);
	return true;
}

bool
edge_finish(struct conn *c)
{
	char peer[PT_ADDRSTRLEN];

	if (c->edge == NULL || c->edge->phase != EDGE_FAILED)
		return false;
	/* control_rt.c asserts the two enums agree. */
	stats_refused(c->svc->stats, (enum stats_refusal)c->edge->kind);
	if (limiter_refused(c->svc->lim, c->edge->kind))
		log_warnx("service %s: refused %s: %s", c->svc->conf->name,
		    conn_peer_text(c, peer, sizeof(peer)), c->edge->why);
	return true;
}

void
edge_free(struct conn *c)
{
	struct edge *e = c->edge;
	size_t i;

	if (e == NULL)
		return;
	/* A relay never started: its session and the handler's end. */
	tls_conn_free(e->tc);
	if (e->hfd >= 0)
		close(e->hfd);
	for (i = 0; i < e->nvars; i++)
		free(e->vars[i]);
	free(e->vars);
	free(e);
	c->edge = NULL;
}

unsigned
edge_relays(void)
{
	unsigned n;

	pthread_mutex_lock(&edge_mtx);
	n = edge_nrelays;
	pthread_mutex_unlock(&edge_mtx);
	return n;
}

void
edge_drain(const struct timespec *deadline)
{
	struct timespec ts = { 0, 10 * 1000000L };

	while (edge_relays() > 0 && edge_ms_left(deadline) > 0)
		nanosleep(&ts, NULL);
}

void
edge_relays_free(void)
{
	if (evloop_count() > 0)
		return;		/* the loops still run: they own the relays */
	while (edge_relay_list != NULL)
		edge_relay_free(edge_relay_list);
}
