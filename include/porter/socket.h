/*
 * <porter/socket.h> -- libporter, Porter's core socket library.
 *
 * A C transliteration of the classic Python `socket` module ("7.2 socket --
 * Low-level networking interface"): pt_socket() returns a socket object whose
 * functions (pt_sock_*) implement the socket system calls.  As in Python,
 * receive calls allocate their buffer, send calls take a buffer whose length
 * travels with it, addresses are a string for AF_UNIX and a (host, port) pair
 * for AF_INET/AF_INET6, and every error is reported, never printed.
 *
 * Seed name            C name
 * -------------------  --------------------------------------------------
 * error                pt_error (kind, code, message), filled by every call
 * AF_UNIX, AF_INET     AF_UNIX, AF_INET, AF_INET6 (system macros)
 * SOCK_STREAM ...      SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_RDM,
 *                      SOCK_SEQPACKET (system macros)
 * SO_*, SOMAXCONN,     the system macros, reachable through this header;
 * MSG_*, SOL_*,        plus TCP_* and IPV6_*; by name at run time through
 * IPPROTO_*, IPPORT_*, pt_const_find() / pt_const_name()
 * INADDR_*, IP_*
 * gethostbyname        pt_gethostbyname
 * gethostbyname_ex     pt_gethostbyname_ex (+ pt_hostent_free)
 * gethostname          pt_gethostname
 * gethostbyaddr        pt_gethostbyaddr (+ pt_hostent_free)
 * getprotobyname       pt_getprotobyname
 * getservbyname        pt_getservbyname
 * socket               pt_socket
 * fromfd               pt_fromfd (pt_sock_adopt: Python 3's fileno=)
 * ntohl ntohs          pt_ntohl, pt_ntohs
 * htonl htons          pt_htonl, pt_htons
 * SocketType           pt_sock (opaque object type)
 * s.accept()           pt_sock_accept (pt_sock_accept_fd: raw descriptor)
 * s.bind(addr)         pt_sock_bind (host, port) / pt_sock_bind_addr (pt_addr)
 * s.close()            pt_sock_close (idempotent) / pt_sock_free
 * s.connect(addr)      pt_sock_connect / pt_sock_connect_addr
 * s.connect_ex(addr)   pt_sock_connect_ex / pt_sock_connect_ex_addr
 * s.fileno()           pt_sock_fileno
 * s.getpeername()      pt_sock_getpeername
 * s.getsockname()      pt_sock_getsockname
 * s.getsockopt()       pt_sock_getsockopt (int) / pt_sock_getsockopt_buf
 * s.listen(backlog)    pt_sock_listen
 * s.makefile()         pt_sock_makefile
 * s.recv()             pt_sock_recv (allocates) / pt_sock_recv_into
 * s.recvfrom()         pt_sock_recvfrom / pt_sock_recvfrom_into
 * s.send()             pt_sock_send / pt_sock_sendall
 * s.sendto()           pt_sock_sendto / pt_sock_sendto_addr
 * s.setblocking()      pt_sock_setblocking
 * s.settimeout()       pt_sock_settimeout / pt_sock_gettimeout (Python 2.3)
 * s.setsockopt()       pt_sock_setsockopt (int) / pt_sock_setsockopt_buf
 * s.shutdown()         pt_sock_shutdown
 * (beyond the seed)    pt_socketpair, pt_create_connection, pt_getaddrinfo,
 *                      pt_getnameinfo, pt_inet_pton, pt_inet_ntop,
 *                      pt_addr_* (address values, parser, formatter)
 *
 * Conventions, for every function below:
 *  - The last parameter is `pt_error *err`.  It may be NULL ("don't care").
 *    On failure the function fills it and also leaves errno set to the
 *    error's errno-class value (for resolver errors: EINVAL or errno).
 *    On success *err is left untouched.
 *  - Functions returning int or ssize_t return -1 on failure, >= 0 on
 *    success.  Functions returning a pointer return NULL on failure.
 *  - A NULL socket object, result pointer or address fails with PT_ERR_ARG
 *    EINVAL, never a crash.  The accessors, which have no pt_error
 *    (pt_sock_fileno, _family, _type, _proto, _detach), return -1 with
 *    errno EINVAL for NULL; pt_sock_gettimeout returns NAN with errno
 *    EINVAL; pt_sock_close and pt_sock_free accept NULL as a no-op.
 *  - Nothing here prints, logs, exits, or touches signal dispositions.
 *    Sends use MSG_NOSIGNAL, so a closed peer gives EPIPE, never SIGPIPE.
 *  - Every descriptor the library creates is close-on-exec.
 *  - Every wait for a descriptor goes through one internal wait: poll(2),
 *    or the waiter a host (porterd) set for the thread with
 *    <porter/iowait.h>; plugins see no difference.
 *  - Resolution uses getaddrinfo/getnameinfo and the *_r database calls:
 *    everything is re-entrant and there is no global state.  A socket object
 *    is not locked: use each pt_sock from one thread at a time.
 *  - Name lookups block the calling thread, waiter or not: the resolver's
 *    own sockets and files are not waited for through <porter/iowait.h>.
 *    In a cooperative plugin's handler (a fiber on porterd's event loop,
 *    PT_PLUGIN_COOPERATIVE) a lookup therefore stalls every connection of
 *    that loop for as long as it takes (seconds, for a DNS server that
 *    does not answer).  There, pass numeric addresses ("192.0.2.7",
 *    "::1", or a pt_addr) to the calls that take a host -- pt_addr_inet,
 *    pt_addr_parse, pt_sock_bind, pt_sock_connect, pt_sock_connect_ex,
 *    pt_sock_sendto -- and call neither pt_create_connection,
 *    pt_gethostbyname, pt_gethostbyname_ex and pt_gethostbyaddr, nor
 *    pt_getaddrinfo without AI_NUMERICHOST or pt_getnameinfo without
 *    NI_NUMERICHOST.  Resolve names in the plugin's init() instead (it
 *    runs outside the loops), or make the plugin blocking.  Dotted quads,
 *    IPv6 text, "" and "<broadcast>" are converted without the resolver.
 */
