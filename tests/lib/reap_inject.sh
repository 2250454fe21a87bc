# tests/lib/reap_inject.sh — what the reaper's integration tests share.
#
#   . tests/lib/tap.sh; . tests/lib/cases.sh; . tests/lib/reap_inject.sh
#   reap_inject_garbage              # into $S: garbage of every reapable class, and errors
#   reap_garbage_template            # sets G: a store with the injection above, made once per
#                                    # test file (copy it with: reap_copy G DEST)
#   reap_tree MODE ROOT              # one line per entry, sorted; MODE:
#                                    #   full     everything lstat says (mtimes, ctimes, inodes),
#                                    #            content hashes, xattrs, devices, link counts
#                                    #   restore  like full without ctimes; the dirs whose entries
#                                    #            a reap renames in and out keep no mtime, and
#                                    #            repositories.json (rewritten) no inode/mtime
#                                    #   result   what two reaps of two copies must agree on: no
#                                    #            inodes, ctimes or mtimes of those dirs
#   reap_hash MODE ROOT              # sha256 of reap_tree
#   reap_tree MODE ROOT ROOT...      # "ROOT HASH" per root, in one process (python starts slowly)
#   reap_json ARGS...                # ovl2fsck --json ARGS > $RJ, status in RJ_RC
#   jq_py FILE EXPR                  # evaluate a Python expression on the JSON in FILE (as d)
#
# Every injection imitates what a crash or an interrupted docker command leaves.

REAP_DOCKERFILE_BK='FROM o2t/busybox:latest
RUN mkdir /bk && echo one > /bk/one && echo keep > /bk/keep
COPY f.txt /bk/f.txt
RUN echo two > /bk/two && rm /bk/one'

# Remember what was injected (names into $S.injected, KEY=VALUE).
_ri_note() { printf '%s=%s\n' "$1" "$2" >>"$S.injected"; }

reap_inject_garbage() {
    local d lk id cid mid top chain tmp bkdir
    : >"$S.injected"
    # overlay-dir-orphaned: a half-pulled base layer dir, one with a parent
    # (lower + work), a container -init dir and a BuildKit-named dir nothing
    # references; each with its l/ link
    d=$(si random-hex 64); make_overlay_dir "$d" >/dev/null; _ri_note orphan "$d"
    d=$(si random-hex 64); make_overlay_dir "$d" "$(si cache-id "$(si top o2t/busybox:latest)")" >/dev/null
    _ri_note orphan "$d"
    d=$(si random-hex 64)-init; make_overlay_dir "$d" >/dev/null; _ri_note orphan "$d"
    d=$(si random-hex 25 | tr 'a-f' 'g-l'); make_overlay_dir "$d" >/dev/null; _ri_note orphan "$d"
    # overlay-link-broken: a link to a dir that is gone
    lk=$(si random-link); ln -s "../$(si random-hex 64)/diff" "$S/overlay2/l/$lk"; _ri_note broken_link "$lk"
    # layer-unreferenced: `docker rmi o2t/classic-b` interrupted after the images
    # were deleted (tags, metadata, config; the classic builder's untagged
    # intermediate images too) and before the layers: its own layers are
    # referenced by nothing
    id=$(si image o2t/classic-b:latest)
    local base_id parent
    base_id=$(si image o2t/classic-a:latest)
    top=$(si top o2t/classic-b:latest)
    local kept
    kept=$(si chain o2t/classic-a:latest)
    for chain in $(si chain o2t/classic-b:latest); do
        grep -qx "$chain" <<<"$kept" || _ri_note unreferenced "$chain"
    done
    untag o2t/classic-b:latest
    while [ -n "$id" ] && [ "$id" != "$base_id" ]; do
        parent=$(sed 's/^sha256://' "$S/$IMG/imagedb/metadata/sha256/$id/parent" 2>/dev/null)
        delete_image_config "$id"
        _ri_note deleted_image "$id"
        id=$parent
    done
    # layerdb-removing-leftover: `docker rmi o2t/layers-b:latest o2t/layers-b:alt`
    # cut while deleting its top layer, after dockerd renamed the layer's dir
    # aside: the -removing dir stays, and the layer's overlay2 dir is orphaned
    id=$(si image o2t/layers-b:latest)
    top=$(si top o2t/layers-b:latest)
    delete_image_config "$id" o2t/layers-b:latest o2t/layers-b:alt
    _ri_note deleted_image "$id"
    mv "$(layerdb "$top")" "$(layerdb "$top")-$(si random-hex 64)-removing"
    _ri_note removing "$top"
    # layerdb-tmp-leftover: a registration that never finished
    tmp=$S/$IMG/layerdb/tmp/write-set-$(si random-hex 9 | tr -dc 0-9)
    mkdir -p "$tmp" && printf '%s' "$(si random-hex 64)" >"$tmp/cache-id" && echo '{}' >"$tmp/descriptor.json"
    _ri_note tmp "$(basename "$tmp")"
    # imagedb-tmp-leftover
    id=$(si image o2t/classic-a:latest)
    head -c 300 "$(imagedb "$id")" >"$(imagedb ".tmp-${id}123456789")"
    # mount-container-missing: `docker rm c-created` cut after the container's dir went
    cid=$(si container c-created); rm -rf "$S/containers/$cid"; _ri_note mount "$cid"
    # container-mount-missing: `docker rm c-exited` cut before containers/<id> went
    cid=$(si container c-exited); mid=$(si mount-id "$cid")
    remove_overlay_dir "$mid"; remove_overlay_dir "$mid-init"; rm -rf "$(mountdb "$cid")"
    _ri_note container "$cid"
    # errors the default reap must leave alone: a layer of o2t/layers-empty:1 is
    # gone (image-layer-missing), and o2t/layers-base:1's config was edited
    # (image-digest-mismatch)
    id=$(si image o2t/layers-empty:1); top=$(si top o2t/layers-empty:1)
    d=$(si cache-id "$top"); rm -rf "$(layerdb "$top")"; remove_overlay_dir "$d"
    _ri_note error_image "$id"
    id=$(si image o2t/layers-base:1)
    sed -i 's/"os":"linux"/"os":"Linux"/' "$(imagedb "$id")"
    _ri_note error_digest "$id"
    return 0
}

