#!/usr/bin/env python3
"""pool_crash_load -- a segfaulting pooled plugin under load loses only
the connections that crash.

A pooled service (isolation = process, pool-max = 4) of the whoami test
plugin, which echoes a line and dies of SIGSEGV on "crash".  Eight client
threads run 40 connections each, every fifth of them asking for a crash,
all at once (so crashes land while other workers of the pool serve).

Asserts: every one of the 256 healthy connections gets its own line back
(no error, no reset, no lost answer); each of the 64 crashing ones gets
nothing, and is logged "killed by signal 11" with its own port; an
in-process service of the same porterd answers meanwhile; the pool
process is still the one that started (not restarted) and serves after.
"""
import os
import re
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Skip, conf_opts, conf_service, expect,  # noqa
                        expect_eq, main, proc_children, recv_or_reset)

THREADS = 8
PER_THREAD = 40
CRASH_EVERY = 5
IO_TIMEOUT = 20


def line_of(addr, what):
    """Sends what + newline; returns (local port, what came back)."""
    s = socket.create_connection((addr.host, addr.port), timeout=IO_TIMEOUT)
    try:
        port = s.getsockname()[1]
        s.sendall(what + b"\n")
        if what == b"crash":
            return port, recv_or_reset(s)
        data = b""
        while not data.endswith(b"\n"):
            x = s.recv(4096)
            if not x:
                break
            data += x
        return port, data
    finally:
        s.close()


def scenario(t):
    if os.geteuid() != 0:
        raise Skip("needs root to switch users")
    tmp = t.tmpdir()
    plugins = t.plugindir(["whoami", "echo"], tmp)
    conf = conf_opts(shutdown_timeout=5, max_per_source=0)
    conf += conf_service("pooled", listen=["127.0.0.1:0"], plugin="whoami",
                         isolation="process", user="nobody", pool_max=4)
    conf += conf_service("echo", listen=["127.0.0.1:0"], plugin="echo")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)
    d.wait_line(r"^ready: 2 services")
    pooled, echo = d.addr("pooled"), d.addr("echo")
    _, first = line_of(pooled, b"warm")
    expect_eq(first, b"warm\n", "first answer")
    pools = [p for p in proc_children(d.pid) if proc_children(p)]

    healthy, crashed, errors = [], [], []
    lock = threading.Lock()

    def client(n):
        for i in range(PER_THREAD):
            crash = i % CRASH_EVERY == n % CRASH_EVERY
            what = b"crash" if crash else b"t%d-%d" % (n, i)
            try:
                port, got = line_of(pooled, what)
            except OSError as e:
                with lock:
                    errors.append("%s: %r" % (what.decode(), e))
                continue
            with lock:
                if crash:
                    crashed.append((port, got))
                else:
                    healthy.append((what, got))

    with t.case("%d clients x %d connections, every %dth crashing" %
                (THREADS, PER_THREAD, CRASH_EVERY)):
        mark = d.mark()
        threads = [threading.Thread(target=client, args=(n,))
                   for n in range(THREADS)]
        for th in threads:
            th.start()
        # The in-process service answers while the pool crashes.
        for i in range(5):
            _, got = line_of(echo, b"meanwhile %d" % i)
            expect_eq(got, b"meanwhile %d\n" % i, "in-process echo")
        for th in threads:
            th.join(IO_TIMEOUT * PER_THREAD)
        expect(not any(th.is_alive() for th in threads), "clients hang")
        expect_eq(errors, [], "client errors")
        want = THREADS * PER_THREAD // CRASH_EVERY
        expect_eq(len(healthy), THREADS * PER_THREAD - want,
                  "healthy connections")
        bad = [(w, g) for w, g in healthy if g != w + b"\n"]
        expect_eq(bad[:5], [], "healthy answers that differ")
        expect_eq(len(crashed), want, "crashing connections")
        expect_eq([g for _, g in crashed if g], [], "a crash's answer")
        for port, _ in crashed:
            m = d.wait_line(r"^service pooled: 127\.0\.0\.1:%d: plugin "
                            r"whoami pid \d+: (.*) in " % port, since=mark)
            expect(m.group(1).startswith("killed by signal 11"),
                   "port %d: %r" % (port, m.group(1)))

    with t.case("the pool was not restarted and still serves"):
        _, got = line_of(pooled, b"after")
        expect_eq(got, b"after\n", "answer after")
        now = [p for p in proc_children(d.pid) if proc_children(p)]
        expect_eq(now, pools, "pool processes")
        expect_eq(len(d.find(r"^service pooled: worker pool started")), 1,
                  "pool starts")

    with t.case("SIGTERM: exit 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
