/*
 * whoami.c -- a test plugin for the worker pool tests: it reads one line
 * and answers by what it says.
 *
 *   "crash"  the handler dies of SIGSEGV (only this connection is lost)
 *   "hang"   the handler never returns (max-lifetime must cut it)
 *   "burn"   0.3 s of CPU time, then the echo
 *   "who"    one line: "pid=P uid=U gid=G groups=A,B sigblk=X sigign=Y"
 *            (the last two from /proc/self/status, as hex masks)
 *   other    the line is echoed back
 *
 * After answering it waits for the client to close, so a test can hold
 * a worker busy for as long as it likes.
 */
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <porter/plugin.h>

#if defined(__GNUC__)
#define WHOAMI_NO_UBSAN __attribute__((no_sanitize_undefined))
#else
#define WHOAMI_NO_UBSAN
#endif

/* The hex mask after "Name:\t" in /proc/self/status, or "?". */
static void
whoami_status(const char *name, char *out, size_t len)
{
	char line[256];
	size_t n = strlen(name);
	FILE *f = fopen("/proc/self/status", "r");

	snprintf(out, len, "?");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			snprintf(out, len, "%s", line + n + 2);
			out[strcspn(out, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
}

static WHOAMI_NO_UBSAN int
whoami_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	char buf[512], out[1024], blk[32], ign[32];
	volatile int *volatile p = NULL;
	gid_t groups[64];
	ssize_t n;
	size_t len = 0;
	int ng, i;

	(void)ctx;
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		if (memchr(buf, '\n', len) != NULL)
			break;
	}
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	stats->bytes_in = len;
	if (strcmp(buf, "crash") == 0) {
		signal(SIGSEGV, SIG_DFL);
		*p = 1;
	}
	if (strcmp(buf, "burn") == 0) {	/* 0.3 s of CPU, then the echo */
		struct timespec t0, t;

		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
		do
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
		while ((t.tv_sec - t0.tv_sec) * 1000000000L +
		    (t.tv_nsec - t0.tv_nsec) < 300000000L);
	}
	if (strcmp(buf, "hang") == 0) {
		for (;;)
			pause();
	}
	if (strcmp(buf, "who") == 0) {
		ng = getgroups(64, groups);
		whoami_status("SigBlk", blk, sizeof(blk));
		whoami_status("SigIgn", ign, sizeof(ign));
		len = (size_t)snprintf(out, sizeof(out), "pid=%ld uid=%ld "
		    "gid=%ld sigblk=%s sigign=%s groups=", (long)getpid(),
		    (long)getuid(), (long)getgid(), blk, ign);
		for (i = 0; i < ng && len < sizeof(out) - 16; i++)
			len += (size_t)snprintf(out + len, sizeof(out) - len,
			    "%s%ld", i > 0 ? "," : "", (long)groups[i]);
		out[len++] = '\n';
	} else {
		len = (size_t)snprintf(out, sizeof(out), "%s\n", buf);
	}
	if (write(fd, out, len) != (ssize_t)len)
		return -1;
	stats->bytes_out = len;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return 0;
}

PT_PLUGIN(.name = "whoami",
    .description = "test plugin: echo, who, crash or hang on request",
    .handle = whoami_handle);
