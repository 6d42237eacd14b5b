#!/usr/bin/env python3
"""internal_services -- the RFC services (echo 862, discard 863, chargen 864,
daytime 867, time 868) served by the in-tree plugins over TCP and UDP, on
127.0.0.1 and [::1] (IPv6 parts are skipped when ::1 cannot be bound).

Asserts real protocol results: echo returns exactly the bytes sent (5 B and
100 KB), discard sends nothing and closes after our half-close, chargen
lines are 72 printable characters + CRLF in the rotating RFC 864 pattern,
daytime is one line ending in CRLF naming the current year, time is 4
bytes within 5 s of now; over UDP each answers one datagram (discard
never does).  Also: one log line per finished connection, and porterd
survives a client closing mid-stream (chargen: no SIGPIPE death).
"""
import os
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Failure, connect, conf_opts, conf_service,  # noqa
                        dgram_request, echo_roundtrip, expect, expect_eof,
                        expect_eq, ipv6_available, main, recv_all,
                        recv_exact, EPOCH_1900)

SERVICES = ("echo", "discard", "chargen", "daytime", "time")
RING = bytes(range(32, 127))  # the 95 printable ASCII characters


def check_chargen_lines(data, nlines):
    """data holds nlines of RFC 864: each 72 chars + CRLF, each starting
    one character further along the ring than the previous one."""
    start = None
    for i in range(nlines):
        line = data[i * 74:(i + 1) * 74]
        expect(line.endswith(b"\r\n"), "line %d does not end in CRLF: %r"
               % (i, line))
        body = line[:72]
        expect(all(32 <= c < 127 for c in body),
               "line %d has non-printable characters: %r" % (i, body))
        s = RING.index(body[0])
        if start is not None:
            expect_eq(s, (start + 1) % 95, "line %d's first character's "
                      "ring position" % i)
        start = s
        want = bytes(RING[(s + j) % 95] for j in range(72))
        expect_eq(body, want, "line %d" % i)


def check_time(data):
    expect_eq(len(data), 4, "time reply length")
    (v,) = struct.unpack("!I", data)
    delta = (v - EPOCH_1900) - time.time()
    expect(abs(delta) <= 5, "time is %.0f s off" % delta)


def check_daytime(data):
    expect(data.endswith(b"\r\n"), "daytime %r does not end in CRLF" % data)
    expect(data.count(b"\n") == 1 and len(data) > 2,
           "daytime %r is not one line" % data)
    years = {time.gmtime(time.time() + d).tm_year for d in (-86400, 86400)}
    expect(any(str(y).encode() in data for y in years),
           "daytime %r does not name the year %s" % (data, sorted(years)))


def stream_checks(t, d, fam, tag):
    echo = d.addr("echo", fam)
    with t.case("%s echo: 5 bytes come back exactly" % tag):
        s = connect(echo)
        try:
            s.sendall(b"hello")
            expect_eq(recv_exact(s, 5), b"hello", "echoed bytes")
            port = s.getsockname()[1]
            s.shutdown(socket.SHUT_WR)
            expect_eof(s, "echo after our half-close")
        finally:
            s.close()
        d.wait_line(r"^service echo: \S+:%d: plugin echo done in [0-9.]+s "
                    r"\(in 5 B, out 5 B\)" % port)
    with t.case("%s echo: data and our FIN sent at once, 100 times: the "
                "echo and the EOF behind it come back" % tag):
        # The FIN arrives with the data: a read returns the data, and
        # the EOF behind it must still wake the cooperative handler.
        for i in range(100):
            got = echo_roundtrip(echo, b"ping\n" * (i % 3 + 1))
            expect_eq(got, b"ping\n" * (i % 3 + 1), "echo %d" % i)
    with t.case("%s echo: 100 KB of all byte values round-trip" % tag):
        data = bytes(range(256)) * 400
        got = echo_roundtrip(echo, data)
        expect(got == data, "got %d bytes back, %s" % (len(got), "equal"
               if got == data else "differing"))

    with t.case("%s discard: accepts data, sends none, closes on ours" % tag):
        s = connect(d.addr("discard", fam))
        try:
            s.sendall(b"x" * 10240)
            s.settimeout(0.3)
            try:
                extra = s.recv(10)
                raise Failure("discard sent %r" % extra)
            except socket.timeout:
                pass
            s.settimeout(5)
            s.shutdown(socket.SHUT_WR)
            expect_eof(s, "discard after our half-close")
        finally:
            s.close()

    with t.case("%s chargen: 100 lines of the rotating pattern" % tag):
        s = connect(d.addr("chargen", fam))
        try:
            port = s.getsockname()[1]
            check_chargen_lines(recv_exact(s, 74 * 100), 100)
        finally:
            s.close()
        d.wait_line(r"^service chargen: \S+:%d: plugin chargen done " % port)
        expect(d.alive(), "porterd died after a chargen client left")

    with t.case("%s daytime: one CRLF line, then close" % tag):
        s = connect(d.addr("daytime", fam))
        try:
            check_daytime(recv_all(s, 1024))
        finally:
            s.close()

    with t.case("%s time: 4 bytes within 5 s of now, then close" % tag):
        s = connect(d.addr("time", fam))
        try:
            check_time(recv_all(s, 64))
        finally:
            s.close()


