#!/usr/bin/env bash
# t-docker-fsck.t — `docker fsck`: dist/docker-fsck as a Docker CLI plugin,
# run by the real docker CLI (/usr/bin/docker from docker.io) from a private
# config dir's cli-plugins (DOCKER_CONFIG: the user's and the system's plugin
# dirs are not touched). It answers docker-cli-plugin-metadata, shows in
# `docker --help`, passes its arguments through unchanged (the CLI's leading
# "fsck" dropped) with ovl2fsck's exit status, and says that --apply needs
# dockerd stopped when one is running. No dockerd needed.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/ops-lib.bash"
ops_setup
DOCKER=${DOCKER_BIN:-/usr/bin/docker}
[ -x "$DOCKER" ] || skip_all "no $DOCKER (apt-get install docker.io)"
command -v python3 >/dev/null || skip_all "no python3"

VERSION=$(cat "$TAP_TOP/VERSION")
export DOCKER_CONFIG=$TAP_TMP/docker-config
PLUGIN=$DOCKER_CONFIG/cli-plugins/docker-fsck
mkdir -p "$DOCKER_CONFIG/cli-plugins"
# as make install writes it (the version filled in)
sed -e "s|^version=@VERSION@\$|version=$VERSION|" "$TAP_TOP/dist/docker-fsck" >"$PLUGIN"
chmod 755 "$PLUGIN"
# no daemon is asked for anything: point the CLI at a socket that does not exist
export DOCKER_HOST=unix://$TAP_TMP/no-dockerd.sock
unset DOCKER_CONTEXT

# ---- metadata -----------------------------------------------------------------
meta=$("$PLUGIN" docker-cli-plugin-metadata)
is "$?" 0 "docker-fsck docker-cli-plugin-metadata: exit 0"
is "$(printf '%s' "$meta" | python3 -c '
import json, sys
m = json.load(sys.stdin)
ok = (m.get("SchemaVersion") == "0.1.0" and m.get("Vendor") and m.get("ShortDescription")
      and set(m) <= {"SchemaVersion", "Vendor", "Version", "ShortDescription", "URL", "Experimental"})
print(m.get("Version") if ok else "bad: %r" % m)')" "$VERSION" \
    "metadata: the JSON the CLI expects (SchemaVersion 0.1.0, Vendor, Version $VERSION, ShortDescription)"

help=$("$DOCKER" --help 2>&1)
like "$help" $'\n  fsck\\*? +Check and clean Docker.s overlay2 store' "docker --help lists fsck with its description"
unlike "$(printf '%s\n' "$help" | grep -i 'invalid plugin')" 'fsck' "the CLI finds no fault with the plugin"

# ---- the real binary through the CLI --------------------------------------------
is "$("$DOCKER" fsck --version 2>&1)" "ovl2fsck $VERSION" "docker fsck --version runs ovl2fsck"
ops_store "$TAP_TMP/s"
"$OVL2FSCK" --root "$TAP_TMP/s" --json --min-age 0 >"$TAP_TMP/direct.json" 2>"$TAP_TMP/direct.err"
rc_direct=$?
"$DOCKER" fsck --root "$TAP_TMP/s" --json --min-age 0 >"$TAP_TMP/plugin.json" 2>"$TAP_TMP/plugin.err"
rc_plugin=$?
is "$rc_plugin/$rc_direct" "4/4" "docker fsck --root S --json: ovl2fsck's exit status (4: garbage found)"
ok "docker fsck --json: the same bytes on stdout as ovl2fsck" cmp -s "$TAP_TMP/direct.json" "$TAP_TMP/plugin.json"
ok "docker fsck --json: the same stderr as ovl2fsck" cmp -s "$TAP_TMP/direct.err" "$TAP_TMP/plugin.err"
"$DOCKER" fsck --root "$TAP_TMP/s" --report --min-age 0 >"$TAP_TMP/plugin.txt" 2>&1
is "$?" 4 "docker fsck --report: exit 4"
like "$(cat "$TAP_TMP/plugin.txt")" 'overlay-dir-orphaned' "docker fsck --report: the human report"
"$DOCKER" fsck --no-such-option >/dev/null 2>"$TAP_TMP/usage.err"
is "$?" 16 "docker fsck --no-such-option: ovl2fsck's usage error (16)"

