/*
 * banner.c -- sending the banners of banner.h, without blocking.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include "banner.h"

/* Best effort, never blocking: a short write drops the rest. */
static void
banner_send(int fd, const char *text, size_t len)
{
	ssize_t n;

	if (text == NULL || len == 0)
		return;
	n = send(fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)n;
}

void
banner_admitted(const struct service *s, int fd)
{
	banner_send(fd, s->banner, s->banner_len);
	banner_send(fd, s->banner_success, s->banner_success_len);
}

void
banner_refused(const struct service *s, int fd)
{
	banner_send(fd, s->banner, s->banner_len);
	banner_send(fd, s->banner_fail, s->banner_fail_len);
}
