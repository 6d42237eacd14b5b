/*
 * refuse_init.c -- a test plugin whose init refuses the configuration
 * unless one of the service's args is "ok".
 *
 * Lets the tests drive both outcomes of init from the config file alone:
 * without "ok", porterd must refuse to start (or, on reload, keep the old
 * config) and print the message below; with it, the service runs, and
 * each stream connection is answered "ok\n" and closed.
 */
#include <errno.h>
#include <string.h>

#include <porter/plugin.h>

static int
refuse_init_init(const pt_plugin_ctx *ctx, void **ret_state, pt_error *err)
{
	int i;

	(void)ret_state;
	for (i = 0; i < ctx->argc; i++)
		if (strcmp(ctx->argv[i], "ok") == 0)
			return 0;
	return pt_error_set(err, PT_ERR_ARG, EINVAL,
	    "refuse_init: refusing as asked");
}

static int
refuse_init_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	pt_error err;
	size_t sent = 0;
	pt_sock *s;
	int r = -1;

	if ((s = pt_fromfd(fd, 0, 0, 0, &err)) != NULL)
		r = pt_sock_sendall(s, "ok\n", 3, 0, &sent, &err);
	stats->bytes_out = sent;
	if (r == -1)
		ctx->log(ctx, LOG_ERR, "refuse_init: %s", err.msg);
	pt_sock_free(s);
	return r;
}

PT_PLUGIN(.name = "refuse_init",
    .description = "test plugin: init refuses without 'ok'",
    .init = refuse_init_init, .handle = refuse_init_handle);
