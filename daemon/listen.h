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
 * listener, or NULL with "service NAME: bind ADDR: reason" in errbuf and
 * errno set to the failing call's error.
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
 * True if listener l, opened for some service, can serve `spec` of
 * service `conf`, so a reload can hand it over: the same address, type
 * and protocol.  What else may differ is applied to the live socket by
 * listen_reconfigure().
 */
int listen_matches(const struct listener *l, const struct service *lconf,
    const struct service *conf, const struct listen_spec *spec);

/*
 * A reload hands l, opened (or last reconfigured) for service `from`,
 * over to service `to`: applies to the live socket what differs -- listen()
 * again with to's backlog; setsockopt for each option added or changed,
 * and the kernel's default for each option dropped; chown/chmod of a
 * socket file porterd created for socket-owner, socket-group and
 * socket-mode (dropped ones go back to what bind made).  The blocking
 * mode that `wait` implies is left to listen_set_mode() at commit.
 * Returns 0, or -1 with "service NAME: ADDR: reason" in errbuf after
 * putting back what it had changed; changing `wait` while a wait handler
 * holds the socket is refused.
 */
int listen_reconfigure(struct listener *l, const struct service *from,
    const struct service *to, char *errbuf, size_t errlen);

/*
 * Undoes a successful listen_reconfigure(l, to, from) when the rest of
 * the reload fails: applies `from` -> `to` again, best effort.
 */
void listen_reconfigure_undo(struct listener *l, const struct service *from,
    const struct service *to);

/*
 * When `wait` differs between from (l's service so far) and to, sets the
 * blocking mode to wants on l (blocking for `wait` services, whose
 * handlers get the socket itself; non-blocking for the accept loop).
 * Called as the new table goes in, so that a reload that fails never
 * changes it; logs a failure.
 */
void listen_set_mode(struct listener *l, const struct service *from,
    const struct service *to);

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
