#!/usr/bin/env bash
# The reaper on a real dockerd store with garbage of every reapable class and
# two errors injected: the dry run changes nothing; --apply removes exactly
# the planned paths, frees exactly the reported bytes, leaves the errors; and
# a real dockerd then accepts the store exactly as it accepted it before.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
. "$(dirname "$0")/../lib/reap_inject.sh"
cases_init
reap_garbage_template

A=$TAP_TMP/A
reap_copy "$G" "$A"
S=$A
J=$TAP_TMP/journal.jsonl

# --- what the report says before -------------------------------------------
fsck_json "$A" --min-age 0
is "$FSCK_RC" 4 "report before: garbage and errors found (exit 4)"
errors_before=$(jq_py "$A.json" 'sorted(f["check"]+"="+f["object"] for f in d["findings"] if f["severity"]=="error")')
reclaimable=$(jq_py "$A.json" 'd["summary"]["reclaimable_bytes"]')
is "$errors_before" "$(printf '%s\n' "image-digest-mismatch=$(injected error_digest)" "image-layer-missing=$(injected error_image)" | sort)" \
    "the two injected errors are reported"

# --- dry run: nothing changes ----------------------------------------------
h0=$(reap_hash full "$A")
"$OVL2FSCK" --root "$A" --reap --min-age 0 >"$TAP_TMP/plan.txt" 2>&1
is "$?" 4 "--reap (text) exits 4: something to do"
RJ=$TAP_TMP/plan.json reap_json --root "$A" --reap --min-age 0
is "$RJ_RC" 4 "--reap --json exits 4"
is "$(reap_hash full "$A")" "$h0" "dry run: tree hash (names, modes, owners, sizes, contents, xattrs, mtimes, ctimes, inodes) identical"
ok "dry run: no lock file, no trash left" test ! -e "$A/.ovl2fsck.lock" -a ! -e "$A/.ovl2fsck-trash"
P=$TAP_TMP/plan.json
checks=$(jq_py "$P" 'sorted(set(i["check"] for i in d["items"]))')
is "$checks" "$(printf '%s\n' container-mount-missing imagedb-tmp-leftover layer-unreferenced layerdb-removing-leftover \
    layerdb-tmp-leftover mount-container-missing overlay-dir-orphaned overlay-link-broken | sort)" \
    "the plan covers every reapable class"
objects=$(jq_py "$P" 'sorted(i["object"] for i in d["items"])')
missing=
for o in $(injected orphan) $(injected broken_link) $(injected unreferenced) $(injected tmp) $(injected mount) $(injected container); do
    grep -qx -- "$o" <<<"$objects" || missing="$missing $o"
done
is "$missing" "" "every injected object is in the plan"
is "$(jq_py "$P" '[i["object"] for i in d["items"] if i["check"]=="layer-unreferenced"][0]')" \
    "$(injected unreferenced | tail -n 1)" "the unreferenced tail is planned top down (child layer first)"
is "$(jq_py "$P" 'd["summary"]["planned_bytes"]')" "$reclaimable" "planned bytes = the report's reclaimable bytes ($reclaimable)"
is "$(jq_py "$P" 'd["summary"]["errors_left"]')" 2 "the plan leaves the 2 errors"
items=$(jq_py "$P" 'd["summary"]["items"]')
like "$(cat "$TAP_TMP/plan.txt")" "Dry run: nothing was changed" "the text plan says it is a dry run"

# --- apply ---------------------------------------------------------------
reap_tree result "$A" | cut -d' ' -f1 >"$TAP_TMP/before.paths"
RJ=$TAP_TMP/apply.json reap_json --root "$A" --reap --apply --min-age 0 --journal "$J"
is "$RJ_RC" 5 "--apply exits 5 (1: every planned item done, 4: errors remain)"
R=$TAP_TMP/apply.json
is "$(jq_py "$R" '(d["summary"]["items"], d["summary"]["done"], d["summary"]["failed"], d["summary"]["skipped"])')" \
    "$(printf '%s\n' "$items" "$items" 0 0)" "all $items planned items done, none failed or skipped"
