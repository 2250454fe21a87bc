#!/usr/bin/env bash
# t-docker-containerd.t — Docker 28.5 (Debian sid's docker.io, in its chroot:
# tests/lib/docker-versions.sh) on the containerd image store
# (--feature containerd-snapshotter=true, storage driver overlayfs): dockerd
# runs its own containerd on ROOT/containerd/daemon.
#
# A real store: a busybox image from a tar (docker import), the generated
# images of mkimage.py (docker load), a BuildKit build on busybox, containers
# run, created and removed. ovl2fsck --root ROOT says it checked that
# containerd root together with Docker's containers/, and finds nothing
# (no container-image-missing: the images are containerd's).
# --reap --apply while dockerd runs is refused (exit 8).
# Leftovers of a removed container (its containers/<id> removed while
# dockerd was down: lease <id> in namespace moby and the rw snapshots <id>,
# <id>-init leaked) → exactly lease-container-missing moby/<id>; next to an
# orphaned snapshot dir on disk. The reap frees exactly the planned bytes on
# disk; the lease is the printed ctr command's (ctr -n moby leases rm --sync
# <id>, run with the plan's other commands against the restarted dockerd's
# containerd, EXEC/containerd/containerd.sock): the leaked snapshots and their
# dirs go, snapshots + content shrink by exactly the commands' bytes, the
# rescan is clean, dockerd starts, every image runs and the remaining
# containers start.
# Runs in ~10 s once the chroot is cached (build/docker-versions, or
# $OVL2FSCK_DOCKER_CACHE); the first run builds it (~1 min, the Debian mirror).
# kill -9 of dockerd during docker rm, after the Dead mark and the lease's
# deletion: exactly docker-container-removal-leftover moby/<id> (timed
# kills with a bisected delay: only with OVL2FSCK_VERSIONS=1, make
# test-versions; the rest runs in make test, ~20 s on an idle machine).
# One injection per Docker-side error/warning class: a container whose rw
# snapshot was removed (ctr snapshots rm) → docker-container-snapshot-missing;
# a container whose rw snapshot's dir was removed → snapshot-dir-missing;
# a container whose image record was removed (ctr images rm) →
# docker-container-image-missing.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/docker-versions.sh"

[ "$(id -u)" = 0 ] || skip_all "not root"
[ -x "$OVL2FSCK" ] || bail_out "$OVL2FSCK is not built (run make)"
command -v python3 >/dev/null || skip_all "no python3"
command -v sqlite3 >/dev/null || skip_all "no sqlite3"
why=$(dv_prereq_missing sid)
[ -z "$why" ] || skip_all "no Docker 28 chroot: $why"
tap_tmpdir
T=$TAP_TMP
ROOT=$T/root
EXEC=$(mktemp -d /tmp/o2dc.XXXXXX)
at_exit "rm -rf --one-file-system -- '$EXEC'"
CD=$ROOT/containerd/daemon
SNAPS=$CD/io.containerd.snapshotter.v1.overlayfs/snapshots
W=$T/work
mkdir -p "$W/nochecks" "$W/build"
DV_BIND=("$W")

o2() { "$OVL2FSCK" --config /dev/null --checks-dir "$W/nochecks" --min-age 0 --journal "$T/journal.jsonl" "$@"; }
start() { dv_start sid "$ROOT" "$EXEC/e" --storage-driver overlayfs --feature containerd-snapshotter=true; }
# the chroot's ctr against dockerd's own containerd
dctr() { nsenter -t "$DV_PID" -m -r /usr/bin/ctr -a "$EXEC/e/containerd/containerd.sock" "$@"; }
# stop: a waited GC pass first (a throwaway lease removed with --sync):
# containerd removes the dirs of snapshots a deletion freed in the
# background, and a daemon stopped before that leaves them orphaned (true
# garbage, but not what a test step made)
GCN=0
stop() {
    GCN=$((GCN + 1))
    dctr -n moby leases create --id "o2-settle-$GCN" >/dev/null && dctr -n moby leases rm --sync "o2-settle-$GCN" >/dev/null ||
        diag "the GC pass before stopping dockerd failed"
    dv_stop
}
# "severity check object" of every finding of ROOT, sorted
findings() {
    o2 --root "$ROOT" --json >"$T/rep.json" 2>"$T/rep.err"
    echo $? >"$T/rep.rc"
    python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
print("\n".join(sorted(f["severity"] + " " + f["check"] + " " + f["object"] for f in j["findings"])))' "$T/rep.json"
}
du_b() { du -s -B1 "$1" | cut -f1; }

