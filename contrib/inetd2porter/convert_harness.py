"""convert_harness -- what inetd2porter's tests share: running the
converter on files written to a temp dir, and comparing its output with
expected fragments.

The checks, temp dirs, exit codes (0 pass, 1 fail, 77 skip, 99 harness
error) and porterd runs are the end-to-end harness's (tests/e2e/
porter_e2e.py), imported from $top_srcdir.  The converter is run as a user
runs it, as a separate process from the source tree (it needs no build);
its output is compared after the wrapped lines of each `# inetd2porter:`
note are joined, so that an expected note is written on one line whatever
its length.  Expected fragments indent a section's options with four
spaces, which stand for the converter's tab, and may wrap a note anywhere
with the converter's "#     " continuation.
"""
import os
import re
import subprocess
import sys
import textwrap

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.normpath(
    os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "e2e"))
from porter_e2e import (Failure, WAIT_TIMEOUT, expect, expect_eq,  # noqa
                        main, run_porterd)

SCRIPT = os.path.join(TOP_SRCDIR, "contrib", "inetd2porter", "inetd2porter")
FIXTURES = os.path.join(TOP_SRCDIR, "contrib", "inetd2porter", "fixtures")
PLUGINS = ["echo", "discard", "chargen", "daytime", "time", "tcpmux"]


def run(args, cwd=None):
    """Runs inetd2porter with args in cwd; returns (status, stdout,
    stderr) as text.  Failure if it does not finish in time.  Unless the
    case names its own, the hosts files are empty ones, so that the
    machine's /etc/hosts.allow and /etc/hosts.deny never decide a test."""
    args = list(args)
    for opt in ("--hosts-allow", "--hosts-deny"):
        if opt not in args and "--help" not in args and args:
            args = [opt, os.devnull] + args
    try:
        p = subprocess.run([sys.executable, SCRIPT] + list(args), cwd=cwd,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=WAIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure("inetd2porter %s did not finish within %.0f s"
                      % (" ".join(args), WAIT_TIMEOUT))
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def write_files(base, files):
    """Writes {relative path: text} under base, making directories."""
    for rel, text in files.items():
        path = os.path.join(base, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))


def convert(t, files, args=None):
    """Writes files into a fresh temp dir and converts there; args default
    to the first file's name.  Returns (status, output with notes joined,
    stderr)."""
    d = t.tmpdir()
    write_files(d, files)
    rc, out, err = run(args if args is not None else [next(iter(files))],
                       cwd=d)
    return rc, joined(out), err


def joined(out):
    """The output with each wrapped note on one line."""
    return re.sub(r"\n#     ", " ", out)


def fragment(text):
    """An expected fragment: dedented, four leading spaces -> a tab, and
    notes joined as in the output (so they may wrap anywhere)."""
    lines = textwrap.dedent(text).strip("\n").split("\n")
    tabbed = ("\t" + ln[4:] if ln.startswith("    ") else ln for ln in lines)
    return joined("\n".join(tabbed))


def expect_converted(t, desc, files, want=(), absent=(), args=None):
    """One case that must convert (status 0, empty stderr) into output
    holding every fragment of want and none of the strings of absent."""
    with t.case(desc):
        rc, out, err = convert(t, files, args)
        expect_eq((rc, err), (0, ""), "status and stderr")
        for w in want:
            w = fragment(w)
            expect(w in out, "missing from the output:\n%s\n--- output:\n%s"
                   % (w, out))
        for a in absent:
            expect(a not in out, "%r should not be in the output:\n%s"
                   % (a, out))


def expect_error(t, desc, files, message, args=None):
    """One case that must fail: status 1, exactly `message` on stderr
    (one line), nothing on stdout."""
    with t.case(desc):
        rc, out, err = convert(t, files, args)
        expect_eq((rc, out, err), (1, "", message + "\n"),
                  "status, stdout and stderr")
