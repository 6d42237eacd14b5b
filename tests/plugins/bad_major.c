/*
 * bad_major.c -- a test plugin for the loader: built for the next ABI
 * major, whose incompatible layout this host cannot know.
 *
 * Every other field is valid, so the major is the only reason to refuse it.
 * The descriptor is written by hand because PT_PLUGIN() would fill
 * the header correctly.  Not linked against libporter: the loader must
 * refuse it before anything runs.
 */
#include <porter/plugin.h>

static int
bad_major_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	(void)fd;
	(void)ctx;
	(void)stats;
	return -1;
}

PT_PLUGIN_EXPORT const pt_plugin pt_plugin_descriptor = {
	.magic = PT_PLUGIN_MAGIC,
	.abi_major = PT_PLUGIN_ABI_MAJOR + 1,
	.abi_minor = PT_PLUGIN_ABI_MINOR,
	.size = (uint32_t)sizeof(pt_plugin),
	.name = "bad_major",
	.description = "test plugin: ABI major from the future",
	.init = NULL,
	.handle = bad_major_handle,
	.fini = NULL,
};
