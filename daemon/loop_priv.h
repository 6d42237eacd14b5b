/*
 * loop_priv.h -- the main loop's state, shared by loop.c (events, handler
 * runs, signals), accept.c (admission on the accept path) and table.c
 * (building and swapping the service table).  Not for other files: all of
 * it belongs to the main thread.
 */
#ifndef PORTERD_LOOP_PRIV_H
#define PORTERD_LOOP_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conn.h"
#include "loop.h"
#include "plugin.h"

#define PID_BUCKETS	256
#define EMFILE_QUIET_SECS 2	/* an EMFILE episode ends after this long
				 * without one */

struct table {
	struct svc **svcs;
	size_t n;
};

struct loop_state {
	const struct loop_options *opts;
	int epfd;
	int sigfd;
	int wdfd;
	int tickfd;			/* 1 s timer: timeouts, summaries */
	struct config_ref *cref;	/* the running config */
	struct table tab;
	struct listener **passed;	/* sockets systemd passed us */
	size_t npassed;
	struct plugin_registry plugins;
	struct conn *pids[PID_BUCKETS];
	unsigned nchildren;
	unsigned live;			/* running handlers, all services */
	struct conn *live_head;		/* every running handler */
	int stopping;
	struct timespec stop_deadline;
	int paused;			/* listeners paused for EMFILE */
	struct timespec pause_until;
	int emfile_episode;		/* logged; over after EMFILE_QUIET_SECS */
	struct timespec emfile_last;	/* the last EMFILE or ENFILE */
	int spare_fd;			/* reserve descriptor for shedding */
	long fd_soft;			/* RLIMIT_NOFILE soft limit, per tick */
	char last_status[128];		/* the last STATUS= sent */
};

/* The one loop (loop.c). */
extern struct loop_state loop;

/* loop.c */
const char *loop_plugin_dir(const struct config *cfg);
const char *loop_socktype_name(int type);
void loop_arm(struct listener *l);
void loop_disarm(struct listener *l);
/* Arms every listener of svc that may accept now, disarms the others. */
void loop_svc_arm(struct svc *svc);
/* Stops using l: now, or when the wait handler holding it finishes. */
void loop_drop_listener(struct listener *l);
/* Runs a handler for fd (an accepted connection, or l's own socket). */
void loop_dispatch(struct listener *l, int fd, const pt_addr *peer,
    const struct source_key *src);
void loop_errpipe_open(struct svc *svc);
void loop_errpipe_read(struct svc *svc);

/* accept.c: a readable listener; admission, limits, EMFILE shedding. */
void accept_listener(struct listener *l);
/* Re-reads RLIMIT_NOFILE (prlimit(1) may change it under us). */
void accept_fd_limit(void);

/* table.c */
/* Loads cfg as the running config.  Takes ownership of cfg either way. */
int table_apply(struct config *cfg, char *errbuf, size_t errlen);
void table_free(struct table *t);
/* Closes passed sockets: every one, or only those no service claimed. */
void table_drop_passed(bool unclaimed_only);

#endif
