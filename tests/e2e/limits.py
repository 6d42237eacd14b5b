#!/usr/bin/env python3
"""limits -- max-connections, max-per-source and the rate limit hold a
service back without ever refusing it for good.

Asserts: max-connections = 2 with two idle connections held: a third
client connects at TCP level but gets no echo until a held one closes,
then it is served; "max-connections (2) reached, pausing accepts" is
logged once for the episode and "accepting again" when a slot frees.
With reject-message = "busy\\r\\n" the third client gets exactly that, then
EOF, and the refusal is logged with its reason.  max-per-source = 2: the
third connection from 127.0.0.1 is closed at once with no data (logged
"per-source limit (2) reached") while a client bound to 127.0.0.2 is
served, and once a held one closes 127.0.0.1 is served again.  IPv6 (if
available): two clients from ::1 count as one source.  A listener on [::ffff:127.0.0.1] sees IPv4 clients as
v4-mapped peers, which are grouped as IPv4 /32 (127.0.0.2 is not held
back by 127.0.0.1, as it would be in one IPv6 /64).  rate = 5, burst =
2: ten quick connects are all served, two at once and the rest as tokens
refill (1.2 s <= total < 5 s), with one "rate limit (5/s, burst 2)
reached" line; afterwards a new client is served at once.  Two
connections held while max-per-source was 0, then a reload sets it to 1:
a new client is counted, the two old ones end, and another new client
from the same source is still refused (the old ones' ends took nothing
back).
"""
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (TIMEOUT_SCALE, conf_opts, conf_service,  # noqa
                        expect, expect_eq, ipv6_available, main, recv_exact)
from hardening_clients import (closed_with, connect_from, echoes,  # noqa
                               served_within, silent_for, peer_re)

BUSY = b"busy\r\n"


def service(name, reject=False, **kw):
    """conf_service, plus reject-message = "busy\\r\\n" written with
    libconfuse escapes (conf_value would quote the backslashes)."""
    text = conf_service(name, **kw)
    if reject:
        text = text[:-2] + '    reject-message = "busy\\r\\n"\n}\n'
    return text


def max_connections(t, d):
    addr = d.addr("maxconn")
    held, waiting = [], []
    try:
        with t.case("max-connections 2: two held, a third waits in the "
                    "backlog with no echo"):
            for _ in range(2):
                held.append(connect_from(addr))
                echoes(held[-1])
            for i in range(2):
                waiting.append(connect_from(addr))
                waiting[-1].sendall(b"queued%d\n" % i)
            silent_for(waiting[0], 1.0)
            d.wait_line(r"^service maxconn: max-connections \(2\) reached, "
                        r"pausing accepts$")
        with t.case("the pause is logged once while clients queue"):
            n = len(d.find(r"^service maxconn: max-connections \(2\) "
                           r"reached"))
            expect_eq(n, 1, "'reached' lines")
        with t.case("a reload (same config) is no way around the limit: "
                    "the queued clients still wait"):
            mark = d.mark()
            d.signal(1)
            d.wait_line(r"^reloaded: ", mark)
            silent_for(waiting[0], 1.0)
        with t.case("a held connection closes: the first queued client is "
                    "served, the second still waits"):
            mark = d.mark()
            held.pop(0).close()
            expect_eq(recv_exact(waiting[0], 8), b"queued0\n", "echo")
            d.wait_line(r"^service maxconn: accepting again$", mark)
            silent_for(waiting[1], 0.5)
        with t.case("the second held connection closes: the last is "
                    "served"):
            held.pop(0).close()
            expect_eq(recv_exact(waiting[1], 8), b"queued1\n", "echo")
            expect(not d.find(r"^service maxconn: refused"),
                   "a queued client was logged as refused")
    finally:
        for s in held + waiting:
            s.close()

    addr = d.addr("maxmsg")
    held = []
    try:
        with t.case("max-connections 2 with reject-message: the third "
                    "client gets exactly the message, then EOF"):
            for _ in range(2):
                held.append(connect_from(addr))
                echoes(held[-1])
            s = connect_from(addr)
            try:
                closed_with(s, BUSY)
                d.wait_line(r"^service maxmsg: refused %s: max-connections "
                            r"\(2\) reached$" % peer_re(s))
            finally:
                s.close()
        with t.case("after a held connection closes, maxmsg serves again"):
            held.pop(0).close()
            served_within(addr)
    finally:
        for s in held:
            s.close()


def per_source(t, d, service, src, other, limit, reject):
    """`limit` clients from src held; the next from src is refused; one
    from `other` (if any) is served."""
    addr = d.addr(service)
    held = []
    try:
        with t.case("%s: max-per-source %d: the next client from %s is "
                    "closed at once%s" % (service, limit, src,
                                          " with the message" if reject
                                          else " with no data")):
            for _ in range(limit):
                held.append(connect_from(addr, src))
                echoes(held[-1])
            s = connect_from(addr, src)
            try:
                closed_with(s, BUSY if reject else b"")
                d.wait_line(r"^service %s: refused %s: per-source limit "
                            r"\(%d\) reached$" % (service, peer_re(s), limit))
            finally:
                s.close()
        if other:
            with t.case("%s: a client from %s is a different source: "
                        "served" % (service, other)):
                s = connect_from(addr, other)
                try:
                    echoes(s)
                finally:
                    s.close()
        with t.case("%s: a held connection closes: %s is served again"
                    % (service, src)):
            held.pop(0).close()
            served_within(addr, src)
    finally:
        for s in held:
            s.close()


