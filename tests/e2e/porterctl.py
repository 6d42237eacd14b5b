#!/usr/bin/env python3
"""porterctl -- every porterctl command and error against a real porterd.

porterd serves echo (thread), discard, fail (exec /bin/false as nobody)
and denied (echo, allow 10.0.0.0/8 only) with a control socket in a temp
dir, group nogroup.  Asserts, driving tools/porterctl:
status (exit 0, version, config, counts); services --json counts exactly
the connections made (N echo round trips -> accepted N, bytes 5N each
way; 3 runs of /bin/false -> failures 3, exits {"1": 3}; one client from
127.0.0.1 to `denied` -> refused acl 1); connections SERVICE shows a held
client by its port and the id the log line then carries;
kill-connection ID cuts it; pause leaves a client waiting in the backlog
and resume serves it; drain with a live connection times out (exit 4),
then reports drained (exit 0); reload of a good file exits 0, of a bad
one exits 1 with porterd's file:line and the old services stay;
nobody (in nogroup) may read but not reload (exit 1, permission denied);
32 clients of nobody's take 24 slots and are refused the rest, and root's
reload still gets through;
unknown service exits 1, bad usage 2, no socket 3.
The socket itself: a malformed line is answered and the connection goes
on; an oversized request is answered and closed; a client that stalls
mid-request is cut after the 5 s deadline, and porterctl works
meanwhile.
"""
import grp
import json
import os
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Skip, TOP_BUILDDIR, conf_opts, conf_service,  # noqa
                        connect, echo_roundtrip, expect, expect_eq,
                        expect_eof, main, recv_exact, IO_TIMEOUT,
                        WAIT_TIMEOUT)

PORTERCTL = os.path.join(TOP_BUILDDIR, "tools", "porterctl")


def ctl(sock, *args, user=None, timeout=WAIT_TIMEOUT):
    """(exit code, stdout, stderr) of porterctl -s sock args..."""
    cmd = [PORTERCTL, "-s", sock] + list(args)
    if user:
        cmd = ["setpriv", "--reuid=%s" % user, "--regid=nogroup",
               "--clear-groups", "--"] + cmd
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout + 30, text=True)
    return p.returncode, p.stdout, p.stderr


def ctl_json(sock, *args):
    rc, out, err = ctl(sock, "--json", *args)
    expect(rc == 0, "porterctl --json %s: exit %d: %s" % (args, rc, err))
    return json.loads(out)


def service(sock, name):
    for s in ctl_json(sock, "services")["services"]:
        if s["name"] == name:
            return s
    raise AssertionError("no service %s in porterctl services" % name)


