# tools/bench/lib.sh — what both bench drivers (run.sh: Docker stores,
# run-containerd.sh: containerd roots) share: messages, the clock, and the
# medians, ratios and verdicts they print. Sourced, never run.

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
                           if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "nan"; else printf "%.2f", a / b }'; }
human() { awk -v b="$1" 'BEGIN { split("B KiB MiB GiB TiB", u); i = 1; while (b >= 1024 && i < 5) { b /= 1024; i++ }
                                 printf (i == 1 ? "%d %s" : "%.1f %s"), b, u[i] }'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { if (v == "nan") print "?"; else print (v + 0 <= t + 0 ? "ok" : "MISSED") }'; }

# Proactive reclaim. Some VMs (seen on these firecracker hosts: kernel 6.18,
# one kdamond with a "pageout" scheme for pages idle >= 60 s, up to 128 MiB/s)
# page the store out of the page cache while the bench runs: a "warm" run on
# the 30k store then found a third of the layer files not cached, and every
# warm figure, the growth ratio most, measured the disk. BENCH_DAMON=pause
# (default, as root) turns such kdamonds off for the run and back on at exit;
# keep: leaves them and says so.
DAMON_PAUSED=()
damon_pageout_kdamonds() {
    local k
    for k in /sys/kernel/mm/damon/admin/kdamonds/[0-9]*; do
        [ -f "$k/state" ] && [ "$(cat "$k/state" 2>/dev/null)" = on ] || continue
        grep -qx pageout "$k"/contexts/*/schemes/*/action 2>/dev/null && echo "$k"
    done
}
damon_pause() {
    local k list
    list=$(damon_pageout_kdamonds)
    [ -n "$list" ] || return 0
    if [ "${BENCH_DAMON:-pause}" != pause ] || [ "$(id -u)" != 0 ]; then
        say "warning: DAMON proactive reclaim (pageout) is on ($(echo $list | tr ' ' ',')): it pages the stores out" \
            "between and during runs, so warm figures include disk reads (BENCH_DAMON=pause, as root, stops it for the run)"
        return 0
    fi
    for k in $list; do
        echo off >"$k/state" 2>/dev/null && DAMON_PAUSED+=("$k")
    done
    say "DAMON proactive reclaim (pageout) paused for the run: ${DAMON_PAUSED[*]} (turned on again at exit)"
}
damon_restore() {
    local k
    for k in "${DAMON_PAUSED[@]}"; do
        echo on >"$k/state" 2>/dev/null || say "warning: could not turn $k on again: echo on >$k/state"
    done
    DAMON_PAUSED=()
}
