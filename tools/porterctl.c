/*
 * porterctl -- asks a running porterd over its control socket.
 *
 * One request per connection: porterctl sends one JSON line, reads one
 * JSON line back and prints it as a table (or as it came, with --json).
 * `drain` then polls `services` until the service has no live
 * connections.  Exit codes (porterctl(8), EXIT STATUS):
 *
 *   0  done
 *   1  porterd refused the command (reload refused, no such service,
 *      permission denied); its reason is on stderr
 *   2  usage error
 *   3  porterd could not be reached or answered nonsense
 *   4  drain: connections were still live when --timeout ran out
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define EXIT_REFUSED	1
#define EXIT_USAGE	2
#define EXIT_UNREACHABLE 3
#define EXIT_TIMEOUT	4

#define ANSWER_MAX	(16u << 20)

#ifndef CONTROL_SOCKET_DEFAULT
#define CONTROL_SOCKET_DEFAULT	"/run/porter/control"
#endif

static const char *opt_socket = CONTROL_SOCKET_DEFAULT;
static int opt_json;
static double opt_timeout = 30;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: porterctl [-s SOCKET] [--json] [-t SECS] COMMAND [ARG]\n"
	    "commands:\n"
	    "  status                 porterd's version, uptime, config, "
	    "counters\n"
	    "  services               one row per service\n"
	    "  connections [SERVICE]  live connections\n"
	    "  reload                 reload the config; exit 1 if refused\n"
	    "  pause SERVICE          stop accepting (clients wait in the "
	    "backlog)\n"
	    "  resume SERVICE         accept again\n"
	    "  drain SERVICE          stop accepting, wait until live ones "
	    "finish\n"
	    "  kill-connection ID     cut one live connection\n"
	    "options:\n"
	    "  -s, --socket PATH      control socket [%s]\n"
	    "  -j, --json             print porterd's JSON answer as it is\n"
	    "  -t, --timeout SECS     wait this long for porterd, and for a "
	    "drain [30]\n"
	    "  -h, --help             this text\n"
	    "  -V, --version          porterctl's version\n",
	    CONTROL_SOCKET_DEFAULT);
}

static void
warnx_(const char *fmt, ...)
{
	va_list ap;

	fputs("porterctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double
now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for events on fd until deadline; 0 when ready, -1 on timeout. */
static int
wait_fd(int fd, short events, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	double left;
	int r;

	for (;;) {
		left = deadline - now_secs();
		if (left <= 0)
			return -1;
		r = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (r > 0)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

/*
 * Sends req (consumed) and returns porterd's answer, or NULL after saying
 * why on stderr.  *ret_text gets the answer line as it came (caller frees).
 */
static json_t *
ask(json_t *req, char **ret_text)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	double deadline = now_secs() + opt_timeout;
	char *line = json_dumps(req, JSON_COMPACT), *buf = NULL, *p;
	size_t len = 0, cap = 0, off = 0, llen;
	json_error_t jerr;
	json_t *ans = NULL;
	ssize_t n;
	int fd = -1;

	json_decref(req);
	*ret_text = NULL;
	if (line == NULL) {
		warnx_("out of memory");
		return NULL;
	}
	if (strlen(opt_socket) >= sizeof(sun.sun_path)) {
		warnx_("%s: path too long", opt_socket);
		goto out;
	}
	memcpy(sun.sun_path, opt_socket, strlen(opt_socket));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1 || connect(fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1) {
		warnx_("cannot reach porterd at %s: %s", opt_socket,
		    strerror(errno));
		goto out;
	}
	llen = strlen(line);
	line[llen++] = '\n';	/* json_dumps left room: we replace the NUL */
	while (off < llen) {
		if (wait_fd(fd, POLLOUT, deadline) == -1)
			goto timeout;
		n = send(fd, line + off, llen - off, MSG_NOSIGNAL);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		/*
		 * porterd closed first: it may have said why before (too
		 * many clients), so read that rather than the send error.
		 */
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			break;
		if (n <= 0) {
			warnx_("%s: send: %s", opt_socket, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 65536 : cap * 2;
			if (cap > ANSWER_MAX || (p = realloc(buf, cap)) == NULL) {
				warnx_("porterd's answer is too large");
				goto out;
			}
			buf = p;
		}
		if (wait_fd(fd, POLLIN, deadline) == -1)
			goto timeout;
		n = recv(fd, buf + len, cap - len, 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			warnx_("%s: recv: %s", opt_socket, strerror(errno));
			goto out;
		}
		if (n == 0 || memchr(buf + len, '\n', (size_t)n) != NULL) {
			len += (size_t)n;
			break;
		}
		len += (size_t)n;
	}
	if ((p = memchr(buf, '\n', len)) == NULL) {
		warnx_("porterd closed the connection without an answer");
		goto out;
	}
	*p = '\0';
	if ((ans = json_loads(buf, 0, &jerr)) == NULL ||
	    !json_is_object(ans) || !json_is_boolean(json_object_get(ans,
	    "ok"))) {
		warnx_("porterd's answer is not what porterctl(8) describes: "
		    "%.200s", buf);
		json_decref(ans);
		ans = NULL;
		goto out;
	}
	*ret_text = buf;
	buf = NULL;
	goto out;
timeout:
	warnx_("porterd did not answer within %g s", opt_timeout);
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(buf);
	return ans;
}

/* ------------------------------------------------------------ printing */

static const char *
human_bytes(json_t *v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double n;
	int u = 0;

	if (!json_is_integer(v))
		return "-";
	n = (double)json_integer_value(v);
	while (n >= 1024 && u < 4) {
		n /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f B", n);
	else
		snprintf(buf, len, "%.1f %s", n, units[u]);
	return buf;
}

static const char *
human_secs(double s, char *buf, size_t len)
{
	long t = (long)s;

	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (t < 3600)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, len, "%ldh%02ldm", t / 3600, t % 3600 / 60);
	else
		snprintf(buf, len, "%ldd%02ldh", t / 86400, t % 86400 / 3600);
	return buf;
}

static const char *
human_time(json_t *v, char *buf, size_t len)
{
	time_t t = (time_t)json_integer_value(v);
	struct tm tm;

	if (!json_is_integer(v) || gmtime_r(&t, &tm) == NULL)
		return "-";
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return buf;
}

static json_int_t
jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

/* "acl 2, per-source 1", the reasons that are not 0, or "-". */
static const char *
refusals(json_t *ref, char *buf, size_t len)
{
	const char *key;
	size_t off = 0;
	json_t *v;

	buf[0] = '\0';
	json_object_foreach(ref, key, v) {
		if (json_integer_value(v) == 0 || off >= len)
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%s %" JSON_INTEGER_FORMAT,
		    off > 0 ? ", " : "", key, json_integer_value(v));
	}
	return buf[0] != '\0' ? buf : "-";
}

static json_int_t
refused_total(json_t *ref)
{
	const char *key;
	json_int_t n = 0;
	json_t *v;

	json_object_foreach(ref, key, v)
		n += json_integer_value(v);
	return n;
}

static void
print_status(json_t *st)
{
	char b1[64], b2[64], b3[256];
	json_t *last = json_object_get(st, "last_reload");

	printf("porterd %s, pid %" JSON_INTEGER_FORMAT ", up %s%s\n",
	    jstr(st, "version"), jint(st, "pid"),
	    human_secs((double)jint(st, "uptime"), b1, sizeof(b1)),
	    json_is_true(json_object_get(st, "stopping")) ?
	    ", shutting down" : "");
	printf("config       %s, loaded %s\n", jstr(st, "config"),
	    human_time(json_object_get(st, "config_loaded"), b1, sizeof(b1)));
	if (json_is_object(last))
		printf("last reload  %s: %s%s%s\n",
		    human_time(json_object_get(last, "time"), b1, sizeof(b1)),
		    json_is_true(json_object_get(last, "ok")) ? "ok" :
		    "refused", json_is_true(json_object_get(last, "ok")) ?
		    "" : ": ", json_is_true(json_object_get(last, "ok")) ?
		    "" : jstr(last, "error"));
	else
		printf("last reload  none\n");
	printf("reloads      %" JSON_INTEGER_FORMAT " ok, %"
	    JSON_INTEGER_FORMAT " refused\n",
	    jint(json_object_get(st, "reloads"), "ok"),
	    jint(json_object_get(st, "reloads"), "failed"));
	printf("process      %" JSON_INTEGER_FORMAT " event loops, %"
	    JSON_INTEGER_FORMAT " threads, %" JSON_INTEGER_FORMAT " fds, %s "
	    "resident\n", jint(st, "event_loops"), jint(st, "threads"),
	    jint(st, "fds"), human_bytes(json_object_get(st, "rss_bytes"), b2,
	    sizeof(b2)));
	printf("services     %" JSON_INTEGER_FORMAT "\n", jint(st, "services"));
	printf("connections  %" JSON_INTEGER_FORMAT " live\n",
	    jint(st, "connections"));
	printf("refused      %" JSON_INTEGER_FORMAT " (%s)\n",
	    refused_total(json_object_get(st, "refused")),
	    refusals(json_object_get(st, "refused"), b3, sizeof(b3)));
}

/*
 * A table sized to its contents: columns as wide as their widest cell,
 * two spaces apart; right-aligned where right[] says so (numbers).
 */
#define TABLE_COLS	11

struct table {
	size_t ncols, nrows;
	const char *right;		/* "lrr...", one letter a column */
	char **cells;			/* nrows x ncols, owned */
};

static void
table_add(struct table *t, const char *const *row)
{
	char **c = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*c));
	size_t i;

	if (c == NULL) {
		warnx_("out of memory");
		exit(EXIT_UNREACHABLE);
	}
	t->cells = c;
	for (i = 0; i < t->ncols; i++)
		if ((c[t->nrows * t->ncols + i] = strdup(row[i])) == NULL) {
			warnx_("out of memory");
			exit(EXIT_UNREACHABLE);
		}
	t->nrows++;
}

