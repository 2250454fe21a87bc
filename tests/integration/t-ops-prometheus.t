#!/usr/bin/env bash
# t-ops-prometheus.t — --prometheus FILE: promtool accepts the file; one
# HELP/TYPE per metric; a findings series for every check that ran (0
# included); a kill -9 between the temp write and the rename leaves the old
# file whole; a failed run keeps the last success time; usage errors are
# recorded too.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/ops-lib.bash"
ops_setup

STORE=$TAP_TMP/store
ops_store "$STORE"
PD=$TAP_TMP/textfile
mkdir -p "$PD"
PROM=$PD/ovl2fsck.prom

have_promtool=0
command -v promtool >/dev/null && have_promtool=1

# promtool_ok NAME FILE: promtool check metrics accepts FILE with no complaint.
promtool_ok() {
    if [ "$have_promtool" = 0 ]; then
        skip 1 "promtool not installed (apt-get install prometheus)"
        return
    fi
    local out
    out=$(promtool check metrics < "$2" 2>&1)
    local rc=$?
    note "promtool check metrics ($1): rc=$rc${out:+, $out}"
    if [ "$rc" = 0 ] && [ -z "$out" ]; then pass "$1"; else fail "$1"; diag "$out"; fi
}

# ---- a normal run --------------------------------------------------------------
old_umask=$(umask)
umask 077
ops_run "$TAP_TMP/out" "$TAP_TMP/err" --root "$STORE" --min-age 0 --prometheus "$PROM" -q
umask "$old_umask"
is "$RC" 4 "a run with garbage exits 4"
ok "the metrics file exists" test -s "$PROM"
is "$(tail -c 1 "$PROM" | od -An -c | tr -d ' ')" '\n' "the file ends in a newline"
is "$(stat -c %a "$PROM")" 644 "mode 0644 whatever the umask (node_exporter reads it)"
is "$(ls -A "$PD")" ovl2fsck.prom "no temp file left in the textfile dir"
promtool_ok "promtool accepts the file of a run with findings" "$PROM"

