/*
 * pool_main.c -- porterd-pool, the program a worker pool's process runs
 * (pool.h, poolworker.c).
 *
 * The pool's master and every worker are forks of this image, so its
 * size is paid per worker -- with reuse = 1, per connection: each fork
 * copies the page tables of every written mapping, and each worker
 * faults in every page it touches.  porterd maps 16 shared libraries
 * (OpenSSL, libsystemd, libconfuse, ...), none of which a pool uses;
 * porterd-pool links only the pool's own modules (poolworker.c, the
 * plugin loader, the sandbox's apply steps, the log), libporter
 * statically, libc, libdl and libseccomp.  porterd starts it as it
 * would start itself with --pool-worker (poolexe.c finds it), so both
 * serve the same protocol from the same build.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "pool.h"

int
main(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "--pool-worker") != 0) {
		fprintf(stderr, "usage: porterd-pool --pool-worker (porterd "
		    "starts it, with the pool's socket on fd 3)\n");
		return 2;
	}
	return poolworker_main(argv);
}
