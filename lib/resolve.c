/*
 * resolve.c -- the module's resolver functions: gethostbyname(_ex),
 * gethostbyaddr, gethostname, getprotobyname, getservbyname, and the
 * getaddrinfo/getnameinfo/inet_pton/inet_ntop wrappers.
 *
 * The seed's functions were built on gethostbyname(3) and friends, which
 * return static storage and are not thread-safe.  Here every host lookup
 * goes through getaddrinfo()/getnameinfo() and the database lookups use
 * the *_r variants, so all of it is re-entrant and nothing is global.  The
 * price is that getaddrinfo has no notion of host aliases: the hostent's
 * alias list is reduced to what can be known (see pt_gethostbyname_ex).
 * Results are always fresh allocations the caller frees.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "porter/socket.h"
#include "internal.h"

/* Start size of the *_r buffers; doubled on ERANGE up to the cap. */
#define DB_BUFLEN	1024
#define DB_BUFMAX	(1024 * 1024)

int
ptl_gai_error(pt_error *err, int rc, const char *fmt, ...)
{
	char what[PT_ERROR_MSGLEN], reason[128];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (rc == EAI_SYSTEM)
		ptl_strerror(saved, reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "%s", gai_strerror(rc));
	pt_error_set(err, PT_ERR_RESOLVER, rc, "%s: %s", what, reason);
	/* EAI_SYSTEM carries a real errno: the caller may want it. */
	if (rc == EAI_SYSTEM)
		errno = saved;
	return -1;
}

/* A growing NULL-terminated string array, the hostent's lists. */
struct strvec {
	char **v;
	size_t n;
	size_t cap;
};

/* Appends a copy of s unless it is already present.  0, or -1 (ENOMEM). */
static int
strvec_add(struct strvec *sv, const char *s)
{
	char **nv;
	size_t i;

	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return 0;
	if (sv->n + 2 > sv->cap) {
		nv = realloc(sv->v, (sv->cap + 4) * sizeof(*nv));
		if (nv == NULL)
			return -1;
		sv->v = nv;
		sv->cap += 4;
	}
	if ((sv->v[sv->n] = strdup(s)) == NULL)
		return -1;
	sv->v[++sv->n] = NULL;
	return 0;
}

/* An empty list is still an array holding the NULL terminator. */
static char **
strvec_finish(struct strvec *sv)
{
	char **v;

	if (sv->v == NULL && (sv->v = calloc(1, sizeof(*sv->v))) == NULL)
		return NULL;
	v = sv->v;
	sv->v = NULL;
	sv->n = sv->cap = 0;
	return v;
}

static void
strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
pt_hostent_free(pt_hostent *h)
{
	if (h == NULL)
		return;
	free(h->name);
	strv_free(h->aliases);
	strv_free(h->addrs);
	free(h);
}

/*
 * Adds the numeric text of each getaddrinfo result of `family` to sv,
 * skipping repeats.  Returns 0, or -1 when out of memory.
 */
static int
add_forward(struct strvec *sv, const struct addrinfo *res, int family)
{
	char host[NI_MAXHOST];

	for (; res != NULL; res = res->ai_next) {
		if (res->ai_family != family)
			continue;
		if (getnameinfo(res->ai_addr, res->ai_addrlen, host,
		    sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
			continue;
		if (strvec_add(sv, host) < 0)
			return -1;
	}
	return 0;
}

char *
pt_gethostbyname(const char *name, pt_error *err)
{
	char what[PT_ERROR_MSGLEN], buf[INET_ADDRSTRLEN];
	pt_addr a;
	char *r;

	snprintf(what, sizeof(what), "gethostbyname %s", name ? name : "");
	/* Same rules as a bind address: "", "<broadcast>", numeric, name. */
	if (ptl_addr_inet(&a, AF_INET, name, 0, what, err) < 0)
		return NULL;
	if (pt_addr_host(&a, buf, sizeof(buf), err) == NULL)
		return NULL;
	if ((r = strdup(buf)) == NULL)
		pt_error_os(err, ENOMEM, "%s", what);
	return r;
}

pt_hostent *
pt_gethostbyname_ex(const char *name, pt_error *err)
{
	struct strvec aliases = { 0 }, addrs = { 0 };
	struct addrinfo hints, *res = NULL;
	pt_hostent *h = NULL;
	const char *query, *canon;
	int rc;

	if (name == NULL)
		name = "";
	/* The seed's special hosts, as pt_gethostbyname() knows them. */
	query = name[0] == '\0' ? "0.0.0.0" :
	    strcmp(name, "<broadcast>") == 0 ? "255.255.255.255" : name;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;	/* one row per address */
	hints.ai_flags = AI_CANONNAME;
	rc = getaddrinfo(query, NULL, &hints, &res);
	if (rc != 0) {
		ptl_gai_error(err, rc, "gethostbyname_ex %s", name);
		return NULL;
	}
	canon = res->ai_canonname != NULL ? res->ai_canonname : query;
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->name = strdup(canon)) == NULL)
		goto fail;
	/* getaddrinfo reports no aliases; the name asked for is one. */
	if (strcmp(query, canon) != 0 && strvec_add(&aliases, query) < 0)
		goto fail;
	if (add_forward(&addrs, res, AF_INET) < 0)
		goto fail;
	if ((h->aliases = strvec_finish(&aliases)) == NULL ||
	    (h->addrs = strvec_finish(&addrs)) == NULL)
		goto fail;
	freeaddrinfo(res);
	return h;

fail:
	pt_error_os(err, ENOMEM, "gethostbyname_ex %s", name);
	strv_free(aliases.v);
	strv_free(addrs.v);
	pt_hostent_free(h);
	freeaddrinfo(res);
	return NULL;
}

