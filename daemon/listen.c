/*
 * listen.c -- opening and closing listening sockets.
 *
 * Sockets are made with libporter (pt_socket, pt_sock_setsockopt,
 * pt_sock_bind_addr, pt_sock_listen) so the daemon speaks the same API as
 * its plugins.  Stale AF_UNIX socket files are replaced only when nothing
 * answers on them, so a second porterd cannot steal a live socket.
 *
 * The probe that decides "stale" must never block porterd: it connects
 * without blocking (a full backlog answers EAGAIN, which means alive),
 * and it never probes a socket file that one of porterd's own listeners
 * holds -- that probe would either wait on our own full queue or leave a
 * phantom connection in it for a handler to serve.  listen.c remembers
 * each socket file it bound or adopted (device and inode, so a file
 * replaced behind our back is probed like any other) in `owned`.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "conn.h"
#include "gate.h"
#include "listen.h"
#include "log.h"

/* The filesystem path of an AF_UNIX address, or NULL (abstract, inet). */
static const char *
listen_unix_path(const pt_addr *a)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->ss;

	if (a->ss.ss_family != AF_UNIX ||
	    a->len <= offsetof(struct sockaddr_un, sun_path) ||
	    sun->sun_path[0] == '\0')
		return NULL;
	return sun->sun_path;
}

/*
 * True unless addr is a wildcard (0.0.0.0, ::): then each accepted
 * socket's local address must be asked for.  AF_UNIX counts as specific.
 */
static bool
listen_is_specific(const pt_addr *a)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;

	if (a->ss.ss_family == AF_INET)
		return sin->sin_addr.s_addr != htonl(INADDR_ANY);
	if (a->ss.ss_family == AF_INET6)
		return !IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	return true;
}

/*
 * The socket files porterd's open listeners hold, by device and inode.
 * Listeners are opened on the control thread and closed there or on an
 * event loop (a doomed wait listener, gate_release_wait()): the lock
 * keeps the set whole.
 */
struct listen_owned {
	const struct listener *l;
	dev_t dev;
	ino_t ino;
};

static struct {
	pthread_mutex_t lock;
	struct listen_owned *v;
	size_t n, cap;
} owned = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0 };

/* Remembers l's socket file as ours (best effort: ENOMEM forgets it). */
static void
listen_own(const struct listener *l, const char *path)
{
	struct listen_owned *v;
	struct stat st;

	if (path == NULL || lstat(path, &st) == -1 || !S_ISSOCK(st.st_mode))
		return;
	pthread_mutex_lock(&owned.lock);
	if (owned.n == owned.cap) {
		size_t cap = owned.cap ? owned.cap * 2 : 16;

		v = realloc(owned.v, cap * sizeof(*v));
		if (v == NULL) {
			pthread_mutex_unlock(&owned.lock);
			return;
		}
		owned.v = v;
		owned.cap = cap;
	}
	owned.v[owned.n].l = l;
	owned.v[owned.n].dev = st.st_dev;
	owned.v[owned.n].ino = st.st_ino;
	owned.n++;
	pthread_mutex_unlock(&owned.lock);
}

/* Forgets l's socket file (listen_close). */
static void
listen_disown(const struct listener *l)
{
	size_t i;

	pthread_mutex_lock(&owned.lock);
	for (i = 0; i < owned.n; i++) {
		if (owned.v[i].l == l) {
			owned.v[i] = owned.v[--owned.n];
			break;
		}
	}
	if (owned.n == 0) {
		free(owned.v);
		owned.v = NULL;
		owned.cap = 0;
	}
	pthread_mutex_unlock(&owned.lock);
}

bool
listen_path_is_ours(const char *path)
{
	struct stat st;
	bool ours = false;
	size_t i;

	if (lstat(path, &st) == -1 || !S_ISSOCK(st.st_mode))
		return false;
	pthread_mutex_lock(&owned.lock);
	for (i = 0; i < owned.n && !ours; i++)
		ours = owned.v[i].dev == st.st_dev && owned.v[i].ino == st.st_ino;
	pthread_mutex_unlock(&owned.lock);
	return ours;
}

