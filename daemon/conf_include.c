/*
 * conf_include.c -- the main file's `include` patterns and their drop-ins.
 *
 * Each pattern is taken relative to the main file's directory (an
 * absolute one as it is) and expanded with glob(3), whose matches come
 * sorted; the files are read in that order, pattern after pattern, each
 * parsed on its own and built into the one service table (conf.c).  A
 * pattern without wildcards names one file, which must exist; one with
 * wildcards may match nothing, but what it leaves out of its directory
 * ("x.conf~", ".x.conf", "README") is listed in cfg->skipped for the
 * daemon to log: xinetd's silently ignored includedir files are the
 * mistake not to repeat.  A file matched twice is read once; the main
 * file matched by its own pattern (or a drop-in that is a link to it) is
 * an include loop, reported as an error.  Only regular files are read: a
 * FIFO, socket or device a pattern matches is refused unopened (conf.c).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf_priv.h"

/* `pattern` relative to the main file's directory; a new string. */
static char *
conf_join(const char *main_path, const char *pattern)
{
	const char *slash = strrchr(main_path, '/');
	int dirlen = slash != NULL ? (int)(slash - main_path) + 1 : 0;
	char *s;

	if (pattern[0] == '/')
		dirlen = 0;
	if (asprintf(&s, "%.*s%s", dirlen, main_path, pattern) == -1)
		return NULL;
	return s;
}

/* What made glob() give up, for the message (one load at a time). */
static int conf_glob_errno;
static char conf_glob_path[256];

/*
 * glob(3)'s error callback.  A directory that does not exist matches
 * nothing, like any wildcard pattern may; one that cannot be read would
 * drop its files in silence, so that ends the load.
 */
static int
conf_glob_err(const char *path, int code)
{
	if (code == ENOENT || code == ENOTDIR)
		return 0;
	conf_glob_errno = code;
	snprintf(conf_glob_path, sizeof(conf_glob_path), "%s", path);
	return 1;
}

/*
 * Reads, parses and builds one drop-in.  `pattern` and `line` are the
 * include entry that named it, for messages about the file as a whole.
 */
static int
conf_dropin(struct conf_load *ld, const char *opt, const char *path,
    const char *pattern, int line, bool literal,
    int (*parse)(struct conf_load *, char *, size_t))
{
	struct conf_fileid *ids;
	const char *main_file = ld->file;
	char *text = NULL, *name, why[256];
	struct stat st;
	size_t i, len;
	int rc, nlines;

	if (conf_read(ld, path, &text, &len, &st, why, sizeof(why)) == -1) {
		if (literal)
			conf_error(ld, line, "%s '%s': %s", opt, pattern, why);
		else
			conf_error(ld, line, "%s '%s': %s: %s", opt, pattern,
			    path, why);
		return -1;
	}
	/*
	 * The main file itself (under any name) is an include loop, a
	 * mistake worth a word; a drop-in matched twice is read once.
	 */
	if (ld->ids[0].dev == st.st_dev && ld->ids[0].ino == st.st_ino) {
		free(text);
		conf_error(ld, line, "%s '%s': %s is the main file (an "
		    "include loop)", opt, pattern, path);
		return -1;
	}
	for (i = 1; i < ld->nids; i++) {
		if (ld->ids[i].dev == st.st_dev &&
		    ld->ids[i].ino == st.st_ino) {
			free(text);
			return 0;
		}
	}
	if ((ids = realloc(ld->ids, (ld->nids + 1) * sizeof(*ids))) == NULL)
		goto nomem;
	ld->ids = ids;
	if ((name = strdup(path)) == NULL ||
	    conf_strv_push(&ld->cfg->included, name) == -1)
		goto nomem;
	ld->ids[ld->nids].dev = st.st_dev;
	ld->ids[ld->nids++].ino = st.st_ino;

	/* The name lives in cfg->included, as long as the services. */
	ld->file = name;
	nlines = ld->nlines;
	rc = parse(ld, text, len);
	ld->file = main_file;
	if (rc == 0)
		ld->nlines = nlines;
	free(text);
	return rc;
nomem:
	free(text);
	conf_error(ld, line, "out of memory");
	return -1;
}

static int
conf_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is `name` matched by a pattern of `globs` whose directory is dir? */
static bool
conf_glob_matches(char **globs, size_t nglobs, const char *dir,
    size_t dirlen, const char *name)
{
	size_t k;

	for (k = 0; k < nglobs; k++) {
		if (strncmp(globs[k], dir, dirlen) == 0 &&
		    strchr(globs[k] + dirlen, '/') == NULL &&
		    fnmatch(globs[k] + dirlen, name, FNM_PERIOD) == 0)
			return true;
	}
	return false;
}