#ifndef PORTER_SOCKET_H
#define PORTER_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PT_PRINTF(a, b)
#endif

/* ------------------------------------------------------------------------
 * error: the C form of Python's socket.error (errno, string)
 * ---------------------------------------------------------------------- */

typedef enum pt_error_kind {
	PT_ERR_NONE = 0,	/* no error recorded */
	PT_ERR_OS,		/* a system call failed; code is the errno value */
	PT_ERR_RESOLVER,	/* name resolution failed; code is an EAI_* value */
	PT_ERR_TIMEOUT,		/* a timeout expired; code is ETIMEDOUT */
	PT_ERR_ARG		/* bad argument; code is an errno value (EINVAL,
				 * ENAMETOOLONG, EAFNOSUPPORT, EPROTOTYPE, ...) */
} pt_error_kind;

#define PT_ERROR_MSGLEN 256

/*
 * An error value.  The caller owns it (usually on the stack); the library
 * writes into it and never allocates.  msg names the operation and its
 * subject, then the reason: "connect 127.0.0.1:9: Connection refused".
 */
typedef struct pt_error {
	pt_error_kind kind;
	int code;
	char msg[PT_ERROR_MSGLEN];
} pt_error;

/* Resets *err to "no error".  err may be NULL. */
void pt_error_clear(pt_error *err);

/*
 * Fills *err (if not NULL) with kind, code and a printf-formatted message,
 * truncated to PT_ERROR_MSGLEN - 1 bytes, and sets errno to code (to EINVAL
 * for PT_ERR_RESOLVER).  Returns -1 so callers can `return pt_error_set(...)`.
 * Plugins may use it to report their own failures in the same model.
 */
int pt_error_set(pt_error *err, pt_error_kind kind, int code,
    const char *fmt, ...) PT_PRINTF(4, 5);

/*
 * Like pt_error_set(PT_ERR_OS, code, ...) but appends ": <strerror(code)>"
 * to the formatted message (thread-safe strerror_r).  Returns -1.
 */
int pt_error_os(pt_error *err, int code, const char *fmt, ...) PT_PRINTF(3, 4);

/* A static name for a kind: "os", "resolver", "timeout", "argument". */
const char *pt_error_kind_name(pt_error_kind kind);

/* ------------------------------------------------------------------------
 * Constants by name
 * ---------------------------------------------------------------------- */

