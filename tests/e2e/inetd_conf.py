#!/usr/bin/env python3
"""inetd_conf -- porterd reads a classic inetd.conf natively
(`inetd-conf`), applies hosts.allow/hosts.deny to the entries that ran
through tcpd, and re-reads both on SIGHUP, as update-inetd expects.

Asserts, against a real porterd on loopback ports chosen at run time: an
exec entry serves (argv[0] and args as inetd passes them); a
"/usr/sbin/tcpd /bin/echo" entry runs /bin/echo itself, admitted by
hosts.allow, and after hosts.deny is changed to deny loopback and porterd
is reloaded the client is closed on without output and the log names the
hosts.deny line; update-inetd's edits (an entry disabled with #<off>#, one
added) take effect on SIGHUP; a broken inetd.conf on reload is reported
as file:line and the running services stay; --check refuses a service
defined in both porterd.conf and inetd.conf, and a hosts.allow form that
needs DNS, each with file:line.
"""
import os
import re
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (exchange, expect, expect_eq, main,  # noqa
                        run_porterd)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def scenario(t):
    tmp = t.tmpdir()
    p_cat, p_echo, p_new = free_port(), free_port(), free_port()
    inetd = os.path.join(tmp, "inetd.conf")
    allow = os.path.join(tmp, "hosts.allow")
    deny = os.path.join(tmp, "hosts.deny")
    entries = {
        "cat": "127.0.0.1:%d\tstream\ttcp\tnowait\tnobody\t/bin/cat\tcat"
               % p_cat,
        "echo": "127.0.0.1:%d\tstream\ttcp\tnowait\tnobody\t/usr/sbin/tcpd"
                "\t/bin/echo hello from echo" % p_echo,
        "new": "127.0.0.1:%d\tstream\ttcp\tnowait\tnobody\t/bin/echo\techo "
               "added" % p_new,
    }

    def write_inetd(cat=True, new=False, extra=""):
        text = "# /etc/inetd.conf, as update-inetd leaves it\n#\n"
        text += ("" if cat else "#<off># ") + entries["cat"] + "\n"
        text += entries["echo"] + "\n"
        if new:
            text += entries["new"] + "\n"
        t.write(inetd + ".new", text + extra)
        os.replace(inetd + ".new", inetd)

    write_inetd()
    t.write(allow, "# local\necho: 127.0.0.1\n")
    t.write(deny, "ALL: ALL\n")
    conf = t.write(os.path.join(tmp, "porterd.conf"),
                   'inetd-conf = { "%s" }\nhosts-allow = "%s"\n'
                   'hosts-deny = "%s"\n' % (inetd, allow, deny))
    d = t.porterd(conf)

    with t.case("ready: the inetd.conf entries are services"):
        d.wait_line(r"^ready: 2 services")
    cat = d.addr(str(p_cat))
    echo = d.addr(str(p_echo))

    with t.case("an exec entry serves the connection"):
        expect_eq(exchange(cat, b"through inetd.conf\n"),
                  b"through inetd.conf\n", "cat's reply")

    with t.case("a tcpd entry runs its program, hosts.allow admits"):
        expect_eq(exchange(echo), b"hello from echo\n", "echo's reply")

    with t.case("hosts.deny denies loopback after a reload"):
        t.write(allow, "# nothing allowed\n")
        mark = d.mark()
        d.signal(1)
        d.wait_line(r"^reloaded: 2 services", mark)
        expect_eq(exchange(echo), b"", "a refused client gets no output")
        d.wait_line(r"^service %d: refused 127\.0\.0\.1:\d+: tcp-wrappers "
                    r"\(echo\): denied by %s:1$" % (p_echo, re.escape(deny)),
                    mark)
        expect_eq(exchange(cat, b"x"), b"x", "an unwrapped service is not "
                  "affected")

    with t.case("update-inetd edits: #<off># disables, an added entry "
                "serves"):
        write_inetd(cat=False, new=True)
        mark = d.mark()
        d.signal(1)
        d.wait_line(r"^reloaded: 2 services", mark)
        d.wait_line(r"^service %d: closing " % p_cat, mark)
        expect_eq(exchange(d.addr(str(p_new), since=mark)), b"added\n",
                  "the added entry")

    with t.case("a broken inetd.conf on reload: file:line, services stay"):
        write_inetd(cat=False, new=True,
                    extra="rstatd/1-3 dgram rpc/udp wait root /bin/true\n")
        mark = d.mark()
        d.signal(1)
        d.wait_line(r"^reload failed: %s:6: RPC services need the "
                    r"portmapper, which porterd does not speak; keeping "
                    r"the running config$" % re.escape(inetd), mark)
        expect_eq(exchange(d.addr(str(p_new))), b"added\n", "still served")

    with t.case("SIGTERM exits 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")

    with t.case("--check: a service in porterd.conf and inetd.conf"):
        write_inetd()
        both = t.write(os.path.join(tmp, "both.conf"),
                       'service %d {\n  exec = "/bin/cat"\n  user = '
                       '"nobody"\n  listen = { "127.0.0.1:%d" }\n}\n'
                       'inetd-conf = { "%s" }\n' % (p_cat, p_cat, inetd))
        rc, out, err = run_porterd(["--check", "-f", both])
        expect(rc != 0, "accepted a duplicate")
        expect("%s:3: duplicate service '%d' (first defined at %s:1)"
               % (inetd, p_cat, both) in err, err)

    with t.case("--check: a hosts.allow form that needs DNS"):
        t.write(allow, "\necho: trusted.example.org\n")
        rc, out, err = run_porterd(["--check", "-f", conf])
        expect(rc != 0, "accepted a host name")
        expect("%s:2: client 'trusted.example.org': a host name needs "
               "name lookups (write the address)" % allow in err, err)


if __name__ == "__main__":
    main(scenario)
