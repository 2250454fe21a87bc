# tests/lib/containerd-checks.sh — what the containerd tests (t-containerd.t,
# t-containerd-reap.t, t-containerd2.t) share to check a containerd root:
#
#   findings ROOT [ARGS...]      # "check object" lines of a JSON run, sorted (--min-age 0,
#                                # no config, no extra checks dir); exit code in $T/rc,
#                                # the report in $T/out.json
#   reclaimable ROOT             # the same, only the classes --reap removes from disk
#   patch_bytes FILE OLD NEW     # replace every OLD by NEW (same length); prints the count
#   tree_hash ROOT [REL...]      # a hash of every entry below ROOT but RELs (never follows
#                                # a symlink; skips the reaper's lock and trash)
#   cd_inject_leftovers ROOT     # the on-disk leftovers a crash leaves: sets BLOCK, ORPH,
#                                # BLOB, ING, CD_LEFTOVERS (the findings they give) and
#                                # CD_LEFTOVER_PATHS (relative to ROOT)
#   cd_offline_injections HEALTHY NS... # one copy of HEALTHY per check that an offline
#                                # edit can trigger, each asserting exactly its findings;
#                                # NS: the namespaces every image was imported into, in
#                                # order (CD_LAYER_NS: those that keep layer blobs; all)
#   cd_daemon_faults ROOT STATE TOP  # faults containerd makes itself (CD_DAEMON_WANT)
#   cd_db_copy_injections HEALTHY ROOT TOP # older meta.db / metadata.db copies, a patched parent
#
# Needs tap.sh loaded, T set (a temp dir), sqlite3 and python3.

CD_SNAP=io.containerd.snapshotter.v1.overlayfs
CD_BLOBS=io.containerd.content.v1.content/blobs/sha256
CD_INGEST=io.containerd.content.v1.content/ingest
CD_RECLAIM="content-blob-orphaned|ingest-leftover|snapshot-dir-orphaned|snapshot-dir-blocks-create"

findings() {
    local root=$1
    shift
    local rc=0
    mkdir -p "$T/nochecks"
    "$OVL2FSCK" --config /dev/null --checks-dir "$T/nochecks" --root "$root" --min-age 0 --json "$@" >"$T/out.json" 2>"$T/err" || rc=$?
    echo "$rc" > "$T/rc"
    python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
for f in sorted(j["findings"], key=lambda f: (f["check"], f["object"])): print(f["check"], f["object"])' "$T/out.json"
}

reclaimable() {
    findings "$1" | grep -E "^($CD_RECLAIM) " || true
}

patch_bytes() {
    python3 -c 'import sys
p, old, new = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
assert len(old) == len(new)
d = open(p, "rb").read(); n = d.count(old)
open(p, "wb").write(d.replace(old, new)); print(n)' "$@"
}

