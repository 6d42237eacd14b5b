#!/usr/bin/env python3
"""test_fixtures -- inetd2porter on the files Debian's openbsd-inetd and
xinetd packages ship, and on the hand-written fixtures; porterd --check
accepts every result.

Asserts: openbsd-inetd's default inetd.conf (every entry commented out)
converts to no service; xinetd's files (through xinetd.conf with --root,
and as a directory) convert to exactly the 15 expected sections, all with
disable = true, and leave out xinetd's own `servers` and `services`; the
hand-written inetd.conf and xinetd.conf convert without error.  Then
`porterd --check -P <the built plugins>` reports "FILE: OK (N services)"
for each result, N being its sections without disable = true, and for
xinetd's files once more with every service enabled, so that the plugins
are loaded and initialised too.  --check binds nothing, so the privileged
ports of the converted services do not matter.  Skips when
/etc/services (netbase) does not know echo/tcp, since the converted
listen entries name their ports.
"""
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_harness import (FIXTURES, PLUGINS, expect, expect_eq,  # noqa
                             joined, main, run, run_porterd)
from porter_e2e import Skip  # noqa: E402

DEBIAN_XINETD = [
    "%s-%s" % (name, kind) for name in ("chargen", "daytime", "discard",
                                        "echo", "time")
    for kind in ("stream", "dgram", "dgram-udp")]


def sections(out):
    """(name, text) of each section in the output, in order."""
    return re.findall(r"^service (\S+) \{\n(.*?)^\}$", out, re.M | re.S)


def converted(t, desc, args):
    """Runs the converter on a fixture; returns its output."""
    with t.case("convert " + desc):
        rc, out, err = run(args, cwd=FIXTURES)
        expect_eq((rc, err), (0, ""), "status and stderr")
        return out
    return None


def check(t, desc, text, plugins, tmp):
    """porterd --check on text: OK with as many services as it has
    sections that are not disabled."""
    with t.case("porterd --check accepts " + desc):
        path = t.write(os.path.join(tmp, re.sub(r"\W+", "_", desc) +
                                    ".conf"), text)
        want = sum("\tdisable = true\n" not in body
                   for _, body in sections(text))
        rc, out, err = run_porterd(["--check", "-f", path, "-P", plugins])
        expect_eq((rc, out, err), (0, "%s: OK (%d services)\n" %
                                   (path, want), ""),
                  "status, stdout and stderr")


def scenario(t):
    try:
        socket.getservbyname("echo", "tcp")
    except OSError:
        raise Skip("/etc/services does not know echo/tcp (install netbase)")
    tmp = t.tmpdir()
    plugins = t.plugindir(PLUGINS, tmp)

    out = converted(t, "openbsd-inetd's inetd.conf: no services", [
        "debian-openbsd-inetd/etc/inetd.conf"])
    if out is not None:
        with t.case("openbsd-inetd: every entry is commented out"):
            expect(out.endswith("\n# (no services to convert)\n"), out)
        check(t, "openbsd-inetd", out, plugins, tmp)

    xinetd = converted(t, "xinetd's xinetd.conf, its includedir under "
                       "--root", ["--root", "debian-xinetd",
                                  "debian-xinetd/etc/xinetd.conf"])
    if xinetd is not None:
        with t.case("xinetd: the 15 services, disabled as shipped"):
            got = sections(xinetd)
            expect_eq(sorted(n for n, _ in got), sorted(DEBIAN_XINETD),
                      "section names")
            expect(all("\tdisable = true\n" in b for _, b in got),
                   "a section is not disabled:\n" + xinetd)
        with t.case("xinetd: its own servers and services are left out"):
            for name in ("servers", "services"):
                expect("# inetd2porter: not converted: porterd has no "
                       "built-in '%s' service" % name in joined(xinetd),
                       "no note for %s:\n%s" % (name, xinetd))
        check(t, "xinetd", xinetd, plugins, tmp)
        check(t, "xinetd, every service enabled",
              xinetd.replace("\tdisable = true\n", ""), plugins, tmp)
        bydir = converted(t, "xinetd.d as a directory",
                          ["--xinetd", "debian-xinetd/etc/xinetd.d"])
        if bydir is not None:
            with t.case("xinetd.d alone: the same sections"):
                expect_eq(sections(bydir), sections(xinetd), "sections")

    for name in ("inetd.conf", "xinetd.conf"):
        out = converted(t, "handwritten/" + name,
                        [os.path.join("handwritten", name)])
        if out is not None:
            check(t, "handwritten " + name, out, plugins, tmp)


if __name__ == "__main__":
    main(scenario)
