/*
 * control_rt.c -- control.c's ops table over the runtime (control_rt.h).
 *
 * Everything here runs on the control thread, which owns the service
 * table (loop_priv.h) and reloads it; the control socket is one more
 * descriptor in the control loop's epoll, never in an event loop's, so no
 * porterctl client can hold up a connection.  What belongs to the event
 * loops is read the way they allow it: live connections through
 * evloop_each_conn() (each loop's list under its lock, copied out so the
 * lock is held only for the copy), a service's pause state under the gate
 * lock (gate.c), counters as atomics (stats.h, svc->live).
 *
 * Pause and drain are kept in the service's stats_svc (by name, so they
 * survive a reload); gate.c asks control_rt_held() before it arms a
 * listener, so no other pause (max-connections ending, a rate pause
 * ending, a reload) re-arms a service the operator paused.
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bindretry.h"
#include "conn.h"
#include "control.h"
#include "control_rt.h"
#include "evloop.h"
#include "gate.h"
#include "limiter.h"
#include "log.h"
#include "loop_priv.h"
#include "spawn.h"
#include "stats.h"
#include "tcpinfo.h"
#include "timeouts.h"

/* accept.c and edge.c pass limiter.h's reasons to stats_refused() as is. */
_Static_assert((int)STATS_REFUSE_ACL == (int)REFUSE_ACL &&
    (int)STATS_REFUSE_PER_SOURCE == (int)REFUSE_PER_SOURCE &&
    (int)STATS_REFUSE_MAX == (int)REFUSE_MAX &&
    (int)STATS_REFUSE_EDGE == (int)REFUSE_EDGE, "refusal reasons differ");


static struct control *control_rt;

bool
control_rt_held(const struct stats_svc *st)
{
	return st != NULL && atomic_load_explicit(&st->admin,
	    memory_order_relaxed) != STATS_ADMIN_SERVING;
}

static void
control_rt_status(struct control_status *out)
{
	out->config_path = loop.opts->config_path;
	out->services = (unsigned)loop.tab.n;
	out->live = evloop_live();
	out->threads = evloop_threads();
	out->loops = loop.threads;
	out->stopping = loop.stopping;
}

/*
 * Live handlers of the service by name: those of the svcs a reload
 * replaced too, which svc->live does not count.
 */
static unsigned
control_rt_live(const struct svc *svc)
{
	return svc->stats != NULL ? (unsigned)stats_read(&svc->stats->active) :
	    __atomic_load_n(&svc->live, __ATOMIC_RELAXED);
}

/*
 * What porterctl services says of svc, most telling first: a state that
 * stops every listener (stopping, the operator's pause or drain, a limit)
 * before a bind being retried, which leaves the bound listeners serving.
 * unbound: how many of svc's listeners wait to be bound.
 */
static const char *
control_rt_state(const struct svc *svc, size_t unbound)
{
	int admin = svc->stats != NULL ? atomic_load_explicit(
	    &svc->stats->admin, memory_order_relaxed) : STATS_ADMIN_SERVING;
	const char *state;

	if (loop.stopping)
		return "stopping";
	if (admin == STATS_ADMIN_DRAINING)
		return control_rt_live(svc) > 0 ? "draining" : "drained";
	if (admin == STATS_ADMIN_PAUSED)
		return "paused";
	gate_lock();
	state = gate_state_text(svc);	/* a static string */
	gate_unlock();
	if (unbound > 0 && strcmp(state, "serving") == 0)
		return "bind failing: retrying";
	return state;
}

static void
control_rt_services(void (*fn)(const struct control_service *, void *),
    void *arg)
{
	const char *ls[64], *unb[64];
	size_t i, j;

	for (i = 0; i < loop.tab.n; i++) {
		struct svc *svc = loop.tab.svcs[i];
		const struct service *conf = svc->conf;
		size_t nunb = bindretry_svc_pending(svc, unb,
		    sizeof(unb) / sizeof(unb[0]));
		struct control_service s = {
			.name = conf->name,
			.state = control_rt_state(svc, nunb),
			.kind = conf->kind == HANDLER_EXEC ? "exec" : "plugin",
			.handler = conf->handler,
			.isolation = conf->kind == HANDLER_EXEC ? NULL :
			    conf->isolation == ISOLATION_PROCESS ? "process" :
			    svc->cooperative ? "fiber" : "thread",
			.listeners = ls,
			.unbound = unb,
			.nunbound = nunb < sizeof(unb) / sizeof(unb[0]) ?
			    nunb : sizeof(unb) / sizeof(unb[0]),
			.live = control_rt_live(svc),
			.stats = svc->stats,
		};

		for (j = 0; j < svc->nls && j < sizeof(ls) / sizeof(ls[0]);
		    j++)
			ls[j] = svc->ls[j]->text;
		s.nlisteners = j;
		fn(&s, arg);
	}
}

