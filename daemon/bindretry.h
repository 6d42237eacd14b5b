/*
 * bindretry.h -- listeners that could not be bound, retried with back-off.
 *
 * Unless strict-start is set, a listen entry whose socket cannot be bound
 * (address in use, address not configured yet, a socket file's directory
 * missing) does not stop the start or the reload: its service runs on
 * its other listeners, the failure is logged once per episode, and the
 * bind is retried after 1 s, doubling up to 60 s, until it succeeds.
 * Entries follow the service table: a reload stages a new set, which
 * replaces the running one when the new table goes in (an entry for the
 * same service and address keeps its back-off and is not logged again).
 * Control thread only.  A listener bound by a retry joins its service
 * the way table_commit() adds one: under the gate lock, into the svc's
 * listener array, and armed in every event loop's epoll by gate.c; it is
 * torn down with the rest of the svc's listeners (reload, stop).
 */
#ifndef PORTERD_BINDRETRY_H
#define PORTERD_BINDRETRY_H

#include <stddef.h>

#include "runtime.h"

#define BINDRETRY_FIRST	1	/* seconds before the first retry */
#define BINDRETRY_MAX	60	/* the back-off stops doubling here */

/*
 * Stages a retry of `spec` for svc of the table being built, after
 * listen_open() failed with errno `code` and message `why`.  Returns 0,
 * or -1 when the failure is not one a retry can cure (the caller fails
 * the start or reload with `why`).
 */
int bindretry_stage(struct svc *svc, const struct listen_spec *spec,
    int code, const char *why);

/* The table built is in: its staged entries replace the running ones. */
void bindretry_commit(void);

/* The table built was dropped: forgets its staged entries. */
void bindretry_abort(void);

/*
 * Retries every due entry (once a second, from the control loop's tick,
 * with the running table svcs[0..n-1]).  Each one that binds is logged,
 * leaves the list, is added to its svc's listeners and armed in every
 * event loop (gate lock held, so no loop sees it half added); a datagram
 * one also joins the reflection guard's list of porterd's own ports.
 */
void bindretry_tick(struct svc *const *svcs, size_t n);

/* How many listeners wait to be bound (for STATUS). */
size_t bindretry_pending(void);

/*
 * How many of svc's listeners wait to be bound (svc of the running
 * table), for porterctl services.  The first max of their addresses go
 * to ret_texts (may be NULL when max is 0): borrowed, valid until the
 * next tick, commit, abort or clear.
 */
size_t bindretry_svc_pending(const struct svc *svc, const char **ret_texts,
    size_t max);

/* Forgets every entry (shutdown). */
void bindretry_clear(void);

#endif
