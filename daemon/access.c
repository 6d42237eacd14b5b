/*
 * access.c -- allow/deny lists and peer credentials.
 *
 * Internet peers are matched against the service's CIDR rules with
 * longest-prefix-wins semantics (deny wins a tie), after canonicalising
 * IPv4-mapped IPv6 peers to IPv4, so "127.0.0.1/32" also covers a
 * dual-stack listener's "::ffff:127.0.0.1".  With any allow rule present,
 * a peer that matches nothing is denied.  AF_UNIX peers are checked by the
 * uid and gid the kernel reports (SO_PEERCRED), which they cannot forge.
 * A service with tcp-wrappers is then checked against the hosts.allow and
 * hosts.deny rules read for it at load (wrap.h): no file is read and no
 * name is resolved here, on the accept path.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "access.h"
#include "wrap.h"

int
access_canon(const pt_addr *peer, int *ret_family, uint8_t ret_addr[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	memset(ret_addr, 0, 16);
	switch (peer->ss.ss_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)&peer->ss;
		*ret_family = AF_INET;
		memcpy(ret_addr, &sin->sin_addr, 4);
		return 0;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)&peer->ss;
		if (memcmp(sin6->sin6_addr.s6_addr, mapped, 12) == 0) {
			*ret_family = AF_INET;
			memcpy(ret_addr, sin6->sin6_addr.s6_addr + 12, 4);
		} else {
			*ret_family = AF_INET6;
			memcpy(ret_addr, sin6->sin6_addr.s6_addr, 16);
		}
		return 0;
	}
	return -1;
}

/* True if the first `prefix` bits of a and b are equal. */
static int
access_prefix_eq(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned bytes = prefix / 8, bits = prefix % 8;
	uint8_t mask;

	if (memcmp(a, b, bytes) != 0)
		return 0;
	if (bits == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - bits));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

static int
access_cidr(const struct service *conf, const pt_addr *peer)
{
	int best_allow = -1, best_deny = -1, has_allow = 0, fam;
	uint8_t addr[16];
	size_t i;

	if (access_canon(peer, &fam, addr) == -1)
		return 0;
	for (i = 0; i < conf->nacl; i++) {
		const struct acl_rule *r = &conf->acl[i];

		if (r->allow)
			has_allow = 1;
		if (r->family != fam || !access_prefix_eq(addr, r->addr,
		    r->prefix))
			continue;
		if (r->allow && (int)r->prefix > best_allow)
			best_allow = (int)r->prefix;
		if (!r->allow && (int)r->prefix > best_deny)
			best_deny = (int)r->prefix;
	}
	if (best_allow < 0 && best_deny < 0)
		return has_allow ? -1 : 0;
	return best_allow > best_deny ? 0 : -1;
}

static int
access_cred(const struct service *conf, int fd, char *why, size_t len)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	size_t i;

	if (conf->nallow_uids == 0 && conf->nallow_gids == 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1) {
		snprintf(why, len, "peer credentials unavailable");
		return -1;
	}
	for (i = 0; i < conf->nallow_uids; i++)
		if (conf->allow_uids[i] == cred.uid)
			return 0;
	for (i = 0; i < conf->nallow_gids; i++)
		if (conf->allow_gids[i] == cred.gid)
			return 0;
	snprintf(why, len, "uid %u not allowed", (unsigned)cred.uid);
	return -1;
}

int
access_check(const struct service *conf, int fd, const pt_addr *peer,
    char *why, size_t len)
{
	if (peer->ss.ss_family == AF_UNIX)
		return access_cred(conf, fd, why, len);
	if (conf->nacl > 0 && access_cidr(conf, peer) == -1) {
		snprintf(why, len, "denied by access list");
		return -1;
	}
	return access_wrap(conf, peer, why, len);
}

int
access_wrap(const struct service *conf, const pt_addr *peer, char *why,
    size_t len)
{
	uint8_t addr[16];
	char rule[96];
	int fam;

	if (!conf->tcp_wrappers || access_canon(peer, &fam, addr) == -1)
		return 0;
	if (wrap_permit(conf->wrap, fam, addr, rule, sizeof(rule)))
		return 0;
	snprintf(why, len, "tcp-wrappers (%s): %s", conf->wrap_name, rule);
	return -1;
}
