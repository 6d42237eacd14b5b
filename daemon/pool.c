/*
 * pool.c -- porterd's side of worker pools (see pool.h; the pool
 * process is poolworker.c).
 *
 * A pool is STARTING from the moment its process is spawned until it
 * says READY (connections submitted meanwhile wait in a FIFO), READY
 * while it serves, and DOWN after it failed or exited: its connections
 * are finished as not started, and the next connection starts a new pool
 * process.
 *
 * A crash loop (backoff.h) of the pool process (it went down 3 times
 * within 10 s without serving) pauses the pool here: no restart, and
 * connections are refused quietly (counted under "backoff", no line
 * each); the pause grows from 1 s to 30 s while the failures go on.  A
 * crash loop of its workers (3 died before their first connection) is
 * the pool process's to pause: it forks none for a while, its idle
 * workers still serve, and it REFUSEs (quietly, "backoff" too) what it
 * cannot place; it tells porterd when the episode starts and ends
 * (BACKOFF).  Each episode is logged twice: at its start, with the count,
 * the last failure and the pause, and at its end ("recovered").
 *
 * A pool belongs to every svc that points to it (refs): one, or after a
 * reload that changed nothing it depends on, the old svc and its
 * successors (pool_share()); the last pool_free() closes it.
 *
 * Connections in the pool are kept in a list per pool, found by their
 * connection id (c->id).  The pools' sockets are watched by an epoll of
 * this file's own; the control loop watches that one descriptor
 * (pool_init()) and reads the pools' messages on its thread.
 *
 * Threads: event loops submit (pool_submit()), the spawner thread starts
 * pool processes (pool_start(), off the loops), the control thread reads
 * the pools and learns of their exits (pool_reaped()), and the last
 * reference to a svc, on any thread, frees its pool.  One mutex guards
 * every pool.  Connections are never ended under it: whatever ends is
 * gathered on a list and given to dispatch_done() after the unlock (that
 * can drop the svc's last reference, and so call pool_free()).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "children.h"
#include "conn.h"
#include "dispatch.h"
#include "evloop.h"
#include "log.h"
#include "loader.h"
#include "pool.h"
#include "pool_proto.h"
#include "poolexe.h"
#include "privs.h"
#include "sandbox.h"
#include "spawn.h"
#include "spawner.h"
#include "svc.h"
#include "timeouts.h"

extern char **environ;

enum pool_state { POOL_STARTING, POOL_UP, POOL_DOWN };

struct pool {
	char *name;			/* the service's, for logs */
	unsigned refs;			/* svcs that point here: a reload
					 * shares the pool of an unchanged
					 * service with its successor */
	struct svc *starter;		/* STARTING: the svc (a reference)
					 * the spawner starts it for */
	enum pool_state state;
	pid_t pid;
	int fd;				/* -1 when down */
	struct conn *waiting, *wtail;	/* submitted before READY */
	struct conn *running;		/* in the pool, through ->next */
	struct backoff bo;		/* its crash loop, if any: downs */
	bool workers_failing;		/* its workers' episode (BACKOFF) */
	bool launcher;			/* starts an exec service's programs */
	bool want_out;			/* POLLOUT asked for: waiting to send */
	struct pool *next;		/* every pool, for pool_reaped() */
};

static struct {
	pthread_mutex_t lock;
	struct ev ev;			/* ev.fd: the pools' epoll */
	int exe;			/* porterd's binary (spawn.h), or -1 */
	struct pool *all;
} pools = { .lock = PTHREAD_MUTEX_INITIALIZER, .ev = { -1, NULL },
    .exe = -1 };

static void pool_events(struct ev *ev, uint32_t events, struct evloop *L);

