/*
 * sandbox_watch.c -- loading a seccomp filter in the child, and naming in
 * porterd's log the system call that broke it.
 *
 * A process killed by seccomp leaves its parent nothing but SIGSYS: the
 * system call's number is in the audit log at best, which porterd may not
 * read.  So with seccomp-action = kill a denied call is not answered by
 * the kernel but handed to porterd (SECCOMP_RET_USER_NOTIF): the child
 * loads its filter with a listener and sends the listener's descriptor to
 * porterd over a datagram socket (it is close-on-exec, so the program
 * never sees it).  A thread in porterd watches every listener; a
 * notification means a handler tried a denied call, which is never
 * allowed to run: the thread logs the call by name and kills the
 * handler's process group.  A listener whose processes have all gone
 * reports a hang-up and is closed.
 *
 * The listener is per connection, so its cost is kept off the watcher's
 * wake-ups (each one a pair of context switches, tens of microseconds in
 * a VM):
 *   - exec'd children send it on a socket of their own that no thread
 *     polls; the spawner thread, which is awake anyway and resumes only
 *     once the child has exec'd, collects it right after the clone
 *     (sandbox_watch_collect()) and adds it to the watcher's epoll set.
 *     Forked plugin children and pool workers, which run concurrently
 *     with their parent, use the polled socket.
 *   - hang-ups are not urgent: after a round that closed listeners the
 *     watcher sleeps WATCH_BATCH_MS, so at high connection rates one
 *     wake-up closes many.  A violation is still reported within that
 *     time; the offending call waits for the verdict meanwhile, it never
 *     runs.
 * The alternatives that need no listener cannot name the call:
 * SECCOMP_RET_KILL_PROCESS and SECCOMP_RET_TRAP leave si_syscall in the
 * dying process's own siginfo only (an exec'd program has no handler
 * for it), and wait4() reports SIGSYS alone.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

/* What a child sends with its listener. */
struct watch_msg {
	pid_t leader;			/* the handler's process group, or */
	pid_t launcher;			/* a launcher whose handlers share
					 * the listener (0: none) */
	char service[128];
};

/*
 * A listener being watched; the epoll tag.  Also on a list (touched by
 * the watcher thread only), so none is unreachable while porterd runs.
 */
struct watch_entry {
	int fd;
	struct watch_msg msg;
	struct watch_entry *prev, *next;
};

/*
 * How long the watcher waits before it looks again after closing
 * listeners: at most 50 such wake-ups a second, whatever the connection
 * rate.  A round that fills evs[] does not wait, so listeners never pile
 * up faster than they are closed.
 */
#define WATCH_BATCH_MS	20
#define WATCH_EVENTS	256

/* The list is added to by the watcher and the spawner thread. */
static pthread_mutex_t watch_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct watch_entry *watch_list;

static int watch_send_fd = -1;	/* forked children's and pool workers' end */
static int watch_recv_fd = -1;	/* the thread's end (polled) */
static int exec_send_fd = -1;	/* exec'd children's end */
static int exec_recv_fd = -1;	/* the spawner thread's end (not polled) */
static int watch_epfd = -1;

int
sandbox_channel_fd(void)
{
	return watch_send_fd;
}

int
sandbox_exec_channel_fd(void)
{
	return exec_send_fd;
}

/* Takes e off the list. */
static void
watch_unlink(struct watch_entry *e)
{
	pthread_mutex_lock(&watch_mtx);
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		watch_list = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	pthread_mutex_unlock(&watch_mtx);
}

/* Takes every listener queued on fd into the watcher's epoll set. */
static void
watch_receive(int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct epoll_event ev = { .events = EPOLLIN };
	struct watch_entry *e;
	struct cmsghdr *cm;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;
	int lfd;

	for (;;) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return;
		iov.iov_base = &e->msg;
		iov.iov_len = sizeof(e->msg);
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n <= 0) {
			free(e);
			return;
		}
		lfd = -1;
		cm = CMSG_FIRSTHDR(&mh);
		if (cm != NULL && cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&lfd, CMSG_DATA(cm), sizeof(int));
		if (lfd < 0 || (size_t)n != sizeof(e->msg)) {
			if (lfd >= 0)
				close(lfd);
			free(e);
			continue;
		}
		e->msg.service[sizeof(e->msg.service) - 1] = '\0';
		e->fd = lfd;
		ev.data.ptr = e;
		/* On the list first: the watcher may see it at once. */
		pthread_mutex_lock(&watch_mtx);
		if ((e->next = watch_list) != NULL)
			watch_list->prev = e;
		watch_list = e;
		pthread_mutex_unlock(&watch_mtx);
		if (epoll_ctl(watch_epfd, EPOLL_CTL_ADD, lfd, &ev) == -1) {
			watch_unlink(e);
			close(lfd);
			free(e);
		}
	}
}

