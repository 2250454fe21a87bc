#!/usr/bin/env python3
# mkbigimage.py OUT NFILES SIZE — a `docker save` archive of one image
# (docker.io/o2q/big:1) whose single layer holds NFILES random files of SIZE
# bytes: an unpack slow enough to kill containerd in the middle of it.
import hashlib, io, json, os, sys, tarfile
out, nfiles, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def tar_bytes(entries):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 0; ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()
layer = tar_bytes([("big/f%05d" % i, os.urandom(size)) for i in range(nfiles)])
diff = hashlib.sha256(layer).hexdigest()
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff]}}).encode()
cid = hashlib.sha256(cfg).hexdigest()
manifest = json.dumps([{"Config": cid + ".json", "RepoTags": ["docker.io/o2q/big:1"], "Layers": [diff + "/layer.tar"]}]).encode()
with tarfile.open(out, "w") as t:
    for name, data in [(cid + ".json", cfg), (diff + "/layer.tar", layer), ("manifest.json", manifest)]:
        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 0
        t.addfile(ti, io.BytesIO(data))
