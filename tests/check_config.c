/*
 * check_config.c -- porterd's configuration: daemon/conf.c, conf_service.c,
 * conf_include.c and conf_limits.c.
 *
 * Each test runs in a directory of its own: the fixture makes one with
 * mkdtemp() and chdirs there, so a test writes porterd.conf (and conf.d/
 * drop-ins) and loads "porterd.conf", and every expected message reads as
 * an operator would see it: "porterd.conf:3: ...".  Check's fork mode
 * keeps the chdir and any crash inside the test.  The sanitizer build runs
 * the same tests under ASan and LeakSanitizer, error paths included.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "porter/socket.h"
#include "conf.h"
#include "conf_edge.h"
#include "proxy.h"
#include "tls.h"
#include "log.h"	/* LOG_TARGET_*, log_level values */
#include "check_common.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

static char dir[PATH_MAX];	/* the test's own directory */
static char err[512];		/* the last config_load() message */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/check_config.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chdir(dir), 0);
	/* Files a test writes are root's 0644 when it runs as root: trusted. */
	umask(022);
}

static void
teardown(void)
{
	ck_assert_int_eq(chdir("/"), 0);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to path (relative: in the test's directory), making its
 * directories as needed. */
static void
put(const char *path, const char *text)
{
	char d[PATH_MAX], *slash;
	FILE *f;

	snprintf(d, sizeof(d), "%s", path);
	for (slash = strchr(d, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		ck_assert(mkdir(d, 0755) == 0 || errno == EEXIST);
		*slash = '/';
	}
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static struct config *
load(const char *text)
{
	struct config *cfg;

	put("porterd.conf", text);
	cfg = config_load("porterd.conf", err, sizeof(err));
	if (cfg == NULL)
		fprintf(stderr, "config_load: %s\n", err);
	return cfg;
}

static void
load_fails(const char *text, const char *msg)
{
	struct config *cfg;

	put("porterd.conf", text);
	cfg = config_load("porterd.conf", err, sizeof(err));
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, msg);
}

static const char *
addr_text(const struct listen_spec *l)
{
	static char buf[PT_ADDRSTRLEN];

	return pt_addr_format(&l->addr, buf, sizeof(buf));
}

/* ------------------------------------------------------------------------
 * Valid configurations
 * ---------------------------------------------------------------------- */

/* Every option written out, every field of the result checked. */
START_TEST(test_full)
{
	struct config *cfg = load(
	    "plugin-dir = \"/opt/porter/plugins\"\n"
	    "user = \"daemon\"\n"
	    "group = \"daemon\"\n"
	    "log-target = stderr\n"
	    "log-level = debug\n"
	    "pid-file = \"/run/porterd-test.pid\"\n"
	    "shutdown-timeout = 3\n"
	    "include = { \"conf.d/*.conf\" }\n"
	    "strict-start = yes\n"
	    "service full {\n"					/* 10 */
	    "	listen = { \"127.0.0.1:7007\", \"[::1]\",\n"
	    "	    \"/run/full.sock\", \"@full\", \"fd:full\" }\n"
	    "	port = 7008\n"
	    "	type = stream\n"
	    "	protocol = tcp\n"
	    "	exec = \"/bin/sh\"\n"
	    "	args = { \"-c\", \"cat\" }\n"
	    "	env = { \"LANG=C\", \"X_1=\" }\n"
	    "	stderr = socket\n"
	    "	wait = true\n"
	    "	user = \"root\"\n"
	    "	group = \"daemon\"\n"
	    "	backlog = 64\n"
	    "	options = { \"SO_KEEPALIVE\", \"TCP_NODELAY\",\n"
	    "	    \"SO_RCVBUF=65536\" }\n"
	    "	disable = false\n"
	    "}\n"
	    "service plug {\n"					/* 28 */
	    "	listen = { \"127.0.0.1:7009\" }\n"
	    "	plugin = \"echo\"\n"
	    "	args = { \"width=72\" }\n"
	    "	isolation = process\n"
	    "}\n");
	const struct service *s;

	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->path, "porterd.conf");
	ck_assert_str_eq(cfg->plugin_dir, "/opt/porter/plugins");
	ck_assert_str_eq(cfg->pid_file, "/run/porterd-test.pid");
	ck_assert_int_eq(cfg->log_target, LOG_TARGET_STDERR);
	ck_assert_int_eq(cfg->log_level, LOG_DEBUG);
	ck_assert_int_eq(cfg->shutdown_timeout, 3);
	ck_assert(cfg->strict_start);
	ck_assert_ptr_null(cfg->included[0]);
	ck_assert_ptr_null(cfg->skipped[0]);
	ck_assert_uint_eq(cfg->nservices, 2);

	s = config_find(cfg, "full");
	ck_assert_ptr_eq(s, cfg->services[0]);
	ck_assert_str_eq(s->name, "full");
	ck_assert_str_eq(s->file, "porterd.conf");
	ck_assert_int_eq(s->line, 10);
	ck_assert_int_eq(s->socktype, SOCK_STREAM);
	ck_assert_int_eq(s->protocol, IPPROTO_TCP);
	ck_assert_str_eq(s->protocol_name, "tcp");
	ck_assert_int_eq(s->port, 7008);
	ck_assert_uint_eq(s->nlistens, 5);
	ck_assert_str_eq(s->listens[0].text, "127.0.0.1:7007");
	ck_assert_str_eq(addr_text(&s->listens[0]), "127.0.0.1:7007");
	ck_assert_ptr_null(s->listens[0].fd_name);
	ck_assert_str_eq(addr_text(&s->listens[1]), "[::1]:7008");
	ck_assert_str_eq(addr_text(&s->listens[2]), "/run/full.sock");
	ck_assert_str_eq(addr_text(&s->listens[3]), "@full");
	ck_assert_str_eq(s->listens[4].text, "fd:full");
	ck_assert_str_eq(s->listens[4].fd_name, "full");
	ck_assert_int_eq(s->backlog, 64);
	ck_assert_uint_eq(s->nopts, 3);
	ck_assert_str_eq(s->opts[0].text, "SO_KEEPALIVE");
	ck_assert_int_eq(s->opts[0].level, SOL_SOCKET);
	ck_assert_int_eq(s->opts[0].name, SO_KEEPALIVE);
	ck_assert_int_eq(s->opts[0].value, 1);
	ck_assert_int_eq(s->opts[1].level, IPPROTO_TCP);
	ck_assert_int_eq(s->opts[1].name, TCP_NODELAY);
	ck_assert_int_eq(s->opts[1].value, 1);
	ck_assert_int_eq(s->opts[2].level, SOL_SOCKET);
	ck_assert_int_eq(s->opts[2].name, SO_RCVBUF);
	ck_assert_int_eq(s->opts[2].value, 65536);
	ck_assert_int_eq(s->kind, HANDLER_EXEC);
	ck_assert_str_eq(s->handler, "/bin/sh");
	ck_assert_uint_eq(s->nargs, 2);
	ck_assert_str_eq(s->args[0], "-c");
	ck_assert_str_eq(s->args[1], "cat");
	ck_assert_ptr_null(s->args[2]);
	ck_assert_uint_eq(s->nenv, 2);
	ck_assert_str_eq(s->env[0], "LANG=C");
	ck_assert_str_eq(s->env[1], "X_1=");
	ck_assert_ptr_null(s->env[2]);
	ck_assert_int_eq(s->stderr_mode, STDERR_SOCKET);
	ck_assert(s->wait);
	ck_assert(s->set_user);
	ck_assert_str_eq(s->user, "root");
	ck_assert_int_eq(s->uid, 0);
	ck_assert_int_eq(s->gid, 1);	/* the section's group, daemon */

	s = config_find(cfg, "plug");
	ck_assert_ptr_eq(s, cfg->services[1]);
	ck_assert_int_eq(s->line, 28);
	ck_assert_int_eq(s->kind, HANDLER_PLUGIN);
	ck_assert_str_eq(s->handler, "echo");
	ck_assert_uint_eq(s->nargs, 1);
	ck_assert_str_eq(s->args[0], "width=72");
	ck_assert_uint_eq(s->nenv, 0);
	ck_assert_ptr_null(s->env[0]);
	ck_assert_int_eq(s->isolation, ISOLATION_PROCESS);
	/* The global user and group. */
	ck_assert(s->set_user);
	ck_assert_str_eq(s->user, "daemon");
	ck_assert_int_eq(s->uid, 1);
	ck_assert_int_eq(s->gid, 1);

	ck_assert_ptr_null(config_find(cfg, "nosuch"));
	config_free(cfg);
}
END_TEST

/* Everything left out takes its documented default. */
START_TEST(test_defaults)
{
	struct config *cfg = load(
	    "service s {\n"
	    "	plugin = \"echo\"\n"
	    "	port = 7007\n"
	    "}\n"
	    "service d {\n"
	    "	plugin = \"echo\"\n"
	    "	port = 7007\n"
	    "	type = dgram\n"
	    "}\n");
	const struct service *s;

	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->plugin_dir, PLUGINDIR);
	ck_assert_ptr_null(cfg->pid_file);
	ck_assert_int_eq(cfg->log_target, LOG_TARGET_SYSLOG);
	ck_assert_int_eq(cfg->log_level, LOG_INFO);
	ck_assert_int_eq(cfg->shutdown_timeout, 10);
	ck_assert_uint_eq(cfg->fiber_stall_ms, 1000);
	ck_assert(!cfg->strict_start);	/* bind failures are retried */
	ck_assert_ptr_nonnull(cfg->included);
	ck_assert_ptr_null(cfg->included[0]);
	ck_assert_ptr_nonnull(cfg->skipped);
	ck_assert_ptr_null(cfg->skipped[0]);

	s = config_find(cfg, "s");
	ck_assert_int_eq(s->socktype, SOCK_STREAM);
	ck_assert_int_eq(s->protocol, IPPROTO_TCP);
	ck_assert_str_eq(s->protocol_name, "tcp");
	/* All interfaces, IPv4, as classic inetd. */
	ck_assert_uint_eq(s->nlistens, 1);
	ck_assert_str_eq(s->listens[0].text, "*");
	ck_assert_str_eq(addr_text(&s->listens[0]), "0.0.0.0:7007");
	ck_assert_int_eq(s->backlog, 128);
	ck_assert_uint_eq(s->nopts, 0);
	ck_assert_uint_eq(s->nargs, 0);
	ck_assert_ptr_null(s->args[0]);
	ck_assert_ptr_null(s->argv0);
	ck_assert_int_eq(s->stderr_mode, STDERR_LOG);
	ck_assert_int_eq(s->isolation, ISOLATION_THREAD);
	ck_assert(!s->wait);
	ck_assert(!s->set_user);
	ck_assert_ptr_null(s->user);

	s = config_find(cfg, "d");
	ck_assert_int_eq(s->socktype, SOCK_DGRAM);
	ck_assert_int_eq(s->protocol, IPPROTO_UDP);
	ck_assert_str_eq(s->protocol_name, "udp");
	ck_assert(s->wait);
	config_free(cfg);
}
END_TEST

/* fiber-stall: seconds, fractions allowed, kept in milliseconds. */
static const struct {
	const char *text;
	unsigned ms;
} fiber_stall_cases[] = {
	{ "fiber-stall = 0.2\n", 200 },		/* the point of a float */
	{ "fiber-stall = 2\n", 2000 },		/* a whole number */
	{ "fiber-stall = 0.01\n", 10 },		/* the least */
	{ "fiber-stall = 3600\n", 3600000 },	/* the most */
	{ "fiber-stall = 0.0104\n", 10 },	/* rounded to a millisecond */
};

START_TEST(test_fiber_stall)
{
	struct config *cfg = load(fiber_stall_cases[_i].text);

	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->fiber_stall_ms, fiber_stall_cases[_i].ms);
	config_free(cfg);
}
END_TEST

