/*
 * ctxdump.c -- a test plugin that shows a client the context its handler
 * was given, for the end-to-end tests of what porterd passes to plugins.
 *
 * Each stream connection gets one "key=value" line per context field, in
 * this order, and is then closed (nothing is read):
 *
 *     service=<name>  socktype=<n>  wait=<n>  argc=<n>
 *     arg=<each arg, in order>
 *     peer=<address>  local=<address>  ("none" for a NULL address)
 *     state=<what init stored: "ctxdump-state">
 *     var=<each of ctx->vars, NAME=value: TLS and PROXY facts>
 *
 * init allocates its state and fini frees it, so a test also sees the
 * state travel from init to handle (and, under isolation = process, into
 * the forked child).  Each connection is also logged at LOG_INFO as
 * "ctxdump served <peer>".
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <porter/plugin.h>

static int
ctxdump_init(const pt_plugin_ctx *ctx, void **ret_state, pt_error *err)
{
	(void)ctx;
	if ((*ret_state = strdup("ctxdump-state")) == NULL)
		return pt_error_os(err, ENOMEM, "ctxdump");
	return 0;
}

static void
ctxdump_fini(void *state)
{
	free(state);
}

static const char *
ctxdump_addr(const pt_addr *addr, char *buf, size_t len)
{
	return addr != NULL ? pt_addr_format(addr, buf, len) : "none";
}

/* The dump as one text; returns a new buffer (free()) or NULL. */
static char *
ctxdump_text(const pt_plugin_ctx *ctx, const char *peer, size_t *ret_len)
{
	char local[PT_ADDRSTRLEN], *text = NULL;
	FILE *f;
	int i, failed;

	/* A memory stream, because the args have no length limit. */
	if ((f = open_memstream(&text, ret_len)) == NULL)
		return NULL;
	fprintf(f, "service=%s\nsocktype=%d\nwait=%d\nargc=%d\n",
	    ctx->service, ctx->socktype, ctx->wait, ctx->argc);
	for (i = 0; i < ctx->argc; i++)
		fprintf(f, "arg=%s\n", ctx->argv[i]);
	fprintf(f, "peer=%s\nlocal=%s\nstate=%s\n", peer,
	    ctxdump_addr(ctx->local, local, sizeof(local)),
	    ctx->state != NULL ? (const char *)ctx->state : "none");
	/* ABI 1.2: the edge facts (TLS, PROXY), when the host has them. */
	if (ctx->size >= offsetof(pt_plugin_ctx, vars) + sizeof(ctx->vars) &&
	    ctx->vars != NULL)
		for (i = 0; ctx->vars[i] != NULL; i++)
			fprintf(f, "var=%s\n", ctx->vars[i]);
	failed = ferror(f);
	/* fclose publishes text and *ret_len, so it runs in any case. */
	if (fclose(f) != 0 || failed) {
		free(text);
		return NULL;
	}
	return text;
}

static int
ctxdump_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	char peerbuf[PT_ADDRSTRLEN], *text;
	const char *peer;
	size_t len, sent = 0;
	pt_error err;
	pt_sock *s;
	int r = -1;

	peer = ctxdump_addr(ctx->peer, peerbuf, sizeof(peerbuf));
	if ((text = ctxdump_text(ctx, peer, &len)) == NULL)
		pt_error_os(&err, errno, "ctxdump: formatting the context");
	else if ((s = pt_fromfd(fd, 0, 0, 0, &err)) != NULL) {
		r = pt_sock_sendall(s, text, len, 0, &sent, &err);
		pt_sock_free(s);
	}
	stats->bytes_out = sent;
	if (r == -1)
		ctx->log(ctx, LOG_ERR, "ctxdump: %s", err.msg);
	else
		ctx->log(ctx, LOG_INFO, "ctxdump served %s", peer);
	free(text);
	return r;
}

PT_PLUGIN(.name = "ctxdump",
    .description = "test plugin: writes its context as text",
    .init = ctxdump_init, .handle = ctxdump_handle, .fini = ctxdump_fini);