/*
 * One row of the name<->value table.  Names are the C macro names
 * ("SO_KEEPALIVE", "SOCK_STREAM", "AF_INET6", "IPPROTO_TCP", ...) plus
 * lower-case aliases the config uses for socket types and families
 * ("stream", "dgram", "seqpacket", "raw", "rdm"; "inet", "inet6", "unix").
 * For socket options (SO_*, TCP_*, IP_*, IPV6_* that are setsockopt names)
 * `level` is the setsockopt level (SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP,
 * IPPROTO_IPV6); for every other row it is -1.
 */
typedef struct pt_const {
	const char *name;
	long value;
	int level;
} pt_const;

/*
 * Looks a constant up by exact name (the lower-case aliases are also
 * matched exactly).  Returns a pointer into the static table, or NULL with
 * *err set (PT_ERR_ARG, ENOENT, "unknown constant 'SO_BOGUS'").
 */
const pt_const *pt_const_find(const char *name, pt_error *err);

/*
 * The reverse lookup: the first row whose name starts with `prefix`
 * ("SO_", "SOCK_", "AF_", ...) and whose value is `value`.  Returns the
 * static row, or NULL (no error value: absence is not a failure).
 */
const pt_const *pt_const_name(const char *prefix, long value);

/* The whole table, for listing; *ret_n receives the row count. */
const pt_const *pt_const_table(size_t *ret_n);

/* ------------------------------------------------------------------------
 * Byte order (module functions ntohl, ntohs, htonl, htons)
 * ---------------------------------------------------------------------- */

uint32_t pt_ntohl(uint32_t x);
uint16_t pt_ntohs(uint16_t x);
uint32_t pt_htonl(uint32_t x);
uint16_t pt_htons(uint16_t x);

/* ------------------------------------------------------------------------
 * Addresses
 * ---------------------------------------------------------------------- */

/*
 * A socket address by value: AF_INET, AF_INET6 or AF_UNIX.  Plain data:
 * copy it, put it on the stack, no free needed.  len is the meaningful
 * length of ss (for abstract AF_UNIX names it is exact, as the kernel needs).
 */
typedef struct pt_addr {
	struct sockaddr_storage ss;
	socklen_t len;
} pt_addr;

/* Enough for any pt_addr_format() result, including the NUL. */
#define PT_ADDRSTRLEN (sizeof(((struct sockaddr_un *)0)->sun_path) + 8)

/*
 * Builds an internet address from Python's (host, port) pair, with the
 * seed's rules: host "" (or NULL) is the wildcard (INADDR_ANY, or :: for
 * AF_INET6);
 * "<broadcast>" is INADDR_BROADCAST (an error for AF_INET6); numeric
 * addresses are converted without a resolver call; anything else is
 * resolved with getaddrinfo and the first result is taken.  family is
 * AF_INET, AF_INET6, or AF_UNSPEC (first result of either; the wildcard
 * and broadcast are IPv4 then); numeric text of the other family fails at
 * once with EAFNOSUPPORT, without asking the resolver.  port must be
 * 0..65535.  Returns 0, or -1 (PT_ERR_ARG for a bad port or family,
 * PT_ERR_RESOLVER for an unknown host).  A name blocks the thread while
 * it is resolved: not in a cooperative handler (see the conventions above).
 */
int pt_addr_inet(pt_addr *out, int family, const char *host, int port,
    pt_error *err);

/*
 * Builds an AF_UNIX address from a path.  A leading '@' makes it a Linux
 * abstract name (the '@' becomes the leading NUL).  A path that does not
 * fit sun_path is an error (PT_ERR_ARG, ENAMETOOLONG, "AF_UNIX path too
 * long").  Returns 0 or -1.
 */
int pt_addr_unix(pt_addr *out, const char *path, pt_error *err);

/*
 * Parses the textual forms the config uses:
 *   "host:port"  "1.2.3.4:7"  "localhost:7"   IPv4 (or a resolved name)
 *   "[v6addr]:port"  "[::1]:7"  "[::]:7"      IPv6
 *   "*:port"  ":port"                         IPv4 wildcard 0.0.0.0
 *   "/path"                                   AF_UNIX path
 *   "@name"                                   AF_UNIX abstract name
 * The port may be numeric or a service name (resolved for `socktype`:
 * SOCK_DGRAM uses udp, anything else tcp).  When the text has no port
 * ("127.0.0.1", "[::1]", "::1", "*") default_port is used; if default_port
 * is < 0 a missing port is an error.  Returns 0 or -1 with *err naming the
 * text: "address '1.2.3.4:x': unknown service 'x'".
 */
