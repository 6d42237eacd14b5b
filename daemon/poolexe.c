/*
 * poolexe.c -- which program a worker pool's process runs (poolexe.h).
 *
 * porterd-pool, the small image (pool_main.c), from the same build as
 * this porterd: first next to porterd's own binary, which is where a
 * build tree has it (libtool's daemon/.libs/porterd-pool beside
 * daemon/.libs/porterd), so a build-tree porterd never runs an older
 * installed copy; then where `make install` put it.  A porterd without it starts itself with --pool-worker, which
 * serves the same protocol with a larger image.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "poolexe.h"

#define POOLEXE_NAME	"porterd-pool"

/* Opens dir/POOLEXE_NAME if it is a regular executable.  Returns fd or -1. */
static int
poolexe_try(const char *dir, size_t dirlen)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%.*s/%s", (int)dirlen, dir,
	    POOLEXE_NAME) >= (int)sizeof(path) || access(path, X_OK) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
		log_debug("worker pools run %s", path);
	return fd;
}

int
poolexe_open(void)
{
	char self[PATH_MAX];
	const char *slash;
	ssize_t n;
	size_t len;
	int fd;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0 && (slash = memrchr(self, '/', (size_t)n)) != NULL) {
		self[n] = '\0';
		len = (size_t)(slash - self);
		if ((fd = poolexe_try(self, len)) >= 0)
			return fd;
	}
	if ((fd = open(POOL_PROGRAM, O_RDONLY | O_CLOEXEC)) >= 0) {
		log_debug("worker pools run %s", POOL_PROGRAM);
		return fd;
	}
	log_debug("worker pools run porterd itself: no %s", POOL_PROGRAM);
	return open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
}
