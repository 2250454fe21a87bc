#!/usr/bin/env bash
# The Docker version matrix: ovl2fsck on stores written by Docker 26.1
# (Debian trixie), 28.5 (sid) and a 20.10 store (Debian 12) upgraded by 28.5,
# each daemon in a chroot (tests/lib/docker-versions.sh).
#
# For each store: the healthy store has no error and no garbage finding;
# injected faults (a deleted l/ symlink, an emptied lower file, an orphan
# overlay2 dir, a .tmp-* leftover of the atomic writer of 26+; on another copy
# a deleted cache-id) give exactly their findings; after --repair --apply and
# --reap --apply the rescan is clean and the daemon that wrote the store
# starts on it, saves every image and runs every image that ran before.
#
# Runs only with OVL2FSCK_VERSIONS=1 (a few minutes; the chroots are built
# once, ~1 min each, and cached in build/docker-versions):
#   OVL2FSCK_VERSIONS=1 ./tests/run-all tests/integration/t-versions.t
# OVL2FSCK_VERSIONS_ONLY="26 28 upgrade" picks a subset.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
. "$(dirname "$0")/../lib/docker-versions.sh"

[ "${OVL2FSCK_VERSIONS:-0}" = 1 ] ||
    skip_all "the Docker 26/28 version matrix runs only with OVL2FSCK_VERSIONS=1 (make test-versions)"
[ -x "$OVL2FSCK" ] || bail_out "$OVL2FSCK is not built (run make)"
[ "$(id -u)" = 0 ] || skip_all "not root"
command -v python3 >/dev/null || skip_all "no python3"
tap_tmpdir
J=$TAP_TMP/journal.jsonl
ONLY=${OVL2FSCK_VERSIONS_ONLY:-26 28 upgrade}

# Findings that are known ovl2fsck bugs on these stores, with the reason
# (empty: none). One "severity check object" line in $1.
known_bug() {
    case "$1" in
        "garbage overlay-tmp-leftover "*|"garbage image-mount-container-missing "*)
            local c=${1#garbage }
            c=${c%% *}
            [ "${AFTER_REAP:-0}" = 1 ] && ! grep -qxF "$c" <<<"${REAPER_PLANS:-}" &&
                echo "the reaper does not plan $c yet (requested)" ;;
        "garbage root-tmp-leftover tmp/moby-detect-rro"*)
            echo "dockerd 25+ never removes its empty tmp/moby-detect-rro* probe dir: not garbage (requested fix of root-tmp-leftover)" ;;
    esac
}

# reaper_plans ROOT: sets REAPER_PLANS to the checks the reaper's dry run plans.
reaper_plans() {
    "$OVL2FSCK" --root "$1" --reap --min-age 0 --json >"$1.plan" 2>/dev/null
    REAPER_PLANS=$(python3 -c 'import json,sys; print("\n".join(sorted({i["check"] for i in json.load(open(sys.argv[1]))["items"]})))' "$1.plan" 2>/dev/null)
}

# bad_findings JSON: "severity check object" of every error and garbage finding.
bad_findings() {
    python3 -c '
import json, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    if f["severity"] in ("error", "garbage"):
        print(f["severity"], f["check"], f["object"])' "$1" | sort
}

