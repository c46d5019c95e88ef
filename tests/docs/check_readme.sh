#!/usr/bin/env bash
# Checks that README.md's copy-paste commands stay true to the tree:
#   - the two quick-start commands are present verbatim; the test command is exactly what
#     .ci/run runs; the workflow presets they name exist and build into build/<preset>/;
#   - every local file the README links to or names under docs/ or man/ exists;
#   - every long option the README passes to p2pchatd or p2pchatctl is documented in that
#     program's manual page.
# usage: check_readme.sh SOURCE_DIR
set -uo pipefail

src=${1:?usage: check_readme.sh SOURCE_DIR}
readme="$src/README.md"
failures=0
fail() { echo "check_readme: FAIL: $*" >&2; failures=$((failures + 1)); }

[ -f "$readme" ] || { echo "check_readme: FAIL: $readme does not exist" >&2; exit 1; }

run_cmd='.ci/deps && cmake --workflow --preset release && build/release/p2pchatd --listen 127.0.0.1:7447'
test_cmd='.ci/deps && cmake --workflow --preset ci && cmake --workflow --preset asan && cmake --workflow --preset fuzz'
grep -qxF -- "$run_cmd" "$readme" || fail "README lacks the line: $run_cmd"
grep -qxF -- "$test_cmd" "$readme" || fail "README lacks the line: $test_cmd"
grep -qF -- "$test_cmd" "$src/.ci/run" || fail ".ci/run does not run: $test_cmd"
[ -x "$src/.ci/deps" ] || fail ".ci/deps is missing or not executable"
[ -x "$src/.ci/run" ] || fail ".ci/run is missing or not executable"

# The workflow presets exist (cmake itself reads CMakePresets.json) ...
if workflows=$(cd "$src" && cmake --workflow --list-presets 2>&1); then
    for p in release ci asan fuzz; do
        grep -qE "^[[:space:]]+\"$p\"" <<<"$workflows" || fail "no workflow preset \"$p\" in CMakePresets.json"
    done
else
    fail "cmake --workflow --list-presets failed: $workflows"
fi
# ... and build where the README says (build/release/p2pchatd).
grep -qF '"binaryDir": "${sourceDir}/build/${presetName}"' "$src/CMakePresets.json" ||
    fail "CMakePresets.json binaryDir is no longer \${sourceDir}/build/\${presetName}"

# Local files the README links to or names.
for f in $( { grep -oE '\]\([^)#:]+\)' "$readme" | sed -E 's/^\]\(//; s/\)$//'
              grep -oE '(docs|man)/[A-Za-z0-9_.-]+\.(md|[1-9])' "$readme"; } | sort -u); do
    [ -e "$src/$f" ] || fail "README refers to $f, which does not exist"
done

# Long options given to our programs in the README's code blocks.
check_options() {   # PROGRAM PAGE
    local prog=$1 page=$2 opt
    for opt in $(awk -v prog="$prog" '
        /^```/ { code = !code; next }
        !code { next }
        {
            n = split($0, seg, /\|/)
            for (s = 1; s <= n; s++) {
                m = split(seg[s], tok, /[ \t]+/)
                on = 0
                for (i = 1; i <= m; i++) {
                    t = tok[i]
                    if (t == "#") break
                    if (t == prog || t ~ ("/" prog "$")) { on = 1; continue }
                    if (on && t ~ /^--[a-z]/) { sub(/=.*/, "", t); print t }
                }
            }
        }' "$readme" | sort -u); do
        grep -qE "Fl -${opt#--}([[:space:]]|$)" "$page" ||
            fail "README passes $opt to $prog, but $(basename "$page") does not document it"
    done
}
check_options p2pchatd "$src/man/p2pchatd.8"
check_options p2pchatctl "$src/man/p2pchatctl.1"

if [ $failures -ne 0 ]; then
    echo "check_readme: $failures problem(s)" >&2
    exit 1
fi
echo "check_readme: ok"