/*
 * Removes a socket file left behind by a dead process.  The probe never
 * blocks: connect() on a non-blocking socket answers at once -- refused
 * (nobody listens: stale), EAGAIN (a full backlog: alive), success or
 * EINPROGRESS (alive), or another error (a socket of another type, no
 * permission: not ours to judge, left alone for bind to report).
 */
void
listen_unlink_stale(const pt_addr *a, int socktype)
{
	const char *path = listen_unix_path(a);
	struct stat st;
	pt_sock *probe;
	int r;

	if (path == NULL || lstat(path, &st) == -1 || !S_ISSOCK(st.st_mode))
		return;
	/* Ours and live: probing could wait on, or add to, our own queue. */
	if (listen_path_is_ours(path))
		return;
	if ((probe = pt_socket(AF_UNIX, socktype, 0, NULL)) == NULL)
		return;
	if (pt_sock_setblocking(probe, 0, NULL) == -1) {
		pt_sock_free(probe);
		return;
	}
	r = pt_sock_connect_ex_addr(probe, a, NULL);
	pt_sock_free(probe);
	if (r == ECONNREFUSED)
		unlink(path);
}

/*
 * The kernel's record of l's socket, which sockets accepted from it share:
 * handed to libporter before each handler (pt_io_fd_hint).  Left 0 (no
 * hint) if it cannot be read.
 */
static void
listen_kind(struct listener *l)
{
	socklen_t len = sizeof(int);

	if (getsockopt(l->fd, SOL_SOCKET, SO_DOMAIN, &l->kfamily, &len) == -1 ||
	    getsockopt(l->fd, SOL_SOCKET, SO_PROTOCOL, &l->kproto, &len) == -1 ||
	    getsockopt(l->fd, SOL_SOCKET, SO_TYPE, &l->ktype, &len) == -1)
		l->ktype = 0;
}

/*
 * socket-owner, socket-group and socket-mode on a socket file just bound
 * (chown first: it may clear set-id bits the mode asks for).  Returns 0,
 * or -1 with err (may be NULL) filled in.
 */
