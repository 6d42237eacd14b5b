#!/usr/bin/env python3
"""notify -- porterd speaks sd_notify(3) as a Type=notify service.

The test plays the service manager: it binds an AF_UNIX datagram socket,
passes it as NOTIFY_SOCKET, and reads what porterd sends.  Asserts, in
order: READY=1 (with STATUS= naming the services) once listeners are open;
on SIGHUP, RELOADING=1 with MONOTONIC_USEC, then READY=1; on a failed
reload, RELOADING=1 then READY=1 again (the old config keeps running); on
SIGTERM, STOPPING=1.  With WATCHDOG_USEC set, WATCHDOG=1 arrives repeatedly
from the event loop.
"""
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (conf_opts, conf_service, echo_roundtrip,  # noqa: E402
                        expect, expect_eq, main)


class Manager:
    """The NOTIFY_SOCKET end: collects porterd's messages as dicts."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)

    def next(self, timeout=10.0):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            expect(False, "no notification within %.0f s" % timeout)
        msg = {}
        for line in data.decode().split("\n"):
            if "=" in line:
                k, v = line.split("=", 1)
                msg[k] = v
        return msg

    def expect(self, key, skip_watchdog=True):
        """The next message that is not a watchdog ping must carry key."""
        while True:
            msg = self.next()
            if skip_watchdog and set(msg) == {"WATCHDOG"}:
                continue
            expect(key in msg, "expected %s=, got %r" % (key, msg))
            return msg

    def close(self):
        self.sock.close()


def scenario(t):
    d = t.tmpdir()
    conf_path = os.path.join(d, "porterd.conf")
    good = conf_opts(shutdown_timeout=5) + conf_service(
        "echo", plugin="echo", listen=["127.0.0.1:0"])
    t.write(conf_path, good)
    pdir = t.plugindir(["echo"], d)
    mgr = Manager(os.path.join(d, "notify"))
    env = dict(os.environ, NOTIFY_SOCKET=mgr.path, WATCHDOG_USEC="200000")
    env.pop("WATCHDOG_PID", None)
    p = t.porterd(conf_path, pdir, env=env)
    try:
        with t.case("READY=1 with STATUS once the listeners are open"):
            msg = mgr.expect("READY")
            expect_eq(msg["READY"], "1", "READY")
            expect("1 services" in msg.get("STATUS", ""),
                   "STATUS names the services: %r" % msg)
            a = p.wait_ready()["echo"][0]
            expect_eq(echo_roundtrip(a, b"ready"), b"ready", "serving")

        with t.case("WATCHDOG=1 pings from the event loop"):
            start = time.monotonic()
            pings = 0
            while pings < 3:
                if set(mgr.next(timeout=2.0)) == {"WATCHDOG"}:
                    pings += 1
            expect(time.monotonic() - start < 2.0,
                   "three pings at 100 ms intervals took %.2f s"
                   % (time.monotonic() - start))

        with t.case("RELOADING=1 with MONOTONIC_USEC, then READY=1"):
            p.signal(1)
            msg = mgr.expect("RELOADING")
            usec = int(msg.get("MONOTONIC_USEC", "0"))
            now = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
            expect(0 < usec <= now and now - usec < 10e6,
                   "MONOTONIC_USEC %d close to now %d" % (usec, now))
            expect_eq(mgr.expect("READY")["READY"], "1", "READY after reload")

        with t.case("a failed reload still ends in READY=1"):
            t.write(conf_path, good + "bogus-option = 1\n")
            mark = p.mark()
            p.signal(1)
            mgr.expect("RELOADING")
            expect_eq(mgr.expect("READY")["READY"], "1", "READY")
            p.wait_line(r"^reload failed: .*keeping the running config",
                        mark)
            a = p.addr("echo")
            expect_eq(echo_roundtrip(a, b"still"), b"still", "old config")

        with t.case("STOPPING=1 on SIGTERM, then exit 0"):
            p.signal(15)
            mgr.expect("STOPPING")
            expect_eq(p.wait_exit(), 0, "exit status")
    finally:
        mgr.close()


if __name__ == "__main__":
    main(scenario)
