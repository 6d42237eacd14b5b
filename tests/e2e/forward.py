#!/usr/bin/env python3
"""forward -- the bundled forward plugin relays to a backend the test runs.

Backends (threads of this script): a TCP echo server on 127.0.0.1:0 and an
AF_UNIX echo server; each may first read a PROXY header, parsed with the
harness's own code (independent of porterd's), and records it.  One more
listener never answers a connection: its accept queue is full.

Asserts: bytes go both ways through porterd, including 2 MB and a
half-close (the client's EOF reaches the backend, the backend's reply and
EOF reach the client); PROXY v1 names the client's own address and port as
source and porterd's listening address as destination; PROXY v2 carries
the same in binary (IPv4 family, PROXY command); a UNIX backend works; a
backend that refuses connections closes the client's connection and the
log line names the backend; so does one that does not answer, after
connect-timeout (1 s) and not much later, while another client is served
meanwhile; a relayed connection logs "forwarded to
<backend>" with the byte counts; bad args are refused at load (--check).
"""
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Backend, connect, conf_opts,  # noqa
                        conf_service, expect, expect_eq, main, recv_all,
                        recv_or_reset, unanswering_backend)
from porter_e2e_daemon import porterd_command  # noqa


def roundtrip(addr, data):
    s = connect(addr)
    try:
        me = s.getsockname()

        def send():
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        th = threading.Thread(target=send, daemon=True)
        th.start()
        got = recv_all(s, len(data) + 100)
        th.join(30)
    finally:
        s.close()
    return me, got


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["forward"], tmp)
    plain = Backend(socket.AF_INET, ("127.0.0.1", 0))
    v1 = Backend(socket.AF_INET, ("127.0.0.1", 0), proxy=1)
    v2 = Backend(socket.AF_INET, ("127.0.0.1", 0), proxy=2)
    upath = os.path.join(tmp, "backend.sock")
    ux = Backend(socket.AF_UNIX, upath)
    for b in (plain, v1, v2, ux):
        b.start()
    # A port nobody listens on: bind, note, close.
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()
    mute, fillers = unanswering_backend()

    def hp(b):
        return "%s:%d" % b.addr

    conf = conf_opts(shutdown_timeout=5, log_level="info")
    conf += conf_service("fwd", listen=["127.0.0.1:0"], plugin="forward",
                         args=[hp(plain)])
    conf += conf_service("fwd1", listen=["127.0.0.1:0"], plugin="forward",
                         args=[hp(v1), "proxy=v1"])
    conf += conf_service("fwd2", listen=["127.0.0.1:0"], plugin="forward",
                         args=[hp(v2), "proxy=v2", "connect-timeout=2"])
    conf += conf_service("fwdu", listen=["127.0.0.1:0"], plugin="forward",
                         args=[upath])
    conf += conf_service("fwddead", listen=["127.0.0.1:0"],
                         plugin="forward",
                         args=["127.0.0.1:%d" % dead_port])
    conf += conf_service("fwdmute", listen=["127.0.0.1:0"],
                         plugin="forward",
                         args=["%s:%d" % mute.getsockname(),
                               "connect-timeout=1"])
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)
    d.wait_ready()

    with t.case("a short exchange, both ways, with half-close"):
        _, got = roundtrip(d.addr("fwd"), b"hello\n")
        expect_eq(got, b"ok:hello\n", "reply")

    with t.case("2 MB through splice, byte-exact"):
        data = os.urandom(2 << 20)
        _, got = roundtrip(d.addr("fwd"), data)
        expect(got == b"ok:" + data, "2 MB came back altered (%d bytes)"
               % len(got))

    with t.case("the log line names the backend and counts the bytes"):
        d.wait_line(r"forwarded to %s: 2097152 bytes in, 2097155 out"
                    % hp(plain).replace(".", r"\."))

    with t.case("PROXY v1: client address as source, listener as dest"):
        a = d.addr("fwd1")
        me, got = roundtrip(a, b"v1 data")
        expect_eq(got, b"ok:v1 data", "reply")
        expect_eq(v1.errors, [], "backend errors")
        expect_eq(v1.headers[-1], {"v": 1, "proto": "TCP4",
                                   "src": (me[0], me[1]),
                                   "dst": (a.host, a.port)}, "v1 header")

    with t.case("PROXY v2: the same, binary"):
        a = d.addr("fwd2")
        me, got = roundtrip(a, b"v2 data")
        expect_eq(got, b"ok:v2 data", "reply")
        expect_eq(v2.errors, [], "backend errors")
        expect_eq(v2.headers[-1], {"v": 2, "vercmd": 0x21, "fam": 0x11,
                                   "src": (me[0], me[1]),
                                   "dst": (a.host, a.port)}, "v2 header")

    with t.case("an AF_UNIX backend"):
        _, got = roundtrip(d.addr("fwdu"), b"unix")
        expect_eq(got, b"ok:unix", "reply")

    with t.case("a refusing backend: client closed, backend in the log"):
        s = connect(d.addr("fwddead"))
        expect_eq(recv_all(s, 100), b"", "data from a dead backend")
        s.close()
        d.wait_line(r"forward to 127\.0\.0\.1:%d: .*[Rr]efused" % dead_port)

    with t.case("a backend that does not answer: cut after connect-timeout"):
        mark = d.mark()
        s = connect(d.addr("fwdmute"))
        t0 = time.monotonic()
        try:
            s.sendall(b"anyone there?")
            _, got = roundtrip(d.addr("fwd"), b"meanwhile")
            expect_eq(got, b"ok:meanwhile", "another client meanwhile")
            expect(time.monotonic() - t0 < 0.9,
                   "served only after the connect timed out")
            expect_eq(recv_or_reset(s, timeout=10), b"",
                      "data from a mute backend")
            took = time.monotonic() - t0
        finally:
            s.close()
        expect(0.9 <= took < 3.0, "closed after %.2f s, connect-timeout is "
               "1 s" % took)
        m = re.escape("%s:%d" % mute.getsockname())
        d.wait_line(r"forward to %s: connect %s: timed out$" % (m, m),
                    since=mark)

    with t.case("bad arguments are refused at load"):
        for args, msg in ((["127.0.0.1:1", "proxy=v3"], "unknown argument"),
                          (["127.0.0.1:1", "connect-timeout=0"],
                           "not 0.001..3600"),
                          ([], "needs the backend")):
            c = t.write(os.path.join(tmp, "bad.conf"),
                        conf_service("bad", listen=["127.0.0.1:0"],
                                     plugin="forward", args=args))
            r = subprocess.run(porterd_command() +
                               ["--check", "-f", c, "-P", plugins],
                               capture_output=True, text=True, timeout=30)
            expect(r.returncode != 0, "--check accepted %r" % args)
            expect(msg in r.stderr, "%r: stderr lacks %r: %r"
                   % (args, msg, r.stderr))

    d.stop()
    for b in (plain, v1, v2, ux):
        b.stop()
    for c in fillers + [mute]:
        c.close()


if __name__ == "__main__":
    main(scenario)
