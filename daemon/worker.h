/*
 * worker.h -- the thread pool that runs in-process plugin handlers.
 *
 * A handler may block on a slow client for as long as the client likes,
 * so the pool never makes a connection wait for another: when no thread is
 * idle it starts one.  Idle threads are kept for a while and then exit.
 * Finished conns are queued for the main thread, which is woken through an
 * eventfd (worker_fd()) and collects them with worker_collect().
 */
#ifndef PORTERD_WORKER_H
#define PORTERD_WORKER_H

#include "conn.h"

/* Starts the pool (no threads yet).  Returns 0 or -1 with errno. */
int worker_init(void);

/* The eventfd the main loop polls for finished conns. */
int worker_fd(void);

/*
 * Runs c's plugin handle() on a pool thread.  Returns 0, or -1 with errno
 * if no thread could be started (the caller still owns c).
 */
int worker_submit(struct conn *c);

/* Takes every finished conn (a list through ->next), oldest first. */
struct conn *worker_collect(void);

/* Threads currently alive (busy + idle), for status lines. */
unsigned worker_threads(void);

/*
 * Builds the plugin context for c (init when c is NULL: peer and local
 * are left NULL).  Used by the pool and by isolated children.
 */
void worker_ctx(pt_plugin_ctx *ctx, struct svc *svc, struct conn *c);

/*
 * Calls svc's plugin handle() for c; sets c->rc and c->stats.  c->fd stays
 * open: the main thread closes it when it collects c, so it can still
 * shutdown() a connection whose time is up while handle() runs.
 */
void worker_run(struct conn *c);

#endif
