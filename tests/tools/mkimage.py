#!/usr/bin/env python3
"""mkimage.py — write a `docker save` archive of generated multi-layer images.

    mkimage.py OUT.tar [--prefix REPO] [--busybox FILE]

The archive holds four images that share base layers, for `docker load`:

    REPO/layers-a:latest   base, mid, top-a   (top-a: a whiteout, an opaque dir, a changed file)
    REPO/layers-b:latest   base, mid, top-b   (top-b: whiteout of a base file, hard link)
    REPO/layers-b:alt      the same image as layers-b:latest (two tags, one image)
    REPO/layers-base:1     base
    REPO/layers-empty:1    base, empty       (a layer whose tar has no entries)

--busybox FILE puts FILE (a static busybox) in the base layer as bin/busybox,
with bin/sh, bin/cat and bin/ls linking to it: every image then runs a shell.

Layout (docker save format): manifest.json, <config-sha>.json, <layer-id>/layer.tar,
<layer-id>/VERSION, <layer-id>/json, repositories. Everything is deterministic:
the same command writes the same bytes.
"""
import argparse
import hashlib
import io
import json
import sys
import tarfile

MTIME = 1700000000  # 2023-11-14, fixed so that the archive is reproducible


def _info(name, kind=tarfile.REGTYPE, size=0, mode=0o644, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.size = size
    ti.mode = mode
    ti.mtime = MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    ti.linkname = linkname
    return ti


def make_layer(entries):
    """entries: list of (name, kind, data_or_target). Returns the tar bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, val in entries:
            if kind == "dir":
                tf.addfile(_info(name, tarfile.DIRTYPE, mode=0o755))
            elif kind == "file":
                data = val if isinstance(val, bytes) else val.encode()
                tf.addfile(_info(name, size=len(data)), io.BytesIO(data))
            elif kind == "exe":
                data = val if isinstance(val, bytes) else val.encode()
                tf.addfile(_info(name, size=len(data), mode=0o755), io.BytesIO(data))
            elif kind == "symlink":
                tf.addfile(_info(name, tarfile.SYMTYPE, mode=0o777, linkname=val))
            elif kind == "hardlink":
                tf.addfile(_info(name, tarfile.LNKTYPE, linkname=val))
            else:
                raise ValueError(kind)
    return buf.getvalue()


def layers(busybox=None):
    blob = bytes((i * 7 + 3) % 251 for i in range(20000))  # some non-trivial bytes
    base = make_layer([
        ("etc", "dir", None),
        ("etc/os-release", "file", 'NAME="ovl2fsck test base"\nID=o2t\n'),
        ("etc/hostname", "file", "base\n"),
        ("usr", "dir", None),
        ("usr/share", "dir", None),
        ("usr/share/blob.bin", "file", blob),
        ("usr/share/readme", "file", "base layer\n"),
        ("usr/share/readme.lnk", "symlink", "readme"),
        ("bin", "dir", None),
        ("bin/hello", "exe", "#!/bin/sh\necho hello\n"),
    ] + ([("bin/busybox", "exe", busybox)] + [("bin/" + n, "symlink", "busybox") for n in ("sh", "cat", "ls")]
         if busybox else []))
    mid = make_layer([
        ("opt", "dir", None),
        ("opt/app", "dir", None),
        ("opt/app/a.txt", "file", "a v1\n"),
        ("opt/app/b.txt", "file", "b v1\n"),
        ("opt/cfg", "dir", None),
        ("opt/cfg/x.conf", "file", "x=1\n"),
        ("opt/cfg/y.conf", "file", "y=1\n"),
    ])
    top_a = make_layer([
        ("opt", "dir", None),
        ("opt/app", "dir", None),
        ("opt/app/a.txt", "file", "a v2 (changed in top-a)\n"),
        ("opt/app/.wh.b.txt", "file", ""),          # whiteout: b.txt deleted
        ("opt/cfg", "dir", None),
        ("opt/cfg/.wh..wh..opq", "file", ""),       # opaque: x.conf, y.conf hidden
        ("opt/cfg/z.conf", "file", "z=1\n"),
    ])
    top_b = make_layer([
        ("etc", "dir", None),
        ("etc/.wh.hostname", "file", ""),           # whiteout of a base file
        ("srv", "dir", None),
        ("srv/data", "file", "b data\n" * 100),
        ("srv/data.hard", "hardlink", "srv/data"),
    ])
    empty = make_layer([])
    return base, mid, top_a, top_b, empty


def sha(b):
    return hashlib.sha256(b).hexdigest()


def config(diff_ids, name, created):
    cfg = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                           "IMAGE=" + name],
                   "Cmd": ["/bin/sh"]},
        "history": [{"created": created, "created_by": "mkimage.py layer %d" % i}
                    for i in range(len(diff_ids))],
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + d for d in diff_ids]},
    }
    return json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--prefix", default="o2t")
    ap.add_argument("--busybox", help="a static busybox to put in the base layer")
    a = ap.parse_args()
    p = a.prefix
    busybox = open(a.busybox, "rb").read() if a.busybox else None
    base, mid, top_a, top_b, empty = layers(busybox)
    blobs = {sha(b): b for b in (base, mid, top_a, top_b, empty)}
    images = [
        ([base, mid, top_a], [p + "/layers-a:latest"], "2023-11-14T22:13:20Z"),
        ([base, mid, top_b], [p + "/layers-b:latest", p + "/layers-b:alt"], "2023-11-14T22:13:21Z"),
        ([base], [p + "/layers-base:1"], "2023-11-14T22:13:22Z"),
        ([base, empty], [p + "/layers-empty:1"], "2023-11-14T22:13:23Z"),
    ]
    manifest = []
    repos = {}
    files = {}
    for lys, tags, created in images:
        diff_ids = [sha(l) for l in lys]
        cfg = config(diff_ids, tags[0], created)
        cfg_name = sha(cfg) + ".json"
        files[cfg_name] = cfg
        manifest.append({"Config": cfg_name, "RepoTags": tags,
                         "Layers": [d + "/layer.tar" for d in diff_ids]})
        for t in tags:
            repo, tag = t.rsplit(":", 1)
            repos.setdefault(repo, {})[tag] = diff_ids[-1]
    for d, b in sorted(blobs.items()):
        files[d + "/VERSION"] = b"1.0"
        files[d + "/json"] = json.dumps({"id": d, "created": "2023-11-14T22:13:20Z"}).encode()
        files[d + "/layer.tar"] = b
    files["manifest.json"] = json.dumps(manifest, separators=(",", ":")).encode()
    files["repositories"] = json.dumps(repos, sort_keys=True, separators=(",", ":")).encode()
    out = sys.stdout.buffer if a.out == "-" else open(a.out, "wb")
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:
        dirs = sorted({n.split("/")[0] for n in files if "/" in n})
        for d in dirs:
            tf.addfile(_info(d, tarfile.DIRTYPE, mode=0o755))
        for n in sorted(files):
            tf.addfile(_info(n, size=len(files[n])), io.BytesIO(files[n]))
    if out is not sys.stdout.buffer:
        out.close()


if __name__ == "__main__":
    main()
