#!/usr/bin/env python3
"""inetd_programs -- the programs operators run from inetd.conf work as
porterd exec services, under the privileges the shipped porterd.service
gives porterd.

porterd is started through setpriv(1) with what contrib/systemd/
porterd.service.in says about the privileges its children inherit:
NoNewPrivileges= (--no-new-privs) and CapabilityBoundingSet= (--bounding-
set), so a unit that takes away what these programs need fails here.
`systemd-analyze verify` checks the unit (with the hardening drop-in)
where it is installed.  Then, with real clients:
  in.tftpd -t 1 -s DIR (tftpd-hpa; chroots, then drops to its user; -t 1:
    it exits a second after its last request, not 15 minutes): a file is
    read over TFTP (RRQ, DATA, ACK, from the per-transfer port);
  rsync --daemon in inetd mode with `use chroot = yes` and uid/gid: the
    rsync client lists the module and copies a file;
  the same rsync daemon sandboxed (syscall-deny, no-new-privileges,
    rlimit-nofile), so started by the service's confined launcher;
  vsftpd with listen=NO (chroots the anonymous user, drops privileges):
    python's ftplib logs in anonymously, lists and retrieves a file over a
    passive data connection.
Skips (77) naming the Debian packages when a program, setpriv or the
users the programs switch to are missing.
"""
import ftplib
import os
import pwd
import re
import shutil
import socket
import struct
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from porter_e2e import (IO_TIMEOUT, PORTERD, Skip, TOP_BUILDDIR,  # noqa
                        TOP_SRCDIR, conf_service, expect, expect_eq,
                        main, proc_children, proc_title)

PROGRAMS = {
    "/usr/sbin/in.tftpd": "tftpd-hpa",
    "/usr/bin/rsync": "rsync",
    "/usr/sbin/vsftpd": "vsftpd",
    "/usr/bin/setpriv": "util-linux",
}
UNIT = os.path.join(TOP_SRCDIR, "contrib", "systemd", "porterd.service.in")
PAYLOAD = b"porter inetd programs\n" * 100


def unit_wrapper():
    """setpriv arguments for the unit's NoNewPrivileges= and
    CapabilityBoundingSet= (systemd's syntax: names, ~ for "all but")."""
    with open(UNIT) as f:
        text = f.read()
    args = []
    nnp = re.findall(r"^NoNewPrivileges=(\S+)", text, re.M)
    if nnp and nnp[-1] in ("yes", "true", "1", "on"):
        args.append("--no-new-privs")
    caps = re.findall(r"^CapabilityBoundingSet=(.*)$", text, re.M)
    if caps and caps[-1].strip():
        words = caps[-1].split()
        names = [w.lstrip("~").lower().replace("cap_", "") for w in words]
        if words[0].startswith("~"):
            spec = "+all," + ",".join("-" + n for n in names)
        else:
            spec = "-all," + ",".join("+" + n for n in names)
        args.append("--bounding-set=" + spec)
    return ["/usr/bin/setpriv"] + args, args


def tftp_get(addr, name):
    """RFC 1350 read request in octet mode; returns the file's bytes."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(IO_TIMEOUT)
    try:
        s.sendto(b"\x00\x01" + name.encode() + b"\x00octet\x00",
                 (addr.host, addr.port))
        data, block = b"", 1
        while True:
            pkt, peer = s.recvfrom(65536)
            op, num = struct.unpack("!HH", pkt[:4])
            expect(op == 3, "TFTP reply opcode %d: %r" % (op, pkt[4:80]))
            expect_eq(num, block, "TFTP block number")
            data += pkt[4:]
            s.sendto(struct.pack("!HH", 4, num), peer)
            if len(pkt) - 4 < 512:
                return data
            block += 1
    finally:
        s.close()


def rsync_case(t, d, name, tmp):
    a = d.addr(name)
    url = "rsync://%s:%d/data/" % (a.host, a.port)
    p = subprocess.run(["rsync", url], capture_output=True,
                       timeout=IO_TIMEOUT * 4)
    expect_eq(p.returncode, 0, "rsync list status (stderr %r)"
              % p.stderr[-300:])
    expect(b"file.txt" in p.stdout, "listing: %r" % p.stdout)
    dest = os.path.join(tmp, "copy-%s.txt" % name)
    p = subprocess.run(["rsync", url + "file.txt", dest],
                       capture_output=True, timeout=IO_TIMEOUT * 4)
    expect_eq(p.returncode, 0, "rsync copy status (stderr %r)"
              % p.stderr[-300:])
    with open(dest, "rb") as f:
        expect_eq(f.read(), PAYLOAD, "copied file")


def scenario(t):
    missing = sorted({pkg for path, pkg in PROGRAMS.items()
                      if not os.access(path, os.X_OK)})
    if shutil.which("rsync") is None:
        missing.append("rsync")
    if missing:
        raise Skip("not installed: %s (Debian packages; .ci/deps installs "
                   "them)" % ", ".join(sorted(set(missing))))
    for user in ("nobody", "ftp"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            raise Skip("no user %r (the vsftpd package creates ftp)" % user)
    if os.geteuid() != 0:
        raise Skip("these programs chroot and switch users: run as root")

    with t.case("systemd-analyze verify accepts the unit and the "
                "hardening drop-in"):
        sa = shutil.which("systemd-analyze")
        if sa is None:
            t.note("systemd-analyze not installed (package systemd): "
                   "unit not verified")
        else:
            ud = os.path.join(t.tmpdir(), "units")
            os.makedirs(os.path.join(ud, "porterd.service.d"))
            with open(UNIT) as f:
                unit = f.read().replace(
                    "@sbindir@/porterctl", os.path.join(
                        TOP_BUILDDIR, "tools", "porterctl")).replace(
                    "@sbindir@", os.path.dirname(
                        PORTERD)).replace("@sysconfdir@", "/etc")
            t.write(os.path.join(ud, "porterd.service"), unit)
            shutil.copy(os.path.join(os.path.dirname(UNIT),
                                     "porterd-hardening.conf"),
                        os.path.join(ud, "porterd.service.d"))
            p = subprocess.run([sa, "verify", "--man=no",
                                os.path.join(ud, "porterd.service")],
                               capture_output=True, timeout=IO_TIMEOUT * 6)
            expect_eq((p.returncode, p.stderr.decode()), (0, ""),
                      "systemd-analyze verify")

    wrapper, unit_args = unit_wrapper()
    t.note("porterd runs as porterd.service lets it: setpriv %s"
           % " ".join(unit_args))
    os.environ["PORTERD_WRAPPER"] = " ".join(
        wrapper + [os.environ.get("PORTERD_WRAPPER", "")]).strip()

    tmp = t.tmpdir()
    pub = os.path.join(tmp, "pub")
    os.mkdir(pub)
    os.chmod(pub, 0o755)
    t.write(os.path.join(pub, "file.txt"), PAYLOAD.decode())
    empty = os.path.join(tmp, "empty")
    os.mkdir(empty)
    os.chmod(empty, 0o755)

    rsyncd = t.write(os.path.join(tmp, "rsyncd.conf"), """\
