#!/usr/bin/env bash
# Image, imagedb and tag inconsistencies injected one at a time into copies of
# a real dockerd store; each must give exactly its check and object.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
cases_init

# o2t/layers-base:1 is a one-layer image whose layer every other loaded image
# shares, and that no image has as metadata parent: damaging it touches nothing else.

# --- image-config-invalid ------------------------------------------------------
new_store cfg-notjson
# a config file named by its own digest whose content is cut short (not JSON)
cfg=$(head -c 120 "$(imagedb "$(si image o2t/layers-base:1)")")
printf '%s' "$cfg" >"$S/cut"
id=$(si sha256 "$S/cut"); mv "$S/cut" "$(imagedb "$id")"
expect_findings "image-config-invalid (truncated JSON)" 4 --want image-config-invalid="$id" \
    --want reference-graph-incomplete=orphan-checks

new_store cfg-norootfs
printf '{"architecture":"amd64","os":"linux","config":{}}' >"$S/cfg"
id=$(si sha256 "$S/cfg"); mv "$S/cfg" "$(imagedb "$id")"
expect_findings "image-config-invalid (no rootfs.diff_ids)" 4 --want image-config-invalid="$id" \
    --want reference-graph-incomplete=orphan-checks

new_store cfg-corrupt
# bit rot in a real, tagged image's config: invalid and no longer its digest
id=$(si image o2t/layers-base:1)
printf '\0\0\0\0' | dd of="$(imagedb "$id")" bs=1 seek=0 conv=notrunc status=none
expect_findings "image-config-invalid (corrupt tagged config)" 4 \
    --want image-config-invalid="$id" --allow image-digest-mismatch="$id" \
    --want reference-graph-incomplete=orphan-checks

# a torn config (power loss) of a tagged image whose top layer nothing else
# uses: its layers cannot be known, so that layer is not called unreferenced
# (nor reaped): it was, before
new_store cfg-torn-own-layer
own=
for tag in o2t/layers-empty:1 o2t/layers-b:latest o2t/classic-a:latest o2t/busybox:latest o2t/bk:latest; do
    top=$(si top "$tag") || continue
    [ "$(si images-using "$top" | wc -l)" = 1 ] || continue
    for c in "$S"/image/overlay2/layerdb/mounts/*/; do
        [ "$(si mount-parent "$(basename "$c")")" = "$top" ] && continue 2
    done
    own=$tag
    break
done
if [ -z "$own" ]; then
    fail "a tagged image whose top layer nothing else uses exists in the reference store"
else
    id=$(si image "$own")
    head -c 200 "$(imagedb "$id")" >"$S/cut" && cat "$S/cut" >"$(imagedb "$id")" && rm "$S/cut"
    expect_findings "image-config-invalid (torn config of $own, whose top layer nothing else uses)" 4 \
        --want image-config-invalid="$id" --allow image-digest-mismatch="$id" \
        --want reference-graph-incomplete=orphan-checks
    "$OVL2FSCK" --root "$S" --min-age 0 --reap --json >"$S.plan" 2>/dev/null
    is "$(python3 -c 'import json, sys
print(sorted(i["check"] for i in json.load(open(sys.argv[1]))["items"] if i["check"].startswith("layer")))' "$S.plan")" "[]" \
        "torn config of $own: the reap plan does not remove its layers"
fi

# --- image-digest-mismatch -----------------------------------------------------
new_store digest
id=$(si image o2t/layers-base:1)
sed -i 's/"os":"linux"/"os":"Linux"/' "$(imagedb "$id")"
expect_findings "image-digest-mismatch (edited config, still JSON)" 4 --want image-digest-mismatch="$id"

# --- image-layer-missing -------------------------------------------------------
new_store layer-missing
# the image's top layer was deleted (metadata and dir) while its config stayed
id=$(si image o2t/layers-empty:1)
top=$(si top o2t/layers-empty:1)
dir=$(si cache-id "$top")
rm -rf "$(layerdb "$top")"
remove_overlay_dir "$dir"
expect_findings "image-layer-missing" 4 --want image-layer-missing="$id"

# --- image-parent-missing (warning) --------------------------------------------
new_store parent-missing
# classic builds record the image they were built on
p=$(find "$S/$IMG/imagedb/metadata/sha256" -name parent | head -n 1)
id=$(basename "$(dirname "$p")")
printf 'sha256:%s' "$(si random-hex 64)" >"$p"
expect_findings "image-parent-missing" 0 --want image-parent-missing="$id"

# --- imagedb-tmp-leftover ------------------------------------------------------
new_store imagedb-tmp
# the atomic writer's temp file: .tmp-<name><random>, left by a crash
id=$(si image o2t/classic-b:latest)
tmpname=".tmp-${id}$(si random-hex 9 | tr -dc 0-9)"
head -c 200 "$(imagedb "$id")" >"$(imagedb "$tmpname")"
expect_findings "imagedb-tmp-leftover" 4 --want imagedb-tmp-leftover="$tmpname"

# --- tag-file-invalid ----------------------------------------------------------
new_store tagfile-cut
f=$S/$IMG/repositories.json
head -c 100 "$f" >"$f.cut" && mv "$f.cut" "$f"
expect_findings "tag-file-invalid (truncated)" 4 --want tag-file-invalid=repositories.json

new_store tagfile-shape
printf '{"Repositories":["o2t/busybox"]}' >"$S/$IMG/repositories.json"
expect_findings "tag-file-invalid (wrong shape)" 4 --want tag-file-invalid=repositories.json

new_store tagfile-empty
: >"$S/$IMG/repositories.json"
expect_findings "tag-file-invalid (empty file)" 4 --want tag-file-invalid=repositories.json

# --- tag-dangling --------------------------------------------------------------
new_store tag-dangling
# the image config is gone but its tag stayed
delete_image_config "$(si image o2t/layers-base:1)"
expect_findings "tag-dangling (config deleted)" 4 --want tag-dangling=o2t/layers-base:1

new_store tag-dangling2
add_tag o2t/ghost:v9 "$(si random-hex 64)"
expect_findings "tag-dangling (tag names an unknown id)" 4 --want tag-dangling=o2t/ghost:v9

done_testing
