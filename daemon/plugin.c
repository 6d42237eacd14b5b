/*
 * plugin.c -- loading and checking plugin shared objects.
 *
 * The checks run in a fixed order so that each refusal names the first
 * thing wrong: missing file, unsafe permissions, not a shared object,
 * missing descriptor, bad magic, other ABI major, newer ABI minor, short
 * descriptor, unknown flags, duplicate name.  Each refusal is one message naming the file
 * and both versions where versions are involved (as Apache and nginx do).
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin.h"

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

/* Refuses files that anyone but the owner could replace under us. */
static int
plugin_check_file(const char *path, char *errbuf, size_t errlen)
{
	struct stat st;
	char *copy, *dir;
	int r = -1;

	if (stat(path, &st) == -1) {
		if (errno == ENOENT)
			snprintf(errbuf, errlen, "plugin %s: no such file", path);
		else
			snprintf(errbuf, errlen, "plugin %s: %s", path,
			    strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(errbuf, errlen, "plugin %s: not a regular file", path);
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(errbuf, errlen,
		    "plugin %s: writable by others, refusing", path);
		return -1;
	}
	if ((copy = strdup(path)) == NULL) {
		snprintf(errbuf, errlen, "plugin %s: out of memory", path);
		return -1;
	}
	dir = dirname(copy);
	if (stat(dir, &st) == 0 && (st.st_mode & S_IWOTH) &&
	    !(st.st_mode & S_ISVTX)) {
		snprintf(errbuf, errlen,
		    "plugin %s: directory %s is writable by others, refusing",
		    path, dir);
		goto fail;
	}
	r = 0;
fail:
	free(copy);
	return r;
}

/* dlopen() of a non-ELF file gives a vague error; say it plainly. */
static int
plugin_is_elf(const char *path)
{
	unsigned char magic[4];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, magic, sizeof(magic));
	close(fd);
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

struct plugin *
plugin_load(struct plugin_registry *reg, const char *path, char *errbuf,
    size_t errlen)
{
	struct plugin *p;
	const pt_plugin *d;
	char real[PATH_MAX];
	void *dl = NULL;

	if (plugin_check_file(path, errbuf, errlen) == -1)
		return NULL;
	/* The same file under another name (a symlink) is the same plugin. */
	if (realpath(path, real) == NULL)
		snprintf(real, sizeof(real), "%s", path);
	for (p = reg->head; p != NULL; p = p->next) {
		if (strcmp(p->path, real) == 0) {
			p->refs++;
			return p;
		}
	}
	if (!plugin_is_elf(real)) {
		snprintf(errbuf, errlen, "plugin %s: not a shared object", path);
		return NULL;
	}
	if ((dl = dlopen(real, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(errbuf, errlen, "plugin %s: not a loadable shared "
		    "object: %s", path, dlerror());
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
	p->desc = d;
	p->flags = plugin_desc_flags(d);
	p->refs = 1;
	p->next = reg->head;
	reg->head = p;
	return p;
fail:
	dlclose(dl);
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
	free(p->path);
	free(p);
}
