#!/usr/bin/env python3
"""mkctrdseeds.py — (re)write the seeds of the containerd fuzz target
(tests/fuzz/seeds/ctrd, harness tests/fuzz/fuzz_ctrd.c) from real
containerd roots.

    mkctrdseeds.py CTRD_ROOT...    # stopped roots written by a real containerd

A seed is u32le len(meta.db) + meta.db + metadata.db. From each root: its
two files as containerd wrote them (cut at the high-water page: the free
tail is zeros), the same trees re-laid compactly (tools/bench/bbolt_io.py),
each file alone; then hostile variants of the first root, as valid bbolt
files with hostile contents (NUL, non-UTF-8, "../" and absurdly long
names, ids and sequences at the limits, varints too long, a 70 KB value on
overflow pages) and as broken files (a branch pointing at itself, at its
ancestor, at a meta page; an overflow count past the file; an inline
bucket whose count or lengths run out of its value; metas whose high water
runs past the file; truncations). Seeds are named by content hash.
"""
import copy
import hashlib
import os
import struct
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tools", "bench"))
import bbolt_io as B  # noqa: E402

SEEDS = os.path.join(TOP, "tests", "fuzz", "seeds", "ctrd")
META = "io.containerd.metadata.v1.bolt/meta.db"
SNAP = "io.containerd.snapshotter.v1.overlayfs/metadata.db"


