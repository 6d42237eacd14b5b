"""bench_report -- run-bench's results: collected as they come, printed
at the end as tables of medians, ratios to the reference, and the issue's
targets met or missed.

Ratios are ratios of medians, each median over the interleaved
repetitions of one run (README.md says why).  Every loadgen result is a
dict of its key=value line plus "srv_us_per_op" (the server's CPU time,
including reaped children, per op).
"""
import os
import platform
from statistics import median

MIB = 1024.0


def _med(results, key):
    return median(r[key] for r in results) if results else None


def _ratio(a, b):
    return a / b if a is not None and b else None


def _fmt(v, spec, none="n/a"):
    return none if v is None else format(v, spec)


class Report:
    def __init__(self, clients, payload, seconds, reps):
        self.clients, self.payload = clients, payload
        self.seconds, self.reps = seconds, reps
        self.notes = []
        self.conn = []          # (key, label, [results])
        self.pers = None
        self.bundled = self.ready_times = self.reloads = None
        self.idle = []
        self.count_ns = None    # the exact counters, per connection
        self.porterd_limits = self.xinetd_limits = ()
        self.tls = None         # tls_rows()
        self.starve = None      # starvation()
        self.load = os.getloadavg()[0]

    def note(self, msg):
        self.notes.append(msg)

    # ------------------------------------------------------------ collecting

    def settings(self, porterd_limits, xinetd_limits):
        self.porterd_limits = porterd_limits
        self.xinetd_limits = xinetd_limits

    def conn_row(self, key, label, results):
        self.conn.append((key, label, results))

    def persistent(self, res):
        self.pers = res

    def rss_bundled(self, rss, nservices):
        self.bundled = (rss, nservices)

    def rss_idle(self, base, held, n, failure):
        self.idle.append((base, held, n, failure))

    def counting(self, ns):
        self.count_ns = ns

    def tls_rows(self, short, bulk, bulk_clients, bulk_size):
        """short, bulk: [(key, label, [results])] (issue 14)."""
        self.tls = (dict((k, (l, r)) for k, l, r in short),
                    dict((k, (l, r)) for k, l, r in bulk),
                    bulk_clients, bulk_size)

    def starvation(self, alone, loaded, load, clients):
        """Issue 12: the in-process echo's results alone and under load;
        load: {"cat": [...], "pecho": [...]} (the loading clients')."""
        self.starve = (alone, loaded, load, clients)

    def ready(self, times, n):
        self.ready_times = (times, n)

    def reload(self, quiet, loaded, client, n):
        self.reloads = (quiet, loaded, client, n)

    # ------------------------------------------------------------ printing

    def rate(self, key):
        for k, _, res in self.conn:
            if k == key:
                return _med(res, "rate")
        return None

    def srv_us(self, key):
        """key's median server CPU per connection, in microseconds."""
        for k, _, res in self.conn:
            if k == key:
                return _med(res, "srv_us_per_op")
        return None

    def cpu_ratio(self, key):
        """key's server CPU per connection over the reference's."""
        got = {k: _med(res, "srv_us_per_op") for k, _, res in self.conn
               if k in (key, "ref")}
        if key not in got or not got.get("ref"):
            return None
        return got[key] / got["ref"]

    def print(self, elapsed):
        tw = "?"
        try:
            with open("/proc/sys/net/ipv4/tcp_tw_reuse") as f:
                tw = f.read().strip()
        except OSError:
            pass
        print("Porter benchmark: %d CPUs, Linux %s, load average %.2f at "
              "start, %.0f s run" % (os.cpu_count() or 0, platform.release(),
                                     self.load, elapsed))
        print("loadgen: %d clients in one epoll thread, %d B payload, %d "
              "repetitions x %.1f s, interleaved; medians"
              % (self.clients, self.payload, self.reps, self.seconds))
        print("  close: the client half-closes after the echo, waits for "
              "the server's EOF, closes;")
        print("  source 127.0.0.1 for every system (xinetd resolves peer "
              "names; only 127.0.0.1 is in /etc/hosts),")
        print("  client TIME_WAIT recycled by net.ipv4.tcp_tw_reuse = %s"
              % tw)
        print("porterd: log-level = warning (a log line per connection "
              "costs: see the 'log info' row);")
        print("  limits raised: %s" % (", ".join(self.porterd_limits) or
                                       "none (this porterd has no limit "
                                       "options)"))
        print("xinetd: limits raised: %s (default cps = 50 10 would stop "
              "the service);" % ", ".join(self.xinetd_limits))
        print("  per-connection logging off (log_on_success/failure "
              "empty); libwrap as installed")
        self._print_conn()
        self._print_pers()
        self._print_memory()
        self._print_start()
        self._print_starvation()
        self._print_tls()
        self._print_targets()
        if self.notes:
            print("\nNotes:")
            for n in self.notes:
                print("  - " + n)

    def _print_conn(self):
        print("\nShort connections: connect, %d B echo, close (%d clients)"
              % (self.payload, self.clients))
        print("%-40s %8s %6s %7s %7s %8s %8s %6s  %s" % (
            "system", "conn/s", "x ref", "p50 ms", "p99 ms", "srv us",
            "cli us", "errors", "conn/s per repetition"))
        ref = self.rate("ref")
        for key, label, res in self.conn:
            rate = _med(res, "rate")
            print("%-40s %8.0f %6s %7.2f %7.2f %8.1f %8.1f %6d  %s" % (
                label, rate, _fmt(_ratio(rate, ref), ".2f"),
                _med(res, "p50_us") / 1e3, _med(res, "p99_us") / 1e3,
                _med(res, "srv_us_per_op"), _med(res, "cpu_us_per_op"),
                sum(r["errors"] for r in res),
                " ".join("%.0f" % r["rate"] for r in res)))
        print("  srv us / cli us: CPU time per connection of the server "
              "(with its reaped children) and of loadgen")
        for _, label, res in self.conn:
            stuck = sum(r.get("abandoned", 0) for r in res)
            if stuck:
                self.note("%s: %d connections still open 2 s after a "
                          "measurement ended (the server stalled?)"
                          % (label, stuck))

    def _print_pers(self):
        if not self.pers:
            return
        print("\nPersistent connection: %d B round trips (1 client: "
              "client and server pinned to one CPU)" % self.payload)
        print("%-40s %7s %9s %6s %8s %6s %8s %7s  %s" % (
            "system", "clients", "trips/s", "x ref", "p50 us", "x ref",
            "p99 us", "srv us", "p50 us per repetition"))
        for c in (self.clients, 1):
            ref = self.pers["ref%d" % c]
            for key, label in (("ref", "epoll_echo (reference)"),
                               ("thread", "porterd echo, 1 event loop"),
                               ("thread2", "porterd echo, 2 event loops")):
                res = self.pers.get("%s%d" % (key, c))
                if not res:
                    continue
                rate, p50 = _med(res, "rate"), _med(res, "p50_us")
                print("%-40s %7d %9.0f %6s %8.1f %6s %8.1f %7.2f  %s" % (
                    label, c, rate, _fmt(_ratio(rate, _med(ref, "rate")),
                                         ".2f"),
                    p50, _fmt(_ratio(p50, _med(ref, "p50_us")), ".2f"),
                    _med(res, "p99_us"), _med(res, "srv_us_per_op"),
                    " ".join("%.1f" % r["p50_us"] for r in res)))
        print("  srv us: server CPU per round trip")

    def _print_memory(self):
        print("\nMemory: porterd's resident set (VmRSS)")
        if self.bundled:
            rss, n = self.bundled
            print("  idle, bundled conf/porterd.conf (%d services): %.1f MiB"
                  " (anon %.1f, file %.1f)" % (n, rss["rss"] / MIB,
                                               rss["anon"] / MIB,
                                               rss["file"] / MIB))
        for base, held, n, failure in self.idle:
            print("  echo plugin, idle: %.1f MiB, %d threads; with %d idle "
                  "connections: %.1f MiB, %d threads" % (
                      base["rss"] / MIB, base["threads"], n,
                      held["rss"] / MIB, held["threads"]))
            if n:
                print("  added by %d connections: %.1f MiB (%.1f KiB each)"
                      % (n, (held["rss"] - base["rss"]) / MIB,
                         (held["rss"] - base["rss"]) / n))
            if failure:
                print("  stopped early: %s" % failure)

    def _print_start(self):
        if self.ready_times:
            times, n = self.ready_times
            print("\nStart and reload: %d echo services" % n)
            print("  start to READY=1: median %.1f ms (min %.1f, max %.1f) "
                  "over %d starts" % (median(times) * 1e3, min(times) * 1e3,
                                      max(times) * 1e3, len(times)))
        if self.reloads:
            quiet, loaded, client, _ = self.reloads
            for what, rs in (("idle", quiet), ("under load", loaded)):
                sig = [r[0] * 1e3 for r in rs]
                rel = [r[1] * 1e3 for r in rs if r[1] is not None]
                print("  reload %-10s SIGHUP to READY=1: median %.1f ms "
                      "(max %.1f); RELOADING=1 to READY=1: median %s ms"
                      % (what + ",", median(sig), max(sig),
                         _fmt(median(rel) if rel else None, ".1f")))
            if client:
                print("  client loop during the loaded reloads: %d "
                      "connections, %d errors, %d refused" % (
                          client["ops"], client["errors"],
                          client["err_refused"]))

    def _print_starvation(self):
        if not self.starve:
            return
        alone, loaded, load, clients = self.starve
        print("\nStarvation (issue 12): an in-process echo, %d clients, "
              "alone and while" % clients)
        print("  %d clients loop on an exec'd /bin/cat and %d on a "
              "process-isolated echo (same porterd)" % (clients, clients))
        print("%-40s %8s %7s %7s" % ("echo plugin", "conn/s", "p99 ms",
                                     "srv us"))
        for label, res in (("alone", alone), ("under load", loaded)):
            print("%-40s %8s %7s %7s" % (
                label, _fmt(_med(res, "rate"), ".0f"),
                _fmt(_med(res, "p99_us") and _med(res, "p99_us") / 1e3,
                     ".2f"),
                _fmt(_med(res, "srv_us_per_op"), ".1f")))
        for k, label in (("cat", "  the load: exec /bin/cat"),
                         ("pecho", "  the load: isolated echo")):
            print("%-40s %8s" % (label, _fmt(_med(load[k], "rate"), ".0f")))
        print("  srv us under load: porterd's whole CPU (the load's too) "
              "per echo connection")

    def _print_tls(self):
        if not self.tls:
            return
        short, bulk, nb, size = self.tls
        print("\nTLS (issue 14): short connections, TLS 1.3 full handshake, "
              "%d B echo (%d clients)" % (self.payload, self.clients))
        print("%-40s %8s %8s %8s %8s %8s %6s  %s" % (
            "system", "conn/s", "x inetd", "x daemon", "srv us", "cli us",
            "errors", "conn/s per repetition"))
        for key in ("sti_cat", "st_cat", "tls_cat", "sti_echo", "st_echo",
                    "tls_echo"):
            if key not in short:
                continue
            label, res = short[key]
            rate = _med(res, "rate")
            ratios = []
            for peer in ("sti_", "st_"):
                p = short.get(peer + key[4:]) if key.startswith("tls_") \
                    else None
                ratios.append(_fmt(_ratio(rate, _med(p[1], "rate"))
                                   if p else None, ".2f", ""))
            print("%-40s %8.0f %8s %8s %8.1f %8.1f %6d  %s" % (
                label, rate, ratios[0], ratios[1],
                _med(res, "srv_us_per_op"), _med(res, "cpu_us_per_op"),
                sum(r["errors"] for r in res),
                " ".join("%.0f" % r["rate"] for r in res)))
        print("  x inetd / x daemon: porterd's TLS over stunnel4 in inetd "
              "mode (one stunnel per connection,\n  started by a porterd "
              "exec service: the issue's reference) and in daemon mode")
        print("\nTLS bulk: %d KiB echoed per connection (%d clients)"
              % (size // 1024, nb))
        print("%-40s %8s %10s %8s %8s %6s  %s" % (
            "system", "MiB/s", "x plain", "srv ms", "cli ms", "errors",
            "MiB/s per repetition"))
        for key in ("cat", "tls_cat", "echo", "tls_echo"):
            label, res = bulk[key]
            mib = _med(res, "rate") * size / MIB / MIB
            plain = _med(bulk[key[4:]][1], "rate") * size / MIB / MIB \
                if key.startswith("tls_") else None
            print("%-40s %8.1f %10s %8.2f %8.2f %6d  %s" % (
                label, mib, _fmt(_ratio(mib, plain), ".2f", ""),
                _med(res, "srv_us_per_op") / 1e3,
                _med(res, "cpu_us_per_op") / 1e3,
                sum(r["errors"] for r in res),
                " ".join("%.1f" % (r["rate"] * size / MIB / MIB)
                         for r in res)))
        print("  srv ms / cli ms: CPU time per connection (1 MiB each way) "
              "of the server and of loadgen,\n  which does TLS too on the "
              "same CPUs")

    def _tls_targets(self):
        """Issue 14's goals: (description, value text, met)."""
        out = []
        if not self.tls:
            return out
        short, bulk = self.tls[:2]
        for what, key in (("exec /bin/cat", "cat"), ("echo plugin", "echo")):
            if "sti_" + key in short:
                r = _ratio(_med(short["tls_" + key][1], "rate"),
                           _med(short["sti_" + key][1], "rate"))
                out.append(("TLS %s >= 2x stunnel4 inetd mode (conn/s)"
                            % what, _fmt(r, ".2f") + "x",
                            r is not None and r >= 2))
            r = _ratio(_med(bulk["tls_" + key][1], "rate"),
                       _med(bulk[key][1], "rate"))
            out.append(("TLS %s bulk >= 0.8x without TLS" % what,
                        _fmt(r, ".2f") + "x", r is not None and r >= 0.8))
        return out

    def _targets(self):
        """(description, value text, met: True/False/None)."""
        ref = self.rate("ref")
        out = []

        def ratio_target(desc, a, b, want):
            r = _ratio(a, b)
            out.append((desc, _fmt(r, ".2f") + "x" if r else "n/a",
                        None if r is None else r >= want))
        ratio_target("porterd 1 loop >= 0.95x reference (conn/s)",
                     self.rate("thread"), ref, 0.95)
        ratio_target("porterd 2 loops >= 0.95x reference (conn/s)",
                     self.rate("thread2"), ref, 0.95)
        for key, name in (("thread", "1 loop"), ("thread2", "2 loops")):
            cpu = self.cpu_ratio(key)
            out.append(("porterd %s CPU/conn <= 1.25x reference" % name,
                        _fmt(cpu, ".2f") + "x" if cpu else "n/a",
                        None if cpu is None else cpu <= 1.25))
        if self.pers:
            p = self.pers
            ratio_target("persistent trips/s >= 0.95x reference",
                         _med(p["thread%d" % self.clients], "rate"),
                         _med(p["ref%d" % self.clients], "rate"), 0.95)
            if p.get("thread2%d" % self.clients):
                ratio_target("persistent trips/s, 2 loops >= 0.95x "
                             "reference",
                             _med(p["thread2%d" % self.clients], "rate"),
                             _med(p["ref%d" % self.clients], "rate"), 0.95)
            r = _ratio(_med(p["thread1"], "p50_us"),
                       _med(p["ref1"], "p50_us"))
            out.append(("persistent p50 (1 client) within 10% of "
                        "reference", _fmt(r, ".2f") + "x",
                        r is not None and r <= 1.1))
        us = self.srv_us("thread2")
        if self.count_ns is not None and us:
            pct = self.count_ns / 1000.0 / us * 100
            out.append(("counting < 2% of server CPU/conn (issue 13)",
                        "%.2f%% (%.0f ns of %.1f us)"
                        % (pct, self.count_ns, us), pct < 2.0))
        ratio_target("porterd process >= 2x xinetd internal echo",
                     self.rate("process"), self.rate("xi_echo"), 2.0)
        ratio_target("porterd exec >= 1.2x xinetd exec /bin/cat",
                     self.rate("exec"), self.rate("xi_exec"), 1.2)
        # Issue 12 (process model): each against its bare bound.
        ratio_target("process (pooled) >= 0.5x reference (issue 12)",
                     self.rate("process"), ref, 0.5)
        ratio_target("process reuse 1 >= 0.95x bare fork-per-connection "
                     "(issue 12)", self.rate("process1"),
                     self.rate("bare_fork"), 0.95)
        ratio_target("exec >= 0.9x bare accept + posix_spawn (issue 12)",
                     self.rate("exec"), self.rate("bare_spawn"), 0.9)
        ratio_target("exec sandboxed >= 0.9x exec (issue 15)",
                     self.rate("exec_sb"), self.rate("exec"), 0.9)
        a, b = self.srv_us("exec_sb"), self.srv_us("exec")
        if a is not None and b is not None:
            out.append(("sandbox adds < 50 us server CPU per connection",
                        "%+.1f us" % (a - b), a - b < 50))
        if self.bundled:
            mib = self.bundled[0]["rss"] / MIB
            out.append(("idle RSS, bundled config <= 4 MiB",
                        "%.1f MiB" % mib, mib <= 4.0))
        for base, held, n, _ in self.idle[:1]:
            # Short of 10,000 only by RLIMIT_NOFILE (porterd needs two
            # descriptors a connection): judged on the per-connection cost.
            mib = (held["rss"] - base["rss"]) / MIB
            scaled = mib * 10000 / n if n >= 9000 else None
            out.append(("10000 idle connections add <= 64 MiB",
                        "%.1f MiB" % mib if n >= 10000 else
                        "%.1f MiB for %d (%s)" % (
                            mib, n, "%.1f scaled" % scaled if scaled
                            else "too few"),
                        scaled is not None and scaled <= 64.0))
        for base, held, n, _ in self.idle[1:]:
            mib = (held["rss"] - base["rss"]) / MIB
            out.append(("%d idle connections held (of %d asked)"
                        % (n, 100000), "%.1f MiB" % mib, n >= 100000))
        if self.ready_times:
            ms = median(self.ready_times[0]) * 1e3
            out.append(("start to ready, 100 services < 100 ms",
                        "%.1f ms" % ms, ms < 100))
        if self.reloads:
            quiet, loaded, client, _ = self.reloads
            ms = max(median(r[0] for r in quiet),
                     median(r[0] for r in loaded)) * 1e3
            out.append(("reload, 100 services < 100 ms", "%.1f ms" % ms,
                        ms < 100))
            if client:
                out.append(("no connection refused during reloads",
                            "%d refused" % client["err_refused"],
                            client["err_refused"] == 0 and
                            client["errors"] == 0))
        if self.starve:
            alone, loaded = self.starve[0], self.starve[1]
            ratio_target("in-process echo under exec + isolated load >= "
                         "0.8x alone (issue 12)", _med(loaded, "rate"),
                         _med(alone, "rate"), 0.8)
        out.extend(self._tls_targets())
        return out

    def _print_targets(self):
        print("\nTargets (issue 6), this run")
        for desc, value, met in self._targets():
            mark = {True: "met ", False: "MISS", None: "n/a "}[met]
            print("  [%s] %-52s %s" % (mark, desc, value))
