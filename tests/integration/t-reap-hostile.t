#!/usr/bin/env bash
# Hostile garbage: an orphan dir holding symlinks (absolute and relative) and
# a hard link to files outside the root; an orphan whose diff/ is itself a
# symlink to a dir outside; l/ links pointing at a canary dir and at the real
# /etc; leftovers that are symlinks to dirs. The reaper removes the links,
# never what they point to, and never leaves the root.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
. "$(dirname "$0")/../lib/reap_inject.sh"
cases_init
new_store hostile
H=$S
J=$TAP_TMP/journal.jsonl

# canaries outside the root (same file system, so a hard link can reach them)
C=$TAP_TMP/canary
mkdir -p "$C/dir/sub" "$TAP_TMP/canary-etc"
echo secret >"$C/secret"
echo hard >"$C/hardfile"
echo deep >"$C/dir/sub/deep"
echo passwd-like >"$TAP_TMP/canary-etc/passwd"
canary0=$(reap_tree result "$C"; reap_tree result "$TAP_TMP/canary-etc")
etc0=$(stat -c '%i %Y %Z %h' /etc; sha256sum /etc/passwd /etc/hostname 2>/dev/null)

o1=$(si random-hex 64); make_overlay_dir "$o1" >/dev/null
ln -s "$C/secret" "$H/overlay2/$o1/diff/abs-file"
ln -s "$C/dir" "$H/overlay2/$o1/diff/abs-dir"
ln -s ../../../../canary "$H/overlay2/$o1/diff/rel-dir"
ln -s / "$H/overlay2/$o1/diff/root"
ln "$C/hardfile" "$H/overlay2/$o1/diff/hard"
o2=$(si random-hex 64); make_overlay_dir "$o2" >/dev/null
rm -rf "$H/overlay2/$o2/diff"; ln -s "$C/dir" "$H/overlay2/$o2/diff"
# overlay2/<id> that is itself a symlink to a dir outside (a stray: never
# reaped) and an l/ link through it
s1=$(si random-hex 64); ln -s "$C/dir" "$H/overlay2/$s1"
l3=$(si random-link); ln -s "../$s1/diff" "$H/overlay2/l/$l3"
l1=$(si random-link); ln -s "$TAP_TMP/canary-etc" "$H/overlay2/l/$l1"
l2=$(si random-link); ln -s /etc "$H/overlay2/l/$l2"
t1=write-set-$(si random-hex 6 | tr -dc 0-9)1; ln -s "$C/dir" "$H/$IMG/layerdb/tmp/$t1"
r1=$(si random-hex 64)-$(si random-hex 64)-removing; ln -s "$C" "$H/$IMG/layerdb/sha256/$r1"

RJ=$TAP_TMP/plan.json reap_json --root "$H" --reap --min-age 0
is "$RJ_RC" 4 "dry run: exit 4"
is "$(jq_py "$TAP_TMP/plan.json" 'sorted(i["check"] + " " + i["object"] for i in d["items"])')" \
    "$(printf '%s\n' "layerdb-removing-leftover $r1" "layerdb-tmp-leftover $t1" "overlay-dir-orphaned $o1" \
        "overlay-dir-orphaned $o2" "overlay-link-broken $l1" "overlay-link-broken $l2" "overlay-link-broken $l3" | sort)" \
    "the plan holds the two orphan dirs, the three outward l/ links and the two symlinked leftovers"

RJ=$TAP_TMP/apply.json reap_json --root "$H" --reap --apply --min-age 0 --journal "$J"
is "$RJ_RC" 1 "--apply: exit 1 (everything found was fixed; the stray symlink is only a warning)"
is "$(jq_py "$TAP_TMP/apply.json" '(d["summary"]["done"], d["summary"]["failed"])')" "$(printf '7\n0')" "all 7 items done"
ok "the orphan dirs are gone" test ! -e "$H/overlay2/$o1" -a ! -e "$H/overlay2/$o2"
ok "the l/ links are gone" test ! -L "$H/overlay2/l/$l1" -a ! -L "$H/overlay2/l/$l2" -a ! -L "$H/overlay2/l/$l3"
ok "the symlinked overlay2 entry (a stray, a warning) is left as it is" test -L "$H/overlay2/$s1"
ok "the symlinked leftovers are gone" test ! -L "$H/$IMG/layerdb/tmp/$t1" -a ! -L "$H/$IMG/layerdb/sha256/$r1"
is "$(reap_tree result "$C"; reap_tree result "$TAP_TMP/canary-etc")" "$canary0" \
    "every canary outside the root is intact (contents, modes, mtimes; the hard-linked file back to 1 link)"
is "$(stat -c '%i %Y %Z %h' /etc; sha256sum /etc/passwd /etc/hostname 2>/dev/null)" "$etc0" \
    "the real /etc is untouched (the link to it was removed as a link)"
ok "the real /etc/passwd is still there" test -s /etc/passwd
freed=$(jq_py "$TAP_TMP/apply.json" 'd["summary"]["freed_bytes"]')
planned=$(jq_py "$TAP_TMP/apply.json" 'd["summary"]["planned_bytes"]')
ok "freed ($freed) is less than planned ($planned): the hard-linked file still has a link outside" \
    test "$freed" -lt "$planned"
fsck_json "$H" --min-age 0
is "$(jq_py "$H.json" 'sorted(f["check"] for f in d["findings"])')" "overlay-stray-entry" \
    "afterwards only the stray symlink is reported (a warning)"
done_testing
