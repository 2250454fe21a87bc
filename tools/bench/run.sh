#!/usr/bin/env bash
# tools/bench/run.sh — the scale benchmark of issue 4 (run by `make bench`).
#
# Generates synthetic stores with build/bench/genstore (kept in
# build/bench/stores/ and reused while seed, size and generator are the same),
# warms the cache, then runs the floor (build/bench/floor: one thread, nftw +
# read of every metadata file) and `ovl2fsck --json --min-age 0 -v` RUNS times
# each, interleaved (each round runs both on every store, smallest first),
# and prints medians:
#   - wall time of ovl2fsck vs the floor (and without the sizes stage),
#   - ovl2fsck's per-stage times (stderr "ovl2fsck: stage NAME SECONDS s"):
#     walk, parse and load are thread time summed over the scan's threads
#     (they overlap); scan, deep, derive, checks, sizes and report are wall
#     time and add up to the total,
#   - peak RSS (/usr/bin/time -v), the growth ratio of the largest store over
#     the smallest, and
#   - sizing: reclaimable_bytes vs `du -s -B1` over the same garbage paths.
# Targets are printed next to the numbers; nothing is asserted (timings on
# shared machines are noisy).
#
# Environment:
#   BENCH_SIZES="10000 30000"  image counts (≈ 3.9 layers per image)
#   BENCH_RUNS=5               timed runs per program and store
#   BENCH_SEED=1               generator seed
#   BENCH_GARBAGE=1            genstore --garbage PCT (a sprinkling of leftovers)
#   BENCH_STORES=build/bench/stores   where stores are generated (same disk)
#   BENCH_KEEP_STORES=1        0: delete the stores at the end
#   BENCH_COLD=1               (make bench COLD=1; root) also cold rounds: the page
#                              cache is dropped (sync; echo 3 >/proc/sys/vm/drop_caches)
#                              before every timed run of ovl2fsck, the floor and the
#                              parallel floor (build/bench/pfloor: every file of
#                              `floor --list` read by BENCH_PFLOOR_THREADS threads);
#                              also their CPU time (user + sys) and the reads the
#                              store's block device completed: cold reads cost
#                              kernel CPU, and when the parallel floor alone keeps
#                              the cores busy ovl2fsck's own work cannot hide
#                              behind its reads
#   BENCH_COLD_RUNS=3          cold rounds
#   BENCH_PFLOOR_THREADS=64
#   BENCH_IO_DEPTH             passed to ovl2fsck as --io-depth (default: its own)
#   BENCH_DAMON=pause          as root, turn off DAMON proactive reclaim (kdamonds
#                              with a pageout scheme) for the run, on again at exit;
#                              keep: leave it on (see lib.sh)
#   OVL2FSCK=./ovl2fsck
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP"
GENSTORE=$TOP/build/bench/genstore
FLOOR=$TOP/build/bench/floor
PFLOOR=$TOP/build/bench/pfloor
COLD=${BENCH_COLD:-}
[ "$COLD" = 0 ] && COLD=
COLD_RUNS=${BENCH_COLD_RUNS:-3}
PTHREADS=${BENCH_PFLOOR_THREADS:-64}
IODEPTH=()
[ -n "${BENCH_IO_DEPTH:-}" ] && IODEPTH=(--io-depth "$BENCH_IO_DEPTH")
OVL2FSCK=${OVL2FSCK:-$TOP/ovl2fsck}
SIZES=${BENCH_SIZES:-10000 30000}
RUNS=${BENCH_RUNS:-5}
SEED=${BENCH_SEED:-1}
GARBAGE=${BENCH_GARBAGE:-1}
STORES=${BENCH_STORES:-$TOP/build/bench/stores}
KEEP=${BENCH_KEEP_STORES:-1}
TIME=/usr/bin/time

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ -n "$COLD" ]; then
    [ "$(id -u)" = 0 ] || die "COLD=1 drops the page cache: run as root"
    [ -x "$PFLOOR" ] || die "$PFLOOR is missing (run: make bench)"
fi
for b in "$GENSTORE" "$FLOOR" "$OVL2FSCK"; do
    [ -x "$b" ] || die "$b is missing (run: make bench)"