# assert_clean LABEL JSON: no error or garbage finding but known bugs (TODO).
assert_clean() {
    local label=$1 json=$2 line other= known=
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        if [ -n "$(known_bug "$line")" ]; then known+="$line ($(known_bug "$line"))"$'\n'; else other+="$line"$'\n'; fi
    done < <(bad_findings "$json")
    is "$other" "" "$label: no error or garbage finding"
    if [ -n "$known" ]; then
        TAP_TODO="known ovl2fsck false positives"
        fail "$label: known false positives"
        diag "$known"
        TAP_TODO=
    fi
    # the --allow arguments for expect_findings on copies of this store
    KNOWN_ALLOW=()
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        set -- $line
        KNOWN_ALLOW+=(--allow "$2=$3")
    done <<<"$known"
    # warnings are allowed, shown
    local w
    w=$(python3 -c '
import json, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    if f["severity"] == "warning":
        print(f["check"], f["object"], f["detail"])' "$json")
    [ -z "$w" ] || note "$label: warnings: $w"
}

# probe SUITE ROOT OUT: the daemon of SUITE on ROOT; one line per image
# (save and run result) into OUT. 64-hex ids become <id>.
probe() {
    local suite=$1 root=$2 out=$3 ex i ref rc err
    ex=$(mktemp -d /tmp/o2v.XXXXXX)
    : >"$out"
    local DV_BIND=("$ex")
    if ! dv_start "$suite" "$root" "$ex/e"; then
        echo "dockerd-start fail" >>"$out"
        rm -rf --one-file-system "$ex"
        return 1
    fi
    dv_docker image ls -a --no-trunc --format '{{.ID}} {{.Repository}}:{{.Tag}}' >"$ex/images"
    for i in $(cut -d' ' -f1 "$ex/images" | sort -u); do
        ref=$(awk -v i="$i" '$1 == i && $2 != "<none>:<none>" { print $2 }' "$ex/images" | sort | paste -sd,)
        ref=${ref:-${i:7:12}}
        err=$(dv_docker save -o "$ex/save.tar" "$i" 2>&1 >/dev/null); rc=$?
        echo "save $ref $rc $(daemon_err_line "$err")" >>"$out"
        rm -f "$ex/save.tar"
        err=$(dv_docker run --rm --network none "$i" true 2>&1 >/dev/null); rc=$?
        echo "run $ref $rc $(daemon_err_line "$err")" >>"$out"
    done
    dv_stop
    rm -rf --one-file-system "$ex"
}

# runs_like LABEL BASELINE AFTER [DROPPED_REF...]: every image saves; the
# images that ran on the healthy store run; the dropped refs are gone.
runs_like() {
    local label=$1 base=$2 after=$3 r want
    shift 3
    want=$(grep -v '^dockerd-start' "$base")
    for r in "$@"; do want=$(grep -v -E "^(save|run) ([^ ]*,)?$r[, ]" <<<"$want"); done
    is "$(grep -c '^save .* 0 *$' "$after")" "$(grep -c '^save ' "$after")" \
        "$label: the daemon saves every image it lists ($(grep -c '^save ' "$after"))"
    is "$(grep '^run .* 0 *$' "$after" | cut -d' ' -f1-2)" "$(grep '^run .* 0 *$' <<<"$want" | cut -d' ' -f1-2)" \
        "$label: the images that ran on the healthy store run"
    is "$(cut -d' ' -f1-2 "$after")" "$(cut -d' ' -f1-2 <<<"$want")" "$label: the daemon lists the images it listed${1:+ (but $*)}"
}

# The 20.10 store upgraded by 28: the reference store (host dockerd 20.10),
# then 28 runs a container, builds with BuildKit on an old image, untags one.
build_upgraded_store() {
    local dst=$1 work ex rc=1
    ref_store_template || return 1
    ref_store_copy "$dst" || return 1
    work=$(mktemp -d "$TAP_TMP/up.XXXXXX") && ex=$(mktemp -d /tmp/o2v.XXXXXX) || return 1
    mkdir -p "$work/ctx"
    printf '%s\n' 'FROM o2t/classic-b:latest' 'RUN echo up > /up28' >"$work/ctx/Dockerfile"
    local DV_BIND=("$work")
    if dv_start sid "$dst" "$ex/e"; then
        local docker=$DV_DOCKER
        _store_run "$docker" run --network none --name c-up28 o2t/classic-a:latest sh -c 'echo up > /up' &&
            DOCKER_BUILDKIT=1 _store_run "$docker" build --network none -t o2t/up28:latest "$work/ctx" &&
            _store_run "$docker" rmi o2t/classic-a:v1 &&
            _store_run "$docker" rm c-exited && rc=0
        dv_stop
    fi
    rm -rf --one-file-system "$ex"
    return "$rc"
}

# matrix LABEL SUITE: the whole sequence on one store.
matrix() {
    local label=$1 suite=$2 why R F base after T
    why=$(dv_prereq_missing "$suite")
    if [ -n "$why" ]; then
        skip 1 "Docker $label: $why"
        return
    fi
    R=$TAP_TMP/$label/store
    MATRIX_STORE_OK=0
    mkdir -p "$TAP_TMP/$label"
    if [ "$label" = upgrade ]; then
        why=$(store_prereq_missing)
        if [ -n "$why" ]; then
            skip 1 "Docker 20.10 upgraded by 28: no 20.10 daemon: $why"
            return
        fi
        if ! ok "upgrade: a 20.10 store, then Docker 28 on it" build_upgraded_store "$R"; then
            return
        fi
    elif ! ok "Docker $label: the reference store built by its daemon" dv_build_store "$suite" "$R"; then
        return
    fi
    MATRIX_STORE_OK=1
    [ ! -f "$R.facts" ] || note "$label: $(tr '\n' ' ' <"$R.facts")"

    # --- healthy ------------------------------------------------------------
    fsck_json "$R" --min-age 0
    note "$label: scanned $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["scanned"])' "$R.json")"
    assert_clean "$label: healthy store" "$R.json"
    local healthy_allow=("${KNOWN_ALLOW[@]}")
    HEALTHY_ALLOW=("${KNOWN_ALLOW[@]}")
    # the baseline: what the daemon does with a copy of the healthy store
    base=$TAP_TMP/$label/probe.base
    S=$TAP_TMP/$label/base
    ref_copy "$R" "$S"
    probe "$suite" "$S" "$base"
    ok "$label: baseline: the daemon starts and saves every image" \
        test -s "$base" -a "$(grep -c '^save .* 0 *$' "$base")" = "$(grep -c '^save ' "$base")"
    note "$label: baseline: $(grep -c '^save ' "$base") images, $(grep -c '^run .* 0 *$' "$base") run"
    rm -rf --one-file-system "$S"

    # --- round 1: link, lower, orphan, .tmp leftovers -----------------------
    S=$TAP_TMP/$label/f1
    ref_copy "$R" "$S"
    local cb_top bk_top ca_top orphan lk tmp_l want_tmp=()
    cb_top=$(si cache-id "$(si top o2t/layers-b:latest)")   # no child, no container
    bk_top=$(si cache-id "$(si top o2t/bk:latest)")
    ca_top=$(si cache-id "$(si top o2t/classic-a:latest)")
    rm "$S/overlay2/l/$(si link "$cb_top")"                 # a deleted l/ symlink
    : >"$S/overlay2/$bk_top/lower"                         # an emptied lower file
    orphan=$(si random-hex 64)
    lk=$(make_overlay_dir "$orphan")                       # a half-pulled dir nothing names
    # what a crash inside the atomic writer of 26+ leaves (os.CreateTemp names)
    si link "$ca_top" | tr -d '\n' >"$S/overlay2/$ca_top/.tmp-link2849117613"
    cp "$S/overlay2/$ca_top/lower" "$S/overlay2/$ca_top/.tmp-lower1137962046"
    : >"$S/overlay2/$ca_top/.tmp-committed98234512"
    printf x >"$S/overlay2/$orphan/.tmp-link1"          # goes with its orphaned dir
    tmp_l=.tmp-$(si random-link)3377
    ln -s "../$ca_top/diff" "$S/overlay2/l/$tmp_l"
    want_tmp=(--want "overlay-tmp-leftover=$ca_top/.tmp-link2849117613"
              --want "overlay-tmp-leftover=$ca_top/.tmp-lower1137962046"
              --want "overlay-tmp-leftover=$ca_top/.tmp-committed98234512"
              --want "overlay-tmp-leftover=l/$tmp_l")
    # the emptied lower file of a live dir hides what it names: the orphan
    # waits for the repair (reference-graph-incomplete says so), then goes
    expect_findings "$label: round 1 (l/ symlink, lower, orphan, .tmp-*)" 4 \
        --want overlay-link-missing="$cb_top" --want overlay-lower-invalid="$bk_top" \
        --want reference-graph-incomplete=orphan-checks "${want_tmp[@]}" "${healthy_allow[@]}"
    "$OVL2FSCK" --root "$S" --repair --apply --min-age 0 --journal "$J" >"$S.repair" 2>&1
    like "$?" '^[15]$' "$label: round 1: --repair --apply fixed everything it planned (exit 1 or 5)" ||
        diag "$(tail -n 20 "$S.repair")"
    reaper_plans "$S"
    "$OVL2FSCK" --root "$S" --reap --apply --min-age 0 --journal "$J" >"$S.reap" 2>&1
    like "$?" '^[15]$' "$label: round 1: --reap --apply removed everything it planned (exit 1 or 5)" ||
        diag "$(tail -n 20 "$S.reap")"
    ok "$label: round 1: the orphan and its l/ link are gone" \
        test ! -e "$S/overlay2/$orphan" -a ! -L "$S/overlay2/l/$lk"
    fsck_json "$S" --min-age 0
    AFTER_REAP=1 assert_clean "$label: round 1: rescan after repair and reap" "$S.json"
    after=$TAP_TMP/$label/probe.f1
    probe "$suite" "$S" "$after"
    runs_like "$label: round 1" "$base" "$after"

    # --- round 2: a deleted cache-id (lost metadata: not repairable) -----------
    S=$TAP_TMP/$label/f2
    ref_copy "$R" "$S"
    T=$(si top o2t/layers-empty:1)
    rm "$(layerdb "$T")/cache-id"
    expect_findings "$label: round 2 (cache-id deleted)" 4 --want layer-metadata-missing="$T" \
        --allow $RGI "${healthy_allow[@]}"
    "$OVL2FSCK" --root "$S" --repair --apply --min-age 0 --journal "$J" >"$S.repair" 2>&1
    "$OVL2FSCK" --root "$S" --reap --apply --min-age 0 --journal "$J" >"$S.reap" 2>&1
    fsck_json "$S" --min-age 0
    local line left=
    while IFS= read -r line; do
        [ -z "$line" ] || [ -n "$(known_bug "$line")" ] || left+="$line"$'\n'
    done < <(bad_findings "$S.json")
    is "$left" "error layer-metadata-missing $T"$'\n' \
        "$label: round 2: after repair and reap only the lost cache-id is left (and known false positives)"
    after=$TAP_TMP/$label/probe.f2
    probe "$suite" "$S" "$after"
    runs_like "$label: round 2" "$base" "$after" o2t/layers-empty:1
}

# round 3 (28): docker rm of a container with image mounts leaves them (28.5)
image_mount_round() {
    local label=$1 suite=$2 R=$TAP_TMP/$1/store S ex cid mid left
    S=$TAP_TMP/$label/f3
    ref_copy "$R" "$S"
    ex=$(mktemp -d /tmp/o2v.XXXXXX)
    if ! dv_start "$suite" "$S" "$ex/e"; then
        fail "$label: round 3: the daemon starts"
        return
    fi
    cid=$(dv_docker inspect --format '{{.Id}}' c-imgmount)
    dv_docker rm c-imgmount >/dev/null
    dv_stop
    rm -rf --one-file-system "$ex"
    left=$(cd "$S/image/overlay2/layerdb/mounts" && find . -mindepth 2 -name mount-id -path "./$cid-*" | sed 's|^\./||; s|/mount-id$||')
    is "$left" "$cid-o2t/classic-a:latest" "$label: round 3: docker rm left its image mount entry behind"
    expect_findings "$label: round 3 (image mount of a removed container)" 4 \
        --want image-mount-container-missing="$cid-o2t/classic-a:latest" "${HEALTHY_ALLOW[@]}"
    mid=$(cat "$S/image/overlay2/layerdb/mounts/$cid-o2t/classic-a:latest/mount-id")
    reaper_plans "$S"
    "$OVL2FSCK" --root "$S" --reap --apply --min-age 0 --journal "$J" >"$S.reap" 2>&1
    fsck_json "$S" --min-age 0
    AFTER_REAP=1 assert_clean "$label: round 3: rescan after reap" "$S.json"
    TAP_TODO=$(AFTER_REAP=1 known_bug "garbage image-mount-container-missing x")
    ok "$label: round 3: the entry and its RW dir are gone" \
        test -n "$mid" -a ! -e "$S/image/overlay2/layerdb/mounts/$cid-o2t" -a ! -e "$S/overlay2/$mid"
    TAP_TODO=
    probe "$suite" "$S" "$TAP_TMP/$label/probe.f3"
    runs_like "$label: round 3" "$TAP_TMP/$label/probe.base" "$TAP_TMP/$label/probe.f3"
}

ref_copy() { cp -a --preserve=all "$1" "$2"; }

for v in $ONLY; do
    case "$v" in
        26) matrix 26 trixie ;;
        28) matrix 28 sid
            if [ "$MATRIX_STORE_OK" = 1 ]; then image_mount_round 28 sid; fi ;;
        upgrade) matrix upgrade sid ;;
        *) bail_out "OVL2FSCK_VERSIONS_ONLY: unknown version '$v' (26, 28, upgrade)" ;;
    esac
done
done_testing
