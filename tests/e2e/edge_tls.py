#!/usr/bin/env python3
"""edge_tls -- TLS termination in porterd, driven by real clients.

Certificates (a CA, a server certificate for 127.0.0.1, a client
certificate, and one from another CA) are made with the openssl command.

Asserts: Python's ssl client and `openssl s_client` get the echo plugin's
echo through TLS; a client that ends its stream with a TCP EOF but no
close_notify (OpenSSL 3 calls that an error) still has all its data reach
the echo plugin, /bin/cat, or a program that hashes it, and with a
half-close reads the whole answer; a TLS 1.3 KeyUpdate mid-stream (from
s_client, asking for porterd's too) leaves the echo going; where the
kernel offers TLS, a TLS 1.2
connection's program gets the TCP socket itself and /proc/net/tls_stat
counts it (else the case is skipped with a note, and the program gets
the relay's socket); an exec'd program sees TLS_VERSION,
TLS_CIPHER, TLS_SNI and TLS_ALPN in its environment and a plugin the same in ctx->vars
(ctxdump); curl gets a page from micro-httpd behind TLS; with
verify-client = require a client certificate from the CA is accepted
(SSL_CLIENT_S_DN, SSL_CLIENT_VERIFY=SUCCESS) and no certificate or one from
another CA is refused; a PROXY header followed by TLS gives the program
both the header's client and the TLS facts; a client that stops mid-handshake is cut after
handshake-timeout, and another client is served meanwhile; the log says
whether kernel TLS or the relay carries each connection; a key readable
by others is refused by --check with file:line, and a reload with such a
key fails and keeps the running service; a renewed certificate (another
subject and serial from the same CA) written over the files is what new
clients get after a reload, while a connection made before it goes on
with the old one.
"""
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (SERVER_EXT, Skip, client_ctx, connect,  # noqa
                        conf_opts, expect, expect_eq, issue_cert, main,
                        make_pki, run_porterd, s_client_line, tls_no_notify,
                        tls_section)


def service(name, body, tls):
    return "service %s {\n%s%s}\n" % (name, conf_opts("    ", **body), tls)


def tls_talk(addr, ctx, data=b"", sni="localhost"):
    """Connects with TLS; with data, sends it 64 KiB at a time and reads
    each piece back (an SSLSocket must not be read and written from two
    threads at once); without, reads until the server closes.  Returns
    what it read."""
    s = ctx.wrap_socket(connect(addr), server_hostname=sni)
    s.settimeout(20)
    out = b""
    try:
        if data:
            for off in range(0, len(data), 65536):
                piece = data[off:off + 65536]
                s.sendall(piece)
                want = off + len(piece)
                while len(out) < want:
                    x = s.recv(65536)
                    if not x:
                        return out
                    out += x
            return out
        while True:
            try:
                x = s.recv(65536)
            except (ssl.SSLEOFError, ConnectionResetError):
                break
            if not x:
                break
            out += x
        return out
    finally:
        s.close()


def ktls_missing():
    """None if the kernel takes TLS on a TCP socket (TCP_ULP "tls",
    which loads the module where it can), else why not."""
    lsn = socket.socket()
    try:
        lsn.bind(("127.0.0.1", 0))
        lsn.listen(1)
        with socket.create_connection(lsn.getsockname(), 5) as c:
            peer, _ = lsn.accept()
            peer.close()
            c.setsockopt(socket.IPPROTO_TCP, 31, b"tls")    # TCP_ULP
        return None
    except OSError as e:
        return "TCP_ULP \"tls\": %s" % (e.strerror or e)
    finally:
        lsn.close()


def tls_stat():
    """/proc/net/tls_stat as {name: count}."""
    with open("/proc/net/tls_stat") as f:
        return dict((k, int(v)) for k, v in (x.split() for x in f))


def env_of(text):
    kv = {}
    for line in text.decode("utf-8", "replace").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            kv[k] = v
    return kv