# ---- a real store ----------------------------------------------------------------------
mkdir -p "$W/rootfs/bin" "$W/rootfs/tmp"
start || bail_out "dockerd 28 (containerd image store) did not start"
cp "$DV_ROOTFS/bin/busybox" "$W/rootfs/bin/busybox" || bail_out "no busybox in the chroot"
for a in sh ls cat echo true; do ln -s busybox "$W/rootfs/bin/$a"; done
tar --numeric-owner -C "$W/rootfs" -cf "$W/busybox.tar" . || bail_out "tar failed"
python3 "$TAP_TOP/tests/tools/mkimage.py" "$W/img.tar" --prefix o2d >/dev/null || bail_out "mkimage.py failed"

is "$(dv_docker info --format '{{.Driver}} {{index .DriverStatus 0}}')" "overlayfs [driver-type io.containerd.snapshotter.v1]" \
    "dockerd 28 runs on the containerd image store (overlayfs snapshotter)"
dv_docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' "$W/busybox.tar" o2d/busybox:latest >/dev/null ||
    bail_out "docker import failed"
dv_docker load -i "$W/img.tar" >/dev/null || bail_out "docker load failed"
printf '%s\n' 'FROM o2d/busybox:latest' 'RUN echo built > /built' >"$W/build/Dockerfile"
if DOCKER_BUILDKIT=1 dv_docker build --network none -t o2d/built:latest "$W/build" >"$T/build.log" 2>&1; then
    pass "docker build (BuildKit, offline) on the containerd image store"
else
    fail "docker build (BuildKit, offline) on the containerd image store"
    sed 's/^/#   /' "$T/build.log" | tail -n 15 >&2
fi
dv_docker run --network none --name c-ran o2d/busybox:latest sh -c 'echo hi > /hi' >/dev/null ||
    bail_out "docker run failed"
dv_docker create --network none --name c-created o2d/layers-a:latest true >/dev/null || bail_out "docker create failed"
dv_docker create --network none --name c-gone o2d/layers-b:latest true >/dev/null || bail_out "docker create failed"
dv_docker rm c-gone >/dev/null || bail_out "docker rm failed"
LEAK=$(dv_docker create --network none --name c-leak o2d/layers-b:alt true) || bail_out "docker create failed"
dv_docker images --format '{{.Repository}}:{{.Tag}}' | sort >"$T/images"
NCONT=$(dv_docker ps -aq | wc -l)

# liveness: refused while that dockerd (and its containerd) run
o2 --root "$ROOT" --reap --apply >"$T/live.out" 2>&1
is "$?" 8 "--reap --apply on the Docker root while dockerd runs: refused, exit 8"
like "$(cat "$T/live.out")" "refusing to --apply while containerd is live" "it says the daemon is live"
stop
# BuildKit drops its temporary leases (the build's -view snapshot) when
# dockerd starts again: a restart here, so that the store the checks see
# is one a restart does not change
start || bail_out "dockerd did not restart"
stop

# ---- the healthy store ---------------------------------------------------------------
is "$(findings)" "" "healthy store: no finding at all (no container-image-missing either)"
is "$(cat "$T/rep.rc")" 0 "healthy store: exit 0"
o2 --root "$ROOT" >"$T/text.out" 2>&1
like "$(cat "$T/text.out")" "Docker root on the containerd image store .*checking dockerd's own containerd's root $CD" \
    "the report names the containerd root Docker used"
like "$(cat "$T/text.out")" ", $NCONT Docker containers" "and Docker's containers/ ($NCONT containers)"
is "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["store"], j["docker_root"], j["root"])' "$T/rep.json")" \
    "containerd $ROOT $CD" "JSON: store containerd, docker_root, the containerd root"
