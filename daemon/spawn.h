/*
 * spawn.h -- child processes: exec services and isolated plugin handlers.
 *
 * Both fork from the main thread.  The child starts a session of its own
 * (setsid(): its process group is what spawn_kill() signals), applies the
 * service's sandbox (sandbox.h), drops to the service's user
 * (supplementary groups, gid, uid), resets signal dispositions and mask,
 * keeps only the descriptors it is meant to have, and then either execs
 * the service's program with the connection on fd 0 and 1 (the inetd way)
 * or calls the plugin's handle() and exits with its result.  The parent
 * records the pid in c->pid; the main loop reaps it and calls
 * conn_finish().
 */
#ifndef PORTERD_SPAWN_H
#define PORTERD_SPAWN_H

#include <sys/types.h>

#include "conn.h"

/*
 * Records which signals porterd ignores (SIGPIPE, and any it inherited
 * ignored), so children reset exactly those; makes porterd the child
 * subreaper of what it starts; starts the sandbox's seccomp watcher
 * (sandbox_init()).  Call once at start-up, after porterd has set its
 * own dispositions.
 */
void spawn_init(void);

/*
 * Starts the service's program for c.  stderr_fd is the descriptor the
 * child's fd 2 becomes when the service's stderr mode is "log" (-1: use
 * /dev/null).  Returns the pid, or -1 with errno.
 */
pid_t spawn_exec(struct conn *c, int stderr_fd);

/*
 * Runs the plugin's handle() for c in a child, with 0, 1 and 2 on
 * /dev/null.  Returns the pid or -1.
 */
pid_t spawn_plugin(struct conn *c);

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
