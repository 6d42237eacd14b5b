/*
 * gate.h -- why a service is or is not accepting, and the listeners'
 * registration in every event loop.
 *
 * This module is the one owner of "is this listener armed": a listener is
 * in the loops' epoll sets (EPOLLEXCLUSIVE, so one loop wakes per
 * connection) unless its wait handler holds it (busy), its service is
 * paused (max-connections reached, rate limit, drained), porterd is out of
 * descriptors, or porterd is stopping.  Every change happens under one
 * mutex, the gate lock, which also guards a listener's svc pointer and a
 * svc's listener array while the control thread swaps tables.
 *
 * Lock order: gate lock, then a limiter's lock, then a loop's lock.
 */
#ifndef PORTERD_GATE_H
#define PORTERD_GATE_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime.h"

#define GATE_MAX	0x1	/* max-connections reached */
#define GATE_RATE	0x2	/* token bucket empty */

/*
 * Sets the epoll descriptors of the event loops (borrowed, fixed for the
 * process's life) and the function that wakes the control thread when a
 * timed pause begins (it must recompute its timeout).
 */
void gate_init(const int *epfds, size_t n, void (*wake_control)(void));

void gate_lock(void);
void gate_unlock(void);

/* Arms or disarms each of svc's listeners as its state says (locks). */
void gate_svc_arm(struct svc *svc);
void gate_svc_arm_locked(struct svc *svc);
/* Takes l out of every loop (gate lock held). */
void gate_disarm_locked(struct listener *l);
/* Stops using l (gate lock held): now, or when its wait handler is done. */
void gate_drop_listener_locked(struct listener *l);

/*
 * max-connections: pauses svc if its limiter is still full (re-checked
 * under the lock, so a connection finishing meanwhile is not missed).
 */
void gate_pause_max(struct svc *svc);
/* A connection of lim finished below max-connections: resume its svc. */
void gate_resume_max(struct limiter *lim);
/* Rate limit: pauses svc for ms milliseconds; the control loop resumes it. */
void gate_pause_rate(struct svc *svc, long ms);
/* Out of descriptors: pauses accepting everywhere for ms milliseconds. */
void gate_pause_emfile(struct listener *l, long ms);
/* True while an EMFILE pause lasts (cheap; read on the accept path). */
bool gate_emfile_paused(void);
/* SIGTERM: nothing is armed from now on. */
void gate_stop(void);

/*
 * A wait service's socket became readable: true if the caller now owns it
 * (busy, disarmed); false if another loop took it first.
 */
bool gate_claim_wait(struct listener *l);
/* The wait handler is done with l: re-arm it, or close it if doomed. */
void gate_release_wait(struct listener *l);

/*
 * Control loop: milliseconds until the next timed pause ends (-1: none),
 * and resuming the ones that are over, given the running table.
 */
int gate_timeout_ms(struct svc *const *svcs, size_t n);
void gate_resume_due(struct svc *const *svcs, size_t n);

/*
 * Reload (control thread, gate lock held, loops parked): svc is the
 * running user of its limiter now; its pause bits follow the limiter's
 * state under the (maybe changed) limits.
 */
void gate_adopt_locked(struct svc *svc);
/* svc is being freed: it is no longer its limiter's owner (locks). */
void gate_forget_svc(struct svc *svc);

/* "serving", "paused: max-connections", ... for status lines. */
const char *gate_state_text(const struct svc *svc);

#endif
