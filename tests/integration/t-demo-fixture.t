#!/usr/bin/env bash
# The bundled demo store (fixtures/demo-store.tar.gz, see fixtures/README.md):
# exactly its four demo findings, its counts, and tools/demo.sh on it. No dockerd.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"

[ -x "$OVL2FSCK" ] || bail_out "$OVL2FSCK is not built (run make)"
[ "$(id -u)" = 0 ] || skip_all "extracting whiteouts (device nodes) and trusted.* xattrs needs root"
tap_tmpdir
FIX=$TAP_TOP/fixtures/demo-store.tar.gz

size=$(wc -c <"$FIX")
ok "the fixture is small ($size bytes < 1 MB)" test "$size" -lt 1000000

S=$TAP_TMP/demo
mkdir "$S"
ok "the fixture extracts" tar --xattrs --xattrs-include='*' --numeric-owner -xzf "$FIX" -C "$S"

# realistic content survived the archive
wh=$(find "$S/overlay2" -path '*/diff/*' -type c | wc -l)
ok "whiteouts (char devices) in layer diffs: $wh" test "$wh" -ge 2
opq=$(count_opaque_dirs "$S/overlay2")
ok "opaque dirs (trusted.overlay.opaque): $opq" test "$opq" -ge 1
n25=$(find "$S/overlay2" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended -regex '.*/[0-9a-z]{25}' | wc -l)
ok "BuildKit 25-char dirs: $n25" test "$n25" -ge 1
old=$(find "$S" -newermt '2024-01-02' | wc -l)
is "$old" 0 "every mtime is 2024-01-01"

WANT=(--want overlay-dir-orphaned=0ddba11c0ffee0ddba11c0ffee0ddba11c0ffee0ddba11c0ffee0ddba11c0ffe
      --want layerdb-tmp-leftover=write-set-123456789
      --want overlay-link-broken=BROKENDEMOLINK333333333333
      --want imagedb-tmp-leftover=.tmp-demo-config-123456789)

# default --min-age (24h): the demo problems are old enough to be reported
fsck_json "$S"
is "$FSCK_RC" 4 "demo store: exit 4"
ok "demo store: valid JSON" findings valid "$S.json"
if out=$(findings expect "$S.json" "${WANT[@]}"); then pass "demo store: exactly the four demo findings"
else fail "demo store: exactly the four demo findings"; diag "$out"; fi
is "$(findings get "$S.json" summary.errors)/$(findings get "$S.json" summary.garbage)/$(findings get "$S.json" summary.warnings)" \
    0/4/0 "demo store: summary 0 errors, 4 garbage, 0 warnings"
rb=$(findings get "$S.json" summary.reclaimable_bytes)
ok "demo store: reclaimable bytes ($rb) cover the 20000-byte orphan" test "${rb:-0}" -ge 20000
is "$(findings get "$S.json" summary.young_skipped)" 0 "demo store: nothing young"
counts=""
for k in images layers mounts containers overlay_dirs links buildkit_snapshots; do
    counts="$counts $k=$(findings get "$S.json" scanned.$k)"
done
is "$counts" " images=7 layers=7 mounts=2 containers=2 overlay_dirs=15 links=16 buildkit_snapshots=9" \
    "demo store: scanned counts as in fixtures/README.md"
ok "fixtures/README.md lists every expected object" bash -c '
    for o in 0ddba11c0ffee0ddba11c0ffee0ddba11c0ffee0ddba11c0ffee0ddba11c0ffe write-set-123456789 \
             BROKENDEMOLINK333333333333 .tmp-demo-config-123456789; do
        grep -qF -- "\`$o\`" "$1" || exit 1
    done' _ "$TAP_TOP/fixtures/README.md"

fsck_report "$S"
is "$FSCK_RC" 4 "demo store --report: exit 4"
missing=
for c in overlay-dir-orphaned layerdb-tmp-leftover overlay-link-broken imagedb-tmp-leftover; do
    grep -qF "$c" "$S.report" || missing="$missing $c"
done
is "$missing" "" "demo store --report names the four checks"

fsck_json "$S" --ignore overlay-dir-orphaned,layerdb-tmp-leftover,overlay-link-broken,imagedb-tmp-leftover
is "$FSCK_RC" 0 "demo store, the four checks ignored: exit 0"

