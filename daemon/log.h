/*
 * log.h -- porterd's logging vocabulary (after OpenBSD's log.h).
 *
 * log_warn() appends ": strerror(errno)"; the x variants do not.  fatal()
 * and fatalx() log and exit(1).  Lines go to stderr (foreground, --debug)
 * or syslog.  Every function is thread-safe: worker threads log too.
 */
#ifndef PORTERD_LOG_H
#define PORTERD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum log_target {
	LOG_TARGET_STDERR,
	LOG_TARGET_SYSLOG
};

/* Sets where lines go and the most verbose priority kept (LOG_DEBUG ..). */
void log_init(enum log_target target, int level, const char *ident);
/* Changes the level (e.g. after a reload); the target stays. */
void log_setlevel(int level);
int log_getlevel(void);
/* Where lines go (log_init()). */
enum log_target log_gettarget(void);
/*
 * True when porterd's stderr is the systemd journal's stream (checked by
 * log_init()): structured entries may then go to the journal directly.
 */
int log_under_journal(void);
/* Parses "err", "warning", "notice", "info", "debug"; -1 if unknown. */
int log_level_parse(const char *name);

void log_vlog(int priority, const char *fmt, va_list ap) LOG_PRINTF(2, 0);
void log_msg(int priority, const char *fmt, ...) LOG_PRINTF(2, 3);
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
/*
 * Call in a forked child before logging there: makes the child use its
 * own syslog connection and no lock another thread held at fork().
 */
void log_child(void);
/* The descriptor a child logs through after log_child(), or -1. */
int log_child_fd_get(void);

void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

#endif
