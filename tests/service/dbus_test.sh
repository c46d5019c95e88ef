#!/usr/bin/env bash
# D-Bus interface test (ctest label "service"): a private session bus (dbus-daemon started
# here), a real p2pchatd with --dbus=user on it, a second and a third daemon (control socket
# only) to join, rename and leave against. Drives every method with busctl, reads every
# property, checks every error name with dbus-send, and records every signal with
# `busctl --user --json=short monitor` (systemd 252).
#
# usage: dbus_test.sh P2PCHATD P2PCHATCTL
# No fixed sleeps: every wait polls a condition against a deadline.
set -uo pipefail

daemon=${1:?usage: dbus_test.sh P2PCHATD P2PCHATCTL}
ctl=${2:?usage: dbus_test.sh P2PCHATD P2PCHATCTL}

test_name=dbus_test
source "$(dirname "$0")/lib.sh"
require_tools dbus-daemon busctl dbus-send
export XDG_RUNTIME_DIR=$tmp HOME=$tmp NO_COLOR=1
unset P2PCHAT_SOCKET NOTIFY_SOCKET LISTEN_FDS LISTEN_PID WATCHDOG_USEC

die() { echo "dbus_test: FATAL: $*" >&2; for f in "$tmp"/*.log; do echo "--- $f"; tail -20 "$f"; done >&2; exit 1; }

# ---- a private session bus ---------------------------------------------------------
dbus-daemon --session --nofork --nopidfile --print-address=1 >"$tmp/bus.addr" 2>"$tmp/bus.log" &
pids+=($!)
wait_for 10 test -s "$tmp/bus.addr" || die "dbus-daemon did not print its address"
DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$tmp/bus.addr")
export DBUS_SESSION_BUS_ADDRESS

svc=net.p2pchat.P2PChat1
obj=/net/p2pchat/P2PChat1
call() { timeout 20 busctl --user --timeout=15 call $svc $obj $svc "$@"; }
prop() { timeout 10 busctl --user get-property $svc $obj $svc "$1"; }
# dbus_error ERROR_NAME METHOD ARGS...: the call fails with exactly that D-Bus error.
dbus_error() {
    local want=$1 method=$2; shift 2
    local out
    out=$(timeout 20 dbus-send --session --print-reply --reply-timeout=15000 --dest=$svc $obj "$svc.$method" "$@" 2>&1)
    grep -q "^Error $want:" <<<"$out" || fail "$method $*: expected $want, got: $(head -c 200 <<<"$out")"
}
status_field() { "$ctl" --socket "$1" status --json | grep -o "\"$2\":\"[^\"]*\"" | cut -d'"' -f4; }

# ---- three nodes: alice on D-Bus, bob (table of one) and carol on sockets only -----
start_node() {  # NAME EXTRA_ARGS...
    local name=$1; shift
    "$daemon" --name "$name" --listen 127.0.0.1:0 --socket "$tmp/$name.sock" \
        --state-dir "$tmp/$name" --gossip-interval 200 "$@" >"$tmp/$name.log" 2>&1 &
    pids+=($!)
    wait_for 10 "$ctl" --socket "$tmp/$name.sock" status || die "$name did not start"
}
start_node alice --dbus=user
start_node bob --max-peers 1
start_node carol
alice_id=$(status_field "$tmp/alice.sock" id)
bob_id=$(status_field "$tmp/bob.sock" id)
bob_addr=$(status_field "$tmp/bob.sock" listen)
wait_for 10 prop NodeId || die "alice is not on the bus"

# A second daemon cannot take the name: it must fail to start, with status 1.
timeout 10 "$daemon" --dbus=user --listen 127.0.0.1:0 --socket "$tmp/dup.sock" \
    --state-dir "$tmp/dup" >"$tmp/dup.log" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "a second daemon on the same bus name exited $rc, expected 1"

# ---- the signal recorder -----------------------------------------------------------
timeout 50 busctl --user --json=short monitor $svc >"$tmp/monitor.json" 2>"$tmp/monitor.log" &
pids+=($!)
ping_seen() {
    timeout 5 busctl --user call $svc $obj org.freedesktop.DBus.Peer Ping >/dev/null 2>&1
    grep -q '"member":"Ping"' "$tmp/monitor.json"
}
wait_for 10 ping_seen || die "busctl monitor records nothing"
# signal_seen MEMBER PATTERN: a signal MEMBER whose line also matches PATTERN.
signal_seen() {
    grep '"type":"signal"' "$tmp/monitor.json" | grep "\"member\":\"$1\"" | grep -q -- "$2"
}
expect_signal() {
    wait_for 10 signal_seen "$1" "$2" || fail "no $1 signal matching $2"
}

# ---- properties --------------------------------------------------------------------
[ "$(prop NodeId)" = "s \"$alice_id\"" ] || fail "NodeId: $(prop NodeId), expected $alice_id"
[ "$(prop Name)" = 's "alice"' ] || fail "Name: $(prop Name)"
[ "$(prop PeerCount)" = "u 0" ] || fail "PeerCount before join: $(prop PeerCount)"
[ "$(prop ListenAddress)" = "s \"$(status_field "$tmp/alice.sock" listen)\"" ] ||
    fail "ListenAddress: $(prop ListenAddress)"

# ---- Join, Peers, PeerJoined -------------------------------------------------------
out=$(call Join s "$bob_addr") || fail "Join $bob_addr failed: $out"
[ "$out" = "u 1" ] || fail "Join returned '$out', expected 'u 1'"
expect_signal PeerJoined "\"$bob_id\",\"bob\""
expect_signal PropertiesChanged '"PeerCount":{"type":"u","data":1}'
[ "$(prop PeerCount)" = "u 1" ] || fail "PeerCount after join: $(prop PeerCount)"
out=$(call Peers)
grep -q "^a(ssss) 2 \"$alice_id\" \"alice\" \"[^\"]*\" \"self\" \"$bob_id\" \"bob\" \"$bob_addr\" \"alive\"$" <<<"$out" ||
    fail "Peers: $out"

# ---- Send, MessageReceived both ways -----------------------------------------------
out=$(call Send s "hello from alice") || fail "Send failed: $out"
grep -q "^s \"$alice_id:[0-9]*\"$" <<<"$out" || fail "Send returned '$out'"
expect_signal MessageReceived "\"alice\",\"hello from alice\",[0-9]*,true"
"$ctl" --socket "$tmp/bob.sock" send "hello from bob" >/dev/null || fail "bob could not send"
expect_signal MessageReceived "\"$bob_id\",\"bob\",\"hello from bob\",[0-9]*,false"

# ---- Rename, PeerRenamed, Name -----------------------------------------------------
out=$(call Rename s alice2) || fail "Rename failed: $out"
[ "$(prop Name)" = 's "alice2"' ] || fail "Name after Rename: $(prop Name)"
expect_signal PeerRenamed "\"$alice_id\",\"alice\",\"alice2\""
expect_signal PropertiesChanged '"Name":{"type":"s","data":"alice2"}'
"$ctl" --socket "$tmp/bob.sock" rename bobby >/dev/null || fail "bob could not rename"
expect_signal PeerRenamed "\"$bob_id\",\"bob\",\"bobby\""

# ---- PeerLeft, Leave ---------------------------------------------------------------
"$ctl" --socket "$tmp/bob.sock" leave >/dev/null || fail "bob could not leave"
expect_signal PeerLeft "\"$bob_id\",\"bobby\",\"left\""
expect_signal PropertiesChanged '"PeerCount":{"type":"u","data":0}'
out=$(call Join s "$(status_field "$tmp/carol.sock" listen)") || fail "Join carol failed: $out"
out=$(call Leave) || fail "Leave failed: $out"
[ "$out" = "u 1" ] || fail "Leave returned '$out', expected 'u 1'"
pc_zero() { [ "$(prop PeerCount)" = "u 0" ]; }
wait_for 10 pc_zero || fail "PeerCount after Leave: $(prop PeerCount)"

# ---- errors ------------------------------------------------------------------------
dbus_error org.freedesktop.DBus.Error.InvalidArgs Send string:""
dbus_error net.p2pchat.P2PChat1.Error.TextTooLong Send "string:$(head -c 70000 /dev/zero | tr '\0' x)"
dbus_error org.freedesktop.DBus.Error.InvalidArgs Rename string:""
# The rules of the command line and JSON-RPC: no blank message, no blank or padded name.
dbus_error org.freedesktop.DBus.Error.InvalidArgs Send "string:   "
dbus_error org.freedesktop.DBus.Error.InvalidArgs Rename "string: alice"
dbus_error org.freedesktop.DBus.Error.InvalidArgs Rename "string:   "
dbus_error org.freedesktop.DBus.Error.InvalidArgs Join string:127.0.0.1:abc
dbus_error org.freedesktop.DBus.Error.InvalidArgs Join string:127.0.0.1:99999
dbus_error org.freedesktop.DBus.Error.InvalidArgs Join string:127.0.0.1:0
# Port 1 on loopback: nobody listens, the connection is refused at once.
dbus_error net.p2pchat.P2PChat1.Error.PeerUnreachable Join string:127.0.0.1:1
# bob keeps one peer at most: once carol is in, alice is refused.
"$ctl" --socket "$tmp/carol.sock" join "$bob_addr" >/dev/null || fail "carol could not join bob"
dbus_error net.p2pchat.P2PChat1.Error.JoinRefused Join "string:$bob_addr"

if [ $failures -ne 0 ]; then
    echo "dbus_test: $failures failure(s); monitor log:" >&2
    grep '"type":"signal"' "$tmp/monitor.json" | cut -c1-400 >&2
    exit 1
fi
echo "dbus_test: ok (5 methods, 4 properties, 5 signals, 5 error names)"
