/*
 * <porter/plugin.h> -- the Porter plugin ABI.
 *
 * A plugin is a shared object that porterd loads with dlopen() from its
 * plugin directory and names in a service (`plugin = "echo"` loads
 * <plugindir>/echo.so).  It exports exactly one symbol, the descriptor
 * `pt_plugin_descriptor`; nothing else is resolved by name.  Build it
 * with -fvisibility=hidden and link it against libporter only
 * (`pkg-config --cflags --libs porter`), never against porterd's own
 * symbols.  Write the descriptor with PT_PLUGIN(), which
 * fills the header (magic, ABI version, size) and takes the rest as
 * designated initialisers:
 *
 *   PT_PLUGIN(.name = "echo", .description = "RFC 862 echo",
 *       .init = echo_init, .handle = echo_handle,
 *       .flags = PT_PLUGIN_COOPERATIVE);
 *
 * Fields left out are zero (NULL init and fini, no flags).
 *
 * Lifecycle, per service that names the plugin:
 *
 *   load     porterd dlopen()s the file (RTLD_NOW|RTLD_LOCAL) once, however
 *            many services use it, and checks the descriptor: magic, ABI
 *            major equal to the host's, ABI minor not newer than the
 *            host's, struct size at least the host's minimum, unique name,
 *            no flag the host does not know.  A refused plugin is named in one log line with the reason.
 *   init     init(ctx, &state, err) is called once per service, from the
 *            main thread, when the config is loaded (at start, on reload,
 *            and by `porterd --check`).  ctx->argv holds the service's
 *            `args`; ctx->peer and ctx->local are NULL.  Return 0 to accept
 *            (store per-service state in *ret_state), or -1 after filling
 *            err (pt_error_set) to refuse the configuration: at start the
 *            daemon exits with the message, on reload it keeps the old
 *            config.  init may be NULL.
 *   handle   handle(fd, ctx, stats) is called for every connection (stream
 *            services) or every time the socket is readable (datagram and
 *            `wait = yes` services, where fd is the bound socket itself).
 *            It runs on a worker thread (isolation = thread, the default)
 *            or, for a PT_PLUGIN_COOPERATIVE plugin, as a fiber on an event
 *            loop thread, concurrently with other calls for the same
 *            service; or in a forked child running as the service's user
 *            (isolation = process).  fd is borrowed: the plugin wraps it
 *            with pt_fromfd(fd, 0, 0, 0, &err), which duplicates it, and
 *            frees its wrapper before returning; porterd closes its own
 *            copy after handle returns.  The descriptor is blocking (as
 *            libporter's calls see it, in a fiber too).  Return 0 on
 *            success, -1 on failure (log the reason with ctx->log).  Fill
 *            *stats (bytes in and out) if you can; it starts zeroed.
 *   fini     fini(state) is called once per service when the service is
 *            removed by a reload or the daemon exits, after every handle
 *            call for that service has returned.  fini may be NULL.
 *
 * Children: porterd reaps every child process of its own, so a handle()
 * running in-process must not fork and wait for children itself (its
 * waitpid() would find them gone); use isolation = process for that.
 *
 * Threads: with isolation = thread, handle must be thread-safe with
 * respect to its own state; ctx and everything it points to are read-only
 * and valid until handle returns.  In-process plugins are trusted code: a
 * crash takes porterd down.  Use isolation = process for code you do not
 * trust.
 *
 * Ownership summary: the host owns ctx, ctx->argv, ctx->peer, ctx->local
 * and fd.  The plugin owns its state (allocated in init, freed in fini) and
 * anything it creates from fd (its pt_fromfd() wrapper).
 */
#ifndef PORTER_PLUGIN_H
#define PORTER_PLUGIN_H

#include <stdint.h>
#include <syslog.h>

#include <porter/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "PTPL" in ASCII: the first field of every descriptor. */
#define PT_PLUGIN_MAGIC		0x5054504cu
#define PT_PLUGIN_ABI_MAJOR	1
#define PT_PLUGIN_ABI_MINOR	2
/* The one symbol the host looks up. */
#define PT_PLUGIN_SYMBOL	"pt_plugin_descriptor"

