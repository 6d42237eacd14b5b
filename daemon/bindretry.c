/*
 * bindretry.c -- the retry state machine for listeners that could not be
 * bound at start or reload (see bindretry.h).
 *
 * Two lists: `run` belongs to the running table, `staged` to the one a
 * start or reload is building.  Each entry points at its svc and its
 * listen entry (both live as long as their table) and keeps its own
 * copy of the service name and address to recognise the same episode
 * across a reload.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accept.h"
#include "bindretry.h"
#include "dgram_guard.h"
#include "gate.h"
#include "listen.h"
#include "log.h"

struct bindretry_entry {
	struct svc *svc;
	const struct listen_spec *spec;
	char *name;			/* the service's, owned */
	char text[PT_ADDRSTRLEN];	/* the address, for logs */
	unsigned delay;			/* seconds until the next retry after
					 * this one */
	unsigned tries;
	time_t next;			/* CLOCK_MONOTONIC seconds */
	struct bindretry_entry *next_e;
};

static struct bindretry_entry *run, *staged;

static time_t
bindretry_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
bindretry_free_list(struct bindretry_entry **head)
{
	struct bindretry_entry *e, *next;

	for (e = *head; e != NULL; e = next) {
		next = e->next_e;
		free(e->name);
		free(e);
	}
	*head = NULL;
}

/* Failures the environment may cure: worth retrying. */
static bool
bindretry_curable(int code)
{
	switch (code) {
	case EADDRINUSE:	/* another process holds it (for now) */
	case EADDRNOTAVAIL:	/* the address is not configured yet */
	case ENODEV:		/* SO_BINDTODEVICE: no such interface yet */
	case ENOENT:		/* a socket file's directory is missing */
	case EACCES:		/* a socket file's directory is shut */
	case ENOBUFS:
	case ENOMEM:
		return true;
	}
	return false;
}

int
bindretry_stage(struct svc *svc, const struct listen_spec *spec, int code,
    const char *why)
{
	struct bindretry_entry *e, *old;

	if (!bindretry_curable(code))
		return -1;
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->name = strdup(svc->conf->name)) == NULL) {
		free(e);
		return -1;
	}
	e->svc = svc;
	e->spec = spec;
	pt_addr_format(&spec->addr, e->text, sizeof(e->text));
	e->delay = BINDRETRY_FIRST;
	e->next = bindretry_now() + BINDRETRY_FIRST;
	for (old = run; old != NULL; old = old->next_e)
		if (strcmp(old->name, e->name) == 0 &&
		    pt_addr_equal(&old->spec->addr, &spec->addr))
			break;
	if (old != NULL) {
		/* The same episode, seen again by a reload: no new line. */
		e->delay = old->delay;
		e->next = old->next;
		e->tries = old->tries;
	} else {
		log_warnx("%s; serving without it, retrying in %d s", why,
		    BINDRETRY_FIRST);
	}
	e->next_e = staged;
	staged = e;
	return 0;
}

void
bindretry_commit(void)
{
	bindretry_free_list(&run);
	run = staged;
	staged = NULL;
}

void
bindretry_abort(void)
{
	bindretry_free_list(&staged);
}

static const char *
bindretry_type(int socktype)
{
	return socktype == SOCK_DGRAM ? "dgram" :
	    socktype == SOCK_SEQPACKET ? "seqpacket" : "stream";
}

/*
 * The first due entry that binds now: its new listener (entry gone), or
 * NULL when no due entry binds.
 */
static struct listener *
bindretry_due(void)
{
	struct bindretry_entry **pp, *e;
	struct listener *l;
	char errbuf[512];
	time_t now = bindretry_now();

	for (pp = &run; (e = *pp) != NULL; pp = &e->next_e) {
		if (e->next > now)
			continue;
		e->tries++;
		if ((l = listen_open(e->svc, e->spec, errbuf,
		    sizeof(errbuf))) == NULL) {
			/* Still failing: quietly, later. */
			e->delay = e->delay * 2 > BINDRETRY_MAX ?
			    BINDRETRY_MAX : e->delay * 2;
			e->next = now + e->delay;
			log_debug("%s; retrying in %u s", errbuf, e->delay);
			continue;
		}
		log_info("service %s: listening on %s (%s), bound after %u "
		    "retries", e->name, l->text, bindretry_type(l->socktype),
		    e->tries);
		*pp = e->next_e;
		free(e->name);
		free(e);
		return l;
	}
	return NULL;
}

void
bindretry_tick(struct svc *const *svcs, size_t n)
{
	struct listener *l;
	bool dgram = false;

	while ((l = bindretry_due()) != NULL) {
		struct svc *svc = l->svc;

		/* As table_commit() does for a listener it opened. */
		l->ev.fd = l->fd;
		l->ev.fn = accept_ev;
		gate_lock();
		svc->ls[svc->nls++] = l;	/* room: see table_build() */
		gate_svc_arm_locked(svc);
		gate_unlock();
		dgram = dgram || l->socktype == SOCK_DGRAM;
	}
	if (dgram)
		dgram_guard_set_services(svcs, n);
}

size_t
bindretry_pending(void)
{
	struct bindretry_entry *e;
	size_t n = 0;

	for (e = run; e != NULL; e = e->next_e)
		n++;
	return n;
}

size_t
bindretry_svc_pending(const struct svc *svc, const char **ret_texts,
    size_t max)
{
	struct bindretry_entry *e;
	size_t n = 0, k = 0;

	for (e = run; e != NULL; e = e->next_e)
		n += e->svc == svc;
	/* The list is newest first: fill from the end, in config order. */
	for (e = run; e != NULL; e = e->next_e) {
		if (e->svc != svc)
			continue;
		if (n - 1 - k < max)
			ret_texts[n - 1 - k] = e->text;
		k++;
	}
	return n;
}

void
bindretry_clear(void)
{
	bindretry_free_list(&run);
	bindretry_free_list(&staged);
}
