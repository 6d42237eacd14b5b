#!/usr/bin/env python3
"""dual_stack -- an IPv4 client of a dual-stack listener is plain IPv4.

A listener on [::]:0 (IPV6_V6ONLY off, Linux's default) also takes IPv4
clients, which the kernel reports as ::ffff:a.b.c.d.  porterd rewrites
such a peer (and the local address) to plain IPv4 right after accept, as
systemd does, so everything downstream sees what the client used.

Asserts, with a client on 127.0.0.1: an exec'd program's REMOTE_ADDR,
TCPREMOTEIP and TCPLOCALIP are "127.0.0.1" and the ports are the client's
and the listener's; the log line names the peer "127.0.0.1:PORT"; a
service with `allow = { "127.0.0.0/8" }` serves it; one with
`deny = { "127.0.0.1" }` refuses it and logs the refusal with the IPv4
peer; with max-per-source = 1, a second IPv4 connection is refused as
"127.0.0.1".  A client on ::1 stays IPv6 ("::1").  Skips without IPv6.
"""
import os
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Addr, Skip, conf_opts, conf_service, connect,  # noqa
                        echo_roundtrip, expect, expect_eq, expect_eof,
                        ipv6_available, main, recv_all, recv_exact)

ENV_SCRIPT = """#!/bin/sh
env | sed 's/^/env:/'
echo "end"
"""


def env_of(host, port):
    """Connects to (host, port); returns (client's (ip, port), env)."""
    s = connect(Addr("%s:%d" % (host, port) if ":" not in host
                     else "[%s]:%d" % (host, port)))
    try:
        me = s.getsockname()
        s.shutdown(socket.SHUT_WR)
        out = recv_all(s).decode("utf-8", "replace")
    finally:
        s.close()
    lines = out.splitlines()
    expect(lines and lines[-1] == "end", "script output incomplete: %r"
           % out[-300:])
    return me, dict(x[4:].split("=", 1) for x in lines
                    if x.startswith("env:") and "=" in x)


def scenario(t):
    if not ipv6_available():
        raise Skip("no IPv6 on loopback")
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"], tmp)
    env_sh = t.write(os.path.join(tmp, "env.sh"), ENV_SCRIPT, 0o755)
    conf = conf_opts(shutdown_timeout=3)
    conf += conf_service("env", listen=["[::]:0"], exec_=env_sh,
                         user="root", allow=["127.0.0.0/8", "::1"])
    conf += conf_service("denied", listen=["[::]:0"], plugin="echo",
                         deny=["127.0.0.1"])
    conf += conf_service("one", listen=["[::]:0"], plugin="echo",
                         max_per_source=1)
    d = t.porterd(t.write(os.path.join(tmp, "porterd.conf"), conf), plugins)
    d.wait_ready()
    port = {n: d.addr(n).port for n in ("env", "denied", "one")}

    with t.case("IPv4 client of [::]: REMOTE_ADDR, TCPREMOTEIP, TCPLOCALIP "
                "are plain IPv4; allow 127.0.0.0/8 admits it"):
        me, env = env_of("127.0.0.1", port["env"])
        expect_eq(env.get("REMOTE_ADDR"), "127.0.0.1", "REMOTE_ADDR")
        expect_eq(env.get("TCPREMOTEIP"), "127.0.0.1", "TCPREMOTEIP")
        expect_eq(env.get("REMOTE_PORT"), str(me[1]), "REMOTE_PORT")
        expect_eq(env.get("TCPREMOTEPORT"), str(me[1]), "TCPREMOTEPORT")
        expect_eq(env.get("TCPLOCALIP"), "127.0.0.1", "TCPLOCALIP")
        expect_eq(env.get("TCPLOCALPORT"), str(port["env"]), "TCPLOCALPORT")

    with t.case("the log names the IPv4 peer"):
        d.wait_line(r"^service env: 127\.0\.0\.1:%d: exec .* exit 0"
                    % me[1])
        expect(not d.find(r"::ffff:"), "a v4-mapped address in the log: %r"
               % [m.string for m in d.find(r"::ffff:")])

    with t.case("an IPv6 client stays IPv6"):
        me6, env = env_of("::1", port["env"])
        expect_eq(env.get("REMOTE_ADDR"), "::1", "REMOTE_ADDR")
        expect_eq(env.get("TCPLOCALIP"), "::1", "TCPLOCALIP")

    with t.case("deny 127.0.0.1 refuses the IPv4 client, logged as IPv4"):
        m = d.mark()
        s = connect(Addr("127.0.0.1:%d" % port["denied"]))
        try:
            expect_eof(s, "the denied client is closed")
        finally:
            s.close()
        d.wait_line(r"^service denied: refused 127\.0\.0\.1:\d+: ", m)

    with t.case("max-per-source 1 counts the IPv4 client as 127.0.0.1"):
        a = connect(Addr("127.0.0.1:%d" % port["one"]))
        try:
            a.sendall(b"a")
            expect_eq(recv_exact(a, 1), b"a", "first client")
            m = d.mark()
            b = connect(Addr("127.0.0.1:%d" % port["one"]))
            try:
                expect_eof(b, "the second client is refused")
            finally:
                b.close()
            d.wait_line(r"^service one: refused 127\.0\.0\.1:\d+: "
                        r"per-source limit", m)
        finally:
            a.close()
        expect_eq(echo_roundtrip(Addr("[::1]:%d" % port["one"]), b"v6\n"),
                  b"v6\n", "an IPv6 client is another source")
        expect(not d.find(r"::ffff:"), "a v4-mapped address in the log")


if __name__ == "__main__":
    main(scenario)
