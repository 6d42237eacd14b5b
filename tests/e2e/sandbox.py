#!/usr/bin/env python3
"""sandbox -- per-service confinement of exec'd programs and isolated
plugins (issue 15), checked from the handler's own side.

Asserts, each through a real porterd and a real client: a script under
rlimit-nofile/rlimit-fsize/rlimit-core, umask, nice, working-directory and
no-new-privileges reports those limits, its umask, niceness and cwd, and
NoNewPrivs: 1; under seccomp = basic-exec it reports Seccomp: 2; a write
outside its Landlock paths fails with "Permission denied" and leaves no
file while one inside them succeeds; a denied system call (syscall-deny =
uname) kills the handler, no line after it runs, and porterd's log names
the call; the listeners porterd holds to hear of such calls are closed
once their handlers end; with seccomp-action = errno the call fails with
EPERM instead and the script goes on; under chroot the jail is the root; private-tmp
hides the host's /tmp and what the handler writes there stays private;
network = none leaves only the loopback interface; an isolated echo
plugin under seccomp = io-only still echoes, and sees 0, 1 and 2 on
/dev/null; an in-process plugin with a sandbox option is refused with
file:line.

Exec services with Landlock or seccomp are started by a launcher per
service (pool.h), which applied the sandbox once: the program's parent is
that launcher, the same for every connection, itself under the filter
and no_new_privs but without the programs' rlimit-cpu; a denied call
kills the handler, not the launcher, even when made from a session of
its own below the program; a program that leaves a process in
its group keeps its connection until that process ends; a launcher that
dies leaves its running program serving, porterd logs that program's
end, and the next connection starts a new launcher; a connection cut by
max-lifetime while its launcher was stopped has its program killed as
soon as it starts; a program the launcher cannot start (RLIMIT_NPROC)
is logged "could not be started" and its max-connections slot freed.
A burst of 600 connections to a stopped launcher, more than its socket
holds, waits in porterd and is served in full once it resumes.
A service that denies a call the launcher needs (kill) gets no launcher:
each handler loads its filter and hands its own listener to porterd,
which closes them once their handlers end.
"""
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (TIMEOUT_SCALE, connect, conf_opts,  # noqa
                        conf_service, echo_roundtrip, expect, expect_eq,
                        main, proc_children_titled, recv_all, run_porterd)

STATUS_SH = """#!/bin/sh
grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status
echo "ppid=$PPID"
echo "cpu=$(ulimit -t)"
echo "nofile=$(ulimit -n)"
grep -E '^Max file size' /proc/self/limits | tr -s ' ' '\\n' | sed -n 4p | sed 's/^/fsize=/'
echo "core=$(ulimit -c)"
echo "umask=$(umask)"
echo "pwd=$(pwd)"
echo "nice=$(cut -d' ' -f19 /proc/self/stat)"
echo end
"""

LANDLOCK_SH = """#!/bin/sh
touch "$INSIDE" && echo inside=ok
touch "$OUTSIDE" 2>&1
echo end
"""

DENY_SH = """#!/bin/sh
echo before
uname
echo after
"""

ERRNO_SH = """#!/bin/sh
uname 2>&1 || echo uname-failed
echo end
"""

JAIL_SH = """#!/bin/sh
test -e /PORTER_JAIL_MARKER && echo in-jail
cd /.. && echo "root=$(pwd)"
echo end
"""

DENY_SESSION_SH = """#!/bin/sh
echo before
setsid uname
echo after
"""

SLOW_SH = """#!/bin/sh
echo up
exec sleep 30
"""

WAIT_SH = """#!/bin/sh
echo "ppid=$PPID"
read line
echo "got $line"
"""

LINGER_SH = """#!/bin/sh
sleep 1 &
echo started
"""

TMP_SH = """test -e "$HOSTFILE" && echo host-tmp-visible || echo host-tmp-hidden
echo private > /tmp/porter-e2e-private-tmp
cat /tmp/porter-e2e-private-tmp
echo "ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ,)"
echo end
"""


def talk(addr):
    s = connect(addr)
    try:
        return recv_all(s).decode("utf-8", "replace")
    finally:
        s.close()


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f
                    if ":\t" in line)


BURST = 600


