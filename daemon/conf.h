/*
 * conf.h -- porterd's configuration: the schema's result as plain data.
 *
 * (The file is conf.h, not config.h, so it cannot be mistaken for
 * autoconf's config.h; the functions keep the config_ prefix.)
 *
 * config_load() parses porterd.conf and its drop-ins with libconfuse,
 * validates everything that can be checked without opening sockets
 * (addresses, ports, users, groups, socket options, handler choice) and
 * returns an immutable table.  A reload builds a new table and swaps it in;
 * nothing here is changed after load.  Plugins are not loaded here (see
 * loader.h); the table only names them.
 *
 * Grammar (see conf/porterd.conf and porterd.conf(5) for every option;
 * defaults in brackets; comments are #, // and C-style, anywhere):
 *
 *   plugin-dir = "/usr/lib/porter/plugins"   # [PLUGINDIR]; relative to
 *                             # the start directory (config_start_dir())
 *   user = "nobody"           # default user for services [unset: unchanged]
 *   group = "nogroup"         # default group [the user's primary group]
 *   log-target = stderr|syslog                  # [syslog]
 *   log-level = err|warning|notice|info|debug   # [info]
 *   log-peer = full|truncate|none  # client addresses in the log [full]
 *   control-socket = "/run/porter/control"  # porterctl's; "" for none
 *   control-group = "adm"     # may read through it [porterd's group]
 *   pid-file = "/run/porterd.pid"             # [none]; as plugin-dir
 *   shutdown-timeout = 10     # seconds SIGTERM waits for live connections
 *   threads = 0               # event loops [0: one per CPU]; fixed for
 *                             # porterd's life (a reload may not change it)
 *   fiber-stall = 1           # seconds (fractions allowed, 0.01-3600) a
 *                             # cooperative handler may run without
 *                             # yielding before the watchdog logs it
 *   strict-start = no         # yes: a bind failure fails the start/reload
 *                             # [no: retried with back-off, bindretry.h]
 *   run-as = "porter"         # user (and its primary group) porterd becomes
 *                             # after binding [unset]; no service's user
 *                             # may be it, and exec/process services need
 *                             # a user then; porterd keeps
 *                             # only the capabilities to start handlers
 *                             # as their own users (privs.h)
 *   max-connections = 256     # the limits (struct limits_spec): defaults
 *                             # for every service, which may override each
 *   include = { "conf.d/?*.conf" }  # glob(3) patterns, relative to this
 *                             # file's directory, read in sorted order; a
 *                             # name without wildcards must exist
 *   inetd-conf = { "/etc/inetd.conf", "/etc/inetd.d/?*" }  # classic
 *                             # inetd.conf files, patterns as include's
 *                             # (conf_inetd.c) [none]
 *   hosts-allow = "/etc/hosts.allow"   # for tcp-wrappers services (wrap.h)
 *   hosts-deny = "/etc/hosts.deny"     # as pid-file
 *
 *   service echo {            # the name is unique across all files
 *       listen = { "127.0.0.1:7007", "[::1]", "/run/echo.sock", "@echo",
 *                  "fd:echo" }   # ["*": every IPv4 address]; "fd:NAME" is
 *                             # a socket systemd passes (needs no port)
 *       port = 7007           # for listen entries without one; default
 *                             # getservbyname(NAME, protocol)
 *       type = stream         # stream | dgram | seqpacket [stream]
 *       protocol = tcp        # for internet entries [tcp for stream, udp
 *                             # for dgram, sctp for seqpacket]
 *       plugin = "echo"       # exactly one of plugin / exec
 *       exec = "/bin/cat"     # absolute, executable
 *       args = { "-u" }
 *       argv0 = "in.fingerd"  # exec only: argv[0] [the exec path]
 *       env = { "LANG=C" }    # exec only, NAME=value
 *       stderr = log          # exec only: log | socket | null [log]
 *       wait = false          # [true for dgram, which must wait; false]
 *       user = "nobody"       # [the global user]
 *       group = "nogroup"     # [the global group, else the user's]
 *       backlog = 128         # [128], at least 1
 *       options = { "SO_KEEPALIVE", "TCP_NODELAY", "SO_RCVBUF=65536" }
 *       isolation = thread    # plugin only: thread | process [thread]
 *       pool-min = 0          # isolation = process: pooled workers kept
 *       pool-max = 0          # ready [0], at most [0: as many as the
 *       reuse = 0             # connections need], connections per worker
 *       pool-idle-timeout = 60  # [0: unlimited], idle seconds [60]
 *       disable = false       # true: checked, then left out of the table
 *       rate = 10             # any limit, for this service alone
 *       allow = { "127.0.0.0/8", "::1" }   # struct acl_rule; numeric only
 *       deny = { "10.0.0.0/8" }
 *       allow-uid = { "root" }   # AF_UNIX peers: the uid is listed or
 *       allow-gid = { "adm" }    # the gid is; names or numbers
 *       socket-mode = "0660"     # UNIX socket files only: mode, owner and
 *       socket-owner = "root"    # group set after bind, before listen
 *       socket-group = "adm"     # [as bind leaves them]
 *       tcp-wrappers = false     # hosts.allow/deny as tcpd [false]
 *       banner = "/etc/banner"   # sent on each connection (stream,
 *       banner-success = "..."   # no wait), then -success when admitted
 *       banner-fail = "..."      # or -fail when refused; 4 KiB at most
 *   }
 *
 * A drop-in holds service sections only.
 */
