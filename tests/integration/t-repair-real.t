#!/usr/bin/env bash
# --repair on a real dockerd store broken the ways power loss breaks it, all
# at once, each break on its own images and containers so that dockerd's
# failures can be told apart: a deleted l/ symlink, an emptied link file
# (its l/ symlink still there), an emptied and a truncated lower file, a
# symlink pointing at the wrong dir, missing work/ dirs, and a dir that lost
# both its link file and its symlink with nothing left naming it (a fresh
# name is minted). A real dockerd fails on the broken copy with its own
# errors (asserted below); after `--repair --apply` the rescan is clean, the
# file contents are unchanged, and dockerd runs every image and starts every
# container exactly as it did on the unbroken store.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
cases_init

J=$TAP_TMP/journal.jsonl
new_store ref
REF=$S
new_store broken
B=$S

# --- what is broken, and where -------------------------------------------
S=$REF
classic_a=$(si cache-id "$(si top o2t/classic-a:latest)")
bk_top=$(si cache-id "$(si top o2t/bk:latest)")
layers_b=$(si cache-id "$(si top o2t/layers-b:latest)")
layers_empty=$(si cache-id "$(si top o2t/layers-empty:1)")
busybox=$(si cache-id "$(si top o2t/busybox:latest)")
classic_mid=$(si cache-id "$(si chain o2t/classic-a:latest | sed -n 2p)")
c_loaded=$(si mount-id "$(si container c-loaded)")
c_stopped=$(si mount-id "$(si container c-stopped)")
c_created_init=$(si init-id "$(si container c-created)")
bk_link=$(si link "$bk_top")
S=$B
rm "$B/overlay2/l/$(si link "$classic_a")"                                    # 1 deleted l/ symlink
: >"$B/overlay2/$bk_top/link"                                                 # 2 empty link file
: >"$B/overlay2/$layers_b/lower"                                              # 3 empty lower
head -c 40 "$B/overlay2/$c_loaded/lower" >"$TAP_TMP/t" && cat "$TAP_TMP/t" >"$B/overlay2/$c_loaded/lower"  # 4 truncated
ln -sfn "../$busybox/diff" "$B/overlay2/l/$(si link "$c_created_init")"       # 5 wrong target
rm -r "$B/overlay2/$c_stopped/work" "$B/overlay2/$classic_mid/work"           # 6 missing work/
rm "$B/overlay2/l/$(si link "$layers_empty")"; : >"$B/overlay2/$layers_empty/link"   # 7 no name left
note "broke: l/ of $classic_a, link of $bk_top, lower of $layers_b and $c_loaded, l/ of $c_created_init,"
note "       work/ of $c_stopped and $classic_mid, link and l/ of $layers_empty"

