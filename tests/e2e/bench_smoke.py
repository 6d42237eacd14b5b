#!/usr/bin/env python3
"""bench_smoke -- the benchmark's load generator tells the truth.

A short run (about a second each, modest concurrency) of contrib/bench's
loadgen against a real porterd echo plugin, and against the epoll_echo
reference.  Correctness only, no timing: a benchmark whose client does not
verify what it measures would report fast nonsense.

Asserts: in both modes (a connection per op; round trips on persistent
connections) and over TCP and AF_UNIX, loadgen exits 0 with zero errors,
completed ops, and verified exactly ops x payload bytes of echo; a payload
larger than the socket buffers comes back whole; against a service that
does not echo (daytime) it reports errors and exits 1 (the check can
fail); it refuses a non-loopback target without connecting (exit 2); the
epoll_echo reference passes the same verification; with -L (TLS) against
the echo plugin behind porterd's TLS, the same checks pass with short
payloads, a 1 MiB one and one of 1 MiB - 12345 B (not a whole number of
records: the tail waits in the write buffer), and against a plain echo -L
reports errors.
"""
import os
import select
import shutil
import socket
import signal
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (TOP_BUILDDIR, HarnessError, conf_opts,  # noqa: E402
                        conf_service, expect, expect_eq, main)

BENCH = os.path.join(TOP_BUILDDIR, "contrib", "bench")
LOADGEN = os.path.join(BENCH, "loadgen")
EPOLL_ECHO = os.path.join(BENCH, "epoll_echo")


def loadgen(*args, timeout=30):
    """Runs loadgen; (exit status, {key: value} of its result line)."""
    try:
        p = subprocess.run([LOADGEN, "-q"] + [str(a) for a in args],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise HarnessError("loadgen %s: no exit within %d s"
                           % (" ".join(map(str, args)), timeout))
    res = {}
    for line in p.stdout.decode().splitlines():
        if line.startswith("mode="):
            res = dict(kv.partition("=")[::2] for kv in line.split())
    if p.stderr:
        print("# loadgen stderr: %s" % p.stderr.decode().strip())
    return p.returncode, res


def expect_clean(rc, res, size):
    """A run with no error that verified every byte it counted."""
    expect(res, "no result line (exit %d)" % rc)
    print("# %s ops, %s/s, errors %s, verified %s B"
          % (res["ops"], res["rate"], res["errors"], res["verified_bytes"]))
    expect_eq(rc, 0, "exit status")
    expect_eq(int(res["errors"]), 0, "errors")
    expect(int(res["ops"]) > 0, "no op completed")
    expect_eq(int(res["verified_bytes"]), int(res["ops"]) * size,
              "verified bytes (ops x payload)")


def scenario(t):
    for p in (LOADGEN, EPOLL_ECHO):
        if not os.access(p, os.X_OK):
            raise HarnessError("%s not built (make check builds it)" % p)
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo", "daytime"], tmp)
    sock = os.path.join(tmp, "echo.sock")
    conf = conf_opts(shutdown_timeout=5)
    conf += conf_service("echo", listen=["127.0.0.1:0", sock], plugin="echo")
    conf += conf_service("daytime", listen=["127.0.0.1:0"],
                         plugin="daytime")
    have_tls = shutil.which("openssl") is not None
    if have_tls:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2", "-subj",
                        "/CN=localhost"], check=True, capture_output=True,
                       timeout=60)
        os.chmod(key, 0o600)
        conf += conf_service("tls", listen=["127.0.0.1:0"], plugin="echo")
        conf = conf[:-2] + ("    tls {\n        certificate = \"%s\"\n"
                            "        key = \"%s\"\n    }\n}\n"
                            % (cert, key))
    d = t.porterd(t.write(os.path.join(tmp, "porterd.conf"), conf), plugins)
    d.wait_ready()
    tcp = d.addr("echo", family=socket.AF_INET).text
    day = d.addr("daytime").text

    with t.case("connections: 8 clients, 1 s, every echo verified"):
        expect_clean(*loadgen("-c", 8, "-d", 1, tcp), 64)

    with t.case("persistent: 8 clients, 1 s, every round trip verified"):
        expect_clean(*loadgen("-p", "-c", 8, "-d", 1, tcp), 64)

    with t.case("RST close and a 1 MiB payload: 2 clients, 20 ops"):
        expect_clean(*loadgen("-r", "-c", 2, "-s", 1 << 20, "-n", 20,
                              "-d", 20, tcp), 1 << 20)

    with t.case("AF_UNIX, both modes"):
        expect_clean(*loadgen("-c", 4, "-d", 0.5, sock), 64)
        expect_clean(*loadgen("-p", "-c", 4, "-d", 0.5, sock), 64)

    if have_tls:
        with t.case("TLS (-L): 8 clients, then 1 MiB and 1 MiB - 12345 B "
                    "payloads, verified"):
            tls = d.addr("tls").text
            expect_clean(*loadgen("-L", "-c", 8, "-d", 1, tls), 64)
            expect_clean(*loadgen("-L", "-c", 2, "-s", 1 << 20, "-n", 10,
                                  "-d", 20, tls), 1 << 20)
            # Not a whole number of records or write buffers: the tail
            # waits in the write buffer and must still go out.
            expect_clean(*loadgen("-L", "-c", 4, "-s", (1 << 20) - 12345,
                                  "-n", 8, "-d", 20, tls), (1 << 20) - 12345)

        with t.case("-L against a plain echo: errors, exit 1"):
            rc, res = loadgen("-L", "-c", 2, "-d", 0.5, tcp)
            expect_eq(rc, 1, "exit status")
            expect(int(res.get("errors", 0)) > 0, "no error: %r" % res)
            expect_eq(int(res.get("verified_bytes", -1)), 0,
                      "verified bytes")
    else:
        t.note("openssl command missing: -L not exercised")

    with t.case("a service that does not echo: errors, exit 1"):
        rc, res = loadgen("-c", 2, "-d", 0.5, day)
        expect_eq(rc, 1, "exit status")
        expect(int(res.get("errors", 0)) > 0, "no error reported: %r" % res)
        expect_eq(int(res.get("verified_bytes", -1)), 0, "verified bytes")

    with t.case("a non-loopback target is refused (exit 2)"):
        for target in ("192.0.2.1:7", "[2001:db8::1]:7", "example.com:7"):
            rc, res = loadgen("-d", 0.1, target)
            expect_eq(rc, 2, "exit status for %s" % target)
            expect(not res, "%s: a result line: %r" % (target, res))

    with t.case("the epoll_echo reference passes the same checks"):
        ref = subprocess.Popen([EPOLL_ECHO, "-l", "60"],
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE)
        try:
            ready, _, _ = select.select([ref.stdout], [], [], 10)
            port = ref.stdout.readline().strip() if ready else b""
            expect(port.isdigit(), "epoll_echo printed %r" % port)
            target = "127.0.0.1:%s" % port.decode()
            expect_clean(*loadgen("-c", 8, "-d", 0.5, target), 64)
            expect_clean(*loadgen("-p", "-c", 8, "-d", 0.5, target), 64)
            expect_clean(*loadgen("-c", 2, "-s", 300000, "-n", 10, "-d",
                                  20, target), 300000)
        finally:
            os.kill(ref.pid, signal.SIGTERM)
            ref.wait(10)
            ref.stdout.close()


if __name__ == "__main__":
    main(scenario)
