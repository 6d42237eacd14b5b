/*
 * log.c -- porterd's log lines: where they go, which are kept, their form.
 *
 * A line is formatted on the caller's stack and handed over in one piece:
 * one write(2) of "porterd: message\n" to stderr, or one syslog() call.
 * Neither needs a lock of ours (a single write of a short line is not
 * interleaved with other writers, glibc's syslog locks itself), so worker
 * threads log freely; the level and target are atomics because a reload
 * changes the level while they do.  The one place that cannot use
 * syslog(3) is a child forked from this multi-threaded process: another
 * thread may have held glibc's syslog lock at fork(), and the copy in the
 * child is never released.  log_child() therefore gives the child its own
 * /dev/log socket and a formatter that takes no lock at all.
 *
 * Under systemd, stderr is often the journal's stream socket (systemd
 * says so in $JOURNAL_STREAM, "device:inode" of that socket).  Each line
 * then starts with "<N>", N the syslog priority (sd-daemon(3)'s SD_ERR
 * ... SD_DEBUG), which journald takes as the line's priority and strips,
 * so `journalctl -p warning` shows porterd's warnings.  The check is made
 * by log_init() against the stderr of that moment: an inherited
 * JOURNAL_STREAM that no longer describes fd 2 (stderr redirected to a
 * file or terminal) leaves the lines as they were.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

/* Longest line kept; longer ones are cut and end in "...". */
#define LOG_LINE_MAX	1024

static int log_target = LOG_TARGET_STDERR;	/* atomic access only */
static int log_level = LOG_INFO;		/* atomic access only */
static char log_ident[32] = "porterd";		/* set before threads start */
static int log_in_child;	/* log_child() was called: no syslog(3) */
static int log_child_fd = -1;	/* the child's /dev/log socket, if any */
static int log_journal;		/* stderr is the journal: "<N>" prefixes */
static int log_journal_native;	/* stderr is the journal, any target */

static const char *const log_level_names[] = {
	[LOG_ERR] = "err",
	[LOG_WARNING] = "warning",
	[LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

/* True if $JOURNAL_STREAM names the socket on stderr (systemd.exec(5)). */
static int
log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (e == NULL || sscanf(e, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(enum log_target target, int level, const char *ident)
{
	log_journal_native = log_stderr_is_journal();
	log_journal = target == LOG_TARGET_STDERR && log_journal_native;
	if (ident != NULL)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_setlevel(level);
	__atomic_store_n(&log_target, (int)target, __ATOMIC_RELAXED);
	if (target == LOG_TARGET_SYSLOG) {
		/*
		 * No LOG_NDELAY: the connection is made at the first line,
		 * after daemonizing has closed what it closes.
		 */
		openlog(log_ident, LOG_PID, LOG_DAEMON);
	}
}

void
log_setlevel(int level)
{
	if (level < LOG_EMERG)
		level = LOG_EMERG;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

int
log_under_journal(void)
{
	return log_journal_native;
}

int
log_getlevel(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int
log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(log_level_names) /
	    sizeof(log_level_names[0]); i++) {
		if (log_level_names[i] != NULL &&
		    strcmp(log_level_names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

/* Writes all of buf, retrying interrupted and partial writes. */
static void
log_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;		/* nowhere left to report it */
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Formats "prefix" + message (+ ": " + reason) + suffix into buf, cutting
 * an overlong message and marking the cut with "...".  Returns the length.
 */
static size_t
log_format(char *buf, size_t size, const char *prefix, const char *reason,
    const char *suffix, const char *fmt, va_list ap)
{
	size_t len, room, slen = strlen(suffix);
	int n;

	/* Room for the suffix is kept back so a cut line still ends in it. */
	room = size - slen;
	n = snprintf(buf, room, "%s", prefix);
	len = n < 0 ? 0 : (size_t)n;
	if (len < room) {
		n = vsnprintf(buf + len, room - len, fmt, ap);
		len += n < 0 ? 0 : (size_t)n;
	}
	if (reason != NULL && len < room) {
		n = snprintf(buf + len, room - len, ": %s", reason);
		len += n < 0 ? 0 : (size_t)n;
	}
	if (len >= room) {
		len = room - 1;
		memcpy(buf + len - 3, "...", 3);
	}
	memcpy(buf + len, suffix, slen + 1);
	return len + slen;
}

static void
log_emit(int priority, const char *reason, const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX], prefix[64];
	size_t len;

	if (priority > log_getlevel())
		return;
	if (__atomic_load_n(&log_target, __ATOMIC_RELAXED) ==
	    LOG_TARGET_SYSLOG && log_in_child) {
		if (log_child_fd == -1)
			return;	/* no syslog daemon: lost, as in syslog(3) */
		/*
		 * RFC 3164 without a timestamp: the receiver adds one, and
		 * localtime_r() could block on a lock held at fork() too.
		 */
		snprintf(prefix, sizeof(prefix), "<%d>%s[%ld]: ",
		    LOG_DAEMON | priority, log_ident, (long)getpid());
		len = log_format(buf, sizeof(buf), prefix, reason, "", fmt, ap);
		(void)send(log_child_fd, buf, len, MSG_NOSIGNAL);
		return;
	}
	if (__atomic_load_n(&log_target, __ATOMIC_RELAXED) ==
	    LOG_TARGET_SYSLOG) {
		len = log_format(buf, sizeof(buf), "", reason, "", fmt, ap);
		syslog(priority, "%s", buf);
		return;
	}
	if (log_journal)
		snprintf(prefix, sizeof(prefix), "<%d>%s: ", priority,
		    log_ident);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", log_ident);
	len = log_format(buf, sizeof(buf), prefix, reason, "\n", fmt, ap);
	log_write_all(log_in_child && log_child_fd >= 0 ? log_child_fd :
	    STDERR_FILENO, buf, len);
}

/* The reason text for errno value `code`, whichever strerror_r we have. */
static const char *
log_strerror(int code, char *buf, size_t len)
{
#ifdef STRERROR_R_CHAR_P
	return strerror_r(code, buf, len);
#else
	if (strerror_r(code, buf, len) != 0)
		snprintf(buf, len, "error %d", code);
	return buf;
#endif
}

void
log_vlog(int priority, const char *fmt, va_list ap)
{
	log_emit(priority, NULL, fmt, ap);
}

void
log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(priority, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	char ebuf[128];
	const char *reason;
	va_list ap;

	/* First: formatting may itself change errno. */
	reason = log_strerror(errno, ebuf, sizeof(ebuf));
	va_start(ap, fmt);
	log_emit(LOG_WARNING, reason, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
log_child(void)
{
	struct sockaddr_un sun;
	int fd;

	log_in_child = 1;
	if (__atomic_load_n(&log_target, __ATOMIC_RELAXED) !=
	    LOG_TARGET_SYSLOG) {
		/* A copy of stderr: the child's own 2 may become /dev/null. */
		log_child_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
		return;
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", _PATH_LOG);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return;
	}
	log_child_fd = fd;
}

int
log_child_fd_get(void)
{
	return log_child_fd;
}

void
fatal(const char *fmt, ...)
{
	char ebuf[128];
	const char *reason;
	va_list ap;

	reason = log_strerror(errno, ebuf, sizeof(ebuf));
	va_start(ap, fmt);
	log_emit(LOG_CRIT, reason, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

enum log_target
log_gettarget(void)
{
	return (enum log_target)__atomic_load_n(&log_target, __ATOMIC_RELAXED);
}
