/*
 * evloop.h -- the event loops: one epoll set each, threads that take turns
 * leading it, cooperative handlers on fibers.
 *
 * porterd runs `threads` event loops (default: one per CPU).  Every loop
 * has every listener in its epoll set (EPOLLEXCLUSIVE: a connection wakes
 * one loop) and accepts for itself; the connection is then run right
 * there, with no hand-off:
 *  - a cooperative plugin's handle() runs as a fiber of the loop; when a
 *    libporter call would block, the fiber registers the descriptor with
 *    the loop's epoll and the loop runs something else;
 *  - a blocking plugin's handle() runs on the thread that accepted it:
 *    that thread first hands the loop to a follower (an idle thread of the
 *    same loop, or a new one), so accepting never waits for a handler
 *    (leader/follower);
 *  - exec'd programs and isolated plugins are started from the loop and
 *    reaped by the control thread.
 *
 * The control thread (loop.c) parks every loop (evloop_park) before it
 * changes the service table, so a loop only ever sees a consistent one.
 */
#ifndef PORTERD_EVLOOP_H
#define PORTERD_EVLOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

struct evloop;

/*
 * Creates n loops (epoll sets) without threads.  Returns 0, or -1 with
 * errno.  evloop_epfds() then lists their epoll descriptors (for gate.c).
 */
int evloop_init(unsigned n);
const int *evloop_epfds(void);
size_t evloop_count(void);

/* Starts one leading thread per loop.  Returns 0, or -1 with errno. */
int evloop_start(void);

/*
 * Control thread: waits until every loop is between two batches of
 * events (or has no thread leading it: its one thread runs a blocking
 * handler and no other could be started), and keeps it there until
 * evloop_unpark().  Handlers on their own threads (blocking plugins) keep
 * running.  Returns 0, or -1 after timeout_ms with nothing parked and
 * `why` naming the loop that did not stop (a cooperative handler that
 * blocks outside libporter holds its loop until it yields).
 */
int evloop_park(unsigned timeout_ms, char *why, size_t len);
void evloop_unpark(void);

/*
 * Control thread, at exit with no live connection: stops every loop's
 * threads (bounded wait) and frees the loops.  Returns 0, or -1 if a
 * thread still runs (a handler): then nothing is freed.
 */
int evloop_quit(void);

/* L's epoll descriptor, for callbacks of its own (struct ev) on L. */
int evloop_epfd(const struct evloop *L);

/* Live conns: every loop's list.  Adding and removing take its lock. */
void evloop_conn_add(struct evloop *L, struct conn *c);
void evloop_conn_del(struct conn *c);

/*
 * Any thread: closes porterd's copy of live c's descriptor (a child has
 * its own now) under c's loop's lock, so the control thread's timeouts,
 * which shutdown() c->fd under that lock, never reach a number the close
 * made free for another connection.
 */
void evloop_conn_close_fd(struct conn *c);
/* Calls fn(c, arg) for every live conn, each list under its lock. */
void evloop_each_conn(void (*fn)(struct conn *c, void *arg), void *arg);
/* Live conns in all loops. */
unsigned evloop_live(void);
/* Threads alive in all loops (leaders, followers, blocking handlers). */
unsigned evloop_threads(void);

/*
 * On a loop (from the accept path): runs c's cooperative handler as a new
 * fiber now, until it first waits.  Returns 0, or -1 with errno (ENOMEM);
 * the caller still owns c then.
 */
int evloop_run_fiber(struct evloop *L, struct conn *c);

/*
 * On a loop: c (a blocking plugin's connection) will run on this thread
 * once the current batch of events is handled; the loop passes to a
 * follower first.  Only one per batch: evloop_can_block() says whether a
 * slot is free.
 */
void evloop_run_blocking(struct evloop *L, struct conn *c);
bool evloop_can_block(const struct evloop *L);

/*
 * Control thread: sets how long a fiber may run without yielding before
 * evloop_check_stalls() reports it (fiber-stall), from the next check on.
 */
void evloop_set_stall(unsigned stall_ms);

/*
 * Control thread, on the watchdog's timer: logs (once per episode) a loop
 * whose fiber has run longer than the stall time without yielding: a
 * cooperative handler blocking outside libporter stalls every connection
 * of its loop.
 */
void evloop_check_stalls(void);

#endif