#ifndef PORTERD_CONF_H
#define PORTERD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <porter/socket.h>

/* porterctl's socket when the config names none. */
#define CONTROL_SOCKET_DEFAULT	"/run/porter/control"

enum handler_kind {
	HANDLER_PLUGIN,
	HANDLER_EXEC
};

enum isolation {
	ISOLATION_THREAD,
	ISOLATION_PROCESS
};

enum stderr_mode {
	STDERR_LOG,		/* the child's stderr goes to porterd's log */
	STDERR_SOCKET,		/* fd 2 is the connection, like 0 and 1 */
	STDERR_NULL		/* /dev/null */
};

/* One `listen` entry. */
struct listen_spec {
	char *text;		/* as written, for messages */
	pt_addr addr;		/* resolved address (unset when fd_name) */
	char *fd_name;		/* "fd:NAME": a socket systemd passes, or NULL */
};

/* One `options` entry, resolved through the library's constant table. */
struct sockopt_spec {
	char *text;		/* "TCP_NODELAY=1", for messages */
	int level;		/* SOL_SOCKET, IPPROTO_TCP, ... */
	int name;		/* SO_KEEPALIVE, TCP_NODELAY, ... */
	int value;		/* 1 when no "=value" was given */
};

/*
 * Per-service limits (issue "holding up under load").  Every field has a
 * global default of the same name in the main file; 0 means unlimited.
 *
 *   max-connections = 256     concurrent handlers; when reached, porterd
 *                             stops accepting (the kernel backlog holds
 *                             the rest) unless reject-message is set, in
 *                             which case it accepts, writes the message
 *                             and closes.
 *   reject-message = "busy\r\n"   at most 1024 bytes; "" accepts and
 *                             closes at once
 *   max-per-source = 32       concurrent handlers per source address
 *                             [32, so one address cannot take every slot]:
 *                             IPv4 /32, IPv6 grouped by ipv6-prefix,
 *                             v4-mapped IPv6 counted as IPv4
 *   ipv6-prefix = 64
 *   rate = 100.0              new connections per second (token bucket)
 *   burst = 50                bucket size; 0 (or unset here and
 *                             globally): max(1, ceil(rate)) of the scope's
 *                             own rate (so the field is always >= 1)
 *   idle-timeout = 300        seconds without traffic before a connection
 *                             is cut (TCP: the kernel's last send/receive
 *                             times; other sockets: since accept)
 *   max-lifetime = 3600       seconds a connection may last
 */
struct limits_spec {
	unsigned max_conns;
	unsigned max_per_source;
	unsigned ipv6_prefix;		/* 0..128, default 64 */
	double rate;			/* tokens per second; 0: unlimited */
	unsigned burst;
	unsigned idle_timeout;		/* seconds */
	unsigned max_lifetime;		/* seconds */
	char *reject_message;		/* NULL: leave connections queued */
	size_t reject_len;
};

/*
 * One access rule: `allow = { "127.0.0.0/8", "::1" }` and
 * `deny = { "10.0.0.0/8" }`.  A peer is checked against every rule; the
 * longest matching prefix decides (deny wins a tie).  When any allow rule
 * exists, a peer matching no rule is denied; with only deny rules it is
 * allowed.  Prefixes are canonical: v4-mapped IPv6 ("::ffff:1.2.3.4/120")
 * is stored as IPv4 ("1.2.3.4/24"), and host bits are cleared.
 */
struct acl_rule {
	bool allow;
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];		/* network byte order, host bits zero */
	unsigned prefix;		/* 0..32 or 0..128 */
	char *text;			/* as written, for logs */
};

struct sandbox;
struct wrap_rules;
struct edge_spec;

struct service {
	char *name;
	char *file;		/* where the section is, for messages */
	int line;

	int socktype;		/* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	int protocol;		/* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP:
				 * for internet entries; AF_UNIX ones use 0 */
	char *protocol_name;	/* "tcp", "udp", "sctp" */
	int port;		/* default port for listen entries, or -1 */
	struct listen_spec *listens;
	size_t nlistens;
	int backlog;
	struct sockopt_spec *opts;
	size_t nopts;

