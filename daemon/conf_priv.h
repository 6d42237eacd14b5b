/*
 * conf_priv.h -- what the config loader's files share while a config loads.
 *
 * conf.c reads files and drives libconfuse, conf_include.c expands the
 * include patterns, conf_service.c turns one parsed `service` section into
 * a struct service, and conf_limits.c reads the limits (global defaults
 * and per-service overrides) and a service's access rules.  Between them
 * travels a struct conf_load: the result so far, the caller's error
 * buffer, and the line of every option value, which libconfuse forgets
 * once a section is parsed but every message needs.  Nothing here
 * outlives config_load().
 */
#ifndef PORTERD_CONF_PRIV_H
#define PORTERD_CONF_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <confuse.h>

#include "conf.h"
#include "conf_edge.h"
#include "conf_sandbox.h"

#define CONF_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* The line of each value of one option, by index (a scalar has one). */
struct conf_lines {
	int *v;			/* 0: not recorded */
	size_t n;
};

/*
 * The limit options, valid both in the main file (the defaults) and in a
 * service section, in enum conf_lim_opt order.  Both schemas splice them
 * in, so each scope's line slots for them are contiguous: slot
 * SVC_LIMITS + LIM_RATE is a section's `rate`, ROOT_LIMITS + LIM_RATE the
 * global one.  Nothing has a libconfuse default: "not written" must be
 * told apart from "written as the default" for inheritance.
 */
#define CONF_LIMIT_OPTS \
	CFG_INT("max-connections", 0, CFGF_NODEFAULT), \
	CFG_STR("reject-message", NULL, CFGF_NODEFAULT), \
	CFG_INT("max-per-source", 0, CFGF_NODEFAULT), \
	CFG_INT("ipv6-prefix", 0, CFGF_NODEFAULT), \
	CFG_FLOAT("rate", 0, CFGF_NODEFAULT), \
	CFG_INT("burst", 0, CFGF_NODEFAULT), \
	CFG_INT("idle-timeout", 0, CFGF_NODEFAULT), \
	CFG_INT("max-lifetime", 0, CFGF_NODEFAULT)

enum conf_lim_opt {
	LIM_MAX_CONNS,
	LIM_REJECT,
	LIM_MAX_PER_SOURCE,
	LIM_IPV6_PREFIX,
	LIM_RATE,
	LIM_BURST,
	LIM_IDLE_TIMEOUT,
	LIM_MAX_LIFETIME,
	LIM_NOPTS
};

/* A service section's options, in schema order. */
enum conf_svc_opt {
	SVC_LISTEN,
	SVC_PORT,
	SVC_TYPE,
	SVC_PROTOCOL,
	SVC_PLUGIN,
	SVC_EXEC,
	SVC_ARGS,
	SVC_ARGV0,
	SVC_ENV,
	SVC_STDERR,
	SVC_WAIT,
	SVC_USER,
	SVC_GROUP,
	SVC_BACKLOG,
	SVC_OPTIONS,
	SVC_ISOLATION,
	SVC_DISABLE,
	SVC_LIMITS,		/* LIM_NOPTS slots: CONF_LIMIT_OPTS */
	SVC_ALLOW = SVC_LIMITS + LIM_NOPTS,
	SVC_DENY,
	SVC_ALLOW_UID,
	SVC_ALLOW_GID,
	SVC_SOCKET_MODE,
	SVC_SOCKET_OWNER,
	SVC_SOCKET_GROUP,
	SVC_TCP_WRAPPERS,	/* conf_inetd.c */
	SVC_BANNER,
	SVC_BANNER_SUCCESS,
	SVC_BANNER_FAIL,
	SVC_POOL_MIN,		/* isolation = process: the worker pool */
	SVC_POOL_MAX,
	SVC_REUSE,
	SVC_POOL_IDLE,
	SVC_SANDBOX,		/* SB_NOPTS slots: CONF_SANDBOX_OPTS */
	SVC_EDGE = SVC_SANDBOX + SB_NOPTS,	/* EDGE_NOPTS: CONF_EDGE_OPTS */
	SVC_NOPTS = SVC_EDGE + EDGE_NOPTS,
	/* Line slots past the schema: the options of the tls section. */
	SVC_TLS_LINES = SVC_NOPTS,
	SVC_NLINES = SVC_TLS_LINES + TLS_NOPTS
};

