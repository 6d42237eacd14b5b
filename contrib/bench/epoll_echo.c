/*
 * epoll_echo.c -- the benchmark's reference: a minimal single-threaded
 * epoll echo server, i.e. what "hand-written and as fast as this machine
 * goes" means for the ratios run-bench prints.
 *
 * epoll_echo [-b BACKLOG] [-l SECONDS] [HOST]
 *
 * Binds HOST (default 127.0.0.1; loopback only) on port 0, prints the port
 * it got on stdout, and serves RFC 862 echo until killed: non-blocking
 * sockets, level-triggered epoll, accept4 until EAGAIN, each connection
 * echoed until EOF and closed.  A reply the socket cannot take at once is
 * kept and finished on EPOLLOUT, so a large payload is echoed correctly
 * rather than dropped.  Nothing is logged per connection.  -l bounds the
 * lifetime (SIGALRM) so a forgotten server cannot outlive its benchmark.
 * The backlog defaults to porterd's default (128) for a like-for-like
 * comparison.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE	16384	/* as the echo plugin's */
#define MAX_EVENTS	256

struct echo_conn {
	int fd;
	size_t off, len;	/* unsent reply: buf[off .. len) */
	char buf[BUF_SIZE];
};

/* The listener's epoll tag: the one pointer that is not a connection. */
static struct echo_conn listener;

static void
conn_close(struct echo_conn *c)
{
	close(c->fd);	/* also leaves the epoll set */
	free(c);
}

static int
conn_want(int epfd, struct echo_conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Sends what is pending; returns 1 when all of it went, 0, or -1. */
static int
conn_flush(struct echo_conn *c)
{
	ssize_t n;

	while (c->off < c->len) {
		n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->off += (size_t)n;
	}
	c->off = c->len = 0;
	return 1;
}

static void
conn_event(int epfd, struct echo_conn *c, uint32_t events)
{
	ssize_t n;
	int r;

	if (c->len > 0) {		/* waiting for EPOLLOUT */
		if ((r = conn_flush(c)) == -1)
			conn_close(c);
		else if (r == 1 && conn_want(epfd, c, EPOLLIN) == -1)
			conn_close(c);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	n = recv(c->fd, c->buf, sizeof(c->buf), 0);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		conn_close(c);		/* EOF, or reset */
		return;
	}
	if (n <= 0)
		return;
	c->len = (size_t)n;
	if ((r = conn_flush(c)) == -1)
		conn_close(c);
	else if (r == 0 && conn_want(epfd, c, EPOLLOUT) == -1)
		conn_close(c);
}

static void
accept_all(int epfd, int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct echo_conn *c;
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				perror("epoll_echo: accept");
			return;
		}
		if ((c = malloc(sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->off = c->len = 0;
		ev.data.ptr = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
			conn_close(c);
	}
}

/* A bound, listening, non-blocking socket on host:0, or -1. */
static int
listen_on(const char *host, int backlog)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1 &&
	    (ntohl(sin->sin_addr.s_addr) >> 24) == 127) {
		sin->sin_family = AF_INET;
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
		sin6->sin6_family = AF_INET6;
		len = sizeof(*sin6);
	} else {
		fprintf(stderr, "epoll_echo: %s: want a numeric loopback "
		    "address\n", host);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, backlog) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		perror("epoll_echo: listen");
		return -1;
	}
	printf("%u\n", ntohs(ss.ss_family == AF_INET ? sin->sin_port :
	    sin6->sin6_port));
	fflush(stdout);
	return fd;
}

int
main(int argc, char *argv[])
{
	struct epoll_event evs[MAX_EVENTS], ev = { .events = EPOLLIN };
	int ch, epfd, lfd, n, i, backlog = 128, lifetime = 0;

	while ((ch = getopt(argc, argv, "b:l:")) != -1) {
		switch (ch) {
		case 'b':
			backlog = atoi(optarg);
			break;
		case 'l':
			lifetime = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: epoll_echo [-b BACKLOG] "
			    "[-l SECONDS] [HOST]\n");
			return 2;
		}
	}
	if (argc - optind > 1 || backlog < 1 || lifetime < 0) {
		fprintf(stderr, "usage: epoll_echo [-b BACKLOG] [-l SECONDS] "
		    "[HOST]\n");
		return 2;
	}
	if ((lfd = listen_on(optind < argc ? argv[optind] : "127.0.0.1",
	    backlog)) == -1)
		return 1;
	if (lifetime > 0)
		alarm((unsigned)lifetime);	/* default action: exit */
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("epoll_echo: epoll_create1");
		return 1;
	}
	ev.data.ptr = &listener;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) == -1) {
		perror("epoll_echo: epoll_ctl");
		return 1;
	}
	for (;;) {
		n = epoll_wait(epfd, evs, MAX_EVENTS, -1);
		if (n == -1 && errno != EINTR) {
			perror("epoll_echo: epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &listener)
				accept_all(epfd, lfd);
			else
				conn_event(epfd, evs[i].data.ptr,
				    evs[i].events);
		}
	}
}