freed=$(jq_py "$R" 'd["summary"]["freed_bytes"]')
is "$freed" "$reclaimable" "freed bytes measured while deleting ($freed) = reclaimable bytes reported ($reclaimable)"
reap_tree result "$A" | cut -d' ' -f1 >"$TAP_TMP/after.paths"
diff=$(python3 - "$TAP_TMP/before.paths" "$TAP_TMP/after.paths" "$R" <<'PY'
import json, sys
before = set(open(sys.argv[1]).read().split())
after = set(open(sys.argv[2]).read().split())
d = json.load(open(sys.argv[3]))
planned = [s["path"] for i in d["items"] for s in i["steps"] if s["action"] in ("remove", "rename-aside")]
want = {p for p in before if any(p == q or p.startswith(q + "/") for q in planned)}
removed = before - after
print("removed-not-planned:", sorted(removed - want))
print("planned-not-removed:", sorted(want - removed))
print("new:", sorted(after - before))
PY
)
is "$diff" "$(printf '%s\n' 'removed-not-planned: []' 'planned-not-removed: []' 'new: []')" \
    "exactly the planned paths (and what is inside them) were removed, nothing was added"
note "removed $(($(wc -l <"$TAP_TMP/before.paths") - $(wc -l <"$TAP_TMP/after.paths"))) paths in $items items, freed $freed bytes"
ok "no lock file, no trash left" test ! -e "$A/.ovl2fsck.lock" -a ! -e "$A/.ovl2fsck-trash"
jr=$(python3 - "$J" <<'PY'
import json, sys
started = ended = bad = 0
for line in open(sys.argv[1]):
    j = json.loads(line)
    if not all(k in j for k in ("time", "check", "object", "path", "bytes", "action", "result", "error")):
        bad += 1
    if j["result"] == "started": started += 1
    elif j["result"] == "ok": ended += 1
    else: bad += 1
print(started, ended, bad)
PY
)
read -r js je jb <<<"$jr"
ok "journal: every one of the $js actions has a 'started' and an 'ok' line, all fields present" \
    test "$js" = "$je" -a "$jb" = 0 -a "$js" -gt 0

# --- rescan ------------------------------------------------------------------
fsck_json "$A" --min-age 0
is "$(jq_py "$A.json" 'd["summary"]["garbage"]')" 0 "rescan: no garbage left"
is "$(jq_py "$A.json" 'sorted(f["check"]+"="+f["object"] for f in d["findings"] if f["severity"]=="error")')" \
    "$errors_before" "rescan: the errors are untouched"
RJ=$TAP_TMP/again.json reap_json --root "$A" --reap --apply --min-age 0 --journal "$J"
is "$RJ_RC" 4 "a second --apply has nothing to do (exit 4: only errors left)"

# --- a real dockerd accepts the store as it accepted it before ---------------
B=$TAP_TMP/B
reap_copy "$G" "$B"
reap_probe_dockerd "$B" "$TAP_TMP/probe.before"
reap_probe_dockerd "$A" "$TAP_TMP/probe.after"
is "$(grep -v '^bk-' "$TAP_TMP/probe.after")" "$(grep -v '^bk-' "$TAP_TMP/probe.before")" \
    "dockerd lists the same images, runs the same, starts the same containers as before the reap" ||
    diag "before: $(cat "$TAP_TMP/probe.before.why")" "after: $(cat "$TAP_TMP/probe.after.why")"
nimg=$(grep -c '^image ' "$TAP_TMP/probe.after")
is "$(grep -c '^save .* ok$' "$TAP_TMP/probe.after")" "$nimg" "every one of the $nimg images docker-saves without error"
ok "runnable images run ($(grep -c '^run .* ok$' "$TAP_TMP/probe.after") of $nimg)" grep -q '^run .* ok$' "$TAP_TMP/probe.after"
ok "existing containers start ($(grep -c 'start ok$' "$TAP_TMP/probe.after"))" grep -q 'start ok$' "$TAP_TMP/probe.after"
cached=$(sed -n 's/^bk-cached //p' "$TAP_TMP/probe.after")
ok "a BuildKit rebuild of the same Dockerfile hits its cache ($cached steps CACHED)" test "$cached" -ge 3
is "$(sed -n 's/^bk-image //p' "$TAP_TMP/probe.after")" "$(sed -n 's/^bk-image //p' "$TAP_TMP/probe.before")" \
    "... and gives the same image id as before the reap"
done_testing