injected() { sed -n "s/^$1=//p" "$S.injected"; }

# G: a copy of the garbage store. The injection (some forty storeinfo.py
# calls) runs once per test run when OVL2FSCK_TEST_CACHE is set (tests/run-all
# sets it), next to the reference store, under the same kind of flock.
reap_garbage_template() {
    local cache=${OVL2FSCK_TEST_CACHE:-} fd
    if [ -z "$cache" ]; then
        new_store garbage
        reap_inject_garbage
        G=$S
        return 0
    fi
    exec {fd}>"$cache/reap-garbage.lock"
    flock "$fd"
    if [ ! -f "$cache/reap-garbage.done" ]; then
        S=$cache/reap-garbage
        rm -rf --one-file-system "$S"
        ref_store_copy "$S" || bail_out "cannot copy the reference store"
        reap_inject_garbage && touch "$cache/reap-garbage.done"
    fi
    exec {fd}>&-
    G=$TAP_TMP/garbage
    reap_copy "$cache/reap-garbage" "$G" || bail_out "cannot copy the garbage store"
    S=$G
}

reap_copy() {
    rm -rf --one-file-system "$2" "$2.injected"
    cp -a --preserve=all "$1" "$2" && cp "$1.injected" "$2.injected"
}

reap_tree() {
    python3 - "$@" <<'PY'
import hashlib, os, stat, sys
mode, roots = sys.argv[1], sys.argv[2:]
# dirs a reap renames entries in and out of: their own mtime changes
PARENTS = {".", "overlay2", "overlay2/l", "image/overlay2", "image/overlay2/layerdb/sha256",
           "image/overlay2/layerdb/tmp", "image/overlay2/layerdb/mounts",
           "image/overlay2/imagedb/content/sha256", "image/overlay2/imagedb/metadata/sha256", "containers"}
REWRITTEN = {"image/overlay2/repositories.json"}
def entry(root, out, rel):
    p = os.path.join(root, rel)
    st = os.lstat(p)
    f = [rel, stat.filemode(st.st_mode), str(st.st_uid), str(st.st_gid), str(st.st_nlink)]
    if stat.S_ISREG(st.st_mode):
        f.append(str(st.st_size))
        with open(p, "rb") as fh:
            f.append(hashlib.sha256(fh.read()).hexdigest())
    elif stat.S_ISLNK(st.st_mode):
        f.append("->" + os.readlink(p))
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        f.append("dev=%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
    try:
        for x in sorted(os.listxattr(p, follow_symlinks=False)):
            f.append("x:%s=%s" % (x, os.getxattr(p, x, follow_symlinks=False).hex()))
    except OSError:
        pass
    volatile_dir = stat.S_ISDIR(st.st_mode) and rel in PARENTS
    if mode == "full":
        f += ["m=%d" % st.st_mtime_ns, "c=%d" % st.st_ctime_ns, "i=%d" % st.st_ino]
    elif mode == "restore":
        if not volatile_dir and rel not in REWRITTEN:
            f += ["m=%d" % st.st_mtime_ns, "i=%d" % st.st_ino]
    elif mode == "result":
        if not volatile_dir and rel not in REWRITTEN:
            f.append("m=%d" % st.st_mtime_ns)
    out.append(" ".join(f))
def listing(root):
    out = []
    entry(root, out, ".")
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            entry(root, out, os.path.relpath(os.path.join(d, n), root))
    return "\n".join(sorted(out))
if len(roots) == 1:
    print(listing(roots[0]))
else:
    for r in roots:   # many roots: "<root> <sha256 of its listing>" each
        print(r, hashlib.sha256((listing(r) + "\n").encode()).hexdigest())
PY
}

reap_hash() { reap_tree "$@" | sha256sum | cut -d' ' -f1; }

reap_json() {
    RJ=${RJ:-$TAP_TMP/out.json}
    "$OVL2FSCK" --json "$@" >"$RJ" 2>"$RJ.err"
    RJ_RC=$?
}

jq_py() {
    python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = eval(sys.argv[2])
if isinstance(r, (list, tuple, set)):
    print("\n".join(str(x) for x in r))
else:
    print(r)
PY
}

# reap_probe_dockerd ROOT OUT: start a real dockerd on ROOT and write what it
# can do into OUT, one fact a line: "image ID", "save ID ok|fail",
# "run ID ok|fail" (`docker run --rm --network none ID true`),
# "container ID start ok|fail" (each failure tried once more; what docker
# said goes to OUT.why), "bk-cached N" (CACHED steps of a BuildKit
# rebuild of the reference store's Dockerfile), "bk-image ID". ROOT is
# changed by it (containers started): probe copies.
reap_probe_dockerd() {
    local root=$1 out=$2 ex i c n
    ex=$(mktemp -d /tmp/o2e.XXXXXX)
    : >"$out"
    : >"$out.why"
    if ! dockerd_start "$root" "$ex/e"; then
        echo "dockerd-start fail" >>"$out"
        rm -rf --one-file-system "$ex"
        return 1
    fi
    for i in $(dockerd_docker image ls -aq --no-trunc | sort -u); do
        echo "image $i" >>"$out"
        if dockerd_docker save "$i" >/dev/null 2>"$out.err"; then echo "save $i ok"; else echo "save $i fail"; fi >>"$out"
        # a failure is tried once more: a damaged store fails both times, a
        # daemon hiccup (seen once in CI: a run and a start failed in a
        # store whose every path and item matched the plan) does not
        if dockerd_docker run --rm --network none "$i" true >/dev/null 2>"$ex/run.err" ||
           dockerd_docker run --rm --network none "$i" true >/dev/null 2>>"$ex/run.err"; then
            echo "run $i ok"
        else
            echo "run $i fail"
            sed "s/^/run $i: /" "$ex/run.err" >>"$out.why"   # why, for the diagnostics
        fi >>"$out"
    done
    for c in $(dockerd_docker ps -aq --no-trunc | sort); do
        if dockerd_docker start "$c" >/dev/null 2>"$ex/start.err" ||
           dockerd_docker start "$c" >/dev/null 2>>"$ex/start.err"; then
            echo "container $c start ok"
        else
            echo "container $c start fail"
            sed "s/^/start $c: /" "$ex/start.err" >>"$out.why"
        fi >>"$out"
        dockerd_docker stop -t 0 "$c" >/dev/null 2>&1
    done
    mkdir -p "$ex/bk"
    echo "file for buildkit" >"$ex/bk/f.txt"
    printf '%s\n' "$REAP_DOCKERFILE_BK" >"$ex/bk/Dockerfile"
    DOCKER_BUILDKIT=1 dockerd_docker build --progress=plain --network none -t o2t/bk:rebuilt "$ex/bk" >"$out.bk" 2>&1
    n=$(grep -c ' CACHED$' "$out.bk")
    echo "bk-cached $n" >>"$out"
    echo "bk-image $(dockerd_docker image inspect --format '{{.Id}}' o2t/bk:rebuilt 2>/dev/null)" >>"$out"
    dockerd_stop
    rm -rf --one-file-system "$ex"
    return 0
}
