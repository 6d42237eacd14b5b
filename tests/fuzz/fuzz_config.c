/*
 * fuzz_config.c -- libFuzzer target for config_load(), porterd's parser
 * and checker of porterd.conf and its drop-ins (daemon/conf*.c, on top of
 * libconfuse and libporter's address parser).
 *
 * An input is a set of files: its parts, split at lines holding only
 * "%%", become porterd.conf and conf.d/1.conf to conf.d/3.conf in a
 * directory of the harness's own, beside a conf.d/README that no pattern
 * ending in ".conf" matches (so the list of skipped files is exercised).
 * The main file is loaded the way porterd loads it; an error is a fine
 * outcome, a crash, a leak, a hang or one of these broken properties is
 * not:
 *
 *  - a failure leaves a message "FILE:LINE: what" or "FILE: what" naming
 *    a file the load read, at a line that file has;
 *  - a success leaves no message and a table whose every service is found
 *    by its name and would reopen its own sockets (service_same_sockets()
 *    of itself), with the counts of its lists matching the lists; and
 *    whether two services have the same sockets does not depend on which
 *    is asked about first (a reload compares old with new);
 *  - loading the same files again gives the same outcome: porterd reloads
 *    an unchanged config on SIGHUP, and libconfuse keeps global lexer
 *    state that must not leak from one parse into the next.
 *
 * The load runs in a sandbox (sandbox.c): host names are not resolved,
 * and include patterns reach no file outside the directory.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "porter/socket.h"
#include "conf.h"
#include "fuzz.h"

#define CONFIG_SEP	"\n%%\n"	/* a line "%%" between two files */
#define CONFIG_NFILES	4		/* porterd.conf and three drop-ins */

/* A file that `include = { "conf.d/?*" }` picks up and that is no config. */
#define CONFIG_README	"Drop-in files end in .conf; this one is skipped.\n"

/* The harness's directory: short enough for every name in it to fit. */
static char config_dir[PATH_MAX / 2];
static char config_files[CONFIG_NFILES][PATH_MAX];
static char config_readme[PATH_MAX];

static void
config_cleanup(void)
{
	char path[PATH_MAX];
	int i;

	for (i = 0; i < CONFIG_NFILES; i++)
		unlink(config_files[i]);
	unlink(config_readme);
	snprintf(path, sizeof(path), "%s/conf.d", config_dir);
	rmdir(path);
	rmdir(config_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX];
	FILE *fp;
	int i, n;

	(void)argc;
	(void)argv;
	/*
	 * Run as root, porterd reads only files no one but root may change:
	 * whatever umask the fuzzer inherits, the inputs must pass that.
	 */
	umask(022);
	/* Every run rewrites the files: cheapest in memory (tmpfs). */
	if (tmp == NULL || tmp[0] != '/')
		tmp = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
	n = snprintf(config_dir, sizeof(config_dir), "%s/porter-fuzz-XXXXXX",
	    tmp);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(config_dir), "TMPDIR too long");
	FUZZ_CHECK(mkdtemp(config_dir) != NULL, "mkdtemp %s: %s", config_dir,
	    strerror(errno));
	snprintf(path, sizeof(path), "%s/conf.d", config_dir);
	FUZZ_CHECK(mkdir(path, 0700) == 0, "mkdir %s: %s", path,
	    strerror(errno));
	snprintf(config_files[0], PATH_MAX, "%s/porterd.conf", config_dir);
	for (i = 1; i < CONFIG_NFILES; i++)
		snprintf(config_files[i], PATH_MAX, "%s/conf.d/%d.conf",
		    config_dir, i);
	snprintf(config_readme, sizeof(config_readme), "%s/conf.d/README",
	    config_dir);
	fp = fopen(config_readme, "w");
	FUZZ_CHECK(fp != NULL && fputs(CONFIG_README, fp) >= 0 &&
	    fclose(fp) == 0, "cannot write %s", config_readme);
	atexit(config_cleanup);
	return 0;
}

/* Writes the input's parts into the files; returns how many there are. */
static int
config_write(const uint8_t *data, size_t size,
    const char *parts[CONFIG_NFILES], size_t lens[CONFIG_NFILES])
{
	const char *p = (const char *)data, *end = p + size, *sep;
	FILE *fp;
	int i, n = 0;

	/* Each part ends at a separator, but the last takes the rest. */
	while (n < CONFIG_NFILES) {
		sep = n < CONFIG_NFILES - 1 ? memmem(p, (size_t)(end - p),
		    CONFIG_SEP, strlen(CONFIG_SEP)) : NULL;
		parts[n] = p;
		lens[n] = sep != NULL ? (size_t)(sep - p) + 1 : (size_t)(end - p);
		n++;
		if (sep == NULL)
			break;
		p = sep + strlen(CONFIG_SEP);
	}
	for (i = 0; i < CONFIG_NFILES; i++) {
		/*
		 * The last input's files go, drop-ins this one lacks too.  A
		 * new file rather than a truncated one: ext4 flushes a file
		 * truncated and rewritten when it is closed.
		 */
		FUZZ_CHECK(unlink(config_files[i]) == 0 || errno == ENOENT,
		    "unlink %s: %s", config_files[i], strerror(errno));
		if (i >= n)
			continue;
		fp = fopen(config_files[i], "w");
		FUZZ_CHECK(fp != NULL && fwrite(parts[i], 1, lens[i], fp) ==
		    lens[i] && fclose(fp) == 0, "cannot write %s",
		    config_files[i]);
	}
	return n;
}

/* How many lines the text has (a last line need not end in '\n'). */
static long
config_lines(const char *text, size_t len)
{
	long n = 1;
	size_t i;

	for (i = 0; i < len; i++)
		n += text[i] == '\n';
	return n;
}

