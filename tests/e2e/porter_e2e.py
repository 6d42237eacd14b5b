"""porter_e2e -- shared harness for porterd's end-to-end scenarios.

Each scenario (tests/e2e/<behaviour>.py) starts real porterd processes on a
config written to a private temp dir and talks to them over loopback and
AF_UNIX sockets.  This module gives it:

  Test       checks (t.case), temp dirs, plugin dirs, the daemons it
             started, exit codes (0 pass, 1 fail, 77 skip, 99 harness
             error, as automake reads them); on failure it prints each
             daemon's stderr tail.            (this file)
  Porterd    one porterd process: log lines, bounded waits, listening
             addresses, signals by its own PID.  (porter_e2e_daemon.py)
  Addr, connect, echo_roundtrip, dgram_request, ...  clients with
             timeouts.                          (porter_e2e_net.py)
  conf_*, expect*, paths                        (porter_e2e_base.py)
  make_pki, client_ctx, tls_section, s_client_line, Backend, ...
             certificates, TLS clients, forward backends.
                                                (porter_e2e_edge.py)

Scenarios import everything from here.
"""
import os
import shutil
import sys
import tempfile
import traceback

from porter_e2e_base import *    # noqa: F401,F403
from porter_e2e_net import *     # noqa: F401,F403
from porter_e2e_daemon import *  # noqa: F401,F403
from porter_e2e_edge import *    # noqa: F401,F403
from porter_e2e_base import (Failure, HarnessError, INTERNAL_PLUGINS,
                             build_lock,
                             PORTERD, Skip, TEST_PLUGINS, TOP_BUILDDIR)
from porter_e2e_base import _short  # noqa: F401
from porter_e2e_daemon import Porterd


# ------------------------------------------------------------------ the test

def untrusted_ancestor(path):
    """(dir, why) for the first directory from / down to path that porterd
    would refuse to load a plugin from (owned by neither root nor us, or
    writable by group or others, sticky or not), or None."""
    path = os.path.realpath(path)
    parts = path.split("/")
    for i in range(1, len(parts) + 1):
        d = "/".join(parts[:i]) or "/"
        st = os.stat(d)
        if st.st_uid not in (0, os.geteuid()):
            return (d, "owned by uid %d" % st.st_uid)
        if st.st_mode & 0o022:
            return (d, "writable by group or others")
    return None


