# tests/lib/containerd.sh — a private, real containerd for integration tests.
#
#   ctrd_start ROOT STATE           # starts it (own root, state dir, socket; cri off), waits for it
#   ctrd_ctr [-n NS] ARGS...        # ctr against it (default namespace: default)
#   ctrd_stop                       # stop (SIGTERM, then SIGKILL), wait, unmount below ROOT/STATE
#   ctrd_kill9                      # kill -9, wait, unmount (for crash leftovers)
#   ctrd_setup ROOT STATE FN [ARGS...] # ctrd_start on an empty ROOT, FN ARGS (the set-up), a
#                                   # GC; a failed set-up is made once more from an empty root
#   ctrd_import NS ARGS...          # ctr -n NS images import ARGS (a failure told on stderr)
#   ctrd_run_rm NS IMAGE ID CMD...  # ctr -n NS run --rm: output and status (lost output retried)
#   ctrd_run_keep NS IMAGE ID CMD.. # ctr -n NS run (container kept): the same
#
#   ctrd_select 1.6|2               # which containerd (before ctrd_start): 1.6 = the
#                                   # host's (default); 2 = 2.1.9 of the cached Debian sid
#                                   # chroot (tests/lib/docker-versions.sh). Returns 2 and
#                                   # prints why when that cannot be had (callers skip_all)
#   CTRD_BIND=(DIR...)              # 2: more host dirs the daemon and ctr must see (archives
#                                   # to import): bound at the same path
#
# Only ROOT and STATE are written or unmounted; nothing touches
# /var/lib/containerd or another daemon. STATE must be short (socket paths).
# With 2, containerd runs chrooted in its own mount namespace (as dv_start runs
# dockerd: ROOT, STATE and CTRD_BIND bound at the same path; its runc and shim
# are the chroot's; its mounts never show on the host), and ctr runs in the
# chroot in that namespace (nsenter), so that the FIFOs of `ctr run` and the
# paths it is given are the daemon's.
# A cleanup hook stops the daemon when the calling script exits (tap.sh's
# at_exit when loaded, else an EXIT trap).

. "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"

CTRD_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CTRD_BIN=${CTRD_BIN:-$(command -v containerd || echo /usr/bin/containerd)}
CTR_BIN=${CTR_BIN:-$(command -v ctr || echo /usr/bin/ctr)}
CTRD_CHROOT=
CTRD_VERSION=1.6
CTRD_BIND=()
CTRD_PID=
CTRD_NS=
CTRD_NS_FD=
CTRD_ROOT=
CTRD_STATE=
CTRD_LOG=
_CTRD_HOOKED=0

ctrd_ctr() {
    if [ -n "$CTRD_CHROOT" ]; then
        [ -n "$CTRD_PID" ] || { echo "ctrd_ctr: no daemon" >&2; return 1; }
        nsenter -t "$CTRD_PID" -m -r -w/ /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C \
            "$CTR_BIN" -a "$CTRD_STATE/sock" "$@"
    else
        "$CTR_BIN" -a "$CTRD_STATE/sock" "$@"
    fi
}

# ctrd_select 1.6|2: see the top. 2 keeps DV_ROOTFS (the chroot) in CTRD_CHROOT.
ctrd_select() {
    case "$1" in
        1.6)
            CTRD_BIN=$(command -v containerd || echo /usr/bin/containerd)
            CTR_BIN=$(command -v ctr || echo /usr/bin/ctr)
            CTRD_CHROOT='' CTRD_VERSION=1.6
            ;;
        2)
            local why
            [ -n "$(declare -F dv_prereq_missing)" ] || . "$CTRD_LIB_DIR/docker-versions.sh"
            why=$(dv_prereq_missing sid)
            if [ -z "$why" ] && ! dv_rootfs sid >/dev/null; then
                why="the Debian sid chroot cannot be unpacked"
            fi
            if [ -z "$why" ] && [ ! -x "$DV_ROOTFS/usr/bin/containerd" ]; then
                why="the sid chroot has no containerd"
            fi
            if [ -n "$why" ]; then
                echo "containerd 2.x: $why"
                return 2
            fi
            CTRD_CHROOT=$DV_ROOTFS CTRD_BIN=/usr/bin/containerd CTR_BIN=/usr/bin/ctr CTRD_VERSION=2
            ;;
        *) echo "ctrd_select: 1.6 or 2, not '$1'" >&2; return 1 ;;
    esac
}

