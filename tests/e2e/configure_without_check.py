#!/usr/bin/env python3
"""configure_without_check -- the Check library is needed by `make check`
only.

A copy of this tree (`make distdir`, what a release tarball holds) is
configured with a pkg-config that knows the build dependencies but not
check (PKG_CONFIG_LIBDIR naming a directory of links to their .pc
files).  Asserts: ./configure exits 0 and warns that Check was not found;
`make check` exits non-zero, says that Check is missing and how to
install it, and runs no test.  Skips (77) when the tree has no configure
script or pkg-config cannot find libconfuse and libsystemd.
"""
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (TOP_BUILDDIR, Skip, expect, expect_eq,  # noqa
                        main)

TIMEOUT = 900   # a whole build of the copy on a shared machine


def run(cmd, cwd, env):
    p = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=TIMEOUT)
    return p.returncode, p.stdout.decode("utf-8", "replace"), \
        p.stderr.decode("utf-8", "replace")


def scenario(t):
    if shutil.which("pkg-config") is None or shutil.which("make") is None:
        raise Skip("needs pkg-config and make")
    pcdir = os.path.join(t.tmpdir(), "pc")
    os.mkdir(pcdir)
    for mod in ("libconfuse", "libsystemd", "libseccomp", "libcap",
                "openssl", "libssl", "libcrypto", "jansson"):
        p = subprocess.run(["pkg-config", "--path", mod],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise Skip("pkg-config does not find %s" % mod)
        os.symlink(p.stdout.strip(), os.path.join(pcdir, mod + ".pc"))

    tmp = t.tmpdir()
    distdir = os.path.join(tmp, "porter-copy")
    rc, out, err = run(["make", "-s", "distdir", "distdir=" + distdir],
                       TOP_BUILDDIR, None)
    if rc != 0:
        raise Skip("make distdir failed here: %s" % err[-300:])
    env = dict(os.environ, PKG_CONFIG_LIBDIR=pcdir, PKG_CONFIG_PATH="")
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(k, None)

    with t.case("./configure succeeds without Check, and warns"):
        rc, out, err = run(["./configure"], distdir, env)
        expect_eq(rc, 0, "configure status (stderr %r)" % err[-500:])
        expect("Check not found" in out + err, "no warning: %r"
               % (out + err)[-500:])
    with t.case("make check fails at once, naming what is missing"):
        rc, out, err = run(["make", "-j2", "check"], distdir, env)
        expect(rc != 0, "make check succeeded without Check")
        expect("the Check unit-test library was not found" in err and
               "apt-get install check" in err, "message: %r" % err[-800:])
        expect("PASS:" not in out and "FAIL:" not in out,
               "tests ran: %r" % out[-500:])


if __name__ == "__main__":
    main(scenario)
