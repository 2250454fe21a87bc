#!/usr/bin/env bash
# t-containerd-crash.t — kill -9 of a real containerd (Debian 12's 1.6 and
# Debian sid's 2.1.9, run privately: tests/lib/containerd.sh) during `ctr images import` of an archive
# with a 128 MiB layer of random bytes (issue 15 item 4, issue 16 item 4).
#
# A base store (two small images the test builds, with a static /tiny that
# runs without libc) is copied for each trial; containerd starts on the copy,
# the import of the big image starts, and tests/tools/ctrdwalk.py --trigger
# polls the root and sends SIGKILL when the import reaches a point:
#   ingest:F   the big layer's ingest data holds F of its total (the blob copy)
#   blobmv:0   as its blob is renamed into blobs/sha256 (then the record)
#   blob:MS    MS ms after its blob file appeared
#   mkdir:0    as a new-* dir is made (a Prepare: mkdir new-*, rename to
#              snapshots/<id>, metadata.db commit, meta.db commit)
#   rename:0   as new-* is renamed to snapshots/<id>
#   metawrite:0  at the first write to meta.db after that rename (metadata.db
#              committed, meta.db not)
#   numdir:US  US us after snapshots/<id> appeared
# (mkdir, rename, metawrite and blobmv: the trigger is woken by inotify, SCHED_FIFO on the CPU
# containerd is pinned to, so that containerd cannot run before the kill)
#   unpack:F   the layer's files in the new snapshots/<id>/fs hold F of it
#   commit:MS  MS ms after they are complete (snapshot commit, image labels)
# with random F / MS / US, twelve trials. Then, per trial:
#   1. ovl2fsck --json finds exactly the errors and garbage that the
#      independent walk (tests/tools/ctrdwalk.py) finds, now and, under
#      faketime, two days later (when the import's 24 h lease has expired);
#   2. a leftover snapshots/<sequence + 1> makes the repeated import fail on a
#      copy of the store ("file exists");
#   3. --reap --apply frees exactly the planned bytes (du of the root); a
#      rescan has none of the on-disk classes and agrees with the walk;
#   4. containerd restarts on the reaped root, the ctr commands the plan
#      printed for the record garbage exit 0, its GC frees exactly the bytes
#      the plan said; stopped, the rescan is clean (no garbage, no error the
#      kill did not leave) and agrees with the walk;
#   5. restarted, every image it lists runs (ctr run --rm IMAGE ID /tiny)
#      and the interrupted import succeeds.
# At the end: every leftover class of the doc's table was seen at least once
# with its exact check (listed in the TAP output).
#
# Runs only with OVL2FSCK_CRASH=1 (make test-crash):
#   OVL2FSCK_CRASH=1 ./tests/run-all tests/integration/t-containerd-crash.t
# OVL2FSCK_CRASH_CTRD_TRIALS=12   kills (one per trial) per version
# OVL2FSCK_CRASH_CTRD_VERSIONS="1.6 2"  Debian 12's containerd 1.6 and 2.1.9
#                                 of the cached Debian sid chroot
#                                 (tests/lib/containerd.sh ctrd_select; the
#                                 2.x half is skipped when it cannot be had)
# OVL2FSCK_CRASH_CTRD_MODES="ingest mkdir ..."  the trigger modes, in turn
# OVL2FSCK_KEEP_TMP=1             keeps the temp dir of the run
. "$(dirname "$0")/../lib/tap.sh"

[ "${OVL2FSCK_CRASH:-0}" = 1 ] ||
    skip_all "the kill -9 trials of containerd run only with OVL2FSCK_CRASH=1 (make test-crash)"
[ "$(id -u)" = 0 ] || skip_all "needs root (containerd, overlay mounts)"
command -v containerd >/dev/null && command -v ctr >/dev/null || skip_all "no containerd/ctr (apt-get install containerd)"
command -v cc >/dev/null || skip_all "no C compiler (for the test image's /tiny)"
[ -x "$OVL2FSCK" ] || bail_out "no binary at $OVL2FSCK (run make)"
. "$(dirname "$0")/../lib/containerd.sh"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
WALK=$TAP_TOP/tests/tools/ctrdwalk.py
FAKETIME=$(command -v faketime || true)
SHIFT=172800        # two days: past the 24 h of ctr's leases
TRIALS=${OVL2FSCK_CRASH_CTRD_TRIALS:-12}
VERSIONS=${OVL2FSCK_CRASH_CTRD_VERSIONS:-1.6 2}
read -r -a MODES <<<"${OVL2FSCK_CRASH_CTRD_MODES:-ingest mkdir unpack rename metawrite commit blobmv numdir mkdir rename metawrite blob}"
SNAP=io.containerd.snapshotter.v1.overlayfs
CONTENT=io.containerd.content.v1.content
RECLAIM="content-blob-orphaned|ingest-leftover|snapshot-dir-orphaned|snapshot-dir-blocks-create"

