#!/usr/bin/env python3
"""starvation -- exec'd and process-isolated services do not starve the
in-process ones (issue 12).

porterd used to fork the whole threaded daemon on the event loop for every
exec'd or isolated connection; with 8 clients looping on an exec'd
/bin/cat, an in-process echo on the same loops fell from 8,084 to 20
conn/s.  Now children are started by the spawner thread and isolated
plugins are served by a pool (spawner.h, pool.h), so the loops keep
serving.

Asserts, with contrib/bench's loadgen (every echo verified): an
in-process echo's connection rate while 8 clients loop on an exec'd
/bin/cat and 8 on a process-isolated echo is at least STARVE_MIN of its
unloaded rate, with no error on any of the three services, and the
loaded services really ran (both completed ops).

STARVE_MIN is generous on purpose.  The three load generators and the
children share the machine's cores with porterd, so a fair scheduler
alone leaves the echo about a third of its unloaded rate on 2 cores (0.28
was seen on a busy CI machine).  Starvation, the defect this guards
against, showed as 0.0025; 0.1 is forty times above that and well below
what CPU sharing explains.  The issue's goal, 0.8, is measured by `make
bench`, never here.
"""
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (TOP_BUILDDIR, HarnessError, Skip,  # noqa: E402
                        conf_opts, conf_service, expect, expect_eq, main)

LOADGEN = os.path.join(TOP_BUILDDIR, "contrib", "bench", "loadgen")
STARVE_MIN = 0.1
MEASURE_SECS = 2
LOAD_SECS = MEASURE_SECS + 3


def loadgen_cmd(addr, clients, secs):
    return [LOADGEN, "-q", "-c", str(clients), "-d", str(secs), addr]


def result(p, timeout):
    """(exit status, {key: value}) of a started loadgen."""
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise HarnessError("loadgen: no exit within %d s" % timeout)
    res = {}
    for line in out.decode().splitlines():
        if line.startswith("mode="):
            res = dict(kv.partition("=")[::2] for kv in line.split())
    return p.returncode, res


def run(addr, clients, secs):
    p = subprocess.Popen(loadgen_cmd(addr, clients, secs),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    return result(p, secs + 30)


def expect_clean(what, rc, res):
    expect(res, "%s: no result line (exit %d)" % (what, rc))
    print("# %s: %s ops, %s/s, errors %s" % (what, res["ops"], res["rate"],
                                             res["errors"]))
    expect_eq(rc, 0, "%s: exit status" % what)
    expect_eq(int(res["errors"]), 0, "%s: errors" % what)
    expect(int(res["ops"]) > 0, "%s: no op completed" % what)


def scenario(t):
    # A rate under load, not a memory check: under valgrind every rate is
    # valgrind's, and the valgrind pass gains nothing from it.
    if "valgrind" in os.environ.get("PORTERD_WRAPPER", ""):
        raise Skip("a throughput ratio means nothing under valgrind")
    if not os.access(LOADGEN, os.X_OK):
        raise HarnessError("%s not built (make check builds it)" % LOADGEN)
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"], tmp)
    user = {"user": "root"} if os.geteuid() == 0 else {}
    conf = conf_opts(shutdown_timeout=5, max_connections=0,
                     max_per_source=0, rate=0)
    conf += conf_service("echo", listen=["127.0.0.1:0"], plugin="echo")
    conf += conf_service("cat", listen=["127.0.0.1:0"], exec_="/bin/cat",
                         **user)
    conf += conf_service("pecho", listen=["127.0.0.1:0"], plugin="echo",
                         isolation="process", **user)
    d = t.porterd(t.write(os.path.join(tmp, "porterd.conf"), conf), plugins)
    d.wait_line(r"^ready: 3 services")
    echo = d.addr("echo").text
    cat, pecho = d.addr("cat").text, d.addr("pecho").text

    with t.case("the in-process echo, unloaded"):
        rc, base = run(echo, 8, MEASURE_SECS)
        expect_clean("echo alone", rc, base)

    with t.case("8 clients on exec /bin/cat and 8 on an isolated echo: the "
                "in-process echo keeps >= %.1fx" % STARVE_MIN):
        loads = [subprocess.Popen(loadgen_cmd(a, 8, LOAD_SECS),
                                  stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE)
                 for a in (cat, pecho)]
        try:
            time.sleep(1)	# the pool is up, the spawner busy
            rc, loaded = run(echo, 8, MEASURE_SECS)
        finally:
            done = [result(p, LOAD_SECS + 30) for p in loads]
        expect_clean("echo under load", rc, loaded)
        expect_clean("exec /bin/cat", *done[0])
        expect_clean("isolated echo", *done[1])
        ratio = float(loaded["rate"]) / float(base["rate"])
        print("# loaded / unloaded: %.2f" % ratio)
        expect(ratio >= STARVE_MIN, "the in-process echo kept %.2fx of its "
               "unloaded rate (%s -> %s conn/s)" % (ratio, base["rate"],
                                                   loaded["rate"]))


if __name__ == "__main__":
    main(scenario)
