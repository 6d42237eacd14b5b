/*
 * tls.h -- TLS termination with OpenSSL 3, as steps an event loop drives.
 *
 * At load, tls_ctx_new() builds the server context from a tls_spec (the
 * future `tls { ... }` section of a service); errors name file:line.  The
 * key file must not be readable or writable by others.
 *
 * Per connection (fd: the accepted, non-blocking TCP socket, borrowed):
 *
 *     c = tls_conn_new(ctx, fd, err, len);
 *     loop: r = tls_handshake(c);
 *           TLS_WANT_READ / TLS_WANT_WRITE: wait for that readiness on fd;
 *           the deadline (handshake timeout) is the caller's;
 *           TLS_DONE: go on; TLS_ERROR: log tls_conn_error(c), close.
 *     r = tls_start(c, &handler_fd);
 *           TLS_DONE and handler_fd == fd: kernel TLS carries both
 *           directions; give the handler fd itself and tls_conn_free(c)
 *           once the handler no longer needs the session facts.
 *           TLS_WANT_READ (relay): handler_fd is one end of a socketpair,
 *           owned by the caller (give it to the handler); porterd keeps the
 *           other end inside c and must call tls_relay(c, &w) on readiness
 *           of fd or tls_relay_fd(c), waiting for what w says, until it
 *           returns TLS_DONE (both directions closed) or TLS_ERROR; then
 *           tls_conn_free(c) and close fd.
 *
 * tls_relay() never blocks and buffers at most 64 KiB of plaintext per
 * direction and 64 KiB of records for the TCP socket, each taken only
 * while data waits in it: it stops reading a side whose data the other
 * side has not taken yet.  A relay that waits with nothing in flight
 * holds no buffer, OpenSSL's included (about 15 KB a connection).  It
 * moves up to four records per system call each way, and per wake-up of
 * the handler.  An end of stream from the client (close_notify, or a TCP
 * EOF without it, which OpenSSL 3 would otherwise make a fatal error)
 * becomes shutdown(SHUT_WR) of the handler's socket, after all the data
 * before it, and the way back stays open; the handler closing its side
 * (or shutting down writing) sends close_notify and shuts the TCP
 * connection down for writing.
 *
 * tls_conn_env() gives the session facts as "NAME=value" strings:
 * TLS_VERSION, TLS_CIPHER, TLS_SNI, TLS_ALPN, and with client certificates
 * SSL_CLIENT_S_DN (RFC 2253) and SSL_CLIENT_VERIFY (SUCCESS, NONE or
 * FAILED:reason, mod_ssl's names).
 */
#ifndef PORTERD_TLS_H
#define PORTERD_TLS_H

#include <stdbool.h>
#include <stddef.h>

enum tls_verify {
	TLS_VERIFY_NONE,	/* no client certificate asked for */
	TLS_VERIFY_OPTIONAL,	/* asked for; if sent, it must verify */
	TLS_VERIFY_REQUIRE	/* required and verified */
};

/* What a service's `tls { ... }` section says. */
struct tls_spec {
	const char *file;	/* where the section is, for messages */
	int line;
	const char *certificate;	/* PEM chain, leaf first; required */
	const char *key;		/* PEM private key; required */
	const char *ca;			/* PEM CAs for client certs; NULL */
	enum tls_verify verify;		/* needs ca unless NONE */
	const char *min_version;	/* "TLSv1.2" (default) or "TLSv1.3" */
	const char *ciphers;		/* TLS 1.2 cipher list; NULL: default */
	const char *const *alpn;	/* protocols, preference order; NULL */
	size_t nalpn;
};

enum tls_status {
	TLS_WANT_READ,
	TLS_WANT_WRITE,
	TLS_DONE,
	TLS_ERROR
};

/* What tls_relay() waits for: poll events on the TCP fd and the pair. */
struct tls_wait {
	short net;		/* POLLIN / POLLOUT on the TCP socket */
	short app;		/* POLLIN / POLLOUT on tls_relay_fd() */
};

struct tls_ctx;
struct tls_conn;

/*
 * Once, before any thread starts: OpenSSL without its atexit cleanup.
 * porterd may exit with threads still inside OpenSSL (a relay or a
 * handshake on an event loop, a thread's own cleanup on its way out);
 * freeing OpenSSL's global state under them crashed porterd at exit.
 * Returns 0, or -1 if OpenSSL could not be initialised.
 */
int tls_init(void);
/* A thread that used OpenSSL is ending: frees its thread-local state. */
void tls_thread_end(void);

/*
 * Builds a server context.  Returns it (free with tls_ctx_free(); it is
 * reference-counted by OpenSSL, so connections may outlive a reload's
 * swap), or NULL with "file:line: tls key '/x': readable by others (mode
 * 0644); chmod o-rwx" and the like in errbuf.
 */
struct tls_ctx *tls_ctx_new(const struct tls_spec *spec, char *errbuf,
    size_t errlen);
void tls_ctx_free(struct tls_ctx *ctx);	/* accepts NULL */

/* A new connection over fd (non-blocking, borrowed), or NULL + message. */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, int fd, char *errbuf,
    size_t errlen);
/* Frees the session and closes the relay's own socketpair end. */
void tls_conn_free(struct tls_conn *c);	/* accepts NULL */

/* One handshake step; see the top of the file. */
enum tls_status tls_handshake(struct tls_conn *c);

/*
 * After the handshake: kernel TLS if both directions are offloaded
 * and the version is TLS 1.2 (TLS 1.3's KeyUpdate needs OpenSSL) (returns TLS_DONE, *ret_fd = the TCP fd), else a relay (returns
 * TLS_WANT_READ, *ret_fd = the handler's new socketpair end, which the
 * caller owns and closes).  TLS_ERROR on failure.
 */
enum tls_status tls_start(struct tls_conn *c, int *ret_fd);

/* True if tls_start() chose kernel TLS. */
bool tls_ktls(const struct tls_conn *c);

/* The relay's own socketpair end, to wait on; -1 without a relay. */
int tls_relay_fd(const struct tls_conn *c);

/*
 * Moves what it can both ways.  Returns TLS_DONE when both directions are
 * finished, TLS_ERROR on a failure, else TLS_WANT_READ with *w filled.
 */
enum tls_status tls_relay(struct tls_conn *c, struct tls_wait *w);

/*
 * True once the handler's direction is finished: it closed (or shut down
 * writing) its end and close_notify went out.  From then on only the
 * client's side keeps the relay going; a caller may bound that wait.
 */
bool tls_relay_app_done(const struct tls_conn *c);

/*
 * True once the client ended its stream with a TCP EOF but no
 * close_notify (an abbreviated close or a truncation: the handler cannot
 * tell, as with plain TCP).  For the log.
 */
bool tls_relay_truncated(const struct tls_conn *c);

/* The last error, "" if none.  Valid until the next call or free. */
const char *tls_conn_error(const struct tls_conn *c);

/*
 * The session facts after the handshake, *ret_n strings "NAME=value".
 * Borrowed from c, valid until tls_conn_free().
 */
const char *const *tls_conn_env(struct tls_conn *c, size_t *ret_n);

#endif
