/*
 * proxy.c -- the PROXY protocol receiver (v1 text, v2 binary): reads
 * exactly the header from a non-blocking socket, step by step, validates
 * it against HAProxy's specification and keeps the addresses and TLVs it
 * carries.  See proxy.h for the reading rules and the results.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy.h"

/* Every header, whatever its version, is at least this long. */
#define PROXY_MIN_HEADER	15
#define V2_FIXED		16

static const uint8_t v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
static const char v1_sig[] = "PROXY ";

/* v2 TLV types (spec section 2.2). */
enum {
	PP2_TYPE_ALPN = 0x01,
	PP2_TYPE_AUTHORITY = 0x02,
	PP2_TYPE_CRC32C = 0x03,
	PP2_TYPE_NOOP = 0x04,
	PP2_TYPE_UNIQUE_ID = 0x05,
	PP2_TYPE_SSL = 0x20,
	PP2_SUBTYPE_SSL_VERSION = 0x21,
	PP2_SUBTYPE_SSL_CN = 0x22,
	PP2_SUBTYPE_SSL_CIPHER = 0x23,
	PP2_SUBTYPE_SSL_SIG_ALG = 0x24,
	PP2_SUBTYPE_SSL_KEY_ALG = 0x25,
	PP2_TYPE_NETNS = 0x30
};
#define PP2_CLIENT_SSL		0x01
#define PP2_CLIENT_CERT_CONN	0x02
#define PP2_CLIENT_CERT_SESS	0x04
#define PP2_UNIQUE_ID_MAX	128

/* At most this many environment pairs (every known TLV once, and some). */
#define PROXY_ENV_MAX		16

struct proxy_state {
	enum proxy_mode mode;
	enum proxy_status status;
	int version;			/* 0 until the first byte says */
	bool local;
	const char *reason;
	char reasonbuf[128];
	size_t have;			/* bytes of header in buf */
	pt_addr src, dst;
	char *env[PROXY_ENV_MAX];
	size_t nenv;
	uint8_t buf[V2_FIXED + PROXY_V2_MAX_LEN];
};

struct proxy_state *
proxy_new(enum proxy_mode mode)
{
	struct proxy_state *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->mode = mode;
	st->status = PROXY_NEED_MORE;
	st->reason = "";
	return st;
}

void
proxy_free(struct proxy_state *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nenv; i++)
		free(st->env[i]);
	free(st);
}

static enum proxy_status
fail(struct proxy_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum proxy_status
fail(struct proxy_state *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->reasonbuf, sizeof(st->reasonbuf), fmt, ap);
	va_end(ap);
	st->reason = st->reasonbuf;
	st->status = PROXY_ERROR;
	return PROXY_ERROR;
}

/*
 * recv() with the outcomes the state machine needs: > 0 bytes, 0 for
 * "nothing now", -1 after recording EOF or an error.
 */
static ssize_t
proxy_recv(struct proxy_state *st, int fd, void *buf, size_t len, int flags)
{
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, len, flags);
		if (n > 0)
			return n;
		if (n == 0) {
			fail(st, "connection closed after %zu bytes of header",
			    st->have);
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		fail(st, "reading the header: %s", strerror(errno));
		return -1;
	}
}

/* ----------------------------------------------------------------- v1 */

/* A decimal port: 1 to 5 digits, at most 65535. */
static int
v1_port(const char *s, uint16_t *ret)
{
	unsigned long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*ret = (uint16_t)v;
	return 0;
}

static void
set_inet(pt_addr *a, int family, const void *addr, uint16_t port_host)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
		sin->sin_port = htons(port_host);
		a->len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
		sin6->sin6_port = htons(port_host);
		a->len = sizeof(*sin6);
	}
}

