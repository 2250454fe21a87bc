#!/usr/bin/env bash
# tools/bench/deep.sh — throughput of `ovl2fsck --deep` (issue 5), run by `make bench`.
#
# Builds once, with a private real dockerd, a store of BENCH_DEEP_LAYERS large
# layers (`docker import` of tarballs of /usr files, about BENCH_DEEP_MB MiB in
# all) under build/bench/deep/ and reuses it while the layer plan is the same.
# Each layer's rebuilt tar stream (what `docker save` writes as layer.tar) is
# dumped once with tests/tools/deeprebuild.c (deep_rebuild_stream) into
# build/bench/deep/streams/. Then, warm cache, interleaved, BENCH_RUNS times:
#   - ovl2fsck --deep (default threads: one per core) and --deep --threads 1:
#     throughput = bytes of rebuilt streams (sum of deep_layer.bytes, --db) /
#     the "deep" stage time of -v;
#   - sha256sum over the dumped streams (the same bytes): bytes / wall time;
#   - for reference, `openssl dgst -sha256` over them (the libcrypto ovl2fsck
#     uses: coreutils' sha256sum has its own portable SHA-256, no SHA-NI).
# Prints the medians (wall, and CPU user+sys: less sensitive to other load on
# the machine) and the ratio ovl2fsck / sha256sum (target >= 80%).
# Nothing is asserted unless BENCH_STRICT=1 (then exit 1 below the target):
# timings on shared machines are noisy.
#
# Environment:
#   BENCH_DEEP_MB=1600       total size of the layers' files
#   BENCH_DEEP_LAYERS=4      number of layers (one image each)
#   BENCH_RUNS=3             timed runs per program
#   BENCH_DEEP_DIR=build/bench/deep
#   BENCH_STRICT=0
#   OVL2FSCK=./ovl2fsck
# Needs root, docker.io (/usr/bin/docker, dockerd), sqlite3, a C compiler, and
# `make ovl2fsck` done (build/libovl2fsck.a).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP"
MB=${BENCH_DEEP_MB:-1600}
NLAYERS=${BENCH_DEEP_LAYERS:-4}
RUNS=${BENCH_RUNS:-3}
DIR=${BENCH_DEEP_DIR:-$TOP/build/bench/deep}
STRICT=${BENCH_STRICT:-0}
OVL2FSCK=${OVL2FSCK:-$TOP/ovl2fsck}
STORE=$DIR/store
STREAMS=$DIR/streams
HELPER=$DIR/deeprebuild
PLAN="v1 layers=$NLAYERS mb=$MB"

say() { printf 'bench-deep: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (a private dockerd builds the store)"
[ -x "$OVL2FSCK" ] || die "$OVL2FSCK is not built (make ovl2fsck)"
[ -f build/libovl2fsck.a ] || die "build/libovl2fsck.a is not built (make ovl2fsck)"
for c in sqlite3 sha256sum cc pkg-config python3 tar; do
    command -v "$c" >/dev/null || die "no $c"
done
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)
STORE=$DIR/store STREAMS=$DIR/streams HELPER=$DIR/deeprebuild

# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O2 -Iinclude -o "$HELPER" tests/tools/deeprebuild.c build/libovl2fsck.a \
    $(pkg-config --libs sqlite3 libcjson libcrypto zlib) -lpthread

# ------------------------------------------------------------------ the store
# File lists: regular files, symlinks and dirs of /usr (not /usr/local), in
# sorted walk order, cut into NLAYERS lists of about MB/NLAYERS MiB of file
# data each; every list carries its files' parent dirs.
make_lists() {
    python3 - "$1" "$NLAYERS" "$MB" <<'EOF'
import os, stat, sys
out, n, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = mb * 1024 * 1024 // n
lists, cur, size, dirs = [], [], 0, set()
def add(path):
    parts = path.split("/")
    for i in range(2, len(parts)):
        d = "/".join(parts[:i])
        if d not in dirs:
            dirs.add(d)
            cur.append(d)
    cur.append(path)
for root, dnames, fnames in os.walk("/usr"):
    dnames[:] = sorted(d for d in dnames if os.path.join(root, d) != "/usr/local")
    for f in sorted(fnames):
        p = os.path.join(root, f)
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            continue
        add(p)
        size += st.st_size if stat.S_ISREG(st.st_mode) else 0
        if size >= per:
            lists.append(cur)
            cur, size, dirs = [], 0, set()
            if len(lists) == n:
                break
    if len(lists) == n:
        break
if cur and len(lists) < n:
    lists.append(cur)
for i, l in enumerate(lists):
    with open(os.path.join(out, "list%d" % i), "w") as f:
        f.write("\n".join(p.lstrip("/") for p in l) + "\n")
print(len(lists))
EOF
}

