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
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_harness import (expect, expect_converted, expect_eq,  # noqa
                             expect_error, main, run, write_files)

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
        service echo {
            listen = { "[::]:echo" }
            plugin = "echo"
            options = { "IPV6_V6ONLY=0" }
        }
        """, """
        # inetd.conf:3: echo dgram udp wait root internal
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
        # inetd2porter: not converted: porterd has no built-in 'tcpmux'
        #     service
        """], absent=["service tcpmux", "user ="])


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
        # inetd2porter: nowait.120 is approximated: inetd allows 120 starts
        #     a minute, then stops the service for 10 minutes; porterd
        #     refuses only the excess (rate = 120/60 a second, burst = 120)
        service qotd {
            listen = { "[::]:qotd" }
            exec = "/usr/bin/env"
            args = { "-i" }
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
            user = "nobody"
            group = "tty"
        """, """
        service bare {
            listen = { "[::]:bare" }
            exec = "/bin/true"
            user = "root"
        """,
        "# inetd2porter: argv[0] was 'telnetd'; porterd passes the program "
        "path '/bin/busybox' instead, which matters to multi-call programs"
        "\nservice box {", 'args = { "-i" }',
        'options = { "IPV6_V6ONLY=0", "SO_RCVBUF=65536", "SO_SNDBUF=1048576"'
        ' }'], absent=["argv[0] was 'identd'", "argv[0] was 'env'"])

    expect_converted(t, "tcpd: the wrapped program runs directly", {
        "inetd.conf": """\
            telnet stream tcp nowait telnetd /usr/sbin/tcpd
                /usr/sbin/in.telnetd -h
            ftp stream tcp nowait root /usr/sbin/tcpd in.ftpd
            rsh stream tcp nowait root /usr/sbin/tcpd
            """}, [
        """
        # inetd2porter: tcpd dropped: porterd runs /usr/sbin/in.telnetd
        #     directly, so /etc/hosts.allow and /etc/hosts.deny are not
        #     consulted; write the rules as allow/deny
        service telnet {
            listen = { "[::]:telnet" }
            exec = "/usr/sbin/in.telnetd"
            args = { "-h" }
            user = "telnetd"
        """, 'exec = "/usr/sbin/in.ftpd"',
        "# inetd2porter: not converted: tcpd without the program it wraps"],
        absent=["tcpd\"", "service rsh"])

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
        service echo {""", """
        # inetd.conf:5: #<off># discard stream tcp nowait root internal
        service discard {
            listen = { "[::]:discard" }
            plugin = "discard"
            options = { "IPV6_V6ONLY=0" }
            disable = true
        }""", """
        # inetd.conf:6: daytime stream tcp nowait root /bin/cat cat -u
        service daytime {""", 'args = { "-u" }'], absent=['"-v"'])
    # "-v" alone on an indented line after the comment is an entry of one
    # field: an error, not an argument.
    expect_error(t, "an indented line after a comment is not a "
                 "continuation", {"inetd.conf": files["inetd.conf"] +
                                  "\t-v\n"},
                 "inetd.conf:9: expected 'service socket-type protocol wait "
                 "user server [args]', got 1 field")
    expect_converted(t, "--skip-disabled leaves #<off># entries out", files,
                     ["# inetd.conf:5: #<off># discard stream tcp nowait "
                      "root internal\n# inetd2porter: not converted: "
                      "disabled, left out (--skip-disabled)"],
                     absent=["service discard", "disable = true"],
                     args=["--skip-disabled", "--inetd", "inetd.conf"])


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
        expect_error(t, "error: " + desc,
                     {"inetd.conf": "# first\n\n" + line + "\n"},
                     "inetd.conf:3: " + msg)


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


def scenario(t):
    internal_services(t)
    listen_addresses(t)
    exec_services(t)
    layout(t)
    errors(t)
    command_line(t)


if __name__ == "__main__":
    main(scenario)
