#!/usr/bin/env python3
"""exec_service -- services run the inetd way: a program with the
connection on fds 0 and 1.

Asserts: exec = "/bin/cat" echoes and is logged with "exit 0"; a script
sees argv[0] = its path and the configured args (one with a space); the
UCSPI environment (PROTO=TCP, TCPREMOTEIP/PORT, TCPLOCALIP/PORT,
REMOTE_ADDR/PORT) matches the client's and the server's socket, over IPv4
and IPv6; `env` entries are set; porterd's own environment is NOT passed
on (a marker variable set for porterd is absent); the program holds no
descriptor besides 0, 1, 2 (no listening socket leaks); a program's exit
status 3 is logged; with stderr = log its stderr reaches porterd's log.
"""
import os
import re
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (connect, conf_opts, conf_service, echo_roundtrip,  # noqa
                        expect, expect_eq, ipv6_available, main, recv_all)

MARKER = "PORTER_E2E_MARKER"

ENV_SCRIPT = """#!/bin/sh
echo "argv0=$0"
echo "argc=$#"
for a in "$@"; do echo "arg=$a"; done
env | sed 's/^/env:/'
echo "fds-begin"
ls -l /proc/self/fd
echo "fds-end"
echo "end"
"""

EXIT3_SCRIPT = """#!/bin/sh
echo "porter-e2e-stderr-line" >&2
exit 3
"""


def run_env_script(addr):
    """Connects, reads the script's output; returns (client sockname,
    argv0, args, env dict, fd listing lines)."""
    s = connect(addr)
    try:
        me = s.getsockname()
        s.shutdown(socket.SHUT_WR)
        out = recv_all(s).decode("utf-8", "replace")
    finally:
        s.close()
    lines = out.splitlines()
    expect(lines and lines[-1] == "end", "script output incomplete: %r"
           % out[-300:])
    argv0 = [x[6:] for x in lines if x.startswith("argv0=")]
    args = [x[4:] for x in lines if x.startswith("arg=")]
    env = dict(x[4:].split("=", 1) for x in lines
               if x.startswith("env:") and "=" in x)
    fds = lines[lines.index("fds-begin") + 1:lines.index("fds-end")] \
        if "fds-begin" in lines and "fds-end" in lines else []
    return me, argv0[0] if argv0 else None, args, env, fds


def check_fds(fds):
    """ls -l /proc/self/fd: 0, 1, 2 and the directory ls itself opened."""
    names = {}
    for x in fds:
        m = re.search(r" (\d+) -> (.*)$", x)
        if m:
            names[int(m.group(1))] = m.group(2)
    expect({0, 1, 2} <= set(names), "fds 0-2 not all open: %r" % names)
    expect(names[0].startswith("socket:") and names[1] == names[0],
           "fds 0 and 1 are not the connection: %r" % names)
    extra = {k: v for k, v in names.items() if k > 2}
    own = [k for k, v in extra.items() if v.startswith("/proc/")]
    leaked = {k: v for k, v in extra.items() if k not in own[:1]}
    expect(not leaked, "descriptors leaked into the program: %r" % leaked)


def scenario(t):
    v6 = ipv6_available()
    tmp = t.tmpdir()
    env_sh = t.write(os.path.join(tmp, "env.sh"), ENV_SCRIPT, 0o755)
    exit3_sh = t.write(os.path.join(tmp, "exit3.sh"), EXIT3_SCRIPT, 0o755)
    listen = ["127.0.0.1:0"] + (["[::1]:0"] if v6 else [])
    conf = conf_opts(shutdown_timeout=5)
    conf += conf_service("cat", listen=["127.0.0.1:0"], exec_="/bin/cat",
                         user="root")
    conf += conf_service("envdump", listen=listen, exec_=env_sh,
                         args=["one", "two words"],
                         env=["FOO=bar", "LANG=C"],
                         user="root")
    conf += conf_service("exit3", listen=["127.0.0.1:0"], exec_=exit3_sh,
                         stderr="log",
                         user="root")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    env = dict(os.environ)
    env[MARKER] = "leaked"
    d = t.porterd(path, env=env)

    with t.case("ready with 3 services"):
        d.wait_ready()
        d.wait_line(r"^ready: 3 services")

    with t.case("exec /bin/cat echoes 64 KB and exits 0"):
        data = os.urandom(65536)
        got = echo_roundtrip(d.addr("cat"), data)
        expect(got == data, "%d bytes back, differing" % len(got))
        d.wait_line(r"^service cat: 127\.0\.0\.1:\d+: exec /bin/cat pid "
                    r"\d+: exit 0 in [0-9.]+s")

    fams = [(socket.AF_INET, "IPv4")] + ([(socket.AF_INET6, "IPv6")]
                                         if v6 else [])
    for fam, tag in fams:
        addr = d.addr("envdump", fam)
        res = {}
        with t.case("%s: the script runs and reports" % tag):
            res["r"] = run_env_script(addr)
        if "r" not in res:
            continue
        me, argv0, args, penv, fds = res["r"]
        with t.case("%s: argv[0] is the program path, then the args" % tag):
            expect_eq(argv0, env_sh, "argv[0]")
            expect_eq(args, ["one", "two words"], "args")
        with t.case("%s: UCSPI variables match the sockets" % tag):
            expect_eq(penv.get("PROTO"), "TCP", "PROTO")
            expect_eq(penv.get("TCPREMOTEIP"), me[0], "TCPREMOTEIP")
            expect_eq(penv.get("TCPREMOTEPORT"), str(me[1]), "TCPREMOTEPORT")
            expect_eq(penv.get("TCPLOCALIP"), addr.host, "TCPLOCALIP")
            expect_eq(penv.get("TCPLOCALPORT"), str(addr.port),
                      "TCPLOCALPORT")
            expect_eq(penv.get("REMOTE_ADDR"), me[0], "REMOTE_ADDR")
            expect_eq(penv.get("REMOTE_PORT"), str(me[1]), "REMOTE_PORT")
        with t.case("%s: env from the config is set" % tag):
            expect_eq(penv.get("FOO"), "bar", "FOO")
            expect_eq(penv.get("LANG"), "C", "LANG")
        with t.case("%s: porterd's own environment is not inherited" % tag):
            expect(MARKER not in penv, "%s=%s reached the program"
                   % (MARKER, penv.get(MARKER)))
        with t.case("%s: the program holds only fds 0, 1, 2" % tag):
            check_fds(fds)

    with t.case("a failing program's exit status 3 is logged"):
        s = connect(d.addr("exit3"))
        try:
            expect_eq(recv_all(s), b"", "output")
        finally:
            s.close()
        d.wait_line(r"^service exit3: 127\.0\.0\.1:\d+: exec %s pid \d+: "
                    r"exit 3 in " % re.escape(exit3_sh))
    with t.case("stderr = log: the program's stderr reaches porterd's log"):
        d.wait_line(r"porter-e2e-stderr-line")

    with t.case("porterd still runs; SIGTERM exits 0"):
        expect(d.alive(), "porterd exited")
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
