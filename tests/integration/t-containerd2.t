#!/usr/bin/env bash
# t-containerd2.t — a containerd root written by a real containerd 2.1.9
# (Debian sid's, in the chroot tests/lib/docker-versions.sh builds and caches;
# run privately: own root, state and socket, config version 3, CRI off).
# Images imported into three namespaces three ways (the transfer service,
# --local, --local --discard-unpacked-layers: manifests without layer
# edges, their layer blobs collected), containers made by `ctr run` (runc),
# a container removed with --rm, a sandbox record and a container in it,
# leases. The healthy store has no finding and reads as meta.db version 4;
# the faults containerd makes itself and one offline injection per check
# give exactly their findings (tests/lib/containerd-checks.sh, shared with
# the 1.6 tests). Then --reap --apply on the on-disk leftovers of a crash:
# refused while containerd 2.x runs, then frees exactly the planned bytes
# (du), touches nothing else; containerd 2.x restarts, lists the same
# images and runs every one of them with `ctr run`.
#
# Skips (with the reason) when the chroot cannot be had: not root, no
# debootstrap/zstd/unshare, no Debian mirror. The chroot is built once
# (~1 min) into $OVL2FSCK_DOCKER_CACHE (default build/docker-versions).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/containerd.sh"
. "$(dirname "$0")/../lib/containerd-checks.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (containerd, overlay mounts)"
command -v sqlite3 >/dev/null || skip_all "no sqlite3"
[ -x "$OVL2FSCK" ] || bail_out "no binary at $OVL2FSCK (run make)"
tap_tmpdir
T=$TAP_TMP
ctrd_select 2 >"$T/why" || skip_all "$(cat "$T/why")"
ROOT=$T/root
STATE=$(mktemp -d /tmp/o2c2.XXXXXX)
at_exit "rm -rf --one-file-system -- '$STATE'"
SNAP=$CD_SNAP
NS3="default other third"
IMAGES="docker.io/o2t/layers-a:latest docker.io/o2t/layers-b:alt docker.io/o2t/layers-b:latest docker.io/o2t/layers-base:1 docker.io/o2t/layers-empty:1"
CTRD_BIND=("$T")

python3 "$TAP_TOP/tests/tools/mkimage.py" "$T/img.tar" --prefix o2t --busybox "$CTRD_CHROOT/bin/busybox" >/dev/null ||
    bail_out "mkimage.py failed"
echo '{"metadata":{"name":"sb1","namespace":"default","uid":"o2t-sb1","attempt":0}}' > "$T/pod.json"

okv() { ok "$2" [ "$1" = 1 ]; }
o2() { "$OVL2FSCK" --config /dev/null --checks-dir "$T/nochecks" --min-age 0 --journal "$T/journal.jsonl" "$@"; }

# run_all_images NS...: `ctr run --rm` of every image in each namespace; prints what failed
run_all_images() {
    local ns img i=0 out rc
    for ns in "$@"; do
        for img in $IMAGES; do
            i=$((i + 1))
            out=$(ctrd_run_rm "$ns" "$img" "o2t-run-$i" /bin/sh -c 'cat /etc/os-release'); rc=$?
            grep -q 'ovl2fsck test base' <<<"$out" || echo "$ns $img: exit $rc: $(head -n 2 <<<"$out")"
        done
    done
}

# ---- phase 1: a healthy store ------------------------------------------------------
healthy_setup() {
    ctrd_import default "$T/img.tar" && ctrd_import other --local "$T/img.tar" &&
        ctrd_import third --local --discard-unpacked-layers "$T/img.tar"
}
ctrd_setup "$ROOT" "$STATE" healthy_setup || bail_out "the set-up failed twice (start; imports: transfer service, --local, discard)"
like "$(ctrd_ctr version 2>&1 | sed -n '/Server/,$p')" 'Version: +v?2\.1\.9' "the daemon is containerd 2.1.9"
is "$(ctrd_run_keep default docker.io/o2t/layers-a:latest c1 /bin/sh -c 'cat /opt/app/a.txt; echo c1 > /c1.txt')" \
   "a v2 (changed in top-a)" "ctr run: c1 (runc) sees layers-a's top layer"
