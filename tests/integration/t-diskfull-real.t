#!/usr/bin/env bash
# Issue 20 on a real full disk. A small loop-mounted ext4 (and xfs when
# mkfs.xfs is there) is a real dockerd's data root AND ovl2fsck's TMPDIR.
# dockerd is driven into ENOSPC: a `docker load` larger than the free space,
# a classic build whose RUN fills the disk, a `docker commit` of a container
# that filled the disk (stopped cleanly), then a commit, a build and a load
# each killed -9 the moment the disk is full. The file system is then filled
# to the last block (root too: not one block, a 4 KiB write fails), and:
#   --report works (scan database elsewhere, said in one line), --db on the
#   full disk is a clear exit 8; --reap --apply frees the garbage (exit 1,
#   freed bytes = planned bytes = the df difference), the journal says where
#   it went, a rescan is clean; dockerd restarts, every image saves and runs,
#   the interrupted load, build and commit succeed when there is room;
#   and kill -9 of the reaper after each journaled action k, on the full file
#   system, leaves a state that a second run (disk full again) finishes into
#   exactly the uninterrupted run's tree.
# OVL2FSCK_DISKFULL_FS="ext4 xfs" chooses the file systems (default: both,
# xfs only when mkfs.xfs is installed).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/store.sh"
. "$(dirname "$0")/../lib/diskfull.sh"
export PYTHONDONTWRITEBYTECODE=1

[ -x "$OVL2FSCK" ] || bail_out "$OVL2FSCK is not built (run make)"
why=$(store_prereq_missing)
[ -z "$why" ] || skip_all "cannot run a real dockerd: $why"
why=$(df_prereq_missing ext4)
[ -z "$why" ] || skip_all "cannot make a full file system: $why"
for c in fallocate fsfreeze; do
    command -v "$c" >/dev/null || skip_all "no $c (util-linux)"
done
tap_tmpdir
T=$TAP_TMP
MiB=1048576

# jqp FILE EXPR: a python expression over the JSON in FILE (d).
jqp() {
    "$DF_PY" - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = eval(sys.argv[2])
print("\n".join(str(x) for x in r) if isinstance(r, (list, tuple, set)) else r)
PY
}

# tree ROOT: what is left below the store's dirs: path, type, size of files.
tree() {
    (cd "$1" && find overlay2 image containers tmp \( -type f -printf '%p %M %s\n' \) -o -printf '%p %M\n' 2>/dev/null) |
        LC_ALL=C sort
}

# same_tree TREE WANT ROOT: the listings are equal and ROOT has no trash dir.
same_tree() { cmp -s "$1" "$2" && [ ! -e "$3/.ovl2fsck-trash" ]; }

# The journal fallback is a file of each run's own
# (/run/ovl2fsck/journal-<run>.jsonl, else /dev/shm/ovl2fsck/): a run moves
# its lines back to its root's journal when it ends with room, and a run on
# that journal adopts what a run killed before it left there.

# fsck ARGS...: ovl2fsck with TMPDIR on the full file system ($M/tmpdir);
# stdout in $T/out, stderr in $T/err, status in RC.
fsck() {
    TMPDIR=$M/tmpdir "$OVL2FSCK" "$@" >"$T/out" 2>"$T/err"
    RC=$?
}

nospace() { grep -qi 'no space left on device' "$1"; }

# findings_of JSON: one "check object path bytes" line per finding, sorted.
findings_of() { jqp "$1" 'sorted("%s %s %s %s" % (f["check"], f["object"], f["path"], f.get("bytes")) for f in d["findings"])' 2>/dev/null; }

# is_full FS MNT: not one block a root process can write. ext4 (mkfs -m 0)
# then shows 0 bytes available. xfs keeps a few blocks in statvfs that no
# data write gets (each allocation reserves blocks for its own metadata):
# at most XFS_SLACK bytes there, and the 4 KiB write must fail.
XFS_SLACK=65536
is_full() {
    local a
    a=$(df_avail "$2")
    case $1 in
        xfs) [ "$a" -le "$XFS_SLACK" ] && df_write_fails "$2" ;;
        *) [ "$a" = 0 ] ;;
    esac
}

