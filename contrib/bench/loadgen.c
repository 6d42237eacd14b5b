/*
 * loadgen.c -- echo load generator for Porter's benchmark (contrib/bench).
 *
 * loadgen [-p] [-r] [-S] [-L] [-q] [-c CLIENTS] [-s BYTES] [-d SECONDS]
 *         [-n COUNT] [-t THREADS] [-T TIMEOUT] ADDRESS
 *
 * Runs CLIENTS client loops against an echo server at ADDRESS
 * ("127.0.0.1:7", "[::1]:7", "localhost:7", "/path" or "@abstract"; any
 * other address is refused, so a typo cannot load someone else's host).
 * Without -p each loop connects, sends BYTES, reads the whole echo back
 * and compares it byte for byte, half-closes, waits for the server's EOF
 * and closes: one "op" is one whole connection, so the server has finished
 * with it (a forked handler has exited) before the loop starts the next.
 * With -p each loop keeps one connection and an op is one round trip.
 * Every op's payload is a different slice of a fixed pattern, so a stale,
 * duplicated or misrouted echo is caught, not just a short one.
 * -n COUNT begins exactly COUNT ops (a failed one is retried, not
 * replaced) and ends when they are done, so a run without errors opened
 * exactly COUNT connections and a server's counters can be checked
 * against it; `conns=` in the output counts the connections established,
 * those of failed or uncounted ops too.
 *
 * -L speaks TLS (loadgen_tls.c): a full handshake per connection, the
 * same echo check on the plaintext, and close_notify before the
 * half-close; the server's close_notify or TCP EOF ends the op.
 *
 * Design: one epoll loop per thread (default one thread) rather than a
 * thread per client.  On a 2-core machine the client shares the CPU with
 * the server it measures; a single edge-triggered loop spends the fewest
 * cycles per op (no context switch per client), so more of the machine is
 * left to the server and the comparison between servers is fairer.
 *
 * TIME_WAIT: the client closes first, so TIME_WAIT lands on its side.
 * Rather than cut connections with RST (which makes an exec'd /bin/cat
 * fail with ECONNRESET and log, penalising exec servers), each IPv4
 * connection binds a different source address in 127.64.0.0/16 with
 * IP_BIND_ADDRESS_NO_PORT, so the (source, port) space never runs out.
 * -S keeps the kernel's choice (127.0.0.1, for servers that look peers
 * up by name; loopback TIME_WAIT is then recycled by tcp_tw_reuse), and
 * -r closes with RST (SO_LINGER 0) right after the echo instead.
 *
 * Output: a human summary on stderr (unless -q) and one line of key=value
 * pairs on stdout for scripts (see README.md).  Exit status: 0 when ops
 * completed without error, 1 when any error occurred or nothing completed,
 * 2 for a bad command line or setup failure.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <porter/socket.h>

#include "loadgen.h"

#define PATTERN_SLACK	251		/* distinct payload offsets (prime) */
#define RBUF_SIZE	65536
#define TICK_MS		10		/* deadline and timeout checks */
#define BACKOFF_NS	10000000ULL	/* 10 ms pause after an error */
#define DRAIN_NS	2000000000ULL	/* ops in flight at the end: 2 s */

/* The options, and the pattern every payload is cut from. */
static struct options opt = {
	.clients = 64, .size = 64, .seconds = 5.0, .threads = 1,
	.timeout_ns = 5000000000ULL,
};
static unsigned char *pattern;
static int stop_flag;			/* atomic: one loop stopping stops all */
static uint64_t ops_total;		/* atomic; only used with -n */
static uint64_t ops_taken;		/* atomic; -n: ops begun, see
					 * client_take() */

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ clients */

static void
client_close(struct client *c, int rst)
{
	struct linger lg = { 1, 0 };

	if (c->fd < 0)
		return;
	tls_end(c);
	if (rst)
		(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c->fd);
	c->fd = -1;
}