/* The main file's options (a drop-in has only sections). */
enum conf_root_opt {
	ROOT_PLUGIN_DIR,
	ROOT_USER,
	ROOT_GROUP,
	ROOT_LOG_TARGET,
	ROOT_LOG_LEVEL,
	ROOT_PID_FILE,
	ROOT_SHUTDOWN_TIMEOUT,
	ROOT_INCLUDE,
	ROOT_RUN_AS,
	ROOT_THREADS,
	ROOT_INETD_CONF,	/* conf_inetd.c */
	ROOT_HOSTS_ALLOW,
	ROOT_HOSTS_DENY,
	ROOT_CONTROL_SOCKET,
	ROOT_CONTROL_GROUP,
	ROOT_LOG_PEER,
	ROOT_FIBER_STALL,
	ROOT_LIMITS,		/* LIM_NOPTS slots: CONF_LIMIT_OPTS */
	ROOT_NOPTS = ROOT_LIMITS + LIM_NOPTS
};

/* A parsed service section, waiting for its file's parse to finish. */
struct conf_section {
	cfg_t *sec;		/* borrowed from the file's cfg_t tree */
	int line;		/* where "service NAME {" starts */
	struct conf_lines lines[SVC_NLINES];
};

/* A `user` or `group` value, resolved. */
struct conf_id {
	char *name;		/* as written; NULL: not set */
	int line;
	uid_t uid;		/* user only */
	gid_t gid;		/* the group, or the user's primary group */
	bool has_gid;		/* false: a numeric uid with no passwd entry */
};

/* A service name seen so far, disabled or not, for duplicate checks. */
struct conf_seen {
	char *name;
	const char *file;	/* borrowed: the config's path or included[] */
	int line;
};

/* A file already read, so overlapping include patterns read it once. */
struct conf_fileid {
	dev_t dev;
	ino_t ino;
};

struct conf_load {
	struct config *cfg;	/* the result being built */
	size_t svccap;		/* allocated length of cfg->services */
	char *errbuf;		/* the caller's; the first error only */
	size_t errlen;
	bool failed;
	uid_t euid;		/* geteuid() when the load started */

	const char *file;	/* the file being parsed, as messages name it */
	cfg_t *root;		/* its libconfuse tree */
	int *heads;		/* its section start lines, in order */
	size_t nheads;
	int unclosed;		/* line of a '{' never closed, or 0 */
	int nlines;		/* lines of the file (0: not scanned yet) */
	struct conf_lines cur[SVC_NLINES];	/* the section being parsed */
	struct conf_section *secs;	/* its sections parsed so far */
	size_t nsecs;

	struct conf_lines root_lines[ROOT_NOPTS];	/* the main file's */
	struct conf_fileid *ids;
	size_t nids;
	struct conf_seen *seen;
	size_t nseen;
	struct conf_id user;	/* the global defaults */
	struct conf_id group;
	struct conf_id run_as;	/* run-as, resolved (name NULL: unset) */
	char **inetd_names;	/* services named from inetd.conf entries,
				 * NULL-terminated (conf_inetd.c) */
	bool burst_set;		/* the global burst was written (non-zero),
				 * not derived from the global rate */
};

/*
 * conf.c.  libconfuse's callbacks get only its cfg_t, so they reach the
 * load in progress through conf_current; parsing is single-threaded (the
 * libconfuse lexer is global state anyway).
 */
extern struct conf_load *conf_current;

/*
 * Records "FILE:LINE: message" (line < 1: "FILE: message", FILE being
 * ld->file) as the load's error, unless one is recorded already.
 */
void conf_error(struct conf_load *ld, int line, const char *fmt, ...)
    CONF_PRINTF(3, 4);
