/*
 * sockfile.c -- makefile(): a stdio stream over a socket.
 *
 * The stream is a fopencookie(3) FILE whose reads and writes are the
 * library's own calls on a duplicate of the socket (so the FILE and the
 * socket close independently, as in Python 2): every write goes out with
 * MSG_NOSIGNAL, so a closed peer is an EPIPE stream error and never a
 * SIGPIPE, and reads and writes wait exactly as the socket's calls do, with
 * the timeout the socket had when the stream was made.  A plain fdopen()
 * stream had neither: write(2) raises SIGPIPE, and it ignored the timeout.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porter/socket.h"
#include "internal.h"

/*
 * The cookie: the stream's own socket object, and the stdio buffer when
 * the caller sized it.  glibc's setvbuf() ignores the size unless it is
 * given the buffer, so the buffer lives here and is freed with the cookie
 * in sockfile_close(), after stdio's last use of it (fclose flushes, then
 * closes, then only forgets the pointer).
 */
struct sockfile {
	pt_sock *s;
	char buf[];
};

/*
 * makefile's modes, the fdopen letters that make sense on a socket: "r",
 * "w", and "rw", "r+" or "w+" for both directions ("w" truncates nothing
 * here), each with an optional "b", which POSIX ignores.  Anything else is
 * refused rather than passed on: glibc's fdopen("rw") quietly gave a
 * read-only stream, and unknown letters change its behaviour.  Returns the
 * fopencookie mode, or NULL.
 */
static const char *
makefile_mode(const char *mode)
{
	int plus = 0, bin = 0, w = 0;
	const char *p;

	if (mode[0] != 'r' && mode[0] != 'w')
		return NULL;
	for (p = mode + 1; *p != '\0'; p++) {
		if (*p == 'b' && !bin)
			bin = 1;
		else if (*p == '+' && !plus && !w)
			plus = 1;
		else if (*p == 'w' && mode[0] == 'r' && !w && !plus)
			w = 1;
		else
			return NULL;
	}
	if (plus || w)
		return "r+";
	return mode[0] == 'r' ? "r" : "w";
}

/* stdio's read: the count, 0 at EOF, or -1 with errno (ETIMEDOUT, ...). */
static ssize_t
sockfile_read(void *cookie, char *buf, size_t size)
{
	struct sockfile *sf = cookie;

	return pt_sock_recv_into(sf->s, buf, size, 0, NULL);
}

/*
 * stdio's write: all of it, or what went out before the error (errno says
 * which); stdio marks the stream in error whenever the count is short.
 */
static ssize_t
sockfile_write(void *cookie, const char *buf, size_t size)
{
	struct sockfile *sf = cookie;
	size_t sent;

	pt_sock_sendall(sf->s, buf, size, 0, &sent, NULL);
	return (ssize_t)sent;
}

static int
sockfile_close(void *cookie)
{
	struct sockfile *sf = cookie;
	int r;

	r = pt_sock_close(sf->s, NULL);
	pt_sock_free(sf->s);
	free(sf);
	return r < 0 ? EOF : 0;
}

FILE *
pt_sock_makefile(pt_sock *s, const char *mode, int bufsize, pt_error *err)
{
	static const cookie_io_functions_t io = {
		.read = sockfile_read,
		.write = sockfile_write,
		.seek = NULL,		/* a socket has no position: ESPIPE */
		.close = sockfile_close,
	};
	struct sockfile *sf = NULL;
	const char *fmode;
	FILE *fp;

	if (ptl_sock_fd(s, "makefile", err) < 0)
		return NULL;
	if (mode == NULL)
		mode = "r";
	if ((fmode = makefile_mode(mode)) == NULL) {
		pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "makefile: bad mode '%.16s'", mode);
		return NULL;
	}
	if ((sf = calloc(1, sizeof(*sf) +
	    (bufsize > 1 ? (size_t)bufsize : 0))) == NULL) {
		pt_error_os(err, ENOMEM, "makefile");
		return NULL;
	}
	if ((sf->s = ptl_sock_dup(s, "makefile", err)) == NULL)
		goto fail;
	if ((fp = fopencookie(sf, fmode, io)) == NULL) {
		pt_error_os(err, errno, "makefile");
		goto fail;
	}
	/* Before any I/O, with a valid mode, setvbuf() cannot fail. */
	if (bufsize > 1)
		setvbuf(fp, sf->buf, _IOFBF, (size_t)bufsize);
	else if (bufsize >= 0)
		setvbuf(fp, NULL, bufsize == 0 ? _IONBF : _IOLBF, 0);
	return fp;
fail:
	pt_sock_free(sf->s);
	free(sf);
	return NULL;
}
