# Shared by the service test scripts (source it after setting test_name): the tools a test
# needs, a scratch directory removed on exit together with every process listed in pids[],
# failure counting, and polling with a deadline instead of fixed sleeps.
: "${test_name:?set test_name before sourcing lib.sh}"

# require_tools TOOL...: fails the test at once when a tool is missing.
require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null ||
            { echo "$test_name: $tool not found (.ci/deps installs it)" >&2; exit 1; }
    done
}

tmp=$(mktemp -d "/tmp/p2p-$test_name.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() { echo "$test_name: FAIL: $*" >&2; failures=$((failures + 1)); }

# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds; fails after SECONDS.
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}