static int
listen_socket_file(const struct service *conf, const char *path,
    pt_error *err)
{
	pt_error scratch;

	if (err == NULL)
		err = &scratch;
	if ((conf->socket_uid != (uid_t)-1 || conf->socket_gid != (gid_t)-1) &&
	    chown(path, conf->socket_uid, conf->socket_gid) == -1) {
		err->kind = PT_ERR_OS;
		err->code = errno;
		snprintf(err->msg, sizeof(err->msg), "chown %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (conf->socket_mode >= 0 &&
	    chmod(path, (mode_t)conf->socket_mode) == -1) {
		err->kind = PT_ERR_OS;
		err->code = errno;
		snprintf(err->msg, sizeof(err->msg), "chmod %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

struct listener *
listen_open(struct svc *svc, const struct listen_spec *spec, char *errbuf,
    size_t errlen)
{
	const struct service *conf = svc->conf;
	struct listener *l;
	pt_error err;
	size_t i;
	int fam = pt_addr_family(&spec->addr);
	int proto = fam == AF_UNIX ? 0 : conf->protocol;
	char text[PT_ADDRSTRLEN];

	pt_addr_format(&spec->addr, text, sizeof(text));
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(errbuf, errlen, "service %s: %s: out of memory",
		    conf->name, text);
		return NULL;
	}
	l->svc = svc;
	l->spec = spec;
	l->fd = -1;
	l->socktype = conf->socktype;
	if ((l->sock = pt_socket(fam, conf->socktype, proto, &err)) == NULL)
		goto fail;
	/* Restarting porterd must not wait for old connections' TIME_WAIT. */
	if (fam != AF_UNIX && conf->socktype != SOCK_DGRAM &&
	    pt_sock_setsockopt(l->sock, SOL_SOCKET, SO_REUSEADDR, 1,
	    &err) == -1)
		goto fail;
	for (i = 0; i < conf->nopts; i++) {
		const struct sockopt_spec *o = &conf->opts[i];

		if (pt_sock_setsockopt(l->sock, o->level, o->name, o->value,
		    &err) == -1)
			goto fail;
	}
	listen_unlink_stale(&spec->addr, conf->socktype);
	if (pt_sock_bind_addr(l->sock, &spec->addr, &err) == -1)
		goto fail;
	l->unlink_path = listen_unix_path(&spec->addr) != NULL;
	/* Before listen(): no client may connect while the mode is bind's. */
	if (l->unlink_path && listen_socket_file(conf,
	    listen_unix_path(&spec->addr), &err) == -1)
		goto fail;
	if (conf->socktype != SOCK_DGRAM &&
	    pt_sock_listen(l->sock, conf->backlog, &err) == -1)
		goto fail;
	if (!conf->wait && pt_sock_setblocking(l->sock, 0, &err) == -1)
		goto fail;
	if (pt_sock_getsockname(l->sock, &l->addr, &err) == -1)
		goto fail;
	/* An unnamed abstract or path socket reads back as what we asked. */
	if (fam == AF_UNIX)
		l->addr = spec->addr;
	l->fd = pt_sock_fileno(l->sock);
	listen_kind(l);
	l->specific = listen_is_specific(&l->addr);
	pt_addr_format(&l->addr, l->text, sizeof(l->text));
	/* Only now: the file, bound, is the one we keep. */
	listen_own(l, listen_unix_path(&spec->addr));
	return l;
fail:
	snprintf(errbuf, errlen, "service %s: %s", conf->name, err.msg);
	listen_disown(l);
	if (l->unlink_path)
		unlink(listen_unix_path(&spec->addr));
	pt_sock_free(l->sock);
	free(l);
	errno = err.code;	/* bindretry_stage() judges it */
	return NULL;
}

void
listen_close(struct listener *l)
{
	const char *path;

	if (l == NULL)
		return;
	listen_disown(l);
	if (l->unlink_path && (path = listen_unix_path(&l->addr)) != NULL)
		unlink(path);
	pt_sock_free(l->sock);
	free(l->name);
	free(l);
}

#ifdef HAVE_SYSTEMD
/* Wraps one passed descriptor; the original is closed either way. */
static struct listener *
listen_adopt_one(int fd, const char *name, char *errbuf, size_t errlen)
{
	struct listener *l;
	pt_error err;
	int accepting = 0;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->name = strdup(name)) == NULL) {
		snprintf(errbuf, errlen, "socket '%s' from systemd: out of "
		    "memory", name);
		goto fail;
	}
	l->adopted = true;
	/*
	 * Adopted, not wrapped with pt_fromfd(): porterd owns the passed
	 * descriptor, and setblocking() must reach its O_NONBLOCK.
	 */
	if ((l->sock = pt_sock_adopt(fd, 0, 0, 0, &err)) != NULL)
		fd = -1;
	if (l->sock == NULL ||
	    pt_sock_getsockname(l->sock, &l->addr, &err) == -1) {
		snprintf(errbuf, errlen, "socket '%s' from systemd: %s", name,
		    err.msg);
		goto fail;
	}
	l->socktype = pt_sock_type(l->sock);
	/* A stream socket must already listen: we never bind or listen it. */
	if (l->socktype != SOCK_DGRAM &&
	    (pt_sock_getsockopt(l->sock, SOL_SOCKET, SO_ACCEPTCONN,
	    &accepting, &err) == -1 || !accepting)) {
		snprintf(errbuf, errlen, "socket '%s' from systemd: not a "
		    "listening socket", name);
		goto fail;
	}
	l->fd = pt_sock_fileno(l->sock);
	listen_kind(l);
	l->specific = listen_is_specific(&l->addr);
	pt_addr_format(&l->addr, l->text, sizeof(l->text));
	listen_own(l, listen_unix_path(&l->addr));
	return l;
fail:
	if (fd >= 0)
		close(fd);
	if (l != NULL) {
		pt_sock_free(l->sock);
		free(l->name);
		free(l);
	}
	return NULL;
}

int
listen_adopt(struct listener ***ret, char *errbuf, size_t errlen)
{
	struct listener **ls = NULL;
	char **names = NULL;
	int n, i, got = 0;

	*ret = NULL;
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		snprintf(errbuf, errlen, "sockets from systemd: %s",
		    strerror(-n));
		return -1;
	}
	if (n == 0)
		return 0;
	if ((ls = calloc((size_t)n, sizeof(*ls))) == NULL) {
		snprintf(errbuf, errlen, "sockets from systemd: out of memory");
		got = -1;
	}
	for (i = 0; i < n; i++) {
		const char *name = names != NULL && names[i] != NULL ?
		    names[i] : "unknown";

		if (got == -1) {
			close(SD_LISTEN_FDS_START + i);
			continue;
		}
		ls[got] = listen_adopt_one(SD_LISTEN_FDS_START + i, name,
		    errbuf, errlen);
		if (ls[got] == NULL) {
			while (got > 0)
				listen_close(ls[--got]);
			free(ls);
			ls = NULL;
			got = -1;
			continue;
		}
		got++;
	}
	for (i = 0; names != NULL && names[i] != NULL; i++)
		free(names[i]);
	free(names);
	*ret = ls;
	return got;
}
#else
int
listen_adopt(struct listener ***ret, char *errbuf, size_t errlen)
{
	(void)errbuf;
	(void)errlen;
	*ret = NULL;
	return 0;
}
#endif

