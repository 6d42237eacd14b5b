/*
 * conf_inetd.c -- classic inetd configuration, read natively: the global
 * `inetd-conf` patterns (inetd.conf, inetd.d/ files), and the inetd-era
 * service options `tcp-wrappers`, `banner`, `banner-success` and
 * `banner-fail`.
 *
 * An inetd.conf is translated entry by entry into the porterd.conf
 * service sections contrib/inetd2porter would write for it (the test
 * check_conf_inetd runs both over the same files and compares the
 * loaded services), each written on the line its entry starts on, and the
 * result is parsed by conf.c as a drop-in named after the inetd.conf.  So
 * every check porterd.conf's services get (users, programs, addresses,
 * duplicate names across all files) applies, and every message names the
 * inetd.conf line: "/etc/inetd.conf:12: service 'finger': ...".
 *
 * The grammar (OpenBSD inetd, as Debian's openbsd-inetd reads it):
 *
 *   [host[,host]:]service socktype proto[,sndbuf=N][,rcvbuf=N]
 *       wait|nowait[.max] user[:group|.group] server [argv0 args...]
 *   host:                   default host(s) of the entries below ("*:")
 *   #<off># entry           disabled by update-inetd: skipped
 *   # comment; lines starting with blanks continue the entry above
 *
 * proto is tcp, tcp6, tcp4, tcp46, udp (and the same), or unix (the
 * service field is then the socket path).  `internal` servers are the
 * bundled plugins echo, discard, chargen, daytime, time and tcpmux.
 * "/usr/sbin/tcpd prog args" runs prog (as tcpd would: REAL_DAEMON_DIR
 * /usr/sbin for a relative one) with `tcp-wrappers = true`, porterd doing
 * tcpd's hosts.allow/hosts.deny check itself (wrap.h).  nowait.N (N
 * starts a minute) becomes rate = N/60 and burst = N.  Entries porterd
 * cannot serve (RPC, raw sockets, other internal services, tcpmux/NAME
 * sub-services) are errors: unlike the converter, which leaves a comment,
 * a daemon must not start without a service it was told to run.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_priv.h"
#include "conf_inetd.h"
#include "wrap.h"
#include "strv.h"

/*
 * A banner must fit a new connection's socket buffer, which holds at
 * least 16 KiB on Linux (net.ipv4.tcp_wmem's minimum is 4 KiB): see
 * banner.h.
 */
#define INETD_BANNER_MAX	4096

/* Where tcpd finds a program named without a path (tcp_wrappers). */
#define INETD_TCPD_DIR	"/usr/sbin"

static const char *const inetd_plugins[] = {
	"echo", "discard", "chargen", "daytime", "time", NULL
};

/* A growing output text. */
struct inetd_out {
	char *buf;
	size_t len, cap;
	int line;		/* the line being written, from 1 */
	bool failed;
};

static void __attribute__((format(printf, 2, 3)))
out_printf(struct inetd_out *o, const char *fmt, ...)
{
	va_list ap;
	size_t need;
	char *nb;
	int n;

	if (o->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	need = o->len + (size_t)n + 1;
	if (need > o->cap) {
		o->cap = need * 2 + 256;
		if ((nb = realloc(o->buf, o->cap)) == NULL) {
			o->failed = true;
			return;
		}
		o->buf = nb;
	}
	va_start(ap, fmt);
	vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

/* A libconfuse double-quoted string (as the converter's quote()). */
static void
out_quoted(struct inetd_out *o, const char *s)
{
	out_printf(o, "\"");
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '\\': case '"': case '$':
			out_printf(o, "\\%c", *s);
			break;
		case '\t':
			out_printf(o, "\\t");
			break;
		default:
			out_printf(o, "%c", *s);
		}
	}
	out_printf(o, "\"");
}

static void
out_list(struct inetd_out *o, const char *key, char **v, size_t n)
{
	size_t i;

	out_printf(o, " %s = {", key);
	for (i = 0; i < n; i++) {
		out_printf(o, i == 0 ? " " : ", ");
		out_quoted(o, v[i]);
	}
	out_printf(o, " }");
}

/* One entry's words and what the translation made of them. */
struct inetd_entry {
	int line;
	char **f;		/* the words, NULL-terminated */
	size_t nf;

	char *name;
	char *proto;		/* "tcp", "udp6", "unix", ... */
	const char *type;
	char *listens[16];
	size_t nlistens;
	char *options[8];
	size_t nopts;
	const char *plugin;
	char *exec;
	char *argv0;
	char **args;		/* borrowed from f */
	size_t nargs;
	bool wrappers;
	bool wait;
	char *user;
	char *group;
	unsigned max;		/* nowait.N */
	char *line_first;	/* the service field as written */
	char **hosts;		/* the default hosts where it is (owned) */
	bool isolate;		/* isolation = process */
	bool skip;		/* a tcpmux sub-service: no section */
};

