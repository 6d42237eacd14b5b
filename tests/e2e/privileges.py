#!/usr/bin/env python3
"""privileges -- handlers run as their service's user and inherit nothing
they should not; porterd itself drops to `run-as` after binding.  Needs
root (exit 77 otherwise).

Asserts: exec /usr/bin/id with user = "nobody" prints uid=65534, nobody's
primary gid and exactly nobody's groups (not root's); the same for a
system user that has supplementary groups, if one exists.  An exec'd
/usr/bin/env sees only PATH, the service's env and the connection
variables.  An exec'd shell reading its own /proc/self/status has no
signal blocked or ignored (glibc's reserved 32 and 33 included: make
leaves them ignored) and holds only fds 0-2.  A process-isolated echo
child, seen in /proc while its client is connected, has nobody's
uid/gid/groups, no blocked or ignored signal and none of porterd's
listening sockets.  A plugin file writable by others is refused ("writable
by others").  With run-as = "nobody", a service whose user is nobody, or
an exec service with no user, is refused (a handler of porterd's uid
could signal it); porterd binds a socket in a directory only root may
write to, then runs with Uid and Gid 65534 in /proc/PID/status and
serves that socket.
"""
import grp
import os
import pwd
import re
import shutil
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (INTERNAL_PLUGINS, TIMEOUT_SCALE, Addr,  # noqa
                        Skip, conf_opts, conf_service, connect, expect,
                        expect_eq, main, recv_all, run_porterd)
from hardening_clients import connect_from, echoes, served_from  # noqa

CONN_VARS = {"PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEIP",
             "TCPREMOTEPORT", "REMOTE_ADDR", "REMOTE_PORT"}

# The loop uses builtins only, so that /proc/self is the exec'd shell
# itself; ls inherits its descriptors and adds one for the directory.
STATUS_SCRIPT = """#!/bin/sh
while IFS= read -r line; do
    case "$line" in Sig*) echo "$line";; esac
done < /proc/self/status
ls -l /proc/self/fd
"""


def signals_set(mask):
    """The signal numbers set in a /proc status mask.  All count, glibc's
    reserved 32 and 33 too: a parent (GNU make, for one) may leave those
    ignored, and porterd must reset them as well."""
    bits = int(mask, 16)
    return [n + 1 for n in range(64) if bits >> n & 1]


def output(addr):
    """All a service sends to a client that sends nothing, as text."""
    s = connect(addr)
    try:
        s.shutdown(socket.SHUT_WR)
        return recv_all(s, 65536).decode("utf-8", "replace")
    finally:
        s.close()


def ids_of(user):
    """(uid, gid, set of groups) a process running as user should have."""
    pw = pwd.getpwnam(user)
    return pw.pw_uid, pw.pw_gid, set(os.getgrouplist(user, pw.pw_gid))


def parse_id(text):
    """uid, gid, set of groups from `id` output."""
    m = re.match(r"uid=(\d+)\S* gid=(\d+)\S*(?: groups=(\S+))?", text)
    expect(m, "id printed %r" % text)
    groups = {int(g.split("(")[0]) for g in (m.group(3) or "").split(",")
              if g}
    return int(m.group(1)), int(m.group(2)), groups


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f
                    if ":\t" in line)


def user_with_groups():
    """A non-root user with supplementary groups, or None."""
    for g in grp.getgrall():
        for name in g.gr_mem:
            try:
                pw = pwd.getpwnam(name)
            except KeyError:
                continue
            if pw.pw_uid != 0:
                return name
    return None


