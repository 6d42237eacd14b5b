/*
 * tcpmux.c -- the TCP Port Service Multiplexer (RFC 1078), as inetd has
 * it: one port (tcpmux, 1) in front of named services.
 *
 * The client sends a service name ended by CRLF (LF alone is accepted).
 * "HELP" (any case) gets the names, one per line, and the connection is
 * closed.  An unknown name gets "-Service not available" and is closed.
 * A known one runs its program on the connection (descriptors 0, 1 and
 * 2, as inetd does), after "+Go" when the name was registered with a
 * leading '+' (inetd's "tcpmux/+name" entries); without it the program
 * answers "+" or "-" itself, as RFC 1078 has it.  Names are compared
 * without regard to case.
 *
 * Arguments: one per service, its inetd.conf fields from the user on,
 *
 *     "[+]NAME USER[:GROUP] PROGRAM [ARGV0 [ARG...]]"
 *
 * e.g. { "+date nobody /bin/date date -u" }.  Users, groups and programs
 * are checked at load.  The program replaces the handler process, so the
 * service needs `isolation = process` and `user = "root"` (to become
 * each service's user): a handler running inside porterd refuses every
 * client with "-tcpmux needs isolation = process" and logs why, rather
 * than exec over the daemon.  porterd's inetd-conf writes the service so.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <porter/plugin.h>

#define TCPMUX_NAME_MAX		128	/* a longer line is refused */
#define TCPMUX_TIMEOUT_MS	30000	/* for the name line */
#define TCPMUX_MAX_GROUPS	64

struct tcpmux_svc {
	char *name;
	bool plus;		/* porterd sends "+Go" */
	uid_t uid;
	gid_t gid;
	gid_t groups[TCPMUX_MAX_GROUPS];
	int ngroups;
	char *path;
	char **argv;		/* argv[0] .. NULL */
};

struct tcpmux {
	pid_t daemon_pid;	/* porterd's: handle() there must not exec */
	struct tcpmux_svc *v;
	size_t n;
};

static void
tcpmux_free(void *state)
{
	struct tcpmux *t = state;
	size_t i, j;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].path);
		for (j = 0; t->v[i].argv != NULL && t->v[i].argv[j] != NULL;
		    j++)
			free(t->v[i].argv[j]);
		free(t->v[i].argv);
	}
	free(t->v);
	free(t);
}

/* Parses one argument into sv; 0, or -1 with err. */
static int
tcpmux_parse(const char *arg, struct tcpmux_svc *sv, pt_error *err)
{
	char *copy, *save = NULL, *w, *name, *user, *group;
	struct passwd *pw;
	struct group *gr;
	size_t n = 0;
	int rc = -1;

	if ((copy = strdup(arg)) == NULL)
		return pt_error_os(err, ENOMEM, "tcpmux");
	name = strtok_r(copy, " \t", &save);
	user = strtok_r(NULL, " \t", &save);
	w = strtok_r(NULL, " \t", &save);
	if (name == NULL || user == NULL || w == NULL) {
		pt_error_set(err, PT_ERR_ARG, EINVAL, "tcpmux: '%s': expected "
		    "'[+]NAME USER[:GROUP] PROGRAM [ARGV0 [ARG...]]'", arg);
		goto done;
	}
	sv->plus = name[0] == '+';
	name += sv->plus;
	if (name[0] == '\0' || strlen(name) > TCPMUX_NAME_MAX) {
		pt_error_set(err, PT_ERR_ARG, EINVAL, "tcpmux: '%s': bad "
		    "service name", arg);
		goto done;
	}
	if ((group = strpbrk(user, ":.")) != NULL)
		*group++ = '\0';
	if ((pw = getpwnam(user)) == NULL) {
		pt_error_set(err, PT_ERR_ARG, ENOENT, "tcpmux: service %s: no "
		    "user '%s'", name, user);
		goto done;
	}
	sv->uid = pw->pw_uid;
	sv->gid = pw->pw_gid;
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL) {
			pt_error_set(err, PT_ERR_ARG, ENOENT, "tcpmux: service "
			    "%s: no group '%s'", name, group);
			goto done;
		}
		sv->gid = gr->gr_gid;
	}
	/* Resolved now: the handler must not read /etc/group after fork. */
	sv->ngroups = TCPMUX_MAX_GROUPS;
	if (getgrouplist(user, sv->gid, sv->groups, &sv->ngroups) == -1)
		sv->ngroups = TCPMUX_MAX_GROUPS;
	if (w[0] != '/' || access(w, X_OK) == -1) {
		pt_error_set(err, PT_ERR_ARG, ENOENT, "tcpmux: service %s: "
		    "program '%s' is not an absolute path to an executable",
		    name, w);
		goto done;
	}
	if ((sv->name = strdup(name)) == NULL || (sv->path = strdup(w)) ==
	    NULL || (sv->argv = calloc(strlen(arg) / 2 + 2,
	    sizeof(char *))) == NULL)
		goto nomem;
	/* argv[0]: the one given, else the program's path. */
	while ((w = strtok_r(NULL, " \t", &save)) != NULL) {
		if ((sv->argv[n++] = strdup(w)) == NULL)
			goto nomem;
	}
	if (n == 0 && (sv->argv[n++] = strdup(sv->path)) == NULL)
		goto nomem;
	rc = 0;
	goto done;