	enum handler_kind kind;
	char *handler;		/* plugin name or path; exec program path */
	char **args;		/* NULL-terminated */
	char *argv0;		/* exec: argv[0] when not the path, or NULL */
	size_t nargs;
	char **env;		/* NULL-terminated "K=V" (exec only) */
	size_t nenv;
	enum stderr_mode stderr_mode;
	enum isolation isolation;
	bool wait;
	/* isolation = process, not wait: the worker pool (pool.h). */
	unsigned pool_min;	/* workers kept ready [0] */
	unsigned pool_max;	/* workers at most [0: as connections need] */
	unsigned reuse;		/* connections per worker [0: unlimited] */
	unsigned pool_idle;	/* seconds an idle worker above pool_min
				 * lives [60] */

	bool set_user;		/* change uid/gid for handlers */
	char *user;
	uid_t uid;
	gid_t gid;		/* group, or the user's primary group */

	struct limits_spec limits;
	struct acl_rule *acl;	/* allow rules, then deny rules, each in
				 * file order ("*" is two rules) */
	size_t nacl;
	int socket_mode;	/* socket-mode for UNIX socket files, or -1 */
	uid_t socket_uid;	/* socket-owner, or (uid_t)-1: unchanged */
	gid_t socket_gid;	/* socket-group, or (gid_t)-1: unchanged */
	uid_t *allow_uids;	/* AF_UNIX peers (SO_PEERCRED); NULL: any */
	size_t nallow_uids;
	gid_t *allow_gids;
	size_t nallow_gids;

	struct sandbox *sandbox;	/* sandbox.h; NULL: none asked for */

	bool tcp_wrappers;	/* tcp-wrappers: hosts.allow/deny apply */
	char *wrap_name;	/* the daemon name they are read for */
	struct wrap_rules *wrap;	/* wrap.h: the rules that concern it */
	char *banner;		/* banner file contents, or NULL (banner.h) */
	size_t banner_len;
	char *banner_success;
	size_t banner_success_len;
	char *banner_fail;
	size_t banner_fail_len;
	struct edge_spec *edge;		/* conf_edge.h: PROXY and TLS; NULL:
					 * neither */
};

#define CONF_THREADS_MAX 256
/* fiber-stall's range, in seconds. */
#define CONF_FIBER_STALL_MIN 0.01
#define CONF_FIBER_STALL_MAX 3600

struct config {
	char *path;		/* the main file */
	char *plugin_dir;
	char *pid_file;		/* NULL: none */
	int log_target;		/* enum log_target */
	int log_level;		/* LOG_ERR .. LOG_DEBUG */
	int log_peer;		/* enum logpeer_mode: log-peer */
	int shutdown_timeout;	/* seconds */
	unsigned threads;	/* event loops; 0: one per CPU */
	unsigned fiber_stall_ms;	/* fiber-stall: the watchdog reports a
					 * fiber running longer unyielding */
	bool strict_start;	/* a listener that cannot be bound fails the
				 * start (or reload) instead of being retried */
	struct limits_spec limits;	/* defaults for services' limits */
	char *run_as;		/* run-as: user porterd switches to after
				 * binding (NULL: stay); services then run as
				 * this user */
	uid_t run_uid;
	gid_t run_gid;
	char *hosts_allow;	/* hosts-allow, absolute */
	char *hosts_deny;
	char *control_socket;	/* control-socket; NULL: none */
	bool control_socket_set;	/* given in the file (not the default) */
	gid_t control_gid;	/* control-group, or (gid_t)-1 */
	char **included;	/* drop-in files read, in order, NULL-terminated */
	char **skipped;		/* files in an include pattern's directory that
				 * the pattern does not match (dotfiles, "x~",
				 * ...), NULL-terminated, for the log */
	struct service **services;
	size_t nservices;
};

/*
 * Parses and validates `path` (and its includes).  Returns a new config
 * (free with config_free()), or NULL with a message in errbuf of the form
 * "file:line: what is wrong" (no trailing newline).  Parses on the calling
 * thread only: libconfuse is not thread-safe.
 */
struct config *config_load(const char *path, char *errbuf, size_t errlen);

void config_free(struct config *cfg);	/* accepts NULL */

/*
 * Sets the directory that relative pid-file and plugin-dir values are
 * taken from: the one porterd started in, which main() records before it
 * detaches (and chdirs to /), so that a reload resolves them the same.
 * Copied.  Until it is called, a load uses its own working directory.
 */
void config_start_dir(const char *dir);

/* The service called `name`, or NULL. */
const struct service *config_find(const struct config *cfg, const char *name);

/*
 * True if a and b would open identical listening sockets (same addresses,
 * type, protocol, backlog and socket options), so a reload can hand the
 * open sockets over instead of closing and re-binding.
 */
bool service_same_sockets(const struct service *a, const struct service *b);

#endif
