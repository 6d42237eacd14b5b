/*
 * check_tls.c -- TLS termination (daemon/tls.c) against a real OpenSSL
 * client over non-blocking socketpairs, in one process: the test steps
 * the server (tls_handshake, tls_relay) and the client in turn.  The
 * certificates are made by the openssl command in a temporary directory
 * before the suite runs: a CA, a server certificate, a client certificate
 * the CA signed and a self-signed "rogue" client certificate.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "check_common.h"
#include "tls.h"

static char dir[64];

static const char *
path(const char *name)
{
	static char buf[8][128];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static struct tls_spec
spec_base(void)
{
	struct tls_spec s;

	memset(&s, 0, sizeof(s));
	s.file = "porterd.conf";
	s.line = 7;
	s.certificate = path("srv.crt");
	s.key = path("srv.key");
	return s;
}

/* A connected pair, both ends non-blocking: [0] server, [1] client. */
static void
pair(int sp[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	ck_assert_int_eq(fcntl(sp[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(sp[1], F_SETFL, O_NONBLOCK), 0);
}

static SSL *
client(int fd, const char *cert, const char *key)
{
	static const unsigned char alpn[] = "\x02h2\x08http/1.1";
	SSL_CTX *cc = SSL_CTX_new(TLS_client_method());
	SSL *c;

	ck_assert_ptr_nonnull(cc);
	if (cert != NULL) {
		ck_assert_int_eq(SSL_CTX_use_certificate_file(cc, cert,
		    SSL_FILETYPE_PEM), 1);
		ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(cc, key,
		    SSL_FILETYPE_PEM), 1);
	}
	c = SSL_new(cc);
	SSL_CTX_free(cc);	/* the SSL keeps a reference */
	SSL_set_fd(c, fd);
	SSL_set_tlsext_host_name(c, "example.test");
	SSL_set_alpn_protos(c, alpn, sizeof(alpn) - 1);
	SSL_set_connect_state(c);
	return c;
}

/* Steps both sides until both are done or one fails; returns server's. */
static enum tls_status
handshake(struct tls_conn *s, SSL *c)
{
	enum tls_status r = TLS_WANT_READ;
	int i, cr = 0;

	for (i = 0; i < 200; i++) {
		if (r != TLS_DONE)
			r = tls_handshake(s);
		if (r == TLS_ERROR)
			return r;
		if (cr != 1)
			cr = SSL_do_handshake(c);
		if (r == TLS_DONE && cr == 1)
			return r;
	}
	return r;
}

static const char *
env_get(struct tls_conn *s, const char *name)
{
	const char *const *env;
	size_t n, i, l = strlen(name);

	env = tls_conn_env(s, &n);
	for (i = 0; i < n; i++)
		if (strncmp(env[i], name, l) == 0 && env[i][l] == '=')
			return env[i] + l + 1;
	return NULL;
}

/* Runs the relay once; fails the test on an error. */
static enum tls_status
relay(struct tls_conn *s)
{
	struct tls_wait w;
	enum tls_status r = tls_relay(s, &w);

	if (r == TLS_ERROR)
		ck_abort_msg("relay: %s", tls_conn_error(s));
	return r;
}

START_TEST(handshake_and_relay)
{
	static const char *const alpn[] = { "http/1.1" };
	struct tls_spec spec = spec_base();
	char err[512], buf[64];
	struct tls_ctx *ctx;
	struct tls_conn *s;
	int sp[2], h, i, n;
	SSL *c;

	spec.alpn = alpn;
	spec.nalpn = 1;
	ctx = tls_ctx_new(&spec, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "%s", err);
	pair(sp);
	s = tls_conn_new(ctx, sp[0], err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	c = client(sp[1], NULL, NULL);
	ck_assert_int_eq(handshake(s, c), TLS_DONE);
	ck_assert_str_eq(env_get(s, "TLS_VERSION"), "TLSv1.3");
	ck_assert_str_eq(env_get(s, "TLS_SNI"), "example.test");
	ck_assert_str_eq(env_get(s, "TLS_ALPN"), "http/1.1");
	ck_assert_ptr_nonnull(env_get(s, "TLS_CIPHER"));
	ck_assert_str_eq(env_get(s, "SSL_CLIENT_VERIFY"), "NONE");
	ck_assert_ptr_null(env_get(s, "SSL_CLIENT_S_DN"));

	ck_assert_int_eq(tls_start(s, &h), TLS_WANT_READ);
	ck_assert(!tls_ktls(s));
	ck_assert_int_ne(h, sp[0]);
	/* client -> handler */
	ck_assert_int_eq(SSL_write(c, "hello", 5), 5);
	relay(s);
	ck_assert_int_eq(read(h, buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	/* handler -> client */
	ck_assert_int_eq(write(h, "world", 5), 5);
	relay(s);
	for (i = 0, n = -1; i < 50 && n <= 0; i++)
		n = SSL_read(c, buf, sizeof(buf));
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(memcmp(buf, "world", 5), 0);
	/* the handler ends: the client gets close_notify */
	close(h);
	ck_assert_int_eq(relay(s), TLS_WANT_READ);
	n = SSL_read(c, buf, sizeof(buf));
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(SSL_get_error(c, n), SSL_ERROR_ZERO_RETURN);
	/* the client ends too: both directions done */
	SSL_shutdown(c);
	ck_assert_int_eq(relay(s), TLS_DONE);
	SSL_free(c);
	tls_conn_free(s);
	tls_ctx_free(ctx);
	close(sp[0]);
	close(sp[1]);
}
END_TEST

/*
 * A started relay over the pair sp: its session *s, the client *c with
 * partial writes, the handler's end *h (non-blocking).  Returns the
 * context; the caller frees all of it.
 */
static struct tls_ctx *
relay_setup(int sp[2], struct tls_conn **s, SSL **c, int *h)
{
	struct tls_spec spec = spec_base();
	struct tls_ctx *ctx;
	char err[512];

	ctx = tls_ctx_new(&spec, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "%s", err);
	pair(sp);
	*s = tls_conn_new(ctx, sp[0], err, sizeof(err));
	ck_assert_msg(*s != NULL, "%s", err);
	*c = client(sp[1], NULL, NULL);
	ck_assert_int_eq(handshake(*s, *c), TLS_DONE);
	ck_assert_int_eq(tls_start(*s, h), TLS_WANT_READ);
	ck_assert_int_eq(fcntl(*h, F_SETFL, O_NONBLOCK), 0);
	SSL_set_mode(*c, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

/* Frees what relay_setup() made. */
static void
relay_teardown(struct tls_ctx *ctx, int sp[2], struct tls_conn *s, SSL *c,
    int h)
{
	SSL_free(c);
	tls_conn_free(s);
	tls_ctx_free(ctx);
	close(h);
	close(sp[0]);
	close(sp[1]);
}

/*
 * 4 MiB each way at once through the relay, checked byte for byte; the
 * relay never holds more than its two 64 KiB buffers, so it must stop
 * reading a side while the other is full (the handler reads slowly).
 */
START_TEST(bulk_backpressure)
{
	enum { TOTAL = 4 << 20 };
	static unsigned char up[TOTAL], down[TOTAL], got_up[TOTAL],
	    got_down[TOTAL];
	size_t wc = 0, rc = 0, wh = 0, rh = 0;
	struct tls_ctx *ctx;
	struct tls_conn *s;
	int sp[2], h, i, n, rounds = 0;
	SSL *c;

	for (i = 0; i < TOTAL; i++) {
		up[i] = (unsigned char)(i * 7 + 1);
		down[i] = (unsigned char)(i * 13 + 5);
	}
	ctx = relay_setup(sp, &s, &c, &h);
	while (rc < TOTAL || rh < TOTAL) {
		ck_assert_int_lt(++rounds, 2000000);
		if (wc < TOTAL && (n = SSL_write(c, up + wc,
		    (int)(TOTAL - wc > 65536 ? 65536 : TOTAL - wc))) > 0)
			wc += (size_t)n;
		if (wh < TOTAL && (n = (int)write(h, down + wh,
		    TOTAL - wh > 65536 ? 65536 : TOTAL - wh)) > 0)
			wh += (size_t)n;
		relay(s);
		/* The handler reads in small bites: back-pressure. */
		if (rh < TOTAL && (n = (int)read(h, got_up + rh, 1000)) > 0)
			rh += (size_t)n;
		if (rc < TOTAL && (n = SSL_read(c, got_down + rc,
		    (int)(TOTAL - rc))) > 0)
			rc += (size_t)n;
	}
	ck_assert_int_eq(memcmp(up, got_up, TOTAL), 0);
	ck_assert_int_eq(memcmp(down, got_down, TOTAL), 0);
	relay_teardown(ctx, sp, s, c, h);
}
END_TEST

/*
 * An echo through the relay with half-closes: the client sends 4 MiB and
 * close_notify, the handler echoes in small bites, then shuts down
 * writing once it read the end.  The client must get every byte, in
 * order, then close_notify (not a bare EOF): what the relay buffered for
 * the TCP socket goes out before its FIN, even when the socket takes only
 * a few KiB at a time.
 */
START_TEST(bulk_half_close)
{
	enum { TOTAL = 4 << 20 };
	static unsigned char up[TOTAL], got[TOTAL];
	unsigned char hbuf[3000];
	size_t wc = 0, rc = 0, hoff = 0, hlen = 0;
	bool sent_notify = false, heof = false, hshut = false;
	enum tls_status st = TLS_WANT_READ;
	int sp[2], h, i, n, rounds = 0, paused = 0, small = 8192;
	struct tls_ctx *ctx;
	struct tls_conn *s;
	SSL *c;

	for (i = 0; i < TOTAL; i++)
		up[i] = (unsigned char)(i * 11 + 3);
	ctx = relay_setup(sp, &s, &c, &h);
	/* The "TCP" socket takes little at a time: flushes come in parts. */
	ck_assert_int_eq(setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &small,
	    sizeof(small)), 0);
	for (;;) {
		ck_assert_int_lt(++rounds, 2000000);
		if (wc < TOTAL && (n = SSL_write(c, up + wc,
		    (int)(TOTAL - wc > 65536 ? 65536 : TOTAL - wc))) > 0)
			wc += (size_t)n;
		if (wc == TOTAL && !sent_notify)
			sent_notify = SSL_shutdown(c) >= 0;
		if (st != TLS_DONE)
			st = relay(s);
		/* The handler: echo in small bites, then its end. */
		if (hlen == 0 && !heof) {
			n = (int)read(h, hbuf, sizeof(hbuf));
			if (n > 0) {
				hoff = 0;
				hlen = (size_t)n;
			} else if (n == 0)
				heof = true;
		}
		if (hlen > 0 && (n = (int)write(h, hbuf + hoff, hlen)) > 0) {
			hoff += (size_t)n;
			hlen -= (size_t)n;
		}
		if (heof && hlen == 0 && !hshut) {
			ck_assert_int_eq(shutdown(h, SHUT_WR), 0);
			hshut = true;
		}
		/*
		 * The last 64 KiB wait until the handler has ended, so that
		 * the relay has records buffered when it sees that end.
		 */
		if (rc >= TOTAL - 65536 && (!hshut || paused++ < 5))
			continue;
		n = SSL_read(c, got + rc, (int)(TOTAL - rc > 65536 ? 65536 :
		    TOTAL - rc + 1));
		if (n > 0) {
			ck_assert_uint_le(rc + (size_t)n, TOTAL);
			rc += (size_t)n;
		} else if (SSL_get_error(c, n) == SSL_ERROR_ZERO_RETURN)
			break;
		else
			ck_assert_int_eq(SSL_get_error(c, n),
			    SSL_ERROR_WANT_READ);
	}
	ck_assert_uint_eq(rc, TOTAL);
	ck_assert_int_eq(memcmp(up, got, TOTAL), 0);
	ck_assert(heof && hshut);
	for (i = 0; i < 100 && st != TLS_DONE; i++)
		st = relay(s);
	ck_assert_int_eq(st, TLS_DONE);
	ck_assert(!tls_relay_truncated(s));
	relay_teardown(ctx, sp, s, c, h);
}
END_TEST

/* Bytes in use from malloc(), or 0 where it does not count them (ASan). */
static size_t
heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* One exchange each way through a started relay, which then waits. */
static void
ping_pong(struct tls_conn *s, SSL *c, int h)
{
	char buf[64];
	int i, n;

	ck_assert_int_eq(SSL_write(c, "hello", 5), 5);
	ck_assert_int_eq(relay(s), TLS_WANT_READ);
	ck_assert_int_eq(read(h, buf, sizeof(buf)), 5);
	ck_assert_int_eq(write(h, "world", 5), 5);
	ck_assert_int_eq(relay(s), TLS_WANT_READ);
	for (i = 0, n = -1; i < 50 && n <= 0; i++)
		n = SSL_read(c, buf, sizeof(buf));
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(memcmp(buf, "world", 5), 0);
	ck_assert_int_eq(relay(s), TLS_WANT_READ);
}

/*
 * A relay waiting with nothing in flight holds no buffer: neither its
 * own (64 KiB a direction, 66 KiB of records) nor OpenSSL's (66 KiB read,
 * 17 KiB write).  10,000 idle TLS connections must not cost 1.5 GB.
 * Measured as what tls_conn_free() gives back to malloc(); the relay
 * works again after it let its buffers go.
 */
START_TEST(idle_relay_holds_no_buffers)
{
	size_t used, again, held;
	struct tls_ctx *ctx;
	struct tls_conn *s;
	int sp[2], h;
	void *probe;
	SSL *c;

	used = heap_used();
	probe = malloc(100000);
	ck_assert_ptr_nonnull(probe);
	again = heap_used();
	free(probe);
	if (again < used + 100000)
		return;		/* an allocator that hides its counts */
	ctx = relay_setup(sp, &s, &c, &h);
	ping_pong(s, c, h);
	used = heap_used();
	ping_pong(s, c, h);
	again = heap_used();
	ck_assert_msg(again <= used, "%zu bytes more after a second "
	    "exchange", again - used);
	tls_conn_free(s);
	held = again - heap_used();
	ck_assert_msg(held < 24 * 1024, "an idle relay holds %zu bytes", held);
	s = NULL;
	relay_teardown(ctx, sp, s, c, h);
}
END_TEST

/* verify-client: a CA-signed certificate is accepted and described. */
START_TEST(client_cert_accepted)
{
	struct tls_spec spec = spec_base();
	struct tls_ctx *ctx;
	struct tls_conn *s;
	char err[512];
	int sp[2];
	SSL *c;

	spec.ca = path("ca.crt");
	spec.verify = TLS_VERIFY_REQUIRE;
	ctx = tls_ctx_new(&spec, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "%s", err);
	pair(sp);
	s = tls_conn_new(ctx, sp[0], err, sizeof(err));
	c = client(sp[1], path("cli.crt"), path("cli.key"));
	ck_assert_int_eq(handshake(s, c), TLS_DONE);
	ck_assert_str_eq(env_get(s, "SSL_CLIENT_VERIFY"), "SUCCESS");
	ck_assert_str_eq(env_get(s, "SSL_CLIENT_S_DN"), "CN=client,O=Porter");
	SSL_free(c);
	tls_conn_free(s);
	tls_ctx_free(ctx);
	close(sp[0]);
	close(sp[1]);
}
END_TEST

/* verify-client = require: no certificate, or a rogue one, is refused. */
START_TEST(client_cert_refused)
{
	struct tls_spec spec = spec_base();
	const char *certs[2] = { NULL, "rogue.crt" };
	struct tls_ctx *ctx;
	struct tls_conn *s;
	char err[512];
	int sp[2], i;
	SSL *c;

	spec.ca = path("ca.crt");
	spec.verify = TLS_VERIFY_REQUIRE;
	ctx = tls_ctx_new(&spec, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "%s", err);
	for (i = 0; i < 2; i++) {
		pair(sp);
		s = tls_conn_new(ctx, sp[0], err, sizeof(err));
		c = certs[i] ? client(sp[1], path(certs[i]),
		    path("rogue.key")) : client(sp[1], NULL, NULL);
		ck_assert_int_eq(handshake(s, c), TLS_ERROR);
		ck_assert_msg(strstr(tls_conn_error(s), i == 0 ?
		    "peer did not return a certificate" :
		    "certificate verify failed") != NULL, "row %d: %s", i,
		    tls_conn_error(s));
		SSL_free(c);
		tls_conn_free(s);
		close(sp[0]);
		close(sp[1]);
	}
	tls_ctx_free(ctx);
}
END_TEST

/* A client that stops after its ClientHello: the step only waits. */
START_TEST(client_stalls)
{
	struct tls_spec spec = spec_base();
	struct tls_ctx *ctx;
	struct tls_conn *s;
	struct pollfd pfd;
	char err[512];
	int sp[2], i;
	SSL *c;

	ctx = tls_ctx_new(&spec, err, sizeof(err));
	pair(sp);
	s = tls_conn_new(ctx, sp[0], err, sizeof(err));
	/* nothing sent yet */
	ck_assert_int_eq(tls_handshake(s), TLS_WANT_READ);
	c = client(sp[1], NULL, NULL);
	ck_assert_int_eq(SSL_do_handshake(c), -1);	/* ClientHello out */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(tls_handshake(s), TLS_WANT_READ);
	/* and it did not spin on a readable socket */
	pfd.fd = sp[0];
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	/* the client leaves: an error, not a wait */
	SSL_free(c);
	close(sp[1]);
	ck_assert_int_eq(tls_handshake(s), TLS_ERROR);
	tls_conn_free(s);
	tls_ctx_free(ctx);
	close(sp[0]);
}
END_TEST

/* Load-time refusals, each with file:line and the reason. */
START_TEST(load_refusals)
{
	struct tls_spec spec;
	char err[512];
	static const char *const empty_alpn[] = { "" };

	ck_assert_int_eq(chmod(path("loose.key"), 0644), 0);
	spec = spec_base();
	spec.key = path("loose.key");
	ck_assert_ptr_null(tls_ctx_new(&spec, err, sizeof(err)));
	ck_assert_msg(strstr(err, "porterd.conf:7: tls key '") == err &&
	    strstr(err, "readable or writable by others (mode 0644)"), "%s",
	    err);

	spec = spec_base();
	spec.certificate = path("missing.crt");
	ck_assert_ptr_null(tls_ctx_new(&spec, err, sizeof(err)));
	ck_assert_msg(strstr(err, "porterd.conf:7: tls certificate '") ==
	    err, "%s", err);

	spec = spec_base();
	spec.key = path("other.key");
	ck_assert_ptr_null(tls_ctx_new(&spec, err, sizeof(err)));
	ck_assert_msg(strstr(err, "does not match certificate") != NULL,
	    "%s", err);

	spec = spec_base();
	spec.key = path("srv.crt");	/* a certificate is not a key */
	ck_assert_int_eq(chmod(path("srv.crt"), 0600), 0);
	ck_assert_ptr_null(tls_ctx_new(&spec, err, sizeof(err)));
	ck_assert_msg(strstr(err, "not a PEM private key") != NULL, "%s",
	    err);
	ck_assert_int_eq(chmod(path("srv.crt"), 0644), 0);

	spec = spec_base();
	spec.min_version = "TLSv1.1";
	ck_assert_ptr_null(tls_ctx_new(&spec, err, sizeof(err)));
	ck_assert_str_eq(err, "porterd.conf:7: tls min-version 'TLSv1.1': "
	    "TLSv1.2 or TLSv1.3");

	spec = spec_base();
	spec.verify = TLS_VERIFY_OPTIONAL;
	ck_assert_ptr_null(tls_ctx_new(&spec, err, sizeof(err)));
	ck_assert_str_eq(err, "porterd.conf:7: tls verify-client needs ca");

	spec = spec_base();
	spec.ciphers = "NO-SUCH-CIPHER";
	ck_assert_ptr_null(tls_ctx_new(&spec, err, sizeof(err)));
	ck_assert_str_eq(err, "porterd.conf:7: tls ciphers 'NO-SUCH-CIPHER': "
	    "no cipher matches");

	spec = spec_base();
	spec.alpn = empty_alpn;
	spec.nalpn = 1;
	ck_assert_ptr_null(tls_ctx_new(&spec, err, sizeof(err)));
	ck_assert_str_eq(err, "porterd.conf:7: tls alpn '': 1 to 255 bytes");
}
END_TEST

/* No ALPN in common: the handshake fails (RFC 7301). */
START_TEST(alpn_mismatch)
{
	static const char *const alpn[] = { "smtp" };
	struct tls_spec spec = spec_base();
	struct tls_ctx *ctx;
	struct tls_conn *s;
	char err[512];
	int sp[2];
	SSL *c;

	spec.alpn = alpn;
	spec.nalpn = 1;
	ctx = tls_ctx_new(&spec, err, sizeof(err));
	pair(sp);
	s = tls_conn_new(ctx, sp[0], err, sizeof(err));
	c = client(sp[1], NULL, NULL);
	ck_assert_int_eq(handshake(s, c), TLS_ERROR);
	SSL_free(c);
	tls_conn_free(s);
	tls_ctx_free(ctx);
	close(sp[0]);
	close(sp[1]);
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc;

	tc = tcase_create("session");
	tcase_add_test(tc, handshake_and_relay);
	tcase_add_test(tc, bulk_backpressure);
	tcase_add_test(tc, bulk_half_close);
	tcase_add_test(tc, idle_relay_holds_no_buffers);
	tcase_add_test(tc, client_cert_accepted);
	tcase_add_test(tc, client_cert_refused);
	tcase_add_test(tc, client_stalls);
	tcase_add_test(tc, alpn_mismatch);
	suite_add_tcase(s, tc);
	tc = tcase_create("load");
	tcase_add_test(tc, load_refusals);
	suite_add_tcase(s, tc);
	return s;
}

static int
sh(const char *cmd)
{
	char full[2048];

	snprintf(full, sizeof(full), "cd %s && { %s ; } >/dev/null 2>&1", dir,
	    cmd);
	return system(full);
}

int
main(void)
{
	static const char *const cmds[] = {
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		"-nodes -keyout ca.key -out ca.crt -subj '/CN=Porter Test CA' "
		"-days 2",
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		"-nodes -keyout srv.key -out srv.crt -subj /CN=localhost -days 2",
		"openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		"-nodes -keyout cli.key -out cli.csr -subj /O=Porter/CN=client",
		"openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key "
		"-set_serial 1 -out cli.crt -days 2",
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		"-nodes -keyout rogue.key -out rogue.crt -subj /CN=client "
		"-days 2",
		"openssl genpkey -algorithm EC -pkeyopt "
		"ec_paramgen_curve:P-256 -out other.key",
		"cp other.key loose.key && chmod 600 *.key",
	};
	SRunner *sr;
	size_t i;
	int failed;

	snprintf(dir, sizeof(dir), "/tmp/check_tls.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (sh(cmds[i]) != 0) {
			fprintf(stderr, "check_tls: failed: %s\n", cmds[i]);
			return 99;
		}
	sr = srunner_create(tls_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	sh("rm -f ca.* srv.* cli.* rogue.* other.key loose.key ca.srl");
	rmdir(dir);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
