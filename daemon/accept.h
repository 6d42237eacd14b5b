/*
 * accept.h -- the accept path of the event loops: admission before any
 * handler runs.
 */
#ifndef PORTERD_ACCEPT_H
#define PORTERD_ACCEPT_H

#include <stdint.h>

#include "runtime.h"

struct evloop;

/* A listener's ev.fn: its socket is readable in loop L. */
void accept_ev(struct ev *ev, uint32_t events, struct evloop *L);

/* Control thread, at start and once a second: re-reads RLIMIT_NOFILE
 * (prlimit(1) may change it under us), renews the reserve descriptor and
 * ends an out-of-descriptors episode after a quiet spell. */
void accept_tick(void);

/* Control thread, at exit: closes the reserve descriptor. */
void accept_fini(void);

#endif
