/*
 * forward.c -- relays each connection to a backend (xinetd's `redirect`,
 * systemd-socket-proxyd), optionally telling the backend who the client
 * is with a PROXY protocol header.
 *
 * Arguments (`args = { "127.0.0.1:8080", "proxy=v2", "connect-timeout=3" }`):
 *   first         the backend: "host:port", "[v6]:port", "/path" (AF_UNIX)
 *                 or "@name" (abstract).  A host name is resolved once,
 *                 when porterd loads the service (and again on reload),
 *                 never per connection.
 *   proxy=v1|v2   send a PROXY header before the client's bytes, built
 *                 from the connection's peer and local addresses.  v1 can
 *                 only carry TCP over IPv4/IPv6 of one family; anything
 *                 else (AF_UNIX clients) is sent as "PROXY UNKNOWN".  v2
 *                 carries IPv4, IPv6 and AF_UNIX; without a peer it sends
 *                 the LOCAL command.
 *   connect-timeout=S   seconds to wait for the backend (default 5,
 *                 0.001..3600); a backend that does not answer in time
 *                 closes the client's connection.
 * Bad arguments are refused when the config is loaded.
 *
 * The relay moves bytes with splice(2) through a pipe per direction, so
 * they never enter user space; an end-of-stream on one side becomes a
 * shutdown(SHUT_WR) on the other, and the plugin returns once both
 * directions have ended (or on a reset).  Waits are poll(2) on both
 * sockets: libporter waits on one socket at a time, and a relay needs both.
 * Each connection logs one line naming the backend and the byte counts.
 */
#define _GNU_SOURCE	/* splice, pipe2 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <porter/plugin.h>

#define FWD_CHUNK	(64 * 1024)

struct fwd {
	pt_addr backend;
	char text[PT_ADDRSTRLEN];
	int proxy;		/* 0, 1 or 2 */
	double timeout;
};

static int
fwd_init(const pt_plugin_ctx *ctx, void **ret_state, pt_error *err)
{
	struct fwd *f;
	char *end;
	int i;

	if (ctx->wait || ctx->socktype != SOCK_STREAM)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "forward needs a stream service with wait = false");
	if (ctx->argc < 1)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "forward needs the backend as its first argument "
		    "(host:port or /path)");
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return pt_error_os(err, ENOMEM, "forward");
	f->timeout = 5.0;
	if (pt_addr_parse(&f->backend, ctx->argv[0], -1, SOCK_STREAM,
	    err) == -1)
		goto fail;
	pt_addr_format(&f->backend, f->text, sizeof(f->text));
	for (i = 1; i < ctx->argc; i++) {
		const char *a = ctx->argv[i];

		if (strcmp(a, "proxy=v1") == 0)
			f->proxy = 1;
		else if (strcmp(a, "proxy=v2") == 0)
			f->proxy = 2;
		else if (strncmp(a, "connect-timeout=", 16) == 0) {
			errno = 0;
			f->timeout = strtod(a + 16, &end);
			if (errno || end == a + 16 || *end != '\0' ||
			    !(f->timeout >= 0.001 && f->timeout <= 3600)) {
				pt_error_set(err, PT_ERR_ARG, EINVAL,
				    "forward: '%s': not 0.001..3600 seconds",
				    a);
				goto fail;
			}
		} else {
			pt_error_set(err, PT_ERR_ARG, EINVAL, "forward: "
			    "unknown argument '%s' (proxy=v1|v2, "
			    "connect-timeout=S)", a);
			goto fail;
		}
	}
	*ret_state = f;
	return 0;
fail:
	free(f);
	return -1;
}

static void
fwd_fini(void *state)
{
	free(state);
}

/* ---------------------------------------------------------- PROXY header */