/* argv0: the name the program sees, separate from the path it runs. */
START_TEST(test_argv0)
{
	struct config *cfg = load(
	    "service finger {\n"
	    "	port = 7079\n"
	    "	exec = \"/bin/sh\"\n"
	    "	user = \"root\"\n"
	    "	argv0 = \"in.fingerd\"\n"
	    "	args = { \"-c\", \"true\" }\n"
	    "}\n");
	const struct service *s;

	ck_assert_ptr_nonnull(cfg);
	s = config_find(cfg, "finger");
	ck_assert_str_eq(s->handler, "/bin/sh");
	ck_assert_str_eq(s->argv0, "in.fingerd");
	ck_assert_uint_eq(s->nargs, 2);
	config_free(cfg);
}
END_TEST

/* No port: the service's name in /etc/services, for its protocol. */
START_TEST(test_port_from_services)
{
	struct config *cfg = load(
	    "service echo {\n"
	    "	listen = { \"127.0.0.1\", \"[::1]\", \"127.0.0.1:2007\" }\n"
	    "	plugin = \"echo\"\n"
	    "}\n"
	    "service discard {\n"
	    "	type = dgram\n"
	    "	plugin = \"discard\"\n"
	    "}\n");
	const struct service *s;

	ck_assert_ptr_nonnull(cfg);
	s = config_find(cfg, "echo");
	ck_assert_int_eq(s->port, 7);
	ck_assert_str_eq(addr_text(&s->listens[0]), "127.0.0.1:7");
	ck_assert_str_eq(addr_text(&s->listens[1]), "[::1]:7");
	ck_assert_str_eq(addr_text(&s->listens[2]), "127.0.0.1:2007");
	s = config_find(cfg, "discard");
	ck_assert_int_eq(s->port, 9);
	ck_assert_str_eq(addr_text(&s->listens[0]), "0.0.0.0:9");
	config_free(cfg);
}
END_TEST

/* A socket systemd passes needs no port and no /etc/services entry. */
START_TEST(test_fd_listen)
{
	struct config *cfg = load(
	    "service no-such-service-name {\n"
	    "	listen = { \"fd:web\", \"/run/x.sock\" }\n"
	    "	plugin = \"echo\"\n"
	    "}\n");
	const struct service *s;

	ck_assert_ptr_nonnull(cfg);
	s = cfg->services[0];
	ck_assert_int_eq(s->port, -1);
	ck_assert_uint_eq(s->nlistens, 2);
	ck_assert_str_eq(s->listens[0].fd_name, "web");
	ck_assert_ptr_null(s->listens[1].fd_name);
	ck_assert_str_eq(addr_text(&s->listens[1]), "/run/x.sock");
	config_free(cfg);
}
END_TEST

/* A disabled service is checked, then left out of the table. */
START_TEST(test_disable)
{
	struct config *cfg = load(
	    "service on {\n"
	    "	plugin = \"echo\"\n"
	    "	port = 7\n"
	    "}\n"
	    "service off {\n"
	    "	plugin = \"echo\"\n"
	    "	port = 7\n"
	    "	disable = true\n"
	    "}\n");

	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->nservices, 1);
	ck_assert_ptr_nonnull(config_find(cfg, "on"));
	ck_assert_ptr_null(config_find(cfg, "off"));
	config_free(cfg);

	load_fails(
	    "service off {\n"
	    "	plugin = \"echo\"\n"
	    "	port = 7\n"
	    "	backlog = 0\n"
	    "	disable = true\n"
	    "}\n",
	    "porterd.conf:4: service 'off': backlog must be at least 1");
}
END_TEST

/* Users and groups by name or number, own or global. */
START_TEST(test_users)
{
	struct config *cfg = load(
	    "group = \"root\"\n"
	    "service a {\n"
	    "	plugin = \"echo\"\n"
	    "	port = 7\n"
	    "	user = \"daemon\"\n"		/* global group wins */
	    "}\n"
	    "service b {\n"
	    "	plugin = \"echo\"\n"
	    "	port = 7\n"
	    "	user = \"3999999999\"\n"	/* a uid with no entry */
	    "	group = \"4000\"\n"
	    "}\n");
	const struct service *s;

	ck_assert_ptr_nonnull(cfg);
	s = config_find(cfg, "a");
	ck_assert(s->set_user);
	ck_assert_int_eq(s->uid, 1);
	ck_assert_int_eq(s->gid, 0);
	s = config_find(cfg, "b");
	ck_assert(s->set_user);
	ck_assert_str_eq(s->user, "3999999999");
	ck_assert_uint_eq(s->uid, 3999999999u);
	ck_assert_int_eq(s->gid, 4000);
	config_free(cfg);
}
END_TEST

/*
 * libconfuse 3.3 counts a comment's newline twice and rejects a comment
 * inside a list; the loader strips comments first, so neither shows.
 */
START_TEST(test_comments)
{
	struct config *cfg = load(
	    "# one\n"
	    "// two\n"
	    "/* three\n"
	    "   four */\n"
	    "service a {	# five\n"				/* 5 */
	    "	listen = { \"127.0.0.1:1\",	# six\n"
	    "	    \"127.0.0.1:2\" }	// seven\n"
	    "	plugin = \"a#b//c\"\n"
	    "	args = { 'x # y', \"/* z */\" }\n"
	    "}\n");

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->services[0]->line, 5);
	ck_assert_uint_eq(cfg->services[0]->nlistens, 2);
	ck_assert_str_eq(cfg->services[0]->handler, "a#b//c");
	ck_assert_str_eq(cfg->services[0]->args[0], "x # y");
	ck_assert_str_eq(cfg->services[0]->args[1], "/* z */");
	config_free(cfg);

	load_fails(
	    "# one\n"
	    "# two\n"
	    "service a {\n"
	    "	plugin = \"echo\"\n"
	    "	port = 7\n"
	    "	backlog = \"x\"\n"
	    "}\n",
	    "porterd.conf:6: invalid integer value for option 'backlog'");
}
END_TEST

/* An error inside a section is blamed on the section's first line. */
START_TEST(test_section_line)
{
	load_fails(
	    "\n"
	    "service\n"
	    "    a\n"
	    "{\n"
	    "	port = 7\n"
	    "}\n",
	    "porterd.conf:2: service 'a': needs plugin or exec");
}
END_TEST

/* ------------------------------------------------------------------------
 * Limits and access control
 * ---------------------------------------------------------------------- */

/* A minimal valid service, with more options (body) before its '}'. */
#define SVC_PLAIN_WITH(name, body) \
	"service " name " {\n\tplugin = \"echo\"\n\tport = 7\n" body "}\n"
#define SVC_PLAIN(name) SVC_PLAIN_WITH(name, "")

/* "allow 10.0.0.0/8": a rule as the daemon will match it. */
static const char *
rule_text(const struct acl_rule *r)
{
	static char buf[INET6_ADDRSTRLEN + 16];
	char a[INET6_ADDRSTRLEN];

	ck_assert_ptr_nonnull(inet_ntop(r->family, r->addr, a, sizeof(a)));
	snprintf(buf, sizeof(buf), "%s %s/%u", r->allow ? "allow" : "deny", a,
	    r->prefix);
	return buf;
}

/* The global options are the defaults; a section overrides each alone. */
START_TEST(test_limits)
{
	struct config *cfg;
	const struct limits_spec *l;

	put("conf.d/d.conf", "service d {\n\tplugin = \"echo\"\n\tport = 7\n}\n");
	cfg = load(
	    "include = { \"conf.d/*.conf\" }\n"
	    "max-connections = 100\n"
	    "reject-message = \"busy\\r\\n\"\n"
	    "max-per-source = 10\n"
	    "ipv6-prefix = 56\n"
	    "rate = 20.5\n"
	    "burst = 40\n"
	    "idle-timeout = 300\n"
	    "max-lifetime = 3600\n"
	    "service all {\n"
	    "	plugin = \"echo\"\n"
	    "	port = 7\n"
	    "	max-connections = 0\n"
	    "	reject-message = \"\"\n"
	    "	max-per-source = 2\n"
	    "	ipv6-prefix = 128\n"
	    "	rate = 0.5\n"
	    "	burst = 3\n"
	    "	idle-timeout = 0\n"
	    "	max-lifetime = 60\n"
	    "}\n"
	    "service some {\n"
	    "	plugin = \"echo\"\n"
	    "	port = 7\n"
	    "	max-per-source = 3\n"
	    "	rate = 100\n"			/* the global burst stays */
	    "}\n");

	ck_assert_ptr_nonnull(cfg);
	l = &cfg->limits;
	ck_assert_uint_eq(l->max_conns, 100);
	ck_assert_str_eq(l->reject_message, "busy\r\n");
	ck_assert_uint_eq(l->reject_len, 6);
	ck_assert_uint_eq(l->max_per_source, 10);
	ck_assert_uint_eq(l->ipv6_prefix, 56);
	ck_assert_double_eq(l->rate, 20.5);
	ck_assert_uint_eq(l->burst, 40);
	ck_assert_uint_eq(l->idle_timeout, 300);
	ck_assert_uint_eq(l->max_lifetime, 3600);

	l = &config_find(cfg, "all")->limits;
	ck_assert_uint_eq(l->max_conns, 0);
	ck_assert_str_eq(l->reject_message, "");	/* accept, then close */
	ck_assert_uint_eq(l->reject_len, 0);
	ck_assert_uint_eq(l->max_per_source, 2);
	ck_assert_uint_eq(l->ipv6_prefix, 128);
	ck_assert_double_eq(l->rate, 0.5);
	ck_assert_uint_eq(l->burst, 3);
	ck_assert_uint_eq(l->idle_timeout, 0);
	ck_assert_uint_eq(l->max_lifetime, 60);

	l = &config_find(cfg, "some")->limits;
	ck_assert_uint_eq(l->max_conns, 100);
	ck_assert_str_eq(l->reject_message, "busy\r\n");
	ck_assert_ptr_ne(l->reject_message, cfg->limits.reject_message);
	ck_assert_uint_eq(l->max_per_source, 3);
	ck_assert_double_eq(l->rate, 100);
	ck_assert_uint_eq(l->burst, 40);
	ck_assert_uint_eq(l->max_lifetime, 3600);

	/* A drop-in's service inherits the same way. */
	l = &config_find(cfg, "d")->limits;
	ck_assert_uint_eq(l->max_conns, 100);
	ck_assert_uint_eq(l->reject_len, 6);
	ck_assert_uint_eq(l->ipv6_prefix, 56);
	ck_assert_uint_eq(l->burst, 40);
	config_free(cfg);
}
END_TEST

