#!/usr/bin/env bash
# layerdb inconsistencies injected one at a time into copies of a real dockerd
# store; each must give exactly its check and object.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
cases_init

# T: the top layer of o2t/layers-empty:1 (an empty tar on the shared base): no
# child layer, no container, one image. Its damage touches nothing else.
pick_t() { T=$(si top o2t/layers-empty:1); TD=$(si cache-id "$T"); }

# --- layer-metadata-missing ----------------------------------------------------
new_store md-nodiff; pick_t
rm "$(layerdb "$T")/diff"
expect_findings "layer-metadata-missing (diff missing)" 4 --want layer-metadata-missing="$T"

new_store md-emptycache; pick_t
: >"$(layerdb "$T")/cache-id"      # power loss after create, before the data hit the disk
expect_findings "layer-metadata-missing (cache-id empty)" 4 --want layer-metadata-missing="$T" \
    --allow $RGI

new_store md-emptycache-mid
# the same on a layer other dirs are built on: its dir is still the lowerdir of
# the layers above it (their lower files name its l/ link), so it is not garbage,
# and those lower files are right
mapfile -t CH < <(si chain o2t/layers-a:latest)
: >"$(layerdb "${CH[1]}")/cache-id"
expect_findings "layer-metadata-missing (cache-id empty, layer with children)" 4 \
    --want layer-metadata-missing="${CH[1]}" --allow $RGI

new_store md-nosize; pick_t
rm "$(layerdb "$T")/size"
expect_findings "layer-metadata-missing (size missing)" 4 --want layer-metadata-missing="$T"

new_store md-emptydir
# moby#44909: an empty layerdb dir; every later pull of that layer fails
E=$(si random-hex 64)
mkdir "$(layerdb "$E")"
expect_findings "layer-metadata-missing (empty layer dir)" 4 --want layer-metadata-missing="$E" \
    --allow layer-unreferenced="$E"

# --- layer-metadata-invalid ----------------------------------------------------
new_store mi-diff; pick_t
printf 'sha256:%s' "not-a-digest" >"$(layerdb "$T")/diff"
expect_findings "layer-metadata-invalid (diff not a digest)" 4 --want layer-metadata-invalid="$T"

new_store mi-cachedots; pick_t
printf '../../etc' >"$(layerdb "$T")/cache-id"
expect_findings "layer-metadata-invalid (cache-id ../../etc)" 4 --want layer-metadata-invalid="$T" \
    --allow $RGI

new_store mi-cachechars; pick_t
printf 'abc$def!' >"$(layerdb "$T")/cache-id"
expect_findings "layer-metadata-invalid (cache-id non-id chars)" 4 --want layer-metadata-invalid="$T" \
    --allow $RGI

new_store mi-parent; pick_t
printf 'sha256:../%s' "$(si random-hex 40)" >"$(layerdb "$T")/parent"
expect_findings "layer-metadata-invalid (parent with ../)" 4 --want layer-metadata-invalid="$T" \
    --allow $RGI

new_store mi-size; pick_t
printf '12abc' >"$(layerdb "$T")/size"
expect_findings "layer-metadata-invalid (size not a number)" 4 --want layer-metadata-invalid="$T"

# --- layer-chainid-mismatch ----------------------------------------------------
new_store chainid; pick_t
printf 'sha256:%s' "$(si random-hex 64)" >"$(layerdb "$T")/diff"
expect_findings "layer-chainid-mismatch (diff changed)" 4 --want layer-chainid-mismatch="$T" \
    --allow $RGI

# --- layer-parent-missing ------------------------------------------------------
new_store parent-gone
# the BuildKit image's layers are its own: [busybox, RUN, COPY, RUN]. The
# COPY layer's metadata is gone; the RUN layer on it names a missing parent.
mapfile -t BK < <(si chain o2t/bk:latest)
rm -rf "$(layerdb "${BK[2]}")"
# (the RUN layer's lower file is right: it is not reported)
expect_findings "layer-parent-missing (parent layer deleted)" 4 --want layer-parent-missing="${BK[3]}" \
    --allow image-layer-missing="$(si image o2t/bk:latest)"

