#!/usr/bin/env bash
# --repair, one break at a time, on copies of a real dockerd store (no
# dockerd is started here; t-repair-real.t shows what dockerd makes of the
# breaks and of the repairs). For each break: the check that reports it, a
# dry run that changes nothing (tree hash), --apply exiting 1, a clean
# rescan, a second --apply with nothing to do (exit 0), and every link and
# lower file, l/ symlink and work/ dir exactly as dockerd wrote them (when a
# name had to be minted: exactly, but for the new name). Then what is not
# repairable (content loss), young findings, the lock, a mounted dir,
# interruptions (kill -9 after every action), and --repair with --reap.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
cases_init

J=$TAP_TMP/journal.jsonl
new_store ref
REF=$S
classic_a=$(si cache-id "$(si top o2t/classic-a:latest)")
classic_mid=$(si cache-id "$(si chain o2t/classic-a:latest | sed -n 2p)")
bk_top=$(si cache-id "$(si top o2t/bk:latest)")
layers_mid=$(si cache-id "$(si chain o2t/layers-a:latest | sed -n 2p)")
layers_b=$(si cache-id "$(si top o2t/layers-b:latest)")
busybox=$(si cache-id "$(si top o2t/busybox:latest)")
c_loaded=$(si mount-id "$(si container c-loaded)")
c_stopped=$(si mount-id "$(si container c-stopped)")
c_exited_init=$(si init-id "$(si container c-exited)")
c_created_init=$(si init-id "$(si container c-created)")
lk() { cat "$REF/overlay2/$1/link"; }