def rate_limit(t, d):
    addr = d.addr("rate")
    times, errs = {}, []
    mark = d.mark()

    def client(i):
        try:
            s = connect_from(addr)
            try:
                echoes(s, b"burst %02d\n" % i)
            finally:
                s.close()
            times[i] = time.monotonic() - t0
        except Exception as e:  # reported below
            errs.append("client %d: %r" % (i, e))

    t0 = time.monotonic()
    ths = [threading.Thread(target=client, args=(i,), daemon=True)
           for i in range(10)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(10 * TIMEOUT_SCALE)
    got = sorted(times.values())
    t.note("rate 5/s burst 2: completion times %s"
           % " ".join("%.2f" % x for x in got))
    with t.case("rate 5, burst 2: all ten quick connects are served"):
        expect(not errs, "; ".join(errs[:3]))
        expect_eq(len(got), 10, "clients served")
    if len(got) != 10:
        return
    with t.case("the first two at once, the rest as tokens refill "
                "(1.2 s <= total < 5 s)"):
        expect(got[1] < 0.5 * TIMEOUT_SCALE, "the second took %.2f s"
               % got[1])
        expect(got[2] >= 0.1, "the third took only %.2f s: no limit?"
               % got[2])
        expect(1.2 <= got[-1] < 5.0 * TIMEOUT_SCALE,
               "the last was served after %.2f s" % got[-1])
    with t.case("the limit is logged once for the burst, nothing refused"):
        d.wait_line(r"^service rate: rate limit \(5/s, burst 2\) reached, "
                    r"pausing accepts$", mark)
        n = len(d.find(r"^service rate: rate limit", mark))
        expect_eq(n, 1, "'rate limit' lines")
        expect(not d.find(r"^service rate: refused", mark),
               "a client was refused")
    with t.case("after the burst the service is not disabled: a new client "
                "is served within 1 s"):
        time.sleep(0.5)
        t1 = time.monotonic()
        s = connect_from(addr)
        try:
            echoes(s, b"after\n")
        finally:
            s.close()
        took = time.monotonic() - t1
        t.note("client after the burst served in %.3f s" % took)
        expect(took < 1.0 * TIMEOUT_SCALE, "took %.2f s" % took)


def per_source_by_reload(t, d, path, conf, later):
    """Connections admitted while max-per-source was 0 were not counted:
    once a reload sets it, their ends must not take back the count of the
    connections admitted since."""
    addr = d.addr("later")
    with t.case("max-per-source set by a reload: the uncounted older "
                "connections' ends do not free a slot"):
        old = [connect_from(addr, "127.0.0.1") for _ in range(2)]
        for s in old:
            echoes(s)
        mark = d.mark()
        t.write(path, conf.replace(later, service(
            "later", listen=["127.0.0.1:0"], plugin="echo",
            max_per_source=1)))
        d.signal(1)
        d.wait_line(r"^reloaded: ", mark)
        a = connect_from(addr, "127.0.0.1")
        echoes(a)
        for s in old:
            s.close()
        time.sleep(0.5 * TIMEOUT_SCALE)     # their ends reach porterd
        b = connect_from(addr, "127.0.0.1")
        closed_with(b)
        b.close()
        a.close()
        served_within(addr, "127.0.0.1")


def scenario(t):
    v6 = ipv6_available()
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"], tmp)
    conf = conf_opts(shutdown_timeout=5)
    conf += service("maxconn", listen=["127.0.0.1:0"], plugin="echo",
                    max_connections=2)
    conf += service("maxmsg", reject=True, listen=["127.0.0.1:0"],
                    plugin="echo", max_connections=2)
    conf += service("persrc", listen=["127.0.0.1:0"], plugin="echo",
                    max_per_source=2)
    conf += service("rate", listen=["127.0.0.1:0"], plugin="echo", rate=5,
                    burst=2)
    later = service("later", listen=["127.0.0.1:0"], plugin="echo",
                    max_per_source=0)
    conf += later
    if v6:
        conf += service("persrc6", reject=True, listen=["[::1]:0"],
                        plugin="echo", max_per_source=1)
        conf += service("mapped", listen=["[::ffff:127.0.0.1]:0"],
                        plugin="echo", max_per_source=1)
    else:
        t.note("no IPv6 on loopback: the IPv6 and v4-mapped cases are "
               "skipped")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)

    with t.case("ready"):
        d.wait_line(r"^ready: %d services" % (7 if v6 else 5))

    max_connections(t, d)
    # Each service's first refusal is logged on a line of its own; later
    # ones within 10 s only in the summary (see access.py).
    per_source(t, d, "persrc", "127.0.0.1", "127.0.0.2", 2, False)
    if v6:
        per_source(t, d, "persrc6", "::1", None, 1, True)
        per_source(t, d, "mapped", "127.0.0.1", "127.0.0.2", 1, False)
    rate_limit(t, d)
    per_source_by_reload(t, d, path, conf, later)

    with t.case("porterd still runs; SIGTERM exits 0"):
        expect(d.alive(), "porterd exited")
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