# diff/ trees: what must never change
diff_sums() {
    local root=$1 d
    for d in "$root"/overlay2/*/diff; do
        printf '%s %s\n' "$(basename "$(dirname "$d")")" \
            "$( (cd "$d" && find . -printf '%p %y %m %U %G %s %l\n' | sort
                 find . -type f -print0 | sort -z | xargs -0 -r sha256sum) | sha256sum | cut -c1-16)"
    done
}
diff_sums "$REF" >"$TAP_TMP/diffs.ref"

fsck_json "$B" --min-age 0
is "$FSCK_RC" 4 "the broken store: errors found (exit 4)"
got=$(findings list "$B.json" | awk '{ print $2, $3 }' | sort)
want=$(printf '%s\n' "overlay-link-missing $classic_a" "overlay-link-missing $bk_top" \
    "overlay-link-missing $layers_empty" "overlay-lower-invalid $layers_b" "overlay-lower-invalid $c_loaded" \
    "overlay-link-mismatch $(si link "$c_created_init")" "overlay-work-missing $c_stopped" \
    "overlay-work-missing $classic_mid" | sort)
missing=$(comm -23 <(echo "$want") <(echo "$got"))
is "$missing" "" "every break is reported by its check"
unexpected=$(echo "$got" | grep -v -e '^overlay-link-missing ' -e '^overlay-lower-invalid ' -e '^overlay-link-mismatch ' \
    -e '^overlay-work-missing ' -e '^reference-graph-incomplete orphan-checks$')
is "$unexpected" "" "nothing but link, lower and work findings ($(echo "$got" | wc -l) findings)"
# the malformed lower files of live dirs ($layers_b, $c_loaded) name dirs nobody can see
like "$(python3 -c 'import json, sys
print([f["detail"] for f in json.load(open(sys.argv[1]))["findings"] if f["check"] == "reference-graph-incomplete"])' "$B.json")" \
    "lower file is (empty|invalid): the dirs it names are unknown" \
    "the damaged lower files withhold orphan reports (reference-graph-incomplete)"

# --- dockerd on a store: what it can run ---------------------------------
# probe ROOT OUT: one line per fact; 64-hex ids in error texts become <id>.
probe() {
    local root=$1 out=$2 ex i ref c rc err n
    ex=$(mktemp -d /tmp/o2e.XXXXXX)
    : >"$out"
    dockerd_start "$root" "$ex/e" || { echo "dockerd-start fail" >>"$out"; rm -rf "$ex"; return 1; }
    [ -z "${PROBE_HOOK:-}" ] || eval "$PROBE_HOOK"
    dockerd_docker image ls -a --no-trunc --format '{{.ID}} {{.Repository}}:{{.Tag}}' >"$ex/images"
    for i in $(cut -d' ' -f1 "$ex/images" | sort -u); do
        ref=$(awk -v i="$i" '$1 == i && $2 != "<none>:<none>" { print $2 }' "$ex/images" | sort | paste -sd,)
        ref=${ref:-${i:7:12}}
        err=$(dockerd_docker image inspect "$i" 2>&1 >/dev/null); rc=$?
        echo "inspect $ref $rc $(daemon_err_line "$err")" >>"$out"
        err=$(dockerd_docker run --rm --network none "$i" true 2>&1 >/dev/null); rc=$?
        echo "run $ref $rc $(daemon_err_line "$err")" >>"$out"
        if c=$(dockerd_docker create --network none "$i" true 2>"$ex/err"); then
            n=$(dockerd_docker export "$c" 2>"$ex/err" | tar t 2>/dev/null | sort)
            echo "export $ref $(grep -c . <<<"$n") names, $(grep -cE '^(\./)?[A-Z2-7]{26}$' <<<"$n") l/-like" >>"$out"
            dockerd_docker rm "$c" >/dev/null 2>&1
        else
            echo "export $ref create failed: $(head -n 1 "$ex/err" | sed -E 's/[0-9a-f]{64}/<id>/g')" >>"$out"
        fi
    done
    echo "bk-two $(dockerd_docker run --rm --network none o2t/bk:latest cat /bk/two 2>&1)" >>"$out"
    echo "save layers-b $(dockerd_docker save -o "$ex/lb.tar" o2t/layers-b:latest 2>&1 && echo ok)" >>"$out"
    for c in c-created c-exited c-loaded c-stopped; do
        err=$(dockerd_docker start "$c" 2>&1 >/dev/null); rc=$?
        echo "start $c $rc $(daemon_err_line "$err")" >>"$out"
        dockerd_docker stop -t 0 "$c" >/dev/null 2>&1
    done
    dockerd_stop
    rm -rf --one-file-system "$ex"
}

# the unbroken store first (a copy: starting containers changes a store)
new_store baseline
probe "$S" "$TAP_TMP/probe.ref"
note "$(cat "$TAP_TMP/probe.ref")"
nimg=$(grep -c '^run ' "$TAP_TMP/probe.ref")
ok "baseline: dockerd ran $nimg images and started 4 containers" \
    test "$(grep -c '^start c-[a-z]* 0' "$TAP_TMP/probe.ref")" = 4 -a "$nimg" -ge 10

# --- dockerd on the broken store: its actual errors -----------------------
S=$B
cp -a --preserve=all "$B" "$TAP_TMP/broken-probe"
# while dockerd runs on it, --repair --apply refuses (exit 8) and writes nothing
refused() {
    "$OVL2FSCK" --root "$root" --repair --apply --min-age 0 --journal "$TAP_TMP/live.jsonl" >/dev/null 2>"$TAP_TMP/live.err"
    echo "$?" >"$TAP_TMP/live.rc"
}
PROBE_HOOK=refused probe "$TAP_TMP/broken-probe" "$TAP_TMP/probe.broken"
is "$(cat "$TAP_TMP/live.rc")" 8 "--repair --apply while dockerd runs on the root: exit 8"
like "$(cat "$TAP_TMP/live.err")" "refusing to --apply while dockerd is live: dockerd \(pid [0-9]+\)" "... saying which dockerd"
ok "... and writes nothing (no journal, no lock file)" test ! -e "$TAP_TMP/live.jsonl" -a ! -e "$TAP_TMP/broken-probe/.ovl2fsck.lock"
rm -rf --one-file-system "$TAP_TMP/broken-probe"
note "$(cat "$TAP_TMP/probe.broken")"
pb() { grep "^$1 " "$TAP_TMP/probe.broken"; }
mount_enoent='error creating overlay mount to .*/merged: no such file or directory'
mount_eloop='error creating overlay mount to .*/merged: too many levels of symbolic links'
like "$(pb 'run o2t/classic-a:latest,o2t/classic-a:v1')" "^run [^ ]+ 12[57] .*$mount_enoent" \
    "deleted l/ symlink (of o2t/classic-a's top layer): 'docker run o2t/classic-a' fails: $mount_enoent"
like "$(pb 'inspect o2t/classic-b:latest')" "^inspect [^ ]+ 1 .*readlink .*/overlay2/l/$(S=$REF si link "$classic_a"): no such file or directory" \
    "... 'docker image inspect o2t/classic-b' (built on it) fails: readlink .../l/<name>: no such file or directory"
like "$(pb 'start c-exited')" "^start c-exited 1 .*$mount_enoent" "... and container c-exited (on classic-a) does not start"
like "$(pb 'run o2t/classic-b:latest')" "$mount_enoent" "... nor does o2t/classic-b (built on classic-a) run"
like "$(pb bk-two)" "can't open '/bk/two': No such file or directory" \
    "empty link file: 'docker run o2t/bk cat /bk/two' runs on the wrong content: No such file or directory"
like "$(pb 'export o2t/bk:latest')" ' [1-9][0-9]* l/-like$' \
    "... its rootfs is overlay2/l itself (the export lists 26-char l/ names at /)"
like "$(pb 'inspect o2t/layers-b:alt,o2t/layers-b:latest')" "^inspect [^ ]+ 1 .*readlink .*/overlay2: invalid argument" \
    "empty lower file: 'docker image inspect o2t/layers-b' fails: readlink .../overlay2: invalid argument"
like "$(pb 'run o2t/layers-b:alt,o2t/layers-b:latest')" "^run [^ ]+ 125 .*$mount_eloop" \
    "... 'docker run o2t/layers-b' fails: $mount_eloop"
like "$(pb 'save layers-b')" "$mount_eloop" "... and 'docker save o2t/layers-b' fails the same way"
like "$(pb 'start c-loaded')" "^start c-loaded 1 .*$mount_enoent" "truncated lower file: c-loaded does not start: $mount_enoent"
like "$(pb 'start c-created')" "^start c-created 1 .*$mount_eloop" "wrong symlink target: c-created does not start: $mount_eloop"
like "$(pb 'start c-stopped')" "^start c-stopped 1 .*$mount_enoent" "missing work/: c-stopped does not start: $mount_enoent"
like "$(pb 'export o2t/layers-empty:1')" ' [1-9][0-9]* l/-like$' \
    "lost link file and l/ symlink: a container of o2t/layers-empty sees overlay2/l as its rootfs"

# --- dry run: the plan, nothing changes -----------------------------------
tree_hash() { find "$1" -printf '%p %m %U %s %T@ %l\n' | sort | sha256sum; }
h0=$(tree_hash "$B")
"$OVL2FSCK" --root "$B" --repair --min-age 0 >"$TAP_TMP/plan.txt" 2>&1
is "$?" 4 "--repair (dry run) exits 4: something to do"
"$OVL2FSCK" --root "$B" --repair --min-age 0 --json >"$TAP_TMP/plan.json" 2>&1
is "$?" 4 "--repair --json exits 4"
is "$(tree_hash "$B")" "$h0" "dry run: tree hash identical (names, modes, owners, sizes, mtimes, link targets)"
ok "dry run: no lock file, no journal" test ! -e "$B/.ovl2fsck.lock" -a ! -e "$J"
like "$(cat "$TAP_TMP/plan.txt")" "symlink +overlay2/l/$(si link "$classic_a") -> \.\./$classic_a/diff" \
    "the plan says which symlink it will make, pointing where"
like "$(cat "$TAP_TMP/plan.txt")" "write +overlay2/$bk_top/link = \"$bk_link\"" \
    "the plan says what it will write into which file"
like "$(cat "$TAP_TMP/plan.txt")" "name [A-Z2-7]{26} taken from l/" "... and why (the name comes from the l/ symlink still pointing at the dir)"
like "$(cat "$TAP_TMP/plan.txt")" "new name [A-Z2-7]{26} minted" "a dir with no evidence left gets a minted name"
like "$(cat "$TAP_TMP/plan.txt")" "Dry run: nothing was changed" "the text plan says it is a dry run"
plan_items=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["summary"]["items"], d["mode"], d["summary"]["errors_left"])' "$TAP_TMP/plan.json")
is "${plan_items#* }" "dry-run 0" "the JSON plan: mode dry-run, no error left unrepaired ($plan_items)"