/*
 * Wait services: the global max-connections, max-per-source, idle-timeout
 * and reject-message do not apply (no error); rate and burst do, and so
 * does max-lifetime where porterd can stop the handler (exec, process).
 */
START_TEST(test_limits_wait)
{
	struct config *cfg;
	const struct limits_spec *l;

	cfg = load(
	    "max-connections = 100\n"
	    "reject-message = \"busy\"\n"
	    "max-per-source = 10\n"
	    "idle-timeout = 300\n"
	    "max-lifetime = 3600\n"
	    "rate = 5\n"
	    "service thread {\n"
	    "	plugin = \"echo\"\n"
	    "	port = 7\n"
	    "	type = dgram\n"
	    "}\n"
	    "service proc {\n"
	    "	plugin = \"echo\"\n"
	    "	port = 7\n"
	    "	type = dgram\n"
	    "	isolation = process\n"
	    "	user = \"nobody\"\n"
	    "	max-lifetime = 5\n"
	    "}\n"
	    "service prog {\n"
	    "	exec = \"/bin/cat\"\n"
	    "	port = 7\n"
	    "	wait = true\n"
	    "	user = \"nobody\"\n"
	    "	rate = 1\n"
	    "	burst = 2\n"
	    "	max-lifetime = 9\n"
	    "}\n");

	ck_assert_ptr_nonnull(cfg);
	l = &config_find(cfg, "thread")->limits;
	ck_assert_uint_eq(l->max_conns, 0);
	ck_assert_uint_eq(l->max_per_source, 0);
	ck_assert_uint_eq(l->idle_timeout, 0);
	ck_assert_ptr_null(l->reject_message);
	ck_assert_uint_eq(l->max_lifetime, 0);	/* a thread: cannot apply */
	ck_assert_double_eq(l->rate, 5);
	l = &config_find(cfg, "proc")->limits;
	ck_assert_uint_eq(l->max_conns, 0);
	ck_assert_uint_eq(l->max_lifetime, 5);
	l = &config_find(cfg, "prog")->limits;
	ck_assert_uint_eq(l->max_conns, 0);
	ck_assert_uint_eq(l->idle_timeout, 0);
	ck_assert_double_eq(l->rate, 1);
	ck_assert_uint_eq(l->burst, 2);
	ck_assert_uint_eq(l->max_lifetime, 9);
	config_free(cfg);
}
END_TEST

/* Nothing written, or every default written out: the same limits. */
static const char *const defaults_conf[] = {
	SVC_PLAIN("s"),
	"max-connections = 256\nmax-per-source = 32\nipv6-prefix = 64\n"
	"rate = 0\nburst = 0\nidle-timeout = 0\nmax-lifetime = 0\n"
	SVC_PLAIN_WITH("s", "\tmax-connections = 256\n\tburst = 0\n"),
};

START_TEST(test_limits_defaults)
{
	struct config *cfg = load(defaults_conf[_i]);
	const struct service *s;
	const struct limits_spec *l;
	int i;

	ck_assert_ptr_nonnull(cfg);
	ck_assert_ptr_null(cfg->run_as);
	s = cfg->services[0];
	for (i = 0; i < 2; i++) {
		l = i == 0 ? &cfg->limits : &s->limits;
		ck_assert_uint_eq(l->max_conns, 256);
		ck_assert_ptr_null(l->reject_message);
		ck_assert_uint_eq(l->reject_len, 0);
		ck_assert_uint_eq(l->max_per_source, 32);
		ck_assert_uint_eq(l->ipv6_prefix, 64);
		ck_assert_double_eq(l->rate, 0);
		ck_assert_uint_eq(l->burst, 1);
		ck_assert_uint_eq(l->idle_timeout, 0);
		ck_assert_uint_eq(l->max_lifetime, 0);
	}
	ck_assert_ptr_null(s->acl);
	ck_assert_uint_eq(s->nacl, 0);
	ck_assert_ptr_null(s->allow_uids);
	ck_assert_uint_eq(s->nallow_uids, 0);
	ck_assert_ptr_null(s->allow_gids);
	ck_assert_uint_eq(s->nallow_gids, 0);
	config_free(cfg);
}
END_TEST

/*
 * Unwritten or 0, burst is max(1, ceil(rate)) of the service's own rate;
 * a written one is inherited like any other limit.
 */
START_TEST(test_burst_derived)
{
	struct config *cfg = load(
	    "rate = 2.5\n"
	    "burst = 0\n"			/* the default, written out */
	    SVC_PLAIN("a")
	    SVC_PLAIN_WITH("b", "\trate = 100\n")
	    SVC_PLAIN_WITH("c", "\trate = 0.25\n")
	    SVC_PLAIN_WITH("d", "\trate = 0\n\tburst = 9\n"));

	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->limits.burst, 3);
	ck_assert_uint_eq(config_find(cfg, "a")->limits.burst, 3);
	ck_assert_uint_eq(config_find(cfg, "b")->limits.burst, 100);
	ck_assert_uint_eq(config_find(cfg, "c")->limits.burst, 1);
	/* Without a rate, a burst is unused but kept. */
	ck_assert_double_eq(config_find(cfg, "d")->limits.rate, 0);
	ck_assert_uint_eq(config_find(cfg, "d")->limits.burst, 9);
	config_free(cfg);

	cfg = load(
	    "rate = 1\n"
	    "burst = 5\n"
	    SVC_PLAIN_WITH("a", "\trate = 100\n")
	    SVC_PLAIN_WITH("b", "\trate = 100\n\tburst = 0\n"));
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(config_find(cfg, "a")->limits.burst, 5);
	ck_assert_uint_eq(config_find(cfg, "b")->limits.burst, 100);
	config_free(cfg);
}
END_TEST

/* Every entry form, canonicalised; allow entries first, then deny. */
START_TEST(test_acl)
{
	static const char *const want[] = {
		"allow 127.0.0.0/8",
		"allow 10.1.2.3/32",		/* no prefix: the host */
		"allow ::1/128",
		"allow 2001:db8::/32",
		"allow 10.0.0.0/8",		/* ::ffff:10.0.0.0/104 */
		"allow 192.0.2.7/32",		/* ::ffff:192.0.2.7 */
		"allow 10.0.0.0/8",		/* 10.9.8.7/8: host bits */
		"allow 2001:db8:8000::/33",	/* 2001:db8:ffff::1/33 */
		"allow 0.0.0.0/0",		/* all */
		"allow ::/0",
		"deny 0.0.0.0/0",		/* * */
		"deny ::/0",
		"deny 192.168.1.128/25",
	};
	struct config *cfg = load(SVC_PLAIN_WITH("s",
	    "\tallow = { \"127.0.0.0/8\", \"10.1.2.3\", \"::1\",\n"
	    "\t    \"2001:db8::/32\", \"::ffff:10.0.0.0/104\",\n"
	    "\t    \"::ffff:192.0.2.7\", \"10.9.8.7/8\",\n"
	    "\t    \"2001:db8:ffff::1/33\", all }\n"
	    "\tdeny = { \"*\", \"192.168.1.200/25\" }\n"));
	const struct service *s;
	size_t i;

	ck_assert_ptr_nonnull(cfg);
	s = cfg->services[0];
	ck_assert_uint_eq(s->nacl, nitems(want));
	for (i = 0; i < s->nacl; i++)
		ck_assert_str_eq(rule_text(&s->acl[i]), want[i]);
	/* The text stays as written, for the log. */
	ck_assert_str_eq(s->acl[4].text, "::ffff:10.0.0.0/104");
	ck_assert_str_eq(s->acl[6].text, "10.9.8.7/8");
	ck_assert_str_eq(s->acl[8].text, "all");
	ck_assert_str_eq(s->acl[9].text, "all");
	ck_assert_str_eq(s->acl[10].text, "*");
	ck_assert_int_eq(s->acl[4].family, AF_INET);
	/* Past an IPv4 rule's four bytes, nothing. */
	for (i = 4; i < 16; i++)
		ck_assert_uint_eq(s->acl[4].addr[i], 0);
	config_free(cfg);
}
END_TEST

