/*
 * conf_sandbox.c -- a service's sandbox options become its struct sandbox.
 *
 * Every option is checked here, where a mistake still has a file and a
 * line: it must apply to the handler (a forked one: exec, or a plugin
 * with isolation = process; an in-process plugin shares porterd's process
 * and is refused), its value must parse, and the running kernel and
 * porterd's privileges must be able to honour it (chroot needs
 * CAP_SYS_CHROOT, private-tmp and network = none need CAP_SYS_ADMIN, a
 * negative nice CAP_SYS_NICE, a limit above porterd's own hard limit
 * CAP_SYS_RESOURCE, landlock-required a kernel with Landlock).  Then
 * sandbox_prepare() builds the Landlock ruleset and the seccomp filter
 * once, so that a child only applies them.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_priv.h"
#include "sandbox.h"

cfg_opt_t conf_sandbox_landlock_opts[] = {
	CFG_STR_LIST("read", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("write", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("exec", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static const char *const sb_rlimit_names[SB_NRLIMITS] = {
	"rlimit-cpu", "rlimit-as", "rlimit-nofile", "rlimit-nproc",
	"rlimit-fsize", "rlimit-core"
};

static const int sb_rlimit_res[SB_NRLIMITS] = {
	RLIMIT_CPU, RLIMIT_AS, RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_FSIZE,
	RLIMIT_CORE
};

struct sb_build {
	struct conf_load *ld;
	const struct conf_section *cs;
	cfg_t *sec;
	struct service *s;
	struct sandbox *sb;
};

static int CONF_PRINTF(3, 4)
sb_fail(struct sb_build *b, int opt, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int line;

	line = conf_line(&b->cs->lines[SVC_SANDBOX + opt], 0, b->cs->line);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_error(b->ld, line, "service '%s': %s", b->s->name, msg);
	return -1;
}

/* Was option `opt` (a CONF_SANDBOX_OPTS index) written in the section? */
static bool
sb_given(struct sb_build *b, int opt)
{
	return cfg_size(b->sec, conf_service_schema()[SVC_SANDBOX + opt].name)
	    > 0;
}

/* True if porterd holds capability `cap` (permitted: it may raise it). */
static bool
sb_have_cap(cap_value_t cap)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t caps;

	if ((caps = cap_get_proc()) == NULL)
		return false;
	(void)cap_get_flag(caps, cap, CAP_PERMITTED, &v);
	cap_free(caps);
	return v == CAP_SET;
}

/* "infinity", or a number with an optional K, M, G or T (powers of 1024). */
static int
sb_rlimit_value(const char *text, rlim_t *ret)
{
	unsigned long long v, mult = 1;
	char *end;

	if (strcmp(text, "infinity") == 0 || strcmp(text, "unlimited") == 0) {
		*ret = RLIM_INFINITY;
		return 0;
	}
	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'K': case 'k':
		mult = 1ULL << 10;
		break;
	case 'M': case 'm':
		mult = 1ULL << 20;
		break;
	case 'G': case 'g':
		mult = 1ULL << 30;
		break;
	case 'T': case 't':
		mult = 1ULL << 40;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v > (unsigned long long)RLIM_INFINITY / mult)
		return -1;
	*ret = (rlim_t)(v * mult);
	return 0;
}

static int
sb_limits(struct sb_build *b)
{
	struct sandbox *sb = b->sb;
	struct rlimit cur;
	const char *text;
	char *end;
	long v;
	size_t i;

	for (i = 0; i < SB_NRLIMITS; i++) {
		if (!sb_given(b, (int)i))
			continue;
		text = cfg_getstr(b->sec, sb_rlimit_names[i]);
		if (sb_rlimit_value(text, &sb->rlimit[i]) == -1)
			return sb_fail(b, (int)i, "%s: bad value '%s' (a number, "
			    "optionally with K, M, G or T, or infinity)",
			    sb_rlimit_names[i], text);
		if (getrlimit(sb_rlimit_res[i], &cur) == 0 &&
		    (sb->rlimit[i] > cur.rlim_max ||
		    (sb->rlimit[i] == RLIM_INFINITY &&
		    cur.rlim_max != RLIM_INFINITY)) &&
		    !sb_have_cap(CAP_SYS_RESOURCE))
			return sb_fail(b, (int)i, "%s: %s is above porterd's own "
			    "hard limit, and raising it needs CAP_SYS_RESOURCE",
			    sb_rlimit_names[i], text);
		sb->rlimit_set[i] = true;
	}
	if (sb_given(b, SB_OPT_NICE)) {
		v = cfg_getint(b->sec, "nice");
		if (v < -20 || v > 19)
			return sb_fail(b, SB_OPT_NICE,
			    "nice %ld out of range (-20 to 19)", v);
		if (v < 0 && !sb_have_cap(CAP_SYS_NICE))
			return sb_fail(b, SB_OPT_NICE, "a negative nice needs "
			    "CAP_SYS_NICE, which porterd does not hold");
		sb->nice = (int)v;
		sb->nice_set = true;
	}
	if (sb_given(b, SB_OPT_UMASK)) {
		text = cfg_getstr(b->sec, "umask");
		errno = 0;
		v = strtol(text, &end, 8);
		if (text[0] == '\0' || *end != '\0' || errno != 0 || v < 0 ||
		    v > 0777)
			return sb_fail(b, SB_OPT_UMASK, "umask '%s' is not an "
			    "octal mode (\"0027\")", text);
		sb->umask = (mode_t)v;
		sb->umask_set = true;
	}
	return 0;
}

