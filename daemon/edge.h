/*
 * edge.h -- the edge stage of a connection: what runs after accept and
 * before the handler, for services with proxy-protocol or tls (see
 * conf_edge.h for the options).
 *
 *   accept (a loop):        edge_admit_balancer(): the TCP peer must be in
 *                           proxy-from; ACL and max-per-source wait for the
 *                           real client
 *   dispatch (the loop):    edge_hold() starts a fiber of the loop for the
 *                           stage, whatever the handler's kind
 *   the fiber:              edge_run(): the PROXY header, then the ACL on
 *                           the real client, then the TLS handshake and
 *                           kTLS or a relay -- in blocking style with
 *                           deadlines, every wait a pt_io_wait()
 *                           (<porter/iowait.h>), i.e. a yield to the loop
 *   dispatch_done (loop):   edge_back(): when the fiber ends, the results
 *                           move into the conn (peer, local, the handler's
 *                           fd), max-per-source for the real client, the
 *                           relay starts, and dispatch_start() runs the
 *                           handler as dispatch() would have
 *   conn_finish:            edge_finish() logs a refusal (once per episode,
 *                           counted as REFUSE_EDGE) instead of a handler
 *                           line; edge_free() with the conn
 *
 * The relay (TLS without kTLS) runs as epoll callbacks on the conn's loop
 * and owns the TCP socket until both directions are closed, independently
 * of the conn: the handler's end of the socketpair is just the conn's fd.
 * The session facts (TLS_*, SSL_CLIENT_*, PROXY_*) are copied into the
 * edge state, so they outlive the TLS session for exec's environment and
 * the plugin context (ctx->vars).
 */
#ifndef PORTERD_EDGE_H
#define PORTERD_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <porter/socket.h>

struct conn;
struct service;
struct source_key;
struct svc;

/*
 * Builds what the running service needs: its TLS context, reading the
 * certificate, key and CAs now (so a reload with a bad one fails and
 * keeps the running config).  Returns 0, or -1 with "FILE:LINE: service
 * NAME: tls key '/x': ..." in errbuf.  Sets svc->tls (NULL without tls).
 */
int edge_svc_new(struct svc *svc, char *errbuf, size_t errlen);
/* Drops the service's TLS context (connections keep their own ref). */
void edge_svc_free(struct svc *svc);

/*
 * At accept: edge_proxied() is true for a service with proxy-protocol;
 * for those, edge_admit_balancer() replaces the access list and
 * max-per-source checks (which wait for the real client): returns 0 and
 * clears *src if the TCP peer is in proxy-from, else -1 with a reason.
 */
bool edge_proxied(const struct service *conf);
int edge_admit_balancer(const struct service *conf, const pt_addr *peer,
    struct source_key *src, char *why, size_t len);

/*
 * dispatch(), on loop L: true if c has been taken for the edge stage (a
 * fiber of L; or c was finished because that could not start), false for
 * services without an edge and for a conn past its stage.
 */
struct evloop;
bool edge_hold(struct evloop *L, struct conn *c);

/* dispatch_run_plugin(): true if c was there for its edge stage (done). */
bool edge_run(struct conn *c);

/*
 * True while c's fiber reads its PROXY header or does its TLS handshake
 * (edge_run() has not returned): the loop's stall report says so.
 */
bool edge_busy(const struct conn *c);

/*
 * dispatch_done(), on c's loop: true if c's edge stage just ended well and
 * its handler has been started (dispatch_start()): not the end of c.
 * False otherwise: finish c (a refusal is then logged by edge_finish()),
 * releasing the source count c->src holds now, which may be the real
 * client's that this call took.
 */
bool edge_back(struct conn *c);

/*
 * In conn_finish(): true if the edge refused c, in which case the refusal
 * has been counted and logged (or left to the summary) and no handler
 * line is due.
 */
bool edge_finish(struct conn *c);

/* Frees c's edge state; accepts c->edge == NULL. */
void edge_free(struct conn *c);


/* Relays still running (TLS without kTLS). */
unsigned edge_relays(void);
/*
 * At exit, while the loops still run: waits (bounded by *deadline,
 * CLOCK_MONOTONIC) for the relays to finish.
 */
void edge_drain(const struct timespec *deadline);
/* At exit, after evloop_quit(): frees the relays left, if the loops are. */
void edge_relays_free(void);

#endif
