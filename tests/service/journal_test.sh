#!/usr/bin/env bash
# Logging under the journal (ctest label "service"): when stderr is the stream JOURNAL_STREAM
# names (device:inode, as systemd sets it), every line starts with an sd-daemon "<N>"
# priority prefix; on anything else, with a timestamp. --log-level filters by priority.
#
# usage: journal_test.sh P2PCHATD P2PCHATCTL
set -uo pipefail

daemon=${1:?usage: journal_test.sh P2PCHATD P2PCHATCTL}
ctl=${2:?usage: journal_test.sh P2PCHATD P2PCHATCTL}

test_name=journal_test
source "$(dirname "$0")/lib.sh"
unset P2PCHAT_SOCKET NOTIFY_SOCKET LISTEN_FDS LISTEN_PID WATCHDOG_USEC JOURNAL_STREAM

# run_daemon LOG LEVEL [ENV...]: starts p2pchatd with stderr on LOG, waits until it answers,
# sends one message, then stops it with SIGTERM and waits for it to exit.
run_daemon() {
    local log=$1 level=$2; shift 2
    : > "$log"
    env "$@" "$daemon" --listen 127.0.0.1:0 --socket "$tmp/ctl.sock" --state-dir "$tmp/state" \
        --config /dev/null --log-level "$level" 2>"$log" &
    pid=$!
    pids=("$pid")
    wait_for 15 "$ctl" --socket "$tmp/ctl.sock" status || { fail "daemon did not answer"; cat "$log" >&2; return 1; }
    # 75: accepted, but the node is alone (nobody received it).
    "$ctl" --socket "$tmp/ctl.sock" send "hello journal" >/dev/null 2>&1
    [ $? -eq 75 ] || fail "send failed"
    kill -TERM "$pid"
    wait "$pid" || fail "daemon exited with $?"
    pids=()
}

# Under the journal: JOURNAL_STREAM names the very file stderr is.
touch "$tmp/journal.log"
stream=$(stat -c '%d:%i' "$tmp/journal.log")
run_daemon "$tmp/journal.log" info "JOURNAL_STREAM=$stream"
[ -s "$tmp/journal.log" ] || fail "nothing logged under the journal"
if grep -vqE '^<[0-7]>' "$tmp/journal.log"; then
    fail "a line without a <N> prefix under the journal:"; cat "$tmp/journal.log" >&2
fi
grep -qE '^<5>p2pchatd .* ready: ' "$tmp/journal.log" || fail "no <5> (notice) ready line"

# JOURNAL_STREAM naming another file: stderr is not the journal, so timestamps.
touch "$tmp/other"
run_daemon "$tmp/plain.log" info "JOURNAL_STREAM=$(stat -c '%d:%i' "$tmp/other")"
grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} p2pchatd .* ready: ' "$tmp/plain.log" \
    || { fail "no timestamped ready line on a plain file"; cat "$tmp/plain.log" >&2; }
grep -qE '^<[0-7]>' "$tmp/plain.log" && fail "a <N> prefix on a plain file"

# --log-level warning drops notices and infos.
run_daemon "$tmp/quiet.log" warning "JOURNAL_STREAM=$stream"
grep -qE '^<[5-7]>' "$tmp/quiet.log" && { fail "--log-level warning still logged notices:"; cat "$tmp/quiet.log" >&2; }

[ $failures -eq 0 ] && echo "journal_test: ok"
exit $((failures > 0))