# a Docker root that used the system containerd and has no container: what
# only this store makes tells it (never a clean graphdriver root of 0 images)
mkdir -p "$T/sysroot"
cp -a "$ROOT/engine-id" "$ROOT/buildkit" "$ROOT/volumes" "$ROOT/network" "$T/sysroot/"
mkdir -p "$T/sysroot/containers"
o2 --root "$T/sysroot" --containerd-root "$T/nowhere" >/dev/null 2>"$T/sys.err"
is "$?" 8 "no containers, no containerd/daemon (the system containerd's root missing): exit 8, not a clean graphdriver root"
like "$(cat "$T/sys.err")" "Docker root on the containerd image store .*buildkit/" "and says what told it"
o2 --root "$T/sysroot" --containerd-root "$CD" >"$T/sys.out" 2>&1
like "$(cat "$T/sys.out")" "checking .* $CD" "with --containerd-root it checks that root"
o2 --root "$ROOT" --repair >/dev/null 2>"$T/repair.err"
is "$?" 8 "--repair on the Docker root on containerd: refused, exit 8"
like "$(cat "$T/repair.err")" "--repair acts on Docker graphdriver stores only" "and says why"

# ---- leftovers of a removed container, and an orphaned dir on disk ------------------
rm -rf --one-file-system "$ROOT/containers/$LEAK"
mkdir -p "$SNAPS/new-424242/fs/d"
head -c 300000 /dev/urandom >"$SNAPS/new-424242/fs/d/junk"
is "$(findings)" "$(printf '%s\n' "garbage lease-container-missing moby/$LEAK" "garbage snapshot-dir-orphaned new-424242")" \
    "leaked container lease and orphaned dir: exactly lease-container-missing moby/<id> and snapshot-dir-orphaned"
like "$(python3 -c 'import json,sys
for f in json.load(open(sys.argv[1]))["findings"]:
    if f["check"] == "lease-container-missing": print(f["detail"])' "$T/rep.json")" \
    "holds $LEAK, $LEAK-init" "the finding names the leaked rw snapshots <id> and <id>-init"

# the leaked rw snapshots' dirs (snapshots/<backend id>)
o2 --root "$ROOT" --db "$T/leak.sqlite" >/dev/null 2>&1
LEAKDIRS=$(sqlite3 "$T/leak.sqlite" "SELECT id FROM cd_backend WHERE name GLOB 'moby/*/$LEAK*' ORDER BY id" | paste -sd " ")
is "$(wc -w <<<"$LEAKDIRS")" 2 "the leaked snapshots have their dirs ($LEAKDIRS)"
o2 --root "$ROOT" --reap >"$T/plan.out" 2>&1
is "$?" 4 "dry run: exit 4 (garbage found)"
o2 --root "$ROOT" --reap --json --bytes >"$T/plan.json" 2>/dev/null
# "planned_bytes ctr_bytes" and the on-disk items' checks; the ctr commands (argv, one a line)
read -r PLANNED CTR_BYTES <<<"$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print(s["planned_bytes"], s["ctr_bytes"])' "$T/plan.json")"
is "$(python3 -c 'import json,sys; print(" ".join(sorted(i["check"] + " " + i["object"] for i in json.load(open(sys.argv[1]))["items"] if "action" not in i)))' "$T/plan.json")" \
    "snapshot-dir-orphaned new-424242" "the reap plans the on-disk leftover (on the containerd root)"
python3 -c 'import json,sys
for i in json.load(open(sys.argv[1]))["items"]:
    if i.get("action") == "ctr-command": print("\t".join(i["argv"]))' "$T/plan.json" >"$T/cmds"
is "$(python3 -c 'import json,sys
print("\n".join(i["command"] for i in json.load(open(sys.argv[1]))["items"] if i.get("check") == "lease-container-missing"))' "$T/plan.json")" \
    "ctr -n moby leases rm --sync $LEAK" "the plan's command for the record part: ctr -n moby leases rm --sync <id>"
like "$(cat "$T/plan.out")" "ctr -n moby leases rm --sync $LEAK" "the text plan prints it"
ok "the commands free bytes ($CTR_BYTES B: the rw snapshots)" [ "$CTR_BYTES" -gt 0 ]

