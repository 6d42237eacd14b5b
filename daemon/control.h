/*
 * control.h -- porterd's control socket: porterctl's server side.
 *
 * A UNIX stream socket (control-socket, mode 0660, group control-group)
 * speaking line-oriented JSON (porterctl(8), PROTOCOL): each request is
 * one JSON object on one line, each answer one JSON object on one line.
 * The server runs on the control thread's epoll, never blocks, and keeps
 * per-client buffers with a size limit and a deadline, so a malformed,
 * oversized or slow client costs only its own connection.
 *
 * The control module never touches runtime structures: it asks the
 * runtime through a `struct control_ops` table of callbacks, implemented
 * today by control_rt.c.  Everything here runs on the control thread; the
 * callbacks are called there too.
 */
#ifndef PORTERD_CONTROL_H
#define PORTERD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stats.h"

/* A request must fit in this (the newline included). */
#define CONTROL_REQUEST_MAX	4096
/* Seconds a client has to send a request and read its answer. */
#define CONTROL_DEADLINE_SECS	5
/*
 * Clients served at once; more are answered with an error and closed.
 * The last CONTROL_PRIV_CLIENTS slots are kept for root and porterd's own
 * uid, so that the group's read-only clients cannot lock out a reload.
 */
#define CONTROL_MAX_CLIENTS	32
#define CONTROL_PRIV_CLIENTS	8
/* Answers longer than this are an error, not a memory hazard. */
#define CONTROL_REPLY_MAX	(16u << 20)
/*
 * Rows in a `connections` answer (about 200 bytes each, at most about 500
 * with two long UNIX paths, so that it stays under CONTROL_REPLY_MAX); the answer's "total" counts them all and
 * "truncated" says when some were left out.
 */
#define CONTROL_CONN_ROWS_MAX	32768

enum control_cmd {
	CONTROL_STATUS,
	CONTROL_SERVICES,
	CONTROL_CONNECTIONS,
	CONTROL_RELOAD,
	CONTROL_PAUSE,
	CONTROL_RESUME,
	CONTROL_DRAIN,
	CONTROL_KILL,
	CONTROL_NCMDS
};

/* One parsed request. */
struct control_req {
	enum control_cmd cmd;
	char service[256];		/* "" when not given */
	uint64_t id;			/* kill-connection */
};

/*
 * Parses one request line (without its newline).  Returns 0, or -1 with
 * a message in err ("unknown command 'x'", "'service' is required").
 */
int control_parse(const char *line, size_t len, struct control_req *req,
    char *err, size_t errlen);

/* The command's name on the wire ("kill-connection"). */
const char *control_cmd_name(enum control_cmd cmd);

/* True for commands that only read: allowed to the socket's group. */
bool control_cmd_readonly(enum control_cmd cmd);

/*
 * Whether a peer with this uid may run cmd: read-only commands anyone who
 * could connect (the socket's mode and group decide that), the others
 * only root and porterd's own effective uid.
 */
bool control_authorized(enum control_cmd cmd, uid_t peer_uid, uid_t own_uid);

/* ---------------------------------------------------------- the runtime */

struct control_status {
	const char *config_path;
	unsigned services;
	unsigned live;			/* running handlers */
	unsigned threads;		/* event loop threads now (leaders,
					 * followers, blocking handlers) */
	unsigned loops;			/* event loops */
	bool stopping;
};

struct control_service {
	const char *name;
	const char *state;		/* "serving", "bind failing:
					 * retrying", "paused", "paused:
					 * max-connections", "paused: rate",
					 * "paused: out of descriptors",
					 * "draining", "drained", "stopping" */
	const char *kind;		/* "plugin" or "exec" */
	const char *handler;		/* plugin name or program */
	const char *isolation;		/* "thread", "process"; NULL: exec */
	const char *const *listeners;	/* formatted addresses */
	size_t nlisteners;
	const char *const *unbound;	/* addresses waiting to be bound */
	size_t nunbound;
	unsigned live;
	const struct stats_svc *stats;	/* may be NULL */
};

struct control_conn {
	uint64_t id;
	const char *service;
	const char *peer;		/* "-" when unknown */
	const char *local;
	double age;			/* seconds */
	double idle;			/* seconds; < 0: unknown */
	int64_t bytes_in, bytes_out;	/* < 0: unknown */
	const char *kind;		/* "thread", "process", "exec" */
	long pid;			/* 0: none (a thread) */
};

enum control_svc_op {
	CONTROL_OP_PAUSE,
	CONTROL_OP_RESUME,
	CONTROL_OP_DRAIN
};

/* Called once with a reload's outcome; errors is NULL when ok. */
typedef void (*control_reload_done)(uint64_t token, bool ok,
    const char *errors);

struct control_ops {
	void (*status)(struct control_status *out);
	/* Calls fn once per running service, in config order. */
	void (*services)(void (*fn)(const struct control_service *s,
	    void *arg), void *arg);
	/*
	 * Calls fn once per live connection (of `service`, or all when
	 * NULL).  Returns 0, or -1 if there is no such service.
	 */
	int (*connections)(const char *service,
	    void (*fn)(const struct control_conn *c, void *arg), void *arg);
	/*
	 * Starts a reload.  done(token, ...) is called exactly once, now or
	 * later, on the control thread.
	 */
	void (*reload)(uint64_t token, control_reload_done done);
	/* Returns 0, or -1 with err ("no service 'x'", "already paused"). */
	int (*service_op)(const char *service, enum control_svc_op op,
	    char *err, size_t errlen);
	/* Cuts a live connection.  Returns 0, or -1 with err. */
	int (*kill_conn)(uint64_t id, char *err, size_t errlen);
};

struct control;

/*
 * Creates the socket at path (mode 0660, group gid unless (gid_t)-1) and
 * registers it with epfd.  A stale socket file (nobody answers on it) is
 * replaced; one a live process answers on is not.  ops is borrowed and
 * must outlive the server.  Returns a new server (control_close() frees
 * it), or NULL with the reason in err.
 */
struct control *control_open(const char *path, gid_t gid, int epfd,
    const struct control_ops *ops, char *err, size_t errlen);

/*
 * The server and its clients sit in epfd as `struct ev` (runtime.h): the
 * control loop calls ev->fn(ev, events, NULL) for each event, as for its
 * own descriptors.
 */

/* Once a second: closes clients past their deadline. */
void control_tick(struct control *ctl);

/* Closes every client and the socket, unlinks its path.  NULL is ok. */
void control_close(struct control *ctl);

#endif
