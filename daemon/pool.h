/*
 * pool.h -- worker pools: isolation = process plugins served by
 * pre-forked processes instead of a fork of porterd per connection.
 *
 * Per service, porterd starts one pool process on the service's first
 * connection: porterd itself re-exec'd (`porterd --pool-worker`, a clean
 * single-threaded image, started with vfork semantics), which loads the
 * plugin with the same trust checks, calls its init, applies the
 * service's sandbox and user, and forks workers (poolworker.c).  porterd
 * hands each connection over a SOCK_SEQPACKET socketpair with
 * SCM_RIGHTS and a small header (pool_proto.h) and keeps its own copy of
 * the descriptor, so idle-timeout and max-lifetime still shut it down;
 * the pool says which worker runs it (c->pid: a timeout's SIGTERM and
 * SIGKILL go to that worker alone) and reports it DONE with the status,
 * the bytes and the CPU time spent on it.
 *
 * A connection the pool's socket cannot take at once (a burst faster
 * than the pool reads, or a stopped pool) waits in porterd, in order,
 * and is sent when the socket is writable again: nothing is refused for
 * it, and no loop waits.
 *
 * A pool that keeps failing before it serves -- its process (the
 * plugin's init crashes or refuses), or its workers (they die before
 * their first connection, at setup or idle) -- pauses (backoff.h): no
 * restart, no fork, connections that no idle worker takes refused
 * quietly, for 1 s doubling up to 30 s while it goes on; logged when the
 * episode starts and when it ends (the first connection a new worker
 * serves).
 *
 * Options (porterd.conf(5)): pool-min, pool-max, reuse,
 * pool-idle-timeout.  max-connections and the other limits are applied by
 * porterd before a connection reaches the pool, so they stay exact.
 *
 * Reload: a service of the same name whose pool would be started the same
 * (pool_share()) keeps its pool -- the workers, their state and their
 * connections -- shared by the old svc and its successor; any other pool
 * drains: no new connection reaches it, its busy workers finish their
 * connections, then the pool process exits.
 *
 * What workers of one service share: the plugin's init state (a copy per
 * pool process, made once), the process's memory between connections
 * when reuse != 1, a private /tmp or network namespace.  reuse = 1 gives
 * each connection a fresh worker forked from the pool process.
 *
 * Datagram (wait) services with isolation = process still fork a child of
 * porterd per turn (spawn.h, on the spawner thread).
 *
 * Launchers: an exec service whose sandbox has Landlock or seccomp
 * (sandbox.h: sb->launcher) gets the same machinery with a different
 * process at the other end: `porterd --pool-worker` that applies the
 * whole sandbox to itself once -- user, chroot, no_new_privs, Landlock,
 * the seccomp filter -- and then, per CONN, clones the program with vfork
 * semantics (spawn_launch_prepare()); the program inherits all of it and
 * sets only its own resource limits, so no connection pays the ~100 us
 * a filter costs to attach.  STARTED gives porterd the program's pid
 * (timeouts and shutdown signal its group), DONE its wait status and
 * rusage.  The programs are the launcher's children; what they leave in
 * their group, and the programs themselves if the launcher dies, are
 * re-parented to porterd, the subreaper, and their connections linger in
 * children.c until the group is gone.  A launcher is never shared across
 * a reload (its stderr is the old svc's pipe): the old one drains.
 *
 * Threads: event loops call pool_submit(); the spawner thread starts pool
 * processes (spawner.h), so a loop never forks or waits for one; the
 * control thread reads the pools' messages (the ev pool_init() returns,
 * in its epoll) and ends their connections with dispatch_done(); the
 * control thread's reaper reports pool processes' exits
 * (pool_reaped()); pool_free() runs where a svc's last reference goes.
 */
#ifndef PORTERD_POOL_H
#define PORTERD_POOL_H

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "conn.h"

struct pool;

/*
 * Once at start-up, on the control thread: the event the control loop
 * watches (an epoll of the pools' sockets; its fn reads them and ends
 * the connections they finished).  NULL with errno on failure.
 */
struct ev *pool_init(void);

/* True if conf is served by a pool (isolation = process, no wait). */
bool pool_applies(const struct service *conf);

/*
 * Event loop: hands c to its service's pool (started on first use, by
 * the spawner thread).  c->fd stays c's: dispatch_done() closes it, so
 * idle-timeout and max-lifetime can still shut it down.  Counts c
 * started (conn_started()) unless it refuses it.  Returns 0 (c will be
 * ended by dispatch_done() on another thread), 1 (refused: the pool
 * pauses in a crash loop, pool.c; the caller still owns c and ends it as
 * refused, without a line), or -1 with errno (the caller still owns c).
 */
int pool_submit(struct conn *c);

/*
 * Control thread, for the reaper (children_reap()): pid has exited; if it
 * was a pool process, its abnormal status is logged here (the pool's
 * connections end when its socket closes).
 */
void pool_reaped(pid_t pid, int status);

/*
 * Control thread (children_signal_all()): sends sig to the worker of
 * every connection a pool runs (each worker leads a process group), so a
 * shutdown's SIGTERM reaches them as it reaches exec'd children.  A
 * connection whose worker is not yet known (no STARTED yet) is skipped.
 */
void pool_signal_all(int sig);

/*
 * Reload (control thread, table.c): svc replaces old, a service of the
 * same name.  If everything the pool process was started with is the same
 * for both (plugin, args, user and groups, sandbox, pool options: the
 * SETUP message), svc shares old's pool, whose workers go on serving;
 * otherwise svc starts a pool of its own on its first connection and
 * old's drains once old's last connection is over (pool_free()).
 */
void pool_share(struct svc *old, struct svc *svc);

/*
 * svc is being freed: drops its reference to p; the last one closes the
 * pool's socket (the pool lets its busy workers finish, then exits).
 */
void pool_free(struct pool *p);

/*
 * In porterd --pool-worker (main.c): the pool process.  argv: main's, whose
 * strings it rewrites for its process title.  Never returns: it ends
 * with _exit() (no atexit handler runs in a pool process).
 */
int poolworker_main(char **argv) __attribute__((noreturn));

#endif
