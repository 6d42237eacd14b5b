/*
 * spawn_cat.c -- a benchmark reference: the bare accept + posix_spawn
 * loop, i.e. what starting /bin/cat per connection costs on this machine
 * with nothing else in the way.  run-bench compares porterd's exec
 * /bin/cat row against it.
 *
 * spawn_cat [-b BACKLOG] [-l SECONDS]   (see bare_listen.h)
 *
 * One thread: accept, posix_spawn("/bin/cat") with the connection on 0
 * and 1 (glibc's posix_spawn uses clone(CLONE_VM | CLONE_VFORK)), close
 * our copy, accept again.  SIGCHLD is ignored, so the kernel reaps the
 * children.  Nothing is logged.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>

#include "bare_listen.h"

extern char **environ;

int
main(int argc, char *argv[])
{
	static char *const cat_argv[] = { (char *)"/bin/cat", NULL };
	int lfd = bare_listen(argc, argv, "spawn_cat"), fd;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EMFILE || errno == ENFILE)
				continue;
			perror("spawn_cat: accept");
			return 1;
		}
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, fd, 0);
		posix_spawn_file_actions_adddup2(&fa, fd, 1);
		(void)posix_spawn(&pid, cat_argv[0], &fa, NULL, cat_argv,
		    environ);
		posix_spawn_file_actions_destroy(&fa);
		close(fd);
	}
}
