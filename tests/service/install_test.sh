#!/usr/bin/env bash
# Install-tree and unit test (ctest label "service"):
#   1. `cmake --install BUILD --prefix /usr` into a DESTDIR puts every expected file in its
#      FHS place, and the units' ExecStart= names the installed p2pchatd;
#   2. `systemd-analyze verify` is clean for the system and the user units (systemd 252
#      wants ExecStart= to exist, so a copy whose ExecStart= points into the DESTDIR is
#      verified; Documentation=man: pages are looked up in the DESTDIR's man tree);
#   3. `systemd-analyze security --offline=true` rates p2pchatd.service at most 2.0;
#   4. the sysusers.d and tmpfiles.d entries create the user, group and state directory
#      in a scratch root (systemd-sysusers/systemd-tmpfiles --root);
#   5. the D-Bus policy parses (a private dbus-daemon loads it) and lets nobody but user
#      p2pchat own net.p2pchat.P2PChat1.
# usage: install_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail

build=${1:?usage: install_test.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: install_test.sh BUILD_DIR SOURCE_DIR}

test_name=install_test
source "$(dirname "$0")/lib.sh"
require_tools systemd-analyze systemd-sysusers systemd-tmpfiles dbus-daemon

# ---- 1. the install tree -----------------------------------------------------------
dest=$tmp/dest
if ! DESTDIR=$dest timeout 60 cmake --install "$build" --prefix /usr >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    echo "install_test: FATAL: cmake --install failed" >&2
    exit 1
fi
expected=(
    usr/sbin/p2pchatd
    usr/bin/p2pchatctl
    usr/bin/p2pchat-notify
    usr/lib/systemd/system/p2pchatd.service
    usr/lib/systemd/system/p2pchatd.socket
    usr/lib/systemd/user/p2pchatd.service
    usr/lib/systemd/user/p2pchatd.socket
    usr/lib/systemd/user/p2pchat-notify.service
    usr/lib/sysusers.d/p2pchat.conf
    usr/lib/tmpfiles.d/p2pchat.conf
    usr/share/dbus-1/system.d/net.p2pchat.P2PChat1.conf
    etc/p2pchat/p2pchatd.conf
    usr/share/man/man1/p2pchatctl.1.gz
    usr/share/man/man5/p2pchatd.conf.5.gz
    usr/share/man/man7/p2pchat.7.gz
    usr/share/man/man8/p2pchatd.8.gz
    usr/share/bash-completion/completions/p2pchatctl
    usr/share/zsh/vendor-completions/_p2pchatctl
    usr/share/fish/vendor_completions.d/p2pchatctl.fish
    usr/share/doc/p2pchat/DBUS.md
    usr/share/doc/p2pchat/changelog.gz
    usr/share/doc/p2pchat/copyright
)
for f in "${expected[@]}"; do
    [ -f "$dest/$f" ] || fail "not installed: /$f"
done
for f in usr/sbin/p2pchatd usr/bin/p2pchatctl; do
    [ -x "$dest/$f" ] || fail "not executable: /$f"
done
# Every manual page in the source tree is installed, compressed (Debian policy).
for page in "$src"/man/*.[1-9]; do
    name=$(basename "$page")
    [ -f "$dest/usr/share/man/man${name##*.}/$name.gz" ] || fail "manual page $name not installed"
done
# Nothing outside the FHS places (e.g. a stray /usr/etc or /usr/local).
stray=$(cd "$dest" && find . -type f | sed 's|^\./||' |
    grep -vE '^(usr/(s?bin|lib/systemd/(system|user)|lib/sysusers\.d|lib/tmpfiles\.d|share/(man/man[1-9]|dbus-1/system\.d|bash-completion/completions|zsh/vendor-completions|fish/vendor_completions\.d|doc/p2pchat))|etc/p2pchat)/[^/]+$')
[ -z "$stray" ] || fail "files outside the expected places: $stray"
for unit in system/p2pchatd.service user/p2pchatd.service; do
    grep -qx 'ExecStart=/usr/sbin/p2pchatd .*' "$dest/usr/lib/systemd/$unit" ||
        fail "$unit: ExecStart= does not run /usr/sbin/p2pchatd: $(grep ExecStart= "$dest/usr/lib/systemd/$unit")"
done
grep -qx 'ExecStart=/usr/sbin/p2pchatd --dbus=system .*' "$dest/usr/lib/systemd/system/p2pchatd.service" ||
    fail "the system unit does not run p2pchatd --dbus=system"
# The example configuration changes nothing: every non-empty line is a comment, and each
# commented key is an option of p2pchatd.
if grep -vE '^[[:space:]]*(#|$)' "$dest/etc/p2pchat/p2pchatd.conf" >/dev/null; then
    fail "the example p2pchatd.conf has active settings"
fi
options=$("$dest/usr/sbin/p2pchatd" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u)
for key in $(sed -nE 's/^#([a-z][a-z-]*) = .*/\1/p' "$dest/etc/p2pchat/p2pchatd.conf" | sort -u); do
    grep -qx -- "--$key" <<<"$options" || fail "p2pchatd.conf: '$key' is not a p2pchatd option"
done
# ... and p2pchatd accepts it uncommented (parses; --help exits before running).
sed -E 's/^#([a-z][a-z-]*) = /\1 = /' "$dest/etc/p2pchat/p2pchatd.conf" >"$tmp/uncommented.conf"
out=$(timeout 10 "$dest/usr/sbin/p2pchatd" --config "$tmp/uncommented.conf" --version 2>&1) ||
    fail "p2pchatd rejects the uncommented example config: $out"

