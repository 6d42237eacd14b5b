/*
 * poolexe.h -- the program a worker pool's process runs (pool_main.c).
 */
#ifndef PORTERD_POOLEXE_H
#define PORTERD_POOLEXE_H

/*
 * Opens the pool program (read-only, close-on-exec): porterd-pool next
 * to porterd's binary (a build tree), else the installed one
 * (POOL_PROGRAM), else porterd itself.  Once at start: a pool is then started from the file opened
 * even if a package upgrade replaces it.  Returns the descriptor, or -1
 * with errno (then pools exec /proc/self/exe).
 */
int poolexe_open(void);

#endif
