#!/usr/bin/env bash
# t-ops-man.t — the man page ovl2fsck(8): lint-clean (mandoc -Tlint, groff
# -ww), its CHECKS section equals the catalog (generated from sql/checks by
# man/gen-catalog.sh and equal to ovl2fsck --list-checks), it documents
# every option of --help and every exit bit.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/ops-lib.bash"
ops_setup

PAGE=$TAP_TOP/man/ovl2fsck.8
[ -f "$PAGE" ] || bail_out "no $PAGE"

# ---- lint ---------------------------------------------------------------------------
if command -v mandoc >/dev/null; then
    lint=$(mandoc -Tlint "$PAGE" 2>&1)
    rc=$?
    note "mandoc -Tlint: rc=$rc${lint:+: $lint}"
    is "$rc:$lint" "0:" "mandoc -Tlint: no message at any level"
else
    skip 1 "no mandoc (apt-get install mandoc)"
fi
if command -v groff >/dev/null; then
    lint=$(groff -ww -z -man "$PAGE" 2>&1)
    note "groff -ww -z -man: ${lint:-no warnings}"
    is "$lint" "" "groff -ww -z -man: no warnings"
else
    skip 1 "no groff"
fi
if command -v man >/dev/null; then
    lint=$(MANWIDTH=80 man --warnings -l "$PAGE" 2>&1 >/dev/null)
    is "$lint" "" "man --warnings -l renders it without warnings"
else
    skip 1 "no man"
fi

# ---- the catalog ---------------------------------------------------------------------
section=$(sed -n '/^\.\\" BEGIN CATALOG/,/^\.\\" END CATALOG/p' "$PAGE" | sed '1d;$d')
generated=$("$TAP_TOP/man/gen-catalog.sh" "$TAP_TOP"/sql/checks/*.sql)
if [ "$section" = "$generated" ]; then
    pass "the CHECKS section is what man/gen-catalog.sh makes of sql/checks"
else
    fail "the CHECKS section is what man/gen-catalog.sh makes of sql/checks"
    diag "the man page is stale: run 'make man' and commit man/ovl2fsck.8"
    diag "$(diff <(printf '%s\n' "$section") <(printf '%s\n' "$generated") | head -20)"
fi
# names and severities as the page shows them, against the binary's catalog
from_page=$(sed -n 's/^\.BR \([a-z0-9-]*\) " (\([a-z]*\))"$/\1 \2/p' <<<"$section")
from_binary=$("$OVL2FSCK" --config "$OPS_EMPTY_CONF" --checks-dir "$OPS_EMPTY_DIR" --list-checks | awk '{ print $1, $2 }')
is "$from_page" "$from_binary" "the page lists exactly the checks of ovl2fsck --list-checks ($(wc -l <<<"$from_binary"))"

# ---- options and exit bits -----------------------------------------------------------
missing=""
for opt in $("$OVL2FSCK" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
    grep -qF -- "${opt//-/\\-}" "$PAGE" || missing="$missing $opt"
done
is "$missing" "" "every long option of --help is in the page"
for short in q v h; do
    grep -qF -- "\\-$short" "$PAGE" || missing="$missing -$short"
done
is "$missing" "" "and the short ones"
sect=$(sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$PAGE")
bits=""
for b in 0 1 4 8 16 32; do grep -qx "\.B $b" <<<"$sect" || bits="$bits $b"; done
is "$bits" "" "EXIT STATUS lists 0 1 4 8 16 32"
for s in NAME SYNOPSIS DESCRIPTION OPTIONS CHECKS "OWN CHECKS" CONFIGURATION "PROMETHEUS METRICS" \
    "EXIT STATUS" FILES EXAMPLES; do
    grep -qx "\.SH \"\\?$s\"\\?" "$PAGE" || bits="$bits [$s]"
done
is "$bits" "" "all the sections are there"
for m in ovl2fsck_findings ovl2fsck_reclaimable_bytes ovl2fsck_objects ovl2fsck_young_skipped \
    ovl2fsck_duration_seconds ovl2fsck_last_run_timestamp_seconds ovl2fsck_last_success_timestamp_seconds \
    ovl2fsck_exit_code ovl2fsck_check_failures; do
    grep -q "$m" "$PAGE" || bits="$bits $m"
done
is "$bits" "" "every metric is documented"

done_testing
