#!/usr/bin/env python3
"""out_of_tree_plugin -- Porter as a plugin author and an operator see it:
installed, and used from outside the source tree.

Installs this build with `make install DESTDIR=<stage>` and asserts:
  (a) the layout under the configured prefix: sbindir/porterd;
      libporter.so with its soname (libporter.so -> the same file as
      libporter.so.N); include/porter/socket.h and plugin.h; porter.pc
      naming the real (unstaged) prefix; every plugin in the plugin dir;
      sysconfdir/porter/porterd.conf (and porterd.conf.dist, the same)
      and an empty conf.d/; porterd.conf and the installed man pages name
      the configured plugin directory, not the source's default (unless
      it is that); the systemd units in the unit dir configure chose,
      with @sbindir@ substituted; the man pages the build lists (if any);
      a second `make install` keeps an edited porterd.conf (and installs
      porterd.conf.dist again);
  (b) contrib/plugin-example, copied to a temp dir, builds with its own
      Makefile against the stage only: -Werror clean, every porter header
      the compiler read (its -MD dependency list) comes from the stage,
      none from the source or build tree, and greet.so exports
      pt_plugin_descriptor and no other pt_ or greet_ symbol;
  (c) the seed's round trip, a C program including only <porter/socket.h>
      (listen on "" port 0, connect via 127.0.0.1, send both ways, EOF,
      idempotent close), builds with `pkg-config --cflags --libs porter`
      against the stage and exits 0;
  (d) the staged porterd (LD_LIBRARY_PATH = the staged libdir, and
      /proc/PID/maps shows that libporter is the staged one), given -P a
      dir with the built greet.so and the staged echo.so, replies to "Ada"
      with exactly "Hello, Ada! You are <client addr> on service greet.",
      logs the plugin's ctx->log line, answers a name too long, closes
      on a client that leaves without a name (logging why), echoes, and
      exits 0 on SIGTERM;
      `porterd --check` refuses an unknown greet argument with greet's
      message;
and finally that `make uninstall DESTDIR=<stage>` leaves no file behind
(empty directories may stay) but the edited porterd.conf, and, with the
edit undone, not that either.

Every path comes from the build's own Makefile (make is asked to print
the expanded variables), so --prefix, --libdir, --with-plugindir and
--with-systemdsystemunitdir are all honoured.  Sanitizer builds pass
their -fsanitize flags to the compiles, as an ASan libporter needs an ASan
program.  Staged .pc files are read with PKG_CONFIG_SYSROOT_DIR=<stage>
rather than --define-prefix: the sysroot prefixes the -I/-L flags of any
layout (a multiarch or custom libdir too), while --define-prefix guesses
the prefix from the .pc file's place (pcfiledir/../..) and would need the
example's Makefile to change its pkg-config command.  Skips (77) without a
C compiler, make, pkg-config or readelf/nm.
"""
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (TOP_BUILDDIR, TOP_SRCDIR, Failure, HarnessError,  # noqa
                        build_lock,
                        Skip, conf_opts, conf_service, connect, echo_roundtrip,
                        expect, expect_eq, main, recv_all)

MAKE_TIMEOUT = 300      # make install / uninstall of the whole tree
BUILD_TIMEOUT = 120     # one compile
RUN_TIMEOUT = 30        # the round-trip program

# What the sources name as the plugin directory (a default build's).
DEFAULT_PLUGINDIR = "/usr/local/lib/porter/plugins"
# The automake variables that can list man pages.
MAN_VARS = tuple("%sman%s_MANS" % (p, s) for p in ("", "dist_", "nodist_")
                 for s in ("", "3", "5", "7", "8"))
# Variables of the build's Makefile this test needs, fully expanded.
MAKE_VARS = ("CC", "SANITIZER_CFLAGS", "sbindir", "pkglibexecdir", "libdir",
             "includedir",
             "pkgconfigdir", "plugindir", "sysconfdir", "mandir",
             "systemdsystemunitdir", "systemdsystemunit_DATA",
             "plugin_LTLIBRARIES") + MAN_VARS
# Porter's own warning set (STYLE.md), for the round-trip program.
WARN_CFLAGS = ["-Wall", "-Wextra", "-Wstrict-prototypes",
               "-Wmissing-prototypes", "-Wshadow", "-Wpointer-arith",
               "-Wcast-qual", "-Wsign-compare"]