# ---- 2. systemd-analyze verify -----------------------------------------------------
man_opt=--man=yes
command -v man >/dev/null || { man_opt=--man=no; echo "install_test: man(1) missing, Documentation= not checked" >&2; }
mkdir -p "$tmp/verify/system" "$tmp/verify/user" "$tmp/runtime"
chmod 700 "$tmp/runtime"
for kind in system user; do
    for f in "$dest"/usr/lib/systemd/$kind/p2pchat*; do
        sed "s|^ExecStart=/usr/|ExecStart=$dest/usr/|" "$f" >"$tmp/verify/$kind/$(basename "$f")"
    done
done
out=$(cd "$tmp/verify/system" && MANPATH=$dest/usr/share/man timeout 30 \
      systemd-analyze verify $man_opt ./p2pchatd.service ./p2pchatd.socket 2>&1)
rc=$?
[ $rc -eq 0 ] && [ -z "$out" ] || fail "systemd-analyze verify (system units), exit $rc: $out"
out=$(cd "$tmp/verify/user" && MANPATH=$dest/usr/share/man XDG_RUNTIME_DIR=$tmp/runtime timeout 30 \
      systemd-analyze --user verify $man_opt ./p2pchatd.service ./p2pchatd.socket \
      ./p2pchat-notify.service 2>&1)
rc=$?
[ $rc -eq 0 ] && [ -z "$out" ] || fail "systemd-analyze --user verify (user units), exit $rc: $out"

# ---- 3. systemd-analyze security ---------------------------------------------------
out=$(cd "$tmp/verify/system" && timeout 30 systemd-analyze security --offline=true ./p2pchatd.service 2>&1)
exposure=$(sed -nE 's/.*Overall exposure level for p2pchatd\.service: ([0-9.]+) .*/\1/p' <<<"$out")
if [ -z "$exposure" ]; then
    fail "systemd-analyze security printed no exposure: $(tail -3 <<<"$out")"
elif ! awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
    fail "exposure $exposure is above 2.0:
$(grep '✗' <<<"$out")"
else
    echo "install_test: systemd-analyze security: exposure $exposure"
fi

# ---- 4. sysusers.d and tmpfiles.d --------------------------------------------------
root=$tmp/root
mkdir -p "$root/etc"
out=$(timeout 30 systemd-sysusers --root="$root" "$dest/usr/lib/sysusers.d/p2pchat.conf" 2>&1) ||
    fail "systemd-sysusers failed: $out"
grep -q '^p2pchat:x:[0-9]*:[0-9]*:[^:]*:/var/lib/p2pchat:' "$root/etc/passwd" 2>/dev/null ||
    fail "sysusers made no user p2pchat: $(cat "$root/etc/passwd" 2>&1)"
grep -q '^p2pchat:x:' "$root/etc/group" 2>/dev/null || fail "sysusers made no group p2pchat"
out=$(timeout 30 systemd-tmpfiles --root="$root" --create "$dest/usr/lib/tmpfiles.d/p2pchat.conf" 2>&1) ||
    fail "systemd-tmpfiles failed: $out"
[ "$(stat -c %a "$root/var/lib/p2pchat" 2>/dev/null)" = 700 ] || fail "tmpfiles made no /var/lib/p2pchat 0700"

# ---- 5. the D-Bus policy -----------------------------------------------------------
# A private bus with Debian's default system-bus policy, except that anyone may own any
# name and call any method; then our policy file, which must take net.p2pchat.P2PChat1 away
# from everybody but user p2pchat.
cat >"$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
  <include>$dest/usr/share/dbus-1/system.d/net.p2pchat.P2PChat1.conf</include>
</busconfig>
CONF
dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile --print-address=1 \
    >"$tmp/bus.addr" 2>"$tmp/bus.log" &
pids+=($!)
if ! wait_for 10 test -s "$tmp/bus.addr"; then
    fail "dbus-daemon does not load the policy: $(cat "$tmp/bus.log")"
elif [ "$(id -un)" != p2pchat ]; then
    bus=unix:path=$tmp/system_bus_socket
    request_name() {
        timeout 10 busctl --address="$bus" call org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus RequestName su "$1" 0 2>&1
    }
    # The bus works and lets us own other names...
    out=$(request_name net.p2pchat.Unrelated)
    [ "$out" = "u 1" ] || fail "the test bus does not work: RequestName net.p2pchat.Unrelated: $out"
    # ... but not ours: only user p2pchat may own it.
    out=$(request_name net.p2pchat.P2PChat1)
    grep -qi 'denied\|not allowed' <<<"$out" || fail "user $(id -un) may own net.p2pchat.P2PChat1: $out"
    # And p2pchatd, refused the name, fails to start with one line and status 1.
    out=$(DBUS_SYSTEM_BUS_ADDRESS=$bus timeout 20 \
          "$dest/usr/sbin/p2pchatd" --dbus=system --listen 127.0.0.1:0 \
          --socket "$tmp/p.sock" --state-dir "$tmp/state" 2>&1)
    rc=$?
    [ $rc -eq 1 ] && grep -q 'net.p2pchat.P2PChat1' <<<"$out" ||
        fail "user $(id -un) could own net.p2pchat.P2PChat1 (exit $rc): $out"
fi

if [ $failures -ne 0 ]; then
    echo "install_test: $failures failure(s)" >&2
    exit 1
fi
echo "install_test: ok (${#expected[@]} files, units verified, exposure $exposure)"
