#!/usr/bin/env python3
"""abi_compat -- a plugin built from the ABI 1.0 header still loads and
runs in a porterd of ABI 1.1, beside plugins of the current ABI.

abi10.so (tests/plugins/abi10.c) is compiled against the 1.0 header kept
in tests/plugins/abi-1.0/: its exported descriptor is 1.0's (the symbol's
size is the 1.0 struct's, 8 bytes short of 1.1's `flags`; its header
says 1.0), which is checked on the built file first, so the rest cannot
pass against a plugin that is secretly 1.1.  Then porterd (`--check` and a
real start) must accept it and serve it in-process and under isolation =
process: each connection gets "abi10 <service> <state> <line>", proving
init (its state from the args), the context and handle work across the
version gap; the 1.1 echo plugin (PT_PLUGIN, cooperative flag) runs beside
it; and SIGTERM ends porterd with status 0 after fini.
"""
import os
import re
import shutil
import struct
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (Skip, connect, conf_opts, conf_service,  # noqa
                        echo_roundtrip, expect, expect_eq, main, recv_all,
                        run_porterd)

MAGIC = 0x5054504c
# sizeof(pt_plugin) on LP64: magic, major, minor, size (12 B), padding (4),
# five pointers (40); 1.1 adds uint32_t flags and tail padding (8).
SIZE_1_0 = 56
SIZE_1_1 = 64


def descriptor_header(so):
    """(symbol size, magic, major, minor, size) of so's descriptor, read
    from the file with nm and objdump (no dlopen: an ASan build's plugin
    cannot be loaded into python)."""
    out = subprocess.run(["nm", "-D", "-S", "--defined-only", so],
                         capture_output=True, text=True, timeout=30,
                         check=True).stdout
    m = re.search(r"^([0-9a-f]+) ([0-9a-f]+) \S pt_plugin_descriptor$", out,
                  re.M)
    expect(m, "no pt_plugin_descriptor in nm -D -S %s:\n%s" % (so, out))
    addr, symsize = int(m.group(1), 16), int(m.group(2), 16)
    # The header fields are plain data (no relocations), so the file's
    # bytes are what the loader reads.
    out = subprocess.run(["objdump", "-s", "--start-address=%#x" % addr,
                          "--stop-address=%#x" % (addr + 12), so],
                         capture_output=True, text=True, timeout=30,
                         check=True).stdout
    raw = b""
    for line in out.splitlines():
        lm = re.match(r"^ ([0-9a-f]+) ((?:[0-9a-f]{2,8} ){1,4})", line)
        if lm:
            raw += bytes.fromhex(lm.group(2).replace(" ", ""))
    expect(len(raw) >= 12, "objdump gave %d bytes of the descriptor:\n%s"
           % (len(raw), out))
    magic, major, minor, size = struct.unpack("<IHHI", raw[:12])
    return symsize, magic, major, minor, size


def ask(addr, line):
    s = connect(addr)
    try:
        s.sendall(line.encode() + b"\r\n")
        return recv_all(s, 4096).decode("utf-8", "replace")
    finally:
        s.close()


def scenario(t):
    if struct.calcsize("P") != 8 or sys.byteorder != "little":
        raise Skip("the descriptor sizes here are for little-endian LP64")
    for tool in ("nm", "objdump"):
        if shutil.which(tool) is None:
            raise Skip("%s not found (binutils)" % tool)
    tmp = t.tmpdir()
    plugins = t.plugindir(["abi10", "echo"], tmp)

    with t.case("abi10.so carries an ABI 1.0 descriptor"):
        got = descriptor_header(os.path.join(plugins, "abi10.so"))
        expect_eq(got, (SIZE_1_0, MAGIC, 1, 0, SIZE_1_0),
                  "(symbol size, magic, major, minor, size)")
    with t.case("echo.so carries an ABI 1.2 descriptor (1.1's size)"):
        got = descriptor_header(os.path.join(plugins, "echo.so"))
        expect_eq(got, (SIZE_1_1, MAGIC, 1, 2, SIZE_1_1),
                  "(symbol size, magic, major, minor, size)")

    conf = conf_opts(shutdown_timeout=5)
    conf += conf_service("old", listen=["127.0.0.1:0"], plugin="abi10",
                         args=["from-init"])
    conf += conf_service("oldproc", listen=["127.0.0.1:0"], plugin="abi10",
                         isolation="process", user="root")
    conf += conf_service("new", listen=["127.0.0.1:0"], plugin="echo")
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)

    with t.case("--check accepts the 1.0 plugin"):
        rc, out, err = run_porterd(["--check", "-P", plugins, "-f", path])
        expect_eq((rc, out), (0, "%s: OK (3 services)\n" % path),
                  "--check status and output (stderr: %s)" % err[-500:])

    d = t.porterd(path, plugins)
    with t.case("porterd starts with the 1.0 plugin loaded"):
        d.wait_line(r"^ready: 3 services")
    with t.case("the 1.0 plugin serves in-process"):
        for i in range(3):
            expect_eq(ask(d.addr("old"), "hello %d" % i),
                      "abi10 old from-init hello %d\n" % i, "reply")
    with t.case("the 1.0 plugin serves under isolation = process"):
        expect_eq(ask(d.addr("oldproc"), "Ada"),
                  "abi10 oldproc abi10-state Ada\n", "reply")
    with t.case("a 1.1 plugin runs beside it"):
        expect_eq(echo_roundtrip(d.addr("new"), b"abc" * 1000),
                  b"abc" * 1000, "echo")
    with t.case("SIGTERM: exit 0, no handler error logged"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")
        expect(not d.find(r"abi10: "), "abi10 logged an error")


if __name__ == "__main__":
    main(scenario)
