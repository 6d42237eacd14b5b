/*
 * wrap.c -- hosts.allow and hosts.deny, read at load (see wrap.h).
 *
 * A file is split into logical lines (backslash-newline joins, '#' starts
 * a comment line), each into fields at the colons outside brackets (an
 * IPv6 client is written [::1]), and each field into words at blanks and
 * commas.  The words are kept as written; wrap_select() decides which
 * rules concern a daemon and only then compiles their client words, so a
 * form porterd cannot honour is refused only where it would matter.
 * Matching follows libwrap's list_match(): the first word that matches
 * decides, unless an EXCEPT after it excludes the peer again.
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

#include "wrap.h"
#include "strv.h"

#define WRAP_FILE_MAX	(1024 * 1024)	/* a bigger file is a mistake */

/* One rule as written. */
struct wrap_line {
	const char *file;	/* borrowed from the db */
	int line;
	bool in_allow;		/* from hosts.allow */
	char **daemons;		/* words, NULL-terminated */
	char **clients;
	char **extra;		/* option fields after the second, as text */
	size_t nextra;
};

struct wrap_db {
	char *files[2];		/* allow, deny */
	struct wrap_line *v;
	size_t n;
};

enum wrap_kind {
	WRAP_ALL,
	WRAP_NET,		/* family, addr, mask */
	WRAP_PREFIX,		/* "a.b.c.": a textual IPv4 prefix */
	WRAP_EXCEPT
};

struct wrap_pat {
	enum wrap_kind kind;
	int family;
	uint8_t addr[16];
	uint8_t mask[16];
	char prefix[16];
};

struct wrap_rule {
	char *where;		/* "FILE:LINE" */
	bool grant;
	struct wrap_pat *pats;
	size_t npats;
};

struct wrap_rules {
	struct wrap_rule *v;
	size_t n;
};

static void __attribute__((format(printf, 3, 4)))
wrap_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The words of one field (blanks and commas separate); NULL: no memory. */
static char **
wrap_words(const char *s)
{
	char **v = calloc(1, sizeof(*v)), **nv;
	size_t n = 0, len;

	while (v != NULL) {
		s += strspn(s, " \t,");
		if (*s == '\0')
			break;
		len = strcspn(s, " \t,");
		if ((nv = realloc(v, (n + 2) * sizeof(*v))) == NULL ||
		    (nv[n] = strndup(s, len)) == NULL) {
			if (nv != NULL)
				v = nv;
			v[n] = NULL;
			strv_free(v);
			return NULL;
		}
		v = nv;
		v[++n] = NULL;
		s += len;
	}
	return v;
}

/* Parses one logical line into db; 0, or -1 with the error in err. */
static int
wrap_parse_line(struct wrap_db *db, const char *file, int line, bool allow,
    char *text, char *err, size_t errlen)
{
	char *fields[8];
	size_t nf = 0, i, depth = 0;
	struct wrap_line *v, *l;
	char *p;

	fields[nf++] = text;
	for (p = text; *p != '\0'; p++) {
		if (*p == '[')
			depth++;
		else if (*p == ']' && depth > 0)
			depth--;
		else if (*p == ':' && depth == 0 && nf < 8) {
			*p = '\0';
			fields[nf++] = p + 1;
		}
	}
	if (nf < 2) {
		wrap_err(err, errlen, "%s:%d: expected 'daemons : clients'",
		    file, line);
		return -1;
	}
	if ((v = realloc(db->v, (db->n + 1) * sizeof(*v))) == NULL)
		goto nomem;
	db->v = v;
	l = &db->v[db->n++];
	memset(l, 0, sizeof(*l));
	l->file = file;
	l->line = line;
	l->in_allow = allow;
	if ((l->daemons = wrap_words(fields[0])) == NULL ||
	    (l->clients = wrap_words(fields[1])) == NULL)
		goto nomem;
	if (nf > 2 && (l->extra = calloc(nf - 2, sizeof(char *))) == NULL)
		goto nomem;
	for (i = 2; i < nf; i++) {
		p = fields[i] + strspn(fields[i], " \t");
		if ((l->extra[l->nextra++] = strdup(p)) == NULL)
			goto nomem;
		/* Trailing blanks are not part of an option. */
		p = l->extra[l->nextra - 1];
		for (size_t e = strlen(p); e > 0 && isspace((unsigned char)
		    p[e - 1]); e--)
			p[e - 1] = '\0';
	}
	return 0;
nomem:
	wrap_err(err, errlen, "%s:%d: out of memory", file, line);
	return -1;
}

