/*
 * addr.c -- socket addresses as values (pt_addr): building, parsing,
 * formatting and inspecting them, plus the byte-order helpers.
 *
 * Internet addresses follow the seed's setipaddr() rules: "" is the
 * wildcard, "<broadcast>" (and "255.255.255.255") is INADDR_BROADCAST for
 * IPv4 only, numeric text is converted with inet_pton() so no resolver is
 * ever consulted for it, and only real names go to getaddrinfo().  AF_UNIX
 * addresses are a path, or "@name" for a Linux abstract name, whose length
 * must be exact because the kernel counts every byte of it.  pt_addr_parse()
 * reads the textual forms of the config ("1.2.3.4:7", "[::1]:7", "*:7",
 * "/path", "@name") and every message it produces quotes the whole text,
 * since that is what the user wrote and will search for.  Nothing here keeps
 * state; the resolver calls are getaddrinfo() and getservbyname_r().
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "porter/socket.h"
#include "internal.h"

/* Flags for inet_build(). */
#define INET_NUMERIC	0x1	/* never resolve: reject anything non-numeric */

/* The offset of sun_path: a length at or below it is an unnamed socket. */
#define SUN_OFF		offsetof(struct sockaddr_un, sun_path)
#define SUN_MAX		sizeof(((struct sockaddr_un *)0)->sun_path)

uint32_t
pt_ntohl(uint32_t x)
{
	return ntohl(x);
}

uint16_t
pt_ntohs(uint16_t x)
{
	return ntohs(x);
}

uint32_t
pt_htonl(uint32_t x)
{
	return htonl(x);
}

uint16_t
pt_htons(uint16_t x)
{
	return htons(x);
}

static void
set_in4(pt_addr *out, const struct in_addr *ia, int port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;

	memset(out, 0, sizeof(*out));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	sin->sin_addr = *ia;
	out->len = sizeof(*sin);
}

static void
set_in6(pt_addr *out, const struct in6_addr *ia, int port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

	memset(out, 0, sizeof(*out));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	sin6->sin6_addr = *ia;
	out->len = sizeof(*sin6);
}

/*
 * The (host, port) -> address conversion behind pt_addr_inet(),
 * pt_addr_parse() and the gethostby* functions.  Every message starts with
 * `what`, so each caller names its own operation and subject.
 */
static int
inet_build(pt_addr *out, int family, const char *host, int port, int flags,
    const char *what, pt_error *err)
{
	struct addrinfo hints, *res = NULL;
	struct in_addr a4;
	struct in6_addr a6;
	int rc;

	if (family != AF_INET && family != AF_INET6 && family != AF_UNSPEC)
		return pt_error_set(err, PT_ERR_ARG, EAFNOSUPPORT,
		    "%s: address family %d not supported", what, family);
	if (port < 0 || port > 65535)
		return pt_error_set(err, PT_ERR_ARG, ERANGE,
		    "%s: port %d out of range", what, port);
	if (host == NULL)
		host = "";

	/*
	 * The special forms are decided here rather than by getaddrinfo
	 * (AI_PASSIVE): the result is then fixed and needs no resolver.
	 * AF_UNSPEC means IPv4 for them, as in the seed.
	 */
	if (host[0] == '\0') {
		if (family == AF_INET6) {
			set_in6(out, &in6addr_any, port);
		} else {
			a4.s_addr = htonl(INADDR_ANY);
			set_in4(out, &a4, port);
		}
		return 0;
	}
	if (strcmp(host, "<broadcast>") == 0 ||
	    strcmp(host, "255.255.255.255") == 0) {
		if (family == AF_INET6)
			return pt_error_set(err, PT_ERR_ARG, EAFNOSUPPORT,
			    "%s: broadcast is IPv4 only", what);
		a4.s_addr = htonl(INADDR_BROADCAST);
		set_in4(out, &a4, port);
		return 0;
	}

	if (family != AF_INET6 && inet_pton(AF_INET, host, &a4) == 1) {
		set_in4(out, &a4, port);
		return 0;
	}
	if (family != AF_INET && inet_pton(AF_INET6, host, &a6) == 1) {
		set_in6(out, &a6, port);
		return 0;
	}
	/*
	 * Numeric text of the other family is a caller mistake; say so
	 * instead of letting the resolver report a vaguer "address family
	 * for hostname not supported".
	 */
	if (family == AF_INET6 && inet_pton(AF_INET, host, &a4) == 1)
		return pt_error_set(err, PT_ERR_ARG, EAFNOSUPPORT,
		    "%s: not an IPv6 address", what);
	if (family == AF_INET && inet_pton(AF_INET6, host, &a6) == 1)
		return pt_error_set(err, PT_ERR_ARG, EAFNOSUPPORT,
		    "%s: not an IPv4 address", what);

	/*
	 * Left: names, scoped IPv6 ("fe80::1%eth0", which inet_pton does not
	 * take) and the short inet_aton forms ("127.1").  getaddrinfo handles
	 * the last two locally; with INET_NUMERIC it must not go further.
	 */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;	/* one row per address */
	if (flags & INET_NUMERIC)
		hints.ai_flags = AI_NUMERICHOST;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0)
		return ptl_gai_error(err, rc, "%s", what);
	/* Rebuilt, not copied: only the address part is the resolver's. */
	if (res->ai_family == AF_INET) {
		set_in4(out, &((struct sockaddr_in *)res->ai_addr)->sin_addr,
		    port);
	} else {
		set_in6(out, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr,
		    port);
		((struct sockaddr_in6 *)&out->ss)->sin6_scope_id =
		    ((struct sockaddr_in6 *)res->ai_addr)->sin6_scope_id;
	}
	freeaddrinfo(res);
	return 0;
}

