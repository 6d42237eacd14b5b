/*
 * tls_relay_bench.c -- how fast daemon/tls.c's relay moves bytes,
 * against a plain socketpair.  Not a test and not run by make check:
 * build with `make tests/tls_relay_bench`, run as
 *
 *     tests/tls_relay_bench CERT KEY [MiB]
 *
 * Three runs of MiB (default 256) each, one line each:
 *   plain     a thread writes into a socketpair, another reads it
 *   tls-up    an OpenSSL client thread writes TLS over a socketpair; the
 *             main thread runs tls_handshake()/tls_relay() under poll();
 *             a handler thread reads the plaintext end
 *   tls-down  the handler thread writes, the client thread reads
 * The client's encryption and the relay's decryption share the machine,
 * as they would on a server, so the figure is the relay's cost plus the
 * client's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "tls.h"

#define CHUNK	65536

static size_t total;
static int finished;	/* workers done, atomically */

struct job {
	int fd;
	SSL *ssl;
	int write;		/* 1: write total bytes, 0: read them */
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
worker(void *arg)
{
	struct job *j = arg;
	static char wbuf[CHUNK];
	char rbuf[CHUNK];
	size_t done = 0;
	int n;

	while (done < total) {
		size_t want = total - done > CHUNK ? CHUNK : total - done;

		if (j->ssl != NULL)
			n = j->write ? SSL_write(j->ssl, wbuf, (int)want) :
			    SSL_read(j->ssl, rbuf, CHUNK);
		else
			n = (int)(j->write ? write(j->fd, wbuf, want) :
			    read(j->fd, rbuf, CHUNK));
		if (n <= 0) {
			fprintf(stderr, "worker: stopped after %zu bytes\n",
			    done);
			break;
		}
		done += (size_t)n;
	}
	if (j->write && j->ssl == NULL)
		shutdown(j->fd, SHUT_WR);
	__atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void
report(const char *what, double t)
{
	printf("%-9s %8.1f MiB/s  (%zu MiB in %.2f s)\n", what,
	    (double)total / 1048576.0 / t, total >> 20, t);
}

static void
plain(void)
{
	struct job w = { -1, NULL, 1 }, r = { -1, NULL, 0 };
	pthread_t tw, tr;
	int sp[2];
	double t0;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		exit(1);
	w.fd = sp[0];
	r.fd = sp[1];
	t0 = now();
	pthread_create(&tw, NULL, worker, &w);
	pthread_create(&tr, NULL, worker, &r);
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	report("plain", now() - t0);
	close(sp[0]);
	close(sp[1]);
}

static void
tls_run(struct tls_ctx *ctx, int up)
{
	struct job cj = { -1, NULL, up }, hj = { -1, NULL, !up };
	SSL_CTX *cc = SSL_CTX_new(TLS_client_method());
	struct tls_conn *c;
	struct tls_wait w;
	enum tls_status r;
	struct pollfd pfd[2];
	pthread_t tc, th;
	char err[256];
	int sp[2], h;
	double t0;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1 ||
	    fcntl(sp[0], F_SETFL, O_NONBLOCK) == -1)
		exit(1);
	if ((c = tls_conn_new(ctx, sp[0], err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	cj.ssl = SSL_new(cc);
	SSL_set_fd(cj.ssl, sp[1]);
	SSL_set_connect_state(cj.ssl);
	finished = 0;
	t0 = now();
	pthread_create(&tc, NULL, worker, &cj);	/* handshakes, then runs */
	pfd[0].fd = sp[0];
	while ((r = tls_handshake(c)) != TLS_DONE) {
		if (r == TLS_ERROR) {
			fprintf(stderr, "handshake: %s\n", tls_conn_error(c));
			exit(1);
		}
		pfd[0].events = r == TLS_WANT_READ ? POLLIN : POLLOUT;
		poll(pfd, 1, 10000);
	}
	if (tls_start(c, &h) == TLS_ERROR) {
		fprintf(stderr, "start: %s\n", tls_conn_error(c));
		exit(1);
	}
	hj.fd = h;
	pthread_create(&th, NULL, worker, &hj);
	pfd[1].fd = tls_relay_fd(c);
	for (;;) {
		r = tls_relay(c, &w);
		if (r != TLS_WANT_READ)
			break;
		pfd[0].events = w.net;
		pfd[1].events = w.app;
		if (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) == 2)
			break;
		poll(pfd, 2, 100);
	}
	pthread_join(tc, NULL);
	pthread_join(th, NULL);
	report(up ? "tls-up" : "tls-down", now() - t0);
	SSL_free(cj.ssl);
	SSL_CTX_free(cc);
	tls_conn_free(c);
	close(h);
	close(sp[0]);
	close(sp[1]);
}

int
main(int argc, char **argv)
{
	struct tls_spec spec;
	struct tls_ctx *ctx;
	char err[512];

	if (argc < 3) {
		fprintf(stderr, "usage: %s CERT KEY [MiB]\n", argv[0]);
		return 2;
	}
	total = (size_t)(argc > 3 ? atoi(argv[3]) : 256) << 20;
	memset(&spec, 0, sizeof(spec));
	spec.file = "bench";
	spec.certificate = argv[1];
	spec.key = argv[2];
	if ((ctx = tls_ctx_new(&spec, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	plain();
	tls_run(ctx, 1);
	tls_run(ctx, 0);
	tls_ctx_free(ctx);
	return 0;
}
