"""porter_e2e_edge -- what the scenarios of a connection's edge share (see
porter_e2e.py): certificates made with the openssl command, TLS clients
and config sections, and backends for the forward plugin that read a
PROXY header with code of their own (independent of porterd's).
"""
import os
import select
import socket
import ssl
import struct
import subprocess
import threading
import time

from porter_e2e_base import HarnessError
from porter_e2e_net import V2SIG, connect


# ------------------------------------------------------------------ TLS

def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60)


def issue_cert(d, name, subj, ca, ext):
    """Makes d/name.key (0600) and d/name.pem, a P-256 certificate for
    subj ("/O=.../CN=...") signed by d/ca.pem, with one extension line
    (e.g. "subjectAltName=IP:127.0.0.1"); each call a new serial."""
    p = lambda n: os.path.join(d, n)  # noqa: E731
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", p(name + ".key"), "-out", p(name + ".csr"),
            "-subj", subj)
    os.chmod(p(name + ".key"), 0o600)
    with open(p(name + ".ext"), "w") as f:
        f.write(ext + "\n")
    openssl("x509", "-req", "-in", p(name + ".csr"), "-CA", p(ca + ".pem"),
            "-CAkey", p(ca + ".key"), "-CAcreateserial", "-days", "2",
            "-out", p(name + ".pem"), "-extfile", p(name + ".ext"))


SERVER_EXT = "subjectAltName=DNS:localhost,IP:127.0.0.1"


def make_pki(d):
    """In d: two CAs (ca, other); server (localhost, 127.0.0.1) and client
    (alice) from ca, mallory from other; keys 0600."""
    for ca in ("ca", "other"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                os.path.join(d, ca + ".key"), "-out",
                os.path.join(d, ca + ".pem"), "-days", "2",
                "-subj", "/CN=porter test %s" % ca)
        os.chmod(os.path.join(d, ca + ".key"), 0o600)
    for name, cn, ca, ext in (
            ("server", "localhost", "ca", SERVER_EXT),
            ("client", "alice", "ca", "extendedKeyUsage=clientAuth"),
            ("mallory", "mallory", "other", "extendedKeyUsage=clientAuth")):
        issue_cert(d, name, "/O=Porter/CN=%s" % cn, ca, ext)


def tls_section(d, extra=""):
    """A service's `tls { }` section with d/server.pem and d/server.key,
    then extra (option lines, indented by 8)."""
    return ("    tls {\n        certificate = \"%s\"\n"
            "        key = \"%s\"\n%s    }\n" %
            (os.path.join(d, "server.pem"), os.path.join(d, "server.key"),
             extra))


