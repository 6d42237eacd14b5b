/*
 * poolworker.c -- the process side of a service's worker pool (pool.h).
 *
 * porterd starts `porterd --pool-worker` (itself, re-exec'd: a clean,
 * single-threaded image) with the pool's socket on fd 3, and fd 4 / fd 5
 * the prepared Landlock ruleset / the seccomp watcher's socket when the
 * sandbox asks for them.  This process, the pool's master:
 *
 *   1. reads SETUP, loads the plugin with porterd's trust checks
 *      (plugin_load()) and calls its init, as porterd does in-process;
 *   2. applies the sandbox's root steps (namespaces, chroot, limits),
 *      switches to the service's user and drops every capability, then
 *      no_new_privs and Landlock -- everything but seccomp;
 *   3. sets every signal disposition back to SIG_DFL (the plugin's init
 *      or a sanitizer's runtime may have set some: no worker inherits
 *      them), says READY and forks workers: each a session of its own,
 *      with its own socketpair to the master; each loads the seccomp
 *      filter, says READY to the master (FAIL and why, if it cannot) and
 *      serves connections one at a time until `reuse` is reached (0:
 *      forever) or the master closes its socket.
 *
 * The master hands every CONN from porterd to an idle worker that said
 * READY (forking one when none is idle or on its way and pool-max
 * allows; queueing otherwise: a worker that dies before READY loses no
 * connection), tells porterd which worker runs it (STARTED: porterd can
 * then signal it on a timeout), and forwards the worker's DONE.  A worker that dies while it
 * serves a connection is reaped here and its connection reported DONE
 * with the signal or status -- only that connection is lost.  Idle
 * workers above pool-min exit after pool-idle-timeout.  When porterd
 * closes the pool's socket (reload, shutdown, porterd gone), the master
 * lets busy workers finish, then exits.
 *
 * Workers that keep dying before their first connection (the plugin's
 * fork handlers crash, the sandbox's limits cannot be set) are a crash
 * loop (backoff.h): after 3 within 10 s the master forks none for 1 s,
 * then for twice as long after each retry that dies too, up to 30 s.
 * Workers it has still serve; the connections none of them takes are
 * answered REFUSED (porterd ends them quietly).  It tells porterd
 * (BACKOFF) when the episode starts, for its one log line, and when the
 * first worker forked since then serves, which ends it.  Each such death
 * before an episode is logged here; none within one.
 *
 * A launcher (pool.h; SETUP has EXEC) is the same process without
 * workers: it applies the whole sandbox to itself, loads the seccomp
 * filter last, and for every CONN clones the program
 * (pw_launch()), reports it STARTED, and reports its exit DONE from its
 * pidfd, with the wait status and rusage.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "conn.h"
#include "log.h"
#include "loader.h"
#include "pool.h"
#include "pool_proto.h"
#include "sandbox.h"
#include "spawn.h"

#define PW_CTL		3	/* the socket to porterd */
#define PW_LLFD		4	/* the Landlock ruleset, if any */
#define PW_CHANNEL	5	/* the seccomp watcher's socket, if any */
#define PW_BATCH	64	/* messages read from porterd per wakeup */

/* What an event of the master's epoll is about: data.u64 = slot << 2 | */
enum { PW_EV_CTL, PW_EV_WORKER, PW_EV_EXIT };

struct pw_worker {
	pid_t pid;		/* 0: free slot */
	int pidfd;		/* readable once it has exited */
	int fd;			/* the master's end, -1 once closed */
	uint64_t id;		/* the connection it serves, 0: idle */
	unsigned served;
	time_t idle_since;
	bool started;		/* said READY: takes connections */
	bool failed;		/* said FAIL: pw.why is why */
	struct timeval used_u, used_s;	/* CPU it reported at its last DONE */
	int64_t born;		/* forked at (backoff_now()) */
};

struct pw_pending {
	int fd;
	size_t len;		/* of msg: a CONN and its vars */
	struct pw_pending *next;
	_Alignas(struct pool_conn_msg) unsigned char msg[];
};

static struct {
	struct service conf;
	struct svc svc;
	struct sandbox sb;
	bool has_sb;
	bool drop_caps;
	struct plugin_registry reg;
	unsigned min, max, reuse, idle;
	struct pw_worker *w;	/* slots */
	size_t nw;
	unsigned alive;
	struct pw_pending *qhead, *qtail;
	bool draining;		/* porterd closed the pool's socket */
	bool exec;		/* a launcher: starts the service's program
				 * per connection, no workers */
	int null_fd;		/* a launcher's /dev/null, opened before the
				 * sandbox could hide it */
	char *stack;		/* a launcher's clone stack */
	unsigned char *buf;	/* POOL_MSG_MAX bytes: a message read */
	int ep;			/* the master's epoll */
	struct backoff bo;	/* workers dying before their first connection */
	int64_t bo_since;	/* its episode began (backoff_now()); 0: none */
	char why[512];		/* the text of the last FAIL a worker sent */
} pw;

/* STARTED and DONE messages for porterd, gathered (pw_post()). */
static struct {
	union {
		struct pool_started_msg st;
		struct pool_done_msg d;
	} m[PW_BATCH];
	size_t len[PW_BATCH];
	unsigned n;
} pw_out;

