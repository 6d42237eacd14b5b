/*
 * privs.c -- privilege separation under run-as (see privs.h).
 *
 * Before, porterd and every handler ran as the run-as user, so any handler
 * could SIGSTOP or SIGKILL the super-server.  Now porterd keeps its
 * capabilities across setuid() (PR_SET_KEEPCAPS), trims them with libcap
 * to the few it needs, and every child switches to its service's own user
 * and drops them all before its handler runs.
 *
 * The files porterd made as root (the pid file, UNIX sockets in root-only
 * directories) cannot be unlinked by the run-as user.  A small process
 * forked before the switch keeps root for that one job: it waits on a
 * pipe, and porterd's exit() writes one byte into it (an atexit()
 * handler), so a clean exit removes the files and a crash leaves them for
 * the next start's stale-socket check, as without run-as.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "privs.h"
#include "sandbox.h"

static cap_t privs_none;	/* the empty set children switch to */
static int privs_clean_fd = -1;	/* the cleaner's pipe, porterd's end */
static pid_t privs_pid;		/* porterd's own pid: children must not */

static void
privs_atexit(void)
{
	char x = 'x';

	if (getpid() == privs_pid && privs_clean_fd >= 0 &&
	    write(privs_clean_fd, &x, 1) != 1)
		return;
}

/* The UNIX socket file of a listen entry, or NULL (abstract, internet). */
static const char *
privs_sock_path(const struct listen_spec *l)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&l->addr.ss;

	if (l->fd_name != NULL || sun->sun_family != AF_UNIX ||
	    sun->sun_path[0] == '\0')
		return NULL;
	return sun->sun_path;
}

/* The cleaner: root, no descriptor but the pipe; see the top. */
static void
privs_cleaner(const struct config *cfg, int rd)
{
	const char *p;
	char x;
	size_t i, j;

	if (read(rd, &x, 1) != 1)
		_exit(0);	/* porterd died: leave the files */
	if (cfg->pid_file != NULL)
		(void)unlink(cfg->pid_file);
	for (i = 0; i < cfg->nservices; i++) {
		for (j = 0; j < cfg->services[i]->nlistens; j++) {
			if ((p = privs_sock_path(&cfg->services[i]->listens[j]))
			    != NULL)
				(void)unlink(p);
		}
	}
	_exit(0);
}

static int
privs_fork_cleaner(const struct config *cfg)
{
	sigset_t all, old;
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	if ((pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		/* Signals stay blocked: only porterd's byte or EOF ends it. */
		close(p[1]);
		if (p[0] != 3 && dup2(p[0], 3) == -1)
			_exit(1);
		close_range(4, ~0U, 0);
		(void)setsid();
		privs_cleaner(cfg, 3);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[0]);
	privs_clean_fd = p[1];
	privs_pid = getpid();
	atexit(privs_atexit);
	return 0;
}

/* The capabilities porterd keeps for cfg's services. */
static size_t
privs_needed(const struct config *cfg, cap_value_t *caps)
{
	const struct sandbox *sb;
	size_t i, k, n = 0;
	bool chr = false, adm = false, res = false, nic = false;

	caps[n++] = CAP_SETUID;
	caps[n++] = CAP_SETGID;
	caps[n++] = CAP_KILL;
	for (i = 0; i < cfg->nservices; i++) {
		if ((sb = cfg->services[i]->sandbox) == NULL)
			continue;
		chr |= sb->chroot != NULL;
		adm |= sb->private_tmp || sb->net_none;
		for (k = 0; k < SB_NRLIMITS; k++)
			res |= sb->rlimit_set[k];
		nic |= sb->nice_set && sb->nice < 0;
	}
	if (chr)
		caps[n++] = CAP_SYS_CHROOT;
	if (adm)
		caps[n++] = CAP_SYS_ADMIN;
	if (res)
		caps[n++] = CAP_SYS_RESOURCE;
	if (nic)
		caps[n++] = CAP_SYS_NICE;
	return n;
}

/*
 * Drops from caps what porterd does not hold (a container's bounding set
 * may lack some): asking for it would fail the whole switch, and the
 * sandbox's load checks already refuse options that would need it.
 */
static size_t
privs_keepable(cap_value_t *caps, size_t n)
{
	cap_flag_value_t v;
	size_t i, m = 0;
	cap_t cur;

	if ((cur = cap_get_proc()) == NULL)
		return n;
	for (i = 0; i < n; i++) {
		v = CAP_CLEAR;
		if (cap_get_flag(cur, caps[i], CAP_PERMITTED, &v) == 0 &&
		    v == CAP_SET)
			caps[m++] = caps[i];
	}
	cap_free(cur);
	return m;
}

int
privs_drop(const struct config *cfg)
{
	cap_value_t keep[8];
	size_t n;
	cap_t caps;

	if (cfg->run_as == NULL)
		return 0;
	if ((privs_none = cap_init()) == NULL) {
		log_warn("run-as %s: cap_init", cfg->run_as);
		return -1;
	}
	if (privs_fork_cleaner(cfg) == -1) {
		log_warn("run-as %s: cannot start the cleaner", cfg->run_as);
		return -1;
	}
	n = privs_keepable(keep, privs_needed(cfg, keep));
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1 ||
	    setgroups(1, &cfg->run_gid) == -1 || setgid(cfg->run_gid) == -1 ||
	    setuid(cfg->run_uid) == -1) {
		log_warn("run-as %s", cfg->run_as);
		return -1;
	}
	if ((caps = cap_init()) == NULL ||
	    cap_set_flag(caps, CAP_PERMITTED, (int)n, keep, CAP_SET) == -1 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, (int)n, keep, CAP_SET) == -1 ||
	    cap_set_proc(caps) == -1) {
		log_warn("run-as %s: keeping the capabilities to start "
		    "handlers", cfg->run_as);
		cap_free(caps);
		return -1;
	}
	cap_free(caps);
	/* Children switching users must not keep them by accident. */
	(void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	log_info("running as %s (uid %u, gid %u), keeping %zu capabilities "
	    "to start handlers", cfg->run_as, (unsigned)cfg->run_uid,
	    (unsigned)cfg->run_gid, n);
	return 0;
}

int
privs_child_drop(void)
{
	if (privs_none == NULL)
		return 0;	/* no run-as: setuid() from root cleared them */
	return cap_set_proc(privs_none);
}

bool
privs_active(void)
{
	return privs_none != NULL;
}
