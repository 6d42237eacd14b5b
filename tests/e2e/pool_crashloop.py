#!/usr/bin/env python3
"""pool_crashloop -- a pool that keeps failing before it serves pauses,
refuses quietly, and logs each episode once (pool.h, backoff.h).

porterd serves, from the test plugin poolprobe (isolation = process):
initcrash (init dies of SIGSEGV while a flag file exists: porterd's own
init at start passes, every pool process started later dies) and
forkcrash (a fork handler kills every worker the pool forks while its
flag file exists), plus echo in-process.  Asserts, with both flags
created and porterd run without -d:
  - some 70 connections to each crashing service over 3 s are all
    closed without an answer, none waits longer than 3 s, porterd stays
    up and echo serves throughout;
  - each service's episode is logged once at its start, naming the
    service, the count of failures, the last one and the pause
    ("worker pool failed 3 times in a row (the last: ...); refusing
    connections for 1 s", "workers died before serving 3 times in a row
    (the last: killed by signal 11 ...)"), and in all only a handful of
    lines name the service, none of them a refused connection's port;
  - the refusals are counted: porterctl shows refused backoff N for
    nearly every attempt, none stays active, and accepted == finished;
  - the flags removed, each service serves again within the pause's
    bound and logs "recovered after N failures, serving again" once;
  - mixed (pool-min 2): while every new worker dies at fork and the
    pool pauses forking, its two older healthy workers still serve, and
    their connections do not end the episode; a new worker's does, once.
"""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (PORTERCTL, TIMEOUT_SCALE, Skip,  # noqa
                        conf_opts, conf_service, connect, echo_roundtrip,
                        expect, expect_eq, main, porterctl_service,
                        recv_or_reset)
from porter_e2e_daemon import Porterd

CRASHING = ("initcrash", "forkcrash")
EPISODE_RE = {
    "initcrash": r"^service initcrash: worker pool failed (\d+) times in a "
                 r"row \(the last: .*\); refusing connections for 1 s",
    "forkcrash": r"^service forkcrash: workers died before serving (\d+) "
                 r"times in a row \(the last: killed by signal 11\b.*\); "
                 r"refusing connections for 1 s",
}
RECOVERED_RE = r"^service %s: recovered after (\d+) failures, serving again$"


def attempt(addr):
    """One client: (what it got before the close, seconds it took)."""
    t0 = time.monotonic()
    s = connect(addr)
    try:
        port = s.getsockname()[1]
        got = recv_or_reset(s, timeout=10 * TIMEOUT_SCALE)
    finally:
        s.close()
    return got, time.monotonic() - t0, port