# ---------------------------------------------------------------------------
# The images: all busybox based, written by the test (no registry here).
df_mkarchive "$T/small.tar" o2t/small:1 0 "$BUSYBOX_BIN" || bail_out "cannot write small.tar"
BIG_MB=40
df_mkarchive "$T/big.tar" o2t/big:1 "$BIG_MB" "$BUSYBOX_BIN" || bail_out "cannot write big.tar"
for c in ctx-a ctx-b; do
    mkdir -p "$T/$c"
    head -c $((4 * MiB)) /dev/urandom >"$T/$c/blob"
    printf '%s\n' 'FROM o2t/small:1' 'COPY blob /blob' \
        "RUN dd if=/dev/zero of=/fill bs=1M count=24 && echo $c >/done" >"$T/$c/Dockerfile"
done

EX=$(mktemp -d /tmp/o2e.XXXXXX)   # short: unix socket paths
at_exit 'df_kill_strays "$EX"; [ "${OVL2FSCK_KEEP_TMP:-0}" = 1 ] || rm -rf --one-file-system "$EX"'
# The journal fallbacks that runs killed by this test on a full disk left
# (/run/ovl2fsck/journal-<run>.jsonl, whose first line names a journal in
# this test's temp dirs; a later run on the same journal adopts them, but the
# crash loop's stores are gone by then): removed at the end, only ours.
df_drop_fallbacks() {
    local f
    for f in /run/ovl2fsck/journal-*.jsonl /dev/shm/ovl2fsck/journal-*.jsonl; do
        [ -f "$f" ] && head -n 1 "$f" | grep -qF "\"ovl2fsck_fallback_for\":\"$TAP_TMP/" && rm -f "$f"
    done
    return 0
}
at_exit df_drop_fallbacks

# kill9_dockerd: after df_kill_at_full: the daemon is gone, and so is what it
# left running (containerd, shims of a RUN), its mounts undone.
kill9_dockerd() {
    local i
    for ((i = 0; i < 100; i++)); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$DOCKERD_PID" 2>/dev/null   # not killed at full (a failed point): now
    { wait "$DOCKERD_PID"; } 2>/dev/null
    DOCKERD_PID=
    local cpid
    cpid=$(cat "$EX/e/containerd/containerd.pid" 2>/dev/null)
    df_kill_strays "$EX/e"
    rm -f "$EX/e/pid"
    dockerd_stop
    df_kill_strays "$EX/e"
    df_kill_containers "$R"
    # a restarted dockerd takes a containerd pid that is still there (even
    # dying) for a running containerd, and times out waiting for its socket
    for ((i = 0; i < 100; i++)); do
        [ -n "$cpid" ] && [ -e "/proc/$cpid" ] || break
        sleep 0.05
    done
    rm -f "$EX/e/containerd/containerd.pid"
}

# killed_at_full NAME FREE LIMIT LOG CMD...: with FREE bytes free, CMD (a
# docker client command) fills the disk and dockerd is killed -9 at full:
# when fewer than LIMIT bytes are free (xfs grows a file's speculative
# preallocation by MiBs at once). When dockerd got ENOSPC and cleaned up
# before the kill (the client ended first: a race of a few milliseconds),
# the same again, three times at most.
killed_at_full() {
    local name=$1 free=$2 limit=$3 log=$T/$4 try kp rc i
    shift 4
    for ((try = 1; try <= 3; try++)); do
        df_set_free "$M" "$free"
        rm -f "$T/stop" "$T/stop.ready"
        df_kill_at_full "$M" "$DOCKERD_PID" "$T/stop" "$limit" &
        kp=$!
        for ((i = 0; i < 500; i++)); do [ -e "$T/stop.ready" ] && break; sleep 0.01; done
        "$@" >>"$log" 2>&1
        touch "$T/stop"
        wait "$kp"
        rc=$?
        [ "$rc" = 0 ] && break
        note "$name: try $try: dockerd cleaned up before the kill: $(tail -n 1 "$log")"
    done
    ok "$name: dockerd killed -9 at full" test "$rc" = 0 || diag "$(tail -n 3 "$log")"
    kill9_dockerd
}

