/*
 * connlog.c -- the per-connection log line and journal entry (connlog.h).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#endif

#include "connlog.h"
#include "log.h"
#include "logpeer.h"

/* "exit 0", "exit 3", "killed by signal 11 (Segmentation fault)". */
static void
connlog_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "status 0x%x", status);
}

#ifdef HAVE_SYSTEMD
#define CONNLOG_FIELDS	12

/* Sends the entry with its fields; 0, or -1 to log the line instead. */
static int
connlog_journal(const struct connlog *e, int prio, const char *msg,
    const char *peer)
{
	char f[CONNLOG_FIELDS][PT_ADDRSTRLEN + 1100];
	struct iovec iov[CONNLOG_FIELDS];
	int n = 0, i;

	snprintf(f[n++], sizeof(f[0]), "MESSAGE=%s", msg);
	snprintf(f[n++], sizeof(f[0]), "PRIORITY=%d", prio);
	snprintf(f[n++], sizeof(f[0]), "SYSLOG_FACILITY=%d", LOG_DAEMON >> 3);
	snprintf(f[n++], sizeof(f[0]), "SYSLOG_IDENTIFIER=porterd");
	snprintf(f[n++], sizeof(f[0]), "SERVICE=%s", e->service);
	snprintf(f[n++], sizeof(f[0]), "PEER=%s", peer);
	snprintf(f[n++], sizeof(f[0]), "CONN_ID=%llu",
	    (unsigned long long)e->id);
	snprintf(f[n++], sizeof(f[0]), "DURATION_US=%llu",
	    (unsigned long long)(e->secs * 1e6));
	if (e->pid >= 0 && !e->exec) {	/* a plugin, isolated or not */
		snprintf(f[n++], sizeof(f[0]), "BYTES_IN=%llu",
		    (unsigned long long)e->bytes_in);
		snprintf(f[n++], sizeof(f[0]), "BYTES_OUT=%llu",
		    (unsigned long long)e->bytes_out);
	}
	if (e->pid == 0) {
		snprintf(f[n++], sizeof(f[0]), "EXIT_STATUS=%d",
		    e->rc == 0 ? 0 : 1);
	} else if (e->pid > 0 && WIFEXITED(e->status)) {
		snprintf(f[n++], sizeof(f[0]), "EXIT_STATUS=%d",
		    WEXITSTATUS(e->status));
	} else if (e->pid > 0 && WIFSIGNALED(e->status)) {
		snprintf(f[n++], sizeof(f[0]), "EXIT_SIGNAL=%d",
		    WTERMSIG(e->status));
	}
	for (i = 0; i < n; i++) {
		iov[i].iov_base = f[i];
		iov[i].iov_len = strlen(f[i]);
	}
	return sd_journal_sendv(iov, n) < 0 ? -1 : 0;
}
#endif

void
connlog_finish(const struct connlog *e)
{
	char peer[PT_ADDRSTRLEN], status[96], msg[1024];
	const char *kind = e->exec ? "exec" : "plugin";
	int prio;

	if (e->peer != NULL && e->peer->len > 0)
		logpeer_format(e->peer, peer, sizeof(peer));
	else
		snprintf(peer, sizeof(peer), "%s", e->peer_fallback != NULL ?
		    e->peer_fallback : "-");
	if (e->pid < 0) {
		prio = LOG_WARNING;
		snprintf(msg, sizeof(msg), "service %s: %s: %s %s: could not "
		    "be started, conn %llu", e->service, peer, kind,
		    e->handler, (unsigned long long)e->id);
	} else if (e->pid > 0) {
		connlog_status(e->status, status, sizeof(status));
		prio = WIFEXITED(e->status) && WEXITSTATUS(e->status) == 0 ?
		    LOG_INFO : LOG_WARNING;
		char bytes[64] = "";

		if (!e->exec)	/* an isolated plugin reports its bytes */
			snprintf(bytes, sizeof(bytes), "in %llu B, out %llu B%s",
			    (unsigned long long)e->bytes_in,
			    (unsigned long long)e->bytes_out,
			    e->usage != NULL ? ", " : "");
		snprintf(msg, sizeof(msg), "service %s: %s: %s %s pid %ld: %s "
		    "in %.3fs%s%s%s%s, conn %llu", e->service, peer, kind,
		    e->handler, e->pid, status, e->secs,
		    bytes[0] != '\0' || e->usage != NULL ? " (" : "", bytes,
		    e->usage != NULL ? e->usage : "",
		    bytes[0] != '\0' || e->usage != NULL ? ")" : "",
		    (unsigned long long)e->id);
	} else {
		prio = e->rc == 0 ? LOG_INFO : LOG_WARNING;
		snprintf(msg, sizeof(msg), "service %s: %s: plugin %s %s in "
		    "%.3fs (in %llu B, out %llu B), conn %llu", e->service,
		    peer, e->handler, e->rc == 0 ? "done" : "failed", e->secs,
		    (unsigned long long)e->bytes_in,
		    (unsigned long long)e->bytes_out,
		    (unsigned long long)e->id);
	}
	if (prio > log_getlevel())
		return;
#ifdef HAVE_SYSTEMD
	if (log_under_journal() && connlog_journal(e, prio, msg, peer) == 0)
		return;
#endif
	log_msg(prio, "%s", msg);
}