struct ev *
pool_init(void)
{
	if ((pools.ev.fd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return NULL;
	/* porterd-pool (poolexe.h); failing that, /proc/self/exe. */
	pools.exe = poolexe_open();
	pools.ev.fn = pool_events;
	return &pools.ev;
}

/* True if conf's pool is a launcher of exec'd handlers (pool.h). */
static bool
pool_launches(const struct service *conf)
{
	return conf->kind == HANDLER_EXEC && !conf->wait &&
	    conf->sandbox != NULL && conf->sandbox->launcher;
}

/*
 * Ends the gathered conns (lock not held: children.c's lock is taken
 * here, never under ours), oldest first.  A launcher's program that has
 * exited may have left its group behind, and one whose launcher died
 * runs on as porterd's child: children.c ends those.
 */
static void
pool_finish(struct conn *done)
{
	struct conn *c, *rev = NULL;

	for (; done != NULL; done = c) {
		c = done->next;
		done->next = rev;
		rev = done;
	}
	for (; rev != NULL; rev = c) {
		c = rev->next;
		if (rev->orphaned) {
			rev->orphaned = false;
			if (children_adopt(rev))
				continue;
		} else if (rev->pid > 0 && pool_launches(rev->svc->conf) &&
		    children_linger(rev)) {
			continue;
		}
		dispatch_done(rev);
	}
}

bool
pool_applies(const struct service *conf)
{
	return (conf->kind == HANDLER_PLUGIN &&
	    conf->isolation == ISOLATION_PROCESS && !conf->wait) ||
	    pool_launches(conf);
}

/* What the logs call p's process. */
static const char *
pool_what(const struct pool *p)
{
	return p->launcher ? "launcher" : "worker pool";
}

/*
 * The SETUP message: everything the pool process needs to know, and so
 * what tells whether a reloaded service can keep its pool
 * (pool_share()).  `compare` adds what the pool gets otherwise (the
 * Landlock paths its ruleset descriptor was built from).
 */
static int
pool_setup_msg(const struct svc *svc, struct pool_tlv_buf *b, bool compare)
{
	const struct service *conf = svc->conf;
	struct pool_hdr h = { POOL_MAGIC, POOL_SETUP };
	uint32_t u[4];
	uint32_t *ids;
	size_t i;

	pool_tlv_start(b, &h, sizeof(h));
	pool_tlv_put_str(b, POOL_T_NAME, conf->name);
	if (pool_launches(conf)) {
		u[0] = (uint32_t)conf->stderr_mode;
		pool_tlv_put(b, POOL_T_EXEC, u, 4);
		pool_tlv_put_str(b, POOL_T_PLUGIN, conf->handler);
		for (i = 0; svc->argv[i] != NULL; i++)
			pool_tlv_put_str(b, POOL_T_ARG, svc->argv[i]);
		for (i = 0; i < conf->nenv; i++)
			pool_tlv_put_str(b, POOL_T_ENV, conf->env[i]);
	} else {
		pool_tlv_put_str(b, POOL_T_PLUGIN, svc->plugin->path);
		for (i = 0; i < conf->nargs; i++)
			pool_tlv_put_str(b, POOL_T_ARG, conf->args[i]);
	}
	u[0] = (uint32_t)conf->socktype;
	u[1] = (uint32_t)conf->protocol;
	pool_tlv_put(b, POOL_T_SOCKTYPE, u, 8);
	u[0] = (uint32_t)log_gettarget();
	u[1] = (uint32_t)log_getlevel();
	pool_tlv_put(b, POOL_T_LOG, u, 8);
	if (conf->set_user) {
		if ((ids = calloc((size_t)svc->ngroups + 2, 4)) == NULL)
			return -1;
		ids[0] = (uint32_t)conf->uid;
		ids[1] = (uint32_t)conf->gid;
		for (i = 0; i < (size_t)svc->ngroups; i++)
			ids[i + 2] = (uint32_t)svc->groups[i];
		pool_tlv_put(b, POOL_T_USER, ids,
		    ((size_t)svc->ngroups + 2) * 4);
		free(ids);
	}
	u[0] = privs_active();
	pool_tlv_put(b, POOL_T_DROPCAPS, u, 4);
	u[0] = conf->pool_min;
	u[1] = conf->pool_max;
	u[2] = conf->reuse;
	u[3] = conf->pool_idle;
	pool_tlv_put(b, POOL_T_POOL, u, 16);
	if (conf->sandbox != NULL) {
		const struct sandbox *sb = conf->sandbox;
		struct sandbox v = *sb;
		size_t k;

		/* Pointers and descriptors: porterd's, not the pool's. */
		v.chroot = v.workdir = v.seccomp_profile = NULL;
		v.deny = NULL;
		v.bpf = NULL;
		for (k = 0; k < SB_LL_NKINDS; k++)
			v.ll_paths[k] = NULL;
		v.ll_fd = sb->ll_fd >= 0 ? 0 : -1;
		pool_tlv_put(b, POOL_T_SANDBOX, &v, sizeof(v));
		for (k = 0; compare && k < SB_LL_NKINDS; k++)
			for (i = 0; i < sb->ll_npaths[k]; i++)
				pool_tlv_put_str(b, POOL_T_LANDLOCK,
				    sb->ll_paths[k][i]);
		if (sb->chroot != NULL)
			pool_tlv_put_str(b, POOL_T_CHROOT, sb->chroot);
		if (sb->workdir != NULL)
			pool_tlv_put_str(b, POOL_T_WORKDIR, sb->workdir);
		if (sb->seccomp && sb->bpf != NULL)
			pool_tlv_put(b, POOL_T_BPF, sb->bpf, sb->bpf_len * 8);
	}
	return b->failed || b->len > POOL_MSG_MAX ? -1 : 0;
}

/*
 * The pool process's environment: porterd's plus LD_BIND_NOW=1, so the
 * dynamic linker binds every symbol once, in the pool process.  Lazily
 * bound, each worker forked from it would look up the same symbols
 * again on its first calls and write them into pages shared with the
 * pool process -- a copy-on-write fault each, per worker, and with
 * reuse = 1 per connection.  poolworker_main() takes the variable out
 * again, so the plugin does not see it.  Returns a new array (free(),
 * not the strings), or NULL.
 */
static char **
pool_env(void)
{
	static char bind_now[] = "LD_BIND_NOW=1";
	char **env;
	size_t n;

	for (n = 0; environ[n] != NULL; n++)
		;
	if ((env = calloc(n + 2, sizeof(*env))) == NULL)
		return NULL;
	memcpy(env, environ, n * sizeof(*env));
	env[n] = bind_now;
	return env;
}

/*
 * Starts the pool's process for svc (spawner thread, lock held: the pid
 * is known before the control thread can reap it).  Returns 0, or -1
 * (logged).
 */
static int
pool_start(struct pool *p, const struct svc *svc)
{
	const struct service *conf = svc->conf;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = p };
	struct pool_tlv_buf b = { NULL, 0, 0, 0 };
	struct spawn_pool_args a;
	char argv0[128];
	char **env;
	int sv[2];

	if (conf->sandbox != NULL && conf->sandbox->seccomp &&
	    conf->sandbox->seccomp_action == SB_SECCOMP_KILL &&
	    sandbox_watch_start() == -1)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("service %s: worker pool socketpair", conf->name);
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.ctl = sv[1];
	a.ll_fd = conf->sandbox != NULL ? conf->sandbox->ll_fd : -1;
	a.channel = sandbox_channel_fd();
	/* A launcher's fd 2 is its programs' stderr in "log" mode. */
	a.err_fd = p->launcher ? dispatch_stderr_fd(svc) :
	    log_gettarget() == LOG_TARGET_STDERR ? 2 : -1;
	a.exe = pools.exe;
	a.env = env = pool_env();
	a.keep_caps = privs_active();
	snprintf(argv0, sizeof(argv0), "porterd: %s pool", conf->name);
	a.argv0 = argv0;
	p->pid = env != NULL ? spawner_clone(spawn_pool_child, &a) : -1;
	free(env);	/* the child has exec'd (or failed): vfork */
	close(sv[1]);
	if (p->pid == -1) {
		log_warn("service %s: starting the %s", conf->name,
		    pool_what(p));
		close(sv[0]);
		return -1;
	}
	/* The pool reads SETUP once it runs; the socket buffers it. */
	if (pool_setup_msg(svc, &b, false) == -1 ||
	    pool_send(sv[0], b.data, b.len, -1) == -1) {
		log_warn("service %s: %s setup", conf->name, pool_what(p));
		free(b.data);
		close(sv[0]);
		kill(p->pid, SIGKILL);
		return -1;
	}
	free(b.data);
	/* Non-blocking from here: the loop must never wait on a pool. */
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1 ||
	    epoll_ctl(pools.ev.fd, EPOLL_CTL_ADD, sv[0], &ev) == -1) {
		log_warn("service %s: %s socket", conf->name, pool_what(p));
		close(sv[0]);
		kill(p->pid, SIGKILL);
		return -1;
	}
	p->fd = sv[0];
	p->want_out = false;
	log_debug("service %s: %s started, pid %ld", conf->name,
	    pool_what(p), (long)p->pid);
	return 0;
}