# restart NAME: dockerd again on the store, room made first as a user would
# (containerd cannot even start on a full disk).
restart() {
    df_set_free "$M" $((16 * MiB))
    ok "$1: ... dockerd restarts" dockerd_start "$R" "$EX/e"
}

# ---------------------------------------------------------------------------
# build_full_store FS: dockerd on $M/docker driven to ENOSPC six ways; then
# the file system filled to the last block.
build_full_store() {
    local fs=$1 rc
    R=$M/docker
    mkdir -p "$M/tmpdir" && chmod 1777 "$M/tmpdir"
    ok "$fs: dockerd starts on the loop file system" dockerd_start "$R" "$EX/e" || return 1
    dockerd_docker load -i "$T/small.tar" >/dev/null &&
        printf '%s\n' 'FROM o2t/small:1' 'RUN echo keep >/keep' | DOCKER_BUILDKIT=0 dockerd_docker build -q -t o2t/keep:1 - >/dev/null &&
        dockerd_docker create --network none --name c-keep o2t/keep:1 true >/dev/null
    ok "$fs: base images and a container" test $? = 0 || return 1

    # 1. clean: a load larger than the free space
    df_set_free "$M" $(((BIG_MB - 16) * MiB))
    dockerd_docker load -i "$T/big.tar" >"$T/s1" 2>&1
    rc=$?
    ok "$fs: docker load of $BIG_MB MiB with $((BIG_MB - 16)) MiB free fails with ENOSPC" test $rc != 0 -a "$(nospace "$T/s1" && echo y)" = y ||
        diag "$(cat "$T/s1")"

    # 2. clean: a classic build whose RUN fills the disk
    df_set_free "$M" $((16 * MiB))
    DOCKER_BUILDKIT=0 dockerd_docker build --network none -t o2t/built-a:1 "$T/ctx-a" >"$T/s2" 2>&1
    rc=$?
    ok "$fs: classic build whose RUN fills the disk fails with ENOSPC" test $rc != 0 -a "$(nospace "$T/s2" && echo y)" = y ||
        diag "$(tail -n 5 "$T/s2")"

    # 3. clean: a container fills the disk, then docker commit
    df_set_free "$M" $((8 * MiB))
    dockerd_docker run --network none --name c-filled o2t/small:1 dd if=/dev/zero of=/f bs=1M >"$T/s3" 2>&1
    dockerd_docker commit c-filled o2t/filled:1 >>"$T/s3" 2>&1
    rc=$?
    ok "$fs: docker commit of a container that filled the disk fails with ENOSPC" test $rc != 0 -a "$(nospace "$T/s3" && echo y)" = y ||
        diag "$(tail -n 5 "$T/s3")"

    # 4. killed: docker commit fills the disk, dockerd killed -9 at full
    df_set_free "$M" $((40 * MiB))
    dockerd_docker run --network none --name c-commit o2t/small:1 dd if=/dev/zero of=/f bs=1M count=24 >"$T/s4" 2>&1
    killed_at_full "$fs: docker commit of 24 MiB with 12 MiB free" $((12 * MiB)) $((6 * MiB)) s4 \
        dockerd_docker commit c-commit o2t/committed:1
    restart "$fs: docker commit" || return 1

    # 5. killed: a classic build whose RUN fills the disk, dockerd killed -9
    killed_at_full "$fs: classic build whose RUN fills the disk" $((16 * MiB)) $((4 * MiB)) s5 \
        env DOCKER_BUILDKIT=0 "$DOCKER_BIN" build --network none -t o2t/built-b:1 "$T/ctx-b"
    restart "$fs: classic build" || return 1

    # 6. killed: a docker load; the archive fits in ROOT/tmp, its layer does not
    killed_at_full "$fs: docker load of $BIG_MB MiB with $((BIG_MB + 16)) MiB free" $(((BIG_MB + 16) * MiB)) $((4 * MiB)) s6 \
        dockerd_docker load -i "$T/big.tar"
    note "$fs: left by dockerd: $(cd "$R" && ls -d tmp/* image/overlay2/layerdb/tmp/* 2>/dev/null | tr '\n' ' ')"

    df_fill "$M"
    sync -f "$M"
    if [ "$fs" = xfs ]; then
        ok "$fs: filled: statvfs says at most $XFS_SLACK bytes available, $(df_avail "$M") (blocks no data write can take)" is_full xfs "$M"
    else
        is "$(df_avail "$M")" 0 "$fs: filled: statvfs says 0 bytes available (root included)"
    fi
    ok "$fs: filled: a 4 KiB write as root fails with ENOSPC" df_write_fails "$M"
}