static size_t
proxy_v1(const pt_addr *peer, const pt_addr *local, char *buf, size_t len)
{
	char sh[INET6_ADDRSTRLEN], dh[INET6_ADDRSTRLEN];
	int fam = peer ? pt_addr_family(peer) : AF_UNSPEC;
	int n;

	if ((fam != AF_INET && fam != AF_INET6) || local == NULL ||
	    pt_addr_family(local) != fam ||
	    pt_addr_host(peer, sh, sizeof(sh), NULL) == NULL ||
	    pt_addr_host(local, dh, sizeof(dh), NULL) == NULL)
		return (size_t)snprintf(buf, len, "PROXY UNKNOWN\r\n");
	n = snprintf(buf, len, "PROXY TCP%c %s %s %d %d\r\n",
	    fam == AF_INET ? '4' : '6', sh, dh, pt_addr_port(peer),
	    pt_addr_port(local));
	return (size_t)n;
}

static size_t
proxy_v2(const pt_addr *peer, const pt_addr *local, uint8_t *b)
{
	static const uint8_t sig[12] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49,
		0x54, 0x0a
	};
	int fam = peer ? pt_addr_family(peer) : AF_UNSPEC;
	size_t len = 0;

	memcpy(b, sig, 12);
	b[12] = 0x21;		/* version 2, PROXY */
	if (local == NULL || pt_addr_family(local) != fam)
		fam = AF_UNSPEC;
	if (fam == AF_INET) {
		const struct sockaddr_in *s = (const void *)&peer->ss;
		const struct sockaddr_in *d = (const void *)&local->ss;

		b[13] = 0x11;
		memcpy(b + 16, &s->sin_addr, 4);
		memcpy(b + 20, &d->sin_addr, 4);
		memcpy(b + 24, &s->sin_port, 2);
		memcpy(b + 26, &d->sin_port, 2);
		len = 12;
	} else if (fam == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)&peer->ss;
		const struct sockaddr_in6 *d = (const void *)&local->ss;

		b[13] = 0x21;
		memcpy(b + 16, &s->sin6_addr, 16);
		memcpy(b + 32, &d->sin6_addr, 16);
		memcpy(b + 48, &s->sin6_port, 2);
		memcpy(b + 50, &d->sin6_port, 2);
		len = 36;
	} else if (fam == AF_UNIX) {
		size_t off = offsetof(struct sockaddr_un, sun_path), n;

		b[13] = 0x31;
		memset(b + 16, 0, 216);
		n = peer->len > off ? peer->len - off : 0;
		memcpy(b + 16, ((const struct sockaddr_un *)(const void *)
		    &peer->ss)->sun_path, n > 108 ? 108 : n);
		n = local->len > off ? local->len - off : 0;
		memcpy(b + 124, ((const struct sockaddr_un *)(const void *)
		    &local->ss)->sun_path, n > 108 ? 108 : n);
		len = 216;
	} else {
		b[12] = 0x20;	/* LOCAL: nothing to tell */
		b[13] = 0x00;
	}
	b[14] = (uint8_t)(len >> 8);
	b[15] = (uint8_t)len;
	return 16 + len;
}

/* --------------------------------------------------------------- relay */

struct dir {
	int src, dst;
	int pipe[2];
	size_t inpipe;
	int eof, done;
	uint64_t bytes;
};

static int
gone(int e)
{
	return e == ECONNRESET || e == EPIPE || e == ENOTCONN;
}

/*
 * Moves what it can; sets the poll events it waits for on its two ends.
 * Returns 0, or -1 with errno for a real failure.
 */
static int
dir_step(struct dir *d, short *ev_src, short *ev_dst, int *progress)
{
	ssize_t n;

	if (!d->eof && d->inpipe < FWD_CHUNK) {
		n = splice(d->src, NULL, d->pipe[1], NULL,
		    FWD_CHUNK - d->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			d->inpipe += (size_t)n;
			*progress = 1;
		} else if (n == 0) {
			d->eof = 1;
			*progress = 1;
		} else if (errno == EAGAIN)
			*ev_src |= POLLIN;
		else if (gone(errno)) {
			d->eof = 1;
			*progress = 1;
		} else if (errno != EINTR)
			return -1;
	}
	if (d->inpipe > 0) {
		n = splice(d->pipe[0], NULL, d->dst, NULL, d->inpipe,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			d->inpipe -= (size_t)n;
			d->bytes += (uint64_t)n;
			*progress = 1;
		} else if (n == -1 && errno == EAGAIN)
			*ev_dst |= POLLOUT;
		else if (n == -1 && gone(errno)) {
			/* The receiver is gone: drop what is queued. */
			d->inpipe = 0;
			d->eof = 1;
			*progress = 1;
		} else if (n == -1 && errno != EINTR)
			return -1;
	}
	if (d->eof && d->inpipe == 0 && !d->done) {
		shutdown(d->dst, SHUT_WR);
		d->done = 1;
		*progress = 1;
	}
	return 0;
}

