#!/usr/bin/env bash
# t-lower-unknown.t — a dir still used as a lower dir is never called
# orphaned, on the bundled demo store (captured from dockerd): the middle
# layer 4daaa070… (dir 61b7af69…) loses its layerdb entry, so that only the
# lower files of the layer and the container above it still name its dir
# (l/NFHBV…). While those lower files cannot be read (too large, torn with
# NULs, empty), or are missing while the layer below is lost too (nothing
# else names its dir), or while the dir has no short name of its own and
# they name one no l/ entry has, overlay-dir-orphaned withholds it (and, for unreadable
# lower files, every other dir), reference-graph-incomplete says why, the
# reap plan leaves it out and --reap --apply leaves its bytes. The reaper's
# own re-verification of the same is tests/unit/test_reap.c
# (test_refs_lower_claims_unknown, test_refs_lower_missing_parent_lost).
. "$(dirname "$0")/../lib/tap.sh"

[ -x "$OVL2FSCK" ] || bail_out "$OVL2FSCK is not built (run make)"
[ "$(id -u)" = 0 ] || skip_all "extracting the demo store (whiteouts, trusted.* xattrs) needs root"
tap_tmpdir
EMPTY=$TAP_TMP/empty.conf
: >"$EMPTY"
MID_CHAIN=4daaa070445f4d82306fcb6c4c9ac35f698fdb9a56c059b0d04e1178307b4970
MID=61b7af69d7480183ab7f75500a0015efdecacc9706005f4a1a21851aa9d8faec
MID_LINK=NFHBVHXC6GX7XSI3Z5FAOQQOE7
TOP=50b6865016f124dedb234beba55c6267793cb2f7e73c436ad45a0ca49cda390c
RW=c6bae1ae4a4b30a60d0f9857a62fe094791f0f085621db315d1699b24295b70b
ORPHAN=0ddba11c0ffee0ddba11c0ffee0ddba11c0ffee0ddba11c0ffee0ddba11c0ffe
NAMERS=("$TOP" "$RW-init" "$RW")   # the dirs whose lower file names l/$MID_LINK

