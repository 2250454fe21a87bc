#!/usr/bin/env bash
# t-hostile.t — ovl2fsck on hostile store trees (tests/hostile/mkcorpus.py):
# traversal ids, symlinks out of the root and loops, FIFOs and devices where
# files belong, huge, sparse, truncated, garbage and 100k-deep JSON, NUL
# and non-UTF-8 bytes, 100k-entry dirs, corrupt snapshots.db, unreadable
# roots and dirs (as an unprivileged user). For every case of
# tests/hostile/expect.tsv:
#   - exit code exactly as expected, never a crash (< 128) or a hang (timeout);
#   - the named findings (and nothing unexpected), or the clear error on stderr;
#   - strace: no path outside the root other than the binary's own files
#     (tests/hostile/stracecheck.py, allow-list below), and nothing written
#     inside the root; the canary next to each root is never opened;
#   - the tree is unchanged afterwards (type, size, mode, owner, mtime, link).
# The two 100k-entry cases run without strace (its cost), under the same timeout.
. "$(dirname "$0")/../lib/tap.sh"

HOSTILE=$TAP_TOP/tests/hostile
[ "$(id -u)" = 0 ] || skip_all "needs root (device nodes, setpriv)"
command -v strace >/dev/null || skip_all "no strace (apt-get install strace)"
command -v python3 >/dev/null || skip_all "no python3"
[ -x "$OVL2FSCK" ] || bail_out "no $OVL2FSCK: run make first"
TIMEOUT=${HOSTILE_TIMEOUT:-120}

tap_tmpdir
chmod 755 "$TAP_TMP"                       # the unprivileged cases traverse it
CORPUS=$TAP_TMP/corpus
# On a tmpfs: 200k entries are made, walked and removed in seconds (sparse
# files stay sparse; the mount goes at exit).
mkdir -p "$CORPUS"
if mount -t tmpfs -o size=2g,mode=755 tmpfs "$CORPUS" 2>/dev/null; then
    at_exit 'umount "$CORPUS" 2>/dev/null || umount -l "$CORPUS"'
fi
DBTMP=$TAP_TMP/dbtmp                       # $TMPDIR of the runs: the temp databases
mkdir -p "$DBTMP" && chmod 1777 "$DBTMP"
t0=$SECONDS
python3 "$HOSTILE/mkcorpus.py" "$CORPUS" || bail_out "mkcorpus.py failed"
chmod 755 "$CORPUS"
note "corpus of $(ls "$CORPUS" | wc -l) cases generated in $((SECONDS - t0))s"

# Every case of the generator has a row, and every row a case.
is "$(python3 "$HOSTILE/mkcorpus.py" --list | sort)" \
   "$(grep -v '^#' "$HOSTILE/expect.tsv" | cut -f1 | sort)" "expect.tsv covers exactly the generated cases"

# ---- what a run may touch outside its root -------------------------------
BIN=$(readlink -f "$OVL2FSCK")
ALLOW=(
    --allow "$BIN"
    --allow /lib --allow /lib64 --allow /usr/lib --allow /usr/lib64 --allow /usr/local/lib
    --allow /etc/ld.so.cache --allow /etc/ld.so.preload          # the dynamic loader
    --allow /etc/ssl/openssl.cnf                                 # libcrypto's config
    --allow /proc/self --allow /proc/thread-self --allow-exact /proc
    --allow-re '/proc/[0-9]+/(cmdline|comm|mountinfo|stat|status|task)(/.*)?'   # liveness probe
    --allow /proc/sys/vm/overcommit_memory   # glibc malloc, when it gives a thread arena's memory back
    --allow /sys/devices/system/cpu                              # core count
    --allow /etc/docker/daemon.json --allow /var/run/docker.pid --allow /run/docker.pid
    --allow /etc/ovl2fsck.conf --allow /etc/ovl2fsck             # config file, own checks
    --allow /etc/localtime --allow /usr/share/zoneinfo
    --allow /dev/null --allow /dev/urandom --allow /dev/tty
    --allow-exact /dev/shm --allow-exact /run                   # listed for killed runs' temp databases (full-disk fallbacks)
    --allow-re '/(dev/shm|run)/ovl2fsck-(db|scan)-[0-9]+-[A-Za-z0-9]{6}(-wal|-shm)?'   # ... and those removed
    --allow-write-re '/(dev/shm|run)/ovl2fsck-(db|scan)-[0-9]+-[A-Za-z0-9]{6}(-wal|-shm)?'   # (another test's killed runs: run in parallel)
    --allow "$DBTMP"                                             # the temporary databases
    --allow /usr/bin/setpriv                                     # the unprivileged cases
)
# realpath() of the data root of each running dockerd (the liveness probe
# compares it with ours) readlinks that path and its ancestors; and reads
# its --config-file. Other tests may start a dockerd at any time: looked up
# before and after every case.
DOCKERD_ALLOW=()
dockerd_allow() {
    local p dr cf
    for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = dockerd ] || continue
        dr=$({ tr '\0' '\n' <"$p/cmdline"; } 2>/dev/null | awk 'f{print; exit} /^--data-root=/{sub(/^--data-root=/,""); print; exit} /^(--data-root|-g|--graph)$/{f=1}')
        cf=$({ tr '\0' '\n' <"$p/cmdline"; } 2>/dev/null | awk 'f{print; exit} /^--config-file=/{sub(/^--config-file=/,""); print; exit} /^--config-file$/{f=1}')
        [ -n "$cf" ] && DOCKERD_ALLOW+=(--allow "$cf")
        dr=${dr:-/var/lib/docker}
        while [ -n "$dr" ] && [ "$dr" != / ] && [ "$dr" != . ]; do
            DOCKERD_ALLOW+=(--allow-exact "$dr")
            dr=$(dirname "$dr")
        done
    done
}
while IFS= read -r d; do ALLOW+=(--allow-exact "$d"); done < <(
    d=$DBTMP; while [ "$d" != / ]; do d=$(dirname "$d"); echo "$d"; done)