/* An absolute path to an existing directory, copied into *ret. */
static int
sb_dir(struct sb_build *b, int opt, const char *what, const char *prefix,
    const char *path, char **ret)
{
	char full[PATH_MAX], ebuf[128];
	struct stat st;

	if (path[0] != '/')
		return sb_fail(b, opt, "%s '%s' is not absolute", what, path);
	snprintf(full, sizeof(full), "%s%s", prefix != NULL ? prefix : "",
	    path);
	if (stat(full, &st) == -1)
		return sb_fail(b, opt, "%s '%s': %s", what, full,
		    conf_strerror(errno, ebuf, sizeof(ebuf)));
	if (!S_ISDIR(st.st_mode))
		return sb_fail(b, opt, "%s '%s': not a directory", what, full);
	if ((*ret = strdup(path)) == NULL)
		return sb_fail(b, opt, "out of memory");
	return 0;
}

static int
sb_paths(struct sb_build *b)
{
	struct sandbox *sb = b->sb;
	struct stat st;
	char full[PATH_MAX], ebuf[128];

	if (sb_given(b, SB_OPT_CHROOT)) {
		if (!sb_have_cap(CAP_SYS_CHROOT))
			return sb_fail(b, SB_OPT_CHROOT, "chroot needs "
			    "CAP_SYS_CHROOT, which porterd does not hold");
		if (sb_dir(b, SB_OPT_CHROOT, "chroot", NULL,
		    cfg_getstr(b->sec, "chroot"), &sb->chroot) == -1)
			return -1;
		/* The program is looked up after chroot(). */
		if (b->s->kind == HANDLER_EXEC) {
			snprintf(full, sizeof(full), "%s%s", sb->chroot,
			    b->s->handler);
			if (stat(full, &st) == -1 || !S_ISREG(st.st_mode))
				return sb_fail(b, SB_OPT_CHROOT, "exec '%s' "
				    "is not inside the chroot ('%s': %s)",
				    b->s->handler, full, errno != 0 ?
				    conf_strerror(errno, ebuf, sizeof(ebuf)) :
				    "not a regular file");
		}
	}
	if (sb_given(b, SB_OPT_WORKDIR) && sb_dir(b, SB_OPT_WORKDIR,
	    "working-directory", sb->chroot, cfg_getstr(b->sec,
	    "working-directory"), &sb->workdir) == -1)
		return -1;
	if (sb_given(b, SB_OPT_NNP))
		sb->no_new_privs = cfg_getbool(b->sec, "no-new-privileges");
	if (sb_given(b, SB_OPT_PRIVATE_TMP) &&
	    (sb->private_tmp = cfg_getbool(b->sec, "private-tmp")) &&
	    !sb_have_cap(CAP_SYS_ADMIN))
		return sb_fail(b, SB_OPT_PRIVATE_TMP, "private-tmp needs "
		    "CAP_SYS_ADMIN (a mount namespace), which porterd does "
		    "not hold");
	if (sb_given(b, SB_OPT_NETWORK)) {
		const char *net = cfg_getstr(b->sec, "network");

		if (strcmp(net, "none") == 0)
			sb->net_none = true;
		else if (strcmp(net, "host") != 0)
			return sb_fail(b, SB_OPT_NETWORK, "unknown network "
			    "'%s' (none or host)", net);
		if (sb->net_none && !sb_have_cap(CAP_SYS_ADMIN))
			return sb_fail(b, SB_OPT_NETWORK, "network = none needs "
			    "CAP_SYS_ADMIN (a network namespace), which porterd "
			    "does not hold");
	}
	return 0;
}

/* A string list option into a new NULL-terminated vector. */
static int
sb_strv(struct sb_build *b, int opt, cfg_t *sec, const char *name,
    char ***ret, size_t *ret_n)
{
	size_t i, n = cfg_size(sec, name);

	if ((*ret = calloc(n + 1, sizeof(char *))) == NULL)
		return sb_fail(b, opt, "out of memory");
	for (i = 0; i < n; i++) {
		if (((*ret)[i] = strdup(cfg_getnstr(sec, name, i))) == NULL)
			return sb_fail(b, opt, "out of memory");
	}
	*ret_n = n;
	return 0;
}