tap_tmpdir
T=$TAP_TMP
STATE=$(mktemp -d /tmp/o2cc.XXXXXX)
at_exit "rm -rf --one-file-system -- '$STATE'"
mkdir -p "$T/nochecks"
declare -A SEEN

o2() { "$OVL2FSCK" --config /dev/null --checks-dir "$T/nochecks" --min-age 0 --journal "$T/journal.jsonl" "$@"; }
o2_later() { "$FAKETIME" -f "+${SHIFT}s" "$OVL2FSCK" --config /dev/null --checks-dir "$T/nochecks" --min-age 0 \
                 --journal "$T/journal.jsonl" "$@"; }

# bad JSON: "severity check object" of every error and garbage finding, sorted
bad() {
    "$PY" -c '
import json, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    if f["severity"] in ("error", "garbage"):
        print(f["severity"], f["check"], f["object"])' "$1" | sort
}
du_b() { du -s -B1 "$@" | awk '{ s += $1 } END { print s }'; }
summary() {
    [ -n "$1" ] || { echo "none"; return; }
    awk '{ n[$2]++ } END { for (c in n) printf "%s%s x%d", (s++ ? ", " : ""), c, n[c] }' <<<"$1"
}
# compare LABEL A B: ovl2fsck's lines = the walk's
compare() {
    if ! is "$2" "$3" "$1"; then
        diag "ovl2fsck only: $(comm -23 <(echo "$2") <(echo "$3") | tr '\n' ';')"
        diag "walk only:     $(comm -13 <(echo "$2") <(echo "$3") | tr '\n' ';')"
    fi
}

# ---- the archives ---------------------------------------------------------------
cc -static -nostdlib -no-pie -Os -ffreestanding -fno-stack-protector -fno-asynchronous-unwind-tables \
    -Wl,--build-id=none -s -o "$T/tiny" "$TAP_TOP/tests/tools/tiny.c" || bail_out "cannot build tiny"
read -r BIG BIG_SIZE < <("$PY" - "$T" "$TAP_TOP/tests/tools" <<'EOF'
import hashlib, io, json, os, sys, tarfile
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[2])
from mkimage import make_layer, config, _info, sha
T = sys.argv[1]
tiny = open(os.path.join(T, "tiny"), "rb").read()
base = make_layer([("etc", "dir", None), ("etc/os-release", "file", "ID=o2cc\n"), ("tiny", "exe", tiny)])
mid = make_layer([("opt", "dir", None), ("opt/mid", "file", "mid\n" * 100)])
files = [("big", "dir", None)] + [("big/f%d" % i, "file", os.urandom(16 << 20)) for i in range(8)]
big = make_layer(files)
big_size = sum(len(v) for _, k, v in files if k == "file")
top = make_layer([("opt", "dir", None), ("opt/top", "file", "top\n")])

def archive(path, images):
    out, manifest = {}, []
    for lys, tag, created in images:
        ids = [sha(l) for l in lys]
        cfg = config(ids, tag, created)
        out[sha(cfg) + ".json"] = cfg
        manifest.append({"Config": sha(cfg) + ".json", "RepoTags": [tag], "Layers": [d + "/layer.tar" for d in ids]})
        for d, l in zip(ids, lys):
            out[d + "/layer.tar"] = l
            out[d + "/VERSION"] = b"1.0"
    out["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for d in sorted({n.split("/")[0] for n in out if "/" in n}):
            tf.addfile(_info(d, tarfile.DIRTYPE, mode=0o755))
        for n in sorted(out):
            tf.addfile(_info(n, size=len(out[n])), io.BytesIO(out[n]))

archive(os.path.join(T, "base.tar"), [([base], "o2cc/small:1", "2024-01-01T00:00:00Z"),
                                      ([base, mid], "o2cc/mid:1", "2024-01-01T00:00:01Z")])
archive(os.path.join(T, "big.tar"), [([base, big, top], "o2cc/big:1", "2024-01-01T00:00:02Z")])
print(sha(big), big_size)
EOF
)
[ -n "$BIG" ] || bail_out "cannot write the archives"
IMG_BIG=docker.io/o2cc/big:1