static struct svc *
control_rt_find(const char *name)
{
	size_t i;

	for (i = 0; i < loop.tab.n; i++)
		if (strcmp(loop.tab.svcs[i]->conf->name, name) == 0)
			return loop.tab.svcs[i];
	return NULL;
}

/*
 * A live connection as copied out of its loop's list.  Copies, not
 * pointers: once the loop's lock is released the connection may end and
 * a retired svc (its name) be freed.
 */
struct control_rt_snap {
	uint64_t id;
	char service[256];
	char peer[PT_ADDRSTRLEN];
	char local[PT_ADDRSTRLEN];
	double age, idle;
	int64_t bytes_in, bytes_out;
	const char *kind;		/* static */
	long pid;
};

struct control_rt_walk {
	const char *service;		/* NULL: all */
	struct control_rt_snap *v;
	size_t n, cap;
	bool short_of_memory;
};

/* Idle time and byte counts from the kernel, for TCP connections. */
static void
control_rt_tcp(const struct conn *c, struct control_rt_snap *out)
{
	int fam = c->local.ss.ss_family;

	out->idle = -1;
	out->bytes_in = out->bytes_out = -1;
	if (c->fd < 0 || c->wait_l != NULL || (fam != AF_INET &&
	    fam != AF_INET6) || c->svc->conf->socktype != SOCK_STREAM)
		return;
	if (tcpinfo_get(c->fd, &out->idle, &out->bytes_in,
	    &out->bytes_out) == -1)
		out->idle = -1;
}

/* evloop_each_conn(): under c's loop's lock, so c cannot end meanwhile. */
static void
control_rt_copy(struct conn *c, void *arg)
{
	struct control_rt_walk *w = arg;
	const struct service *conf = c->svc->conf;
	struct control_rt_snap *s;

	if (w->service != NULL && strcmp(conf->name, w->service) != 0)
		return;
	if (w->n == w->cap) {
		size_t cap = w->cap == 0 ? 64 : w->cap * 2;
		struct control_rt_snap *v = reallocarray(w->v, cap,
		    sizeof(*v));

		if (v == NULL) {
			w->short_of_memory = true;
			return;
		}
		w->v = v;
		w->cap = cap;
	}
	s = &w->v[w->n++];
	s->id = c->id;
	snprintf(s->service, sizeof(s->service), "%s", conf->name);
	/* Live state for the operator: the full address, whatever
	 * log-peer keeps in the log. */
	if (c->peer.len > 0)
		pt_addr_format(&c->peer, s->peer, sizeof(s->peer));
	else
		snprintf(s->peer, sizeof(s->peer), "%s", c->wait_l != NULL ?
		    c->wait_l->text : "-");
	if (c->local.len > 0)
		pt_addr_format(&c->local, s->local, sizeof(s->local));
	else
		snprintf(s->local, sizeof(s->local), "-");
	s->age = conn_elapsed(&c->start);
	s->kind = conf->kind == HANDLER_EXEC ? "exec" : c->pid != 0 ?
	    "process" : c->svc->cooperative ? "fiber" : "thread";
	s->pid = c->pid > 0 ? (long)c->pid : 0;
	control_rt_tcp(c, s);
}

static int
control_rt_connections(const char *service,
    void (*fn)(const struct control_conn *, void *), void *arg)
{
	struct control_rt_walk w = { .service = service };
	size_t i;

	if (service != NULL && control_rt_find(service) == NULL)
		return -1;
	evloop_each_conn(control_rt_copy, &w);
	if (w.short_of_memory)
		log_warnx("control: out of memory listing connections; the "
		    "list is short");
	for (i = 0; i < w.n; i++) {
		const struct control_rt_snap *s = &w.v[i];
		struct control_conn cc = {
			.id = s->id, .service = s->service, .peer = s->peer,
			.local = s->local, .age = s->age, .idle = s->idle,
			.bytes_in = s->bytes_in, .bytes_out = s->bytes_out,
			.kind = s->kind, .pid = s->pid,
		};

		fn(&cc, arg);
	}
	free(w.v);
	return 0;
}

/*
 * A reload frees listeners and services, which must not happen in the
 * middle of the control loop's epoll batch (a later event of the batch may
 * be a freed service's stderr pipe): it runs from control_rt_pending()
 * after the batch.  One at a time; a second request while one is queued
 * shares its outcome.
 */
#define CONTROL_RT_MAX_WAITERS	CONTROL_MAX_CLIENTS
static struct {
	uint64_t token;
	control_reload_done done;
} control_rt_waiters[CONTROL_RT_MAX_WAITERS];
static size_t control_rt_nwaiters;

static void
control_rt_reload(uint64_t token, control_reload_done done)
{
	if (loop.stopping) {
		done(token, false, "porterd is shutting down");
		return;
	}
	if (control_rt_nwaiters == CONTROL_RT_MAX_WAITERS) {
		done(token, false, "too many reloads queued");
		return;
	}
	control_rt_waiters[control_rt_nwaiters].token = token;
	control_rt_waiters[control_rt_nwaiters].done = done;
	control_rt_nwaiters++;
}

