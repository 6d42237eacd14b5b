/*
 * spawner.c -- the spawner thread: handler processes started off the
 * event loops (see spawner.h for the contract).
 *
 * One mutex, one condition variable, a FIFO of requests.  The thread
 * blocks every signal for good (no handler may ever run on a clone
 * child's borrowed stack) and keeps one child stack, mapped once with a
 * guard page below it: CLONE_VFORK returns only when the child has
 * exec'd or exited, so the next child can reuse it.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "children.h"
#include "dispatch.h"
#include "log.h"
#include "spawn.h"
#include "spawner.h"

/* The child runs sandbox and error paths only; sanitizers need more. */
#define SPAWNER_STACK	(256 * 1024)

struct spawner_req {
	struct conn *c;			/* a child to start, or NULL: */
	void (*fn)(void *);		/* a call (spawner_call()) */
	void *arg;
	int stderr_fd;
	struct spawner_req *next;
};

static struct {
	pthread_once_t once;
	int start_err;			/* errno of a failed start, or 0 */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct spawner_req *head, *tail;
	char *stack;			/* SPAWNER_STACK bytes above a guard */
	pthread_t tid;
} sp = {
	.once = PTHREAD_ONCE_INIT,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

pid_t
spawner_clone(int (*fn)(void *), void *arg)
{
	/*
	 * The stack grows down on every architecture Debian builds porterd
	 * for (hppa, the exception, is gone).
	 */
	return clone(fn, sp.stack + SPAWNER_STACK,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
}

/* Starts c's child; a child that cannot start ends c here. */
static void
spawner_start(struct conn *c, int stderr_fd)
{
	const struct service *conf = c->svc->conf;

	if (children_start(c, stderr_fd) != -1)
		return;
	log_warn("service %s: %s %s", conf->name,
	    conf->kind == HANDLER_EXEC ? "exec" : "fork",
	    conf->kind == HANDLER_EXEC ? conf->handler : "handler");
	c->pid = -1;
	dispatch_done(c);
}

static void *
spawner_main(void *arg)
{
	struct spawner_req *r;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&sp.lock);
		while (sp.head == NULL)
			pthread_cond_wait(&sp.cond, &sp.lock);
		r = sp.head;
		if ((sp.head = r->next) == NULL)
			sp.tail = NULL;
		pthread_mutex_unlock(&sp.lock);
		if (r->c != NULL)
			spawner_start(r->c, r->stderr_fd);
		else
			r->fn(r->arg);
		free(r);
	}
	return NULL;
}

static void
spawner_once(void)
{
	long page = sysconf(_SC_PAGESIZE);
	pthread_attr_t attr;
	sigset_t all, old;
	char *m;
	int r;

	m = mmap(NULL, SPAWNER_STACK + (size_t)page, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (m == MAP_FAILED || mprotect(m, (size_t)page, PROT_NONE) == -1) {
		sp.start_err = errno;
		return;
	}
	sp.stack = m + page;
	/*
	 * The thread inherits the mask: every signal blocked, for good.
	 * (glibc keeps its two reserved ones out of a sigfillset(); the
	 * children reset the whole mask through the kernel anyway.)
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&sp.tid, &attr, spawner_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		sp.start_err = r;
}

/* Queues r (filled by the caller).  Returns 0, or -1 with errno. */
static int
spawner_queue(struct spawner_req *r)
{
	pthread_once(&sp.once, spawner_once);
	if (sp.start_err != 0) {
		free(r);
		errno = sp.start_err;
		return -1;
	}
	r->next = NULL;
	pthread_mutex_lock(&sp.lock);
	if (sp.tail != NULL)
		sp.tail->next = r;
	else
		sp.head = r;
	sp.tail = r;
	pthread_cond_signal(&sp.cond);
	pthread_mutex_unlock(&sp.lock);
	return 0;
}

int
spawner_submit(struct conn *c, int stderr_fd)
{
	struct spawner_req *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->c = c;
	r->stderr_fd = stderr_fd;
	return spawner_queue(r);
}

int
spawner_call(void (*fn)(void *), void *arg)
{
	struct spawner_req *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->fn = fn;
	r->arg = arg;
	return spawner_queue(r);
}
