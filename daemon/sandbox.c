/*
 * sandbox.c -- per-service confinement: prepared at load, applied in the
 * child (see sandbox.h for the order and the division of work).
 *
 * Landlock is used through its raw system calls (glibc has no wrappers);
 * the ruleset handles every filesystem right the running kernel's ABI
 * knows, so whatever no rule grants is denied.  The seccomp filter is
 * built with libseccomp and exported as BPF at load; the child loads it
 * with seccomp(2) directly, asking for a user-notification listener when
 * violations are to be reported (sandbox_watch.c receives it).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"
#include "strv.h"

/* Rights newer than the oldest <linux/landlock.h> we build against. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER	(1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION	(1U << 0)
#endif

#define LL_READ	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_WRITE_V1 (LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
	LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | \
	LANDLOCK_ACCESS_FS_MAKE_SYM)
#define LL_WRITE (LL_WRITE_V1 | LANDLOCK_ACCESS_FS_REFER | \
	LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* What a rule on a file (not a directory) may grant. */
#define LL_FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | \
	LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
	LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

/*
 * The io-only profile: what a plugin needs to serve its connection and
 * nothing more.  Names the running architecture lacks are skipped.
 */
static const char *const profile_io_only[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64",
	"recvfrom", "sendto", "recvmsg", "sendmsg", "recvmmsg", "sendmmsg",
	"shutdown", "close", "dup", "dup2", "dup3", "fcntl", "fstat",
	"newfstatat", "lseek", "getsockopt", "setsockopt", "getsockname",
	"getpeername", "ioctl", "poll", "ppoll", "select", "pselect6",
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
	"brk", "mmap", "munmap", "mremap", "madvise", "mprotect",
	"futex", "clock_gettime", "clock_nanosleep", "nanosleep",
	"gettimeofday", "time", "getpid", "gettid", "getrandom",
	"rt_sigreturn", "rt_sigprocmask", "sigaltstack", "restart_syscall",
	"sched_yield", "exit", "exit_group", NULL
};

/*
 * The basic-exec profile: a deny list of what an ordinary network program
 * has no business calling -- other processes' memory, the kernel's
 * configuration, modules, mounts, namespaces, clocks, keys, BPF.
 */
static const char *const profile_basic_exec[] = {
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
	"mount", "umount2", "pivot_root", "chroot", "move_mount",
	"open_tree", "fsopen", "fsmount", "fsconfig", "fspick",
	"mount_setattr", "unshare", "setns", "swapon", "swapoff", "reboot",
	"kexec_load", "kexec_file_load", "init_module", "finit_module",
	"delete_module", "bpf", "perf_event_open", "keyctl", "add_key",
	"request_key", "acct", "settimeofday", "clock_settime", "adjtimex",
	"clock_adjtime", "iopl", "ioperm", "userfaultfd",
	"open_by_handle_at", "name_to_handle_at", "quotactl", "syslog",
	"sethostname", "setdomainname", "lookup_dcookie", "fanotify_init",
	"vhangup", "personality", NULL
};

/*
 * What a pooled worker (pool.h) needs between connections, after its
 * filter is on: the next connection, and its CPU time for the log.
 */
static const char *const seccomp_pool_needed[] = {
	"recvmsg", "getrusage", NULL
};

/*
 * What an exec service's launcher (pool.h) calls while its filter is on:
 * a service that denies one of these starts each handler in a child of
 * its own instead (sb->launcher false), paying the filter's load there.
 */
static const char *const seccomp_launcher_needed[] = {
	"epoll_wait", "epoll_pwait", "epoll_ctl", "recvmsg", "sendmsg",
	"sendmmsg", "sendto", "write", "writev", "clone", "clone3", "wait4",
	"waitid", "close", "close_range", "dup2", "dup3", "fcntl", "setsid",
	"prlimit64", "setrlimit", "getrlimit", "rt_sigaction",
	"rt_sigprocmask", "rt_sigreturn", "restart_syscall", "execve", "exit",
	"exit_group", "brk", "mmap", "munmap", "mremap", "madvise",
	"mprotect", "futex", "clock_gettime", "getpid", "getsockopt",
	"kill", NULL
};

