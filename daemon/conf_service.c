/*
 * conf_service.c -- one parsed `service` section becomes a struct service.
 *
 * conf.c hands over a section once its whole file has parsed, so the
 * global defaults (user, group) are known and options may come in any
 * order (a listen entry's default port may be written after it).  Every
 * decision the daemon would otherwise make late is made here, where a
 * mistake can still be reported with its file and line: words become
 * numbers, the handler kind is settled and its options checked, listen
 * entries are resolved to addresses, socket options to (level, name,
 * value), users and groups to ids, and the exec'd program must exist;
 * conf_limits.c adds the limits and access rules.  Each message names the
 * service and the option's own line, which conf.c recorded while
 * libconfuse parsed; an option left to its default is blamed on the
 * section's first line.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <porter/socket.h>

#include "conf_priv.h"
#include "sandbox.h"
#include "strv.h"

/* The order is enum conf_svc_opt's: a value's index is its line slot. */
static cfg_opt_t svc_opts[] = {
	CFG_STR_LIST("listen", NULL, CFGF_NODEFAULT),
	CFG_INT("port", 0, CFGF_NODEFAULT),
	CFG_STR("type", NULL, CFGF_NODEFAULT),
	CFG_STR("protocol", NULL, CFGF_NODEFAULT),
	CFG_STR("plugin", NULL, CFGF_NODEFAULT),
	CFG_STR("exec", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("args", NULL, CFGF_NODEFAULT),
	CFG_STR("argv0", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("env", NULL, CFGF_NODEFAULT),
	CFG_STR("stderr", NULL, CFGF_NODEFAULT),
	CFG_BOOL("wait", cfg_false, CFGF_NODEFAULT),
	CFG_STR("user", NULL, CFGF_NODEFAULT),
	CFG_STR("group", NULL, CFGF_NODEFAULT),
	CFG_INT("backlog", 128, CFGF_NONE),
	CFG_STR_LIST("options", NULL, CFGF_NODEFAULT),
	CFG_STR("isolation", NULL, CFGF_NODEFAULT),
	CFG_BOOL("disable", cfg_false, CFGF_NONE),
	CONF_LIMIT_OPTS,
	CFG_STR_LIST("allow", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("deny", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("allow-uid", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("allow-gid", NULL, CFGF_NODEFAULT),
	CFG_STR("socket-mode", NULL, CFGF_NODEFAULT),
	CFG_STR("socket-owner", NULL, CFGF_NODEFAULT),
	CFG_STR("socket-group", NULL, CFGF_NODEFAULT),
	CFG_BOOL("tcp-wrappers", cfg_false, CFGF_NODEFAULT),
	CFG_STR("banner", NULL, CFGF_NODEFAULT),
	CFG_STR("banner-success", NULL, CFGF_NODEFAULT),
	CFG_STR("banner-fail", NULL, CFGF_NODEFAULT),
	CFG_INT("pool-min", 0, CFGF_NODEFAULT),
	CFG_INT("pool-max", 0, CFGF_NODEFAULT),
	CFG_INT("reuse", 0, CFGF_NODEFAULT),
	CFG_INT("pool-idle-timeout", 0, CFGF_NODEFAULT),
	CONF_SANDBOX_OPTS,
	CONF_EDGE_OPTS,
	CFG_END()
};

_Static_assert(sizeof(svc_opts) / sizeof(svc_opts[0]) == SVC_NOPTS + 1,
    "svc_opts[] and enum conf_svc_opt disagree");

struct conf_word {
	const char *word;
	int value;
};

static const struct conf_word svc_types[] = {
	{ "stream", SOCK_STREAM },
	{ "dgram", SOCK_DGRAM },
	{ "seqpacket", SOCK_SEQPACKET },
	{ NULL, 0 }
};

static const struct conf_word svc_stderr_modes[] = {
	{ "log", STDERR_LOG },
	{ "socket", STDERR_SOCKET },
	{ "null", STDERR_NULL },
	{ NULL, 0 }
};

static const struct conf_word svc_isolations[] = {
	{ "thread", ISOLATION_THREAD },
	{ "process", ISOLATION_PROCESS },
	{ NULL, 0 }
};

/* What one build works on. */
struct svc_build {
	struct conf_load *ld;
	const struct conf_section *cs;
	cfg_t *sec;
	struct service *s;
};

cfg_opt_t *
conf_service_schema(void)
{
	return svc_opts;
}

int
conf_service_slot(const char *option)
{
	int i;

	for (i = 0; i < SVC_NOPTS; i++) {
		if (strcmp(svc_opts[i].name, option) == 0)
			return i;
	}
	return conf_edge_tls_slot(option);
}

/*
 * Reports "service 'NAME': ..." at the line of value `index` of option
 * `opt` (SVC_NOPTS: the section's own line).  Returns -1.
 */
static int CONF_PRINTF(4, 5)
svc_fail(struct svc_build *b, int opt, size_t index, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int line = b->cs->line;

	if (opt < SVC_NOPTS)
		line = conf_line(&b->cs->lines[opt], index, line);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_error(b->ld, line, "service '%s': %s", cfg_title(b->sec), msg);
	return -1;
}

static int
svc_nomem(struct svc_build *b)
{
	return svc_fail(b, SVC_NOPTS, 0, "out of memory");
}

/* The value of `word` in `words`, or -1. */
static int
svc_word(const struct conf_word *words, const char *word)
{
	for (; words->word != NULL; words++) {
		if (strcmp(words->word, word) == 0)
			return words->value;
	}
	return -1;
}

static const char *
svc_word_name(const struct conf_word *words, int value)
{
	for (; words->word != NULL; words++) {
		if (words->value == value)
			return words->word;
	}
	return "?";
}

/* Copies a string list into a new NULL-terminated vector. */
static int
svc_strv(struct svc_build *b, const char *option, char ***ret, size_t *ret_n)
{
	size_t i, n = cfg_size(b->sec, option);

	if ((*ret = calloc(n + 1, sizeof(char *))) == NULL)
		return svc_nomem(b);
	for (i = 0; i < n; i++) {
		(*ret)[i] = strdup(cfg_getnstr(b->sec, option, i));
		if ((*ret)[i] == NULL)
			return svc_nomem(b);
	}
	*ret_n = n;
	return 0;
}

/* "NAME[=VALUE]" through the library's constant table. */
static int
svc_sockopt(struct svc_build *b, size_t i, const char *text,
    struct sockopt_spec *o)
{
	const char *eq = strchr(text, '=');
	size_t n = eq != NULL ? (size_t)(eq - text) : strlen(text);
	const pt_const *c = NULL;
	char name[64], *end;
	long v = 1;

	if (n < sizeof(name)) {
		memcpy(name, text, n);
		name[n] = '\0';
		c = pt_const_find(name, NULL);
	}
	if (c == NULL)
		return svc_fail(b, SVC_OPTIONS, i,
		    "unknown socket option '%.*s'", (int)n, text);
	/* The table also holds SOCK_*, AF_*, ...: only setsockopt names. */
	if (c->level == -1)
		return svc_fail(b, SVC_OPTIONS, i,
		    "'%s' is not a socket option", name);
	if (eq != NULL) {
		errno = 0;
		v = strtol(eq + 1, &end, 10);
		if (eq[1] == '\0' || *end != '\0' || errno != 0 ||
		    v < INT_MIN || v > INT_MAX)
			return svc_fail(b, SVC_OPTIONS, i,
			    "bad value '%s' in socket option '%s'", eq + 1,
			    text);
	}
	o->level = c->level;
	o->name = (int)c->value;
	o->value = (int)v;
	if ((o->text = strdup(text)) == NULL)
		return svc_nomem(b);
	return 0;
}

/* type, protocol, wait, backlog and options: how the sockets are made. */
static int
svc_socket(struct svc_build *b)
{
	struct service *s = b->s;
	const char *proto;
	size_t i;
	long v;

	s->socktype = SOCK_STREAM;
	if (cfg_size(b->sec, "type") > 0 &&
	    (s->socktype = svc_word(svc_types, cfg_getstr(b->sec, "type"))) < 0)
		return svc_fail(b, SVC_TYPE, 0,
		    "unknown type '%s' (stream, dgram or seqpacket)",
		    cfg_getstr(b->sec, "type"));

	/*
	 * The defaults need no /etc/protocols, which minimal systems lack.
	 * SOCK_SEQPACKET on an internet address exists only as SCTP.
	 */
	if (s->socktype == SOCK_DGRAM) {
		proto = "udp";
		s->protocol = IPPROTO_UDP;
	} else if (s->socktype == SOCK_SEQPACKET) {
		proto = "sctp";
		s->protocol = IPPROTO_SCTP;
	} else {
		proto = "tcp";
		s->protocol = IPPROTO_TCP;
	}
	if (cfg_size(b->sec, "protocol") > 0) {
		proto = cfg_getstr(b->sec, "protocol");
		if ((s->protocol = pt_getprotobyname(proto, NULL)) < 0)
			return svc_fail(b, SVC_PROTOCOL, 0,
			    "unknown protocol '%s'", proto);
	}
	if ((s->protocol == IPPROTO_TCP && s->socktype != SOCK_STREAM) ||
	    (s->protocol == IPPROTO_UDP && s->socktype != SOCK_DGRAM))
		return svc_fail(b, SVC_PROTOCOL, 0,
		    "protocol '%s' does not fit type = %s", proto,
		    svc_word_name(svc_types, s->socktype));
	if ((s->protocol_name = strdup(proto)) == NULL)
		return svc_nomem(b);

	/*
	 * A datagram has no connection to hand over: the handler must get
	 * the socket itself, and porterd must not poll it meanwhile.
	 */
	s->wait = s->socktype == SOCK_DGRAM;
	if (cfg_size(b->sec, "wait") > 0) {
		s->wait = cfg_getbool(b->sec, "wait");
		if (!s->wait && s->socktype == SOCK_DGRAM)
			return svc_fail(b, SVC_WAIT, 0,
			    "datagram services need wait = true");
	}

	v = cfg_getint(b->sec, "backlog");
	if (v < 1)
		return svc_fail(b, SVC_BACKLOG, 0,
		    "backlog must be at least 1");
	if (v > INT_MAX)
		return svc_fail(b, SVC_BACKLOG, 0, "backlog %ld is too large",
		    v);
	s->backlog = (int)v;

	s->nopts = cfg_size(b->sec, "options");
	if (s->nopts > 0 &&
	    (s->opts = calloc(s->nopts, sizeof(*s->opts))) == NULL)
		return svc_nomem(b);
	for (i = 0; i < s->nopts; i++) {
		if (svc_sockopt(b, i, cfg_getnstr(b->sec, "options", i),
		    &s->opts[i]) == -1)
			return -1;
	}
	return 0;
}

/* An absolute path to an executable regular file. */
static int
svc_exec_path(struct svc_build *b, const char *path)
{
	struct stat st;
	char ebuf[128];

	if (path[0] != '/')
		return svc_fail(b, SVC_EXEC, 0,
		    "exec path '%s' is not absolute", path);
	if (stat(path, &st) == -1 || (S_ISREG(st.st_mode) &&
	    access(path, X_OK) == -1))
		return svc_fail(b, SVC_EXEC, 0, "exec '%s': %s", path,
		    conf_strerror(errno, ebuf, sizeof(ebuf)));
	if (!S_ISREG(st.st_mode))
		return svc_fail(b, SVC_EXEC, 0, "exec '%s': not a regular file",
		    path);
	return 0;
}

/* "NAME=value", NAME as a shell would take it. */
static bool
svc_env_ok(const char *entry)
{
	const char *p = entry;

	if (!isalpha((unsigned char)*p) && *p != '_')
		return false;
	while (*p != '\0' && *p != '=') {
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
		p++;
	}
	return *p == '=';
}

/* plugin or exec, and the options that belong to one kind only. */
static int svc_pool(struct svc_build *b);

static int
svc_handler(struct svc_build *b)
{
	struct service *s = b->s;
	bool plugin = cfg_size(b->sec, "plugin") > 0;
	bool exec = cfg_size(b->sec, "exec") > 0;
	const char *h, *word;
	size_t i;
	int v;

	if (plugin && exec) {
		/* Blame whichever of the two came second. */
		return svc_fail(b, conf_line(&b->cs->lines[SVC_PLUGIN], 0, 0) >
		    conf_line(&b->cs->lines[SVC_EXEC], 0, 0) ? SVC_PLUGIN :
		    SVC_EXEC, 0, "plugin and exec are mutually exclusive");
	}
	if (!plugin && !exec)
		return svc_fail(b, SVC_NOPTS, 0, "needs plugin or exec");

	s->kind = plugin ? HANDLER_PLUGIN : HANDLER_EXEC;
	h = cfg_getstr(b->sec, plugin ? "plugin" : "exec");
	if (plugin && h[0] == '\0')
		return svc_fail(b, SVC_PLUGIN, 0, "plugin name is empty");
	if (exec && svc_exec_path(b, h) == -1)
		return -1;
	if ((s->handler = strdup(h)) == NULL)
		return svc_nomem(b);
	if (svc_strv(b, "args", &s->args, &s->nargs) == -1)
		return -1;
	if (cfg_size(b->sec, "argv0") > 0) {
		/* A plugin has no argv to name: refuse what would not apply. */
		if (plugin)
			return svc_fail(b, SVC_ARGV0, 0,
			    "argv0 applies to exec services only");
		if (cfg_getstr(b->sec, "argv0")[0] == '\0')
			return svc_fail(b, SVC_ARGV0, 0, "argv0 is empty");
		if ((s->argv0 = strdup(cfg_getstr(b->sec, "argv0"))) == NULL)
			return svc_nomem(b);
	}

	if (plugin && cfg_size(b->sec, "env") > 0)
		return svc_fail(b, SVC_ENV, 0,
		    "env applies to exec services only");
	for (i = 0; i < cfg_size(b->sec, "env"); i++) {
		if (!svc_env_ok(cfg_getnstr(b->sec, "env", i)))
			return svc_fail(b, SVC_ENV, i,
			    "env entry '%s' is not NAME=value",
			    cfg_getnstr(b->sec, "env", i));
	}
	if (svc_strv(b, "env", &s->env, &s->nenv) == -1)
		return -1;

	s->stderr_mode = STDERR_LOG;
	if (cfg_size(b->sec, "stderr") > 0) {
		if (plugin)
			return svc_fail(b, SVC_STDERR, 0,
			    "stderr applies to exec services only");
		word = cfg_getstr(b->sec, "stderr");
		if ((v = svc_word(svc_stderr_modes, word)) < 0)
			return svc_fail(b, SVC_STDERR, 0, "unknown stderr mode "
			    "'%s' (log, socket or null)", word);
		s->stderr_mode = (enum stderr_mode)v;
	}

	s->isolation = ISOLATION_THREAD;
	if (cfg_size(b->sec, "isolation") > 0) {
		if (exec)
			return svc_fail(b, SVC_ISOLATION, 0,
			    "isolation applies to plugins only");
		word = cfg_getstr(b->sec, "isolation");
		if ((v = svc_word(svc_isolations, word)) < 0)
			return svc_fail(b, SVC_ISOLATION, 0,
			    "unknown isolation '%s' (thread or process)",
			    word);
		s->isolation = (enum isolation)v;
	}
	return svc_pool(b);
}

/*
 * The worker pool of an isolation = process service (pool.h): pool-min,
 * pool-max, reuse, pool-idle-timeout.  Accepted only where a pool runs.
 */
static int
svc_pool(struct svc_build *b)
{
	static const struct {
		const char *name;
		int opt;
		long max;
	} opts[] = {
		{ "pool-min", SVC_POOL_MIN, 4096 },
		{ "pool-max", SVC_POOL_MAX, 4096 },
		{ "reuse", SVC_REUSE, 1L << 30 },
		{ "pool-idle-timeout", SVC_POOL_IDLE, 86400 },
	};
	struct service *s = b->s;
	bool pooled = s->kind == HANDLER_PLUGIN &&
	    s->isolation == ISOLATION_PROCESS && !s->wait;
	unsigned vals[4];
	size_t i;
	long v;

	s->pool_idle = 60;
	for (i = 0; i < 4; i++) {
		vals[i] = 0;
		if (cfg_size(b->sec, opts[i].name) == 0)
			continue;
		if (!pooled)
			return svc_fail(b, opts[i].opt, 0, "%s applies to "
			    "plugins with isolation = process that do not "
			    "wait (their worker pool)", opts[i].name);
		v = cfg_getint(b->sec, opts[i].name);
		if (v < 0 || v > opts[i].max)
			return svc_fail(b, opts[i].opt, 0, "%s must be 0..%ld",
			    opts[i].name, opts[i].max);
		vals[i] = (unsigned)v;
	}
	s->pool_min = vals[0];
	s->pool_max = vals[1];
	s->reuse = vals[2];
	if (cfg_size(b->sec, "pool-idle-timeout") > 0)
		s->pool_idle = vals[3];
	if (s->pool_max > 0 && s->pool_min > s->pool_max)
		return svc_fail(b, SVC_POOL_MIN, 0, "pool-min %u is more than "
		    "pool-max %u", s->pool_min, s->pool_max);
	return 0;
}

/* port, then every listen entry resolved with it (default: "*"). */
static int
svc_listen(struct svc_build *b)
{
	static const char *const wildcard = "*";
	struct service *s = b->s;
	struct listen_spec *l;
	const char *text;
	pt_addr scratch;
	pt_error e;
	size_t i, n;
	long v;

	if (cfg_size(b->sec, "port") > 0) {
		v = cfg_getint(b->sec, "port");
		if (v < 0 || v > 65535)
			return svc_fail(b, SVC_PORT, 0,
			    "port %ld out of range (0-65535)", v);
		s->port = (int)v;
	} else {
		/* Unused when every entry has its own port; -1 if unknown. */
		s->port = pt_getservbyname(s->name, s->protocol_name, NULL);
	}

	n = cfg_size(b->sec, "listen");
	if (n == 0 && (cfg_getopt(b->sec, "listen")->flags & CFGF_MODIFIED))
		return svc_fail(b, SVC_NOPTS, 0, "listen is empty");
	s->nlistens = n > 0 ? n : 1;
	if ((s->listens = calloc(s->nlistens, sizeof(*s->listens))) == NULL)
		return svc_nomem(b);
	for (i = 0; i < s->nlistens; i++) {
		l = &s->listens[i];
		text = n > 0 ? cfg_getnstr(b->sec, "listen", i) : wildcard;
		if ((l->text = strdup(text)) == NULL)
			return svc_nomem(b);
		if (strncmp(text, "fd:", 3) == 0) {
			if (text[3] == '\0')
				return svc_fail(b, SVC_LISTEN, i,
				    "listen '%s': empty descriptor name", text);
			if ((l->fd_name = strdup(text + 3)) == NULL)
				return svc_nomem(b);
			continue;
		}
		if (pt_addr_parse(&l->addr, text, s->port, s->socktype,
		    &e) == 0)
			continue;
		/* Parses with some port: so the missing port is the fault. */
		if (s->port < 0 &&
		    pt_addr_parse(&scratch, text, 0, s->socktype, NULL) == 0)
			return svc_fail(b, SVC_LISTEN, i, "no port given and "
			    "'%s/%s' is not in /etc/services", s->name,
			    s->protocol_name);
		return svc_fail(b, SVC_LISTEN, i, "%s", e.msg);
	}
	return 0;
}

/*
 * user and group: the section's own, else the global ones.  Under run-as
 * no handler may run as porterd's own uid, which could signal it: a
 * service whose user is run-as's is refused, and so is one that starts
 * processes (exec, isolation = process) with no user at all, since its
 * children would inherit porterd's uid.
 */
static int
svc_ids(struct svc_build *b)
{
	struct conf_id own_user = { 0 }, own_group = { 0 };
	const struct conf_id *u = &b->ld->user, *g = &b->ld->group;
	const struct conf_id *run = &b->ld->run_as;
	struct service *s = b->s;
	int rc = -1;

	if (cfg_size(b->sec, "user") > 0) {
		if (conf_id_user(b->ld, s->name, cfg_getstr(b->sec, "user"),
		    conf_line(&b->cs->lines[SVC_USER], 0, b->cs->line),
		    &own_user) == -1)
			goto out;
		u = &own_user;
	}
	if (cfg_size(b->sec, "group") > 0) {
		if (conf_id_group(b->ld, s->name, cfg_getstr(b->sec, "group"),
		    conf_line(&b->cs->lines[SVC_GROUP], 0, b->cs->line),
		    &own_group) == -1)
			goto out;
		g = &own_group;
	}

	if (u->name == NULL && run->name != NULL &&
	    (s->kind == HANDLER_EXEC || s->isolation == ISOLATION_PROCESS)) {
		svc_fail(b, SVC_NOPTS, 0, "needs a user other than run-as "
		    "'%s': its processes must not run as porterd's own uid",
		    run->name);
		goto out;
	}
	/*
	 * Root's children should not be root by accident: exec'd programs
	 * and isolated plugins are what a crash or an exploit reaches.
	 */
	if (u->name == NULL && b->ld->euid == 0 &&
	    (s->kind == HANDLER_EXEC || s->isolation == ISOLATION_PROCESS)) {
		svc_fail(b, SVC_NOPTS, 0, "porterd runs as root and no user is "
		    "set: set the user its processes run as (user = \"root\" "
		    "to run them as root on purpose)");
		goto out;
	}
	if (u->name == NULL) {
		/* Changing only the group would be a half-done drop. */
		if (g->name != NULL) {
			svc_fail(b, g == &own_group ? SVC_GROUP : SVC_NOPTS, 0,
			    "group '%s' needs a user", g->name);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (g->name == NULL && !u->has_gid) {
		svc_fail(b, u == &own_user ? SVC_USER : SVC_NOPTS, 0,
		    "user '%s' has no passwd entry, so it needs a group",
		    u->name);
		goto out;
	}
	s->set_user = true;
	s->uid = u->uid;
	s->gid = g->name != NULL ? g->gid : u->gid;
	if (run->name != NULL && s->uid == run->uid) {
		svc_fail(b, u == &own_user ? SVC_USER : SVC_NOPTS, 0,
		    "user '%s' is run-as '%s': handlers must not run as "
		    "porterd's own uid (they could signal it); give the "
		    "service a user of its own", u->name, run->name);
		goto out;
	}
	if ((s->user = strdup(u->name)) == NULL) {
		svc_nomem(b);
		goto out;
	}
	rc = 0;
out:
	free(own_user.name);
	free(own_group.name);
	return rc;
}

/*
 * socket-mode, socket-owner, socket-group: set on each UNIX socket file
 * after bind and before listen, so no client connects before they hold.
 * Only a socket file has them: an internet, abstract or systemd-passed
 * listen entry makes them an error.
 */
static int
svc_socket_file(struct svc_build *b)
{
	static const struct {
		int slot;
		const char *name;
	} opts[] = {
		{ SVC_SOCKET_MODE, "socket-mode" },
		{ SVC_SOCKET_OWNER, "socket-owner" },
		{ SVC_SOCKET_GROUP, "socket-group" },
	};
	struct service *s = b->s;
	struct conf_id id;
	const char *v, *text;
	unsigned long mode;
	char *end;
	size_t i, j;
	int line;

	s->socket_mode = -1;
	s->socket_uid = (uid_t)-1;
	s->socket_gid = (gid_t)-1;
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (cfg_size(b->sec, opts[i].name) == 0)
			continue;
		for (j = 0; j < s->nlistens; j++) {
			text = s->listens[j].text;
			if (s->listens[j].fd_name != NULL ||
			    pt_addr_family(&s->listens[j].addr) != AF_UNIX ||
			    text[0] == '@')
				return svc_fail(b, opts[i].slot, 0, "%s applies "
				    "to UNIX socket files, and listen '%s' is "
				    "not one", opts[i].name, text);
		}
	}
	if (cfg_size(b->sec, "socket-mode") > 0) {
		v = cfg_getstr(b->sec, "socket-mode");
		errno = 0;
		mode = strtoul(v, &end, 8);
		if (v[0] < '0' || v[0] > '7' || *end != '\0' || errno != 0 ||
		    mode > 07777)
			return svc_fail(b, SVC_SOCKET_MODE, 0, "socket-mode '%s' "
			    "is not an octal mode (such as \"0660\")", v);
		s->socket_mode = (int)mode;
	}
	if (cfg_size(b->sec, "socket-owner") > 0) {
		line = conf_line(&b->cs->lines[SVC_SOCKET_OWNER], 0,
		    b->cs->line);
		if (conf_id_user(b->ld, s->name, cfg_getstr(b->sec,
		    "socket-owner"), line, &id) == -1)
			return -1;
		free(id.name);
		s->socket_uid = id.uid;
	}
	if (cfg_size(b->sec, "socket-group") > 0) {
		line = conf_line(&b->cs->lines[SVC_SOCKET_GROUP], 0,
		    b->cs->line);
		if (conf_id_group(b->ld, s->name, cfg_getstr(b->sec,
		    "socket-group"), line, &id) == -1)
			return -1;
		free(id.name);
		s->socket_gid = id.gid;
	}
	return 0;
}

int
conf_service_build(struct conf_load *ld, const struct conf_section *cs,
    struct service **ret)
{
	struct svc_build b = { .ld = ld, .cs = cs, .sec = cs->sec };
	struct service *s;

	*ret = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return svc_nomem(&b);
	b.s = s;
	if ((s->name = strdup(cfg_title(b.sec))) == NULL ||
	    (s->file = strdup(ld->file)) == NULL) {
		svc_nomem(&b);
		goto fail;
	}
	s->line = cs->line;
	if (s->name[0] == '\0') {
		svc_fail(&b, SVC_NOPTS, 0, "the name is empty");
		goto fail;
	}
	/* Sockets first: the listen entries need the type and protocol. */
	if (svc_socket(&b) == -1 || svc_handler(&b) == -1 ||
	    svc_listen(&b) == -1 || svc_socket_file(&b) == -1 ||
	    svc_ids(&b) == -1 ||
	    conf_limits_service(ld, cs, s) == -1 ||
	    conf_sandbox_service(ld, cs, s) == -1 ||
	    conf_inetd_service(ld, cs, s) == -1 ||
	    conf_edge_service(ld, cs, s) == -1)
		goto fail;
	/* Checked like any other, then left out of the table. */
	if (cfg_getbool(b.sec, "disable"))
		conf_service_free(s);
	else
		*ret = s;
	return 0;
fail:
	conf_service_free(s);
	return -1;
}

void
conf_service_free(struct service *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; s->listens != NULL && i < s->nlistens; i++) {
		free(s->listens[i].text);
		free(s->listens[i].fd_name);
	}
	free(s->listens);
	for (i = 0; s->opts != NULL && i < s->nopts; i++)
		free(s->opts[i].text);
	free(s->opts);
	strv_free(s->args);
	free(s->argv0);
	strv_free(s->env);
	free(s->name);
	free(s->file);
	free(s->protocol_name);
	free(s->handler);
	free(s->user);
	conf_limits_service_free(s);
	conf_inetd_service_free(s);
	sandbox_release(s->sandbox);
	free(s->sandbox);
	conf_edge_free(s->edge);
	free(s);
}

/* ------------------------------------------------------------------------
 * Users and groups
 * ---------------------------------------------------------------------- */

/* A decimal id that fits (and is not (id_t)-1, "no change" to the kernel). */
static bool
conf_numeric_id(const char *text, unsigned long *ret)
{
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	*ret = strtoul(text, &end, 10);
	return *end == '\0' && errno == 0 && *ret < (uid_t)-1;
}

/*
 * getpwnam_r (name != NULL) or getpwuid_r, retried with a larger buffer
 * while the entry does not fit.  Returns 0 (*ret_found false: no such
 * user) or an errno value.  *buf is the caller's to free.
 */
static int
conf_getpw(const char *name, uid_t uid, struct passwd *pw, char **buf,
    bool *ret_found)
{
	struct passwd *res = NULL;
	size_t len = 1024;
	char *nbuf;
	int rc;

	for (;;) {
		if ((nbuf = realloc(*buf, len)) == NULL)
			return ENOMEM;
		*buf = nbuf;
		rc = name != NULL ? getpwnam_r(name, pw, *buf, len, &res) :
		    getpwuid_r(uid, pw, *buf, len, &res);
		if (rc != ERANGE || len >= 1024 * 1024)
			break;
		len *= 2;
	}
	*ret_found = rc == 0 && res != NULL;
	return rc;
}

static int
conf_getgr(const char *name, struct group *gr, char **buf, bool *ret_found)
{
	struct group *res = NULL;
	size_t len = 1024;
	char *nbuf;
	int rc;

	for (;;) {
		if ((nbuf = realloc(*buf, len)) == NULL)
			return ENOMEM;
		*buf = nbuf;
		rc = getgrnam_r(name, gr, *buf, len, &res);
		if (rc != ERANGE || len >= 1024 * 1024)
			break;
		len *= 2;
	}
	*ret_found = rc == 0 && res != NULL;
	return rc;
}

/* Reports a lookup failure (code) or an unknown name (code 0). */
static int
conf_id_fail(struct conf_load *ld, const char *svc, int line,
    const char *kind, const char *name, int code)
{
	char msg[256], ebuf[128];

	if (code != 0)
		snprintf(msg, sizeof(msg), "%s '%s': %s", kind, name,
		    conf_strerror(code, ebuf, sizeof(ebuf)));
	else
		snprintf(msg, sizeof(msg), "unknown %s '%s'", kind, name);
	if (svc != NULL)
		conf_error(ld, line, "service '%s': %s", svc, msg);
	else
		conf_error(ld, line, "%s", msg);
	return -1;
}

int
conf_id_user(struct conf_load *ld, const char *svc, const char *name,
    int line, struct conf_id *out)
{
	struct passwd pw;
	unsigned long id;
	char *buf = NULL;
	bool found;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = conf_getpw(name, 0, &pw, &buf, &found)) != 0)
		goto fail;
	if (!found) {
		/* A number is a uid, with or without a passwd entry. */
		if (!conf_numeric_id(name, &id))
			goto fail;
		if ((rc = conf_getpw(NULL, (uid_t)id, &pw, &buf, &found)) != 0)
			goto fail;
		if (!found)
			pw.pw_uid = (uid_t)id;
	}
	out->uid = pw.pw_uid;
	out->gid = found ? pw.pw_gid : 0;
	out->has_gid = found;
	out->line = line;
	if ((out->name = strdup(name)) == NULL) {
		rc = ENOMEM;
		goto fail;
	}
	free(buf);
	return 0;
fail:
	free(buf);
	return conf_id_fail(ld, svc, line, "user", name, rc);
}

int
conf_id_group(struct conf_load *ld, const char *svc, const char *name,
    int line, struct conf_id *out)
{
	struct group gr;
	unsigned long id;
	char *buf = NULL;
	bool found;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = conf_getgr(name, &gr, &buf, &found);
	free(buf);
	if (rc != 0)
		return conf_id_fail(ld, svc, line, "group", name, rc);
	if (found)
		out->gid = gr.gr_gid;
	else if (conf_numeric_id(name, &id))
		out->gid = (gid_t)id;
	else
		return conf_id_fail(ld, svc, line, "group", name, 0);
	out->has_gid = true;
	out->line = line;
	if ((out->name = strdup(name)) == NULL)
		return conf_id_fail(ld, svc, line, "group", name, ENOMEM);
	return 0;
}