/* Asks the pools' epoll for p's POLLOUT too (a queue waits), or not. */
static void
pool_want_out(struct pool *p, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = p };

	if (p->fd < 0 || p->want_out == out)
		return;
	if (out)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(pools.ev.fd, EPOLL_CTL_MOD, p->fd, &ev) == 0)
		p->want_out = out;
}

/* Copies an address's len bytes only: the rest was never written. */
static void
pool_addr_copy(pt_addr *to, const pt_addr *from)
{
	size_t len = from->len <= sizeof(to->ss) ? from->len : 0;

	memcpy(&to->ss, &from->ss, len);
	to->len = (socklen_t)len;
}

/*
 * Sends c into the pool, with the vars its edge found (TLS, PROXY) after
 * the message's struct.  Returns 0, or -1 with errno (EMSGSIZE: the vars
 * do not fit in a message).
 */
static int
pool_send_conn(struct pool *p, struct conn *c)
{
	const char *const *vars = c->vars;
	size_t i, n = 0, len = 0, off;
	struct pool_conn_msg *m, one;
	int r;

	for (; vars != NULL && vars[n] != NULL; n++)
		len += strlen(vars[n]) + 1;
	if (len > POOL_MSG_MAX - sizeof(*m)) {
		errno = EMSGSIZE;
		return -1;
	}
	if (len == 0)
		m = &one;
	else if ((m = malloc(sizeof(*m) + len)) == NULL)
		return -1;
	memset(m, 0, sizeof(*m));
	m->h.magic = POOL_MAGIC;
	m->h.type = POOL_CONN;
	m->id = c->id;
	pool_addr_copy(&m->peer, &c->peer);
	pool_addr_copy(&m->local, &c->local);
	m->nvars = (uint32_t)n;
	m->vars_len = (uint32_t)len;
	for (i = 0, off = sizeof(*m); i < n; i++) {
		size_t l = strlen(vars[i]) + 1;

		memcpy((char *)m + off, vars[i], l);
		off += l;
	}
	r = pool_send(p->fd, m, sizeof(*m) + len, c->fd);
	if (m != &one)
		free(m);
	if (r == -1)
		return -1;
	/*
	 * An exec'd program has the connection now: as children_start()
	 * does, keep no copy unless an idle timeout must watch it, or the
	 * peer would not see EOF when the program closes its end early.
	 */
	if (p->launcher && c->svc->conf->limits.idle_timeout == 0)
		evloop_conn_close_fd(c);
	c->next = p->running;
	p->running = c;
	return 0;
}