/* What porterd's own start of a handler needs after the filter is on. */
static const char *const seccomp_needed[] = {
	"execve", "sendmsg", "close", "exit", "exit_group", "rt_sigreturn",
	NULL
};

void
sandbox_init_spec(struct sandbox *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->ll_fd = -1;
}

bool
sandbox_active(const struct sandbox *sb)
{
	size_t i;

	for (i = 0; i < SB_NRLIMITS; i++) {
		if (sb->rlimit_set[i])
			return true;
	}
	return sb->nice_set || sb->umask_set || sb->chroot != NULL ||
	    sb->workdir != NULL || sb->no_new_privs || sb->private_tmp ||
	    sb->net_none || sb->landlock || sb->seccomp;
}

int
sandbox_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, (size_t)0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

/* Every filesystem right the kernel's ABI knows. */
static uint64_t
landlock_handled(int abi)
{
	uint64_t all = LANDLOCK_ACCESS_FS_EXECUTE | LL_READ | LL_WRITE_V1;

	if (abi >= 2)
		all |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		all |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return all;
}

static const uint64_t landlock_kind_rights[SB_LL_NKINDS] = {
	[SB_LL_READ] = LL_READ,
	[SB_LL_WRITE] = LL_READ | LL_WRITE,
	[SB_LL_EXEC] = LL_READ | LANDLOCK_ACCESS_FS_EXECUTE,
};

static int
landlock_prepare(struct sandbox *sb, char *err, size_t errlen)
{
	struct landlock_ruleset_attr attr = { 0 };
	struct landlock_path_beneath_attr pb;
	struct stat st;
	size_t k, i;
	int fd;

	sb->ll_abi = sandbox_landlock_abi();
	if (sb->ll_abi == 0) {
		if (sb->ll_required) {
			snprintf(err, errlen, "landlock-required: this kernel "
			    "has no Landlock (not built in, or not in the "
			    "lsm= boot list)");
			return -1;
		}
		return 0;	/* best effort: nothing to enforce with */
	}
	/*
	 * Before ABI 3 truncate(2) cannot be restricted, so a write
	 * restriction has a hole the operator did not ask for.
	 */
	if (sb->ll_required && sb->ll_abi < 3) {
		snprintf(err, errlen, "landlock-required: kernel Landlock ABI "
		    "%d cannot restrict truncate (ABI 3 needed)", sb->ll_abi);
		return -1;
	}
	attr.handled_access_fs = landlock_handled(sb->ll_abi);
	sb->ll_fd = (int)syscall(SYS_landlock_create_ruleset, &attr,
	    sizeof(attr), 0U);
	if (sb->ll_fd < 0) {
		sb->ll_fd = -1;
		snprintf(err, errlen, "landlock: create ruleset: %s",
		    strerror(errno));
		return -1;
	}
	for (k = 0; k < SB_LL_NKINDS; k++) {
		for (i = 0; i < sb->ll_npaths[k]; i++) {
			const char *p = sb->ll_paths[k][i];

			if ((fd = open(p, O_PATH | O_CLOEXEC)) == -1) {
				snprintf(err, errlen, "landlock path '%s': %s",
				    p, strerror(errno));
				return -1;
			}
			memset(&pb, 0, sizeof(pb));
			pb.parent_fd = fd;
			pb.allowed_access = landlock_kind_rights[k] &
			    attr.handled_access_fs;
			if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
				pb.allowed_access &= LL_FILE_RIGHTS;
			if (syscall(SYS_landlock_add_rule, sb->ll_fd,
			    LANDLOCK_RULE_PATH_BENEATH, &pb, 0U) == -1) {
				snprintf(err, errlen, "landlock path '%s': %s",
				    p, strerror(errno));
				close(fd);
				return -1;
			}
			close(fd);
		}
	}
	return 0;
}

