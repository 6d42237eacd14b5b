#!/usr/bin/env python3
"""dgram_reflection -- one forged datagram must not start a reply loop
between datagram services (issue 10, "no reflection loops").

porterd serves echo, daytime, chargen and time over UDP on 127.0.0.1, and
a second daytime ("twin") on 127.0.0.2.  Asserted, with the real daemon:

  forged (raw socket; skipped without CAP_NET_RAW): a datagram from
      porterd's own daytime port to its echo port -- the loop of the
      bundled config -- and from echo's port to echo itself: porterd
      refuses, its CPU stays idle over the next 1.5 s, daytime never
      runs, and 100 more forged datagrams add no log line (one line per
      episode); a source port below 1024 (chargen 19) is refused by
      every bundled datagram plugin, again with one line;
  own port from another address (unprivileged): a client bound to
      127.0.0.1:<twin's port> gets no answer from echo (porterd's own
      port, any address), while an ordinary client does;
  rate: a reflector that is not porterd (a socket here that sends back
      everything it gets) is paired with echo by one datagram; the loop
      ends after one burst (200 replies, give or take the refill), the
      CPU goes idle, and the log has one "reply rate" line;
  reload: the own-port set follows the config: after a SIGHUP that drops
      the twin and adds "late", the twin's port is answered and late's is
      not; the reload also closes the episodes that have been quiet for
      10 s, with one summary line counting every refused datagram.

Before the guard, the forged case spun both services at 100% CPU with
thousands of log lines a second, and the rate case never ended.
"""
import os
import re
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Failure, conf_opts, conf_service,  # noqa
                        dgram_request, expect, expect_eq, main,
                        TIMEOUT_SCALE)

SERVICES = ("echo", "daytime", "chargen", "time")
BURST = 200          # DGRAM_GUARD_BURST
RATE = 100           # DGRAM_GUARD_RATE
QUIET = 10           # DGRAM_GUARD_QUIET_SECS
OWN = r"source port is one of porterd's own datagram services"
LOW = r"source port below 1024"
OVER = r"reply rate to this source exceeded"
# A refusal line naming one peer; an episode's summary ("not answering: N
# datagrams refused ...; episode over") is not one.  Under valgrind an
# earlier episode can go quiet, and be summarised, while a later case runs.
SINGLE = r"not answering \S"
CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU of pid (all its threads) so far, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def idle_cpu(t, d, what, secs=1.5):
    """porterd uses (almost) no CPU for secs: no loop is running."""
    before = cpu_seconds(d.pid)
    time.sleep(secs)
    used = cpu_seconds(d.pid) - before
    t.note("%s: porterd used %.2f s of CPU in %.1f s" % (what, used, secs))
    expect(used < 0.25 * secs, "%s: porterd used %.2f s of CPU in %.1f s: "
           "a loop is running" % (what, used, secs))


def raw_socket():
    """A raw UDP socket for forging, or None without CAP_NET_RAW."""
    try:
        return socket.socket(socket.AF_INET, socket.SOCK_RAW,
                             socket.IPPROTO_UDP)
    except PermissionError:
        return None


