/*
 * logpeer.h -- how client addresses appear in porterd's log (log-peer).
 *
 *   full      "192.0.2.7:51000", as pt_addr_format() writes it
 *   truncate  "192.0.2.0/24" or "2001:db8:1::/48": the network only, no
 *             port, so traffic can still be told apart without keeping
 *             who the client was (v4-mapped IPv6 counts as IPv4)
 *   none      "-"
 *
 * Only internet addresses are changed: an AF_UNIX peer names no client.
 * The mode is an atomic, set by the control thread after each load and
 * read by any thread that logs.
 */
#ifndef PORTERD_LOGPEER_H
#define PORTERD_LOGPEER_H

#include <stddef.h>

#include <porter/socket.h>

enum logpeer_mode {
	LOGPEER_FULL,
	LOGPEER_TRUNCATE,
	LOGPEER_NONE
};

void logpeer_set(enum logpeer_mode mode);

/*
 * Formats peer for a log line under the current mode into buf (at least
 * PT_ADDRSTRLEN bytes); returns buf.
 */
const char *logpeer_format(const pt_addr *peer, char *buf, size_t len);

#endif