done
if ! [ -x "$TIME" ]; then
    # GNU time gives the peak RSS; Debian package "time"
    if [ "$(id -u)" = 0 ]; then
        say "installing the 'time' package for /usr/bin/time"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null ||
            die "cannot install 'time'"
    else
        die "/usr/bin/time missing: apt-get install time"
    fi
fi
command -v sqlite3 >/dev/null || die "sqlite3 missing (make deps)"

mkdir -p "$STORES"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ovl2bench.XXXXXX")
trap 'damon_restore; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM HUP   # so that the EXIT trap turns reclaim on again
damon_pause


# ---- disk space --------------------------------------------------------------
# Measured on ext4 (4 KiB blocks): about 240 KiB and 61 inodes per image.
need_kib=0
need_inodes=0
for n in $SIZES; do
    d=$STORES/s$SEED-i$n-g$GARBAGE
    [ -f "$d.stamp" ] && continue
    need_kib=$((need_kib + n * 250))
    need_inodes=$((need_inodes + n * 65))
done
read -r avail_kib avail_inodes < <(df --output=avail,iavail -k "$STORES" | tail -n 1)
say "disk: $(human $((avail_kib * 1024))) and $avail_inodes inodes free on $(df --output=target "$STORES" | tail -n 1 | tr -d ' ');" \
    "new stores need about $(human $((need_kib * 1024))) and $need_inodes inodes"
if [ "$need_kib" -gt 0 ] && { [ "$avail_kib" -lt $((need_kib * 12 / 10)) ] || [ "$avail_inodes" -lt $((need_inodes * 12 / 10)) ]; }; then
    die "not enough free space for the stores (set BENCH_STORES or BENCH_SIZES)"
fi

# ---- stores ------------------------------------------------------------------
GEN_HASH=$(sha256sum tools/bench/genstore.c | cut -c1-16)
declare -A STORE SUMMARY
for n in $SIZES; do
    d=$STORES/s$SEED-i$n-g$GARBAGE
    stamp="genstore=$GEN_HASH seed=$SEED images=$n garbage=$GARBAGE"
    if [ -d "$d" ] && [ -f "$d.stamp" ] && [ "$(head -n 1 "$d.stamp")" = "$stamp" ]; then
        say "reusing $d"
    else
        rm -rf --one-file-system "$d" "$d.tmp" "$d.stamp"
        say "generating $n images into $d"
        t0=$(now_ns)
        "$GENSTORE" --out "$d.tmp" --images "$n" --seed "$SEED" --garbage "$GARBAGE" >"$WORK/sum" ||
            die "genstore failed"
        t1=$(now_ns)
        mv "$d.tmp" "$d"
        { echo "$stamp"; echo "gen_seconds=$(secs "$t0" "$t1")"; echo "store_bytes=$(du -s -B1 "$d" | cut -f1)"
          cat "$WORK/sum"; } >"$d.stamp.tmp"
        mv "$d.stamp.tmp" "$d.stamp"
        say "generated in $(secs "$t0" "$t1") s"
    fi
    STORE[$n]=$d
    SUMMARY[$n]=$d.stamp
done
fact() { sed -n "s/^$2=//p" "${SUMMARY[$1]}" | head -n 1; }

# ---- runs --------------------------------------------------------------------
load() { cut -d' ' -f1-3 /proc/loadavg; }
say "load average before the runs: $(load) on $(nproc) cores"
STAGES=()
declare -A MED

# One timed run of the floor, then of ovl2fsck, on store n.
run_once() {
    local n=$1 r=$2 d=${STORE[$1]} o=$WORK/$1 t0 t1 rc=0
    t0=$(now_ns)
    "$FLOOR" "$d" >"$o/floor.$r"
    t1=$(now_ns)
    secs "$t0" "$t1" >>"$o/floor.wall"
    t0=$(now_ns)
    "$TIME" -v -o "$o/time.$r" "$OVL2FSCK" "${IODEPTH[@]}" --root "$d" --json --min-age 0 -v >"$o/json.$r" 2>"$o/err.$r" || rc=$?
    t1=$(now_ns)
    [ $((rc & ~4)) = 0 ] || { cat "$o/err.$r" >&2; die "ovl2fsck exited $rc on $d"; }
    secs "$t0" "$t1" >>"$o/ovl.wall"
    sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$o/time.$r" >>"$o/rss"
    while read -r stage sec; do
        echo "$sec" >>"$o/stage.$stage"
        [[ " ${STAGES[*]} " == *" $stage "* ]] || STAGES+=("$stage")
    done < <(sed -n 's/^ovl2fsck: stage \([^ ]*\)  *\([0-9.]*\) s$/\1 \2/p' "$o/err.$r")
    say "store $n run $r/$RUNS: floor $(tail -n 1 "$o/floor.wall") s, ovl2fsck $(tail -n 1 "$o/ovl.wall") s"
}