before=$(du_b "$CD")
o2 --root "$ROOT" --reap --apply --bytes >"$T/apply.out" 2>&1
is "$?" 5 "--reap --apply (dockerd down): exit 5 (what was planned was done; the lease is left to the printed command)"
after=$(du_b "$CD")
is "$((before - after))" "$PLANNED" "freed bytes (du of the containerd root) = the planned bytes ($PLANNED)"
ok "new-424242 is gone" [ ! -e "$SNAPS/new-424242" ]

# the printed commands, against the restarted dockerd's containerd
snap_bytes() { du -s -B1 -c "$SNAPS" "$CD/io.containerd.content.v1.content" | tail -n1 | cut -f1; }
before=$(snap_bytes)
start || bail_out "dockerd did not restart after the reap"
rc=0
while IFS=$'\t' read -r -a cmd; do
    [ "${cmd[0]}" = ctr ] || { rc=1; continue; }
    dctr "${cmd[@]:1}" >/dev/null || { rc=1; diag "failed: ${cmd[*]}"; }
done <"$T/cmds"
is "$rc" 0 "the printed ctr commands ($(wc -l <"$T/cmds")) succeed against dockerd's containerd"
is "$(dctr -n moby snapshots ls | grep -c "$LEAK")" 0 "containerd's GC removed the leaked snapshots <id> and <id>-init"
left=
for d in $LEAKDIRS; do [ -e "$SNAPS/$d" ] && left="$left $d"; done
is "$left" "" "and their dirs"
stop
is "$((before - $(snap_bytes)))" "$CTR_BYTES" "snapshots + content shrank by exactly the commands' bytes"
is "$(findings)" "" "rescan after reap + commands: clean"

# dockerd is happy: every image runs, every container left starts
start || bail_out "dockerd did not start on the reaped store"
is "$(dv_docker images --format '{{.Repository}}:{{.Tag}}' | sort)" "$(cat "$T/images")" "dockerd lists every image"
bad=
while read -r img; do
    dv_docker run --rm --network none -v /bin/busybox:/busybox:ro --entrypoint /busybox "$img" ls / >/dev/null 2>&1 ||
        bad="$bad $img"
done <"$T/images"
is "$bad" "" "every image runs (docker run)"
kill -0 "$DV_PID" 2>/dev/null || { diag "dockerd $DV_PID is gone; its log:"; tail -n 20 "$EXEC/e.log" | sed 's/^/#   /' >&2; }
dv_docker start -a c-ran >/dev/null 2>&1 && ok "c-ran starts again" true || fail "c-ran starts again"
is "$(dv_docker ps -aq | wc -l)" "$((NCONT - 1))" "dockerd lists the containers but the leaked one"
stop

# ---- kill -9 of dockerd during docker rm (OVL2FSCK_VERSIONS=1 only) -----------------------
# docker rm marks the container Dead (config.v2.json), deletes its lease,
# then containers/<id>. Killed after the lease went, a Dead container with
# no rw snapshot (once containerd's GC ran) stays: dockerd no longer loads
# it.
lease_of() {   # lease_of ID: 1 when namespace moby has lease ID
    rm -f "$T/k.sqlite"
    o2 --root "$ROOT" --db "$T/k.sqlite" >/dev/null 2>&1
    sqlite3 "$T/k.sqlite" "SELECT count(*) FROM cd_lease WHERE ns = 'moby' AND id = '$1'"
}
is_dead() { python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["State"].get("Dead") else 1)' \
    "$ROOT/containers/$1/config.v2.json" 2>/dev/null; }
