#!/usr/bin/env python3
"""stale_probe -- the stale-socket-file probe never blocks porterd and
never adds a connection to porterd's own queue.

Before binding an AF_UNIX path, porterd checks whether a socket file
already there is stale (nobody listens) and only then removes it.

Part 1, porterd's own socket: service `hold` (exec /bin/cat, one
connection at a time, backlog 1) on a socket file, and `echo` on TCP.  A
client is served by `hold`; a reload that adds a second service `dup` on
hold's path (which porterd itself holds: an operator's slip) fails with
"Address already in use" at once, twice: with hold's queue empty, and with its queue full
(non-blocking connects until EAGAIN; a blocking probe would hang porterd
for good there).  echo answers after each.  When the clients are gone,
`hold` serves exactly the connections the test made -- a probe that
connected would have left one more in the queue.  SIGTERM then ends
porterd within a bounded time.

Part 2, a socket a local user holds: a listening socket with a full
backlog in a world-writable (sticky) directory, and porterd started with a
service on that path.  porterd reports "Address already in use" within a
bounded time instead of hanging, and the user's socket file is left alone.
"""
import errno
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Addr, Failure, connect, conf_opts,  # noqa
                        conf_service, echo_roundtrip, expect, expect_eq,
                        main, recv_exact)

BOUND = 10.0   # seconds porterd may take for what must not block


def fill_queue(path, kind=socket.SOCK_STREAM, limit=256):
    """Non-blocking connects to path until EAGAIN; returns the sockets
    (all in the listener's queue).  Failure if the queue never fills."""
    socks = []
    for _ in range(limit):
        s = socket.socket(socket.AF_UNIX, kind)
        s.setblocking(False)
        try:
            s.connect(path)
        except OSError as e:
            s.close()
            if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                return socks
            raise
        socks.append(s)
    for s in socks:
        s.close()
    raise Failure("%s: queue not full after %d connects" % (path, limit))


def hold_conf(path, dup=False):
    # strict-start: dup's bind failure fails the reload, not retried.
    conf = conf_opts(shutdown_timeout=3, strict_start=True)
    conf += conf_service("hold", listen=[path], exec_="/bin/cat",
                         user="root", max_connections=1, backlog=1)
    conf += conf_service("echo", listen=["127.0.0.1:0"], plugin="echo")
    if dup:
        # An operator's slip: a second service on hold's path.
        conf += conf_service("dup", listen=[path], plugin="echo")
    return conf


def part_own(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"], tmp)
    path = os.path.join(tmp, "hold.sock")
    conf = os.path.join(tmp, "porterd.conf")
    t.write(conf, hold_conf(path))
    d = t.porterd(conf, plugins)
    d.wait_ready()
    echo = d.addr("echo")
    made = 0
    a = connect(Addr(path))
    made += 1
    queued = []
    try:
        with t.case("a client is being served by hold"):
            a.sendall(b"x")
            expect_eq(recv_exact(a, 1), b"x", "cat")

        t.write(conf, hold_conf(path, dup=True))
        for what in ("empty", "full"):
            if what == "full":
                with t.case("hold's queue is full (max-connections 1)"):
                    queued = fill_queue(path)
                    made += len(queued)
                    t.note("%d connections queued" % len(queued))
            with t.case("reload with hold's queue %s fails at once, not "
                        "hanging" % what):
                m = d.mark()
                start = time.monotonic()
                d.signal(1)
                d.wait_line(r"^reload failed: service dup: bind %s: "
                            r"Address already in use" % path, m, BOUND)
                t.note("reload answered in %.2f s"
                       % (time.monotonic() - start))
            with t.case("echo answers after the reload (queue %s)" % what):
                expect_eq(echo_roundtrip(echo, b"ping\n"), b"ping\n", "echo")
    finally:
        a.close()
        for s in queued:
            s.close()

    with t.case("hold serves exactly the connections the test made, "
                "none left by a probe"):
        done = r"^service hold: .*exec /bin/cat pid \d+: exit"

        def runs(n):
            deadline = time.monotonic() + BOUND
            while len(d.find(done)) < n and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)    # time for one more, if there is one
            return len(d.find(done))

        expect_eq(runs(made), made, "handler runs of hold, queue drained")
        b = connect(Addr(path))
        try:
            b.sendall(b"last")
            expect_eq(recv_exact(b, 4), b"last", "cat, last client")
        finally:
            b.close()
        made += 1
        expect_eq(runs(made), made, "handler runs of hold")

    with t.case("SIGTERM with hold busy ends porterd in bounded time"):
        c = connect(Addr(path))
        try:
            c.sendall(b"y")
            expect_eq(recv_exact(c, 1), b"y", "cat")
            fill = fill_queue(path)
            try:
                d.signal(15)
                expect_eq(d.wait_exit(BOUND), 0, "exit status")
            finally:
                for s in fill:
                    s.close()
        finally:
            c.close()


def part_foreign(t):
    base = t.tmpdir()
    pub = os.path.join(base, "pub")
    os.mkdir(pub)
    os.chmod(pub, 0o1777)
    path = os.path.join(pub, "taken.sock")
    plugins = t.plugindir(["echo"], base)
    user = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    user.bind(path)
    user.listen(0)
    ino = os.stat(path).st_ino
    queued = []
    try:
        with t.case("a local user's socket with a full backlog"):
            queued = fill_queue(path)
        conf = conf_opts()
        conf += conf_service("taken", listen=[path], plugin="echo")
        conf += conf_service("echo", listen=["127.0.0.1:0"], plugin="echo")
        d = t.porterd(t.write(os.path.join(base, "porterd.conf"), conf),
                      plugins)
        with t.case("porterd reports the path in use instead of hanging"):
            d.wait_line(r"service taken: bind %s: Address already in use"
                        % path, 0, BOUND)
        with t.case("the user's socket file is left alone"):
            expect_eq(os.stat(path).st_ino, ino, "inode of %s" % path)
        with t.case("porterd ends in bounded time"):
            d.signal(15)
            expect(d.wait_exit(BOUND) is not None, "porterd still running")
    finally:
        for s in queued:
            s.close()
        user.close()


def scenario(t):
    part_own(t)
    part_foreign(t)


if __name__ == "__main__":
    main(scenario)