/* Byte counts a handler reports for the connection log line. */
typedef struct pt_plugin_stats {
	uint64_t bytes_in;
	uint64_t bytes_out;
} pt_plugin_stats;

/*
 * The read-only context of one init or handle call.  The host fills it;
 * fields are only ever appended, and `size` tells which exist.
 */
typedef struct pt_plugin_ctx {
	uint32_t size;			/* sizeof(pt_plugin_ctx) in the host */
	const char *service;		/* the service's name */
	int socktype;			/* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	int wait;			/* non-zero: fd is the bound socket */
	int argc;			/* number of args */
	const char *const *argv;	/* the service's args, argv[argc] == NULL */
	const pt_addr *peer;		/* peer address; NULL in init, for
					 * wait services and datagram sockets */
	const pt_addr *local;		/* local address; NULL in init */
	void *state;			/* what init stored; NULL in init */
	/*
	 * Logs one line, prefixed with the service (and peer), at a syslog
	 * priority (LOG_ERR .. LOG_DEBUG).  Thread-safe.
	 */
	void (*log)(const struct pt_plugin_ctx *ctx, int priority,
	    const char *fmt, ...) PT_PRINTF(3, 4);
	void *host;			/* host-private; do not touch */
	/*
	 * ABI 1.1.  Datagram services: ask before answering the sender of a
	 * request, with the address the request came from.  Returns 1 to
	 * answer, 0 to drop the reply without a word: porterd has counted
	 * the refusal and logged it, once per episode, not per datagram.
	 * It refuses broadcast and multicast sources, source ports below
	 * 1024, the ports of porterd's own datagram services, and sources
	 * past their reply rate, so that a forged source cannot start a
	 * reply loop or aim the replies at a victim (porter-plugin(7),
	 * "DATAGRAM REPLIES").  Thread-safe; works in isolated children.
	 */
	int (*may_reply)(const struct pt_plugin_ctx *ctx, const pt_addr *to);
	/*
	 * ABI 1.2.  What porterd learned at the connection's edge, as
	 * "NAME=value" strings, NULL-terminated, or NULL when there is
	 * nothing: with TLS termination TLS_VERSION, TLS_CIPHER, TLS_SNI,
	 * TLS_ALPN, SSL_CLIENT_S_DN, SSL_CLIENT_VERIFY; with the PROXY
	 * protocol the balancer's TLVs as PROXY_* (porterd.conf(5)).  The
	 * same strings an exec'd program gets in its environment.  Borrowed,
	 * valid during handle().  Read it only when ctx->size covers it.
	 */
	const char *const *vars;
} pt_plugin_ctx;

typedef int (*pt_plugin_init_fn)(const pt_plugin_ctx *ctx, void **ret_state,
    pt_error *err);
typedef int (*pt_plugin_handle_fn)(int fd, const pt_plugin_ctx *ctx,
    pt_plugin_stats *stats);
typedef void (*pt_plugin_fini_fn)(void *state);

/* The descriptor.  Only append fields; bump the minor when you do. */
typedef struct pt_plugin {
	uint32_t magic;			/* PT_PLUGIN_MAGIC */
	uint16_t abi_major;		/* PT_PLUGIN_ABI_MAJOR at build time */
	uint16_t abi_minor;		/* PT_PLUGIN_ABI_MINOR at build time */
	uint32_t size;			/* sizeof(pt_plugin) at build time */
	const char *name;		/* unique plugin name, e.g. "echo" */
	const char *description;	/* one line for logs and --check */
	pt_plugin_init_fn init;		/* may be NULL */
	pt_plugin_handle_fn handle;	/* required */
	pt_plugin_fini_fn fini;		/* may be NULL */
	/* ABI 1.1 */
	uint32_t flags;			/* PT_PLUGIN_* flags below, or 0 */
} pt_plugin;

