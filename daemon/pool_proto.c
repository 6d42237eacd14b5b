/*
 * pool_proto.c -- framing for porterd <-> worker pool messages (see
 * pool_proto.h): SCM_RIGHTS on a SOCK_SEQPACKET pair, and the SETUP
 * message's type-length-value records.  No logging: both ends decide.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pool_proto.h"

void
pool_tlv_put(struct pool_tlv_buf *b, uint16_t type, const void *v,
    size_t len)
{
	uint32_t l32 = (uint32_t)len;
	size_t need = b->len + 2 + 4 + len;
	unsigned char *p;

	if (b->failed)
		return;
	if (len > UINT32_MAX) {
		b->failed = 1;
		return;
	}
	if (need > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 256;

		while (cap < need)
			cap *= 2;
		if ((p = realloc(b->data, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, &type, 2);
	memcpy(b->data + b->len + 2, &l32, 4);
	if (len > 0)
		memcpy(b->data + b->len + 6, v, len);
	b->len = need;
}

void
pool_tlv_start(struct pool_tlv_buf *b, const void *hdr, size_t len)
{
	if (b->cap < len + 256) {
		unsigned char *p = realloc(b->data, len + 256);

		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->data = p;
		b->cap = len + 256;
	}
	memcpy(b->data, hdr, len);
	b->len = len;
}

void
pool_tlv_put_str(struct pool_tlv_buf *b, uint16_t type, const char *s)
{
	pool_tlv_put(b, type, s, strlen(s) + 1);
}

int
pool_tlv_next(const unsigned char *buf, size_t len, size_t *off,
    uint16_t *type, const unsigned char **v, size_t *vlen)
{
	uint32_t l32;

	if (*off == len)
		return 0;
	if (*off > len || len - *off < 6)
		return -1;
	memcpy(type, buf + *off, 2);
	memcpy(&l32, buf + *off + 2, 4);
	if (len - *off - 6 < l32)
		return -1;
	*v = buf + *off + 6;
	*vlen = l32;
	*off += 6 + (size_t)l32;
	return 1;
}

int
pool_send(int sock, const void *msg, size_t len, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)msg,
	    .iov_len = len };
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

ssize_t
pool_recv(int sock, void *buf, size_t len, int *fd, int flags)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct pool_hdr h;
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;
	size_t i, nfd;
	int got;

	*fd = -1;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags);
	} while (n == -1 && errno == EINTR);
	if (n <= 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
			if (*fd == -1)
				*fd = got;
			else
				close(got);	/* one per message, no more */
		}
	}
	memcpy(&h, buf, (size_t)n < sizeof(h) ? 0 : sizeof(h));
	if ((size_t)n < sizeof(h) || h.magic != POOL_MAGIC ||
	    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		errno = EBADMSG;
		return -1;
	}
	return n;
}