is "$(ctrd_run_rm other docker.io/o2t/layers-b:alt r1 /bin/cat /srv/data.hard | head -1)" "b data" "ctr run --rm in namespace other"
is "$(ctrd_run_keep third docker.io/o2t/layers-empty:1 c3 /bin/cat /etc/hostname)" "base" "ctr run in the namespace whose layer blobs were discarded"
# a sandbox: ctr 2.x writes its record, but starting it needs the pod sandbox
# controller of the CRI plugin (off here): only the record and a container in it
ctrd_ctr -n default sandboxes run "$T/pod.json" sb1 >"$T/sb.out" 2>&1
like "$(ctrd_ctr -n default sandboxes ls 2>&1)" 'sb1 ' "a sandbox record sb1 (start: $(tr '\n' ' ' < "$T/sb.out"))"
ctrd_ctr -n default containers create --sandbox sb1 docker.io/o2t/layers-base:1 c-sb >/dev/null || bail_out "create in sandbox failed"
ctrd_ctr -n default leases create --id keep --expires 0 >/dev/null
ctrd_ctr -n other leases create --id day >/dev/null
TOP_A=$(ctrd_ctr -n default snapshots ls | awk '$1 == "c1" { print $2 }')
like "$TOP_A" '^sha256:[0-9a-f]{64}$' "c1's parent is layers-a's top chainID"
for ns in $NS3; do ctrd_gc "$ns"; done   # the GC that --rm and the discard trigger
ctrd_ctr -n default images ls -q | sort > "$T/images.before"
ctrd_stop
cp -a "$ROOT" "$T/healthy"

got=$(findings "$T/healthy" --db "$T/healthy.sqlite")
is "$(cat "$T/rc"):$got" "0:" "healthy containerd 2.x store: exit 0, no finding"
is "$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["scanned"]; print(s["namespaces"], s["images"], s["containers"], s["leases"], s.get("sandboxes"))' "$T/out.json")" \
   "3 15 3 2 1" "JSON: 3 namespaces, 15 images, 3 containers, 2 leases, 1 sandbox"
is "$(sqlite3 "$T/healthy.sqlite" "SELECT name || ' ' || state || ' ' || coalesce(version, '-') FROM cd_db ORDER BY name")" \
   "meta.db ok 4
metadata.db ok -" "meta.db read as v1/version 4, metadata.db read"
is "$(sqlite3 "$T/healthy.sqlite" "SELECT ns || '/' || id FROM cd_sandbox")" "default/sb1" "the sandbox is in the database"
is "$(sqlite3 "$T/healthy.sqlite" "SELECT count(*) FROM cd_label WHERE ns = 'third' AND kind = 'blob' AND key GLOB 'containerd.io/gc.ref.content.l.*'")" 0 \
   "third: the manifests have no layer edges (--discard-unpacked-layers)"
"$OVL2FSCK" --config /dev/null --root "$T/healthy" --min-age 0 >"$T/text" 2>&1
like "$(cat "$T/text")" 'store: containerd \(containerd root\)' "report: says which store"
like "$(cat "$T/text")" ', 1 sandboxes' "report: counts the sandbox"

# ---- phase 2: faults made by containerd 2.x ------------------------------------------
cd_daemon_faults "$ROOT" "$STATE" "$TOP_A" || bail_out "containerd 2 did not make the faults"
got=$(findings "$ROOT")
is "$(cat "$T/rc"):$got" "4:$CD_DAEMON_WANT" "containerd-made faults: exactly their findings"
D=$T/docker
mkdir -p "$D/containers/$(printf 'd%.0s' $(seq 64))"
printf '{"ID":"%s","Driver":"overlayfs","Image":"sha256:%s"}' "$(printf 'd%.0s' $(seq 64))" "$(printf 'e%.0s' $(seq 64))" \
    > "$D/containers/$(printf 'd%.0s' $(seq 64))/config.v2.json"
got=$(findings "$D" --containerd-root "$ROOT")
DC=$(printf 'd%.0s' $(seq 64))
is "$(cat "$T/rc"):$got" "4:$(printf '%s\nlease-container-missing moby/%s\ndocker-container-image-missing moby/%s\ndocker-container-snapshot-missing moby/%s\n' "$CD_DAEMON_WANT" "$CD_MOBY_LEASE" "$DC" "$DC" | sort)" \
   "a Docker root on this containerd: the moby lease of a missing container too; the hand-made container has no rw snapshot and no image"

