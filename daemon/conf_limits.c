/*
 * conf_limits.c -- what a service admits: limits and access rules.
 *
 * The limit options (max-connections, reject-message, max-per-source,
 * ipv6-prefix, rate, burst, idle-timeout, max-lifetime) are read twice
 * with the same code: in the main file, over the built-in defaults, they
 * give the defaults every service starts from; in a section they override
 * those one by one, so a service that writes none inherits all.  Only
 * burst is not copied blindly: unless a non-zero one is written (0, the
 * default, means "derived"), it is max(1, ceil(rate)) of the scope's own
 * rate, since a bucket sized for the global rate is wrong for a service's
 * own.  Every default can be written out without changing anything.
 * The access rules are per service: `allow`/`deny` entries become
 * canonical CIDR prefixes (numeric only: a name would need DNS at load
 * time and could mean something else by the time a peer connects), and
 * `allow-uid`/`allow-gid` become ids for AF_UNIX peers.  Matching is the
 * daemon's (see struct acl_rule); everything here is checked at load so
 * that a typo is a "file:line:" message, not a rule that never matches.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf_priv.h"

/* The built-in defaults, which the global options override. */
#define LIM_DEF_MAX_CONNS	256
/*
 * One address alone cannot take a service's every slot: with the default
 * max-connections, it takes at most an eighth.  Generous for one host,
 * small enough to leave room for others; operators behind a large NAT
 * raise it (or set 0, unlimited).
 */
#define LIM_DEF_MAX_PER_SOURCE	32
#define LIM_DEF_IPV6_PREFIX	64

/*
 * The daemon writes a reject message with one non-blocking send on a
 * fresh connection, whose socket buffer always has room for this much.
 */
#define LIM_REJECT_MAX		1024

/* The limit options alone, for their names by enum conf_lim_opt. */
static cfg_opt_t lim_opts[] = {
	CONF_LIMIT_OPTS,
	CFG_END()
};

_Static_assert(sizeof(lim_opts) / sizeof(lim_opts[0]) == LIM_NOPTS + 1,
    "CONF_LIMIT_OPTS and enum conf_lim_opt disagree");

/* Where one scope's options are: the main file's or a section's. */
struct lim_scope {
	struct conf_load *ld;
	cfg_t *cfg;
	const struct conf_lines *lines;	/* the scope's line slots */
	int base;			/* ROOT_LIMITS or SVC_LIMITS */
	const char *svc;		/* the service; NULL: global */
	int line;			/* for a value with no line of its own */
};

int
conf_limits_slot(const char *option)
{
	int i;

	for (i = 0; i < LIM_NOPTS; i++) {
		if (strcmp(lim_opts[i].name, option) == 0)
			return i;
	}
	return -1;
}

/*
 * Reports the message at the line of value `index` of the option in line
 * slot `slot` (-1: the scope's own line), naming the service if any.
 * Returns -1.
 */
static int CONF_PRINTF(4, 5)
lim_fail(const struct lim_scope *sc, int slot, size_t index,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int line = sc->line;

	if (slot >= 0)
		line = conf_line(&sc->lines[slot], index, line);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sc->svc != NULL)
		conf_error(sc->ld, line, "service '%s': %s", sc->svc, msg);
	else
		conf_error(sc->ld, line, "%s", msg);
	return -1;
}

/* ------------------------------------------------------------------------
 * Limits
 * ---------------------------------------------------------------------- */

/*
 * Limit `opt` into *ret if the scope writes it, checked against
 * [min, max]; `unit` completes the range in the message.
 */
static int
lim_int(const struct lim_scope *sc, int opt, long min, long max,
    const char *unit, unsigned *ret)
{
	const char *name = lim_opts[opt].name;
	long v;

	if (cfg_size(sc->cfg, name) == 0)
		return 0;
	v = cfg_getint(sc->cfg, name);
	if (v < min || v > max)
		return lim_fail(sc, sc->base + opt, 0,
		    "%s %ld out of range (%ld-%ld%s)", name, v, min, max, unit);
	*ret = (unsigned)v;
	return 0;
}

