#!/usr/bin/env python3
"""metrics -- the metrics plugin's /metrics, scraped with curl and parsed
by prometheus_client (Debian's python3-prometheus-client), agrees with
loadgen.

porterd serves echo, fail (exec /bin/false as nobody), metrics (thread),
metrics-iso (isolation = process, as nobody, who reaches the control
socket through control-group nogroup) and metrics-bad (a control socket
nobody serves).  Asserts: after loadgen's N connections the accepted
counter moved by exactly N, bytes by exactly N x 5 each way, the
duration histogram counted N (+Inf bucket = count, buckets cumulative)
and exit code 0 N times; /bin/false's runs show as failures and code 1;
the OpenMetrics answer (Accept: application/openmetrics-text) parses
with the strict OpenMetrics parser and ends in "# EOF", the plain answer
with the 0.0.4 parser, and `promtool check metrics` (Debian's prometheus;
skipped without it) finds no error and no lint warning in the 0.0.4
answer; porter_service_paused follows porterctl pause and resume; a
listener whose bind is being retried (a port the test holds) shows in
porter_service_listeners_unbound, and as paused only for the service
with no other listener; a refused reload shows in
porter_reloads_total{result="failed"} and porter_last_reload_success 0;
process gauges are positive; the isolated service answers the same; a
silent client waits as a fiber (porterctl connections says so) while
other scrapes are answered; 404 off /metrics, 405 for POST, 503 with the
reason when porterd cannot be asked.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (HarnessError, TOP_BUILDDIR, conf_opts,  # noqa
                        conf_service, connect, echo_roundtrip, expect,
                        expect_eof, expect_eq, main)

LOADGEN = os.path.join(TOP_BUILDDIR, "contrib", "bench", "loadgen")
PORTERCTL = os.path.join(TOP_BUILDDIR, "tools", "porterctl")
PROMTOOL = shutil.which("promtool")
OM_ACCEPT = "application/openmetrics-text; version=1.0.0,text/plain;q=0.5"

# Runs in a Python that has prometheus_client: parses stdin, prints JSON.
PARSE = r"""
import json, sys
from prometheus_client.openmetrics import parser as om
from prometheus_client import parser as prom
fmt, text = sys.argv[1], sys.stdin.read()
p = om if fmt == "om" else prom
out = {}
for f in p.text_string_to_metric_families(text):
    out[f.name] = {"type": f.type, "samples":
                   [[s.name, s.labels, s.value] for s in f.samples]}
print(json.dumps(out))
"""


def parser_python():
    for py in (sys.executable, "/usr/bin/python3"):
        if os.access(py, os.X_OK) and subprocess.run(
                [py, "-c", "import prometheus_client"],
                capture_output=True).returncode == 0:
            return py
    raise HarnessError("prometheus_client not found: apt-get install "
                       "python3-prometheus-client (.ci/deps)")


def curl(addr, path="/metrics", accept=None, method=None):
    """(status, content type, body) via curl."""
    cmd = ["curl", "-sS", "--max-time", "10", "-o", "-", "-w",
           "\n%{http_code} %{content_type}"]
    if accept:
        cmd += ["-H", "Accept: " + accept]
    if method:
        cmd += ["-X", method]
    p = subprocess.run(cmd + ["http://%s%s" % (addr.text, path)],
                       capture_output=True, text=True, timeout=30)
    expect_eq(p.returncode, 0, "curl exit (%s)" % p.stderr.strip())
    body, _, tail = p.stdout.rpartition("\n")
    code, _, ctype = tail.partition(" ")
    return int(code), ctype, body


def scrape(py, addr, om=True):
    code, ctype, body = curl(addr, accept=OM_ACCEPT if om else None)
    expect_eq(code, 200, "HTTP status (%s)" % body[:200])
    if om:
        expect(ctype.startswith("application/openmetrics-text; "
                                "version=1.0.0"), "content type " + ctype)
        expect(body.endswith("# EOF\n"), "no '# EOF' at the end")
    else:
        expect(ctype.startswith("text/plain; version=0.0.4"),
               "content type " + ctype)
    p = subprocess.run([py, "-c", PARSE, "om" if om else "prom"],
                       input=body, capture_output=True, text=True,
                       timeout=30)
    expect_eq(p.returncode, 0, "parser: %s" % p.stderr.strip()[-400:])
    return json.loads(p.stdout)


def promtool_check(body):
    """Lints a 0.0.4 text answer with `promtool check metrics` (Debian's
    prometheus package): every line it prints, error or lint warning,
    is a failure.  promtool 2.42 reads the 0.0.4 format only: fed the
    OpenMetrics answer it takes a counter's family (HELP and TYPE name
    it without _total) and its _total samples for two metrics and warns
    "no help text", a false positive; that answer is left to
    prometheus_client's strict OpenMetrics parser (scrape())."""
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=body,
                       capture_output=True, text=True, timeout=30)
    out = (p.stdout + p.stderr).strip()
    expect(p.returncode == 0 and out == "",
           "promtool check metrics (exit %d): %s" % (p.returncode, out))


