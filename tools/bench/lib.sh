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
