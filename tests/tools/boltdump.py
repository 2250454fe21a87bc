#!/usr/bin/env python3
"""boltdump.py — read-only dump of a bbolt file (e.g. buildkit/snapshots.db).

    boltdump.py FILE            # one line per key: bucket/path<TAB>key<TAB>value (JSON strings)
    boltdump.py FILE --tree     # nested JSON: buckets as objects, values as strings
    boltdump.py FILE --snapshots  # BuildKit snapshots.db: one line per snapshot
                                  # bucket: key<TAB>json of its values

Independent of the C reader in src/: the tests use it to pick what to inject and
to count snapshots. Handles branch/leaf pages, overflow pages, nested and
inline buckets; picks the valid meta page with the highest txid.
"""
import json
import struct
import sys

MAGIC = 0xED0CDAED
BRANCH, LEAF, META = 0x01, 0x02, 0x04
BUCKET_LEAF_FLAG = 0x01
PAGE_HDR = 16


class Bolt:
    def __init__(self, data):
        self.data = data
        # meta pages 0 and 1; page 1 sits at the page size that page 0 names
        # (4096 when page 0 is damaged)
        m0 = self._meta(0)
        m1 = self._meta(m0[0] if m0 else 4096)
        metas = [m for m in (m0, m1) if m]
        if not metas:
            raise ValueError("no valid bbolt meta page")
        self.page_size, self.root = max(metas, key=lambda m: m[2])[:2]

    def _meta(self, off):
        d = self.data
        if off + PAGE_HDR + 64 > len(d):
            return None
        flags = struct.unpack_from("<H", d, off + 8)[0]
        if not flags & META:
            return None
        magic, version, psize, _flags, root, _seq, _free, _pgid, txid, _ck = \
            struct.unpack_from("<IIIIQQQQQQ", d, off + PAGE_HDR)
        if magic != MAGIC or version != 2:
            return None
        return (psize, root, txid)

    def page(self, pgid):
        return self.data, pgid * self.page_size

    def walk(self, buf, off):
        """Yields (key, value, is_bucket) of the tree whose root page is at buf[off:]."""
        flags, count = struct.unpack_from("<HH", buf, off + 8)
        if flags & BRANCH:
            for i in range(count):
                e = off + PAGE_HDR + i * 16
                _pos, _ksize, child = struct.unpack_from("<IIQ", buf, e)
                yield from self.walk(*self.page(child))
        elif flags & LEAF:
            for i in range(count):
                e = off + PAGE_HDR + i * 16
                eflags, pos, ksize, vsize = struct.unpack_from("<IIII", buf, e)
                k = bytes(buf[e + pos:e + pos + ksize])
                v = bytes(buf[e + pos + ksize:e + pos + ksize + vsize])
                yield k, v, bool(eflags & BUCKET_LEAF_FLAG)
        else:
            raise ValueError("bad page flags %#x at %d" % (flags, off))

    def bucket(self, value):
        root = struct.unpack_from("<Q", value, 0)[0]
        if root == 0:  # inline bucket: a leaf page follows the 16-byte header
            return self.walk(value, 16)
        return self.walk(*self.page(root))

    def tree(self, it=None):
        it = self.walk(*self.page(self.root)) if it is None else it
        out = {}
        for k, v, is_bucket in it:
            key = k.decode("utf-8", "backslashreplace")
            out[key] = self.tree(self.bucket(v)) if is_bucket else v.decode("utf-8", "backslashreplace")
        return out


def flat(tree, prefix=""):
    for k, v in tree.items():
        if isinstance(v, dict):
            yield from flat(v, prefix + k + "/")
        else:
            yield prefix.rstrip("/"), k, v


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        t = Bolt(f.read()).tree()
    mode = sys.argv[2] if len(sys.argv) > 2 else ""
    if mode == "--tree":
        json.dump(t, sys.stdout, indent=1, sort_keys=True)
        print()
    elif mode == "--snapshots":
        # moby's BuildKit snapshotter: top-level buckets keyed by snapshot key
        for k, v in sorted(t.items()):
            if isinstance(v, dict):
                vals = {kk: vv for kk, vv in v.items() if not isinstance(vv, dict)}
                print("%s\t%s" % (k, json.dumps(vals, sort_keys=True)))
    else:
        for b, k, v in flat(t):
            print("%s\t%s\t%s" % (json.dumps(b), json.dumps(k), json.dumps(v)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
