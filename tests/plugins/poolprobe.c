/*
 * poolprobe.c -- a test plugin for what a worker pool (pool.h) does
 * around a plugin: the signal dispositions its workers start with.
 *
 * Its args, any of:
 *   signals          init installs a SIGUSR2 handler and ignores SIGUSR1,
 *                    which no worker may inherit (harmless in porterd:
 *                    it neither uses nor expects either)
 * A connection is answered "pid=PID\n" (the worker's), then held until
 * the client closes, so a test can read the worker's /proc status.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <porter/plugin.h>

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
		if (strcmp(a, "signals") == 0) {
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
