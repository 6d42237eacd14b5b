/*
 * crash.c -- a test plugin whose handler dies of SIGSEGV, for the process
 * isolation tests: under isolation = process only the connection's child
 * may die, and porterd must log it as killed by signal 11.
 *
 * The fault is a real write through a NULL pointer, not raise(): the host
 * must see what a buggy plugin does.  Two things would otherwise turn it
 * into something else in a sanitizer build: UBSan's null check (it would
 * report and exit), hence no_sanitize_undefined, and ASan's SIGSEGV handler
 * (it would report and exit 1), hence the default disposition first.
 */
#include <signal.h>
#include <string.h>

#include <porter/plugin.h>

#if defined(__GNUC__)
#define CRASH_NO_UBSAN __attribute__((no_sanitize_undefined))
#else
#define CRASH_NO_UBSAN
#endif

static CRASH_NO_UBSAN int
crash_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	/* volatile: the compiler may not fold the NULL nor drop the write. */
	volatile int *volatile p = NULL;
	struct sigaction sa;

	(void)fd;
	(void)stats;
	ctx->log(ctx, LOG_INFO, "crash: crashing as asked");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGSEGV, &sa, NULL);
	*p = 1;
	return -1;
}

PT_PLUGIN(.name = "crash",
    .description = "test plugin: handle dies of SIGSEGV",
    .handle = crash_handle);
