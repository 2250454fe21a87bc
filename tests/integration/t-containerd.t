#!/usr/bin/env bash
# t-containerd.t — a containerd root written by a real containerd (Debian
# 12's 1.6, run privately: own root, state and socket, cri off): images
# imported into two namespaces, a container, a prepared snapshot. The
# healthy store has no finding; each injected fault (one per check) gives
# exactly its findings (check and object), and nothing else. The
# injections are made by containerd itself where it can (an expired lease,
# an extract-* snapshot, a container whose snapshot was removed, a Docker
# container lease), else by editing a copy offline (a dir, a blob, a value
# patched in place in a bbolt page, an older copy of one database).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/containerd.sh"
. "$(dirname "$0")/../lib/containerd-checks.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (containerd, overlay mounts)"
command -v containerd >/dev/null && command -v ctr >/dev/null || skip_all "no containerd/ctr (apt-get install containerd)"
[ -x "$OVL2FSCK" ] || bail_out "no binary at $OVL2FSCK (run make)"
tap_tmpdir
T=$TAP_TMP
ROOT=$T/root
STATE=$(mktemp -d /tmp/o2cd.XXXXXX)
at_exit "rm -rf --one-file-system -- '$STATE'"
SNAP=io.containerd.snapshotter.v1.overlayfs
BLOBS=io.containerd.content.v1.content/blobs/sha256

python3 "$TAP_TOP/tests/tools/mkimage.py" "$T/img.tar" --prefix o2t >/dev/null || bail_out "mkimage.py failed"

# ---- phase 1: a healthy store ------------------------------------------------------
healthy_setup() {
    ctrd_import default "$T/img.tar" && ctrd_import other "$T/img.tar" &&
        ctrd_ctr -n default containers create docker.io/o2t/layers-a:latest c1 >/dev/null
}
ctrd_setup "$ROOT" "$STATE" healthy_setup || bail_out "the set-up failed twice (start, imports, container create)"
TOP_A=$(ctrd_ctr -n default snapshots ls | awk '$1 == "c1" { print $2 }')
like "$TOP_A" '^sha256:[0-9a-f]{64}$' "c1's parent is layers-a's top chainID"
ctrd_stop
cp -a "$ROOT" "$T/healthy"

got=$(findings "$T/healthy")
is "$(cat "$T/rc"):$got" "0:" "healthy store: exit 0, no finding"
is "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["store"], j["scanned"]["namespaces"], j["scanned"]["images"], j["scanned"]["containers"])' "$T/out.json")" \
   "containerd 2 10 1" "JSON: store containerd, 2 namespaces, 10 images, 1 container"
"$OVL2FSCK" --config /dev/null --root "$T/healthy" --min-age 0 >"$T/text" 2>&1
like "$(cat "$T/text")" 'store: containerd \(containerd root\)' "report: says which store"

# ---- phase 2: faults made by containerd --------------------------------------------
cd_daemon_faults "$ROOT" "$STATE" "$TOP_A" || bail_out "containerd did not make the faults"
MOBY_LEASE=$CD_MOBY_LEASE
got=$(findings "$ROOT")
want=$CD_DAEMON_WANT
is "$(cat "$T/rc"):$got" "4:$want" "containerd-made faults: exactly their findings"
like "$(python3 -c 'import json,sys; print([f["detail"] for f in json.load(open(sys.argv[1]))["findings"] if f["check"] == "snapshot-extract-leftover"][0])' "$T/out.json")" \
     'no lease holds it|held by lease' "extract leftover: the detail says which lease holds it"

# a Docker root on the containerd image store: its containers/ and the containerd root
D=$T/docker
mkdir -p "$D/containers/$(printf 'd%.0s' $(seq 64))"
printf '{"ID":"%s","Driver":"overlayfs","Image":"sha256:%s"}' "$(printf 'd%.0s' $(seq 64))" "$(printf 'e%.0s' $(seq 64))" \
    > "$D/containers/$(printf 'd%.0s' $(seq 64))/config.v2.json"
got=$(findings "$D" --containerd-root "$ROOT")
DC=$(printf 'd%.0s' $(seq 64))
is "$(cat "$T/rc"):$got" "4:$(printf '%s\nlease-container-missing moby/%s\ndocker-container-image-missing moby/%s\ndocker-container-snapshot-missing moby/%s\n' "$want" "$MOBY_LEASE" "$DC" "$DC" | sort)" \
   "Docker root on containerd: the moby lease of a missing container too; the hand-made container has no rw snapshot and no image"
is "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["store"], j["docker_root"] == sys.argv[2], j["scanned"]["docker_containers"])' "$T/out.json" "$D")" \
   "containerd True 1" "JSON: store containerd, docker_root, the Docker container counted"
DEADC=$(printf 'f%.0s' $(seq 64))
mkdir -p "$D/containers/$DEADC"
printf '{"ID":"%s","Driver":"overlayfs","Image":"sha256:%s","State":{"Dead":true}}' "$DEADC" "$(printf 'e%.0s' $(seq 64))" \
    > "$D/containers/$DEADC/config.v2.json"
is "$(findings "$D" --containerd-root "$ROOT" | grep -F "moby/$DEADC")" "docker-container-removal-leftover moby/$DEADC" \
   "a Dead Docker container with no rw snapshot: docker-container-removal-leftover (not snapshot- or image-missing)"
rm -rf "${D:?}/containers/$DEADC"
RC=0; "$OVL2FSCK" --config /dev/null --root "$D" --containerd-root "$T/nowhere" >/dev/null 2>"$T/err" || RC=$?
is "$RC" 8 "Docker root on containerd with no meta.db at the containerd root: exit 8"
like "$(cat "$T/err")" 'has no io.containerd.metadata.v1.bolt/meta.db' "and says what it looked for"

# ---- offline injections, one copy each --------------------------------------------
inject() { rm -rf "$T/c"; cp -a "$T/healthy" "$T/c"; }

cd_db_copy_injections "$T/healthy" "$ROOT" "$TOP_A"
cd_offline_injections "$T/healthy" default other

# young objects: not reported by default
inject; mkdir -p "$T/c/$SNAP/snapshots/new-999/fs"
RC=0; "$OVL2FSCK" --config /dev/null --root "$T/c" --json >"$T/out.json" 2>/dev/null || RC=$?
is "$RC:$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["young_skipped"])' "$T/out.json")" "0:1" "--min-age (default 24h): a fresh new-* dir is young, not reported"

# --repair refuses a containerd store; --reap has its own (t-containerd-reap.t): nothing to do on a healthy one
RC=0; "$OVL2FSCK" --config /dev/null --root "$T/healthy" --repair >/dev/null 2>"$T/err" || RC=$?
is "$RC" 8 "--repair on a containerd store: exit 8"
RC=0; "$OVL2FSCK" --config /dev/null --root "$T/healthy" --reap --min-age 0 >/dev/null 2>"$T/err" || RC=$?
is "$RC" 0 "--reap on a healthy containerd store: exit 0 (nothing to do)"

# a non-empty root of no known kind
mkdir -p "$T/unknown/foo"
RC=0; "$OVL2FSCK" --config /dev/null --root "$T/unknown" >/dev/null 2>"$T/err" || RC=$?
is "$RC" 8 "a root of no known kind: exit 8"
like "$(cat "$T/err")" 'not a store ovl2fsck knows' "  naming what was looked for"

done_testing