int
ptl_addr_inet(pt_addr *out, int family, const char *host, int port,
    const char *what, pt_error *err)
{
	return inet_build(out, family, host, port, 0, what, err);
}

int
pt_addr_inet(pt_addr *out, int family, const char *host, int port,
    pt_error *err)
{
	char what[PT_ERROR_MSGLEN];

	snprintf(what, sizeof(what), "host '%s'", host != NULL ? host : "");
	return inet_build(out, family, host, port, 0, what, err);
}

/* `what` NULL gives the bare messages the header documents. */
static int
unix_build(pt_addr *out, const char *path, const char *what, pt_error *err)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
	size_t n;

	if (path == NULL || path[0] == '\0')
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "%s%sAF_UNIX path is empty", what ? what : "",
		    what ? ": " : "");
	n = strlen(path);
	/*
	 * A path keeps its NUL inside sun_path, so the text of any address
	 * this builds can be read back as a string; an abstract name has no
	 * terminator (its length is the name), and its '@' becomes the
	 * leading NUL, so all of sun_path is available to it.
	 */
	if (n > (path[0] == '@' ? SUN_MAX : SUN_MAX - 1))
		return pt_error_set(err, PT_ERR_ARG, ENAMETOOLONG,
		    "%s%sAF_UNIX path too long", what ? what : "",
		    what ? ": " : "");
	memset(out, 0, sizeof(*out));
	sun->sun_family = AF_UNIX;
	if (path[0] == '@') {
		memcpy(sun->sun_path + 1, path + 1, n - 1);
		out->len = (socklen_t)(SUN_OFF + n);
	} else {
		memcpy(sun->sun_path, path, n);
		out->len = (socklen_t)(SUN_OFF + n + 1);
	}
	return 0;
}

int
pt_addr_unix(pt_addr *out, const char *path, pt_error *err)
{
	return unix_build(out, path, NULL, err);
}

/*
 * Port text: digits, or a service name for socktype.  Anything starting
 * with a digit or a sign can be no service name, so it is a bad port.
 */
static int
parse_port(const char *text, const char *port, int socktype, pt_error *err)
{
	const char *p;
	long v = 0;
	int r;

	if (port[0] == '\0')
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "address '%s': missing port", text);
	if ((port[0] >= '0' && port[0] <= '9') || port[0] == '-' ||
	    port[0] == '+') {
		for (p = port; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				return pt_error_set(err, PT_ERR_ARG, EINVAL,
				    "address '%s': bad port '%s'", text, port);
			if (v <= 65535)	/* stop growing: no overflow */
				v = v * 10 + (*p - '0');
		}
		if (v > 65535)
			return pt_error_set(err, PT_ERR_ARG, ERANGE,
			    "address '%s': port out of range", text);
		return (int)v;
	}
	r = pt_getservbyname(port, socktype == SOCK_DGRAM ? "udp" : "tcp",
	    NULL);
	if (r < 0)
		return pt_error_set(err, PT_ERR_ARG, ENOENT,
		    "address '%s': unknown service '%s'", text, port);
	return r;
}

