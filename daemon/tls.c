/*
 * tls.c -- TLS termination: the server context built at load, then per
 * connection a non-blocking handshake, kernel TLS where the kernel takes
 * both directions, otherwise a bounded relay between the TLS connection
 * and a socketpair whose other end the handler gets.  See tls.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls.h"

/*
 * Per direction: four full records per system call and per wake-up of
 * the handler.  A record at a time, 1 MiB each way through /bin/cat took
 * about 310 system calls in the relay; four at a time, about 110.
 */
#define RELAY_BUF	(64 * 1024)
/*
 * OpenSSL's read buffer with read ahead, and the records waiting for the
 * TCP socket: four records and their overhead.  Every relay buffer is
 * this size, so that one spare list serves all three.
 */
#define NET_BUF		(RELAY_BUF + 4 * 512)
#define ENV_MAX		6
/* Relay buffers a thread keeps for its next relay steps. */
#define SPARE_MAX	4

/*
 * A relay gives its buffers back at the end of every step that leaves
 * them empty, which in a bulk transfer is nearly every step: kept here
 * rather than freed, they cost no malloc() nor the trim and page faults
 * that glibc's free() of 64 KiB can bring.  Per thread, as relays step on
 * their loop's threads; tls_thread_end() frees them.
 */
static __thread char *spare[SPARE_MAX];
static __thread unsigned nspare;

/*
 * The records written but not yet sent (the filter BIO below, between
 * OpenSSL and the TCP socket): its buffer too is borrowed only while
 * records wait in it.
 */
struct net_queue {
	char *buf;		/* NET_BUF bytes while records wait */
	size_t off, len;
};

struct tls_ctx {
	SSL_CTX *ssl;
	unsigned char *alpn;	/* wire format */
	size_t alpn_len;
};

struct relay_dir {
	char *buf;		/* RELAY_BUF bytes while it holds data */
	size_t off, len;
	bool eof, done;
};

struct tls_conn {
	SSL *ssl;
	int fd;
	int app;		/* our socketpair end, -1 without a relay */
	bool ktls;
	bool notified;		/* the client's close_notify was read */
	bool truncated;		/* its stream ended without one */
	bool notify_sent;	/* our close_notify is written */
	struct relay_dir in;	/* client -> handler */
	struct relay_dir out;	/* handler -> client */
	struct net_queue net;	/* records for the TCP socket */
	char err[256];
	char *env[ENV_MAX];
	size_t nenv;
};

static void
ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "unknown OpenSSL error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
}

