/*
 * metrics.c -- porterd's counters for Prometheus: GET /metrics over HTTP.
 *
 *   service metrics {
 *       listen = { "127.0.0.1:9465" }
 *       plugin = "metrics"
 *       args = { "/run/porter/control" }    # porterd's control-socket
 *   }
 *
 * Each request asks porterd for `status` and `services` over its control
 * socket (the protocol porterctl(8) documents) and answers in the
 * OpenMetrics text format when the client's Accept header asks for it
 * (Prometheus does), else in the Prometheus text format 0.0.4.  Going
 * through the socket keeps the plugin ABI unchanged and works the same
 * under isolation = process: the plugin needs no host symbol, only the
 * right to connect (run it as porterd's user or a member of
 * control-group; it uses read-only commands).
 *
 * All its I/O, the client's and the control socket's, goes through
 * libporter (PT_PLUGIN_COOPERATIVE): a scrape runs as a fiber of the event
 * loop that accepted it, and while porterd's control thread answers, the
 * loop serves other connections.
 *
 * Arguments: the control socket's path [/run/porter/control].
 * One request per connection (Connection: close); GET and HEAD of
 * /metrics only (404 elsewhere, 405 for other methods); a request must
 * arrive within 5 s and fit in 8 KiB.  When porterd does not answer, the
 * scrape gets 503 and the reason, so the scrape failure is visible.
 */
#define _GNU_SOURCE	/* strcasestr */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <porter/plugin.h>

#define METRICS_SOCKET_DEFAULT	"/run/porter/control"
#define METRICS_REQUEST_MAX	8192
#define METRICS_TIMEOUT_MS	5000
#define METRICS_ANSWER_MAX	(16u << 20)

struct metrics_state {
	char path[108];			/* sizeof(sun_path) */
};

/* A growing text buffer; `failed` sticks after the first ENOMEM. */
struct mbuf {
	char *p;
	size_t len, cap;
	int failed;
};

