/*
 * dup_echo.c -- a test plugin for the loader: valid in every way, but its
 * descriptor's name is "echo", the in-tree plugin's.
 *
 * Plugin names are unique in porterd, so whichever of the two files loads
 * second must be refused as a duplicate.  Its handler does nothing and
 * succeeds, so that a test which reached it by mistake sees an empty reply
 * instead of an echo.  Not linked against libporter.  It keeps ABI 1.0's
 * positional PT_PLUGIN_DEFINE(), so the build proves that a 1.0 source
 * still compiles against the current header (tests/plugins/abi10.c proves
 * that a 1.0 binary still loads).
 */
#include <porter/plugin.h>

static int
dup_echo_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	(void)fd;
	(void)ctx;
	(void)stats;
	return 0;
}

PT_PLUGIN_DEFINE("echo", "test plugin: a second plugin named echo",
    NULL, dup_echo_handle, NULL);
