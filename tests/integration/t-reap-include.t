#!/usr/bin/env bash
# --include: errors are removed only when named. layer-cache-id-dangling
# removes the layer's metadata and every layer built on it (children first),
# image-layer-missing removes the broken image (tags, metadata, config), so
# that a real dockerd can load and build them again (moby#41190, #44909).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/cases.sh"
. "$(dirname "$0")/../lib/reap_inject.sh"
cases_init
J=$TAP_TMP/journal.jsonl
saves() { dockerd_docker save "$1" >/dev/null 2>"$TAP_TMP/save.err"; }
loads() { dockerd_docker load -q -i "$1" >/dev/null 2>&1; }
new_store include
I=$S
# the content of classic-b's lower own layer is lost (dir and l/ link gone)
kept=$(si chain o2t/classic-a:latest)
own=()
for c in $(si chain o2t/classic-b:latest); do grep -qx "$c" <<<"$kept" || own+=("$c"); done
dangling=${own[0]} child=${own[1]}
remove_overlay_dir "$(si cache-id "$dangling")"
# o2t/layers-empty:1's top layer is gone entirely
broken_image=$(si image o2t/layers-empty:1)
top=$(si top o2t/layers-empty:1); d=$(si cache-id "$top"); rm -rf "$(layerdb "$top")"; remove_overlay_dir "$d"

# what dockerd makes of it before: the image built on the lost layer cannot be saved
B=$TAP_TMP/B
cp -a "$I" "$B"
ex=$(mktemp -d /tmp/o2e.XXXXXX); at_exit "rm -rf --one-file-system '$ex'"
if dockerd_start "$B" "$ex/e"; then
    nok "before: docker save o2t/classic-b fails (its layer's content is gone)" saves o2t/classic-b:latest
    note "docker save said: $(head -c 300 "$TAP_TMP/save.err")"
    dockerd_stop
else
    skip 1 "dockerd did not start"
fi

RJ=$TAP_TMP/plan.json reap_json --root "$I" --reap --min-age 0
is "$RJ_RC" 4 "without --include: exit 4"
is "$(jq_py "$TAP_TMP/plan.json" 'd["summary"]["items"]')" 0 "... and nothing planned: errors are never removed by default"

RJ=$TAP_TMP/a1.json reap_json --root "$I" --reap --apply --min-age 0 \
    --include layer-cache-id-dangling,image-layer-missing --journal "$J"
A1=$TAP_TMP/a1.json
is "$(jq_py "$A1" 'd["summary"]["done"] == d["summary"]["items"] and d["summary"]["failed"] == 0')" True \
    "--apply --include layer-cache-id-dangling,image-layer-missing: every item done (exit $RJ_RC)"
is "$(jq_py "$A1" '[i["check"] + " " + i["object"] for i in d["items"]]')" \
    "$(printf '%s\n' "image-layer-missing $broken_image" "layer-cache-id-dangling $child" "layer-cache-id-dangling $dangling")" \
    "the broken image, then the layer built on the lost one, then the lost one"
ok "their layerdb dirs are gone" test ! -e "$(layerdb "$dangling")" -a ! -e "$(layerdb "$child")"
ok "the broken image's config, metadata and tag are gone" \
    test ! -e "$(imagedb "$broken_image")" -a ! -e "$I/$IMG/imagedb/metadata/sha256/$broken_image"
nok "... its tag too" grep -q 'o2t/layers-empty:1' "$I/$IMG/repositories.json"
ok "other tags are kept" grep -q '"o2t/layers-a:latest"' "$I/$IMG/repositories.json"
# the images built on the removed layers are now missing a layer: a second run
RJ=$TAP_TMP/a2.json reap_json --root "$I" --reap --apply --min-age 0 --include image-layer-missing --journal "$J"
is "$RJ_RC" 1 "a second run removes the images that lost their layers: exit 1"
fsck_json "$I" --min-age 0
is "$FSCK_RC" 0 "the store is clean"

# dockerd can now load and build them again
if dockerd_start "$I" "$ex/e"; then
    python3 "$TOOLS/mkimage.py" "$TAP_TMP/layers.tar" >/dev/null
    ok "docker load of the lost image works" loads "$TAP_TMP/layers.tar"
    ok "... and it saves" saves o2t/layers-empty:1
    mkdir -p "$TAP_TMP/cb"
    printf '%s\n' 'FROM o2t/classic-a:latest' \
        'RUN echo b > /app/b.txt && rm -rf /app/cache && mkdir /app/cache && echo y > /app/cache/y' \
        'WORKDIR /app' 'RUN ln -s b.txt /app/b-link && rm /bin/sync' >"$TAP_TMP/cb/Dockerfile"
    DOCKER_BUILDKIT=0 dockerd_docker build --network none -t o2t/classic-b:latest "$TAP_TMP/cb" >"$TAP_TMP/build.out" 2>&1
    is "$?" 0 "rebuilding o2t/classic-b (same chainIDs as the removed layers) works"
    ok "... it saves" saves o2t/classic-b:latest
    is "$(dockerd_docker run --rm --network none o2t/classic-b:latest cat /app/b.txt 2>&1)" b "... and runs"
    dockerd_stop
else
    skip 5 "dockerd did not start"
fi
done_testing
