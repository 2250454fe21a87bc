#!/usr/bin/env bash
# tools/cmp-outputs.sh — are two ovl2fsck binaries' outputs identical?
#
#   tools/cmp-outputs.sh OLD NEW ROOT...
#
# Runs both binaries on every ROOT in each mode (report, --json, -q, --bytes,
# --reap, --reap --json; --min-age 0) at each --io-depth of CMP_DEPTHS
# ("1 32"), and compares stdout and the exit code (stderr is left out: it
# holds timings). CMP_USER=nobody runs them as that user (setpriv).
# Prints one line per difference and a count; exit 1 when any differ.
set -uo pipefail
OLD=$1 NEW=$2
shift 2
DEPTHS=${CMP_DEPTHS:-1 32}
AS=()
[ -n "${CMP_USER:-}" ] && AS=(setpriv --reuid="$CMP_USER" --regid="$(id -g "$CMP_USER")" --clear-groups)
MODES=("" "--json" "-q" "--bytes" "--reap" "--reap --json")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
runs=0 diffs=0
for root in "$@"; do
    for d in $DEPTHS; do
        for m in "${MODES[@]}"; do
            # shellcheck disable=SC2086
            "${AS[@]}" "$OLD" --io-depth "$d" --root "$root" --min-age 0 $m >"$tmp/old" 2>/dev/null
            echo "rc=$?" >>"$tmp/old"
            # shellcheck disable=SC2086
            "${AS[@]}" "$NEW" --io-depth "$d" --root "$root" --min-age 0 $m >"$tmp/new" 2>/dev/null
            echo "rc=$?" >>"$tmp/new"
            runs=$((runs + 1))
            if ! cmp -s "$tmp/old" "$tmp/new"; then
                diffs=$((diffs + 1))
                echo "DIFFERENT: $root depth $d mode '${m:-report}'"
                diff "$tmp/old" "$tmp/new" | head -n 6
            fi
        done
    done
done
echo "$runs comparisons, $diffs different"
[ "$diffs" = 0 ]