# ---- arguments pass through unchanged (a stand-in binary prints them) -------------
FAKE=$TAP_TMP/fake-ovl2fsck
printf '#!/bin/sh\nfor a in "$@"; do printf "<%%s>\\n" "$a"; done\nexit 4\n' >"$FAKE"
chmod 755 "$FAKE"
got=$(OVL2FSCK=$FAKE "$DOCKER" fsck --root '/a b/c' --ignore='x,y' '' 'fsck' '-v' '$HOME' '*' 2>&1)
rc=$?
is "$got" "$(printf '<%s>\n' --root '/a b/c' --ignore='x,y' '' 'fsck' '-v' '$HOME' '*')" \
    "docker fsck ARGS: every argument unchanged (spaces, empty, globs, a later 'fsck'), the CLI's 'fsck' dropped"
is "$rc" 4 "docker fsck: the binary's exit status"
is "$(OVL2FSCK=$FAKE "$PLUGIN" --report --json)" "$(printf '<%s>\n' --report --json)" \
    "docker-fsck run directly (not by the CLI): nothing dropped"
is "$(OVL2FSCK=$FAKE "$DOCKER" fsck 2>&1)" "" "docker fsck without arguments: none passed"
got=$(OVL2FSCK=$TAP_TMP/none PATH=/usr/bin:/bin "$DOCKER" fsck --report 2>&1)
rc=$?
like "$got" 'ovl2fsck is not installed' "no ovl2fsck: says so"
is "$rc" 8 "no ovl2fsck: exit 8"

# ---- --apply needs dockerd stopped ------------------------------------------------
# a process whose name (comm) is dockerd: a script of that name
mkdir -p "$TAP_TMP/fakebin"
printf '#!/bin/sh\nsleep 60\n' >"$TAP_TMP/fakebin/dockerd"
chmod 755 "$TAP_TMP/fakebin/dockerd"
"$TAP_TMP/fakebin/dockerd" &
FAKE_DOCKERD=$!
at_exit 'pkill -P "$FAKE_DOCKERD" 2>/dev/null; kill "$FAKE_DOCKERD" 2>/dev/null'
for ((i = 0; i < 50; i++)); do
    [ "$(cat "/proc/$FAKE_DOCKERD/comm" 2>/dev/null)" = dockerd ] && break
    sleep 0.1
done
is "$(cat "/proc/$FAKE_DOCKERD/comm" 2>/dev/null)" dockerd "a process named dockerd runs"
OVL2FSCK=$FAKE "$DOCKER" fsck --reap --apply --root "$TAP_TMP/s" >"$TAP_TMP/apply.out" 2>"$TAP_TMP/apply.err"
is "$?" 4 "docker fsck --reap --apply: still runs ovl2fsck (which decides)"
like "$(cat "$TAP_TMP/apply.err")" "--apply needs dockerd stopped, and dockerd is running \\(pid[0-9 ]* $FAKE_DOCKERD[ )]" \
    "docker fsck --reap --apply with dockerd running: a note on stderr says --apply needs dockerd stopped"
like "$(cat "$TAP_TMP/apply.err")" 'systemctl stop docker.socket docker.service' "the note says how to stop it"
is "$(cat "$TAP_TMP/apply.out")" "$(printf '<%s>\n' --reap --apply --root "$TAP_TMP/s")" \
    "docker fsck --reap --apply: arguments unchanged, stdout is the binary's alone"
OVL2FSCK=$FAKE "$DOCKER" fsck --reap --root "$TAP_TMP/s" >/dev/null 2>"$TAP_TMP/plan.err"
is "$(cat "$TAP_TMP/plan.err")" "" "docker fsck --reap (the plan, no --apply): no note"

done_testing
