#!/usr/bin/env python3
"""exec_spawn -- exec'd programs are started with vfork semantics off the
event loop (spawner.c), with a clean signal state, and their resource
usage is logged.

Asserts: a program started by porterd (whose main thread blocks SIGCHLD,
SIGHUP, SIGTERM and SIGINT, whose spawner thread blocks every signal, and
which inherited SIGUSR2 ignored from this test) sees an empty signal mask
and no ignored or caught signal (/proc/self/status SigBlk, SigIgn, SigCgt
all zero), runs in a session of its own, and is porterd's child; its
connection line carries "user Xs, sys Ys, maxrss N KiB" with N > 0; a
program that exits at once (/bin/true), hit by 200 connections, 16 at a
time, is logged exactly once per connection with "exit 0" (a child that
exits before the spawner thread returns from its clone is still found in
the pid table, never lost); porterd keeps no zombie.
"""
import os
import re
import signal
import socket
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (connect, conf_opts, conf_service, expect,  # noqa
                        expect_eq, main, proc_children, recv_all)

N_TRUE = 200
PAR = 16


def status_fields(text):
    return dict(line.split(":\t", 1) for line in text.splitlines()
                if ":\t" in line)


def hit_true(addr, errors):
    try:
        s = connect(addr)
        try:
            s.shutdown(socket.SHUT_WR)
            recv_all(s)
        finally:
            s.close()
    except OSError as e:
        errors.append(repr(e))


def scenario(t):
    tmp = t.tmpdir()
    conf = conf_opts(shutdown_timeout=5, max_connections=0,
                     max_per_source=0)
    conf += conf_service("status", listen=["127.0.0.1:0"], exec_="/bin/cat",
                         args=["/proc/self/status", "/proc/self/stat"],
                         user="root")
    conf += conf_service("true", listen=["127.0.0.1:0"], exec_="/bin/true",
                         user="root")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    old = signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    try:
        d = t.porterd(path)
    finally:
        signal.signal(signal.SIGUSR2, old)

    with t.case("ready; porterd itself ignores SIGUSR2 and blocks signals"):
        d.wait_line(r"^ready: 2 services")
        with open("/proc/%d/status" % d.pid) as f:
            st = status_fields(f.read())
        expect(int(st["SigIgn"], 16) & (1 << (signal.SIGUSR2 - 1)),
               "porterd does not ignore SIGUSR2: %s" % st["SigIgn"])
        expect(int(st["SigBlk"], 16) != 0, "porterd blocks nothing")

    with t.case("the program has default dispositions and an empty mask"):
        s = connect(d.addr("status"))
        try:
            s.shutdown(socket.SHUT_WR)
            out = recv_all(s).decode("utf-8", "replace")
        finally:
            s.close()
        st = status_fields(out)
        for k in ("SigBlk", "SigIgn", "SigCgt"):
            expect_eq(int(st[k], 16), 0, k)
        expect_eq(int(st["PPid"]), d.pid, "parent")
        # /proc/self/stat: pid (comm) state ppid pgrp session ...
        stat = out.strip().splitlines()[-1]
        fields = stat[stat.rindex(")") + 2:].split()
        expect_eq(int(fields[3]), int(st["Pid"]), "session id")

    with t.case("the connection line carries the child's rusage"):
        m = d.wait_line(r"^service status: 127\.0\.0\.1:\d+: exec /bin/cat "
                        r"pid \d+: exit 0 in [0-9.]+s \(user \d+\.\d{3}s, "
                        r"sys \d+\.\d{3}s, maxrss (\d+) KiB\)")
        expect(int(m.group(1)) > 0, "maxrss 0")

    with t.case("%d connections to /bin/true, %d at a time: each logged "
                "once" % (N_TRUE, PAR)):
        mark = d.mark()
        addr, errors = d.addr("true"), []
        for i in range(0, N_TRUE, PAR):
            ths = [threading.Thread(target=hit_true, args=(addr, errors))
                   for _ in range(min(PAR, N_TRUE - i))]
            for th in ths:
                th.start()
            for th in ths:
                th.join(30)
        expect(not errors, "client errors: %r" % errors[:3])
        rx = r"^service true: .*exec /bin/true pid \d+: exit 0 in"
        d.wait_line(rx, since=mark)
        for _ in range(100):
            n = len([x for x in d.lines[mark:] if re.match(rx, x)])
            if n >= N_TRUE:
                break
            threading.Event().wait(0.1)
        expect_eq(n, N_TRUE, "lines for /bin/true")

    with t.case("no zombie children are left"):
        kids = proc_children(d.pid)
        zombies = []
        for k in kids:
            try:
                with open("/proc/%s/stat" % k) as f:
                    if f.read().split(") ", 1)[1].startswith("Z"):
                        zombies.append(k)
            except OSError:
                pass
        expect(not zombies, "zombies: %r" % zombies)


if __name__ == "__main__":
    main(scenario)
