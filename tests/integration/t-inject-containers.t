#!/usr/bin/env bash
# Container and mount (RW layer) inconsistencies injected one at a time into
# copies of a real dockerd store, as interrupted creates and removes leave them.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
cases_init

# Create order: -init dir, RW dir, mounts/<id> files, containers/<id>.
# Remove order: RW dir, -init dir, mounts/<id>, containers/<id>.

# --- mount-container-missing ---------------------------------------------------
new_store mount-nocontainer
C=$(si container c-created)
rm -rf "$S/containers/$C"          # create crashed before containers/<id> was written
expect_findings "mount-container-missing" 4 --want mount-container-missing="$C"

# --- mount-id-dangling ---------------------------------------------------------
new_store mountid-rw
C=$(si container c-exited)
remove_overlay_dir "$(si mount-id "$C")"     # remove crashed after the RW dir
expect_findings "mount-id-dangling (RW dir removed)" 4 --want mount-id-dangling="$C"

new_store mountid-both
C=$(si container c-exited)
remove_overlay_dir "$(si mount-id "$C")"
remove_overlay_dir "$(si init-id "$C")"      # ... and after the -init dir
expect_findings "mount-id-dangling (RW and -init dirs removed)" 4 --want mount-id-dangling="$C"

new_store mountid-init
C=$(si container c-stopped)
printf '%s-init' "$(si random-hex 64)" >"$(mountdb "$C")/init-id"
expect_findings "mount-id-dangling (init-id names no dir)" 4 --want mount-id-dangling="$C" \
    --allow overlay-dir-orphaned="$(si mount-id "$C")-init"

new_store mountid-empty
C=$(si container c-created)
: >"$(mountdb "$C")/mount-id"      # written non-atomically: empty after power loss
# The RW dir (the container's data) must not become garbage: init-id still
# names "<mount-id>-init", and the container exists.
expect_findings "mount-id-dangling (mount-id file empty)" 4 --want mount-id-dangling="$C"

# --- mount-parent-missing ------------------------------------------------------
new_store mparent-empty
C=$(si container c-loaded)
: >"$(mountdb "$C")/parent"
expect_findings "mount-parent-missing (parent file empty)" 4 --want mount-parent-missing="$C" \
    --allow $RGI

new_store mparent-unknown
C=$(si container c-created)
printf 'sha256:%s' "$(si random-hex 64)" >"$(mountdb "$C")/parent"
# (the -init dir's lower file is right: it is not reported)
expect_findings "mount-parent-missing (parent names an unknown layer)" 4 --want mount-parent-missing="$C"

# --- container-mount-missing ---------------------------------------------------
new_store container-nomount
C=$(si container c-exited)
# remove crashed after mounts/<id>, before containers/<id>
remove_overlay_dir "$(si mount-id "$C")"
remove_overlay_dir "$(si init-id "$C")"
rm -rf "$(mountdb "$C")"
expect_findings "container-mount-missing" 4 --want container-mount-missing="$C"

# --- container-image-missing (warning) -----------------------------------------
new_store container-noimage
C=$(si container c-loaded)
# its image was deleted (tags, config); the container's mount still pins the layers
delete_image_config "$(si image o2t/layers-a:latest)" o2t/layers-a:latest
expect_findings "container-image-missing" 0 --want container-image-missing="$C"

done_testing
