/*
 * conf_inetd.h -- classic inetd.conf, as porterd reads it (conf_inetd.c
 * has the grammar; porterd.conf(5), INETD.CONF, the operator's view).
 */
#ifndef PORTERD_CONF_INETD_H
#define PORTERD_CONF_INETD_H

#include <stddef.h>

/*
 * Translates the inetd.conf text `text` (named `file` in messages) into
 * the porterd.conf service sections porterd loads for it, each on the
 * line its entry starts on.  Returns 0 with a new NUL-terminated text in
 * *ret (caller frees) and its length in *ret_len, or -1 with
 * "file:line: what" in errbuf.  Checks the inetd.conf grammar only: users,
 * programs and addresses are checked when the result is loaded.
 */
int conf_inetd_dump(const char *file, const char *text, char **ret,
    size_t *ret_len, char *errbuf, size_t errlen);

#endif
