#!/usr/bin/env bash
# t-containerd-reap.t — --reap / --reap --apply on a containerd root written
# by a real containerd (Debian 12's 1.6, run privately): every on-disk
# reapable class (an orphaned numeric snapshot dir holding a symlink out of
# the root, a new-* dir, the dir that blocks the next Prepare, an orphaned
# blob, an ingest dir no namespace records) next to a healthy store. The
# dry run plans exactly those; --apply refuses while containerd is live,
# then frees exactly the planned bytes (du of the root), touches nothing
# else (a hash of every other file, symlink and dir), follows no symlink;
# a rescan has none of those classes; containerd restarts, lists the same
# images, finds their content complete and creates a container (the
# Prepare the blocking dir made fail now succeeds). kill -9 of the reaper
# after every journaled action leaves a state the next run finishes.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/containerd.sh"
. "$(dirname "$0")/../lib/containerd-checks.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (containerd, overlay mounts)"
command -v containerd >/dev/null && command -v ctr >/dev/null || skip_all "no containerd/ctr (apt-get install containerd)"
command -v sqlite3 >/dev/null || skip_all "no sqlite3"
[ -x "$OVL2FSCK" ] || bail_out "no binary at $OVL2FSCK (run make)"
tap_tmpdir
T=$TAP_TMP
ROOT=$T/root
STATE=$(mktemp -d /tmp/o2cr.XXXXXX)
at_exit "rm -rf --one-file-system -- '$STATE'"
SNAP=io.containerd.snapshotter.v1.overlayfs
BLOBS=io.containerd.content.v1.content/blobs/sha256
INGEST=io.containerd.content.v1.content/ingest
mkdir -p "$T/nochecks" "$T/outside"
echo precious > "$T/outside/precious"

python3 "$TAP_TOP/tests/tools/mkimage.py" "$T/img.tar" --prefix o2r >/dev/null || bail_out "mkimage.py failed"

# okv VALUE NAME: passes when VALUE is 1
okv() { ok "$2" [ "$1" = 1 ]; }
o2() { "$OVL2FSCK" --config /dev/null --checks-dir "$T/nochecks" --min-age 0 --journal "$T/journal.jsonl" "$@"; }

# ---- a real store ------------------------------------------------------------------
healthy_setup() {
    ctrd_import default "$T/img.tar" && ctrd_ctr -n default containers create docker.io/o2r/layers-a:latest c1 >/dev/null
}
ctrd_setup "$ROOT" "$STATE" healthy_setup || bail_out "the set-up failed twice (start, import, container create)"
ctrd_ctr -n default images ls -q | sort > "$T/images.before"
ctrd_stop
cp -a "$ROOT" "$T/pristine"

is "$(reclaimable "$ROOT")" "" "the healthy store has nothing to reclaim"

inject() { cd_inject_leftovers "$@"; }
inject "$ROOT"
WANT=$CD_LEFTOVERS
is "$(reclaimable "$ROOT")" "$WANT" "the injected leftovers are found"
KEEP_PATHS=("${CD_LEFTOVER_PATHS[@]}")

# ---- dry run -----------------------------------------------------------------------
rc=0; o2 --root "$ROOT" --reap --json >"$T/plan.json" 2>"$T/err" || rc=$?
is "$rc" 4 "dry run: exit 4 (something to do)"
is "$(python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
print("\n".join(sorted(i["check"] + " " + i["object"] for i in j["items"])))' "$T/plan.json")" "$WANT" "the plan is exactly the on-disk leftovers"
is "$(python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
print(j["store"], j["mode"], j["items"][0]["check"], sorted(set(s["action"] for i in j["items"] for s in i["steps"])))' "$T/plan.json")" \
   "containerd dry-run snapshot-dir-blocks-create ['remove']" "JSON: store, mode; the blocking dir goes first; only removals"
PLANNED=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["planned_bytes"])' "$T/plan.json")
okv "$([ "$PLANNED" -gt 500000 ] && echo 1)" "planned bytes measured ($PLANNED)"
o2 --root "$ROOT" --reap > "$T/plan.txt" 2>&1
like "$(cat "$T/plan.txt")" "remove  $SNAP/snapshots/$BLOCK" "text plan names the paths"
is "$(reclaimable "$ROOT")" "$WANT" "the dry run changed nothing"