# ---- per version: the base store, the uninterrupted import ------------------------
base_store() {
    BASE=$T/$V/base
    mkdir -p "$T/$V"
    ctrd_start "$BASE" "$STATE" || { fail "$V: containerd starts"; return 1; }
    ctrd_ctr images import "$T/base.tar" >/dev/null || { fail "$V: import of the base images"; ctrd_stop; return 1; }
    out=$(ctrd_run_rm default docker.io/o2cc/small:1 o2cc-probe /tiny)
    is "$out" "tiny was here" "$V: base store: an image of the base store runs (ctr run --rm)"
    ctrd_gc
    ctrd_stop
    is "$(bad <(o2 --root "$BASE" --json 2>/dev/null))" "" "$V: base store: ovl2fsck finds no error or garbage"
    is "$("$PY" "$WALK" "$BASE")" "" "$V: base store: neither does the walk"
    cp -a "$BASE" "$T/$V/calib"
    ctrd_start "$T/$V/calib" "$STATE" || { fail "$V: containerd starts"; return 1; }
    local t0
    t0=$(date +%s.%N)
    ok "$V: the import of the big image succeeds uninterrupted" ctrd_ctr images import "$T/big.tar"
    note "$V: the import takes $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')s uninterrupted"
    ctrd_stop
    rm -rf --one-file-system "$T/$V/calib"
}

# param MODE: a random argument for the trigger
param() {
    case "$1" in
        ingest|unpack) awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.1 + 0.8 * r / 32767 }' ;;
        blob) echo $((RANDOM % 3)) ;;
        numdir) echo $((300 + RANDOM % 3000)) ;;
        mkdir|rename|metawrite|blobmv) echo 0 ;;
        commit) echo $((RANDOM % 40)) ;;
    esac
}

# images_run: every image containerd lists runs /tiny; prints what failed
images_run() {
    local i n=0 out rc
    for i in $(ctrd_ctr images ls -q); do
        n=$((n + 1))
        out=$(ctrd_run_rm default "$i" "o2cc-run-$n" /tiny); rc=$?
        [ "$rc" = 0 ] && [ "$out" = "tiny was here" ] || echo "$i: exit $rc: $(head -n 2 <<<"$out")"
    done
    echo "$n" >&3
}

