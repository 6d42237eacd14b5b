/*
 * conf_edge.h -- a service's edge options: the PROXY protocol receiver and
 * TLS termination (issue 14), spliced into the service schema after the
 * sandbox options.
 *
 *   proxy-protocol = v1 | v2 | any     # read a PROXY header first [off]
 *   proxy-from = { "10.0.0.0/8" }      # balancers allowed to send one;
 *                                      # required with proxy-protocol
 *   proxy-timeout = 5                  # seconds for the header [5]
 *   tls {
 *       certificate = "/etc/porter/tls/cert.pem"   # chain, leaf first
 *       key = "/etc/porter/tls/key.pem"            # not readable by others
 *       ca = "/etc/porter/tls/clients.pem"         # for client certs
 *       verify-client = none | optional | require  # [none]; needs ca
 *       min-version = "TLSv1.2" | "TLSv1.3"        # [TLSv1.2]
 *       ciphers = "ECDHE+AESGCM"                   # TLS 1.2 list
 *       alpn = { "h2", "http/1.1" }                # server preference
 *       handshake-timeout = 10                     # seconds [10]
 *   }
 *
 * Both apply to stream services that accept (not wait = yes, not dgram
 * or seqpacket); proxy-protocol also not to UNIX-socket listen entries,
 * whose peers proxy-from cannot name.  What is checked here is the
 * grammar; the certificate and key are read when the running service is
 * built (edge_svc_new() in edge.h), at start, --check and every reload.
 */
#ifndef PORTERD_CONF_EDGE_H
#define PORTERD_CONF_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <confuse.h>

/* tls { ... } */
extern cfg_opt_t conf_edge_tls_opts[];

#define CONF_EDGE_OPTS \
	CFG_STR("proxy-protocol", NULL, CFGF_NODEFAULT), \
	CFG_STR_LIST("proxy-from", NULL, CFGF_NODEFAULT), \
	CFG_INT("proxy-timeout", 0, CFGF_NODEFAULT), \
	CFG_SEC("tls", conf_edge_tls_opts, CFGF_NODEFAULT)

/* In CONF_EDGE_OPTS order: line slot SVC_EDGE + EDGE_OPT_x. */
enum conf_edge_opt {
	EDGE_OPT_PROXY,
	EDGE_OPT_PROXY_FROM,
	EDGE_OPT_PROXY_TIMEOUT,
	EDGE_OPT_TLS,
	EDGE_NOPTS
};

/* In conf_edge_tls_opts[] order: line slot SVC_TLS_LINES + TLS_OPT_x. */
enum conf_tls_opt {
	TLS_OPT_CERTIFICATE,
	TLS_OPT_KEY,
	TLS_OPT_CA,
	TLS_OPT_VERIFY,
	TLS_OPT_MIN_VERSION,
	TLS_OPT_CIPHERS,
	TLS_OPT_ALPN,
	TLS_OPT_HANDSHAKE_TIMEOUT,
	TLS_NOPTS
};

/* One proxy-from entry, canonical as struct acl_rule's. */
struct edge_cidr {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];		/* host bits zero */
	unsigned prefix;
};

/* The parsed tls section; strings owned, freed with the edge_spec. */
struct edge_tls_spec {
	char *certificate;
	char *key;
	char *ca;			/* NULL: no client certificates */
	int verify;			/* enum tls_verify */
	char *min_version;		/* NULL: TLSv1.2 */
	char *ciphers;			/* NULL: OpenSSL's default */
	char **alpn;			/* NULL-terminated, or NULL */
	size_t nalpn;
	unsigned handshake_ms;
	int lines[TLS_NOPTS];		/* for messages; 0: not written */
	int line;			/* the section's own line */
};

struct edge_spec {
	int proxy;			/* enum proxy_mode; 0: no PROXY */
	struct edge_cidr *proxy_from;
	size_t nproxy_from;
	unsigned proxy_ms;		/* proxy-timeout */
	bool tls;			/* a tls section was written */
	struct edge_tls_spec t;
};

struct conf_load;
struct conf_section;
struct service;

/*
 * Reads the edge options of one section into s->edge (left NULL when
 * none is written).  Returns 0, or -1 with the error recorded in ld.
 */
int conf_edge_service(struct conf_load *ld, const struct conf_section *cs,
    struct service *s);

/* Frees an edge_spec; accepts NULL. */
void conf_edge_free(struct edge_spec *e);

/* The line slot of tls option `name` (SVC_TLS_LINES + i), or -1. */
int conf_edge_tls_slot(const char *name);

/*
 * True if the canonical address (access_canon()) matches an entry of the
 * service's proxy-from list.
 */
bool conf_edge_from(const struct edge_spec *e, int family,
    const uint8_t addr[16]);

#endif