# A rule that prints any variable, added after the build's own Makefile.
PRINT_MK = "print-%%:\n\t@:$(info %s$*=$($*))\n"
PRINT_MARK = "@@porter-var "

ROUNDTRIP_C = r"""/* The seed's round trip, with nothing but <porter/socket.h>. */
#include <porter/socket.h>

static int
fail(const char *what, const pt_error *err)
{
	fprintf(stderr, "roundtrip: %s: %s\n", what,
	    err->kind != PT_ERR_NONE ? err->msg : "unexpected result");
	return 1;
}

/* recv(): the whole message, checked against want; 0 or -1. */
static int
expect_recv(pt_sock *s, const char *want, pt_error *err)
{
	char buf[64];
	ssize_t i, n;

	if ((n = pt_sock_recv_into(s, buf, sizeof(buf), 0, err)) == -1)
		return -1;
	for (i = 0; i < n && want[i] != '\0'; i++)
		if (buf[i] != want[i])
			return -1;
	return i == n && want[i] == '\0' ? 0 : -1;
}

int
main(void)
{
	char where_text[PT_ADDRSTRLEN], peer_text[PT_ADDRSTRLEN];
	pt_sock *srv, *cli, *conn;
	pt_addr where, peer;
	pt_error err;

	pt_error_clear(&err);
	if ((srv = pt_socket(AF_INET, SOCK_STREAM, 0, &err)) == NULL ||
	    pt_sock_settimeout(srv, 10.0, &err) == -1 ||
	    pt_sock_bind(srv, "", 0, &err) == -1 ||
	    pt_sock_listen(srv, 1, &err) == -1 ||
	    pt_sock_getsockname(srv, &where, &err) == -1)
		return fail("listen", &err);
	if (pt_addr_port(&where) <= 0)
		return fail("port 0 got no port", &err);
	if ((cli = pt_socket(AF_INET, SOCK_STREAM, 0, &err)) == NULL ||
	    pt_sock_settimeout(cli, 10.0, &err) == -1 ||
	    pt_sock_connect(cli, "127.0.0.1", pt_addr_port(&where), &err) == -1)
		return fail("connect", &err);
	if ((conn = pt_sock_accept(srv, &peer, &err)) == NULL)
		return fail("accept", &err);
	if (pt_sock_sendall(cli, "hello, porter", 13, 0, NULL, &err) == -1 ||
	    expect_recv(conn, "hello, porter", &err) == -1)
		return fail("send to the server", &err);
	if (pt_sock_send(conn, "back", 4, 0, &err) != 4 ||
	    expect_recv(cli, "back", &err) == -1)
		return fail("send to the client", &err);
	/* Half-close: the server reads EOF (0), not an error. */
	if (pt_sock_shutdown(cli, SHUT_WR, &err) == -1 ||
	    expect_recv(conn, "", &err) == -1)
		return fail("EOF at the server", &err);
	/* close() is idempotent; the client then reads EOF too. */
	if (pt_sock_close(conn, &err) == -1 || pt_sock_close(conn, &err) == -1 ||
	    expect_recv(cli, "", &err) == -1)
		return fail("EOF at the client", &err);
	printf("round trip ok: %s, client %s\n",
	    pt_addr_format(&where, where_text, sizeof(where_text)),
	    pt_addr_format(&peer, peer_text, sizeof(peer_text)));
	pt_sock_free(conn);
	pt_sock_free(cli);
	pt_sock_free(srv);
	return 0;
}
"""


# ------------------------------------------------------------------ tools