static void
spec_err(const struct tls_spec *spec, char *errbuf, size_t errlen,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
spec_err(const struct tls_spec *spec, char *errbuf, size_t errlen,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(errbuf, errlen, "%s:%d: tls %s", spec->file ? spec->file :
	    "?", spec->line, msg);
}

/* Server preference: the first of ours the client offers. */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	struct tls_ctx *ctx = arg;
	unsigned char *sel;

	(void)ssl;
	if (SSL_select_next_proto(&sel, outlen, ctx->alpn,
	    (unsigned int)ctx->alpn_len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;	/* RFC 7301 3.2 */
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static int
load_key(struct tls_ctx *ctx, const struct tls_spec *spec, char *errbuf,
    size_t errlen)
{
	char why[256];
	struct stat sb;
	EVP_PKEY *pkey;
	FILE *f;
	int fd;

	if ((fd = open(spec->key, O_RDONLY | O_CLOEXEC)) == -1) {
		spec_err(spec, errbuf, errlen, "key '%s': %s", spec->key,
		    strerror(errno));
		return -1;
	}
	/* Checked on the open file: what is checked is what is read. */
	if (fstat(fd, &sb) == -1 || (sb.st_mode & (S_IROTH | S_IWOTH))) {
		spec_err(spec, errbuf, errlen, "key '%s': readable or writable "
		    "by others (mode %04o); chmod o-rwx it", spec->key,
		    (unsigned)(sb.st_mode & 07777));
		close(fd);
		return -1;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		spec_err(spec, errbuf, errlen, "key '%s': %s", spec->key,
		    strerror(errno));
		close(fd);
		return -1;
	}
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pkey == NULL) {
		ssl_reason(why, sizeof(why));
		spec_err(spec, errbuf, errlen, "key '%s': not a PEM private "
		    "key (%s)", spec->key, why);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey(ctx->ssl, pkey) != 1) {
		ssl_reason(why, sizeof(why));
		EVP_PKEY_free(pkey);
		spec_err(spec, errbuf, errlen, "key '%s' does not match "
		    "certificate '%s' (%s)", spec->key, spec->certificate, why);
		return -1;
	}
	EVP_PKEY_free(pkey);
	if (SSL_CTX_check_private_key(ctx->ssl) != 1) {
		ssl_reason(why, sizeof(why));
		spec_err(spec, errbuf, errlen, "key '%s' does not match "
		    "certificate '%s'", spec->key, spec->certificate);
		return -1;
	}
	return 0;
}

struct tls_ctx *
tls_ctx_new(const struct tls_spec *spec, char *errbuf, size_t errlen)
{
	struct tls_ctx *ctx;
	char why[256];
	size_t i, n;
	int minv = TLS1_2_VERSION;

	ERR_clear_error();
	if (spec->certificate == NULL || spec->key == NULL) {
		spec_err(spec, errbuf, errlen, "needs certificate and key");
		return NULL;
	}
	if (spec->min_version != NULL) {
		if (strcmp(spec->min_version, "TLSv1.2") == 0)
			minv = TLS1_2_VERSION;
		else if (strcmp(spec->min_version, "TLSv1.3") == 0)
			minv = TLS1_3_VERSION;
		else {
			spec_err(spec, errbuf, errlen, "min-version '%s': "
			    "TLSv1.2 or TLSv1.3", spec->min_version);
			return NULL;
		}
	}
	if (spec->verify != TLS_VERIFY_NONE && spec->ca == NULL) {
		spec_err(spec, errbuf, errlen, "verify-client needs ca");
		return NULL;
	}
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL ||
	    (ctx->ssl = SSL_CTX_new(TLS_server_method())) == NULL) {
		spec_err(spec, errbuf, errlen, "out of memory");
		free(ctx);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx->ssl, minv);
	SSL_CTX_set_options(ctx->ssl, SSL_OP_ENABLE_KTLS |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(ctx->ssl,
	    spec->certificate) != 1) {
		ssl_reason(why, sizeof(why));
		spec_err(spec, errbuf, errlen, "certificate '%s': %s",
		    spec->certificate, why);
		goto fail;
	}
	if (load_key(ctx, spec, errbuf, errlen) == -1)
		goto fail;
	if (spec->ciphers != NULL &&
	    SSL_CTX_set_cipher_list(ctx->ssl, spec->ciphers) != 1) {
		spec_err(spec, errbuf, errlen, "ciphers '%s': no cipher "
		    "matches", spec->ciphers);
		goto fail;
	}
	if (spec->ca != NULL) {
		STACK_OF(X509_NAME) *names;

		if (SSL_CTX_load_verify_locations(ctx->ssl, spec->ca,
		    NULL) != 1) {
			ssl_reason(why, sizeof(why));
			spec_err(spec, errbuf, errlen, "ca '%s': %s", spec->ca,
			    why);
			goto fail;
		}
		if ((names = SSL_load_client_CA_file(spec->ca)) != NULL)
			SSL_CTX_set_client_CA_list(ctx->ssl, names);
	}
	if (spec->verify == TLS_VERIFY_OPTIONAL)
		SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER, NULL);
	else if (spec->verify == TLS_VERIFY_REQUIRE)
		SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_PEER |
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	if (spec->nalpn > 0) {
		for (i = 0, n = 0; i < spec->nalpn; i++) {
			size_t l = strlen(spec->alpn[i]);

			if (l == 0 || l > 255) {
				spec_err(spec, errbuf, errlen, "alpn '%s': 1 to "
				    "255 bytes", spec->alpn[i]);
				goto fail;
			}
			n += 1 + l;
		}
		if ((ctx->alpn = malloc(n)) == NULL) {
			spec_err(spec, errbuf, errlen, "out of memory");
			goto fail;
		}
		for (i = 0, n = 0; i < spec->nalpn; i++) {
			size_t l = strlen(spec->alpn[i]);

			ctx->alpn[n++] = (unsigned char)l;
			memcpy(ctx->alpn + n, spec->alpn[i], l);
			n += l;
		}
		ctx->alpn_len = n;
		SSL_CTX_set_alpn_select_cb(ctx->ssl, alpn_select, ctx);
	}
	return ctx;
fail:
	tls_ctx_free(ctx);
	return NULL;
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl);
	free(ctx->alpn);
	free(ctx);
}

