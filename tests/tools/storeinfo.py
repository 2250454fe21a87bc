#!/usr/bin/env python3
"""storeinfo.py — facts about a (stopped) Docker overlay2 root, for tests.

    storeinfo.py ROOT QUERY [ARGS]

Reads the store independently of ovl2fsck (plain Python) so that the
integration tests can choose what to inject. Queries (one answer per line):

    image TAG                 image id (64 hex) that the tag names
    chain TAG                 the image's chainIDs, bottom first
    top TAG                   the chainID of the image's top layer
    cache-id CHAIN            the layer's overlay2 dir
    container NAME            container id of the container named NAME
    mount-id CID | init-id CID | mount-parent CID
    link DIR                  the dir's short link name
    lower DIR                 the dir's lower file
    children DIR              dirs whose lower names DIR's link
    bk-only-dir               a dir referenced only by snapshots.db (no layer, no
                              children): removing it (and its link) leaves only a
                              dangling snapshots.db reference
    images-using CHAIN        ids of images whose chain contains CHAIN
    count KIND                images | layers | mounts | containers | overlay_dirs |
                              links | buildkit_snapshots (as found on disk)
    random-hex N              N random lowercase hex chars
    random-link               a random 26-char [A-Z2-7] short name
    sha256 FILE               hex sha256 of a file
"""
import hashlib
import json
import os
import secrets
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boltdump  # noqa: E402


def rd(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").strip()
    except OSError:
        return None


def chain_ids(diff_ids):
    out, prev = [], None
    for d in diff_ids:
        prev = d if prev is None else "sha256:" + hashlib.sha256((prev + " " + d).encode()).hexdigest()
        out.append(prev[7:])
    return out


class Store:
    def __init__(self, root):
        self.root = root
        self.img = os.path.join(root, "image/overlay2")
        self.ovl = os.path.join(root, "overlay2")

    def p(self, *a):
        return os.path.join(self.root, *a)

    def tags(self):
        t = json.loads(rd(os.path.join(self.img, "repositories.json")) or "{}")
        out = {}
        for refs in t.get("Repositories", {}).values():
            for ref, iid in refs.items():
                out[ref] = iid.split(":", 1)[1]
        return out

    def images(self):
        d = os.path.join(self.img, "imagedb/content/sha256")
        out = {}
        for n in os.listdir(d):
            if n.startswith("."):
                continue
            try:
                cfg = json.loads(rd(os.path.join(d, n)))
                out[n] = chain_ids(cfg["rootfs"]["diff_ids"])
            except (TypeError, ValueError, KeyError):
                out[n] = []
        return out

    def layers(self):
        d = os.path.join(self.img, "layerdb/sha256")
        return sorted(n for n in os.listdir(d) if len(n) == 64)

    def dirs(self):
        return sorted(n for n in os.listdir(self.ovl) if n != "l" and os.path.isdir(os.path.join(self.ovl, n)))

    def link(self, d):
        return rd(os.path.join(self.ovl, d, "link"))

    def lower(self, d):
        return rd(os.path.join(self.ovl, d, "lower"))

    def children(self, d):
        lk = self.link(d)
        out = []
        for o in self.dirs():
            low = self.lower(o)
            if lk and low and ("l/" + lk) in low.split(":"):
                out.append(o)
        return out

    def snapshots(self):
        p = os.path.join(self.root, "buildkit/snapshots.db")
        if not os.path.exists(p):
            return {}
        with open(p, "rb") as f:
            return boltdump.Bolt(f.read()).tree()

    def containers(self):
        d = self.p("containers")
        out = {}
        for n in os.listdir(d) if os.path.isdir(d) else []:
            c = json.loads(rd(os.path.join(d, n, "config.v2.json")) or "{}")
            out[n] = c
        return out


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    s = Store(sys.argv[1])
    q, args = sys.argv[2], sys.argv[3:]
    if q == "image":
        print(s.tags()[args[0]])
    elif q == "chain":
        print("\n".join(s.images()[s.tags()[args[0]]]))
    elif q == "top":
        print(s.images()[s.tags()[args[0]]][-1])
    elif q == "cache-id":
        print(rd(os.path.join(s.img, "layerdb/sha256", args[0], "cache-id")))
    elif q == "container":
        for cid, c in s.containers().items():
            if c.get("Name") == "/" + args[0]:
                print(cid)
    elif q in ("mount-id", "init-id"):
        print(rd(os.path.join(s.img, "layerdb/mounts", args[0], q)))
    elif q == "mount-parent":
        print(rd(os.path.join(s.img, "layerdb/mounts", args[0], "parent"))[7:])
    elif q == "link":
        print(s.link(args[0]))
    elif q == "lower":
        print(s.lower(args[0]))
    elif q == "children":
        print("\n".join(s.children(args[0])))
    elif q == "bk-only-dir":
        layer_dirs = {rd(os.path.join(s.img, "layerdb/sha256", l, "cache-id")) for l in s.layers()}
        snaps = s.snapshots()
        for key in sorted(snaps):
            v = snaps[key]
            if not isinstance(v, dict) or "parent" not in v or key in layer_dirs:
                continue
            if key in s.dirs() and not s.children(key):
                print(key)
                break
    elif q == "images-using":
        print("\n".join(sorted(i for i, ch in s.images().items() if args[0] in ch)))
    elif q == "count":
        k = args[0]
        n = {
            "images": lambda: len(s.images()),
            "layers": lambda: len(s.layers()),
            "mounts": lambda: len(os.listdir(os.path.join(s.img, "layerdb/mounts"))),
            "containers": lambda: len(s.containers()),
            "overlay_dirs": lambda: len(s.dirs()),
            "links": lambda: len(os.listdir(os.path.join(s.ovl, "l"))),
            "buildkit_snapshots": lambda: len(s.snapshots()),
        }[k]()
        print(n)
    elif q == "random-hex":
        print(secrets.token_hex(int(args[0]) // 2 + 1)[: int(args[0])])
    elif q == "random-link":
        alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
        print("".join(secrets.choice(alpha) for _ in range(26)))
    elif q == "sha256":
        with open(args[0], "rb") as f:
            print(hashlib.sha256(f.read()).hexdigest())
    else:
        print("unknown query " + q, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