int pt_addr_parse(pt_addr *out, const char *text, int default_port,
    int socktype, pt_error *err);

/*
 * Formats an address into buf (at least PT_ADDRSTRLEN bytes is always
 * enough): "127.0.0.1:7", "[::1]:7", "/run/x.sock", "@name", or
 * "unix:unnamed" for an unbound AF_UNIX socket.  Returns buf.  Never fails:
 * an unknown family is formatted as "family:N".
 */
char *pt_addr_format(const pt_addr *addr, char *buf, size_t len);

/* The address family (AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC if empty). */
int pt_addr_family(const pt_addr *addr);

/*
 * The host part as text, the Python pair's first element: "127.0.0.1",
 * "::1" (v4-mapped IPv6 stays "::ffff:1.2.3.4"), or the path for AF_UNIX.
 * Writes into buf; returns buf, or NULL (PT_ERR_ARG, ENOSPC) if it does not
 * fit.  INET6_ADDRSTRLEN is enough for internet addresses.
 */
char *pt_addr_host(const pt_addr *addr, char *buf, size_t len, pt_error *err);

/* The port, host byte order; -1 for AF_UNIX and unknown families. */
int pt_addr_port(const pt_addr *addr);

/* Non-zero if both addresses have the same family, bytes and length. */
int pt_addr_equal(const pt_addr *a, const pt_addr *b);

/*
 * Rewrites an IPv4-mapped IPv6 address (::ffff:a.b.c.d, how a dual-stack
 * AF_INET6 socket reports an IPv4 peer) in place as the plain AF_INET
 * address a.b.c.d with the same port, as systemd does for REMOTE_ADDR.
 * Returns 1 if it rewrote *addr, 0 if it left it as it was (any other
 * address), or -1 with errno EINVAL if addr is NULL.
 */
int pt_addr_unmap(pt_addr *addr);

/* ------------------------------------------------------------------------
 * Module functions: resolution
 * ---------------------------------------------------------------------- */

/*
 * Python's (hostname, aliaslist, ipaddrlist) triple.  Allocated by the
 * library; free with pt_hostent_free().  aliases and addrs are
 * NULL-terminated (possibly empty) arrays of strings.
 */
typedef struct pt_hostent {
	char *name;
	char **aliases;
	char **addrs;
} pt_hostent;

void pt_hostent_free(pt_hostent *h);	/* accepts NULL */

/*
 * gethostbyname: the IPv4 address of `name` as a dotted quad.  A dotted
 * quad is returned unchanged, "" gives "0.0.0.0", "<broadcast>" gives
 * "255.255.255.255".  Returns a new string (caller frees with free()), or
 * NULL (PT_ERR_RESOLVER "gethostbyname nosuch.invalid: Name or service not
 * known").
 */
char *pt_gethostbyname(const char *name, pt_error *err);

/*
 * gethostbyname_ex: canonical name, aliases and every IPv4 address of
 * `name`.  getaddrinfo knows no aliases, so the alias list holds the
 * queried name when it differs from the canonical name, and is otherwise
 * empty.  Returns a new pt_hostent or NULL.
 */
pt_hostent *pt_gethostbyname_ex(const char *name, pt_error *err);

/*
 * gethostbyaddr: the primary name of an IP address (IPv4 or IPv6 text, or
 * a host name, which is resolved first), with its address list.  The
 * reverse lookup uses getnameinfo(NI_NAMEREQD); "no name" is an error.
 * Returns a new pt_hostent or NULL.
 */
pt_hostent *pt_gethostbyaddr(const char *addr, pt_error *err);

/* gethostname: a new string (caller frees), or NULL. */
char *pt_gethostname(pt_error *err);

/*
 * getprotobyname: "tcp" -> 6.  Returns the protocol number, or -1
 * (PT_ERR_ARG, ENOENT, "getprotobyname 'bogus': protocol not found").
 */
int pt_getprotobyname(const char *name, pt_error *err);

/*
 * getservbyname: ("echo", "tcp") -> 7, in host byte order.  proto may be
 * NULL (any).  Returns the port, or -1 (PT_ERR_ARG, ENOENT,
 * "getservbyname nosuchsvc/tcp: service not found").
 */
