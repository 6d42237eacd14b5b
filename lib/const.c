/*
 * const.c -- the name<->value table of socket constants (pt_const).
 *
 * C code uses the system macros directly; this table exists for the config
 * and the plugins, which name constants as text ("SO_REUSEADDR", "stream").
 * Only names the system headers define are listed (each non-POSIX one is
 * behind its own #ifdef), and for socket options the row also carries the
 * setsockopt level, so "TCP_NODELAY" alone is enough to set it.  The table
 * is in a deliberate order, not sorted: for values with several names the
 * canonical one comes first (AF_UNIX before AF_LOCAL), which is the name
 * pt_const_name() reports.  It is read-only; lookups are linear, since
 * they happen while reading a config, never per connection.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "porter/socket.h"
#include "internal.h"

/*
 * Python's defaults where the headers give no macro.  glibc declares
 * IPPORT_* in an enum, invisible to #ifdef; its values are these.
 */
#ifdef IPPORT_RESERVED
#define PT_IPPORT_RESERVED	IPPORT_RESERVED
#else
#define PT_IPPORT_RESERVED	1024
#endif
#ifdef IPPORT_USERRESERVED
#define PT_IPPORT_USERRESERVED	IPPORT_USERRESERVED
#else
#define PT_IPPORT_USERRESERVED	5000
#endif

/* Rows: a plain value, or a socket option with its setsockopt level. */
#define VAL(n)		{ #n, (long)(n), -1 }
#define SO(n)		{ #n, (long)(n), SOL_SOCKET }
#define IP(n)		{ #n, (long)(n), IPPROTO_IP }
#define TCP(n)		{ #n, (long)(n), IPPROTO_TCP }
#define IP6(n)		{ #n, (long)(n), IPPROTO_IPV6 }

