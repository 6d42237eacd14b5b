"""porter_e2e_daemon -- one porterd process per Porterd: started with its
stderr and stdout read by threads into lists of lines, waited on with
bounded waits, signalled by its own PID only.  run_porterd() runs one to
completion (--check, --version, bad configs).
"""
import os
import re
import shlex
import signal
import subprocess
import threading
import time

from porter_e2e_base import Failure, PORTERD, WAIT_TIMEOUT, expect
from porter_e2e_net import Addr


# ------------------------------------------------------------------ porterd

def porterd_command():
    """[PORTERD], preceded by the words of $PORTERD_WRAPPER if set (e.g.
    `libtool --mode=execute valgrind ...` for `make valgrind-check`).  The
    wrapper must exec porterd in place, so that the PID stays porterd's."""
    return shlex.split(os.environ.get("PORTERD_WRAPPER", "")) + [PORTERD]


LISTEN_RE = re.compile(
    r"service (\S+): listening on (\S+) \((stream|dgram|seqpacket)\)")


class Porterd:
    """One porterd process started by this test (and only this one is ever
    signalled)."""

    def __init__(self, t, conf, plugindir=None, args=(), env=None,
                 debug=True):
        self.t = t
        self.conf = conf
        self.cmd = porterd_command() + ["-n"] + (["-d"] if debug else []) \
            + ["-f", conf]
        if plugindir:
            self.cmd += ["-P", plugindir]
        self.cmd += list(args)
        self.env = env
        self.lines = []          # stderr lines, "porterd: " prefix removed
        self.out = []            # stdout lines
        self.cond = threading.Condition()
        self.proc = None
        self.readers = []

    def start(self):
        self.t.note("start: %s" % " ".join(self.cmd))
        self.proc = subprocess.Popen(
            self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=self.env, close_fds=True)
        for stream, sink in ((self.proc.stderr, self.lines),
                             (self.proc.stdout, self.out)):
            th = threading.Thread(target=self._read, args=(stream, sink),
                                  daemon=True)
            th.start()
            self.readers.append(th)
        return self

    def _read(self, stream, sink):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line.startswith("porterd: "):
                line = line[len("porterd: "):]
            with self.cond:
                sink.append(line)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def mark(self):
        """The number of log lines so far: pass as `since` to wait_line."""
        with self.cond:
            return len(self.lines)

    def find(self, regex, since=0):
        """Matches of regex (re.search) in log lines from index since."""
        r = re.compile(regex)
        with self.cond:
            lines = self.lines[since:]
        return [m for m in (r.search(x) for x in lines) if m]

    def wait_line(self, regex, since=0, timeout=WAIT_TIMEOUT):
        """The first match of regex in a log line from index since, waiting
        at most timeout seconds; Failure if none (or porterd exited)."""
        r = re.compile(regex)
        deadline = time.monotonic() + timeout
        i = since
        with self.cond:
            while True:
                while i < len(self.lines):
                    m = r.search(self.lines[i])
                    i += 1
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure("no log line matching /%s/ within %.0f s"
                                  % (regex, timeout))
                if self.proc.poll() is not None and \
                        not any(th.is_alive() for th in self.readers):
                    raise Failure("porterd exited (status %s) before a log "
                                  "line matching /%s/"
                                  % (self.proc.returncode, regex))
                self.cond.wait(min(left, 0.2))

    def listeners(self, since=0):
        """{service: [Addr, ...]} from "listening on" lines since index."""
        res = {}
        for m in self.find(LISTEN_RE.pattern, since):
            res.setdefault(m.group(1), []).append(
                Addr(m.group(2), m.group(3)))
        return res

    def wait_ready(self, timeout=WAIT_TIMEOUT):
        """Waits for "ready: N services"; returns the listeners."""
        self.wait_line(r"^ready: \d+ services?", 0, timeout)
        return self.listeners()

    def addr(self, service, family=None, since=0):
        """The one listening Addr of service (of that family)."""
        cands = [a for a in self.listeners(since).get(service, [])
                 if family is None or a.family == family]
        expect(len(cands) == 1, "service %s: expected one listener%s, "
               "log has %r" % (service, "" if family is None else
                               " of family %d" % family, cands))
        return cands[0]

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout=WAIT_TIMEOUT):
        """The exit status, or None if still running after timeout."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        for th in self.readers:
            th.join(2.0)
        return rc

    def stop(self):
        """SIGTERM, then SIGKILL if still running after WAIT_TIMEOUT."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.signal(signal.SIGTERM)
        if self.wait_exit(WAIT_TIMEOUT) is None:
            self.t.note("porterd pid %d ignored SIGTERM, killing" % self.pid)
            self.proc.kill()
            self.wait_exit(WAIT_TIMEOUT)

    def tail(self, n=40):
        with self.cond:
            return self.lines[-n:]


def run_porterd(args, timeout=WAIT_TIMEOUT, env=None):
    """Runs porterd to completion (for --check, --version, bad configs);
    returns (status, stdout, stderr) as text; Failure on timeout."""
    try:
        p = subprocess.run(porterd_command() + list(args),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise Failure("porterd %s did not exit within %.0f s"
                      % (" ".join(args), timeout))
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))