int pt_getservbyname(const char *name, const char *proto, pt_error *err);

/* One getaddrinfo result; a NULL-terminated list via next. */
typedef struct pt_addrinfo {
	int family;
	int type;
	int proto;
	char *canonname;	/* NULL unless AI_CANONNAME and the first entry */
	pt_addr addr;
	struct pt_addrinfo *next;
} pt_addrinfo;

/*
 * getaddrinfo: host and port may each be NULL (not both); family, type,
 * proto and flags (AI_*) as for getaddrinfo(3).  Returns a new list (caller
 * frees with pt_addrinfo_free()), or NULL with PT_ERR_RESOLVER.
 */
pt_addrinfo *pt_getaddrinfo(const char *host, const char *port, int family,
    int type, int proto, int flags, pt_error *err);
void pt_addrinfo_free(pt_addrinfo *ai);	/* accepts NULL */

/*
 * getnameinfo: host and service text for addr into the caller's buffers
 * (either may be NULL with length 0); flags are NI_*.  Returns 0 or -1.
 */
int pt_getnameinfo(const pt_addr *addr, int flags, char *host, size_t hostlen,
    char *serv, size_t servlen, pt_error *err);

/*
 * inet_pton: text to packed address in dst (4 bytes for AF_INET, 16 for
 * AF_INET6).  Returns 0, or -1 (PT_ERR_ARG EINVAL for unparsable text,
 * EAFNOSUPPORT for another family).
 */
int pt_inet_pton(int family, const char *src, void *dst, pt_error *err);

/*
 * inet_ntop: packed address to text in dst (INET6_ADDRSTRLEN is enough).
 * Returns dst, or NULL (EAFNOSUPPORT, ENOSPC).
 */
char *pt_inet_ntop(int family, const void *src, char *dst, size_t len,
    pt_error *err);

/* ------------------------------------------------------------------------
 * The socket object (SocketType)
 * ---------------------------------------------------------------------- */

/*
 * Opaque.  Holds the descriptor, family, type, proto and the timeout.
 * Created by pt_socket(), pt_fromfd(), pt_socketpair(), pt_sock_accept(),
 * pt_create_connection(); destroyed with pt_sock_free().
 */
typedef struct pt_sock pt_sock;

/* Timeout value meaning "blocking, no timeout" (Python's None). */
#define PT_TIMEOUT_NONE (-1.0)

/*
 * socket(family, type[, proto]): a new socket, close-on-exec, blocking.
 * proto 0 picks the default.  Returns a new object (free with
 * pt_sock_free()), or NULL.
 */
pt_sock *pt_socket(int family, int type, int proto, pt_error *err);

/*
 * fromfd(fd, family, type[, proto]): wraps a *duplicate* of fd (close-on-exec)
 * so the object and the caller's fd close independently; the caller keeps
 * and still owns fd.  family, type and proto given as 0 are read from the
 * descriptor (SO_DOMAIN, SO_TYPE, SO_PROTOCOL).  Non-zero values that
 * contradict the descriptor are an error (PT_ERR_ARG, EPROTOTYPE,
 * "fromfd 5: family AF_INET given, descriptor is AF_INET6"), as is a
 * descriptor that is not a socket (PT_ERR_ARG, ENOTSOCK).  The blocking
 * mode is taken from the descriptor (O_NONBLOCK means timeout 0.0).
 * Returns a new object or NULL.
 *
 * The duplicate shares the file description, where O_NONBLOCK lives, so
 * the object keeps its mode to itself: settimeout()/setblocking() on it
 * never change what fd (or any other holder) sees.  recv and send calls
 * are made non-blocking per call (MSG_DONTWAIT) and wait with poll(); a
 * blocking-mode object over a description someone made non-blocking waits
 * in poll() instead of failing with EAGAIN.  accept() and connect() have
 * no per-call flag; on a shared socket whose description is blocking, in
 * timeout or non-blocking mode: accept waits for a pending connection
 * within the timeout and then accepts it (it can block past the timeout
 * only if another holder of the same listener takes that connection
 * first); a stream connect sets O_NONBLOCK for the one connect(2) call and
 * restores it at once, then waits (nothing else can be in progress on an
 * unconnected stream socket).  pt_sock_dup() and pt_sock_makefile() make
 * shared sockets the same way.  To give the library the descriptor itself,
 * use pt_sock_adopt().
 */
