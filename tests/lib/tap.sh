# tests/lib/tap.sh — minimal TAP producer for bash test scripts.
#
#   . "$(dirname "$0")/../lib/tap.sh"
#   plan 3                      # or: no plan, then done_testing at the end
#   ok "it exists" test -f x    # passes when the command exits 0
#   is "$got" "$want" "name"
#   like "$got" 'regex' "name"  # bash ERE
#   diag "shown on stderr"; note "shown on stdout as a comment"
#   TAP_TODO="known bug ..."; <assertions>; TAP_TODO=   # expected failures
#   at_exit "cleanup command"   # run (LIFO) when the script exits, whatever happens
#   skip_all "reason"           # before any test: the whole file is skipped
#   done_testing                # prints the plan if none was given; exits 1 on failure
#
# The exit status of a script is the number of failed tests (capped at 254),
# 255 when it died before done_testing.

TAP_RUN=0
TAP_FAILED=0
TAP_PLANNED=
TAP_DONE=0
TAP_EXIT_HOOKS=()

# Repository root and the binary under test (tests may override OVL2FSCK).
TAP_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${OVL2FSCK:=$TAP_TOP/ovl2fsck}"

plan() {
    TAP_PLANNED=$1
    echo "1..$1"
}

skip_all() {
    echo "1..0 # SKIP $*"
    TAP_DONE=1
    exit 0
}

bail_out() {
    echo "Bail out! $*"
    TAP_DONE=1
    exit 255
}

_tap_escape() { printf '%s' "$1" | tr '\n#' ' _'; }

# TAP_TODO="reason": the next assertions are known to fail (a known bug);
# they are marked "# TODO reason" and do not fail the file. Unset it after.
TAP_TODO=

pass() {
    TAP_RUN=$((TAP_RUN + 1))
    echo "ok $TAP_RUN - $(_tap_escape "$1")${TAP_TODO:+ # TODO $(_tap_escape "$TAP_TODO")}"
}

fail() {
    TAP_RUN=$((TAP_RUN + 1))
    [ -n "$TAP_TODO" ] || TAP_FAILED=$((TAP_FAILED + 1))
    echo "not ok $TAP_RUN - $(_tap_escape "$1")${TAP_TODO:+ # TODO $(_tap_escape "$TAP_TODO")}"
    local c=1
    # Where the failing assertion was called from (skipping the helpers of this file).
    while [ "${BASH_SOURCE[$c]:-}" = "${BASH_SOURCE[0]}" ]; do c=$((c + 1)); done
    diag "  Failed test '$1'"
    diag "  at ${BASH_SOURCE[$c]:-?} line ${BASH_LINENO[$((c - 1))]:-?}."
}

skip() {
    local n=$1; shift
    local i
    for ((i = 0; i < n; i++)); do
        TAP_RUN=$((TAP_RUN + 1))
        echo "ok $TAP_RUN # skip $*"
    done
}

# diag: on stderr (shown by prove), except under TAP_TODO (expected failures
# stay quiet unless prove -v).
diag() {
    local line
    if [ -n "${TAP_TODO:-}" ]; then note "$@"; return; fi
    while IFS= read -r line; do printf '# %s\n' "$line" >&2; done <<<"$*"
}

note() {
    local line
    while IFS= read -r line; do printf '# %s\n' "$line"; done <<<"$*"
}

# ok NAME CMD [ARGS...]: passes when CMD exits 0.
ok() {
    local name=$1; shift
    if "$@"; then pass "$name"; return 0; fi
    fail "$name"
    diag "  command failed: $*"
    return 1
}

# nok NAME CMD [ARGS...]: passes when CMD exits non-zero.
nok() {
    local name=$1; shift
    if ! "$@"; then pass "$name"; return 0; fi
    fail "$name"
    diag "  command unexpectedly succeeded: $*"
    return 1
}

is() {
    if [ "$1" = "$2" ]; then pass "$3"; return 0; fi
    fail "$3"
    diag "         got: '$1'"
    diag "    expected: '$2'"
    return 1
}

isnt() {
    if [ "$1" != "$2" ]; then pass "$3"; return 0; fi
    fail "$3"
    diag "         got: '$1'"
    diag "    expected: anything else"
    return 1
}

