#!/usr/bin/env bash
# run.sh SECONDS TARGET... — run the libFuzzer harnesses built by `make fuzz`.
#
# For each TARGET: replay tests/fuzz/regress/TARGET/* (saved crash inputs: each
# must now pass), then fuzz for SECONDS from the committed seeds
# (tests/fuzz/seeds/TARGET, plus fixtures/bbolt/*.snapshots.db for bbolt) and
# the corpus kept by earlier runs ($FUZZ_DIR/corpus/TARGET). New crash inputs
# are written to $FUZZ_DIR/artifacts/; copy them to tests/fuzz/regress/TARGET/
# once fixed. Prints one line per target (execs, coverage, corpus, crashes)
# and exits non-zero when any target crashed.
set -u
cd "$(dirname "$0")/../.."
FUZZ_DIR=${FUZZ_DIR:-build/fuzz}
secs=${1:?usage: run.sh SECONDS TARGET...}
shift
mkdir -p "$FUZZ_DIR/artifacts" "$FUZZ_DIR/logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
for t in "$@"; do
    bin=$FUZZ_DIR/fuzz_$t
    corpus=$FUZZ_DIR/corpus/$t
    log=$FUZZ_DIR/logs/$t.log
    mkdir -p "$corpus"
    case $t in
        bbolt) maxlen=262144; cp -n fixtures/bbolt/*.snapshots.db "$corpus/" 2>/dev/null ;;
        ids) maxlen=4096 ;;
        ctrd) maxlen=524288 ;;
        *) maxlen=65536 ;;
    esac
    if compgen -G "tests/fuzz/regress/$t/*" >/dev/null; then
        if ! "$bin" -runs=1 tests/fuzz/regress/"$t"/* >"$FUZZ_DIR/logs/$t.regress.log" 2>&1; then
            echo "fuzz $t: a saved regression input fails again, see $FUZZ_DIR/logs/$t.regress.log"
            failed=1
            continue
        fi
    fi
    "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2560 -max_len="$maxlen" \
        -print_final_stats=1 -artifact_prefix="$FUZZ_DIR/artifacts/$t-" \
        "$corpus" "tests/fuzz/seeds/$t" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n1)
    corp=$(grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' "$log" | tail -n1)
    crashes=$(grep -c '^artifact_prefix\|Test unit written to' "$log")
    echo "fuzz $t: ${secs}s, ${execs:-?} execs, ${cov:-cov: ?}, ${ft:-ft: ?}, ${corp:-corp: ?}, exit $rc, crash inputs: $crashes"
    if [ "$rc" != 0 ]; then
        failed=1
        grep -m3 -E 'ERROR: |runtime error|Test unit written' "$log" | sed 's/^/    /'
    fi
done
exit $failed
