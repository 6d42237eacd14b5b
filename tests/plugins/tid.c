/*
 * tid.c -- a test plugin that tells the client which thread ran it, for
 * the event-core tests.  Built twice: tid_coop.so declares
 * PT_PLUGIN_COOPERATIVE (handle() runs as a fiber of an event loop),
 * tid_block.so does not (handle() runs on a thread of its own).
 *
 * For each line the client sends, the handler answers
 * "tid=<kernel thread id> pid=<pid>\n".  The line "stall" makes it sleep
 * 2.5 s ("stall <ms>": that long) outside libporter first, as a badly
 * written cooperative plugin would, so the tests can watch porterd report
 * the stalled loop.  The
 * line "wait <ms>" sets that timeout on the socket and receives: the
 * answer is "timeout ms=<elapsed>" (or "data ms=<elapsed>" if the client
 * sent something), which tests the timeouts of a fiber's blocking calls.
 * It ends at EOF.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <porter/plugin.h>
#include <porter/socket.h>

static long
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)(t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* "wait <ms>": one recv with that timeout; the answer into out. */
static int
tid_wait(pt_sock *s, long ms, char *out, size_t len)
{
	struct timespec t0;
	pt_error err;
	char buf[64];
	ssize_t n;

	if (pt_sock_settimeout(s, (double)ms / 1000.0, NULL) == -1)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = pt_sock_recv_into(s, buf, sizeof(buf), 0, &err);
	if (n == -1 && err.kind != PT_ERR_TIMEOUT)
		return -1;
	if (pt_sock_settimeout(s, PT_TIMEOUT_NONE, NULL) == -1)
		return -1;
	return snprintf(out, len, "%s ms=%ld\n", n == -1 ? "timeout" : "data",
	    ms_since(&t0));
}

static int
tid_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	char line[256], out[96];
	pt_sock *s;
	FILE *in;
	int n;

	(void)ctx;
	if ((s = pt_fromfd(fd, 0, 0, 0, NULL)) == NULL)
		return -1;
	if ((in = pt_sock_makefile(s, "r", -1, NULL)) == NULL) {
		pt_sock_free(s);
		return -1;
	}
	while (fgets(line, sizeof(line), in) != NULL) {
		struct timespec ts = { 2, 500000000 };

		stats->bytes_in += strlen(line);
		if (strncmp(line, "wait ", 5) == 0) {
			if ((n = tid_wait(s, atol(line + 5), out,
			    sizeof(out))) < 0)
				break;
		} else {
			if (strncmp(line, "stall ", 6) == 0) {
				long ms = atol(line + 6);

				ts.tv_sec = ms / 1000;
				ts.tv_nsec = (ms % 1000) * 1000000;
			}
			if (strncmp(line, "stall", 5) == 0)
				nanosleep(&ts, NULL);	/* blocks the thread */
			n = snprintf(out, sizeof(out), "tid=%ld pid=%ld\n",
			    (long)syscall(SYS_gettid), (long)getpid());
		}
		if (pt_sock_sendall(s, out, (size_t)n, 0, NULL, NULL) == -1)
			break;
		stats->bytes_out += (uint64_t)n;
	}
	fclose(in);
	pt_sock_free(s);
	return 0;
}

#ifdef TID_COOP
PT_PLUGIN(.name = "tid_coop", .description = "test: thread id, fiber",
    .handle = tid_handle, .flags = PT_PLUGIN_COOPERATIVE);
#else
PT_PLUGIN(.name = "tid_block", .description = "test: thread id, thread",
    .handle = tid_handle);
#endif