/* Counts an error, drops the connection, and retries after a pause. */
static void
client_fail(struct worker *w, struct client *c, enum err_kind kind, int e)
{
	w->errors[kind]++;
	if (w->first_errno == 0)
		w->first_errno = e != 0 ? e : -1;
	client_close(c, 1);
	c->state = C_BACKOFF;
	c->deadline = now_ns() + BACKOFF_NS;
}

static enum err_kind
err_kind_of(int e)
{
	switch (e) {
	case ECONNREFUSED:
	case ENOENT:		/* AF_UNIX path gone */
		return ERR_REFUSED;
	case EADDRNOTAVAIL:
	case EADDRINUSE:
		return ERR_ADDR;
	case ECONNRESET:
	case EPIPE:
		return ERR_RESET;
	}
	return ERR_OTHER;
}

/*
 * -n: an op begins only with one of COUNT tickets, held until the op is
 * done (a failed op keeps it for its retry), so the run opens exactly
 * COUNT connections (-p: sends COUNT round trips) when nothing fails,
 * and none is left in flight when the last one is counted.  Returns 1
 * when c holds a ticket (or there is no -n), 0 when all are taken.
 */
static int
client_take(struct client *c)
{
	if (opt.count == 0 || c->ticket)
		return 1;
	if (__atomic_add_fetch(&ops_taken, 1, __ATOMIC_RELAXED) > opt.count)
		return 0;
	c->ticket = 1;
	return 1;
}

/* A fresh op on c: the next payload slice, counters at zero. */
static void
client_new_op(struct client *c, uint64_t t)
{
	c->offset = (c->offset + 1 + c->id) % PATTERN_SLACK;
	c->sent = c->got = 0;
	c->op_start = t;
	c->deadline = t + opt.timeout_ns;
}

/*
 * Opens c's connection (non-blocking) and registers it once, edge-
 * triggered for everything, so no epoll_ctl is needed until close.
 */
static void
client_connect(struct worker *w, struct client *c)
{
	struct epoll_event ev = { EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
	    { .ptr = c } };
	struct sockaddr_in src;
	uint64_t t = now_ns();
	int one = 1;
	uint32_t k;

	if (!client_take(c)) {
		c->state = C_IDLE;	/* -n: every op is begun */
		return;
	}
	client_new_op(c, t);
	c->fd = socket(opt.target.ss.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		client_fail(w, c, ERR_OTHER, errno);
		return;
	}
	if (opt.spread) {
		/* 127.64.0.1 .. 127.64.255.254, the port chosen at connect. */
		k = w->next_src++ % 65534 + 1;
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f400000U | k);
		if (setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
		    &one, sizeof(one)) == -1 ||
		    bind(c->fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
			client_fail(w, c, err_kind_of(errno), errno);
			return;
		}
	}
	if (connect(c->fd, (const struct sockaddr *)&opt.target.ss,
	    opt.target.len) == -1 && errno != EINPROGRESS) {
		if (errno == EAGAIN) {
			/* AF_UNIX backlog full: not an error, try again. */
			client_close(c, 0);
			c->state = C_BACKOFF;
			c->deadline = t + BACKOFF_NS / 10;
			return;
		}
		client_fail(w, c, err_kind_of(errno), errno);
		return;
	}
	c->state = C_CONNECTING;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		client_fail(w, c, ERR_OTHER, errno);
}

/* One op done: count it, take its latency, start the next. */
static void
client_done(struct worker *w, struct client *c)
{
	uint64_t t = now_ns();

	/* -n: the op that makes COUNT stops the run (the last in flight). */
	if (!w->draining && opt.count > 0 && __atomic_add_fetch(&ops_total, 1,
	    __ATOMIC_RELAXED) >= opt.count)
		__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
	c->ticket = 0;
	if (w->draining) {
		/* Past the end: not counted, and no next op. */
		client_close(c, opt.rst && !opt.persistent);
		c->state = C_IDLE;
		return;
	}
	hist_add(&w->hist, t - c->op_start);
	w->ops++;
	c->verified += opt.size;	/* client_xfer() compared it all */
	if (opt.persistent) {
		if (client_take(c)) {
			client_new_op(c, t);
			return;
		}
		client_close(c, 0);	/* -n: every round trip is begun */
		c->state = C_IDLE;
		return;
	}
	client_close(c, opt.rst);
	client_connect(w, c);
}

