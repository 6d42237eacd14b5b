/*
 * loadgen_tls.c -- loadgen's TLS client (-L), OpenSSL 3, non-blocking.
 *
 * See loadgen.h.  The client context is shared by every loop (OpenSSL
 * contexts are safe to share once built); each connection has its own
 * SSL.  No certificate is checked (the bench talks to its own servers on
 * loopback) and no session is cached, so every connection pays a full
 * handshake, as a first visit would, on every system alike.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "loadgen.h"

static SSL_CTX *ctx;

int
tls_init(void)
{
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		fprintf(stderr, "loadgen: SSL_CTX_new failed\n");
		return -1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return 0;
}

void
tls_done(void)
{
	SSL_CTX_free(ctx);
	ctx = NULL;
}

int
tls_begin(struct client *c)
{
	if ((c->ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		tls_end(c);
		errno = ENOMEM;
		return -1;
	}
	SSL_set_connect_state(c->ssl);
	return 0;
}

/* Maps an SSL call's failure to send()/recv()'s errno convention. */
static ssize_t
tls_fail(struct client *c, int r)
{
	int e = SSL_get_error(c->ssl, r), saved = errno;

	ERR_clear_error();
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		errno = saved != 0 ? saved : ECONNRESET;
		return -1;
	default:
		errno = EPROTO;
		return -1;
	}
}

int
tls_handshake(struct client *c)
{
	int r;

	errno = 0;
	if ((r = SSL_do_handshake(c->ssl)) == 1)
		return 1;
	if (tls_fail(c, r) == -1 && errno == EAGAIN)
		return 0;
	if (errno == 0)
		errno = ECONNRESET;	/* closed mid-handshake */
	return -1;
}

ssize_t
tls_send(struct client *c, const void *buf, size_t len)
{
	int r;

	errno = 0;
	if ((r = SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX :
	    (int)len)) > 0)
		return r;
	if (tls_fail(c, r) == 0)
		errno = EPIPE;		/* the server ended its stream */
	return -1;
}

ssize_t
tls_recv(struct client *c, void *buf, size_t len)
{
	int r;

	errno = 0;
	if ((r = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX :
	    (int)len)) > 0)
		return r;
	/* A TCP EOF without close_notify: the server's end all the same. */
	if (SSL_get_error(c->ssl, r) == SSL_ERROR_SSL &&
	    ERR_GET_REASON(ERR_peek_error()) ==
	    SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		ERR_clear_error();
		return 0;
	}
	return tls_fail(c, r);
}

int
tls_shutdown(struct client *c)
{
	int r;

	errno = 0;
	if ((r = SSL_shutdown(c->ssl)) >= 0)
		return 1;	/* sent (0: the server's not yet seen) */
	if (tls_fail(c, r) == -1 && errno == EAGAIN)
		return 0;
	return -1;
}

void
tls_end(struct client *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
}
