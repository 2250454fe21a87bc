#!/usr/bin/env bash
# A clean store written by a real dockerd: imported busybox base, two classic
# builds (one on the other), a BuildKit build, docker load of generated
# multi-layer images sharing base layers, created/exited/stopped containers.
# ovl2fsck must find nothing, and count what docker reported.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
cases_init

new_store clean
R=$REF_TEMPLATE

# The store is as realistic as intended (guards the builder, not ovl2fsck).
n25=$(find "$R/overlay2" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended \
      -regex '.*/[0-9a-z]{25}' | wc -l)
ok "reference store has BuildKit (25-char) overlay2 dirs ($n25)" test "$n25" -ge 1
ok "reference store has buildkit/snapshots.db" test -s "$R/buildkit/snapshots.db"
n_parent=$(find "$R/$IMG/imagedb/metadata/sha256" -name parent | wc -l)
ok "reference store has imagedb metadata parents ($n_parent)" test "$n_parent" -ge 1
n_init=$(find "$R/overlay2" -mindepth 1 -maxdepth 1 -name '*-init' | wc -l)
is "$n_init" "$(ref_fact containers)" "one -init dir per container"
ok "c-stopped wrote to its RW layer" \
    test -f "$S/overlay2/$(si mount-id "$(si container c-stopped)")/diff/rw.txt"
# whiteouts (char 0:0) and opaque dirs survive the copy
wh=$(find "$S/overlay2" -path '*/diff/*' -type c | head -n 1)
ok "the copy keeps whiteout device nodes ($wh)" test -n "$wh"
opq=$(count_opaque_dirs "$S/overlay2")
ok "the copy keeps trusted.overlay.opaque xattrs ($opq)" test "$opq" -ge 1

# --- the clean scan -----------------------------------------------------------
fsck_json "$S" --min-age 0
is "$FSCK_RC" 0 "clean store: exit 0"
ok "clean store: JSON has the documented shape" findings valid "$S.json"
if out=$(findings none "$S.json"); then pass "clean store: no findings at all"; else fail "clean store: no findings at all"; diag "$out"; fi
is "$(findings get "$S.json" summary.errors)/$(findings get "$S.json" summary.garbage)" 0/0 \
    "clean store: summary has 0 errors, 0 garbage"
is "$(findings get "$S.json" dockerd_running)" false "dockerd_running is false (daemon stopped)"
is "$(findings get "$S.json" root)" "$S" "root is the --root given"

# scanned counts: what docker reported while it ran, and what is on disk
for k in images containers layers; do
    is "$(findings get "$S.json" scanned.$k)" "$(ref_fact $k)" "scanned.$k = $(ref_fact $k), as docker reported"
done
is "$(findings get "$S.json" scanned.mounts)" "$(ref_fact containers)" "scanned.mounts = one per container"
for k in overlay_dirs links buildkit_snapshots; do
    is "$(findings get "$S.json" scanned.$k)" "$(si count $k)" "scanned.$k = $(si count $k) on disk"
done

fsck_report "$S" --min-age 0
is "$FSCK_RC" 0 "clean store: --report exits 0"
like "$(cat "$S.report")" "0 errors" "clean store: the report says 0 errors"

# the default min-age (24h) on a fresh store: nothing reported either
fsck_json "$S"
is "$FSCK_RC" 0 "clean store, default --min-age: exit 0"

# --db keeps the scan database
fsck_json "$S" --min-age 0 --db "$TAP_TMP/scan.sqlite"
is "$FSCK_RC" 0 "--db: exit 0"
if command -v sqlite3 >/dev/null; then
    is "$(sqlite3 "$TAP_TMP/scan.sqlite" 'SELECT count(*) FROM image')" "$(ref_fact images)" \
        "--db: the kept database has every image"
else
    skip 1 "no sqlite3"
fi

# the scan never writes to the store
before=$(cd "$S" && find . -printf '%p %s %T@ %m\n' | sort | md5sum)
"$OVL2FSCK" --root "$S" --json --min-age 0 >/dev/null 2>&1
after=$(cd "$S" && find . -printf '%p %s %T@ %m\n' | sort | md5sum)
is "$after" "$before" "the scan leaves the store unchanged (names, sizes, mtimes, modes)"

done_testing