struct tls_conn *
tls_conn_new(struct tls_ctx *ctx, int fd, char *errbuf, size_t errlen)
{
	struct tls_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->ssl = SSL_new(ctx->ssl)) == NULL) {
		snprintf(errbuf, errlen, "tls: out of memory");
		free(c);
		return NULL;
	}
	c->fd = fd;
	c->app = -1;
	if (SSL_set_fd(c->ssl, fd) != 1) {
		ssl_reason(errbuf, errlen);
		tls_conn_free(c);
		return NULL;
	}
	SSL_set_accept_state(c->ssl);
	return c;
}

/* A NET_BUF buffer from the thread's spares, or NULL. */
static char *
spare_get(void)
{
	return nspare > 0 ? spare[--nspare] : malloc(NET_BUF);
}

/* Gives b (NET_BUF bytes, or NULL) back to the thread's spares. */
static void
spare_put(char *b)
{
	if (b == NULL)
		return;
	if (nspare < SPARE_MAX)
		spare[nspare++] = b;
	else
		free(b);
}

/*
 * The filter BIO that stands for BIO_f_buffer between OpenSSL and the TCP
 * socket: records are written into it and go out when tls_relay()
 * flushes it, up to four in one write().  BIO_f_buffer holds its 66 KiB
 * for the life of the connection, 660 MB for 10,000 idle ones; this one
 * takes a spare buffer when a record comes and gives it back once it is
 * sent.  Every control but flush and the pending counts goes to the
 * socket, as BIO_f_buffer's do (kernel TLS queries among them).
 */
static BIO_METHOD *netq_method;
static pthread_once_t netq_once = PTHREAD_ONCE_INIT;

/*
 * Writes what waits to the next BIO.  Returns 1 when nothing waits any
 * more (the buffer is given back), 0 when the socket would block (the
 * retry flags say so), -1 on an error.
 */
static int
netq_send(BIO *b)
{
	struct net_queue *q = BIO_get_data(b);
	BIO *next = BIO_next(b);
	int n;

	BIO_clear_retry_flags(b);
	while (q->len > 0) {
		n = BIO_write(next, q->buf + q->off, (int)q->len);
		if (n <= 0) {
			BIO_copy_next_retry(b);
			return BIO_should_retry(b) ? 0 : -1;
		}
		q->off += (size_t)n;
		q->len -= (size_t)n;
	}
	spare_put(q->buf);
	q->buf = NULL;
	q->off = 0;
	return 1;
}

static int
netq_write(BIO *b, const char *in, int inl)
{
	struct net_queue *q = BIO_get_data(b);
	size_t n;

	BIO_clear_retry_flags(b);
	if (inl <= 0)
		return 0;
	if (q->off + q->len + (size_t)inl > NET_BUF) {
		if (netq_send(b) == -1)
			return -1;
		if (q->len > 0 && q->off > 0) {
			memmove(q->buf, q->buf + q->off, q->len);
			q->off = 0;
		}
	}
	if ((n = NET_BUF - q->off - q->len) == 0) {
		BIO_set_retry_write(b);	/* netq_send() blocked */
		return -1;
	}
	if (q->buf == NULL && (q->buf = spare_get()) == NULL)
		return -1;
	BIO_clear_retry_flags(b);	/* room after all */
	if (n > (size_t)inl)
		n = (size_t)inl;
	memcpy(q->buf + q->off + q->len, in, n);
	q->len += n;
	return (int)n;
}