/* proxy-protocol, proxy-from, proxy-timeout, tls { ... }: every value. */
START_TEST(test_edge)
{
	struct config *cfg = load(
	    "service p {\n\tplugin = \"echo\"\n\tport = 7\n"
	    "\tproxy-protocol = any\n"
	    "\tproxy-from = { \"10.9.8.7/8\", \"::1\",\n"
	    "\t    \"::ffff:192.0.2.0/120\" }\n"
	    "\tproxy-timeout = 2\n"
	    "\ttls {\n"
	    "\t\tcertificate = \"/c.pem\"\n"
	    "\t\tkey = \"/k.pem\"\n"
	    "\t\tca = \"/ca.pem\"\n"
	    "\t\tverify-client = require\n"
	    "\t\tmin-version = \"TLSv1.3\"\n"
	    "\t\tciphers = \"ECDHE+AESGCM\"\n"
	    "\t\talpn = { \"h2\", \"http/1.1\" }\n"
	    "\t\thandshake-timeout = 3\n"
	    "\t}\n}\n"
	    "service q {\n\tplugin = \"echo\"\n\tport = 8\n"
	    "\ttls {\n\t\tkey = \"/k\"\n\t\tcertificate = \"/c\"\n"
	    "\t}\n}\n"
	    "service r {\n\tplugin = \"echo\"\n\tport = 9\n}\n");
	const struct edge_spec *e;
	uint8_t a[16] = { 0 };

	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->nservices, 3);
	e = cfg->services[0]->edge;
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->proxy, PROXY_ANY);
	ck_assert_uint_eq(e->proxy_ms, 2000);
	ck_assert_uint_eq(e->nproxy_from, 3);
	/* Host bits cleared; a v4-mapped prefix is an IPv4 one. */
	ck_assert_int_eq(e->proxy_from[0].family, AF_INET);
	ck_assert_uint_eq(e->proxy_from[0].prefix, 8);
	ck_assert_uint_eq(e->proxy_from[0].addr[0], 10);
	ck_assert_uint_eq(e->proxy_from[0].addr[1], 0);
	ck_assert_int_eq(e->proxy_from[1].family, AF_INET6);
	ck_assert_uint_eq(e->proxy_from[1].prefix, 128);
	ck_assert_int_eq(e->proxy_from[2].family, AF_INET);
	ck_assert_uint_eq(e->proxy_from[2].prefix, 24);
	/* Matching */
	ck_assert_int_eq(inet_pton(AF_INET, "10.200.1.1", a), 1);
	ck_assert(conf_edge_from(e, AF_INET, a));
	ck_assert_int_eq(inet_pton(AF_INET, "11.0.0.1", a), 1);
	ck_assert(!conf_edge_from(e, AF_INET, a));
	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.99", a), 1);
	ck_assert(conf_edge_from(e, AF_INET, a));
	ck_assert_int_eq(inet_pton(AF_INET, "192.0.3.99", a), 1);
	ck_assert(!conf_edge_from(e, AF_INET, a));
	ck_assert_int_eq(inet_pton(AF_INET6, "::1", a), 1);
	ck_assert(conf_edge_from(e, AF_INET6, a));
	ck_assert_int_eq(inet_pton(AF_INET6, "::2", a), 1);
	ck_assert(!conf_edge_from(e, AF_INET6, a));
	/* tls */
	ck_assert(e->tls);
	ck_assert_str_eq(e->t.certificate, "/c.pem");
	ck_assert_str_eq(e->t.key, "/k.pem");
	ck_assert_str_eq(e->t.ca, "/ca.pem");
	ck_assert_int_eq(e->t.verify, TLS_VERIFY_REQUIRE);
	ck_assert_str_eq(e->t.min_version, "TLSv1.3");
	ck_assert_str_eq(e->t.ciphers, "ECDHE+AESGCM");
	ck_assert_uint_eq(e->t.nalpn, 2);
	ck_assert_str_eq(e->t.alpn[0], "h2");
	ck_assert_str_eq(e->t.alpn[1], "http/1.1");
	ck_assert_ptr_null(e->t.alpn[2]);
	ck_assert_uint_eq(e->t.handshake_ms, 3000);
	/* Each option's own line, for the messages of edge_svc_new(). */
	ck_assert_int_eq(e->t.lines[TLS_OPT_CERTIFICATE], 9);
	ck_assert_int_eq(e->t.lines[TLS_OPT_KEY], 10);
	ck_assert_int_eq(e->t.lines[TLS_OPT_CA], 11);
	ck_assert_int_eq(e->t.lines[TLS_OPT_CIPHERS], 14);
	ck_assert_int_eq(e->t.lines[TLS_OPT_ALPN], 15);
	/* Defaults: no PROXY; handshake 10 s, verify none, TLSv1.2 floor. */
	e = cfg->services[1]->edge;
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->proxy, 0);
	ck_assert(e->tls);
	ck_assert_uint_eq(e->t.handshake_ms, 10000);
	ck_assert_int_eq(e->t.verify, TLS_VERIFY_NONE);
	ck_assert_ptr_null(e->t.min_version);
	ck_assert_ptr_null(e->t.ca);
	ck_assert_ptr_null(e->t.alpn);
	ck_assert_int_eq(e->t.lines[TLS_OPT_KEY], 23);
	ck_assert_int_eq(e->t.lines[TLS_OPT_CERTIFICATE], 24);
	ck_assert_ptr_null(cfg->services[2]->edge);
	config_free(cfg);
}
END_TEST

/* PROXY defaults: proxy-timeout 5 s. */
START_TEST(test_edge_proxy_default)
{
	struct config *cfg = load(SVC_PLAIN_WITH("s",
	    "\tproxy-protocol = v2\n\tproxy-from = { \"127.0.0.1\" }\n"));

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->services[0]->edge->proxy, PROXY_V2);
	ck_assert_uint_eq(cfg->services[0]->edge->proxy_ms, 5000);
	ck_assert(!cfg->services[0]->edge->tls);
	config_free(cfg);
}
END_TEST

/* socket-mode, socket-owner, socket-group: numbers, names. */
START_TEST(test_socket_file)
{
	struct config *cfg = load(SVC_PLAIN_WITH("s",
	    "\tlisten = { \"/run/s.sock\" }\n"
	    "\tsocket-mode = \"0660\"\n"
	    "\tsocket-owner = \"daemon\"\n"
	    "\tsocket-group = \"4001\"\n") SVC_PLAIN("t"));
	const struct service *s;

	ck_assert_ptr_nonnull(cfg);
	s = config_find(cfg, "s");
	ck_assert_int_eq(s->socket_mode, 0660);
	ck_assert_uint_eq(s->socket_uid, 1);
	ck_assert_uint_eq(s->socket_gid, 4001);
	s = config_find(cfg, "t");
	ck_assert_int_eq(s->socket_mode, -1);
	ck_assert_uint_eq(s->socket_uid, (uid_t)-1);
	ck_assert_uint_eq(s->socket_gid, (gid_t)-1);
	config_free(cfg);
}
END_TEST

/* UNIX-socket peers by user and group, names or numbers. */
START_TEST(test_peer_ids)
{
	struct config *cfg = load(
	    "service u {\n"
	    "	listen = { \"/run/u.sock\", \"127.0.0.1:7\" }\n"
	    "	plugin = \"echo\"\n"
	    "	allow-uid = { \"root\", daemon, \"4000\" }\n"
	    "	allow-gid = { \"root\", 4001 }\n"
	    "}\n"
	    "service f {\n"			/* systemd's may be AF_UNIX */
	    "	listen = { \"fd:f\" }\n"
	    "	plugin = \"echo\"\n"
	    "	allow-gid = { \"daemon\" }\n"
	    "	allow = { \"::1\" }\n"
	    "}\n");
	const struct service *s;

	ck_assert_ptr_nonnull(cfg);
	s = config_find(cfg, "u");
	ck_assert_uint_eq(s->nallow_uids, 3);
	ck_assert_uint_eq(s->allow_uids[0], 0);
	ck_assert_uint_eq(s->allow_uids[1], 1);
	ck_assert_uint_eq(s->allow_uids[2], 4000);
	ck_assert_uint_eq(s->nallow_gids, 2);
	ck_assert_uint_eq(s->allow_gids[0], 0);
	ck_assert_uint_eq(s->allow_gids[1], 4001);
	s = config_find(cfg, "f");
	ck_assert_ptr_null(s->allow_uids);
	ck_assert_uint_eq(s->nallow_gids, 1);
	ck_assert_uint_eq(s->allow_gids[0], 1);
	ck_assert_uint_eq(s->nacl, 1);
	config_free(cfg);
}
END_TEST

/* run-as: porterd's user after binding, and every handler's. */
START_TEST(test_run_as)
{
	struct config *cfg = load(
	    "run-as = \"daemon\"\n"
	    "user = \"nobody\"\n"		/* the default: someone else */
	    SVC_PLAIN("a")
	    SVC_PLAIN_WITH("b", "\tuser = \"bin\"\n\tgroup = \"1\"\n"));
	const struct service *s;

	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->run_as, "daemon");
	ck_assert_uint_eq(cfg->run_uid, 1);
	ck_assert_uint_eq(cfg->run_gid, 1);
	s = config_find(cfg, "a");
	ck_assert(s->set_user);
	ck_assert_str_eq(s->user, "nobody");
	s = config_find(cfg, "b");
	ck_assert(s->set_user);
	ck_assert_str_eq(s->user, "bin");
	ck_assert_uint_eq(s->gid, 1);	/* run-as's group is no one's own */
	config_free(cfg);

	/* With no user anywhere, an in-process plugin runs in porterd. */
	cfg = load("run-as = \"daemon\"\n" SVC_PLAIN("a"));
	ck_assert_ptr_nonnull(cfg);
	s = cfg->services[0];
	ck_assert(!s->set_user);
	config_free(cfg);
}
END_TEST

/* A reject message is short: one send on a fresh connection. */
START_TEST(test_reject_message_length)
{
	char text[1200], msg[1100];
	struct config *cfg;

	memset(msg, 'x', 1024);
	msg[1024] = '\0';
	snprintf(text, sizeof(text), "reject-message = \"%s\"\n", msg);
	ck_assert_ptr_nonnull(cfg = load(text));
	ck_assert_uint_eq(cfg->limits.reject_len, 1024);
	config_free(cfg);
	snprintf(text, sizeof(text), "\nreject-message = \"%sy\"\n", msg);
	load_fails(text, "porterd.conf:2: reject-message is longer than 1024 "
	    "bytes");
}
END_TEST

/* ------------------------------------------------------------------------
 * Errors: one row per check, each with its exact message
 * ---------------------------------------------------------------------- */

#define SVC(body) "service x {\n\tplugin = \"echo\"\n\tport = 7\n" body "}\n"
#define EXEC(body) "service x {\n\tport = 7\n" body "}\n"

