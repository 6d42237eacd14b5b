/*
 * main.c -- porterd's command line and start-up.
 *
 * porterd [-n] [-d] [-t] [-f FILE] [-P DIR]
 *
 * Exit status: 0 after a clean shutdown or a successful --check, 1 for a
 * bad config, a refused plugin or a failed start, 2 for a bad command line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "pool.h"
#include "loop.h"
#include "tls.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/porter/porterd.conf"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: porterd [options]\n"
	    "  -f, --config FILE      configuration file (default %s)\n"
	    "  -n, --foreground       do not detach; log to stderr\n"
	    "  -d, --debug            log debug messages to stderr\n"
	    "  -t, --check            check the configuration and plugins, "
	    "then exit\n"
	    "  -P, --plugin-dir DIR   load plugins from DIR (overrides "
	    "plugin-dir)\n"
	    "  -V, --version          print the version and exit\n"
	    "  -h, --help             print this help and exit\n",
	    DEFAULT_CONFIG);
}

/* Descriptors 0-2 must exist, or the first socket would become stdout. */
static void
main_sane_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

/*
 * Detaches (fork, setsid, fork).  The command that started porterd waits
 * until the daemon writes to *ret_ready (after its pid file is written):
 * "R" and it exits 0; anything else is a message it prints on stderr,
 * which the detached daemon no longer has, before it exits 1 (as it does
 * if the daemon closes the pipe without a word).  Whoever runs "porterd
 * && cat porterd.pid" finds the file there, or is told why not.
 */
static int
main_daemonize(int *ret_ready)
{
	char buf[1024];
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	int p[2], fd;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		return -1;
	if (pid > 0) {
		close(p[1]);
		for (;;) {
			n = read(p[0], buf + len, sizeof(buf) - 1 - len);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0 || (len += (size_t)n) == sizeof(buf) - 1)
				break;
		}
		if (len == 1 && buf[0] == 'R')
			_exit(0);
		if (len > 0) {
			buf[len] = '\0';
			fprintf(stderr, "porterd: %s\n", buf);
		}
		_exit(1);
	}
	close(p[0]);
	if (setsid() == -1)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid > 0)
		_exit(0);
	if (chdir("/") == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	*ret_ready = p[1];
	return 0;
}

/* Writes the pid file; returns 0, or -1 with the reason in why. */
static int
main_pidfile(const char *path, char *why, size_t whylen)
{
	FILE *f;

	if (path == NULL)
		return 0;
	if ((f = fopen(path, "we")) == NULL)
		goto fail;
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0)
		goto fail;
	return 0;
fail:
	snprintf(why, whylen, "pid file %s: %s", path, strerror(errno));
	return -1;
}

struct bound_args {
	int detach;
	const char *pid_file;
};

/* loop_options.on_bound: detach and write the pid file, sockets open. */
static int
main_on_bound(void *arg)
{
	const struct bound_args *ba = arg;
	char why[PATH_MAX + 128];
	int ready = -1, r;
	ssize_t n;

	if (ba->detach && main_daemonize(&ready) == -1) {
		log_warn("daemonize");
		return -1;
	}
	r = main_pidfile(ba->pid_file, why, sizeof(why));
	if (r == -1)
		log_warnx("%s", why);
	if (ready >= 0) {
		/* The starting command says it: our stderr is /dev/null. */
		if (r == 0)
			n = write(ready, "R", 1);
		else
			n = write(ready, why, strlen(why));
		(void)n;
		close(ready);
	}
	return r;
}

/*
 * A path given on the command line, made absolute against the start
 * directory: a detached porterd runs in / and reloads from there.
 * Returns a new string, or NULL (out of memory).
 */
static char *
main_abspath(const char *start, const char *path)
{
	char *s;

	if (path[0] == '/' || start[0] == '\0')
		return strdup(path);
	if (asprintf(&s, "%s%s%s", start,
	    start[strlen(start) - 1] == '/' ? "" : "/", path) == -1)
		return NULL;
	return s;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "foreground", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "check", no_argument, NULL, 't' },
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct loop_options opts = { DEFAULT_CONFIG, NULL, -1, 0, NULL, NULL };
	struct bound_args ba = { 0, NULL };
	char *pid_file = NULL, *config_path = NULL, *plugin_dir = NULL;
	int foreground = 0, debug = 0, check = 0, ch, r;
	char errbuf[1024], start[PATH_MAX];
	struct config *cfg;

	/* A worker pool's process (pool.h): porterd re-exec'd by itself. */
	if (argc == 2 && strcmp(argv[1], "--pool-worker") == 0)
		return poolworker_main(argv);
	if (tls_init() == -1) {
		fprintf(stderr, "porterd: cannot initialise OpenSSL\n");
		return 1;
	}
	while ((ch = getopt_long(argc, argv, "f:ndtP:Vh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'f':
			opts.config_path = optarg;
			break;
		case 'n':
			foreground = 1;
			break;
		case 'd':
			debug = opts.debug = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'P':
			opts.plugin_dir = optarg;
			break;
		case 'V':
			printf("porterd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	main_sane_fds();
	/* Until the config says otherwise, errors go to the terminal. */
	log_init(LOG_TARGET_STDERR, debug ? LOG_DEBUG : LOG_INFO, "porterd");

	/*
	 * Relative paths (-f, -P, pid-file, plugin-dir) are the start
	 * directory's, now and on every reload after detaching.
	 */
	if (getcwd(start, sizeof(start)) == NULL)
		start[0] = '\0';
	config_start_dir(start);
	if ((config_path = main_abspath(start, opts.config_path)) == NULL ||
	    (opts.plugin_dir != NULL &&
	    (plugin_dir = main_abspath(start, opts.plugin_dir)) == NULL))
		fatal("strdup");
	opts.config_path = config_path;
	if (plugin_dir != NULL)
		opts.plugin_dir = plugin_dir;

	if ((cfg = config_load(opts.config_path, errbuf,
	    sizeof(errbuf))) == NULL) {
		log_warnx("%s", errbuf);
		r = 1;
		goto out;
	}
	if (check) {
		r = loop_check(cfg, opts.plugin_dir, errbuf, sizeof(errbuf));
		if (r == 0)
			printf("%s: OK (%zu services)\n", opts.config_path,
			    cfg->nservices);
		else
			log_warnx("%s", errbuf);
		config_free(cfg);
		r = r == 0 ? 0 : 1;
		goto out;
	}

	if (!foreground && !debug && cfg->log_target == LOG_TARGET_SYSLOG)
		log_init(LOG_TARGET_SYSLOG, cfg->log_level, "porterd");
	else
		log_init(LOG_TARGET_STDERR, debug ? LOG_DEBUG :
		    cfg->log_level, "porterd");
	/* Exec'd programs' stderr joins ours when we log to the terminal. */
	opts.stderr_fd = (foreground || debug) ? STDERR_FILENO : -1;
	/* A plugin writing to a closed peer must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);

	/* The loop owns cfg (a reload replaces it); keep the path we write. */
	if (cfg->pid_file != NULL && (pid_file = strdup(cfg->pid_file)) == NULL)
		fatal("strdup");
	ba.detach = !foreground && !debug;
	ba.pid_file = pid_file;
	opts.on_bound = main_on_bound;
	opts.on_bound_arg = &ba;
	r = loop_run(cfg, &opts);
	if (pid_file != NULL) {
		unlink(pid_file);
		free(pid_file);
	}
out:
	free(config_path);
	free(plugin_dir);
	return r;
}
