/*
 * greet.c -- an example Porter plugin built outside the Porter tree.
 *
 * A line-oriented greeter for stream services.  The client sends its name
 * on one line; the plugin answers with one line and closes:
 *
 *     -> Ada\r\n
 *     <- Hello, Ada! You are 127.0.0.1:50312 on service greet.\r\n
 *
 * It shows what echo.c (the smallest plugin) does not: arguments parsed
 * once in init() into per-service state that fini() frees, a bounded read
 * of one line with a timeout so a silent client cannot hold a worker, the
 * context's service name and peer address in the reply, a log line
 * through ctx->log() for every client served, and a close that does not
 * let unread input destroy the reply.  Service arguments:
 *
 *     greeting=TEXT   the word that opens the reply (default "Hello")
 *     timeout=SECS    how long to wait for the name line (default 10)
 *
 * Everything it needs comes from <porter/plugin.h> and libporter, found
 * with `pkg-config porter`; see README.md for building and loading it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <porter/plugin.h>

#define GREET_DEFAULT_GREETING	"Hello"
#define GREET_DEFAULT_TIMEOUT	10.0
/* A name line longer than this is refused, not truncated. */
#define GREET_LINE_MAX		128
/* Long enough for any greeting the config can sensibly hold. */
#define GREET_GREETING_MAX	64
/* Bounds on discarding what a client still sends after our reply. */
#define GREET_LINGER_SECS	1.0
#define GREET_LINGER_BYTES	65536
#define GREET_TOO_LONG		"Sorry, that name is too long.\r\n"

/* Per-service state: built by init() from the args, read-only afterwards. */
struct greet_state {
	char *greeting;
	double timeout;
};

static void
greet_fini(void *arg)
{
	struct greet_state *st = arg;

	if (st == NULL)
		return;
	free(st->greeting);
	free(st);
}

/* Parses "timeout=SECS": a positive number of seconds, at most an hour. */
static int
greet_parse_timeout(const char *text, double *ret, pt_error *err)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !(v > 0.0) ||
	    v > 3600.0)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "greet: timeout '%s' is not a number of seconds in "
		    "(0, 3600]", text);
	*ret = v;
	return 0;
}

static int
greet_parse_greeting(const char *text, char **ret, pt_error *err)
{
	const char *p;

	if (*text == '\0' || strlen(text) > GREET_GREETING_MAX)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "greet: greeting must be 1 to %d characters",
		    GREET_GREETING_MAX);
	/* It goes verbatim into a protocol line: no control characters. */
	for (p = text; *p != '\0'; p++)
		if (iscntrl((unsigned char)*p))
			return pt_error_set(err, PT_ERR_ARG, EINVAL,
			    "greet: greeting contains a control character");
	free(*ret);
	if ((*ret = strdup(text)) == NULL)
		return pt_error_os(err, ENOMEM, "greet");
	return 0;
}

/*
 * Runs once per service when porterd loads the config (also for
 * `porterd --check`), so a bad argument stops the start or the reload with
 * a message instead of breaking the first client.
 */
static int
greet_init(const pt_plugin_ctx *ctx, void **ret_state, pt_error *err)
{
	struct greet_state *st;
	const char *arg;
	int i;

	if (ctx->socktype == SOCK_DGRAM || ctx->wait)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "greet needs a stream service with wait = false");
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return pt_error_os(err, ENOMEM, "greet");
	st->timeout = GREET_DEFAULT_TIMEOUT;
	if ((st->greeting = strdup(GREET_DEFAULT_GREETING)) == NULL) {
		pt_error_os(err, ENOMEM, "greet");
		goto fail;
	}
	for (i = 0; i < ctx->argc; i++) {
		arg = ctx->argv[i];
		if (strncmp(arg, "greeting=", 9) == 0) {
			if (greet_parse_greeting(arg + 9, &st->greeting,
			    err) == -1)
				goto fail;
		} else if (strncmp(arg, "timeout=", 8) == 0) {
			if (greet_parse_timeout(arg + 8, &st->timeout,
			    err) == -1)
				goto fail;
		} else {
			pt_error_set(err, PT_ERR_ARG, EINVAL,
			    "greet: unknown argument '%s' (want greeting=TEXT "
			    "or timeout=SECS)", arg);
			goto fail;
		}
	}
	*ret_state = st;
	return 0;
fail:
	greet_fini(st);
	return -1;
}

/*
 * Reads up to and including the first '\n' into buf (NUL-terminated, the
 * line ending removed).  Returns the name's length, or -1 with *err filled:
 * on a read error or timeout, on EOF before any newline (PT_ERR_ARG,
 * ENODATA), or on a line longer than len - 1 bytes (PT_ERR_ARG, EMSGSIZE).
 * The bytes read are added to *bytes_in either way.
 */
static ssize_t
greet_read_line(pt_sock *s, char *buf, size_t len, uint64_t *bytes_in,
    pt_error *err)
{
	size_t have = 0;
	char *nl;
	ssize_t n;

	for (;;) {
		if (have == len - 1)
			return pt_error_set(err, PT_ERR_ARG, EMSGSIZE,
			    "name longer than %zu bytes", len - 2);
		if ((n = pt_sock_recv_into(s, buf + have, len - 1 - have, 0,
		    err)) == -1)
			return -1;
		if (n == 0)
			return pt_error_set(err, PT_ERR_ARG, ENODATA,
			    "no name line before EOF");
		*bytes_in += (uint64_t)n;
		/* memchr: a NUL byte from the client must not hide the '\n'. */
		nl = memchr(buf + have, '\n', (size_t)n);
		have += (size_t)n;
		buf[have] = '\0';
		if (nl != NULL)
			break;
	}
	/*
	 * A client that pipelines more than one line gets one answer; what
	 * follows the first newline is ignored, as the protocol has one turn.
	 */
	*nl = '\0';
	if (nl > buf && nl[-1] == '\r')
		*--nl = '\0';
	return nl - buf;
}

