#!/usr/bin/env bash
# t-skip-list.t — the per-object allow-list (issue 14), on the bundled demo
# store: a finding named in --skip-list FILE or by skip.CHECK = OBJECT in the
# config is not reported (text, JSON, metrics), is counted ("skipped"), and is
# never reaped (bytes on disk before and after --reap --apply); without a skip
# list the JSON has no "skipped" key; a bad line is FILE:LINE, exit 16.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"

[ -x "$OVL2FSCK" ] || bail_out "$OVL2FSCK is not built (run make)"
[ "$(id -u)" = 0 ] || skip_all "extracting the demo store (whiteouts, trusted.* xattrs) needs root"
tap_tmpdir
S=$TAP_TMP/demo
mkdir "$S"
tar --xattrs --xattrs-include='*' --numeric-owner -xzf "$TAP_TOP/fixtures/demo-store.tar.gz" -C "$S" ||
    bail_out "cannot extract the demo store"
ORPHAN=0ddba11c0ffee0ddba11c0ffee0ddba11c0ffee0ddba11c0ffee0ddba11c0ffe
EMPTY=$TAP_TMP/empty.conf
: >"$EMPTY"
run() {   # run OUT ARGS...: ovl2fsck with an empty config; exit status in RC
    local out=$1
    shift
    "$OVL2FSCK" --config "$EMPTY" --root "$S" --min-age 0 "$@" >"$out" 2>"$out.err"
    RC=$?
}
json() { python3 -c 'import json,sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# ---- without a skip list: as before ------------------------------------------
run "$TAP_TMP/plain.json" --json
is "$RC" 4 "no skip list: exit 4"
is "$(json "$TAP_TMP/plain.json" "len(j['findings'])")" 4 "no skip list: the four demo findings"
is "$(json "$TAP_TMP/plain.json" "'skipped' in j['summary']")" False "no skip list: no \"skipped\" in the summary"

# ---- --skip-list FILE --------------------------------------------------------
SKIP=$TAP_TMP/skip.txt
printf '# accepted on purpose (ticket 42)\n\noverlay-dir-orphaned %s   # kept for the post-mortem\n  imagedb-tmp-leftover  .tmp-demo-config-123456789\n' \
    "$ORPHAN" >"$SKIP"
run "$TAP_TMP/skip.json" --json --skip-list "$SKIP"
is "$RC" 4 "skip list: exit 4 (two demo findings left)"
is "$(json "$TAP_TMP/skip.json" "sorted(f['check'] + ' ' + f['object'] for f in j['findings'])")" \
    "['layerdb-tmp-leftover write-set-123456789', 'overlay-link-broken BROKENDEMOLINK333333333333']" \
    "skip list: the two accepted findings are not reported"
is "$(json "$TAP_TMP/skip.json" "j['summary']['skipped']")" 2 "skip list: \"skipped\": 2 in the JSON summary"
is "$(json "$TAP_TMP/skip.json" "j['summary']['garbage']")" 2 "skip list: garbage counts only what is reported"
run "$TAP_TMP/skip.txt.out" --skip-list "$SKIP"
like "$(tail -1 "$TAP_TMP/skip.txt.out")" '2 skipped by the skip list — exit 4$' "skip list: the text summary counts them"
unlike "$(cat "$TAP_TMP/skip.txt.out")" "overlay-dir-orphaned|overlay2/$ORPHAN:" "skip list: the text report does not list the accepted dir"
run "$TAP_TMP/prom.out" --skip-list "$SKIP" --prometheus "$TAP_TMP/m.prom"
ok "skip list: ovl2fsck_findings_skipped 2" grep -qxF 'ovl2fsck_findings_skipped 2' "$TAP_TMP/m.prom"
ok "skip list: the overlay-dir-orphaned finding metric is 0" \
    grep -qxF 'ovl2fsck_findings{check="overlay-dir-orphaned",severity="garbage"} 0' "$TAP_TMP/m.prom"

# never reaped: the plan does not have it, --apply leaves its bytes
run "$TAP_TMP/plan.json" --reap --json --skip-list "$SKIP"
is "$(json "$TAP_TMP/plan.json" "sorted(i['object'] for i in j['items'])")" \
    "['BROKENDEMOLINK333333333333', 'write-set-123456789']" "skip list: the reap plan leaves the accepted findings out"
before=$(cd "$S" && find "overlay2/$ORPHAN" image/overlay2/imagedb/content/sha256/.tmp-demo-config-123456789 \
    -printf '%P %y %s %T@\n' | sort | sha256sum)
run "$TAP_TMP/apply.out" --reap --apply --skip-list "$SKIP" --journal "$TAP_TMP/journal.jsonl"
is "$RC" 1 "skip list: --reap --apply did everything planned (exit 1)"
after=$(cd "$S" && find "overlay2/$ORPHAN" image/overlay2/imagedb/content/sha256/.tmp-demo-config-123456789 \
    -printf '%P %y %s %T@\n' | sort | sha256sum)
is "$after" "$before" "skip list: the accepted dir and file are untouched, byte for byte"
ok "skip list: the other two are gone" test ! -e "$S/image/overlay2/layerdb/tmp/write-set-123456789" -a \
    ! -L "$S/overlay2/l/BROKENDEMOLINK333333333333"
unlike "$(cat "$TAP_TMP/journal.jsonl")" "$ORPHAN" "skip list: the journal never names the accepted dir"

# ---- skip.CHECK = OBJECT in the config file -----------------------------------
CONF=$TAP_TMP/ovl2fsck.conf
printf 'min-age = 0\nskip.overlay-dir-orphaned = %s\n# one line per object\nskip.imagedb-tmp-leftover = .tmp-demo-config-123456789\n' \
    "$ORPHAN" >"$CONF"
"$OVL2FSCK" --config "$CONF" --root "$S" --json >"$TAP_TMP/conf.json" 2>"$TAP_TMP/conf.err"
is "$?" 0 "config skip.CHECK: nothing else is left (exit 0)"
is "$(json "$TAP_TMP/conf.json" "(len(j['findings']), j['summary']['skipped'])")" "(0, 2)" \
    "config skip.CHECK: both are accepted and counted"

# ---- bad lines: FILE:LINE, exit 16 -------------------------------------------
bad() {   # bad NAME TEXT WANT
    printf "$2" >"$TAP_TMP/bad.txt"
    run "$TAP_TMP/bad.out" --skip-list "$TAP_TMP/bad.txt"
    is "$RC" 16 "$1: exit 16"
    is "$(cat "$TAP_TMP/bad.out.err")" "ovl2fsck: $TAP_TMP/bad.txt:$3" "$1: the line is named"
}
bad "an object missing" '# c\noverlay-dir-orphaned\n' "2: expected 'CHECK OBJECT' (the object is missing)"
bad "three words" 'overlay-dir-orphaned a b\n' "1: expected 'CHECK OBJECT' (more than two words)"
bad "an unknown check" '\n\nno-such-check abc\n' "3: unknown check 'no-such-check' (see --list-checks)"
run "$TAP_TMP/none.out" --skip-list "$TAP_TMP/does-not-exist"
is "$RC" 16 "a skip list that does not exist: exit 16"
printf 'skip.tag-dangling = a b\n' >"$CONF"
"$OVL2FSCK" --config "$CONF" --root "$S" >/dev/null 2>"$TAP_TMP/conf.err"
is "$?" 16 "config skip.CHECK with two objects: exit 16"
is "$(cat "$TAP_TMP/conf.err")" "ovl2fsck: $CONF:1: skip.CHECK takes one object (one line per object)" \
    "config skip.CHECK with two objects: the line is named"

done_testing
