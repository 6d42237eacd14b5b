#!/usr/bin/env python3
"""daemonize -- porterd without -n detaches only once its sockets are open.

Asserts: a bind failure is reported by the command the operator ran (exit 1,
the message on stderr) instead of vanishing in a detached child; a good
start returns 0 after the listeners are open, writes the pid file with the
detached daemon's pid, serves, and on SIGTERM (sent to that pid, the
process this test started) exits and removes the pid file.

A detached start that cannot write its pid file exits 1 and says why on
stderr ("pid file PATH: No such file or directory").  Relative paths are
the start directory's: started in its temp dir with a relative -f, -P
and pid-file, the detached daemon (now in /) writes the pid file there,
and a SIGHUP after a config change re-reads the same file and loads its
plugins from the same directory: the service added is served.
"""
import os
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (WAIT_TIMEOUT, Addr, conf_opts, connect,  # noqa: E402
                        conf_service, echo_roundtrip, expect, expect_eq,
                        main, porterd_command, run_porterd)


def wait_gone(pid, path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not os.path.exists("/proc/%d" % pid) and not os.path.exists(path):
            return True
        time.sleep(0.05)
    return False


def scenario(t):
    d = t.tmpdir()
    pdir = t.plugindir(["echo"], d)
    pidfile = os.path.join(d, "porterd.pid")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    conf = t.write(os.path.join(d, "porterd.conf"),
                   conf_opts(pid_file=pidfile, log_target="stderr",
                             shutdown_timeout=5, strict_start=True) +
                   conf_service("echo", plugin="echo",
                                listen=["127.0.0.1:%d" % port]))
    try:
        with t.case("a bind failure is reported before detaching"):
            rc, _, err = run_porterd(["-f", conf, "-P", pdir])
            expect_eq(rc, 1, "exit status")
            expect("bind 127.0.0.1:%d: Address already in use" % port in err,
                   "stderr names the failed bind: %r" % err)
            expect(not os.path.exists(pidfile), "no pid file")
    finally:
        busy.close()

    with t.case("a good start detaches, writes the pid file and serves"):
        rc, _, err = run_porterd(["-f", conf, "-P", pdir])
        expect_eq(rc, 0, "exit status of the starting command")
        expect("listening on 127.0.0.1:%d" % port in err,
               "listening reported before detaching: %r" % err)
        with open(pidfile) as f:
            pid = int(f.read().strip())
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                expect(b"porterd" in f.read(), "pid file names porterd")
            a = Addr("127.0.0.1:%d" % port)
            expect_eq(echo_roundtrip(a, b"detached"), b"detached", "echo")
        finally:
            os.kill(pid, signal.SIGTERM)
        expect(wait_gone(pid, pidfile),
               "SIGTERM stops the detached daemon and removes its pid file")

    with t.case("a pid file that cannot be written: exit 1, reason on "
                "stderr"):
        bad = os.path.join(d, "nodir", "porterd.pid")
        conf2 = t.write(os.path.join(d, "badpid.conf"),
                        conf_opts(pid_file=bad, shutdown_timeout=5) +
                        conf_service("echo", plugin="echo",
                                     listen=["127.0.0.1:0"]))
        rc, _, err = run_porterd(["-f", conf2, "-P", pdir])
        expect_eq(rc, 1, "exit status")
        expect("pid file %s: No such file or directory" % bad in err,
               "stderr: %r" % err[-500:])

    relative(t, d, pdir)


def relative(t, d, pdir):
    sock = os.path.join(d, "added.sock")
    head = conf_opts(pid_file="rel.pid", shutdown_timeout=5)
    first = conf_service("echo", plugin="echo", listen=["127.0.0.1:0"])
    t.write(os.path.join(d, "rel.conf"), head + first)
    cmd = porterd_command() + ["-f", "rel.conf", "-P",
                               os.path.relpath(pdir, d)]
    with t.case("relative -f, -P, pid-file: a detached start writes the "
                "pid file in the start directory"):
        p = subprocess.run(cmd, cwd=d, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=WAIT_TIMEOUT)
        expect_eq(p.returncode, 0, "exit status (stderr %r)" % p.stderr)
        with open(os.path.join(d, "rel.pid")) as f:
            pid = int(f.read().strip())
    try:
        with t.case("after detaching, a reload finds the config and the "
                    "plugins by their relative names"):
            t.write(os.path.join(d, "rel.conf"), head + first +
                    conf_service("added", plugin="echo", listen=[sock]))
            os.kill(pid, signal.SIGHUP)
            deadline = time.monotonic() + WAIT_TIMEOUT
            # The file appears at bind(), before listen(): until then a
            # client is refused.
            while time.monotonic() < deadline:
                try:
                    connect(Addr(sock)).close()
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    time.sleep(0.05)
            expect_eq(echo_roundtrip(Addr(sock), b"reloaded"),
                      b"reloaded", "echo on the added service")
    finally:
        os.kill(pid, signal.SIGTERM)
    expect(wait_gone(pid, os.path.join(d, "rel.pid")),
           "SIGTERM stops it and removes the relative pid file")


if __name__ == "__main__":
    main(scenario)