def forge(raw, sport, dport, payload=b"forged"):
    """A datagram from 127.0.0.1:sport to 127.0.0.1:dport (the kernel
    writes the IPv4 header; UDP checksum 0 means none, valid on IPv4)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    raw.sendto(udp, ("127.0.0.1", 0))


def count(d, regex, since=0):
    return len(d.find(regex, since))


def no_reply(sock, to, data, wait=0.5):
    """Sends data from sock to `to`; True if nothing comes back."""
    sock.settimeout(wait * TIMEOUT_SCALE)
    sock.sendto(data, to)
    try:
        sock.recvfrom(65536)
    except socket.timeout:
        return True
    return False


def make_conf(tmp, t, with_twin, with_late):
    conf = conf_opts(shutdown_timeout=5)
    for name in SERVICES:
        conf += conf_service(name, listen=["127.0.0.1:0"], type="dgram",
                             plugin=name)
    if with_twin:
        conf += conf_service("twin", listen=["127.0.0.2:0"], type="dgram",
                             plugin="daytime")
    if with_late:
        conf += conf_service("late", listen=["127.0.0.1:0"], type="dgram",
                             plugin="daytime")
    return t.write(os.path.join(tmp, "porterd.conf"), conf)


def forged_cases(t, d, raw, port):
    m = d.mark()
    with t.case("forged: daytime -> echo is refused, no loop starts"):
        forge(raw, port["daytime"], port["echo"])
        d.wait_line(r"service echo: not answering 127\.0\.0\.1:%d: %s"
                    % (port["daytime"], OWN), m)
        idle_cpu(t, d, "after daytime -> echo")
        expect_eq(count(d, r"service daytime:", m), 0,
                  "daytime log lines (it must never have run)")
    with t.case("forged: 100 more, and echo -> echo: no new log line"):
        for _ in range(100):
            forge(raw, port["daytime"], port["echo"])
        forge(raw, port["echo"], port["echo"])
        # echo's handler logs nothing for a refusal; wait for it to have
        # taken all 101 by asking it something it answers.
        expect(dgram_request(d.addr("echo"), b"sync") == b"sync",
               "echo does not answer a real client")
        idle_cpu(t, d, "after 101 more")
        expect_eq(count(d, SINGLE, m), 1, "refusal lines")
    m = d.mark()
    with t.case("forged: source port 19 is refused by every plugin, "
                "one line"):
        for name in SERVICES:
            forge(raw, 19, port[name])
        d.wait_line(r"not answering 127\.0\.0\.1:19: %s" % LOW, m)
        for name in SERVICES:
            # Each took the forged datagram (6 B) and sent nothing.
            d.wait_line(r"service %s: .*plugin %s done in [\d.]+s \(in 6 B, "
                        r"out 0 B\)" % (name, name), m)
        idle_cpu(t, d, "after port 19")
        expect_eq(count(d, SINGLE, m), 1, "refusal lines")


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(SERVICES, tmp)
    path = make_conf(tmp, t, True, False)
    d = t.porterd(path, plugins)
    with t.case("ready with 5 datagram services"):
        d.wait_line(r"^ready: 5 services")
    port = {n: d.addr(n).port for n in SERVICES + ("twin",)}
    echo = ("127.0.0.1", port["echo"])
    refused = 0  # own-port refusals, for the summary

    raw = raw_socket()
    if raw is None:
        t.note("no CAP_NET_RAW: the forged-source cases are skipped")
    else:
        with raw:
            forged_cases(t, d, raw, port)
        refused += 102

    m = d.mark()
    with t.case("own port on another address: no answer; others answered"):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with s:
            s.bind(("127.0.0.1", port["twin"]))
            for i in range(3):
                expect(no_reply(s, echo, b"twin?"),
                       "echo answered porterd's own port %d" % port["twin"])
        refused += 3
        expect_eq(dgram_request(d.addr("echo"), b"plain"), b"plain",
                  "an ordinary client's reply")
        if raw is None:
            d.wait_line(r"service echo: not answering 127\.0\.0\.1:%d: %s"
                        % (port["twin"], OWN), m)

    m = d.mark()
    with t.case("rate: a loop through a foreign reflector ends after "
                "one burst"):
        r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with r:
            # Its own address, so the clients above share no budget.
            r.bind(("127.0.0.3", 0))
            r.settimeout(1.0 * TIMEOUT_SCALE)
            r.sendto(b"ping-pong", echo)
            bounced = 0
            start = time.monotonic()
            deadline = time.monotonic() + 10 * TIMEOUT_SCALE
            while time.monotonic() < deadline and bounced < 20 * BURST:
                try:
                    data, src = r.recvfrom(65536)
                except socket.timeout:
                    break  # the loop has ended
                bounced += 1
                r.sendto(data, src)
            secs = time.monotonic() - start
        t.note("echo answered the reflector %d times in %.2f s"
               % (bounced, secs))
        # The burst, plus what the rate refilled while the loop ran.
        expect(BURST <= bounced <= BURST + RATE * secs + 5,
               "echo answered the reflector %d times in %.2f s (burst %d, "
               "%d/s)" % (bounced, secs, BURST, RATE))
        d.wait_line(r"service echo: not answering 127\.0\.0\.3:\d+: %s"
                    % OVER, m)
        idle_cpu(t, d, "after the reflector")
        expect_eq(count(d, SINGLE, m), 1, "refusal lines")

    with t.case("reload: the own ports follow the config; quiet episodes "
                "are summarised"):
        # Let the own-port episode go quiet, so the reload ends it.
        time.sleep(QUIET + 0.5)
        m = d.mark()
        make_conf(tmp, t, False, True)
        d.signal(1)
        d.wait_line(r"service late: listening on", m)
        d.wait_line(r"not answering: %d datagrams refused in [\d.]+ s "
                    r"\(%s\), the first from 127\.0\.0\.1:\d+; episode over"
                    % (refused, OWN), m)
        late = d.addr("late", since=m).port
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with s:
            s.bind(("127.0.0.1", port["twin"]))
            s.settimeout(5.0 * TIMEOUT_SCALE)
            s.sendto(b"now?", echo)
            expect_eq(s.recvfrom(65536)[0], b"now?",
                      "echo's reply to the twin's old port")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with s:
            s.bind(("127.0.0.2", late))
            expect(no_reply(s, echo, b"late?"),
                   "echo answered the new own port %d" % late)

    with t.case("SIGTERM: porterd exits 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
