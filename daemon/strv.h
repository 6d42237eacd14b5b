/*
 * strv.h -- NULL-terminated string vectors (char **), as the config keeps
 * argv, env, paths and host lists.  Header-only.
 */
#ifndef PORTER_STRV_H
#define PORTER_STRV_H

#include <stdlib.h>

/* Frees each string and the vector; NULL is a no-op. */
static inline void
strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

#endif
