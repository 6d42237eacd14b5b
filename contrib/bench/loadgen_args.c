/*
 * loadgen_args.c -- the load generator's command line, and the one rule
 * it never bends: the target is loopback (127.0.0.0/8, ::1, v4-mapped
 * 127/8) or an AF_UNIX socket.  Host names other than "localhost" are
 * refused before anything could ask a resolver, and "localhost" is taken
 * to mean 127.0.0.1 without asking one either.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loadgen.h"

#define MAX_CLIENTS	20000
#define MAX_THREADS	64
#define MAX_PAYLOAD	(1 << 20)
#define MAX_SECONDS	60.0

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: loadgen [options] ADDRESS\n"
	    "  ADDRESS       127.x.y.z:PORT, [::1]:PORT, localhost:PORT, "
	    "/path or @abstract\n"
	    "  -c CLIENTS    concurrent client loops (default 64, max %d)\n"
	    "  -s BYTES      payload per op (default 64, max %d)\n"
	    "  -d SECONDS    run length (default 5, max %.0f)\n"
	    "  -n COUNT      begin COUNT ops and stop when they are done "
	    "(or at -d)\n"
	    "  -p            persistent: one connection per client, an op "
	    "is a round trip\n"
	    "  -r            close with RST right after the echo (default: "
	    "half-close,\n"
	    "                wait for the server's EOF, close)\n"
	    "  -L            TLS: a full handshake per connection, "
	    "close_notify at the end\n"
	    "  -S            do not spread IPv4 source addresses over "
	    "127.64.0.0/16\n"
	    "  -t THREADS    epoll loops (default 1, max %d)\n"
	    "  -T SECONDS    time limit of one op before it counts as an "
	    "error (default 5)\n"
	    "  -q            no summary on stderr, only the key=value line "
	    "on stdout\n",
	    MAX_CLIENTS, MAX_PAYLOAD, MAX_SECONDS, MAX_THREADS);
}

/* A number in [min, max], or -1 after saying what is wrong with it. */
static int
parse_num(const char *what, const char *s, double min, double max,
    double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v != v) {
		fprintf(stderr, "loadgen: %s: '%s' is not a number\n", what, s);
		return -1;
	}
	if (v < min || v > max) {
		fprintf(stderr, "loadgen: %s: %s is outside %g..%g\n", what, s,
		    min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int
is_loopback(const pt_addr *a)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;

	switch (a->ss.ss_family) {
	case AF_UNIX:
		return 1;
	case AF_INET:
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	case AF_INET6:
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127;
	}
	return 0;
}

/*
 * Splits "host:port" or "[v6]:port" and builds the address from numbers
 * only.  Returns 0 or -1 after a message.
 */
static int
parse_inet(const char *text, pt_addr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *h = text;
	unsigned char bin[sizeof(struct in6_addr)];
	size_t hlen;
	double port;
	pt_error err;
	int family;

	if (*text == '[') {
		colon = strstr(text, "]:");
		h = text + 1;
		hlen = colon != NULL ? (size_t)(colon - h) : 0;
		colon = colon != NULL ? colon + 1 : NULL;
		family = AF_INET6;
	} else {
		colon = strrchr(text, ':');
		hlen = colon != NULL ? (size_t)(colon - h) : 0;
		family = AF_INET;
	}
	if (colon == NULL || hlen == 0 || hlen >= sizeof(host)) {
		fprintf(stderr, "loadgen: address '%s': want HOST:PORT, "
		    "[V6]:PORT, /path or @name\n", text);
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (family == AF_INET && strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (inet_pton(family, host, bin) != 1) {
		fprintf(stderr, "loadgen: address '%s': '%s' is not a numeric "
		    "%s address (names other than localhost are refused)\n",
		    text, host, family == AF_INET ? "IPv4" : "IPv6");
		return -1;
	}
	if (parse_num("port", colon + 1, 1, 65535, &port) == -1)
		return -1;
	if (pt_addr_inet(out, family, host, (int)port, &err) == -1) {
		fprintf(stderr, "loadgen: address '%s': %s\n", text, err.msg);
		return -1;
	}
	return 0;
}

static int
parse_target(const char *text, pt_addr *out)
{
	char buf[PT_ADDRSTRLEN];
	pt_error err;

	if (text[0] == '/' || text[0] == '@') {
		if (pt_addr_unix(out, text, &err) == -1) {
			fprintf(stderr, "loadgen: address '%s': %s\n", text,
			    err.msg);
			return -1;
		}
	} else if (parse_inet(text, out) == -1) {
		return -1;
	}
	if (!is_loopback(out)) {
		fprintf(stderr, "loadgen: refusing %s: only loopback "
		    "(127.0.0.0/8, ::1) and AF_UNIX targets are allowed\n",
		    pt_addr_format(out, buf, sizeof(buf)));
		return -1;
	}
	return 0;
}

int
options_parse(struct options *opt, int argc, char *argv[])
{
	double v;
	int ch, nospread = 0;

	while ((ch = getopt(argc, argv, "c:s:d:n:prLSt:T:qh")) != -1) {
		switch (ch) {
		case 'c':
			if (parse_num("-c", optarg, 1, MAX_CLIENTS, &v) == -1)
				return -1;
			opt->clients = (unsigned)v;
			break;
		case 's':
			if (parse_num("-s", optarg, 1, MAX_PAYLOAD, &v) == -1)
				return -1;
			opt->size = (size_t)v;
			break;
		case 'd':
			if (parse_num("-d", optarg, 0.01, MAX_SECONDS, &v) == -1)
				return -1;
			opt->seconds = v;
			break;
		case 'n':
			if (parse_num("-n", optarg, 1, 1e15, &v) == -1)
				return -1;
			opt->count = (uint64_t)v;
			break;
		case 'p':
			opt->persistent = 1;
			break;
		case 'r':
			opt->rst = 1;
			break;
		case 'L':
			opt->tls = 1;
			break;
		case 'S':
			nospread = 1;
			break;
		case 't':
			if (parse_num("-t", optarg, 1, MAX_THREADS, &v) == -1)
				return -1;
			opt->threads = (unsigned)v;
			break;
		case 'T':
			if (parse_num("-T", optarg, 0.001, MAX_SECONDS, &v) == -1)
				return -1;
			opt->timeout_ns = (uint64_t)(v * 1e9);
			break;
		case 'q':
			opt->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return -1;
	}
	if (parse_target(argv[optind], &opt->target) == -1)
		return -1;
	if (opt->threads > opt->clients)
		opt->threads = opt->clients;
	/* Only IPv4 has the spare loopback addresses to spread over. */
	opt->spread = !nospread && opt->target.ss.ss_family == AF_INET;
	return 0;
}
