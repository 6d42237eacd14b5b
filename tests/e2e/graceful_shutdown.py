#!/usr/bin/env python3
"""graceful_shutdown -- SIGTERM stops accepting, lets live connections
finish, and exits 0; shutdown-timeout bounds the wait.

Asserts: with a connection open mid-echo, SIGTERM logs "shutting down";
new connections are refused soon after (listeners closed, the unix socket
file removed); the open connection keeps echoing and porterd keeps running
while it is open; once the client closes, porterd exits 0.  With an idle
connection never closed, porterd gives up after shutdown-timeout (5 s)
and exits within a bounded time.  SIGINT shuts down like SIGTERM.
"""
import os
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Addr, connect, conf_opts, conf_service,  # noqa
                        echo_roundtrip, expect, expect_eq, expect_refused,
                        main, recv_exact)

TIMEOUT = 5


def start(t, tmp, plugins, tag):
    sock = os.path.join(tmp, "%s.sock" % tag)
    conf = conf_opts(shutdown_timeout=TIMEOUT)
    conf += conf_service("echo", listen=["127.0.0.1:0", sock], plugin="echo")
    path = t.write(os.path.join(tmp, "%s.conf" % tag), conf)
    d = t.porterd(path, plugins)
    d.wait_line(r"^ready: 1 services")
    return d, sock


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"], tmp)

    d, sock = None, None
    with t.case("first daemon ready"):
        d, sock = start(t, tmp, plugins, "a")
    if d is None:
        return
    tcp = d.addr("echo", socket.AF_INET)
    s = connect(tcp)
    try:
        with t.case("a connection is open and echoing"):
            s.sendall(b"part one\n")
            expect_eq(recv_exact(s, 9), b"part one\n", "echo")
        mark = d.mark()
        d.signal(signal.SIGTERM)
        with t.case("SIGTERM: 'shutting down' is logged"):
            d.wait_line(r"^shutting down$", mark)
        with t.case("new TCP connections are refused soon after"):
            expect_refused(tcp, 2.0)
        with t.case("the unix socket file is removed, and refused"):
            expect_refused(Addr(sock), 2.0)
            expect(not os.path.exists(sock), "%s still exists" % sock)
        with t.case("the open connection still echoes, porterd waits"):
            s.sendall(b"part two\n")
            expect_eq(recv_exact(s, 9), b"part two\n", "echo")
            time.sleep(0.5)  # give a premature exit the chance to show
            expect(d.alive(), "porterd exited with the connection open")
    finally:
        s.close()
    with t.case("after the client closes, porterd exits 0"):
        rc = d.wait_exit(TIMEOUT + 5)
        expect(rc is not None, "porterd still running")
        expect_eq(rc, 0, "exit status")
        expect(not d.find(r"^shutdown timeout"), "it hit the timeout")

    d2 = None
    with t.case("second daemon ready"):
        d2, _ = start(t, tmp, plugins, "b")
    if d2 is not None:
        idle = connect(d2.addr("echo", socket.AF_INET))
        try:
            with t.case("an idle connection never closed: porterd gives up "
                        "after shutdown-timeout"):
                # Accepted and running, not still in the backlog (which
                # the SIGTERM would simply close): one echo first.
                idle.sendall(b"x")
                expect_eq(recv_exact(idle, 1), b"x", "echo before SIGTERM")
                t0 = time.monotonic()
                mark = d2.mark()
                d2.signal(signal.SIGTERM)
                d2.wait_line(r"^shutting down$", mark)
                rc = d2.wait_exit(TIMEOUT + 5)
                took = time.monotonic() - t0
                t.note("exited %s after %.1f s" % (rc, took))
                expect(rc is not None, "still running after %d s"
                       % (TIMEOUT + 5))
                expect(took >= TIMEOUT - 1, "exited after %.1f s, before "
                       "shutdown-timeout" % took)
                d2.wait_line(r"^shutdown timeout", mark, 1)
        finally:
            idle.close()

    d3 = None
    with t.case("third daemon ready"):
        d3, _ = start(t, tmp, plugins, "c")
    if d3 is not None:
        with t.case("SIGINT: shutting down, exit 0"):
            expect_eq(echo_roundtrip(d3.addr("echo", socket.AF_INET), b"x"),
                      b"x", "echo")
            d3.signal(signal.SIGINT)
            d3.wait_line(r"^shutting down$")
            expect_eq(d3.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
