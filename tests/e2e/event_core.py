#!/usr/bin/env python3
"""event_core -- per-thread event loops, fibers, leader/follower.

Asserts, through a real porterd with threads = 2 and the tid test plugins:
 - the start line names the 2 event loops;
 - 300 idle connections to a cooperative plugin (fibers) cost no thread:
   porterd's thread count stays small, and every one of them is then
   answered from one of at most 2 threads (the loops');
 - 12 idle connections to a blocking plugin each hold a thread of their
   own (leader/follower), and a cooperative client is still served
   meanwhile;
 - a cooperative handler that blocks outside libporter is reported as
   stalling its event loop;
 - a reload that changes `threads` is refused with a clear error and the
   running config keeps serving; threads out of range is a file:line error.
"""
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (conf_opts, conf_service, connect, expect,  # noqa
                        expect_eq, main, run_porterd)

COOP_IDLE = 300
BLOCK_IDLE = 12


def threads_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def ask(s, line=b"hi\n"):
    s.sendall(line)
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(256)
        if not chunk:
            break
        buf += chunk
    m = re.match(rb"tid=(\d+) pid=(\d+)\n$", buf)
    expect(m is not None, "answer %r" % buf)
    return int(m.group(1))


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["tid_coop", "tid_block"], tmp)
    opts = dict(threads=2, max_connections=0, max_per_source=0)
    conf = conf_opts(**opts)
    conf += conf_service("coop", listen=["127.0.0.1:0"], plugin="tid_coop")
    conf += conf_service("block", listen=["127.0.0.1:0"], plugin="tid_block")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)

    with t.case("the start names 2 event loops"):
        d.wait_line(r"^ready: 2 services, 2 event loops")
    base = threads_of(d.pid)
    t.note("porterd threads at rest: %d" % base)

    socks = []
    try:
        with t.case("%d idle cooperative connections cost no thread"
                    % COOP_IDLE):
            for _ in range(COOP_IDLE):
                socks.append(connect(d.addr("coop")))
            # Let porterd accept them all: one answer proves the backlog
            # ahead of it was taken.
            ask(socks[-1])
            n = threads_of(d.pid)
            t.note("porterd threads with %d fibers: %d" % (COOP_IDLE, n))
            expect(n <= base + 2, "threads grew from %d to %d" % (base, n))
        with t.case("each is answered, from at most 2 threads"):
            tids = set(ask(s) for s in socks)
            expect(len(tids) <= 2, "cooperative handlers ran on %d threads"
                   % len(tids))
    finally:
        for s in socks:
            s.close()

    blocking = []
    try:
        with t.case("%d idle blocking connections each hold a thread"
                    % BLOCK_IDLE):
            for _ in range(BLOCK_IDLE):
                blocking.append(connect(d.addr("block")))
            tids = set(ask(s) for s in blocking)
            expect_eq(len(tids), BLOCK_IDLE, "distinct handler threads")
        with t.case("a cooperative client is served meanwhile"):
            s = connect(d.addr("coop"))
            try:
                ask(s)
            finally:
                s.close()
    finally:
        for s in blocking:
            s.close()

    with t.case("a cooperative handler blocking its loop is reported"):
        s = connect(d.addr("coop"))
        try:
            ask(s, b"stall\n")
        finally:
            s.close()
        d.wait_line(r"^service coop: a cooperative handler has run for "
                    r"\d+ ms without yielding, stalling event loop \d")

    with t.case("a reload that changes threads is refused"):
        mark = d.mark()
        conf2 = conf_opts(threads=3, max_connections=0, max_per_source=0)
        conf2 += conf_service("coop", listen=["127.0.0.1:0"],
                              plugin="tid_coop")
        t.write(path, conf2)
        d.signal(1)
        d.wait_line(r"^reload failed: .*threads: porterd runs 2 event "
                    r"loops and a reload cannot change that \(3 asked\)",
                    since=mark)
        s = connect(d.addr("block"))
        try:
            ask(s)
        finally:
            s.close()

    with t.case("threads out of range is a file:line error"):
        bad = t.write(os.path.join(tmp, "bad.conf"),
                      conf_opts(threads=1000) +
                      conf_service("x", listen=["127.0.0.1:0"],
                                   plugin="tid_coop"))
        status, out, err = run_porterd(["-t", "-f", bad, "-P", plugins])
        expect(status != 0, "exit status %d" % status)
        expect(re.search(r"bad\.conf:1: threads 1000 out of range", err),
               "stderr %r" % err)

    with t.case("SIGTERM exits 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