/*
 * Appends to cfg->skipped, sorted, every entry of the directory of
 * globs[i] that no pattern on that directory matches; dotfiles too, since
 * glob(3) leaves them out.  dir is globs[i]'s first dirlen bytes.
 */
static int
conf_skipped_dir(struct conf_load *ld, char **globs, size_t nglobs,
    size_t i, size_t dirlen)
{
	char **v = ld->cfg->skipped, *s;
	size_t first = 0, n = 0;
	struct dirent *de;
	DIR *d;

	while (v != NULL && v[first] != NULL)
		first++;
	if ((s = dirlen > 0 ? strndup(globs[i], dirlen) : strdup(".")) == NULL)
		goto nomem;
	d = opendir(s);
	free(s);
	if (d == NULL)
		return 0;	/* glob() has said all there is to say */
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    conf_glob_matches(globs, nglobs, globs[i], dirlen,
		    de->d_name))
			continue;
		if (asprintf(&s, "%.*s%s", (int)dirlen, globs[i],
		    de->d_name) == -1 ||
		    conf_strv_push(&ld->cfg->skipped, s) == -1) {
			closedir(d);
			goto nomem;
		}
		n++;
	}
	closedir(d);
	/* readdir() order is the file system's; the log's should not be. */
	if (n > 0)
		qsort(ld->cfg->skipped + first, n, sizeof(char *), conf_strcmp);
	return 0;
nomem:
	conf_error(ld, 0, "out of memory");
	return -1;
}

/* conf_skipped_dir() for each directory a wildcard pattern lists. */
static int
conf_skipped(struct conf_load *ld, char **globs, size_t nglobs)
{
	const char *slash;
	size_t i, j, dirlen;

	for (i = 0; i < nglobs; i++) {
		slash = strrchr(globs[i], '/');
		dirlen = slash != NULL ? (size_t)(slash - globs[i]) + 1 : 0;
		/* "*\/x.conf" has no one directory to list. */
		if (strcspn(globs[i], "*?[") < dirlen)
			continue;
		for (j = 0; j < i; j++) {
			if (strncmp(globs[j], globs[i], dirlen) == 0 &&
			    strchr(globs[j] + dirlen, '/') == NULL)
				break;	/* that directory is listed already */
		}
		if (j == i && conf_skipped_dir(ld, globs, nglobs, i,
		    dirlen) == -1)
			return -1;
	}
	return 0;
}

/*
 * Expands the main file's include patterns in order and reads what they
 * name.  A pattern without wildcards names one file, which must exist; a
 * wildcard pattern may match nothing.
 */
int
conf_includes(struct conf_load *ld, cfg_t *root)
{
	return conf_patterns(ld, root, "include", ROOT_INCLUDE,
	    conf_parse_dropin);
}

int
conf_patterns(struct conf_load *ld, cfg_t *root, const char *opt, int slot,
    int (*parse)(struct conf_load *, char *, size_t))
{
	size_t i, j, n = cfg_size(root, opt), nglobs = 0;
	char **globs = NULL, *joined, ebuf[128];
	const char *pattern;
	int line, rc = 0;
	glob_t g;

	for (i = 0; i < n && rc == 0; i++) {
		pattern = cfg_getnstr(root, opt, i);
		line = conf_line(&ld->root_lines[slot], i, 0);
		if ((joined = conf_join(ld->cfg->path, pattern)) == NULL) {
			conf_error(ld, line, "out of memory");
			rc = -1;
			break;
		}
		if (strpbrk(pattern, "*?[") == NULL) {
			rc = conf_dropin(ld, opt, joined, pattern, line, true,
			    parse);
			free(joined);
			continue;
		}
		memset(&g, 0, sizeof(g));
		switch (glob(joined, 0, conf_glob_err, &g)) {
		case 0:
			for (j = 0; j < g.gl_pathc && rc == 0; j++)
				rc = conf_dropin(ld, opt, g.gl_pathv[j],
				    pattern, line, false, parse);
			break;
		case GLOB_NOMATCH:
			break;
		case GLOB_ABORTED:
			conf_error(ld, line, "%s '%s': %s: %s", opt, pattern,
			    conf_glob_path, conf_strerror(conf_glob_errno,
			    ebuf, sizeof(ebuf)));
			rc = -1;
			break;
		default:
			conf_error(ld, line, "out of memory");
			rc = -1;
			break;
		}
		globfree(&g);
		if (rc == 0 && conf_strv_push(&globs, joined) == -1) {
			conf_error(ld, line, "out of memory");
			rc = -1;
		} else if (rc == 0) {
			nglobs++;
		} else {
			free(joined);
		}
	}
	if (rc == 0)
		rc = conf_skipped(ld, globs, nglobs);
	for (i = 0; i < nglobs; i++)
		free(globs[i]);
	free(globs);
	return rc;
}