/*
 * One scope's limits over `inherited` (whose burst was written, not
 * derived, if inherited_burst) into *out, which gets its own
 * reject_message.  *ret_burst says the same of out's burst.
 */
static int
lim_read(const struct lim_scope *sc, const struct limits_spec *inherited,
    bool inherited_burst, struct limits_spec *out, bool *ret_burst)
{
	const char *msg = inherited->reject_message;
	bool burst = inherited_burst;
	double rate;
	unsigned whole;

	*out = *inherited;
	out->reject_message = NULL;
	out->reject_len = 0;
	if (lim_int(sc, LIM_MAX_CONNS, 0, INT_MAX, "", &out->max_conns) ||
	    lim_int(sc, LIM_MAX_PER_SOURCE, 0, INT_MAX, "",
	    &out->max_per_source) ||
	    lim_int(sc, LIM_IPV6_PREFIX, 0, 128, "", &out->ipv6_prefix) ||
	    lim_int(sc, LIM_IDLE_TIMEOUT, 0, INT_MAX, " seconds",
	    &out->idle_timeout) ||
	    lim_int(sc, LIM_MAX_LIFETIME, 0, INT_MAX, " seconds",
	    &out->max_lifetime))
		return -1;

	if (cfg_size(sc->cfg, "rate") > 0) {
		rate = cfg_getfloat(sc->cfg, "rate");
		/*
		 * Written so that NaN fails too; the bound keeps the derived
		 * burst an int.
		 */
		if (!(rate >= 0 && rate <= INT_MAX))
			return lim_fail(sc, sc->base + LIM_RATE, 0,
			    "rate %g out of range (0-%d per second)", rate,
			    INT_MAX);
		out->rate = rate;
	}
	/*
	 * A burst without a rate does nothing, but is no error: a global one
	 * serves the services that set a rate of their own.
	 */
	if (cfg_size(sc->cfg, "burst") > 0) {
		if (lim_int(sc, LIM_BURST, 0, INT_MAX, "", &out->burst))
			return -1;
		burst = out->burst > 0;
	}
	if (!burst) {
		/* max(1, ceil(rate)): a bucket under one token admits no one. */
		whole = (unsigned)out->rate;
		out->burst = whole < out->rate ? whole + 1 : whole;
		if (out->burst == 0)
			out->burst = 1;
	}
	*ret_burst = burst;

	if (cfg_size(sc->cfg, "reject-message") > 0)
		msg = cfg_getstr(sc->cfg, "reject-message");
	if (msg == NULL)
		return 0;
	/* libconfuse's strings end at a NUL ("\0" ends the message too). */
	out->reject_len = strlen(msg);
	if (out->reject_len > LIM_REJECT_MAX)
		return lim_fail(sc, sc->base + LIM_REJECT, 0,
		    "reject-message is longer than %d bytes", LIM_REJECT_MAX);
	if ((out->reject_message = strdup(msg)) == NULL)
		return lim_fail(sc, -1, 0, "out of memory");
	return 0;
}

int
conf_limits_global(struct conf_load *ld, cfg_t *root)
{
	static const struct limits_spec builtin = {
		.max_conns = LIM_DEF_MAX_CONNS,
		.max_per_source = LIM_DEF_MAX_PER_SOURCE,
		.ipv6_prefix = LIM_DEF_IPV6_PREFIX,
	};
	struct lim_scope sc = {
		.ld = ld, .cfg = root, .lines = ld->root_lines,
		.base = ROOT_LIMITS, .svc = NULL, .line = 0,
	};

	return lim_read(&sc, &builtin, false, &ld->cfg->limits,
	    &ld->burst_set);
}

/* ------------------------------------------------------------------------
 * allow / deny
 * ---------------------------------------------------------------------- */

