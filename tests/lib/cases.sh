# tests/lib/cases.sh — injection cases on copies of the reference store.
#
#   . tests/lib/tap.sh; . tests/lib/cases.sh
#   cases_init                       # builds/reuses the reference store (skip_all without root/docker)
#   new_store NAME                   # S = a fresh copy of the reference store
#   ... inject into "$S" (helpers below) ...
#   expect_findings NAME RC --want CHECK=OBJECT ... [--allow CHECK[=OBJECT] ...]
#       runs ovl2fsck --root $S --json --min-age 0 and asserts the exit status,
#       the exact wanted findings, nothing but allowed others, and that the text
#       report (--report) names every wanted check. KNOWN_BUG="why" (as an
#       env prefix) marks the exact-findings assertion TODO: a known ovl2fsck bug
#   fsck_json S [ARGS]               # runs ovl2fsck --json into $S.json, FSCK_RC = status
#   si QUERY ARGS                    # storeinfo.py on $S
#
# Every injection imitates what a crash, a bug or a careless hand leaves on disk.

CASES_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$CASES_LIB_DIR/store.sh"
TOOLS=$(cd "$CASES_LIB_DIR/../tools" && pwd)
export PYTHONDONTWRITEBYTECODE=1

cases_init() {
    local why
    [ -x "$OVL2FSCK" ] || bail_out "$OVL2FSCK is not built (run make)"
    why=$(store_prereq_missing)
    [ -z "$why" ] || skip_all "cannot run a real dockerd: $why"
    tap_tmpdir
    ref_store_template || bail_out "could not build the reference store with dockerd"
}

new_store() {
    S=$TAP_TMP/$1
    rm -rf --one-file-system "$S" "$S.json" "$S.report"
    ref_store_copy "$S" || bail_out "cannot copy the reference store"
}

si() { python3 "$TOOLS/storeinfo.py" "$S" "$@"; }

# count_opaque_dirs DIR: dirs below DIR with trusted.overlay.opaque=y
count_opaque_dirs() {
    python3 -c '
import os, sys
n = 0
for dp, dns, fns in os.walk(sys.argv[1]):
    for d in dns:
        try:
            n += os.getxattr(os.path.join(dp, d), "trusted.overlay.opaque", follow_symlinks=False) == b"y"
        except OSError:
            pass
print(n)' "$1"
}
findings() { python3 "$TOOLS/findings.py" "$@"; }

fsck_json() {
    local root=$1; shift
    "$OVL2FSCK" --root "$root" --json "$@" >"$root.json" 2>"$root.stderr"
    FSCK_RC=$?
}

fsck_report() {
    local root=$1; shift
    "$OVL2FSCK" --root "$root" --report "$@" >"$root.report" 2>&1
    FSCK_RC=$?
}

# expect_findings NAME RC [--want C=O]... [--allow C[=O]]...
expect_findings() {
    local name=$1 rc=$2 out a checks=()
    shift 2
    fsck_json "$S" --min-age 0
    if ! is "$FSCK_RC" "$rc" "$name: exit status $rc"; then
        diag "$(head -c 2000 "$S.stderr")"
    fi
    TAP_TODO=${KNOWN_BUG:-}
    if out=$(findings expect "$S.json" "$@" 2>&1); then
        pass "$name: exactly the expected findings"
    else
        fail "$name: exactly the expected findings"
        diag "$out"
    fi
    TAP_TODO=
    # the human report names each wanted check
    local prev=
    for a in "$@"; do
        [ "$prev" = --want ] && checks+=("${a%%=*}")
        prev=$a
    done
    fsck_report "$S" --min-age 0
    local missing=()
    for a in "${checks[@]}"; do
        grep -qF -- "$a" "$S.report" || missing+=("$a")
    done
    if [ "$FSCK_RC" = "$rc" ] && [ ${#missing[@]} -eq 0 ]; then
        pass "$name: --report exits $rc and names ${checks[*]}"
    else
        fail "$name: --report exits $rc and names ${checks[*]}"
        diag "report exit $FSCK_RC; not named: ${missing[*]}"
        diag "$(head -c 3000 "$S.report")"
    fi
}

# The warning ovl2fsck adds whenever a reference may have been missed (and the
# garbage checks stay silent): an allowed co-finding of such injections.
RGI=reference-graph-incomplete=orphan-checks

# --- injection helpers (all paths inside $S) ---------------------------------

IMG=image/overlay2
imagedb() { printf '%s' "$S/$IMG/imagedb/content/sha256/$1"; }
layerdb() { printf '%s' "$S/$IMG/layerdb/sha256/$1"; }
mountdb() { printf '%s' "$S/$IMG/layerdb/mounts/$1"; }

# Remove an overlay2 dir the way the driver does: its l/ symlink, then the dir.
remove_overlay_dir() {
    local d=$1 lk
    lk=$(cat "$S/overlay2/$d/link" 2>/dev/null)
    [ -n "$lk" ] && rm -f "$S/overlay2/l/$lk"
    rm -rf --one-file-system "$S/overlay2/$d"
}

# Drop tags from repositories.json (as `docker rmi` does first).
untag() {
    python3 - "$S/$IMG/repositories.json" "$@" <<'PY'
import json, sys
p, refs = sys.argv[1], sys.argv[2:]
d = json.load(open(p))
for repo in list(d["Repositories"]):
    for r in refs:
        d["Repositories"][repo].pop(r, None)
    if not d["Repositories"][repo]:
        del d["Repositories"][repo]
open(p, "w").write(json.dumps(d, separators=(",", ":")))
PY
}

# Add a tag naming an image id (64 hex).
add_tag() {
    python3 - "$S/$IMG/repositories.json" "$1" "$2" <<'PY'
import json, sys
p, ref, iid = sys.argv[1:4]
d = json.load(open(p))
d["Repositories"].setdefault(ref.rsplit(":", 1)[0], {})[ref] = "sha256:" + iid
open(p, "w").write(json.dumps(d, separators=(",", ":")))
PY
}

# Delete an image as `docker rmi` does up to its layers: tags, metadata, config.
delete_image_config() {
    local id=$1; shift
    [ $# -gt 0 ] && untag "$@"
    rm -rf "$S/$IMG/imagedb/metadata/sha256/$id"
    rm -f "$(imagedb "$id")"
}

# Make a new overlay2 dir as a pull/load does before the layer is registered:
# diff/ with a file, link, l/ symlink (and lower/work when given a parent dir).
make_overlay_dir() {
    local d=$1 parent=${2:-} lk
    lk=$(si random-link)
    mkdir -p "$S/overlay2/$d/diff/etc"
    echo "half-pulled $d" >"$S/overlay2/$d/diff/etc/partial"
    printf '%s' "$lk" >"$S/overlay2/$d/link"
    ln -s "../$d/diff" "$S/overlay2/l/$lk"
    if [ -n "$parent" ]; then
        local plink plower
        plink=$(cat "$S/overlay2/$parent/link")
        plower=$(cat "$S/overlay2/$parent/lower" 2>/dev/null)
        printf '%s' "l/$plink${plower:+:$plower}" >"$S/overlay2/$d/lower"
        mkdir -p "$S/overlay2/$d/work"
    fi
    printf '%s\n' "$lk"
}