/* The recorded line of value `index`, or fallback if there is none. */
int conf_line(const struct conf_lines *l, size_t index, int fallback);
/* strerror(code), thread-safe; returns buf or a static string. */
const char *conf_strerror(int code, char *buf, size_t len);
/*
 * Reads a whole regular file into a new NUL-terminated buffer (*ret_text,
 * caller frees) and its identity into *st.  Returns 0, or -1 with the
 * reason ("not a regular file", strerror()) in why.
 */
int conf_read(const struct conf_load *ld, const char *path, char **ret_text,
    size_t *ret_len, struct stat *st, char *why, size_t whylen);
/*
 * Parses one drop-in's text (modified: comments are blanked out) as
 * ld->file and adds its services to the table.  Returns 0 or -1.
 */
int conf_parse_dropin(struct conf_load *ld, char *text, size_t len);
/* Appends s to a NULL-terminated vector, which takes s over even on
 * failure.  Returns 0 or -1. */
int conf_strv_push(char ***v, char *s);

/* conf_include.c: reads the drop-ins root's include patterns name.  0 or -1. */
int conf_includes(struct conf_load *ld, cfg_t *root);
/*
 * Expands the patterns of list option `opt` (root slot `slot`) as include
 * does, and hands each file read to parse (as ld->file).  0 or -1.
 */
int conf_patterns(struct conf_load *ld, cfg_t *root, const char *opt,
    int slot, int (*parse)(struct conf_load *, char *, size_t));

/*
 * conf_inetd.c.  Reads the inetd-conf files into the table (0 or -1);
 * reads a section's tcp-wrappers and banner options into s (0 or -1);
 * frees what that filled in; and, once every service is built, reads
 * hosts.allow/hosts.deny for the wrapped ones (0 or -1).
 */
int conf_inetd_files(struct conf_load *ld, cfg_t *root);
int conf_inetd_service(struct conf_load *ld, const struct conf_section *cs,
    struct service *s);
void conf_inetd_service_free(struct service *s);
int conf_inetd_wrap(struct conf_load *ld);

/* conf_service.c */
/* The service section's options, for CFG_SEC(); static, not to be freed. */
cfg_opt_t *conf_service_schema(void);
/* The enum conf_svc_opt of a service option's name, or -1. */
int conf_service_slot(const char *option);
/*
 * Checks one parsed section and builds its service: *ret is a new
 * service (conf_service_free()), or NULL for a disabled one.  Returns 0,
 * or -1 with the error recorded.
 */
int conf_service_build(struct conf_load *ld, const struct conf_section *cs,
    struct service **ret);
void conf_service_free(struct service *s);	/* accepts NULL */
/*
 * Resolves a user (name or uid) or group (name or gid) written at `line`
 * into *out, whose name the caller frees.  Messages name service `svc`
 * (NULL for a global option).  Returns 0, or -1 with the error recorded.
 */
int conf_id_user(struct conf_load *ld, const char *svc, const char *name,
    int line, struct conf_id *out);
int conf_id_group(struct conf_load *ld, const char *svc, const char *name,
    int line, struct conf_id *out);

/*
 * conf_limits.c.  The enum conf_lim_opt of a limit option's name, or -1.
 */
int conf_limits_slot(const char *option);
/*
 * Reads the main file's limit options into ld->cfg->limits (the defaults
 * services inherit).  Returns 0, or -1 with the error recorded.
 */
int conf_limits_global(struct conf_load *ld, cfg_t *root);
/*
 * Reads a section's limits (over the global ones), allow/deny rules and
 * allow-uid/allow-gid into s, whose listen entries and wait flag are
 * already set.  Returns 0, or -1 with the error recorded; what was
 * filled in is freed by conf_service_free() either way.
 */
int conf_limits_service(struct conf_load *ld, const struct conf_section *cs,
    struct service *s);
/* Frees what conf_limits_service() filled into s (not s itself). */
void conf_limits_service_free(struct service *s);

/*
 * conf_sandbox.c.  Reads a section's sandbox options into s->sandbox (s's
 * handler kind is set), checks that the kernel and porterd's privileges
 * can honour them and prepares them (sandbox_prepare()).  Returns 0, or
 * -1 with the error recorded; conf_service_free() frees what was filled.
 */
int conf_sandbox_service(struct conf_load *ld, const struct conf_section *cs,
    struct service *s);

#endif
