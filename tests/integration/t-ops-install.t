#!/usr/bin/env bash
# t-ops-install.t — make install DESTDIR=… installs exactly the listed files
# (with their modes), make uninstall removes them, the units pass
# systemd-analyze verify, and the service and cron commands really run.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/ops-lib.bash"
ops_setup
command -v make >/dev/null || skip_all "no make"

D=$TAP_TMP/destdir
mkdir -p "$D"
MAKE=(make -s -C "$TAP_TOP")

# files_in DIR: "PATH MODE" of every non-directory under DIR, sorted.
files_in() { (cd "$1" && find . ! -type d -printf '%P %m\n' | LC_ALL=C sort); }

# ---- install ----------------------------------------------------------------------
ok "make install DESTDIR=… succeeds" "${MAKE[@]}" install DESTDIR="$D"
want="usr/local/lib/systemd/system/ovl2fsck.service 644
usr/local/lib/systemd/system/ovl2fsck.timer 644
usr/local/libexec/docker/cli-plugins/docker-fsck 755
usr/local/sbin/ovl2fsck 755
usr/local/share/doc/ovl2fsck/examples/ovl2fsck.conf.example 644
usr/local/share/doc/ovl2fsck/examples/ovl2fsck.cron 644
usr/local/share/man/man8/ovl2fsck.8 644"
is "$(files_in "$D")" "$want" "exactly the listed files, with their modes"
is "$("$D/usr/local/sbin/ovl2fsck" --version)" "ovl2fsck $(cat "$TAP_TOP/VERSION")" "the installed binary runs"
ok "the installed man page is the source" cmp -s "$D/usr/local/share/man/man8/ovl2fsck.8" "$TAP_TOP/man/ovl2fsck.8"
SERVICE=$D/usr/local/lib/systemd/system/ovl2fsck.service
TIMER=$D/usr/local/lib/systemd/system/ovl2fsck.timer
CRON=$D/usr/local/share/doc/ovl2fsck/examples/ovl2fsck.cron
like "$(grep '^ExecStart=' "$SERVICE")" \
    '^ExecStart=/usr/local/sbin/ovl2fsck --report --prometheus /var/lib/prometheus/node-exporter/ovl2fsck.prom -q$' \
    "the service runs the daily report into the textfile dir"
like "$(cat "$SERVICE")" $'Type=oneshot' "Type=oneshot"
like "$(cat "$SERVICE")" $'\nNice=19\nIOSchedulingClass=idle' "idle CPU and I/O priority"
like "$(grep '^OnCalendar=' "$TIMER")" '^OnCalendar=daily$' "the timer is daily"

ok "make install again (idempotent)" "${MAKE[@]}" install DESTDIR="$D"
is "$(files_in "$D")" "$want" "still exactly the listed files"

# ---- uninstall ----------------------------------------------------------------------
ok "make uninstall DESTDIR=… succeeds" "${MAKE[@]}" uninstall DESTDIR="$D"
is "$(files_in "$D")" "" "no file left"
ok "the doc dir is gone" test ! -e "$D/usr/local/share/doc/ovl2fsck"
ok "make uninstall twice is fine" "${MAKE[@]}" uninstall DESTDIR="$D"

# ---- another prefix: the paths to the binary follow ---------------------------------
D2=$TAP_TMP/destdir-usr
ok "make install PREFIX=/usr" "${MAKE[@]}" install PREFIX=/usr DESTDIR="$D2"
like "$(grep '^ExecStart=' "$D2/usr/lib/systemd/system/ovl2fsck.service")" '^ExecStart=/usr/sbin/ovl2fsck ' \
    "ExecStart follows SBINDIR"
like "$(grep -v '^#' "$D2/usr/share/doc/ovl2fsck/examples/ovl2fsck.cron" | grep ovl2fsck)" ' /usr/sbin/ovl2fsck ' \
    "the cron line follows SBINDIR"
like "$(grep '^bin=' "$D2/usr/libexec/docker/cli-plugins/docker-fsck")" '/usr/sbin/ovl2fsck[}]$' \
    "the docker fsck plugin runs the binary in SBINDIR"
is "$(grep '^version=' "$D2/usr/libexec/docker/cli-plugins/docker-fsck")" "version=$(cat "$TAP_TOP/VERSION")" \
    "the docker fsck plugin carries the version"
"${MAKE[@]}" uninstall PREFIX=/usr DESTDIR="$D2"
is "$(files_in "$D2")" "" "uninstall PREFIX=/usr leaves nothing"

# Reinstall for the checks below.
"${MAKE[@]}" install DESTDIR="$D" || bail_out "make install failed"
BIN=$D/usr/local/sbin/ovl2fsck