static long
netq_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct net_queue *q = BIO_get_data(b);
	BIO *next = BIO_next(b);
	int r;

	switch (cmd) {
	case BIO_CTRL_FLUSH:
		if ((r = netq_send(b)) != 1)
			return r;
		return BIO_ctrl(next, cmd, num, ptr);
	case BIO_CTRL_WPENDING:
		return (long)q->len + BIO_ctrl(next, cmd, num, ptr);
	default:
		return next != NULL ? BIO_ctrl(next, cmd, num, ptr) : 0;
	}
}

static long
netq_callback_ctrl(BIO *b, int cmd, BIO_info_cb *fp)
{
	BIO *next = BIO_next(b);

	return next != NULL ? BIO_callback_ctrl(next, cmd, fp) : 0;
}

static int
netq_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static int
netq_destroy(BIO *b)
{
	struct net_queue *q = BIO_get_data(b);

	if (q != NULL) {
		spare_put(q->buf);
		q->buf = NULL;
		q->off = q->len = 0;
	}
	return 1;
}

static void
netq_method_new(void)
{
	BIO_METHOD *m;

	if ((m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_FILTER,
	    "porter relay queue")) == NULL)
		return;
	if (BIO_meth_set_write(m, netq_write) != 1 ||
	    BIO_meth_set_ctrl(m, netq_ctrl) != 1 ||
	    BIO_meth_set_callback_ctrl(m, netq_callback_ctrl) != 1 ||
	    BIO_meth_set_create(m, netq_create) != 1 ||
	    BIO_meth_set_destroy(m, netq_destroy) != 1) {
		BIO_meth_free(m);
		return;
	}
	netq_method = m;
}

/* A queue BIO writing into c->net, or NULL. */
static BIO *
netq_new(struct tls_conn *c)
{
	BIO *b;

	if (pthread_once(&netq_once, netq_method_new) != 0 ||
	    netq_method == NULL || (b = BIO_new(netq_method)) == NULL)
		return NULL;
	BIO_set_data(b, &c->net);
	return b;
}

void
tls_conn_free(struct tls_conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	SSL_free(c->ssl);
	free(c->in.buf);
	free(c->out.buf);
	if (c->app != -1)
		close(c->app);
	for (i = 0; i < c->nenv; i++)
		free(c->env[i]);
	free(c);
}

int
tls_init(void)
{
	return OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL) == 1 ? 0 : -1;
}

void
tls_thread_end(void)
{
	while (nspare > 0)
		free(spare[--nspare]);
	OPENSSL_thread_stop();
}

/* Maps an SSL call's result; records the reason on errors. */
static enum tls_status
ssl_status(struct tls_conn *c, int r, const char *what)
{
	int e = SSL_get_error(c->ssl, r);
	char why[200];

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			snprintf(c->err, sizeof(c->err), "%s: %s", what,
			    errno ? strerror(errno) : "unexpected EOF");
			return TLS_ERROR;
		}
		/* FALLTHROUGH */
	default:
		ssl_reason(why, sizeof(why));
		snprintf(c->err, sizeof(c->err), "%s: %s", what, why);
		return TLS_ERROR;
	}
}

enum tls_status
tls_handshake(struct tls_conn *c)
{
	int r;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_do_handshake(c->ssl)) == 1)
		return TLS_DONE;
	return ssl_status(c, r, "handshake");
}

/* After the handshake: notes the client's close_notify (relay_in). */
static void
info_cb(const SSL *ssl, int where, int ret)
{
	struct tls_conn *c = SSL_get_app_data(ssl);

	if ((where & SSL_CB_READ_ALERT) && (ret & 0xff) == SSL_AD_CLOSE_NOTIFY)
		c->notified = true;
}

