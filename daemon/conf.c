/*
 * conf.c -- loading porterd.conf and its drop-ins (see conf.h).
 *
 * The main file is read, parsed with libconfuse, its global options are
 * checked and its services built; then each `include` pattern is expanded
 * (glob(3), sorted) and every drop-in it names is parsed the same way as a
 * file of its own, holding service sections only.  All services land in
 * one table, in file order, and a name may appear once across all files.
 * Files in a pattern's directory that the pattern does not match are
 * collected for the caller to log, never dropped in silence.
 *
 * Two libconfuse 3.3 bugs shape this file.  Its lexer counts the newline
 * ending a comment twice, so every line number after a comment is wrong,
 * and it rejects a comment inside a list.  conf_scan() therefore blanks
 * comments out before libconfuse sees the text, keeping every newline.
 * libconfuse also forgets where a section started and where each value
 * was by the time a section is complete; the scanner records the first
 * line of every section, and a validate callback on every option records
 * the line of every value, so that conf_service.c can blame the right line
 * long after the parse.  conf_include.c expands the include patterns,
 * conf_limits.c reads the limits (global and per service) and the access
 * rules.
 * The public functions keep the config_ prefix: conf.h explains why the
 * files are conf*, not config*.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf_priv.h"
#include "log.h"
#include "strv.h"
#include "logpeer.h"

#ifndef PLUGINDIR
#define PLUGINDIR "/usr/local/lib/porter/plugins"
#endif

/* A config file larger than this is a mistake (include = "/dev/zero"). */
#define CONF_FILE_MAX	(16 * 1024 * 1024)

struct conf_load *conf_current;	/* see conf_priv.h */

/* Names of enum conf_root_opt up to the limits (conf_limits.c has those). */
static const char *const conf_root_names[ROOT_LIMITS] = {
	[ROOT_PLUGIN_DIR] = "plugin-dir",
	[ROOT_USER] = "user",
	[ROOT_GROUP] = "group",
	[ROOT_LOG_TARGET] = "log-target",
	[ROOT_LOG_LEVEL] = "log-level",
	[ROOT_PID_FILE] = "pid-file",
	[ROOT_SHUTDOWN_TIMEOUT] = "shutdown-timeout",
	[ROOT_INCLUDE] = "include",
	[ROOT_RUN_AS] = "run-as",
	[ROOT_THREADS] = "threads",
	[ROOT_INETD_CONF] = "inetd-conf",
	[ROOT_HOSTS_ALLOW] = "hosts-allow",
	[ROOT_HOSTS_DENY] = "hosts-deny",
	[ROOT_CONTROL_SOCKET] = "control-socket",
	[ROOT_CONTROL_GROUP] = "control-group",
	[ROOT_LOG_PEER] = "log-peer",
	[ROOT_FIBER_STALL] = "fiber-stall",
};

/* The enum conf_root_opt of a global option's name, or -1. */
static int
conf_root_slot(const char *option)
{
	int i;

	for (i = 0; i < ROOT_LIMITS; i++) {
		if (strcmp(conf_root_names[i], option) == 0)
			return i;
	}
	if ((i = conf_limits_slot(option)) >= 0)
		return ROOT_LIMITS + i;
	return -1;
}

/* ------------------------------------------------------------------------
 * Errors and lines
 * ---------------------------------------------------------------------- */

void
conf_error(struct conf_load *ld, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	/* The first error is the one to fix; later ones often follow it. */
	if (ld->failed)
		return;
	ld->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ld->errlen == 0)
		return;
	/*
	 * Where porterd's scanner and libconfuse's lexer still disagree,
	 * libconfuse may count lines the file does not have: the error is
	 * at its end.
	 */
	if (ld->nlines > 0 && line > ld->nlines)
		line = ld->nlines;
	if (line > 0)
		snprintf(ld->errbuf, ld->errlen, "%s:%d: %s", ld->file, line,
		    msg);
	else
		snprintf(ld->errbuf, ld->errlen, "%s: %s", ld->file, msg);
}

const char *
conf_strerror(int code, char *buf, size_t len)
{
#ifdef STRERROR_R_CHAR_P
	return strerror_r(code, buf, len);
#else
	if (strerror_r(code, buf, len) != 0)
		snprintf(buf, len, "error %d", code);
	return buf;
#endif
}

/* libconfuse's own messages, placed where its lexer is. */
static void
conf_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	conf_error(conf_current, cfg->line, "%s", msg);
}

int
conf_line(const struct conf_lines *l, size_t index, int fallback)
{
	if (index < l->n && l->v[index] > 0)
		return l->v[index];
	return fallback;
}

