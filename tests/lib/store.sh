# tests/lib/store.sh — build a realistic overlay2 store with a real dockerd.
#
#   build_reference_store DIR      # DIR becomes a stopped dockerd data root;
#                                  # DIR.facts gets what docker reported (key=value)
#   ref_store_template             # sets REF_TEMPLATE/REF_FACTS: one reference store
#                                  # per test run, built on first use (flock-safe),
#                                  # cached under $OVL2FSCK_TEST_CACHE (run-all sets it)
#   ref_store_copy DEST            # a fresh copy of the template (xattrs, owners,
#                                  # device nodes, hard links, mtimes preserved)
#   ref_fact KEY                   # a value docker reported while building
#
# Needs root, docker.io, busybox-static, python3. Nothing is normalised: the
# store keeps its real mtimes, so scans of it need --min-age 0.

STORE_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$STORE_LIB_DIR/dockerd.sh"
STORE_TOOLS=$(cd "$STORE_LIB_DIR/../tools" && pwd)
BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}

# Prints why a reference store cannot be built here; nothing when it can.
store_prereq_missing() {
    [ "$(id -u)" = 0 ] || { echo "not root"; return; }
    [ -x /usr/bin/docker ] || { echo "no /usr/bin/docker (apt-get install docker.io)"; return; }
    command -v dockerd >/dev/null || { echo "no dockerd (apt-get install docker.io)"; return; }
    [ -x "$BUSYBOX_BIN" ] && ! [ -L "$BUSYBOX_BIN" ] ||
        { echo "no static $BUSYBOX_BIN (apt-get install busybox-static)"; return; }
    command -v python3 >/dev/null || { echo "no python3"; return; }
    grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
        { echo "kernel has no overlay filesystem"; return; }
}

_store_log() { printf '# [store] %s\n' "$*" >&2; }

# _store_run CMD...: run quietly, show the output only when it fails.
_store_run() {
    local out rc
    out=$("$@" 2>&1) && return 0
    rc=$?
    printf '%s\n' "$out" | tail -n 40 | sed 's/^/# [store]   /' >&2
    _store_log "FAILED ($rc): $*"
    return "$rc"
}

# The docker commands of build_reference_store; dockerd runs. Every step is
# checked explicitly: set -e is void in a function called from an `||` list.
_store_populate() {
    local work=$1
    local docker=$DOCKER_BIN a i

    # 1. busybox base image from a tar (no registry here).
    mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp" "$work/rootfs/root" || return 1
    cp "$BUSYBOX_BIN" "$work/rootfs/bin/busybox" || return 1
    for a in sh ls cat echo mkdir rm rmdir touch sleep true false env test cp mv ln \
             chmod sed grep wc head tail id printf sync; do
        ln -s busybox "$work/rootfs/bin/$a" || return 1
    done
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$work/rootfs/etc/passwd"
    printf 'root:x:0:\n' >"$work/rootfs/etc/group"
    chmod 1777 "$work/rootfs/tmp"
    tar --numeric-owner -C "$work/rootfs" -cf "$work/busybox.tar" . || return 1
    _store_run "$docker" import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' \
        "$work/busybox.tar" o2t/busybox:latest || return 1

    # 2. classic builds: a multi-step image with two tags, then one built on top
    #    of it (imagedb metadata "parent" files exist for these).
    mkdir -p "$work/classic-a" "$work/classic-b" || return 1
    echo "note for classic-a" >"$work/classic-a/note.txt"
    printf '%s\n' \
        'FROM o2t/busybox:latest' \
        'RUN mkdir -p /app/data && echo hello > /app/data/a.txt && echo gone > /app/data/b.txt' \
        'COPY note.txt /app/note.txt' \
        'ENV APP=classic-a' \
        'RUN rm /app/data/b.txt && mkdir -p /app/cache && echo x > /app/cache/x' \
        'CMD ["/bin/sh"]' >"$work/classic-a/Dockerfile"
    DOCKER_BUILDKIT=0 _store_run "$docker" build --network none \
        -t o2t/classic-a:latest -t o2t/classic-a:v1 "$work/classic-a" || return 1
    printf '%s\n' \
        'FROM o2t/classic-a:latest' \
        'RUN echo b > /app/b.txt && rm -rf /app/cache && mkdir /app/cache && echo y > /app/cache/y' \
        'WORKDIR /app' \
        'RUN ln -s b.txt /app/b-link && rm /bin/sync' >"$work/classic-b/Dockerfile"
    DOCKER_BUILDKIT=0 _store_run "$docker" build --network none \
        -t o2t/classic-b:latest "$work/classic-b" || return 1

    # 3. a BuildKit build: 25-char overlay2 dirs and buildkit/snapshots.db.
    mkdir -p "$work/bk" || return 1
    echo "file for buildkit" >"$work/bk/f.txt"
    printf '%s\n' \
        'FROM o2t/busybox:latest' \
        'RUN mkdir /bk && echo one > /bk/one && echo keep > /bk/keep' \
        'COPY f.txt /bk/f.txt' \
        'RUN echo two > /bk/two && rm /bk/one' >"$work/bk/Dockerfile"
    DOCKER_BUILDKIT=1 _store_run "$docker" build --network none \
        -t o2t/bk:latest "$work/bk" || return 1

    # 4. docker load of generated multi-layer images sharing base layers.
    python3 "$STORE_TOOLS/mkimage.py" "$work/layers.tar" || return 1
    _store_run "$docker" load -i "$work/layers.tar" || return 1

    # 5. containers: created (twice); ran and exited; ran, wrote to its RW layer, stopped.
    _store_run "$docker" create --network none --name c-created o2t/busybox:latest sh || return 1
    _store_run "$docker" create --network none --name c-loaded o2t/layers-a:latest /bin/hello || return 1
    _store_run "$docker" run --network none --name c-exited o2t/classic-a:latest true || return 1
    _store_run "$docker" run -d --network none --name c-stopped o2t/bk:latest \
        sh -c 'echo written > /rw.txt && mkdir /rwdir && echo x > /rwdir/f && exec sleep 600' ||
        return 1
    for ((i = 0; i < 100; i++)); do
        "$docker" exec c-stopped test -f /rwdir/f 2>/dev/null && break
        sleep 0.1
    done
    _store_run "$docker" stop -t 1 c-stopped || return 1
}