new_store parent-bogus; pick_t
# a parent file rewritten with a chainID that exists nowhere (so the dir name
# no longer matches either)
printf 'sha256:%s' "$(si random-hex 64)" >"$(layerdb "$T")/parent"
expect_findings "layer-parent-missing (parent names an unknown chainID)" 4 --want layer-parent-missing="$T" \
    --allow layer-chainid-mismatch="$T" --allow $RGI

# --- layer-cache-id-dangling ---------------------------------------------------
new_store cache-dangling; pick_t
remove_overlay_dir "$TD"           # "rm -rf overlay2/<id>" to free space
expect_findings "layer-cache-id-dangling" 4 --want layer-cache-id-dangling="$T"

# --- layer-cache-id-shared -----------------------------------------------------
new_store cache-shared
# top layers of o2t/layers-a and o2t/layers-b sit on the same parent; layers-b's
# cache-id now names layers-a's dir (its own dir is gone)
A=$(si top o2t/layers-a:latest); B=$(si top o2t/layers-b:latest)
AD=$(si cache-id "$A"); BD=$(si cache-id "$B")
remove_overlay_dir "$BD"
printf '%s' "$AD" >"$(layerdb "$B")/cache-id"
expect_findings "layer-cache-id-shared (two layers)" 4 --want layer-cache-id-shared="$AD"

new_store cache-shared-mount
# a container's mount-id names its image's layer dir (its own RW dir is gone)
C=$(si container c-created)
L=$(si mount-parent "$C"); LD=$(si cache-id "$L")
remove_overlay_dir "$(si mount-id "$C")"
printf '%s' "$LD" >"$(mountdb "$C")/mount-id"
expect_findings "layer-cache-id-shared (layer and mount)" 4 --want layer-cache-id-shared="$LD" \
    --allow overlay-lower-invalid="$LD"

# --- layer-unreferenced --------------------------------------------------------
new_store unref; pick_t
# `docker rmi` stopped after the config was deleted, before the layers were released
delete_image_config "$(si image o2t/layers-empty:1)" o2t/layers-empty:1
expect_findings "layer-unreferenced (image deleted, layer kept)" 4 --want layer-unreferenced="$T"

new_store unref2
B=$(si top o2t/layers-b:latest)
delete_image_config "$(si image o2t/layers-b:latest)" o2t/layers-b:latest o2t/layers-b:alt
expect_findings "layer-unreferenced (image with two tags deleted)" 4 --want layer-unreferenced="$B"

# --- layerdb-tmp-leftover ------------------------------------------------------
new_store tmp-leftover; pick_t
# a registration that never finished: its metadata in layerdb/tmp/write-set-*
ws=write-set-$(si random-hex 12 | tr -dc 0-9)1
mkdir -p "$S/$IMG/layerdb/tmp/$ws"
cp "$(layerdb "$T")/diff" "$(layerdb "$T")/size" "$S/$IMG/layerdb/tmp/$ws/"
printf '%s' "$(si random-hex 64)" >"$S/$IMG/layerdb/tmp/$ws/cache-id"
expect_findings "layerdb-tmp-leftover" 4 --want layerdb-tmp-leftover="$ws"

# --- layerdb-removing-leftover -------------------------------------------------
new_store removing; pick_t
# layer deletion: rename to -removing, remove the overlay2 dir, (crash) before
# removing the -removing dir
delete_image_config "$(si image o2t/layers-empty:1)" o2t/layers-empty:1
rm_name=$T-$(si random-hex 64)-removing
mv "$(layerdb "$T")" "$(layerdb "$rm_name")"
remove_overlay_dir "$TD"
expect_findings "layerdb-removing-leftover (dir already removed)" 4 --want layerdb-removing-leftover="$rm_name"

new_store removing-early; pick_t
# crash right after the rename: the overlay2 dir is still there
delete_image_config "$(si image o2t/layers-empty:1)" o2t/layers-empty:1
rm_name=$T-$(si random-hex 64)-removing
mv "$(layerdb "$T")" "$(layerdb "$rm_name")"
expect_findings "layerdb-removing-leftover (dir still there)" 4 --want layerdb-removing-leftover="$rm_name" \
    --allow overlay-dir-orphaned="$TD"

done_testing
