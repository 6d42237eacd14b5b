/*
 * short_size.c -- a test plugin for the loader: its descriptor claims to end
 * before `name`, shorter than any ABI 1 descriptor.
 *
 * Every other field is valid, so the size is the only reason to refuse it.
 * The descriptor is written by hand because PT_PLUGIN() would fill
 * the header correctly.  Not linked against libporter: the loader must
 * refuse it before anything runs.
 */
#include <stddef.h>

#include <porter/plugin.h>

static int
short_size_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	(void)fd;
	(void)ctx;
	(void)stats;
	return -1;
}

PT_PLUGIN_EXPORT const pt_plugin pt_plugin_descriptor = {
	.magic = PT_PLUGIN_MAGIC,
	.abi_major = PT_PLUGIN_ABI_MAJOR,
	.abi_minor = PT_PLUGIN_ABI_MINOR,
	.size = (uint32_t)offsetof(pt_plugin, name),
	.name = "short_size",
	.description = "test plugin: descriptor too short",
	.init = NULL,
	.handle = short_size_handle,
	.fini = NULL,
};
