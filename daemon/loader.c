/*
 * loader.c -- the plugin host: loading and checking plugin shared objects,
 * and the context each call into a plugin gets.
 *
 * The checks run in a fixed order so that each refusal names the first
 * thing wrong: the path does not resolve (with the real errno: ENOENT is
 * "no such file", EACCES or EMFILE say so), an unsafe directory on the
 * way, the file itself unsafe, not a shared object, missing descriptor,
 * bad magic, other ABI major, newer ABI minor, short descriptor,
 * unknown flags, duplicate name.  The file checked is the file loaded: symlinks are
 * resolved, the result opened once and checked through that descriptor,
 * and dlopen() is handed /proc/self/fd/N, the same open file, so nothing
 * can be swapped in between.  A file, and every directory from / down to
 * it, must be owned by root or porterd's own uid and writable by no one
 * else (sticky directories included).  Each refusal is one message naming the file
 * and both versions where versions are involved (as Apache and nginx do).
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <porter/iowait.h>

#include "conn.h"
#include "dgram_guard.h"
#include "loader.h"
#include "log.h"
#include "svc.h"

/* Everything up to and including `fini` must be present. */
#define PLUGIN_MIN_SIZE (offsetof(pt_plugin, fini) + sizeof(pt_plugin_fini_fn))
/* A descriptor this long has `flags` (ABI 1.1). */
#define PLUGIN_FLAGS_SIZE (offsetof(pt_plugin, flags) + sizeof(uint32_t))

/*
 * The descriptor's flags, or 0 for one too short to have them (ABI 1.0):
 * its memory ends before the field, so it must not be read.
 */
static uint32_t
plugin_desc_flags(const pt_plugin *d)
{
	return d->size >= PLUGIN_FLAGS_SIZE ? d->flags : 0;
}