static bool
strv_has(char *const *v, const char *s)
{
	for (; v != NULL && *v != NULL; v++) {
		if (strcmp(*v, s) == 0)
			return true;
	}
	return false;
}

/* Exports ctx's BPF into sb->bpf, through a memory file. */
static int
seccomp_export(struct sandbox *sb, scmp_filter_ctx ctx, char *err,
    size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd, rc;

	if ((fd = memfd_create("porterd-seccomp", MFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "seccomp: memfd: %s", strerror(errno));
		return -1;
	}
	if ((rc = seccomp_export_bpf(ctx, fd)) < 0 || fstat(fd, &st) == -1 ||
	    st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
	    (sb->bpf = malloc((size_t)st.st_size)) == NULL) {
		snprintf(err, errlen, "seccomp: cannot export the filter: %s",
		    strerror(rc < 0 ? -rc : errno != 0 ? errno : EINVAL));
		close(fd);
		return -1;
	}
	n = pread(fd, sb->bpf, (size_t)st.st_size, 0);
	close(fd);
	if (n != st.st_size) {
		snprintf(err, errlen, "seccomp: cannot read the filter back");
		return -1;
	}
	sb->bpf_len = (size_t)st.st_size / sizeof(struct sock_filter);
	return 0;
}

static int
seccomp_prepare(struct sandbox *sb, bool exec, char *err, size_t errlen)
{
	uint32_t viol = sb->seccomp_action == SB_SECCOMP_KILL ?
	    SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO(EPERM);
	bool allowlist = sb->seccomp_profile != NULL &&
	    strcmp(sb->seccomp_profile, "io-only") == 0;
	const char *const *list = NULL;
	scmp_filter_ctx ctx;
	size_t i;
	int nr, rc = -1;

	if (sb->seccomp_profile != NULL) {
		if (allowlist) {
			if (exec) {
				snprintf(err, errlen, "seccomp profile io-only "
				    "cannot run a program (use basic-exec)");
				return -1;
			}
			list = profile_io_only;
		} else if (strcmp(sb->seccomp_profile, "basic-exec") == 0) {
			list = profile_basic_exec;
		} else {
			snprintf(err, errlen, "unknown seccomp profile '%s' "
			    "(io-only or basic-exec)", sb->seccomp_profile);
			return -1;
		}
	}
	for (i = 0; i < sb->ndeny; i++) {
		if (seccomp_syscall_resolve_name(sb->deny[i]) ==
		    __NR_SCMP_ERROR) {
			snprintf(err, errlen, "syscall-deny: unknown system "
			    "call '%s'", sb->deny[i]);
			return -1;
		}
		if (strv_has((char *const *)(uintptr_t)seccomp_needed,
		    sb->deny[i]) && (exec ||
		    strcmp(sb->deny[i], "execve") != 0)) {
			snprintf(err, errlen, "syscall-deny: porterd needs "
			    "'%s' to start the handler", sb->deny[i]);
			return -1;
		}
		if (!exec && strv_has((char *const *)(uintptr_t)
		    seccomp_pool_needed, sb->deny[i])) {
			snprintf(err, errlen, "syscall-deny: a pooled worker "
			    "needs '%s' between connections", sb->deny[i]);
			return -1;
		}
	}

	if ((ctx = seccomp_init(allowlist ? viol : SCMP_ACT_ALLOW)) == NULL) {
		snprintf(err, errlen, "seccomp: out of memory");
		return -1;
	}
	/* Another architecture's system call numbers would bypass it all. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS) < 0)
		goto fail;
	/*
	 * A binary tree instead of a linear chain: fewer instructions per
	 * call.  Attaching any filter still costs the child ~100 us on a 6.x
	 * kernel (perf, in a VM): about two thirds allocating and JIT-
	 * compiling the program (the BPF text patch flushes the TLB), one
	 * fifth running it once per system call number and architecture to
	 * fill the action cache.  The filter's length hardly matters; only
	 * inheriting an attached filter (a pre-sandboxed launcher that forks
	 * the handlers) would avoid the cost.  porterd.conf(5) says so.
	 */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (i = 0; list != NULL && list[i] != NULL; i++) {
		if ((nr = seccomp_syscall_resolve_name(list[i])) ==
		    __NR_SCMP_ERROR || strv_has(sb->deny, list[i]))
			continue;
		if (seccomp_rule_add(ctx, allowlist ? SCMP_ACT_ALLOW : viol,
		    nr, 0) < 0)
			goto fail;
	}
	for (i = 0; allowlist && seccomp_needed[i] != NULL; i++) {
		if ((nr = seccomp_syscall_resolve_name(seccomp_needed[i])) ==
		    __NR_SCMP_ERROR || strv_has((char *const *)(uintptr_t)
		    profile_io_only, seccomp_needed[i]) ||
		    strcmp(seccomp_needed[i], "execve") == 0)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0)
			goto fail;
	}
	for (i = 0; allowlist && seccomp_pool_needed[i] != NULL; i++) {
		if ((nr = seccomp_syscall_resolve_name(seccomp_pool_needed[i]))
		    == __NR_SCMP_ERROR || strv_has((char *const *)(uintptr_t)
		    profile_io_only, seccomp_pool_needed[i]))
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0)
			goto fail;
	}
	for (i = 0; !allowlist && i < sb->ndeny; i++) {
		if (list != NULL && strv_has((char *const *)(uintptr_t)list,
		    sb->deny[i]))
			continue;	/* the profile denies it already */
		if (seccomp_rule_add(ctx, viol,
		    seccomp_syscall_resolve_name(sb->deny[i]), 0) < 0)
			goto fail;
	}
	rc = seccomp_export(sb, ctx, err, errlen);
	seccomp_release(ctx);
	return rc;
