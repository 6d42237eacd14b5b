#!/usr/bin/env python3
"""pool_vars -- a pooled (isolation = process) plugin gets the edge's
vars in its context (ctx->vars) as an in-process plugin does.

The ctxdump plugin behind the PROXY protocol (v2, hand-made headers) in
three services: in-process, pooled, and pooled with reuse = 1.

Asserts: a v2 header with an authority TLV gives each of them
var=PROXY_AUTHORITY=<it> and the header's source as its peer; a 4000-byte
authority arrives whole; two connections in a row on one pooled worker
each see their own value, never the previous one's; a v2 LOCAL header
(nothing learnt) gives no var line.
"""
import os
import struct
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (V2SIG, connect, conf_opts, conf_service,  # noqa
                        expect_eq, main, recv_all, v2_header)


def dump(addr, header):
    """Sends header; returns the ctxdump lines as (key, value) pairs."""
    s = connect(addr)
    try:
        s.sendall(header)
        text = recv_all(s, 1 << 20).decode()
    finally:
        s.close()
    return [tuple(line.split("=", 1)) for line in text.splitlines()
            if "=" in line]


def authority(value):
    tlv = b"\x02" + struct.pack("!H", len(value)) + value
    return v2_header("192.0.2.44", 4444, "192.0.2.1", 443, tlv)


def scenario(t):
    tmp = t.trusted_tmpdir()
    plugins = t.plugindir(["ctxdump"], tmp)
    user = {"user": "nobody"} if os.geteuid() == 0 else {}
    proxy = dict(listen=["127.0.0.1:0"], plugin="ctxdump",
                 proxy_protocol="v2", proxy_from=["127.0.0.1"])
    conf = conf_opts(shutdown_timeout=5, max_per_source=0)
    conf += conf_service("inproc", **proxy)
    conf += conf_service("pooled", isolation="process", pool_max=1,
                         **proxy, **user)
    conf += conf_service("fresh", isolation="process", reuse=1,
                         **proxy, **user)
    path = t.write(os.path.join(tmp, "porterd.conf"), conf)
    d = t.porterd(path, plugins)
    d.wait_line(r"^ready: 3 services")

    for svc in ("inproc", "pooled", "fresh"):
        addr = d.addr(svc)
        with t.case("%s: PROXY_AUTHORITY in ctx->vars" % svc):
            kv = dump(addr, authority(b"example.org"))
            expect_eq([v for k, v in kv if k == "var"],
                      ["PROXY_AUTHORITY=example.org"], "vars")
            expect_eq(dict(kv).get("peer"), "192.0.2.44:4444", "peer")

        with t.case("%s: a 4000-byte var arrives whole" % svc):
            big = b"a" * 3990 + b".example"
            kv = dump(addr, authority(big))
            expect_eq([v for k, v in kv if k == "var"],
                      ["PROXY_AUTHORITY=" + big.decode()], "vars")

        with t.case("%s: one connection's vars, not the last one's" % svc):
            for name in (b"one.example", b"two.example"):
                kv = dump(addr, authority(name))
                expect_eq([v for k, v in kv if k == "var"],
                          ["PROXY_AUTHORITY=" + name.decode()], "vars")

        with t.case("%s: a LOCAL header: no vars" % svc):
            kv = dump(addr, V2SIG + bytes([0x20, 0x00, 0, 0]))
            expect_eq([v for k, v in kv if k == "var"], [], "vars")
            expect_eq(dict(kv).get("state"), "ctxdump-state", "state")


if __name__ == "__main__":
    main(scenario)