int
plugin_path(const char *dir, const char *name, char *buf, size_t len)
{
	int n;

	if (strchr(name, '/') != NULL)
		n = snprintf(buf, len, "%s", name);
	else
		n = snprintf(buf, len, "%s/%s.so", dir, name);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

/*
 * Whether a file or directory is safe to load code from: owned by root or
 * by porterd's own user, and writable by no one else.  A sticky directory
 * is no exception: its sticky bit keeps others from replacing our file,
 * but not from planting theirs under a name we may load.  Returns NULL,
 * or the reason.
 */
static const char *
plugin_unsafe(const struct stat *st, char *buf, size_t len)
{
	uid_t me = geteuid();

	if (st->st_uid != 0 && st->st_uid != me) {
		snprintf(buf, len, "owned by uid %lu (neither root nor "
		    "porterd's uid %lu)", (unsigned long)st->st_uid,
		    (unsigned long)me);
		return buf;
	}
	if (st->st_mode & S_IWOTH)
		return "writable by others";
	if (st->st_mode & S_IWGRP)
		return "writable by its group";
	return NULL;
}

/* "plugin PATH: what: strerror(code)" into errbuf; returns -1. */
static int
plugin_errno(const char *path, const char *what, int code, char *errbuf,
    size_t errlen)
{
	if (code == ENOENT && what == NULL)
		snprintf(errbuf, errlen, "plugin %s: no such file", path);
	else
		snprintf(errbuf, errlen, "plugin %s: %s%s%s", path,
		    what != NULL ? what : "", what != NULL ? ": " : "",
		    strerror(code));
	return -1;
}

/*
 * Checks every directory from / down to the one holding `real` (a path
 * realpath() made, so no component is a link): each must be safe, or
 * anyone who may write one could swap what we load.
 */
static int
plugin_check_dirs(const char *path, const char *real, char *errbuf,
    size_t errlen)
{
	char dir[PATH_MAX], why[128];
	const char *bad;
	struct stat st;
	size_t i;

	/* "/", then each prefix of real that ends before a '/'. */
	for (i = 0; real[i] != '\0'; i++) {
		if (real[i] != '/')
			continue;
		memcpy(dir, real, i == 0 ? 1 : i);
		dir[i == 0 ? 1 : i] = '\0';
		if (stat(dir, &st) == -1)
			return plugin_errno(path, dir, errno, errbuf, errlen);
		if ((bad = plugin_unsafe(&st, why, sizeof(why))) != NULL) {
			snprintf(errbuf, errlen, "plugin %s: directory %s is "
			    "%s, refusing", path, dir, bad);
			return -1;
		}
	}
	return 0;
}

/*
 * Opens the file a plugin path leads to, once: resolves links into *real,
 * checks the directories on the way, opens the file and checks that
 * descriptor (fstat: the file we hold, not a name that may change).
 * Returns the descriptor, to dlopen() through /proc/self/fd, or -1 with
 * the reason in errbuf.
 */
static int
plugin_open(const char *path, char real[PATH_MAX], char *errbuf,
    size_t errlen)
{
	char why[128];
	const char *bad;
	struct stat st;
	int fd;

	if (realpath(path, real) == NULL)
		return plugin_errno(path, NULL, errno, errbuf, errlen);
	if (plugin_check_dirs(path, real, errbuf, errlen) == -1)
		return -1;
	if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY)) == -1)
		return plugin_errno(path, NULL, errno, errbuf, errlen);
	if (fstat(fd, &st) == -1) {
		plugin_errno(path, "fstat", errno, errbuf, errlen);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(errbuf, errlen, "plugin %s: not a regular file", path);
		goto fail;
	}
	if ((bad = plugin_unsafe(&st, why, sizeof(why))) != NULL) {
		snprintf(errbuf, errlen, "plugin %s: %s, refusing", path, bad);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * dlopen() of a non-ELF file gives a vague error; say it plainly.  Reads
 * the descriptor we will load from.  Returns 1 (ELF), 0 (not), or -1
 * with errno set (the read failed: that is the reason to give).
 */
static int
plugin_is_elf(int fd)
{
	unsigned char magic[4];
	ssize_t n;

	do
		n = pread(fd, magic, sizeof(magic), 0);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	return n == 4 && memcmp(magic, "\177ELF", 4) == 0;
}

static int
plugin_check_desc(struct plugin_registry *reg, const char *path,
    const pt_plugin *d, char *errbuf, size_t errlen)
{
	struct plugin *p;

	if (d->magic != PT_PLUGIN_MAGIC) {
		snprintf(errbuf, errlen,
		    "plugin %s: bad magic 0x%08x, expected 0x%08x", path,
		    (unsigned)d->magic, (unsigned)PT_PLUGIN_MAGIC);
		return -1;
	}
	if (d->abi_major != PT_PLUGIN_ABI_MAJOR) {
		snprintf(errbuf, errlen,
		    "plugin %s: ABI major %u, porterd has %u", path,
		    (unsigned)d->abi_major, (unsigned)PT_PLUGIN_ABI_MAJOR);
		return -1;
	}
	if (d->abi_minor > PT_PLUGIN_ABI_MINOR) {
		snprintf(errbuf, errlen,
		    "plugin %s: ABI %u.%u is newer than porterd's %u.%u", path,
		    (unsigned)d->abi_major, (unsigned)d->abi_minor,
		    (unsigned)PT_PLUGIN_ABI_MAJOR,
		    (unsigned)PT_PLUGIN_ABI_MINOR);
		return -1;
	}
	if (d->size < PLUGIN_MIN_SIZE) {
		snprintf(errbuf, errlen,
		    "plugin %s: descriptor size %u, at least %zu expected",
		    path, (unsigned)d->size, (size_t)PLUGIN_MIN_SIZE);
		return -1;
	}
	if ((plugin_desc_flags(d) & ~(uint32_t)PT_PLUGIN_FLAGS_KNOWN) != 0) {
		snprintf(errbuf, errlen,
		    "plugin %s: unknown flags 0x%08x (porterd's ABI %u.%u "
		    "knows 0x%08x)", path, (unsigned)plugin_desc_flags(d),
		    (unsigned)PT_PLUGIN_ABI_MAJOR,
		    (unsigned)PT_PLUGIN_ABI_MINOR,
		    (unsigned)PT_PLUGIN_FLAGS_KNOWN);
		return -1;
	}
	if (d->name == NULL || d->name[0] == '\0' || d->handle == NULL) {
		snprintf(errbuf, errlen,
		    "plugin %s: descriptor has no name or no handle function",
		    path);
		return -1;
	}
	for (p = reg->head; p != NULL; p = p->next) {
		if (strcmp(p->desc->name, d->name) == 0) {
			snprintf(errbuf, errlen,
			    "plugin %s: name '%s' is already used by %s", path,
			    d->name, p->path);
			return -1;
		}
	}
	return 0;
}

/*
 * dlopen()s the open file *fd through /proc/self/fd/N, which is that very
 * file, not whatever its name leads to by now.  The dynamic loader knows
 * objects by the name they were opened under, so N must not be the name
 * of an object still mapped: the plugin keeps its descriptor until it is
 * unloaded, and if an object of that name is mapped all the same (one
 * that could not be unloaded), the file is moved to another number.
 */
static void *
plugin_dlopen(int *fd, char *errbuf, size_t errlen, const char *path)
{
	char fdpath[64];
	void *dl;
	int tries, nfd;

	for (tries = 0; tries < 16; tries++) {
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", *fd);
		if ((dl = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL |
		    RTLD_NOLOAD)) == NULL)
			break;
		dlclose(dl);
		if ((nfd = fcntl(*fd, F_DUPFD_CLOEXEC, *fd + 1)) == -1) {
			plugin_errno(path, "dup", errno, errbuf, errlen);
			return NULL;
		}
		close(*fd);
		*fd = nfd;
	}
	if (tries == 16) {
		snprintf(errbuf, errlen, "plugin %s: cannot load: every "
		    "descriptor tried names a mapped object", path);
		return NULL;
	}
	if ((dl = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL)) == NULL)
		snprintf(errbuf, errlen, "plugin %s: not a loadable shared "
		    "object: %s", path, dlerror());
	return dl;
}