/* Zeroes the bits of addr (len bytes) past the first prefix bits. */
static void
acl_clear_host(uint8_t *addr, size_t len, unsigned prefix)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (prefix >= 8 * (i + 1))
			continue;
		if (prefix <= 8 * i)
			addr[i] = 0;
		else
			addr[i] &= (uint8_t)(0xff << (8 - (prefix - 8 * i)));
	}
}

static int
acl_push(const struct lim_scope *sc, struct service *s, bool allow,
    int family, const uint8_t *addr, unsigned prefix, const char *text)
{
	struct acl_rule *r = &s->acl[s->nacl];

	memset(r, 0, sizeof(*r));
	if ((r->text = strdup(text)) == NULL)
		return lim_fail(sc, -1, 0, "out of memory");
	s->nacl++;
	r->allow = allow;
	r->family = family;
	memcpy(r->addr, addr, sizeof(r->addr));
	r->prefix = prefix;
	acl_clear_host(r->addr, family == AF_INET ? 4 : 16, prefix);
	return 0;
}

/*
 * One `allow` or `deny` entry (value `index` of line slot `slot`) into
 * s->acl, which has room for two more rules.
 */
static int
acl_entry(const struct lim_scope *sc, struct service *s, int slot,
    size_t index, const char *text)
{
	static const uint8_t any[16];
	static const uint8_t v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	const char *opt = slot == SVC_ALLOW ? "allow" : "deny";
	bool allow = slot == SVC_ALLOW;
	const char *slash = strchr(text, '/');
	size_t hlen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	char host[INET6_ADDRSTRLEN], *end;
	uint8_t addr[16] = { 0 };
	unsigned long prefix;
	unsigned max;
	int family;

	if (strcmp(text, "*") == 0 || strcmp(text, "all") == 0) {
		if (acl_push(sc, s, allow, AF_INET, any, 0, text) == -1)
			return -1;
		return acl_push(sc, s, allow, AF_INET6, any, 0, text);
	}

	/* Never a name: resolving one here would be a DNS lookup at load. */
	if (hlen >= sizeof(host))
		goto not_numeric;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, addr) == 1) {
		family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, addr) == 1) {
		family = AF_INET6;
		max = 128;
	} else {
		goto not_numeric;
	}

	prefix = max;
	if (slash != NULL) {
		if (!isdigit((unsigned char)slash[1]))
			return lim_fail(sc, slot, index,
			    "%s '%s': prefix length is not a number", opt,
			    text);
		errno = 0;
		prefix = strtoul(slash + 1, &end, 10);
		if (*end != '\0')
			return lim_fail(sc, slot, index,
			    "%s '%s': prefix length is not a number", opt,
			    text);
		if (errno != 0 || prefix > max)
			return lim_fail(sc, slot, index,
			    "%s '%s': prefix out of range (0-%u)", opt, text,
			    max);
	}

	/*
	 * The daemon sees an IPv4 peer of a dual-stack socket as
	 * ::ffff:a.b.c.d and counts it as IPv4, so the rule must be IPv4 too
	 * to match it, and to match the same peer arriving on an AF_INET
	 * socket.  A shorter prefix would cover non-mapped IPv6 as well.
	 */
	if (family == AF_INET6 && memcmp(addr, v4mapped, 12) == 0) {
		if (prefix < 96)
			return lim_fail(sc, slot, index,
			    "%s '%s': a v4-mapped prefix must be at least /96",
			    opt, text);
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, sizeof(addr) - 4);
		family = AF_INET;
		prefix -= 96;
	}
	return acl_push(sc, s, allow, family, addr, (unsigned)prefix, text);
not_numeric:
	return lim_fail(sc, slot, index, "%s '%s': not a numeric "
	    "address/prefix", opt, text);
}