static int
default_port(const char *text, int dflt, pt_error *err)
{
	if (dflt < 0)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "address '%s': missing port", text);
	if (dflt > 65535)
		return pt_error_set(err, PT_ERR_ARG, ERANGE,
		    "address '%s': port out of range", text);
	return dflt;
}

int
pt_addr_parse(pt_addr *out, const char *text, int dflt_port, int socktype,
    pt_error *err)
{
	char what[PT_ERROR_MSGLEN];
	char host[NI_MAXHOST];		/* longer than any DNS name */
	const char *h, *colon, *end, *rest;
	int bare6 = 0, family = AF_INET, flags = 0, port;
	size_t n;

	if (text == NULL)
		text = "";
	snprintf(what, sizeof(what), "address '%s'", text);
	if (text[0] == '\0')
		return pt_error_set(err, PT_ERR_ARG, EINVAL, "%s: empty", what);
	if (text[0] == '/' || text[0] == '@')
		return unix_build(out, text, what, err);

	if (text[0] == '[') {
		end = strchr(text, ']');
		if (end == NULL)
			return pt_error_set(err, PT_ERR_ARG, EINVAL,
			    "%s: missing ']'", what);
		if (end[1] != '\0' && end[1] != ':')
			return pt_error_set(err, PT_ERR_ARG, EINVAL,
			    "%s: expected ':' after ']'", what);
		h = text + 1;
		n = (size_t)(end - h);
		rest = end[1] == ':' ? end + 2 : NULL;
		family = AF_INET6;
		flags = INET_NUMERIC;	/* an address, never a name */
		if (n == 0)
			return pt_error_set(err, PT_ERR_ARG, EINVAL,
			    "%s: empty IPv6 address", what);
	} else {
		h = text;
		colon = strchr(text, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			/*
			 * Two colons and no brackets: acceptable only as one
			 * whole IPv6 address, because "::1:7" is itself an
			 * address and a port could never be told apart.
			 */
			n = strlen(text);
			rest = NULL;
			family = AF_INET6;
			flags = INET_NUMERIC;
			bare6 = 1;
		} else {
			n = colon ? (size_t)(colon - text) : strlen(text);
			rest = colon != NULL ? colon + 1 : NULL;
		}
	}
	if (n >= sizeof(host))
		return pt_error_set(err, PT_ERR_ARG, ENAMETOOLONG,
		    "%s: host name too long", what);
	memcpy(host, h, n);
	host[n] = '\0';
	if (family == AF_INET && strcmp(host, "*") == 0)
		host[0] = '\0';		/* inet_build's wildcard */

	port = rest != NULL ? parse_port(text, rest, socktype, err) :
	    default_port(text, dflt_port, err);
	if (port < 0)
		return -1;
	if (!bare6)
		return inet_build(out, family, host, port, flags, what, err);
	if (inet_build(out, family, host, port, flags, what, NULL) < 0)
		return pt_error_set(err, PT_ERR_ARG, EINVAL, "%s: bad address "
		    "(an IPv6 address with a port needs [brackets])", what);
	return 0;
}

/*
 * The text of an AF_UNIX name: the path up to its NUL (a path filling all
 * of sun_path has none), or '@' plus the abstract name, whose bytes are
 * all significant; any NUL inside it is shown as '@' as ss(8) does.
 * Returns the length written (excluding the NUL), or -1 if it did not fit.
 */
static int
unix_text(const pt_addr *addr, char *buf, size_t len)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&addr->ss;
	size_t i, n = addr->len - SUN_OFF;

	if (n > SUN_MAX)
		n = SUN_MAX;
	if (sun->sun_path[0] != '\0')
		n = strnlen(sun->sun_path, n);
	if (n + 1 > len)
		return -1;
	for (i = 0; i < n; i++)
		buf[i] = sun->sun_path[i] != '\0' ? sun->sun_path[i] : '@';
	buf[n] = '\0';
	return (int)n;
}