struct plugin *
plugin_load(struct plugin_registry *reg, const char *path, char *errbuf,
    size_t errlen)
{
	char real[PATH_MAX];
	struct plugin *p;
	const pt_plugin *d;
	void *dl = NULL;
	int fd, elf;

	if ((fd = plugin_open(path, real, errbuf, errlen)) == -1)
		return NULL;
	/* The same file under another name (a symlink) is the same plugin. */
	for (p = reg->head; p != NULL; p = p->next) {
		if (strcmp(p->path, real) == 0) {
			close(fd);
			p->refs++;
			return p;
		}
	}
	if ((elf = plugin_is_elf(fd)) != 1) {
		if (elf == -1)
			plugin_errno(path, "read", errno, errbuf, errlen);
		else
			snprintf(errbuf, errlen, "plugin %s: not a shared "
			    "object", path);
		close(fd);
		return NULL;
	}
	if ((dl = plugin_dlopen(&fd, errbuf, errlen, path)) == NULL) {
		close(fd);
		return NULL;
	}
	if ((d = dlsym(dl, PT_PLUGIN_SYMBOL)) == NULL) {
		snprintf(errbuf, errlen, "plugin %s: no %s symbol", path,
		    PT_PLUGIN_SYMBOL);
		goto fail;
	}
	if (plugin_check_desc(reg, path, d, errbuf, errlen) == -1)
		goto fail;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->path = strdup(real)) == NULL) {
		free(p);
		snprintf(errbuf, errlen, "plugin %s: out of memory", path);
		goto fail;
	}
	p->dl = dl;
	p->fd = fd;
	p->desc = d;
	p->flags = plugin_desc_flags(d);
	p->refs = 1;
	p->next = reg->head;
	reg->head = p;
	return p;
fail:
	dlclose(dl);
	close(fd);
	return NULL;
}

void
plugin_unref(struct plugin_registry *reg, struct plugin *p)
{
	struct plugin **pp;

	if (p == NULL || --p->refs > 0)
		return;
	for (pp = &reg->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	dlclose(p->dl);
	close(p->fd);
	free(p->path);
	free(p);
}

/* ------------------------------------------------ the plugin context */

/* ctx->log: one line prefixed with the service and the peer. */
static void
plugin_ctx_log(const pt_plugin_ctx *ctx, int priority, const char *fmt, ...)
{
	const struct conn *c = ctx->host;
	char peer[PT_ADDRSTRLEN], line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (c != NULL)
		log_msg(priority, "service %s: %s: %s", ctx->service,
		    conn_peer_text(c, peer, sizeof(peer)), line);
	else
		log_msg(priority, "service %s: %s", ctx->service, line);
}

void
plugin_ctx(pt_plugin_ctx *ctx, struct svc *svc, struct conn *c)
{
	const struct service *conf = svc->conf;

	memset(ctx, 0, sizeof(*ctx));
	ctx->size = sizeof(*ctx);
	ctx->service = conf->name;
	ctx->socktype = conf->socktype;
	ctx->wait = conf->wait;
	ctx->argc = (int)conf->nargs;
	ctx->argv = (const char *const *)conf->args;
	ctx->log = plugin_ctx_log;
	ctx->may_reply = dgram_guard_may_reply;
	ctx->host = c;
	if (c != NULL) {
		ctx->peer = c->peer.len > 0 ? &c->peer : NULL;
		ctx->local = c->local.len > 0 ? &c->local : NULL;
		ctx->state = svc->state;
		/* TLS_*, PROXY_*: dispatch_run_plugin() or the pool's CONN */
		ctx->vars = c->vars;
	}
}

void
plugin_run(struct conn *c)
{
	const pt_plugin *d = c->svc->plugin->desc;
	pt_plugin_ctx ctx;

	plugin_ctx(&ctx, c->svc, c);
	memset(&c->stats, 0, sizeof(c->stats));
	/* Saves pt_fromfd() three getsockopt()s; cleared by evloop too. */
	if (c->ktype != 0)
		pt_io_fd_hint(c->fd, c->kfamily, c->ktype, c->kproto,
		    c->wait_l != NULL ? -1 : 0);	/* as accept4() gave it */
	c->rc = d->handle(c->fd, &ctx, &c->stats);
	pt_io_fd_hint(-1, 0, 0, 0, -1);
}