static int
sb_filters(struct sb_build *b)
{
	static const char *const kinds[SB_LL_NKINDS] = {
		"read", "write", "exec"
	};
	struct sandbox *sb = b->sb;
	const char *word;
	cfg_t *ll;
	size_t k, i;

	if (sb_given(b, SB_OPT_LANDLOCK)) {
		ll = cfg_getsec(b->sec, "landlock");
		sb->landlock = true;
		for (k = 0; k < SB_LL_NKINDS; k++) {
			if (sb_strv(b, SB_OPT_LANDLOCK, ll, kinds[k],
			    &sb->ll_paths[k], &sb->ll_npaths[k]) == -1)
				return -1;
			for (i = 0; i < sb->ll_npaths[k]; i++) {
				if (sb->ll_paths[k][i][0] != '/')
					return sb_fail(b, SB_OPT_LANDLOCK,
					    "landlock %s path '%s' is not "
					    "absolute", kinds[k],
					    sb->ll_paths[k][i]);
			}
		}
	}
	if (sb_given(b, SB_OPT_LL_REQUIRED)) {
		sb->ll_required = cfg_getbool(b->sec, "landlock-required");
		if (sb->ll_required && !sb->landlock)
			return sb_fail(b, SB_OPT_LL_REQUIRED,
			    "landlock-required without a landlock section");
	}
	if (sb_given(b, SB_OPT_SECCOMP)) {
		word = cfg_getstr(b->sec, "seccomp");
		if (strcmp(word, "io-only") != 0 &&
		    strcmp(word, "basic-exec") != 0)
			return sb_fail(b, SB_OPT_SECCOMP, "unknown seccomp "
			    "profile '%s' (io-only or basic-exec)", word);
		if (strcmp(word, "io-only") == 0 &&
		    b->s->kind == HANDLER_EXEC)
			return sb_fail(b, SB_OPT_SECCOMP, "seccomp profile "
			    "io-only cannot run a program (use basic-exec)");
		if ((sb->seccomp_profile = strdup(word)) == NULL)
			return sb_fail(b, SB_OPT_SECCOMP, "out of memory");
		sb->seccomp = true;
	}
	if (sb_given(b, SB_OPT_SYSCALL_DENY)) {
		if (sb_strv(b, SB_OPT_SYSCALL_DENY, b->sec, "syscall-deny",
		    &sb->deny, &sb->ndeny) == -1)
			return -1;
		sb->seccomp = true;
	}
	if (sb_given(b, SB_OPT_SECCOMP_ACTION)) {
		word = cfg_getstr(b->sec, "seccomp-action");
		if (strcmp(word, "kill") == 0)
			sb->seccomp_action = SB_SECCOMP_KILL;
		else if (strcmp(word, "errno") == 0)
			sb->seccomp_action = SB_SECCOMP_ERRNO;
		else
			return sb_fail(b, SB_OPT_SECCOMP_ACTION, "unknown "
			    "seccomp-action '%s' (kill or errno)", word);
		if (!sb->seccomp)
			return sb_fail(b, SB_OPT_SECCOMP_ACTION, "seccomp-action "
			    "without seccomp or syscall-deny");
	}
	return 0;
}

int
conf_sandbox_service(struct conf_load *ld, const struct conf_section *cs,
    struct service *s)
{
	struct sb_build b = { .ld = ld, .cs = cs, .sec = cs->sec, .s = s };
	char err[512];
	int i, opt;

	for (i = 0; i < SB_NOPTS; i++) {
		if (sb_given(&b, i))
			break;
	}
	if (i == SB_NOPTS)
		return 0;	/* no sandbox: nothing to allocate */
	if (s->kind == HANDLER_PLUGIN && s->isolation == ISOLATION_THREAD)
		return sb_fail(&b, i, "%s applies to exec services and "
		    "isolation = process plugins only (an in-process plugin "
		    "shares porterd's process)",
		    conf_service_schema()[SVC_SANDBOX + i].name);
	if ((s->sandbox = malloc(sizeof(*s->sandbox))) == NULL)
		return sb_fail(&b, i, "out of memory");
	sandbox_init_spec(s->sandbox);
	b.sb = s->sandbox;
	if (sb_limits(&b) == -1 || sb_paths(&b) == -1 ||
	    sb_filters(&b) == -1)
		return -1;
	if (sandbox_prepare(s->sandbox, s->kind == HANDLER_EXEC, err,
	    sizeof(err)) == -1) {
		opt = strncmp(err, "landlock-required", 17) == 0 ?
		    SB_OPT_LL_REQUIRED : strncmp(err, "landlock", 8) == 0 ?
		    SB_OPT_LANDLOCK :
		    strncmp(err, "syscall-deny", 12) == 0 ?
		    SB_OPT_SYSCALL_DENY : SB_OPT_SECCOMP;
		return sb_fail(&b, opt, "%s", err);
	}
	return 0;
}