snapshot() {   # the state of a tree, atimes excepted
    find "$1" -printf '%P|%y|%s|%m|%U|%G|%T@|%l\n' 2>/dev/null | LC_ALL=C sort
}

# ---- the cases ------------------------------------------------------------
while IFS=$'\t' read -r case runas rootarg want_exit want_findings also want_err; do
    [ -z "$case" ] || [ "${case:0:1}" = "#" ] && continue
    dir=$CORPUS/$case
    root=$dir/$rootarg
    out=$TAP_TMP/$case
    [ "$runas" = nobody ] && chmod 755 "$dir"
    heavy=0
    case $case in many-*) heavy=1 ;; esac
    before=$(snapshot "$dir")
    dockerd_allow
    cmd=("$OVL2FSCK" --root "$root" --min-age 0 --json)
    [ "$runas" = nobody ] && cmd=(setpriv --reuid=65534 --regid=65534 --clear-groups "${cmd[@]}")
    rm -f "$out".st.*
    ts=$SECONDS
    if [ "$heavy" = 1 ]; then
        (cd "$dir" && TMPDIR=$DBTMP timeout -k 5 "$TIMEOUT" "${cmd[@]}" >"$out.json" 2>"$out.err")
    else
        # (LeakSanitizer cannot run under ptrace: off for a sanitizer build under strace)
        (cd "$dir" && TMPDIR=$DBTMP ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
            with_procs_lock timeout -k 5 "$TIMEOUT" strace -ff -y -qq -e trace=%file,openat2 \
            -e signal=none -o "$out.st" "${cmd[@]}" >"$out.json" 2>"$out.err")
    fi
    rc=$?
    secs=$((SECONDS - ts))
    desc=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import mkcorpus; print(mkcorpus.CASES[sys.argv[2]].__doc__.split("\n")[0])' "$HOSTILE" "$case" 2>/dev/null)
    note "$case ($desc): exit $rc in ${secs}s"
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        fail "$case: no hang (timed out after ${TIMEOUT}s)"
        continue
    fi
    ok "$case: no crash (exit $rc < 128)" test "$rc" -lt 128
    is "$rc" "$want_exit" "$case: exit $want_exit"
    if [ "$want_err" = - ]; then
        is "$(cat "$out.err")" "" "$case: nothing on stderr"
    else
        like "$(cat "$out.err")" "$want_err" "$case: clear error on stderr"
    fi
    if [ "$want_exit" != 8 ]; then
        res=$(python3 "$HOSTILE/findings.py" "$out.json" "$dir/ids.env" "$want_findings" "$also" 2>&1)
        if is "$res" "" "$case: findings: ${want_findings:0:200}"; then :; else diag "$res"; fi
    fi
    if [ "$heavy" = 0 ]; then
        dockerd_allow
        # (judged against the case's root/: the --root error cases name a path below it)
        res=$(python3 "$HOSTILE/stracecheck.py" --cwd "$dir" --root "$dir/root" "${ALLOW[@]}" \
              "${DOCKERD_ALLOW[@]}" --allow-readlink --deny "$dir/outside" --from-exec "$OVL2FSCK" \
              --allow-write "$DBTMP" --allow "$out.json" --allow "$out.err" "$out".st.* 2>&1)
        if is "$res" "" "$case: strace: nothing outside the root read, nothing inside written"; then :; else
            diag "$(printf '%s\n' "$res" | head -n 15)"
        fi
        ok "$case: the canary outside the root was never opened" \
            bash -c '! grep -hE "= [0-9]+<[^>]*CANARY-|^open[a-z0-9]*\([^\"]*\"[^\"]*CANARY-" "$@"' _ "$out".st.*
    fi
    after=$(snapshot "$dir")
    is "$(diff <(echo "$before") <(echo "$after") | head -n 5)" "" "$case: the tree is unchanged"
done <"$HOSTILE/expect.tsv"

note "t-hostile: $(grep -vc '^#' "$HOSTILE/expect.tsv") cases in $((SECONDS - t0))s"
done_testing
