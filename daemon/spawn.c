/*
 * spawn.c -- the child's side of handlers: exec services (started with
 * vfork semantics by spawner.c) and process isolation.
 *
 * Everything a child needs (argv, environment, groups) is prepared in the
 * parent, so the child between clone() and exec() only makes system
 * calls, most of them raw: it shares porterd's memory until it execs.
 * The child never inherits the daemon's environment, its signal mask
 * (the spawner thread blocks every signal), ignored or caught signals,
 * or any descriptor other than the ones it is given: listening sockets
 * stay in the daemon.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "loader.h"
#include "sandbox.h"
#include "spawn.h"

#define SPAWN_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* Room for the connection variables spawn_conn_env() adds. */
#define SPAWN_CONN_VARS 16

void
spawn_init(void)
{
	/*
	 * Whatever a handler leaves behind (a daemonised grandchild) is
	 * re-parented to porterd, not to init: porterd reaps it and can
	 * still signal its process group.
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1)
		log_warn("PR_SET_CHILD_SUBREAPER");
	(void)sandbox_init();
}

/* Appends "NAME=value" to env, carving the string out of *buf. */
static size_t
env_add(char **env, size_t n, size_t max, char **buf, size_t *len,
    const char *name, const char *value)
{
	int w;

	if (n + 1 >= max)
		return n;
	w = snprintf(*buf, *len, "%s=%s", name, value);
	if (w < 0 || (size_t)w >= *len)
		return n;
	env[n++] = *buf;
	*buf += w + 1;
	*len -= (size_t)w + 1;
	return n;
}

size_t
spawn_conn_env(const struct conn *c, char **env, size_t max, char *buf,
    size_t len)
{
	char host[INET6_ADDRSTRLEN + 1], port[16];
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	size_t n = 0;
	int fam = pt_addr_family(&c->local);

	if (fam == AF_UNIX) {
		n = env_add(env, n, max, &buf, &len, "PROTO", "IPC");
		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred,
		    &clen) == 0 && c->wait_l == NULL) {
			snprintf(port, sizeof(port), "%u", (unsigned)cred.uid);
			n = env_add(env, n, max, &buf, &len, "IPCREMOTEEUID",
			    port);
			snprintf(port, sizeof(port), "%u", (unsigned)cred.gid);
			n = env_add(env, n, max, &buf, &len, "IPCREMOTEEGID",
			    port);
		}
		return n;
	}
	if (fam != AF_INET && fam != AF_INET6)
		return n;
	n = env_add(env, n, max, &buf, &len, "PROTO",
	    c->svc->conf->socktype == SOCK_DGRAM ? "UDP" :
	    c->svc->conf->protocol == IPPROTO_SCTP ? "SCTP" : "TCP");
	if (pt_addr_host(&c->local, host, sizeof(host), NULL) != NULL) {
		snprintf(port, sizeof(port), "%d", pt_addr_port(&c->local));
		n = env_add(env, n, max, &buf, &len, "TCPLOCALIP", host);
		n = env_add(env, n, max, &buf, &len, "TCPLOCALPORT", port);
	}
	if (c->peer.len > 0 &&
	    pt_addr_host(&c->peer, host, sizeof(host), NULL) != NULL) {
		snprintf(port, sizeof(port), "%d", pt_addr_port(&c->peer));
		n = env_add(env, n, max, &buf, &len, "TCPREMOTEIP", host);
		n = env_add(env, n, max, &buf, &len, "TCPREMOTEPORT", port);
		n = env_add(env, n, max, &buf, &len, "REMOTE_ADDR", host);
		n = env_add(env, n, max, &buf, &len, "REMOTE_PORT", port);
	}
	return n;
}

/*
 * Sets every signal a child could inherit as handled or ignored back to
 * SIG_DFL, through the kernel directly: glibc's sigaction() refuses its
 * reserved signals (32, 33), and dispositions there survive exec too.
 * An all-zero kernel sigaction is SIG_DFL on every layout.  Handlers
 * would not survive exec anyway, but in a vfork child (shared memory) one
 * must never run, and a plugin's init may have installed one.
 */
void
spawn_signals_default(void)
{
	uint64_t ksa[4], dfl[4] = { 0, 0, 0, 0 };
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, sig, NULL, ksa, (size_t)8) == 0 &&
		    ksa[0] == (uint64_t)(uintptr_t)SIG_DFL)
			continue;
		(void)syscall(SYS_rt_sigaction, sig, dfl, NULL, (size_t)8);
	}
}

/* The empty signal mask, set through the kernel (glibc keeps 32, 33). */
static void
spawn_unblock_all(void)
{
	uint64_t none = 0;

	(void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL,
	    (size_t)8);
}

