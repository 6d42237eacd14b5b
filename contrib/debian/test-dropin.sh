#!/bin/sh
# contrib/debian/test-dropin.sh -- the Debian drop-in scenario (issue 16),
# end to end, in a throw-away chroot:
#
#   1. build the .debs from this tree (dpkg-buildpackage, nocheck: the
#      suite has run already);
#   2. make a minimal chroot of this host's release with mmdebstrap;
#   3. install porterd there, then `apt-get install fingerd finger`;
#   4. assert openbsd-inetd was not installed (porterd Provides
#      inet-superserver), update-inetd wrote fingerd's entry into
#      /etc/inetd.conf, porterd --check accepts it, and `finger
#      @127.0.0.1` is answered by in.fingerd under porterd, in a network
#      namespace of the test's own (its loopback only).
#
# Measured: 95 s on the 2-core CI machine (build 44 s, chroot 40 s).
# Opt-in: it downloads packages from the host's Debian mirror and takes
# minutes, so it runs only with PORTER_DEBIAN_TEST=1 (.ci/run sets it, in
# a step of its own), as root, with dpkg-buildpackage, dh and mmdebstrap
# installed (.ci/deps installs them).  Otherwise it exits 77 (skipped) and
# says which condition is missing.  Everything it makes lives under one
# temporary directory, removed at the end, mounts included.
set -u

skip() { echo "test-dropin: SKIP: $*"; exit 77; }
fail() { echo "test-dropin: FAIL: $*"; exit 1; }
step() { echo "test-dropin: [$(( $(date +%s) - t0 ))s] $*"; }

[ "${PORTER_DEBIAN_TEST:-}" = 1 ] || skip "set PORTER_DEBIAN_TEST=1 to" \
	"run it (builds the .debs and a chroot from the Debian mirror," \
	"minutes; .ci/run does)"
[ "$(id -u)" -eq 0 ] || skip "needs root (chroot, mounts, dpkg in the chroot)"
for tool in dpkg-buildpackage dh mmdebstrap unshare git; do
	command -v "$tool" >/dev/null 2>&1 ||
		skip "$tool is not installed (see .ci/deps)"
done
. /etc/os-release
suite=${VERSION_CODENAME:-}
[ -n "$suite" ] || skip "cannot tell this host's Debian release"

srcdir=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
t0=$(date +%s)
work=$(mktemp -d /var/tmp/porter-dropin.XXXXXX) || fail "mktemp"
root=$work/root
cleanup() {
	# Whatever is still mounted below the chroot first, then the files.
	for m in proc dev/pts dev; do
		mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
	done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

step "1. building the .debs from $srcdir"
mkdir "$work/src"
# The tracked files as they are in the tree (a clean clone in CI).
(cd "$srcdir" && git ls-files -z | xargs -0 cp --parents -t "$work/src") ||
	fail "copying the source tree"
cp -r "$work/src/contrib/debian" "$work/src/debian"
(cd "$work/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" \
	dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1) || {
	tail -n 40 "$work/build.log"; fail "dpkg-buildpackage"; }
ls "$work"/porterd_*.deb "$work"/libporter0_*.deb >/dev/null ||
	fail "no porterd/libporter0 .deb built"

step "2. a minimal $suite chroot"
mmdebstrap --variant=apt --include=ca-certificates "$suite" "$root" \
	>"$work/chroot.log" 2>&1 || { tail -n 20 "$work/chroot.log";
	fail "mmdebstrap $suite"; }
# No daemon starts inside the chroot on its own.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp "$work"/porterd_*.deb "$work"/libporter0_*.deb "$root/tmp/"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive "$@"; }

step "3. apt-get install porterd, then fingerd"
# mmdebstrap leaves no package lists behind.
in_root apt-get update -q >"$work/install.log" 2>&1 ||
	{ tail -n 30 "$work/install.log"; fail "apt-get update"; }
in_root sh -c 'apt-get install -y -q /tmp/*.deb' >>"$work/install.log" 2>&1 ||
	{ tail -n 30 "$work/install.log"; fail "installing porterd"; }
in_root apt-get install -y -q fingerd finger >>"$work/install.log" 2>&1 ||
	{ tail -n 30 "$work/install.log"; fail "apt-get install fingerd"; }

step "4. assertions"
st=$(in_root dpkg-query -W -f='${Status}' openbsd-inetd 2>/dev/null)
case $st in
*" installed") fail "openbsd-inetd was installed beside porterd" ;;
esac
echo "test-dropin: openbsd-inetd: ${st:-not known to dpkg}, as wanted"
grep -E '^finger[[:space:]]' "$root/etc/inetd.conf" ||
	fail "update-inetd did not add finger to /etc/inetd.conf"
grep -q '^inetd-conf = ' "$root/etc/porter/porterd.conf" ||
	fail "the packaged porterd.conf does not read /etc/inetd.conf"
in_root porterd --check -f /etc/porter/porterd.conf ||
	fail "porterd --check on the installed configuration"

# A network namespace of our own: its loopback, nothing else.  porterd in
# the foreground; the finger client asks, then porterd is stopped by PID.
out=$(unshare -n sh -c '
	ip link set lo up || exit 1
	chroot "$1" /usr/sbin/porterd -n -f /etc/porter/porterd.conf \
		>"$2/porterd.log" 2>&1 &
	pid=$!
	i=0
	until grep -q "^porterd: ready" "$2/porterd.log" ||
	    grep -q "ready:" "$2/porterd.log"; do
		i=$((i + 1)); [ $i -lt 100 ] || { kill $pid; exit 2; }
		sleep 0.1
	done
	chroot "$1" timeout 10 finger @127.0.0.1
	rc=$?
	kill $pid; wait $pid
	exit $rc' sh "$root" "$work" 2>&1) || {
	echo "$out"; cat "$work/porterd.log"; fail "finger @127.0.0.1"; }
echo "$out"
grep -q "finger.*listening on" "$work/porterd.log" ||
	{ cat "$work/porterd.log"; fail "porterd did not serve finger"; }
echo "$out" | grep -q "No one logged on\|Login" ||
	{ cat "$work/porterd.log"; fail "in.fingerd did not answer"; }
grep -E "service finger: .*exec /usr/sbin/in.fingerd" "$work/porterd.log" ||
	{ cat "$work/porterd.log"; fail "porterd did not run in.fingerd"; }
step "passed"