/*
 * A crash loop's episode begins: its one line.  what failed fails times
 * since it last served, the last time as why; nothing is started for ms.
 */
static void
pool_episode(const struct pool *p, const char *what, unsigned fails,
    const char *why, int64_t ms)
{
	log_warnx("service %s: %s %u times in a row (the last: %s); refusing "
	    "connections for %lld s, then for up to %d s at a time while it "
	    "goes on", p->name, what, fails, why, (long long)(ms + 999) / 1000,
	    BACKOFF_MAX_MS / 1000);
}

/* Gathers c on *done, as turned away by the pool's pause: no line. */
static void
pool_refuse_conn(struct conn *c, struct conn **done)
{
	c->refused = true;
	c->next = *done;
	*done = c;
}

/* Gathers c on *done, as "could not be started". */
static void
pool_fail_conn(struct conn *c, struct conn **done)
{
	conn_started(c);	/* counted as one that could not start */
	c->pid = -1;
	c->next = *done;
	*done = c;
}

/*
 * The pool is gone: gather everything it had on *done, remember the
 * crash.
 */
static void
pool_down(struct pool *p, const char *why, struct conn **done)
{
	struct conn *c, *next;
	unsigned n = 0;
	/* In an episode: logged at its start, its failures are quiet. */
	bool quiet = p->bo.delay > 0, first;
	int64_t now = backoff_now(), pause;

	p->workers_failing = false;	/* that process's episode: gone */
	if (p->fd >= 0) {
		epoll_ctl(pools.ev.fd, EPOLL_CTL_DEL, p->fd, NULL);
		close(p->fd);
		p->fd = -1;
	}
	/*
	 * Given up on while it may still run (garbage on its socket): a
	 * launcher's programs become porterd's only once it is gone.
	 */
	if (p->launcher && p->pid > 0)
		(void)kill(p->pid, SIGKILL);
	p->want_out = false;
	p->state = POOL_DOWN;
	for (c = p->running; c != NULL; c = next, n++) {
		next = c->next;
		/* A launcher's programs live on, re-parented to porterd. */
		if (p->launcher && c->pid > 0) {
			c->orphaned = true;
			c->next = *done;
			*done = c;
			continue;
		}
		c->cut = "worker pool lost";
		pool_fail_conn(c, done);
	}
	p->running = NULL;
	log_msg(quiet ? LOG_DEBUG : LOG_WARNING, "service %s: %s pid %ld: "
	    "%s%s", p->name, pool_what(p), (long)p->pid, why, n == 0 ? "" :
	    p->launcher ? ", its running programs are now porterd's "
	    "children" : ", its connections are lost");
	pause = backoff_fail(&p->bo, now, &first);
	if (first)
		pool_episode(p, p->launcher ? "launcher failed" :
		    "worker pool failed", p->bo.count, why, pause);
	/* Submitted for this start: refused with the ones that follow. */
	for (c = p->waiting; c != NULL; c = next) {
		next = c->next;
		if (backoff_paused(&p->bo, now))
			pool_refuse_conn(c, done);
		else
			pool_fail_conn(c, done);
	}
	p->waiting = p->wtail = NULL;
}