nomem:
	pt_error_os(err, ENOMEM, "tcpmux");
done:
	free(copy);
	return rc;
}

static int
tcpmux_init(const pt_plugin_ctx *ctx, void **ret_state, pt_error *err)
{
	struct tcpmux *t;
	size_t i, j;

	if (ctx->socktype != SOCK_STREAM || ctx->wait)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "tcpmux serves streams without wait");
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->v = calloc((size_t)ctx->argc + 1, sizeof(*t->v))) == NULL) {
		free(t);
		return pt_error_os(err, ENOMEM, "tcpmux");
	}
	t->daemon_pid = getpid();
	for (i = 0; i < (size_t)ctx->argc; i++) {
		t->n++;
		if (tcpmux_parse(ctx->argv[i], &t->v[i], err) == -1)
			goto fail;
		for (j = 0; j < i; j++) {
			if (strcasecmp(t->v[j].name, t->v[i].name) == 0) {
				pt_error_set(err, PT_ERR_ARG, EINVAL, "tcpmux: "
				    "service %s given twice", t->v[i].name);
				goto fail;
			}
		}
	}
	*ret_state = t;
	return 0;
fail:
	tcpmux_free(t);
	return -1;
}

/* Writes all of text, ignoring errors (the client may be gone). */
static void
tcpmux_say(int fd, const char *text, pt_plugin_stats *stats)
{
	size_t len = strlen(text);
	ssize_t n;

	while (len > 0 && (n = send(fd, text, len, MSG_NOSIGNAL)) > 0) {
		stats->bytes_out += (uint64_t)n;
		text += n;
		len -= (size_t)n;
	}
}

/*
 * Reads the name line a byte at a time, so that nothing after it is
 * taken from the program.  Returns its length, or -1 (timeout, EOF,
 * too long).
 */
static int
tcpmux_read_name(int fd, char *buf, size_t size, pt_plugin_stats *stats)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t n = 0;
	ssize_t r;
	char c;

	for (;;) {
		if (poll(&p, 1, TCPMUX_TIMEOUT_MS) <= 0)
			return -1;
		if ((r = recv(fd, &c, 1, 0)) <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return -1;
		}
		stats->bytes_in++;
		if (c == '\n')
			break;
		if (n + 1 >= size)
			return -1;
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return (int)n;
}

/* Becomes sv's user with the connection on 0, 1 and 2, and runs it. */
static void
tcpmux_exec(int fd, const struct tcpmux_svc *sv)
{
	if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
		return;
	if (getuid() == 0 && (setgroups((size_t)sv->ngroups, sv->groups) ==
	    -1 || setgid(sv->gid) == -1 || setuid(sv->uid) == -1))
		return;
	if (getuid() != sv->uid && geteuid() != sv->uid)
		return;		/* not root, and not that user: refuse */
	execv(sv->path, sv->argv);
}

static int
tcpmux_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	const struct tcpmux *t = ctx->state;
	char name[TCPMUX_NAME_MAX + 2];
	size_t i;

	/* The name first: closing on unread data would reset the reply. */
	if (tcpmux_read_name(fd, name, sizeof(name), stats) == -1) {
		tcpmux_say(fd, "-Bad request\r\n", stats);
		return -1;
	}
	if (getpid() == t->daemon_pid) {
		ctx->log(ctx, LOG_ERR, "tcpmux: needs isolation = process "
		    "(its services replace the handler process)");
		tcpmux_say(fd, "-tcpmux needs isolation = process\r\n", stats);
		return -1;
	}
	if (strcasecmp(name, "help") == 0) {
		for (i = 0; i < t->n; i++) {
			tcpmux_say(fd, t->v[i].name, stats);
			tcpmux_say(fd, "\r\n", stats);
		}
		return 0;
	}
	for (i = 0; i < t->n; i++) {
		if (strcasecmp(name, t->v[i].name) == 0)
			break;
	}
	if (i == t->n) {
		ctx->log(ctx, LOG_INFO, "tcpmux: no service '%.64s'", name);
		tcpmux_say(fd, "-Service not available\r\n", stats);
		return -1;
	}
	if (t->v[i].plus)
		tcpmux_say(fd, "+Go\r\n", stats);
	tcpmux_exec(fd, &t->v[i]);
	ctx->log(ctx, LOG_ERR, "tcpmux: service %s: cannot run %s: %s",
	    t->v[i].name, t->v[i].path, strerror(errno));
	if (!t->v[i].plus)
		tcpmux_say(fd, "-Service not available\r\n", stats);
	return -1;
}

PT_PLUGIN(.name = "tcpmux",
    .description = "RFC 1078 TCP port service multiplexer",
    .init = tcpmux_init, .handle = tcpmux_handle, .fini = tcpmux_free);
