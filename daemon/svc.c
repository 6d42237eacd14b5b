/*
 * svc.c -- building and tearing down the running form of a service.
 *
 * svc_new() turns a validated `struct service` into a `struct svc`: it
 * loads the plugin and calls its init, or prepares the exec argv, and
 * resolves the supplementary groups handlers run with.  svc_unref()
 * undoes all of it once the service has left the table and its last
 * connection has finished, so a plugin's fini never runs under a live
 * handle().
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "edge.h"
#include "log.h"
#include "loader.h"
#include "pool.h"
#include "stats.h"
#include "svc.h"
#include "gate.h"

static struct plugin_registry *svc_registry;
/*
 * The registry is the control thread's, except that the last reference to
 * a retired svc may be dropped on any thread (a handler finishing): loads
 * and unloads take this lock.
 */
static pthread_mutex_t svc_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*svc_unwatch)(int fd);

void
svc_set_unwatch(void (*fn)(int fd))
{
	svc_unwatch = fn;
}

void
svc_set_registry(struct plugin_registry *reg)
{
	svc_registry = reg;
}

struct config_ref *
config_ref_new(struct config *cfg)
{
	struct config_ref *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->cfg = cfg;
	r->refs = 1;
	return r;
}

void
config_ref_put(struct config_ref *r)
{
	if (r == NULL || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	config_free(r->cfg);
	free(r);
}

/* The groups a handler of this service runs with: the user's, as login
 * would set them, plus the service's group. */
static int
svc_groups(struct svc *svc)
{
	const struct service *conf = svc->conf;
	char buf[4096];
	struct passwd pw, *pwp = NULL;
	int n = 16;

	if (!conf->set_user)
		return 0;
	if (getpwuid_r(conf->uid, &pw, buf, sizeof(buf), &pwp) != 0 ||
	    pwp == NULL) {
		/* A numeric uid with no passwd entry: just its group. */
		if ((svc->groups = malloc(sizeof(gid_t))) == NULL)
			return -1;
		svc->groups[0] = conf->gid;
		svc->ngroups = 1;
		return 0;
	}
	for (;;) {
		gid_t *g = realloc(svc->groups, (size_t)n * sizeof(gid_t));

		if (g == NULL)
			return -1;
		svc->groups = g;
		if (getgrouplist(pw.pw_name, conf->gid, svc->groups, &n) >= 0)
			break;
	}
	svc->ngroups = n;
	return 0;
}

static int
svc_exec_argv(struct svc *svc)
{
	const struct service *conf = svc->conf;
	size_t i;

	if ((svc->argv = calloc(conf->nargs + 2, sizeof(char *))) == NULL)
		return -1;
	svc->argv[0] = conf->argv0 != NULL ? conf->argv0 : conf->handler;
	for (i = 0; i < conf->nargs; i++)
		svc->argv[i + 1] = conf->args[i];
	return 0;
}

static int
svc_plugin_init(struct svc *svc, const char *plugin_dir, char *errbuf,
    size_t errlen)
{
	const struct service *conf = svc->conf;
	char path[4096], why[512];
	pt_plugin_ctx ctx;
	pt_error err;

	if (plugin_path(plugin_dir, conf->handler, path, sizeof(path)) == -1) {
		snprintf(errbuf, errlen, "%s:%d: service %s: plugin path too "
		    "long", conf->file, conf->line, conf->name);
		return -1;
	}
	pthread_mutex_lock(&svc_registry_lock);
	svc->plugin = plugin_load(svc_registry, path, why, sizeof(why));
	pthread_mutex_unlock(&svc_registry_lock);
	if (svc->plugin == NULL) {
		snprintf(errbuf, errlen, "%s:%d: service %s: %s", conf->file,
		    conf->line, conf->name, why);
		return -1;
	}
	/* The loaded flags, not desc->flags: ABI 1.0 has no such field. */
	svc->cooperative = (svc->plugin->flags & PT_PLUGIN_COOPERATIVE) != 0 &&
	    conf->isolation == ISOLATION_THREAD;
	if (svc->plugin->desc->init == NULL) {
		svc->inited = true;
		return 0;
	}
	plugin_ctx(&ctx, svc, NULL);
	pt_error_clear(&err);
	if (svc->plugin->desc->init(&ctx, &svc->state, &err) != 0) {
		snprintf(errbuf, errlen, "%s:%d: service %s: plugin %s refused "
		    "its configuration: %s", conf->file, conf->line,
		    conf->name, svc->plugin->desc->name,
		    err.msg[0] != '\0' ? err.msg : "no reason given");
		return -1;
	}
	svc->inited = true;
	return 0;
}

struct svc *
svc_new(const struct service *conf, struct config_ref *cref,
    const char *plugin_dir, char *errbuf, size_t errlen)
{
	struct svc *svc;

	if ((svc = calloc(1, sizeof(*svc))) == NULL)
		goto nomem;
	svc->conf = conf;
	svc->cref = cref;
	__atomic_add_fetch(&cref->refs, 1, __ATOMIC_RELAXED);
	svc->refs = 1;
	svc->err_ev.fd = svc->err_wr = -1;
	svc->stats = stats_svc_get(conf->name);
	if ((svc->lim = limiter_new(&conf->limits)) == NULL ||
	    svc_groups(svc) == -1)
		goto nomem;
	if (conf->kind == HANDLER_EXEC) {
		if (svc_exec_argv(svc) == -1)
			goto nomem;
	} else if (svc_plugin_init(svc, plugin_dir, errbuf, errlen) == -1) {
		svc_unref(svc);
		return NULL;
	}
	if (edge_svc_new(svc, errbuf, errlen) == -1) {	/* edge.h: TLS */
		svc_unref(svc);
		return NULL;
	}
	return svc;
nomem:
	snprintf(errbuf, errlen, "%s:%d: service %s: out of memory",
	    conf->file, conf->line, conf->name);
	svc_unref(svc);
	return NULL;
}

void
svc_ref(struct svc *svc)
{
	__atomic_add_fetch(&svc->refs, 1, __ATOMIC_RELAXED);
}

void
svc_unref(struct svc *svc)
{
	if (svc == NULL || __atomic_sub_fetch(&svc->refs, 1,
	    __ATOMIC_ACQ_REL) > 0)
		return;
	/* The limiter may outlive us (shared with our successor). */
	gate_forget_svc(svc);
	if (svc->plugin != NULL) {
		if (svc->inited && svc->plugin->desc->fini != NULL)
			svc->plugin->desc->fini(svc->state);
		pthread_mutex_lock(&svc_registry_lock);
		plugin_unref(svc_registry, svc->plugin);
		pthread_mutex_unlock(&svc_registry_lock);
	}
	pool_free(svc->pool);
	limiter_unref(svc->lim);
	stats_svc_put(svc->stats);
	edge_svc_free(svc);
	if (svc->err_ev.fd >= 0) {
		/*
		 * A child forked a moment ago may still hold the read end, so
		 * closing ours would not end the epoll registration.
		 */
		if (svc_unwatch != NULL)
			svc_unwatch(svc->err_ev.fd);
		close(svc->err_ev.fd);
		close(svc->err_wr);
	}
	config_ref_put(svc->cref);
	free(svc->ls);
	free(svc->groups);
	free(svc->argv);
	free(svc);
}
