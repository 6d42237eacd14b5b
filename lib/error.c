/*
 * error.c -- the library's single error model (pt_error).
 *
 * Every fallible libporter call takes a caller-owned pt_error * and fills
 * it on failure: a kind, a code and a message that names the operation and
 * its subject.  Nothing here allocates, prints or keeps global state, so it
 * is safe from any thread.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "porter/socket.h"
#include "internal.h"

void
pt_error_clear(pt_error *err)
{
	if (err == NULL)
		return;
	err->kind = PT_ERR_NONE;
	err->code = 0;
	err->msg[0] = '\0';
}

static int
error_vset(pt_error *err, pt_error_kind kind, int code, const char *fmt,
    va_list ap)
{
	if (err != NULL) {
		err->kind = kind;
		err->code = code;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	}
	/* Resolver codes are EAI_* values, not errno values. */
	errno = (kind == PT_ERR_RESOLVER) ? EINVAL : code;
	return -1;
}

int
pt_error_set(pt_error *err, pt_error_kind kind, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = error_vset(err, kind, code, fmt, ap);
	va_end(ap);
	return r;
}

int
pt_error_os(pt_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	error_vset(err, PT_ERR_OS, code, fmt, ap);
	va_end(ap);
	if (err != NULL) {
		n = strlen(err->msg);
		if (n + 2 < sizeof(err->msg)) {
			err->msg[n++] = ':';
			err->msg[n++] = ' ';
			err->msg[n] = '\0';
			ptl_strerror(code, err->msg + n, sizeof(err->msg) - n);
		}
	}
	errno = code;
	return -1;
}

const char *
pt_error_kind_name(pt_error_kind kind)
{
	switch (kind) {
	case PT_ERR_NONE:
		return "none";
	case PT_ERR_OS:
		return "os";
	case PT_ERR_RESOLVER:
		return "resolver";
	case PT_ERR_TIMEOUT:
		return "timeout";
	case PT_ERR_ARG:
		return "argument";
	}
	return "unknown";
}

void
ptl_strerror(int code, char *buf, size_t len)
{
	if (len == 0)
		return;
#if defined(STRERROR_R_CHAR_P)
	{
		/* GNU strerror_r may return a static string instead of filling buf. */
		char *s = strerror_r(code, buf, len);
		if (s != buf)
			snprintf(buf, len, "%s", s);
	}
#else
	if (strerror_r(code, buf, len) != 0)
		snprintf(buf, len, "Unknown error %d", code);
#endif
}
