/*
 * conf_edge.c -- a service's PROXY protocol and TLS options (conf_edge.h):
 * words become values, CIDRs become canonical prefixes, and every option
 * that cannot apply to the service is refused here with its own line.
 * Files (certificate, key, ca) are only named here; edge.c reads them when
 * the running service is built, so a bad one fails a start, --check or a
 * reload with the line this file recorded.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf_priv.h"
#include "proxy.h"
#include "tls.h"

cfg_opt_t conf_edge_tls_opts[] = {
	CFG_STR("certificate", NULL, CFGF_NODEFAULT),
	CFG_STR("key", NULL, CFGF_NODEFAULT),
	CFG_STR("ca", NULL, CFGF_NODEFAULT),
	CFG_STR("verify-client", NULL, CFGF_NODEFAULT),
	CFG_STR("min-version", NULL, CFGF_NODEFAULT),
	CFG_STR("ciphers", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("alpn", NULL, CFGF_NODEFAULT),
	CFG_INT("handshake-timeout", 0, CFGF_NODEFAULT),
	CFG_END()
};

_Static_assert(sizeof(conf_edge_tls_opts) / sizeof(conf_edge_tls_opts[0]) ==
    TLS_NOPTS + 1, "conf_edge_tls_opts[] and enum conf_tls_opt disagree");

#define EDGE_PROXY_TIMEOUT	5	/* seconds, proxy-timeout's default */
#define EDGE_HANDSHAKE_TIMEOUT	10	/* seconds, handshake-timeout's */
#define EDGE_TIMEOUT_MAX	3600

struct edge_build {
	struct conf_load *ld;
	const struct conf_section *cs;
	cfg_t *sec;
	struct service *s;
	struct edge_spec *e;
};

/* The line of slot `slot` value `index`, else the section's. */
static int
edge_line(const struct edge_build *b, int slot, size_t index)
{
	return conf_line(&b->cs->lines[slot], index, b->cs->line);
}

static int CONF_PRINTF(4, 5)
edge_fail(struct edge_build *b, int slot, size_t index, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_error(b->ld, edge_line(b, slot, index), "service '%s': %s",
	    b->s->name, msg);
	return -1;
}

static bool
edge_given(cfg_t *sec, const char *name)
{
	return cfg_size(sec, name) > 0;
}

int
conf_edge_tls_slot(const char *name)
{
	int i;

	for (i = 0; i < TLS_NOPTS; i++)
		if (strcmp(conf_edge_tls_opts[i].name, name) == 0)
			return SVC_TLS_LINES + i;
	return -1;
}

/* A strdup that records "out of memory" on failure. */
static int
edge_dup(struct edge_build *b, const char *text, char **ret)
{
	if ((*ret = strdup(text)) == NULL)
		return edge_fail(b, SVC_NOPTS, 0, "out of memory");
	return 0;
}

/* Why this service cannot have `what`, or NULL if it can. */
static const char *
edge_unfit(const struct service *s, bool proxy)
{
	size_t i;

	if (s->socktype != SOCK_STREAM)
		return "applies to stream services only";
	if (s->wait)
		return "cannot apply to a wait service (its handler accepts "
		    "the connections itself)";
	if (proxy) {
		for (i = 0; i < s->nlistens; i++)
			if (s->listens[i].addr.ss.ss_family == AF_UNIX)
				return "cannot apply to a UNIX socket listen "
				    "entry (proxy-from names internet "
				    "addresses only)";
	}
	return NULL;
}

/* One proxy-from entry: a numeric address with an optional /prefix. */
static int
edge_cidr(struct edge_build *b, size_t index, const char *text,
    struct edge_cidr *c)
{
	static const uint8_t v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	const char *slash = strchr(text, '/');
	size_t hlen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	char host[INET6_ADDRSTRLEN], *end;
	unsigned long prefix;
	unsigned max, i;

	memset(c, 0, sizeof(*c));
	if (hlen >= sizeof(host))
		goto bad;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		goto bad;
	}
	prefix = max;
	if (slash != NULL) {
		errno = 0;
		if (!isdigit((unsigned char)slash[1]) ||
		    (prefix = strtoul(slash + 1, &end, 10), *end != '\0') ||
		    errno != 0 || prefix > max)
			return edge_fail(b, SVC_EDGE + EDGE_OPT_PROXY_FROM,
			    index, "proxy-from '%s': prefix length is not "
			    "0-%u", text, max);
	}
	/* As the access lists do: a v4-mapped prefix is an IPv4 one. */
	if (c->family == AF_INET6 && prefix >= 96 &&
	    memcmp(c->addr, v4mapped, 12) == 0) {
		memmove(c->addr, c->addr + 12, 4);
		memset(c->addr + 4, 0, 12);
		c->family = AF_INET;
		prefix -= 96;
	}
	c->prefix = (unsigned)prefix;
	for (i = 0; i < 16; i++) {
		if (c->prefix >= 8 * (i + 1))
			continue;
		if (c->prefix <= 8 * i)
			c->addr[i] = 0;
		else
			c->addr[i] &= (uint8_t)(0xff << (8 - (c->prefix - 8 * i)));
	}
	return 0;
