/*
 * check_control.c -- the control socket (daemon/control.c): the request
 * parser (table-driven, every error), who may run what, and the server
 * itself on a real UNIX socket with a stand-in ops table: answers, errors
 * that leave the connection usable, an oversized request that closes only
 * its own client, a reload's file:line errors, a stale socket file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "control.h"
#include "runtime.h"
#include "check_common.h"

/* ------------------------------------------------------------ parser */

static const struct {
	const char *line;
	int ok;
	enum control_cmd cmd;
	const char *service;
	uint64_t id;
	const char *err;		/* a substring of the message */
} parse_cases[] = {
	/* every command, minimal */
	{ "{\"command\":\"status\"}", 1, CONTROL_STATUS, "", 0, NULL },
	{ "{\"command\":\"services\"}", 1, CONTROL_SERVICES, "", 0, NULL },
	{ "{\"command\":\"connections\"}", 1, CONTROL_CONNECTIONS, "", 0,
	    NULL },
	{ "{\"command\":\"connections\",\"service\":\"echo\"}", 1,
	    CONTROL_CONNECTIONS, "echo", 0, NULL },
	{ "{\"command\":\"reload\"}", 1, CONTROL_RELOAD, "", 0, NULL },
	{ " { \"service\" : \"a\", \"command\" : \"pause\" } ", 1,
	    CONTROL_PAUSE, "a", 0, NULL },	/* order and spaces free */
	{ "{\"command\":\"resume\",\"service\":\"a\"}", 1, CONTROL_RESUME,
	    "a", 0, NULL },
	{ "{\"command\":\"drain\",\"service\":\"a\"}", 1, CONTROL_DRAIN, "a",
	    0, NULL },
	{ "{\"command\":\"kill-connection\",\"id\":42}", 1, CONTROL_KILL, "",
	    42, NULL },
	/* not JSON, not an object */
	{ "status", 0, 0, NULL, 0, "malformed JSON" },
	{ "", 0, 0, NULL, 0, "malformed JSON" },
	{ "{\"command\":\"status\"", 0, 0, NULL, 0, "malformed JSON" },
	{ "[\"status\"]", 0, 0, NULL, 0, "a JSON object" },
	{ "{\"command\":\"status\"} {}", 0, 0, NULL, 0, "malformed JSON" },
	/* the command */
	{ "{}", 0, 0, NULL, 0, "'command' (a string) is required" },
	{ "{\"command\":1}", 0, 0, NULL, 0, "'command' (a string)" },
	{ "{\"command\":\"stop\"}", 0, 0, NULL, 0, "unknown command 'stop'" },
	{ "{\"command\":\"status\",\"command\":\"reload\"}", 0, 0, NULL, 0,
	    "duplicate" },
	/* fields */
	{ "{\"command\":\"status\",\"service\":\"a\"}", 0, 0, NULL, 0,
	    "unexpected field 'service'" },
	{ "{\"command\":\"pause\"}", 0, 0, NULL, 0, "'service' is required" },
	{ "{\"command\":\"pause\",\"service\":\"\"}", 0, 0, NULL, 0,
	    "'service' must be" },
	{ "{\"command\":\"pause\",\"service\":7}", 0, 0, NULL, 0,
	    "'service' must be" },
	{ "{\"command\":\"kill-connection\"}", 0, 0, NULL, 0,
	    "'id' is required" },
	{ "{\"command\":\"kill-connection\",\"id\":0}", 0, 0, NULL, 0,
	    "positive integer" },
	{ "{\"command\":\"kill-connection\",\"id\":-3}", 0, 0, NULL, 0,
	    "positive integer" },
	{ "{\"command\":\"kill-connection\",\"id\":\"3\"}", 0, 0, NULL, 0,
	    "positive integer" },
	{ "{\"command\":\"kill-connection\",\"id\":1.5}", 0, 0, NULL, 0,
	    "positive integer" },
};

