/*
 * children.c -- the pid table of handler processes, and reaping them.
 *
 * See children.h.  The table is a small hash of conns by pid under one
 * mutex.  Lingering conns (their first child exited, its process group
 * still has members) sit on a list of their own and are re-checked with
 * kill(-pgid, 0) whenever a child is reaped and on every reap call.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "children.h"
#include "conn.h"
#include "dispatch.h"
#include "evloop.h"
#include "pool.h"
#include "privs.h"
#include "spawn.h"

#define PID_BUCKETS	256

static pthread_mutex_t children_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct conn *pids[PID_BUCKETS];
static struct conn *lingering;		/* through ->next */

pid_t
children_start(struct conn *c, int stderr_fd)
{
	const struct service *conf = c->svc->conf;
	struct conn **b;
	pid_t pid;

	pthread_mutex_lock(&children_mtx);
	if (conf->kind == HANDLER_EXEC)
		pid = spawn_exec(c, stderr_fd);
	else
		pid = spawn_plugin(c, privs_active());
	if (pid > 0) {
		c->pid = pid;
		b = &pids[(unsigned)pid % PID_BUCKETS];
		c->next = *b;
		*b = c;
	}
	/*
	 * The child has the connection now.  Keep our copy only when an
	 * idle timeout must watch it: holding it would delay the peer's EOF
	 * when the program closes its end early.  (After the unlock the
	 * control thread may end c at any moment.)
	 */
	if (pid > 0 && !conf->wait && conf->limits.idle_timeout == 0)
		evloop_conn_close_fd(c);
	pthread_mutex_unlock(&children_mtx);
	return pid;
}

/* Takes pid's conn out of the table (lock held), or NULL. */
static struct conn *
children_take(pid_t pid)
{
	struct conn **pp, *c;

	for (pp = &pids[(unsigned)pid % PID_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->next) {
		if ((*pp)->pid == pid) {
			c = *pp;
			*pp = c->next;
			return c;
		}
	}
	return NULL;
}

/* True while c's process group (led by c->pid) has a member. */
static bool
children_group_alive(const struct conn *c)
{
	if (c->pid <= 0)
		return false;
	return kill(-c->pid, 0) == 0 || errno == EPERM;
}

/*
 * The last exits of processes the table did not know (grandchildren,
 * pool processes, a dead launcher's programs reaped before porterd read
 * the launcher's end): children_adopt() looks here for its pid's status.
 */
#define UNKNOWN_EXITS	64
#define UNKNOWN_SECS	10
static struct {
	pid_t pid;
	int status;
	struct rusage ru;
	time_t when;
} unknown[UNKNOWN_EXITS];
static unsigned unknown_next;

static time_t
children_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

bool
children_linger(struct conn *c)
{
	bool alive;

	pthread_mutex_lock(&children_mtx);
	if ((alive = children_group_alive(c))) {
		c->next = lingering;
		lingering = c;
	}
	pthread_mutex_unlock(&children_mtx);
	return alive;
}

bool
children_adopt(struct conn *c)
{
	time_t now = children_now();
	struct conn **b;
	siginfo_t si;
	unsigned i;

	pthread_mutex_lock(&children_mtx);
	/* Ours, running or a zombie: the reaper ends c with its status. */
	si.si_pid = 0;
	if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
		goto adopt;
	/* Reaped already, before porterd read its launcher's end? */
	for (i = 0; i < UNKNOWN_EXITS; i++) {
		if (unknown[i].pid == c->pid &&
		    now - unknown[i].when <= UNKNOWN_SECS) {
			unknown[i].pid = 0;
			c->status = unknown[i].status;
			c->ru = unknown[i].ru;
			pthread_mutex_unlock(&children_mtx);
			return children_linger(c);
		}
	}
	/*
	 * About to be ours: the kernel closes a dying process's files,
	 * which porterd saw, before it re-parents its children.
	 */
	if (kill(c->pid, 0) == 0)
		goto adopt;
	pthread_mutex_unlock(&children_mtx);
	return children_linger(c);
adopt:
	b = &pids[(unsigned)c->pid % PID_BUCKETS];
	c->next = *b;
	*b = c;
	pthread_mutex_unlock(&children_mtx);
	return true;
}

void
children_reap(void)
{
	struct conn *done = NULL, *c, **pp;
	struct rusage ru;
	pid_t pid;
	int status;

	pthread_mutex_lock(&children_mtx);
	while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0) {
		if ((c = children_take(pid)) == NULL) {
			unknown[unknown_next].pid = pid;
			unknown[unknown_next].status = status;
			unknown[unknown_next].ru = ru;
			unknown[unknown_next].when = children_now();
			unknown_next = (unknown_next + 1) % UNKNOWN_EXITS;
			pool_reaped(pid, status);	/* or a grandchild */
			continue;
		}
		c->status = status;
		c->ru = ru;		/* for its line (spawn_rusage_text()) */
		c->next = lingering;
		lingering = c;
	}
	for (pp = &lingering; (c = *pp) != NULL;) {
		if (children_group_alive(c)) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		c->next = done;
		done = c;
	}
	pthread_mutex_unlock(&children_mtx);
	for (; done != NULL; done = c) {
		c = done->next;
		dispatch_done(done);
	}
}

void
children_signal_all(int sig)
{
	struct conn *c;
	unsigned i;

	pthread_mutex_lock(&children_mtx);
	for (i = 0; i < PID_BUCKETS; i++)
		for (c = pids[i]; c != NULL; c = c->next)
			spawn_kill(c, sig);
	for (c = lingering; c != NULL; c = c->next)
		spawn_kill(c, sig);
	pthread_mutex_unlock(&children_mtx);
	pool_signal_all(sig);	/* pool workers are not in the table */
}