/* Reads one file into db; a missing file has no rules. */
static int
wrap_read(struct wrap_db *db, const char *file, bool allow, char *err,
    size_t errlen)
{
	char *text = NULL, *p, *nl, *out;
	size_t len = 0, cap = 0;
	int line = 1, start, rc = 0;
	FILE *fp;

	if ((fp = fopen(file, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		wrap_err(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap == 0 ? 8192 : cap * 2;
			if ((p = realloc(text, cap)) == NULL) {
				wrap_err(err, errlen, "%s: out of memory",
				    file);
				goto fail;
			}
			text = p;
		}
		size_t got = fread(text + len, 1, 4096, fp);
		len += got;
		if (len > WRAP_FILE_MAX) {
			wrap_err(err, errlen, "%s: larger than %d bytes", file,
			    WRAP_FILE_MAX);
			goto fail;
		}
		if (got < 4096)
			break;
	}
	if (ferror(fp)) {
		wrap_err(err, errlen, "%s: %s", file, strerror(errno));
		goto fail;
	}
	fclose(fp);
	fp = NULL;
	text[len] = '\0';

	for (p = text; *p != '\0' && rc == 0; p = nl) {
		/* Join backslash-newline continuations in place. */
		start = line;
		for (nl = out = p; *nl != '\0'; nl++) {
			if (*nl == '\\' && nl[1] == '\n') {
				nl++;
				line++;
				continue;
			}
			if (*nl == '\n')
				break;
			*out++ = *nl;
		}
		if (*nl == '\n') {
			nl++;
			line++;
		}
		*out = '\0';
		p += strspn(p, " \t\r");
		if (*p == '\0' || *p == '#')
			continue;
		rc = wrap_parse_line(db, file, start, allow, p, err, errlen);
	}
	free(text);
	return rc;
fail:
	if (fp != NULL)
		fclose(fp);
	free(text);
	return -1;
}

struct wrap_db *
wrap_db_load(const char *allow_path, const char *deny_path, char *err,
    size_t errlen)
{
	struct wrap_db *db;

	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->files[0] = strdup(allow_path)) == NULL ||
	    (db->files[1] = strdup(deny_path)) == NULL) {
		wrap_err(err, errlen, "out of memory");
		wrap_db_free(db);
		return NULL;
	}
	if (wrap_read(db, db->files[0], true, err, errlen) == -1 ||
	    wrap_read(db, db->files[1], false, err, errlen) == -1) {
		wrap_db_free(db);
		return NULL;
	}
	return db;
}

void
wrap_db_free(struct wrap_db *db)
{
	size_t i, j;

	if (db == NULL)
		return;
	for (i = 0; i < db->n; i++) {
		strv_free(db->v[i].daemons);
		strv_free(db->v[i].clients);
		for (j = 0; j < db->v[i].nextra; j++)
			free(db->v[i].extra[j]);
		free(db->v[i].extra);
	}
	free(db->v);
	free(db->files[0]);
	free(db->files[1]);
	free(db);
}

/* A daemon word libwrap would compare by name alone. */
static bool
wrap_plain_name(const char *w)
{
	return w[0] != '\0' && strpbrk(w, "@*?/[") == NULL;
}

/*
 * Does daemon word w match `name`?  1 yes, 0 no, -1: a form porterd
 * refuses that could match it.
 */
static int
wrap_daemon_word(const char *w, const char *name)
{
	const char *at;

	if (strcmp(w, "ALL") == 0)
		return 1;
	if (wrap_plain_name(w))
		return strcmp(w, name) == 0;
	/* daemon@host: refused where its daemon part is ours (or ALL). */
	if ((at = strchr(w, '@')) != NULL && strpbrk(w, "*?") == NULL)
		return (strncmp(w, name, (size_t)(at - w)) == 0 &&
		    name[at - w] == '\0') || strncmp(w, "ALL@", 4) == 0 ?
		    -1 : 0;
	return -1;
}

/* libwrap's list_match() over daemon words; -1 names a refused word. */
static int
wrap_daemon_list(char **w, const char *name, const char **bad)
{
	int m;

	for (; *w != NULL; w++) {
		if (strcmp(*w, "EXCEPT") == 0)
			return 0;
		if ((m = wrap_daemon_word(*w, name)) == -1) {
			*bad = *w;
			return -1;
		}
		if (m == 1) {
			while (*w != NULL && strcmp(*w, "EXCEPT") != 0)
				w++;
			if (*w == NULL)
				return 1;
			m = wrap_daemon_list(w + 1, name, bad);
			return m == -1 ? -1 : !m;
		}
	}
	return 0;
}