static int
relay(int cfd, int bfd, pt_plugin_stats *stats, pt_error *err)
{
	struct dir up = { cfd, bfd, { -1, -1 }, 0, 0, 0, 0 };
	struct dir down = { bfd, cfd, { -1, -1 }, 0, 0, 0, 0 };
	struct pollfd pfd[2];
	int r = -1, progress;

	if (pipe2(up.pipe, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    pipe2(down.pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		pt_error_os(err, errno, "pipe");
		goto out;
	}
	while (!up.done || !down.done) {
		pfd[0].fd = cfd;
		pfd[1].fd = bfd;
		pfd[0].events = pfd[1].events = 0;
		progress = 0;
		if (dir_step(&up, &pfd[0].events, &pfd[1].events,
		    &progress) == -1 ||
		    dir_step(&down, &pfd[1].events, &pfd[0].events,
		    &progress) == -1) {
			pt_error_os(err, errno, "splice");
			goto out;
		}
		if (progress)
			continue;
		if (poll(pfd, 2, -1) == -1 && errno != EINTR) {
			pt_error_os(err, errno, "poll");
			goto out;
		}
		/* A hang-up with nothing to wait for ends that direction. */
		if ((pfd[0].revents & (POLLERR | POLLNVAL)) ||
		    (pfd[1].revents & (POLLERR | POLLNVAL))) {
			r = 0;
			goto out;
		}
	}
	r = 0;
out:
	stats->bytes_in = up.bytes;
	stats->bytes_out = down.bytes;
	if (up.pipe[0] != -1) {
		close(up.pipe[0]);
		close(up.pipe[1]);
	}
	if (down.pipe[0] != -1) {
		close(down.pipe[0]);
		close(down.pipe[1]);
	}
	return r;
}

static int
fwd_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	const struct fwd *f = ctx->state;
	pt_sock *c = NULL, *b = NULL;
	uint8_t hdr[16 + 216];
	size_t hlen = 0, sent;
	pt_error err;
	int r = -1;

	if ((c = pt_fromfd(fd, 0, 0, 0, &err)) == NULL ||
	    (b = pt_socket(pt_addr_family(&f->backend), SOCK_STREAM, 0,
	    &err)) == NULL)
		goto out;
	if (pt_sock_settimeout(b, f->timeout, &err) == -1 ||
	    pt_sock_connect_addr(b, &f->backend, &err) == -1) {
		ctx->log(ctx, LOG_WARNING, "forward to %s: %s", f->text,
		    err.msg);
		goto done;
	}
	if (f->proxy == 1)
		hlen = proxy_v1(ctx->peer, ctx->local, (char *)hdr,
		    sizeof(hdr));
	else if (f->proxy == 2)
		hlen = proxy_v2(ctx->peer, ctx->local, hdr);
	if (hlen > 0 && pt_sock_sendall(b, hdr, hlen, 0, &sent, &err) == -1)
		goto out;
	if (pt_sock_setblocking(c, 0, &err) == -1 ||
	    pt_sock_setblocking(b, 0, &err) == -1)
		goto out;
	if (relay(pt_sock_fileno(c), pt_sock_fileno(b), stats, &err) == -1)
		goto out;
	ctx->log(ctx, LOG_INFO, "forwarded to %s: %llu bytes in, %llu out",
	    f->text, (unsigned long long)stats->bytes_in,
	    (unsigned long long)stats->bytes_out);
	r = 0;
	goto done;
out:
	ctx->log(ctx, LOG_ERR, "forward to %s: %s", f->text, err.msg);
done:
	pt_sock_free(b);
	pt_sock_free(c);
	return r;
}

PT_PLUGIN_DEFINE("forward", "relays connections to a backend, with an "
    "optional PROXY header", fwd_init, fwd_handle, fwd_fini);
