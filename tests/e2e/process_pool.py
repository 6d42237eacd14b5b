#!/usr/bin/env python3
"""process_pool -- isolation = process plugins are served by a pool of
pre-forked worker processes (pool.h).

Asserts: with reuse = 1 every connection gets a worker of its own (a new
pid each time); with reuse unlimited one worker serves one connection
after another (the same pid); workers run as the service's user with its
groups, block and ignore no signal, hold no descriptor but their
connection, their socket, the log and /dev/null (not the plugin's file),
and are not porterd's children but
its pool process's, which runs the build's porterd-pool; the pool grows to pool-max and no further -- a
connection beyond it waits, and is served once a worker is free; a
worker that crashes costs only its own connection (logged "killed by
signal 11" with its pid; a held connection of the same pool still
finishes "exit 0"; the pool is not restarted); a pool grown to pool-max
by held connections shrinks back to pool-min once they end and
pool-idle-timeout passes; a crashed connection's CPU time is its own,
not what the worker spent on the connections before it; a hung worker
is cut by
max-lifetime; pool options on a service without a pool are refused
with file:line.
"""
import os
import pwd
import re
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (TOP_BUILDDIR, Skip, connect, conf_opts,  # noqa
                        conf_service, expect, expect_eq, main,
                        proc_children, proc_title, recv_or_reset,
                        run_porterd)

LINE_RE = (r"^service %s: 127\.0\.0\.1:%d: plugin whoami pid (\d+): "
           r"(.*) in [0-9.]+s \(in \d+ B, out \d+ B, user")


def ask(addr, what, hold=False):
    """Sends one line; returns (answer, socket if hold else None)."""
    s = connect(addr)
    s.sendall(what + b"\n")
    data = b""
    while not data.endswith(b"\n"):
        x = s.recv(4096)
        if not x:
            break
        data += x
    if hold:
        return data, s
    s.close()
    return data, None


def who(addr):
    data, _ = ask(addr, b"who")
    return dict(kv.split("=", 1) for kv in data.decode().split())


