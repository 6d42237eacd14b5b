#!/usr/bin/env python3
"""loader_refusals -- plugins porterd must refuse, each with one log line
naming the file and the reason.

For every case (table below) porterd is started in the foreground and must
exit 1 at start-up, before "ready:", with a line
"CONF:LINE: service NAME: ... <plugin file> ...: <reason>"; `porterd
--check` on the same config must exit 1 with the same reason and print no
"OK".  Control: a config using only good plugins starts (ready) and checks
OK, so the failures above are about the plugin and nothing else.

The file checked is the file loaded: a symlink is resolved, and every
directory from / down to the real file must be owned by root or
porterd's uid and writable by no one else, sticky or not.  So a plugin
dir whose echo.so links into a sticky world-writable directory is
refused naming that directory, as is a plugin below a group-writable
directory; a dangling link is "no such file".
"""
import os
import pwd
import re
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (INTERNAL_PLUGINS, conf_opts, conf_service,  # noqa
                        expect, expect_eq, main, run_porterd)

# (case, [(service, plugin, args)], file of the refused plugin, reason regex)
CASES = [
    # The named file does not exist.
    ("missing file", [("svc", "nosuch", None)], "nosuch",
     r"no such file"),
    # A text file named .so.
    ("not a shared object", [("svc", "notso", None)], "notso",
     r"not a shared object"),
    # An ELF object without pt_plugin_descriptor.
    ("no descriptor", [("svc", "no_descriptor", None)], "no_descriptor",
     r"no pt_plugin_descriptor\b"),
    ("bad magic", [("svc", "bad_magic", None)], "bad_magic",
     r"bad magic 0x[0-9a-f]{8}, expected 0x5054504c"),
    ("other ABI major", [("svc", "bad_major", None)], "bad_major",
     r"ABI major \d+, porterd has 1"),
    ("newer ABI minor", [("svc", "newer_minor", None)], "newer_minor",
     r"ABI 1\.\d+ is newer than porterd's 1\.2"),
    ("descriptor too short", [("svc", "short_size", None)], "short_size",
     r"descriptor size \d+, at least \d+ expected"),
    # An ABI 1.1 descriptor with a flag bit porterd does not know.
    ("unknown flag", [("svc", "bad_flags", None)], "bad_flags",
     r"unknown flags 0x80000001 \(porterd's ABI 1\.2 knows 0x00000001\)"),
    # Two files with the descriptor name "echo".
    ("duplicate name", [("svc", "echo", None), ("svc2", "dup_echo", None)],
     "dup_echo", r"name 'echo' is already used by \S*/echo\.so"),
    # refuse_init refuses unless its args contain "ok".
    ("init refuses", [("svc", "refuse_init", ["nope"])], None,
     r"plugin refuse_init refused its configuration"),
    # A plugin file anyone may write.
    ("file writable by others", [("svc", "worldw", None)], "worldw",
     r"writable by others"),
    # A plugin directory anyone may write (no sticky bit).
    ("directory writable by others", [("svc", "echo", None)], "echo",
     r"directory \S+/opendir is writable by others"),
    # A link from a good directory to a file in a sticky world-writable
    # one: the real path's directory is what counts, sticky or not.
    ("symlink into a sticky world-writable directory",
     [("svc", "linked", None)], "linked",
     r"directory \S+/sticky is writable by others"),
    # An ancestor of the plugin dir that its group may write.
    ("group-writable ancestor", [("svc", "echo", None)], "echo",
     r"directory \S+/groupw is writable by its group"),
    # A link to nothing: the real reason, not "not a shared object".
    ("dangling symlink", [("svc", "dangling", None)], "dangling",
     r"no such file$"),
]

# The plugin dir of the cases not using the good one.
PDIR = {"directory writable by others": "open",
        "group-writable ancestor": "groupw"}


def make_conf(t, tmp, name, services, plugindir):
    text = conf_opts(plugin_dir=plugindir)
    for svc, plugin, args in services:
        text += conf_service(svc, listen=["127.0.0.1:0"], plugin=plugin,
                             args=args)
    return t.write(os.path.join(tmp, name + ".conf"), text)


