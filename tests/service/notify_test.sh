#!/usr/bin/env bash
# Desktop notifications (ctest label "service"): p2pchat-notify against a real notification
# server interface on a private session bus (dbus-daemon started here; the server is
# tests/support/notification_recorder, which answers Notify and records every call). Two
# real daemons; bob writes to alice, whose p2pchat-notify posts.
#
# Checks: sender and text as summary and body (markup escaped), one notification replaced
# while a sender writes fast, none for alice's own messages, the rate limit with its
# "N more messages" summary, --mentions, bad options (64), and a daemon restart.
#
# usage: notify_test.sh P2PCHATD P2PCHATCTL P2PCHAT_NOTIFY RECORDER
set -uo pipefail

daemon=${1:?usage: notify_test.sh P2PCHATD P2PCHATCTL P2PCHAT_NOTIFY RECORDER}
ctl=${2:?}
notify=${3:?}
recorder=${4:?}

test_name=notify_test
source "$(dirname "$0")/lib.sh"
require_tools dbus-daemon jq

die() { echo "notify_test: FATAL: $*" >&2; for f in "$tmp"/*.log; do echo "--- $f"; tail -20 "$f"; done >&2; exit 1; }

dbus-daemon --session --nofork --nopidfile --print-address=1 >"$tmp/bus.addr" 2>"$tmp/bus.log" &
pids+=($!)
wait_for 10 test -s "$tmp/bus.addr" || die "dbus-daemon did not print its address"
DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$tmp/bus.addr")
export DBUS_SESSION_BUS_ADDRESS

rec="$tmp/notifications.jsonl"
: >"$rec"
"$recorder" "$rec" 2>"$tmp/recorder.log" &
pids+=($!)
wait_for 10 busctl --user status org.freedesktop.Notifications || die "the recorder did not take its name"

start_daemon() {  # NAME HOST [ARGS...]
    local name=$1 host=$2
    shift 2
    "$daemon" --name "$name" --listen "$host:0" --socket "$tmp/$name.sock" \
        --state-dir "$tmp/$name-state" --config /dev/null "$@" 2>>"$tmp/$name.log" &
    pids+=($!)
    printf -v "${name}_pid" %s $!
    wait_for 10 "$ctl" --socket "$tmp/$name.sock" status || die "$name did not start"
}
start_daemon alice 127.0.0.1
start_daemon bob 127.0.0.2
"$ctl" --socket "$tmp/bob.sock" join "$("$ctl" --socket "$tmp/alice.sock" status --json | jq -r .listen)" \
    >/dev/null || die "bob could not join alice"

# A function, so wait_for asks again each time (a $(...) argument is expanded once).
subscribed() { [ "$("$ctl" --socket "$tmp/alice.sock" status --json | jq .subscribers)" -ge 1 ]; }
count() { jq -s "[.[] | select($1)] | length" "$rec"; }
has() { [ "$(count "$1")" -ge "${2:-1}" ]; }
bob() { "$ctl" --socket "$tmp/bob.sock" send "$@" >/dev/null; }
alice() { "$ctl" --socket "$tmp/alice.sock" send "$@" >/dev/null; }

# ---- bad options -------------------------------------------------------------------------
for args in "--coalesce -1" "--burst 0" "--window 1e3" "stray" "--frobnicate"; do
    # shellcheck disable=SC2086
    "$notify" $args >/dev/null 2>"$tmp/err"
    rc=$?
    [ $rc -eq 64 ] || fail "p2pchat-notify $args exited $rc, not 64"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "p2pchat-notify $args: not one line: $(cat "$tmp/err")"
done

# ---- coalescing, own messages, markup ------------------------------------------------
"$notify" --socket "$tmp/alice.sock" --coalesce 30 2>"$tmp/notify.log" &
notify_pid=$!
pids+=($notify_pid)
wait_for 10 subscribed ||
    die "p2pchat-notify did not subscribe"

bob "hello <b>alice</b> & co"
wait_for 10 has '.summary == "bob" and .body == "hello &lt;b&gt;alice&lt;/b&gt; &amp; co"' ||
    fail "no notification 'bob: hello ...' with escaped markup: $(cat "$rec")"
has '.app == "p2pchat" and .category == "im.received" and .replaces_id == 0' ||
    fail "app name, category or replaces_id wrong: $(cat "$rec")"
first_id=$(jq -s -r '.[0].id' "$rec")
bob "second"
bob "third"
wait_for 10 has ".summary == \"bob (3 messages)\" and .replaces_id == $first_id" ||
    fail "fast messages from bob were not coalesced into notification $first_id: $(cat "$rec")"
has '.body | test("second\nthird")' || fail "the coalesced body lacks the new lines: $(cat "$rec")"
alice "my own words"
bob "marker"
wait_for 10 has '.body | test("marker")' || fail "no notification for the marker"
has '.body | test("my own words")' && fail "a notification for alice's own message"

kill -TERM "$notify_pid"
wait "$notify_pid" 2>/dev/null
: >"$rec"

# ---- rate limit: one notification per message, at most 3 per 2 s, then a summary -------
"$notify" --socket "$tmp/alice.sock" --coalesce 0 --burst 3 --window 2 2>>"$tmp/notify.log" &
pids+=($!)
wait_for 10 subscribed ||
    die "p2pchat-notify did not subscribe again"
for i in 1 2 3 4 5 6 7 8; do bob "burst $i"; done
wait_for 10 has '.body | test("burst 3")' || fail "the first three of a burst were not posted"
wait_for 10 has '.body | test("^5 more messages")' ||
    fail "no '5 more messages' summary after the window: $(cat "$rec")"
[ "$(count '.body | test("burst [4-8]")')" -eq 0 ] || fail "the rate limit let more through: $(cat "$rec")"
kill -TERM "${pids[-1]}"
wait "${pids[-1]}" 2>/dev/null
: >"$rec"

# ---- --mentions ----------------------------------------------------------------------------
"$notify" --socket "$tmp/alice.sock" --mentions 2>>"$tmp/notify.log" &
pids+=($!)
wait_for 10 subscribed ||
    die "p2pchat-notify --mentions did not subscribe"
bob "not for her"
bob "Alice, look"
wait_for 10 has '.body == "Alice, look"' || fail "--mentions missed a mention: $(cat "$rec")"
has '.body | test("not for her")' && fail "--mentions posted a message without a mention"

# ---- the daemon restarts: p2pchat-notify says so and follows the new one --------------
kill -TERM "$alice_pid"
wait_for 10 grep -q "went away" "$tmp/notify.log" || fail "p2pchat-notify did not notice the restart"
start_daemon alice 127.0.0.1
"$ctl" --socket "$tmp/bob.sock" join "$("$ctl" --socket "$tmp/alice.sock" status --json | jq -r .listen)" \
    >/dev/null || die "bob could not join the new alice"
wait_for 15 subscribed ||
    fail "p2pchat-notify did not come back"
bob "alice, welcome back"
wait_for 10 has '.body | test("alice, welcome back")' || fail "nothing posted after the restart: $(cat "$rec")"

[ $failures -eq 0 ] && echo "notify_test: ok"
exit $((failures > 0))
