/*
 * control.c -- the control socket server (see control.h).
 *
 * One listening UNIX socket and up to CONTROL_MAX_CLIENTS clients, all
 * non-blocking on the control thread's epoll.  A client's bytes collect
 * in its own fixed buffer; each complete line is one request, answered
 * with one line.  A line longer than the buffer, a request that is not
 * the JSON object porterctl(8) describes, or a client that takes longer
 * than CONTROL_DEADLINE_SECS to send a request or read an answer gets an
 * error line (when it can take one) and is closed: nothing it does
 * reaches another client or the runtime.
 *
 * Who may do what is decided per request from SO_PEERCRED, read once at
 * accept: read-only commands for anyone the socket's mode let in, the
 * others for root and porterd's own uid.  A refused command is answered
 * with the reason, never dropped.
 *
 * JSON is built and parsed with jansson.  Answers are built whole and
 * written as the socket takes them (EPOLLOUT), so a slow reader never
 * blocks the thread.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <jansson.h>

#include "control.h"
#include "log.h"
#include "runtime.h"

struct control_client {
	struct ev ev;			/* fd and control_client_ev */
	struct control *ctl;
	struct control_client *prev, *next;
	int fd;
	uid_t uid;
	pid_t pid;
	bool priv;			/* root or our uid at accept */
	uint64_t token;			/* names it to a pending reload */
	bool waiting;			/* a reload's answer is owed */
	bool eof;			/* the peer sent everything */
	bool closing;			/* close once `out` is written */
	bool want_out;			/* EPOLLOUT registered */
	bool running;			/* inside control_run() */
	time_t deadline;		/* CLOCK_MONOTONIC seconds */
	size_t inlen;
	char in[CONTROL_REQUEST_MAX];
	char *out;
	size_t outlen, outoff;
};

struct control {
	struct ev ev;			/* fd and control_server_ev */
	int fd;
	int epfd;
	char *path;
	const struct control_ops *ops;
	struct control_client *clients;
	unsigned nclients;
	unsigned nunpriv;		/* of which neither root nor our uid */
	uint64_t next_token;
};

/* For the reload callback, which names a client by token only. */
static struct control *control_current;

static const char *const control_cmd_names[CONTROL_NCMDS] = {
	[CONTROL_STATUS] = "status",
	[CONTROL_SERVICES] = "services",
	[CONTROL_CONNECTIONS] = "connections",
	[CONTROL_RELOAD] = "reload",
	[CONTROL_PAUSE] = "pause",
	[CONTROL_RESUME] = "resume",
	[CONTROL_DRAIN] = "drain",
	[CONTROL_KILL] = "kill-connection",
};

/* ------------------------------------------------------------ protocol */

const char *
control_cmd_name(enum control_cmd cmd)
{
	return (unsigned)cmd < CONTROL_NCMDS ? control_cmd_names[cmd] : "?";
}

bool
control_cmd_readonly(enum control_cmd cmd)
{
	return cmd == CONTROL_STATUS || cmd == CONTROL_SERVICES ||
	    cmd == CONTROL_CONNECTIONS;
}

bool
control_authorized(enum control_cmd cmd, uid_t peer_uid, uid_t own_uid)
{
	return control_cmd_readonly(cmd) || peer_uid == 0 ||
	    peer_uid == own_uid;
}

/*
 * Root or porterd's own uid: may run every command, and may take the
 * slots kept for them.  geteuid() now, not at open: run-as may have
 * switched since (a client keeps the class it had at accept, cl->priv).
 */
static bool
control_privileged(uid_t peer_uid)
{
	return control_authorized(CONTROL_RELOAD, peer_uid, geteuid());
}

