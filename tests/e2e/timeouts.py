#!/usr/bin/env python3
"""timeouts -- idle-timeout cuts a silent client (slowloris) and
max-lifetime a long one, for every kind of handler, without leaving a
worker behind.

Services with idle-timeout = 1: an in-process echo, a process-isolated
echo and an exec /bin/cat; with max-lifetime = 2: an in-process echo and
/bin/cat.  Asserts: a client that connects and sends nothing sees EOF
(or a reset) 1 to 4 s later on each idle service; porterd logs
"service NAME: PEER: idle for N s, closing" and then the handler's own
connection line for that peer (the worker or child finished); a client
sending a line every 0.3 s is not cut by idle-timeout = 1 within 3 s and
gets every echo; on the max-lifetime services such an active client is
cut 1.5 to 4 s after connecting, logged as "lifetime of N s exceeded,
closing".  All clients run in parallel, so the scenario takes ~10 s.
"""
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (TIMEOUT_SCALE, Failure, conf_opts,  # noqa
                        conf_service, expect, expect_eq, main, recv_exact)
from hardening_clients import connect_from, peer_re, time_to_eof  # noqa

IDLE = ("idle", "idleproc", "idlecat")
LIFE = ("life", "lifecat")
PERIOD = 0.3


def active_client(addr, secs):
    """Sends a line every PERIOD s for secs seconds, each echoed in full.
    Returns (peer regex, seconds until porterd cut the connection, or None
    if it lasted secs)."""
    s = connect_from(addr)
    t0 = time.monotonic()
    try:
        peer, i = peer_re(s), 0
        while time.monotonic() - t0 < secs:
            msg = b"tick %04d\n" % i
            try:
                s.sendall(msg)
                got = recv_exact(s, len(msg))
            except (ConnectionResetError, BrokenPipeError):
                return peer, time.monotonic() - t0
            except Failure:  # EOF part-way: cut
                return peer, time.monotonic() - t0
            expect_eq(got, msg, "echo")
            i += 1
            time.sleep(PERIOD)
        return peer, None
    finally:
        s.close()


def silent_client(addr):
    """Connects and sends nothing; returns (peer regex, seconds to EOF)."""
    s = connect_from(addr)
    try:
        return peer_re(s), time_to_eof(s, 8.0 * TIMEOUT_SCALE)
    finally:
        s.close()


def in_parallel(jobs):
    """Runs {key: callable} on threads; returns ({key: result},
    {key: exception})."""
    res, errs = {}, {}

    def run(k, fn):
        try:
            res[k] = fn()
        except Exception as e:  # reported by the caller
            errs[k] = e
    ths = [threading.Thread(target=run, args=kv, daemon=True)
           for kv in jobs.items()]
    for th in ths:
        th.start()
    for th in ths:
        th.join(20 * TIMEOUT_SCALE)
    for k in jobs:
        if k not in res and k not in errs:
            errs[k] = Failure("client thread still running")
    return res, errs


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"], tmp)
    lo = ["127.0.0.1:0"]
    conf = conf_opts(shutdown_timeout=5)
    conf += conf_service("idle", listen=lo, plugin="echo", idle_timeout=1)
    conf += conf_service("idleproc", listen=lo, plugin="echo",
                         isolation="process", idle_timeout=1,
                         user="root")
    conf += conf_service("idlecat", listen=lo, exec_="/bin/cat",
                         idle_timeout=1,
                         user="root")
    conf += conf_service("life", listen=lo, plugin="echo", max_lifetime=2)
    conf += conf_service("lifecat", listen=lo, exec_="/bin/cat",
                         max_lifetime=2,
                         user="root")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)

    with t.case("ready with 5 services"):
        d.wait_line(r"^ready: 5 services")

    res, errs = in_parallel({k: (lambda a=d.addr(k): silent_client(a))
                             for k in IDLE})
    for svc in IDLE:
        with t.case("%s: a silent client is cut 1 to 4 s after connecting"
                    % svc):
            expect(svc not in errs, "client: %r" % errs.get(svc))
            peer, took = res[svc]
            t.note("%s: silent client cut after %.2f s" % (svc, took))
            expect(0.9 <= took <= 4.0 * TIMEOUT_SCALE, "cut after %.2f s"
                   % took)
        if svc not in res:
            continue
        with t.case("%s: 'idle for N s, closing' logged, then the "
                    "handler's connection line (no worker left behind)"
                    % svc):
            m = d.wait_line(r"^service %s: %s: idle for \d+ s, closing$"
                            % (svc, peer))
            d.wait_line(r"^service %s: %s: (plugin|exec) " % (svc, peer))
            t.note(m.group(0))

    # The max-lifetime clients would go on past the cut, for as long as
    # the check allows.
    res, errs = in_parallel({k: (lambda a=d.addr(k), n=(
        3.0 if k in IDLE else 4.5 * TIMEOUT_SCALE): active_client(a, n))
        for k in IDLE + LIFE})
    for svc in IDLE:
        with t.case("%s: a client sending every %.1f s is not cut by "
                    "idle-timeout 1 within 3 s" % (svc, PERIOD)):
            expect(svc not in errs, "client: %r" % errs.get(svc))
            cut = res[svc][1]
            expect(cut is None, "cut after %.2f s" % (cut or 0))
    for svc in LIFE:
        with t.case("%s: max-lifetime 2 cuts an active client after ~2 s"
                    % svc):
            expect(svc not in errs, "client: %r" % errs.get(svc))
            peer, took = res[svc]
            expect(took is not None, "not cut within %.1f s"
                   % (4.5 * TIMEOUT_SCALE))
            t.note("%s: active client cut after %.2f s" % (svc, took))
            expect(1.5 <= took <= 4.0 * TIMEOUT_SCALE, "cut after %.2f s"
                   % took)
        if svc not in res or res[svc][1] is None:
            continue
        with t.case("%s: 'lifetime of N s exceeded, closing' logged, then "
                    "the handler's line" % svc):
            d.wait_line(r"^service %s: %s: lifetime of \d+ s exceeded, "
                        r"closing$" % (svc, peer))
            d.wait_line(r"^service %s: %s: (plugin|exec) " % (svc, peer))

    with t.case("porterd still runs; SIGTERM exits 0"):
        expect(d.alive(), "porterd exited")
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
