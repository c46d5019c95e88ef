#!/usr/bin/env bash
# Checks that the long options documented in the manual pages and the ones the built
# programs print in --help are the same set, in both directions.
#
# usage: check_help.sh P2PCHATD P2PCHATCTL MAN_DIR
#
# What is read from the pages (mdoc source, DESCRIPTION section only):
#   - every ".It" line that carries "Fl -long" documents that option;
#   - in p2pchatctl.1, an ".It Cm NAME ..." item opens command NAME; ".It Fl" lines
#     nested inside it (and "Fl -x" on the ".It Cm" line itself) are NAME's options;
#     ".It Fl" lines outside any command item are global options.
#   - every long option in the SYNOPSIS must be described in DESCRIPTION (in p2pchatd.8
#     also the reverse; p2pchatctl.1 describes long aliases, such as --lines, that its
#     SYNOPSIS leaves out).
# What is read from the programs:
#   - p2pchatd --help;
#   - p2pchatctl --help, and for each documented command both "p2pchatctl CMD --help"
#     and "p2pchatctl help CMD" (the spec promises both). Each must exit 0.
# Rules:
#   p2pchatd:   options(man) == options(--help)
#   p2pchatctl: every global option is in "p2pchatctl --help";
#               every option of CMD is in CMD's help or in the top-level help;
#               every option in the top-level help is documented somewhere;
#               every option in CMD's help is documented for CMD or globally.
# The programs run with a private HOME, runtime and state directory and a socket path
# nobody listens on, so a --help that wrongly talks to a daemon cannot touch a real one.
set -uo pipefail

daemon=${1:?usage: check_help.sh P2PCHATD P2PCHATCTL MAN_DIR}
ctl=${2:?usage: check_help.sh P2PCHATD P2PCHATCTL MAN_DIR}
man_dir=${3:?usage: check_help.sh P2PCHATD P2PCHATCTL MAN_DIR}

