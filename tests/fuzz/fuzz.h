/*
 * fuzz.h -- what the fuzz harnesses, their sandbox and the replay driver
 * share.
 *
 * Each harness (fuzz_config.c, fuzz_addr.c) is one libFuzzer target: it
 * defines LLVMFuzzerTestOneInput() and, if it needs a set-up, also
 * LLVMFuzzerInitialize().  The same object links either with libFuzzer's
 * runtime (`make fuzz`, clang) or with replay.c (`make check`, any
 * compiler), which runs it over the corpus in the tree.  Both link
 * sandbox.c with the linker's --wrap options (see fuzz.am), so the code
 * under test reaches no name server and no file outside the harness's own
 * directory, however hostile the input: see sandbox.c.
 */
#ifndef PORTER_FUZZ_H
#define PORTER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* libFuzzer's entry points (declared here for -Wmissing-prototypes). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A property of the code under test that the input broke: prints what and
 * aborts, which libFuzzer records as a crash (with the input saved) and
 * replay reports as a failed test.  Never compiled out, unlike assert().
 */
#define FUZZ_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: property '%s' broken: ",\
			    __FILE__, __LINE__, #cond);			\
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			abort();					\
		}							\
	} while (0)

/*
 * sandbox.c.  While a sandbox is entered, open(), opendir() and glob()
 * refuse (EACCES) every path outside `dir`, an absolute directory without
 * glob metacharacters, and every path with a ".." component.  Outside
 * one they pass through, so the fuzzer's and replay's own file handling
 * is untouched.  getaddrinfo() never consults a name server, sandbox or
 * not: see sandbox.c.
 */
void fuzz_sandbox_enter(const char *dir);
void fuzz_sandbox_leave(void);

#endif