# The config: 1.6 takes version 2 with the cri plugin off; 2.x takes
# version 3, whose CRI is four plugins (grpc, images, runtime, the pod
# sandbox controller; `containerd config default` in the chroot lists them).
_ctrd_write_config() {
    local disabled='"io.containerd.grpc.v1.cri"' version=2
    if [ "$CTRD_VERSION" = 2 ]; then
        version=3
        disabled='"io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.podsandbox.controller.v1.podsandbox"'
    fi
    cat > "$CTRD_STATE/config.toml" <<EOF
version = $version
root = "$CTRD_ROOT"
state = "$CTRD_STATE/run"
disabled_plugins = [$disabled]
[grpc]
  address = "$CTRD_STATE/sock"
[ttrpc]
  address = "$CTRD_STATE/sock.ttrpc"
[debug]
  address = ""
EOF
}

# Start the daemon in the background, CTRD_PID its pid.
_ctrd_spawn() {
    if [ -z "$CTRD_CHROOT" ]; then
        "$CTRD_BIN" --config "$CTRD_STATE/config.toml" >"$CTRD_LOG" 2>&1 &
        CTRD_PID=$!
        return 0
    fi
    local binds=("$CTRD_ROOT" "$CTRD_STATE") d
    for d in "${CTRD_BIND[@]}"; do
        binds+=("$(cd "$d" && pwd -P)") || return 1
    done
    setsid unshare -m --propagation private /bin/sh -c "$_DV_NS_SCRIPT" sh "$CTRD_CHROOT" "${binds[@]}" -- \
        "$CTRD_BIN" --config "$CTRD_STATE/config.toml" >"$CTRD_LOG" 2>&1 </dev/null &
    CTRD_PID=$!
    # its mount namespace once unshare made it, pinned (what _ctrd_kill_ns ends;
# tests/lib/daemon.sh says why it is pinned)
    local i
    for i in $(seq 1 50); do
        daemon_ns_pin "$CTRD_PID" CTRD_NS CTRD_NS_FD 2>/dev/null && return 0
        sleep 0.02
    done
    CTRD_NS=
}

# 2: kill -9 every process left in the daemon's mount namespace (the
# container processes of a killed shim); their mounts go with it.
_ctrd_kill_ns() {
    [ -n "$CTRD_NS" ] || return 0
    local i pids
    for i in $(seq 1 50); do
        pids=$(daemon_ns_pids "$CTRD_NS")
        [ -n "$pids" ] || break
        # shellcheck disable=SC2086
        kill -9 $pids 2>/dev/null || true
        sleep 0.1
    done
    daemon_ns_unpin "$CTRD_NS_FD"
    CTRD_NS= CTRD_NS_FD=
}

_ctrd_hook_cleanup() {
    [ "$_CTRD_HOOKED" = 0 ] || return 0
    _CTRD_HOOKED=1
    daemon_on_exit ctrd_stop
}

# The tasks' shims (containerd-shim-runc-v2) outlive a killed containerd:
# kill those whose socket or bundle lives below STATE, by pid.
_ctrd_kill_shims() {
    local p
    for p in $(pgrep -f "containerd-shim" 2>/dev/null); do
        if tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -qF -- "$CTRD_STATE/sock"; then
            kill -9 "$p" 2>/dev/null || true
        fi
    done
}

ctrd_start() {
    CTRD_ROOT=$1
    CTRD_STATE=$2
    mkdir -p "$CTRD_ROOT" "$CTRD_STATE"
    CTRD_ROOT=$(cd "$CTRD_ROOT" && pwd -P)
    CTRD_STATE=$(cd "$CTRD_STATE" && pwd -P)
    CTRD_LOG=$CTRD_STATE/containerd.log
    _ctrd_hook_cleanup
    _ctrd_write_config
    _ctrd_spawn || return 1
    local i
    for i in $(seq 1 150); do
        if ctrd_ctr version >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$CTRD_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "ctrd_start: containerd did not come up; log:" >&2
    tail -20 "$CTRD_LOG" >&2
    ctrd_stop
    return 1
}

_ctrd_wait_gone() {
    local i
    for i in $(seq 1 100); do
        kill -0 "$CTRD_PID" 2>/dev/null || break
        sleep 0.1
    done
    wait "$CTRD_PID" 2>/dev/null || true
}

ctrd_stop() {
    [ -n "$CTRD_PID" ] || return 0
    if kill -0 "$CTRD_PID" 2>/dev/null; then
        kill "$CTRD_PID" 2>/dev/null || true
        _ctrd_wait_gone
        kill -9 "$CTRD_PID" 2>/dev/null || true
        _ctrd_wait_gone
    fi
    _ctrd_kill_shims
    _ctrd_kill_ns
    daemon_umount_under "$CTRD_STATE" "$CTRD_ROOT"
    CTRD_PID=
}