/*
 * Drops every capability: under run-as porterd kept some across its own
 * setuid() (privs.c).  A raw capset(2), not libcap: the vfork child must
 * take no lock and touch no shared state.
 */
static int
spawn_caps_drop(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	return (int)syscall(SYS_capset, &h, d);
}

/*
 * The child's side of both kinds: signals back to defaults, its own
 * session, the sandbox's privileged steps, the service's user.  Only raw
 * system calls: in a vfork child, glibc's setuid() would broadcast the
 * change to porterd's other threads.  Returns 0, or -1 with a reason in
 * why.
 */
static int
spawn_child_setup(const struct svc *svc, bool drop_caps, const char **why)
{
	const struct service *conf = svc->conf;

	spawn_signals_default();
	(void)syscall(SYS_setsid);

	/* Namespaces, chroot, limits: while porterd's privileges last. */
	if (sandbox_apply_root(conf->sandbox, why) == -1)
		return -1;
	if (!conf->set_user)
		return 0;
	/*
	 * Root, or under run-as a porterd holding CAP_SETUID and CAP_SETGID
	 * (privs.c): either may switch; anyone else gets EPERM here.
	 */
	if (geteuid() == 0 || conf->uid != geteuid() ||
	    conf->gid != getegid()) {
		if (syscall(SYS_setgroups, (size_t)svc->ngroups,
		    svc->groups) == -1) {
			*why = "setgroups";
			return -1;
		}
		if (syscall(SYS_setresgid, conf->gid, conf->gid,
		    conf->gid) == -1) {
			*why = "setgid";
			return -1;
		}
		if (syscall(SYS_setresuid, conf->uid, conf->uid,
		    conf->uid) == -1) {
			*why = "setuid";
			return -1;
		}
	}
	/* What porterd kept under run-as is not the handler's. */
	if (drop_caps && spawn_caps_drop() == -1) {
		*why = "dropping capabilities";
		return -1;
	}
	return 0;
}

/*
 * Closes every descriptor from 3 on, except the n in keep (-1 entries are
 * ignored).
 */
static void
spawn_close_from3(const int *keep, size_t n)
{
	unsigned from = 3;
	size_t i, j;
	int k[4], t;

	for (i = j = 0; i < n && j < 4; i++) {
		if (keep[i] >= 3)
			k[j++] = keep[i];
	}
	/* A handful of numbers: insertion sort. */
	for (i = 1; i < j; i++) {
		for (n = i; n > 0 && k[n - 1] > k[n]; n--) {
			t = k[n];
			k[n] = k[n - 1];
			k[n - 1] = t;
		}
	}
	for (i = 0; i < j; i++) {
		if ((unsigned)k[i] > from)
			close_range(from, (unsigned)k[i] - 1, 0);
		from = (unsigned)k[i] + 1;
	}
	close_range(from, ~0U, 0);
}

/* Appends s to buf at *n (bounded); no locale, no allocation. */
static void
spawn_cat(char *buf, size_t len, size_t *n, const char *s)
{
	while (*s != '\0' && *n + 1 < len)
		buf[(*n)++] = *s++;
	buf[*n] = '\0';
}

/*
 * Writes "porterd: service X: <what>: <description>" with one write(2).
 * strerrordesc_np(), not strerror(): no locale, no lock.
 */
static void
spawn_child_fail(int fd, const struct svc *svc, const char *what, int err)
{
	const char *desc = strerrordesc_np(err);
	char line[512];
	size_t n = 0;
	ssize_t w;

	spawn_cat(line, sizeof(line), &n, "porterd: service ");
	spawn_cat(line, sizeof(line), &n, svc->conf->name);
	spawn_cat(line, sizeof(line), &n, ": ");
	spawn_cat(line, sizeof(line), &n, what);
	spawn_cat(line, sizeof(line), &n, ": ");
	spawn_cat(line, sizeof(line), &n, desc != NULL ? desc : "error");
	spawn_cat(line, sizeof(line), &n, "\n");
	if (fd >= 0) {
		w = write(fd, line, n);
		(void)w;
	}
}

/* True if conf's handlers report seccomp violations to the watcher. */
static bool
spawn_reports(const struct service *conf)
{
	return conf->sandbox != NULL && conf->sandbox->seccomp &&
	    conf->sandbox->seccomp_action == SB_SECCOMP_KILL;
}

/* Seccomp violations are reported by porterd's watcher: start it once. */
static int
spawn_watch(const struct service *conf)
{
	return spawn_reports(conf) ? sandbox_watch_start() : 0;
}

/*
 * a->env: PATH, the service's env, c's connection variables and its
 * edge's (TLS_*, PROXY_*; in a launcher, the vars its CONN carried).
 */
