#!/usr/bin/env python3
"""process_isolation -- a plugin that crashes under isolation = process
takes down only its own connection.

Asserts: a connection to the `crash` plugin (SIGSEGV in handle) is closed;
the log names the child's pid (not porterd's) "killed by signal 11"; porterd
is still running; an in-process echo service in the same daemon still
works; the crash service still accepts and crashes again (the listener
survives); echo with isolation = process works and logs "exit 0"; several
crashes in parallel are all reaped and logged.
"""
import os
import socket
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (connect, conf_opts, conf_service, echo_roundtrip,  # noqa
                        expect, expect_eq, main)

CRASH_RE = (r"^service crash: 127\.0\.0\.1:%d: plugin crash pid (\d+): "
            r"killed by signal 11 \(Segmentation fault\)")


def crash_once(addr):
    """Connects to the crash service, sends a line, expects the connection
    closed or reset.  Returns the client's port."""
    s = connect(addr)
    try:
        port = s.getsockname()[1]
        try:
            s.sendall(b"boom\n")
            data = s.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        expect(not data or b"boom" not in data,
               "the crash service answered %r" % data)
        # Whatever it sent, the connection must end.
        try:
            while data:
                data = s.recv(4096)
        except ConnectionResetError:
            pass
        return port
    finally:
        s.close()


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["crash", "echo"], tmp)
    conf = conf_opts(shutdown_timeout=5)
    conf += conf_service("crash", listen=["127.0.0.1:0"], plugin="crash",
                         isolation="process",
                         user="root")
    conf += conf_service("echo", listen=["127.0.0.1:0"], plugin="echo")
    conf += conf_service("echoproc", listen=["127.0.0.1:0"], plugin="echo",
                         isolation="process",
                         user="root")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)

    with t.case("ready with 3 services"):
        d.wait_line(r"^ready: 3 services")
    crash, echo = d.addr("crash"), d.addr("echo")

    with t.case("the crashing connection is closed and the crash logged"):
        port = crash_once(crash)
        m = d.wait_line(CRASH_RE % port)
        expect(int(m.group(1)) != d.pid, "the pid logged is porterd's own")

    with t.case("porterd is still running"):
        expect(d.alive(), "porterd exited with %s" % d.proc.returncode)

    with t.case("the in-process echo service still works"):
        expect_eq(echo_roundtrip(echo, b"still here\n"), b"still here\n",
                  "echo")

    with t.case("the crash service still accepts, and crashes again"):
        port = crash_once(crash)
        d.wait_line(CRASH_RE % port)

    with t.case("echo with isolation = process works and exits 0"):
        s = connect(d.addr("echoproc"))
        try:
            port = s.getsockname()[1]
            for msg in (b"first\n", b"second\n"):
                s.sendall(msg)
                expect_eq(s.recv(100), msg, "echo")
            s.shutdown(socket.SHUT_WR)
            expect_eq(s.recv(100), b"", "EOF after half-close")
        finally:
            s.close()
        m = d.wait_line(r"^service echoproc: 127\.0\.0\.1:%d: plugin echo "
                        r"pid (\d+): exit 0 in " % port)
        expect(int(m.group(1)) != d.pid, "handled in porterd's own process")

    with t.case("eight parallel crashes are all reaped and logged"):
        ports, errs = [], []

        def one():
            try:
                ports.append(crash_once(crash))
            except Exception as e:  # reported below
                errs.append(e)
        ths = [threading.Thread(target=one) for _ in range(8)]
        for th in ths:
            th.start()
        for th in ths:
            th.join(10)
        expect(not errs, "clients failed: %r" % errs[:3])
        for p in ports:
            d.wait_line(CRASH_RE % p)
        expect(d.alive(), "porterd exited")
        expect_eq(echo_roundtrip(echo, b"ok"), b"ok", "echo afterwards")

    with t.case("SIGTERM: porterd exits 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