enum tls_status
tls_start(struct tls_conn *c, int *ret_fd)
{
	BIO *sock = SSL_get_wbio(c->ssl), *wbuf;
	int sp[2], one = 1;

	/*
	 * The kernel must carry both ways, and nothing may wait in OpenSSL.
	 * TLS 1.2 only: under TLS 1.3 the client may send a KeyUpdate at
	 * any time, which the kernel does not apply to a socket it carries
	 * (the handler's next read would fail with EIO); the relay, where
	 * OpenSSL reads, handles it.
	 */
	if (SSL_version(c->ssl) == TLS1_2_VERSION &&
	    BIO_get_ktls_send(sock) &&
	    BIO_get_ktls_recv(SSL_get_rbio(c->ssl)) &&
	    !SSL_has_pending(c->ssl)) {
		c->ktls = true;
		*ret_fd = c->fd;
		return TLS_DONE;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		snprintf(c->err, sizeof(c->err), "socketpair: %s",
		    strerror(errno));
		return TLS_ERROR;
	}
	if (fcntl(sp[0], F_SETFL, O_NONBLOCK) == -1) {
		snprintf(c->err, sizeof(c->err), "fcntl: %s", strerror(errno));
		goto fail;
	}
	/*
	 * Records go into a buffer that tls_relay() flushes once a round:
	 * up to four records per write() rather than one.
	 */
	if ((wbuf = netq_new(c)) == NULL || BIO_up_ref(sock) != 1) {
		BIO_free(wbuf);
		snprintf(c->err, sizeof(c->err), "out of memory");
		goto fail;
	}
	c->app = sp[0];
	*ret_fd = sp[1];
	SSL_set0_wbio(c->ssl, BIO_push(wbuf, sock));
	/*
	 * The relay writes records as they come (the session tickets, then
	 * the answer, each round's): with Nagle, one left unacknowledged
	 * would hold the next behind the client's delayed ACK (40 ms a
	 * connection).
	 */
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/*
	 * OpenSSL 3 makes a TCP EOF without close_notify a fatal error
	 * (SSL_R_UNEXPECTED_EOF_WHILE_READING) that also ends the way back,
	 * so a client that shuts down writing, or closes without
	 * close_notify as many do, would lose the handler's answer.  The
	 * relay takes it as the end of the client's stream, as a plain TCP
	 * handler would; the callback tells the two ends apart for the log.
	 */
	SSL_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/*
	 * Whole buffers per read(), not a header then a record: half the
	 * system calls.  Only now: read ahead in the handshake would take
	 * the client's first data into OpenSSL, ruling kernel TLS out.
	 * relay_in() calls SSL_read() again after every progress, so what
	 * waits in OpenSSL's buffer is never left behind a wait for POLLIN.
	 */
	SSL_set_read_ahead(c->ssl, 1);
	/*
	 * Up to four records per read(): the handshake's read buffer (of one
	 * record) makes way for one of NET_BUF, unless it holds data still.
	 * Only relays get it, not kernel TLS nor refused handshakes.
	 */
	SSL_set_default_read_buffer_len(c->ssl, NET_BUF);
	(void)SSL_free_buffers(c->ssl);
	SSL_set_app_data(c->ssl, c);
	SSL_set_info_callback(c->ssl, info_cb);
	return TLS_WANT_READ;
fail:
	close(sp[0]);
	close(sp[1]);
	return TLS_ERROR;
}

bool
tls_ktls(const struct tls_conn *c)
{
	return c->ktls;
}

int
tls_relay_fd(const struct tls_conn *c)
{
	return c->app;
}

/*
 * Notes in w what an SSL call that would block waits for: true, or false
 * when it failed (c->err says why).
 */
static bool
ssl_wait(struct tls_conn *c, int r, const char *what, struct tls_wait *w)
{
	switch (ssl_status(c, r, what)) {
	case TLS_WANT_READ:
		w->net |= POLLIN;
		return true;
	case TLS_WANT_WRITE:
		w->net |= POLLOUT;
		return true;
	default:
		return false;
	}
}

/* Gives d its buffer.  Returns 0, or -1 (c->err says why). */
static int
dir_buf(struct tls_conn *c, struct relay_dir *d)
{
	if (d->buf == NULL && (d->buf = spare_get()) == NULL) {
		snprintf(c->err, sizeof(c->err), "relay: out of memory");
		return -1;
	}
	return 0;
}

/* An idle relay holds no buffer of its own: the thread keeps it. */
static void
dir_idle(struct relay_dir *d)
{
	if (d->len > 0)
		return;
	spare_put(d->buf);
	d->buf = NULL;
}

/*
 * Client -> handler: SSL_read into in until it is full or OpenSSL has no
 * more, then one send() to app.  With read ahead and a read buffer of
 * NET_BUF, one read() from the TCP socket brings several records.
 */
