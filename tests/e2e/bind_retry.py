#!/usr/bin/env python3
"""bind_retry -- a listener that cannot be bound does not keep the other
services down; porterd retries it with back-off until it binds.

A socket of the test holds 127.0.0.1:P.  porterd starts with service
`late` on 127.0.0.1:P and `echo` on 127.0.0.1:0, with NOTIFY_SOCKET set.
Asserts: porterd gets ready; the failure is logged once ("bind
127.0.0.1:P: Address already in use; serving without it, retrying in
1 s") and not again while it keeps failing (the retries are debug lines);
READY's STATUS says one listener waits to bind; echo answers meanwhile.
Once the test frees P, `late` logs "listening on 127.0.0.1:P" within a
bounded wait and answers; STATUS drops the waiting listener.  A reload
while `late` waits keeps the episode (no second warning).  With
strict-start = yes the same start fails: exit 1, the error on stderr.
`porterctl services` (table and --json) says "bind failing: retrying"
for `late`, with 127.0.0.1:P as unbound, at start and after the reload,
while echo is "serving"; once P is bound it says "serving" (bounded
wait) with P among the listeners.

porterd runs 2 event loops and `late` is the tid_coop test plugin (it
answers with the thread that ran it; "stall" blocks that thread 2.5 s).
The listener bound by a retry must be in both loops' epoll sets: while
the loop that took a first client is stalled, a second client is
answered at once, by the other loop.  A reload that drops `late` closes
that listener (connections refused), one that brings it back binds it
again.
"""
import json
import os
import re
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Addr, TOP_BUILDDIR, ask_line, conf_opts,  # noqa
                        conf_service, connect, echo_roundtrip, expect,
                        expect_eq, expect_refused, main, run_porterd)

WARN = r"service late: bind 127\.0\.0\.1:%d: Address already in use; " \
    r"serving without it, retrying in 1 s"
PORTERCTL = os.path.join(TOP_BUILDDIR, "tools", "porterctl")
RETRYING = "bind failing: retrying"


class Manager:
    """The NOTIFY_SOCKET end: porterd's messages as dicts."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)

    def wait_status(self, pred, timeout=10.0):
        """The first STATUS= for which pred(text) holds, or a Failure."""
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            for line in data.split("\n"):
                if line.startswith("STATUS="):
                    seen.append(line[7:])
                    if pred(line[7:]):
                        return line[7:]
        expect(False, "no matching STATUS within %.0f s; saw %r"
               % (timeout, seen))


def conf_text(port, strict=False, late=True, sock=None):
    conf = conf_opts(shutdown_timeout=3, log_target="stderr", threads=2,
                     strict_start=True if strict else None,
                     control_socket=sock)
    if late:
        conf += conf_service("late", listen=["127.0.0.1:%d" % port],
                             plugin="tid_coop")
    conf += conf_service("echo", listen=["127.0.0.1:0"], plugin="echo")
    return conf


def porterctl(sock, *args):
    """porterctl's standard output; a Failure unless it exits 0."""
    p = subprocess.run([PORTERCTL, "-s", sock] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30)
    expect_eq(p.returncode, 0, "porterctl %s: exit status (%s)"
              % (" ".join(args), p.stderr.strip()))
    return p.stdout


def services(sock):
    """{name: service} from porterctl --json services, and {name: its row
    of the table} from porterctl services."""
    svcs = json.loads(porterctl(sock, "--json", "services"))["services"]
    rows = {}
    for line in porterctl(sock, "services").splitlines()[1:]:
        rows[line.split()[0]] = line
    return {s["name"]: s for s in svcs}, rows


def expect_retrying(sock, port):
    """porterctl says late retries binding 127.0.0.1:port; echo serves."""
    addr = "127.0.0.1:%d" % port
    svcs, rows = services(sock)
    expect_eq(svcs["late"]["state"], RETRYING, "late's state (--json)")
    expect_eq(svcs["late"]["unbound"], [addr], "late's unbound")
    expect_eq(svcs["late"]["listeners"], [], "late's listeners")
    expect_eq(svcs["echo"]["state"], "serving", "echo's state")
    expect_eq(svcs["echo"]["unbound"], [], "echo's unbound")
    expect(re.match(r"late +%s +%s \(unbound\) " % (re.escape(RETRYING),
                                                    re.escape(addr)),
                    rows["late"]), "late's row: %r" % rows["late"])
    expect(re.match(r"echo +serving ", rows["echo"]),
           "echo's row: %r" % rows["echo"])


def ask(s, line=b"hi\n"):
    """Sends line to tid_coop; the thread id that answered."""
    buf = ask_line(s, line)
    m = re.match(rb"tid=(\d+) pid=\d+\n$", buf)
    expect(m is not None, "answer %r" % buf)
    return int(m.group(1))


