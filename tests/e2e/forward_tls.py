#!/usr/bin/env python3
"""forward_tls -- porterd as a TLS terminator for a plain-text backend:
tls { } ends TLS and the bundled forward plugin relays the plaintext.

Certificates are made with the openssl command; the backends are threads
of this script that echo "ok:" and what they read, one of them after a
PROXY v2 header it parses with its own code.

Asserts: Python's ssl client gets 1 MB echoed byte-exact by the plain
backend, its TCP half-close without close_notify reaching the backend as
EOF and the backend's whole answer and EOF coming back; `openssl
s_client` gets its line echoed; a TLS 1.2 client too (kernel TLS where
the kernel takes it, so that forward splices the TCP socket itself, else
the relay; the log says which); with proxy=v2 the backend learns the TLS
client's address and port and porterd's listening address; behind a
balancer (a PROXY v1 header, then TLS) it learns the header's client
instead, and the log line names that client, the backend and the byte
counts; SIGTERM exits 0.
"""
import os
import shutil
import socket
import ssl
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Backend, Skip, client_ctx, conf_opts,  # noqa
                        conf_service, connect, expect, expect_eq, main,
                        make_pki, s_client_line, tls_no_notify, tls_section)


def tls_service(tmp, name, **kw):
    """conf_service(name, **kw) with porterd's test certificate."""
    return conf_service(name, **kw)[:-2] + tls_section(tmp) + "}\n"


def ask(addr, ctx, data, header=b""):
    """Sends header in clear, then data through TLS; reads the backend's
    "ok:" and the echo of data.  Returns (our own (host, port), the TLS
    version, what it read)."""
    raw = connect(addr)
    try:
        me = raw.getsockname()
        raw.sendall(header)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        s.settimeout(20)
        s.sendall(data)
        out = b""
        while len(out) < len(data) + 3:
            x = s.recv(65536)
            if not x:
                break
            out += x
        return me, s.version(), out
    finally:
        raw.close()


def scenario(t):
    if shutil.which("openssl") is None:
        raise Skip("openssl is not installed")
    tmp = t.trusted_tmpdir()
    make_pki(tmp)
    plugins = t.plugindir(["forward"], tmp)
    plain = Backend(socket.AF_INET, ("127.0.0.1", 0))
    v2 = Backend(socket.AF_INET, ("127.0.0.1", 0), proxy=2)
    for b in (plain, v2):
        b.start()
    plain_at, v2_at = ("%s:%d" % b.addr for b in (plain, v2))

    conf = conf_opts(shutdown_timeout=5, log_level="info")
    conf += tls_service(tmp, "tls", listen=["127.0.0.1:0"],
                        plugin="forward", args=[plain_at])
    conf += tls_service(tmp, "tlsproxy", listen=["127.0.0.1:0"],
                        plugin="forward", args=[v2_at, "proxy=v2"])
    conf += tls_service(tmp, "lb", listen=["127.0.0.1:0"], plugin="forward",
                        args=[v2_at, "proxy=v2"], proxy_protocol="v1",
                        proxy_from=["127.0.0.1"])
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)
    d.wait_ready()
    ca = os.path.join(tmp, "ca.pem")

    with t.case("python ssl: 1 MB echoed by the plain backend, half-close"):
        data = os.urandom(1 << 20)
        got = tls_no_notify(d.addr("tls"), client_ctx(tmp), data, "shut")
        expect_eq(len(got), len(data) + 3, "length of the answer")
        expect(got == b"ok:" + data, "the answer differs")
        expect_eq(plain.errors, [], "backend errors")

    with t.case("openssl s_client: a line echoed by the plain backend"):
        p = s_client_line(d.addr("tls"), ca, "hello backend")
        expect(p.stdout == b"ok:hello backend\n",
               "s_client got %r (stderr %r)" % (p.stdout, p.stderr[-300:]))

    with t.case("TLS 1.2: echoed, by kernel TLS or the relay"):
        ctx = client_ctx(tmp)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        mark = d.mark()
        me, version, got = ask(d.addr("tls"), ctx, b"twelve" * 1000)
        expect_eq((version, got), ("TLSv1.2", b"ok:" + b"twelve" * 1000),
                  "version and answer")
        m = d.wait_line(r"^service tls: 127\.0\.0\.1:%d: TLSv1\.2 \S+, "
                        r"(relay|kernel TLS)$" % me[1], since=mark)
        t.note("TLS 1.2 to forward carried by: %s" % m.group(1))

    with t.case("proxy=v2: the backend learns the TLS client"):
        a = d.addr("tlsproxy")
        me, _, got = ask(a, client_ctx(tmp), b"who am i")
        expect_eq(got, b"ok:who am i", "answer")
        expect_eq(v2.errors, [], "backend errors")
        expect_eq(v2.headers[-1], {"v": 2, "vercmd": 0x21, "fam": 0x11,
                                   "src": me, "dst": (a.host, a.port)},
                  "the backend's PROXY header")

    with t.case("PROXY v1, then TLS: the backend learns the header's "
                "client"):
        _, _, got = ask(d.addr("lb"), client_ctx(tmp), b"behind a balancer",
                        b"PROXY TCP4 192.0.2.77 192.0.2.1 7777 443\r\n")
        expect_eq(got, b"ok:behind a balancer", "answer")
        expect_eq(v2.headers[-1], {"v": 2, "vercmd": 0x21, "fam": 0x11,
                                   "src": ("192.0.2.77", 7777),
                                   "dst": ("192.0.2.1", 443)},
                  "the backend's PROXY header")
        d.wait_line(r"^service lb: 192\.0\.2\.77:7777: forwarded to %s: "
                    r"17 bytes in, 20 out$" % v2_at.replace(".", r"\."))

    with t.case("SIGTERM: exit 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")
    for b in (plain, v2):
        b.stop()


if __name__ == "__main__":
    main(scenario)
