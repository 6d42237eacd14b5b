#!/usr/bin/env python3
"""wait_options -- limits that cannot apply to a wait (datagram) service.

A wait service runs one handler on the bound socket: porterd accepts
nothing for it.  max-connections, max-per-source, idle-timeout (and
reject-message) written in such a service's section are refused at load
with FILE:LINE, by `porterd -n` (exit 1, never ready) and by --check;
so is max-lifetime on a wait plugin running in a thread, which porterd
could not stop.  The global defaults of those options do not apply to
wait services and are no error: with max-connections = 1,
max-per-source = 1, idle-timeout = 1 and max-lifetime = 1 set globally,
a datagram echo service starts and answers ten datagrams in a row from
one address, before and after those seconds have passed.
"""
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (conf_opts, conf_service, dgram_request,  # noqa
                        expect, expect_eq, main, run_porterd)

REFUSED = [
    ("max-connections", 4, "max-connections does not apply to a wait "
     "service"),
    ("max-per-source", 1, "max-per-source does not apply to a wait "
     "service"),
    ("idle-timeout", 30, "idle-timeout does not apply to a wait service"),
    ("max-lifetime", 60, "max-lifetime needs a handler porterd can stop"),
]


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"])
    for opt, value, reason in REFUSED:
        conf = t.write(os.path.join(tmp, "%s.conf" % opt), conf_opts(
            shutdown_timeout=2) + conf_service(
                "echo-udp", listen=["127.0.0.1:0"], type="dgram",
                plugin="echo", **{opt.replace("-", "_"): value}))
        # conf_service writes the options in order: the limit is line 6.
        line_re = r"%s:6: service 'echo-udp': %s" % (re.escape(conf),
                                                      re.escape(reason))
        with t.case("%s in a datagram service: refused at start" % opt):
            rc, out, err = run_porterd(["-n", "-d", "-P", plugins, "-f",
                                        conf])
            expect_eq(rc, 1, "exit status")
            expect(re.search(line_re, err), "no /%s/ in: %s"
                   % (line_re, err[-500:]))
            expect("ready:" not in err, "it said ready")
        with t.case("%s in a datagram service: --check says so" % opt):
            rc, out, err = run_porterd(["--check", "-P", plugins, "-f",
                                        conf])
            expect_eq(rc, 1, "exit status")
            expect(re.search(line_re, err), "stderr: %s" % err[-500:])

    conf = t.write(os.path.join(tmp, "globals.conf"), conf_opts(
        shutdown_timeout=2, max_connections=1, max_per_source=1,
        idle_timeout=1, max_lifetime=1) + conf_service(
            "echo-udp", listen=["127.0.0.1:0"], type="dgram",
            plugin="echo"))
    d = t.porterd(conf, plugins)
    with t.case("global limits: the datagram service starts"):
        d.wait_line(r"^ready: 1 service")
    addr = d.addr("echo-udp")
    for when in ("at once", "after the global timeouts"):
        if when != "at once":
            time.sleep(1.5)
        with t.case("ten datagrams from one address, %s: ten answers"
                    % when):
            for i in range(10):
                msg = b"dgram %d\n" % i
                expect_eq(dgram_request(addr, msg), msg, "reply %d" % i)
    with t.case("SIGTERM: exit 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