void
sandbox_watch_collect(void)
{
	if (exec_recv_fd >= 0)
		watch_receive(exec_recv_fd);
}

/* pid's parent from /proc/pid/stat, or -1. */
static pid_t
watch_ppid(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;
	long ppid;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "pid (comm) S ppid ...": comm may hold anything but ends at ")". */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %ld", &ppid) != 1)
		return -1;
	return (pid_t)ppid;
}

/* Kills pid's session and process group, unless they are the launcher's. */
static void
watch_kill_groups(pid_t pid, pid_t launcher)
{
	pid_t sid = getsid(pid), pg = getpgid(pid);

	if (sid > 0 && sid != launcher)
		(void)kill(-sid, SIGKILL);
	if (pg > 0 && pg != sid && pg != launcher)
		(void)kill(-pg, SIGKILL);
}

/*
 * A launcher's handlers share its listener: the caller may be a program
 * it started, or anything below one, in a session of its own.  Kills the
 * caller's session and group and, found through the parents, those of
 * the program the launcher started -- never the launcher's.  Only while
 * the notification is still valid: the caller is then alive and blocked,
 * so its pid (and its parents') cannot have been reused.
 */
static void
watch_kill_launched(int lfd, struct seccomp_notif *req, pid_t launcher)
{
	pid_t p = (pid_t)req->pid, pp;
	int depth;

	for (depth = 0; depth < 64 && (pp = watch_ppid(p)) > 1 &&
	    pp != launcher; depth++)
		p = pp;
	if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) == -1)
		return;		/* gone meanwhile */
	/*
	 * The program first: killed after the caller, a shell would see its
	 * child die and run its next line before its own turn.
	 */
	if (p != (pid_t)req->pid && watch_ppid(p) == launcher) {
		watch_kill_groups(p, launcher);
		(void)kill(p, SIGKILL);
	}
	watch_kill_groups((pid_t)req->pid, launcher);
	(void)kill((pid_t)req->pid, SIGKILL);
}

/* A handler tried a denied call: name it, then end its process group. */
static void
watch_notified(struct watch_entry *e)
{
	struct seccomp_notif req;
	char *name;

	memset(&req, 0, sizeof(req));
	if (ioctl(e->fd, SECCOMP_IOCTL_NOTIF_RECV, &req) == -1)
		return;	/* it died meanwhile */
	/*
	 * The group first: killing the caller alone would let its parent
	 * (a shell) run on before the group's turn.  Then the caller, in
	 * case it left the group (setpgid is allowed).
	 */
	if (e->msg.launcher != 0) {
		watch_kill_launched(e->fd, &req, e->msg.launcher);
	} else {
		(void)kill(-e->msg.leader, SIGKILL);
		(void)kill((pid_t)req.pid, SIGKILL);
	}
	name = seccomp_syscall_resolve_num_arch(req.data.arch, req.data.nr);
	log_warnx("service %s: pid %d: seccomp: system call %s (%d) denied, "
	    "killing the handler", e->msg.service, (int)req.pid,
	    name != NULL ? name : "?", req.data.nr);
	free(name);
}

static void *
watch_main(void *arg)
{
	const struct timespec batch = { 0, WATCH_BATCH_MS * 1000000L };
	struct epoll_event evs[WATCH_EVENTS];
	struct watch_entry *e;
	int i, n, closed;

	(void)arg;
	for (;;) {
		n = epoll_wait(watch_epfd, evs, WATCH_EVENTS, -1);
		closed = 0;
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL) {
				watch_receive(watch_recv_fd);
				continue;
			}
			e = evs[i].data.ptr;
			if (evs[i].events & EPOLLIN)
				watch_notified(e);
			if (evs[i].events & (EPOLLHUP | EPOLLERR)) {
				/*
				 * Not close() alone: a child being started
				 * holds a copy of the descriptor until it
				 * execs, and epoll drops an item only with
				 * the file's last descriptor.
				 */
				epoll_ctl(watch_epfd, EPOLL_CTL_DEL, e->fd,
				    NULL);
				close(e->fd);
				watch_unlink(e);
				free(e);
				closed++;
			}
		}
		/* Let the next hang-ups gather (see the top of the file). */
		if (closed > 0 && n < WATCH_EVENTS)
			(void)nanosleep(&batch, NULL);
	}
	return NULL;
}

