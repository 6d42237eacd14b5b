/*
 * fuzz_addr.c -- libFuzzer target for pt_addr_parse(), libporter's parser
 * of the address forms a `listen` entry may take ("1.2.3.4:7", "[::1]:7",
 * "*:7", "/path", "@name", a service name for the port).
 *
 * The input, cut at its first NUL as a C string would be, is parsed four
 * ways: without and with a default port (-1, 7), for stream and datagram
 * sockets.  Nothing may crash or read out of bounds, and these properties
 * must hold, each a promise of socket.h:
 *
 *  - a failure says why in a message that quotes the text ("address
 *    '...': ..."), so an operator can find the entry;
 *  - a success is an AF_INET, AF_INET6 or AF_UNIX address whose text
 *    (pt_addr_format(), as porterd logs it) parses back, the same way, to
 *    an equal address: what the log shows is what the config meant;
 *  - text that parses without a default port parses with one to the same
 *    address: it carried its own port, or is an AF_UNIX name;
 *  - pt_addr_format() and pt_addr_host() respect any buffer size: into
 *    one too small, the first writes a prefix of its text (nothing, for
 *    an AF_UNIX name, which is never cut), the second fails with ENOSPC.
 *
 * Host names never reach a name server (sandbox.c): they fail as unknown
 * names do, except "localhost".
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "porter/socket.h"
#include "fuzz.h"

/* Longer than any host name or AF_UNIX path; the rest adds nothing. */
#define ADDR_INPUT_MAX	4096

/* Parses `text` once; returns whether it parsed. */
static bool
addr_parse_checked(const char *text, int dflt, int socktype, pt_addr *out)
{
	pt_error err;

	pt_error_clear(&err);
	if (pt_addr_parse(out, text, dflt, socktype, &err) == 0)
		return true;
	FUZZ_CHECK(err.kind != PT_ERR_NONE && err.code != 0,
	    "'%s' failed with no error recorded", text);
	FUZZ_CHECK(strncmp(err.msg, "address '", 9) == 0,
	    "message for '%s' does not quote it: %s", text, err.msg);
	return false;
}

/* The checks on one successful parse of `text` into `a`. */
static void
addr_check_parsed(const char *text, int dflt, int socktype, const pt_addr *a)
{
	char buf[PT_ADDRSTRLEN], host[PT_ADDRSTRLEN];
	int family = pt_addr_family(a), port = pt_addr_port(a);
	pt_addr back;
	pt_error err;

	FUZZ_CHECK(family == AF_INET || family == AF_INET6 ||
	    family == AF_UNIX, "'%s' parsed to family %d", text, family);
	FUZZ_CHECK(a->len <= sizeof(a->ss), "'%s': length %u", text,
	    (unsigned)a->len);
	FUZZ_CHECK(family == AF_UNIX ? port == -1 : port >= 0 && port <= 65535,
	    "'%s' parsed to port %d", text, port);
	FUZZ_CHECK(pt_addr_host(a, host, sizeof(host), &err) != NULL,
	    "'%s': no host text: %s", text, err.msg);

	pt_addr_format(a, buf, sizeof(buf));
	FUZZ_CHECK(memchr(buf, '\0', sizeof(buf)) != NULL,
	    "'%s' formats unterminated", text);
	FUZZ_CHECK(addr_parse_checked(buf, dflt, socktype, &back),
	    "'%s' formats as '%s', which does not parse", text, buf);
	FUZZ_CHECK(pt_addr_equal(a, &back),
	    "'%s' formats as '%s', which parses to another address", text,
	    buf);
}

/*
 * Formats `a` into exact-size heap buffers of every length up to the
 * text's own, so ASan sees any write past the end.
 */
static void
addr_check_buffers(const char *text, const pt_addr *a)
{
	char full[PT_ADDRSTRLEN], host[PT_ADDRSTRLEN], *buf;
	size_t flen, hlen, k;
	pt_error err;

	pt_addr_format(a, full, sizeof(full));
	flen = strlen(full);
	FUZZ_CHECK(pt_addr_host(a, host, sizeof(host), NULL) != NULL,
	    "'%s': no host text", text);
	hlen = strlen(host);
	for (k = 1; k <= flen + 1 || k <= hlen + 1; k++) {
		if ((buf = malloc(k)) == NULL)
			return;
		pt_addr_format(a, buf, k);
		FUZZ_CHECK(memchr(buf, '\0', k) != NULL &&
		    strncmp(full, buf, strlen(buf)) == 0 &&
		    (k <= flen || strcmp(buf, full) == 0) &&
		    (pt_addr_family(a) != AF_UNIX || k > flen ||
		    buf[0] == '\0'),
		    "'%s' formats as '%s' into %zu bytes, not as a part of "
		    "'%s'", text, buf, k, full);
		pt_error_clear(&err);
		if (pt_addr_host(a, buf, k, &err) != NULL)
			FUZZ_CHECK(k > hlen && strcmp(buf, host) == 0, "host "
			    "of '%s' is '%s' in %zu bytes, '%s' in plenty",
			    text, buf, k, host);
		else
			FUZZ_CHECK(k <= hlen && err.code == ENOSPC, "host of "
			    "'%s' does not fit %zu bytes: %s", text, k,
			    err.msg);
		free(buf);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
	pt_addr without, with;
	bool ok_without;
	char *text;
	size_t i;

	if (size > ADDR_INPUT_MAX)
		size = ADDR_INPUT_MAX;
	/* An exact-size copy, so ASan sees any read past the NUL. */
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		ok_without = addr_parse_checked(text, -1, types[i], &without);
		if (ok_without)
			addr_check_parsed(text, -1, types[i], &without);
		if (addr_parse_checked(text, 7, types[i], &with))
			addr_check_parsed(text, 7, types[i], &with);
		else
			FUZZ_CHECK(!ok_without, "'%s' parses only without "
			    "a default port", text);
		if (ok_without)
			FUZZ_CHECK(pt_addr_equal(&without, &with), "'%s' "
			    "depends on a default port it does not use", text);
	}
	/* The type only changes how a service name reads: once is enough. */
	if (addr_parse_checked(text, 7, SOCK_STREAM, &with))
		addr_check_buffers(text, &with);
	free(text);
	return 0;
}
