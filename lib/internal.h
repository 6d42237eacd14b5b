/*
 * internal.h -- helpers shared by the files of libporter.  Not installed.
 * Names start with ptl_ and are not exported from libporter.so (the
 * library's symbol list is restricted to ^pt_ by libtool).
 */
#ifndef PORTER_LIB_INTERNAL_H
#define PORTER_LIB_INTERNAL_H

#include <stddef.h>

#include "porter/socket.h"

/* Thread-safe strerror into buf (never fails; always NUL-terminates). */
void ptl_strerror(int code, char *buf, size_t len);

/*
 * socket.c: the object behind pt_sock, for the other files of the library.
 *
 * ptl_sock_new() wraps a descriptor the caller hands over: on failure
 * (ENOMEM) it closes fd, so the caller never has to.  Returns a new object
 * (free with pt_sock_free()) or NULL.
 */
pt_sock *ptl_sock_new(int fd, int family, int type, int proto,
    double timeout, pt_error *err);

/*
 * The descriptor of an open object, or -1 with PT_ERR_OS EBADF
 * "<op>: socket is closed: Bad file descriptor" once it is closed.
 */
int ptl_sock_fd(const pt_sock *s, const char *op, pt_error *err);

/*
 * Non-zero if the object shares its file description with a descriptor
 * it does not own (pt_fromfd, pt_sock_dup and its original, makefile):
 * its mode then lives in the object only, never in O_NONBLOCK.
 */
int ptl_sock_shared(const pt_sock *s);
/*
 * A stream socket's reads so far (sockio.c): PTL_READ_SHORT, the last one
 * returned less than asked (the receive queue was most likely empty
 * then), and PTL_READ_WAITED, one had to wait for data.  With both, the
 * next read waits before it tries: one failing system call saved per
 * request/response turn.
 */
#define PTL_READ_SHORT	1
#define PTL_READ_WAITED	2
int ptl_sock_rflags(const pt_sock *s);
void ptl_sock_set_rflags(pt_sock *s, int rflags);

/*
 * pt_sock_dup() with the caller's operation name for messages: a new
 * object over a close-on-exec duplicate, same family, type, proto and
 * timeout.  Free with pt_sock_free().  NULL on error.
 */
pt_sock *ptl_sock_dup(pt_sock *s, const char *op, pt_error *err);

/*
 * pt_addr_inet() with the caller's message prefix (`what`, e.g.
 * "gethostbyname foo"): messages read "<what>: <reason>".  In addr.c.
 */
int ptl_addr_inet(pt_addr *out, int family, const char *host, int port,
    const char *what, pt_error *err);

/*
 * Fills *err with PT_ERR_RESOLVER for getaddrinfo/getnameinfo code rc: the
 * formatted subject, ": ", then gai_strerror(rc), or strerror(errno) for
 * EAI_SYSTEM (errno is then preserved).  Returns -1.  In resolve.c.
 */
int ptl_gai_error(pt_error *err, int rc, const char *fmt, ...)
    PT_PRINTF(3, 4);

/*
 * iowait.c: the calling thread's waiter (<porter/iowait.h>) or NULL, read
 * afresh on every call; one wait through it (1 ready, 0 timeout, -errno);
 * errno read out of line (after a wait that may have moved the caller to
 * another thread); and the closing() notice for fd, if a waiter is set.
 */
struct pt_io_waiter;
const struct pt_io_waiter *ptl_io_waiter(void);
/*
 * pt_io_fd_hint()'s record for fd on this thread: 0, or -1 if none.
 * *nonblock is -1 when the host did not say.
 */
int ptl_fd_hint(int fd, int *family, int *type, int *proto, int *nonblock);
int ptl_io_waiter_wait(const struct pt_io_waiter *w, int fd, int events,
    int ms);
int ptl_errno(void);
void ptl_io_closing(int fd);

#endif