int
sandbox_init(void)
{
	int abi = sandbox_landlock_abi();

	if (abi > 0)
		log_info("landlock: kernel ABI %d", abi);
	else
		log_info("landlock: not available in this kernel");
	return 0;
}

int
sandbox_watch_start(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int sv[2], xv[2], epfd, rc;

	if (watch_epfd >= 0)
		return 0;
	sv[0] = sv[1] = xv[0] = xv[1] = epfd = -1;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, xv) == -1 ||
	    (epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, sv[1], &ev) == -1) {
		log_warn("seccomp watcher");
		for (rc = 0; rc < 2; rc++) {
			if (sv[rc] >= 0)
				close(sv[rc]);
			if (xv[rc] >= 0)
				close(xv[rc]);
		}
		if (epfd >= 0)
			close(epfd);
		return -1;
	}
	watch_send_fd = sv[0];
	watch_recv_fd = sv[1];
	exec_send_fd = xv[0];
	exec_recv_fd = xv[1];
	watch_epfd = epfd;
	/* The thread takes no signal: the main thread reads them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, watch_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		log_warn("seccomp watcher thread");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * The child's side
 * ---------------------------------------------------------------------- */

void
sandbox_channel_adopt(int fd)
{
	watch_send_fd = fd;
}

static int watch_attach(const struct sandbox *sb, const char *service,
    int channel, bool launcher, const char **why);

int
sandbox_apply_seccomp(const struct sandbox *sb, const char *service,
    const char **why)
{
	return watch_attach(sb, service, watch_send_fd, false, why);
}

int
sandbox_apply_seccomp_launcher(const struct sandbox *sb, const char *service,
    const char **why)
{
	return watch_attach(sb, service, watch_send_fd, true, why);
}

int
sandbox_apply_seccomp_to(const struct sandbox *sb, const char *service,
    int channel, const char **why)
{
	return watch_attach(sb, service, channel, false, why);
}

/*
 * Loads sb's filter; with seccomp-action = kill, sends its listener on
 * channel (the watcher's), for the handler whose group this process
 * leads, or (launcher) for every process this one will start.
 */
static int
watch_attach(const struct sandbox *sb, const char *service, int channel,
    bool launcher, const char **why)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct sock_fprog prog;
	struct watch_msg msg;
	struct cmsghdr *cm;
	struct msghdr mh;
	struct iovec iov;
	size_t i;
	int lfd;

	if (sb == NULL || !sb->seccomp)
		return 0;
	prog.len = (unsigned short)sb->bpf_len;
	prog.filter = sb->bpf;
	if (sb->seccomp_action != SB_SECCOMP_KILL) {
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0U,
		    &prog) == -1) {
			*why = "seccomp";
			return -1;
		}
		return 0;
	}
	if (channel < 0) {
		errno = ENOTCONN;
		*why = "seccomp: porterd's watcher is not running";
		return -1;
	}
	/* Everything but the send is done before the filter is on. */
	memset(&msg, 0, sizeof(msg));
	msg.leader = getpid();
	msg.launcher = launcher ? msg.leader : 0;
	/* Not snprintf(): this may run in a vfork child (spawn.h). */
	for (i = 0; service[i] != '\0' && i + 1 < sizeof(msg.service); i++)
		msg.service[i] = service[i];
	lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
	    (unsigned)SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (lfd == -1) {
		*why = "seccomp";
		return -1;
	}
	iov.iov_base = &msg;
	iov.iov_len = sizeof(msg);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &lfd, sizeof(int));
	if (sendmsg(channel, &mh, MSG_NOSIGNAL) == -1) {
		*why = "seccomp: handing the listener to porterd";
		return -1;
	}
	/* The handler must not answer its own notifications. */
	close(lfd);
	return 0;
}