# What repair must give back: link and lower files, symlinks, work/ dirs.
state() {
    local d
    (cd "$1/overlay2" || exit 1
     for d in */; do
         d=${d%/}
         [ "$d" = l ] && continue
         printf '%s link=%s lower=%s work=%s\n' "$d" "$(cat "$d/link" 2>/dev/null)" "$(cat "$d/lower" 2>/dev/null)" \
             "$(stat -c '%a:%u:%g' "$d/work" 2>/dev/null)"
     done
     for d in l/*; do printf '%s -> %s %s\n' "$d" "$(readlink "$d")" "$(stat -c '%U' "$d")"; done) | sort
}
state "$REF" >"$TAP_TMP/ref.state"
# (below the root: taking and dropping the lock changes the root's own mtime)
tree_hash() { find "$1" -mindepth 1 -printf '%p %m %U %s %T@ %l\n' | sort | sha256sum; }

# repair_case NAME WANT [--minted DIR]: $S is broken; WANT lists the
# expected findings as "check object" lines.
repair_case() {
    local name=$1 want=$2 minted=${4:-} got h rc new old
    fsck_json "$S" --min-age 0
    got=$(findings list "$S.json" | awk '{ print $2, $3 }' | sort)
    is "$got" "$(sort <<<"$want")" "$name: reported as $(awk '{ print $1 }' <<<"$want" | sort -u | paste -sd' ')"
    h=$(tree_hash "$S")
    "$OVL2FSCK" --root "$S" --repair --min-age 0 >"$S.plan" 2>&1
    rc=$?
    is "$rc $(tree_hash "$S")" "4 $h" "$name: dry run exits 4 and changes nothing"
    "$OVL2FSCK" --root "$S" --repair --apply --min-age 0 --journal "$J" >"$S.apply" 2>&1
    rc=$?
    fsck_json "$S" --min-age 0
    is "$rc $FSCK_RC $(findings list "$S.json" | wc -l)" "1 0 0" "$name: --apply exits 1, the rescan exits 0 with no finding"
    [ "$rc" = 1 ] || diag "$(cat "$S.apply")"
    got=$(state "$S")
    if [ -n "$minted" ]; then
        new=$(cat "$S/overlay2/$minted/link")
        old=$(lk "$minted")
        like "$(cat "$S.plan")" "new name [A-Z2-7]{26} minted" "$name: the plan mints a fresh name"
        like "$(cat "$S.apply")" "new name $new minted" "$name: --apply minted $new and wrote it"
        got=$(sed "s/$new/$old/g" <<<"$got" | sort)
    fi
    is "$got" "$(cat "$TAP_TMP/ref.state")" \
        "$name: links, lowers, symlinks and work/ dirs exactly as dockerd wrote them${minted:+ (but for the name)}"
    "$OVL2FSCK" --root "$S" --repair --apply --min-age 0 --journal "$J" >/dev/null 2>&1
    is "$?" 0 "$name: a second --apply has nothing to do (exit 0)"
}

# --- links -------------------------------------------------------------------
new_store c1
rm "$S/overlay2/l/$(lk "$classic_a")"
repair_case "one l/ symlink deleted" "overlay-link-missing $classic_a
$(for d in $(si children "$classic_a"); do echo "overlay-lower-invalid $d"; done)"

new_store c2
rm "$S"/overlay2/l/*
want=$(cd "$S/overlay2" && for d in */; do d=${d%/}; [ "$d" = l ] && continue
    echo "overlay-link-missing $d"; [ -f "$d/lower" ] && echo "overlay-lower-invalid $d"; done)
repair_case "every l/ symlink deleted" "$want"

new_store c3
: >"$S/overlay2/$bk_top/link"
repair_case "empty link file (its l/ symlink is still there)" "overlay-link-missing $bk_top"

new_store c4
rm "$S/overlay2/$layers_mid/link"
repair_case "deleted link file" "overlay-link-missing $layers_mid"

new_store c5
kids=$(si children "$classic_mid")
head -c 26 /dev/zero >"$S/overlay2/$classic_mid/link"
rm "$S/overlay2/l/$(lk "$classic_mid")"
repair_case "link file of NUL bytes and its l/ symlink gone: the name comes from the children's lower files" \
    "overlay-link-invalid $classic_mid
$(for d in $kids; do echo "overlay-lower-invalid $d"; done)"
like "$(cat "$S.plan")" "taken from the lower files of [0-9]+ dirs built on it" "... and the plan says so"

new_store c6
rm "$S/overlay2/l/$(lk "$layers_mid")"; : >"$S/overlay2/$layers_mid/link"
kids=$(grep -l "$(lk "$layers_mid")" "$S"/overlay2/*/lower | xargs -n1 dirname | xargs -n1 basename)
for d in $kids; do : >"$S/overlay2/$d/lower"; done
repair_case "a middle layer loses link file and l/ symlink, and every lower file naming it is emptied" \
    "overlay-link-missing $layers_mid
$(for d in $kids; do echo "overlay-lower-invalid $d"; done)
reference-graph-incomplete orphan-checks" --minted "$layers_mid"
is "$(grep -c '^repair   overlay-lower-invalid' "$S.plan")" "$(wc -w <<<"$kids")" \
    "... every lower file that must name the new name is rewritten ($(wc -w <<<"$kids"))"

# --- lower files -----------------------------------------------------------------
new_store c7
for d in "$layers_b" "$c_exited_init" "$classic_a"; do : >"$S/overlay2/$d/lower"; done
repair_case "empty lower files (image layer, container -init dir)" \
    "overlay-lower-invalid $layers_b
overlay-lower-invalid $c_exited_init
overlay-lower-invalid $classic_a
reference-graph-incomplete orphan-checks"

new_store c8
head -c 40 "$REF/overlay2/$c_loaded/lower" >"$S/overlay2/$c_loaded/lower"
head -c 29 "$REF/overlay2/$classic_a/lower" >"$S/overlay2/$classic_a/lower"
repair_case "truncated lower files (mid-entry and at an entry boundary)" \
    "overlay-lower-invalid $c_loaded
overlay-lower-invalid $classic_a
reference-graph-incomplete orphan-checks"

# --- symlink targets -------------------------------------------------------------
new_store c9
ln -sfn "../$busybox/diff" "$S/overlay2/l/$(lk "$c_created_init")"
repair_case "an l/ symlink pointing at the wrong dir" "overlay-link-mismatch $(lk "$c_created_init")"

new_store c10
ln -sfn "../$classic_mid/diff" "$S/overlay2/l/$(lk "$classic_a")"
ln -sfn "../$classic_a/diff" "$S/overlay2/l/$(lk "$classic_mid")"
repair_case "two l/ symlinks swapped" "overlay-link-mismatch $(lk "$classic_a")
overlay-link-mismatch $(lk "$classic_mid")"

new_store c11
extra=$(si random-link)
ln -s "../$classic_a/diff" "$S/overlay2/l/$extra"
repair_case "an extra l/ symlink to a dir that has its own" "overlay-link-mismatch $extra"
ok "... the extra symlink is gone" test ! -e "$S/overlay2/l/$extra" -a ! -L "$S/overlay2/l/$extra"

# --- work/ -------------------------------------------------------------------------
new_store c12
rm -r "$S/overlay2/$classic_mid/work" "$S/overlay2/$c_stopped/work" "$S/overlay2/$c_exited_init/work"
repair_case "work/ missing in an image layer, a RW dir and an -init dir" \
    "overlay-work-missing $classic_mid
overlay-work-missing $c_stopped
overlay-work-missing $c_exited_init"

new_store c12b
rm "$S/overlay2/$classic_a/lower"
rm -r "$S/overlay2/$classic_a/work"
repair_case "a layer loses its lower file and work/ (reported as a missing lower file)" \
    "overlay-lower-invalid $classic_a"

# --- all names lost ------------------------------------------------------------------
new_store c13
rm "$S"/overlay2/l/*
for f in "$S"/overlay2/*/link; do : >"$f"; done
"$OVL2FSCK" --root "$S" --repair --apply --min-age 0 --journal "$J" >"$S.apply" 2>&1
rc=$?
fsck_json "$S" --min-age 0
is "$rc $FSCK_RC $(findings list "$S.json" | wc -l)" "1 0 0" \
    "every link file emptied and every l/ symlink deleted: --apply exits 1, the rescan is clean"
recovered=$(for d in $(cd "$REF/overlay2" && ls | grep -v '^l$'); do
    [ "$(cat "$S/overlay2/$d/link")" = "$(lk "$d")" ] && echo "$d"; done | wc -l)
minted=$(grep -c 'minted' "$S.apply")
ok "... names with children are recovered from their lower files ($recovered kept, $minted minted for dirs nothing is built on)" \
    test "$recovered" -gt 0 -a "$minted" -gt 0
"$OVL2FSCK" --root "$S" --repair --apply --min-age 0 --journal "$J" >/dev/null 2>&1
is "$?" 0 "... and a second --apply has nothing to do"

# --- not repairable: content lost ------------------------------------------------------
new_store c14
rm -r "$S/overlay2/$classic_mid/diff"
remove_overlay_dir "$layers_b"
"$OVL2FSCK" --root "$S" --repair --min-age 0 >"$S.plan" 2>&1
is "$?" 4 "content lost (a dir without diff/, a layer whose dir is gone): the dry run exits 4"
like "$(cat "$S.plan")" "overlay-diff-missing .*not repairable: the layer's content is lost" "... the plan says it is not repairable"
like "$(cat "$S.plan")" "--reap --apply --include image-layer-missing" "... and what the operator can do"
like "$(cat "$S.plan")" "layer-cache-id-dangling .*--include layer-cache-id-dangling" "... for a dangling cache-id too"
h=$(tree_hash "$S")
"$OVL2FSCK" --root "$S" --repair --apply --min-age 0 --journal "$J" >"$S.apply" 2>&1
is "$? $(tree_hash "$S")" "4 $h" "... --apply exits 4 (errors remain) and writes nothing"

# --- young findings ---------------------------------------------------------------------
new_store c15
: >"$S/overlay2/$layers_b/lower"
h=$(tree_hash "$S")
"$OVL2FSCK" --root "$S" --repair --apply --journal "$J" >"$S.apply" 2>&1
rc=$?
is "$rc $(tree_hash "$S")" "0 $h" "a break younger than --min-age (default 24h) is left alone (exit 0, nothing written)"
like "$(cat "$S.apply")" "1 finding younger than (24h|1d) skipped" "... and the output says so"

# --- the lock and a mounted dir ------------------------------------------------------------
new_store c16
: >"$S/overlay2/$layers_b/lower"
h=$(tree_hash "$S")
flock "$S/.ovl2fsck.lock" sleep 30 &
holder=$!
for _ in $(seq 50); do grep -q "$(stat -c %i "$S/.ovl2fsck.lock" 2>/dev/null)" /proc/locks 2>/dev/null && break; sleep 0.1; done
"$OVL2FSCK" --root "$S" --repair --apply --min-age 0 --journal "$J" >/dev/null 2>"$S.err"
rc=$?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
is "$rc" 8 "another process holds the root's lock: exit 8"
like "$(cat "$S.err")" "lock" "... saying so"
rm -f "$S/.ovl2fsck.lock"
is "$(tree_hash "$S")" "$h" "... nothing written"
mkdir -p "$TAP_TMP/bindsrc" "$S/overlay2/$classic_a/merged"
h=$(tree_hash "$S")
if mount --bind "$TAP_TMP/bindsrc" "$S/overlay2/$classic_a/merged"; then
    at_exit "umount '$S/overlay2/$classic_a/merged' 2>/dev/null"
    "$OVL2FSCK" --root "$S" --repair --apply --min-age 0 --journal "$J" >/dev/null 2>"$S.err"
    rc=$?
    umount "$S/overlay2/$classic_a/merged"
    is "$rc" 8 "a dir of overlay2/ is mounted (dockerd may be live): exit 8"
    like "$(cat "$S.err")" "refusing to --apply while dockerd is live" "... saying why"
    is "$(tree_hash "$S")" "$h" "... nothing written"
else
    skip 3 "cannot bind-mount"
fi
rmdir "$S/overlay2/$classic_a/merged"

# --- kill -9 after every action: the next run finishes ---------------------------------------
new_store crash-template
CT=$S
rm "$CT/overlay2/l/$(lk "$classic_a")"
: >"$CT/overlay2/$bk_top/link"
: >"$CT/overlay2/$layers_b/lower"
head -c 40 "$REF/overlay2/$c_loaded/lower" >"$CT/overlay2/$c_loaded/lower"
ln -sfn "../$busybox/diff" "$CT/overlay2/l/$(lk "$c_created_init")"
rm -r "$CT/overlay2/$c_stopped/work"
ln -s "../$classic_a/diff" "$CT/overlay2/l/$(si random-link)"
S=$CT
"$OVL2FSCK" --root "$CT" --repair --min-age 0 --json >"$CT.plan.json" 2>/dev/null
nsteps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["steps"])' "$CT.plan.json")
bad=
for ((k = 1; k <= nsteps; k++)); do
    K=$TAP_TMP/crash-$k
    cp -a --preserve=all "$CT" "$K"
    { OVL2FSCK_TEST_CRASH_AFTER=$k "$OVL2FSCK" --root "$K" --repair --apply --min-age 0 --journal "$K.j"; } >/dev/null 2>&1
    rc1=$?
    "$OVL2FSCK" --root "$K" --repair --apply --min-age 0 --journal "$K.j" >/dev/null 2>&1
    rc2=$?
    "$OVL2FSCK" --root "$K" --min-age 0 --json >"$K.json" 2>/dev/null
    rc3=$?
    want2=1
    [ "$k" = "$nsteps" ] && want2=0   # killed after the last action: nothing left to do
    [ "$rc1" = 137 ] && [ "$rc2" = "$want2" ] && [ "$rc3" = 0 ] && [ "$(state "$K")" = "$(cat "$TAP_TMP/ref.state")" ] ||
        bad="$bad k=$k($rc1,$rc2,$rc3)"
    rm -rf --one-file-system "$K"
done
is "$bad" "" "killed (-9) after each of the $nsteps actions, the next --apply finishes (exit 1; 0 after the last): clean rescan, exactly dockerd's files"

# --- --repair with --reap --------------------------------------------------------------------
new_store c17
rm "$S/overlay2/l/$(lk "$classic_a")"
orphan=$(si random-hex 64)
make_overlay_dir "$orphan" >/dev/null
"$OVL2FSCK" --root "$S" --repair --reap --min-age 0 >"$S.plan" 2>&1
is "$?" 4 "--repair --reap (dry run): exit 4"
like "$(cat "$S.plan")" "ovl2fsck repair plan for .*ovl2fsck reap plan for" "... the repair plan first, then the reap plan"
"$OVL2FSCK" --root "$S" --repair --reap --apply --min-age 0 --journal "$J" --json >"$S.apply.json" 2>&1
is "$?" 1 "--repair --reap --apply: exit 1 (both fixed everything)"
modes=$(python3 -c '
import json, sys
dec = json.JSONDecoder(); s = open(sys.argv[1]).read(); i = 0; out = []
while i < len(s):
    while i < len(s) and s[i].isspace(): i += 1
    if i >= len(s): break
    d, i = dec.raw_decode(s, i); out.append("%s:%d" % (d["mode"], d["summary"]["done"]))
print(" ".join(out))' "$S.apply.json")
is "$modes" "apply:1 apply:1" "--json: the repair's document, then the reaper's (one item done each)"
fsck_json "$S" --min-age 0
is "$FSCK_RC $(findings list "$S.json" | wc -l)" "0 0" "... the rescan is clean: link repaired, orphan reaped"
done_testing