/* Spawner thread: starts p's process for the connections waiting. */
static void
pool_start_job(void *arg)
{
	struct pool *p = arg;
	struct svc *svc;
	struct conn *done = NULL;

	pthread_mutex_lock(&pools.lock);
	svc = p->starter;
	p->starter = NULL;
	if (pool_start(p, svc) == -1)
		pool_down(p, "could not be started", &done);
	pthread_mutex_unlock(&pools.lock);
	pool_finish(done);
	svc_unref(svc);		/* pool_submit()'s: p may go with it */
}

int
pool_submit(struct conn *c)
{
	struct svc *svc = c->svc;
	struct pool *p;
	int r = 0;

	pthread_mutex_lock(&pools.lock);
	if ((p = svc->pool) != NULL && backoff_paused_now(&p->bo)) {
		r = 1;		/* not started: counted as refused only */
		goto out;
	}
	if (p == NULL) {
		if ((p = calloc(1, sizeof(*p))) == NULL) {
			r = -1;
			goto out;
		}
		if ((p->name = strdup(svc->conf->name)) == NULL) {
			free(p);
			r = -1;
			goto out;
		}
		p->refs = 1;
		p->fd = -1;
		p->state = POOL_DOWN;
		p->launcher = pool_launches(svc->conf);
		p->next = pools.all;
		pools.all = p;
		svc->pool = p;
	}
	if (p->state == POOL_DOWN) {
		/* Not on this loop: the spawner starts the process. */
		svc_ref(svc);
		p->starter = svc;
		if (spawner_call(pool_start_job, p) == -1) {
			p->starter = NULL;
			svc_unref(svc);	/* c holds one too: not the last */
			r = -1;
			goto out;
		}
		if (p->bo.delay > 0)
			log_debug("service %s: starting the %s again",
			    svc->conf->name, pool_what(p));
		p->state = POOL_STARTING;
	}
	/*
	 * Behind those already waiting, or when the pool's socket is full
	 * (a burst faster than the pool takes it): queued, and sent when
	 * the socket can take it (pool_flush()), never waited for here.
	 */
	if (p->state == POOL_STARTING || p->waiting != NULL ||
	    (r = pool_send_conn(p, c)) == -1) {
		if (r == -1 && errno != EAGAIN)
			goto out;
		r = 0;
		c->next = NULL;
		if (p->wtail != NULL)
			p->wtail->next = c;
		else
			p->waiting = c;
		p->wtail = c;
		if (p->state == POOL_UP)
			pool_want_out(p, true);
	}
out:
	pthread_mutex_unlock(&pools.lock);
	return r;
}

