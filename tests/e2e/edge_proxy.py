#!/usr/bin/env python3
"""edge_proxy -- the PROXY protocol receiver, behind a real HAProxy.

HAProxy (Debian's haproxy) listens on two loopback ports and forwards to
porterd with send-proxy (v1) and send-proxy-v2.

Asserts: through HAProxy, the ctxdump plugin's peer is the client's own
address and port (v1 and v2), and an exec'd program's TCPREMOTEIP and
TCPREMOTEPORT are too; a hand-made v2 header with an authority TLV gives
PROXY_AUTHORITY to the program and the real source (an address no socket
here has) in TCPREMOTEIP, and the log line names it; a v1 TCP6 line
gives an IPv6 peer and local address; a v2 LOCAL header and a v1
"PROXY UNKNOWN" line keep the connection's own peer; a v2 header of
family UNIX (216 bytes of paths) keeps it too, for the plugin, the
program (TCP, not IPC) and the access list, while its TLVs still reach
the program; the access list
judges the real client (a denied source is refused after its header);
max-per-source = 1 counts the client each header names: a second
connection claiming a held client is refused (and so is a third: a
refusal frees no slot), another client is served, and the first one's
client is served again once it has closed;
a connection without a header, a malformed one and one from a peer not in
proxy-from are closed and refused; a slow header is cut after
proxy-timeout while another client is served meanwhile.  porterctl
counts the header refusals under "proxy-tls", never as accepted or
active: accepted == finished and active == 0 once all are done.
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Skip, V2SIG, connect, conf_opts,  # noqa
                        conf_service, expect, expect_eq, main,
                        porterctl_service, recv_all, recv_exact, v2_header,
                        v2_unix)

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ask(addr, header=b"", data=b"", half_close=True):
    """Connects (to porterd or HAProxy), sends header+data, half-closes
    (not through HAProxy, which may abort a server connection it has not
    finished opening); returns (our own (host, port), everything read)."""
    s = connect(addr) if not isinstance(addr, tuple) else \
        socket.create_connection(addr, timeout=10)
    try:
        me = s.getsockname()
        try:
            if header or data:
                s.sendall(header + data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
            got = recv_all(s, 1 << 20)
        except OSError:     # a refused client may see a reset instead
            got = b""
        return me, got.decode("utf-8", "replace")
    finally:
        s.close()


def hold(addr, header):
    """A connection to an echo service past its header: echoes b"held"
    back, so the handler has it; stays open."""
    s = connect(addr)
    try:
        s.sendall(header + b"held")
        expect_eq(recv_exact(s, 4), b"held", "echo of a held connection")
    except BaseException:
        s.close()
        raise
    return s


def kv(text, key):
    for line in text.splitlines():
        if line.startswith(key + "="):
            return line[len(key) + 1:]
    return None


def scenario(t):
    if not os.path.exists(HAPROXY):
        raise Skip("haproxy is not installed")
    tmp = t.trusted_tmpdir()
    plugins = t.plugindir(["ctxdump", "echo"], tmp)
    user = {"user": "nobody"} if os.geteuid() == 0 else {}
    sock = os.path.join(tmp, "control")
    conf = conf_opts(shutdown_timeout=5, control_socket=sock)
    conf += conf_service("ctx", listen=["127.0.0.1:0"], plugin="ctxdump",
                         proxy_protocol="any", proxy_from=["127.0.0.0/8"],
                         proxy_timeout=1)
    conf += conf_service("env", listen=["127.0.0.1:0"], exec_="/usr/bin/env",
                         proxy_protocol="v2", proxy_from=["127.0.0.1"],
                         deny=["198.51.100.0/24"], **user)
    conf += conf_service("far", listen=["127.0.0.1:0"], plugin="ctxdump",
                         proxy_protocol="v1", proxy_from=["10.0.0.0/8"])
    conf += conf_service("lan", listen=["127.0.0.1:0"], plugin="ctxdump",
                         proxy_protocol="v2", proxy_from=["127.0.0.1"],
                         allow=["192.0.2.0/24"])
    conf += conf_service("one", listen=["127.0.0.1:0"], plugin="echo",
                         proxy_protocol="any", proxy_from=["127.0.0.1"],
                         max_per_source=1)
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)
    d.wait_ready()

    p1, p2, p3 = free_port(), free_port(), free_port()
    ctx, env = d.addr("ctx"), d.addr("env")
    hcfg = t.write(os.path.join(tmp, "haproxy.cfg"), """
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend v1
    bind 127.0.0.1:%d
    default_backend v1