static void
table_print(struct table *t)
{
	size_t w[TABLE_COLS] = { 0 }, r, i, len;

	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols; i++)
			if ((len = strlen(t->cells[r * t->ncols + i])) > w[i])
				w[i] = len;
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			const char *c = t->cells[r * t->ncols + i];
			int last = i + 1 == t->ncols;

			if (t->right[i] == 'r')
				printf("%*s%s", (int)w[i], c, last ? "" : "  ");
			else if (last)
				printf("%s", c);
			else
				printf("%-*s  ", (int)w[i], c);
			free(t->cells[r * t->ncols + i]);
		}
		putchar('\n');
	}
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

/*
 * Appends the addresses of arr, each followed by mark, comma-separated,
 * to buf[off..len) (truncated to fit).  Returns the new offset.
 */
static size_t
addrs_join(char *buf, size_t len, size_t off, json_t *arr, const char *mark)
{
	size_t i;
	json_t *a;
	int n;

	json_array_foreach(arr, i, a) {
		if (off >= len)
			break;
		n = snprintf(buf + off, len - off, "%s%s%s", off > 0 ? "," : "",
		    json_is_string(a) ? json_string_value(a) : "-", mark);
		off = n < 0 ? len : off + (size_t)n;
	}
	return off;
}

static void
print_services(json_t *arr)
{
	static const char *const head[] = { "SERVICE", "STATE", "LISTEN",
	    "HANDLER", "LIVE", "ACCEPTED", "REFUSED", "FAILED", "IN", "OUT",
	    "REFUSED BY" };
	char ls[256], hd[128], ref[256], in[32], out[32], live[24], acc[24],
	    nref[24], fail[24];
	struct table t = { 11, 0, "llllrrrrrrl", NULL };
	size_t i, off;
	json_t *s;

	table_add(&t, head);
	json_array_foreach(arr, i, s) {
		const char *row[11];

		ls[0] = '\0';
		/* The listeners porterd retries binding come last, marked. */
		off = addrs_join(ls, sizeof(ls), 0,
		    json_object_get(s, "listeners"), "");
		addrs_join(ls, sizeof(ls), off, json_object_get(s, "unbound"),
		    " (unbound)");
		snprintf(hd, sizeof(hd), "%s %s%s", jstr(s, "kind"),
		    jstr(s, "handler"),
		    json_is_string(json_object_get(s, "isolation")) &&
		    strcmp(jstr(s, "isolation"), "process") == 0 ?
		    " (process)" : "");
		snprintf(live, sizeof(live), "%" JSON_INTEGER_FORMAT,
		    jint(s, "live"));
		snprintf(acc, sizeof(acc), "%" JSON_INTEGER_FORMAT,
		    jint(s, "accepted"));
		snprintf(nref, sizeof(nref), "%" JSON_INTEGER_FORMAT,
		    refused_total(json_object_get(s, "refused")));
		snprintf(fail, sizeof(fail), "%" JSON_INTEGER_FORMAT,
		    jint(s, "failures"));
		row[0] = jstr(s, "name");
		row[1] = jstr(s, "state");
		row[2] = ls[0] != '\0' ? ls : "-";
		row[3] = hd;
		row[4] = live;
		row[5] = acc;
		row[6] = nref;
		row[7] = fail;
		row[8] = human_bytes(json_object_get(s, "bytes_in"), in,
		    sizeof(in));
		row[9] = human_bytes(json_object_get(s, "bytes_out"), out,
		    sizeof(out));
		row[10] = refusals(json_object_get(s, "refused"), ref,
		    sizeof(ref));
		table_add(&t, row);
	}
	table_print(&t);
}

