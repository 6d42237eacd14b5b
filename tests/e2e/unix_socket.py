#!/usr/bin/env python3
"""unix_socket -- services on AF_UNIX: a filesystem path and an abstract name
("@porter-test-<random>"), stream and seqpacket.

Asserts: the listening lines name the path and the @name as configured; the
socket file exists (and is a socket) while porterd runs; echo returns the
bytes (incl. 100 KB) over the path and the abstract name; daytime answers
one CRLF line over both; an exec service (/bin/cat) works over a path; a
seqpacket echo keeps message boundaries; after SIGTERM porterd exits 0 and
removes the socket file it created.
"""
import os
import stat
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Addr, connect, conf_opts, conf_service,  # noqa
                        echo_roundtrip, expect, expect_eq, main, recv_all,
                        recv_exact)


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo", "daytime"], tmp)
    tag = "porter-test-%s" % os.urandom(6).hex()
    echo_path = os.path.join(tmp, "echo.sock")
    day_path = os.path.join(tmp, "daytime.sock")
    cat_path = os.path.join(tmp, "cat.sock")
    seq_path = os.path.join(tmp, "seq.sock")
    conf = conf_opts(shutdown_timeout=5)
    conf += conf_service("echo", listen=[echo_path, "@%s-echo" % tag],
                         plugin="echo")
    conf += conf_service("daytime", listen=[day_path, "@%s-daytime" % tag],
                         plugin="daytime")
    conf += conf_service("cat", listen=[cat_path], exec_="/bin/cat",
                         user="root")
    conf += conf_service("seqecho", listen=[seq_path], type="seqpacket",
                         plugin="echo")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)

    with t.case("ready, listening on the paths and abstract names"):
        ls = d.wait_ready()
        expect_eq(sorted(a.text for a in ls.get("echo", [])),
                  sorted([echo_path, "@%s-echo" % tag]), "echo listeners")
        expect_eq(sorted(a.text for a in ls.get("daytime", [])),
                  sorted([day_path, "@%s-daytime" % tag]),
                  "daytime listeners")
        expect_eq([(a.text, a.kind) for a in ls.get("seqecho", [])],
                  [(seq_path, "seqpacket")], "seqecho listener")

    with t.case("the socket files exist and are sockets"):
        for p in (echo_path, day_path, cat_path, seq_path):
            expect(os.path.exists(p), "%s missing" % p)
            expect(stat.S_ISSOCK(os.stat(p).st_mode), "%s not a socket" % p)

    for where, text in (("path", echo_path), ("abstract", "@%s-echo" % tag)):
        a = Addr(text)
        with t.case("echo over the %s %s: 6 bytes" % (where, text)):
            expect_eq(echo_roundtrip(a, b"hello\n"), b"hello\n", "echo")
        with t.case("echo over the %s: 100 KB" % where):
            data = os.urandom(100 * 1024)
            got = echo_roundtrip(a, data)
            expect(got == data, "%d bytes back, differing" % len(got))

    for where, text in (("path", day_path),
                        ("abstract", "@%s-daytime" % tag)):
        with t.case("daytime over the %s: one CRLF line" % where):
            s = connect(Addr(text))
            try:
                data = recv_all(s, 1024)
            finally:
                s.close()
            expect(data.endswith(b"\r\n") and data.count(b"\n") == 1,
                   "daytime sent %r" % data)

    with t.case("exec /bin/cat over a unix path echoes"):
        expect_eq(echo_roundtrip(Addr(cat_path), b"meow\n" * 100),
                  b"meow\n" * 100, "cat output")
        d.wait_line(r"^service cat: .*exec /bin/cat pid \d+: exit 0 in ")

    with t.case("seqpacket echo keeps the message boundaries"):
        s = connect(Addr(seq_path, "seqpacket"))
        try:
            for msg in (b"one", b"two two", b"x" * 3000):
                s.send(msg)
                expect_eq(s.recv(65536), msg, "message")
        finally:
            s.close()

    with t.case("a client on the abstract name while the path is in use"):
        a, b = connect(Addr(echo_path)), connect(Addr("@%s-echo" % tag))
        try:
            a.sendall(b"A")
            b.sendall(b"B")
            expect_eq(recv_exact(b, 1), b"B", "abstract side")
            expect_eq(recv_exact(a, 1), b"A", "path side")
        finally:
            a.close()
            b.close()

    with t.case("SIGTERM: porterd exits 0 and removes its socket files"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")
        left = [p for p in (echo_path, day_path, cat_path, seq_path)
                if os.path.exists(p)]
        expect(not left, "left behind: %s" % left)


if __name__ == "__main__":
    main(scenario)