int
listen_matches(const struct listener *l, const struct service *lconf,
    const struct service *conf, const struct listen_spec *spec)
{
	if (l->spec == NULL || l->adopted || spec->fd_name != NULL)
		return 0;
	/* backlog, options, wait and the file's mode: listen_reconfigure. */
	return pt_addr_equal(&l->spec->addr, &spec->addr) &&
	    lconf->socktype == conf->socktype &&
	    (pt_addr_family(&spec->addr) == AF_UNIX ||
	    lconf->protocol == conf->protocol);
}

/* The entry of conf's options for (level, name), or NULL. */
static const struct sockopt_spec *
listen_find_opt(const struct service *conf, int level, int name)
{
	size_t i;

	for (i = 0; i < conf->nopts; i++)
		if (conf->opts[i].level == level && conf->opts[i].name == name)
			return &conf->opts[i];
	return NULL;
}

/*
 * The kernel's default of an option for a socket like l's, read from a
 * fresh socket of the same family, type and protocol.  Returns 0, or -1
 * with err set.
 */
static int
listen_opt_default(const struct listener *l, int level, int name,
    int *ret, pt_error *err)
{
	pt_sock *fresh;
	int r;

	fresh = pt_socket(pt_addr_family(&l->addr), l->socktype,
	    pt_sock_proto(l->sock), err);
	if (fresh == NULL)
		return -1;
	r = pt_sock_getsockopt(fresh, level, name, ret, err);
	pt_sock_free(fresh);
	return r;
}

/*
 * The mode bind() gives a socket file: 0777 less the umask, which
 * /proc/self/status tells without changing it (umask(2) cannot read it
 * without setting it, under the other threads' feet).  -1 if unknown.
 */
static int
listen_default_mode(void)
{
	char line[128];
	unsigned mask;
	FILE *f;
	int mode = -1;

	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Umask: %o", &mask) == 1) {
			mode = 0777 & ~(int)mask;
			break;
		}
	fclose(f);
	return mode;
}

