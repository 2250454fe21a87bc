#!/usr/bin/env bash
# t-valgrind.t — valgrind memcheck over ovl2fsck runs: the shared reference
# store a real dockerd built (tests/lib/store.sh), the captured store of
# fixtures/deep with --deep (tar-split rebuild), and hostile stores of
# tests/hostile/mkcorpus.py. Each run: no invalid read/write, no use of
# uninitialised memory, no definite or indirect leak (valgrind's own exit
# code 99 on any), and the same exit code as without valgrind.
. "$(dirname "$0")/../lib/tap.sh"
. "$TAP_TOP/tests/lib/store.sh"

command -v valgrind >/dev/null || skip_all "no valgrind (apt-get install valgrind)"
command -v python3 >/dev/null || skip_all "no python3"
[ -x "$OVL2FSCK" ] || bail_out "no $OVL2FSCK: run make first"
# a sanitizer build (make check-sanitize) cannot run under valgrind
grep -qa '__asan_init\|__ubsan_handle' "$OVL2FSCK" && skip_all "$OVL2FSCK is a sanitizer build"

tap_tmpdir
VG=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --num-callers=30)
# (--track-origins=yes halves the speed: add it by hand when chasing a report)

# memcheck NAME ARGS...: ovl2fsck ARGS... with and without valgrind.
memcheck() {
    local name=$1; shift
    local log=$TAP_TMP/vg.$(printf '%s' "$name" | tr -c 'A-Za-z0-9' _).log
    "$OVL2FSCK" "$@" >/dev/null 2>&1
    local want=$?
    local t0=$SECONDS
    "${VG[@]}" --log-file="$log" "$OVL2FSCK" "$@" >/dev/null 2>&1
    local rc=$?
    note "$name: exit $rc under valgrind in $((SECONDS - t0))s"
    if [ "$rc" = 99 ]; then
        fail "$name: memcheck clean"
        diag "$(grep -E '^==[0-9]+== ' "$log" | head -n 40)"
    else
        like "$(grep 'ERROR SUMMARY' "$log" | tail -n1)" 'ERROR SUMMARY: 0 errors' "$name: memcheck clean"
    fi
    is "$rc" "$want" "$name: same exit code as without valgrind ($want)"
}

# The reference store a real dockerd built (shared by the integration tests).
if [ -n "$(store_prereq_missing)" ]; then
    skip 2 "reference store: $(store_prereq_missing)"
elif ref_store_template; then
    memcheck "real store (dockerd)" --root "$REF_TEMPLATE" --min-age 0 --json
else
    skip 2 "the reference store could not be built"
fi

# A store captured from a real dockerd, with --deep (tar-split, CRC-64, confined opens).
mkdir -p "$TAP_TMP/deep"
tar -C "$TAP_TMP/deep" -xzf "$TAP_TOP/fixtures/deep/layers.tar.gz" || bail_out "cannot unpack fixtures/deep"
memcheck "fixtures/deep with --deep" --root "$TAP_TMP/deep" --min-age 0 --deep --threads 2 --json

# Hostile stores: every reader's error path.
CASES=(nul-ids fifos id-file-symlinks snapshots-page-loop json-garbage symlink-loops)
python3 "$TAP_TOP/tests/hostile/mkcorpus.py" "$TAP_TMP/corpus" "${CASES[@]}" nonutf8-ids || bail_out "mkcorpus.py failed"
for c in "${CASES[@]}"; do
    memcheck "hostile $c" --root "$TAP_TMP/corpus/$c/root" --min-age 0 --json
done
memcheck "hostile nonutf8-ids, text report" --root "$TAP_TMP/corpus/nonutf8-ids/root" --min-age 0 --bytes
memcheck "unreadable root" --root "$TAP_TMP/corpus/nul-ids/root/image/overlay2/repositories.json"
done_testing
