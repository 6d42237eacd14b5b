#!/usr/bin/env python3
"""readme_clients -- the client commands README.md tells a new user to
run are installed by .ci/deps and work against porterd as written.

Asserts: every program the README's client examples start (socat) is in
.ci/deps's package list; each `socat - TCP:HOST:PORT` example, run as
written but for the port (the test's porterd listens on a port chosen at
run time, serving the bundled config's echo, daytime and cat services),
gets the answer the README promises: echo returns what was sent, daytime
a date line, cat what was sent.  Where socat is missing the run part is
skipped (77) naming the package; the .ci/deps check still decides first.
"""
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (IO_TIMEOUT, Skip, TOP_SRCDIR, conf_service,  # noqa
                        expect, expect_eq, main)

SERVICES = {"2007": "echo", "2013": "daytime", "2107": "cat"}


def scenario(t):
    with open(os.path.join(TOP_SRCDIR, "README.md")) as f:
        readme = f.read()
    examples = re.findall(r"`(socat - TCP:127\.0\.0\.1:(\d+))`", readme)
    with open(os.path.join(TOP_SRCDIR, ".ci", "deps")) as f:
        deps = f.read()
    m = re.search(r'PKGS="([^"]*)"', deps)
    pkgs = set((m.group(1) if m else "").replace("\\\n", " ").split())

    with t.case("the README's client examples are found"):
        expect(len(examples) >= 3, "socat examples: %r" % examples)
    with t.case(".ci/deps installs socat, which the README uses"):
        expect("socat" in pkgs, "socat not in .ci/deps PKGS: %r"
               % sorted(pkgs))
    if shutil.which("socat") is None:
        raise Skip("socat is not installed (Debian package socat; "
                   ".ci/deps installs it)")

    tmp = t.tmpdir()
    conf = conf_service("echo", listen=["127.0.0.1:0"], plugin="echo")
    conf += conf_service("daytime", listen=["127.0.0.1:0"],
                         plugin="daytime")
    conf += conf_service("cat", listen=["127.0.0.1:0"], exec_="/bin/cat",
                         user="root")
    d = t.porterd(t.write(os.path.join(tmp, "porterd.conf"), conf),
                  plugindir=t.plugindir(["echo", "daytime"], tmp))
    with t.case("ready"):
        d.wait_ready()
    for cmd, port in examples:
        svc = SERVICES.get(port)
        with t.case("%s (%s) answers" % (cmd, svc)):
            expect(svc is not None, "no service for port %s" % port)
            argv = cmd.split()
            argv[-1] = "TCP:127.0.0.1:%d" % d.addr(svc).port
            sent = b"" if svc == "daytime" else b"hello porter\n"
            p = subprocess.run(argv, input=sent, capture_output=True,
                               timeout=IO_TIMEOUT * 2)
            expect_eq(p.returncode, 0, "socat status (stderr %r)"
                      % p.stderr)
            if svc == "daytime":
                expect(re.search(rb"\d\d:\d\d:\d\d", p.stdout),
                       "no time of day in %r" % p.stdout)
            else:
                expect_eq(p.stdout, sent, "echoed")
    with t.case("SIGTERM exits 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
