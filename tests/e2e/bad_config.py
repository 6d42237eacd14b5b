#!/usr/bin/env python3
"""bad_config -- a config with an error is refused with "FILE:LINE: what".

For every case (table below) porterd is started in the foreground and must
exit 1 before "ready:" and before opening any listener, printing
"porterd: FILE:LINE: <message>" where FILE is the file holding the error
(the drop-in, for an error in an included file) and LINE the line marked
in the case; `porterd --check` must fail the same way.
"""
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import expect, expect_eq, main, run_porterd  # noqa

# A config is a list of lines; the one ending in "#<" is where the error
# is reported.  MSG is the message after "FILE:LINE: " (a regex; {file}
# stands for the config's path).
CASES = [
    ("unknown option",
     ['service echo {', '  listen = {"127.0.0.1:0"}', '  plugin = "echo"',
      '  colour = "blue" #<', '}'],
     r"no such option 'colour'"),
    ("unknown global option",
     ['colour = 1 #<', 'service echo {', '  listen = {"127.0.0.1:0"}',
      '  plugin = "echo"', '}'],
     r"no such option 'colour'"),
    ("wrong type (string for an integer)",
     ['service echo {', '  listen = {"127.0.0.1:0"}', '  plugin = "echo"',
      '  backlog = "lots" #<', '}'],
     r"invalid integer value for option 'backlog'"),
    ("wrong type (word for a boolean)",
     ['service echo {', '  listen = {"127.0.0.1:0"}', '  plugin = "echo"',
      '  wait = "maybe" #<', '}'],
     r"invalid boolean value for option 'wait'"),
    ("duplicate service",
     ['service echo {', '  listen = {"127.0.0.1:0"}', '  plugin = "echo"',
      '}', 'service echo { #<', '  listen = {"127.0.0.1:0"}',
      '  plugin = "echo"', '}'],
     r"duplicate service 'echo' \(first defined at {file}:1\)"),
    # Blamed on whichever of the two comes second.
    ("both plugin and exec",
     ['service echo {', '  listen = {"127.0.0.1:0"}', '  plugin = "echo"',
      '  exec = "/bin/cat" #<', '}'],
     r"service 'echo': plugin and exec are mutually exclusive"),
    ("neither plugin nor exec",
     ['service echo { #<', '  listen = {"127.0.0.1:0"}', '}'],
     r"service 'echo': needs plugin or exec"),
    ("unknown user",
     ['service echo {', '  listen = {"127.0.0.1:0"}', '  plugin = "echo"',
      '  user = "porter-no-such-user" #<', '}'],
     r"service 'echo': unknown user 'porter-no-such-user'"),
    ("unknown group",
     ['service echo {', '  listen = {"127.0.0.1:0"}', '  plugin = "echo"',
      '  group = "porter-no-such-group" #<', '}'],
     r"service 'echo': unknown group 'porter-no-such-group'"),
    ("no port and an unknown service name",
     ['service nosuchsvc {', '  listen = {"127.0.0.1"} #<',
      '  plugin = "echo"', '}'],
     r"service 'nosuchsvc': no port given and 'nosuchsvc/tcp' is not in "
     r"/etc/services"),
    # Numeric forms only: a bad name would make porterd ask the resolver.
    ("bad address (IPv4 in brackets)",
     ['service echo {', '  listen = {"127.0.0.1:0",',
      '    "[127.0.0.1]:0"} #<', '  plugin = "echo"', '}'],
     r"service 'echo': address '\[127\.0\.0\.1\]:0': not an IPv6 address"),
    ("bad address (unclosed bracket)",
     ['service echo {', '  listen = {"[::1:7"} #<', '  plugin = "echo"', '}'],
     r"service 'echo': address '\[::1:7': missing '\]'"),
    ("bad port",
     ['service echo {', '  listen = {"127.0.0.1:7x"} #<', '  plugin = "echo"',
      '}'],
     r"service 'echo': address '127\.0\.0\.1:7x': bad port '7x'"),
    ("port out of range",
     ['service echo {', '  listen = {"127.0.0.1:70000"} #<',
      '  plugin = "echo"', '}'],
     r"service 'echo': address '127\.0\.0\.1:70000': port out of range"),
    ("unknown socket option",
     ['service echo {', '  listen = {"127.0.0.1:0"}', '  plugin = "echo"',
      '  options = {"SO_KEEPALIVE",', '    "SO_NOSUCHTHING"} #<', '}'],
     r"service 'echo': unknown socket option 'SO_NOSUCHTHING'"),
    ("not a socket option",
     ['service echo {', '  listen = {"127.0.0.1:0"}', '  plugin = "echo"',
      '  options = {"AF_INET"} #<', '}'],
     r"service 'echo': 'AF_INET' is not a socket option"),
    ("bad socket type",
     ['service echo {', '  listen = {"127.0.0.1:0"}', '  plugin = "echo"',
      '  type = "streamy" #<', '}'],
     r"service 'echo': unknown type 'streamy' \(stream, dgram or "
     r"seqpacket\)"),
    ("bad isolation",
     ['service echo {', '  listen = {"127.0.0.1:0"}', '  plugin = "echo"',
      '  isolation = "sandbox" #<', '}'],
     r"service 'echo': unknown isolation 'sandbox' \(thread or process\)"),
    ("isolation on an exec service",
     ['service echo {', '  listen = {"127.0.0.1:0"}', '  exec = "/bin/cat"',
      '  isolation = "process" #<', '}'],
     r"service 'echo': isolation applies to plugins only"),
    ("env on a plugin service",
     ['service echo {', '  listen = {"127.0.0.1:0"}', '  plugin = "echo"',
      '  env = {"A=b"} #<', '}'],
     r"service 'echo': env applies to exec services only"),
    ("datagram service with wait = false",
     ['service echo {', '  listen = {"127.0.0.1:0"}', '  plugin = "echo"',
      '  type = "dgram"', '  wait = false #<', '}'],
     r"service 'echo': datagram services need wait = true"),
    ("relative exec path",
     ['service echo {', '  listen = {"127.0.0.1:0"}',
      '  exec = "bin/cat" #<', '}'],
     r"service 'echo': exec path 'bin/cat' is not absolute"),
    ("bad log level",
     ['log-level = "chatty" #<', 'service echo {',
      '  listen = {"127.0.0.1:0"}', '  plugin = "echo"', '}'],
     r"unknown log-level 'chatty' \(err, warning, notice, info or debug\)"),
    ("syntax error: unterminated section",
     ['service echo { #<', '  listen = {"127.0.0.1:0"}', '  plugin = "echo"'],
     r"'\{' without a matching '\}'"),
]


