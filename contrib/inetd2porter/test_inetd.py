#!/usr/bin/env python3
"""test_inetd -- inetd2porter on hand-written inetd.conf files, and its
command line.

Asserts, with the exact sections and notes expected: the five internal
services become plugins and any other internal service is left out with a
note; tcp/udp become one dual-stack [::] listener (IPV6_V6ONLY=0), tcp6 an
IPv6-only one, tcp4 an IPv4 one; host prefixes (lists, [v6], names) and
`host:` default lines choose the listen addresses; a second service of the
same name is renamed by protocol; wait/nowait, .max (rate/burst), stream
wait (wait = true), user:group and user.group, sndbuf/rcvbuf, unix
sockets, argv[0] dropped (with a note when it is not the program's name),
tcpd replaced by the program it wraps; comments, continuation lines and
update-inetd's #<off># entries (disable = true, or left out with
--skip-disabled); RPC and raw services left out; strings quoted for
libconfuse.  Syntax errors give `file:line: what`, exit 1 and no output;
no input is a usage error (2); -o writes a file; a file is recognised as
inetd or xinetd by its content.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_harness import (convert, expect, expect_converted,  # noqa
                             expect_eq, fragment, main, run, run_porterd,
                             write_files)

DS = ("# inetd2porter: one dual-stack socket: inetd opened two for tcp, an "
      "IPv4 and an IPv6 one; porterd serves both on [::] with "
      "IPV6_V6ONLY=0 (write tcp4 and tcp6 entries to keep two)")

INTERNAL = """\
    # comment
    echo    stream  tcp     nowait  root    internal
    echo    dgram   udp     wait    root    internal
    discard stream  tcp6    nowait  root    internal
    daytime stream  tcp4    nowait  root    internal
    chargen stream  tcp46   wait    root    internal
    time    dgram   udp6    nowait  root    internal
    tcpmux  stream  tcp     nowait  root    internal
