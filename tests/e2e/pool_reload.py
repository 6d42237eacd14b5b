#!/usr/bin/env python3
"""pool_reload -- a reload keeps the worker pool of an unchanged service
and drains the pool of a changed one (pool.h, pool_share()).

Two isolation = process services of the whoami plugin: "keep" (the same
in both configs) and "change" (pool-max 2, then 3).  Before the reload a
connection to "change" is held open on its worker.  After a real reload
(SIGHUP):

Asserts: "keep" is served by the very same worker pid and pool process
as before, and its pool was started once; "change" is served by a new
worker of a new pool process; the held connection's worker and its old
pool process are still alive while it runs, its connection still answers
and finishes "exit 0" once the client closes it, and then that worker and
that pool process exit; a second reload that changes nothing keeps both
pools.
"""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Skip, ask_line, connect, conf_opts,  # noqa
                        conf_service, expect, expect_eq, main)


def ask(addr, what):
    """Sends one line; returns (answer, the open socket)."""
    s = connect(addr)
    return ask_line(s, what + b"\n"), s


def worker_pid(answer):
    return int(dict(kv.split("=", 1)
                    for kv in answer.decode().split())["pid"])


def who(d, addr, name):
    """The worker pid serving one "who"; returns once porterd has logged
    the connection's end, so that worker is idle for the next one."""
    mark = d.mark()
    answer, s = ask(addr, b"who")
    s.close()
    pid = worker_pid(answer)
    d.wait_line(r"^service %s: .* pid %d: exit 0" % (name, pid), since=mark)
    return pid


def parent(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.1)
    return not alive(pid)


def config(change_max):
    conf = conf_opts(shutdown_timeout=5, max_per_source=0)
    conf += conf_service("keep", listen=["127.0.0.1:0"], plugin="whoami",
                         isolation="process", user="nobody", pool_max=2)
    conf += conf_service("change", listen=["127.0.0.1:0"], plugin="whoami",
                         isolation="process", user="nobody",
                         pool_max=change_max)
    return conf


def scenario(t):
    if os.geteuid() != 0:
        raise Skip("needs root to switch users")
    tmp = t.tmpdir()
    plugins = t.plugindir(["whoami"], tmp)
    path = t.write(os.path.join(tmp, "porterd.conf"), config(2))
    d = t.porterd(path, plugins)
    d.wait_line(r"^ready: 2 services")
    keep, change = d.addr("keep"), d.addr("change")

    k1 = who(d, keep, "keep")
    kpool = parent(k1)
    a, held = ask(change, b"who")
    c1 = worker_pid(a)
    cpool = parent(c1)
    expect(kpool != cpool, "one pool process for two services")

    with t.case("SIGHUP: the unchanged pool stays, the changed one is new"):
        mark = d.mark()
        t.write(path, config(3))
        d.signal(1)
        d.wait_line(r"^reloaded: 2 services", mark)
        k2 = who(d, keep, "keep")
        expect_eq(k2, k1, "keep's worker after the reload")
        expect_eq(parent(k2), kpool, "keep's pool process")
        expect_eq(len(d.find(r"^service keep: worker pool started")), 1,
                  "keep's pool starts")
        c2 = who(d, change, "change")
        expect(c2 != c1, "change is served by its old worker %d" % c1)
        expect(parent(c2) != cpool, "change's new worker is in the old "
               "pool process %d" % cpool)
        expect_eq(len(d.find(r"^service change: worker pool started")), 2,
                  "change's pool starts")

    with t.case("the changed pool drains: its live connection finishes"):
        expect(alive(c1) and alive(cpool),
               "the old worker or pool ended under its connection")
        held.sendall(b"still there\n")
        mark = d.mark()
        port = held.getsockname()[1]
        held.close()
        m = d.wait_line(r"^service change: 127\.0\.0\.1:%d: plugin whoami "
                        r"pid %d: (\S+ \S+)" % (port, c1), since=mark)
        expect_eq(m.group(1), "exit 0", "the held connection's status")
        expect(wait_gone(c1), "the old worker %d still runs" % c1)
        expect(wait_gone(cpool), "the old pool process %d still runs"
               % cpool)
        expect(alive(kpool), "keep's pool process ended")

    with t.case("a reload that changes nothing keeps both pools"):
        c3 = who(d, change, "change")
        mark = d.mark()
        d.signal(1)
        d.wait_line(r"^reloaded: 2 services", mark)
        expect_eq(who(d, keep, "keep"), k1, "keep's worker")
        expect_eq(who(d, change, "change"), c3, "change's worker")
        expect(not d.find(r"worker pool started", mark),
               "a pool was started again")


if __name__ == "__main__":
    main(scenario)
