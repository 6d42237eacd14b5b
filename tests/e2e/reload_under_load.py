#!/usr/bin/env python3
"""reload_under_load -- twenty reloads while clients hammer unchanged
services: not one of their connections fails.

Services: `plain` (echo, no limits) and `limited` (echo with
max-connections, max-per-source and rate set well above the load), both
unchanged by every reload; `changing` (echo) whose limits change with each
reload; `extra` (daytime) added by every even reload and removed by every
odd one.  Two client threads per unchanged service loop connect + 16-byte
echo + close (bounded in rounds and time) while the config is rewritten
and SIGHUP'd 20 times, each reload waited for ("reloaded: N services")
and followed by at least 20 more rounds per thread.  Asserts: every
reload succeeds and keeps the unchanged services' listeners; zero failed
connections (refused, reset, wrong bytes); no refusal is logged for the
unchanged services (limit bookkeeping survives the swap); `changing`
and `extra` serve after the last reloads.  Prints the rounds, the
connection rate and the slowest reload.
"""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Hammer, TIMEOUT_SCALE, conf_opts, conf_service,  # noqa
                        connect, expect, expect_eq, main, recv_all,
                        recv_exact)
from hardening_clients import served_from  # noqa

RELOADS = 20
THREADS = 2             # per unchanged service
ROUNDS_BETWEEN = 50     # per thread, after each reload
# Every client is 127.0.0.1: no per-source limit in the hammer.
HEAD = conf_opts(shutdown_timeout=5, max_per_source=0)
PLAIN = conf_service("plain", listen=["127.0.0.1:0"], plugin="echo")
LIMITED = conf_service("limited", listen=["127.0.0.1:0"], plugin="echo",
                       max_connections=64, max_per_source=64, rate=100000,
                       burst=10000)
EXTRA = conf_service("extra", listen=["127.0.0.1:0"], plugin="daytime")


def changing(i):
    return conf_service("changing", listen=["127.0.0.1:0"], plugin="echo",
                        max_connections=10 + i, idle_timeout=60 + i)


def config(i):
    """The config after reload i (0: the initial one)."""
    return HEAD + PLAIN + LIMITED + changing(i) + \
        (EXTRA if i % 2 == 1 else "")


def wait_rounds(hammers, n):
    """Until each hammer made n more rounds (bounded: 10 s, scaled)."""
    start = [h.rounds for h in hammers]
    deadline = time.monotonic() + 10 * TIMEOUT_SCALE
    while time.monotonic() < deadline and any(
            h.is_alive() and h.rounds < r + n
            for h, r in zip(hammers, start)):
        time.sleep(0.01)


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo", "daytime"], tmp)
    path = t.write(os.path.join(tmp, "porterd.conf"), config(0))
    d = t.porterd(path, plugins)

    with t.case("ready with 3 services"):
        d.wait_line(r"^ready: 3 services")
    addrs = {k: d.addr(k) for k in ("plain", "limited", "changing")}
    hammers = [Hammer(addrs[k], "%s%d" % (k, i), 50000, 120)
               for k in ("plain", "limited") for i in range(THREADS)]
    reload_secs, done = [], 0
    t0 = time.monotonic()
    for h in hammers:
        h.start()
    try:
        for i in range(1, RELOADS + 1):
            mark = d.mark()
            t.write(path + ".new", config(i))
            os.replace(path + ".new", path)
            r0 = time.monotonic()
            d.signal(1)
            m = d.wait_line(r"^(reloaded: (\d+) services|reload failed.*)$",
                            mark)
            reload_secs.append(time.monotonic() - r0)
            if not m.group(2):
                t.note("reload %d: %s" % (i, m.group(0)))
                break
            expect_eq(int(m.group(2)), 4 if i % 2 == 1 else 3,
                      "services after reload %d" % i)
            for k in ("plain", "limited"):
                d.wait_line(r"^service %s: keeping %s$"
                            % (k, addrs[k].text), mark, 2 * TIMEOUT_SCALE)
            done += 1
            wait_rounds(hammers, ROUNDS_BETWEEN)
    finally:
        for h in hammers:
            h.stop.set()
        for h in hammers:
            h.join(20 * TIMEOUT_SCALE)
    wall = time.monotonic() - t0
    rounds = sum(h.rounds for h in hammers)
    failures = [f for h in hammers for f in h.failures]
    t.note("%d reloads in %.1f s (slowest %.3f s); %d connections "
           "(%.0f/s), %d failed" % (done, wall, max(reload_secs or [0]),
                                    rounds, rounds / wall, len(failures)))

    with t.case("%d reloads, each keeping the unchanged listeners"
                % RELOADS):
        expect_eq(done, RELOADS, "successful reloads")
    with t.case("the clients hammered throughout: at least %d rounds"
                % (RELOADS * ROUNDS_BETWEEN)):
        expect(not any(h.is_alive() for h in hammers), "a client is stuck")
        expect(min(h.rounds for h in hammers) >= RELOADS * ROUNDS_BETWEEN,
               "rounds per client: %s" % [h.rounds for h in hammers])
    with t.case("zero failed connections to the unchanged services"):
        expect(not failures, "%d failures, first: %s"
               % (len(failures), failures[:5]))
    with t.case("no refusal logged for the unchanged services"):
        bad = d.find(r"^service (plain|limited): refused")
        expect(not bad, "refusals: %s" % [m.group(0) for m in bad[:3]])
    with t.case("after the reloads, `changing` echoes and `extra` answers"):
        mark = d.mark()
        t.write(path + ".new", config(RELOADS + 1))
        os.replace(path + ".new", path)
        d.signal(1)
        d.wait_line(r"^reloaded: 4 services", mark)
        # Kept, or re-opened (on a new port 0) if new limits meant that.
        served_from(d.listeners(mark).get("changing",
                                          [addrs["changing"]])[0])
        s = connect(d.addr("extra", since=mark))
        try:
            data = recv_all(s, 1024)
        finally:
            s.close()
        expect(data.endswith(b"\r\n"), "daytime sent %r" % data)

    with t.case("porterd still runs; SIGTERM exits 0"):
        expect(d.alive(), "porterd exited")
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