def write_case(tmp, i, lines):
    """Writes the config; returns (path, line number of the '#<' line)."""
    path = os.path.join(tmp, "case%d.conf" % i)
    mark = [n for n, x in enumerate(lines, 1) if x.endswith("#<")]
    with open(path, "w") as f:
        f.write("\n".join(x[:-2].rstrip() if x.endswith("#<") else x
                          for x in lines) + "\n")
    return path, mark[0]


def check_refused(t, case, args, path, line, msg):
    with t.case("%s: %s exits 1 with '%s:%d: ...'"
                % (case, " ".join(args), os.path.basename(path), line)):
        rc, out, err = run_porterd(args + ["-f", path])
        expect_eq(rc, 1, "exit status")
        msg = msg.replace("{file}", re.escape(path))
        want = r"^porterd: %s:%d: %s$" % (re.escape(path), line, msg)
        expect(re.search(want, err, re.M), "no line /%s/ in stderr:\n%s"
               % (want, err[-1500:]))
        expect("ready:" not in err and "listening on" not in err,
               "it started serving: %r" % err[-500:])
        expect("OK" not in out, "stdout: %r" % out)


def scenario(t):
    tmp = t.tmpdir()
    plugins = t.plugindir(["echo"], tmp)
    for i, (case, lines, msg) in enumerate(CASES):
        path, line = write_case(tmp, i, lines)
        check_refused(t, case, ["-n", "-d", "-P", plugins], path, line, msg)
        check_refused(t, case, ["--check", "-P", plugins], path, line, msg)

    # An error in a drop-in is reported with the drop-in's name and line.
    confd = os.path.join(tmp, "conf.d")
    os.mkdir(confd)
    main_conf = os.path.join(tmp, "main.conf")
    with open(main_conf, "w") as f:
        f.write('include = {"conf.d/*.conf"}\n'
                'service echo {\n  listen = {"127.0.0.1:0"}\n'
                '  plugin = "echo"\n}\n')
    dropin, line = write_case(confd, 99, [
        'service other {', '  listen = {"127.0.0.1:0"}', '  plugin = "echo"',
        '  backlog = "lots" #<', '}'])
    check_refused(t, "error in a drop-in", ["-n", "-d", "-P", plugins],
                  dropin, line, r"invalid integer value for option 'backlog'")

    with t.case("control: the drop-in fixed, the same config checks OK"):
        with open(dropin, "w") as f:
            f.write('service other {\n  listen = {"127.0.0.1:0"}\n'
                    '  plugin = "echo"\n}\n')
        rc, out, err = run_porterd(["--check", "-P", plugins, "-f",
                                    main_conf])
        expect_eq((rc, out), (0, "%s: OK (2 services)\n" % main_conf),
                  "status and stdout (stderr %r)" % err[-500:])


if __name__ == "__main__":
    main(scenario)