# ---------------------------------------------------------------------------
# check_and_reap FS: points 3-5 of the issue on the full store in $M.
check_and_reap() {
    local fs=$1 n

    # --- report on the full disk
    local used
    sync -f "$M"
    used=$(df_used "$M")
    fsck --root "$R" --report --json --min-age 0
    is "$RC" 4 "$fs: --report --json on the 100% full disk, TMPDIR on it: exit 4" || diag "$(head -c 2000 "$T/err")"
    cp "$T/out" "$T/$fs.report.json"
    n=$(grep -ci 'scan database' "$T/err")
    is "$n" 1 "$fs: one stderr line says where the scan database went" || diag "$(cat "$T/err")"
    like "$(grep -i 'scan database' "$T/err")" '(/dev/shm|/run)' "$fs: ... to memory (/dev/shm or /run)"
    local checks
    checks=$(jqp "$T/$fs.report.json" 'sorted(set(f["check"] for f in d.get("findings", [])))' 2>/dev/null)
    for c in root-tmp-leftover overlay-dir-orphaned layerdb-tmp-leftover; do
        ok "$fs: the report has $c" grep -qx -- "$c" <<<"$checks" || diag "checks: $checks"
    done
    like "$(jqp "$T/$fs.report.json" '[f["object"] for f in d["findings"] if f["check"] == "root-tmp-leftover"]' 2>/dev/null)" \
        'docker-import-' "$fs: ... the killed load's archive in ROOT/tmp"
    is "$(jqp "$T/$fs.report.json" 'd["summary"]["errors"]' 2>/dev/null)" 0 "$fs: no error findings (what dockerd left is garbage)"
    TMPDIR=$T "$OVL2FSCK" --root "$R" --report --json --min-age 0 >"$T/$fs.room.json" 2>/dev/null
    is "$(findings_of "$T/$fs.report.json")" "$(findings_of "$T/$fs.room.json")" \
        "$fs: the same findings (check, object, path, bytes) as with the scan database on a disk with room"
    sync -f "$M"
    is "$(df_used "$M")" "$used" "$fs: the report took no block of the full disk"

    fsck --root "$R" --report --min-age 0 --db "$R/x.sqlite"
    is "$RC" 8 "$fs: --db on the full disk: exit 8"
    ok "$fs: ... the message names $R/x.sqlite" grep -qF -- "$R/x.sqlite" "$T/err" || diag "$(cat "$T/err")"
    nok "$fs: ... and leaves no x.sqlite* behind" compgen -G "$R/x.sqlite*"

    # --- the plan, then the reap on the full disk
    fsck --root "$R" --reap --json --min-age 0
    is "$RC" 4 "$fs: --reap (dry run) on the full disk: exit 4"
    cp "$T/out" "$T/$fs.plan.json"
    local planned items used0 used1 freed
    planned=$(jqp "$T/$fs.plan.json" 'd["summary"]["planned_bytes"]' 2>/dev/null)
    items=$(jqp "$T/$fs.plan.json" 'd["summary"]["items"]' 2>/dev/null)
    is "$planned" "$(jqp "$T/$fs.report.json" 'd["summary"]["reclaimable_bytes"]' 2>/dev/null)" \
        "$fs: planned bytes = the report's reclaimable bytes"
    tree "$R" >"$T/$fs.before.tree"
    sync -f "$M"
    used0=$(df_used "$M")
    fsck --root "$R" --reap --apply --json --min-age 0 --journal "$R/journal.jsonl"
    cp "$T/out" "$T/$fs.apply.json"
    cp "$T/err" "$T/$fs.apply.err"
    is "$RC" 1 "$fs: --reap --apply on the full disk: exit 1 (everything planned done)" || diag "$(head -c 3000 "$T/err")"
    is "$(jqp "$T/$fs.apply.json" '(d["summary"]["done"], d["summary"]["failed"], d["summary"]["skipped"])' 2>/dev/null)" \
        "$(printf '%s\n' "$items" 0 0)" "$fs: all $items planned items done, none failed or skipped"
    freed=$(jqp "$T/$fs.apply.json" 'd["summary"]["freed_bytes"]' 2>/dev/null)
    is "$freed" "$planned" "$fs: freed bytes ($freed) = planned bytes"
    sync -f "$M"
    used1=$(df_used "$M")
    # The df difference: the freed blocks, less what the reap itself wrote on
    # the file system (a trash dir, the lock file, the journal once there is
    # room: a few blocks), plus metadata the deletes gave back that no file's
    # st_blocks counts (ext4 extent-tree blocks, xfs inode chunks of 64
    # inodes). Within 1% of the freed bytes plus 64 blocks of 4 KiB.
    local dfd=$((used0 - used1)) tol
    tol=$((freed / 100 + 64 * 4096))
    note "$fs: freed $freed bytes; df says $dfd (difference $((dfd - freed)), tolerance $tol)"
    ok "$fs: freed bytes = the df difference ($dfd) within $tol" test "${freed:-0}" -gt 0 \
        -a $((dfd - freed)) -le "$tol" -a $((freed - dfd)) -le "$tol"
    like "$(grep -i journal "$T/$fs.apply.err")" 'journal' "$fs: stderr says where the journal went (the disk was full)"
    local jl
    jl=$(grep -c '"result":"started"' "$R/journal.jsonl" 2>/dev/null)
    ok "$fs: ... and once there was room its lines went to $R/journal.jsonl (${jl:-0} actions started, each ended)" \
        test "${jl:-0}" -gt 0 -a "$(grep -cE '"result":"(ok|failed)"' "$R/journal.jsonl")" = "${jl:-0}"
    # the one kind of failure allowed: where even the rename that makes a dir
    # the trash needs a block (xfs), that dir is then deleted in place
    is "$("$DF_PY" - "$R/journal.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
bad = []
for i, j in enumerate(lines):
    if j["result"] != "failed":
        continue
    later = [k for k in lines[i + 1:] if k["path"] == j["path"] and k["action"] == "delete-in-place"]
    if j["action"] != "trash" or "No space left" not in (j["error"] or "") or not later or later[-1]["result"] != "ok":
        bad.append("%s %s: %s" % (j["action"], j["path"], j["error"]))
print("; ".join(bad))
PY
)" "" "$fs: every failed action is a rename into the trash that had no block, its dir then deleted in place"
    local run
    run=$(sed -n 's/.*"run":"\([^"]*\)".*/\1/p' "$R/journal.jsonl" | tail -n 1)
    nok "$fs: ... no fallback journal of this run ($run) is left" \
        test -e "/run/ovl2fsck/journal-${run:-none}.jsonl" -o -e "/dev/shm/ovl2fsck/journal-${run:-none}.jsonl"
    ok "$fs: no trash dir left" test ! -e "$R/.ovl2fsck-trash"

    fsck --root "$R" --report --json --min-age 0
    ok "$fs: rescan: exit 0 (warnings at most)" test "$RC" = 0 || diag "$(head -c 2000 "$T/out")"
    is "$(jqp "$T/out" '(d["summary"]["garbage"], d["summary"]["errors"])' 2>/dev/null)" "$(printf '0\n0')" \
        "$fs: rescan: no garbage, no error"
    tree "$R" >"$T/$fs.after.tree"
}