fresh() {   # fresh NAME [keep]: the demo store in $TAP_TMP/NAME ($S), the middle layer's layerdb entry gone (unless keep)
    S=$TAP_TMP/$1
    mkdir "$S"
    tar --xattrs --xattrs-include='*' --numeric-owner -xzf "$TAP_TOP/fixtures/demo-store.tar.gz" -C "$S" ||
        bail_out "cannot extract the demo store"
    [ "${2:-}" = keep ] || rm -rf "$S/image/overlay2/layerdb/sha256/$MID_CHAIN"
}
run() {   # run OUT ARGS...: exit status in RC
    local out=$1
    shift
    "$OVL2FSCK" --config "$EMPTY" --root "$S" --min-age 0 "$@" >"$out" 2>"$out.err"
    RC=$?
}
json() { python3 -c 'import json,sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
orphans() { json "$1" "sorted(f['object'] for f in j['findings'] if f['check'] == 'overlay-dir-orphaned')"; }
incomplete() { json "$1" "[f['detail'] for f in j['findings'] if f['check'] == 'reference-graph-incomplete']"; }
planned() { json "$1" "sorted(i['object'] for i in j['items'] if i['check'] == 'overlay-dir-orphaned')"; }
tree_sum() { (cd "$S" && find "overlay2/$MID" -printf '%P %y %s %T@\n' | sort | sha256sum); }
kept() {   # kept NAME WHAT: the reap plan removes no overlay2 dir, --reap --apply leaves overlay2/$MID
    local before
    run "$TAP_TMP/$1.plan" --reap --json
    is "$(planned "$TAP_TMP/$1.plan")" "[]" "$2: the reap plan removes no overlay2 dir"
    before=$(tree_sum)
    run "$TAP_TMP/$1.apply" --reap --apply --journal "$TAP_TMP/$1.jsonl"
    is "$(tree_sum)" "$before" "$2: --reap --apply leaves overlay2/$MID byte for byte"
}
withheld() {   # withheld NAME WHAT INCOMPLETE: no orphan, reference-graph-incomplete says INCOMPLETE, kept
    run "$TAP_TMP/$1.json" --json
    is "$(orphans "$TAP_TMP/$1.json")" "[]" "$2: no dir is called orphaned"
    is "$(incomplete "$TAP_TMP/$1.json")" "$3" "$2: reference-graph-incomplete names the first reason"
    kept "$1" "$2"
}

# ---- the lower claims alone keep the dir ------------------------------------
fresh intact
run "$TAP_TMP/intact.json" --json
is "$(orphans "$TAP_TMP/intact.json")" "['$ORPHAN']" "readable lower files: only the demo's orphan (the lower files claim $MID)"

# ---- lower files that cannot be read ----------------------------------------
fresh large
for d in "${NAMERS[@]}"; do
    python3 -c 'import sys; sys.stdout.write(open(sys.argv[1]).read().strip() + ":l/AAAAAAAAAAAAAAAAAAAAAAAAAA" * 2600)' \
        "$S/overlay2/$d/lower" >"$TAP_TMP/lower" && cp "$TAP_TMP/lower" "$S/overlay2/$d/lower"
done
withheld large "too large lower files" \
    "['3 reason(s); first: overlay2/$TOP/lower: lower file is unreadable: the dirs it names are unknown']"
ok "too large lower files: and the demo's orphan" test -d "$S/overlay2/$ORPHAN"

# ---- a torn lower file (the bytes of a power loss: NULs) ---------------------
fresh torn
python3 -c 'import sys; open(sys.argv[1], "wb").write(b"l/" + sys.argv[2].encode() + b"\0" * 90)' \
    "$S/overlay2/$TOP/lower" "$MID_LINK"
run "$TAP_TMP/torn.json" --json
is "$(orphans "$TAP_TMP/torn.json")" "[]" "a lower file with NULs: no dir is called orphaned"
like "$(incomplete "$TAP_TMP/torn.json")" "overlay2/$TOP/lower: lower file is invalid: the dirs it names are unknown" \
    "a lower file with NULs: the reason is named"

# ---- an empty lower file ------------------------------------------------------
fresh empty
: >"$S/overlay2/$TOP/lower"
run "$TAP_TMP/empty.json" --json
is "$(orphans "$TAP_TMP/empty.json")" "[]" "an empty lower file: no dir is called orphaned"
like "$(incomplete "$TAP_TMP/empty.json")" "overlay2/$TOP/lower: lower file is empty" "an empty lower file: the reason is named"

# ---- missing lower files while the layer below is lost ------------------------
# (a missing lower file names nothing on a base layer; above a lost layer it
# was the only claim on the dirs below)
fresh missing
for d in "${NAMERS[@]}"; do rm "$S/overlay2/$d/lower"; done
withheld missing "missing lower files above a lost layer" \
    "['3 reason(s); first: overlay2/$TOP/lower: lower file is missing and its parent layer sha256:$MID_CHAIN has no layerdb entry: the dirs below it are unknown']"
fresh missing-container
for d in "$RW-init" "$RW"; do rm "$S/overlay2/$d/lower"; done
withheld missing-container "a container's missing lower files on a lost layer" \
    "[\"2 reason(s); first: overlay2/$RW-init/lower: lower file is missing and its container's layer sha256:$MID_CHAIN has no layerdb entry: the dirs below it are unknown\"]"
fresh torn-parent keep
TOP_CHAIN=$(grep -l "$TOP" "$S"/image/overlay2/layerdb/sha256/*/cache-id | xargs dirname | xargs basename)
printf 'sha256:' >"$S/image/overlay2/layerdb/sha256/$TOP_CHAIN/parent"
rm "$S/overlay2/$TOP/lower"
withheld torn-parent "a missing lower file under a torn parent file" \
    "['2 reason(s); first: image/overlay2/layerdb/sha256/$TOP_CHAIN: parent file is invalid: the layer graph is unreliable']"
fresh missing-kept keep
rm "$S/overlay2/$TOP/lower"
run "$TAP_TMP/missing-kept.json" --json
is "$(orphans "$TAP_TMP/missing-kept.json")" "['$ORPHAN']" \
    "a missing lower file whose parent layer is there: the demo's orphan is still reported (the parent's cache-id claims its dir)"
is "$(incomplete "$TAP_TMP/missing-kept.json")" "[]" "a missing lower file whose parent layer is there: no reason to withhold"

# ---- the dir's own short name lost -------------------------------------------
for how in missing invalid; do
    fresh "noname-$how"
    if [ "$how" = missing ]; then rm "$S/overlay2/$MID/link"; else echo garbage >"$S/overlay2/$MID/link"; fi
    rm "$S/overlay2/l/$MID_LINK"
    run "$TAP_TMP/$how.json" --json
    is "$(orphans "$TAP_TMP/$how.json")" "['$ORPHAN']" \
        "link file $how, l/ symlink gone: $MID is not called orphaned (the demo's orphan, whose name is known, is)"
    is "$(incomplete "$TAP_TMP/$how.json")" \
        "['1 reason(s); first: overlay2/$MID: has no short name, and a lower file names l/$MID_LINK, which no l/ entry has: it may be this dir']" \
        "link file $how: reference-graph-incomplete says why"
    run "$TAP_TMP/$how.plan" --reap --json
    is "$(planned "$TAP_TMP/$how.plan")" "['$ORPHAN']" "link file $how: the reap plan has only the demo's orphan"
    before=$(tree_sum)
    run "$TAP_TMP/$how.apply" --reap --apply --journal "$TAP_TMP/$how.jsonl"
    is "$(tree_sum)" "$before" "link file $how: --reap --apply leaves overlay2/$MID byte for byte"
    ok "link file $how: the demo's orphan is gone" test ! -e "$S/overlay2/$ORPHAN"
done

done_testing