def burst(t, d):
    m = d.mark()
    talk(d.addr("burst"))       # the launcher runs
    d.wait_line(r"^service burst: .*exec /bin/echo pid \d+: exit 0", m)
    launcher = proc_children_titled(d.pid, "porterd: burst launcher")
    expect_eq(len(launcher), 1, "burst's launcher")
    m = d.mark()
    os.kill(launcher[0], signal.SIGSTOP)
    socks = []
    try:
        for _ in range(BURST):
            socks.append(connect(d.addr("burst")))
        # Every one accepted and handed on (or queued) by porterd.
        deadline = time.monotonic() + 10 * TIMEOUT_SCALE
        while time.monotonic() < deadline:
            with open("/proc/%d/net/tcp" % d.pid) as f:
                est = sum(1 for ln in f if ln.split()[3] == "01")
            if est >= 2 * BURST:
                break
            time.sleep(0.1)
    finally:
        os.kill(launcher[0], signal.SIGCONT)
    got = 0
    try:
        for s in socks:
            if recv_all(s) == b"burst\n":
                got += 1
    finally:
        for s in socks:
            s.close()
    expect_eq(got, BURST, "answers")
    deadline = time.monotonic() + 20 * TIMEOUT_SCALE
    while (len(d.find(r"^service burst: .*exec /bin/echo pid \d+: exit 0",
                      m)) < BURST and time.monotonic() < deadline):
        time.sleep(0.1)
    expect_eq(len(d.find(r"^service burst: .*exec /bin/echo pid \d+: "
                         r"exit 0", m)), BURST, "exit 0 lines")
    expect_eq(d.find(r"could not be started", m), [], "lost connections")


def failed_launch(t, tmp):
    """A launcher running as nobody under RLIMIT_NPROC = 1 cannot clone:
    every connection is "could not be started", and none keeps its slot
    (max-connections = 2: a third would wait in the backlog for ever)."""
    conf = conf_opts(shutdown_timeout=3, user="root")
    conf += conf_service("nproc", listen=["127.0.0.1:0"], exec_="/bin/true",
                         user="nobody", seccomp="basic-exec",
                         max_connections=2)
    path = t.write(os.path.join(tmp, "nproc.conf"), conf)
    old = resource.getrlimit(resource.RLIMIT_NPROC)
    resource.setrlimit(resource.RLIMIT_NPROC, (1, old[1]))
    try:
        d = t.porterd(path)
    finally:
        resource.setrlimit(resource.RLIMIT_NPROC, old)
    d.wait_line(r"^ready: 1 service")
    for _ in range(3):
        talk(d.addr("nproc"))   # porterd closes it: EOF
    deadline = time.monotonic() + 10 * TIMEOUT_SCALE
    while (len(d.find(r"^service nproc: .*could not be started")) < 3 and
           time.monotonic() < deadline):
        time.sleep(0.05)
    expect_eq(len(d.find(r"^service nproc: .*exec /bin/true: could not be "
                         r"started")), 3, "'could not be started' lines")
    d.signal(15)
    expect_eq(d.wait_exit(), 0, "exit status")


def make_jail(root):
    """A directory with /bin/sh and the libraries it needs."""
    sh = os.path.realpath("/bin/sh")
    out = subprocess.run(["ldd", sh], capture_output=True, text=True).stdout
    libs = re.findall(r"(/\S+)", out)
    for f in [sh] + libs:
        dst = root + f
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.realpath(f), dst)
    os.makedirs(root + "/bin", exist_ok=True)
    if not os.path.exists(root + "/bin/sh"):
        shutil.copy2(sh, root + "/bin/sh")
    open(root + "/PORTER_JAIL_MARKER", "w").close()


def scenario(t):
    tmp = t.tmpdir()
    os.chmod(tmp, 0o755)
    w = lambda n, s: t.write(os.path.join(tmp, n), s, 0o755)  # noqa
    status_sh, ll_sh = w("status.sh", STATUS_SH), w("ll.sh", LANDLOCK_SH)
    deny_sh, errno_sh = w("deny.sh", DENY_SH), w("errno.sh", ERRNO_SH)
    wait_sh, linger_sh = w("wait.sh", WAIT_SH), w("linger.sh", LINGER_SH)
    w("deny-session.sh", DENY_SESSION_SH)
    w("slow.sh", SLOW_SH)
    inside, outside = os.path.join(tmp, "in"), os.path.join(tmp, "out")
    os.mkdir(inside)
    os.mkdir(outside)
    jail = os.path.join(tmp, "jail")
    make_jail(jail)
    t.write(os.path.join(jail, "jail.sh"), JAIL_SH, 0o755)
    hostfile = os.path.join("/tmp", "porter-e2e-hostfile-%d" % os.getpid())
    open(hostfile, "w").close()
    try:
        run(t, tmp, status_sh, ll_sh, deny_sh, errno_sh, wait_sh,
            linger_sh, inside, outside, jail, hostfile)
    finally:
        os.unlink(hostfile)


