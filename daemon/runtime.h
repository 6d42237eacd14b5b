/*
 * runtime.h -- porterd's runtime objects: services, listeners, connections.
 *
 * A `struct svc` is a service of the running configuration (the immutable
 * `struct service` plus what running it needs: plugin, plugin state,
 * listeners, limiter).  A `struct listener` is one listening socket, in
 * every event loop's epoll at once (EPOLLEXCLUSIVE).  A `struct conn` is
 * one handler run: an accepted connection, or one turn of a `wait`
 * service's bound socket.
 *
 * Threads and ownership (porterd(8), EVENT LOOPS, is the operator's view):
 *  - The control thread (loop.c) builds and swaps the service table while
 *    every event loop is parked (evloop_park), so a loop never sees a
 *    listener or svc half changed.
 *  - A listener's svc pointer, armed/busy/doomed flags and a svc's pause
 *    state change under the gate lock (gate.c) only.
 *  - svc->refs, ->live and ->served are atomic: the last reference may be
 *    dropped by any thread (a loop finishing a fiber, a blocking handler's
 *    thread, the control thread reaping a child).
 *  - A conn belongs to the loop that accepted it (c->loop) and sits on
 *    that loop's live list (under the loop's lock) until it is finished.
 */
#ifndef PORTERD_RUNTIME_H
#define PORTERD_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>

#include <porter/plugin.h>
#include <porter/socket.h>

#include "conf.h"
#include "limiter.h"

struct edge;
struct plugin;
struct svc;
struct tls_ctx;
struct evloop;
struct fiber;
struct pool;
struct stats_svc;

/*
 * What epoll's data.ptr points to, in every loop: the descriptor and the
 * function its events go to.  `loop` is the evloop (or, on the control
 * thread, NULL).
 */
struct ev;
typedef void ev_fn(struct ev *ev, uint32_t events, struct evloop *loop);
struct ev {
	int fd;
	ev_fn *fn;
};

struct listener {
	struct ev ev;			/* ev.fd is the socket */
	struct svc *svc;		/* current owner (changes on reload) */
	const struct listen_spec *spec;	/* the owner's entry it was opened for */
	pt_sock *sock;
	int fd;				/* pt_sock_fileno(sock), cached */
	pt_addr addr;			/* the bound address */
	char text[PT_ADDRSTRLEN];	/* addr, formatted for logs */
	int socktype;
	bool armed;			/* in every loop's epoll (gate.c) */
	bool busy;			/* a wait handler owns the socket */
	bool doomed;			/* close once the wait handler is done */
	bool unlink_path;		/* we created this AF_UNIX path */
	bool adopted;			/* passed in by systemd */
	char *name;			/* adopted: its FileDescriptorName */
	bool matched;			/* scratch flag for reload matching */
	bool specific;			/* bound to one address: accepted
					 * sockets' local address is addr */
	int kfamily, ktype, kproto;	/* the kernel's SO_DOMAIN, SO_TYPE,
					 * SO_PROTOCOL (accepted sockets
					 * share them): pt_io_fd_hint() */
};

struct svc {
	const struct service *conf;
	struct config_ref *cref;	/* keeps conf's config alive */
	struct plugin *plugin;		/* HANDLER_PLUGIN only */
	struct tls_ctx *tls;		/* edge.c: the tls section's, or NULL */
	void *state;			/* from the plugin's init */
	bool inited;			/* init succeeded: fini is owed */
	bool cooperative;		/* handle() runs as a fiber */
	struct listener **ls;
	size_t nls;
	gid_t *groups;			/* supplementary groups for handlers */
	int ngroups;
	char **argv;			/* exec: program, args..., NULL */
	struct limiter *lim;		/* admission state, maybe shared
					 * with the svc it replaced */
	struct ev err_ev;		/* exec stderr -> log pipe: its read
					 * end, watched by the control loop
					 * (fd -1 when none) */
	int err_wr;			/* the children's end, or -1 */
	size_t errlen;			/* bytes of a partial line in errbuf */
	char errbuf[512];
	/* gate.c, under its lock: why the service is not accepting. */
	unsigned pause;			/* GATE_* bits */
	struct timespec rate_until;	/* GATE_RATE ends */
	bool rate_episode;		/* rate pause logged, not yet over */
	/* atomics */
	unsigned refs;			/* 1 while in the table + 1 per conn */
	unsigned live;			/* running handlers */
	uint64_t served;		/* finished handlers */
	struct pool *pool;		/* isolation = process: pool.h */
	struct stats_svc *stats;	/* counters, shared by name (stats.h) */
};

/* A refcounted config shared by the svcs built from it (atomic refs). */
struct config_ref {
	struct config *cfg;
	unsigned refs;
};

struct conn {
	struct svc *svc;
	struct evloop *loop;		/* the loop that accepted it */
	struct listener *wait_l;	/* wait services: the socket handed over */
	int fd;				/* connection (or the wait socket) */
	pt_addr peer;			/* empty (len 0) when unknown */
	pt_addr local;
	struct timespec start;
	pid_t pid;			/* child running it, 0 (in porterd), or
					 * -1 (the child could not be started) */
	int status;			/* waitpid status (child handlers) */
	struct rusage ru;		/* the child's usage (wait4), spawner.h */
	int rc;				/* handle() result (in-process) */
	pt_plugin_stats stats;
	struct source_key src;		/* counted against max-per-source */
	const char *cut;		/* why porterd cut it, or NULL */
	struct timespec kill_at;	/* SIGKILL a cut child after this */
	bool orphaned;			/* its launcher died while it ran
					 * (pool.c -> children_adopt()) */
	bool started;			/* conn_started(): a handler ran */
	bool refused;			/* turned away by its pool's crash
					 * loop pause (pool.h): counted, not
					 * logged */
	uint64_t id;			/* unique for porterd's life */
	struct conn *next;		/* pid table chain */
	struct conn *lprev, *lnext;	/* the loop's list of live conns */
	/* A cooperative handler: its fiber and what it waits for. */
	struct fiber *fiber;
	struct ev fev;			/* the descriptor in the loop's epoll */
	uint32_t want;			/* EPOLLIN/EPOLLOUT it waits for, or 0 */
	uint32_t pending;		/* edges seen, not yet waited for */
	int64_t deadline;		/* ns, CLOCK_MONOTONIC; 0: none */
	size_t hidx;			/* its slot in the loop's timer heap + 1 */
	int woke;			/* 1 ready, 0 timed out */
	struct edge *edge;		/* edge.c: PROXY/TLS stage, or NULL */
	/*
	 * What fd is, for pt_io_fd_hint(); ktype 0: not known.  A handler's
	 * socket is blocking (accept4() without SOCK_NONBLOCK; the edge puts
	 * the TCP socket back so, and its socketpair end is created so).
	 */
	int kfamily, ktype, kproto;
	/*
	 * ctx->vars and exec's extra environment, "NAME=value",
	 * NULL-terminated: PROXY_* TLVs, TLS_VERSION, TLS_CIPHER, TLS_SNI,
	 * TLS_ALPN, SSL_CLIENT_S_DN, SSL_CLIENT_VERIFY.  Set by edge_back()
	 * (borrowed from the edge, valid until conn_finish()); in a pool's
	 * process, the ones porterd sent; NULL without an edge.
	 */
	const char *const *vars;
};

#endif
