#!/usr/bin/env python3
"""access -- allow/deny lists and AF_UNIX peer credentials are checked
before any handler runs, and refusals are logged without flooding.

Asserts, each refused client seeing an immediate EOF or reset with no
data, each served one its echo:
- IPv4: allow 127.0.0.2/32 only: a client bound to 127.0.0.2 is served,
  one from 127.0.0.1 refused ("refused PEER: denied by access list") and
  no handler line is logged for it.  Longest prefix wins, deny wins a tie:
  allow 127.0.0.0/8 + deny 127.0.0.0/16 + allow 127.0.0.5/32 + allow and
  deny 127.0.0.6/32 refuse .1 and .6, serve 127.1.0.1 and .5.  Only deny
  rules: everyone else is allowed.
- IPv6 (if available): deny ::1 refuses ::1 (its IPv4 listener serves).
- v4-mapped: on [::ffff:127.0.0.1], allow "127.0.0.1" serves 127.0.0.1
  and refuses 127.0.0.2; deny "::ffff:127.0.0.1" refuses 127.0.0.1 on
  the v4-mapped and on a plain IPv4 listener alike.
- An exec service whose program creates a marker file: a denied client
  leaves no marker; an allowed one does.
- AF_UNIX: allow-uid with the test's uid serves, with another uid
  refuses ("uid N not allowed"); allow-gid likewise.  As root, a client
  running as uid 65534 is served by allow-uid 65534 and refused by
  allow-uid 0.
- No log flood: 50 denied + 5 per-source + 3 max-connections refusals
  produce at most 2 single refusal lines, and within 15 s a summary
  "refused N more connections in the last 10s (acl A, per-source P,
  max-connections M, proxy/tls 0)" accounts for all 58 by reason.
"""
import os
import select
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (IO_TIMEOUT, TIMEOUT_SCALE, Addr, conf_opts,  # noqa
                        conf_service, expect, expect_eq, ipv6_available,
                        main)
from hardening_clients import (connect_from, echoes, refused_from,  # noqa
                               served_from)

REFUSAL_RE = r"^service %s: refused (\S+): (.+)$"
SUMMARY_RE = (r"^service %s: refused (\d+) more connections in the last "
              r"10s \(acl (\d+), per-source (\d+), max-connections (\d+), "
              r"proxy/tls (\d+)\)$")

MARK_SCRIPT = """#!/bin/sh
touch "%s"
echo ran
"""


def refusal_logged(d, svc, peer, reason):
    d.wait_line(r"^service %s: refused %s: %s$" % (svc, peer, reason))


def ip_rules(t, d, v6):
    a = d.addr("acl4")
    with t.case("allow 127.0.0.2/32: a client from 127.0.0.2 is served"):
        served_from(a, "127.0.0.2")
    with t.case("allow 127.0.0.2/32: a client from 127.0.0.1 is refused "
                "before any handler runs"):
        peer = refused_from(a, "127.0.0.1")
        refusal_logged(d, "acl4", peer, "denied by access list")
        expect(not d.find(r"^service acl4: %s: plugin" % peer),
               "a handler ran for the refused client")

    a = d.addr("prefix")
    for src, ok, why in (("127.0.0.1", False, "deny /16 beats allow /8"),
                         ("127.1.0.1", True, "only allow /8 matches"),
                         ("127.0.0.5", True, "allow /32 beats deny /16"),
                         ("127.0.0.6", False, "deny wins the /32 tie")):
        with t.case("longest prefix: %s %s (%s)"
                    % (src, "served" if ok else "refused", why)):
            (served_from if ok else refused_from)(a, src)

    a = d.addr("denyonly")
    with t.case("only deny rules: 127.0.0.1 served, 127.0.0.7 refused"):
        served_from(a, "127.0.0.1")
        refused_from(a, "127.0.0.7")

    if not v6:
        return
    with t.case("IPv6: deny ::1 refuses ::1; the IPv4 listener serves"):
        peer = refused_from(d.addr("deny6", socket.AF_INET6), "::1")
        refusal_logged(d, "deny6", peer, "denied by access list")
        served_from(d.addr("deny6", socket.AF_INET), "127.0.0.1")
    a = d.addr("mapallow")
    with t.case("v4-mapped listener, allow \"127.0.0.1\": 127.0.0.1 served, "
                "127.0.0.2 refused"):
        served_from(a, "127.0.0.1")
        refused_from(a, "127.0.0.2")
    with t.case("deny \"::ffff:127.0.0.1\" equals deny 127.0.0.1, on the "
                "v4-mapped and the IPv4 listener"):
        for fam in (socket.AF_INET6, socket.AF_INET):
            refused_from(d.addr("mapdeny", fam), "127.0.0.1")
            served_from(d.addr("mapdeny", fam), "127.0.0.2")