static void
print_connections(json_t *arr)
{
	static const char *const head[] = { "ID", "SERVICE", "PEER", "LOCAL",
	    "AGE", "IDLE", "IN", "OUT", "KIND", "PID" };
	char id[24], age[32], idle[32], in[32], out[32], pid[24];
	struct table t = { 10, 0, "rlllrrrrlr", NULL };
	json_t *c, *v;
	size_t i;

	table_add(&t, head);
	json_array_foreach(arr, i, c) {
		const char *row[10];

		v = json_object_get(c, "idle");
		snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT, jint(c, "id"));
		if (jint(c, "pid") > 0)
			snprintf(pid, sizeof(pid), "%" JSON_INTEGER_FORMAT,
			    jint(c, "pid"));
		else
			snprintf(pid, sizeof(pid), "-");
		row[0] = id;
		row[1] = jstr(c, "service");
		row[2] = jstr(c, "peer");
		row[3] = jstr(c, "local");
		row[4] = human_secs(json_number_value(json_object_get(c,
		    "age")), age, sizeof(age));
		row[5] = human_secs(json_is_number(v) ? json_number_value(v) :
		    -1, idle, sizeof(idle));
		row[6] = human_bytes(json_object_get(c, "bytes_in"), in,
		    sizeof(in));
		row[7] = human_bytes(json_object_get(c, "bytes_out"), out,
		    sizeof(out));
		row[8] = jstr(c, "kind");
		row[9] = pid;
		table_add(&t, row);
	}
	table_print(&t);
}

