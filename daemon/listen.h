/*
 * listen.h -- listening sockets: opening them through libporter, adopting
 * the ones systemd passes, and closing them.
 */
#ifndef PORTERD_LISTEN_H
#define PORTERD_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include "conn.h"

/*
 * Opens the listener for one `listen` entry of svc's service: socket,
 * socket options, bind, listen (stream and seqpacket).  Sockets of
 * non-wait services are non-blocking (the loop accepts until EAGAIN);
 * sockets of wait services stay blocking for the handler.  Returns a new
 * listener, or NULL with "service NAME: bind ADDR: reason" in errbuf.
 */
struct listener *listen_open(struct svc *svc, const struct listen_spec *spec,
    char *errbuf, size_t errlen);

/*
 * Removes the AF_UNIX socket file of a (path only) if it is stale: a
 * socket file nobody listens on.  Never blocks (a non-blocking connect
 * probes it) and never probes a file one of porterd's own open listeners
 * holds.  listen_open() calls it before bind.
 */
void listen_unlink_stale(const pt_addr *a, int socktype);

/* True if path is the socket file of one of porterd's open listeners. */
bool listen_path_is_ours(const char *path);

/* Closes the socket (removing an AF_UNIX path we created) and frees l. */
void listen_close(struct listener *l);

/*
 * True if listener l, opened for some service, is what `spec` of service
 * `conf` would open, so a reload can hand it over.
 */
int listen_matches(const struct listener *l, const struct service *lconf,
    const struct service *conf, const struct listen_spec *spec);

/*
 * Adopts the listening sockets systemd passed (LISTEN_FDS, names from
 * LISTEN_FDNAMES), each wrapped with pt_fromfd() detection; the passed
 * descriptors themselves are closed.  Stores a new array of adopted
 * listeners (not owned by any service yet) in *ret and returns the count,
 * 0 when nothing was passed or porterd was built without libsystemd, or
 * -1 with errbuf set.
 */
int listen_adopt(struct listener ***ret, char *errbuf, size_t errlen);

#endif
