#!/usr/bin/env bash
# Command-line behaviour on real stores: empty and missing roots, usage errors,
# the catalog, --ignore, --min-age and young objects, -q.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
cases_init

# --- the catalog: every name of the core issue is there, with its severity ----
catalog="image-config-invalid error
image-digest-mismatch error
image-layer-missing error
image-parent-missing warning
imagedb-tmp-leftover garbage
tag-file-invalid error
tag-dangling error
layer-metadata-missing error
layer-metadata-invalid error
layer-chainid-mismatch error
layer-parent-missing error
layer-cache-id-dangling error
layer-cache-id-shared error
layer-unreferenced garbage
layerdb-tmp-leftover garbage
layerdb-removing-leftover garbage
mount-container-missing garbage
mount-id-dangling error
mount-parent-missing error
container-mount-missing garbage
container-image-missing warning
overlay-dir-orphaned garbage
overlay-diff-missing error
overlay-link-missing error
overlay-link-invalid error
overlay-link-broken garbage
overlay-link-mismatch error
overlay-lower-invalid error
overlay-stray-entry warning
buildkit-snapshot-dangling warning"
list=$("$OVL2FSCK" --list-checks 2>&1)
is "$?" 0 "--list-checks exits 0"
missing=
while read -r name sev; do
    grep -qE "^$name[[:space:]]+$sev([[:space:]]|$)" <<<"$list" || missing="$missing $name($sev)"
done <<<"$catalog"
is "$missing" "" "--list-checks lists all 30 core checks with their severities"

# --- empty and missing roots ---------------------------------------------------
mkdir "$TAP_TMP/empty"
fsck_json "$TAP_TMP/empty" --min-age 0
is "$FSCK_RC" 0 "empty root dir: exit 0"
ok "empty root dir: valid JSON" findings valid "$TAP_TMP/empty.json"
ok "empty root dir: no findings" findings none "$TAP_TMP/empty.json"
is "$(findings get "$TAP_TMP/empty.json" scanned.images)/$(findings get "$TAP_TMP/empty.json" scanned.overlay_dirs)" \
    0/0 "empty root dir: nothing scanned"

"$OVL2FSCK" --root "$TAP_TMP/does-not-exist" --json >"$TAP_TMP/nx.out" 2>"$TAP_TMP/nx.err"
is "$?" 8 "non-existent root: exit 8"
like "$(cat "$TAP_TMP/nx.err")" "does-not-exist" "non-existent root: stderr names it"

: >"$TAP_TMP/a-file"
"$OVL2FSCK" --root "$TAP_TMP/a-file" --report >/dev/null 2>&1
is "$?" 8 "root that is a file: exit 8"

# --- usage errors --------------------------------------------------------------
usage_case() {
    local name=$1 err; shift
    err=$("$OVL2FSCK" "$@" 2>&1 >/dev/null)
    local rc=$?
    if [ "$rc" = 16 ] && [ -n "$err" ]; then pass "usage error ($name): exit 16 with a message"
    else fail "usage error ($name): exit 16 with a message"; diag "exit $rc, stderr: $err"; fi
}
usage_case "unknown option" --root "$TAP_TMP/empty" --no-such-option
usage_case "bad --min-age" --root "$TAP_TMP/empty" --min-age soon
usage_case "unknown check in --ignore" --root "$TAP_TMP/empty" --ignore no-such-check
usage_case "--root without a value" --root

# --- --ignore ------------------------------------------------------------------
new_store ignore
O=$(si random-hex 64)
make_overlay_dir "$O" >/dev/null
W=write-set-$(si random-hex 9 | tr -dc 0-9)7
mkdir -p "$S/$IMG/layerdb/tmp/$W"
expect_findings "--ignore baseline" 4 --want overlay-dir-orphaned="$O" --want layerdb-tmp-leftover="$W"
fsck_json "$S" --min-age 0 --ignore overlay-dir-orphaned
is "$FSCK_RC" 4 "--ignore overlay-dir-orphaned: still exit 4 (the write-set)"
ok "--ignore overlay-dir-orphaned: only the other finding is left" \
    findings expect "$S.json" --want layerdb-tmp-leftover="$W"
fsck_json "$S" --min-age 0 --ignore overlay-dir-orphaned,layerdb-tmp-leftover
is "$FSCK_RC" 0 "--ignore A,B: exit 0"
ok "--ignore A,B: no findings" findings none "$S.json"
fsck_report "$S" --min-age 0 --ignore overlay-dir-orphaned,layerdb-tmp-leftover
unlike "$(cat "$S.report")" "overlay-dir-orphaned|layerdb-tmp-leftover" "--ignore A,B: the report names neither"

# --- young objects and --min-age ----------------------------------------------
new_store young
O=$(si random-hex 64)
make_overlay_dir "$O" >/dev/null                # just written: a pull may still be running
fsck_json "$S"                                  # default --min-age (24h)
is "$FSCK_RC" 0 "young orphan, default --min-age: exit 0"
ok "young orphan, default --min-age: not reported" findings none "$S.json" garbage error
young=$(findings get "$S.json" summary.young_skipped)
ok "young orphan, default --min-age: summary.young_skipped ($young) >= 1" test "${young:-0}" -ge 1
fsck_report "$S"
like "$(cat "$S.report")" "young" "young orphan: the report mentions young, skipped objects"
fsck_json "$S" --min-age 90s
is "$FSCK_RC" 0 "young orphan, --min-age 90s: exit 0"
# the same dir, dated two days back (all of it: the scan looks at the dir's own mtime)
find "$S/overlay2/$O" -exec touch -h -d '2 days ago' {} +
fsck_json "$S" --min-age 24h
is "$FSCK_RC" 4 "orphan 2 days old, --min-age 24h: exit 4"
ok "orphan 2 days old, --min-age 24h: reported" findings expect "$S.json" --want overlay-dir-orphaned="$O"
fsck_json "$S" --min-age 7d
is "$FSCK_RC" 0 "orphan 2 days old, --min-age 7d: exit 0"

# --- -q ------------------------------------------------------------------------
new_store quiet
out=$("$OVL2FSCK" --root "$S" --min-age 0 -q 2>&1)
is "$?/$out" "0/" "-q on a clean store: exit 0, prints nothing"

done_testing
