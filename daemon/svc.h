/*
 * svc.h -- the running form of a service (see conn.h for the structs).
 */
#ifndef PORTERD_SVC_H
#define PORTERD_SVC_H

#include <stddef.h>

#include "conn.h"
#include "loader.h"

/* The registry plugins are loaded into; set once at start-up. */
void svc_set_registry(struct plugin_registry *reg);

/*
 * Called with a descriptor the loop watches (a service's stderr pipe) just
 * before svc_unref() closes it, so the loop can stop watching it first.
 */
void svc_set_unwatch(void (*fn)(int fd));

/* A new reference-counted holder for cfg (one reference). */
struct config_ref *config_ref_new(struct config *cfg);
/* Drops a reference; frees the config at zero.  NULL is ok. */
void config_ref_put(struct config_ref *r);

/*
 * Drops a svc reference, freeing the svc (fini, plugin unref) at zero.
 * Any thread: the last reference may go with a handler's end.
 */
void svc_unref(struct svc *svc);
/* Takes one more reference. */
void svc_ref(struct svc *svc);

/*
 * Builds the running service for conf, whose config is held by cref
 * (svc_new takes its own reference).  Loads the plugin and calls its init.
 * Returns a svc with one reference (the table's), or NULL with "FILE:LINE:
 * service NAME: reason" in errbuf.  No sockets are opened here.
 */
struct svc *svc_new(const struct service *conf, struct config_ref *cref,
    const char *plugin_dir, char *errbuf, size_t errlen);

#endif