tree_hash() {
    local root=$1
    shift
    (cd "$root" && python3 -c 'import os,sys,hashlib,stat
skip = set(sys.argv[1:]); h = hashlib.sha256()
for d, dirs, files in os.walk(".", followlinks=False):
    rel = os.path.relpath(d, ".")
    dirs[:] = sorted(x for x in dirs if os.path.normpath(os.path.join(rel, x)) not in skip and x != ".ovl2fsck-trash")
    for n in sorted(files + [x for x in dirs]):
        p = os.path.normpath(os.path.join(rel, n))
        if p in skip or n == ".ovl2fsck.lock": continue
        st = os.lstat(p); h.update(p.encode() + str(stat.S_IFMT(st.st_mode)).encode())
        if stat.S_ISLNK(st.st_mode): h.update(os.readlink(p).encode())
        elif stat.S_ISREG(st.st_mode): h.update(open(p, "rb").read())
print(h.hexdigest())' "$@")
}

# An orphaned numeric snapshot dir holding symlinks out of the root (to
# $T/outside, never followed), a new-* dir, the dir that blocks the next
# Prepare, an orphaned blob and an ingest dir no namespace records; three
# days old.
cd_inject_leftovers() {
    local r=$1 seq
    "$OVL2FSCK" --config /dev/null --root "$r" --min-age 0 --db "$T/seq.sqlite" >/dev/null 2>&1
    seq=$(sqlite3 "$T/seq.sqlite" "SELECT sequence FROM cd_db WHERE name = 'metadata.db'")
    rm -f "$T/seq.sqlite"
    BLOCK=$((seq + 1))
    ORPH=$((seq + 7))
    mkdir -p "$T/outside" "$r/$CD_SNAP/snapshots/$BLOCK/fs/etc" "$r/$CD_SNAP/snapshots/$BLOCK/work"
    [ -f "$T/outside/precious" ] || echo precious > "$T/outside/precious"
    head -c 300000 /dev/urandom > "$r/$CD_SNAP/snapshots/$BLOCK/fs/etc/partial"
    mkdir -p "$r/$CD_SNAP/snapshots/$ORPH/fs/usr" "$r/$CD_SNAP/snapshots/$ORPH/work"
    head -c 120000 /dev/urandom > "$r/$CD_SNAP/snapshots/$ORPH/fs/usr/lib.so"
    ln -s "$T/outside" "$r/$CD_SNAP/snapshots/$ORPH/fs/out"
    ln -s "$T/outside/precious" "$r/$CD_SNAP/snapshots/$ORPH/fs/p"
    mkdir -p "$r/$CD_SNAP/snapshots/new-42424242/fs"
    head -c 5000 /dev/urandom > "$r/$CD_SNAP/snapshots/new-42424242/fs/x"
    head -c 70000 /dev/urandom > "$T/blob"
    BLOB=$(sha256sum "$T/blob" | cut -c1-64)
    cp "$T/blob" "$r/$CD_BLOBS/$BLOB"
    ING=$(printf 'default/1/o2r-leftover' | sha256sum | cut -c1-64)
    mkdir -p "$r/$CD_INGEST/$ING"
    printf 'default/1/o2r-leftover' > "$r/$CD_INGEST/$ING/ref"
    head -c 9000 /dev/urandom > "$r/$CD_INGEST/$ING/data"
    echo 100000 > "$r/$CD_INGEST/$ING/total"
    touch -d '-3 days' "$r/$CD_SNAP/snapshots/"{$BLOCK,$ORPH,new-42424242} "$r/$CD_BLOBS/$BLOB" "$r/$CD_INGEST/$ING"
    CD_LEFTOVERS="content-blob-orphaned sha256:$BLOB
ingest-leftover $ING
snapshot-dir-blocks-create $BLOCK
snapshot-dir-orphaned $ORPH
snapshot-dir-orphaned new-42424242"
    CD_LEFTOVER_PATHS=("$CD_SNAP/snapshots/$BLOCK" "$CD_SNAP/snapshots/$ORPH" "$CD_SNAP/snapshots/new-42424242"
                       "$CD_BLOBS/$BLOB" "$CD_INGEST/$ING")
}

# _cd_each_ns CHECK OBJECT NS...: "CHECK NS/OBJECT" per namespace
_cd_each_ns() {
    local check=$1 obj=$2 ns
    shift 2
    for ns in "$@"; do echo "$check $ns/$obj"; done
}

cd_offline_injections() {
    local healthy=$1 c=$T/inj n seq empty_layer top_a other_top h
    shift
    local db=$T/inj.sqlite
    _cd_inject() { rm -rf "$c"; cp -a "$healthy" "$c"; }
    rm -f "$db"
    "$OVL2FSCK" --config /dev/null --root "$healthy" --min-age 0 --db "$db" >/dev/null 2>&1
    seq=$(sqlite3 "$db" "SELECT sequence FROM cd_db WHERE name = 'metadata.db'")

    _cd_inject; mkdir -p "$c/$CD_SNAP/snapshots/new-123456/fs"; head -c 8192 /dev/urandom > "$c/$CD_SNAP/snapshots/new-123456/fs/f"
    mkdir -p "$c/$CD_SNAP/snapshots/$((seq + 9))/fs"
    is "$(findings "$c")" "snapshot-dir-orphaned $((seq + 9))
snapshot-dir-orphaned new-123456" "snapshot-dir-orphaned: a new-* dir and a numeric dir past the sequence + 1"
    like "$(python3 -c 'import json,sys; print([f["bytes"] for f in json.load(open(sys.argv[1]))["findings"] if f["object"] == "new-123456"][0])' "$T/out.json")" \
         '^[1-9][0-9]{3,}$' "its bytes are counted (paths relative to the containerd root)"

    _cd_inject; mkdir -p "$c/$CD_SNAP/snapshots/$((seq + 1))/fs"
    is "$(findings "$c")" "snapshot-dir-blocks-create $((seq + 1))" "snapshot-dir-blocks-create: snapshots/<sequence + 1>"

    _cd_inject; rm -rf "$c/$CD_SNAP/snapshots/1/fs"
    is "$(findings "$c")" "snapshot-dir-missing 1" "snapshot-dir-missing: snapshots/1/fs removed"

    # the unpacked label of layers-a's config names another snapshot (every namespace)
    _cd_inject
    top_a=$(sqlite3 "$db" "SELECT l.value FROM cd_label l WHERE l.kind = 'blob' AND l.key = 'containerd.io/gc.ref.snapshot.overlayfs'
        AND l.owner = (SELECT c.value FROM cd_label c JOIN cd_image i ON i.digest = c.owner AND i.ns = c.ns
                       WHERE i.ns = '$1' AND i.name = 'docker.io/o2t/layers-a:latest' AND c.key = 'containerd.io/gc.ref.content.config')
        AND l.ns = '$1'")
    other_top=$(sqlite3 "$db" "SELECT key FROM cd_backend WHERE ns = '$1' AND kind = 3 AND key <> '$top_a' AND key GLOB 'sha256:*' LIMIT 1")
    n=$(patch_bytes "$c/io.containerd.metadata.v1.bolt/meta.db" "gc.ref.snapshot.overlayfs$top_a" "gc.ref.snapshot.overlayfs$other_top")
    ok "the gc.ref.snapshot label of layers-a's config patched in each namespace ($n)" [ "$n" -ge "$#" ]
    is "$(findings "$c")" "$(_cd_each_ns snapshot-chain-mismatch docker.io/o2t/layers-a:latest "$@")" \
       "snapshot-chain-mismatch: layers-a in each namespace"

    _cd_inject; printf 'stray blob' > "$c/$CD_BLOBS/$(printf 'stray blob' | sha256sum | cut -c1-64)"
    is "$(findings "$c")" "content-blob-orphaned sha256:$(printf 'stray blob' | sha256sum | cut -c1-64)" "content-blob-orphaned: a blob file no namespace records"

    empty_layer=$(sqlite3 "$db" "SELECT diff_id FROM cd_config_layer WHERE idx = 1 AND config IN (SELECT value FROM cd_label WHERE owner = (SELECT digest FROM cd_image WHERE ns = '$1' AND name = 'docker.io/o2t/layers-empty:1') AND key = 'containerd.io/gc.ref.content.config')")
    _cd_inject; rm "$c/$CD_BLOBS/${empty_layer#sha256:}"
    # shellcheck disable=SC2086
    is "$(findings "$c")" "content-blob-missing $empty_layer
$(_cd_each_ns image-content-missing docker.io/o2t/layers-empty:1 ${CD_LAYER_NS:-$*})" "content-blob-missing + image-content-missing: layers-empty's own layer blob removed"

    _cd_inject; truncate -s 100 "$c/$CD_BLOBS/${empty_layer#sha256:}"
    is "$(findings "$c")" "content-blob-missing $empty_layer" "content-blob-missing: a blob file of another size"

    _cd_inject; python3 -c 'import sys; p=sys.argv[1]; d=bytearray(open(p,"rb").read()); d[600]^=0xff; open(p,"wb").write(d)' "$c/$CD_BLOBS/${empty_layer#sha256:}"
    is "$(findings "$c")" "" "a changed blob of the same size: nothing without --deep"
    is "$(findings "$c" --deep)" "content-digest-mismatch $empty_layer" "content-digest-mismatch with --deep"

    _cd_inject; h=$(printf 'default/1/leftover' | sha256sum | cut -c1-64); mkdir -p "$c/$CD_INGEST/$h"
    printf 'default/1/leftover' > "$c/$CD_INGEST/$h/ref"
    printf '1000' > "$c/$CD_INGEST/$h/total"
    head -c 300 /dev/zero > "$c/$CD_INGEST/$h/data"
    is "$(findings "$c")" "ingest-leftover $h" "ingest-leftover: an ingest dir no namespace records"
    like "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["findings"][0]["detail"])' "$T/out.json")" '^300 of 1000 bytes' "  its detail: data vs total"

    _cd_inject; truncate -s 5000 "$c/$CD_SNAP/metadata.db"
    is "$(findings "$c")" "containerd-db-invalid metadata.db" "containerd-db-invalid: a truncated metadata.db (nothing else claimed)"
    _cd_inject; python3 -c 'import sys; p=sys.argv[1]; d=bytearray(open(p,"rb").read()); d[2*4096:3*4096]=b"\xee"*4096; open(p,"wb").write(d)' "$c/io.containerd.metadata.v1.bolt/meta.db"
    n=$(findings "$c")
    is "$(cat "$T/rc"):$n" "4:containerd-db-invalid meta.db" "containerd-db-invalid: a page of meta.db overwritten (no blob or snapshot called garbage)"
    rm -rf "$c" "$db"
}

# cd_daemon_faults ROOT STATE TOP: faults containerd itself makes, on the
# stopped store at ROOT (with docker.io/o2t/layers-b:latest in namespace
# default; TOP = a committed snapshot key there): a prepared snapshot
# 'extra', a container c2 whose snapshot was removed, an extract-* snapshot
# of TOP, a never-expiring Docker container lease CD_MOBY_LEASE in namespace
# moby, and a lease 'short' that has expired. Sets CD_DAEMON_WANT (the
# findings on a containerd root). The daemon is stopped after.
cd_daemon_faults() {
    local root=$1 state=$2 top=$3
    ctrd_start "$root" "$state" || return 1
    ctrd_ctr -n default snapshots prepare extra "$top" >/dev/null &&
        ctrd_ctr -n default containers create docker.io/o2t/layers-b:latest c2 >/dev/null &&
        ctrd_ctr -n default snapshots rm c2 || { ctrd_stop; return 1; }
    ctrd_gc default
    ctrd_stop
    ctrd_start "$root" "$state" || return 1
    CD_MOBY_LEASE=$(printf 'c%.0s' $(seq 64))
    ctrd_ctr -n default snapshots prepare "extract-1700000000000000000-AbCd $top" "$top" >/dev/null &&
        ctrd_ctr -n moby leases create --id "$CD_MOBY_LEASE" --expires 0 >/dev/null || { ctrd_stop; return 1; }
    # last, and stopped at once: containerd's GC drops an expired lease when it
    # runs (here it did within the second); offline nothing does
    ctrd_ctr -n default leases create --id short --expires 1s >/dev/null
    ctrd_stop
    sleep 2.2   # gc.expire has whole seconds
    CD_DAEMON_WANT="container-snapshot-missing default/c2
lease-expired default/short
snapshot-extract-leftover default/extract-1700000000000000000-AbCd $top"
}

# cd_db_copy_injections HEALTHY ROOT TOP: HEALTHY a copy of ROOT before
# cd_daemon_faults, c1 a container in namespace default on TOP. An older
# meta.db (snapshot-backend-orphaned), an older metadata.db
# (snapshot-name-dangling), c1's parent patched in metadata.db
# (snapshot-parent-mismatch).
cd_db_copy_injections() {
    local healthy=$1 root=$2 top=$3 c=$T/dbc db=$T/dbc.sqlite seq d got n p6 other extra_name
    seq=$(ls "$healthy/$CD_SNAP/snapshots" | sort -n | tail -1)
    rm -rf "$c"; cp -a "$root" "$c"; cp "$healthy/io.containerd.metadata.v1.bolt/meta.db" "$c/io.containerd.metadata.v1.bolt/meta.db"
    extra_name=$(findings "$c" --db "$db" >/dev/null; sqlite3 "$db" "SELECT name FROM cd_backend WHERE key = 'extra'")
    # the older meta.db's content records against today's blobs: which blobs
    # containerd's GC deleted between the two depends on when it ran
    got=$(findings "$c" | grep -v -E '^(content-blob-orphaned|content-blob-missing|image-content-missing) ')
    is "$got" "snapshot-backend-orphaned $extra_name
snapshot-backend-orphaned default/$(sqlite3 "$db" "SELECT substr(name, instr(name, '/') + 1) FROM cd_backend WHERE key GLOB 'extract-*'")" \
       "snapshot-backend-orphaned: metadata.db snapshots an older meta.db does not name"

    rm -rf "$c"; cp -a "$root" "$c"; cp "$healthy/$CD_SNAP/metadata.db" "$c/$CD_SNAP/metadata.db"
    for d in $(ls "$c/$CD_SNAP/snapshots"); do [ "$d" -gt "$seq" ] && rm -rf "${c:?}/$CD_SNAP/snapshots/$d"; done
    got=$(findings "$c" | grep -E '^snapshot-name-dangling ')
    is "$got" "snapshot-name-dangling default/extra
snapshot-name-dangling default/extract-1700000000000000000-AbCd $top" "snapshot-name-dangling: meta.db names snapshots an older metadata.db lacks"

    # c1's parent in meta.db patched to another committed key of its namespace
    # (chainIDs: always the same length, in place)
    rm -rf "$c"; cp -a "$healthy" "$c"
    other=$(sqlite3 "$db" "SELECT key FROM cd_snapshot WHERE ns = 'default' AND key GLOB 'sha256:*' AND key <> '$top' LIMIT 1")
    n=$(patch_bytes "$c/io.containerd.metadata.v1.bolt/meta.db" "parent$top" "parent$other")
    # (a freed page may still hold an older copy of a value: patched too, harmless)
    ok "the parent of c1 in meta.db patched ($n)" [ "$n" -ge 1 ]
    is "$(findings "$c")" "snapshot-parent-mismatch default/c1" "snapshot-parent-mismatch: meta.db vs metadata.db"

    # c1's parent in metadata.db patched to another committed snapshot's name of the
    # same length (names carry meta.db's sequence: there may be none)
    rm -rf "$c"; cp -a "$healthy" "$c"
    p6=$(sqlite3 "$db" "SELECT name FROM cd_backend WHERE key = '$top' AND ns = 'default'")
    other=$(sqlite3 "$db" "SELECT name FROM cd_backend WHERE kind = 3 AND name <> '$p6' AND length(name) = length('$p6') LIMIT 1")
    if [ -z "$other" ]; then
        skip 2 "no committed snapshot name as long as $p6: metadata.db's parent of c1 not patched"
    else
        n=$(patch_bytes "$c/$CD_SNAP/metadata.db" "parent$p6" "parent$other")
        ok "the parent value of c1 in metadata.db patched ($n)" [ "$n" -ge 1 ]
        got=$(findings "$c" | sort -u)
        is "$got" "$(printf 'snapshot-parent-mismatch default/c1\nsnapshot-parent-mismatch %s\n' "$(sqlite3 "$db" "SELECT name FROM cd_backend WHERE key = 'c1'")" | sort)" \
           "snapshot-parent-mismatch: metadata.db vs meta.db, and the parents bucket"
    fi
    rm -rf "$c" "$db"
}