static int
relay_in(struct tls_conn *c, struct tls_wait *w, bool *progress)
{
	struct relay_dir *d = &c->in;
	ssize_t n;
	int r, e;

	if (d->len == 0)
		d->off = 0;
	if (!d->eof && d->len == 0 && dir_buf(c, d) == -1)
		return -1;
	while (!d->eof && d->off == 0 && d->len < RELAY_BUF) {
		ERR_clear_error();
		errno = 0;
		r = SSL_read(c->ssl, d->buf + d->len,
		    (int)(RELAY_BUF - d->len));
		if (r > 0) {
			d->len += (size_t)r;
			*progress = true;
			continue;
		}
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_ZERO_RETURN ||
		    (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 &&
		    errno == 0)) {
			/* close_notify or bare EOF (tls_start()) */
			d->eof = true;
			c->truncated = !c->notified;
			*progress = true;
		} else if (e == SSL_ERROR_WANT_READ)
			w->net |= POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			w->net |= POLLOUT;
		else
			return ssl_status(c, r, "read") == TLS_ERROR ? -1 : 0;
		break;
	}
	if (d->len > 0) {
		n = send(c->app, d->buf + d->off, d->len, MSG_NOSIGNAL);
		if (n > 0) {
			d->off += (size_t)n;
			d->len -= (size_t)n;
			*progress = true;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK)
			w->app |= POLLOUT;
		else if (errno == EPIPE || errno == ECONNRESET) {
			d->len = 0;	/* handler gone: drop, end this way */
			d->eof = true;
			*progress = true;
		} else if (errno != EINTR) {
			snprintf(c->err, sizeof(c->err), "relay: %s",
			    strerror(errno));
			return -1;
		}
	}
	if (d->eof && d->len == 0 && !d->done) {
		shutdown(c->app, SHUT_WR);
		d->done = true;
		*progress = true;
	}
	return 0;
}

/*
 * Sends what waits in the write buffer (tls_start()).  Returns 0 when it
 * is empty, 1 when the socket would block (w says so), -1 on an error.
 */
static int
net_flush(struct tls_conn *c, struct tls_wait *w)
{
	BIO *b = SSL_get_wbio(c->ssl);

	if (BIO_wpending(b) <= 0)
		return 0;
	errno = 0;
	if (BIO_flush(b) == 1)
		return 0;
	if (BIO_should_retry(b)) {
		w->net |= POLLOUT;
		return 1;
	}
	snprintf(c->err, sizeof(c->err), "write: %s",
	    errno != 0 ? strerror(errno) : "flush failed");
	return -1;
}

/*
 * Handler -> client: one recv() from app into out, SSL_write of all of
 * it into the write buffer (records of up to 16 KiB), which tls_relay()
 * then flushes with one write().
 */
static int
relay_out(struct tls_conn *c, struct tls_wait *w, bool *progress)
{
	struct relay_dir *d = &c->out;
	ssize_t n;
	int r;

	if (!d->eof && d->len == 0) {
		if (dir_buf(c, d) == -1)
			return -1;
		n = recv(c->app, d->buf, RELAY_BUF, 0);
		if (n > 0) {
			d->off = 0;
			d->len = (size_t)n;
			*progress = true;
		} else if (n == 0 || errno == ECONNRESET) {
			d->eof = true;
			*progress = true;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK)
			w->app |= POLLIN;
		else if (errno != EINTR) {
			snprintf(c->err, sizeof(c->err), "relay: %s",
			    strerror(errno));
			return -1;
		}
	}
	while (d->len > 0) {
		ERR_clear_error();
		errno = 0;
		r = SSL_write(c->ssl, d->buf + d->off, (int)d->len);
		if (r > 0) {
			d->off += (size_t)r;
			d->len -= (size_t)r;
			*progress = true;
			continue;
		}
		return ssl_wait(c, r, "write", w) ? 0 : -1;
	}
	if (d->eof && !d->done) {
		if (!c->notify_sent) {
			ERR_clear_error();
			r = SSL_shutdown(c->ssl);	/* close_notify */
			/* On an error the client left: nothing to say. */
			if (r < 0 && ssl_wait(c, r, "shutdown", w))
				return 0;
			c->notify_sent = true;
		}
		/* All of it on its way before the FIN (-1: the client left). */
		if (net_flush(c, w) == 1)
			return 0;
		shutdown(c->fd, SHUT_WR);
		d->done = true;
		*progress = true;
	}
	return 0;
}