def marker(t, d, path):
    a = d.addr("marker")
    with t.case("exec service: a denied client does not run the program"):
        refused_from(a, "127.0.0.1")
        time.sleep(0.5 * TIMEOUT_SCALE)
        expect(not os.path.exists(path), "the program ran: %s exists"
               % path)
    with t.case("control: an allowed client runs it (the marker appears)"):
        s = connect_from(a, "127.0.0.2")
        try:
            expect_eq(s.recv(100), b"ran\n", "program output")
        finally:
            s.close()
        expect(os.path.exists(path), "no marker %s" % path)


def as_uid(uid, name):
    """Connects to @name from a forked child running as uid:uid (no
    supplementary groups), sends a line; returns what came back (b""
    for a refusal)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: system calls only, then _exit
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(IO_TIMEOUT)
            s.connect("\0" + name)
            try:  # a refusal may close before the line is sent
                s.sendall(b"child\n")
                data = s.recv(100)
            except (BrokenPipeError, ConnectionResetError):
                data = b""
            os.write(w, b"ok:" + data)
        except BaseException as e:
            os.write(w, b"error:" + repr(e).encode())
        os._exit(0)
    os.close(w)
    try:
        ready, _, _ = select.select([r], [], [], 2 * IO_TIMEOUT)
        out = os.read(r, 4096) if ready else b"error:no answer"
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    expect(out.startswith(b"ok:"), "client as uid %d: %r" % (uid, out))
    return out[3:]


def unix_creds(t, d, tag, other):
    me = os.getuid()
    with t.case("allow-uid %d (the test's uid): served" % me):
        served_from(Addr("@%s-uidme" % tag))
    with t.case("allow-uid %d only: refused, \"uid %d not allowed\""
                % (other, me)):
        refused_from(Addr("@%s-uidother" % tag))
        refusal_logged(d, "uidother", ".*", "uid %d not allowed" % me)
    with t.case("allow-gid %d (the test's gid): served" % os.getgid()):
        served_from(Addr("@%s-gidme" % tag))
    with t.case("allow-gid %d only: refused" % other):
        refused_from(Addr("@%s-gidother" % tag))
        d.wait_line(REFUSAL_RE % "gidother")
    if me != 0:
        t.note("not root: no client as uid 65534")
        return
    with t.case("a client running as uid 65534: served by allow-uid 65534"):
        expect_eq(as_uid(65534, "%s-uidother" % tag), b"child\n", "reply")
    with t.case("a client running as uid 65534: refused by allow-uid 0"):
        expect_eq(as_uid(65534, "%s-uidme" % tag), b"", "reply")
        refusal_logged(d, "uidme", ".*", "uid 65534 not allowed")


def flood(t, d):
    a = d.addr("flood")
    mark = d.mark()
    held = []
    began = time.monotonic()
    try:
        with t.case("flood: 50 denied, 5 per-source and 3 max-connections "
                    "refusals, each refused"):
            held.append(connect_from(a, "127.0.0.1"))
            echoes(held[-1])
            for _ in range(50):
                refused_from(a, "127.0.0.3")
            for _ in range(5):
                refused_from(a, "127.0.0.1", b"busy\r\n")
            for src in ("127.0.0.4", "127.0.0.5"):
                held.append(connect_from(a, src))
                echoes(held[-1])
            for _ in range(3):
                refused_from(a, "127.0.0.6", b"busy\r\n")
    finally:
        for s in held:
            s.close()
    # One single line per reason opens each 10 s interval; a slow run
    # (valgrind on a loaded machine) may span more than one.
    intervals = 1 + int((time.monotonic() - began) // 10) + 1
    with t.case("no log flood: at most %d single refusal lines"
                % intervals):
        single = d.find(REFUSAL_RE % "flood", mark)
        t.note("single refusal lines: %s" % [m.group(0) for m in single])
        expect(1 <= len(single) <= intervals,
               "%d single lines" % len(single))
    with t.case("within 15 s a summary accounts for all 58 by reason"):
        want = {"acl": 50, "per-source": 5, "max-connections": 3}
        reasons = {"denied by access list": "acl",
                   "per-source limit (1) reached": "per-source",
                   "max-connections (3) reached": "max-connections"}
        got = dict.fromkeys(want, 0)
        for m in d.find(REFUSAL_RE % "flood", mark):
            expect(m.group(2) in reasons, "reason %r" % m.group(2))
            got[reasons[m.group(2)]] += 1
        summary = d.wait_line(SUMMARY_RE % "flood", mark,
                              15 * TIMEOUT_SCALE)
        t.note("summary: %s" % summary.group(0))
        # A second interval may have begun during the burst: add up all.
        for m in d.find(SUMMARY_RE % "flood", mark):
            n, acl, per, maxc, edge = (int(x) for x in m.groups())
            expect_eq(edge, 0, "proxy/tls refusals")
            expect_eq(acl + per + maxc, n, "the summary's total")
            for k, v in zip(want, (acl, per, maxc)):
                got[k] += v
        expect_eq(got, want, "refusals by reason")


def scenario(t):
    v6 = ipv6_available()
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"], tmp)
    tag = "porter-acl-%s" % os.urandom(6).hex()
    mark_path = os.path.join(tmp, "marker")
    script = t.write(os.path.join(tmp, "mark.sh"), MARK_SCRIPT % mark_path,
                     0o755)
    other = 65534 if os.getuid() != 65534 else 65533
    lo = ["127.0.0.1:0"]
    svcs = [
        ("acl4", lo, dict(allow=["127.0.0.2/32"])),
        ("prefix", lo, dict(allow=["127.0.0.0/8", "127.0.0.5/32",
                                   "127.0.0.6/32"],
                            deny=["127.0.0.0/16", "127.0.0.6/32"])),
        ("denyonly", lo, dict(deny=["127.0.0.7/32"])),
        ("uidme", ["@%s-uidme" % tag], dict(allow_uid=[os.getuid()])),
        ("uidother", ["@%s-uidother" % tag], dict(allow_uid=[other])),
        ("gidme", ["@%s-gidme" % tag], dict(allow_gid=[os.getgid()])),
        ("gidother", ["@%s-gidother" % tag], dict(allow_gid=[other])),
        ("flood", lo, dict(deny=["127.0.0.3"], max_per_source=1,
                           max_connections=3)),
    ]
    if v6:
        svcs += [
            ("deny6", ["[::1]:0"] + lo, dict(deny=["::1"])),
            ("mapallow", ["[::ffff:127.0.0.1]:0"], dict(allow=["127.0.0.1"])),
            ("mapdeny", ["[::ffff:127.0.0.1]:0"] + lo,
             dict(deny=["::ffff:127.0.0.1"])),
        ]
    conf = conf_opts(shutdown_timeout=5)
    for name, listen, kw in svcs:
        text = conf_service(name, listen=listen, plugin="echo", **kw)
        if name == "flood":
            text = text[:-2] + '    reject-message = "busy\\r\\n"\n}\n'
        conf += text
    conf += conf_service("marker", listen=lo, exec_=script,
                         allow=["127.0.0.2"],
                         user="root")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)

    with t.case("ready"):
        d.wait_line(r"^ready: %d services" % (len(svcs) + 1))
    ip_rules(t, d, v6)
    marker(t, d, mark_path)
    unix_creds(t, d, tag, other)
    flood(t, d)

    with t.case("porterd still runs; SIGTERM exits 0"):
        expect(d.alive(), "porterd exited")
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
