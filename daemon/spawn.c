/*
 * spawn.c -- forking handlers: exec services and process isolation.
 *
 * Everything a child needs (argv, environment, groups) is prepared in the
 * parent before fork(), so the child between fork() and exec() only makes
 * system calls.  The child never inherits the daemon's environment, its
 * signal mask (the main thread blocks the signals it reads through a
 * signalfd), ignored signals, or any descriptor other than the ones it is
 * given: listening sockets stay in the daemon.
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "plugin.h"
#include "privs.h"
#include "edge.h"
#include "sandbox.h"
#include "spawn.h"
#include "dispatch.h"

#define SPAWN_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* Room for the connection variables spawn_conn_env() adds. */
#define SPAWN_CONN_VARS 16

/*
 * Signals whose disposition is SIG_IGN in porterd (see spawn_init()).  A
 * plain array, not a sigset_t: glibc's sigaddset() refuses its reserved
 * signals, and those are exactly the ones a parent like make leaves
 * ignored.
 */
static unsigned char spawn_ignored[NSIG];

void
spawn_init(void)
{
	uint64_t ksa[4];
	struct sigaction sa;
	int sig;

	/*
	 * Whatever a handler leaves behind (a daemonised grandchild) is
	 * re-parented to porterd, not to init: porterd reaps it and can
	 * still signal its process group.
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1)
		log_warn("PR_SET_CHILD_SUBREAPER");
	(void)sandbox_init();
	for (sig = 1; sig < NSIG; sig++) {
		spawn_ignored[sig] = 0;
		if (sigaction(sig, NULL, &sa) == 0) {
			if (sa.sa_handler == SIG_IGN)
				spawn_ignored[sig] = 1;
			continue;
		}
		/* glibc's reserved signals: ask the kernel (handler first). */
		if (syscall(SYS_rt_sigaction, sig, NULL, ksa, (size_t)8) == 0 &&
		    ksa[0] == (uint64_t)(uintptr_t)SIG_IGN)
			spawn_ignored[sig] = 1;
	}
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
 * The child's side of both kinds: signals back to defaults, the
 * connection on `keep` (or on 0/1/2 for exec), every other descriptor
 * closed, privileges dropped.  Returns 0, or -1 with a reason in why.
 */
static int
spawn_child_setup(const struct svc *svc, const char **why)
{
	const struct service *conf = svc->conf;
	struct sigaction sa;
	sigset_t all;
	int sig;

	/*
	 * Handlers do not survive exec, and porterd installs none (it reads
	 * signals through a signalfd); ignored dispositions do survive, so
	 * only those, recorded by spawn_init(), need resetting.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++) {
		if (!spawn_ignored[sig])
			continue;
		/*
		 * glibc refuses sigaction() on the signals it reserves for
		 * itself (32, 33), but an ignored disposition there still
		 * survives exec; reset those through the kernel directly.
		 * An all-zero kernel sigaction is SIG_DFL on every layout.
		 */
		if (sigaction(sig, &sa, NULL) == -1) {
			uint64_t ksa[4] = { 0, 0, 0, 0 };

			(void)syscall(SYS_rt_sigaction, sig, ksa, NULL,
			    (size_t)8);
		}
	}
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	(void)setsid();

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
		if (setgroups((size_t)svc->ngroups, svc->groups) == -1) {
			*why = "setgroups";
			return -1;
		}
		if (setgid(conf->gid) == -1) {
			*why = "setgid";
			return -1;
		}
		if (setuid(conf->uid) == -1) {
			*why = "setuid";
			return -1;
		}
	}
	/* What porterd kept under run-as is not the handler's. */
	if (privs_child_drop() == -1) {
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

/* Writes "porterd: service X: <what>: <strerror>" with one write(2). */
static void
spawn_child_fail(int fd, const struct svc *svc, const char *what, int err)
{
	char line[512];
	int n;

	n = snprintf(line, sizeof(line), "porterd: service %s: %s: %s\n",
	    svc->conf->name, what, strerror(err));
	if (fd >= 0 && n > 0)
		n = (int)write(fd, line, (size_t)n < sizeof(line) ?
		    (size_t)n : sizeof(line) - 1);
	(void)n;
}

/* Seccomp violations are reported by porterd's watcher: start it once. */
static int
spawn_watch(const struct service *conf)
{
	if (conf->sandbox == NULL || !conf->sandbox->seccomp ||
	    conf->sandbox->seccomp_action != SB_SECCOMP_KILL)
		return 0;
	return sandbox_watch_start();
}

pid_t
spawn_exec(struct conn *c, int stderr_fd)
{
	const struct service *conf = c->svc->conf;
	size_t max = conf->nenv + SPAWN_CONN_VARS + 2 + edge_nvars(c), n = 0, i;
	const char *why = NULL;
	char **env, envbuf[2048];
	int errfd, devnull;
	pid_t pid;

	if (spawn_watch(conf) == -1)
		return -1;
	/* Built before fork(): the child must not allocate. */
	if ((env = calloc(max, sizeof(*env))) == NULL)
		return -1;
	env[n++] = (char *)(uintptr_t)SPAWN_PATH;
	for (i = 0; i < conf->nenv; i++)
		env[n++] = conf->env[i];
	n += spawn_conn_env(c, env + n, max - n, envbuf, sizeof(envbuf));
	for (i = 0; i < edge_nvars(c); i++)	/* edge.h: TLS_*, PROXY_* */
		env[n++] = (char *)(uintptr_t)edge_vars(c)[i];
	env[n] = NULL;

	if ((pid = fork()) != 0) {
		free(env);
		return pid;
	}

	/* Child: from here on only system calls, then exec. */
	errfd = stderr_fd;
	if (conf->stderr_mode == STDERR_SOCKET)
		errfd = c->fd;
	if (errfd < 0 || conf->stderr_mode == STDERR_NULL) {
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		errfd = devnull;
	}
	if (spawn_child_setup(c->svc, &why) == -1) {
		spawn_child_fail(errfd, c->svc, why, errno);
		_exit(126);
	}
	/* dup2 clears close-on-exec on the copies 0, 1 and 2. */
	if (dup2(c->fd, 0) == -1 || dup2(c->fd, 1) == -1 ||
	    dup2(errfd, 2) == -1)
		_exit(126);
	if (sandbox_apply_user(conf->sandbox, &why) == -1) {
		spawn_child_fail(2, c->svc, why, errno);
		_exit(126);
	}
	{
		int keep = sandbox_channel_fd();

		spawn_close_from3(&keep, 1);
	}
	/* Last: from here on the filter judges every call, execve too. */
	if (sandbox_apply_seccomp(conf->sandbox, conf->name, &why) == -1) {
		spawn_child_fail(2, c->svc, why, errno);
		_exit(126);
	}
	execve(conf->handler, c->svc->argv, env);
	spawn_child_fail(2, c->svc, conf->handler, errno);
	_exit(127);
}

pid_t
spawn_plugin(struct conn *c)
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
	if (spawn_child_setup(c->svc, &why) == -1) {
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
	dispatch_run_plugin(c);
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
