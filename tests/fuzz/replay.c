/*
 * replay.c -- runs one fuzz harness over files, without libFuzzer: the
 * regression test `make check` runs on the corpus in the tree, and the
 * way to reproduce what the fuzzer found.
 *
 *   tests/fuzz/replay_config              each file of the harness's corpus
 *                                         ($top_srcdir/tests/fuzz/corpus/
 *                                         config; top_srcdir defaults to .)
 *   tests/fuzz/replay_config crash-SHA1   the files named, and every file
 *                                         of each directory named
 *
 * It is linked with one harness (fuzz.am), built by the normal compiler,
 * and so also runs under the ASan/UBSan build of the suite.  As libFuzzer
 * does, it calls the harness's LLVMFuzzerInitialize() first if there is
 * one, then LLVMFuzzerTestOneInput() once per file, in name order.  A
 * broken property or a crash kills the program, which fails the test.  A
 * corpus that is missing or empty is a hard error (99): a test that ran
 * nothing must not pass.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_CORPUS
#error "FUZZ_CORPUS must name the harness's corpus directory"
#endif

#define EXIT_HARD_ERROR	99	/* automake: the test could not run */

/* Defined only by harnesses that need a set-up. */
extern int LLVMFuzzerInitialize(int *argc, char ***argv)
    __attribute__((weak));

static void
replay_fail(const char *what, int code)
{
	fprintf(stderr, "replay: %s: %s\n", what, strerror(code));
	exit(EXIT_HARD_ERROR);
}

/* Runs the harness on one file's contents. */
static void
replay_file(const char *path)
{
	unsigned char *data = NULL, *d;
	size_t len = 0, cap = 0, n;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL)
		replay_fail(path, errno);
	do {
		if (cap - len < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			if ((d = realloc(data, cap)) == NULL)
				replay_fail(path, ENOMEM);
			data = d;
		}
		n = fread(data + len, 1, cap - len, fp);
		len += n;
	} while (n > 0);
	if (ferror(fp))
		replay_fail(path, EIO);
	fclose(fp);

	printf("%s (%zu bytes)\n", path, len);
	fflush(stdout);		/* named in the log before anything breaks */
	LLVMFuzzerTestOneInput(data, len);
	free(data);
}

static int
replay_dotless(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/* Runs the harness on each file of a directory; returns how many. */
static size_t
replay_dir(const char *dir)
{
	struct dirent **names;
	char path[PATH_MAX];
	int i, n;

	if ((n = scandir(dir, &names, replay_dotless, alphasort)) < 0)
		replay_fail(dir, errno);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		replay_file(path);
		free(names[i]);
	}
	free(names);
	return (size_t)n;
}

static size_t
replay_path(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		replay_fail(path, errno);
	if (S_ISDIR(st.st_mode))
		return replay_dir(path);
	replay_file(path);
	return 1;
}

int
main(int argc, char **argv)
{
	const char *top = getenv("top_srcdir");
	char corpus[PATH_MAX];
	size_t n = 0;
	int i;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		for (i = 1; i < argc; i++)
			n += replay_path(argv[i]);
	} else {
		snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus/%s",
		    top != NULL && top[0] != '\0' ? top : ".", FUZZ_CORPUS);
		n = replay_path(corpus);
	}
	if (n == 0) {
		fprintf(stderr, "replay: no input to run\n");
		return EXIT_HARD_ERROR;
	}
	printf("%zu inputs, no property broken\n", n);
	return 0;
}
