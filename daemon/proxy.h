/*
 * proxy.h -- an incremental receiver for the PROXY protocol, versions 1
 * and 2 (HAProxy's doc/proxy-protocol.txt), for connections that arrive
 * through a load balancer.
 *
 * The receiver reads the header, and only the header, from a non-blocking
 * stream socket, in as many steps as the bytes take to arrive; it never
 * blocks and never consumes a byte of the payload that follows, so the
 * handler then gets the descriptor positioned at the client's first byte.
 *   - v1: the line is peeked, and only the bytes up to and including its
 *     CRLF are read (at most 107 bytes; a longer line is refused);
 *   - v2: the 16-byte fixed part is read, then exactly the length it
 *     announces (at most PROXY_V2_MAX_LEN; a larger one is refused);
 *   - any: the first byte tells the versions apart ('P' or '\r').
 * Bytes read before the version is known never exceed 15, the length of
 * the shortest valid header ("PROXY UNKNOWN\r\n"), so even a short v1 line
 * is read exactly.
 *
 * Use from an event loop (any loop, any thread; the state has no global
 * parts):
 *
 *     st = proxy_new(PROXY_ANY);
 *     on readable (and once at once, data may already be there):
 *         switch (proxy_feed(st, fd)) {
 *         case PROXY_NEED_MORE:  keep waiting for EPOLLIN, deadline runs
 *         case PROXY_DONE:       use proxy_source()/proxy_dest()/proxy_env()
 *         case PROXY_ERROR:      log proxy_reason(st), close, count refusal
 *         }
 *     on deadline (proxy-timeout): close, count a refusal
 *     proxy_free(st);
 *
 * Readiness is level-triggered safe: NEED_MORE is returned only when the
 * socket had nothing more to give (every byte it had was consumed into the
 * state), so a level-triggered EPOLLIN does not spin.
 *
 * Results: with the PROXY command and family INET or INET6 (v2), or
 * TCP4/TCP6 (v1), proxy_source() and proxy_dest() are the client's and the
 * balancer's addresses as the balancer saw them (AF_INET, AF_INET6).  With
 * the v2 LOCAL command, v2 family UNSPEC or UNIX, or v1 UNKNOWN,
 * proxy_local() is true and both are NULL: keep the connection's own peer,
 * as the spec says (for UNIX: the fallback to UNSPEC it allows a receiver
 * for a family it does not take; a path is no TCP client).  The v2 TLVs,
 * whatever the family, become environment pairs (proxy_env()):
 *   PROXY_ALPN, PROXY_AUTHORITY, PROXY_UNIQUE_ID, PROXY_NETNS,
 *   PROXY_SSL ("1" if the client used TLS to the balancer),
 *   PROXY_SSL_CLIENT_CERT ("1" if it presented a certificate),
 *   PROXY_SSL_VERIFY (the balancer's verify result, "0" = success),
 *   PROXY_SSL_VERSION, PROXY_SSL_CN, PROXY_SSL_CIPHER, PROXY_SSL_SIG_ALG,
 *   PROXY_SSL_KEY_ALG.
 * A value made only of printable ASCII is passed as is; any other value is
 * passed hex-encoded under the name with "_HEX" appended (for example a
 * binary unique id becomes PROXY_UNIQUE_ID_HEX=0a1b...), so nothing a
 * balancer sends can smuggle a control byte into a log or an environment.
 * A CRC32C TLV is checked, and a mismatch refuses the header.  Unknown TLV
 * types (and NOOP) are ignored, as the spec asks.
 */
#ifndef PORTERD_PROXY_H
#define PORTERD_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <porter/socket.h>

/* Which versions a service accepts (`proxy-protocol = v1 | v2 | any`). */
enum proxy_mode {
	PROXY_V1 = 1,
	PROXY_V2 = 2,
	PROXY_ANY = 3
};

enum proxy_status {
	PROXY_NEED_MORE,	/* wait for readability and call again */
	PROXY_DONE,		/* the header was read and is valid */
	PROXY_ERROR		/* refuse: see proxy_reason() */
};

/* The longest v1 line the spec allows, CRLF included. */
#define PROXY_V1_MAX		107
/*
 * The largest v2 address-and-TLV block porterd accepts (the protocol allows
 * 65535).  Addresses take at most 216 bytes; this leaves room for every
 * TLV a balancer sends in practice (HAProxy's own limit is similar).
 */
#define PROXY_V2_MAX_LEN	4096

struct proxy_state;

/* A new receiver, or NULL if out of memory.  Free with proxy_free(). */
struct proxy_state *proxy_new(enum proxy_mode mode);

/* Frees the receiver and its results; accepts NULL. */
void proxy_free(struct proxy_state *st);

/*
 * Reads what the non-blocking stream socket fd has of the header.  Returns
 * PROXY_NEED_MORE, PROXY_DONE, or PROXY_ERROR (also for EOF, a read error,
 * or any malformed header; the reason is kept).  After DONE or ERROR it
 * returns the same again without touching fd.  fd is borrowed.
 */
enum proxy_status proxy_feed(struct proxy_state *st, int fd);

/*
 * Why the header was refused ("bad v2 signature", "v1 line longer than
 * 107 bytes", "connection closed after 12 bytes of header", ...); a
 * static or state-owned string, valid until proxy_free().  "" otherwise.
 */
const char *proxy_reason(const struct proxy_state *st);

/* After DONE: 1 or 2, the version received. */
int proxy_version(const struct proxy_state *st);

/*
 * After DONE: true if the connection's own peer stays (v2 LOCAL, UNSPEC or
 * UNIX; v1 UNKNOWN).
 */
bool proxy_local(const struct proxy_state *st);

/*
 * After DONE, unless proxy_local(): the original source and destination.
 * Borrowed from the state, valid until proxy_free(); NULL otherwise.
 */
const pt_addr *proxy_source(const struct proxy_state *st);
const pt_addr *proxy_dest(const struct proxy_state *st);

/*
 * After DONE: the TLVs as "NAME=value" strings, *ret_n of them, in the
 * order received.  Borrowed, valid until proxy_free().
 */
const char *const *proxy_env(const struct proxy_state *st, size_t *ret_n);

/* The total header length consumed so far (for tests and logs). */
size_t proxy_consumed(const struct proxy_state *st);

/*
 * CRC32C (Castagnoli) of buf, as the v2 CRC32C TLV uses it; exposed for
 * tests and senders.
 */
uint32_t proxy_crc32c(const uint8_t *buf, size_t len);

#endif
