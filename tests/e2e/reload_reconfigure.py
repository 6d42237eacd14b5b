#!/usr/bin/env python3
"""reload_reconfigure -- a reload that changes backlog, socket options,
wait or the socket file's mode of a listen entry applies it to the live
socket, instead of binding a second one and failing with EADDRINUSE.

Service `q` (exec /bin/cat, max-connections 1, backlog 1, socket-mode
0600) on a socket file, and `ka` (an exec'd script reporting its fd 0) on
127.0.0.1:0.  With a client held by q, q's queue takes 2 more connections
(backlog + 1).  The reload sets q's backlog to 4 and socket-mode 0660,
and gives ka options = { "SO_KEEPALIVE" } and wait = yes.  Asserts: the
reload succeeds and logs "keeping" for both sockets; q's socket file is the
same inode, now mode 0660; q's full queue takes exactly 3 more connections
(same socket, new backlog); ka, before the reload handed a connection
without keepalive, now gets its listening socket itself, blocking, and the
connection it accepts has SO_KEEPALIVE (inherited from the listener); the
port is unchanged.  Dropping the option and wait again in a second reload
puts both back.
"""
import errno
import os
import socket
import stat
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Addr, Failure, conf_opts, conf_service,  # noqa
                        connect, expect, expect_eq, main, recv_all,
                        recv_exact)

KA_SCRIPT = """#!/usr/bin/env python3
import fcntl, os, socket
s = socket.socket(fileno=0)
if s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
    nb = 1 if fcntl.fcntl(0, fcntl.F_GETFL) & os.O_NONBLOCK else 0
    c, _ = s.accept()
    ka = c.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    c.sendall(("listen nonblock=%d keepalive=%d\\n" % (nb, ka)).encode())
    c.close()
else:
    ka = s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    os.write(1, ("conn keepalive=%d\\n" % ka).encode())
"""


def fill_queue(path, limit=256):
    """Non-blocking connects until EAGAIN; returns the queued sockets."""
    socks = []
    for _ in range(limit):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(path)
        except OSError as e:
            s.close()
            if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                return socks
            raise
        socks.append(s)
    raise Failure("queue of %s not full after %d connects" % (path, limit))


def conf_text(path, ka_sh, changed, port=0):
    conf = conf_opts(shutdown_timeout=3)
    conf += conf_service("q", listen=[path], exec_="/bin/cat", user="root",
                         max_connections=1, backlog=4 if changed else 1,
                         socket_mode="0660" if changed else "0600")
    ka = dict(listen=["127.0.0.1:%d" % port], exec_=ka_sh, user="root")
    if changed:
        ka.update(options=["SO_KEEPALIVE"], wait=True)
    conf += conf_service("ka", **ka)
    return conf


def ka_says(addr):
    s = connect(addr)
    try:
        return recv_all(s).decode().strip()
    finally:
        s.close()


def scenario(t):
    tmp = t.tmpdir()
    path = os.path.join(tmp, "q.sock")
    ka_sh = t.write(os.path.join(tmp, "ka.py"), KA_SCRIPT, 0o755)
    conf = os.path.join(tmp, "porterd.conf")
    t.write(conf, conf_text(path, ka_sh, False))
    d = t.porterd(conf)
    d.wait_ready()
    ka = d.addr("ka")
    ino = os.stat(path).st_ino
    held = []

    def reload(text, n):
        t.write(conf, text)
        m = d.mark()
        d.signal(1)
        d.wait_line(r"^(reloaded: %d services|reload failed: .*)" % n, m)
        expect(not d.find(r"^reload failed", m), "reload failed: %r"
               % [x.string for x in d.find(r"^reload failed", m)])
        d.wait_line(r"^service q: keeping %s$" % path, m)
        d.wait_line(r"^service ka: keeping %s$" % ka.text, m)

    try:
        with t.case("before: q's socket file is 0600; ka gets a connection "
                    "without keepalive"):
            expect_eq(stat.S_IMODE(os.stat(path).st_mode), 0o600, "mode")
            expect_eq(ka_says(ka), "conn keepalive=0", "ka")
        with t.case("before: with a client held, q's queue takes 2 (backlog "
                    "1)"):
            a = connect(Addr(path))
            held.append(a)
            a.sendall(b"x")
            expect_eq(recv_exact(a, 1), b"x", "cat")
            q = fill_queue(path)
            held += q
            expect_eq(len(q), 2, "queued connections")

        with t.case("a reload changing backlog, socket-mode, options and "
                    "wait succeeds and keeps both sockets"):
            reload(conf_text(path, ka_sh, True), 2)
        with t.case("q's socket file is the same, now mode 0660"):
            expect_eq(os.stat(path).st_ino, ino, "inode")
            expect_eq(stat.S_IMODE(os.stat(path).st_mode), 0o660, "mode")
        with t.case("q's live socket has backlog 4: 3 more fit its queue"):
            q = fill_queue(path)
            held += q
            expect_eq(len(q), 3, "more queued connections")
        with t.case("ka now gets its blocking listening socket, whose "
                    "connections have SO_KEEPALIVE"):
            m = d.mark()
            expect_eq(ka_says(ka), "listen nonblock=0 keepalive=1", "ka")
            # The wait handler holds the socket until it exits.
            d.wait_line(r"^service ka: %s: exec .* exit 0" % ka.text, m)
    finally:
        for s in held:
            s.close()

    with t.case("a second reload puts the option and wait back"):
        reload(conf_text(path, ka_sh, False), 2)
        expect_eq(ka_says(ka), "conn keepalive=0", "ka")
        expect_eq(stat.S_IMODE(os.stat(path).st_mode), 0o600, "mode")

    with t.case("SIGTERM: exit 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