pt_sock *pt_fromfd(int fd, int family, int type, int proto, pt_error *err);

/*
 * socket(family, type, proto, fileno) (Python 3): wraps fd itself, without
 * a duplicate; on success the object owns it (pt_sock_free() closes it),
 * makes it close-on-exec, and, like pt_socket()'s sockets, mirrors its
 * mode in the descriptor's O_NONBLOCK.  For descriptors the caller owns
 * alone, such as a listener passed by systemd.  Checks and the initial
 * mode as for pt_fromfd().  Returns a new object, or NULL with fd left to
 * the caller.
 */
pt_sock *pt_sock_adopt(int fd, int family, int type, int proto,
    pt_error *err);

/*
 * socketpair([family[, type[, proto]]]): a connected pair stored in
 * ret[0] and ret[1] (free each with pt_sock_free()).  family 0 means
 * AF_UNIX, type 0 SOCK_STREAM.  Returns 0 or -1 (ret untouched).
 */
int pt_socketpair(int family, int type, int proto, pt_sock *ret[2],
    pt_error *err);

/*
 * create_connection((host, port)[, timeout[, source_address]]): resolves
 * host with getaddrinfo (SOCK_STREAM), tries each result in order with the
 * timeout (seconds; PT_TIMEOUT_NONE for blocking), binding to `source`
 * first if it is not NULL, and returns the first connected socket (its
 * timeout set to `timeout`).  On failure returns NULL with the last
 * error.
 */
pt_sock *pt_create_connection(const char *host, int port, double timeout,
    const pt_addr *source, pt_error *err);

/*
 * Closes the descriptor.  Idempotent: closing a closed object returns 0;
 * every other call on it fails with EBADF ("recv: socket is closed: Bad
 * file descriptor").  Returns 0, or -1 if close(2) reported an error (the
 * descriptor is released either way).
 */
int pt_sock_close(pt_sock *s, pt_error *err);

/* Closes (if open) and frees the object.  Accepts NULL. */
void pt_sock_free(pt_sock *s);

/*
 * Gives up ownership of the descriptor: returns it (or -1 if closed) and
 * leaves the object closed.  The caller then owns and closes the fd.
 */
int pt_sock_detach(pt_sock *s);

/* fileno(): the descriptor, or -1 once closed.  Ownership stays with s. */
int pt_sock_fileno(const pt_sock *s);

/* The family, type and proto the object was created with (Python 2.5). */
int pt_sock_family(const pt_sock *s);
int pt_sock_type(const pt_sock *s);
int pt_sock_proto(const pt_sock *s);

/*
 * bind(address): for AF_UNIX host is the path ("@name" abstract) and port
 * is ignored; host "" or NULL autobinds, as Python's bind("") does (Linux
 * picks a unique abstract name, "@" and 5 hex digits, that getsockname()
 * reports).  For AF_INET/AF_INET6 it is the (host, port) pair with the
 * rules of pt_addr_inet().  Returns 0 or -1 ("bind 127.0.0.1:7: Address
 * already in use").
 */
int pt_sock_bind(pt_sock *s, const char *host, int port, pt_error *err);
int pt_sock_bind_addr(pt_sock *s, const pt_addr *addr, pt_error *err);

/*
 * listen(backlog): backlog < 1 is raised to 1 (as Python 1.5.2 did);
 * values above SOMAXCONN are left to the kernel to cap.  Returns 0 or -1.
 */
int pt_sock_listen(pt_sock *s, int backlog, pt_error *err);

/*
 * accept(): returns (conn, address).  conn is a new object with the
 * listener's family, type, proto and timeout (free with pt_sock_free());
 * *ret_peer receives the address if ret_peer is not NULL.  In timeout mode
 * waits at most the timeout (PT_ERR_TIMEOUT); in non-blocking mode with no
 * pending connection fails with EAGAIN.  Returns NULL on error.
 */
pt_sock *pt_sock_accept(pt_sock *s, pt_addr *ret_peer, pt_error *err);

/*
 * The allocation-free accept for servers: returns the new descriptor
 * (close-on-exec, plus O_NONBLOCK if nonblock is non-zero; the caller owns
 * and closes it), or -1.  Never waits longer than the socket's timeout.
 */
