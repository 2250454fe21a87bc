#!/usr/bin/env bash
# t-ops-report.t — the human output: colour only on a terminal and never
# with NO_COLOR (or TERM=dumb); sizes human-readable, exact with --bytes;
# one summary line at the end; -v prints per-stage timing on stderr; -q is
# silent on a clean store.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/ops-lib.bash"
ops_setup

STORE=$TAP_TMP/store
ops_store "$STORE"
CLEAN=$TAP_TMP/clean
ops_clean_store "$CLEAN"
out=$TAP_TMP/out
err=$TAP_TMP/err
ESC=$'\033'
ARGS=(--config "$OPS_EMPTY_CONF" --checks-dir "$OPS_EMPTY_DIR" --root "$STORE" --min-age 0)

# on_tty ENV...: run the report with stdout on a pseudo-terminal (script(1)).
on_tty() {
    local cmd
    printf -v cmd '%q ' env "$@" "$OVL2FSCK" "${ARGS[@]}"
    script -qec "$cmd" /dev/null
}

# ---- colour ----------------------------------------------------------------------------
if command -v script >/dev/null; then
    tty_out=$(on_tty TERM=xterm NO_COLOR=)
    like "$tty_out" "$ESC\\[" "colour on a terminal"
    tty_out=$(on_tty TERM=xterm NO_COLOR=1)
    unlike "$tty_out" "$ESC" "no colour on a terminal with NO_COLOR=1"
    tty_out=$(on_tty TERM=dumb NO_COLOR=)
    unlike "$tty_out" "$ESC" "no colour on a terminal with TERM=dumb"
else
    skip 3 "no script(1) for a pseudo-terminal"
fi
ops_run "$out" "$err" "${ARGS[@]}"
report=$(cat "$out")
unlike "$report" "$ESC" "no colour into a pipe or file"

# ---- sizes --------------------------------------------------------------------------------
bytes=$(du -B1 -s "$STORE/overlay2/$OPS_ORPHAN" | cut -f1)
like "$report" "GARBAGE \\([0-9.]+ KiB reclaimable\\)" "human-readable sizes by default"
unlike "$report" "$bytes" "no exact byte count by default"
ops_run "$out" "$err" "${ARGS[@]}" --bytes
like "$(cat "$out")" "GARBAGE \\($bytes reclaimable\\)" "--bytes: the exact count ($bytes, as du -B1)"
like "$(cat "$out")" "$OPS_ORPHAN \\[$bytes\\]" "--bytes: per finding too"

# ---- summary line -------------------------------------------------------------------------
is "$(tail -1 <<<"$report")" \
    "summary: 0 errors, 1 garbage ($(sed -n 's/^GARBAGE (\(.*\) reclaimable)$/\1/p' <<<"$report") reclaimable), 0 warnings, 0 young skipped — exit 4" \
    "one summary line at the end"
is "$(grep -c '^summary:' <<<"$report")" 1 "exactly one"

# ---- -v timing ------------------------------------------------------------------------------
ops_run "$out" "$err" "${ARGS[@]}" -v
stages=$(sed -n 's/^ovl2fsck: stage \([a-z+]*\) *[0-9]*\.[0-9]* s$/\1/p' "$err" | tr '\n' ' ')
# (other stages, such as deep, may come in between)
is "$stages" "walk parse load scan deep derive checks sizes report total " "-v: per-stage timing on stderr"
total=$(sed -n 's/^ovl2fsck: stage total *\([0-9.]*\) s$/\1/p' "$err")
wall=$(awk '$3 ~ /^(scan|deep|derive|checks|sizes|report)$/ { s += $4 } END { printf "%.3f", s }' "$err")
ok "-v: total ($total) is the sum of the wall stages ($wall; walk, parse, load are thread time within scan)" \
    awk -v t="$total" -v w="$wall" 'BEGIN { d = t - w; exit !(t != "" && d < 0.007 && d > -0.007) }'
like "$(cat "$err")" "thread time over the scan's [12] threads" "-v: says what walk, parse and load are"
unlike "$(cat "$out")" "stage" "and not in the report"
ops_run "$out" "$err" "${ARGS[@]}"
is "$(cat "$err")" "" "no timing without -v"

# ---- -q ---------------------------------------------------------------------------------------
ops_run "$out" "$err" --root "$CLEAN" -q
is "$RC:$(cat "$out")" "0:" "-q on a clean store: nothing, exit 0"
ops_run "$out" "$err" "${ARGS[@]}" -q
unlike "$(cat "$out")" "scanned:" "-q with findings: no header"
like "$(cat "$out")" "overlay-dir-orphaned" "-q with findings: the findings"
like "$(tail -1 "$out")" "^summary: " "-q with findings: the summary"

done_testing