KILLS=0
trial() {
    local k=$1 mode=${MODES[$(($1 % ${#MODES[@]}))]} arg S L rc trc A B A2 B2 t0=$SECONDS
    arg=$(param "$mode")
    L="$V #$k $mode:$arg"
    S=$T/$V/t$k
    cp -a "$BASE" "$S"
    ctrd_start "$S" "$STATE" || { fail "$L: containerd starts"; return; }
    "$PY" "$WALK" --trigger "$mode:$arg" --pid "$CTRD_PID" --big "$BIG" --big-size "$BIG_SIZE" "$S" >"$S.trig" 2>&1 &
    local tpid=$! ipid i
    sleep 0.2
    ctrd_ctr images import "$T/big.tar" >"$S.imp" 2>&1 &
    ipid=$!
    while kill -0 "$tpid" 2>/dev/null && kill -0 "$ipid" 2>/dev/null; do sleep 0.05; done
    # the import ended first: the trigger has 1 s to tell (a kill at the end)
    for i in $(seq 1 20); do kill -0 "$tpid" 2>/dev/null || break; sleep 0.05; done
    kill "$tpid" 2>/dev/null
    wait "$tpid"; trc=$?
    # ctr may hang once containerd is gone (seen: 17 min): 20 s, then SIGKILL
    for i in $(seq 1 200); do kill -0 "$ipid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$ipid" 2>/dev/null && note "$L: ctr images import hung after the kill; killed"
    wait "$ipid" 2>/dev/null
    ctrd_kill9
    if [ "$trc" = 0 ]; then
        KILLS=$((KILLS + 1))
        L+=" ($(cat "$S.trig"))"
    else
        L+=" (no kill: $(cat "$S.trig"))"
    fi

    # 1. ovl2fsck = the walk, now and two days later
    o2 --root "$S" --json >"$S.json" 2>"$S.err"
    A=$(bad "$S.json")
    B=$("$PY" "$WALK" "$S")
    compare "$L: ovl2fsck finds exactly what the walk finds ($(summary "$A"))" "$A" "$B"
    if [ -n "$FAKETIME" ]; then
        local later=$(($(date +%s) + SHIFT))
        o2_later --root "$S" --json >"$S.json2" 2>/dev/null
        A2=$(bad "$S.json2")
        B2=$("$PY" "$WALK" --now "$later" "$S")
        compare "$L: two days later too ($(summary "$A2"))" "$A2" "$B2"
    fi
    local c
    for c in $(printf '%s\n%s\n' "$A" "$A2" | awk 'NF { print $2 }' | sort -u); do
        SEEN[$c]=$((${SEEN[$c]:-0} + 1))
    done
    note "$L: now: $(summary "$A"); later: $(summary "$A2")"

    # 2. the dir past the sequence makes the next Prepare fail (on a copy)
    if grep -q ' snapshot-dir-blocks-create ' <<<"$A"; then
        cp -a "$S" "$S.copy"
        if ctrd_start "$S.copy" "$STATE"; then
            ctrd_ctr images import "$T/big.tar" >"$S.copy.imp" 2>&1; rc=$?
            ctrd_stop
            okv "$([ "$rc" != 0 ] && grep -q 'file exists' "$S.copy.imp" && echo 1)" \
                "$L: before the reap, the repeated import fails: $(grep -o 'rename [^:]*: file exists' "$S.copy.imp" | head -n 1)"
            BLOCKED=$((${BLOCKED:-0} + 1))
        else
            fail "$L: containerd starts on the copy"
        fi
        rm -rf --one-file-system "$S.copy"
    fi

    # 3. the reap frees what it planned on disk
    local planned du0 du1 freed cmds ctrb
    o2 --root "$S" --reap --json >"$S.plan" 2>/dev/null
    planned=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["planned_bytes"])' "$S.plan")
    du0=$(du -s -B1 "$S" | cut -f1)
    o2 --root "$S" --reap --apply --json >"$S.apply" 2>"$S.apply.err"; rc=$?
    du1=$(du -s -B1 "$S" | cut -f1)
    freed=$("$PY" -c 'import json,sys; s = json.load(open(sys.argv[1]))["summary"]; print(s["freed_bytes"], s["failed"])' "$S.apply")
    # the ctr commands for the record garbage, in order, and their bytes
    "$PY" -c '
import json, shlex, sys
j = json.load(open(sys.argv[1]))
for i in j["items"]:
    if i.get("action") == "ctr-command":
        print(shlex.join(i["argv"][1:]))' "$S.apply" >"$S.cmds"
    ctrb=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"].get("ctr_bytes", 0))' "$S.apply")
    cmds=$(grep -c . "$S.cmds")
    if grep -Eq " ($RECLAIM) " <<<"$A"; then
        is "$rc" "$([ "$cmds" -gt 0 ] && echo 5 || echo 1)" "$L: --reap --apply exits 1 (5 with ctr commands left: $cmds)" || diag "$(head -n 5 "$S.apply.err")"
    else
        is "$rc" "$([ "$cmds" -gt 0 ] && echo 4 || echo 0)" "$L: --reap --apply exits 0 (4 with ctr commands left: $cmds), nothing on disk" || diag "$(head -n 5 "$S.apply.err")"
    fi
    is "$freed / $((du0 - du1))" "$planned 0 / $planned" "$L: freed = planned = what du lost ($planned bytes)"
    o2 --root "$S" --json >"$S.json3" 2>/dev/null
    A=$(bad "$S.json3")
    is "$(grep -E " ($RECLAIM) " <<<"$A")" "" "$L: rescan: nothing left on disk to reap"
    compare "$L: rescan: ovl2fsck = the walk ($(summary "$A"))" "$A" "$("$PY" "$WALK" "$S")"

    # 4. the printed ctr commands against the restarted daemon: the records go
    local errs_before line cfail=
    errs_before=$(grep '^error ' <<<"$A")
    # (du of snapshots/ and blobs/: starting containerd changes its databases)
    du1=$(du_b "$S/$SNAP/snapshots" "$S/$CONTENT/blobs")
    # content records nothing marks (a kill before the import's image and
    # unpack took them over): containerd's GC at its start removes them, and
    # ovl2fsck has no check for them: with no ctr command planned, the walk's
    # bytes for them are what the restart frees
    local unref
    unref=$("$PY" "$WALK" --unreferenced-bytes 1 "$S")
    ctrd_start "$S" "$STATE" || { fail "$L: containerd restarts on the reaped root"; diag "$(tail -n 5 "$CTRD_LOG")"; return; }
    while IFS= read -r line; do
        eval "ctrd_ctr $line" >>"$S.cmds.out" 2>&1 || cfail+="$line; "
    done <"$S.cmds"
    ctrd_gc; sleep 0.5      # the start's GC cleans the content store in the background
    ctrd_stop
    du0=$(du_b "$S/$SNAP/snapshots" "$S/$CONTENT/blobs")
    is "$cfail" "" "$L: the $cmds printed ctr commands exit 0" || diag "$(tail -n 3 "$S.cmds.out")"
    if [ "$cmds" -gt 0 ]; then
        is "$((du1 - du0))" "$ctrb" "$L: containerd's GC freed what the plan said ($ctrb bytes)"
    else
        is "$((du1 - du0))" "$unref" "$L: no ctr command: the restart freed only the unreferenced content records ($unref bytes)"
        [ "$unref" = 0 ] || UNREF=$((UNREF + 1))
    fi
    o2 --root "$S" --json >"$S.json4" 2>/dev/null
    A=$(bad "$S.json4")
    is "$(grep -v '^error ' <<<"$A"; comm -13 <(echo "$errs_before") <(grep '^error ' <<<"$A"))" "" \
        "$L: rescan: clean (no garbage, no new error)"
    compare "$L: rescan: ovl2fsck = the walk ($(summary "$A"))" "$A" "$("$PY" "$WALK" "$S")"

    # 5. containerd is happy
    if ctrd_start "$S" "$STATE"; then
        local failed n
        failed=$(images_run 3>"$S.n")
        n=$(cat "$S.n")
        is "$failed" "" "$L: restarted: every listed image runs ($n)"
        ctrd_ctr images import "$T/big.tar" >"$S.imp2" 2>&1; rc=$?
        is "$rc" 0 "$L: restarted: the interrupted import succeeds" ||
            { diag "$(tail -n 3 "$S.imp2")"; diag "containerd's log: $(tail -n 30 "$CTRD_LOG")"; }
        out=$(ctrd_run_rm default "$IMG_BIG" o2cc-big /tiny)
        is "$out" "tiny was here" "$L: restarted: the big image runs"
        ctrd_gc
        ctrd_stop
        o2 --root "$S" --json >"$S.json5" 2>/dev/null
        A=$(bad "$S.json5")
        compare "$L: after the daemon ran again: ovl2fsck = the walk ($(summary "$A"))" "$A" "$("$PY" "$WALK" "$S")"
    else
        fail "$L: containerd restarts"
        diag "$(tail -n 5 "$CTRD_LOG")"
    fi
    note "$L: trial $((SECONDS - t0))s"
    [ "${OVL2FSCK_KEEP_TMP:-0}" = 1 ] || rm -rf --one-file-system "$S"
}
okv() { ok "$2" [ "$1" = 1 ]; }

run_version() {
    local k c T0=$SECONDS
    KILLS=0 UNREF=0
    SEEN=()
    base_store || return
    for k in $(seq 0 $((TRIALS - 1))); do
        trial "$k"
    done
    ok "$V: at least 10 kills during the import ($KILLS of $TRIALS trials)" [ "$KILLS" -ge 10 ]
    # every leftover class of the doc's table, with its exact check
    for c in ingest-leftover snapshot-extract-leftover snapshot-dir-orphaned snapshot-dir-blocks-create \
             snapshot-backend-orphaned content-blob-orphaned lease-expired; do
        if [ "$c" = lease-expired ] && [ -z "$FAKETIME" ]; then
            skip 1 "$V: lease-expired needs faketime (apt-get install faketime)"
            continue
        fi
        ok "$V: class seen: $c (${SEEN[$c]:-0} trials)" [ "${SEEN[$c]:-0}" -gt 0 ]
    done
    note "$V: every class found: $(for c in "${!SEEN[@]}"; do printf '%s x%d ' "$c" "${SEEN[$c]}"; done)"
    note "$V: $TRIALS trials in $((SECONDS - T0))s; $UNREF left unreferenced content records that ovl2fsck does not report (containerd's GC removes them at its start)"
    [ "${OVL2FSCK_KEEP_TMP:-0}" = 1 ] || rm -rf --one-file-system "${T:?}/$V"
}

# shellcheck disable=SC2034  # read by tests/lib/containerd.sh
CTRD_BIND=("$T")    # 2.x: the daemon and ctr see the archives
for V in $VERSIONS; do
    if ! ctrd_select "$V" >"$T/why" 2>&1; then
        skip 1 "containerd $V: $(cat "$T/why")"
        continue
    fi
    run_version
done
done_testing