def run(t, tmp, status_sh, ll_sh, deny_sh, errno_sh, wait_sh, linger_sh,
        inside, outside, jail, hostfile):
    lo = ["127.0.0.1:0"]
    plugins = t.plugindir(["echo"], tmp)
    conf = conf_opts(shutdown_timeout=5, user="root")
    conf += conf_service("status", listen=lo, exec_=status_sh,
                         rlimit_cpu=5, rlimit_nofile=64, rlimit_fsize="1M",
                         rlimit_core=0,
                         umask="0027", nice=7, working_directory=tmp,
                         no_new_privileges=True, seccomp="basic-exec")
    sysdirs = [d for d in ("/usr", "/bin", "/lib", "/lib64", "/etc")
               if os.path.exists(d)]
    conf += ("service landlock {\n" + conf_opts(
        "    ", listen=lo, exec_=ll_sh,
        env=["INSIDE=%s/f" % inside, "OUTSIDE=%s/f" % outside]) +
        "    landlock {\n" + conf_opts(
            "        ", read=sysdirs + ["/dev", "/proc"],
            exec_=sysdirs + [ll_sh], write=[inside, "/dev/null"]) +
        "    }\n}\n")
    conf += conf_service("deny", listen=lo, exec_=deny_sh,
                         syscall_deny=["uname"])
    conf += conf_service("errno", listen=lo, exec_=errno_sh,
                         syscall_deny=["uname"], seccomp_action="errno")
    conf += conf_service("jail", listen=lo, exec_="/bin/sh",
                         args=["/jail.sh"], chroot=jail)
    # An inline script: a file under the host's /tmp would be hidden too.
    conf += conf_service("privtmp", listen=lo, exec_="/bin/sh",
                         args=["-c", TMP_SH],
                         env=["HOSTFILE=%s" % hostfile], private_tmp=True,
                         network="none")
    conf += conf_service("wait", listen=lo, exec_=wait_sh,
                         seccomp="basic-exec")
    conf += conf_service("denysess", listen=lo,
                         exec_=os.path.join(tmp, "deny-session.sh"),
                         syscall_deny=["uname"])
    conf += conf_service("slow", listen=lo,
                         exec_=os.path.join(tmp, "slow.sh"),
                         seccomp="basic-exec", max_lifetime=1)
    conf += conf_service("burst", listen=lo, exec_="/bin/echo",
                         args=["burst"], seccomp="basic-exec",
                         max_connections=0, max_per_source=0)
    conf += conf_service("perchild", listen=lo, exec_=status_sh,
                         seccomp="basic-exec", syscall_deny=["kill"])
    conf += conf_service("linger", listen=lo, exec_=linger_sh,
                         seccomp="basic-exec")
    conf += conf_service("echoiso", listen=lo, plugin="echo",
                         isolation="process", seccomp="io-only",
                         rlimit_nofile=32)
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)

    with t.case("ready with 13 services; the Landlock ABI is logged"):
        d.wait_line(r"^ready: 13 services")
        d.wait_line(r"^landlock: (kernel ABI \d+|not available)")

    with t.case("limits, umask, nice, cwd, NoNewPrivs, Seccomp as the "
                "program sees them"):
        out = talk(d.addr("status"))
        for want in ("NoNewPrivs:\t1", "Seccomp:\t2", "nofile=64", "cpu=5",
                     "fsize=1048576", "core=0", "umask=0027", "pwd=%s" % tmp):
            expect(want in out.splitlines(), "%r not in %r" % (want, out))
        m = re.search(r"^nice=(-?\d+)$", out, re.M)
        expect(m and int(m.group(1)) >= 7, "niceness: %r" % out)

    with t.case("one launcher per service starts the programs, "
                "confined itself but without their rlimit-cpu"):
        launchers = proc_children_titled(d.pid,
                                         "porterd: status launcher")
        expect_eq(len(launchers), 1, "status launchers")
        ppids = set()
        for _ in range(3):
            m = re.search(r"^ppid=(\d+)$", talk(d.addr("status")), re.M)
            ppids.add(int(m.group(1)) if m else None)
        expect_eq(ppids, set(launchers), "the programs' parents")
        st = proc_status(launchers[0])
        expect_eq((st.get("NoNewPrivs"), st.get("Seccomp")), ("1", "2"),
                  "the launcher's NoNewPrivs, Seccomp")
        # Its programs inherit its dispositions and mask: all default.
        expect_eq([int(st.get(k, "1"), 16) for k in ("SigBlk", "SigIgn",
                                                      "SigCgt")],
                  [0, 0, 0], "the launcher's SigBlk, SigIgn, SigCgt")
        with open("/proc/%d/limits" % launchers[0]) as f:
            cpu = [ln for ln in f if ln.startswith("Max cpu time")]
        expect(cpu and cpu[0].split()[3] == "unlimited",
               "the launcher's cpu limit: %r" % cpu)

    with t.case("without a launcher, seccomp listeners are closed once "
                "their handlers end"):
        # perchild denies kill, which a launcher needs: each connection
        # hands porterd a listener, collected by the spawner thread and
        # closed by the watcher in batches.  Its descriptors come back
        # down.
        def nfds():
            return len(os.listdir("/proc/%d/fd" % d.pid))
        out = talk(d.addr("perchild"))
        expect("Seccomp:\t2" in out.splitlines(), "output %r" % out)
        expect_eq(proc_children_titled(d.pid, "porterd: perchild launcher"),
                  [], "perchild's launcher")
        base = nfds()
        for _ in range(20):
            talk(d.addr("perchild"))
        deadline = time.monotonic() + 10
        while nfds() > base and time.monotonic() < deadline:
            time.sleep(0.05)
        expect(nfds() <= base, "porterd holds %d descriptors, %d before"
               % (nfds(), base))

    with t.case("landlock: a write outside the paths fails with EACCES"):
        if not d.find(r"^landlock: kernel ABI"):
            t.note("no Landlock in this kernel: skipped")
        else:
            out = talk(d.addr("landlock"))
            expect("inside=ok" in out, "write inside failed: %r" % out)
            expect("Permission denied" in out, "no EACCES: %r" % out)
            expect(not os.path.exists(os.path.join(outside, "f")),
                   "the file outside was written")

    with t.case("a denied system call kills the handler; the log names it"):
        out = talk(d.addr("deny"))
        expect("before" in out and "after" not in out,
               "the script went on: %r" % out)
        d.wait_line(r"^service deny: pid \d+: seccomp: system call uname "
                    r"\(\d+\) denied, killing the handler")
        d.wait_line(r"^service deny: .*killed by signal 9")

    with t.case("the denied call killed the handler, not its launcher"):
        launchers = proc_children_titled(d.pid, "porterd: deny launcher")
        expect_eq(len(launchers), 1, "deny launchers")
        out = talk(d.addr("deny"))
        expect("before" in out and "after" not in out, "output %r" % out)
        expect_eq(proc_children_titled(d.pid, "porterd: deny launcher"),
                  launchers, "the launcher after a second violation")

    with t.case("a denied call from a session below the program kills "
                "the program"):
        out = talk(d.addr("denysess"))
        expect("before" in out and "after" not in out,
               "the script went on: %r" % out)

    with t.case("a connection cut while its launcher was stopped: the "
                "program is killed as soon as it starts"):
        s = connect(d.addr("slow"))
        try:
            expect_eq(s.makefile("rb").readline(), b"up\n", "first run")
        finally:
            s.close()
        launcher = proc_children_titled(d.pid, "porterd: slow launcher")
        expect_eq(len(launcher), 1, "slow's launcher")
        m = d.mark()
        os.kill(launcher[0], signal.SIGSTOP)
        try:
            s = connect(d.addr("slow"))
            d.wait_line(r"^service slow: .*lifetime of 1 s exceeded", m)
        finally:
            os.kill(launcher[0], signal.SIGCONT)
        try:
            d.wait_line(r"^service slow: .*exec .*slow\.sh pid \d+: killed "
                        r"by signal 15", m, timeout=10 * TIMEOUT_SCALE)
        finally:
            s.close()

    with t.case("a burst larger than a stopped launcher's socket waits "
                "in porterd; none is lost"):
        burst(t, d)

    with t.case("a process left in the program's group keeps the "
                "connection until it ends"):
        m = d.mark()
        expect_eq(talk(d.addr("linger")).strip(), "started", "output")
        line = d.wait_line(r"^service linger: .*exec %s pid \d+: exit 0 in "
                           r"([\d.]+)s" % re.escape(linger_sh), m)
        secs = float(line.group(1))
        expect(secs >= 0.9, "the connection ended after %.3f s, before "
               "its group" % secs)

    with t.case("a launcher that dies: its program goes on and is "
                "logged, the next connection starts a new launcher"):
        s = connect(d.addr("wait"))
        try:
            f = s.makefile("rb")
            m0 = re.match(rb"ppid=(\d+)", f.readline())
            old = int(m0.group(1)) if m0 else -1
            expect_eq(proc_children_titled(d.pid,
                                           "porterd: wait launcher"),
                      [old], "the program's parent")
            m = d.mark()
            os.kill(old, 9)
            d.wait_line(r"^service wait: launcher pid %d: exited, its "
                        r"running programs are now porterd's children"
                        % old, m)
            s.sendall(b"hello\n")
            expect_eq(f.readline(), b"got hello\n", "the orphan's answer")
            f.close()
        finally:
            s.close()
        d.wait_line(r"^service wait: .*exec %s pid \d+: exit 0 in"
                    % re.escape(wait_sh), m)
        s = connect(d.addr("wait"))
        try:
            line = s.makefile("rb").readline()
            s.sendall(b"again\n")
        finally:
            s.close()
        new = proc_children_titled(d.pid, "porterd: wait launcher")
        expect(len(new) == 1 and new[0] != old and
               line == b"ppid=%d\n" % new[0],
               "new launcher %r, the program said %r" % (new, line))

    with t.case("seccomp-action = errno: the call fails with EPERM"):
        out = talk(d.addr("errno"))
        expect("uname-failed" in out and "end" in out, "output %r" % out)

    with t.case("chroot: the jail is the root"):
        out = talk(d.addr("jail"))
        expect("in-jail" in out and "root=/" in out.splitlines(),
               "output %r" % out)

    with t.case("private-tmp and network = none"):
        out = talk(d.addr("privtmp"))
        expect("host-tmp-hidden" in out, "host /tmp visible: %r" % out)
        expect("private" in out.splitlines(), "output %r" % out)
        expect(not os.path.exists("/tmp/porter-e2e-private-tmp"),
               "the private file reached the host's /tmp")
        expect("ifaces=lo," in out.splitlines(), "interfaces: %r" % out)

    with t.case("io-only: an isolated echo plugin still echoes"):
        data = os.urandom(5000)
        expect(echo_roundtrip(d.addr("echoiso"), data) == data,
               "echo under io-only failed")
        d.wait_line(r"^service echoiso: .* exit 0 in")

    with t.case("an isolated plugin's child has 0, 1 and 2 on /dev/null"):
        s = connect(d.addr("echoiso"))
        try:
            s.sendall(b"x")
            expect_eq(s.recv(1), b"x", "echo")
            # Any of porterd's threads may have started it.
            kids = proc_children_titled(d.pid, "porterd: echoiso pool")
            expect(len(kids) == 1, "echoiso's pool: %r" % kids)
            fds = [os.readlink("/proc/%d/fd/%d" % (kids[0], i))
                   for i in range(3)]
            expect_eq(fds, ["/dev/null"] * 3, "fds 0-2")
        finally:
            s.close()

    with t.case("a launcher's programs are not pool workers: no crash "
                "loop, no 'died before serving'"):
        expect_eq(d.find(r"died before serving|times in a row|"
                         r"recovered after"), [], "pool failure lines")

    with t.case("porterd still runs; SIGTERM exits 0"):
        expect(d.alive(), "porterd exited")
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")

    with t.case("a program the launcher cannot start is logged and its "
                "slot freed"):
        failed_launch(t, tmp)

    with t.case("an in-process plugin is refused a sandbox option"):
        bad = t.write(os.path.join(tmp, "bad.conf"), conf_service(
            "inproc", listen=lo, plugin="echo", rlimit_nofile=8))
        rc, out, err = run_porterd(["--check", "-f", bad, "-P", plugins])
        expect(rc != 0, "accepted")
        expect("bad.conf:4: service 'inproc': rlimit-nofile applies to "
               "exec services and isolation = process plugins only"
               in err + out, "message: %r" % (err + out))


if __name__ == "__main__":
    main(scenario)
