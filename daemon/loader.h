/*
 * loader.h -- porterd's plugin loader (the host side of <porter/plugin.h>).
 *
 * Loaded plugins live in a registry that outlives reloads: a file is
 * dlopen()ed once and shared by every service that names it, and unloaded
 * when the last service using it is gone.  All functions run on the control
 * thread.
 */
#ifndef PORTERD_LOADER_H
#define PORTERD_LOADER_H

#include <stddef.h>

#include <porter/plugin.h>

struct conn;
struct svc;

struct plugin {
	char *path;			/* the file, as resolved */
	void *dl;			/* dlopen() handle */
	int fd;				/* the file loaded, open until it is
					 * unloaded (its /proc/self/fd name is
					 * the loader's name for it) */
	const pt_plugin *desc;		/* the checked descriptor */
	uint32_t flags;			/* desc->flags, 0 for an ABI 1.0
					 * descriptor (read this, never
					 * desc->flags: 1.0 has no such field) */
	unsigned refs;			/* services using it */
	struct plugin *next;
};

struct plugin_registry {
	struct plugin *head;
};

/*
 * Resolves a service's `plugin = NAME` to a file: NAME containing '/' is a
 * path; otherwise "<dir>/<NAME>.so".  Writes into buf; returns 0 or -1 if
 * it does not fit.
 */
int plugin_path(const char *dir, const char *name, char *buf, size_t len);

/*
 * Loads (or finds, already loaded) the plugin at `path` and takes a
 * reference.  Checks, in order: the path resolves; every directory from /
 * down to the file, and the file itself, is owned by root or porterd's
 * uid and writable by no one else; it is a regular file and a shared
 * object, it exports the
 * descriptor, the magic, the ABI major, the ABI minor, the descriptor size,
 * no flag this porterd does not know, and that no other loaded file uses
 * the same name.  Returns the plugin, or NULL with "plugin PATH: reason"
 * in errbuf.
 */
struct plugin *plugin_load(struct plugin_registry *reg, const char *path,
    char *errbuf, size_t errlen);

/* Drops a reference; unloads the plugin when none is left.  NULL is ok. */
void plugin_unref(struct plugin_registry *reg, struct plugin *p);

/*
 * The plugin context for c (for init when c is NULL: no peer, no local,
 * no state).  Used in porterd and in pool workers.
 */
void plugin_ctx(pt_plugin_ctx *ctx, struct svc *svc, struct conn *c);

/*
 * Runs c's plugin handle() on c->fd, in this thread, with c->vars as
 * ctx->vars; fills c->rc and c->stats.  The edge (PROXY, TLS) is the
 * caller's: dispatch_run_plugin() in porterd, porterd's in a pool.
 */
void plugin_run(struct conn *c);

#endif