def value(fams, family, sample, **labels):
    for name, lbl, v in fams[family]["samples"]:
        if name == sample and all(lbl.get(k) == str(x)
                                  for k, x in labels.items()):
            return v
    raise AssertionError("no sample %s%r in %s" % (sample, labels, family))


def loadgen(*args):
    p = subprocess.run([LOADGEN, "-q"] + [str(a) for a in args],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120)
    res = {}
    for line in p.stdout.decode().splitlines():
        if line.startswith("mode="):
            res = dict(kv.partition("=")[::2] for kv in line.split())
    expect_eq(p.returncode, 0, "loadgen exit (%s)" % p.stderr.decode())
    return res


def settle(py, addr, echo=None, fail=0):
    """Scrapes until every echo run has finished (histogram count equals
    accepted; == echo if given) and fail has `fail` failures."""
    fams = None
    for i in range(100):
        fams = scrape(py, addr)
        acc = value(fams, "porter_connections_accepted",
                    "porter_connections_accepted_total", service="echo")
        cnt = value(fams, "porter_connection_duration_seconds",
                    "porter_connection_duration_seconds_count",
                    service="echo")
        fl = value(fams, "porter_handler_failures",
                   "porter_handler_failures_total", service="fail")
        if acc == cnt and (echo is None or acc == echo) and fl == fail:
            return fams
        time.sleep(0.1)
    return fams


def consistent(fams, svc, n):
    """n runs: histogram count and +Inf, code 0, cumulative buckets."""
    h = [(lbl["le"], v) for name, lbl, v in
         fams["porter_connection_duration_seconds"]["samples"]
         if name.endswith("_bucket") and lbl["service"] == svc]
    expect_eq(h[-1], ("+Inf", n), "+Inf bucket")
    expect(all(h[i][1] <= h[i + 1][1] for i in range(len(h) - 1)),
           "buckets not cumulative: %r" % h)
    expect_eq(value(fams, "porter_connection_duration_seconds",
                    "porter_connection_duration_seconds_count",
                    service=svc), n, "histogram count")
    expect_eq(value(fams, "porter_handler_exits",
                    "porter_handler_exits_total", service=svc, code=0), n,
              "exit code 0")
    expect_eq(value(fams, "porter_connections_active",
                    "porter_connections_active", service=svc), 0, "active")


