/*
 * loop.h -- porterd's main loop: services, listeners, signals, reload.
 */
#ifndef PORTERD_LOOP_H
#define PORTERD_LOOP_H

#include <stddef.h>

#include "conf.h"
#include "loader.h"

struct loop_options {
	const char *config_path;
	const char *plugin_dir;		/* -P override, or NULL */
	int stderr_fd;			/* exec children's stderr in "log" mode */
	int debug;			/* -d: keep LOG_DEBUG whatever the config */
	/*
	 * Called once every listener is open and before privileges are
	 * dropped: detaching and the pid file happen here, so a failed bind
	 * is still reported to whoever started porterd.  Returns 0 or -1.
	 */
	int (*on_bound)(void *arg);
	void *on_bound_arg;
};

/*
 * Checks a loaded config the way a start would, without opening sockets:
 * loads every plugin, calls init and fini.  Returns 0, or -1 with the
 * reason ("porterd.conf:12: plugin ...: bad magic ...") in errbuf.
 */
int loop_check(struct config *cfg, const char *plugin_dir, char *errbuf,
    size_t errlen);

/*
 * Serves cfg (taking ownership of it) until SIGTERM or SIGINT.  Returns the
 * exit status: 0 after a clean shutdown, 1 if the start failed.
 */
int loop_run(struct config *cfg, const struct loop_options *opts);

#endif