enum tls_status
tls_relay(struct tls_conn *c, struct tls_wait *w)
{
	bool progress;

	if (c->app == -1) {
		snprintf(c->err, sizeof(c->err), "relay not started");
		return TLS_ERROR;
	}
	do {
		w->net = w->app = 0;
		progress = false;
		if (relay_in(c, w, &progress) == -1 ||
		    relay_out(c, w, &progress) == -1 ||
		    (!c->out.done && net_flush(c, w) == -1))
			return TLS_ERROR;
		if (c->in.done && c->out.done)
			return TLS_DONE;
	} while (progress);
	dir_idle(&c->in);
	dir_idle(&c->out);
	/*
	 * Nothing waits in the relay's buffers: OpenSSL's go too (83 KiB),
	 * unless a record waits in them (SSL_free_buffers() refuses then).
	 * The next step's SSL_read() or SSL_write() allocates them again.
	 * SSL_MODE_RELEASE_BUFFERS would free them after every record.
	 */
	if (c->in.buf == NULL && c->out.buf == NULL && c->net.buf == NULL)
		(void)SSL_free_buffers(c->ssl);
	return TLS_WANT_READ;
}

bool
tls_relay_app_done(const struct tls_conn *c)
{
	return c->out.done;
}

bool
tls_relay_truncated(const struct tls_conn *c)
{
	return c->truncated;
}

const char *
tls_conn_error(const struct tls_conn *c)
{
	return c->err;
}

static void
env_put(struct tls_conn *c, const char *name, const char *val, size_t len)
{
	size_t nl = strlen(name), i;
	char *s;

	if (c->nenv == ENV_MAX || (s = malloc(nl + 1 + len + 1)) == NULL)
		return;
	memcpy(s, name, nl);
	s[nl] = '=';
	/* Nothing a client sends may put control bytes in an environment. */
	for (i = 0; i < len; i++)
		s[nl + 1 + i] = (val[i] < 0x20 || val[i] == 0x7f) ? '?' :
		    val[i];
	s[nl + 1 + len] = '\0';
	c->env[c->nenv++] = s;
}

const char *const *
tls_conn_env(struct tls_conn *c, size_t *ret_n)
{
	const unsigned char *alpn;
	unsigned int alen;
	const char *s;
	X509 *peer;

	if (c->nenv == 0) {
		s = SSL_get_version(c->ssl);
		env_put(c, "TLS_VERSION", s, strlen(s));
		s = SSL_get_cipher_name(c->ssl);
		env_put(c, "TLS_CIPHER", s, strlen(s));
		if ((s = SSL_get_servername(c->ssl,
		    TLSEXT_NAMETYPE_host_name)) != NULL)
			env_put(c, "TLS_SNI", s, strlen(s));
		SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
		if (alen > 0)
			env_put(c, "TLS_ALPN", (const char *)alpn, alen);
		if ((peer = SSL_get1_peer_certificate(c->ssl)) != NULL) {
			BIO *b = BIO_new(BIO_s_mem());
			char *p;
			long l;
			long v = SSL_get_verify_result(c->ssl);

			if (b != NULL && X509_NAME_print_ex(b,
			    X509_get_subject_name(peer), 0,
			    XN_FLAG_RFC2253) >= 0 &&
			    (l = BIO_get_mem_data(b, &p)) >= 0)
				env_put(c, "SSL_CLIENT_S_DN", p, (size_t)l);
			BIO_free(b);
			X509_free(peer);
			if (v == X509_V_OK)
				env_put(c, "SSL_CLIENT_VERIFY", "SUCCESS", 7);
			else {
				char f[160];

				snprintf(f, sizeof(f), "FAILED:%s",
				    X509_verify_cert_error_string(v));
				env_put(c, "SSL_CLIENT_VERIFY", f, strlen(f));
			}
		} else
			env_put(c, "SSL_CLIENT_VERIFY", "NONE", 4);
	}
	*ret_n = c->nenv;
	return (const char *const *)c->env;
}