bad:
	return edge_fail(b, SVC_EDGE + EDGE_OPT_PROXY_FROM, index,
	    "proxy-from '%s': not a numeric address/prefix (a balancer's "
	    "address is never looked up by name)", text);
}

/* A timeout option in seconds, 1..EDGE_TIMEOUT_MAX, or its default. */
static int
edge_secs(struct edge_build *b, cfg_t *sec, const char *name, int slot,
    unsigned def, unsigned *ret_ms)
{
	long v;

	if (!edge_given(sec, name)) {
		*ret_ms = def * 1000;
		return 0;
	}
	v = cfg_getint(sec, name);
	if (v < 1 || v > EDGE_TIMEOUT_MAX)
		return edge_fail(b, slot, 0, "%s %ld: must be 1 to %d seconds",
		    name, v, EDGE_TIMEOUT_MAX);
	*ret_ms = (unsigned)v * 1000;
	return 0;
}

static int
edge_proxy(struct edge_build *b)
{
	struct edge_spec *e = b->e;
	const char *word, *why;
	size_t i, n;

	if (!edge_given(b->sec, "proxy-protocol")) {
		if (edge_given(b->sec, "proxy-from"))
			return edge_fail(b, SVC_EDGE + EDGE_OPT_PROXY_FROM, 0,
			    "proxy-from without proxy-protocol");
		if (edge_given(b->sec, "proxy-timeout"))
			return edge_fail(b, SVC_EDGE + EDGE_OPT_PROXY_TIMEOUT,
			    0, "proxy-timeout without proxy-protocol");
		return 0;
	}
	word = cfg_getstr(b->sec, "proxy-protocol");
	if (strcmp(word, "v1") == 0)
		e->proxy = PROXY_V1;
	else if (strcmp(word, "v2") == 0)
		e->proxy = PROXY_V2;
	else if (strcmp(word, "any") == 0)
		e->proxy = PROXY_ANY;
	else
		return edge_fail(b, SVC_EDGE + EDGE_OPT_PROXY, 0,
		    "proxy-protocol '%s': v1, v2 or any", word);
	if ((why = edge_unfit(b->s, true)) != NULL)
		return edge_fail(b, SVC_EDGE + EDGE_OPT_PROXY, 0,
		    "proxy-protocol %s", why);
	if ((n = cfg_size(b->sec, "proxy-from")) == 0)
		return edge_fail(b, SVC_EDGE + EDGE_OPT_PROXY, 0,
		    "proxy-protocol needs proxy-from (the balancers allowed "
		    "to send a header)");
	if ((e->proxy_from = calloc(n, sizeof(*e->proxy_from))) == NULL)
		return edge_fail(b, SVC_NOPTS, 0, "out of memory");
	for (i = 0; i < n; i++) {
		if (edge_cidr(b, i, cfg_getnstr(b->sec, "proxy-from", i),
		    &e->proxy_from[i]) == -1)
			return -1;
		e->nproxy_from++;
	}
	return edge_secs(b, b->sec, "proxy-timeout",
	    SVC_EDGE + EDGE_OPT_PROXY_TIMEOUT, EDGE_PROXY_TIMEOUT,
	    &e->proxy_ms);
}

/* An optional string of the tls section into *ret. */
static int
edge_tls_str(struct edge_build *b, cfg_t *t, int opt, char **ret)
{
	const char *name = conf_edge_tls_opts[opt].name;
	const char *v;

	if (!edge_given(t, name))
		return 0;
	v = cfg_getstr(t, name);
	if (v[0] == '\0')
		return edge_fail(b, SVC_TLS_LINES + opt, 0, "tls %s is empty",
		    name);
	return edge_dup(b, v, ret);
}