like() {
    if [[ $1 =~ $2 ]]; then pass "$3"; return 0; fi
    fail "$3"
    diag "                  '${1:0:2000}'"
    diag "    doesn't match '$2'"
    return 1
}

unlike() {
    if ! [[ $1 =~ $2 ]]; then pass "$3"; return 0; fi
    fail "$3"
    diag "                  '${1:0:2000}'"
    diag "          matches '$2'"
    return 1
}

at_exit() { TAP_EXIT_HOOKS+=("$1"); }

_tap_on_exit() {
    local rc=$? i
    set +e
    for ((i = ${#TAP_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
        eval "${TAP_EXIT_HOOKS[$i]}" || true
    done
    if [ "$TAP_DONE" != 1 ]; then
        diag "test script died (status $rc) after $TAP_RUN tests"
        [ -n "$TAP_PLANNED" ] || echo "1..$TAP_RUN"
        exit 255
    fi
}
trap _tap_on_exit EXIT
trap 'exit 130' INT TERM

done_testing() {
    if [ -z "$TAP_PLANNED" ]; then
        echo "1..$TAP_RUN"
    elif [ "$TAP_PLANNED" != "$TAP_RUN" ]; then
        diag "planned $TAP_PLANNED tests but ran $TAP_RUN"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
    TAP_DONE=1
    [ "$TAP_FAILED" -gt 254 ] && TAP_FAILED=254
    exit "$TAP_FAILED"
}

# Test files run in parallel (tests/run-all: prove -j). A few tests start fake
# dockerd processes that name odd --config-file paths (a FIFO, a device):
# ovl2fsck's liveness probe, in any other test's run, would pin those files
# with O_PATH, which the strace checks of other tests do not expect. One lock
# per run, in $OVL2FSCK_TEST_CACHE, keeps them apart:
#   with_procs_lock CMD [ARGS...]   run CMD (a program, not a function) while
#                                   no such fake runs (the lock, shared)
#   procs_lock_exclusive            take it exclusively (before starting fakes)
#   procs_unlock                    release it (after they are gone)
# Without OVL2FSCK_TEST_CACHE (a test run by hand, alone) there is no lock.
TAP_PROCS_FD=
with_procs_lock() {
    if [ -n "${OVL2FSCK_TEST_CACHE:-}" ] && [ -d "$OVL2FSCK_TEST_CACHE" ] && command -v flock >/dev/null; then
        flock -o -s "$OVL2FSCK_TEST_CACHE/procs.lock" "$@"
    else
        "$@"
    fi
}
procs_lock_exclusive() {
    if [ -n "${OVL2FSCK_TEST_CACHE:-}" ] && [ -d "$OVL2FSCK_TEST_CACHE" ] && command -v flock >/dev/null; then
        exec {TAP_PROCS_FD}>"$OVL2FSCK_TEST_CACHE/procs.lock"
        flock -x "$TAP_PROCS_FD"
    fi
}
procs_unlock() {
    if [ -n "$TAP_PROCS_FD" ]; then
        exec {TAP_PROCS_FD}>&-
        TAP_PROCS_FD=
    fi
}

# tap_tmpdir: sets TAP_TMP to a temp dir for this test file (call it directly,
# not in $(...)); removed at exit unless OVL2FSCK_KEEP_TMP=1.
# tap_genstore: builds the bench's store generator (tools/bench/genstore.c)
# privately into $TAP_TMP/bin (a concurrent `make bench` cannot swap the
# binary under the test) and sets GEN to it; bails out when it cannot.
tap_genstore() {
    tap_tmpdir
    if ! make -s -C "$TAP_TOP" BENCH_DIR="$TAP_TMP/bin" "$TAP_TMP/bin/genstore" >"$TAP_TMP/make.log" 2>&1; then
        cat "$TAP_TMP/make.log" >&2
        bail_out "cannot build genstore"
    fi
    GEN=$TAP_TMP/bin/genstore
}

tap_tmpdir() {
    if [ -z "${TAP_TMP:-}" ]; then
        TAP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/o2t.XXXXXX")
        if [ "${OVL2FSCK_KEEP_TMP:-0}" = 1 ]; then
            at_exit 'diag "kept $TAP_TMP"'
        else
            at_exit 'rm -rf --one-file-system -- "$TAP_TMP"'
        fi
    fi
}
