/*
 * no_descriptor.c -- a test plugin for the loader: a well-formed descriptor
 * exported under the wrong name ("pt_plugin_desc"), and no
 * pt_plugin_descriptor.
 *
 * The loader resolves exactly one symbol by name, so it must refuse this
 * file as having no descriptor, however plausible the symbol it does
 * export.  Not linked against libporter.
 */
#include <porter/plugin.h>

static int
no_descriptor_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	(void)fd;
	(void)ctx;
	(void)stats;
	return -1;
}

PT_PLUGIN_EXPORT const pt_plugin pt_plugin_desc = {
	.magic = PT_PLUGIN_MAGIC,
	.abi_major = PT_PLUGIN_ABI_MAJOR,
	.abi_minor = PT_PLUGIN_ABI_MINOR,
	.size = (uint32_t)sizeof(pt_plugin),
	.name = "no_descriptor",
	.description = "test plugin: descriptor under the wrong name",
	.init = NULL,
	.handle = no_descriptor_handle,
	.fini = NULL,
};