for n in $SIZES; do
    mkdir -p "$WORK/$n"
    say "store $n: warming the cache"
    "$FLOOR" "${STORE[$n]}" >/dev/null
    "$OVL2FSCK" --root "${STORE[$n]}" --json --min-age 0 >/dev/null || true   # exit 4: garbage found
done
# Round r times every store once: a machine that speeds up or slows down
# during the benchmark shifts every size alike, not the growth ratio.
for ((r = 1; r <= RUNS; r++)); do
    for n in $SIZES; do
        run_once "$n" "$r"
    done
done

# ---- cold rounds (COLD=1) ----------------------------------------------------
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# Reads the store's block device has completed (its /sys/dev/block stat), or 0.
STORE_DEV=
dev_reads() {
    [ -n "$STORE_DEV" ] || return 0
    awk '{ print $1 }' "/sys/dev/block/$STORE_DEV/stat" 2>/dev/null || echo 0
}
# time_cold FILE CMD...: drop the page cache, run CMD, append its wall time to
# FILE, its CPU time (user + sys) to FILE.cpu and the device's reads to FILE.reads
time_cold() {
    local f=$1 t0 t1 r0 r1 rc=0
    shift
    drop_caches
    r0=$(dev_reads)
    t0=$(now_ns)
    "$TIME" -f "%U %S" -o "$f.time" "$@" >/dev/null 2>&1 || rc=$?
    t1=$(now_ns)
    r1=$(dev_reads)
    secs "$t0" "$t1" >>"$f"
    tail -n 1 "$f.time" | awk '{ printf "%.2f\n", $1 + $2 }' >>"$f.cpu"
    echo $((r1 - r0)) >>"$f.reads"
    return $rc
}
# One cold round on store n: the floor, the parallel floor, ovl2fsck, each
# on an empty page cache, with the load average before each.
cold_once() {
    local n=$1 r=$2 d=${STORE[$1]} o=$WORK/$1 rc=0
    load >>"$o/cold.load"
    time_cold "$o/cold.floor" "$FLOOR" "$d" || true
    time_cold "$o/cold.pfloor" "$PFLOOR" -j "$PTHREADS" "$o/files.list" || true
    time_cold "$o/cold.ovl" "$OVL2FSCK" "${IODEPTH[@]}" --root "$d" --json --min-age 0 || rc=$?
    [ $((rc & ~4)) = 0 ] || die "ovl2fsck exited $rc on $d (cold)"
    say "store $n cold run $r/$COLD_RUNS: floor $(tail -n 1 "$o/cold.floor") s," \
        "parallel floor $(tail -n 1 "$o/cold.pfloor") s, ovl2fsck $(tail -n 1 "$o/cold.ovl") s (load $(tail -n 1 "$o/cold.load"))"
}
if [ -n "$COLD" ]; then
    for n in $SIZES; do
        "$FLOOR" --list "${STORE[$n]}" >"$WORK/$n/files.list"   # the parallel floor's list, made beforehand
    done
    dev=$(stat -c %d "$STORES")
    STORE_DEV=$(((dev >> 8) & 0xfff)):$(((dev & 0xff) | ((dev >> 12) & 0xfff00)))
    [ -r "/sys/dev/block/$STORE_DEV/stat" ] || STORE_DEV=""
    for ((r = 1; r <= COLD_RUNS; r++)); do
        for n in $SIZES; do
            cold_once "$n" "$r"
        done
    done
    for n in $SIZES; do
        o=$WORK/$n
        MED[$n.cfloor]=$(median <"$o/cold.floor")
        MED[$n.cpfloor]=$(median <"$o/cold.pfloor")
        MED[$n.covl]=$(median <"$o/cold.ovl")
        for k in pfloor ovl; do
            MED[$n.c${k}cpu]=$(median <"$o/cold.$k.cpu")
            MED[$n.c${k}reads]=$(median <"$o/cold.$k.reads" | awk '{ printf "%d", $1 }')
        done
        MED[$n.cload]=$(cut -d' ' -f1 "$o/cold.load" | median)
    done