static time_t
pw_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
pw_fail(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

/* Tells porterd why this pool cannot serve, and exits. */
static void
pw_fail(const char *fmt, ...)
{
	struct pool_text_msg m;
	va_list ap;

	memset(&m, 0, sizeof(m));
	m.h.magic = POOL_MAGIC;
	m.h.type = POOL_FAIL;
	m.pid = (int32_t)getpid();
	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	va_end(ap);
	(void)pool_send(PW_CTL, &m, sizeof(m), -1);
	_exit(1);
}

static uint32_t
pw_u32(const unsigned char *v, size_t vlen, size_t i)
{
	uint32_t x = 0;

	if ((i + 1) * 4 <= vlen)
		memcpy(&x, v + i * 4, 4);
	return x;
}

static char *
pw_str(const unsigned char *v, size_t vlen)
{
	if (vlen == 0 || v[vlen - 1] != '\0')
		pw_fail("setup: malformed string");
	return strdup((const char *)v);
}

/* Reads SETUP into pw.conf, pw.svc and pw.sb. */
static void
pw_setup(char **plugin)
{
	unsigned char *buf;
	const unsigned char *v;
	struct pool_hdr h;
	size_t off = sizeof(h), vlen, nargs = 0, i;
	uint16_t type;
	ssize_t n;
	int fd, r, target = LOG_TARGET_STDERR, level = LOG_INFO;

	if ((buf = malloc(POOL_MSG_MAX)) == NULL)
		pw_fail("out of memory");
	n = pool_recv(PW_CTL, buf, POOL_MSG_MAX, &fd, 0);
	if (n <= 0)
		_exit(n == 0 ? 0 : 1);
	if (fd >= 0)
		close(fd);
	memcpy(&h, buf, sizeof(h));
	if (h.type != POOL_SETUP)
		pw_fail("setup: unexpected message %u", h.type);
	pw.conf.args = calloc(1, sizeof(char *));
	sandbox_init_spec(&pw.sb);
	pw.conf.kind = HANDLER_PLUGIN;
	pw.conf.isolation = ISOLATION_PROCESS;
	while ((r = pool_tlv_next(buf, (size_t)n, &off, &type, &v,
	    &vlen)) == 1) {
		switch (type) {
		case POOL_T_NAME:
			pw.conf.name = pw_str(v, vlen);
			break;
		case POOL_T_PLUGIN:
			*plugin = pw_str(v, vlen);
			pw.conf.handler = *plugin;
			break;
		case POOL_T_ARG:
			pw.conf.args = realloc(pw.conf.args,
			    (nargs + 2) * sizeof(char *));
			if (pw.conf.args == NULL)
				pw_fail("out of memory");
			pw.conf.args[nargs++] = pw_str(v, vlen);
			pw.conf.args[nargs] = NULL;
			break;
		case POOL_T_SOCKTYPE:
			pw.conf.socktype = (int)pw_u32(v, vlen, 0);
			pw.conf.protocol = (int)pw_u32(v, vlen, 1);
			break;
		case POOL_T_EXEC:
			pw.exec = true;
			pw.conf.kind = HANDLER_EXEC;
			pw.conf.isolation = ISOLATION_THREAD;
			pw.conf.stderr_mode = (enum stderr_mode)pw_u32(v,
			    vlen, 0);
			break;
		case POOL_T_ENV:
			pw.conf.env = realloc(pw.conf.env,
			    (pw.conf.nenv + 2) * sizeof(char *));
			if (pw.conf.env == NULL)
				pw_fail("out of memory");
			pw.conf.env[pw.conf.nenv++] = pw_str(v, vlen);
			pw.conf.env[pw.conf.nenv] = NULL;
			break;
		case POOL_T_LOG:
			target = (int)pw_u32(v, vlen, 0);
			level = (int)pw_u32(v, vlen, 1);
			break;
		case POOL_T_USER:
			pw.conf.set_user = true;
			pw.conf.uid = (uid_t)pw_u32(v, vlen, 0);
			pw.conf.gid = (gid_t)pw_u32(v, vlen, 1);
			pw.svc.ngroups = (int)(vlen / 4 - 2);
			pw.svc.groups = calloc((size_t)pw.svc.ngroups + 1,
			    sizeof(gid_t));
			if (pw.svc.groups == NULL)
				pw_fail("out of memory");
			for (i = 0; i < (size_t)pw.svc.ngroups; i++)
				pw.svc.groups[i] = (gid_t)pw_u32(v, vlen, i + 2);
			break;
		case POOL_T_DROPCAPS:
			pw.drop_caps = pw_u32(v, vlen, 0) != 0;
			break;
		case POOL_T_POOL:
			pw.min = pw_u32(v, vlen, 0);
			pw.max = pw_u32(v, vlen, 1);
			pw.reuse = pw_u32(v, vlen, 2);
			pw.idle = pw_u32(v, vlen, 3);
			break;
		case POOL_T_SANDBOX:
			if (vlen != sizeof(pw.sb))
				pw_fail("setup: sandbox of %zu bytes", vlen);
			memcpy(&pw.sb, v, sizeof(pw.sb));
			/* Pointers from porterd's memory: not ours. */
			pw.sb.chroot = pw.sb.workdir = NULL;
			pw.sb.seccomp_profile = NULL;
			pw.sb.deny = NULL;
			pw.sb.bpf = NULL;
			for (i = 0; i < SB_LL_NKINDS; i++)
				pw.sb.ll_paths[i] = NULL;
			pw.sb.ll_fd = pw.sb.ll_fd >= 0 ? PW_LLFD : -1;
			pw.has_sb = true;
			break;
		case POOL_T_CHROOT:
			pw.sb.chroot = pw_str(v, vlen);
			break;
		case POOL_T_WORKDIR:
			pw.sb.workdir = pw_str(v, vlen);
			break;
		case POOL_T_BPF:
			if ((pw.sb.bpf = malloc(vlen + 1)) == NULL)
				pw_fail("out of memory");
			memcpy(pw.sb.bpf, v, vlen);
			pw.sb.bpf_len = vlen / 8;	/* struct sock_filter */
			break;
		default:
			break;	/* a newer porterd's record: not needed */
		}
	}
	if (r == -1 || pw.conf.name == NULL || *plugin == NULL ||
	    (pw.exec && nargs == 0))
		pw_fail("setup: malformed");
	pw.conf.nargs = nargs;
	pw.svc.conf = &pw.conf;
	if (pw.exec) {
		/* ARG is the program's argv, argv[0] first. */
		pw.svc.argv = pw.conf.args;
		pw.conf.sandbox = pw.has_sb ? &pw.sb : NULL;
	}
	log_init((enum log_target)target, level, "porterd");
	free(buf);
}

/* Loads the plugin and calls its init, as svc.c does in porterd. */
static void
pw_plugin(const char *path)
{
	char why[512];
	pt_plugin_ctx ctx;
	pt_error err;

	pw.svc.plugin = plugin_load(&pw.reg, path, why, sizeof(why));
	if (pw.svc.plugin == NULL)
		pw_fail("%s", why);
	if (pw.svc.plugin->desc->init == NULL)
		return;
	plugin_ctx(&ctx, &pw.svc, NULL);
	pt_error_clear(&err);
	if (pw.svc.plugin->desc->init(&ctx, &pw.svc.state, &err) != 0)
		pw_fail("plugin %s refused its configuration: %s",
		    pw.svc.plugin->desc->name,
		    err.msg[0] != '\0' ? err.msg : "no reason given");
	pw.svc.inited = true;
}

/*
 * Everything the workers or programs share: namespaces, chroot, user,
 * capabilities, no_new_privs, Landlock.  Not the resource limits (each
 * worker or program takes its own: the master's CPU time is not theirs)
 * nor seccomp (a worker loads it for itself, a launcher once it is set
 * up, in poolworker_main()).
 */
static void
pw_confine(void)
{
	struct __user_cap_header_struct ch = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct cd[2];
	const struct sandbox *sb = pw.has_sb ? &pw.sb : NULL;
	const char *why = NULL;

	if (sandbox_apply_shared(sb, &why) == -1)
		pw_fail("%s: %s", why, strerror(errno));
	if (pw.conf.set_user && (geteuid() == 0 ||
	    pw.conf.uid != geteuid() || pw.conf.gid != getegid())) {
		if (setgroups((size_t)pw.svc.ngroups, pw.svc.groups) == -1)
			pw_fail("setgroups: %s", strerror(errno));
		if (setresgid(pw.conf.gid, pw.conf.gid, pw.conf.gid) == -1)
			pw_fail("setgid: %s", strerror(errno));
		if (setresuid(pw.conf.uid, pw.conf.uid, pw.conf.uid) == -1)
			pw_fail("setuid: %s", strerror(errno));
	}
	memset(cd, 0, sizeof(cd));
	if (pw.drop_caps && syscall(SYS_capset, &ch, cd) == -1)
		pw_fail("dropping capabilities: %s", strerror(errno));
	/*
	 * Not traceable, not even by a handler of its own uid: this
	 * process holds porterd's socket and the seccomp watcher's.  (An
	 * exec'd program is dumpable again; workers stay as they are.)
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		pw_fail("PR_SET_DUMPABLE: %s", strerror(errno));
	if (sandbox_apply_user(sb, &why) == -1)
		pw_fail("%s: %s", why, strerror(errno));
	/* The ruleset is in force; nothing started from here needs it. */
	if (pw.has_sb && pw.sb.ll_fd >= 0) {
		close(pw.sb.ll_fd);
		pw.sb.ll_fd = -1;
	}
}

/*
 * The process title (what ps and /proc/PID/cmdline show): argv's strings
 * are one block of memory, rewritten in place ("porterd: echo worker"),
 * cut to fit and padded with NULs.  The block is porterd's exec of
 * "porterd: SERVICE pool" "--pool-worker", so both titles fit whole.
 */
static char *pw_title_at;
static size_t pw_title_len;
static char *pw_title_worker;	/* a worker's block, made once: a fork
				 * then copies it without printf's pages
				 * (each page a new worker touches costs
				 * it a fault) */

static void
pw_title_format(char *at, const char *role)
{
	memset(at, 0, pw_title_len);
	snprintf(at, pw_title_len, "porterd: %s %s", pw.conf.name, role);
}

static void
pw_title(const char *role)
{
	if (pw_title_at == NULL)
		return;
	pw_title_format(pw_title_at, role);
	if (pw_title_worker == NULL &&
	    (pw_title_worker = malloc(pw_title_len)) != NULL)
		pw_title_format(pw_title_worker, "worker");
}

/* In a new worker: its title, from the block pw_title() made. */
static void
pw_title_as_worker(void)
{
	if (pw_title_at != NULL && pw_title_worker != NULL)
		memcpy(pw_title_at, pw_title_worker, pw_title_len);
}

/*
 * A CONN message of n bytes in buf: the struct and its vars.  Returns it,
 * or NULL if malformed.
 */
static const struct pool_conn_msg *
pw_conn_msg(const unsigned char *buf, ssize_t n)
{
	const struct pool_conn_msg *m = (const void *)buf;

	if (n < (ssize_t)sizeof(*m) || m->h.type != POOL_CONN ||
	    (size_t)n != sizeof(*m) + m->vars_len)
		return NULL;
	return m;
}

/*
 * The vars after m (nvars NUL-terminated strings) as a NULL-terminated
 * array into the message: ctx->vars.  Returns a new array (free()), NULL
 * when there are none, or (void *)-1 if malformed or out of memory.
 */
static const char **
pw_conn_vars(const struct pool_conn_msg *m)
{
	const char *v = (const char *)(m + 1), *end = v + m->vars_len;
	const char **vars;
	uint32_t i;

	if (m->nvars == 0)
		return m->vars_len == 0 ? NULL : (void *)-1;
	if (m->nvars > m->vars_len ||
	    (vars = calloc((size_t)m->nvars + 1, sizeof(*vars))) == NULL)
		return (void *)-1;
	for (i = 0; i < m->nvars; i++) {
		const char *nul = memchr(v, '\0', (size_t)(end - v));

		if (nul == NULL) {
			free(vars);
			return (void *)-1;
		}
		vars[i] = v;
		v = nul + 1;
	}
	return vars;
}

/* ------------------------------------------------------------ a worker */

/* Closes every descriptor from 3 on but a, b and c (-1: none). */
static void
pw_close_except(int a, int b, int c)
{
	int k[3] = { a, b, c }, t;
	unsigned from = 3;
	size_t i, j;

	for (i = 1; i < 3; i++) {
		for (j = i; j > 0 && k[j - 1] > k[j]; j--) {
			t = k[j];
			k[j] = k[j - 1];
			k[j - 1] = t;
		}
	}
	for (i = 0; i < 3; i++) {
		if (k[i] < (int)from)
			continue;
		if ((unsigned)k[i] > from)
			close_range(from, (unsigned)k[i] - 1, 0);
		from = (unsigned)k[i] + 1;
	}
	close_range(from, ~0U, 0);
}

/* In a worker that cannot be set up: tells the master why, and exits. */
static void __attribute__((noreturn))
pw_worker_fail(int sock, const char *why, int err)
{
	struct pool_text_msg m;

	memset(&m, 0, sizeof(m));
	m.h.magic = POOL_MAGIC;
	m.h.type = POOL_FAIL;
	m.pid = (int32_t)getpid();
	snprintf(m.text, sizeof(m.text), "%s: %s", why, strerror(err));
	(void)pool_send(sock, &m, sizeof(m), -1);
	_exit(126);
}

static void __attribute__((noreturn))
pw_worker_main(int sock)
{
	const struct pool_hdr ready = { POOL_MAGIC, POOL_READY };
	const struct sandbox *sb = pw.has_sb ? &pw.sb : NULL;
	const struct pool_conn_msg *m;
	const char **vars;
	struct pool_done_msg d;
	struct rusage before, after, kids;
	struct conn c;
	const char *why = NULL;
	unsigned served = 0;
	sigset_t none;
	ssize_t n;
	int fd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its own group: a seccomp kill or a timeout hits this worker only. */
	(void)setsid();
	if (sandbox_apply_limits(sb, &why) == -1 ||
	    sandbox_apply_seccomp(sb, pw.conf.name, &why) == -1)
		pw_worker_fail(sock, why, errno);
	/* Set up: the master may hand it connections now. */
	if (pool_send(sock, &ready, sizeof(ready), -1) == -1)
		_exit(1);
	for (;;) {
		n = pool_recv(sock, pw.buf, POOL_MSG_MAX, &fd, 0);
		if (n == -1)
			log_warn("service %s: worker %ld: receiving a "
			    "connection", pw.conf.name, (long)getpid());
		if (n <= 0)
			_exit(n == 0 ? 0 : 1);	/* 0: the master is done */
		if ((m = pw_conn_msg(pw.buf, n)) == NULL || fd < 0 ||
		    (vars = pw_conn_vars(m)) == (void *)-1) {
			if (fd >= 0)
				close(fd);
			_exit(1);
		}
		memset(&c, 0, sizeof(c));
		c.svc = &pw.svc;
		c.fd = fd;
		c.peer = m->peer;
		c.local = m->local;
		c.vars = vars;
		(void)getrusage(RUSAGE_SELF, &before);
		plugin_run(&c);
		close(fd);
		free(vars);
		(void)getrusage(RUSAGE_SELF, &after);
		memset(&d, 0, sizeof(d));
		d.h.magic = POOL_MAGIC;
		d.h.type = POOL_DONE;
		d.id = m->id;
		d.pid = (int32_t)getpid();
		d.status = c.rc == 0 ? 0 : 1 << 8;	/* "exit 1" */
		d.bytes_in = c.stats.bytes_in;
		d.bytes_out = c.stats.bytes_out;
		timersub(&after.ru_utime, &before.ru_utime, &d.utime);
		timersub(&after.ru_stime, &before.ru_stime, &d.stime);
		d.maxrss = after.ru_maxrss;
		/* As wait4() will count it: with the children it reaped. */
		(void)getrusage(RUSAGE_CHILDREN, &kids);
		timeradd(&after.ru_utime, &kids.ru_utime, &d.total_utime);
		timeradd(&after.ru_stime, &kids.ru_stime, &d.total_stime);
		if (pool_send(sock, &d, sizeof(d), -1) == -1)
			_exit(1);
		if (pw.reuse > 0 && ++served >= pw.reuse)
			_exit(0);
	}
}

/*
 * Adds fd to the master's epoll for slot w (what: PW_EV_*).  Closing fd
 * takes it out again.  Returns 0, or -1 with errno.
 */
static int
pw_watch(int fd, const struct pw_worker *w, unsigned what)
{
	struct epoll_event ev = { .events = EPOLLIN };

	ev.data.u64 = (w != NULL ? (uint64_t)(w - pw.w) << 2 : 0) | what;
	return epoll_ctl(pw.ep, EPOLL_CTL_ADD, fd, &ev);
}

/*
 * Takes *fd out of the epoll and closes it (-1: nothing).  Out first: a
 * worker just forked may still hold a copy for a moment, which would
 * keep the registration alive.
 */
static void
pw_unwatch(int *fd)
{
	if (*fd < 0)
		return;
	(void)epoll_ctl(pw.ep, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

/* A free slot (pid 0), growing the table if need be; NULL: no memory. */
static struct pw_worker *
pw_slot(void)
{
	struct pw_worker *nw;
	size_t i;

	for (i = 0; i < pw.nw; i++) {
		if (pw.w[i].pid == 0)
			return &pw.w[i];
	}
	if ((nw = realloc(pw.w, (pw.nw * 2 + 4) * sizeof(*nw))) == NULL)
		return NULL;
	pw.w = nw;
	for (i = pw.nw; i < pw.nw * 2 + 4; i++)
		memset(&pw.w[i], 0, sizeof(pw.w[i]));
	nw = &pw.w[pw.nw];
	pw.nw = pw.nw * 2 + 4;
	return nw;
}

/* Forks a worker into a free slot.  Returns the slot, or NULL. */
static struct pw_worker *
pw_fork(void)
{
	struct pw_worker *w;
	pid_t pid;
	int sv[2];

	if ((w = pw_slot()) == NULL)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("service %s: worker socketpair", pw.conf.name);
		return NULL;
	}
	if ((pid = fork()) == -1) {
		log_warn("service %s: fork worker", pw.conf.name);
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		/*
		 * Nothing of the master's: not porterd's socket, no
		 * sibling's, no queued connection.  Only its own socket, the
		 * log's and the seccomp watcher's stay.
		 */
		pw_close_except(sv[1], log_child_fd_get(),
		    sandbox_channel_fd());
		pw_title_as_worker();
		pw_worker_main(sv[1]);
	}
	close(sv[1]);
	/* A pidfd, not SIGCHLD: the master's signal mask stays empty. */
	if ((w->pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1) {
		log_warn("service %s: pidfd_open", pw.conf.name);
		kill(pid, SIGKILL);
		close(sv[0]);
		(void)waitpid(pid, NULL, 0);
		return NULL;
	}
	if (pw_watch(sv[0], w, PW_EV_WORKER) == -1 ||
	    pw_watch(w->pidfd, w, PW_EV_EXIT) == -1) {
		log_warn("service %s: epoll_ctl", pw.conf.name);
		kill(pid, SIGKILL);
		close(sv[0]);
		close(w->pidfd);
		(void)waitpid(pid, NULL, 0);
		return NULL;
	}
	w->pid = pid;
	w->fd = sv[0];
	w->id = 0;
	w->served = 0;
	w->idle_since = pw_now();
	w->started = w->failed = false;
	w->born = backoff_now();
	pw.alive++;
	return w;
}

static void
pw_send_porterd(const void *msg, size_t len)
{
	/* porterd gone: drain as if it had closed the socket. */
	if (pool_send(PW_CTL, msg, len, -1) == -1)
		pw.draining = true;
}

/*
 * Sends the STARTED and DONE messages gathered since the last call, in
 * order, with one sendmmsg() for the lot: under load one wakeup of the
 * master ends several connections.
 */
static void
pw_flush(void)
{
	struct mmsghdr mm[PW_BATCH];
	struct iovec iov[PW_BATCH];
	unsigned i, off = 0;
	int r;

	memset(mm, 0, pw_out.n * sizeof(mm[0]));
	for (i = 0; i < pw_out.n; i++) {
		iov[i].iov_base = &pw_out.m[i];
		iov[i].iov_len = pw_out.len[i];
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	while (off < pw_out.n && !pw.draining) {
		r = sendmmsg(PW_CTL, mm + off, pw_out.n - off, MSG_NOSIGNAL);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			pw.draining = true;	/* as pw_send_porterd() */
		else
			off += (unsigned)r;
	}
	pw_out.n = 0;
}

/* Gathers a STARTED or DONE for porterd (pw_flush() sends it). */
static void
pw_post(const void *msg, size_t len)
{
	if (pw_out.n == PW_BATCH)
		pw_flush();
	memcpy(&pw_out.m[pw_out.n], msg, len);
	pw_out.len[pw_out.n++] = len;
}

/* ---------------------------------------------------------- a launcher */

#define PW_STACK	(64 * 1024)	/* the launcher's clone stack */

/* A STARTED or DONE (pid -1: the program could not be started). */
static void
pw_post_started(uint64_t id, pid_t pid)
{
	struct pool_started_msg st;
	struct pool_done_msg d;

	if (pid > 0) {
		memset(&st, 0, sizeof(st));
		st.h.magic = POOL_MAGIC;
		st.h.type = POOL_STARTED;
		st.id = id;
		st.pid = (int32_t)pid;
		pw_post(&st, sizeof(st));
		return;
	}
	memset(&d, 0, sizeof(d));
	d.h.magic = POOL_MAGIC;
	d.h.type = POOL_DONE;
	d.id = id;
	d.pid = -1;
	pw_post(&d, sizeof(d));
}

/*
 * Starts the program for the CONN in p, as porterd's spawner would
 * (spawn.h: clone(CLONE_VM | CLONE_VFORK), only system calls in the
 * child), minus what this process applied to itself once.  Its exit is
 * seen on a pidfd and reported DONE by pw_reap(), with its rusage.
 */
static void
pw_launch(struct pw_pending *p)
{
	const struct pool_conn_msg *m = (const void *)p->msg;
	struct spawn_exec_args a;
	struct pw_worker *w;
	const char **vars;
	struct conn c;
	pid_t pid = -1;
	int pidfd = -1, err = 0;

	memset(&c, 0, sizeof(c));
	c.svc = &pw.svc;
	c.fd = p->fd;
	c.peer = m->peer;
	c.local = m->local;
	if ((vars = pw_conn_vars(m)) == (void *)-1 || (w = pw_slot()) == NULL) {
		err = ENOMEM;
	} else {
		c.vars = vars;
		if (spawn_launch_prepare(&a, &c, pw.conf.stderr_mode ==
		    STDERR_LOG ? 2 : pw.null_fd) == 0)
			pid = (pid_t)clone(spawn_exec_child,
			    pw.stack + PW_STACK, CLONE_VM | CLONE_VFORK |
			    CLONE_PIDFD | SIGCHLD, &a, &pidfd);
		err = errno;
		spawn_exec_release(&a);
	}
	if (vars != (void *)-1)
		free(vars);
	close(p->fd);
	if (pid > 0 && pw_watch(pidfd, w, PW_EV_EXIT) == -1) {
		/* Unwatched it would never be reported: end it now. */
		err = errno;
		kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		close(pidfd);
		pid = -1;
	}
	if (pid <= 0) {
		errno = err;
		log_warn("service %s: exec %s", pw.conf.name, pw.conf.handler);
	} else {
		w->pid = pid;
		w->pidfd = pidfd;
		w->fd = -1;
		w->id = m->id;
		/* Started with its connection: its end is no crash loop's. */
		w->started = true;
		pw.alive++;
	}
	pw_post_started(m->id, pid);
}

/* The queue's head, taken off the queue (NULL: empty). */
static struct pw_pending *
pw_dequeue(void)
{
	struct pw_pending *p = pw.qhead;

	if (p != NULL && (pw.qhead = p->next) == NULL)
		pw.qtail = NULL;
	return p;
}

/*
 * Hands queued connections to idle workers, forking as allowed: one
 * worker on its way per connection that waits.  While a crash loop
 * pauses, those no idle worker takes are refused (porterd ends them).
 */
static void
pw_dispatch(void)
{
	struct pool_started_msg st;
	struct pw_pending *p;
	struct pw_worker *w;
	unsigned coming = 0, queued = 0;
	bool paused;
	size_t i;

	while (pw.exec && (p = pw_dequeue()) != NULL) {
		pw_launch(p);
		free(p);
	}
	if (pw.qhead == NULL)
		return;
	paused = backoff_paused_now(&pw.bo);
	for (p = pw.qhead; p != NULL; p = p->next)
		queued++;
	for (i = 0; i < pw.nw; i++)
		if (pw.w[i].pid != 0 && pw.w[i].fd >= 0 && !pw.w[i].started)
			coming++;
	while ((p = pw.qhead) != NULL) {
		w = NULL;
		for (i = 0; i < pw.nw; i++) {
			if (pw.w[i].pid != 0 && pw.w[i].fd >= 0 &&
			    pw.w[i].started && pw.w[i].id == 0) {
				w = &pw.w[i];
				break;
			}
		}
		if (w == NULL && paused) {
			(void)pw_dequeue();
			queued--;
			memset(&st, 0, sizeof(st));
			st.h.magic = POOL_MAGIC;
			st.h.type = POOL_REFUSED;
			st.id = ((const struct pool_conn_msg *)
			    (const void *)p->msg)->id;
			pw_post(&st, sizeof(st));
			close(p->fd);
			free(p);
			continue;
		}
		if (w == NULL) {
			/* At pool-max: wait for a DONE (or a READY). */
			while (coming < queued &&
			    (pw.max == 0 || pw.alive < pw.max) &&
			    pw_fork() != NULL)
				coming++;
			return;
		}
		(void)pw_dequeue();
		queued--;
		if (pool_send(w->fd, p->msg, p->len, p->fd) == -1) {
			/* The worker is dying; its reap frees the slot. */
			pw_unwatch(&w->fd);
			p->next = pw.qhead;
			pw.qhead = p;
			if (pw.qtail == NULL)
				pw.qtail = p;
			queued++;
			continue;
		}
		close(p->fd);
		w->id = ((const struct pool_conn_msg *)p->msg)->id;
		memset(&st, 0, sizeof(st));
		st.h.magic = POOL_MAGIC;
		st.h.type = POOL_STARTED;
		st.id = w->id;
		st.pid = (int32_t)w->pid;
		pw_post(&st, sizeof(st));
		free(p);
	}
}

/* Queues the CONN message in pw.buf (n bytes) as p, with its fd. */
static void
pw_queue(struct pw_pending *p, ssize_t n, int fd)
{
	memcpy(p->msg, pw.buf, (size_t)n);
	p->len = (size_t)n;
	p->next = NULL;
	p->fd = fd;
	if (pw.qtail != NULL)
		pw.qtail->next = p;
	else
		pw.qhead = p;
	pw.qtail = p;
}

/*
 * The messages from porterd (or its end): every one waiting, up to a
 * bound, so that a burst of connections costs one wakeup.
 */
static void
pw_ctl(void)
{
	struct pw_pending *p;
	unsigned k;
	ssize_t n;
	int fd;

	for (k = 0; k < PW_BATCH && !pw.draining; k++) {
		n = pool_recv(PW_CTL, pw.buf, POOL_MSG_MAX, &fd, MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			pw.draining = true;
			return;
		}
		if (pw_conn_msg(pw.buf, n) == NULL)
			p = NULL;	/* no id to answer: porterd's bug */
		else if (fd < 0 ||
		    (p = malloc(sizeof(*p) + (size_t)n)) == NULL) {
			/* Not started: porterd ends it and frees its slot. */
			pw_post_started(((const struct pool_conn_msg *)
			    (const void *)pw.buf)->id, -1);
			p = NULL;
		}
		if (p == NULL) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		pw_queue(p, n, fd);
	}
}

/* A worker's READY or FAIL (before any connection), its DONE, or its end. */
/* A worker served a connection: a crash loop of its pool is over. */
static void
pw_served_again(void)
{
	struct pool_backoff_msg b;
	unsigned fails = backoff_ok(&pw.bo);

	pw.bo_since = 0;
	if (fails == 0)
		return;		/* failures, but no episode: nothing said */
	memset(&b, 0, sizeof(b));
	b.h.magic = POOL_MAGIC;
	b.h.type = POOL_BACKOFF;
	b.fails = fails;	/* ms 0: over */
	pw_flush();
	pw_send_porterd(&b, sizeof(b));
}

static void
pw_from_worker(struct pw_worker *w)
{
	union {
		struct pool_hdr h;
		struct pool_done_msg d;
		struct pool_text_msg t;
	} m;
	ssize_t n;
	int fd;

	n = pool_recv(w->fd, &m, sizeof(m), &fd, MSG_DONTWAIT);
	if (fd >= 0)
		close(fd);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (!w->started && n > 0 && (size_t)n == sizeof(m.h) &&
	    m.h.type == POOL_READY) {
		/*
		 * Set up, but a crash loop is over only once it serves: one
		 * that dies before its first connection still counts.
		 */
		w->started = true;
		w->idle_since = pw_now();
		return;
	}
	if (!w->started && n > 0 && (size_t)n == sizeof(m.t) &&
	    m.h.type == POOL_FAIL) {
		_Static_assert(sizeof(pw.why) == sizeof(m.t.text), "FAIL text");
		m.t.text[sizeof(m.t.text) - 1] = '\0';
		memcpy(pw.why, m.t.text, sizeof(pw.why));
		w->failed = true;	/* its exit follows */
		return;
	}
	if (n <= 0 || (size_t)n != sizeof(m.d) || m.h.type != POOL_DONE ||
	    m.d.id != w->id) {
		/* Gone (or babbling): the reap reports its connection. */
		pw_unwatch(&w->fd);
		return;
	}
	w->id = 0;
	w->served++;
	w->idle_since = pw_now();
	/*
	 * A worker forked since the crash loop began served: forking works
	 * again.  (An older one serving proves nothing of that.)
	 */
	if (pw.bo.count != 0 && w->born > pw.bo_since)
		pw_served_again();
	w->used_u = m.d.total_utime;
	w->used_s = m.d.total_stime;
	pw_post(&m.d, sizeof(m.d));
	/* Done with its share: it exits by itself, give it nothing more. */
	if (pw.reuse > 0 && w->served >= pw.reuse)
		pw_unwatch(&w->fd);
}

/*
 * w died before its first connection: one failure of a crash loop
 * (backoff.h).  Logged outside an episode; the pause one starts or
 * prolongs is enforced here, and told to porterd to log (BACKOFF).
 */
static void
pw_died_at_start(const struct pw_worker *w, int status)
{
	struct pool_backoff_msg b;
	bool first;
	int64_t now = backoff_now(), pause;

	memset(&b, 0, sizeof(b));
	if (w->failed)
		memcpy(b.text, pw.why, sizeof(b.text));
	else if (WIFSIGNALED(status))
		snprintf(b.text, sizeof(b.text), "killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(b.text, sizeof(b.text), "exit %d",
		    WEXITSTATUS(status));
	log_msg(pw.bo.delay > 0 ? LOG_DEBUG : LOG_WARNING, "service %s: "
	    "worker pid %ld died before serving: %s", pw.conf.name,
	    (long)w->pid, b.text);
	if ((pause = backoff_fail(&pw.bo, now, &first)) == 0)
		return;
	if (first)
		pw.bo_since = now;
	b.h.magic = POOL_MAGIC;
	b.h.type = POOL_BACKOFF;
	b.ms = (uint32_t)pause;
	b.fails = pw.bo.count;
	pw_flush();		/* in order: what was gathered goes first */
	pw_send_porterd(&b, sizeof(b));
}

/* Reaps w, which has exited; if it was serving, reports its connection. */
static void
pw_reap(struct pw_worker *w)
{
	struct pool_done_msg d;
	struct rusage ru;
	int status;

	if (wait4(w->pid, &status, WNOHANG, &ru) <= 0)
		return;
	/*
	 * A DONE it sent before exiting (reuse reached) wins; so does the
	 * FAIL of one that could not be set up.
	 */
	if ((w->id != 0 || !w->started) && w->fd >= 0)
		pw_from_worker(w);	/* does not wait */
	/*
	 * Died before its first connection: at setup, or after READY but
	 * not by our hand (an idle one told to go exits 0).
	 */
	if (!pw.draining && w->served == 0 && w->id == 0 &&
	    (!w->started || !WIFEXITED(status) || WEXITSTATUS(status) != 0))
		pw_died_at_start(w, status);
	if (w->id != 0) {
		memset(&d, 0, sizeof(d));
		d.h.magic = POOL_MAGIC;
		d.h.type = POOL_DONE;
		d.id = w->id;
		d.pid = (int32_t)w->pid;
		d.status = status;
		/*
		 * Its connection's share: what it used since its last
		 * DONE (for its first connection, its start included, as
		 * an exec'd program's is).
		 */
		timersub(&ru.ru_utime, &w->used_u, &d.utime);
		timersub(&ru.ru_stime, &w->used_s, &d.stime);
		d.maxrss = ru.ru_maxrss;
		pw_post(&d, sizeof(d));
	}
	pw_unwatch(&w->fd);
	pw_unwatch(&w->pidfd);
	memset(w, 0, sizeof(*w));
	w->fd = w->pidfd = -1;
	pw.alive--;
}

/* Idle workers above pool-min past pool-idle-timeout; pool-min kept. */
static void
pw_tend(void)
{
	time_t now = pw_now();
	unsigned idle = 0;
	bool fork_ok;
	size_t i;

	if (pw.exec)
		return;		/* a launcher keeps no workers */
	for (i = 0; i < pw.nw; i++) {
		struct pw_worker *w = &pw.w[i];

		if (w->pid == 0 || w->fd < 0 || w->id != 0)
			continue;
		/*
		 * One still on its way (not READY) is not idle yet: ended
		 * now, it would count as a death at start.
		 */
		if (pw.draining || (w->started && pw.idle > 0 &&
		    pw.alive > pw.min &&
		    now - w->idle_since >= (time_t)pw.idle)) {
			pw_unwatch(&w->fd);	/* it exits on EOF */
			continue;
		}
		idle++;
	}
	/* No fork while a crash loop pauses (backoff.h). */
	fork_ok = !pw.draining && !backoff_paused_now(&pw.bo);
	while (fork_ok && pw.alive < pw.min && pw_fork() != NULL)
		;
	/*
	 * reuse = 1 spends a worker per connection: keep one forked ahead,
	 * so a connection does not wait for the fork.
	 */
	if (fork_ok && pw.reuse == 1 && idle == 0 &&
	    (pw.max == 0 || pw.alive < pw.max))
		(void)pw_fork();
}

int
poolworker_main(char **argv)
{
	struct epoll_event evs[64];
	struct pool_text_msg ready;
	char *plugin = NULL;
	const char *why = NULL;
	bool ctl = true;
	int64_t left;
	int i, n, null;

	pw_title_at = argv[0];
	for (i = 0; argv[i] != NULL; i++)
		pw_title_len = (size_t)(argv[i] + strlen(argv[i]) + 1 -
		    pw_title_at);
	/* pool.c's pool_env(): its work is done, the plugin need not see it */
	(void)unsetenv("LD_BIND_NOW");
	pw_setup(&plugin);
	pw_title(pw.exec ? "launcher" : "pool");
	/*
	 * The kernel's name (ps -C, top, pgrep): exec'd through
	 * /proc/self/fd/6 (spawn.c), it would be "6".  Workers inherit it.
	 */
	(void)prctl(PR_SET_NAME, "porterd-pool", 0, 0, 0);
	if ((pw.buf = malloc(POOL_MSG_MAX)) == NULL)
		pw_fail("out of memory");
	if (fcntl(PW_CHANNEL, F_GETFD) != -1)
		sandbox_channel_adopt(PW_CHANNEL);
	/* Logs go through a copy (or /dev/log); 0, 1 are /dev/null. */
	log_child();
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		pw_fail("/dev/null: %s", strerror(errno));
	if (pw.exec) {
		/* fd 2 is the programs' stderr in "log" mode (pool.c). */
		pw.null_fd = null;
		if ((pw.stack = malloc(PW_STACK)) == NULL)
			pw_fail("out of memory");
	} else {
		/* 2 too: what a plugin prints reaches no terminal. */
		if (dup2(null, 2) == -1)
			pw_fail("/dev/null: %s", strerror(errno));
		close(null);
		pw_plugin(plugin);
	}
	/*
	 * Every disposition back to SIG_DFL, once, here: a sanitizer's
	 * runtime or the plugin's init may have installed handlers or
	 * ignored signals.  A launcher's programs (vfork children, spawn.h)
	 * rely on it; workers are forked from here alone, after the last
	 * plugin code this process runs before fini, so each starts with
	 * the defaults porter-plugin(7) promises at no cost per fork.
	 * Neither needs a handler of its own: pidfds, not SIGCHLD.
	 */
	spawn_signals_default();
	pw_confine();
	if ((pw.ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    pw_watch(PW_CTL, NULL, PW_EV_CTL) == -1)
		pw_fail("epoll: %s", strerror(errno));
	/*
	 * A launcher's programs inherit its filter: loaded once, here, it
	 * costs no program anything (attaching one takes ~100 us).  From
	 * here on the launcher makes only the calls sandbox.c's
	 * seccomp_launcher_needed lists.
	 */
	if (pw.exec) {
		if (sandbox_apply_seccomp_launcher(pw.has_sb ? &pw.sb : NULL,
		    pw.conf.name, &why) == -1)
			pw_fail("%s: %s", why, strerror(errno));
		/* The programs share the listener sent: no more to send. */
		if (sandbox_channel_fd() >= 0) {
			close(sandbox_channel_fd());
			sandbox_channel_adopt(-1);
		}
	}
	memset(&ready, 0, sizeof(ready));
	ready.h.magic = POOL_MAGIC;
	ready.h.type = POOL_READY;
	ready.pid = (int32_t)getpid();
	pw_send_porterd(&ready, sizeof(ready));
	pw_tend();

	while (!pw.draining || pw.alive > 0) {
		/* A crash loop's pause ends on time: pool-min forks again. */
		left = pw.bo.until != 0 ? backoff_left(&pw.bo, backoff_now()) :
		    0;
		if ((n = epoll_wait(pw.ep, evs, 64, left > 0 && left < 1000 ?
		    (int)left : 1000)) == -1) {
			if (errno != EINTR)
				_exit(1);
			n = 0;
		}
		for (i = 0; i < n; i++) {
			size_t slot = (size_t)(evs[i].data.u64 >> 2);
			struct pw_worker *w = slot < pw.nw ? &pw.w[slot] : NULL;

			/*
			 * Level-triggered; a slot reaped earlier in this batch
			 * has pid 0 and fd -1 (no fork runs meanwhile).  A
			 * worker's DONE is read before its exit: pw_reap().
			 */
			switch (evs[i].data.u64 & 3) {
			case PW_EV_CTL:
				pw_ctl();
				break;
			case PW_EV_WORKER:
				if (w != NULL && w->pid != 0 && w->fd >= 0)
					pw_from_worker(w);
				break;
			case PW_EV_EXIT:
				if (w != NULL && w->pid != 0)
					pw_reap(w);
				break;
			}
		}
		if (pw.draining && ctl) {
			(void)epoll_ctl(pw.ep, EPOLL_CTL_DEL, PW_CTL, NULL);
			ctl = false;
		}
		if (pw.draining) {
			struct pw_pending *p;

			while ((p = pw_dequeue()) != NULL) {
				close(p->fd);
				free(p);
			}
		}
		pw_dispatch();
		pw_tend();
		pw_flush();
	}
	if (pw.svc.inited && pw.svc.plugin->desc->fini != NULL)
		pw.svc.plugin->desc->fini(pw.svc.state);
	/*
	 * _exit, not a return into exit(): atexit handlers have nothing to
	 * do here, and one must not run -- under a sanitizer build, the
	 * leak checker stops the world with ptrace, which the filter of a
	 * launcher may deny (basic-exec does): with porterd gone nothing
	 * answers, and the checker spun for ever waiting for its tracer.
	 */
	fflush(NULL);
	_exit(0);
}