class Test:
    """One scenario: its checks, temp dirs and daemons."""

    def __init__(self, name):
        self.name = name
        self.failures = 0
        self.passes = 0
        self.daemons = []
        self.tmpdirs = []

    def note(self, msg):
        print("# " + msg, flush=True)

    def case(self, desc):
        """with t.case("what is checked"): ... -- a Failure or any
        exception inside fails this check; the scenario goes on."""
        return _Case(self, desc)

    def tmpdir(self):
        """A new private temp dir (0755), removed at the end.  Short base
        path: AF_UNIX paths must fit in 108 bytes."""
        base = os.environ.get("TMPDIR", "/tmp")
        if len(base) > 40:
            base = "/tmp"
        d = tempfile.mkdtemp(prefix="porter-e2e-", dir=base)
        os.chmod(d, 0o755)
        self.tmpdirs.append(d)
        return d

    def trusted_tmpdir(self):
        """A new private dir (0755), removed at the end, in which porterd
        will load plugins: it and every directory above it are owned by
        root or us and writable by no one else.  /tmp is world-writable,
        so these live under the build tree (tests/e2e/tmp), or, when the
        build tree itself is below /tmp (a CI clone), under /run (root)
        or the home directory."""
        bases = [os.path.join(TOP_BUILDDIR, "tests", "e2e", "tmp"),
                 "/run/porter-e2e",
                 os.path.join(os.path.expanduser("~"), ".cache",
                              "porter-e2e")]
        why = None
        for base in bases:
            try:
                os.makedirs(base, exist_ok=True)
                os.chmod(base, 0o755)
            except OSError:
                continue
            why = untrusted_ancestor(base)
            if why is None:
                break
        else:
            raise HarnessError("porterd loads no plugin below %s (%s), and "
                               "no trusted place was found; build elsewhere"
                               % (why or ("any", "unwritable")))
        d = tempfile.mkdtemp(prefix="p-", dir=base)
        os.chmod(d, 0o755)
        self.tmpdirs.append(d)
        return d

    def plugindir(self, names, parent=None, mode=0o644):
        """A plugin dir (0755) holding copies of the named plugins, from the
        internal or the test plugins; HarnessError if one is not built.
        In `parent` if porterd would load from there, else in a
        trusted_tmpdir()."""
        if parent is None or untrusted_ancestor(parent):
            parent = self.trusted_tmpdir()
        d = os.path.join(parent, "plugins")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        for name in names:
            for src_dir in (INTERNAL_PLUGINS, TEST_PLUGINS):
                src = os.path.join(src_dir, name + ".so")
                if os.path.exists(src):
                    break
            else:
                raise HarnessError("plugin %s.so not built (looked in %s "
                                   "and %s; run make check)"
                                   % (name, INTERNAL_PLUGINS, TEST_PLUGINS))
            dst = os.path.join(d, name + ".so")
            with build_lock(False):     # not while make install relinks
                shutil.copyfile(src, dst)
            os.chmod(dst, mode)
        return d

    def write(self, path, text, mode=0o644):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def porterd(self, conf, plugindir=None, args=(), env=None, start=True):
        d = Porterd(self, conf, plugindir, args, env)
        self.daemons.append(d)
        if start:
            d.start()
        return d

    def cleanup(self):
        for d in self.daemons:
            try:
                d.stop()
            except Exception as e:  # keep cleaning up
                print("# cleanup: %r" % e)
        for d in self.tmpdirs:
            shutil.rmtree(d, ignore_errors=True)

    def report_daemons(self):
        for d in self.daemons:
            if d.proc is None:
                continue
            print("# --- porterd pid %d (%s), last stderr lines:"
                  % (d.pid, "running" if d.alive() else
                     "exit %s" % d.proc.returncode))
            for line in d.tail():
                print("#   " + line)


class _Case:
    def __init__(self, t, desc):
        self.t, self.desc = t, desc

    def __enter__(self):
        print("check: %s ..." % self.desc, flush=True)
        return self

    def __exit__(self, typ, val, tb):
        if typ is None:
            self.t.passes += 1
            print("  ok", flush=True)
            return False
        if issubclass(typ, (Skip, HarnessError, KeyboardInterrupt)):
            return False
        self.t.failures += 1
        if issubclass(typ, Failure):
            print("  FAIL: %s" % val, flush=True)
        else:
            print("  FAIL: unexpected %s: %s" % (typ.__name__, val))
            traceback.print_exception(typ, val, tb, file=sys.stdout)
        return True


def main(scenario, name=None):
    """Runs scenario(t) and exits with automake's codes."""
    t = Test(name or os.path.basename(sys.argv[0]))
    code = 0
    try:
        if not os.path.exists(PORTERD):
            raise HarnessError("%s not built" % PORTERD)
        scenario(t)
        code = 1 if t.failures else 0
    except Skip as e:
        print("SKIP: %s" % e)
        code = 77
    except HarnessError as e:
        print("ERROR: %s" % e)
        code = 99
    except Failure as e:  # a failure outside any case ends the scenario
        t.failures += 1
        print("FAIL: %s" % e)
        code = 1
    except Exception:
        t.failures += 1
        traceback.print_exc(file=sys.stdout)
        code = 1
    finally:
        if code not in (0, 77):
            t.report_daemons()
        t.cleanup()
    print("%s: %d passed, %d failed" % (t.name, t.passes, t.failures))
    sys.exit(code)