static void
entry_clear(struct inetd_entry *e)
{
	size_t i;

	for (i = 0; e->f != NULL && e->f[i] != NULL; i++)
		free(e->f[i]);
	free(e->f);
	for (i = 0; i < e->nlistens; i++)
		free(e->listens[i]);
	for (i = 0; i < e->nopts; i++)
		free(e->options[i]);
	free(e->name);
	free(e->proto);
	free(e->exec);
	free(e->argv0);
	free(e->user);
	free(e->group);
	free(e->line_first);
	strv_free(e->hosts);
	memset(e, 0, sizeof(*e));
}

/* Splits text into words at blanks; 0, or -1 (no memory). */
static int
entry_split(struct inetd_entry *e, const char *text)
{
	char **nv;
	size_t n;

	while (*(text += strspn(text, " \t\r")) != '\0') {
		n = strcspn(text, " \t\r");
		if ((nv = realloc(e->f, (e->nf + 2) * sizeof(*nv))) == NULL)
			return -1;
		e->f = nv;
		if ((e->f[e->nf] = strndup(text, n)) == NULL)
			return -1;
		e->f[++e->nf] = NULL;
		text += n;
	}
	return 0;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* The family an inetd protocol listens on: "4", "6", "46", or NULL. */
static const char *
inetd_family(const char *proto)
{
	static const char *const map[][2] = {
		{ "tcp", "46" }, { "tcp4", "4" }, { "tcp6", "6" },
		{ "tcp46", "46" }, { "udp", "46" }, { "udp4", "4" },
		{ "udp6", "6" }, { "udp46", "46" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(map[i][0], proto) == 0)
			return map[i][1];
	}
	return NULL;
}

/* The hosts of a "h1,[h2]" prefix, brackets dropped; NULL: no memory. */
static char **
inetd_hosts(const char *text)
{
	struct inetd_entry tmp = { 0 };
	char *copy, *p, *h;
	size_t n;

	if ((copy = strdup(text)) == NULL)
		return NULL;
	for (p = copy; p != NULL; ) {
		h = p;
		if ((p = strchr(p, ',')) != NULL)
			*p++ = '\0';
		n = strlen(h);
		if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
			h[n - 1] = '\0';
			h++;
		}
		if (entry_split(&tmp, h[0] != '\0' ? h : "*") == -1) {
			free(copy);
			entry_clear(&tmp);
			return NULL;
		}
	}
	free(copy);
	if (tmp.f == NULL && (tmp.f = calloc(1, sizeof(char *))) == NULL)
		return NULL;
	return tmp.f;
}


/* Appends a listen entry; -1 when full or out of memory. */
static int
entry_listen(struct inetd_entry *e, const char *fmt, const char *h,
    const char *port)
{
	if (e->nlistens == sizeof(e->listens) / sizeof(e->listens[0]) ||
	    asprintf(&e->listens[e->nlistens], fmt, h, port) == -1)
		return -1;
	e->nlistens++;
	return 0;
}

/*
 * The listen entries for hosts on port, as the converter's
 * inet_listens(): "*" is every address of the family ("[::]" with
 * IPV6_V6ONLY=0 for both), an address of the other family is dropped,
 * and a name is resolved by porterd as for any listen entry.
 */
static int
entry_inet(struct conf_load *ld, struct inetd_entry *e, char **hosts,
    const char *port, const char *family)
{
	char buf[INET6_ADDRSTRLEN + 8], *pct;
	uint8_t a[16];
	size_t i;
	bool all6 = true, any = false;
	int v;

	for (i = 0; hosts[i] != NULL; i++) {
		if (strcmp(hosts[i], "*") == 0) {
			if (entry_listen(e, strcmp(family, "4") == 0 ?
			    "*%s:%s" : "[::%s]:%s", "", port) == -1)
				goto full;
			continue;
		}
		snprintf(buf, sizeof(buf), "%s", hosts[i]);
		if ((pct = strchr(buf, '%')) != NULL)
			*pct = '\0';
		v = inet_pton(AF_INET, buf, a) == 1 ? 4 :
		    inet_pton(AF_INET6, buf, a) == 1 ? 6 : 0;
		if (v == 0 && strcmp(family, "6") == 0)
			continue;	/* names resolve to IPv4 only */
		if ((v == 4 && strcmp(family, "6") == 0) ||
		    (v == 6 && strcmp(family, "4") == 0))
			continue;
		if (entry_listen(e, v == 6 ? "[%s]:%s" : "%s:%s", hosts[i],
		    port) == -1)
			goto full;
	}
	if (e->nlistens == 0) {
		conf_error(ld, e->line, "no address of the entry's family "
		    "(%s) is left to listen on", e->proto);
		return -1;
	}
	for (i = 0; i < e->nlistens; i++) {
		all6 = all6 && e->listens[i][0] == '[';
		any = any || strncmp(e->listens[i], "[::]:", 5) == 0;
	}
	if (any && all6 && (e->options[e->nopts++] = strdup(strcmp(family,
	    "6") == 0 ? "IPV6_V6ONLY" : "IPV6_V6ONLY=0")) == NULL)
		goto nomem;
	return 0;
full:
	conf_error(ld, e->line, "too many listen addresses (at most 16)");
	return -1;
nomem:
	conf_error(ld, e->line, "out of memory");
	return -1;
}

