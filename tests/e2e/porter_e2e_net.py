"""porter_e2e_net -- addresses as porterd logs them, and clients: connect,
echo round trips, datagram requests, refusal polling.  Every call has a
timeout; only numeric loopback and AF_UNIX addresses are used.
"""
import re
import socket
import struct
import threading
import time

from porter_e2e_base import (Failure, HarnessError, IO_TIMEOUT,
                             TIMEOUT_SCALE, _short, expect)


# ------------------------------------------------------------------ addresses

class Addr:
    """A listening address as porterd logs it, usable with socket calls."""

    def __init__(self, text, kind="stream"):
        self.text = text
        self.kind = kind
        self.socktype = {"stream": socket.SOCK_STREAM,
                         "dgram": socket.SOCK_DGRAM,
                         "seqpacket": socket.SOCK_SEQPACKET}[kind]
        m = re.match(r"^\[([0-9a-fA-F:.]+)\]:(\d+)$", text)
        if m:
            self.family = socket.AF_INET6
            self.host, self.port = m.group(1), int(m.group(2))
            self.sockaddr = (self.host, self.port)
            return
        m = re.match(r"^(\d+\.\d+\.\d+\.\d+):(\d+)$", text)
        if m:
            self.family = socket.AF_INET
            self.host, self.port = m.group(1), int(m.group(2))
            self.sockaddr = (self.host, self.port)
            return
        if text.startswith("/") or text.startswith("@"):
            self.family = socket.AF_UNIX
            self.host, self.port = None, None
            self.sockaddr = "\0" + text[1:] if text[0] == "@" else text
            return
        raise HarnessError("cannot parse address %r" % text)

    def __repr__(self):
        return "%s (%s)" % (self.text, self.kind)


def ipv6_available():
    """True if a socket can be bound to [::1]."""
    if not socket.has_ipv6:
        return False
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
        finally:
            s.close()
        return True
    except OSError:
        return False


# ------------------------------------------------------------------ clients

def connect(addr, timeout=IO_TIMEOUT):
    """A connected socket to addr (Addr), with a timeout on every call."""
    s = socket.socket(addr.family, addr.socktype)
    s.settimeout(timeout)
    try:
        s.connect(addr.sockaddr)
    except BaseException:
        s.close()
        raise
    return s


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(65536, n - len(buf)))
        if not chunk:
            raise Failure("EOF after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def recv_all(s, limit=16 << 20):
    """Everything until EOF (Failure past limit bytes)."""
    buf = bytearray()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return bytes(buf)
        buf += chunk
        expect(len(buf) <= limit, "more than %d bytes before EOF" % limit)


V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"    # the PROXY protocol v2 signature


def v2_header(src, sport, dst, dport, tlvs=b""):
    """A PROXY v2 header: PROXY, TCP over IPv4, then the TLVs (bytes)."""
    body = socket.inet_aton(src) + socket.inet_aton(dst) + \
        struct.pack("!HH", sport, dport) + tlvs
    return V2SIG + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


def v2_unix(src, dst, tlvs=b""):
    """A PROXY v2 header: PROXY, STREAM over UNIX (two 108-byte paths,
    NUL-padded; a leading NUL makes an abstract name), then the TLVs."""
    body = src.ljust(108, b"\0") + dst.ljust(108, b"\0") + tlvs
    return V2SIG + bytes([0x21, 0x31]) + struct.pack("!H", len(body)) + body


def recv_or_reset(s, n=100, timeout=10):
    """The next recv of up to n bytes (b"" at EOF, and for a reset too:
    a peer killed under its connection), waiting at most timeout."""
    s.settimeout(timeout)
    try:
        return s.recv(n)
    except ConnectionResetError:
        return b""


def ask_line(s, line):
    """Sends line; returns the answer up to and including its newline
    (or what came before EOF)."""
    s.sendall(line)
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(256)
        if not chunk:
            break
        buf += chunk
    return buf


def exchange(addr, data=b""):
    """Connects, sends data, half-closes, returns all until EOF."""
    s = connect(addr)
    try:
        if data:
            s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return recv_all(s)
    finally:
        s.close()


def expect_eof(s, what="server closes the connection"):
    """The peer closes (EOF or reset) within the socket timeout, sending
    nothing more."""
    try:
        data = s.recv(4096)
    except ConnectionResetError:
        return
    except socket.timeout:
        raise Failure("%s: no EOF within %.0f s" % (what, s.gettimeout()))
    expect(data == b"", "%s: got %r instead of EOF" % (what, _short(data)))


def echo_roundtrip(addr, data, half_close=True):
    """Sends data to an echo-like service and returns what came back (all
    of it, until EOF, when half_close; else exactly len(data) bytes)."""
    s = connect(addr)
    try:
        err = []

        def sender():
            try:
                s.sendall(data)
                if half_close:
                    s.shutdown(socket.SHUT_WR)
            except OSError as e:
                err.append(e)
        th = threading.Thread(target=sender, daemon=True)
        th.start()
        got = recv_all(s) if half_close else recv_exact(s, len(data))
        th.join(IO_TIMEOUT)
        expect(not err, "sending failed: %r" % (err[:1],))
        return got
    finally:
        s.close()


def dgram_request(addr, data, timeout=IO_TIMEOUT):
    """Sends one datagram and returns the reply, or None after timeout."""
    s = socket.socket(addr.family, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        if addr.family == socket.AF_INET6:
            s.bind(("::1", 0))
        elif addr.family == socket.AF_INET:
            s.bind(("127.0.0.1", 0))
        s.sendto(data, addr.sockaddr)
        try:
            return s.recv(65536)
        except socket.timeout:
            return None
    finally:
        s.close()


def expect_refused(addr, within=2.0):
    """Connecting to addr fails (refused / no such socket) within `within`
    seconds of polling."""
    deadline = time.monotonic() + within
    while True:
        try:
            s = connect(addr, timeout=1.0)
        except (ConnectionRefusedError, FileNotFoundError):
            return
        s.close()
        if time.monotonic() > deadline:
            raise Failure("%s still accepts connections" % addr.text)
        time.sleep(0.05)


class Hammer(threading.Thread):
    """A client loop for reload tests: connect + echo + close on addr,
    until stopped or max_rounds rounds or max_secs seconds (scaled) have
    passed; counts rounds and collects failures for the test to report."""

    def __init__(self, addr, tag="hammer", max_rounds=20000, max_secs=60):
        super().__init__(daemon=True)
        self.addr, self.tag, self.stop = addr, tag, threading.Event()
        self.max_rounds, self.max_secs = max_rounds, max_secs
        self.rounds, self.failures = 0, []

    def run(self):
        deadline = time.monotonic() + self.max_secs * TIMEOUT_SCALE
        while not self.stop.is_set() and self.rounds < self.max_rounds \
                and time.monotonic() < deadline:
            msg = b"%-7s %08d\n" % (self.tag.encode()[:7], self.rounds)
            try:
                s = connect(self.addr)
                try:
                    s.sendall(msg)
                    if recv_exact(s, len(msg)) != msg:
                        self.failures.append("round %d: wrong bytes"
                                             % self.rounds)
                finally:
                    s.close()
            except Exception as e:  # counted, reported by the test
                self.failures.append("round %d: %r" % (self.rounds, e))
            self.rounds += 1
