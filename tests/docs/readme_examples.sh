#!/usr/bin/env bash
# Runs README.md's shell examples as written, in order, in one bash session, as a new user
# would type them into a terminal (exports and background jobs carry over from block to
# block). An HTML comment before a block says how a person would run it:
#   <!-- readme-test: skip (why) -->          not run here (and why)
#   <!-- readme-test: background; ready CMD --> started in the background, like a program
#                                              left running in another terminal; the next
#                                              block waits until CMD succeeds
#   <!-- readme-test: stop-background -->     Ctrl-C for what runs in the background first
#   <!-- readme-test: timeout N -->           watched for N seconds, then Ctrl-C
#   <!-- readme-test: allow N... -->          these exit statuses are the expected answer
# Any other failing command in a block fails the test. Afterwards the test checks what the
# examples say happens (the three nodes met, the bot answered).
#
# Two liberties, both for time: `cmake --workflow --preset release` checks that the preset
# exists and uses the ci build of the same tree (build/release links to it) instead of a
# second full build; and each run starts from empty state directories.
#
# usage: readme_examples.sh SOURCE_DIR BUILD_DIR
set -uo pipefail

src=$(cd "${1:?usage: readme_examples.sh SOURCE_DIR BUILD_DIR}" && pwd)
build=$(cd "${2:?usage: readme_examples.sh SOURCE_DIR BUILD_DIR}" && pwd)
tmp=$(mktemp -d /tmp/p2p-readme.XXXXXX)
failures=0
fail() { echo "readme_examples: FAIL: $*" >&2; failures=$((failures + 1)); }

# The README's own fixed paths: a previous run must not be in the way.
readme_paths=(/tmp/alice.sock /tmp/bob.sock /tmp/carol.sock /tmp/alice /tmp/bob /tmp/carol)
# The session runs under setsid: its session id is its own pid, and everything the examples
# left running (daemons, the bot) is ended by that id and nothing else.
end_session() {
    local sid
    sid=$(cat "$tmp/session.sid" 2>/dev/null)
    [[ $sid =~ ^[1-9][0-9]*$ ]] || return 0  # never 0: pkill reads that as its own session
    [ "$sid" != "$(ps -o sid= $$ | tr -d ' ')" ] || return 0  # nor the test's own
    pkill -TERM -s "$sid" 2>/dev/null
    for _ in $(seq 50); do pgrep -s "$sid" >/dev/null || return 0; sleep 0.1; done
    pkill -KILL -s "$sid" 2>/dev/null
}
cleanup() {
    end_session
    rm -rf "$tmp" "${readme_paths[@]}"
}
trap cleanup EXIT
rm -rf "${readme_paths[@]}"

# ---- the workspace: the source tree's scripts, and build/release as built -----------------
ws="$tmp/ws"
mkdir -p "$ws/build" "$tmp/shim" "$tmp/home" "$tmp/run" "$tmp/state"
chmod 700 "$tmp/run"
for f in .ci bench CMakePresets.json CMakeLists.txt man docs; do ln -s "$src/$f" "$ws/$f"; done
ln -s "$build" "$ws/build/release"
real_cmake=$(command -v cmake)
cat >"$tmp/shim/cmake" <<SHIM
#!/bin/sh
if [ "\$*" = "--workflow --preset release" ]; then
    "$real_cmake" --workflow --list-presets | grep -q '"release"' || exit 1
    exit 0
fi
exec "$real_cmake" "\$@"
SHIM
chmod +x "$tmp/shim/cmake"

# ---- the session script, one block after the other ------------------------------------------
script="$tmp/session.sh"
{
    echo 'set -m; set -o errtrace; bg=()'
    echo "ps -o sid= \$\$ | tr -d ' ' >'$tmp/session.sid'"
    echo "failed() { echo \"block \$block: '\$1' exited \$2\" >>'$tmp/failures'; }"
    echo 'trap '"'"'rc=$?; case " $allow " in *" $rc "*) ;; *) failed "$BASH_COMMAND" $rc ;; esac'"'"' ERR'
} >"$script"

