#!/usr/bin/env python3
"""genctrd.py — a synthetic containerd root for the benchmark (issue 15),
shaped like what containerd 1.6/1.7 writes after pulls:

    genctrd.py --out DIR --images N [--seed S] [--garbage PERMILLE]

Namespace "default" holds N images of 4 layers each: a base layer shared by
many images (N/100 of them), a middle layer shared by a few (N/5 chains),
two layers of their own. meta.db (tools/bench/bbolt_io.py) has the images
(annotations, target), a content record per blob (manifest: gc.ref.content
config and l.<i> labels; config: gc.ref.snapshot.overlayfs; layers:
containerd.io/uncompressed), a committed snapshot per chain with its
children, N/100 containers with an active snapshot each, a few ingests and
a lease. metadata.db has the snapshots with ids, kinds, parents, the
parents bucket and the sequence. On disk: snapshots/<id>/{fs,work},
blobs/sha256/<hex> (real manifest and config JSON, small layer files whose
digests are their sha256), ingest/<sha256(ref)>/{ref,total,data}. With
--garbage P: P per mille of the images' count as orphaned snapshot dirs and
orphaned blobs. Prints key=value facts (images, layers, snapshots, blobs,
containers, files, dirs, expect.garbage_total)."""
import argparse
import hashlib
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bbolt_io as B  # noqa: E402

NS = b"default"
GO_EPOCH = 62135596800          # seconds from year 1 to 1970
NOW = 1764892800                # 2025-12-05: fixed so the bytes are reproducible
MANIFEST_MT = b"application/vnd.docker.distribution.manifest.v2+json"


def gotime(t, ns=0):
    return b"\x01" + struct.pack(">QI", t + GO_EPOCH, ns) + b"\xff\xff"


def varint(n):
    u = (n << 1) ^ (n >> 63)
    return uvarint(u & 0xFFFFFFFFFFFFFFFF)


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


