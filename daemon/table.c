/*
 * table.c -- the running service table and how a reload replaces it.
 *
 * A reload (and the start) builds the complete new table first -- every
 * service with its plugin and init, and for each listen entry either a
 * listener handed over from the running table or a freshly opened one --
 * and only then swaps it in.  Unchanged listeners are handed over, never
 * closed, so an unchanged service never stops accepting; if any step
 * fails, what was opened is closed and the running table stays.  Sockets
 * passed by systemd are claimed by name and kept across reloads.
 *
 * The build runs while the event loops go on serving the running table;
 * only the swap parks them (evloop_park) and takes the gate lock, so no
 * loop ever sees a listener between two services.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bindretry.h"
#include "conn.h"
#include "accept.h"
#include "dgram_guard.h"
#include "evloop.h"
#include "gate.h"
#include "listen.h"
#include "log.h"
#include "logpeer.h"
#include "pool.h"
#include "loop_priv.h"
#include "limiter.h"
#include "svc.h"

void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		svc_unref(t->svcs[i]);
	free(t->svcs);
	t->svcs = NULL;
	t->n = 0;
}

/*
 * An open listener of the running table that can serve spec, or NULL.
 * The service of the same name is asked first.  Another service's socket
 * is only taken over for a concrete address (a fixed port or a path): two
 * "127.0.0.1:0" entries are equal as text but stand for different ports.
 */
static struct listener *
table_find_listener(const struct service *conf, const struct listen_spec *spec)
{
	bool concrete = pt_addr_family(&spec->addr) == AF_UNIX ||
	    pt_addr_port(&spec->addr) != 0;
	size_t i, j;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < loop.tab.n; i++) {
			struct svc *old = loop.tab.svcs[i];
			bool same = strcmp(old->conf->name, conf->name) == 0;

			if (pass == 0 ? !same : (same || !concrete))
				continue;
			for (j = 0; j < old->nls; j++) {
				struct listener *l = old->ls[j];

				if (!l->matched && !l->doomed &&
				    listen_matches(l, old->conf, conf, spec))
					return l;
			}
		}
	}
	return NULL;
}

/*
 * Claims for svc the sockets systemd passed: the one named by each
 * "fd:NAME" entry, and every socket named like the service itself (used
 * instead of binding its other entries).  Returns 0, or -1 with errbuf.
 */
static int
table_claim_passed(struct svc *svc, bool *ret_by_name, char *errbuf,
    size_t errlen)
{
	const struct service *conf = svc->conf;
	size_t i, j;

	*ret_by_name = false;
	for (i = 0; i < loop.npassed; i++) {
		struct listener *l = loop.passed[i];
		bool want = strcmp(l->name, conf->name) == 0;

		for (j = 0; j < conf->nlistens && !want; j++)
			want = conf->listens[j].fd_name != NULL &&
			    strcmp(conf->listens[j].fd_name, l->name) == 0;
		if (!want || l->matched)
			continue;
		if (l->socktype != conf->socktype) {
			snprintf(errbuf, errlen, "%s:%d: service %s: socket "
			    "'%s' (%s) from systemd is %s, the service is %s",
			    conf->file, conf->line, conf->name, l->name,
			    l->text, loop_socktype_name(l->socktype),
			    loop_socktype_name(conf->socktype));
			return -1;
		}
		if (strcmp(l->name, conf->name) == 0)
			*ret_by_name = true;
		l->matched = true;
		svc->ls[svc->nls++] = l;
	}
	for (j = 0; j < conf->nlistens; j++) {
		const char *want = conf->listens[j].fd_name;

		for (i = 0; want != NULL && i < svc->nls; i++)
			if (strcmp(svc->ls[i]->name, want) == 0)
				want = NULL;
		if (want != NULL) {
			snprintf(errbuf, errlen, "%s:%d: service %s: no socket "
			    "named '%s' was passed by systemd", conf->file,
			    conf->line, conf->name, want);
			return -1;
		}
	}
	return 0;
}

/*
 * A service that stays (same name) keeps counting, whatever its limits
 * became: its running connections, per-source counts and token bucket
 * carry over to the new svc, so a reload is no way around
 * max-connections.  The new numbers reach the shared limiter only when
 * the table is swapped (table_commit), so a failed reload changes nothing.
 * Its worker pool carries over too if the pool would be started the same
 * (pool.h); a failed reload just drops the new svc's reference.
 */
static void
table_share(struct svc *svc)
{
	size_t i;

	for (i = 0; i < loop.tab.n; i++) {
		struct svc *old = loop.tab.svcs[i];

		if (strcmp(old->conf->name, svc->conf->name) != 0)
			continue;
		limiter_unref(svc->lim);
		svc->lim = limiter_ref(old->lim);
		pool_share(old, svc);
		return;
	}
}