def dgram_checks(t, d, fam, tag):
    with t.case("%s echo: the datagram comes back" % tag):
        msg = b"porter \x00\xff datagram"
        expect_eq(dgram_request(d.addr("echo-udp", fam), msg), msg, "reply")
    with t.case("%s echo: a 1400-byte datagram comes back" % tag):
        msg = os.urandom(1400)
        expect_eq(dgram_request(d.addr("echo-udp", fam), msg), msg, "reply")
    with t.case("%s time: a 4-byte reply within 5 s of now" % tag):
        reply = dgram_request(d.addr("time-udp", fam), b"")
        expect(reply is not None, "no reply")
        check_time(reply)
    with t.case("%s daytime: a CRLF line" % tag):
        reply = dgram_request(d.addr("daytime-udp", fam), b"?")
        expect(reply is not None, "no reply")
        check_daytime(reply)
    with t.case("%s chargen: a datagram of 0..512 printable bytes" % tag):
        reply = dgram_request(d.addr("chargen-udp", fam), b"?")
        expect(reply is not None, "no reply")
        expect(len(reply) <= 512, "%d bytes" % len(reply))
        expect(all(32 <= c < 127 or c in (10, 13) for c in reply),
               "non-printable bytes in %r" % reply[:80])
    with t.case("%s discard: no reply within 0.3 s" % tag):
        reply = dgram_request(d.addr("discard-udp", fam), b"drop me", 0.3)
        expect(reply is None, "got a reply %r" % reply)
    with t.case("%s echo still answers after the discard datagram" % tag):
        expect_eq(dgram_request(d.addr("echo-udp", fam), b"again"),
                  b"again", "reply")


def scenario(t):
    v6 = ipv6_available()
    if not v6:
        t.note("IPv6 unavailable (cannot bind ::1): IPv6 checks skipped")
    tmp = t.tmpdir()
    plugins = t.plugindir(SERVICES, tmp)
    listen = ["127.0.0.1:0"] + (["[::1]:0"] if v6 else [])
    conf = conf_opts(shutdown_timeout=5)
    for name in SERVICES:
        conf += conf_service(name, listen=listen, plugin=name)
        conf += conf_service(name + "-udp", listen=listen, type="dgram",
                             plugin=name)
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)

    with t.case("porterd reports ready with 10 services and one listener "
                "per address"):
        d.wait_line(r"^ready: 10 services")
        ls = d.listeners()
        for name in SERVICES:
            for svc, kind in ((name, "stream"), (name + "-udp", "dgram")):
                got = ls.get(svc, [])
                expect_eq(len(got), len(listen), "listeners of " + svc)
                expect(all(a.kind == kind and a.port > 0 for a in got),
                       "%s: %r" % (svc, got))

    stream_checks(t, d, socket.AF_INET, "tcp4")
    dgram_checks(t, d, socket.AF_INET, "udp4")
    if v6:
        stream_checks(t, d, socket.AF_INET6, "tcp6")
        dgram_checks(t, d, socket.AF_INET6, "udp6")

    with t.case("porterd is still running after all of it"):
        expect(d.alive(), "porterd exited with %s" % d.proc.returncode)
    with t.case("SIGTERM: porterd exits 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