block=0 note="" in_block=0 text=""
while IFS= read -r line; do
    if [ $in_block -eq 0 ]; then
        if [[ $line =~ ^\<!--\ readme-test:\ (.*)\ --\>$ ]]; then
            note=${BASH_REMATCH[1]}
        elif [[ $line == '```sh' ]]; then
            in_block=1 text=""
        elif [ -n "$line" ]; then
            note=""
        fi
        continue
    fi
    if [[ $line != '```' ]]; then
        text+="$line"$'\n'
        continue
    fi
    in_block=0 block=$((block + 1))
    allow="0"
    [[ $note =~ allow\ ([0-9\ ]+) ]] && allow="0 ${BASH_REMATCH[1]}"
    {
        echo "# ---- block $block: $note"
        echo "block=$block allow='$allow'"
        if [[ $note == skip* ]]; then
            echo "echo 'readme_examples: block $block skipped: ${note#skip }'"
        elif [[ $note == stop-background* ]]; then
            echo 'for p in "${bg[@]}"; do kill -INT -- "-$p" 2>/dev/null; done'
            echo 'for p in "${bg[@]}"; do wait "$p" 2>/dev/null || true; done; bg=()'
            printf '%s' "$text"
        elif [[ $note == background* ]]; then
            printf '(\n%s) &\nbg+=($!)\n' "$text"
            if [[ $note =~ ready\ (.*)$ ]]; then
                echo "for i in \$(seq 300); do ${BASH_REMATCH[1]} >/dev/null 2>&1 && break; sleep 0.1; done"
            fi
        elif [[ $note =~ timeout\ ([0-9]+) ]]; then
            printf '(\n%s) &\nwatched=$!\nsleep %s\nkill -INT -- "-$watched" 2>/dev/null; wait "$watched" 2>/dev/null || true\n' \
                "$text" "${BASH_REMATCH[1]}"
        else
            printf '%s' "$text"
        fi
        note=""
    } >>"$script"
done <"$src/README.md"
echo 'trap - ERR; for p in "${bg[@]}"; do kill -INT -- "-$p" 2>/dev/null; done' >>"$script"
[ $block -ge 8 ] || fail "found only $block shell blocks in README.md"

# ---- run it, then check what the README says happens ---------------------------------------
# As a new user would, and never as root: a root daemon would use /run/p2pchatd.sock and
# /var/lib/p2pchat of this machine. Under CI (root) the examples run as nobody.
: >"$tmp/failures"
: >"$tmp/session.sid"
as_user=()
if [ "$(id -u)" -eq 0 ]; then
    chmod 755 "$tmp"
    chown nobody:nogroup "$tmp/home" "$tmp/run" "$tmp/state" "$tmp/failures" "$tmp/session.sid"
    as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env)
fi
(cd "$ws" && timeout 90 setsid --wait "${as_user[@]}" env -u P2PCHAT_SOCKET HOME="$tmp/home" \
    XDG_RUNTIME_DIR="$tmp/run" XDG_STATE_HOME="$tmp/state" PATH="$tmp/shim:$PATH" \
    bash "$script" </dev/null >"$tmp/out" 2>"$tmp/err")
rc=$?
[ $rc -ne 124 ] || fail "the examples did not finish within 90 s"
sid=$(cat "$tmp/session.sid" 2>/dev/null)
[[ $sid =~ ^[1-9][0-9]*$ ]] && [ "$sid" != "$(ps -o sid= $$ | tr -d ' ')" ] ||
    { fail "the session did not get its own session id"; : >"$tmp/session.sid"; }
while IFS= read -r f; do fail "README $f"; done <"$tmp/failures"

ctl="$build/p2pchatctl"
grep -q 'hi' <<<"$(grep -F '* ' "$tmp/out" ; cat "$tmp/out")" || fail "the quick start's tail did not show \"hi\""
grep -qx 'joined: 1 peer' "$tmp/out" || fail "bob's join did not print 'joined: 1 peer'"
grep -qx 'joined: 2 peers' "$tmp/out" || fail "carol's join did not print 'joined: 2 peers'"
grep -q 'hello from alice' "$tmp/out" || fail "bob's tail did not show alice's hello"
grep -qxE '127\.0\.0\.3:7447' "$tmp/out" || fail "status --json | jq -r .listen did not print carol's address"
grep -qx '3' "$tmp/out" || fail "the status check did not print 3"
grep -q 'carol: alice: ' <<<"$("$ctl" --socket /tmp/alice.sock tail -n all --no-follow 2>&1)" ||
    fail "the bot did not answer alice's !date"

if [ $failures -ne 0 ]; then
    echo "--- session output"; cat "$tmp/out"; echo "--- session errors"; cat "$tmp/err"
    echo "readme_examples: $failures problem(s)" >&2
    exit 1
fi >&2
echo "readme_examples: ok ($block blocks)"
