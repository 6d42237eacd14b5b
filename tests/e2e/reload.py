#!/usr/bin/env python3
"""reload -- SIGHUP swaps in a new config without dropping what is unchanged.

Start: A (echo, 127.0.0.1:0), B (daytime, 127.0.0.1:0).  Reload to: A
unchanged, B removed, C (discard, on a unix path) added.  Asserts:
"reloaded: 2 services"; A's listener is handed over ("keeping", same
port, no new "listening" line for A); B is closed
("closing") and refused; C listens and works; a connection to A opened
before the reload still echoes after it.  Ten reloads in a row (adding and
removing a service D) while a client thread hammers A with connect + echo:
zero failures.  Bad reloads (syntax error, unloadable plugin) log
"reload failed: ...; keeping the running config" and the old services stay
served; a good reload afterwards works again.  Last: listeners belong to
their service: with A (kept) and B (removed) both on "127.0.0.1:0", a new
service E on "127.0.0.1:0" listed before A gets neither A's port nor B's.
"""
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Hammer, Addr, connect, conf_opts, conf_service,  # noqa
                        echo_roundtrip, expect, expect_eq, expect_eof,
                        expect_refused, main, recv_exact)

A = conf_service("svca", listen=["127.0.0.1:0"], plugin="echo")
B = conf_service("svcb", listen=["127.0.0.1:0"], plugin="daytime")
D = conf_service("svcd", listen=["127.0.0.1:0"], plugin="time")
# Every client is 127.0.0.1: no per-source limit in the hammer.
HEAD = conf_opts(shutdown_timeout=5, max_per_source=0)


def rewrite(t, path, text):
    t.write(path + ".new", text)
    os.replace(path + ".new", path)


def reload(d, path_text_writer, nservices):
    """Rewrites the config, sends SIGHUP, waits for "reloaded: N";
    returns the log mark from before the signal."""
    mark = d.mark()
    path_text_writer()
    d.signal(1)
    d.wait_line(r"^reloaded: %d services" % nservices, mark)
    return mark


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo", "daytime", "discard", "time"], tmp)
    C = conf_service("svcc", listen=[os.path.join(tmp, "c.sock")],
                     plugin="discard")
    path = t.write(os.path.join(tmp, "porterd.conf"), HEAD + A + B)
    d = t.porterd(path, plugins)

    with t.case("ready with A and B"):
        d.wait_line(r"^ready: 2 services")
    a, b = d.addr("svca"), d.addr("svcb")
    held = connect(a)
    try:
        with t.case("held connection to A echoes before the reload"):
            held.sendall(b"before\n")
            expect_eq(recv_exact(held, 7), b"before\n", "echo")

        mark = None
        with t.case("SIGHUP with A kept, B removed, C added: reloaded"):
            mark = reload(d, lambda: rewrite(t, path, HEAD + A + C), 2)
        if mark is None:
            return
        with t.case("A is handed over: 'keeping', same port, no re-listen"):
            d.wait_line(r"^service svca: keeping %s$" % a.text, mark)
            expect_eq(d.listeners(mark).get("svca"), None,
                      "new listeners for A")
        with t.case("B is closed: 'closing' logged, connections refused"):
            d.wait_line(r"^service svcb: closing %s$" % b.text, mark)
            expect_refused(b)
        with t.case("C listens and discards"):
            c = d.addr("svcc", since=mark)
            s = connect(c)
            try:
                s.sendall(b"into the void\n")
                s.shutdown(socket.SHUT_WR)
                expect_eof(s, "discard")
            finally:
                s.close()
        with t.case("the connection to A held across the reload still "
                    "echoes"):
            held.sendall(b"after\n")
            expect_eq(recv_exact(held, 6), b"after\n", "echo")
    finally:
        held.close()

    with t.case("ten reloads while a client hammers A: zero failures"):
        ham = Hammer(a)
        ham.start()
        try:
            for i in range(10):
                text = HEAD + A + C + (D if i % 2 == 0 else "")
                reload(d, lambda: rewrite(t, path, text),
                       3 if i % 2 == 0 else 2)
                # Let the client make some rounds against each config.
                r0, t0 = ham.rounds, time.monotonic()
                while ham.rounds < r0 + 20 and ham.is_alive() and \
                        time.monotonic() - t0 < 5:
                    time.sleep(0.01)
        finally:
            ham.stop.set()
            ham.join(20)
        t.note("hammer: %d rounds, %d failures"
               % (ham.rounds, len(ham.failures)))
        expect(ham.rounds >= 200, "hammer made only %d rounds"
               % ham.rounds)
        expect(not ham.failures, "failures: %s" % ham.failures[:5])
        expect(d.alive(), "porterd exited")

    a_now = a
    with t.case("bad reload (syntax error): failed, old config kept"):
        mark = d.mark()
        rewrite(t, path, HEAD + A + C + "service broken {\n  plugin = \n")
        d.signal(1)
        m = d.wait_line(r"^reload failed: (.*); keeping the running config$",
                        mark)
        expect(m.group(1).startswith(path + ":"), "the reason does not "
               "start with %s:LINE: %r" % (path, m.group(1)))
        expect(not d.find(r"^reloaded:", mark), "a 'reloaded' line appeared")
        expect_eq(echo_roundtrip(a_now, b"A\n"), b"A\n", "A after bad reload")
        c = d.addr("svcc")
        s = connect(c)
        s.close()

    with t.case("bad reload (plugin file missing): failed, old config kept"):
        mark = d.mark()
        rewrite(t, path, HEAD + A + C + conf_service(
            "svce", listen=["127.0.0.1:0"], plugin="nosuchplugin"))
        d.signal(1)
        d.wait_line(r"^reload failed: .*nosuchplugin\.so: no such file",
                    mark)
        expect_eq(echo_roundtrip(a_now, b"A2\n"), b"A2\n", "A")

    with t.case("a good reload after the bad ones works"):
        mark = reload(d, lambda: rewrite(t, path, HEAD + A + B), 2)
        d.wait_line(r"^service svca: keeping %s$" % a.text, mark)
        b2 = d.addr("svcb", since=mark)
        s = connect(b2)
        try:
            data = s.recv(1024)
            expect(data.endswith(b"\r\n"), "daytime sent %r" % data)
        finally:
            s.close()
        expect_eq(echo_roundtrip(Addr(a.text), b"end\n"), b"end\n", "A")

    # E precedes A in the new file and reads the same listen text as A and
    # B: listeners must be matched to their own service first.
    b2 = d.addr("svcb", since=mark)
    E = conf_service("svce", listen=["127.0.0.1:0"], plugin="discard")
    mark = None
    with t.case("reload to E (new, listed first) + A: reloaded"):
        mark = reload(d, lambda: rewrite(t, path, HEAD + E + A), 2)
    if mark is not None:
        with t.case("A keeps its own listener, not one of another service"):
            d.wait_line(r"^service svca: keeping %s$" % a.text, mark, 2)
            expect_eq(echo_roundtrip(a, b"mine\n"), b"mine\n", "A's port")
        with t.case("B's listener is closed, not handed to E"):
            d.wait_line(r"^service svcb: closing %s$" % b2.text, mark, 2)
            expect_refused(b2)
        with t.case("E gets a port of its own"):
            e = d.addr("svce", since=mark)
            expect(e.port not in (a.port, b2.port), "E took port %d "
                   "(A %d, B %d)" % (e.port, a.port, b2.port))

    with t.case("SIGTERM: porterd exits 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