int
control_parse(const char *line, size_t len, struct control_req *req,
    char *err, size_t errlen)
{
	bool want_service, want_id, svc_optional;
	json_error_t jerr;
	json_t *root, *v;
	const char *key, *cmd;
	int i, r = -1;

	memset(req, 0, sizeof(*req));
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "malformed JSON at column %d: %s",
		    jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "a request is a JSON object");
		goto out;
	}
	v = json_object_get(root, "command");
	if (!json_is_string(v)) {
		snprintf(err, errlen, "'command' (a string) is required");
		goto out;
	}
	cmd = json_string_value(v);
	for (i = 0; i < CONTROL_NCMDS; i++)
		if (strcmp(cmd, control_cmd_names[i]) == 0)
			break;
	if (i == CONTROL_NCMDS) {
		snprintf(err, errlen, "unknown command '%.64s'", cmd);
		goto out;
	}
	req->cmd = (enum control_cmd)i;
	svc_optional = req->cmd == CONTROL_CONNECTIONS;
	want_service = svc_optional || req->cmd == CONTROL_PAUSE ||
	    req->cmd == CONTROL_RESUME || req->cmd == CONTROL_DRAIN;
	want_id = req->cmd == CONTROL_KILL;
	json_object_foreach(root, key, v) {
		if (strcmp(key, "command") == 0)
			continue;
		if (strcmp(key, "service") == 0 && want_service) {
			if (!json_is_string(v) ||
			    json_string_length(v) == 0 ||
			    json_string_length(v) >= sizeof(req->service)) {
				snprintf(err, errlen, "'service' must be a "
				    "service name");
				goto out;
			}
			snprintf(req->service, sizeof(req->service), "%s",
			    json_string_value(v));
		} else if (strcmp(key, "id") == 0 && want_id) {
			if (!json_is_integer(v) || json_integer_value(v) <= 0) {
				snprintf(err, errlen, "'id' must be a "
				    "connection id (a positive integer)");
				goto out;
			}
			req->id = (uint64_t)json_integer_value(v);
		} else {
			snprintf(err, errlen, "%s: unexpected field '%.64s'",
			    cmd, key);
			goto out;
		}
	}
	if (want_service && !svc_optional && req->service[0] == '\0') {
		snprintf(err, errlen, "%s: 'service' is required", cmd);
		goto out;
	}
	if (want_id && req->id == 0) {
		snprintf(err, errlen, "%s: 'id' is required", cmd);
		goto out;
	}
	r = 0;
out:
	json_decref(root);
	return r;
}

/* ------------------------------------------------------------ answers */

static time_t
control_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Interest: input until EOF, output while an answer is pending. */
static void
control_want_out(struct control_client *cl, bool on)
{
	struct epoll_event ev = { .events = (cl->eof ? 0 : EPOLLIN) |
	    (on ? EPOLLOUT : 0) };

	ev.data.ptr = &cl->ev;
	if (epoll_ctl(cl->ctl->epfd, EPOLL_CTL_MOD, cl->fd, &ev) == 0)
		cl->want_out = on;
}

static void
control_client_free(struct control_client *cl)
{
	struct control *ctl = cl->ctl;

	epoll_ctl(ctl->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	if (cl->prev != NULL)
		cl->prev->next = cl->next;
	else
		ctl->clients = cl->next;
	if (cl->next != NULL)
		cl->next->prev = cl->prev;
	ctl->nclients--;
	if (!cl->priv)
		ctl->nunpriv--;
	free(cl->out);
	free(cl);
}

/* Writes what the socket takes.  Returns -1 if cl was freed. */
static int
control_flush(struct control_client *cl)
{
	ssize_t n;

	while (cl->outoff < cl->outlen) {
		n = send(cl->fd, cl->out + cl->outoff, cl->outlen - cl->outoff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			control_want_out(cl, true);
			return 0;
		}
		if (n <= 0) {
			control_client_free(cl);
			return -1;
		}
		cl->outoff += (size_t)n;
	}
	free(cl->out);
	cl->out = NULL;
	cl->outlen = cl->outoff = 0;
	control_want_out(cl, false);
	if (cl->closing || (cl->eof && !cl->waiting && cl->inlen == 0)) {
		control_client_free(cl);
		return -1;
	}
	cl->deadline = control_now() + CONTROL_DEADLINE_SECS;
	return 0;
}

/* Queues obj (consumed) as one line. */
static void
control_queue(struct control_client *cl, json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(9));
	size_t len;
	char *p;

	json_decref(obj);
	if (text == NULL || (len = strlen(text)) + 1 > CONTROL_REPLY_MAX) {
		free(text);
		text = strdup("{\"ok\":false,\"error\":\"answer too large or "
		    "out of memory\"}");
		if (text == NULL) {
			cl->closing = true;
			return;
		}
		len = strlen(text);
	}
	if ((p = realloc(cl->out, cl->outlen + len + 1)) == NULL) {
		free(text);
		cl->closing = true;
		return;
	}
	memcpy(p + cl->outlen, text, len);
	p[cl->outlen + len] = '\n';
	cl->out = p;
	cl->outlen += len + 1;
	free(text);
}

