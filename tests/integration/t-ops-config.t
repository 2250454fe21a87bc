#!/usr/bin/env bash
# t-ops-config.t — the config file: precedence (command line > config >
# default) for root, min-age, prometheus, checks-dir and check severities;
# errors name FILE:LINE and exit 16; a missing --config file is an error, a
# missing default file is not.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/ops-lib.bash"
ops_setup

A=$TAP_TMP/store-a
B=$TAP_TMP/store-b
ops_store "$A"
ops_store "$B"
# a young orphan in B: reported only with a min-age below its age
touch "$B/overlay2/$OPS_ORPHAN" "$B/overlay2/$OPS_ORPHAN/diff" "$B/overlay2/$OPS_ORPHAN/diff/file"
CONF=$TAP_TMP/ovl2fsck.conf
out=$TAP_TMP/out
err=$TAP_TMP/err

# ---- precedence: root ------------------------------------------------------------
printf '# test config\nroot = %s\n' "$A" > "$CONF"
ops_run "$out" "$err" --config "$CONF"
like "$(head -1 "$out")" "^ovl2fsck $A\$" "root from the config beats the default"
ops_run "$out" "$err" --config "$CONF" --root "$B"
like "$(head -1 "$out")" "^ovl2fsck $B\$" "--root beats the config"
ops_run "$out" "$err" --root "$B"
like "$(head -1 "$out")" "^ovl2fsck $B\$" "no config key: the command line value"

# ---- precedence: min-age (default 24h) ---------------------------------------------
printf 'root = %s\n' "$B" > "$CONF"
ops_run "$out" "$err" --config "$CONF"
like "$(cat "$out")" 'min-age: 1d' "no min-age anywhere: the default 24h"
like "$(cat "$out")" '1 young skipped' "and the fresh orphan is skipped as young"
is "$RC" 0 "exit 0"
printf 'root = %s\nmin-age = 0\n' "$B" > "$CONF"
ops_run "$out" "$err" --config "$CONF"
like "$(cat "$out")" 'min-age: 0' "min-age from the config"
is "$RC" 4 "and the orphan is reported (exit 4)"
ops_run "$out" "$err" --config "$CONF" --min-age 7d
like "$(cat "$out")" 'min-age: 7d' "--min-age beats the config"
is "$RC" 0 "and the orphan is young again (exit 0)"

# ---- precedence: prometheus, checks-dir, pidfile --------------------------------------
mkdir -p "$TAP_TMP/cfg.d" "$TAP_TMP/cmd.d"
for w in cfg cmd; do
    printf -- '-- check: from-%s\n-- severity: warning\n-- meaning: which dir\nSELECT name AS object FROM overlay_dir;\n' \
        "$w" > "$TAP_TMP/$w.d/which.sql"
done
printf 'root = %s\nprometheus = %s\nchecks-dir = %s\n' "$A" "$TAP_TMP/cfg.prom" "$TAP_TMP/cfg.d" > "$CONF"
OPS_CONFIG_DIR=1 ops_run "$out" "$err" --config "$CONF"
ok "prometheus from the config is written" test -s "$TAP_TMP/cfg.prom"
like "$(cat "$out")" 'from-cfg' "checks-dir from the config is used"
rm -f "$TAP_TMP/cfg.prom"
ops_run "$out" "$err" --config "$CONF" --prometheus "$TAP_TMP/cmd.prom" --checks-dir "$TAP_TMP/cmd.d"
ok "--prometheus beats the config" test -s "$TAP_TMP/cmd.prom" -a ! -e "$TAP_TMP/cfg.prom"
like "$(cat "$out")" 'from-cmd' "--checks-dir beats the config"
unlike "$(cat "$out")" 'from-cfg' "and the config's dir is not read"