fi

for n in $SIZES; do
    d=${STORE[$n]}
    o=$WORK/$n
    MED[$n.floor]=$(median <"$o/floor.wall")
    MED[$n.ovl]=$(median <"$o/ovl.wall")
    MED[$n.rss]=$(median <"$o/rss")
    for s in "${STAGES[@]}"; do
        [ -f "$o/stage.$s" ] && MED[$n.$s]=$(median <"$o/stage.$s")
    done
    MED[$n.nosizes]=$(awk -v w="${MED[$n.ovl]}" -v s="${MED[$n.sizes]:-0}" 'BEGIN { printf "%.3f", w - s }')

    # sizing: the same garbage paths through du (hard links once across all)
    "$OVL2FSCK" --root "$d" --min-age 0 --db "$o/scan.db" -q >/dev/null 2>&1 || true
    sqlite3 "$o/scan.db" "SELECT path FROM finding WHERE severity = 'garbage' AND young = 0 AND path IS NOT NULL
                          UNION ALL SELECT owned FROM finding WHERE severity = 'garbage' AND young = 0 AND owned IS NOT NULL" |
        awk 'NF' >"$o/garbage.paths"
    MED[$n.reclaim]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["reclaimable_bytes"])' "$o/json.1")
    MED[$n.garbage]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["garbage"])' "$o/json.1")
    MED[$n.errors]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["errors"])' "$o/json.1")
    for ((r = 1; r <= 3; r++)); do
        t0=$(now_ns)
        (cd "$d" && xargs -d '\n' -a "$o/garbage.paths" du -s -B1 -c -- 2>/dev/null | tail -n 1 | cut -f1) >"$o/du.bytes"
        t1=$(now_ns)
        secs "$t0" "$t1" >>"$o/du.wall"
    done
    MED[$n.du]=$(cat "$o/du.bytes")
    MED[$n.duwall]=$(median <"$o/du.wall")
done