# _store_facts: what docker itself reports (key=value lines on stdout).
_store_facts() {
    local docker=$DOCKER_BIN ids
    ids=$("$docker" image ls -a -q --no-trunc | sort -u) || return 1
    echo "images=$(printf '%s\n' "$ids" | grep -c .)"
    echo "containers=$("$docker" ps -aq | grep -c .)"
    # layers: the chainIDs of all images (a clean store has no other layers)
    # shellcheck disable=SC2086
    "$docker" image inspect --format '{{json .RootFS.Layers}}' $ids | PYTHONDONTWRITEBYTECODE=1 python3 -c '
import json, sys
sys.path.insert(0, sys.argv[1])
from storeinfo import chain_ids
print("layers=%d" % len({c for line in sys.stdin for c in chain_ids(json.loads(line))}))' "$STORE_TOOLS" ||
        return 1
    echo "tags=$("$docker" image ls --format '{{.Repository}}:{{.Tag}}' | grep -vc '<none>')"
    echo "docker_version=$("$docker" version --format '{{.Server.Version}}')"
}

build_reference_store() {
    local store=$1 work exec_root rc t0=$SECONDS
    store=$(mkdir -p "$store" && cd "$store" && pwd -P) || return 1
    work=$(mktemp -d "${TMPDIR:-/tmp}/o2w.XXXXXX") || return 1
    exec_root=$(mktemp -d /tmp/o2e.XXXXXX) || return 1
    rc=1
    if dockerd_start "$store" "$exec_root/e"; then
        _store_populate "$work" && _store_facts >"$store.facts.tmp" && rc=0
        dockerd_stop
    fi
    [ "$rc" = 0 ] && mv "$store.facts.tmp" "$store.facts"
    if [ "$rc" != 0 ] && [ -f "$exec_root/e.log" ]; then
        _store_log "dockerd log (tail):"
        tail -n 20 "$exec_root/e.log" | sed 's/^/# [store]   /' >&2
    fi
    rm -rf --one-file-system "$work" "$exec_root"
    if [ "$rc" = 0 ]; then
        _store_log "reference store built in $((SECONDS - t0))s: $store"
    else
        _store_log "building the reference store failed"
    fi
    return "$rc"
}

# Sets REF_TEMPLATE and REF_FACTS; builds the template once per cache dir
# (several test files may ask at once: the first builds, the others wait).
ref_store_template() {
    local cache=${OVL2FSCK_TEST_CACHE:-} fd rc=0
    if [ -z "$cache" ]; then
        tap_tmpdir
        cache=$TAP_TMP/cache
    fi
    mkdir -p "$cache" || return 1
    REF_TEMPLATE=$cache/ref-store
    REF_FACTS=$REF_TEMPLATE.facts
    exec {fd}>"$cache/ref-store.lock"
    flock "$fd"
    if [ -f "$REF_FACTS" ]; then
        rc=0
    elif [ -f "$cache/ref-store.failed" ]; then
        rc=1
    else
        rm -rf --one-file-system "$REF_TEMPLATE"
        build_reference_store "$REF_TEMPLATE" || { rc=1; touch "$cache/ref-store.failed"; }
    fi
    exec {fd}>&-
    return "$rc"
}

# ref_store_copy DEST: DEST must not exist yet.
ref_store_copy() {
    cp -a --preserve=all "$REF_TEMPLATE" "$1"
}

ref_fact() { sed -n "s/^$1=//p" "$REF_FACTS"; }