pt_hostent *
pt_gethostbyaddr(const char *addr, pt_error *err)
{
	struct strvec addrs = { 0 };
	struct addrinfo hints, *res = NULL;
	char what[PT_ERROR_MSGLEN], host[NI_MAXHOST];
	char num[INET6_ADDRSTRLEN + 16];
	pt_hostent *h = NULL;
	pt_addr a;
	int rc;

	snprintf(what, sizeof(what), "gethostbyaddr %s", addr ? addr : "");
	/* Numeric text converts locally; a name is resolved first. */
	if (ptl_addr_inet(&a, AF_UNSPEC, addr, 0, what, err) < 0)
		return NULL;
	rc = getnameinfo((struct sockaddr *)&a.ss, a.len, host, sizeof(host),
	    NULL, 0, NI_NAMEREQD);
	if (rc != 0) {
		ptl_gai_error(err, rc, "%s", what);
		return NULL;
	}
	if (pt_addr_host(&a, num, sizeof(num), err) == NULL)
		return NULL;

	/*
	 * The address asked about comes first, whatever the forward lookup
	 * of the name says (it may fail, or list other addresses only).
	 */
	if (strvec_add(&addrs, num) < 0)
		goto fail;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = pt_addr_family(&a);
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		res = NULL;
	else if (add_forward(&addrs, res, hints.ai_family) < 0)
		goto fail;
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->name = strdup(host)) == NULL ||
	    (h->aliases = calloc(1, sizeof(*h->aliases))) == NULL ||
	    (h->addrs = strvec_finish(&addrs)) == NULL)
		goto fail;
	if (res != NULL)
		freeaddrinfo(res);
	return h;

fail:
	pt_error_os(err, ENOMEM, "%s", what);
	strv_free(addrs.v);
	pt_hostent_free(h);
	if (res != NULL)
		freeaddrinfo(res);
	return NULL;
}

char *
pt_gethostname(pt_error *err)
{
	char buf[HOST_NAME_MAX + 1];
	char *r;

	if (gethostname(buf, sizeof(buf)) < 0) {
		pt_error_os(err, errno, "gethostname");
		return NULL;
	}
	/* POSIX leaves a truncated name unterminated. */
	buf[sizeof(buf) - 1] = '\0';
	if ((r = strdup(buf)) == NULL)
		pt_error_os(err, ENOMEM, "gethostname");
	return r;
}

int
pt_getprotobyname(const char *name, pt_error *err)
{
	struct protoent pe, *res = NULL;
	size_t len = DB_BUFLEN;
	char *buf = NULL, *nbuf;
	int rc, r = -1;

	if (name == NULL)
		name = "";
	/* The entry's strings live in buf; grow it until they fit. */
	do {
		if ((nbuf = realloc(buf, len)) == NULL) {
			pt_error_os(err, ENOMEM, "getprotobyname '%s'", name);
			goto fail;
		}
		buf = nbuf;
		rc = getprotobyname_r(name, &pe, buf, len, &res);
		len *= 2;
	} while (rc == ERANGE && len <= DB_BUFMAX);
	if (res == NULL) {
		pt_error_set(err, PT_ERR_ARG, ENOENT,
		    "getprotobyname '%s': protocol not found", name);
		goto fail;
	}
	r = pe.p_proto;
fail:
	free(buf);
	return r;
}

