"""benchlib -- the servers run-bench measures, and how it looks at them.

Every server is started by this module, on loopback, on a port chosen at
run time, and stopped by its own PID (SIGTERM, then SIGKILL after a bounded
wait); nothing else is ever signalled.  A server is "up" when it says so:
porterd by READY=1 on a NOTIFY_SOCKET this module binds, epoll_echo by
printing its port, the others by a listening socket of their PID appearing
in /proc.  Ports of porterd's services (which use port 0) are read from
/proc as well: the bench configs run at log-level = warning, so the
"listening on" log lines are not there to read.

Also here: RSS and CPU time of a process from /proc, and one loadgen run
parsed into a dict.
"""
import os
import select
import signal
import socket
import subprocess
import threading
import time

START_TIMEOUT = 10.0    # a server not up by then is an error
STOP_TIMEOUT = 5.0      # SIGTERM, then SIGKILL
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """Something the bench needs did not work; the message says what."""


# ------------------------------------------------------------------ /proc

def proc_status(pid):
    """/proc/PID/status as a dict of strings."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def rss_kib(pid):
    """Resident set size in KiB, with its anon/file/shmem split."""
    st = proc_status(pid)

    def kib(key):
        return int(st.get(key, "0 kB").split()[0])
    return {"rss": kib("VmRSS"), "anon": kib("RssAnon"),
            "file": kib("RssFile"), "shmem": kib("RssShmem"),
            "threads": int(st.get("Threads", "0"))}


def cpu_seconds(pid):
    """CPU time of pid and of its children it has reaped (forked
    handlers count towards the server that forked them)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime..cstime are fields 14..17.
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


