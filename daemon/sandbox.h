/*
 * sandbox.h -- per-service confinement of forked handlers (issue 15).
 *
 * A struct sandbox is what a service's sandbox options (porterd.conf(5):
 * rlimit-*, nice, umask, chroot, working-directory, no-new-privileges,
 * landlock, seccomp, syscall-deny, seccomp-action, private-tmp, network)
 * become at load.  Everything that costs more than a system call is done
 * once, in porterd, when the config loads: the Landlock ruleset is built
 * (every path opened once, the ruleset kept as a descriptor) and the
 * seccomp filter is compiled to BPF with libseccomp.  A child between
 * fork() and exec (or the plugin's handle()) then only makes a handful of
 * system calls: unshare, chroot, setrlimit, landlock_restrict_self,
 * seccomp.
 *
 * A child applies it in three steps (spawn.c):
 *   sandbox_apply_root()  while the child still has porterd's privileges:
 *                         namespaces, chroot, working directory, limits,
 *                         nice, umask;
 *   (spawn.c switches to the service's user and drops every capability)
 *   sandbox_apply_user()  no_new_privs, Landlock;
 *   sandbox_apply_seccomp()  last, right before exec or handle().
 *
 * Seccomp violations (seccomp-action = kill) are reported through the
 * kernel's user notification: the child hands the filter's listener
 * descriptor to porterd over a socket, and a watcher thread in porterd
 * (sandbox_watch_start()) names the system call in the log, then kills
 * the handler's process group.  The watcher never lets a denied call
 * run.  sandbox_watch.c says how the per-connection cost of that is kept
 * low.
 */
#ifndef PORTERD_SANDBOX_H
#define PORTERD_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

enum sandbox_rlimit {
	SB_RLIMIT_CPU,
	SB_RLIMIT_AS,
	SB_RLIMIT_NOFILE,
	SB_RLIMIT_NPROC,
	SB_RLIMIT_FSIZE,
	SB_RLIMIT_CORE,
	SB_NRLIMITS
};

enum sandbox_ll_kind {
	SB_LL_READ,
	SB_LL_WRITE,
	SB_LL_EXEC,
	SB_LL_NKINDS
};

enum sandbox_seccomp_action {
	SB_SECCOMP_KILL,	/* report, then kill the process group */
	SB_SECCOMP_ERRNO	/* the call fails with EPERM */
};

struct sandbox {
	/* Resource limits: soft = hard = value (RLIM_INFINITY allowed). */
	bool rlimit_set[SB_NRLIMITS];
	rlim_t rlimit[SB_NRLIMITS];
	bool nice_set;
	int nice;			/* added to porterd's niceness */
	bool umask_set;
	mode_t umask;

	char *chroot;			/* absolute, or NULL */
	char *workdir;			/* absolute (inside the chroot), or NULL */
	bool no_new_privs;		/* asked, or implied by landlock/seccomp */
	bool private_tmp;		/* new mount namespace, tmpfs on /tmp */
	bool net_none;			/* new network namespace: loopback only */

	/* Landlock. */
	char **ll_paths[SB_LL_NKINDS];	/* NULL-terminated, or NULL */
	size_t ll_npaths[SB_LL_NKINDS];
	bool landlock;			/* any landlock path was given */
	bool ll_required;
	int ll_abi;			/* the kernel's ABI at load, 0: none */
	int ll_fd;			/* the prepared ruleset, or -1 */

	/* seccomp. */
	char *seccomp_profile;		/* "io-only", "basic-exec" or NULL */
	char **deny;			/* syscall-deny names, NULL-terminated */
	size_t ndeny;
	enum sandbox_seccomp_action seccomp_action;
	bool seccomp;			/* a filter is to be loaded */
	void *bpf;			/* struct sock_filter[], bpf_len of them */
	size_t bpf_len;