# The delay is bisected (ms): a kill before the lease went moves it later, a
# kill after containers/<id> went moves it earlier.
KID= tries=0 lo=0 hi=400
MAXTRIES=14
[ "${OVL2FSCK_VERSIONS:-0}" = 1 ] || MAXTRIES=0
while [ "$tries" -lt "$MAXTRIES" ] && [ -z "$KID" ]; do
    delay_ms=$(((lo + hi) / 2))
    start || bail_out "dockerd did not start"
    id=$(dv_docker create --network none o2d/layers-a:latest true) || bail_out "docker create failed"
    dv_docker rm "$id" >/dev/null 2>&1 &
    rmpid=$!
    sleep "$(printf '0.%03d' "$delay_ms")"
    { kill -KILL "$DV_PID"; wait "$rmpid"; dv_stop; } 2>/dev/null   # (no "Killed" job notice)
    tries=$((tries + 1))
    if [ ! -d "$ROOT/containers/$id" ]; then
        hi=$delay_ms        # removed whole: earlier
        [ "$hi" -gt "$lo" ] || lo=0
    elif is_dead "$id" && [ "$(lease_of "$id")" = 0 ]; then
        KID=$id
    else
        lo=$delay_ms        # not Dead yet, or the lease still there: later
        [ "$lo" -lt "$hi" ] || hi=400
        # docker rm finishes it
        start || bail_out "dockerd did not start"
        dv_docker rm -f "$id" >/dev/null 2>&1 || bail_out "docker rm of $id after the kill failed"
        stop
    fi
done
if [ "$MAXTRIES" = 0 ]; then
    skip 3 "the timed kill -9 during docker rm runs only with OVL2FSCK_VERSIONS=1 (make test-versions; ~15 s to minutes)"
elif [ -z "$KID" ]; then
    skip 3 "no kill -9 in $tries tries (bisected delay) landed between the lease's deletion and the removal of containers/<id>"
else
    # containerd's GC runs when something is deleted: a container created and removed
    start || bail_out "dockerd did not start"
    dv_docker rm "$(dv_docker create --network none o2d/layers-a:latest true)" >/dev/null || bail_out "docker rm failed"
    dv_docker rm "$KID" >"$T/krm.out" 2>&1
    like "$(cat "$T/krm.out")" "No such container" "kill -9 during docker rm (try $tries, ${delay_ms} ms): dockerd no longer knows the Dead container"
    stop
    is "$(findings)" "garbage docker-container-removal-leftover moby/$KID" \
        "exactly docker-container-removal-leftover moby/<id>"
    rm -rf --one-file-system "${ROOT:?}/containers/$KID"
    is "$(findings)" "" "its containers/<id> removed with dockerd stopped: clean"
fi
start || bail_out "dockerd did not start"

# ---- Docker-side error/warning classes ----------------------------------------------
SNAPC=$(dv_docker create --network none --name c-nosnap o2d/layers-base:1 true) || bail_out "docker create failed"
IMGC=$(dv_docker create --network none --name c-noimg o2d/layers-empty:1 true) || bail_out "docker create failed"
dctr -n moby snapshots rm "$SNAPC" >/dev/null || bail_out "ctr snapshots rm failed"
dctr -n moby images rm docker.io/o2d/layers-empty:1 >/dev/null || bail_out "ctr images rm failed"
DIRC=$(dv_docker create --network none --name c-nodir o2d/busybox:latest true) || bail_out "docker create failed"
stop
# the rw snapshot dir of c-nodir removed on disk
o2 --root "$ROOT" --db "$T/dir.sqlite" >/dev/null 2>&1
DIRID=$(sqlite3 "$T/dir.sqlite" "SELECT id FROM cd_backend WHERE name GLOB 'moby/*/$DIRC'")
ok "c-nodir's rw snapshot has a dir (snapshots/$DIRID)" [ -n "$DIRID" -a -d "$SNAPS/$DIRID/fs" ]
rm -rf --one-file-system "${SNAPS:?}/$DIRID"
got=$(findings)
is "$got" "$(printf '%s\n' "error docker-container-snapshot-missing moby/$SNAPC" "error snapshot-dir-missing $DIRID" \
                          "warning docker-container-image-missing moby/$IMGC" | sort)" \
    "a removed rw snapshot, its removed dir, a removed image record: exactly their findings"
is "$(cat "$T/rep.rc")" 4 "exit 4 (an error found)"
start || bail_out "dockerd did not start"
dv_docker start c-nosnap >/dev/null 2>&1
isnt "$?" 0 "(dockerd cannot start the container whose rw snapshot is gone)"
dv_docker start c-nodir >/dev/null 2>&1
isnt "$?" 0 "(nor the one whose rw snapshot dir is gone)"
stop

done_testing