failures=0
fail() { echo "check_help: FAIL: $*" >&2; failures=$((failures + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home" "$tmp/run" "$tmp/state"
chmod 700 "$tmp/run"

# Prints "SCOPE --option" lines for one page, SCOPE being "global", "synopsis" or a
# command name. Parses mdoc source: tracks .Sh, .Bl/.El depth, .It Cm items, Xo/Xc.
page_options() {
    awk '
    function flags(line, scope,    n, i, t, in_fl) {
        sub(/^\./, "", line)
        n = split(line, tok, /[ \t]+/)
        in_fl = 0
        for (i = 1; i <= n; i++) {
            t = tok[i]
            if (t == "Fl") { in_fl = 1; continue }
            if (t ~ /^[A-Z][a-z][a-z]?$/ || t ~ /^\./) { in_fl = 0; continue }
            if (in_fl && t ~ /^-[A-Za-z0-9][A-Za-z0-9-]*$/) print scope " -" t
        }
    }
    function item(line,    n, parts) {
        # A command item: ".It Cm NAME ..." (possibly assembled from an Xo block).
        if (line ~ /^\.It[ \t]+Cm[ \t]+/) {
            n = split(line, parts, /[ \t]+/)
            cmd = parts[3]; cmd_depth = depth
            print "command " cmd
            flags(line, cmd)
            return
        }
        flags(line, cmd == "" ? "global" : cmd)
    }
    /^\.Sh[ \t]/ {
        section = $0; sub(/^\.Sh[ \t]+/, "", section)
        depth = 0; cmd = ""; xo = ""; in_xo = 0
        next
    }
    section == "SYNOPSIS" { flags($0, "synopsis"); next }
    section != "DESCRIPTION" { next }
    in_xo {
        if ($0 ~ /^\.Xc/) { in_xo = 0; item(xo); xo = ""; next }
        sub(/^\./, "", $0); xo = xo " " $0; next
    }
    /^\.Bl/ { depth++; next }
    /^\.El/ { if (cmd != "" && depth == cmd_depth) cmd = ""; depth--; next }
    /^\.It[ \t]+Xo/ { in_xo = 1; xo = ".It"; next }
    /^\.It/ { item($0); next }
    ' "$1" | sort -u
}

# Long options in a program's help text, one per line, sorted.
help_options() {
    grep -oE -- '(^|[^A-Za-z0-9-])--[A-Za-z0-9][A-Za-z0-9-]*' | sed -E 's/^[^-]*//' | sort -u
}

# Runs a program for its help; stdout goes to $tmp/out. Fails the check if it does not
# exit 0 or prints nothing on stdout.
run_help() {
    local what=$1; shift
    local rc
    env HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" XDG_STATE_HOME="$tmp/state" \
        P2PCHAT_SOCKET="$tmp/run/nobody.sock" NO_COLOR=1 \
        timeout 10 "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -ne 0 ]; then
        fail "'$what' exited $rc (expected 0); stderr: $(head -c 300 "$tmp/err")"
        return 1
    fi
    if ! [ -s "$tmp/out" ]; then
        fail "'$what' printed nothing on stdout"
        return 1
    fi
    return 0
}

# missing LABEL_A SET_A LABEL_B SET_B: fails for each line of SET_A not in SET_B.
missing() {
    local a_label=$1 a=$2 b_label=$3 b=$4 opt
    while IFS= read -r opt; do
        [ -n "$opt" ] || continue
        grep -qxF -- "$opt" <<<"$b" || fail "$opt is in $a_label but not in $b_label"
    done <<<"$a"
}

# Long options of a scope in page_options output.
scope() { awk -v s="$2" '$1 == s { print $2 }' <<<"$1" | sort -u; }
union() { printf '%s\n' "$@" | sed '/^$/d' | sort -u; }

for bin in "$daemon" "$ctl"; do
    if ! [ -x "$bin" ]; then
        fail "$bin does not exist or is not executable (build it first)"
    fi
done
for page in p2pchatd.8 p2pchatctl.1; do
    [ -f "$man_dir/$page" ] || fail "$man_dir/$page does not exist"
done
[ $failures -eq 0 ] || exit 1

# ---- p2pchatd ---------------------------------------------------------------------
d_page=$(page_options "$man_dir/p2pchatd.8")
d_man=$(scope "$d_page" global)
d_syn=$(scope "$d_page" synopsis)
[ -n "$d_man" ] || fail "p2pchatd.8: no options found in DESCRIPTION (.It Fl -...)"
if grep -q '^command ' <<<"$d_page"; then
    fail "p2pchatd.8: unexpected command items (.It Cm) in DESCRIPTION"
fi
missing "p2pchatd.8 SYNOPSIS" "$d_syn" "p2pchatd.8 DESCRIPTION" "$d_man"
missing "p2pchatd.8 DESCRIPTION" "$d_man" "p2pchatd.8 SYNOPSIS" "$d_syn"
if run_help "p2pchatd --help" "$daemon" --help; then
    d_help=$(help_options <"$tmp/out")
    missing "p2pchatd.8" "$d_man" "'p2pchatd --help'" "$d_help"
    missing "'p2pchatd --help'" "$d_help" "p2pchatd.8" "$d_man"
fi

# ---- p2pchatctl -------------------------------------------------------------------
c_page=$(page_options "$man_dir/p2pchatctl.1")
c_global=$(scope "$c_page" global)
c_syn=$(scope "$c_page" synopsis)
commands=$(awk '$1 == "command" { print $2 }' <<<"$c_page" | sort -u)
[ -n "$c_global" ] || fail "p2pchatctl.1: no global options found in DESCRIPTION"
[ -n "$commands" ] || fail "p2pchatctl.1: no commands (.It Cm NAME) found in DESCRIPTION"

c_all=$c_global
for c in $commands; do c_all=$(union "$c_all" "$(scope "$c_page" "$c")"); done
missing "p2pchatctl.1 SYNOPSIS" "$c_syn" "p2pchatctl.1 DESCRIPTION" "$c_all"

c_top=""
if run_help "p2pchatctl --help" "$ctl" --help; then
    c_top=$(help_options <"$tmp/out")
    missing "p2pchatctl.1 (global options)" "$c_global" "'p2pchatctl --help'" "$c_top"
    missing "'p2pchatctl --help'" "$c_top" "p2pchatctl.1" "$c_all"
fi

for c in $commands; do
    [ "$c" = help ] && continue
    c_man=$(scope "$c_page" "$c")
    c_help=""
    if run_help "p2pchatctl $c --help" "$ctl" "$c" --help; then
        c_help=$(union "$c_help" "$(help_options <"$tmp/out")")
    fi
    if run_help "p2pchatctl help $c" "$ctl" help "$c"; then
        c_help=$(union "$c_help" "$(help_options <"$tmp/out")")
    fi
    missing "p2pchatctl.1 ($c options)" "$c_man" "the help of '$c' or 'p2pchatctl --help'" \
        "$(union "$c_help" "$c_top")"
    missing "the help of '$c'" "$c_help" "p2pchatctl.1 ($c or global options)" \
        "$(union "$c_man" "$c_global")"
done

if [ $failures -ne 0 ]; then
    echo "check_help: $failures problem(s); the man pages and --help must list the same long options" >&2
    exit 1
fi
echo "check_help: ok (p2pchatd: $(wc -l <<<"$d_man") options; p2pchatctl: $(wc -l <<<"$c_all") options in $(wc -w <<<"$commands") commands)"