/* sndbuf=N / rcvbuf=N suffixes of the protocol field. */
static int
entry_bufs(struct conf_load *ld, struct inetd_entry *e, char *bufs)
{
	char *b, *end, *opt;
	unsigned long long n;
	const char *which;

	while ((b = strsep(&bufs, ",")) != NULL) {
		which = strncmp(b, "sndbuf=", 7) == 0 ? "SNDBUF" :
		    strncmp(b, "rcvbuf=", 7) == 0 ? "RCVBUF" : NULL;
		errno = 0;
		n = which != NULL && isdigit((unsigned char)b[7]) ?
		    strtoull(b + 7, &end, 10) : 0;
		if (which == NULL || !isdigit((unsigned char)b[7]) ||
		    errno != 0 || (*end != '\0' && (end[1] != '\0' ||
		    strchr("kKmM", *end) == NULL))) {
			conf_error(ld, e->line, "bad socket buffer '%s' "
			    "(sndbuf=N or rcvbuf=N, with k or m)", b);
			return -1;
		}
		if (*end == 'k' || *end == 'K')
			n *= 1024;
		else if (*end == 'm' || *end == 'M')
			n *= 1048576;
		if (e->nopts == sizeof(e->options) / sizeof(e->options[0]) ||
		    asprintf(&opt, "SO_%s=%llu", which, n) == -1) {
			conf_error(ld, e->line, "too many socket options");
			return -1;
		}
		e->options[e->nopts++] = opt;
	}
	return 0;
}

/*
 * exec, argv0 and args: inetd gives the program an argv[0] of the
 * operator's choosing, kept as argv0 where its name differs from the
 * program's; tcpd is replaced by the program it would run.
 */
static int
entry_exec(struct conf_load *ld, struct inetd_entry *e, const char *server)
{
	char **argv = e->f + 6;
	size_t n = e->nf - 6;
	const char *prog = server;

	if (strcmp(base_name(server), "tcpd") == 0) {
		if (n == 0) {
			conf_error(ld, e->line, "tcpd without the program it "
			    "wraps");
			return -1;
		}
		e->wrappers = true;
		if (argv[0][0] == '/')
			e->exec = strdup(argv[0]);
		else if (asprintf(&e->exec, "%s/%s", INETD_TCPD_DIR,
		    argv[0]) == -1)
			e->exec = NULL;
		prog = e->exec;
	} else if ((e->exec = strdup(server)) == NULL) {
		goto nomem;
	}
	if (e->exec == NULL)
		goto nomem;
	if (n > 0 && strcmp(base_name(argv[0]), base_name(prog)) != 0 &&
	    (e->argv0 = strdup(argv[0])) == NULL)
		goto nomem;
	if (n > 0) {
		e->args = argv + 1;
		e->nargs = n - 1;
	}
	return 0;
nomem:
	conf_error(ld, e->line, "out of memory");
	return -1;
}

/* Is `name` taken by an earlier inetd entry? Else takes it. */
static int
inetd_take(struct conf_load *ld, const char *name, bool *taken)
{
	size_t i;

	*taken = false;
	for (i = 0; ld->inetd_names != NULL && ld->inetd_names[i] != NULL;
	    i++) {
		if (strcmp(ld->inetd_names[i], name) == 0) {
			*taken = true;
			return 0;
		}
	}
	return conf_strv_push(&ld->inetd_names, strdup(name)) == -1 ||
	    ld->inetd_names[i] == NULL ? -1 : 0;
}

/*
 * The service's name, unique among the inetd services (as the converter's
 * unique_name()): the service field, then NAME-PROTO, then NAME-2, ...
 * Names porterd.conf uses are not avoided: a clash is reported.
 */
