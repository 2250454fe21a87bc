#!/usr/bin/env bash
# tools/demo.sh [--make] — what `make demo` runs.
#
# When this machine's Docker store (/var/lib/docker) is an overlay2 graphdriver
# store with at least one layer, ovl2fsck --report checks it (read-only).
# Otherwise — no store, an empty one (what dockerd creates on its first start),
# another driver or the containerd image store, or a store this user cannot
# read — one line says why, and the bundled demo store
# (fixtures/demo-store.tar.gz, captured from a real dockerd plus four demo
# problems; see fixtures/README.md) is extracted afresh to build/demo-store and
# checked. After the report: what the min-age line and the size column mean,
# and the next step (--reap, then --reap --apply).
#
# Exits with ovl2fsck's exit status; with --make, exit 4 (findings: the demo
# working) becomes 0, so that only 8 (operational) and 16 (usage) fail make.
#
# Overrides (for tests): OVL2FSCK (binary), OVL2FSCK_DEMO_DOCKER_ROOT (the
# store looked for, default /var/lib/docker), OVL2FSCK_DEMO_DIR (where the demo
# store is extracted, default build/demo-store).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 8
make_mode=0
case "${1:-}" in
    --make) make_mode=1 ;;
    "") ;;
    *) echo "usage: $0 [--make]" >&2; exit 16 ;;
esac
bin=${OVL2FSCK:-./ovl2fsck}
docker_root=${OVL2FSCK_DEMO_DOCKER_ROOT:-/var/lib/docker}
demo_dir=${OVL2FSCK_DEMO_DIR:-build/demo-store}
fixture=fixtures/demo-store.tar.gz

if [ ! -x "$bin" ]; then
    echo "demo: $bin is not built (run: make)" >&2
    exit 8
fi

# Why this machine's store is not worth showing; nothing when it is.
why_not_local() {
    local layerdb=$docker_root/image/overlay2/layerdb/sha256
    if [ ! -e "$docker_root" ]; then
        echo "no Docker store at $docker_root"
    elif [ ! -r "$docker_root" ] || [ ! -x "$docker_root" ]; then
        echo "$docker_root is not readable by this user (run as root to check it)"
    elif [ ! -d "$docker_root/image/overlay2" ]; then
        if [ -d "$docker_root/image" ] || [ -d "$docker_root/containerd" ]; then
            echo "$docker_root is not an overlay2 graphdriver store (another storage driver or the containerd image store)"
        else
            echo "$docker_root is not a Docker store (no image/overlay2)"
        fi
    elif [ ! -r "$layerdb" ] && [ -d "$layerdb" ]; then
        echo "$layerdb is not readable by this user (run as root to check it)"
    elif [ -z "$(find "$layerdb" -mindepth 1 -maxdepth 1 -type d -print -quit 2>/dev/null)" ]; then
        echo "$docker_root has no layers yet (dockerd creates it empty: pull or build an image first)"
    fi
}

why=$(why_not_local)
if [ -z "$why" ]; then
    echo "== ovl2fsck --report on $docker_root (this machine's Docker store; read-only)"
    root_args=()
    [ "$docker_root" = /var/lib/docker ] || root_args=(--root "$docker_root")
    "$bin" --report "${root_args[@]}"
    rc=$?
else
    echo "== $why: checking the bundled demo store ($fixture, four planted problems) in $demo_dir"
    root_args=(--root "$demo_dir")
    rm -rf --one-file-system "$demo_dir"
    mkdir -p "$demo_dir" || exit 8
    # whiteouts are device nodes and opaque dirs carry trusted.* xattrs: both
    # need root to be restored; without root the store is still checked.
    if ! tar --xattrs --xattrs-include='*' --numeric-owner -xzf "$fixture" -C "$demo_dir" 2>"$demo_dir.err"; then
        if [ "$(id -u)" = 0 ]; then
            cat "$demo_dir.err" >&2
            echo "demo: cannot extract $fixture" >&2
            exit 8
        fi
        echo "demo: not root: whiteouts and xattrs were not restored (the check still runs)" >&2
    fi
    rm -f "$demo_dir.err"
    echo
    "$bin" --report "${root_args[@]}"
    rc=$?
fi

cmd="$bin${root_args[*]:+ ${root_args[*]}}"
echo
echo "ovl2fsck exited $rc — exit bits as fsck: 0 clean (warnings allowed), 4 errors or garbage found, 8 operational error, 16 usage error"
cat <<EOF

Reading the report:
  min-age: 1d   the grace period (--min-age, default 24h): objects younger than that are
                not reported, only counted as "young skipped" (a pull or a build may still
                be writing them); --min-age 0 shows everything.
  [4.0 KiB]     what removing the item frees on disk: allocated blocks, as du counts them.
                A detail's "(300 bytes)" is the file's length: 300 bytes still take a 4 KiB block.

Next step:
  $cmd --reap            the plan: each item, why, and its bytes; nothing changes
  $cmd --reap --apply    do it (refused while dockerd uses the store: stop it first)
EOF
if [ "$make_mode" = 1 ] && [ "$rc" = 4 ]; then
    exit 0
fi
exit "$rc"