/* Undoes table_build(): closes what it opened, unmarks what it borrowed. */
static void
table_unbuild(struct table *nt)
{
	size_t i, j;

	bindretry_abort();	/* hook (hard) */
	for (i = 0; i < nt->n; i++) {
		struct svc *svc = nt->svcs[i];

		for (j = 0; j < svc->nls; j++) {
			struct listener *l = svc->ls[j];

			if (l->svc == svc && !l->adopted) {
				listen_close(l);
				continue;
			}
			l->matched = false;
			if (!l->adopted)	/* hook (hard) */
				listen_reconfigure_undo(l, svc->conf,
				    l->svc->conf);
		}
		svc->nls = 0;
	}
	table_free(nt);
}

/*
 * Builds the new table for cfg: every svc, and for each listen entry
 * either a listener handed over from the running table (marked, not yet
 * moved) or a freshly opened one.  Returns 0, or -1 with errbuf set and
 * nothing changed.
 */
static int
table_build(struct config_ref *cref, struct table *nt, char *errbuf,
    size_t errlen)
{
	struct config *cfg = cref->cfg;
	bool by_name;
	size_t i, j;

	if ((nt->svcs = calloc(cfg->nservices + 1, sizeof(*nt->svcs))) == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < cfg->nservices; i++) {
		const struct service *conf = cfg->services[i];
		struct svc *svc;

		svc = svc_new(conf, cref, loop_plugin_dir(cfg), errbuf, errlen);
		if (svc == NULL)
			goto fail;
		nt->svcs[nt->n++] = svc;
		table_share(svc);
		if ((svc->ls = calloc(conf->nlistens + loop.npassed + 1,
		    sizeof(*svc->ls))) == NULL) {
			snprintf(errbuf, errlen, "out of memory");
			goto fail;
		}
		if (table_claim_passed(svc, &by_name, errbuf, errlen) == -1)
			goto fail;
		for (j = 0; j < conf->nlistens && !by_name; j++) {
			const struct listen_spec *spec = &conf->listens[j];
			struct listener *l;

			if (spec->fd_name != NULL)
				continue;
			if ((l = table_find_listener(conf, spec)) != NULL) {
				/* hook (hard): backlog, options, wait, file mode */
				if (listen_reconfigure(l, l->svc->conf, conf,
				    errbuf, errlen) == -1)
					goto fail;
				l->matched = true;
			} else if ((l = listen_open(svc, spec, errbuf,
			    errlen)) == NULL) {
				/* hook (hard): retried, unless strict-start */
				if (!cfg->strict_start && bindretry_stage(svc,
				    spec, errno, errbuf) == 0)
					continue;
				goto fail;
			}
			svc->ls[svc->nls++] = l;
		}
	}
	return 0;
fail:
	table_unbuild(nt);
	return -1;
}

/* The listen entry of conf that l (handed over) now serves. */
static const struct listen_spec *
table_spec_of(const struct service *conf, const struct listener *l)
{
	size_t i;

	for (i = 0; i < conf->nlistens; i++)
		if (pt_addr_equal(&conf->listens[i].addr, &l->spec->addr))
			return &conf->listens[i];
	return NULL;
}

/*
 * Swaps nt in: moves handed-over listeners, closes the rest, logs.  The
 * caller parked the event loops; this unparks them.  The gate lock is held
 * throughout.
 */
static void
table_commit(struct table *nt)
{
	struct table old_tab;
	size_t i, j;

	gate_lock();
	for (i = 0; i < nt->n; i++) {
		struct svc *svc = nt->svcs[i];

		loop_errpipe_open(svc);
		limiter_respec(svc->lim, &svc->conf->limits);
		gate_adopt_locked(svc);
		for (j = 0; j < svc->nls; j++) {
			struct listener *l = svc->ls[j];

			l->ev.fd = l->fd;
			l->ev.fn = accept_ev;
			if (l->adopted) {
				if (l->svc == NULL)
					log_info("service %s: using %s (%s) "
					    "from systemd, socket '%s'",
					    svc->conf->name, l->text,
					    loop_socktype_name(l->socktype),
					    l->name);
				else
					log_info("service %s: keeping %s",
					    svc->conf->name, l->text);
				l->svc = svc;
				l->matched = false;
				/*
				 * Only now: O_NONBLOCK belongs to the socket,
				 * and a reload that fails must not change it
				 * under the running service.
				 */
				if (pt_sock_setblocking(l->sock,
				    svc->conf->wait, NULL) == -1)
					log_warn("service %s: socket '%s'",
					    svc->conf->name, l->name);
			} else if (l->svc != svc) {
				log_info("service %s: keeping %s",
				    svc->conf->name, l->text);
				/* hook (hard): `wait` changed: blocking mode */
				listen_set_mode(l, l->svc->conf, svc->conf);
				l->svc = svc;
				l->spec = table_spec_of(svc->conf, l);
				l->matched = false;
			} else {
				log_info("service %s: listening on %s (%s)",
				    svc->conf->name, l->text,
				    loop_socktype_name(l->socktype));
			}
		}
		gate_svc_arm_locked(svc);
	}
	for (i = 0; i < loop.tab.n; i++) {
		struct svc *old = loop.tab.svcs[i];

		for (j = 0; j < old->nls; j++) {
			struct listener *l = old->ls[j];

			if (l->svc != old)
				continue;	/* handed over */
			if (l->adopted) {
				/* systemd's socket: keep it for a later reload. */
				log_info("service %s: releasing %s (socket '%s' "
				    "from systemd stays open, unused)",
				    old->conf->name, l->text, l->name);
				gate_disarm_locked(l);
				l->svc = NULL;
				continue;
			}
			log_info("service %s: closing %s", old->conf->name,
			    l->text);
			gate_drop_listener_locked(l);
		}
		old->nls = 0;
	}
	bindretry_commit();	/* hook (hard): before the old svcs go */
	old_tab = loop.tab;
	loop.tab = *nt;
	gate_unlock();
	evloop_unpark();
	/* Outside the lock: the last reference runs a plugin's fini. */
	table_free(&old_tab);
}