static int
entry_name(struct conf_load *ld, struct inetd_entry *e, const char *first)
{
	char *base, *cand = NULL, *p;
	bool taken;
	int i;

	if (strcmp(e->proto, "unix") == 0) {
		size_t n = strlen(first);

		while (n > 1 && first[n - 1] == '/')
			n--;
		base = strndup(first, n);
		if (base != NULL && strchr(base, '/') != NULL) {
			p = strdup(base_name(base));
			free(base);
			base = p;
		}
		if (base != NULL && base[0] == '\0') {
			free(base);
			base = strdup("unix");
		}
	} else {
		base = strdup(first);
	}
	if (base == NULL)
		goto nomem;
	for (p = base; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("_.-", *p) == NULL)
			*p = '_';
	}
	for (i = 0; i < 1000; i++) {
		if (i == 0)
			cand = strdup(base);
		else if ((i == 1 ? asprintf(&cand, "%s-%s", base, e->proto) :
		    asprintf(&cand, "%s-%d", base, i)) == -1)
			cand = NULL;
		if (cand == NULL || inetd_take(ld, cand, &taken) == -1)
			goto nomem;
		if (!taken)
			break;
		free(cand);
		cand = NULL;
	}
	free(base);
	if (cand == NULL) {
		conf_error(ld, e->line, "too many services named alike");
		return -1;
	}
	e->name = cand;
	return 0;
nomem:
	free(base);
	free(cand);
	conf_error(ld, e->line, "out of memory");
	return -1;
}

/*
 * What the whole file says about each entry: the "service proto" pairs of
 * its tcp6 and udp6 entries (a tcp or udp entry of the same service field
 * then serves IPv4 alone, as the author meant by writing both: OpenBSD's
 * stock inetd.conf does, where tcp is IPv4; otherwise tcp is IPv4 and
 * IPv6, as Debian's openbsd-inetd reads it, and the two would bind one
 * port twice), and its tcpmux sub-services, which become the arguments of
 * the one tcpmux service (plugins/tcpmux.c), written at the `tcpmux ...
 * internal` entry or, without one, at the first sub-service.
 */
struct inetd_file {
	char **v6;		/* "service-field proto" pairs */
	char **tcpmux;		/* the tcpmux plugin's args */
	int tcpmux_line;	/* where its section goes, or 0 */
};

static void
inetd_file_clear(struct inetd_file *fi)
{
	strv_free(fi->v6);
	strv_free(fi->tcpmux);
}

/* Is e an enabled "tcpmux/NAME" sub-service entry? */
static bool
entry_is_tcpmux_sub(const struct inetd_entry *e)
{
	const char *c;

	if (e->nf < 6 || strcmp(e->f[2], "unix") == 0)
		return false;
	c = strrchr(e->f[0], ':');
	return strncmp(c != NULL ? c + 1 : e->f[0], "tcpmux/", 7) == 0;
}

static int
inetd_file_scan(struct inetd_file *fi, const struct inetd_entry *ents,
    size_t n)
{
	const struct inetd_entry *e;
	char *arg, *c;
	size_t i, j, len;

	for (i = 0; i < n; i++) {
		e = &ents[i];
		if (e->nf >= 3 && (strncmp(e->f[2], "tcp6", 4) == 0 ||
		    strncmp(e->f[2], "udp6", 4) == 0)) {
			if (asprintf(&arg, "%s %.3s", e->f[0], e->f[2]) == -1 ||
			    conf_strv_push(&fi->v6, arg) == -1)
				return -1;
		}
		c = e->nf >= 6 ? strrchr(e->f[0], ':') : NULL;
		if (e->nf >= 6 && strcmp(c != NULL ? c + 1 : e->f[0],
		    "tcpmux") == 0 && strcmp(e->f[5], "internal") == 0 &&
		    fi->tcpmux_line == 0)
			fi->tcpmux_line = e->line;
		if (!entry_is_tcpmux_sub(e))
			continue;
		/* "[+]NAME USER[:GROUP] PROGRAM [ARGV0 [ARG...]]" */
		c = strrchr(e->f[0], ':');
		for (len = 0, j = 4; j < e->nf; j++)
			len += strlen(e->f[j]) + 1;
		if ((arg = malloc(strlen(e->f[0]) + len + 1)) == NULL)
			return -1;
		strcpy(arg, (c != NULL ? c + 1 : e->f[0]) + 7);
		for (j = 4; j < e->nf; j++) {
			strcat(arg, " ");
			strcat(arg, e->f[j]);
		}
		if (conf_strv_push(&fi->tcpmux, arg) == -1)
			return -1;
	}
	for (i = 0; fi->tcpmux_line == 0 && i < n; i++) {
		if (entry_is_tcpmux_sub(&ents[i]))
			fi->tcpmux_line = ents[i].line;
	}
	return 0;
}