static const struct {
	const char *conf;
	const char *msg;
} bad[] = {
	/* libconfuse's own messages, at libconfuse's line */
	{ "plugin-dir = \"/p\"\nbogus = 1\n",
	  "porterd.conf:2: no such option 'bogus'" },
	{ SVC("\tbogus = 1\n"),
	  "porterd.conf:4: no such option 'bogus'" },
	{ SVC("\tbacklog = \"x\"\n"),
	  "porterd.conf:4: invalid integer value for option 'backlog'" },
	{ SVC("\twait = maybe\n"),
	  "porterd.conf:4: invalid boolean value for option 'wait'" },
	/* libconfuse 3.3 takes a section without '}' as ended by EOF */
	{ "service x {\n\tplugin = \"echo\"\n",
	  "porterd.conf:1: '{' without a matching '}'" },
	{ "service x {\n\tlisten = { \"127.0.0.1:7\"\n\tplugin = \"e\"\n}\n",
	  "porterd.conf:3: unexpected token 'plugin'" },
	/* our scanner: a block comment that never ends */
	{ "\n/* open\n\n",
	  "porterd.conf:2: unterminated comment" },
	{ "/*/ still open\n",
	  "porterd.conf:1: unterminated comment" },
	/*
	 * An unquoted '*' ends a word for libconfuse and a comment may start
	 * right after it: the scanner must agree, or libconfuse's doubled
	 * comment lines put this 3-line file's error at line 5 (fuzzing).
	 */
	{ "include = a/*//b\", \"c\" }\nservice main {\n}\n",
	  "porterd.conf:2: service 'main': needs plugin or exec" },
	{ "plugin-dir = /p*/*x\n*/\nservice main {\n}\n",
	  "porterd.conf:3: service 'main': needs plugin or exec" },
	/* ${...} in a double-quoted string is read whole, quotes and all */
	{ "plugin-dir = \"/${a\"b}\"\n#c\nbogus = 1\n",
	  "porterd.conf:3: no such option 'bogus'" },
	/* duplicate name in one file, at the second one's first line */
	{ SVC("") "\n" SVC(""),
	  "porterd.conf:6: duplicate service 'x' (first defined at "
	  "porterd.conf:1)" },
	/* handler choice */
	{ SVC("\texec = \"/bin/sh\"\n"),
	  "porterd.conf:4: service 'x': plugin and exec are mutually "
	  "exclusive" },
	{ "service x {\n\tport = 7\n}\n",
	  "porterd.conf:1: service 'x': needs plugin or exec" },
	{ EXEC("\texec = \"bin/sh\"\n"),
	  "porterd.conf:3: service 'x': exec path 'bin/sh' is not absolute" },
	{ EXEC("\texec = \"/nonexistent/prog\"\n"),
	  "porterd.conf:3: service 'x': exec '/nonexistent/prog': No such "
	  "file or directory" },
	{ EXEC("\texec = \"/\"\n"),
	  "porterd.conf:3: service 'x': exec '/': not a regular file" },
	{ "service x {\n\tplugin = \"\"\n\tport = 7\n}\n",
	  "porterd.conf:2: service 'x': plugin name is empty" },
	/* options of the other handler kind */
	{ EXEC("\texec = \"/bin/sh\"\n\tisolation = process\n"),
	  "porterd.conf:4: service 'x': isolation applies to plugins only" },
	{ SVC("\tenv = { \"A=b\" }\n"),
	  "porterd.conf:4: service 'x': env applies to exec services only" },
	{ SVC("\tstderr = null\n"),
	  "porterd.conf:4: service 'x': stderr applies to exec services "
	  "only" },
	{ SVC("\targv0 = \"echo\"\n"),
	  "porterd.conf:4: service 'x': argv0 applies to exec services "
	  "only" },
	{ EXEC("\texec = \"/bin/sh\"\n\targv0 = \"\"\n"),
	  "porterd.conf:4: service 'x': argv0 is empty" },
	/* words */
	{ SVC("\tisolation = fork\n"),
	  "porterd.conf:4: service 'x': unknown isolation 'fork' (thread or "
	  "process)" },
	{ EXEC("\texec = \"/bin/sh\"\n\tstderr = file\n"),
	  "porterd.conf:4: service 'x': unknown stderr mode 'file' (log, "
	  "socket or null)" },
	{ SVC("\ttype = raw\n"),
	  "porterd.conf:4: service 'x': unknown type 'raw' (stream, dgram "
	  "or seqpacket)" },
	{ SVC("\tprotocol = bogus\n"),
	  "porterd.conf:4: service 'x': unknown protocol 'bogus'" },
	{ SVC("\ttype = dgram\n\tprotocol = tcp\n"),
	  "porterd.conf:5: service 'x': protocol 'tcp' does not fit type = "
	  "dgram" },
	/* env entries, the second one on its own line */
	{ EXEC("\texec = \"/bin/sh\"\n\tenv = { \"A=1\",\n\t\"FOO\" }\n"),
	  "porterd.conf:5: service 'x': env entry 'FOO' is not NAME=value" },
	{ EXEC("\texec = \"/bin/sh\"\n\tenv = { \"1A=x\" }\n"),
	  "porterd.conf:4: service 'x': env entry '1A=x' is not NAME=value" },
	/* datagrams always wait */
	{ SVC("\ttype = dgram\n\twait = false\n"),
	  "porterd.conf:5: service 'x': datagram services need wait = true" },
	/* numbers */
	{ SVC("\tbacklog = 0\n"),
	  "porterd.conf:4: service 'x': backlog must be at least 1" },
	{ "service x {\n\tplugin = \"echo\"\n\tport = 65536\n}\n",
	  "porterd.conf:3: service 'x': port 65536 out of range (0-65535)" },
	/* socket options */
	{ SVC("\toptions = { \"SO_KEEPALIVE\", \"SO_BOGUS\" }\n"),
	  "porterd.conf:4: service 'x': unknown socket option 'SO_BOGUS'" },
	{ SVC("\toptions = { \"SO_RCVBUF=abc\" }\n"),
	  "porterd.conf:4: service 'x': bad value 'abc' in socket option "
	  "'SO_RCVBUF=abc'" },
	{ SVC("\toptions = { \"SO_RCVBUF=\" }\n"),
	  "porterd.conf:4: service 'x': bad value '' in socket option "
	  "'SO_RCVBUF='" },
	{ SVC("\toptions = { \"SOCK_STREAM\" }\n"),
	  "porterd.conf:4: service 'x': 'SOCK_STREAM' is not a socket "
	  "option" },
	/* listen entries: the library's message, on the entry's line */
	{ SVC("\tlisten = { \"127.0.0.1:7\",\n\t\"1.2.3.4:99999\" }\n"),
	  "porterd.conf:5: service 'x': address '1.2.3.4:99999': port out "
	  "of range" },
	{ SVC("\tlisten = { \"[::1\" }\n"),
	  "porterd.conf:4: service 'x': address '[::1': missing ']'" },
	{ SVC("\tlisten = { \"fd:\" }\n"),
	  "porterd.conf:4: service 'x': listen 'fd:': empty descriptor name" },
	{ SVC("\tlisten = { }\n"),
	  "porterd.conf:1: service 'x': listen is empty" },
	{ "service no-such-svc {\n\tplugin = \"echo\"\n}\n",
	  "porterd.conf:1: service 'no-such-svc': no port given and "
	  "'no-such-svc/tcp' is not in /etc/services" },
	{ "service no-such-svc {\n\ttype = dgram\n"
	  "\tlisten = { \"/run/a\",\n\t\"127.0.0.1\" }\n"
	  "\tplugin = \"echo\"\n}\n",
	  "porterd.conf:4: service 'no-such-svc': no port given and "
	  "'no-such-svc/udp' is not in /etc/services" },
	/* users and groups */
	{ SVC("\tuser = \"no-such-user-porter\"\n"),
	  "porterd.conf:4: service 'x': unknown user 'no-such-user-porter'" },
	{ SVC("\tuser = \"root\"\n\tgroup = \"no-such-group-porter\"\n"),
	  "porterd.conf:5: service 'x': unknown group 'no-such-group-porter'" },
	{ "user = \"no-such-user-porter\"\n",
	  "porterd.conf:1: unknown user 'no-such-user-porter'" },
	{ "\ngroup = \"no-such-group-porter\"\n",
	  "porterd.conf:2: unknown group 'no-such-group-porter'" },
	{ SVC("\tgroup = \"root\"\n"),
	  "porterd.conf:4: service 'x': group 'root' needs a user" },
	{ "group = \"root\"\n" SVC(""),
	  "porterd.conf:2: service 'x': group 'root' needs a user" },
	{ SVC("\tuser = \"3999999999\"\n"),
	  "porterd.conf:4: service 'x': user '3999999999' has no passwd "
	  "entry, so it needs a group" },
	/* global options */
	{ "log-level = loud\n",
	  "porterd.conf:1: unknown log-level 'loud' (err, warning, notice, "
	  "info or debug)" },
	{ "log-target = file\n",
	  "porterd.conf:1: unknown log-target 'file' (stderr or syslog)" },
	{ "shutdown-timeout = -1\n",
	  "porterd.conf:1: shutdown-timeout -1 out of range (0-2147483647 "
	  "seconds)" },
	{ "\nfiber-stall = 0.005\n",
	  "porterd.conf:2: fiber-stall 0.005 out of range (0.01-3600 "
	  "seconds)" },
	{ "fiber-stall = 3601\n",
	  "porterd.conf:1: fiber-stall 3601 out of range (0.01-3600 "
	  "seconds)" },
	{ "fiber-stall = nan\n",
	  "porterd.conf:1: fiber-stall nan out of range (0.01-3600 "
	  "seconds)" },
	{ "fiber-stall = 200ms\n",
	  "porterd.conf:1: invalid floating point value for option "
	  "'fiber-stall'" },
	{ "plugin-dir = \"\"\n",
	  "porterd.conf:1: plugin-dir is empty" },
	{ "\npid-file = \"\"\n",
	  "porterd.conf:2: pid-file is empty" },
	{ "service \"\" {\n\tplugin = \"echo\"\n\tport = 7\n}\n",
	  "porterd.conf:1: service '': the name is empty" },
	/* limits: global, then per service, each range at its own line */
	{ "max-connections = -1\n",
	  "porterd.conf:1: max-connections -1 out of range (0-2147483647)" },
	{ "max-per-source = 2147483648\n",
	  "porterd.conf:1: max-per-source 2147483648 out of range "
	  "(0-2147483647)" },
	{ "\nipv6-prefix = 129\n",
	  "porterd.conf:2: ipv6-prefix 129 out of range (0-128)" },
	{ "idle-timeout = -5\n",
	  "porterd.conf:1: idle-timeout -5 out of range (0-2147483647 "
	  "seconds)" },
	{ "max-lifetime = -1\n",
	  "porterd.conf:1: max-lifetime -1 out of range (0-2147483647 "
	  "seconds)" },
	{ "rate = -0.5\n",
	  "porterd.conf:1: rate -0.5 out of range (0-2147483647 per "
	  "second)" },
	{ "rate = nan\n",
	  "porterd.conf:1: rate nan out of range (0-2147483647 per second)" },
	{ "rate = 3e9\n",
	  "porterd.conf:1: rate 3e+09 out of range (0-2147483647 per "
	  "second)" },
	{ "rate = fast\n",
	  "porterd.conf:1: invalid floating point value for option 'rate'" },
	{ "rate = 1\nburst = -1\n",
	  "porterd.conf:2: burst -1 out of range (0-2147483647)" },
	{ SVC("\tmax-connections = -1\n"),
	  "porterd.conf:4: service 'x': max-connections -1 out of range "
	  "(0-2147483647)" },
	{ SVC("\tipv6-prefix = 200\n"),
	  "porterd.conf:4: service 'x': ipv6-prefix 200 out of range "
	  "(0-128)" },
	{ SVC("\tmax-lifetime = -1\n"),
	  "porterd.conf:4: service 'x': max-lifetime -1 out of range "
	  "(0-2147483647 seconds)" },
	{ SVC("\trate = -1\n"),
	  "porterd.conf:4: service 'x': rate -1 out of range (0-2147483647 "
	  "per second)" },
	{ "rate = 5\n" SVC("\tburst = 2147483648\n"),
	  "porterd.conf:5: service 'x': burst 2147483648 out of range "
	  "(0-2147483647)" },
	/* socket files: mode, owner, group */
	{ SVC("\tsocket-mode = \"0660\"\n"),
	  "porterd.conf:4: service 'x': socket-mode applies to UNIX socket "
	  "files, and listen '*' is not one" },
	{ SVC("\tlisten = { \"/run/x\", \"@x\" }\n\tsocket-group = \"root\"\n"),
	  "porterd.conf:5: service 'x': socket-group applies to UNIX socket "
	  "files, and listen '@x' is not one" },
	{ SVC("\tlisten = { \"/run/x\" }\n\tsocket-mode = \"rw\"\n"),
	  "porterd.conf:5: service 'x': socket-mode 'rw' is not an octal "
	  "mode (such as \"0660\")" },
	{ SVC("\tlisten = { \"/run/x\" }\n\tsocket-mode = \"0800\"\n"),
	  "porterd.conf:5: service 'x': socket-mode '0800' is not an octal "
	  "mode (such as \"0660\")" },
	{ SVC("\tlisten = { \"/run/x\" }\n\tsocket-mode = \"17777\"\n"),
	  "porterd.conf:5: service 'x': socket-mode '17777' is not an octal "
	  "mode (such as \"0660\")" },
	{ SVC("\tlisten = { \"/run/x\" }\n"
	      "\tsocket-owner = \"no-such-user-porter\"\n"),
	  "porterd.conf:5: service 'x': unknown user 'no-such-user-porter'" },
	/* limits a wait service cannot have, at their own line */
	{ SVC("\ttype = dgram\n\tmax-connections = 4\n"),
	  "porterd.conf:5: service 'x': max-connections does not apply to a "
	  "wait service (its one handler takes the listening socket itself)" },
	{ SVC("\twait = true\n\n\tmax-per-source = 1\n"),
	  "porterd.conf:6: service 'x': max-per-source does not apply to a "
	  "wait service (its one handler takes the listening socket itself)" },
	{ EXEC("\texec = \"/bin/cat\"\n\tuser = \"nobody\"\n"
	      "\ttype = dgram\n\tidle-timeout = 30\n"),
	  "porterd.conf:6: service 'x': idle-timeout does not apply to a "
	  "wait service (its one handler takes the listening socket itself)" },
	{ SVC("\ttype = dgram\n\treject-message = \"no\"\n"),
	  "porterd.conf:5: service 'x': reject-message does not apply to a "
	  "wait service (its one handler takes the listening socket itself)" },
	{ SVC("\ttype = dgram\n\tmax-lifetime = 60\n"),
	  "porterd.conf:5: service 'x': max-lifetime needs a handler porterd "
	  "can stop: a wait plugin running in a thread cannot be (isolation "
	  "= process can)" },
	/* allow / deny entries, each on its own line */
	{ SVC("\tallow = { \"127.0.0.1\",\n\t\"host.example\" }\n"),
	  "porterd.conf:5: service 'x': allow 'host.example': not a numeric "
	  "address/prefix" },
	{ SVC("\tallow = { \"localhost\" }\n"),
	  "porterd.conf:4: service 'x': allow 'localhost': not a numeric "
	  "address/prefix" },
	{ SVC("\tdeny = { \"\" }\n"),
	  "porterd.conf:4: service 'x': deny '': not a numeric "
	  "address/prefix" },
	{ SVC("\tdeny = { \"fe80::1%lo/64\" }\n"),
	  "porterd.conf:4: service 'x': deny 'fe80::1%lo/64': not a numeric "
	  "address/prefix" },
	{ SVC("\tallow = { \"1.2.3.4/33\" }\n"),
	  "porterd.conf:4: service 'x': allow '1.2.3.4/33': prefix out of "
	  "range (0-32)" },
	{ SVC("\tdeny = { \"::1/129\" }\n"),
	  "porterd.conf:4: service 'x': deny '::1/129': prefix out of range "
	  "(0-128)" },
	{ SVC("\tallow = { \"::1/99999999999999999999\" }\n"),
	  "porterd.conf:4: service 'x': allow '::1/99999999999999999999': "
	  "prefix out of range (0-128)" },
	{ SVC("\tallow = { \"10.0.0.0/\" }\n"),
	  "porterd.conf:4: service 'x': allow '10.0.0.0/': prefix length is "
	  "not a number" },
	{ SVC("\tallow = { \"10.0.0.0/-8\" }\n"),
	  "porterd.conf:4: service 'x': allow '10.0.0.0/-8': prefix length "
	  "is not a number" },
	{ SVC("\tallow = { \"10.0.0.0/8x\" }\n"),
	  "porterd.conf:4: service 'x': allow '10.0.0.0/8x': prefix length "
	  "is not a number" },
	{ SVC("\tallow = { \"::ffff:10.0.0.0/80\" }\n"),
	  "porterd.conf:4: service 'x': allow '::ffff:10.0.0.0/80': a "
	  "v4-mapped prefix must be at least /96" },
	{ SVC("\tallow = { }\n"),
	  "porterd.conf:1: service 'x': allow is empty" },
	/* rules that could never apply */
	{ SVC("\ttype = dgram\n\tdeny = { \"10.0.0.0/8\" }\n"),
	  "porterd.conf:5: service 'x': deny needs wait = false (a waiting "
	  "handler takes the socket itself)" },
	{ SVC("\tlisten = { \"/run/x\" }\n\tallow = { \"::1\" }\n"),
	  "porterd.conf:5: service 'x': allow applies to internet peers, "
	  "and every listen entry is a UNIX socket" },
	{ SVC("\tallow-uid = { \"root\" }\n"),
	  "porterd.conf:4: service 'x': allow-uid applies to UNIX-socket "
	  "peers, and no listen entry is a UNIX socket" },
	/* allow-uid / allow-gid */
	{ SVC("\tlisten = { \"/run/x\" }\n"
	      "\tallow-uid = { \"root\",\n\t\"no-such-user-porter\" }\n"),
	  "porterd.conf:6: service 'x': unknown user 'no-such-user-porter'" },
	{ SVC("\tlisten = { \"/run/x\" }\n"
	      "\tallow-gid = { \"no-such-group-porter\" }\n"),
	  "porterd.conf:5: service 'x': unknown group "
	  "'no-such-group-porter'" },
	{ SVC("\tlisten = { \"/run/x\" }\n\tallow-gid = { }\n"),
	  "porterd.conf:1: service 'x': allow-gid is empty" },
	/* run-as */
	{ "run-as = \"no-such-user-porter\"\n",
	  "porterd.conf:1: unknown user 'no-such-user-porter'" },
	{ "\nrun-as = \"3999999999\"\n",
	  "porterd.conf:2: run-as '3999999999' has no passwd entry, so no "
	  "group" },
	{ "user = \"1\"\nrun-as = \"daemon\"\n",
	  "porterd.conf:1: user '1' is run-as 'daemon': handlers must not run "
	  "as porterd's own uid (they could signal it); give them a user of "
	  "their own" },
	{ "run-as = \"daemon\"\n" SVC("\tuser = \"daemon\"\n"),
	  "porterd.conf:5: service 'x': user 'daemon' is run-as 'daemon': "
	  "handlers must not run as porterd's own uid (they could signal "
	  "it); give the service a user of its own" },
	{ "run-as = \"daemon\"\n" EXEC("\texec = \"/bin/cat\"\n"),
	  "porterd.conf:2: service 'x': needs a user other than run-as "
	  "'daemon': its processes must not run as porterd's own uid" },
	{ "run-as = \"daemon\"\n" SVC("\tisolation = process\n"),
	  "porterd.conf:2: service 'x': needs a user other than run-as "
	  "'daemon': its processes must not run as porterd's own uid" },
	/* proxy-protocol, proxy-from, proxy-timeout */
	{ SVC("\tproxy-protocol = v3\n\tproxy-from = { \"10.0.0.1\" }\n"),
	  "porterd.conf:4: service 'x': proxy-protocol 'v3': v1, v2 or any" },
	{ SVC("\tproxy-protocol = v1\n"),
	  "porterd.conf:4: service 'x': proxy-protocol needs proxy-from (the "
	  "balancers allowed to send a header)" },
	{ SVC("\tproxy-from = { \"10.0.0.1\" }\n"),
	  "porterd.conf:4: service 'x': proxy-from without proxy-protocol" },
	{ SVC("\tproxy-timeout = 3\n"),
	  "porterd.conf:4: service 'x': proxy-timeout without "
	  "proxy-protocol" },
	{ SVC("\tproxy-protocol = v1\n"
	      "\tproxy-from = { \"10.0.0.1\",\n\t\"lb.example\" }\n"),
	  "porterd.conf:6: service 'x': proxy-from 'lb.example': not a "
	  "numeric address/prefix (a balancer's address is never looked up "
	  "by name)" },
	{ SVC("\tproxy-protocol = v1\n\tproxy-from = { \"10.0.0.0/33\" }\n"),
	  "porterd.conf:5: service 'x': proxy-from '10.0.0.0/33': prefix "
	  "length is not 0-32" },
	{ SVC("\tproxy-protocol = v1\n\tproxy-from = { \"::/x\" }\n"),
	  "porterd.conf:5: service 'x': proxy-from '::/x': prefix length is "
	  "not 0-128" },
	{ SVC("\tproxy-protocol = v1\n\tproxy-from = { \"10.0.0.1\" }\n"
	      "\tproxy-timeout = 0\n"),
	  "porterd.conf:6: service 'x': proxy-timeout 0: must be 1 to 3600 "
	  "seconds" },
	{ SVC("\ttype = dgram\n\tproxy-protocol = v2\n"
	      "\tproxy-from = { \"10.0.0.1\" }\n"),
	  "porterd.conf:5: service 'x': proxy-protocol applies to stream "
	  "services only" },
	{ SVC("\twait = yes\n\tproxy-protocol = v2\n"
	      "\tproxy-from = { \"10.0.0.1\" }\n"),
	  "porterd.conf:5: service 'x': proxy-protocol cannot apply to a wait "
	  "service (its handler accepts the connections itself)" },
	{ SVC("\tlisten = { \"/run/x.sock\" }\n\tproxy-protocol = v2\n"
	      "\tproxy-from = { \"10.0.0.1\" }\n"),
	  "porterd.conf:5: service 'x': proxy-protocol cannot apply to a UNIX "
	  "socket listen entry (proxy-from names internet addresses only)" },
	/* tls */
	{ SVC("\ttls {\n\t\tkey = \"/k\"\n\t}\n"),
	  "porterd.conf:6: service 'x': tls needs a certificate" },
	{ SVC("\ttls {\n\t\tcertificate = \"/c\"\n\t}\n"),
	  "porterd.conf:6: service 'x': tls needs a key" },
	{ SVC("\ttls {\n\t\tcertificate = \"\"\n\t\tkey = \"/k\"\n\t}\n"),
	  "porterd.conf:5: service 'x': tls certificate is empty" },
	{ SVC("\ttls {\n\t\tcertificate = \"/c\"\n\t\tkey = \"/k\"\n"
	      "\t\tmin-version = \"TLSv1.1\"\n\t}\n"),
	  "porterd.conf:7: service 'x': tls min-version 'TLSv1.1': TLSv1.2 or "
	  "TLSv1.3" },
	{ SVC("\ttls {\n\t\tcertificate = \"/c\"\n\t\tkey = \"/k\"\n"
	      "\t\tverify-client = always\n\t}\n"),
	  "porterd.conf:7: service 'x': tls verify-client 'always': none, "
	  "optional or require" },
	{ SVC("\ttls {\n\t\tcertificate = \"/c\"\n\t\tkey = \"/k\"\n"
	      "\t\tverify-client = require\n\t}\n"),
	  "porterd.conf:7: service 'x': tls verify-client require needs ca "
	  "(the CAs client certificates must chain to)" },
	{ SVC("\ttls {\n\t\tcertificate = \"/c\"\n\t\tkey = \"/k\"\n"
	      "\t\talpn = { \"h2\", \"\" }\n\t}\n"),
	  "porterd.conf:7: service 'x': tls alpn '': a protocol name is 1 to "
	  "255 bytes" },
	{ SVC("\ttls {\n\t\tcertificate = \"/c\"\n\t\tkey = \"/k\"\n"
	      "\t\thandshake-timeout = 99999\n\t}\n"),
	  "porterd.conf:7: service 'x': handshake-timeout 99999: must be 1 to "
	  "3600 seconds" },
	{ SVC("\ttls {\n\t\tcertificate = \"/c\"\n\t\tkey = \"/k\"\n"
	      "\t\tbogus = 1\n\t}\n"),
	  "porterd.conf:7: no such option 'bogus'" },
	{ SVC("\ttype = seqpacket\n\tlisten = { \"/run/x.sock\" }\n"
	      "\ttls {\n\t\tcertificate = \"/c\"\n\t\tkey = \"/k\"\n\t}\n"),
	  "porterd.conf:9: service 'x': tls applies to stream services only" },
	{ SVC("\twait = yes\n"
	      "\ttls {\n\t\tcertificate = \"/c\"\n\t\tkey = \"/k\"\n\t}\n"),
	  "porterd.conf:8: service 'x': tls cannot apply to a wait service (its "
	  "handler accepts the connections itself)" },
	/* includes: a file named outright must exist */
	{ "\ninclude = { \"conf.d/*.conf\", \"x.conf\" }\n",
	  "porterd.conf:2: include 'x.conf': No such file or directory" },
};