# --- apply ------------------------------------------------------------------
"$OVL2FSCK" --root "$B" --repair --apply --min-age 0 --journal "$J" >"$TAP_TMP/apply.txt" 2>&1
is "$?" 1 "--repair --apply exits 1: everything found was fixed"
note "$(cat "$TAP_TMP/apply.txt")"
fsck_json "$B" --min-age 0
is "$FSCK_RC" 0 "rescan: exit 0"
is "$(findings list "$B.json")" "" "rescan: no finding at all"
diff_sums "$B" >"$TAP_TMP/diffs.after"
is "$(diff "$TAP_TMP/diffs.ref" "$TAP_TMP/diffs.after")" "" \
    "every diff/ tree has the same checksum as before the breakage ($(wc -l <"$TAP_TMP/diffs.ref") dirs)"
S=$REF
ref_links=$(for d in "$REF"/overlay2/*/; do d=$(basename "$d"); [ "$d" = l ] || [ "$d" = "$layers_empty" ] ||
    echo "$d $(cat "$REF/overlay2/$d/link") $(cat "$REF/overlay2/$d/lower" 2>/dev/null)"; done)
S=$B
got_links=$(for d in "$B"/overlay2/*/; do d=$(basename "$d"); [ "$d" = l ] || [ "$d" = "$layers_empty" ] ||
    echo "$d $(cat "$B/overlay2/$d/link") $(cat "$B/overlay2/$d/lower" 2>/dev/null)"; done)
