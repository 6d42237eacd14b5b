/*
 * newer_minor.c -- a test plugin for the loader: built for a newer ABI minor
 * than the host's, so it may use context fields the host does not fill.
 *
 * Every other field is valid, so the minor is the only reason to refuse it.
 * The descriptor is written by hand because PT_PLUGIN() would fill
 * the header correctly.  Not linked against libporter: the loader must
 * refuse it before anything runs.
 */
#include <porter/plugin.h>

static int
newer_minor_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	(void)fd;
	(void)ctx;
	(void)stats;
	return -1;
}

PT_PLUGIN_EXPORT const pt_plugin pt_plugin_descriptor = {
	.magic = PT_PLUGIN_MAGIC,
	.abi_major = PT_PLUGIN_ABI_MAJOR,
	.abi_minor = PT_PLUGIN_ABI_MINOR + 1,
	.size = (uint32_t)sizeof(pt_plugin),
	.name = "newer_minor",
	.description = "test plugin: ABI minor newer than the host's",
	.init = NULL,
	.handle = newer_minor_handle,
	.fini = NULL,
};
