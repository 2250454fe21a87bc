# tests/lib/containerd.sh — a private, real containerd for integration tests.
#
#   ctrd_start ROOT STATE           # starts it (own root, state dir, socket; cri off), waits for it
#   ctrd_ctr [-n NS] ARGS...        # ctr against it (default namespace: default)
#   ctrd_stop                       # stop (SIGTERM, then SIGKILL), wait, unmount below ROOT/STATE
#   ctrd_kill9                      # kill -9, wait, unmount (for crash leftovers)
#
# Only ROOT and STATE are written or unmounted; nothing touches
# /var/lib/containerd or another daemon. STATE must be short (socket paths).
# CTRD_BIN may name another containerd (a chroot's, with CTRD_CHROOT set).
# A cleanup hook stops the daemon when the calling script exits (tap.sh's
# at_exit when loaded, else an EXIT trap).

. "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"

CTRD_BIN=${CTRD_BIN:-$(command -v containerd || echo /usr/bin/containerd)}
CTR_BIN=${CTR_BIN:-$(command -v ctr || echo /usr/bin/ctr)}
CTRD_PID=
CTRD_ROOT=
CTRD_STATE=
CTRD_LOG=
_CTRD_HOOKED=0

ctrd_ctr() { "$CTR_BIN" -a "$CTRD_STATE/sock" "$@"; }

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
        if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$CTRD_STATE/sock"; then
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
    cat > "$CTRD_STATE/config.toml" <<EOF
version = 2
root = "$CTRD_ROOT"
state = "$CTRD_STATE/run"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTRD_STATE/sock"
[ttrpc]
  address = "$CTRD_STATE/sock.ttrpc"
[debug]
  address = ""
EOF
    "$CTRD_BIN" --config "$CTRD_STATE/config.toml" >"$CTRD_LOG" 2>&1 &
    CTRD_PID=$!
    local i
    for i in $(seq 1 100); do
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
    daemon_umount_under "$CTRD_STATE" "$CTRD_ROOT"
    CTRD_PID=
}

ctrd_kill9() {
    [ -n "$CTRD_PID" ] || return 0
    kill -9 "$CTRD_PID" 2>/dev/null || true
    _ctrd_wait_gone
    _ctrd_kill_shims
    daemon_umount_under "$CTRD_STATE" "$CTRD_ROOT"
    CTRD_PID=
}

# Wait until containerd's background GC ran: a throwaway lease removed with
# --sync waits for a GC pass.
ctrd_gc() {
    local ns=${1:-default} id
    id=gc-$$-$RANDOM
    ctrd_ctr -n "$ns" leases create --id "$id" >/dev/null 2>&1 || return 0
    ctrd_ctr -n "$ns" leases rm --sync "$id" >/dev/null 2>&1 || true
}
