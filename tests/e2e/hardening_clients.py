"""hardening_clients -- client-side checks shared by the hardening
scenarios (limits, access, timeouts, emfile, reload_under_load,
privileges): connecting from a chosen loopback source address, telling
"served" from "held in the backlog" from "closed at once", and naming a
client the way porterd's log names the peer.  Every call is bounded;
waits scale with $PORTER_TIMEOUT_SCALE like the harness's own.
"""
import re
import socket
import time

from porter_e2e import (IO_TIMEOUT, TIMEOUT_SCALE, Failure, expect_eq,
                        recv_all, recv_exact)


def connect_from(addr, src=None, timeout=IO_TIMEOUT):
    """A stream socket connected to addr (Addr) from source address src
    (any when None).  An IPv4 src with a v4-mapped addr
    ([::ffff:127.0.0.1]:P) makes a plain IPv4 client of 127.0.0.1:P, which
    the IPv6 listener sees as a v4-mapped peer."""
    fam, dst = addr.family, addr.sockaddr
    if src and ":" not in src and addr.host and \
            addr.host.startswith("::ffff:"):
        fam, dst = socket.AF_INET, (addr.host[7:], addr.port)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if src:
            s.bind((src, 0))
        s.connect(dst)
    except BaseException:
        s.close()
        raise
    return s


def echoes(s, msg=b"ping\n"):
    """s is served: msg comes back (Failure otherwise)."""
    s.sendall(msg)
    expect_eq(recv_exact(s, len(msg)), msg, "echo")


def silent_for(s, secs):
    """Nothing arrives on s, neither data nor EOF, for secs seconds: the
    connection waits in the kernel's backlog (or an idle handler)."""
    s.settimeout(secs)
    try:
        data = s.recv(4096)
    except socket.timeout:
        return
    finally:
        s.settimeout(IO_TIMEOUT)
    raise Failure("expected to wait, got %s"
                  % (repr(data) if data else "EOF"))


def closed_with(s, want=b"", within=2.0):
    """The server sends exactly `want` (b"": nothing) and closes or resets
    the connection within `within` (scaled) seconds: a refusal."""
    s.settimeout(within * TIMEOUT_SCALE)
    try:
        got = recv_all(s, 4096)
    except ConnectionResetError:
        got = b""
    except socket.timeout:
        raise Failure("not closed within %.1f s" % (within * TIMEOUT_SCALE))
    finally:
        s.settimeout(IO_TIMEOUT)
    expect_eq(got, want, "data before the close")


def refused_from(addr, src=None, want=b""):
    """A client from src is refused (closed with `want` only); returns its
    peer regex (see peer_re) for the log line."""
    s = connect_from(addr, src)
    try:
        pattern = peer_re(s)
        closed_with(s, want)
        return pattern
    finally:
        s.close()


def served_from(addr, src=None, msg=b"ping\n"):
    """A client from src is echoed msg; returns its peer regex."""
    s = connect_from(addr, src)
    try:
        echoes(s, msg)
        return peer_re(s)
    finally:
        s.close()


def served_within(addr, src=None, secs=2.0):
    """A client from src is served within secs (scaled) of retries: the
    close that freed a slot may not have reached porterd yet."""
    deadline = time.monotonic() + secs * TIMEOUT_SCALE
    while True:
        try:
            return served_from(addr, src, b"again\n")
        except (Failure, OSError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def peer_re(s):
    """A regex for s's own address as porterd's log names the peer
    ("127.0.0.1:P", "[::1]:P"); an IPv4 client of a v4-mapped listener
    may be named either way."""
    name = s.getsockname()
    if s.family == socket.AF_UNIX:
        return r".*"
    host, port = name[:2]
    if ":" in host:
        return r"\[%s\]:%d" % (re.escape(host), port)
    h = re.escape(host)
    return r"(?:%s|\[::ffff:%s\]):%d" % (h, h, port)


def time_to_eof(s, limit):
    """Seconds until the server ends the connection (EOF or reset), while
    s sends nothing; whatever arrives before is discarded.  Failure if
    it is still open after `limit` seconds."""
    t0 = time.monotonic()
    deadline = t0 + limit
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Failure("still open after %.1f s" % limit)
        s.settimeout(left)
        try:
            if not s.recv(4096):
                break
        except ConnectionResetError:
            break
        except socket.timeout:
            continue
    return time.monotonic() - t0
