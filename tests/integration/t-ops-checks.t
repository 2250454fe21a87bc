#!/usr/bin/env bash
# t-ops-checks.t — own checks: a *.sql file in the checks dir runs like a
# built-in and shows in the report, the JSON and the metrics; broken ones
# (bad header, SQL that does not prepare, SQL failing while it runs) are
# reported by file (and line where known), the rest still run, and the exit
# status gets bit 8.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/ops-lib.bash"
ops_setup

STORE=$TAP_TMP/store
ops_store "$STORE"
CD=$TAP_TMP/checks.d
mkdir -p "$CD"
out=$TAP_TMP/out
err=$TAP_TMP/err
PROM=$TAP_TMP/o.prom

cat > "$CD/big-dirs.sql" <<'EOF'
-- check: site-overlay-census
-- severity: warning
-- meaning: every overlay2 dir, listed by the site's own check
SELECT name AS object, 'overlay2/' || name AS path, 'counted by site policy' AS detail
FROM overlay_dir;
EOF
printf 'not a check' > "$CD/README"

# json_get FILE PYTHON-EXPR: evaluate EXPR with j = the parsed JSON document.
json_get() { python3 -c 'import json,sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# ---- a good own check -------------------------------------------------------------
ops_run "$out" "$err" --checks-dir "$CD" --list-checks
like "$(tail -1 "$out")" '^site-overlay-census +warning +every overlay2 dir, listed by the site' \
    "--list-checks lists it after the built-ins"

ops_run "$out" "$err" --checks-dir "$CD" --root "$STORE" --min-age 0 --prometheus "$PROM"
is "$RC" 4 "exit 4 (the built-in garbage finding); a warning adds nothing"
like "$(cat "$out")" $'WARNINGS\n  site-overlay-census \\(1\\): every overlay2 dir, listed by the site' \
    "report: the own check's section, count and meaning"
like "$(cat "$out")" "$OPS_ORPHAN"$'\n      overlay2/'"$OPS_ORPHAN: counted by site policy" \
    "report: its finding with path and detail"
like "$(cat "$out")" 'overlay-dir-orphaned \(1\)' "report: the built-ins still run"
is "$(prom_value "$PROM" 'ovl2fsck_findings{check="site-overlay-census",severity="warning"}')" 1 "metrics: its series"

ops_run "$out" "$err" --checks-dir "$CD" --root "$STORE" --min-age 0 --json
is "$(json_get "$out" '[f["object"] for f in j["findings"] if f["check"] == "site-overlay-census"]')" \
    "['$OPS_ORPHAN']" "JSON: its finding"
is "$(json_get "$out" '"check_failures" in j')" False "JSON: no check_failures when all loaded"

printf 'check.site-overlay-census = error\n' > "$TAP_TMP/c.conf"
ops_run "$out" "$err" --config "$TAP_TMP/c.conf" --checks-dir "$CD" --root "$STORE" --min-age 0 --ignore overlay-dir-orphaned
is "$RC" 4 "the config can promote an own check to error (exit 4 from it alone)"
printf 'check.site-overlay-census = ignore\n' > "$TAP_TMP/c.conf"
ops_run "$out" "$err" --config "$TAP_TMP/c.conf" --checks-dir "$CD" --root "$STORE" --min-age 0
unlike "$(cat "$out")" 'site-overlay-census' "... or switch it off"

# ---- broken own checks --------------------------------------------------------------
cat > "$CD/bad-header.sql" <<'EOF'
-- check: site-bad-header
-- severity: critical
-- meaning: not a severity
SELECT 1 AS object;
EOF
cat > "$CD/bad-sql.sql" <<'EOF'
-- check: site-bad-sql
-- severity: error
-- meaning: a typo in the SQL
SELECT name AS object
FROM overlay_dir
WHERE name = = 'x';
EOF
cat > "$CD/no-table.sql" <<'EOF'
-- check: site-no-table
-- severity: error
-- meaning: a table that does not exist
SELECT id AS object
FROM no_such_table;
EOF
cat > "$CD/runtime.sql" <<'EOF'
-- check: site-runtime
-- severity: error
-- meaning: prepares, then fails while it runs
SELECT name AS object, abs(-9223372036854775807 - 1) AS detail FROM overlay_dir;
EOF
ops_run "$out" "$err" --checks-dir "$CD" --root "$STORE" --min-age 0 --prometheus "$PROM"
is "$RC" 12 "broken own checks: exit 4|8"
report=$(cat "$out")
like "$report" "CHECK FAILURES" "report: a section for them"
like "$report" "$CD/bad-header.sql:2: severity must be error, garbage or warning" "report: bad header by file:line"
like "$report" "$CD/bad-sql.sql:6: SQL: near \"=\": syntax error" "report: syntax error by file:line"
like "$report" "$CD/no-table.sql:5: SQL: no such table: no_such_table" "report: unknown table by file:line"
like "$report" "$CD/runtime.sql: integer overflow" "report: a failure while running, by file"
like "$report" 'site-overlay-census \(1\)' "the good own check still runs"
like "$report" 'overlay-dir-orphaned \(1\)' "the built-ins still run"
like "$report" 'summary: .*, 4 checks failed — exit 12' "the summary counts them"

is "$(prom_value "$PROM" ovl2fsck_check_failures)" 4 "metrics: ovl2fsck_check_failures 4"
is "$(grep -c "^ovl2fsck_check_failed{source=\"$CD/bad-sql.sql:6\"} 1\$" "$PROM")" 1 "metrics: one series per failure"
is "$(prom_value "$PROM" ovl2fsck_exit_code)" 12 "metrics: exit code 12"
is "$(prom_value "$PROM" 'ovl2fsck_findings{check="site-overlay-census",severity="warning"}')" 1 \
    "metrics: the good own check's series"

ops_run "$out" "$err" --checks-dir "$CD" --root "$STORE" --min-age 0 --json
is "$RC" 12 "JSON run: exit 12"
is "$(json_get "$out" 'sorted(f["source"].rsplit("/", 1)[1] for f in j["check_failures"])')" \
    "['bad-header.sql:2', 'bad-sql.sql:6', 'no-table.sql:5', 'runtime.sql']" "JSON: check_failures by file:line"
is "$(json_get "$out" 'len([f for f in j["findings"] if f["check"] == "site-overlay-census"])')" 1 \
    "JSON: the good own check's finding"

ops_run "$out" "$err" --checks-dir "$CD" --list-checks
is "$RC" 8 "--list-checks with broken checks exits 8"
like "$(cat "$err")" "check failed: $CD/bad-header.sql:2: severity must be" "and names them on stderr"

printf 'check.site-bad-header = warning\n' > "$TAP_TMP/c.conf"
ops_run "$out" "$err" --config "$TAP_TMP/c.conf" --checks-dir "$CD" --root "$STORE" --min-age 0
is "$RC" 12 "a config override naming a check that failed to load does not stop the run"
like "$(cat "$err")" "c.conf:1: unknown check 'site-bad-header' \\(ignored" "but is mentioned"

# ---- name clashes --------------------------------------------------------------------
rm -f "$CD"/bad-*.sql "$CD"/no-table.sql "$CD"/runtime.sql
printf -- '-- check: overlay-dir-orphaned\n-- severity: warning\n-- meaning: clash\nSELECT 1 AS object;\n' > "$CD/clash.sql"
ops_run "$out" "$err" --checks-dir "$CD" --root "$STORE" --min-age 0
like "$(cat "$out")" "$CD/clash.sql: check overlay-dir-orphaned is already defined by sql/checks/overlay-dir-orphaned.sql" \
    "an own check cannot replace a built-in"
like "$(cat "$out")" 'GARBAGE .*overlay-dir-orphaned \(1\)' "the built-in keeps its severity"

done_testing
