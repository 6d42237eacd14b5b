/*
 * dispatch.c -- from an admitted connection to its handler, and back.
 *
 * See dispatch.h for the kinds of handler.  This file also builds the
 * plugin context (the same for a fiber, a thread and an isolated child)
 * and ends every run: dispatch_done() is the one place where a
 * connection's slot, source count and wait socket are given back.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "children.h"
#include "conn.h"
#include "dispatch.h"
#include "edge.h"
#include "evloop.h"
#include "gate.h"
#include "limiter.h"
#include "log.h"
#include "loader.h"
#include "pool.h"
#include "spawner.h"
#include "svc.h"

static int dispatch_stderr = -1;

void
dispatch_set_stderr(int fd)
{
	dispatch_stderr = fd;
}

int
dispatch_stderr_fd(const struct svc *svc)
{
	if (svc->conf->kind != HANDLER_EXEC)
		return -1;
	return svc->err_wr >= 0 ? svc->err_wr : dispatch_stderr;
}

void
dispatch_run_plugin(struct conn *c)
{
	if (edge_run(c))	/* edge.h: the PROXY/TLS stage, not a handler */
		return;
	plugin_run(c);
}

void
dispatch_done(struct conn *c)
{
	struct listener *l = c->wait_l;
	struct svc *svc = c->svc;
	struct limiter *lim = svc->lim;
	struct source_key src;

	if (edge_back(c))	/* edge.h: the stage ended, the handler runs */
		return;
	/* Read after edge_back(), which may have counted the real client. */
	src = c->src;
	/*
	 * Off the live list first: the control thread's timeouts must never
	 * shutdown() a descriptor number that closing has made free.
	 */
	if (c->loop != NULL)
		evloop_conn_del(c);
	if (l == NULL && c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	/*
	 * Log (the line names the wait listener) before the listener can be
	 * closed; keep the svc (and its limiter) alive until we are done.
	 */
	svc_ref(svc);
	conn_finish(c);
	if (l != NULL)
		gate_release_wait(l);
	if (limiter_release(lim, &src))
		gate_resume_max(lim);
	svc_unref(svc);
}

/* The connection's local address: the listener's when it is specific. */
static void
dispatch_local(struct conn *c, const struct listener *l, int fd)
{
	socklen_t len = sizeof(struct sockaddr_storage);

	if (l->specific || c->wait_l != NULL) {
		c->local = l->addr;	/* saves a getsockname() per accept */
	} else if (getsockname(fd, (struct sockaddr *)&c->local.ss,
	    &len) == 0) {
		c->local.len = len;
		pt_addr_unmap(&c->local);	/* hook (hard): as the peer */
	}
}

void
dispatch(struct evloop *L, struct listener *l, int fd, const pt_addr *peer,
    const struct source_key *src)
{
	struct svc *svc = l->svc;
	const struct service *conf = svc->conf;
	struct conn *c;

	if ((c = conn_new(svc, fd)) == NULL) {
		log_warnx("service %s: out of memory, dropping connection",
		    conf->name);
		if (!conf->wait)
			close(fd);
		if (limiter_release(svc->lim, src))
			gate_resume_max(svc->lim);
		if (conf->wait)
			gate_release_wait(l);
		return;
	}
	if (src != NULL)
		c->src = *src;
	if (peer != NULL)
		c->peer = *peer;
	if (conf->wait)
		c->wait_l = l;
	c->kfamily = l->kfamily;
	c->ktype = l->ktype;
	c->kproto = l->kproto;
	dispatch_local(c, l, fd);
	evloop_conn_add(L, c);
	if (edge_hold(L, c))	/* edge.h: PROXY/TLS first, on a fiber */
		return;
	dispatch_start(L, c);
}

/*
 * A fiber could not be made (out of memory, or of memory mappings: each
 * stack takes two of vm.max_map_count).  Under a flood of connections
 * this happens to every one of them: one line per 10 s, with the count.
 */
static void
dispatch_fiber_failed(const char *service, int err)
{
	static int64_t next_ns;		/* atomic */
	static unsigned long dropped;	/* atomic */
	struct timespec ts;
	int64_t now, next;
	unsigned long n;

	__atomic_add_fetch(&dropped, 1, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	next = __atomic_load_n(&next_ns, __ATOMIC_RELAXED);
	if (now < next || !__atomic_compare_exchange_n(&next_ns, &next,
	    now + 10 * (int64_t)1000000000, false, __ATOMIC_RELAXED,
	    __ATOMIC_RELAXED))
		return;
	n = __atomic_exchange_n(&dropped, 0, __ATOMIC_RELAXED);
	log_warnx("cannot start a fiber (%s): %lu connection%s to "
	    "cooperative services dropped, the last to service %s%s",
	    strerror(err), n, n == 1 ? "" : "s", service,
	    err == ENOMEM ? "; each fiber takes two of vm.max_map_count's "
	    "memory mappings: raise it, or lower the load" : "");
}

void
dispatch_start(struct evloop *L, struct conn *c)
{
	struct svc *svc = c->svc;
	const struct service *conf = svc->conf;
	int r;

	/* A pool counts it started when a worker takes it (pool.c). */
	if (!pool_applies(conf))
		conn_started(c);
	if (conf->kind == HANDLER_PLUGIN && conf->isolation == ISOLATION_THREAD) {
		if (svc->cooperative) {
			if (evloop_run_fiber(L, c) == 0)
				return;
			dispatch_fiber_failed(conf->name, errno);
			c->pid = -1;	/* could not be started */
			dispatch_done(c);
			return;
		}
		evloop_run_blocking(L, c);
		return;
	}
	/*
	 * pool.h (isolated, not wait) or spawner.h: started off this loop,
	 * ended by whoever sees the end (or the start fail).
	 */
	r = pool_applies(conf) ? pool_submit(c) :
	    spawner_submit(c, dispatch_stderr_fd(svc));
	if (r == 1) {
		/* A crash loop's pause: pool.c logs the episode, not each. */
		c->refused = true;
		dispatch_done(c);
	} else if (r == -1) {
		log_warn("service %s: %s %s", conf->name,
		    conf->kind == HANDLER_EXEC ? "exec" : "fork",
		    conf->kind == HANDLER_EXEC ? conf->handler : "handler");
		conn_started(c);	/* counted as one that could not start */
		c->pid = -1;
		dispatch_done(c);
	}
}