/* Checks and translates one entry's words into e. */
static int
entry_translate(struct conf_load *ld, struct inetd_entry *e,
    const struct inetd_file *fi)
{
	char **default_hosts = e->hosts, **v6_pairs = fi->v6;
	char *first, *socktype, *wait, *user, *server, *proto, *bufs, *colon;
	char **hosts = NULL, *end;
	const char *family;
	unsigned long max = 0;
	size_t i;
	int rc = -1;

	if (e->nf < 6) {
		conf_error(ld, e->line, "expected 'service socket-type "
		    "protocol wait user server [args]', got %zu field%s",
		    e->nf, e->nf == 1 ? "" : "s");
		return -1;
	}
	first = e->f[0];
	socktype = e->f[1];
	wait = e->f[3];
	user = e->f[4];
	server = e->f[5];
	if ((proto = strdup(e->f[2])) == NULL ||
	    (e->line_first = strdup(e->f[0])) == NULL)
		goto nomem;
	if ((bufs = strchr(proto, ',')) != NULL)
		*bufs++ = '\0';
	e->proto = proto;
	if (strcmp(proto, "unix") != 0 && (colon = strrchr(first, ':')) !=
	    NULL) {
		*colon = '\0';
		hosts = inetd_hosts(first);
		first = colon + 1;
	} else {
		for (i = 0; default_hosts[i] != NULL; i++)
			;
		if ((hosts = calloc(i + 1, sizeof(char *))) != NULL) {
			for (i = 0; default_hosts[i] != NULL; i++) {
				if ((hosts[i] = strdup(default_hosts[i])) ==
				    NULL) {
					strv_free(hosts);
					hosts = NULL;
					break;
				}
			}
		}
	}
	if (hosts == NULL)
		goto nomem;

	if (strcmp(socktype, "stream") != 0 && strcmp(socktype, "dgram") !=
	    0 && strcmp(socktype, "seqpacket") != 0) {
		conf_error(ld, e->line, strcmp(socktype, "raw") == 0 ||
		    strcmp(socktype, "rdm") == 0 ? "porterd has no %s sockets"
		    : "unknown socket type '%s'", socktype);
		goto done;
	}
	e->type = socktype;
	if (strncmp(wait, "nowait", 6) == 0)
		end = wait + 6;
	else if (strncmp(wait, "wait", 4) == 0)
		end = wait + 4;
	else
		end = NULL;
	if (end != NULL && *end == '.' && isdigit((unsigned char)end[1])) {
		errno = 0;
		max = strtoul(end + 1, &end, 10);
		if (errno != 0 || max > 1000000)
			end = NULL;
	}
	if (end == NULL || *end != '\0') {
		conf_error(ld, e->line, "expected wait or nowait[.max], not "
		    "'%s'", wait);
		goto done;
	}
	if (strcmp(proto, "unix") != 0 && strncmp(first, "tcpmux/", 7) ==
	    0) {
		if (strcmp(socktype, "stream") != 0 || strncmp(proto, "tcp",
		    3) != 0 || strncmp(wait, "nowait", 6) != 0 ||
		    strcmp(base_name(server), "tcpd") == 0 ||
		    strcmp(server, "internal") == 0) {
			conf_error(ld, e->line, "a tcpmux service is 'stream "
			    "tcp nowait' and runs a program (not tcpd)");
			goto done;
		}
		if (e->line != fi->tcpmux_line) {
			e->skip = true;	/* an argument of the tcpmux service */
			rc = 0;
			goto done;
		}
		/* The first, with no tcpmux entry: the service's place. */
		first = "tcpmux";
		server = "internal";
		wait = "nowait";
	}
	if (strncmp(proto, "rpc/", 4) == 0 || (strcmp(proto, "unix") != 0 &&
	    strchr(first, '/') != NULL)) {
		conf_error(ld, e->line, "RPC services need the portmapper, "
		    "which porterd does not speak");
		goto done;
	}
	family = inetd_family(proto);
	for (i = 0; (strcmp(proto, "tcp") == 0 || strcmp(proto, "udp") ==
	    0) && v6_pairs != NULL && v6_pairs[i] != NULL; i++) {
		size_t n = strlen(v6_pairs[i]);

		/* e->f[0] lost its host part above; the pair has it. */
		if (strcmp(v6_pairs[i] + n - 3, proto) == 0 &&
		    strncmp(v6_pairs[i], e->line_first, n - 4) == 0 &&
		    e->line_first[n - 4] == '\0')
			family = "4";
	}
	if (family == NULL && strcmp(proto, "unix") != 0) {
		conf_error(ld, e->line, "protocol '%s' is not supported "
		    "(tcp, tcp4, tcp6, tcp46, udp, ..., unix)", proto);
		goto done;
	}
	if ((strncmp(proto, "tcp", 3) == 0 && strcmp(socktype, "stream") !=
	    0) || (strncmp(proto, "udp", 3) == 0 && strcmp(socktype,
	    "dgram") != 0)) {
		conf_error(ld, e->line, "protocol %s does not fit socket type "
		    "%s", proto, socktype);
		goto done;
	}
	if (entry_name(ld, e, first) == -1)
		goto done;
	if (family == NULL) {
		if ((e->listens[e->nlistens++] = strdup(first)) == NULL)
			goto nomem;
	} else if (entry_inet(ld, e, hosts, first, family) == -1) {
		goto done;
	}
	if (bufs != NULL && entry_bufs(ld, e, bufs) == -1)
		goto done;

	if (strcmp(server, "internal") == 0 && strcmp(first, "tcpmux") == 0 &&
	    family != NULL) {
		/*
		 * Its services replace the handler process, running as their
		 * own users: an isolated child that starts as root.
		 */
		e->plugin = "tcpmux";
		e->isolate = true;
		if ((e->user = strdup("root")) == NULL)
			goto nomem;
		e->args = fi->tcpmux;
		for (e->nargs = 0; fi->tcpmux != NULL &&
		    fi->tcpmux[e->nargs] != NULL; e->nargs++)
			;
		if (e->line != fi->tcpmux_line) {
			conf_error(ld, e->line, "a second tcpmux service (the "
			    "first is at line %d)", fi->tcpmux_line);
			goto done;
		}
	} else if (strcmp(server, "internal") == 0) {
		for (i = 0; inetd_plugins[i] != NULL; i++) {
			if (strcmp(inetd_plugins[i], first) == 0 &&
			    family != NULL)
				e->plugin = inetd_plugins[i];
		}
		if (e->plugin == NULL) {
			conf_error(ld, e->line, "porterd has no built-in '%s' "
			    "service", first);
			goto done;
		}
		/* The plugins serve streams without wait. */
		e->wait = false;
	} else {
		if (entry_exec(ld, e, server) == -1)
			goto done;
		if ((colon = strpbrk(user, ":.")) != NULL) {
			*colon = '\0';
			if ((e->group = strdup(colon + 1)) == NULL)
				goto nomem;
		}
		if ((e->user = strdup(user)) == NULL)
			goto nomem;
		/* Datagram services always wait (porterd's default). */
		e->wait = strncmp(wait, "wait", 4) == 0 &&
		    strcmp(socktype, "dgram") != 0;
	}
	e->max = (unsigned)max;
	rc = 0;
	goto done;
nomem:
	conf_error(ld, e->line, "out of memory");
done:
	strv_free(hosts);
	return rc;
}