def clean_env(**extra):
    """The environment for sub-processes: without the parent make's flags
    (its jobserver descriptors are not inherited) nor compiler search
    paths that could reach into the source tree."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "CPATH",
                        "C_INCLUDE_PATH", "LIBRARY_PATH", "PKG_CONFIG_PATH",
                        "PKG_CONFIG_SYSROOT_DIR", "LD_LIBRARY_PATH")}
    env.update(extra)
    return env


def run(t, cmd, timeout, env=None, cwd=None):
    """Runs cmd; returns its output (stdout+stderr) or raises Failure
    with the tail of it if it fails or outlives timeout."""
    t.note("run: %s" % " ".join(cmd))
    # make install relinks plugins/.libs/*.so in place (libtool): other
    # tests copying them meanwhile must wait (build_lock).
    installing = "install" in cmd or "uninstall" in cmd
    try:
        with build_lock(True) if installing else contextlib.nullcontext():
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout,
                               env=env or clean_env(), cwd=cwd)
    except subprocess.TimeoutExpired:
        raise Failure("%s: no exit within %d s" % (cmd[0], timeout))
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        raise Failure("%s exited %d:\n%s" % (" ".join(cmd[:3]), p.returncode,
                                             "\n".join(out.splitlines()[-25:])))
    return out


def make_vars(t, tmp):
    """The MAKE_VARS of the build, expanded by make itself."""
    mk = t.write(os.path.join(tmp, "print.mk"), PRINT_MK % PRINT_MARK)
    out = run(t, ["make", "-s", "--no-print-directory", "-C", TOP_BUILDDIR,
                  "-f", "Makefile", "-f", mk] +
              ["print-" + v for v in MAKE_VARS], MAKE_TIMEOUT)
    res = {}
    for line in out.splitlines():
        if line.startswith(PRINT_MARK):
            k, v = line[len(PRINT_MARK):].split("=", 1)
            res[k] = v.strip()
    for k in MAKE_VARS:
        if k not in res:
            raise HarnessError("make did not print %s" % k)
    return res


def staged(stage, path):
    return os.path.join(stage, path.lstrip("/"))


def needs(*tools):
    for tool in tools:
        if shutil.which(tool) is None:
            raise Skip("%s not found" % tool)


def porter_headers_read(depfile):
    """The porter/*.h paths in a gcc -MD dependency file."""
    with open(depfile) as f:
        words = f.read().replace("\\\n", " ").split()
    return [os.path.realpath(w) for w in words
            if re.search(r"(^|/)porter/[^/]+\.h$", w)]


def expect_outside_tree(paths, stage, what):
    """Every path is under stage, none under the source or build tree."""
    stage = os.path.realpath(stage)
    trees = [os.path.realpath(d) + "/" for d in (TOP_SRCDIR, TOP_BUILDDIR)]
    expect(paths, "%s: no porter header in the dependency list" % what)
    for p in paths:
        expect(p.startswith(stage + "/"),
               "%s: read %s, outside the stage %s" % (what, p, stage))
        expect(not any(p.startswith(tr) for tr in trees),
               "%s: read %s from the source tree" % (what, p))


# ------------------------------------------------------------------ parts

def check_layout(t, v, stage):
    def S(path):
        return staged(stage, path)

    with t.case("porterd in sbindir, executable"):
        p = S(os.path.join(v["sbindir"], "porterd"))
        expect(os.path.isfile(p) and os.access(p, os.X_OK), "no %s" % p)
    with t.case("porterd-pool in pkglibexecdir, without porterd's libraries"):
        p = S(os.path.join(v["pkglibexecdir"], "porterd-pool"))
        expect(os.path.isfile(p) and os.access(p, os.X_OK), "no %s" % p)
        out = run(t, ["readelf", "-d", p], BUILD_TIMEOUT)
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
        heavy = [n for n in needed
                 if n.startswith(("libssl", "libcrypto", "libsystemd",
                                  "libconfuse", "libjansson", "libcap"))]
        expect(not heavy, "porterd-pool links %s" % ", ".join(heavy))
    with t.case("libporter.so with its soname, in libdir"):
        lib = S(os.path.join(v["libdir"], "libporter.so"))
        expect(os.path.islink(lib), "%s is not a symlink" % lib)
        out = run(t, ["readelf", "-d", os.path.realpath(lib)], BUILD_TIMEOUT)
        m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
        expect(m, "libporter has no SONAME")
        expect(re.match(r"^libporter\.so\.\d+$", m.group(1)),
               "soname %r is not libporter.so.N" % m.group(1))
        so = os.path.join(os.path.dirname(lib), m.group(1))
        expect(os.path.exists(so), "soname file %s missing" % so)
        expect_eq(os.path.realpath(so), os.path.realpath(lib),
                  "file behind the soname")
    with t.case("headers in includedir/porter"):
        for h in ("socket.h", "plugin.h"):
            p = S(os.path.join(v["includedir"], "porter", h))
            expect(os.path.isfile(p), "no %s" % p)
    with t.case("porter.pc in pkgconfigdir, naming the unstaged paths"):
        pc = S(os.path.join(v["pkgconfigdir"], "porter.pc"))
        expect(os.path.isfile(pc), "no %s" % pc)
        with open(pc) as f:
            text = f.read()
        expect(stage not in text, "porter.pc mentions the DESTDIR")
        got = run(t, ["pkg-config", "--variable=plugindir", "porter"],
                  BUILD_TIMEOUT, clean_env(PKG_CONFIG_PATH=os.path.dirname(pc)))
        expect_eq(got.strip(), v["plugindir"], "pkg-config plugindir")
    with t.case("every plugin in the plugin dir"):
        names = [os.path.basename(x)[:-3] + ".so"
                 for x in v["plugin_LTLIBRARIES"].split()]
        expect("echo.so" in names, "plugin_LTLIBRARIES: %r" % names)
        for n in names:
            p = S(os.path.join(v["plugindir"], n))
            expect(os.path.isfile(p), "no %s" % p)
    with t.case("porterd.conf and an empty conf.d/ in sysconfdir/porter"):
        d = S(os.path.join(v["sysconfdir"], "porter"))
        expect(os.path.isfile(os.path.join(d, "porterd.conf")),
               "no %s/porterd.conf" % d)
        with open(os.path.join(d, "porterd.conf")) as f:
            conf = f.read()
        with open(os.path.join(d, "porterd.conf.dist")) as f:
            expect_eq(f.read(), conf, "porterd.conf.dist")
        expect('#plugin-dir = "%s"\n' % v["plugindir"] in conf,
               "porterd.conf does not name the plugin dir %s"
               % v["plugindir"])
        expect(os.path.isdir(os.path.join(d, "conf.d")), "no %s/conf.d" % d)
        expect_eq(os.listdir(os.path.join(d, "conf.d")), [], "conf.d")
    with t.case("systemd units in %s" % v["systemdsystemunitdir"]):
        units = [os.path.basename(x)
                 for x in v["systemdsystemunit_DATA"].split()]
        expect("porterd.service" in units, "units: %r" % units)
        for u in units:
            p = S(os.path.join(v["systemdsystemunitdir"], u))
            expect(os.path.isfile(p), "no %s" % p)
        with open(S(os.path.join(v["systemdsystemunitdir"],
                                 "porterd.service"))) as f:
            text = f.read()
        expect("@" + "sbindir@" not in text, "@sbindir@ not substituted")
        expect("ExecStart=%s/porterd " % v["sbindir"] in text,
               "ExecStart does not run %s/porterd" % v["sbindir"])
    mans = sorted(set(" ".join(v[k] for k in MAN_VARS).split()))
    if not mans:
        t.note("this build lists no man pages")
    for man in mans:
        base = os.path.basename(man)
        sect = base.rsplit(".", 1)[-1]
        with t.case("man page %s in mandir/man%s" % (base, sect[:1])):
            p = S(os.path.join(v["mandir"], "man" + sect[:1], base))
            expect(os.path.isfile(p), "no %s" % p)
            with open(p) as f:
                text = f.read()
            if DEFAULT_PLUGINDIR != v["plugindir"]:
                expect(DEFAULT_PLUGINDIR not in text,
                       "%s names %s, not the build's %s"
                       % (base, DEFAULT_PLUGINDIR, v["plugindir"]))
            if base in ("porterd.8", "porterd.conf.5"):
                expect(v["plugindir"] in text.replace("\\-", "-"),
                       "%s does not name %s" % (base, v["plugindir"]))


def check_reinstall(t, v, stage):
    """A second make install keeps the operator's porterd.conf; returns
    its path."""
    conf = staged(stage, os.path.join(v["sysconfdir"], "porter",
                                      "porterd.conf"))
    with t.case("make install again keeps an edited porterd.conf"):
        with open(conf, "a") as f:
            f.write("# edited by the operator\n")
        os.remove(conf + ".dist")
        run(t, ["make", "-C", TOP_BUILDDIR, "install", "DESTDIR=" + stage],
            MAKE_TIMEOUT)
        with open(conf) as f:
            expect(f.read().endswith("# edited by the operator\n"),
                   "make install overwrote the edited porterd.conf")
        expect(os.path.isfile(conf + ".dist"), "porterd.conf.dist not "
               "installed again")
    return conf


def compile_flags(v):
    san = v["SANITIZER_CFLAGS"]
    return ("-O2 -g -Werror " + san).strip(), san


def build_example(t, v, stage, tmp, pcenv):
    """Builds a copy of contrib/plugin-example; returns greet.so's path."""
    src = os.path.join(TOP_SRCDIR, "contrib", "plugin-example")
    ex = os.path.join(tmp, "greet-src")
    os.mkdir(ex, 0o755)
    for name in ("Makefile", "greet.c", "README.md"):
        shutil.copyfile(os.path.join(src, name), os.path.join(ex, name))
    cflags, ldflags = compile_flags(v)
    dep = os.path.join(tmp, "greet.d")
    run(t, ["make", "-C", ex, "CC=" + v["CC"], "CFLAGS=" + cflags,
            "LDFLAGS=" + ldflags, "CPPFLAGS=-MD -MF " + dep],
        BUILD_TIMEOUT, pcenv)
    so = os.path.join(ex, "greet.so")
    expect(os.path.isfile(so), "make did not produce greet.so")
    expect_outside_tree(porter_headers_read(dep), stage, "greet.c")
    out = run(t, ["nm", "-D", "--defined-only", so], BUILD_TIMEOUT)
    syms = [line.split()[-1] for line in out.splitlines() if line.strip()]
    expect("pt_plugin_descriptor" in syms,
           "greet.so does not export pt_plugin_descriptor: %r" % syms)
    extra = [s for s in syms if s != "pt_plugin_descriptor" and
             (s.startswith("pt_") or s.startswith("greet"))]
    expect(not extra, "greet.so exports more than its descriptor: %r"
           % extra)
    return so


def build_roundtrip(t, v, stage, tmp, pcenv, libenv):
    c = t.write(os.path.join(tmp, "roundtrip.c"), ROUNDTRIP_C)
    exe = os.path.join(tmp, "roundtrip")
    dep = os.path.join(tmp, "roundtrip.d")
    pc = run(t, ["pkg-config", "--cflags", "--libs", "porter"],
             BUILD_TIMEOUT, pcenv).split()
    cflags, _ = compile_flags(v)    # one command compiles and links
    run(t, v["CC"].split() + cflags.split() +
        WARN_CFLAGS + ["-MD", "-MF", dep, "-o", exe, c] + pc,
        BUILD_TIMEOUT, pcenv)
    expect_outside_tree(porter_headers_read(dep), stage, "roundtrip.c")
    out = run(t, [exe], RUN_TIMEOUT, libenv)
    expect("round trip ok" in out, "unexpected output: %r" % out)
    t.note(out.strip())


def greet(addr, name):
    """Sends one name line; returns (client's address text, reply)."""
    s = connect(addr)
    try:
        me = "%s:%d" % s.getsockname()[:2]
        s.sendall(name.encode() + b"\r\n")
        return me, recv_all(s, 4096).decode("utf-8", "replace")
    finally:
        s.close()


def run_staged_porterd(t, v, stage, tmp, so, libenv):
    porterd = staged(stage, os.path.join(v["sbindir"], "porterd"))
    # Not in tmp: porterd loads no plugin below world-writable /tmp.
    plugins = os.path.join(t.trusted_tmpdir(), "plugins")
    os.mkdir(plugins, 0o755)
    shutil.copyfile(so, os.path.join(plugins, "greet.so"))
    os.chmod(os.path.join(plugins, "greet.so"), 0o755)
    shutil.copyfile(staged(stage, os.path.join(v["plugindir"], "echo.so")),
                    os.path.join(plugins, "echo.so"))
    os.chmod(os.path.join(plugins, "echo.so"), 0o644)

    with t.case("porterd --check refuses an unknown greet argument"):
        bad = t.write(os.path.join(tmp, "bad.conf"), conf_service(
            "greet", listen=["127.0.0.1:0"], plugin="greet",
            args=["greeting=Hi", "colour=blue"]))
        p = subprocess.run([porterd, "--check", "-f", bad, "-P", plugins],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=RUN_TIMEOUT, env=libenv)
        err = p.stderr.decode("utf-8", "replace")
        expect(p.returncode != 0, "exit 0 for a bad argument")
        expect("unknown argument 'colour=blue'" in err,
               "no greet message in: %r" % err)

    conf = conf_opts(shutdown_timeout=5)
    conf += conf_service("greet", listen=["127.0.0.1:0"], plugin="greet",
                         args=["greeting=Hello", "timeout=5"])
    conf += conf_service("echo", listen=["127.0.0.1:0"], plugin="echo")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins, env=libenv, start=False)
    d.cmd[0] = porterd
    d.start()
    with t.case("staged porterd is ready with 2 services"):
        d.wait_line(r"^ready: 2 services")
    if not d.alive():
        return   # the reason is in the failure above and porterd's log
    with t.case("staged porterd runs the staged libporter"):
        with open("/proc/%d/maps" % d.pid) as f:
            libs = {line.split()[-1] for line in f
                    if "libporter.so" in line}
        expect(libs, "libporter not mapped")
        real = os.path.realpath(staged(stage, v["libdir"]))
        expect(all(x.startswith(real + "/") for x in libs),
               "libporter mapped from %r, not from %s" % (libs, real))
    addr = d.addr("greet")
    with t.case("greet replies with the greeting, peer and service"):
        me, reply = greet(addr, "Ada")
        expect_eq(reply, "Hello, Ada! You are %s on service greet.\r\n" % me,
                  "reply")
        d.wait_line(r"^service greet: %s: greet: greeted 'Ada'$"
                    % re.escape(me))
    with t.case("greet answers a name that is too long"):
        me, reply = greet(addr, "x" * 300)
        expect_eq(reply, "Sorry, that name is too long.\r\n", "reply")
    with t.case("greet: a client leaving without a name gets nothing"):
        s = connect(addr)
        try:
            s.shutdown(socket.SHUT_WR)
            expect_eq(recv_all(s, 4096), b"", "reply")
        finally:
            s.close()
        d.wait_line(r"service greet: .*greet: no name line before EOF")
    with t.case("the staged echo plugin echoes"):
        data = b"staged echo\n" * 100
        expect_eq(echo_roundtrip(d.addr("echo"), data), data, "echo")
    with t.case("SIGTERM: staged porterd exits 0"):
        d.signal(signal.SIGTERM)
        expect_eq(d.wait_exit(), 0, "exit status")


def check_uninstall(t, stage, conf):
    def uninstall():
        run(t, ["make", "-C", TOP_BUILDDIR, "uninstall", "DESTDIR=" + stage],
            MAKE_TIMEOUT)
        left = []
        for root, _, files in os.walk(stage):
            left += [os.path.join(root, f) for f in files]
        return left

    with t.case("make uninstall DESTDIR leaves only the edited config"):
        shipped = None
        if os.path.isfile(conf + ".dist"):
            with open(conf + ".dist") as f:
                shipped = f.read()
        expect_eq(uninstall(), [conf], "left behind")
        if shipped is not None:
            with open(conf, "w") as f:
                f.write(shipped)
            run(t, ["make", "-C", TOP_BUILDDIR, "install",
                    "DESTDIR=" + stage], MAKE_TIMEOUT)
    with t.case("make uninstall DESTDIR leaves no files"):
        left = uninstall()
        expect(not left, "left behind: %r" % left[:20])


# ------------------------------------------------------------------ scenario

def scenario(t):
    needs("make", "pkg-config", "readelf", "nm")
    tmp = t.tmpdir()
    v = make_vars(t, tmp)
    needs(v["CC"].split()[0] if v["CC"] else "cc")
    stage = os.path.join(tmp, "stage")

    with t.case("make install DESTDIR=<stage>"):
        run(t, ["make", "-C", TOP_BUILDDIR, "install", "DESTDIR=" + stage],
            MAKE_TIMEOUT)
    if not os.path.isdir(stage):
        raise Failure("make install created nothing; nothing more to check")
    check_layout(t, v, stage)
    conf = check_reinstall(t, v, stage)

    # pkg-config finds the staged porter.pc first; the sysroot makes its
    # -I and -L flags point into the stage.
    pcenv = clean_env(
        PKG_CONFIG_PATH=staged(stage, v["pkgconfigdir"]),
        PKG_CONFIG_SYSROOT_DIR=stage)
    libenv = clean_env(LD_LIBRARY_PATH=staged(stage, v["libdir"]))
    res = {}
    with t.case("contrib/plugin-example builds against the stage only"):
        res["so"] = build_example(t, v, stage, tmp, pcenv)
    with t.case("the seed's round trip builds against the stage and runs"):
        build_roundtrip(t, v, stage, tmp, pcenv, libenv)
    if "so" in res:
        run_staged_porterd(t, v, stage, tmp, res["so"], libenv)
    check_uninstall(t, stage, conf)


if __name__ == "__main__":
    main(scenario)
