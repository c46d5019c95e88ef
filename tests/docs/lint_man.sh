#!/usr/bin/env bash
# Lints every manual page in a directory with mandoc and fails on any diagnostic of
# level WARNING or worse. A missing mandoc is a failure, not a skip: unchecked pages rot.
# usage: lint_man.sh MAN_DIR
set -uo pipefail

man_dir=${1:?usage: lint_man.sh MAN_DIR}

if ! command -v mandoc >/dev/null 2>&1; then
    echo "lint_man: mandoc not found (Debian: apt-get install mandoc; .ci/deps installs it)" >&2
    exit 1
fi

shopt -s nullglob
pages=("$man_dir"/*.[1-9])
if [ ${#pages[@]} -eq 0 ]; then
    echo "lint_man: no manual pages (*.[1-9]) in $man_dir" >&2
    exit 1
fi

status=0
for page in "${pages[@]}"; do
    # -Tlint writes its diagnostics to stdout; take stderr too so nothing hides.
    out=$(mandoc -Tlint -W warning "$page" 2>&1)
    rc=$?
    if [ -n "$out" ] || [ $rc -ne 0 ]; then
        printf '%s\n' "$out"
        echo "lint_man: $page: mandoc -Tlint -W warning reported problems (exit $rc)" >&2
        status=1
    else
        echo "lint_man: $page: ok"
    fi
done
exit $status