START_TEST(test_parse)
{
	struct control_req req;
	char err[256];
	int r;

	err[0] = '\0';
	r = control_parse(parse_cases[_i].line, strlen(parse_cases[_i].line),
	    &req, err, sizeof(err));
	if (parse_cases[_i].ok) {
		ck_assert_msg(r == 0, "%s: %s", parse_cases[_i].line, err);
		ck_assert_int_eq(req.cmd, parse_cases[_i].cmd);
		ck_assert_str_eq(req.service, parse_cases[_i].service);
		ck_assert_uint_eq(req.id, parse_cases[_i].id);
	} else {
		ck_assert_msg(r == -1, "%s: accepted", parse_cases[_i].line);
		ck_assert_msg(strstr(err, parse_cases[_i].err) != NULL,
		    "%s: '%s' lacks '%s'", parse_cases[_i].line, err,
		    parse_cases[_i].err);
	}
}
END_TEST

START_TEST(test_parse_long_service)
{
	char line[600], err[256];
	struct control_req req;

	snprintf(line, sizeof(line), "{\"command\":\"pause\",\"service\":"
	    "\"%0300d\"}", 0);
	ck_assert_int_eq(control_parse(line, strlen(line), &req, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "'service' must be"));
}
END_TEST

START_TEST(test_authorized)
{
	/* read-only: anyone the socket let in */
	ck_assert(control_authorized(CONTROL_STATUS, 1000, 0));
	ck_assert(control_authorized(CONTROL_SERVICES, 1000, 0));
	ck_assert(control_authorized(CONTROL_CONNECTIONS, 1000, 0));
	/* the rest: root, or porterd's own uid */
	ck_assert(!control_authorized(CONTROL_RELOAD, 1000, 0));
	ck_assert(!control_authorized(CONTROL_PAUSE, 1000, 0));
	ck_assert(!control_authorized(CONTROL_KILL, 1000, 998));
	ck_assert(control_authorized(CONTROL_RELOAD, 0, 998));
	ck_assert(control_authorized(CONTROL_DRAIN, 998, 998));
	ck_assert_str_eq(control_cmd_name(CONTROL_KILL), "kill-connection");
}
END_TEST

/* ------------------------------------------------------------ server */

static const char *fake_reload_errors;
static int fake_ops_calls;

static void
fake_status(struct control_status *out)
{
	out->config_path = "/etc/porter/porterd.conf";
	out->services = 1;
	out->live = 2;
	fake_ops_calls++;
}

static void
fake_services(void (*fn)(const struct control_service *, void *), void *arg)
{
	static const char *const ls[] = { "127.0.0.1:7" };
	static const char *const unb[] = { "[::1]:7" };	/* being retried */
	struct control_service s = {
		.name = "echo", .state = "bind failing: retrying",
		.kind = "plugin", .handler = "echo", .isolation = "thread",
		.listeners = ls, .nlisteners = 1, .unbound = unb,
		.nunbound = 1, .live = 2, .stats = NULL,
	};

	fn(&s, arg);
}

static unsigned fake_nconns = 1;

static int
fake_connections(const char *service,
    void (*fn)(const struct control_conn *, void *), void *arg)
{
	unsigned i;

	struct control_conn c = {
		.id = 7, .service = "echo", .peer = "127.0.0.1:4000",
		.local = "127.0.0.1:7", .age = 1.5, .idle = -1,
		.bytes_in = -1, .bytes_out = 3, .kind = "thread", .pid = 0,
	};

	if (service != NULL && strcmp(service, "echo") != 0)
		return -1;
	for (i = 0; i < fake_nconns; i++, c.id++)
		fn(&c, arg);
	return 0;
}

static void
fake_reload(uint64_t token, control_reload_done done)
{
	done(token, fake_reload_errors == NULL, fake_reload_errors);
}

static int
fake_service_op(const char *service, enum control_svc_op op, char *err,
    size_t errlen)
{
	(void)op;
	if (strcmp(service, "echo") != 0) {
		snprintf(err, errlen, "no service '%s'", service);
		return -1;
	}
	return 0;
}

static int
fake_kill(uint64_t id, char *err, size_t errlen)
{
	snprintf(err, errlen, "no live connection %llu",
	    (unsigned long long)id);
	return -1;
}