# ---- report ------------------------------------------------------------------
sizes=($SIZES)
small=${sizes[0]}
large=${sizes[${#sizes[@]} - 1]}
row() { printf '%-34s' "$1"; shift; for v in "$@"; do printf ' %14s' "$v"; done; printf '\n'; }
{
echo
echo "ovl2fsck benchmark — seed $SEED, garbage $GARBAGE%, $RUNS runs (medians), $(nproc) cores, load $(load)"
echo "$("$OVL2FSCK" --version 2>/dev/null | head -n 1), stores in $STORES (genstore summaries: <store>.stamp)"
echo
hdr=()
for n in $SIZES; do hdr+=("$n images"); done
row "" "${hdr[@]}" "target"
line() { local label=$1 key=$2 target=${3:-}; local vals=(); for n in $SIZES; do vals+=("${MED[$n.$key]:-?}"); done; row "$label" "${vals[@]}" "$target"; }
fline() { local label=$1 fn=$2 target=${3:-}; local vals=(); for n in $SIZES; do vals+=("$($fn "$n")"); done; row "$label" "${vals[@]}" "$target"; }
f_layers() { fact "$1" layers; }
f_dirs() { fact "$1" overlay_dirs; }
f_cont() { fact "$1" containers; }
f_size() { human "$(fact "$1" store_bytes)"; }
f_inodes() { echo $(($(fact "$1" files) + $(fact "$1" dirs))); }
fline "layers (layerdb)" f_layers
fline "overlay2 dirs" f_dirs
fline "containers" f_cont
fline "store size (du)" f_size
fline "store files+dirs" f_inodes
echo
line "floor wall (s)" floor
line "ovl2fsck wall (s)" ovl
f_ratio() { ratio "${MED[$1.ovl]}" "${MED[$1.floor]}"; }
f_ratio_ns() { ratio "${MED[$1.nosizes]}" "${MED[$1.floor]}"; }
fline "ratio ovl2fsck/floor" f_ratio
line "ovl2fsck wall without sizes (s)" nosizes
fline "ratio without sizes / floor" f_ratio_ns "<= 1.00 @40k"
for s in "${STAGES[@]}"; do
    [ "$s" = total ] && continue
    case $s in
        walk|parse|load) line "  stage $s (thread s, in scan)" "$s" ;;   # summed over the scan's threads
        *) line "  stage $s (s)" "$s" ;;
    esac
done
line "  stage total (s)" total
f_rss() { awk -v k="${MED[$1.rss]}" 'BEGIN { printf "%.1f", k / 1024 }'; }
fline "peak RSS (MiB)" f_rss "<= 150 @40k"
echo
line "findings: errors" errors
line "findings: garbage" garbage
f_expect() { fact "$1" expect.garbage_total; }
fline "garbage generated (expected)" f_expect
line "reclaimable_bytes" reclaim
line "du -s -B1 of the same paths" du
f_eq() { [ "${MED[$1.reclaim]}" = "${MED[$1.du]}" ] && echo equal || echo DIFFERENT; }
fline "bytes" f_eq
f_sz() { echo "${MED[$1.sizes]:-?}"; }
fline "sizes stage (s)" f_sz
line "du wall (s)" duwall
f_szr() { ratio "${MED[$1.sizes]:-0}" "${MED[$1.duwall]}"; }
fline "sizes / du" f_szr "<= 1.10"
echo
if [ -n "$COLD" ]; then
    echo
    echo "cold (page cache dropped before every run; $COLD_RUNS rounds, medians):"
    line "floor cold (s)" cfloor
    line "parallel floor cold, $PTHREADS threads (s)" cpfloor
    line "ovl2fsck cold (s)" covl
    f_cratio() { ratio "${MED[$1.covl]}" "${MED[$1.cpfloor]}"; }
    f_cfratio() { ratio "${MED[$1.covl]}" "${MED[$1.cfloor]}"; }
    fline "ratio ovl2fsck/parallel floor" f_cratio "<= 1.10"
    fline "ratio ovl2fsck/floor (cold)" f_cfratio
    line "load average (1 min, median)" cload
    # cold reads cost CPU in the kernel: when the parallel floor alone keeps
    # most cores busy, ovl2fsck's own work cannot hide behind its reads
    line "parallel floor CPU, user+sys (s)" cpfloorcpu
    line "ovl2fsck cold CPU, user+sys (s)" covlcpu
    CORES=$(nproc)
    f_busy() { awk -v c="${MED[$1.cpfloorcpu]}" -v w="${MED[$1.cpfloor]}" -v n="$CORES" \
                   'BEGIN { if (w > 0) printf "%.0f%%", 100 * c / (w * n); else print "?" }'; }
    fline "parallel floor CPU busy ($CORES cores)" f_busy
    line "device reads, parallel floor" cpfloorreads
    line "device reads, ovl2fsck" covlreads
    echo "cold verdict at the smallest store: $(verdict "$(f_cratio "$small")" 1.1)"
    echo
fi
if [ "$small" != "$large" ]; then
    g=$(ratio "${MED[$large.ovl]}" "${MED[$small.ovl]}")
    gns=$(ratio "${MED[$large.nosizes]}" "${MED[$small.nosizes]}")
    gf=$(ratio "${MED[$large.floor]}" "${MED[$small.floor]}")
    gl=$(ratio "$(fact "$large" layers)" "$(fact "$small" layers)")
    echo "growth $large/$small images: ovl2fsck ×$g (without sizes ×$gns; $(verdict "$g" 3.3) vs target ≤ 3.3)," \
         "floor ×$gf, layers ×$gl"
fi
echo "floor/ovl2fsck verdicts at the smallest store: ratio without sizes $(verdict "$(f_ratio_ns "$small")" 1.0)," \
     "RSS $(verdict "$(f_rss "$small")" 150), sizing $(verdict "$(f_szr "$small")" 1.1)"
} | tee "$WORK/report.txt"
mkdir -p build/bench
cp "$WORK/report.txt" build/bench/last-report.txt
for n in $SIZES; do cp "$WORK/$n/err.1" "build/bench/last-stderr.$n.txt" 2>/dev/null || true; done

if [ "$KEEP" = 0 ]; then
    for n in $SIZES; do rm -rf --one-file-system "${STORE[$n]}" "${STORE[$n]}.stamp"; done
fi
