/*
 * loadgen_tls.c -- loadgen's TLS client (-L), OpenSSL 3, non-blocking.
 *
 * See loadgen.h.  The client context is shared by every loop (OpenSSL
 * contexts are safe to share once built); each connection has its own
 * SSL.  No certificate is checked (the bench talks to its own servers on
 * loopback) and no session is cached, so every connection pays a full
 * handshake, as a first visit would, on every system alike.
 *
 * Bulk I/O is as coarse as the plain client's, so that the TLS rows
 * measure the server rather than this client's system calls: reads take
 * up to 64 KiB of records at a time (read ahead) where OpenSSL alone would
 * read a record's header, then its body; writes put up to four records
 * into a buffer sent with one write(), rather than a write() per record.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "loadgen.h"

/* Four full records and their overhead. */
#define TLS_IO_BUF	(64 * 1024 + 4 * 512)

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
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, TLS_IO_BUF);
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
	BIO *sock = NULL, *wbuf = NULL;

	c->notified = 0;
	if ((c->ssl = SSL_new(ctx)) == NULL ||
	    (sock = BIO_new_socket(c->fd, BIO_NOCLOSE)) == NULL ||
	    (wbuf = BIO_new(BIO_f_buffer())) == NULL ||
	    BIO_set_write_buffer_size(wbuf, TLS_IO_BUF) != 1 ||
	    BIO_up_ref(sock) != 1) {
		BIO_free(wbuf);
		BIO_free(sock);
		tls_end(c);
		errno = ENOMEM;
		return -1;
	}
	SSL_set_bio(c->ssl, sock, BIO_push(wbuf, sock));
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

int
tls_pending(struct client *c)
{
	return BIO_wpending(SSL_get_wbio(c->ssl)) > 0;
}

int
tls_flush(struct client *c)
{
	BIO *b = SSL_get_wbio(c->ssl);

	if (BIO_wpending(b) <= 0)
		return 1;
	errno = 0;
	if (BIO_flush(b) == 1)
		return 1;
	if (BIO_should_retry(b)) {
		errno = EAGAIN;
		return 0;
	}
	if (errno == 0)
		errno = EPIPE;
	return -1;
}

ssize_t
tls_send(struct client *c, const void *buf, size_t len)
{
	size_t done = 0;
	int r;

	/* What an earlier call left in the buffer goes first. */
	if (tls_flush(c) != 1)
		return -1;
	while (done < len && done < TLS_IO_BUF - 4 * 512) {
		errno = 0;
		r = SSL_write(c->ssl, (const char *)buf + done,
		    len - done > INT32_MAX ? INT32_MAX : (int)(len - done));
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (tls_fail(c, r) == 0)
			errno = EPIPE;	/* the server ended its stream */
		if (errno != EAGAIN || done == 0)
			return -1;
		break;
	}
	/* Buffered is sent as far as the caller knows: tls_pending(). */
	if (tls_flush(c) == -1)
		return -1;
	return (ssize_t)done;
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

	if (!c->notified) {
		errno = 0;
		if ((r = SSL_shutdown(c->ssl)) < 0) {
			if (tls_fail(c, r) == -1 && errno == EAGAIN)
				return 0;
			return -1;
		}
		c->notified = 1;	/* (0: the server's not yet seen) */
	}
	/* All of it out before the FIN that follows. */
	return tls_flush(c);
}

void
tls_end(struct client *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
}