/* Applies one direction of listen_reconfigure(); see there. */
static int
listen_apply(struct listener *l, const struct service *from,
    const struct service *to, pt_error *err)
{
	const char *path = listen_unix_path(&l->addr);
	struct service file;
	size_t i;
	int v;

	if (to->backlog != from->backlog && l->socktype != SOCK_DGRAM &&
	    pt_sock_listen(l->sock, to->backlog, err) == -1)
		return -1;
	/* Options dropped from the entry go back to the kernel's default. */
	for (i = 0; i < from->nopts; i++) {
		const struct sockopt_spec *o = &from->opts[i];

		if (listen_find_opt(to, o->level, o->name) != NULL)
			continue;
		if (listen_opt_default(l, o->level, o->name, &v, err) == -1 ||
		    pt_sock_setsockopt(l->sock, o->level, o->name, v,
		    err) == -1)
			return -1;
	}
	for (i = 0; i < to->nopts; i++) {
		const struct sockopt_spec *o = &to->opts[i];
		const struct sockopt_spec *was =
		    listen_find_opt(from, o->level, o->name);

		if (was != NULL && was->value == o->value)
			continue;
		if (pt_sock_setsockopt(l->sock, o->level, o->name, o->value,
		    err) == -1)
			return -1;
	}
	if (path == NULL || !l->unlink_path ||
	    (from->socket_mode == to->socket_mode &&
	    from->socket_uid == to->socket_uid &&
	    from->socket_gid == to->socket_gid))
		return 0;
	/*
	 * The file as `to` wants it; what `to` leaves unset goes back to
	 * what bind() made: porterd's user and group, 0777 less the umask.
	 */
	memset(&file, 0, sizeof(file));
	file.socket_uid = to->socket_uid;
	file.socket_gid = to->socket_gid;
	file.socket_mode = to->socket_mode;
	if (file.socket_uid == (uid_t)-1 && from->socket_uid != (uid_t)-1)
		file.socket_uid = geteuid();
	if (file.socket_gid == (gid_t)-1 && from->socket_gid != (gid_t)-1)
		file.socket_gid = getegid();
	if (file.socket_mode < 0 && from->socket_mode >= 0)
		file.socket_mode = listen_default_mode();
	return listen_socket_file(&file, path, err);
}

int
listen_reconfigure(struct listener *l, const struct service *from,
    const struct service *to, char *errbuf, size_t errlen)
{
	bool mode = from->wait != to->wait;
	pt_error err;

	/*
	 * A change of `wait` changes how the socket is used (handed to a
	 * handler, or accepted from), so nobody may use it until the new
	 * table is in: claimed here (disarmed in every loop), released by
	 * listen_set_mode() at commit or by listen_reconfigure_undo().
	 */
	if (mode && !gate_claim_wait(l)) {
		snprintf(errbuf, errlen, "service %s: %s: cannot change `wait` "
		    "while a handler holds the socket; reload again when it "
		    "is done", to->name, l->text);
		return -1;
	}
	if (listen_apply(l, from, to, &err) == 0)
		return 0;
	snprintf(errbuf, errlen, "service %s: %s: %s", to->name, l->text,
	    err.msg);
	/* Best effort: put back what was changed before the failure. */
	(void)listen_apply(l, to, from, NULL);
	if (mode)
		gate_release_wait(l);
	return -1;
}

void
listen_reconfigure_undo(struct listener *l, const struct service *from,
    const struct service *to)
{
	(void)listen_apply(l, from, to, NULL);
	if (from->wait != to->wait)
		gate_release_wait(l);	/* claimed by listen_reconfigure */
}

void
listen_set_mode(struct listener *l, const struct service *from,
    const struct service *to)
{
	if (from->wait == to->wait)
		return;
	if (pt_sock_setblocking(l->sock, to->wait, NULL) == -1)
		log_warn("service %s: %s: O_NONBLOCK", to->name, l->text);
	/* Claimed by listen_reconfigure(); the caller arms it for `to`. */
	l->busy = false;
}
