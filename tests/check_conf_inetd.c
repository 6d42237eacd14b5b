/*
 * check_conf_inetd.c -- classic inetd.conf read natively (daemon/
 * conf_inetd.c), and its agreement with contrib/inetd2porter.
 *
 * Stock files under tests/data/: Debian's (openbsd-inetd's preinst text,
 * every service commented out), OpenBSD's etc/inetd.conf 1.65, and a
 * hand-written Debian-layout file using every form porterd serves.  The
 * agreement test converts each file with the converter, loads the result
 * as porterd.conf, loads the same file through inetd-conf, and compares
 * the two service tables field by field.  Each test runs in a temp
 * directory of its own (Check's fork mode keeps the chdir in the test).
 */
#include "config.h"

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
#include "conf_inetd.h"
#include "check_common.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

static char dir[PATH_MAX];
static char err[1024];
static char srcdir[PATH_MAX];

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
	const char *tmp = getenv("TMPDIR"), *sd = getenv("srcdir");

	/*
	 * Data paths are taken before the first chdir (once: without fork
	 * mode, CK_FORK=no under valgrind, teardown's chdir stays).
	 */
	if (srcdir[0] == '\0')
		ck_assert_ptr_nonnull(realpath(sd != NULL && sd[0] != '\0' ?
		    sd : ".", srcdir));
	snprintf(dir, sizeof(dir), "%s/check_conf_inetd.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chdir(dir), 0);
	umask(022);
}

