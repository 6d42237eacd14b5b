/*
 * privs.h -- run-as: porterd gives up root after binding, but keeps
 * exactly the capabilities it needs to start handlers as their services'
 * users, so that no handler shares porterd's uid (and none can signal
 * it).
 */
#ifndef PORTERD_PRIVS_H
#define PORTERD_PRIVS_H

#include <stdbool.h>

#include "conf.h"

/*
 * With cfg->run_as set: forks the cleaner (a root process that does
 * nothing but, after porterd's clean exit, remove the pid file and the
 * UNIX socket files it created as root), then switches porterd to the
 * run-as uid, gid and groups, keeping CAP_SETUID, CAP_SETGID and CAP_KILL
 * (to signal handlers under other uids) plus what the services' sandboxes
 * need: CAP_SYS_CHROOT for chroot, CAP_SYS_ADMIN for private-tmp and
 * network = none, CAP_SYS_RESOURCE for rlimits, CAP_SYS_NICE for a
 * negative nice.  A later reload that needs another is refused at load.
 * Without run-as, does nothing.  Returns 0, or -1 (logged).
 */
int privs_drop(const struct config *cfg);

/*
 * In a child, after switching to the service's user: drops every
 * capability porterd kept, so the handler has none.  Only system calls.
 * Returns 0, or -1 with errno.
 */
int privs_child_drop(void);

/*
 * True once privs_drop() switched to run-as: children then have
 * capabilities to drop (spawn.c drops them with a raw capset(2), safe in
 * a vfork child).
 */
bool privs_active(void);

#endif
