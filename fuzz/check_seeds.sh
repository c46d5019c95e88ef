#!/usr/bin/env bash
# Checks that the generated seeds in fuzz/corpus/ are what fuzz_seeds writes now (refresh them
# with `fuzz/run --seeds`). Other files in the corpus directories (regression inputs, inputs a
# long run found) are left alone.
# usage: check_seeds.sh FUZZ_SEEDS_BINARY CORPUS_DIR
set -uo pipefail
gen=${1:?usage: check_seeds.sh FUZZ_SEEDS_BINARY CORPUS_DIR}
corpus=${2:?usage: check_seeds.sh FUZZ_SEEDS_BINARY CORPUS_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$gen" "$tmp" || { echo "check_seeds: FAIL: fuzz_seeds failed" >&2; exit 1; }
failures=0
while IFS= read -r f; do
    rel=${f#"$tmp"/}
    if ! cmp -s "$f" "$corpus/$rel"; then
        echo "check_seeds: FAIL: fuzz/corpus/$rel is missing or stale (run fuzz/run --seeds)" >&2
        failures=$((failures + 1))
    fi
done < <(find "$tmp" -type f | sort)
[ $failures -eq 0 ] || exit 1
echo "check_seeds: ok ($(find "$tmp" -type f | wc -l) seeds)"