ctrd_kill9() {
    [ -n "$CTRD_PID" ] || return 0
    kill -9 "$CTRD_PID" 2>/dev/null || true
    _ctrd_wait_gone
    _ctrd_kill_shims
    _ctrd_kill_ns
    daemon_umount_under "$CTRD_STATE" "$CTRD_ROOT"
    CTRD_PID=
}

# ctrd_import NS ARGS...: `ctr -n NS images import ARGS...` for a test's
# set-up (inside ctrd_setup). A failure, whether the daemon still runs and
# its log tail go to stderr; the caller's set-up fails (ctrd_setup makes it
# again from an empty root).
ctrd_import() {
    local ns=$1 err
    shift
    err=$(ctrd_ctr -n "$ns" images import "$@" 2>&1 >/dev/null) && return 0
    {
        echo "ctrd_import: ctr -n $ns images import $*: $err"
        if kill -0 "$CTRD_PID" 2>/dev/null; then
            echo "ctrd_import: containerd ($CTRD_PID) still runs; its log ends:"
        else
            echo "ctrd_import: containerd ($CTRD_PID) is gone; its log ends:"
        fi
        tail -n 30 "$CTRD_LOG"
    } >&2
    return 1
}

# ctrd_setup ROOT STATE FN [ARGS...]: a test's set-up on an empty ROOT:
# ctrd_start, then FN ARGS (imports, containers, ...) with the daemon up,
# then a synchronous GC in every namespace; the daemon is left running.
# The GC: after an import, containerd's background GC drops blob records,
# then deletes their files some ms later; a stop in between leaves a blob
# file no record names (content-blob-orphaned, rightly reported: the likely
# cause of 18 t-containerd failures in CI on a "healthy" store). A
# synchronous GC returns only once any GC in flight has finished.
# The retry: an import can fail with "error reading from server: EOF" (a
# known flake: minikube#22309; seen in CI in t-containerd2), possibly with
# the daemon gone and a crash's leftovers on disk, so a failed set-up is
# not continued: the daemon is stopped, ROOT emptied, and the whole set-up
# made once more, told on stderr. 1 when it fails twice.
ctrd_setup() {
    local root=$1 state=$2 fn=$3 try ns
    shift 3
    for try in 1 2; do
        if ctrd_start "$root" "$state" && "$fn" "$@"; then
            for ns in $(ctrd_ctr namespaces ls -q); do ctrd_gc "$ns"; done
            return 0
        fi
        ctrd_stop
        [ "$try" = 1 ] || break
        echo "ctrd_setup: the set-up ($fn) failed; once more, from an empty root" >&2
        rm -rf --one-file-system -- "$root" && mkdir -p "$root" || return 1
    done
    return 1
}

# ctrd_run_rm NS IMAGE ID CMD...: `ctr -n NS run --rm IMAGE ID CMD...`, its
# output (stdout and stderr) and exit status. ctr may lose the output of a
# task that exits at once (its FIFOs are read after the exit: seen in the
# crash trials and in one CI run of t-containerd2): an empty output with
# exit 0 is tried once more.
ctrd_run_rm() {
    local ns=$1 out rc
    shift
    out=$(ctrd_ctr -n "$ns" run --rm "$@" 2>&1); rc=$?
    if [ "$rc" = 0 ] && [ -z "$out" ]; then
        out=$(ctrd_ctr -n "$ns" run --rm "$@" 2>&1); rc=$?
    fi
    [ -z "$out" ] || printf '%s\n' "$out"
    return "$rc"
}

# ctrd_run_keep NS IMAGE ID CMD...: `ctr -n NS run IMAGE ID CMD...` (the
# container is kept), its output and exit status; an output lost as above is
# had by starting the kept container's task once more.
ctrd_run_keep() {
    local ns=$1 id=$3 out rc
    shift
    out=$(ctrd_ctr -n "$ns" run "$@" 2>&1); rc=$?
    if [ "$rc" = 0 ] && [ -z "$out" ]; then
        out=$(ctrd_ctr -n "$ns" tasks start "$id" 2>&1); rc=$?
        ctrd_ctr -n "$ns" tasks delete "$id" >/dev/null 2>&1
    fi
    [ -z "$out" ] || printf '%s\n' "$out"
    return "$rc"
}

# Wait until containerd's background GC ran: a throwaway lease removed with
# --sync waits for a GC pass.
ctrd_gc() {
    local ns=${1:-default} id
    id=gc-$$-$RANDOM
    ctrd_ctr -n "$ns" leases create --id "$id" >/dev/null 2>&1 || return 0
    ctrd_ctr -n "$ns" leases rm --sync "$id" >/dev/null 2>&1 || true
}
