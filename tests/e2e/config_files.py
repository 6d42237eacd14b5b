#!/usr/bin/env python3
"""config_files -- porterd reads only regular files as its config.

A FIFO that an include pattern matches is refused as "FILE: not a
regular file" without being opened: `porterd -n` exits 1 at once (no
writer ever opens the FIFO, so opening it for reading would block for
good), `porterd --check` reports the same, and a SIGHUP with the FIFO in
place fails the reload ("reload failed: ...; keeping the running
config") while the running services stay served and porterd still
answers the next signal.  An include pattern matching the main file is
reported as an include loop.

Running as root (sshd's StrictModes): a main file writable by its group,
and a drop-in owned by another user, are refused at start and by
--check, each with the reason; the same files are accepted once fixed.
"""
import os
import pwd
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (conf_opts, conf_service, echo_roundtrip,  # noqa
                        expect, expect_eq, main, run_porterd)

ECHO = conf_service("echo", listen=["127.0.0.1:0"], plugin="echo")


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"], tmp)
    confd = os.path.join(tmp, "conf.d")
    os.mkdir(confd, 0o755)
    path = t.write(os.path.join(tmp, "porterd.conf"),
                   conf_opts(shutdown_timeout=5,
                             include=["conf.d/*.conf"]) + ECHO)
    fifo = os.path.join(confd, "fifo.conf")
    want = r"include 'conf\.d/\*\.conf': %s: not a regular file" \
        % re.escape(fifo)

    d = t.porterd(path, plugins)
    with t.case("ready without the FIFO"):
        d.wait_line(r"^ready: 1 service")
    os.mkfifo(fifo, 0o644)

    with t.case("SIGHUP with a FIFO drop-in: reload fails, config kept"):
        mark = d.mark()
        d.signal(1)
        d.wait_line(r"^reload failed: .*%s; keeping the running config"
                    % want, mark)
    with t.case("the running service is still served"):
        echo_roundtrip(d.addr("echo"), b"still here\n")
    with t.case("porterd still answers signals: SIGTERM exits 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")

    with t.case("start with a FIFO drop-in: exit 1, not a regular file"):
        rc, out, err = run_porterd(["-n", "-d", "-P", plugins, "-f", path])
        expect_eq(rc, 1, "exit status")
        expect(re.search(r"%s:\d+: %s" % (re.escape(path), want), err),
               "stderr: %s" % err[-500:])
        expect("ready:" not in err, "it said ready")
    with t.case("--check with a FIFO drop-in reports the same"):
        rc, out, err = run_porterd(["--check", "-P", plugins, "-f", path])
        expect_eq(rc, 1, "exit status")
        expect(re.search(want, err), "stderr: %s" % err[-500:])
        expect("OK" not in out, "stdout says %r" % out)
    with t.case("the FIFO as the main file: not a regular file"):
        rc, out, err = run_porterd(["--check", "-f", fifo])
        expect_eq(rc, 1, "exit status")
        expect("%s: not a regular file" % fifo in err,
               "stderr: %s" % err[-500:])
    os.unlink(fifo)

    with t.case("an include pattern matching the main file is a loop"):
        loop = t.write(os.path.join(tmp, "loop.conf"),
                       conf_opts(include=["*.conf"]) + ECHO)
        rc, out, err = run_porterd(["--check", "-P", plugins, "-f", loop])
        expect_eq(rc, 1, "exit status")
        expect("include '*.conf': %s is the main file (an include loop)"
               % loop in err, "stderr: %s" % err[-500:])

    if os.geteuid() != 0:
        t.note("not root: the ownership and mode checks do not apply")
        return
    rule = "running as root, porterd reads only config files that root " \
        "alone can change"
    with t.case("root: a group-writable main file is refused"):
        os.chmod(path, 0o664)
        for args in (["-n", "-d"], ["--check"]):
            rc, out, err = run_porterd(args + ["-P", plugins, "-f", path])
            expect_eq(rc, 1, "%s exit status" % args[0])
            expect("%s: mode 0664 is writable by its group (%s)"
                   % (path, rule) in err, "stderr: %s" % err[-500:])
            expect("ready:" not in err and "OK" not in out, "accepted")
        os.chmod(path, 0o644)
    with t.case("root: a drop-in owned by another user is refused"):
        other = os.path.join(confd, "other.conf")
        t.write(other, conf_service("daytime", listen=["127.0.0.1:0"],
                                    plugin="echo"))
        nobody = pwd.getpwnam("nobody")
        os.chown(other, nobody.pw_uid, nobody.pw_gid)
        for args in (["-n", "-d"], ["--check"]):
            rc, out, err = run_porterd(args + ["-P", plugins, "-f", path])
            expect_eq(rc, 1, "%s exit status" % args[0])
            expect("%s: owned by uid %d, not root (%s)"
                   % (other, nobody.pw_uid, rule) in err,
                   "stderr: %s" % err[-500:])
        os.chown(other, 0, 0)
    with t.case("root: the same files, root's and 0644, check OK"):
        rc, out, err = run_porterd(["--check", "-P", plugins, "-f", path])
        expect_eq((rc, out), (0, "%s: OK (2 services)\n" % path),
                  "status and output")


if __name__ == "__main__":
    main(scenario)