def scenario(t):
    # Plugins load only from a trusted tree: /tmp is world-writable.
    tmp = t.trusted_tmpdir()
    good = t.plugindir(["echo", "bad_magic", "bad_major", "newer_minor",
                        "short_size", "bad_flags", "no_descriptor",
                        "dup_echo",
                        "refuse_init"], tmp)
    t.write(os.path.join(good, "notso.so"), "this is not an ELF file\n")
    world = os.path.join(good, "worldw.so")
    shutil.copyfile(os.path.join(INTERNAL_PLUGINS, "echo.so"), world)
    os.chmod(world, 0o666)
    open_dir = os.path.join(tmp, "opendir")
    os.mkdir(open_dir)
    shutil.copyfile(os.path.join(INTERNAL_PLUGINS, "echo.so"),
                    os.path.join(open_dir, "echo.so"))
    os.chmod(os.path.join(open_dir, "echo.so"), 0o644)
    os.chmod(open_dir, 0o777)
    sticky = os.path.join(tmp, "sticky")
    os.mkdir(sticky)
    shutil.copyfile(os.path.join(INTERNAL_PLUGINS, "echo.so"),
                    os.path.join(sticky, "echo.so"))
    os.chmod(os.path.join(sticky, "echo.so"), 0o644)
    os.chmod(sticky, 0o1777)
    os.symlink(os.path.join(sticky, "echo.so"),
               os.path.join(good, "linked.so"))
    os.symlink(os.path.join(tmp, "nothing.so"),
               os.path.join(good, "dangling.so"))
    groupw = os.path.join(tmp, "groupw")
    os.mkdir(groupw)
    os.chmod(groupw, 0o775)
    gw_plugins = os.path.join(groupw, "plugins")
    os.mkdir(gw_plugins, 0o755)
    shutil.copyfile(os.path.join(INTERNAL_PLUGINS, "echo.so"),
                    os.path.join(gw_plugins, "echo.so"))
    os.chmod(os.path.join(gw_plugins, "echo.so"), 0o644)
    dirs = {"good": good, "open": open_dir, "groupw": gw_plugins}

    for i, (case, services, refused, reason) in enumerate(CASES):
        pdir = dirs[PDIR.get(case, "good")]
        conf = make_conf(t, tmp, "case%d" % i, services, pdir)
        what = "" if refused is None else \
            ".*%s.*: " % re.escape(os.path.join(pdir, refused + ".so"))
        line_re = r"%s:\d+: service %s: %s%s" % (
            re.escape(conf), services[-1][0], what, reason)
        with t.case("%s: porterd refuses to start" % case):
            rc, out, err = run_porterd(["-n", "-d", "-f", conf])
            expect_eq(rc, 1, "exit status")
            expect(re.search(line_re, err), "no line matching /%s/ in:\n%s"
                   % (line_re, err[-1500:]))
            expect("ready:" not in err, "it said ready")
        with t.case("%s: --check exits 1 with the reason" % case):
            rc, out, err = run_porterd(["--check", "-f", conf])
            expect_eq(rc, 1, "exit status")
            expect(re.search(reason, err), "no /%s/ in: %s"
                   % (reason, err[-800:]))
            expect("OK" not in out, "stdout says %r" % out)

    with t.case("control: good plugins start and check OK"):
        conf = make_conf(t, tmp, "good", [("svc", "echo", None),
                                          ("svc2", "refuse_init", ["ok"])],
                         good)
        rc, out, err = run_porterd(["--check", "-f", conf])
        expect_eq((rc, out), (0, "%s: OK (2 services)\n" % conf),
                  "--check status and output")
        d = t.porterd(conf)
        d.wait_line(r"^ready: 2 services")
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")

    if os.geteuid() != 0:
        return
    with t.case("root: a plugin owned by another user is refused"):
        nobody = pwd.getpwnam("nobody")
        theirs = os.path.join(good, "theirs.so")
        shutil.copyfile(os.path.join(INTERNAL_PLUGINS, "echo.so"), theirs)
        os.chown(theirs, nobody.pw_uid, nobody.pw_gid)
        conf = make_conf(t, tmp, "theirs", [("svc", "theirs", None)], good)
        rc, out, err = run_porterd(["--check", "-f", conf])
        expect_eq(rc, 1, "exit status")
        expect("plugin %s: owned by uid %d (neither root nor porterd's uid "
               "0), refusing" % (theirs, nobody.pw_uid) in err,
               "stderr: %s" % err[-500:])


if __name__ == "__main__":
    main(scenario)
