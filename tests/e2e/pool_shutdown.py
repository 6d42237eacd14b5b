#!/usr/bin/env python3
"""pool_shutdown -- SIGTERM drains worker pools, and the shutdown
timeout's SIGTERM reaches pool workers as it reaches exec'd children.

An isolation = process service of the whoami plugin, shutdown-timeout 2.

Asserts: with a connection live on a pool worker, SIGTERM stops
accepting but the connection still answers, and once its client closes
it porterd exits 0, its line logged "exit 0", and the worker and the
pool process are gone.  With a worker hung on its connection, porterd
gives up after shutdown-timeout ("shutdown timeout: 1 connections still
running"), the hung worker dies of that SIGTERM (signal 15; it would
otherwise be waited for by its pool forever), the client sees its
connection end, and the pool process exits.
"""
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Skip, ask_line, connect, conf_opts,  # noqa
                        conf_service, expect, expect_eq, main,
                        proc_children, recv_or_reset)


def wait_gone(pid, seconds=10):
    """True once pid has exited (not even a zombie of a live parent)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.1)
    return False


def start(t, tmp, plugins, tag):
    conf = conf_opts(shutdown_timeout=2, max_per_source=0)
    conf += conf_service("who", listen=["127.0.0.1:0"], plugin="whoami",
                         isolation="process", user="nobody")
    path = t.write(os.path.join(tmp, "%s.conf" % tag), conf)
    d = t.porterd(path, plugins)
    d.wait_line(r"^ready: 1 services")
    return d


def scenario(t):
    if os.geteuid() != 0:
        raise Skip("needs root to switch users")
    tmp = t.tmpdir()
    plugins = t.plugindir(["whoami"], tmp)

    with t.case("SIGTERM: a live pooled connection finishes, then exit 0"):
        d = start(t, tmp, plugins, "drain")
        s = connect(d.addr("who"))
        port = s.getsockname()[1]
        answer = ask_line(s, b"who\n")
        worker = int(answer.split()[0].split(b"=")[1])
        pool = [p for p in proc_children(d.pid) if worker in proc_children(p)]
        expect_eq(len(pool), 1, "the pool process of worker %d" % worker)
        mark = d.mark()
        d.signal(signal.SIGTERM)
        d.wait_line(r"^shutting down", since=mark)
        time.sleep(0.5)
        expect(d.alive(), "porterd exited under a live connection")
        s.sendall(b"more\n")
        s.close()
        expect_eq(d.wait_exit(), 0, "porterd's exit status")
        expect(d.find(r"^service who: 127\.0\.0\.1:%d: plugin whoami pid "
                      r"%d: exit 0 " % (port, worker), since=mark),
               "no 'exit 0' line for the live connection")
        expect(wait_gone(worker), "worker %d still runs" % worker)
        expect(wait_gone(pool[0]), "pool process %d still runs" % pool[0])

    with t.case("shutdown timeout: the hung worker gets SIGTERM"):
        d = start(t, tmp, plugins, "hung")
        s = connect(d.addr("who"))
        port = s.getsockname()[1]
        s.sendall(b"hang\n")
        deadline = time.monotonic() + 10
        workers = []
        while time.monotonic() < deadline and not workers:
            workers = [w for p in proc_children(d.pid)
                       for w in proc_children(p)]
            time.sleep(0.1)
        expect_eq(len(workers), 1, "the hung worker")
        pool = [p for p in proc_children(d.pid)
                if workers[0] in proc_children(p)]
        mark = d.mark()
        d.signal(signal.SIGTERM)
        d.wait_line(r"^shutdown timeout: 1 connections still running",
                    since=mark)
        expect_eq(d.wait_exit(), 0, "porterd's exit status")
        expect(wait_gone(workers[0]), "the hung worker %d survived "
               "porterd" % workers[0])
        got = recv_or_reset(s)
        s.close()
        expect_eq(got, b"", "the hung connection's end")
        expect(wait_gone(pool[0]), "pool process %d still runs" % pool[0])


if __name__ == "__main__":
    main(scenario)