build_store() {
    say "building the store ($PLAN) in $STORE"
    # shellcheck source=../../tests/lib/dockerd.sh
    . "$TOP/tests/lib/dockerd.sh"
    rm -rf --one-file-system "$STORE" "$STREAMS" "$DIR/plan" "$DIR/lists"
    mkdir -p "$DIR/lists"
    local n i exec_root t0=$SECONDS
    n=$(make_lists "$DIR/lists")
    exec_root=$(mktemp -d /tmp/o2b.XXXXXX)
    DOCKERD_LOG_FILE=$DIR/dockerd.log
    trap 'dockerd_stop; rm -rf --one-file-system "$exec_root"' EXIT
    dockerd_start "$STORE" "$exec_root/e" || die "dockerd did not start (log $DIR/dockerd.log)"
    for ((i = 0; i < n; i++)); do
        tar --numeric-owner --no-recursion -C / -cf - -T "$DIR/lists/list$i" |
            dockerd_docker import - "bench/deep-$i:1" >/dev/null || die "docker import of layer $i failed"
    done
    dockerd_stop
    trap - EXIT
    rm -rf --one-file-system "$exec_root"
    echo "$PLAN" >"$DIR/plan"
    say "store built in $((SECONDS - t0))s"
}

if [ "$(cat "$DIR/plan" 2>/dev/null)" != "$PLAN" ] || ! [ -d "$STORE/image/overlay2/layerdb/sha256" ]; then
    build_store
fi
mapfile -t CHAINS < <(find "$STORE/image/overlay2/layerdb/sha256" -mindepth 1 -maxdepth 1 -type d \
    -regextype posix-extended -regex '.*/[0-9a-f]{64}' -printf '%f\n' | sort)
