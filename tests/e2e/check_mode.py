#!/usr/bin/env python3
"""check_mode -- the command line that does not serve: --check/-t,
--version/-V, --help/-h, bad options.

Asserts: --check on a good config prints exactly "FILE: OK (N services)"
and exits 0, calls plugin init (refuse_init without "ok" fails the check,
with "ok" passes), and binds nothing: the config's unix socket file is not
created and a TCP port the test itself holds in LISTEN state does not make
it fail; -t is the same; plugin-dir set in the config (no -P) works;
--check on a config with an error exits 1 with "FILE:LINE:" on stderr and
prints no OK; a missing config file exits 1 naming the file; --version
prints "porterd 0.1.0"; --help exits 0 with a usage text; an unknown
option exits non-zero.
"""
import os
import re
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (conf_opts, conf_service, expect, expect_eq,  # noqa
                        main, run_porterd)


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo", "refuse_init"], tmp)
    sock = os.path.join(tmp, "check.sock")
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    port = held.getsockname()[1]
    try:
        good = conf_opts(plugin_dir=plugins)
        good += conf_service("echo", listen=["127.0.0.1:%d" % port, sock],
                             plugin="echo")
        good += conf_service("ok", listen=["127.0.0.1:0"],
                             plugin="refuse_init", args=["ok"])
        good += conf_service("cat", listen=["127.0.0.1:0"],
                             exec_="/bin/cat",
                             user="root")
        conf = t.write(os.path.join(tmp, "good.conf"), good)
        for flag in ("--check", "-t"):
            with t.case("%s on a good config: 'FILE: OK (3 services)', "
                        "exit 0" % flag):
                rc, out, err = run_porterd([flag, "-f", conf])
                expect_eq((rc, out), (0, "%s: OK (3 services)\n" % conf),
                          "status and stdout (stderr: %r)" % err[-500:])
            with t.case("%s binds nothing (no socket file created)" % flag):
                expect(not os.path.exists(sock), "%s was created" % sock)
        with t.case("--check with -P overriding plugin-dir"):
            rc, out, err = run_porterd(["--check", "-f", conf, "-P",
                                        plugins])
            expect_eq(rc, 0, "exit status (stderr: %r)" % err[-500:])
        with t.case("--check with -P naming an empty dir fails"):
            empty = os.path.join(tmp, "empty")
            os.mkdir(empty, 0o755)
            rc, out, err = run_porterd(["--check", "-f", conf, "-P", empty])
            expect_eq(rc, 1, "exit status")
            expect(os.path.join(empty, "echo.so") in err,
                   "stderr does not name %s/echo.so: %r" % (empty, err))
    finally:
        held.close()

    with t.case("--check runs plugin init: refuse_init without 'ok' fails"):
        bad = conf_opts(plugin_dir=plugins) + conf_service(
            "no", listen=["127.0.0.1:0"], plugin="refuse_init",
            args=["nope"])
        path = t.write(os.path.join(tmp, "refuse.conf"), bad)
        rc, out, err = run_porterd(["--check", "-f", path])
        expect_eq(rc, 1, "exit status")
        expect("refused its configuration" in err, "stderr: %r" % err)
        expect("OK" not in out, "stdout: %r" % out)

    with t.case("--check on a config error: exit 1, 'FILE:LINE:' message"):
        text = conf_opts(plugin_dir=plugins) + \
            'service echo {\n    listen = {"127.0.0.1:0"}\n' \
            '    plugin = "echo"\n    no-such-option = 1\n}\n'
        path = t.write(os.path.join(tmp, "bad.conf"), text)
        rc, out, err = run_porterd(["--check", "-f", path])
        expect_eq(rc, 1, "exit status")
        expect(re.search(r"^porterd: %s:\d+: " % re.escape(path), err, re.M),
               "no 'porterd: FILE:LINE: ' line in %r" % err)
        expect("OK" not in out, "stdout: %r" % out)

    with t.case("a missing config file: exit 1, the file named"):
        path = os.path.join(tmp, "absent.conf")
        rc, out, err = run_porterd(["--check", "-f", path])
        expect_eq(rc, 1, "exit status")
        expect(path in err, "stderr does not name the file: %r" % err)

    for flag in ("--version", "-V"):
        with t.case("%s prints 'porterd 0.1.0', exit 0" % flag):
            expect_eq(run_porterd([flag]), (0, "porterd 0.1.0\n", ""),
                      "status, stdout, stderr")
    for flag in ("--help", "-h"):
        with t.case("%s prints a usage text, exit 0" % flag):
            rc, out, err = run_porterd([flag])
            expect_eq(rc, 0, "exit status")
            expect("usage: porterd" in out and "--check" in out,
                   "stdout: %r" % out)
    with t.case("an unknown option exits non-zero with a usage hint"):
        rc, out, err = run_porterd(["--no-such-flag"])
        expect(rc not in (0, None), "exit status %r" % rc)
        expect("usage" in (out + err).lower() or "no-such-flag" in err,
               "output: %r %r" % (out, err))


if __name__ == "__main__":
    main(scenario)
