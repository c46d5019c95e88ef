#!/usr/bin/env bash
# Shell completions (ctest label "docs"): bash (with bash-completion's _init_completion, and
# without it), fish and zsh complete commands and options, including --opt=value, and every
# long option that `p2pchatctl CMD --help` prints is known to each of them.
#
# usage: completion_test.sh P2PCHATCTL COMPLETION_DIR
set -uo pipefail

ctl=${1:?usage: completion_test.sh P2PCHATCTL COMPLETION_DIR}
dir=${2:?usage: completion_test.sh P2PCHATCTL COMPLETION_DIR}
failures=0
fail() { echo "completion_test: FAIL: $*" >&2; failures=$((failures + 1)); }

# ---- bash ------------------------------------------------------------------------------
# bash_complete WITH_BASH_COMPLETION LINE: prints the candidates for LINE (the cursor at its
# end), splitting words the way readline does (COMP_WORDBREAKS has '=').
bash_complete() {
    local with=$1 line=$2
    bash --norc --noprofile -c '
        with=$1 line=$2 dir=$3
        if [ "$with" = yes ]; then . /usr/share/bash-completion/bash_completion; fi
        . "$dir/p2pchatctl"
        COMP_WORDS=()
        read -ra toks <<<"$line"
        [[ $line == *" " ]] && toks+=("")
        for tok in "${toks[@]}"; do
            if [[ $tok == *=* ]]; then
                COMP_WORDS+=("${tok%%=*}" "=")
                [[ -n ${tok#*=} ]] && COMP_WORDS+=("${tok#*=}")
            else
                COMP_WORDS+=("$tok")
            fi
        done
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE=$line
        COMP_POINT=${#line}
        _p2pchatctl
        printf "%s\n" "${COMPREPLY[@]}"
    ' _ "$with" "$line" "$dir"
}

expect_bash() {  # WITH LINE EXPECTED-CANDIDATE...
    local with=$1 line=$2 c got
    shift 2
    got=$(bash_complete "$with" "$line")
    for c in "$@"; do
        grep -qxF -- "$c" <<<"$got" ||
            fail "bash ($with bash-completion): '$line' does not offer '$c' (got: $(tr '\n' ' ' <<<"$got"))"
    done
}

mkdir -p "/tmp/p2p-completion-$$/sockdir" && trap 'rm -rf "/tmp/p2p-completion-$$"' EXIT
for with in yes no; do
    if [ $with = yes ] && ! [ -f /usr/share/bash-completion/bash_completion ]; then
        fail "bash-completion is not installed (.ci/deps installs it)"
        continue
    fi
    expect_bash $with "p2pchatctl ta" tail
    expect_bash $with "p2pchatctl " send tail peers rename join leave status chat help
    expect_bash $with "p2pchatctl tail --" --follow --no-follow --since --until --lines --json
    expect_bash $with "p2pchatctl tail -" -f -n -S -U
    expect_bash $with "p2pchatctl tail --lines=" 10 all
    expect_bash $with "p2pchatctl tail --lines " 10 all
    expect_bash $with "p2pchatctl tail --since=" 10m yesterday
    expect_bash $with "p2pchatctl --socket=/tmp/x ta" tail
    expect_bash $with "p2pchatctl --socket /tmp/x peers --" --json
    expect_bash $with "p2pchatctl --socket=/tmp/p2p-completion-$$/so" "/tmp/p2p-completion-$$/sockdir"
    expect_bash $with "p2pchatctl help st" status
done

# ---- fish ------------------------------------------------------------------------------
if command -v fish >/dev/null; then
    expect_fish() {  # LINE EXPECTED-CANDIDATE...
        local line=$1 c got
        shift
        got=$(fish --no-config -c "source '$dir/p2pchatctl.fish'; complete -C '$line'" | cut -f1)
        for c in "$@"; do
            grep -qxF -- "$c" <<<"$got" ||
                fail "fish: '$line' does not offer '$c' (got: $(tr '\n' ' ' <<<"$got"))"
        done
    }
    expect_fish "p2pchatctl ta" tail
    expect_fish "p2pchatctl tail --" --follow --no-follow --since --until --lines --json
    expect_fish "p2pchatctl tail --lines=" --lines=10 --lines=all
    expect_fish "p2pchatctl --socket=/tmp/x ta" tail
else
    fail "fish is not installed (.ci/deps installs it)"
fi

# ---- zsh -------------------------------------------------------------------------------
if command -v zsh >/dev/null; then
    zsh -n "$dir/_p2pchatctl" || fail "zsh: _p2pchatctl has syntax errors"
    out=$(zsh -f -c "fpath=('$dir' \$fpath); autoload -Uz compinit; compinit -u -D;
                     (( \$+_comps[p2pchatctl] )) && print -r -- \$_comps[p2pchatctl]" 2>&1)
    [ "$out" = _p2pchatctl ] || fail "zsh: compinit does not bind _p2pchatctl to p2pchatctl: $out"
else
    fail "zsh is not installed (.ci/deps installs it)"
fi

# ---- every option the program has, each completion knows ---------------------------------
for cmd in send tail peers rename join leave status chat; do
    for opt in $("$ctl" "$cmd" --help | grep -oE -- '(^|[ ,])--[a-z][a-z-]*' | sed 's/^[ ,]*//' | sort -u); do
        grep -qE -- "(^|[^a-z-])$opt([^a-z-]|$)" "$dir/p2pchatctl" || fail "bash completion lacks $cmd $opt"
        grep -qE -- "(^|[^a-z-])$opt([^a-z-]|$)" "$dir/_p2pchatctl" || fail "zsh completion lacks $cmd $opt"
        grep -qE -- "-l ${opt#--}( |$)" "$dir/p2pchatctl.fish" || fail "fish completion lacks $cmd $opt"
    done
done

if [ $failures -ne 0 ]; then
    echo "completion_test: $failures problem(s)" >&2
    exit 1
fi
echo "completion_test: ok"
