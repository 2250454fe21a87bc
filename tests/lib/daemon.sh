# tests/lib/daemon.sh — what the private-daemon libs (dockerd.sh, containerd.sh,
# docker-versions.sh) share: unmounting below their own dirs and stopping their
# daemon when the calling script exits.
#
#   daemon_umount_under DIR...   # unmount everything at or below each DIR, deepest first
#   daemon_on_exit CMD           # run CMD at exit: tap.sh's at_exit when loaded,
#                                # else an EXIT trap that keeps the caller's own trap
#   daemon_stop_pid PID NAME     # SIGTERM, wait up to 30 s, then SIGKILL (says so), reap
#   daemon_err_line TEXT         # a docker CLI error as one comparable line (see below)
#   daemon_ns_pin PID NSVAR FDVAR  # pin PID's mount namespace if it is not ours (see below)
#   daemon_ns_pids NS            # the pids whose mount namespace is NS
#   daemon_ns_unpin FD           # close the pin
#
# A daemon run in its own mount namespace (unshare -m) is stopped by killing
# every process left in that namespace. Its name (mnt:[inode]) is only safe to
# match while the namespace lives: once its last process is gone the kernel
# frees it and gives the inode number to the next namespace made, maybe by a
# test running side by side, whose daemon would then be killed (make
# test-versions lost a dockerd mid-probe to a kill -9 trial next to it). An
# open fd on /proc/PID/ns/mnt keeps the namespace, and so its number, ours.

daemon_umount_under() {
    local d m
    for d in "$@"; do
        [ -n "$d" ] && [ -d "$d" ] || continue
        d=$(cd "$d" && pwd -P)
        # /proc/self/mountinfo field 5 is the mount point (octal-escaped).
        while read -r m; do
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        done < <(awk -v p="$d" '{ m = $5; gsub(/\\040/, " ", m)
                  if (m == p || index(m, p "/") == 1) print m }' /proc/self/mountinfo | sort -r)
    done
}

daemon_on_exit() {
    if declare -F at_exit >/dev/null; then
        at_exit "$1"
    else
        # keep an EXIT trap the caller already has: run it after ours
        local prev=
        [ -n "$(trap -p EXIT)" ] && eval "set -- \"\$1\" $(trap -p EXIT)" && prev=$4
        trap "$1${prev:+; $prev}" EXIT
    fi
}

daemon_stop_pid() {
    local pid=$1 name=$2 i
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$name: $pid still alive after 30s, killing" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

daemon_ns_pin() {
    local pid=$1 fd ns
    exec {fd}<"/proc/$pid/ns/mnt" || return 1
    ns=$(readlink "/proc/self/fd/$fd" 2>/dev/null)
    if [ -z "$ns" ] || [ "$ns" = "$(readlink /proc/self/ns/mnt)" ]; then
        eval "exec $fd<&-"
        return 1
    fi
    printf -v "$2" %s "$ns"
    printf -v "$3" %s "$fd"
}

daemon_ns_pids() {
    local p
    [ -n "$1" ] && [ "$1" != "$(readlink /proc/self/ns/mnt)" ] || return 0
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
    done
    return 0
}

daemon_ns_unpin() {
    [ -z "$1" ] || eval "exec $1<&-"
}

# daemon_err_line TEXT: the first line of a docker CLI's error output, 64-hex
# ids as <id>, for comparing two runs. `docker run` of a container that fails
# to start sometimes prints 'error waiting for container: context canceled'
# (its wait was cancelled) before the daemon's error: that line is noise
# (a CI run of t-repair-real saw it once of 15 images, same exit status).
daemon_err_line() {
    grep -v 'error waiting for container: context canceled' <<<"$1" | head -n 1 | sed -E 's/[0-9a-f]{64}/<id>/g'
}