# ---------------------------------------------------------------------------
# dockerd_after FS: dockerd on the reaped store; then the interrupted
# operations again, with room.
dockerd_after() {
    local fs=$1 i bad=
    ok "$fs: dockerd starts on the reaped store" dockerd_start "$R" "$EX/e" || return 1
    local imgs
    imgs=$(dockerd_docker image ls -aq --no-trunc | sort -u)
    for i in $imgs; do
        dockerd_docker save "$i" >/dev/null 2>>"$T/save.err" || bad="$bad save:$i"
        dockerd_docker run --rm --network none "$i" true >/dev/null 2>>"$T/run.err" || bad="$bad run:$i"
    done
    is "$bad" "" "$fs: every one of the $(wc -w <<<"$imgs") images docker-saves and runs"
    like "$(dockerd_docker image ls --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')" \
        'o2t/keep:1 .*o2t/small:1' "$fs: the tagged images are still there"
    df_unfill "$M"
    dockerd_docker load -i "$T/big.tar" >"$T/r1" 2>&1
    ok "$fs: with room, the interrupted docker load succeeds" test $? = 0 || diag "$(cat "$T/r1")"
    ok "$fs: ... and the loaded image runs" dockerd_docker run --rm --network none o2t/big:1 true
    DOCKER_BUILDKIT=0 dockerd_docker build --network none -t o2t/built-b:1 "$T/ctx-b" >"$T/r2" 2>&1
    ok "$fs: the interrupted classic build succeeds" test $? = 0 || diag "$(tail -n 5 "$T/r2")"
    like "$(dockerd_docker run --rm --network none o2t/built-b:1 cat /done 2>&1)" '^ctx-b$' "$fs: ... and its image runs"
    dockerd_docker commit c-commit o2t/committed:1 >"$T/r3" 2>&1
    ok "$fs: the interrupted docker commit succeeds" test $? = 0 || diag "$(cat "$T/r3")"
    dockerd_stop
}