"""


def internal_services(t):
    expect_converted(t, "internal services become plugins", {
        "inetd.conf": INTERNAL}, [
        """
        # inetd.conf:2: echo stream tcp nowait root internal
        # inetd2porter: one dual-stack socket: inetd opened two for tcp, an IPv4 and an IPv6 one; porterd serves both on [::] with IPV6_V6ONLY=0 (write tcp4 and tcp6 entries to keep two)
        service echo {
            listen = { "[::]:echo" }
            plugin = "echo"
            options = { "IPV6_V6ONLY=0" }
        }
        """, """
        # inetd.conf:3: echo dgram udp wait root internal
        # inetd2porter: one dual-stack socket: inetd opened two for udp, an IPv4 and an IPv6 one; porterd serves both on [::] with IPV6_V6ONLY=0 (write udp4 and udp6 entries to keep two)
        # inetd2porter: named echo-udp: an earlier service is called echo
        service echo-udp {
            listen = { "[::]:echo" }
            type = dgram
            plugin = "echo"
            options = { "IPV6_V6ONLY=0" }
        }
        """, """
        service discard {
            listen = { "[::]:discard" }
            plugin = "discard"
            options = { "IPV6_V6ONLY" }
        }
        """, """
        service daytime {
            listen = { "*:daytime" }
            plugin = "daytime"
        }
        """, """
        # inetd2porter: 'wait' dropped: porterd's built-in chargen serves
        #     streams without wait
        service chargen {
            listen = { "[::]:chargen" }
            plugin = "chargen"
        """, """
        # inetd2porter: 'nowait' on a datagram service: porterd always waits
        #     on datagram sockets (the handler gets the socket)
        service time {
            listen = { "[::]:time" }
            type = dgram
            plugin = "time"
            options = { "IPV6_V6ONLY" }
        }
        """, """
        # inetd.conf:8: tcpmux stream tcp nowait root internal
        # inetd2porter: one dual-stack socket: inetd opened two for tcp, an IPv4 and an IPv6 one; porterd serves both on [::] with IPV6_V6ONLY=0 (write tcp4 and tcp6 entries to keep two)
        service tcpmux {
            listen = { "[::]:tcpmux" }
            plugin = "tcpmux"
            isolation = process
            user = "root"
            options = { "IPV6_V6ONLY=0" }
        }
        """], absent=['service echo {\n\tlisten = { "[::]:echo" }\n\tplugin = '
                      '"echo"\n\tuser'])


def listen_addresses(t):
    expect_converted(t, "host prefixes, host: lines and names", {
        "inetd.conf": """\
            127.0.0.1,[::1]:echo stream tcp nowait root internal
            10.0.0.1:
            discard stream tcp nowait root internal
            ::1:daytime stream tcp6 nowait root internal
            *:
            chargen stream tcp nowait root internal
            gw.example:time stream tcp4 nowait root internal
            gw.example,::1:qotd stream tcp6 nowait root /bin/cat cat
            10.0.0.1:2007 stream tcp6 nowait root /bin/cat cat
            """}, [
        'listen = { "127.0.0.1:echo", "[::1]:echo" }',
        """
            listen = { "10.0.0.1:discard" }
            plugin = "discard"
        }""", """
            listen = { "[::1]:daytime" }
            plugin = "daytime"
        }""", """
            listen = { "[::]:chargen" }""",
        "# inetd2porter: porterd resolves 'gw.example' when it loads and "
        "listens on its first IPv4 address only",
        'listen = { "gw.example:time" }',
        "# inetd2porter: listen address 'gw.example' dropped: porterd "
        "resolves names to IPv4 only; write the IPv6 address",
        'listen = { "[::1]:qotd" }',
        "# inetd.conf:9: 10.0.0.1:2007 stream tcp6 nowait root /bin/cat cat"
        "\n# inetd2porter: listen address 10.0.0.1 dropped: not an IPv6 "
        "address\n# inetd2porter: not converted: no address left to listen "
        "on"], absent=["service 2007"])


def exec_services(t):
    expect_converted(t, "exec services: args, users, groups, wait, limits", {
        "inetd.conf": """\
            qotd stream tcp nowait.120 nobody:nogroup /usr/bin/env env -i
            ident stream tcp wait.0 daemon.daemon /usr/sbin/identd identd
            talk dgram udp wait nobody.tty /usr/sbin/in.talkd in.talkd
            bare stream tcp nowait root /bin/true
            box stream tcp nowait root /bin/busybox telnetd -i
            2107 stream tcp,rcvbuf=64k,sndbuf=1m nowait root /bin/cat cat
            """}, [
        """
        # inetd.conf:1: qotd stream tcp nowait.120 nobody:nogroup
        #     /usr/bin/env env -i
        # inetd2porter: one dual-stack socket: inetd opened two for tcp, an IPv4 and an IPv6 one; porterd serves both on [::] with IPV6_V6ONLY=0 (write tcp4 and tcp6 entries to keep two)
        # inetd2porter: nowait.120 is approximated: inetd allows 120 starts
        #     a minute, then stops the service for 10 minutes; porterd
        #     refuses only the excess (rate = 120/60 a second, burst = 120)
        service qotd {
            listen = { "[::]:qotd" }
            exec = "/usr/bin/env"
            args = { "-i" }
            stderr = socket
            user = "nobody"
            group = "nogroup"
            options = { "IPV6_V6ONLY=0" }
            rate = 2
            burst = 120
        }
        """, """
        service ident {
            listen = { "[::]:ident" }
            exec = "/usr/sbin/identd"
            stderr = socket
            wait = true
            user = "daemon"
            group = "daemon"
            options = { "IPV6_V6ONLY=0" }
        }
        """, """
        service talk {
            listen = { "[::]:talk" }
            type = dgram
            exec = "/usr/sbin/in.talkd"
            stderr = socket
            user = "nobody"
            group = "tty"
        """, """
        service bare {
            listen = { "[::]:bare" }
            exec = "/bin/true"
            stderr = socket
            user = "root"
        """,
        """
        service box {
            listen = { "[::]:box" }
            exec = "/bin/busybox"
            argv0 = "telnetd"
            args = { "-i" }
            stderr = socket
        """,
        'options = { "IPV6_V6ONLY=0", "SO_RCVBUF=65536", "SO_SNDBUF=1048576"'
        ' }'], absent=['argv0 = "identd"', 'argv0 = "env"'])

    expect_converted(t, "tcpd: replaced by its program, tcp-wrappers on", {
        "inetd.conf": """\
            telnet stream tcp nowait telnetd /usr/sbin/tcpd
                /usr/sbin/in.telnetd -h
            ftp stream tcp nowait root /usr/sbin/tcpd in.ftpd
            rsh stream tcp nowait root /usr/sbin/tcpd
            """}, [
        """
        # inetd2porter: tcpd replaced: porterd runs /usr/sbin/in.telnetd and applies /etc/hosts.allow and /etc/hosts.deny itself (tcp-wrappers = true)
        service telnet {
            listen = { "[::]:telnet" }
            exec = "/usr/sbin/in.telnetd"
            args = { "-h" }
            stderr = socket
            user = "telnetd"
            options = { "IPV6_V6ONLY=0" }
            tcp-wrappers = true
        """, """
        service ftp {
            listen = { "[::]:ftp" }
            exec = "/usr/sbin/in.ftpd"
            stderr = socket
        """,
        "# inetd2porter: not converted: tcpd without the program it wraps"],
        absent=["service rsh", "/usr/sbin/tcpd\""])

    expect_converted(t, "unix sockets, quoting, RPC, raw, unknown protocol", {
        "inetd.conf": """\
            /run/my+app.sock stream unix nowait daemon /bin/echo
                echo a"b $HOME c\\d
            /run/echo.sock stream unix nowait root internal
            rstatd/1-3 dgram rpc/udp wait root /usr/sbin/rpc.rstatd rpc.rstatd
            icmp raw icmp nowait root /bin/true true
            sctpd stream sctp nowait root /bin/true true
            """}, [
        """
        # inetd2porter: named my_app.sock: 'my+app.sock' is not a plain word
        service my_app.sock {
            listen = { "/run/my+app.sock" }
            exec = "/bin/echo"
            args = { "a\\"b", "\\$HOME", "c\\\\d" }
            stderr = socket
            user = "daemon"
        }
        """,
        "# inetd2porter: not converted: porterd has no built-in 'echo.sock' "
        "service",
        "# inetd2porter: not converted: RPC services need the portmapper, "
        "which porterd does not speak",
        "# inetd2porter: not converted: porterd has no raw sockets",
        "# inetd2porter: not converted: protocol 'sctp' is not supported"])


def layout(t):
    files = {"inetd.conf": """\
        # A comment, then an entry continued on indented lines.
        echo\tstream\ttcp\tnowait\troot
        \tinternal

        #<off># discard stream tcp nowait root internal
        daytime stream tcp nowait root /bin/cat cat
        \t-u
          # an indented comment ends the entry
        """}
    expect_converted(t, "comments, continuation lines, #<off># entries",
                     files, [
                         """
        # inetd.conf:2: echo stream tcp nowait root internal
        # inetd2porter: one dual-stack socket: inetd opened two for tcp, an IPv4 and an IPv6 one; porterd serves both on [::] with IPV6_V6ONLY=0 (write tcp4 and tcp6 entries to keep two)
        service echo {""", """
        # inetd.conf:5: #<off># discard stream tcp nowait root internal
        # inetd2porter: one dual-stack socket: inetd opened two for tcp, an IPv4 and an IPv6 one; porterd serves both on [::] with IPV6_V6ONLY=0 (write tcp4 and tcp6 entries to keep two)
        service discard {
            listen = { "[::]:discard" }
            plugin = "discard"
            options = { "IPV6_V6ONLY=0" }
            disable = true
        }""", """
        # inetd.conf:6: daytime stream tcp nowait root /bin/cat cat -u
        # inetd2porter: one dual-stack socket: inetd opened two for tcp, an IPv4 and an IPv6 one; porterd serves both on [::] with IPV6_V6ONLY=0 (write tcp4 and tcp6 entries to keep two)
        service daytime {""", 'args = { "-u" }'], absent=['"-v"'])
    # "-v" alone on an indented line after the comment is an entry of one
    # field: an error, not an argument.
    expect_skipped(t, "an indented line after a comment is not a "
                   "continuation", {"inetd.conf": files["inetd.conf"] +
                                    "\t-v\n"},
                   "inetd.conf:9", "-v", "expected 'service socket-type "
                   "protocol wait user server [args]', got 1 field",
                   ["service echo {", "service daytime {"])
    expect_converted(t, "--skip-disabled leaves #<off># entries out", files,
                     ["# inetd.conf:5: #<off># discard stream tcp nowait "
                      "root internal\n" + DS.strip() + "\n# inetd2porter: not converted: "
                      "disabled, left out (--skip-disabled)"],
                     absent=["service discard", "disable = true"],
                     args=["--skip-disabled", "--inetd", "inetd.conf"])


def expect_skipped(t, desc, files, where, line, msg, kept):
    """A bad entry: reported on stderr as 'where: msg; entry skipped',
    kept in the output as a comment, and the other entries converted
    (status 0)."""
    with t.case(desc):
        rc, out, err = convert(t, files)
        expect_eq((rc, err), (0, "inetd2porter: warning: %s: %s; entry "
                              "skipped\n" % (where, msg)),
                  "status and stderr")
        want = "# %s: %s\n# inetd2porter: not converted: bad entry: %s" % (
            where, line, msg)
        expect(want in out, "missing %r in:\n%s" % (want, out))
        for k in kept:
            expect(k in out, "the good entries are lost: %s" % out)


def _dir(t, files):
    d = t.tmpdir()
    write_files(d, files)
    return d


def errors(t):
    for desc, line, msg in (
            ("too few fields", "echo stream tcp nowait root",
             "expected 'service socket-type protocol wait user server "
             "[args]', got 5 fields"),
            ("unknown socket type", "echo strem tcp nowait root internal",
             "unknown socket type 'strem'"),
            ("bad wait field", "echo stream tcp nowait.x root internal",
             "expected wait or nowait[.max], not 'nowait.x'"),
            ("protocol against socket type",
             "echo dgram tcp wait root internal",
             "protocol tcp does not fit socket type dgram"),
            ("bad socket buffer",
             "echo stream tcp,rcvbuf=1g nowait root internal",
             "bad socket buffer 'rcvbuf=1g' (sndbuf=N or rcvbuf=N, with k "
             "or m)")):
        expect_skipped(t, "bad entry skipped: " + desc,
                       {"inetd.conf": "# first\n\n" + line + "\n"
                        "discard stream tcp4 nowait root internal\n"},
                       "inetd.conf:3", line, msg, ["service discard {"])


def command_line(t):
    d = _dir(t, {"inetd.conf": "echo stream tcp nowait root internal\n",
                 "xinetd.conf": """\
                     service echo
                     {
                     \tsocket_type = dgram
                     \twait = yes
                     \ttype = INTERNAL
                     }
                     """})
    with t.case("positional files are recognised by their content"):
        rc, out, err = run(["inetd.conf", "xinetd.conf"], cwd=d)
        expect_eq((rc, err), (0, ""), "status and stderr")
        expect(out.startswith(
            "# porterd.conf services converted by inetd2porter from:\n"
            "#   inetd.conf (inetd.conf)\n#   xinetd.conf (xinetd)\n"),
            "header: %r" % out[:200])
        expect("service echo {" in out and "service echo-udp {" in out,
               "both services, the second renamed: %r" % out)
    with t.case("-o writes the file, nothing on stdout"):
        rc, out, err = run(["--inetd", "inetd.conf", "-o", "out.conf"],
                           cwd=d)
        expect_eq((rc, out, err), (0, "", ""), "status, stdout, stderr")
        with open(os.path.join(d, "out.conf")) as f:
            expect("service echo {" in f.read(), "out.conf has the section")
    with t.case("no input: usage error, status 2"):
        rc, out, err = run([], cwd=d)
        expect_eq((rc, out), (2, ""), "status and stdout")
        expect("no input" in err, "stderr: %r" % err)
    with t.case("a missing file: 'FILE: reason', status 1"):
        rc, out, err = run(["--inetd", "nonexistent.conf"], cwd=d)
        expect_eq((rc, out, err), (1, "", "nonexistent.conf: No such file "
                                   "or directory\n"), "status, out, err")
    with t.case("nothing to convert says so"):
        rc, out, err = run(["--inetd", os.devnull], cwd=d)
        expect_eq(rc, 0, "status")
        expect(out.endswith("\n# (no services to convert)\n"), repr(out))
    with t.case("--help exits 0 and shows the usage"):
        rc, out, err = run(["--help"], cwd=d)
        expect_eq(rc, 0, "status")
        expect("--xinetd FILE|DIR" in out, "usage: %r" % out)


HOSTS_ALLOW = """\
    # hosts.allow
    in.fingerd : 10.1.0.0/255.255.0.0, [2001:db8::]/32, 192.168.7.
    in.fingerd : 10.0.0.0/8 : deny
    in.fingerd, in.talkd : .example.org
    ALL EXCEPT in.fingerd : 172.16.0.0/12
    in.fingerd@10.9.9.9 : ALL
    in.fingerd : 127.0.0.1 : spawn /bin/echo %h
    """
HOSTS_DENY = """\
    in.fingerd : 10.1.2.0/24
    ALL : ALL
    """


def hosts_rules(t):
    files = {"inetd.conf": """\
        finger stream tcp4 nowait nobody /usr/sbin/in.fingerd in.fingerd
        talk dgram udp4 wait nobody /usr/sbin/in.talkd in.talkd
        daytime stream tcp4 nowait root internal
        """, "hosts.allow": HOSTS_ALLOW, "hosts.deny": HOSTS_DENY}
    args = ["--libwrap", "--hosts-allow", "hosts.allow", "--hosts-deny",
            "hosts.deny", "inetd.conf"]
    with t.case("--libwrap: hosts rules become allow/deny, first match"):
        rc, out, err = convert(t, files, args)
        expect_eq(rc, 0, "status")
        want = fragment("""
            exec = "/usr/sbin/in.fingerd"
            stderr = socket
            user = "nobody"
            allow = { "10.1.0.0/16", "2001:db8::/32", "192.168.7.0/24",
                      "127.0.0.1" }
            deny = { "10.0.0.0/8", "0.0.0.0/0", "::/0" }
        }""")
        expect(want in out, "missing:\n%s\n--- output:\n%s" % (want, out))
        # hosts.deny's ALL : ALL denies both families: no "::/0" allow.
        # 10.1.2.0/24 (hosts.deny) lies inside hosts.allow's 10.1.0.0/16,
        # which matches first: it must not be written.
        expect("10.1.2.0/24 never decides: hosts.allow:2's rule matches "
               "first" in out, "shadowed rule not noted:\n" + out)
    with t.case("every rule that cannot be translated is a warning"):
        for rule, why in (
                ("hosts.allow:4: in.fingerd, in.talkd : .example.org",
                 "client '.example.org' is not an address or network"),
                ("hosts.allow:6: in.fingerd@10.9.9.9 : ALL",
                 "the daemon pattern depends on the server address"),
                ("hosts.allow:7: in.fingerd : 127.0.0.1 : spawn /bin/echo "
                 "%h", "option 'spawn /bin/echo %h' is not kept")):
            line = ("inetd2porter: warning: service finger: hosts rule NOT "
                    "translated, it no longer applies: %s (%s)" % (rule, why))
            expect(line in err.splitlines(), "no warning %r in:\n%s"
                   % (line, err))
            expect(("hosts rule NOT translated, it no longer applies: %s "
                    "(%s)" % (rule, why)) in out, "no note for " + rule)
        expect("172.16.0.0/12" not in out.split("service finger")[1]
               .split("}")[0], "ALL EXCEPT in.fingerd applied to finger")
    with t.case("a waiting service cannot take the rules: each is named"):
        expect("inetd2porter: warning: service talk: hosts rule NOT "
               "translated, it no longer applies: hosts.allow:5 (porterd "
               "cannot check the peers of a waiting service)" in err, err)
    with t.case("internal services are not wrapped"):
        sec = out.split("service daytime {")[1].split("}")[0]
        expect("allow" not in sec and "deny" not in sec, sec)
    with t.case("the translated output passes porterd --check"):
        d = t.tmpdir()
        path = os.path.join(d, "out.conf")
        with open(path, "w") as f:
            # Programs this machine has, the rest as converted.
            f.write(re.sub(r'exec = "/usr/sbin/in\.\w+"',
                           'exec = "/bin/cat"', out))
        rc, o, e = run_porterd(["--check", "-f", path, "-P",
                                t.plugindir(["daytime"], d)])
        expect_eq((rc, e), (0, ""), "porterd --check")

    files["inetd.conf"] = ("finger stream tcp4 nowait nobody /usr/sbin/tcpd "
                           "in.fingerd\n")
    files["hosts.allow"] = "in.fingerd : 10.0.0.0/8\n"
    files["hosts.deny"] = "ALL : ALL\n"
    expect_converted(t, "tcpd: porterd reads hosts.allow/deny itself, no "
                     "allow/deny written", files, ["""
        service finger {
            listen = { "*:finger" }
            exec = "/usr/sbin/in.fingerd"
            stderr = socket
            user = "nobody"
            tcp-wrappers = true
        }"""], absent=["allow = ", "deny = "], args=args[1:])


def tcpmux_and_dual_stack(t):
    expect_converted(t, "tcpmux/NAME entries become the args of one tcpmux "
                     "service, written at the first; tcp46 is one socket "
                     "already", {"inetd.conf": """\
        tcpmux/+date stream tcp nowait root /bin/date date
        old stream tcp46 nowait root /bin/cat cat
        tcpmux/rawcat stream tcp nowait nobody:nogroup /bin/cat cat -u
        """}, ["""
        # inetd.conf:1: tcpmux/+date stream tcp nowait root /bin/date date
        # inetd2porter: one dual-stack socket: inetd opened two for tcp, an IPv4 and an IPv6 one; porterd serves both on [::] with IPV6_V6ONLY=0 (write tcp4 and tcp6 entries to keep two)
        service tcpmux {
            listen = { "[::]:tcpmux" }
            plugin = "tcpmux"
            args = { "+date root /bin/date date",
                     "rawcat nobody:nogroup /bin/cat cat -u" }
            isolation = process
            user = "root"
        ""","""
        # inetd.conf:3: tcpmux/rawcat stream tcp nowait nobody:nogroup /bin/cat cat -u
        # inetd2porter: not converted: served by the tcpmux service (one of its args)
        """], absent=["RPC", "tcp46, an IPv4"])
    expect_converted(t, "a tcpmux entry places the tcpmux service", {
        "inetd.conf": """\
        tcpmux/+date stream tcp nowait root /bin/date date
        127.0.0.1:tcpmux stream tcp nowait root internal
        """}, ["""
        # inetd.conf:2: 127.0.0.1:tcpmux stream tcp nowait root internal
        service tcpmux {
            listen = { "127.0.0.1:tcpmux" }
            plugin = "tcpmux"
            args = { "+date root /bin/date date" }
        """, "# inetd2porter: not converted: served by the tcpmux service"])


def scenario(t):
    hosts_rules(t)
    tcpmux_and_dual_stack(t)
    internal_services(t)
    listen_addresses(t)
    exec_services(t)
    layout(t)
    errors(t)
    command_line(t)


if __name__ == "__main__":
    main(scenario)