static void mbuf_printf(struct mbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t need;
	char *p;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	need = b->len + (size_t)n + 1;
	if (need > b->cap) {
		size_t cap = b->cap == 0 ? 16384 : b->cap;

		while (cap < need)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static int
metrics_init(const pt_plugin_ctx *ctx, void **ret_state, pt_error *err)
{
	const char *path = ctx->argc > 0 ? ctx->argv[0] :
	    METRICS_SOCKET_DEFAULT;
	struct metrics_state *st;

	if (ctx->argc > 1)
		return pt_error_set(err, PT_ERR_ARG, EINVAL, "metrics takes "
		    "one argument, the control socket's path");
	if (path[0] != '/' || strlen(path) >= sizeof(st->path))
		return pt_error_set(err, PT_ERR_ARG, EINVAL, "metrics: '%s' "
		    "is not an absolute path of at most %zu bytes", path,
		    sizeof(st->path) - 1);
	if (ctx->socktype != SOCK_STREAM || ctx->wait)
		return pt_error_set(err, PT_ERR_ARG, EINVAL, "metrics serves "
		    "HTTP: type = stream, wait = false");
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return pt_error_os(err, ENOMEM, "metrics");
	snprintf(st->path, sizeof(st->path), "%s", path);
	*ret_state = st;
	return 0;
}

static void
metrics_fini(void *state)
{
	free(state);
}

/*
 * Gives s what is left of the time until *deadline as its timeout, so a
 * whole exchange, not each call, is bounded.  Returns 0, or -1 with a
 * PT_ERR_TIMEOUT in err when the time is up.
 */
static int
metrics_timeout(pt_sock *s, const struct timespec *deadline, pt_error *err)
{
	struct timespec now;
	double left;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left = (double)(deadline->tv_sec - now.tv_sec) +
	    (double)(deadline->tv_nsec - now.tv_nsec) / 1e9;
	if (left <= 0)
		return pt_error_set(err, PT_ERR_TIMEOUT, ETIMEDOUT,
		    "timed out");
	return pt_sock_settimeout(s, left, err);
}

static int
metrics_send_all(pt_sock *s, const char *p, size_t len,
    const struct timespec *deadline, pt_error *err)
{
	if (metrics_timeout(s, deadline, err) == -1)
		return -1;
	return pt_sock_sendall(s, p, len, 0, NULL, err);
}

/*
 * Asks porterd for status and services on one connection.  Returns 0
 * with both answers, or -1 with the reason in why.
 */
static int
metrics_ask(const char *path, json_t **ret_status, json_t **ret_services,
    char *why, size_t whylen)
{
	static const char req[] = "{\"command\":\"status\"}\n"
	    "{\"command\":\"services\"}\n";
	struct timespec deadline;
	struct mbuf in = { NULL, 0, 0, 0 };
	json_t *ans[2] = { NULL, NULL };
	pt_sock *s = NULL;
	pt_addr addr;
	pt_error err;
	char *line, *nl;
	int i, r = -1;
	ssize_t n;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += METRICS_TIMEOUT_MS / 1000;
	if (pt_addr_unix(&addr, path, &err) == -1 ||
	    (s = pt_socket(AF_UNIX, SOCK_STREAM, 0, &err)) == NULL ||
	    metrics_timeout(s, &deadline, &err) == -1 ||
	    pt_sock_connect_addr(s, &addr, &err) == -1) {
		snprintf(why, whylen, "control socket %s: %s", path, err.msg);
		goto out;
	}
	if (metrics_send_all(s, req, sizeof(req) - 1, &deadline, &err) == -1) {
		snprintf(why, whylen, "control socket %s: send: %s", path,
		    err.msg);
		goto out;
	}
	pt_sock_shutdown(s, SHUT_WR, NULL);
	for (;;) {
		char chunk[16384];

		if (metrics_timeout(s, &deadline, &err) == 0)
			n = pt_sock_recv_into(s, chunk, sizeof(chunk), 0, &err);
		else
			n = -1;
		if (n == -1 && err.kind == PT_ERR_TIMEOUT) {
			snprintf(why, whylen, "control socket %s: no answer "
			    "within %d s", path, METRICS_TIMEOUT_MS / 1000);
			goto out;
		}
		if (n == -1) {
			snprintf(why, whylen, "control socket %s: %s", path,
			    err.msg);
			goto out;
		}
		if (n == 0)
			break;
		if (in.len + (size_t)n > METRICS_ANSWER_MAX) {
			snprintf(why, whylen, "control socket %s: answer too "
			    "large", path);
			goto out;
		}
		mbuf_printf(&in, "%.*s", (int)n, chunk);
	}
	if (in.failed) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	line = in.p;
	for (i = 0; i < 2; i++) {
		if (line == NULL || (nl = strchr(line, '\n')) == NULL) {
			snprintf(why, whylen, "control socket %s: porterd "
			    "closed the connection early", path);
			goto out;
		}
		*nl = '\0';
		ans[i] = json_loads(line, 0, NULL);
		if (!json_is_true(json_object_get(ans[i], "ok"))) {
			snprintf(why, whylen, "control socket %s: %s", path,
			    ans[i] != NULL && json_is_string(json_object_get(
			    ans[i], "error")) ? json_string_value(
			    json_object_get(ans[i], "error")) :
			    "not porterd's protocol");
			goto out;
		}
		line = nl + 1;
	}
	*ret_status = ans[0];
	*ret_services = ans[1];
	ans[0] = ans[1] = NULL;
	r = 0;
out:
	json_decref(ans[0]);
	json_decref(ans[1]);
	free(in.p);
	pt_sock_free(s);
	return r;
}

/* ------------------------------------------------------------ exposition */

/* A label value with \, " and newline escaped, as both formats want. */
static const char *
metrics_label(const char *v, char *buf, size_t len)
{
	size_t o = 0;

	for (; v != NULL && *v != '\0' && o + 3 < len; v++) {
		if (*v == '\\' || *v == '"') {
			buf[o++] = '\\';
			buf[o++] = *v;
		} else if (*v == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *v;
		}
	}
	buf[o] = '\0';
	return buf;
}

/*
 * "# HELP" and "# TYPE" of a family.  OpenMetrics names a counter family
 * without "_total" (its samples have it); the 0.0.4 format names it with.
 */
static void
metrics_family(struct mbuf *b, int om, const char *name, const char *type,
    const char *help)
{
	const char *suffix = !om && strcmp(type, "counter") == 0 ? "_total" : "";

	mbuf_printf(b, "# HELP %s%s %s\n", name, suffix, help);
	mbuf_printf(b, "# TYPE %s%s %s\n", name, suffix, type);
}

static json_int_t
jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* One sample per service: name{service="s"} value. */
static void
metrics_per_service(struct mbuf *b, json_t *svcs, const char *sample,
    const char *key)
{
	char lbl[512];
	json_t *s;
	size_t i;

	json_array_foreach(svcs, i, s)
		mbuf_printf(b, "%s{service=\"%s\"} %" JSON_INTEGER_FORMAT "\n",
		    sample, metrics_label(json_string_value(json_object_get(s,
		    "name")), lbl, sizeof(lbl)), jint(s, key));
}

/* One sample per service and key of an object: exits, refusals. */
static void
metrics_per_key(struct mbuf *b, json_t *svcs, const char *sample,
    const char *field, const char *label)
{
	char lbl[512], kl[128];
	const char *key;
	json_t *s, *v;
	size_t i;

	json_array_foreach(svcs, i, s) {
		metrics_label(json_string_value(json_object_get(s, "name")),
		    lbl, sizeof(lbl));
		json_object_foreach(json_object_get(s, field), key, v)
			mbuf_printf(b, "%s{service=\"%s\",%s=\"%s\"} %"
			    JSON_INTEGER_FORMAT "\n", sample, lbl, label,
			    metrics_label(key, kl, sizeof(kl)),
			    json_integer_value(v));
	}
}

/*
 * 1 when svc (an object of porterd's `services` answer) accepts on none
 * of its addresses: any state but serving, except a bind being retried
 * while other listeners are bound and serve.
 */
static int
metrics_paused(json_t *svc)
{
	const char *state = json_string_value(json_object_get(svc, "state"));

	if (state == NULL || strcmp(state, "serving") == 0)
		return 0;
	if (strcmp(state, "bind failing: retrying") == 0)
		return json_array_size(json_object_get(svc, "listeners")) == 0;
	return 1;
}

static void
metrics_render(struct mbuf *b, int om, json_t *st, json_t *svcs)
{
	json_t *s, *last = json_object_get(st, "last_reload"), *bk;
	char lbl[512];
	size_t i, j;

	metrics_family(b, om, "porter_connections_accepted", "counter",
	    "Connections accepted and handed to a handler.");
	metrics_per_service(b, svcs, "porter_connections_accepted_total",
	    "accepted");
	metrics_family(b, om, "porter_connections_refused", "counter",
	    "Clients turned away, by reason.");
	metrics_per_key(b, svcs, "porter_connections_refused_total",
	    "refused", "reason");
	metrics_family(b, om, "porter_connections_active", "gauge",
	    "Handlers running now.");
	metrics_per_service(b, svcs, "porter_connections_active", "live");
	metrics_family(b, om, "porter_handler_failures", "counter",
	    "Handler runs that failed: non-zero exit, signal, error, or not "
	    "started.");
	metrics_per_service(b, svcs, "porter_handler_failures_total",
	    "failures");
	metrics_family(b, om, "porter_handler_exits", "counter",
	    "Handler runs that ended with an exit code (plugins: 0 or 1).");
	metrics_per_key(b, svcs, "porter_handler_exits_total", "exits",
	    "code");
	metrics_family(b, om, "porter_handler_signals", "counter",
	    "Handler processes killed by a signal.");
	metrics_per_key(b, svcs, "porter_handler_signals_total", "signals",
	    "signal");
	metrics_family(b, om, "porter_received_bytes", "counter",
	    "Bytes received, as handlers report them.");
	metrics_per_service(b, svcs, "porter_received_bytes_total",
	    "bytes_in");
	metrics_family(b, om, "porter_sent_bytes", "counter",
	    "Bytes sent, as handlers report them.");
	metrics_per_service(b, svcs, "porter_sent_bytes_total", "bytes_out");
	metrics_family(b, om, "porter_service_paused", "gauge",
	    "1 when the service is not accepting (operator, limit, rate, "
	    "EMFILE, draining, no listener bound).");
	json_array_foreach(svcs, i, s)
		mbuf_printf(b, "porter_service_paused{service=\"%s\"} %d\n",
		    metrics_label(json_string_value(json_object_get(s,
		    "name")), lbl, sizeof(lbl)), metrics_paused(s));
	metrics_family(b, om, "porter_service_listeners_unbound", "gauge",
	    "Listening addresses that could not be bound, being retried.");
	json_array_foreach(svcs, i, s)
		mbuf_printf(b, "porter_service_listeners_unbound"
		    "{service=\"%s\"} %zu\n", metrics_label(
		    json_string_value(json_object_get(s, "name")), lbl,
		    sizeof(lbl)), json_array_size(json_object_get(s,
		    "unbound")));
	metrics_family(b, om, "porter_connection_duration_seconds",
	    "histogram", "How long handler runs took.");
	json_array_foreach(svcs, i, s) {
		json_t *d = json_object_get(s, "duration");

		metrics_label(json_string_value(json_object_get(s, "name")),
		    lbl, sizeof(lbl));
		json_array_foreach(json_object_get(d, "buckets"), j, bk)
			mbuf_printf(b, "porter_connection_duration_seconds_bucket"
			    "{service=\"%s\",le=\"%s\"} %" JSON_INTEGER_FORMAT
			    "\n", lbl, json_string_value(json_array_get(bk, 0)),
			    json_integer_value(json_array_get(bk, 1)));
		mbuf_printf(b, "porter_connection_duration_seconds_count"
		    "{service=\"%s\"} %" JSON_INTEGER_FORMAT "\n", lbl,
		    jint(d, "count"));
		mbuf_printf(b, "porter_connection_duration_seconds_sum"
		    "{service=\"%s\"} %.6f\n", lbl,
		    json_number_value(json_object_get(d, "sum")));
	}

	metrics_family(b, om, "porter_services", "gauge",
	    "Services in the running config.");
	mbuf_printf(b, "porter_services %" JSON_INTEGER_FORMAT "\n",
	    jint(st, "services"));
	metrics_family(b, om, "porter_threads", "gauge",
	    "Threads of the porterd process.");
	mbuf_printf(b, "porter_threads %" JSON_INTEGER_FORMAT "\n",
	    jint(st, "threads"));
	metrics_family(b, om, "process_open_fds", "gauge",
	    "Open file descriptors of porterd.");
	mbuf_printf(b, "process_open_fds %" JSON_INTEGER_FORMAT "\n",
	    jint(st, "fds"));
	metrics_family(b, om, "process_resident_memory_bytes", "gauge",
	    "Resident memory of porterd in bytes.");
	mbuf_printf(b, "process_resident_memory_bytes %" JSON_INTEGER_FORMAT
	    "\n", jint(st, "rss_bytes"));
	metrics_family(b, om, "process_start_time_seconds", "gauge",
	    "When porterd started, in seconds since the epoch.");
	mbuf_printf(b, "process_start_time_seconds %" JSON_INTEGER_FORMAT "\n",
	    jint(st, "started"));
	metrics_family(b, om, "porter_reloads", "counter",
	    "Config reloads, by result.");
	mbuf_printf(b, "porter_reloads_total{result=\"ok\"} %"
	    JSON_INTEGER_FORMAT "\n", jint(json_object_get(st, "reloads"),
	    "ok"));
	mbuf_printf(b, "porter_reloads_total{result=\"failed\"} %"
	    JSON_INTEGER_FORMAT "\n", jint(json_object_get(st, "reloads"),
	    "failed"));
	metrics_family(b, om, "porter_last_reload_timestamp_seconds", "gauge",
	    "When the last reload was tried (0: none yet).");
	mbuf_printf(b, "porter_last_reload_timestamp_seconds %"
	    JSON_INTEGER_FORMAT "\n", json_is_object(last) ?
	    jint(last, "time") : 0);
	metrics_family(b, om, "porter_last_reload_success", "gauge",
	    "1 if the last reload succeeded (or none was tried), else 0.");
	mbuf_printf(b, "porter_last_reload_success %d\n",
	    !json_is_object(last) || json_is_true(json_object_get(last, "ok")));
	metrics_family(b, om, "porter_config_loaded_timestamp_seconds", "gauge",
	    "When the running config was loaded.");
	mbuf_printf(b, "porter_config_loaded_timestamp_seconds %"
	    JSON_INTEGER_FORMAT "\n", jint(st, "config_loaded"));
	if (om)
		mbuf_printf(b, "# EOF\n");
}

/* ------------------------------------------------------------ HTTP */

static int
metrics_reply(pt_sock *s, int code, const char *reason, const char *type,
    const char *body, size_t len, int head, pt_plugin_stats *stats)
{
	struct timespec deadline;
	char hdr[512];
	pt_error err;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += METRICS_TIMEOUT_MS / 1000;
	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", code, reason,
	    type, len);
	if (metrics_send_all(s, hdr, (size_t)n, &deadline, &err) == -1 ||
	    (!head && metrics_send_all(s, body, len, &deadline, &err) == -1))
		return -1;
	stats->bytes_out += (uint64_t)n + (head ? 0 : len);
	return 0;
}

/* Serves one request on s. */
static int
metrics_serve(pt_sock *s, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	const struct metrics_state *mst = ctx->state;
	char req[METRICS_REQUEST_MAX + 1], why[512], *sp, *path, *end;
	struct timespec deadline;
	struct mbuf body = { NULL, 0, 0, 0 };
	json_t *st = NULL, *svcs = NULL;
	size_t len = 0;
	int head, om, r = 0;
	pt_error err;
	ssize_t n;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += METRICS_TIMEOUT_MS / 1000;
	req[0] = '\0';
	/* The request head; its body (there should be none) is ignored. */
	while ((end = len >= 4 ? strstr(req, "\r\n\r\n") : NULL) == NULL) {
		if (len == METRICS_REQUEST_MAX) {
			static const char msg[] = "request head too large\n";

			return metrics_reply(s, 431, "Request Header Fields "
			    "Too Large", "text/plain", msg, sizeof(msg) - 1,
			    0, stats);
		}
		if (metrics_timeout(s, &deadline, &err) == -1)
			return 0;	/* a client that never asked */
		n = pt_sock_recv_into(s, req + len, METRICS_REQUEST_MAX - len,
		    0, &err);
		if (n <= 0)
			return 0;	/* gone, or too slow to ask */
		len += (size_t)n;
		stats->bytes_in += (uint64_t)n;
		req[len] = '\0';
		if (memchr(req, '\0', len) != NULL)
			return metrics_reply(s, 400, "Bad Request",
			    "text/plain", "bad request\n", 12, 0, stats);
	}
	*end = '\0';
	head = strncmp(req, "HEAD ", 5) == 0;
	if (strncmp(req, "GET ", 4) != 0 && !head)
		return metrics_reply(s, 405, "Method Not Allowed",
		    "text/plain", "GET /metrics\n", 13, 0, stats);
	path = strchr(req, ' ') + 1;
	if ((sp = strpbrk(path, " ?\r")) == NULL)
		sp = path + strlen(path);
	if ((size_t)(sp - path) != 8 || strncmp(path, "/metrics", 8) != 0)
		return metrics_reply(s, 404, "Not Found", "text/plain",
		    "try /metrics\n", 13, head, stats);
	/* Accept: what Prometheus sends when it can read OpenMetrics. */
	om = strcasestr(req, "application/openmetrics-text") != NULL;
	if (metrics_ask(mst->path, &st, &svcs, why, sizeof(why)) == -1) {
		ctx->log(ctx, LOG_WARNING, "scrape failed: %s", why);
		mbuf_printf(&body, "porterd did not answer: %s\n", why);
		r = metrics_reply(s, 503, "Service Unavailable", "text/plain",
		    body.p != NULL ? body.p : "", body.len, head, stats);
		free(body.p);
		return r == 0 ? 1 : -1;
	}
	metrics_render(&body, om, json_object_get(st, "status"),
	    json_object_get(svcs, "services"));
	json_decref(st);
	json_decref(svcs);
	if (body.failed) {
		free(body.p);
		return metrics_reply(s, 500, "Internal Server Error",
		    "text/plain", "out of memory\n", 14, head, stats);
	}
	r = metrics_reply(s, 200, "OK", om ? "application/openmetrics-text; "
	    "version=1.0.0; charset=utf-8" : "text/plain; version=0.0.4; "
	    "charset=utf-8", body.p, body.len, head, stats);
	free(body.p);
	return r;
}

static int
metrics_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	pt_error err;
	pt_sock *s;
	int r;

	if ((s = pt_fromfd(fd, 0, 0, 0, &err)) == NULL) {
		ctx->log(ctx, LOG_WARNING, "%s", err.msg);
		return -1;
	}
	r = metrics_serve(s, ctx, stats);
	pt_sock_free(s);
	return r;
}

PT_PLUGIN(.name = "metrics",
    .description = "porterd's counters over HTTP for Prometheus (OpenMetrics)",
    .init = metrics_init, .handle = metrics_handle, .fini = metrics_fini,
    .flags = PT_PLUGIN_COOPERATIVE);
