/*
 * conn.h -- one handler run, from admission to its log line (the structs
 * are in runtime.h).
 */
#ifndef PORTERD_CONN_H
#define PORTERD_CONN_H

#include <stddef.h>
#include <time.h>

#include "runtime.h"

/*
 * Allocates a conn for svc, takes a svc reference and counts it live
 * (porterctl's live count: its PROXY header or TLS handshake included).
 * NULL on ENOMEM.  Any thread.
 */
struct conn *conn_new(struct svc *svc, int fd);

/*
 * The handler is about to start (dispatch_start(); for a pool, when the
 * pool process says a worker took it), or could not be started: counts c
 * as accepted and active in the service's stats, once.  A connection the
 * edge or a crash loop's pause refuses before this is counted as a
 * refusal instead (conn_finish()).
 */
void conn_started(struct conn *c);

/*
 * Logs the finished handler's line ("service echo: 127.0.0.1:5000: plugin
 * echo done in 0.001s (in 5 B, out 5 B)") and counts it finished, or
 * counts the edge's refusal; drops the svc reference and frees the conn.  Does not close c->fd (the caller did or does).  Any
 * thread.
 */
void conn_finish(struct conn *c);

/* The peer formatted for logs ("-" when unknown), as log-peer says. */
const char *conn_peer_text(const struct conn *c, char *buf, size_t len);

/* Seconds elapsed since *start (CLOCK_MONOTONIC). */
double conn_elapsed(const struct timespec *start);

#endif
