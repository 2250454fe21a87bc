#!/usr/bin/env bash
# t-containerd-hostile.t — hand-made corruptions of the meta.db and
# metadata.db of a store written by a real containerd (Debian 12's 1.6, run
# privately), next to on-disk leftovers that would be garbage if the
# databases could be trusted (an orphaned snapshot dir, a new-* dir, a blob
# and an ingest dir no namespace records). Each corruption — truncations
# at several offsets, a page loop, a bucket pointing at an ancestor page,
# a 10 MB garbage file, an empty file, a directory, permission denied, a
# symlinked meta.db — gives exactly containerd-db-invalid for that file
# (exit 4), no crash, nothing called unreferenced, and --reap --apply then
# removes nothing (a hash of every entry of the root is the same before
# and after). Valid databases with hostile contents (a "../" snapshot
# name, key and container snapshotKey, NUL and non-UTF-8 bytes, a sequence
# at 2^64-1) give exactly their named findings and reap nothing outside.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/containerd.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (containerd, overlay mounts)"
command -v containerd >/dev/null && command -v ctr >/dev/null || skip_all "no containerd/ctr (apt-get install containerd)"
command -v setpriv >/dev/null || skip_all "no setpriv (util-linux)"
[ -x "$OVL2FSCK" ] || bail_out "no binary at $OVL2FSCK (run make)"
tap_tmpdir
T=$TAP_TMP
ROOT=$T/root
STATE=$(mktemp -d /tmp/o2ch.XXXXXX)
at_exit "rm -rf --one-file-system -- '$STATE'"
SNAP=io.containerd.snapshotter.v1.overlayfs
META=io.containerd.metadata.v1.bolt/meta.db
MDB=$SNAP/metadata.db
BLOBS=io.containerd.content.v1.content/blobs/sha256
INGEST=io.containerd.content.v1.content/ingest
BOLT_PY=$TAP_TOP/tools/bench
mkdir -p "$T/nochecks"

python3 "$TAP_TOP/tests/tools/mkimage.py" "$T/img.tar" --prefix o2h >/dev/null || bail_out "mkimage.py failed"

o2() { "$OVL2FSCK" --config /dev/null --checks-dir "$T/nochecks" --min-age 0 --journal "$T/journal.jsonl" "$@"; }

# findings ROOT [ARGS...]: "check object" lines, sorted; the exit code in $T/rc
findings() {
    local root=$1
    shift
    local rc=0
    o2 --root "$root" --json "$@" >"$T/out.json" 2>"$T/err" || rc=$?
    echo "$rc" > "$T/rc"
    python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
for f in sorted(j["findings"], key=lambda f: (f["check"], f["object"])): print(f["check"], f["object"])' "$T/out.json" 2>/dev/null
}

