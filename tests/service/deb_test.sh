#!/usr/bin/env bash
# The Debian package (ctest label "service"): `cpack -G DEB` from the build directory builds a
# .deb whose metadata, maintainer scripts and contents are what `systemctl start p2pchatd`
# needs on the target: binaries, units pointing at the installed daemon, sysusers/tmpfiles,
# D-Bus policy, configuration as a conffile, man pages. lintian finds no error and no warning,
# and dpkg installs, upgrades (keeping the admin's conffile change and the node's state) and
# purges it, in a scratch root (dpkg --root; the maintainer scripts honour DPKG_ROOT).
#
# usage: deb_test.sh BUILD_DIR
set -uo pipefail

build=$(cd "${1:?usage: deb_test.sh BUILD_DIR}" && pwd)

test_name=deb_test
source "$(dirname "$0")/lib.sh"
require_tools cpack dpkg-deb dpkg dpkg-query

if ! (cd "$tmp" && timeout 120 cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out") \
        >"$tmp/cpack.log" 2>&1; then
    cat "$tmp/cpack.log" >&2
    echo "deb_test: FATAL: cpack failed" >&2
    exit 1
fi
deb=$(ls "$tmp"/out/*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "deb_test: FATAL: no .deb produced" >&2; cat "$tmp/cpack.log" >&2; exit 1; }

[ "$(dpkg-deb -f "$deb" Package)" = p2pchat ] || fail "package name is not p2pchat"
dpkg-deb -f "$deb" Depends | grep -q 'systemd' || fail "Depends lacks systemd: $(dpkg-deb -f "$deb" Depends)"

dpkg-deb -e "$deb" "$tmp/control"
grep -q 'systemd-sysusers' "$tmp/control/postinst" || fail "postinst does not create the p2pchat user"
grep -qx '/etc/p2pchat/p2pchatd.conf' "$tmp/control/conffiles" || fail "the config is not a conffile"

dpkg-deb -x "$deb" "$tmp/root"
for f in usr/sbin/p2pchatd usr/bin/p2pchatctl \
         usr/lib/systemd/system/p2pchatd.service usr/lib/systemd/system/p2pchatd.socket \
         usr/lib/systemd/user/p2pchatd.service usr/lib/sysusers.d/p2pchat.conf \
         usr/lib/tmpfiles.d/p2pchat.conf usr/share/dbus-1/system.d/net.p2pchat.P2PChat1.conf \
         etc/p2pchat/p2pchatd.conf; do
    [ -e "$tmp/root/$f" ] || fail "missing /$f"
done
[ -f "$tmp"/root/usr/share/man/man8/p2pchatd.8.gz ] || fail "missing p2pchatd(8), compressed"
for f in usr/share/doc/p2pchat/copyright usr/share/doc/p2pchat/changelog.gz; do
    [ -f "$tmp/root/$f" ] || fail "missing /$f"
done
grep -q '^ExecStart=/usr/sbin/p2pchatd ' "$tmp/root/usr/lib/systemd/system/p2pchatd.service" \
    || fail "ExecStart= does not run /usr/sbin/p2pchatd"
"$tmp/root/usr/sbin/p2pchatd" --version >/dev/null || fail "the packaged p2pchatd does not run"

# ---- lintian: no errors, no warnings (overrides only with a written reason) --------------
if command -v lintian >/dev/null; then
    lint=$(lintian --fail-on error,warning "$deb" 2>"$tmp/lintian.err")
    rc=$?
    [ $rc -eq 0 ] || fail "lintian (exit $rc): $lint $(grep -v 'root privileges' "$tmp/lintian.err")"
else
    fail "lintian is not installed (.ci/deps installs it)"
fi

# ---- dpkg: install, upgrade and purge, in a scratch root -----------------------------
# dpkg --root with --force-script-chrootless runs the maintainer scripts here with
# DPKG_ROOT set (they honour it), so nothing of this machine's own system changes.
# --force-depends: the scratch root's dpkg database knows none of the dependencies.
if ! (cd "$tmp" && timeout 120 cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/next" \
        -D CPACK_PACKAGE_VERSION=99.0.0) >"$tmp/cpack-next.log" 2>&1; then
    fail "cpack of the upgrade failed: $(tail -5 "$tmp/cpack-next.log")"
fi
next=$(ls "$tmp"/next/*.deb 2>/dev/null | head -n 1)
root="$tmp/sysroot"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/log" "$root/etc"
: >"$root/var/lib/dpkg/status"
dpkg_root() {
    timeout 120 dpkg --root="$root" --force-script-chrootless --force-depends \
        --force-not-root "$@" >>"$tmp/dpkg.log" 2>&1
}
installed_version() {
    dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status} ${Version}' p2pchat 2>/dev/null
}
if dpkg_root -i "$deb"; then
    [ "$(installed_version)" = "install ok installed $(dpkg-deb -f "$deb" Version)" ] ||
        fail "after dpkg -i: $(installed_version)"
    [ -x "$root/usr/sbin/p2pchatd" ] || fail "dpkg -i did not install /usr/sbin/p2pchatd"
    grep -q '^p2pchat:' "$root/etc/passwd" 2>/dev/null || fail "postinst did not create user p2pchat"
    [ -d "$root/var/lib/p2pchat" ] || fail "postinst did not create /var/lib/p2pchat"
    echo "key" >"$root/var/lib/p2pchat/identity"
    echo "# changed by the admin" >>"$root/etc/p2pchat/p2pchatd.conf"
else
    fail "dpkg -i failed: $(tail -5 "$tmp/dpkg.log")"
fi
if [ -n "$next" ] && dpkg_root -i "$next"; then
    [ "$(installed_version)" = "install ok installed 99.0.0" ] || fail "after upgrade: $(installed_version)"
    grep -q "changed by the admin" "$root/etc/p2pchat/p2pchatd.conf" ||
        fail "the upgrade lost the admin's change to the conffile"
    [ -f "$root/var/lib/p2pchat/identity" ] || fail "the upgrade lost the node's state"
else
    fail "upgrade with dpkg -i failed: $(tail -5 "$tmp/dpkg.log")"
fi
if dpkg_root --purge p2pchat; then
    [ -z "$(installed_version | grep installed)" ] || fail "after purge: $(installed_version)"
    for f in usr/sbin/p2pchatd etc/p2pchat/p2pchatd.conf var/lib/p2pchat; do
        [ ! -e "$root/$f" ] || fail "purge left /$f"
    done
else
    fail "dpkg --purge failed: $(tail -5 "$tmp/dpkg.log")"
fi

[ $failures -eq 0 ] && echo "deb_test: ok ($(basename "$deb"))"
exit $((failures > 0))
