/*
 * bare_listen.h -- what the bare reference servers (fork_echo, spawn_cat)
 * share with epoll_echo's command line: `PROG [-b BACKLOG] [-l SECONDS]`,
 * a listener on 127.0.0.1 port 0 whose port is printed on stdout, and a
 * lifetime bound by SIGALRM.  Header-only: two tiny programs.
 */
#ifndef PORTER_BENCH_BARE_LISTEN_H
#define PORTER_BENCH_BARE_LISTEN_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Parses the options, listens, prints the port.  Exits on error. */
static int
bare_listen(int argc, char *argv[], const char *prog)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int ch, fd, one = 1, backlog = 128, lifetime = 0;

	while ((ch = getopt(argc, argv, "b:l:")) != -1) {
		switch (ch) {
		case 'b':
			backlog = atoi(optarg);
			break;
		case 'l':
			lifetime = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-b backlog] [-l seconds]\n",
			    prog);
			exit(2);
		}
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, backlog) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		perror(prog);
		exit(1);
	}
	printf("%d\n", ntohs(sin.sin_port));
	fflush(stdout);
	if (lifetime > 0)
		alarm((unsigned)lifetime);	/* default action: exit */
	return fd;
}

#endif