metrics="ovl2fsck_findings ovl2fsck_reclaimable_bytes ovl2fsck_objects ovl2fsck_young_skipped
ovl2fsck_duration_seconds ovl2fsck_last_run_timestamp_seconds ovl2fsck_last_success_timestamp_seconds
ovl2fsck_exit_code ovl2fsck_check_failures"
bad=""
for m in $metrics; do
    [ "$(grep -c "^# HELP $m " "$PROM")" = 1 ] && [ "$(grep -c "^# TYPE $m gauge\$" "$PROM")" = 1 ] || bad="$bad $m"
done
is "$bad" "" "each metric has exactly one HELP and one TYPE line"

nchecks=$("$OVL2FSCK" --config "$OPS_EMPTY_CONF" --checks-dir "$OPS_EMPTY_DIR" --list-checks | wc -l)
is "$(grep -c '^ovl2fsck_findings{' "$PROM")" "$nchecks" "one findings sample per catalog check ($nchecks)"
is "$(prom_value "$PROM" 'ovl2fsck_findings{check="overlay-dir-orphaned",severity="garbage"}')" 1 \
    "the orphaned dir is counted"
is "$(prom_value "$PROM" 'ovl2fsck_findings{check="tag-dangling",severity="error"}')" 0 \
    "a check without findings has a 0 sample"
is "$(grep '^ovl2fsck_objects{' "$PROM" | sed 's/.*kind="\([a-z_]*\)".*/\1/' | tr '\n' ' ')" \
    "images layers mounts containers overlay_dirs links buildkit_snapshots " "the seven object kinds"
is "$(prom_value "$PROM" 'ovl2fsck_objects{kind="overlay_dirs"}')" 1 "overlay_dirs counted"
like "$(prom_value "$PROM" ovl2fsck_reclaimable_bytes)" '^[1-9][0-9]*$' "reclaimable bytes > 0"
is "$(prom_value "$PROM" ovl2fsck_exit_code)" 4 "exit code recorded"
last_run=$(prom_value "$PROM" ovl2fsck_last_run_timestamp_seconds)
is "$(prom_value "$PROM" ovl2fsck_last_success_timestamp_seconds)" "$last_run" \
    "a run with findings is a success: last success = last run"
now=$(date +%s)
ok "last run is now" test $((now - last_run)) -lt 60 -a $((now - last_run)) -ge 0
like "$(prom_value "$PROM" ovl2fsck_duration_seconds)" '^[0-9]+\.[0-9]{3}$' "duration in seconds"

# ---- an interrupted write leaves the old file whole ----------------------------
cp "$PROM" "$TAP_TMP/before.prom"
CLEAN=$TAP_TMP/clean
ops_clean_store "$CLEAN"
# (run under sh so that bash does not print "Killed")
RC=$(OVL2FSCK_TEST_PROM_CRASH=1 sh -c '"$@" >/dev/null 2>&1; echo $?' sh "$OVL2FSCK" \
    --config "$OPS_EMPTY_CONF" --checks-dir "$OPS_EMPTY_DIR" --root "$CLEAN" --min-age 0 --prometheus "$PROM" -q)
is "$RC" 137 "killed with SIGKILL between the temp write and the rename"
ok "the old file is byte for byte unchanged" cmp -s "$PROM" "$TAP_TMP/before.prom"
leftover=$(cd "$PD" && ls -A | grep -v '^ovl2fsck\.prom$' || true)
like "$leftover" '^\.ovl2fsck\.prom\.[A-Za-z0-9]{6}$' "the dead run's temp file is a dotfile"
unlike "$leftover" '\.prom$' "which node_exporter's collector ignores (not *.prom)"
promtool_ok "the old file is still valid" "$PROM"
rm -f "$PD/$leftover"

# ---- a failed run keeps the last success ---------------------------------------
sleep 1
ops_run "$TAP_TMP/out" "$TAP_TMP/err" --root "$TAP_TMP/no-such-root" --prometheus "$PROM" -q
is "$RC" 8 "an unreadable root exits 8"
is "$(prom_value "$PROM" ovl2fsck_exit_code)" 8 "exit code 8 recorded"
is "$(prom_value "$PROM" ovl2fsck_last_success_timestamp_seconds)" "$last_run" \
    "the last success time is kept from the previous file"
ok "the last run time moved on" test "$(prom_value "$PROM" ovl2fsck_last_run_timestamp_seconds)" -gt "$last_run"
is "$(grep -c '^ovl2fsck_findings' "$PROM")" 0 "no findings series when the checks did not run"
promtool_ok "promtool accepts the file of a failed run" "$PROM"

ops_run "$TAP_TMP/out" "$TAP_TMP/err" --root "$STORE" --min-age forever --prometheus "$PROM"
is "$RC" 16 "a usage error exits 16"
is "$(prom_value "$PROM" ovl2fsck_exit_code)" 16 "and is recorded in the metrics"
is "$(prom_value "$PROM" ovl2fsck_last_success_timestamp_seconds)" "$last_run" "last success still kept"

rm -f "$PROM"
ops_run "$TAP_TMP/out" "$TAP_TMP/err" --root "$TAP_TMP/no-such-root" --prometheus "$PROM"
is "$(prom_value "$PROM" ovl2fsck_last_success_timestamp_seconds)" 0 "never succeeded: last success 0"

ops_run "$TAP_TMP/out" "$TAP_TMP/err" --root "$STORE" --prometheus "$TAP_TMP/missing-dir/x.prom"
is "$RC" 12 "an unwritable metrics path adds exit bit 8 to the 4 of the findings"
like "$(cat "$TAP_TMP/err")" 'cannot create a temp file in .*/missing-dir' "and says why"

# ---- overrides and failures show in the labels ---------------------------------
printf 'check.overlay-dir-orphaned = error\ncheck.tag-dangling = ignore\n' > "$TAP_TMP/sev.conf"
ops_run "$TAP_TMP/out" "$TAP_TMP/err" --config "$TAP_TMP/sev.conf" --root "$STORE" --min-age 0 \
    --prometheus "$PROM" --ignore overlay-stray-entry -q
is "$(prom_value "$PROM" 'ovl2fsck_findings{check="overlay-dir-orphaned",severity="error"}')" 1 \
    "the severity label is the effective severity"
is "$(grep -c 'check="tag-dangling"' "$PROM")" 0 "a check ignored in the config has no series"
is "$(grep -c 'check="overlay-stray-entry"' "$PROM")" 0 "a check ignored by --ignore has no series"

CD=$TAP_TMP/checks.d
mkdir -p "$CD"
printf -- '-- check: x\n-- severity: nope\n-- meaning: m\nSELECT 1 AS object;\n' > "$CD/we \"ird\\name.sql"
ops_run "$TAP_TMP/out" "$TAP_TMP/err" --checks-dir "$CD" --root "$STORE" --min-age 0 --prometheus "$PROM" -q
is "$RC" 12 "a broken own check: exit 4|8"
is "$(prom_value "$PROM" ovl2fsck_check_failures)" 1 "ovl2fsck_check_failures counts it"
is "$(grep -c '^ovl2fsck_check_failed{source=".*we \\"ird\\\\\\\\name.sql:2"} 1$' "$PROM")" 1 \
    "ovl2fsck_check_failed names it, label escaped"
promtool_ok "promtool accepts escaped labels" "$PROM"

done_testing