/*
 * Descriptor flags (ABI 1.1).  The host reads `flags` only when the
 * descriptor's size covers it: a 1.0 plugin has none.  A bit the host does
 * not know is refused at load, since it may ask for a promise the host
 * cannot keep.
 *
 * PT_PLUGIN_COOPERATIVE: the plugin promises that handle() does all its
 * socket I/O through libporter's calls (pt_sock_accept, connect, recv*,
 * send*, sendall, makefile streams) and blocks nowhere else (no sleep(),
 * no blocking read() on another descriptor, no lock held across a call
 * that may wait, no host name lookup: give libporter numeric addresses, or
 * resolve in init(); see <porter/socket.h>).  The host may then run
 * handle() as a fiber on an event loop thread: each libporter call that
 * would block parks the fiber and lets the loop run others, with timeouts
 * kept exactly as in blocking mode.  The code stays blocking-style and
 * unchanged.  A plugin without the flag gets a thread of its own for every
 * handle() call.  Breaking the promise stalls every connection of that
 * loop; porterd notices a fiber that runs longer than its `fiber-stall`
 * time without yielding (1 s by default, porterd.conf(5)) and logs its
 * service once per stall.  See porter-plugin(7), "EXECUTION MODES".
 */
#define PT_PLUGIN_COOPERATIVE	0x00000001u
/* Every flag this header defines. */
#define PT_PLUGIN_FLAGS_KNOWN	PT_PLUGIN_COOPERATIVE

#if defined(__GNUC__)
#define PT_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define PT_PLUGIN_EXPORT
#endif

/*
 * The header of a descriptor: magic, the ABI version this file was
 * compiled with, and the descriptor's size (cf. nginx's NGX_MODULE_V1).
 * PT_PLUGIN() puts it first; use it yourself only to write a descriptor
 * by hand.
 */
#define PT_PLUGIN_HEADER						\
	.magic = PT_PLUGIN_MAGIC,					\
	.abi_major = PT_PLUGIN_ABI_MAJOR,				\
	.abi_minor = PT_PLUGIN_ABI_MINOR,				\
	.size = (uint32_t)sizeof(pt_plugin)

/*
 * Defines the plugin's descriptor, the one exported symbol.  Use it
 * exactly once per plugin, at file scope, with designated initialisers
 * for the fields after the header (.name and .handle are required):
 *
 *   PT_PLUGIN(.name = "echo", .description = "RFC 862 echo",
 *       .init = echo_init, .handle = echo_handle,
 *       .flags = PT_PLUGIN_COOPERATIVE);
 *
 * Setting a header field again is a mistake the compiler reports with
 * -Wextra (-Woverride-init).  From C++ (C++20 designated initialisers)
 * give the fields in declaration order.
 */
#define PT_PLUGIN(...)							\
	PT_PLUGIN_EXPORT const pt_plugin pt_plugin_descriptor = {	\
		PT_PLUGIN_HEADER, __VA_ARGS__				\
	}

/*
 * ABI 1.0's positional form, kept so that 1.0 sources still build:
 *   PT_PLUGIN_DEFINE("echo", "RFC 862 echo", NULL, echo_handle, NULL);
 * It writes a descriptor of the current ABI with no flags.  New code uses
 * PT_PLUGIN(), which names its fields and can set flags.
 */
#define PT_PLUGIN_DEFINE(name_, description_, init_, handle_, fini_)	\
	PT_PLUGIN(.name = (name_), .description = (description_),	\
	    .init = (init_), .handle = (handle_), .fini = (fini_))

/*
 * ABI bump log (newest last).  Major: incompatible change, old plugins are
 * refused.  Minor: fields appended, old plugins still load.
 *
 * 2026-11-23  1.0  First ABI: descriptor {magic, major, minor, size, name,
 *                  description, init, handle, fini}; context {size,
 *                  service, socktype, wait, argc, argv, peer, local, state,
 *                  log, host}; stats {bytes_in, bytes_out}.
 * 2026-12-05  1.1  Descriptor gains `flags` (PT_PLUGIN_COOPERATIVE), read
 *                  only when `size` covers it; PT_PLUGIN() with designated
 *                  initialisers replaces the positional PT_PLUGIN_DEFINE()
 *                  (kept for 1.0 sources).  Context gains may_reply, the
 *                  host's reflection guard for datagram replies.  1.0
 *                  plugins load unchanged.
 * 2026-12-05  1.2  Context gains `vars`: the TLS session facts and PROXY
 *                  TLVs of the connection ("NAME=value", NULL-terminated).
 *                  Descriptor unchanged; 1.0 and 1.1 plugins load
 *                  unchanged.
 */

#ifdef __cplusplus
}
#endif

#endif /* PORTER_PLUGIN_H */