static void
teardown(void)
{
	ck_assert_int_eq(chdir("/"), 0);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* text with every `from` replaced by `to`; a new string, text freed. */
static char *
replace(char *text, const char *from, const char *to)
{
	size_t n = 0, fl = strlen(from), tl = strlen(to);
	char *out, *o, *p;

	for (p = text; (p = strstr(p, from)) != NULL; p += fl)
		n++;
	out = o = malloc(strlen(text) + n * tl + 1);
	ck_assert_ptr_nonnull(out);
	for (p = text; *p != '\0'; ) {
		if (strncmp(p, from, fl) == 0) {
			memcpy(o, to, tl);
			o += tl;
			p += fl;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	free(text);
	return out;
}

/* The text of tests/data/NAME, with `from` replaced by `to` if given. */
static char *
data(const char *name, const char *from, const char *to)
{
	char path[PATH_MAX * 2], *text;
	size_t n, cap = 1 << 16;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/data/%s", srcdir, name);
	ck_assert_msg((f = fopen(path, "r")) != NULL, "%s", path);
	text = calloc(1, cap);
	ck_assert_ptr_nonnull(text);
	n = fread(text, 1, cap - 1, f);
	fclose(f);
	text[n] = '\0';
	return from != NULL ? replace(text, from, to) : text;
}

/* Loads a porterd.conf reading `inetd` (written as inetd.conf) natively. */
static struct config *
load_native(const char *inetd, const char *extra)
{
	char conf[2048];

	write_file("inetd.conf", inetd);
	snprintf(conf, sizeof(conf), "inetd-conf = { \"inetd.conf\" }\n"
	    "hosts-allow = \"hosts.allow\"\nhosts-deny = \"hosts.deny\"\n%s",
	    extra != NULL ? extra : "");
	write_file("porterd.conf", conf);
	return config_load("porterd.conf", err, sizeof(err));
}

static const struct service *
find(const struct config *cfg, const char *name)
{
	const struct service *s = config_find(cfg, name);

	ck_assert_msg(s != NULL, "no service %s", name);
	return s;
}

/* ------------------------------------------------------------------ */

START_TEST(test_debian_stock)
{
	char *text = data("inetd.conf.debian", NULL, NULL);
	struct config *cfg;
	const struct service *s;

	/* As shipped: everything is commented out. */
	cfg = load_native(text, NULL);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->nservices, 0);
	config_free(cfg);

	/* An administrator uncomments the internal services. */
	text = replace(text, "\n#echo\t", "\necho\t");
	text = replace(text, "\n#discard\t", "\ndiscard\t");
	text = replace(text, "\n#daytime\t", "\ndaytime\t");
	text = replace(text, "\n#time\t", "\ntime\t");
	text = replace(text, "\n#chargen\t", "\nchargen\t");
	cfg = load_native(text, NULL);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->nservices, 6);
	s = find(cfg, "echo");
	ck_assert_int_eq(s->kind, HANDLER_PLUGIN);
	ck_assert_str_eq(s->handler, "echo");
	ck_assert_str_eq(s->listens[0].text, "[::]:echo");
	ck_assert_uint_eq(s->nopts, 1);
	ck_assert_str_eq(s->opts[0].text, "IPV6_V6ONLY=0");
	ck_assert_msg(strstr(s->file, "inetd.conf") != NULL, "%s", s->file);
	ck_assert_int_eq(s->line, 17);
	s = find(cfg, "discard-udp");
	ck_assert_int_eq(s->socktype, SOCK_DGRAM);
	ck_assert(s->wait);
	ck_assert_int_eq(s->line, 19);
	find(cfg, "discard");
	find(cfg, "daytime");
	find(cfg, "time");
	find(cfg, "chargen");
	config_free(cfg);
	free(text);
}
END_TEST

START_TEST(test_openbsd_stock)
{
	char *text = data("inetd.conf.openbsd", NULL, NULL), *out = NULL;
	struct config *cfg;
	const struct service *s;
	size_t len;

	/* This host has no /usr/libexec/comsat: the message says so. */
	cfg = load_native(text, NULL);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(err, "inetd.conf:15: service 'comsat': exec "
	    "'/usr/libexec/comsat': No such file or directory") != NULL,
	    "%s", err);

	/* The translation, line for line. */
	ck_assert_int_eq(conf_inetd_dump("inetd.conf", text, &out, &len, err,
	    sizeof(err)), 0);
	ck_assert_msg(strstr(out, "\n\n\nservice \"daytime\" { listen = { "
	    "\"*:daytime\" } plugin = \"daytime\" }\nservice \"daytime-tcp6\" "
	    "{ listen = { \"[::]:daytime\" } plugin = \"daytime\" options = "
	    "{ \"IPV6_V6ONLY\" } }\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "service \"comsat\" { listen = { "
	    "\"127.0.0.1:comsat\" } type = dgram exec = "
	    "\"/usr/libexec/comsat\" stderr = socket user = \"root\" }\n"
	    "service \"comsat-udp6\" { listen = { \"[::1]:comsat\" } type = "
	    "dgram exec = \"/usr/libexec/comsat\" stderr = socket user = "
	    "\"root\" }\n") != NULL, "%s", out);
	free(out);
	free(text);

	/* With a program this host has, it loads in full. */
	text = data("inetd.conf.openbsd", "/usr/libexec/comsat", "/bin/true");
	cfg = load_native(text, NULL);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->nservices, 4);
	s = find(cfg, "comsat");
	ck_assert_str_eq(s->listens[0].text, "127.0.0.1:comsat");
	ck_assert_str_eq(s->argv0, "comsat");
	ck_assert(s->wait);
	s = find(cfg, "comsat-udp6");
	ck_assert_str_eq(s->listens[0].text, "[::1]:comsat");
	/* tcp beside tcp6: IPv4 alone, so both can bind. */
	s = find(cfg, "daytime");
	ck_assert_str_eq(s->listens[0].text, "*:daytime");
	ck_assert_uint_eq(s->nopts, 0);
	s = find(cfg, "daytime-tcp6");
	ck_assert_str_eq(s->listens[0].text, "[::]:daytime");
	ck_assert_str_eq(s->opts[0].text, "IPV6_V6ONLY");
	config_free(cfg);
	free(text);
}
END_TEST

