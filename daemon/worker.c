/*
 * worker.c -- the thread pool for in-process plugin handlers.
 *
 * Design: one mutex, one condition variable, a FIFO of pending conns and a
 * LIFO of finished ones.  worker_submit() hands a conn to an idle thread
 * or, when none is idle, starts a new one, so a slow client only ever
 * occupies its own thread.  Threads that stay idle for WORKER_IDLE_SECS
 * exit.  Accounting stays on the main thread: threads only run handle()
 * and queue the conn back, signalling the main loop through an eventfd.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "dgram_guard.h"
#include "log.h"
#include "plugin.h"
#include "worker.h"

#define WORKER_IDLE_SECS	30
#define WORKER_STACK_SIZE	(512 * 1024)

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct conn *head, *tail;	/* pending, FIFO */
	struct conn *done;		/* finished, LIFO (reversed on collect) */
	unsigned npending;
	unsigned threads;
	unsigned idle;
	int efd;
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.efd = -1,
};

int
worker_init(void)
{
	pool.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return pool.efd == -1 ? -1 : 0;
}

int
worker_fd(void)
{
	return pool.efd;
}

unsigned
worker_threads(void)
{
	unsigned n;

	pthread_mutex_lock(&pool.lock);
	n = pool.threads;
	pthread_mutex_unlock(&pool.lock);
	return n;
}

/* ctx->log: one line prefixed with the service and the peer. */
static void
worker_ctx_log(const pt_plugin_ctx *ctx, int priority, const char *fmt, ...)
{
	const struct conn *c = ctx->host;
	char peer[PT_ADDRSTRLEN], line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (c != NULL)
		log_msg(priority, "service %s: %s: %s", ctx->service,
		    conn_peer_text(c, peer, sizeof(peer)), line);
	else
		log_msg(priority, "service %s: %s", ctx->service, line);
}

void
worker_ctx(pt_plugin_ctx *ctx, struct svc *svc, struct conn *c)
{
	const struct service *conf = svc->conf;

	memset(ctx, 0, sizeof(*ctx));
	ctx->size = sizeof(*ctx);
	ctx->service = conf->name;
	ctx->socktype = conf->socktype;
	ctx->wait = conf->wait;
	ctx->argc = (int)conf->nargs;
	ctx->argv = (const char *const *)conf->args;
	ctx->log = worker_ctx_log;
	ctx->may_reply = dgram_guard_may_reply;
	ctx->host = c;
	if (c != NULL) {
		ctx->peer = c->peer.len > 0 ? &c->peer : NULL;
		ctx->local = c->local.len > 0 ? &c->local : NULL;
		ctx->state = svc->state;
	}
}

void
worker_run(struct conn *c)
{
	const pt_plugin *d = c->svc->plugin->desc;
	pt_plugin_ctx ctx;

	worker_ctx(&ctx, c->svc, c);
	memset(&c->stats, 0, sizeof(c->stats));
	c->rc = d->handle(c->fd, &ctx, &c->stats);
}

static void *
worker_main(void *arg)
{
	struct conn *c = arg;
	struct timespec deadline;
	uint64_t one = 1;
	bool wake;
	ssize_t n;
	int r;

	for (;;) {
		if (c != NULL) {
			worker_run(c);
			pthread_mutex_lock(&pool.lock);
			wake = pool.done == NULL;
			c->next = pool.done;
			pool.done = c;
			pthread_mutex_unlock(&pool.lock);
			/*
			 * Only the first finisher since the last collect wakes
			 * the loop; it takes the whole list at once.
			 */
			if (wake) {
				n = write(pool.efd, &one, sizeof(one));
				(void)n;
			}
		}
		pthread_mutex_lock(&pool.lock);
		pool.idle++;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += WORKER_IDLE_SECS;
		r = 0;
		while (pool.head == NULL && r != ETIMEDOUT)
			r = pthread_cond_timedwait(&pool.cond, &pool.lock,
			    &deadline);
		pool.idle--;
		if (pool.head == NULL) {
			pool.threads--;
			pthread_mutex_unlock(&pool.lock);
			return NULL;
		}
		c = pool.head;
		pool.npending--;
		pool.head = c->next;
		if (pool.head == NULL)
			pool.tail = NULL;
		pthread_mutex_unlock(&pool.lock);
	}
}

int
worker_submit(struct conn *c)
{
	pthread_attr_t attr;
	pthread_t tid;
	int r;

	c->next = NULL;
	pthread_mutex_lock(&pool.lock);
	if (pool.idle > pool.npending) {
		/* An idle thread is free for it: queue it and wake one. */
		if (pool.tail != NULL)
			pool.tail->next = c;
		else
			pool.head = c;
		pool.tail = c;
		pool.npending++;
		pthread_cond_signal(&pool.cond);
		pthread_mutex_unlock(&pool.lock);
		return 0;
	}
	pool.threads++;
	pthread_mutex_unlock(&pool.lock);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, WORKER_STACK_SIZE);
	r = pthread_create(&tid, &attr, worker_main, c);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		pthread_mutex_lock(&pool.lock);
		pool.threads--;
		pthread_mutex_unlock(&pool.lock);
		errno = r;
		return -1;
	}
	return 0;
}

struct conn *
worker_collect(void)
{
	struct conn *list, *rev = NULL, *next;
	uint64_t n;
	ssize_t r;

	/*
	 * Reset the counter before taking the list: a finisher that sees an
	 * empty list after this wakes us again, so nothing is left behind.
	 */
	r = read(pool.efd, &n, sizeof(n));
	(void)r;
	pthread_mutex_lock(&pool.lock);
	list = pool.done;
	pool.done = NULL;
	pthread_mutex_unlock(&pool.lock);
	for (; list != NULL; list = next) {
		next = list->next;
		list->next = rev;
		rev = list;
	}
	return rev;
}