static int
spawn_exec_env(struct spawn_exec_args *a, struct conn *c)
{
	const struct service *conf = c->svc->conf;
	const char *const *vars = c->vars;
	size_t nvars = 0, max, n = 0, i;

	while (vars != NULL && vars[nvars] != NULL)
		nvars++;
	max = conf->nenv + SPAWN_CONN_VARS + 2 + nvars;
	/* Built before the child exists: it must not allocate. */
	if ((a->env = calloc(max, sizeof(*a->env))) == NULL)
		return -1;
	a->env[n++] = (char *)(uintptr_t)SPAWN_PATH;
	for (i = 0; i < conf->nenv; i++)
		a->env[n++] = conf->env[i];
	n += spawn_conn_env(c, a->env + n, max - n, a->envbuf,
	    sizeof(a->envbuf));
	for (i = 0; i < nvars; i++)
		a->env[n++] = (char *)(uintptr_t)vars[i];
	a->env[n] = NULL;
	a->svc = c->svc;
	a->fd = c->fd;
	return 0;
}

int
spawn_exec_prepare(struct spawn_exec_args *a, struct conn *c, int stderr_fd)
{
	const struct service *conf = c->svc->conf;

	memset(a, 0, sizeof(*a));
	if (spawn_watch(conf) == -1 || spawn_exec_env(a, c) == -1)
		return -1;
	a->stderr_fd = stderr_fd;
	/* Only a child that sends a listener keeps the socket open. */
	a->channel = spawn_reports(conf) ? sandbox_exec_channel_fd() : -1;
	return 0;
}

int
spawn_launch_prepare(struct spawn_exec_args *a, struct conn *c,
    int stderr_fd)
{
	memset(a, 0, sizeof(*a));
	if (spawn_exec_env(a, c) == -1)
		return -1;
	a->stderr_fd = stderr_fd;
	a->channel = -1;
	a->launched = true;
	return 0;
}

void
spawn_exec_release(struct spawn_exec_args *a)
{
	free(a->env);
	a->env = NULL;
}

int
spawn_exec_child(void *arg)
{
	const struct spawn_exec_args *a = arg;
	const struct service *conf = a->svc->conf;
	const char *why = NULL;
	int errfd;

	/* From here on only system calls, then exec (see spawn.h). */
	errfd = a->stderr_fd;
	if (conf->stderr_mode == STDERR_SOCKET)
		errfd = a->fd;
	/* A launcher passes its /dev/null: a chroot may have hidden it. */
	if (errfd < 0 || (conf->stderr_mode == STDERR_NULL && !a->launched))
		errfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (a->launched) {
		/*
		 * The launcher is confined already: the limits are ours.  Its
		 * dispositions are all SIG_DFL (it reset them at start, after
		 * any sanitizer runtime set its own, and installs none): no 62
		 * rt_sigaction calls here.
		 */
		(void)syscall(SYS_setsid);
		if (sandbox_apply_limits(conf->sandbox, &why) == -1) {
			spawn_child_fail(errfd, a->svc, why, errno);
			_exit(126);
		}
	} else if (spawn_child_setup(a->svc, a->drop_caps, &why) == -1) {
		spawn_child_fail(errfd, a->svc, why, errno);
		_exit(126);
	}
	/* dup2 clears close-on-exec on the copies 0, 1 and 2. */
	if (dup2(a->fd, 0) == -1 || dup2(a->fd, 1) == -1 ||
	    dup2(errfd, 2) == -1)
		_exit(126);
	if (!a->launched) {
		if (sandbox_apply_user(conf->sandbox, &why) == -1) {
			spawn_child_fail(2, a->svc, why, errno);
			_exit(126);
		}
		spawn_close_from3(&a->channel, 1);
		/* Last: the filter judges every call from here, execve too. */
		if (sandbox_apply_seccomp_to(conf->sandbox, conf->name,
		    a->channel, &why) == -1) {
			spawn_child_fail(2, a->svc, why, errno);
			_exit(126);
		}
	} else {
		spawn_close_from3(NULL, 0);
	}
	spawn_unblock_all();
	execve(conf->handler, a->svc->argv, a->env);
	spawn_child_fail(2, a->svc, conf->handler, errno);
	_exit(127);
}

