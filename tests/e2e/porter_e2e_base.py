"""porter_e2e_base -- paths, timeouts, check primitives and config text
for the end-to-end harness (see porter_e2e.py).

Paths come from $top_builddir and $top_srcdir (absolute, set by automake),
defaulting to this directory's ../.. .
"""
import contextlib
import fcntl
import json
import os
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.normpath(
    os.path.join(HERE, "..", ".."))
TOP_BUILDDIR = os.environ.get("top_builddir") or TOP_SRCDIR
PORTERD = os.path.join(TOP_BUILDDIR, "daemon", "porterd")
PORTERCTL = os.path.join(TOP_BUILDDIR, "tools", "porterctl")
INTERNAL_PLUGINS = os.path.join(TOP_BUILDDIR, "plugins", ".libs")
TEST_PLUGINS = os.path.join(TOP_BUILDDIR, "tests", "plugins", ".libs")

# Every bounded wait is multiplied by $PORTER_TIMEOUT_SCALE (default 1):
# `make valgrind-check` runs porterd under memcheck, which makes it an
# order of magnitude slower without changing what is being checked.
try:
    TIMEOUT_SCALE = max(1.0, float(os.environ.get("PORTER_TIMEOUT_SCALE",
                                                  "1")))
except ValueError:
    TIMEOUT_SCALE = 1.0
IO_TIMEOUT = 5.0 * TIMEOUT_SCALE     # socket operations
WAIT_TIMEOUT = 10.0 * TIMEOUT_SCALE  # log lines, process exits
EPOCH_1900 = 2208988800  # RFC 868: seconds from 1900 to 1970


class Failure(Exception):
    """A check did not hold."""


class Skip(Exception):
    """The scenario cannot run here (exit 77)."""


class HarnessError(Exception):
    """The test environment is broken (exit 99)."""


def expect(cond, msg):
    """Raises Failure(msg) unless cond."""
    if not cond:
        raise Failure(msg)


def expect_eq(got, want, what):
    if got != want:
        raise Failure("%s: got %r, want %r"
                      % (what, _short(got), _short(want)))


def porterctl_service(sock, name):
    """Service name's entry in `porterctl -s sock --json services`."""
    p = subprocess.run([PORTERCTL, "-s", sock, "--json", "services"],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=WAIT_TIMEOUT + 30)
    expect_eq(p.returncode, 0, "porterctl exit (%s)" % p.stderr.strip())
    for s in json.loads(p.stdout)["services"]:
        if s["name"] == name:
            return s
    raise Failure("no service %s in porterctl services" % name)


def _short(v, n=200):
    r = v
    if isinstance(v, (bytes, str)) and len(v) > n:
        r = v[:n] + (b"..." if isinstance(v, bytes) else "...")
    return r


# ------------------------------------------------------------------ config

def conf_value(v):
    """One value in libconfuse syntax: lists in braces, strings quoted."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(conf_value(x) for x in v) + "}"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return '"%s"' % s


def conf_opts(indent="", **kw):
    """Lines `key = value`; a trailing '_' is dropped (exec_), '_' -> '-'."""
    out = []
    for k, v in kw.items():
        if v is None:
            continue
        out.append("%s%s = %s" % (indent, k.rstrip("_").replace("_", "-"),
                                  conf_value(v)))
    return "\n".join(out) + ("\n" if out else "")


def conf_service(name, **kw):
    """A `service NAME { ... }` section."""
    return "service %s {\n%s}\n" % (name, conf_opts("    ", **kw))


@contextlib.contextmanager
def build_lock(exclusive, timeout=600):
    """Holds the build tree's lock: exclusive around a `make install` (libtool
    relinks the plugins in place under plugins/.libs then), shared while a
    test copies plugins from there, so that no copy is torn.  Waits at
    most timeout seconds."""
    path = os.path.join(TOP_BUILDDIR, ".e2e-build.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else
                                 fcntl.LOCK_SH) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise HarnessError("%s: still locked after %d s"
                                       % (path, timeout))
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)


def proc_children(pid):
    """The pids of pid's children (those of each of its threads); [] once
    it is gone."""
    kids = []
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return kids
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                kids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return kids


def proc_title(pid):
    """What ps shows for pid: its argv, NULs as spaces, trailing ones cut
    ("" once it is gone)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().rstrip(b"\0").replace(b"\0", b" ").decode()
    except OSError:
        return ""


def proc_children_titled(pid, title):
    """pid's children whose process title (porterd: SERVICE pool,
    launcher, worker) is `title`."""
    return [k for k in proc_children(pid) if proc_title(k) == title]
