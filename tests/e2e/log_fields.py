#!/usr/bin/env python3
"""log_fields -- connection ids, log-peer and the journal's fields.

log-peer = truncate: the connection line shows 127.0.0.0/24 and ends in
", conn N"; a refusal line shows the /24 too; after a reload to
log-peer = none the peer is "-"; an unknown value is refused with
file:line.  Under systemd (stderr is the journal stream, as
$JOURNAL_STREAM says): each connection's entry reaches the journal socket
with MESSAGE, PRIORITY, SYSLOG_IDENTIFIER=porterd, SERVICE, PEER,
CONN_ID (the id of the line and of porterctl connections), DURATION_US,
BYTES_IN/BYTES_OUT for a plugin (isolated in a process too), EXIT_STATUS
for a plugin and a program.  That part
runs porterd in a private mount namespace (unshare -m, root) with a
tmpfs on /run, where this test binds /run/systemd/journal/socket itself:
no journald is needed and the host's /run is not touched.
"""
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (PORTERD, Skip, conf_opts, conf_service,  # noqa
                        connect, echo_roundtrip, expect, expect_eof,
                        expect_eq, main, run_porterd)


def journal_helper(conf, plugins):
    """Runs inside unshare -m: prints one JSON object with the entries."""
    # The tmpfs hides the plugin dir if it is under /run (the harness's
    # trusted dir when the build tree is below /tmp): read it first, then
    # put a copy on the tmpfs (mode 755, so porterd trusts it).
    blobs = {}
    for name in os.listdir(plugins):
        with open(os.path.join(plugins, name), "rb") as f:
            blobs[name] = f.read()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs",
                    "/run"], check=True)
    os.makedirs("/run/systemd/journal")
    plugins = "/run/porter-plugins"
    os.makedirs(plugins, mode=0o755)
    for name, data in blobs.items():
        with open(os.path.join(plugins, name), "wb") as g:
            g.write(data)
        os.chmod(os.path.join(plugins, name), 0o644)
    j = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    j.bind("/run/systemd/journal/socket")
    j.settimeout(10)
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    st = os.fstat(theirs.fileno())
    env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    p = subprocess.Popen([PORTERD, "-n", "-f", conf, "-P", plugins],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=theirs.fileno(), env=env)
    theirs.close()
    lines = []

    def reader():
        buf = b""
        while True:
            d = mine.recv(4096)
            if not d:
                return
            buf += d
            while b"\n" in buf:
                ln, buf = buf.split(b"\n", 1)
                lines.append(ln.decode(errors="replace"))
    threading.Thread(target=reader, daemon=True).start()
    out = {"lines": lines, "entries": []}
    try:
        end = time.monotonic() + 10
        addrs = {}
        while time.monotonic() < end and len(addrs) < 3:
            for ln in lines:
                m = re.search(r"service (\w+): listening on (\S+):(\d+)", ln)
                if m:
                    addrs[m.group(1)] = (m.group(2), int(m.group(3)))
            time.sleep(0.05)
        for name in ("echo", "iso"):
            s = socket.create_connection(addrs[name], timeout=5)
            s.sendall(b"hello\n")
            s.shutdown(socket.SHUT_WR)
            while s.recv(100):
                pass
            s.close()
        s = socket.create_connection(addrs["fail"], timeout=5)
        while s.recv(100):
            pass
        s.close()
        while len(out["entries"]) < 3:
            d = j.recv(65536).decode(errors="replace")
            f = dict(kv.split("=", 1) for kv in d.split("\n") if "=" in kv)
            if "CONN_ID" in f:
                out["entries"].append(f)
    except Exception as e:
        out["error"] = repr(e)
    finally:
        p.terminate()
        p.wait(10)
    print(json.dumps(out))


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"], tmp)

    with t.case("an unknown log-peer is refused with file:line"):
        bad = t.write(os.path.join(tmp, "bad.conf"),
                      conf_opts(log_peer="partial") +
                      conf_service("echo", listen=["127.0.0.1:0"],
                                   plugin="echo"))
        rc, out, err = run_porterd(["--check", "-f", bad, "-P", plugins])
        expect(rc != 0, "exit 0 for log-peer = partial")
        expect("%s:1: unknown log-peer 'partial' (full, truncate or none)"
               % bad in err, "stderr: " + err)

    svcs = (conf_service("echo", listen=["127.0.0.1:0"], plugin="echo") +
            conf_service("denied", listen=["127.0.0.1:0"], plugin="echo",
                         allow=["10.0.0.0/8"]))
    path = t.write(os.path.join(tmp, "porterd.conf"),
                   conf_opts(log_peer="truncate", control_socket="") + svcs)
    d = t.porterd(path, plugins)
    d.wait_ready()
    echo, denied = d.addr("echo"), d.addr("denied")

    with t.case("truncate: the connection line shows 127.0.0.0/24, conn N"):
        mark = d.mark()
        expect_eq(echo_roundtrip(echo, b"hi\n"), b"hi\n", "echo")
        ln = d.wait_line(r"^service echo: 127\.0\.0\.0/24: plugin echo done "
                         r"in [\d.]+s \(in 3 B, out 3 B\), conn \d+$", mark)
        expect("127.0.0.1" not in ln.group(0), "full address in: " +
               ln.group(0))
    with t.case("truncate: refusals show the /24 too"):
        mark = d.mark()
        c = connect(denied)
        expect_eof(c)
        c.close()
        d.wait_line(r"^service denied: refused 127\.0\.0\.0/24: ", mark)
    with t.case("after a reload to none: the peer is '-'"):
        t.write(path, conf_opts(log_peer="none", control_socket="") + svcs)
        mark = d.mark()
        d.signal(1)
        d.wait_line(r"^reloaded: 2 services", mark)
        expect_eq(echo_roundtrip(echo, b"hi\n"), b"hi\n", "echo")
        d.wait_line(r"^service echo: -: plugin echo done .*, conn \d+$",
                    mark)
    d.stop()

    if os.geteuid() != 0:
        raise Skip("the journal part needs root (unshare -m)")
    jconf = t.write(os.path.join(tmp, "journal.conf"), conf_opts(
        log_target="stderr", control_socket="") +
        conf_service("echo", listen=["127.0.0.1:0"], plugin="echo") +
        conf_service("iso", listen=["127.0.0.1:0"], plugin="echo",
                     isolation="process", user="nobody") +
        conf_service("fail", listen=["127.0.0.1:0"], exec_="/bin/false",
                     user="nobody"))
    p = subprocess.run(["unshare", "--mount", "--propagation", "private",
                        sys.executable, os.path.abspath(__file__),
                        "--journal-helper", jconf, plugins],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0 and "unshare" in p.stderr and not p.stdout:
        raise Skip("unshare -m: %s" % p.stderr.strip())
    res = json.loads(p.stdout or "{}")
    t.note("porterd's stderr: %s" % res.get("lines", [])[-4:])
    ents = {e.get("SERVICE"): e for e in res.get("entries", [])}
    with t.case("journal: the echo connection's entry and fields"):
        expect("error" not in res, "helper: %s %s" % (res.get("error"),
                                                      p.stderr[-500:]))
        e = ents.get("echo", {})
        expect_eq(e.get("SYSLOG_IDENTIFIER"), "porterd", "identifier")
        expect_eq(e.get("PRIORITY"), "6", "priority")
        expect(e.get("PEER", "").startswith("127.0.0.1:"), "PEER %r" %
               e.get("PEER"))
        expect_eq((e.get("BYTES_IN"), e.get("BYTES_OUT")), ("6", "6"),
                  "bytes")
        expect_eq(e.get("EXIT_STATUS"), "0", "exit status")
        expect(int(e.get("DURATION_US", "-1")) >= 0, "DURATION_US")
        expect(e.get("MESSAGE", "").endswith(", conn %s" % e.get("CONN_ID")),
               "MESSAGE %r" % e.get("MESSAGE"))
    with t.case("journal: an isolated plugin's bytes and EXIT_STATUS"):
        e = ents.get("iso", {})
        expect_eq((e.get("BYTES_IN"), e.get("BYTES_OUT")), ("6", "6"),
                  "bytes")
        expect_eq(e.get("EXIT_STATUS"), "0", "exit status")
    with t.case("journal: a program's EXIT_STATUS"):
        e = ents.get("fail", {})
        expect_eq(e.get("EXIT_STATUS"), "1", "exit status")
        expect_eq(e.get("PRIORITY"), "4", "priority (warning)")
    with t.case("journal: the entries are not also on stderr"):
        dup = [ln for ln in res.get("lines", []) if ": plugin echo done" in ln]
        expect_eq(dup, [], "stderr copies")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--journal-helper":
        journal_helper(sys.argv[2], sys.argv[3])
    else:
        main(scenario)