# ---- systemd-analyze verify ---------------------------------------------------------
# The units name /usr/local/sbin/ovl2fsck; verify copies whose ExecStart
# points at the binary installed under DESTDIR, with MANPATH so that
# Documentation=man:ovl2fsck(8) is checked against the installed page.
U=$TAP_TMP/units
mkdir -p "$U"
sed "s|/usr/local/sbin/ovl2fsck|$BIN|" "$SERVICE" > "$U/ovl2fsck.service"
cp "$TIMER" "$U/ovl2fsck.timer"
if ! command -v systemd-analyze >/dev/null; then
    skip 2 "no systemd-analyze (apt-get install systemd)"
else
    manopt=--man=yes
    command -v man >/dev/null || manopt=--man=no
    vout=$(MANPATH=$D/usr/local/share/man systemd-analyze verify "$manopt" "$U/ovl2fsck.service" "$U/ovl2fsck.timer" 2>&1)
    vrc=$?
    note "systemd-analyze verify $manopt: rc=$vrc${vout:+: $vout}"
    if [ "$vrc" = 0 ] && [ -z "$vout" ]; then pass "systemd-analyze verify passes, no warnings"; else fail "systemd-analyze verify"; diag "$vout"; fi
    sout=$(systemd-analyze security --offline=yes "$U/ovl2fsck.service" 2>&1 | grep 'Overall exposure level')
    note "systemd-analyze security: $sout"
    like "$sout" 'exposure level for ovl2fsck.service: [0-2]\.[0-9] ' "hardening: exposure level below 3"
fi

# ---- the commands of the service and the cron line really run -----------------------
STORE=$TAP_TMP/store
ops_store "$STORE"
TF=$TAP_TMP/textfile
mkdir -p "$TF"
# run_line NAME CMDLINE: run it with the binary, the textfile path and the store replaced.
run_line() {
    local cmd=${2//\/usr\/local\/sbin\/ovl2fsck/$BIN}
    cmd=${cmd//\/var\/lib\/prometheus\/node-exporter/$TF}
    rm -f "$TF/ovl2fsck.prom"
    RC=0
    eval "$cmd --root '$STORE' --config '$OPS_EMPTY_CONF' --checks-dir '$OPS_EMPTY_DIR'" >"$TAP_TMP/out" 2>&1 || RC=$?
    if [ "$RC" = 4 ] && [ -s "$TF/ovl2fsck.prom" ]; then pass "$1"; else fail "$1"; diag "exit $RC: $(cat "$TAP_TMP/out")"; fi
}
run_line "the service's ExecStart runs and writes the metrics (exit 4 = findings)" \
    "$(sed -n 's/^ExecStart=//p' "$SERVICE")"
like "$(grep '^SuccessExitStatus=' "$SERVICE")" '^SuccessExitStatus=4$' "exit 4 does not fail the unit"
cronline=$(grep -v '^#' "$CRON" | grep -v '^[A-Z]*=' | grep .)
like "$cronline" '^[0-9]+ +[0-9]+ +\* +\* +\* +root +' "the cron line: five time fields, user root"
if command -v ionice >/dev/null; then
    run_line "the cron command runs and writes the metrics" "$(sed -E 's/^([^ ]+ +){6}//' <<<"$cronline")"
else
    skip 1 "no ionice"
fi

# ---- the unit's capability set is enough (and needed) ---------------------------------
# Docker's dirs are 0700 and files may belong to any uid; the textfile dir
# belongs to the collector's user. Emulate the unit's bounding set and
# NoNewPrivileges with setpriv(1).
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
    skip 3 "needs root and setpriv(1)"
else
    caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$SERVICE" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
    note "CapabilityBoundingSet as setpriv: $caps"
    chown -R 1234:1234 "$STORE/overlay2/$OPS_ORPHAN"
    chmod 0700 "$STORE/overlay2/$OPS_ORPHAN" "$STORE/overlay2/$OPS_ORPHAN/diff"
    chmod 0600 "$STORE/overlay2/$OPS_ORPHAN/diff/file"
    chown 4321 "$TF"
    rm -f "$TF/ovl2fsck.prom"
    # confined ARGS...: run as the unit would (its caps, no new privileges).
    confined() {
        RC=0
        setpriv --bounding-set="-all${caps:+,$caps}" --inh-caps=-all --no-new-privs "$BIN" --root "$STORE" --min-age 0 \
            --config "$OPS_EMPTY_CONF" --checks-dir "$OPS_EMPTY_DIR" --prometheus "$TF/ovl2fsck.prom" "$@" \
            >"$TAP_TMP/out" 2>&1 || RC=$?
    }
    confined -q
    is "$RC:$(prom_value "$TF/ovl2fsck.prom" 'ovl2fsck_findings{check="overlay-dir-orphaned",severity="garbage"}')" \
        "4:1" "with the unit's capabilities: a 0700 dir of another uid is read, the metrics written"
    caps=""
    rm -f "$TF/ovl2fsck.prom"
    confined -q
    is "$RC" 12 "without them the same run fails (so the capabilities are needed)"
    like "$(cat "$TAP_TMP/out")" "Permission denied" "with 'Permission denied'"
fi

done_testing
