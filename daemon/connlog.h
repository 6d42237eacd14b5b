/*
 * connlog.h -- the one log line (and journal entry) per handler run.
 *
 * The runtime fills a struct connlog when a handler run ends and calls
 * connlog_finish().  The line reads
 *
 *   service echo: 127.0.0.1:5000: plugin echo done in 0.001s (in 5 B,
 *       out 5 B), conn 42
 *   service cat: [::1]:40314: exec /bin/cat pid 812: exit 0 in 0.013s,
 *       conn 43
 *
 * with the peer as log-peer says (logpeer.h) and the connection id that
 * porterctl connections and kill-connection use.  Under systemd (stderr
 * is the journal) the entry goes to the journal with fields besides the
 * message: SERVICE, PEER, CONN_ID, DURATION_US, and BYTES_IN/BYTES_OUT
 * (thread handlers) or EXIT_STATUS / EXIT_SIGNAL (children), so
 * `journalctl SERVICE=echo` or `journalctl CONN_ID=42` finds them.
 */
#ifndef PORTERD_CONNLOG_H
#define PORTERD_CONNLOG_H

#include <stdint.h>

#include <porter/socket.h>

struct connlog {
	uint64_t id;
	const char *service;
	const pt_addr *peer;		/* NULL or empty: unknown */
	const char *peer_fallback;	/* shown then (a wait socket), or NULL */
	int exec;			/* an exec'd program, not a plugin */
	const char *handler;
	long pid;			/* > 0 a child, 0 a thread, -1 could
					 * not be started */
	int status;			/* waitpid(2) status, children */
	int rc;				/* handle()'s result, threads */
	double secs;
	uint64_t bytes_in, bytes_out;	/* plugins: as handle() reported */
	const char *usage;		/* children: rusage text, or NULL */
};

void connlog_finish(const struct connlog *e);

#endif
