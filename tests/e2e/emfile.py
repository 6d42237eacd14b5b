#!/usr/bin/env python3
"""emfile -- out of descriptors, porterd neither spins nor stalls.

porterd runs an echo service; once it is ready its RLIMIT_NOFILE is
lowered to 64 (prlimit(2) on its PID, so nothing in the harness changes
and a $PORTERD_WRAPPER such as valgrind is not limited while it starts).
The test holds idle connections until porterd logs "out of file
descriptors, pausing accepts" (the kernel backlog keeps the rest), then
floods the listener with connects for 2 s.  Asserts: porterd's CPU time
(utime + stime from /proc/PID/stat, all threads) over those 2 s stays
under 30% of one core (the figure is printed); the episode is logged
once, and connections failing with "Too many open files" stay rare
(accepted only to fail in its handler); a connection accepted before
the exhaustion still echoes during it; after the held connections
close, porterd logs "descriptors available again, accepting" and serves
a new client.
"""
import os
import resource
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (TIMEOUT_SCALE, Skip, conf_opts,  # noqa
                        conf_service, expect, expect_eq, main)
from hardening_clients import connect_from, echoes, served_within  # noqa

NOFILE = 64
MAX_HELD = 400          # well past 64 + the backlog: a bound, not a goal
FLOOD_SECS = 2.0
CPU_LIMIT = 30.0        # percent of one core
EMFILE_RE = r"out of file descriptors, pausing accepts"


def cpu_seconds(pid):
    """utime + stime of process pid (all its threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        # The command name may hold spaces: fields count from after ')'.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hold_until_exhausted(t, d, addr, held):
    """Opens idle connections into held until porterd logs the episode;
    each connect completes in the kernel even when porterd cannot accept."""
    mark = d.mark()
    while len(held) < MAX_HELD:
        try:
            held.append(connect_from(addr, timeout=1.0))
        except socket.timeout:
            break  # backlog full: porterd must have hit the limit by now
        if len(held) % 8 == 0 and d.find(EMFILE_RE, mark):
            break
    t.note("held %d idle connections" % len(held))
    return d.wait_line(EMFILE_RE, mark, 5.0 * TIMEOUT_SCALE)


def flood(addr, secs):
    """Non-blocking connects, each closed at once, for secs seconds;
    returns how many were started."""
    n, deadline = 0, time.monotonic() + secs
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(addr.sockaddr)
        s.close()
        n += 1
        if n % 64 == 0:
            time.sleep(0.001)  # leave a core to porterd on small machines
    return n


def scenario(t):
    if not hasattr(resource, "prlimit"):
        raise Skip("no prlimit(2) in this Python")
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"], tmp)
    # One client address must be able to exhaust the descriptors: no
    # per-source limit (the default one would close them first).
    conf = conf_opts(shutdown_timeout=5, max_per_source=0)
    conf += conf_service("echo", listen=["127.0.0.1:0"], plugin="echo")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)

    with t.case("ready"):
        d.wait_line(r"^ready: 1 service")
    addr = d.addr("echo")
    first = connect_from(addr)
    held = []
    try:
        with t.case("a connection accepted before the limit echoes"):
            echoes(first, b"first\n")
        resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
        t.note("porterd pid %d: RLIMIT_NOFILE lowered to %d"
               % (d.pid, NOFILE))
        # porterd re-reads its descriptor limit once a second (a limit
        # changed from outside is noticed on its next tick).
        time.sleep(1.5)

        mark = d.mark()
        exhausted = False
        with t.case("holding idle connections exhausts porterd's "
                    "descriptors: '%s' logged" % EMFILE_RE):
            m = hold_until_exhausted(t, d, addr, held)
            t.note(m.group(0))
            exhausted = True
        if not exhausted:
            return
        n = 0
        with t.case("a %.0f s connect flood: porterd's CPU stays under "
                    "%.0f%% of one core" % (FLOOD_SECS, CPU_LIMIT)):
            c0, w0 = cpu_seconds(d.pid), time.monotonic()
            n = flood(addr, FLOOD_SECS)
            c1, w1 = cpu_seconds(d.pid), time.monotonic()
            pct = 100.0 * (c1 - c0) / (w1 - w0)
            t.note("flood: %d connects in %.2f s; porterd CPU %.2f s = "
                   "%.1f%% of one core" % (n, w1 - w0, c1 - c0, pct))
            expect(pct < CPU_LIMIT, "porterd used %.1f%% of a core" % pct)
        with t.case("the episode is logged once, not per connection"):
            expect_eq(len(d.find(EMFILE_RE, mark)), 1,
                      "'out of file descriptors' lines")
        with t.case("few connections are accepted only to fail for want "
                    "of a descriptor"):
            # porterd sheds clients near the limit (descriptor number and
            # a duplicate probe), but a handler thread's own pt_fromfd()
            # can still lose the last descriptor to a concurrent accept.
            # What must not happen is one failure per flooding client.
            bad = d.find(r"Too many open files", mark)
            t.note("%d handler-level EMFILE lines during %d connects"
                   % (len(bad), n))
            expect(len(bad) <= 64, "%d lines, first: %s"
                   % (len(bad), bad[0].string if bad else ""))
        with t.case("porterd still serves the connection it holds"):
            expect(d.alive(), "porterd exited")
            echoes(first, b"during\n")
    finally:
        for s in held:
            s.close()
        held = []

    with t.case("the held connections close: 'descriptors available again, "
                "accepting' and a new client is served"):
        served_within(addr, secs=10.0)
        d.wait_line(r"descriptors available again, accepting", mark)
    first.close()

    with t.case("porterd still runs; SIGTERM exits 0"):
        expect(d.alive(), "porterd exited")
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
