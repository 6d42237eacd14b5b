#!/usr/bin/env python3
"""socket_perms -- socket-mode, socket-owner and socket-group on a UNIX
socket file, so that the allow-gid example of porterd.conf(5) works as
written.  Needs root (exit 77 otherwise).

A service on a socket file with socket-mode = "0660", socket-group =
"adm" (or "nogroup" where there is no adm) and allow-gid = { that group }:
the file is mode 0660, owner root, that group, as soon as porterd is
ready.  A client running as nobody with that group as its gid is served;
one running as nobody without it cannot even connect (EACCES), since the
socket file's mode shuts it out.  socket-owner = "nobody" makes nobody
the file's owner.  On an internet listener the options are refused
at load with FILE:LINE.
"""
import errno
import grp
import os
import pwd
import re
import socket
import stat
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (IO_TIMEOUT, Skip, conf_opts, conf_service,  # noqa
                        expect, expect_eq, main, run_porterd)

def client_as(path, uid, gid):
    """Connects to path from a forked child running as uid:gid (no
    supplementary groups); returns "got TEXT" (what the server sent) or
    "errno N" (the connect failed)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        out = "errno -1"
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(IO_TIMEOUT)
            try:
                s.connect(path)
                s.shutdown(socket.SHUT_WR)
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                out = "got " + data.decode().strip()
            except OSError as e:
                out = "errno %d" % e.errno
            os.write(w, out.encode())
        finally:
            os._exit(0)
    os.close(w)
    try:
        with os.fdopen(r, "rb") as f:
            return f.read().decode()
    finally:
        os.waitpid(pid, 0)


def scenario(t):
    if os.geteuid() != 0:
        raise Skip("needs root to run clients as other users")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("no user nobody")
    group = "adm"
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        group = "nogroup"
        gid = grp.getgrnam(group).gr_gid
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"])
    sock = os.path.join(tmp, "report.sock")
    owned = os.path.join(tmp, "owned.sock")
    conf = t.write(os.path.join(tmp, "porterd.conf"), conf_opts(
        shutdown_timeout=2) + conf_service(
            "report", listen=[sock], exec_="/bin/echo", args=["report"],
            user="nobody", socket_mode="0660", socket_group=group,
            allow_gid=[group], allow_uid=["root"]) + conf_service(
            "owned", listen=[owned], plugin="echo", socket_mode="0600",
            socket_owner="nobody"))
    d = t.porterd(conf, plugins)
    with t.case("ready"):
        d.wait_line(r"^ready: 2 services")
    with t.case("the socket file is 0660 root:%s" % group):
        st = os.stat(sock)
        expect(stat.S_ISSOCK(st.st_mode), "not a socket")
        expect_eq(oct(stat.S_IMODE(st.st_mode)), oct(0o660), "mode")
        expect_eq((st.st_uid, st.st_gid), (0, gid), "owner and group")
    with t.case("socket-owner: the other file is 0600 nobody"):
        st = os.stat(owned)
        expect_eq(oct(stat.S_IMODE(st.st_mode)), oct(0o600), "mode")
        expect_eq(st.st_uid, nobody.pw_uid, "owner")
    with t.case("a client of group %s (as nobody) is served" % group):
        out = client_as(sock, nobody.pw_uid, gid)
        expect_eq(out, "got report", "client output")
    if gid != nobody.pw_gid:
        with t.case("a client without the group cannot connect"):
            out = client_as(sock, nobody.pw_uid, nobody.pw_gid)
            expect_eq(out, "errno %d" % errno.EACCES, "client output")
    with t.case("SIGTERM: exit 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")

    bad = t.write(os.path.join(tmp, "bad.conf"), conf_service(
        "tcp", listen=["127.0.0.1:0"], plugin="echo", socket_mode="0660"))
    with t.case("socket-mode on an internet listener: refused at load"):
        rc, out, err = run_porterd(["--check", "-P", plugins, "-f", bad])
        expect_eq(rc, 1, "exit status")
        expect(re.search(r"%s:\d+: service 'tcp': socket-mode applies to "
                         r"UNIX socket files, and listen '127\.0\.0\.1:0' "
                         r"is not one" % re.escape(bad), err),
               "stderr: %s" % err[-500:])


if __name__ == "__main__":
    main(scenario)