is "$got_links" "$ref_links" "every link and lower file is byte for byte what dockerd wrote (except the minted name)"
is "$(stat -c '%a %U %G' "$B/overlay2/$c_stopped/work" "$B/overlay2/$classic_mid/work" | sort -u)" \
    "$(stat -c '%a %U %G' "$REF/overlay2/$c_stopped/work" | sort -u)" "work/ dirs are back with dockerd's mode and owner (0700 root)"
nj=$(grep -c '"result":"started"' "$J"); nok=$(grep -c '"result":"ok"' "$J")
ok "journal: each of the $nj writes has a 'started' and an 'ok' line" test "$nj" -gt 0 -a "$nj" = "$nok"
ok "no lock file, no temp file left" test -z "$(find "$B" -name '*.ovl2fsck*' -o -name '.ovl2fsck-tmp-*')"

"$OVL2FSCK" --root "$B" --repair --apply --min-age 0 --journal "$J" >"$TAP_TMP/again.txt" 2>&1
is "$?" 0 "idempotent: a second --repair --apply finds nothing to do (exit 0)"

# --- dockerd on the repaired store ------------------------------------------
probe "$B" "$TAP_TMP/probe.after"
note "$(cat "$TAP_TMP/probe.after")"
is "$(cat "$TAP_TMP/probe.after")" "$(cat "$TAP_TMP/probe.ref")" \
    "dockerd runs every image, exports every image's rootfs and starts every container exactly as on the unbroken store"
is "$(grep -c '^start c-[a-z]* 0' "$TAP_TMP/probe.after")" 4 "all 4 containers start"
is "$(grep '^bk-two' "$TAP_TMP/probe.after")" "bk-two two" "o2t/bk sees its own files again (/bk/two = two)"
done_testing
