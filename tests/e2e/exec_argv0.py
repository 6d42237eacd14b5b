#!/usr/bin/env python3
"""exec_argv0 -- `argv0` gives an exec'd program an argv[0] other than its
path, as inetd's server-program-arguments field and xinetd's NAMEINARGS do.

Asserts: /bin/sh run with argv0 = "porter-argv0-test", reading its script
from the connection, prints that name as $0 (a shell script file cannot
show it: the kernel puts the script's path there for its interpreter, so
the shell itself is the program whose argv[0] is checked); the same shell
without argv0 prints its path; args still follow argv[0]; tcpd (when
installed) dispatches on argv[0] and runs the real server named there,
which is the reason the option exists; porterd --check refuses argv0 on a
plugin service with file:line.
"""
import os
import re
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (PORTERD, conf_service, connect, expect,  # noqa
                        expect_eq, main, recv_all, run_porterd)

TCPD = "/usr/sbin/tcpd"

# What the client sends the shell: the "script that prints its $0".
SCRIPT = b'echo "argv0=$0"\necho "args=$*"\n'

REAL_SERVER = """#!/bin/sh
echo "real-server-ran"
echo "remote=$REMOTE_ADDR"
"""


def ask_shell(addr):
    """Sends SCRIPT, returns the shell's output lines."""
    s = connect(addr)
    try:
        s.sendall(SCRIPT)
        s.shutdown(socket.SHUT_WR)
        return recv_all(s).decode("utf-8", "replace").splitlines()
    finally:
        s.close()


def scenario(t):
    tmp = t.tmpdir()
    conf = conf_service("named", listen=["127.0.0.1:0"], exec_="/bin/sh",
                        argv0="porter-argv0-test", args=["-s", "a1", "a2"],
                        user="root")
    conf += conf_service("plain", listen=["127.0.0.1:0"], exec_="/bin/sh",
                         user="root")
    have_tcpd = os.access(TCPD, os.X_OK)
    real = None
    if have_tcpd:
        real = t.write(os.path.join(tmp, "in.porter-test"), REAL_SERVER,
                       0o755)
        # tcpd runs argv[0] itself when it is an absolute path.
        conf += conf_service("wrapped", listen=["127.0.0.1:0"],
                             exec_=TCPD, argv0=real, user="root")
    else:
        t.note("%s not installed (Debian package tcpd): tcpd case skipped"
               % TCPD)
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path)

    with t.case("ready"):
        d.wait_ready()

    with t.case("argv0 set: the program's $0 is the configured name"):
        out = ask_shell(d.addr("named"))
        expect_eq([x for x in out if x.startswith("argv0=")],
                  ["argv0=porter-argv0-test"], "$0")
        expect_eq([x for x in out if x.startswith("args=")],
                  ["args=a1 a2"], "the args after argv[0]")

    with t.case("argv0 unset: $0 is the exec path"):
        out = ask_shell(d.addr("plain"))
        expect_eq([x for x in out if x.startswith("argv0=")],
                  ["argv0=/bin/sh"], "$0")

    with t.case("the log names the program path, not argv0"):
        d.wait_line(r"^service named: 127\.0\.0\.1:\d+: exec /bin/sh pid "
                    r"\d+: exit 0")

    if have_tcpd:
        with t.case("tcpd dispatches on argv[0] to the real server"):
            s = connect(d.addr("wrapped"))
            try:
                s.shutdown(socket.SHUT_WR)
                out = recv_all(s).decode("utf-8", "replace").splitlines()
            finally:
                s.close()
            expect("real-server-ran" in out,
                   "tcpd did not run %s: %r" % (real, out))
            expect("remote=127.0.0.1" in out,
                   "the environment did not pass through tcpd: %r" % out)

    with t.case("SIGTERM exits 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")

    with t.case("--check refuses argv0 on a plugin service, file:line"):
        bad = t.write(os.path.join(tmp, "bad.conf"),
                      'service p {\n    plugin = "echo"\n    port = 7\n'
                      '    argv0 = "x"\n}\n')
        rc, out, err = run_porterd(["--check", "-f", bad])
        expect(rc != 0, "--check accepted argv0 on a plugin")
        expect(re.search(r"bad\.conf:4: service 'p': argv0 applies to exec "
                         r"services only", err),
               "message: %r" % err)


if __name__ == "__main__":
    main(scenario)
