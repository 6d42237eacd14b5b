/*
 * loop_priv.h -- the control loop's state, shared by loop.c (signals,
 * reload, ticks, stop) and table.c (building and swapping the service
 * table).  Not for other files: all of it belongs to the control thread.
 * The event loops see the table only through listeners and svcs, which
 * table.c changes with every loop parked (evloop_park) and the gate lock
 * held.
 */
#ifndef PORTERD_LOOP_PRIV_H
#define PORTERD_LOOP_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conn.h"
#include "loop.h"
#include "loader.h"

struct table {
	struct svc **svcs;
	size_t n;
};

struct loop_state {
	const struct loop_options *opts;
	int epfd;			/* the control loop's own epoll */
	struct ev sig_ev;		/* signalfd */
	struct ev tick_ev;		/* 1 s timer: timeouts, summaries */
	struct ev wd_ev;		/* systemd's watchdog timer, fd -1 when
					 * none */
	struct ev stall_ev;		/* the fiber watchdog's timer */
	unsigned stall_ms;		/* fiber-stall it runs for, 0: unarmed */
	struct ev wake_ev;		/* eventfd: a timed pause began */
	struct config_ref *cref;	/* the running config */
	struct table tab;
	struct listener **passed;	/* sockets systemd passed us */
	size_t npassed;
	struct plugin_registry plugins;
	unsigned threads;		/* event loops running */
	bool stopping;
	struct timespec stop_deadline;
	char last_status[128];		/* the last STATUS= sent */
};

/* The control loop's state (loop.c). */
extern struct loop_state loop;

/* loop.c */
const char *loop_plugin_dir(const struct config *cfg);
const char *loop_socktype_name(int type);
void loop_errpipe_open(struct svc *svc);
/* Reloads the config file (SIGHUP, porterctl reload); stats.h has the outcome. */
void loop_reload(void);
/* Applies fiber-stall (ms) to the fiber watchdog, at start and reload. */
void loop_set_stall(unsigned ms);

/* table.c */
/*
 * How long a reload waits for every event loop to reach a safe point
 * before it gives up (the running config stays, the reload fails naming
 * the loop): only a cooperative handler blocking outside libporter holds
 * a loop that long.
 */
#define PARK_TIMEOUT_MS 5000
/*
 * At SIGTERM: shorter, since every other loop stands still meanwhile;
 * after it the listeners are only disarmed (table_stop_listening).
 */
#define PARK_STOP_MS 1000
/*
 * Loads cfg as the running config.  Takes ownership of cfg either way.
 * Returns 0, or -1 with errbuf set and the running table unchanged.
 */
int table_apply(struct config *cfg, char *errbuf, size_t errlen);
void table_free(struct table *t);
/* Closes passed sockets: every one, or only those no service claimed. */
void table_drop_passed(bool unclaimed_only);
/*
 * SIGTERM: stops accepting everywhere (closes porterd's own listeners),
 * waiting up to timeout_ms for the loops to park; if one does not, the
 * listeners are taken out of every loop and shut down in place instead.
 */
void table_stop_listening(unsigned timeout_ms);
/*
 * At exit, the event loops stopped: closes what table_stop_listening()
 * could not (its park failed), and systemd's sockets.
 */
void table_close_at_exit(void);

#endif
