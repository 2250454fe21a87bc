#!/usr/bin/env bash
# tools/demo.sh — what `make demo` runs.
#
# With a Docker overlay2 store on this machine (/var/lib/docker/image/overlay2),
# ovl2fsck --report checks it (read-only). Otherwise the bundled demo store
# (fixtures/demo-store.tar.gz, captured from a real dockerd plus four demo
# problems; see fixtures/README.md) is extracted afresh to build/demo-store and
# checked. Exits with ovl2fsck's exit status.
#
# Overrides (for tests): OVL2FSCK (binary), OVL2FSCK_DEMO_DOCKER_ROOT (the
# store looked for, default /var/lib/docker), OVL2FSCK_DEMO_DIR (where the demo
# store is extracted, default build/demo-store).
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${OVL2FSCK:-./ovl2fsck}
docker_root=${OVL2FSCK_DEMO_DOCKER_ROOT:-/var/lib/docker}
demo_dir=${OVL2FSCK_DEMO_DIR:-build/demo-store}
fixture=fixtures/demo-store.tar.gz

if [ ! -x "$bin" ]; then
    echo "demo: $bin is not built (run: make)" >&2
    exit 8
fi

if [ -d "$docker_root/image/overlay2" ]; then
    echo "== ovl2fsck --report on $docker_root (this machine's Docker store; read-only)"
    if [ "$docker_root" = /var/lib/docker ]; then
        "$bin" --report
    else
        "$bin" --report --root "$docker_root"
    fi
    rc=$?
else
    echo "== no Docker overlay2 store at $docker_root: checking the bundled demo store"
    echo "== ($fixture, extracted to $demo_dir; see fixtures/README.md)"
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
    "$bin" --report --root "$demo_dir"
    rc=$?
fi
echo
echo "ovl2fsck exited $rc — exit bits as fsck: 0 clean (warnings allowed), 4 errors or garbage found, 8 operational error, 16 usage error"
exit "$rc"