# tools/demo.sh falls back to the fixture when there is no Docker store
out=$(OVL2FSCK_DEMO_DOCKER_ROOT=$TAP_TMP/no-docker OVL2FSCK_DEMO_DIR=$TAP_TMP/demo-sh "$TAP_TOP/tools/demo.sh" 2>&1)
is "$?" 4 "tools/demo.sh without a Docker store: exits 4 (ovl2fsck's status)"
like "$out" "overlay-dir-orphaned" "tools/demo.sh: the report shows the demo findings"
like "$out" "exit bits" "tools/demo.sh: explains the exit status"
ok "tools/demo.sh extracted the store where told" test -d "$TAP_TMP/demo-sh/overlay2"
like "$out" $'^== no Docker store at [^\n]*: checking the bundled demo store' "tools/demo.sh: one line says why it checks the demo store"
like "$out" 'min-age: 1d   the grace period' "tools/demo.sh: explains the grace period"
like "$out" $'\\[4\\.0 KiB\\][^\n]*on disk[^\n]*\n[^\n]*"\\(300 bytes\\)" is the file\'s length' "tools/demo.sh: explains the size column against a detail's bytes"
like "$out" $'Next step:\n  [^\n]* --root '"$TAP_TMP"$'/demo-sh --reap +the plan[^\n]*\n  [^\n]* --reap --apply ' \
    "tools/demo.sh: ends with the next step (--reap, then --reap --apply)"
is "$(printf '%s\n' "$out" | grep -c 'the grace period')" 1 "tools/demo.sh: explains it once"
# an empty store (what dockerd creates on its first start) is not worth showing
E=$TAP_TMP/empty-docker
mkdir -p "$E/image/overlay2/layerdb/sha256" "$E/image/overlay2/imagedb/content/sha256" "$E/overlay2/l"
out=$(OVL2FSCK_DEMO_DOCKER_ROOT=$E OVL2FSCK_DEMO_DIR=$TAP_TMP/demo-sh "$TAP_TOP/tools/demo.sh" 2>&1)
is "$?" 4 "tools/demo.sh with an empty Docker store: checks the demo store (exit 4)"
like "$out" $'^== '"$E"$' has no layers yet[^\n]*: checking the bundled demo store' "tools/demo.sh: says the local store has no layers"
like "$out" "overlay-dir-orphaned" "tools/demo.sh with an empty store: the report shows the demo findings"
# another driver (or the containerd image store) is not a graphdriver store it can check
V=$TAP_TMP/vfs-docker
mkdir -p "$V/image/vfs/layerdb/sha256" "$V/vfs/dir"
out=$(OVL2FSCK_DEMO_DOCKER_ROOT=$V OVL2FSCK_DEMO_DIR=$TAP_TMP/demo-sh "$TAP_TOP/tools/demo.sh" 2>&1)
is "$?" 4 "tools/demo.sh with a vfs store: checks the demo store (exit 4)"
like "$out" $'^== '"$V"$' is not an overlay2 graphdriver store[^\n]*: checking the bundled demo store' "tools/demo.sh: says it is not an overlay2 graphdriver store"
OVL2FSCK_DEMO_DOCKER_ROOT=$E OVL2FSCK_DEMO_DIR=$TAP_TMP/demo-sh "$TAP_TOP/tools/demo.sh" --make >/dev/null 2>&1
is "$?" 0 "tools/demo.sh --make (make demo): findings (exit 4) are the demo working, exit 0"
OVL2FSCK=/bin/false OVL2FSCK_DEMO_DOCKER_ROOT=$E OVL2FSCK_DEMO_DIR=$TAP_TMP/demo-sh "$TAP_TOP/tools/demo.sh" --make >/dev/null 2>&1
is "$?" 1 "tools/demo.sh --make: any other status still fails make"
ok "the Makefile's demo recipe has no echoed exit-status logic" bash -c '! grep -qF -- "-eq 4 ]" "$1/Makefile"' _ "$TAP_TOP"
# with a (stopped) Docker store present, demo.sh checks that instead
out=$(OVL2FSCK_DEMO_DOCKER_ROOT=$S "$TAP_TOP/tools/demo.sh" 2>&1)
is "$?" 4 "tools/demo.sh with a Docker store: checks it (exit 4)"
like "$out" "this machine's Docker store" "tools/demo.sh: says which store it checked"

done_testing
