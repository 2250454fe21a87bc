#!/usr/bin/env bash
# --quarantine moves instead of deleting; --restore puts everything back
# exactly (the same inodes: content, modes, owners, xattrs such as
# trusted.overlay.opaque, whiteout devices, hard links, mtimes) and refuses
# to overwrite what exists now; repositories.json tags removed by
# --include image-layer-missing come back byte for byte; dockerd then sees
# the store as before. --purge-quarantine deletes only what is old enough.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
. "$(dirname "$0")/../lib/reap_inject.sh"
cases_init
reap_garbage_template
J=$TAP_TMP/journal.jsonl
Q=$TAP_TMP/Q
QD=$TAP_TMP/quarantine
reap_copy "$G" "$Q"
tree0=$(reap_tree restore "$Q")
tags0=$(sha256sum <"$Q/$IMG/repositories.json")

# --- a quarantine on another file system is refused ----------------------------
mkdir -p "$TAP_TMP/otherfs"
if mount -t tmpfs o2t-other "$TAP_TMP/otherfs" 2>/dev/null; then
    at_exit 'umount "$TAP_TMP/otherfs" 2>/dev/null'
    h=$(reap_hash full "$Q")
    "$OVL2FSCK" --root "$Q" --reap --apply --min-age 0 --quarantine "$TAP_TMP/otherfs/q" --journal "$J" \
        >/dev/null 2>"$TAP_TMP/err"
    is "$?" 8 "--quarantine on another file system: exit 8"
    like "$(cat "$TAP_TMP/err")" "another file system" "... saying why"
    is "$(reap_hash full "$Q")" "$h" "... and nothing changed"
else
    skip 3 "cannot mount a tmpfs"
fi

# --- quarantine --------------------------------------------------------------
RJ=$TAP_TMP/q.json reap_json --root "$Q" --reap --apply --min-age 0 --include image-layer-missing \
    --quarantine "$QD" --journal "$J"
is "$RJ_RC" 5 "--apply --quarantine --include image-layer-missing: exit 5 (done; the digest error stays)"
R=$TAP_TMP/q.json
items=$(jq_py "$R" 'd["summary"]["items"]')
is "$(jq_py "$R" '(d["mode"], d["summary"]["done"], d["summary"]["failed"])')" "$(printf '%s\n' quarantine "$items" 0)" \
    "all $items items quarantined"
is "$(jq_py "$R" 'd["summary"]["moved_bytes"] == d["summary"]["planned_bytes"] and d["summary"]["freed_bytes"] == 0')" True \
    "moved bytes = planned bytes ($(jq_py "$R" 'd["summary"]["moved_bytes"]')), nothing deleted"
is "$(jq_py "$R" '[i["tags"] for i in d["items"] if i["check"]=="image-layer-missing"][0]')" "o2t/layers-empty:1" \
    "the broken image's tag is among what was removed"
fsck_json "$Q" --min-age 0
is "$(jq_py "$Q.json" 'sorted(set(f["check"] for f in d["findings"] if f["severity"]!="warning"))')" "image-digest-mismatch" \
    "after the quarantine: no garbage, the broken image gone, the other error left"
run=$(ls "$QD")
ok "one run dir with a manifest" test -f "$QD/$run/manifest.jsonl"
ok "the quarantine holds whiteout devices" test -n "$(find "$QD" -type c | head -n 1)"
ok "... hard links" test -n "$(find "$QD" -type f -links +1 | head -n 1)"
ok "... and an opaque dir (trusted.overlay.opaque)" python3 -c '
import os, sys
for d, ds, fs in os.walk(sys.argv[1]):
    for n in ds:
        if "trusted.overlay.opaque" in os.listxattr(os.path.join(d, n), follow_symlinks=False): sys.exit(0)
sys.exit(1)' "$QD"

# --- restore refuses to overwrite ------------------------------------------
orphan=$(injected orphan | head -n 1)
mkdir "$Q/overlay2/$orphan"
h=$(reap_hash full "$Q")
hq=$(reap_hash full "$QD")
"$OVL2FSCK" --restore "$QD" --journal "$J" >/dev/null 2>"$TAP_TMP/err"
is "$?" 8 "--restore when a destination exists again: exit 8"
like "$(cat "$TAP_TMP/err")" "overlay2/$orphan now exists" "... naming what is in the way"
is "$(reap_hash full "$Q")$(reap_hash full "$QD")" "$h$hq" "... and nothing changed, neither in the root nor in the quarantine"
rmdir "$Q/overlay2/$orphan"

# --- restore -------------------------------------------------------------------
"$OVL2FSCK" --restore "$QD" --journal "$J" >"$TAP_TMP/out" 2>&1
is "$?" 0 "--restore: exit 0"
like "$(cat "$TAP_TMP/out")" "Restored [0-9]+ objects" "... says what it did"
is "$(reap_tree restore "$Q")" "$tree0" \
    "the tree is back exactly: same inodes, contents, modes, owners, xattrs, devices, link counts, mtimes"
is "$(sha256sum <"$Q/$IMG/repositories.json")" "$tags0" "repositories.json is back byte for byte"
is "$(ls -A "$QD")" "" "the quarantine is empty afterwards"

B=$TAP_TMP/B
reap_copy "$G" "$B"
reap_probe_dockerd "$B" "$TAP_TMP/probe.before"
reap_probe_dockerd "$Q" "$TAP_TMP/probe.after"
is "$(grep '^image ' "$TAP_TMP/probe.after")" "$(grep '^image ' "$TAP_TMP/probe.before")" \
    "dockerd lists the same $(grep -c '^image ' "$TAP_TMP/probe.after") images as on the untouched store"
is "$(cat "$TAP_TMP/probe.after")" "$(cat "$TAP_TMP/probe.before")" "... and saves, runs, starts and builds the same"

# --- purge ---------------------------------------------------------------------
Q2=$TAP_TMP/Q2
reap_copy "$G" "$Q2"
"$OVL2FSCK" --root "$Q2" --reap --apply --min-age 0 --quarantine "$QD" --journal "$J" >/dev/null 2>&1
is "$?" 5 "a second quarantine run"
"$OVL2FSCK" --purge-quarantine "$QD" --older-than 7d --journal "$J" >"$TAP_TMP/out" 2>&1
is "$?" 0 "--purge-quarantine --older-than 7d: exit 0"
like "$(cat "$TAP_TMP/out")" "Purged 0 quarantine runs.*1 kept" "... purges nothing younger than 7 days"
ok "... and the run is still there" test -f "$QD/$(ls "$QD")/manifest.jsonl"
"$OVL2FSCK" --purge-quarantine "$QD" --older-than 0 --journal "$J" >"$TAP_TMP/out" 2>&1
is "$?" 0 "--purge-quarantine --older-than 0: exit 0"
like "$(cat "$TAP_TMP/out")" "Purged 1 quarantine run" "... purges the run"
is "$(ls -A "$QD")" "" "... and the quarantine is empty"
"$OVL2FSCK" --restore "$QD" --journal "$J" >/dev/null 2>&1
is "$?" 8 "--restore of an empty quarantine: exit 8"
done_testing