static void
control_error(struct control_client *cl, const char *msg)
{
	control_queue(cl, json_pack("{s:b, s:s}", "ok", 0, "error", msg));
}

static json_t *
control_ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

/* ------------------------------------------------------------ process */

/* The "Name:" field of /proc/self/status as a number, or -1. */
static long
control_proc_status(const char *name)
{
	char line[256];
	size_t n = strlen(name);
	long v = -1;
	FILE *fp;

	if ((fp = fopen("/proc/self/status", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(fp);
	return v;
}

static long
control_open_fds(void)
{
	struct dirent *de;
	long n = 0;
	DIR *d;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* not the one opendir() holds */
}

/* ------------------------------------------------------------ commands */

static json_t *
control_stats_json(const struct stats_svc *st, unsigned live)
{
	json_t *o = json_object(), *refused = json_object(),
	    *exits = json_object(), *sigs = json_object(),
	    *buckets = json_array();
	char key[32];
	uint64_t n, cum = 0;
	int i;

	for (i = 0; i < STATS_REFUSE_NREASONS; i++)
		json_object_set_new(refused, stats_refusal_name(i),
		    json_integer(st != NULL ?
		    (json_int_t)stats_read(&st->refused[i]) : 0));
	json_object_set_new(o, "live", json_integer(live));
	json_object_set_new(o, "refused", refused);
	if (st == NULL) {
		json_decref(exits);
		json_decref(sigs);
		json_decref(buckets);
		return o;
	}
	json_object_set_new(o, "accepted",
	    json_integer((json_int_t)stats_read(&st->accepted)));
	json_object_set_new(o, "active",
	    json_integer((json_int_t)stats_read(&st->active)));
	json_object_set_new(o, "finished",
	    json_integer((json_int_t)stats_read(&st->finished)));
	json_object_set_new(o, "failures",
	    json_integer((json_int_t)stats_read(&st->failures)));
	json_object_set_new(o, "not_started",
	    json_integer((json_int_t)stats_read(&st->not_started)));
	json_object_set_new(o, "bytes_in",
	    json_integer((json_int_t)stats_read(&st->bytes_in)));
	json_object_set_new(o, "bytes_out",
	    json_integer((json_int_t)stats_read(&st->bytes_out)));
	for (i = 0; i < STATS_NEXIT; i++)
		if ((n = stats_read(&st->exits[i])) > 0) {
			snprintf(key, sizeof(key), "%d", i);
			json_object_set_new(exits, key,
			    json_integer((json_int_t)n));
		}
	for (i = 1; i < STATS_NSIG; i++)
		if ((n = stats_read(&st->signals[i])) > 0) {
			snprintf(key, sizeof(key), "%d", i);
			json_object_set_new(sigs, key,
			    json_integer((json_int_t)n));
		}
	json_object_set_new(o, "exits", exits);
	json_object_set_new(o, "signals", sigs);
	/* Cumulative, as Prometheus and OpenMetrics histograms are. */
	for (i = 0; i <= STATS_NBUCKETS; i++) {
		cum += stats_read(&st->buckets[i]);
		/* le as OpenMetrics writes it: "0.005", "+Inf". */
		if (i < STATS_NBUCKETS)
			snprintf(key, sizeof(key), "%g", stats_bucket_le[i]);
		else
			snprintf(key, sizeof(key), "+Inf");
		json_array_append_new(buckets, json_pack("[s, I]", key,
		    (json_int_t)cum));
	}
	json_object_set_new(o, "duration", json_pack("{s:o, s:f, s:I}",
	    "buckets", buckets,
	    "sum", (double)stats_read(&st->duration_us) / 1e6,
	    "count", (json_int_t)cum));
	return o;
}

static void
control_service_json(const struct control_service *s, void *arg)
{
	json_t *arr = arg, *o, *ls = json_array(), *unb = json_array();
	size_t i;

	for (i = 0; i < s->nlisteners; i++)
		json_array_append_new(ls, json_string(s->listeners[i]));
	for (i = 0; i < s->nunbound; i++)
		json_array_append_new(unb, json_string(s->unbound[i]));
	o = control_stats_json(s->stats, s->live);
	json_object_set_new(o, "name", json_string(s->name));
	json_object_set_new(o, "state", json_string(s->state));
	json_object_set_new(o, "kind", json_string(s->kind));
	json_object_set_new(o, "handler", json_string(s->handler));
	json_object_set_new(o, "isolation", s->isolation != NULL ?
	    json_string(s->isolation) : json_null());
	json_object_set_new(o, "listeners", ls);
	json_object_set_new(o, "unbound", unb);
	json_array_append_new(arr, o);
}

/* Sums refusals by reason over every service, for `status`. */
static void
control_refusal_sum(const struct control_service *s, void *arg)
{
	uint64_t *sum = arg;
	int i;

	for (i = 0; s->stats != NULL && i < STATS_REFUSE_NREASONS; i++)
		sum[i] += stats_read(&s->stats->refused[i]);
}

static void
control_status(struct control_client *cl)
{
	struct control_status rs = { .config_path = NULL };
	uint64_t refused[STATS_REFUSE_NREASONS] = { 0 };
	struct stats_global g;
	json_t *o, *ref = json_object(), *last = json_null();
	int i;

	cl->ctl->ops->status(&rs);
	cl->ctl->ops->services(control_refusal_sum, refused);
	stats_global_get(&g);
	for (i = 0; i < STATS_REFUSE_NREASONS; i++)
		json_object_set_new(ref, stats_refusal_name(i),
		    json_integer((json_int_t)refused[i]));
	if (g.last_reload != 0) {
		json_decref(last);
		last = json_pack("{s:I, s:b}", "time",
		    (json_int_t)g.last_reload, "ok", g.last_reload_ok);
		if (!g.last_reload_ok)
			json_object_set_new(last, "error",
			    json_string(g.last_error));
	}
	o = json_pack("{s:s, s:I, s:I, s:I, s:s?, s:I, s:o, s:{s:I, s:I},"
	    " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:b}",
	    "version", PACKAGE_VERSION,
	    "pid", (json_int_t)getpid(),
	    "started", (json_int_t)g.started,
	    "uptime", (json_int_t)(time(NULL) - g.started),
	    "config", rs.config_path,
	    "config_loaded", (json_int_t)g.config_loaded,
	    "last_reload", last,
	    "reloads", "ok", (json_int_t)g.reloads_ok,
	    "failed", (json_int_t)g.reloads_failed,
	    "threads", (json_int_t)control_proc_status("Threads"),
	    "event_loops", (json_int_t)rs.loops,
	    "handler_threads", (json_int_t)rs.threads,
	    "fds", (json_int_t)control_open_fds(),
	    "rss_bytes", (json_int_t)control_proc_status("VmRSS") * 1024,
	    "services", (json_int_t)rs.services,
	    "connections", (json_int_t)rs.live,
	    "refused", ref,
	    "stopping", rs.stopping);
	if (o == NULL) {
		control_error(cl, "out of memory");
		return;
	}
	control_queue(cl, json_pack("{s:b, s:o}", "ok", 1, "status", o));
}

/* The connections answer being built: its rows and how many there were. */
struct control_rows {
	json_t *arr;
	json_int_t total;
};

static void
control_conn_json(const struct control_conn *c, void *arg)
{
	struct control_rows *rows = arg;
	json_t *o;

	if (rows->total++ >= CONTROL_CONN_ROWS_MAX)
		return;		/* counted, not listed */
	o = json_pack("{s:I, s:s, s:s, s:s, s:f, s:s, s:I}",
	    "id", (json_int_t)c->id, "service", c->service,
	    "peer", c->peer, "local", c->local, "age", c->age,
	    "kind", c->kind, "pid", (json_int_t)c->pid);
	if (o == NULL)
		return;
	json_object_set_new(o, "idle", c->idle >= 0 ? json_real(c->idle) :
	    json_null());
	json_object_set_new(o, "bytes_in", c->bytes_in >= 0 ?
	    json_integer(c->bytes_in) : json_null());
	json_object_set_new(o, "bytes_out", c->bytes_out >= 0 ?
	    json_integer(c->bytes_out) : json_null());
	json_array_append_new(rows->arr, o);
}

static struct control_client *
control_by_token(uint64_t token)
{
	struct control_client *cl;

	if (control_current == NULL)
		return NULL;
	for (cl = control_current->clients; cl != NULL; cl = cl->next)
		if (cl->waiting && cl->token == token)
			return cl;
	return NULL;
}

static void control_input(struct control_client *cl);
static void control_client_ev(struct ev *ev, uint32_t events,
    struct evloop *L);

static void
control_reload_done_cb(uint64_t token, bool ok, const char *errors)
{
	struct control_client *cl = control_by_token(token);
	json_t *o, *arr;
	const char *p, *nl;

	if (cl == NULL)
		return;		/* gone: porterd's log has the outcome */
	cl->waiting = false;
	if (ok) {
		control_queue(cl, control_ok());
	} else {
		arr = json_array();
		for (p = errors != NULL ? errors : ""; *p != '\0'; p = nl) {
			if ((nl = strchr(p, '\n')) == NULL)
				nl = p + strlen(p);
			json_array_append_new(arr, json_stringn(p,
			    (size_t)(nl - p)));
			if (*nl == '\n')
				nl++;
		}
		o = json_pack("{s:b, s:s, s:o}", "ok", 0, "error",
		    "reload refused; the running config stays", "errors", arr);
		control_queue(cl, o);
	}
	/* Called from control_run() itself: control_input() goes on. */
	if (!cl->running && control_flush(cl) == 0)
		control_input(cl);	/* requests that queued behind it */
}

static void
control_run(struct control_client *cl, const struct control_req *req)
{
	const struct control_ops *ops = cl->ctl->ops;
	struct control_rows rows;
	char err[512];
	json_t *arr;

	/* geteuid() now, not at open: run-as may have switched since. */
	if (!control_authorized(req->cmd, cl->uid, geteuid())) {
		snprintf(err, sizeof(err), "permission denied: '%s' needs "
		    "root or porterd's user (uid %ld); you are uid %ld",
		    control_cmd_name(req->cmd), (long)geteuid(),
		    (long)cl->uid);
		log_info("control: uid %ld (pid %ld): %s refused",
		    (long)cl->uid, (long)cl->pid, control_cmd_name(req->cmd));
		control_error(cl, err);
		return;
	}
	if (!control_cmd_readonly(req->cmd))
		log_info("control: uid %ld (pid %ld): %s%s%s", (long)cl->uid,
		    (long)cl->pid, control_cmd_name(req->cmd),
		    req->service[0] != '\0' ? " " : "", req->service);
	switch (req->cmd) {
	case CONTROL_STATUS:
		control_status(cl);
		return;
	case CONTROL_SERVICES:
		arr = json_array();
		ops->services(control_service_json, arr);
		control_queue(cl, json_pack("{s:b, s:o}", "ok", 1,
		    "services", arr));
		return;
	case CONTROL_CONNECTIONS:
		rows.arr = json_array();
		rows.total = 0;
		if (ops->connections(req->service[0] != '\0' ? req->service :
		    NULL, control_conn_json, &rows) == -1) {
			json_decref(rows.arr);
			snprintf(err, sizeof(err), "no service '%s'",
			    req->service);
			control_error(cl, err);
			return;
		}
		control_queue(cl, json_pack("{s:b, s:o, s:I, s:b}", "ok", 1,
		    "connections", rows.arr, "total", rows.total, "truncated",
		    rows.total > CONTROL_CONN_ROWS_MAX));
		return;
	case CONTROL_RELOAD:
		cl->waiting = true;
		cl->token = ++cl->ctl->next_token;
		ops->reload(cl->token, control_reload_done_cb);
		return;
	case CONTROL_PAUSE:
	case CONTROL_RESUME:
	case CONTROL_DRAIN:
		if (ops->service_op(req->service, req->cmd == CONTROL_PAUSE ?
		    CONTROL_OP_PAUSE : req->cmd == CONTROL_RESUME ?
		    CONTROL_OP_RESUME : CONTROL_OP_DRAIN, err,
		    sizeof(err)) == -1)
			control_error(cl, err);
		else
			control_queue(cl, control_ok());
		return;
	case CONTROL_KILL:
		if (ops->kill_conn(req->id, err, sizeof(err)) == -1)
			control_error(cl, err);
		else
			control_queue(cl, control_ok());
		return;
	case CONTROL_NCMDS:
		break;
	}
	control_error(cl, "internal error");
}

/*
 * Answers the complete lines in cl->in, in order.  A reload in progress
 * holds the rest until its answer is queued.  At EOF a last line without
 * a newline counts as a request.
 */
static void
control_input(struct control_client *cl)
{
	struct control_req req;
	char err[256], line[CONTROL_REQUEST_MAX];
	char *nl;
	size_t len, used;

	while (!cl->waiting && !cl->closing && cl->inlen > 0) {
		nl = memchr(cl->in, '\n', cl->inlen);
		if (nl == NULL && !cl->eof)
			break;
		len = nl != NULL ? (size_t)(nl - cl->in) : cl->inlen;
		used = nl != NULL ? len + 1 : len;
		if (len > 0 && cl->in[len - 1] == '\r')
			len--;		/* a telnet-style line ending */
		/* Take the line out first: its answer may come back here. */
		memcpy(line, cl->in, len);
		memmove(cl->in, cl->in + used, cl->inlen - used);
		cl->inlen -= used;
		if (control_parse(line, len, &req, err, sizeof(err)) == -1) {
			control_error(cl, err);
			continue;
		}
		cl->running = true;
		control_run(cl, &req);
		cl->running = false;
	}
	if (cl->inlen == sizeof(cl->in)) {
		control_error(cl, "request longer than 4096 bytes");
		cl->closing = true;
	}
	if (cl->outlen > 0 || cl->closing || (cl->eof && !cl->waiting))
		control_flush(cl);
}

static void
control_read(struct control_client *cl)
{
	ssize_t n;

	while (!cl->eof && cl->inlen < sizeof(cl->in)) {
		n = recv(cl->fd, cl->in + cl->inlen, sizeof(cl->in) -
		    cl->inlen, MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			/* Stop listening for input, or EPOLLHUP would spin. */
			cl->eof = true;
			control_want_out(cl, cl->want_out);
			break;
		}
		cl->inlen += (size_t)n;
	}
	control_input(cl);
}

static void
control_accept(struct control *ctl)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct control_client *cl;
	struct ucred cred;
	socklen_t len;
	ssize_t n;
	int fd;

	while ((fd = accept4(ctl->fd, NULL, NULL,
	    SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred,
		    &len) == -1) {
			close(fd);
			continue;
		}
		if (ctl->nclients >= CONTROL_MAX_CLIENTS ||
		    (!control_privileged(cred.uid) && ctl->nunpriv >=
		    CONTROL_MAX_CLIENTS - CONTROL_PRIV_CLIENTS) ||
		    (cl = calloc(1, sizeof(*cl))) == NULL) {
			static const char busy[] = "{\"ok\":false,\"error\":"
			    "\"too many control clients, try again\"}\n";

			n = send(fd, busy, sizeof(busy) - 1,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)n;
			close(fd);
			continue;
		}
		cl->ev.fd = fd;
		cl->ev.fn = control_client_ev;
		cl->ctl = ctl;
		cl->fd = fd;
		cl->uid = cred.uid;
		cl->pid = cred.pid;
		cl->deadline = control_now() + CONTROL_DEADLINE_SECS;
		ev.data.ptr = &cl->ev;
		if (epoll_ctl(ctl->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
			log_warn("control: epoll");
			close(fd);
			free(cl);
			continue;
		}
		cl->next = ctl->clients;
		if (ctl->clients != NULL)
			ctl->clients->prev = cl;
		ctl->clients = cl;
		ctl->nclients++;
		if (!(cl->priv = control_privileged(cl->uid)))
			ctl->nunpriv++;
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
	    errno != ECONNABORTED)
		log_warn("control: accept");
}

static void
control_server_ev(struct ev *ev, uint32_t events, struct evloop *L)
{
	(void)events;
	(void)L;
	control_accept((struct control *)ev);
}

static void
control_client_ev(struct ev *ev, uint32_t events, struct evloop *L)
{
	struct control_client *cl = (struct control_client *)ev;

	(void)L;
	if ((events & EPOLLOUT) && control_flush(cl) == -1)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		control_read(cl);
}

void
control_tick(struct control *ctl)
{
	static const char late[] = "{\"ok\":false,\"error\":\"too slow: a "
	    "request and its answer must be done within 5 s\"}\n";
	struct control_client *cl, *next;
	time_t now = control_now();
	ssize_t n;

	if (ctl == NULL)
		return;
	for (cl = ctl->clients; cl != NULL; cl = next) {
		next = cl->next;
		if (cl->waiting || now < cl->deadline)
			continue;
		log_info("control: uid %ld (pid %ld): too slow, closing",
		    (long)cl->uid, (long)cl->pid);
		if (cl->outlen == 0) {
			n = send(cl->fd, late, sizeof(late) - 1,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)n;
		}
		control_client_free(cl);
	}
}

/* ------------------------------------------------------------ setup */

/* True if something answers on the UNIX socket at path. */
static bool
control_in_use(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used;

	if (fd == -1)
		return false;
	used = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return used;
}

struct control *
control_open(const char *path, gid_t gid, int epfd,
    const struct control_ops *ops, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control *ctl;
	struct stat st;
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket %s: path too long", path);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "control socket %s: exists and "
			    "is not a socket", path);
			return NULL;
		}
		if (control_in_use(&sun)) {
			snprintf(err, errlen, "control socket %s: another "
			    "process is serving it (is porterd already "
			    "running?)", path);
			return NULL;
		}
		unlink(path);	/* stale: its server is gone */
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "control socket %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	/* No window in which the socket has a looser mode than 0660. */
	old = umask(0117);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r == -1 || (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) == -1) ||
	    chmod(path, 0660) == -1 || listen(fd, 16) == -1) {
		snprintf(err, errlen, "control socket %s: %s", path,
		    strerror(errno));
		if (r == 0)
			unlink(path);
		close(fd);
		return NULL;
	}
	if ((ctl = calloc(1, sizeof(*ctl))) == NULL ||
	    (ctl->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "control socket: out of memory");
		free(ctl);
		unlink(path);
		close(fd);
		return NULL;
	}
	ctl->ev.fd = fd;
	ctl->ev.fn = control_server_ev;
	ctl->fd = fd;
	ctl->epfd = epfd;
	ctl->ops = ops;
	ev.data.ptr = &ctl->ev;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		snprintf(err, errlen, "control socket %s: epoll: %s", path,
		    strerror(errno));
		unlink(path);
		close(fd);
		free(ctl->path);
		free(ctl);
		return NULL;
	}
	control_current = ctl;
	return ctl;
}

void
control_close(struct control *ctl)
{
	if (ctl == NULL)
		return;
	while (ctl->clients != NULL)
		control_client_free(ctl->clients);
	epoll_ctl(ctl->epfd, EPOLL_CTL_DEL, ctl->fd, NULL);
	close(ctl->fd);
	/* After run-as the directory may not let us: then it stays stale. */
	unlink(ctl->path);
	free(ctl->path);
	if (control_current == ctl)
		control_current = NULL;
	free(ctl);
}
