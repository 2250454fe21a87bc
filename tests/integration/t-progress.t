#!/usr/bin/env bash
# The progress line (issue 4): on stderr, only when stderr is a terminal and
# the run has taken more than a second, redrawn in place ("\r...\033[K") and
# erased at the end; never on a pipe or file, never with -q, and never in
# the report itself. A pty comes from script(1); OVL2FSCK_PROGRESS_AFTER=0
# stands in for "a run longer than a second" on a small generated store.
. "$(dirname "$0")/../lib/tap.sh"
tap_tmpdir

TOP=$TAP_TOP
command -v script >/dev/null || skip_all "script(1) missing (util-linux)"
command -v cc >/dev/null || skip_all "no C compiler"
tap_genstore
S=$TAP_TMP/store
ok "genstore --images 300" sh -c "'$GEN' --out '$S' --images 300 --garbage 2 --seed 3 --quiet >/dev/null"

# on_tty OUT ERR [ENV=V...] -- ARGS...: ovl2fsck with stderr on a pty (captured
# in ERR), stdout to the file OUT
on_tty() {
    local out=$1 err=$2; shift 2
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    script -qec "env ${envs[*]} $(printf '%q ' "$OVL2FSCK" "$@") >$(printf '%q' "$out")" "$err" >/dev/null 2>&1 </dev/null
}
ARGS=(--root "$S" --min-age 0 --json)

on_tty "$TAP_TMP/tty.json" "$TAP_TMP/tty.err" OVL2FSCK_PROGRESS_AFTER=0 -- "${ARGS[@]}"
like "$(tr '\r\033' 'RE' <"$TAP_TMP/tty.err")" "Rovl2fsck: scanning: [0-9]+ objects read" "a tty: the scan's progress line, drawn over itself"
like "$(tr '\r\033' 'RE' <"$TAP_TMP/tty.err")" "RE\\[K" "and erased at the end"
"$OVL2FSCK" "${ARGS[@]}" >"$TAP_TMP/plain.json" 2>"$TAP_TMP/plain.err"
is "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["findings"]))' "$TAP_TMP/tty.json")" \
   "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["findings"]))' "$TAP_TMP/plain.json")" \
   "the report is the same with the progress line on stderr"
is "$(cat "$TAP_TMP/plain.err")" "" "stderr not a tty: no progress line"
OVL2FSCK_PROGRESS_AFTER=0 "$OVL2FSCK" "${ARGS[@]}" >/dev/null 2>"$TAP_TMP/pipe.err"
is "$(cat "$TAP_TMP/pipe.err")" "" "not even when due (stderr a file)"

on_tty "$TAP_TMP/q.out" "$TAP_TMP/q.err" OVL2FSCK_PROGRESS_AFTER=0 -- "${ARGS[@]}" -q
unlike "$(cat "$TAP_TMP/q.err")" "scanning" "-q: no progress line on a tty"

on_tty "$TAP_TMP/fast.out" "$TAP_TMP/fast.err" -- "${ARGS[@]}"
unlike "$(cat "$TAP_TMP/fast.err")" "scanning" "a tty, a run under a second: no progress line"
done_testing