/* One entry and its exact translation. */
static const struct {
	const char *entry;
	const char *want;
} forms[] = {
	/* internal, dual stack; wait dropped on a stream plugin */
	{ "echo stream tcp wait root internal",
	  "service \"echo\" { listen = { \"[::]:echo\" } plugin = \"echo\" "
	  "options = { \"IPV6_V6ONLY=0\" } }" },
	/* udp6, nowait on a datagram service waits anyway */
	{ "time dgram udp6 nowait root internal",
	  "service \"time\" { listen = { \"[::]:time\" } type = dgram "
	  "plugin = \"time\" options = { \"IPV6_V6ONLY\" } }" },
	/* user:group, nowait.max, buffers, argv0 that differs */
	{ "127.0.0.1:2107 stream tcp4,rcvbuf=64k nowait.90 nobody:nogroup "
	  "/bin/busybox cat -u",
	  "service \"2107\" { listen = { \"127.0.0.1:2107\" } exec = "
	  "\"/bin/busybox\" argv0 = \"cat\" args = { \"-u\" } stderr = "
	  "socket user = \"nobody\" group = \"nogroup\" options = { "
	  "\"SO_RCVBUF=65536\" } rate = 1.5 burst = 90 }" },
	/* user.group; argv0 equal to the program's name is not kept */
	{ "talk dgram udp4 wait nobody.tty /usr/sbin/in.talkd in.talkd",
	  "service \"talk\" { listen = { \"*:talk\" } type = dgram exec = "
	  "\"/usr/sbin/in.talkd\" stderr = socket user = \"nobody\" group = "
	  "\"tty\" }" },
	/* tcpd: the program it runs, relative to /usr/sbin, wrapped */
	{ "finger stream tcp nowait nobody /usr/sbin/tcpd in.fingerd -w",
	  "service \"finger\" { listen = { \"[::]:finger\" } exec = "
	  "\"/usr/sbin/in.fingerd\" args = { \"-w\" } stderr = socket user "
	  "= \"nobody\" options = { \"IPV6_V6ONLY=0\" } tcp-wrappers = true }" },
	/* unix sockets; quoting of $ and " */
	{ "/run/x+y.sock stream unix nowait daemon /bin/echo echo a\"b $HOME",
	  "service \"x_y.sock\" { listen = { \"/run/x+y.sock\" } exec = "
	  "\"/bin/echo\" args = { \"a\\\"b\", \"\\$HOME\" } stderr = socket "
	  "user = \"daemon\" }" },
	/* stream wait is kept for programs */
	{ "ident stream tcp6 wait daemon /bin/sleep identd 1",
	  "service \"ident\" { listen = { \"[::]:ident\" } exec = "
	  "\"/bin/sleep\" argv0 = \"identd\" args = { \"1\" } stderr = socket "
	  "wait = true user = \"daemon\" options = { \"IPV6_V6ONLY\" } }" },
	/* a tcpmux sub-service: the tcpmux service, at its line */
	{ "tcpmux/+date stream tcp nowait.60 nobody /bin/date date -u",
	  "service \"tcpmux\" { listen = { \"[::]:tcpmux\" } plugin = "
	  "\"tcpmux\" args = { \"+date nobody /bin/date date -u\" } "
	  "isolation = process user = \"root\" options = { "
	  "\"IPV6_V6ONLY=0\" } rate = 1 burst = 60 }" },
	/* two hosts, one of each family, on tcp46 */
	{ "127.0.0.1,[::1]:qotd stream tcp nowait nobody /usr/bin/env env",
	  "service \"qotd\" { listen = { \"127.0.0.1:qotd\", \"[::1]:qotd\" } "
	  "exec = \"/usr/bin/env\" stderr = socket user = \"nobody\" }" },
};

START_TEST(test_forms)
{
	char *out = NULL;
	size_t len;
	char want[1024];

	ck_assert_msg(conf_inetd_dump("inetd.conf", forms[_i].entry, &out,
	    &len, err, sizeof(err)) == 0, "%s", err);
	snprintf(want, sizeof(want), "%s\n", forms[_i].want);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(len, strlen(want));
	free(out);
}
END_TEST

/* Entries porterd refuses, with the message. */
static const struct {
	const char *text;
	const char *want;
} errors[] = {
	{ "echo stream tcp nowait root\n",
	  "inetd.conf:1: expected 'service socket-type protocol wait user "
	  "server [args]', got 5 fields" },
	{ "# c\necho stream tcp sometimes root internal\n",
	  "inetd.conf:2: expected wait or nowait[.max], not 'sometimes'" },
	{ "echo stream udp nowait root internal\n",
	  "inetd.conf:1: protocol udp does not fit socket type stream" },
	{ "rstatd/1-3 dgram rpc/udp wait root /bin/true rpc.rstatd\n",
	  "inetd.conf:1: RPC services need the portmapper, which porterd does "
	  "not speak" },
	{ "icmp raw icmp nowait root /bin/true true\n",
	  "inetd.conf:1: porterd has no raw sockets" },
	{ "x stream sctp nowait root /bin/true true\n",
	  "inetd.conf:1: protocol 'sctp' is not supported (tcp, tcp4, tcp6, "
	  "tcp46, udp, ..., unix)" },
	{ "rje stream tcp nowait root internal\n",
	  "inetd.conf:1: porterd has no built-in 'rje' service" },
	{ "tcpmux/x dgram udp wait root /bin/true\n",
	  "inetd.conf:1: a tcpmux service is 'stream tcp nowait' and runs a "
	  "program (not tcpd)" },
	{ "tcpmux stream tcp nowait root internal\n"
	  "127.0.0.1:tcpmux stream tcp nowait root internal\n",
	  "inetd.conf:2: a second tcpmux service (the first is at line 1)" },
	{ "finger stream tcp nowait root /usr/sbin/tcpd\n",
	  "inetd.conf:1: tcpd without the program it wraps" },
	{ "x stream tcp,rcvbuf=lots nowait root /bin/true\n",
	  "inetd.conf:1: bad socket buffer 'rcvbuf=lots' (sndbuf=N or "
	  "rcvbuf=N, with k or m)" },
	{ "127.0.0.1:x stream tcp6 nowait root /bin/true\n",
	  "inetd.conf:1: no address of the entry's family (tcp6) is left to "
	  "listen on" },
	{ "# continued entries keep their first line\n"
	  "x stream tcp nowait\n  root /bin/true\n"
	  "y stream tcp nowait root\n",
	  "inetd.conf:4: expected 'service socket-type protocol wait user "
	  "server [args]', got 5 fields" },
};

