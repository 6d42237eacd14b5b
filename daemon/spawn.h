/*
 * spawn.h -- child processes: exec services and isolated plugin handlers.
 *
 * Exec services are started by spawner.c, off the event loop, with vfork
 * semantics: clone(CLONE_VM | CLONE_VFORK) on a stack of the spawner's
 * own, so no copy of porterd's address space is made.  The child shares
 * porterd's memory until it execs, so everything it needs is prepared
 * here first (spawn_exec_prepare()) and spawn_exec_child() only makes
 * system calls: every signal disposition back to SIG_DFL and the mask
 * emptied (raw rt_sigaction/rt_sigprocmask, glibc's reserved signals
 * too), a session of its own (setsid(): its process group is what
 * spawn_kill() signals), the service's sandbox (sandbox.h), the service's
 * user (raw setgroups/setresgid/setresuid: glibc's wrappers would signal
 * porterd's other threads), capabilities dropped (raw capset), only the
 * descriptors it is meant to have, then exec with the connection on fd 0
 * and 1 (the inetd way).  Isolated plugin runs (spawn_plugin()) fork, on
 * the spawner thread too.  The control thread reaps both (children.c).
 */
#ifndef PORTERD_SPAWN_H
#define PORTERD_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "conn.h"

/*
 * Makes porterd the child subreaper of what it starts; starts the
 * sandbox's seccomp watcher (sandbox_init()).  Call once at start-up.
 */
void spawn_init(void);

/*
 * Sets every signal disposition back to SIG_DFL through the kernel
 * (glibc's reserved ones too).  System calls only.  A pool's process
 * (pool.h) calls it once at start, after the plugin's init: a
 * sanitizer's runtime or the init may have installed handlers, and
 * neither the programs a launcher clones nor the workers a pool forks
 * take this step again.
 */
void spawn_signals_default(void);

/* What spawn_exec_child() needs, all of it built before the clone. */
struct spawn_exec_args {
	const struct svc *svc;
	char **env;			/* owned; spawn_exec_release() */
	char envbuf[2048];		/* the connection variables' strings */
	int fd;				/* the connection */
	int stderr_fd;			/* stderr = log target, or -1 */
	int channel;			/* sandbox_exec_channel_fd(), or -1 */
	bool drop_caps;			/* run-as: drop what porterd kept */
	bool launched;			/* started by a confined launcher
					 * (spawn_launch_prepare()) */
};

/*
 * Fills a for starting c's program; stderr_fd is the descriptor the
 * child's fd 2 becomes when the service's stderr mode is "log" (-1: use
 * /dev/null).  Reads c (svc, fd, peer, local, vars: the edge's or a
 * launcher's CONN's) but keeps no pointer to it; a->drop_caps is the
 * caller's to set.  Returns 0, or -1 with errno; release a with
 * spawn_exec_release() either way.
 */
int spawn_exec_prepare(struct spawn_exec_args *a, struct conn *c,
    int stderr_fd);
void spawn_exec_release(struct spawn_exec_args *a);

/*
 * The same in an exec service's launcher (pool.h), which applied the
 * service's sandbox and user to itself: the child it clones only takes
 * its resource limits, its session and its descriptors, then execs.
 * c->vars, if set, are the edge's variables its CONN carried.
 */
int spawn_launch_prepare(struct spawn_exec_args *a, struct conn *c,
    int stderr_fd);

/*
 * The child: the clone() entry point (arg: a struct spawn_exec_args).
 * Never returns: execs the program, or _exit()s 126 (setup failed, the
 * reason written to its stderr) or 127 (exec failed).
 */
int spawn_exec_child(void *arg);

/* What spawn_pool_child() needs (pool.c). */
struct spawn_pool_args {
	int ctl;			/* the pool's socket -> fd 3 */
	int ll_fd;			/* Landlock ruleset -> fd 4, or -1 */
	int channel;			/* seccomp watcher -> fd 5, or -1 */
	int err_fd;			/* -> fd 2, or -1: /dev/null */
	int exe;			/* porterd's own binary, opened at
					 * start (-1: exec /proc/self/exe) */
	char *const *env;		/* porterd's own environment */
	bool keep_caps;			/* run-as: pass porterd's capabilities
					 * on as ambient ones */
	const char *argv0;		/* "porterd: SERVICE pool": what ps
					 * shows (poolworker.c retitles) */
};

/*
 * The clone() entry point of a pool process: signals reset, a session of
 * its own, descriptors moved to 0..5 (see poolworker.c), everything else
 * closed, then porterd itself is exec'd with --pool-worker.  Never
 * returns.
 */
int spawn_pool_child(void *arg);

/*
 * Starts c's program: spawn_exec_prepare(), spawner_clone() with
 * spawn_exec_child(), spawn_exec_release().  The spawner thread only
 * (children_start() run by spawner.c).  Returns the pid, or -1 with errno.
 * In spawn_exec.c, apart from the rest: the pool's process (porterd-pool,
 * pool_main.c) links spawn.c for its launcher, without porterd's
 * spawner thread, privileges and edge.
 */
pid_t spawn_exec(struct conn *c, int stderr_fd);

/*
 * Formats a child's resource usage for its connection line:
 * "user 0.001s, sys 0.002s, maxrss 1234 KiB".  Returns buf.
 */
const char *spawn_rusage_text(const struct rusage *ru, char *buf,
    size_t len);

/*
 * Runs the plugin's handle() for c (a wait service: no edge) in a child,
 * with 0, 1 and 2 on /dev/null; drop_caps: the child drops porterd's
 * capabilities (privs_active()).  Returns the pid or -1.
 */
pid_t spawn_plugin(struct conn *c, bool drop_caps);

/*
 * Sends sig to c's whole process group: every child runs in a session and
 * process group of its own (setsid()), so this reaches what an exec'd
 * program started too, unless it made a group of its own.  Returns 0, or
 * -1 with errno (ESRCH: no child, or the group is gone).
 */
int spawn_kill(const struct conn *c, int sig);

/*
 * Fills env (at most max entries incl. the terminating NULL) with the
 * UCSPI and systemd variables describing c, using buf (len bytes) for the
 * strings: PROTO, TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP, TCPLOCALPORT,
 * REMOTE_ADDR, REMOTE_PORT (IPC* for AF_UNIX).  Returns the count added.
 */
size_t spawn_conn_env(const struct conn *c, char **env, size_t max,
    char *buf, size_t len);

#endif