static int
edge_tls(struct edge_build *b)
{
	struct edge_tls_spec *ts = &b->e->t;
	const char *why, *word;
	cfg_t *t;
	size_t i, n;
	int opt;

	if (!edge_given(b->sec, "tls"))
		return 0;
	b->e->tls = true;
	t = cfg_getsec(b->sec, "tls");
	ts->line = edge_line(b, SVC_EDGE + EDGE_OPT_TLS, 0);
	for (opt = 0; opt < TLS_NOPTS; opt++)
		ts->lines[opt] = conf_line(&b->cs->lines[SVC_TLS_LINES + opt],
		    0, ts->line);
	if ((why = edge_unfit(b->s, false)) != NULL)
		return edge_fail(b, SVC_EDGE + EDGE_OPT_TLS, 0, "tls %s", why);
	if (!edge_given(t, "certificate"))
		return edge_fail(b, SVC_EDGE + EDGE_OPT_TLS, 0,
		    "tls needs a certificate");
	if (!edge_given(t, "key"))
		return edge_fail(b, SVC_EDGE + EDGE_OPT_TLS, 0,
		    "tls needs a key");
	if (edge_tls_str(b, t, TLS_OPT_CERTIFICATE, &ts->certificate) == -1 ||
	    edge_tls_str(b, t, TLS_OPT_KEY, &ts->key) == -1 ||
	    edge_tls_str(b, t, TLS_OPT_CA, &ts->ca) == -1 ||
	    edge_tls_str(b, t, TLS_OPT_CIPHERS, &ts->ciphers) == -1 ||
	    edge_tls_str(b, t, TLS_OPT_MIN_VERSION, &ts->min_version) == -1)
		return -1;
	if (ts->min_version != NULL && strcmp(ts->min_version, "TLSv1.2") != 0 &&
	    strcmp(ts->min_version, "TLSv1.3") != 0)
		return edge_fail(b, SVC_TLS_LINES + TLS_OPT_MIN_VERSION, 0,
		    "tls min-version '%s': TLSv1.2 or TLSv1.3",
		    ts->min_version);
	ts->verify = TLS_VERIFY_NONE;
	if (edge_given(t, "verify-client")) {
		word = cfg_getstr(t, "verify-client");
		if (strcmp(word, "none") == 0)
			ts->verify = TLS_VERIFY_NONE;
		else if (strcmp(word, "optional") == 0)
			ts->verify = TLS_VERIFY_OPTIONAL;
		else if (strcmp(word, "require") == 0)
			ts->verify = TLS_VERIFY_REQUIRE;
		else
			return edge_fail(b, SVC_TLS_LINES + TLS_OPT_VERIFY, 0,
			    "tls verify-client '%s': none, optional or "
			    "require", word);
		if (ts->verify != TLS_VERIFY_NONE && ts->ca == NULL)
			return edge_fail(b, SVC_TLS_LINES + TLS_OPT_VERIFY, 0,
			    "tls verify-client %s needs ca (the CAs client "
			    "certificates must chain to)", word);
	}
	if ((n = cfg_size(t, "alpn")) > 0) {
		if ((ts->alpn = calloc(n + 1, sizeof(*ts->alpn))) == NULL)
			return edge_fail(b, SVC_NOPTS, 0, "out of memory");
		for (i = 0; i < n; i++) {
			const char *p = cfg_getnstr(t, "alpn", i);

			if (p[0] == '\0' || strlen(p) > 255)
				return edge_fail(b, SVC_TLS_LINES +
				    TLS_OPT_ALPN, 0, "tls alpn '%s': a protocol "
				    "name is 1 to 255 bytes", p);
			if (edge_dup(b, p, &ts->alpn[i]) == -1)
				return -1;
			ts->nalpn++;
		}
	}
	return edge_secs(b, t, "handshake-timeout",
	    SVC_TLS_LINES + TLS_OPT_HANDSHAKE_TIMEOUT, EDGE_HANDSHAKE_TIMEOUT,
	    &ts->handshake_ms);
}

int
conf_edge_service(struct conf_load *ld, const struct conf_section *cs,
    struct service *s)
{
	struct edge_build b = { .ld = ld, .cs = cs, .sec = cs->sec, .s = s };
	int i;

	for (i = 0; i < EDGE_NOPTS; i++)
		if (edge_given(b.sec, conf_service_schema()[SVC_EDGE + i].name))
			break;
	if (i == EDGE_NOPTS)
		return 0;
	if ((s->edge = calloc(1, sizeof(*s->edge))) == NULL)
		return edge_fail(&b, SVC_NOPTS, 0, "out of memory");
	b.e = s->edge;
	if (edge_proxy(&b) == -1 || edge_tls(&b) == -1)
		return -1;
	/* A banner would go out before the PROXY header and the handshake. */
	if (s->banner != NULL || s->banner_success != NULL ||
	    s->banner_fail != NULL)
		return edge_fail(&b, s->banner != NULL ? SVC_BANNER :
		    s->banner_success != NULL ? SVC_BANNER_SUCCESS :
		    SVC_BANNER_FAIL, 0, "banner files cannot be combined with "
		    "proxy-protocol or tls (they would be written before the "
		    "PROXY header is read and the TLS handshake is done)");
	return 0;
}

void
conf_edge_free(struct edge_spec *e)
{
	size_t i;

	if (e == NULL)
		return;
	free(e->proxy_from);
	free(e->t.certificate);
	free(e->t.key);
	free(e->t.ca);
	free(e->t.min_version);
	free(e->t.ciphers);
	for (i = 0; e->t.alpn != NULL && e->t.alpn[i] != NULL; i++)
		free(e->t.alpn[i]);
	free(e->t.alpn);
	free(e);
}

bool
conf_edge_from(const struct edge_spec *e, int family, const uint8_t addr[16])
{
	const struct edge_cidr *c;
	unsigned bytes, bits;
	size_t i;

	for (i = 0; i < e->nproxy_from; i++) {
		c = &e->proxy_from[i];
		if (c->family != family)
			continue;
		bytes = c->prefix / 8;
		bits = c->prefix % 8;
		if (memcmp(c->addr, addr, bytes) != 0)
			continue;
		if (bits == 0 || ((c->addr[bytes] ^ addr[bytes]) &
		    (uint8_t)(0xff << (8 - bits))) == 0)
			return true;
	}
	return false;
}