# a hash of every entry under ROOT (names, types, modes, link targets, bytes), never following a symlink
tree_hash() {
    (cd "$1" && python3 -c 'import os,hashlib,stat
h = hashlib.sha256()
for d, dirs, files in os.walk(".", followlinks=False):
    dirs.sort()
    for n in sorted(files + dirs):
        p = os.path.join(d, n)
        if n == ".ovl2fsck.lock": continue
        st = os.lstat(p); h.update(p.encode("utf-8", "surrogateescape") + b"%o" % st.st_mode)
        if stat.S_ISLNK(st.st_mode): h.update(os.readlink(p).encode("utf-8", "surrogateescape"))
        elif stat.S_ISREG(st.st_mode):
            try: h.update(open(p, "rb").read())
            except OSError as e: h.update(str(e.errno).encode())
print(h.hexdigest())')
}

# ---- a real store, and leftovers that are garbage while the databases are sound ----
healthy_setup() {
    ctrd_import default "$T/img.tar" && ctrd_ctr -n default containers create docker.io/o2h/layers-a:latest c1 >/dev/null
}
ctrd_setup "$ROOT" "$STATE" healthy_setup || bail_out "the set-up failed twice (start, import, container create)"
ctrd_stop
is "$(findings "$ROOT"; cat "$T/rc")" "0" "the healthy store: no finding, exit 0"

o2 --root "$ROOT" --db "$T/seq.sqlite" >/dev/null 2>&1
SEQ=$(sqlite3 "$T/seq.sqlite" "SELECT sequence FROM cd_db WHERE name = 'metadata.db'")
ORPH=$((SEQ + 7))
mkdir -p "$ROOT/$SNAP/snapshots/$ORPH/fs/usr" "$ROOT/$SNAP/snapshots/new-4242/fs"
head -c 20000 /dev/urandom > "$ROOT/$SNAP/snapshots/$ORPH/fs/usr/lib.so"
head -c 70000 /dev/urandom > "$T/blob"
BLOB=$(sha256sum "$T/blob" | cut -c1-64)
cp "$T/blob" "$ROOT/$BLOBS/$BLOB"
ING=$(printf 'default/1/o2h-leftover' | sha256sum | cut -c1-64)
mkdir -p "$ROOT/$INGEST/$ING"
printf 'default/1/o2h-leftover' > "$ROOT/$INGEST/$ING/ref"
head -c 900 /dev/urandom > "$ROOT/$INGEST/$ING/data"
touch -d '-3 days' "$ROOT/$SNAP/snapshots/"{$ORPH,new-4242} "$ROOT/$BLOBS/$BLOB" "$ROOT/$INGEST/$ING"
LEFTOVERS="content-blob-orphaned sha256:$BLOB
ingest-leftover $ING
snapshot-dir-orphaned $ORPH
snapshot-dir-orphaned new-4242"
is "$(findings "$ROOT"):$(cat "$T/rc")" "$LEFTOVERS:4" "sound databases: the leftovers are garbage"
cp -a "$ROOT" "$T/base"

# hostile NAME DB EXTRA_ARGS: the copy in $T/c (already corrupted by the caller)
# gives exactly containerd-db-invalid DB with exit 4, and --reap --apply
# changes no byte of it.
hostile() {
    local name=$1 db=$2
    shift 2
    is "$(findings "$T/c" "$@"):$(cat "$T/rc")" "containerd-db-invalid $db:4" "$name: exactly containerd-db-invalid $db, exit 4"
    local before after rc=0
    before=$(tree_hash "$T/c")
    o2 --root "$T/c" --reap --apply "$@" >"$T/reap.out" 2>"$T/reap.err" || rc=$?
    after=$(tree_hash "$T/c")
    is "$rc:$after" "4:$before" "$name: --reap --apply removes nothing (exit 4, every byte the same)"
}
fresh() { rm -rf "$T/c"; cp -a "$T/base" "$T/c"; }

SIZE=$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(); print(max(struct.unpack_from("<Q", d, o+56)[0] for o in (0, 4096)) * 4096)' "$T/base/$META")
for off in 0 100 4146 8192 $((SIZE / 2)) $((SIZE - 1)); do
    fresh; truncate -s "$off" "$T/c/$META"
    hostile "meta.db truncated at $off" meta.db
done
for off in 0 5000 $((3 * 4096 + 7)); do
    fresh; truncate -s "$off" "$T/c/$MDB"
    hostile "metadata.db truncated at $off" metadata.db
done

# loop PATH HOW: the first bucket (reached from the root, in key order) that
# has its own root page is pointed at the page holding it (self) or at the
# root page (an ancestor); data pages carry no checksum, so only the walk
# can tell.
loop() {
    python3 - "$1" "$2" <<'EOF'
import struct, sys
p, how = sys.argv[1], sys.argv[2]
d = bytearray(open(p, "rb").read())
ps = 4096
metas = [struct.unpack_from("<Q", d, o + 32)[0:1] + struct.unpack_from("<Q", d, o + 64) for o in (0, ps)]
root = max(metas, key=lambda m: m[1])[0]
def walk(pg):
    base = pg * ps
    _, flags, count, _ = struct.unpack_from("<QHHI", d, base)
    for i in range(count):
        e = base + 16 + 16 * i
        if flags == 1:
            r = walk(struct.unpack_from("<IIQ", d, e)[2])
        else:
            fl, pos, ks, vs = struct.unpack_from("<IIII", d, e)
            v = e + pos + ks
            sub = struct.unpack_from("<Q", d, v)[0] if fl & 1 else 0
            if sub:
                struct.pack_into("<Q", d, v, pg if how == "self" else root)
                return pg
            r = None
        if r:
            return r
    return None
pg = walk(root)
if not pg:
    sys.exit(1)
open(p, "wb").write(d)

EOF
}
fresh; ok "meta.db: a bucket's root page set to the page holding it" loop "$T/c/$META" self
hostile "meta.db page loop (self)" meta.db
fresh; ok "meta.db: a bucket's root page set to the root page" loop "$T/c/$META" ancestor
hostile "meta.db page loop (ancestor)" meta.db
fresh; ok "metadata.db: a bucket's root page set to the root page" loop "$T/c/$MDB" ancestor
hostile "metadata.db page loop (ancestor)" metadata.db

fresh; head -c 10485760 /dev/urandom > "$T/c/$META"
hostile "meta.db: 10 MB of garbage" meta.db
fresh; head -c 10485760 /dev/zero > "$T/c/$MDB"
hostile "metadata.db: 10 MB of zeros" metadata.db
fresh; rm "$T/c/$MDB"; mkdir "$T/c/$MDB"
hostile "metadata.db is a directory" metadata.db

# a symlinked meta.db (to a sound copy): still a containerd root, the link
# never followed, with or without --store
fresh; mv "$T/c/$META" "$T/meta.real"; ln -s "$T/meta.real" "$T/c/$META"
hostile "symlinked meta.db" meta.db
like "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["findings"][0]["detail"])' "$T/out.json")" \
     '^unreadable: .*symbolic links' "  its detail: unreadable, a symlink"
hostile "symlinked meta.db, --store containerd" meta.db --store containerd

# permission denied: run as nobody on a world-readable copy whose meta.db is mode 000
fresh; chmod -R go+rX "$T/c"; chmod 000 "$T/c/$META"
chmod o+x "$T" "$TAP_TMP" 2>/dev/null
RC=0; setpriv --reuid=65534 --regid=65534 --clear-groups "$OVL2FSCK" --config /dev/null --checks-dir "$T/nochecks" \
    --min-age 0 --root "$T/c" --db /dev/shm/o2h-$$.sqlite --json >"$T/out.json" 2>"$T/err" || RC=$?
rm -f /dev/shm/o2h-$$.sqlite*
is "$RC:$(python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
print(" ".join(f["check"] + " " + f["object"] + " " + f["detail"] for f in j["findings"]))' "$T/out.json" 2>&1)" \
   "4:containerd-db-invalid meta.db unreadable: Permission denied" "meta.db mode 000, as nobody: containerd-db-invalid (Permission denied), exit 4"

# ---- valid databases, hostile contents --------------------------------------------
# metadata.db: a snapshot "default/<n>/../../../../tmp/evil" with id n (no dir),
# a NUL and non-UTF-8 name with a too-long id varint, the sequence at 2^64-1;
# meta.db: a snapshot key "../../../../etc" and a container whose snapshotKey
# climbs out, in a namespace with a NUL and non-UTF-8 bytes in its name.
rm -rf "$T/h"; cp -a "$T/base" "$T/h"
rm -rf "$T/h/$SNAP/snapshots/$ORPH" "$T/h/$SNAP/snapshots/new-4242" "$T/h/$BLOBS/$BLOB" "$T/h/$INGEST/$ING"
python3 - "$T/h/$META" "$T/h/$MDB" "$BOLT_PY" <<'EOF'
import sys
sys.path.insert(0, sys.argv[3])
import bbolt_io as B
meta, mdb = sys.argv[1], sys.argv[2]
t = B.read(open(mdb, "rb").read())
snaps = t.items[b"v1"].items[b"snapshots"]
snaps.items[b"default/900/../../../../tmp/evil"] = B.Bucket({b"id": bytes([0x84, 0x07]), b"kind": b"\x03"})
snaps.items[b"default/901/\x00\xff\xfe"] = B.Bucket({b"id": b"\xff" * 11, b"kind": b"\x02"})
snaps.seq = 2 ** 64 - 1
open(mdb, "wb").write(B.write(t)[0])
m = B.read(open(meta, "rb").read())
ns = m.items[b"v1"].sub(b"o2h\x00\xff")
ns.sub(b"snapshots").sub(b"overlayfs").items[b"../../../../etc"] = B.Bucket({b"name": b"o2h/1/../../../../etc"})
ns.sub(b"containers").items[b"../c"] = B.Bucket({b"snapshotter": b"overlayfs", b"snapshotKey": b"../../../../../etc"})
open(meta, "wb").write(B.write(m)[0])
EOF
got=$(findings "$T/h")
is "$(cat "$T/rc")" 4 "hostile contents: exit 4"
is "$(printf '%s\n' "$got" | cut -d' ' -f1 | sort | uniq -c | awk '{ print $2 "=" $1 }' | paste -sd' ')" \
   "container-snapshot-missing=1 snapshot-backend-orphaned=2 snapshot-dir-missing=1 snapshot-name-dangling=1" \
   "hostile contents: exactly the named findings (no db invalid, no dir called orphaned)"
like "$got" 'snapshot-dir-missing 900' "  the '../' snapshot is known by its id (900), not by its name"
like "$got" 'snapshot-backend-orphaned default/901/' "  the one whose id varint is too long: orphaned, with no path"
H_BEFORE=$(tree_hash "$T/h")
RC=0; o2 --root "$T/h" --reap --apply >"$T/reap.out" 2>"$T/reap.err" || RC=$?
is "$RC:$(tree_hash "$T/h")" "4:$H_BEFORE" "hostile contents: --reap --apply removes nothing (exit 4, every byte the same)"

done_testing
