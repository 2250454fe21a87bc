#!/usr/bin/env bash
# A store written by the benchmark's generator (tools/bench/genstore.c) loads
# in a real dockerd: `docker image ls` lists every generated image, the
# generated containers are there, `docker save` rebuilds layers from the
# tar-split streams and verifies their diffIDs (BuildKit-registered layers
# included), `docker run` mounts a generated chain through its lower file and
# l/ links, and a generated container starts on its -init and RW dirs. After
# the daemon is stopped, ovl2fsck still finds the store clean.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/dockerd.sh"
tap_tmpdir

TOP=$TAP_TOP
[ "$(id -u)" = 0 ] || skip_all "needs root (a private dockerd)"
[ -x "$DOCKER_BIN" ] || skip_all "no $DOCKER_BIN (apt-get install docker.io)"
command -v "$DOCKERD_BIN" >/dev/null || skip_all "no dockerd (apt-get install docker.io)"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || skip_all "kernel has no overlay filesystem"
command -v python3 >/dev/null || skip_all "python3 missing"
tap_genstore
sv() { sed -n "s/^$2=//p" "$1" | head -n 1; }

# a static busybox in every base chain makes the images runnable
BUSYBOX=${BUSYBOX_BIN:-/bin/busybox}
bb=()
if [ -x "$BUSYBOX" ] && ! [ -L "$BUSYBOX" ] && ! ldd "$BUSYBOX" >/dev/null 2>&1; then
    bb=(--busybox "$BUSYBOX")
fi

N=20
S=$TAP_TMP/store
ok "genstore: $N images, no garbage${bb:+, busybox in the bases}" \
    sh -c "'$GEN' --out '$S' --images $N --garbage 0 --seed 5 --quiet ${bb[*]} >'$S.sum'"
images=$(sv "$S.sum" images)
containers=$(sv "$S.sum" containers)
ok "the store has BuildKit-registered layers ($(sv "$S.sum" buildkit_layers))" test "$(sv "$S.sum" buildkit_layers)" -ge 1
rc=0
"$OVL2FSCK" --root "$S" --min-age 0 -q >"$TAP_TMP/fsck.before" 2>&1 || rc=$?
is "$rc" 0 "ovl2fsck: the generated store is clean"

E=$(mktemp -d /tmp/o2g.XXXXXX)
at_exit "rm -rf --one-file-system '$E'"
if ! dockerd_start "$S" "$E/e"; then
    fail "dockerd starts on the generated store"
    done_testing
fi
pass "dockerd starts on the generated store"

is "$(dockerd_docker image ls -q | sort -u | wc -l)" "$images" "docker image ls lists all $images images"
is "$(dockerd_docker image ls -a -q | sort -u | wc -l)" "$images" "docker image ls -a: no other images"
is "$(dockerd_docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -vc '<none>')" "$(sv "$S.sum" tags)" \
    "every tag of repositories.json is listed"
is "$(dockerd_docker ps -a -q | wc -l)" "$containers" "docker ps -a lists the $containers generated container(s)"

# docker save: rebuilds every layer from tar-split + diff/ and checks its diffID
first=gen/img000000:latest
last=$(printf 'gen/img%06d:latest' $((images - 1)))   # the last images are BuildKit builds
ok "docker save of $first and $last (a BuildKit build) succeeds" \
    dockerd_docker save -o "$TAP_TMP/save.tar" "$first" "$last"
mkdir -p "$TAP_TMP/save"
tar -C "$TAP_TMP/save" -xf "$TAP_TMP/save.tar"
want=$(python3 - "$TAP_TMP/save" "$last" <<'EOF'
import hashlib, json, os, sys
root, ref = sys.argv[1], sys.argv[2]
man = json.load(open(os.path.join(root, "manifest.json")))
m = next(x for x in man if ref in (x.get("RepoTags") or []))
cfg = json.load(open(os.path.join(root, m["Config"])))
got = ["sha256:" + hashlib.sha256(open(os.path.join(root, l), "rb").read()).hexdigest() for l in m["Layers"]]
print("ok" if got == cfg["rootfs"]["diff_ids"] else "layers %s != diff_ids %s" % (got, cfg["rootfs"]["diff_ids"]))
EOF
)
is "$want" ok "the saved layer tars hash to the image's diff_ids"

if [ ${#bb[@]} -gt 0 ]; then
    # files the image's layers hold under g/, counted in the saved layer tars
    nfiles=$(python3 - "$TAP_TMP/save" "$last" <<'EOF'
import json, os, sys, tarfile
root, ref = sys.argv[1], sys.argv[2]
m = next(x for x in json.load(open(os.path.join(root, "manifest.json"))) if ref in (x.get("RepoTags") or []))
n = 0
for l in m["Layers"]:
    with tarfile.open(os.path.join(root, l)) as t:
        n += sum(1 for i in t.getmembers() if i.name.startswith("g/") and i.isfile())
print(n)
EOF
)
    out=$(dockerd_docker run --rm --network none "$last" sh -c 'ls /g | wc -l' 2>&1)
    is "$(echo "$out" | tr -d ' ')" "$nfiles" "docker run: the mounted chain shows all $nfiles files of its layers"
    cname=$(dockerd_docker ps -a --format '{{.Names}}' | head -n 1)
    ok "docker start -a $cname (RW dir on its -init dir on the image) exits 0" \
        sh -c "DOCKER_HOST='$DOCKER_HOST' '$DOCKER_BIN' start -a '$cname' </dev/null >/dev/null 2>&1"
else
    skip 2 "no static busybox: the generated images are not runnable"
fi
dockerd_stop
pass "dockerd stopped"

rc=0
"$OVL2FSCK" --root "$S" --min-age 0 --json >"$TAP_TMP/after.json" 2>&1 || rc=$?
is "$rc" 0 "ovl2fsck after dockerd used the store: still clean"

done_testing
