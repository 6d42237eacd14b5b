#!/usr/bin/env python3
"""socket_activation -- porterd adopts the sockets systemd passes.

Driven by the real launcher, systemd-socket-activate (no systemd as PID 1):
it binds the sockets, waits for the first connection, then execs porterd
with LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES.  Asserts:
  - one named stream socket (AF_UNIX) serves the service of that name
    instead of its own listen entries (which name a port nobody may bind);
  - several named sockets (AF_UNIX and TCP) go to several services, one of
    them through an explicit "fd:NAME" listen entry;
  - a datagram socket (--datagram) serves a dgram service;
  - a passed socket no service claims is reported once and closed;
  - a SIGHUP reload keeps the adopted socket ("keeping"), and it still
    serves, also for a connection opened before the reload;
  - a stream socket named for a dgram service is refused with a message.
"""
import os
import shutil
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Addr, Skip, conf_opts, conf_service,  # noqa: E402
                        connect, echo_roundtrip, expect, expect_eq, main,
                        recv_exact)

SSA = shutil.which("systemd-socket-activate") or \
    "/usr/bin/systemd-socket-activate"


def free_tcp_port():
    """A loopback port free right now (the launcher cannot bind port 0)."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def activated(t, conf_text, listens, names, datagram=False, plugins=None):
    """A Porterd started under systemd-socket-activate (not yet running:
    the launcher execs porterd on the first connection)."""
    d = t.tmpdir()
    conf = t.write(os.path.join(d, "porterd.conf"),
                   conf_opts(shutdown_timeout=5) + conf_text)
    pdir = t.plugindir(plugins or ["echo", "daytime"], d)
    p = t.porterd(conf, pdir, start=False)
    pre = [SSA]
    for spec in listens:
        pre += ["-l", spec]
    if datagram:
        pre.append("--datagram")
    pre.append("--fdname=" + ":".join(names))
    p.cmd = pre + p.cmd
    return p, d


def wait_for_path(path, timeout=10.0):
    """Waits until the launcher has bound path."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        expect(time.monotonic() < deadline, "%s never appeared" % path)
        time.sleep(0.02)


def unix_echo(path, data=b"activated\n"):
    return echo_roundtrip(Addr(path, "stream"), data)


