#!/usr/bin/env python3
"""mkseeds.py — (re)write the fuzz seed corpora in tests/fuzz/seeds/ from a
real store and the repository's fixtures.

    mkseeds.py STORE_ROOT      # a stopped dockerd data root (see tests/lib/dockerd.sh)

Seeds come only from real data: image configs, repositories.json, layer /
mount / overlay2 id files and l/ links of STORE_ROOT, its
buildkit/snapshots.db, and the tar-split.json.gz members of
fixtures/deep/layers.tar.gz (as gzip, and decompressed for the harness's
"gzip it for me" mode). fixtures/bbolt/*.snapshots.db are added by run.sh
directly (they are committed already). Seeds are named by content hash.
"""
import gzip
import hashlib
import os
import sys
import tarfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEEDS = os.path.join(TOP, "tests", "fuzz", "seeds")


def put(kind, data):
    d = os.path.join(SEEDS, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def field(b):
    """One fuzz_ids field: <len byte><bytes>, 0xff = absent."""
    if b is None:
        return b"\xff"
    b = b[:254]
    return bytes([len(b)]) + b


def main():
    root = sys.argv[1]
    img = os.path.join(root, "image", "overlay2")
    content = os.path.join(img, "imagedb", "content", "sha256")
    for name in sorted(os.listdir(content)):
        put("config", read(os.path.join(content, name)))
    repos = read(os.path.join(img, "repositories.json"))
    put("repos", repos)
    put("repos", b'{"Repositories":{}}')

    # ids: each real layer paired with a mount and the overlay2 dirs it names
    layerdb = os.path.join(img, "layerdb", "sha256")
    mounts = os.path.join(img, "layerdb", "mounts")
    mount_names = sorted(os.listdir(mounts)) if os.path.isdir(mounts) else []
    ov = os.path.join(root, "overlay2")
    for i, chain in enumerate(sorted(os.listdir(layerdb))):
        ld = os.path.join(layerdb, chain)
        cache = read(os.path.join(ld, "cache-id")) or b""
        m = mount_names[i % len(mount_names)] if mount_names else None
        md = os.path.join(mounts, m) if m else None
        od = os.path.join(ov, cache.decode(errors="replace"))
        mid = read(os.path.join(md, "mount-id")) if md else None
        od2 = os.path.join(ov, (mid or b"x").decode(errors="replace") + "-init")
        link = read(os.path.join(od, "link"))
        lname, ltarget = None, None
        if link:
            lname = link
            try:
                ltarget = os.readlink(os.path.join(ov, "l", link.decode())).encode()
            except OSError:
                pass
        rec = b"".join(field(x) for x in [
            chain.encode(), read(os.path.join(ld, "diff")), read(os.path.join(ld, "parent")),
            cache, read(os.path.join(ld, "size")),
            m.encode() if m else None, mid,
            read(os.path.join(md, "init-id")) if md else None,
            read(os.path.join(md, "parent")) if md else None,
            cache, link, read(os.path.join(od, "lower")),
            os.path.basename(od2).encode(), read(os.path.join(od2, "link")), read(os.path.join(od2, "lower")),
            lname, ltarget])
        put("ids", rec)

    bk = read(os.path.join(root, "buildkit", "snapshots.db"))
    if bk:
        put("bbolt", bk)

    with tarfile.open(os.path.join(TOP, "fixtures", "deep", "layers.tar.gz")) as tf:
        for m in tf.getmembers():
            if m.isfile() and m.name.endswith("tar-split.json.gz"):
                gz = tf.extractfile(m).read()
                put("tarsplit", b"\x00" + gz)
                put("tarsplit", b"\x01" + gzip.decompress(gz))


if __name__ == "__main__":
    main()