/* ------------------------------------------------------------ commands */

/* Prints a refusal (or the JSON) and returns the exit code. */
static int
refused(json_t *ans, const char *text)
{
	json_t *errs = json_object_get(ans, "errors"), *e;
	size_t i;

	if (opt_json) {
		printf("%s\n", text);
		return EXIT_REFUSED;
	}
	warnx_("%s", jstr(ans, "error"));
	json_array_foreach(errs, i, e)
		fprintf(stderr, "%s\n", json_string_value(e));
	return EXIT_REFUSED;
}

/* Live connections of `name` per `services`, or -1 (message given). */
static json_int_t
live_of(const char *name, int *ret_code)
{
	json_t *ans, *s;
	char *text;
	json_int_t live = -1;
	size_t i;

	if ((ans = ask(json_pack("{s:s}", "command", "services"),
	    &text)) == NULL) {
		*ret_code = EXIT_UNREACHABLE;
		return -1;
	}
	if (!json_is_true(json_object_get(ans, "ok"))) {
		*ret_code = refused(ans, text);
	} else {
		json_array_foreach(json_object_get(ans, "services"), i, s)
			if (strcmp(jstr(s, "name"), name) == 0)
				live = jint(s, "live");
		if (live < 0) {
			warnx_("service %s is gone (reloaded away?)", name);
			*ret_code = EXIT_REFUSED;
		}
	}
	json_decref(ans);
	free(text);
	return live;
}