/* send() or, with -L, TLS. */
static ssize_t
io_send(struct client *c, const void *buf, size_t len)
{
	return opt.tls ? tls_send(c, buf, len) :
	    send(c->fd, buf, len, MSG_NOSIGNAL);
}

static ssize_t
io_recv(struct client *c, void *buf, size_t len)
{
	return opt.tls ? tls_recv(c, buf, len) : recv(c->fd, buf, len, 0);
}

/*
 * Moves the payload both ways as far as the socket allows.  Reading goes
 * on while writing so that a payload larger than the socket buffers
 * cannot deadlock against the echo.  recv() is only tried when the socket
 * said it is readable (or the last read filled the buffer): a read that
 * would block is a wasted system call per op.  Returns 1 when the whole
 * echo is in and verified, 0 to wait for the next event, -1 after
 * client_fail().
 */
static int
client_xfer(struct worker *w, struct client *c, int readable)
{
	const unsigned char *want = pattern + c->offset;
	int writable = 1;
	ssize_t n;
	size_t len;

	for (;;) {
		/* -L: the last of the payload may wait in the write buffer. */
		if (writable && c->sent == opt.size && opt.tls &&
		    tls_pending(c)) {
			n = tls_flush(c);
			if (n == 0)
				writable = 0;
			else if (n == -1) {
				client_fail(w, c, err_kind_of(errno), errno);
				return -1;
			}
		}
		if (writable && c->sent < opt.size) {
			n = io_send(c, want + c->sent, opt.size - c->sent);
			if (n > 0) {
				c->sent += (size_t)n;
			} else if (errno == EAGAIN) {
				writable = 0;
			} else if (errno != EINTR) {
				client_fail(w, c, err_kind_of(errno), errno);
				return -1;
			}
		}
		if (readable && c->got < c->sent) {
			/* Never read past this op's bytes: extra is caught. */
			len = opt.size - c->got;
			if (len > RBUF_SIZE)
				len = RBUF_SIZE;
			n = io_recv(c, w->rbuf, len);
			if (n == 0) {
				client_fail(w, c, ERR_EOF, 0);
				return -1;
			}
			if (n > 0) {
				if (memcmp(w->rbuf, want + c->got,
				    (size_t)n) != 0) {
					client_fail(w, c, ERR_MISMATCH, 0);
					return -1;
				}
				c->got += (size_t)n;
			} else if (errno == EAGAIN) {
				readable = 0;
			} else if (errno != EINTR) {
				client_fail(w, c, err_kind_of(errno), errno);
				return -1;
			}
		}
		if (c->got == opt.size)
			return 1;
		/* Nothing more to read now, and nothing (more) to send. */
		if ((!readable || c->got == c->sent) &&
		    (!writable || (c->sent == opt.size &&
		    !(opt.tls && tls_pending(c)))))
			return 0;
	}
}

