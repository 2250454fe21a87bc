#!/usr/bin/env bash
# tools/bench/run-containerd.sh — the containerd benchmark of issue 15 (run by
# `make bench STORE=containerd`).
#
# Generates containerd roots with tools/bench/genctrd.py (kept in
# build/bench/stores/ctrd-* and reused while seed, size and generator are the
# same), warms the cache, then runs the floor (build/bench/floor_ctrd: one
# thread reading every file and bbolt page the check needs) and
# `ovl2fsck --json --min-age 0 -v` RUNS times each, interleaved (each round
# runs both on every store, smallest first), and prints medians: wall times,
# the ratio ovl2fsck/floor, ovl2fsck's stages, peak RSS, the findings, and
# the growth from the smallest to the largest store. Nothing is asserted
# (timings on shared machines are noisy); targets are printed.
#
# Environment: BENCH_SIZES="10000 30000", BENCH_RUNS=5, BENCH_SEED=1,
# BENCH_GARBAGE=1 (per mille of the image count, genctrd.py --garbage),
# BENCH_STORES=build/bench/stores, OVL2FSCK=./ovl2fsck
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP"
GEN=$TOP/tools/bench/genctrd.py
FLOOR=$TOP/build/bench/floor_ctrd
OVL2FSCK=${OVL2FSCK:-$TOP/ovl2fsck}
SIZES=${BENCH_SIZES:-10000 30000}
RUNS=${BENCH_RUNS:-5}
SEED=${BENCH_SEED:-1}
GARBAGE=${BENCH_GARBAGE:-1}
STORES=${BENCH_STORES:-$TOP/build/bench/stores}
TIME=/usr/bin/time

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for b in "$FLOOR" "$OVL2FSCK"; do [ -x "$b" ] || die "$b is missing (run: make bench STORE=containerd)"; done
[ -x "$TIME" ] || die "/usr/bin/time missing: apt-get install time"

mkdir -p "$STORES"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ovl2bench-ctrd.XXXXXX")
trap 'damon_restore; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM HUP   # so that the EXIT trap turns reclaim on again
damon_pause

# ---- stores ------------------------------------------------------------------
GEN_HASH=$(cat "$GEN" tools/bench/bbolt_io.py | sha256sum | cut -c1-16)
declare -A STORE FACTS MED
for n in $SIZES; do
    d=$STORES/ctrd-s$SEED-i$n-g$GARBAGE
    stamp="genctrd=$GEN_HASH seed=$SEED images=$n garbage=$GARBAGE"
    if [ -d "$d" ] && [ -f "$d.stamp" ] && [ "$(head -n 1 "$d.stamp")" = "$stamp" ]; then
        say "reusing $d"
    else
        rm -rf --one-file-system "$d" "$d.tmp" "$d.stamp"
        say "generating $n images into $d"
        t0=$(now_ns)
        python3 "$GEN" --out "$d.tmp" --images "$n" --seed "$SEED" --garbage "$GARBAGE" >"$WORK/facts" || die "genctrd failed"
        t1=$(now_ns)
        mv "$d.tmp" "$d"
        { echo "$stamp"; echo "gen_seconds=$(secs "$t0" "$t1")"; cat "$WORK/facts"; } >"$d.stamp.tmp"
        mv "$d.stamp.tmp" "$d.stamp"
    fi
    STORE[$n]=$d
    FACTS[$n]=$d.stamp
done
fact() { sed -n "s/^$2=//p" "${FACTS[$1]}" | head -n 1; }

# ---- runs --------------------------------------------------------------------
STAGES=()
run_once() {
    local n=$1 r=$2 d=${STORE[$1]} o=$WORK/$1 t0 t1 rc=0
    t0=$(now_ns); "$FLOOR" "$d" >"$o/floor.$r"; t1=$(now_ns)
    secs "$t0" "$t1" >>"$o/floor.wall"
    t0=$(now_ns)
    "$TIME" -v -o "$o/time.$r" "$OVL2FSCK" --config /dev/null --root "$d" --json --min-age 0 -v >"$o/json.$r" 2>"$o/err.$r" || rc=$?
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
    "$OVL2FSCK" --config /dev/null --root "${STORE[$n]}" --json --min-age 0 >/dev/null || true
done
for ((r = 1; r <= RUNS; r++)); do
    for n in $SIZES; do run_once "$n" "$r"; done
done
for n in $SIZES; do
    o=$WORK/$n
    MED[$n.floor]=$(median <"$o/floor.wall")
    MED[$n.ovl]=$(median <"$o/ovl.wall")
    MED[$n.rss]=$(median <"$o/rss")
    for s in "${STAGES[@]}"; do [ -f "$o/stage.$s" ] && MED[$n.$s]=$(median <"$o/stage.$s"); done
    read -r MED[$n.errors] MED[$n.garbage] < <(python3 -c 'import json,sys
j = json.load(open(sys.argv[1])); print(j["summary"]["errors"], j["summary"]["garbage"])' "$o/json.1")
done

# ---- report ------------------------------------------------------------------
sizes=($SIZES)
small=${sizes[0]}
large=${sizes[${#sizes[@]} - 1]}
row() { printf '%-34s' "$1"; shift; for v in "$@"; do printf ' %14s' "$v"; done; printf '\n'; }
line() { local vals=(); for n in $SIZES; do vals+=("${MED[$n.$2]:-?}"); done; row "$1" "${vals[@]}" "${3:-}"; }
fline() { local vals=(); for n in $SIZES; do vals+=("$($2 "$n")"); done; row "$1" "${vals[@]}" "${3:-}"; }
{
echo
echo "ovl2fsck containerd benchmark — seed $SEED, garbage $GARBAGE‰, $RUNS runs (medians), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
hdr=(); for n in $SIZES; do hdr+=("$n images"); done
row "" "${hdr[@]}" "target"
f_f() { fact "$1" "$FACT"; }
for FACT in layers snapshots blobs containers; do fline "$FACT" f_f; done
f_meta() { awk -v b="$(stat -c %s "${STORE[$1]}/io.containerd.metadata.v1.bolt/meta.db")" 'BEGIN { printf "%.1f", b / 1048576 }'; }
fline "meta.db (MiB)" f_meta
echo
line "floor wall (s)" floor
line "ovl2fsck wall (s)" ovl
f_ratio() { ratio "${MED[$1.ovl]}" "${MED[$1.floor]}"; }
fline "ratio ovl2fsck/floor" f_ratio "<= 1.00"
for s in "${STAGES[@]}"; do [ "$s" = total ] || line "  stage $s (s)" "$s"; done
f_rss() { awk -v k="${MED[$1.rss]}" 'BEGIN { printf "%.1f", k / 1024 }'; }
fline "peak RSS (MiB)" f_rss
line "findings: errors" errors
line "findings: garbage" garbage
f_expect() { fact "$1" expect.garbage_total; }
fline "garbage generated (expected)" f_expect
echo
if [ "$small" != "$large" ]; then
    g=$(ratio "${MED[$large.ovl]}" "${MED[$small.ovl]}")
    gf=$(ratio "${MED[$large.floor]}" "${MED[$small.floor]}")
    echo "growth $large/$small images: ovl2fsck ×$g ($(verdict "$g" 3.3) vs target ≤ 3.3), floor ×$gf"
fi
for n in $SIZES; do echo "ratio at $n images: $(f_ratio "$n") ($(verdict "$(f_ratio "$n")" 1.0) vs target ≤ 1.00)"; done
} | tee "$WORK/report.txt"
mkdir -p build/bench
cp "$WORK/report.txt" build/bench/last-report-containerd.txt
