#!/usr/bin/env bash
# kill -9 of dockerd in the middle of its operations (issue 17, item 5), for
# each Docker version: Debian 12's docker.io 20.10 (tests/lib/dockerd.sh),
# 26.1 (trixie) and 28.5 (sid) (tests/lib/docker-versions.sh).
#
# Per version a small base store (busybox, a classic, a BuildKit and a big
# image, an archive of another big image, two stopped containers), then one
# uninterrupted run of each operation on a copy (its duration), then trials:
# a fresh copy of the stopped base store, the daemon started on it, one of
#   load       docker load of a 2-layer archive (2 x 3000 files + 48 MiB)
#   classic    DOCKER_BUILDKIT=0 docker build (COPY of a context, RUNs)
#   buildkit   DOCKER_BUILDKIT=1 docker build --network none
#   rmi        docker rmi of a big classic and a BuildKit image
#   prune      docker system prune -af
# started, and dockerd, its containerd and the shims killed with SIGKILL
# after a delay spread over the operation's measured duration. Then:
#   1. ovl2fsck --json finds exactly the errors and garbage that an
#      independent walk of the files finds (tests/tools/crashwalk.py);
#   2. --reap --apply exits 1 (0 when there was no garbage), the rescan (and
#      the walk) shows no garbage and no error that was not there before;
#   3. the same daemon starts on the store, saves every image it lists
#      (image ls -a, one docker save), runs every listed image (image ls)
#      with `true`, and the interrupted operation, repeated, succeeds; once
#      it is stopped, ovl2fsck and the walk agree again.
#
# Runs only with OVL2FSCK_CRASH=1 (make test-crash; about 15 minutes):
#   OVL2FSCK_CRASH=1 ./tests/run-all tests/integration/t-crash.t
# OVL2FSCK_CRASH_VERSIONS="20 26 28"  the versions (default all three)
# OVL2FSCK_CRASH_TRIALS=10            trials per version at least (one kill each)
# OVL2FSCK_CRASH_BUDGET=150           seconds of trials per version: more trials
#                                     while there is time (at most 3 x TRIALS)
# OVL2FSCK_CRASH_OPS="load classic buildkit rmi prune"  the operations
# OVL2FSCK_KEEP_TMP=1 keeps the temp dir with the store of every failed trial.
. "$(dirname "$0")/../lib/tap.sh"

[ "${OVL2FSCK_CRASH:-0}" = 1 ] ||
    skip_all "the kill -9 trials of dockerd run only with OVL2FSCK_CRASH=1 (make test-crash, ~15 min)"
[ -x "$OVL2FSCK" ] || bail_out "$OVL2FSCK is not built (run make)"
[ "$(id -u)" = 0 ] || skip_all "not root"
. "$(dirname "$0")/../lib/crash.sh"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
command -v "$PY" >/dev/null || skip_all "no python3"
WALK=$TAP_TOP/tests/tools/crashwalk.py

tap_tmpdir
EXR=$(mktemp -d /tmp/o2c.XXXXXX)     # exec roots: short paths (unix sockets)
# shellcheck disable=SC2016
at_exit 'rm -rf --one-file-system -- "$EXR"'
VERSIONS=${OVL2FSCK_CRASH_VERSIONS:-20 26 28}
MIN=${OVL2FSCK_CRASH_TRIALS:-10}
BUDGET=${OVL2FSCK_CRASH_BUDGET:-150}
read -r -a OPS <<<"${OVL2FSCK_CRASH_OPS:-load classic buildkit rmi prune}"
FRACS=(0.5 0.2 0.8 0.35 0.65 0.1 0.9 0.05)
declare -A DUR

# bad JSON: "severity check object" of every error and garbage finding, sorted.
bad() {
    "$PY" -c '
import json, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    if f["severity"] in ("error", "garbage"):
        print(f["severity"], f["check"], f["object"])' "$1" | sort
}

