# tests/lib/docker-versions.sh — current Docker daemons (26.1 from Debian trixie,
# 28.5 from Debian sid) for integration tests, each in a minbase chroot.
#
#   dv_prereq_missing SUITE      # why SUITE's daemon cannot run here (nothing when it can);
#                                # builds the chroot on first use (see below)
#   dv_start SUITE DATA EXEC [DOCKERD ARGS...]
#                                # a private dockerd of SUITE on data root DATA, exec root
#                                # EXEC (short: unix sockets); waits for the API
#   dv_docker ARGS...            # the chroot's docker CLI (with buildx) against it
#                                # ($DV_DOCKER: the same as a program)
#   dv_stop                      # TERM, wait, then every process left in its namespace
#   dv_version                   # the running daemon's version
#   DV_BIND=(DIR...)             # more host dirs the daemon and CLI must see (build
#                                # contexts, tars to load): bound at the same path
#
# SUITE is trixie (docker.io 26.1) or sid (docker.io 28.5).
#
# The chroot: debootstrap --variant=minbase of SUITE from the Debian mirror
# in the host's apt sources (OVL2FSCK_DEBIAN_MIRROR overrides it), then
# docker.io, docker-cli, docker-buildx, busybox-static and ca-certificates
# from that suite. Built once and cached as a tarball keyed by the suite and
# the hash of this file's build recipe, in $OVL2FSCK_DOCKER_CACHE (default build/docker-versions/
# of the tree: it must outlive a test run, whose $OVL2FSCK_TEST_CACHE does
# not), unpacked next to it once. The host's apt sources are only read.
#
# The daemon runs in its own mount namespace (unshare -m, private
# propagation): the chroot bind-mounted onto itself (dockerd needs / to be a
# mount point), proc, /dev and /sys, tmpfs on /run and /tmp, DATA, EXEC and
# DV_BIND at their own paths. Its overlay mounts never show on the host and
# go away with the namespace; dv_stop kills what is left in it. The socket
# is EXEC/sock, reachable from the host too.
#
# A test that cannot get a daemon must skip with the reason dv_prereq_missing
# prints (it is never a silent pass).

DV_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DV_TOP=$(cd "$DV_LIB_DIR/../.." && pwd)
. "$DV_LIB_DIR/daemon.sh"
DV_CACHE=${OVL2FSCK_DOCKER_CACHE:-$DV_TOP/build/docker-versions}
DV_SUITE= DV_ROOTFS= DV_PID= DV_NS= DV_NS_FD= DV_DATA= DV_EXEC= DV_LOG= DV_DOCKER=
DV_BIND=()
_DV_HOOKED=0

_dv_log() { printf '# [docker-versions] %s\n' "$*" >&2; }

# The cache key: the build recipe below (between its two marker lines), so
# that a change to how daemons are started reuses the chroot.
_dv_hash() {
    sed -n '/^# ---- build recipe/,/^# ---- end of build recipe/p' "$DV_LIB_DIR/docker-versions.sh" |
        sha256sum | cut -c1-12
}

# The Debian mirror of the host's apt sources (the first that is not a
# security or updates archive), else deb.debian.org.
dv_mirror() {
    local m=${OVL2FSCK_DEBIAN_MIRROR:-}
    if [ -z "$m" ]; then
        m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
            awk '/^[ \t]*#/ { next }
                 /^[ \t]*deb[ \t]/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { print $i; break } }
                 /^URIs:/ { for (i = 2; i <= NF; i++) print $i }' |
            grep -v -e security -e -updates -e backports | grep -m1 '^https\?://.*debian')
    fi
    printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

# ---- build recipe (its text is the cache key) ----
# (both suites ship the client in docker-cli; runc and containerd come as
# dependencies of docker.io)
_dv_packages() { echo "docker.io docker-cli docker-buildx busybox-static ca-certificates"; }

# _dv_in_chroot ROOT CMD...: CMD inside ROOT with proc, /dev and /sys (package
# installation), in a private mount namespace that dies with it.
_dv_in_chroot() {
    local root=$1; shift
    unshare -m --propagation private /bin/sh -ec '
        r=$1; shift
        mount --bind "$r" "$r"
        mount -t proc proc "$r/proc"
        mount --rbind /dev "$r/dev"
        mount --rbind /sys "$r/sys"
        mount -t tmpfs tmpfs "$r/run"
        exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
            DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"' sh "$root" "$@"
}

