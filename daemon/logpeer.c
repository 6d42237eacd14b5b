/*
 * logpeer.c -- client addresses in log lines (logpeer.h), and a
 * connection's peer as they show it (conn_peer_text(), conn.h: here so
 * that the pool process, which has no conn.c, can use it).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "logpeer.h"

static int logpeer_mode = LOGPEER_FULL;		/* atomic access only */

void
logpeer_set(enum logpeer_mode mode)
{
	__atomic_store_n(&logpeer_mode, (int)mode, __ATOMIC_RELAXED);
}

const char *
logpeer_format(const pt_addr *peer, char *buf, size_t len)
{
	int mode = __atomic_load_n(&logpeer_mode, __ATOMIC_RELAXED);
	const struct sockaddr_in6 *s6;
	const struct sockaddr_in *s4;
	struct in6_addr a6;
	struct in_addr a4;
	char text[INET6_ADDRSTRLEN];
	int fam = peer->len > 0 ? peer->ss.ss_family : AF_UNSPEC;

	if (mode == LOGPEER_FULL || (fam != AF_INET && fam != AF_INET6))
		return pt_addr_format(peer, buf, len);
	if (mode == LOGPEER_NONE) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (fam == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)&peer->ss;
		if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			a6 = s6->sin6_addr;
			memset(a6.s6_addr + 6, 0, 10);		/* keep a /48 */
			inet_ntop(AF_INET6, &a6, text, sizeof(text));
			snprintf(buf, len, "%s/48", text);
			return buf;
		}
		memcpy(&a4, s6->sin6_addr.s6_addr + 12, 4);
	} else {
		s4 = (const struct sockaddr_in *)&peer->ss;
		a4 = s4->sin_addr;
	}
	a4.s_addr &= htonl(0xffffff00u);		/* keep a /24 */
	inet_ntop(AF_INET, &a4, text, sizeof(text));
	snprintf(buf, len, "%s/24", text);
	return buf;
}

const char *
conn_peer_text(const struct conn *c, char *buf, size_t len)
{
	if (c->peer.len == 0) {
		if (c->wait_l != NULL)
			return c->wait_l->text;
		snprintf(buf, len, "-");
		return buf;
	}
	return logpeer_format(&c->peer, buf, len);
}
