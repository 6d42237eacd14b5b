#!/usr/bin/env python3
"""concurrency -- a slow client occupies only its own handler.

Asserts: while 5 echo connections are open and idle (the client sends
nothing), a new echo round trip completes within 2 s; the same with 5 idle
connections to an isolation = process echo and to an exec (/bin/cat)
service; 20 clients in parallel all get their own bytes back; the idle
connections still echo afterwards.
"""
import os
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Failure, connect, conf_opts, conf_service,  # noqa
                        echo_roundtrip, expect, expect_eq, main, recv_exact)

IDLE = 5


def timed_roundtrip(addr, data, limit):
    t0 = time.monotonic()
    s = connect(addr, timeout=limit)
    try:
        s.sendall(data)
        got = recv_exact(s, len(data))
    except socket.timeout:
        raise Failure("no echo within %.1f s" % limit)
    finally:
        s.close()
    took = time.monotonic() - t0
    expect_eq(got, data, "echo")
    expect(took <= limit, "took %.2f s" % took)
    return took


def idle_then_roundtrip(t, d, service):
    addr = d.addr(service)
    idle = []
    try:
        with t.case("%s: a round trip within 2 s while %d connections idle"
                    % (service, IDLE)):
            for _ in range(IDLE):
                idle.append(connect(addr))
            took = timed_roundtrip(addr, b"through\n", 2.0)
            t.note("round trip took %.3f s" % took)
        with t.case("%s: the idle connections still echo" % service):
            expect(idle, "no idle connections were opened")
            for i, s in enumerate(idle):
                msg = b"idle %d\n" % i
                s.sendall(msg)
                expect_eq(recv_exact(s, len(msg)), msg, "idle echo")
    finally:
        for s in idle:
            s.close()


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"], tmp)
    conf = conf_opts(shutdown_timeout=5)
    conf += conf_service("echo", listen=["127.0.0.1:0"], plugin="echo")
    conf += conf_service("echoproc", listen=["127.0.0.1:0"], plugin="echo",
                         isolation="process",
                         user="root")
    conf += conf_service("cat", listen=["127.0.0.1:0"], exec_="/bin/cat",
                         user="root")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)

    with t.case("ready with 3 services"):
        d.wait_line(r"^ready: 3 services")

    for svc in ("echo", "echoproc", "cat"):
        idle_then_roundtrip(t, d, svc)

    with t.case("20 parallel clients each get their own 32 KB back"):
        addr = d.addr("echo")
        results, errs = {}, []

        def client(i):
            data = bytes([i]) * 32768 + os.urandom(64)
            try:
                results[i] = echo_roundtrip(addr, data) == data
            except Exception as e:  # reported below
                errs.append(e)
        ths = [threading.Thread(target=client, args=(i,)) for i in range(20)]
        for th in ths:
            th.start()
        for th in ths:
            th.join(15)
        expect(not errs, "client errors: %r" % errs[:3])
        bad = [i for i in range(20) if not results.get(i)]
        expect(not bad, "clients with wrong or no data: %r" % bad)

    with t.case("SIGTERM: porterd exits 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