def wait_for(pred, what, timeout=WAIT_TIMEOUT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


# Run as nobody: opens 32 control clients that send nothing, prints
# "held N refused M" (M answered "too many"), waits for stdin's EOF.
HOLDER = r'''
import select, socket, sys, time
socks = []
for i in range(32):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    socks.append(s)
refused = set()
end = time.monotonic() + 1.0
while time.monotonic() < end:
    r, _, _ = select.select([s for s in socks if s not in refused], [], [],
                            max(0, end - time.monotonic()))
    for s in r:
        if b"too many" in s.recv(200):
            refused.add(s)
print("held %d refused %d" % (32 - len(refused), len(refused)), flush=True)
sys.stdin.read()
'''


def raw(sock_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(IO_TIMEOUT + 5)
    s.connect(sock_path)
    return s


def read_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            break
        buf += c
    return buf


def expect_closed(s):
    """EOF, or a reset: porterd closed with our excess bytes unread."""
    try:
        got = s.recv(1)
    except ConnectionResetError:
        got = b""
    expect_eq(got, b"", "EOF after the answer")


def scenario(t):
    if not os.access(PORTERCTL, os.X_OK):
        raise Skip("tools/porterctl not built")
    try:
        grp.getgrnam("nogroup")
    except KeyError:
        raise Skip("no group 'nogroup'")
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo", "discard"], tmp)
    sock = os.path.join(tmp, "control")
    # Two event loops: connections and counters span both.
    head = conf_opts(control_socket=sock, control_group="nogroup",
                     max_per_source=0, threads=2)
    svcs = (conf_service("echo", listen=["127.0.0.1:0"], plugin="echo") +
            conf_service("discard", listen=["127.0.0.1:0"],
                         plugin="discard") +
            conf_service("fail", listen=["127.0.0.1:0"], exec_="/bin/false",
                         user="nobody") +
            conf_service("denied", listen=["127.0.0.1:0"], plugin="echo",
                         allow=["10.0.0.0/8"]))
    path = t.write(os.path.join(tmp, "porterd.conf"), head + svcs)
    d = t.porterd(path, plugins)
    d.wait_line(r"^ready: 4 services")
    echo, fail, denied = d.addr("echo"), d.addr("fail"), d.addr("denied")

    with t.case("the socket is 0660, group nogroup"):
        st = os.stat(sock)
        expect_eq(st.st_mode & 0o777, 0o660, "mode")
        expect_eq(st.st_gid, grp.getgrnam("nogroup").gr_gid, "group")

    with t.case("status: exit 0, version, config file, 4 services"):
        rc, out, err = ctl(sock, "status")
        expect_eq(rc, 0, "exit code (%s)" % err)
        t.note("status:\n" + out)
        expect(out.startswith("porterd "), "first line: " + out)
        expect("config       %s, loaded" % path in out, "config line")
        expect("services     4" in out, "services line")
        expect("process      2 event loops, " in out, "process line")
        expect("last reload  none" in out, "last reload line")

    N = 7
    with t.case("services counts exactly: %d echo runs, 5 B each way" % N):
        for i in range(N):
            expect_eq(echo_roundtrip(echo, b"ping\n"), b"ping\n", "echo")
        wait_for(lambda: service(sock, "echo")["finished"] == N,
                 "%d finished echo runs" % N)
        s = service(sock, "echo")
        expect_eq(s["accepted"], N, "accepted")
        expect_eq(s["bytes_in"], 5 * N, "bytes_in")
        expect_eq(s["bytes_out"], 5 * N, "bytes_out")
        expect_eq(s["failures"], 0, "failures")
        expect_eq(s["exits"], {"0": N}, "exits")
        expect_eq(s["duration"]["count"], N, "histogram count")
        expect_eq(s["duration"]["buckets"][-1], ["+Inf", N], "+Inf bucket")
        expect_eq(s["state"], "serving", "state")
        expect_eq(s["listeners"], [echo.text], "listeners")
        expect_eq(s["unbound"], [], "unbound")

    with t.case("exec failures: 3 runs of /bin/false -> failures 3"):
        for i in range(3):
            c = connect(fail)
            expect_eof(c)
            c.close()
        wait_for(lambda: service(sock, "fail")["finished"] == 3,
                 "3 finished runs of fail")
        s = service(sock, "fail")
        expect_eq(s["failures"], 3, "failures")
        expect_eq(s["exits"], {"1": 3}, "exits")
        expect_eq(s["kind"], "exec", "kind")

    with t.case("a refused client is counted by reason (acl)"):
        c = connect(denied)
        expect_eof(c)
        c.close()
        wait_for(lambda: service(sock, "denied")["refused"]["acl"] == 1,
                 "refused acl 1")
        expect_eq(service(sock, "denied")["accepted"], 0, "accepted")
        rc, out, err = ctl(sock, "services")
        expect_eq(rc, 0, "exit code")
        t.note("services:\n" + out)
        row = [ln for ln in out.splitlines() if ln.startswith("denied ")]
        expect(row and "acl 1" in row[0], "table row: %s" % row)

    held = connect(echo)
    held.sendall(b"x")
    expect_eq(recv_exact(held, 1), b"x", "held echo")
    cid = None
    with t.case("connections echo: the held client, by its port"):
        port = held.getsockname()[1]
        conns = ctl_json(sock, "connections", "echo")["connections"]
        mine = [c for c in conns if c["peer"].endswith(":%d" % port)]
        expect_eq(len(mine), 1, "rows for port %d in %s" % (port, conns))
        cid = mine[0]["id"]
        # echo is cooperative: a fiber of the event loop that accepted it.
        expect_eq(mine[0]["kind"], "fiber", "kind")
        expect_eq(mine[0]["local"], echo.text, "local")
        expect(mine[0]["bytes_in"] in (None, 1), "bytes_in %r" %
               mine[0]["bytes_in"])
        rc, out, err = ctl(sock, "connections")
        expect(rc == 0 and str(cid) in out, "table has id %s:\n%s" %
               (cid, out))

    with t.case("kill-connection ID cuts it; the log line names the id"):
        mark = d.mark()
        rc, out, err = ctl(sock, "kill-connection", str(cid))
        expect_eq(rc, 0, "exit code (%s)" % err)
        expect_eof(held)
        d.wait_line(r"conn %d killed by porterctl" % cid, mark)
        d.wait_line(r"^service echo: .*plugin echo \w+ in .*, conn %d$" % cid,
                    mark)
    held.close()

    with t.case("kill-connection of an unknown id: exit 1"):
        rc, out, err = ctl(sock, "kill-connection", "999999")
        expect_eq(rc, 1, "exit code")
        expect("no live connection 999999" in err, "stderr: " + err)

    with t.case("pause: clients wait in the backlog; resume serves them"):
        rc, out, err = ctl(sock, "pause", "echo")
        expect_eq(rc, 0, "exit code (%s)" % err)
        expect_eq(service(sock, "echo")["state"], "paused", "state")
        c = connect(echo)
        c.sendall(b"wait\n")
        c.settimeout(0.7)
        try:
            got = c.recv(5)
        except socket.timeout:
            got = None
        expect_eq(got, None, "answer while paused")
        c.settimeout(IO_TIMEOUT)
        rc, out, err = ctl(sock, "resume", "echo")
        expect_eq(rc, 0, "exit code (%s)" % err)
        expect_eq(recv_exact(c, 5), b"wait\n", "echo after resume")
        c.close()
        expect_eq(service(sock, "echo")["state"], "serving", "state")

    with t.case("drain: times out (exit 4) while a client is live"):
        held = connect(echo)
        held.sendall(b"y")
        expect_eq(recv_exact(held, 1), b"y", "held echo")
        rc, out, err = ctl(sock, "drain", "echo", "-t", "1")
        expect_eq(rc, 4, "exit code (%s)" % err)
        expect("still live" in err, "stderr: " + err)
        expect_eq(service(sock, "echo")["state"], "draining", "state")
        held.close()
        rc, out, err = ctl(sock, "drain", "echo")
        expect_eq(rc, 0, "exit code (%s)" % err)
        expect("service echo: drained" in out, "stdout: " + out)
        expect_eq(service(sock, "echo")["state"], "drained", "state")
        ctl(sock, "resume", "echo")
        expect_eq(echo_roundtrip(echo, b"back\n"), b"back\n", "echo")

    with t.case("reload of a good config: exit 0; counters carry over"):
        before = service(sock, "echo")["accepted"]
        rc, out, err = ctl(sock, "reload")
        expect_eq(rc, 0, "exit code (%s)" % err)
        expect_eq(out.strip(), "reloaded", "stdout")
        expect_eq(service(sock, "echo")["accepted"], before, "accepted")

    with t.case("reload of a bad config: exit 1 with file:line; old stays"):
        t.write(path, head + svcs + "bogus-option = 1\n")
        rc, out, err = ctl(sock, "reload")
        expect_eq(rc, 1, "exit code")
        t.note("stderr: " + err)
        nlines = len((head + svcs).splitlines())
        expect("%s:%d: no such option 'bogus-option'" % (path, nlines + 1)
               in err, "stderr: " + err)
        expect_eq(echo_roundtrip(echo, b"still\n"), b"still\n", "echo")
        st = ctl_json(sock, "status")["status"]
        expect_eq(st["last_reload"]["ok"], False, "last reload ok")
        expect_eq(st["reloads"], {"ok": 1, "failed": 1}, "reloads")
        t.write(path, head + svcs)

    with t.case("nobody (group nogroup) may read: status exit 0"):
        rc, out, err = ctl(sock, "status", user="nobody")
        expect_eq(rc, 0, "exit code (%s)" % err)
    with t.case("nobody may not reload: exit 1, permission denied"):
        rc, out, err = ctl(sock, "reload", user="nobody")
        expect_eq(rc, 1, "exit code")
        expect("permission denied: 'reload' needs root" in err,
               "stderr: " + err)

    with t.case("32 clients of the group leave root its 8 slots: reload"):
        # nobody opens 32 connections and sends nothing: porterd serves
        # 24 of them and answers the other 8 "too many"; root's reload
        # still gets through, and nobody's own next client is refused.
        hold = subprocess.Popen(
            ["setpriv", "--reuid=nobody", "--regid=nogroup",
             "--clear-groups", "--", sys.executable, "-c", HOLDER, sock],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            counts = hold.stdout.readline().split()
            expect_eq(counts, ["held", "24", "refused", "8"], "nobody's 32")
            rc, out, err = ctl(sock, "status", user="nobody")
            expect_eq(rc, 1, "nobody's 33rd client (%s)" % err)
            expect("too many control clients" in err, "stderr: " + err)
            rc, out, err = ctl(sock, "reload")
            expect_eq(rc, 0, "root's reload (%s)" % err)
        finally:
            hold.stdin.close()
            hold.wait(WAIT_TIMEOUT)

    with t.case("errors: unknown service 1, usage 2, no socket 3"):
        rc, out, err = ctl(sock, "pause", "nope")
        expect_eq(rc, 1, "pause nope")
        expect("no service 'nope'" in err, "stderr: " + err)
        expect_eq(ctl(sock, "pause")[0], 2, "pause without a service")
        expect_eq(ctl(sock, "frobnicate")[0], 2, "unknown command")
        expect_eq(ctl(sock, "status", "extra")[0], 2, "extra argument")
        expect_eq(ctl(sock, "kill-connection", "x")[0], 2, "bad id")
        expect_eq(ctl(os.path.join(tmp, "none"), "status")[0], 3,
                  "missing socket")

    with t.case("a malformed line is answered; the connection goes on"):
        s = raw(sock)
        s.sendall(b"this is not json\n")
        a = json.loads(read_line(s))
        expect(a["ok"] is False and "malformed JSON" in a["error"],
               "answer %r" % a)
        s.sendall(b'{"command":"status"}\n')
        expect_eq(json.loads(read_line(s))["ok"], True, "next answer")
        s.close()

    with t.case("an oversized request is answered and closed"):
        s = raw(sock)
        try:
            s.sendall(b"{" + b" " * 5000)
        except OSError:
            pass
        a = json.loads(read_line(s))
        expect("longer than 4096" in a["error"], "answer %r" % a)
        expect_closed(s)
        s.close()

    with t.case("a stalled client is cut after 5 s; others are served"):
        s = raw(sock)
        s.sendall(b'{"command":')
        t0 = time.monotonic()
        rc, out, err = ctl(sock, "status")
        expect_eq(rc, 0, "porterctl while a client stalls (%s)" % err)
        a = json.loads(read_line(s))
        waited = time.monotonic() - t0
        expect("too slow" in a["error"], "answer %r" % a)
        expect(4 <= waited <= 8, "cut after %.1f s" % waited)
        expect_closed(s)
        s.close()

    with t.case("stopping porterd removes the socket"):
        d.stop()
        expect(not os.path.exists(sock), "socket still there")


if __name__ == "__main__":
    main(scenario)