/* A rate as libconfuse reads a float, as the converter's fmt_rate(). */
static void
out_rate(struct inetd_out *o, unsigned per_min)
{
	double r = per_min / 60.0;

	if (r == (double)(long)r)
		out_printf(o, " rate = %ld", (long)r);
	else
		out_printf(o, " rate = %.6g", r);
}

/* Writes e as one service section on line e->line of o. */
static void
entry_write(struct inetd_out *o, const struct inetd_entry *e)
{
	while (o->line < e->line) {
		out_printf(o, "\n");
		o->line++;
	}
	out_printf(o, "service ");
	out_quoted(o, e->name);
	out_printf(o, " {");
	out_list(o, "listen", (char **)(uintptr_t)e->listens, e->nlistens);
	if (strcmp(e->type, "stream") != 0)
		out_printf(o, " type = %s", e->type);
	if (e->plugin != NULL) {
		out_printf(o, " plugin = ");
		out_quoted(o, e->plugin);
		if (e->nargs > 0)
			out_list(o, "args", e->args, e->nargs);
		if (e->isolate)
			out_printf(o, " isolation = process");
	} else {
		out_printf(o, " exec = ");
		out_quoted(o, e->exec);
		if (e->argv0 != NULL) {
			out_printf(o, " argv0 = ");
			out_quoted(o, e->argv0);
		}
		if (e->nargs > 0)
			out_list(o, "args", e->args, e->nargs);
		/* inetd puts the connection on 0, 1 and 2. */
		out_printf(o, " stderr = socket");
	}
	if (e->wait)
		out_printf(o, " wait = true");
	if (e->user != NULL) {
		out_printf(o, " user = ");
		out_quoted(o, e->user);
	}
	if (e->group != NULL) {
		out_printf(o, " group = ");
		out_quoted(o, e->group);
	}
	if (e->nopts > 0)
		out_list(o, "options", (char **)(uintptr_t)e->options,
		    e->nopts);
	if (e->max > 0) {
		out_rate(o, e->max);
		out_printf(o, " burst = %u", e->max);
	}
	if (e->wrappers)
		out_printf(o, " tcp-wrappers = true");
	out_printf(o, " }");
}