/*
 * If err starts with a path (up to some ':') that is the same file as
 * `path` -- an include may spell it "conf.d//1.conf" or "./porterd.conf"
 * -- returns what follows that ':', else NULL.
 */
static const char *
config_names_file(const char *err, const char *path)
{
	char prefix[PATH_MAX];
	struct stat a, b;
	const char *c;
	size_t n;

	if (stat(path, &b) == -1)
		return NULL;
	for (c = strchr(err, ':'); c != NULL; c = strchr(c + 1, ':')) {
		n = (size_t)(c - err);
		if (n == 0 || n >= sizeof(prefix))
			continue;
		memcpy(prefix, err, n);
		prefix[n] = '\0';
		if (stat(prefix, &a) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return c + 1;
	}
	return NULL;
}

/* The message of a failed load names a file it read and a line it has. */
static void
config_check_error(const char *err, const char *parts[CONFIG_NFILES],
    const size_t lens[CONFIG_NFILES], int nparts)
{
	const char *text = NULL, *rest = NULL;
	size_t len = 0;
	char *end;
	long line;
	int i;

	FUZZ_CHECK(err[0] != '\0', "the load failed without a message");
	for (i = 0; i < nparts && text == NULL; i++) {
		if ((rest = config_names_file(err, config_files[i])) != NULL) {
			text = parts[i];
			len = lens[i];
		}
	}
	if (text == NULL &&
	    (rest = config_names_file(err, config_readme)) != NULL) {
		text = CONFIG_README;
		len = strlen(CONFIG_README);
	}
	FUZZ_CHECK(text != NULL, "message names no file read: %s", err);
	if (rest[0] >= '0' && rest[0] <= '9') {
		line = strtol(rest, &end, 10);
		FUZZ_CHECK(*end == ':' && line >= 1 &&
		    line <= config_lines(text, len),
		    "message names a line the file has not: %s", err);
		rest = end + 1;
	}
	FUZZ_CHECK(rest[0] == ' ' && rest[1] != '\0',
	    "message says nothing: %s", err);
}

static size_t
config_strv_len(char **v)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

/* The table of a successful load is consistent with itself. */
static void
config_check_table(const struct config *cfg)
{
	const struct service *s;
	size_t i, j;
	int family;

	FUZZ_CHECK(strcmp(cfg->path, config_files[0]) == 0, "path %s",
	    cfg->path);
	FUZZ_CHECK(cfg->plugin_dir != NULL && cfg->plugin_dir[0] == '/',
	    "plugin-dir not absolute");
	FUZZ_CHECK(cfg->included != NULL && cfg->skipped != NULL,
	    "included or skipped left NULL");
	for (i = 0; i < cfg->nservices; i++) {
		s = cfg->services[i];
		FUZZ_CHECK(s->name[0] != '\0' && config_find(cfg, s->name) == s,
		    "service %zu '%s' is not found by its name", i, s->name);
		FUZZ_CHECK(service_same_sockets(s, s),
		    "service '%s' would not reopen its own sockets", s->name);
		FUZZ_CHECK(s->nlistens >= 1 && s->handler != NULL,
		    "service '%s' has no listener or handler", s->name);
		for (j = 0; j < s->nlistens; j++) {
			family = pt_addr_family(&s->listens[j].addr);
			FUZZ_CHECK(s->listens[j].fd_name != NULL ||
			    family == AF_INET || family == AF_INET6 ||
			    family == AF_UNIX, "service '%s': listen '%s' "
			    "has family %d", s->name, s->listens[j].text,
			    family);
		}
		FUZZ_CHECK(config_strv_len(s->args) == s->nargs &&
		    config_strv_len(s->env) == s->nenv,
		    "service '%s': list counts disagree", s->name);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(service_same_sockets(s, cfg->services[j]) ==
			    service_same_sockets(cfg->services[j], s),
			    "services '%s' and '%s': same sockets one way "
			    "only", s->name, cfg->services[j]->name);
	}
}

/* Two loads of the same files came out the same. */
static void
config_check_same(const struct config *a, const char *aerr,
    const struct config *b, const char *berr)
{
	size_t i;

	FUZZ_CHECK((a == NULL) == (b == NULL) && strcmp(aerr, berr) == 0,
	    "a second load differs: '%s', then '%s'", aerr, berr);
	if (a == NULL)
		return;
	FUZZ_CHECK(a->nservices == b->nservices,
	    "a second load has %zu services, not %zu", b->nservices,
	    a->nservices);
	for (i = 0; i < a->nservices; i++)
		FUZZ_CHECK(strcmp(a->services[i]->name,
		    b->services[i]->name) == 0 &&
		    service_same_sockets(a->services[i], b->services[i]),
		    "service '%s' differs on a second load",
		    a->services[i]->name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *parts[CONFIG_NFILES];
	size_t lens[CONFIG_NFILES];
	char err[1024], err2[1024];
	struct config *cfg, *cfg2;
	int nparts;

	nparts = config_write(data, size, parts, lens);
	fuzz_sandbox_enter(config_dir);
	cfg = config_load(config_files[0], err, sizeof(err));
	cfg2 = config_load(config_files[0], err2, sizeof(err2));
	fuzz_sandbox_leave();

	if (cfg == NULL)
		config_check_error(err, parts, lens, nparts);
	else
		FUZZ_CHECK(err[0] == '\0', "a successful load left a "
		    "message: %s", err);
	if (cfg != NULL)
		config_check_table(cfg);
	config_check_same(cfg, err, cfg2, err2);
	config_free(cfg);
	config_free(cfg2);
	return 0;
}