static int
drain_wait(const char *name)
{
	double deadline = now_secs() + opt_timeout;
	struct timespec pause = { 0, 100 * 1000000L };
	json_int_t live;
	int code = 0;

	for (;;) {
		if ((live = live_of(name, &code)) < 0)
			return code;
		if (live == 0) {
			if (!opt_json)
				printf("service %s: drained\n", name);
			return 0;
		}
		if (now_secs() >= deadline) {
			warnx_("service %s: %" JSON_INTEGER_FORMAT " connections "
			    "still live after %g s (still draining)", name,
			    live, opt_timeout);
			return EXIT_TIMEOUT;
		}
		nanosleep(&pause, NULL);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cmd, *arg = NULL;
	char *text, *end;
	json_t *req, *ans;
	unsigned long long id = 0;
	int c, code = 0;
	bool need_arg, may_arg;

	while ((c = getopt_long(argc, argv, "s:jt:hV", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 's':
			opt_socket = optarg;
			break;
		case 'j':
			opt_json = 1;
			break;
		case 't':
			errno = 0;
			opt_timeout = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    !(opt_timeout > 0 && opt_timeout <= 86400)) {
				warnx_("--timeout '%s': seconds, more than 0 "
				    "and at most 86400", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("porterctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind++];
	need_arg = strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0 ||
	    strcmp(cmd, "drain") == 0 || strcmp(cmd, "kill-connection") == 0;
	may_arg = need_arg || strcmp(cmd, "connections") == 0;
	if (!may_arg && strcmp(cmd, "status") != 0 &&
	    strcmp(cmd, "services") != 0 && strcmp(cmd, "reload") != 0) {
		warnx_("unknown command '%s' (porterctl --help)", cmd);
		return EXIT_USAGE;
	}
	if (optind < argc)
		arg = argv[optind++];
	if (optind < argc || (need_arg && arg == NULL) ||
	    (!may_arg && arg != NULL)) {
		warnx_("%s: %s", cmd, need_arg ? "takes exactly one argument" :
		    may_arg ? "takes at most one argument" :
		    "takes no argument");
		return EXIT_USAGE;
	}
	req = json_pack("{s:s}", "command", cmd);
	if (strcmp(cmd, "kill-connection") == 0) {
		errno = 0;
		id = strtoull(arg, &end, 10);
		if (errno != 0 || *end != '\0' || id == 0 || arg[0] == '-' ||
		    id > (unsigned long long)LLONG_MAX) {
			warnx_("kill-connection: '%s' is not a connection id",
			    arg);
			json_decref(req);
			return EXIT_USAGE;
		}
		json_object_set_new(req, "id", json_integer((json_int_t)id));
	} else if (arg != NULL) {
		json_object_set_new(req, "service", json_string(arg));
	}
	if ((ans = ask(req, &text)) == NULL)
		return EXIT_UNREACHABLE;
	if (!json_is_true(json_object_get(ans, "ok"))) {
		code = refused(ans, text);
	} else if (opt_json && strcmp(cmd, "drain") != 0) {
		printf("%s\n", text);
	} else if (strcmp(cmd, "status") == 0) {
		print_status(json_object_get(ans, "status"));
	} else if (strcmp(cmd, "services") == 0) {
		print_services(json_object_get(ans, "services"));
	} else if (strcmp(cmd, "connections") == 0) {
		print_connections(json_object_get(ans, "connections"));
		if (json_is_true(json_object_get(ans, "truncated")))
			warnx_("%zu of %" JSON_INTEGER_FORMAT " connections "
			    "shown; name a SERVICE to see the others",
			    json_array_size(json_object_get(ans,
			    "connections")), jint(ans, "total"));
	} else if (strcmp(cmd, "reload") == 0) {
		printf("reloaded\n");
	} else if (strcmp(cmd, "drain") == 0) {
		code = drain_wait(arg);
		if (opt_json)
			printf("{\"ok\":%s}\n", code == 0 ? "true" : "false");
	} else if (strcmp(cmd, "kill-connection") == 0) {
		printf("connection %llu: cut\n", id);
	} else {
		printf("service %s: %s\n", arg, strcmp(cmd, "pause") == 0 ?
		    "paused" : "resumed");
	}
	json_decref(ans);
	free(text);
	return code;
}