/* Makes a client-supplied name safe to echo into a log and a reply. */
static const char *
greet_clean_name(char *name)
{
	char *p;

	while (*name == ' ' || *name == '\t')
		name++;
	for (p = name + strlen(name); p > name && (p[-1] == ' ' ||
	    p[-1] == '\t'); p--)
		p[-1] = '\0';
	for (p = name; *p != '\0'; p++)
		if (!isprint((unsigned char)*p))
			*p = '?';
	return *name != '\0' ? name : "stranger";
}

static int
greet_reply(pt_sock *s, const char *text, pt_plugin_stats *stats,
    pt_error *err)
{
	size_t sent = 0;
	int r;

	r = pt_sock_sendall(s, text, strlen(text), 0, &sent, err);
	stats->bytes_out += sent;
	return r;
}

/*
 * A silent client (timeout), one that left before sending a whole line,
 * or one that reset the connection: worth a notice, not an error.
 */
static int
greet_client_gone(const pt_error *err)
{
	return err->kind == PT_ERR_TIMEOUT ||
	    (err->kind == PT_ERR_ARG && err->code == ENODATA) ||
	    (err->kind == PT_ERR_OS &&
	    (err->code == ECONNRESET || err->code == EPIPE));
}

static double
greet_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Ends the conversation without losing the reply.  Closing a socket with
 * unread input makes the kernel send RST, which can destroy the reply
 * before the client reads it (a name longer than our buffer, or a client
 * that sent two lines).  So: half-close, which tells the client we are
 * done, then discard what it still sends until it closes too, within
 * bounds of time and bytes.  Errors here change nothing for the client.
 */
static void
greet_linger(pt_sock *s, uint64_t *bytes_in)
{
	double deadline = greet_now() + GREET_LINGER_SECS, left;
	size_t total = 0;
	char buf[4096];
	pt_error err;
	ssize_t n;

	if (pt_sock_shutdown(s, SHUT_WR, &err) == -1)
		return;
	while (total < GREET_LINGER_BYTES &&
	    (left = deadline - greet_now()) > 0.0) {
		if (pt_sock_settimeout(s, left, &err) == -1 ||
		    (n = pt_sock_recv_into(s, buf, sizeof(buf), 0, &err)) <= 0)
			return;
		total += (size_t)n;
		*bytes_in += (uint64_t)n;
	}
}

static int
greet_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	const struct greet_state *st = ctx->state;
	char line[GREET_LINE_MAX + 2], peer[PT_ADDRSTRLEN], reply[1024];
	const char *name;
	pt_error err;
	pt_sock *s;
	int n, r = -1;

	/* fd is borrowed: work on our own duplicate and free only that. */
	if ((s = pt_fromfd(fd, 0, 0, 0, &err)) == NULL) {
		ctx->log(ctx, LOG_ERR, "greet: %s", err.msg);
		return -1;
	}
	/* AF_UNIX peers without a bound name are formatted "unix:unnamed". */
	if (ctx->peer != NULL)
		pt_addr_format(ctx->peer, peer, sizeof(peer));
	else
		snprintf(peer, sizeof(peer), "unknown");

	if (pt_sock_settimeout(s, st->timeout, &err) == -1) {
		ctx->log(ctx, LOG_ERR, "greet: %s", err.msg);
		goto out;
	}
	if (greet_read_line(s, line, sizeof(line), &stats->bytes_in,
	    &err) == -1) {
		if (err.kind == PT_ERR_ARG && err.code == EMSGSIZE) {
			/* A name too long deserves an answer. */
			ctx->log(ctx, LOG_NOTICE, "greet: refused: %s",
			    err.msg);
			if ((r = greet_reply(s, GREET_TOO_LONG, stats,
			    &err)) == -1)
				ctx->log(ctx, LOG_ERR, "greet: %s", err.msg);
			else
				greet_linger(s, &stats->bytes_in);
		} else if (greet_client_gone(&err)) {
			/* The client's choice, not our failure. */
			ctx->log(ctx, LOG_NOTICE, "greet: %s", err.msg);
			r = 0;
		} else
			ctx->log(ctx, LOG_ERR, "greet: %s", err.msg);
		goto out;
	}
	name = greet_clean_name(line);
	n = snprintf(reply, sizeof(reply), "%s, %s! You are %s on service "
	    "%s.\r\n", st->greeting, name, peer, ctx->service);
	/* Only a very long service name can overflow; never send half. */
	if (n < 0 || (size_t)n >= sizeof(reply)) {
		ctx->log(ctx, LOG_ERR, "greet: reply longer than %zu bytes",
		    sizeof(reply) - 1);
		goto out;
	}
	if ((r = greet_reply(s, reply, stats, &err)) == -1) {
		ctx->log(ctx, LOG_ERR, "greet: %s", err.msg);
		goto out;
	}
	/* ctx->log() prefixes the service and the peer already. */
	ctx->log(ctx, LOG_INFO, "greet: greeted '%s'", name);
	greet_linger(s, &stats->bytes_in);
out:
	pt_sock_free(s);
	return r;
}

PT_PLUGIN(.name = "greet",
    .description = "example: greets a client by name with its address",
    .init = greet_init, .handle = greet_handle, .fini = greet_fini,
    .flags = PT_PLUGIN_COOPERATIVE);