# ---- check severities: config overrides the catalog, --ignore overrides the config ----
printf 'root = %s\ncheck.overlay-dir-orphaned = warning\n' "$A" > "$CONF"
ops_run "$out" "$err" --config "$CONF"
is "$RC" 0 "check.NAME = warning demotes garbage: exit 0"
like "$(cat "$out")" 'WARNINGS'$'\n''  overlay-dir-orphaned' "listed under warnings"
printf 'root = %s\ncheck.overlay-stray-entry = error\n' "$A" > "$CONF"
mkdir -p "$A/overlay2/stray-dir"
ops_run "$out" "$err" --config "$CONF"
like "$(cat "$out")" 'ERRORS'$'\n''  overlay-stray-entry' "check.NAME = error promotes a warning"
ops_run "$out" "$err" --config "$CONF" --ignore overlay-stray-entry
unlike "$(cat "$out")" 'overlay-stray-entry' "--ignore beats check.NAME in the config"
rmdir "$A/overlay2/stray-dir"
printf 'root = %s\ncheck.overlay-dir-orphaned = ignore\n' "$A" > "$CONF"
ops_run "$out" "$err" --config "$CONF"
is "$RC" 0 "check.NAME = ignore: the check does not run"

# ---- errors: FILE:LINE and exit 16 ---------------------------------------------------
# config_error NAME TEXT REGEX: the config TEXT fails with exit 16 and REGEX on stderr
config_error() {
    printf '%b' "$2" > "$CONF"
    ops_run "$out" "$err" --config "$CONF" --root "$A"
    if [ "$RC" = 16 ] && [[ $(cat "$err") =~ $3 ]]; then
        pass "$1"
    else
        fail "$1"
        diag "exit $RC, stderr: $(cat "$err")"
    fi
}
config_error "unknown key, with its line" 'root = /x\n\n# c\nfrobnicate = yes\n' \
    "ovl2fsck: $CONF:4: unknown key 'frobnicate'"
config_error "bad duration, with its line" 'min-age = 24h\nmin-age = tomorrow\n' \
    "$CONF:2: min-age: 'tomorrow' is not a duration"
config_error "bad severity, with its line" 'check.overlay-dir-orphaned = fatal\n' \
    "$CONF:1: check.overlay-dir-orphaned: 'fatal' is not ignore, warning, error or garbage"
config_error "unknown check name, with its line" '\n\ncheck.no-such-check = warning\n' \
    "$CONF:3: unknown check 'no-such-check'"
config_error "a line without =" 'root /srv/docker\n' "$CONF:1: expected 'key = value'"
config_error "an empty value" 'prometheus =\n' "$CONF:1: prometheus needs a value"
config_error "every bad line is reported" 'a = 1\nroot = /x\nb = 2\n' "$CONF:1: unknown key 'a'.*$CONF:3: unknown key 'b'"

printf 'prometheus = %s\nbogus = 1\n' "$TAP_TMP/bad.prom" > "$CONF"
ops_run "$out" "$err" --config "$CONF" --root "$A"
is "$(prom_value "$TAP_TMP/bad.prom" ovl2fsck_exit_code)" 16 \
    "a bad config still reports exit 16 to the metrics path it names"

ops_run "$out" "$err" --config "$TAP_TMP/no-such.conf" --root "$A"
is "$RC" 16 "a missing --config file is an error (16)"
like "$(cat "$err")" "no-such.conf: No such file or directory" "and says so"

ops_run "$out" "$err" --config "$TAP_TMP" --root "$A"
is "$RC" 16 "a directory as --config is an error"

printf 'root = %s\n' "$A" > "$CONF"
ops_run "$out" "$err" --config "$CONF" --checks-dir "$TAP_TMP/no-such.d"
is "$RC" 16 "a missing --checks-dir is an error (16)"

ops_run "$out" "$err" --config "$CONF" --help
is "$RC" 0 "--help does not need a config"
ops_run "$out" "$err" --config "$TAP_TMP/no-such.conf" --version
is "$RC" 0 "--version does not read the config"

# ---- the default file -----------------------------------------------------------------
if [ -e /etc/ovl2fsck.conf ]; then
    skip 1 "/etc/ovl2fsck.conf exists on this host"
else
    RC=0
    "$OVL2FSCK" --checks-dir "$OPS_EMPTY_DIR" --root "$A" >"$out" 2>"$err" || RC=$?
    is "$RC" 4 "no /etc/ovl2fsck.conf: the defaults, no error"
fi

done_testing