def client_ctx(d, cert=None, alpn=None):
    """A client context that trusts d/ca.pem, with d/cert.pem if named."""
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
    if cert:
        ctx.load_cert_chain(os.path.join(d, cert + ".pem"),
                            os.path.join(d, cert + ".key"))
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def s_client_line(addr, ca, line, args=""):
    """Runs `openssl s_client` to addr (Addr) trusting ca, quiet, with
    more args; writes line and a newline, and keeps stdin open a second
    (s_client quits at its EOF).  Returns the subprocess.CompletedProcess
    (stdout, stderr: bytes)."""
    return subprocess.run(
        ["sh", "-c", "(echo '%s'; sleep 1) | openssl s_client -connect %s "
         "-CAfile %s -verify_return_error -quiet -no_ign_eof %s"
         % (line, addr.text, ca, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)


def tls_no_notify(addr, ctx, data, how):
    """TLS over memory BIOs, so that the end is ours: sends data while
    reading what comes back, then ends the stream without close_notify:
    how="shut" shuts down TCP writing and reads the answer to its end (the
    server's close_notify or EOF); how="close" closes the socket once the
    data is out and the server's session tickets are read (unread bytes
    would make the close a reset).  Every wait is bounded.  Returns what
    it read."""
    sock = connect(addr)
    inc, outc = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outc, server_hostname="localhost")
    deadline = time.monotonic() + 20
    out, wire, sent, ended = b"", b"", False, False
    sock.setblocking(False)
    try:
        while time.monotonic() < deadline:
            if not sent:
                try:
                    obj.do_handshake()
                    obj.write(data)
                    sent = True
                except ssl.SSLWantReadError:
                    pass
            wire += outc.read()
            if sent and not wire and not ended:
                sock.shutdown(socket.SHUT_WR)   # no close_notify first
                ended = True
            r, w, _ = select.select([sock], [sock] if wire else [], [],
                                    max(0.0, deadline - time.monotonic())
                                    if how == "shut" or not ended else 0.3)
            if how == "close" and ended and not r:
                return out
            if w:
                try:
                    wire = wire[sock.send(wire):]
                except BlockingIOError:
                    pass
            if not r:
                continue
            x = sock.recv(1 << 16)
            if x:
                inc.write(x)
            else:
                inc.write_eof()
            while True:
                try:
                    y = obj.read(1 << 16)
                except ssl.SSLWantReadError:
                    break
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    return out
                if not y:
                    return out      # a ragged EOF
                out += y
            if not x:
                return out
        raise AssertionError("no end within 20 s (%d bytes read)" % len(out))
    finally:
        sock.close()


# ------------------------------------------------------------------ backends

def read_exact(c, n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x:
            raise EOFError("backend: EOF after %d of %d bytes" % (len(b), n))
        b += x
    return b


def read_proxy(c, version):
    """Reads one PROXY header byte-exactly; returns a dict."""
    if version == 1:
        line = b""
        while not line.endswith(b"\r\n"):
            line += read_exact(c, 1)
            if len(line) > 107:
                raise ValueError("v1 line too long")
        f = line[:-2].decode("ascii").split(" ")
        if f[1] == "UNKNOWN":
            return {"v": 1, "proto": "UNKNOWN"}
        return {"v": 1, "proto": f[1], "src": (f[2], int(f[4])),
                "dst": (f[3], int(f[5]))}
    hdr = read_exact(c, 16)
    if hdr[:12] != V2SIG:
        raise ValueError("bad v2 signature %r" % hdr[:12])
    vercmd, fam, ln = hdr[12], hdr[13], struct.unpack("!H", hdr[14:16])[0]
    body = read_exact(c, ln)
    out = {"v": 2, "vercmd": vercmd, "fam": fam}
    if fam == 0x11:
        out["src"] = (socket.inet_ntop(socket.AF_INET, body[0:4]),
                      struct.unpack("!H", body[8:10])[0])
        out["dst"] = (socket.inet_ntop(socket.AF_INET, body[4:8]),
                      struct.unpack("!H", body[10:12])[0])
    return out


class Backend(threading.Thread):
    """Accepts connections; reads a PROXY header if asked; echoes "ok:"
    plus everything until EOF, then closes."""

    def __init__(self, family, where, proxy=0):
        super().__init__(daemon=True)
        self.ls = socket.socket(family, socket.SOCK_STREAM)
        self.ls.bind(where)
        self.ls.listen(16)
        self.ls.settimeout(30)
        self.addr = self.ls.getsockname()
        self.proxy = proxy
        self.headers = []
        self.errors = []

    def run(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            c.settimeout(30)
            try:
                if self.proxy:
                    self.headers.append(read_proxy(c, self.proxy))
                c.sendall(b"ok:")
                while True:
                    x = c.recv(65536)
                    if not x:
                        break
                    c.sendall(x)
            except Exception as e:  # recorded, asserted by the scenario
                self.errors.append(repr(e))
            finally:
                c.close()

    def stop(self):
        self.ls.close()


def unanswering_backend():
    """A loopback TCP listener that takes no new connection: backlog 0,
    its accept queue filled by a connection never accepted, so Linux
    drops the SYNs of the next ones (a connect to it just waits, as to a
    host that does not answer).  Returns (listener, [sockets that fill
    it]); close them all when done."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    held = []
    try:
        for _ in range(8):
            c = socket.socket()
            held.append(c)
            c.setblocking(False)
            try:
                c.connect(ls.getsockname())
            except BlockingIOError:
                pass
            # Loopback handshakes take microseconds: 0.5 s is a drop.
            _, w, _ = select.select([], [c], [], 0.5)
            if not w:
                held.pop().close()
                return ls, held
        raise HarnessError("a listener with backlog 0 took 8 connections")
    except BaseException:
        for c in held:
            c.close()
        ls.close()
        raise