fail:
	snprintf(err, errlen, "seccomp: cannot build the filter");
	seccomp_release(ctx);
	return -1;
}

int
sandbox_prepare(struct sandbox *sb, bool exec, char *err, size_t errlen)
{
	size_t i;

	if (sb->landlock || sb->seccomp)
		sb->no_new_privs = true;	/* both need it unprivileged */
	if (sb->landlock && landlock_prepare(sb, err, errlen) == -1)
		return -1;
	if (sb->seccomp && seccomp_prepare(sb, exec, err, errlen) == -1)
		return -1;
	sb->launcher = exec && (sb->landlock || sb->seccomp) &&
	    !sb->private_tmp && !sb->net_none;
	for (i = 0; sb->launcher && i < sb->ndeny; i++) {
		if (strv_has((char *const *)(uintptr_t)seccomp_launcher_needed,
		    sb->deny[i]))
			sb->launcher = false;
	}
	return 0;
}

void
sandbox_release(struct sandbox *sb)
{
	size_t k;

	if (sb == NULL)
		return;
	free(sb->chroot);
	free(sb->workdir);
	for (k = 0; k < SB_LL_NKINDS; k++)
		strv_free(sb->ll_paths[k]);
	if (sb->ll_fd >= 0)
		close(sb->ll_fd);
	free(sb->seccomp_profile);
	strv_free(sb->deny);
	free(sb->bpf);
	sandbox_init_spec(sb);
}

/* ------------------------------------------------------------------------
 * The child's side: system calls only
 * ---------------------------------------------------------------------- */

static const int sandbox_resources[SB_NRLIMITS] = {
	[SB_RLIMIT_CPU] = RLIMIT_CPU,
	[SB_RLIMIT_AS] = RLIMIT_AS,
	[SB_RLIMIT_NOFILE] = RLIMIT_NOFILE,
	[SB_RLIMIT_NPROC] = RLIMIT_NPROC,
	[SB_RLIMIT_FSIZE] = RLIMIT_FSIZE,
	[SB_RLIMIT_CORE] = RLIMIT_CORE,
};

/*
 * A private /tmp: a mount namespace of its own whose mounts do not
 * propagate back, and an empty tmpfs on /tmp (and /var/tmp when it
 * exists) that disappears with the last process of the handler.
 */