# ---------------------------------------------------------------------------
# crash_loop FS SNAP: for k = 1.. until a run is not killed: the snapshot of
# the full file system, --reap --apply killed -9 after action k, the disk
# filled again, --reap --apply again; the tree must be the uninterrupted one.
crash_loop() {
    local fs=$1 snap=$2 k rc rc2 dev mk=$T/mk opts='' verdict last=0 ncrash=0
    [ "$fs" = xfs ] && opts=-onouuid
    mkdir -p "$mk"
    for ((k = 1; k <= 400; k++)); do
        cp --sparse=always "$snap" "$T/w.img" || break
        dev=$(losetup -f --show "$T/w.img") || break
        DF_LOOPS+=("$dev")
        mount $opts -t "$fs" "$dev" "$mk" || break
        DF_MOUNTS+=("$mk")
        if ! [ -d "$mk/docker" ]; then
            fail "$fs: k=$k: the copy of the full file system is mounted on $mk"
            diag "$(findmnt -R "$T" 2>&1; ls -la "$mk" 2>&1; dmesg 2>/dev/null | tail -n 5)"
            break
        fi
        verdict=
        is_full "$fs" "$mk" || verdict="not full before the run;"
        { TMPDIR=$mk/tmpdir OVL2FSCK_TEST_CRASH_AFTER=$k "$OVL2FSCK" --root "$mk/docker" --reap --apply \
            --min-age 0 --journal "$mk/docker/journal.jsonl" >"$T/c.out" 2>"$T/c.err"; } 2>/dev/null
        rc=$?
        if [ "$rc" != 137 ]; then
            last=1
            [ "$rc" = 1 ] || verdict="$verdict not killed and exit $rc (want 1);"
        else
            ncrash=$((ncrash + 1))
            df_fill "$mk"
            is_full "$fs" "$mk" || verdict="$verdict not full before the rerun;"
            TMPDIR=$mk/tmpdir "$OVL2FSCK" --root "$mk/docker" --reap --apply --json --min-age 0 \
                --journal "$mk/docker/journal.jsonl" >"$T/c2.out" 2>"$T/c2.err"
            rc2=$?
            case $rc2 in 0|1) ;; *) verdict="$verdict rerun exit $rc2: $(head -c 300 "$T/c2.err" | tr '\n' ' ');" ;; esac
            [ "$(jqp "$T/c2.out" 'd["summary"]["failed"]' 2>/dev/null)" = 0 ] || verdict="$verdict rerun had failed items;"
        fi
        TMPDIR=$mk/tmpdir "$OVL2FSCK" --root "$mk/docker" --json --min-age 0 >"$T/c3.out" 2>/dev/null
        [ $? = 0 ] || verdict="$verdict rescan exit not 0;"
        tree "$mk/docker" >"$T/c.tree"
        cmp -s "$T/c.tree" "$T/$fs.after.tree" ||
            verdict="$verdict tree differs: $(diff "$T/$fs.after.tree" "$T/c.tree" | grep '^[<>]' | head -n 5 | tr '\n' ' ');"
        [ -e "$mk/docker/.ovl2fsck-trash" ] && verdict="$verdict trash left;"
        df_umount "$mk" "$dev" "$fs" && unset 'DF_MOUNTS[-1]'
        losetup -d "$dev" && unset 'DF_LOOPS[-1]'
        rm -f "$T/w.img"
        if [ "$last" = 1 ]; then
            if [ -z "$verdict" ]; then pass "$fs: OVL2FSCK_TEST_CRASH_AFTER=$k: not killed (only $((k - 1)) actions): exit 1, the uninterrupted tree"
            else fail "$fs: the run past the last action"; diag "$verdict"; fi
            break
        fi
        if [ -z "$verdict" ]; then
            pass "$fs: k=$k: killed -9 on the full disk; the rerun (disk full again) gives the uninterrupted tree"
        else
            fail "$fs: k=$k: killed -9 on the full disk; the rerun gives the uninterrupted tree"
            diag "$verdict"
        fi
    done
    ok "$fs: the reaper was killed at each of its $ncrash journaled actions" test "$ncrash" -gt 3
}