static const struct control_ops fake_ops = {
	.status = fake_status,
	.services = fake_services,
	.connections = fake_connections,
	.reload = fake_reload,
	.service_op = fake_service_op,
	.kill_conn = fake_kill,
};

static char sockdir[64], sockpath[128];
static int epfd = -1;
static struct control *ctl;

static void
server_up(void)
{
	char err[256];

	snprintf(sockdir, sizeof(sockdir), "/tmp/check-control-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sockdir));
	snprintf(sockpath, sizeof(sockpath), "%s/ctl", sockdir);
	ck_assert_int_ge(epfd = epoll_create1(EPOLL_CLOEXEC), 0);
	ctl = control_open(sockpath, (gid_t)-1, epfd, &fake_ops, err,
	    sizeof(err));
	ck_assert_msg(ctl != NULL, "%s", err);
}

static void
server_down(void)
{
	control_close(ctl);
	ctl = NULL;
	close(epfd);
	rmdir(sockdir);
}

/* Runs the server's events for up to ms milliseconds. */
static void
pump(int ms)
{
	struct epoll_event evs[16];
	int i, n;

	while ((n = epoll_wait(epfd, evs, 16, ms)) > 0) {
		for (i = 0; i < n; i++) {
			struct ev *ev = evs[i].data.ptr;

			ev->fn(ev, evs[i].events, NULL);
		}
		ms = 0;
	}
}

static int
client(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memcpy(sun.sun_path, sockpath, strlen(sockpath));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	pump(50);			/* accept */
	return fd;
}

static void
say(int fd, const char *text)
{
	ck_assert_int_eq(send(fd, text, strlen(text), MSG_NOSIGNAL),
	    (ssize_t)strlen(text));
	pump(50);
}

/* One answer line, parsed; NULL at EOF. */
static json_t *
answer(int fd)
{
	char buf[65536];
	size_t len = 0;
	ssize_t n;
	json_t *j;

	while (len < sizeof(buf) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		pump(0);
		if (poll(&p, 1, 50) == 0)
			continue;
		/* Byte by byte: a second answer stays for the next call. */
		if ((n = recv(fd, buf + len, 1, 0)) <= 0)
			return NULL;
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = '\0';
	j = json_loads(buf, 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", buf);
	return j;
}

/* Reads one answer and checks it says ok (json_is_true() is a macro
 * that evaluates its argument twice: never pass it answer()). */
static void
expect_ok(int fd)
{
	json_t *j = answer(fd);

	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
}

static void
expect_error(json_t *j, const char *substr)
{
	const char *e;

	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_false(json_object_get(j, "ok")));
	e = json_string_value(json_object_get(j, "error"));
	ck_assert_msg(e != NULL && strstr(e, substr) != NULL, "'%s' lacks '%s'",
	    e != NULL ? e : "(none)", substr);
	json_decref(j);
}

START_TEST(test_server_answers)
{
	json_t *j, *s;
	int fd;

	server_up();
	fd = client();
	say(fd, "{\"command\":\"status\"}\n");
	j = answer(fd);
	ck_assert(json_is_true(json_object_get(j, "ok")));
	s = json_object_get(j, "status");
	ck_assert_str_eq(json_string_value(json_object_get(s, "config")),
	    "/etc/porter/porterd.conf");
	ck_assert_int_eq(json_integer_value(json_object_get(s, "connections")),
	    2);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "pid")),
	    getpid());
	ck_assert_int_gt(json_integer_value(json_object_get(s, "fds")), 2);
	json_decref(j);
	/* the same connection goes on: services, then connections */
	say(fd, "{\"command\":\"services\"}\n{\"command\":\"connections\"}\n");
	j = answer(fd);
	s = json_array_get(json_object_get(j, "services"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(s, "name")), "echo");
	ck_assert_str_eq(json_string_value(json_array_get(
	    json_object_get(s, "listeners"), 0)), "127.0.0.1:7");
	ck_assert_str_eq(json_string_value(json_object_get(s, "state")),
	    "bind failing: retrying");
	ck_assert_int_eq(json_array_size(json_object_get(s, "unbound")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(
	    json_object_get(s, "unbound"), 0)), "[::1]:7");
	json_decref(j);
	j = answer(fd);
	s = json_array_get(json_object_get(j, "connections"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(s, "id")), 7);
	ck_assert(json_is_null(json_object_get(s, "idle")));
	ck_assert(json_is_null(json_object_get(s, "bytes_in")));
	ck_assert_int_eq(json_integer_value(json_object_get(s, "bytes_out")), 3);
	json_decref(j);
	close(fd);
	server_down();
}
END_TEST

