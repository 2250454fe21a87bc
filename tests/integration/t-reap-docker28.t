#!/usr/bin/env bash
# t-reap-docker28.t — the reaper on what Docker 26+/28 leaves (issue 17), on a
# copy of the real reference store:
#   * the crash window of dockerd 26+: an l/ symlink is made before the dir's
#     link file, so a killed load leaves an orphaned dir with a .tmp-link* file
#     and no link file, and a live l/ symlink into it: the reaper removes every
#     l/ symlink into the dir it removes, and the rescan is clean;
#   * .tmp-* files of the atomic writer inside a dir a layer uses, and in l/:
#     unlinked, the dir kept;
#   * an image mount entry layerdb/mounts/<cid>-<ref>/<ref part> (docker run
#     --mount type=image of 28) whose container is gone: the entry, its RW dir
#     and link, and the level left empty above it;
#   * an empty tmp/moby-detect-rro* dir (dockerd 25+'s probe): no finding.
# Then dockerd restarts on the reaped store and every image saves and runs as
# before.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
. "$(dirname "$0")/../lib/reap_inject.sh"
cases_init
new_store d28
J=$TAP_TMP/journal.jsonl

# --- the 26+ crash window: l/ symlink made, link file not yet written -------
o=$(si random-hex 64)
lk=$(make_overlay_dir "$o")
mv "$S/overlay2/$o/link" "$S/overlay2/$o/.tmp-link2849117613"
# a second symlink into it too (a retried create), whatever any link file says
lk2=$(si random-link); ln -s "../$o/diff" "$S/overlay2/l/$lk2"

# --- .tmp-* of the atomic writer in a dir a layer uses, and in l/ -----------
top=$(si top o2t/classic-a:latest)
cdir=$(si cache-id "$top")
printf 'l/XYZ' >"$S/overlay2/$cdir/.tmp-lower1137962046"
ln -s "../$cdir/diff" "$S/overlay2/l/.tmp-ABCDEFGHIJKLMNOPQRSTUVWXYZ3377"

# --- an image mount of a container that is gone (docker rm of 28.5) ----------
cid=$(si random-hex 64)
rw=$(si random-hex 64)
make_overlay_dir "$rw" "$cdir" >/dev/null
im=$S/$IMG/layerdb/mounts/$cid-o2t/classic-a:latest
mkdir -p "$im"
printf '%s' "$rw" >"$im/mount-id"
printf 'sha256:%s' "$top" >"$im/parent"

# --- dockerd 25+'s read-only mount probe dir ---------------------------------
mkdir -p "$S/tmp/moby-detect-rro243917152"

touch -h -d '3 days ago' "$S/overlay2/$o" "$S/overlay2/l/$lk" "$S/overlay2/l/$lk2" \
    "$S/overlay2/$cdir/.tmp-lower1137962046" "$S/overlay2/l/.tmp-ABCDEFGHIJKLMNOPQRSTUVWXYZ3377" \
    "$S/overlay2/$rw" "$im" "$S/tmp/moby-detect-rro243917152"

expect_findings "Docker 26+/28 leftovers" 4 \
    --want "overlay-dir-orphaned=$o" \
    --want "overlay-tmp-leftover=$cdir/.tmp-lower1137962046" \
    --want "overlay-tmp-leftover=l/.tmp-ABCDEFGHIJKLMNOPQRSTUVWXYZ3377" \
    --want "image-mount-container-missing=$cid-o2t/classic-a:latest"

before=$(reap_tree result "$S")
RJ=$TAP_TMP/plan.json; reap_json --root "$S" --reap --min-age 0
is "$RJ_RC" 4 "dry run: exit 4"
is "$(jq_py "$RJ" 'sorted(s["path"] for i in d["items"] if i["object"] == "'"$o"'" for s in i["steps"])' | sort)" \
    "$(printf '%s\n' "overlay2/$o" "overlay2/l/$lk" "overlay2/l/$lk2" | sort)" \
    "the orphan's plan removes the dir and both l/ symlinks into it (no link file names either)"
is "$(jq_py "$RJ" '[s["action"] + " " + s["path"] for i in d["items"] if i["check"] == "image-mount-container-missing" for s in i["steps"]]')" \
    "$(printf '%s\n' "remove image/overlay2/layerdb/mounts/$cid-o2t/classic-a:latest" "remove overlay2/$rw" \
        "remove overlay2/l/$(cat "$S/overlay2/$rw/link")" "remove-if-empty image/overlay2/layerdb/mounts/$cid-o2t")" \
    "the image mount's plan: the entry, its RW dir and link, then the level above if empty"
is "$(reap_tree result "$S")" "$before" "the dry run changed nothing"

RJ=$TAP_TMP/apply.json; reap_json --root "$S" --reap --apply --min-age 0 --journal "$J"
is "$RJ_RC" 1 "--apply: everything planned was done (exit 1)"
ok "the orphan and both symlinks are gone" test ! -e "$S/overlay2/$o" -a ! -L "$S/overlay2/l/$lk" -a ! -L "$S/overlay2/l/$lk2"
ok "the .tmp file is gone, the layer's dir and its files stay" \
    test ! -e "$S/overlay2/$cdir/.tmp-lower1137962046" -a -d "$S/overlay2/$cdir/diff" -a -s "$S/overlay2/$cdir/link"
ok "the l/.tmp symlink is gone" test ! -L "$S/overlay2/l/.tmp-ABCDEFGHIJKLMNOPQRSTUVWXYZ3377"
ok "the image mount entry, its level and its RW dir are gone" \
    test ! -e "$S/$IMG/layerdb/mounts/$cid-o2t" -a ! -e "$S/overlay2/$rw"
ok "the moby-detect-rro dir stays (dockerd removes it when it starts)" test -d "$S/tmp/moby-detect-rro243917152"

fsck_json "$S" --min-age 0
is "$(findings get "$S.json" summary.errors)/$(findings get "$S.json" summary.garbage)" "0/0" \
    "rescan: no error, no garbage (no overlay-link-broken left behind)"

B=$TAP_TMP/before
new_store before
reap_probe_dockerd "$S" "$TAP_TMP/probe.before"
S=$TAP_TMP/d28
reap_probe_dockerd "$S" "$TAP_TMP/probe.after"
is "$(grep -v '^bk-' "$TAP_TMP/probe.after")" "$(grep -v '^bk-' "$TAP_TMP/probe.before")" \
    "dockerd lists, saves and runs the same images as on the untouched reference store"
done_testing