# ---------------------------------------------------------------------------
# one_item_fails FS SNAP: on a copy of the full file system, one file inside
# an orphaned dir made immutable: that item cannot be removed, the others
# are; the exit status has bit 8 and not bit 1; once the file can go, a
# rerun (disk full again) finishes with exit 1.
one_item_fails() {
    local fs=$1 snap=$2 mk=$T/mk opts='' dev obj f rc ino
    [ "$fs" = xfs ] && opts=-onouuid
    command -v chattr >/dev/null || { skip 4 "$fs: no chattr"; return; }
    mkdir -p "$mk"
    cp --sparse=always "$snap" "$T/w.img" && dev=$(losetup -f --show "$T/w.img") || return 1
    DF_LOOPS+=("$dev")
    mount $opts -t "$fs" "$dev" "$mk" || return 1
    DF_MOUNTS+=("$mk")
    obj=$(jqp "$T/$fs.plan.json" '[i["object"] for i in d["items"] if i["check"] == "overlay-dir-orphaned"][0]' 2>/dev/null)
    f=$(find "$mk/docker/overlay2/$obj" -type f -size +0 2>/dev/null | head -n 1)
    if [ -n "$obj" ] && [ -n "$f" ] && chattr +i "$f"; then
        ino=$(stat -c %i "$f")
        TMPDIR=$mk/tmpdir "$OVL2FSCK" --root "$mk/docker" --reap --apply --json --min-age 0 \
            --journal "$mk/docker/journal.jsonl" >"$T/f.out" 2>"$T/f.err"
        rc=$?
        ok "$fs: one item cannot be removed (an immutable file): exit $rc has bit 8, not bit 1" \
            test $((rc & 8)) = 8 -a $((rc & 1)) = 0
        is "$(jqp "$T/f.out" '[i["object"] for i in d["items"] if i["result"] == "failed"]' 2>/dev/null)" "$obj" \
            "$fs: ... that item is the one reported failed"
        note "$fs: $(jqp "$T/f.out" '[i["object"][:12] + ": " + str(i.get("error")) for i in d["items"] if i["result"] == "failed"]' 2>/dev/null)"
        # wherever the reaper left it (in place, or in the trash)
        find "$mk/docker" -xdev -inum "$ino" -exec chattr -i {} +
        df_fill "$mk"
        TMPDIR=$mk/tmpdir "$OVL2FSCK" --root "$mk/docker" --reap --apply --json --min-age 0 \
            --journal "$mk/docker/journal.jsonl" >"$T/f.out" 2>"$T/f.err"
        is "$?" 1 "$fs: ... once it can go, a rerun on the full disk finishes it: exit 1" || diag "$(head -c 1000 "$T/f.err")"
        tree "$mk/docker" >"$T/f.tree"
        ok "$fs: ... and gives the uninterrupted tree, no trash left" same_tree "$T/f.tree" "$T/$fs.after.tree" "$mk/docker"
    else
        fail "$fs: a file inside an orphaned dir to make immutable ($obj: $f)"
    fi
    df_umount "$mk" "$dev" "$fs" && unset 'DF_MOUNTS[-1]'
    losetup -d "$dev" && unset 'DF_LOOPS[-1]'
    rm -f "$T/w.img"
}

