/*
 * conn.h -- porterd's runtime objects: services, listeners, connections.
 *
 * A `struct svc` is a service of the running configuration (the immutable
 * `struct service` plus what running it needs: plugin, plugin state,
 * listeners, counters).  A `struct conn` is one handler run: an accepted
 * connection, or one turn of a `wait` service's bound socket.  Both are
 * owned and counted by the main thread only; worker threads and child
 * processes hand finished conns back to it (see worker.h, spawn.h).
 */
#ifndef PORTERD_CONN_H
#define PORTERD_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <porter/plugin.h>
#include <porter/socket.h>

#include "conf.h"
#include "limiter.h"

struct plugin;
struct svc;

struct listener {
	struct svc *svc;		/* current owner (changes on reload) */
	const struct listen_spec *spec;	/* the owner's entry it was opened for */
	pt_sock *sock;
	int fd;				/* pt_sock_fileno(sock), cached */
	pt_addr addr;			/* the bound address */
	char text[PT_ADDRSTRLEN];	/* addr, formatted for logs */
	int socktype;
	bool armed;			/* registered with epoll */
	bool busy;			/* a wait handler owns the socket */
	bool doomed;			/* close once the wait handler is done */
	bool unlink_path;		/* we created this AF_UNIX path */
	bool adopted;			/* passed in by systemd */
	char *name;			/* adopted: its FileDescriptorName */
	bool matched;			/* scratch flag for reload matching */
	bool specific;			/* bound to one address: accepted
					 * sockets' local address is addr */
};

struct svc {
	const struct service *conf;
	struct config_ref *cref;	/* keeps conf's config alive */
	struct plugin *plugin;		/* HANDLER_PLUGIN only */
	void *state;			/* from the plugin's init */
	bool inited;			/* init succeeded: fini is owed */
	struct listener **ls;
	size_t nls;
	gid_t *groups;			/* supplementary groups for handlers */
	int ngroups;
	char **argv;			/* exec: program, args..., NULL */
	struct limiter *lim;		/* admission state, maybe shared
					 * with the svc it replaced */
	int err_rd, err_wr;		/* exec stderr -> log pipe, or -1 */
	size_t errlen;			/* bytes of a partial line in errbuf */
	char errbuf[512];
	unsigned pause;			/* SVC_PAUSE_* bits: not accepting */
	struct timespec rate_until;	/* SVC_PAUSE_RATE ends */
	bool rate_episode;		/* rate pause logged, not yet over */
	unsigned refs;			/* 1 while in the table + 1 per conn */
	unsigned live;			/* running handlers */
	uint64_t served;		/* finished handlers */
};

#define SVC_PAUSE_MAX	0x1	/* max-connections reached */
#define SVC_PAUSE_RATE	0x2	/* token bucket empty */

/* A refcounted config shared by the svcs built from it. */
struct config_ref {
	struct config *cfg;
	unsigned refs;
};

struct conn {
	struct svc *svc;
	struct listener *wait_l;	/* wait services: the socket handed over */
	int fd;				/* connection (or the wait socket) */
	pt_addr peer;			/* empty (len 0) when unknown */
	pt_addr local;
	struct timespec start;
	pid_t pid;			/* child running it, 0 (a thread), or
					 * -1 (the child could not be started) */
	int status;			/* waitpid status (child handlers) */
	int rc;				/* handle() result (thread handlers) */
	pt_plugin_stats stats;
	struct source_key src;		/* counted against max-per-source */
	const char *cut;		/* why porterd cut it, or NULL */
	struct timespec kill_at;	/* SIGKILL a cut child after this */
	struct conn *next;		/* completion queue / pid table chain */
	struct conn *lprev, *lnext;	/* the loop's list of live conns */
};

/* Allocates a conn for svc and takes a svc reference.  NULL on ENOMEM. */
struct conn *conn_new(struct svc *svc, int fd);

/*
 * Logs the finished handler's line ("service echo: 127.0.0.1:5000: plugin
 * echo done in 0.001s (in 5 B, out 5 B)"), drops the svc reference and
 * frees the conn.  Does not close c->fd (the caller did or does).
 */
void conn_finish(struct conn *c);

/* The peer formatted for logs ("-" when unknown). */
const char *conn_peer_text(const struct conn *c, char *buf, size_t len);

/* Drops a svc reference, freeing the svc (fini, plugin unref) at zero. */
void svc_unref(struct svc *svc);

/* Seconds elapsed since *start (CLOCK_MONOTONIC). */
double conn_elapsed(const struct timespec *start);

#endif
