#!/usr/bin/env python3
"""banner -- xinetd's banner files: `banner` on every accepted connection,
then `banner-success` before the handler or `banner-fail` before a
refusal.

Asserts, against a real porterd on loopback: an admitted client reads
banner + banner-success and then the handler's own reply (echo); a
client refused by `deny` reads banner + banner-fail and then EOF; one
refused by tcp-wrappers (hosts.deny) the same; a banner of exactly 4096
bytes is sent whole; a 4097-byte file, a banner on a datagram service
and a relative path are refused by --check with file:line.
"""
import os
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (conf_service, connect, expect, expect_eq,  # noqa
                        main, recv_all, recv_exact, run_porterd)


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"], tmp)
    ban = t.write(os.path.join(tmp, "banner"), "Welcome to porter\r\n")
    ok = t.write(os.path.join(tmp, "ok"), "You are in.\r\n")
    fail = t.write(os.path.join(tmp, "fail"), "Go away.\r\n")
    big = t.write(os.path.join(tmp, "big"), "b" * 4095 + "\n")
    allow = t.write(os.path.join(tmp, "hosts.allow"), "")
    deny = t.write(os.path.join(tmp, "hosts.deny"), "echo: 127.0.0.1\n")
    conf = 'hosts-allow = "%s"\nhosts-deny = "%s"\n' % (allow, deny)
    conf += conf_service("greet", listen=["127.0.0.1:0"], plugin="echo",
                         banner=ban, banner_success=ok, banner_fail=fail)
    conf += conf_service("closed", listen=["127.0.0.1:0"], plugin="echo",
                         banner=ban, banner_fail=fail, deny=["127.0.0.1"])
    conf += conf_service("wrapped", listen=["127.0.0.1:0"], plugin="echo",
                         banner_fail=fail, tcp_wrappers=True)
    conf += conf_service("big", listen=["127.0.0.1:0"], plugin="echo",
                         banner=big)
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)

    with t.case("ready"):
        d.wait_ready()

    with t.case("admitted: banner, banner-success, then the handler"):
        s = connect(d.addr("greet"))
        try:
            head = b"Welcome to porter\r\nYou are in.\r\n"
            expect_eq(recv_exact(s, len(head)), head, "banners")
            s.sendall(b"ping\n")
            expect_eq(recv_exact(s, 5), b"ping\n", "echo after banners")
        finally:
            s.close()

    with t.case("refused by deny: banner, banner-fail, EOF"):
        s = connect(d.addr("closed"))
        try:
            expect_eq(recv_all(s), b"Welcome to porter\r\nGo away.\r\n",
                      "what a refused client reads")
        finally:
            s.close()

    with t.case("refused by tcp-wrappers: banner-fail, EOF"):
        s = connect(d.addr("wrapped"))
        try:
            expect_eq(recv_all(s), b"Go away.\r\n", "refused client")
        finally:
            s.close()
        d.wait_line(r"^service wrapped: refused 127\.0\.0\.1:\d+: "
                    r"tcp-wrappers \(echo\): denied by .*hosts\.deny:1$")

    with t.case("a 4096-byte banner is sent whole"):
        s = connect(d.addr("big"))
        try:
            expect_eq(recv_exact(s, 4096), b"b" * 4095 + b"\n", "banner")
        finally:
            s.close()

    with t.case("--check refuses what a banner cannot be, file:line"):
        t.write(os.path.join(tmp, "huge"), "x" * 4097)
        for opts, line, msg in (
                ('  banner = "%s"\n' % os.path.join(tmp, "huge"), 4,
                 "banner %s: 4097 bytes, more than the 4096 a banner may "
                 "have" % os.path.join(tmp, "huge")),
                ('  type = dgram\n  banner-fail = "%s"\n' % fail, 5,
                 "banner-fail is for stream services without wait (it is "
                 "sent on each accepted connection)"),
                ('  banner-success = "ok"\n', 4,
                 "banner-success 'ok' is not an absolute path")):
            bad = t.write(os.path.join(tmp, "bad.conf"),
                          'service b {\n  plugin = "echo"\n'
                          '  listen = { "127.0.0.1:0" }\n' + opts + '}\n')
            rc, out, err = run_porterd(["--check", "-f", bad, "-P",
                                        plugins])
            expect(rc != 0, "accepted: " + opts)
            want = "%s:%d: service 'b': %s" % (bad, line, msg)
            expect(want in err, "want %r in %r" % (want, err))


if __name__ == "__main__":
    main(scenario)
