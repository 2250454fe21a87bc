#!/usr/bin/env bash
# t-live.t — ovl2fsck on a store a real dockerd is changing under it.
#
# A private dockerd (tests/lib/dockerd.sh, /usr/bin/docker) loads generated
# images (tests/tools/mkimage.py), builds classic and BuildKit (--network
# none) images, creates, runs and removes containers and removes images in
# a loop for LIVE_SECONDS (default 60). Meanwhile ovl2fsck --report --json
# runs again and again on the live root, alternately with the default
# --min-age (24h) and with --min-age 0:
#   - no run crashes (exit < 128) and each prints one JSON object;
#   - default min-age: zero error and zero garbage findings (what is in
#     flight is young: skipped, only counted), exit 0, dockerd_running true;
#   - --min-age 0: whatever shows is the transient state of the moment; the
#     test counts it per check and prints it (for the record, not asserted).
# Then dockerd is stopped cleanly and the final store must be clean.
. "$(dirname "$0")/../lib/tap.sh"
. "$TAP_TOP/tests/lib/dockerd.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (dockerd)"
[ -x /usr/bin/docker ] || skip_all "no /usr/bin/docker (apt-get install docker.io)"
command -v dockerd >/dev/null || skip_all "no dockerd (apt-get install docker.io)"
[ -x /bin/busybox ] || skip_all "no /bin/busybox (apt-get install busybox-static)"
command -v python3 >/dev/null || skip_all "no python3"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || skip_all "no overlay filesystem"
[ -x "$OVL2FSCK" ] || bail_out "no $OVL2FSCK: run make first"
LIVE_SECONDS=${LIVE_SECONDS:-60}

tap_tmpdir
DATA=$TAP_TMP/data
EXEC=$(mktemp -d /tmp/o2l.XXXXXX)
at_exit 'rm -rf --one-file-system "$EXEC"'
DOCKERD_LOG_FILE=$TAP_TMP/dockerd.log
export DOCKERD_LOG_FILE
dockerd_start "$DATA" "$EXEC/e" || bail_out "dockerd did not start"
D() { dockerd_docker "$@"; }

# ---- a starting store -----------------------------------------------------
W=$TAP_TMP/work
mkdir -p "$W/bb/bin" "$W/ctx"
cp /bin/busybox "$W/bb/bin/busybox"
for c in sh ls cat echo true sleep touch mkdir rm; do ln -s busybox "$W/bb/bin/$c"; done
tar -C "$W/bb" -cf "$W/bb.tar" .
D import "$W/bb.tar" busybox:latest >/dev/null || bail_out "docker import failed"
python3 "$TAP_TOP/tests/tools/mkimage.py" "$W/imgs.tar" --prefix o2l >/dev/null || bail_out "mkimage.py failed"
D load -i "$W/imgs.tar" >/dev/null || bail_out "docker load failed"
pass "dockerd up with a base image and generated images"

# ---- the churn --------------------------------------------------------------
churn() {
    local i=0 end=$((SECONDS + LIVE_SECONDS))
    while [ "$SECONDS" -lt "$end" ]; do
        i=$((i + 1))
        D load -i "$W/imgs.tar" >/dev/null 2>&1
        printf 'FROM busybox:latest\nRUN echo classic %s > /f\nRUN mkdir -p /d && echo %s > /d/x\n' "$i" "$i" >"$W/ctx/Dockerfile"
        DOCKER_BUILDKIT=0 D build -q -t "cl:$i" "$W/ctx" >/dev/null 2>&1
        printf 'FROM busybox:latest\nRUN echo buildkit %s > /b\n' "$i" >"$W/ctx/Dockerfile"
        DOCKER_BUILDKIT=1 D build -q --network none -t "bk:$i" "$W/ctx" >/dev/null 2>&1
        D create --name "c$i" "cl:$i" true >/dev/null 2>&1
        D run --rm --network none "bk:$i" cat /b >/dev/null 2>&1
        D run --name "r$i" --network none busybox:latest sh -c "echo $i > /rw" >/dev/null 2>&1
        [ "$i" -gt 1 ] && D rm "c$((i - 1))" "r$((i - 1))" >/dev/null 2>&1
        [ "$i" -gt 2 ] && D rmi "cl:$((i - 2))" "bk:$((i - 2))" >/dev/null 2>&1
        [ $((i % 3)) = 0 ] && D rmi o2l/layers-a:latest o2l/layers-b:latest o2l/layers-b:alt >/dev/null 2>&1
        [ $((i % 4)) = 0 ] && D builder prune -f >/dev/null 2>&1
        echo "$i" >"$TAP_TMP/churn.iterations"
    done
}
churn &
CHURN=$!
at_exit 'kill $CHURN 2>/dev/null'

