/*
 * time.c -- the Time Protocol (RFC 868).
 *
 * The server sends the time as a 32-bit unsigned integer in network byte
 * order: the seconds since 1900-01-01 00:00 UTC.  The value wraps in
 * February 2036; like every RFC 868 server we send it modulo 2^32, and
 * clients resolve the era.
 *
 * Stream: sends the 4 bytes without reading anything and returns; porterd
 * closes the connection.  Datagram: takes one datagram off the socket (its
 * content is ignored; RFC 868 clients send an empty one) and answers its
 * sender with the 4 bytes.  Arguments: none; any are refused at load time.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <porter/plugin.h>

/* Large enough for any UDP payload; the request's bytes are ignored. */
#define TIME_DGRAM_MAX	65535
/* Seconds from 1900-01-01 to the Unix epoch, 1970-01-01 (RFC 868). */
#define TIME_EPOCH_1900	2208988800ULL

static int
time_init(const pt_plugin_ctx *ctx, void **ret_state, pt_error *err)
{
	(void)ret_state;
	if (ctx->argc > 0)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "time takes no arguments");
	/* With wait, a stream handler would get the listening socket. */
	if (ctx->socktype != SOCK_DGRAM && ctx->wait)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "time needs wait = false on stream sockets");
	return 0;
}

/* Now, as RFC 868 puts it on the wire. */
static uint32_t
time_now_be(void)
{
	return pt_htonl((uint32_t)((uint64_t)time(NULL) + TIME_EPOCH_1900));
}

static int
time_dgram(pt_sock *s, const pt_plugin_ctx *ctx, pt_plugin_stats *stats,
    pt_error *err)
{
	char *req;
	uint32_t now;
	pt_addr from;
	ssize_t n;

	/* MSG_DONTWAIT: a spurious wakeup must not hold the service. */
	if ((n = pt_sock_recvfrom(s, TIME_DGRAM_MAX, MSG_DONTWAIT, &req,
	    &from, err)) == -1)
		return err->kind == PT_ERR_OS && err->code == EAGAIN ? 0 : -1;
	stats->bytes_in = (uint64_t)n;
	free(req);
	/* A forged source starts reply loops (CERT CA-1996-01): ask. */
	if (!ctx->may_reply(ctx, &from))
		return 0;
	now = time_now_be();
	if ((n = pt_sock_sendto_addr(s, &now, sizeof(now), 0, &from,
	    err)) == -1)
		return -1;
	stats->bytes_out = (uint64_t)n;
	return 0;
}

static int
time_stream(pt_sock *s, pt_plugin_stats *stats, pt_error *err)
{
	uint32_t now = time_now_be();
	size_t sent;
	int r;

	r = pt_sock_sendall(s, &now, sizeof(now), 0, &sent, err);
	stats->bytes_out = sent;
	return r;
}

static int
time_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	pt_error err;
	pt_sock *s;
	int r;

	if ((s = pt_fromfd(fd, 0, 0, 0, &err)) == NULL) {
		ctx->log(ctx, LOG_ERR, "time: %s", err.msg);
		return -1;
	}
	if (pt_sock_type(s) == SOCK_DGRAM)
		r = time_dgram(s, ctx, stats, &err);
	else
		r = time_stream(s, stats, &err);
	if (r == -1)
		ctx->log(ctx, LOG_ERR, "time: %s", err.msg);
	pt_sock_free(s);
	return r;
}

PT_PLUGIN(.name = "time",
    .description = "RFC 868 time: seconds since 1900 as 32 bits",
    .init = time_init, .handle = time_handle,
    .flags = PT_PLUGIN_COOPERATIVE);