START_TEST(test_errors)
{
	char *out = NULL;
	size_t len;

	ck_assert_int_eq(conf_inetd_dump("inetd.conf", errors[_i].text, &out,
	    &len, err, sizeof(err)), -1);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(err, errors[_i].want);
}
END_TEST

START_TEST(test_load_errors)
{
	struct config *cfg;

	/* Checked like porterd.conf's services, blamed on the entry. */
	cfg = load_native("# x\n\necho stream tcp nowait nobody "
	    "/nonexistent/prog\n", NULL);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "inetd.conf:3: service 'echo': exec "
	    "'/nonexistent/prog': No such file or directory");

	cfg = load_native("echo stream tcp nowait no-such-user-here "
	    "/bin/cat\n", NULL);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(err, "inetd.conf:1: service 'echo':") == err &&
	    strstr(err, "no-such-user-here") != NULL, "%s", err);

	/* A service in both files. */
	cfg = load_native("\n\n127.0.0.1:7 stream tcp nowait root /bin/cat\n",
	    "service 7 {\n  plugin = \"echo\"\n  listen = { \"[::1]:7\" }\n"
	    "}\n");
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "inetd.conf:3: duplicate service '7' (first "
	    "defined at porterd.conf:4)");

	/* A literal inetd-conf file must exist; a pattern may match none. */
	write_file("porterd.conf", "inetd-conf = { \"nope.conf\" }\n");
	ck_assert_ptr_null(config_load("porterd.conf", err, sizeof(err)));
	ck_assert_str_eq(err, "porterd.conf:1: inetd-conf 'nope.conf': No "
	    "such file or directory");
	write_file("porterd.conf", "inetd-conf = { \"inetd.d/*\" }\n");
	cfg = config_load("porterd.conf", err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	config_free(cfg);
}
END_TEST

START_TEST(test_inetd_d)
{
	struct config *cfg;

	ck_assert_int_eq(mkdir("inetd.d", 0755), 0);
	write_file("inetd.d/a", "127.0.0.1:7001 stream tcp nowait root "
	    "/bin/cat\n");
	write_file("inetd.d/b", "127.0.0.1:7001 dgram udp wait root "
	    "/bin/cat\n#<off># 7002 stream tcp nowait root /bin/cat\n");
	write_file("inetd.d/.hidden", "garbage\n");
	write_file("porterd.conf", "inetd-conf = { \"inetd.d/*\" }\n");
	cfg = config_load("porterd.conf", err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->nservices, 2);
	/* Names are unique across the inetd files. */
	ck_assert_str_eq(cfg->services[0]->name, "7001");
	ck_assert_str_eq(cfg->services[1]->name, "7001-udp");
	ck_assert_msg(strstr(cfg->services[1]->file, "inetd.d/b") != NULL,
	    "%s", cfg->services[1]->file);
	ck_assert_str_eq(cfg->skipped[0], "inetd.d/.hidden");
	config_free(cfg);
}
END_TEST

/* ------------------------------------------------------------------ */

