#!/usr/bin/env bash
# The Debian package (ctest label "service"): `cpack -G DEB` from the build directory builds a
# .deb whose metadata, maintainer scripts and contents are what `systemctl start p2pchatd`
# needs on the target: binaries, units pointing at the installed daemon, sysusers/tmpfiles,
# D-Bus policy, configuration as a conffile, man pages.
#
# usage: deb_test.sh BUILD_DIR
set -uo pipefail

build=$(cd "${1:?usage: deb_test.sh BUILD_DIR}" && pwd)

test_name=deb_test
source "$(dirname "$0")/lib.sh"
require_tools cpack dpkg-deb

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
ls "$tmp"/root/usr/share/man/man8/p2pchatd.8* >/dev/null 2>&1 || fail "missing p2pchatd(8)"
grep -q '^ExecStart=/usr/sbin/p2pchatd ' "$tmp/root/usr/lib/systemd/system/p2pchatd.service" \
    || fail "ExecStart= does not run /usr/sbin/p2pchatd"
"$tmp/root/usr/sbin/p2pchatd" --version >/dev/null || fail "the packaged p2pchatd does not run"

[ $failures -eq 0 ] && echo "deb_test: ok ($(basename "$deb"))"
exit $((failures > 0))