void
control_rt_pending(void)
{
	static struct stats_global g;	/* 1 KiB of error text: not on the
					 * stack of every batch */
	size_t i, n = control_rt_nwaiters;
	bool ok;

	if (n == 0)
		return;
	control_rt_nwaiters = 0;
	if (loop.stopping) {
		ok = false;
		snprintf(g.last_error, sizeof(g.last_error),
		    "porterd is shutting down");
	} else {
		/* loop_reload() records its outcome in stats_reloaded(). */
		loop_reload();
		stats_global_get(&g);
		ok = g.last_reload_ok;
	}
	for (i = 0; i < n; i++)
		control_rt_waiters[i].done(control_rt_waiters[i].token, ok,
		    ok ? NULL : g.last_error);
}

static int
control_rt_service_op(const char *name, enum control_svc_op op, char *err,
    size_t errlen)
{
	static const char *const verbs[] = { "paused", "resumed", "draining" };
	struct svc *svc = control_rt_find(name);
	int admin;

	if (svc == NULL) {
		snprintf(err, errlen, "no service '%s'", name);
		return -1;
	}
	if (svc->stats == NULL) {
		snprintf(err, errlen, "service %s: out of memory", name);
		return -1;
	}
	admin = op == CONTROL_OP_PAUSE ? STATS_ADMIN_PAUSED :
	    op == CONTROL_OP_DRAIN ? STATS_ADMIN_DRAINING : STATS_ADMIN_SERVING;
	atomic_store_explicit(&svc->stats->admin, admin, memory_order_relaxed);
	gate_svc_arm(svc);	/* gate.c asks control_rt_held() */
	log_info("service %s: %s by porterctl%s", name, verbs[op],
	    op == CONTROL_OP_DRAIN ? ", live connections finish" :
	    op == CONTROL_OP_PAUSE ? ", new clients wait in the backlog" : "");
	return 0;
}

struct control_rt_victim {
	uint64_t id;
	int found;			/* 0: no, 1: cut, -1: a wait turn */
	char service[256];
	char peer[PT_ADDRSTRLEN];
};

/* evloop_each_conn(): under c's loop's lock, so c cannot end meanwhile. */
static void
control_rt_cut(struct conn *c, void *arg)
{
	struct control_rt_victim *v = arg;

	if (c->id != v->id)
		return;
	snprintf(v->service, sizeof(v->service), "%s", c->svc->conf->name);
	conn_peer_text(c, v->peer, sizeof(v->peer));
	if (c->wait_l != NULL) {
		v->found = -1;
		return;
	}
	v->found = 1;
	if (c->cut != NULL)
		return;		/* being cut already (a timeout, or twice) */
	/*
	 * As timeouts.c cuts: shutdown() wakes the handler (a fiber's wait
	 * ends, a blocking recv() returns), a child's process group gets
	 * SIGTERM, and timeouts_check() sends SIGKILL after the grace.
	 */
	c->cut = "killed";
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);
	timeouts_kill(c);
}

static int
control_rt_kill(uint64_t id, char *err, size_t errlen)
{
	struct control_rt_victim v = { .id = id };

	evloop_each_conn(control_rt_cut, &v);
	if (v.found == 0) {
		snprintf(err, errlen, "no live connection %llu",
		    (unsigned long long)id);
		return -1;
	}
	if (v.found < 0) {
		snprintf(err, errlen, "connection %llu is a turn of wait "
		    "service %s, not a connection", (unsigned long long)id,
		    v.service);
		return -1;
	}
	log_warnx("service %s: %s: conn %llu killed by porterctl", v.service,
	    v.peer, (unsigned long long)id);
	return 0;
}

static const struct control_ops control_rt_ops = {
	.status = control_rt_status,
	.services = control_rt_services,
	.connections = control_rt_connections,
	.reload = control_rt_reload,
	.service_op = control_rt_service_op,
	.kill_conn = control_rt_kill,
};

int
control_rt_open(const struct config *cfg, int epfd)
{
	char err[512], dir[4096];
	struct stat st;

	if (cfg->control_socket == NULL)
		return 0;		/* control-socket = "" */
	if (!cfg->control_socket_set) {
		snprintf(dir, sizeof(dir), "%s", cfg->control_socket);
		if (stat(dirname(dir), &st) == -1) {
			log_info("no control socket: %s: %s (control-socket "
			    "names another place)", dir, strerror(errno));
			return 0;
		}
	}
	control_rt = control_open(cfg->control_socket, cfg->control_gid, epfd,
	    &control_rt_ops, err, sizeof(err));
	if (control_rt == NULL) {
		if (cfg->control_socket_set) {
			log_warnx("%s", err);
			return -1;
		}
		log_warnx("%s; running without one", err);
		return 0;
	}
	log_info("control socket %s", cfg->control_socket);
	return 0;
}

void
control_rt_tick(void)
{
	control_tick(control_rt);
}

void
control_rt_close(void)
{
	control_close(control_rt);
	control_rt = NULL;
}