# _dv_build_tarball SUITE TARBALL: debootstrap + packages, packed (zstd).
_dv_build_tarball() {
    local suite=$1 out=$2 tmp root mirror rc=1 t0=$SECONDS
    mirror=$(dv_mirror)
    tmp=$(mktemp -d "$DV_CACHE/.build-$suite.XXXXXX") || return 1
    root=$tmp/root
    _dv_log "building the $suite chroot from $mirror (once; cached in $DV_CACHE)"
    if ! debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
        _dv_log "debootstrap $suite failed:"; tail -n 15 "$tmp/debootstrap.log" | sed 's/^/#   /' >&2
    else
        echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99ovl2fsck"
        printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
        chmod 0755 "$root/usr/sbin/policy-rc.d"
        # shellcheck disable=SC2046
        if _dv_in_chroot "$root" sh -c "apt-get update && apt-get install -y --no-install-recommends $(_dv_packages "$suite") && apt-get clean" \
            >"$tmp/apt.log" 2>&1; then
            rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
            if tar -C "$root" --numeric-owner --xattrs -cf - . | zstd -q -T0 -3 -o "$out.tmp" &&
                mv "$out.tmp" "$out"; then
                rc=0
            fi
        else
            _dv_log "installing docker in the $suite chroot failed:"; tail -n 15 "$tmp/apt.log" | sed 's/^/#   /' >&2
        fi
    fi
    rm -f "$out.tmp"
    rm -rf --one-file-system "$tmp"
    [ "$rc" = 0 ] && _dv_log "$suite chroot built in $((SECONDS - t0))s: $out"
    return "$rc"
}

# ---- end of build recipe ----

# dv_rootfs SUITE: sets DV_ROOTFS (built, packed, unpacked once: flock-safe).
# On failure prints the reason on stdout.
dv_rootfs() {
    local suite=$1 key fd tarball root rc=0
    key=$suite-$(_dv_hash)
    tarball=$DV_CACHE/$key.tar.zst
    root=$DV_CACHE/$key
    mkdir -p "$DV_CACHE" || { echo "cannot create $DV_CACHE"; return 1; }
    exec {fd}>"$DV_CACHE/$suite.lock"
    flock "$fd"
    if [ ! -f "$root/.complete" ]; then
        if [ ! -f "$tarball" ]; then
            # a failure is remembered for 10 minutes (no mirror: do not retry in every test)
            if [ -n "$(find "$DV_CACHE/$key.failed" -mmin -10 2>/dev/null)" ]; then
                rc=1
            elif ! _dv_build_tarball "$suite" "$tarball"; then
                touch "$DV_CACHE/$key.failed"
                rc=1
            fi
        fi
        if [ "$rc" = 0 ]; then
            rm -rf --one-file-system "$root" && mkdir -p "$root" &&
                zstd -q -dc "$tarball" | tar -C "$root" --numeric-owner --xattrs -xpf - &&
                touch "$root/.complete" || rc=1
        fi
        # older keys of this suite (the script changed): their tarballs and trees
        if [ "$rc" = 0 ]; then
            local old
            for old in "$DV_CACHE/$suite"-*; do
                case "$old" in "$root"|"$tarball"|*.lock) continue ;; esac
                rm -rf --one-file-system "$old"
            done
        fi
    fi
    exec {fd}>&-
    if [ "$rc" != 0 ]; then
        echo "cannot build the Debian $suite chroot with docker.io (mirror $(dv_mirror) unreachable or a package missing; see the log above; retried after 10 minutes)"
        return 1
    fi
    DV_ROOTFS=$root
}

dv_prereq_missing() {
    local suite=$1
    [ "$(id -u)" = 0 ] || { echo "not root"; return; }
    command -v unshare >/dev/null && command -v nsenter >/dev/null || { echo "no unshare/nsenter (util-linux)"; return; }
    command -v zstd >/dev/null || { echo "no zstd (apt-get install zstd)"; return; }
    grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
        { echo "kernel has no overlay filesystem"; return; }
    if ! command -v debootstrap >/dev/null; then
        if ! apt-get install -y debootstrap >/dev/null 2>&1; then
            echo "no debootstrap (apt-get install debootstrap failed)"
            return
        fi
    fi
    dv_rootfs "$suite" >/dev/null || { dv_rootfs "$suite"; return; }
    [ -x "$DV_ROOTFS/usr/sbin/dockerd" ] && [ -x "$DV_ROOTFS/usr/bin/docker" ] ||
        echo "the $suite chroot has no dockerd or docker CLI"
}

# What runs in the daemon's namespace: mounts, then chroot + dockerd.
# Arguments: ROOTFS, then the dirs to bind at the same path, '--', dockerd argv.
# shellcheck disable=SC2016
_DV_NS_SCRIPT='
set -e
r=$1; shift
mount --bind "$r" "$r"
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
mount --rbind /sys "$r/sys"
mount -t tmpfs tmpfs "$r/run"
mount -t tmpfs tmpfs "$r/tmp"
while [ "$1" != -- ]; do
    mkdir -p "$r$1"
    mount --bind "$1" "$r$1"
    shift
