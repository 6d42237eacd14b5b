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
#include "edge.h"
#include "log.h"
#include "mono.h"

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

double
conn_elapsed(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return mono_diff(start, &now);
}

const char *
conn_peer_text(const struct conn *c, char *buf, size_t len)
{
	if (c->peer.len == 0) {
		if (c->wait_l != NULL)
			return c->wait_l->text;
		snprintf(buf, len, "-");
		return buf;
	}
	return pt_addr_format(&c->peer, buf, len);
}

/* "exit 0", "exit 3", "killed by signal 11 (Segmentation fault)". */
static void
conn_status_text(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "status 0x%x", status);
}

void
conn_finish(struct conn *c)
{
	const struct service *conf = c->svc->conf;
	char buf[PT_ADDRSTRLEN], status[96];
	double secs = conn_elapsed(&c->start);
	const char *peer = conn_peer_text(c, buf, sizeof(buf));
	int failed;

	if (edge_finish(c)) {
		/* edge.c counted (and logged) the refusal; no handler ran. */
	} else if (c->pid < 0) {
		log_msg(LOG_WARNING, "service %s: %s: %s %s: could not be "
		    "started", conf->name, peer, conf->kind == HANDLER_EXEC ?
		    "exec" : "plugin", conf->handler);
	} else if (c->pid > 0) {
		conn_status_text(c->status, status, sizeof(status));
		failed = !(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0);
		log_msg(failed ? LOG_WARNING : LOG_INFO,
		    "service %s: %s: %s %s pid %ld: %s in %.3fs", conf->name,
		    peer, conf->kind == HANDLER_EXEC ? "exec" : "plugin",
		    conf->handler, (long)c->pid, status, secs);
	} else {
		log_msg(c->rc == 0 ? LOG_INFO : LOG_WARNING,
		    "service %s: %s: plugin %s %s in %.3fs (in %llu B, "
		    "out %llu B)", conf->name, peer, conf->handler,
		    c->rc == 0 ? "done" : "failed", secs,
		    (unsigned long long)c->stats.bytes_in,
		    (unsigned long long)c->stats.bytes_out);
	}
	__atomic_sub_fetch(&c->svc->live, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->svc->served, 1, __ATOMIC_RELAXED);
	svc_unref(c->svc);
	edge_free(c);
	free(c);
}