/* One answer of any size, read in chunks (the only one expected). */
static json_t *
answer_big(int fd)
{
	size_t len = 0, cap = 1 << 20;
	char *buf = malloc(cap);
	json_t *j;
	ssize_t n;

	ck_assert_ptr_nonnull(buf);
	while (len == 0 || buf[len - 1] != '\n') {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		pump(0);
		if (poll(&p, 1, 50) == 0)
			continue;
		if (cap - len < 65536) {
			ck_assert_ptr_nonnull(buf = realloc(buf, cap *= 2));
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		ck_assert_int_gt(n, 0);
		len += (size_t)n;
	}
	buf[len] = '\0';
	j = json_loads(buf, 0, NULL);
	free(buf);
	ck_assert_ptr_nonnull(j);
	return j;
}

/*
 * More live connections than an answer lists: the first rows, the real
 * total, and "truncated" (the answer stays under CONTROL_REPLY_MAX).
 */
START_TEST(test_server_connections_truncated)
{
	json_t *j;
	int fd;

	server_up();
	fd = client();
	fake_nconns = CONTROL_CONN_ROWS_MAX + 5;
	say(fd, "{\"command\":\"connections\"}\n");
	j = answer_big(fd);
	fake_nconns = 1;
	ck_assert(json_is_true(json_object_get(j, "ok")));
	ck_assert(json_is_true(json_object_get(j, "truncated")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "total")),
	    CONTROL_CONN_ROWS_MAX + 5);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "connections")),
	    CONTROL_CONN_ROWS_MAX);
	json_decref(j);
	say(fd, "{\"command\":\"connections\"}\n");
	j = answer(fd);
	ck_assert(json_is_false(json_object_get(j, "truncated")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "total")), 1);
	json_decref(j);
	close(fd);
	server_down();
}
END_TEST

START_TEST(test_server_errors_keep_the_connection)
{
	int fd;

	server_up();
	fd = client();
	say(fd, "nonsense\r\n");
	expect_error(answer(fd), "malformed JSON");
	say(fd, "{\"command\":\"connections\",\"service\":\"nope\"}\n");
	expect_error(answer(fd), "no service 'nope'");
	say(fd, "{\"command\":\"pause\",\"service\":\"nope\"}\n");
	expect_error(answer(fd), "no service 'nope'");
	say(fd, "{\"command\":\"kill-connection\",\"id\":9}\n");
	expect_error(answer(fd), "no live connection 9");
	/* still served */
	say(fd, "{\"command\":\"pause\",\"service\":\"echo\"}\n");
	expect_ok(fd);
	close(fd);
	server_down();
}
END_TEST

START_TEST(test_server_reload_errors)
{
	json_t *j, *errs;
	int fd;

	server_up();
	fd = client();
	fake_reload_errors = "porterd.conf:3: no such option 'x'\n"
	    "porterd.conf:9: unknown plugin 'y'";
	say(fd, "{\"command\":\"reload\"}\n");
	j = answer(fd);
	ck_assert(json_is_false(json_object_get(j, "ok")));
	errs = json_object_get(j, "errors");
	ck_assert_int_eq(json_array_size(errs), 2);
	ck_assert_str_eq(json_string_value(json_array_get(errs, 0)),
	    "porterd.conf:3: no such option 'x'");
	ck_assert_str_eq(json_string_value(json_array_get(errs, 1)),
	    "porterd.conf:9: unknown plugin 'y'");
	json_decref(j);
	fake_reload_errors = NULL;
	say(fd, "{\"command\":\"reload\"}\n");
	expect_ok(fd);
	close(fd);
	server_down();
}
END_TEST

