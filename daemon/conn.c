/*
 * conn.c -- one handler run, from accept to the connection's log line.
 *
 * Every run ends here, whatever ran it (a fiber or a thread of an event
 * loop, an isolated child or an exec'd program, reaped by the control
 * thread): conn_finish() writes the one log line the operator reads per
 * connection and releases the service.  Any thread may call these; the
 * counters they touch are atomic.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/wait.h>

#include "conn.h"
#include "connlog.h"
#include "edge.h"
#include "log.h"
#include "mono.h"
#include "spawn.h"
#include "stats.h"
#include "svc.h"

static uint64_t conn_ids;

struct conn *
conn_new(struct svc *svc, int fd)
{
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->svc = svc;
	c->fd = fd;
	c->fev.fd = -1;
	c->id = __atomic_add_fetch(&conn_ids, 1, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	svc_ref(svc);
	__atomic_add_fetch(&svc->live, 1, __ATOMIC_RELAXED);
	return c;
}

void
conn_started(struct conn *c)
{
	if (c->started)
		return;
	c->started = true;
	stats_accepted(c->svc->stats);
}

double
conn_elapsed(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return mono_diff(start, &now);
}

void
conn_finish(struct conn *c)
{
	const struct service *conf = c->svc->conf;
	char usage[96];
	double secs = conn_elapsed(&c->start);
	struct connlog e = {
		.id = c->id, .service = conf->name, .peer = &c->peer,
		.peer_fallback = c->wait_l != NULL ? c->wait_l->text : NULL,
		.exec = conf->kind == HANDLER_EXEC, .handler = conf->handler,
		.pid = (long)c->pid, .status = c->status, .rc = c->rc,
		.secs = secs, .bytes_in = c->stats.bytes_in,
		.bytes_out = c->stats.bytes_out,
		.usage = c->pid > 0 ?
		    spawn_rusage_text(&c->ru, usage, sizeof(usage)) : NULL,
	};

	if (c->refused) {
		/*
		 * A crash loop's pause (pool.h) turned it away before any
		 * handler took it; pool.c logs the episode, not each.
		 */
		stats_refused(c->svc->stats, STATS_REFUSE_BACKOFF);
	} else if (edge_finish(c)) {
		/* edge.c counted and logged the refusal; no handler ran. */
	} else {
		connlog_finish(&e);
		if (c->started)
			stats_finished(c->svc->stats,
			    (uint64_t)(secs * 1e6), c->stats.bytes_in,
			    c->stats.bytes_out, c->pid > 0 ? c->status :
			    c->pid < 0 ? -1 : c->rc == 0 ? 0 : 1 << 8);
	}
	__atomic_sub_fetch(&c->svc->live, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->svc->served, 1, __ATOMIC_RELAXED);
	svc_unref(c->svc);
	edge_free(c);
	free(c);
}
