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
 * plugin.h); the table only names them.
 *
 * Grammar (see conf/porterd.conf and porterd.conf(5) for every option;
 * defaults in brackets; comments are #, // and C-style, anywhere):
 *
 *   plugin-dir = "/usr/lib/porter/plugins"   # [PLUGINDIR]; absolute
 *   user = "nobody"           # default user for services [unset: unchanged]
 *   group = "nogroup"         # default group [the user's primary group]
 *   log-target = stderr|syslog                  # [syslog]
 *   log-level = err|warning|notice|info|debug   # [info]
 *   pid-file = "/run/porterd.pid"             # [none]; absolute
 *   shutdown-timeout = 10     # seconds SIGTERM waits for live connections
 *   include = { "conf.d/?*.conf" }  # glob(3) patterns, relative to this
 *                             # file's directory, read in sorted order; a
 *                             # name without wildcards must exist
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
 *       env = { "LANG=C" }    # exec only, NAME=value
 *       stderr = log          # exec only: log | socket | null [log]
 *       wait = false          # [true for dgram, which must wait; false]
 *       user = "nobody"       # [the global user]
 *       group = "nogroup"     # [the global group, else the user's]
 *       backlog = 128         # [128], at least 1
 *       options = { "SO_KEEPALIVE", "TCP_NODELAY", "SO_RCVBUF=65536" }
 *       isolation = thread    # plugin only: thread | process [thread]
 *       disable = false       # true: checked, then left out of the table
 *   }
 *
 * A drop-in holds service sections only.
 */
#ifndef PORTERD_CONF_H
#define PORTERD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <porter/socket.h>

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
	size_t nargs;
	char **env;		/* NULL-terminated "K=V" (exec only) */
	size_t nenv;
	enum stderr_mode stderr_mode;
	enum isolation isolation;
	bool wait;

	bool set_user;		/* change uid/gid for handlers */
	char *user;
	uid_t uid;
	gid_t gid;		/* group, or the user's primary group */
};

struct config {
	char *path;		/* the main file */
	char *plugin_dir;
	char *pid_file;		/* NULL: none */
	int log_target;		/* enum log_target */
	int log_level;		/* LOG_ERR .. LOG_DEBUG */
	int shutdown_timeout;	/* seconds */
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

/* The service called `name`, or NULL. */
const struct service *config_find(const struct config *cfg, const char *name);

/*
 * True if a and b would open identical listening sockets (same addresses,
 * type, protocol, backlog and socket options), so a reload can hand the
 * open sockets over instead of closing and re-binding.
 */
bool service_same_sockets(const struct service *a, const struct service *b);

#endif
