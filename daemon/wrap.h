/*
 * wrap.h -- libwrap-compatible /etc/hosts.allow and /etc/hosts.deny, for
 * services marked `tcp-wrappers = true` (inetd.conf's /usr/sbin/tcpd).
 *
 * The files are read when the configuration loads (and on every reload),
 * never on the accept path: libwrap reads them for every connection and
 * resolves host names, which would block an event loop and send DNS
 * queries.  Only the forms that need no name service are accepted; every
 * other form in a rule that concerns a wrapped service is refused at load
 * with "file:line: what" (see porterd.conf(5), TCP WRAPPERS):
 *
 *   daemon_list : client_list [ : allow | : deny ]
 *
 *   daemons: ALL, a name (the basename of the program tcpd would run),
 *            "list EXCEPT list"
 *   clients: ALL, a.b.c.d, a.b.c. (a prefix), a.b.c.d/m.m.m.m,
 *            a.b.c.d/len, [v6], [v6]/len, "list EXCEPT list"
 *
 * Refused (they need DNS, NIS, ident or a shell): host names, .domain,
 * LOCAL, KNOWN, UNKNOWN, PARANOID, @netgroup, user@host, /file, wildcards
 * (* ?), daemon@host, and option fields other than allow/deny (spawn,
 * twist, severity, ...).  A rule whose daemon list cannot match any
 * wrapped service is skipped unchecked, so hosts.allow may go on holding
 * sshd's own rules.
 *
 * Decision, as libwrap does: the first rule of hosts.allow that matches
 * grants (or denies, with ": deny"); else the first of hosts.deny that
 * matches denies (or grants, with ": allow"); else access is granted.  A
 * missing file holds no rules.
 */
#ifndef PORTERD_WRAP_H
#define PORTERD_WRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Both files, parsed; the client lists are checked per daemon. */
struct wrap_db;

/* The rules that concern one daemon name, in decision order. */
struct wrap_rules;

/*
 * Reads and parses allow_path and deny_path (a file that does not exist
 * has no rules).  Returns a new db (wrap_db_free()), or NULL with
 * "FILE:LINE: what" or "FILE: what" in err.
 */
struct wrap_db *wrap_db_load(const char *allow_path, const char *deny_path,
    char *err, size_t errlen);
void wrap_db_free(struct wrap_db *db);	/* accepts NULL */

/*
 * The rules of db that apply to daemon `name`, copied (the db may be
 * freed after).  Returns a new set (wrap_rules_free()), or NULL with
 * "FILE:LINE: what" in err when such a rule uses a form porterd refuses.
 */
struct wrap_rules *wrap_select(const struct wrap_db *db, const char *name,
    char *err, size_t errlen);
void wrap_rules_free(struct wrap_rules *r);	/* accepts NULL */

/*
 * Decides for a peer given in canonical form (access_canon(): family
 * AF_INET or AF_INET6, 4 or 16 address bytes, v4-mapped IPv6 as IPv4).
 * Returns true to grant.  The rule that decided ("/etc/hosts.deny:3") or
 * "no rule" goes to why.  Touches no file and no name service.
 */
bool wrap_permit(const struct wrap_rules *r, int family,
    const uint8_t addr[16], char *why, size_t len);

#endif
