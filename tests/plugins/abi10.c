/*
 * abi10.c -- a test plugin built from the ABI 1.0 header, to prove that a
 * plugin compiled before the 1.1 bump still loads and runs.
 *
 * The build puts tests/plugins/abi-1.0 first on the include path, so
 * <porter/plugin.h> below is the 1.0 header exactly as it shipped (and
 * <porter/socket.h> the current one, which 1.1 did not change).  The
 * static assertions fail the build if the old header is not the one read.
 * The descriptor is 1.0's: no `flags` field, so the loader must not read
 * past `fini` (an ASan build would catch it reading the next global).
 *
 * init stores its first arg (or "abi10-state") as the service's state;
 * each stream connection reads one line and is answered
 * "abi10 <service> <state> <line>\n", which shows init, state, argv, the
 * context and handle all working across the version gap.  fini frees the
 * state.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <porter/plugin.h>

_Static_assert(PT_PLUGIN_ABI_MAJOR == 1 && PT_PLUGIN_ABI_MINOR == 0,
    "abi10.c must be built from the ABI 1.0 header in tests/plugins/abi-1.0");
_Static_assert(sizeof(pt_plugin) ==
    offsetof(pt_plugin, fini) + sizeof(pt_plugin_fini_fn),
    "the ABI 1.0 descriptor ends with fini");

static int
abi10_init(const pt_plugin_ctx *ctx, void **ret_state, pt_error *err)
{
	const char *state = ctx->argc > 0 ? ctx->argv[0] : "abi10-state";

	if (ctx->socktype != SOCK_STREAM || ctx->wait)
		return pt_error_set(err, PT_ERR_ARG, EINVAL,
		    "abi10 needs a stream service with wait = false");
	if ((*ret_state = strdup(state)) == NULL)
		return pt_error_os(err, ENOMEM, "abi10");
	return 0;
}

static void
abi10_fini(void *state)
{
	free(state);
}

static int
abi10_handle(int fd, const pt_plugin_ctx *ctx, pt_plugin_stats *stats)
{
	char line[256], reply[512];
	size_t have = 0, sent = 0;
	pt_error err;
	pt_sock *s;
	ssize_t n;
	int len, r = -1;

	if ((s = pt_fromfd(fd, 0, 0, 0, &err)) == NULL) {
		ctx->log(ctx, LOG_ERR, "abi10: %s", err.msg);
		return -1;
	}
	if (pt_sock_settimeout(s, 10.0, &err) == -1)
		goto out;
	while (have < sizeof(line) - 1 && memchr(line, '\n', have) == NULL) {
		if ((n = pt_sock_recv_into(s, line + have,
		    sizeof(line) - 1 - have, 0, &err)) == -1)
			goto out;
		if (n == 0)
			break;
		have += (size_t)n;
		stats->bytes_in += (uint64_t)n;
	}
	line[have] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	len = snprintf(reply, sizeof(reply), "abi10 %s %s %s\n", ctx->service,
	    (const char *)ctx->state, line);
	if (len < 0 || (size_t)len >= sizeof(reply)) {
		pt_error_set(&err, PT_ERR_ARG, EMSGSIZE, "reply too long");
		goto out;
	}
	r = pt_sock_sendall(s, reply, (size_t)len, 0, &sent, &err);
	stats->bytes_out = sent;
out:
	if (r == -1)
		ctx->log(ctx, LOG_ERR, "abi10: %s", err.msg);
	pt_sock_free(s);
	return r;
}

PT_PLUGIN_DEFINE("abi10", "test plugin: built from the ABI 1.0 header",
    abi10_init, abi10_handle, abi10_fini);