[ ${#CHAINS[@]} -gt 0 ] || die "no layers in $STORE"

# ------------------------------------------------------------------ the streams
if ! [ -f "$STREAMS/done" ]; then
    say "dumping ${#CHAINS[@]} rebuilt streams to $STREAMS"
    rm -rf "$STREAMS" && mkdir -p "$STREAMS"
    for c in "${CHAINS[@]}"; do
        "$HELPER" "$STORE" "$c" >"$STREAMS/$c.tar" || die "deeprebuild $c failed"
        want=$(cat "$STORE/image/overlay2/layerdb/sha256/$c/diff")
        got=sha256:$(sha256sum <"$STREAMS/$c.tar" | cut -d' ' -f1)
        [ "$got" = "$want" ] || die "layer $c: rebuilt stream is $got, diffID $want"
    done
    touch "$STREAMS/done"
fi
BYTES=$(cat "$STREAMS"/*.tar | wc -c)

# ------------------------------------------------------------------ measure
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mibs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1048576 / s }'; }

# cpu_of CMD...: runs it; prints "wall cpu" seconds (cpu = user + sys)
cpu_of() {
    local TIMEFORMAT='%R %U %S' out
    out=$({ time "$@" >/dev/null 2>&1; } 2>&1) || return 1
    awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' <<<"$out"
}

# run_deep THREADS_ARGS...: prints "deep_stage_seconds bytes process_cpu_seconds"
run_deep() {
    local db=$DIR/run.db rc=0
    rm -f "$db"
    local TIMEFORMAT='%U %S' cpu
    cpu=$({ time "$OVL2FSCK" --root "$STORE" --deep --min-age 0 --json --db "$db" -v "$@" \
              >"$DIR/run.json" 2>"$DIR/run.err"; } 2>&1) || rc=$?
    [ "$rc" = 0 ] || die "ovl2fsck --deep exited $rc (findings? see $DIR/run.json, $DIR/run.err)"
    local s b v
    s=$(awk '$2 == "stage" && $3 == "deep" { print $4 }' "$DIR/run.err")
    b=$(sqlite3 "$db" "SELECT sum(bytes) FROM deep_layer")
    v=$(sqlite3 "$db" "SELECT count(*) FROM deep_layer WHERE state = 'verified'")
    [ "$v" = "${#CHAINS[@]}" ] || die "only $v of ${#CHAINS[@]} layers verified"
    [ -n "$s" ] || die "no 'stage deep' line in ovl2fsck -v output"
    echo "$s $b $(awk '{ printf "%.3f", $1 + $2 }' <<<"$cpu")"
}

say "warming the cache"
cat "$STREAMS"/*.tar >/dev/null
run_deep >/dev/null

CORES=$(nproc)
HAVE_OPENSSL=0
command -v openssl >/dev/null && HAVE_OPENSSL=1
deep_n=() deep_1=() sha=() cpu_n=() cpu_1=() cpu_s=() ossl=() cpu_o=()
for ((r = 1; r <= RUNS; r++)); do
    read -r s b c < <(run_deep)
    [ "$b" = "$BYTES" ] || die "deep_layer bytes $b differ from the dumped streams' $BYTES"
    deep_n+=("$s") cpu_n+=("$c")
    read -r s b c < <(run_deep --threads 1)
    deep_1+=("$s") cpu_1+=("$c")
    read -r s c < <(cpu_of sha256sum "$STREAMS"/*.tar)
    sha+=("$s") cpu_s+=("$c")
    line="run $r/$RUNS: deep ${deep_n[-1]}s, deep --threads 1 ${deep_1[-1]}s, sha256sum ${sha[-1]}s"
    if [ "$HAVE_OPENSSL" = 1 ]; then
        read -r s c < <(cpu_of openssl dgst -sha256 "$STREAMS"/*.tar)
        ossl+=("$s") cpu_o+=("$c")
        line+=", openssl dgst ${ossl[-1]}s"
    fi
    say "$line; load $(cut -d' ' -f1 /proc/loadavg)"
done
med() { printf '%s\n' "$@" | median; }
m_n=$(med "${deep_n[@]}") m_1=$(med "${deep_1[@]}") m_s=$(med "${sha[@]}")
ratio_n=$(awk -v a="$m_s" -v b="$m_n" 'BEGIN { printf "%.0f", 100 * a / b }')
ratio_1=$(awk -v a="$m_s" -v b="$m_1" 'BEGIN { printf "%.0f", 100 * a / b }')

printf 'deep bench: %d layers, %d bytes of rebuilt tar streams (%s MiB), %d cores, median of %d\n' \
    "${#CHAINS[@]}" "$BYTES" "$(awk -v b="$BYTES" 'BEGIN { printf "%.0f", b / 1048576 }')" "$CORES" "$RUNS"
printf '  %-42s %9s %11s %9s %11s\n' "" "wall s" "wall MiB/s" "cpu s" "cpu MiB/s"
row() { # NAME WALL CPU
    printf '  %-42s %9s %11s %9s %11s\n' "$1" "$2" "$(mibs "$BYTES" "$2")" "$3" "$(mibs "$BYTES" "$3")"
}
row "ovl2fsck --deep ($CORES threads, deep stage)" "$m_n" "$(med "${cpu_n[@]}")"
row "ovl2fsck --deep --threads 1" "$m_1" "$(med "${cpu_1[@]}")"
row "sha256sum (same bytes)" "$m_s" "$(med "${cpu_s[@]}")"
[ "$HAVE_OPENSSL" = 1 ] && row "openssl dgst -sha256 (reference)" "$(med "${ossl[@]}")" "$(med "${cpu_o[@]}")"
printf '  (ovl2fsck cpu is the whole process: scan, deep, checks)\n'
verdict=ok
[ "$ratio_n" -ge 80 ] || verdict="BELOW TARGET"
printf '  ratio ovl2fsck/sha256sum: %s%% with %d threads, %s%% with 1 (target >= 80%%): %s\n' \
    "$ratio_n" "$CORES" "$ratio_1" "$verdict"
if [ "$STRICT" = 1 ] && [ "$verdict" != ok ]; then
    exit 1
fi
