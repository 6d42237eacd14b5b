/*
 * sandbox.c -- keeps the code under fuzzing off the network and inside the
 * harness's own directory, by wrapping libc at link time.
 *
 * A fuzzer soon writes what a hostile or careless config could hold:
 * `listen = { "example.org:7" }`, which getaddrinfo() would send to the
 * name servers of whatever machine runs the fuzzer, and an `include`
 * pattern of "/" or "../.." and a star, which would read every file on
 * it (device nodes and FIFOs included, where a read may block for ever).
 * Neither the daemon's code nor the inputs are changed to prevent that: the
 * binaries are linked with `-Wl,--wrap=SYMBOL` (fuzz.am), which sends the
 * code's calls to SYMBOL to __wrap_SYMBOL below, and that decides whether
 * to pass the call on to the real function (__real_SYMBOL).
 *
 * - getaddrinfo() always gets AI_NUMERICHOST, so numeric hosts (scoped
 *   IPv6, "127.1") convert as before and every name fails at once with
 *   EAI_NONAME, as an unknown one would; "localhost" is answered locally
 *   as /etc/hosts would answer it, so the parser's success path for names
 *   is still exercised.
 * - open(), opendir() and glob() refuse with EACCES, while a sandbox is
 *   entered, any path outside its directory or with a ".." component; a
 *   glob pattern must also have no component that could match ".." (one
 *   starting with '.' or '\', other than "."), since glob(3) would walk
 *   it.  stat() and access() of exec paths are let through: they read
 *   metadata only.
 *
 * This needs no privilege, unlike a network namespace or a chroot, which
 * an unprivileged CI container may not grant, and it behaves the same in
 * the fuzzer and in the replay of its findings.  Only the objects linked
 * into the binary are wrapped (libconfuse opens no file here: the config
 * text is handed to it with fmemopen()), which is why the harnesses
 * compile libporter's and the config loader's sources in directly.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "fuzz.h"

/* The real functions, as --wrap names them, and their replacements. */
int __real_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res);
int __real_open(const char *path, int flags, ...);
int __real_open64(const char *path, int flags, ...);
DIR *__real_opendir(const char *path);
int __real_glob(const char *pattern, int flags,
    int (*errfunc)(const char *, int), glob_t *g);
int __wrap_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res);
int __wrap_open(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...);
DIR *__wrap_opendir(const char *path);
int __wrap_glob(const char *pattern, int flags,
    int (*errfunc)(const char *, int), glob_t *g);

static char sandbox_dir[PATH_MAX];	/* "": no sandbox entered */
static size_t sandbox_len;

void
fuzz_sandbox_enter(const char *dir)
{
	/* A directory that does not fit is a harness bug, not an input's. */
	FUZZ_CHECK(dir[0] == '/' && strlen(dir) < sizeof(sandbox_dir) &&
	    strpbrk(dir, "*?[\\") == NULL, "bad sandbox directory '%s'", dir);
	snprintf(sandbox_dir, sizeof(sandbox_dir), "%s", dir);
	sandbox_len = strlen(sandbox_dir);
}

void
fuzz_sandbox_leave(void)
{
	sandbox_dir[0] = '\0';
	sandbox_len = 0;
}

/*
 * May the code under test reach `path` (a glob pattern if `pattern`)?
 * Always, outside a sandbox.
 */
static bool
sandbox_allows(const char *path, bool pattern)
{
	const char *c;
	size_t n;

	if (sandbox_len == 0)
		return true;
	if (strncmp(path, sandbox_dir, sandbox_len) != 0 ||
	    (path[sandbox_len] != '/' && path[sandbox_len] != '\0'))
		return false;
	for (c = path + sandbox_len; *c != '\0'; c += n) {
		c += strspn(c, "/");
		n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return false;
		/*
		 * glob(3) matches a leading '.' of a name only with a literal
		 * '.' (FNM_PERIOD), which may be escaped: ".*" and "\.?"
		 * match "..", while "*" and "[.]*" do not.
		 */
		if (pattern && n > 1 && (c[0] == '.' || c[0] == '\\'))
			return false;
	}
	return true;
}

int
__wrap_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	struct addrinfo h;

	if (hints != NULL)
		h = *hints;
	else
		memset(&h, 0, sizeof(h));
	/* What /etc/hosts says; AF_UNSPEC (unused by the parser) gets v4. */
	if (node != NULL && strcasecmp(node, "localhost") == 0)
		node = h.ai_family == AF_INET6 ? "::1" : "127.0.0.1";
	h.ai_flags |= AI_NUMERICHOST;
	return __real_getaddrinfo(node, service, &h, res);
}

/* open()'s mode argument exists only when the flags create a file. */
static mode_t
open_mode(int flags, va_list ap)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return (mode_t)va_arg(ap, int);
	return 0;
}

int
__wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if (!sandbox_allows(path, false)) {
		errno = EACCES;
		return -1;
	}
	return __real_open(path, flags, mode);
}

/* The same for builds where _FILE_OFFSET_BITS=64 renames open(). */
int
__wrap_open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if (!sandbox_allows(path, false)) {
		errno = EACCES;
		return -1;
	}
	return __real_open64(path, flags, mode);
}

DIR *
__wrap_opendir(const char *path)
{
	if (!sandbox_allows(path, false)) {
		errno = EACCES;
		return NULL;
	}
	return __real_opendir(path);
}

int
__wrap_glob(const char *pattern, int flags,
    int (*errfunc)(const char *, int), glob_t *g)
{
	if (sandbox_allows(pattern, true))
		return __real_glob(pattern, flags, errfunc, g);
	/* What glob(3) does with a directory it may not read. */
	if (!(flags & GLOB_APPEND)) {
		g->gl_pathc = 0;
		g->gl_pathv = NULL;
	}
	if ((errfunc != NULL && errfunc(pattern, EACCES) != 0) ||
	    (flags & GLOB_ERR))
		return GLOB_ABORTED;
	return GLOB_NOMATCH;
}