/* Takes the running conn with this id off p's list, or NULL. */
static struct conn *
pool_take(struct pool *p, uint64_t id, bool remove)
{
	struct conn **cp, *c;

	for (cp = &p->running; (c = *cp) != NULL; cp = &c->next) {
		if (c->id != id)
			continue;
		if (remove)
			*cp = c->next;
		return c;
	}
	return NULL;
}

/*
 * Sends the waiting conns, oldest first, until the pool's socket is full
 * (then POLLOUT is asked for, and this runs again when it is writable).
 */
static void
pool_flush(struct pool *p, struct conn **done)
{
	struct conn *c;

	while ((c = p->waiting) != NULL) {
		p->waiting = c->next;
		if (p->waiting == NULL)
			p->wtail = NULL;
		/* Cut while it waited: nothing to start. */
		if (c->cut != NULL) {
			pool_fail_conn(c, done);
			continue;
		}
		if (pool_send_conn(p, c) == 0)
			continue;
		if (errno == EAGAIN) {
			c->next = p->waiting;
			p->waiting = c;
			if (p->wtail == NULL)
				p->wtail = c;
			pool_want_out(p, true);
			return;
		}
		log_warn("service %s: handing a connection to the %s",
		    p->name, pool_what(p));
		pool_fail_conn(c, done);
	}
	pool_want_out(p, false);
}

static void
pool_up(struct pool *p, struct conn **done)
{
	p->state = POOL_UP;
	pool_flush(p, done);
}

/* Every message p has for us (lock held); ended conns go on *done. */
static void
pool_read(struct pool *p, struct conn **done)
{
	union {
		struct pool_hdr h;
		struct pool_started_msg st;
		struct pool_done_msg d;
		struct pool_text_msg t;
		struct pool_backoff_msg b;
	} m;
	struct conn *c;
	unsigned fails;
	ssize_t n;
	int fd;

	while (p->fd >= 0) {
		n = pool_recv(p->fd, &m, sizeof(m), &fd, 0);
		if (fd >= 0)
			close(fd);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			pool_down(p, n == 0 ? "exited" : "sent garbage", done);
			return;
		}
		switch (m.h.type) {
		case POOL_READY:
			if ((size_t)n == sizeof(m.t))
				pool_up(p, done);
			break;
		case POOL_FAIL:
			if ((size_t)n == sizeof(m.t)) {
				m.t.text[sizeof(m.t.text) - 1] = '\0';
				pool_down(p, m.t.text, done);
				return;
			}
			break;
		case POOL_STARTED:
			if ((size_t)n != sizeof(m.st) ||
			    (c = pool_take(p, m.st.id, false)) == NULL)
				break;
			c->pid = m.st.pid;
			conn_started(c);	/* a worker took it */
			/*
			 * Cut while it waited in the pool (max-lifetime, a
			 * kill-connection): its handler goes now.
			 */
			if (c->cut != NULL)
				timeouts_kill(c);
			/* A handler runs: a crash loop is over. */
			if (p->bo.count != 0 &&
			    (fails = backoff_ok(&p->bo)) > 0)
				log_info("service %s: recovered after %u "
				    "failures, serving again", p->name, fails);
			break;
		case POOL_DONE:
			if ((size_t)n != sizeof(m.d) ||
			    (c = pool_take(p, m.d.id, true)) == NULL)
				break;
			c->pid = m.d.pid;
			conn_started(c);	/* a STARTED lost on the way */
			c->status = m.d.status;
			c->stats.bytes_in = m.d.bytes_in;
			c->stats.bytes_out = m.d.bytes_out;
			memset(&c->ru, 0, sizeof(c->ru));
			c->ru.ru_utime = m.d.utime;
			c->ru.ru_stime = m.d.stime;
			c->ru.ru_maxrss = (long)m.d.maxrss;
			c->next = *done;
			*done = c;
			break;
		case POOL_REFUSED:
			if ((size_t)n == sizeof(m.st) &&
			    (c = pool_take(p, m.st.id, true)) != NULL)
				pool_refuse_conn(c, done);
			break;
		case POOL_BACKOFF:
			/*
			 * Logged once each way.  Connections still go to the
			 * pool process: its idle workers serve them, and it
			 * REFUSEs what it cannot place.
			 */
			if ((size_t)n != sizeof(m.b))
				break;
			m.b.text[sizeof(m.b.text) - 1] = '\0';
			if (m.b.ms == 0 && p->workers_failing)
				log_info("service %s: recovered after %u "
				    "failures, serving again", p->name,
				    m.b.fails);
			else if (m.b.ms > 0 && !p->workers_failing)
				pool_episode(p, "workers died before serving",
				    m.b.fails, m.b.text, m.b.ms);
			p->workers_failing = m.b.ms > 0;
			break;
		}
	}
}