pid_t
spawn_plugin(struct conn *c, bool drop_caps)
{
	const struct service *conf = c->svc->conf;
	const char *why = NULL;
	int keep[3], null;
	pid_t pid;

	if (spawn_watch(conf) == -1)
		return -1;
	if ((pid = fork()) != 0)
		return pid;

	/*
	 * The child logs through its own descriptor (log_child()), so 0, 1
	 * and 2 can be /dev/null: nothing the plugin prints or reads by
	 * accident reaches porterd's terminal or journal stream.  Both are
	 * opened before a chroot can hide /dev and /dev/log.
	 */
	log_child();
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (spawn_child_setup(c->svc, drop_caps, &why) == -1) {
		log_warn("service %s: %s", conf->name, why);
		_exit(126);
	}
	if (null < 0 || dup2(null, 0) == -1 || dup2(null, 1) == -1 ||
	    dup2(null, 2) == -1) {
		log_warn("service %s: /dev/null on 0, 1 and 2", conf->name);
		_exit(126);
	}
	if (sandbox_apply_user(conf->sandbox, &why) == -1) {
		log_warn("service %s: %s", conf->name, why);
		_exit(126);
	}
	keep[0] = c->fd;
	keep[1] = log_child_fd_get();
	keep[2] = sandbox_channel_fd();
	spawn_close_from3(keep, 3);
	if (sandbox_apply_seccomp(conf->sandbox, conf->name, &why) == -1) {
		log_warn("service %s: %s", conf->name, why);
		_exit(126);
	}
	spawn_unblock_all();
	/* No edge to run first: conf_edge.c refuses one on a wait service. */
	plugin_run(c);
	_exit(c->rc == 0 ? 0 : 1);
}

int
spawn_kill(const struct conn *c, int sig)
{
	if (c->pid <= 0) {
		errno = ESRCH;
		return -1;
	}
	/* The child is its session's and its group's leader (setsid()). */
	if (kill(-c->pid, sig) == 0)
		return 0;
	/* Before its setsid() the child is still in porterd's group. */
	return kill(c->pid, sig);
}

const char *
spawn_rusage_text(const struct rusage *ru, char *buf, size_t len)
{
	snprintf(buf, len, "user %ld.%03lds, sys %ld.%03lds, maxrss %ld KiB",
	    (long)ru->ru_utime.tv_sec, (long)ru->ru_utime.tv_usec / 1000,
	    (long)ru->ru_stime.tv_sec, (long)ru->ru_stime.tv_usec / 1000,
	    ru->ru_maxrss);
	return buf;
}

/*
 * Moves a descriptor to `to` in the child: from a copy above the range
 * 0..5 the shuffle writes, so no source is overwritten before it moves.
 */
static int
spawn_high(int fd)
{
	return fd < 0 ? -1 : fcntl(fd, F_DUPFD, 10);
}

/*
 * Under run-as, porterd's kept capabilities would not survive the exec of
 * an unprivileged uid: make them ambient (inheritable first, as the
 * kernel asks), so the pool process can still switch to its service's
 * user and apply the sandbox; it drops them all before it serves.
 */
static int
spawn_caps_ambient(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	int cap;

	if (syscall(SYS_capget, &h, d) == -1)
		return -1;
	d[0].inheritable = d[0].permitted;
	d[1].inheritable = d[1].permitted;
	if (syscall(SYS_capset, &h, d) == -1)
		return -1;
	for (cap = 0; cap < 64; cap++) {
		if (!(d[cap / 32].permitted & (1U << (cap % 32))))
			continue;
		if (syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE,
		    (unsigned long)cap, 0UL, 0UL) == -1)
			return -1;
	}
	return 0;
}

int
spawn_pool_child(void *arg)
{
	const struct spawn_pool_args *a = arg;
	char *const argv[] = { (char *)(uintptr_t)a->argv0,
	    (char *)(uintptr_t)"--pool-worker", NULL };
	int ctl, ll, ch, err, exe, null;

	spawn_signals_default();
	(void)syscall(SYS_setsid);
	if (a->keep_caps && spawn_caps_ambient() == -1)
		_exit(126);
	ctl = spawn_high(a->ctl);
	ll = spawn_high(a->ll_fd);
	ch = spawn_high(a->channel);
	err = spawn_high(a->err_fd);
	exe = spawn_high(a->exe);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (ctl < 0 || null < 0 || dup2(null, 0) == -1 || dup2(null, 1) == -1 ||
	    dup2(err >= 0 ? err : null, 2) == -1 || dup2(ctl, 3) == -1)
		_exit(126);
	if (ll < 0)
		close(4);
	else if (dup2(ll, 4) == -1)
		_exit(126);
	if (ch < 0)
		close(5);
	else if (dup2(ch, 5) == -1)
		_exit(126);
	/*
	 * The binary porterd opened at start: the very file it runs from
	 * even if a package upgrade replaced it since, and (unlike an exec
	 * of /proc/self/exe) porterd's own under valgrind, too.  Close on
	 * exec: the pool process does not keep it.
	 */
	if (exe >= 0 && dup3(exe, 6, O_CLOEXEC) == -1)
		_exit(126);
	close_range(exe >= 0 ? 7 : 6, ~0U, 0);
	spawn_unblock_all();
	execve(exe >= 0 ? "/proc/self/fd/6" : "/proc/self/exe", argv, a->env);
	_exit(127);
}