	/*
	 * Set by sandbox_prepare() for an exec service: its handlers are
	 * started by a launcher that applied the sandbox once (pool.h),
	 * not each in a child that applies it.  True when the sandbox
	 * has something that costs per child (Landlock, seccomp), asks
	 * for no per-connection namespace (private-tmp, network = none),
	 * and denies no call the launcher makes under the filter.
	 */
	bool launcher;
};

/* Sets the fields their "unset" values (descriptors -1). */
void sandbox_init_spec(struct sandbox *sb);

/*
 * Does the expensive part once, at load: the Landlock ruleset and the
 * seccomp filter.  `exec` says whether the handler is an exec'd program
 * (the io-only profile cannot run one).  Returns 0, or -1 with a message
 * (no file:line) in err.
 */
int sandbox_prepare(struct sandbox *sb, bool exec, char *err, size_t errlen);

/* Frees what sb holds and closes its descriptors (not sb itself). */
void sandbox_release(struct sandbox *sb);

/* The running kernel's Landlock ABI version, 0 when it has none. */
int sandbox_landlock_abi(void);

/* True if sb asks for anything at all. */
bool sandbox_active(const struct sandbox *sb);

/* In porterd at start: logs the Landlock ABI found.  Returns 0. */
int sandbox_init(void);

/*
 * Starts, once, the thread that watches seccomp notifications; spawn.c
 * calls it before forking the first child whose sandbox reports
 * violations (so a porterd without such a service holds no socket or
 * thread for it).  Returns 0 or -1 (logged).
 */
int sandbox_watch_start(void);

/*
 * The descriptor children send their seccomp listener on (close-on-exec),
 * or -1 before sandbox_watch_start().  spawn.c keeps it open in the child until
 * the filter is loaded.
 */
int sandbox_channel_fd(void);

/*
 * The descriptor exec'd children send their listener on (close-on-exec),
 * or -1 before sandbox_watch_start().  Nothing polls it: whoever cloned
 * the child calls sandbox_watch_collect() once the clone has returned
 * (CLONE_VFORK: the child has exec'd or exited by then).
 */
int sandbox_exec_channel_fd(void);

/*
 * Hands the listeners queued on the exec channel to the watcher.  Any
 * thread; allocates, so not in a child.
 */
void sandbox_watch_collect(void);

/*
 * In a worker pool's process (porterd re-exec'd, pool.h): the inherited
 * descriptor its workers send their seccomp listeners on.
 */
void sandbox_channel_adopt(int fd);

/*
 * A launcher's share of sandbox_apply_root() (pool.h: the process that
 * starts an exec service's handlers and applies its sandbox once):
 * namespaces, chroot, working directory, nice and umask, which every
 * handler inherits; and, while it still has porterd's privileges, each
 * resource limit's hard value raised as far as its handlers will set it.
 * The limits themselves are per handler, sandbox_apply_limits() (a
 * launcher holding rlimit-cpu would spend it on its own work).  Returns
 * 0, or -1 with errno and a reason in *why.
 */
int sandbox_apply_shared(const struct sandbox *sb, const char **why);

/* The resource limits, soft = hard = value: system calls only. */
int sandbox_apply_limits(const struct sandbox *sb, const char **why);

/*
 * A launcher's filter: sandbox_apply_seccomp(), but the listener it
 * sends is shared by every handler the launcher starts, so the watcher
 * ends the offending process's own session and group, never the
 * launcher's.
 */
int sandbox_apply_seccomp_launcher(const struct sandbox *sb,
    const char *service, const char **why);

/*
 * The child's steps (see the top of this file).  Each returns 0, or -1
 * with errno set and a short reason in *why.  Only system calls: safe
 * between fork() and exec in a multi-threaded process.
 */
int sandbox_apply_root(const struct sandbox *sb, const char **why);
int sandbox_apply_user(const struct sandbox *sb, const char **why);
int sandbox_apply_seccomp(const struct sandbox *sb, const char *service,
    const char **why);
/* The same, sending the listener on channel (sandbox_exec_channel_fd()). */
int sandbox_apply_seccomp_to(const struct sandbox *sb, const char *service,
    int channel, const char **why);

#endif
