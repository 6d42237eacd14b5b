/*
 * bad_flags.c -- a test plugin for the loader: an ABI 1.1 descriptor with a
 * flag bit no ABI 1.1 host knows (bit 31).
 *
 * A flag is a promise the plugin makes or a service it asks for; porterd
 * cannot honour one it does not know, so it must refuse the plugin rather
 * than run it in the wrong mode.  Every other field is valid, so the flag
 * is the only reason to refuse it.  Not linked against libporter: the
 * loader must refuse it before anything runs.
 */
#include <porter/plugin.h>

static int
bad_flags_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	(void)fd;
	(void)ctx;
	(void)stats;
	return -1;
}

PT_PLUGIN(.name = "bad_flags",
    .description = "test plugin: a flag the host does not know",
    .handle = bad_flags_handle,
    .flags = PT_PLUGIN_COOPERATIVE | 0x80000000u);
