#!/usr/bin/env bash
# t-hostile-live-probe.t — the liveness probe reads the daemon.json that any
# process named dockerd names with --config-file, and any local user can
# start such a process. Root must never open for reading what such a
# process names unless it is a regular file: a FIFO or a device (a
# watchdog, a tape) has side effects on open. Regression test for the
# O_PATH pinning in src/live.c daemon_json_root(); the positive case (a
# regular daemon.json naming our root) must still mark dockerd as running.
. "$(dirname "$0")/../lib/tap.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (mknod, setpriv)"
command -v strace >/dev/null || skip_all "no strace"
command -v python3 >/dev/null || skip_all "no python3"
[ -x "$OVL2FSCK" ] || bail_out "no $OVL2FSCK: run make first"

tap_tmpdir
chmod 755 "$TAP_TMP"
python3 "$TAP_TOP/tests/hostile/mkcorpus.py" "$TAP_TMP/c" base >/dev/null || bail_out "mkcorpus.py failed"
ROOT=$TAP_TMP/c/base/root
mkfifo "$TAP_TMP/fifo"
mknod "$TAP_TMP/chardev" c 1 3          # /dev/null's numbers: harmless if opened, but visible
printf '{"data-root": "%s"}' "$ROOT" >"$TAP_TMP/daemon.json"
chmod 644 "$TAP_TMP/daemon.json"

# fake dockerds, as an unprivileged user, each naming one config file; other
# tests' strace checks must not see the probe pin these files: no other test
# runs ovl2fsck under strace while they live (tests/lib/tap.sh procs lock)
procs_lock_exclusive
FAKES=()
for cf in fifo chardev daemon.json; do
    setpriv --reuid=65534 --regid=65534 --clear-groups \
        bash -c 'exec -a dockerd python3 -c "import time; time.sleep(120)" --config-file="$1"' _ "$TAP_TMP/$cf" &
    FAKES+=($!)
done
at_exit 'kill "${FAKES[@]}" 2>/dev/null'
for ((i = 0; i < 50; i++)); do
    n=0
    for p in "${FAKES[@]}"; do grep -qa -- '--config-file' "/proc/$p/cmdline" 2>/dev/null && n=$((n + 1)); done
    [ "$n" = 3 ] && break
    sleep 0.1
done
is "$n" 3 "three fake dockerd processes run as nobody"

strace -ff -y -qq -e trace=%file,openat2 -e signal=none -o "$TAP_TMP/st" \
    "$OVL2FSCK" --root "$ROOT" --min-age 0 --json --pidfile /nonexistent >"$TAP_TMP/out.json" 2>"$TAP_TMP/err"
rc=$?
ok "ovl2fsck ran (exit $rc < 8)" test "$rc" -lt 8
opened=$(grep -hE "\"$TAP_TMP/(fifo|chardev)\"" "$TAP_TMP"/st.* | grep -v 'O_PATH')
is "$opened" "" "the FIFO and the device named by fake dockerds were never opened (only pinned with O_PATH)"
like "$(grep -h "\"$TAP_TMP/daemon.json\"" "$TAP_TMP"/st.* | head -n1)" 'O_PATH' \
    "the regular daemon.json was pinned with O_PATH first"
is "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dockerd_running"])' "$TAP_TMP/out.json")" \
    True "a dockerd whose daemon.json names this root still makes it live"
kill "${FAKES[@]}" 2>/dev/null
wait "${FAKES[@]}" 2>/dev/null
FAKES=()
procs_unlock
done_testing
