#!/usr/bin/env python3
"""ctrdwalk.py — an independent walk of a stopped containerd root (the
overlayfs snapshotter and the local content store): the errors and garbage a
containerd killed with -9 can leave, computed from meta.db, metadata.db and
the disk with none of ovl2fsck's code or SQL (the bbolt pages are read by
tests/tools/boltdump.py).

    ctrdwalk.py ROOT [--now EPOCH]
        one "severity check object" line per finding, sorted; EPOCH (default
        the clock) decides which leases and ingests have expired
    ctrdwalk.py --unreferenced-bytes 1 ROOT [--now EPOCH]
        du bytes of the blobs whose content records containerd's GC leaves
        unmarked (it removes them at its next GC, e.g. at its start)
    ctrdwalk.py --trigger MODE:ARG --pid PID --big HEX --big-size N ROOT
        used by tests/integration/t-containerd-crash.t to time a kill -9 of
        containerd PID during `ctr images import` of the layer HEX (N bytes
        of files): polls the root and sends SIGKILL when MODE is reached:
          ingest:F    the layer's ingest data holds F (0..1) of its total
          blob:MS     MS ms after the layer's blob file appeared
          blobmv:0    as the layer's blob is renamed into blobs/sha256 (its
                      content record is committed after)
          mkdir:0     as a new-* dir is made in snapshots/ (a Prepare: mkdir
                      new-*, rename to snapshots/<id>, metadata.db commit,
                      meta.db commit)
          rename:0    as new-* is renamed to snapshots/<id>
          metawrite:0 at the first write to meta.db after that rename
          numdir:US   US us after snapshots/<id> appeared
          unpack:F    the layer's files in a new snapshots/<id>/fs hold F of N
          commit:MS   MS ms after they hold all N (the snapshot commit, the
                      image's labels)
        mkdir, rename, metawrite and blobmv pin containerd and the trigger to CPU 0 and make the
        trigger SCHED_FIFO, woken by inotify: containerd cannot run between
        the event and the kill. The other modes poll. Prints what it saw; exit 0 when it killed, 3 when the import ended or
        60 s passed first.

What the walk computes (the object names are ovl2fsck's, so that the two
sets compare line by line), from the leftover table of
shared/docs/containerd-store.md and the check table of issue 15:

  garbage snapshot-dir-orphaned      snapshots/<d> that is no id of metadata.db
                                     (new-*, a numeric dir past a crash), but the
                                     dir numbered sequence + 1
  error   snapshot-dir-blocks-create snapshots/<sequence + 1> with no snapshot: the
                                     next Prepare's rename fails
  error   snapshot-dir-missing       a metadata.db id without snapshots/<id>/fs
  garbage snapshot-backend-orphaned  a metadata.db snapshot that no meta.db snapshot
                                     names, no lease lists, and no named child has
                                     as its parent
  error   snapshot-name-dangling     a meta.db overlayfs snapshot whose name is not
                                     in metadata.db
  error   snapshot-parent-mismatch   the two dbs (or the parents bucket) disagree
  garbage snapshot-extract-leftover  a meta.db snapshot keyed extract-*
  error   snapshot-chain-mismatch    an unpacked image (its config labelled
                                     gc.ref.snapshot.overlayfs) whose snapshots are
                                     not the chainIDs of its diff_ids
  garbage content-blob-orphaned      a blob file no namespace records
  error   content-blob-missing       a record without its file, or another size
  error   image-content-missing      an image whose target or gc.ref.content.* blobs
                                     have no record in its namespace or no file
  garbage ingest-leftover            an ingest dir no record names (sha256 of the
                                     record's backend ref), or whose record is held
                                     only by expired leases and has no future
                                     expireat (a record neither a lease nor an
                                     expireat holds is taken as live)
  garbage lease-expired              a lease whose containerd.io/gc.expire is past
  error   container-snapshot-missing a container whose snapshotKey is no snapshot
  error   containerd-db-invalid      a database that does not parse
The silence rules ovl2fsck documents for a scan error are not modelled.
"""
import ctypes
import datetime
import hashlib
import json
import os
import re
import select
import signal
import stat
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boltdump  # noqa: E402