/* Handles an event on c (edge-triggered: runs until it would block). */
static void
client_event(struct worker *w, struct client *c, uint32_t events)
{
	/*
	 * With -L, OpenSSL may hold bytes the socket no longer signals, and
	 * a read may be what moves a write: always try (until EAGAIN).
	 */
	int readable = opt.tls || (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP |
	    EPOLLERR)) != 0;
	int r;
	socklen_t len = sizeof(int);
	ssize_t n;
	int e = 0;

	for (;;) {
		switch (c->state) {
		case C_CONNECTING:
			if (events & (EPOLLERR | EPOLLHUP)) {
				(void)getsockopt(c->fd, SOL_SOCKET, SO_ERROR,
				    &e, &len);
				client_fail(w, c, err_kind_of(e), e);
				return;
			}
			if (!(events & EPOLLOUT))
				return;
			w->conns++;
			c->state = C_XFER;
			if (opt.tls) {
				if (tls_begin(c) == -1) {
					client_fail(w, c, ERR_OTHER, errno);
					return;
				}
				c->state = C_HANDSHAKE;
			}
			continue;
		case C_HANDSHAKE:
			if ((r = tls_handshake(c)) == 0)
				return;
			if (r == -1) {
				client_fail(w, c, err_kind_of(errno), errno);
				return;
			}
			c->state = C_XFER;
			continue;
		case C_XFER:
			if (client_xfer(w, c, readable) != 1)
				return;
			/* What made it readable has been read. */
			readable = opt.tls;
			if (opt.persistent || opt.rst) {
				client_done(w, c);
				if (c->state != C_XFER)
					return;	/* reconnecting or failed */
				continue;
			}
			c->state = C_DRAIN;
			c->shut = 0;
			/*
			 * The server's EOF comes as an event of its own,
			 * unless it closed already and this event said so.
			 */
			readable = opt.tls ||
			    (events & (EPOLLRDHUP | EPOLLHUP)) != 0;
			continue;
		case C_DRAIN:
			if (!c->shut) {
				/* -L: close_notify first, then the FIN. */
				if (opt.tls && (r = tls_shutdown(c)) != 1) {
					if (r == -1)
						client_fail(w, c,
						    err_kind_of(errno), errno);
					return;
				}
				if (shutdown(c->fd, SHUT_WR) == -1) {
					client_fail(w, c, err_kind_of(errno),
					    errno);
					return;
				}
				c->shut = 1;
			}
			if (!readable)
				return;	/* the ACK of our FIN, say */
			readable = 0;
			n = io_recv(c, w->rbuf, 1);
			if (n == 0) {
				client_done(w, c);
				return;
			}
			if (n > 0)
				client_fail(w, c, ERR_MISMATCH, 0);
			else if (errno != EAGAIN && errno != EINTR)
				client_fail(w, c, err_kind_of(errno), errno);
			return;
		default:
			return;
		}
	}
}

/* Restarts paused clients and fails the ones past their deadline. */
static void
worker_tick(struct worker *w, uint64_t t)
{
	size_t i;

	for (i = 0; i < w->nclients; i++) {
		struct client *c = &w->clients[i];

		if (t < c->deadline || c->state == C_IDLE)
			continue;
		if (c->state == C_BACKOFF)
			client_connect(w, c);
		else
			client_fail(w, c, ERR_TIMEOUT, ETIMEDOUT);
	}
}

/*
 * The measurement is over.  Ops in flight are let finish, uncounted, for
 * up to DRAIN_NS rather than cut, so that servers only see orderly closes
 * (a reset makes an exec'd /bin/cat fail and log, which would slow the
 * next run).  What is still open after that is reset and reported.
 */
