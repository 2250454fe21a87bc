#!/usr/bin/env bash
# t-reap-index.t — the reaper's reference index (src/reap_refs.c) is read
# once per run, not once per item. Before each item the reaper checks that
# nothing changed what the index was read from (reap_refs_signature); the
# items it applies itself (a layer renamed aside and removed, a mount entry
# removed) are followed in the index (reap_refs_forget_path) instead of a
# new read of every layer, mount and image config. Before, a run re-read
# them all after every layer or mount it removed: 26 loads on the store
# below, 2m29s for 1255 items on a 7.8k-layer store (40 s after).
#
# On a generated store (tools/bench/genstore.c) with every kind of garbage:
# --reap --apply does every item, the rescan finds no garbage, and strace
# counts the opens of layerdb cache-id files: the scan's and one load's (2
# per layer, and one per removed layer), not one load per removed layer or
# mount; and the readlinks of overlay2/l symlinks: the scan's and one
# load's, not one listing of l/ per overlay2 dir checked.
. "$(dirname "$0")/../lib/tap.sh"
tap_tmpdir

TOP=$TAP_TOP
[ "$(id -u)" = 0 ] || skip_all "needs root (the reaper's store is root's)"
command -v strace >/dev/null || skip_all "no strace"
command -v python3 >/dev/null || skip_all "no python3"
command -v cc >/dev/null || skip_all "no C compiler"
tap_genstore
S=$TAP_TMP/store
"$GEN" --out "$S" --images 100 --garbage 20 --quiet >"$TAP_TMP/facts" || bail_out "genstore failed"
layers=$(find "$S/image/overlay2/layerdb/sha256" -mindepth 1 -maxdepth 1 -regextype posix-extended -regex '.*/[0-9a-f]{64}' | wc -l)
want=$(sed -n 's/^expect.garbage_total=//p' "$TAP_TMP/facts")

"$OVL2FSCK" --root "$S" --min-age 0 --reap --json >"$TAP_TMP/plan.json" 2>"$TAP_TMP/plan.err"
counts=$(python3 -c '
import json, sys, collections
d = json.load(open(sys.argv[1]))
c = collections.Counter(i["check"] for i in d["items"])
print(len(d["items"]), c["layer-unreferenced"], c["mount-container-missing"])' "$TAP_TMP/plan.json")
read -r items n_layers n_mounts <<<"$counts"
is "$items" "$want" "the plan has every leftover genstore made ($want items)"
ok "the plan removes layers and mount entries ($n_layers layers, $n_mounts mounts)" [ "$n_layers" -gt 1 ] && [ "$n_mounts" -gt 1 ]

rc=0
strace -f -qq -e trace=openat,readlinkat -o "$TAP_TMP/apply.strace" \
    "$OVL2FSCK" --root "$S" --min-age 0 --reap --apply --json --io-depth 1 --journal "$TAP_TMP/journal" \
    >"$TAP_TMP/apply.json" 2>"$TAP_TMP/apply.err" || rc=$?
is "$rc" 1 "--reap --apply: exit 1 (every planned item done)"
is "$(python3 -c 'import json,sys; s = json.load(open(sys.argv[1]))["summary"]; print(s["done"], s["failed"], s["skipped"])' "$TAP_TMP/apply.json")" \
   "$want 0 0" "every item done, none failed or skipped"
opens=$(grep -c '"cache-id"' "$TAP_TMP/apply.strace")
# the scan reads each once, the index load once, each removed layer's item once
# more; a second load would pass 3 per layer (before: 26 loads, 10709 opens)
ok "cache-id files opened $opens times for $layers layers: the scan and one index load (< $((3 * layers)))" \
   [ "$opens" -lt $((3 * layers)) ]

links=$(find "$S/overlay2/l" -mindepth 1 -maxdepth 1 | wc -l)
readlinks=$(grep -c 'readlinkat(' "$TAP_TMP/apply.strace")
# the scan reads each l/ symlink once, the index load once, each removed
# link's item once more (before: one listing of l/ per overlay2 dir item
# checked, 19903 readlinks for 403 links here)
ok "l/ symlinks read $readlinks times for $links links: the scan and one index load (< $((3 * links)))" \
   [ "$readlinks" -lt $((3 * links)) ]

rc=0
"$OVL2FSCK" --root "$S" --min-age 0 --json >"$TAP_TMP/after.json" 2>/dev/null || rc=$?
is "$rc:$(python3 -c 'import json,sys; print(sorted({f["check"] for f in json.load(open(sys.argv[1]))["findings"]}))' "$TAP_TMP/after.json")" \
   "0:[]" "rescan: exit 0, no finding left"

done_testing
