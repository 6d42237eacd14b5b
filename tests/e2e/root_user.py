#!/usr/bin/env python3
"""root_user -- running as root, no handler process is root by accident.

As root (exit 77 otherwise): an exec service, and an isolation = process
plugin, with no user anywhere make `porterd -n` exit 1 before "ready"
with "FILE:LINE: service 'NAME': porterd runs as root and no user is set
... (user = "root" to run them as root on purpose)", and --check says
the same.  With user = "root" written out, the exec'd /usr/bin/id runs
as uid 0; with the global user = "nobody", as nobody's uid.
"""
import os
import pwd
import re
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Skip, conf_opts, conf_service, connect,  # noqa
                        expect, expect_eq, main, recv_all, run_porterd)

WHY = "porterd runs as root and no user is set: set the user its " \
    "processes run as (user = \"root\" to run them as root on purpose)"


def id_output(addr):
    s = connect(addr)
    try:
        s.shutdown(socket.SHUT_WR)
        return recv_all(s, 4096).decode("utf-8", "replace")
    finally:
        s.close()


def scenario(t):
    if os.geteuid() != 0:
        raise Skip("the rule applies to root only")
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"])
    lo = ["127.0.0.1:0"]
    for name, opts in (("id", {"exec_": "/usr/bin/id"}),
                       ("iso", {"plugin": "echo", "isolation": "process"})):
        conf = t.write(os.path.join(tmp, name + ".conf"),
                       conf_opts(shutdown_timeout=2) +
                       conf_service(name, listen=lo, **opts))
        want = r"%s:\d+: service '%s': %s" % (re.escape(conf), name,
                                               re.escape(WHY))
        with t.case("%s without a user: refused at start and by --check"
                    % name):
            for args in (["-n", "-d"], ["--check"]):
                rc, out, err = run_porterd(args + ["-P", plugins, "-f",
                                                   conf])
                expect_eq(rc, 1, "%s exit status" % args[0])
                expect(re.search(want, err), "stderr: %s" % err[-500:])
                expect("ready:" not in err and "OK" not in out, "accepted")

    conf = t.write(os.path.join(tmp, "ok.conf"), conf_opts(
        shutdown_timeout=2, user="nobody") +
        conf_service("asroot", listen=lo, exec_="/usr/bin/id", user="root") +
        conf_service("asnobody", listen=lo, exec_="/usr/bin/id"))
    d = t.porterd(conf, plugins)
    with t.case("user = \"root\" and a global user: ready"):
        d.wait_line(r"^ready: 2 services")
    with t.case("user = \"root\": the program runs as uid 0"):
        out = id_output(d.addr("asroot"))
        expect(out.startswith("uid=0("), "id printed %r" % out)
    with t.case("global user = \"nobody\": the program runs as nobody"):
        out = id_output(d.addr("asnobody"))
        expect(out.startswith("uid=%d(" % pwd.getpwnam("nobody").pw_uid),
               "id printed %r" % out)
    with t.case("SIGTERM: exit 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