def put(meta, snap):
    data = (struct.pack("<I", 0xFFFFFFFF) if meta is None else struct.pack("<I", len(meta)) + meta) + (snap or b"")
    os.makedirs(SEEDS, exist_ok=True)
    with open(os.path.join(SEEDS, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def cut(data):
    """The file up to its high-water page (the bigger of the two metas')."""
    hw = max(struct.unpack_from("<Q", data, off + 16 + 40)[0] for off in (0, B.PAGE))
    return data[:hw * B.PAGE]


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def hostile_trees(meta, snap):
    """(meta tree, snap tree) pairs with hostile contents."""
    out = []
    v1 = meta.items[b"v1"]
    ns = next(k for k, v in v1.items.items() if isinstance(v, B.Bucket))

    m, s = copy.deepcopy(meta), copy.deepcopy(snap)
    d = m.items[b"v1"].items[ns]
    d.sub(b"images").items[b"x\0y\xff\xfe/../../etc"] = copy.deepcopy(next(iter(d.sub(b"images").items.values())))
    snaps = d.sub(b"snapshots").sub(b"overlayfs")
    snaps.items[b"../../../../tmp/evil"] = B.Bucket({b"name": b"../../x", b"parent": b"\0\0\0"})
    m.items[b"v1"].items[b"\xff\xfens\0"] = copy.deepcopy(d)
    sv = s.items[b"v1"].sub(b"snapshots")
    sv.items[ns + b"/1/../../../../etc"] = B.Bucket({b"id": uvarint(2 ** 63 + 5), b"kind": b"\x07", b"parent": b"/" * 300})
    sv.items[ns + b"/2/evil"] = B.Bucket({b"id": b"\xff" * 11, b"kind": b"", b"createdat": b"\x02" + b"\xff" * 15})
    sv.seq = 2 ** 64 - 1
    out.append((m, s))

    m, s = copy.deepcopy(meta), copy.deepcopy(snap)
    s.items[b"v1"].sub(b"snapshots").seq = 2 ** 63 - 1
    d = m.items[b"v1"].items[ns]
    leases = d.sub(b"leases")
    leases.items[b"L" * 4000] = B.Bucket({b"labels": B.Bucket({b"containerd.io/gc.expire": b"9999-99-99T99:99:99Z",
                                                               b"containerd.io/gc.flat": b""}),
                                          b"content": B.Bucket({b"sha256:" + b"0" * 64: b""})})
    d.sub(b"content").sub(b"blob").items[b"sha256:" + b"a" * 64] = B.Bucket({b"size": b"\xff" * 10 + b"\x01",
                                                                           b"labels": B.Bucket({b"containerd.io/gc.ref.content.config": b"sha256:" + b"b" * 64})})
    d.sub(b"containers").items[b"c\0"] = B.Bucket({b"snapshotKey": b"V" * 70000, b"snapshotter": b"../overlayfs"})
    m.items[b"v1"].items[b"version"] = b"\x80" * 12
    out.append((m, s))

    # a lease holding 600 blobs: a bucket whose tree has branch pages
    m = copy.deepcopy(meta)
    held = m.items[b"v1"].items[ns].sub(b"leases").sub(b"many").sub(b"content")
    for i in range(600):
        held.items[b"sha256:" + hashlib.sha256(b"%d" % i).hexdigest().encode()] = b""
    out.append((m, snap))
    return out


def branch_pages(kinds):
    return sorted(p for p, k in kinds.items() if k == "branch")


def set_u64(b, off, v):
    b[off:off + 8] = struct.pack("<Q", v)


def broken_files(tree):
    """Variants of tree's bytes with structural damage."""
    data, kinds = B.write(tree)
    ps = B.PAGE
    out = []
    br = branch_pages(kinds)
    root = struct.unpack_from("<Q", data, 16 + 16)[0]
    for target in ([br[0], br[0]], [br[-1], root], [br[0], 1]) if br else []:
        b = bytearray(data)
        set_u64(b, target[0] * ps + 16 + 8, target[1])   # first branch element's pgid
        out.append(bytes(b))
    leaves = sorted(p for p, k in kinds.items() if k == "leaf")
    b = bytearray(data)
    b[leaves[0] * ps + 12:leaves[0] * ps + 16] = b"\xff\xff\xff\xff"   # overflow
    out.append(bytes(b))
    b = bytearray(data)
    b[leaves[-1] * ps + 10:leaves[-1] * ps + 12] = b"\xff\xff"         # count
    out.append(bytes(b))
    b = bytearray(data)
    struct.pack_into("<III", b, leaves[-1] * ps + 16 + 4, 0xFFFFFFF0, 0xFFFFFFF0, 0xFFFFFFF0)
    out.append(bytes(b))
    # an inline bucket: the first value with flag 1 and root 0 in any leaf
    for p in leaves:
        base = p * ps
        n = struct.unpack_from("<H", data, base + 10)[0]
        for i in range(n):
            fl, pos, ks, vs = struct.unpack_from("<IIII", data, base + 16 + 16 * i)
            voff = base + 16 + 16 * i + pos + ks
            if fl & 1 and vs >= 32 and struct.unpack_from("<Q", data, voff)[0] == 0:
                for patch in ((voff + 16 + 10, b"\xff\x7f"), (voff + 16 + 16 + 8, b"\xff\xff\x00\x00"),
                              (voff + 16 + 8, b"\x01\x00"), (voff, b"\x05\x00\x00\x00\x00\x00\x00\x00")):
                    b = bytearray(data)
                    b[patch[0]:patch[0] + len(patch[1])] = patch[1]
                    out.append(bytes(b))
                break
        else:
            continue
        break
    # metas: high water past the file, root out of range (checksums redone)
    for field, val in ((40, len(data) // ps + 50), (16, 2 ** 40)):
        b = bytearray(data)
        for off in (0, ps):
            set_u64(b, off + 16 + field, val)
            set_u64(b, off + 16 + 56, B.fnv1a64(bytes(b[off + 16:off + 16 + 56])))
        out.append(bytes(b))
    for n in (0, 100, ps + 50, 2 * ps, len(data) // 2, len(data) - 1):
        out.append(data[:n])
    return out


def main():
    pairs = []
    for root in sys.argv[1:]:
        meta, snap = (cut(open(os.path.join(root, f), "rb").read()) if os.path.exists(os.path.join(root, f))
                      else None for f in (META, SNAP))
        put(meta, snap)
        if meta and snap:
            mt, st = B.read(meta), B.read(snap)
            put(B.write(mt)[0], B.write(st)[0])
            put(meta, None)
            put(None, snap)
            pairs.append((mt, st))
    mt, st = pairs[0]
    compact_meta, compact_snap = B.write(mt)[0], B.write(st)[0]
    for m, s in hostile_trees(mt, st):
        put(B.write(m)[0], B.write(s)[0])
    many = hostile_trees(mt, st)[-1][0]
    for bad in broken_files(many):
        put(bad, compact_snap)
    for bad in broken_files(st):
        put(compact_meta, bad)


if __name__ == "__main__":
    main()