static void
conf_lines_clear(struct conf_lines *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
conf_lines_set(struct conf_lines *l, size_t index, int line)
{
	int *v;

	if (index >= l->n) {
		if ((v = realloc(l->v, (index + 1) * sizeof(*v))) == NULL)
			return -1;
		memset(v + l->n, 0, (index + 1 - l->n) * sizeof(*v));
		l->v = v;
		l->n = index + 1;
	}
	l->v[index] = line;
	return 0;
}

/*
 * The validate callback of every option: it only records the value's line
 * (the lexer's line, since a value's callback runs right after the value
 * is read).  The checks run once the file is parsed and all options of a
 * section are known.
 */
static int
conf_record(cfg_t *cfg, cfg_opt_t *opt)
{
	struct conf_load *ld = conf_current;
	struct conf_lines *l = NULL;
	size_t index;
	int i;

	if (cfg_opt_size(opt) == 0)
		return 0;
	index = cfg_opt_size(opt) - 1;
	if (cfg == ld->root) {
		if ((i = conf_root_slot(opt->name)) >= 0)
			l = &ld->root_lines[i];
	} else if ((i = conf_service_slot(opt->name)) >= 0) {
		l = &ld->cur[i];
	}
	if (l == NULL)
		return 0;
	/*
	 * A list's callback runs after each value and again at its closing
	 * brace, so the first line seen for an index is the value's own.  A
	 * scalar set twice keeps the line of the value that counts, the last.
	 */
	if ((opt->flags & CFGF_LIST) && conf_line(l, index, 0) > 0)
		return 0;
	if (conf_lines_set(l, index, cfg->line) == -1) {
		conf_error(ld, cfg->line, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * The callback of the `service` section, at its closing brace: checks the
 * name against every service seen so far, in any file, and queues the
 * section for conf_service_build().
 */
static int
conf_section_done(cfg_t *cfg, cfg_opt_t *opt)
{
	struct conf_load *ld = conf_current;
	struct conf_section *cs;
	struct conf_seen *seen;
	cfg_t *sec = NULL;
	const char *name;
	size_t i;
	int line;

	/*
	 * Which section just ended?  Not always the last: without
	 * CFGF_NO_TITLE_DUPES a repeated title replaces the earlier section
	 * in place (its message would not say where the first one was).
	 * Every finished section is marked with line 0 below, and a fresh
	 * one's line is its closing brace's, so the unmarked one is it.
	 */
	for (i = 0; i < cfg_opt_size(opt); i++) {
		if (cfg_opt_getnsec(opt, i)->line != 0)
			sec = cfg_opt_getnsec(opt, i);
	}
	if (sec == NULL)
		return 0;	/* cannot happen; nothing to queue */
	sec->line = 0;
	name = cfg_title(sec);
	line = ld->nsecs < ld->nheads ? ld->heads[ld->nsecs] : cfg->line;

	for (i = 0; i < ld->nseen; i++) {
		if (strcmp(ld->seen[i].name, name) == 0) {
			conf_error(ld, line, "duplicate service '%s' (first "
			    "defined at %s:%d)", name, ld->seen[i].file,
			    ld->seen[i].line);
			return -1;
		}
	}
	if ((seen = realloc(ld->seen, (ld->nseen + 1) * sizeof(*seen))) ==
	    NULL)
		goto nomem;
	ld->seen = seen;
	if ((seen[ld->nseen].name = strdup(name)) == NULL)
		goto nomem;
	seen[ld->nseen].file = ld->file;
	seen[ld->nseen++].line = line;

	if ((cs = realloc(ld->secs, (ld->nsecs + 1) * sizeof(*cs))) == NULL)
		goto nomem;
	ld->secs = cs;
	cs += ld->nsecs++;
	cs->sec = sec;
	cs->line = line;
	/* The value lines move over; the next section starts empty. */
	memcpy(cs->lines, ld->cur, sizeof(cs->lines));
	memset(ld->cur, 0, sizeof(ld->cur));
	return 0;
nomem:
	conf_error(ld, line, "out of memory");
	return -1;
}

/* ------------------------------------------------------------------------
 * Reading and scanning a file
 * ---------------------------------------------------------------------- */

/*
 * sshd's StrictModes for porterd's config: running as root, porterd reads
 * only files that root alone can change, since whoever can change one can
 * run any program as root (exec = ..., user = "root").  The file is the
 * one opened (a symlink's target).  Running as anyone else, porterd
 * cannot do more than that user, and reads what it may.
 */
static int
conf_trusted(const struct conf_load *ld, const struct stat *st, char *why,
    size_t whylen)
{
	static const char rule[] = "running as root, porterd reads only config "
	    "files that root alone can change";

	if (ld->euid != 0)
		return 0;
	if (st->st_uid != 0) {
		snprintf(why, whylen, "owned by uid %lu, not root (%s)",
		    (unsigned long)st->st_uid, rule);
		return -1;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, whylen, "mode %04o is writable by %s (%s)",
		    (unsigned)(st->st_mode & 07777), (st->st_mode & S_IWOTH) ?
		    "others" : "its group", rule);
		return -1;
	}
	return 0;
}

/*
 * Reads a whole config file into a new NUL-terminated buffer (*ret_text,
 * caller frees); see conf_priv.h.  Only a regular file is read: a FIFO
 * would block the daemon and a device could do anything when opened, so
 * the path is stat()ed before it is opened (and opened non-blocking, in
 * case it is swapped for one in between), and the descriptor is checked
 * again.
 */
int
conf_read(const struct conf_load *ld, const char *path, char **ret_text,
    size_t *ret_len, struct stat *st, char *why, size_t whylen)
{
	size_t len = 0, cap = 0;
	char *text = NULL, *t, ebuf[128];
	struct stat pre;
	ssize_t n;
	int fd, rc = -1;

	if (stat(path, &pre) == -1) {
		snprintf(why, whylen, "%s",
		    conf_strerror(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (!S_ISREG(pre.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    O_NOCTTY)) == -1) {
		snprintf(why, whylen, "%s",
		    conf_strerror(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (fstat(fd, st) == -1) {
		snprintf(why, whylen, "%s",
		    conf_strerror(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	if (!S_ISREG(st->st_mode) || st->st_dev != pre.st_dev ||
	    st->st_ino != pre.st_ino) {
		snprintf(why, whylen, "not a regular file");
		goto out;
	}
	if (conf_trusted(ld, st, why, whylen) == -1)
		goto out;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			if (cap > CONF_FILE_MAX + 1) {
				snprintf(why, whylen, "larger than %d bytes",
				    CONF_FILE_MAX);
				goto out;
			}
			if ((t = realloc(text, cap)) == NULL) {
				snprintf(why, whylen, "out of memory");
				goto out;
			}
			text = t;
		}
		n = read(fd, text + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, whylen, "%s",
			    conf_strerror(errno, ebuf, sizeof(ebuf)));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	text[len] = '\0';
	*ret_text = text;
	*ret_len = len;
	text = NULL;
	rc = 0;
out:
	free(text);
	close(fd);
	return rc;
}

static int
conf_push_head(struct conf_load *ld, int line)
{
	int *v;

	if ((v = realloc(ld->heads, (ld->nheads + 1) * sizeof(*v))) == NULL)
		return -1;
	ld->heads = v;
	ld->heads[ld->nheads++] = line;
	return 0;
}

/*
 * Blanks every comment in text out with spaces, keeping its newlines, and
 * records in ld->heads the first line of each top-level section (the line
 * of the word before its title).  Just enough of the libconfuse lexer is
 * mirrored for that: quoted strings (where '#' is text, and '\' escapes
 * the next character), ${VAR} references, and the '=' that makes a brace
 * a list's rather than a section's.  One difference is deliberate: "//"
 * starting a token always starts a comment, while libconfuse 3.3 reads
 * "//word" as a word, a regression its maintainers count as a bug.
 * The line of a top-level '{' left open at the end goes to ld->unclosed.
 * Returns 0, or -1 for a block comment that never ends.
 */
static int
conf_scan(struct conf_load *ld, char *text, size_t len)
{
	static const char *const stops = " \t\r\n#\"'={}()+,*";
	int line = 1, depth = 0, start, words[2] = { 0, 0 };
	bool list = false;	/* the last top-level token was '=' */
	size_t i = 0;
	char c, q;

	ld->unclosed = 0;
	for (ld->nlines = 1; i < len; i++)
		ld->nlines += text[i] == '\n' && i + 1 < len;
	i = 0;
	while (i < len) {
		c = text[i];
		if (c == '\n')
			line++;
		/*
		 * libconfuse skips what starts no token: '+' without '=',
		 * and '*', which ends a word (a slash and a star in a word end it after the slash).
		 */
		if (strchr(" \t\r\n+(),*", c) != NULL) {
			i++;
			continue;
		}
		if (c == '#' || (c == '/' && text[i + 1] == '/')) {
			while (i < len && text[i] != '\n')
				text[i++] = ' ';
			continue;
		}
		if (c == '/' && text[i + 1] == '*') {
			/* Search after the opener: its star cannot close. */
			text[i++] = ' ';
			text[i++] = ' ';
			for (start = line; i < len && !(text[i] == '*' &&
			    text[i + 1] == '/'); i++) {
				if (text[i] == '\n')
					line++;
				else
					text[i] = ' ';
			}
			if (i == len) {
				conf_error(ld, start, "unterminated comment");
				return -1;
			}
			text[i++] = ' ';
			text[i++] = ' ';
			continue;
		}
		if (c == '{') {
			if (depth == 0)
				ld->unclosed = line;
			if (depth++ == 0 && !list &&
			    conf_push_head(ld, words[0] > 0 ? words[0] : line))
				goto nomem;
			list = false;
			i++;
			continue;
		}
		if (c == '}' || c == '=') {
			if (c == '}' && depth > 0 && --depth == 0)
				ld->unclosed = 0;
			list = c == '=' && depth == 0;
			i++;
			continue;
		}

		/* A token: a quoted string, a ${VAR}, or a word. */
		if (depth == 0) {
			words[0] = words[1];
			words[1] = line;
			list = false;
		}
		if (c == '"' || c == '\'') {
			for (q = c, i++; i < len && text[i] != q; i++) {
				/* In "...", ${...} is read whole, quotes too. */
				if (q == '"' && text[i] == '$' &&
				    text[i + 1] == '{' &&
				    memchr(text + i, '}', len - i) != NULL) {
					for (; text[i] != '}'; i++)
						line += text[i] == '\n';
					continue;
				}
				if (text[i] == '\\' && i + 1 < len)
					i++;
				if (text[i] == '\n')
					line++;
			}
			i++;
		} else if (c == '$' && text[i + 1] == '{' &&
		    memchr(text + i, '}', len - i) != NULL) {
			for (; text[i] != '}'; i++)
				line += text[i] == '\n';
			i++;
		} else {
			while (i < len && strchr(stops, text[i]) == NULL)
				i++;
		}
	}
	return 0;
nomem:
	conf_error(ld, line, "out of memory");
	return -1;
}

/* ------------------------------------------------------------------------
 * Parsing
 * ---------------------------------------------------------------------- */

/*
 * Parses one file's (scanned) text.  The main file has the global options
 * and sections, a drop-in sections only.  Returns the libconfuse tree
 * (free with cfg_free()), whose sections are queued in ld->secs, or NULL.
 */
static cfg_t *
conf_parse(struct conf_load *ld, char *text, size_t len, bool main_file)
{
	cfg_opt_t main_opts[] = {
		CFG_STR("plugin-dir", PLUGINDIR, CFGF_NONE),
		CFG_STR("user", NULL, CFGF_NODEFAULT),
		CFG_STR("group", NULL, CFGF_NODEFAULT),
		CFG_STR("log-target", "syslog", CFGF_NONE),
		CFG_STR("log-level", "info", CFGF_NONE),
		CFG_STR("pid-file", NULL, CFGF_NODEFAULT),
		CFG_INT("shutdown-timeout", 10, CFGF_NONE),
		CFG_BOOL("strict-start", cfg_false, CFGF_NONE),
		CFG_STR_LIST("include", NULL, CFGF_NODEFAULT),
		CFG_STR("run-as", NULL, CFGF_NODEFAULT),
		CFG_INT("threads", 0, CFGF_NONE),
		CFG_STR_LIST("inetd-conf", NULL, CFGF_NODEFAULT),
		CFG_STR("hosts-allow", "/etc/hosts.allow", CFGF_NONE),
		CFG_STR("hosts-deny", "/etc/hosts.deny", CFGF_NONE),
		CFG_STR("control-socket", NULL, CFGF_NODEFAULT),
		CFG_STR("control-group", NULL, CFGF_NODEFAULT),
		CFG_STR("log-peer", "full", CFGF_NONE),
		CFG_FLOAT("fiber-stall", 1.0, CFGF_NONE),
		CONF_LIMIT_OPTS,
		CFG_SEC("service", conf_service_schema(), CFGF_MULTI |
		    CFGF_TITLE),
		CFG_END()
	};
	cfg_opt_t dropin_opts[] = {
		CFG_SEC("service", conf_service_schema(), CFGF_MULTI |
		    CFGF_TITLE),
		CFG_END()
	};
	const cfg_opt_t *svc = conf_service_schema();
	char path[64];
	cfg_t *root;
	FILE *fp;
	int i, rc = CFG_SUCCESS;

	if (conf_scan(ld, text, len) == -1)
		return NULL;
	if ((root = cfg_init(main_file ? main_opts : dropin_opts,
	    CFGF_NONE)) == NULL) {
		conf_error(ld, 0, "out of memory");
		return NULL;
	}
	cfg_set_error_function(root, conf_errfunc);
	for (i = 0; main_file && main_opts[i].name != NULL; i++) {
		if (main_opts[i].type != CFGT_SEC)
			cfg_set_validate_func(root, main_opts[i].name,
			    conf_record);
	}
	for (i = 0; svc[i].name != NULL; i++) {
		snprintf(path, sizeof(path), "service|%s", svc[i].name);
		cfg_set_validate_func(root, path, conf_record);
	}
	for (i = 0; conf_edge_tls_opts[i].name != NULL; i++) {
		snprintf(path, sizeof(path), "service|tls|%s",
		    conf_edge_tls_opts[i].name);
		cfg_set_validate_func(root, path, conf_record);
	}
	cfg_set_validate_func(root, "service", conf_section_done);

	/* Messages (and sections) name the file as the caller does. */
	free(root->filename);
	if ((root->filename = strdup(ld->file)) == NULL) {
		conf_error(ld, 0, "out of memory");
		goto fail;
	}
	ld->root = root;
	/* fmemopen() of nothing fails on some libcs: nothing to parse. */
	if (len > 0) {
		if ((fp = fmemopen(text, len, "r")) == NULL) {
			conf_error(ld, 0, "out of memory");
			goto fail;
		}
		rc = cfg_parse_fp(root, fp);
		fclose(fp);
	}
	if (rc != CFG_SUCCESS) {
		/* Recorded only if libconfuse did not say why. */
		conf_error(ld, 0, "cannot parse");
		goto fail;
	}
	/*
	 * libconfuse 3.3 takes the end of the file for a missing '}'.  Its
	 * own messages come first: "unexpected token" says more.
	 */
	if (ld->unclosed > 0) {
		conf_error(ld, ld->unclosed, "'{' without a matching '}'");
		goto fail;
	}
	return root;
fail:
	cfg_free(root);
	ld->root = NULL;
	return NULL;
}

int
conf_strv_push(char ***v, char *s)
{
	size_t n = 0;
	char **nv;

	while (*v != NULL && (*v)[n] != NULL)
		n++;
	if ((nv = realloc(*v, (n + 2) * sizeof(*nv))) == NULL) {
		free(s);
		return -1;
	}
	nv[n] = s;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

/* Builds the queued sections of the file just parsed into the table. */
static int
conf_build(struct conf_load *ld)
{
	struct config *cfg = ld->cfg;
	struct service *s, **v;
	size_t i;
	int rc = 0;

	for (i = 0; i < ld->nsecs && rc == 0; i++) {
		if ((rc = conf_service_build(ld, &ld->secs[i], &s)) == -1 ||
		    s == NULL)
			continue;
		if (cfg->nservices == ld->svccap) {
			ld->svccap = ld->svccap == 0 ? 16 : ld->svccap * 2;
			if ((v = realloc(cfg->services, ld->svccap *
			    sizeof(*v))) == NULL) {
				conf_service_free(s);
				conf_error(ld, ld->secs[i].line,
				    "out of memory");
				rc = -1;
				continue;
			}
			cfg->services = v;
		}
		cfg->services[cfg->nservices++] = s;
	}
	return rc;
}

/* Forgets the per-file state of the file just built. */
static void
conf_file_done(struct conf_load *ld)
{
	size_t i, j;

	for (i = 0; i < ld->nsecs; i++) {
		for (j = 0; j < SVC_NLINES; j++)
			conf_lines_clear(&ld->secs[i].lines[j]);
	}
	free(ld->secs);
	ld->secs = NULL;
	ld->nsecs = 0;
	for (j = 0; j < SVC_NLINES; j++)
		conf_lines_clear(&ld->cur[j]);
	free(ld->heads);
	ld->heads = NULL;
	ld->nheads = 0;
}

int
conf_parse_dropin(struct conf_load *ld, char *text, size_t len)
{
	cfg_t *root;
	int rc;

	root = conf_parse(ld, text, len, false);
	rc = root != NULL ? conf_build(ld) : -1;
	conf_file_done(ld);
	if (root != NULL)
		cfg_free(root);
	return rc;
}

/* ------------------------------------------------------------------------
 * The main file's global options
 * ---------------------------------------------------------------------- */

/* The directory relative paths are taken from: see config_start_dir(). */
static char conf_start[PATH_MAX];

void
config_start_dir(const char *dir)
{
	snprintf(conf_start, sizeof(conf_start), "%s", dir);
}

/*
 * A path option, made absolute against the directory porterd started in
 * (the daemon chdirs to / when it detaches, and a reload must find the
 * same file).
 */
static int
conf_abspath(struct conf_load *ld, cfg_t *root, int opt, char **ret)
{
	const char *v = cfg_getstr(root, conf_root_names[opt]);
	char cwd[PATH_MAX];
	const char *base = conf_start;
	int n;

	if (v[0] == '\0') {
		conf_error(ld, conf_line(&ld->root_lines[opt], 0, 0),
		    "%s is empty", conf_root_names[opt]);
		return -1;
	}
	if (v[0] == '/') {
		*ret = strdup(v);
	} else {
		if (base[0] == '\0') {
			if (getcwd(cwd, sizeof(cwd)) == NULL) {
				conf_error(ld, conf_line(&ld->root_lines[opt],
				    0, 0), "%s '%s': cannot tell the current "
				    "directory", conf_root_names[opt], v);
				return -1;
			}
			base = cwd;
		}
		n = asprintf(ret, "%s%s%s", base,
		    base[strlen(base) - 1] == '/' ? "" : "/", v);
		if (n == -1)
			*ret = NULL;
	}
	if (*ret == NULL) {
		conf_error(ld, 0, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * run-as: the user porterd becomes once its sockets are bound, with that
 * user's primary group.  No handler may run as that user: a process of
 * porterd's own uid can signal it (SIGSTOP, SIGKILL) or ptrace it.  So
 * the global user, the default of every service, must be someone else.
 */
static int
conf_run_as(struct conf_load *ld, cfg_t *root)
{
	struct conf_id *run = &ld->run_as;
	struct config *cfg = ld->cfg;
	int line = conf_line(&ld->root_lines[ROOT_RUN_AS], 0, 0);

	if (conf_id_user(ld, NULL, cfg_getstr(root, "run-as"), line, run) ==
	    -1)
		return -1;
	if (!run->has_gid) {
		conf_error(ld, line, "run-as '%s' has no passwd entry, so no "
		    "group", run->name);
		return -1;
	}
	if (ld->user.name != NULL && ld->user.uid == run->uid) {
		conf_error(ld, ld->user.line, "user '%s' is run-as '%s': "
		    "handlers must not run as porterd's own uid (they could "
		    "signal it); give them a user of their own",
		    ld->user.name, run->name);
		return -1;
	}
	if ((cfg->run_as = strdup(run->name)) == NULL) {
		conf_error(ld, line, "out of memory");
		return -1;
	}
	cfg->run_uid = run->uid;
	cfg->run_gid = run->gid;
	return 0;
}

/*
 * control-socket: porterctl's socket [CONTROL_SOCKET_DEFAULT]; "" for
 * none.  control-group: the group that may read (status, services,
 * connections) through it.
 */
static int
conf_control(struct conf_load *ld, cfg_t *root)
{
	struct config *cfg = ld->cfg;
	const char *v;
	struct conf_id grp;
	int line;

	cfg->control_gid = (gid_t)-1;
	if (cfg_size(root, "control-socket") > 0) {
		v = cfg_getstr(root, "control-socket");
		cfg->control_socket_set = true;
		if (v[0] == '\0')
			return 0;	/* none */
		if (conf_abspath(ld, root, ROOT_CONTROL_SOCKET,
		    &cfg->control_socket) == -1)
			return -1;
		if (strlen(cfg->control_socket) >=
		    sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
			conf_error(ld, conf_line(&ld->root_lines[
			    ROOT_CONTROL_SOCKET], 0, 0), "control-socket '%s': "
			    "path too long for a UNIX socket", v);
			return -1;
		}
	} else if ((cfg->control_socket = strdup(CONTROL_SOCKET_DEFAULT)) ==
	    NULL) {
		conf_error(ld, 0, "out of memory");
		return -1;
	}
	if (cfg_size(root, "control-group") > 0) {
		line = conf_line(&ld->root_lines[ROOT_CONTROL_GROUP], 0, 0);
		if (cfg->control_socket == NULL) {
			conf_error(ld, line, "control-group without a "
			    "control socket (control-socket is \"\")");
			return -1;
		}
		if (conf_id_group(ld, NULL, cfg_getstr(root, "control-group"),
		    line, &grp) == -1)
			return -1;
		cfg->control_gid = grp.gid;
		free(grp.name);
	}
	return 0;
}

/*
 * fiber-stall: seconds a cooperative handler may run without yielding
 * before the watchdog reports it, kept in milliseconds.  Fractions are
 * the point (0.2), so it is a float, as rate is; NaN fails the range.
 */
static int
conf_fiber_stall(struct conf_load *ld, cfg_t *root, unsigned *ret_ms)
{
	double v = cfg_getfloat(root, "fiber-stall");

	if (!(v >= CONF_FIBER_STALL_MIN && v <= CONF_FIBER_STALL_MAX)) {
		conf_error(ld, conf_line(&ld->root_lines[ROOT_FIBER_STALL], 0,
		    0), "fiber-stall %g out of range (%g-%d seconds)", v,
		    CONF_FIBER_STALL_MIN, CONF_FIBER_STALL_MAX);
		return -1;
	}
	*ret_ms = (unsigned)(v * 1000 + 0.5);
	return 0;
}

static int
conf_globals(struct conf_load *ld, cfg_t *root)
{
	struct config *cfg = ld->cfg;
	const struct conf_lines *lines = ld->root_lines;
	const char *v;
	long t;

	/* The daemon chdirs to / when it detaches: relative paths move. */
	if (conf_abspath(ld, root, ROOT_PLUGIN_DIR, &cfg->plugin_dir) == -1)
		return -1;
	if (cfg_size(root, "pid-file") > 0 &&
	    conf_abspath(ld, root, ROOT_PID_FILE, &cfg->pid_file) == -1)
		return -1;

	v = cfg_getstr(root, "log-target");
	if (strcmp(v, "syslog") == 0) {
		cfg->log_target = LOG_TARGET_SYSLOG;
	} else if (strcmp(v, "stderr") == 0) {
		cfg->log_target = LOG_TARGET_STDERR;
	} else {
		conf_error(ld, conf_line(&lines[ROOT_LOG_TARGET], 0, 0),
		    "unknown log-target '%s' (stderr or syslog)", v);
		return -1;
	}
	v = cfg_getstr(root, "log-level");
	if ((cfg->log_level = log_level_parse(v)) < 0) {
		conf_error(ld, conf_line(&lines[ROOT_LOG_LEVEL], 0, 0),
		    "unknown log-level '%s' (err, warning, notice, info or "
		    "debug)", v);
		return -1;
	}
	v = cfg_getstr(root, "log-peer");
	/* Parsed here, not by logpeer.c: the config stays free of it. */
	cfg->log_peer = strcmp(v, "full") == 0 ? LOGPEER_FULL :
	    strcmp(v, "truncate") == 0 ? LOGPEER_TRUNCATE :
	    strcmp(v, "none") == 0 ? LOGPEER_NONE : -1;
	if (cfg->log_peer < 0) {
		conf_error(ld, conf_line(&lines[ROOT_LOG_PEER], 0, 0),
		    "unknown log-peer '%s' (full, truncate or none)", v);
		return -1;
	}
	t = cfg_getint(root, "shutdown-timeout");
	if (t < 0 || t > INT_MAX) {
		conf_error(ld, conf_line(&lines[ROOT_SHUTDOWN_TIMEOUT], 0, 0),
		    "shutdown-timeout %ld out of range (0-%d seconds)", t,
		    INT_MAX);
		return -1;
	}
	cfg->shutdown_timeout = (int)t;
	t = cfg_getint(root, "threads");
	if (t < 0 || t > CONF_THREADS_MAX) {
		conf_error(ld, conf_line(&lines[ROOT_THREADS], 0, 0),
		    "threads %ld out of range (0: one per CPU, or 1-%d)", t,
		    CONF_THREADS_MAX);
		return -1;
	}
	cfg->threads = (unsigned)t;
	if (conf_fiber_stall(ld, root, &cfg->fiber_stall_ms) == -1)
		return -1;
	cfg->strict_start = cfg_getbool(root, "strict-start");
	if (conf_control(ld, root) == -1)
		return -1;

	if (cfg_size(root, "user") > 0 && conf_id_user(ld, NULL,
	    cfg_getstr(root, "user"), conf_line(&lines[ROOT_USER], 0, 0),
	    &ld->user) == -1)
		return -1;
	if (cfg_size(root, "group") > 0 && conf_id_group(ld, NULL,
	    cfg_getstr(root, "group"), conf_line(&lines[ROOT_GROUP], 0, 0),
	    &ld->group) == -1)
		return -1;
	if (cfg_size(root, "run-as") > 0 && conf_run_as(ld, root) == -1)
		return -1;
	if (conf_abspath(ld, root, ROOT_HOSTS_ALLOW, &cfg->hosts_allow) ==
	    -1 || conf_abspath(ld, root, ROOT_HOSTS_DENY, &cfg->hosts_deny) ==
	    -1)
		return -1;
	return conf_limits_global(ld, root);
}

/* ------------------------------------------------------------------------
 * The interface
 * ---------------------------------------------------------------------- */

/* Frees what a load keeps besides the result. */
static void
conf_load_done(struct conf_load *ld)
{
	size_t i;

	conf_file_done(ld);
	for (i = 0; i < ROOT_NOPTS; i++)
		conf_lines_clear(&ld->root_lines[i]);
	for (i = 0; i < ld->nseen; i++)
		free(ld->seen[i].name);
	free(ld->seen);
	free(ld->ids);
	free(ld->user.name);
	free(ld->group.name);
	free(ld->run_as.name);
	for (i = 0; ld->inetd_names != NULL && ld->inetd_names[i] != NULL;
	    i++)
		free(ld->inetd_names[i]);
	free(ld->inetd_names);
	conf_current = NULL;
}

struct config *
config_load(const char *path, char *errbuf, size_t errlen)
{
	struct conf_load ld;
	struct config *cfg;
	cfg_t *root = NULL;
	char *text = NULL, why[256];
	struct stat st;
	size_t len;

	memset(&ld, 0, sizeof(ld));
	ld.errbuf = errbuf;
	ld.errlen = errlen;
	ld.file = path;
	if (errlen > 0)
		errbuf[0] = '\0';
	conf_current = &ld;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->path = strdup(path)) == NULL) {
		conf_error(&ld, 0, "out of memory");
		goto fail;
	}
	ld.cfg = cfg;
	ld.file = cfg->path;

	ld.euid = geteuid();
	if (conf_read(&ld, path, &text, &len, &st, why, sizeof(why)) == -1) {
		conf_error(&ld, 0, "%s", why);
		goto fail;
	}
	if ((ld.ids = malloc(sizeof(*ld.ids))) == NULL) {
		conf_error(&ld, 0, "out of memory");
		goto fail;
	}
	ld.ids[0].dev = st.st_dev;
	ld.ids[0].ino = st.st_ino;
	ld.nids = 1;

	/* Globals first: the services take their user and group from them. */
	if ((root = conf_parse(&ld, text, len, true)) == NULL ||
	    conf_globals(&ld, root) == -1 || conf_build(&ld) == -1)
		goto fail;
	conf_file_done(&ld);
	if (conf_includes(&ld, root) == -1 ||
	    conf_inetd_files(&ld, root) == -1 || conf_inetd_wrap(&ld) == -1)
		goto fail;
	if ((cfg->included == NULL &&
	    (cfg->included = calloc(1, sizeof(char *))) == NULL) ||
	    (cfg->skipped == NULL &&
	    (cfg->skipped = calloc(1, sizeof(char *))) == NULL)) {
		conf_error(&ld, 0, "out of memory");
		goto fail;
	}
	cfg_free(root);
	free(text);
	conf_load_done(&ld);
	return cfg;
fail:
	if (root != NULL)
		cfg_free(root);
	free(text);
	conf_load_done(&ld);
	config_free(cfg);
	return NULL;
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nservices; i++)
		conf_service_free(cfg->services[i]);
	free(cfg->services);
	strv_free(cfg->included);
	strv_free(cfg->skipped);
	free(cfg->path);
	free(cfg->plugin_dir);
	free(cfg->pid_file);
	free(cfg->control_socket);
	free(cfg->run_as);
	free(cfg->hosts_allow);
	free(cfg->hosts_deny);
	free(cfg->limits.reject_message);
	free(cfg);
}

const struct service *
config_find(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nservices; i++) {
		if (strcmp(cfg->services[i]->name, name) == 0)
			return cfg->services[i];
	}
	return NULL;
}

bool
service_same_sockets(const struct service *a, const struct service *b)
{
	const struct listen_spec *la, *lb;
	bool inet = false;
	size_t i;

	if (a->socktype != b->socktype || a->backlog != b->backlog ||
	    a->nlistens != b->nlistens || a->nopts != b->nopts ||
	    a->socket_mode != b->socket_mode ||
	    a->socket_uid != b->socket_uid || a->socket_gid != b->socket_gid)
		return false;
	for (i = 0; i < a->nlistens; i++) {
		la = &a->listens[i];
		lb = &b->listens[i];
		if ((la->fd_name == NULL) != (lb->fd_name == NULL))
			return false;
		if (la->fd_name != NULL) {
			if (strcmp(la->fd_name, lb->fd_name) != 0)
				return false;
			continue;
		}
		if (!pt_addr_equal(&la->addr, &lb->addr))
			return false;
		if (pt_addr_family(&la->addr) != AF_UNIX)
			inet = true;
	}
	/* AF_UNIX sockets and systemd's are made without a protocol. */
	if (inet && a->protocol != b->protocol)
		return false;
	for (i = 0; i < a->nopts; i++) {
		if (a->opts[i].level != b->opts[i].level ||
		    a->opts[i].name != b->opts[i].name ||
		    a->opts[i].value != b->opts[i].value)
			return false;
	}
	return true;
}