START_TEST(test_server_oversized_closes_only_that_client)
{
	char big[CONTROL_REQUEST_MAX + 100];
	int bad, good;

	server_up();
	good = client();
	bad = client();
	say(good, "{\"command\":");	/* half a request, pending */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	say(bad, big);
	expect_error(answer(bad), "longer than 4096 bytes");
	ck_assert_ptr_null(answer(bad));	/* and closed */
	close(bad);
	say(good, "\"status\"}\n");
	expect_ok(good);
	close(good);
	server_down();
}
END_TEST

START_TEST(test_server_last_line_at_eof)
{
	int fd;

	server_up();
	fd = client();
	say(fd, "{\"command\":\"status\"}");	/* no newline, then EOF */
	shutdown(fd, SHUT_WR);
	pump(50);
	expect_ok(fd);
	ck_assert_ptr_null(answer(fd));		/* then closed */
	close(fd);
	server_down();
}
END_TEST

START_TEST(test_server_too_many_clients)
{
	int fds[CONTROL_MAX_CLIENTS + 1], i;

	server_up();
	for (i = 0; i <= CONTROL_MAX_CLIENTS; i++)
		fds[i] = client();
	expect_error(answer(fds[CONTROL_MAX_CLIENTS]), "too many control");
	say(fds[0], "{\"command\":\"status\"}\n");
	expect_ok(fds[0]);
	for (i = 0; i <= CONTROL_MAX_CLIENTS; i++)
		close(fds[i]);
	server_down();
}
END_TEST

START_TEST(test_open_stale_and_live)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control *second;
	struct stat st;
	char err[256];
	int fd;

	snprintf(sockdir, sizeof(sockdir), "/tmp/check-control-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sockdir));
	snprintf(sockpath, sizeof(sockpath), "%s/ctl", sockdir);
	/* a socket file whose server is gone */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sun.sun_path, sockpath, strlen(sockpath));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	ctl = control_open(sockpath, (gid_t)-1, epfd, &fake_ops, err,
	    sizeof(err));
	ck_assert_msg(ctl != NULL, "stale socket not replaced: %s", err);
	ck_assert_int_eq(stat(sockpath, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0660);
	/* a live one is not taken over */
	second = control_open(sockpath, (gid_t)-1, epfd, &fake_ops, err,
	    sizeof(err));
	ck_assert_ptr_null(second);
	ck_assert_ptr_nonnull(strstr(err, "another process is serving it"));
	server_down();
	ck_assert_int_eq(stat(sockpath, &st), -1);	/* unlinked */
	/* not a socket: refused, left alone */
	ck_assert_int_eq(mkdir(sockdir, 0700), 0);
	fd = open(sockpath, O_CREAT | O_WRONLY, 0600);
	close(fd);
	ck_assert_ptr_null(control_open(sockpath, (gid_t)-1, epfd, &fake_ops,
	    err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "is not a socket"));
	unlink(sockpath);
	rmdir(sockdir);
}
END_TEST

static Suite *
control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("protocol");

	tcase_add_loop_test(tc, test_parse, 0,
	    sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_test(tc, test_parse_long_service);
	tcase_add_test(tc, test_authorized);
	suite_add_tcase(s, tc);
	tc = tcase_create("server");
	tcase_add_test(tc, test_server_answers);
	tcase_add_test(tc, test_server_errors_keep_the_connection);
	tcase_add_test(tc, test_server_reload_errors);
	tcase_add_test(tc, test_server_oversized_closes_only_that_client);
	tcase_add_test(tc, test_server_last_line_at_eof);
	tcase_add_test(tc, test_server_too_many_clients);
	tcase_add_test(tc, test_server_connections_truncated);
	tcase_add_test(tc, test_open_stale_and_live);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(control_suite)
