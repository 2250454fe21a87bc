#!/usr/bin/env bash
# Crash safety: kill -9 the reaper right after its k-th journaled action, for
# every k (test hook OVL2FSCK_TEST_CRASH_AFTER). After each crash the store
# holds no error the injection did not put there (only garbage the next run
# recognises); a rerun finishes the job and gives exactly the tree an
# uninterrupted run gives; dockerd accepts it. SIGTERM mid-item: the item is
# finished, exit 32, and a rerun completes.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
. "$(dirname "$0")/../lib/reap_inject.sh"
cases_init
reap_garbage_template

errors_of() { jq_py "$1" 'sorted(f["check"]+"="+f["object"] for f in d["findings"] if f["severity"]=="error")'; }

# --- the uninterrupted run ---------------------------------------------------
U=$TAP_TMP/U
reap_copy "$G" "$U"
fsck_json "$U" --min-age 0
errors_before=$(errors_of "$U.json")
"$OVL2FSCK" --root "$U" --reap --apply --min-age 0 --journal "$TAP_TMP/U.jsonl" >/dev/null 2>&1
is "$?" 5 "uninterrupted --apply: exit 5"
want=$(reap_hash result "$U")
N=$(grep -c '"result":"started"' "$TAP_TMP/U.jsonl")
ok "the uninterrupted run took $N journaled actions" test "$N" -gt 20

# --- kill -9 after action k, for every k --------------------------------------
# Each case keeps its copy; the checks run at the end in one process.
# The N copies live on tmpfs when there is one: the reaper fsyncs every dir
# it renames in or out of, which on a disk makes this loop I/O-bound. The
# uninterrupted run above, the SIGTERM case below and t-reap-real.t run on disk.
JD=$(mktemp -d /dev/shm/o2j.XXXXXX 2>/dev/null || mktemp -d "$TAP_TMP/o2j.XXXXXX")
at_exit 'rm -rf --one-file-system "$JD"'
for ((k = 1; k <= N; k++)); do
    C=$JD/C$k
    reap_copy "$G" "$C"
    { OVL2FSCK_TEST_CRASH_AFTER=$k "$OVL2FSCK" --root "$C" --reap --apply --min-age 0 \
        --journal "$JD/C.jsonl" >/dev/null 2>&1; } 2>/dev/null
    crash_rc=$?
    "$OVL2FSCK" --root "$C" --json --min-age 0 >"$C.mid.json" 2>/dev/null
    "$OVL2FSCK" --root "$C" --reap --apply --min-age 0 --json --journal "$JD/C.jsonl" >"$C.rerun.json" 2>&1
    echo "$k $crash_rc $?" >>"$TAP_TMP/crash.rc"
done
roots=()
for ((k = 1; k <= N; k++)); do roots+=("$JD/C$k"); done
reap_tree result "${roots[@]}" >"$TAP_TMP/crash.hash"
python3 - "$TAP_TMP" "$want" "$errors_before" "$JD" <<'PY' >"$TAP_TMP/crash.verdict"
import json, sys
tmp, want, errors_before, jd = sys.argv[1:5]
hashes = dict(l.split() for l in open(tmp + "/crash.hash"))
trash = 0
for line in open(tmp + "/crash.rc"):
    k, crash_rc, rerun_rc = line.split()
    c = "%s/C%s" % (jd, k)
    mid = json.load(open(c + ".mid.json"))
    errs = "\n".join(sorted(f["check"] + "=" + f["object"] for f in mid["findings"] if f["severity"] == "error"))
    rerun = json.load(open(c + ".rerun.json"))
    trash += rerun["summary"]["trash_finished"]
    why = []
    if crash_rc != "137": why.append("crash exit %s" % crash_rc)
    if errs != errors_before: why.append("errors in between: " + errs.replace("\n", " "))
    if rerun_rc not in ("4", "5"): why.append("rerun exit %s" % rerun_rc)
    if rerun["summary"]["failed"] or rerun["summary"]["skipped"]: why.append("rerun had failed/skipped items")
    if hashes[c] != want: why.append("tree differs from the uninterrupted run")
    print(k, "ok" if not why else "; ".join(why))
print("trash", trash)
PY
while read -r k verdict; do
    [ "$k" = trash ] && { finished_trash=$verdict; continue; }
    if [ "$verdict" = ok ]; then
        pass "k=$k: killed -9; in between only garbage and the injected errors; the rerun gives the uninterrupted tree"
    else
        fail "k=$k: killed -9, consistent in between, the rerun gives the uninterrupted tree"
        diag "$verdict"
    fi
done <"$TAP_TMP/crash.verdict"
ok "some reruns finished trash an interrupted run left ($finished_trash entries)" test "${finished_trash:-0}" -gt 0
M=$TAP_TMP/M
cp -a "$JD/C$((N / 2))" "$M"   # dockerd runs it from disk

# --- SIGTERM mid-item ---------------------------------------------------------
C=$TAP_TMP/T
reap_copy "$G" "$C"
# action 5 is inside the mount-container-missing item (its third path)
OVL2FSCK_TEST_TERM_AFTER=5 "$OVL2FSCK" --root "$C" --reap --apply --min-age 0 --json \
    --journal "$TAP_TMP/C.jsonl" >"$C.term" 2>/dev/null
is "$?" 32 "SIGTERM during --apply: exit 32"
is "$(jq_py "$C.term" '[(i["check"], i["result"]) for i in d["items"][:3]]')" \
    "$(printf '%s\n' "('container-mount-missing', 'done')" "('mount-container-missing', 'done')" "('layer-unreferenced', 'not-reached')")" \
    "the item being worked on was finished, the rest not started"
fsck_json "$C" --min-age 0
is "$(errors_of "$C.json")" "$errors_before" "after SIGTERM the store holds only garbage and the injected errors"
"$OVL2FSCK" --root "$C" --reap --apply --min-age 0 --journal "$TAP_TMP/C.jsonl" >/dev/null 2>&1
is "$?" 5 "rerun after SIGTERM: exit 5"
is "$(reap_hash result "$C")" "$want" "... and the uninterrupted tree"

# --- dockerd accepts a crashed-and-finished store ------------------------------
# (its tree equals the uninterrupted run's, which t-reap-real.t probes as well)
reap_probe_dockerd "$M" "$TAP_TMP/probe.M"
nimg=$(grep -c '^image ' "$TAP_TMP/probe.M")
ok "dockerd on the store killed at k=$((N / 2)) and finished lists $nimg images" test "$nimg" -ge 5
is "$(grep -c '^save .* ok$' "$TAP_TMP/probe.M")" "$nimg" "... every one docker-saves"
ok "... runnable images run, containers start" grep -q 'start ok$' "$TAP_TMP/probe.M"
ok "... a BuildKit rebuild hits its cache" test "$(sed -n 's/^bk-cached //p' "$TAP_TMP/probe.M")" -ge 3
done_testing