static void
worker_drain(struct worker *w)
{
	struct epoll_event evs[256];
	uint64_t limit = now_ns() + DRAIN_NS;
	size_t i, busy;
	int n;

	w->draining = 1;
	for (;;) {
		for (i = 0, busy = 0; i < w->nclients; i++) {
			if (w->clients[i].state == C_BACKOFF)
				w->clients[i].state = C_IDLE;
			busy += w->clients[i].fd >= 0;
		}
		if (busy == 0 || now_ns() >= limit)
			break;
		n = epoll_wait(w->epfd, evs, 256, TICK_MS);
		for (i = 0; i < (size_t)(n > 0 ? n : 0); i++)
			client_event(w, evs[i].data.ptr, evs[i].events);
	}
	for (i = 0; i < w->nclients; i++) {
		if (w->clients[i].fd >= 0) {
			w->abandoned++;
			client_close(&w->clients[i], 1);
		}
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[256];
	uint64_t t, next_tick = 0;
	size_t i;
	int n;

	for (i = 0; i < w->nclients; i++)
		client_connect(w, &w->clients[i]);
	while (!__atomic_load_n(&stop_flag, __ATOMIC_RELAXED)) {
		n = epoll_wait(w->epfd, evs, 256, TICK_MS);
		if (n == -1 && errno != EINTR) {
			w->errors[ERR_OTHER]++;
			break;
		}
		for (i = 0; i < (size_t)(n > 0 ? n : 0); i++)
			client_event(w, evs[i].data.ptr, evs[i].events);
		t = now_ns();
		if (t >= w->stop_at)
			break;
		if (t >= next_tick) {
			worker_tick(w, t);
			next_tick = t + TICK_MS * 1000000ULL;
		}
	}
	w->end = now_ns();
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
	worker_drain(w);
	return NULL;
}

/* ------------------------------------------------------------ main */

static void
pattern_init(void)
{
	size_t i, len = opt.size + PATTERN_SLACK;
	uint32_t x = 2463534242U;

	if ((pattern = malloc(len)) == NULL) {
		perror("loadgen: malloc");
		exit(2);
	}
	for (i = 0; i < len; i++) {	/* xorshift32: no repeats to hide in */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pattern[i] = (unsigned char)x;
	}
}

/*
 * Every client holds a descriptor: raises the soft RLIMIT_NOFILE as far
 * as needed (within the hard limit).  Returns 0, or -1 after saying why.
 */
static int
nofile_fit(rlim_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		fprintf(stderr, "loadgen: %u clients need %llu descriptors; "
		    "RLIMIT_NOFILE allows %llu\n", opt.clients,
		    (unsigned long long)need, (unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		perror("loadgen: setrlimit");
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct worker *ws;
	struct rusage ru0, ru1;
	uint64_t start;
	size_t i, k, first = 0;
	int r;

	if (options_parse(&opt, argc, argv) == -1 ||
	    nofile_fit((rlim_t)opt.clients + opt.threads + 16) == -1)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	if (opt.tls && tls_init() == -1)
		return 2;
	pattern_init();
	if ((ws = calloc(opt.threads, sizeof(*ws))) == NULL) {
		perror("loadgen: calloc");
		return 2;
	}
	getrusage(RUSAGE_SELF, &ru0);
	start = now_ns();
	for (i = 0; i < opt.threads; i++) {
		struct worker *w = &ws[i];

		w->nclients = opt.clients / opt.threads +
		    (i < opt.clients % opt.threads);
		w->clients = calloc(w->nclients, sizeof(*w->clients));
		w->rbuf = malloc(RBUF_SIZE);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->stop_at = start + (uint64_t)(opt.seconds * 1e9);
		w->next_src = (uint32_t)(i * 4099);	/* disjoint runs */
		if (w->clients == NULL || w->rbuf == NULL || w->epfd == -1) {
			perror("loadgen: setup");
			return 2;
		}
		for (k = 0; k < w->nclients; k++) {
			w->clients[k].fd = -1;
			w->clients[k].id = (unsigned)(first + k);
		}
		first += w->nclients;
	}
	/* The calling thread runs the first loop itself. */
	for (i = 1; i < opt.threads; i++) {
		if ((r = pthread_create(&ws[i].tid, NULL, worker_main,
		    &ws[i])) != 0) {
			fprintf(stderr, "loadgen: pthread_create: %s\n",
			    strerror(r));
			return 2;
		}
	}
	worker_main(&ws[0]);
	for (i = 1; i < opt.threads; i++)
		pthread_join(ws[i].tid, NULL);
	getrusage(RUSAGE_SELF, &ru1);
	r = report(&opt, ws, opt.threads, start, &ru0, &ru1);
	/* Freed for the sake of leak checkers (make check under ASan). */
	for (i = 0; i < opt.threads; i++) {
		close(ws[i].epfd);
		free(ws[i].clients);
		free(ws[i].rbuf);
	}
	free(ws);
	free(pattern);
	if (opt.tls)
		tls_done();
	return r;
}