def other_loop_serves(addr):
    """Stalls the loop of one client; True if a second client is answered
    meanwhile by another thread, False if it is answered only after the
    stall (by the stalled loop: the listener is not in the other's epoll).
    None when the second client came before the stall began (retry)."""
    s1 = connect(addr)
    s2 = None
    try:
        tid1 = ask(s1)
        s1.sendall(b"stall\n")
        time.sleep(0.3)         # the stalled loop is in nanosleep now
        s2 = connect(addr)
        tid2 = ask(s2)
        s1.setblocking(False)
        try:
            first = s1.recv(256) == b""     # EOF: not the answer either
        except BlockingIOError:
            first = True        # s2 answered while s1's loop stalls
        s1.setblocking(True)
        t_note = (tid1, tid2, first)
        if first and tid2 == tid1:
            return None, t_note
        return first and tid2 != tid1, t_note
    finally:
        s1.close()
        if s2 is not None:
            s2.close()


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo", "tid_coop"], tmp)
    busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    sock = os.path.join(tmp, "control")
    conf = t.write(os.path.join(tmp, "porterd.conf"),
                   conf_text(port, sock=sock))
    mgr = Manager(os.path.join(tmp, "notify.sock"))
    try:
        with t.case("strict-start = yes: the start fails, exit 1"):
            strict = t.write(os.path.join(tmp, "strict.conf"),
                             conf_text(port, strict=True))
            rc, _, err = run_porterd(["-n", "-f", strict, "-P", plugins])
            expect_eq(rc, 1, "exit status")
            expect("bind 127.0.0.1:%d: Address already in use" % port in err,
                   "stderr: %r" % err)

        d = t.porterd(conf, plugins,
                      env=dict(os.environ, NOTIFY_SOCKET=mgr.path))
        with t.case("porterd gets ready without late's listener, and says "
                    "so once"):
            d.wait_ready()
            d.wait_line(WARN % port)
        with t.case("READY's STATUS counts the listener waiting to bind"):
            mgr.wait_status(lambda s: s.endswith(
                "listeners waiting to bind: 1"))
        with t.case("echo serves meanwhile"):
            expect_eq(echo_roundtrip(d.addr("echo"), b"hi\n"), b"hi\n",
                      "echo")
        with t.case("porterctl services: late '%s', port %d unbound"
                    % (RETRYING, port)):
            expect_retrying(sock, port)
        with t.case("a reload while late waits keeps the episode"):
            m = d.mark()
            d.signal(1)
            d.wait_line(r"^reloaded: 2 services", m)
        with t.case("porterctl services after the reload: still '%s'"
                    % RETRYING):
            expect_retrying(sock, port)
        with t.case("retries go on quietly (one warning in 3 s)"):
            d.wait_line(r"service late: bind .*; retrying in \d+ s", 0, 5)
            time.sleep(3)
            expect_eq(len(d.find(WARN % port)), 1, "warnings")
    finally:
        busy.close()

    with t.case("the port freed, late binds within a bounded wait"):
        start = time.monotonic()
        d.wait_line(r"^service late: listening on 127\.0\.0\.1:%d \(stream\)"
                    r", bound after \d+ retries" % port, 0, 70)
        t.note("bound %.1f s after the port was freed"
               % (time.monotonic() - start))
    late = Addr("127.0.0.1:%d" % port)
    with t.case("late answers"):
        s = connect(late)
        try:
            ask(s)
        finally:
            s.close()
    with t.case("STATUS no longer counts a waiting listener"):
        mgr.wait_status(lambda s: "waiting" not in s)
    with t.case("porterctl services: late 'serving' on port %d" % port):
        deadline = time.monotonic() + 10
        svcs, rows = services(sock)
        while svcs["late"]["state"] != "serving" and \
                time.monotonic() < deadline:
            time.sleep(0.1)
            svcs, rows = services(sock)
        expect_eq(svcs["late"]["state"], "serving", "late's state (--json)")
        expect_eq(svcs["late"]["unbound"], [], "late's unbound")
        expect_eq(svcs["late"]["listeners"], [late.text], "late's listeners")
        expect(re.match(r"late +serving +%s " % re.escape(late.text),
                        rows["late"]), "late's row: %r" % rows["late"])
    with t.case("the bound listener is in both event loops' epoll"):
        for _ in range(3):
            ok, seen = other_loop_serves(late)
            t.note("tid of the stalled loop, tid of the second, second "
                   "answered first: %r" % (seen,))
            if ok is not None:
                break
        expect(ok, "a second client waited for the stalled loop %r"
               % (seen,))
    with t.case("a reload that drops late closes its listener"):
        m = d.mark()
        t.write(conf, conf_text(port, late=False, sock=sock))
        d.signal(1)
        d.wait_line(r"^service late: closing 127\.0\.0\.1:%d$" % port, m)
        d.wait_line(r"^reloaded: 1 services", m)
        expect_refused(late)
    with t.case("a reload that brings late back binds it again"):
        m = d.mark()
        t.write(conf, conf_text(port, sock=sock))
        d.signal(1)
        d.wait_line(r"^service late: listening on 127\.0\.0\.1:%d "
                    r"\(stream\)$" % port, m)
        d.wait_line(r"^reloaded: 2 services", m)
        s = connect(late)
        try:
            ask(s)
        finally:
            s.close()
    with t.case("SIGTERM: exit 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")
    mgr.sock.close()


if __name__ == "__main__":
    main(scenario)