/* A list written as `x = { }` admits or denies nothing: say so. */
static int
lim_list_empty(const struct lim_scope *sc, const char *option)
{
	if (cfg_size(sc->cfg, option) == 0 &&
	    (cfg_getopt(sc->cfg, option)->flags & CFGF_MODIFIED))
		return lim_fail(sc, -1, 0, "%s is empty", option);
	return 0;
}

/* allow, then deny, each in file order (the daemon's match is by the
 * longest prefix, so the order between them does not matter). */
static int
acl_read(const struct lim_scope *sc, struct service *s)
{
	size_t na = cfg_size(sc->cfg, "allow");
	size_t nd = cfg_size(sc->cfg, "deny");
	size_t i;

	if (lim_list_empty(sc, "allow") == -1 ||
	    lim_list_empty(sc, "deny") == -1)
		return -1;
	if (na + nd == 0)
		return 0;
	/* Two rules at most per entry ("*"). */
	if ((s->acl = calloc(2 * (na + nd), sizeof(*s->acl))) == NULL)
		return lim_fail(sc, -1, 0, "out of memory");
	for (i = 0; i < na; i++) {
		if (acl_entry(sc, s, SVC_ALLOW, i,
		    cfg_getnstr(sc->cfg, "allow", i)) == -1)
			return -1;
	}
	for (i = 0; i < nd; i++) {
		if (acl_entry(sc, s, SVC_DENY, i,
		    cfg_getnstr(sc->cfg, "deny", i)) == -1)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * allow-uid / allow-gid
 * ---------------------------------------------------------------------- */

/*
 * Resolves allow-uid (ret_uids) or allow-gid (ret_gids, when ret_uids is
 * NULL) into a new array of *ret_n ids, by name or number as `user` and
 * `group` take them.
 */
static int
ids_read(const struct lim_scope *sc, const struct conf_section *cs,
    uid_t **ret_uids, gid_t **ret_gids, size_t *ret_n)
{
	bool users = ret_uids != NULL;
	const char *option = users ? "allow-uid" : "allow-gid";
	const struct conf_lines *lines =
	    &cs->lines[users ? SVC_ALLOW_UID : SVC_ALLOW_GID];
	size_t i, n = cfg_size(sc->cfg, option);
	struct conf_id id;
	const char *name;
	int rc;

	if (lim_list_empty(sc, option) == -1)
		return -1;
	if (n == 0)
		return 0;
	if ((users && (*ret_uids = calloc(n, sizeof(uid_t))) == NULL) ||
	    (!users && (*ret_gids = calloc(n, sizeof(gid_t))) == NULL))
		return lim_fail(sc, -1, 0, "out of memory");
	*ret_n = n;
	for (i = 0; i < n; i++) {
		name = cfg_getnstr(sc->cfg, option, i);
		rc = users ? conf_id_user(sc->ld, sc->svc, name,
		    conf_line(lines, i, cs->line), &id) :
		    conf_id_group(sc->ld, sc->svc, name,
		    conf_line(lines, i, cs->line), &id);
		if (rc == -1)
			return -1;
		free(id.name);
		if (users)
			(*ret_uids)[i] = id.uid;
		else
			(*ret_gids)[i] = id.gid;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * A service
 * ---------------------------------------------------------------------- */

/*
 * Rules that could never apply are errors, not silent no-ops: a waiting
 * handler takes the listening socket itself, so there is no peer to
 * check, and address rules cannot match a UNIX-socket peer nor uid rules
 * an internet one.  A socket systemd passes ("fd:") may be either.
 */
static int
lim_applicable(const struct lim_scope *sc, struct service *s)
{
	static const struct {
		int slot;
		const char *name;
	} rules[] = {
		{ SVC_ALLOW, "allow" },
		{ SVC_DENY, "deny" },
		{ SVC_ALLOW_UID, "allow-uid" },
		{ SVC_ALLOW_GID, "allow-gid" },
	};
	bool inet = false, local = false, by_addr;
	const char *name;
	size_t i;
	int slot;

	for (i = 0; i < s->nlistens; i++) {
		if (s->listens[i].fd_name != NULL)
			inet = local = true;
		else if (pt_addr_family(&s->listens[i].addr) == AF_UNIX)
			local = true;
		else
			inet = true;
	}
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		slot = rules[i].slot;
		name = rules[i].name;
		by_addr = slot == SVC_ALLOW || slot == SVC_DENY;
		if (cfg_size(sc->cfg, name) == 0)
			continue;
		if (s->wait)
			return lim_fail(sc, slot, 0, "%s needs wait = false "
			    "(a waiting handler takes the socket itself)",
			    name);
		if (by_addr && !inet)
			return lim_fail(sc, slot, 0, "%s applies to internet "
			    "peers, and every listen entry is a UNIX socket",
			    name);
		if (!by_addr && !local)
			return lim_fail(sc, slot, 0, "%s applies to UNIX-socket "
			    "peers, and no listen entry is a UNIX socket",
			    name);
	}
	return 0;
}

/*
 * A wait service runs one handler on the bound socket: porterd accepts
 * nothing for it, so it has no connections to count, no sources and
 * nothing to time out.  Those limits written in its section are errors;
 * the global defaults simply do not apply to it.  rate and burst apply
 * (porterd pauses reading the socket), and so does max-lifetime where
 * porterd can stop the handler, a process: a plugin running on one of
 * its threads cannot be stopped, so max-lifetime is refused there and the
 * global default skips it.
 */
static int
lim_wait(const struct lim_scope *sc, struct service *s)
{
	static const int never[] = {
		LIM_MAX_CONNS, LIM_REJECT, LIM_MAX_PER_SOURCE, LIM_IPV6_PREFIX,
		LIM_IDLE_TIMEOUT,
	};
	bool in_thread = s->kind == HANDLER_PLUGIN &&
	    s->isolation == ISOLATION_THREAD;
	size_t i;

	if (!s->wait)
		return 0;
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		if (cfg_size(sc->cfg, lim_opts[never[i]].name) > 0)
			return lim_fail(sc, sc->base + never[i], 0, "%s does "
			    "not apply to a wait service (its one handler "
			    "takes the listening socket itself)",
			    lim_opts[never[i]].name);
	}
	if (in_thread && cfg_size(sc->cfg, "max-lifetime") > 0)
		return lim_fail(sc, sc->base + LIM_MAX_LIFETIME, 0,
		    "max-lifetime needs a handler porterd can stop: a wait "
		    "plugin running in a thread cannot be (isolation = "
		    "process can)");
	s->limits.max_conns = 0;
	s->limits.max_per_source = 0;
	s->limits.idle_timeout = 0;
	free(s->limits.reject_message);
	s->limits.reject_message = NULL;
	s->limits.reject_len = 0;
	if (in_thread)
		s->limits.max_lifetime = 0;
	return 0;
}

int
conf_limits_service(struct conf_load *ld, const struct conf_section *cs,
    struct service *s)
{
	struct lim_scope sc = {
		.ld = ld, .cfg = cs->sec, .lines = cs->lines,
		.base = SVC_LIMITS, .svc = s->name, .line = cs->line,
	};
	bool burst;

	if (lim_read(&sc, &ld->cfg->limits, ld->burst_set, &s->limits,
	    &burst) == -1 || acl_read(&sc, s) == -1 ||
	    ids_read(&sc, cs, &s->allow_uids, NULL, &s->nallow_uids) == -1 ||
	    ids_read(&sc, cs, NULL, &s->allow_gids, &s->nallow_gids) == -1 ||
	    lim_wait(&sc, s) == -1)
		return -1;
	return lim_applicable(&sc, s);
}

void
conf_limits_service_free(struct service *s)
{
	size_t i;

	free(s->limits.reject_message);
	for (i = 0; s->acl != NULL && i < s->nacl; i++)
		free(s->acl[i].text);
	free(s->acl);
	free(s->allow_uids);
	free(s->allow_gids);
}