SNAP = "io.containerd.snapshotter.v1.overlayfs"
CONTENT = "io.containerd.content.v1.content"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
IN_MODIFY, IN_CREATE, IN_MOVED_TO = 0x2, 0x100, 0x80
GO_EPOCH_OFFSET = 62135596800   # seconds from year 1 to 1970 (time.MarshalBinary)


# ---- bbolt, with bucket sequences ---------------------------------------------------

class Bucket(dict):
    seq = 0


def bolt_tree(path):
    """The whole file as nested Buckets keyed by bytes; None when it does not parse."""
    try:
        with open(path, "rb") as f:
            db = boltdump.Bolt(f.read())

        def tree(it):
            out = Bucket()
            for k, v, is_bucket in it:
                if is_bucket:
                    sub = tree(db.bucket(v))
                    sub.seq = struct.unpack_from("<Q", v, 8)[0]
                    out[k] = sub
                else:
                    out[k] = v
            return out
        return tree(db.walk(*db.page(db.root)))
    except (OSError, ValueError, struct.error, IndexError, RecursionError):
        return None


def sub(b, *names):
    for n in names:
        if not isinstance(b, dict):
            return Bucket()
        b = b.get(n.encode() if isinstance(n, str) else n, Bucket())
    return b if isinstance(b, dict) else Bucket()


def val(b, name):
    v = b.get(name.encode()) if isinstance(b, dict) else None
    return v if isinstance(v, bytes) else None


def text(b, name):
    v = val(b, name)
    return v.decode("utf-8", "replace") if v is not None else None


def uvarint(b, i=0):
    x = shift = 0
    while i < len(b):
        c = b[i]
        i += 1
        x |= (c & 0x7F) << shift
        if c < 0x80:
            return x, i
        shift += 7
    raise ValueError("truncated varint")


def varint(b):
    u, _ = uvarint(b)
    return (u >> 1) ^ -(u & 1)


def go_time(b):
    """Unix seconds of a Go time.MarshalBinary value (versions 1 and 2)."""
    if not b or b[0] not in (1, 2) or len(b) < 15:
        return None
    return struct.unpack_from(">q", b, 1)[0] - GO_EPOCH_OFFSET


