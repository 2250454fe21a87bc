#!/usr/bin/env bash
# t-hostile-reap.t — the reaper (--reap, --reap --apply) on every hostile
# store of tests/hostile/expect.tsv that has findings (the 100k-entry cases
# excepted: their cost), under strace:
#   - the dry run writes nothing anywhere (no lock, no journal) and reads
#     nothing outside the root but the binary's own files;
#   - --apply never crashes (exit < 128) nor fails an item, writes outside
#     the root only its journal and temp databases, never opens the canary,
#     and leaves outside/ (what the store's symlinks point to) unchanged;
#   - every entry that disappeared lies under a path the plan named, nothing
#     new is left in the root, and no file outside the plan changed;
#   - a report afterwards finds no garbage of what was planned.
. "$(dirname "$0")/../lib/tap.sh"

HOSTILE=$TAP_TOP/tests/hostile
[ "$(id -u)" = 0 ] || skip_all "needs root"
command -v strace >/dev/null || skip_all "no strace (apt-get install strace)"
command -v python3 >/dev/null || skip_all "no python3"
[ -x "$OVL2FSCK" ] || bail_out "no $OVL2FSCK: run make first"
"$OVL2FSCK" --help | grep -q -- '--reap' || skip_all "this ovl2fsck has no reaper"

tap_tmpdir
CORPUS=$TAP_TMP/corpus
mkdir -p "$CORPUS"
if mount -t tmpfs -o size=1g,mode=755 tmpfs "$CORPUS" 2>/dev/null; then
    at_exit 'umount "$CORPUS" 2>/dev/null || umount -l "$CORPUS"'