backend v1
    server porterd %s send-proxy
frontend v2
    bind 127.0.0.1:%d
    default_backend v2
backend v2
    server porterd %s send-proxy-v2
frontend v2env
    bind 127.0.0.1:%d
    default_backend v2env
backend v2env
    server porterd %s send-proxy-v2
""" % (p1, ctx.text, p2, ctx.text, p3, env.text))
    hp = subprocess.Popen([HAPROXY, "-db", "-f", hcfg],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", p3), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline or hp.poll() is not None:
                    raise Skip("haproxy did not start: %r" %
                               (hp.stdout.read() if hp.poll() is not None
                                else "timeout"))
                time.sleep(0.1)

        for name, port in (("send-proxy (v1)", p1),
                           ("send-proxy-v2", p2)):
            with t.case("HAProxy %s: the plugin sees the client" % name):
                me, text = ask(("127.0.0.1", port), half_close=False)
                expect_eq(kv(text, "peer"), "%s:%d" % me, "ctx->peer")

        with t.case("HAProxy send-proxy-v2: exec sees the client"):
            me, text = ask(("127.0.0.1", p3), half_close=False)
            expect_eq((kv(text, "TCPREMOTEIP"), kv(text, "TCPREMOTEPORT")),
                      (me[0], str(me[1])), "TCPREMOTEIP/PORT")
    finally:
        hp.terminate()
        hp.wait(10)

    with t.case("v2 TLV: PROXY_AUTHORITY; the real source everywhere"):
        mark = d.mark()
        tlv = b"\x02" + struct.pack("!H", 11) + b"example.org"
        _, text = ask(env, v2_header("192.0.2.44", 4444, "192.0.2.1", 443,
                                     tlv))
        expect_eq(kv(text, "PROXY_AUTHORITY"), "example.org", "authority")
        expect_eq((kv(text, "TCPREMOTEIP"), kv(text, "TCPREMOTEPORT")),
                  ("192.0.2.44", "4444"), "TCPREMOTEIP/PORT")
        expect_eq((kv(text, "TCPLOCALIP"), kv(text, "TCPLOCALPORT")),
                  ("192.0.2.1", "443"), "TCPLOCALIP/PORT")
        d.wait_line(r"^service env: 192\.0\.2\.44:4444: exec /usr/bin/env",
                    since=mark)

    with t.case("v1 TCP6: an IPv6 client on an IPv4 listener"):
        _, text = ask(ctx, b"PROXY TCP6 2001:db8::5 2001:db8::1 4000 443\r\n")
        expect_eq(kv(text, "peer"), "[2001:db8::5]:4000", "ctx->peer")
        expect_eq(kv(text, "local"), "[2001:db8::1]:443", "ctx->local")

    with t.case("v2 LOCAL keeps the connection's own peer"):
        me, text = ask(ctx, V2SIG + bytes([0x20, 0x00, 0, 0]))
        expect_eq(kv(text, "peer"), "%s:%d" % me, "ctx->peer")

    with t.case("v1 PROXY UNKNOWN keeps the connection's own peer"):
        me, text = ask(ctx, b"PROXY UNKNOWN\r\n")
        expect_eq(kv(text, "peer"), "%s:%d" % me, "ctx->peer")
        expect_eq(kv(text, "local"), ctx.text, "ctx->local")

    with t.case("v2 UNIX: the plugin keeps the connection's own peer"):
        me, text = ask(ctx, v2_unix(b"/run/client.sock", b"/run/lb.sock"))
        expect_eq(kv(text, "peer"), "%s:%d" % me, "ctx->peer")
        expect_eq(kv(text, "local"), ctx.text, "ctx->local")
        me, text = ask(ctx, v2_unix(b"\0abstract", b""))
        expect_eq(kv(text, "peer"), "%s:%d" % me, "ctx->peer (abstract)")

    with t.case("v2 UNIX: the program gets TCP and the balancer, and TLVs"):
        tlv = b"\x02" + struct.pack("!H", 11) + b"example.org"
        me, text = ask(env, v2_unix(b"/run/client.sock", b"/run/lb.sock",
                                    tlv))
        expect_eq(kv(text, "PROTO"), "TCP", "PROTO")
        expect_eq((kv(text, "TCPREMOTEIP"), kv(text, "TCPREMOTEPORT")),
                  (me[0], str(me[1])), "TCPREMOTEIP/PORT")
        expect_eq(kv(text, "IPCREMOTEEUID"), None, "IPCREMOTEEUID")
        expect_eq(kv(text, "PROXY_AUTHORITY"), "example.org", "authority")

    with t.case("v2 UNIX: the access list judges the balancer"):
        lan = d.addr("lan")
        _, text = ask(lan, v2_header("192.0.2.5", 5, "192.0.2.1", 7))
        expect_eq(kv(text, "peer"), "192.0.2.5:5", "an allowed client")
        mark = d.mark()
        me, text = ask(lan, v2_unix(b"/run/client.sock", b"/run/lb.sock"))
        expect_eq(text, "", "output for a UNIX client")
        d.wait_line(r"^service lan: refused 127\.0\.0\.1:%d: denied by "
                    r"access list$" % me[1], since=mark)

    with t.case("max-per-source counts the client each header names"):
        one = d.addr("one")
        mark = d.mark()
        held = hold(one, v2_header("192.0.2.9", 1000, "192.0.2.1", 7))
        try:
            for port in (1001, 1002):   # the refusal frees no slot
                _, text = ask(one, v2_header("192.0.2.9", port, "192.0.2.1",
                                             7), b"again")
                expect_eq(text, "", "a second connection of 192.0.2.9")
            d.wait_line(r"^service one: refused 192\.0\.2\.9:1001: "
                        r"per-source limit \(1\) reached$", since=mark)
            deadline = time.monotonic() + 10
            while porterctl_service(sock, "one")["refused"]["per-source"] < 2 and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
            expect_eq(porterctl_service(sock, "one")["refused"]["per-source"], 2,
                      "per-source refusals")
            _, text = ask(one, v2_header("192.0.2.10", 1000, "192.0.2.1", 7),
                          b"other")
            expect_eq(text, "other", "another client meanwhile")
            held.sendall(b" still")
            expect_eq(recv_exact(held, 6), b" still", "the held client")
        finally:
            held.close()
        deadline = time.monotonic() + 10
        while True:     # its slot comes back once porterd saw the close
            _, text = ask(one, v2_header("192.0.2.9", 1003, "192.0.2.1", 7),
                          b"back")
            if text or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        expect_eq(text, "back", "192.0.2.9 after its connection closed")

    with t.case("the access list judges the real client"):
        mark = d.mark()
        _, text = ask(env, v2_header("198.51.100.7", 1, "192.0.2.1", 443))
        expect_eq(text, "", "a denied client's output")
        d.wait_line(r"^service env: refused 198\.51\.100\.7:1: denied by "
                    r"access list$", since=mark)

    with t.case("a peer not in proxy-from is refused at accept"):
        mark = d.mark()
        _, text = ask(d.addr("far"), b"PROXY TCP4 10.1.1.1 10.2.2.2 1 2\r\n")
        expect_eq(text, "", "output")
        d.wait_line(r"^service far: refused 127\.0\.0\.1:\d+: not in "
                    r"proxy-from", since=mark)

    for what, hdr in (("no header", b"hello there\r\n"),
                      ("a malformed v1 line",
                       b"PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n"),
                      ("a truncated header", b"PROXY TCP4 1.2.3.4")):
        with t.case("%s: closed, nothing reaches the handler" % what):
            _, text = ask(ctx, hdr)
            expect_eq(text, "", "output")

    with t.case("header refusals: counted as proxy-tls, never active"):
        deadline = time.monotonic() + 10
        while True:
            s = porterctl_service(sock, "ctx")
            if s["active"] == 0 and s["live"] == 0 or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.05)
        expect_eq(s["refused"]["proxy-tls"], 3, "proxy-tls refusals")
        expect_eq(s["active"], 0, "active")
        expect_eq(s["accepted"], s["finished"], "accepted vs finished")

    with t.case("a slow header is cut after proxy-timeout; others served"):
        mark = d.mark()
        slow = connect(ctx)
        slow.sendall(b"PROXY TCP4 ")
        t0 = time.monotonic()
        me, text = ask(ctx, b"PROXY TCP4 192.0.2.5 192.0.2.1 55 7\r\n")
        expect_eq(kv(text, "peer"), "192.0.2.5:55", "peer meanwhile")
        expect(time.monotonic() - t0 < 0.9, "served only after the slow one")
        slow.settimeout(10)
        expect_eq(slow.recv(100), b"", "slow client closed")
        slow.close()
        expect(d.find(r"^service ctx: refused .*PROXY header: not complete "
                      r"within 1 s", since=mark) or
               d.wait_line(r"refused \d+ more connections", since=mark,
                           timeout=15),
               "refusal logged")

    with t.case("SIGTERM: exit 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