def rfc3339(s):
    """Unix seconds (floor) of an RFC 3339 time as Go writes it."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", s or "")
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    off = 0
    if m.group(3) != "Z":
        sign = 1 if m.group(3)[0] == "+" else -1
        off = sign * (int(m.group(3)[1:3]) * 3600 + int(m.group(3)[4:6]) * 60)
    return int(t.timestamp()) - off


# ---- the two databases ------------------------------------------------------------------

def read_meta(root):
    t = bolt_tree(os.path.join(root, "io.containerd.metadata.v1.bolt", "meta.db"))
    if t is None:
        return None
    m = {"blobs": {}, "labels": {}, "images": [], "ingests": [], "snaps": {}, "containers": [], "leases": []}
    for nsb, ns in sub(t, "v1").items():
        if not isinstance(ns, dict):
            continue
        n = nsb.decode()
        for name, im in sub(ns, "images").items():
            m["images"].append((n, name.decode(), text(sub(im, "target"), "digest")))
        for dg, b in sub(ns, "content", "blob").items():
            size = val(b, "size")
            m["blobs"][(n, dg.decode())] = varint(size) if size else None
            m["labels"][(n, dg.decode())] = {k.decode(): v.decode() for k, v in sub(b, "labels").items()
                                             if isinstance(v, bytes)}
        for ref, b in sub(ns, "content", "ingests").items():
            m["ingests"].append((n, ref.decode(), text(b, "ref"), go_time(val(b, "expireat"))))
        for sn, snb in sub(ns, "snapshots").items():
            for key, s in snb.items():
                if isinstance(s, dict):
                    m["snaps"][(n, sn.decode(), key.decode())] = (text(s, "name"), text(s, "parent"))
        for cid, c in sub(ns, "containers").items():
            m["containers"].append((n, cid.decode(), text(c, "snapshotter"), text(c, "snapshotKey")))
        for lid, lb in sub(ns, "leases").items():
            exp = text(sub(lb, "labels"), "containerd.io/gc.expire")
            res = set()
            for d in sub(lb, "content"):
                res.add(("content", "", d.decode()))
            for r in sub(lb, "ingests"):
                res.add(("ingest", "", r.decode()))
            for sn, snb in sub(lb, "snapshots").items():
                for key in snb:
                    res.add(("snapshot", sn.decode(), key.decode()))
            m["leases"].append((n, lid.decode(), exp, rfc3339(exp) if exp else None, res))
    return m


def read_backend(root):
    t = bolt_tree(os.path.join(root, SNAP, "metadata.db"))
    if t is None:
        return None
    snaps = sub(t, "v1", "snapshots")
    b = {"seq": snaps.seq, "by_name": {}, "parents": set()}
    for name, s in snaps.items():
        if isinstance(s, dict):
            sid = uvarint(val(s, "id"))[0] if val(s, "id") else None
            b["by_name"][name.decode()] = (sid, text(s, "parent"))
    for k in sub(t, "v1", "parents"):
        p, i = uvarint(k)
        c, _ = uvarint(k, i + 1)
        b["parents"].add((p, c))
    return b


def ls(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def lstat(path):
    try:
        return os.lstat(path)
    except OSError:
        return None


def chain_ids(diff_ids):
    out, prev = [], None
    for d in diff_ids:
        prev = d if prev is None else "sha256:" + hashlib.sha256((prev + " " + d).encode()).hexdigest()
        out.append(prev)
    return out


# ---- the walk ------------------------------------------------------------------------------

def walk(root, now):
    out = set()
    meta = read_meta(root)
    back = read_backend(root)
    if meta is None:
        out.add(("error", "containerd-db-invalid", "meta.db"))
    if back is None:
        out.add(("error", "containerd-db-invalid", "metadata.db"))
    sdir = os.path.join(root, SNAP, "snapshots")
    bdir = os.path.join(root, CONTENT, "blobs", "sha256")
    idir = os.path.join(root, CONTENT, "ingest")

    if back is not None:
        ids = {sid for sid, _ in back["by_name"].values()}
        nxt = back["seq"] + 1
        for d in ls(sdir):
            num = d.isdigit() and not d.startswith("0") and str(int(d)) == d
            if num and int(d) == nxt and int(d) not in ids:
                out.add(("error", "snapshot-dir-blocks-create", d))
            elif not (num and (int(d) in ids or int(d) == nxt)):
                out.add(("garbage", "snapshot-dir-orphaned", d))
        for name, (sid, parent) in back["by_name"].items():
            st = lstat(os.path.join(sdir, str(sid), "fs"))
            if sid is not None and (st is None or not stat.S_ISDIR(st.st_mode)):
                out.add(("error", "snapshot-dir-missing", str(sid)))
            if parent and parent not in back["by_name"]:
                out.add(("error", "snapshot-parent-mismatch", name))
            if parent in back["by_name"] and (back["by_name"][parent][0], sid) not in back["parents"]:
                out.add(("error", "snapshot-parent-mismatch", name))
        by_id = {sid: (name, parent) for name, (sid, parent) in back["by_name"].items()}
        for p, c in back["parents"]:
            child = by_id.get(c)
            if child is None or back["by_name"].get(child[1], (None,))[0] != p:
                out.add(("error", "snapshot-parent-mismatch", child[0] if child else str(c)))

    if meta is not None:
        recorded = {dg for (_, dg) in meta["blobs"]}
        for f in ls(bdir):
            if HEX64.match(f) and "sha256:" + f not in recorded:
                out.add(("garbage", "content-blob-orphaned", "sha256:" + f))
        for dg in recorded:
            if not dg.startswith("sha256:"):
                continue
            st = lstat(os.path.join(bdir, dg[7:]))
            sizes = {s for (n, d), s in meta["blobs"].items() if d == dg and s is not None}
            if st is None or not stat.S_ISREG(st.st_mode) or (sizes and st.st_size != max(sizes)):
                out.add(("error", "content-blob-missing", dg))
        # images: the target and the gc.ref.content.* edges
        for ns, name, target in meta["images"]:
            if target is None:
                continue
            todo, seen, bad = [target], set(), False
            while todo:
                dg = todo.pop()
                if dg in seen:
                    continue
                seen.add(dg)
                st = lstat(os.path.join(bdir, dg[7:])) if dg.startswith("sha256:") else True
                if (ns, dg) not in meta["blobs"] or st is None or (st is not True and not stat.S_ISREG(st.st_mode)):
                    bad = True
                for k, v in meta["labels"].get((ns, dg), {}).items():
                    if k.startswith("containerd.io/gc.ref.content."):
                        todo.append(v)
            if bad:
                out.add(("error", "image-content-missing", ns + "/" + name))
            check_chain(out, meta, root, ns, name, target)
        # leases and ingests
        for ns, lid, exp, exp_at, _ in meta["leases"]:
            if exp_at is not None and exp_at < now:
                out.add(("garbage", "lease-expired", ns + "/" + lid))
        live = set()
        for ns, ref, bref, exp_at in meta["ingests"]:
            if bref is None:
                continue
            holders = [l for l in meta["leases"] if l[0] == ns and ("ingest", "", ref) in l[4]]
            if (exp_at is not None and exp_at >= now) \
                    or any(l[3] is None or l[3] >= now for l in holders) \
                    or (not holders and exp_at is None):
                live.add(hashlib.sha256(bref.encode()).hexdigest())
        for d in ls(idir):
            if d not in live:
                out.add(("garbage", "ingest-leftover", d))
        # snapshots and containers
        for (ns, sn, key), (name, parent) in meta["snaps"].items():
            if key.startswith("extract-"):
                out.add(("garbage", "snapshot-extract-leftover", ns + "/" + key))
        for ns, cid, sn, key in meta["containers"]:
            if key and (ns, sn or "", key) not in meta["snaps"]:
                out.add(("error", "container-snapshot-missing", ns + "/" + cid))

    if meta is not None and back is not None:
        named = {name for (ns, sn, key), (name, _) in meta["snaps"].items() if sn == "overlayfs"}
        for (ns, sn, key), (name, parent) in meta["snaps"].items():
            if sn != "overlayfs":
                continue
            if name not in back["by_name"]:
                out.add(("error", "snapshot-name-dangling", ns + "/" + key))
                continue
            pname = meta["snaps"].get((ns, sn, parent), (None,))[0] if parent else None
            if (pname or parent or "") != (back["by_name"][name][1] or ""):
                out.add(("error", "snapshot-parent-mismatch", ns + "/" + key))
        leased = {(l[0], r[2]) for l in meta["leases"] for r in l[4] if r[0] == "snapshot" and r[1] == "overlayfs"}
        for name, (sid, parent) in back["by_name"].items():
            parts = name.split("/", 2)
            ns, key = (parts[0], parts[2]) if len(parts) == 3 else (None, None)
            child_named = any(p == name and n in named for n, (_, p) in back["by_name"].items())
            if name not in named and (ns, key) not in leased and not child_named:
                out.add(("garbage", "snapshot-backend-orphaned", name))
    return out


def check_chain(out, meta, root, ns, name, target):
    """snapshot-chain-mismatch of one image: the manifests below the target
    (gc.ref.content.m.*), their config, its gc.ref.snapshot.overlayfs label."""
    todo, seen = [target], set()
    while todo:
        dg = todo.pop()
        if dg in seen:
            continue
        seen.add(dg)
        labels = meta["labels"].get((ns, dg), {})
        todo += [v for k, v in labels.items() if k.startswith("containerd.io/gc.ref.content.m.")]
        cfg = labels.get("containerd.io/gc.ref.content.config")
        top = meta["labels"].get((ns, cfg), {}).get("containerd.io/gc.ref.snapshot.overlayfs") if cfg else None
        if not top:
            continue
        try:
            with open(os.path.join(root, CONTENT, "blobs", "sha256", cfg[7:]), "rb") as f:
                chain = chain_ids(json.load(f)["rootfs"]["diff_ids"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        bad = bool(chain) and chain[-1] != top
        for i, c in enumerate(chain):
            s = meta["snaps"].get((ns, "overlayfs", c))
            if s is None or (s[1] or "") != (chain[i - 1] if i else ""):
                bad = True
        if bad:
            out.add(("error", "snapshot-chain-mismatch", ns + "/" + name))


def unreferenced_bytes(root, now):
    """Bytes (du) of the blob files whose every content record is left
    unmarked by containerd's GC: roots are images, unexpired leases' content
    and gc.root labels, edges the gc.ref.content* labels of blobs and
    snapshots. containerd removes them at its next GC (its start)."""
    meta = read_meta(root)
    if meta is None:
        return 0
    todo = [(ns, t) for ns, _, t in meta["images"] if t]
    todo += [(l[0], r[2]) for l in meta["leases"] if l[3] is None or l[3] >= now for r in l[4] if r[0] == "content"]
    todo += [k for k, lab in meta["labels"].items() if "containerd.io/gc.root" in lab]
    t = bolt_tree(os.path.join(root, "io.containerd.metadata.v1.bolt", "meta.db"))
    for nsb, nsv in sub(t, "v1").items():
        for snb in sub(nsv, "snapshots").values():
            for s in (snb.values() if isinstance(snb, dict) else []):
                for k, v in sub(s, "labels").items():
                    if k.decode().startswith("containerd.io/gc.ref.content") and isinstance(v, bytes):
                        todo.append((nsb.decode(), v.decode()))
    marked = set()
    while todo:
        ns, dg = todo.pop()
        if (ns, dg) in marked:
            continue
        marked.add((ns, dg))
        todo += [(ns, v) for k, v in meta["labels"].get((ns, dg), {}).items()
                 if k.startswith("containerd.io/gc.ref.content")]
    n = 0
    for dg in {d for (_, d) in meta["blobs"]}:
        if dg.startswith("sha256:") and not any((ns, dg) in marked for (ns, d) in meta["blobs"] if d == dg):
            st = lstat(os.path.join(root, CONTENT, "blobs", "sha256", dg[7:]))
            n += st.st_blocks * 512 if st else 0
    return n


# ---- the kill trigger -----------------------------------------------------------------

def fs_bytes(path):
    n = 0
    for d, _, files in os.walk(path):
        for f in files:
            st = lstat(os.path.join(d, f))
            n += st.st_size if st and stat.S_ISREG(st.st_mode) else 0
    return n


def pin_and_watch(pid, watches):
    """Pins every thread of PID and this process to CPU 0, makes this process
    SCHED_FIFO and watches each (path, mask): an inotify event wakes it at
    once, and it runs before containerd returns from the syscall that caused
    the event. Returns the inotify fd."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(0)
    for path, mask in watches:
        if fd < 0 or libc.inotify_add_watch(fd, path.encode(), mask) < 0:
            raise OSError(ctypes.get_errno(), "inotify " + path)
    for tid in ls("/proc/%d/task" % pid):
        os.sched_setaffinity(int(tid), {0})
    os.sched_setaffinity(0, {0})
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    return fd