/* Loads cfg as the running config.  Takes ownership of cfg either way. */
int
table_apply(struct config *cfg, char *errbuf, size_t errlen)
{
	struct config_ref *cref;
	struct table nt = { NULL, 0 };

	if ((cref = config_ref_new(cfg)) == NULL) {
		config_free(cfg);
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	if (table_build(cref, &nt, errbuf, errlen) == -1) {
		config_ref_put(cref);
		return -1;
	}
	if (evloop_park(PARK_TIMEOUT_MS, errbuf, errlen) == -1) {
		table_unbuild(&nt);
		config_ref_put(cref);
		return -1;
	}
	table_commit(&nt);
	dgram_guard_set_services(loop.tab.svcs, loop.tab.n);
	config_ref_put(loop.cref);
	loop.cref = cref;
	if (!loop.opts->debug)
		log_setlevel(cfg->log_level);
	logpeer_set(cfg->log_peer);
	loop_set_stall(cfg->fiber_stall_ms);
	return 0;
}

/* Closes passed sockets: every one, or only those no service claimed. */
void
table_drop_passed(bool unclaimed_only)
{
	size_t i, n = 0;

	for (i = 0; i < loop.npassed; i++) {
		struct listener *l = loop.passed[i];

		if (unclaimed_only && l->svc != NULL) {
			loop.passed[n++] = l;
			continue;
		}
		if (unclaimed_only)
			log_warnx("socket '%s' (%s) passed by systemd: no "
			    "service claims it, closing", l->name, l->text);
		gate_lock();
		gate_drop_listener_locked(l);
		gate_unlock();
	}
	loop.npassed = n;
}

/* Closes porterd's own listeners; systemd's are only disarmed. */
static void
table_close_listeners(void)
{
	size_t i, j;

	gate_lock();
	for (i = 0; i < loop.tab.n; i++) {
		struct svc *svc = loop.tab.svcs[i];

		for (j = 0; j < svc->nls; j++)
			if (svc->ls[j]->adopted)
				gate_disarm_locked(svc->ls[j]);
			else
				gate_drop_listener_locked(svc->ls[j]);
		svc->nls = 0;
	}
	gate_unlock();
}

/*
 * Gate lock held: l accepts no more, without being closed.  Out of every
 * epoll set first (a shut-down listener polls ready forever); then our
 * own stream listeners refuse new clients (shutdown() resets the
 * backlog).  systemd's sockets outlive porterd and a busy wait listener
 * belongs to its handler: those are only disarmed.
 */
static void
table_shut_listener(struct listener *l)
{
	gate_disarm_locked(l);
	if (!l->adopted && !l->busy && l->socktype != SOCK_DGRAM)
		shutdown(l->fd, SHUT_RDWR);
}

void
table_stop_listening(unsigned timeout_ms)
{
	char why[256];
	size_t i, j;

	gate_stop();
	if (evloop_park(timeout_ms, why, sizeof(why)) == -1) {
		/*
		 * A loop is held by a handler: closing listeners under it is
		 * not safe.  Taking them out of every epoll set is (the gate
		 * lock orders it with arming), and stops all accepting; the
		 * sockets and their structs stay until exit.
		 */
		log_warnx("shutdown: %s; listeners shut down in place", why);
		gate_lock();
		for (i = 0; i < loop.tab.n; i++)
			for (j = 0; j < loop.tab.svcs[i]->nls; j++)
				table_shut_listener(loop.tab.svcs[i]->ls[j]);
		gate_unlock();
		return;
	}
	table_close_listeners();
	evloop_unpark();
	table_drop_passed(false);
}

void
table_close_at_exit(void)
{
	table_close_listeners();
	table_drop_passed(false);
}