/*
 * Translates one inetd.conf text (ld->file) into porterd.conf service
 * sections in *ret (caller frees).  The entries are gathered first (the
 * tcpmux service and the tcp/tcp6 pairs depend on the whole file), then
 * each is translated and written on its own line.  Returns 0, or -1 with
 * the error recorded.
 */
static int
inetd_translate(struct conf_load *ld, const char *text, char **ret,
    size_t *ret_len)
{
	struct inetd_out o = { .line = 1 };
	struct inetd_file fi = { 0 };
	struct inetd_entry *ents = NULL, *e = NULL, *nv;
	char **default_hosts = NULL, *copy = NULL, *line, *next, *h;
	bool joinable = false;
	size_t nents = 0, i;
	int n = 0, rc = -1;

	if ((copy = strdup(text)) == NULL ||
	    (default_hosts = inetd_hosts("*")) == NULL)
		goto nomem;
	for (line = copy; line != NULL; line = next) {
		n++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		h = line + strspn(line, " \t\r");
		/*
		 * Comments, blank lines and update-inetd's #<off># entries
		 * end an entry: an indented comment's words would otherwise
		 * become arguments, which nobody writing one means.
		 */
		if (*h == '\0' || *h == '#') {
			joinable = false;
			continue;
		}
		if ((line[0] == ' ' || line[0] == '\t') && joinable) {
			if (entry_split(e, h) == -1)
				goto nomem;
			continue;
		}
		if ((nv = realloc(ents, (nents + 1) * sizeof(*ents))) == NULL)
			goto nomem;
		ents = nv;
		e = &ents[nents++];
		memset(e, 0, sizeof(*e));
		e->line = n;
		if (entry_split(e, h) == -1)
			goto nomem;
		joinable = true;
		if (e->nf == 1 && e->f[0][strlen(e->f[0]) - 1] == ':') {
			/* "host:" sets the default host of what follows. */
			e->f[0][strlen(e->f[0]) - 1] = '\0';
			strv_free(default_hosts);
			default_hosts = inetd_hosts(e->f[0]);
			entry_clear(e);
			nents--;
			e = NULL;
			joinable = false;
			if (default_hosts == NULL)
				goto nomem;
			continue;
		}
		for (i = 0; default_hosts[i] != NULL; i++)
			;
		if ((e->hosts = calloc(i + 1, sizeof(char *))) == NULL)
			goto nomem;
		for (i = 0; default_hosts[i] != NULL; i++) {
			if ((e->hosts[i] = strdup(default_hosts[i])) == NULL)
				goto nomem;
		}
	}
	if (inetd_file_scan(&fi, ents, nents) == -1)
		goto nomem;
	for (i = 0; i < nents; i++) {
		if (entry_translate(ld, &ents[i], &fi) == -1)
			goto fail;
		if (!ents[i].skip)
			entry_write(&o, &ents[i]);
	}
	out_printf(&o, "\n");
	if (o.failed)
		goto nomem;
	*ret = o.buf;
	*ret_len = o.len;
	o.buf = NULL;
	rc = 0;
	goto fail;
nomem:
	conf_error(ld, n, "out of memory");
fail:
	for (i = 0; i < nents; i++)
		entry_clear(&ents[i]);
	free(ents);
	inetd_file_clear(&fi);
	strv_free(default_hosts);
	free(copy);
	free(o.buf);
	return rc;
}

/* conf_patterns()'s reader for one inetd.conf. */
static int
conf_inetd_parse(struct conf_load *ld, char *text, size_t len)
{
	char *out = NULL;
	size_t outlen;
	int rc;

	(void)len;
	ld->nlines = 0;		/* the main file's count does not apply */
	if (inetd_translate(ld, text, &out, &outlen) == -1)
		return -1;
	rc = conf_parse_dropin(ld, out, outlen);
	free(out);
	return rc;
}

int
conf_inetd_files(struct conf_load *ld, cfg_t *root)
{
	return conf_patterns(ld, root, "inetd-conf", ROOT_INETD_CONF,
	    conf_inetd_parse);
}

int
conf_inetd_dump(const char *file, const char *text, char **ret,
    size_t *ret_len, char *errbuf, size_t errlen)
{
	struct conf_load ld;
	size_t i;
	int rc;

	memset(&ld, 0, sizeof(ld));
	ld.file = file;
	ld.errbuf = errbuf;
	ld.errlen = errlen;
	if (errlen > 0)
		errbuf[0] = '\0';
	rc = inetd_translate(&ld, text, ret, ret_len);
	for (i = 0; ld.inetd_names != NULL && ld.inetd_names[i] != NULL; i++)
		free(ld.inetd_names[i]);
	free(ld.inetd_names);
	return rc;
}