def inotify_names(fd, timeout):
    """Yields (wd, mask, name) of the events on fd until timeout seconds passed."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], max(0, end - time.monotonic()))
        if not r:
            return
        buf = os.read(fd, 65536)
        i = 0
        while i + 16 <= len(buf):
            wd, mask, _cookie, ln = struct.unpack_from("<iIII", buf, i)
            yield wd, mask, buf[i + 16:i + 16 + ln].rstrip(b"\0").decode("utf-8", "replace")
            i += 16 + ln


def trigger_event(root, kind, pid, big):
    """mkdir: kill as a new-* dir is made; rename: as a dir is renamed to a
    numeric name in snapshots/; blobmv: as the layer's blob is renamed into
    blobs/sha256; metawrite: at the first write to meta.db
    after that rename (metadata.db committed, meta.db not yet)."""
    sdir = os.path.join(root, SNAP, "snapshots")
    fd = pin_and_watch(pid, [(sdir, IN_CREATE | IN_MOVED_TO),
                             (os.path.join(root, CONTENT, "blobs", "sha256"), IN_MOVED_TO),
                             (os.path.join(root, "io.containerd.metadata.v1.bolt", "meta.db"), IN_MODIFY)])
    renamed = None
    for wd, mask, name in inotify_names(fd, 60):
        if mask & IN_MOVED_TO and name.isdigit():
            renamed = name
        what = None
        if kind == "mkdir" and mask & IN_CREATE and name.startswith("new-"):
            what = "as snapshots/%s was made" % name
        elif kind == "rename" and renamed:
            what = "as new-* was renamed to snapshots/%s" % renamed
        elif kind == "blobmv" and wd == 2 and mask & IN_MOVED_TO and name == big:
            what = "as the layer's blob was renamed into blobs/sha256"
        elif kind == "metawrite" and renamed and wd == 3 and mask & IN_MODIFY:
            what = "at the first write to meta.db after the rename to snapshots/%s" % renamed
        if what:
            os.kill(pid, signal.SIGKILL)
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
            print("killed " + what)
            return 0
    print("not reached in 60 s")
    return 3


def trigger(root, mode, pid, big, big_size):
    kind, arg = mode.split(":", 1)
    if kind in ("mkdir", "rename", "metawrite", "blobmv"):
        return trigger_event(root, kind, pid, big)
    arg = float(arg)
    sdir = os.path.join(root, SNAP, "snapshots")
    before = set(ls(sdir))
    ingest = os.path.join(root, CONTENT, "ingest")
    blob = os.path.join(root, CONTENT, "blobs", "sha256", big)
    t0 = time.monotonic()
    seen = None
    while time.monotonic() - t0 < 60:
        try:
            os.kill(pid, 0)
        except OSError:
            print("containerd is gone")
            return 3
        if kind == "ingest":
            for d in ls(ingest):
                try:
                    with open(os.path.join(ingest, d, "total")) as f:
                        total = int(f.read().strip() or 0)
                    size = os.stat(os.path.join(ingest, d, "data")).st_size
                except (OSError, ValueError):
                    continue
                if total >= big_size and size >= arg * total:
                    os.kill(pid, signal.SIGKILL)
                    print("killed at ingest %d of %d bytes" % (size, total))
                    return 0
        elif kind == "blob":
            if os.path.exists(blob):
                time.sleep(arg / 1000)
                os.kill(pid, signal.SIGKILL)
                print("killed %g ms after the blob appeared" % arg)
                return 0
        elif kind == "numdir":
            new = [d for d in ls(sdir) if d.isdigit() and d not in before]
            if new:
                if arg:
                    time.sleep(arg / 1e6)
                os.kill(pid, signal.SIGKILL)
                print("killed %g us after snapshots/%s appeared" % (arg, new[0]))
                return 0
        elif kind in ("unpack", "commit"):
            for d in ls(sdir):
                if d in before or not d.isdigit():
                    continue
                n = fs_bytes(os.path.join(sdir, d, "fs"))
                if kind == "unpack" and n >= arg * big_size and n < big_size:
                    os.kill(pid, signal.SIGKILL)
                    print("killed at snapshots/%s/fs holding %d of %d bytes" % (d, n, big_size))
                    return 0
                if kind == "commit" and n >= big_size:
                    seen = seen or time.monotonic()
            if seen and time.monotonic() - seen >= arg / 1000:
                os.kill(pid, signal.SIGKILL)
                print("killed %g ms after the layer was complete" % arg)
                return 0
        else:
            print("unknown trigger " + kind, file=sys.stderr)
            return 2
        time.sleep(0.0002)
    print("not reached in 60 s")
    return 3


def main(argv):
    args = argv[1:]
    opts = {}
    while args and args[0].startswith("--"):
        opts[args[0]] = args[1]
        args = args[2:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    if "--trigger" in opts:
        return trigger(args[0], opts["--trigger"], int(opts["--pid"]), opts["--big"], int(opts["--big-size"]))
    now = int(opts.get("--now", int(time.time())))
    if "--unreferenced-bytes" in opts:
        print(unreferenced_bytes(args[0], now))
        return 0
    for sev, check, obj in sorted(walk(args[0], now)):
        print(sev, check, obj)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