# summary LINES: "check x N, ..." of "severity check object" lines.
summary() {
    [ -n "$1" ] || { echo "none"; return; }
    awk '{ n[$2]++ } END { for (c in n) printf "%s%s x%d", (s++ ? ", " : ""), c, n[c] }' <<<"$1"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# calibrate V BASE WORK: each operation once, uninterrupted, on one copy (rmi
# and prune last); its duration into DUR[V-op].
calibrate() {
    local v=$1 base=$2 w=$3 S=$TAP_TMP/$1/calib ex=$EXR/$1c op t0 rc bad_ops=
    cp -a --preserve=all "$base" "$S" || return 1
    if ! cr_start "$v" "$S" "$ex"; then
        fail "$v: the daemon starts on a copy of the base store"
        return 1
    fi
    for op in "${OPS[@]}"; do
        t0=$(now)
        cr_op "$op" "$w" >"$S.$op.out" 2>&1; rc=$?
        DUR[$v-$op]=$(elapsed "$t0")
        if [ "$rc" != 0 ]; then
            bad_ops+=" $op"
            diag "$v: $op failed ($rc): $(tail -n 5 "$S.$op.out")"
        fi
    done
    cr_stop
    is "$bad_ops" "" "$v: every operation succeeds uninterrupted ($(for op in "${OPS[@]}"; do printf '%s %ss ' "$op" "${DUR[$v-$op]}"; done))"
    rm -rf --one-file-system "$S" "$ex"
}

# images_ok: every image the daemon lists saves (one docker save of all) and
# every top-level image runs `true`. Prints what failed.
images_ok() {
    local all top i out
    all=$(cr_docker image ls -a -q --no-trunc | sort -u)
    top=$(cr_docker image ls -q --no-trunc | sort -u)
    if [ -n "$all" ]; then
        # shellcheck disable=SC2086
        out=$(cr_docker save $all 2>&1 >/dev/null) || echo "save: $(head -n 2 <<<"$out")"
    fi
    for i in $top; do
        out=$(cr_docker run --rm --network none "$i" true 2>&1) || echo "run ${i:7:12}: $(head -n 2 <<<"$out")"
    done
    echo "images=$(grep -c . <<<"$all") top=$(grep -c . <<<"$top")" >&3
}

# trial V BASE WORK K: one kill, the checks.
trial() {
    local v=$1 base=$2 w=$3 k=$4 op S ex frac delay when rc A B before after left msg t0=$SECONDS
    op=${OPS[$((k % ${#OPS[@]}))]}
    frac=${FRACS[$(((k / ${#OPS[@]}) % ${#FRACS[@]}))]}
    # jitter of +-5 % of the duration, never below 0.02 s
    delay=$(awk -v f="$frac" -v d="${DUR[$v-$op]}" -v j="$((RANDOM % 11 - 5))" \
        'BEGIN { x = (f + j / 100) * d; if (x < 0.02) x = 0.02; printf "%.3f", x }')
    local L="$v $op #$k kill at ${delay}s of ${DUR[$v-$op]}s"
    S=$TAP_TMP/$v/t$k
    ex=$EXR/$v-$k
    cp -a --preserve=all "$base" "$S" || { fail "$L: copy"; return; }
    if ! cr_start "$v" "$S" "$ex"; then
        fail "$L: the daemon starts"
        return
    fi
    rm -f "$S.op.rc"
    local t_op
    t_op=$(now)
    ( cr_op "$op" "$w" >"$S.op.out" 2>&1; r=$?; elapsed "$t_op" >"$S.op.dur"; echo "$r" >"$S.op.rc" ) &
    CR_OP_PID=$!    # cr_kill9 waits for it
    sleep "$delay"
    when=mid-op
    if [ -e "$S.op.rc" ]; then
        # too late: the next kills of this operation aim at its real duration
        when="after it ended in $(cat "$S.op.dur")s ($(cat "$S.op.rc"))"
        DUR[$v-$op]=$(cat "$S.op.dur")
    fi
    cr_kill9
    L+=" ($when)"
    [ "$when" = mid-op ] && MID=$((MID + 1))
    KILLS=$((KILLS + 1))

    # 1. ovl2fsck = the independent walk
    "$OVL2FSCK" --root "$S" --min-age 0 --json --pidfile "$ex/pid" >"$S.json" 2>"$S.err"; rc=$?
    A=$(bad "$S.json")
    B=$("$PY" "$WALK" "$S")
    if [ -n "$A" ]; then like "$rc" '^4$' "$L: ovl2fsck exits 4 (findings)" || diag "$(head -n 5 "$S.err")"
    else is "$rc" 0 "$L: ovl2fsck exits 0 (clean)" || diag "$(head -n 5 "$S.err")"; fi
    if ! is "$A" "$B" "$L: ovl2fsck finds exactly what the independent walk finds"; then
        diag "ovl2fsck only: $(comm -23 <(echo "$A") <(echo "$B"))"
        diag "walk only:     $(comm -13 <(echo "$A") <(echo "$B"))"
        KEEP=1
    fi
    local warn
    warn=$("$PY" -c 'import json,sys; print(" ".join(sorted({f["check"] for f in json.load(open(sys.argv[1]))["findings"] if f["severity"] == "warning"})))' "$S.json")
    msg="found: $(summary "$A")${warn:+; warnings: $warn}"
    before=$(grep '^error ' <<<"$A")

    # 2. the reaper clears the garbage
    "$OVL2FSCK" --root "$S" --reap --apply --min-age 0 --journal "$TAP_TMP/$v.journal" --pidfile "$ex/pid" \
        >"$S.reap" 2>&1; rc=$?
    if grep -q '^garbage ' <<<"$A"; then
        like "$rc" '^(1|5)$' "$L: --reap --apply exits 1 (removed everything it planned)" || { diag "$(tail -n 15 "$S.reap")"; KEEP=1; }
    else
        like "$rc" '^(0|4)$' "$L: --reap --apply exits 0 (no garbage)" || { diag "$(tail -n 15 "$S.reap")"; KEEP=1; }
    fi
    "$OVL2FSCK" --root "$S" --min-age 0 --json --pidfile "$ex/pid" >"$S.json2" 2>/dev/null
    after=$(bad "$S.json2")
    left=$(grep '^garbage ' <<<"$after"; comm -13 <(echo "$before") <(grep '^error ' <<<"$after"))
    left+=$("$PY" "$WALK" "$S" | grep '^garbage ')
    is "$left" "" "$L: rescan and walk: no garbage, no new error" || KEEP=1

    # 3. the daemon restarts happy
    if cr_start "$v" "$S" "$ex"; then
        local imgs
        imgs=$(images_ok 3>"$S.imgs")
        is "$imgs" "" "$L: restarted: every image saves and runs ($(cat "$S.imgs"))" || KEEP=1
        if cr_op "$op" "$w" --repeat >"$S.op2.out" 2>&1; then
            pass "$L: restarted: the $op succeeds"
        else
            fail "$L: restarted: the $op succeeds"
            diag "$(tail -n 8 "$S.op2.out")"
            KEEP=1
        fi
        cr_stop
        # the store the restarted daemon left: ovl2fsck = the walk again
        "$OVL2FSCK" --root "$S" --min-age 0 --json --pidfile "$ex/pid" >"$S.json3" 2>/dev/null
        bad "$S.json3" >"$S.ovl3"
        "$PY" "$WALK" "$S" >"$S.walk3"
        is "$(cat "$S.ovl3")" "$(cat "$S.walk3")" \
            "$L: after the daemon ran again: ovl2fsck finds what the walk finds ($(summary "$(cat "$S.walk3")"))" || KEEP=1
    else
        fail "$L: the daemon restarts on the reaped store"
        KEEP=1
    fi
    note "$L: $msg; reap exit $rc; trial $((SECONDS - t0))s"
    if [ "${KEEP:-0}" = 1 ] && [ "${OVL2FSCK_KEEP_TMP:-0}" = 1 ]; then
        diag "kept $S (daemon log $(cr_log))"
        cp -a "$ex.log" "$S.daemon.log" 2>/dev/null
    else
        rm -rf --one-file-system "$S"
    fi
    KEEP=0
    rm -rf --one-file-system "$ex" "$ex.log"
}

for v in $VERSIONS; do
    case "$v" in 20|26|28) ;; *) bail_out "OVL2FSCK_CRASH_VERSIONS: unknown version '$v' (20, 26, 28)" ;; esac
    why=$(cr_prereq_missing "$v")
    if [ -n "$why" ]; then
        skip 1 "Docker $v: $why"
        continue
    fi
    mkdir -p "$TAP_TMP/$v"
    BASE=$TAP_TMP/$v/base W=$TAP_TMP/$v/work
    CR_BIND=("$W")      # the daemon (and CLI) of 26/28 sees the contexts and archive
    t_v=$SECONDS
    ok "$v: base store built by its daemon" cr_build_base "$v" "$BASE" "$W" || continue
    calibrate "$v" "$BASE" "$W" || continue
    KILLS=0 MID=0 k=0 t0=$SECONDS
    while [ "$k" -lt "$MIN" ] || { [ $((SECONDS - t0)) -lt "$BUDGET" ] && [ "$k" -lt $((3 * MIN)) ]; }; do
        trial "$v" "$BASE" "$W" "$k"
        k=$((k + 1))
    done
    ok "$v: at least $MIN kills ($KILLS, $MID of them while the operation ran)" test "$KILLS" -ge "$MIN"
    note "$v: $KILLS trials in $((SECONDS - t0))s, $((SECONDS - t_v))s with the base store"
    [ "${OVL2FSCK_KEEP_TMP:-0}" = 1 ] || rm -rf --one-file-system "${TAP_TMP:?}/$v"
done
done_testing
