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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "loop.h"

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
 * until the daemon writes a byte to *ret_ready (after its pid file is
 * written) and exits 0, or exits 1 if the daemon closes it without one:
 * whoever runs "porterd && cat porterd.pid" finds the file there.
 */
static int
main_daemonize(int *ret_ready)
{
	char byte = 0;
	ssize_t n;
	pid_t pid;
	int p[2], fd;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		return -1;
	if (pid > 0) {
		close(p[1]);
		do
			n = read(p[0], &byte, 1);
		while (n == -1 && errno == EINTR);
		_exit(n == 1 && byte == 'R' ? 0 : 1);
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

static int
main_pidfile(const char *path)
{
	FILE *f;

	if (path == NULL)
		return 0;
	if ((f = fopen(path, "we")) == NULL) {
		log_warn("pid file %s", path);
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0) {
		log_warn("pid file %s", path);
		return -1;
	}
	return 0;
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
	int ready = -1, r;
	ssize_t n;

	if (ba->detach && main_daemonize(&ready) == -1) {
		log_warn("daemonize");
		return -1;
	}
	r = main_pidfile(ba->pid_file);
	if (ready >= 0) {
		if (r == 0) {
			n = write(ready, "R", 1);
			(void)n;
		}
		close(ready);
	}
	return r;
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
	char *pid_file = NULL;
	int foreground = 0, debug = 0, check = 0, ch, r;
	struct config *cfg;
	char errbuf[1024];

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

	if ((cfg = config_load(opts.config_path, errbuf,
	    sizeof(errbuf))) == NULL) {
		log_warnx("%s", errbuf);
		return 1;
	}
	if (check) {
		r = loop_check(cfg, opts.plugin_dir, errbuf, sizeof(errbuf));
		if (r == 0)
			printf("%s: OK (%zu services)\n", opts.config_path,
			    cfg->nservices);
		else
			log_warnx("%s", errbuf);
		config_free(cfg);
		return r == 0 ? 0 : 1;
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
	return r;
}