done
shift
exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C "$@"
'

_dv_hook_cleanup() {
    [ "$_DV_HOOKED" = 0 ] || return 0
    _DV_HOOKED=1
    daemon_on_exit dv_stop
}

dv_start() {
    local suite=$1 data=$2 exec=$3 d i why
    shift 3
    why=$(dv_prereq_missing "$suite")
    [ -z "$why" ] || { echo "dv_start: $why" >&2; return 1; }
    dv_rootfs "$suite" >/dev/null || return 1
    mkdir -p "$data" "$exec" || return 1
    DV_SUITE=$suite
    DV_DATA=$(cd "$data" && pwd -P)
    DV_EXEC=$(cd "$exec" && pwd -P)
    case "$DV_DATA" in
        /var/lib/docker|/var/lib/docker/*|/) echo "dv_start: refusing data root $DV_DATA" >&2; return 1 ;;
    esac
    if [ ${#DV_EXEC} -gt 60 ]; then
        echo "dv_start: exec root '$DV_EXEC' is too long for unix sockets" >&2
        return 1
    fi
    DV_LOG=$DV_EXEC.log
    local binds=("$DV_DATA" "$DV_EXEC")
    for d in "${DV_BIND[@]}"; do
        binds+=("$(cd "$d" && pwd -P)") || return 1
    done
    _dv_hook_cleanup
    setsid unshare -m --propagation private /bin/sh -c "$_DV_NS_SCRIPT" sh "$DV_ROOTFS" "${binds[@]}" -- \
        /usr/sbin/dockerd --data-root "$DV_DATA" --exec-root "$DV_EXEC" --pidfile "$DV_EXEC/pid" \
        -H "unix://$DV_EXEC/sock" --storage-driver overlay2 --iptables=false --ip6tables=false \
        --bridge=none --ip-masq=false --userland-proxy=false "$@" >"$DV_LOG" 2>&1 </dev/null &
    DV_PID=$!
    _dv_write_cli
    for ((i = 0; i < 600; i++)); do
        if ! kill -0 "$DV_PID" 2>/dev/null; then
            echo "dv_start: dockerd ($suite) exited; log $DV_LOG:" >&2
            tail -n 30 "$DV_LOG" >&2
            DV_PID=
            return 1
        fi
        # its own mount namespace once unshare made it: before that the pid
        # is still in ours, and dv_stop kills every process of DV_NS
        [ -n "$DV_NS" ] || daemon_ns_pin "$DV_PID" DV_NS DV_NS_FD 2>/dev/null
        if [ -S "$DV_EXEC/sock" ] && dv_docker version >/dev/null 2>&1; then
            [ -n "$DV_NS" ] || daemon_ns_pin "$DV_PID" DV_NS DV_NS_FD
            return 0
        fi
        sleep 0.1
    done
    echo "dv_start: API not up after 60s; log $DV_LOG:" >&2
    tail -n 30 "$DV_LOG" >&2
    dv_stop
    return 1
}

# DV_DOCKER=EXEC/docker: a program that runs the chroot's docker CLI in the
# daemon's namespace (it sees the same files: absolute host paths of DATA,
# EXEC and DV_BIND work), DOCKER_BUILDKIT passed through, a per-daemon
# config dir. A program, not a function: store.sh's DOCKER_BIN can be it.
_dv_write_cli() {
    DV_DOCKER=$DV_EXEC/docker
    {
        echo '#!/bin/sh'
        echo "exec nsenter -t $DV_PID -m -r -w$DV_EXEC /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C \\"
        echo "    DOCKER_CONFIG=$DV_EXEC/cli DOCKER_HOST=unix://$DV_EXEC/sock \\"
        # shellcheck disable=SC2016
        echo '    ${DOCKER_BUILDKIT:+DOCKER_BUILDKIT=$DOCKER_BUILDKIT} /usr/bin/docker "$@"'
    } >"$DV_DOCKER"
    chmod 0755 "$DV_DOCKER"
}

dv_docker() {
    [ -n "$DV_PID" ] || { echo "dv_docker: no daemon" >&2; return 1; }
    "$DV_DOCKER" "$@"
}

dv_version() { dv_docker version --format '{{.Server.Version}}'; }

# The pids in the daemon's mount namespace (dockerd, containerd, shims).
_dv_ns_pids() { daemon_ns_pids "$DV_NS"; }

dv_stop() {
    local pid=$DV_PID i pids
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        [ -n "$DV_NS" ] || daemon_ns_pin "$pid" DV_NS DV_NS_FD 2>/dev/null
        daemon_stop_pid "$pid" "dv_stop: dockerd"
    fi
    # containerd and shims: every process left in the namespace we created
    pids=$(_dv_ns_pids)
    if [ -n "$pids" ]; then
        # shellcheck disable=SC2086
        kill -TERM $pids 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            pids=$(_dv_ns_pids)
            [ -n "$pids" ] || break
            sleep 0.1
        done
        # shellcheck disable=SC2086
        [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            [ -n "$(_dv_ns_pids)" ] || break
            sleep 0.1
        done
    fi
    daemon_ns_unpin "$DV_NS_FD"
    DV_PID= DV_NS= DV_NS_FD=
    return 0
}

# ---- reference stores of these daemons ----------------------------------------

# _dv_populate_more WORK: what Docker 26/28 stores have beyond the 20.10
# reference store (tests/lib/store.sh): a multi-stage BuildKit build, a
# partial build-cache prune, a named volume in use, and on 28 containers
# with image mounts (a ref with and one without a '/'). The daemon runs.
_dv_populate_more() {
    local work=$1 docker=$DV_DOCKER
    mkdir -p "$work/multi" "$work/bk-tmp" || return 1
    printf '%s\n' \
        'FROM o2t/busybox:latest AS build' \
        'RUN mkdir /out && echo built > /out/artifact && echo tmp > /out/tmp' \
        'FROM o2t/busybox:latest' \
        'COPY --from=build /out/artifact /artifact' \
        'RUN echo final > /final' >"$work/multi/Dockerfile"
    DOCKER_BUILDKIT=1 _store_run "$docker" build --network none -t o2t/multi:latest "$work/multi" || return 1
    # a BuildKit image removed again, then a prune of one kind of cache record
    echo "context file" >"$work/bk-tmp/ctx.txt"
    printf '%s\n' 'FROM o2t/classic-a:latest' 'COPY ctx.txt /ctx.txt' 'RUN echo gone > /gone' \
        >"$work/bk-tmp/Dockerfile"
    DOCKER_BUILDKIT=1 _store_run "$docker" build --network none -t o2t/bk-tmp:latest "$work/bk-tmp" || return 1
    _store_run "$docker" rmi o2t/bk-tmp:latest || return 1
    _store_run "$docker" buildx prune -f --filter type=source.local || return 1
    # a named volume a container wrote to
    _store_run "$docker" volume create o2t-vol || return 1
    _store_run "$docker" run --network none --name c-volume -v o2t-vol:/data o2t/busybox:latest \
        sh -c 'echo in-volume > /data/f' || return 1
    if [ "$DV_SUITE" = sid ]; then
        _store_run "$docker" tag o2t/classic-a:latest plainref:latest || return 1
        _store_run "$docker" run --network none --name c-imgmount \
            --mount type=image,source=o2t/classic-a:latest,target=/img o2t/busybox:latest \
            cat /img/app/note.txt || return 1
        _store_run "$docker" create --network none --name c-imgmount-plain \
            --mount type=image,source=plainref:latest,target=/img o2t/busybox:latest \
            cat /img/app/note.txt || return 1
    fi
    return 0
}

# dv_build_store SUITE DIR: DIR becomes a stopped data root written by SUITE's
# daemon: the 20.10 reference store's recipe (store.sh) plus _dv_populate_more;
# DIR.facts as store.sh writes it. Needs python3 on the host.
dv_build_store() {
    local suite=$1 store=$2 work exec_root rc=1 t0=$SECONDS
    [ -n "$(declare -F _store_populate)" ] || . "$DV_LIB_DIR/store.sh"
    store=$(mkdir -p "$store" && cd "$store" && pwd -P) || return 1
    work=$(mktemp -d "${TMPDIR:-/tmp}/o2vw.XXXXXX") || return 1
    exec_root=$(mktemp -d /tmp/o2v.XXXXXX) || return 1
    local DV_BIND=("$work")
    if dv_start "$suite" "$store" "$exec_root/e"; then
        local DOCKER_BIN=$DV_DOCKER BUSYBOX_BIN=$DV_ROOTFS/bin/busybox
        _store_populate "$work" && _dv_populate_more "$work" && _store_facts >"$store.facts.tmp" && rc=0
        dv_stop
    fi
    [ "$rc" = 0 ] && mv "$store.facts.tmp" "$store.facts"
    if [ "$rc" != 0 ] && [ -f "$exec_root/e.log" ]; then
        _dv_log "dockerd ($suite) log (tail):"
        tail -n 20 "$exec_root/e.log" | sed 's/^/#   /' >&2
    fi
    rm -rf --one-file-system "$work" "$exec_root"
    if [ "$rc" = 0 ]; then
        _dv_log "$suite store built in $((SECONDS - t0))s: $store"
    else
        _dv_log "building the $suite store failed"
    fi
    return "$rc"
}