use chroot = yes
uid = nobody
gid = nogroup
log file = /dev/null
[data]
    path = %s
    read only = yes
""" % pub)
    vsftpd = t.write(os.path.join(tmp, "vsftpd.conf"), """\
listen=NO
listen_ipv6=NO
anonymous_enable=YES
local_enable=NO
write_enable=NO
anon_root=%s
secure_chroot_dir=%s
ftp_username=ftp
pasv_enable=YES
pasv_min_port=0
pasv_max_port=0
xferlog_enable=NO
syslog_enable=NO
dirmessage_enable=NO
""" % (pub, empty))
    conf = conf_service("tftp", listen=["127.0.0.1:0"], type="dgram",
                        wait=True, exec_="/usr/sbin/in.tftpd",
                        args=["-t", "1", "-s", pub], user="root")
    conf += conf_service("rsync", listen=["127.0.0.1:0"],
                         exec_="/usr/bin/rsync",
                         args=["--daemon", "--config=" + rsyncd],
                         user="root")
    conf += conf_service("rsync-sb", listen=["127.0.0.1:0"],
                         exec_="/usr/bin/rsync",
                         args=["--daemon", "--config=" + rsyncd],
                         user="root", syscall_deny=["ptrace", "bpf"],
                         no_new_privileges=True, rlimit_nofile=256)
    conf += conf_service("ftp", listen=["127.0.0.1:0"],
                         exec_="/usr/sbin/vsftpd", args=[vsftpd],
                         user="root")
    d = t.porterd(t.write(os.path.join(tmp, "porterd.conf"), conf))
    with t.case("ready with 4 services"):
        d.wait_ready()

    with t.case("in.tftpd -s: a file read over TFTP"):
        expect_eq(tftp_get(d.addr("tftp"), "file.txt"), PAYLOAD, "file")

    for name in ("rsync", "rsync-sb"):
        with t.case("%s: rsync --daemon, use chroot = yes: module listed, "
                    "file copied" % name):
            rsync_case(t, d, name, tmp)
    with t.case("rsync-sb's programs were started by its launcher"):
        d.wait_line(r"^service rsync-sb: .*exec /usr/bin/rsync pid \d+: "
                    r"exit 0 in")
        titles = [proc_title(k) for k in proc_children(d.pid)]
        expect("porterd: rsync-sb launcher" in titles,
               "porterd's children: %r" % titles)

    with t.case("vsftpd listen=NO: anonymous login, list, retrieve"):
        a = d.addr("ftp")
        ftp = ftplib.FTP(timeout=IO_TIMEOUT)
        try:
            ftp.connect(a.host, a.port)
            ftp.login()
            expect("file.txt" in ftp.nlst(), "listing")
            got = []
            ftp.retrbinary("RETR file.txt", got.append)
            expect_eq(b"".join(got), PAYLOAD, "retrieved file")
            ftp.quit()
        finally:
            ftp.close()

    with t.case("SIGTERM exits 0"):
        d.signal(15)
        expect_eq(d.wait_exit(), 0, "exit status")


if __name__ == "__main__":
    main(scenario)