def scenario(t):
    for tool in ("openssl", "curl"):
        if shutil.which(tool) is None:
            raise Skip("%s is not installed" % tool)
    tmp = t.trusted_tmpdir()
    make_pki(tmp)
    plugins = t.plugindir(["echo", "ctxdump"], tmp)
    ca = os.path.join(tmp, "ca.pem")
    www = os.path.join(tmp, "www")
    os.mkdir(www)
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("porter behind tls\n")
    httpd = shutil.which("micro-httpd") or "/usr/sbin/micro-httpd"

    user = {"user": "nobody"} if os.geteuid() == 0 else {}
    conf = conf_opts(shutdown_timeout=5)
    conf += service("echo", {"listen": ["127.0.0.1:0"], "plugin": "echo"},
                    tls_section(tmp, "        alpn = { \"echo\", \"h2\" }\n"
                                "        handshake-timeout = 1\n"))
    conf += service("env", dict({"listen": ["127.0.0.1:0"],
                                 "exec_": "/usr/bin/env"}, **user),
                    tls_section(tmp, "        alpn = { \"x-porter\" }\n"))
    conf += service("cat", {"listen": ["127.0.0.1:0"], "exec_": "/bin/cat",
                            "user": "root"}, tls_section(tmp))
    # What the program read, told through its stderr (the log).
    conf += service("sink", {"listen": ["127.0.0.1:0"], "exec_": "/bin/sh",
                             "args": ["-c", "echo \"sink $(sha256sum)\" >&2"],
                             "user": "root"}, tls_section(tmp))
    # Says whether its stdin is a TCP socket (kernel TLS) or not (relay).
    conf += service("fdkind", dict({
        "listen": ["127.0.0.1:0"], "exec_": "/bin/sh", "args": [
            "-c", "i=$(readlink /proc/self/fd/0 | tr -dc 0-9); awk -v i=$i "
            "'$10 == i { t = 1 } END { print t ? \"fd=tcp\" : \"fd=other\" }'"
            " /proc/net/tcp /proc/net/tcp6"]}, **user), tls_section(tmp))
    conf += service("ctx", {"listen": ["127.0.0.1:0"], "plugin": "ctxdump"},
                    tls_section(tmp))
    if os.path.exists(httpd):
        conf += service("www", dict({"listen": ["127.0.0.1:0"],
                                     "exec_": httpd, "args": [www]}, **user),
                        tls_section(tmp))
    conf += service("mtls", dict({"listen": ["127.0.0.1:0"],
                                  "exec_": "/usr/bin/env"}, **user),
                    tls_section(tmp, "        ca = \"%s\"\n"
                                "        verify-client = require\n" % ca))
    conf += service("both", dict({"listen": ["127.0.0.1:0"],
                                  "exec_": "/usr/bin/env",
                                  "proxy_protocol": "v1",
                                  "proxy_from": ["127.0.0.1"]}, **user),
                    tls_section(tmp))
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)
    d.wait_ready()

    with t.case("python ssl: echo through TLS (2 MB)"):
        data = os.urandom(1 << 21)
        got = tls_talk(d.addr("echo"), client_ctx(tmp, alpn=["echo"]), data)
        expect_eq(len(got), len(data), "echoed length")
        expect(got == data, "echoed bytes differ")

    with t.case("openssl s_client: echo through TLS"):
        p = s_client_line(d.addr("echo"), ca, "hello s_client", "-alpn echo")
        expect(b"hello s_client\n" in p.stdout,
               "s_client got %r (stderr %r)" % (p.stdout, p.stderr[-300:]))

    with t.case("TLS 1.3 KeyUpdate (s_client's k) mid-stream: echo goes on"):
        # 'k' sends a KeyUpdate that asks porterd to update its keys too.
        p = subprocess.run(
            ["sh", "-c", "(echo before; sleep 0.3; echo k; sleep 0.3; "
             "echo after; sleep 1) | openssl s_client -connect %s "
             "-CAfile %s -verify_return_error -no_ign_eof -tls1_3 "
             "-alpn echo" % (d.addr("echo").text, ca)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        expect("KEYUPDATE" in err, "s_client sent no KeyUpdate: %r" %
               err[-300:])
        expect("\nbefore\n" in out and "\nafter\n" in out,
               "echo before and after the KeyUpdate: %r (stderr %r)" %
               (out[-300:], err[-300:]))

    data = os.urandom(1 << 20)
    for svc in ("echo", "cat"):
        with t.case("%s: half-close without close_notify, answer whole" %
                    svc):
            mark = d.mark()
            got = tls_no_notify(d.addr(svc), client_ctx(tmp), data, "shut")
            expect_eq(len(got), len(data), "echoed length")
            expect(got == data, "echoed bytes differ")
            d.wait_line(r"^service %s: 127\.0\.0\.1:\d+: TLS relay: the "
                        r"client closed without close_notify$" % svc,
                        since=mark)

    with t.case("close without close_notify: the program gets all data"):
        mark = d.mark()
        tls_no_notify(d.addr("sink"), client_ctx(tmp), data, "close")
        got = d.wait_line(r"sink ([0-9a-f]{64}) ", since=mark).group(1)
        expect_eq(got, hashlib.sha256(data).hexdigest(),
                  "sha256 of what the program read")

    with t.case("the log says which carries it: kernel TLS or the relay"):
        line = d.wait_line(r"^service echo: 127\.0\.0\.1:\d+: TLSv1\.3 "
                           r"\S+, (relay|kernel TLS)$").group(0)
        ktls = os.path.exists("/proc/net/tls_stat")
        t.note("TLS carried by: %s (kernel tls module %s)" %
               (line.rsplit(", ", 1)[1], "loaded" if ktls else "absent"))
        if not ktls:
            expect(line.endswith(", relay"),
                   "no kernel TLS here, yet: %s" % line)

    why = ktls_missing()
    if why is not None:
        t.note("kernel TLS: not offered here (%s); its case is skipped, "
               "the relay carries every connection" % why)
        with t.case("without kernel TLS the handler gets the relay"):
            got = tls_talk(d.addr("fdkind"), client_ctx(tmp))
            expect_eq(got, b"fd=other\n", "what the program says")
    else:
        with t.case("kernel TLS (TLS 1.2): the handler gets the TCP "
                    "socket, the kernel's counters move"):
            ctx = client_ctx(tmp)
            # OpenSSL 3.0 takes TLS 1.3 only for sending into the kernel.
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            before = tls_stat()
            mark = d.mark()
            got = tls_talk(d.addr("fdkind"), ctx)
            after = tls_stat()
            expect_eq(got, b"fd=tcp\n", "what the program says")
            d.wait_line(r"^service fdkind: 127\.0\.0\.1:\d+: TLSv1\.2 "
                        r"\S+, kernel TLS$", since=mark)
            for way in ("Tx", "Rx"):
                moved = sum(after.get("Tls%s%s" % (way, k), 0) -
                            before.get("Tls%s%s" % (way, k), 0)
                            for k in ("Sw", "Device"))
                expect(moved > 0, "Tls%s counters did not move: %r -> %r"
                       % (way, before, after))

    with t.case("exec: TLS_VERSION, TLS_CIPHER, TLS_SNI, TLS_ALPN"):
        env = env_of(tls_talk(d.addr("env"),
                              client_ctx(tmp, alpn=["x-porter"])))
        expect_eq(env.get("TLS_VERSION"), "TLSv1.3", "TLS_VERSION")
        expect(env.get("TLS_CIPHER", "").startswith("TLS_"),
               "TLS_CIPHER %r" % env.get("TLS_CIPHER"))
        expect_eq(env.get("TLS_SNI"), "localhost", "TLS_SNI")
        expect_eq(env.get("TLS_ALPN"), "x-porter", "TLS_ALPN")
        expect_eq(env.get("SSL_CLIENT_VERIFY"), "NONE", "SSL_CLIENT_VERIFY")
        expect_eq(env.get("TCPREMOTEIP"), "127.0.0.1", "TCPREMOTEIP")

    with t.case("plugin: the same facts in ctx->vars"):
        text = tls_talk(d.addr("ctx"), client_ctx(tmp)).decode()
        vars_ = dict(x[4:].split("=", 1) for x in text.splitlines()
                     if x.startswith("var="))
        expect_eq(vars_.get("TLS_VERSION"), "TLSv1.3", "TLS_VERSION var")
        expect_eq(vars_.get("TLS_SNI"), "localhost", "TLS_SNI var")
        expect("peer=127.0.0.1:" in text, "peer in %r" % text)

    if os.path.exists(httpd):
        with t.case("curl: micro-httpd behind TLS"):
            p = subprocess.run(
                ["curl", "-sS", "--max-time", "20", "--cacert", ca,
                 "https://127.0.0.1:%d/index.html" % d.addr("www").port],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
            expect_eq((p.returncode, p.stdout), (0, b"porter behind tls\n"),
                      "curl (stderr %r)" % p.stderr)

    with t.case("PROXY header, then TLS: both reach the program"):
        raw = connect(d.addr("both"))
        raw.sendall(b"PROXY TCP4 192.0.2.77 192.0.2.1 7777 443\r\n")
        s = client_ctx(tmp).wrap_socket(raw, server_hostname="localhost")
        s.settimeout(20)
        out = b""
        try:
            while True:
                x = s.recv(65536)
                if not x:
                    break
                out += x
        except (ssl.SSLEOFError, ConnectionResetError):
            pass
        s.close()
        env = env_of(out)
        expect_eq((env.get("TCPREMOTEIP"), env.get("TCPREMOTEPORT")),
                  ("192.0.2.77", "7777"), "the client from the header")
        expect_eq(env.get("TLS_VERSION"), "TLSv1.3", "TLS_VERSION")

    with t.case("client certificate from the CA: accepted, DN passed"):
        env = env_of(tls_talk(d.addr("mtls"), client_ctx(tmp, "client")))
        expect_eq(env.get("SSL_CLIENT_VERIFY"), "SUCCESS", "verify")
        expect_eq(env.get("SSL_CLIENT_S_DN"), "CN=alice,O=Porter", "DN")

    for who in (None, "mallory"):
        with t.case("client certificate %s: refused" % (who or "missing")):
            mark = d.mark()
            try:
                got = tls_talk(d.addr("mtls"), client_ctx(tmp, who))
            except (ssl.SSLError, OSError):
                got = b""
            expect_eq(got, b"", "what a refused client read")
            if who is None:     # the next refusal goes to the summary
                d.wait_line(r"^service mtls: refused 127\.0\.0\.1:\d+: TLS "
                            r"handshake: ", since=mark)

    with t.case("a client that stops mid-handshake is cut; others served"):
        mark = d.mark()
        stuck = connect(d.addr("echo"))
        stuck.sendall(b"\x16\x03\x01\x00\xff\x01")  # a partial ClientHello
        t0 = time.monotonic()
        got = tls_talk(d.addr("echo"), client_ctx(tmp), b"meanwhile")
        expect_eq(got, b"meanwhile", "echo while another client stalls")
        expect(time.monotonic() - t0 < 0.9,
               "served only after the stalled handshake")
        stuck.settimeout(10)
        expect_eq(stuck.recv(100), b"", "stalled client closed")
        stuck.close()
        d.wait_line(r"^service echo: refused 127\.0\.0\.1:\d+: TLS handshake "
                    r"not done within 1 s$", since=mark)

    with t.case("a key readable by others: --check names file:line"):
        key = os.path.join(tmp, "server.key")
        os.chmod(key, 0o644)
        rc, out, err = run_porterd(["--check", "-P", plugins, "-f", path])
        expect(rc != 0, "--check accepted it")
        expect(("%s:" % path) in err and "readable or writable by others"
               in err and "server.key" in err, "message: %r" % err)

    with t.case("reload with that key fails and keeps the running config"):
        mark = d.mark()
        d.signal(1)
        d.wait_line(r"^reload failed: .*tls key .*readable or writable by "
                    r"others.*keeping the running config", since=mark)
        got = tls_talk(d.addr("echo"), client_ctx(tmp), b"still here")
        expect_eq(got, b"still here", "echo after the failed reload")
        os.chmod(key, 0o600)
        mark = d.mark()
        d.signal(1)
        d.wait_line(r"^reloaded: ", since=mark)

    with t.case("reload with a renewed certificate: new clients get it"):
        old = client_ctx(tmp).wrap_socket(connect(d.addr("echo")),
                                          server_hostname="localhost")
        try:
            old.settimeout(20)
            before = old.getpeercert()
            # Written aside, then renamed over the files, as certbot does.
            issue_cert(tmp, "renewed", "/O=Porter/OU=renewed/CN=localhost",
                       "ca", SERVER_EXT)
            os.rename(os.path.join(tmp, "renewed.key"), key)
            os.rename(os.path.join(tmp, "renewed.pem"),
                      os.path.join(tmp, "server.pem"))
            mark = d.mark()
            d.signal(1)
            d.wait_line(r"^reloaded: ", since=mark)
            new = client_ctx(tmp).wrap_socket(connect(d.addr("echo")),
                                              server_hostname="localhost")
            try:
                new.settimeout(20)
                after = new.getpeercert()
                new.sendall(b"new client")
                expect_eq(new.recv(100), b"new client", "echo, new client")
            finally:
                new.close()
            expect_eq(dict(x[0] for x in after["subject"]),
                      {"organizationName": "Porter",
                       "organizationalUnitName": "renewed",
                       "commonName": "localhost"}, "the new subject")
            expect(after["serialNumber"] != before["serialNumber"],
                   "the same serial after the reload: %s"
                   % after["serialNumber"])
            old.sendall(b"old client")
            expect_eq(old.recv(100), b"old client",
                      "echo, connection from before the reload")
        finally:
            old.close()

    with t.case("SIGTERM: exit 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
