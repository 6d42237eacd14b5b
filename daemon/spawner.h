/*
 * spawner.h -- starting handler processes off the event loops.
 *
 * One dedicated thread (not an event loop) takes requests from a queue
 * and starts each connection's child through children_start(): an exec'd
 * program with vfork semantics (spawn.h: clone(CLONE_VM | CLONE_VFORK)
 * on the spawner's own stack, every signal blocked on this thread for
 * good, so no handler can run on the borrowed stack), or an isolated
 * plugin run of a wait service with fork().  An event loop never forks
 * the threaded daemon and never waits for a child's setup (a sandboxed
 * child's namespaces, Landlock and seccomp take ~100 us): spawner_submit()
 * queues and returns.
 *
 * Completion needs no way back to the loop: children_start() puts the
 * pid in the pid table under the table's lock, which it holds across the
 * clone, so the control thread cannot reap the child before it is known;
 * the control thread ends the connection when its process group is gone
 * (children.c).  A child that cannot be started is logged and its
 * connection ended (dispatch_done()) right here, on the spawner thread.
 *
 * The spawner reads c (svc, fd, peer, local, wait_l) and writes c->pid
 * (under the pid table's lock) and, when porterd keeps no copy, c->fd;
 * the loop that queued c does not touch them afterwards.
 *
 * The thread starts with the first request: capabilities are per thread,
 * and it must be created after run-as (privs.c), as the loops are.
 */
#ifndef PORTERD_SPAWNER_H
#define PORTERD_SPAWNER_H

#include <sys/types.h>

#include "runtime.h"

/*
 * Event loop: queues the start of c's child (children_start(c,
 * stderr_fd)).  Returns 0 (the spawner owns c's start from now on), or -1
 * with errno (nothing queued; the caller still owns c).
 */
int spawner_submit(struct conn *c, int stderr_fd);

/*
 * Any thread: queues fn(arg), to be run on the spawner thread in turn
 * with the children's starts (pool.c starts its pool processes so).
 * Returns 0, or -1 with errno (nothing queued).
 */
int spawner_call(void (*fn)(void *), void *arg);

/*
 * Spawner thread only: runs fn(arg) in a child started with vfork
 * semantics, clone(CLONE_VM | CLONE_VFORK | SIGCHLD) on the spawner's
 * stack.  Returns once the child has exec'd or exited: its pid, or -1
 * with errno.
 */
pid_t spawner_clone(int (*fn)(void *), void *arg);

#endif
