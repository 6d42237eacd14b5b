/*
 * sandbox_watch.c -- loading a seccomp filter in the child, and naming in
 * porterd's log the system call that broke it.
 *
 * A process killed by seccomp leaves its parent nothing but SIGSYS: the
 * system call's number is in the audit log at best, which porterd may not
 * read.  So with seccomp-action = kill a denied call is not answered by
 * the kernel but handed to porterd (SECCOMP_RET_USER_NOTIF): the child
 * loads its filter with a listener, sends the listener's descriptor to
 * porterd over a datagram socket shared by all children (it is
 * close-on-exec, so the program never sees it), and execs.  A thread in
 * porterd watches every listener; a notification means a handler tried a
 * denied call, which is never allowed to run: the thread logs the call by
 * name and kills the handler's process group.  A listener whose processes
 * have all gone reports a hang-up and is closed.  This costs the child
 * one sendmsg(); porterd's main loop is not involved.
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
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

/* What a child sends with its listener. */
struct watch_msg {
	pid_t leader;			/* the handler's process group */
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

static struct watch_entry *watch_list;

static int watch_send_fd = -1;	/* children's end */
static int watch_recv_fd = -1;	/* the thread's end */
static int watch_epfd = -1;

int
sandbox_channel_fd(void)
{
	return watch_send_fd;
}

static void
watch_receive(void)
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
	int fd;

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
		n = recvmsg(watch_recv_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n <= 0) {
			free(e);
			return;
		}
		fd = -1;
		cm = CMSG_FIRSTHDR(&mh);
		if (cm != NULL && cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		if (fd < 0 || (size_t)n != sizeof(e->msg)) {
			if (fd >= 0)
				close(fd);
			free(e);
			continue;
		}
		e->msg.service[sizeof(e->msg.service) - 1] = '\0';
		e->fd = fd;
		ev.data.ptr = e;
		if (epoll_ctl(watch_epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
			close(fd);
			free(e);
			continue;
		}
		if ((e->next = watch_list) != NULL)
			watch_list->prev = e;
		watch_list = e;
	}
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
	(void)kill(-e->msg.leader, SIGKILL);
	(void)kill((pid_t)req.pid, SIGKILL);
	name = seccomp_syscall_resolve_num_arch(req.data.arch, req.data.nr);
	log_warnx("service %s: pid %d: seccomp: system call %s (%d) denied, "
	    "killing the handler", e->msg.service, (int)req.pid,
	    name != NULL ? name : "?", req.data.nr);
	free(name);
}

static void *
watch_main(void *arg)
{
	struct epoll_event evs[16];
	struct watch_entry *e;
	int i, n;

	(void)arg;
	for (;;) {
		n = epoll_wait(watch_epfd, evs, 16, -1);
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL) {
				watch_receive();
				continue;
			}
			e = evs[i].data.ptr;
			if (evs[i].events & EPOLLIN)
				watch_notified(e);
			if (evs[i].events & (EPOLLHUP | EPOLLERR)) {
				epoll_ctl(watch_epfd, EPOLL_CTL_DEL, e->fd,
				    NULL);
				close(e->fd);
				if (e->prev != NULL)
					e->prev->next = e->next;
				else
					watch_list = e->next;
				if (e->next != NULL)
					e->next->prev = e->prev;
				free(e);
			}
		}
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
	int sv[2], rc;

	if (watch_epfd >= 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    (watch_epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("seccomp watcher");
		return -1;
	}
	watch_send_fd = sv[0];
	watch_recv_fd = sv[1];
	epoll_ctl(watch_epfd, EPOLL_CTL_ADD, watch_recv_fd, &ev);
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

int
sandbox_apply_seccomp(const struct sandbox *sb, const char *service,
    const char **why)
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
	if (watch_send_fd < 0) {
		errno = ENOTCONN;
		*why = "seccomp: porterd's watcher is not running";
		return -1;
	}
	/* Everything but the send is done before the filter is on. */
	memset(&msg, 0, sizeof(msg));
	msg.leader = getpid();
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
	if (sendmsg(watch_send_fd, &mh, MSG_NOSIGNAL) == -1) {
		*why = "seccomp: handing the listener to porterd";
		return -1;
	}
	/* The handler must not answer its own notifications. */
	close(lfd);
	return 0;
}