class Store:
    def __init__(self, out, n, seed, garbage):
        self.out, self.n, self.seed, self.garbage = out, n, seed, garbage
        self.meta = B.Bucket()
        v1 = self.meta.sub(b"v1")
        v1.items[b"version"] = varint(3)
        self.ns = v1.sub(NS)
        self.blobs = self.ns.sub(b"content").sub(b"blob")
        self.snaps = self.ns.sub(b"snapshots").sub(b"overlayfs")
        self.snapdb = B.Bucket()
        sv1 = self.snapdb.sub(b"v1")
        self.backend = sv1.sub(b"snapshots")
        self.parents = sv1.sub(b"parents")
        self.ids = {}               # chain/key -> (id, name)
        self.files = {}             # blob hex -> bytes
        self.t = NOW - 86400 * 30
        self.facts = {"files": 0, "dirs": 0}

    def tick(self):
        self.t += 1
        return gotime(self.t, self.t % 1000 * 1000)

    def blob(self, data, labels=None):
        d = sha(data)
        if d[7:] in self.files:
            return d
        self.files[d[7:]] = data
        b = B.Bucket({b"createdat": self.tick(), b"updatedat": self.tick(), b"size": varint(len(data))})
        if labels:
            b.items[b"labels"] = B.Bucket({k.encode(): v.encode() for k, v in labels.items()})
        self.blobs.items[d.encode()] = b
        return d

    def snapshot(self, key, parent, kind=3):
        """A snapshot in both databases; returns its id."""
        if key in self.ids:
            return self.ids[key][0]
        sid = len(self.ids) + 1
        name = b"%s/%d/%s" % (NS, sid, key.encode())
        self.ids[key] = (sid, name)
        ms = B.Bucket({b"name": name, b"createdat": self.tick(), b"updatedat": self.tick()})
        bs = B.Bucket({b"id": uvarint(sid), b"kind": bytes([kind]), b"createdat": self.tick(),
                       b"updatedat": self.tick(), b"inodes": uvarint(3), b"size": uvarint(4096)})
        if parent:
            pid, pname = self.ids[parent]
            ms.items[b"parent"] = parent.encode()
            bs.items[b"parent"] = pname
            self.snaps.items[parent.encode()].sub(b"children").items[key.encode()] = b""
            self.parents.items[uvarint(pid) + b"\0" + uvarint(sid)] = name
        self.snaps.items[key.encode()] = ms
        self.backend.items[name] = bs
        return sid

    def layer(self, tag):
        data = (b"layer %s seed %d\n" % (tag.encode(), self.seed)).ljust(96, b".")
        d = sha(data)
        self.blob(data, {"containerd.io/uncompressed": d})
        return d

    def image(self, i, base, mid):
        diffs = [self.layer("base-%d" % base), self.layer("mid-%d" % mid),
                 self.layer("img-%d-a" % i), self.layer("img-%d-b" % i)]
        chain, prev = None, None
        for d in diffs:
            chain = d if chain is None else sha(("%s %s" % (chain, d)).encode())
            self.snapshot(chain, prev)
            prev = chain
        cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                          "rootfs": {"type": "layers", "diff_ids": diffs},
                          "history": [{"created_by": "bench %d" % i}]}, sort_keys=True).encode()
        cdig = self.blob(cfg, {"containerd.io/gc.ref.snapshot.overlayfs": chain})
        man = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_MT.decode(),
                          "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                     "size": len(cfg), "digest": cdig},
                          "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar",
                                      "size": 96, "digest": d} for d in diffs]}, sort_keys=True).encode()
        labels = {"containerd.io/gc.ref.content.config": cdig}
        labels.update({"containerd.io/gc.ref.content.l.%d" % k: d for k, d in enumerate(diffs)})
        mdig = self.blob(man, labels)
        name = b"docker.io/bench/img-%06d:latest" % i
        self.ns.sub(b"images").items[name] = B.Bucket({
            b"annotations": B.Bucket({b"io.containerd.image.name": name, b"org.opencontainers.image.ref.name": b"latest"}),
            b"createdat": self.tick(), b"updatedat": self.tick(),
            b"target": B.Bucket({b"digest": mdig.encode(), b"mediatype": MANIFEST_MT, b"size": varint(len(man))})})
        return name, chain

    def build(self):
        n = self.n
        nbase, nmid = max(10, n // 100), max(20, n // 5)
        tops = []
        for i in range(n):
            mid = i % nmid
            tops.append(self.image(i, mid % nbase, mid))
        ncont = max(1, n // 100)
        for c in range(ncont):
            name, top = tops[c * 97 % n]
            key = "ctr-%06d" % c
            self.snapshot(key, top, kind=2)
            self.ns.sub(b"containers").items[key.encode()] = B.Bucket({
                b"image": name, b"snapshotter": b"overlayfs", b"snapshotKey": key.encode(),
                b"createdat": self.tick(), b"updatedat": self.tick(),
                b"labels": B.Bucket({b"io.containerd.image.config.stop-signal": b"SIGTERM"}),
                b"runtime": B.Bucket({b"name": b"io.containerd.runc.v2"}), b"spec": b"{}"})
        self.ingests = []
        for k in range(5):
            ref = "bench-ingest-%d" % k
            self.ingests.append(("%s/1/%s" % (NS.decode(), ref)).encode())
            self.ns.sub(b"content").sub(b"ingests").items[ref.encode()] = B.Bucket({
                b"ref": self.ingests[-1], b"expected": sha(b"ingest %d" % k).encode()})
        self.ns.sub(b"leases").items[b"bench-lease"] = B.Bucket({
            b"createdat": self.tick(),
            b"labels": B.Bucket({b"containerd.io/gc.expire": b"2999-01-01T00:00:00Z"}),
            b"content": B.Bucket()})
        self.backend.seq = len(self.ids)
        self.facts.update(images=n, layers=nbase + nmid + 2 * n, snapshots=len(self.ids), blobs=len(self.files),
                          containers=ncont)

    def mkdir(self, path):
        os.mkdir(path)
        self.facts["dirs"] += 1

    def write_file(self, path, data):
        with open(path, "wb") as f:
            f.write(data)
        self.facts["files"] += 1

    def write(self):
        out = self.out
        for d in ("io.containerd.metadata.v1.bolt", "io.containerd.snapshotter.v1.overlayfs",
                  "io.containerd.snapshotter.v1.overlayfs/snapshots", "io.containerd.content.v1.content",
                  "io.containerd.content.v1.content/blobs", "io.containerd.content.v1.content/blobs/sha256",
                  "io.containerd.content.v1.content/ingest", "io.containerd.runtime.v2.task", "tmpmounts"):
            os.makedirs(os.path.join(out, d), exist_ok=True)
            self.facts["dirs"] += 1
        self.write_file(os.path.join(out, "io.containerd.metadata.v1.bolt/meta.db"), B.write(self.meta)[0])
        self.write_file(os.path.join(out, "io.containerd.snapshotter.v1.overlayfs/metadata.db"), B.write(self.snapdb)[0])
        snapdir = os.path.join(out, "io.containerd.snapshotter.v1.overlayfs/snapshots")
        for sid, _ in self.ids.values():
            self.mkdir(os.path.join(snapdir, str(sid)))
            self.mkdir(os.path.join(snapdir, str(sid), "fs"))
            self.mkdir(os.path.join(snapdir, str(sid), "work"))
        blobdir = os.path.join(out, "io.containerd.content.v1.content/blobs/sha256")
        for hexd, data in self.files.items():
            self.write_file(os.path.join(blobdir, hexd), data)
        ingdir = os.path.join(out, "io.containerd.content.v1.content/ingest")
        for ref in self.ingests:
            d = os.path.join(ingdir, hashlib.sha256(ref).hexdigest())
            self.mkdir(d)
            self.write_file(os.path.join(d, "ref"), ref)
            self.write_file(os.path.join(d, "total"), b"1000")
            self.write_file(os.path.join(d, "data"), b"\0" * 300)
            self.write_file(os.path.join(d, "startedat"), gotime(NOW))
            self.write_file(os.path.join(d, "updatedat"), gotime(NOW))
        ng = self.n * self.garbage // 1000
        for g in range(ng):
            sid = len(self.ids) + 100 + g
            self.mkdir(os.path.join(snapdir, str(sid)))
            self.mkdir(os.path.join(snapdir, str(sid), "fs"))
            data = b"orphan blob %d seed %d\n" % (g, self.seed)
            self.write_file(os.path.join(blobdir, hashlib.sha256(data).hexdigest()), data)
        self.facts["expect.garbage_total"] = 2 * ng


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--images", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--garbage", type=int, default=1, help="per mille of the image count")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    s = Store(a.out, a.images, a.seed, a.garbage)
    s.build()
    s.write()
    for k, v in sorted(s.facts.items()):
        print("%s=%s" % (k, v))


if __name__ == "__main__":
    main()