START_TEST(test_errors)
{
	load_fails(bad[_i].conf, bad[_i].msg);
}
END_TEST

/* Not executable: a file of the test's own, since root may run us. */
START_TEST(test_exec_not_executable)
{
	char conf[PATH_MAX + 64], msg[PATH_MAX + 128];

	put("prog", "#!/bin/sh\n");
	ck_assert_int_eq(chmod("prog", 0644), 0);
	snprintf(conf, sizeof(conf), EXEC("\texec = \"%s/prog\"\n"), dir);
	snprintf(msg, sizeof(msg), "porterd.conf:3: service 'x': exec "
	    "'%s/prog': Permission denied", dir);
	load_fails(conf, msg);
}
END_TEST

START_TEST(test_main_file_missing)
{
	ck_assert_ptr_null(config_load("nosuch.conf", err, sizeof(err)));
	ck_assert_str_eq(err, "nosuch.conf: No such file or directory");
	config_free(NULL);
}
END_TEST

/* ------------------------------------------------------------------------
 * Drop-ins
 * ---------------------------------------------------------------------- */

/* Sorted, after the main file; services in file order. */
START_TEST(test_include_order)
{
	struct config *cfg;

	put("conf.d/b.conf", "service b {\n\tplugin = \"b\"\n\tport = 2\n}\n");
	put("conf.d/a.conf", "service a {\n\tplugin = \"a\"\n\tport = 1\n}\n"
	    "service a2 {\n\tplugin = \"a\"\n\tport = 1\n}\n");
	put("conf.d/c.conf", "");
	put("extra.conf", "service e {\n\tplugin = \"e\"\n\tport = 5\n}\n");
	cfg = load(
	    "include = { \"conf.d/*.conf\", \"extra.conf\",\n"
	    "    \"none.d/*.conf\" }\n"
	    "service main {\n\tplugin = \"m\"\n\tport = 3\n}\n");
	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->included[0], "conf.d/a.conf");
	ck_assert_str_eq(cfg->included[1], "conf.d/b.conf");
	ck_assert_str_eq(cfg->included[2], "conf.d/c.conf");
	ck_assert_str_eq(cfg->included[3], "extra.conf");
	ck_assert_ptr_null(cfg->included[4]);
	ck_assert_uint_eq(cfg->nservices, 5);
	ck_assert_str_eq(cfg->services[0]->name, "main");
	ck_assert_str_eq(cfg->services[1]->name, "a");
	ck_assert_str_eq(cfg->services[2]->name, "a2");
	ck_assert_str_eq(cfg->services[3]->name, "b");
	ck_assert_str_eq(cfg->services[4]->name, "e");
	ck_assert_str_eq(cfg->services[2]->file, "conf.d/a.conf");
	ck_assert_int_eq(cfg->services[2]->line, 5);
	config_free(cfg);
}
END_TEST

