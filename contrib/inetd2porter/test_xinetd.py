#!/usr/bin/env python3
"""test_xinetd -- inetd2porter on hand-written xinetd configurations.

Asserts, with the exact sections and notes expected: hosts.allow/deny
rules applied by the name xinetd gives libwrap (the program's, or the
libwrap attribute), not to a NOLIBWRAP service; socket_type,
protocol, wait, user, group, server, server_args (and NAMEINARGS, tcpd),
port, bind/interface, flags IPv6/NODELAY/KEEPALIVE and v6only become the
matching options; type = INTERNAL a plugin (others left out with a note),
UNLISTED needs a port; id names the service, and a second service of the
same name is renamed; instances/per_source (numbers and UNLIMITED) become
max-connections/max-per-source and cps an approximate rate/burst (said
once for a value from `defaults`); only_from/no_access become allow/deny
(trailing-zero wildcards, factorized lists, CIDR, IPv6, 0.0.0.0,
localhost; names dropped with a note, an only_from left empty denies
everyone; '=', '+=', '-=' and the defaults' accumulation as xinetd does
them; dropped on waiting services); disable and the defaults' disabled/
enabled lists give disable = true; env is kept and passenv noted;
attributes porterd has no counterpart for are noted; include and
includedir (skipping names with a dot or a trailing '~') are followed,
relative to the including file or under --root.  Syntax errors give
`file:line: what`, exit 1 and no output.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_harness import (expect_converted, expect_error, main)  # noqa


def services(t):
    expect_converted(t, "a full service, its flags and its program", {
        "xinetd.conf": """\
            service ftp
            {
            \tsocket_type\t= stream
            \tprotocol\t= tcp
            \twait\t\t= no
            \tuser\t\t= ftp
            \tgroup\t\t= nogroup
            \tserver\t\t= /usr/sbin/tcpd
            \tserver_args\t= in.ftpd -l -a
            \tflags\t\t= NAMEINARGS NODELAY KEEPALIVE IDONLY
            \tbind\t\t= 127.0.0.1
            \tnice\t\t= 10
            \tfrobnicate\t= 1
            \tuser\t\t= root
            }
            service tftp
            {
            \tsocket_type\t= dgram
            \twait\t\t= yes
            \tuser\t\t= nobody
            \tserver\t\t= /usr/sbin/in.tftpd
            \tserver_args\t= -s /srv/tftp
            \tinterface\t= ::1
            \tport\t\t= 6969
            \tenv\t\t= HOME=/srv LANG=C bad-name=1
            \tpassenv\t\t= PATH
            }
            service v6
            {
            \tsocket_type\t= stream
            \twait\t\t= yes
            \tuser\t\t= daemon
            \tserver\t\t= /bin/cat
            \tflags\t\t= IPv6
            \tv6only\t\t= yes
            \tprotocol\t= udp
            }
            """}, ["""
        # xinetd.conf:1: service ftp
        # inetd2porter: frobnicate: unknown attribute, ignored as xinetd
        #     does
        # inetd2porter: user is set twice; xinetd keeps the first
        # inetd2porter: flag IDONLY is not supported
        # inetd2porter: tcpd replaced: porterd runs /usr/sbin/in.ftpd and
        #     applies /etc/hosts.allow and /etc/hosts.deny itself
        #     (tcp-wrappers = true)
        # inetd2porter: nice: porterd does not renice handlers
        service ftp {
            listen = { "127.0.0.1:ftp" }
            exec = "/usr/sbin/in.ftpd"
            args = { "-l", "-a" }
            stderr = socket
            user = "ftp"
            group = "nogroup"
            options = { "TCP_NODELAY", "SO_KEEPALIVE" }
            tcp-wrappers = true
        }
        """, """
        # inetd2porter: env 'bad-name=1' dropped: not NAME=value
        # inetd2porter: passenv PATH: porterd passes none of its
        #     environment; write the values with env
        service tftp {
            listen = { "[::1]:6969" }
            type = dgram
            exec = "/usr/sbin/in.tftpd"
            args = { "-s", "/srv/tftp" }
            env = { "HOME=/srv", "LANG=C" }
            stderr = socket
            user = "nobody"
        }
        """, """
        # inetd2porter: protocol udp dropped: porterd uses tcp for stream
        #     sockets
        service v6 {
            listen = { "[::]:v6" }
            exec = "/bin/cat"
            stderr = socket
            wait = true
            user = "daemon"
            options = { "IPV6_V6ONLY" }
        }
        """])


def kinds(t):
    expect_converted(t, "INTERNAL, UNLISTED, ids, and what is left out", {
        "xinetd.conf": """\
            service echo
            {
            \ttype = INTERNAL
            \tid = echo-stream
            \tsocket_type = stream
            \twait = no
            \tuser = root
            \tenv = A=1
            }
            service echo
            {
            \ttype = INTERNAL UNLISTED
            \tsocket_type = dgram
            \tprotocol = udp
            \twait = yes
            \tport = 7
            }
            service echo
            {
            \ttype = INTERNAL
            \tsocket_type = dgram
            \twait = yes
            }
            service servers
            {
            \ttype = INTERNAL UNLISTED
            \tsocket_type = stream
            \twait = no
            \tport = 9099
            }
            service mine
            {
            \ttype = UNLISTED
            \tsocket_type = stream
            \twait = no
            \tuser = nobody
            \tserver = /bin/cat
            }
            service rstatd
            {
            \ttype = RPC
            \tsocket_type = dgram
            \twait = yes
            \tuser = root
            \tserver = /usr/sbin/rpc.rstatd
            }
            service relay
            {
            \tsocket_type = stream
            \twait = no
            \tredirect = 10.0.0.2 23
            }
            service nouser
            {
            \tsocket_type = stream
            \twait = no
            \tserver = /bin/cat
            }
            service nowait
            {
            \tsocket_type = stream
            \tuser = root
            \tserver = /bin/cat
            }
            """}, ["""
        # xinetd.conf:1: service echo (id echo-stream)
        # inetd2porter: env 'A=1' dropped: built-in services take none
        service echo-stream {
            listen = { "*:echo" }
            plugin = "echo"
        }

        # xinetd.conf:10: service echo
        service echo {
            listen = { "*:7" }
            type = dgram
            plugin = "echo"
        }

        # xinetd.conf:18: service echo
        # inetd2porter: named echo-udp: an earlier service is called echo
        service echo-udp {
            listen = { "*:echo" }
            type = dgram
            plugin = "echo"
        }
        """] + ["# inetd2porter: not converted: " + why for why in (
            "porterd has no built-in 'servers' service",
            "an UNLISTED service needs a port",
            "RPC services are not supported",
            "porterd cannot redirect connections",
            "xinetd refuses a service without user",
            "xinetd refuses a service without socket_type and wait")],
        absent=["user = \"root\""])


DEFAULTS = """\
    defaults
    {
    \tlog_type = SYSLOG daemon info
    \tinstances = 30
    \tper_source = 5
    \tcps = 25 30
    \tonly_from = 192.168.0.0 10.{1,2}
    \tonly_from = localhost
    \tdisabled = off1
    \tbogus = 1
    }
    """


def limits_and_access(t):
    expect_converted(t, "defaults, limits, only_from and no_access", {
        "xinetd.conf": DEFAULTS + """\
            service a
            {
            \tsocket_type = stream
            \twait = no
            \tuser = root
            \tserver = /bin/cat
            \tinstances = UNLIMITED
            \tcps = 100 5
            \tonly_from += 172.16.0.0/12 fe80::/10 host.example.org
            \tonly_from -= 10.2.0.0
            \tno_access = 192.168.0.7 .evil.example 0.0.0.0
            }
            service b
            {
            \tsocket_type = stream
            \twait = no
            \tuser = root
            \tserver = /bin/cat
            \tper_source = 2
            \tonly_from =
            }
            service off1
            {
            \tsocket_type = dgram
            \twait = yes
            \tuser = root
            \tserver = /bin/cat
            }
            """}, ["""
        # inetd2porter: xinetd.conf:3: defaults log_type: porterd logs every
        #     connection itself (log-target)
        # inetd2porter: xinetd.conf:10: defaults bogus: unknown attribute,
        #     ignored as xinetd does
        # inetd2porter: xinetd.conf:1: defaults: cps = 25 30 is
        #     approximated: above 25 connections a second xinetd stopped the
        #     service for 30 seconds; porterd refuses only the excess (rate =
        #     25, burst = 25)
        # inetd2porter: xinetd.conf:1: defaults: only_from localhost taken
        #     as 127.0.0.1 and ::1
        """, """
        # xinetd.conf:12: service a
        # inetd2porter: cps = 100 5 is approximated: above 100 connections
        #     a second xinetd stopped the service for 5 seconds; porterd
        #     refuses only the excess (rate = 100, burst = 100)
        # inetd2porter: only_from host.example.org dropped: porterd matches
        #     numeric addresses only
        # inetd2porter: no_access .evil.example dropped: porterd matches
        #     numeric addresses only; that host is NOT denied
        service a {
            listen = { "*:a" }
            exec = "/bin/cat"
            stderr = socket
            user = "root"
            max-connections = 0
            max-per-source = 5
            rate = 100
            burst = 100
            allow = { "192.168.0.0/16", "10.1.0.0/16", "127.0.0.1", "::1",
                      "172.16.0.0/12", "fe80::/10" }
            deny = { "192.168.0.7", "0.0.0.0/0", "::/0" }
        }
        """, """
        # xinetd.conf:24: service b
        # inetd2porter: only_from admits no address porterd can express:
        #     every peer is denied
        service b {
            listen = { "*:b" }
            exec = "/bin/cat"
            stderr = socket
            user = "root"
            max-connections = 30
            max-per-source = 2
            rate = 25
            burst = 25
            deny = { "0.0.0.0/0", "::/0" }
        }
        """, """
        # xinetd.conf:33: service off1
        # inetd2porter: only_from/no_access dropped: porterd cannot check
        #     the peers of a waiting service, whose handler takes the socket
        #     itself
        service off1 {
            listen = { "*:off1" }
            type = dgram
            exec = "/bin/cat"
            stderr = socket
            user = "root"
            rate = 25
            burst = 25
            disable = true
        }
        """])


def disabling(t):
    files = {"xinetd.conf": """\
        defaults
        {
        \tenabled = on1 off2
        }
        service on1
        {
        \tsocket_type = stream
        \twait = no
        \tuser = root
        \tserver = /bin/cat
        }
        service off1
        {
        \tsocket_type = stream
        \twait = no
        \tuser = root
        \tserver = /bin/cat
        }
        service off2
        {
        \tdisable = yes
        \tsocket_type = stream
        \twait = no
        \tuser = root
        \tserver = /bin/cat
        }
        """}
    expect_converted(t, "disable and the defaults' enabled list", files, [
        """
        service on1 {
            listen = { "*:on1" }
            exec = "/bin/cat"
            stderr = socket
            user = "root"
        }
        """, """
            user = "root"
            disable = true
        }

        # xinetd.conf:19: service off2
        """, """
        service off2 {
            listen = { "*:off2" }
            exec = "/bin/cat"
            stderr = socket
            user = "root"
            disable = true
        }
        """])
    expect_converted(t, "--skip-disabled", files, [
        "# xinetd.conf:12: service off1\n# inetd2porter: not converted: "
        "disabled, left out (--skip-disabled)"],
        absent=["service off1 {", "service off2 {", "disable = true"],
        args=["--skip-disabled", "--xinetd", "xinetd.conf"])


SVC = """\
    service %s
    {
    \tsocket_type = stream
    \twait = no
    \tuser = root
    \tserver = /bin/cat
    }
    """


def includes(t):
    files = {"etc/xinetd.conf": "include /etc/extra.conf\n"
             "includedir /etc/xinetd.d\n",
             "etc/extra.conf": SVC % "extra",
             "etc/xinetd.d/b": SVC % "b",
             "etc/xinetd.d/a": SVC % "a",
             "etc/xinetd.d/a.conf": SVC % "dotted",
             "etc/xinetd.d/a~": SVC % "backup"}
    expect_converted(t, "include and includedir under --root", files,
                     ["# etc/extra.conf:1: service extra",
                      "# etc/xinetd.d/a:1: service a\nservice a {",
                      "# etc/xinetd.d/b:1: service b\nservice b {"],
                     absent=["dotted", "backup"],
                     args=["--root", ".", "etc/xinetd.conf"])
    files["etc/xinetd.conf"] = "includedir xinetd.d\n"
    expect_converted(t, "a relative includedir is the including file's",
                     files, ["service a {", "service b {"],
                     args=["etc/xinetd.conf"])
    expect_converted(t, "--xinetd DIR reads the directory as includedir",
                     files, ["# etc/xinetd.d/a:1: service a"],
                     absent=["dotted"], args=["--xinetd", "etc/xinetd.d"])


def errors(t):
    for desc, text, msg in (
            ("'{' on the service line", "service a {\n}\n",
             "xinetd.conf:1: expected 'service NAME', 'defaults', 'include "
             "FILE' or 'includedir DIR'"),
            ("no '{'", "service a\nsocket_type = stream\n}\n",
             "xinetd.conf:2: expected '{' on a line of its own after "
             "xinetd.conf:1"),
            ("no space before the operator", "service a\n{\nwait= no\n}\n",
             "xinetd.conf:3: attribute wait needs a space before ="),
            ("no operator", "service a\n{\nwait no\n}\n",
             "xinetd.conf:3: expected 'attribute = value ...'"),
            ("no '}'", "# x\nservice a\n{\nwait = no\n",
             "xinetd.conf:2: section has no closing '}'"),
            ("a missing includedir", "includedir /nonexistent-dir\n",
             "xinetd.conf:1: includedir /nonexistent-dir: No such file or "
             "directory"),
            ("an include loop", "include xinetd.conf\n",
             "xinetd.conf:1: xinetd.conf is included twice")):
        expect_error(t, "error: " + desc, {"xinetd.conf": text}, msg,
                     args=["--xinetd", "xinetd.conf"])


def hosts_rules(t):
    """xinetd (built with libwrap, as Debian's) checks the hosts files for
    every service under the name it gives libwrap."""
    files = {"xinetd.conf": """\
        service finger
        {
        \tsocket_type\t= stream
        \twait\t\t= no
        \tuser\t\t= nobody
        \tserver\t\t= /usr/sbin/in.fingerd
        }
        service named
        {
        \tsocket_type\t= stream
        \twait\t\t= no
        \tuser\t\t= nobody
        \tserver\t\t= /bin/cat
        \tlibwrap\t\t= special
        }
        service off
        {
        \tsocket_type\t= stream
        \twait\t\t= no
        \tuser\t\t= nobody
        \tserver\t\t= /bin/cat
        \tflags\t\t= NOLIBWRAP
        }
        """, "allow": "in.fingerd : 192.0.2.0/24\nspecial : 198.51.100.\n",
        "deny": "ALL : ALL\n"}
    args = ["--hosts-allow", "allow", "--hosts-deny", "deny", "xinetd.conf"]
    expect_converted(t, "hosts rules by the name xinetd gives libwrap",
                     files, ["""
        service finger {
            listen = { "*:finger" }
            exec = "/usr/sbin/in.fingerd"
            stderr = socket
            user = "nobody"
            allow = { "192.0.2.0/24" }
            deny = { "0.0.0.0/0", "::/0" }
        }""", """
        service named {
            listen = { "*:named" }
            exec = "/bin/cat"
            stderr = socket
            user = "nobody"
            allow = { "198.51.100.0/24" }
            deny = { "0.0.0.0/0", "::/0" }
        }""", """
        service off {
            listen = { "*:off" }
            exec = "/bin/cat"
            stderr = socket
            user = "nobody"
        }"""], args=args)


def scenario(t):
    hosts_rules(t)
    services(t)
    kinds(t)
    limits_and_access(t)
    disabling(t)
    includes(t)
    errors(t)


if __name__ == "__main__":
    main(scenario)