static const pt_const const_table[] = {
	/* Address families; the alias AF_LOCAL after AF_UNIX. */
	VAL(AF_UNSPEC),
	VAL(AF_UNIX),
	VAL(AF_INET),
	VAL(AF_INET6),
#ifdef AF_NETLINK
	VAL(AF_NETLINK),
#endif
#ifdef AF_PACKET
	VAL(AF_PACKET),
#endif
#ifdef AF_VSOCK
	VAL(AF_VSOCK),
#endif
#ifdef AF_LOCAL
	VAL(AF_LOCAL),
#endif

	/* Socket types, and the flags socket(2) takes OR-ed into the type. */
	VAL(SOCK_STREAM),
	VAL(SOCK_DGRAM),
	VAL(SOCK_RAW),
	VAL(SOCK_RDM),
	VAL(SOCK_SEQPACKET),
#ifdef SOCK_NONBLOCK
	VAL(SOCK_NONBLOCK),
#endif
#ifdef SOCK_CLOEXEC
	VAL(SOCK_CLOEXEC),
#endif

	/* Options at level SOL_SOCKET. */
	SO(SO_DEBUG),
	SO(SO_REUSEADDR),
	SO(SO_KEEPALIVE),
	SO(SO_DONTROUTE),
	SO(SO_BROADCAST),
	SO(SO_LINGER),
	SO(SO_OOBINLINE),
	SO(SO_SNDBUF),
	SO(SO_RCVBUF),
	SO(SO_SNDLOWAT),
	SO(SO_RCVLOWAT),
	SO(SO_SNDTIMEO),
	SO(SO_RCVTIMEO),
	SO(SO_ERROR),
	SO(SO_TYPE),
	SO(SO_ACCEPTCONN),
#ifdef SO_REUSEPORT
	SO(SO_REUSEPORT),
#endif
#ifdef SO_DOMAIN
	SO(SO_DOMAIN),
#endif
#ifdef SO_PROTOCOL
	SO(SO_PROTOCOL),
#endif
#ifdef SO_SNDBUFFORCE
	SO(SO_SNDBUFFORCE),
#endif
#ifdef SO_RCVBUFFORCE
	SO(SO_RCVBUFFORCE),
#endif
#ifdef SO_PEERCRED
	SO(SO_PEERCRED),
#endif
#ifdef SO_PEERSEC
	SO(SO_PEERSEC),
#endif
#ifdef SO_PASSCRED
	SO(SO_PASSCRED),
#endif
#ifdef SO_PRIORITY
	SO(SO_PRIORITY),
#endif
#ifdef SO_MARK
	SO(SO_MARK),
#endif
#ifdef SO_BINDTODEVICE
	SO(SO_BINDTODEVICE),
#endif
#ifdef SO_TIMESTAMP
	SO(SO_TIMESTAMP),
#endif
#ifdef SO_TIMESTAMPNS
	SO(SO_TIMESTAMPNS),
#endif
#ifdef SO_BUSY_POLL
	SO(SO_BUSY_POLL),
#endif
#ifdef SO_INCOMING_CPU
	SO(SO_INCOMING_CPU),
#endif
#ifdef SO_ZEROCOPY
	SO(SO_ZEROCOPY),
#endif

	/* The listen(2) backlog ceiling. */
	VAL(SOMAXCONN),

	/* send/recv flags; MSG_TRYHARD is the old alias of MSG_DONTROUTE. */
	VAL(MSG_OOB),
	VAL(MSG_PEEK),
	VAL(MSG_DONTROUTE),
	VAL(MSG_CTRUNC),
	VAL(MSG_TRUNC),
	VAL(MSG_EOR),
	VAL(MSG_WAITALL),
	VAL(MSG_NOSIGNAL),
#ifdef MSG_DONTWAIT
	VAL(MSG_DONTWAIT),
#endif
#ifdef MSG_MORE
	VAL(MSG_MORE),
#endif
#ifdef MSG_CONFIRM
	VAL(MSG_CONFIRM),
#endif
#ifdef MSG_ERRQUEUE
	VAL(MSG_ERRQUEUE),
#endif
#ifdef MSG_FASTOPEN
	VAL(MSG_FASTOPEN),
#endif
#ifdef MSG_ZEROCOPY
	VAL(MSG_ZEROCOPY),
#endif
#ifdef MSG_CMSG_CLOEXEC
	VAL(MSG_CMSG_CLOEXEC),
#endif
#ifdef MSG_TRYHARD
	VAL(MSG_TRYHARD),
#endif

	/* Option levels. */
	VAL(SOL_SOCKET),
#ifdef SOL_IP
	VAL(SOL_IP),
#endif
#ifdef SOL_TCP
	VAL(SOL_TCP),
#endif
#ifdef SOL_UDP
	VAL(SOL_UDP),
#endif
#ifdef SOL_IPV6
	VAL(SOL_IPV6),
#endif

	/* Protocol numbers; IPPROTO_HOPOPTS (0) after IPPROTO_IP. */
	VAL(IPPROTO_IP),
	VAL(IPPROTO_ICMP),
	VAL(IPPROTO_TCP),
	VAL(IPPROTO_UDP),
	VAL(IPPROTO_IPV6),
	VAL(IPPROTO_RAW),
#ifdef IPPROTO_IGMP
	VAL(IPPROTO_IGMP),
#endif
#ifdef IPPROTO_IPIP
	VAL(IPPROTO_IPIP),
#endif
#ifdef IPPROTO_DCCP
	VAL(IPPROTO_DCCP),
#endif
#ifdef IPPROTO_GRE
	VAL(IPPROTO_GRE),
#endif
#ifdef IPPROTO_ESP
	VAL(IPPROTO_ESP),
#endif
#ifdef IPPROTO_AH
	VAL(IPPROTO_AH),
#endif
#ifdef IPPROTO_SCTP
	VAL(IPPROTO_SCTP),
#endif
#ifdef IPPROTO_UDPLITE
	VAL(IPPROTO_UDPLITE),
#endif
#ifdef IPPROTO_MPTCP
	VAL(IPPROTO_MPTCP),
#endif
#ifdef IPPROTO_ICMPV6
	VAL(IPPROTO_ICMPV6),
#endif
#ifdef IPPROTO_ROUTING
	VAL(IPPROTO_ROUTING),
#endif
#ifdef IPPROTO_FRAGMENT
	VAL(IPPROTO_FRAGMENT),
#endif
#ifdef IPPROTO_NONE
	VAL(IPPROTO_NONE),
#endif
#ifdef IPPROTO_DSTOPTS
	VAL(IPPROTO_DSTOPTS),
#endif
#ifdef IPPROTO_HOPOPTS
	VAL(IPPROTO_HOPOPTS),
#endif

	/* IPv4 addresses, host byte order as Python exports them. */
	VAL(INADDR_ANY),
	VAL(INADDR_BROADCAST),
#ifdef INADDR_LOOPBACK
	VAL(INADDR_LOOPBACK),
#endif
#ifdef INADDR_NONE
	VAL(INADDR_NONE),
#endif
#ifdef INADDR_UNSPEC_GROUP
	VAL(INADDR_UNSPEC_GROUP),
#endif
#ifdef INADDR_ALLHOSTS_GROUP
	VAL(INADDR_ALLHOSTS_GROUP),
#endif
#ifdef INADDR_MAX_LOCAL_GROUP
	VAL(INADDR_MAX_LOCAL_GROUP),
#endif

	/* Options at level IPPROTO_IP. */
	IP(IP_TOS),
	IP(IP_TTL),
	IP(IP_HDRINCL),
	IP(IP_OPTIONS),
	IP(IP_MULTICAST_IF),
	IP(IP_MULTICAST_TTL),
	IP(IP_MULTICAST_LOOP),
	IP(IP_ADD_MEMBERSHIP),
	IP(IP_DROP_MEMBERSHIP),
#ifdef IP_RECVOPTS
	IP(IP_RECVOPTS),
#endif
#ifdef IP_RETOPTS
	IP(IP_RETOPTS),
#endif
#ifdef IP_PKTINFO
	IP(IP_PKTINFO),
#endif
#ifdef IP_RECVTOS
	IP(IP_RECVTOS),
#endif
#ifdef IP_RECVTTL
	IP(IP_RECVTTL),
#endif
#ifdef IP_RECVERR
	IP(IP_RECVERR),
#endif
#ifdef IP_MTU
	IP(IP_MTU),
#endif
#ifdef IP_MTU_DISCOVER
	IP(IP_MTU_DISCOVER),
#endif
#ifdef IP_FREEBIND
	IP(IP_FREEBIND),
#endif
#ifdef IP_TRANSPARENT
	IP(IP_TRANSPARENT),
#endif
#ifdef IP_BIND_ADDRESS_NO_PORT
	IP(IP_BIND_ADDRESS_NO_PORT),
#endif
#ifdef IP_ORIGDSTADDR
	IP(IP_ORIGDSTADDR),
#endif
#ifdef IP_RECVORIGDSTADDR
	IP(IP_RECVORIGDSTADDR),
#endif
#ifdef IP_MINTTL
	IP(IP_MINTTL),
#endif
#ifdef IP_MULTICAST_ALL
	IP(IP_MULTICAST_ALL),
#endif

	/* IP_ names that are values, not options. */
#ifdef IP_DEFAULT_MULTICAST_TTL
	VAL(IP_DEFAULT_MULTICAST_TTL),
#endif
#ifdef IP_DEFAULT_MULTICAST_LOOP
	VAL(IP_DEFAULT_MULTICAST_LOOP),
#endif
#ifdef IP_MAX_MEMBERSHIPS
	VAL(IP_MAX_MEMBERSHIPS),
#endif
#ifdef IP_PMTUDISC_DONT
	VAL(IP_PMTUDISC_DONT),
#endif
#ifdef IP_PMTUDISC_WANT
	VAL(IP_PMTUDISC_WANT),
#endif
#ifdef IP_PMTUDISC_DO
	VAL(IP_PMTUDISC_DO),
#endif
#ifdef IP_PMTUDISC_PROBE
	VAL(IP_PMTUDISC_PROBE),
#endif

	/* Options at level IPPROTO_TCP. */
	TCP(TCP_NODELAY),
#ifdef TCP_MAXSEG
	TCP(TCP_MAXSEG),
#endif
#ifdef TCP_CORK
	TCP(TCP_CORK),
#endif
#ifdef TCP_KEEPIDLE
	TCP(TCP_KEEPIDLE),
#endif
#ifdef TCP_KEEPINTVL
	TCP(TCP_KEEPINTVL),
#endif
#ifdef TCP_KEEPCNT
	TCP(TCP_KEEPCNT),
#endif
#ifdef TCP_SYNCNT
	TCP(TCP_SYNCNT),
#endif
#ifdef TCP_LINGER2
	TCP(TCP_LINGER2),
#endif
#ifdef TCP_DEFER_ACCEPT
	TCP(TCP_DEFER_ACCEPT),
#endif
#ifdef TCP_WINDOW_CLAMP
	TCP(TCP_WINDOW_CLAMP),
#endif
#ifdef TCP_INFO
	TCP(TCP_INFO),
#endif
#ifdef TCP_QUICKACK
	TCP(TCP_QUICKACK),
#endif
#ifdef TCP_CONGESTION
	TCP(TCP_CONGESTION),
#endif
#ifdef TCP_USER_TIMEOUT
	TCP(TCP_USER_TIMEOUT),
#endif
#ifdef TCP_FASTOPEN
	TCP(TCP_FASTOPEN),
#endif
#ifdef TCP_FASTOPEN_CONNECT
	TCP(TCP_FASTOPEN_CONNECT),
#endif
#ifdef TCP_NOTSENT_LOWAT
	TCP(TCP_NOTSENT_LOWAT),
#endif
#ifdef TCP_INQ
	TCP(TCP_INQ),
#endif

	/* Options at level IPPROTO_IPV6; *_MEMBERSHIP alias *_GROUP. */
	IP6(IPV6_V6ONLY),
	IP6(IPV6_UNICAST_HOPS),
	IP6(IPV6_MULTICAST_IF),
	IP6(IPV6_MULTICAST_HOPS),
	IP6(IPV6_MULTICAST_LOOP),
	IP6(IPV6_JOIN_GROUP),
	IP6(IPV6_LEAVE_GROUP),
#ifdef IPV6_DONTFRAG
	IP6(IPV6_DONTFRAG),
#endif
#ifdef IPV6_MTU
	IP6(IPV6_MTU),
#endif
#ifdef IPV6_MTU_DISCOVER
	IP6(IPV6_MTU_DISCOVER),
#endif
#ifdef IPV6_PKTINFO
	IP6(IPV6_PKTINFO),
#endif
#ifdef IPV6_RECVERR
	IP6(IPV6_RECVERR),
#endif
#ifdef IPV6_RECVHOPLIMIT
	IP6(IPV6_RECVHOPLIMIT),
#endif
#ifdef IPV6_RECVPKTINFO
	IP6(IPV6_RECVPKTINFO),
#endif
#ifdef IPV6_RECVTCLASS
	IP6(IPV6_RECVTCLASS),
#endif
#ifdef IPV6_TCLASS
	IP6(IPV6_TCLASS),
#endif
#ifdef IPV6_FREEBIND
	IP6(IPV6_FREEBIND),
#endif
#ifdef IPV6_TRANSPARENT
	IP6(IPV6_TRANSPARENT),
#endif
#ifdef IPV6_RECVORIGDSTADDR
	IP6(IPV6_RECVORIGDSTADDR),
#endif
#ifdef IPV6_UNICAST_IF
	IP6(IPV6_UNICAST_IF),
#endif
#ifdef IPV6_ADD_MEMBERSHIP
	IP6(IPV6_ADD_MEMBERSHIP),
#endif
#ifdef IPV6_DROP_MEMBERSHIP
	IP6(IPV6_DROP_MEMBERSHIP),
#endif

	/* IPV6_ names that are values, not options. */
#ifdef IPV6_PMTUDISC_DONT
	VAL(IPV6_PMTUDISC_DONT),
#endif
#ifdef IPV6_PMTUDISC_WANT
	VAL(IPV6_PMTUDISC_WANT),
#endif
#ifdef IPV6_PMTUDISC_DO
	VAL(IPV6_PMTUDISC_DO),
#endif
#ifdef IPV6_PMTUDISC_PROBE
	VAL(IPV6_PMTUDISC_PROBE),
#endif

	/* shutdown(2) directions. */
	VAL(SHUT_RD),
	VAL(SHUT_WR),
	VAL(SHUT_RDWR),

	/* Port ranges (Python's names and defaults). */
	{ "IPPORT_RESERVED", PT_IPPORT_RESERVED, -1 },
	{ "IPPORT_USERRESERVED", PT_IPPORT_USERRESERVED, -1 },

	/* The config's lower-case spellings, after every canonical name. */
	{ "stream", SOCK_STREAM, -1 },
	{ "dgram", SOCK_DGRAM, -1 },
	{ "seqpacket", SOCK_SEQPACKET, -1 },
	{ "raw", SOCK_RAW, -1 },
	{ "rdm", SOCK_RDM, -1 },
	{ "inet", AF_INET, -1 },
	{ "inet6", AF_INET6, -1 },
	{ "unix", AF_UNIX, -1 },
};

#define CONST_COUNT	(sizeof(const_table) / sizeof(const_table[0]))

const pt_const *
pt_const_find(const char *name, pt_error *err)
{
	size_t i;

	if (name == NULL)
		name = "";
	for (i = 0; i < CONST_COUNT; i++)
		if (strcmp(const_table[i].name, name) == 0)
			return &const_table[i];
	pt_error_set(err, PT_ERR_ARG, ENOENT, "unknown constant '%s'", name);
	return NULL;
}

const pt_const *
pt_const_name(const char *prefix, long value)
{
	size_t i, n;

	if (prefix == NULL)
		prefix = "";
	n = strlen(prefix);
	for (i = 0; i < CONST_COUNT; i++)
		if (const_table[i].value == value &&
		    strncmp(const_table[i].name, prefix, n) == 0)
			return &const_table[i];
	return NULL;
}

const pt_const *
pt_const_table(size_t *ret_n)
{
	if (ret_n != NULL)
		*ret_n = CONST_COUNT;
	return const_table;
}