/* Patterns are relative to the main file's directory, not ours. */
START_TEST(test_include_relative)
{
	struct config *cfg;
	char path[PATH_MAX + 32], want[PATH_MAX + 32];

	put("sub/conf.d/x.conf",
	    "service x {\n\tplugin = \"x\"\n\tport = 1\n}\n");
	put("sub/porterd.conf", "include = { \"conf.d/*.conf\" }\n");
	cfg = config_load("sub/porterd.conf", err, sizeof(err));
	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->included[0], "sub/conf.d/x.conf");
	ck_assert_str_eq(cfg->services[0]->file, "sub/conf.d/x.conf");
	config_free(cfg);

	snprintf(path, sizeof(path), "%s/sub/porterd.conf", dir);
	snprintf(want, sizeof(want), "%s/sub/conf.d/x.conf", dir);
	ck_assert_ptr_nonnull(cfg = config_load(path, err, sizeof(err)));
	ck_assert_str_eq(cfg->included[0], want);
	config_free(cfg);
}
END_TEST

/* What the pattern leaves out of its directory is reported, sorted. */
START_TEST(test_include_skipped)
{
	struct config *cfg;

	put("conf.d/a.conf", "");
	put("conf.d/a.conf~", "");
	put("conf.d/.hidden.conf", "");
	put("conf.d/README", "");
	put("conf.d/b.svc", "");
	cfg = load("include = { \"conf.d/*.conf\", \"conf.d/*.svc\" }\n");
	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->included[0], "conf.d/a.conf");
	ck_assert_str_eq(cfg->included[1], "conf.d/b.svc");
	ck_assert_ptr_null(cfg->included[2]);
	ck_assert_str_eq(cfg->skipped[0], "conf.d/.hidden.conf");
	ck_assert_str_eq(cfg->skipped[1], "conf.d/README");
	ck_assert_str_eq(cfg->skipped[2], "conf.d/a.conf~");
	ck_assert_ptr_null(cfg->skipped[3]);
	config_free(cfg);
}
END_TEST

/* A file two patterns match is read once. */
START_TEST(test_include_once)
{
	struct config *cfg;

	put("conf.d/a.conf", "service a {\n\tplugin = \"a\"\n\tport = 1\n}\n");
	cfg = load("include = { \"conf.d/*.conf\", \"conf.d/a.conf\" }\n");
	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->included[0], "conf.d/a.conf");
	ck_assert_ptr_null(cfg->included[1]);
	ck_assert_uint_eq(cfg->nservices, 1);
	config_free(cfg);
}
END_TEST

START_TEST(test_include_errors)
{
	/* A name used in two files: both places named. */
	put("conf.d/b.conf", "\n\nservice echo {\n\tplugin = \"e\"\n}\n");
	load_fails(
	    "include = { \"conf.d/*.conf\" }\n"
	    "\n\n\n\n\n\n\n\n"
	    "service echo {\n\tplugin = \"echo\"\n}\n",
	    "conf.d/b.conf:3: duplicate service 'echo' (first defined at "
	    "porterd.conf:10)");

	/* A drop-in holds services only. */
	put("conf.d/b.conf", "service b {\n\tplugin = \"b\"\n\tport = 1\n}\n"
	    "user = \"root\"\n");
	load_fails("include = { \"conf.d/*.conf\" }\n",
	    "conf.d/b.conf:5: no such option 'user'");

	/* Errors inside a drop-in name the drop-in. */
	put("conf.d/b.conf", "# c\nservice b {\n\tplugin = \"b\"\n}\n");
	load_fails("include = { \"conf.d/*.conf\" }\n",
	    "conf.d/b.conf:2: service 'b': no port given and 'b/tcp' is not "
	    "in /etc/services");

	/* A match that cannot be read. */
	ck_assert_int_eq(remove("conf.d/b.conf"), 0);
	ck_assert_int_eq(mkdir("conf.d/d.conf", 0755), 0);
	load_fails("\ninclude = { \"conf.d/*.conf\" }\n",
	    "porterd.conf:2: include 'conf.d/*.conf': conf.d/d.conf: not a "
	    "regular file");
}
END_TEST

/*
 * Only regular files are read: a FIFO matched by a pattern (or named as
 * the main file) is refused without being opened, so no writer is needed
 * and the load cannot block (Check's timeout would fail the test).
 */
START_TEST(test_include_not_regular)
{
	put("conf.d/a.conf", "service a {\n\tplugin = \"a\"\n\tport = 1\n}\n");
	ck_assert_int_eq(mkfifo("conf.d/b.conf", 0644), 0);
	load_fails("\ninclude = { \"conf.d/*.conf\" }\n",
	    "porterd.conf:2: include 'conf.d/*.conf': conf.d/b.conf: not a "
	    "regular file");
	load_fails("include = { \"conf.d/b.conf\" }\n",
	    "porterd.conf:1: include 'conf.d/b.conf': not a regular file");
	ck_assert_ptr_null(config_load("conf.d/b.conf", err, sizeof(err)));
	ck_assert_str_eq(err, "conf.d/b.conf: not a regular file");
	/* A device: /dev/null reads as empty, but is no config file. */
	load_fails("include = { \"/dev/null\" }\n",
	    "porterd.conf:1: include '/dev/null': not a regular file");
}
END_TEST

/*
 * Running as root (as the suite does on CI), files that anyone but root
 * could change are refused, main file and drop-ins alike.
 */