def children(pid):
    """Live (not zombie) processes whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % d) as f:
                state, ppid = f.read().rsplit(")", 1)[1].split()[:2]
            if int(ppid) == pid and state != "Z":
                out.append(int(d))
        except (OSError, ValueError, IndexError):
            continue
    return out


def listening_inodes():
    """Socket inodes of every listening TCP socket on the host."""
    res = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                for line in list(f)[1:]:
                    cols = line.split()
                    if cols[3] == "0A":
                        res.add(cols[9])
        except OSError:
            continue
    return res


def exec_services(t, d, users):
    for svc, user in users.items():
        with t.case("exec /usr/bin/id as %s: uid, gid and exactly its "
                    "groups" % user):
            got = parse_id(output(d.addr(svc)))
            t.note("%s: %r" % (svc, got))
            expect_eq(got, ids_of(user), "(uid, gid, groups)")
    with t.case("exec /usr/bin/env: only PATH, the service's env and the "
                "connection variables"):
        env = dict(x.split("=", 1) for x in output(d.addr("env")).split("\n")
                   if "=" in x)
        extra = set(env) - {"PATH", "FOO"} - CONN_VARS
        expect(not extra, "unexpected variables: %s" % sorted(extra))
        expect_eq(env.get("FOO"), "bar", "FOO")
        expect("PATH" in env, "no PATH")
    with t.case("exec'd shell: SigBlk and SigIgn zero, only fds 0-2"):
        out = output(d.addr("status"))
        sig = dict(x.split(":\t") for x in out.split("\n") if ":\t" in x)
        for k in ("SigBlk", "SigIgn"):
            expect(k in sig, "no %s line in %r" % (k, out[:300]))
            expect(not signals_set(sig[k]), "%s %s: signals %s"
                   % (k, sig[k], signals_set(sig[k])))
        fds = dict(re.findall(r" (\d+) -> (.*)", out))
        own = [k for k, v in fds.items() if v.startswith("/proc/")][:1]
        expect_eq(sorted(int(k) for k in fds if k not in own), [0, 1, 2],
                  "open descriptors (besides ls's own)")


def isolated_child(t, d):
    s = connect_from(d.addr("proc"))
    try:
        echoes(s)
        kids = children(d.pid)
        with t.case("process-isolated echo: one child while connected"):
            expect_eq(len(kids), 1, "children of porterd %s" % kids)
        if len(kids) != 1:
            return
        # Pooled (pool.h): porterd's child is the pool's process, and the
        # connection runs in one of its workers.  Check both.
        workers = children(kids[0])
        with t.case("the pool process has one worker, serving"):
            expect_eq(len(workers), 1, "workers %s" % workers)
        if len(workers) != 1:
            return
        check_isolated(t, kids[0], "the pool process")
        check_isolated(t, workers[0], "the worker")
    finally:
        s.close()


def check_isolated(t, pid, what):
    """A process serving (or ready to serve) the isolated service."""
    st = proc_status(pid)
    with t.case("%s runs as nobody with nobody's groups" % what):
        uid, gid, groups = ids_of("nobody")
        expect_eq(st["Uid"].split(), [str(uid)] * 4, "Uid")
        expect_eq(st["Gid"].split(), [str(gid)] * 4, "Gid")
        expect_eq({int(x) for x in st["Groups"].split()}, groups,
                  "Groups")
    # Under valgrind a process that never execs is still run by valgrind,
    # whose kernel signal mask is its own (the mask porterd set is
    # emulated); only the dispositions are the process's.
    under_vg = "valgrind" in os.environ.get("PORTERD_WRAPPER", "")
    with t.case("%s blocks and ignores no signal" % what +
                (" (SigIgn only: valgrind)" if under_vg else "")):
        for k in ("SigIgn",) if under_vg else ("SigBlk", "SigIgn"):
            expect(not signals_set(st[k]), "%s: signals %s"
                   % (k, signals_set(st[k])))
    with t.case("%s holds none of porterd's listening sockets"
                % what):
        fd_dir = "/proc/%d/fd" % pid
        links = [os.readlink(os.path.join(fd_dir, x))
                 for x in os.listdir(fd_dir)]
        socks = {x[8:-1] for x in links if x.startswith("socket:[")}
        leaked = socks & listening_inodes()
        expect(not leaked, "listening sockets: %s" % leaked)


def run_as(t, tmp, plugins):
    nobody = ids_of("nobody")
    root_dir = os.path.join(tmp, "rootonly")
    os.mkdir(root_dir, 0o755)
    sock = os.path.join(root_dir, "echo.sock")
    conf = conf_opts(shutdown_timeout=5, run_as="nobody")
    conf += conf_service("echo", listen=[sock], plugin="echo")
    path = t.write(os.path.join(tmp, "runas.conf"), conf)
    for svc, opts, why in (
            ("id", {"exec_": "/usr/bin/id", "user": "nobody"},
             "user 'nobody' is run-as 'nobody': handlers must not run as "
             "porterd's own uid"),
            ("id", {"exec_": "/usr/bin/id"},
             "needs a user other than run-as 'nobody'")):
        with t.case("run-as nobody: a service that would run as nobody is "
                    "refused (%s)" % why[:24]):
            bad = t.write(os.path.join(tmp, "runas-bad.conf"), conf +
                          conf_service(svc, listen=["127.0.0.1:0"], **opts))
            rc, out, err = run_porterd(["--check", "-P", plugins, "-f",
                                        bad])
            expect_eq(rc, 1, "exit status")
            expect("service 'id': %s" % why in err, "stderr: %s"
                   % err[-500:])
    d = t.porterd(path, plugins)
    with t.case("run-as nobody: ready, bound in a root-only directory"):
        d.wait_line(r"^ready: 1 service")
    with t.case("run-as nobody: /proc/PID/status shows uid, gid and groups "
                "of nobody"):
        deadline = time.monotonic() + 2 * TIMEOUT_SCALE
        while proc_status(d.pid)["Uid"].split()[0] != str(nobody[0]) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        st = proc_status(d.pid)
        t.note("porterd Uid: %s, Gid: %s, Groups: %s"
               % (st["Uid"], st["Gid"], st["Groups"]))
        expect_eq(st["Uid"].split(), [str(nobody[0])] * 4, "Uid")
        expect_eq(st["Gid"].split(), [str(nobody[1])] * 4, "Gid")
        expect_eq({int(x) for x in st["Groups"].split()}, nobody[2],
                  "Groups")
    with t.case("run-as nobody: the socket bound as root is served"):
        served_from(Addr(sock))
    d.stop()


def scenario(t):
    if os.geteuid() != 0:
        raise Skip("needs root to switch users")
    try:
        ids_of("nobody")
    except KeyError:
        raise Skip("no user nobody")
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"], tmp)
    status = t.write(os.path.join(tmp, "status.sh"), STATUS_SCRIPT, 0o755)
    lo = ["127.0.0.1:0"]
    users = {"idnobody": "nobody"}
    other = user_with_groups()
    if other:
        users["idother"] = other
    else:
        t.note("no user with supplementary groups on this system")
    conf = conf_opts(shutdown_timeout=5)
    for svc, user in users.items():
        conf += conf_service(svc, listen=lo, exec_="/usr/bin/id", user=user)
    conf += conf_service("env", listen=lo, exec_="/usr/bin/env",
                         env=["FOO=bar"], user="nobody")
    conf += conf_service("status", listen=lo, exec_=status, user="nobody")
    conf += conf_service("proc", listen=lo, plugin="echo",
                         isolation="process", user="nobody")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)
    with t.case("ready"):
        d.wait_line(r"^ready: %d services" % (len(users) + 3))
    exec_services(t, d, users)
    isolated_child(t, d)
    with t.case("SIGTERM: porterd exits 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")

    with t.case("a plugin file writable by others is refused"):
        world = os.path.join(tmp, "world")
        os.mkdir(world, 0o755)
        shutil.copyfile(os.path.join(INTERNAL_PLUGINS, "echo.so"),
                        os.path.join(world, "echo.so"))
        os.chmod(os.path.join(world, "echo.so"), 0o666)
        bad = t.write(os.path.join(tmp, "world.conf"), conf_opts(
            plugin_dir=world) + conf_service("echo", listen=lo,
                                             plugin="echo"))
        rc, out, err = run_porterd(["-n", "-d", "-f", bad])
        expect_eq(rc, 1, "exit status")
        expect("writable by others" in err, "stderr: %s" % err[-500:])

    run_as(t, tmp, plugins)


if __name__ == "__main__":
    main(scenario)