int
pt_getservbyname(const char *name, const char *proto, pt_error *err)
{
	struct servent se, *res = NULL;
	size_t len = DB_BUFLEN;
	char *buf = NULL, *nbuf;
	int rc, r = -1;

	if (name == NULL)
		name = "";
	do {
		if ((nbuf = realloc(buf, len)) == NULL) {
			pt_error_os(err, ENOMEM, "getservbyname %s%s%s", name,
			    proto ? "/" : "", proto ? proto : "");
			goto fail;
		}
		buf = nbuf;
		rc = getservbyname_r(name, proto, &se, buf, len, &res);
		len *= 2;
	} while (rc == ERANGE && len <= DB_BUFMAX);
	if (res == NULL) {
		pt_error_set(err, PT_ERR_ARG, ENOENT,
		    "getservbyname %s%s%s: service not found", name,
		    proto ? "/" : "", proto ? proto : "");
		goto fail;
	}
	r = ntohs((uint16_t)se.s_port);
fail:
	free(buf);
	return r;
}

void
pt_addrinfo_free(pt_addrinfo *ai)
{
	pt_addrinfo *next;

	for (; ai != NULL; ai = next) {
		next = ai->next;
		free(ai->canonname);
		free(ai);
	}
}

pt_addrinfo *
pt_getaddrinfo(const char *host, const char *port, int family, int type,
    int proto, int flags, pt_error *err)
{
	struct addrinfo hints, *res = NULL, *r;
	pt_addrinfo *head = NULL, **tail = &head, *ai;
	int rc, v6 = host != NULL && strchr(host, ':') != NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = type;
	hints.ai_protocol = proto;
	hints.ai_flags = flags;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		/* "[::1]:7" style, so the port cannot be read as address. */
		ptl_gai_error(err, rc, "getaddrinfo %s%s%s:%s", v6 ? "[" : "",
		    host ? host : "*", v6 ? "]" : "", port ? port : "*");
		return NULL;
	}
	for (r = res; r != NULL; r = r->ai_next) {
		if (r->ai_addrlen > sizeof(ai->addr.ss))
			continue;	/* no family of ours is this large */
		if ((ai = calloc(1, sizeof(*ai))) == NULL)
			goto fail;
		*tail = ai;
		tail = &ai->next;
		ai->family = r->ai_family;
		ai->type = r->ai_socktype;
		ai->proto = r->ai_protocol;
		memcpy(&ai->addr.ss, r->ai_addr, r->ai_addrlen);
		ai->addr.len = r->ai_addrlen;
		if (r == res && r->ai_canonname != NULL &&
		    (ai->canonname = strdup(r->ai_canonname)) == NULL)
			goto fail;
	}
	freeaddrinfo(res);
	return head;

fail:
	pt_error_os(err, ENOMEM, "getaddrinfo %s", host ? host : "*");
	pt_addrinfo_free(head);
	freeaddrinfo(res);
	return NULL;
}

int
pt_getnameinfo(const pt_addr *addr, int flags, char *host, size_t hostlen,
    char *serv, size_t servlen, pt_error *err)
{
	char text[PT_ADDRSTRLEN];
	int rc;

	if (addr == NULL || addr->len == 0)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "getnameinfo: empty address");
	rc = getnameinfo((const struct sockaddr *)&addr->ss, addr->len,
	    host, (socklen_t)hostlen, serv, (socklen_t)servlen, flags);
	if (rc != 0)
		return ptl_gai_error(err, rc, "getnameinfo %s",
		    pt_addr_format(addr, text, sizeof(text)));
	return 0;
}

static const char *
family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

int
pt_inet_pton(int family, const char *src, void *dst, pt_error *err)
{
	if (family != AF_INET && family != AF_INET6)
		return pt_error_set(err, PT_ERR_ARG, EAFNOSUPPORT,
		    "inet_pton: address family %d not supported", family);
	if (src == NULL || inet_pton(family, src, dst) != 1)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "inet_pton '%s': not a valid %s address",
		    src ? src : "", family_name(family));
	return 0;
}

char *
pt_inet_ntop(int family, const void *src, char *dst, size_t len,
    pt_error *err)
{
	if (family != AF_INET && family != AF_INET6) {
		pt_error_set(err, PT_ERR_ARG, EAFNOSUPPORT,
		    "inet_ntop: address family %d not supported", family);
		return NULL;
	}
	/* socklen_t is narrower than size_t; any huge buffer is enough. */
	if (len > INET6_ADDRSTRLEN)
		len = INET6_ADDRSTRLEN;
	if (inet_ntop(family, src, dst, (socklen_t)len) == NULL) {
		pt_error_set(err, PT_ERR_ARG, ENOSPC,
		    "inet_ntop: buffer of %zu bytes too small for an %s "
		    "address", len, family_name(family));
		return NULL;
	}
	return dst;
}
