#!/usr/bin/env bash
# overlay2/ driver dir, link, lower and BuildKit inconsistencies injected one
# at a time into copies of a real dockerd store.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
cases_init

# TD: the dir of o2t/layers-empty:1's top layer (no child dir, no container).
# BD: the dir of o2t/layers-b:latest's top layer: two lower entries, no child dir.
pick_t() { TD=$(si cache-id "$(si top o2t/layers-empty:1)"); TL=$(si link "$TD"); }
pick_b() { BD=$(si cache-id "$(si top o2t/layers-b:latest)"); }

# --- overlay-dir-orphaned ------------------------------------------------------
new_store orphan-pull
# a pull crashed after the tar was applied, before the layer was registered
O=$(si random-hex 64)
make_overlay_dir "$O" "$(si cache-id "$(si top o2t/busybox:latest)")" >/dev/null
expect_findings "overlay-dir-orphaned (interrupted pull)" 4 --want overlay-dir-orphaned="$O"

new_store orphan-create
# a container create crashed after its -init and RW dirs, before mounts/<id>
M=$(si random-hex 64)
make_overlay_dir "$M-init" "$(si cache-id "$(si top o2t/classic-a:latest)")" >/dev/null
make_overlay_dir "$M" "$M-init" >/dev/null
expect_findings "overlay-dir-orphaned (interrupted container create)" 4 \
    --want overlay-dir-orphaned="$M-init" --want overlay-dir-orphaned="$M"

new_store orphan-bk
K=$(si random-hex 25 | tr 'abcdef' 'ghijkl')
make_overlay_dir "$K" >/dev/null
expect_findings "overlay-dir-orphaned (BuildKit dir snapshots.db does not name)" 4 \
    --want overlay-dir-orphaned="$K"

# --- overlay-diff-missing ------------------------------------------------------
new_store diff-gone; pick_t
rm -rf "$S/overlay2/$TD/diff"
expect_findings "overlay-diff-missing (diff/ removed)" 4 --want overlay-diff-missing="$TD"

new_store diff-file; pick_t
rm -rf "$S/overlay2/$TD/diff" && : >"$S/overlay2/$TD/diff"
expect_findings "overlay-diff-missing (diff is a file)" 4 --want overlay-diff-missing="$TD"

# --- overlay-link-missing ------------------------------------------------------
new_store link-file-gone; pick_t
rm "$S/overlay2/$TD/link"
expect_findings "overlay-link-missing (link file missing)" 4 --want overlay-link-missing="$TD"

new_store link-file-empty; pick_t
: >"$S/overlay2/$TD/link"          # moby#35747: empty after power loss
expect_findings "overlay-link-missing (link file empty)" 4 --want overlay-link-missing="$TD"

new_store link-symlink-gone; pick_t
rm "$S/overlay2/l/$TL"
expect_findings "overlay-link-missing (l/ symlink absent)" 4 --want overlay-link-missing="$TD"

# --- overlay-link-invalid ------------------------------------------------------
new_store link-short; pick_t
printf 'ABC123' >"$S/overlay2/$TD/link"
expect_findings "overlay-link-invalid (too short, bad chars)" 4 --want overlay-link-invalid="$TD"

new_store link-lower; pick_t
printf '%s' "$TL" | tr 'A-Z' 'a-z' >"$S/overlay2/$TD/link"
expect_findings "overlay-link-invalid (lowercase)" 4 --want overlay-link-invalid="$TD"

# --- overlay-link-broken -------------------------------------------------------
new_store link-broken
N=$(si random-link)
ln -s "../$(si random-hex 64)/diff" "$S/overlay2/l/$N"
expect_findings "overlay-link-broken" 4 --want overlay-link-broken="$N"

# --- overlay-link-mismatch -----------------------------------------------------
new_store link-mismatch; pick_t
N=$(si random-link)
ln -s "../$TD/diff" "$S/overlay2/l/$N"   # a second name for a dir whose link says $TL
expect_findings "overlay-link-mismatch" 4 --want overlay-link-mismatch="$N"

# --- overlay-lower-invalid -----------------------------------------------------
new_store lower-empty; pick_b
: >"$S/overlay2/$BD/lower"         # moby#42456: empty after power loss
expect_findings "overlay-lower-invalid (empty)" 4 --want overlay-lower-invalid="$BD" \
    --want reference-graph-incomplete=orphan-checks

new_store lower-garbage; pick_b
printf 'not a lower file' >"$S/overlay2/$BD/lower"
expect_findings "overlay-lower-invalid (malformed)" 4 --want overlay-lower-invalid="$BD" \
    --want reference-graph-incomplete=orphan-checks

new_store lower-noentry; pick_b
low=$(si lower "$BD")
printf 'l/%s:%s' "$(si random-link)" "${low#*:}" >"$S/overlay2/$BD/lower"
expect_findings "overlay-lower-invalid (names a missing l/ entry)" 4 --want overlay-lower-invalid="$BD"

new_store lower-order; pick_b
low=$(si lower "$BD")
printf '%s:%s' "${low#*:}" "${low%%:*}" >"$S/overlay2/$BD/lower"
expect_findings "overlay-lower-invalid (disagrees with the parent chain)" 4 --want overlay-lower-invalid="$BD"

new_store lower-gone; pick_b
rm "$S/overlay2/$BD/lower"
expect_findings "overlay-lower-invalid (missing on a layer with a parent)" 4 --want overlay-lower-invalid="$BD"

# --- overlay-stray-entry (warning) ---------------------------------------------
new_store stray-file
echo "notes" >"$S/overlay2/notes.txt"
expect_findings "overlay-stray-entry (file in overlay2/)" 0 --want overlay-stray-entry=notes.txt

new_store stray-l
N=$(si random-link)
: >"$S/overlay2/l/$N"
expect_findings "overlay-stray-entry (regular file in l/)" 0 --want overlay-stray-entry="$N"

# --- buildkit-snapshot-dangling (warning) --------------------------------------
new_store bk-dangling
# a dir only snapshots.db references (no layer, no child) is removed with its link
K=$(si bk-only-dir)
ok "found a BuildKit-only dir ($K)" test -n "$K"
remove_overlay_dir "$K"
expect_findings "buildkit-snapshot-dangling" 0 --want buildkit-snapshot-dangling="$K"

done_testing
