/*
 * loadgen.h -- shared types of the load generator (contrib/bench).
 *
 * loadgen.c runs the client loops, loadgen_args.c reads the command line
 * and vets the target address, loadgen_report.c keeps the latency
 * histogram and prints the results.
 */
#ifndef PORTER_LOADGEN_H
#define PORTER_LOADGEN_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

#include <porter/socket.h>

/* What the command line asked for. */
struct options {
	pt_addr target;		/* loopback or AF_UNIX, checked */
	unsigned clients;	/* concurrent client loops */
	size_t size;		/* payload bytes per op */
	double seconds;		/* run length, <= 60 */
	uint64_t count;		/* stop after this many ops; 0: no limit */
	unsigned threads;	/* epoll loops */
	uint64_t timeout_ns;	/* one op's limit before it is an error */
	int persistent;		/* -p: round trips on one connection */
	int rst;		/* -r: close with RST instead of half-close */
	int spread;		/* IPv4 target: vary the source address */
	int quiet;		/* -q: no summary on stderr */
	int tls;		/* -L: TLS client (loadgen_tls.c) */
};

/*
 * Log-linear latency histogram in nanoseconds: exact below 64 ns, then 32
 * buckets per power of two (relative error under 1.6 %), so percentiles
 * cost a fixed 15 KiB however long the run.  The maximum is kept exactly.
 */
#define HIST_BUCKETS	(64 + 58 * 32)

struct hist {
	uint64_t b[HIST_BUCKETS];
	uint64_t count;
	uint64_t max;
};

void hist_add(struct hist *h, uint64_t ns);
void hist_merge(struct hist *into, const struct hist *from);
/* The q-quantile (0 < q <= 1) in ns, a bucket's midpoint; 0 if empty. */
double hist_quantile(const struct hist *h, double q);

enum err_kind {
	ERR_REFUSED,		/* ECONNREFUSED, or no AF_UNIX socket */
	ERR_ADDR,		/* EADDRNOTAVAIL: out of source ports */
	ERR_RESET,		/* ECONNRESET, EPIPE */
	ERR_EOF,		/* the server closed before the whole echo */
	ERR_MISMATCH,		/* wrong bytes, or bytes after the echo */
	ERR_TIMEOUT,		/* an op took longer than -T */
	ERR_OTHER,
	ERR_MAX
};

enum client_state {
	C_IDLE,
	C_BACKOFF,		/* after an error: reconnect at deadline */
	C_CONNECTING,
	C_HANDSHAKE,		/* -L: the TLS handshake */
	C_XFER,			/* sending the payload, reading the echo */
	C_DRAIN			/* half-closed, waiting for the server's EOF */
};

struct ssl_st;

struct client {
	int fd;
	struct ssl_st *ssl;	/* -L: the session, else NULL */
	unsigned id;
	enum client_state state;
	size_t offset;		/* this op's payload: pattern + offset */
	size_t sent, got;
	uint64_t op_start;	/* ns: connect (-p: send) of this op */
	uint64_t deadline;	/* ns: timeout, or end of the backoff */
	uint64_t verified;	/* bytes of echo compared and found equal */
	int shut;		/* C_DRAIN: our end (close_notify, FIN) sent */
	int notified;		/* -L: close_notify is written */
	int ticket;		/* -n: holds one of the COUNT ops */
};

/* One epoll loop and the clients it drives. */
struct worker {
	pthread_t tid;
	int epfd;
	struct client *clients;
	size_t nclients;
	unsigned char *rbuf;
	uint32_t next_src;	/* source address rotation */
	uint64_t stop_at;	/* ns */
	uint64_t end;		/* ns, when the loop stopped */
	uint64_t ops;
	uint64_t conns;		/* connections established, counted or not */
	uint64_t abandoned;	/* ops still open DRAIN_NS after the end */
	int draining;		/* past the end: finish ops, start none */
	uint64_t errors[ERR_MAX];
	int first_errno;	/* for the summary; -1: not an errno */
	struct hist hist;
};

/*
 * Fills opt from the command line.  Returns 0, or -1 after printing
 * why (usage, out of range, an address that is not loopback).
 */
int options_parse(struct options *opt, int argc, char *argv[]);

uint64_t now_ns(void);

/*
 * -L (loadgen_tls.c): TLS over c->fd with OpenSSL, non-blocking, in the
 * same loops.  tls_init() builds the one client context (no certificate
 * check: loopback only, the bench's own certificate; no session reuse,
 * so every connection is a full handshake).  The calls below return as
 * send()/recv() do: -1 with errno EAGAIN when they would block (either
 * way: a TLS read may need the socket writable and the other way round),
 * ECONNRESET or EPROTO on failure, 0 from tls_recv() at the server's end
 * of stream (close_notify, or a TCP EOF without it).
 */
int tls_init(void);
void tls_done(void);
int tls_begin(struct client *c);	/* SSL for c->fd; -1, errno */
int tls_handshake(struct client *c);	/* 1 done, 0 again, -1 errno */
/*
 * tls_send() may keep what it took in a write buffer when the socket is
 * full: tls_pending() says so, tls_flush() sends it (1 all sent, 0
 * again, -1 errno).
 */
ssize_t tls_send(struct client *c, const void *buf, size_t len);
int tls_pending(struct client *c);
int tls_flush(struct client *c);
ssize_t tls_recv(struct client *c, void *buf, size_t len);
int tls_shutdown(struct client *c);	/* close_notify: 1 out, 0 again */
void tls_end(struct client *c);		/* frees c->ssl; accepts none */

struct rusage;

/*
 * Prints the key=value line on stdout and, unless opt->quiet, a summary
 * on stderr.  start is the run's start (ns); ru0 and ru1 the process's
 * usage before and after.  Returns the exit status: 0 when ops completed
 * and none failed, else 1.
 */
int report(const struct options *opt, const struct worker *ws, size_t nw,
    uint64_t start, const struct rusage *ru0, const struct rusage *ru1);

#endif
