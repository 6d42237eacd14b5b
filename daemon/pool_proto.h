/*
 * pool_proto.h -- the messages between porterd and a service's worker
 * pool (pool.c in porterd, poolworker.c in the pool's process).
 *
 * One SOCK_SEQPACKET socketpair per pool: message boundaries are kept, a
 * connection's descriptor travels with its message (SCM_RIGHTS).  Every
 * message starts with a struct pool_hdr; both ends are built from the
 * same sources (the pool process is porterd-pool from porterd's build,
 * poolexe.h, or porterd re-exec'd), so structs go as they are.
 *
 *   porterd -> pool  SETUP    TLV records (pool_tlv_*): what the service is
 *                    CONN     + fd: one connection (id, peer, local,
 *                             the edge's vars: TLS_*, PROXY_*)
 *   pool -> porterd  READY    the plugin is loaded and the sandbox on
 *                    FAIL     text: why the pool cannot serve (then exit)
 *                    STARTED  connection id runs in process pid
 *                    DONE     connection id is over: status, rc, usage
 *                    BACKOFF  workers die before serving: no new one is
 *                             forked for ms (backoff.h); refuse meanwhile
 *                    REFUSED  connection id was not started: the pool is
 *                             in a BACKOFF pause (a STARTED layout, pid 0)
 *
 * Inside the pool process the same CONN and DONE messages go between the
 * pool's master and each of its workers, on a socketpair per worker; a
 * worker says READY (a bare header) once it is set up, before it takes a
 * connection, or FAIL (a text message) if it cannot be, before it exits.
 */
#ifndef PORTERD_POOL_PROTO_H
#define PORTERD_POOL_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <porter/socket.h>

#define POOL_MAGIC	0x706f6f6cU	/* "pool" */
#define POOL_MSG_MAX	(128 * 1024)	/* the largest message (SETUP) */

enum pool_msg_type {
	POOL_SETUP = 1,
	POOL_CONN,
	POOL_READY,
	POOL_FAIL,
	POOL_STARTED,
	POOL_DONE,
	POOL_BACKOFF,
	POOL_REFUSED
};

struct pool_hdr {
	uint32_t magic;
	uint32_t type;
};

struct pool_conn_msg {
	struct pool_hdr h;
	uint64_t id;
	pt_addr peer;			/* len 0: unknown */
	pt_addr local;
	uint32_t nvars;			/* ctx->vars: this many strings, */
	uint32_t vars_len;		/* in the vars_len bytes that follow
					 * the struct, each NUL-terminated */
};

struct pool_started_msg {
	struct pool_hdr h;
	uint64_t id;
	int32_t pid;
};

struct pool_done_msg {
	struct pool_hdr h;
	uint64_t id;
	int32_t pid;			/* the worker that ran it */
	int32_t status;			/* wait(2) status: exit 0, exit 1 (handle()
					 * failed) or the signal that killed it */
	uint64_t bytes_in, bytes_out;
	struct timeval utime, stime;	/* CPU time spent on this connection */
	int64_t maxrss;			/* the worker's peak, KiB */
	struct timeval total_utime, total_stime;	/* the worker's own,
					 * since it started: the base of the
					 * next connection's if it crashes */
};

struct pool_text_msg {			/* READY (pid), FAIL (text) */
	struct pool_hdr h;
	int32_t pid;
	char text[512];
};

/*
 * The pool process's workers keep dying before they serve: it forks none
 * for ms (idle workers still take connections; those it cannot place it
 * REFUSEs).  ms 0: its episode is over, a worker served again.
 */
struct pool_backoff_msg {
	struct pool_hdr h;
	uint32_t ms;			/* the pause: no worker forked */
	uint32_t fails;			/* workers lost since one last served */
	char text[512];			/* how the last one ended */
};

/* SETUP records. */
enum pool_tlv_type {
	POOL_T_NAME = 1,	/* string */
	POOL_T_PLUGIN,		/* string: the resolved path */
	POOL_T_ARG,		/* string, once per arg, in order */
	POOL_T_SOCKTYPE,	/* u32 */
	POOL_T_LOG,		/* u32 target, u32 level */
	POOL_T_USER,		/* u32 uid, u32 gid, then u32 groups... */
	POOL_T_DROPCAPS,	/* u32 */
	POOL_T_POOL,		/* u32 min, max, reuse, idle */
	POOL_T_SANDBOX,		/* struct sandbox, pointers not meaningful */
	POOL_T_CHROOT,		/* string */
	POOL_T_WORKDIR,		/* string */
	POOL_T_BPF,		/* the seccomp filter's instructions */
	POOL_T_LANDLOCK,	/* string: a Landlock path; only in the copy
				 * a reload compares (pool_share()) */
	POOL_T_EXEC,		/* u32 stderr mode: a launcher (pool.h);
				 * then PLUGIN is the program and ARG its
				 * argv, argv[0] first */
	POOL_T_ENV		/* string, once per env entry, in order */
};

/* A buffer records are appended to. */
struct pool_tlv_buf {
	unsigned char *data;		/* owned; free() */
	size_t len, cap;
	int failed;			/* an append ran out of memory */
};

/* Starts b's message with hdr (len bytes), discarding what it held. */
void pool_tlv_start(struct pool_tlv_buf *b, const void *hdr, size_t len);

/* Appends a record; on ENOMEM sets b->failed (checked once at the end). */
void pool_tlv_put(struct pool_tlv_buf *b, uint16_t type, const void *v,
    size_t len);
void pool_tlv_put_str(struct pool_tlv_buf *b, uint16_t type, const char *s);

/*
 * Iterates the records of buf (len bytes) from *off: fills *type, *v (a
 * pointer into buf) and *vlen and advances *off.  Returns 1, 0 at the
 * end, -1 for a truncated or malformed record.
 */
int pool_tlv_next(const unsigned char *buf, size_t len, size_t *off,
    uint16_t *type, const unsigned char **v, size_t *vlen);

/*
 * Sends one message, with fd attached when fd >= 0.  Returns 0, or -1
 * with errno.  MSG_NOSIGNAL: a dead peer is EPIPE, not a signal.
 */
int pool_send(int sock, const void *msg, size_t len, int fd);

/*
 * Receives one message into buf (len bytes); flags: 0 or MSG_DONTWAIT.
 * A descriptor that came with it is stored in *fd (close-on-exec), else
 * *fd = -1.  Returns the message's length (0: the peer closed), or -1
 * with errno (EBADMSG: too short, wrong magic, or truncated; a descriptor
 * that came with it is closed).
 */
ssize_t pool_recv(int sock, void *buf, size_t len, int *fd, int flags);

#endif
