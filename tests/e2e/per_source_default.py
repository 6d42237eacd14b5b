#!/usr/bin/env python3
"""per_source_default -- with only built-in limits, one address cannot
hold every slot of a service.

A TCP echo service with no limit options at all.  127.0.0.1 opens 300
connections and leaves them idle; porterd keeps the default
max-per-source (32) of them and closes the rest at once.  A client from
a second address, 127.0.0.2, is then still echoed at once, and so is a
new one from 127.0.0.1 once its idle connections are closed.
"""
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (IO_TIMEOUT, conf_opts, conf_service,  # noqa
                        expect, expect_eq, main)
from hardening_clients import (connect_from, served_from,  # noqa
                               served_within)

HOLD = 300
DEFAULT = 32


def held_open(socks, secs=1.0):
    """How many of socks are still open after secs: porterd closes each
    connection over the limit at once, keeps the others idle."""
    time.sleep(secs)
    n = 0
    for s in socks:
        s.settimeout(0.01)
        try:
            data = s.recv(1)
            if data:
                n += 1
        except socket.timeout:
            n += 1
        except OSError:
            pass
        finally:
            s.settimeout(IO_TIMEOUT)
    return n


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"])
    conf = t.write(os.path.join(tmp, "porterd.conf"),
                   conf_opts(shutdown_timeout=2, log_level="warning") +
                   conf_service("echo", listen=["127.0.0.1:0"],
                                plugin="echo", backlog=512))
    d = t.porterd(conf, plugins)
    with t.case("ready with only built-in limits"):
        d.wait_line(r"^ready: 1 service")
    addr = d.addr("echo")
    socks = []
    try:
        with t.case("127.0.0.1 opens %d idle connections" % HOLD):
            for _ in range(HOLD):
                socks.append(connect_from(addr, "127.0.0.1"))
        with t.case("porterd keeps %d of them, closes the rest" % DEFAULT):
            expect_eq(held_open(socks), DEFAULT, "connections held open")
        with t.case("a client from 127.0.0.2 is still served"):
            served_from(addr, "127.0.0.2")
    finally:
        for s in socks:
            s.close()
    with t.case("with its connections closed, 127.0.0.1 is served again"):
        served_within(addr, "127.0.0.1")
    with t.case("SIGTERM: exit 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
