/*
 * poolprobe.c -- a test plugin for what a worker pool (pool.h) does
 * around a plugin: the crash loops it pauses, the signal dispositions
 * its workers start with.
 *
 * Its args, any of:
 *   init-crash=PATH  init dies of SIGSEGV while PATH exists: porterd's own
 *                    init call (at start, PATH absent) passes, a pool
 *                    process started once the test created PATH dies
 *   fork-crash=PATH  init registers a fork handler that kills the child
 *                    with SIGSEGV while PATH exists: every worker a pool
 *                    forks dies before it serves
 *   signals          init installs a SIGUSR2 handler and ignores SIGUSR1,
 *                    which no worker may inherit (harmless in porterd:
 *                    it neither uses nor expects either)
 * A connection is answered "pid=PID\n" (the worker's), then held until
 * the client closes, so a test can read the worker's /proc status.
 *
 * The faults are real writes through NULL, as in crash.c, with the
 * default SIGSEGV disposition first (a sanitizer's handler would turn
 * them into an exit) and no core file (one per crash would litter).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <porter/plugin.h>

#if defined(__GNUC__)
#define POOLPROBE_NO_UBSAN __attribute__((no_sanitize_undefined))
#else
#define POOLPROBE_NO_UBSAN
#endif

/* fork-crash's PATH: file scope, for the fork handler. */
static char poolprobe_fork_path[512];

static POOLPROBE_NO_UBSAN void
poolprobe_die(void)
{
	volatile int *volatile p = NULL;
	struct rlimit none = { 0, 0 };
	struct sigaction sa;

	(void)setrlimit(RLIMIT_CORE, &none);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGSEGV, &sa, NULL);
	*p = 1;
}

static void
poolprobe_atfork_child(void)
{
	if (poolprobe_fork_path[0] != '\0' &&
	    access(poolprobe_fork_path, F_OK) == 0)
		poolprobe_die();
}

static void
poolprobe_usr2(int sig)
{
	(void)sig;
}

static int
poolprobe_init(const pt_plugin_ctx *ctx, void **ret_state, pt_error *err)
{
	struct sigaction sa;
	const char *a;
	int i;

	(void)ret_state;
	for (i = 0; i < ctx->argc; i++) {
		a = ctx->argv[i];
		if (strncmp(a, "init-crash=", 11) == 0) {
			if (access(a + 11, F_OK) == 0)
				poolprobe_die();
		} else if (strncmp(a, "fork-crash=", 11) == 0) {
			snprintf(poolprobe_fork_path,
			    sizeof(poolprobe_fork_path), "%s", a + 11);
			if (pthread_atfork(NULL, NULL,
			    poolprobe_atfork_child) != 0)
				return pt_error_set(err, PT_ERR_OS, ENOMEM,
				    "poolprobe: pthread_atfork failed");
		} else if (strcmp(a, "signals") == 0) {
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = poolprobe_usr2;
			sigaction(SIGUSR2, &sa, NULL);
			sa.sa_handler = SIG_IGN;
			sigaction(SIGUSR1, &sa, NULL);
		} else {
			return pt_error_set(err, PT_ERR_ARG, EINVAL,
			    "poolprobe: unknown argument '%s'", a);
		}
	}
	return 0;
}

static int
poolprobe_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	char buf[64];
	int len;

	(void)ctx;
	len = snprintf(buf, sizeof(buf), "pid=%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)len) != len)
		return -1;
	stats->bytes_out = (uint64_t)len;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return 0;
}

PT_PLUGIN(.name = "poolprobe",
    .description = "test plugin: probes a worker pool's process model",
    .init = poolprobe_init, .handle = poolprobe_handle);