# ---------------------------------------------------------------------------
run_fs() {
    local fs=$1 t0=$SECONDS size=256 rc
    [ "$fs" = xfs ] && size=320   # mkfs.xfs: 300 MB at least
    M=$T/$fs
    ok "$fs: a $size MiB $fs file system on a loop device" df_mkfs "$fs" "$size" "$M" || return 1
    build_full_store "$fs" || return 1
    note "$fs: store built in $((SECONDS - t0))s"
    # snapshot of the full file system (the crash loop starts from it):
    # frozen, it is all on its image with a clean journal, whoever else may
    # hold a copy of the mount (an unmount would not settle that: another
    # program's mount namespace made meanwhile keeps the file system alive)
    fsfreeze -f "$M" || bail_out "cannot freeze $M"
    cp --sparse=always "$M.img" "$T/$fs.snap.img"
    rc=$?
    fsfreeze -u "$M"
    [ "$rc" = 0 ] || bail_out "cannot copy $M.img"
    check_and_reap "$fs"
    note "$fs: checked and reaped at $((SECONDS - t0))s"
    crash_loop "$fs" "$T/$fs.snap.img"
    one_item_fails "$fs" "$T/$fs.snap.img"
    [ "${OVL2FSCK_KEEP_TMP:-0}" = 1 ] || rm -f "$T/$fs.snap.img"
    note "$fs: crash loop done at $((SECONDS - t0))s"
    dockerd_after "$fs"
    note "$fs: done in $((SECONDS - t0))s"
}

FSES=${OVL2FSCK_DISKFULL_FS:-ext4 xfs}
for fs in $FSES; do
    why=$(df_prereq_missing "$fs")
    if [ -n "$why" ]; then
        skip 1 "$fs: $why"
        continue
    fi
    run_fs "$fs"
    _df_cleanup
done
done_testing