def scenario(t):
    if not os.access(PORTERCTL, os.X_OK):
        raise Skip("tools/porterctl not built")
    tmp = t.tmpdir()
    plugins = t.plugindir(["poolprobe", "echo"], tmp)
    sock = os.path.join(tmp, "control")
    flag = {n: os.path.join(tmp, n + ".flag") for n in CRASHING}
    user = "nobody" if os.geteuid() == 0 else None
    conf = conf_opts(control_socket=sock, max_per_source=0,
                     shutdown_timeout=5)
    conf += conf_service("initcrash", listen=["127.0.0.1:0"],
                         plugin="poolprobe", isolation="process", user=user,
                         args=["init-crash=" + flag["initcrash"]])
    conf += conf_service("forkcrash", listen=["127.0.0.1:0"],
                         plugin="poolprobe", isolation="process", user=user,
                         args=["fork-crash=" + flag["forkcrash"]])
    conf += conf_service("echo", listen=["127.0.0.1:0"], plugin="echo")
    flag["mixed"] = os.path.join(tmp, "mixed.flag")
    conf += conf_service("mixed", listen=["127.0.0.1:0"],
                         plugin="poolprobe", isolation="process", user=user,
                         pool_min=2, pool_max=4,
                         args=["fork-crash=" + flag["mixed"]])
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    # Without -d: what an operator's log shows is what is counted.
    d = Porterd(t, path, plugins, debug=False)
    t.daemons.append(d)
    d.start()
    d.wait_ready()
    addr = {n: d.addr(n) for n in CRASHING + ("echo",)}

    mark = d.mark()
    for n in CRASHING:
        t.write(flag[n], "")
    results = {n: [] for n in CRASHING}
    echo_ok = 0
    with t.case("connections to crashing pools are refused, none hangs, "
                "porterd and echo serve on"):
        end = time.monotonic() + 3
        while time.monotonic() < end:
            for n in CRASHING:
                results[n].append(attempt(addr[n]))
            if len(results[CRASHING[0]]) % 10 == 0:
                expect_eq(echo_roundtrip(addr["echo"], b"still here\n"),
                          b"still here\n", "echo during the crash loop")
                echo_ok += 1
            time.sleep(0.03)
        expect(d.alive(), "porterd exited")
        for n in CRASHING:
            answered = [g for g, _, _ in results[n] if g]
            expect(not answered, "%s answered %r" % (n, answered[:3]))
            slow = max(dt for _, dt, _ in results[n])
            expect(slow < 3 * TIMEOUT_SCALE,
                   "%s: a refusal took %.2f s" % (n, slow))
            expect(len(results[n]) >= 40,
                   "%s: only %d attempts" % (n, len(results[n])))
        expect(echo_ok >= 4, "echo checked %d times" % echo_ok)

    for n in CRASHING:
        with t.case("%s: the episode is logged once, the refusals not at "
                    "all (%d attempts)" % (n, len(results[n]))):
            ep = d.find(EPISODE_RE[n], since=mark)
            expect_eq(len(ep), 1, "episode lines")
            expect(int(ep[0].group(1)) >= 3, "count %s" % ep[0].group(1))
            mine = [x for x in d.lines[mark:]
                    if x.startswith("service %s:" % n)]
            t.note("%s: %d lines: %s" % (n, len(mine), mine))
            expect(len(mine) <= 16, "%d lines for %d attempts"
                   % (len(mine), len(results[n])))
            # Lines name a connection by its peer: the refused are not.
            start = d.lines.index(ep[0].string, mark)
            ports = {p for _, _, p in results[n][-len(results[n]) // 2:]}
            named = [x for x in d.lines[start:]
                     if any(":%d:" % p in x for p in ports)]
            expect(not named, "refused connections logged: %s" % named[:3])

    for n in CRASHING:
        with t.case("%s: refusals counted as backoff, none left active"
                    % n):
            st = porterctl_service(sock, n)
            expect(st["refused"].get("backoff", 0) >= len(results[n]) - 8,
                   "refused %s for %d attempts" % (st["refused"],
                                                   len(results[n])))
            expect_eq(st["active"], 0, "active")
            expect_eq(st["accepted"], st["finished"], "accepted == finished")
            # Refused before reaching the pool: never counted accepted.
            expect(st["accepted"] + st["refused"]["backoff"] <=
                   len(results[n]) + 8, "accepted %d, refused %s"
                   % (st["accepted"], st["refused"]))

    for n in CRASHING:
        os.unlink(flag[n])
    for n in CRASHING:
        with t.case("%s: served again once the flag is gone, recovery "
                    "logged once" % n):
            # The pause is 4 s at most by now (1, 2, 4): bounded.
            end = time.monotonic() + 15 * TIMEOUT_SCALE
            got = b""
            while time.monotonic() < end:
                s = connect(addr[n])
                try:
                    got = recv_or_reset(s, timeout=10 * TIMEOUT_SCALE)
                finally:
                    s.close()
                if got.startswith(b"pid="):
                    break
                time.sleep(0.2)
            expect(got.startswith(b"pid="), "answer %r" % got)
            d.wait_line(RECOVERED_RE % n, since=mark)
            expect_eq(len(d.find(RECOVERED_RE % n, since=mark)), 1,
                      "recovery lines")
            expect_eq(len(d.find(EPISODE_RE[n], since=mark)), 1,
                      "episode lines")

    mixed(t, d, flag["mixed"])


def held(addr):
    """A connection poolprobe answered: (its worker's pid, the socket,
    held open), or (None, None) if it was closed unanswered."""
    s = connect(addr)
    got = recv_or_reset(s, timeout=10 * TIMEOUT_SCALE)
    if got.startswith(b"pid="):
        return int(got[4:].split()[0]), s
    s.close()
    return None, None


def mixed(t, d, flag):
    """New workers die while two older ones are healthy: the older ones
    keep serving through the pause, and only a new worker's first
    connection ends the episode."""
    addr = d.addr("mixed")
    with t.case("mixed: new workers die; the idle healthy ones still "
                "serve during the pause"):
        pa, sa = held(addr)
        pb, sb = held(addr)
        expect(pa and pb and pa != pb, "two workers: %r %r" % (pa, pb))
        mark = d.mark()
        t.write(flag, "")
        # Both busy: each new connection needs a fork, which dies.
        end = time.monotonic() + 10 * TIMEOUT_SCALE
        while time.monotonic() < end and not d.find(
                r"^service mixed: workers died before serving", since=mark):
            pid, s = held(addr)
            expect(pid is None, "a connection served by %r" % pid)
            time.sleep(0.05)
        expect_eq(len(d.find(r"^service mixed: workers died before "
                             r"serving", since=mark)), 1, "episode lines")
        sa.close()
        sb.close()
        time.sleep(0.2)         # their DONE: idle again
        served = set()
        for _ in range(4):
            pid, s = held(addr)
            if s is not None:
                s.close()
            served.add(pid)
            time.sleep(0.05)
        expect(None not in served and served <= {pa, pb},
               "served by %r, not only by the old workers %r"
               % (served, {pa, pb}))
        expect_eq(d.find(RECOVERED_RE % "mixed", since=mark), [],
                  "recovered by an old worker's connection")

    with t.case("mixed: the episode ends when a new worker serves"):
        os.unlink(flag)
        end = time.monotonic() + 40 * TIMEOUT_SCALE
        new = None
        while time.monotonic() < end and new is None:
            pa, sa = held(addr)
            pb, sb = held(addr)
            pc, sc = held(addr)
            for x in (sa, sb, sc):
                if x is not None:
                    x.close()
            if pc is not None and pc not in (pa, pb):
                new = pc
            time.sleep(0.2)
        expect(new is not None, "no new worker served")
        d.wait_line(RECOVERED_RE % "mixed", since=mark)
        expect_eq(len(d.find(RECOVERED_RE % "mixed", since=mark)), 1,
                  "recovery lines")


if __name__ == "__main__":
    main(scenario)