def scenario(t):
    if os.geteuid() != 0:
        raise Skip("needs root to switch users")
    nobody = pwd.getpwnam("nobody")
    tmp = t.tmpdir()
    plugins = t.plugindir(["whoami"], tmp)
    conf = conf_opts(shutdown_timeout=5, max_per_source=0)
    conf += conf_service("fresh", listen=["127.0.0.1:0"], plugin="whoami",
                         isolation="process", user="nobody", reuse=1)
    conf += conf_service("pooled", listen=["127.0.0.1:0"], plugin="whoami",
                         isolation="process", user="nobody", pool_max=2)
    conf += conf_service("hang", listen=["127.0.0.1:0"], plugin="whoami",
                         isolation="process", user="nobody",
                         max_lifetime=1)
    conf += conf_service("shrink", listen=["127.0.0.1:0"], plugin="whoami",
                         isolation="process", user="nobody", pool_min=1,
                         pool_max=3, pool_idle_timeout=1)
    conf += conf_service("one", listen=["127.0.0.1:0"], plugin="whoami",
                         isolation="process", user="nobody", pool_max=1)
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)
    d.wait_line(r"^ready: 5 services")
    fresh, pooled = d.addr("fresh"), d.addr("pooled")

    with t.case("reuse = 1: a new worker for every connection"):
        pids = [who(fresh)["pid"] for _ in range(4)]
        expect_eq(len(set(pids)), 4, "distinct pids in %s" % pids)

    with t.case("reuse unlimited: one worker serves them one by one"):
        pids = []
        for _ in range(4):
            # One after another: each is over (logged) before the next.
            mark = d.mark()
            pids.append(who(pooled)["pid"])
            d.wait_line(r"^service pooled: .* pid %s: exit 0" % pids[-1],
                        since=mark)
        expect_eq(len(set(pids)), 1, "distinct pids in %s" % pids)

    with t.case("a worker runs as the service's user, signals clean"):
        w = who(pooled)
        expect_eq(int(w["uid"]), nobody.pw_uid, "uid")
        expect_eq(int(w["gid"]), nobody.pw_gid, "gid")
        expect_eq(int(w["sigblk"], 16), 0, "SigBlk")
        expect_eq(int(w["sigign"], 16), 0, "SigIgn")
        pid = int(w["pid"])
        expect(pid not in proc_children(d.pid), "a worker is porterd's child")
        pools = proc_children(d.pid)
        expect(any(pid in proc_children(p) for p in pools),
               "the worker is not a child of a pool process %s" % pools)

    with t.case("a serving worker holds only its connection, its socket "
                "to the pool, the log and /dev/null"):
        w, s = ask(pooled, b"who", hold=True)
        pid = int(w.decode().split()[0].split("=")[1])
        fds = {}
        for f in os.listdir("/proc/%d/fd" % pid):
            try:
                fds[int(f)] = os.readlink("/proc/%d/fd/%s" % (pid, f))
            except OSError:
                pass
        s.close()
        sockets = [f for f, l in fds.items() if l.startswith("socket:")]
        files = {f: l for f, l in fds.items()
                 if not l.startswith("socket:") and l != "/dev/null"}
        t.note("worker %d's descriptors: %r" % (pid, fds))
        expect_eq([fds.get(f) for f in (0, 1, 2)], ["/dev/null"] * 3,
                  "0, 1, 2")
        # The connection and the socket to the pool process.
        expect_eq(len(sockets), 2, "sockets in %r" % fds)
        # At most porterd's log file (-d logs to stderr, a file here).
        expect(len(files) <= 1 and not any(l.endswith(".so")
                                          for l in files.values()),
               "other files: %r" % files)

    with t.case("ps shows pool processes and workers by service"):
        w = who(pooled)
        pid = int(w["pid"])
        expect_eq(proc_title(pid), "porterd: pooled worker", "worker's title")
        master = [p for p in proc_children(d.pid) if pid in proc_children(p)]
        expect_eq(len(master), 1, "the worker's pool process")
        expect_eq(proc_title(master[0]), "porterd: pooled pool",
                  "pool process's title")
        # ps -C, top and pgrep read the kernel's name, not argv.
        for who_, p in (("pool process", master[0]), ("worker", pid)):
            with open("/proc/%d/comm" % p) as f:
                expect_eq(f.read().strip(), "porterd-pool",
                          "the %s's name (comm)" % who_)
        # The build's own small pool program (poolexe.c), not porterd
        # (under valgrind /proc/PID/exe is valgrind's).
        if "valgrind" not in os.environ.get("PORTERD_WRAPPER", ""):
            exe = os.path.realpath("/proc/%d/exe" % master[0])
            expect_eq(os.path.basename(exe), "porterd-pool",
                      "the pool process's program")
            expect(exe.startswith(os.path.realpath(
                os.path.join(TOP_BUILDDIR, "daemon")) + "/"),
                "the pool process runs %s, not the build's" % exe)

    with t.case("the pool grows to pool-max (2) and no further"):
        a, sa = ask(pooled, b"who", hold=True)
        b, sb = ask(pooled, b"who", hold=True)
        pa = a.decode().split()[0]
        pb = b.decode().split()[0]
        expect(pa != pb, "two held connections share worker %s" % pa)
        sc = connect(pooled)
        sc.sendall(b"third\n")
        sc.settimeout(1.0)
        try:
            early = sc.recv(100)
        except socket.timeout:
            early = None
        expect(early is None, "a third worker answered: %r" % early)
        sa.close()
        sc.settimeout(10)
        expect_eq(sc.recv(100), b"third\n", "the queued connection")
        sc.close()

    with t.case("pool-idle-timeout: grown to 3, the pool shrinks back to "
                "pool-min (1)"):
        shrink = d.addr("shrink")
        held = [ask(shrink, b"who", hold=True) for _ in range(3)]
        wpids = {a.decode().split()[0] for a, _ in held}
        expect_eq(len(wpids), 3, "workers serving 3 held connections")
        pool = [p for p in proc_children(d.pid)
                if {"pid=%d" % k for k in proc_children(p)} & wpids]
        expect_eq(len(pool), 1, "the pool process of 'shrink'")
        for _, s in held:
            s.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and pool:
            if len(proc_children(pool[0])) == 1:
                break
            time.sleep(0.2)
        expect_eq(len(proc_children(pool[0])) if pool else -1, 1,
                  "workers left after the idle timeout")
        expect_eq(who(shrink)["uid"], str(nobody.pw_uid), "still served")

    with t.case("a crashing worker costs only its connection"):
        mark = d.mark()
        s = connect(pooled)
        port = s.getsockname()[1]
        s.sendall(b"crash\n")
        got = recv_or_reset(s)
        s.close()
        expect_eq(got, b"", "the crashing connection's answer")
        d.wait_line(LINE_RE % ("pooled", port) + "", since=mark)
        m = [re.match(LINE_RE % ("pooled", port), x)
             for x in d.lines[mark:]]
        m = [x for x in m if x][0]
        expect(m.group(2).startswith("killed by signal 11"),
               "status %r" % m.group(2))
        # The held connection (b) finishes normally.
        bport = sb.getsockname()[1]
        sb.close()
        m2 = d.wait_line(LINE_RE % ("pooled", bport), since=mark)
        expect_eq(m2.group(2), "exit 0", "the held connection")
        expect_eq(who(pooled)["uid"], str(nobody.pw_uid), "still served")
        expect_eq(len(d.find(r"^service pooled: worker pool started")), 1,
                  "pool starts")
        expect(len(d.find(r"^service pooled: worker pool pid")) == 0,
               "the pool went down")

    with t.case("a crash's CPU time is its connection's, not the "
                "worker's whole life"):
        one = d.addr("one")
        mark = d.mark()
        s = connect(one)
        bport = s.getsockname()[1]
        s.sendall(b"burn\n")
        expect_eq(recv_or_reset(s), b"burn\n", "answer to burn")
        s.close()
        m = d.wait_line(r"^service one: 127\.0\.0\.1:%d: plugin whoami pid "
                        r"(\d+): exit 0 in [0-9.]+s \(in \d+ B, out \d+ B, "
                        r"user ([0-9.]+)s, sys ([0-9.]+)s" % bport, since=mark)
        burner = m.group(1)
        expect(float(m.group(2)) + float(m.group(3)) >= 0.25,
               "the burn's CPU: %s" % m.group(0))
        s = connect(one)
        cport = s.getsockname()[1]
        s.sendall(b"crash\n")
        recv_or_reset(s)
        s.close()
        m = d.wait_line(r"^service one: 127\.0\.0\.1:%d: plugin whoami pid "
                        r"(\d+): killed by signal 11.* user ([0-9.]+)s, sys "
                        r"([0-9.]+)s" % cport, since=mark)
        expect_eq(m.group(1), burner, "the same worker (pool-max 1)")
        expect(float(m.group(2)) + float(m.group(3)) < 0.2,
               "the crash's CPU includes the burn: %s" % m.group(0))

    with t.case("a hung worker is cut by max-lifetime"):
        mark = d.mark()
        s = connect(d.addr("hang"))
        port = s.getsockname()[1]
        s.sendall(b"hang\n")
        t0 = time.monotonic()
        got = recv_or_reset(s)
        s.close()
        expect_eq(got, b"", "answer from the hung worker")
        expect(time.monotonic() - t0 < 8, "not cut in time")
        m = d.wait_line(LINE_RE % ("hang", port), since=mark)
        expect(m.group(2).startswith("killed by signal"),
               "status %r" % m.group(2))

    with t.case("pool options where no pool runs are refused"):
        bad = conf_service("x", listen=["127.0.0.1:0"], exec_="/bin/cat",
                           reuse=1)
        p2 = t.write(os.path.join(tmp, "bad.conf"), bad)
        rc, out, err = run_porterd(["-t", "-f", p2])
        expect(rc != 0, "accepted")
        expect(re.search(r"bad\.conf:\d+: service 'x': reuse applies to "
                         r"plugins with isolation = process", err),
               "message: %r" % err)


if __name__ == "__main__":
    main(scenario)
