#!/usr/bin/env bash
# tests/tools/capture-demo-store.sh [OUT.tar.gz] — rebuild fixtures/demo-store.tar.gz.
#
# 1. A private real dockerd (tests/lib/dockerd.sh) builds a small store:
#    - demo/base:1      docker import of a tiny static program (tests/tools/tiny.c,
#                       8 KB instead of busybox's 2 MB) and a few text files
#    - demo/classic:1   DOCKER_BUILDKIT=0 build on it: COPY, exec-form RUN;
#                       demo/classic:latest is a second tag
#    - demo/classic2:1  a classic build on demo/classic:1 (imagedb metadata parent):
#                       a deleted file (whiteout) and a re-created dir (opaque)
#    - demo/bk:1        a BuildKit build (--network none): 25-char overlay2 dirs,
#                       buildkit/snapshots.db
#    - containers: demo-created (created), demo-ran (ran, wrote /rw.txt, exited)
# 2. dockerd is stopped; the data root is copied without containerd/, network/,
#    buildkit/ except snapshots.db, and with container logs emptied.
# 3. Four demo problems are injected with fixed names (so the expected findings
#    do not depend on the random ids of a capture): see fixtures/README.md.
# 4. Every mtime is set to 2024-01-01 (older than any --min-age default), and
#    the tree is archived with xattrs (opaque dirs), numeric owners and device
#    nodes (whiteouts) preserved.
#
# Needs root, docker.io, gcc. Takes about 10 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:-$top/fixtures/demo-store.tar.gz}
case "$out" in /*) ;; *) out=$PWD/$out ;; esac
. "$top/tests/lib/dockerd.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/o2demo.XXXXXX")
exec_root=$(mktemp -d /tmp/o2e.XXXXXX)
cleanup() {
    dockerd_stop
    rm -rf --one-file-system "$tmp" "$exec_root"
}
trap cleanup EXIT
D=$tmp/data
W=$tmp/work
mkdir -p "$W/rootfs/bin" "$W/rootfs/etc" "$W/classic" "$W/bk"

cc -static -nostdlib -no-pie -Os -ffreestanding -fno-stack-protector \
    -fno-asynchronous-unwind-tables -Wl,--build-id=none -s -o "$W/rootfs/bin/tiny" "$here/tiny.c"
printf 'NAME="ovl2fsck demo"\nID=o2demo\n' >"$W/rootfs/etc/os-release"
printf 'demo\n' >"$W/rootfs/etc/hostname"
tar --numeric-owner --owner=0 --group=0 -C "$W/rootfs" -cf "$W/base.tar" .

dockerd_start "$D" "$exec_root/e"
docker=$DOCKER_BIN
# q CMD...: quiet unless it fails
q() {
    local o
    o=$("$@" 2>&1) || { printf '%s\n' "$o" | tail -n 30 >&2; echo "failed: $*" >&2; exit 1; }
}

q "$docker" import -c 'CMD ["/bin/tiny"]' "$W/base.tar" demo/base:1

echo "copied by the classic builder" >"$W/classic/note.txt"
mkdir -p "$W/classic/conf.d" && echo "a=1" >"$W/classic/conf.d/a.conf" && echo "b=1" >"$W/classic/conf.d/b.conf"
cat >"$W/classic/Dockerfile" <<'DOCKERFILE'
FROM demo/base:1
COPY note.txt /app/note.txt
COPY conf.d /etc/conf.d
RUN ["/bin/tiny", "/app/built.txt", "written by a classic RUN\n"]
DOCKERFILE
DOCKER_BUILDKIT=0 q "$docker" build --network none -t demo/classic:1 -t demo/classic:latest "$W/classic"

# a second classic image on the first: a whiteout (the note) and an opaque dir
mkdir -p "$W/classic2"
cat >"$W/classic2/Dockerfile" <<'DOCKERFILE'
FROM demo/classic:1
ENV STAGE=two
RUN ["/bin/tiny", "-u", "/app/note.txt", "-u", "/etc/conf.d/a.conf", "-u", "/etc/conf.d/b.conf", "-d", "/etc/conf.d", "-m", "/etc/conf.d", "/etc/conf.d/c.conf", "c=1\n"]
DOCKERFILE
DOCKER_BUILDKIT=0 q "$docker" build --network none -t demo/classic2:1 "$W/classic2"

echo "copied by BuildKit" >"$W/bk/f.txt"
cat >"$W/bk/Dockerfile" <<'DOCKERFILE'
FROM demo/base:1
COPY f.txt /bk/f.txt
RUN ["/bin/tiny", "/bk/made.txt", "written by a BuildKit RUN\n"]
DOCKERFILE
DOCKER_BUILDKIT=1 q "$docker" build --network none -t demo/bk:1 "$W/bk"

q "$docker" create --network none --name demo-created demo/classic:1
q "$docker" run --network none --name demo-ran demo/bk:1 \
    /bin/tiny -u /bk/f.txt /rw.txt "written in the container"
dockerd_stop

# --- copy what ovl2fsck reads (and the rest of a normal root, minus bulk) -----
S=$tmp/store
mkdir "$S"
(cd "$D" && tar --xattrs --xattrs-include='*' --numeric-owner \
    --exclude=./containerd --exclude=./network --exclude='./buildkit/*' -cf - .) |
    (cd "$S" && tar --xattrs --xattrs-include='*' --numeric-owner -xpf -)
mkdir -p "$S/buildkit" && cp -p "$D/buildkit/snapshots.db" "$S/buildkit/"
find "$S/containers" -name '*-json.log' -exec truncate -s 0 {} +

# --- demo problems (fixed names) ------------------------------------------------
ORPHAN=0ddba11c0ffee0ddba11c0ffee0ddba11c0ffee0ddba11c0ffee0ddba11c0ffe
ORPHAN_LINK=ORPHANDEMOLAYER22222222222   # 26 chars of [A-Z2-7]
BROKEN_LINK=BROKENDEMOLINK333333333333
[ ${#ORPHAN_LINK} = 26 ] && [ ${#BROKEN_LINK} = 26 ] || { echo "bad link name length" >&2; exit 1; }
# an interrupted pull: overlay2 dir with content, link and l/ symlink, no layer
mkdir -p "$S/overlay2/$ORPHAN/diff/usr/share/demo"
head -c 20000 /dev/zero | tr '\0' 'x' >"$S/overlay2/$ORPHAN/diff/usr/share/demo/half-pulled.bin"
printf '%s' "$ORPHAN_LINK" >"$S/overlay2/$ORPHAN/link"
ln -s "../$ORPHAN/diff" "$S/overlay2/l/$ORPHAN_LINK"
# ... and its registration that never finished
WS=write-set-123456789
mkdir -p "$S/image/overlay2/layerdb/tmp/$WS"
printf 'sha256:%s' "$(printf 'demo' | sha256sum | cut -c1-64)" >"$S/image/overlay2/layerdb/tmp/$WS/diff"
printf '20000' >"$S/image/overlay2/layerdb/tmp/$WS/size"
printf '%s' "$ORPHAN" >"$S/image/overlay2/layerdb/tmp/$WS/cache-id"
# an l/ symlink whose dir is gone
ln -s "../deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef/diff" "$S/overlay2/l/$BROKEN_LINK"
# an interrupted image config write
cfg=$(ls "$S/image/overlay2/imagedb/content/sha256" | head -n 1)
TMPF=.tmp-demo-config-123456789
head -c 300 "$S/image/overlay2/imagedb/content/sha256/$cfg" >"$S/image/overlay2/imagedb/content/sha256/$TMPF"

# --- old mtimes, archive ---------------------------------------------------------
find "$S" -exec touch -h -d '2024-01-01T00:00:00Z' {} +
mkdir -p "$(dirname "$out")"
tar --xattrs --xattrs-include='*' --numeric-owner --sort=name -C "$S" -cf - . | gzip -n -9 >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -c <"$out") bytes)"
