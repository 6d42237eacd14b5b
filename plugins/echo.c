/*
 * echo.c -- the Echo Protocol (RFC 862), and the plugin to copy.
 *
 * RFC 862: "send back to the originating source any data it receives".
 * Stream: every byte read is written back until the peer closes its side;
 * then handle() returns and porterd closes the connection.  Datagram: each
 * datagram is answered with one datagram holding the same bytes, sent to
 * its sender, if porterd's ctx->may_reply() allows it (no reply loops).
 * Arguments: none; any are refused at load time.
 *
 * As the model plugin, this file shows the whole ABI in its smallest form:
 *  - one descriptor, PT_PLUGIN() at the bottom, is the only symbol the .so
 *    exports (the build uses -fvisibility=hidden); it names its fields and
 *    declares the plugin cooperative, as all its I/O goes through
 *    libporter;
 *  - init() checks the service's configuration once, when porterd loads
 *    it, so a mistake is refused with a message at start or reload instead
 *    of surfacing on the first connection;
 *  - handle() wraps the borrowed descriptor with pt_fromfd(), does its I/O
 *    with libporter, counts bytes in *stats, logs failures with ctx->log()
 *    and frees its wrapper.  No global state, so calls may run at once on
 *    several worker threads.
 */
#include <errno.h>
#include <stdlib.h>

#include <porter/plugin.h>

/* Large enough for any UDP payload. */
#define ECHO_DGRAM_MAX	65535

static int
echo_init(const pt_plugin_ctx *ctx, void **ret_state, pt_error *err)
{
	(void)ret_state;
	if (ctx->argc > 0)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "echo takes no arguments");
	/* With wait, a stream handler would get the listening socket. */
	if (ctx->socktype != SOCK_DGRAM && ctx->wait)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "echo needs wait = false on stream sockets");
	return 0;
}

/* The peer resetting or leaving mid-reply is its choice, not our failure. */
static int
echo_peer_gone(const pt_error *err)
{
	return err->kind == PT_ERR_OS &&
	    (err->code == EPIPE || err->code == ECONNRESET);
}

/*
 * A connection starts with a small buffer on the stack and moves to a
 * large one on the heap only once a read fills the small one: an idle
 * connection (a fiber waiting in its first recv) then costs about one
 * page of stack, and bulk transfers still move ECHO_BULK bytes a call.
 * A seqpacket socket starts with the large one: a read smaller than the
 * message would cut the message.
 */
#define ECHO_SMALL	512
#define ECHO_BULK	16384

static int
echo_stream(pt_sock *s, int socktype, pt_plugin_stats *stats, pt_error *err)
{
	char small[ECHO_SMALL], *buf = small, *big = NULL;
	size_t len = sizeof(small), sent;
	ssize_t n;
	int r;

	if (socktype == SOCK_SEQPACKET) {
		if ((big = malloc(ECHO_BULK)) == NULL)
			return pt_error_set(err, PT_ERR_OS, ENOMEM, "echo");
		buf = big;
		len = ECHO_BULK;
	}

	for (;;) {
		if ((n = pt_sock_recv_into(s, buf, len, 0, err)) <= 0) {
			r = (int)n;	/* 0 at EOF, -1 on error */
			break;
		}
		stats->bytes_in += (uint64_t)n;
		r = pt_sock_sendall(s, buf, (size_t)n, 0, &sent, err);
		stats->bytes_out += sent;	/* counts a partial send too */
		if (r == -1)
			break;
		if ((size_t)n == len && big == NULL &&
		    (big = malloc(ECHO_BULK)) != NULL) {
			buf = big;
			len = ECHO_BULK;
		}
	}
	free(big);
	return r;
}

static int
echo_dgram(pt_sock *s, const pt_plugin_ctx *ctx, pt_plugin_stats *stats,
    pt_error *err)
{
	char *buf;
	pt_addr from;
	ssize_t n;
	int r = 0;

	/*
	 * MSG_DONTWAIT: if the datagram that made the socket readable is
	 * already gone, return rather than hold the service until the next.
	 */
	if ((n = pt_sock_recvfrom(s, ECHO_DGRAM_MAX, MSG_DONTWAIT, &buf,
	    &from, err)) == -1)
		return err->kind == PT_ERR_OS && err->code == EAGAIN ? 0 : -1;
	stats->bytes_in = (uint64_t)n;
	/*
	 * The source may be forged, to make two servers' echo or chargen
	 * answer each other for ever (CERT CA-1996-01) or to aim the reply
	 * at a victim.  porterd knows its own ports and keeps the per-source
	 * rate, so it decides (and logs); a refused reply is not an error.
	 */
	if (ctx->may_reply(ctx, &from)) {
		if ((n = pt_sock_sendto_addr(s, buf, (size_t)n, 0, &from,
		    err)) == -1)
			r = -1;
		else
			stats->bytes_out = (uint64_t)n;
	}
	free(buf);
	return r;
}

static int
echo_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	pt_error err;
	pt_sock *s;
	int r;

	if ((s = pt_fromfd(fd, 0, 0, 0, &err)) == NULL) {
		ctx->log(ctx, LOG_ERR, "echo: %s", err.msg);
		return -1;
	}
	if (pt_sock_type(s) == SOCK_DGRAM)
		r = echo_dgram(s, ctx, stats, &err);
	else if ((r = echo_stream(s, ctx->socktype, stats, &err)) == -1 &&
	    echo_peer_gone(&err))
		r = 0;
	if (r == -1)
		ctx->log(ctx, LOG_ERR, "echo: %s", err.msg);
	pt_sock_free(s);
	return r;
}

PT_PLUGIN(.name = "echo",
    .description = "RFC 862 echo: sends back what it receives",
    .init = echo_init, .handle = echo_handle,
    .flags = PT_PLUGIN_COOPERATIVE);