def descendants(pid):
    """The living processes under pid (children of each of its threads),
    depth first."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def tree_cpu_seconds(pid):
    """cpu_seconds() of pid and of every living process under it: a
    worker pool or a launcher reaps its own children, whose time reaches
    porterd only when that process itself is reaped."""
    total = cpu_seconds(pid)
    for k in descendants(pid):
        try:
            total += cpu_seconds(k)
        except OSError:
            pass    # gone meanwhile: its time is in its parent's now
    return total


def listening_ports(pid):
    """TCP ports in LISTEN state on sockets pid holds, sorted by fd."""
    inodes = {}
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes[link[8:-1]] = int(fd)
    found = []
    for table in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, table)) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:
                found.append((inodes[cols[9]],
                              int(cols[1].rsplit(":", 1)[1], 16)))
    return [port for _, port in sorted(found)]


def set_affinity(pid, cpus):
    """Pins every thread of pid to cpus (threads it creates later inherit
    their creator's set); returns the set the main thread had."""
    before = os.sched_getaffinity(pid)
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:     # the thread is gone
            pass
    return before


def free_port():
    """A loopback TCP port free right now, for servers that cannot bind
    port 0 themselves (xinetd, systemd-socket-activate)."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


# ------------------------------------------------------------------ notify

class Notify:
    """The NOTIFY_SOCKET end of sd_notify(3), played as systemd plays it:
    a thread reads every message as it arrives.  It must: porterd sends
    STATUS= every second, and once net.unix.max_dgram_qlen (10) messages
    wait unread, its next sd_notify() blocks the event loop.  Messages are
    kept as (arrival on CLOCK_MONOTONIC, {key: value})."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.msgs = []
        self.cond = threading.Condition()
        self.closing = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while not self.closing:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            msg = dict(line.split("=", 1) for line in
                       data.decode("utf-8", "replace").split("\n")
                       if "=" in line)
            with self.cond:
                self.msgs.append((now, msg))
                self.cond.notify_all()

    def drain(self):
        """Forgets the messages received so far."""
        with self.cond:
            self.msgs.clear()

    def wait(self, key, timeout=START_TIMEOUT):
        """Takes messages up to the first carrying key and returns it as
        (arrival, message)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                while self.msgs:
                    now, msg = self.msgs.pop(0)
                    if key in msg:
                        return now, msg
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError("no %s= notification within %.0f s"
                                     % (key, timeout))
                self.cond.wait(left)

    def close(self):
        self.closing = True
        self.reader.join(2.0)
        self.sock.close()


# ------------------------------------------------------------------ servers

class Server:
    """One server process.  Subclasses fill in cmd and wait_up()."""

    def __init__(self, label, workdir, env=None):
        self.label = label
        self.workdir = workdir
        self.env = env
        self.proc = None
        self.port = None
        self.log_path = os.path.join(workdir, "stderr.log")

    def start(self):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self.cmd, stdin=subprocess.DEVNULL, stdout=self.stdout_mode(),
            stderr=self.log, env=self.env, cwd=self.workdir,
            close_fds=True)
        try:
            self.wait_up()
        except BaseException:
            self.stop()
            raise
        return self

    def stdout_mode(self):
        return subprocess.DEVNULL

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_listen(self, want=None, count=1):
        """Waits until pid listens on `want` (or on count ports)."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.alive():
                raise BenchError("%s exited (status %s): %s" % (
                    self.label, self.proc.returncode, self.log_tail()))
            ports = listening_ports(self.pid)
            if (want in ports) if want is not None else len(ports) >= count:
                return ports
            time.sleep(0.02)
        raise BenchError("%s: not listening after %.0f s"
                         % (self.label, START_TIMEOUT))

    def cpu(self):
        return tree_cpu_seconds(self.pid)

    def log_tail(self, n=5):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return " | ".join(lines[-n:])

    def log_lines(self):
        try:
            with open(self.log_path, "rb") as f:
                return len(f.read().splitlines())
        except OSError:
            return 0

    def stop(self):
        """SIGTERM by PID, SIGKILL if still there after STOP_TIMEOUT."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()


class EpollEcho(Server):
    """The reference: prints its port; -l bounds its life."""

    def __init__(self, label, workdir, binary, lifetime):
        super().__init__(label, workdir)
        self.cmd = [binary, "-l", str(int(lifetime))]

    def stdout_mode(self):
        return subprocess.PIPE

    def wait_up(self):
        ready, _, _ = select.select([self.proc.stdout], [], [],
                                    START_TIMEOUT)
        line = self.proc.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            raise BenchError("epoll_echo printed no port: %s"
                             % self.log_tail())
        self.port = int(line)


class Porterd(Server):
    """porterd -n on a config of ours; up at READY=1."""

    def __init__(self, label, workdir, binary, env, plugindir, conf_path):
        self.notify = Notify(os.path.join(workdir, "notify"))
        env = dict(env, NOTIFY_SOCKET=self.notify.path)
        super().__init__(label, workdir, env)
        self.cmd = [binary, "-n", "-f", conf_path, "-P", plugindir]
        self.started = self.ready_at = None

    def start(self):
        self.started = time.monotonic()
        return super().start()

    def wait_up(self):
        try:
            self.ready_at, _ = self.notify.wait("READY")
        except BenchError as e:
            raise BenchError("porterd: %s: %s" % (e, self.log_tail()))
        ports = self.wait_listen()
        self.port = ports[0]

    def stop(self):
        super().stop()
        self.notify.close()


class Listener(Server):
    """A server told its port on the command line or in its config."""

    def __init__(self, label, workdir, cmd, port):
        super().__init__(label, workdir)
        self.cmd = cmd
        self.port = port

    def wait_up(self):
        self.wait_listen(self.port)


# ------------------------------------------------------------------ loadgen

def run_loadgen(binary, port, seconds, clients, size, persistent=False,
                cpus=None, tls=False):
    """One loadgen run against 127.0.0.1:port, on cpus if given, with TLS
    (-L) if asked; its key=value line as a dict (numbers converted).  -S:
    every system sees source 127.0.0.1 (see README.md)."""
    cmd = [binary, "-q", "-S", "-c", str(clients), "-s", str(size),
           "-d", "%.3f" % seconds, "-T", "5"]
    cmd += (["-p"] if persistent else []) + (["-L"] if tls else [])
    cmd.append("127.0.0.1:%d" % port)
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=seconds + 20,
                           preexec_fn=pin)
    except subprocess.TimeoutExpired:
        raise BenchError("loadgen did not finish: %s" % " ".join(cmd))
    lines = [x for x in p.stdout.decode().splitlines()
             if x.startswith("mode=")]
    if p.returncode not in (0, 1) or not lines:
        raise BenchError("loadgen failed (status %d): %s" % (
            p.returncode, p.stderr.decode().strip()))
    res = {}
    for kv in lines[-1].split():
        k, _, v = kv.partition("=")
        try:
            res[k] = float(v)
        except ValueError:
            res[k] = v
    return res