# ---- phase 3: offline injections, one per check --------------------------------------
cd_db_copy_injections "$T/healthy" "$ROOT" "$TOP_A"
CD_LAYER_NS="default other" cd_offline_injections "$T/healthy" $NS3

# ---- phase 4: --reap --apply on the leftovers of a crash -----------------------------
rm -rf "$ROOT"; cp -a "$T/healthy" "$ROOT"
cd_inject_leftovers "$ROOT"
is "$(reclaimable "$ROOT")" "$CD_LEFTOVERS" "the injected leftovers are found"
rc=0; o2 --root "$ROOT" --reap --json >"$T/plan.json" 2>"$T/err" || rc=$?
is "$rc" 4 "dry run: exit 4 (something to do)"
is "$(python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
print("\n".join(sorted(i["check"] + " " + i["object"] for i in j["items"])))' "$T/plan.json")" "$CD_LEFTOVERS" "the plan is exactly the on-disk leftovers"
PLANNED=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["planned_bytes"])' "$T/plan.json")
okv "$([ "$PLANNED" -gt 500000 ] && echo 1)" "planned bytes measured ($PLANNED)"

# (on a copy: a daemon start may write meta.db, e.g. its startup GC when it
# has time to run, and the root must stay byte for byte comparable)
cp -a "$ROOT" "$T/live"
LIVE=$(cd "$T/live" && pwd -P)
ctrd_start "$LIVE" "$STATE" || bail_out "containerd 2 did not start"
rc=0; o2 --root "$LIVE" --reap --apply >"$T/out" 2>"$T/err" || rc=$?
is "$rc" 8 "--apply while containerd 2.x runs (chrooted, in its own mount namespace): exit 8"
like "$(cat "$T/err")" "refusing to --apply while containerd is live: containerd \(pid [0-9]+\) is running with root $LIVE" \
     "the refusal names the process and its root"
ctrd_stop
okv "$([ -d "$LIVE/$SNAP/snapshots/$ORPH" ] && [ ! -e "$LIVE/.ovl2fsck.lock" ] && echo 1)" "the refused run wrote nothing"
rm -rf "$T/live"

H_BEFORE=$(tree_hash "$ROOT" "${CD_LEFTOVER_PATHS[@]}")
DU_BEFORE=$(du -s -B1 "$ROOT" | cut -f1)
rc=0; o2 --root "$ROOT" --reap --apply --json >"$T/apply.json" 2>"$T/err" || rc=$?
is "$rc" 1 "--apply: exit 1 (everything planned was done)"
DU_AFTER=$(du -s -B1 "$ROOT" | cut -f1)
is "$(python3 -c 'import json,sys; s = json.load(open(sys.argv[1]))["summary"]; print(s["done"], s["failed"], s["skipped"], s["freed_bytes"])' "$T/apply.json")" \
   "5 0 0 $PLANNED" "5 items done, freed = planned"
is "$((DU_BEFORE - DU_AFTER))" "$PLANNED" "du: the root shrank by exactly the planned bytes"
is "$(tree_hash "$ROOT" "${CD_LEFTOVER_PATHS[@]}")" "$H_BEFORE" "nothing else under the root changed"
is "$(cat "$T/outside/precious")" precious "the symlinked file outside the root is intact"
is "$(findings "$ROOT")" "" "rescan: no finding at all"
is "$(tree_hash "$ROOT")" "$(tree_hash "$T/healthy")" "the store is byte for byte the healthy one again"

ctrd_start "$ROOT" "$STATE" || bail_out "containerd 2 did not restart after the reap"
is "$(ctrd_ctr -n default images ls -q | sort)" "$(cat "$T/images.before")" "containerd 2.x lists the same images"
unlike "$(ctrd_ctr -n default images check 2>&1)" "incomplete|missing" "ctr images check (default): nothing incomplete"
okv "$(ctrd_ctr -n default containers create docker.io/o2t/layers-b:latest c-new >/dev/null 2>&1 && echo 1)" \
    "a new container's Prepare succeeds (the dir that blocked it is gone)"
is "$(run_all_images $NS3)" "" "every image of the three namespaces runs with ctr run (15)"
ctrd_stop

done_testing