/* Runs the converter on `in` into `out`; its exit status. */
static int
convert(const char *in, const char *out)
{
	char prog[PATH_MAX * 2];
	pid_t pid;
	int st;

	snprintf(prog, sizeof(prog), "%s/contrib/inetd2porter/inetd2porter",
	    srcdir);
	if ((pid = fork()) == 0) {
		execlp("python3", "python3", prog, "--skip-disabled",
		    "--hosts-allow", "hosts.allow", "--hosts-deny",
		    "hosts.deny", "--inetd", in, "-o", out, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
same_strv(char **a, char **b, const char *what, const char *svc)
{
	size_t i;

	for (i = 0; a != NULL && a[i] != NULL; i++) {
		ck_assert_msg(b != NULL && b[i] != NULL, "%s %s", svc, what);
		ck_assert_msg(strcmp(a[i], b[i]) == 0, "%s %s: %s vs %s", svc,
		    what, a[i], b[i]);
	}
	ck_assert_msg(b == NULL || b[i] == NULL, "%s %s", svc, what);
}

#define SAME_STR(f) ck_assert_msg((a->f == NULL && b->f == NULL) || \
	(a->f != NULL && b->f != NULL && strcmp(a->f, b->f) == 0), \
	"%s: " #f " %s vs %s", a->name, a->f ? a->f : "(null)", \
	b->f ? b->f : "(null)")
#define SAME(f) ck_assert_msg(a->f == b->f, "%s: " #f " differs", a->name)

/* The two loads serve the same: every field an inetd entry can set. */
static void
same_service(const struct service *a, const struct service *b)
{
	size_t i;

	ck_assert_str_eq(a->name, b->name);
	SAME(socktype);
	SAME(protocol);
	SAME(nlistens);
	for (i = 0; i < a->nlistens; i++)
		ck_assert_str_eq(a->listens[i].text, b->listens[i].text);
	SAME(nopts);
	for (i = 0; i < a->nopts; i++)
		ck_assert_str_eq(a->opts[i].text, b->opts[i].text);
	SAME(kind);
	SAME_STR(handler);
	SAME_STR(argv0);
	same_strv(a->args, b->args, "args", a->name);
	SAME(stderr_mode);
	SAME(wait);
	SAME(set_user);
	SAME(uid);
	SAME(gid);
	ck_assert_msg(a->limits.rate == b->limits.rate, "%s rate", a->name);
	SAME(limits.burst);
	SAME(tcp_wrappers);
	SAME_STR(wrap_name);
	SAME(nacl);
}

static const char *const agree_files[] = {
	"inetd.conf.handwritten",
	"inetd.conf.debian",
	"inetd.conf.openbsd",
};

START_TEST(test_agreement)
{
	struct config *native, *conv;
	char *text;
	size_t i;

	/* OpenBSD's comsat is not on this host: /bin/true for it. */
	text = data(agree_files[_i], "/usr/libexec/comsat", "/bin/true");
	write_file("hosts.allow", "ALL: 127.0.0.1\n");
	write_file("hosts.deny", "ALL: ALL\n");
	native = load_native(text, NULL);
	ck_assert_msg(native != NULL, "%s", err);
	ck_assert_int_eq(convert("inetd.conf", "converted.conf"), 0);
	write_file("porterd.conf", "hosts-allow = \"hosts.allow\"\n"
	    "hosts-deny = \"hosts.deny\"\ninclude = { \"converted.conf\" }\n");
	conv = config_load("porterd.conf", err, sizeof(err));
	ck_assert_msg(conv != NULL, "converted: %s", err);
	ck_assert_uint_eq(native->nservices, conv->nservices);
	for (i = 0; i < native->nservices; i++)
		same_service(native->services[i], conv->services[i]);
	if (strcmp(agree_files[_i], "inetd.conf.debian") != 0)
		ck_assert_uint_gt(native->nservices, 0);
	config_free(native);
	config_free(conv);
	free(text);
}
END_TEST

static Suite *
conf_inetd_suite(void)
{
	Suite *s = suite_create("conf_inetd");
	TCase *tc;

	tc = tcase_create("stock files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_debian_stock);
	tcase_add_test(tc, test_openbsd_stock);
	suite_add_tcase(s, tc);

	tc = tcase_create("forms");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_forms, 0, nitems(forms));
	tcase_add_loop_test(tc, test_errors, 0, nitems(errors));
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_inetd_d);
	suite_add_tcase(s, tc);

	tc = tcase_create("agreement with inetd2porter");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_agreement, 0, nitems(agree_files));
	suite_add_tcase(s, tc);
	return s;
}

PT_CHECK_MAIN(conf_inetd_suite)