/* An IPv4 mask in dotted form, as contiguous ones. */
static bool
wrap_v4_mask(const char *s, uint8_t mask[4])
{
	struct in_addr a;
	uint32_t m;

	if (inet_pton(AF_INET, s, &a) != 1)
		return false;
	m = ntohl(a.s_addr);
	if (((~m + 1) & ~m) != 0)	/* not 1...10...0 */
		return false;
	memcpy(mask, &a.s_addr, 4);
	return true;
}

static void
wrap_len_mask(uint8_t *mask, unsigned len)
{
	unsigned i;

	for (i = 0; i < len; i++)
		mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

/* Compiles one client word into p; -1 with the reason in why. */
static int
wrap_client_word(const char *w, struct wrap_pat *p, const char **why)
{
	char buf[64], *slash, *end;
	unsigned long len;
	size_t i, n;

	memset(p, 0, sizeof(*p));
	if (strcmp(w, "EXCEPT") == 0) {
		p->kind = WRAP_EXCEPT;
		return 0;
	}
	if (strcmp(w, "ALL") == 0) {
		p->kind = WRAP_ALL;
		return 0;
	}
	if (strcmp(w, "LOCAL") == 0 || strcmp(w, "KNOWN") == 0 ||
	    strcmp(w, "UNKNOWN") == 0 || strcmp(w, "PARANOID") == 0) {
		*why = "needs host name lookups";
		return -1;
	}
	if (w[0] == '.') {
		*why = "a domain pattern needs host name lookups";
		return -1;
	}
	if (w[0] == '@') {
		*why = "NIS netgroups are not supported";
		return -1;
	}
	if (w[0] == '/') {
		*why = "patterns read from a file are not supported";
		return -1;
	}
	if (strchr(w, '@') != NULL) {
		*why = "user@host needs ident (RFC 931) lookups";
		return -1;
	}
	if (strpbrk(w, "*?") != NULL) {
		*why = "wildcards are not supported";
		return -1;
	}
	p->kind = WRAP_NET;
	if (snprintf(buf, sizeof(buf), "%s", w) >= (int)sizeof(buf))
		goto name;
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (buf[0] == '[') {
		n = strlen(buf);
		if (n < 3 || buf[n - 1] != ']')
			goto bad;
		buf[n - 1] = '\0';
		if (inet_pton(AF_INET6, buf + 1, p->addr) != 1)
			goto bad;
		p->family = AF_INET6;
		len = 128;
		if (slash != NULL) {
			errno = 0;
			len = strtoul(slash, &end, 10);
			if (!isdigit((unsigned char)*slash) || *end != '\0' ||
			    len > 128)
				goto bad;
		}
		wrap_len_mask(p->mask, (unsigned)len);
	} else if (inet_pton(AF_INET, buf, p->addr) == 1) {
		p->family = AF_INET;
		if (slash == NULL) {
			wrap_len_mask(p->mask, 32);
		} else if (strchr(slash, '.') != NULL) {
			if (!wrap_v4_mask(slash, p->mask))
				goto bad;
		} else {
			len = strtoul(slash, &end, 10);
			if (!isdigit((unsigned char)*slash) || *end != '\0' ||
			    len > 32)
				goto bad;
			wrap_len_mask(p->mask, (unsigned)len);
		}
	} else if (slash == NULL && buf[strlen(buf) - 1] == '.' &&
	    strspn(buf, "0123456789.") == strlen(buf)) {
		/* "10.1.": libwrap compares the text of the address. */
		p->kind = WRAP_PREFIX;
		snprintf(p->prefix, sizeof(p->prefix), "%s", buf);
		if (strlen(buf) > 12 || strstr(buf, "..") != NULL ||
		    buf[0] == '.')
			goto bad;
	} else if (slash != NULL || strspn(buf, "0123456789.") ==
	    strlen(buf)) {
		goto bad;
	} else {
		goto name;
	}
	for (i = 0; i < 16; i++)
		p->addr[i] &= p->mask[i];
	return 0;
name:
	*why = "a host name needs name lookups (write the address)";
	return -1;
bad:
	*why = "not an address, a.b.c., a network (a.b.c.d/m.m.m.m, "
	    "a.b.c.d/len, [v6]/len) or ALL";
	return -1;
}

static void
wrap_rule_free(struct wrap_rule *r)
{
	free(r->where);
	free(r->pats);
}

void
wrap_rules_free(struct wrap_rules *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		wrap_rule_free(&r->v[i]);
	free(r->v);
	free(r);
}

/* Compiles line l for the rule set; 0, or -1 with err. */
static int
wrap_compile(struct wrap_rules *rs, const struct wrap_line *l, char *err,
    size_t errlen)
{
	struct wrap_rule *v, r;
	const char *why = NULL, *opt;
	size_t n = 0, i;

	memset(&r, 0, sizeof(r));
	r.grant = l->in_allow;
	if (l->nextra > 1 || (l->nextra == 1 &&
	    strcasecmp(l->extra[0], "allow") != 0 &&
	    strcasecmp(l->extra[0], "deny") != 0)) {
		opt = l->extra[0];
		wrap_err(err, errlen, "%s:%d: option '%s' is not supported "
		    "(only ': allow' and ': deny'; porterd runs no shell "
		    "commands from hosts.allow)", l->file, l->line, opt);
		return -1;
	}
	if (l->nextra == 1)
		r.grant = strcasecmp(l->extra[0], "allow") == 0;
	while (l->clients[n] != NULL)
		n++;
	if (n == 0) {
		wrap_err(err, errlen, "%s:%d: the client list is empty",
		    l->file, l->line);
		return -1;
	}
	if ((r.pats = calloc(n, sizeof(*r.pats))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if (wrap_client_word(l->clients[i], &r.pats[i], &why) == -1) {
			wrap_err(err, errlen, "%s:%d: client '%s': %s",
			    l->file, l->line, l->clients[i], why);
			free(r.pats);
			return -1;
		}
	}
	r.npats = n;
	if (asprintf(&r.where, "%s:%d", l->file, l->line) == -1) {
		r.where = NULL;
		goto nomem;
	}
	if ((v = realloc(rs->v, (rs->n + 1) * sizeof(*v))) == NULL)
		goto nomem;
	rs->v = v;
	rs->v[rs->n++] = r;
	return 0;
nomem:
	wrap_rule_free(&r);
	wrap_err(err, errlen, "%s:%d: out of memory", l->file, l->line);
	return -1;
}

struct wrap_rules *
wrap_select(const struct wrap_db *db, const char *name, char *err,
    size_t errlen)
{
	struct wrap_rules *rs;
	const char *bad = NULL;
	size_t i;
	int m;

	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		wrap_err(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < db->n; i++) {
		m = wrap_daemon_list(db->v[i].daemons, name, &bad);
		if (m == -1) {
			wrap_err(err, errlen, "%s:%d: daemon '%s' is not "
			    "supported (plain names, ALL and EXCEPT only)",
			    db->v[i].file, db->v[i].line, bad);
			goto fail;
		}
		if (m == 1 && wrap_compile(rs, &db->v[i], err, errlen) == -1)
			goto fail;
	}
	return rs;
fail:
	wrap_rules_free(rs);
	return NULL;
}

static bool
wrap_pat_match(const struct wrap_pat *p, int family, const uint8_t *addr,
    const char *text)
{
	size_t i, n;

	switch (p->kind) {
	case WRAP_ALL:
		return true;
	case WRAP_NET:
		if (p->family != family)
			return false;
		n = family == AF_INET ? 4 : 16;
		for (i = 0; i < n; i++) {
			if ((addr[i] & p->mask[i]) != p->addr[i])
				return false;
		}
		return true;
	case WRAP_PREFIX:
		return family == AF_INET &&
		    strncmp(text, p->prefix, strlen(p->prefix)) == 0;
	case WRAP_EXCEPT:
		break;
	}
	return false;
}

/* list_match() over compiled patterns [i, n). */
static bool
wrap_list(const struct wrap_pat *p, size_t i, size_t n, int family,
    const uint8_t *addr, const char *text)
{
	for (; i < n; i++) {
		if (p[i].kind == WRAP_EXCEPT)
			return false;
		if (wrap_pat_match(&p[i], family, addr, text)) {
			while (i < n && p[i].kind != WRAP_EXCEPT)
				i++;
			return i == n || !wrap_list(p, i + 1, n, family, addr,
			    text);
		}
	}
	return false;
}

bool
wrap_permit(const struct wrap_rules *r, int family, const uint8_t addr[16],
    char *why, size_t len)
{
	char text[INET6_ADDRSTRLEN] = "";
	size_t i;

	if (family == AF_INET)
		inet_ntop(AF_INET, addr, text, sizeof(text));
	for (i = 0; r != NULL && i < r->n; i++) {
		if (wrap_list(r->v[i].pats, 0, r->v[i].npats, family, addr,
		    text)) {
			snprintf(why, len, "%s by %s", r->v[i].grant ?
			    "allowed" : "denied", r->v[i].where);
			return r->v[i].grant;
		}
	}
	snprintf(why, len, "no rule");
	return true;
}
