#!/usr/bin/env python3
"""run_as_privsep -- with run-as, porterd and its handlers do not share a
uid, and a clean exit removes the files porterd made as root.

Asserts (as root; skipped otherwise): with run-as = daemon, porterd's
/proc status shows uid daemon and an effective capability set of exactly
CAP_SETUID, CAP_SETGID and CAP_KILL (plus CAP_SYS_RESOURCE, since a
service sets an rlimit, where the bounding set has it); a handler running as nobody has no capability at
all, and its `kill -STOP $PPID` at porterd fails with "Operation not
permitted" while porterd keeps serving; an isolated plugin child runs as
nobody too; after SIGTERM the pid file and the UNIX socket, both in a
root-only directory, are gone.
"""
import os
import pwd
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Addr, Skip, connect, conf_opts, conf_service,  # noqa
                        echo_roundtrip, expect, expect_eq, main, recv_all)

SCRIPT = """#!/bin/sh
echo "uid=$(id -u)"
grep -E '^Cap(Eff|Prm):' /proc/self/status
kill -STOP $PPID 2>&1 && echo stopped-porterd
echo end
"""

CAPS = {"CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_KILL": 5,
        "CAP_SYS_RESOURCE": 24}


def status_of(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f
                    if ":\t" in line)


def scenario(t):
    if os.geteuid() != 0:
        raise Skip("needs root to switch users")
    try:
        daemon, nobody = pwd.getpwnam("daemon"), pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("needs the users daemon and nobody")
    tmp = t.tmpdir()
    os.chmod(tmp, 0o755)
    plugins = t.plugindir(["echo"], tmp)
    script = t.write(os.path.join(tmp, "who.sh"), SCRIPT, 0o755)
    rootonly = os.path.join(tmp, "rootonly")
    os.mkdir(rootonly, 0o755)
    sock = os.path.join(rootonly, "echo.sock")
    pidfile = os.path.join(rootonly, "porterd.pid")
    conf = conf_opts(shutdown_timeout=5, run_as="daemon", pid_file=pidfile)
    conf += conf_service("who", listen=["127.0.0.1:0"], exec_=script,
                         user="nobody", rlimit_nofile=128)
    conf += conf_service("echo", listen=[sock], plugin="echo",
                         isolation="process", user="nobody")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)

    with t.case("ready; porterd runs as daemon with only the caps it needs"):
        d.wait_line(r"^running as daemon .*keeping \d+ capabilities")
        d.wait_line(r"^ready: 2 services")
        st = status_of(d.pid)
        expect_eq(st["Uid"].split(), [str(daemon.pw_uid)] * 4, "Uid")
        # What porterd could hold at all (a container may lack some).
        want = sum(1 << v for v in CAPS.values()) & \
            int(status_of(os.getpid())["CapBnd"], 16)
        expect_eq(int(st["CapEff"], 16), want, "CapEff")
        expect_eq(int(st["CapPrm"], 16), want, "CapPrm")

    with t.case("a handler runs as nobody, without capabilities, and "
                "cannot stop porterd"):
        s = connect(d.addr("who"))
        try:
            out = recv_all(s).decode("utf-8", "replace")
        finally:
            s.close()
        lines = out.splitlines()
        expect("uid=%d" % nobody.pw_uid in lines, "output %r" % out)
        expect("CapEff:\t0000000000000000" in lines and
               "CapPrm:\t0000000000000000" in lines, "caps: %r" % out)
        expect("stopped-porterd" not in out and
               "Operation not permitted" in out, "kill: %r" % out)
        expect(status_of(d.pid)["State"][0] != "T", "porterd is stopped")

    with t.case("an isolated plugin child serves as nobody"):
        data = os.urandom(3000)
        expect(echo_roundtrip(Addr(sock), data) == data, "echo failed")
        d.wait_line(r"^service echo: .*exit 0 in")

    with t.case("a clean exit removes the pid file and the socket"):
        expect(os.path.exists(pidfile) and os.path.exists(sock),
               "the files are not there to begin with")
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")
        for _ in range(100):
            if not os.path.exists(pidfile) and not os.path.exists(sock):
                break
            import time
            time.sleep(0.05)
        expect(not os.path.exists(pidfile), "pid file left behind")
        expect(not os.path.exists(sock), "socket file left behind")


if __name__ == "__main__":
    main(scenario)
