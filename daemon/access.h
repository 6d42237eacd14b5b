/*
 * access.h -- who may connect: CIDR allow/deny lists for internet peers,
 * SO_PEERCRED uid/gid lists for AF_UNIX peers.  Checked on the event-loop
 * thread that accepted, right after accept, before any handler runs.
 */
#ifndef PORTERD_ACCESS_H
#define PORTERD_ACCESS_H

#include <stddef.h>

#include <porter/socket.h>

#include "conf.h"

/*
 * Decides whether the peer of connection fd may use the service.  Returns
 * 0 to allow, or -1 with a reason ("denied by access list", "uid 1000 not
 * allowed") in why.
 */
int access_check(const struct service *conf, int fd, const pt_addr *peer,
    char *why, size_t len);

/*
 * The hosts.allow/hosts.deny check of a tcp-wrappers service (access_check
 * calls it last): 0 to allow (always, for other services and non-internet
 * peers), or -1 with "tcp-wrappers (in.fingerd): denied by
 * /etc/hosts.deny:3" in why.
 */
int access_wrap(const struct service *conf, const pt_addr *peer, char *why,
    size_t len);

/*
 * The peer's address in canonical form for grouping and matching: an
 * IPv4-mapped IPv6 address becomes IPv4.  Writes the family and the 4 or
 * 16 address bytes; returns 0, or -1 for non-internet peers.
 */
int access_canon(const pt_addr *peer, int *ret_family, uint8_t ret_addr[16]);

#endif