def scenario(t):
    if not os.access(SSA, os.X_OK):
        raise Skip("systemd-socket-activate is not installed")

    with t.case("one named stream socket serves the service of that name"):
        d = t.tmpdir()
        path = os.path.join(d, "echo.sock")
        # The service's own entry names port 7: binding it would fail
        # without root, so serving proves the passed socket was used.
        p, _ = activated(t, conf_service("echo", plugin="echo",
                                         listen=["127.0.0.1:7"]),
                         [path], ["echo"])
        p.start()
        wait_for_path(path)
        expect_eq(unix_echo(path), b"activated\n", "echo over passed socket")
        p.wait_line(r"^service echo: using %s \(stream\) from systemd, "
                    r"socket 'echo'" % path)
        p.wait_line(r"^ready: 1 service")
        expect(not p.find("listening on"), "nothing was bound by porterd")

    with t.case("several named sockets for several services, and fd:NAME"):
        d = t.tmpdir()
        upath = os.path.join(d, "day.sock")
        port = free_tcp_port()
        conf = (conf_service("echo", plugin="echo", listen=["fd:web"]) +
                conf_service("daytime", plugin="daytime"))
        p, _ = activated(t, conf, ["127.0.0.1:%d" % port, upath],
                         ["web", "daytime"])
        p.start()
        wait_for_path(upath)
        tcp = Addr("127.0.0.1:%d" % port, "stream")
        expect_eq(echo_roundtrip(tcp, b"x" * 1000), b"x" * 1000,
                  "echo on the socket named web")
        s = connect(Addr(upath, "stream"))
        try:
            line = s.makefile("rb").readline()
        finally:
            s.close()
        expect(line.endswith(b"\r\n") and len(line) > 10,
               "daytime line from the socket named daytime: %r" % line)
        p.wait_line(r"^ready: 2 services")

    with t.case("a datagram socket serves a dgram service"):
        d = t.tmpdir()
        path = os.path.join(d, "dg.sock")
        me = os.path.join(d, "client.sock")
        # echo/udp is in /etc/services, so the config is valid on its
        # own; the passed socket named "echo" replaces binding port 7.
        p, _ = activated(t, conf_service("echo", plugin="echo",
                                         type="dgram"),
                         [path], ["echo"], datagram=True)
        p.start()
        wait_for_path(path)
        c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            c.bind(me)
            c.settimeout(10)
            c.sendto(b"ping", path)
            expect_eq(c.recv(100), b"ping", "datagram echo")
        finally:
            c.close()

    with t.case("an unclaimed passed socket is reported and closed"):
        d = t.tmpdir()
        path = os.path.join(d, "echo.sock")
        stray = os.path.join(d, "stray.sock")
        p, _ = activated(t, conf_service("echo", plugin="echo"),
                         [path, stray], ["echo", "stray"])
        p.start()
        wait_for_path(path)
        expect_eq(unix_echo(path), b"activated\n", "echo still served")
        p.wait_line(r"^socket 'stray' \(%s\) passed by systemd: no service "
                    r"claims it, closing" % stray)
        expect_eq(len(p.find("socket 'stray'")), 1, "reported once")
        fds = os.listdir("/proc/%d/fd" % p.pid)
        targets = [os.readlink("/proc/%d/fd/%s" % (p.pid, f)) for f in fds
                   if os.path.exists("/proc/%d/fd/%s" % (p.pid, f))]
        socks = [x for x in targets if x.startswith("socket:")]
        # epoll, signalfd, eventfd are anon inodes; one socket: echo's.
        expect_eq(len(socks), 1, "sockets porterd holds (%r)" % targets)

    with t.case("reload keeps the adopted socket and live connections"):
        d = t.tmpdir()
        path = os.path.join(d, "echo.sock")
        p, pd = activated(t, conf_service("echo", plugin="echo"),
                          [path], ["echo"])
        p.start()
        wait_for_path(path)
        expect_eq(unix_echo(path), b"activated\n", "before reload")
        p.wait_line(r"^ready:")
        held = connect(Addr(path, "stream"))
        try:
            held.sendall(b"one")
            expect_eq(recv_exact(held, 3), b"one", "held connection")
            mark = p.mark()
            t.write(os.path.join(pd, "porterd.conf"),
                    conf_opts(shutdown_timeout=5) +
                    conf_service("echo", plugin="echo") +
                    conf_service("day", plugin="daytime",
                                 listen=[os.path.join(d, "day.sock")]))
            p.signal(1)
            p.wait_line(r"^reloaded: 2 services", mark)
            p.wait_line(r"^service echo: keeping %s" % path, mark)
            held.sendall(b"two")
            expect_eq(recv_exact(held, 3), b"two", "held after reload")
        finally:
            held.close()
        expect_eq(unix_echo(path, b"after\n"), b"after\n", "after reload")

    with t.case("a stream socket named for a dgram service is refused"):
        d = t.tmpdir()
        path = os.path.join(d, "x.sock")
        p, _ = activated(t, conf_service("x", plugin="echo", type="dgram",
                                         listen=["fd:x"]),
                         [path], ["x"])
        p.start()
        wait_for_path(path)
        try:
            connect(Addr(path, "stream"), timeout=2).close()
        except OSError:
            pass
        p.wait_line(r"service x: socket 'x' \(%s\) from systemd is stream, "
                    r"the service is dgram" % path)
        expect_eq(p.wait_exit(), 1, "porterd exit status")


if __name__ == "__main__":
    main(scenario)
