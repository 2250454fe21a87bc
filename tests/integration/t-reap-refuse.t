#!/usr/bin/env bash
# Refusals: a live dockerd (for --apply and --restore), a lock held by
# another process, a mounted dir. Each exits 8 and changes nothing. A
# mount inside a container dir (not under overlay2/) only skips that item.
# Unknown --include names are usage errors (16).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
. "$(dirname "$0")/../lib/reap_inject.sh"
cases_init
reap_garbage_template
J=$TAP_TMP/journal.jsonl

still_there() {   # every injected orphan dir and the broken link are still there
    local d
    for d in $(injected orphan); do [ -d "$S/overlay2/$d" ] || return 1; done
    [ -L "$S/overlay2/l/$(injected broken_link)" ]
}

# --- usage ---------------------------------------------------------------------
S=$G
"$OVL2FSCK" --root "$G" --reap --apply --include overlay-dir-orphaned >/dev/null 2>"$TAP_TMP/err"
is "$?" 16 "--include of a garbage check: usage error (16)"
like "$(cat "$TAP_TMP/err")" "only image-layer-missing and layer-cache-id-dangling can be included" "... saying what can be"
"$OVL2FSCK" --root "$G" --reap --include tag-dangling >/dev/null 2>&1
is "$?" 16 "--include of another error check: 16"

# --- live dockerd ----------------------------------------------------------------
L=$TAP_TMP/L
QD=$TAP_TMP/quarantine
reap_copy "$G" "$L"
S=$L
"$OVL2FSCK" --root "$L" --reap --apply --min-age 0 --quarantine "$QD" --journal "$J" >/dev/null 2>&1
is "$?" 5 "a quarantine of the garbage (to restore while dockerd runs)"
ex=$(mktemp -d /tmp/o2e.XXXXXX)
at_exit "rm -rf --one-file-system '$ex'"
if dockerd_start "$L" "$ex/e"; then
    hq=$(reap_hash full "$QD")
    lines=$(wc -l <"$J")
    "$OVL2FSCK" --root "$L" --reap --apply --min-age 0 --journal "$J" >/dev/null 2>"$TAP_TMP/err"
    is "$?" 8 "--apply while dockerd runs on the root: exit 8"
    like "$(cat "$TAP_TMP/err")" "refusing to --apply while dockerd is live: dockerd \\(pid [0-9]+\\) is running with data root" \
        "... saying which dockerd"
    "$OVL2FSCK" --root "$L" --reap --apply --min-age 0 --pidfile "$ex/e/pid" --journal "$J" >/dev/null 2>"$TAP_TMP/err"
    is "$?" 8 "... also when named by --pidfile: exit 8"
    "$OVL2FSCK" --restore "$QD" --journal "$J" >/dev/null 2>"$TAP_TMP/err"
    is "$?" 8 "--restore while dockerd runs on the root: exit 8"
    like "$(cat "$TAP_TMP/err")" "refusing to restore while dockerd is live" "... saying why"
    is "$(reap_hash full "$QD")" "$hq" "... the quarantine is untouched"
    is "$(wc -l <"$J")" "$lines" "... and nothing was journaled (no action taken)"
    "$OVL2FSCK" --root "$L" --reap --min-age 0 >/dev/null 2>&1
    ok "a dry run is allowed while dockerd runs (exit $?)" test $? -ne 8
    dockerd_stop
else
    skip 9 "dockerd did not start"
fi
"$OVL2FSCK" --restore "$QD" --journal "$J" >/dev/null 2>&1
is "$?" 0 "once dockerd stopped, --restore works"
ok "... and the garbage is back" still_there

# --- a lock held by another process --------------------------------------------------
K=$TAP_TMP/K
reap_copy "$G" "$K"
S=$K
# flock --no-fork: the shell and then sleep keep flock's pid, so killing it ends the hold
flock --no-fork -n "$K/.ovl2fsck.lock" \
    -c "echo 'pid 4242 started 2024-01-01T00:00:00Z' >'$K/.ovl2fsck.lock'; exec sleep 60" >/dev/null 2>&1 &
holder=$!
at_exit "kill $holder 2>/dev/null"
for ((i = 0; i < 50; i++)); do [ -s "$K/.ovl2fsck.lock" ] && break; sleep 0.1; done
h=$(reap_hash full "$K")
"$OVL2FSCK" --root "$K" --reap --apply --min-age 0 --journal "$J" >/dev/null 2>"$TAP_TMP/err"
is "$?" 8 "--apply while another process holds the lock: exit 8"
like "$(cat "$TAP_TMP/err")" "is locked by pid $holder \\(sleep\\): pid 4242 started 2024-01-01T00:00:00Z" \
    "... naming the holder (from /proc/locks) and what it wrote into the lock file"
"$OVL2FSCK" --root "$K" --reap --apply --min-age 0 --quarantine "$TAP_TMP/q2" --journal "$J" >/dev/null 2>&1
is "$?" 8 "... also with --quarantine"
is "$(reap_hash full "$K")" "$h" "... and nothing changed"
kill "$holder"; wait "$holder" 2>/dev/null
rm -f "$K/.ovl2fsck.lock"

# --- a mounted dir -------------------------------------------------------------------
M=$TAP_TMP/M
reap_copy "$G" "$M"
S=$M
orphan=$(injected orphan | head -n 1)
mkdir -p "$TAP_TMP/bindsrc" && echo canary >"$TAP_TMP/bindsrc/canary"
if mount --bind "$TAP_TMP/bindsrc" "$M/overlay2/$orphan"; then
    at_exit "umount '$M/overlay2/$orphan' 2>/dev/null"
    h=$(reap_hash full "$M")
    "$OVL2FSCK" --root "$M" --reap --apply --min-age 0 --journal "$J" >/dev/null 2>"$TAP_TMP/err"
    is "$?" 8 "--apply with a dir of overlay2/ mounted: exit 8"
    like "$(cat "$TAP_TMP/err")" "overlay2/$orphan is mounted" "... naming the mount"
    is "$(reap_hash full "$M")" "$h" "... and nothing changed"
    umount "$M/overlay2/$orphan"
    ok "the bind-mount source is intact" grep -qx canary "$TAP_TMP/bindsrc/canary"
else
    skip 4 "cannot bind-mount"
fi
# a mount inside containers/<id> (like a container's shm): only that item is skipped
cid=$(injected container)
mkdir -p "$M/containers/$cid/mounts/shm"
if mount -t tmpfs o2t-shm "$M/containers/$cid/mounts/shm"; then
    at_exit "umount '$M/containers/$cid/mounts/shm' 2>/dev/null"
    echo keep >"$M/containers/$cid/mounts/shm/f"
    RJ=$TAP_TMP/m.json reap_json --root "$M" --reap --apply --min-age 0 --journal "$J"
    is "$RJ_RC" 4 "--apply with a mount inside containers/<id>: exit 4 (something remains)"
    is "$(jq_py "$TAP_TMP/m.json" '[i["result"] + ": " + i["error"] for i in d["items"] if i["object"]=="'"$cid"'"][0]')" \
        "skipped: containers/$cid is mounted" "... that item is skipped as mounted"
    is "$(jq_py "$TAP_TMP/m.json" 'd["summary"]["done"] + 1 == d["summary"]["items"]')" True "... every other item done"
    ok "... the mounted file system is intact" grep -qx keep "$M/containers/$cid/mounts/shm/f"
    umount "$M/containers/$cid/mounts/shm"
else
    skip 4 "cannot mount a tmpfs"
fi
done_testing
