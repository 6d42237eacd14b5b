/*
 * daytime.c -- the Daytime Protocol (RFC 867).
 *
 * The server sends the current date and time as one human-readable line
 * in the form RFC 867 suggests, "Weekday, Month Day, Year Time-Zone",
 * always in UTC and ended with CRLF:
 *
 *     Monday, November 23, 2026 22:30:00-UTC
 *
 * Stream: sends the line without reading anything and returns; porterd
 * closes the connection.  Datagram: takes one datagram off the socket
 * (its content is ignored) and answers its sender with the line.
 * Arguments: none; any are refused at load time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <porter/plugin.h>

/* Large enough for any UDP payload; the request's bytes are ignored. */
#define DAYTIME_DGRAM_MAX	65535
/* Never truncates: the longest line, with an 11-character year, is 51 B. */
#define DAYTIME_LINE_MAX	64

/*
 * strftime's %A and %B follow LC_TIME, which the host process may have
 * set to anything; the protocol's line is English whatever the locale.
 */
static const char *const daytime_days[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday"
};
static const char *const daytime_months[12] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"
};

static int
daytime_init(const pt_plugin_ctx *ctx, void **ret_state, pt_error *err)
{
	(void)ret_state;
	if (ctx->argc > 0)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "daytime takes no arguments");
	/* With wait, a stream handler would get the listening socket. */
	if (ctx->socktype != SOCK_DGRAM && ctx->wait)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "daytime needs wait = false on stream sockets");
	return 0;
}

/* Formats now into buf; returns the length, or -1 with *err filled. */
static int
daytime_format(char buf[DAYTIME_LINE_MAX], pt_error *err)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL)
		return pt_error_os(err, errno, "gmtime");
	return snprintf(buf, DAYTIME_LINE_MAX,
	    "%s, %s %d, %d %02d:%02d:%02d-UTC\r\n",
	    daytime_days[tm.tm_wday], daytime_months[tm.tm_mon], tm.tm_mday,
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int
daytime_dgram(pt_sock *s, const pt_plugin_ctx *ctx, pt_plugin_stats *stats,
    pt_error *err)
{
	char *req, line[DAYTIME_LINE_MAX];
	pt_addr from;
	ssize_t n;
	int len;

	/* MSG_DONTWAIT: a spurious wakeup must not hold the service. */
	if ((n = pt_sock_recvfrom(s, DAYTIME_DGRAM_MAX, MSG_DONTWAIT, &req,
	    &from, err)) == -1)
		return err->kind == PT_ERR_OS && err->code == EAGAIN ? 0 : -1;
	stats->bytes_in = (uint64_t)n;
	free(req);
	/* A forged source starts reply loops (CERT CA-1996-01): ask. */
	if (!ctx->may_reply(ctx, &from))
		return 0;
	if ((len = daytime_format(line, err)) == -1 ||
	    (n = pt_sock_sendto_addr(s, line, (size_t)len, 0, &from,
	    err)) == -1)
		return -1;
	stats->bytes_out = (uint64_t)n;
	return 0;
}

static int
daytime_stream(pt_sock *s, pt_plugin_stats *stats, pt_error *err)
{
	char line[DAYTIME_LINE_MAX];
	size_t sent;
	int len, r;

	if ((len = daytime_format(line, err)) == -1)
		return -1;
	r = pt_sock_sendall(s, line, (size_t)len, 0, &sent, err);
	stats->bytes_out = sent;
	return r;
}

static int
daytime_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	pt_error err;
	pt_sock *s;
	int r;

	if ((s = pt_fromfd(fd, 0, 0, 0, &err)) == NULL) {
		ctx->log(ctx, LOG_ERR, "daytime: %s", err.msg);
		return -1;
	}
	if (pt_sock_type(s) == SOCK_DGRAM)
		r = daytime_dgram(s, ctx, stats, &err);
	else
		r = daytime_stream(s, stats, &err);
	if (r == -1)
		ctx->log(ctx, LOG_ERR, "daytime: %s", err.msg);
	pt_sock_free(s);
	return r;
}

PT_PLUGIN(.name = "daytime",
    .description = "RFC 867 daytime: the date and time as text",
    .init = daytime_init, .handle = daytime_handle,
    .flags = PT_PLUGIN_COOPERATIVE);
