/*
 * check_proxy.c -- the PROXY protocol receiver (daemon/proxy.c), fed over
 * real non-blocking socketpairs: every header is followed by payload bytes
 * that must still be there, unread, after the header is accepted.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_common.h"
#include "proxy.h"

#define PAYLOAD "GET / HTTP/1.0\r\n\r\n"

static const uint8_t SIG[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* A non-blocking reading end fds[0] and a blocking writing end fds[1]. */
static void
pair(int fds[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	ck_assert_int_eq(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
}

static void
put(int fd, const void *buf, size_t len)
{
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
}

/* What is left to read on fd right now, as a string. */
static const char *
rest(int fd)
{
	static char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Sends hdr + PAYLOAD at once, feeds, expects status; payload untouched. */
static struct proxy_state *
feed_all(enum proxy_mode mode, const void *hdr, size_t len,
    enum proxy_status want)
{
	struct proxy_state *st = proxy_new(mode);
	int fds[2];

	ck_assert_ptr_nonnull(st);
	pair(fds);
	put(fds[1], hdr, len);
	put(fds[1], PAYLOAD, strlen(PAYLOAD));
	ck_assert_int_eq(proxy_feed(st, fds[0]), want);
	if (want == PROXY_DONE) {
		ck_assert_uint_eq(proxy_consumed(st), len);
		/* Feeding again neither reads nor changes anything. */
		ck_assert_int_eq(proxy_feed(st, fds[0]), PROXY_DONE);
		ck_assert_str_eq(rest(fds[0]), PAYLOAD);
	}
	close(fds[0]);
	close(fds[1]);
	return st;
}

static const char *
fmt(const pt_addr *a)
{
	static char buf[2][PT_ADDRSTRLEN];
	static int i;

	i ^= 1;
	ck_assert_ptr_nonnull(a);
	return pt_addr_format(a, buf[i], sizeof(buf[i]));
}

/* Builds a v2 header: fixed part, then body of blen bytes. */
static size_t
v2(uint8_t *out, uint8_t vercmd, uint8_t fam, const void *body, size_t blen)
{
	memcpy(out, SIG, 12);
	out[12] = vercmd;
	out[13] = fam;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	memcpy(out + 16, body, blen);
	return 16 + blen;
}

/* IPv4 body: 192.0.2.1:51000 -> 198.51.100.7:443, then extra bytes. */
static size_t
v4body(uint8_t *b, const void *extra, size_t elen)
{
	static const uint8_t a[12] = {
		192, 0, 2, 1, 198, 51, 100, 7, 0xc7, 0x38, 0x01, 0xbb
	};

	memcpy(b, a, 12);
	memcpy(b + 12, extra, elen);
	return 12 + elen;
}

static const char *
env_get(struct proxy_state *st, const char *name)
{
	const char *const *env;
	size_t n, i, l = strlen(name);

	env = proxy_env(st, &n);
	for (i = 0; i < n; i++)
		if (strncmp(env[i], name, l) == 0 && env[i][l] == '=')
			return env[i] + l + 1;
	return NULL;
}

/* ------------------------------------------------------------ v1 valid */

START_TEST(v1_tcp4)
{
	static const char h[] = "PROXY TCP4 192.0.2.1 198.51.100.7 51000 443\r\n";
	struct proxy_state *st = feed_all(PROXY_V1, h, strlen(h), PROXY_DONE);

	ck_assert_int_eq(proxy_version(st), 1);
	ck_assert(!proxy_local(st));
	ck_assert_str_eq(fmt(proxy_source(st)), "192.0.2.1:51000");
	ck_assert_str_eq(fmt(proxy_dest(st)), "198.51.100.7:443");
	proxy_free(st);
}
END_TEST

START_TEST(v1_tcp6)
{
	static const char h[] =
	    "PROXY TCP6 2001:db8::1 2001:db8:ffff::ffff:7 65535 0\r\n";
	struct proxy_state *st = feed_all(PROXY_ANY, h, strlen(h), PROXY_DONE);

	ck_assert_str_eq(fmt(proxy_source(st)), "[2001:db8::1]:65535");
	ck_assert_str_eq(fmt(proxy_dest(st)), "[2001:db8:ffff::ffff:7]:0");
	proxy_free(st);
}
END_TEST

/* The longest legal line (104 bytes) with full-width IPv6. */
START_TEST(v1_tcp6_longest)
{
	static const char h[] = "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	struct proxy_state *st;

	ck_assert_uint_eq(strlen(h), 104);
	st = feed_all(PROXY_V1, h, strlen(h), PROXY_DONE);
	ck_assert_str_eq(fmt(proxy_source(st)),
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	proxy_free(st);
}
END_TEST

/* "PROXY UNKNOWN\r\n" is 15 bytes: the blind first read takes no more. */
START_TEST(v1_unknown_short)
{
	static const char h[] = "PROXY UNKNOWN\r\n";
	struct proxy_state *st = feed_all(PROXY_ANY, h, strlen(h), PROXY_DONE);

	ck_assert(proxy_local(st));
	ck_assert_ptr_null(proxy_source(st));
	ck_assert_ptr_null(proxy_dest(st));
	ck_assert_int_eq(proxy_version(st), 1);
	proxy_free(st);
}
END_TEST

/* UNKNOWN with addresses: the rest of the line is ignored. */
START_TEST(v1_unknown_long)
{
	static const char h[] = "PROXY UNKNOWN ffff:: ffff:: 1 2 whatever\r\n";
	struct proxy_state *st = feed_all(PROXY_V1, h, strlen(h), PROXY_DONE);

	ck_assert(proxy_local(st));
	proxy_free(st);
}
END_TEST

/* ----------------------------------------------------- v1 refused, table */

static const struct {
	enum proxy_mode mode;
	const char *hdr;
	const char *why;
} v1_bad[] = {
	/* wrong signature, strict v1 mode and autodetect */
	{ PROXY_V1, "PROXZ TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "bad v1 signature" },
	{ PROXY_V1, "GET / HTTP/1.0\r\n\r\n", "bad v1 signature" },
	{ PROXY_ANY, "GET / HTTP/1.0\r\n\r\n", "no PROXY header" },
	/* a v1 line where only v2 is allowed */
	{ PROXY_V2, "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "bad v2 signature" },
	/* protocol */
	{ PROXY_V1, "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "is not TCP4" },
	{ PROXY_V1, "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "is not TCP4" },
	/* field counts and spacing */
	{ PROXY_V1, "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "needs 4 fields" },
	{ PROXY_V1, "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "too many" },
	{ PROXY_V1, "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "empty field" },
	{ PROXY_V1, "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "empty field" },
	/* addresses of the wrong or no family */
	{ PROXY_V1, "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", "source address" },
	{ PROXY_V1, "PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "is not IPv4" },
	{ PROXY_V1, "PROXY TCP4 1.2.3.4 ::1 1 2\r\n", "destination address" },
	{ PROXY_V1, "PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "is not IPv6" },
	{ PROXY_V1, "PROXY TCP4 localhost 5.6.7.8 1 2\r\n", "source address" },
	/* ports */
	{ PROXY_V1, "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "source port" },
	{ PROXY_V1, "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "source port" },
	{ PROXY_V1, "PROXY TCP4 1.2.3.4 5.6.7.8 1 0x10\r\n", "destination port" },
	{ PROXY_V1, "PROXY TCP4 1.2.3.4 5.6.7.8 1 123456\r\n", "destination port" },
	/* line ends */
	{ PROXY_V1, "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "LF without CR" },
	{ PROXY_V1, "PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n", "control" },
	{ PROXY_V1, "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\t\r\n", "control" },
	{ PROXY_V1, "PROXY \xc3\xa9 1.2.3.4 5.6.7.8 1 2\r\n", "non-ASCII" },
	/* shorter than the shortest legal line */
	{ PROXY_V1, "PROXY \r\nabcdefgh", "shorter than 15" },
	{ PROXY_ANY, "PROXY UNKNOWNX\r\n", "is not TCP4" },
	/* 108 bytes and no CRLF: oversized */
	{ PROXY_V1, "PROXY UNKNOWN "
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "012345678901234567890123\r\n", "longer than 107" },
};

START_TEST(v1_refused)
{
	struct proxy_state *st = feed_all(v1_bad[_i].mode, v1_bad[_i].hdr,
	    strlen(v1_bad[_i].hdr), PROXY_ERROR);

	if (strstr(proxy_reason(st), v1_bad[_i].why) == NULL)
		ck_abort_msg("row %d: reason '%s' lacks '%s'", _i,
		    proxy_reason(st), v1_bad[_i].why);
	ck_assert_int_eq(proxy_version(st), 0);
	ck_assert_ptr_null(proxy_source(st));
	proxy_free(st);
}
END_TEST

/* A line cut short by EOF, and a socket that fails. */
START_TEST(v1_truncated)
{
	static const char h[] = "PROXY TCP4 1.2.3.4 5.6.7";
	struct proxy_state *st = proxy_new(PROXY_V1);
	int fds[2];

	pair(fds);
	put(fds[1], h, strlen(h));
	ck_assert_int_eq(proxy_feed(st, fds[0]), PROXY_NEED_MORE);
	close(fds[1]);
	ck_assert_int_eq(proxy_feed(st, fds[0]), PROXY_ERROR);
	ck_assert_str_eq(proxy_reason(st),
	    "connection closed after 24 bytes of header");
	close(fds[0]);
	proxy_free(st);

	st = proxy_new(PROXY_ANY);
	ck_assert_int_eq(proxy_feed(st, -1), PROXY_ERROR);
	ck_assert_ptr_nonnull(strstr(proxy_reason(st), "Bad file descriptor"));
	proxy_free(st);
}
END_TEST

/* ------------------------------------------------------------------ v2 */

START_TEST(v2_ipv4)
{
	uint8_t h[64], b[32];
	size_t n = v2(h, 0x21, 0x11, b, v4body(b, "", 0));
	struct proxy_state *st = feed_all(PROXY_V2, h, n, PROXY_DONE);

	ck_assert_int_eq(proxy_version(st), 2);
	ck_assert(!proxy_local(st));
	ck_assert_str_eq(fmt(proxy_source(st)), "192.0.2.1:51000");
	ck_assert_str_eq(fmt(proxy_dest(st)), "198.51.100.7:443");
	proxy_free(st);
}
END_TEST

START_TEST(v2_ipv6)
{
	uint8_t h[64], b[36];
	struct proxy_state *st;

	memset(b, 0, sizeof(b));
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", b), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:10.0.0.1", b + 16), 1);
	b[32] = 0x12; b[33] = 0x34; b[34] = 0x00; b[35] = 0x50;
	st = feed_all(PROXY_ANY, h, v2(h, 0x21, 0x21, b, 36), PROXY_DONE);
	ck_assert_str_eq(fmt(proxy_source(st)), "[2001:db8::1]:4660");
	ck_assert_str_eq(fmt(proxy_dest(st)), "[::ffff:10.0.0.1]:80");
	proxy_free(st);
}
END_TEST

/*
 * AF_UNIX: the addresses (216 bytes) are skipped, the connection's own
 * peer stays (the spec's fallback to UNSPEC), the TLVs after them count.
 */
START_TEST(v2_unix)
{
	static const uint8_t tlv[] = {
		0x02, 0x00, 0x0b, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		    '.', 'c', 'o', 'm'				/* AUTHORITY */
	};
	uint8_t h[256 + sizeof(tlv)], b[216 + sizeof(tlv)];
	struct proxy_state *st;
	size_t n;

	memset(b, 0, sizeof(b));
	memcpy(b, "/run/client.sock", 16);
	memcpy(b + 108 + 1, "abstract", 8);	/* leading NUL: abstract */
	memcpy(b + 216, tlv, sizeof(tlv));
	n = v2(h, 0x21, 0x31, b, sizeof(b));
	st = feed_all(PROXY_V2, h, n, PROXY_DONE);
	ck_assert_int_eq(proxy_version(st), 2);
	ck_assert(proxy_local(st));
	ck_assert_ptr_null(proxy_source(st));
	ck_assert_ptr_null(proxy_dest(st));
	ck_assert_str_eq(env_get(st, "PROXY_AUTHORITY"), "example.com");
	proxy_free(st);
	/* Without TLVs, by the "any" receiver too. */
	st = feed_all(PROXY_ANY, h, v2(h, 0x21, 0x31, b, 216), PROXY_DONE);
	ck_assert(proxy_local(st));
	proxy_free(st);
}
END_TEST

/* LOCAL (health checks) and family UNSPEC keep the real peer. */
START_TEST(v2_local)
{
	uint8_t h[64], b[32];
	struct proxy_state *st;

	st = feed_all(PROXY_V2, h, v2(h, 0x20, 0x00, "", 0), PROXY_DONE);
	ck_assert(proxy_local(st));
	ck_assert_ptr_null(proxy_source(st));
	proxy_free(st);
	/* LOCAL with addresses: they are ignored */
	st = feed_all(PROXY_V2, h, v2(h, 0x20, 0x11, b, v4body(b, "", 0)),
	    PROXY_DONE);
	ck_assert(proxy_local(st));
	proxy_free(st);
	/* PROXY command, family UNSPEC */
	st = feed_all(PROXY_ANY, h, v2(h, 0x21, 0x00, "", 0), PROXY_DONE);
	ck_assert(proxy_local(st));
	proxy_free(st);
}
END_TEST

START_TEST(v2_tlvs)
{
	static const uint8_t tlv[] = {
		0x01, 0x00, 0x02, 'h', '2',			/* ALPN */
		0x02, 0x00, 0x0b, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		    '.', 'c', 'o', 'm',				/* AUTHORITY */
		0x04, 0x00, 0x03, 0, 0, 0,			/* NOOP */
		0x05, 0x00, 0x03, 0x00, 0x0a, 0xff,		/* UNIQUE_ID */
		0xe0, 0x00, 0x01, 'x',				/* custom */
		0x20, 0x00, 0x18, 0x07, 0, 0, 0, 0,		/* SSL */
		    0x21, 0x00, 0x07, 'T', 'L', 'S', 'v', '1', '.', '3',
		    0x22, 0x00, 0x06, 'c', 'l', 'i', 'e', 'n', 't',
		0x30, 0x00, 0x04, 'b', 'l', 'u', 'e',		/* NETNS */
	};
	uint8_t h[256], b[128];
	struct proxy_state *st;
	size_t n;

	st = feed_all(PROXY_ANY, h, v2(h, 0x21, 0x11, b,
	    v4body(b, tlv, sizeof(tlv))), PROXY_DONE);
	ck_assert_str_eq(env_get(st, "PROXY_ALPN"), "h2");
	ck_assert_str_eq(env_get(st, "PROXY_AUTHORITY"), "example.com");
	ck_assert_ptr_null(env_get(st, "PROXY_UNIQUE_ID"));
	ck_assert_str_eq(env_get(st, "PROXY_UNIQUE_ID_HEX"), "000aff");
	ck_assert_str_eq(env_get(st, "PROXY_SSL"), "1");
	ck_assert_str_eq(env_get(st, "PROXY_SSL_CLIENT_CERT"), "1");
	ck_assert_str_eq(env_get(st, "PROXY_SSL_VERIFY"), "0");
	ck_assert_str_eq(env_get(st, "PROXY_SSL_VERSION"), "TLSv1.3");
	ck_assert_str_eq(env_get(st, "PROXY_SSL_CN"), "client");
	ck_assert_str_eq(env_get(st, "PROXY_NETNS"), "blue");
	proxy_env(st, &n);
	ck_assert_uint_eq(n, 9);
	proxy_free(st);
}
END_TEST

START_TEST(v2_crc32c)
{
	uint8_t h[64], b[32], crc[7] = { 0x03, 0x00, 0x04, 0, 0, 0, 0 };
	struct proxy_state *st;
	uint32_t c;
	size_t n;

	/* The standard check value of CRC-32C. */
	ck_assert_uint_eq(proxy_crc32c((const uint8_t *)"123456789", 9),
	    0xe3069283u);
	n = v2(h, 0x21, 0x11, b, v4body(b, crc, sizeof(crc)));
	c = proxy_crc32c(h, n);
	h[n - 4] = (uint8_t)(c >> 24);
	h[n - 3] = (uint8_t)(c >> 16);
	h[n - 2] = (uint8_t)(c >> 8);
	h[n - 1] = (uint8_t)c;
	st = feed_all(PROXY_V2, h, n, PROXY_DONE);
	proxy_free(st);
	h[n - 1] ^= 1;
	st = feed_all(PROXY_V2, h, n, PROXY_ERROR);
	ck_assert_ptr_nonnull(strstr(proxy_reason(st), "CRC32C mismatch"));
	proxy_free(st);
}
END_TEST

/* ----------------------------------------------------- v2 refused, table */

struct v2_bad_row {
	uint8_t vercmd, fam;
	const uint8_t *body;
	size_t blen;		/* announced = blen unless lie is set */
	int lie;		/* announced length minus bytes sent */
	const char *why;
};

static const uint8_t body4[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2 };
static const uint8_t body4_tlv_over[16] = {
	1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2, 0x02, 0x00, 0x09, 'x'
};
static const uint8_t body4_tlv_trunc[14] = {
	1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2, 0x02, 0x00
};
static const uint8_t body4_ssl_short[17] = {
	1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2, 0x20, 0x00, 0x02, 1, 0
};
static const uint8_t body4_ssl_sub_over[23] = {
	1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2, 0x20, 0x00, 0x08, 1, 0, 0, 0, 0,
	0x21, 0x00, 0x05
};

static const struct v2_bad_row v2_bad[] = {
	/* version 1 and 3 in the version nibble */
	{ 0x11, 0x11, body4, 12, 0, "version 1 is not 2" },
	{ 0x31, 0x11, body4, 12, 0, "version 3 is not 2" },
	/* command 2..15 */
	{ 0x22, 0x11, body4, 12, 0, "command 2" },
	{ 0x2f, 0x11, body4, 12, 0, "command 15" },
	/* family 4 and transport 3 are undefined */
	{ 0x21, 0x41, body4, 12, 0, "family 4 is unknown" },
	{ 0x21, 0xf1, body4, 12, 0, "family 15 is unknown" },
	{ 0x21, 0x13, body4, 12, 0, "transport 3 is unknown" },
	/* datagram addresses on a stream connection */
	{ 0x21, 0x12, body4, 12, 0, "transport DGRAM" },
	{ 0x21, 0x10, body4, 12, 0, "transport UNSPEC" },
	/* length lies: too short for the family's addresses */
	{ 0x21, 0x11, body4, 8, 0, "too short for the IPv4" },
	{ 0x21, 0x21, body4, 12, 0, "too short for the IPv6" },
	{ 0x21, 0x31, body4, 12, 0, "too short for the UNIX" },
	/* length lie: announces more than is sent, then EOF */
	{ 0x21, 0x11, body4, 12, 20, "connection closed after 28 bytes" },
	/* TLVs that overrun or are cut */
	{ 0x21, 0x11, body4_tlv_over, 16, 0, "TLV 0x02 length 9 overruns" },
	{ 0x21, 0x11, body4_tlv_trunc, 14, 0, "TLV header truncated" },
	{ 0x21, 0x11, body4_ssl_short, 17, 0, "SSL TLV shorter" },
	{ 0x21, 0x11, body4_ssl_sub_over, 23, 0, "sub-TLV 0x21 length 5" },
};

START_TEST(v2_refused)
{
	const struct v2_bad_row *r = &v2_bad[_i];
	struct proxy_state *st = proxy_new(PROXY_ANY);
	uint8_t h[128];
	size_t n = v2(h, r->vercmd, r->fam, r->body, r->blen);
	size_t ann = r->blen + (size_t)r->lie;
	int fds[2];

	h[14] = (uint8_t)(ann >> 8);
	h[15] = (uint8_t)ann;
	pair(fds);
	put(fds[1], h, n);
	if (r->lie)
		close(fds[1]);
	else
		put(fds[1], PAYLOAD, strlen(PAYLOAD));
	ck_assert_int_eq(proxy_feed(st, fds[0]), PROXY_ERROR);
	if (strstr(proxy_reason(st), r->why) == NULL)
		ck_abort_msg("row %d: reason '%s' lacks '%s'", _i,
		    proxy_reason(st), r->why);
	close(fds[0]);
	if (!r->lie)
		close(fds[1]);
	proxy_free(st);
}
END_TEST

START_TEST(v2_bad_signature)
{
	uint8_t h[64];
	struct proxy_state *st;
	size_t n = v2(h, 0x21, 0x11, body4, 12);
	int i;

	/* Each byte of the signature, wrong in turn (the first: autodetect). */
	for (i = 1; i < 12; i++) {
		h[i] ^= 0x40;
		st = feed_all(PROXY_V2, h, n, PROXY_ERROR);
		ck_assert_str_eq(proxy_reason(st), "bad v2 signature");
		proxy_free(st);
		h[i] ^= 0x40;
	}
	h[0] = 'X';
	st = feed_all(PROXY_ANY, h, n, PROXY_ERROR);
	ck_assert_str_eq(proxy_reason(st),
	    "no PROXY header (neither v1 nor v2 signature)");
	proxy_free(st);
	/* A v2 header where only v1 is allowed. */
	h[0] = 0x0d;
	st = feed_all(PROXY_V1, h, n, PROXY_ERROR);
	ck_assert_str_eq(proxy_reason(st), "bad v1 signature (no \"PROXY \")");
	proxy_free(st);
}
END_TEST

START_TEST(v2_oversized)
{
	uint8_t h[16];
	struct proxy_state *st;

	v2(h, 0x21, 0x11, "", 0);
	h[14] = 0x10;		/* 4097 */
	h[15] = 0x01;
	st = feed_all(PROXY_V2, h, 16, PROXY_ERROR);
	ck_assert_str_eq(proxy_reason(st), "v2 length 4097 exceeds porterd's "
	    "4096");
	proxy_free(st);
}
END_TEST

/* --------------------------------------------------- byte at a time */

/* Feeds hdr one byte per step; NEED_MORE leaves nothing readable. */
static struct proxy_state *
trickle(enum proxy_mode mode, const uint8_t *hdr, size_t len)
{
	struct proxy_state *st = proxy_new(mode);
	struct pollfd pfd;
	int fds[2];
	size_t i;

	pair(fds);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	for (i = 0; i + 1 < len; i++) {
		put(fds[1], hdr + i, 1);
		ck_assert_int_eq(proxy_feed(st, fds[0]), PROXY_NEED_MORE);
		/* Level-triggered loops must not spin: all was consumed. */
		ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	}
	put(fds[1], hdr + i, 1);
	put(fds[1], PAYLOAD, strlen(PAYLOAD));
	ck_assert_int_eq(proxy_feed(st, fds[0]), PROXY_DONE);
	ck_assert_str_eq(rest(fds[0]), PAYLOAD);
	close(fds[0]);
	close(fds[1]);
	return st;
}

START_TEST(trickle_v1)
{
	static const char h[] = "PROXY TCP4 192.0.2.1 198.51.100.7 51000 443\r\n";
	struct proxy_state *st;

	st = trickle(PROXY_ANY, (const uint8_t *)h, strlen(h));
	ck_assert_str_eq(fmt(proxy_source(st)), "192.0.2.1:51000");
	proxy_free(st);
	st = trickle(PROXY_V1, (const uint8_t *)"PROXY UNKNOWN\r\n", 15);
	ck_assert(proxy_local(st));
	proxy_free(st);
}
END_TEST

START_TEST(trickle_v2)
{
	static const uint8_t tlv[] = { 0x02, 0x00, 0x03, 'a', '.', 'b' };
	uint8_t h[64], b[32];
	size_t n = v2(h, 0x21, 0x11, b, v4body(b, tlv, sizeof(tlv)));
	struct proxy_state *st;

	st = trickle(PROXY_ANY, h, n);
	ck_assert_str_eq(fmt(proxy_dest(st)), "198.51.100.7:443");
	ck_assert_str_eq(env_get(st, "PROXY_AUTHORITY"), "a.b");
	proxy_free(st);
	st = trickle(PROXY_V2, h, n);
	ck_assert_str_eq(fmt(proxy_source(st)), "192.0.2.1:51000");
	proxy_free(st);
}
END_TEST

/* An early bad byte is refused at once, without waiting for more. */
START_TEST(early_refusal)
{
	struct proxy_state *st = proxy_new(PROXY_ANY);
	int fds[2];

	pair(fds);
	put(fds[1], "\r\nX", 3);
	ck_assert_int_eq(proxy_feed(st, fds[0]), PROXY_ERROR);
	ck_assert_str_eq(proxy_reason(st), "bad v2 signature");
	proxy_free(st);
	st = proxy_new(PROXY_ANY);
	put(fds[1], "PRX", 3);
	ck_assert_int_eq(proxy_feed(st, fds[0]), PROXY_ERROR);
	ck_assert_str_eq(proxy_reason(st), "bad v1 signature (no \"PROXY \")");
	proxy_free(st);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

static Suite *
proxy_suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc;

	tc = tcase_create("v1");
	tcase_add_test(tc, v1_tcp4);
	tcase_add_test(tc, v1_tcp6);
	tcase_add_test(tc, v1_tcp6_longest);
	tcase_add_test(tc, v1_unknown_short);
	tcase_add_test(tc, v1_unknown_long);
	tcase_add_loop_test(tc, v1_refused, 0,
	    (int)(sizeof(v1_bad) / sizeof(v1_bad[0])));
	tcase_add_test(tc, v1_truncated);
	suite_add_tcase(s, tc);

	tc = tcase_create("v2");
	tcase_add_test(tc, v2_ipv4);
	tcase_add_test(tc, v2_ipv6);
	tcase_add_test(tc, v2_unix);
	tcase_add_test(tc, v2_local);
	tcase_add_test(tc, v2_tlvs);
	tcase_add_test(tc, v2_crc32c);
	tcase_add_loop_test(tc, v2_refused, 0,
	    (int)(sizeof(v2_bad) / sizeof(v2_bad[0])));
	tcase_add_test(tc, v2_bad_signature);
	tcase_add_test(tc, v2_oversized);
	suite_add_tcase(s, tc);

	tc = tcase_create("incremental");
	tcase_add_test(tc, trickle_v1);
	tcase_add_test(tc, trickle_v2);
	tcase_add_test(tc, early_refusal);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(proxy_suite)
