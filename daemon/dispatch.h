/*
 * dispatch.h -- running an admitted connection's handler, and its end.
 *
 * dispatch() is called on an event loop by the accept path with a
 * connection whose slot (max-connections) and source count are already
 * taken.  By handler kind:
 *  - cooperative plugin: a fiber of this loop (evloop_run_fiber);
 *  - blocking plugin: this very thread, once its batch of events is done,
 *    while another thread leads the loop (evloop_run_blocking);
 *  - isolated plugin or exec'd program: a child process (spawn.c), whose
 *    end the control thread sees (children.c).
 * Every run ends in dispatch_done(), on whichever thread saw it end.
 */
#ifndef PORTERD_DISPATCH_H
#define PORTERD_DISPATCH_H

#include <porter/plugin.h>

#include "runtime.h"

struct evloop;

/*
 * Event loop: runs l's service's handler for fd (an accepted connection,
 * or l's own socket for a wait service, which the caller has claimed).
 * peer and src may be NULL.  Always consumes fd and the reservation.
 */
void dispatch(struct evloop *L, struct listener *l, int fd,
    const pt_addr *peer, const struct source_key *src);

/*
 * On loop L: starts c's handler (dispatch()'s second half, for a conn
 * already on L's live list): a fiber, this thread after the batch, or a
 * child.  edge.c calls it when a connection's edge stage is over.
 */
void dispatch_start(struct evloop *L, struct conn *c);

/*
 * Calls svc's plugin handle() for c on the calling thread or fiber; sets
 * c->rc and c->stats.  c->fd stays open: dispatch_done() closes it, so
 * the control thread can still shutdown() a connection whose time is up.
 */
void dispatch_run_plugin(struct conn *c);

/*
 * The end of c's run: closes the connection, gives back its slot and
 * source count (resuming a service paused at max-connections), releases
 * a wait service's socket, logs the line and frees c.  Any thread.
 */
void dispatch_done(struct conn *c);

/*
 * The descriptor exec'd children's stderr goes to in "log" mode when the
 * service has no pipe of its own (-1: /dev/null).  Set once at start.
 */
void dispatch_set_stderr(int fd);

/*
 * Where svc's exec'd children write their stderr in "log" mode: its
 * pipe, or the descriptor above (-1: /dev/null, or not an exec service).
 */
int dispatch_stderr_fd(const struct svc *svc);

#endif