static int
sandbox_private_tmp(const char **why)
{
	struct stat st;

	if (unshare(CLONE_NEWNS) == -1) {
		*why = "private-tmp: unshare";
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1) {
		*why = "private-tmp: making mounts private";
		return -1;
	}
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=1777") == -1) {
		*why = "private-tmp: mount /tmp";
		return -1;
	}
	if (stat("/var/tmp", &st) == 0 && S_ISDIR(st.st_mode) &&
	    mount("tmpfs", "/var/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=1777") == -1) {
		*why = "private-tmp: mount /var/tmp";
		return -1;
	}
	return 0;
}

/* Namespaces, chroot, working directory: what every handler shares. */
static int
sandbox_apply_fs(const struct sandbox *sb, const char **why)
{
	if (sb->private_tmp && sandbox_private_tmp(why) == -1)
		return -1;
	if (sb->net_none && unshare(CLONE_NEWNET) == -1) {
		*why = "network = none: unshare";
		return -1;
	}
	if (sb->chroot != NULL) {
		if (chroot(sb->chroot) == -1) {
			*why = "chroot";
			return -1;
		}
		if (sb->workdir == NULL && chdir("/") == -1) {
			*why = "chdir /";
			return -1;
		}
	}
	if (sb->workdir != NULL && chdir(sb->workdir) == -1) {
		*why = "working-directory";
		return -1;
	}
	return 0;
}

static int
sandbox_apply_nice_umask(const struct sandbox *sb, const char **why)
{
	if (sb->nice_set) {
		errno = 0;
		if (nice(sb->nice) == -1 && errno != 0) {
			*why = "nice";
			return -1;
		}
	}
	if (sb->umask_set)
		umask(sb->umask);
	return 0;
}

int
sandbox_apply_limits(const struct sandbox *sb, const char **why)
{
	struct rlimit rl;
	size_t i;

	for (i = 0; sb != NULL && i < SB_NRLIMITS; i++) {
		if (!sb->rlimit_set[i])
			continue;
		rl.rlim_cur = rl.rlim_max = sb->rlimit[i];
		if (setrlimit(sandbox_resources[i], &rl) == -1) {
			*why = "setrlimit";
			return -1;
		}
	}
	return 0;
}

int
sandbox_apply_root(const struct sandbox *sb, const char **why)
{
	if (sb == NULL)
		return 0;
	if (sandbox_apply_fs(sb, why) == -1 ||
	    sandbox_apply_limits(sb, why) == -1)
		return -1;
	return sandbox_apply_nice_umask(sb, why);
}

int
sandbox_apply_shared(const struct sandbox *sb, const char **why)
{
	struct rlimit rl;
	size_t i;

	if (sb == NULL)
		return 0;
	if (sandbox_apply_fs(sb, why) == -1)
		return -1;
	/*
	 * A handler, already the service's user, may lower a hard limit
	 * but not raise it: raise it here, where porterd could.  Without
	 * the privilege every handler would fail: fail here, once.
	 */
	for (i = 0; i < SB_NRLIMITS; i++) {
		if (!sb->rlimit_set[i] ||
		    getrlimit(sandbox_resources[i], &rl) == -1 ||
		    rl.rlim_max == RLIM_INFINITY ||
		    (sb->rlimit[i] != RLIM_INFINITY &&
		    sb->rlimit[i] <= rl.rlim_max))
			continue;
		rl.rlim_max = sb->rlimit[i];
		if (setrlimit(sandbox_resources[i], &rl) == -1) {
			*why = "setrlimit";
			return -1;
		}
	}
	return sandbox_apply_nice_umask(sb, why);
}

int
sandbox_apply_user(const struct sandbox *sb, const char **why)
{
	if (sb == NULL)
		return 0;
	if (sb->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		*why = "no-new-privileges";
		return -1;
	}
	if (sb->ll_fd >= 0 &&
	    syscall(SYS_landlock_restrict_self, sb->ll_fd, 0U) == -1 &&
	    sb->ll_required) {
		*why = "landlock";
		return -1;
	}
	return 0;
}
