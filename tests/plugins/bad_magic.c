/*
 * bad_magic.c -- a test plugin for the loader: its descriptor's magic is
 * 0xdeadbeef instead of PT_PLUGIN_MAGIC ("PTPL").
 *
 * Every other field is valid, so the magic is the only reason to refuse it.
 * The descriptor is written by hand because PT_PLUGIN() would fill
 * the header correctly.  Not linked against libporter: the loader must
 * refuse it before anything runs.
 */
#include <porter/plugin.h>

static int
bad_magic_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	(void)fd;
	(void)ctx;
	(void)stats;
	return -1;
}

PT_PLUGIN_EXPORT const pt_plugin pt_plugin_descriptor = {
	.magic = 0xdeadbeefu,
	.abi_major = PT_PLUGIN_ABI_MAJOR,
	.abi_minor = PT_PLUGIN_ABI_MINOR,
	.size = (uint32_t)sizeof(pt_plugin),
	.name = "bad_magic",
	.description = "test plugin: wrong magic",
	.init = NULL,
	.handle = bad_magic_handle,
	.fini = NULL,
};
