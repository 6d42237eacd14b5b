/*
 * fork_echo.c -- a benchmark reference: the bare fork-per-connection echo
 * server, i.e. what a fresh process per connection costs on this machine
 * with nothing else in the way.  run-bench compares porterd's
 * isolation = process, reuse = 1 row against it.
 *
 * fork_echo [-b BACKLOG] [-l SECONDS]   (see bare_listen.h)
 *
 * One thread: accept, fork; the child echoes until EOF and exits; the
 * parent closes its copy and goes back to accept.  SIGCHLD is ignored, so
 * the kernel reaps the children.  Nothing is logged.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>

#include "bare_listen.h"

int
main(int argc, char *argv[])
{
	char buf[16384];
	int lfd = bare_listen(argc, argv, "fork_echo"), fd;
	ssize_t n, w, off;

	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EMFILE || errno == ENFILE)
				continue;
			perror("fork_echo: accept");
			return 1;
		}
		switch (fork()) {
		case -1:
			close(fd);
			continue;
		case 0:
			close(lfd);
			while ((n = read(fd, buf, sizeof(buf))) > 0) {
				for (off = 0; off < n; off += w) {
					w = write(fd, buf + off,
					    (size_t)(n - off));
					if (w <= 0)
						_exit(1);
				}
			}
			_exit(0);
		default:
			close(fd);
		}
	}
}
