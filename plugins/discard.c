/*
 * discard.c -- the Discard Protocol (RFC 863).
 *
 * RFC 863: "simply throw away any data it receives".  Stream: reads and
 * drops everything until the peer closes its side, then returns, and
 * porterd closes the connection; it never writes.  Datagram: takes one
 * datagram off the socket and sends no answer.  bytes_in counts what was
 * thrown away.  Arguments: none; any are refused at load time.
 */
#include <errno.h>
#include <stdlib.h>

#include <porter/plugin.h>

/* Large enough for any UDP payload, so bytes_in is exact. */
#define DISCARD_DGRAM_MAX	65535

static int
discard_init(const pt_plugin_ctx *ctx, void **ret_state, pt_error *err)
{
	(void)ret_state;
	if (ctx->argc > 0)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "discard takes no arguments");
	/* With wait, a stream handler would get the listening socket. */
	if (ctx->socktype != SOCK_DGRAM && ctx->wait)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "discard needs wait = false on stream sockets");
	return 0;
}

static int
discard_stream(pt_sock *s, pt_plugin_stats *stats, pt_error *err)
{
	char buf[16384];
	ssize_t n;

	while ((n = pt_sock_recv_into(s, buf, sizeof(buf), 0, err)) > 0)
		stats->bytes_in += (uint64_t)n;
	/* A reset is the peer's way of leaving: it ends the stream too. */
	if (n == -1 && err->kind == PT_ERR_OS && err->code == ECONNRESET)
		return 0;
	return (int)n;
}

static int
discard_dgram(pt_sock *s, pt_plugin_stats *stats, pt_error *err)
{
	char *buf;
	ssize_t n;

	/* MSG_DONTWAIT: a spurious wakeup must not hold the service. */
	if ((n = pt_sock_recvfrom(s, DISCARD_DGRAM_MAX, MSG_DONTWAIT, &buf,
	    NULL, err)) == -1)
		return err->kind == PT_ERR_OS && err->code == EAGAIN ? 0 : -1;
	stats->bytes_in = (uint64_t)n;
	free(buf);
	return 0;
}

static int
discard_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	pt_error err;
	pt_sock *s;
	int r;

	if ((s = pt_fromfd(fd, 0, 0, 0, &err)) == NULL) {
		ctx->log(ctx, LOG_ERR, "discard: %s", err.msg);
		return -1;
	}
	if (pt_sock_type(s) == SOCK_DGRAM)
		r = discard_dgram(s, stats, &err);
	else
		r = discard_stream(s, stats, &err);
	if (r == -1)
		ctx->log(ctx, LOG_ERR, "discard: %s", err.msg);
	pt_sock_free(s);
	return r;
}

PT_PLUGIN(.name = "discard",
    .description = "RFC 863 discard: reads and drops everything",
    .init = discard_init, .handle = discard_handle,
    .flags = PT_PLUGIN_COOPERATIVE);
