#!/usr/bin/env python3
"""ctxdump -- the context a plugin's handle() sees.

The ctxdump test plugin writes its pt_plugin_ctx as "key=value" lines
(service, socktype, wait, argc, one arg= per arg, peer, local, state).
Asserts, in-process and under isolation = process, over IPv4 (and IPv6
when available): the service name; socktype 1 (SOCK_STREAM); wait 0;
argc and the args in order (one with spaces, one empty); peer equal to the
client's own address; local equal to the server's listening address; the
state init stored ("ctxdump-state").
"""
import os
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (connect, conf_opts, conf_service, expect,  # noqa
                        expect_eq, ipv6_available, main, recv_all)

ARGS = ["alpha", "beta gamma", "", "--delta=1"]


def fmt(family, sockaddr):
    host, port = sockaddr[0], sockaddr[1]
    return "[%s]:%d" % (host, port) if family == socket.AF_INET6 \
        else "%s:%d" % (host, port)


def dump(addr):
    """Connects, returns (client's own address text, lines, dict)."""
    s = connect(addr)
    try:
        me = fmt(addr.family, s.getsockname())
        s.shutdown(socket.SHUT_WR)
        text = recv_all(s, 65536).decode("utf-8", "replace")
    finally:
        s.close()
    lines = text.split("\n")
    expect(lines and lines[-1] == "", "output does not end in a newline: "
           "%r" % text[-100:])
    lines = lines[:-1]
    kv = {}
    for x in lines:
        expect("=" in x, "line without '=': %r" % x)
        k, v = x.split("=", 1)
        if k != "arg":
            expect(k not in kv, "key %s twice" % k)
            kv[k] = v
    return me, lines, kv


def scenario(t):
    v6 = ipv6_available()
    tmp = t.tmpdir()
    plugins = t.plugindir(["ctxdump"], tmp)
    listen = ["127.0.0.1:0"] + (["[::1]:0"] if v6 else [])
    conf = conf_opts(shutdown_timeout=5)
    conf += conf_service("ctx", listen=listen, plugin="ctxdump", args=ARGS)
    conf += conf_service("ctxproc", listen=listen, plugin="ctxdump",
                         args=ARGS, isolation="process",
                         user="root")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)
    with t.case("ready with 2 services"):
        d.wait_line(r"^ready: 2 services")

    fams = [(socket.AF_INET, "IPv4")] + ([(socket.AF_INET6, "IPv6")]
                                         if v6 else [])
    for svc in ("ctx", "ctxproc"):
        for fam, tag in fams:
            addr = d.addr(svc, fam)
            res = {}
            with t.case("%s %s: the plugin dumps its context" % (svc, tag)):
                res["r"] = dump(addr)
            if "r" not in res:
                continue
            me, lines, kv = res["r"]
            with t.case("%s %s: service, socktype, wait" % (svc, tag)):
                expect_eq(kv.get("service"), svc, "service")
                expect_eq(kv.get("socktype"), str(socket.SOCK_STREAM),
                          "socktype")
                expect_eq(kv.get("wait"), "0", "wait")
            with t.case("%s %s: argc and args in order" % (svc, tag)):
                expect_eq(kv.get("argc"), str(len(ARGS)), "argc")
                expect_eq([x[4:] for x in lines if x.startswith("arg=")],
                          ARGS, "args")
            with t.case("%s %s: peer is the client, local the server"
                        % (svc, tag)):
                expect_eq(kv.get("peer"), me, "peer")
                expect_eq(kv.get("local"), addr.text, "local")
            with t.case("%s %s: state is what init stored" % (svc, tag)):
                expect_eq(kv.get("state"), "ctxdump-state", "state")

    with t.case("SIGTERM: porterd exits 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