/* Control thread: the pools' epoll is readable. */
static void
pool_events(struct ev *ev, uint32_t events, struct evloop *L)
{
	struct epoll_event evs[16];
	struct conn *done = NULL;
	int i, n;

	(void)events;
	(void)L;
	/* Under the lock: no pool in evs can be freed meanwhile. */
	pthread_mutex_lock(&pools.lock);
	n = epoll_wait(ev->fd, evs, 16, 0);
	for (i = 0; i < n; i++) {
		struct pool *p = evs[i].data.ptr;

		pool_read(p, &done);
		if ((evs[i].events & EPOLLOUT) && p->state == POOL_UP)
			pool_flush(p, &done);
	}
	pthread_mutex_unlock(&pools.lock);
	pool_finish(done);
}

void
pool_reaped(pid_t pid, int status)
{
	struct pool *p;

	pthread_mutex_lock(&pools.lock);
	for (p = pools.all; p != NULL; p = p->next) {
		if (p->pid != pid)
			continue;
		/*
		 * Its socket's end tells pool_events() the pool is down.  In
		 * a crash loop's episode each end is not worth a line.
		 */
		if (status != 0)
			log_msg(p->bo.delay > 0 ? LOG_DEBUG : LOG_WARNING,
			    "service %s: %s pid %ld ended with status 0x%x",
			    p->name, pool_what(p), (long)pid,
			    (unsigned)status);
		p->pid = 0;
		break;
	}
	pthread_mutex_unlock(&pools.lock);
}

void
pool_signal_all(int sig)
{
	struct pool *p;
	struct conn *c;

	pthread_mutex_lock(&pools.lock);
	for (p = pools.all; p != NULL; p = p->next)
		for (c = p->running; c != NULL; c = c->next)
			(void)spawn_kill(c, sig);	/* c->pid: its worker */
	pthread_mutex_unlock(&pools.lock);
}

void
pool_free(struct pool *p)
{
	struct pool **pp;

	if (p == NULL)
		return;
	pthread_mutex_lock(&pools.lock);
	if (--p->refs > 0) {	/* an unchanged successor keeps it */
		pthread_mutex_unlock(&pools.lock);
		return;
	}
	/* No conn holds its svcs any more: nothing is waiting or running. */
	if (p->fd >= 0) {
		epoll_ctl(pools.ev.fd, EPOLL_CTL_DEL, p->fd, NULL);
		close(p->fd);	/* the pool drains and exits */
	}
	for (pp = &pools.all; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	pthread_mutex_unlock(&pools.lock);
	free(p->name);
	free(p);
}

void
pool_share(struct svc *old, struct svc *svc)
{
	struct pool_tlv_buf a = { NULL, 0, 0, 0 }, b = { NULL, 0, 0, 0 };

	/*
	 * Not a launcher: its fd 2 is the old svc's stderr pipe, which goes
	 * with the old svc.
	 */
	if (!pool_applies(old->conf) || !pool_applies(svc->conf) ||
	    pool_launches(old->conf) || pool_launches(svc->conf))
		return;
	/* Both messages now: the log settings in them are the same. */
	if (pool_setup_msg(old, &a, true) == -1 ||
	    pool_setup_msg(svc, &b, true) == -1 || a.len != b.len ||
	    memcmp(a.data, b.data, a.len) != 0)
		goto out;
	pthread_mutex_lock(&pools.lock);
	if (old->pool != NULL && svc->pool == NULL) {
		svc->pool = old->pool;
		svc->pool->refs++;
	}
	pthread_mutex_unlock(&pools.lock);
out:
	free(a.data);
	free(b.data);
}
