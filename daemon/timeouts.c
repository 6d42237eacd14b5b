/*
 * timeouts.c -- idle timeout and maximum lifetime of connections.
 *
 * porterd does not see a plugin's or program's I/O, so idleness comes from
 * the kernel: for TCP, TCP_INFO's times since the last data received and
 * sent (the smaller of the two; both start at the handshake, so a client
 * that connects and sends nothing is idle from its first second).  For
 * other sockets the idle time is the time since accept.  Cutting means
 * shutdown(SHUT_RDWR) on porterd's copy of the descriptor, which every
 * holder of the socket sees, so a handler blocked in recv() returns and a
 * slowloris client holds its worker thread no longer than its timeout.
 */
#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>

#include "conn.h"
#include "evloop.h"
#include "log.h"
#include "spawn.h"
#include "timeouts.h"

#define KILL_GRACE_SECS 2

/* Milliseconds since the connection last carried data. */
static double
timeouts_idle_ms(const struct conn *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int fam = c->local.ss.ss_family;

	if (c->fd >= 0 && (fam == AF_INET || fam == AF_INET6) &&
	    c->svc->conf->socktype == SOCK_STREAM &&
	    getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
		return ti.tcpi_last_data_recv < ti.tcpi_last_data_sent ?
		    ti.tcpi_last_data_recv : ti.tcpi_last_data_sent;
	return conn_elapsed(&c->start) * 1000.0;
}

/* why is a static string: it stays in c->cut for the connection line. */
static void
timeouts_cut(struct conn *c, const char *why, unsigned secs)
{
	char buf[PT_ADDRSTRLEN];

	if (why[0] == 'l')
		log_warnx("service %s: %s: lifetime of %u s exceeded, closing",
		    c->svc->conf->name, conn_peer_text(c, buf, sizeof(buf)),
		    secs);
	else
		log_warnx("service %s: %s: idle for %u s, closing",
		    c->svc->conf->name, conn_peer_text(c, buf, sizeof(buf)),
		    secs);
	c->cut = why;
	/* Not a wait service's socket: that one outlives the turn. */
	if (c->fd >= 0 && c->wait_l == NULL)
		shutdown(c->fd, SHUT_RDWR);
	timeouts_kill(c);
}

void
timeouts_kill(struct conn *c)
{
	if (c->pid <= 0)
		return;
	spawn_kill(c, SIGTERM);
	clock_gettime(CLOCK_MONOTONIC, &c->kill_at);
	c->kill_at.tv_sec += KILL_GRACE_SECS;
}

/* One live conn (under its loop's lock: it cannot end meanwhile). */
static void
timeouts_check_one(struct conn *c, void *arg)
{
	const struct limits_spec *lim = &c->svc->conf->limits;
	const struct timespec *now = arg;

	if (c->cut != NULL) {
		if (c->pid > 0 && c->kill_at.tv_sec != 0 &&
		    (now->tv_sec > c->kill_at.tv_sec ||
		    (now->tv_sec == c->kill_at.tv_sec &&
		    now->tv_nsec >= c->kill_at.tv_nsec))) {
			spawn_kill(c, SIGKILL);
			c->kill_at.tv_sec = 0;
		}
		return;
	}
	/*
	 * A wait service's turn has no idle time of its own (the socket is
	 * the service's), but a lifetime: a child that hangs is cut.
	 */
	if (lim->max_lifetime > 0 &&
	    conn_elapsed(&c->start) >= lim->max_lifetime)
		timeouts_cut(c, "lifetime", lim->max_lifetime);
	else if (c->wait_l == NULL && lim->idle_timeout > 0 &&
	    timeouts_idle_ms(c) >= lim->idle_timeout * 1000.0)
		timeouts_cut(c, "idle", lim->idle_timeout);
}

void
timeouts_check(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	evloop_each_conn(timeouts_check_one, &now);
}
