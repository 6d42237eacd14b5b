/*
 * chargen.c -- the Character Generator Protocol (RFC 864); also the example
 * of a plugin with arguments and per-service state (init, state, fini).
 *
 * The 95 printable ASCII characters, ' ' to '~', form a ring; line i is
 * `width` characters from ring position i mod 95 on, then CRLF (RFC 864's
 * pattern).  It repeats every 95 lines, so init() renders one period into
 * the service's state, handle() only reads it (no work per connection, no
 * locking) and fini() frees it.
 *
 * Stream: sends lines, reading nothing, until the peer goes away (EPIPE or
 * ECONNRESET: the protocol has no other end).  Datagram: takes one
 * datagram (content ignored) and answers its sender with 0 to 512 random
 * characters of the pattern (RFC 864).  Arguments: "width=N", the line
 * length without CRLF, 1 to 1024, default 72; the last one given counts.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <porter/plugin.h>

#define CHARGEN_RING		95	/* printable ASCII, ' ' to '~' */
#define CHARGEN_WIDTH		72
#define CHARGEN_WIDTH_MAX	1024
#define CHARGEN_REPLY_MAX	512	/* RFC 864's datagram bound */
#define CHARGEN_DGRAM_MAX	65535	/* any UDP request; ignored */

/* Per-service state: one period of the pattern, read-only once built. */
struct chargen {
	size_t len;
	char cycle[];	/* CHARGEN_RING lines of width + 2 bytes */
};

static int
chargen_width(const char *arg, size_t *ret_width, pt_error *err)
{
	const char *v;
	char *end;
	long w;

	if (strncmp(arg, "width=", strlen("width=")) != 0)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "chargen: unknown argument '%s' (expected width=N)", arg);
	v = arg + strlen("width=");
	errno = 0;
	w = strtol(v, &end, 10);
	/* strtol alone would also take leading blanks and a sign. */
	if (!isdigit((unsigned char)*v) || *end != '\0' || errno != 0 ||
	    w < 1 || w > CHARGEN_WIDTH_MAX)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "chargen: width must be 1 to %d, not '%s'",
		    CHARGEN_WIDTH_MAX, v);
	*ret_width = (size_t)w;
	return 0;
}

static int
chargen_init(const pt_plugin_ctx *ctx, void **ret_state, pt_error *err)
{
	size_t width = CHARGEN_WIDTH, i, j;
	struct chargen *st;
	char *p;
	int a;

	for (a = 0; a < ctx->argc; a++)
		if (chargen_width(ctx->argv[a], &width, err) == -1)
			return -1;
	/* With wait, a stream handler would get the listening socket. */
	if (ctx->socktype != SOCK_DGRAM && ctx->wait)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "chargen needs wait = false on stream sockets");
	if ((st = malloc(sizeof(*st) + CHARGEN_RING * (width + 2))) == NULL)
		return pt_error_os(err, ENOMEM, "chargen");
	st->len = CHARGEN_RING * (width + 2);
	p = st->cycle;
	for (i = 0; i < CHARGEN_RING; i++) {
		for (j = 0; j < width; j++)
			*p++ = (char)(' ' + (i + j) % CHARGEN_RING);
		*p++ = '\r';
		*p++ = '\n';
	}
	*ret_state = st;
	return 0;
}

static void
chargen_fini(void *state)
{
	free(state);
}

static int
chargen_stream(pt_sock *s, const struct chargen *st, pt_plugin_stats *stats,
    pt_error *err)
{
	size_t sent;
	int r;

	do {
		r = pt_sock_sendall(s, st->cycle, st->len, 0, &sent, err);
		stats->bytes_out += sent;
	} while (r == 0);
	return err->kind == PT_ERR_OS &&
	    (err->code == EPIPE || err->code == ECONNRESET) ? 0 : -1;
}

static int
chargen_dgram(pt_sock *s, const pt_plugin_ctx *ctx, const struct chargen *st,
    pt_plugin_stats *stats, pt_error *err)
{
	char *req;
	size_t max = st->len < CHARGEN_REPLY_MAX ? st->len : CHARGEN_REPLY_MAX;
	unsigned int rnd;
	pt_addr from;
	ssize_t n;

	/* MSG_DONTWAIT: a spurious wakeup must not hold the service. */
	if ((n = pt_sock_recvfrom(s, CHARGEN_DGRAM_MAX, MSG_DONTWAIT, &req,
	    &from, err)) == -1)
		return err->kind == PT_ERR_OS && err->code == EAGAIN ? 0 : -1;
	stats->bytes_in = (uint64_t)n;
	free(req);
	/* A forged source starts reply loops (CERT CA-1996-01): ask. */
	if (!ctx->may_reply(ctx, &from))
		return 0;
	/* The length only needs to vary; a full one beats failing. */
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = (unsigned int)max;
	if ((n = pt_sock_sendto_addr(s, st->cycle, rnd % (max + 1), 0, &from,
	    err)) == -1)
		return -1;
	stats->bytes_out = (uint64_t)n;
	return 0;
}

static int
chargen_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	const struct chargen *st = ctx->state;
	pt_error err;
	pt_sock *s;
	int r;

	if ((s = pt_fromfd(fd, 0, 0, 0, &err)) == NULL) {
		ctx->log(ctx, LOG_ERR, "chargen: %s", err.msg);
		return -1;
	}
	if (pt_sock_type(s) == SOCK_DGRAM)
		r = chargen_dgram(s, ctx, st, stats, &err);
	else
		r = chargen_stream(s, st, stats, &err);
	if (r == -1)
		ctx->log(ctx, LOG_ERR, "chargen: %s", err.msg);
	pt_sock_free(s);
	return r;
}

PT_PLUGIN(.name = "chargen",
    .description = "RFC 864 chargen: an endless character pattern",
    .init = chargen_init, .handle = chargen_handle, .fini = chargen_fini,
    .flags = PT_PLUGIN_COOPERATIVE);
