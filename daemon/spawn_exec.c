/*
 * spawn_exec.c -- starting an exec service's program from porterd
 * (spawn.h): the part of spawn.c that needs porterd's spawner thread,
 * privileges and edge, kept apart so that porterd-pool can link spawn.c.
 */
#include "config.h"

#include <errno.h>

#include "conn.h"
#include "privs.h"
#include "sandbox.h"
#include "spawn.h"
#include "spawner.h"

pid_t
spawn_exec(struct conn *c, int stderr_fd)
{
	struct spawn_exec_args a;
	pid_t pid = -1;
	int err;

	if (spawn_exec_prepare(&a, c, stderr_fd) == 0) {
		a.drop_caps = privs_active();
		pid = spawner_clone(spawn_exec_child, &a);
	}
	err = errno;
	/* The child has exec'd or exited: its listener is queued, if any. */
	if (pid > 0 && a.channel >= 0)
		sandbox_watch_collect();
	spawn_exec_release(&a);
	errno = err;
	return pid;
}