# ---- refused while containerd is live ----------------------------------------------
# (on a copy: a daemon start may write meta.db, e.g. its startup GC when it
# has time to run, and the root must stay byte for byte comparable)
cp -a "$ROOT" "$T/live"
LIVE=$(cd "$T/live" && pwd -P)
ctrd_start "$LIVE" "$STATE" || bail_out "containerd did not start"
rc=0; o2 --root "$LIVE" --reap --apply >"$T/out" 2>"$T/err" || rc=$?
is "$rc" 8 "--apply while containerd runs on the root: exit 8"
like "$(cat "$T/err")" "refusing to --apply while containerd is live: containerd \(pid [0-9]+\) is running with root $LIVE" "the refusal names the process and its root"
ctrd_stop
okv "$([ -d "$LIVE/$SNAP/snapshots/$ORPH" ] && [ ! -e "$LIVE/.ovl2fsck.lock" ] && echo 1)" "the refused run wrote nothing (not even the lock)"
rm -rf "$T/live"

# ---- apply -------------------------------------------------------------------------
H_BEFORE=$(tree_hash "$ROOT" "${KEEP_PATHS[@]}")
DU_BEFORE=$(du -s -B1 "$ROOT" | cut -f1)
rc=0; o2 --root "$ROOT" --reap --apply --json >"$T/apply.json" 2>"$T/err" || rc=$?
is "$rc" 1 "--apply: exit 1 (everything planned was done)"
DU_AFTER=$(du -s -B1 "$ROOT" | cut -f1)
is "$(python3 -c 'import json,sys; s = json.load(open(sys.argv[1]))["summary"]; print(s["done"], s["failed"], s["skipped"], s["freed_bytes"])' "$T/apply.json")" \
   "5 0 0 $PLANNED" "5 items done, freed = planned"
is "$((DU_BEFORE - DU_AFTER))" "$PLANNED" "du: the root shrank by exactly the planned bytes"
is "$(tree_hash "$ROOT" "${KEEP_PATHS[@]}")" "$H_BEFORE" "nothing else under the root changed"
is "$(cat "$T/outside/precious")" precious "the symlinked file outside the root is intact"
okv "$([ -d "$T/outside" ] && echo 1)" "the symlinked dir outside the root is intact"
okv "$([ ! -e "$ROOT/.ovl2fsck-trash" ] && [ ! -e "$ROOT/.ovl2fsck.lock" ] && echo 1)" "no trash, no lock left"
is "$(reclaimable "$ROOT")" "" "rescan: none of the reclaimable classes"
is "$(tree_hash "$ROOT")" "$(tree_hash "$T/pristine")" "the store is byte for byte the pristine one again"

# ---- the daemon is happy ----------------------------------------------------------
ctrd_start "$ROOT" "$STATE" || bail_out "containerd did not restart"
is "$(ctrd_ctr -n default images ls -q | sort)" "$(cat "$T/images.before")" "ctr images ls lists the same images"
like "$(ctrd_ctr -n default images check 2>&1)" "complete" "ctr images check: content complete"
unlike "$(ctrd_ctr -n default images check 2>&1)" "incomplete|missing" "nothing incomplete"
okv "$(ctrd_ctr -n default containers create docker.io/o2r/layers-a:latest c2 >/dev/null 2>&1 && echo 1)" "a new container's Prepare succeeds"
ctrd_ctr -n default containers rm c2 >/dev/null 2>&1
ctrd_stop

# ---- kill -9 after every journaled action ------------------------------------------
k=1
while :; do
    rm -rf "$T/c"
    cp -a "$T/pristine" "$T/c"
    inject "$T/c"
    rc=0; OVL2FSCK_TEST_CRASH_AFTER=$k o2 --root "$T/c" --reap --apply >/dev/null 2>&1 || rc=$?
    [ "$rc" = 137 ] || break
    rc2=0; o2 --root "$T/c" --reap --apply >"$T/out" 2>&1 || rc2=$?
    okv "$([ "$rc2" = 1 ] || [ "$rc2" = 0 ] && echo 1)" "crash after action $k: the next run finishes (exit $rc2)"
    is "$(reclaimable "$T/c")" "" "crash after action $k: rescan clean"
    okv "$([ ! -e "$T/c/.ovl2fsck-trash" ] && echo 1)" "crash after action $k: no trash left"
    k=$((k + 1))
    [ "$k" -lt 40 ] || break
done
okv "$([ "$k" -gt 10 ] && echo 1)" "every journaled action was a crash point ($((k - 1)))"

done_testing