def scenario(t):
    if not os.access(LOADGEN, os.X_OK):
        raise HarnessError("%s not built (make check builds it)" % LOADGEN)
    py = parser_python()
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo", "metrics"], tmp)
    sock = os.path.join(tmp, "control")
    # Two event loops count at once; the counters must still be exact.
    conf = conf_opts(control_socket=sock, control_group="nogroup",
                     max_per_source=0, threads=2)
    conf += conf_service("echo", listen=["127.0.0.1:0"], plugin="echo")
    conf += conf_service("fail", listen=["127.0.0.1:0"], exec_="/bin/false",
                         user="nobody")
    conf += conf_service("metrics", listen=["127.0.0.1:0"],
                         plugin="metrics", args=[sock])
    conf += conf_service("metrics-iso", listen=["127.0.0.1:0"],
                         plugin="metrics", args=[sock], isolation="process",
                         user="nobody", group="nogroup")
    conf += conf_service("metrics-bad", listen=["127.0.0.1:0"],
                         plugin="metrics",
                         args=[os.path.join(tmp, "nobody-here")])
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)
    d.wait_line(r"^ready: 5 services")
    echo, fail = d.addr("echo"), d.addr("fail")
    mx, iso, bad = d.addr("metrics"), d.addr("metrics-iso"), \
        d.addr("metrics-bad")

    fams = scrape(py, mx)
    base = value(fams, "porter_connections_accepted",
                 "porter_connections_accepted_total", service="echo")
    with t.case("before load: echo accepted 0"):
        expect_eq(base, 0, "accepted")

    res = loadgen("-c", 4, "-n", 300, "-d", 60, echo.text)
    ops = int(res["ops"])
    t.note("loadgen: %s ops, %s connections, %s errors"
           % (ops, res["conns"], res["errors"]))
    with t.case("loadgen: %d connections, no error" % ops):
        expect_eq(int(res["errors"]), 0, "errors")
        expect_eq(ops, 300, "ops")
        # -n begins exactly 300 ops: no uncounted tail, nothing abandoned.
        expect_eq(int(res["conns"]), 300, "connections established")
        expect_eq(int(res["abandoned"]), 0, "abandoned")
    # The scrapes go to the metrics service's listener, never echo's, so
    # echo's counter sees loadgen's connections and nothing else.
    fams = settle(py, mx, echo=base + ops)
    got = value(fams, "porter_connections_accepted",
                "porter_connections_accepted_total", service="echo")
    with t.case("accepted moved by exactly loadgen's %d connections" % ops):
        expect_eq(got - base, ops, "accepted delta")
        consistent(fams, "echo", got)
    b_in = value(fams, "porter_received_bytes",
                 "porter_received_bytes_total", service="echo")
    b_out = value(fams, "porter_sent_bytes", "porter_sent_bytes_total",
                  service="echo")

    N = 100
    for i in range(N):
        expect_eq(echo_roundtrip(echo, b"ping\n"), b"ping\n", "echo")
    for i in range(2):
        c = connect(fail)
        expect_eof(c)
        c.close()
    fams = settle(py, mx, echo=got + N, fail=2)
    with t.case("accepted moved by exactly %d for %d clients" % (N, N)):
        expect_eq(value(fams, "porter_connections_accepted",
                        "porter_connections_accepted_total",
                        service="echo") - got, N, "accepted delta")
        consistent(fams, "echo", got + N)
    with t.case("bytes moved by exactly %d x 5 each way" % N):
        expect_eq(value(fams, "porter_received_bytes",
                        "porter_received_bytes_total", service="echo") -
                  b_in, 5 * N, "received delta")
        expect_eq(value(fams, "porter_sent_bytes",
                        "porter_sent_bytes_total", service="echo") - b_out,
                  5 * N, "sent delta")
    with t.case("exit codes and failures"):
        expect_eq(value(fams, "porter_handler_exits",
                        "porter_handler_exits_total", service="fail",
                        code=1), 2, "fail code 1")
        expect_eq(value(fams, "porter_handler_failures",
                        "porter_handler_failures_total", service="fail"), 2,
                  "fail failures")
        expect_eq(fams["porter_connections_accepted"]["type"], "counter",
                  "counter type")
        expect_eq(fams["porter_connection_duration_seconds"]["type"],
                  "histogram", "histogram type")
    ops = got + N

    with t.case("process gauges: threads, fds, RSS, start time"):
        for fam in ("porter_threads", "process_open_fds",
                    "process_resident_memory_bytes",
                    "process_start_time_seconds"):
            expect(value(fams, fam, fam) > 0, fam)
        expect_eq(value(fams, "porter_services", "porter_services"), 5,
                  "services")

    with t.case("paused follows porterctl pause / resume"):
        expect_eq(value(fams, "porter_service_paused",
                        "porter_service_paused", service="echo"), 0,
                  "before")
        subprocess.run([PORTERCTL, "-s", sock, "pause", "echo"], check=True,
                       capture_output=True)
        expect_eq(value(scrape(py, mx), "porter_service_paused",
                        "porter_service_paused", service="echo"), 1,
                  "paused")
        subprocess.run([PORTERCTL, "-s", sock, "resume", "echo"], check=True,
                       capture_output=True)
        expect_eq(value(scrape(py, mx), "porter_service_paused",
                        "porter_service_paused", service="echo"), 0,
                  "resumed")

    with t.case("a refused reload: reloads failed 1, last success 0"):
        t.write(path, conf + "nonsense = 1\n")
        p = subprocess.run([PORTERCTL, "-s", sock, "reload"],
                           capture_output=True)
        expect_eq(p.returncode, 1, "porterctl reload exit")
        f = scrape(py, mx)
        expect_eq(value(f, "porter_reloads", "porter_reloads_total",
                        result="failed"), 1, "failed reloads")
        expect_eq(value(f, "porter_last_reload_success",
                        "porter_last_reload_success"), 0, "last success")
        expect(value(f, "porter_last_reload_timestamp_seconds",
                     "porter_last_reload_timestamp_seconds") > 0,
               "last reload time")
        t.write(path, conf)

    with t.case("the 0.0.4 text format parses too"):
        f = scrape(py, mx, om=False)
        expect_eq(value(f, "porter_connections_accepted",
                        "porter_connections_accepted_total",
                        service="echo"), ops, "accepted")

    if PROMTOOL is None:
        t.note("SKIP promtool check: promtool not installed (Debian "
               "package prometheus; .ci/deps installs it)")
    else:
        with t.case("promtool check metrics: no error, no lint warning"):
            code, _, body = curl(mx)
            expect_eq(code, 200, "HTTP status (%s)" % body[:200])
            promtool_check(body)

    with t.case("isolation = process, as nobody via control-group"):
        f = scrape(py, iso)
        expect_eq(value(f, "porter_connections_accepted",
                        "porter_connections_accepted_total",
                        service="echo"), ops, "accepted")

    with t.case("a scrape is a fiber; a silent client holds no thread"):
        # metrics is cooperative: a client that connects and says nothing
        # waits as a fiber of its event loop, and other scrapes go on.
        held = connect(mx)
        try:
            port = held.getsockname()[1]
            deadline = time.monotonic() + 10
            mine = []
            while not mine and time.monotonic() < deadline:
                p = subprocess.run([PORTERCTL, "-s", sock, "--json",
                                    "connections", "metrics"],
                                   capture_output=True, text=True,
                                   timeout=10)
                conns = json.loads(p.stdout)["connections"]
                mine = [c for c in conns
                        if c["peer"].endswith(":%d" % port)]
                if not mine:
                    time.sleep(0.05)
            expect_eq(len(mine), 1, "rows for port %d" % port)
            expect_eq(mine[0]["kind"], "fiber", "kind")
            f = scrape(py, mx)
            expect_eq(value(f, "porter_connections_accepted",
                            "porter_connections_accepted_total",
                            service="echo"), ops, "accepted, while held")
        finally:
            held.close()

    with t.case("a bind being retried: listeners_unbound 1; paused 1 only "
                "with no listener bound"):
        # The test holds a port; a reload adds `half` on it and on a free
        # port (serving on that one) and `none` on it alone.
        busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            held = "127.0.0.1:%d" % busy.getsockname()[1]
            t.write(path, conf +
                    conf_service("half", listen=[held, "127.0.0.1:0"],
                                 plugin="echo") +
                    conf_service("none", listen=[held], plugin="echo"))
            p = subprocess.run([PORTERCTL, "-s", sock, "reload"],
                               capture_output=True, text=True, timeout=60)
            expect_eq(p.returncode, 0, "porterctl reload (%s)" % p.stderr)
            f = scrape(py, mx)
            for svc, paused, unbound in (("half", 0, 1), ("none", 1, 1),
                                         ("echo", 0, 0)):
                expect_eq(value(f, "porter_service_listeners_unbound",
                                "porter_service_listeners_unbound",
                                service=svc), unbound, svc + " unbound")
                expect_eq(value(f, "porter_service_paused",
                                "porter_service_paused", service=svc),
                          paused, svc + " paused")
            if PROMTOOL is not None:
                promtool_check(curl(mx)[2])
        finally:
            busy.close()

    with t.case("404 off /metrics, 405 for POST, 503 without porterd"):
        expect_eq(curl(mx, path="/")[0], 404, "GET /")
        expect_eq(curl(mx, method="POST")[0], 405, "POST")
        code, ctype, body = curl(bad)
        expect_eq(code, 503, "status (%s)" % body)
        expect("nobody-here" in body, "reason: " + body)


if __name__ == "__main__":
    main(scenario)
