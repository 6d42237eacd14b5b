#!/usr/bin/env python3
"""pool_signals -- a pool's workers start with every signal at its
default, whatever the plugin's init set (porter-plugin(7)).

porterd serves `sigs` from the test plugin poolprobe (isolation =
process, args "signals": init installs a SIGUSR2 handler and ignores
SIGUSR1).  Asserts, reading /proc/PID/status of a worker that holds a
connection: its SigCgt and SigIgn are empty, and so are its pool
process's, though porterd's own, where the same init ran at start,
show SIGUSR2 caught and SIGUSR1 ignored (so the check is not vacuous).
"""
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (conf_opts, conf_service, connect, expect,  # noqa
                        expect_eq, main, proc_children)


def status_masks(pid):
    """{"SigCgt": set of signal numbers, "SigIgn": ..., "SigBlk": ...}."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":\t")
            if k in ("SigCgt", "SigIgn", "SigBlk"):
                bits = int(v, 16)
                out[k] = {n + 1 for n in range(64) if bits >> n & 1}
    return out


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["poolprobe"], tmp)
    conf = conf_opts(shutdown_timeout=5)
    conf += conf_service("sigs", listen=["127.0.0.1:0"], plugin="poolprobe",
                         isolation="process", args=["signals"],
                         user="nobody" if os.geteuid() == 0 else None)
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)
    d.wait_ready()

    with t.case("a worker inherits no handler and no ignored signal from "
                "the plugin's init"):
        s = connect(d.addr("sigs"))
        try:
            line = s.recv(100).decode()
            m = re.match(r"pid=(\d+)\n", line)
            expect(m, "answer %r" % line)
            wpid = int(m.group(1))
            worker = status_masks(wpid)
            pool = [p for p in proc_children(d.pid)
                    if wpid in proc_children(p)]
            expect_eq(len(pool), 1, "the worker's pool process")
            master = status_masks(pool[0])
        finally:
            s.close()
        own = status_masks(d.pid)
        expect(12 in own["SigCgt"] and 10 in own["SigIgn"],
               "porterd: SigCgt %s SigIgn %s: the plugin's init did not "
               "run as expected" % (sorted(own["SigCgt"]),
                                    sorted(own["SigIgn"])))
        for what, pid, st in (("worker", wpid, worker),
                              ("pool process", pool[0], master)):
            for k in ("SigCgt", "SigIgn"):
                expect(not st[k], "%s %d: %s %s"
                       % (what, pid, k, sorted(st[k])))


if __name__ == "__main__":
    main(scenario)