/* Host text of an internet address, with "%scope" when one is set. */
static int
inet_text(const pt_addr *addr, char *buf, size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&addr->ss;
	const struct sockaddr_in6 *sin6 =
	    (const struct sockaddr_in6 *)&addr->ss;
	char tmp[INET6_ADDRSTRLEN];
	int n;

	if (addr->ss.ss_family == AF_INET) {
		if (inet_ntop(AF_INET, &sin->sin_addr, tmp,
		    sizeof(tmp)) == NULL)
			return -1;
		n = snprintf(buf, len, "%s", tmp);
	} else {
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, tmp,
		    sizeof(tmp)) == NULL)
			return -1;
		/* Numeric scope: an interface name may be gone or renamed. */
		if (sin6->sin6_scope_id != 0)
			n = snprintf(buf, len, "%s%%%u", tmp,
			    (unsigned)sin6->sin6_scope_id);
		else
			n = snprintf(buf, len, "%s", tmp);
	}
	return (n < 0 || (size_t)n >= len) ? -1 : n;
}

char *
pt_addr_format(const pt_addr *addr, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN + 16];

	if (len == 0)
		return buf;
	switch (pt_addr_family(addr)) {
	case AF_INET:
		if (inet_text(addr, host, sizeof(host)) < 0)
			break;
		snprintf(buf, len, "%s:%d", host, pt_addr_port(addr));
		return buf;
	case AF_INET6:
		if (inet_text(addr, host, sizeof(host)) < 0)
			break;
		snprintf(buf, len, "[%s]:%d", host, pt_addr_port(addr));
		return buf;
	case AF_UNIX:
		if (addr->len <= SUN_OFF)
			snprintf(buf, len, "unix:unnamed");
		else if (unix_text(addr, buf, len) < 0)
			buf[0] = '\0';	/* too small a buffer: no half name */
		return buf;
	}
	snprintf(buf, len, "family:%d", pt_addr_family(addr));
	return buf;
}

int
pt_addr_family(const pt_addr *addr)
{
	if (addr == NULL || addr->len < sizeof(sa_family_t))
		return AF_UNSPEC;
	return addr->ss.ss_family;
}

char *
pt_addr_host(const pt_addr *addr, char *buf, size_t len, pt_error *err)
{
	int family = pt_addr_family(addr);
	int r;

	switch (family) {
	case AF_INET:
	case AF_INET6:
		r = inet_text(addr, buf, len);
		break;
	case AF_UNIX:
		/* Unnamed is "", as Python's getsockname() gives. */
		if (addr->len > SUN_OFF)
			r = unix_text(addr, buf, len);
		else if (len > 0)
			r = 0, buf[0] = '\0';
		else
			r = -1;
		break;
	default:
		pt_error_set(err, PT_ERR_ARG, EAFNOSUPPORT,
		    "address host: family %d not supported", family);
		return NULL;
	}
	if (r < 0) {
		pt_error_set(err, PT_ERR_ARG, ENOSPC,
		    "address host: buffer of %zu bytes too small", len);
		return NULL;
	}
	return buf;
}

int
pt_addr_port(const pt_addr *addr)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	switch (pt_addr_family(addr)) {
	case AF_INET:
		sin = (const struct sockaddr_in *)&addr->ss;
		return ntohs(sin->sin_port);
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)&addr->ss;
		return ntohs(sin6->sin6_port);
	}
	return -1;
}

int
pt_addr_equal(const pt_addr *a, const pt_addr *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->len == b->len && a->len <= sizeof(a->ss) &&
	    memcmp(&a->ss, &b->ss, a->len) == 0;
}

int
pt_addr_unmap(pt_addr *addr)
{
	const struct sockaddr_in6 *sin6;
	struct in_addr ia;
	int port;

	if (addr == NULL) {
		errno = EINVAL;
		return -1;
	}
	sin6 = (const struct sockaddr_in6 *)&addr->ss;
	if (addr->ss.ss_family != AF_INET6 || addr->len < sizeof(*sin6) ||
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return 0;
	memcpy(&ia, sin6->sin6_addr.s6_addr + 12, sizeof(ia));
	port = ntohs(sin6->sin6_port);
	set_in4(addr, &ia, port);
	return 1;
}