fi
DBTMP=$TAP_TMP/dbtmp
mkdir -p "$DBTMP"
# the cases with garbage to remove, and two where a scan error must stop the reaper
GARBAGE='overlay-dir-orphaned|overlay-link-broken|layer-unreferenced|layerdb-tmp-leftover|layerdb-removing-leftover|imagedb-tmp-leftover|mount-container-missing|container-mount-missing'
mapfile -t CASES < <(awk -F'\t' -v g="$GARBAGE" '!/^#/ && $2 == "root" && $4 == 4 && $1 !~ /^many-/ &&
    ($5 ~ g || $1 == "overlay2-symlink" || $1 == "id-file-symlinks") {print $1}' "$HOSTILE/expect.tsv")
python3 "$HOSTILE/mkcorpus.py" "$CORPUS" "${CASES[@]}" || bail_out "mkcorpus.py failed"
t0=$SECONDS

BIN=$(readlink -f "$OVL2FSCK")
ALLOW=(
    --allow "$BIN" --allow /lib --allow /lib64 --allow /usr/lib --allow /usr/lib64 --allow /usr/local/lib
    --allow /etc/ld.so.cache --allow /etc/ld.so.preload --allow /etc/ssl/openssl.cnf
    --allow /proc/self --allow /proc/thread-self --allow-exact /proc --allow /proc/locks
    --allow-re '/proc/[0-9]+/(cmdline|comm|mountinfo|stat|status|task)(/.*)?'
    --allow /proc/sys/vm/overcommit_memory   # glibc malloc, when it gives a thread arena's memory back
    --allow /sys/devices/system/cpu
    --allow /etc/docker/daemon.json --allow /var/run/docker.pid --allow /run/docker.pid
    --allow /etc/ovl2fsck.conf --allow /etc/ovl2fsck --allow /etc/localtime --allow /usr/share/zoneinfo
    --allow /dev/null --allow /dev/urandom --allow /dev/tty
    --allow-exact /dev/shm --allow-exact /run                   # listed for killed runs' temp databases (full-disk fallbacks)
    --allow /run/ovl2fsck --allow /dev/shm/ovl2fsck             # the journal's full-disk fallbacks: a killed run's lines, adopted
    --allow-write /run/ovl2fsck --allow-write /dev/shm/ovl2fsck
    --allow-re '/(dev/shm|run)/ovl2fsck-(db|scan)-[0-9]+-[A-Za-z0-9]{6}(-wal|-shm)?'   # ... and those removed
    --allow-write-re '/(dev/shm|run)/ovl2fsck-(db|scan)-[0-9]+-[A-Za-z0-9]{6}(-wal|-shm)?'   # (another test's killed runs: run in parallel)
    --allow "$DBTMP" --allow-write "$DBTMP" --allow-readlink
)
while IFS= read -r d; do ALLOW+=(--allow-exact "$d"); done < <(
    d=$DBTMP; while [ "$d" != / ]; do d=$(dirname "$d"); echo "$d"; done)

snapshot() { find "$1" -printf '%P|%y|%s|%m|%T@|%l\n' 2>/dev/null | LC_ALL=C sort; }
traced() {   # traced LOG CMD...: run under strace in the case dir
    local log=$1; shift
    rm -f "$log".*
    # (LeakSanitizer cannot run under ptrace: off for a sanitizer build under strace)
    (cd "$dir" && TMPDIR=$DBTMP ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 with_procs_lock timeout -k 5 120 strace -ff -y -qq -e trace=%file,openat2 -e signal=none \
        -o "$log" "$@")
}

for case in "${CASES[@]}"; do
    dir=$CORPUS/$case
    root=$dir/root
    out=$TAP_TMP/$case
    outside_before=$(snapshot "$dir/outside")
    before=$(snapshot "$root")

    # the dry run
    traced "$out.dry" "$OVL2FSCK" --root "$root" --reap --min-age 0 --journal "$out.journal" >"$out.plan" 2>"$out.plan.err"
    rc=$?
    ok "$case: dry run exit $rc (0 or 4)" test "$rc" = 0 -o "$rc" = 4
    res=$(python3 "$HOSTILE/stracecheck.py" --cwd "$dir" --root "$root" "${ALLOW[@]}" --deny "$dir/outside" \
          --allow "$out.plan" --allow "$out.plan.err" --from-exec "$OVL2FSCK" "$out".dry.* 2>&1)
    if is "$res" "" "$case: dry run: nothing written, nothing outside read"; then :; else diag "$(head -n 10 <<<"$res")"; fi
    is "$(snapshot "$root")" "$before" "$case: dry run: the root is unchanged"
    ok "$case: dry run: no journal" test ! -e "$out.journal"
    planned=$(sed -nE 's/^ +(remove|rename-aside) +//p' "$out.plan")
    nplanned=$(grep -cE '^garbage ' "$out.plan")

    # --apply
    traced "$out.apply" "$OVL2FSCK" --root "$root" --reap --apply --min-age 0 --journal "$out.journal" \
        >"$out.done" 2>"$out.done.err"
    rc=$?
    note "$case: $nplanned planned; apply exit $rc: $(grep -E '^Reaped|^Nothing' "$out.done" | head -n1)"
    ok "$case: --apply: no crash (exit $rc)" test "$rc" -lt 8
    like "$(grep -E '^Reaped' "$out.done"; [ "$nplanned" = 0 ] && echo none)" ' 0 failed|^none' "$case: --apply: no item failed"
    res=$(python3 "$HOSTILE/stracecheck.py" --cwd "$dir" --root "$root" "${ALLOW[@]}" --deny "$dir/outside" \
          --writes-ok --allow "$out.journal" --allow-write "$out.journal" \
          --allow "$out.done" --allow "$out.done.err" --from-exec "$OVL2FSCK" "$out".apply.* 2>&1)
    if is "$res" "" "$case: --apply: outside the root only its journal written, nothing read"; then :; else
        diag "$(head -n 10 <<<"$res")"
    fi
    ok "$case: --apply: the canary was never opened" \
        bash -c '! grep -hE "= [0-9]+<[^>]*CANARY-|^open[a-z0-9]*\([^\"]*\"[^\"]*CANARY-" "$@"' _ "$out".apply.*
    is "$(snapshot "$dir/outside")" "$outside_before" "$case: --apply: outside/ unchanged"
    after=$(snapshot "$root")
    res=$(python3 - "$planned" <(echo "$before") <(echo "$after") 2>&1 <<'EOF'
import sys
planned = [p for p in sys.argv[1].split("\n") if p]
# the plan prints paths escaped (\xNN) as the report does; compare escaped
def esc(p):   # as text_escape(): invalid UTF-8, controls and DEL as \xNN, a backslash doubled
    out = []
    for c in p:
        o = ord(c)
        if 0xDC80 <= o <= 0xDCFF:
            out.append("\\x%02x" % (o - 0xDC00))
        elif o < 32 or o == 127:
            out.append("\\x%02x" % o)
        elif c == "\\":
            out.append("\\\\")
        else:
            out.append(c)
    return "".join(out)
def load(f):
    d = {}
    for line in open(f, encoding="utf-8", errors="surrogateescape"):
        path, rest = line.rstrip("\n").split("|", 1)
        d[path] = rest
    return d
before, after = load(sys.argv[2]), load(sys.argv[3])
def covered(p):
    p = esc(p)
    return any(p == q or p.startswith(q + "/") for q in planned)
for p in sorted(set(before) - set(after)):
    if not covered(p):
        print("removed but not planned: " + p)
for p in sorted(set(after) - set(before)):
    print("new in the root: " + p)
for p in sorted(set(before) & set(after)):
    if before[p] != after[p] and before[p].split("|")[0] != "d" and not p.endswith("repositories.json"):
        print("changed: %s %s -> %s" % (p, before[p], after[p]))
EOF
)
    if is "$res" "" "$case: --apply: only planned paths removed, nothing else changed"; then :; else diag "$(head -n 10 <<<"$res")"; fi
    (cd "$dir" && TMPDIR=$DBTMP "$OVL2FSCK" --root "$root" --min-age 0 --json >"$out.after.json" 2>/dev/null)
    left=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
planned = set(sys.argv[2].split("\n"))
print(" ".join(f["check"] + ":" + f["object"] for f in d["findings"] if f["severity"] == "garbage" and f["path"] in planned))' \
        "$out.after.json" "$planned" 2>&1)
    is "$left" "" "$case: a report afterwards finds none of the planned garbage"
done
note "t-hostile-reap: ${#CASES[@]} cases in $((SECONDS - t0))s"
done_testing