/* Parses the complete line buf[0..have) (CRLF included, checked). */
static enum proxy_status
v1_parse(struct proxy_state *st)
{
	char line[PROXY_V1_MAX + 1], *tok[6], *p;
	uint8_t sa[16], da[16];
	uint16_t sp, dp;
	size_t len = st->have - 2, i, ntok;
	int family;

	memcpy(line, st->buf, len);
	line[len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 ||
		    (unsigned char)line[i] > 0x7e)
			return fail(st, "v1 line has a control or non-ASCII "
			    "byte at offset %zu", i);
	/* "UNKNOWN": the receiver ignores the rest of the line. */
	if (strncmp(line + 6, "UNKNOWN", 7) == 0 &&
	    (line[13] == '\0' || line[13] == ' ')) {
		st->local = true;
		st->version = 1;
		st->status = PROXY_DONE;
		return PROXY_DONE;
	}
	/* Split on single spaces; an empty field is an error. */
	ntok = 0;
	for (p = line;;) {
		char *space = strchr(p, ' ');

		if (space == p || (space == NULL && *p == '\0'))
			return fail(st, "v1 line has an empty field "
			    "(double or trailing space)");
		if (ntok == 6)
			return fail(st, "v1 line has too many fields");
		tok[ntok++] = p;
		if (space == NULL)
			break;
		*space = '\0';
		p = space + 1;
	}
	if (ntok < 2)
		return fail(st, "v1 line has no protocol");
	if (strcmp(tok[1], "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(tok[1], "TCP6") == 0)
		family = AF_INET6;
	else
		return fail(st, "v1 protocol '%.8s' is not TCP4, TCP6 or "
		    "UNKNOWN", tok[1]);
	if (ntok != 6)
		return fail(st, "v1 %s line needs 4 fields after the "
		    "protocol, has %zu", tok[1], ntok - 2);
	if (inet_pton(family, tok[2], sa) != 1)
		return fail(st, "v1 source address '%.46s' is not %s", tok[2],
		    family == AF_INET ? "IPv4" : "IPv6");
	if (inet_pton(family, tok[3], da) != 1)
		return fail(st, "v1 destination address '%.46s' is not %s",
		    tok[3], family == AF_INET ? "IPv4" : "IPv6");
	if (v1_port(tok[4], &sp) == -1)
		return fail(st, "v1 source port '%.8s' is not 0..65535",
		    tok[4]);
	if (v1_port(tok[5], &dp) == -1)
		return fail(st, "v1 destination port '%.8s' is not 0..65535",
		    tok[5]);
	set_inet(&st->src, family, sa, sp);
	set_inet(&st->dst, family, da, dp);
	st->version = 1;
	st->status = PROXY_DONE;
	return PROXY_DONE;
}

/*
 * Checks what there is of the line so far: the signature, then only
 * printable bytes; a LF ends it and must follow a CR and end the buffer.
 * Returns 1 when the line is complete, 0 when more is needed, -1 on error.
 */
static int
v1_scan(struct proxy_state *st)
{
	size_t i, n = st->have < 6 ? st->have : 6;

	if (memcmp(st->buf, v1_sig, n) != 0) {
		fail(st, "bad v1 signature (no \"PROXY \")");
		return -1;
	}
	for (i = 0; i < st->have; i++) {
		if (st->buf[i] != '\n')
			continue;
		if (i == 0 || st->buf[i - 1] != '\r') {
			fail(st, "v1 line ends in LF without CR");
			return -1;
		}
		if (i != st->have - 1 || st->have < PROXY_MIN_HEADER) {
			/* The shortest valid line is "PROXY UNKNOWN\r\n". */
			fail(st, "v1 line shorter than %d bytes",
			    PROXY_MIN_HEADER);
			return -1;
		}
		return 1;
	}
	if (st->have >= PROXY_V1_MAX) {
		fail(st, "v1 line longer than %d bytes", PROXY_V1_MAX);
		return -1;
	}
	return 0;
}

static enum proxy_status
v1_feed(struct proxy_state *st, int fd)
{
	ssize_t n, k, got;
	int r;

	for (;;) {
		if ((r = v1_scan(st)) == -1)
			return PROXY_ERROR;
		if (r == 1)
			return v1_parse(st);
		/* Peek, then take only the bytes up to the LF. */
		n = proxy_recv(st, fd, st->buf + st->have,
		    PROXY_V1_MAX - st->have, MSG_PEEK);
		if (n <= 0)
			return n == 0 ? PROXY_NEED_MORE : PROXY_ERROR;
		for (k = 0; k < n; k++)
			if (st->buf[st->have + (size_t)k] == '\n')
				break;
		k = k < n ? k + 1 : n;
		if ((got = proxy_recv(st, fd, st->buf + st->have, (size_t)k,
		    0)) < 0)
			return PROXY_ERROR;
		st->have += (size_t)got;
	}
}

/* ----------------------------------------------------------------- v2 */

uint32_t
proxy_crc32c(const uint8_t *buf, size_t len)
{
	uint32_t crc = 0xffffffffu;
	size_t i;
	int b;

	/* Bitwise, reflected polynomial 0x82f63b78: headers are small. */
	for (i = 0; i < len; i++) {
		crc ^= buf[i];
		for (b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static int
env_add(struct proxy_state *st, const char *name, const uint8_t *val,
    size_t len)
{
	static const char hex[] = "0123456789abcdef";
	bool printable = true;
	size_t i, nlen = strlen(name), size;
	char *s, *p;

	if (st->nenv == PROXY_ENV_MAX) {
		fail(st, "v2 header has more than %d TLVs porterd keeps",
		    PROXY_ENV_MAX);
		return -1;
	}
	for (i = 0; i < len; i++)
		if (val[i] < 0x20 || val[i] > 0x7e)
			printable = false;
	size = nlen + (printable ? 0 : 4) + 1 + (printable ? len : 2 * len) + 1;
	if ((s = malloc(size)) == NULL) {
		fail(st, "out of memory");
		return -1;
	}
	p = s + nlen;
	memcpy(s, name, nlen);
	if (!printable) {
		memcpy(p, "_HEX", 4);
		p += 4;
	}
	*p++ = '=';
	for (i = 0; i < len; i++) {
		if (printable)
			*p++ = (char)val[i];
		else {
			*p++ = hex[val[i] >> 4];
			*p++ = hex[val[i] & 15];
		}
	}
	*p = '\0';
	st->env[st->nenv++] = s;
	return 0;
}

static int
env_addf(struct proxy_state *st, const char *name, unsigned long v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lu", v);
	return env_add(st, name, (const uint8_t *)num, strlen(num));
}

/* The SSL TLV: client flags, verify result, then sub-TLVs. */
static int
v2_ssl(struct proxy_state *st, const uint8_t *v, size_t len)
{
	static const struct { uint8_t type; const char *name; } subs[] = {
		{ PP2_SUBTYPE_SSL_VERSION, "PROXY_SSL_VERSION" },
		{ PP2_SUBTYPE_SSL_CN, "PROXY_SSL_CN" },
		{ PP2_SUBTYPE_SSL_CIPHER, "PROXY_SSL_CIPHER" },
		{ PP2_SUBTYPE_SSL_SIG_ALG, "PROXY_SSL_SIG_ALG" },
		{ PP2_SUBTYPE_SSL_KEY_ALG, "PROXY_SSL_KEY_ALG" },
	};
	uint32_t verify;
	size_t off, sl, i;

	if (len < 5) {
		fail(st, "v2 SSL TLV shorter than 5 bytes");
		return -1;
	}
	verify = (uint32_t)v[1] << 24 | (uint32_t)v[2] << 16 |
	    (uint32_t)v[3] << 8 | v[4];
	if (env_addf(st, "PROXY_SSL", (v[0] & PP2_CLIENT_SSL) ? 1 : 0) == -1 ||
	    env_addf(st, "PROXY_SSL_CLIENT_CERT",
	    (v[0] & (PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS)) ? 1 : 0) ==
	    -1 || env_addf(st, "PROXY_SSL_VERIFY", verify) == -1)
		return -1;
	for (off = 5; off < len; off += 3 + sl) {
		if (len - off < 3) {
			fail(st, "v2 SSL sub-TLV truncated");
			return -1;
		}
		sl = (size_t)v[off + 1] << 8 | v[off + 2];
		if (sl > len - off - 3) {
			fail(st, "v2 SSL sub-TLV 0x%02x length %zu overruns "
			    "its TLV", v[off], sl);
			return -1;
		}
		for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
			if (subs[i].type == v[off] &&
			    env_add(st, subs[i].name, v + off + 3, sl) == -1)
				return -1;
	}
	return 0;
}

static int
v2_tlvs(struct proxy_state *st, size_t off)
{
	uint8_t *b = st->buf;
	size_t end = st->have, len;
	const char *name;
	bool seen_crc = false;

	for (; off < end; off += 3 + len) {
		if (end - off < 3) {
			fail(st, "v2 TLV header truncated (%zu bytes left)",
			    end - off);
			return -1;
		}
		len = (size_t)b[off + 1] << 8 | b[off + 2];
		if (len > end - off - 3) {
			fail(st, "v2 TLV 0x%02x length %zu overruns the header",
			    b[off], len);
			return -1;
		}
		name = NULL;
		switch (b[off]) {
		case PP2_TYPE_ALPN:
			name = "PROXY_ALPN";
			break;
		case PP2_TYPE_AUTHORITY:
			name = "PROXY_AUTHORITY";
			break;
		case PP2_TYPE_UNIQUE_ID:
			if (len > PP2_UNIQUE_ID_MAX) {
				fail(st, "v2 unique id longer than %d bytes",
				    PP2_UNIQUE_ID_MAX);
				return -1;
			}
			name = "PROXY_UNIQUE_ID";
			break;
		case PP2_TYPE_NETNS:
			name = "PROXY_NETNS";
			break;
		case PP2_TYPE_SSL:
			if (v2_ssl(st, b + off + 3, len) == -1)
				return -1;
			break;
		case PP2_TYPE_CRC32C: {
			uint32_t want, got;

			if (len != 4 || seen_crc) {
				fail(st, "v2 CRC32C TLV malformed");
				return -1;
			}
			seen_crc = true;
			want = (uint32_t)b[off + 3] << 24 |
			    (uint32_t)b[off + 4] << 16 |
			    (uint32_t)b[off + 5] << 8 | b[off + 6];
			/* The checksum covers the header with this field 0. */
			memset(b + off + 3, 0, 4);
			got = proxy_crc32c(b, st->have);
			if (got != want) {
				fail(st, "v2 CRC32C mismatch (header says "
				    "%08x, is %08x)", want, got);
				return -1;
			}
			break;
		}
		default:	/* NOOP and unknown types are skipped */
			break;
		}
		if (name != NULL && env_add(st, name, b + off + 3, len) == -1)
			return -1;
	}
	return 0;
}

/* The whole header is in buf: check addresses and TLVs. */
static enum proxy_status
v2_parse(struct proxy_state *st)
{
	const uint8_t *b = st->buf;
	uint8_t cmd = b[12] & 0x0f, fam = b[13] >> 4, proto = b[13] & 0x0f;
	size_t len = st->have - V2_FIXED, need = 0;

	switch (fam) {
	case 0: need = 0; break;
	case 1: need = 12; break;
	case 2: need = 36; break;
	case 3: need = 216; break;
	}
	if (len < need)
		return fail(st, "v2 length %zu is too short for the %s "
		    "addresses (%zu bytes)", len, fam == 1 ? "IPv4" :
		    fam == 2 ? "IPv6" : "UNIX", need);
	if (v2_tlvs(st, V2_FIXED + need) == -1)
		return PROXY_ERROR;
	st->version = 2;
	/*
	 * LOCAL (health checks) and UNSPEC keep the connection's peer, and
	 * so does AF_UNIX: the spec lets a receiver fall back to UNSPEC for
	 * a family it does not support (HAProxy's own receiver does so), and
	 * a path is no client that the access lists, max-per-source or
	 * TCPREMOTEIP of a TCP service can judge or describe.
	 */
	if (cmd == 0 || fam == 0 || fam == 3) {
		st->local = true;
	} else {
		size_t al = fam == 1 ? 4 : 16;
		const uint8_t *p = b + V2_FIXED;

		set_inet(&st->src, fam == 1 ? AF_INET : AF_INET6, p,
		    (uint16_t)(p[2 * al] << 8 | p[2 * al + 1]));
		set_inet(&st->dst, fam == 1 ? AF_INET : AF_INET6, p + al,
		    (uint16_t)(p[2 * al + 2] << 8 | p[2 * al + 3]));
	}
	(void)proto;
	st->status = PROXY_DONE;
	return PROXY_DONE;
}

/* Checks the fixed part as far as it has arrived. */
static int
v2_check_fixed(struct proxy_state *st)
{
	const uint8_t *b = st->buf;
	size_t n = st->have < 12 ? st->have : 12;
	uint8_t fam, proto, cmd;

	if (memcmp(b, v2_sig, n) != 0) {
		fail(st, "bad v2 signature");
		return -1;
	}
	if (st->have > 12) {
		if ((b[12] >> 4) != 2) {
			fail(st, "v2 version %u is not 2", b[12] >> 4);
			return -1;
		}
		cmd = b[12] & 0x0f;
		if (cmd > 1) {
			fail(st, "v2 command %u is neither LOCAL nor PROXY",
			    cmd);
			return -1;
		}
	}
	if (st->have > 13) {
		fam = b[13] >> 4;
		proto = b[13] & 0x0f;
		cmd = b[12] & 0x0f;
		if (fam > 3) {
			fail(st, "v2 address family %u is unknown", fam);
			return -1;
		}
		if (proto > 2) {
			fail(st, "v2 transport %u is unknown", proto);
			return -1;
		}
		/* A stream connection carries stream addresses. */
		if (cmd == 1 && fam != 0 && proto != 1) {
			fail(st, "v2 transport %s on a stream connection",
			    proto == 2 ? "DGRAM" : "UNSPEC");
			return -1;
		}
	}
	if (st->have >= V2_FIXED) {
		size_t len = (size_t)b[14] << 8 | b[15];

		if (len > PROXY_V2_MAX_LEN) {
			fail(st, "v2 length %zu exceeds porterd's %d", len,
			    PROXY_V2_MAX_LEN);
			return -1;
		}
	}
	return 0;
}

static enum proxy_status
v2_feed(struct proxy_state *st, int fd)
{
	size_t need;
	ssize_t n;

	for (;;) {
		if (v2_check_fixed(st) == -1)
			return PROXY_ERROR;
		need = V2_FIXED;
		if (st->have >= V2_FIXED)
			need += (size_t)st->buf[14] << 8 | st->buf[15];
		if (st->have == need)
			return v2_parse(st);
		n = proxy_recv(st, fd, st->buf + st->have, need - st->have, 0);
		if (n <= 0)
			return n == 0 ? PROXY_NEED_MORE : PROXY_ERROR;
		st->have += (size_t)n;
	}
}

/* -------------------------------------------------------------- common */

enum proxy_status
proxy_feed(struct proxy_state *st, int fd)
{
	ssize_t n;

	if (st->status != PROXY_NEED_MORE)
		return st->status;
	if (st->have == 0) {
		/* Safe for either version: no header is shorter. */
		n = proxy_recv(st, fd, st->buf, st->mode == PROXY_V2 ?
		    V2_FIXED : PROXY_MIN_HEADER, 0);
		if (n <= 0)
			return n == 0 ? PROXY_NEED_MORE : PROXY_ERROR;
		st->have = (size_t)n;
	}
	if (st->buf[0] == 'P' && (st->mode & PROXY_V1))
		return v1_feed(st, fd);
	if (st->buf[0] == '\r' && (st->mode & PROXY_V2))
		return v2_feed(st, fd);
	if (st->mode == PROXY_V1)
		return fail(st, "bad v1 signature (no \"PROXY \")");
	if (st->mode == PROXY_V2)
		return fail(st, "bad v2 signature");
	return fail(st, "no PROXY header (neither v1 nor v2 signature)");
}

const char *
proxy_reason(const struct proxy_state *st)
{
	return st->reason;
}

int
proxy_version(const struct proxy_state *st)
{
	return st->status == PROXY_DONE ? st->version : 0;
}

bool
proxy_local(const struct proxy_state *st)
{
	return st->status == PROXY_DONE && st->local;
}

const pt_addr *
proxy_source(const struct proxy_state *st)
{
	return st->status == PROXY_DONE && !st->local ? &st->src : NULL;
}

const pt_addr *
proxy_dest(const struct proxy_state *st)
{
	return st->status == PROXY_DONE && !st->local ? &st->dst : NULL;
}

const char *const *
proxy_env(const struct proxy_state *st, size_t *ret_n)
{
	*ret_n = st->status == PROXY_DONE ? st->nenv : 0;
	return (const char *const *)st->env;
}

size_t
proxy_consumed(const struct proxy_state *st)
{
	return st->have;
}