/* ------------------------------------------------------------------------
 * tcp-wrappers and banners on any service
 * ---------------------------------------------------------------------- */

static int CONF_PRINTF(4, 5)
inetd_fail(struct conf_load *ld, const struct conf_section *cs, int opt,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_error(ld, conf_line(&cs->lines[opt], 0, cs->line),
	    "service '%s': %s", cfg_title(cs->sec), msg);
	return -1;
}

/* Reads banner file option `opt` into *ret / *ret_len. */
static int
inetd_banner(struct conf_load *ld, const struct conf_section *cs,
    struct service *s, int opt, const char *name, char **ret,
    size_t *ret_len)
{
	char why[256], *text;
	const char *path;
	struct stat st;
	size_t len;

	if (cfg_size(cs->sec, name) == 0)
		return 0;
	path = cfg_getstr(cs->sec, name);
	if (s->socktype != SOCK_STREAM || s->wait)
		return inetd_fail(ld, cs, opt, "%s is for stream services "
		    "without wait (it is sent on each accepted connection)",
		    name);
	if (path[0] != '/')
		return inetd_fail(ld, cs, opt, "%s '%s' is not an absolute "
		    "path", name, path);
	if (conf_read(ld, path, &text, &len, &st, why, sizeof(why)) == -1)
		return inetd_fail(ld, cs, opt, "%s %s: %s", name, path, why);
	if (len > INETD_BANNER_MAX) {
		free(text);
		return inetd_fail(ld, cs, opt, "%s %s: %zu bytes, more than "
		    "the %d a banner may have", name, path, len,
		    INETD_BANNER_MAX);
	}
	*ret = text;
	*ret_len = len;
	return 0;
}

int
conf_inetd_service(struct conf_load *ld, const struct conf_section *cs,
    struct service *s)
{
	const char *name;

	if (inetd_banner(ld, cs, s, SVC_BANNER, "banner", &s->banner,
	    &s->banner_len) == -1 ||
	    inetd_banner(ld, cs, s, SVC_BANNER_SUCCESS, "banner-success",
	    &s->banner_success, &s->banner_success_len) == -1 ||
	    inetd_banner(ld, cs, s, SVC_BANNER_FAIL, "banner-fail",
	    &s->banner_fail, &s->banner_fail_len) == -1)
		return -1;
	if (cfg_size(cs->sec, "tcp-wrappers") == 0 ||
	    !cfg_getbool(cs->sec, "tcp-wrappers"))
		return 0;
	if (s->wait)
		return inetd_fail(ld, cs, SVC_TCP_WRAPPERS, "tcp-wrappers "
		    "needs a service without wait (it checks each accepted "
		    "connection's peer)");
	/* The name tcpd gives hosts.allow: its program's, as run. */
	name = s->kind == HANDLER_PLUGIN ? s->handler : s->argv0 != NULL ?
	    s->argv0 : s->handler;
	if ((s->wrap_name = strdup(base_name(name))) == NULL)
		return inetd_fail(ld, cs, SVC_TCP_WRAPPERS, "out of memory");
	s->tcp_wrappers = true;
	return 0;
}

void
conf_inetd_service_free(struct service *s)
{
	free(s->wrap_name);
	wrap_rules_free(s->wrap);
	free(s->banner);
	free(s->banner_success);
	free(s->banner_fail);
}

int
conf_inetd_wrap(struct conf_load *ld)
{
	struct config *cfg = ld->cfg;
	struct wrap_db *db = NULL;
	char err[512];
	size_t i;

	for (i = 0; i < cfg->nservices; i++) {
		struct service *s = cfg->services[i];

		if (!s->tcp_wrappers)
			continue;
		if (db == NULL && (db = wrap_db_load(cfg->hosts_allow,
		    cfg->hosts_deny, err, sizeof(err))) == NULL)
			goto fail;
		if ((s->wrap = wrap_select(db, s->wrap_name, err,
		    sizeof(err))) == NULL) {
			size_t n = strlen(err);

			snprintf(err + n, sizeof(err) - n, " (for service "
			    "'%s', daemon %s, %s:%d)", s->name, s->wrap_name,
			    s->file, s->line);
			goto fail;
		}
	}
	wrap_db_free(db);
	return 0;
fail:
	wrap_db_free(db);
	/* The message names the hosts file's own line. */
	if (!ld->failed) {
		snprintf(ld->errbuf, ld->errlen, "%s", err);
		ld->failed = true;
	}
	return -1;
}
