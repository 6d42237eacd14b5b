#!/usr/bin/env python3
"""tcpmux -- the bundled tcpmux plugin (RFC 1078, with inetd's "+"
variant) under a real porterd.

Asserts: HELP lists the services; a "+" service is answered "+Go" by
porterd and then runs its program on the connection; one without "+"
runs its program at once, which gets every byte sent after the name
line (/bin/cat echoes them); names match without regard to case; an
unknown name is answered "-Service not available"; a service runs as its
own user (id -u prints nobody's uid); under isolation = thread the
plugin refuses rather than exec over porterd; --check refuses an unknown
user and a relative program, naming the service.
"""
import os
import pwd
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (conf_service, exchange, expect, expect_eq,  # noqa
                        main, run_porterd)


def ask(addr, line, extra=b""):
    return exchange(addr, line + extra)


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["tcpmux"], tmp)
    nobody = pwd.getpwnam("nobody").pw_uid
    args = ["+hello nobody /bin/echo echo hello from tcpmux",
            "rawcat nobody:nogroup /bin/cat cat",
            "+whoami nobody /usr/bin/id id -u"]
    conf = conf_service("mux", listen=["127.0.0.1:0"], plugin="tcpmux",
                        isolation="process", user="root", args=args)
    conf += conf_service("inproc", listen=["127.0.0.1:0"], plugin="tcpmux",
                         args=args[:1])
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)

    with t.case("ready"):
        d.wait_ready()
    mux = d.addr("mux")

    with t.case("HELP lists the services"):
        expect_eq(ask(mux, b"HELP\r\n"), b"hello\r\nrawcat\r\nwhoami\r\n",
                  "HELP")

    with t.case("a + service: +Go, then the program"):
        expect_eq(ask(mux, b"hello\r\n"), b"+Go\r\nhello from tcpmux\n",
                  "reply")

    with t.case("names match without regard to case"):
        expect_eq(ask(mux, b"HeLLo\n"), b"+Go\r\nhello from tcpmux\n",
                  "reply")

    with t.case("without +: the program gets everything after the name"):
        expect_eq(ask(mux, b"rawcat\r\n", b"line one\nline two\n"),
                  b"line one\nline two\n", "cat's reply")

    with t.case("the program runs as the service's user"):
        expect_eq(ask(mux, b"whoami\r\n"), b"+Go\r\n%d\n" % nobody,
                  "id -u")

    with t.case("an unknown name is refused"):
        expect_eq(ask(mux, b"finger\r\n"), b"-Service not available\r\n",
                  "reply")

    with t.case("isolation = thread: refused, porterd keeps running"):
        expect_eq(ask(d.addr("inproc"), b"hello\r\n"),
                  b"-tcpmux needs isolation = process\r\n", "reply")
        d.wait_line(r"tcpmux: needs isolation = process")
        expect_eq(ask(mux, b"hello\r\n"), b"+Go\r\nhello from tcpmux\n",
                  "porterd still serves")

    with t.case("--check refuses bad sub-services, naming them"):
        for arg, msg in (
                ("x no-such-user-zz /bin/true", "tcpmux: service x: no "
                 "user 'no-such-user-zz'"),
                ("y nobody bin/true", "tcpmux: service y: program "
                 "'bin/true' is not an absolute path to an executable")):
            bad = t.write(os.path.join(tmp, "bad.conf"), conf_service(
                "m", listen=["127.0.0.1:0"], plugin="tcpmux",
                isolation="process", user="root", args=[arg]))
            rc, out, err = run_porterd(["--check", "-f", bad, "-P",
                                        plugins])
            expect(rc != 0 and msg in err, "want %r in %r" % (msg, err))


if __name__ == "__main__":
    main(scenario)