START_TEST(test_untrusted_files)
{
	struct config *cfg;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		return;	/* the checks apply to root only; see below */
	put("conf.d/a.conf", "service a {\n\tplugin = \"a\"\n\tport = 1\n}\n");
	put("porterd.conf", "include = { \"conf.d/*.conf\" }\n");
	ck_assert_ptr_nonnull(cfg = config_load("porterd.conf", err,
	    sizeof(err)));
	config_free(cfg);

	ck_assert_int_eq(chmod("porterd.conf", 0664), 0);
	ck_assert_ptr_null(config_load("porterd.conf", err, sizeof(err)));
	ck_assert_str_eq(err, "porterd.conf: mode 0664 is writable by its "
	    "group (running as root, porterd reads only config files that "
	    "root alone can change)");
	ck_assert_int_eq(chmod("porterd.conf", 0646), 0);
	ck_assert_ptr_null(config_load("porterd.conf", err, sizeof(err)));
	ck_assert_str_eq(err, "porterd.conf: mode 0646 is writable by "
	    "others (running as root, porterd reads only config files that "
	    "root alone can change)");
	ck_assert_int_eq(chmod("porterd.conf", 0644), 0);
	ck_assert_int_eq(chown("porterd.conf", 65534, 0), 0);
	ck_assert_ptr_null(config_load("porterd.conf", err, sizeof(err)));
	ck_assert_str_eq(err, "porterd.conf: owned by uid 65534, not root "
	    "(running as root, porterd reads only config files that root "
	    "alone can change)");
	ck_assert_int_eq(chown("porterd.conf", 0, 0), 0);

	/* A drop-in: named by the include, like any unreadable one. */
	ck_assert_int_eq(chmod("conf.d/a.conf", 0666), 0);
	ck_assert_ptr_null(config_load("porterd.conf", err, sizeof(err)));
	ck_assert_str_eq(err, "porterd.conf:1: include 'conf.d/*.conf': "
	    "conf.d/a.conf: mode 0666 is writable by others (running as "
	    "root, porterd reads only config files that root alone can "
	    "change)");
	/* Through a symlink, the file read is the one checked. */
	ck_assert_int_eq(chmod("conf.d/a.conf", 0644), 0);
	ck_assert_int_eq(rename("conf.d/a.conf", "a.real"), 0);
	ck_assert_int_eq(symlink("../a.real", "conf.d/a.conf"), 0);
	ck_assert_int_eq(chown("a.real", 65534, 65534), 0);
	ck_assert_ptr_null(config_load("porterd.conf", err, sizeof(err)));
	ck_assert_str_eq(err, "porterd.conf:1: include 'conf.d/*.conf': "
	    "conf.d/a.conf: owned by uid 65534, not root (running as root, "
	    "porterd reads only config files that root alone can change)");

	/*
	 * Not root: porterd can do no more than its user, and reads it.  In
	 * a child, so that teardown still runs as root.
	 */
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(chmod("porterd.conf", 0666), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		if (setgid(65534) == -1 || setuid(65534) == -1)
			_exit(2);
		cfg = config_load("porterd.conf", err, sizeof(err));
		if (cfg == NULL)
			fprintf(stderr, "as uid 65534: %s\n", err);
		_exit(cfg != NULL && cfg->nservices == 1 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/*
 * Running as root, a service that starts processes (exec, isolation =
 * process) needs a user, its own or the global one; user = "root" says
 * root on purpose.  Not as root, the processes run as porterd's user.
 */
START_TEST(test_root_needs_user)
{
	static const char msg[] = "service 'x': porterd runs as root and no "
	    "user is set: set the user its processes run as (user = \"root\" "
	    "to run them as root on purpose)";
	char want[256];
	struct config *cfg;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		return;
	snprintf(want, sizeof(want), "porterd.conf:1: %s", msg);
	load_fails(EXEC("\texec = \"/bin/cat\"\n"), want);
	load_fails(SVC("\tisolation = process\n"), want);
	snprintf(want, sizeof(want), "porterd.conf:2: %s", msg);
	load_fails("group = \"root\"\n" EXEC("\texec = \"/bin/cat\"\n"),
	    want);
	/* In-process plugins run in porterd whatever the user. */
	ck_assert_ptr_nonnull(cfg = load(SVC("")));
	config_free(cfg);
	ck_assert_ptr_nonnull(cfg = load(EXEC("\texec = \"/bin/cat\"\n"
	    "\tuser = \"root\"\n")));
	ck_assert(cfg->services[0]->set_user);
	ck_assert_uint_eq(cfg->services[0]->uid, 0);
	config_free(cfg);
	ck_assert_ptr_nonnull(cfg = load("user = \"nobody\"\n"
	    SVC("\tisolation = process\n")));
	ck_assert_str_eq(cfg->services[0]->user, "nobody");
	config_free(cfg);

	/* Not root: no error, the processes stay porterd's user. */
	put("porterd.conf", EXEC("\texec = \"/bin/cat\"\n"));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		if (setgid(65534) == -1 || setuid(65534) == -1)
			_exit(2);
		cfg = config_load("porterd.conf", err, sizeof(err));
		if (cfg == NULL)
			fprintf(stderr, "as uid 65534: %s\n", err);
		_exit(cfg != NULL && !cfg->services[0]->set_user ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/*
 * Relative pid-file and plugin-dir are the start directory's (main()
 * records it before detaching), not the directory of the moment.
 */
START_TEST(test_relative_paths)
{
	struct config *cfg;

	put("porterd.conf", "plugin-dir = \"plugins\"\n"
	    "pid-file = \"run/porterd.pid\"\n");
	/* Not set: the working directory at load. */
	ck_assert_ptr_nonnull(cfg = config_load("porterd.conf", err,
	    sizeof(err)));
	ck_assert_str_eq(cfg->plugin_dir + strlen(cfg->plugin_dir) - 8,
	    "/plugins");
	ck_assert_int_eq(strncmp(cfg->plugin_dir, dir, strlen(dir) - 7), 0);
	config_free(cfg);
	config_start_dir("/srv/porter/");
	ck_assert_ptr_nonnull(cfg = config_load("porterd.conf", err,
	    sizeof(err)));
	ck_assert_str_eq(cfg->plugin_dir, "/srv/porter/plugins");
	ck_assert_str_eq(cfg->pid_file, "/srv/porter/run/porterd.pid");
	config_free(cfg);
}
END_TEST

/* The main file matched by its own pattern, under any name, is a loop. */
START_TEST(test_include_loop)
{
	put("conf.d/a.conf", "service a {\n\tplugin = \"a\"\n\tport = 1\n}\n");
	load_fails("include = { \"conf.d/*.conf\",\n\"porterd.conf\" }\n",
	    "porterd.conf:2: include 'porterd.conf': porterd.conf is the main "
	    "file (an include loop)");
	load_fails("include = { \"*.conf\" }\n",
	    "porterd.conf:1: include '*.conf': porterd.conf is the main file "
	    "(an include loop)");
	ck_assert_int_eq(symlink("../porterd.conf", "conf.d/z.conf"), 0);
	load_fails("\ninclude = { \"conf.d/*.conf\" }\n",
	    "porterd.conf:2: include 'conf.d/*.conf': conf.d/z.conf is the "
	    "main file (an include loop)");
}
END_TEST

/* ------------------------------------------------------------------------
 * service_same_sockets
 * ---------------------------------------------------------------------- */

#define SAME_BASE \
	"\tlisten = { \"127.0.0.1:7007\", \"/run/s.sock\", \"fd:s\" }\n" \
	"\toptions = { \"SO_KEEPALIVE\", \"SO_RCVBUF=4096\" }\n"

static const struct {
	const char *body;	/* service b's options */
	bool same;
} same_rows[] = {
	/* identical */
	{ SAME_BASE "\tplugin = \"echo\"\n", true },
	/* the handler is not the socket's business */
	{ SAME_BASE "\tplugin = \"other\"\n\targs = { \"x\" }\n", true },
	{ SAME_BASE "\tplugin = \"echo\"\n\tbacklog = 5\n", false },
	{ SAME_BASE "\tplugin = \"echo\"\n\ttype = seqpacket\n"
	  "\tprotocol = sctp\n", false },
	{ "\tlisten = { \"127.0.0.1:7008\", \"/run/s.sock\", \"fd:s\" }\n"
	  "\toptions = { \"SO_KEEPALIVE\", \"SO_RCVBUF=4096\" }\n"
	  "\tplugin = \"echo\"\n", false },
	{ "\tlisten = { \"127.0.0.1:7007\", \"/run/s.sock\", \"fd:t\" }\n"
	  "\toptions = { \"SO_KEEPALIVE\", \"SO_RCVBUF=4096\" }\n"
	  "\tplugin = \"echo\"\n", false },
	{ "\tlisten = { \"127.0.0.1:7007\", \"/run/s.sock\" }\n"
	  "\toptions = { \"SO_KEEPALIVE\", \"SO_RCVBUF=4096\" }\n"
	  "\tplugin = \"echo\"\n", false },
	{ "\tlisten = { \"127.0.0.1:7007\", \"/run/s.sock\", \"fd:s\" }\n"
	  "\toptions = { \"SO_KEEPALIVE\", \"SO_RCVBUF=8192\" }\n"
	  "\tplugin = \"echo\"\n", false },
	{ "\tlisten = { \"127.0.0.1:7007\", \"/run/s.sock\", \"fd:s\" }\n"
	  "\toptions = { \"SO_KEEPALIVE\" }\n"
	  "\tplugin = \"echo\"\n", false },
};

START_TEST(test_same_sockets)
{
	char text[1024];
	struct config *cfg;

	snprintf(text, sizeof(text), "service a {\n" SAME_BASE
	    "\tplugin = \"echo\"\n}\nservice b {\n%s}\n", same_rows[_i].body);
	ck_assert_ptr_nonnull(cfg = load(text));
	ck_assert_int_eq(service_same_sockets(cfg->services[0],
	    cfg->services[1]), same_rows[_i].same);
	ck_assert_int_eq(service_same_sockets(cfg->services[1],
	    cfg->services[0]), same_rows[_i].same);
	config_free(cfg);
}
END_TEST

/* The protocol matters for internet sockets only. */
START_TEST(test_same_sockets_unix)
{
	struct config *cfg = load(
	    "service a {\n\tlisten = { \"/run/a\" }\n\tplugin = \"a\"\n"
	    "\ttype = seqpacket\n}\n"
	    "service b {\n\tlisten = { \"/run/a\" }\n\tplugin = \"a\"\n"
	    "\ttype = seqpacket\n\tprotocol = ip\n}\n"
	    "service c {\n\tlisten = { \"127.0.0.1:9\" }\n\tplugin = \"a\"\n"
	    "\ttype = seqpacket\n}\n"
	    "service d {\n\tlisten = { \"127.0.0.1:9\" }\n\tplugin = \"a\"\n"
	    "\ttype = seqpacket\n\tprotocol = ip\n}\n");

	ck_assert_ptr_nonnull(cfg);
	ck_assert(service_same_sockets(cfg->services[0], cfg->services[1]));
	ck_assert(!service_same_sockets(cfg->services[2], cfg->services[3]));
	config_free(cfg);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("valid");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_fiber_stall, 0,
	    (int)nitems(fiber_stall_cases));
	tcase_add_test(tc, test_argv0);
	tcase_add_test(tc, test_port_from_services);
	tcase_add_test(tc, test_fd_listen);
	tcase_add_test(tc, test_disable);
	tcase_add_test(tc, test_users);
	tcase_add_test(tc, test_comments);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_limits);
	tcase_add_loop_test(tc, test_limits_defaults, 0,
	    (int)nitems(defaults_conf));
	tcase_add_test(tc, test_burst_derived);
	tcase_add_test(tc, test_limits_wait);
	tcase_add_test(tc, test_acl);
	tcase_add_test(tc, test_edge);
	tcase_add_test(tc, test_edge_proxy_default);
	tcase_add_test(tc, test_peer_ids);
	tcase_add_test(tc, test_socket_file);
	tcase_add_test(tc, test_run_as);
	tcase_add_test(tc, test_reject_message_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_errors, 0, (int)nitems(bad));
	tcase_add_test(tc, test_section_line);
	tcase_add_test(tc, test_exec_not_executable);
	tcase_add_test(tc, test_main_file_missing);
	tcase_add_test(tc, test_root_needs_user);
	tcase_add_test(tc, test_relative_paths);
	suite_add_tcase(s, tc);

	tc = tcase_create("include");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_include_order);
	tcase_add_test(tc, test_include_relative);
	tcase_add_test(tc, test_include_skipped);
	tcase_add_test(tc, test_include_once);
	tcase_add_test(tc, test_include_errors);
	tcase_add_test(tc, test_include_not_regular);
	tcase_add_test(tc, test_include_loop);
	tcase_add_test(tc, test_untrusted_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("same_sockets");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_same_sockets, 0, (int)nitems(same_rows));
	tcase_add_test(tc, test_same_sockets_unix);
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(config_suite)