int pt_sock_accept_fd(pt_sock *s, pt_addr *ret_peer, int nonblock,
    pt_error *err);

/*
 * connect(address): address as for pt_sock_bind().  Obeys the timeout
 * (PT_ERR_TIMEOUT "connect 127.0.0.1:9: timed out").  Returns 0 or -1.
 * The timeout covers the connect, not a host name's lookup, which blocks
 * the thread: a cooperative handler passes a numeric host, or a pt_addr
 * resolved in init() to pt_sock_connect_addr() (see the conventions).
 */
int pt_sock_connect(pt_sock *s, const char *host, int port, pt_error *err);
int pt_sock_connect_addr(pt_sock *s, const pt_addr *addr, pt_error *err);

/*
 * connect_ex(address): returns 0 on success or the errno value of the
 * failed connect (ECONNREFUSED, EINPROGRESS for a non-blocking socket,
 * ETIMEDOUT when the timeout expires), and fills *err for it too.  Address
 * and resolution problems still fail: they return -1.
 */
int pt_sock_connect_ex(pt_sock *s, const char *host, int port, pt_error *err);
int pt_sock_connect_ex_addr(pt_sock *s, const pt_addr *addr, pt_error *err);

/* getpeername() / getsockname(): fill *ret.  Return 0 or -1 (ENOTCONN). */
int pt_sock_getpeername(pt_sock *s, pt_addr *ret, pt_error *err);
int pt_sock_getsockname(pt_sock *s, pt_addr *ret, pt_error *err);

/*
 * getsockopt(level, opt): the integer form; *ret_value receives it.
 * Returns 0 or -1.
 */
int pt_sock_getsockopt(pt_sock *s, int level, int opt, int *ret_value,
    pt_error *err);

/*
 * getsockopt(level, opt, buflen): the raw form.  *inout_len is the buffer
 * size on entry (1..1024, else PT_ERR_ARG "getsockopt buflen out of range")
 * and the length the kernel returned on exit.  Returns 0 or -1.
 */
int pt_sock_getsockopt_buf(pt_sock *s, int level, int opt, void *buf,
    size_t *inout_len, pt_error *err);

/* setsockopt(level, opt, value): integer and raw-buffer forms. 0 or -1. */
int pt_sock_setsockopt(pt_sock *s, int level, int opt, int value,
    pt_error *err);
int pt_sock_setsockopt_buf(pt_sock *s, int level, int opt, const void *buf,
    size_t len, pt_error *err);

/*
 * recv(bufsize[, flags]): receives at most bufsize bytes into a new buffer
 * stored in *ret_buf (always NUL-terminated after the data, so text can be
 * used as a string; caller frees with free(), also after EOF).  Returns the
 * byte count, 0 at EOF (end of stream: distinct from any error), or -1 on
 * error (*ret_buf is then NULL).  Non-blocking with no data: -1 with
 * PT_ERR_OS EAGAIN.  Timeout expired: -1 with PT_ERR_TIMEOUT.
 */
ssize_t pt_sock_recv(pt_sock *s, size_t bufsize, int flags, char **ret_buf,
    pt_error *err);

/* recv_into(buffer[, nbytes[, flags]]): into the caller's buffer. */
ssize_t pt_sock_recv_into(pt_sock *s, void *buf, size_t len, int flags,
    pt_error *err);

/*
 * recvfrom(bufsize[, flags]): like pt_sock_recv(), plus the sender's
 * address in *ret_from (if not NULL).
 */
ssize_t pt_sock_recvfrom(pt_sock *s, size_t bufsize, int flags,
    char **ret_buf, pt_addr *ret_from, pt_error *err);

/*
 * recvfrom_into(buffer[, nbytes[, flags]]) (Python 2.5): recvfrom into the
 * caller's buffer, which stays the caller's; nothing is allocated, so a
 * datagram server can reuse one buffer.  Returns the byte count (a longer
 * datagram is cut to len; MSG_TRUNC returns its full length, as
 * recvfrom(2) does), 0 at EOF, or -1.  *ret_from (if not NULL) receives
 * the sender; a connected stream socket reports len 0, AF_UNSPEC.
 */
ssize_t pt_sock_recvfrom_into(pt_sock *s, void *buf, size_t len, int flags,
    pt_addr *ret_from, pt_error *err);