runs=0 runs_default=0 runs_zero=0 crashes=0 bad_json=0
default_bad=()
: >"$TAP_TMP/zero.findings"
while kill -0 "$CHURN" 2>/dev/null; do
    for age in default 0; do
        args=(--root "$DATA" --json)
        [ "$age" = 0 ] && args+=(--min-age 0)
        "$OVL2FSCK" "${args[@]}" >"$TAP_TMP/run.json" 2>"$TAP_TMP/run.err"
        rc=$?
        runs=$((runs + 1))
        [ "$rc" -ge 128 ] && { crashes=$((crashes + 1)); diag "run $runs crashed: exit $rc: $(head -c 300 "$TAP_TMP/run.err")"; }
        res=$(python3 - "$TAP_TMP/run.json" "$age" "$rc" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("BADJSON %s" % e); sys.exit()
s = d["summary"]
if sys.argv[2] == "0":
    for f in d["findings"]:
        print("F %s %s" % (f["severity"], f["check"]))
    print("S young=%d" % s["young_skipped"])
else:
    bad = [f for f in d["findings"] if f["severity"] in ("error", "garbage")]
    ok = not bad and sys.argv[3] == "0" and d["dockerd_running"]
    print("D %s exit=%s running=%s errors=%d garbage=%d young=%d %s" % (
        "ok" if ok else "BAD", sys.argv[3], d["dockerd_running"], s["errors"], s["garbage"],
        s["young_skipped"], "; ".join("%s %s %s" % (f["check"], f["object"], f["detail"]) for f in bad[:3])))
EOF
)
        case $res in
            BADJSON*) bad_json=$((bad_json + 1)); diag "run $runs: $res" ;;
        esac
        if [ "$age" = default ]; then
            runs_default=$((runs_default + 1))
            case $res in "D ok"*) ;; *) default_bad+=("$res") ;; esac
            echo "$res" >>"$TAP_TMP/default.results"
        else
            runs_zero=$((runs_zero + 1))
            printf '%s\n' "$res" >>"$TAP_TMP/zero.findings"
        fi
    done
    sleep 0.2
done
wait "$CHURN"
note "churn: $(cat "$TAP_TMP/churn.iterations" 2>/dev/null || echo 0) iterations in ${LIVE_SECONDS}s; ovl2fsck ran $runs times ($runs_default default, $runs_zero --min-age 0)"
ok "ovl2fsck ran at least 20 times during the churn" test "$runs" -ge 20
is "$crashes" 0 "no run crashed"
is "$bad_json" 0 "every run printed one JSON object"
is "${#default_bad[@]}" 0 "default --min-age: no error or garbage finding in any of $runs_default runs, exit 0, dockerd seen running"
for r in "${default_bad[@]:0:5}"; do diag "  $r"; done
note "default --min-age: young skipped per run: $(grep -o 'young=[0-9]*' "$TAP_TMP/default.results" | cut -d= -f2 | sort -n | uniq -c | awk '{printf "%s runs: %s; ", $1, $2}')"
note "--min-age 0 during the churn (transient states; findings summed over $runs_zero runs, runs with any):"
while read -r n sev check; do
    note "    $check ($sev): $n findings"
done < <(grep '^F ' "$TAP_TMP/zero.findings" | sort | uniq -c | awk '{print $1, $3, $4}')
note "    runs with at least one finding: $(awk '/^F /{f=1} /^S /{if (f) n++; f=0} END {print n+0}' "$TAP_TMP/zero.findings") of $runs_zero"

# ---- after a clean stop -----------------------------------------------------
dockerd_stop
"$OVL2FSCK" --root "$DATA" --min-age 0 --json >"$TAP_TMP/final.json" 2>"$TAP_TMP/final.err"
rc=$?
final=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("; ".join("%s %s %s" % (f["check"], f["object"], f["detail"]) for f in d["findings"] if f["severity"] != "warning"))' "$TAP_TMP/final.json" 2>&1)
is "$rc" 0 "after dockerd stopped cleanly: exit 0 with --min-age 0"
is "$final" "" "after dockerd stopped cleanly: no error or garbage finding"
done_testing