/*
 * send(string[, flags]): sends what the kernel takes now, which may be
 * less than len.  Returns the count, or -1 (EPIPE for a closed peer; never
 * SIGPIPE).
 */
ssize_t pt_sock_send(pt_sock *s, const void *buf, size_t len, int flags,
    pt_error *err);

/*
 * sendall(string[, flags]): sends everything, retrying partial sends and
 * EINTR, waiting (within the timeout) when the socket is non-blocking.
 * Returns 0, or -1; in both cases *ret_sent (if not NULL) receives how
 * many bytes went out, which Python could not tell.
 */
int pt_sock_sendall(pt_sock *s, const void *buf, size_t len, int flags,
    size_t *ret_sent, pt_error *err);

/*
 * sendto(string[, flags], address): address as for pt_sock_bind().
 * Returns the count or -1.
 */
ssize_t pt_sock_sendto(pt_sock *s, const void *buf, size_t len, int flags,
    const char *host, int port, pt_error *err);
ssize_t pt_sock_sendto_addr(pt_sock *s, const void *buf, size_t len,
    int flags, const pt_addr *addr, pt_error *err);

/*
 * setblocking(flag): 0 = non-blocking (timeout 0.0), otherwise blocking
 * (timeout None).  Returns 0 or -1 (fcntl failures are reported, not
 * ignored as Python 1.5.2 did).
 */
int pt_sock_setblocking(pt_sock *s, int flag, pt_error *err);

/*
 * settimeout(t) (Python 2.3): t < 0 (PT_TIMEOUT_NONE) = blocking, 0.0 =
 * non-blocking, > 0 = every blocking operation (accept, connect, recv*,
 * send*) waits at most t seconds, then fails with PT_ERR_TIMEOUT.  On a
 * socket that owns its descriptor (pt_socket, pt_socketpair, accept,
 * pt_sock_adopt) the descriptor is non-blocking in timeout and
 * non-blocking mode, as in Python; a shared one (pt_fromfd, pt_sock_dup)
 * leaves O_NONBLOCK alone (see pt_fromfd()).  Returns 0 or -1.
 */
int pt_sock_settimeout(pt_sock *s, double seconds, pt_error *err);

/* gettimeout(): seconds, 0.0, or PT_TIMEOUT_NONE. */
double pt_sock_gettimeout(const pt_sock *s);

/* shutdown(how): SHUT_RD (0), SHUT_WR (1), SHUT_RDWR (2).  0 or -1. */
int pt_sock_shutdown(pt_sock *s, int how, pt_error *err);

/*
 * makefile([mode[, bufsize]]): a stdio stream over a duplicate of the
 * descriptor (close-on-exec), so the FILE and the socket close
 * independently.  mode is "r" (read), "w" (write), or "rw", "r+" or "w+"
 * (both directions; nothing is truncated), each optionally with "b" (ignored,
 * as POSIX does); NULL means "r".  Any other mode fails with PT_ERR_ARG
 * EINVAL ("makefile: bad mode 'a'").  bufsize < 0 keeps stdio's default,
 * 0 unbuffered, 1 line buffered, > 1 that size.  The caller closes the
 * stream with fclose(), which closes the duplicate.
 * The stream (a fopencookie(3) FILE) reads and writes with this library's
 * own calls on the duplicate, so writes use MSG_NOSIGNAL (a closed peer is
 * a stream error with errno EPIPE, never SIGPIPE) and both obey the timeout
 * the socket has at the time of this call: a read or write that times out
 * is a stream error (ferror()) with errno ETIMEDOUT, and in non-blocking
 * mode one that would wait fails with EAGAIN.  Later settimeout() calls on
 * s do not change the stream.  fileno() of the stream is -1 (it is not a
 * descriptor stream): poll the socket, not the FILE.  Returns a new stream,
 * or NULL on error.
 */
FILE *pt_sock_makefile(pt_sock *s, const char *mode, int bufsize,
    pt_error *err);

/*
 * dup(): a new object over a duplicate descriptor, same family, type,
 * proto and timeout.  Free with pt_sock_free().  NULL on error.  Both
 * objects then share one file description, and each keeps its mode to
 * itself, as described at pt_fromfd().
 */
pt_sock *pt_sock_dup(pt_sock *s, pt_error *err);

#ifdef __cplusplus
}
#endif

#endif /* PORTER_SOCKET_H */
